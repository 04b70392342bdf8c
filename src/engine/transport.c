/* Transports (plain TCP, Unix stream sockets) and every SQE the client prepares. The
 * loop turn submits them all in one io_uring_enter (worker.c). */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <unistd.h>

#include "common/source.h"
#include "proto.h"
#include "transport.h"

static int tcp_socket(const struct rl_target *t)
{
	int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* requests leave whole, once per turn: Nagle would only hold the next turn's back */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int unix_socket(const struct rl_target *t)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

static int plain_connected(struct rl_worker *w, struct rl_conn *c)
{
	return 0;
}

/* Plaintext as it arrived. */
static bool plain_bytes(struct rl_worker *w, struct rl_conn *c, const uint8_t *data, size_t len)
{
	return c->proto->consume(w, c, data, len);
}

/* The protocol's bytes as they are, in one send. */
static void plain_flush(struct rl_worker *w, struct rl_conn *c)
{
	if (c->send_busy || c->out_sent == c->out_len)
		return;
	rl_io_send(w, c, c->out + c->out_sent, c->out_len - c->out_sent);
	/* the send is handed to the kernel by this loop turn's one io_uring_enter */
	if (c->proto->handed)
		c->proto->handed(w, c, w->flush_ns);
}

void rl_conn_sent_plain(struct rl_worker *w, struct rl_conn *c, uint32_t res)
{
	c->out_sent += res;
	uint32_t sent = c->out_sent;
	if (c->proto->sent)
		c->proto->sent(w, c, sent);
	if (sent < c->out_len) {
		/* a short send: the rest goes in the next turn */
		memmove(c->out, c->out + sent, c->out_len - sent);
		rl_conn_mark_dirty(w, c);
	}
	c->out_len -= sent;
	c->out_sent = 0;
}

#define PLAIN_OPS .on_connected = plain_connected, .on_bytes = plain_bytes, .flush = plain_flush, \
	.on_sent = rl_conn_sent_plain

const struct rl_transport rl_transport_tcp = { .name = "tcp", .plaintext = true, .socket = tcp_socket, PLAIN_OPS };
const struct rl_transport rl_transport_unix = { .name = "unix", .plaintext = true, .socket = unix_socket, PLAIN_OPS };

const struct rl_transport *rl_transport_of(const struct rl_target *t)
{
	if (t->u.tls)
		return &rl_transport_tls;
	return t->addr.ss_family == AF_UNIX ? &rl_transport_unix : &rl_transport_tcp;
}

/* The TLS transport makes its socket as TCP does. */
int rl_transport_tcp_socket(const struct rl_target *t)
{
	return tcp_socket(t);
}

static void set_fixed(struct rl_worker *w, struct io_uring_sqe *sqe)
{
	if (w->feat.fixed_files)
		sqe->flags |= IOSQE_FIXED_FILE;
}

bool rl_transport_stamps(const struct rl_target *t)
{
	return t->addr.ss_family != AF_UNIX;
}

/* Asks the kernel to stamp the socket's receives (SOF_TIMESTAMPING_RX_SOFTWARE: as
 * each segment enters the stack): true where it will. */
static bool ask_rx_stamps(int fd)
{
	int how = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
	return !setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &how, sizeof(how));
}

/* Receives on TCP carry the kernel's stamp of their arrival when the run has them. */
static void stamp_receives(struct rl_worker *w, struct rl_conn *c, int fd)
{
	c->rx_stamped = w->feat.rx_timestamps && rl_transport_stamps(rl_conn_target(w, c)) && ask_rx_stamps(fd);
}

void rl_rx_clock_sync(struct rl_worker *w)
{
	struct timespec rt, mono;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &rt);
	w->realtime_off_ns = ((int64_t)rt.tv_sec - (int64_t)mono.tv_sec) * 1000000000LL +
			     (rt.tv_nsec - mono.tv_nsec);
}

