/* The REST-vs-gRPC seed's comparison table: per metric, each target's value, the
 * winner, and by how much it beats the runner-up (relative to the runner-up). Shared
 * by the run's console report and, later, `ringload compare`. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ringload/report.h"
#include "jsonw.h"

struct metric_row {
	const char *label;
	int higher_is_better;
	double (*get)(const struct rl_metrics *m);
	const char *fmt;
	int only;       /* ALWAYS, or shown when some run has that phase */
};

enum { ALWAYS, WITH_TLS, WITH_KERNEL_STAMPS };

static double success(const struct rl_metrics *m) { return m->success_rate; }
static double rps(const struct rl_metrics *m) { return m->throughput_rps; }
static double lat_mean(const struct rl_metrics *m) { return m->latency.mean; }
static double lat_p50(const struct rl_metrics *m) { return m->latency.p50; }
static double lat_p95(const struct rl_metrics *m) { return m->latency.p95; }
static double lat_p99(const struct rl_metrics *m) { return m->latency.p99; }
static double lat_ok_p99(const struct rl_metrics *m) { return m->latency_ok.p99; }
static double ttfb_p50(const struct rl_metrics *m) { return m->ttfb.p50; }
static double tls_p50(const struct rl_metrics *m) { return m->tls.p50; }
static double tls_p99(const struct rl_metrics *m) { return m->tls.p99; }
static double ttfb_kernel_p50(const struct rl_metrics *m) { return m->ttfb_kernel.p50; }
static double client_delay_p99(const struct rl_metrics *m) { return m->client_delay.p99; }
static double payload(const struct rl_metrics *m) { return m->avg_payload_bytes; }
static double efficiency(const struct rl_metrics *m) { return m->network_efficiency_bytes_per_ms; }

static const struct metric_row rows[] = {
	{ "success rate %", 1, success, "%.2f", ALWAYS },
	{ "throughput req/s", 1, rps, "%.1f", ALWAYS },
	{ "latency mean ms", 0, lat_mean, "%.3f", ALWAYS },
	{ "latency p50 ms", 0, lat_p50, "%.3f", ALWAYS },
	{ "latency p95 ms", 0, lat_p95, "%.3f", ALWAYS },
	{ "latency p99 ms", 0, lat_p99, "%.3f", ALWAYS },
	{ "latency ok p99 ms", 0, lat_ok_p99, "%.3f", ALWAYS },
	{ "ttfb p50 ms", 0, ttfb_p50, "%.3f", ALWAYS },
	{ "ttfb kernel p50 ms", 0, ttfb_kernel_p50, "%.3f", WITH_KERNEL_STAMPS },
	{ "client delay p99 ms", 0, client_delay_p99, "%.3f", WITH_KERNEL_STAMPS },
	{ "tls p50 ms", 0, tls_p50, "%.3f", WITH_TLS },
	{ "tls p99 ms", 0, tls_p99, "%.3f", WITH_TLS },
	{ "avg payload B", 0, payload, "%.1f", ALWAYS },
	{ "efficiency B/ms", 1, efficiency, "%.2f", ALWAYS },
};

size_t rl_compare_rows(const struct rl_metrics *m, size_t n, double tie_pct, struct rl_cmp_row *out)
{
	size_t nrows = 0;
	bool has[3] = { true, false, false };
	for (size_t i = 0; i < n; i++) {
		has[WITH_TLS] |= m[i].tls.count > 0;
		has[WITH_KERNEL_STAMPS] |= m[i].client_delay.count > 0;
	}
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		const struct metric_row *row = &rows[r];
		if (!has[row->only])
			continue;
		struct rl_cmp_row *o = &out[nrows++];
		o->label = row->label;
		o->fmt = row->fmt;
		o->higher_is_better = row->higher_is_better;
		for (size_t i = 0; i < n; i++)
			o->values[i] = row->get(&m[i]);
		/* rank: the best, then the runner-up */
		size_t best = 0, second;
		for (size_t i = 1; i < n; i++)
			if (row->higher_is_better ? o->values[i] > o->values[best] : o->values[i] < o->values[best])
				best = i;
		second = best == 0 ? 1 : 0;
		for (size_t i = 0; i < n; i++)
			if (i != best && (row->higher_is_better ? o->values[i] > o->values[second]
								  : o->values[i] < o->values[second]))
				second = i;
		double w = o->values[best], sv = n > 1 ? o->values[second] : w;
		o->diff_pct = n < 2 || w == sv ? 0 : sv != 0 ? fabs(w - sv) / fabs(sv) * 100.0 : 100.0;
		/* how many times better: the larger over the smaller, either way round */
		double hi = fabs(w) > fabs(sv) ? fabs(w) : fabs(sv), lo = fabs(w) > fabs(sv) ? fabs(sv) : fabs(w);
		o->factor = lo > 0 ? hi / lo : 0;
		o->winner = n < 2 || w == sv || o->diff_pct < tie_pct ? -1 : (int)best;
	}
	return nrows;
}

