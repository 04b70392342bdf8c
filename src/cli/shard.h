/* Sharded runs: N generators, each running exactly its share of one plan (--shard I/N,
 * or --shards N with the index from a Kubernetes Indexed Job), started together
 * (--start-at), merged exactly afterwards (`ringload merge` checks the plan and the
 * indexes). */
#ifndef RINGLOAD_CLI_SHARD_H
#define RINGLOAD_CLI_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "ringload/options.h"

/* A total's share for shard index of count: the shares add up to the total exactly,
 * the remainder going to the lowest indexes. */
uint64_t rl_shard_share(uint64_t total, uint32_t index, uint32_t count);

/* "I/N" into index and count (0 <= I < N). 0, or -1 with a one-line message. */
int rl_shard_parse(const char *spec, uint32_t *index, uint32_t *count, char *err, size_t errlen);

/* --start-at: RFC 3339 ("2026-11-30T21:00:00Z", fractions and offsets too), Unix
 * seconds ("1796072400.5"), or "+DUR" from now. *at_ns is CLOCK_REALTIME. 0, or -1. */
int rl_start_at_parse(const char *s, int64_t now_ns, int64_t *at_ns, char *err, size_t errlen);

/* The whole run's plan as a 64-bit fingerprint (hex in the JSON): what every shard of
 * one run must agree on (targets, request, load model, shard count), before splitting. */
uint64_t rl_shard_fingerprint(const struct rl_options *o);

/* Cuts o down to its shard's part: connections, -R and each stage's level, -n and the
 * per-target count. 0, or -1 with a message when the share is too small to run. */
int rl_shard_split(struct rl_options *o, char *err, size_t errlen);

#endif
