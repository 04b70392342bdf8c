/* h2c (prior knowledge) and unary gRPC for `ringload serve`: nghttp2's server session
 * is fed from the connection's receive buffer and drained into its send buffer; it
 * never touches the socket. Delays are io_uring timeouts per stream; a deferred data
 * provider holds the body back for body_delay. gRPC speaks api.performance.UserService
 * through protoc-c's generated code, with the 5-byte length-prefixed framing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/grpc.h"
#include "server.h"
#include "user_service.pb-c.h"

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN (sizeof(preface) - 1)
#define REQ_MAX     65536         /* request body bytes kept (gRPC messages) */
#define GRPC_MAX    (4u << 20)    /* response message size cap */
#define OUT_HIGH    (256 * 1024)  /* stop draining nghttp2 above this much unsent */
#define GETUSER     "/api.performance.UserService/GetUser"

enum stream_wait { W_NONE, W_TTFB, W_BODY };

struct srv_stream {
	struct srv_conn *c;          /* NULL once the connection is gone */
	struct srv_stream *next;
	int32_t id;
	bool grpc, head_only, timer_pending, dead, body_ready, counted;
	bool preflight;               /* x-ringload-preflight: answered, counted nowhere */
	uint8_t wait;
	char method[16], path[1024], x_status[32], knob_err[128];
	struct rl_serve_knobs knobs;  /* gRPC metadata */
	uint8_t *req;
	size_t req_len;
	struct rl_serve_plan plan;
	uint8_t *msg;                /* framed gRPC response message */
	uint64_t body_off, body_left;
	unsigned grpc_status;
	const char *grpc_message;
	uint64_t started_ns;
	struct __kernel_timespec ts;
};

bool srv_h2_preface(const uint8_t *in, size_t len, bool *need_more)
{
	size_t n = len < PREFACE_LEN ? len : PREFACE_LEN;
	*need_more = false;
	if (memcmp(in, preface, n))
		return false;
	if (len < PREFACE_LEN) {
		*need_more = true;
		return false;
	}
	return true;
}

static void stream_free(struct srv_stream *st)
{
	free(st->req);
	free(st->msg);
	free(st);
}

static void stream_timer(struct srv_stream *st, uint64_t ns, enum stream_wait wait)
{
	st->ts.tv_sec = (long long)(ns / 1000000000);
	st->ts.tv_nsec = (long long)(ns % 1000000000);
	struct io_uring_sqe *sqe = srv_sqe(st->c->t);
	io_uring_prep_timeout(sqe, &st->ts, 0, 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)st);
	st->timer_pending = true;
	st->wait = (uint8_t)wait;
}

static void count_end(struct srv_stream *st)
{
	if (st->counted || !st->c)
		return;
	st->counted = true;
	rl_serve_count_end(st->c->t->ctr, st->grpc ? RL_SERVE_GRPC : RL_SERVE_H2,
			   srv_now_ns() - st->started_ns);
}

static void h2_flush(struct srv_conn *c)
{
	if (!c->open || !c->session)
		return;
	while (c->out_len - c->out_sent < OUT_HIGH) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(c->session, &data);
		if (n < 0) {
			srv_close(c);
			return;
		}
		if (n == 0)
			break;
		if (srv_out_reserve(c, (size_t)n)) {
			if (c->send_busy)
				break; /* cannot grow under an in-flight send: after it completes */
			srv_close(c);
			return;
		}
		srv_out_put(c, data, (size_t)n);
	}
	srv_send(c);
	if (!c->send_busy && !nghttp2_session_want_read(c->session) &&
	    !nghttp2_session_want_write(c->session))
		srv_close(c);
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			 uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct srv_stream *st = src->ptr;
	if (st->plan.body_delay_ns && !st->body_ready) {
		if (!st->timer_pending)
			stream_timer(st, st->plan.body_delay_ns, W_BODY);
		return NGHTTP2_ERR_DEFERRED;
	}
	size_t n = len < st->body_left ? len : (size_t)st->body_left;
	if (st->msg)
		memcpy(buf, st->msg + st->body_off, n);
	else
		rl_serve_body_copy(&st->plan, st->body_off, buf, n);
	st->body_off += n;
	st->body_left -= n;
	if (!st->body_left) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (st->grpc) {
			static const nghttp2_nv ok[] = {
				{ (uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, NGHTTP2_NV_FLAG_NONE },
			};
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			nghttp2_submit_trailer(s, id, ok, 1);
		}
		count_end(st);
		if (st->plan.close)
			nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s),
					      NGHTTP2_NO_ERROR, NULL, 0);
	}
	return (ssize_t)n;
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }

