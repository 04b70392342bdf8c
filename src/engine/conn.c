/* The connection state machine (IDLE, BACKOFF, CONNECTING, OPEN, CLOSING): one handler
 * per completion kind, called from the worker's event loop. Requests are issued into a
 * per-connection send buffer and flushed once per loop turn; responses are fed to the
 * HTTP/1.1 parser straight from the receive buffers. Nothing here allocates.
 *
 * Accounting rules, so that requests == successful + failed holds and -n is exact:
 * - a request fails when it was handed to the kernel and got no full response (its
 *   connection failed, timed out or was closed under it); every request pipelined
 *   behind it on that connection fails with the same category;
 * - a request never handed to the kernel goes back to the worker's quota;
 * - when the server announces the close (Connection: close, or a body delimited by the
 *   close), the requests pipelined behind that response go back to the quota: the
 *   server has said it will not process them;
 * - a failed connect costs one request, failed with the connect error's category. */
#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

#define BACKOFF_MAX_NS (100ULL * 1000000) /* reconnect backoff cap after failed connects */

struct rl_stats *rl_conn_stats(struct rl_worker *w, struct rl_conn *c)
{
	return &w->stats[c->target];
}

const struct rl_target *rl_conn_target(struct rl_worker *w, struct rl_conn *c)
{
	return &w->sh->targets[c->target];
}

#define conn_stats rl_conn_stats
#define conn_target rl_conn_target

static inline bool is_h2(struct rl_worker *w, struct rl_conn *c)
{
	return conn_target(w, c)->proto != RL_PROTO_H1;
}

static inline struct rl_req *req_at(struct rl_worker *w, struct rl_conn *c, uint32_t i)
{
	return &c->reqs[(c->head + i) % w->sh->opt->pipeline];
}

void rl_conn_mark_dirty(struct rl_worker *w, struct rl_conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->next_dirty = w->dirty;
	w->dirty = c;
}

bool rl_conn_take_request(struct rl_worker *w)
{
	if (w->stopping || !w->quota)
		return false;
	if (w->open_loop) {
		if (w->next_k >= w->due_k)
			return false; /* nothing due yet: the schedule, not a free connection, decides */
		w->take_start_ns = rl_worker_intended_ns(w, w->next_k);
		w->next_k++;
	} else {
		w->take_start_ns = w->now_ns;
	}
	if (w->quota != UINT64_MAX)
		w->quota--;
	w->inflight++;
	return true;
}

void rl_conn_give_back_request(struct rl_worker *w)
{
	if (w->quota != UINT64_MAX)
		w->quota++;
	if (w->open_loop)
		w->next_k--; /* due again: the next free connection sends it */
	w->inflight--;
}

void rl_conn_give_back(struct rl_worker *w, struct rl_conn *c)
{
	rl_conn_give_back_request(w);
	if (c->vu)
		c->vu->pending |= 1ULL << c->member; /* due again on the member's connection */
}

void rl_conn_request_ended(struct rl_worker *w, struct rl_conn *c, bool ok)
{
	w->inflight--;
	w->completed++;
	struct rl_vu *vu = c->vu;
	if (!vu)
		return;
	vu->done++;
	vu->ok += ok;
	vu->last_ns = w->now_ns;
	if (vu->done < vu->nmembers)
		return;
	struct rl_group_stats *g = &w->gstats[vu->group];
	g->rounds++;
	g->by_successes[vu->ok]++;
	if (vu->ok == vu->nmembers)
		g->full++;
	else if (vu->ok)
		g->partial++;
	else
		g->failed++;
	rl_hist_record_ns(&g->latency, vu->last_ns - vu->start_ns);
	w->vu_done[w->nvu_done++] = vu; /* the next round starts after this loop turn */
}

void rl_vu_start(struct rl_worker *w, struct rl_vu *vu)
{
	vu->start_ns = w->now_ns;
	vu->pending = vu->nmembers == 64 ? ~0ULL : (1ULL << vu->nmembers) - 1;
	vu->done = vu->ok = 0;
	for (uint32_t m = 0; m < vu->nmembers; m++)
		rl_conn_fill(w, &w->conns[vu->first_conn + m]); /* closed ones send on connect */
}

static inline bool vu_due(const struct rl_conn *c)
{
	return !c->vu || (c->vu->pending >> c->member & 1);
}

