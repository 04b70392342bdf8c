/* The HTML report: one self-contained page (inline CSS and SVG, no fetches) drawn from a
 * JSON result, so `--html` after a run and `ringload report RUN.json` give the same page.
 * Not on any hot path: it allocates freely (series arrays, decoded histograms). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/result_json.h"
#include "svg.h"

#define MAX_SERIES 16                  /* lines in one chart */
#define MAX_SCOPES (RL_MAX_TARGETS + 1) /* columns of a table: every target and the total */
#define CHART_SCOPES (MAX_SERIES - 1)   /* a chart's targets and total, beside one more line */

static const char *target_name(json_t *t)
{
	const char *n = json_string_value(json_object_get(t, "name"));
	if (!n)
		n = json_string_value(json_object_get(t, "url"));
	return n ? n : "?";
}

/* The targets (the first max - 1 of them), then the total when there is more than one
 * target: the columns and series of every per-target view. */
static size_t scopes(json_t *root, json_t **out, const char **names, size_t max)
{
	json_t *targets = json_object_get(root, "targets"), *t;
	size_t i, n = 0;
	json_array_foreach(targets, i, t) {
		if (n == max - 1)
			break;
		out[n] = t;
		names[n++] = target_name(t);
	}
	if (n != 1) {
		out[n] = json_object_get(root, "total");
		names[n++] = "total";
	}
	return n;
}

static void text(FILE *f, const char *s)
{
	rl_svg_text(f, s);
}

static void td_num(FILE *f, double v, int decimals)
{
	fprintf(f, "<td class=\"n\">%.*f</td>", decimals, v);
}

static void td_u64(FILE *f, uint64_t v)
{
	fprintf(f, "<td class=\"n\">%llu</td>", (unsigned long long)v);
}

static void th(FILE *f, const char *s)
{
	fputs("<th>", f);
	text(f, s);
	fputs("</th>", f);
}

static void section(FILE *f, const char *id, const char *title)
{
	fprintf(f, "<section id=\"%s\"><h2>", id);
	text(f, title);
	fputs("</h2>\n", f);
}

/* ---- charts over time ---- */

struct series_buf {
	struct rl_svg_series s[MAX_SERIES];
	double *mem[MAX_SERIES];
	size_t n;
};

/* A series of n points whose x and y the caller fills; NULL when out of room. */
static struct rl_svg_series *series_add(struct series_buf *b, const char *name, size_t n, double **x, double **y)
{
	if (b->n == MAX_SERIES || !(b->mem[b->n] = calloc(2 * (n ? n : 1), sizeof(double))))
		return NULL;
	struct rl_svg_series *s = &b->s[b->n];
	*x = b->mem[b->n];
	*y = b->mem[b->n] + n;
	*s = (struct rl_svg_series){ .name = name, .x = *x, .y = *y, .n = n };
	b->n++;
	return s;
}

static void series_free(struct series_buf *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->mem[i]);
	b->n = 0;
}

/* One history column (key) of a scope as a series over elapsed seconds. "errors_per_s"
 * turns the per-row error count into a rate over the row's interval. */
static struct rl_svg_series *history_series(struct series_buf *b, json_t *scope, const char *name, const char *key)
{
	json_t *rows = json_object_get(scope, "history"), *r;
	double *x, *y, prev = 0;
	struct rl_svg_series *s = series_add(b, name, json_array_size(rows), &x, &y);
	size_t i;
	json_array_foreach(rows, i, r) {
		if (!s)
			break;
		x[i] = rl_json_num(r, "t");
		if (!strcmp(key, "errors_per_s"))
			y[i] = x[i] > prev ? rl_json_num(r, "errors") / (x[i] - prev) : 0;
		else
			y[i] = rl_json_num(r, key);
		prev = x[i];
	}
	return s;
}

