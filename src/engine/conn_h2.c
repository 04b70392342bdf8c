/* HTTP/2 (h2c, prior knowledge) and unary gRPC on a connection. nghttp2 does the
 * framing and never touches the socket: received bytes go in through
 * nghttp2_session_mem_recv, frames come out of nghttp2_session_mem_send into the
 * connection's send buffer, and everything queued in one loop turn leaves in one send.
 * A stream is a request slot; it completes at END_STREAM (ttfb at the response
 * HEADERS). gRPC adds our own message deframing and the status from the trailers.
 *
 * nghttp2 allocates per stream; its allocator here is a per-worker pool of size
 * classes, so once warm a request costs no malloc. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/pbjson.h"
#include "worker.h"

#define FRAME_ROOM (16384 + 9 + 256) /* the most one mem_send chunk holds (a DATA frame) */

/* ---- allocator: power-of-two size classes, free lists, never returned to libc ---- */

#define POOL_MIN_SHIFT 5  /* 32 bytes */
#define POOL_CLASSES   16 /* up to 1 MiB; larger blocks go straight to malloc */

struct pool_hdr {
	uint32_t cls;        /* size class, or POOL_CLASSES for a plain malloc */
	uint32_t pad;
	uint64_t size;
};

static unsigned size_class(size_t n)
{
	if (n <= (size_t)1 << POOL_MIN_SHIFT)
		return 0;
	/* the smallest cls with 1 << (cls + POOL_MIN_SHIFT) >= n */
	unsigned bits = 64 - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
	return bits - POOL_MIN_SHIFT < POOL_CLASSES ? bits - POOL_MIN_SHIFT : POOL_CLASSES;
}

static void *pool_malloc(size_t size, void *ud)
{
	struct rl_worker *w = ud;
	unsigned cls = size_class(size);
	struct pool_hdr *h;
	if (cls < POOL_CLASSES && w->h2_pool[cls]) {
		h = w->h2_pool[cls];
		w->h2_pool[cls] = *(void **)(h + 1);
	} else {
		size_t bytes = cls < POOL_CLASSES ? (size_t)1 << (cls + POOL_MIN_SHIFT) : size;
		h = malloc(sizeof(*h) + bytes);
		if (!h)
			return NULL;
	}
	h->cls = cls;
	h->size = size;
	return h + 1;
}

static void pool_free(void *p, void *ud)
{
	if (!p)
		return;
	struct rl_worker *w = ud;
	struct pool_hdr *h = (struct pool_hdr *)p - 1;
	if (h->cls >= POOL_CLASSES) {
		free(h);
		return;
	}
	*(void **)p = w->h2_pool[h->cls];
	w->h2_pool[h->cls] = h;
}

static void *pool_calloc(size_t n, size_t size, void *ud)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = pool_malloc(n * size, ud);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static void *pool_realloc(void *p, size_t size, void *ud)
{
	if (!p)
		return pool_malloc(size, ud);
	struct pool_hdr *h = (struct pool_hdr *)p - 1;
	void *q = pool_malloc(size, ud);
	if (!q)
		return NULL;
	memcpy(q, p, h->size < size ? h->size : size);
	pool_free(p, ud);
	return q;
}

void rl_h2_mem_init(struct rl_worker *w)
{
	w->h2_mem = (nghttp2_mem){ w, pool_malloc, pool_free, pool_calloc, pool_realloc };
}

void rl_h2_mem_free(struct rl_worker *w)
{
	for (unsigned i = 0; i < POOL_CLASSES; i++) {
		while (w->h2_pool[i]) {
			struct pool_hdr *h = w->h2_pool[i];
			w->h2_pool[i] = *(void **)(h + 1);
			free(h);
		}
	}
}

/* ---- streams ---- */

/* The request on stream id. The last request found is kept, since a response's HEADERS,
 * DATA and close callbacks all ask for the same stream; only requests are kept, never a
 * miss, so the one change to forget is the close that unhooks the request. */
static struct rl_req *stream_req(struct rl_conn *c, int32_t id)
{
	if (id <= 0)
		return NULL;
	if (id != c->h2_cached_id) {
		struct rl_req *r = nghttp2_session_get_stream_user_data(c->h2, id);
		if (!r)
			return NULL;
		c->h2_cached = r;
		c->h2_cached_id = id;
	}
	return c->h2_cached;
}

static void arm_timer(struct rl_worker *w, struct rl_conn *c)
{
	uint64_t oldest = UINT64_MAX;
	for (uint32_t i = 0; i < w->sh->opt->streams; i++)
		if (c->reqs[i].active && !c->reqs[i].done && c->reqs[i].start_ns < oldest)
			oldest = c->reqs[i].start_ns;
	if (oldest == UINT64_MAX)
		rl_tw_cancel(&w->tw, &c->timer);
	else
		rl_tw_arm(&w->tw, &c->timer, oldest + rl_conn_target(w, c)->timeout_ns);
}