void rl_conn_make_ready(struct rl_worker *w, struct rl_conn *c)
{
	if (!w->open_loop || c->in_ready || c->state != C_OPEN)
		return;
	c->in_ready = true;
	c->next_ready = w->ready;
	w->ready = c;
}

#define mark_dirty rl_conn_mark_dirty
#define take_request rl_conn_take_request
#define give_back_request rl_conn_give_back_request
#define count_failure rl_conn_count_failure

static void set_fixed(struct rl_worker *w, struct io_uring_sqe *sqe)
{
	if (w->feat.fixed_files)
		sqe->flags |= IOSQE_FIXED_FILE;
}

static void arm_request_timer(struct rl_worker *w, struct rl_conn *c)
{
	if (c->inflight)
		rl_tw_arm(&w->tw, &c->timer, req_at(w, c, 0)->start_ns + conn_target(w, c)->timeout_ns);
	else
		rl_tw_cancel(&w->tw, &c->timer);
}

/* Drops the head request from the ring; the parser is ready for the next response. */
static void pop_head(struct rl_worker *w, struct rl_conn *c)
{
	c->head = (c->head + 1) % w->sh->opt->pipeline;
	c->inflight--;
	rl_h1_parser_reset(&c->parser, conn_target(w, c)->head);
}

void rl_conn_count_failed(struct rl_worker *w, struct rl_stats *st)
{
	st->requests++;
	st->failed++;
	w->failed++;
}

void rl_conn_count_failure(struct rl_worker *w, struct rl_stats *st, enum rl_err err)
{
	rl_conn_count_failed(w, st);
	if (!st->errors[err]++ && w->fail_detail) /* the category's first: keep its detail */
		snprintf(st->first_error[err], sizeof(st->first_error[err]), "%s", w->fail_detail);
}

static void complete_head(struct rl_worker *w, struct rl_conn *c)
{
	struct rl_stats *st = conn_stats(w, c);
	struct rl_req *r = req_at(w, c, 0);
	unsigned status = c->parser.status;
	st->requests++;
	st->status[status]++;
	if (status >= 400) {
		st->failed++;
		w->failed++;
	} else {
		st->successful++;
		st->payload_bytes += c->parser.body_bytes;
	}
	rl_conn_record_times(w, st, r);
	pop_head(w, c);
	rl_conn_request_ended(w, c, status < 400);
}

void rl_conn_record_times(struct rl_worker *w, struct rl_stats *st, const struct rl_req *r)
{
	uint64_t now = w->now_ns, sent = r->sent_ns ? r->sent_ns : r->first_ns;
	rl_hist_record_ns(&st->latency, now - r->start_ns);
	rl_hist_record_ns(&w->live[st - w->stats].hist, now - r->start_ns);
	rl_hist_record_ns(&st->ttfb, r->first_ns > sent ? r->first_ns - sent : 0);
	rl_hist_record_ns(&st->download, now - r->first_ns);
	if (w->open_loop) {
		rl_hist_record_ns(&st->latency_uncorrected, now - sent);
		rl_hist_record_ns(&st->queue, sent > r->start_ns ? sent - r->start_ns : 0);
	}
}

/* Ends every in-flight request: handed to the kernel -> failed with err (when err is
 * not RL_ERR_COUNT), otherwise back to the quota. */
static void drain_requests(struct rl_worker *w, struct rl_conn *c, enum rl_err err)
{
	while (c->inflight) {
		struct rl_req *r = req_at(w, c, 0);
		if (r->sent_ns && err != RL_ERR_COUNT) {
			count_failure(w, conn_stats(w, c), err);
			pop_head(w, c);
			rl_conn_request_ended(w, c, false);
		} else {
			rl_conn_give_back(w, c);
			c->head = (c->head + 1) % w->sh->opt->pipeline;
			c->inflight--;
		}
	}
}

/* Submits the close of the slot's socket, after cancelling what is still armed on it. */
void rl_conn_close(struct rl_worker *w, struct rl_conn *c)
{
	rl_tw_cancel(&w->tw, &c->timer);
	rl_h2_free(w, c);
	uint32_t old_gen = c->gen++;
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
	sqe = rl_worker_sqe(w);
	if (w->feat.fixed_files)
		io_uring_prep_close_direct(sqe, c->slot);
	else
		io_uring_prep_close(sqe, c->fd);
	io_uring_sqe_set_data64(sqe, RL_UD(OP_CLOSE, c->slot, c->gen));
	if (c->state == C_OPEN)
		w->open_conns--;
	c->state = C_CLOSING;
	c->recv_armed = c->send_busy = c->close_after = false;
	c->out_len = c->out_sent = 0;
}

