/* The connection state machine (IDLE, BACKOFF, CONNECTING, OPEN, CLOSING): one handler
 * per completion kind, called from the worker's event loop. It knows no protocol: it
 * calls the connection's transport (transport.h) and protocol (proto.h) tables. What a
 * protocol writes into the connection's send buffer leaves in one send per loop turn.
 * Nothing here allocates. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "proto.h"
#include "transport.h"

#define BACKOFF_FIRST_NS 1000000ULL          /* first reconnect delay after a failed connect */
#define BACKOFF_MAX_NS   (100ULL * 1000000)  /* the delay doubles up to this */

void rl_conn_mark_dirty(struct rl_worker *w, struct rl_conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->next_dirty = w->dirty;
	w->dirty = c;
}

void rl_conn_make_ready(struct rl_worker *w, struct rl_conn *c)
{
	/* (a fan-out member is not: its round, not the schedule, gives it its request) */
	if (!w->pace.open_loop || c->in_ready || c->state != C_OPEN || c->vu)
		return;
	c->in_ready = true;
	c->next_ready = w->pace.ready;
	w->pace.ready = c;
}

/* Closes the slot's socket: its timer, the protocol's and the transport's state go, what
 * is armed on the socket is cancelled, and with send_last the bytes still queued (a GOAWAY
 * saying why) leave in a last send linked before the close. */
static void close_conn(struct rl_worker *w, struct rl_conn *c, bool send_last)
{
	rl_tw_cancel(&w->tw, &c->timer);
	c->proto->free(w, c);
	if (c->transport->free)
		c->transport->free(w, c);
	c->handshaking = false;
	rl_conn_set_unready(w, c, false);
	uint32_t old_gen = c->gen++;
	if (send_last && !c->send_busy && c->out_len > c->out_sent)
		rl_io_close_after_send(w, c, old_gen, c->out + c->out_sent, c->out_len - c->out_sent);
	else
		rl_io_close(w, c, old_gen);
	if (c->state == C_OPEN)
		w->open_conns--;
	c->state = C_CLOSING;
	c->close_after = false;
	c->out_len = c->out_sent = 0;
}

void rl_conn_close(struct rl_worker *w, struct rl_conn *c)
{
	close_conn(w, c, false);
}

void rl_conn_fail(struct rl_worker *w, struct rl_conn *c, enum rl_err err, const char *detail)
{
	c->proto->drain(w, c, err, detail);
	close_conn(w, c, false);
}

void rl_conn_fail_sending(struct rl_worker *w, struct rl_conn *c, enum rl_err err, const char *detail)
{
	c->proto->drain(w, c, err, detail);
	/* a transport that is not plaintext (TLS) would need records made first: it just closes */
	close_conn(w, c, c->transport->plaintext);
}

/* A connect that could not even be submitted: counted like a failed one, then the
 * slot goes through the close path (back-off, or idle). */
static void connect_failed_now(struct rl_worker *w, struct rl_conn *c, int res)
{
	rl_acct_connect_failed(w, c, res);
	rl_conn_on_close(w, c);
}

void rl_conn_connect(struct rl_worker *w, struct rl_conn *c)
{
	c->connect_start_ns = rl_now_ns();
	int fd = c->transport->socket(rl_conn_target(w, c));
	if (fd < 0) {
		/* no socket (EMFILE, ENFILE, ENOBUFS): the attempt fails like a connect */
		connect_failed_now(w, c, fd);
		return;
	}
	int rc = rl_io_attach(w, c, fd);
	if (rc < 0) {
		connect_failed_now(w, c, rc);
		return;
	}
	rl_io_connect(w, c);
	c->state = C_CONNECTING;
	rl_conn_set_unready(w, c, true);
}

void rl_conn_on_connect(struct rl_worker *w, struct rl_conn *c, int res)
{
	struct rl_stats *st = rl_conn_stats(w, c);
	if (res < 0) {
		rl_acct_connect_failed(w, c, res);
		rl_conn_close(w, c);
		return;
	}
	c->fails = 0;
	c->state = C_OPEN;
	w->open_conns++;
	st->conns_opened++;
	if (c->reconnect)
		st->reconnects++;
	c->reconnect = true;
	rl_hist_record_ns(&st->connect, w->now_ns - c->connect_start_ns);
	int rc = c->transport->on_connected(w, c);
	if (rc < 0)
		return; /* counted and closed by the transport */
	rl_io_recv(w, c);
	if (rc == 0) {
		rl_conn_ready(w, c);
		return;
	}
	/* a handshake first: bounded like the connect (--connect-timeout) */
	c->handshaking = true;
	rl_tw_arm(&w->tw, &c->timer, w->now_ns + w->sh->plan->connect_timeout_ns);
	rl_conn_mark_dirty(w, c);
}

void rl_conn_ready(struct rl_worker *w, struct rl_conn *c)
{
	rl_conn_set_unready(w, c, false);
	if (c->handshaking) {
		c->handshaking = false;
		rl_tw_cancel(&w->tw, &c->timer);
	}
	if (c->proto->open(w, c)) {
		rl_conn_fail(w, c, RL_ERR_IO, "cannot set up the connection's protocol state");
		return;
	}
	rl_conn_fill(w, c);
	rl_conn_mark_dirty(w, c);
}

