/* Histogram accuracy (within 0.1%), merging, and the lossless encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ringload/hist.h"

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void assert_within_tenth_percent(uint64_t got, uint64_t want)
{
	double err = want ? ((double)got - (double)want) / (double)want : (double)got;
	if (err < 0)
		err = -err;
	if (err > 0.001)
		fail_msg("got %llu want %llu (error %.4f%%)", (unsigned long long)got,
			 (unsigned long long)want, err * 100);
}

static void hist_percentiles_within_a_tenth_of_a_percent(void **s)
{
	enum { N = 200000 };
	struct rl_hist *h = malloc(sizeof(*h));
	uint64_t *v = malloc(N * sizeof(*v));
	rl_hist_reset(h);
	for (int i = 0; i < N; i++) {
		/* log-uniform over 1 us .. 100 s: every bucket range gets exercised */
		int mag = (int)(rng() % 8);
		uint64_t base = 1;
		while (mag--)
			base *= 10;
		v[i] = base + rng() % (base * 9);
		rl_hist_record(h, v[i]);
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	const double pcts[] = { 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100 };
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		size_t rank = (size_t)((pcts[i] / 100.0) * N + 0.999999);
		if (rank < 1)
			rank = 1;
		assert_within_tenth_percent(rl_hist_percentile(h, pcts[i]), v[rank - 1]);
	}
	assert_int_equal(h->min_us, v[0]);
	assert_int_equal(h->max_us, v[N - 1]);
	assert_int_equal(h->total, N);
	free(v);
	free(h);
}

static void hist_every_recorded_value_comes_back(void **s)
{
	struct rl_hist *h = malloc(sizeof(*h));
	const uint64_t values[] = { 0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 100000,
				    123456789, RL_HIST_HIGHEST_US };
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		rl_hist_reset(h);
		/* a single value: every percentile is that value, within resolution */
		rl_hist_record(h, values[i]);
		assert_int_equal(rl_hist_percentile(h, 50), values[i]);
		rl_hist_record(h, values[i] + values[i] / 2000); /* same bucket or the next */
		assert_within_tenth_percent(rl_hist_percentile(h, 100), values[i] + values[i] / 2000);
	}
	free(h);
}

static void hist_exact_mean_and_stddev(void **s)
{
	struct rl_hist *h = malloc(sizeof(*h));
	rl_hist_reset(h);
	const uint64_t v[] = { 2, 4, 4, 4, 5, 5, 7, 9 };
	for (int i = 0; i < 8; i++)
		rl_hist_record(h, v[i]);
	assert_true(rl_hist_mean(h) == 5.0);
	assert_true(rl_hist_stddev(h) == 2.0);
	free(h);
}

static void hist_clamps_values_over_an_hour(void **s)
{
	struct rl_hist *h = malloc(sizeof(*h));
	rl_hist_reset(h);
	rl_hist_record(h, RL_HIST_HIGHEST_US * 10);
	assert_int_equal(h->total, 1);
	assert_int_equal(rl_hist_percentile(h, 50), RL_HIST_HIGHEST_US);
	rl_hist_record_ns(h, 1499);
	assert_int_equal(h->min_us, 1);
	free(h);
}

static void hist_merge_equals_recording_everything_in_one(void **s)
{
	struct rl_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *all = malloc(sizeof(*all));
	rl_hist_reset(a);
	rl_hist_reset(b);
	rl_hist_reset(all);
	for (int i = 0; i < 50000; i++) {
		uint64_t v = rng() % 5000000;
		rl_hist_record(i % 3 ? a : b, v);
		rl_hist_record(all, v);
	}
	rl_hist_merge(a, b);
	assert_memory_equal(a->counts, all->counts, sizeof(a->counts));
	assert_int_equal(a->total, all->total);
	assert_int_equal(a->min_us, all->min_us);
	assert_int_equal(a->max_us, all->max_us);
	assert_int_equal(a->sum_us, all->sum_us);
	/* a double sum depends on the order of additions: equal to rounding */
	assert_true(a->sum_sq_us / all->sum_sq_us - 1 < 1e-12 && all->sum_sq_us / a->sum_sq_us - 1 < 1e-12);
	for (int p = 1; p <= 100; p++)
		assert_int_equal(rl_hist_percentile(a, p), rl_hist_percentile(all, p));
	free(a);
	free(b);
	free(all);
}

