/* A run: split connections and the -n budget over workers, start one thread per worker
 * (each builds its own ring: SINGLE_ISSUER binds a ring to the thread that made it),
 * start the clock when all are ready, draw progress and take signals in the main
 * thread, then merge the workers' statistics. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ringload/units.h"
#include "worker.h"

#define PROGRESS_EVERY_NS 250000000ULL
#define RL_HISTORY_MAX    86400 /* a day of rows; a longer run keeps its first day */

struct run_ctx {
	struct rl_shared sh;
	struct rl_worker *workers;
	uint32_t nworkers;
	uint32_t *conns_of;
	_Atomic uint32_t ready, done;
	_Atomic int go;
};

struct worker_arg {
	struct run_ctx *ctx;
	uint32_t index, first_conn;
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
		cur[t].requests = cur[t].failed = 0;
		rl_hist_reset(&cur[t].hist);
	}
}

static void live_add(struct rl_live *cur, const struct rl_live *src, size_t nt)
{
	for (size_t t = 0; t < nt; t++) {
		cur[t].requests += src[t].requests;
		cur[t].failed += src[t].failed;
		rl_hist_merge(&cur[t].hist, &src[t].hist);
	}
}

static void snapshot(struct run_ctx *ctx, struct rl_live *cur, struct rl_live *tmp)
{
	size_t nt = ctx->sh.ntargets;
	live_reset(cur, nt);
	for (uint32_t i = 0; i < ctx->nworkers; i++) {
		struct rl_progress *p = &ctx->workers[i].progress;
		for (int tries = 0; tries < 64; tries++) {
			uint64_t a = atomic_load_explicit(&p->hist_seq, memory_order_acquire);
			if (a & 1)
				continue;
			memcpy(tmp, p->pub, nt * sizeof(*tmp));
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&p->hist_seq, memory_order_relaxed) != a)
				continue;
			live_add(cur, tmp, nt);
			break;
		}
	}
}

/* One history row per target and one for the total: the difference of two snapshots. */
static int history_row(struct rl_result *res, size_t nt, const struct rl_live *cur,
		       struct rl_live *prev, double t_end, double dt, struct rl_hist *diff,
		       struct rl_hist *total)
{
	if (res->nhistory >= RL_HISTORY_MAX || dt <= 0)
		return 0;
	struct rl_history_row *rows = realloc(res->history, (res->nhistory + 1) * (nt + 1) * sizeof(*rows));
	if (!rows)
		return -1;
	res->history = rows;
	struct rl_history_row *row = &rows[res->nhistory * (nt + 1)];
	rl_hist_reset(total);
	uint64_t req = 0, failed = 0;
	for (size_t t = 0; t <= nt; t++, row++) {
		struct rl_hist *h = diff;
		if (t < nt) {
			rl_hist_diff(diff, &cur[t].hist, &prev[t].hist);
			rl_hist_merge(total, diff);
			row->requests = cur[t].requests - prev[t].requests;
			row->failed = cur[t].failed - prev[t].failed;
			req += row->requests;
			failed += row->failed;
		} else {
			h = total;
			row->requests = req;
			row->failed = failed;
		}
		row->t = t_end;
		row->rps = (double)row->requests / dt;
		row->p50_ms = rl_hist_percentile(h, 50) / 1000.0;
		row->p90_ms = rl_hist_percentile(h, 90) / 1000.0;
		row->p99_ms = rl_hist_percentile(h, 99) / 1000.0;
		row->max_ms = h->total ? h->max_us / 1000.0 : 0;
	}
	memcpy(prev, cur, nt * sizeof(*prev));
	res->nhistory++;
	return 0;
}

