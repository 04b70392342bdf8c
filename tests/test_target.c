/* URL parsing into host, port, authority and origin-form target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ringload/target.h"

static void check(const char *url, const char *host, unsigned port, const char *authority,
		  const char *target)
{
	struct rl_url u;
	char err[256];
	if (rl_url_parse(url, &u, err, sizeof(err)))
		fail_msg("%s: %s", url, err);
	assert_string_equal(u.host, host);
	assert_int_equal(u.port, port);
	assert_string_equal(u.authority, authority);
	assert_string_equal(u.target, target);
}

static void target_parses_urls(void **s)
{
	check("http://127.0.0.1:8080/api/users/1?x=2", "127.0.0.1", 8080, "127.0.0.1:8080", "/api/users/1?x=2");
	check("http://localhost", "localhost", 80, "localhost", "/");
	check("HTTP://localhost?q=1", "localhost", 80, "localhost", "/?q=1");
	check("http://[::1]:9000/p#frag", "::1", 9000, "[::1]:9000", "/p");
	check("http://[::1]/", "::1", 80, "[::1]", "/");
	check("https://example.com/x", "example.com", 443, "example.com", "/x");
	check("https://example.com:8443", "example.com", 8443, "example.com:8443", "/");
	check("http://unix:/run/app.sock:/api?q=1", "localhost", 80, "localhost", "/api?q=1");
}

static void target_rejects_bad_urls(void **s)
{
	const char *bad[] = { "ftp://h/", "127.0.0.1:8080", "http://", "http://:80/", "http://h:0/",
			      "http://h:99999/", "http://h:80x/", "http://[::1/", "http://h/a b",
			      "https://h:0/", "unix:relative.sock" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rl_url u;
		char err[256] = "";
		if (rl_url_parse(bad[i], &u, err, sizeof(err)) != -1 || !strstr(err, bad[i]))
			fail_msg("'%s' accepted or not named: %s", bad[i], err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(target_parses_urls),
		cmocka_unit_test(target_rejects_bad_urls),
	};
	return cmocka_run_group_tests_name("target", tests, NULL, NULL);
}
