/* A run, in four steps with one cleanup path: plan (split connections, the -n budget
 * and the rate over workers), start (one thread per worker, each building its own
 * ring: SINGLE_ISSUER binds a ring to the thread that made it; the clock starts when
 * all are ready), watch (signals, progress views, history rows, in the main thread),
 * collect (merge the workers' statistics). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "transport.h"
#include "worker.h"

#define NS_PER_S          1000000000ULL
#define PROGRESS_EVERY_NS 250000000ULL /* a progress view four times a second */
#define WATCH_TICK_NS     20000000L    /* the main thread's signal wait */
#define HISTORY_SETTLE_NS 60000000ULL  /* a second's row waits this long for every worker */
#define RL_HISTORY_MAX    86400 /* a day of rows; a longer run keeps its first day */

struct worker_arg {
	struct run_ctx *ctx;
	uint32_t index, first_conn;
};

struct run_ctx {
	struct rl_shared sh;
	struct rl_worker *workers;
	uint32_t nworkers, started;
	uint32_t *conns_of, *vus_of;
	uint32_t *vu_groups;          /* every worker's fan-out users' groups, in slices */
	pthread_t *tids;
	struct worker_arg *args;
	_Atomic uint32_t ready, done;
	_Atomic int go;
	sigset_t sigs;
	struct rusage ru0;
	/* main thread: snapshots for progress views and history rows */
	struct rl_live *cur, *prev, *tmp;
	struct rl_hist *hs;
	unsigned rows_done;
	uint64_t last_view_ns, last_view_requests;
	int stamps_fd;                /* holds the kernel's receive stamping on; -1: none */
};

static void *worker_thread(void *p)
{
	struct worker_arg *a = p;
	struct run_ctx *ctx = a->ctx;
	struct rl_worker *w = &ctx->workers[a->index];
	w->error = rl_worker_setup(w, ctx->conns_of[a->index], a->first_conn);
	atomic_fetch_add(&ctx->ready, 1);
	while (!atomic_load(&ctx->go)) /* main checks every setup, then starts the clock */
		usleep(100);
	if (!atomic_load(&ctx->sh.stop))
		rl_worker_run(w);
	atomic_fetch_add(&ctx->done, 1);
	return NULL;
}

/* The run so far per target: every worker's published copy (a seqlock read, retried
 * while a worker is mid-copy), merged. */
static void live_reset(struct rl_live *cur, size_t nt)
{
	for (size_t t = 0; t < nt; t++) {
		cur[t].requests = cur[t].failed = cur[t].open = cur[t].in_flight = 0;
		memset(&cur[t].fails, 0, sizeof(cur[t].fails));
		rl_hist_empty(&cur[t].hist);
		rl_hist_empty(&cur[t].hist_ok);
	}
}

/* (failures by category only for live metrics: workers count them only then) */
static void live_add(struct rl_live *cur, const struct rl_live *src, size_t nt, bool fails)
{
	for (size_t t = 0; t < nt; t++) {
		cur[t].requests += src[t].requests;
		cur[t].failed += src[t].failed;
		cur[t].open += src[t].open;
		cur[t].in_flight += src[t].in_flight;
		if (fails)
			rl_fail_counts_merge(&cur[t].fails, &src[t].fails);
		rl_hist_merge(&cur[t].hist, &src[t].hist);
		rl_hist_merge(&cur[t].hist_ok, &src[t].hist_ok);
	}
}

/* A worker's published copy into dst: a seqlock read, retried while the worker is
 * mid-copy. false: no whole copy in 64 tries. */
static bool read_published(struct rl_progress *p, struct rl_live *dst, size_t nt)
{
	for (int tries = 0; tries < 64; tries++) {
		uint64_t a = atomic_load_explicit(&p->hist_seq, memory_order_acquire);
		if (a & 1)
			continue;
		rl_live_copy(dst, p->pub, nt);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&p->hist_seq, memory_order_relaxed) == a)
			return true;
	}
	return false;
}

