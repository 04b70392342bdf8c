/* --fail-if: see thresholds.h. Latency metrics take a unit (ms, s, us; a bare number is
 * milliseconds); rates take %; everything else is a plain number. */
#include "ringload/thresholds.h"

#include <stdlib.h>
#include <string.h>

#include "ringload/units.h"

enum unit { U_MS, U_PCT, U_NUM };

struct metric {
	const char *name;
	enum unit unit;
	double (*get)(const struct rl_metrics *m);
};

static double p50(const struct rl_metrics *m) { return m->latency.p50; }
static double p90(const struct rl_metrics *m) { return m->latency.p90; }
static double p95(const struct rl_metrics *m) { return m->latency.p95; }
static double p99(const struct rl_metrics *m) { return m->latency.p99; }
static double p999(const struct rl_metrics *m) { return m->latency.p999; }
static double lmax(const struct rl_metrics *m) { return m->latency.max; }
static double lmean(const struct rl_metrics *m) { return m->latency.mean; }
static double ttfb_p99(const struct rl_metrics *m) { return m->ttfb.p99; }
static double connect_p99(const struct rl_metrics *m) { return m->connect.p99; }
static double p50_ok(const struct rl_metrics *m) { return m->latency_ok.p50; }
static double p90_ok(const struct rl_metrics *m) { return m->latency_ok.p90; }
static double p95_ok(const struct rl_metrics *m) { return m->latency_ok.p95; }
static double p99_ok(const struct rl_metrics *m) { return m->latency_ok.p99; }
static double p999_ok(const struct rl_metrics *m) { return m->latency_ok.p999; }
static double max_ok(const struct rl_metrics *m) { return m->latency_ok.max; }
static double mean_ok(const struct rl_metrics *m) { return m->latency_ok.mean; }
static double err_rate(const struct rl_metrics *m) { return m->requests ? 100.0 - m->success_rate : 0; }
static double ok_rate(const struct rl_metrics *m) { return m->success_rate; }
static double rps(const struct rl_metrics *m) { return m->throughput_rps; }
static double failed(const struct rl_metrics *m) { return (double)m->failed; }
static double timeouts(const struct rl_metrics *m) { return (double)m->timeouts; }

static const struct metric metrics[] = {
	{ "p50", U_MS, p50 }, { "p90", U_MS, p90 }, { "p95", U_MS, p95 }, { "p99", U_MS, p99 },
	{ "p999", U_MS, p999 }, { "max", U_MS, lmax }, { "mean", U_MS, lmean },
	{ "ttfb_p99", U_MS, ttfb_p99 }, { "connect_p99", U_MS, connect_p99 },
	{ "p50_ok", U_MS, p50_ok }, { "p90_ok", U_MS, p90_ok }, { "p95_ok", U_MS, p95_ok },
	{ "p99_ok", U_MS, p99_ok }, { "p999_ok", U_MS, p999_ok }, { "max_ok", U_MS, max_ok },
	{ "mean_ok", U_MS, mean_ok },
	{ "error_rate", U_PCT, err_rate }, { "success_rate", U_PCT, ok_rate },
	{ "rps", U_NUM, rps }, { "failed", U_NUM, failed }, { "timeouts", U_NUM, timeouts },
};
#define NMETRICS (sizeof(metrics) / sizeof(metrics[0]))

static int parse_one(const char *s, size_t len, struct rl_threshold *t, char *err, size_t errlen)
{
	if (len >= sizeof(t->text)) {
		snprintf(err, errlen, "--fail-if: threshold '%.*s' is too long", (int)len, s);
		return -1;
	}
	memcpy(t->text, s, len);
	t->text[len] = 0;
	char *op = strpbrk(t->text, "<>");
	if (!op || op == t->text) {
		snprintf(err, errlen, "--fail-if: '%s': expected METRIC>VALUE or METRIC<VALUE", t->text);
		return -1;
	}
	t->greater = *op == '>';
	size_t nlen = (size_t)(op - t->text);
	t->metric = -1;
	for (size_t i = 0; i < NMETRICS; i++)
		if (strlen(metrics[i].name) == nlen && !strncmp(metrics[i].name, t->text, nlen))
			t->metric = (int)i;
	if (t->metric < 0) {
		snprintf(err, errlen, "--fail-if: '%s': unknown metric (p50 p90 p95 p99 p999 max mean, the same with "
			 "_ok, ttfb_p99 connect_p99 error_rate success_rate rps failed timeouts)", t->text);
		return -1;
	}
	const char *v = op + 1;
	char *end;
	switch (metrics[t->metric].unit) {
	case U_MS: {
		uint64_t ns;
		char buf[48];
		/* a bare number is milliseconds */
		snprintf(buf, sizeof(buf), "%s%s", v, strspn(v, "0123456789.") == strlen(v) ? "ms" : "");
		if (!*v || rl_parse_duration_ns(buf, &ns)) {
			snprintf(err, errlen, "--fail-if: '%s': expected a duration such as 250ms", t->text);
			return -1;
		}
		t->limit = (double)ns / 1e6;
		break;
	}
	case U_PCT:
		t->limit = strtod(v, &end);
		if (end == v || (strcmp(end, "%") && *end) || t->limit < 0 || t->limit > 100) {
			snprintf(err, errlen, "--fail-if: '%s': expected a percentage such as 1%%", t->text);
			return -1;
		}
		break;
	case U_NUM:
		t->limit = strtod(v, &end);
		if (end == v || *end || t->limit < 0) {
			snprintf(err, errlen, "--fail-if: '%s': expected a number", t->text);
			return -1;
		}
		break;
	}
	return 0;
}

int rl_thresholds_parse(const char *spec, struct rl_thresholds *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *p = spec;
	while (*p) {
		size_t len = strcspn(p, ",");
		while (len && p[0] == ' ')
			p++, len--;
		if (!len || out->n == RL_MAX_THRESHOLDS) {
			snprintf(err, errlen, "--fail-if: '%s': empty threshold or more than %d", spec, RL_MAX_THRESHOLDS);
			return -1;
		}
		if (parse_one(p, len, &out->t[out->n], err, errlen))
			return -1;
		out->n++;
		p += len;
		if (*p == ',')
			p++;
	}
	if (!out->n) {
		snprintf(err, errlen, "--fail-if: no threshold given");
		return -1;
	}
	return 0;
}

size_t rl_thresholds_check(const struct rl_thresholds *th, const struct rl_metrics *m, FILE *f)
{
	size_t breached = 0;
	for (size_t i = 0; i < th->n; i++) {
		const struct rl_threshold *t = &th->t[i];
		const struct metric *mt = &metrics[t->metric];
		double v = mt->get(m);
		if (t->greater ? v > t->limit : v < t->limit) {
			breached++;
			const char *unit = mt->unit == U_MS ? "ms" : mt->unit == U_PCT ? "%" : "";
			fprintf(f, "threshold breached: %s (%s was %.3f%s)\n", t->text, mt->name, v, unit);
		}
	}
	return breached;
}
