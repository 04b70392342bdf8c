/* The transport layer, between the socket and the protocol: how a socket is made for a
 * target, and how received bytes become the protocol's plaintext. Plain TCP and Unix
 * stream sockets carry plaintext as it is; TLS will decrypt here, without the protocols
 * knowing. Every SQE the client submits is prepared in transport.c. */
#ifndef RINGLOAD_TRANSPORT_H
#define RINGLOAD_TRANSPORT_H

#include "worker.h"

struct rl_transport {
	const char *name;
	bool plaintext;     /* c->out goes on the wire as it is (a last send can follow a close) */
	/* A new socket for the target, its options set: an fd, or a negative errno. */
	int (*socket)(const struct rl_target *t);
	/* Connected: the transport's own setup. 0: plaintext can flow now; 1: a handshake
	 * first (the transport calls rl_conn_ready when it is done); -1: the connection
	 * failed (counted and closed). */
	int (*on_connected)(struct rl_worker *w, struct rl_conn *c);
	/* Received bytes: the plaintext goes to the protocol. false: the connection closed. */
	bool (*on_bytes)(struct rl_worker *w, struct rl_conn *c, const uint8_t *data, size_t len);
	/* This turn's send: what the protocol queued in c->out (and, for TLS, records). */
	void (*flush)(struct rl_worker *w, struct rl_conn *c);
	/* The kernel took res bytes of the last send. */
	void (*on_sent)(struct rl_worker *w, struct rl_conn *c, uint32_t res);
	/* The server closed (NULL: nothing to say). true: the transport counted it and closed
	 * the connection (TLS: a close inside a record or the handshake). */
	bool (*on_eof)(struct rl_worker *w, struct rl_conn *c);
	/* The connection closes: free the transport's state (NULL: none). */
	void (*free)(struct rl_worker *w, struct rl_conn *c);
};

extern const struct rl_transport rl_transport_tcp, rl_transport_unix, rl_transport_tls;

/* Shared by the transports: the socket TCP makes, and the bookkeeping after a send of
 * c->out (the protocol is told, a short send's rest moves to the front). */
int rl_transport_tcp_socket(const struct rl_target *t);
void rl_conn_sent_plain(struct rl_worker *w, struct rl_conn *c, uint32_t res);

/* The transport of a target, from its address. */
const struct rl_transport *rl_transport_of(const struct rl_target *t);

/* Whether the kernel stamps the target's receives where the run asks for stamps: TCP
 * (TLS included), not Unix sockets. */
bool rl_transport_stamps(const struct rl_target *t);

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
/* Registers fd as the connection's (fixed file when the ring has a table), asking the
 * kernel to stamp its receives where the run has kernel stamps. 0 or -errno. */
int rl_io_attach(struct rl_worker *w, struct rl_conn *c, int fd);
/* A receive's bytes in buf (len of them): the payload, with *len its length (0: the
 * server closed), and w->rx_kernel_ns the kernel's stamp of its arrival (0: none). */
const uint8_t *rl_io_received(struct rl_worker *w, const struct rl_conn *c, const uint8_t *buf, size_t *len);

/* The difference of CLOCK_REALTIME (the kernel's stamps) and CLOCK_MONOTONIC (ours),
 * read now: what converts the stamps. */
void rl_rx_clock_sync(struct rl_worker *w);
/* Turns the kernel's receive stamping on before the first connection, and holds it on
 * while the returned socket is open (-1: it could not; stamps then start a little late). */
int rl_rx_stamps_hold(void);

#endif
