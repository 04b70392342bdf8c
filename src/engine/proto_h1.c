/* HTTP/1.1 on a connection: requests are written into the send buffer (pipelined up
 * to -p), responses are fed to the parser straight from the receive buffers and
 * complete in order. What a response's end means for the requests behind it:
 * - the server announced the close (Connection: close, or a body delimited by the
 *   close): the requests pipelined behind that response go back to the quota, since
 *   the server has said it will not process them;
 * - the connection failed, timed out or closed under a request handed to the kernel:
 *   it fails, and every request pipelined behind it with the same category;
 * - bytes that no request asked for: the framing can't be trusted, the connection
 *   closes (counted as unsolicited). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"

/* The i-th request from the ring's head (i <= the ring's size, head below it). */
static inline struct rl_req *req_at(struct rl_worker *w, struct rl_conn *c, uint32_t i)
{
	uint32_t k = c->head + i;
	return &c->reqs[k < w->pipeline ? k : k - w->pipeline];
}

/* The oldest request on the connection: the one the next response answers. */
static inline struct rl_req *head_req(struct rl_conn *c)
{
	return &c->reqs[c->head];
}

static inline uint32_t next_slot(const struct rl_worker *w, uint32_t k)
{
	return k + 1 < w->pipeline ? k + 1 : 0;
}

/* Drops the head request from the ring; the parser is ready for the next response. */
static void pop_head(struct rl_worker *w, struct rl_conn *c)
{
	c->head = next_slot(w, c->head);
	c->inflight--;
	rl_h1_parser_reset(&c->parser, rl_conn_target(w, c)->head);
}

static uint64_t head_deadline(const struct rl_worker *w, struct rl_conn *c)
{
	return head_req(c)->start_ns + rl_conn_target(w, c)->timeout_ns;
}

/* The oldest request's deadline. The timer moves only when it would fire late: one left
 * armed for an earlier request fires early, and h1_on_timer moves it on then, so a
 * keep-alive connection re-arms about once per timeout, not once per request. */
static void arm_request_timer(struct rl_worker *w, struct rl_conn *c)
{
	uint64_t deadline = head_deadline(w, c);
	if (!rl_timer_armed(&c->timer) || c->timer.expires_ns > deadline)
		rl_tw_arm(&w->tw, &c->timer, deadline);
}

/* Accounting touches neither the ring nor the parser: count first, then pop. */
static void complete_head(struct rl_worker *w, struct rl_conn *c, const struct rl_req *head)
{
	unsigned status = c->parser.status;
	rl_acct_response(w, c, head, status, -1, status < 400, c->parser.body_bytes);
	pop_head(w, c);
}

static void h1_drain(struct rl_worker *w, struct rl_conn *c, enum rl_err err, const char *detail)
{
	while (c->inflight) {
		rl_acct_drain(w, c, head_req(c), err, detail);
		pop_head(w, c);
	}
}

/* ---- the request side ---- */

