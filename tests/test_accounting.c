/* The accounting rules (src/engine/accounting.c), driven through the connection state
 * machine and the HTTP/1.1 protocol table by fabricated completions: a real ring that
 * never submits, no sockets. Every end of a request is checked: a response, an HTTP
 * failure, a protocol error, an EOF mid-response, a timeout, a request never handed
 * over (given back), requests pipelined behind Connection: close (given back), a
 * failed connect; after each, requests == successful + failed and nothing is lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/proto.h"
#include "engine/transport.h"

#define QUOTA 100

struct fixture {
	struct rl_plan plan;
	struct rl_shared sh;
	struct rl_target target;
	struct rl_worker w;
	struct rl_stats stats;
	struct rl_live live;
	struct rl_req reqs[8];
	struct rl_retry retry[8];
	char out[4096];
	uint8_t rbuf[4096];
	struct rl_conn *c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->plan = (struct rl_plan){ .connections = 1, .threads = 1, .pipeline = 4, .streams = 4, .h2_retries = 1 };
	struct rl_request_spec spec = { .proto = RL_PROTO_H1, .method = "GET", .timeout_ns = 1000000000 };
	char err[256];
	assert_int_equal(rl_target_init(&f->target, "http://127.0.0.1:9/", &spec, err, sizeof(err)), 0);
	f->sh = (struct rl_shared){ .plan = &f->plan, .targets = &f->target, .ntargets = 1 };
	struct rl_worker *w = &f->w;
	w->sh = &f->sh;
	assert_int_equal(io_uring_queue_init(64, &w->ring, 0), 0);
	rl_stats_init(&f->stats);
	rl_hist_reset(&f->live.hist);
	w->stats = w->stage_stats = &f->stats;
	w->nstage_stats = 1;
	w->live = &f->live;
	w->quota = QUOTA;
	w->nconns = 1;
	w->out_cap = sizeof(f->out);
	w->bufs.size = sizeof(f->rbuf);
	w->now_ns = 1000000000;
	rl_tw_init(&w->tw, w->now_ns);
	w->conns = calloc(1, sizeof(*w->conns));
	struct rl_conn *c = f->c = w->conns;
	c->w = w;
	c->fd = 3; /* never used: nothing is submitted */
	c->proto = rl_proto_of(RL_PROTO_H1);
	c->transport = rl_transport_of(&f->target);
	c->reqs = f->reqs;
	c->retry = f->retry;
	w->slots = 4;
	w->pipeline = f->plan.pipeline; /* as rl_worker_setup sets it */
	c->out = f->out;
	c->rbuf = f->rbuf;
	c->state = C_CONNECTING;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	io_uring_queue_exit(&f->w.ring);
	free(f->w.conns);
	rl_target_free(&f->target);
	free(f);
	return 0;
}

/* The identity, and that every request taken is counted, given back or in flight. */
static void assert_accounted(struct fixture *f)
{
	const struct rl_stats *st = &f->stats;
	assert_int_equal(st->requests, st->successful + st->failed);
	/* every request that ended has exactly one latency sample: during the run the
	 * failures' in latency, the successes' in latency_ok; folded, latency has them all */
	assert_int_equal(st->latency.total + st->latency_ok.total, st->requests);
	assert_int_equal(st->latency_ok.total, st->successful);
	struct rl_stats *folded = malloc(sizeof(*folded));
	*folded = *st;
	rl_acct_fold_latency(folded);
	assert_int_equal(folded->latency.total, st->requests);
	free(folded);
	assert_int_equal(QUOTA - f->w.quota, st->requests + f->w.inflight);
	assert_int_equal(f->w.inflight, f->c->inflight + f->c->nretry);
}

static void open_conn(struct fixture *f)
{
	f->c->state = C_CONNECTING;
	rl_conn_on_connect(&f->w, f->c, 0);
	assert_int_equal(f->c->state, C_OPEN);
}

static void flush(struct fixture *f)
{
	f->w.flush_ns = f->w.now_ns;
	while (f->w.dirty) {
		struct rl_conn *c = f->w.dirty;
		f->w.dirty = c->next_dirty;
		rl_conn_flush(&f->w, c);
	}
	if (f->c->send_busy) /* the kernel took it all */
		rl_conn_on_send(&f->w, f->c, (int)f->c->out_len);
}

static void recv_bytes(struct fixture *f, const char *bytes)
{
	size_t n = strlen(bytes);
	memcpy(f->rbuf, bytes, n);
	f->w.now_ns += 1000000;
	rl_conn_on_recv(&f->w, f->c, (int)n, 0);
}

#define OK_RESPONSE "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

