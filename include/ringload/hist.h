/* Log-linear latency histogram (HdrHistogram's layout): 3 significant digits over
 * 1 µs .. 1 hour, values in microseconds. Fixed memory (one struct, no pointers), so it
 * can be embedded, copied, summed and serialized losslessly. Not thread-safe: each
 * worker records into its own and the main thread merges. */
#ifndef RINGLOAD_HIST_H
#define RINGLOAD_HIST_H

#include <stddef.h>
#include <stdint.h>

#define RL_HIST_SIG_DIGITS      3
#define RL_HIST_HIGHEST_US      3600000000ULL /* one hour */
#define RL_HIST_SUB_BUCKET_BITS 11            /* 2048 >= 2 * 10^3 */
#define RL_HIST_SUB_HALF        (1u << (RL_HIST_SUB_BUCKET_BITS - 1))
#define RL_HIST_BUCKETS         22            /* 2048 << 21 > one hour */
#define RL_HIST_COUNTS          ((RL_HIST_BUCKETS + 1) * RL_HIST_SUB_HALF)

struct rl_hist {
	uint64_t total;
	uint64_t min_us, max_us;
	uint64_t sum_us;   /* exact mean */
	double sum_sq_us;  /* exact stddev (to double precision) */
	uint64_t counts[RL_HIST_COUNTS];
};

struct rl_hist_summary {
	uint64_t count;
	double min, mean, stddev, p50, p90, p95, p99, p999, max; /* milliseconds */
};

/* Makes any memory an empty histogram (every counter written). */
void rl_hist_reset(struct rl_hist *h);
/* Empties a histogram that is one already, writing only the counters its extremes span:
 * a few hundred, where rl_hist_reset writes 23,552. So do rl_hist_copy and rl_hist_diff
 * to their destination, which must be a histogram already; they clear only the part of
 * its old span that the new one does not overwrite. */
void rl_hist_empty(struct rl_hist *h);
void rl_hist_copy(struct rl_hist *dst, const struct rl_hist *src);

/* A value's bucket is the power of two above its top sub-bucket bits; inside a bucket the
 * resolution is value >> bucket, which keeps the relative error under 1/1024. */
static inline unsigned rl_hist_index(uint64_t v)
{
	unsigned pow2ceil = 64 - (unsigned)__builtin_clzll(v | (2 * RL_HIST_SUB_HALF - 1));
	unsigned bucket = pow2ceil - RL_HIST_SUB_BUCKET_BITS;
	unsigned sub = (unsigned)(v >> bucket);
	return ((bucket + 1) << (RL_HIST_SUB_BUCKET_BITS - 1)) + (sub - RL_HIST_SUB_HALF);
}

/* Inline: a request records several phases, on the hot path. A value in microseconds
 * over the highest goes into the last bucket as the highest. */
static inline uint64_t rl_hist_clamp_us(uint64_t us)
{
	return us > RL_HIST_HIGHEST_US ? RL_HIST_HIGHEST_US : us;
}

static inline uint64_t rl_hist_us_of_ns(uint64_t ns)
{
	return rl_hist_clamp_us((ns + 500) / 1000);
}

/* The count, the bucket and the sum (an exact mean) of a clamped value in bucket i. */
static inline void rl_hist_tally_at(struct rl_hist *h, uint64_t us, unsigned i)
{
	h->counts[i]++;
	h->total++;
	h->sum_us += us;
}

/* All of it: the tally, the square sum and the extremes. */
static inline void rl_hist_record_at(struct rl_hist *h, uint64_t us, unsigned i)
{
	rl_hist_tally_at(h, us, i);
	h->sum_sq_us += (double)us * (double)us;
	if (us < h->min_us)
		h->min_us = us;
	if (us > h->max_us)
		h->max_us = us;
}

static inline void rl_hist_record(struct rl_hist *h, uint64_t us)
{
	us = rl_hist_clamp_us(us);
	rl_hist_record_at(h, us, rl_hist_index(us));
}

static inline void rl_hist_record_ns(struct rl_hist *h, uint64_t ns)
{
	rl_hist_record(h, (ns + 500) / 1000);
}

/* The cheapest record, for figures that need no exact extremes: the count, the bucket
 * and the sum (an exact mean). rl_hist_settle, once the recording is over, fills in the
 * extremes and the square sum from the buckets (3 significant digits). */
static inline void rl_hist_tally_ns(struct rl_hist *h, uint64_t ns)
{
	uint64_t us = rl_hist_us_of_ns(ns);
	rl_hist_tally_at(h, us, rl_hist_index(us));
}

/* One value that two histograms carry (a figure timed by the kernel's stamps that is also
 * the main one): recorded in h, tallied in also, its bucket found once. */
static inline void rl_hist_record_and_tally_ns(struct rl_hist *h, struct rl_hist *also, uint64_t ns)
{
	uint64_t us = rl_hist_us_of_ns(ns);
	unsigned i = rl_hist_index(us);
	rl_hist_record_at(h, us, i);
	rl_hist_tally_at(also, us, i);
}
void rl_hist_settle(struct rl_hist *h);

void rl_hist_merge(struct rl_hist *dst, const struct rl_hist *src);
/* dst = later - earlier, for two snapshots of one growing histogram: the interval
 * between them. min and max come from the buckets (within the 0.1% resolution). */
void rl_hist_diff(struct rl_hist *dst, const struct rl_hist *later, const struct rl_hist *earlier);
uint64_t rl_hist_percentile(const struct rl_hist *h, double pct); /* microseconds */
/* Several at once, in one pass over the counters: pcts ascending, out[k] for pcts[k]. */
void rl_hist_percentiles(const struct rl_hist *h, const double *pcts, size_t n, uint64_t *out);
double rl_hist_mean(const struct rl_hist *h);
double rl_hist_stddev(const struct rl_hist *h);
void rl_hist_summarize(const struct rl_hist *h, struct rl_hist_summary *s);

/* Lossless text form for the JSON `histogram` field: base64 of zigzag LEB128 varints,
 * a run of n empty counters written as -n (HdrHistogram's V2 counts encoding). The
 * returned length excludes the NUL; -1 if out is too small. rl_hist_encoded_max gives a
 * size that always suffices. */
size_t rl_hist_encoded_max(void);
long rl_hist_encode(const struct rl_hist *h, char *out, size_t out_size);
/* Returns 0, or -1 if the text is not a valid encoding. Sets counts and total only;
 * min/max/sum travel beside the data in the JSON object. */
int rl_hist_decode(struct rl_hist *h, const char *text, size_t len);

#endif
