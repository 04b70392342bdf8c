/* Other load testers' flags (wrk, wrk2, h2load, ghz, hey, oha, vegeta): see foreign.c. */
#ifndef RINGLOAD_CLI_FOREIGN_H
#define RINGLOAD_CLI_FOREIGN_H

#include <stdbool.h>
#include <stddef.h>

enum rl_foreign_kind {
	RL_FOREIGN_OURS,        /* the same spelling and meaning here: passed through */
	RL_FOREIGN_NOOP,        /* the same meaning, and what it asks for is always done */
	RL_FOREIGN_REWRITE,     /* the same meaning under our spelling (ours, ours_value) */
	RL_FOREIGN_PROTO,       /* h2load's protocol list: h2c -> --h2, http/1.1 -> --h1 */
	RL_FOREIGN_FORMAT,      /* ghz's output format -> -o */
	RL_FOREIGN_URLS,        /* h2load's file of URLs -> targets */
	RL_FOREIGN_DIFFERENT,   /* another meaning here: note names theirs and our spelling */
	RL_FOREIGN_UNSUPPORTED, /* not done here: note says what to use instead */
};

struct rl_foreign_flag {
	const char *spelling, *tool;
	enum rl_foreign_kind kind;
	bool takes_value;
	bool (*applies)(const char *value); /* NULL: always; else only for values it fits */
	const char *ours, *ours_value;       /* RL_FOREIGN_REWRITE */
	const char *example;                 /* a value that shows this meaning (tests) */
	const char *note;                    /* the error, or what ringload does */
};

extern const struct rl_foreign_flag rl_foreign_flags[];
extern const size_t rl_foreign_nflags;

/* A new argv (calloc'd; the caller frees the array) with other tools' flags rewritten to
 * ours; strings it makes go into owned. 0, or -1 with the one-line message in err. */
int rl_foreign_rewrite(int argc, char **argv, char ***out_argv, int *out_argc, char **owned, size_t *nowned,
		       size_t max_owned, char *err, size_t errlen);

#endif