/* The request is over (counted); its slot frees when nghttp2 closes the stream. */
static void finish(struct rl_worker *w, struct rl_conn *c, struct rl_req *r)
{
	struct rl_stats *st = rl_conn_stats(w, c);
	bool grpc = rl_conn_target(w, c)->proto == RL_PROTO_GRPC;
	r->done = true;
	if (!r->status || (grpc && r->status == 200 && (r->bad_frame || r->grpc_status < 0 ||
		!rl_grpc_deframer_idle(&r->deframer) || (r->grpc_status == 0 && r->deframer.messages != 1)))) {
		/* no :status, broken framing, no or bad grpc-status, a cut message, or an OK
		 * unary call without exactly one message */
		w->fail_detail = !r->status ? "response without :status"
				 : r->bad_frame ? rl_grpc_frame_strerror(r->bad_frame)
				 : r->grpc_status == -1 ? "gRPC response without grpc-status"
				 : r->grpc_status == -2 ? "grpc-status is not a status"
				 : !rl_grpc_deframer_idle(&r->deframer) ? "gRPC message cut short"
				 : "unary gRPC response without exactly one message";
		rl_conn_count_failure(w, st, RL_ERR_PROTOCOL);
		w->fail_detail = NULL;
		rl_conn_request_ended(w, c, false);
		return;
	}
	st->requests++;
	bool ok;
	if (grpc && r->status == 200) {
		st->grpc_status[r->grpc_status]++;
		ok = r->grpc_status == 0;
		r->payload = r->deframer.message_bytes;
	} else {
		st->status[r->status]++;
		ok = !grpc && r->status < 400;
	}
	if (ok) {
		st->successful++;
		st->payload_bytes += r->payload;
	} else {
		st->failed++;
		w->failed++;
	}
	rl_conn_record_times(w, st, r);
	rl_conn_request_ended(w, c, ok);
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			 uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct rl_conn *c = ud;
	struct rl_req *r = src->ptr;
	size_t n = r->body_len - r->body_off;
	if (n > len)
		n = len;
	memcpy(buf, r->body + r->body_off, n);
	r->body_off += n;
	if (r->body_off == r->body_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	(void)c;
	return (ssize_t)n;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct rl_conn *c = ud;
	struct rl_req *r = stream_req(c, f->hd.stream_id);
	/* the request's last frame is in this turn's send: handed over at its submit */
	if (r && (f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
	    (f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA))
		r->sent_ns = c->w->flush_ns;
	return 0;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct rl_conn *c = ud;
	struct rl_req *r = stream_req(c, f->hd.stream_id);
	if (r && !r->first_ns)
		r->first_ns = c->w->now_ns;
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct rl_conn *c = ud;
	struct rl_req *r = stream_req(c, f->hd.stream_id);
	if (!r || r->done)
		return 0;
	if (nlen == 7 && !memcmp(name, ":status", 7)) {
		unsigned code = 0;
		for (size_t i = 0; i < vlen && i < 3; i++)
			code = code * 10 + (unsigned)(value[i] - '0');
		r->status = vlen == 3 && code >= 100 && code < RL_STATUS_MAX ? (uint16_t)code : 0;
	} else if (nlen == 11 && !memcmp(name, "grpc-status", 11)) {
		int gs = rl_grpc_status_parse((const char *)value, vlen);
		r->grpc_status = (int8_t)(gs < 0 ? -2 : gs);
	} else if (nlen == 13 && !memcmp(name, "grpc-encoding", 13)) {
		r->deframer.compression_ok = !(vlen == 8 && !memcmp(value, "identity", 8));
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *ud)
{
	struct rl_conn *c = ud;
	struct rl_req *r = stream_req(c, id);
	if (!r || r->done)
		return 0;
	if (!r->first_ns)
		r->first_ns = c->w->now_ns;
	if (rl_conn_target(c->w, c)->proto == RL_PROTO_GRPC) {
		int err;
		if (!r->bad_frame && (err = rl_grpc_deframe(&r->deframer, data, len))) {
			/* counted here as the framing error it is; the reset that follows is ours */
			r->bad_frame = (int8_t)err;
			finish(c->w, c, r);
			nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_PROTOCOL_ERROR);
		}
	} else {
		r->payload += len;
	}
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct rl_conn *c = ud;
	struct rl_worker *w = c->w;
	if (f->hd.type == NGHTTP2_GOAWAY) {
		/* streams above last_stream_id come back to on_stream_close as refused */
		rl_conn_stats(w, c)->goaways++;
		c->goaway = true;
		return 0;
	}
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
		struct rl_req *r = stream_req(c, f->hd.stream_id);
		if (r && !r->done)
			finish(w, c, r);
	}
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct rl_conn *c = ud;
	struct rl_worker *w = c->w;
	struct rl_req *r = stream_req(c, id);
	if (!r)
		return 0;
	if (!r->done) {
		r->done = true;
		if (code == NGHTTP2_REFUSED_STREAM) {
			/* refused or beyond a GOAWAY's last stream: the server never saw it */
			rl_conn_give_back(w, c);
		} else {
			struct rl_stats *st = rl_conn_stats(w, c);
			rl_conn_count_failed(w, st);
			st->stream_reset[code < RL_H2_ERROR_CODES ? code : RL_H2_ERROR_CODES - 1]++;
			rl_conn_request_ended(w, c, false);
		}
	}
	r->active = false;
	nghttp2_session_set_stream_user_data(s, id, NULL);
	c->h2_cached_id = 0;
	c->inflight--;
	c->refill = true;
	if (!c->goaway)
		rl_conn_make_ready(w, c);
	return 0;
}

static nghttp2_session_callbacks *shared_callbacks;

static void callbacks_init(void)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_session_callbacks_new(&cbs);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	shared_callbacks = cbs;
}

