/* Request templates: {{randint A B}}, {{seq}}, {{uuid}}, {{randstr N}}, {{line FILE}}
 * (a random line of FILE) and {{line-seq FILE}} (its lines in turn) in the URL, headers,
 * body. A template is compiled once into a fixed list of pieces (literals and
 * generators; a FILE is read once, then); rendering writes into a caller's buffer of at
 * least max_len bytes and costs no allocation and no parsing. */
#ifndef RINGLOAD_TEMPLATE_H
#define RINGLOAD_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rl_tpl_kind { RL_TPL_LITERAL, RL_TPL_RANDINT, RL_TPL_SEQ, RL_TPL_UUID, RL_TPL_RANDSTR, RL_TPL_LINE,
		   RL_TPL_LINE_SEQ };

/* A file's non-empty lines (without their line ends), in one block. */
struct rl_tpl_lines {
	char *data;
	size_t n;
	uint32_t *off, *len;
};

struct rl_tpl_piece {
	uint8_t kind;
	const char *lit;   /* RL_TPL_LITERAL: points into the compiled source */
	size_t len;        /* literal length, or randstr's N */
	int64_t lo, hi;    /* randint bounds, inclusive */
	struct rl_tpl_lines *lines; /* line, line-seq: owned by the template */
};

struct rl_tpl {
	struct rl_tpl_piece *pieces;
	size_t n;
	size_t max_len;    /* the longest rendering */
	bool dynamic;      /* holds a generator: render per request */
};

/* Per worker: a generator state and the {{seq}} counter. seq values are unique across
 * workers: worker w of n renders w, w + n, w + 2n, ... */
struct rl_tpl_state {
	uint64_t rng;
	uint64_t seq, seq_step;
	uint64_t line_seq; /* {{line-seq}}: the same start and step as seq, its own count */
};

/* Compiles s[0..len); the source must outlive the template. -1 with err naming the
 * byte position of the problem. */
int rl_tpl_compile(const char *s, size_t len, struct rl_tpl *t, char *err, size_t errlen);
void rl_tpl_free(struct rl_tpl *t);
void rl_tpl_state_init(struct rl_tpl_state *st, uint64_t seed, uint64_t first_seq, uint64_t step);
/* Renders into out (room for t->max_len); returns the length. */
size_t rl_tpl_render(const struct rl_tpl *t, struct rl_tpl_state *st, char *out);
/* True if s holds "{{": callers keep plain strings on the fast path. */
bool rl_tpl_present(const char *s, size_t len);

#endif
