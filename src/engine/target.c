/* Targets: URL parsing (http:// only; TLS comes later), one getaddrinfo before the run,
 * the request serialized once, and the blocking pre-flight probe. */
#include "ringload/target.h"

#include <nghttp2/nghttp2.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ringload/grpc.h"
#include "ringload/pbjson.h"

int rl_url_parse(const char *url, struct rl_url *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	const char *p;
	if (!strncasecmp(url, "http://", 7)) {
		p = url + 7;
	} else if (!strncasecmp(url, "https://", 8)) {
		snprintf(err, errlen, "invalid URL '%s': https is not supported yet (TLS is a later milestone)", url);
		return -1;
	} else {
		snprintf(err, errlen, "invalid URL '%s': expected http://HOST[:PORT][/PATH]", url);
		return -1;
	}
	const char *host = p, *host_end;
	if (*p == '[') {
		host = p + 1;
		host_end = strchr(host, ']');
		if (!host_end) {
			snprintf(err, errlen, "invalid URL '%s': unterminated IPv6 literal", url);
			return -1;
		}
		p = host_end + 1;
	} else {
		p += strcspn(p, ":/?#");
		host_end = p;
	}
	size_t hlen = (size_t)(host_end - host);
	if (!hlen || hlen >= sizeof(u->host)) {
		snprintf(err, errlen, "invalid URL '%s': missing or too long host", url);
		return -1;
	}
	memcpy(u->host, host, hlen);
	if (strstr(u->host, "{{")) {
		snprintf(err, errlen, "invalid URL '%s': templates work in the path and query, not the host", url);
		return -1;
	}
	u->port = 80;
	if (*p == ':') {
		char *end;
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535 || (*end && !strchr("/?#", *end))) {
			snprintf(err, errlen, "invalid URL '%s': bad port", url);
			return -1;
		}
		u->port = (uint16_t)port;
		p = end;
	} else if (*p && !strchr("/?#", *p)) {
		snprintf(err, errlen, "invalid URL '%s': bad host", url);
		return -1;
	}
	const char *path_end = p + strcspn(p, "#"); /* a fragment never goes on the wire */
	size_t plen = (size_t)(path_end - p);
	if (plen + 2 > sizeof(u->target)) {
		snprintf(err, errlen, "invalid URL '%s': path too long", url);
		return -1;
	}
	for (const char *c = p; c < path_end; c++) {
		if (c[0] == '{' && c[1] == '{') {
			/* a template: checked by the template compiler, rendered per request */
			const char *close = strstr(c, "}}");
			if (close && close < path_end) {
				c = close + 1;
				continue;
			}
		}
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			snprintf(err, errlen, "invalid URL '%s': space or control character in path", url);
			return -1;
		}
	}
	if (*p == '?' || !plen)
		u->target[0] = '/';
	memcpy(u->target + strlen(u->target), p, plen);
	bool v6 = strchr(u->host, ':') != NULL;
	if (u->port == 80)
		snprintf(u->authority, sizeof(u->authority), v6 ? "[%s]" : "%s", u->host);
	else
		snprintf(u->authority, sizeof(u->authority), v6 ? "[%s]:%u" : "%s:%u", u->host, u->port);
	return 0;
}

static bool h2_skip_header(const struct rl_h1_header *h)
{
	/* connection-specific fields are malformed in HTTP/2 (RFC 9113 8.2.2); Host
	 * becomes :authority */
	static const char *const skip[] = { "host", "connection", "keep-alive", "proxy-connection",
					    "transfer-encoding", "upgrade", "te" };
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (h->name_len == strlen(skip[i]) && !strncasecmp(h->name, skip[i], h->name_len))
			return true;
	return false;
}

/* grpc-timeout: at most 8 digits and a unit (gRPC over HTTP/2, "Timeout") */
static void grpc_timeout(char *out, size_t n, uint64_t ns)
{
	static const struct { char unit; uint64_t ns; } units[] = {
		{ 'n', 1 }, { 'u', 1000 }, { 'm', 1000000 }, { 'S', 1000000000ULL },
		{ 'M', 60000000000ULL }, { 'H', 3600000000000ULL },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t v = (ns + units[i].ns - 1) / units[i].ns;
		if (v <= 99999999) {
			snprintf(out, n, "%llu%c", (unsigned long long)v, units[i].unit);
			return;
		}
	}
	snprintf(out, n, "99999999H");
}

/* Header values and the body that hold templates compile once; a body rendered per
 * stream drops content-length (END_STREAM delimits it in HTTP/2). */