int rl_h2_open(struct rl_worker *w, struct rl_conn *c)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, callbacks_init);
	c->goaway = false;
	c->h2_cached_id = 0;
	if (nghttp2_session_client_new3(&c->h2, shared_callbacks, c, NULL, &w->h2_mem))
		return -1;
	uint32_t window = w->sh->opt->h2_window;
	/* RFC 9113 deprecates RFC 7540's priority tree (5.3.2); announcing that we do not
	 * use it (RFC 9218 section 2.1) also spares nghttp2 keeping the tree, and closed
	 * streams for it, on every frame sent */
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window },
		{ NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1 },
	};
	nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
	nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0,
					      (int32_t)w->sh->opt->h2_conn_window);
	rl_conn_mark_dirty(w, c); /* the preface and SETTINGS go out at once */
	return 0;
}

/* With templates, a stream's header list and body render into its slot, where they
 * stay until nghttp2 has framed them (the list is handed over without copies). */
static const nghttp2_nv *render_stream(struct rl_worker *w, struct rl_conn *c,
				       const struct rl_target *t, uint32_t slot, struct rl_req *r)
{
	nghttp2_nv *nva = &c->slot_nva[(size_t)slot * w->slot_nvlen];
	char *out = &c->slot_render[(size_t)slot * (w->slot_render + 1)];
	memcpy(nva, t->h2_nva, t->h2_nvlen * sizeof(*nva));
	for (size_t k = 0; k < t->h2_nvlen; k++) {
		if (!t->h2_value_tpl[k].dynamic)
			continue;
		size_t n = rl_tpl_render(&t->h2_value_tpl[k], &w->tpl, out);
		nva[k].value = (uint8_t *)out;
		nva[k].valuelen = n;
		out += n;
	}
	if (t->h2_body_tpl.n) {
		r->body_len = rl_tpl_render(&t->h2_body_tpl, &w->tpl, out);
		r->body = (const uint8_t *)out;
	} else if (t->grpc_dyn) {
		/* [prefix][message] then the templates' scratch */
		size_t bound = rl_pb_request_bound(t->grpc_dyn);
		uint8_t *msg = (uint8_t *)out;
		long n = rl_pb_request_encode(t->grpc_dyn, &w->tpl, out + RL_GRPC_PREFIX + bound,
					      msg + RL_GRPC_PREFIX, bound);
		if (n < 0)
			n = 0; /* a rendering that fits no field (e.g. a negative uint): empty message */
		rl_grpc_frame_prefix(msg, (uint32_t)n);
		r->body = msg;
		r->body_len = RL_GRPC_PREFIX + (size_t)n;
	}
	return nva;
}

void rl_h2_fill(struct rl_worker *w, struct rl_conn *c)
{
	c->refill = false; /* whatever slots closed before now are looked at here */
	if (c->state != C_OPEN || c->goaway || !c->h2)
		return;
	const struct rl_target *t = rl_conn_target(w, c);
	uint32_t streams = w->sh->opt->streams;
	nghttp2_data_provider prd = { .read_callback = read_body };
	bool added = false;
	for (uint32_t i = 0; i < streams && c->inflight < streams; i++) {
		struct rl_req *r = &c->reqs[i];
		if (r->active)
			continue;
		if ((c->vu && !(c->vu->pending >> c->member & 1)) || !rl_conn_take_request(w))
			break;
		memset(r, 0, sizeof(*r));
		r->start_ns = w->take_start_ns;
		if (c->vu) {
			r->start_ns = c->vu->start_ns; /* every member starts with the round */
			c->vu->pending &= ~(1ULL << c->member);
		}
		r->grpc_status = -1;
		rl_grpc_deframer_init(&r->deframer, w->sh->opt->max_msg);
		prd.source.ptr = r;
		const nghttp2_nv *nva = t->h2_nva;
		r->body = t->h2_body;
		r->body_len = t->h2_body_len;
		if (t->h2_templated)
			nva = render_stream(w, c, t, i, r);
		int32_t id = nghttp2_submit_request(c->h2, NULL, nva, t->h2_nvlen,
						    r->body_len ? &prd : NULL, r);
		if (id < 0) {
			/* stream ids used up (2^31 on one connection): finish, then reconnect */
			rl_conn_give_back(w, c);
			c->goaway = true;
			break;
		}
		r->stream_id = id;
		r->active = true;
		c->inflight++;
		added = true;
	}
	if (added) {
		rl_conn_mark_dirty(w, c);
		if (!rl_timer_armed(&c->timer))
			arm_timer(w, c);
	}
	if (c->inflight < streams && !c->goaway)
		rl_conn_make_ready(w, c);
}

