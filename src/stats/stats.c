/* Per-target statistics: initialisation, merge, and the accounting identity. */
#include "ringload/stats.h"

#include <string.h>

void rl_stats_init(struct rl_stats *s)
{
	memset(s, 0, offsetof(struct rl_stats, latency));
	rl_hist_reset(&s->latency);
	rl_hist_reset(&s->connect);
	rl_hist_reset(&s->ttfb);
	rl_hist_reset(&s->download);
}

void rl_stats_merge(struct rl_stats *dst, const struct rl_stats *src)
{
	dst->requests += src->requests;
	dst->successful += src->successful;
	dst->failed += src->failed;
	dst->bytes_sent += src->bytes_sent;
	dst->bytes_received += src->bytes_received;
	dst->payload_bytes += src->payload_bytes;
	for (int i = 0; i < RL_ERR_COUNT; i++)
		dst->errors[i] += src->errors[i];
	for (int i = 0; i < RL_STATUS_MAX; i++)
		dst->status[i] += src->status[i];
	dst->conns_opened += src->conns_opened;
	dst->reconnects += src->reconnects;
	dst->unsolicited += src->unsolicited;
	dst->unfinished += src->unfinished;
	rl_hist_merge(&dst->latency, &src->latency);
	rl_hist_merge(&dst->connect, &src->connect);
	rl_hist_merge(&dst->ttfb, &src->ttfb);
	rl_hist_merge(&dst->download, &src->download);
}

uint64_t rl_stats_error_sum(const struct rl_stats *s)
{
	uint64_t n = 0;
	for (int i = 0; i < RL_ERR_COUNT; i++)
		n += s->errors[i];
	for (int i = 400; i < RL_STATUS_MAX; i++)
		n += s->status[i];
	return n;
}