/* The kernel turns receive stamping on for the first socket that asks through a
 * deferred work item: segments that arrive before that work runs carry no stamp. A UDP
 * socket on loopback asks first, and holds the stamping on for the run; it sends itself
 * a datagram until one comes back stamped (about a millisecond at most, 100 ms at the
 * very most on a loaded machine), so every connection's first response is stamped. */
int rl_rx_stamps_hold(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in self = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(self);
	if (!ask_rx_stamps(fd) ||
	    bind(fd, (struct sockaddr *)&self, sizeof(self)) || getsockname(fd, (struct sockaddr *)&self, &slen))
		goto out;
	for (int tries = 0; tries < 100; tries++) {
		char byte = 0, control[RL_RX_CONTROL];
		struct iovec iov = { &byte, 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
				    .msg_controllen = sizeof(control) };
		if (sendto(fd, &byte, 1, 0, (struct sockaddr *)&self, sizeof(self)) != 1)
			goto out;
		usleep(tries ? 1000 : 0);
		if (recvmsg(fd, &m, 0) != 1)
			continue;
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPING)
				return fd;
	}
out:
	close(fd);
	return -1;
}

/* --source: the connection's local address, bound before the connect (an IPv4 source
 * for an IPv6 target, or a Unix socket, is left to the kernel). */
static int bind_source(struct rl_worker *w, struct rl_conn *c, int fd)
{
	const struct sockaddr_storage *src = &w->sh->plan->sources[c->source];
	return src->ss_family == rl_conn_target(w, c)->addr.ss_family ? rl_bind_source(fd, src) : 0;
}

int rl_io_attach(struct rl_worker *w, struct rl_conn *c, int fd)
{
	stamp_receives(w, c, fd);
	if (w->sh->plan->nsources) {
		int rc = bind_source(w, c, fd);
		if (rc) {
			close(fd);
			return rc;
		}
	}
	if (!w->feat.fixed_files) {
		c->fd = fd;
		return 0;
	}
	int rc = io_uring_register_files_update(&w->ring, c->slot, &fd, 1);
	close(fd);
	if (rc < 0)
		return rc;
	c->fd = (int)c->slot;
	return 0;
}

void rl_io_connect(struct rl_worker *w, struct rl_conn *c)
{
	const struct rl_target *t = rl_conn_target(w, c);
	rl_worker_reserve(w, 2); /* the connect and its linked timeout go in one submission */
	struct io_uring_sqe *sqe = rl_worker_sqe(w);
	io_uring_prep_connect(sqe, c->fd, (const struct sockaddr *)&t->addr, t->addrlen);
	set_fixed(w, sqe);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, RL_UD(OP_CONNECT, c->slot, c->gen));
	sqe = rl_worker_sqe(w);
	io_uring_prep_link_timeout(sqe, &w->connect_ts, 0);
	io_uring_sqe_set_data64(sqe, RL_UD(OP_LINK_TIMEOUT, c->slot, c->gen));
}

