/* HTTP/2 (h2c with prior knowledge) on a connection. nghttp2 does the framing and
 * never touches the socket: plaintext goes in through nghttp2_session_mem_recv, frames
 * come out of nghttp2_session_mem_send into the connection's send buffer, and all that
 * one loop turn queues leaves in one send. A stream is a request slot; it completes at
 * END_STREAM (ttfb at the response HEADERS). A message layer (gRPC's, proto_grpc.c)
 * may add its own framing and verdict to the streams. */
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"
#include "ringload/pbjson.h"

#define FRAME_ROOM  (16384 + 9 + 256) /* the most one mem_send chunk holds (a DATA frame) */
#define H2_OUT_BASE 65536              /* a full DATA frame beside a turn's HEADERS frames */

/* ---- the request, built once per target ---- */

static bool h2_skip_header(const struct rl_h1_header *h)
{
	/* connection-specific fields are malformed in HTTP/2 (RFC 9113 8.2.2); Host
	 * becomes :authority */
	static const char *const skip[] = { "host", "connection", "keep-alive", "proxy-connection",
					    "transfer-encoding", "upgrade", "te" };
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (h->name_len == strlen(skip[i]) && !strncasecmp(h->name, skip[i], h->name_len))
			return true;
	return false;
}

void rl_h2_nv_add(struct rl_h2_nvbuf *b, const char *name, const char *value, size_t vlen)
{
	b->nv[b->n++] = (nghttp2_nv){ (uint8_t *)name, (uint8_t *)value, strlen(name), vlen,
				      NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE };
}

const char *rl_h2_nv_string(struct rl_h2_nvbuf *b, const char *s)
{
	char *at = b->p;
	size_t n = strlen(s) + 1;
	memcpy(b->p, s, n);
	b->p += n;
	return at;
}

/* Header values and the body that hold templates compile once; a body rendered per
 * stream drops content-length (END_STREAM delimits it in HTTP/2). */
static int h2_templates_init(struct rl_target *t, bool plain_body, char *err, size_t errlen)
{
	nghttp2_nv *nv = t->h2_nva;
	bool body_dynamic = plain_body && rl_tpl_present((const char *)t->h2_body, t->h2_body_len);
	bool dynamic = body_dynamic || t->grpc_dyn;
	for (size_t i = 0; i < t->h2_nvlen; i++)
		dynamic |= rl_tpl_present((const char *)nv[i].value, nv[i].valuelen);
	if (!dynamic)
		return 0;
	t->h2_value_tpl = calloc(t->h2_nvlen, sizeof(*t->h2_value_tpl));
	if (!t->h2_value_tpl) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char why[256];
	for (size_t i = 0; i < t->h2_nvlen; i++) {
		if (!rl_tpl_present((const char *)nv[i].value, nv[i].valuelen))
			continue;
		if (rl_tpl_compile((const char *)nv[i].value, nv[i].valuelen, &t->h2_value_tpl[i], why, sizeof(why))) {
			snprintf(err, errlen, "%s: %.*s: %s", t->url, (int)nv[i].namelen, nv[i].name, why);
			return -1;
		}
		t->h2_render_max += t->h2_value_tpl[i].max_len;
	}
	if (body_dynamic) {
		if (rl_tpl_compile((const char *)t->h2_body, t->h2_body_len, &t->h2_body_tpl, why, sizeof(why))) {
			snprintf(err, errlen, "%s: body: %s", t->url, why);
			return -1;
		}
		t->h2_render_max += t->h2_body_tpl.max_len;
		for (size_t i = 0; i < t->h2_nvlen; i++) {
			if (nv[i].namelen == 14 && !memcmp(nv[i].name, "content-length", 14)) {
				memmove(&nv[i], &nv[i + 1], (t->h2_nvlen - i - 1) * sizeof(*nv));
				t->h2_nvlen--;
				break;
			}
		}
	}
	if (t->grpc_dyn) /* prefix, message, and the templates' renderings */
		t->h2_render_max += RL_GRPC_PREFIX + rl_pb_request_bound(t->grpc_dyn) +
				    rl_pb_request_scratch(t->grpc_dyn);
	t->h2_templated = true;
	return 0;
}