void rl_h2_flush(struct rl_worker *w, struct rl_conn *c)
{
	if (c->state != C_OPEN || !c->h2)
		return;
	while (w->out_cap - c->out_len >= FRAME_ROOM) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(c->h2, &data);
		if (n < 0) {
			rl_conn_fail(w, c, RL_ERR_PROTOCOL);
			return;
		}
		if (n == 0)
			break;
		memcpy(c->out + c->out_len, data, (size_t)n);
		c->out_len += (uint32_t)n;
	}
	if (!c->goaway && !nghttp2_session_want_read(c->h2)) {
		/* nghttp2 sent the GOAWAY that ends a session over the server's connection
		 * error (a first frame that is not SETTINGS, a frame too large): nothing
		 * more will be read */
		w->fail_detail = "HTTP/2 connection error by the server (bad preface or frame)";
		rl_conn_fail(w, c, RL_ERR_PROTOCOL);
		return;
	}
	if (c->refill && !c->goaway) {
		/* streams closed since the last fill, while we sent (our RST_STREAM after a
		 * timeout): with no reply to come, nothing else would hand their slots the
		 * next requests */
		rl_conn_fill(w, c);
	}
	if (c->goaway && !c->inflight && c->out_sent == c->out_len && !c->send_busy)
		rl_conn_close(w, c); /* everything the server accepted is done: reconnect */
}

bool rl_h2_consume(struct rl_worker *w, struct rl_conn *c, const uint8_t *data, size_t len)
{
	ssize_t n = nghttp2_session_mem_recv(c->h2, data, len);
	if (n < 0) {
		/* a bad server preface, a broken frame, a flood nghttp2 refuses */
		w->fail_detail = nghttp2_strerror((int)n);
		rl_conn_fail(w, c, RL_ERR_PROTOCOL);
		return false;
	}
	arm_timer(w, c);
	rl_conn_mark_dirty(w, c); /* SETTINGS ACKs, WINDOW_UPDATEs, PINGs to answer */
	return true;
}

void rl_h2_drain(struct rl_worker *w, struct rl_conn *c, enum rl_err err)
{
	for (uint32_t i = 0; i < w->sh->opt->streams; i++) {
		struct rl_req *r = &c->reqs[i];
		if (!r->active)
			continue;
		if (!r->done) {
			if (r->sent_ns) {
				rl_conn_count_failure(w, rl_conn_stats(w, c), err);
				rl_conn_request_ended(w, c, false);
			} else {
				rl_conn_give_back(w, c);
			}
		}
		r->active = false;
	}
	c->inflight = 0;
}

void rl_h2_on_timer(struct rl_worker *w, struct rl_conn *c)
{
	struct rl_stats *st = rl_conn_stats(w, c);
	bool grpc = rl_conn_target(w, c)->proto == RL_PROTO_GRPC;
	uint64_t timeout = rl_conn_target(w, c)->timeout_ns;
	for (uint32_t i = 0; i < w->sh->opt->streams; i++) {
		struct rl_req *r = &c->reqs[i];
		if (!r->active || r->done || r->start_ns + timeout > w->now_ns)
			continue;
		/* the deadline passed: gRPC calls it DEADLINE_EXCEEDED; cancel the stream
		 * and keep the connection */
		r->done = true;
		if (grpc) {
			rl_conn_count_failed(w, st);
			st->grpc_status[4]++;
		} else {
			rl_conn_count_failure(w, st, RL_ERR_TIMEOUT);
		}
		nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_CANCEL);
		rl_conn_request_ended(w, c, false);
	}
	arm_timer(w, c);
	rl_conn_mark_dirty(w, c);
}

void rl_h2_free(struct rl_worker *w, struct rl_conn *c)
{
	if (!c->h2)
		return;
	nghttp2_session_del(c->h2); /* runs no callbacks: slots were drained before */
	c->h2 = NULL;
}
