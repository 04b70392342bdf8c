/* Counters and histograms of one target as seen by one worker, and their merge. Every
 * request ends in exactly one of: successful, an HTTP status >= 400, or one error
 * category, so requests == successful + failed always holds. Fixed memory. */
#ifndef RINGLOAD_STATS_H
#define RINGLOAD_STATS_H

#include <stdint.h>

#include "ringload/errors.h"
#include "ringload/grpc.h"
#include "ringload/hist.h"

#define RL_STATUS_MAX 1000
#define RL_H2_ERROR_CODES 16 /* RFC 9113 7: NO_ERROR..HTTP_1_1_REQUIRED; larger ones share 15 */

/* A request's outcome counts, as rl_stats keeps them: what live views copy. */
struct rl_fail_counts {
	uint64_t errors[RL_ERR_COUNT];
	uint64_t status[RL_STATUS_MAX];
	uint64_t grpc_status[RL_GRPC_STATUS_COUNT];
	uint64_t stream_reset[RL_H2_ERROR_CODES], goaway_failed[RL_H2_ERROR_CODES];
	uint64_t tls_alert[RL_TLS_ALERTS];
};

struct rl_stats {
	uint64_t requests, successful, failed;
	uint64_t bytes_sent, bytes_received;
	uint64_t payload_bytes;   /* response bodies of successful requests */
	uint64_t errors[RL_ERR_COUNT];
	char first_error[RL_ERR_COUNT][120]; /* the first failure's detail, per category */
	uint64_t status[RL_STATUS_MAX];   /* HTTP status of every response */
	uint64_t grpc_status[RL_GRPC_STATUS_COUNT]; /* gRPC: status of every call */
	uint64_t stream_reset[RL_H2_ERROR_CODES];   /* HTTP/2: RST_STREAM by error code */
	uint64_t goaway_failed[RL_H2_ERROR_CODES]; /* HTTP/2: refused by GOAWAY, retries used up */
	uint64_t goaways;         /* GOAWAY frames received */
	uint64_t retried;         /* requests sent again after a refusal (GOAWAY, REFUSED_STREAM) */
	uint64_t conns_opened;    /* successful connects */
	uint64_t reconnects;      /* connections replaced after a close or an error */
	uint64_t unsolicited;     /* connections closed for bytes nobody asked for */
	uint64_t unfinished;      /* in flight when the run ended: not in requests */
	uint64_t tls_alert[RL_TLS_ALERTS]; /* errors[RL_ERR_TLS_ALERT] by description; codes
					    * past the table count under the last */
	struct rl_tls_agreed {    /* https://: what the first finished handshake agreed */
		char version[16], cipher[64], alpn[24];
	} agreed;
	uint64_t handshakes_full, handshakes_resumed;
	/* latency: every ended request, at the moment it ended (successes, failures,
	 * timeouts at the time the client gave up); latency_ok: successes only */
	struct rl_hist latency, latency_ok, connect, ttfb, download;
	struct rl_hist tls;       /* TCP connected -> TLS handshake finished, per connection */
	/* where the kernel stamps receives (TCP): first response bytes received by the kernel
	 * -> handled by the client's loop; ttfb and latency by the kernel's stamps */
	struct rl_hist client_delay, ttfb_kernel, latency_kernel;
	/* open loop (-R) only: latency from the actual send (what a closed-loop tool would
	 * report) and the client queue (intended start -> handed to the kernel) */
	struct rl_hist latency_uncorrected, queue;
};

void rl_stats_init(struct rl_stats *s);
void rl_stats_merge(struct rl_stats *dst, const struct rl_stats *src);
/* Failed requests by HTTP status (>= 400) plus every error category. */
uint64_t rl_stats_error_sum(const struct rl_stats *s);

/* The named counts every report shows, so they are spelled one way everywhere:
 * statuses ("200", or gRPC names "OK", "NOT_FOUND"), and failures (the error table,
 * http_<code>, grpc_<NAME>, stream_reset:<RFC 9113 name>, goaway:<RFC 9113 name>,
 * tls_alert:<RFC 8446 name>). Zero
 * counts are skipped. */
typedef void (*rl_count_fn)(void *ctx, const char *name, uint64_t n);
void rl_stats_each_status(const struct rl_stats *s, rl_count_fn fn, void *ctx);
void rl_stats_each_error(const struct rl_stats *s, rl_count_fn fn, void *ctx);
/* The same from copied counts; and the copy, added to a live view's. */
void rl_fail_counts_each_error(const struct rl_fail_counts *c, rl_count_fn fn, void *ctx);
void rl_fail_counts_add(struct rl_fail_counts *dst, const struct rl_stats *src);
void rl_fail_counts_merge(struct rl_fail_counts *dst, const struct rl_fail_counts *src);

#endif
