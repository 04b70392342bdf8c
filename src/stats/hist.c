/* HdrHistogram-style recording, percentiles, merging and the lossless counts encoding.
 * Not for: rendering (see src/report/). Layout constants live in the header so every
 * histogram in a run is the same shape and merging is a plain sum of counters. */
#include "ringload/hist.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hist_value_at(unsigned index, uint64_t *width)
{
	unsigned bucket = (index >> (RL_HIST_SUB_BUCKET_BITS - 1));
	unsigned sub = (index & (RL_HIST_SUB_HALF - 1)) + RL_HIST_SUB_HALF;
	if (bucket == 0) {
		sub -= RL_HIST_SUB_HALF;
		*width = 1;
		return sub;
	}
	bucket -= 1;
	*width = 1ULL << bucket;
	return (uint64_t)sub << bucket;
}

/* The counters a histogram may hold non-zero: those from its least to its greatest
 * value's. Recording, merging, diffs, settling and the JSON keep the extremes, so the
 * span is usually a few hundred of the 23,552; with unknown extremes (a tallied
 * histogram before rl_hist_settle: min above max) it is every counter. The operations
 * below touch the span only, so the engine's snapshots (several a second, each target)
 * cost little. false: an empty histogram, all counters zero. */
static bool hist_span(uint64_t total, uint64_t min_us, uint64_t max_us, unsigned *lo, unsigned *hi)
{
	if (!total)
		return false;
	if (min_us > max_us) {
		*lo = 0;
		*hi = RL_HIST_COUNTS - 1;
		return true;
	}
	*lo = rl_hist_index(min_us < RL_HIST_HIGHEST_US ? min_us : RL_HIST_HIGHEST_US);
	*hi = rl_hist_index(max_us < RL_HIST_HIGHEST_US ? max_us : RL_HIST_HIGHEST_US);
	return true;
}

void rl_hist_reset(struct rl_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_us = UINT64_MAX;
}

/* Zeroes the counters of h's span outside [keep_lo, keep_hi] (keep_lo > keep_hi: every
 * one): a destination about to have [keep_lo, keep_hi] written over needs no more. */
static void clear_span_outside(struct rl_hist *h, unsigned keep_lo, unsigned keep_hi)
{
	unsigned lo, hi;
	if (!hist_span(h->total, h->min_us, h->max_us, &lo, &hi))
		return;
	if (keep_lo > keep_hi || hi < keep_lo || lo > keep_hi) {
		memset(&h->counts[lo], 0, (hi - lo + 1) * sizeof(h->counts[0]));
		return;
	}
	if (lo < keep_lo)
		memset(&h->counts[lo], 0, (keep_lo - lo) * sizeof(h->counts[0]));
	if (hi > keep_hi)
		memset(&h->counts[keep_hi + 1], 0, (hi - keep_hi) * sizeof(h->counts[0]));
}

/* The header of an empty histogram: no count, no sum, extremes that any value moves. */
static void empty_header(struct rl_hist *h)
{
	memset(h, 0, offsetof(struct rl_hist, counts));
	h->min_us = UINT64_MAX;
}

void rl_hist_empty(struct rl_hist *h)
{
	clear_span_outside(h, 1, 0);
	empty_header(h);
}

void rl_hist_copy(struct rl_hist *dst, const struct rl_hist *src)
{
	/* the source's header read once: under a seqlock it may change while this copies,
	 * and the span copied must be the one the copy's header gives */
	uint64_t total = src->total, min_us = src->min_us, max_us = src->max_us;
	unsigned lo = 1, hi = 0;
	bool any = hist_span(total, min_us, max_us, &lo, &hi);
	clear_span_outside(dst, lo, hi);
	dst->total = total;
	dst->min_us = min_us;
	dst->max_us = max_us;
	dst->sum_us = src->sum_us;
	dst->sum_sq_us = src->sum_sq_us;
	if (any)
		memcpy(&dst->counts[lo], &src->counts[lo], (hi - lo + 1) * sizeof(dst->counts[0]));
}

