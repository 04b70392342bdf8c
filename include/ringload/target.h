/* A load-test target: its parsed URL, resolved address and serialized request.
 * Resolution (getaddrinfo) happens once, before the run. */
#ifndef RINGLOAD_TARGET_H
#define RINGLOAD_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ringload/options.h"
#include "ringload/template.h"

struct rl_url {
	char host[256];   /* without brackets for IPv6 literals */
	uint16_t port;
	char authority[300];
	char target[8192]; /* origin-form: path and query */
};

struct rl_target {
	const char *url;
	const char *name;  /* the scenario's name, else the URL */
	unsigned weight;   /* share of the connections; 0: driven by a fan-out group */
	uint64_t timeout_ns; /* per request: --timeout, or its fan-out group's timeout */
	bool has_body;
	struct rl_url u;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char *request;     /* serialized once, copied into each connection's send buffer
			    * (with templates: the head's template source) */
	size_t request_len;
	bool head;         /* HEAD request: the response has no body */
	/* HTTP/1.1 with templates: the head (without Content-Length) and the body render
	 * per request; request_max bounds a rendering */
	bool templated;
	struct rl_tpl tpl_head, tpl_body;
	size_t request_max;
	enum rl_proto proto;
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
/* Resolves the host and serializes the request. Allocates t->request. */
int rl_target_init(struct rl_target *t, const char *url, const struct rl_options *o,
		   char *err, size_t errlen);
void rl_target_free(struct rl_target *t);
/* One blocking TCP connect within timeout_ns: 0, or a negative errno. */
int rl_target_probe(const struct rl_target *t, uint64_t timeout_ns);

#endif