void rl_conn_setup_failed(struct rl_worker *w, struct rl_conn *c, enum rl_err err, const char *detail)
{
	rl_acct_conn_failed(w, c, err, detail);
	rl_conn_close(w, c);
}

void rl_conn_fill(struct rl_worker *w, struct rl_conn *c)
{
	if (c->parked) {
		/* --stages took this connection out: close it once its requests are done */
		while (c->nretry) { /* refused requests waiting here go to another connection */
			c->nretry--;
			rl_acct_give_back(w, c);
		}
		if (c->state == C_OPEN && !c->inflight)
			rl_conn_close(w, c);
		return;
	}
	if (!c->handshaking) /* requests wait for the transport's handshake */
		c->proto->fill(w, c);
}

void rl_conn_flush(struct rl_worker *w, struct rl_conn *c)
{
	c->dirty = false;
	if (c->state != C_OPEN)
		return;
	if (!c->handshaking && c->proto->produce && !c->proto->produce(w, c))
		return;
	if (c->state == C_OPEN)
		c->transport->flush(w, c);
}

void rl_conn_on_send(struct rl_worker *w, struct rl_conn *c, int res)
{
	c->send_busy = false;
	if (res < 0) {
		rl_conn_fail(w, c, rl_err_from_io_errno(res), strerrordesc_np(-res));
		return;
	}
	rl_conn_stats(w, c)->bytes_sent += (uint64_t)res;
	c->transport->on_sent(w, c, (uint32_t)res);
}

void rl_conn_on_recv(struct rl_worker *w, struct rl_conn *c, int res, unsigned flags)
{
	if (!w->feat.buf_ring || !(flags & IORING_CQE_F_MORE))
		c->recv_armed = false;
	size_t len = res > 0 ? (size_t)res : 0;
	const uint8_t *data = c->rbuf;
	unsigned bid = 0;
	if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
		bid = flags >> IORING_CQE_BUFFER_SHIFT;
		data = rl_io_received(w, c, w->bufs.mem + (size_t)bid * w->bufs.size, &len);
		if (!len) {
			rl_worker_recycle_buf(w, bid); /* a recvmsg that carried no payload: the close */
			flags &= ~IORING_CQE_F_BUFFER;
			res = 0;
			/* a body that ends with the close ended with its last byte, as stamped */
			w->rx_kernel_ns = c->rx_last_kernel_ns;
		} else {
			c->rx_last_kernel_ns = w->rx_kernel_ns;
		}
	}
	if (res > 0) {
		rl_conn_stats(w, c)->bytes_received += len;
		w->turn_bytes += len;
		bool open = c->transport->on_bytes(w, c, data, len);
		if (flags & IORING_CQE_F_BUFFER)
			rl_worker_recycle_buf(w, bid);
		if (open) {
			if (!c->recv_armed)
				rl_io_recv(w, c);
			rl_conn_fill(w, c);
		}
		return;
	}
	if (flags & IORING_CQE_F_BUFFER)
		rl_worker_recycle_buf(w, flags >> IORING_CQE_BUFFER_SHIFT);
	if (res == -ENOBUFS) {
		/* the buffer ring ran dry; this turn's recycled buffers go back before the
		 * next submit, so re-arming now is safe */
		rl_io_recv(w, c);
		return;
	}
	if (res == 0) {
		if (c->transport->on_eof && c->transport->on_eof(w, c))
			return; /* the transport counted it (a close inside a TLS record) */
		c->proto->on_eof(w, c);
		rl_conn_close(w, c);
		return;
	}
	rl_conn_fail(w, c, rl_err_from_io_errno(res), strerrordesc_np(-res));
}

/* Whether the slot should connect again: the run goes on and it has work (a request
 * left in the quota, or a refused one waiting to be sent again on it). */
static bool wanted(const struct rl_worker *w, const struct rl_conn *c)
{
	if (c->vu) /* a member reconnects while rounds are left, or its round waits for it */
		return !w->stopping && (w->quota || (c->vu->pending >> c->member & 1));
	return !w->stopping && !c->parked &&
	       ((w->quota && (!w->tquota || w->tquota[c->target])) || c->nretry);
}

void rl_conn_on_close(struct rl_worker *w, struct rl_conn *c)
{
	c->fd = -1;
	if (!wanted(w, c)) {
		c->state = C_IDLE;
		return;
	}
	if (c->fails) {
		uint64_t delay = BACKOFF_FIRST_NS << (c->fails < 8 ? c->fails - 1 : 7);
		if (delay > BACKOFF_MAX_NS)
			delay = BACKOFF_MAX_NS;
		c->state = C_BACKOFF;
		rl_tw_arm(&w->tw, &c->timer, w->now_ns + delay);
		return;
	}
	rl_conn_connect(w, c);
}

void rl_conn_on_timer(struct rl_timer *t, void *arg)
{
	struct rl_worker *w = arg;
	struct rl_conn *c = (struct rl_conn *)((char *)t - offsetof(struct rl_conn, timer));
	if (c->state == C_BACKOFF) {
		if (!wanted(w, c))
			c->state = C_IDLE;
		else
			rl_conn_connect(w, c);
	} else if (c->state == C_OPEN && c->handshaking) {
		rl_conn_setup_failed(w, c, RL_ERR_CONNECT_TIMEOUT, "the TLS handshake did not finish within --connect-timeout");
	} else if (c->state == C_OPEN && c->inflight) {
		c->proto->on_timer(w, c);
	}
}