/* The header list, built once and handed to nghttp2 without copies; the body, or the
 * message layer's framed message. */
static int h2_request_init(struct rl_target *t, const struct rl_request_spec *s,
			   const struct rl_h2_messages *msgs, char *err, size_t errlen)
{
	const char *authority = t->u.authority;
	size_t authority_len = strlen(authority);
	bool has_agent = false;
	for (size_t i = 0; i < s->nheaders; i++) {
		const struct rl_h1_header *h = &s->headers[i];
		if (h->name_len == 4 && !strncasecmp(h->name, "host", 4)) {
			authority = h->value;
			authority_len = h->value_len;
		}
		has_agent |= h->name_len == 10 && !strncasecmp(h->name, "user-agent", 10);
	}
	if (msgs) {
		if (msgs->target_init(t, s, err, errlen))
			return -1;
	} else if (s->body_len) {
		t->h2_body = malloc(s->body_len);
		if (!t->h2_body) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(t->h2_body, s->body, s->body_len);
		t->h2_body_len = s->body_len;
	}
	/* one buffer for every string the list points at: lowercased names, :path, numbers */
	size_t cap = 256 + strlen(t->u.target) + (s->grpc_method ? strlen(s->grpc_method) : 0);
	for (size_t i = 0; i < s->nheaders; i++)
		cap += s->headers[i].name_len + 1;
	struct rl_h2_nvbuf b = { calloc(s->nheaders + 10, sizeof(nghttp2_nv)), 0, malloc(cap) };
	t->h2_nva = b.nv;
	t->h2_strings = b.p;
	if (!b.nv || !b.p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rl_h2_nv_add(&b, ":method", s->method, strlen(s->method));
	rl_h2_nv_add(&b, ":scheme", t->u.tls ? "https" : "http", t->u.tls ? 5 : 4);
	rl_h2_nv_add(&b, ":authority", authority, authority_len);
	const char *path = msgs ? msgs->path(s, &b) : rl_h2_nv_string(&b, t->u.target);
	rl_h2_nv_add(&b, ":path", path, strlen(path));
	if (!has_agent)
		rl_h2_nv_add(&b, "user-agent", "ringload", 8);
	if (msgs) {
		msgs->add_headers(s, &b);
	} else if (t->h2_body_len || s->has_body) {
		char cl[24];
		snprintf(cl, sizeof(cl), "%zu", t->h2_body_len);
		const char *v = rl_h2_nv_string(&b, cl);
		rl_h2_nv_add(&b, "content-length", v, strlen(v));
	}
	for (size_t i = 0; i < s->nheaders; i++) {
		const struct rl_h1_header *h = &s->headers[i];
		if (h2_skip_header(h))
			continue;
		char *name = b.p;
		for (size_t k = 0; k < h->name_len; k++)
			*b.p++ = (char)(h->name[k] >= 'A' && h->name[k] <= 'Z' ? h->name[k] | 0x20 : h->name[k]);
		*b.p++ = 0;
		b.nv[b.n++] = (nghttp2_nv){ (uint8_t *)name, (uint8_t *)h->value, h->name_len, h->value_len,
					    NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE };
	}
	t->h2_nvlen = b.n;
	return h2_templates_init(t, !msgs, err, errlen);
}

static int h2_target_init(struct rl_target *t, const struct rl_request_spec *s, char *err, size_t errlen)
{
	return h2_request_init(t, s, NULL, err, errlen);
}

static int grpc_target_init(struct rl_target *t, const struct rl_request_spec *s, char *err, size_t errlen)
{
	return h2_request_init(t, s, &rl_grpc_messages, err, errlen);
}

/* ---- streams ---- */

static void release_slot(struct rl_worker *w, struct rl_conn *c, struct rl_req *r);

static const struct rl_h2_messages *messages_of(const struct rl_conn *c)
{
	return c->proto->messages;
}

/* The request on stream id. Requests are found through a small table by stream id (the
 * streams open at once have neighbouring ids), else through nghttp2's stream map; a
 * request counts only while its slot still holds that stream, so a stale entry in either
 * finds nothing. The last one found is tried first: a response's callbacks ask for it
 * again and again. */
static inline bool holds_stream(const struct rl_req *r, int32_t id)
{
	return r && r->active && r->stream_id == id;
}

static struct rl_req *stream_req_in_map(struct rl_conn *c, int32_t id)
{
	struct rl_req *r = id > 0 ? nghttp2_session_get_stream_user_data(c->h2, id) : NULL;
	if (!holds_stream(r, id))
		return NULL;
	c->h2_cached = r;
	return r;
}

static inline struct rl_req *stream_req(struct rl_conn *c, int32_t id)
{
	struct rl_req *r = c->h2_cached;
	if (holds_stream(r, id))
		return r;
	uint8_t slot = c->h2_slot_of[(id >> 1) & 15];
	r = slot && id > 0 ? &c->reqs[slot - 1] : NULL;
	if (!holds_stream(r, id))
		return stream_req_in_map(c, id);
	c->h2_cached = r;
	return r;
}

/* The oldest request's deadline, or none. Reads do not move the timer: one armed for a
 * request that has ended fires early and h2_on_timer moves it on, so a connection
 * re-arms about once per timeout, not once per response (as HTTP/1.1's). */
static void arm_timer(struct rl_worker *w, struct rl_conn *c)
{
	uint64_t oldest = UINT64_MAX;
	for (uint32_t i = 0; i < w->sh->plan->streams; i++)
		if (c->reqs[i].active && !c->reqs[i].done && c->reqs[i].start_ns < oldest)
			oldest = c->reqs[i].start_ns;
	if (oldest == UINT64_MAX)
		rl_tw_cancel(&w->tw, &c->timer);
	else
		rl_tw_arm(&w->tw, &c->timer, oldest + rl_conn_target(w, c)->timeout_ns);
}

/* The response ended (END_STREAM): count it. Its slot frees when nghttp2 closes the
 * stream. */
static void finish(struct rl_worker *w, struct rl_conn *c, struct rl_req *r)
{
	const struct rl_h2_messages *msgs = messages_of(c);
	uint16_t code = r->resp.status; /* the final head's: the response rules saw to it */
	r->done = true;
	if (msgs && code == 200) {
		int status;
		const char *bad = msgs->verdict(r, &status);
		if (bad)
			rl_acct_fail(w, c, r, RL_ERR_PROTOCOL, bad);
		else
			rl_acct_response(w, c, r, code, status, status == RL_GRPC_OK, r->payload);
		return;
	}
	/* a message layer's call answered with another status fails under that status */
	rl_acct_response(w, c, r, code, -1, !msgs && code < 400, r->payload);
}

/* The response broke a rule of RFC 9113 that h2_response.c checks: it fails as
 * malformed, and the stream is reset with PROTOCOL_ERROR (8.1.1). Later callbacks on the
 * stream see it done. */
static void malformed(struct rl_worker *w, struct rl_conn *c, struct rl_req *r, const char *rule)
{
	r->done = true;
	rl_acct_fail(w, c, r, RL_ERR_H2_MALFORMED, rule);
	nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_PROTOCOL_ERROR);
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			 uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct rl_req *r = src->ptr;
	size_t n = r->body_len - r->body_off;
	if (n > len)
		n = len;
	memcpy(buf, r->body + r->body_off, n);
	r->body_off += n;
	if (r->body_off == r->body_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* What an HTTP/2 error code means (RFC 9113 7), for a GOAWAY that gives no reason. */
static const char *error_meaning(uint32_t code)
{
	switch (code) {
	case NGHTTP2_PROTOCOL_ERROR: return "the server broke a protocol rule";
	case NGHTTP2_FLOW_CONTROL_ERROR: return "the server overran a flow-control window";
	case NGHTTP2_FRAME_SIZE_ERROR: return "a frame of the wrong size";
	case NGHTTP2_COMPRESSION_ERROR: return "the server's header block failed HPACK decoding";
	default: return "no reason given";
	}
}

/* nghttp2 ends the session over the server's connection error: the GOAWAY says which
 * error, and its debug data usually why. */
__attribute__((cold, noinline)) static void goaway_sent(struct rl_worker *w, const nghttp2_goaway *g)
{
	int n = snprintf(w->h2_error, sizeof(w->h2_error), "HTTP/2 connection error %s: ",
			 nghttp2_http2_strerror(g->error_code));
	if (g->opaque_data_len)
		snprintf(w->h2_error + n, sizeof(w->h2_error) - (size_t)n, "%.*s", (int)g->opaque_data_len,
			 (const char *)g->opaque_data);
	else
		snprintf(w->h2_error + n, sizeof(w->h2_error) - (size_t)n, "%s",
			 w->h2_lib_error ? nghttp2_strerror(w->h2_lib_error) : error_meaning(g->error_code));
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct rl_conn *c = ud;
	bool last = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
		    (f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA);
	if (last) {
		/* the request's last frame is in this turn's send: handed over at its submit */
		struct rl_req *r = stream_req(c, f->hd.stream_id);
		if (r)
			r->sent_ns = c->w->flush_ns;
	} else if (f->hd.type == NGHTTP2_RST_STREAM) {
		/* our own resets (a timeout, broken gRPC framing) end the request first; one on
		 * a request still open is nghttp2's, over a response that broke a rule */
		struct rl_req *r = stream_req(c, f->hd.stream_id);
		if (r && !r->done) {
			r->local_reset = true;
			r->reset_code = (uint8_t)(f->rst_stream.error_code < 256 ? f->rst_stream.error_code : 255);
		}
	} else if (f->hd.type == NGHTTP2_GOAWAY) {
		goaway_sent(c->w, &f->goaway);
	}
	return 0;
}

/* A frame nghttp2 refused: on a stream, the reason its reset will carry; otherwise the
 * connection error its GOAWAY will name. */
static int on_invalid_frame_recv(nghttp2_session *s, const nghttp2_frame *f, int lib_error, void *ud)
{
	struct rl_conn *c = ud;
	struct rl_req *r = stream_req(c, f->hd.stream_id);
	if (r)
		r->lib_error = (int16_t)lib_error;
	else
		c->w->h2_lib_error = lib_error;
	return 0;
}

/* A request that never left: nghttp2 would not open its stream after a GOAWAY. */
static int on_frame_not_send(nghttp2_session *s, const nghttp2_frame *f, int lib_error, void *ud)
{
	struct rl_conn *c = ud;
	struct rl_worker *w = c->w;
	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	for (uint32_t i = 0; i < w->sh->plan->streams; i++) {
		struct rl_req *r = &c->reqs[i];
		if (!r->active || r->stream_id != f->hd.stream_id)
			continue;
		if (!r->done) {
			r->done = true;
			if (c->goaway)
				rl_acct_refused(w, c, r, true, c->goaway_code);
			else
				rl_acct_give_back(w, c);
		}
		release_slot(w, c, r);
		break;
	}
	return 0;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct rl_conn *c = ud;
	struct rl_req *r = stream_req(c, f->hd.stream_id);
	if (!r || r->done)
		return 0;
	rl_req_first_byte(c->w, r);
	const char *broken = rl_h2_response_begin_block(&r->resp);
	if (broken)
		malformed(c->w, c, r, broken);
	return 0;
}

/* Where libnghttp2 is loaded. A field name that points in there is one of HPACK's static
 * table (RFC 7541 Appendix A): nghttp2 decodes every other name into memory it
 * allocates. Those names are valid as they stand, so their check is skipped. */
static uintptr_t nghttp2_image_lo = UINTPTR_MAX, nghttp2_image_hi;

static int find_nghttp2_image(struct dl_phdr_info *info, size_t size, void *arg)
{
	if (!info->dlpi_name || !strstr(info->dlpi_name, "libnghttp2"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (lo < nghttp2_image_lo)
			nghttp2_image_lo = lo;
		if (hi > nghttp2_image_hi)
			nghttp2_image_hi = hi;
	}
	return 1;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct rl_conn *c = ud;
	struct rl_req *r = stream_req(c, f->hd.stream_id);
	if (!r || r->done)
		return 0;
	bool name_static = (uintptr_t)name >= nghttp2_image_lo && (uintptr_t)name < nghttp2_image_hi;
	const char *broken = rl_h2_response_field(&r->resp, name, nlen, value, vlen, name_static);
	if (broken)
		malformed(c->w, c, r, broken);
	else if (r->resp.kind == RL_H2F_OTHER && messages_of(c))
		messages_of(c)->on_header(r, name, nlen, value, vlen);
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *ud)
{
	struct rl_conn *c = ud;
	struct rl_req *r = stream_req(c, id);
	if (!r || r->done)
		return 0;
	rl_req_first_byte(c->w, r);
	const char *broken = rl_h2_response_data(&r->resp, len, false);
	if (broken) {
		malformed(c->w, c, r, broken);
		return 0;
	}
	const struct rl_h2_messages *msgs = messages_of(c);
	if (!msgs) {
		r->payload += len;
		const struct rl_expect *e = &rl_conn_target(c->w, c)->expect;
		if (e->body_len)
			r->body_match = rl_expect_feed(e, r->body_match, data, len);
		return 0;
	}
	int err;
	if (!r->bad_frame && (err = msgs->on_data(r, data, len))) {
		/* counted here as the framing error it is; the reset that follows is ours */
		r->bad_frame = (int8_t)err;
		finish(c->w, c, r);
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_PROTOCOL_ERROR);
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
		c->goaway_code = f->goaway.error_code;
		c->goaway_last = f->goaway.last_stream_id;
		if (!c->responses) {
			/* a connection that ends before any response backs off like a refused
			 * connect, longer each time in a row */
			c->goaway_strikes++;
			c->fails = c->goaway_strikes;
		}
		return 0;
	}
	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	bool end_stream = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
	if (f->hd.type == NGHTTP2_DATA && !end_stream)
		return 0;
	struct rl_req *r = stream_req(c, f->hd.stream_id);
	if (!r || r->done)
		return 0;
	const char *broken = f->hd.type == NGHTTP2_HEADERS ? rl_h2_response_end_block(&r->resp, end_stream)
							   : rl_h2_response_data(&r->resp, 0, true);
	if (broken)
		malformed(w, c, r, broken);
	else if (end_stream)
		finish(w, c, r);
	return 0;
}

/* Why nghttp2 reset a stream itself (its HTTP messaging checks are off: ours are in
 * h2_response.c): a frame that broke a stream rule, such as its flow-control window. */
static const char *malformed_reason(const struct rl_req *r, char *buf, size_t len)
{
	if (r->reset_code == NGHTTP2_FLOW_CONTROL_ERROR)
		snprintf(buf, len, "DATA beyond the stream's flow-control window (FLOW_CONTROL_ERROR)");
	else
		snprintf(buf, len, "%s", nghttp2_strerror(r->lib_error ? r->lib_error : NGHTTP2_ERR_PROTO));
	return buf;
}

/* The slot can take the next request. Once per stream: nghttp2 may report a request it
 * would not send and then close its stream too. */
static void release_slot(struct rl_worker *w, struct rl_conn *c, struct rl_req *r)
{
	if (!r->active)
		return;
	r->active = false;
	c->inflight--;
	c->refill = true;
	if (!c->goaway)
		rl_conn_make_ready(w, c);
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
			/* not processed (RFC 9113 8.7): above a GOAWAY's last stream, or refused */
			rl_acct_refused(w, c, r, c->goaway && id > c->goaway_last, c->goaway_code);
		} else if (r->local_reset) {
			char why[96];
			rl_acct_fail(w, c, r, RL_ERR_H2_MALFORMED, malformed_reason(r, why, sizeof(why)));
		} else {
			rl_acct_reset(w, c, r, code);
		}
	}
	release_slot(w, c, r);
	return 0;
}

