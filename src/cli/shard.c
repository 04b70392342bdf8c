/* Sharded runs: the shares, the plan's fingerprint and the synchronised start. */
#include "shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ringload/units.h"

uint64_t rl_shard_share(uint64_t total, uint32_t index, uint32_t count)
{
	if (!count)
		return total;
	return total / count + (index < total % count);
}

int rl_shard_parse(const char *spec, uint32_t *index, uint32_t *count, char *err, size_t errlen)
{
	const char *slash = strchr(spec, '/');
	uint64_t i, n;
	char ibuf[32];
	if (!slash || (size_t)(slash - spec) >= sizeof(ibuf)) {
		snprintf(err, errlen, "--shard '%s': give INDEX/COUNT, e.g. 0/4", spec);
		return -1;
	}
	memcpy(ibuf, spec, (size_t)(slash - spec));
	ibuf[slash - spec] = 0;
	if (rl_parse_count(ibuf, 100000, &i) || rl_parse_count(slash + 1, 100000, &n) || !n) {
		snprintf(err, errlen, "--shard '%s': INDEX and COUNT are numbers, COUNT at least 1", spec);
		return -1;
	}
	if (i >= n) {
		snprintf(err, errlen, "--shard '%s': the index runs from 0 to %llu", spec, (unsigned long long)n - 1);
		return -1;
	}
	*index = (uint32_t)i;
	*count = (uint32_t)n;
	return 0;
}

/* RFC 3339: date, 'T' or ' ', time, optional fraction, then Z or +hh:mm / -hh:mm. */
static int rfc3339(const char *s, int64_t *at_ns)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!p)
		return -1;
	int64_t frac = 0;
	if (*p == '.') {
		int64_t scale = 100000000;
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += scale * (*p - '0');
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -1;
		off = (*p == '+' ? 1 : -1) * ((int64_t)hh * 3600 + mm * 60);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*at_ns = ((int64_t)t - off) * 1000000000LL + frac;
	return 0;
}

int rl_start_at_parse(const char *s, int64_t now_ns, int64_t *at_ns, char *err, size_t errlen)
{
	if (s[0] == '+') {
		uint64_t d;
		if (rl_parse_duration_ns(s + 1, &d)) {
			snprintf(err, errlen, "--start-at '%s': +DUR is a duration from now (+30s)", s);
			return -1;
		}
		*at_ns = now_ns + (int64_t)d;
		return 0;
	}
	char *end;
	errno = 0;
	double secs = strtod(s, &end);
	if (!*end && end != s && !errno && secs > 0) {
		*at_ns = (int64_t)(secs * 1e9);
		return 0;
	}
	if (rfc3339(s, at_ns)) {
		snprintf(err, errlen, "--start-at '%s': give RFC 3339 (2026-11-30T21:00:00Z), Unix seconds, or +DUR", s);
		return -1;
	}
	return 0;
}

/* FNV-1a, 64 bits. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

uint64_t rl_shard_fingerprint(const struct rl_options *o)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < o->nurls; i++)
		h = fnv_str(h, o->urls[i]);
	h = fnv_str(h, o->scenario_path);
	h = fnv_str(h, o->method);
	for (size_t i = 0; i < o->nheaders; i++) {
		h = fnv(h, o->headers[i].name, o->headers[i].name_len);
		h = fnv(h, o->headers[i].value, o->headers[i].value_len);
	}
	h = fnv(h, o->body ? o->body : "", o->body_len);
	h = fnv_str(h, o->grpc_method);
	h = fnv_str(h, o->data);
	uint64_t nums[] = { (uint64_t)o->proto, o->connections, o->pipeline, o->streams, o->requests,
			    o->requests_per_target, o->duration_ns, o->warmup_ns, o->timeout_ns,
			    (uint64_t)(o->rate * 1000), o->nstages, o->shards };
	h = fnv(h, nums, sizeof(nums));
	for (size_t i = 0; i < o->nstages; i++) {
		uint64_t st[] = { o->stages[i].dur_ns, (uint64_t)(o->stages[i].level * 1000), o->stages[i].step };
		h = fnv(h, st, sizeof(st));
	}
	return h;
}

int rl_shard_split(struct rl_options *o, char *err, size_t errlen)
{
	uint32_t i = o->shard, n = o->shards;
	if (n <= 1)
		return 0;
	uint32_t whole = o->connections;
	o->connections = (uint32_t)rl_shard_share(o->connections, i, n);
	if (o->connections < (o->nurls ? o->nurls : 1)) {
		snprintf(err, errlen, "--shard %u/%u: -c %u over %u shards leaves this one %u connection%s for %zu target%s",
			 i, n, whole, n, o->connections, o->connections == 1 ? "" : "s", o->nurls ? o->nurls : 1,
			 o->nurls == 1 ? "" : "s");
		return -1;
	}
	if (o->threads > o->connections)
		o->threads = o->connections;
	o->rate /= n;
	o->requests = rl_shard_share(o->requests, i, n);
	o->requests_per_target = rl_shard_share(o->requests_per_target, i, n);
	for (size_t s = 0; s < o->nstages; s++) {
		/* rates divide; connections are whole, the remainder to the lowest indexes */
		double level = o->stages[s].level;
		o->stages[s].level = o->rate > 0 || o->stages[s].level != (double)(uint64_t)level
					     ? level / n
					     : (double)rl_shard_share((uint64_t)level, i, n);
	}
	return 0;
}
