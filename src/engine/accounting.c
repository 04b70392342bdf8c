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

bool rl_acct_take(struct rl_worker *w, struct rl_conn *c, struct rl_take *t)
{
	if (w->stopping)
		return false;
	if (c->nretry) {
		/* taken before, and still in w->inflight: it keeps its first start */
		struct rl_retry *rt = &c->retry[--c->nretry];
		t->start_ns = rt->start_ns;
		t->retries = rt->retries;
		return true;
	}
	struct rl_vu *vu = c->vu;
	if (vu && !(vu->pending >> c->member & 1))
		return false; /* this member's request of the round is out already */
	/* (a member's request belongs to its round, which took the quota: -n counts rounds) */
	if (!vu && (!w->quota || (w->tquota && !w->tquota[c->target])))
		return false;
	struct rl_pacer *p = &w->pace;
	if (p->open_loop && !vu) { /* (a member's start is its round's) */
		if (p->next_k >= p->due_k)
			return false; /* nothing due yet: the schedule, not a free connection, decides */
		t->start_ns = rl_worker_intended_ns(w, p->next_k);
		p->next_k++;
	} else {
		t->start_ns = w->now_ns;
	}
	if (vu) {
		t->start_ns = vu->start_ns; /* every member starts with the round */
		vu->pending &= ~(1ULL << c->member);
	}
	t->retries = 0;
	if (w->quota != UINT64_MAX && !vu)
		w->quota--;
	if (w->tquota)
		w->tquota[c->target]--;
	w->inflight++;
	return true;
}