static void snapshot(struct run_ctx *ctx, struct rl_live *cur, struct rl_live *tmp)
{
	size_t nt = ctx->sh.ntargets + ctx->sh.ngroups; /* the targets' copies, then the groups' */
	if (ctx->nworkers == 1) { /* one worker's copy is the run's: read straight into cur */
		if (!read_published(&ctx->workers[0].progress, cur, nt))
			live_reset(cur, nt);
		return;
	}
	live_reset(cur, nt);
	for (uint32_t i = 0; i < ctx->nworkers; i++)
		if (read_published(&ctx->workers[i].progress, tmp, nt))
			live_add(cur, tmp, nt, ctx->sh.plan->live);
}

/* Open loop: the rate offered t_end seconds into the measured run (--stages moves it). */
static double offered_rate(const struct run_ctx *ctx, double t_end)
{
	const struct rl_plan *plan = ctx->sh.plan;
	if (plan->rate <= 0)
		return 0;
	if (!plan->nstages)
		return plan->rate;
	size_t stage;
	uint64_t t = ctx->sh.measure_ns - ctx->sh.start_ns + (uint64_t)(t_end * 1e9);
	return rl_stage_level(&ctx->sh.stages, t, &stage);
}

/* One history row per target and one for the total: the difference of two snapshots. */
/* hs: four scratch histograms (a target's second, the total's, and the same of successes). */
/* A history row's times, from the second's histogram. */
static void row_times(struct rl_history_row *row, const struct rl_hist *h)
{
	static const double pcts[] = { 50, 90, 99 };
	uint64_t v[3];
	rl_hist_percentiles(h, pcts, 3, v);
	row->p50_ms = v[0] / 1000.0;
	row->p90_ms = v[1] / 1000.0;
	row->p99_ms = v[2] / 1000.0;
	row->max_ms = h->total ? h->max_us / 1000.0 : 0;
}

/* A fan-out group's second: its rounds, those not fully successful, batch times (the
 * group's live copies follow the targets' in cur and prev). */
static int group_history_rows(struct rl_result *res, size_t nt, size_t ng, const struct rl_live *cur,
			      const struct rl_live *prev, double t_end, double dt, struct rl_hist *diff)
{
	if (!ng)
		return 0;
	struct rl_history_row *rows = realloc(res->ghistory, (res->nhistory + 1) * ng * sizeof(*rows));
	if (!rows)
		return -1;
	res->ghistory = rows;
	for (size_t g = 0; g < ng; g++) {
		struct rl_history_row *row = &rows[res->nhistory * ng + g];
		const struct rl_live *c = &cur[nt + g], *p = &prev[nt + g];
		memset(row, 0, sizeof(*row));
		rl_hist_diff(diff, &c->hist, &p->hist);
		row->t = t_end;
		row->requests = c->requests - p->requests;
		row->failed = c->failed - p->failed;
		row->rps = (double)row->requests / dt;
		row_times(row, diff);
	}
	return 0;
}