static void submit_response(struct srv_stream *st)
{
	nghttp2_session *s = st->c->session;
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = read_body };
	char status[12], length[24], gstatus[12];
	if (st->grpc && st->grpc_status) {
		/* trailers-only: the status travels in the one HEADERS frame */
		snprintf(gstatus, sizeof(gstatus), "%u", st->grpc_status);
		nghttp2_nv nva[] = { NV(":status", "200"), NV("content-type", "application/grpc"),
				     NV("grpc-status", gstatus), NV("grpc-message", st->grpc_message) };
		nghttp2_submit_response(s, st->id, nva, 4, NULL);
		count_end(st);
		return;
	}
	if (st->grpc) {
		nghttp2_nv nva[] = { NV(":status", "200"), NV("content-type", "application/grpc") };
		nghttp2_submit_response(s, st->id, nva, 2, &prd);
		return;
	}
	unsigned code = st->plan.status;
	bool body = code >= 200 && code != 204 && code != 304 && !st->head_only;
	snprintf(status, sizeof(status), "%u", code);
	snprintf(length, sizeof(length), "%llu", (unsigned long long)st->plan.size);
	nghttp2_nv nva[] = { NV(":status", status), NV("server", "ringload"),
			     NV("content-type", st->plan.content_type ? st->plan.content_type : "text/plain"),
			     NV("content-length", length) };
	st->body_left = body ? st->plan.size : 0;
	nghttp2_submit_response(s, st->id, nva, code >= 200 && code != 204 && code != 304 ? 4 : 3,
				st->body_left ? &prd : NULL);
	if (!st->body_left)
		count_end(st);
}

static void grpc_fail(struct srv_stream *st, unsigned code, const char *msg)
{
	st->grpc_status = code;
	st->grpc_message = msg;
}

