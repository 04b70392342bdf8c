/* The HTTP/1.1 side of `ringload serve`: requests parsed in order (pipelining works),
 * one response at a time, its head and body delayed by io_uring timeouts when asked,
 * bodies streamed in 64 KiB pieces, chunked on request. */
#include <stdio.h>
#include <string.h>

#include "ringload/h1_server.h"
#include "server.h"

#define BODY_PIECE 65536

static const char *reason(unsigned s)
{
	switch (s) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static void consume(struct srv_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

static bool body_allowed(unsigned status)
{
	return status >= 200 && status != 204 && status != 304;
}

static void fill_body(struct srv_conn *c)
{
	size_t want = c->body_left > BODY_PIECE ? BODY_PIECE : (size_t)c->body_left;
	if (srv_out_reserve(c, want + 32)) {
		srv_close(c);
		return;
	}
	char line[24];
	if (c->plan.chunked && want)
		srv_out_put(c, line, (size_t)snprintf(line, sizeof(line), "%zx\r\n", want));
	rl_serve_body_copy(&c->plan, c->body_off, c->out + c->out_len, want);
	c->out_len += want;
	if (c->plan.chunked && want)
		srv_out_put(c, "\r\n", 2);
	c->body_left -= want;
	c->body_off += want;
	if (!c->body_left && c->plan.chunked && body_allowed(c->plan.status) && !c->head_only)
		srv_out_put(c, "0\r\n\r\n", 5);
}

static void write_head(struct srv_conn *c)
{
	const struct rl_serve_plan *p = &c->plan;
	char head[512];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %u %s\r\nServer: ringload\r\nContent-Type: %s\r\n",
			 p->status, reason(p->status), p->content_type ? p->content_type : "text/plain");
	if (body_allowed(p->status)) {
		if (p->chunked)
			n += snprintf(head + n, sizeof(head) - (size_t)n, "Transfer-Encoding: chunked\r\n");
		else
			n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %llu\r\n",
				      (unsigned long long)p->size);
	}
	if (!c->keep_alive)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Connection: close\r\n");
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	if (srv_out_reserve(c, (size_t)n)) {
		srv_close(c);
		return;
	}
	srv_out_put(c, head, (size_t)n);
	c->body_left = body_allowed(p->status) && !c->head_only ? p->size : 0;
	c->body_off = 0;
	if (c->body_left && p->body_delay_ns) {
		c->h1 = H1_SEND_HEAD; /* the body waits for its delay once the head is out */
	} else {
		c->h1 = H1_SEND_BODY;
		fill_body(c);
	}
	srv_send(c);
}

static void respond(struct srv_conn *c)
{
	if (c->plan.ttfb_ns) {
		c->h1 = H1_WAIT_TTFB;
		srv_arm_timer(c, c->plan.ttfb_ns);
	} else {
		write_head(c);
	}
}

static void respond_error(struct srv_conn *c, unsigned status, const char *msg)
{
	memset(&c->plan, 0, offsetof(struct rl_serve_plan, small));
	c->plan.status = status;
	c->plan.content_type = "text/plain";
	c->plan.small_len = c->plan.size = (uint64_t)snprintf(c->plan.small, sizeof(c->plan.small), "%s\n", msg);
	c->keep_alive = false;
	c->head_only = false;
	c->in_len = 0;
	c->started_ns = srv_now_ns();
	rl_serve_count_start(c->t->ctr, RL_SERVE_H1);
	write_head(c);
}

static void response_done(struct srv_conn *c)
{
	if (!c->plan.uncounted)
		rl_serve_count_end(c->t->ctr, RL_SERVE_H1, srv_now_ns() - c->started_ns);
	c->h1 = H1_IDLE;
	if (!c->keep_alive) {
		srv_close(c);
		return;
	}
	srv_h1_on_data(c); /* the next pipelined request, if it is here */
}

void srv_h1_on_data(struct srv_conn *c)
{
	while (c->open && (c->h1 == H1_IDLE || c->h1 == H1_READ_BODY)) {
		if (c->h1 == H1_READ_BODY) {
			size_t n = c->in_len < c->req_body_left ? c->in_len : (size_t)c->req_body_left;
			consume(c, n);
			c->req_body_left -= n;
			if (c->req_body_left) {
				if (c->peer_eof)
					srv_close(c);
				return;
			}
			respond(c);
			return;
		}
		if (!c->in_len) {
			if (c->peer_eof)
				srv_close(c);
			return;
		}
		struct rl_h1_request_view r;
		long hl = rl_h1_parse_request((const char *)c->in, c->in_len, &r);
		if (hl == 0) {
			if (c->in_len == SRV_IN_CAP)
				respond_error(c, 431, "request header block too large");
			else if (c->peer_eof)
				srv_close(c);
			return;
		}
		if (hl < 0) {
			respond_error(c, 400, "malformed request");
			return;
		}
		if (r.chunked) {
			respond_error(c, 501, "chunked request bodies are not supported");
			return;
		}
		rl_serve_route(r.method, r.method_len, r.target, r.target_len, r.preflight, c->t->ctr, &c->plan);
		c->head_only = r.method_len == 4 && !memcmp(r.method, "HEAD", 4);
		c->keep_alive = (r.version_minor >= 1 ? !r.conn_close : r.conn_keepalive) && !c->plan.close;
		if (c->t->opt->verbose)
			fprintf(stderr, "serve: %.*s %.*s -> %u\n", (int)r.method_len, r.method,
				(int)r.target_len, r.target, c->plan.status);
		c->started_ns = srv_now_ns();
		if (!c->plan.uncounted)
			rl_serve_count_start(c->t->ctr, RL_SERVE_H1);
		consume(c, (size_t)hl);
		c->req_body_left = r.content_length;
		if (r.expect_continue && r.content_length > c->in_len && !srv_out_reserve(c, 25)) {
			srv_out_put(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
			srv_send(c);
		}
		c->h1 = H1_READ_BODY;
	}
}

void srv_h1_on_sent(struct srv_conn *c)
{
	switch (c->h1) {
	case H1_SEND_HEAD:
		c->h1 = H1_WAIT_BODY;
		srv_arm_timer(c, c->plan.body_delay_ns);
		break;
	case H1_SEND_BODY:
		if (c->body_left) {
			fill_body(c);
			srv_send(c);
		} else {
			response_done(c);
		}
		break;
	default:
		break; /* a 100 Continue went out */
	}
}

void srv_h1_on_timer(struct srv_conn *c)
{
	if (c->h1 == H1_WAIT_TTFB) {
		write_head(c);
	} else if (c->h1 == H1_WAIT_BODY) {
		c->h1 = H1_SEND_BODY;
		fill_body(c);
		srv_send(c);
	}
}