void rl_hist_merge(struct rl_hist *dst, const struct rl_hist *src)
{
	unsigned lo, hi;
	if (!hist_span(src->total, src->min_us, src->max_us, &lo, &hi))
		return;
	bool dst_known = !dst->total || dst->min_us <= dst->max_us;
	if (dst_known && src->min_us <= src->max_us) {
		if (src->min_us < dst->min_us)
			dst->min_us = src->min_us;
		if (src->max_us > dst->max_us)
			dst->max_us = src->max_us;
	} else { /* either's extremes unknown: the sum's are too (every counter in its span) */
		dst->min_us = UINT64_MAX;
		dst->max_us = 0;
	}
	for (unsigned i = lo; i <= hi; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->sum_us += src->sum_us;
	dst->sum_sq_us += src->sum_sq_us;
}

void rl_hist_diff(struct rl_hist *dst, const struct rl_hist *later, const struct rl_hist *earlier)
{
	unsigned from = 1, to = 0, lo = RL_HIST_COUNTS, hi = 0;
	bool any = hist_span(later->total, later->min_us, later->max_us, &from, &to);
	clear_span_outside(dst, from, to); /* [from, to] is written below */
	empty_header(dst);
	if (!any)
		return; /* nothing recorded by the later one: nor by the earlier */
	for (unsigned i = from; i <= to; i++) {
		uint64_t n = later->counts[i] - earlier->counts[i];
		dst->counts[i] = n;
		if (n) {
			if (i < lo)
				lo = i;
			hi = i;
		}
	}
	dst->total = later->total - earlier->total;
	dst->sum_us = later->sum_us - earlier->sum_us;
	dst->sum_sq_us = later->sum_sq_us - earlier->sum_sq_us;
	if (dst->total) {
		uint64_t width;
		dst->min_us = hist_value_at(lo, &width);
		dst->max_us = hist_value_at(hi, &width) + width - 1;
	}
}

void rl_hist_settle(struct rl_hist *h)
{
	if (!h->total || h->min_us <= h->max_us)
		return; /* empty, or recorded with its extremes */
	double sq = 0;
	for (unsigned i = 0; i < RL_HIST_COUNTS; i++) {
		if (!h->counts[i])
			continue;
		uint64_t width, low = hist_value_at(i, &width), high = low + width - 1;
		if (low < h->min_us)
			h->min_us = low;
		h->max_us = high < RL_HIST_HIGHEST_US ? high : RL_HIST_HIGHEST_US;
		double mid = (double)low + (double)(width - 1) / 2;
		sq += (double)h->counts[i] * mid * mid;
	}
	h->sum_sq_us = sq;
}

/* The highest value equivalent to the bucket holding the pct-th value, clamped to the
 * exact min and max so p0 and p100 are the recorded extremes. */
static uint64_t value_of(const struct rl_hist *h, unsigned i)
{
	uint64_t width, v = hist_value_at(i, &width);
	v += width - 1;
	if (v > h->max_us)
		v = h->max_us;
	if (v < h->min_us)
		v = h->min_us;
	return v;
}

static uint64_t wanted(const struct rl_hist *h, double pct)
{
	if (pct > 100.0)
		pct = 100.0;
	uint64_t want = (uint64_t)ceil(pct / 100.0 * (double)h->total);
	return want < 1 ? 1 : want;
}

void rl_hist_percentiles(const struct rl_hist *h, const double *pcts, size_t n, uint64_t *out)
{
	size_t k = 0;
	unsigned lo, hi;
	if (hist_span(h->total, h->min_us, h->max_us, &lo, &hi)) {
		uint64_t seen = 0, want = n ? wanted(h, pcts[0]) : 0;
		for (unsigned i = lo; i <= hi && k < n; i++) {
			seen += h->counts[i];
			while (k < n && seen >= want) {
				out[k++] = value_of(h, i);
				if (k < n)
					want = wanted(h, pcts[k]);
			}
		}
	}
	for (; k < n; k++)
		out[k] = h->total ? h->max_us : 0;
}

uint64_t rl_hist_percentile(const struct rl_hist *h, double pct)
{
	uint64_t v;
	rl_hist_percentiles(h, &pct, 1, &v);
	return v;
}

double rl_hist_mean(const struct rl_hist *h)
{
	return h->total ? (double)h->sum_us / (double)h->total : 0.0;
}

double rl_hist_stddev(const struct rl_hist *h)
{
	if (h->total < 2)
		return 0.0;
	double mean = rl_hist_mean(h);
	double var = h->sum_sq_us / (double)h->total - mean * mean;
	return var > 0 ? sqrt(var) : 0.0;
}

void rl_hist_summarize(const struct rl_hist *h, struct rl_hist_summary *s)
{
	static const double pcts[] = { 50, 90, 95, 99, 99.9 };
	uint64_t v[5];
	rl_hist_percentiles(h, pcts, 5, v);
	s->count = h->total;
	s->min = h->total ? h->min_us / 1000.0 : 0;
	s->max = h->max_us / 1000.0;
	s->mean = rl_hist_mean(h) / 1000.0;
	s->stddev = rl_hist_stddev(h) / 1000.0;
	s->p50 = v[0] / 1000.0;
	s->p90 = v[1] / 1000.0;
	s->p95 = v[2] / 1000.0;
	s->p99 = v[3] / 1000.0;
	s->p999 = v[4] / 1000.0;
}

/* ---- encoding ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t rl_hist_encoded_max(void)
{
	/* worst case: every counter a 10-byte varint, then base64 (4/3) and a NUL */
	return ((size_t)RL_HIST_COUNTS * 10 + 2) / 3 * 4 + 1;
}

