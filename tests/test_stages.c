/* Stage arithmetic (src/engine/stages.c): the level at a time, the requests due by a
 * time (its integral), and the inverse, for linear and stepped stages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ringload/stages.h"

#define S(x) ((uint64_t)((x) * 1e9))

static void stage_level_ramps_linearly_then_holds(void **s)
{
	struct rl_stage st[] = { { S(10), 100, false }, { S(5), 100, false } };
	struct rl_stage_plan p = { st, 2, 0 };
	size_t i;
	assert_float_equal(rl_stage_level(&p, 0, &i), 0, 1e-9);
	assert_int_equal(i, 0);
	assert_float_equal(rl_stage_level(&p, S(5), &i), 50, 1e-9);
	assert_float_equal(rl_stage_level(&p, S(12), &i), 100, 1e-9);
	assert_int_equal(i, 1);
	assert_float_equal(rl_stage_level(&p, S(60), &i), 100, 1e-9); /* after the end: the last level */
	assert_int_equal(i, 1);
}

static void stage_step_jumps_at_once(void **s)
{
	struct rl_stage st[] = { { S(2), 10, true }, { S(2), 40, true } };
	struct rl_stage_plan p = { st, 2, 5 };
	size_t i;
	assert_float_equal(rl_stage_level(&p, S(0.1), &i), 10, 1e-9);
	assert_float_equal(rl_stage_level(&p, S(2.1), &i), 40, 1e-9);
	assert_int_equal(i, 1);
}

static void stage_cum_is_the_area_under_the_level(void **s)
{
	/* from 100 (the -R start) to 300 over 2 s: 400 requests; then 300/s held */
	struct rl_stage st[] = { { S(2), 300, false } };
	struct rl_stage_plan p = { st, 1, 100 };
	assert_float_equal(rl_stage_cum(&p, S(1)), 100 + 50, 1e-6);
	assert_float_equal(rl_stage_cum(&p, S(2)), 400, 1e-6);
	assert_float_equal(rl_stage_cum(&p, S(3)), 700, 1e-6);
}

static void stage_time_of_inverts_cum(void **s)
{
	struct rl_stage st[] = { { S(4), 200, false }, { S(1), 50, true }, { S(3), 0, false } };
	struct rl_stage_plan p = { st, 3, 20 };
	for (double n = 0; n < rl_stage_cum(&p, S(8)); n += 7.5) {
		uint64_t t = rl_stage_time_of(&p, n);
		assert_true(t != UINT64_MAX);
		assert_float_equal(rl_stage_cum(&p, t), n, 1e-3);
	}
}

static void stage_time_of_never_when_the_level_ends_at_zero(void **s)
{
	struct rl_stage st[] = { { S(1), 0, false } };
	struct rl_stage_plan p = { st, 1, 10 };
	assert_true(rl_stage_time_of(&p, 4) != UINT64_MAX); /* 5 requests are due in all */
	assert_int_equal(rl_stage_time_of(&p, 6), UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stage_level_ramps_linearly_then_holds),
		cmocka_unit_test(stage_step_jumps_at_once),
		cmocka_unit_test(stage_cum_is_the_area_under_the_level),
		cmocka_unit_test(stage_time_of_inverts_cum),
		cmocka_unit_test(stage_time_of_never_when_the_level_ends_at_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
