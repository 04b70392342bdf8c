/* Templates: compilation (errors name the byte), rendering, bounds and uniqueness. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#include "ringload/template.h"

static void tpl_literal_only_is_static(void **s)
{
	struct rl_tpl t;
	char err[128], out[64];
	struct rl_tpl_state st;
	rl_tpl_state_init(&st, 1, 0, 1);
	assert_int_equal(rl_tpl_compile("/api/users/7", 12, &t, err, sizeof(err)), 0);
	assert_false(t.dynamic);
	assert_int_equal(t.max_len, 12);
	size_t n = rl_tpl_render(&t, &st, out);
	out[n] = 0;
	assert_string_equal(out, "/api/users/7");
	rl_tpl_free(&t);
}

static void tpl_randint_stays_in_bounds_and_covers_them(void **s)
{
	static const char src[] = "/api/users/{{randint 1 10}}?x={{ randint -5 -3 }}";
	struct rl_tpl t;
	char err[128], out[128];
	struct rl_tpl_state st;
	rl_tpl_state_init(&st, 42, 0, 1);
	assert_int_equal(rl_tpl_compile(src, sizeof(src) - 1, &t, err, sizeof(err)), 0);
	assert_true(t.dynamic);
	int seen[11] = { 0 }, seen_neg[3] = { 0 };
	for (int i = 0; i < 2000; i++) {
		size_t n = rl_tpl_render(&t, &st, out);
		assert_true(n <= t.max_len);
		out[n] = 0;
		int a, b;
		assert_int_equal(sscanf(out, "/api/users/%d?x=%d", &a, &b), 2);
		assert_true(a >= 1 && a <= 10);
		assert_true(b >= -5 && b <= -3);
		seen[a]++;
		seen_neg[b + 5]++;
	}
	for (int v = 1; v <= 10; v++)
		assert_true(seen[v] > 0);
	for (int v = 0; v < 3; v++)
		assert_true(seen_neg[v] > 0);
	rl_tpl_free(&t);
}

static void tpl_seq_is_strided_per_worker(void **s)
{
	static const char src[] = "id={{seq}}";
	struct rl_tpl t;
	char err[128], out[64];
	assert_int_equal(rl_tpl_compile(src, sizeof(src) - 1, &t, err, sizeof(err)), 0);
	struct rl_tpl_state w0, w1;
	rl_tpl_state_init(&w0, 1, 0, 2);
	rl_tpl_state_init(&w1, 2, 1, 2);
	const char *want[] = { "id=0", "id=1", "id=2", "id=3", "id=4", "id=5" };
	for (int i = 0; i < 6; i++) {
		size_t n = rl_tpl_render(&t, i % 2 ? &w1 : &w0, out);
		out[n] = 0;
		assert_string_equal(out, want[i]);
	}
	rl_tpl_free(&t);
}

static void tpl_uuid_is_version_4(void **s)
{
	static const char src[] = "{{uuid}}";
	struct rl_tpl t;
	char err[128], a[64], b[64];
	struct rl_tpl_state st;
	rl_tpl_state_init(&st, 7, 0, 1);
	assert_int_equal(rl_tpl_compile(src, sizeof(src) - 1, &t, err, sizeof(err)), 0);
	size_t n = rl_tpl_render(&t, &st, a);
	a[n] = 0;
	n = rl_tpl_render(&t, &st, b);
	b[n] = 0;
	assert_int_equal(strlen(a), 36);
	assert_true(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
	assert_int_equal(a[14], '4');
	assert_true(strchr("89ab", a[19]) != NULL);
	assert_string_not_equal(a, b);
	rl_tpl_free(&t);
}

static void tpl_randstr_has_its_length(void **s)
{
	static const char src[] = "{\"name\":\"{{randstr 12}}\"}";
	struct rl_tpl t;
	char err[128], out[64];
	struct rl_tpl_state st;
	rl_tpl_state_init(&st, 9, 0, 1);
	assert_int_equal(rl_tpl_compile(src, sizeof(src) - 1, &t, err, sizeof(err)), 0);
	size_t n = rl_tpl_render(&t, &st, out);
	assert_int_equal(n, sizeof(src) - 1 - strlen("{{randstr 12}}") + 12);
	assert_int_equal(n, t.max_len);
	rl_tpl_free(&t);
}

static void tpl_errors_name_the_position(void **s)
{
	struct {
		const char *src, *needle;
	} bad[] = {
		{ "/a/{{randint 5 1}}", "byte 3" },
		{ "/a/{{randint 5}}", "randint" },
		{ "/a/{{nope}}", "byte 3" },
		{ "/abc/{{seq", "byte 5" },
		{ "x}}", "byte 1" },
		{ "{{}}", "byte 0" },
		{ "{{randstr 0}}", "randstr" },
		{ "{{seq 3}}", "seq" },
		{ "{{uuid x}}", "uuid" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rl_tpl t;
		char err[200] = "";
		if (rl_tpl_compile(bad[i].src, strlen(bad[i].src), &t, err, sizeof(err)) != -1 ||
		    !strstr(err, bad[i].needle))
			fail_msg("'%s': '%s' lacks '%s'", bad[i].src, err, bad[i].needle);
	}
}

/* found by fuzz_template: hi - lo overflowed int64_t (undefined behaviour) */
static void tpl_randint_full_int64_range(void **state)
{
	const char *src = "{{randint -9223372036854775808 9223372036854775807}}|{{randint -9223372036854775808 5}}";
	struct rl_tpl t;
	char err[200];
	assert_int_equal(rl_tpl_compile(src, strlen(src), &t, err, sizeof(err)), 0);
	struct rl_tpl_state st;
	rl_tpl_state_init(&st, 1, 0, 1);
	char out[128];
	for (int i = 0; i < 1000; i++) {
		size_t n = rl_tpl_render(&t, &st, out);
		assert_true(n <= t.max_len);
		out[n] = 0;
		char *bar = strchr(out, '|');
		assert_non_null(bar);
		errno = 0;
		long long second = strtoll(bar + 1, NULL, 10);
		assert_int_equal(errno, 0);
		assert_true(second <= 5);
	}
	rl_tpl_free(&t);
}