static nghttp2_session_callbacks *shared_callbacks;
static nghttp2_option *shared_options;

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
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, on_invalid_frame_recv);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, on_frame_not_send);
	shared_callbacks = cbs;
	dl_iterate_phdr(find_nghttp2_image, NULL); /* where static-table names live */
	/* nghttp2's HTTP messaging checks cost more per request than all of ringload's own
	 * code, and they ignore most invalid fields; h2_response.c checks the same rules (and
	 * those fields) as each response is read */
	nghttp2_option_new(&shared_options);
	nghttp2_option_set_no_http_messaging(shared_options, 1);
}

static int h2_open(struct rl_worker *w, struct rl_conn *c)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, callbacks_init);
	c->goaway = false;
	c->h2_last = false;
	memset(c->h2_slot_of, 0, sizeof(c->h2_slot_of));
	if (nghttp2_session_client_new3(&c->h2, shared_callbacks, c, shared_options, &w->h2_pool.mem))
		return -1;
	const struct rl_plan *plan = w->sh->plan;
	/* RFC 9113 deprecates RFC 7540's priority tree (5.3.2); announcing that we do not
	 * use it (RFC 9218 section 2.1) also spares nghttp2 keeping the tree, and closed
	 * streams for it, on every frame sent */
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, plan->h2_window },
		{ NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1 },
	};
	nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
	nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, (int32_t)plan->h2_conn_window);
	rl_conn_mark_dirty(w, c); /* the preface and SETTINGS go out at once */
	return 0;
}

