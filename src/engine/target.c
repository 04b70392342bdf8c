/* Targets: URL parsing (http://, and Unix sockets; TLS comes later), one getaddrinfo
 * before the run, the request serialized once by the protocol's module, and the
 * blocking pre-flight probe. */
#include "ringload/target.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"
#include "ringload/pbjson.h"
#include "tls.h"

static int path_check(const char *url, const char *p, const char *path_end, struct rl_url *u,
		      char *err, size_t errlen);

/* nginx's form, http://unix:/path/to.sock:/uri: the socket's path runs to the next ':'.
 * Host is "localhost" unless -H Host says otherwise. */
static int unix_url_parse(const char *url, const char *p, struct rl_url *u, char *err, size_t errlen)
{
	const char *end = p + strcspn(p, ":");
	size_t n = (size_t)(end - p);
	if (!n || *p != '/') {
		snprintf(err, errlen, "invalid URL '%s': expected unix:/PATH/TO.sock[:/URI]", url);
		return -1;
	}
	if (n >= sizeof(u->unix_path)) { /* sun_path: 107 bytes and a NUL */
		snprintf(err, errlen, "invalid URL '%s': Unix socket path of %zu bytes; at most 107 fit in sun_path",
			 url, n);
		return -1;
	}
	memcpy(u->unix_path, p, n);
	u->port = 80; /* unused: the socket's path is the address */
	snprintf(u->host, sizeof(u->host), "localhost");
	snprintf(u->authority, sizeof(u->authority), "localhost");
	if (*end == ':')
		end++;
	return path_check(url, end, end + strcspn(end, "#"), u, err, errlen);
}

int rl_url_parse(const char *url, struct rl_url *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	const char *p;
	if (!strncasecmp(url, "unix:", 5)) {
		p = url; /* gRPC's name for a Unix socket: http://unix:PATH */
	} else if (!strncasecmp(url, "http://", 7)) {
		p = url + 7;
	} else if (!strncasecmp(url, "https://", 8)) {
		p = url + 8;
		u->tls = true;
	} else {
		snprintf(err, errlen, "invalid URL '%s': expected http://HOST[:PORT][/PATH]", url);
		return -1;
	}
	if (!strncasecmp(p, "unix:", 5))
		return unix_url_parse(url, p + 5, u, err, errlen);
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
	u->port = u->tls ? 443 : 80;
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
	if (path_check(url, p, path_end, u, err, errlen))
		return -1;
	bool v6 = strchr(u->host, ':') != NULL;
	if (u->port == (u->tls ? 443 : 80))
		snprintf(u->authority, sizeof(u->authority), v6 ? "[%s]" : "%s", u->host);
	else
		snprintf(u->authority, sizeof(u->authority), v6 ? "[%s]:%u" : "%s:%u", u->host, u->port);
	return 0;
}

/* The origin-form request target from [p, path_end): no spaces or controls outside
 * templates; "/" when empty. */
static int path_check(const char *url, const char *p, const char *path_end, struct rl_url *u,
		      char *err, size_t errlen)
{
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
	return 0;
}

/* A blocking TCP connect to addr, bounded by timeout_ns: 0 or -errno, and the socket in
 * *fd (-1 when none could be made). */
