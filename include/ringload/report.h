/* Results for people and programs: the console report, the JSON result (SPEC.md
 * "Result") and metric,value CSV, all from one set of derived metrics. */
#ifndef RINGLOAD_REPORT_H
#define RINGLOAD_REPORT_H

#include <stdio.h>

#include "ringload/engine.h"
#include "ringload/hist.h"
#include "ringload/options.h"
#include "ringload/stats.h"
#include "ringload/target.h"

#define RINGLOAD_VERSION "0.1.0"

struct rl_metrics {
	uint64_t requests, successful, failed, timeouts;
	double success_rate;          /* percent */
	double throughput_rps, transfer_bytes_per_s; /* every request; every byte received */
	double throughput_ok_rps, payload_bytes_per_s; /* successes; their response bodies */
	double avg_payload_bytes, network_efficiency_bytes_per_ms;
	struct rl_hist_summary latency, latency_ok, connect, tls, ttfb, download;
	struct rl_hist_summary latency_uncorrected, queue; /* open loop only */
	struct rl_hist_summary client_delay, ttfb_kernel, latency_kernel; /* kernel stamps only */
};

/* One shard of a merged run: when it started, and how far from --start-at. */
struct rl_shard_row {
	uint32_t index;
	uint64_t started_at_ms;
	double start_offset_ms;
};

struct rl_report {
	const struct rl_options *opt;
	const struct rl_target *targets;
	const struct rl_result *res;
	const struct rl_group_def *groups; /* res->ngroups of them */
	uint64_t preflight_requests;       /* made before the run, outside its counts */
	const struct rl_shard_row *shard_rows; /* a merge of shards: each one's start */
	size_t nshard_rows;
};

/* Live metrics (Prometheus text): each target's counts and one latency histogram. */
struct rl_prom_view {
	const char *const *names;
	const struct rl_live *targets;
	const struct rl_hist *latency; /* per target: every ended request */
	size_t ntargets;
	double cpu_user_s, cpu_sys_s, elapsed_s;
	bool finished;
};
void rl_report_prometheus(FILE *f, const struct rl_prom_view *v);

void rl_metrics_compute(const struct rl_stats *s, double duration_s, struct rl_metrics *m);
double rl_report_cpu_us_per_request(const struct rl_result *res);
/* n (a count of the client's own I/O) per request completed; 0 without requests */
double rl_report_per_request(const struct rl_result *res, uint64_t n);
const char *rl_report_protocol_name(enum rl_proto p); /* "http/1.1", "h2c", "grpc" */
/* Open loop: the achieved rate, and why it fell more than 1% short of -R (NULL when it
 * did not, or in a closed loop). */
double rl_report_achieved_rps(const struct rl_result *res);
double rl_report_target_rps(const struct rl_options *o);
const char *rl_report_rate_shortfall(const struct rl_options *o, const struct rl_result *res);
/* Where the kernel stamped receives: a warning in buf when the client's own delay
 * (p99) was over 1 ms or over a tenth of the latency p99, so its figures are distorted;
 * NULL when it was not. */
const char *rl_report_client_delay_warning(const struct rl_result *res, char *buf, size_t len);

void rl_report_console(FILE *f, const struct rl_report *r);
/* The live progress line: an rl_progress_fn, its argument the FILE to draw on. */
void rl_report_progress(const struct rl_progress_view *v, void *file);
void rl_report_progress_clear(FILE *f);
/* The seed's comparison: per metric each run's value, the winner (-1: a tie, a
 * difference under tie_pct percent) and by how much it beats the runner-up: in percent of
 * the runner-up, and as a factor (2.0: twice as good, whichever way is better). */
#define RL_CMP_MAX_ROWS 16
#define RL_CMP_MAX_RUNS 64
struct rl_cmp_row {
	const char *label, *fmt;
	int higher_is_better, winner;
	double values[RL_CMP_MAX_RUNS];
	double diff_pct, factor;
};
#define RL_CMP_TIE_PCT 1.0 /* compare's --tie default */
size_t rl_compare_rows(const struct rl_metrics *m, size_t n, double tie_pct, struct rl_cmp_row *out);
/* metric, one column per target, winner, difference % (over the runner-up) and factor */
void rl_report_comparison(FILE *f, const char *const *names, const struct rl_metrics *m, size_t n, double tie_pct);
/* The same as CSV (metric, a column per run, winner, difference_pct, factor); the JSON
 * form ({"runs", "tie_pct", "metrics": [{"metric", "values", "winner", "difference_pct",
 * "factor"}]}) is written by rl_report_comparison_jw (src/report/jsonw.h). */
void rl_report_comparison_csv(FILE *f, const char *const *names, const struct rl_metrics *m, size_t n,
			      double tie_pct);
/* s as one CSV field, quoted (RFC 4180: names and URLs may hold commas and quotes). */
void rl_report_csv_quoted(FILE *f, const char *s);
/* Each target's name and metrics, for the run's own comparison: the count of targets. */
size_t rl_report_target_metrics(const struct rl_report *r, const char **names, struct rl_metrics *m);
int rl_report_json(FILE *f, const struct rl_report *r);
int rl_report_csv(FILE *f, const struct rl_report *r);
/* --history: one row per second per target (and the total), as Locust's stats_history */
int rl_report_history_csv(FILE *f, const struct rl_report *r);
/* --failures: category, target, count, first message */
int rl_report_failures_csv(FILE *f, const struct rl_report *r);
/* --html: the HTML report (html.c), drawn from this run's JSON result */
int rl_report_html(FILE *f, const struct rl_report *r);
/* Writes through a temporary file and rename(2): readers never see half a file. fn
 * returns 0, or nonzero to abandon the file (positive: out of memory). */
int rl_write_atomic(const char *path, int (*fn)(FILE *, void *), void *arg, char *err, size_t errlen);
int rl_report_to_file(const char *path, int (*fn)(FILE *, const struct rl_report *),
		      const struct rl_report *r, char *err, size_t errlen);
/* Checks before the run that path's directory is writable: 0, or -1 with err. */
int rl_report_check_path(const char *path, char *err, size_t errlen);

#endif