static void response_counts_success_with_one_latency_sample(void **state)
{
	struct fixture *f = *state;
	open_conn(f);
	assert_int_equal(f->c->inflight, 4); /* the pipeline filled */
	flush(f);
	recv_bytes(f, OK_RESPONSE);
	assert_int_equal(f->stats.successful, 1);
	assert_int_equal(f->stats.payload_bytes, 5);
	assert_int_equal(f->stats.status[200], 1);
	assert_int_equal(f->stats.latency_ok.total, 1);
	assert_int_equal(f->stats.ttfb.total, 1);
	rl_worker_live_counts(&f->w, &f->live); /* the progress copy: from the stage's statistics */
	assert_int_equal(f->live.hist_ok.total, 1);
	assert_int_equal(f->live.hist.total, 0);
	assert_int_equal(f->c->inflight, 4); /* refilled */
	assert_accounted(f);
}

/* Harvesting lazily, the loop reads a response a while after it came: its times are the
 * kernel's stamp of its arrival (300 us after the send), not the loop's clock (1 ms). A
 * failure outside a receive (a timer's) keeps the loop's clock. */
static void lazy_harvest_times_a_response_by_its_stamp(void **state)
{
	struct fixture *f = *state;
	f->w.feat.lazy_harvest = true;
	open_conn(f);
	flush(f);
	f->w.rx_kernel_ns = f->w.now_ns + 300000;
	recv_bytes(f, OK_RESPONSE);
	assert_int_equal(f->stats.latency_ok.total, 1);
	assert_int_equal(f->stats.latency_ok.max_us, 300);
	assert_int_equal(f->stats.ttfb.max_us, 300);
	assert_int_equal(f->stats.client_delay.total, 1); /* the loop's wait, by design */
	f->w.rx_kernel_ns = 0; /* the receive is over */
	flush(f);
	f->w.now_ns += 2000000000ULL;
	rl_tw_expire(&f->w.tw, f->w.now_ns, rl_conn_on_timer, &f->w);
	assert_int_equal(f->stats.errors[RL_ERR_TIMEOUT], 4);
	assert_true(f->stats.latency.min_us >= 2000000); /* timed out at the loop's clock */
	assert_accounted(f);
}

static void http_error_status_counts_failed(void **state)
{
	struct fixture *f = *state;
	open_conn(f);
	flush(f);
	recv_bytes(f, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->stats.failed, 1);
	assert_int_equal(f->stats.status[503], 1);
	assert_int_equal(f->stats.latency.total, 1);
	assert_accounted(f);
}

static void protocol_error_fails_every_request_handed_over(void **state)
{
	struct fixture *f = *state;
	open_conn(f);
	flush(f);
	recv_bytes(f, "HTTP/1.1 abc\r\n\r\n");
	assert_int_equal(f->c->state, C_CLOSING);
	assert_int_equal(f->stats.errors[RL_ERR_PROTOCOL], 4); /* the bad one and the 3 behind it */
	assert_non_null(strstr(f->stats.first_error[RL_ERR_PROTOCOL], "status"));
	assert_int_equal(f->w.inflight, 0);
	assert_accounted(f);
}

