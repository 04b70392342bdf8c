/* Private to the engine: one worker (thread, ring, connections) and its connections'
 * state machine. The event loop is worker.c; connection handlers are conn.c. */
#ifndef RINGLOAD_WORKER_H
#define RINGLOAD_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "ringload/engine.h"
#include "ringload/grpc.h"
#include "ringload/h1.h"
#include "timerwheel.h"
#include "uring_compat.h"

/* user_data: operation (8 bits) | connection slot (24 bits) | generation (32 bits).
 * The generation changes whenever a slot's socket is closed, so completions that
 * arrive late for a previous socket are recognised and dropped. */
enum rl_op { OP_CONNECT = 1, OP_LINK_TIMEOUT, OP_RECV, OP_SEND, OP_CLOSE, OP_CANCEL };
#define RL_UD(op, slot, gen) ((uint64_t)(op) << 56 | (uint64_t)(slot) << 32 | (uint32_t)(gen))
#define RL_UD_OP(ud)   ((unsigned)((ud) >> 56))
#define RL_UD_SLOT(ud) ((uint32_t)((ud) >> 32) & 0xffffff)
#define RL_UD_GEN(ud)  ((uint32_t)(ud))
#define RL_MAX_CONNS_PER_WORKER (1u << 24)

enum rl_conn_state {
	C_IDLE,       /* no socket; not wanted (run over) */
	C_BACKOFF,    /* waiting to reconnect after a failed connect */
	C_CONNECTING,
	C_OPEN,
	C_CLOSING,    /* close submitted; reconnect (or idle) when it completes */
};

/* One request on a connection, from issue to its last response byte. HTTP/1.1 keeps
 * them in a ring (responses come in order); HTTP/2 in slots, one per stream. */
struct rl_req {
	uint64_t start_ns;   /* issued (closed loop) */
	uint64_t sent_ns;    /* its last byte handed to the kernel; 0 until then */
	uint64_t first_ns;   /* first response byte; 0 until then */
	uint32_t out_end;    /* HTTP/1.1: offset just past its bytes in the out buffer */
	/* HTTP/2 and gRPC */
	int32_t stream_id;
	uint16_t status;     /* :status */
	int8_t grpc_status;  /* -1 none yet, -2 not a status */
	bool active;         /* the slot holds a stream nghttp2 still knows */
	bool done;           /* counted: a late close or frame changes nothing */
	int8_t bad_frame;    /* gRPC framing broken (an rl_grpc_frame_error): a protocol error */
	uint64_t body_off, payload;
	const uint8_t *body; /* this stream's request body (rendered, with templates) */
	size_t body_len;
	struct rl_grpc_deframer deframer;
};

struct rl_worker;

/* A fan-out group's virtual user: one connection per member, one request on each per
 * round, the round over when every member's request has ended. */
struct rl_vu {
	uint32_t group, first_conn, nmembers, done, ok;
	uint64_t pending;        /* members whose request is due and not yet issued */
	uint64_t start_ns, last_ns;
};

struct rl_conn {
	uint32_t slot, gen;
	uint8_t state;
	bool recv_armed, send_busy, dirty;
	bool close_after;    /* server said Connection: close: finish the head, then close */
	bool reconnect;      /* this slot was open before: its next connect is a reconnect */
	bool parked;         /* --stages took it out: finish what is in flight, then close */
	struct rl_vu *vu;    /* a fan-out group member's connection: its requests are the VU's */
	uint8_t member;
	int fd;              /* fixed-file index (== slot) or plain fd */
	uint32_t target;
	struct rl_h1_parser parser;
	struct rl_req *reqs; /* ring of `pipeline` entries */
	uint32_t head, inflight;
	char *out;           /* pending request bytes: [out_sent, out_len) not yet sent */
	uint32_t out_len, out_sent;
	uint8_t *rbuf;       /* receive buffer when there is no buffer ring */
	struct rl_worker *w;
	nghttp2_session *h2;
	int32_t h2_cached_id;      /* the stream whose request stream_req found last (0: none) ... */
	struct rl_req *h2_cached;  /* ... and its request: a response's callbacks ask 4-8 times */
	bool goaway;         /* no new streams: finish, then reconnect */
	bool refill;         /* a stream closed: its slot can take the next request */
	nghttp2_nv *slot_nva;  /* with templates: each stream's header list ... */
	char *slot_render;     /* ... and its rendered values and body */
	uint64_t connect_start_ns, connect_done_ns;
	uint32_t fails;      /* consecutive failed connects: the backoff exponent */
	struct rl_timer timer;
	struct rl_conn *next_dirty;
	struct rl_conn *next_ready;  /* open loop: connections with room for a request */
	bool in_ready;
};