static int h2_templates_init(struct rl_target *t, char *err, size_t errlen)
{
	nghttp2_nv *nv = t->h2_nva;
	bool body_dynamic = t->proto == RL_PROTO_H2 && rl_tpl_present((const char *)t->h2_body, t->h2_body_len);
	bool dynamic = body_dynamic || t->grpc_dyn;
	for (size_t i = 0; i < t->h2_nvlen; i++)
		dynamic |= rl_tpl_present((const char *)nv[i].value, nv[i].valuelen);
	if (!dynamic)
		return 0;
	t->h2_value_tpl = calloc(t->h2_nvlen, sizeof(*t->h2_value_tpl));
	if (!t->h2_value_tpl) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char why[256];
	for (size_t i = 0; i < t->h2_nvlen; i++) {
		if (!rl_tpl_present((const char *)nv[i].value, nv[i].valuelen))
			continue;
		if (rl_tpl_compile((const char *)nv[i].value, nv[i].valuelen, &t->h2_value_tpl[i], why, sizeof(why))) {
			snprintf(err, errlen, "%s: %.*s: %s", t->url, (int)nv[i].namelen, nv[i].name, why);
			return -1;
		}
		t->h2_render_max += t->h2_value_tpl[i].max_len;
	}
	if (body_dynamic) {
		if (rl_tpl_compile((const char *)t->h2_body, t->h2_body_len, &t->h2_body_tpl, why, sizeof(why))) {
			snprintf(err, errlen, "%s: body: %s", t->url, why);
			return -1;
		}
		t->h2_render_max += t->h2_body_tpl.max_len;
		for (size_t i = 0; i < t->h2_nvlen; i++) {
			if (nv[i].namelen == 14 && !memcmp(nv[i].name, "content-length", 14)) {
				memmove(&nv[i], &nv[i + 1], (t->h2_nvlen - i - 1) * sizeof(*nv));
				t->h2_nvlen--;
				break;
			}
		}
	}
	if (t->grpc_dyn) /* prefix, message, and the templates' renderings */
		t->h2_render_max += RL_GRPC_PREFIX + rl_pb_request_bound(t->grpc_dyn) +
				    rl_pb_request_scratch(t->grpc_dyn);
	t->h2_templated = true;
	return 0;
}

static int h2_request_init(struct rl_target *t, const struct rl_options *o, char *err, size_t errlen)
{
	bool grpc = t->proto == RL_PROTO_GRPC;
	const char *authority = t->u.authority, *agent = "ringload";
	size_t authority_len = strlen(authority);
	for (size_t i = 0; i < o->nheaders; i++) {
		const struct rl_h1_header *h = &o->headers[i];
		if (h->name_len == 4 && !strncasecmp(h->name, "host", 4)) {
			authority = h->value;
			authority_len = h->value_len;
		}
	}
	if (grpc && o->data && rl_tpl_present(o->data, strlen(o->data))) {
		if (rl_grpc_request_compile(o->grpc_method, o->data, o->proto_file, o->protoset_file,
					    &t->grpc_schema, &t->grpc_dyn, err, errlen))
			return -1;
	} else if (grpc) {
		if (rl_grpc_request_message(o->grpc_method, o->data, o->proto_file, o->protoset_file,
					    &t->h2_body, &t->h2_body_len, err, errlen))
			return -1;
	} else if (o->body_len) {
		t->h2_body = malloc(o->body_len);
		if (!t->h2_body) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(t->h2_body, o->body, o->body_len);
		t->h2_body_len = o->body_len;
	}
	/* one buffer for every string the list points at: lowercased names, :path, numbers */
	size_t cap = 256 + strlen(t->u.target) + (o->grpc_method ? strlen(o->grpc_method) : 0);
	for (size_t i = 0; i < o->nheaders; i++)
		cap += o->headers[i].name_len + 1;
	nghttp2_nv *nv = calloc(o->nheaders + 10, sizeof(*nv));
	char *str = malloc(cap), *p = str;
	if (!nv || !str) {
		free(nv);
		free(str);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t n = 0;
#define ADD(name, value, vlen) do { \
		nv[n] = (nghttp2_nv){ (uint8_t *)(name), (uint8_t *)(value), strlen(name), (vlen), \
				      NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE }; \
		n++; \
	} while (0)
	ADD(":method", o->method, strlen(o->method));
	ADD(":scheme", "http", 4);
	ADD(":authority", authority, authority_len);
	const char *path = p;
	if (grpc)
		p += sprintf(p, "/%s", o->grpc_method) + 1;
	else
		p += sprintf(p, "%s", t->u.target) + 1;
	ADD(":path", path, strlen(path));
	bool has_agent = false;
	for (size_t i = 0; i < o->nheaders; i++)
		has_agent |= o->headers[i].name_len == 10 && !strncasecmp(o->headers[i].name, "user-agent", 10);
	if (!has_agent)
		ADD("user-agent", agent, strlen(agent));
	if (grpc) {
		ADD("content-type", "application/grpc", 16);
		ADD("te", "trailers", 8);
		const char *tmo = p;
		grpc_timeout(p, 16, o->timeout_ns);
		p += strlen(p) + 1;
		ADD("grpc-timeout", tmo, strlen(tmo));
	} else if (t->h2_body_len || o->has_body) {
		const char *cl = p;
		p += sprintf(p, "%zu", t->h2_body_len) + 1;
		ADD("content-length", cl, strlen(cl));
	}
	for (size_t i = 0; i < o->nheaders; i++) {
		const struct rl_h1_header *h = &o->headers[i];
		if (h2_skip_header(h))
			continue;
		char *name = p;
		for (size_t k = 0; k < h->name_len; k++)
			*p++ = (char)(h->name[k] >= 'A' && h->name[k] <= 'Z' ? h->name[k] | 0x20 : h->name[k]);
		*p++ = 0;
		nv[n] = (nghttp2_nv){ (uint8_t *)name, (uint8_t *)h->value, h->name_len, h->value_len,
				      NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE };
		n++;
	}
#undef ADD
	t->h2_nva = nv;
	t->h2_nvlen = n;
	t->h2_strings = str;
	return h2_templates_init(t, err, errlen);
}

