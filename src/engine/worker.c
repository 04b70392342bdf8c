/* One worker: its ring (with the best setup the kernel accepts), its connections, and
 * the event loop. Every completion is dispatched from the one switch in
 * rl_worker_run; connection logic lives in conn.c. All memory is allocated in
 * rl_worker_setup, before the clock starts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ringload/stages.h"
#include "worker.h"

#define RECV_BUF_SIZE   16384
#define WAIT_MAX_NS     5000000ULL /* timers and the stop flag are checked at least this often */

static unsigned pow2_at_least(unsigned v)
{
	unsigned p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

static int ring_init(struct rl_worker *w, unsigned entries)
{
	return rl_ring_init(&w->ring, entries, entries * 4, IORING_SETUP_CQSIZE,
			    !rl_compat_off("nodefer"), &w->feat.defer_taskrun);
}

/* Connections go to targets by weight, interleaved: with weights 2 and 1 the global
 * connections run A A B A A B ..., so every worker gets the same mix. */
static uint32_t target_of_conn(const struct rl_shared *sh, uint32_t g)
{
	uint32_t total = 0;
	for (size_t i = 0; i < sh->ntargets; i++)
		total += sh->targets[i].weight;
	if (!total)
		return 0;
	uint32_t pos = g % total;
	for (size_t i = 0; i < sh->ntargets; i++) {
		if (pos < sh->targets[i].weight)
			return (uint32_t)i;
		pos -= sh->targets[i].weight;
	}
	return 0;
}

int rl_worker_setup(struct rl_worker *w, uint32_t nconns, uint32_t first_global_conn)
{
	const struct rl_options *o = w->sh->opt;
	w->nregular = nconns;
	for (uint32_t v = 0; v < w->nvus; v++)
		nconns += w->sh->groups[w->vu_group[v]].nmembers;
	w->nconns = nconns;
	if (!nconns)
		return -EINVAL;
	w->buf_size = RECV_BUF_SIZE;
	int rc = ring_init(w, pow2_at_least(nconns * 2 + 64 < 4096 ? nconns * 2 + 64 : 4096));
	if (rc)
		return rc;
	/* a registered ring fd (5.18) spares io_uring_enter its file lookup; optional */
	io_uring_register_ring_fd(&w->ring);

	if (!rl_compat_off("nofixed") && io_uring_register_files_sparse(&w->ring, nconns) == 0)
		w->feat.fixed_files = true;

	if (!rl_compat_off("nobufring")) {
		unsigned n = pow2_at_least(nconns * 2);
		if (n < 256)
			n = 256;
		if (n > 4096)
			n = 4096;
		int err;
		w->br = rl_setup_buf_ring(&w->ring, n, 0, &err);
		if (w->br) {
			w->bufs = mmap(NULL, (size_t)n * w->buf_size, PROT_READ | PROT_WRITE,
				       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
			if (w->bufs == MAP_FAILED) {
				w->bufs = NULL;
				return -ENOMEM;
			}
			w->nbufs = n;
			for (unsigned i = 0; i < n; i++)
				io_uring_buf_ring_add(w->br, w->bufs + (size_t)i * w->buf_size,
						      w->buf_size, (unsigned short)i,
						      io_uring_buf_ring_mask(n), (int)i);
			io_uring_buf_ring_advance(w->br, (int)n);
			w->feat.buf_ring = true;
		}
	}

	size_t max_req = 0, max_body = 0;
	bool h2 = false;
	for (size_t i = 0; i < w->sh->ntargets; i++) {
		if (w->sh->targets[i].request_max > max_req)
			max_req = w->sh->targets[i].request_max;
		if (w->sh->targets[i].tpl_body.max_len > max_body)
			max_body = w->sh->targets[i].tpl_body.max_len;
		h2 |= w->sh->targets[i].proto != RL_PROTO_H1;
	}
	/* HTTP/1.1: up to `pipeline` requests sent but unanswered plus as many newly
	 * issued. HTTP/2: room for a full DATA frame beside a turn's HEADERS frames. */
	w->out_cap = (uint32_t)(2 * o->pipeline * max_req);
	if (h2 && w->out_cap < 65536 + 2 * o->streams * max_req)
		w->out_cap = (uint32_t)(65536 + 2 * o->streams * max_req);
	uint32_t slots = o->pipeline > o->streams ? o->pipeline : o->streams;
	rl_h2_mem_init(w);
	/* {{seq}} is unique across workers: worker i renders i, i + n, i + 2n, ... */
	rl_tpl_state_init(&w->tpl, rl_now_ns() ^ ((uint64_t)w->id << 48), w->id, w->sh->opt->threads);
	w->tpl_scratch = malloc(max_body + 1);
	for (size_t i = 0; i < w->sh->ntargets; i++) {
		const struct rl_target *t = &w->sh->targets[i];
		if (!t->h2_templated)
			continue;
		if (t->h2_nvlen > w->slot_nvlen)
			w->slot_nvlen = t->h2_nvlen;
		if (t->h2_render_max > w->slot_render)
			w->slot_render = t->h2_render_max;
	}
	if (w->slot_nvlen) {
		w->slot_nva_mem = calloc((size_t)nconns * o->streams * w->slot_nvlen, sizeof(nghttp2_nv));
		w->slot_render_mem = malloc((size_t)nconns * o->streams * (w->slot_render + 1));
		if (!w->slot_nva_mem || !w->slot_render_mem)
			return -ENOMEM;
	}
	w->conns = calloc(nconns, sizeof(*w->conns));
	w->req_mem = calloc((size_t)nconns * slots, sizeof(*w->req_mem));
	w->out_mem = malloc((size_t)nconns * w->out_cap);
	w->live = calloc(w->sh->ntargets, sizeof(*w->live));
	w->progress.pub = calloc(w->sh->ntargets, sizeof(*w->progress.pub));
	if (!w->live || !w->progress.pub)
		return -ENOMEM;
	for (size_t t = 0; t < w->sh->ntargets; t++) {
		rl_hist_reset(&w->live[t].hist);
		rl_hist_reset(&w->progress.pub[t].hist);
	}
	w->nstage_stats = o->nstages ? o->nstages : 1;
	w->stage_stats = malloc(w->nstage_stats * w->sh->ntargets * sizeof(*w->stage_stats));
	w->stats = w->stage_stats;
	if (!w->feat.buf_ring)
		w->rbuf_mem = malloc((size_t)nconns * w->buf_size);
	if (!w->conns || !w->req_mem || !w->out_mem || !w->stats || !w->tpl_scratch ||
	    (!w->feat.buf_ring && !w->rbuf_mem))
		return -ENOMEM;
	for (size_t i = 0; w->stage_stats && i < w->nstage_stats * w->sh->ntargets; i++)
		rl_stats_init(&w->stage_stats[i]);
	w->vus = calloc(w->nvus + 1, sizeof(*w->vus));
	w->vu_done = calloc(w->nvus + 1, sizeof(*w->vu_done));
	w->gstats = calloc(w->sh->ngroups + 1, sizeof(*w->gstats));
	if (!w->vus || !w->vu_done || !w->gstats)
		return -ENOMEM;
	for (size_t g = 0; g < w->sh->ngroups; g++)
		rl_hist_reset(&w->gstats[g].latency);
	for (uint32_t v = 0, next = w->nregular; v < w->nvus; v++) {
		const struct rl_group_def *gd = &w->sh->groups[w->vu_group[v]];
		w->vus[v] = (struct rl_vu){ .group = w->vu_group[v], .first_conn = next, .nmembers = gd->nmembers };
		for (uint32_t m = 0; m < gd->nmembers; m++, next++) {
			w->conns[next].vu = &w->vus[v];
			w->conns[next].member = (uint8_t)m;
			w->conns[next].target = gd->members[m];
		}
	}
	for (uint32_t i = 0; i < nconns; i++) {
		struct rl_conn *c = &w->conns[i];
		c->slot = i;
		c->fd = -1;
		if (i < w->nregular)
			c->target = target_of_conn(w->sh, first_global_conn + i);
		c->reqs = &w->req_mem[(size_t)i * slots];
		c->w = w;
		if (w->slot_nvlen) {
			c->slot_nva = &w->slot_nva_mem[(size_t)i * o->streams * w->slot_nvlen];
			c->slot_render = &w->slot_render_mem[(size_t)i * o->streams * (w->slot_render + 1)];
		}
		c->out = &w->out_mem[(size_t)i * w->out_cap];
		if (w->rbuf_mem)
			c->rbuf = &w->rbuf_mem[(size_t)i * w->buf_size];
	}
	w->connect_ts.tv_sec = (long long)(o->connect_timeout_ns / 1000000000);
	w->connect_ts.tv_nsec = (long long)(o->connect_timeout_ns % 1000000000);
	return 0;
}

void rl_worker_free(struct rl_worker *w)
{
	if (w->ring.ring_fd > 0) {
		if (w->br)
			rl_free_buf_ring(&w->ring, w->br, w->nbufs, 0);
		io_uring_queue_exit(&w->ring);
	}
	if (w->bufs)
		munmap(w->bufs, (size_t)w->nbufs * w->buf_size);
	for (uint32_t i = 0; w->conns && i < w->nconns; i++)
		rl_h2_free(w, &w->conns[i]);
	rl_h2_mem_free(w);
	free(w->tpl_scratch);
	free(w->live);
	free(w->progress.pub);
	free(w->vus);
	free(w->vu_done);
	free(w->gstats);
	free(w->slot_nva_mem);
	free(w->slot_render_mem);
	free(w->conns);
	free(w->req_mem);
	free(w->out_mem);
	free(w->rbuf_mem);
	free(w->stage_stats);
}

struct io_uring_sqe *rl_worker_sqe(struct rl_worker *w)
{
	return rl_get_sqe(&w->ring, &w->io.enters);
}

void rl_worker_reserve(struct rl_worker *w, unsigned n)
{
	if (io_uring_sq_space_left(&w->ring) < n) {
		io_uring_submit(&w->ring);
		w->io.enters++;
	}
}

void rl_worker_recycle_buf(struct rl_worker *w, unsigned bid)
{
	io_uring_buf_ring_add(w->br, w->bufs + (size_t)bid * w->buf_size, w->buf_size,
			      (unsigned short)bid, io_uring_buf_ring_mask(w->nbufs),
			      (int)w->bufs_to_advance++);
}

#define PUBLISH_TICK_NS 200000000ULL /* aligned to the run's start: seconds fall on ticks */

/* Sums each target's counters over the stages into live, beside its histogram. */
void rl_worker_live_counts(struct rl_worker *w)
{
	for (size_t t = 0; t < w->sh->ntargets; t++) {
		w->live[t].requests = w->live[t].failed = 0;
		for (size_t s = 0; s < w->nstage_stats; s++) {
			w->live[t].requests += w->stage_stats[s * w->sh->ntargets + t].requests;
			w->live[t].failed += w->stage_stats[s * w->sh->ntargets + t].failed;
		}
	}
}

static void publish_progress(struct rl_worker *w)
{
	atomic_store_explicit(&w->progress.requests, w->completed, memory_order_relaxed);
	atomic_store_explicit(&w->progress.failed, w->failed, memory_order_relaxed);
	atomic_store_explicit(&w->progress.open_conns, w->open_conns, memory_order_relaxed);
	uint64_t tick = w->now_ns > w->sh->measure_ns ? (w->now_ns - w->sh->measure_ns) / PUBLISH_TICK_NS + 1 : 0;
	if (tick == w->published_tick)
		return;
	/* a seqlock: odd while copying; the reader retries on a change */
	w->published_tick = tick;
	rl_worker_live_counts(w);
	uint64_t seq = atomic_load_explicit(&w->progress.hist_seq, memory_order_relaxed);
	atomic_store_explicit(&w->progress.hist_seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(w->progress.pub, w->live, w->sh->ntargets * sizeof(*w->live));
	atomic_store_explicit(&w->progress.hist_seq, seq + 2, memory_order_release);
}

static void dispatch(struct rl_worker *w, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	if (ud == LIBURING_UDATA_TIMEOUT) /* liburing's own wait timeout on old kernels */
		return;
	struct rl_conn *c = &w->conns[RL_UD_SLOT(ud)];
	if (RL_UD_GEN(ud) != c->gen) {
		/* late completion for a socket already closed: only its buffer matters */
		if (cqe->flags & IORING_CQE_F_BUFFER)
			rl_worker_recycle_buf(w, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		return;
	}
	switch (RL_UD_OP(ud)) {
	case OP_CONNECT:
		rl_conn_on_connect(w, c, cqe->res);
		break;
	case OP_RECV:
		w->io.recvs++;
		rl_conn_on_recv(w, c, cqe->res, cqe->flags);
		break;
	case OP_SEND:
		rl_conn_on_send(w, c, cqe->res);
		break;
	case OP_CLOSE:
		rl_conn_on_close(w, c);
		break;
	case OP_LINK_TIMEOUT: /* the connect's own CQE carries the outcome */
	case OP_CANCEL:
		break;
	}
}

/* Open loop: every request whose time has come goes to a connection with room. Those
 * that find none wait, and their wait counts in their latency. */
static double worker_share(const struct rl_worker *w)
{
	return (double)w->nconns / w->sh->opt->connections;
}

uint64_t rl_worker_intended_ns(const struct rl_worker *w, uint64_t k)
{
	if (!w->sh->opt->nstages)
		return w->pace_start_ns + k * w->interval_ns;
	uint64_t t = rl_stage_time_of(w->sh->opt, (double)k / worker_share(w));
	return t == UINT64_MAX ? UINT64_MAX : w->pace_start_ns + t;
}

static void pace(struct rl_worker *w)
{
	uint64_t now = rl_now_ns();
	if (now >= w->pace_start_ns) {
		uint64_t due = w->sh->opt->nstages
			? (uint64_t)(rl_stage_cum(w->sh->opt, now - w->pace_start_ns) * worker_share(w)) + 1
			: (now - w->pace_start_ns) / w->interval_ns + 1;
		if (due > w->due_k)
			w->due_k = due;
	}
	w->now_ns = now;
	while (w->ready && w->next_k < w->due_k && w->quota) {
		struct rl_conn *c = w->ready;
		w->ready = c->next_ready;
		c->in_ready = false;
		rl_conn_fill(w, c); /* puts itself back if it still has room */
	}
	if (w->due_k - w->next_k > w->max_backlog)
		w->max_backlog = w->due_k - w->next_k;
}

/* --stages, closed loop: this worker's part of the connections the level asks for.
 * The global count splits in proportion to each worker's slots, remainders to the
 * first workers, so the workers' parts always add up to it. */
static uint32_t active_share(const struct rl_worker *w, uint32_t want)
{
	const struct rl_shared *sh = w->sh;
	uint32_t total = sh->opt->connections, given = 0, mine = 0;
	for (uint32_t i = 0; i < sh->nworkers; i++) {
		uint32_t part = (uint32_t)((uint64_t)want * sh->conns_of[i] / total);
		given += part;
		if (i == w->id)
			mine = part;
	}
	return mine + (w->id < want - given ? 1 : 0);
}

/* Follows the stages: switches the statistics at a stage's start and, in a closed
 * loop, opens or parks connections to match the level. */
static void stage_control(struct rl_worker *w)
{
	const struct rl_options *o = w->sh->opt;
	size_t stage;
	double level = rl_stage_level(o, w->now_ns - w->sh->start_ns, &stage);
	if (stage != w->cur_stage) {
		w->cur_stage = stage;
		w->stats = &w->stage_stats[stage * w->sh->ntargets];
	}
	if (w->open_loop)
		return;
	uint32_t want = active_share(w, (uint32_t)(level + 0.5));
	if (want > w->nconns)
		want = w->nconns;
	for (uint32_t i = w->active; i < want; i++) {
		struct rl_conn *c = &w->conns[i];
		c->parked = false;
		if (c->state == C_IDLE)
			rl_conn_connect(w, c);
		else
			rl_conn_fill(w, c);
	}
	for (uint32_t i = want; i < w->active; i++) {
		struct rl_conn *c = &w->conns[i];
		c->parked = true;
		if (c->state == C_BACKOFF) {
			rl_tw_cancel(&w->tw, &c->timer);
			c->state = C_IDLE;
		} else if (c->state == C_OPEN && !c->inflight) {
			rl_conn_close(w, c);
		}
	}
	w->active = want;
}

void rl_worker_run(struct rl_worker *w)
{
	struct rl_shared *sh = w->sh;
	w->now_ns = rl_now_ns();
	rl_tw_init(&w->tw, w->now_ns);
	if (sh->opt->nstages && !w->open_loop)
		stage_control(w); /* the stages decide which connections open */
	else
		for (uint32_t i = 0; i < w->nconns; i++)
			rl_conn_connect(w, &w->conns[i]);
	for (uint32_t v = 0; v < w->nvus; v++)
		rl_vu_start(w, &w->vus[v]); /* members send as their connections open */

	w->pace_start_ns = sh->start_ns;
	for (;;) {
		if (w->open_loop)
			pace(w);
		/* 1. queue this turn's sends; their requests count as handed over now */
		uint64_t flush_ns = rl_now_ns();
		w->flush_ns = flush_ns;
		while (w->dirty) {
			struct rl_conn *c = w->dirty;
			w->dirty = c->next_dirty;
			rl_conn_flush(w, c, flush_ns);
		}
		if (w->bufs_to_advance) {
			io_uring_buf_ring_advance(w->br, (int)w->bufs_to_advance);
			w->bufs_to_advance = 0;
		}

		/* 2. one io_uring_enter: submit everything, wait for at least one completion */
		uint64_t wait_ns = WAIT_MAX_NS;
		if (sh->deadline_ns && sh->deadline_ns > flush_ns && sh->deadline_ns - flush_ns < wait_ns)
			wait_ns = sh->deadline_ns - flush_ns;
		if (w->open_loop && w->quota) {
			/* wake for the next scheduled request: the wait's timeout paces the run */
			uint64_t next = rl_worker_intended_ns(w, w->due_k);
			uint64_t until = next > flush_ns ? next - flush_ns : 0;
			if (until < wait_ns)
				wait_ns = until ? until : 1;
		}
		struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = (long long)wait_ns };
		struct io_uring_cqe *cqe;
		io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
		w->io.enters++;

		/* 3. one clock read stamps every completion of the batch */
		w->now_ns = rl_now_ns();
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&w->ring, head, cqe) {
			dispatch(w, cqe);
			seen++;
		}
		io_uring_cq_advance(&w->ring, seen);

		rl_tw_expire(&w->tw, w->now_ns, rl_conn_on_timer, w);
		for (uint32_t i = 0; i < w->nvu_done; i++)
			rl_vu_start(w, w->vu_done[i]); /* a group round ended: the next begins */
		w->nvu_done = 0;
		if (sh->opt->nstages)
			stage_control(w);
		if (!w->measuring && w->now_ns >= sh->measure_ns) {
			/* the warm-up is over: what completes from now on is the result */
			for (size_t t = 0; t < sh->ntargets; t++)
				rl_stats_init(&w->stats[t]);
			for (size_t t = 0; t < sh->ntargets; t++)
				rl_hist_reset(&w->live[t].hist);
			w->measuring = true;
		}
		publish_progress(w);

		if (atomic_load_explicit(&sh->stop, memory_order_relaxed) ||
		    (sh->deadline_ns && w->now_ns >= sh->deadline_ns) ||
		    (!w->quota && !w->inflight))
			break;
	}
	w->stopping = true;
	w->end_ns = w->now_ns;
	/* requests still in flight at the end are reported apart, not as results */
	for (uint32_t i = 0; i < w->nconns; i++)
		w->stats[w->conns[i].target].unfinished += w->conns[i].inflight;
	publish_progress(w);
}
