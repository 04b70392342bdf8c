/* Sharded runs (src/cli/shard.c): shares that add up exactly, the shard spec, the
 * --start-at forms, the split of a run's options and the plan's fingerprint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../src/cli/shard.h"

static void shares_add_up_remainder_to_the_lowest(void **s)
{
	for (uint64_t total = 0; total < 50; total++)
		for (uint32_t n = 1; n < 9; n++) {
			uint64_t sum = 0, first = rl_shard_share(total, 0, n);
			for (uint32_t i = 0; i < n; i++) {
				uint64_t share = rl_shard_share(total, i, n);
				assert_true(share <= first && first - share <= 1); /* even, the rest to the lowest */
				if (i)
					assert_true(share <= rl_shard_share(total, i - 1, n));
				sum += share;
			}
			assert_int_equal(sum, total);
		}
	assert_int_equal(rl_shard_share(10, 0, 4), 3);
	assert_int_equal(rl_shard_share(10, 1, 4), 3);
	assert_int_equal(rl_shard_share(10, 2, 4), 2);
}

static void shard_spec_parsed_and_checked(void **s)
{
	uint32_t i, n;
	char err[200];
	assert_int_equal(rl_shard_parse("3/4", &i, &n, err, sizeof(err)), 0);
	assert_int_equal(i, 3);
	assert_int_equal(n, 4);
	const char *bad[] = { "4/4", "1/0", "a/2", "2", "/3", "1/", "-1/4", "1/4x" };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_int_equal(rl_shard_parse(bad[k], &i, &n, err, sizeof(err)), -1);
}

static void start_at_forms(void **s)
{
	int64_t at, now = 1796072400LL * 1000000000LL;
	char err[200];
	assert_int_equal(rl_start_at_parse("2026-11-30T21:00:00Z", now, &at, err, sizeof(err)), 0);
	assert_int_equal(at, 1796072400LL * 1000000000LL);
	assert_int_equal(rl_start_at_parse("2026-11-30T22:00:00.25+01:00", now, &at, err, sizeof(err)), 0);
	assert_int_equal(at, 1796072400LL * 1000000000LL + 250000000LL);
	assert_int_equal(rl_start_at_parse("1796072400.5", now, &at, err, sizeof(err)), 0);
	assert_int_equal(at, 1796072400LL * 1000000000LL + 500000000LL);
	assert_int_equal(rl_start_at_parse("+1500ms", now, &at, err, sizeof(err)), 0);
	assert_int_equal(at, now + 1500000000LL);
	const char *bad[] = { "tomorrow", "2026-11-30T21:00:00", "2026-13-40T21:00:00Z", "+x", "" };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_int_equal(rl_start_at_parse(bad[k], now, &at, err, sizeof(err)), -1);
}

static void split_cuts_every_total_and_keeps_the_plan(void **s)
{
	struct rl_options o;
	memset(&o, 0, sizeof(o));
	const char *url = "http://127.0.0.1:1/";
	o.urls[0] = url;
	o.nurls = 1;
	o.connections = 10;
	o.threads = 4;
	o.rate = 1000;
	o.requests = 1001;
	o.shards = 4;
	o.shard = 3;
	o.nstages = 1;
	o.stages[0].level = 500;
	uint64_t plan = rl_shard_fingerprint(&o);
	char err[200];
	assert_int_equal(rl_shard_split(&o, err, sizeof(err)), 0);
	assert_int_equal(o.connections, 2);
	assert_int_equal(o.threads, 2);
	assert_float_equal(o.rate, 250, 1e-9);
	assert_int_equal(o.requests, 250);
	assert_float_equal(o.stages[0].level, 125, 1e-9);
	/* every shard computes the fingerprint before its split: the same for all */
	struct rl_options other = o;
	other.connections = 10, other.rate = 1000, other.requests = 1001, other.shard = 0, other.threads = 4;
	other.stages[0].level = 500;
	assert_true(rl_shard_fingerprint(&other) == plan);
	other.urls[0] = "http://127.0.0.1:2/";
	assert_true(rl_shard_fingerprint(&other) != plan);
	/* too few connections for this shard's targets */
	memset(&o, 0, sizeof(o));
	o.urls[0] = url;
	o.nurls = 1;
	o.connections = 3;
	o.shards = 4;
	o.shard = 3;
	assert_int_equal(rl_shard_split(&o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "leaves this one 0 connections"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shares_add_up_remainder_to_the_lowest),
		cmocka_unit_test(shard_spec_parsed_and_checked),
		cmocka_unit_test(start_at_forms),
		cmocka_unit_test(split_cuts_every_total_and_keeps_the_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
