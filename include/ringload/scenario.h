/* --scenario FILE.json: named targets, each with its own protocol and request, and a
 * weight (its share of the connections). Every target gets a request spec: the
 * command line's, with the target's fields over it. Fan-out groups are not read
 * yet. Errors name the JSON path of the bad field. */
#ifndef RINGLOAD_SCENARIO_H
#define RINGLOAD_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "ringload/engine.h"
#include "ringload/options.h"

struct rl_scenario_target {
	char *name, *url;
	unsigned weight;
	struct rl_request_spec req; /* the command line's request, with the target's fields over it */
	char *owned_body, *owned_data, *owned_expect;
	char *header_lines[RL_MAX_HEADERS]; /* the target's own headers, after the -H ones */
	size_t nlines;
};

struct rl_scenario {
	struct rl_scenario_target *targets;
	size_t ntargets;
	struct rl_group_def *groups;
	size_t ngroups;
	void *root;              /* the parsed document (json_t): targets borrow its strings */
};

int rl_scenario_load(const char *path, const struct rl_options *base, struct rl_scenario *s,
		     char *err, size_t errlen);
void rl_scenario_free(struct rl_scenario *s);

#endif