static void rate_chart(FILE *f, json_t *root)
{
	json_t *sc[MAX_SERIES];
	const char *names[MAX_SERIES];
	size_t n = scopes(root, sc, names, CHART_SCOPES);
	struct series_buf b = { 0 };
	for (size_t i = 0; i < n; i++)
		history_series(&b, sc[i], names[i], "rps");
	struct rl_svg_series *e = history_series(&b, json_object_get(root, "total"), "errors/s (all targets)", "errors_per_s");
	if (e)
		e->dashed = true;
	rl_svg_line(f, &(struct rl_svg_line_chart){ .title = "Requests per second", .x_label = "elapsed s",
						      .y_label = "req/s", .series = b.s, .nseries = b.n });
	series_free(&b);
}

/* The load itself over time: the connections open (users) and, in an open loop, the
 * offered rate, each second. */
static void load_time_chart(FILE *f, json_t *root)
{
	json_t *total = json_object_get(root, "total");
	json_t *first = json_array_get(json_object_get(total, "history"), 0);
	if (!first)
		return;
	struct series_buf b = { 0 };
	history_series(&b, total, "users (connections open)", "users");
	rl_svg_line(f, &(struct rl_svg_line_chart){ .title = "Users (connections open) per second", .x_label = "elapsed s",
						      .y_label = "connections", .series = b.s, .nseries = b.n });
	series_free(&b);
	if (json_object_get(first, "target_rps")) {
		history_series(&b, total, "offered rate", "target_rps");
		history_series(&b, total, "achieved rate", "rps");
		rl_svg_line(f, &(struct rl_svg_line_chart){ .title = "Offered and achieved rate per second",
							      .x_label = "elapsed s", .y_label = "req/s", .series = b.s,
							      .nseries = b.n });
		series_free(&b);
	}
}

static void latency_time_chart(FILE *f, json_t *root)
{
	json_t *total = json_object_get(root, "total");
	struct series_buf b = { 0 };
	static const char *const keys[] = { "p50_ms", "p90_ms", "p99_ms", "max_ms" };
	static const char *const labels[] = { "p50", "p90", "p99", "max" };
	for (int i = 0; i < 4; i++) {
		struct rl_svg_series *s = history_series(&b, total, labels[i], keys[i]);
		if (s && i == 3)
			s->dashed = true;
	}
	rl_svg_line(f, &(struct rl_svg_line_chart){ .title = "Latency percentiles per second (all targets)",
						      .x_label = "elapsed s", .y_label = "ms", .series = b.s,
						      .nseries = b.n });
	series_free(&b);
}

/* ---- the latency distribution ---- */

/* The percentile spectrum of one saved histogram: points evenly spaced on the log axis up
 * to the last percentile the count can resolve, then the maximum. */
static void spectrum_series(struct series_buf *b, json_t *hist_json, const char *name)
{
	struct rl_hist *h = malloc(sizeof(*h));
	if (!h || rl_hist_from_json(hist_json, h) || !h->total) {
		free(h);
		return;
	}
	double top = fmin(6, log10((double)h->total)); /* 99.9999% at most */
	size_t n = (size_t)(top / 0.05) + 2;
	double *x, *y;
	if (series_add(b, name, n, &x, &y)) {
		for (size_t i = 0; i + 1 < n; i++) {
			x[i] = 100.0 * (1 - pow(10, -0.05 * (double)i));
			y[i] = (double)rl_hist_percentile(h, x[i]) / 1000.0;
		}
		x[n - 1] = 100.0 * (1 - pow(10, -top));
		y[n - 1] = (double)h->max_us / 1000.0;
	}
	free(h);
}

