/* libFuzzer: the template compiler ({{randint a b}}, {{seq}}, {{uuid}}, ...). Whatever
 * compiles must render within its declared longest length, every time. */
#include <stdlib.h>
#include <string.h>

#include "ringload/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rl_tpl t;
	char err[256];
	if (rl_tpl_compile((const char *)data, size, &t, err, sizeof(err))) {
		if (!memchr(err, 0, sizeof(err)) || !err[0])
			abort(); /* a failure always says why */
		return 0;
	}
	struct rl_tpl_state st;
	rl_tpl_state_init(&st, size, 1, 2);
	char *out = malloc(t.max_len + 1);
	for (int i = 0; out && i < 3; i++) {
		out[t.max_len] = 0x5a;
		size_t n = rl_tpl_render(&t, &st, out);
		if (n > t.max_len || out[t.max_len] != 0x5a)
			abort();
		if (!t.dynamic && (n != size || memcmp(out, data, size)))
			abort(); /* no template: the text as it was */
	}
	free(out);
	rl_tpl_free(&t);
	return 0;
}
