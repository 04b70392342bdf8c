/* The protocol layer: one table of functions per protocol, chosen once per target and
 * kept on each of its connections. The connection state machine (conn.c) calls only
 * these; a protocol sees plaintext bytes from its transport and writes the bytes it
 * wants sent into c->out. It reports what happened to each request through
 * accounting.c. Adding a protocol is a file with its table and a line in proto.c. */
#ifndef RINGLOAD_PROTO_H
#define RINGLOAD_PROTO_H

#include "worker.h"

struct rl_proto_ops {
	const char *name;
	/* Before the run: the target's request, serialized once from the spec. */
	int (*target_init)(struct rl_target *t, const struct rl_request_spec *spec, char *err, size_t errlen);
	/* The transport is ready for plaintext: set up the connection's protocol state. */
	int (*open)(struct rl_worker *w, struct rl_conn *c);
	/* Issue requests into the connection's free slots (rl_acct_take decides how many). */
	void (*fill)(struct rl_worker *w, struct rl_conn *c);
	/* Plaintext bytes from the server. Returns false if the connection was closed. */
	bool (*consume)(struct rl_worker *w, struct rl_conn *c, const uint8_t *data, size_t len);
	/* Before this turn's send: add what else must go (frames) to c->out. Returns false
	 * if the connection was closed. NULL: requests are written by fill. */
	bool (*produce)(struct rl_worker *w, struct rl_conn *c);
	/* A send holding c->out[0, out_len) was queued in this turn (its requests are
	 * handed to the kernel by the turn's submit, at now_ns). */
	void (*handed)(struct rl_worker *w, struct rl_conn *c, uint64_t now_ns);
	/* The kernel took `sent` bytes of c->out (the rest is sent again). */
	void (*sent)(struct rl_worker *w, struct rl_conn *c, uint32_t sent);
	/* The server closed the connection. */
	void (*on_eof)(struct rl_worker *w, struct rl_conn *c);
	/* The connection's timer fired with requests in flight. */
	void (*on_timer)(struct rl_worker *w, struct rl_conn *c);
	/* The connection is ending: end every request on it (rl_acct_drain). */
	void (*drain)(struct rl_worker *w, struct rl_conn *c, enum rl_err err, const char *detail);
	/* Free the connection's protocol state (no callbacks run). */
	void (*free)(struct rl_worker *w, struct rl_conn *c);
	/* Request slots a connection needs (HTTP/1.1 pipeline depth, HTTP/2 streams). */
	uint32_t (*slots)(const struct rl_plan *plan);
	/* Bytes a connection's send buffer needs for the target's requests. */
	size_t (*send_room)(const struct rl_plan *plan, const struct rl_target *t);
	/* Bytes of scratch each request slot needs (a templated request rendered in place
	 * until it is sent); 0: none. */
	size_t (*slot_scratch)(const struct rl_target *t);
	/* HTTP/2: the message layer over its streams (gRPC's), or NULL. */
	const struct rl_h2_messages *messages;
};

extern const struct rl_proto_ops rl_proto_h1, rl_proto_h2, rl_proto_grpc;

/* The table for a target's protocol. */
const struct rl_proto_ops *rl_proto_of(enum rl_proto proto);

/* A header list under construction: entries, and a buffer for the strings they point at. */
struct rl_h2_nvbuf {
	nghttp2_nv *nv;
	size_t n;
	char *p;
};
void rl_h2_nv_add(struct rl_h2_nvbuf *b, const char *name, const char *value, size_t vlen);
/* A copy of s in the buffer, for a value that must outlive the caller. */
const char *rl_h2_nv_string(struct rl_h2_nvbuf *b, const char *s);

/* HTTP/2's message layer: what a protocol carried in HTTP/2 streams adds to them
 * (gRPC: length-prefixed messages, a status in the trailers). */
struct rl_h2_messages {
	/* The request's message (t->h2_body, or t->grpc_dyn to encode per stream). */
	int (*target_init)(struct rl_target *t, const struct rl_request_spec *spec, char *err, size_t errlen);
	/* The :path, and the headers the layer adds after the pseudo-headers. */
	const char *(*path)(const struct rl_request_spec *spec, struct rl_h2_nvbuf *b);
	void (*add_headers)(const struct rl_request_spec *spec, struct rl_h2_nvbuf *b);
	/* A new stream's state; a templated request's message rendered into out. */
	void (*stream_init)(struct rl_worker *w, struct rl_req *r);
	void (*render)(struct rl_worker *w, const struct rl_target *t, struct rl_req *r, char *out);
	void (*on_header)(struct rl_req *r, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen);
	/* Response DATA: 0, or a framing error (the stream is then counted and reset). */
	int (*on_data)(struct rl_req *r, const uint8_t *data, size_t len);
	/* A :status 200 response ended: NULL with the call's status in *status (payload
	 * in r->payload), or why it is malformed. */
	const char *(*verdict)(struct rl_req *r, int *status);
	/* The status the client counts when its own deadline passes. */
	int deadline_status;
};

extern const struct rl_h2_messages rl_grpc_messages;

/* proto_h2.c: the nghttp2 allocator, per worker */
void rl_h2_pool_init(struct rl_worker *w);
void rl_h2_pool_free(struct rl_worker *w);

#endif