static void draw_progress(struct run_ctx *ctx, const struct rl_options *o, uint64_t now,
			  uint64_t *last_req, uint64_t *last_ns, struct rl_live *cur, struct rl_live *tmp,
			  struct rl_hist *all)
{
	uint64_t req = 0, failed = 0, open = 0;
	for (uint32_t i = 0; i < ctx->nworkers; i++) {
		struct rl_progress *p = &ctx->workers[i].progress;
		req += atomic_load_explicit(&p->requests, memory_order_relaxed);
		failed += atomic_load_explicit(&p->failed, memory_order_relaxed);
		open += atomic_load_explicit(&p->open_conns, memory_order_relaxed);
	}
	double elapsed = (double)(now - ctx->sh.start_ns) / 1e9;
	double span = (double)(o->warmup_ns + o->duration_ns) / 1e9;
	double frac;
	char total[48];
	if (o->requests && (!o->duration_ns || (double)req / (double)o->requests > elapsed / span)) {
		frac = (double)req / (double)o->requests;
		snprintf(total, sizeof(total), "%llu/%llu req", (unsigned long long)req,
			 (unsigned long long)o->requests);
	} else {
		frac = elapsed / span;
		snprintf(total, sizeof(total), "%.1fs/%.1fs%s", elapsed, span,
			 now < ctx->sh.measure_ns ? " warm-up" : "");
	}
	if (frac > 1)
		frac = 1;
	char bar[21];
	int fill = (int)(frac * 20);
	for (int i = 0; i < 20; i++)
		bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
	bar[20] = 0;
	double rps = now > *last_ns ? (double)(req - *last_req) * 1e9 / (double)(now - *last_ns) : 0;
	char rbuf[16], p50[24], p99[24];
	snapshot(ctx, cur, tmp);
	rl_hist_reset(all);
	for (size_t t = 0; t < ctx->sh.ntargets; t++)
		rl_hist_merge(all, &cur[t].hist);
	fprintf(stderr, "\r\033[K[%s] %s  %s req/s  p50 %s  p99 %s  errors %llu  conns %llu", bar, total,
		rl_fmt_count(rbuf, sizeof(rbuf), rps),
		rl_fmt_ms(p50, sizeof(p50), rl_hist_percentile(all, 50) / 1000.0),
		rl_fmt_ms(p99, sizeof(p99), rl_hist_percentile(all, 99) / 1000.0),
		(unsigned long long)failed, (unsigned long long)open);
	*last_req = req;
	*last_ns = now;
}