static int history_row(struct rl_result *res, size_t nt, size_t ng, struct rl_live **curp,
		       struct rl_live **prevp, double t_end, double dt, double target_rps, struct rl_hist *hs)
{
	struct rl_live *cur = *curp, *prev = *prevp;
	struct rl_hist *diff = &hs[0], *total = &hs[1], *diff_ok = &hs[2], *total_ok = &hs[3];
	if (res->nhistory >= RL_HISTORY_MAX || dt <= 0)
		return 0;
	if (group_history_rows(res, nt, ng, cur, prev, t_end, dt, diff))
		return -1;
	struct rl_history_row *rows = realloc(res->history, (res->nhistory + 1) * (nt + 1) * sizeof(*rows));
	if (!rows)
		return -1;
	res->history = rows;
	struct rl_history_row *row = &rows[res->nhistory * (nt + 1)];
	rl_hist_empty(total);
	rl_hist_empty(total_ok);
	uint64_t req = 0, failed = 0, users = 0;
	for (size_t t = 0; t <= nt; t++, row++) {
		row->target_rps = 0;
		struct rl_hist *h = diff, *h_ok = diff_ok;
		if (t < nt) {
			/* the live copies keep failures and successes apart: the row's latency
			 * is both */
			rl_hist_diff(diff, &cur[t].hist, &prev[t].hist);
			rl_hist_diff(diff_ok, &cur[t].hist_ok, &prev[t].hist_ok);
			rl_hist_merge(diff, diff_ok);
			if (nt > 1) { /* a lone target's second is the total's */
				rl_hist_merge(total, diff);
				rl_hist_merge(total_ok, diff_ok);
			}
			row->requests = cur[t].requests - prev[t].requests;
			row->failed = cur[t].failed - prev[t].failed;
			/* (the last row is read after the workers closed: the second before's) */
			row->users = cur[t].open ? cur[t].open : prev[t].open;
			req += row->requests;
			failed += row->failed;
			users += row->users;
		} else if (nt == 1) { /* a lone target's second is the total's: its row */
			*row = row[-1];
			row->target_rps = target_rps;
			continue;
		} else {
			h = total;
			h_ok = total_ok;
			row->requests = req;
			row->failed = failed;
			row->users = users;
			row->target_rps = target_rps;
		}
		row->t = t_end;
		row->rps = (double)row->requests / dt;
		row_times(row, h);
		row->p99_ok_ms = rl_hist_percentile(h_ok, 99) / 1000.0;
	}
	/* this second's snapshot is the next one's start; the old start, scratch for the
	 * next snapshot, which overwrites it */
	*prevp = cur;
	*curp = prev;
	res->nhistory++;
	return 0;
}

/* A progress view for the plan's callback: counts from every worker, latency merged. */
static void progress_view(struct run_ctx *ctx, uint64_t now, struct rl_live *cur, struct rl_live *tmp,
			  struct rl_hist *all)
{
	const struct rl_plan *plan = ctx->sh.plan;
	struct rl_progress_view v = {
		.elapsed_ns = now - ctx->sh.start_ns,
		.span_ns = plan->warmup_ns + plan->duration_ns,
		.warming_up = now < ctx->sh.measure_ns,
		.requests_goal = plan->requests,
		.latency = all,
	};
	for (uint32_t i = 0; i < ctx->nworkers; i++) {
		struct rl_progress *p = &ctx->workers[i].progress;
		v.requests += atomic_load_explicit(&p->requests, memory_order_relaxed);
		v.failed += atomic_load_explicit(&p->failed, memory_order_relaxed);
		v.open_conns += atomic_load_explicit(&p->open_conns, memory_order_relaxed);
	}
	if (now > ctx->last_view_ns)
		v.rps = (double)(v.requests - ctx->last_view_requests) * 1e9 / (double)(now - ctx->last_view_ns);
	snapshot(ctx, cur, tmp);
	rl_hist_empty(all);
	for (size_t t = 0; t < ctx->sh.ntargets; t++) {
		rl_hist_merge(all, &cur[t].hist);
		rl_hist_merge(all, &cur[t].hist_ok);
	}
	v.targets = cur;
	v.ntargets = ctx->sh.ntargets;
	if (plan->progress)
		plan->progress(&v, plan->progress_arg);
	if (plan->live)
		plan->live(&v, plan->live_arg);
	ctx->last_view_requests = v.requests;
	ctx->last_view_ns = now;
}

/* Plan: workers, each one's connections, -n budget, rate share and fan-out users. */
/* Per-target counts (--requests-per-target, a scenario's "requests"): each worker gets
 * the part of a target's count its connections to that target make of all of them, the
 * rest going to the last worker that has any; its quota is their sum. */
