/* How a request starts, ends and is counted, for every protocol and for fan-out groups.
 * The protocols decide *what* happened to a request; this file alone turns that into
 * counts, so that requests == successful + failed holds and -n is exact:
 * - a request taken from the quota ends exactly once: counted (a response, a failure,
 *   a reset, a client-side gRPC status) or given back;
 * - a request handed to the kernel that gets no full response fails; one never handed
 *   over goes back to the quota (the server cannot have seen it);
 * - a failed connect costs the request that was due on it.
 * Nothing here allocates or touches a socket. */
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "worker.h"

bool rl_acct_take(struct rl_worker *w, struct rl_conn *c, uint64_t *start_ns)
{
	struct rl_vu *vu = c->vu;
	if (vu && !(vu->pending >> c->member & 1))
		return false; /* this member's request of the round is out already */
	if (w->stopping || !w->quota)
		return false;
	struct rl_pacer *p = &w->pace;
	if (p->open_loop) {
		if (p->next_k >= p->due_k)
			return false; /* nothing due yet: the schedule, not a free connection, decides */
		*start_ns = rl_worker_intended_ns(w, p->next_k);
		p->next_k++;
	} else {
		*start_ns = w->now_ns;
	}
	if (vu) {
		*start_ns = vu->start_ns; /* every member starts with the round */
		vu->pending &= ~(1ULL << c->member);
	}
	if (w->quota != UINT64_MAX)
		w->quota--;
	w->inflight++;
	return true;
}

void rl_acct_give_back(struct rl_worker *w, struct rl_conn *c)
{
	if (w->quota != UINT64_MAX)
		w->quota++;
	if (w->pace.open_loop)
		w->pace.next_k--; /* due again: the next free connection sends it */
	w->inflight--;
	if (c->vu)
		c->vu->pending |= 1ULL << c->member; /* due again on the member's connection */
}

/* Every counted request ends here: it leaves the in-flight set, and a fan-out member
 * tells its virtual user, whose round ends with its last member. */
static void request_ended(struct rl_worker *w, struct rl_conn *c, bool ok)
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
	struct rl_group_stats *g = &w->fan.stats[vu->group];
	g->rounds++;
	g->by_successes[vu->ok]++;
	if (vu->ok == vu->nmembers)
		g->full++;
	else if (vu->ok)
		g->partial++;
	else
		g->failed++;
	rl_hist_record_ns(&g->latency, vu->last_ns - vu->start_ns);
	w->fan.done[w->fan.ndone++] = vu; /* the next round starts after this loop turn */
}

void rl_vu_start(struct rl_worker *w, struct rl_vu *vu)
{
	vu->start_ns = w->now_ns;
	vu->pending = vu->nmembers == 64 ? ~0ULL : (1ULL << vu->nmembers) - 1;
	vu->done = vu->ok = 0;
	for (uint32_t m = 0; m < vu->nmembers; m++)
		rl_conn_fill(w, &w->conns[vu->first_conn + m]); /* closed ones send on connect */
}

static void count_failed(struct rl_worker *w, struct rl_stats *st)
{
	st->requests++;
	st->failed++;
	w->failed++;
}

static void record_times(struct rl_worker *w, struct rl_stats *st, const struct rl_req *r)
{
	uint64_t now = w->now_ns, sent = r->sent_ns ? r->sent_ns : r->first_ns;
	rl_hist_record_ns(&st->latency, now - r->start_ns);
	rl_hist_record_ns(&w->live[st - w->stats].hist, now - r->start_ns);
	rl_hist_record_ns(&st->ttfb, r->first_ns > sent ? r->first_ns - sent : 0);
	rl_hist_record_ns(&st->download, now - r->first_ns);
	if (w->pace.open_loop) {
		rl_hist_record_ns(&st->latency_uncorrected, now - sent);
		rl_hist_record_ns(&st->queue, sent > r->start_ns ? sent - r->start_ns : 0);
	}
}

void rl_acct_response(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r,
		      unsigned status, int grpc_status, bool ok, uint64_t payload)
{
	struct rl_stats *st = rl_conn_stats(w, c);
	st->requests++;
	if (grpc_status >= 0)
		st->grpc_status[grpc_status]++;
	else
		st->status[status]++;
	if (ok) {
		st->successful++;
		st->payload_bytes += payload;
	} else {
		st->failed++;
		w->failed++;
	}
	record_times(w, st, r);
	request_ended(w, c, ok);
}

void rl_acct_fail(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r,
		  enum rl_err err, const char *detail)
{
	struct rl_stats *st = rl_conn_stats(w, c);
	count_failed(w, st);
	if (!st->errors[err]++ && detail) /* the category's first: keep its detail */
		snprintf(st->first_error[err], sizeof(st->first_error[err]), "%s", detail);
	(void)r;
	request_ended(w, c, false);
}

void rl_acct_reset(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r, uint32_t code)
{
	struct rl_stats *st = rl_conn_stats(w, c);
	count_failed(w, st);
	st->stream_reset[code < RL_H2_ERROR_CODES ? code : RL_H2_ERROR_CODES - 1]++;
	(void)r;
	request_ended(w, c, false);
}

void rl_acct_grpc_local(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r, int grpc_status)
{
	struct rl_stats *st = rl_conn_stats(w, c);
	count_failed(w, st);
	st->grpc_status[grpc_status]++;
	(void)r;
	request_ended(w, c, false);
}

void rl_acct_drain(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r,
		   enum rl_err err, const char *detail)
{
	if (r->sent_ns && err != RL_ERR_COUNT)
		rl_acct_fail(w, c, r, err, detail);
	else
		rl_acct_give_back(w, c);
}

void rl_acct_connect_failed(struct rl_worker *w, struct rl_conn *c, int res)
{
	/* EADDRNOTAVAIL (local ports exhausted) is counted here like any connect error; the
	 * CLI says it once, with the fix, from the count */
	uint64_t start;
	struct rl_req none = { 0 };
	if (rl_acct_take(w, c, &start))
		rl_acct_fail(w, c, &none, rl_err_from_connect_errno(res),
			     strerrordesc_np(-res)); /* static text: safe in any thread */
	c->fails++;
}