static void spectrum_charts(FILE *f, json_t *root)
{
	json_t *sc[MAX_SERIES];
	const char *names[MAX_SERIES];
	size_t n = scopes(root, sc, names, CHART_SCOPES);
	struct series_buf b = { 0 };
	for (size_t i = 0; i < n; i++)
		spectrum_series(&b, json_object_get(sc[i], "histogram"), names[i]);
	rl_svg_line(f, &(struct rl_svg_line_chart){ .title = "Latency by percentile", .x_label = "percentile (log scale)",
						      .y_label = "ms", .series = b.s, .nseries = b.n,
						      .x_percentile = true });
	series_free(&b);

	json_t *total = json_object_get(root, "total");
	static const char *const keys[] = { "connect_histogram", "tls_histogram", "ttfb_histogram", "download_histogram",
					    "histogram", "latency_ok_histogram", "ttfb_kernel_histogram",
					    "client_delay_histogram" };
	static const char *const labels[] = { "connect", "tls", "ttfb", "download", "latency", "latency (ok only)",
					      "ttfb (kernel stamps)", "client delay" };
	for (int i = 0; i < 8; i++)
		if (json_object_get(total, keys[i])) /* tls: https:// runs only; kernel: where stamped */
			spectrum_series(&b, json_object_get(total, keys[i]), labels[i]);
	rl_svg_line(f, &(struct rl_svg_line_chart){ .title = "Connect, first byte and download by percentile (all targets)",
						      .x_label = "percentile (log scale)", .y_label = "ms",
						      .series = b.s, .nseries = b.n, .x_percentile = true });
	series_free(&b);
}

/* ---- tables ---- */

static void phases(FILE *f, json_t *root)
{
	json_t *total = json_object_get(root, "total");
	/* the handshake is a phase of its own on https:// runs */
	bool tls = json_object_get(total, "tls_ms") != NULL;
	const char *phase_keys[9], *phase_names[9];
	int nphases = 0, nbars;
	phase_keys[nphases] = "connect_ms", phase_names[nphases++] = "connect";
	if (tls)
		phase_keys[nphases] = "tls_ms", phase_names[nphases++] = "tls";
	phase_keys[nphases] = "ttfb_ms", phase_names[nphases++] = "ttfb";
	phase_keys[nphases] = "download_ms", phase_names[nphases++] = "download";
	nbars = nphases;
	phase_keys[nphases] = "latency_ms", phase_names[nphases++] = "latency";
	phase_keys[nphases] = "latency_ok_ms", phase_names[nphases++] = "latency (ok only)";
	if (json_object_get(total, "client_delay_ms")) {
		phase_keys[nphases] = "latency_kernel_ms", phase_names[nphases++] = "latency (kernel stamps)";
		phase_keys[nphases] = "ttfb_kernel_ms", phase_names[nphases++] = "ttfb (kernel stamps)";
		phase_keys[nphases] = "client_delay_ms", phase_names[nphases++] = "client delay";
	}
	static const char *const groups[] = { "p50", "p90", "p99", "p99.9" };
	static const char *const qkeys[] = { "p50", "p90", "p99", "p999" };
	double v[4 * 4];
	for (int g = 0; g < 4; g++)
		for (int p = 0; p < nbars; p++)
			v[g * nbars + p] = rl_json_num(json_object_get(total, phase_keys[p]), qkeys[g]);
	rl_svg_bars(f, &(struct rl_svg_bar_chart){ .title = tls ? "Connect, TLS handshake, first byte and download (all targets)"
								: "Connect, first byte and download (all targets)",
						     .y_label = "ms", .groups = groups, .ngroups = 4,
						     .names = phase_names, .nnames = (size_t)nbars, .values = v });
	json_t *sc[MAX_SCOPES];
	const char *names[MAX_SCOPES];
	size_t n = scopes(root, sc, names, MAX_SCOPES);
	fputs("<table><tr>", f);
	static const char *const cols[] = { "target", "phase", "count", "min", "mean", "stddev", "p50", "p90", "p95",
					    "p99", "p99.9", "max" };
	for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		th(f, cols[c]);
	fputs("</tr>\n", f);
	static const char *const sk[] = { "min", "mean", "stddev", "p50", "p90", "p95", "p99", "p999", "max" };
	for (size_t i = 0; i < n; i++)
		for (int p = 0; p < nphases; p++) {
			json_t *s = json_object_get(sc[i], phase_keys[p]);
			fputs("<tr><td>", f);
			text(f, names[i]);
			fprintf(f, "</td><td>%s</td>", phase_names[p]);
			td_u64(f, rl_json_u64(s, "count"));
			for (int k = 0; k < 9; k++)
				td_num(f, rl_json_num(s, sk[k]), 3);
			fputs("</tr>\n", f);
		}
	fputs("</table><p class=\"note\">Milliseconds. connect counts the requests that opened a "
	      "connection; tls (https://) runs from TCP connected to the handshake's end, once per "
	      "connection; ttfb runs from the request fully written to the first response byte, "
	      "download from there to the last byte. Where the kernel stamps receives (TCP), client delay "
	      "runs from the kernel receiving the first response bytes to ringload handling them, and "
	      "the kernel-stamp rows measure ttfb and latency to the kernel's stamps: what the server "
	      "did, without the client's own wait.</p>\n", f);
}