static int per_target_quotas(struct run_ctx *ctx)
{
	size_t nt = ctx->sh.ntargets;
	bool any = false;
	for (size_t t = 0; t < nt; t++)
		any |= ctx->sh.targets[t].requests > 0;
	if (!any)
		return 0;
	uint64_t *conns = calloc(ctx->nworkers * nt, sizeof(*conns)), *total = calloc(nt, sizeof(*total));
	if (!conns || !total) {
		free(conns);
		free(total);
		return -1;
	}
	for (uint32_t i = 0; i < ctx->nworkers; i++)
		for (uint32_t k = 0; k < ctx->conns_of[i]; k++) {
			uint32_t t = rl_target_of_conn(&ctx->sh, ctx->args[i].first_conn + k);
			conns[i * nt + t]++;
			total[t]++;
		}
	int rc = 0;
	for (uint32_t i = 0; i < ctx->nworkers && !rc; i++) {
		struct rl_worker *w = &ctx->workers[i];
		w->tquota = calloc(nt, sizeof(*w->tquota));
		if (!w->tquota) {
			rc = -1;
			break;
		}
		w->quota = 0;
		for (size_t t = 0; t < nt; t++) {
			uint64_t budget = ctx->sh.targets[t].requests, given = 0;
			bool last = true;
			for (uint32_t j = i + 1; j < ctx->nworkers; j++)
				last &= !conns[j * nt + t];
			for (uint32_t j = 0; j < i; j++)
				given += total[t] ? budget * conns[j * nt + t] / total[t] : 0;
			uint64_t share = total[t] ? budget * conns[i * nt + t] / total[t] : 0;
			if (last && conns[i * nt + t])
				share = budget - given;
			w->tquota[t] = share;
			w->quota += share;
		}
	}
	free(conns);
	free(total);
	return rc;
}

