/* Response checks: status lists, and the body search fed at every split of the payload,
 * against memmem on the whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ringload/expect.h"

static void expect_status_lists_and_classes(void **s)
{
	struct rl_expect e = { 0 };
	char err[128], why[128];
	assert_int_equal(rl_expect_status_parse(&e, "200,204,3xx", err, sizeof(err)), 0);
	assert_null(rl_expect_verdict(&e, 200, 0, why, sizeof(why)));
	assert_null(rl_expect_verdict(&e, 204, 0, why, sizeof(why)));
	assert_null(rl_expect_verdict(&e, 302, 0, why, sizeof(why)));
	assert_string_equal(rl_expect_verdict(&e, 201, 0, why, sizeof(why)), "status 201 is not one --expect-status allows");
	assert_int_equal(rl_expect_status_parse(&e, "200,,201", err, sizeof(err)), -1);
	assert_int_equal(rl_expect_status_parse(&e, "6xx", err, sizeof(err)), -1);
	assert_string_equal(err, "--expect-status: '6xx' is not a status (200) or a class (2xx)");
	assert_int_equal(rl_expect_status_parse(&e, "99", err, sizeof(err)), -1);
	assert_int_equal(rl_expect_status_parse(&e, "", err, sizeof(err)), -1);
}

/* every needle in every haystack, the haystack cut at every pair of places */
static void expect_body_search_at_every_split(void **s)
{
	static const char *const needles[] = { "a", "aab", "abab", "abcabd", "aaaa", "ringload\nring" };
	static const char *const hays[] = { "", "aaab", "abababab", "xxabcabcabdxx", "aaa", "aaaaa",
					    "--ringload\nringload\nring--", "ababa", "abcab" };
	for (size_t ni = 0; ni < sizeof(needles) / sizeof(needles[0]); ni++) {
		struct rl_expect e = { 0 };
		char err[128];
		assert_int_equal(rl_expect_body_parse(&e, needles[ni], err, sizeof(err)), 0);
		for (size_t hi = 0; hi < sizeof(hays) / sizeof(hays[0]); hi++) {
			const uint8_t *h = (const uint8_t *)hays[hi];
			size_t n = strlen(hays[hi]);
			bool want = memmem(h, n, needles[ni], strlen(needles[ni])) != NULL;
			for (size_t a = 0; a <= n; a++)
				for (size_t b = a; b <= n; b++) {
					uint8_t st = rl_expect_feed(&e, 0, h, a);
					st = rl_expect_feed(&e, st, h + a, b - a);
					st = rl_expect_feed(&e, st, h + b, n - b);
					if ((st == e.body_len) != want)
						fail_msg("needle '%s' in '%s' cut at %zu, %zu: got %d", needles[ni], hays[hi], a, b, st);
				}
		}
	}
}

static void expect_body_absent_and_limits(void **s)
{
	struct rl_expect e = { 0 };
	char err[128], why[128];
	assert_int_equal(rl_expect_body_parse(&e, "!\"errors\"", err, sizeof(err)), 0);
	assert_true(e.body_absent);
	uint8_t st = rl_expect_feed(&e, 0, (const uint8_t *)"{\"data\": 1}", 11);
	assert_null(rl_expect_verdict(&e, 200, st, why, sizeof(why)));
	st = rl_expect_feed(&e, 0, (const uint8_t *)"{\"errors\": []}", 14);
	assert_string_equal(rl_expect_verdict(&e, 200, st, why, sizeof(why)), "the body holds \"\"errors\"\"");
	assert_int_equal(rl_expect_body_parse(&e, "!", err, sizeof(err)), -1);
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(rl_expect_body_parse(&e, big, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(expect_status_lists_and_classes),
		cmocka_unit_test(expect_body_search_at_every_split),
		cmocka_unit_test(expect_body_absent_and_limits),
	};
	return cmocka_run_group_tests_name("expect", tests, NULL, NULL);
}
