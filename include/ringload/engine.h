/* The load engine: worker threads, one io_uring each, driving connections to the
 * targets until the duration or request count is reached, then merged statistics.
 * Its input is a plan (the load model and limits) and the targets; it knows nothing of
 * the command line or of how results are shown. */
#ifndef RINGLOAD_ENGINE_H
#define RINGLOAD_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "ringload/stages.h"
#include "ringload/stats.h"
#include "ringload/target.h"

#define RL_MAX_GROUP_MEMBERS 64

/* A fan-out group: `concurrency` virtual users, each sending one request to every
 * member at the same moment and waiting for all of them; the group's time is its
 * slowest member's. Members are targets, driven by the group alone. */
struct rl_group_def {
	char *name;
	uint32_t members[RL_MAX_GROUP_MEMBERS]; /* target indices */
	uint32_t nmembers;
	uint32_t concurrency;
	uint64_t timeout_ns;
};

/* One group's results: every round of its virtual users. */
struct rl_group_stats {
	uint64_t rounds, full, partial, failed;
	uint64_t by_successes[RL_MAX_GROUP_MEMBERS + 1]; /* rounds with k members successful */
	struct rl_hist latency;                          /* start -> slowest member's end */
};

/* One second of a target (or of the total): JSON `history`, --history. */
struct rl_history_row {
	double t;                  /* seconds since the (measured) start, at the row's end */
	uint64_t requests, failed;
	double rps, p50_ms, p90_ms, p99_ms, max_ms; /* over every request that ended ... */
	double p99_ok_ms;                           /* ... and over the successful ones */
	uint64_t users;            /* connections open at the row's end (closed loop: users) */
	double target_rps;         /* the total row, open loop: the offered rate at the row's end */
};

struct rl_engine_features {
	bool defer_taskrun;   /* IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN accepted */
	bool buf_ring;        /* multishot recv on a provided buffer ring */
	bool fixed_files;     /* sockets in the ring's fixed file table */
	bool rx_timestamps;   /* kernel receive stamps: SO_TIMESTAMPING through multishot recvmsg */
	bool lazy_harvest;    /* open loop on stamps: the loop wakes for the schedule and timers
			       * alone, and times responses by the kernel's stamps */
};

/* The client's own I/O over the whole run, every thread: what it cost the kernel. */
struct rl_engine_io {
	uint64_t enters;      /* io_uring_enter calls: the engine's only per-turn syscall */
	uint64_t sends;       /* send SQEs: each carries all a connection's frames of a turn */
	uint64_t recvs;       /* receive completions (a multishot receive posts many) */
};

/* A target's run so far, as workers publish it a few times a second (progress views,
 * history rows, live metrics). */
struct rl_live {
	uint64_t requests, failed;
	uint64_t open;                /* connections open now (not a count to difference) */
	uint64_t in_flight;           /* requests issued, not ended, now */
	struct rl_fail_counts fails;  /* failures by category, statuses by code (kept only
				       * when the plan has a live callback: zero otherwise) */
	struct rl_hist hist, hist_ok; /* latency of failed requests; of successful ones */
};

/* The run so far, as the engine publishes it a few times a second (for a progress
 * line): counts from every worker, latency merged over every target. */
struct rl_progress_view {
	uint64_t elapsed_ns, span_ns;  /* since the start; warm-up + duration (0: none) */
	bool warming_up;
	uint64_t requests, failed, open_conns;
	uint64_t requests_goal;        /* -n, 0: none */
	double rps;                    /* since the last view */
	const struct rl_hist *latency;
	const struct rl_live *targets; /* each target's so far (its hist and hist_ok merged) */
	size_t ntargets;
	bool final;                    /* the run's end: the counts are the results' */
};
typedef void (*rl_progress_fn)(const struct rl_progress_view *v, void *arg);

/* Kernel receive stamps: off, on, or on only where every thread of a closed loop reads its
 * responses in batches (the default for HTTP/2 and gRPC in cleartext: there the stamps
 * pay for themselves in wake-ups saved; elsewhere they would only cost). */
enum rl_stamps { RL_STAMPS_OFF, RL_STAMPS_ON, RL_STAMPS_IF_BATCHED };

/* The load model and limits of a run. */
struct rl_plan {
	uint32_t connections, threads;
	uint32_t pipeline;            /* HTTP/1.1 requests in flight per connection */
	uint32_t streams;             /* HTTP/2 streams in flight per connection */
	uint32_t h2_window, h2_conn_window;
	uint32_t max_msg;             /* largest gRPC message accepted */
	uint32_t h2_retries;          /* a request refused (GOAWAY, REFUSED_STREAM) is sent again at most this often */
	uint64_t duration_ns;         /* 0: until the requests are done */
	uint64_t warmup_ns;
	uint64_t requests;            /* 0: unlimited */
	double rate;                  /* requests/s in total; 0: closed loop */
	struct rl_stage stages[RL_MAX_STAGES];
	size_t nstages;
	uint64_t connect_timeout_ns;
	uint64_t pacing_quantum_ns;   /* open loop: a timed wake sends all that is due this close */
	double tls_resume;            /* https://: share of new connections that offer a session */
	uint64_t first_seq;           /* {{seq}} and {{line-seq}} start here (after the pre-flight's) */
	enum rl_stamps kernel_timestamps; /* stamp responses in the kernel where it can (TCP) */
	uint32_t shard, shards;       /* this generator is shard `shard` of `shards` (0: one) */
	int64_t start_at_ns;          /* CLOCK_REALTIME instant the clock starts at; 0: at once */
	const struct sockaddr_storage *sources; /* local addresses connections bind to, in turn */
	uint32_t nsources;
	rl_progress_fn progress;      /* NULL: no progress views */
	void *progress_arg;
	rl_progress_fn live;          /* the same views for live metrics (NULL: none) */
	void *live_arg;
};

static inline struct rl_stage_plan rl_plan_stages(const struct rl_plan *p)
{
	return (struct rl_stage_plan){ p->stages, p->nstages, p->rate > 0 ? p->rate : 0 };
}

struct rl_result {
	struct rl_stats *targets;   /* one per target, merged over workers */
	struct rl_stats total;
	size_t ntargets;
	struct rl_stats *stages;    /* --stages: each stage's, over every target */
	size_t nstages;
	struct rl_group_stats *groups; /* one per fan-out group */
	size_t ngroups;
	struct rl_history_row *history; /* (ntargets + 1) x nhistory: each target's, then the total */
	struct rl_history_row *ghistory; /* ngroups x nhistory: each group's rounds (requests),
					  * those not fully successful (failed), batch times */
	size_t nhistory;
	struct timespec started_at; /* CLOCK_REALTIME */
	double duration_s;
	bool interrupted;           /* SIGINT/SIGTERM ended the run */
	double cpu_user_s, cpu_sys_s;
	long max_rss_kb;
	struct rl_engine_features features;
	struct rl_engine_io io;
	/* open loop (-R) */
	uint64_t not_sent;          /* due by the schedule, never sent before the end */
	uint64_t max_backlog;       /* most requests ever waiting for a free connection */
	uint64_t next_seq;          /* the first {{seq}} value no request used */
};

/* Runs the load test. Returns 0, or -1 with a message in err (setup failures only:
 * request failures are results). */
int rl_engine_run(const struct rl_plan *plan, struct rl_target *targets, size_t ntargets,
		  const struct rl_group_def *groups, size_t ngroups,
		  struct rl_result *res, char *err, size_t errlen);
void rl_result_free(struct rl_result *res);

#endif
