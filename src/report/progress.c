/* The live progress line on stderr: drawn from the engine's progress views, four times
 * a second, over itself (a terminal only; main decides). */
#include <stdio.h>

#include "ringload/report.h"
#include "ringload/units.h"

void rl_report_progress(const struct rl_progress_view *v, void *file)
{
	FILE *f = file;
	double elapsed = (double)v->elapsed_ns / 1e9, span = (double)v->span_ns / 1e9;
	double frac;
	char total[48];
	if (v->requests_goal && (!v->span_ns || (double)v->requests / (double)v->requests_goal > elapsed / span)) {
		frac = (double)v->requests / (double)v->requests_goal;
		snprintf(total, sizeof(total), "%llu/%llu req", (unsigned long long)v->requests,
			 (unsigned long long)v->requests_goal);
	} else {
		frac = span > 0 ? elapsed / span : 0;
		snprintf(total, sizeof(total), "%.1fs/%.1fs%s", elapsed, span, v->warming_up ? " warm-up" : "");
	}
	if (frac > 1)
		frac = 1;
	char bar[21];
	int fill = (int)(frac * 20);
	for (int i = 0; i < 20; i++)
		bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
	bar[20] = 0;
	char rbuf[16], p50[24], p99[24];
	fprintf(f, "\r\033[K[%s] %s  %s req/s  p50 %s  p99 %s  errors %llu  conns %llu", bar, total,
		rl_fmt_count(rbuf, sizeof(rbuf), v->rps),
		rl_fmt_ms(p50, sizeof(p50), rl_hist_percentile(v->latency, 50) / 1000.0),
		rl_fmt_ms(p99, sizeof(p99), rl_hist_percentile(v->latency, 99) / 1000.0),
		(unsigned long long)v->failed, (unsigned long long)v->open_conns);
}

void rl_report_progress_clear(FILE *f)
{
	fputs("\r\033[K", f);
}
