/* A minimal streaming JSON writer: nesting, commas and string escaping, nothing else. */
#ifndef RINGLOAD_JSONW_H
#define RINGLOAD_JSONW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define RL_JW_DEPTH 16

struct rl_jw {
	FILE *f;
	int depth;
	bool has_items[RL_JW_DEPTH];
};

void rl_jw_init(struct rl_jw *w, FILE *f);
void rl_jw_obj(struct rl_jw *w, const char *key);   /* key NULL inside arrays / at top */
void rl_jw_arr(struct rl_jw *w, const char *key);
void rl_jw_end_obj(struct rl_jw *w);
void rl_jw_end_arr(struct rl_jw *w);
void rl_jw_str(struct rl_jw *w, const char *key, const char *v);
void rl_jw_u64(struct rl_jw *w, const char *key, uint64_t v);
void rl_jw_num(struct rl_jw *w, const char *key, double v, int decimals);
void rl_jw_bool(struct rl_jw *w, const char *key, bool v);
void rl_jw_null(struct rl_jw *w, const char *key);

/* comparison.c: the comparison table's fields (runs, tie_pct, metrics) into the object
 * open in w, for the run's own JSON and for `compare` alike. */
struct rl_metrics;
void rl_report_comparison_jw(struct rl_jw *w, const char *const *names, const struct rl_metrics *m, size_t n,
			     double tie_pct);

#endif
