/* A load-test target: its parsed URL, resolved address (TCP or a Unix socket) and its
 * request, serialized once by its protocol's module. Resolution happens before the
 * run. The request comes from a spec, so nothing here knows the command line. */
#ifndef RINGLOAD_TARGET_H
#define RINGLOAD_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ringload/expect.h"
#include "ringload/h1.h"
#include "ringload/template.h"

#define RL_MAX_HEADERS 64
#define RL_UNIX_PATH_MAX 108 /* sizeof sun_path, with its NUL */

enum rl_proto { RL_PROTO_H1, RL_PROTO_H2, RL_PROTO_GRPC };

/* One target's request, as the command line or a scenario describes it. */
struct rl_request_spec {
	enum rl_proto proto;
	const char *method;
	struct rl_h1_header headers[RL_MAX_HEADERS];
	size_t nheaders;
	const char *body;          /* may hold templates */
	size_t body_len;
	bool has_body;
	const char *grpc_method;   /* "pkg.Service/Method" */
	const char *data;          /* gRPC request message as JSON */
	const char *proto_file, *protoset_file;
	uint64_t timeout_ns;       /* per request (gRPC sends it as grpc-timeout) */
	const char *unix_path;     /* connect to this Unix socket; the URL gives Host and path */
	/* https:// */
	bool tls_no_verify;        /* -k: skip the certificate check (as wrk and h2load never check) */
	const char *cacert;        /* trust these CAs instead of the system store */
	const char *sni;           /* the name to send and check, instead of the URL's host */
	const char *cert, *key;    /* a client certificate and its key (PEM) */
	const char *alpn;          /* --alpn LIST (comma-separated), instead of the protocol's */
	int tls_min, tls_max;      /* TLS1_2_VERSION...; 0: OpenSSL's own bounds */
	const char *ciphers, *ciphersuites, *curves;
	bool no_keepalive;         /* one connection per request (hey's -disable-keepalive) */
	const char *expect_status; /* --expect-status LIST */
	const char *expect_body;   /* --expect-body [!]STR */
	uint64_t requests;         /* --requests-per-target, or the scenario's: 0 none */
	uint32_t streams, pipeline; /* a scenario target's in-flight count: 0, the run's -m / -P */
};

struct rl_url {
	char host[256];   /* without brackets for IPv6 literals */
	uint16_t port;
	char authority[300];
	char target[8192]; /* origin-form: path and query */
	char unix_path[RL_UNIX_PATH_MAX]; /* sun_path; http://unix:/path/to.sock:/uri (nginx's form), or bare unix:/path */
	bool tls;          /* https:// */
};

struct rl_target {
	const char *url;
	const char *name;  /* the scenario's name, else the URL */
	unsigned weight;   /* share of the connections; 0: driven by a fan-out group */
	uint64_t timeout_ns; /* per request: --timeout, or its fan-out group's timeout */
	bool has_body;
	struct rl_url u;
	struct sockaddr_storage addr; /* AF_INET, AF_INET6 or AF_UNIX */
	socklen_t addrlen;
	char *request;     /* serialized once, copied into each connection's send buffer
			    * (with templates: the head's template source) */
	size_t request_len;
	bool head;         /* HEAD request: the response has no body */
	bool no_keepalive; /* a new connection for every request */
	struct rl_expect expect; /* --expect-status, --expect-body */
	uint64_t requests;       /* this target's own count (closed loop), 0: the run's -n or -d */
	uint32_t streams, pipeline; /* in flight per connection: HTTP/2 streams, HTTP/1.1 pipelining */
	/* HTTP/1.1 with templates: the head (without Content-Length) and the body render
	 * per request; request_max bounds a rendering */
	bool templated;
	struct rl_tpl tpl_head, tpl_body;
	size_t request_max;
	enum rl_proto proto;
	/* https://: the context every connection's TLS session comes from (SSL_CTX), the
	 * name sent as SNI and checked in the certificate, and the ALPN protocol wanted */
	void *tls_ctx;
	char tls_name[256];
	const char *alpn;
	/* the highest TLS version new connections offer: the one the server chose, once it
	 * chose one below TLS 1.3; 0: OpenSSL's range (tls.c, offer_version) */
	uint16_t tls_offer_max;
	/* HTTP/2 and gRPC: the header list (nghttp2_nv[], names lowercase), built once and
	 * handed to nghttp2 without copies; the body, or the framed gRPC message */
	void *h2_nva;
	size_t h2_nvlen;
	char *h2_strings;
	uint8_t *h2_body;
	size_t h2_body_len;
	/* HTTP/2 with templates: one template per header value (static ones unused) and the
	 * body's; a stream renders them into its slot (h2_render_max bytes) */
	bool h2_templated;
	/* gRPC --data with templates: encoded per stream (h2_body is unused then) */
	struct rl_pb_schema *grpc_schema;
	struct rl_pb_request *grpc_dyn;
	struct rl_tpl *h2_value_tpl;
	struct rl_tpl h2_body_tpl;
	size_t h2_render_max;
};

int rl_url_parse(const char *url, struct rl_url *u, char *err, size_t errlen);
/* Resolves the host (or takes the Unix path) and serializes the request through the
 * protocol's module. Allocates; rl_target_free frees even after a failure. */
int rl_target_init(struct rl_target *t, const char *url, const struct rl_request_spec *spec,
		   char *err, size_t errlen);
void rl_target_free(struct rl_target *t);
/* One blocking connect within timeout_ns, and for https:// a full handshake: 0, or a
 * negative errno with why (the TLS failure: certificate, ALPN) written to why. */
int rl_target_probe(const struct rl_target *t, uint64_t timeout_ns, char *why, size_t whylen);
/* Where the target connects, for messages: "127.0.0.1:80" or the socket's path. */
const char *rl_target_where(const struct rl_target *t, char *buf, size_t len);

#endif
