/* The JSON → protobuf encoder, byte for byte against `protoc --encode` for a message
 * with every field kind (tests/proto/every_kind.*), and its errors naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ringload/pbjson.h"
#include "ringload/template.h"

static struct rl_pb_schema *schema;

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = 0;
	fclose(f);
	return buf;
}

static int setup(void **s)
{
	char err[256];
	if (rl_pb_schema_compile("tests/proto/every_kind.proto", &schema, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **s)
{
	rl_pb_schema_free(schema);
	return 0;
}

static void pbjson_matches_protoc_encode_for_every_field_kind(void **s)
{
	const char *tmp = "/tmp/ringload-pbjson-expected.bin";
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "protoc --proto_path=tests/proto --encode=ringtest.Everything "
		 "every_kind.proto < tests/proto/every_kind.txt > %s", tmp);
	assert_int_equal(system(cmd), 0);
	size_t want_len, json_len;
	char *want = slurp(tmp, &want_len), *json = slurp("tests/proto/every_kind.json", &json_len);
	unlink(tmp);
	assert_non_null(want);
	assert_non_null(json);
	uint8_t *got;
	size_t got_len;
	char err[256];
	if (rl_pb_encode_json(schema, "ringtest.Everything", json, &got, &got_len, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	free(got);
	free(want);
	free(json);
}

static void pbjson_empty_message(void **s)
{
	uint8_t *got;
	size_t len;
	char err[256];
	assert_int_equal(rl_pb_encode_json(schema, "ringtest.Everything", NULL, &got, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 0);
	free(got);
}

static void expect_error(const char *json, const char *needle)
{
	uint8_t *got = NULL;
	size_t len;
	char err[256] = "";
	int rc = rl_pb_encode_json(schema, "ringtest.Everything", json, &got, &len, err, sizeof(err));
	if (rc != -1 || !strstr(err, needle))
		fail_msg("%s: rc %d, message '%s' lacks '%s'", json, rc, err, needle);
}

static void pbjson_errors_name_the_field(void **s)
{
	expect_error("{\"nope\": 1}", "unknown field 'nope'");
	expect_error("{\"msg\": {\"zz\": 1}}", "unknown field 'msg.zz'");
	expect_error("{\"i32\": \"x\"}", "'i32' expects an int32");
	expect_error("{\"i32\": 3000000000}", "'i32' expects an int32");
	expect_error("{\"u64\": -1}", "'u64' expects a uint64");
	expect_error("{\"b\": 1}", "'b' expects true or false");
	expect_error("{\"s\": 5}", "'s' expects a string");
	expect_error("{\"by\": \"@@\"}", "'by' expects base64");
	expect_error("{\"color\": \"PURPLE\"}", "no value 'PURPLE' in enum ringtest.Color");
	expect_error("{\"names\": \"a\"}", "'names' is repeated");
	expect_error("{\"inners\": [{\"i\": \"q\"}]}", "'inners[0].i'");
	expect_error("{\"counts\": [1]}", "'counts' is a map");
	expect_error("{\"by_id\": {\"x\": {}}}", "by_id[x]");
	expect_error("{\"msg\": 3}", "'msg' expects a JSON object");
	expect_error("{", "invalid JSON");
}

static void pbjson_templates_render_per_request(void **s)
{
	/* templates render in document order; {{seq}} from 5 gives 5, 6, 7, 8 */
	struct rl_pb_request *r;
	char err[256];
	assert_int_equal(rl_pb_request_compile(schema, "ringtest.Everything",
		"{\"i64\": {{seq}}, \"s\": \"x{{seq}}\", \"msg\": {\"i\": {{seq}}}, \"names\": [\"{{seq}}\"]}",
		&r, err, sizeof(err)), 0);
	assert_true(rl_pb_request_dynamic(r));
	uint8_t *want;
	size_t want_len;
	assert_int_equal(rl_pb_encode_json(schema, "ringtest.Everything",
		"{\"i64\": 5, \"s\": \"x6\", \"msg\": {\"i\": 7}, \"names\": [\"8\"]}",
		&want, &want_len, err, sizeof(err)), 0);
	struct rl_tpl_state st;
	rl_tpl_state_init(&st, 1, 5, 1);
	char *scratch = malloc(rl_pb_request_scratch(r));
	uint8_t *out = malloc(rl_pb_request_bound(r));
	long n = rl_pb_request_encode(r, &st, scratch, out, rl_pb_request_bound(r));
	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, want_len);
	/* the next request renders the next values: a different message */
	n = rl_pb_request_encode(r, &st, scratch, out, rl_pb_request_bound(r));
	assert_true(n > 0 && (n != (long)want_len || memcmp(out, want, want_len) != 0));
	free(scratch);
	free(out);
	free(want);
	rl_pb_request_free(r);
}

static void pbjson_templates_checked_at_setup(void **s)
{
	struct rl_pb_request *r;
	char err[256] = "";
	assert_int_equal(rl_pb_request_compile(schema, "ringtest.Everything", "{\"i32\": \"{{uuid}}\"}",
					       &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'i32' expects an int32"));
	assert_int_equal(rl_pb_request_compile(schema, "ringtest.Everything", "{\"s\": \"{{randint 9 1}}\"}",
					       &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "randint"));
}

static void pbjson_finds_method_input(void **s)
{
	char err[256];
	const char *in = rl_pb_method_input(schema, "ringtest.Checker/Check", err, sizeof(err));
	assert_non_null(in);
	assert_string_equal(in, "ringtest.Everything");
	assert_null(rl_pb_method_input(schema, "ringtest.Checker/Nope", err, sizeof(err)));
	assert_non_null(strstr(err, "ringtest.Checker/Nope"));
}

static void pbjson_rejects_non_descriptor_sets(void **s)
{
	struct rl_pb_schema *bad;
	char err[256];
	const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff };
	assert_int_equal(rl_pb_schema_load(junk, sizeof(junk), &bad, err, sizeof(err)), -1);
	assert_int_equal(rl_pb_schema_compile("/nonexistent.proto", &bad, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nonexistent.proto"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pbjson_matches_protoc_encode_for_every_field_kind),
		cmocka_unit_test(pbjson_empty_message),
		cmocka_unit_test(pbjson_errors_name_the_field),
		cmocka_unit_test(pbjson_templates_render_per_request),
		cmocka_unit_test(pbjson_templates_checked_at_setup),
		cmocka_unit_test(pbjson_finds_method_input),
		cmocka_unit_test(pbjson_rejects_non_descriptor_sets),
	};
	return cmocka_run_group_tests_name("pbjson", tests, setup, teardown);
}
