/* Request-side HTTP/1.1 parsing for the built-in server: see h1_server.h. It re-scans
 * the buffer from the start on each call; requests are small and usually arrive whole. */
#include "ringload/h1_server.h"

#include <string.h>
#include <strings.h>

static bool token_eq(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && !strncasecmp(s, lit, n);
}

/* Does a comma-separated header value hold this token? */
static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t' && v[i] != ';')
			i++;
		if (i > s && token_eq(v + s, i - s, tok))
			return true;
		while (i < n && v[i] != ',')
			i++;
	}
	return false;
}

long rl_h1_parse_request(const char *buf, size_t len, struct rl_h1_request_view *r)
{
	memset(r, 0, sizeof(*r));
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	if (!end) {
		for (size_t i = 0; i < len; i++)
			if (buf[i] == 0)
				return -1;
		return 0;
	}
	const char *p = buf, *eol = memchr(p, '\r', (size_t)(end - p) + 2);
	/* request-line = method SP request-target SP HTTP-version */
	const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
	if (!sp1 || sp1 == p)
		return -1;
	const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1 || eol - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
	    sp2[8] < '0' || sp2[8] > '9')
		return -1;
	r->method = p;
	r->method_len = (size_t)(sp1 - p);
	r->target = sp1 + 1;
	r->target_len = (size_t)(sp2 - sp1 - 1);
	r->version_minor = (unsigned)(sp2[8] - '0');
	bool has_cl = false;
	p = eol + 2;
	while (p < end + 2) {
		eol = memchr(p, '\r', (size_t)(end + 2 - p));
		if (!eol || eol[1] != '\n')
			return -1;
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return -1;
		for (const char *c = p; c < eol; c++)
			if (*c == 0 || (c < colon && (*c == ' ' || *c == '\t')))
				return -1;
		const char *v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		size_t vn = (size_t)(eol - v), nn = (size_t)(colon - p);
		while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		if (token_eq(p, nn, "content-length")) {
			uint64_t cl = 0;
			if (!vn)
				return -1;
			for (size_t i = 0; i < vn; i++) {
				if (v[i] < '0' || v[i] > '9' || cl > (1ULL << 50))
					return -1;
				cl = cl * 10 + (uint64_t)(v[i] - '0');
			}
			if (has_cl && cl != r->content_length)
				return -1;
			has_cl = true;
			r->content_length = cl;
		} else if (token_eq(p, nn, "transfer-encoding")) {
			r->chunked = has_token(v, vn, "chunked");
		} else if (token_eq(p, nn, "connection")) {
			r->conn_close |= has_token(v, vn, "close");
			r->conn_keepalive |= has_token(v, vn, "keep-alive");
		} else if (token_eq(p, nn, "expect")) {
			r->expect_continue = has_token(v, vn, "100-continue");
		} else if (token_eq(p, nn, "x-ringload-preflight")) {
			r->preflight = true;
		}
		p = eol + 2;
	}
	if (r->chunked && has_cl)
		return -1; /* RFC 9112 6.1: a server may reject both; we do */
	return (long)(end + 4 - buf);
}
