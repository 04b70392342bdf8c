/* HTTP/1.1 request parsing for `ringload serve` (RFC 9112 3). A pure function over a
 * buffer that holds the whole header block, picohttpparser style: complete, need more,
 * or bad request. No allocation; the view points into the caller's buffer. */
#ifndef RINGLOAD_H1_SERVER_H
#define RINGLOAD_H1_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rl_h1_request_view {
	const char *method, *target;
	size_t method_len, target_len;
	unsigned version_minor;
	uint64_t content_length;
	bool chunked, conn_close, conn_keepalive, expect_continue;
	bool preflight;   /* x-ringload-preflight: a client's pre-flight request */
};

/* Returns the header block's length (> 0) when complete, 0 when more bytes are needed,
 * -1 when the request is malformed. */
long rl_h1_parse_request(const char *buf, size_t len, struct rl_h1_request_view *r);

#endif
