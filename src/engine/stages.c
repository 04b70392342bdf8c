/* Stage arithmetic: see stages.h. Within a linear stage the level runs from a to b over
 * D seconds, so the requests due after tau seconds are a*tau + (b-a)*tau^2/(2D), and
 * the inverse is the root of that quadratic. */
#include "ringload/stages.h"

#include <math.h>

double rl_stage_level(const struct rl_stage_plan *o, uint64_t t_ns, size_t *stage)
{
	double from = o->start;
	uint64_t t0 = 0;
	for (size_t i = 0; i < o->n; i++) {
		const struct rl_stage *st = &o->stages[i];
		if (t_ns < t0 + st->dur_ns) {
			*stage = i;
			if (st->step)
				return st->level;
			return from + (st->level - from) * (double)(t_ns - t0) / (double)st->dur_ns;
		}
		from = st->level;
		t0 += st->dur_ns;
	}
	*stage = o->n ? o->n - 1 : 0;
	return from;
}

/* requests due tau seconds into a stage that runs from a to b over d seconds */
static double stage_area(const struct rl_stage *st, double a, double tau)
{
	if (st->step)
		return st->level * tau;
	double d = (double)st->dur_ns / 1e9;
	return a * tau + (st->level - a) * tau * tau / (2 * d);
}

double rl_stage_cum(const struct rl_stage_plan *o, uint64_t t_ns)
{
	double from = o->start, sum = 0;
	uint64_t t0 = 0;
	for (size_t i = 0; i < o->n; i++) {
		const struct rl_stage *st = &o->stages[i];
		uint64_t span = t_ns - t0 < st->dur_ns ? t_ns - t0 : st->dur_ns;
		sum += stage_area(st, from, (double)span / 1e9);
		if (t_ns < t0 + st->dur_ns)
			return sum;
		from = st->level;
		t0 += st->dur_ns;
	}
	return sum + from * (double)(t_ns - t0) / 1e9;
}

uint64_t rl_stage_time_of(const struct rl_stage_plan *o, double n)
{
	double from = o->start;
	uint64_t t0 = 0;
	for (size_t i = 0; i < o->n; i++) {
		const struct rl_stage *st = &o->stages[i];
		double d = (double)st->dur_ns / 1e9, whole = stage_area(st, from, d);
		if (n <= whole) {
			double tau;
			if (st->step) {
				tau = st->level > 0 ? n / st->level : 0;
			} else {
				double qa = (st->level - from) / (2 * d), qb = from;
				if (fabs(qa) < 1e-12)
					tau = qb > 0 ? n / qb : 0;
				else
					tau = (-qb + sqrt(qb * qb + 4 * qa * n)) / (2 * qa);
			}
			if (tau > d)
				tau = d;
			return t0 + (uint64_t)(tau * 1e9);
		}
		n -= whole;
		from = st->level;
		t0 += st->dur_ns;
	}
	return from > 0 ? t0 + (uint64_t)(n / from * 1e9) : UINT64_MAX;
}