static void targets_table(FILE *f, json_t *root)
{
	json_t *sc[MAX_SCOPES];
	const char *names[MAX_SCOPES];
	size_t n = scopes(root, sc, names, MAX_SCOPES);
	fputs("<table><tr>", f);
	static const char *const cols[] = { "target", "protocol", "requests", "successful", "failed", "timeouts",
					    "success %", "req/s", "mean ms", "p50 ms", "p90 ms", "p99 ms",
					    "p99.9 ms", "max ms", "avg payload B", "received MB", "connections" };
	for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		th(f, cols[c]);
	fputs("</tr>\n", f);
	for (size_t i = 0; i < n; i++) {
		json_t *t = sc[i], *lat = json_object_get(t, "latency_ms");
		fputs("<tr><td>", f);
		text(f, names[i]);
		fputs("</td><td>", f);
		text(f, json_string_value(json_object_get(t, "protocol")));
		fputs("</td>", f);
		td_u64(f, rl_json_u64(t, "requests"));
		td_u64(f, rl_json_u64(t, "successful"));
		td_u64(f, rl_json_u64(t, "failed"));
		td_u64(f, rl_json_u64(t, "timeouts"));
		td_num(f, rl_json_num(t, "success_rate"), 2);
		td_num(f, rl_json_num(t, "throughput_rps"), 1);
		static const char *const k[] = { "mean", "p50", "p90", "p99", "p999", "max" };
		for (int q = 0; q < 6; q++)
			td_num(f, rl_json_num(lat, k[q]), 3);
		td_num(f, rl_json_num(t, "avg_payload_bytes"), 1);
		td_num(f, (double)rl_json_u64(t, "bytes_received") / 1e6, 2);
		td_u64(f, rl_json_u64(json_object_get(t, "connections"), "opened"));
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	json_t *tg = json_object_get(root, "targets");
	for (size_t i = 0; i < json_array_size(tg); i++) {
		json_t *t = json_array_get(tg, i);
		const char *url = json_string_value(json_object_get(t, "url"));
		if (url && strcmp(url, target_name(t))) {
			fputs("<p class=\"note\">", f);
			text(f, target_name(t));
			fputs(": ", f);
			text(f, url);
			fputs("</p>\n", f);
		}
	}
}

static void comparison_table(FILE *f, json_t *root)
{
	json_t *tg = json_object_get(root, "targets");
	size_t n = json_array_size(tg);
	if (n < 2 || n > RL_CMP_MAX_RUNS)
		return;
	struct rl_metrics *m = calloc(n, sizeof(*m));
	if (!m)
		return;
	for (size_t i = 0; i < n; i++)
		rl_metrics_from_json(json_array_get(tg, i), &m[i]);
	struct rl_cmp_row rows[RL_CMP_MAX_ROWS];
	size_t nrows = rl_compare_rows(m, n, RL_CMP_TIE_PCT, rows);
	section(f, "comparison", "Comparison");
	fputs("<table><tr>", f);
	th(f, "metric");
	for (size_t i = 0; i < n; i++)
		th(f, target_name(json_array_get(tg, i)));
	th(f, "winner");
	th(f, "difference");
	fputs("</tr>\n", f);
	for (size_t r = 0; r < nrows; r++) {
		fprintf(f, "<tr><td>%s</td>", rows[r].label);
		for (size_t i = 0; i < n; i++) {
			char v[32];
			snprintf(v, sizeof(v), rows[r].fmt, rows[r].values[i]);
			fprintf(f, "<td class=\"n%s\">%s</td>", (int)i == rows[r].winner ? " win" : "", v);
		}
		if (rows[r].winner < 0) {
			fputs("<td>tie</td><td class=\"n\">-</td></tr>\n", f);
		} else {
			fputs("<td>", f);
			text(f, target_name(json_array_get(tg, (size_t)rows[r].winner)));
			fprintf(f, "</td><td class=\"n\">%.1f%% (%.2f&times;)</td></tr>\n", rows[r].diff_pct, rows[r].factor);
		}
	}
	fputs("</table></section>\n", f);
	free(m);
}

static void stages_section(FILE *f, json_t *root)
{
	json_t *stages = json_object_get(root, "stages"), *s;
	size_t n = json_array_size(stages), i;
	if (!n)
		return;
	const char *load = json_string_value(json_object_get(json_array_get(stages, 0), "load"));
	bool rate = load && !strcmp(load, "rate");
	const char *axis = rate ? "offered rate (req/s)" : "connections";
	section(f, "stages", "Stages");
	struct series_buf b = { 0 };
	double *x[3], *y[3], *tx, *ty;
	static const char *const q[] = { "p50", "p90", "p99" };
	/* a linear ramp is one stage, one point: the curve comes from its seconds (the load
	 * at each second's end against that second's percentiles) */
	bool ramp = false;
	json_array_foreach(stages, i, s)
		ramp |= !json_is_true(json_object_get(s, "step"));
	json_t *rows = json_object_get(json_object_get(root, "total"), "history"), *r;
	size_t npts = ramp ? json_array_size(rows) : n;
	for (int k = 0; k < 3; k++)
		series_add(&b, q[k], npts, &x[k], &y[k]);
	bool ok = b.n == 3;
	if (ramp) {
		static const char *const hk[] = { "p50_ms", "p90_ms", "p99_ms" };
		json_array_foreach(rows, i, r) {
			for (int k = 0; ok && k < 3; k++) {
				x[k][i] = rl_json_num(r, rate ? "target_rps" : "users");
				y[k][i] = rl_json_num(r, hk[k]);
			}
		}
	} else {
		json_array_foreach(stages, i, s) {
			for (int k = 0; ok && k < 3; k++) {
				x[k][i] = rl_json_num(s, "level");
				y[k][i] = rl_json_num(json_object_get(s, "latency_ms"), q[k]);
			}
		}
	}
	rl_svg_line(f, &(struct rl_svg_line_chart){ .title = ramp ? "Response time against load (each second of the ramp)"
								  : "Response time against load",
						      .x_label = axis, .y_label = "ms", .series = b.s,
						      .nseries = ok ? 3 : 0, .markers = true });
	series_free(&b);
	if (series_add(&b, "throughput", n, &tx, &ty)) {
		json_array_foreach(stages, i, s) {
			tx[i] = rl_json_num(s, "level");
			ty[i] = rl_json_num(s, "throughput_rps");
		}
	}
	rl_svg_line(f, &(struct rl_svg_line_chart){ .title = "Throughput against load", .x_label = axis,
						      .y_label = "req/s", .series = b.s, .nseries = b.n, .markers = true });
	series_free(&b);

	fputs("<table><tr>", f);
	static const char *const cols[] = { "stage", "start s", "duration s", "load", "requests", "failed",
					    "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors" };
	for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		th(f, cols[c]);
	fputs("</tr>\n", f);
	json_array_foreach(stages, i, s) {
		json_t *lat = json_object_get(s, "latency_ms");
		fputs("<tr>", f);
		td_u64(f, rl_json_u64(s, "stage"));
		td_num(f, rl_json_num(s, "start_s"), 3);
		td_num(f, rl_json_num(s, "duration_s"), 3);
		fprintf(f, "<td class=\"n\">%s%g %s</td>", json_is_true(json_object_get(s, "step")) ? "=" : "",
			rl_json_num(s, "level"), rate ? "req/s" : "conns");
		td_u64(f, rl_json_u64(s, "requests"));
		td_u64(f, rl_json_u64(s, "failed"));
		td_num(f, rl_json_num(s, "throughput_rps"), 1);
		static const char *const k[] = { "p50", "p90", "p99", "max" };
		for (int j = 0; j < 4; j++)
			td_num(f, rl_json_num(lat, k[j]), 3);
		fputs("<td>", f);
		const char *key;
		json_t *v;
		int first = 1;
		json_object_foreach(json_object_get(s, "errors"), key, v) {
			fputs(first ? "" : ", ", f);
			text(f, key);
			fprintf(f, " %llu", (unsigned long long)(json_is_integer(v) ? json_integer_value(v) : 0));
			first = 0;
		}
		fputs("</td></tr>\n", f);
	}
	fputs("</table></section>\n", f);
}

static void groups_section(FILE *f, json_t *root)
{
	json_t *groups = json_object_get(root, "groups"), *g;
	size_t i;
	if (!json_array_size(groups))
		return;
	section(f, "groups", "Fan-out groups");
	fputs("<table><tr>", f);
	static const char *const cols[] = { "group", "members", "rounds", "batches/s", "full success", "partial success",
					    "total failure", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms" };
	for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		th(f, cols[c]);
	fputs("</tr>\n", f);
	json_array_foreach(groups, i, g) {
		fputs("<tr><td>", f);
		text(f, json_string_value(json_object_get(g, "name")));
		fputs("</td><td>", f);
		size_t k;
		json_t *m;
		json_array_foreach(json_object_get(g, "members"), k, m) {
			fputs(k ? ", " : "", f);
			text(f, json_string_value(m));
		}
		fputs("</td>", f);
		td_u64(f, rl_json_u64(g, "rounds"));
		td_num(f, rl_json_num(g, "batches_per_s"), 2);
		static const char *const c[] = { "full_success", "partial_success", "total_failure" };
		for (int j = 0; j < 3; j++)
			td_u64(f, rl_json_u64(g, c[j]));
		json_t *lat = json_object_get(g, "latency_ms");
		static const char *const q[] = { "mean", "p50", "p95", "p99", "max" };
		for (int j = 0; j < 5; j++)
			td_num(f, rl_json_num(lat, q[j]), 3);
		fputs("</tr>\n", f);
	}
	fputs("</table></section>\n", f);
}

/* One row per key found in any scope's object (errors, status codes), a column per scope. */
static void counts_table(FILE *f, json_t **sc, const char **names, size_t n, const char *field, const char *what)
{
	json_t *keys = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(sc[i], field), key, v)
			json_object_set_new(keys, key, json_true());
	}
	if (!json_object_size(keys)) {
		fprintf(f, "<p class=\"note\">No %s.</p>\n", what);
		json_decref(keys);
		return;
	}
	fputs("<table><tr>", f);
	th(f, what);
	for (size_t i = 0; i < n; i++)
		th(f, names[i]);
	fputs("</tr>\n", f);
	const char *key;
	json_t *unused;
	json_object_foreach(keys, key, unused) {
		fputs("<tr><td>", f);
		text(f, key);
		fputs("</td>", f);
		for (size_t i = 0; i < n; i++)
			td_u64(f, rl_json_u64(json_object_get(sc[i], field), key));
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	json_decref(keys);
}

static void errors_section(FILE *f, json_t *root)
{
	json_t *sc[MAX_SCOPES];
	const char *names[MAX_SCOPES];
	size_t n = scopes(root, sc, names, MAX_SCOPES);
	section(f, "errors", "Errors and status codes");
	counts_table(f, sc, names, n, "errors", "errors");
	counts_table(f, sc, names, n, "status_codes", "status codes");
	fputs("</section>\n", f);
}

static void value(FILE *f, json_t *v)
{
	if (json_is_string(v)) {
		text(f, json_string_value(v));
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			fputs(i ? ", " : "", f);
			value(f, e);
		}
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(9));
		text(f, s ? s : "");
		free(s);
	}
}

