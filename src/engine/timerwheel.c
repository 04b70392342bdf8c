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
	if (now_tick <= tw->tick)
		return;
	uint64_t from = tw->tick + 1;
	if (now_tick - from >= RL_TW_SLOTS)
		from = now_tick - RL_TW_SLOTS + 1; /* a long stall: every slot once */
	tw->tick = now_tick;
	for (uint64_t tick = from; tick <= now_tick && tw->armed; tick++) {
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
