/* Per-target statistics: initialisation, merge, and the accounting identity. A gRPC
 * call whose HTTP status is not 200 counts under http_<code>; one that got a status
 * counts under its gRPC status (grpc_<NAME> when not OK). */
#include "ringload/stats.h"

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <string.h>

void rl_stats_init(struct rl_stats *s)
{
	memset(s, 0, offsetof(struct rl_stats, latency));
	rl_hist_reset(&s->latency);
	rl_hist_reset(&s->latency_ok);
	rl_hist_reset(&s->connect);
	rl_hist_reset(&s->tls);
	rl_hist_reset(&s->client_delay);
	rl_hist_reset(&s->ttfb_kernel);
	rl_hist_reset(&s->latency_kernel);
	rl_hist_reset(&s->ttfb);
	rl_hist_reset(&s->download);
	rl_hist_reset(&s->latency_uncorrected);
	rl_hist_reset(&s->queue);
}

void rl_stats_merge(struct rl_stats *dst, const struct rl_stats *src)
{
	dst->requests += src->requests;
	dst->successful += src->successful;
	dst->failed += src->failed;
	dst->bytes_sent += src->bytes_sent;
	dst->bytes_received += src->bytes_received;
	dst->payload_bytes += src->payload_bytes;
	for (int i = 0; i < RL_ERR_COUNT; i++) {
		dst->errors[i] += src->errors[i];
		if (!dst->first_error[i][0])
			memcpy(dst->first_error[i], src->first_error[i], sizeof(dst->first_error[i]));
	}
	for (int i = 0; i < RL_STATUS_MAX; i++)
		dst->status[i] += src->status[i];
	for (int i = 0; i < RL_GRPC_STATUS_COUNT; i++)
		dst->grpc_status[i] += src->grpc_status[i];
	for (int i = 0; i < RL_H2_ERROR_CODES; i++) {
		dst->stream_reset[i] += src->stream_reset[i];
		dst->goaway_failed[i] += src->goaway_failed[i];
	}
	for (int i = 0; i < RL_TLS_ALERTS; i++)
		dst->tls_alert[i] += src->tls_alert[i];
	if (!dst->agreed.version[0])
		dst->agreed = src->agreed;
	dst->goaways += src->goaways;
	dst->retried += src->retried;
	dst->conns_opened += src->conns_opened;
	dst->reconnects += src->reconnects;
	dst->unsolicited += src->unsolicited;
	dst->unfinished += src->unfinished;
	rl_hist_merge(&dst->latency, &src->latency);
	rl_hist_merge(&dst->latency_ok, &src->latency_ok);
	rl_hist_merge(&dst->connect, &src->connect);
	rl_hist_merge(&dst->tls, &src->tls);
	rl_hist_merge(&dst->client_delay, &src->client_delay);
	rl_hist_merge(&dst->ttfb_kernel, &src->ttfb_kernel);
	rl_hist_merge(&dst->latency_kernel, &src->latency_kernel);
	dst->handshakes_full += src->handshakes_full;
	dst->handshakes_resumed += src->handshakes_resumed;
	rl_hist_merge(&dst->ttfb, &src->ttfb);
	rl_hist_merge(&dst->download, &src->download);
	rl_hist_merge(&dst->latency_uncorrected, &src->latency_uncorrected);
	rl_hist_merge(&dst->queue, &src->queue);
}

uint64_t rl_stats_error_sum(const struct rl_stats *s)
{
	uint64_t n = 0;
	for (int i = 0; i < RL_ERR_COUNT; i++)
		n += s->errors[i];
	for (int i = 400; i < RL_STATUS_MAX; i++)
		n += s->status[i];
	for (int i = 1; i < RL_GRPC_STATUS_COUNT; i++)
		n += s->grpc_status[i];
	for (int i = 0; i < RL_H2_ERROR_CODES; i++)
		n += s->stream_reset[i] + s->goaway_failed[i];
	return n;
}