/* With templates, a stream's header list and body render into its slot, where they
 * stay until nghttp2 has framed them (the list is handed over without copies). */
static const nghttp2_nv *render_stream(struct rl_worker *w, struct rl_conn *c,
				       const struct rl_target *t, uint32_t slot, struct rl_req *r)
{
	/* the slot's scratch: its header list, then the rendered values and body */
	nghttp2_nv *nva = (nghttp2_nv *)(c->scratch + (size_t)slot * w->slot_scratch);
	char *out = (char *)(nva + t->h2_nvlen);
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
	} else if (messages_of(c)) {
		messages_of(c)->render(w, t, r, out);
	}
	return nva;
}

static void h2_fill(struct rl_worker *w, struct rl_conn *c)
{
	c->refill = false; /* whatever slots closed before now are looked at here */
	if (c->state != C_OPEN || c->goaway || c->h2_last || !c->h2)
		return;
	const struct rl_target *t = rl_conn_target(w, c);
	const struct rl_h2_messages *msgs = messages_of(c);
	/* the target's own, at most the plan's (which sizes the slots); 0: the plan's */
	uint32_t streams = t->streams ? t->streams : w->sh->plan->streams;
	nghttp2_data_provider prd = { .read_callback = read_body };
	bool added = false;
	uint64_t earliest = UINT64_MAX; /* the added requests' oldest start (a retry keeps its own) */
	struct rl_take take;
	for (uint32_t i = 0; i < streams && c->inflight < streams; i++) {
		struct rl_req *r = &c->reqs[i];
		if (r->active)
			continue;
		if (!rl_acct_take(w, c, &take))
			break;
		memset(r, 0, sizeof(*r));
		r->start_ns = take.start_ns;
		r->retries = take.retries;
		if (take.start_ns < earliest)
			earliest = take.start_ns;
		rl_h2_response_init(&r->resp, t->head);
		if (msgs)
			msgs->stream_init(w, r);
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
			rl_acct_give_back(w, c);
			c->goaway = true;
			break;
		}
		r->stream_id = id;
		r->active = true;
		if (i < 255)
			c->h2_slot_of[(id >> 1) & 15] = (uint8_t)(i + 1);
		c->inflight++;
		added = true;
		if (t->no_keepalive) {
			c->h2_last = true; /* one request per connection: it closes when that is done */
			break;
		}
	}
	if (added) {
		rl_conn_mark_dirty(w, c);
		uint64_t deadline = earliest + t->timeout_ns;
		if (!rl_timer_armed(&c->timer))
			arm_timer(w, c);
		else if (c->timer.expires_ns > deadline) /* it would fire late for these */
			rl_tw_arm(&w->tw, &c->timer, deadline);
	}
	if (c->inflight < streams && !c->goaway && !c->h2_last)
		rl_conn_make_ready(w, c);
}