void rl_io_recv(struct rl_worker *w, struct rl_conn *c)
{
	struct io_uring_sqe *sqe = rl_worker_sqe(w);
	if (c->rx_stamped) {
		io_uring_prep_recvmsg_multishot(sqe, c->fd, &w->rx_msg, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 0;
	} else if (w->feat.buf_ring) {
		io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 0;
	} else {
		io_uring_prep_recv(sqe, c->fd, c->rbuf, w->bufs.size, 0);
	}
	set_fixed(w, sqe);
	io_uring_sqe_set_data64(sqe, RL_UD(OP_RECV, c->slot, c->gen));
	c->recv_armed = true;
}

const uint8_t *rl_io_received(struct rl_worker *w, const struct rl_conn *c, const uint8_t *buf, size_t *len)
{
	if (!c->rx_stamped)
		return buf;
	/* the buffer: io_uring_recvmsg_out, no name, our control area (one SCM_TIMESTAMPING
	 * at most, the only control message asked for; its room is reserved, so reading it
	 * stays inside the buffer), then the payload */
	const size_t head = sizeof(struct io_uring_recvmsg_out) + RL_RX_CONTROL;
	const struct io_uring_recvmsg_out *o = (const void *)buf;
	const struct cmsghdr *h = (const void *)(buf + sizeof(*o));
	struct timespec sw; /* ts[0]: the software stamp */
	memcpy(&sw, CMSG_DATA(h) + offsetof(struct scm_timestamping, ts), sizeof(sw));
	w->rx_kernel_ns = 0;
	if (o->controllen && h->cmsg_type == SCM_TIMESTAMPING && sw.tv_sec) {
		int64_t real = (int64_t)sw.tv_sec * 1000000000LL + sw.tv_nsec;
		w->rx_kernel_ns = (uint64_t)(real - w->realtime_off_ns);
		if (w->rx_kernel_ns > w->now_ns) { /* CLOCK_REALTIME stepped since the last sync */
			rl_rx_clock_sync(w);
			w->rx_kernel_ns = (uint64_t)(real - w->realtime_off_ns);
			if (w->rx_kernel_ns > w->now_ns)
				w->rx_kernel_ns = w->now_ns;
		}
	}
	if (*len < head || o->payloadlen > *len - head) {
		*len = 0;
		return buf;
	}
	*len = o->payloadlen;
	return buf + head;
}

void rl_io_send(struct rl_worker *w, struct rl_conn *c, const void *buf, size_t len)
{
	struct io_uring_sqe *sqe = rl_worker_sqe(w);
	io_uring_prep_send(sqe, c->fd, buf, len, MSG_NOSIGNAL);
	w->turn_bytes += len;
	set_fixed(w, sqe);
	io_uring_sqe_set_data64(sqe, RL_UD(OP_SEND, c->slot, c->gen));
	c->send_busy = true;
	w->io.sends++;
}

static void cancel_armed(struct rl_worker *w, struct rl_conn *c, uint32_t old_gen)
{
	struct io_uring_sqe *sqe;
	if (c->recv_armed) {
		sqe = rl_worker_sqe(w);
		io_uring_prep_cancel64(sqe, RL_UD(OP_RECV, c->slot, old_gen), 0);
		io_uring_sqe_set_data64(sqe, RL_UD(OP_CANCEL, c->slot, c->gen));
	}
	if (c->send_busy) {
		sqe = rl_worker_sqe(w);
		io_uring_prep_cancel64(sqe, RL_UD(OP_SEND, c->slot, old_gen), 0);
		io_uring_sqe_set_data64(sqe, RL_UD(OP_CANCEL, c->slot, c->gen));
	}
	c->recv_armed = c->send_busy = false;
}

static void prep_close(struct rl_worker *w, struct rl_conn *c)
{
	struct io_uring_sqe *sqe = rl_worker_sqe(w);
	if (w->feat.fixed_files)
		io_uring_prep_close_direct(sqe, c->slot);
	else
		io_uring_prep_close(sqe, c->fd);
	io_uring_sqe_set_data64(sqe, RL_UD(OP_CLOSE, c->slot, c->gen));
}

void rl_io_close(struct rl_worker *w, struct rl_conn *c, uint32_t old_gen)
{
	cancel_armed(w, c, old_gen);
	prep_close(w, c);
}

void rl_io_close_after_send(struct rl_worker *w, struct rl_conn *c, uint32_t old_gen, const void *buf,
			    size_t len)
{
	cancel_armed(w, c, old_gen);
	rl_worker_reserve(w, 2); /* the send and the close it is linked to go in one submission */
	struct io_uring_sqe *sqe = rl_worker_sqe(w);
	/* MSG_DONTWAIT: a peer that reads nothing cannot hold the close back; IO_HARDLINK:
	 * the close follows even if the send fails (the peer may be gone) */
	io_uring_prep_send(sqe, c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	set_fixed(w, sqe);
	sqe->flags |= IOSQE_IO_HARDLINK;
	io_uring_sqe_set_data64(sqe, RL_UD(OP_SEND, c->slot, old_gen)); /* a late completion: dropped */
	w->io.sends++;
	prep_close(w, c);
}