static void config_section(FILE *f, json_t *root)
{
	section(f, "config", "Configuration");
	fputs("<table class=\"kv\">\n", f);
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(root, "config"), key, v) {
		fputs("<tr><th>", f);
		text(f, key);
		fputs("</th><td>", f);
		value(f, v);
		fputs("</td></tr>\n", f);
	}
	json_t *client = json_object_get(root, "client");
	fprintf(f, "<tr><th>client CPU</th><td>%.3f s user, %.3f s system, %.3f &micro;s per request, "
		   "max RSS %llu KiB</td></tr>\n",
		rl_json_num(client, "cpu_user_s"), rl_json_num(client, "cpu_sys_s"),
		rl_json_num(client, "cpu_us_per_request"), (unsigned long long)rl_json_u64(client, "max_rss_kb"));
	fprintf(f, "<tr><th>client I/O</th><td>%llu io_uring_enter (%.4f per request), %llu sends, "
		   "%llu receive completions</td></tr>\n",
		(unsigned long long)rl_json_u64(client, "io_uring_enters"),
		rl_json_num(client, "io_uring_enters_per_request"),
		(unsigned long long)rl_json_u64(client, "sends"),
		(unsigned long long)rl_json_u64(client, "recv_completions"));
	fputs("</table></section>\n", f);
}