/* Ends the connection over an HTTP/2 connection error: the frames nghttp2 queued (its
 * GOAWAY) go out in the last send, every request fails under protocol with the error's
 * name (fallback: what the caller knows), and the socket closes after that send. */
static void connection_error(struct rl_worker *w, struct rl_conn *c, const char *fallback)
{
	while (w->out_cap - c->out_len >= FRAME_ROOM) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(c->h2, &data);
		if (n <= 0)
			break;
		memcpy(c->out + c->out_len, data, (size_t)n);
		c->out_len += (uint32_t)n;
	}
	char why[sizeof(w->h2_error)];
	snprintf(why, sizeof(why), "%s", w->h2_error[0] ? w->h2_error : fallback);
	w->h2_error[0] = 0;
	w->h2_lib_error = 0;
	rl_conn_fail_sending(w, c, RL_ERR_PROTOCOL, why);
}

/* This turn's frames into the send buffer. */
static bool h2_produce(struct rl_worker *w, struct rl_conn *c)
{
	if (!c->h2)
		return true;
	while (w->out_cap - c->out_len >= FRAME_ROOM) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(c->h2, &data);
		if (n < 0) {
			rl_conn_fail(w, c, RL_ERR_PROTOCOL, nghttp2_strerror((int)n));
			return false;
		}
		if (n == 0)
			break;
		memcpy(c->out + c->out_len, data, (size_t)n);
		c->out_len += (uint32_t)n;
	}
	if (!nghttp2_session_want_read(c->h2) && (!c->goaway || w->h2_error[0])) {
		/* nghttp2 queued the GOAWAY that ends a session over the server's connection
		 * error (a first frame that is not SETTINGS, DATA on stream 0, a flow-control
		 * overrun, an HPACK error...): nothing more will be read. The GOAWAY leaves
		 * before the close (RFC 9113 5.4.1), and its error names the failure. */
		connection_error(w, c, "HTTP/2 connection error by the server (bad preface or frame)");
		return false;
	}
	if (c->refill && !c->goaway) {
		/* streams closed since the last fill, while we sent (our RST_STREAM after a
		 * timeout): with no reply to come, nothing else would hand their slots the
		 * next requests */
		rl_conn_fill(w, c);
	}
	if ((c->goaway || c->h2_last) && !c->inflight && c->out_sent == c->out_len && !c->send_busy) {
		rl_conn_close(w, c); /* everything the server accepted is done: reconnect */
		return false;
	}
	return true;
}

