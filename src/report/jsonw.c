/* Streaming JSON writer: see jsonw.h. Output is indented two spaces per level. */
#include "jsonw.h"

#include <math.h>

void rl_jw_init(struct rl_jw *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->has_items[0] = false;
}

/* A JSON string: the runs that need no escape written whole. */
static void write_string(FILE *f, const char *s)
{
	fputc('"', f);
	const unsigned char *p = (const unsigned char *)s, *run = p;
	for (; *p; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		fwrite(run, 1, (size_t)(p - run), f);
		run = p + 1;
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default: fprintf(f, "\\u%04x", *p);
		}
	}
	fwrite(run, 1, (size_t)(p - run), f);
	fputc('"', f);
}

static void item(struct rl_jw *w, const char *key)
{
	if (w->depth > 0) {
		fputs(w->has_items[w->depth] ? ",\n" : "\n", w->f);
		fprintf(w->f, "%*s", w->depth * 2, "");
	}
	w->has_items[w->depth] = true;
	if (key) {
		write_string(w->f, key);
		fputs(": ", w->f);
	}
}

static void open_(struct rl_jw *w, const char *key, char c)
{
	item(w, key);
	fputc(c, w->f);
	if (w->depth + 1 < RL_JW_DEPTH)
		w->depth++;
	w->has_items[w->depth] = false;
}

static void close_(struct rl_jw *w, char c)
{
	bool had = w->has_items[w->depth];
	w->depth--;
	if (had)
		fprintf(w->f, "\n%*s", w->depth * 2, "");
	fputc(c, w->f);
	if (w->depth == 0)
		fputc('\n', w->f);
}

void rl_jw_obj(struct rl_jw *w, const char *key) { open_(w, key, '{'); }
void rl_jw_arr(struct rl_jw *w, const char *key) { open_(w, key, '['); }
void rl_jw_end_obj(struct rl_jw *w) { close_(w, '}'); }
void rl_jw_end_arr(struct rl_jw *w) { close_(w, ']'); }

void rl_jw_str(struct rl_jw *w, const char *key, const char *v)
{
	item(w, key);
	write_string(w->f, v);
}

void rl_jw_null(struct rl_jw *w, const char *key)
{
	item(w, key);
	fputs("null", w->f);
}

void rl_jw_u64(struct rl_jw *w, const char *key, uint64_t v)
{
	item(w, key);
	fprintf(w->f, "%llu", (unsigned long long)v);
}

void rl_jw_num(struct rl_jw *w, const char *key, double v, int decimals)
{
	item(w, key);
	if (!isfinite(v))
		v = 0;
	fprintf(w->f, "%.*f", decimals, v);
}

void rl_jw_bool(struct rl_jw *w, const char *key, bool v)
{
	item(w, key);
	fputs(v ? "true" : "false", w->f);
}
