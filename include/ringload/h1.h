/* HTTP/1.1 client side: the request serializer and the response parser (RFC 9112).
 * Both are pure: bytes in, bytes or events out, no I/O, no allocation. The parser is a
 * byte-wise state machine, so a response split at any byte boundary parses the same. */
#ifndef RINGLOAD_H1_H
#define RINGLOAD_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RL_H1_MAX_HEADER_BLOCK (64 * 1024) /* status line + headers, and trailers */
#define RL_H1_MAX_CHUNK_LINE   4096
#define RL_H1_MAX_INTERIM      32          /* 1xx responses before the final one */

enum {
	RL_H1_AGAIN = 0, /* all input consumed, response not complete */
	RL_H1_DONE = 1,  /* a response ended; *consumed says where */
};

enum rl_h1_error {
	RL_H1_E_STATUS_LINE = -1,
	RL_H1_E_HEADER = -2,
	RL_H1_E_HEADER_TOO_LARGE = -3,
	RL_H1_E_BARE_CR = -4,
	RL_H1_E_NUL = -5,
	RL_H1_E_CONTENT_LENGTH = -6,
	RL_H1_E_CONFLICTING_LENGTH = -7,
	RL_H1_E_CHUNK_SIZE = -8,
	RL_H1_E_CHUNK = -9,
	RL_H1_E_UPGRADE = -10,       /* 101 that we never asked for */
	RL_H1_E_TOO_MANY_INTERIM = -11,
	RL_H1_E_CLOSED_EARLY = -12,  /* EOF before any byte of the response */
	RL_H1_E_TRUNCATED = -13,     /* EOF inside the response */
};

struct rl_h1_memo;

struct rl_h1_parser {
	uint8_t state, next, hdr, val_state;
	uint8_t is_head : 1, trailers : 1, has_cl : 1, te_present : 1, te_chunked : 1,
		conn_close : 1, conn_keepalive : 1, cl_digit : 1, in_param : 1;
	uint8_t version_minor, match, name_len, tok_len, tok_overflow, interim;
	uint16_t status;
	uint32_t block_bytes, line_bytes;
	uint64_t content_length, cl_value, remaining;
	uint64_t body_bytes;   /* payload (decoded) bytes of the final response */
	bool keep_alive;       /* valid after RL_H1_DONE */
	char name[20], tok[16];
	/* the final response's payload as it passes (decoded from chunks), when set; kept
	 * across resets */
	void (*on_body)(void *ctx, const uint8_t *p, size_t n);
	void *body_ctx;
	struct rl_h1_memo *memo; /* the head memo, when set; kept across resets */
};

/* The last whole head the fast path read, and the parser's state after it. Servers
 * send the same head again and again (nginx's changes with its Date, once a second): a
 * head byte-identical to the memo's, read from the same starting state, has the same
 * verdict and fields, so it is compared, not read again. Owned by the caller and shared
 * by the parsers that point at it (on one thread); a head longer than RL_H1_MEMO_MAX is
 * never kept. */
#define RL_H1_MEMO_MAX 512

struct rl_h1_memo {
	uint32_t len;     /* the head's bytes, 0 while empty */
	int rc;           /* what the parse returned at the head's end */
	bool is_head;     /* the request was HEAD */
	struct rl_h1_parser after;
	uint8_t head[RL_H1_MEMO_MAX];
};

/* A new parser, with no body sink; reset readies it for the next response and keeps
 * the sink (on_body, body_ctx). */
void rl_h1_parser_init(struct rl_h1_parser *p, bool head_request);
void rl_h1_parser_reset(struct rl_h1_parser *p, bool head_request);
/* True once the current response has received any byte. */
static inline bool rl_h1_parser_started(const struct rl_h1_parser *p) { return p->state != 0; }
/* Parses what buf holds of the current response: RL_H1_AGAIN, RL_H1_DONE, or an error;
 * *consumed says how far it read. A whole head in one buffer (the common case) takes a
 * fast path; rl_h1_parse_bytewise is the byte machine alone, which gives the same
 * verdict and fields on every input (tests and fuzzing compare them). */
int rl_h1_parse(struct rl_h1_parser *p, const uint8_t *buf, size_t len, size_t *consumed);
int rl_h1_parse_bytewise(struct rl_h1_parser *p, const uint8_t *buf, size_t len, size_t *consumed);
/* The server closed the connection: RL_H1_DONE if that ended a body delimited by the
 * close, else RL_H1_E_CLOSED_EARLY or RL_H1_E_TRUNCATED. */
int rl_h1_finish(struct rl_h1_parser *p);
const char *rl_h1_strerror(int err);

/* One "Name: value" header given on the command line. */
struct rl_h1_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* Splits "Name: value"; -1 if the name is not a token or the value holds CR, LF or NUL. */
int rl_h1_header_parse(const char *line, struct rl_h1_header *h);

struct rl_h1_request {
	const char *method;
	const char *authority; /* Host header value, used unless a Host header is given */
	const char *target;    /* origin-form: path and query */
	const struct rl_h1_header *headers;
	size_t nheaders;
	const char *body;
	size_t body_len;
	bool has_body;         /* send Content-Length even when body_len == 0 */
	bool open_head;        /* stop after the headers: no Content-Length, no blank line,
				* no body (a templated request adds them as it renders) */
};

/* Serializes the request into out; returns its length, or the size needed if out_size
 * is too small (call with out == NULL to measure). */
size_t rl_h1_request_write(const struct rl_h1_request *r, char *out, size_t out_size);

#endif