#define conn_close rl_conn_close

void rl_conn_fail(struct rl_worker *w, struct rl_conn *c, enum rl_err err)
{
	if (is_h2(w, c))
		rl_h2_drain(w, c, err);
	else
		drain_requests(w, c, err);
	w->fail_detail = NULL;
	conn_close(w, c);
}

#define conn_fail rl_conn_fail

static void connect_failed(struct rl_worker *w, struct rl_conn *c, int res);

static void arm_recv(struct rl_worker *w, struct rl_conn *c)
{
	struct io_uring_sqe *sqe = rl_worker_sqe(w);
	if (w->feat.buf_ring) {
		io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 0;
	} else {
		io_uring_prep_recv(sqe, c->fd, c->rbuf, w->buf_size, 0);
	}
	set_fixed(w, sqe);
	io_uring_sqe_set_data64(sqe, RL_UD(OP_RECV, c->slot, c->gen));
	c->recv_armed = true;
}

void rl_conn_connect(struct rl_worker *w, struct rl_conn *c)
{
	const struct rl_target *t = conn_target(w, c);
	int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		/* no socket (EMFILE, ENFILE, ENOBUFS): the attempt fails like a connect */
		connect_failed(w, c, -errno);
		rl_conn_on_close(w, c);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (w->feat.fixed_files) {
		int rc = io_uring_register_files_update(&w->ring, c->slot, &fd, 1);
		close(fd);
		if (rc < 0) {
			connect_failed(w, c, rc);
			rl_conn_on_close(w, c);
			return;
		}
		c->fd = (int)c->slot;
	} else {
		c->fd = fd;
	}
	rl_worker_reserve(w, 2); /* the connect and its linked timeout go in one submission */
	struct io_uring_sqe *sqe = rl_worker_sqe(w);
	io_uring_prep_connect(sqe, c->fd, (const struct sockaddr *)&t->addr, t->addrlen);
	set_fixed(w, sqe);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, RL_UD(OP_CONNECT, c->slot, c->gen));
	sqe = rl_worker_sqe(w);
	io_uring_prep_link_timeout(sqe, &w->connect_ts, 0);
	io_uring_sqe_set_data64(sqe, RL_UD(OP_LINK_TIMEOUT, c->slot, c->gen));
	c->state = C_CONNECTING;
	c->connect_start_ns = rl_now_ns();
}

/* A connect that failed costs one request, failed under the connect error. */
static void connect_failed(struct rl_worker *w, struct rl_conn *c, int res)
{
	static atomic_flag told_addrnotavail = ATOMIC_FLAG_INIT;
	if (res == -EADDRNOTAVAIL && !atomic_flag_test_and_set(&told_addrnotavail))
		/* once per run: every later one is only counted */
		fprintf(stderr, "ringload: out of local ports connecting to %s (EADDRNOTAVAIL): counted as "
			"connect_addrnotavail; widen net.ipv4.ip_local_port_range or lower -c\n",
			conn_target(w, c)->url);
	w->fail_detail = strerrordesc_np(-res); /* static text: safe in any thread */
	/* a group member's connection fails its round's request, if one is due */
	if (vu_due(c) && take_request(w)) {
		count_failure(w, conn_stats(w, c), rl_err_from_connect_errno(res));
		if (c->vu)
			c->vu->pending &= ~(1ULL << c->member);
		rl_conn_request_ended(w, c, false);
	}
	c->fails++;
	w->fail_detail = NULL;
}

