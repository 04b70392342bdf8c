/* `ringload compare A.json B.json [...]`: the seed's comparison table of saved runs
 * (each run's total), as console, JSON or CSV. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/report.h"
#include "ringload/result_json.h"
#include "report/jsonw.h"
#include "verb.h"

/* The metrics the table compares, from a result's total (root, loaded from path). */
static void run_metrics(json_t *root, const char *path, struct rl_metrics *m)
{
	rl_metrics_from_json(json_object_get(root, "total"), m);
	/* a fan-out run's unit is the batch: its members' requests would flatter it (a batch
	 * takes as long as its slowest member) */
	json_t *group = json_array_get(json_object_get(root, "groups"), 0);
	if (group) {
		rl_metrics_from_group_json(group, m);
		fprintf(stderr, "ringload compare: %s: its fan-out group '%s' is compared: batch time (the slowest "
			"member), batches/s, full successes%s\n", path, json_string_value(json_object_get(group, "name")),
			json_array_size(json_object_get(root, "groups")) > 1 ? " (the first of its groups)" : "");
	}
}

/* One result with several targets (a REST-against-gRPC run): its targets, by name. */
static int load_targets(const char *path, struct rl_metrics **m, char ***names, size_t *n, char *err, size_t errlen)
{
	json_t *root = rl_result_load("compare", path, err, errlen);
	if (!root)
		return -1;
	json_t *targets = json_object_get(root, "targets"), *t;
	size_t count = json_array_size(targets), i;
	if (count < 2 || count > RL_CMP_MAX_RUNS) {
		snprintf(err, errlen, "compare: '%s' has %zu target%s; one file compares 2 to %d targets (or give 2 or more files)",
			 path, count, count == 1 ? "" : "s", RL_CMP_MAX_RUNS);
		json_decref(root);
		return -1;
	}
	*m = calloc(count, sizeof(**m));
	*names = calloc(count, sizeof(**names));
	json_array_foreach(targets, i, t) {
		if (!*m || !*names)
			break;
		rl_metrics_from_json(t, &(*m)[i]);
		const char *name = json_string_value(json_object_get(t, "name"));
		if (!name)
			name = json_string_value(json_object_get(t, "url"));
		(*names)[i] = strdup(name ? name : "?");
	}
	*n = count;
	json_decref(root);
	if (!*m || !*names) {
		snprintf(err, errlen, "compare: out of memory");
		return -1;
	}
	return 0;
}

static const char usage[] =
	"usage: ringload compare [-o console|json|csv] [--tie PERCENT] A.json B.json [...]\n"
	"Compares saved runs (their totals): per metric each run, the winner, and by how much\n"
	"it beats the runner-up (in percent, and as a factor: 7.50\u00d7). A difference under\n"
	"--tie PERCENT (default 1) is a tie.";

/* -o, --tie, -h: -1 to go on, or the exit code */
static int compare_options(int argc, char **argv, const char **out, double *tie)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "tie", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'o': *out = optarg; break;
		case 'T':
			*tie = strtod(optarg, &end);
			if (end == optarg || *end || !(*tie >= 0 && *tie <= 100)) {
				fprintf(stderr, "ringload compare: --tie: '%s' is not a percentage (0 to 100)\n", optarg);
				return 2;
			}
			break;
		case 'h': puts(usage); return 0;
		case ':':
			fprintf(stderr, "ringload compare: option '%s' needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "ringload compare: unknown option '%s'\n", argv[optind - 1]);
			return 2;
		}
	}
	return -1;
}

