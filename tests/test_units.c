/* Duration and count parsing: strict, named units, no silent truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ringload/units.h"

static void units_durations_with_every_unit(void **s)
{
	uint64_t ns;
	struct { const char *in; uint64_t ns; } ok[] = {
		{ "250us", 250000 }, { "500ms", 500000000 }, { "10s", 10000000000ULL },
		{ "1.5", 1500000000 }, { "2m", 120000000000ULL }, { "1h", 3600000000000ULL },
		{ "0.5ms", 500000 }, { "7ns", 7 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(rl_parse_duration_ns(ok[i].in, &ns), 0);
		assert_int_equal(ns, ok[i].ns);
	}
}

static void units_rejects_bad_durations(void **s)
{
	uint64_t ns;
	const char *bad[] = { "", "s", "10x", "-1s", "+5s", " 5s", "10 s", "1e30h", "nan", "inf", "5sec" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rl_parse_duration_ns(bad[i], &ns) != -1)
			fail_msg("'%s' was accepted", bad[i]);
}

static void units_counts_with_suffixes(void **s)
{
	uint64_t n;
	assert_int_equal(rl_parse_count("20000", 1000000, &n), 0);
	assert_int_equal(n, 20000);
	assert_int_equal(rl_parse_count("10k", 1000000, &n), 0);
	assert_int_equal(n, 10000);
	assert_int_equal(rl_parse_count("1M", 1000000, &n), 0);
	assert_int_equal(n, 1000000);
	assert_int_equal(rl_parse_count("2M", 1000000, &n), -1);
	assert_int_equal(rl_parse_count("-5", 1000000, &n), -1);
	assert_int_equal(rl_parse_count("5x", 1000000, &n), -1);
	assert_int_equal(rl_parse_count("", 1000000, &n), -1);
	assert_int_equal(rl_parse_count("99999999999999999999999", UINT64_MAX, &n), -1);
}

static void units_formats_times_for_people(void **s)
{
	char b[32];
	assert_string_equal(rl_fmt_ms(b, sizeof(b), 0.25), "250us");
	assert_string_equal(rl_fmt_ms(b, sizeof(b), 12.3456), "12.346ms");
	assert_string_equal(rl_fmt_ms(b, sizeof(b), 2500), "2.500s");
	assert_string_equal(rl_fmt_bytes(b, sizeof(b), 1536), "1.50 KiB");
	assert_string_equal(rl_fmt_count(b, sizeof(b), 45200), "45.20k");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(units_durations_with_every_unit),
		cmocka_unit_test(units_rejects_bad_durations),
		cmocka_unit_test(units_counts_with_suffixes),
		cmocka_unit_test(units_formats_times_for_people),
	};
	return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
