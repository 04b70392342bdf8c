/* The option parsing `compare`, `merge` and `report` share. */
#include <getopt.h>
#include <stdio.h>

#include "verb.h"

int rl_verb_options(int argc, char **argv, const char *verb, const char *help, const char **out)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'o') {
			*out = optarg;
		} else if (c == 'h') {
			puts(help);
			return 0;
		} else {
			fprintf(stderr, "ringload %s: unknown option '%s'\n", verb, argv[optind - 1]);
			return 2;
		}
	}
	return -1;
}
