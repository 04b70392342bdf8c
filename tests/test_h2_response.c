/* HTTP/2 response rules (h2_response.c), which stand in for nghttp2's HTTP messaging
 * checks: every rule of RFC 9113 8.1-8.3 a response can break is named, and the field
 * character checks agree with a byte-at-a-time reading of 8.2.1 at every length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ringload/h2_response.h"

/* A response as a script of events: "B" a HEADERS block begins, "F name=value" a field,
 * "E" the block ends, "ES" it ends with END_STREAM, "D n" n DATA bytes, "DS n" the same
 * ending the stream. Returns the first broken rule, or NULL. */
static const char *play(struct rl_h2_response *r, bool head_request, const char *const *script)
{
	rl_h2_response_init(r, head_request);
	for (const char *const *e = script; *e; e++) {
		const char *s = *e, *broken = NULL;
		if (!strcmp(s, "B")) {
			broken = rl_h2_response_begin_block(r);
		} else if (!strcmp(s, "E") || !strcmp(s, "ES")) {
			broken = rl_h2_response_end_block(r, s[1] == 'S');
		} else if (s[0] == 'D') {
			bool end = s[1] == 'S';
			broken = rl_h2_response_data(r, strtoul(s + (end ? 3 : 2), NULL, 10), end);
		} else if (s[0] == 'F') {
			const char *eq = strchr(s + 3, '=');
			broken = rl_h2_response_field(r, (const uint8_t *)s + 2, (size_t)(eq - s - 2),
						      (const uint8_t *)eq + 1, strlen(eq + 1), false);
		} else {
			fail_msg("bad script line %s", s);
		}
		if (broken)
			return broken;
	}
	return NULL;
}

#define PLAY(head, ...) play(&r, head, (const char *const[]){ __VA_ARGS__, NULL })

static void broken_as(const char *got, const char *words)
{
	if (!got || !strstr(got, words))
		fail_msg("expected a rule naming '%s', got '%s'", words, got ? got : "(none)");
}

static void well_formed_responses_pass(void **state)
{
	struct rl_h2_response r;
	assert_null(PLAY(false, "B", "F :status=200", "F content-length=2", "F server=x", "E", "D 2", "DS 0"));
	assert_int_equal(r.status, 200);
	assert_int_equal(r.content_length, 2);
	/* DATA in pieces, the last frame ending the stream */
	assert_null(PLAY(false, "B", "F :status=200", "F content-length=5", "E", "D 1", "D 3", "DS 1"));
	/* no content-length: any length */
	assert_null(PLAY(false, "B", "F :status=404", "E", "D 100", "DS 7"));
	assert_int_equal(r.status, 404);
	/* a head alone, ending the stream */
	assert_null(PLAY(false, "B", "F :status=204", "ES"));
	/* interim responses, then the final one */
	assert_null(PLAY(false, "B", "F :status=100", "E", "B", "F :status=103", "F link=</a>", "E",
			 "B", "F :status=200", "E", "DS 3"));
	assert_int_equal(r.status, 200);
	/* gRPC's shape: head, DATA, trailers with END_STREAM */
	assert_null(PLAY(false, "B", "F :status=200", "F content-type=application/grpc", "E", "D 12", "B",
			 "F grpc-status=0", "F grpc-message=", "ES"));
	/* HEAD: content-length without a body */
	assert_null(PLAY(true, "B", "F :status=200", "F content-length=5", "ES"));
	assert_null(PLAY(false, "B", "F :status=304", "F content-length=5", "ES"));
	/* te: trailers is the one te allowed; the same content-length twice is one */
	assert_null(PLAY(false, "B", "F :status=200", "F te=trailers", "F content-length=1",
			 "F content-length=1", "E", "DS 1"));
	/* values may hold SP and HTAB inside, and any byte but NUL, CR and LF */
	assert_null(PLAY(false, "B", "F :status=200", "F x-a=a b\tc\x0b\x7f\xff", "ES"));
	assert_null(PLAY(false, "B", "F :status=200", "F x-empty=", "ES"));
}

static void status_rules(void **state)
{
	struct rl_h2_response r;
	broken_as(PLAY(false, "B", "F :status=2x0", "ES"), ":status");
	broken_as(PLAY(false, "B", "F :status=20", "ES"), ":status");
	broken_as(PLAY(false, "B", "F :status=2000", "ES"), ":status");
	broken_as(PLAY(false, "B", "F :status=099", "ES"), ":status");
	broken_as(PLAY(false, "B", "F :status=600", "ES"), ":status");
	broken_as(PLAY(false, "B", "F :status=101", "ES"), "101");
	broken_as(PLAY(false, "B", "F content-type=text/plain", "ES"), ":status");
	broken_as(PLAY(false, "B", "ES"), ":status");
	broken_as(PLAY(false, "B", "F :status=200", "F :status=200", "ES"), "second :status");
	broken_as(PLAY(false, "B", "F :status=200", "F a=b", "F :status=200", "ES"), "after a regular");
	broken_as(PLAY(false, "B", "F :status=200", "F :path=/", "ES"), "may not carry");
	broken_as(PLAY(false, "B", "F :status=200", "E", "D 1", "B", "F :status=200", "ES"), "trailers");
	broken_as(PLAY(false, "B", "F :status=100", "ES"), "1xx");
	broken_as(PLAY(false, "B", "F :status=100", "F content-length=0", "E"), "1xx");
}