void rl_acct_give_back(struct rl_worker *w, struct rl_conn *c)
{
	if (w->quota != UINT64_MAX && !c->vu)
		w->quota++;
	if (w->tquota)
		w->tquota[c->target]++;
	if (w->pace.open_loop && !c->vu)
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

bool rl_vu_take_round(struct rl_worker *w)
{
	if (w->quota == UINT64_MAX || w->fan.nregular)
		return true;
	if (!w->quota)
		return false; /* -n rounds done */
	w->quota--;
	return true;
}

void rl_vu_start(struct rl_worker *w, struct rl_vu *vu)
{
	/* -n with fan-out groups alone counts rounds: a round takes one, whole; --stages
	 * may have fewer users than there are; with -R the schedule starts rounds */
	vu->resting = true;
	if ((uint32_t)(vu - w->fan.vus) >= w->fan.active || w->stopping || w->pace.open_loop)
		return;
	if (!rl_vu_take_round(w))
		return;
	rl_vu_round(w, vu, w->now_ns);
}

void rl_vu_round(struct rl_worker *w, struct rl_vu *vu, uint64_t start_ns)
{
	vu->resting = false;
	vu->start_ns = start_ns; /* -R: the intended start, so a late round shows its wait */
	vu->pending = vu->nmembers == 64 ? ~0ULL : (1ULL << vu->nmembers) - 1;
	vu->done = vu->ok = 0;
	/* a member waiting out a reconnect back-off fails its part of the round at once,
	 * under its connect error: the round's time is what the servers did, not our wait
	 * (unless every member is down: then the round waits, rather than spin) */
	uint32_t down = 0;
	for (uint32_t m = 0; m < vu->nmembers; m++)
		down += w->conns[vu->first_conn + m].state == C_BACKOFF;
	for (uint32_t m = 0; m < vu->nmembers; m++) {
		struct rl_conn *c = &w->conns[vu->first_conn + m];
		struct rl_take t;
		if (c->state == C_BACKOFF && down < vu->nmembers && rl_acct_take(w, c, &t)) {
			struct rl_req r = { .start_ns = t.start_ns };
			rl_acct_fail(w, c, &r, (enum rl_err)c->last_err,
				     "no connection this round: the member waits out its reconnect back-off");
			continue;
		}
		rl_conn_fill(w, c); /* closed ones send on connect */
	}
}

static void count_failed(struct rl_worker *w, struct rl_stats *st)
{
	st->requests++;
	st->failed++;
	w->failed++;
}

/* Every ended request's latency, now (a lazily harvested response: when the kernel
 * received its end): from its start (the intended one in an open loop) to the moment it
 * ended, whatever ended it. During the run a success goes to
 * latency_ok and anything else to latency, one record each; rl_acct_fold_latency then
 * makes latency the whole (histograms merge exactly). A response timed by the kernel's
 * stamps tallies the same value in kernel (its latency_kernel); others pass NULL. */
static inline void record_end(struct rl_worker *w, struct rl_stats *st, const struct rl_req *r, uint64_t sent, bool ok,
			      struct rl_hist *kernel)
{
	uint64_t now = rl_event_ns(w), latency = now > r->start_ns ? now - r->start_ns : 0;
	/* (the live copies for progress are summed from these when published) */
	if (kernel)
		rl_hist_record_and_tally_ns(ok ? &st->latency_ok : &st->latency, kernel, latency);
	else
		rl_hist_record_ns(ok ? &st->latency_ok : &st->latency, latency);
	if (w->pace.open_loop && sent) {
		rl_hist_record_ns(&st->latency_uncorrected, now > sent ? now - sent : 0);
		rl_hist_record_ns(&st->queue, sent > r->start_ns ? sent - r->start_ns : 0);
	}
}

static uint64_t since(uint64_t later, uint64_t earlier)
{
	return later > earlier ? later - earlier : 0;
}

/* A response's phases: first byte after the send, download after the first byte (a
 * lazily harvested response's by the kernel's stamps: the loop woke later, by design).
 * Where the kernel stamped the first and the last receive: how long the first bytes
 * waited for this loop (client delay), and ttfb and latency by the kernel's stamps. Under
 * lazy harvest those two are the main ttfb and latency themselves (the same stamps, the
 * same arithmetic), so each value's bucket is found once for both histograms. */
static void record_times(struct rl_worker *w, struct rl_stats *st, const struct rl_req *r, bool ok)
{
	uint64_t sent = r->sent_ns ? r->sent_ns : r->first_ns;
	bool stamped = r->first_kernel_ns && w->rx_kernel_ns;
	if (stamped)
		rl_hist_tally_ns(&st->client_delay, since(r->first_ns, r->first_kernel_ns));
	if (stamped && w->feat.lazy_harvest) {
		rl_hist_record_and_tally_ns(&st->ttfb, &st->ttfb_kernel, since(r->first_kernel_ns, sent));
		rl_hist_record_ns(&st->download, since(w->rx_kernel_ns, r->first_kernel_ns));
		record_end(w, st, r, sent, ok, &st->latency_kernel);
		return;
	}
	uint64_t first = w->feat.lazy_harvest && r->first_kernel_ns ? r->first_kernel_ns : r->first_ns;
	rl_hist_record_ns(&st->ttfb, since(first, sent));
	rl_hist_record_ns(&st->download, since(rl_event_ns(w), first));
	if (stamped) {
		rl_hist_tally_ns(&st->ttfb_kernel, since(r->first_kernel_ns, sent));
		rl_hist_tally_ns(&st->latency_kernel, since(w->rx_kernel_ns, r->start_ns));
	}
	record_end(w, st, r, sent, ok, NULL);
}

/* One more failure under err; the category's first keeps its detail (cut to fit). */
static void count_error(struct rl_stats *st, enum rl_err err, const char *detail)
{
	if (!st->errors[err]++ && detail)
		snprintf(st->first_error[err], sizeof(st->first_error[err]), "%.*s",
			 (int)sizeof(st->first_error[err]) - 1, detail);
}

void rl_acct_fold_latency(struct rl_stats *st)
{
	rl_hist_merge(&st->latency, &st->latency_ok);
	rl_hist_settle(&st->client_delay);
	rl_hist_settle(&st->ttfb_kernel);
	rl_hist_settle(&st->latency_kernel);
}

void rl_acct_response(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r,
		      unsigned status, int grpc_status, bool ok, uint64_t payload)
{
	struct rl_stats *st = rl_conn_stats(w, c);
	c->responses++;
	c->goaway_strikes = 0;
	st->requests++;
	if (grpc_status >= 0)
		st->grpc_status[grpc_status]++;
	else
		st->status[status]++;
	const struct rl_expect *e = &rl_conn_target(w, c)->expect;
	char why[RL_EXPECT_BODY_MAX + 48];
	if (ok && rl_expect_active(e) && rl_expect_verdict(e, status, r->body_match, why, sizeof(why))) {
		ok = false; /* a status or body the checks refuse: check_failed, its status still counted */
		count_error(st, RL_ERR_CHECK_FAILED, why);
	}
	if (ok) {
		st->successful++;
		st->payload_bytes += payload;
	} else {
		st->failed++;
		w->failed++;
	}
	record_times(w, st, r, ok);
	request_ended(w, c, ok);
}

void rl_acct_fail(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r,
		  enum rl_err err, const char *detail)
{
	struct rl_stats *st = rl_conn_stats(w, c);
	count_failed(w, st);
	if (err == RL_ERR_TLS_ALERT)
		st->tls_alert[w->tls_alert < RL_TLS_ALERTS ? w->tls_alert : RL_TLS_ALERTS - 1]++;
	count_error(st, err, detail);
	record_end(w, st, r, r->sent_ns, false, NULL);
	request_ended(w, c, false);
}

/* A failure counted under its own counter (a reset's code, a GOAWAY's, a gRPC status)
 * rather than an error category. */
static void fail_counted(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r, uint64_t *counter)
{
	count_failed(w, rl_conn_stats(w, c));
	(*counter)++;
	record_end(w, rl_conn_stats(w, c), r, r->sent_ns, false, NULL);
	request_ended(w, c, false);
}

static uint32_t h2_code_index(uint32_t code)
{
	return code < RL_H2_ERROR_CODES ? code : RL_H2_ERROR_CODES - 1;
}

void rl_acct_reset(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r, uint32_t code)
{
	fail_counted(w, c, r, &rl_conn_stats(w, c)->stream_reset[h2_code_index(code)]);
}

void rl_acct_refused(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r, bool by_goaway,
		     uint32_t code)
{
	struct rl_stats *st = rl_conn_stats(w, c);
	if (r->retries < w->sh->plan->h2_retries && c->nretry < w->slots) {
		c->retry[c->nretry++] = (struct rl_retry){ r->start_ns, (uint8_t)(r->retries + 1) };
		st->retried++;
		return;
	}
	if (by_goaway)
		fail_counted(w, c, r, &st->goaway_failed[h2_code_index(code)]);
	else
		rl_acct_fail(w, c, r, RL_ERR_STREAM_REFUSED, "RST_STREAM REFUSED_STREAM from the server, on every try");
}

void rl_acct_grpc_local(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r, int grpc_status)
{
	fail_counted(w, c, r, &rl_conn_stats(w, c)->grpc_status[grpc_status]);
}

void rl_acct_drain(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r,
		   enum rl_err err, const char *detail)
{
	if (r->sent_ns && err != RL_ERR_COUNT)
		rl_acct_fail(w, c, r, err, detail);
	else
		rl_acct_give_back(w, c);
}

void rl_acct_conn_failed(struct rl_worker *w, struct rl_conn *c, enum rl_err err, const char *detail)
{
	struct rl_take t;
	if (rl_acct_take(w, c, &t)) {
		/* a closed loop's request began with the connect it waited for */
		uint64_t start = t.start_ns;
		if (!w->pace.open_loop && !c->vu && !t.retries && c->connect_start_ns && c->connect_start_ns < start)
			start = c->connect_start_ns;
		struct rl_req r = { .start_ns = start };
		rl_acct_fail(w, c, &r, err, detail);
	}
	c->fails++;
	c->last_err = (uint8_t)err;
}

void rl_acct_connect_failed(struct rl_worker *w, struct rl_conn *c, int res)
{
	/* EADDRNOTAVAIL (local ports exhausted) is counted here like any connect error; the
	 * CLI says it once, with the fix, from the count */
	rl_acct_conn_failed(w, c, rl_err_from_connect_errno(res), strerrordesc_np(-res)); /* static text */
}