/* {{line FILE}} picks a random non-empty line, {{line-seq FILE}} takes them in turn
 * (strided per worker as {{seq}}); line ends (LF, CR LF) and blank lines are dropped. */
static void tpl_line_from_a_file(void **s)
{
	char path[] = "/tmp/rl-tpl-lines-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a\r\nbb\n\nccc", 10), 10);
	close(fd);
	char src[128], err[256] = "", out[64];
	snprintf(src, sizeof(src), "q={{line-seq %s}}&r={{line %s}}", path, path);
	struct rl_tpl t;
	assert_int_equal(rl_tpl_compile(src, strlen(src), &t, err, sizeof(err)), 0);
	assert_true(t.dynamic);
	assert_int_equal(t.max_len, 2 + 3 + 3 + 3); /* "q=", the longest line, "&r=", the longest line */
	struct rl_tpl_state st;
	rl_tpl_state_init(&st, 7, 0, 1);
	static const char *const want[] = { "a", "bb", "ccc", "a" };
	int seen[3] = { 0 };
	for (int i = 0; i < 400; i++) {
		size_t n = rl_tpl_render(&t, &st, out);
		out[n] = 0;
		char seq[8], rnd[8];
		assert_int_equal(sscanf(out, "q=%7[^&]&r=%7s", seq, rnd), 2);
		if (i < 4)
			assert_string_equal(seq, want[i]);
		assert_true(!strcmp(rnd, "a") || !strcmp(rnd, "bb") || !strcmp(rnd, "ccc"));
		seen[strlen(rnd) - 1]++;
	}
	assert_true(seen[0] > 50 && seen[1] > 50 && seen[2] > 50);
	rl_tpl_free(&t);
	/* worker 1 of 2 starts at the second line and steps by two */
	rl_tpl_state_init(&st, 7, 1, 2);
	assert_int_equal(rl_tpl_compile(src, strlen(src), &t, err, sizeof(err)), 0);
	size_t n = rl_tpl_render(&t, &st, out);
	assert_memory_equal(out, "q=bb&", 5);
	n = rl_tpl_render(&t, &st, out);
	assert_memory_equal(out, "q=a&", 4);
	(void)n;
	rl_tpl_free(&t);
	/* no lines, no file: a one-line error naming the file */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "\n\r\n", 3), 3);
	close(fd);
	assert_int_equal(rl_tpl_compile(src, strlen(src), &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the file has no lines"));
	unlink(path);
	assert_int_equal(rl_tpl_compile(src, strlen(src), &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(rl_tpl_compile("{{line}}", 8, &t, err, sizeof(err)), -1);
	assert_string_equal(err, "template at byte 0: expected {{line FILE}}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tpl_literal_only_is_static),
		cmocka_unit_test(tpl_randint_stays_in_bounds_and_covers_them),
		cmocka_unit_test(tpl_seq_is_strided_per_worker),
		cmocka_unit_test(tpl_uuid_is_version_4),
		cmocka_unit_test(tpl_randstr_has_its_length),
		cmocka_unit_test(tpl_errors_name_the_position),
		cmocka_unit_test(tpl_randint_full_int64_range),
		cmocka_unit_test(tpl_line_from_a_file),
	};
	return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
