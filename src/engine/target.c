/* Targets: URL parsing (http:// only; TLS comes later), one getaddrinfo before the run,
 * the request serialized once, and the blocking pre-flight probe. */
#include "ringload/target.h"

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

int rl_target_init(struct rl_target *t, const char *url, const struct rl_options *o,
		   char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->url = url;
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
	t->request_len = rl_h1_request_write(&r, NULL, 0);
	t->request = malloc(t->request_len);
	if (!t->request) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rl_h1_request_write(&r, t->request, t->request_len);
	return 0;
}

void rl_target_free(struct rl_target *t)
{
	free(t->request);
	t->request = NULL;
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
