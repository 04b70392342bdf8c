/* The load level over time under --stages: connections (closed loop) or requests/s
 * (open loop), piecewise linear or stepped. Pure arithmetic; times are nanoseconds
 * since the run's start. */
#ifndef RINGLOAD_STAGES_H_
#define RINGLOAD_STAGES_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RL_MAX_STAGES 32

/* Each stage moves the load from where the last one left it to `level`, linearly over
 * its duration, or at once with "=" (step). */
struct rl_stage {
	uint64_t dur_ns;
	double level;
	bool step;
};

/* The stages of a run, and the level before the first (the -R rate, or 0). */
struct rl_stage_plan {
	const struct rl_stage *stages;
	size_t n;
	double start;
};

/* The level at t, and the index of the stage t falls in (the last after the end). */
double rl_stage_level(const struct rl_stage_plan *o, uint64_t t_ns, size_t *stage);
/* The integral of the level from 0 to t, in level-seconds: the requests due by t. */
double rl_stage_cum(const struct rl_stage_plan *o, uint64_t t_ns);
/* The first t where rl_stage_cum reaches n; UINT64_MAX if it never does. */
uint64_t rl_stage_time_of(const struct rl_stage_plan *o, double n);

#endif
