/* --fail-if "p99>250ms,error_rate>1%,rps<1000": thresholds checked after the run on the
 * total (a k6-style CI gate). A breach makes the exit code 3. */
#ifndef RINGLOAD_THRESHOLDS_H
#define RINGLOAD_THRESHOLDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ringload/report.h"

#define RL_MAX_THRESHOLDS 16

struct rl_threshold {
	char text[64];     /* as given, for messages */
	int metric;        /* index into the metric table */
	bool greater;      /* breached when value > limit (else when value < limit) */
	double limit;      /* in the metric's unit: ms, percent, req/s, bytes */
};

struct rl_thresholds {
	struct rl_threshold t[RL_MAX_THRESHOLDS];
	size_t n;
};

/* 0, or -1 with a message naming the bad threshold. */
int rl_thresholds_parse(const char *spec, struct rl_thresholds *out, char *err, size_t errlen);
/* Prints each breach to f; returns how many were breached. */
size_t rl_thresholds_check(const struct rl_thresholds *th, const struct rl_metrics *m, FILE *f);

#endif
