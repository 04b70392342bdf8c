/* Counters and histograms of one target as seen by one worker, and their merge. Every
 * request ends in exactly one of: successful, an HTTP status >= 400, or one error
 * category, so requests == successful + failed always holds. Fixed memory. */
#ifndef RINGLOAD_STATS_H
#define RINGLOAD_STATS_H

#include <stdint.h>

#include "ringload/errors.h"
#include "ringload/hist.h"

#define RL_STATUS_MAX 1000

struct rl_stats {
	uint64_t requests, successful, failed;
	uint64_t bytes_sent, bytes_received;
	uint64_t payload_bytes;   /* response bodies of successful requests */
	uint64_t errors[RL_ERR_COUNT];
	uint64_t status[RL_STATUS_MAX];
	uint64_t conns_opened;    /* successful connects */
	uint64_t reconnects;      /* connections replaced after a close or an error */
	uint64_t unsolicited;     /* connections closed for bytes nobody asked for */
	uint64_t unfinished;      /* in flight when the run ended: not in requests */
	struct rl_hist latency, connect, ttfb, download;
};

void rl_stats_init(struct rl_stats *s);
void rl_stats_merge(struct rl_stats *dst, const struct rl_stats *src);
/* Failed requests by HTTP status (>= 400) plus every error category. */
uint64_t rl_stats_error_sum(const struct rl_stats *s);

#endif