static void eof_mid_response_fails_as_eof(void **state)
{
	struct fixture *f = *state;
	open_conn(f);
	flush(f);
	recv_bytes(f, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort");
	rl_conn_on_recv(&f->w, f->c, 0, 0);
	assert_int_equal(f->stats.errors[RL_ERR_EOF], 4);
	assert_int_equal(f->c->state, C_CLOSING);
	assert_accounted(f);
}

static void requests_never_sent_go_back_to_the_quota(void **state)
{
	struct fixture *f = *state;
	open_conn(f);
	/* no flush: nothing was handed to the kernel when the server closed */
	rl_conn_on_recv(&f->w, f->c, 0, 0);
	assert_int_equal(f->stats.requests, 0);
	assert_int_equal(f->w.quota, QUOTA);
	assert_accounted(f);
}

static void connection_close_gives_back_the_pipelined_rest(void **state)
{
	struct fixture *f = *state;
	open_conn(f);
	flush(f);
	recv_bytes(f, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello");
	assert_int_equal(f->stats.successful, 1);
	assert_int_equal(f->stats.failed, 0);
	assert_int_equal(f->w.quota, QUOTA - 1); /* the three behind it are due again */
	assert_int_equal(f->c->state, C_CLOSING);
	assert_accounted(f);
}

static void timeout_fails_the_connection_s_requests(void **state)
{
	struct fixture *f = *state;
	open_conn(f);
	flush(f);
	f->w.now_ns += 2000000000ULL;
	rl_tw_expire(&f->w.tw, f->w.now_ns, rl_conn_on_timer, &f->w);
	assert_int_equal(f->stats.errors[RL_ERR_TIMEOUT], 4);
	assert_true(f->stats.latency.min_us >= 1000000); /* ended when the client gave up (failures only yet) */
	assert_accounted(f);
}

static void failed_connect_costs_one_request(void **state)
{
	struct fixture *f = *state;
	f->c->state = C_CONNECTING;
	rl_conn_on_connect(&f->w, f->c, -ECONNREFUSED);
	assert_int_equal(f->stats.errors[RL_ERR_CONNECT_REFUSED], 1);
	assert_int_equal(f->c->fails, 1);
	assert_accounted(f);
}

static void split_response_completes_once(void **state)
{
	struct fixture *f = *state;
	open_conn(f);
	flush(f);
	const char *r = OK_RESPONSE;
	char part[2] = { 0 };
	for (size_t i = 0; r[i]; i++) {
		part[0] = r[i];
		recv_bytes(f, part);
	}
	assert_int_equal(f->stats.successful, 1);
	assert_int_equal(f->stats.latency_ok.total, 1);
	assert_accounted(f);
}

/* A refused request (GOAWAY, REFUSED_STREAM) waits on its connection and is taken again
 * with its first start and one retry counted; refused again with no retry left, it
 * fails under goaway:<code> or stream_refused. */
static void refused_request_keeps_its_start_and_counts_its_retry(void **state)
{
	struct fixture *f = *state;
	struct rl_worker *w = &f->w;
	f->c->state = C_OPEN;
	struct rl_take t;
	assert_true(rl_acct_take(w, f->c, &t));
	struct rl_req r = { .start_ns = t.start_ns, .retries = t.retries };
	uint64_t first = r.start_ns;
	w->now_ns += 50000000; /* later: a new request would start now */
	rl_acct_refused(w, f->c, &r, true, 2);
	assert_int_equal(f->stats.retried, 1);
	assert_int_equal(f->stats.requests, 0);
	assert_accounted(f);
	assert_true(rl_acct_take(w, f->c, &t));
	assert_int_equal(t.start_ns, first);
	assert_int_equal(t.retries, 1);
	assert_int_equal(w->quota, QUOTA - 1); /* the retry took nothing more from the quota */
	r = (struct rl_req){ .start_ns = t.start_ns, .retries = t.retries };
	rl_acct_refused(w, f->c, &r, true, 2);
	assert_int_equal(f->stats.goaway_failed[2], 1); /* goaway:INTERNAL_ERROR */
	assert_int_equal(f->stats.failed, 1);
	assert_int_equal(f->stats.retried, 1);
	assert_int_equal(w->inflight, 0);
	assert_accounted(f);
	/* REFUSED_STREAM by RST: the same, then stream_refused */
	assert_true(rl_acct_take(w, f->c, &t));
	r = (struct rl_req){ .start_ns = t.start_ns, .retries = t.retries };
	rl_acct_refused(w, f->c, &r, false, 7);
	assert_true(rl_acct_take(w, f->c, &t));
	r = (struct rl_req){ .start_ns = t.start_ns, .retries = t.retries };
	rl_acct_refused(w, f->c, &r, false, 7);
	assert_int_equal(f->stats.errors[RL_ERR_STREAM_REFUSED], 1);
	assert_int_equal(rl_stats_error_sum(&f->stats), f->stats.failed);
	assert_accounted(f);
}

/* A parked connection's waiting retries go back to the quota, for another connection. */
static void parked_connection_gives_back_its_retries(void **state)
{
	struct fixture *f = *state;
	struct rl_worker *w = &f->w;
	f->c->state = C_OPEN;
	struct rl_take t;
	assert_true(rl_acct_take(w, f->c, &t));
	struct rl_req r = { .start_ns = t.start_ns };
	rl_acct_refused(w, f->c, &r, false, 7);
	f->c->parked = true;
	rl_conn_fill(w, f->c);
	assert_int_equal(f->c->nretry, 0);
	assert_int_equal(w->quota, QUOTA);
	assert_accounted(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(response_counts_success_with_one_latency_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(http_error_status_counts_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(protocol_error_fails_every_request_handed_over, setup, teardown),
		cmocka_unit_test_setup_teardown(eof_mid_response_fails_as_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(requests_never_sent_go_back_to_the_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(connection_close_gives_back_the_pipelined_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(timeout_fails_the_connection_s_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_connect_costs_one_request, setup, teardown),
		cmocka_unit_test_setup_teardown(split_response_completes_once, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_request_keeps_its_start_and_counts_its_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(parked_connection_gives_back_its_retries, setup, teardown),
		cmocka_unit_test_setup_teardown(lazy_harvest_times_a_response_by_its_stamp, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
