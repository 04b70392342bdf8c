/* HTTP/1.1 request serialization (RFC 9112 3) and -H header validation. A request is
 * serialized once per target and copied into each connection's send buffer. */
#include "ringload/h1.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_token_char(char c)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr(extra, c));
}

int rl_h1_header_parse(const char *line, struct rl_h1_header *h)
{
	const char *colon = strchr(line, ':');
	if (!colon || colon == line)
		return -1;
	for (const char *c = line; c < colon; c++)
		if (!is_token_char(*c))
			return -1;
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vlen = strlen(v);
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	for (size_t i = 0; i < vlen; i++)
		if (v[i] == '\r' || v[i] == '\n')
			return -1;
	h->name = line;
	h->name_len = (size_t)(colon - line);
	h->value = v;
	h->value_len = vlen;
	return 0;
}

static bool header_is(const struct rl_h1_header *h, const char *name)
{
	return h->name_len == strlen(name) && !strncasecmp(h->name, name, h->name_len);
}

struct writer {
	char *out;
	size_t cap, len;
};

static void put(struct writer *w, const char *s, size_t n)
{
	if (n && w->out && w->len + n <= w->cap)
		memcpy(w->out + w->len, s, n);
	w->len += n;
}

static void puts_(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

size_t rl_h1_request_write(const struct rl_h1_request *r, char *out, size_t out_size)
{
	struct writer w = { out, out_size, 0 };
	bool has_host = false, has_length = false, has_agent = false;
	for (size_t i = 0; i < r->nheaders; i++) {
		has_host |= header_is(&r->headers[i], "host");
		has_length |= header_is(&r->headers[i], "content-length");
		has_agent |= header_is(&r->headers[i], "user-agent");
	}
	puts_(&w, r->method);
	puts_(&w, " ");
	puts_(&w, r->target);
	puts_(&w, " HTTP/1.1\r\n");
	if (!has_host) {
		puts_(&w, "Host: ");
		puts_(&w, r->authority);
		puts_(&w, "\r\n");
	}
	if (!has_agent)
		puts_(&w, "User-Agent: ringload\r\n");
	for (size_t i = 0; i < r->nheaders; i++) {
		put(&w, r->headers[i].name, r->headers[i].name_len);
		puts_(&w, ": ");
		put(&w, r->headers[i].value, r->headers[i].value_len);
		puts_(&w, "\r\n");
	}
	if (r->open_head)
		return w.len;
	if ((r->has_body || r->body_len) && !has_length) {
		char cl[48];
		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", r->body_len);
		puts_(&w, cl);
	}
	puts_(&w, "\r\n");
	put(&w, r->body, r->body_len);
	return w.len;
}
