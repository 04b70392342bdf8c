/* `ringload report IN.json -o OUT.html`: the HTML report of a saved run, the same page
 * `--html` writes after a run. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ringload/result_json.h"
#include "verb.h"

static int write_html(FILE *f, void *root)
{
	return rl_report_html_from_json(f, root);
}

int rl_report_main(int argc, char **argv)
{
	const char *out = NULL;
	int rc = rl_verb_options(argc, argv, "report",
				 "usage: ringload report IN.json -o OUT.html\n"
				 "A self-contained HTML report (inline SVG charts, no network fetches) of a\n"
				 "result saved with --json or -o json.",
				 &out);
	if (rc >= 0)
		return rc;
	if (!out || argc - optind != 1) {
		fprintf(stderr, "ringload report: usage: ringload report IN.json -o OUT.html\n");
		return 2;
	}
	char err[512];
	if (rl_report_check_path(out, err, sizeof(err))) {
		fprintf(stderr, "ringload report: %s\n", err);
		return 2;
	}
	json_t *root = rl_result_load("report", argv[optind], err, sizeof(err));
	if (!root) {
		fprintf(stderr, "ringload %s\n", err);
		return 2;
	}
	rc = 0;
	if (rl_write_atomic(out, write_html, root, err, sizeof(err))) {
		fprintf(stderr, "ringload report: %s\n", err);
		rc = 1;
	}
	json_decref(root);
	return rc;
}