static int plan_workers(struct run_ctx *ctx, const struct rl_group_def *groups, size_t ngroups,
			char *err, size_t errlen)
{
	const struct rl_plan *plan = ctx->sh.plan;
	struct rl_target *targets = ctx->sh.targets;
	size_t ntargets = ctx->sh.ntargets;
	/* with only fan-out groups, no more workers than virtual users */
	bool weighted = false;
	uint32_t nvus = 0;
	for (size_t t = 0; t < ntargets; t++)
		weighted |= targets[t].weight > 0;
	for (size_t g = 0; g < ngroups; g++)
		nvus += groups[g].concurrency;
	ctx->nworkers = plan->threads;
	if (!weighted && nvus && nvus < ctx->nworkers)
		ctx->nworkers = nvus;
	ctx->sh.nworkers = ctx->nworkers;
	ctx->workers = calloc(ctx->nworkers, sizeof(*ctx->workers));
	ctx->conns_of = calloc(ctx->nworkers, sizeof(*ctx->conns_of));
	ctx->vus_of = calloc(ctx->nworkers, sizeof(*ctx->vus_of));
	ctx->tids = calloc(ctx->nworkers, sizeof(*ctx->tids));
	ctx->args = calloc(ctx->nworkers, sizeof(*ctx->args));
	ctx->vu_groups = calloc(nvus + 1, sizeof(*ctx->vu_groups));
	ctx->sh.conns_of = ctx->conns_of;
	ctx->sh.vus_of = ctx->vus_of;
	if (!ctx->workers || !ctx->conns_of || !ctx->vus_of || !ctx->tids || !ctx->args || !ctx->vu_groups) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* connections spread evenly; an -n budget in proportion to them, so exactly N.
	 * Targets driven by fan-out groups take none: each group's virtual users go to
	 * the workers in turn, with a connection per member. */
	uint32_t regular = weighted ? plan->connections : 0;
	uint64_t budget_left = plan->requests;
	uint32_t first = 0, vu_next = 0;
	for (uint32_t i = 0; i < ctx->nworkers; i++) {
		struct rl_worker *w = &ctx->workers[i];
		ctx->conns_of[i] = regular / ctx->nworkers + (i < regular % ctx->nworkers);
		w->fan.vu_group = ctx->vu_groups + vu_next;
		for (uint32_t g = 0, k = 0; g < ngroups; g++)
			for (uint32_t v = 0; v < groups[g].concurrency; v++, k++)
				if (k % ctx->nworkers == i)
					ctx->vu_groups[vu_next + w->fan.nvus++] = g;
		vu_next += w->fan.nvus;
		ctx->vus_of[i] = w->fan.nvus;
		w->fan.active = w->fan.nvus; /* --stages changes it as it goes */
		if (ctx->conns_of[i] > RL_MAX_CONNS_PER_WORKER) {
			snprintf(err, errlen, "-c %u: at most %u connections per thread",
				 plan->connections, RL_MAX_CONNS_PER_WORKER);
			return -1;
		}
		w->id = i;
		w->sh = &ctx->sh;
		w->measuring = !plan->warmup_ns; /* else its statistics reset when the warm-up ends */
		if (plan->rate > 0) {
			/* each worker paces its share of the rate, in proportion to its connections */
			double share = regular ? plan->rate * ctx->conns_of[i] / plan->connections
					       : plan->rate * w->fan.nvus / nvus; /* groups alone: rounds/s by users */
			w->pace.open_loop = true;
			w->pace.interval_ns = (uint64_t)(1e9 / share);
			/* one schedule over every worker of every shard: worker i of shard s starts
			 * (i * shards + s) / (the whole run's rate) after the run, so N shards at
			 * R/N each make one even schedule of R */
			uint32_t shards = plan->shards ? plan->shards : 1;
			w->pace.phase_ns = (uint64_t)((double)(i * shards + plan->shard) * 1e9 / (plan->rate * shards));
			if (w->pace.phase_ns >= w->pace.interval_ns)
				w->pace.phase_ns = 0;
			if (!w->pace.interval_ns)
				w->pace.interval_ns = 1;
		}
		if (plan->requests && !regular) {
			/* fan-out groups alone: -n counts rounds, split by each worker's users */
			w->quota = i + 1 == ctx->nworkers ? budget_left : plan->requests * w->fan.nvus / nvus;
			budget_left -= w->quota;
		} else if (plan->requests) {
			w->quota = i + 1 == ctx->nworkers ? budget_left
				   : plan->requests * ctx->conns_of[i] / (regular ? regular : 1);
			budget_left -= w->quota;
		} else {
			w->quota = UINT64_MAX;
		}
		ctx->args[i] = (struct worker_arg){ ctx, i, first };
		first += ctx->conns_of[i];
	}
	if (per_target_quotas(ctx)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Start: one thread per worker; each sets itself up. The clock starts once every setup
 * succeeded; otherwise the workers are released to exit and the run fails. */
static int start_workers(struct run_ctx *ctx, struct rl_result *res, char *err, size_t errlen)
{
	for (; ctx->started < ctx->nworkers; ctx->started++)
		if (pthread_create(&ctx->tids[ctx->started], NULL, worker_thread, &ctx->args[ctx->started]))
			break;
	while (atomic_load(&ctx->ready) < ctx->started)
		usleep(100);
	int rc = 0;
	if (ctx->started < ctx->nworkers) {
		snprintf(err, errlen, "cannot start worker thread %u of %u", ctx->started + 1, ctx->nworkers);
		rc = -1;
	}
	for (uint32_t i = 0; i < ctx->started && !rc; i++) {
		if (ctx->workers[i].error) {
			snprintf(err, errlen, "cannot set up io_uring for worker %u: %s", i,
				 strerror(-ctx->workers[i].error));
			rc = -1;
		}
	}
	if (rc) {
		atomic_store(&ctx->sh.stop, 1);
		atomic_store(&ctx->go, 1);
		return -1;
	}
	if (ctx->workers[0].feat.rx_timestamps)
		ctx->stamps_fd = rl_rx_stamps_hold();
	const struct rl_plan *plan = ctx->sh.plan;
	if (plan->start_at_ns > 0) {
		/* --start-at: every shard's clock starts at the same instant (CLOCK_REALTIME) */
		struct timespec at = { plan->start_at_ns / 1000000000LL, plan->start_at_ns % 1000000000LL };
		while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL) == EINTR && !atomic_load(&ctx->sh.stop))
			;
	}
	getrusage(RUSAGE_SELF, &ctx->ru0);
	clock_gettime(CLOCK_REALTIME, &res->started_at);
	ctx->sh.start_ns = rl_now_ns();
	if (plan->start_at_ns > 0) {
		/* the clock starts at --start-at itself, not at this wake-up: a shard woken a few
		 * ms late (a busy machine) keeps its place in the shards' one schedule, and the
		 * requests it owes are sent at once and measured from their intended starts */
		int64_t late = (int64_t)res->started_at.tv_sec * 1000000000LL + res->started_at.tv_nsec -
			       plan->start_at_ns;
		if (late > 0 && (uint64_t)late < ctx->sh.start_ns)
			ctx->sh.start_ns -= (uint64_t)late;
	}
	ctx->sh.measure_ns = ctx->sh.start_ns + plan->warmup_ns;
	ctx->sh.deadline_ns = plan->duration_ns ? ctx->sh.measure_ns + plan->duration_ns : 0;
	ctx->last_view_ns = ctx->sh.start_ns;
	atomic_store(&ctx->go, 1);
	return 0;
}