static void h2_sent(struct rl_worker *w, struct rl_conn *c, uint32_t sent)
{
	if (c->h2 && (nghttp2_session_want_write(c->h2) || c->goaway || c->h2_last))
		rl_conn_mark_dirty(w, c); /* frames that did not fit, or a connection to retire */
}

static bool h2_consume(struct rl_worker *w, struct rl_conn *c, const uint8_t *data, size_t len)
{
	ssize_t n = nghttp2_session_mem_recv(c->h2, data, len);
	if (n < 0) {
		/* a flood nghttp2 refuses, or a callback's failure */
		char why[96];
		snprintf(why, sizeof(why), "HTTP/2 connection error: %s", nghttp2_strerror((int)n));
		connection_error(w, c, why);
		return false;
	}
	rl_conn_mark_dirty(w, c); /* SETTINGS ACKs, WINDOW_UPDATEs, PINGs to answer */
	return true;
}

static void h2_drain(struct rl_worker *w, struct rl_conn *c, enum rl_err err, const char *detail)
{
	for (uint32_t i = 0; i < w->sh->plan->streams; i++) {
		struct rl_req *r = &c->reqs[i];
		if (!r->active)
			continue;
		if (!r->done)
			rl_acct_drain(w, c, r, err, detail);
		r->active = false;
	}
	c->inflight = 0;
}