static void hist_encoding_round_trips(void **s)
{
	struct rl_hist *h = malloc(sizeof(*h)), *back = malloc(sizeof(*back));
	size_t cap = rl_hist_encoded_max();
	char *text = malloc(cap);
	for (int round = 0; round < 4; round++) {
		rl_hist_reset(h);
		int n = round == 0 ? 0 : round == 1 ? 1 : 100000;
		for (int i = 0; i < n; i++)
			rl_hist_record(h, round == 3 ? rng() : rng() % 100000);
		/* a count over 2^32 must survive too */
		if (round == 2)
			h->counts[5] += 1ULL << 40, h->total += 1ULL << 40;
		long len = rl_hist_encode(h, text, cap);
		assert_true(len >= 0);
		assert_int_equal(rl_hist_decode(back, text, (size_t)len), 0);
		assert_memory_equal(back->counts, h->counts, sizeof(h->counts));
		assert_int_equal(back->total, h->total);
	}
	free(text);
	free(h);
	free(back);
}

static void hist_decode_rejects_garbage(void **s)
{
	struct rl_hist *h = malloc(sizeof(*h));
	assert_int_equal(rl_hist_decode(h, "abc", 3), -1);      /* not a multiple of 4 */
	assert_int_equal(rl_hist_decode(h, "@@@@", 4), -1);     /* not base64 */
	assert_int_equal(rl_hist_decode(h, "gA==", 4), -1);     /* unterminated varint */
	/* a zero run past the end: zigzag(-30000) as a varint */
	assert_int_equal(rl_hist_decode(h, "39QD", 4), -1);
	assert_int_equal(rl_hist_decode(h, "", 0), 0);
	assert_int_equal(h->total, 0);
	free(h);
}

/* The span operations (copy, empty, merge, diff, percentiles over the counters between
 * the extremes) against whole-array ones, for recorded histograms of every shape,
 * tallied ones (extremes unknown) and values at the top of the range. */
static void fill(struct rl_hist *h, int shape, int n)
{
	rl_hist_reset(h);
	for (int i = 0; i < n; i++) {
		uint64_t v = shape == 0 ? 1000 + rng() % 50 : shape == 1 ? rng() % 5000000
			   : shape == 2 ? (i % 2 ? 3 : RL_HIST_HIGHEST_US + 7) : rng() % 100000;
		if (shape == 3)
			rl_hist_tally_ns(h, v * 1000); /* extremes unknown until settled */
		else
			rl_hist_record(h, v);
	}
}

static void same_hist(const struct rl_hist *a, const struct rl_hist *b)
{
	assert_memory_equal(a->counts, b->counts, sizeof(a->counts));
	assert_int_equal(a->total, b->total);
	assert_int_equal(a->sum_us, b->sum_us);
	for (double p = 0; p <= 100; p += 12.5)
		assert_int_equal(rl_hist_percentile(a, p), rl_hist_percentile(b, p));
}

static void hist_span_operations_equal_whole_array_ones(void **s)
{
	struct rl_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *dst = malloc(sizeof(*dst)),
		       *ref = malloc(sizeof(*ref));
	rl_hist_reset(dst);
	for (int shape = 0; shape < 4; shape++) {
		for (int n = 0; n < 3; n++) {
			fill(a, shape, n ? 1000 * n : 0);
			/* copy over whatever dst held before: a stale span must not survive */
			rl_hist_copy(dst, a);
			same_hist(dst, a);
			/* merge two into one, against counter-by-counter sums */
			fill(b, (shape + 1) % 4, 700);
			rl_hist_copy(dst, a);
			rl_hist_merge(dst, b);
			rl_hist_reset(ref);
			for (unsigned i = 0; i < RL_HIST_COUNTS; i++)
				ref->counts[i] = a->counts[i] + b->counts[i];
			assert_memory_equal(dst->counts, ref->counts, sizeof(ref->counts));
			assert_int_equal(dst->total, a->total + b->total);
			/* diff of a grown copy and the original gives what was added (ref's counters
			 * were written by hand above: reset makes it a histogram again) */
			rl_hist_reset(ref);
			rl_hist_copy(ref, a);
			rl_hist_merge(ref, b);
			rl_hist_diff(dst, ref, a);
			for (unsigned i = 0; i < RL_HIST_COUNTS; i++)
				assert_int_equal(dst->counts[i], b->counts[i]);
			/* emptied, then refilled: nothing of the old span remains */
			rl_hist_empty(dst);
			rl_hist_reset(ref);
			same_hist(dst, ref);
			assert_int_equal(dst->min_us, UINT64_MAX);
		}
	}
	free(a);
	free(b);
	free(dst);
	free(ref);
}

/* Copy and diff write over a destination that held any other shape: only the part of
 * its old span the new one does not cover is cleared, so every pair of shapes (the old
 * span wider, narrower, overlapping or apart) must leave exactly the new counters. */
