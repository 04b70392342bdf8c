/* HTTP/2 response rules (RFC 9113 8.1-8.3, 8.2.1) that ringload checks itself. nghttp2's
 * HTTP messaging checks are off in the client: they cost more instructions per request
 * than all of ringload's own code, and they ignore (rather than reject) most invalid
 * fields. Pure: the events of one stream's response in, the rule it broke out (a static
 * string naming it), or NULL. After a broken rule the response is malformed and the
 * caller resets the stream; later events are not fed. */
#ifndef RINGLOAD_H2_RESPONSE_H
#define RINGLOAD_H2_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rl_h2_phase {
	RL_H2R_HEAD,     /* waiting for (or reading) a response head: 1xx ones, then the final */
	RL_H2R_BODY,     /* the final head is in: DATA, trailers or END_STREAM */
	RL_H2R_TRAILERS, /* reading the trailer block */
	RL_H2R_ENDED,
};

/* What a field is to the caller, besides being valid. */
enum rl_h2_field_kind {
	RL_H2F_OTHER,          /* any other field: the caller may look at it */
	RL_H2F_STATUS,         /* :status (in status) */
	RL_H2F_CONTENT_LENGTH, /* content-length (in content_length) */
};

struct rl_h2_response {
	int64_t content_length; /* declared by the final head; -1: none */
	uint64_t data;          /* DATA payload bytes so far */
	uint16_t status;        /* the :status of the head being read, then the final one */
	uint8_t phase;          /* enum rl_h2_phase */
	bool regular_seen;      /* the block has had a regular field: no pseudo-field after it */
	bool no_body;           /* a HEAD request, or a 204 or 304 answer: DATA is malformed */
	bool head_request;
	uint8_t kind;           /* the last valid field's enum rl_h2_field_kind */
};

void rl_h2_response_init(struct rl_h2_response *r, bool head_request);
/* A HEADERS frame begins: a response head, or the trailers after the final one. */
const char *rl_h2_response_begin_block(struct rl_h2_response *r);
/* One field of the block; r->kind says what it was when valid. A name from HPACK's
 * static table (RFC 7541 Appendix A), name_static, is valid as it stands: its check is
 * skipped. */
const char *rl_h2_response_field(struct rl_h2_response *r, const uint8_t *name, size_t nlen,
				 const uint8_t *value, size_t vlen, bool name_static);
/* The block ended (END_HEADERS); end_stream: its frame carried END_STREAM. */
const char *rl_h2_response_end_block(struct rl_h2_response *r, bool end_stream);
/* A DATA payload (len may be 0), and whether the frame ended the stream. */
const char *rl_h2_response_data(struct rl_h2_response *r, size_t len, bool end_stream);

/* The field rules alone (RFC 9113 8.2.1), for tests: name and value as sent. */
bool rl_h2_field_name_ok(const uint8_t *name, size_t len);
bool rl_h2_field_value_ok(const uint8_t *value, size_t len);

#endif
