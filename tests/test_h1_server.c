/* serve's HTTP/1.1 request parser (src/proto/h1_server.c): complete, need more or bad,
 * fed whole and cut at every byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ringload/h1_server.h"

/* Every prefix shorter than the head needs more; the whole head parses to its length. */
static void parse_at_every_split(const char *req, long want, struct rl_h1_request_view *v)
{
	size_t len = strlen(req);
	for (size_t cut = 0; cut < (size_t)want; cut++)
		assert_int_equal(rl_h1_parse_request(req, cut, v), 0);
	assert_int_equal(rl_h1_parse_request(req, len, v), want);
}

static void h1_server_parses_get_at_every_split(void **s)
{
	const char *req = "GET /api/users/7?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n";
	struct rl_h1_request_view v;
	parse_at_every_split(req, (long)strlen(req), &v);
	assert_int_equal(v.method_len, 3);
	assert_memory_equal(v.method, "GET", 3);
	assert_int_equal(v.target_len, strlen("/api/users/7?x=1"));
	assert_memory_equal(v.target, "/api/users/7?x=1", v.target_len);
	assert_int_equal(v.version_minor, 1);
	assert_false(v.conn_close);
}

static void h1_server_reads_body_framing_and_connection(void **s)
{
	const char *req = "POST / HTTP/1.1\r\nContent-Length: 12\r\nConnection: close\r\n\r\nhello world!";
	struct rl_h1_request_view v;
	long head = (long)(strstr(req, "\r\n\r\n") - req) + 4;
	parse_at_every_split(req, head, &v);
	assert_int_equal(v.content_length, 12);
	assert_true(v.conn_close);
	const char *chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n";
	assert_int_equal(rl_h1_parse_request(chunked, strlen(chunked), &v), (long)strlen(chunked));
	assert_true(v.chunked);
	assert_true(v.expect_continue);
	const char *http10 = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
	assert_int_equal(rl_h1_parse_request(http10, strlen(http10), &v), (long)strlen(http10));
	assert_int_equal(v.version_minor, 0);
	assert_true(v.conn_keepalive);
}

static void h1_server_rejects_malformed_requests(void **s)
{
	const char *bad[] = {
		"GET / HTTP/2.0\r\n\r\n",
		"GET /\r\n\r\n",
		"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
		" / HTTP/1.1\r\n\r\n",
	};
	struct rl_h1_request_view v;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rl_h1_parse_request(bad[i], strlen(bad[i]), &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(h1_server_parses_get_at_every_split),
		cmocka_unit_test(h1_server_reads_body_framing_and_connection),
		cmocka_unit_test(h1_server_rejects_malformed_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