static size_t put_varint(uint8_t *p, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 0;
	while (z >= 0x80) {
		p[n++] = (uint8_t)(z | 0x80);
		z >>= 7;
	}
	p[n++] = (uint8_t)z;
	return n;
}

long rl_hist_encode(const struct rl_hist *h, char *out, size_t out_size)
{
	/* Called once per report, never on the hot path: the scratch space is allocated. */
	size_t cap = (size_t)RL_HIST_COUNTS * 10;
	uint8_t *raw = malloc(cap);
	if (!raw)
		return -1;
	size_t n = 0;
	unsigned last = 0;
	for (unsigned i = 0; i < RL_HIST_COUNTS; i++)
		if (h->counts[i])
			last = i + 1;
	for (unsigned i = 0; i < last;) {
		if (!h->counts[i]) {
			unsigned run = 0;
			while (i < last && !h->counts[i]) {
				run++;
				i++;
			}
			n += put_varint(raw + n, -(int64_t)run);
		} else {
			n += put_varint(raw + n, (int64_t)h->counts[i++]);
		}
	}
	size_t need = (n + 2) / 3 * 4 + 1;
	if (need > out_size) {
		free(raw);
		return -1;
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)raw[i + 1] << 8;
		if (i + 2 < n)
			v |= raw[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = 0;
	free(raw);
	return (long)o;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

int rl_hist_decode(struct rl_hist *h, const char *text, size_t len)
{
	rl_hist_reset(h);
	if (len % 4)
		return -1;
	size_t pad = 0;
	while (pad < 2 && len > pad && text[len - 1 - pad] == '=')
		pad++;
	unsigned index = 0;
	uint64_t acc = 0;
	unsigned shift = 0;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t w = 0;
		for (int k = 0; k < 4; k++) {
			int v = i + (size_t)k >= len - pad ? 0 : b64_value(text[i + k]);
			if (v < 0)
				return -1;
			w = w << 6 | (uint32_t)v;
		}
		size_t bytes = i + 4 == len ? 3 - pad : 3;
		for (size_t k = 0; k < bytes; k++) {
			uint8_t b = (uint8_t)(w >> (16 - 8 * k));
			if (shift > 63)
				return -1;
			acc |= (uint64_t)(b & 0x7f) << shift;
			shift += 7;
			if (b & 0x80)
				continue;
			int64_t val = (int64_t)(acc >> 1) ^ -(int64_t)(acc & 1);
			acc = 0;
			shift = 0;
			if (val < 0) {
				if ((uint64_t)-val > RL_HIST_COUNTS - index)
					return -1;
				index += (unsigned)-val;
			} else {
				if (index >= RL_HIST_COUNTS)
					return -1;
				h->counts[index++] = (uint64_t)val;
				h->total += (uint64_t)val;
			}
		}
	}
	return shift ? -1 : 0;
}