/* Counters a worker publishes for the progress line (relaxed atomics, one writer), and
 * a copy of its latency histogram so far, under a sequence counter (odd while the
 * worker writes it): the main thread merges the copies for p50/p99. */
/* Per target, cumulative over the (measured) run: what history rows are differences of. */
struct rl_live {
	uint64_t requests, failed;
	struct rl_hist hist;
};

struct rl_progress {
	_Atomic uint64_t requests, failed, open_conns;
	char pad[64 - 3 * sizeof(uint64_t)];
	_Atomic uint64_t hist_seq;
	struct rl_live *pub;       /* one per target: the last published copy */
};

struct rl_shared {           /* what all workers of a run read */
	const struct rl_options *opt;
	struct rl_target *targets;
	size_t ntargets;
	uint64_t start_ns, deadline_ns; /* deadline 0: none */
	uint64_t measure_ns;            /* results count from here (after --warmup) */
	const uint32_t *conns_of;       /* connections of each worker */
	uint32_t nworkers;
	const struct rl_group_def *groups;
	size_t ngroups;
	_Atomic int stop;
};

struct rl_worker {
	uint32_t id;
	struct rl_shared *sh;
	struct io_uring ring;
	struct rl_engine_features feat;
	struct rl_engine_io io;
	struct rl_conn *conns;
	uint32_t nconns, open_conns;
	struct rl_req *req_mem;
	char *out_mem;
	uint8_t *rbuf_mem;
	uint32_t out_cap;
	struct rl_stats *stats;       /* one per target: the current stage's */
	struct rl_stats *stage_stats; /* every stage's, stage-major (one stage without --stages) */
	size_t nstage_stats, cur_stage;
	uint32_t active;              /* --stages, closed loop: connections 0..active-1 run */
	/* fan-out groups: connections from nregular on belong to virtual users */
	uint32_t nregular, nvus;
	uint32_t *vu_group;           /* group of each VU (set before setup) */
	struct rl_vu *vus;
	struct rl_vu **vu_done;       /* rounds that ended this turn: restarted after it */
	uint32_t nvu_done;
	struct rl_group_stats *gstats;
	uint64_t quota;               /* requests left to issue; UINT64_MAX: no limit */
	uint64_t inflight;            /* issued, not yet completed */
	uint64_t completed, failed;   /* for the progress line */
	struct rl_tpl_state tpl;      /* request templates' generators */
	const char *fail_detail;      /* set just before a failure path: --failures' message */
	/* open loop (-R): request k is due at pace_start_ns + k * interval_ns; requests
	 * start (for latency) at that intended time, not when a connection was free */
	bool open_loop;
	uint64_t pace_start_ns, interval_ns;
	uint64_t next_k, due_k, max_backlog;
	uint64_t take_start_ns;       /* the start of the request rl_conn_take_request gave */
	struct rl_conn *ready;
	char *tpl_scratch;            /* a rendered body, before its Content-Length */
	nghttp2_nv *slot_nva_mem;     /* HTTP/2 templates: per stream slot */
	char *slot_render_mem;
	size_t slot_nvlen, slot_render;
	bool stopping;
	bool measuring;               /* past the warm-up: statistics are the results */
	uint64_t now_ns;              /* the clock read after the last wait */
	uint64_t flush_ns;            /* the clock read before this turn's submit */
	nghttp2_mem h2_mem;           /* nghttp2's allocations come from h2_pool */
	void *h2_pool[16];            /* free lists by power-of-two size class */
	struct __kernel_timespec connect_ts;
	/* provided buffer ring */
	struct io_uring_buf_ring *br;
	uint8_t *bufs;
	uint32_t nbufs, buf_size;
	unsigned bufs_to_advance;
	struct rl_timerwheel tw;
	struct rl_conn *dirty;
	uint64_t end_ns;
	int error;                    /* setup failure (negative errno) */
	uint64_t published_tick;      /* last 200 ms tick published into progress.pub */
	struct rl_live *live;         /* per target: latencies so far (counts come from stats) */
	struct rl_progress progress;
};