/* Watch: signals, progress views and a history row per second, until every worker is
 * done. */
static int watch_run(struct run_ctx *ctx, struct rl_result *res, char *err, size_t errlen)
{
	const struct rl_plan *plan = ctx->sh.plan;
	size_t nt = ctx->sh.ntargets;
	int rc = 0;
	if (!ctx->cur || !ctx->prev || !ctx->tmp || !ctx->hs) {
		snprintf(err, errlen, "out of memory");
		atomic_store(&ctx->sh.stop, 1);
		rc = -1;
	}
	for (size_t t = 0; !rc && t < nt + ctx->sh.ngroups; t++) {
		rl_hist_reset(&ctx->prev[t].hist);
		rl_hist_reset(&ctx->prev[t].hist_ok);
	}
	uint64_t next_row = ctx->sh.measure_ns + NS_PER_S, last_view = ctx->sh.start_ns;
	while (atomic_load(&ctx->done) < ctx->nworkers) {
		struct timespec tick = { 0, WATCH_TICK_NS };
		int sig = sigtimedwait(&ctx->sigs, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM) {
			atomic_store(&ctx->sh.stop, 1);
			res->interrupted = true;
		}
		if (rc)
			continue;
		uint64_t now = rl_now_ns();
		if ((plan->progress || plan->live) && now - last_view >= PROGRESS_EVERY_NS) {
			progress_view(ctx, now, ctx->cur, ctx->tmp, &ctx->hs[0]);
			last_view = now;
		}
		/* a history row per second, once every worker has published that second (they
		 * publish on 200 ms ticks aligned to the start, at least every 5 ms of loop) */
		if (now >= next_row + HISTORY_SETTLE_NS) {
			snapshot(ctx, ctx->cur, ctx->tmp);
			ctx->rows_done++;
			history_row(res, nt, ctx->sh.ngroups, &ctx->cur, &ctx->prev, ctx->rows_done, 1.0,
				    offered_rate(ctx, (double)ctx->rows_done), ctx->hs);
			next_row += NS_PER_S;
		}
	}
	return rc;
}