static void card(FILE *f, const char *label, const char *fmt, double v)
{
	char s[64];
	snprintf(s, sizeof(s), fmt, v);
	fprintf(f, "<div class=\"card\"><div class=\"v\">%s</div><div class=\"l\">%s</div></div>\n", s, label);
}

static void head(FILE *f, json_t *root)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>ringload report", f);
	json_t *t0 = json_array_get(json_object_get(root, "targets"), 0);
	if (t0) {
		fputs(" - ", f);
		text(f, target_name(t0));
	}
	fputs("</title>\n<style>\n"
	      "body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}\n"
	      "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}\n"
	      ".meta{color:#555}.note{color:#666;font-size:12px;margin:4px 0}\n"
	      ".cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}\n"
	      ".card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}\n"
	      ".card .v{font-size:20px;font-weight:600}.card .l{color:#666;font-size:12px}\n"
	      ".charts{display:flex;flex-wrap:wrap;gap:12px}\n"
	      "svg.chart{border:1px solid #eee;border-radius:6px;max-width:100%;height:auto;background:#fff}\n"
	      "svg .ctitle{font-weight:600;font-size:14px}svg .legend,svg .tick{font-size:11px;fill:#444}\n"
	      "svg .axis{font-size:12px;fill:#444}svg .grid{stroke:#eee}\n"
	      "table{border-collapse:collapse;margin:8px 0;font-size:13px}\n"
	      "th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f5f5f5}\n"
	      "td.n{text-align:right;font-variant-numeric:tabular-nums}td.win{font-weight:700}\n"
	      "table.kv th{width:170px}\n"
	      "</style></head>\n<body>\n<h1>ringload report</h1>\n<p class=\"meta\">", f);
	text(f, json_string_value(json_object_get(root, "tool")));
	fputc(' ', f);
	text(f, json_string_value(json_object_get(root, "version")));
	fputs(" &middot; started ", f);
	text(f, json_string_value(json_object_get(root, "started_at")));
	fprintf(f, " &middot; %.3f s", rl_json_num(root, "duration_s"));
	if (json_is_true(json_object_get(root, "interrupted")))
		fputs(" &middot; <b>interrupted</b>", f);
	fputs("</p>\n", f);
}

