/* The load level over time under --stages: connections (closed loop) or requests/s
 * (open loop), piecewise linear or stepped. Pure arithmetic on the options; times are
 * nanoseconds since the run's start. */
#ifndef RINGLOAD_STAGES_H_
#define RINGLOAD_STAGES_H_

#include <stdint.h>

#include "ringload/options.h"

/* The level at t, and the index of the stage t falls in (the last after the end). */
double rl_stage_level(const struct rl_options *o, uint64_t t_ns, size_t *stage);
/* The integral of the level from 0 to t, in level-seconds: the requests due by t. */
double rl_stage_cum(const struct rl_options *o, uint64_t t_ns);
/* The first t where rl_stage_cum reaches n; UINT64_MAX if it never does. */
uint64_t rl_stage_time_of(const struct rl_options *o, double n);

#endif