void rl_report_comparison(FILE *f, const char *const *names, const struct rl_metrics *m, size_t n, double tie_pct)
{
	struct rl_cmp_row out[RL_CMP_MAX_ROWS];
	size_t nrows = rl_compare_rows(m, n, tie_pct, out);
	int width = 14;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(names[i]) > width && strlen(names[i]) < 40)
			width = (int)strlen(names[i]);
	fprintf(f, "\nComparison\n  %-18s", "metric");
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %*.*s", width, width, names[i]);
	fprintf(f, " %*s %20s\n", width, "winner", "difference");
	for (size_t r = 0; r < nrows; r++) {
		fprintf(f, "  %-18s", out[r].label);
		for (size_t i = 0; i < n; i++) {
			char v[32];
			snprintf(v, sizeof(v), out[r].fmt, out[r].values[i]);
			fprintf(f, " %*s", width, v);
		}
		char diff[48];
		if (out[r].factor > 0)
			snprintf(diff, sizeof(diff), "%.1f%% (%.2f\u00d7)", out[r].diff_pct, out[r].factor);
		else
			snprintf(diff, sizeof(diff), "%.1f%%", out[r].diff_pct);
		if (out[r].winner < 0)
			fprintf(f, " %*s %20s\n", width, "tie", out[r].diff_pct > 0 ? diff : "-");
		else
			fprintf(f, " %*.*s %20s\n", width, width, names[out[r].winner], diff);
	}
}

void rl_report_comparison_jw(struct rl_jw *w, const char *const *names, const struct rl_metrics *m, size_t n,
			     double tie_pct)
{
	struct rl_cmp_row table[RL_CMP_MAX_ROWS];
	size_t nrows = rl_compare_rows(m, n, tie_pct, table);
	rl_jw_arr(w, "runs");
	for (size_t i = 0; i < n; i++)
		rl_jw_str(w, NULL, names[i]);
	rl_jw_end_arr(w);
	rl_jw_num(w, "tie_pct", tie_pct, 3);
	rl_jw_arr(w, "metrics");
	for (size_t r = 0; r < nrows; r++) {
		rl_jw_obj(w, NULL);
		rl_jw_str(w, "metric", table[r].label);
		rl_jw_arr(w, "values");
		for (size_t i = 0; i < n; i++)
			rl_jw_num(w, NULL, table[r].values[i], 6);
		rl_jw_end_arr(w);
		if (table[r].winner < 0)
			rl_jw_null(w, "winner");
		else
			rl_jw_str(w, "winner", names[table[r].winner]);
		rl_jw_num(w, "difference_pct", table[r].diff_pct, 3);
		rl_jw_num(w, "factor", table[r].factor, 3);
		rl_jw_end_obj(w);
	}
	rl_jw_end_arr(w);
}

void rl_report_comparison_csv(FILE *f, const char *const *names, const struct rl_metrics *m, size_t n,
			      double tie_pct)
{
	struct rl_cmp_row table[RL_CMP_MAX_ROWS];
	size_t nrows = rl_compare_rows(m, n, tie_pct, table);
	fputs("metric", f);
	for (size_t i = 0; i < n; i++) {
		fputc(',', f);
		rl_report_csv_quoted(f, names[i]);
	}
	fputs(",winner,difference_pct,factor\n", f);
	for (size_t r = 0; r < nrows; r++) {
		fputs(table[r].label, f);
		for (size_t i = 0; i < n; i++)
			fprintf(f, ",%.6g", table[r].values[i]);
		fputc(',', f);
		rl_report_csv_quoted(f, table[r].winner < 0 ? "tie" : names[table[r].winner]);
		fprintf(f, ",%.3f,%.3f\n", table[r].diff_pct, table[r].factor);
	}
}
