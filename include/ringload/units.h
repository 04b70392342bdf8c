/* Parsing and printing of the CLI's units: durations ("500ms", "10s", "2m"), counts
 * ("10k", "1M") and byte sizes. Pure functions; errors are -1 for the caller to name. */
#ifndef RINGLOAD_UNITS_H
#define RINGLOAD_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "250us", "500ms", "10s", "2m", "1h", or a bare number of seconds ("1.5"). */
int rl_parse_duration_ns(const char *s, uint64_t *ns);
/* A positive integer with an optional k/M/G (x1000) suffix, at most max. */
int rl_parse_count(const char *s, uint64_t max, uint64_t *out);

/* Human-readable renderings into buf; return buf. */
const char *rl_fmt_ms(char *buf, size_t n, double ms);     /* "1.234ms", "2.50s", "812us" */
const char *rl_fmt_bytes(char *buf, size_t n, double bytes); /* "12.3 MiB" */
const char *rl_fmt_count(char *buf, size_t n, double v);    /* "12.3k" */

#endif
