/* `ringload compare A.json B.json [...]`: the seed's comparison table of saved runs
 * (each run's total), as console, JSON or CSV. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/report.h"
#include "ringload/result_json.h"
#include "verb.h"

/* The metrics the table compares, read back from a result's total. */
static int load_run(const char *path, struct rl_metrics *m, char *err, size_t errlen)
{
	json_t *root = rl_result_load("compare", path, err, errlen);
	if (!root)
		return -1;
	rl_metrics_from_json(json_object_get(root, "total"), m);
	json_decref(root);
	return 0;
}

int rl_compare_main(int argc, char **argv)
{
	const char *out = "console";
	int rc = rl_verb_options(argc, argv, "compare",
				 "usage: ringload compare [-o console|json|csv] A.json B.json [...]\n"
				 "Compares saved runs (their totals): per metric each run, the winner, and by\n"
				 "how much it beats the runner-up.",
				 &out);
	if (rc >= 0)
		return rc;
	if (strcmp(out, "console") && strcmp(out, "json") && strcmp(out, "csv")) {
		fprintf(stderr, "ringload compare: -o: unknown output '%s' (console, json or csv)\n", out);
		return 2;
	}
	size_t n = (size_t)(argc - optind);
	if (n < 2 || n > RL_CMP_MAX_RUNS) {
		fprintf(stderr, "ringload compare: give 2 to %d result files (ringload -o json or --json)\n",
			RL_CMP_MAX_RUNS);
		return 2;
	}
	struct rl_metrics *m = calloc(n, sizeof(*m));
	const char **names = calloc(n, sizeof(*names));
	char err[512];
	rc = 0;
	for (size_t i = 0; m && names && i < n; i++) {
		names[i] = argv[optind + i];
		if (load_run(names[i], &m[i], err, sizeof(err))) {
			fprintf(stderr, "ringload %s\n", err);
			rc = 2;
			break;
		}
	}
	if (!m || !names) {
		fprintf(stderr, "ringload compare: out of memory\n");
		rc = 1;
	}
	if (!rc) {
		struct rl_cmp_row rows[RL_CMP_MAX_ROWS];
		size_t nrows = rl_compare_rows(m, n, rows);
		if (!strcmp(out, "console")) {
			rl_report_comparison(stdout, names, m, n);
		} else if (!strcmp(out, "csv")) {
			printf("metric");
			for (size_t i = 0; i < n; i++)
				printf(",\"%s\"", names[i]);
			printf(",winner,difference_pct\n");
			for (size_t r = 0; r < nrows; r++) {
				printf("%s", rows[r].label);
				for (size_t i = 0; i < n; i++)
					printf(",%.6g", rows[r].values[i]);
				printf(",\"%s\",%.3f\n", rows[r].winner < 0 ? "tie" : names[rows[r].winner], rows[r].diff_pct);
			}
		} else {
			json_t *doc = json_object(), *runs = json_array(), *metrics = json_array();
			for (size_t i = 0; i < n; i++)
				json_array_append_new(runs, json_string(names[i]));
			for (size_t r = 0; r < nrows; r++) {
				json_t *row = json_object(), *vals = json_array();
				for (size_t i = 0; i < n; i++)
					json_array_append_new(vals, json_real(rows[r].values[i]));
				json_object_set_new(row, "metric", json_string(rows[r].label));
				json_object_set_new(row, "values", vals);
				json_object_set_new(row, "winner", rows[r].winner < 0 ? json_null() : json_string(names[rows[r].winner]));
				json_object_set_new(row, "difference_pct", json_real(rows[r].diff_pct));
				json_array_append_new(metrics, row);
			}
			json_object_set_new(doc, "runs", runs);
			json_object_set_new(doc, "metrics", metrics);
			json_dumpf(doc, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(doc);
		}
	}
	free(m);
	free(names);
	return rc;
}