/* Runs with fan-out groups: a table per group that every run has, by its batches. */
static int compare_groups(const char *out, json_t **roots, char **paths, size_t n, double tie, struct rl_jw *w)
{
	struct rl_metrics *m = calloc(n, sizeof(*m));
	if (!m)
		return -1;
	json_t *first = json_object_get(roots[0], "groups"), *g;
	size_t k;
	bool json = !strcmp(out, "json"), opened = false;
	json_array_foreach(first, k, g) {
		const char *name = json_string_value(json_object_get(g, "name"));
		bool everywhere = name != NULL;
		for (size_t i = 0; everywhere && i < n; i++) {
			json_t *gi, *found = NULL;
			size_t j;
			json_array_foreach(json_object_get(roots[i], "groups"), j, gi)
				if (!found && !strcmp(json_string_value(json_object_get(gi, "name")) ?: "", name))
					found = gi;
			everywhere = found != NULL;
			if (found) {
				memset(&m[i], 0, sizeof(m[i]));
				rl_metrics_from_group_json(found, &m[i]);
			}
		}
		if (!everywhere)
			continue;
		if (!strcmp(out, "console")) {
			printf("\nFan-out group %s (a row is a batch: its time is the slowest member's)", name);
			rl_report_comparison(stdout, (const char *const *)paths, m, n, tie);
		} else if (json) {
			if (!opened)
				rl_jw_obj(w, "groups");
			opened = true;
			rl_jw_obj(w, name);
			rl_report_comparison_jw(w, (const char *const *)paths, m, n, tie);
			rl_jw_end_obj(w);
		}
	}
	if (opened)
		rl_jw_end_obj(w);
	free(m);
	return 0;
}

int rl_compare_main(int argc, char **argv)
{
	const char *out = "console";
	double tie = RL_CMP_TIE_PCT;
	int rc = compare_options(argc, argv, &out, &tie);
	if (rc >= 0)
		return rc;
	if (strcmp(out, "console") && strcmp(out, "json") && strcmp(out, "csv")) {
		fprintf(stderr, "ringload compare: -o: unknown output '%s' (console, json or csv)\n", out);
		return 2;
	}
	size_t n = (size_t)(argc - optind);
	if (n < 1 || n > RL_CMP_MAX_RUNS) {
		fprintf(stderr, "ringload compare: give 2 to %d result files (ringload -o json or --json), or one with several targets\n",
			RL_CMP_MAX_RUNS);
		return 2;
	}
	struct rl_metrics *m = NULL;
	char **names = NULL;
	json_t **roots = NULL; /* several files: each loaded once, for the totals and the groups */
	char err[512];
	rc = 0;
	bool one_file = n == 1;
	if (n == 1) {
		if (load_targets(argv[optind], &m, &names, &n, err, sizeof(err))) {
			fprintf(stderr, "ringload %s\n", err);
			rc = 2;
		}
	} else {
		m = calloc(n, sizeof(*m));
		names = calloc(n, sizeof(*names));
		roots = calloc(n, sizeof(*roots));
		for (size_t i = 0; m && names && roots && i < n; i++) {
			names[i] = strdup(argv[optind + i]);
			if (!(roots[i] = rl_result_load("compare", names[i], err, sizeof(err)))) {
				fprintf(stderr, "ringload %s\n", err);
				rc = 2;
				break;
			}
			run_metrics(roots[i], names[i], &m[i]);
		}
		if (!m || !names || !roots) {
			fprintf(stderr, "ringload compare: out of memory\n");
			rc = 1;
		}
	}
	if (!rc) {
		const char *const *cn = (const char *const *)names;
		struct rl_jw w;
		if (!strcmp(out, "console")) {
			rl_report_comparison(stdout, cn, m, n, tie);
		} else if (!strcmp(out, "csv")) {
			rl_report_comparison_csv(stdout, cn, m, n, tie);
		} else {
			rl_jw_init(&w, stdout);
			rl_jw_obj(&w, NULL);
			rl_report_comparison_jw(&w, cn, m, n, tie);
		}
		/* saved runs with fan-out groups: a table per group they all have (the CSV
		 * keeps to the headline) */
		if (!one_file && strcmp(out, "csv") && compare_groups(out, roots, names, n, tie, &w)) {
			fprintf(stderr, "ringload compare: out of memory\n");
			rc = 1;
		}
		if (!strcmp(out, "json")) {
			rl_jw_end_obj(&w);
			putchar('\n');
		}
	}
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	for (size_t i = 0; roots && i < n; i++)
		json_decref(roots[i]);
	free(roots);
	free(m);
	free(names);
	return rc;
}
