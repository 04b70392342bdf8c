/* Request templates: see template.h. Generators: xorshift64* (not cryptographic: load,
 * not secrets), UUIDs are version 4 from the same generator. */
#include "ringload/template.h"

#include <errno.h>

#include "common/file.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RANDSTR_MAX 65536
#define LINES_FILE_MAX (256u << 20) /* {{line FILE}}: read whole, once */

/* FILE's non-empty lines (CR LF or LF), or NULL with err. */
static struct rl_tpl_lines *read_lines(const char *path, size_t pos, char *err, size_t errlen)
{
	char *data;
	size_t len;
	int rc = rl_read_file(path, LINES_FILE_MAX, &data, &len);
	if (rc) {
		snprintf(err, errlen, "template at byte %zu: {{line %s}}: %s", pos, path,
			 rc == -EFBIG ? "larger than 256 MiB" : rc == -EINVAL ? "not a regular file" : strerror(-rc));
		return NULL;
	}
	struct rl_tpl_lines *l = calloc(1, sizeof(*l));
	size_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += data[i] == '\n';
	if (l) {
		l->off = malloc(cap * sizeof(*l->off));
		l->len = malloc(cap * sizeof(*l->len));
	}
	if (!l || !l->off || !l->len) {
		if (l) {
			free(l->off);
			free(l->len);
		}
		free(l);
		free(data);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->data = data;
	for (size_t i = 0; i < len;) {
		size_t end = i;
		while (end < len && data[end] != '\n')
			end++;
		size_t n = end - i;
		if (n && data[i + n - 1] == '\r')
			n--;
		if (n) {
			l->off[l->n] = (uint32_t)i;
			l->len[l->n++] = (uint32_t)n;
		}
		i = end + 1;
	}
	if (!l->n) {
		snprintf(err, errlen, "template at byte %zu: {{line %s}}: the file has no lines", pos, path);
		free(l->off);
		free(l->len);
		free(l->data);
		free(l);
		return NULL;
	}
	return l;
}

static void lines_free(struct rl_tpl_lines *l)
{
	if (!l)
		return;
	free(l->off);
	free(l->len);
	free(l->data);
	free(l);
}

bool rl_tpl_present(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == '{' && s[i + 1] == '{')
			return true;
	return false;
}

static int add(struct rl_tpl *t, struct rl_tpl_piece p)
{
	struct rl_tpl_piece *np = realloc(t->pieces, (t->n + 1) * sizeof(*np));
	if (!np)
		return -1;
	t->pieces = np;
	t->pieces[t->n++] = p;
	return 0;
}

static unsigned digits(int64_t v)
{
	char tmp[24];
	return (unsigned)snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
}

/* Parses the words of one {{...}}; returns 0 or -1 with err at position pos. */
static int generator(const char *w, size_t len, size_t pos, struct rl_tpl_piece *p, char *err, size_t errlen)
{
	char buf[128];
	if (len >= sizeof(buf)) {
		snprintf(err, errlen, "template at byte %zu: too long", pos);
		return -1;
	}
	memcpy(buf, w, len);
	buf[len] = 0;
	char name[32], extra[8], path[128];
	long long a, b;
	memset(p, 0, sizeof(*p));
	if (sscanf(buf, " %31s", name) != 1) {
		snprintf(err, errlen, "template at byte %zu: empty {{}}", pos);
		return -1;
	}
	if (!strcmp(name, "seq") && sscanf(buf, " seq %7s", extra) != 1) {
		p->kind = RL_TPL_SEQ;
	} else if (!strcmp(name, "uuid") && sscanf(buf, " uuid %7s", extra) != 1) {
		p->kind = RL_TPL_UUID;
	} else if (!strcmp(name, "randint")) {
		if (sscanf(buf, " randint %lld %lld %7s", &a, &b, extra) != 2 || a > b) {
			snprintf(err, errlen, "template at byte %zu: expected {{randint MIN MAX}} with MIN <= MAX", pos);
			return -1;
		}
		p->kind = RL_TPL_RANDINT;
		p->lo = a;
		p->hi = b;
	} else if (!strcmp(name, "randstr")) {
		if (sscanf(buf, " randstr %lld %7s", &a, extra) != 1 || a < 1 || a > RANDSTR_MAX) {
			snprintf(err, errlen, "template at byte %zu: expected {{randstr N}} with 1 <= N <= %d", pos, RANDSTR_MAX);
			return -1;
		}
		p->kind = RL_TPL_RANDSTR;
		p->len = (size_t)a;
	} else if (!strcmp(name, "line") || !strcmp(name, "line-seq")) {
		if (sscanf(buf, " %*s %127s %7s", path, extra) != 1) {
			snprintf(err, errlen, "template at byte %zu: expected {{%s FILE}}", pos, name);
			return -1;
		}
		p->kind = name[4] ? RL_TPL_LINE_SEQ : RL_TPL_LINE;
		p->lines = read_lines(path, pos, err, errlen);
		if (!p->lines)
			return -1;
	} else {
		snprintf(err, errlen, "template at byte %zu: unknown or malformed {{%s}} (randint, seq, uuid, randstr, line, line-seq)", pos, buf);
		return -1;
	}
	return 0;
}

