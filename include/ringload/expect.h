/* Response checks (--expect-status, --expect-body): what makes a response a success
 * beyond its status class. A body check is a substring search fed the payload as it
 * arrives, one state byte per request (Knuth-Morris-Pratt), so a match across receives
 * or chunks is found and nothing is buffered. */
#ifndef RINGLOAD_EXPECT_H
#define RINGLOAD_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RL_EXPECT_BODY_MAX 255

struct rl_expect {
	bool status_set;              /* --expect-status given: only these are successes */
	uint64_t status_bits[16];     /* codes 0..1023 */
	uint8_t body_len;             /* 0: no body check */
	bool body_absent;             /* "!STR": the body must not hold it */
	uint8_t body[RL_EXPECT_BODY_MAX];
	uint8_t next[RL_EXPECT_BODY_MAX]; /* KMP: the state after a mismatch at each state */
};

/* "200,201,3xx": -1 with err naming the bad item. */
int rl_expect_status_parse(struct rl_expect *e, const char *list, char *err, size_t errlen);
/* "STR" (the body must hold it) or "!STR" (must not): -1 with err. */
int rl_expect_body_parse(struct rl_expect *e, const char *s, char *err, size_t errlen);
static inline bool rl_expect_active(const struct rl_expect *e) { return e->status_set || e->body_len; }
/* The search state after n more payload bytes; body_len once found (it stays). */
uint8_t rl_expect_feed(const struct rl_expect *e, uint8_t state, const uint8_t *p, size_t n);
/* A response that passed its status class: NULL when it passes the checks too, else
 * why not (into why). */
const char *rl_expect_verdict(const struct rl_expect *e, unsigned status, uint8_t state, char *why, size_t len);

#endif
