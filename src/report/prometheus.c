/* Live metrics in Prometheus's text exposition format (version 0.0.4): per target the
 * requests that ended, failures by category, requests in flight, connections open and
 * latency as summary quantiles; the client's own CPU. A scrape during a run reads the
 * workers' last published copies; after it, the run's results. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ringload/report.h"

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const char *target, const char *extra, double v)
{
	fprintf(f, "%s{target=\"", name);
	label(f, target);
	/* counts exactly (integers up to 2^53), times to nine digits */
	bool whole = v == floor(v) && fabs(v) < 9007199254740992.0;
	fprintf(f, whole ? "\"%s} %.0f\n" : "\"%s} %.9g\n", extra ? extra : "", v);
}

struct fail_ctx {
	FILE *f;
	const char *target;
};

static void failure(void *ctx, const char *name, uint64_t n)
{
	struct fail_ctx *c = ctx;
	char extra[96];
	snprintf(extra, sizeof(extra), ",category=\"%s\"", name); /* names are [a-z0-9_:] */
	sample(c->f, "ringload_failures_total", c->target, extra, (double)n);
}

void rl_report_prometheus(FILE *f, const struct rl_prom_view *v)
{
	family(f, "ringload_requests_total", "counter", "Requests that ended, successful or failed.");
	for (size_t t = 0; t < v->ntargets; t++)
		sample(f, "ringload_requests_total", v->names[t], NULL, (double)v->targets[t].requests);
	family(f, "ringload_successful_total", "counter", "Requests that ended successfully.");
	for (size_t t = 0; t < v->ntargets; t++)
		sample(f, "ringload_successful_total", v->names[t], NULL,
		       (double)(v->targets[t].requests - v->targets[t].failed));
	family(f, "ringload_failures_total", "counter",
	       "Failed requests by category (http_<code>, grpc_<NAME>, timeout, connect_refused, ...).");
	for (size_t t = 0; t < v->ntargets; t++) {
		struct fail_ctx c = { f, v->names[t] };
		rl_fail_counts_each_error(&v->targets[t].fails, failure, &c);
	}
	family(f, "ringload_in_flight", "gauge", "Requests sent and not yet ended.");
	for (size_t t = 0; t < v->ntargets; t++)
		sample(f, "ringload_in_flight", v->names[t], NULL, (double)v->targets[t].in_flight);
	family(f, "ringload_open_connections", "gauge", "Connections open.");
	for (size_t t = 0; t < v->ntargets; t++)
		sample(f, "ringload_open_connections", v->names[t], NULL, (double)v->targets[t].open);
	family(f, "ringload_latency_seconds", "summary",
	       "Latency of every ended request, failures included (from the intended start in an open loop).");
	static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	for (size_t t = 0; t < v->ntargets; t++) {
		const struct rl_hist *h = &v->latency[t];
		for (size_t q = 0; q < sizeof(qs) / sizeof(qs[0]); q++) {
			char extra[32];
			snprintf(extra, sizeof(extra), ",quantile=\"%g\"", qs[q]);
			sample(f, "ringload_latency_seconds", v->names[t], extra,
			       h->total ? (double)rl_hist_percentile(h, qs[q] * 100) / 1e6 : NAN);
		}
		sample(f, "ringload_latency_seconds_sum", v->names[t], NULL, (double)h->sum_us / 1e6);
		sample(f, "ringload_latency_seconds_count", v->names[t], NULL, (double)h->total);
	}
	family(f, "ringload_client_cpu_seconds_total", "counter", "The client's own CPU time.");
	fprintf(f, "ringload_client_cpu_seconds_total{mode=\"user\"} %.6f\n", v->cpu_user_s);
	fprintf(f, "ringload_client_cpu_seconds_total{mode=\"system\"} %.6f\n", v->cpu_sys_s);
	family(f, "ringload_elapsed_seconds", "gauge", "Seconds since the run's clock started.");
	fprintf(f, "ringload_elapsed_seconds %.3f\n", v->elapsed_s);
	family(f, "ringload_run_finished", "gauge", "1 once the run has ended: the counts are its results.");
	fprintf(f, "ringload_run_finished %d\n", v->finished ? 1 : 0);
}