static void merge_groups(struct run_ctx *ctx, struct rl_result *res, size_t ngroups)
{
	res->ngroups = ngroups;
	res->groups = ngroups ? calloc(ngroups, sizeof(*res->groups)) : NULL;
	for (size_t g = 0; g < ngroups && res->groups; g++) {
		struct rl_group_stats *dst = &res->groups[g];
		rl_hist_reset(&dst->latency);
		for (uint32_t i = 0; i < ctx->nworkers; i++) {
			const struct rl_group_stats *src = &ctx->workers[i].fan.stats[g];
			dst->rounds += src->rounds;
			dst->full += src->full;
			dst->partial += src->partial;
			dst->failed += src->failed;
			for (int k = 0; k <= RL_MAX_GROUP_MEMBERS; k++)
				dst->by_successes[k] += src->by_successes[k];
			rl_hist_merge(&dst->latency, &src->latency);
		}
	}
}

/* Collect: every worker's statistics merged per target, per stage and in total; the
 * groups; the last partial history row; the client's own cost. */
static int collect(struct run_ctx *ctx, struct rl_result *res, size_t ngroups, char *err, size_t errlen)
{
	const struct rl_plan *plan = ctx->sh.plan;
	size_t ntargets = ctx->sh.ntargets;
	struct rusage ru1;
	getrusage(RUSAGE_SELF, &ru1);
	for (uint32_t i = 0; i < ctx->nworkers; i++) {
		if (ctx->workers[i].error) {
			snprintf(err, errlen, "io_uring failed in worker %u: %s", i, strerror(-ctx->workers[i].error));
			return -1;
		}
	}
	res->ntargets = ntargets;
	res->targets = malloc(ntargets * sizeof(*res->targets));
	res->nstages = plan->nstages;
	res->stages = plan->nstages ? malloc(plan->nstages * sizeof(*res->stages)) : NULL;
	if (!res->targets || (plan->nstages && !res->stages)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t t = 0; t < ntargets; t++)
		rl_stats_init(&res->targets[t]);
	rl_stats_init(&res->total);
	for (size_t s = 0; s < plan->nstages; s++)
		rl_stats_init(&res->stages[s]);
	uint64_t end = ctx->sh.measure_ns;
	for (uint32_t i = 0; i < ctx->nworkers; i++) {
		struct rl_worker *w = &ctx->workers[i];
		if (w->end_ns > end)
			end = w->end_ns;
		for (size_t s = 0; s < w->nstage_stats; s++) {
			for (size_t t = 0; t < ntargets; t++) {
				const struct rl_stats *st = &w->stage_stats[s * ntargets + t];
				rl_stats_merge(&res->targets[t], st);
				rl_stats_merge(&res->total, st);
				if (res->stages)
					rl_stats_merge(&res->stages[s], st);
			}
		}
		res->io.enters += w->io.enters;
		res->io.sends += w->io.sends;
		res->io.recvs += w->io.recvs;
		uint64_t seq = w->tpl.seq > w->tpl.line_seq ? w->tpl.seq : w->tpl.line_seq;
		if (seq > res->next_seq)
			res->next_seq = seq;
		if (w->pace.open_loop) {
			if (w->pace.due_k > w->pace.next_k)
				res->not_sent += w->pace.due_k - w->pace.next_k;
			res->max_backlog += w->pace.max_backlog;
		}
	}
	/* the results' latency is every request's: the workers keep successes apart */
	for (size_t t = 0; t < ntargets; t++)
		rl_acct_fold_latency(&res->targets[t]);
	rl_acct_fold_latency(&res->total);
	for (size_t s = 0; res->stages && s < plan->nstages; s++)
		rl_acct_fold_latency(&res->stages[s]);
	merge_groups(ctx, res, ngroups);
	res->features = ctx->workers[0].feat;
	/* the last (partial) second, from the workers' own state: rows add up exactly */
	live_reset(ctx->cur, ntargets + ctx->sh.ngroups);
	for (uint32_t i = 0; i < ctx->nworkers; i++) {
		rl_worker_live_counts(&ctx->workers[i], ctx->workers[i].live);
		live_add(ctx->cur, ctx->workers[i].live, ntargets + ctx->sh.ngroups, ctx->sh.plan->live);
	}
	double dur = (double)(end - ctx->sh.measure_ns) / 1e9;
	if (dur > ctx->rows_done)
		history_row(res, ntargets, ctx->sh.ngroups, &ctx->cur, &ctx->prev, dur, dur - ctx->rows_done,
			    offered_rate(ctx, dur), ctx->hs);
	res->duration_s = end > ctx->sh.measure_ns ? dur : 0;
	res->cpu_user_s = (double)(ru1.ru_utime.tv_sec - ctx->ru0.ru_utime.tv_sec) +
			  (double)(ru1.ru_utime.tv_usec - ctx->ru0.ru_utime.tv_usec) / 1e6;
	res->cpu_sys_s = (double)(ru1.ru_stime.tv_sec - ctx->ru0.ru_stime.tv_sec) +
			 (double)(ru1.ru_stime.tv_usec - ctx->ru0.ru_stime.tv_usec) / 1e6;
	res->max_rss_kb = ru1.ru_maxrss;
	return 0;
}