static void summary_cards(FILE *f, json_t *root)
{
	json_t *total = json_object_get(root, "total"), *lat = json_object_get(total, "latency_ms");
	fputs("<div class=\"cards\">\n", f);
	card(f, "requests", "%.0f", (double)rl_json_u64(total, "requests"));
	card(f, "success %", "%.2f", rl_json_num(total, "success_rate"));
	card(f, "req/s", "%.1f", rl_json_num(total, "throughput_rps"));
	card(f, "latency p50 ms", "%.3f", rl_json_num(lat, "p50"));
	card(f, "latency p99 ms", "%.3f", rl_json_num(lat, "p99"));
	card(f, "latency max ms", "%.3f", rl_json_num(lat, "max"));
	card(f, "client CPU &micro;s/req", "%.2f", rl_json_num(json_object_get(root, "client"), "cpu_us_per_request"));
	fputs("</div>\n", f);
	json_t *rate = json_object_get(root, "rate");
	if (json_is_object(rate)) {
		fprintf(f, "<p>Open loop: %.1f req/s offered, %.1f achieved, %llu not sent.",
			rl_json_num(rate, "target_rps"), rl_json_num(rate, "achieved_rps"),
			(unsigned long long)rl_json_u64(rate, "not_sent"));
		const char *warn = json_string_value(json_object_get(rate, "warning"));
		if (warn) {
			fputs(" <b>", f);
			text(f, warn);
			fputs("</b>", f);
		}
		fputs("</p>\n", f);
	}
}