static inline uint64_t rl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* worker.c */
/* An SQE, submitting what is queued first if the ring is full: never NULL. */
struct io_uring_sqe *rl_worker_sqe(struct rl_worker *w);
/* Open loop: when request k of this worker is due (its intended start). */
uint64_t rl_worker_intended_ns(const struct rl_worker *w, uint64_t k);
/* Makes room for n SQEs that must go in one submission (a link chain). */
void rl_worker_reserve(struct rl_worker *w, unsigned n);
void rl_worker_recycle_buf(struct rl_worker *w, unsigned bid);

/* nconns: the regular connections; w->vu_group/nvus add the fan-out groups' */
int rl_worker_setup(struct rl_worker *w, uint32_t nconns, uint32_t first_global_conn);
void rl_worker_run(struct rl_worker *w);
void rl_worker_live_counts(struct rl_worker *w);
void rl_worker_free(struct rl_worker *w);

/* conn.c: the connection state machine */
void rl_conn_connect(struct rl_worker *w, struct rl_conn *c);
void rl_conn_on_connect(struct rl_worker *w, struct rl_conn *c, int res);
void rl_conn_on_recv(struct rl_worker *w, struct rl_conn *c, int res, unsigned flags);
void rl_conn_on_send(struct rl_worker *w, struct rl_conn *c, int res);
void rl_conn_on_close(struct rl_worker *w, struct rl_conn *c);
void rl_conn_on_timer(struct rl_timer *t, void *worker);
void rl_conn_flush(struct rl_worker *w, struct rl_conn *c, uint64_t now_ns);
void rl_conn_fill(struct rl_worker *w, struct rl_conn *c);
/* shared with conn_h2.c */
struct rl_stats *rl_conn_stats(struct rl_worker *w, struct rl_conn *c);
const struct rl_target *rl_conn_target(struct rl_worker *w, struct rl_conn *c);
void rl_conn_mark_dirty(struct rl_worker *w, struct rl_conn *c);
bool rl_conn_take_request(struct rl_worker *w);
void rl_conn_give_back(struct rl_worker *w, struct rl_conn *c);
/* Every request that was taken ends here exactly once, counted or not yet: it leaves
 * the in-flight set, and a fan-out member tells its virtual user. */
void rl_conn_request_ended(struct rl_worker *w, struct rl_conn *c, bool ok);
void rl_vu_start(struct rl_worker *w, struct rl_vu *vu);
void rl_conn_make_ready(struct rl_worker *w, struct rl_conn *c);
void rl_conn_give_back_request(struct rl_worker *w);
/* A failed request's counts; count_failure adds an error category, the others
 * (RST_STREAM codes, gRPC statuses) add their own. */
void rl_conn_count_failed(struct rl_worker *w, struct rl_stats *st);
void rl_conn_count_failure(struct rl_worker *w, struct rl_stats *st, enum rl_err err);
void rl_conn_record_times(struct rl_worker *w, struct rl_stats *st, const struct rl_req *r);
void rl_conn_fail(struct rl_worker *w, struct rl_conn *c, enum rl_err err);
void rl_conn_close(struct rl_worker *w, struct rl_conn *c);

/* conn_h2.c: HTTP/2 and gRPC streams on a connection, through nghttp2 */
void rl_h2_mem_init(struct rl_worker *w);
void rl_h2_mem_free(struct rl_worker *w);
int rl_h2_open(struct rl_worker *w, struct rl_conn *c);
void rl_h2_fill(struct rl_worker *w, struct rl_conn *c);
void rl_h2_flush(struct rl_worker *w, struct rl_conn *c);
bool rl_h2_consume(struct rl_worker *w, struct rl_conn *c, const uint8_t *data, size_t len);
void rl_h2_drain(struct rl_worker *w, struct rl_conn *c, enum rl_err err);
void rl_h2_on_timer(struct rl_worker *w, struct rl_conn *c);
void rl_h2_free(struct rl_worker *w, struct rl_conn *c);

#endif
