/* One worker: its ring (with the best setup the kernel accepts), its connections, and
 * the event loop. Every completion is dispatched from the one switch in dispatch(),
 * called from the loop turn in rl_worker_run; connection logic lives in conn.c. All
 * memory is allocated in rl_worker_setup, before the clock starts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/errqueue.h>
#include <time.h>

#include "proto.h"
#include "ringload/stages.h"
#include "tls.h"
#include "transport.h"

#define RECV_BUF_SIZE    16384
#define WAIT_MAX_NS      5000000ULL /* timers and the stop flag are checked at least this often */
#define RING_MAX_ENTRIES 4096       /* SQ entries: two per connection and some, up to this */
#define BUF_RING_MIN     256        /* provided receive buffers: two per connection, within */
#define BUF_RING_MAX     4096
#define PUBLISH_TICK_NS  200000000ULL /* aligned to the run's start: seconds fall on ticks */

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
uint32_t rl_target_of_conn(const struct rl_shared *sh, uint32_t g)
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

static bool every_target_stamped(const struct rl_worker *w)
{
	for (size_t i = 0; i < w->sh->ntargets; i++)
		if (!rl_transport_stamps(&w->sh->targets[i]))
			return false;
	return true;
}

/* A closed loop harvests lazily (below, wait_for_completions) where a thread can hold
 * enough requests in flight to wait for two completions or more (16): with fewer, a wait
 * for a second response would idle the connection that the first one freed. It needs the
 * kernel's batch wait (6.12), which stops waiting for the batch after a pacing quantum
 * and then for nothing more than the first completion: a plain timeout of a quantum
 * would wake a loop whose server is slow every quantum, for nothing. */
#define CLOSED_LAZY_SHARE 8
static bool holds_a_batch(uint32_t nregular, uint32_t slots)
{
	return (uint64_t)nregular * slots >= 2 * CLOSED_LAZY_SHARE;
}

/* Request slots a connection needs: the most that any target's protocol asks for. */
static uint32_t most_slots(const struct rl_shared *sh)
{
	uint32_t slots = 1;
	for (size_t i = 0; i < sh->ntargets; i++) {
		uint32_t s = rl_proto_of(sh->targets[i].proto)->slots(sh->plan);
		if (s > slots)
			slots = s;
	}
	return slots;
}

static bool closed_loop_batches(const struct rl_worker *w)
{
	return holds_a_batch(w->fan.nregular, most_slots(w->sh)) && (w->ring.features & IORING_FEAT_MIN_TIMEOUT) &&
	       w->sh->plan->pacing_quantum_ns >= 1000;
}

/* RL_STAMPS_IF_BATCHED: every thread's share (the same split each thread reads) holds a
 * batch and has no fan-out users, so every response of the run is stamped or none. */
static bool every_worker_batches(const struct rl_worker *w)
{
	uint32_t slots = most_slots(w->sh);
	for (uint32_t i = 0; i < w->sh->nworkers; i++)
		if (w->sh->vus_of[i] || !holds_a_batch(w->sh->conns_of[i], slots))
			return false;
	return true;
}

/* Kernel receive stamps need multishot recvmsg (6.0) on the buffer ring: each buffer
 * then opens with io_uring_recvmsg_out and the stamp's control message. The kernel's
 * stamps are CLOCK_REALTIME; ours are CLOCK_MONOTONIC. The two clocks are read back to
 * back, and their difference converts the stamps (rl_rx_clock_sync): again on every
 * progress tick, and at once when a stamp comes out later than the loop's clock, so a
 * step of CLOCK_REALTIME (a VM restored from a snapshot, a clock set by hand) leaves at
 * most a tick of stamps off by it, and none ahead of their handling.
 *
 * An open loop on stamps harvests lazily: its wait ends at the next request due or timer,
 * not at the first completion, so a response costs no wake-up of its own; the kernel's
 * stamp says when it came. Connections still opening, and the run's last requests (none
 * due after them), are waited for as they complete (wait_for_completions). */