static void h2_on_eof(struct rl_worker *w, struct rl_conn *c)
{
	h2_drain(w, c, RL_ERR_EOF, NULL);
}

/* Streams time out alone; the connection stays. */
static void h2_on_timer(struct rl_worker *w, struct rl_conn *c)
{
	const struct rl_h2_messages *msgs = messages_of(c);
	uint64_t timeout = rl_conn_target(w, c)->timeout_ns;
	for (uint32_t i = 0; i < w->sh->plan->streams; i++) {
		struct rl_req *r = &c->reqs[i];
		if (!r->active || r->done || r->start_ns + timeout > w->now_ns)
			continue;
		/* the deadline passed: cancel the stream and keep the connection */
		r->done = true;
		if (msgs)
			rl_acct_grpc_local(w, c, r, msgs->deadline_status);
		else
			rl_acct_fail(w, c, r, RL_ERR_TIMEOUT, NULL);
		nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_CANCEL);
	}
	arm_timer(w, c);
	rl_conn_mark_dirty(w, c);
}

static void h2_free(struct rl_worker *w, struct rl_conn *c)
{
	if (!c->h2)
		return;
	nghttp2_session_del(c->h2); /* runs no callbacks: slots were drained before */
	c->h2 = NULL;
}

static uint32_t h2_slots(const struct rl_plan *plan)
{
	return plan->streams;
}

