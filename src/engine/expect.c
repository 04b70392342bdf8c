/* Response checks: see expect.h. */
#include "ringload/expect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rl_expect_status_parse(struct rl_expect *e, const char *list, char *err, size_t errlen)
{
	memset(e->status_bits, 0, sizeof(e->status_bits));
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		char item[8];
		if (!n || n >= sizeof(item))
			goto bad;
		memcpy(item, p, n);
		item[n] = 0;
		unsigned lo, hi;
		char end;
		if (n == 3 && item[0] >= '1' && item[0] <= '5' && (item[1] | 0x20) == 'x' && (item[2] | 0x20) == 'x') {
			lo = (unsigned)(item[0] - '0') * 100;
			hi = lo + 99;
		} else if (sscanf(item, "%u%c", &lo, &end) == 1 && lo >= 100 && lo <= 999) {
			hi = lo;
		} else {
			goto bad;
		}
		for (unsigned s = lo; s <= hi; s++)
			e->status_bits[s / 64] |= 1ull << (s % 64);
		p += n + (p[n] == ',');
		continue;
bad:
		snprintf(err, errlen, "--expect-status: '%.*s' is not a status (200) or a class (2xx)", (int)n, p);
		return -1;
	}
	if (!*list) {
		snprintf(err, errlen, "--expect-status: give statuses, such as 200,201 or 2xx");
		return -1;
	}
	e->status_set = true;
	return 0;
}

int rl_expect_body_parse(struct rl_expect *e, const char *s, char *err, size_t errlen)
{
	e->body_absent = s[0] == '!';
	const char *needle = s + e->body_absent;
	size_t n = strlen(needle);
	if (!n || n > RL_EXPECT_BODY_MAX) {
		snprintf(err, errlen, "--expect-body: a text of 1 to %d bytes (after a leading ! for 'must not hold')",
			 RL_EXPECT_BODY_MAX);
		return -1;
	}
	memcpy(e->body, needle, n);
	e->body_len = (uint8_t)n;
	/* next[q]: the longest proper border of body[0..q], for the state q + 1 matched */
	e->next[0] = 0;
	for (size_t q = 1, k = 0; q < n; q++) {
		while (k && e->body[q] != e->body[k])
			k = e->next[k - 1];
		if (e->body[q] == e->body[k])
			k++;
		e->next[q] = (uint8_t)k;
	}
	return 0;
}

uint8_t rl_expect_feed(const struct rl_expect *e, uint8_t state, const uint8_t *p, size_t n)
{
	size_t q = state, m = e->body_len;
	if (!m || q == m)
		return state;
	for (size_t i = 0; i < n; i++) {
		while (q && p[i] != e->body[q])
			q = e->next[q - 1];
		if (p[i] == e->body[q] && ++q == m)
			return (uint8_t)m;
	}
	return (uint8_t)q;
}

const char *rl_expect_verdict(const struct rl_expect *e, unsigned status, uint8_t state, char *why, size_t len)
{
	if (e->status_set && (status >= 1024 || !(e->status_bits[status / 64] >> (status % 64) & 1))) {
		snprintf(why, len, "status %u is not one --expect-status allows", status);
		return why;
	}
	if (e->body_len && (state == e->body_len) == e->body_absent) {
		snprintf(why, len, "the body %s \"%.*s\"", e->body_absent ? "holds" : "lacks", (int)e->body_len,
			 (const char *)e->body);
		return why;
	}
	return NULL;
}