static int h1_target_init(struct rl_target *t, const struct rl_request_spec *s, char *err, size_t errlen)
{
	/* --no-keepalive says so to the server too, unless a Connection header is given */
	struct rl_h1_header headers[RL_MAX_HEADERS + 1];
	size_t nheaders = s->nheaders;
	bool has_connection = false;
	memcpy(headers, s->headers, nheaders * sizeof(headers[0]));
	for (size_t i = 0; i < nheaders; i++)
		has_connection |= headers[i].name_len == 10 && !strncasecmp(headers[i].name, "connection", 10);
	if (s->no_keepalive && !has_connection)
		headers[nheaders++] = (struct rl_h1_header){ "Connection", 10, "close", 5 };
	struct rl_h1_request r = {
		.method = s->method, .authority = t->u.authority, .target = t->u.target,
		.headers = headers, .nheaders = nheaders,
		.body = s->body, .body_len = s->body_len, .has_body = s->has_body,
	};
	bool dynamic = rl_tpl_present(t->u.target, strlen(t->u.target)) ||
		       (s->body && rl_tpl_present(s->body, s->body_len));
	for (size_t i = 0; i < s->nheaders; i++)
		dynamic |= rl_tpl_present(s->headers[i].value, s->headers[i].value_len);
	r.open_head = dynamic;
	t->request_len = rl_h1_request_write(&r, NULL, 0);
	t->request = malloc(t->request_len);
	if (!t->request) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rl_h1_request_write(&r, t->request, t->request_len);
	t->request_max = t->request_len;
	if (dynamic) {
		char why[256];
		if (rl_tpl_compile(t->request, t->request_len, &t->tpl_head, why, sizeof(why)) ||
		    rl_tpl_compile(s->body ? s->body : "", s->body_len, &t->tpl_body, why, sizeof(why))) {
			snprintf(err, errlen, "%s: %s", t->url, why);
			return -1;
		}
		t->templated = true;
		/* head, "Content-Length: N\r\n\r\n", body */
		t->request_max = t->tpl_head.max_len + 40 + t->tpl_body.max_len;
	}
	return 0;
}

/* A templated request: its body first (its length is the Content-Length), then head,
 * length and body into out. */
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

/* --expect-body: the head request's payload goes through the search */
static void body_seen(void *ctx, const uint8_t *p, size_t n)
{
	struct rl_conn *c = ctx;
	struct rl_req *r = head_req(c);
	r->body_match = rl_expect_feed(&rl_conn_target(c->w, c)->expect, r->body_match, p, n);
}

static int h1_open(struct rl_worker *w, struct rl_conn *c)
{
	const struct rl_target *t = rl_conn_target(w, c);
	rl_h1_parser_init(&c->parser, t->head);
	c->parser.on_body = t->expect.body_len ? body_seen : NULL;
	c->parser.body_ctx = c;
	c->parser.memo = &w->h1_memo;
	c->out_base = 0;
	return 0;
}

static void h1_fill(struct rl_worker *w, struct rl_conn *c)
{
	if (c->state != C_OPEN || c->close_after)
		return;
	const struct rl_target *t = rl_conn_target(w, c);
	/* the target's own, at most the plan's (which sizes the ring); 0: the plan's */
	uint32_t pipeline = t->pipeline ? t->pipeline : w->pipeline;
	bool was_idle = !c->inflight;
	struct rl_take take;
	while (c->inflight < pipeline && rl_acct_take(w, c, &take)) {
		struct rl_req *r = req_at(w, c, c->inflight);
		r->start_ns = take.start_ns;
		r->retries = take.retries;
		r->sent_ns = 0;
		r->first_ns = r->first_kernel_ns = 0;
		r->body_match = 0;
		if (t->templated) {
			c->out_len += (uint32_t)render_request(w, t, c->out + c->out_len);
		} else {
			memcpy(c->out + c->out_len, t->request, t->request_len);
			c->out_len += (uint32_t)t->request_len;
		}
		r->out_end = c->out_base + c->out_len;
		c->inflight++;
		rl_conn_mark_dirty(w, c);
	}
	if (was_idle && c->inflight)
		arm_request_timer(w, c);
	if (c->inflight < pipeline)
		rl_conn_make_ready(w, c);
}

/* Every request now in the buffer leaves with this turn's send. */
static void h1_handed(struct rl_worker *w, struct rl_conn *c, uint64_t now_ns)
{
	for (uint32_t i = 0, k = c->head; i < c->inflight; i++) {
		struct rl_req *r = &c->reqs[k];
		if (!r->sent_ns)
			r->sent_ns = now_ns;
		if (i + 1 < c->inflight)
			k = next_slot(w, k);
	}
}

/* A short send leaves the rest of a request unsent: that request is not handed over
 * until its last byte is, so it loses its stamp. Positions count from the connect, so a
 * whole send (the usual) looks at no request. */
