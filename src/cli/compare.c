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
		size_t nrows = rl_compare_rows(m, n, tie, rows);
		if (!strcmp(out, "console")) {
			rl_report_comparison(stdout, names, m, n, tie);
		} else if (!strcmp(out, "csv")) {
			printf("metric");
			for (size_t i = 0; i < n; i++)
				printf(",\"%s\"", names[i]);
			printf(",winner,difference_pct,factor\n");
			for (size_t r = 0; r < nrows; r++) {
				printf("%s", rows[r].label);
				for (size_t i = 0; i < n; i++)
					printf(",%.6g", rows[r].values[i]);
				printf(",\"%s\",%.3f,%.3f\n", rows[r].winner < 0 ? "tie" : names[rows[r].winner], rows[r].diff_pct,
				       rows[r].factor);
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
				json_object_set_new(row, "factor", json_real(rows[r].factor));
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