int rl_engine_run(const struct rl_options *o, struct rl_target *targets, size_t ntargets,
		  const struct rl_group_def *groups, size_t ngroups,
		  struct rl_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	struct rl_live *cur = NULL, *prev = NULL, *tmp = NULL; /* history and progress snapshots */
	struct rl_hist *hs = NULL;
	struct run_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.sh.opt = o;
	ctx.sh.targets = targets;
	ctx.sh.ntargets = ntargets;
	ctx.sh.groups = groups;
	ctx.sh.ngroups = ngroups;
	ctx.nworkers = o->threads;
	{
		/* with only fan-out groups, no more workers than virtual users */
		bool weighted = false;
		uint32_t vus = 0;
		for (size_t t = 0; t < ntargets; t++)
			weighted |= targets[t].weight > 0;
		for (size_t g = 0; g < ngroups; g++)
			vus += groups[g].concurrency;
		if (!weighted && vus && vus < ctx.nworkers)
			ctx.nworkers = vus;
	}
	ctx.sh.nworkers = ctx.nworkers;
	ctx.workers = calloc(ctx.nworkers, sizeof(*ctx.workers));
	ctx.conns_of = calloc(ctx.nworkers, sizeof(*ctx.conns_of));
	pthread_t *tids = calloc(ctx.nworkers, sizeof(*tids));
	struct worker_arg *args = calloc(ctx.nworkers, sizeof(*args));
	ctx.sh.conns_of = ctx.conns_of;
	if (!ctx.workers || !ctx.conns_of || !tids || !args) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* connections spread evenly; an -n budget in proportion to them, so exactly N.
	 * Targets driven by fan-out groups take none: each group's virtual users go to
	 * the workers in turn, with a connection per member. */
	uint32_t regular = 0;
	for (size_t t = 0; t < ntargets; t++)
		if (targets[t].weight)
			regular = o->connections;
	uint32_t nvus = 0;
	for (size_t g = 0; g < ngroups; g++)
		nvus += groups[g].concurrency;
	uint32_t *vu_groups = calloc(nvus + 1, sizeof(*vu_groups));
	if (!vu_groups) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < ctx.nworkers; i++)
		ctx.workers[i].vu_group = vu_groups; /* each worker's slice is set below */
	uint64_t budget_left = o->requests;
	uint32_t first = 0, vu_next = 0;
	for (uint32_t i = 0; i < ctx.nworkers; i++) {
		struct rl_worker *w = &ctx.workers[i];
		ctx.conns_of[i] = regular / ctx.nworkers + (i < regular % ctx.nworkers);
		w->vu_group = vu_groups + vu_next;
		for (uint32_t g = 0, k = 0; g < ngroups; g++)
			for (uint32_t v = 0; v < groups[g].concurrency; v++, k++)
				if (k % ctx.nworkers == i)
					vu_groups[vu_next + w->nvus++] = g;
		vu_next += w->nvus;
		if (ctx.conns_of[i] > RL_MAX_CONNS_PER_WORKER) {
			snprintf(err, errlen, "-c %u: at most %u connections per thread",
				 o->connections, RL_MAX_CONNS_PER_WORKER);
			return -1;
		}
		w->id = i;
		w->sh = &ctx.sh;
		w->measuring = !o->warmup_ns; /* else its statistics reset when the warm-up ends */
		if (o->rate > 0) {
			/* each worker paces its share of the rate, in proportion to its connections */
			double share = o->rate * ctx.conns_of[i] / o->connections;
			w->open_loop = true;
			w->interval_ns = (uint64_t)(1e9 / share);
			if (!w->interval_ns)
				w->interval_ns = 1;
		}
		if (o->requests) {
			w->quota = i + 1 == ctx.nworkers ? budget_left
				   : o->requests * ctx.conns_of[i] / (regular ? regular : 1);
			budget_left -= w->quota;
		} else {
			w->quota = UINT64_MAX;
		}
		args[i] = (struct worker_arg){ &ctx, i, first };
		first += ctx.conns_of[i];
	}

	/* workers never see SIGINT/SIGTERM: the main thread takes them with sigtimedwait */
	sigset_t sigs, old;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);

	uint32_t started = 0;
	for (; started < ctx.nworkers; started++)
		if (pthread_create(&tids[started], NULL, worker_thread, &args[started]))
			break;
	while (atomic_load(&ctx.ready) < started)
		usleep(100);
	int rc = 0;
	if (started < ctx.nworkers) {
		snprintf(err, errlen, "cannot start worker thread %u of %u", started + 1, ctx.nworkers);
		rc = -1;
	}
	for (uint32_t i = 0; i < started && !rc; i++) {
		if (ctx.workers[i].error) {
			snprintf(err, errlen, "cannot set up io_uring for worker %u: %s", i,
				 strerror(-ctx.workers[i].error));
			rc = -1;
		}
	}
	if (rc) {
		atomic_store(&ctx.sh.stop, 1);
		atomic_store(&ctx.go, 1);
		for (uint32_t i = 0; i < started; i++)
			pthread_join(tids[i], NULL);
		goto out;
	}
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	clock_gettime(CLOCK_REALTIME, &res->started_at);
	ctx.sh.start_ns = rl_now_ns();
	ctx.sh.measure_ns = ctx.sh.start_ns + o->warmup_ns;
	ctx.sh.deadline_ns = o->duration_ns ? ctx.sh.measure_ns + o->duration_ns : 0;
	atomic_store(&ctx.go, 1);

	bool show = o->progress && !o->quiet && isatty(STDERR_FILENO);
	/* snapshots for the progress line and the per-second history (main thread only) */
	cur = calloc(ntargets, sizeof(*cur));
	prev = calloc(ntargets, sizeof(*prev));
	tmp = calloc(ntargets, sizeof(*tmp));
	hs = malloc(2 * sizeof(*hs));
	if (!cur || !prev || !tmp || !hs) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
		atomic_store(&ctx.sh.stop, 1);
	}
	for (size_t t = 0; prev && t < ntargets; t++)
		rl_hist_reset(&prev[t].hist);
	uint64_t next_row = ctx.sh.measure_ns + 1000000000ULL;
	unsigned rows_done = 0;
	uint64_t last_draw = ctx.sh.start_ns, last_req = 0, last_req_ns = ctx.sh.start_ns;
	while (atomic_load(&ctx.done) < ctx.nworkers) {
		struct timespec tick = { 0, 20000000 };
		int sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM) {
			atomic_store(&ctx.sh.stop, 1);
			res->interrupted = true;
		}
		uint64_t now = rl_now_ns();
		if (show && now - last_draw >= PROGRESS_EVERY_NS && !rc) {
			draw_progress(&ctx, o, now, &last_req, &last_req_ns, cur, tmp, &hs[0]);
			last_draw = now;
		}
		/* a history row per second, once every worker has published that second (they
		 * publish on 200 ms ticks aligned to the start, at least every 5 ms of loop) */
		if (!rc && now >= next_row + 60000000ULL) {
			snapshot(&ctx, cur, tmp);
			history_row(res, ntargets, cur, prev, ++rows_done, 1.0, &hs[0], &hs[1]);
			next_row += 1000000000ULL;
		}
	}
	for (uint32_t i = 0; i < ctx.nworkers; i++)
		pthread_join(tids[i], NULL);
	getrusage(RUSAGE_SELF, &ru1);
	if (show)
		fputs("\r\033[K", stderr);

	res->ntargets = ntargets;
	res->targets = malloc(ntargets * sizeof(*res->targets));
	if (!res->targets) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
		goto out;
	}
	for (size_t t = 0; t < ntargets; t++)
		rl_stats_init(&res->targets[t]);
	rl_stats_init(&res->total);
	uint64_t end = ctx.sh.measure_ns;
	res->nstages = o->nstages;
	res->stages = o->nstages ? malloc(o->nstages * sizeof(*res->stages)) : NULL;
	for (size_t s = 0; s < o->nstages && res->stages; s++)
		rl_stats_init(&res->stages[s]);
	for (uint32_t i = 0; i < ctx.nworkers; i++) {
		struct rl_worker *w = &ctx.workers[i];
		if (w->end_ns > end)
			end = w->end_ns;
		for (size_t s = 0; s < w->nstage_stats && w->stage_stats; s++) {
			for (size_t t = 0; t < ntargets; t++) {
				const struct rl_stats *st = &w->stage_stats[s * ntargets + t];
				rl_stats_merge(&res->targets[t], st);
				rl_stats_merge(&res->total, st);
				if (res->stages)
					rl_stats_merge(&res->stages[s], st);
			}
		}
	}
	res->ngroups = ngroups;
	res->groups = ngroups ? calloc(ngroups, sizeof(*res->groups)) : NULL;
	for (size_t g = 0; g < ngroups && res->groups; g++) {
		rl_hist_reset(&res->groups[g].latency);
		for (uint32_t i = 0; i < ctx.nworkers; i++) {
			const struct rl_group_stats *src = ctx.workers[i].gstats ? &ctx.workers[i].gstats[g] : NULL;
			if (!src)
				continue;
			struct rl_group_stats *dst = &res->groups[g];
			dst->rounds += src->rounds;
			dst->full += src->full;
			dst->partial += src->partial;
			dst->failed += src->failed;
			for (int k = 0; k <= RL_MAX_GROUP_MEMBERS; k++)
				dst->by_successes[k] += src->by_successes[k];
			rl_hist_merge(&dst->latency, &src->latency);
		}
	}
	res->features = ctx.workers[0].feat;
	for (uint32_t i = 0; i < ctx.nworkers; i++) {
		res->io.enters += ctx.workers[i].io.enters;
		res->io.sends += ctx.workers[i].io.sends;
		res->io.recvs += ctx.workers[i].io.recvs;
	}
	if (cur) {
		/* the last (partial) second, from the workers' own state: rows add up exactly */
		live_reset(cur, ntargets);
		for (uint32_t i = 0; i < ctx.nworkers; i++) {
			struct rl_worker *w = &ctx.workers[i];
			if (!w->live)
				continue;
			rl_worker_live_counts(w);
			live_add(cur, w->live, ntargets);
		}
		double dur = (double)(end - ctx.sh.measure_ns) / 1e9;
		if (dur > rows_done)
			history_row(res, ntargets, cur, prev, dur, dur - rows_done, &hs[0], &hs[1]);
	}
	for (uint32_t i = 0; i < ctx.nworkers; i++) {
		struct rl_worker *w = &ctx.workers[i];
		if (!w->open_loop)
			continue;
		if (w->due_k > w->next_k)
			res->not_sent += w->due_k - w->next_k;
		res->max_backlog += w->max_backlog;
	}
	res->duration_s = end > ctx.sh.measure_ns ? (double)(end - ctx.sh.measure_ns) / 1e9 : 0;
	res->cpu_user_s = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
			  (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6;
	res->cpu_sys_s = (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
			 (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	res->max_rss_kb = ru1.ru_maxrss;
out:
	free(cur);
	free(prev);
	free(tmp);
	free(hs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (uint32_t i = 0; i < ctx.nworkers; i++)
		rl_worker_free(&ctx.workers[i]);
	free(ctx.workers);
	free(ctx.conns_of);
	free(vu_groups);
	free(tids);
	free(args);
	return rc;
}

void rl_result_free(struct rl_result *res)
{
	free(res->targets);
	free(res->stages);
	free(res->groups);
	free(res->history);
	res->history = NULL;
	res->groups = NULL;
	res->targets = NULL;
	res->stages = NULL;
}
