/* The transport layer, between the socket and the protocol: how a socket is made for a
 * target, and how received bytes become the protocol's plaintext. Plain TCP and Unix
 * stream sockets carry plaintext as it is; TLS will decrypt here, without the protocols
 * knowing. Every SQE the client submits is prepared in transport.c. */
#ifndef RINGLOAD_TRANSPORT_H
#define RINGLOAD_TRANSPORT_H

#include "worker.h"

struct rl_transport {
	const char *name;
	/* A new socket for the target, its options set: an fd, or a negative errno. */
	int (*socket)(const struct rl_target *t);
	/* Connected: the transport's own setup. Returns 0, or -1 (the connection fails). */
	int (*on_connected)(struct rl_worker *w, struct rl_conn *c);
	/* Received bytes: the plaintext goes to the protocol. false: the connection closed. */
	bool (*on_bytes)(struct rl_worker *w, struct rl_conn *c, const uint8_t *data, size_t len);
};

extern const struct rl_transport rl_transport_tcp, rl_transport_unix;

/* The transport of a target, from its address. */
const struct rl_transport *rl_transport_of(const struct rl_target *t);

/* The SQEs: connect with its linked timeout, receive (multishot on the buffer ring,
 * else into the connection's buffer), send, and close after cancelling what is armed. */
void rl_io_connect(struct rl_worker *w, struct rl_conn *c);
void rl_io_recv(struct rl_worker *w, struct rl_conn *c);
void rl_io_send(struct rl_worker *w, struct rl_conn *c, const void *buf, size_t len);
void rl_io_close(struct rl_worker *w, struct rl_conn *c, uint32_t old_gen);
/* The same, with a last send of buf linked before the close: it leaves, then the socket
 * closes (no completion of it is awaited). */
void rl_io_close_after_send(struct rl_worker *w, struct rl_conn *c, uint32_t old_gen, const void *buf,
			    size_t len);
/* Registers fd as the connection's (fixed file when the ring has a table). 0 or -errno. */
int rl_io_attach(struct rl_worker *w, struct rl_conn *c, int fd);

#endif
