/* --metrics-listen: the run's live metrics over HTTP, in Prometheus text format. */
#ifndef RINGLOAD_CLI_METRICS_LISTEN_H
#define RINGLOAD_CLI_METRICS_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "ringload/engine.h"
#include "ringload/target.h"

struct rl_metrics_listen;

/* Listens on spec (ADDR:PORT, [IPv6]:PORT or :PORT for loopback) and serves from its own
 * thread. NULL with a one-line message in err. */
struct rl_metrics_listen *rl_metrics_listen_start(const char *spec, const struct rl_target *targets, size_t n,
						  char *err, size_t errlen);
/* The plan's live callback (arg: the listener): the run so far. */
void rl_metrics_listen_view(const struct rl_progress_view *v, void *arg);
/* The run's results, served from now on. */
void rl_metrics_listen_final(struct rl_metrics_listen *m, const struct rl_result *res);
/* Serves linger_ns more, then stops and frees (NULL: nothing). */
void rl_metrics_listen_stop(struct rl_metrics_listen *m, uint64_t linger_ns);

#endif
