/* Routes and knobs of `ringload serve` (SPEC.md "The built-in target server"). */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/units.h"

static const char root_body[] = "Hello from ringload serve\n";

static const char pattern_text[] = "ringload-serve-body-0123456789\n";
#define PATTERN_PERIOD (sizeof(pattern_text) - 1)
static uint8_t pattern_block[65536];

/* Called once before the server starts, so threads only ever read the block. */
void rl_serve_pattern_init(void)
{
	for (size_t i = 0; i < sizeof(pattern_block); i++)
		pattern_block[i] = (uint8_t)pattern_text[i % PATTERN_PERIOD];
}

const uint8_t *rl_serve_pattern(uint64_t off, size_t *n)
{
	/* the block repeats with the text's period, so any offset maps into its first lap */
	*n = sizeof(pattern_block) - PATTERN_PERIOD;
	return pattern_block + off % PATTERN_PERIOD;
}

void rl_serve_body_copy(const struct rl_serve_plan *plan, uint64_t off, uint8_t *dst, size_t n)
{
	if (!plan->pattern) {
		memcpy(dst, plan->small + off, n);
		return;
	}
	for (size_t done = 0; done < n;) {
		size_t k;
		const uint8_t *src = rl_serve_pattern(off + done, &k);
		if (k > n - done)
			k = n - done;
		memcpy(dst + done, src, k);
		done += k;
	}
}

void rl_serve_user_fields(long id, char *name, size_t nn, char *email, size_t en, int *age,
			  const char **created_at)
{
	snprintf(name, nn, "User %ld", id);
	snprintf(email, en, "user%ld@example.com", id);
	*age = 18 + (int)(id % 60);
	*created_at = "2024-01-01T00:00:00Z";
}

size_t rl_serve_user_json(char *out, size_t cap, long id)
{
	char name[32], email[48];
	int age;
	const char *created;
	rl_serve_user_fields(id, name, sizeof(name), email, sizeof(email), &age, &created);
	int n = snprintf(out, cap,
			 "{\"id\":%ld,\"name\":\"%s\",\"email\":\"%s\",\"age\":%d,\"created_at\":\"%s\"}\n",
			 id, name, email, age, created);
	return n < 0 ? 0 : (size_t)n;
}

int rl_serve_knob(struct rl_serve_knobs *k, const char *name, size_t nlen, const char *val,
		  size_t vlen, char *err, size_t errlen)
{
	char v[64];
	if (vlen >= sizeof(v))
		vlen = sizeof(v) - 1;
	memcpy(v, val, vlen);
	v[vlen] = 0;
#define IS(lit) (nlen == sizeof(lit) - 1 && !memcmp(name, lit, nlen))
	if (IS("size") || IS("x-size")) {
		if (rl_parse_count(v, RL_SERVE_MAX_SIZE, &k->size) && strcmp(v, "0")) {
			snprintf(err, errlen, "bad size '%s'", v);
			return -1;
		}
		k->has_size = true;
	} else if (IS("status") || IS("x-status")) {
		uint64_t s;
		if (rl_parse_count(v, 999, &s) || s < 100) {
			snprintf(err, errlen, "bad status '%s'", v);
			return -1;
		}
		k->status = (unsigned)s;
		k->has_status = true;
	} else if (IS("ttfb") || IS("x-ttfb") || IS("body_delay") || IS("x-body-delay")) {
		uint64_t ns;
		if ((rl_parse_duration_ns(v, &ns) && strcmp(v, "0")) || ns > RL_SERVE_MAX_DELAY) {
			snprintf(err, errlen, "bad delay '%s' (at most 60s)", v);
			return -1;
		}
		if (!strcmp(v, "0"))
			ns = 0;
		if (name[0] == 't' || name[2] == 't')
			k->ttfb_ns = ns;
		else
			k->body_delay_ns = ns;
	} else if (IS("every") || IS("x-every")) {
		if (rl_parse_count(v, UINT64_MAX / 2, &k->every) || !k->every) {
			snprintf(err, errlen, "bad every '%s' (a count >= 1)", v);
			return -1;
		}
	} else if (IS("chunked") || IS("x-chunked")) {
		k->chunked = strcmp(v, "0") != 0;
	} else if (IS("close") || IS("x-close")) {
		k->close = strcmp(v, "0") != 0;
	}
#undef IS
	return 0;
}

static void stats_reset(struct rl_serve_counters *c)
{
	for (int i = 0; i < RL_SERVE_NPROTO; i++) {
		atomic_store(&c->requests[i], 0);
		atomic_store(&c->service_ns[i], 0);
	}
	atomic_store(&c->max_in_flight, atomic_load(&c->in_flight));
	atomic_store(&c->recent_next, 0);
}

static void stats_json(struct rl_serve_counters *c, struct rl_serve_plan *plan)
{
	static const char *names[] = { "http1", "h2", "grpc" };
	uint64_t total = 0, svc = 0;
	int off = 0;
	char per[256], recent[RL_SERVE_RECENT * 12 + 8];
	/* the recent service times, oldest first (a concurrent end may move one: a poll
	 * reads a moment, not a transaction) */
	uint64_t next = atomic_load(&c->recent_next), first = next > RL_SERVE_RECENT ? next - RL_SERVE_RECENT : 0;
	int roff = 0;
	for (uint64_t i = first; i < next; i++)
		roff += snprintf(recent + roff, sizeof(recent) - (size_t)roff, "%s%.3f", i > first ? "," : "",
				 (double)atomic_load(&c->recent_us[i % RL_SERVE_RECENT]) / 1000.0);
	recent[roff] = 0;
	for (int i = 0; i < RL_SERVE_NPROTO; i++) {
		uint64_t n = atomic_load(&c->requests[i]), ns = atomic_load(&c->service_ns[i]);
		total += n;
		svc += ns;
		off += snprintf(per + off, sizeof(per) - (size_t)off,
				"%s\"%s\":{\"requests\":%llu,\"mean_service_ms\":%.3f}", i ? "," : "",
				names[i], (unsigned long long)n, n ? (double)ns / (double)n / 1e6 : 0.0);
	}
	plan->small_len = (size_t)snprintf(plan->small, sizeof(plan->small),
		"{\"total_requests\":%llu,\"in_flight\":%llu,\"max_in_flight\":%llu,"
		"\"mean_service_ms\":%.3f,\"per_protocol\":{%s},\"recent_service_ms\":[%s]}\n",
		(unsigned long long)total, (unsigned long long)atomic_load(&c->in_flight),
		(unsigned long long)atomic_load(&c->max_in_flight),
		total ? (double)svc / (double)total / 1e6 : 0.0, per, recent);
	plan->content_type = "application/json";
}

