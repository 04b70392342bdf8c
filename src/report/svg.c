/* Inline SVG charts for the HTML report. Axes get "nice" ticks (1, 2, 5 x 10^k) so the
 * numbers a reader sees are round; the percentile axis is logarithmic in 1 / (1 - q),
 * where the tail a load test is run for gets as much room as the median. */
#include <math.h>
#include <string.h>

#include "svg.h"

#define W      720.0
#define H      320.0
#define LEFT   70.0
#define RIGHT  36.0 /* room for the last tick's label */
#define TOP    64.0 /* the title and two legend rows */
#define BOTTOM 46.0

static const char *const palette[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
};

const char *rl_svg_color(size_t i)
{
	return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

void rl_svg_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static double nice_step(double range)
{
	if (!(range > 0))
		return 1;
	double mag = pow(10, floor(log10(range / 5)));
	double f = range / 5 / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

static void number(char *out, size_t len, double v)
{
	if (fabs(v) < 1e-12)
		v = 0;
	snprintf(out, len, "%.6g", v);
}

struct frame {
	double x0, x1, y0, y1;
};

static double px(const struct frame *fr, double x)
{
	return LEFT + (x - fr->x0) / (fr->x1 - fr->x0) * (W - LEFT - RIGHT);
}

static double py(const struct frame *fr, double y)
{
	return H - BOTTOM - (y - fr->y0) / (fr->y1 - fr->y0) * (H - TOP - BOTTOM);
}

static void open_chart(FILE *f, const char *title, const char *const *names, size_t n)
{
	fprintf(f, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
		   "width=\"%.0f\" height=\"%.0f\" role=\"img\">\n<title>", W, H, W * 0.8, H * 0.8);
	rl_svg_text(f, title);
	fprintf(f, "</title>\n<text x=\"%.0f\" y=\"18\" class=\"ctitle\">", LEFT);
	rl_svg_text(f, title);
	fputs("</text>\n", f);
	/* the legend: up to two rows; a long name is cut (its series' tooltip has it whole) */
	double x = LEFT, y = 28;
	for (size_t i = 0; i < n; i++) {
		char name[48];
		size_t len = strlen(names[i]);
		snprintf(name, sizeof(name), "%.*s%s", len > 40 ? 37 : (int)len, names[i], len > 40 ? "..." : "");
		double w = 16 + 6.5 * (double)strlen(name) + 18;
		if (x + w > W - RIGHT && x > LEFT) {
			if (y > 28) {
				fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" class=\"legend\">+%zu more</text>\n", x, y + 8,
					n - i);
				break;
			}
			x = LEFT;
			y += 14;
		}
		fprintf(f, "<rect x=\"%.1f\" y=\"%.0f\" width=\"12\" height=\"8\" fill=\"%s\"/>"
			   "<text x=\"%.1f\" y=\"%.0f\" class=\"legend\">", x, y, rl_svg_color(i), x + 16, y + 8);
		rl_svg_text(f, name);
		fputs("</text>\n", f);
		x += w;
	}
}

static void y_axis(FILE *f, const struct frame *fr, double step, const char *label)
{
	for (double v = fr->y0; v <= fr->y1 + step / 1e6; v += step) {
		char t[32];
		number(t, sizeof(t), v);
		fprintf(f, "<line class=\"grid\" x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\"/>"
			   "<text class=\"tick\" x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			LEFT, W - RIGHT, py(fr, v), py(fr, v), LEFT - 6, py(fr, v) + 4, t);
	}
	fprintf(f, "<text class=\"axis\" transform=\"translate(14 %.0f) rotate(-90)\" text-anchor=\"middle\">",
		(TOP + H - BOTTOM) / 2);
	rl_svg_text(f, label);
	fputs("</text>\n", f);
}

static void x_label(FILE *f, const char *label)
{
	fprintf(f, "<text class=\"axis\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">", (LEFT + W - RIGHT) / 2, H - 8);
	rl_svg_text(f, label);
	fputs("</text>\n", f);
}

static double x_of(const struct rl_svg_line_chart *c, double x)
{
	return c->x_percentile ? log10(100.0 / (100.0 - (x < 100 ? x : 99.9999999))) : x;
}

static void no_data(FILE *f)
{
	fprintf(f, "<text class=\"axis\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">no data</text>\n</svg>\n",
		W / 2, H / 2);
}

void rl_svg_line(FILE *f, const struct rl_svg_line_chart *c)
{
	const char *names[16] = { 0 };
	size_t nn = c->nseries < 16 ? c->nseries : 16;
	for (size_t i = 0; i < nn; i++)
		names[i] = c->series[i].name;
	open_chart(f, c->title, names, nn);

	struct frame fr = { INFINITY, -INFINITY, 0, 0 };
	size_t points = 0;
	for (size_t s = 0; s < nn; s++)
		for (size_t i = 0; i < c->series[s].n; i++) {
			double x = x_of(c, c->series[s].x[i]), y = c->series[s].y[i];
			if (!isfinite(x) || !isfinite(y))
				continue;
			fr.x0 = fmin(fr.x0, x);
			fr.x1 = fmax(fr.x1, x);
			fr.y1 = fmax(fr.y1, y);
			points++;
		}
	if (!points) {
		no_data(f);
		return;
	}
	if (c->x_percentile) {
		fr.x0 = 0;
		fr.x1 = fmax(1, ceil(fr.x1 - 1e-9));
	} else if (fr.x1 - fr.x0 < 1e-9) {
		fr.x0 -= 0.5;
		fr.x1 += 0.5;
	}
	double ystep = nice_step(fr.y1 > 0 ? fr.y1 : 1);
	fr.y1 = ceil((fr.y1 > 0 ? fr.y1 : 1) / ystep) * ystep;
	y_axis(f, &fr, ystep, c->y_label);

	/* x ticks: decades of the percentile axis, or nice steps */
	double xstep = c->x_percentile ? 1 : nice_step(fr.x1 - fr.x0);
	for (double v = ceil(fr.x0 / xstep) * xstep; v <= fr.x1 + xstep / 1e6; v += xstep) {
		char t[32];
		if (c->x_percentile) {
			int k = (int)lround(v);
			snprintf(t, sizeof(t), "%.*f%%", k > 2 ? k - 2 : 0, 100.0 * (1 - pow(10, -k)));
		} else {
			number(t, sizeof(t), v);
		}
		fprintf(f, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\"/>"
			   "<text class=\"tick\" x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n",
			px(&fr, v), px(&fr, v), TOP, H - BOTTOM, px(&fr, v), H - BOTTOM + 16, t);
	}
	x_label(f, c->x_label);

	for (size_t s = 0; s < nn; s++) {
		const struct rl_svg_series *se = &c->series[s];
		fprintf(f, "<g class=\"series\" stroke=\"%s\" fill=\"%s\"><title>", rl_svg_color(s), rl_svg_color(s));
		rl_svg_text(f, se->name);
		fprintf(f, "</title>\n<path fill=\"none\" stroke-width=\"1.6\"%s d=\"",
			se->dashed ? " stroke-dasharray=\"5 3\"" : "");
		size_t drawn = 0;
		for (size_t i = 0; i < se->n; i++) {
			double x = x_of(c, se->x[i]), y = se->y[i];
			if (isfinite(x) && isfinite(y))
				fprintf(f, "%c%.1f %.1f", drawn++ ? 'L' : 'M', px(&fr, x), py(&fr, y));
		}
		fputs("\"/>\n", f);
		for (size_t i = 0; i < se->n && (c->markers || drawn == 1); i++) {
			double x = x_of(c, se->x[i]), y = se->y[i];
			if (!isfinite(x) || !isfinite(y))
				continue;
			char xs[32], ys[32];
			number(xs, sizeof(xs), se->x[i]);
			number(ys, sizeof(ys), y);
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"><title>%s, %s</title></circle>\n",
				px(&fr, x), py(&fr, y), xs, ys);
		}
		fputs("</g>\n", f);
	}
	fputs("</svg>\n", f);
}

void rl_svg_bars(FILE *f, const struct rl_svg_bar_chart *c)
{
	open_chart(f, c->title, c->names, c->nnames);
	if (!c->ngroups || !c->nnames) {
		no_data(f);
		return;
	}
	struct frame fr = { 0, (double)c->ngroups, 0, 0 };
	for (size_t i = 0; i < c->ngroups * c->nnames; i++)
		if (isfinite(c->values[i]))
			fr.y1 = fmax(fr.y1, c->values[i]);
	double ystep = nice_step(fr.y1 > 0 ? fr.y1 : 1);
	fr.y1 = ceil((fr.y1 > 0 ? fr.y1 : 1) / ystep) * ystep;
	y_axis(f, &fr, ystep, c->y_label);
	double gw = px(&fr, 1) - px(&fr, 0), bw = gw * 0.8 / (double)c->nnames;
	for (size_t g = 0; g < c->ngroups; g++) {
		fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">", px(&fr, (double)g + 0.5),
			H - BOTTOM + 16);
		rl_svg_text(f, c->groups[g]);
		fputs("</text>\n", f);
	}
	for (size_t b = 0; b < c->nnames; b++) {
		fprintf(f, "<g class=\"series\" fill=\"%s\"><title>", rl_svg_color(b));
		rl_svg_text(f, c->names[b]);
		fputs("</title>\n", f);
		for (size_t g = 0; g < c->ngroups; g++) {
			double v = c->values[g * c->nnames + b];
			if (!isfinite(v) || v < 0)
				v = 0;
			/* a zero still shows as a hairline, so the bar is visibly there and empty */
			double top = fmin(py(&fr, v), H - BOTTOM - 1);
			char t[32];
			number(t, sizeof(t), v);
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>", px(&fr, (double)g) + gw * 0.1 + bw * (double)b,
				top, bw - 2, H - BOTTOM - top);
			rl_svg_text(f, c->names[b]);
			fputc(' ', f);
			rl_svg_text(f, c->groups[g]);
			fprintf(f, ": %s</title></rect>\n", t);
		}
		fputs("</g>\n", f);
	}
	fputs("</svg>\n", f);
}
