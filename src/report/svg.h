/* Charts as inline SVG for the HTML report: line charts (linear axes, or a percentile
 * axis on a log scale) and grouped bar charts. Pure output: no state, no allocation.
 * Every drawn series is a <g class="series">, which the report's self-check counts. */
#ifndef RINGLOAD_REPORT_SVG_H
#define RINGLOAD_REPORT_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct rl_svg_series {
	const char *name;
	const double *x, *y;
	size_t n;
	bool dashed;
};

struct rl_svg_line_chart {
	const char *title, *x_label, *y_label;
	const struct rl_svg_series *series;
	size_t nseries;
	/* x holds percentiles in [0, 100): drawn at log10(100 / (100 - x)), so 90, 99,
	 * 99.9 ... are equally spaced (HdrHistogram's percentile spectrum) */
	bool x_percentile;
	bool markers; /* a dot at every point (few points: stages) */
};

struct rl_svg_bar_chart {
	const char *title, *y_label;
	const char *const *groups; /* along x */
	size_t ngroups;
	const char *const *names;  /* the bars in each group */
	size_t nnames;
	const double *values;      /* [group * nnames + name] */
};

/* Series colours, shared with the HTML tables' legends. */
const char *rl_svg_color(size_t i);
void rl_svg_line(FILE *f, const struct rl_svg_line_chart *c);
void rl_svg_bars(FILE *f, const struct rl_svg_bar_chart *c);
/* Text escaped for HTML and SVG (& < > " '). */
void rl_svg_text(FILE *f, const char *s);

#endif
