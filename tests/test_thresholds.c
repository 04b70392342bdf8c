/* --fail-if (src/report/thresholds.c): parsing with units, the bad-input messages, and
 * which metrics breach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ringload/thresholds.h"

static void thresholds_parse_units_to_ms_and_percent(void **s)
{
	struct rl_thresholds th;
	char err[256];
	assert_int_equal(rl_thresholds_parse("p99>250ms,p50>1s,max>500us,mean>3,error_rate>1%,rps<1000", &th,
					     err, sizeof(err)), 0);
	assert_int_equal(th.n, 6);
	assert_true(th.t[0].greater);
	assert_float_equal(th.t[0].limit, 250, 1e-9);
	assert_float_equal(th.t[1].limit, 1000, 1e-9);
	assert_float_equal(th.t[2].limit, 0.5, 1e-9);
	assert_float_equal(th.t[3].limit, 3, 1e-9);   /* a bare latency is milliseconds */
	assert_float_equal(th.t[4].limit, 1, 1e-9);
	assert_false(th.t[5].greater);
	assert_float_equal(th.t[5].limit, 1000, 1e-9);
}

static void thresholds_reject_bad_input_naming_it(void **s)
{
	struct rl_thresholds th;
	char err[256];
	const char *bad[] = { "p99", "nosuch>1", "p99>abc", ">5", "p99>-1ms", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(rl_thresholds_parse(bad[i], &th, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "--fail-if"));
	}
}

static void thresholds_breach_only_past_the_limit(void **s)
{
	struct rl_thresholds th;
	char err[256];
	assert_int_equal(rl_thresholds_parse("p99>250ms,error_rate>1%,rps<1000,timeouts>0", &th, err, sizeof(err)), 0);
	struct rl_metrics m;
	memset(&m, 0, sizeof(m));
	m.requests = 1000, m.successful = 995, m.failed = 5, m.success_rate = 99.5;
	m.latency.p99 = 250; /* equal is not over */
	m.throughput_rps = 1000;
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(rl_thresholds_check(&th, &m, devnull), 0);
	m.latency.p99 = 250.1, m.success_rate = 98, m.throughput_rps = 999, m.timeouts = 1;
	assert_int_equal(rl_thresholds_check(&th, &m, devnull), 4);
	fclose(devnull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(thresholds_parse_units_to_ms_and_percent),
		cmocka_unit_test(thresholds_reject_bad_input_naming_it),
		cmocka_unit_test(thresholds_breach_only_past_the_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