static void setup_rx_timestamps(struct rl_worker *w)
{
	const struct rl_plan *plan = w->sh->plan;
	if (plan->kernel_timestamps == RL_STAMPS_OFF || rl_compat_off("nokts") || !rl_kernel_at_least(6, 0))
		return;
	/* (an HTTP/2 window under a megabyte would stall a body on our next wake-up) */
	bool lazy = (w->pace.open_loop || closed_loop_batches(w)) && !w->fan.nvus && every_target_stamped(w) &&
		    plan->h2_window >= (1u << 20) && plan->h2_conn_window >= (1u << 20) && !rl_compat_off("nolazy");
	if (plan->kernel_timestamps == RL_STAMPS_IF_BATCHED && !(lazy && every_worker_batches(w)))
		return;
	rl_rx_clock_sync(w);
	memset(&w->rx_msg, 0, sizeof(w->rx_msg));
	w->rx_msg.msg_controllen = RL_RX_CONTROL;
	w->feat.rx_timestamps = true;
	w->feat.lazy_harvest = lazy;
}

/* The ring, its fixed-file table and the provided buffer ring for receives. */
static int setup_ring(struct rl_worker *w)
{
	uint32_t n = w->nconns;
	int rc = ring_init(w, pow2_at_least(n * 2 + 64 < RING_MAX_ENTRIES ? n * 2 + 64 : RING_MAX_ENTRIES));
	if (rc)
		return rc;
	/* a registered ring fd (5.18) spares io_uring_enter its file lookup; optional */
	io_uring_register_ring_fd(&w->ring);
	if (!rl_compat_off("nofixed") && io_uring_register_files_sparse(&w->ring, n) == 0)
		w->feat.fixed_files = true;
	w->bufs.size = RECV_BUF_SIZE;
	if (rl_compat_off("nobufring"))
		return 0;
	unsigned nbufs = pow2_at_least(n * 2);
	if (nbufs < BUF_RING_MIN)
		nbufs = BUF_RING_MIN;
	if (nbufs > BUF_RING_MAX)
		nbufs = BUF_RING_MAX;
	int err;
	w->bufs.br = rl_setup_buf_ring(&w->ring, nbufs, 0, &err);
	if (!w->bufs.br)
		return 0; /* receives go to each connection's own buffer */
	w->bufs.mem = mmap(NULL, (size_t)nbufs * w->bufs.size, PROT_READ | PROT_WRITE,
			   MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (w->bufs.mem == MAP_FAILED) {
		w->bufs.mem = NULL;
		return -ENOMEM;
	}
	w->bufs.n = nbufs;
	for (unsigned i = 0; i < nbufs; i++)
		io_uring_buf_ring_add(w->bufs.br, w->bufs.mem + (size_t)i * w->bufs.size, w->bufs.size,
				      (unsigned short)i, io_uring_buf_ring_mask(nbufs), (int)i);
	io_uring_buf_ring_advance(w->bufs.br, (int)nbufs);
	w->feat.buf_ring = true;
	setup_rx_timestamps(w);
	return 0;
}

/* Every buffer the run needs: send buffers, request slots, templates' scratch,
 * statistics per stage and target, the live copies for progress, the fan-out users. */
static int setup_buffers(struct rl_worker *w, uint32_t slots)
{
	const struct rl_plan *plan = w->sh->plan;
	size_t nt = w->sh->ntargets, max_body = 0, out_cap = 0;
	for (size_t i = 0; i < nt; i++) {
		const struct rl_target *t = &w->sh->targets[i];
		const struct rl_proto_ops *proto = rl_proto_of(t->proto);
		size_t room = proto->send_room(plan, t), scratch = proto->slot_scratch(t);
		if (room > out_cap)
			out_cap = room;
		if (scratch > w->slot_scratch)
			w->slot_scratch = scratch;
		if (t->tpl_body.max_len > max_body)
			max_body = t->tpl_body.max_len;
	}
	if (out_cap > UINT32_MAX)
		return -E2BIG;
	w->out_cap = (uint32_t)out_cap;
	w->slot_scratch = (w->slot_scratch + 15) & ~(size_t)15; /* each slot's scratch aligned */
	uint32_t n = w->nconns;
	w->tpl_scratch = malloc(max_body + 1);
	if (w->slot_scratch && !(w->scratch_mem = malloc((size_t)n * slots * w->slot_scratch)))
		return -ENOMEM;
	w->slots = slots;
	w->retry_mem = calloc((size_t)n * slots, sizeof(*w->retry_mem));
	w->conns = calloc(n, sizeof(*w->conns));
	w->req_mem = calloc((size_t)n * slots, sizeof(*w->req_mem));
	w->out_mem = malloc((size_t)n * w->out_cap);
	if (!w->feat.buf_ring)
		w->rbuf_mem = malloc((size_t)n * w->bufs.size);
	/* a live copy per target, then one per fan-out group (rounds, batch times) */
	size_t nlive = nt + w->sh->ngroups;
	w->live = calloc(nlive, sizeof(*w->live));
	w->progress.pub = calloc(nlive, sizeof(*w->progress.pub));
	w->nstage_stats = plan->nstages ? plan->nstages : 1;
	w->stage_stats = malloc(w->nstage_stats * nt * sizeof(*w->stage_stats));
	w->stats = w->stage_stats;
	w->fan.vus = calloc(w->fan.nvus + 1, sizeof(*w->fan.vus));
	w->fan.done = calloc(w->fan.nvus + 1, sizeof(*w->fan.done));
	w->fan.stats = calloc(w->sh->ngroups + 1, sizeof(*w->fan.stats));
	if (!w->tpl_scratch || !w->retry_mem || !w->conns || !w->req_mem || !w->out_mem || (!w->feat.buf_ring && !w->rbuf_mem) ||
	    !w->live || !w->progress.pub || !w->stage_stats || !w->fan.vus || !w->fan.done || !w->fan.stats)
		return -ENOMEM;
	for (size_t t = 0; t < nlive; t++) {
		rl_hist_reset(&w->live[t].hist);
		rl_hist_reset(&w->live[t].hist_ok);
		rl_hist_reset(&w->progress.pub[t].hist);
		rl_hist_reset(&w->progress.pub[t].hist_ok);
	}
	for (size_t i = 0; i < w->nstage_stats * nt; i++)
		rl_stats_init(&w->stage_stats[i]);
	for (size_t g = 0; g < w->sh->ngroups; g++)
		rl_hist_reset(&w->fan.stats[g].latency);
	return 0;
}

/* Each connection's target, protocol, transport and slices of the buffers; the
 * fan-out users' member connections after the regular ones. */
static void setup_connections(struct rl_worker *w, uint32_t slots, uint32_t first_global_conn)
{
	for (uint32_t v = 0, next = w->fan.nregular; v < w->fan.nvus; v++) {
		const struct rl_group_def *gd = &w->sh->groups[w->fan.vu_group[v]];
		w->fan.vus[v] = (struct rl_vu){ .group = w->fan.vu_group[v], .first_conn = next, .nmembers = gd->nmembers };
		for (uint32_t m = 0; m < gd->nmembers; m++, next++) {
			w->conns[next].vu = &w->fan.vus[v];
			w->conns[next].member = (uint8_t)m;
			w->conns[next].target = gd->members[m];
		}
	}
	for (uint32_t i = 0; i < w->nconns; i++) {
		struct rl_conn *c = &w->conns[i];
		c->slot = i;
		c->fd = -1;
		if (w->sh->plan->nsources) /* the run's connections take the addresses in turn */
			c->source = (first_global_conn + i) % w->sh->plan->nsources;
		if (i < w->fan.nregular)
			c->target = rl_target_of_conn(w->sh, first_global_conn + i);
		const struct rl_target *t = rl_conn_target(w, c);
		c->proto = rl_proto_of(t->proto);
		c->transport = rl_transport_of(t);
		c->reqs = &w->req_mem[(size_t)i * slots];
		c->w = w;
		if (w->scratch_mem)
			c->scratch = &w->scratch_mem[(size_t)i * slots * w->slot_scratch];
		c->retry = &w->retry_mem[(size_t)i * slots];
		c->out = &w->out_mem[(size_t)i * w->out_cap];
		if (w->rbuf_mem)
			c->rbuf = &w->rbuf_mem[(size_t)i * w->bufs.size];
	}
}

int rl_worker_setup(struct rl_worker *w, uint32_t nconns, uint32_t first_global_conn)
{
	const struct rl_plan *plan = w->sh->plan;
	w->fan.nregular = nconns;
	for (uint32_t v = 0; v < w->fan.nvus; v++)
		nconns += w->sh->groups[w->fan.vu_group[v]].nmembers;
	w->nconns = nconns;
	if (!nconns)
		return -EINVAL;
	int rc = setup_ring(w);
	if (rc)
		return rc;
	uint32_t slots = most_slots(w->sh);
	w->pipeline = plan->pipeline;
	rl_h2_pool_init(w);
	/* {{seq}} is unique across workers: worker i renders i, i + n, i + 2n, ... */
	/* {{seq}}: worker w of shard s takes first + w * shards + s, then every threads * shards:
	 * no value twice across threads or shards */
	uint32_t shards = plan->shards ? plan->shards : 1;
	rl_tpl_state_init(&w->tpl, rl_now_ns() ^ ((uint64_t)w->id << 48),
			  plan->first_seq + (uint64_t)w->id * shards + plan->shard, (uint64_t)plan->threads * shards);
	if ((rc = setup_buffers(w, slots)))
		return rc;
	setup_connections(w, slots, first_global_conn);
	if ((rc = rl_tls_worker_setup(w)))
		return rc;
	w->connect_ts.tv_sec = (long long)(plan->connect_timeout_ns / 1000000000);
	w->connect_ts.tv_nsec = (long long)(plan->connect_timeout_ns % 1000000000);
	return 0;
}

void rl_worker_free(struct rl_worker *w)
{
	rl_tls_worker_free(w);
	for (uint32_t i = 0; w->conns && i < w->nconns; i++)
		if (w->conns[i].proto)
			w->conns[i].proto->free(w, &w->conns[i]);
	if (w->ring.ring_fd > 0) {
		if (w->bufs.br)
			rl_free_buf_ring(&w->ring, w->bufs.br, w->bufs.n, 0);
		io_uring_queue_exit(&w->ring);
	}
	if (w->bufs.mem)
		munmap(w->bufs.mem, (size_t)w->bufs.n * w->bufs.size);
	rl_h2_pool_free(w);
	free(w->tpl_scratch);
	free(w->tquota);
	free(w->live);
	free(w->progress.pub);
	free(w->fan.vus);
	free(w->fan.done);
	free(w->fan.stats);
	free(w->scratch_mem);
	free(w->retry_mem);
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
	struct rl_bufring *b = &w->bufs;
	io_uring_buf_ring_add(b->br, b->mem + (size_t)bid * b->size, b->size, (unsigned short)bid,
			      io_uring_buf_ring_mask(b->n), (int)b->to_advance++);
}

/* Sums each target's counters and latency over the stages into live: a request's
 * latency is recorded once, in its stage's statistics (failures apart from successes;
 * the results fold them into one). */
void rl_worker_live_counts(struct rl_worker *w, struct rl_live *live)
{
	bool fails = w->sh->plan->live; /* failures by category: for live metrics only */
	for (size_t t = 0; t < w->sh->ntargets; t++) {
		struct rl_live *l = &live[t];
		l->requests = l->failed = l->open = l->in_flight = 0;
		if (fails)
			memset(&l->fails, 0, sizeof(l->fails));
		for (size_t s = 0; /* (one stage at least) */ s < w->nstage_stats; s++) {
			const struct rl_stats *st = &w->stage_stats[s * w->sh->ntargets + t];
			l->requests += st->requests;
			l->failed += st->failed;
			if (fails)
				rl_fail_counts_add(&l->fails, st);
			if (s == 0) { /* the first stage's over the last copy, the others added */
				rl_hist_copy(&l->hist, &st->latency);
				rl_hist_copy(&l->hist_ok, &st->latency_ok);
			} else {
				rl_hist_merge(&l->hist, &st->latency);
				rl_hist_merge(&l->hist_ok, &st->latency_ok);
			}
		}
	}
	for (uint32_t i = 0; i < w->nconns; i++) {
		live[w->conns[i].target].in_flight += w->conns[i].inflight;
		if (w->conns[i].state == C_OPEN)
			live[w->conns[i].target].open++;
	}
	for (size_t g = 0; g < w->sh->ngroups; g++) { /* a group's rounds, as requests */
		struct rl_live *l = &live[w->sh->ntargets + g];
		const struct rl_group_stats *gs = &w->fan.stats[g];
		l->requests = gs->rounds;
		l->failed = gs->rounds - gs->full;
		rl_hist_copy(&l->hist, &gs->latency);
	}
}

void rl_live_copy(struct rl_live *dst, const struct rl_live *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memcpy(&dst[i], &src[i], offsetof(struct rl_live, hist));
		rl_hist_copy(&dst[i].hist, &src[i].hist);
		rl_hist_copy(&dst[i].hist_ok, &src[i].hist_ok);
	}
}