/* A request's bytes before HPACK: its header fields and body (an upper bound). */
static size_t request_bound(const struct rl_target *t)
{
	const nghttp2_nv *nv = t->h2_nva;
	size_t n = t->h2_body_len + t->h2_render_max + 9 + 9;
	for (size_t i = 0; i < t->h2_nvlen; i++)
		n += nv[i].namelen + nv[i].valuelen + 2;
	return n;
}

/* Room for a full DATA frame beside a turn's requests, twice over (a turn's frames are
 * added while the last turn's send may still hold its part). */
static size_t h2_send_room(const struct rl_plan *plan, const struct rl_target *t)
{
	return H2_OUT_BASE + 2 * (size_t)plan->streams * request_bound(t);
}

static size_t h2_slot_scratch(const struct rl_target *t)
{
	return t->h2_templated ? t->h2_nvlen * sizeof(nghttp2_nv) + t->h2_render_max + 1 : 0;
}

#define H2_OPS \
	.open = h2_open, .fill = h2_fill, .consume = h2_consume, .produce = h2_produce, \
	.sent = h2_sent, .on_eof = h2_on_eof, .on_timer = h2_on_timer, .drain = h2_drain, \
	.free = h2_free, .slots = h2_slots, .send_room = h2_send_room, .slot_scratch = h2_slot_scratch

const struct rl_proto_ops rl_proto_h2 = {
	.name = "h2c", .target_init = h2_target_init, H2_OPS,
};

const struct rl_proto_ops rl_proto_grpc = {
	.name = "grpc", .target_init = grpc_target_init, .messages = &rl_grpc_messages, H2_OPS,
};
