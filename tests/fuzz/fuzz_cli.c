/* libFuzzer: the command line. Durations, counts, --fail-if lists and whole argument
 * vectors (NUL-separated in the input) through rl_options_parse: each either parses or
 * fails with a message, and never touches a file (inputs naming one are skipped: '@',
 * --proto*, --sc[enario] and --data-[file], as getopt takes any unambiguous prefix; and
 * h2load's -i / --input-file FILE of URLs). */
#include <stdlib.h>
#include <string.h>

#include "ringload/options.h"
#include "ringload/thresholds.h"
#include "ringload/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096 || memchr(data, '@', size) || memmem(data, size, "proto", 5) ||
	    memmem(data, size, "--sc", 4) || memmem(data, size, "--data-", 7))
		return 0;
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;

	uint64_t v;
	rl_parse_duration_ns(buf, &v);
	rl_parse_count(buf, UINT64_MAX, &v);
	struct rl_thresholds th;
	char err[512];
	rl_thresholds_parse(buf, &th, err, sizeof(err));

	char *argv[64];
	int argc = 0;
	argv[argc++] = "ringload";
	for (char *p = buf; p < buf + size && argc < 63; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-i") || !strncmp(argv[i], "--input-file", 12)) {
			free(buf);
			return 0;
		}
	}
	struct rl_options o;
	err[0] = 0;
	if (rl_options_parse(&o, argc, argv, err, sizeof(err)) < 0 && !err[0])
		abort(); /* a rejection always says why */
	rl_options_free(&o);
	free(buf);
	return 0;
}
