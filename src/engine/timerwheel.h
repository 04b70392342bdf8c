/* A single-level timer wheel (as h2o's timerwheel.h, minus the levels): 4096 slots of
 * ~1 ms. A timer further out than one lap sits in its slot and is passed over until its
 * time comes. Arming and cancelling are O(1) list operations; expiry is checked once per
 * event-loop turn. Intrusive: timers live inside the objects they time. */
#ifndef RINGLOAD_TIMERWHEEL_H
#define RINGLOAD_TIMERWHEEL_H

#include <stdbool.h>
#include <stdint.h>

#define RL_TW_SLOT_BITS 12
#define RL_TW_SLOTS     (1u << RL_TW_SLOT_BITS)
#define RL_TW_TICK_SHIFT 20 /* 2^20 ns: about a millisecond */

struct rl_timer {
	struct rl_timer *next, **pprev;
	uint64_t expires_ns;
};

struct rl_timerwheel {
	uint64_t tick;      /* last tick processed */
	uint64_t armed;
	struct rl_timer *slots[RL_TW_SLOTS];
};

typedef void (*rl_timer_fn)(struct rl_timer *t, void *ctx);

void rl_tw_init(struct rl_timerwheel *tw, uint64_t now_ns);
void rl_tw_arm(struct rl_timerwheel *tw, struct rl_timer *t, uint64_t expires_ns);
void rl_tw_cancel(struct rl_timerwheel *tw, struct rl_timer *t);
static inline bool rl_timer_armed(const struct rl_timer *t) { return t->pprev != 0; }
/* Fires every timer whose time is <= now_ns; fn may re-arm timers. */
void rl_tw_expire(struct rl_timerwheel *tw, uint64_t now_ns, rl_timer_fn fn, void *ctx);
/* The earliest expiry before horizon_ns, or UINT64_MAX: how long a loop may wait and
 * still fire every timer on time. Looks only at the slots up to the horizon, so it is
 * cheap for the few milliseconds a loop turn waits at most. */
uint64_t rl_tw_next_before(const struct rl_timerwheel *tw, uint64_t horizon_ns);

#endif
