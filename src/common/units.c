/* Units of the command line. Strict: trailing garbage, negative numbers, overflow and
 * empty strings are all errors, so "10x" never silently means 10. */
#include "ringload/units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rl_parse_duration_ns(const char *s, uint64_t *ns)
{
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -1;
	double mult;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		mult = 1e9;
	else if (!strcmp(end, "ms"))
		mult = 1e6;
	else if (!strcmp(end, "us") || !strcmp(end, "µs"))
		mult = 1e3;
	else if (!strcmp(end, "ns"))
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60e9;
	else if (!strcmp(end, "h"))
		mult = 3600e9;
	else
		return -1;
	double r = v * mult;
	if (r >= 1.8e19)
		return -1;
	*ns = (uint64_t)llround(r);
	return 0;
}

int rl_parse_count(const char *s, uint64_t max, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	uint64_t mult = 1;
	if (*end == 'k' || *end == 'K')
		mult = 1000, end++;
	else if (*end == 'M')
		mult = 1000000, end++;
	else if (*end == 'G')
		mult = 1000000000, end++;
	if (*end || (mult > 1 && v > max / mult) || v * mult > max)
		return -1;
	*out = v * mult;
	return 0;
}

const char *rl_fmt_ms(char *buf, size_t n, double ms)
{
	if (ms < 1.0)
		snprintf(buf, n, "%.0fus", ms * 1000.0);
	else if (ms < 1000.0)
		snprintf(buf, n, "%.3fms", ms);
	else
		snprintf(buf, n, "%.3fs", ms / 1000.0);
	return buf;
}

const char *rl_fmt_bytes(char *buf, size_t n, double b)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (b >= 1024.0 && u < 4) {
		b /= 1024.0;
		u++;
	}
	snprintf(buf, n, u ? "%.2f %s" : "%.0f %s", b, unit[u]);
	return buf;
}

const char *rl_fmt_count(char *buf, size_t n, double v)
{
	if (v >= 1e9)
		snprintf(buf, n, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, n, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, n, "%.2fk", v / 1e3);
	else
		snprintf(buf, n, "%.0f", v);
	return buf;
}