/* Runs in the browser after load: marks each chart whose series all have a drawn,
 * non-empty box, so a headless browser (and a reader's devtools) can tell the page
 * rendered. The page reads the same without it. */
static const char self_check[] =
	"<script>\n"
	"(function () {\n"
	"  var charts = document.querySelectorAll('svg.chart'), drawn = 0;\n"
	"  charts.forEach(function (svg) {\n"
	"    var series = svg.querySelectorAll('g.series'), ok = series.length > 0;\n"
	"    series.forEach(function (g) { var b = g.getBBox(); if (!(b.width > 0 || b.height > 0)) ok = false; });\n"
	"    if (ok) { drawn++; svg.setAttribute('data-drawn', '1'); }\n"
	"  });\n"
	"  document.body.setAttribute('data-charts', String(charts.length));\n"
	"  document.body.setAttribute('data-charts-drawn', String(drawn));\n"
	"})();\n"
	"</script>\n";

int rl_report_html_from_json(FILE *f, json_t *root)
{
	head(f, root);
	summary_cards(f, root);
	if (json_array_size(json_object_get(root, "targets")) > CHART_SCOPES - 1)
		fprintf(f, "<p class=\"note\">The charts show the first %d targets and the total; the "
			   "tables show every target.</p>\n", CHART_SCOPES - 1);
	section(f, "over-time", "Over time");
	fputs("<div class=\"charts\">\n", f);
	rate_chart(f, root);
	load_time_chart(f, root);
	latency_time_chart(f, root);
	fputs("</div></section>\n", f);
	section(f, "distribution", "Latency distribution");
	fputs("<div class=\"charts\">\n", f);
	spectrum_charts(f, root);
	fputs("</div>\n", f);
	phases(f, root);
	fputs("</section>\n", f);
	section(f, "targets", "Targets");
	targets_table(f, root);
	fputs("</section>\n", f);
	comparison_table(f, root);
	stages_section(f, root);
	groups_section(f, root);
	errors_section(f, root);
	config_section(f, root);
	fputs(self_check, f);
	fputs("</body></html>\n", f);
	return ferror(f) ? -1 : 0;
}

/* --html: the run's JSON result, read back, so both ways to a report share one path. */
int rl_report_html(FILE *f, const struct rl_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		return 1;
	int rc = rl_report_json(mem, r);
	if (fclose(mem) || rc) {
		free(buf);
		return -1;
	}
	json_t *root = json_loadb(buf, len, 0, NULL);
	free(buf);
	if (!root)
		return 1;
	rc = rl_report_html_from_json(f, root);
	json_decref(root);
	return rc;
}