static void hist_copy_and_diff_over_every_older_shape(void **s)
{
	struct rl_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *dst = malloc(sizeof(*dst)),
		       *grown = malloc(sizeof(*grown)), *ref = malloc(sizeof(*ref));
	for (int old = 0; old < 4; old++) {
		for (int shape = 0; shape < 4; shape++) {
			for (int n = 0; n < 2; n++) {
				fill(dst, old, 500);
				fill(a, shape, n ? 800 : 0);
				rl_hist_copy(dst, a);
				same_hist(dst, a);
				fill(b, (shape + old) % 4, 300);
				rl_hist_reset(grown);
				rl_hist_copy(grown, a);
				rl_hist_merge(grown, b);
				fill(dst, old, 500);
				rl_hist_diff(dst, grown, a);
				for (unsigned i = 0; i < RL_HIST_COUNTS; i++)
					assert_int_equal(dst->counts[i], b->counts[i]);
				assert_int_equal(dst->total, b->total);
				/* and the diff is a histogram rl_hist_empty can empty */
				rl_hist_empty(dst);
				rl_hist_reset(ref);
				same_hist(dst, ref);
			}
		}
	}
	free(a);
	free(b);
	free(dst);
	free(grown);
	free(ref);
}

/* Several percentiles in one pass equal each asked alone, for every shape. */
static void hist_percentiles_in_one_pass_equal_each_alone(void **s)
{
	static const double pcts[] = { 0, 1, 25, 50, 50, 90, 95, 99, 99.9, 99.99, 100, 150 };
	size_t n = sizeof(pcts) / sizeof(pcts[0]);
	uint64_t out[sizeof(pcts) / sizeof(pcts[0])];
	struct rl_hist *h = malloc(sizeof(*h));
	for (int shape = 0; shape < 4; shape++) {
		for (int count = 0; count < 4; count++) {
			fill(h, shape, count * count * 37);
			if (shape == 3)
				rl_hist_settle(h);
			rl_hist_percentiles(h, pcts, n, out);
			for (size_t k = 0; k < n; k++)
				assert_int_equal(out[k], rl_hist_percentile(h, pcts[k]));
			if (h->total) /* p100 is the recorded maximum */
				assert_int_equal(out[10], h->max_us);
		}
	}
	free(h);
}

/* One value found a bucket once for two histograms (a lazily harvested response's ttfb and
 * its kernel ttfb): the first is what recording it alone makes, the second what tallying
 * it alone makes, from 0 through past an hour, rounded at the half microsecond. */
static void hist_record_and_tally_equal_each_alone(void **s)
{
	struct rl_hist *both = malloc(sizeof(*both)), *also = malloc(sizeof(*also)),
		       *rec = malloc(sizeof(*rec)), *tal = malloc(sizeof(*tal));
	rl_hist_reset(both);
	rl_hist_reset(also);
	rl_hist_reset(rec);
	rl_hist_reset(tal);
	static const uint64_t edges[] = { 0, 499, 500, 1499, 2047499, 2048500,
					  RL_HIST_HIGHEST_US * 1000, RL_HIST_HIGHEST_US * 1000 + 999999 };
	for (int i = 0; i < 20000; i++) {
		uint64_t ns = i < 8 ? edges[i] : rng() % (i % 3 ? 10000000ULL : 5000000000000ULL);
		rl_hist_record_and_tally_ns(both, also, ns);
		rl_hist_record_ns(rec, ns);
		rl_hist_tally_ns(tal, ns);
	}
	same_hist(both, rec);
	assert_int_equal(both->min_us, rec->min_us);
	assert_int_equal(both->max_us, rec->max_us);
	assert_true(both->sum_sq_us == rec->sum_sq_us);
	rl_hist_settle(also); /* a tally's extremes come from its buckets */
	rl_hist_settle(tal);
	same_hist(also, tal);
	assert_memory_equal(also->counts, rec->counts, sizeof(rec->counts));
	assert_int_equal(also->sum_us, rec->sum_us);
	free(both);
	free(also);
	free(rec);
	free(tal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hist_percentiles_within_a_tenth_of_a_percent),
		cmocka_unit_test(hist_every_recorded_value_comes_back),
		cmocka_unit_test(hist_exact_mean_and_stddev),
		cmocka_unit_test(hist_clamps_values_over_an_hour),
		cmocka_unit_test(hist_merge_equals_recording_everything_in_one),
		cmocka_unit_test(hist_encoding_round_trips),
		cmocka_unit_test(hist_decode_rejects_garbage),
		cmocka_unit_test(hist_span_operations_equal_whole_array_ones),
		cmocka_unit_test(hist_copy_and_diff_over_every_older_shape),
		cmocka_unit_test(hist_percentiles_in_one_pass_equal_each_alone),
		cmocka_unit_test(hist_record_and_tally_equal_each_alone),
	};
	return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