static void set_small(struct rl_serve_plan *plan, unsigned status, const char *type, const char *body)
{
	plan->status = status;
	plan->content_type = type;
	plan->small_len = strlen(body);
	memcpy(plan->small, body, plan->small_len);
}

void rl_serve_route(const char *method, size_t mlen, const char *target, size_t tlen, bool preflight,
		    struct rl_serve_counters *ctr, struct rl_serve_plan *plan)
{
	memset(plan, 0, offsetof(struct rl_serve_plan, small));
	const char *q = memchr(target, '?', tlen);
	size_t plen = q ? (size_t)(q - target) : tlen;
	struct rl_serve_knobs k = { 0 };
	char err[128];
	if (q) {
		const char *p = q + 1, *end = target + tlen;
		while (p < end) {
			const char *amp = memchr(p, '&', (size_t)(end - p));
			const char *e = amp ? amp : end;
			const char *eq = memchr(p, '=', (size_t)(e - p));
			const char *val = eq ? eq + 1 : e;
			if (rl_serve_knob(&k, p, (size_t)((eq ? eq : e) - p), val, (size_t)(e - val),
					  err, sizeof(err))) {
				set_small(plan, 400, "text/plain", err);
				plan->small[plan->small_len++] = '\n';
				plan->size = plan->small_len;
				return;
			}
			p = e + 1;
		}
	}
	if (plen == 1 && target[0] == '/') {
		set_small(plan, 200, "text/plain", root_body);
	} else if (plen == 7 && !memcmp(target, "/health", 7)) {
		set_small(plan, 200, "application/json", "{\"status\":\"ok\"}\n");
		plan->uncounted = true;
	} else if (plen == 6 && !memcmp(target, "/stats", 6)) {
		plan->status = 200;
		stats_json(ctr, plan);
		plan->uncounted = true;
	} else if (plen == 12 && !memcmp(target, "/stats/reset", 12)) {
		if (mlen == 4 && !memcmp(method, "POST", 4)) {
			stats_reset(ctr);
			set_small(plan, 200, "application/json", "{\"reset\":true}\n");
		} else {
			set_small(plan, 405, "text/plain", "POST /stats/reset starts the counts afresh\n");
		}
		plan->uncounted = true;
	} else if (plen > 11 && !memcmp(target, "/api/users/", 11)) {
		char idbuf[16];
		size_t il = plen - 11;
		char *endp;
		long id = -1;
		if (il < sizeof(idbuf)) {
			memcpy(idbuf, target + 11, il);
			idbuf[il] = 0;
			id = strtol(idbuf, &endp, 10);
			if (*endp || idbuf[0] == '-' || idbuf[0] == '+')
				id = -1;
		}
		if (id >= 1 && id <= RL_SERVE_USERS) {
			plan->status = 200;
			plan->content_type = "application/json";
			plan->small_len = rl_serve_user_json(plan->small, sizeof(plan->small), id);
		} else {
			set_small(plan, 404, "application/json", "{\"error\":\"user not found\"}\n");
		}
	} else {
		/* any other path answers by its knobs (/search?ttfb=20ms) */
		set_small(plan, 200, "text/plain", root_body);
	}
	if (k.has_status)
		plan->status = k.status;
	if (k.has_size) {
		plan->pattern = true;
		plan->size = k.size;
		plan->content_type = "application/octet-stream";
	} else {
		plan->size = plan->small_len;
	}
	plan->uncounted |= preflight;
	if (k.every > 1) {
		/* one request in `every` is slow: a stall that a closed-loop client hides */
		static _Thread_local uint64_t seen;
		if (preflight || ++seen % k.every)
			k.ttfb_ns = k.body_delay_ns = 0;
	}
	plan->ttfb_ns = k.ttfb_ns;
	plan->body_delay_ns = k.body_delay_ns;
	plan->chunked = k.chunked;
	plan->close = k.close;
}

void rl_serve_count_start(struct rl_serve_counters *c, enum rl_serve_proto p)
{
	uint64_t now = atomic_fetch_add(&c->in_flight, 1) + 1;
	uint64_t max = atomic_load(&c->max_in_flight);
	while (now > max && !atomic_compare_exchange_weak(&c->max_in_flight, &max, now))
		;
	(void)p;
}

void rl_serve_count_end(struct rl_serve_counters *c, enum rl_serve_proto p, uint64_t service_ns)
{
	atomic_fetch_sub(&c->in_flight, 1);
	atomic_fetch_add(&c->requests[p], 1);
	atomic_fetch_add(&c->service_ns[p], service_ns);
	uint64_t slot = atomic_fetch_add(&c->recent_next, 1);
	atomic_store(&c->recent_us[slot % RL_SERVE_RECENT], service_ns / 1000);
}
