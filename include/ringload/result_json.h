/* Reading a saved JSON result (SPEC.md "Result") back: the pieces `compare`, `merge` and
 * `report` need. The document is parsed by jansson; nothing here trusts its shape, a
 * missing or mistyped field reads as zero. */
#ifndef RINGLOAD_RESULT_JSON_H
#define RINGLOAD_RESULT_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "ringload/hist.h"
#include "ringload/report.h"

/* Loads path and checks it is a ringload result: the root, or NULL with err
 * ("<verb>: ..."). The caller json_decref()s it. */
json_t *rl_result_load(const char *verb, const char *path, char *err, size_t errlen);
double rl_json_num(json_t *o, const char *key);
uint64_t rl_json_u64(json_t *o, const char *key);
/* A string field, or "" when missing or not a string. */
const char *rl_json_str(json_t *o, const char *key);
/* One histogram object ({"counts", "count", "min", "max", "sum", "sum_sq"}) into h:
 * 0, or -1 if it is missing or its counts do not decode to its count. */
int rl_hist_from_json(json_t *j, struct rl_hist *h);
/* The metrics the comparison table uses, from a target or total object. */
void rl_metrics_from_json(json_t *o, struct rl_metrics *m);
/* A fan-out group's batches in place of requests: latency is the batch time (its slowest
 * member), throughput batches/s, success the full successes; the rest is left as it is. */
void rl_metrics_from_group_json(json_t *g, struct rl_metrics *m);

/* The self-contained HTML report of a result (inline SVG charts, no fetches):
 * 0, or -1 on a write error. */
int rl_report_html_from_json(FILE *f, json_t *root);

#endif