int rl_tpl_compile(const char *s, size_t len, struct rl_tpl *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	size_t i = 0, lit = 0;
	while (i < len) {
		if (!(s[i] == '{' && i + 1 < len && s[i + 1] == '{')) {
			if (s[i] == '}' && i + 1 < len && s[i + 1] == '}') {
				snprintf(err, errlen, "template at byte %zu: '}}' without '{{'", i);
				rl_tpl_free(t);
				return -1;
			}
			i++;
			continue;
		}
		const char *close = NULL;
		for (size_t j = i + 2; j + 1 < len; j++) {
			if (s[j] == '{' && s[j + 1] == '{')
				break;
			if (s[j] == '}' && s[j + 1] == '}') {
				close = s + j;
				break;
			}
		}
		if (!close) {
			snprintf(err, errlen, "template at byte %zu: '{{' without '}}'", i);
			rl_tpl_free(t);
			return -1;
		}
		struct rl_tpl_piece p = { 0 };
		err[0] = 0;
		if ((i > lit && add(t, (struct rl_tpl_piece){ .kind = RL_TPL_LITERAL, .lit = s + lit, .len = i - lit })) ||
		    generator(s + i + 2, (size_t)(close - s) - i - 2, i, &p, err, errlen) || add(t, p)) {
			if (!err[0])
				snprintf(err, errlen, "out of memory");
			if (t->n == 0 || t->pieces[t->n - 1].lines != p.lines)
				lines_free(p.lines); /* not added: not the template's to free */
			rl_tpl_free(t);
			return -1;
		}
		t->dynamic = true;
		i = lit = (size_t)(close - s) + 2;
	}
	if (len > lit && add(t, (struct rl_tpl_piece){ .kind = RL_TPL_LITERAL, .lit = s + lit, .len = len - lit })) {
		rl_tpl_free(t);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t k = 0; k < t->n; k++) {
		const struct rl_tpl_piece *p = &t->pieces[k];
		switch (p->kind) {
		case RL_TPL_LITERAL: case RL_TPL_RANDSTR: t->max_len += p->len; break;
		case RL_TPL_RANDINT: t->max_len += digits(p->lo) > digits(p->hi) ? digits(p->lo) : digits(p->hi); break;
		case RL_TPL_SEQ: t->max_len += 20; break;
		case RL_TPL_UUID: t->max_len += 36; break;
		case RL_TPL_LINE: case RL_TPL_LINE_SEQ: {
			size_t longest = 0;
			for (size_t j = 0; j < p->lines->n; j++)
				if (p->lines->len[j] > longest)
					longest = p->lines->len[j];
			t->max_len += longest;
			break;
		}
		}
	}
	return 0;
}

void rl_tpl_free(struct rl_tpl *t)
{
	for (size_t k = 0; k < t->n; k++)
		lines_free(t->pieces[k].lines);
	free(t->pieces);
	t->pieces = NULL;
	t->n = 0;
}

void rl_tpl_state_init(struct rl_tpl_state *st, uint64_t seed, uint64_t first_seq, uint64_t step)
{
	st->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
	st->seq = st->line_seq = first_seq;
	st->seq_step = step ? step : 1;
}

static uint64_t next_rand(struct rl_tpl_state *st)
{
	st->rng ^= st->rng >> 12;
	st->rng ^= st->rng << 25;
	st->rng ^= st->rng >> 27;
	return st->rng * 0x2545F4914F6CDD1DULL;
}

static size_t put_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

size_t rl_tpl_render(const struct rl_tpl *t, struct rl_tpl_state *st, char *out)
{
	static const char hex[] = "0123456789abcdef";
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t o = 0;
	for (size_t k = 0; k < t->n; k++) {
		const struct rl_tpl_piece *p = &t->pieces[k];
		switch (p->kind) {
		case RL_TPL_LITERAL:
			memcpy(out + o, p->lit, p->len);
			o += p->len;
			break;
		case RL_TPL_RANDINT: {
			/* unsigned arithmetic: hi - lo overflows int64_t for wide ranges */
			uint64_t span = (uint64_t)p->hi - (uint64_t)p->lo + 1; /* 0 means the full 2^64 */
			int64_t v = (int64_t)((uint64_t)p->lo + (span ? next_rand(st) % span : next_rand(st)));
			if (v < 0) {
				out[o++] = '-';
				o += put_u64(out + o, (uint64_t)0 - (uint64_t)v);
			} else {
				o += put_u64(out + o, (uint64_t)v);
			}
			break;
		}
		case RL_TPL_SEQ:
			o += put_u64(out + o, st->seq);
			st->seq += st->seq_step;
			break;
		case RL_TPL_UUID: {
			uint64_t a = next_rand(st), b = next_rand(st);
			a = (a & ~0xf000ULL) | 0x4000ULL;            /* version 4 */
			b = (b & ~(3ULL << 62)) | (2ULL << 62);      /* RFC 4122 variant */
			uint8_t bytes[16];
			for (int i = 0; i < 8; i++) {
				bytes[i] = (uint8_t)(a >> (56 - 8 * i));
				bytes[8 + i] = (uint8_t)(b >> (56 - 8 * i));
			}
			for (int i = 0; i < 16; i++) {
				if (i == 4 || i == 6 || i == 8 || i == 10)
					out[o++] = '-';
				out[o++] = hex[bytes[i] >> 4];
				out[o++] = hex[bytes[i] & 15];
			}
			break;
		}
		case RL_TPL_RANDSTR:
			for (size_t i = 0; i < p->len; i++)
				out[o++] = alnum[next_rand(st) % (sizeof(alnum) - 1)];
			break;
		case RL_TPL_LINE:
		case RL_TPL_LINE_SEQ: {
			const struct rl_tpl_lines *l = p->lines;
			size_t i;
			if (p->kind == RL_TPL_LINE) {
				i = next_rand(st) % l->n;
			} else {
				i = st->line_seq % l->n;
				st->line_seq += st->seq_step;
			}
			memcpy(out + o, l->data + l->off[i], l->len[i]);
			o += l->len[i];
			break;
		}
		}
	}
	return o;
}
