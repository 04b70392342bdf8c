/* The engine's timer wheel: due timers fire once, cancelled ones never, far ones on time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../src/engine/timerwheel.h"

#define MS 1000000ULL

struct probe {
	struct rl_timer t;
	int fired;
	uint64_t fired_at;
	struct rl_timer *cancel_other;
};

static uint64_t now_for_cb;

static void on_fire(struct rl_timer *t, void *ctx)
{
	struct probe *p = (struct probe *)t;
	p->fired++;
	p->fired_at = now_for_cb;
	if (p->cancel_other)
		rl_tw_cancel(ctx, p->cancel_other);
}

static void advance(struct rl_timerwheel *tw, uint64_t now)
{
	now_for_cb = now;
	rl_tw_expire(tw, now, on_fire, tw);
}

static void tw_fires_due_timers_once(void **s)
{
	static struct rl_timerwheel tw;
	struct probe a = { 0 }, b = { 0 };
	rl_tw_init(&tw, 1000 * MS);
	rl_tw_arm(&tw, &a.t, 1010 * MS);
	rl_tw_arm(&tw, &b.t, 1500 * MS);
	advance(&tw, 1005 * MS);
	assert_int_equal(a.fired, 0);
	advance(&tw, 1012 * MS);
	assert_int_equal(a.fired, 1);
	assert_int_equal(b.fired, 0);
	advance(&tw, 2000 * MS);
	assert_int_equal(a.fired, 1);
	assert_int_equal(b.fired, 1);
	assert_int_equal(tw.armed, 0);
}

static void tw_cancel_and_rearm(void **s)
{
	static struct rl_timerwheel tw;
	struct probe a = { 0 };
	rl_tw_init(&tw, 0);
	rl_tw_arm(&tw, &a.t, 10 * MS);
	rl_tw_cancel(&tw, &a.t);
	assert_false(rl_timer_armed(&a.t));
	advance(&tw, 20 * MS);
	assert_int_equal(a.fired, 0);
	rl_tw_arm(&tw, &a.t, 30 * MS);
	rl_tw_arm(&tw, &a.t, 50 * MS); /* re-arming moves it */
	advance(&tw, 40 * MS);
	assert_int_equal(a.fired, 0);
	advance(&tw, 52 * MS);
	assert_int_equal(a.fired, 1);
}

static void tw_timers_beyond_one_lap_wait_their_turn(void **s)
{
	static struct rl_timerwheel tw;
	struct probe a = { 0 };
	rl_tw_init(&tw, 0);
	uint64_t lap = (uint64_t)RL_TW_SLOTS << RL_TW_TICK_SHIFT;
	rl_tw_arm(&tw, &a.t, 3 * lap + 7 * MS);
	for (uint64_t t = 0; t < 3 * lap; t += 3 * MS)
		advance(&tw, t);
	assert_int_equal(a.fired, 0);
	advance(&tw, 3 * lap + 9 * MS);
	assert_int_equal(a.fired, 1);
	assert_true(a.fired_at >= 3 * lap + 7 * MS);
}

static void tw_long_stall_fires_everything_due(void **s)
{
	static struct rl_timerwheel tw;
	struct probe p[50] = { 0 };
	rl_tw_init(&tw, 0);
	for (int i = 0; i < 50; i++)
		rl_tw_arm(&tw, &p[i].t, (uint64_t)(i + 1) * 100 * MS);
	advance(&tw, 3600000 * MS);
	for (int i = 0; i < 50; i++)
		assert_int_equal(p[i].fired, 1);
}

static void tw_callback_may_cancel_a_timer_in_the_same_slot(void **s)
{
	static struct rl_timerwheel tw;
	struct probe a = { 0 }, b = { 0 };
	rl_tw_init(&tw, 0);
	rl_tw_arm(&tw, &b.t, 5 * MS);
	rl_tw_arm(&tw, &a.t, 5 * MS); /* a is first in the slot's list */
	a.cancel_other = &b.t;
	advance(&tw, 6 * MS);
	assert_int_equal(a.fired, 1);
	assert_int_equal(b.fired, 0);
	assert_int_equal(tw.armed, 0);
}

/* A timer armed for a moment inside a tick already processed fires at that moment, not
 * a tick later; rl_tw_next_before says when that is. */
static void tw_fires_within_a_passed_tick_on_time(void **s)
{
	static struct rl_timerwheel tw;
	struct probe a = { 0 };
	uint64_t t0 = (1000 * MS >> RL_TW_TICK_SHIFT) << RL_TW_TICK_SHIFT; /* a tick's start */
	rl_tw_init(&tw, t0);
	advance(&tw, t0 + 100000);          /* this tick is processed */
	rl_tw_arm(&tw, &a.t, t0 + 700000);  /* due later within it */
	assert_int_equal(rl_tw_next_before(&tw, t0 + 5 * MS), t0 + 700000);
	advance(&tw, t0 + 699999);
	assert_int_equal(a.fired, 0);
	advance(&tw, t0 + 700000);
	assert_int_equal(a.fired, 1);
	assert_int_equal(a.fired_at, t0 + 700000);
	assert_int_equal(rl_tw_next_before(&tw, t0 + 5 * MS), UINT64_MAX);
}

static void tw_next_before_ignores_far_and_later_lap_timers(void **s)
{
	static struct rl_timerwheel tw;
	struct probe near = { 0 }, far = { 0 }, lap = { 0 };
	rl_tw_init(&tw, 1000 * MS);
	rl_tw_arm(&tw, &far.t, 1000 * MS + 50 * MS);
	uint64_t lap_ns = (uint64_t)RL_TW_SLOTS << RL_TW_TICK_SHIFT;
	rl_tw_arm(&tw, &lap.t, 1000 * MS + 2 * MS + lap_ns); /* shares a near slot, a lap later */
	assert_int_equal(rl_tw_next_before(&tw, 1000 * MS + 5 * MS), UINT64_MAX);
	rl_tw_arm(&tw, &near.t, 1000 * MS + 3 * MS);
	assert_int_equal(rl_tw_next_before(&tw, 1000 * MS + 5 * MS), 1000 * MS + 3 * MS);
	rl_tw_cancel(&tw, &near.t);
	assert_int_equal(rl_tw_next_before(&tw, 1000 * MS + 5 * MS), UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tw_fires_due_timers_once),
		cmocka_unit_test(tw_cancel_and_rearm),
		cmocka_unit_test(tw_timers_beyond_one_lap_wait_their_turn),
		cmocka_unit_test(tw_long_stall_fires_everything_due),
		cmocka_unit_test(tw_callback_may_cancel_a_timer_in_the_same_slot),
		cmocka_unit_test(tw_fires_within_a_passed_tick_on_time),
		cmocka_unit_test(tw_next_before_ignores_far_and_later_lap_timers),
	};
	return cmocka_run_group_tests_name("timerwheel", tests, NULL, NULL);
}
