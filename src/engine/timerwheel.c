/* Timer wheel: see timerwheel.h. */
#include "timerwheel.h"

#include <string.h>

void rl_tw_init(struct rl_timerwheel *tw, uint64_t now_ns)
{
	memset(tw, 0, sizeof(*tw));
	tw->tick = now_ns >> RL_TW_TICK_SHIFT;
}

static void link_timer(struct rl_timerwheel *tw, struct rl_timer *t)
{
	uint64_t tick = t->expires_ns >> RL_TW_TICK_SHIFT;
	if (tick <= tw->tick)
		tick = tw->tick + 1; /* already due: fires on the next pass */
	struct rl_timer **head = &tw->slots[tick & (RL_TW_SLOTS - 1)];
	t->next = *head;
	if (*head)
		(*head)->pprev = &t->next;
	*head = t;
	t->pprev = head;
}

void rl_tw_cancel(struct rl_timerwheel *tw, struct rl_timer *t)
{
	if (!t->pprev)
		return;
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
	tw->armed--;
}

void rl_tw_arm(struct rl_timerwheel *tw, struct rl_timer *t, uint64_t expires_ns)
{
	rl_tw_cancel(tw, t);
	t->expires_ns = expires_ns;
	link_timer(tw, t);
	tw->armed++;
}

void rl_tw_expire(struct rl_timerwheel *tw, uint64_t now_ns, rl_timer_fn fn, void *ctx)
{
	uint64_t now_tick = now_ns >> RL_TW_TICK_SHIFT;
	uint64_t from = tw->tick + 1;
	if (now_tick >= from && now_tick - from >= RL_TW_SLOTS)
		from = now_tick - RL_TW_SLOTS + 1; /* a long stall: every slot once */
	if (now_tick > tw->tick)
		tw->tick = now_tick;
	/* up to the slot after this tick: a timer armed for a moment within a tick already
	 * passed waits there, and fires as soon as its moment comes, not a tick later */
	for (uint64_t tick = from; tick <= tw->tick + 1 && tw->armed; tick++) {
		/* Detach the slot behind a local head first: callbacks may arm timers into
		 * this very slot, or cancel ones still waiting in the detached list. */
		struct rl_timer *pending = tw->slots[tick & (RL_TW_SLOTS - 1)];
		tw->slots[tick & (RL_TW_SLOTS - 1)] = NULL;
		if (pending)
			pending->pprev = &pending;
		while (pending) {
			struct rl_timer *t = pending;
			pending = t->next;
			if (pending)
				pending->pprev = &pending;
			t->next = NULL;
			t->pprev = NULL;
			if (t->expires_ns <= now_ns) {
				tw->armed--;
				fn(t, ctx);
			} else {
				link_timer(tw, t); /* a later lap, or later within this tick */
			}
		}
	}
}

uint64_t rl_tw_next_before(const struct rl_timerwheel *tw, uint64_t horizon_ns)
{
	uint64_t best = UINT64_MAX;
	if (!tw->armed)
		return best;
	uint64_t last = horizon_ns >> RL_TW_TICK_SHIFT;
	if (last > tw->tick + RL_TW_SLOTS)
		last = tw->tick + RL_TW_SLOTS;
	for (uint64_t tick = tw->tick + 1; tick <= last; tick++)
		for (const struct rl_timer *t = tw->slots[tick & (RL_TW_SLOTS - 1)]; t; t = t->next)
			if (t->expires_ns < best && t->expires_ns < horizon_ns)
				best = t->expires_ns; /* timers of later laps share the slot: skipped */
	return best;
}