static void grpc_plan(struct srv_stream *st)
{
	memset(&st->plan, 0, offsetof(struct rl_serve_plan, small));
	st->plan.status = 200;
	st->plan.ttfb_ns = st->knobs.ttfb_ns;
	st->plan.body_delay_ns = st->knobs.body_delay_ns;
	st->plan.close = st->knobs.close;
	if (st->knob_err[0])
		return grpc_fail(st, 3, st->knob_err);
	if (strcmp(st->path, GETUSER))
		return grpc_fail(st, 12, "unknown method");
	if (st->req_len < 5 || st->req[0] != 0)
		return grpc_fail(st, 13, st->req_len < 5 ? "missing request message" : "compressed message without grpc-encoding");
	uint32_t len = (uint32_t)st->req[1] << 24 | (uint32_t)st->req[2] << 16 | (uint32_t)st->req[3] << 8 | st->req[4];
	if (len != st->req_len - 5)
		return grpc_fail(st, 13, "malformed request framing");
	Api__Performance__GetUserRequest *rq = api__performance__get_user_request__unpack(NULL, len, st->req + 5);
	if (!rq)
		return grpc_fail(st, 13, "cannot decode GetUserRequest");
	long id = (long)rq->user_id;
	api__performance__get_user_request__free_unpacked(rq, NULL);
	if (st->x_status[0]) {
		int code = rl_grpc_status_parse(st->x_status, strlen(st->x_status));
		if (code < 0)
			return grpc_fail(st, 3, "bad x-status");
		if (code)
			return grpc_fail(st, (unsigned)code, "status requested by x-status");
	}
	if (id < 1 || id > RL_SERVE_USERS)
		return grpc_fail(st, 5, "user not found");
	char name[32], email[48];
	int age;
	const char *created;
	rl_serve_user_fields(id, name, sizeof(name), email, sizeof(email), &age, &created);
	Api__Performance__User user = API__PERFORMANCE__USER__INIT;
	Api__Performance__GetUserResponse resp = API__PERFORMANCE__GET_USER_RESPONSE__INIT;
	char *padded = NULL;
	user.id = id;
	user.name = name;
	if (st->knobs.has_size) { /* x-size: the name carries the requested bulk */
		size_t n = st->knobs.size < GRPC_MAX ? (size_t)st->knobs.size : GRPC_MAX;
		padded = malloc(n + 1);
		if (!padded)
			return grpc_fail(st, 8, "out of memory");
		for (size_t i = 0; i < n;) {
			size_t k;
			const uint8_t *p = rl_serve_pattern(i, &k);
			if (k > n - i)
				k = n - i;
			memcpy(padded + i, p, k);
			i += k;
		}
		padded[n] = 0;
		user.name = padded;
	}
	user.email = email;
	user.age = age;
	user.created_at = (char *)created;
	resp.user = &user;
	size_t size = api__performance__get_user_response__get_packed_size(&resp);
	st->msg = malloc(size + 5);
	if (!st->msg) {
		free(padded);
		return grpc_fail(st, 8, "out of memory");
	}
	st->msg[0] = 0;
	st->msg[1] = (uint8_t)(size >> 24);
	st->msg[2] = (uint8_t)(size >> 16);
	st->msg[3] = (uint8_t)(size >> 8);
	st->msg[4] = (uint8_t)size;
	api__performance__get_user_response__pack(&resp, st->msg + 5);
	free(padded);
	st->body_left = size + 5;
}

static void request_done(struct srv_stream *st)
{
	struct srv_conn *c = st->c;
	st->started_ns = srv_now_ns();
	if (st->grpc) {
		grpc_plan(st);
	} else {
		rl_serve_route(st->method, strlen(st->method), st->path, strlen(st->path), st->preflight, c->t->ctr,
			       &st->plan);
		st->head_only = !strcmp(st->method, "HEAD");
	}
	/* counted from here (a /stats poll is not: it reads the counts, it is not in them) */
	if (!st->preflight && (st->grpc || !st->plan.uncounted))
		rl_serve_count_start(c->t->ctr, st->grpc ? RL_SERVE_GRPC : RL_SERVE_H2);
	else
		st->counted = true;
	if (c->t->opt->verbose)
		fprintf(stderr, "serve: h2 %s %s -> %u%s%s\n", st->method, st->path,
			st->grpc ? st->grpc_status : st->plan.status, st->grpc ? " grpc " : "",
			st->grpc ? rl_grpc_status_names[st->grpc_status] : "");
	if (st->plan.ttfb_ns)
		stream_timer(st, st->plan.ttfb_ns, W_TTFB);
	else
		submit_response(st);
}