int rl_engine_run(const struct rl_plan *plan, struct rl_target *targets, size_t ntargets,
		  const struct rl_group_def *groups, size_t ngroups,
		  struct rl_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	struct run_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.stamps_fd = -1;
	ctx.sh.plan = plan;
	ctx.sh.stages = rl_plan_stages(plan);
	ctx.sh.targets = targets;
	ctx.sh.ntargets = ntargets;
	ctx.sh.groups = groups;
	ctx.sh.ngroups = ngroups;
	/* snapshots for progress views and the per-second history (main thread only) */
	ctx.cur = calloc(ntargets + ngroups, sizeof(*ctx.cur));
	ctx.prev = calloc(ntargets + ngroups, sizeof(*ctx.prev));
	ctx.tmp = calloc(ntargets + ngroups, sizeof(*ctx.tmp));
	ctx.hs = calloc(4, sizeof(*ctx.hs)); /* zeroed: empty histograms */

	/* workers never see SIGINT/SIGTERM: the main thread takes them with sigtimedwait */
	sigemptyset(&ctx.sigs);
	sigaddset(&ctx.sigs, SIGINT);
	sigaddset(&ctx.sigs, SIGTERM);
	sigset_t old;
	pthread_sigmask(SIG_BLOCK, &ctx.sigs, &old);

	int rc = plan_workers(&ctx, groups, ngroups, err, errlen);
	if (!rc)
		rc = start_workers(&ctx, res, err, errlen);
	if (!rc)
		rc = watch_run(&ctx, res, err, errlen);
	for (uint32_t i = 0; i < ctx.started; i++)
		pthread_join(ctx.tids[i], NULL);
	if (!rc)
		rc = collect(&ctx, res, ngroups, err, errlen);

	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ctx.stamps_fd >= 0)
		close(ctx.stamps_fd);
	for (uint32_t i = 0; ctx.workers && i < ctx.nworkers; i++)
		rl_worker_free(&ctx.workers[i]);
	free(ctx.workers);
	free(ctx.conns_of);
	free(ctx.vus_of);
	free(ctx.vu_groups);
	free(ctx.tids);
	free(ctx.args);
	free(ctx.cur);
	free(ctx.prev);
	free(ctx.tmp);
	free(ctx.hs);
	if (rc)
		rl_result_free(res);
	return rc;
}

void rl_result_free(struct rl_result *res)
{
	free(res->targets);
	free(res->stages);
	free(res->groups);
	free(res->history);
	free(res->ghistory);
	res->history = res->ghistory = NULL;
	res->groups = NULL;
	res->targets = NULL;
	res->stages = NULL;
}
