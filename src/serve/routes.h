/* What `ringload serve` answers, independent of the protocol: a path and its knobs
 * (query parameters, or gRPC metadata) become a response plan that the HTTP/1.1, h2c
 * and gRPC front ends carry out. */
#ifndef RINGLOAD_SERVE_ROUTES_H
#define RINGLOAD_SERVE_ROUTES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RL_SERVE_SMALL_BODY 1024
#define RL_SERVE_MAX_SIZE   (1ULL << 30) /* size= at most 1 GiB */
#define RL_SERVE_MAX_DELAY  (60ULL * 1000000000)
#define RL_SERVE_USERS      10000
#define RL_SERVE_RECENT     32 /* service times /stats lists, the latest last */

enum rl_serve_proto { RL_SERVE_H1, RL_SERVE_H2, RL_SERVE_GRPC, RL_SERVE_NPROTO };

/* Server-wide counters for /stats; every thread adds to the same ones. /stats and
 * /health are never counted (a poll must not change what it reads). */
struct rl_serve_counters {
	_Atomic uint64_t requests[RL_SERVE_NPROTO];
	_Atomic uint64_t in_flight, max_in_flight;
	_Atomic uint64_t service_ns[RL_SERVE_NPROTO];
	_Atomic uint64_t recent_us[RL_SERVE_RECENT]; /* a ring of the last service times */
	_Atomic uint64_t recent_next;
};

struct rl_serve_knobs {
	bool has_size, has_status, chunked, close;
	uint64_t size;
	unsigned status;
	uint64_t ttfb_ns, body_delay_ns;
	uint64_t every;   /* delays apply to every Nth such request only (per thread) */
};

struct rl_serve_plan {
	unsigned status;
	const char *content_type;
	bool pattern;                    /* body is `size` bytes of a fixed pattern */
	uint64_t size;                   /* body length in bytes */
	uint64_t ttfb_ns, body_delay_ns;
	bool chunked, close;
	bool uncounted;                  /* /stats, /health: not in the counters */
	size_t small_len;
	char small[RL_SERVE_SMALL_BODY]; /* the body, when it is not a generated pattern;
					  * last, so a plan is cleared up to here */
};

/* Reads one knob; returns 0, or -1 with a message in err for a bad value. Unknown names
 * are ignored (they may be the application's own parameters). */
int rl_serve_knob(struct rl_serve_knobs *k, const char *name, size_t nlen, const char *val,
		  size_t vlen, char *err, size_t errlen);
/* Plans the answer to METHOD TARGET (path and query): /health, /stats (POST
 * /stats/reset starts the counts afresh), /api/users/{id}, and any other path the knobs'
 * answer (a small text body by default). A client's pre-flight request (preflight) is
 * answered the same way but counted nowhere, not even by `every`. */
void rl_serve_route(const char *method, size_t mlen, const char *target, size_t tlen, bool preflight,
		    struct rl_serve_counters *ctr, struct rl_serve_plan *plan);
/* The JSON user for id (1..10000); returns its length. */
size_t rl_serve_user_json(char *out, size_t cap, long id);
/* Deterministic fields of user id, shared by the JSON and the gRPC answers. */
void rl_serve_user_fields(long id, char *name, size_t nn, char *email, size_t en, int *age,
			  const char **created_at);
/* The body pattern: an endless repetition of a short text. rl_serve_pattern returns
 * the bytes from offset off on, *n of them contiguous. Init once before serving. */
void rl_serve_pattern_init(void);
/* Copies n bytes of the plan's body, from offset off on, into dst. */
void rl_serve_body_copy(const struct rl_serve_plan *plan, uint64_t off, uint8_t *dst, size_t n);
const uint8_t *rl_serve_pattern(uint64_t off, size_t *n);

void rl_serve_count_start(struct rl_serve_counters *c, enum rl_serve_proto p);
void rl_serve_count_end(struct rl_serve_counters *c, enum rl_serve_proto p, uint64_t service_ns);

#endif