void srv_h2_on_stream_timer(struct srv_stream *st)
{
	st->timer_pending = false;
	if (st->dead) {
		stream_free(st);
		return;
	}
	struct srv_conn *c = st->c;
	if (st->wait == W_TTFB) {
		submit_response(st);
	} else {
		st->body_ready = true;
		nghttp2_session_resume_data(c->session, st->id);
	}
	h2_flush(c);
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	struct srv_conn *c = user;
	if (!c || f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct srv_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	st->c = c;
	st->id = f->hd.stream_id;
	st->next = c->streams;
	c->streams = st;
	nghttp2_session_set_stream_user_data(s, st->id, st);
	return 0;
}

static void copy_value(char *dst, size_t cap, const uint8_t *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
	struct srv_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (!st || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (nlen == 7 && !memcmp(name, ":method", 7))
		copy_value(st->method, sizeof(st->method), value, vlen);
	else if (nlen == 5 && !memcmp(name, ":path", 5))
		copy_value(st->path, sizeof(st->path), value, vlen);
	else if (nlen == 12 && !memcmp(name, "content-type", 12))
		st->grpc = vlen >= 16 && !memcmp(value, "application/grpc", 16);
	else if (nlen == 20 && !memcmp(name, "x-ringload-preflight", 20))
		st->preflight = true;
	else if (nlen == 8 && !memcmp(name, "x-status", 8))
		copy_value(st->x_status, sizeof(st->x_status), value, vlen);
	else if (nlen > 2 && name[0] == 'x' && name[1] == '-' && !st->knob_err[0])
		rl_serve_knob(&st->knobs, (const char *)name, nlen, (const char *)value, vlen,
			      st->knob_err, sizeof(st->knob_err));
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *user)
{
	struct srv_stream *st = nghttp2_session_get_stream_user_data(s, id);
	if (!st)
		return 0;
	if (!st->req)
		st->req = malloc(REQ_MAX);
	size_t room = st->req ? REQ_MAX - st->req_len : 0;
	size_t n = len < room ? len : room;
	if (n)
		memcpy(st->req + st->req_len, data, n);
	st->req_len += n;
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
		struct srv_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
		if (st && !st->started_ns)
			request_done(st);
	}
	return 0;
}

static void stream_release(struct srv_stream *st)
{
	if (st->timer_pending) {
		/* the timeout still points at it: free it when its cancellation arrives */
		struct io_uring_sqe *sqe = srv_sqe(st->c->t);
		io_uring_prep_timeout_remove(sqe, (uint64_t)(uintptr_t)st, 0);
		io_uring_sqe_set_data64(sqe, RL_UD(S_CANCEL, 0, 0));
		st->dead = true;
		st->c = NULL;
	} else {
		stream_free(st);
	}
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t err, void *user)
{
	struct srv_conn *c = user;
	struct srv_stream *st = nghttp2_session_get_stream_user_data(s, id);
	if (!c || !st)
		return 0;
	for (struct srv_stream **pp = &c->streams; *pp; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	}
	if (st->started_ns)
		count_end(st);
	stream_release(st);
	return 0;
}

static nghttp2_session_callbacks *shared_callbacks;

static void callbacks_init(void)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_session_callbacks_new(&cbs);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	shared_callbacks = cbs;
}

/* One callbacks table for every session of every thread, made on first use. */
static nghttp2_session_callbacks *callbacks(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, callbacks_init);
	return shared_callbacks;
}

int srv_h2_start(struct srv_conn *c)
{
	if (nghttp2_session_server_new(&c->session, callbacks(), c))
		return -1;
	nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1024 } };
	nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 1);
	c->h2 = true;
	return 0;
}

void srv_h2_on_data(struct srv_conn *c)
{
	ssize_t n = nghttp2_session_mem_recv(c->session, c->in, c->in_len);
	c->in_len = 0;
	if (n < 0) {
		h2_flush(c); /* nghttp2 queued a GOAWAY for the peer's protocol error */
		srv_close(c);
		return;
	}
	h2_flush(c);
}

void srv_h2_on_sent(struct srv_conn *c)
{
	h2_flush(c);
}

void srv_h2_free(struct srv_conn *c)
{
	if (!c->session)
		return;
	/* nghttp2_session_del runs no callbacks; release the streams ourselves */
	nghttp2_session_set_user_data(c->session, NULL);
	while (c->streams) {
		struct srv_stream *st = c->streams;
		c->streams = st->next;
		if (st->started_ns && !st->counted)
			count_end(st);
		stream_release(st);
	}
	nghttp2_session_del(c->session);
	c->session = NULL;
}