void rl_conn_on_connect(struct rl_worker *w, struct rl_conn *c, int res)
{
	struct rl_stats *st = conn_stats(w, c);
	if (res < 0) {
		connect_failed(w, c, res);
		conn_close(w, c);
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
	if (is_h2(w, c)) {
		if (rl_h2_open(w, c)) {
			conn_fail(w, c, RL_ERR_IO);
			return;
		}
	} else {
		rl_h1_parser_reset(&c->parser, conn_target(w, c)->head);
	}
	arm_recv(w, c);
	rl_conn_fill(w, c);
}

/* A templated HTTP/1.1 request: its body first (its length is the Content-Length),
 * then head, length and body into out. */
static size_t render_request(struct rl_worker *w, const struct rl_target *t, char *out)
{
	size_t body = rl_tpl_render(&t->tpl_body, &w->tpl, w->tpl_scratch);
	size_t n = rl_tpl_render(&t->tpl_head, &w->tpl, out);
	if (body || t->has_body) {
		memcpy(out + n, "Content-Length: ", 16);
		n += 16;
		char digits[24];
		size_t d = 0;
		size_t v = body;
		do {
			digits[d++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		while (d)
			out[n++] = digits[--d];
		out[n++] = '\r';
		out[n++] = '\n';
	}
	out[n++] = '\r';
	out[n++] = '\n';
	memcpy(out + n, w->tpl_scratch, body);
	return n + body;
}

void rl_conn_fill(struct rl_worker *w, struct rl_conn *c)
{
	if (c->parked) {
		/* --stages took this connection out: close it once its requests are done */
		if (c->state == C_OPEN && !c->inflight)
			conn_close(w, c);
		return;
	}
	if (is_h2(w, c)) {
		rl_h2_fill(w, c);
		return;
	}
	if (c->state != C_OPEN || c->close_after)
		return;
	const struct rl_target *t = conn_target(w, c);
	uint32_t pipeline = w->sh->opt->pipeline;
	bool was_idle = !c->inflight;
	while (c->inflight < pipeline && vu_due(c) && take_request(w)) {
		struct rl_req *r = req_at(w, c, c->inflight);
		r->start_ns = w->take_start_ns;
		if (c->vu) {
			r->start_ns = c->vu->start_ns; /* every member starts with the round */
			c->vu->pending &= ~(1ULL << c->member);
		}
		r->sent_ns = 0;
		r->first_ns = 0;
		if (t->templated)
			c->out_len += (uint32_t)render_request(w, t, c->out + c->out_len);
		else {
			memcpy(c->out + c->out_len, t->request, t->request_len);
			c->out_len += (uint32_t)t->request_len;
		}
		r->out_end = c->out_len;
		c->inflight++;
		mark_dirty(w, c);
	}
	if (was_idle && c->inflight)
		arm_request_timer(w, c);
	if (c->inflight < pipeline)
		rl_conn_make_ready(w, c);
}

void rl_conn_flush(struct rl_worker *w, struct rl_conn *c, uint64_t now_ns)
{
	c->dirty = false;
	if (c->state == C_OPEN && is_h2(w, c)) {
		rl_h2_flush(w, c); /* frames into the out buffer; it stamps what it sends */
		if (c->state != C_OPEN)
			return;
	}
	if (c->state != C_OPEN || c->send_busy || c->out_sent == c->out_len)
		return;
	struct io_uring_sqe *sqe = rl_worker_sqe(w);
	io_uring_prep_send(sqe, c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
	set_fixed(w, sqe);
	io_uring_sqe_set_data64(sqe, RL_UD(OP_SEND, c->slot, c->gen));
	c->send_busy = true;
	w->io.sends++;
	if (is_h2(w, c))
		return;
	/* the send is handed to the kernel by this loop turn's one io_uring_enter */
	for (uint32_t i = 0; i < c->inflight; i++) {
		struct rl_req *r = req_at(w, c, i);
		if (!r->sent_ns)
			r->sent_ns = now_ns;
	}
}

void rl_conn_on_send(struct rl_worker *w, struct rl_conn *c, int res)
{
	c->send_busy = false;
	if (res < 0) {
		w->fail_detail = strerrordesc_np(-res);
		conn_fail(w, c, rl_err_from_io_errno(res));
		return;
	}
	conn_stats(w, c)->bytes_sent += (uint64_t)res;
	c->out_sent += (uint32_t)res;
	/* Drop what was sent. A short send leaves the rest of a request unsent: that
	 * request is not handed over until its last byte is, so it loses its stamp. */
	uint32_t sent = c->out_sent;
	for (uint32_t i = 0; i < c->inflight && !is_h2(w, c); i++) {
		struct rl_req *r = req_at(w, c, i);
		if (r->out_end > sent) {
			r->sent_ns = 0;
			r->out_end -= sent;
		} else {
			r->out_end = 0;
		}
	}
	if (sent < c->out_len) {
		memmove(c->out, c->out + sent, c->out_len - sent);
		mark_dirty(w, c);
	}
	c->out_len -= sent;
	c->out_sent = 0;
	if (c->h2 && (nghttp2_session_want_write(c->h2) || c->goaway))
		mark_dirty(w, c); /* frames that did not fit, or a GOAWAY'd connection to retire */
}

/* Feeds received bytes to the parser, completing as many pipelined responses as they
 * hold. Returns false if the connection was closed. */
static bool conn_consume(struct rl_worker *w, struct rl_conn *c, const uint8_t *data, size_t len)
{
	if (is_h2(w, c))
		return rl_h2_consume(w, c, data, len);
	while (len) {
		if (!c->inflight) {
			/* bytes nobody asked for: the connection's framing can't be trusted */
			conn_stats(w, c)->unsolicited++;
			conn_close(w, c);
			return false;
		}
		struct rl_req *r = req_at(w, c, 0);
		if (!r->first_ns) {
			r->first_ns = w->now_ns;
			if (!r->sent_ns) /* answered before its last byte left: no wait to measure */
				r->sent_ns = r->first_ns;
		}
		size_t used;
		int rc = rl_h1_parse(&c->parser, data, len, &used);
		data += used;
		len -= used;
		if (rc == RL_H1_DONE) {
			bool keep_alive = c->parser.keep_alive;
			complete_head(w, c);
			if (!keep_alive) {
				drain_requests(w, c, RL_ERR_COUNT);
				conn_close(w, c);
				return false;
			}
		} else if (rc < 0) {
			w->fail_detail = rl_h1_strerror(rc);
			conn_fail(w, c, RL_ERR_PROTOCOL);
			return false;
		}
	}
	return true;
}

static void conn_on_eof(struct rl_worker *w, struct rl_conn *c)
{
	if (is_h2(w, c)) {
		rl_h2_drain(w, c, RL_ERR_EOF);
	} else if (c->inflight && rl_h1_parser_started(&c->parser)) {
		int rc = rl_h1_finish(&c->parser);
		if (rc == RL_H1_DONE) {
			complete_head(w, c); /* a body delimited by the close */
			drain_requests(w, c, RL_ERR_COUNT);
		} else {
			w->fail_detail = rl_h1_strerror(rc);
			drain_requests(w, c, RL_ERR_EOF);
			w->fail_detail = NULL;
		}
	} else {
		drain_requests(w, c, RL_ERR_EOF);
	}
	conn_close(w, c);
}

void rl_conn_on_recv(struct rl_worker *w, struct rl_conn *c, int res, unsigned flags)
{
	if (!w->feat.buf_ring || !(flags & IORING_CQE_F_MORE))
		c->recv_armed = false;
	if (res > 0) {
		const uint8_t *data = c->rbuf;
		unsigned bid = 0;
		if (flags & IORING_CQE_F_BUFFER) {
			bid = flags >> IORING_CQE_BUFFER_SHIFT;
			data = w->bufs + (size_t)bid * w->buf_size;
		}
		conn_stats(w, c)->bytes_received += (uint64_t)res;
		bool open = conn_consume(w, c, data, (size_t)res);
		if (flags & IORING_CQE_F_BUFFER)
			rl_worker_recycle_buf(w, bid);
		if (open) {
			if (!c->recv_armed)
				arm_recv(w, c);
			rl_conn_fill(w, c);
		}
		return;
	}
	if (flags & IORING_CQE_F_BUFFER)
		rl_worker_recycle_buf(w, flags >> IORING_CQE_BUFFER_SHIFT);
	if (res == -ENOBUFS) {
		/* the buffer ring ran dry; this turn's recycled buffers go back before the
		 * next submit, so re-arming now is safe */
		arm_recv(w, c);
		return;
	}
	if (res == 0) {
		conn_on_eof(w, c);
		return;
	}
	w->fail_detail = strerrordesc_np(-res);
	conn_fail(w, c, rl_err_from_io_errno(res));
}

void rl_conn_on_close(struct rl_worker *w, struct rl_conn *c)
{
	c->fd = -1;
	if (w->stopping || !w->quota || c->parked) {
		c->state = C_IDLE;
		return;
	}
	if (c->fails) {
		uint64_t delay = 1000000ULL << (c->fails < 8 ? c->fails - 1 : 7);
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
		if (w->stopping || !w->quota)
			c->state = C_IDLE;
		else
			rl_conn_connect(w, c);
	} else if (c->state == C_OPEN && c->inflight) {
		if (is_h2(w, c))
			rl_h2_on_timer(w, c); /* streams time out alone; the connection stays */
		else
			conn_fail(w, c, RL_ERR_TIMEOUT);
	}
}