static void h1_sent(struct rl_worker *w, struct rl_conn *c, uint32_t sent)
{
	bool whole = sent == c->out_len;
	c->out_base += sent;
	if (whole)
		return;
	for (uint32_t i = 0, k = c->head; i < c->inflight; i++, k = next_slot(w, k)) {
		struct rl_req *r = &c->reqs[k];
		if ((int32_t)(r->out_end - c->out_base) > 0)
			r->sent_ns = 0;
	}
}

/* ---- the response side ---- */

/* Feeds received bytes to the parser, completing as many pipelined responses as they
 * hold. Returns false if the connection was closed. */
static bool h1_consume(struct rl_worker *w, struct rl_conn *c, const uint8_t *data, size_t len)
{
	while (len) {
		if (!c->inflight) {
			rl_conn_stats(w, c)->unsolicited++;
			rl_conn_close(w, c);
			return false;
		}
		struct rl_req *r = head_req(c);
		if (!r->first_ns) {
			rl_req_first_byte(w, r);
			if (!r->sent_ns) /* answered before its last byte left: no wait to measure */
				r->sent_ns = r->first_ns;
		}
		size_t used;
		int rc = rl_h1_parse(&c->parser, data, len, &used);
		data += used;
		len -= used;
		if (rc == RL_H1_DONE) {
			/* --no-keepalive: the client closes after each response, whatever the server said */
			bool keep_alive = c->parser.keep_alive && !rl_conn_target(w, c)->no_keepalive;
			complete_head(w, c, r);
			if (!keep_alive) {
				h1_drain(w, c, RL_ERR_COUNT, NULL);
				rl_conn_close(w, c);
				return false;
			}
		} else if (rc < 0) {
			rl_conn_fail(w, c, RL_ERR_PROTOCOL, rl_h1_strerror(rc));
			return false;
		}
	}
	return true;
}

static void h1_on_eof(struct rl_worker *w, struct rl_conn *c)
{
	if (c->inflight && rl_h1_parser_started(&c->parser)) {
		int rc = rl_h1_finish(&c->parser);
		if (rc == RL_H1_DONE) {
			complete_head(w, c, head_req(c)); /* a body delimited by the close */
			h1_drain(w, c, RL_ERR_COUNT, NULL);
		} else {
			h1_drain(w, c, RL_ERR_EOF, rl_h1_strerror(rc));
		}
	} else {
		h1_drain(w, c, RL_ERR_EOF, NULL);
	}
}

/* The oldest request's deadline passed: the connection can't be reused (the response
 * may still come), so everything on it fails as a timeout. */
static void h1_on_timer(struct rl_worker *w, struct rl_conn *c)
{
	uint64_t deadline = head_deadline(w, c);
	if (w->now_ns < deadline) { /* armed for an earlier request */
		rl_tw_arm(&w->tw, &c->timer, deadline);
		return;
	}
	rl_conn_fail(w, c, RL_ERR_TIMEOUT, NULL);
}

static void h1_free(struct rl_worker *w, struct rl_conn *c)
{
}

static uint32_t h1_slots(const struct rl_plan *plan)
{
	return plan->pipeline;
}

/* Up to `pipeline` requests sent but unanswered, plus as many newly issued. */
static size_t h1_send_room(const struct rl_plan *plan, const struct rl_target *t)
{
	return 2 * (size_t)plan->pipeline * t->request_max;
}

static size_t h1_slot_scratch(const struct rl_target *t)
{
	return 0; /* a templated request renders straight into the send buffer */
}

const struct rl_proto_ops rl_proto_h1 = {
	.name = "http/1.1",
	.target_init = h1_target_init,
	.open = h1_open,
	.fill = h1_fill,
	.consume = h1_consume,
	.handed = h1_handed,
	.sent = h1_sent,
	.on_eof = h1_on_eof,
	.on_timer = h1_on_timer,
	.drain = h1_drain,
	.free = h1_free,
	.slots = h1_slots,
	.send_room = h1_send_room,
	.slot_scratch = h1_slot_scratch,
};