static int connect_within(const struct sockaddr *addr, socklen_t len, uint64_t timeout_ns, int *fd)
{
	*fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (connect(*fd, addr, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	struct pollfd pfd = { .fd = *fd, .events = POLLOUT };
	int n = poll(&pfd, 1, (int)(timeout_ns / 1000000 + 1));
	if (n <= 0)
		return n ? -errno : -ETIMEDOUT;
	int soerr = 0;
	socklen_t soerr_len = sizeof(soerr);
	getsockopt(*fd, SOL_SOCKET, SO_ERROR, &soerr, &soerr_len);
	return -soerr;
}

enum { RESOLVE_TRY_NS = 1000000000 }; /* for each address but the last of a name */

/* Resolves host:port once, before the run (getaddrinfo may block). A name with more than
 * one address (localhost as ::1 and 127.0.0.1) gets the first that takes a connection,
 * as wrk and h2load do: a server listening on 127.0.0.1 alone is reached by
 * "localhost" wherever /etc/hosts lists ::1 first. The last address is kept whatever it
 * answers; the pre-flight says why it failed. */
static int resolve(struct rl_target *t, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai;
	char port[8];
	snprintf(port, sizeof(port), "%u", t->u.port);
	int rc = getaddrinfo(t->u.host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "cannot resolve '%s': %s", t->u.host, gai_strerror(rc));
		return -1;
	}
	const struct addrinfo *use = ai;
	for (; use->ai_next; use = use->ai_next) {
		int fd;
		int failed = connect_within(use->ai_addr, use->ai_addrlen, RESOLVE_TRY_NS, &fd);
		if (fd >= 0)
			close(fd);
		if (!failed) /* (refused, unreachable, timed out: the next address) */
			break;
	}
	memcpy(&t->addr, use->ai_addr, use->ai_addrlen);
	t->addrlen = use->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int unix_address(struct rl_target *t, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&t->addr;
	size_t n = strlen(path);
	if (!n || n >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "Unix socket path '%s': %zu bytes; 1 to %zu fit in sun_path", path, n,
			 sizeof(sun->sun_path) - 1);
		return -1;
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	t->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

int rl_target_init(struct rl_target *t, const char *url, const struct rl_request_spec *spec,
		   char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->url = t->name = url;
	t->weight = 1;
	t->timeout_ns = spec->timeout_ns;
	t->has_body = spec->has_body;
	if (rl_url_parse(url, &t->u, err, errlen))
		return -1;
	const char *unix_path = spec->unix_path ? spec->unix_path : t->u.unix_path[0] ? t->u.unix_path : NULL;
	if (unix_path ? unix_address(t, unix_path, err, errlen) : resolve(t, err, errlen))
		return -1;
	t->head = !strcmp(spec->method, "HEAD");
	t->no_keepalive = spec->no_keepalive;
	t->proto = spec->proto;
	memset(&t->expect, 0, sizeof(t->expect));
	t->requests = spec->requests;
	t->streams = spec->streams;   /* 0: the run's, filled in by whoever plans the run */
	t->pipeline = spec->pipeline;
	if ((spec->expect_status || spec->expect_body) && spec->proto == RL_PROTO_GRPC) {
		snprintf(err, errlen, "--expect-%s: for HTTP/1.1 and HTTP/2; a gRPC call is judged by its grpc-status",
			 spec->expect_status ? "status" : "body");
		return -1;
	}
	if ((spec->expect_status && rl_expect_status_parse(&t->expect, spec->expect_status, err, errlen)) ||
	    (spec->expect_body && rl_expect_body_parse(&t->expect, spec->expect_body, err, errlen)))
		return -1;
	if (t->u.tls && rl_tls_target_init(t, spec, err, errlen))
		return -1;
	return rl_proto_of(spec->proto)->target_init(t, spec, err, errlen);
}

const char *rl_target_where(const struct rl_target *t, char *buf, size_t len)
{
	if (t->addr.ss_family == AF_UNIX)
		snprintf(buf, len, "%s", ((const struct sockaddr_un *)&t->addr)->sun_path);
	else
		snprintf(buf, len, strchr(t->u.host, ':') ? "[%s]:%u" : "%s:%u", t->u.host, t->u.port);
	return buf;
}

void rl_target_free(struct rl_target *t)
{
	rl_tls_target_free(t);
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

/* HTTP/2 with prior knowledge (h2c, gRPC over http://): the client preface and an empty
 * SETTINGS, and the server's first frame must be its SETTINGS (RFC 9113 3.4). 0, or
 * -EPROTO with why. A server that says HTTP/1.x, closes, or sends anything else is not
 * an HTTP/2 server; no request is made, so no server counts one. */
static int probe_h2(int fd, uint64_t timeout_ns, char *why, size_t whylen)
{
	static const char hello[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" /* the preface */
				    "\x00\x00\x00\x04\x00\x00\x00\x00\x00"; /* SETTINGS, empty */
	uint8_t got[9];
	size_t n = 0;
	if (send(fd, hello, sizeof(hello) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(hello) - 1))
		return 0; /* the run will say what the socket says */
	uint64_t deadline = rl_now_ns() + timeout_ns;
	while (n < sizeof(got)) {
		uint64_t now = rl_now_ns();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (now >= deadline || poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1)) <= 0) {
			snprintf(why, whylen, "not an HTTP/2 server: no answer to the HTTP/2 preface");
			return -EPROTO;
		}
		ssize_t k = recv(fd, got + n, sizeof(got) - n, 0);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	if (n >= 5 && !memcmp(got, "HTTP/", 5)) {
		snprintf(why, whylen, "not an HTTP/2 server: it answered the HTTP/2 preface with HTTP/1.x "
				      "(for HTTP/1.1 leave out --h2/--grpc)");
		return -EPROTO;
	}
	if (n < sizeof(got)) {
		snprintf(why, whylen, "not an HTTP/2 server: it closed the connection on the HTTP/2 preface");
		return -EPROTO;
	}
	if (got[3] != 0x04) {
		snprintf(why, whylen, "not an HTTP/2 server: its first frame is not SETTINGS");
		return -EPROTO;
	}
	return 0;
}

int rl_target_probe(const struct rl_target *t, uint64_t timeout_ns, char *why, size_t whylen)
{
	if (whylen)
		why[0] = 0;
	int fd;
	int rc = connect_within((const struct sockaddr *)&t->addr, t->addrlen, timeout_ns, &fd);
	if (fd < 0)
		return rc;
	if (!rc && t->u.tls)
		rc = rl_tls_probe(t, fd, timeout_ns, why, whylen); /* ALPN shows HTTP/2 there */
	else if (!rc && t->proto != RL_PROTO_H1)
		rc = probe_h2(fd, timeout_ns, why, whylen);
	close(fd);
	return rc;
}