int rl_target_init(struct rl_target *t, const char *url, const struct rl_options *o,
		   char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->url = t->name = url;
	t->weight = 1;
	t->timeout_ns = o->timeout_ns;
	t->has_body = o->has_body;
	if (rl_url_parse(url, &t->u, err, errlen))
		return -1;

	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai;
	char port[8];
	snprintf(port, sizeof(port), "%u", t->u.port);
	int rc = getaddrinfo(t->u.host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "cannot resolve '%s': %s", t->u.host, gai_strerror(rc));
		return -1;
	}
	memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
	t->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);

	struct rl_h1_request r = {
		.method = o->method, .authority = t->u.authority, .target = t->u.target,
		.headers = o->headers, .nheaders = o->nheaders,
		.body = o->body, .body_len = o->body_len, .has_body = o->has_body,
	};
	t->head = !strcmp(o->method, "HEAD");
	t->proto = o->proto;
	if (t->proto != RL_PROTO_H1 && h2_request_init(t, o, err, errlen))
		return -1;
	bool dynamic = rl_tpl_present(t->u.target, strlen(t->u.target)) ||
		       (o->body && rl_tpl_present(o->body, o->body_len));
	for (size_t i = 0; i < o->nheaders; i++)
		dynamic |= rl_tpl_present(o->headers[i].value, o->headers[i].value_len);
	dynamic &= t->proto == RL_PROTO_H1;
	r.open_head = dynamic;
	t->request_len = rl_h1_request_write(&r, NULL, 0);
	t->request = malloc(t->request_len);
	if (!t->request) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rl_h1_request_write(&r, t->request, t->request_len);
	t->request_max = t->request_len;
	if (dynamic) {
		char why[256];
		if (rl_tpl_compile(t->request, t->request_len, &t->tpl_head, why, sizeof(why)) ||
		    rl_tpl_compile(o->body ? o->body : "", o->body_len, &t->tpl_body, why, sizeof(why))) {
			snprintf(err, errlen, "%s: %s", url, why);
			return -1;
		}
		t->templated = true;
		/* head, "Content-Length: N\r\n\r\n", body */
		t->request_max = t->tpl_head.max_len + 40 + t->tpl_body.max_len;
	}
	return 0;
}

void rl_target_free(struct rl_target *t)
{
	rl_tpl_free(&t->tpl_head);
	rl_tpl_free(&t->tpl_body);
	for (size_t i = 0; t->h2_value_tpl && i < t->h2_nvlen; i++)
		rl_tpl_free(&t->h2_value_tpl[i]);
	free(t->h2_value_tpl);
	rl_tpl_free(&t->h2_body_tpl);
	t->h2_value_tpl = NULL;
	rl_pb_request_free(t->grpc_dyn);
	rl_pb_schema_free(t->grpc_schema);
	t->grpc_dyn = NULL;
	t->grpc_schema = NULL;
	free(t->request);
	free(t->h2_nva);
	free(t->h2_strings);
	free(t->h2_body);
	t->request = NULL;
	t->h2_nva = NULL;
	t->h2_strings = NULL;
	t->h2_body = NULL;
}

int rl_target_probe(const struct rl_target *t, uint64_t timeout_ns)
{
	int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) < 0) {
		if (errno != EINPROGRESS) {
			rc = -errno;
		} else {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int n = poll(&pfd, 1, (int)(timeout_ns / 1000000 + 1));
			if (n == 0) {
				rc = -ETIMEDOUT;
			} else if (n < 0) {
				rc = -errno;
			} else {
				int soerr = 0;
				socklen_t len = sizeof(soerr);
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
				rc = -soerr;
			}
		}
	}
	close(fd);
	return rc;
}