void rl_stats_each_status(const struct rl_stats *s, rl_count_fn fn, void *ctx)
{
	char name[16];
	for (int i = 0; i < RL_STATUS_MAX; i++) {
		if (s->status[i]) {
			snprintf(name, sizeof(name), "%d", i);
			fn(ctx, name, s->status[i]);
		}
	}
	for (int i = 0; i < RL_GRPC_STATUS_COUNT; i++)
		if (s->grpc_status[i])
			fn(ctx, rl_grpc_status_names[i], s->grpc_status[i]);
}

/* The failure names of one set of counts (every array as rl_stats keeps it). */
static void each_error(const uint64_t *errors, const uint64_t *tls_alert, const uint64_t *status,
		       const uint64_t *grpc_status, const uint64_t *stream_reset, const uint64_t *goaway_failed,
		       rl_count_fn fn, void *ctx)
{
	char name[64];
	for (int i = 0; i < RL_ERR_COUNT; i++)
		if (errors[i] && i != RL_ERR_TLS_ALERT)
			fn(ctx, rl_err_names[i], errors[i]);
	for (unsigned i = 0; i < RL_TLS_ALERTS; i++) {
		if (tls_alert[i]) {
			char code[16];
			snprintf(name, sizeof(name), "tls_alert:%s", rl_tls_alert_name(i, code, sizeof(code)));
			fn(ctx, name, tls_alert[i]);
		}
	}
	for (int i = 400; i < RL_STATUS_MAX; i++) {
		if (status[i]) {
			snprintf(name, sizeof(name), "http_%d", i);
			fn(ctx, name, status[i]);
		}
	}
	for (int i = 1; i < RL_GRPC_STATUS_COUNT; i++) {
		if (grpc_status[i]) {
			snprintf(name, sizeof(name), "grpc_%s", rl_grpc_status_names[i]);
			fn(ctx, name, grpc_status[i]);
		}
	}
	for (int i = 0; i < RL_H2_ERROR_CODES; i++) {
		if (stream_reset[i]) {
			snprintf(name, sizeof(name), "stream_reset:%s", nghttp2_http2_strerror((uint32_t)i));
			fn(ctx, name, stream_reset[i]);
		}
	}
	for (int i = 0; i < RL_H2_ERROR_CODES; i++) {
		if (goaway_failed[i]) {
			snprintf(name, sizeof(name), "goaway:%s", nghttp2_http2_strerror((uint32_t)i));
			fn(ctx, name, goaway_failed[i]);
		}
	}
}

void rl_stats_each_error(const struct rl_stats *s, rl_count_fn fn, void *ctx)
{
	each_error(s->errors, s->tls_alert, s->status, s->grpc_status, s->stream_reset, s->goaway_failed, fn, ctx);
}

void rl_fail_counts_each_error(const struct rl_fail_counts *c, rl_count_fn fn, void *ctx)
{
	each_error(c->errors, c->tls_alert, c->status, c->grpc_status, c->stream_reset, c->goaway_failed, fn, ctx);
}

static void add_counts(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
}

/* Adds each array of src (an rl_stats or an rl_fail_counts: the same names and sizes)
 * to dst's. */
#define ADD_FAILS(dst, src)                                                                        \
	do {                                                                                       \
		add_counts((dst)->errors, (src)->errors, RL_ERR_COUNT);                            \
		add_counts((dst)->status, (src)->status, RL_STATUS_MAX);                           \
		add_counts((dst)->grpc_status, (src)->grpc_status, RL_GRPC_STATUS_COUNT);          \
		add_counts((dst)->stream_reset, (src)->stream_reset, RL_H2_ERROR_CODES);           \
		add_counts((dst)->goaway_failed, (src)->goaway_failed, RL_H2_ERROR_CODES);         \
		add_counts((dst)->tls_alert, (src)->tls_alert, RL_TLS_ALERTS);                     \
	} while (0)

void rl_fail_counts_add(struct rl_fail_counts *dst, const struct rl_stats *src)
{
	ADD_FAILS(dst, src);
}

void rl_fail_counts_merge(struct rl_fail_counts *dst, const struct rl_fail_counts *src)
{
	ADD_FAILS(dst, src);
}