#ifdef RL_TEST_HOOKS
/* Test builds only: RINGLOAD_TEST_CLOCK_STEP=MS makes CLOCK_REALTIME look stepped MS
 * forward just after the second tick's sync (as a VM restored from a snapshot sees it). */
static void test_clock_step(struct rl_worker *w, uint64_t tick)
{
	const char *step = getenv("RINGLOAD_TEST_CLOCK_STEP");
	if (step && tick == 2)
		w->realtime_off_ns -= (int64_t)atoi(step) * 1000000;
}
#endif

static void publish_progress(struct rl_worker *w)
{
	atomic_store_explicit(&w->progress.requests, w->completed, memory_order_relaxed);
	atomic_store_explicit(&w->progress.failed, w->failed, memory_order_relaxed);
	atomic_store_explicit(&w->progress.open_conns, w->open_conns, memory_order_relaxed);
	uint64_t tick = w->now_ns > w->sh->measure_ns ? (w->now_ns - w->sh->measure_ns) / PUBLISH_TICK_NS + 1 : 0;
	if (tick == w->published_tick)
		return;
	if (w->feat.rx_timestamps) {
		rl_rx_clock_sync(w);
#ifdef RL_TEST_HOOKS
		test_clock_step(w, tick);
#endif
	}
	/* without a progress line or live metrics only the history reads the copy, once a
	 * second, just after the second begins: only the first tick seen in each second (a
	 * turn longer than a tick may skip the second's first) copies */
	const uint64_t per_second = 1000000000ULL / PUBLISH_TICK_NS;
	bool new_second = tick && (!w->published_tick || (tick - 1) / per_second != (w->published_tick - 1) / per_second);
	w->published_tick = tick;
	const struct rl_plan *plan = w->sh->plan;
	if (!plan->progress && !plan->live && !new_second && !w->stopping)
		return;
	/* a seqlock: odd while copying; the reader retries on a change */
	uint64_t seq = atomic_load_explicit(&w->progress.hist_seq, memory_order_relaxed);
	atomic_store_explicit(&w->progress.hist_seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	rl_worker_live_counts(w, w->progress.pub); /* straight into the published copy */
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
		w->rx_kernel_ns = 0; /* the stamp was this receive's */
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
	return (double)w->nconns / w->sh->plan->connections;
}

uint64_t rl_worker_intended_ns(const struct rl_worker *w, uint64_t k)
{
	const struct rl_pacer *p = &w->pace;
	if (!w->sh->stages.n)
		return p->start_ns + k * p->interval_ns;
	uint64_t t = rl_stage_time_of(&w->sh->stages, (double)k / worker_share(w));
	return t == UINT64_MAX ? UINT64_MAX : p->start_ns + t;
}

static void pace(struct rl_worker *w)
{
	struct rl_pacer *p = &w->pace;
	uint64_t now = rl_now_ns();
	if (now >= p->start_ns) {
		uint64_t due = w->sh->stages.n
			? (uint64_t)(rl_stage_cum(&w->sh->stages, now - p->start_ns) * worker_share(w)) + 1
			: (now - p->start_ns) / p->interval_ns + 1;
		if (due > p->due_k)
			p->due_k = due;
	}
	w->now_ns = now;
	while (p->ready && p->next_k < p->due_k && w->quota) {
		struct rl_conn *c = p->ready;
		p->ready = c->next_ready;
		c->in_ready = false;
		rl_conn_fill(w, c); /* puts itself back if it still has room */
	}
	/* fan-out groups alone: the rounds due go to users at rest, each measured from its
	 * intended start; with every user busy they wait, and the wait is in their time */
	for (uint32_t v = 0; v < w->fan.nvus && p->next_k < p->due_k && !w->stopping; v++) {
		struct rl_vu *vu = &w->fan.vus[v];
		if (!vu->resting)
			continue;
		if (!rl_vu_take_round(w))
			break;
		rl_vu_round(w, vu, rl_worker_intended_ns(w, p->next_k++));
	}
	if (p->due_k - p->next_k > p->max_backlog)
		p->max_backlog = p->due_k - p->next_k;
}

/* --stages, closed loop: this worker's part of the connections (or users) the level
 * asks for. The global count splits in proportion to each worker's (of[i]), remainders
 * to the first workers, so the workers' parts always add up to it. */
static uint32_t active_share(const struct rl_worker *w, uint32_t want, const uint32_t *of)
{
	const struct rl_shared *sh = w->sh;
	uint32_t total = 0, given = 0, mine = 0;
	for (uint32_t i = 0; i < sh->nworkers; i++)
		total += of[i];
	for (uint32_t i = 0; i < sh->nworkers && total; i++) {
		uint32_t part = (uint32_t)((uint64_t)want * of[i] / total);
		given += part;
		if (i == w->id)
			mine = part;
	}
	return mine + (w->id < want - given ? 1 : 0);
}

/* --stages with fan-out groups alone: the level is users (Locust's ramp), split over the
 * workers by their users. A user past the level finishes its round, then rests; one
 * under it that rests starts a round. */
static void stage_users(struct rl_worker *w, uint32_t want)
{
	uint32_t mine = active_share(w, want, w->sh->vus_of);
	if (mine > w->fan.nvus)
		mine = w->fan.nvus;
	uint32_t was = w->fan.active;
	w->fan.active = mine;
	for (uint32_t v = was; v < mine; v++)
		if (w->fan.vus[v].resting)
			rl_vu_start(w, &w->fan.vus[v]);
}

/* Follows the stages: switches the statistics at a stage's start and, in a closed
 * loop, opens or parks connections to match the level. */
static void stage_control(struct rl_worker *w)
{
	size_t stage;
	double level = rl_stage_level(&w->sh->stages, w->now_ns - w->sh->start_ns, &stage);
	if (stage != w->cur_stage) {
		w->cur_stage = stage;
		w->stats = &w->stage_stats[stage * w->sh->ntargets];
	}
	if (w->pace.open_loop)
		return;
	if (w->sh->ngroups) { /* groups alone (the CLI sees to it): the level is users */
		stage_users(w, (uint32_t)(level + 0.5));
		return;
	}
	uint32_t want = active_share(w, (uint32_t)(level + 0.5), w->sh->conns_of);
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

/* How long this turn may wait: until the deadline, the next timer (so a request times
 * out on time), the next scheduled request (the wait's timeout paces an open loop,
 * waking at most once per pacing quantum), and at most WAIT_MAX_NS. */
static uint64_t wait_budget(struct rl_worker *w, uint64_t now)
{
	const struct rl_shared *sh = w->sh;
	uint64_t wait_ns = WAIT_MAX_NS;
	if (sh->deadline_ns && sh->deadline_ns > now && sh->deadline_ns - now < wait_ns)
		wait_ns = sh->deadline_ns - now;
	if (w->pace.open_loop && w->quota) {
		uint64_t next = rl_worker_intended_ns(w, w->pace.due_k);
		uint64_t until = next > now ? next - now : 0;
		/* what falls due within a quantum goes in one turn; each request is still
		 * measured from its own intended start, so the wait shows in its latency */
		if (until < sh->plan->pacing_quantum_ns)
			until = sh->plan->pacing_quantum_ns;
		if (until < wait_ns)
			wait_ns = until ? until : 1;
	}
	uint64_t timer = rl_tw_next_before(&w->tw, now + wait_ns);
	if (timer != UINT64_MAX)
		wait_ns = timer > now ? timer - now : 1;
	return wait_ns;
}

/* How many completions this turn's wait waits for: one; or, where the loop harvests
 * lazily, so many that only the wait's end (the next request due, a timer) wakes it: half
 * the completion ring, so a burst still wakes it before the ring fills. A closed loop
 * waits for an eighth of its requests in flight for at most a pacing quantum, then for
 * any (closed_loop_batches): the requests a turn's responses free go out together, where
 * waking for each response would send one request per turn (and per TLS record), and each
 * response is still timed by its kernel stamp. Eager while a
 * connection is opening, while a request due waits for a free connection (a response
 * frees one), and once none is left to send. A run whose turn moved LAZY_BYTES_MAX or
 * more is eager from then on: large bodies must not wait for the schedule with the
 * socket's buffer full (the server would stall on our window, and the kernel's stamps
 * would count that stall); their times stay the kernel's stamps. */
#define LAZY_BYTES_MAX 65536
static unsigned wait_for_completions(struct rl_worker *w)
{
	if (w->turn_bytes >= LAZY_BYTES_MAX)
		w->lazy_off = true;
	w->turn_bytes = 0;
	if (!w->feat.lazy_harvest || w->lazy_off || w->unready || !w->quota)
		return 1;
	unsigned half = *w->ring.cq.kring_entries / 2;
	if (w->pace.open_loop)
		return w->pace.next_k < w->pace.due_k ? 1 : half;
	uint64_t nr = w->inflight / CLOSED_LAZY_SHARE; /* a closed loop: at least two, else eager */
	return nr < 2 ? 1 : nr < half ? (unsigned)nr : half;
}

/* The warm-up is over: what completes from now on is the result. */
static void start_measuring(struct rl_worker *w)
{
	for (size_t t = 0; t < w->sh->ntargets; t++) {
		struct rl_tls_agreed agreed = w->stats[t].agreed; /* the handshake was in the warm-up */
		rl_stats_init(&w->stats[t]);
		w->stats[t].agreed = agreed;
	}
	for (size_t g = 0; g < w->sh->ngroups; g++) { /* the groups' rounds start afresh too */
		memset(&w->fan.stats[g], 0, offsetof(struct rl_group_stats, latency));
		rl_hist_reset(&w->fan.stats[g].latency);
	}
	w->measuring = true;
}

#ifdef RL_TEST_HOOKS
/* Test builds only (build/tests/ringload-hooks): RINGLOAD_TEST_STALL=US:N makes a client
 * busy elsewhere on purpose. Once every N completions, the next wait's completions sit
 * US microseconds before the loop reads the clock and handles them: the delay the
 * kernel's receive stamps must show. */
static _Thread_local unsigned stall_us, stall_every, stall_count;
static _Thread_local bool stall_parsed, stall_due;

static void test_stall_count(unsigned seen)
{
	if (!stall_parsed) {
		const char *env = getenv("RINGLOAD_TEST_STALL");
		stall_parsed = true;
		if (!env || sscanf(env, "%u:%u", &stall_us, &stall_every) != 2 || !stall_every)
			stall_us = 0;
	}
	if (stall_us && (stall_count += seen) >= stall_every) {
		stall_count = 0;
		stall_due = true;
	}
}

static void test_stall_now(void)
{
	if (!stall_due)
		return;
	stall_due = false;
	struct timespec ts = { stall_us / 1000000, (long)(stall_us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}
#endif

void rl_worker_run(struct rl_worker *w)
{
	struct rl_shared *sh = w->sh;
	w->now_ns = rl_now_ns();
	rl_tw_init(&w->tw, w->now_ns);
	if (sh->stages.n && !w->pace.open_loop)
		stage_control(w); /* the stages decide which connections (or users) run */
	else
		for (uint32_t i = 0; i < w->fan.nregular; i++)
			rl_conn_connect(w, &w->conns[i]);
	for (uint32_t i = w->fan.nregular; i < w->nconns; i++)
		rl_conn_connect(w, &w->conns[i]); /* the users' members: connected from the start */
	for (uint32_t v = 0; v < w->fan.nvus; v++)
		rl_vu_start(w, &w->fan.vus[v]); /* members send as their connections open */

	w->pace.start_ns = sh->start_ns + w->pace.phase_ns;
	for (;;) {
		if (w->pace.open_loop)
			pace(w);
		/* 1. queue this turn's sends; their requests count as handed over now */
		w->flush_ns = rl_now_ns();
		while (w->dirty) {
			struct rl_conn *c = w->dirty;
			w->dirty = c->next_dirty;
			rl_conn_flush(w, c);
		}
		if (w->bufs.to_advance) {
			io_uring_buf_ring_advance(w->bufs.br, (int)w->bufs.to_advance);
			w->bufs.to_advance = 0;
		}

		/* 2. one io_uring_enter: submit everything, wait for a completion (or, harvesting
		 * lazily, for the wait's end) */
		unsigned wait_nr = wait_for_completions(w);
		uint64_t wait_ns = wait_budget(w, w->flush_ns);
		uint64_t batch_ns = sh->plan->pacing_quantum_ns;
		struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = (long long)wait_ns };
		struct io_uring_cqe *cqe;
		int rc;
		if (wait_nr > 1 && !w->pace.open_loop && wait_ns > batch_ns)
			rc = rl_submit_and_wait_min(&w->ring, wait_nr, &ts, (unsigned)(batch_ns / 1000));
		else
			rc = io_uring_submit_and_wait_timeout(&w->ring, &cqe, wait_nr, &ts, NULL);
		w->io.enters++;
		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			/* the ring itself failed: nothing more can be submitted or reaped */
			w->error = rc;
			break;
		}

#ifdef RL_TEST_HOOKS
		test_stall_now();
#endif
		/* 3. one clock read stamps every completion of the batch */
		w->now_ns = rl_now_ns();
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&w->ring, head, cqe) {
			dispatch(w, cqe);
			seen++;
		}
		io_uring_cq_advance(&w->ring, seen);

		rl_tw_expire(&w->tw, w->now_ns, rl_conn_on_timer, w);
		for (uint32_t i = 0; i < w->fan.ndone; i++)
			rl_vu_start(w, w->fan.done[i]); /* a group round ended: the next begins */
		w->fan.ndone = 0;
		if (sh->stages.n)
			stage_control(w);
		if (!w->measuring && w->now_ns >= sh->measure_ns)
			start_measuring(w);
		publish_progress(w);
#ifdef RL_TEST_HOOKS
		test_stall_count(seen);
#endif

		if (atomic_load_explicit(&sh->stop, memory_order_relaxed) ||
		    (sh->deadline_ns && w->now_ns >= sh->deadline_ns) ||
		    (!w->quota && !w->inflight))
			break;
	}
	w->stopping = true;
	w->end_ns = w->now_ns;
	/* requests still in flight at the end (or refused, waiting to be sent again) are
	 * reported apart, not as results */
	for (uint32_t i = 0; i < w->nconns; i++)
		w->stats[w->conns[i].target].unfinished += w->conns[i].inflight + w->conns[i].nretry;
	publish_progress(w);
}