static void field_rules(void **state)
{
	struct rl_h2_response r;
	broken_as(PLAY(false, "B", "F :status=200", "F Server=x", "ES"), "field name");
	broken_as(PLAY(false, "B", "F :status=200", "F a b=x", "ES"), "field name");
	broken_as(PLAY(false, "B", "F :status=200", "F a:b=x", "ES"), "field name");
	broken_as(PLAY(false, "B", "F :status=200", "F a\x7f=x", "ES"), "field name");
	broken_as(PLAY(false, "B", "F :status=200", "F \xc3\xa9=x", "ES"), "field name");
	broken_as(PLAY(false, "B", "F :status=200", "F :St=x", "ES"), "field name");
	broken_as(PLAY(false, "B", "F :status=200", "F x= a", "ES"), "field value");
	broken_as(PLAY(false, "B", "F :status=200", "F x=a\t", "ES"), "field value");
	broken_as(PLAY(false, "B", "F :status=200", "F x=a\rb", "ES"), "field value");
	broken_as(PLAY(false, "B", "F :status=200", "F x=0123456789abcdef\n", "ES"), "field value");
	static const char *const specific[] = { "connection=close", "keep-alive=5", "proxy-connection=x",
						"transfer-encoding=chunked", "upgrade=h2c", "te=gzip" };
	for (size_t i = 0; i < sizeof(specific) / sizeof(specific[0]); i++) {
		char line[64] = "F ";
		strcat(line, specific[i]);
		broken_as(PLAY(false, "B", "F :status=200", line, "ES"), "connection-specific");
	}
}

static void body_rules(void **state)
{
	struct rl_h2_response r;
	broken_as(PLAY(false, "B", "F :status=200", "F content-length=2", "E", "D 4"), "beyond content-length");
	broken_as(PLAY(false, "B", "F :status=200", "F content-length=2", "E", "D 1", "D 2"), "beyond content-length");
	broken_as(PLAY(false, "B", "F :status=200", "F content-length=3", "E", "D 2", "DS 0"), "short of content-length");
	broken_as(PLAY(false, "B", "F :status=200", "F content-length=3", "ES"), "short of content-length");
	broken_as(PLAY(false, "B", "F :status=200", "F content-length=1a", "ES"), "invalid content-length");
	broken_as(PLAY(false, "B", "F :status=200", "F content-length=", "ES"), "invalid content-length");
	broken_as(PLAY(false, "B", "F :status=200", "F content-length=1", "F content-length=2", "E"), "two different");
	broken_as(PLAY(false, "D 1"), "before the response HEADERS");
	broken_as(PLAY(false, "DS 0"), ":status");
	broken_as(PLAY(false, "B", "F :status=204", "E", "D 1"), "no body");
	broken_as(PLAY(true, "B", "F :status=200", "E", "D 1"), "no body");
	broken_as(PLAY(false, "B", "F :status=200", "E", "D 1", "B", "F grpc-status=0", "E"), "without END_STREAM");
}

/* 8.2.1 read a byte at a time, the reference the word-at-a-time checks must agree with */
static bool name_ok_ref(const uint8_t *s, size_t n)
{
	if (!n || (n == 1 && s[0] == ':'))
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = s[i];
		if (b <= 0x20 || b >= 0x7f || (b >= 'A' && b <= 'Z') || (b == ':' && i > 0))
			return false;
	}
	return true;
}

static bool value_ok_ref(const uint8_t *s, size_t n)
{
	if (n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == 0 || s[i] == '\n' || s[i] == '\r')
			return false;
	return true;
}

static void char_checks_agree_with_the_byte_reading(void **state)
{
	/* every length to 40, each forbidden or edge byte at every position of a clean value */
	static const uint8_t probes[] = { 0, '\n', '\r', ' ', '\t', 0x0b, 0x0d, 0x0e, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0xff,
					  '@', 'A', 'Z', '[', '`', ':', 'a', 'z' };
	uint8_t buf[48];
	for (size_t len = 0; len <= 40; len++) {
		for (size_t at = 0; at < len; at++) {
			for (size_t p = 0; p < sizeof(probes); p++) {
				memset(buf, 'v', len);
				buf[at] = probes[p];
				if (rl_h2_field_value_ok(buf, len) != value_ok_ref(buf, len))
					fail_msg("value: byte 0x%02x at %zu of %zu", probes[p], at, len);
				if (rl_h2_field_name_ok(buf, len) != name_ok_ref(buf, len))
					fail_msg("name: byte 0x%02x at %zu of %zu", probes[p], at, len);
			}
		}
		memset(buf, 'v', len);
		assert_true(rl_h2_field_value_ok(buf, len));
	}
	/* and random bytes from an alphabet rich in the bytes that matter */
	static const uint8_t alphabet[] = { 0, 1, '\t', '\n', 0x0c, '\r', 0x0e, ' ', '!', ':', '@', 'A', 'Z', '[', 'a', 'z',
					    '~', 0x7f, 0x80, 0xc1 };
	srand(7);
	for (int round = 0; round < 200000; round++) {
		size_t len = (size_t)rand() % 33;
		for (size_t i = 0; i < len; i++)
			buf[i] = alphabet[rand() % (int)sizeof(alphabet)];
		assert_int_equal(rl_h2_field_value_ok(buf, len), value_ok_ref(buf, len));
		assert_int_equal(rl_h2_field_name_ok(buf, len), name_ok_ref(buf, len));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(well_formed_responses_pass),
		cmocka_unit_test(status_rules),
		cmocka_unit_test(field_rules),
		cmocka_unit_test(body_rules),
		cmocka_unit_test(char_checks_agree_with_the_byte_reading),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
