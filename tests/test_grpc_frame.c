/* gRPC message framing: every stream of messages deframes the same at every split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ringload/grpc.h"

struct result {
	int rc;
	uint64_t messages, bytes;
	int idle;
};

static struct result feed(const uint8_t *buf, size_t len, size_t cut, uint32_t max, int comp_ok)
{
	struct rl_grpc_deframer d;
	rl_grpc_deframer_init(&d, max);
	d.compression_ok = (uint8_t)comp_ok;
	struct result r = { 0 };
	r.rc = rl_grpc_deframe(&d, buf, cut);
	if (!r.rc)
		r.rc = rl_grpc_deframe(&d, buf + cut, len - cut);
	r.messages = d.messages;
	r.bytes = d.message_bytes;
	r.idle = rl_grpc_deframer_idle(&d);
	return r;
}

static struct result all_splits(const uint8_t *buf, size_t len, uint32_t max, int comp_ok)
{
	struct result whole = feed(buf, len, len, max, comp_ok);
	for (size_t cut = 0; cut <= len; cut++) {
		struct result r = feed(buf, len, cut, max, comp_ok);
		if (r.rc != whole.rc || r.messages != whole.messages || r.idle != whole.idle ||
		    (!r.rc && r.bytes != whole.bytes))
			fail_msg("split at %zu differs", cut);
	}
	/* byte by byte */
	struct rl_grpc_deframer d;
	rl_grpc_deframer_init(&d, max);
	d.compression_ok = (uint8_t)comp_ok;
	int rc = 0;
	for (size_t i = 0; i < len && !rc; i++)
		rc = rl_grpc_deframe(&d, buf + i, 1);
	assert_int_equal(rc, whole.rc);
	if (!rc)
		assert_int_equal(d.messages, whole.messages);
	return whole;
}

static void grpc_one_message(void **s)
{
	uint8_t buf[5 + 3];
	rl_grpc_frame_prefix(buf, 3);
	memcpy(buf + 5, "abc", 3);
	struct result r = all_splits(buf, sizeof(buf), 100, 0);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.messages, 1);
	assert_int_equal(r.bytes, 3);
	assert_true(r.idle);
}

static void grpc_several_messages_in_one_frame(void **s)
{
	uint8_t buf[64];
	size_t n = 0;
	for (uint32_t len = 0; len < 4; len++) {
		rl_grpc_frame_prefix(buf + n, len);
		n += 5;
		memset(buf + n, 'x', len);
		n += len;
	}
	struct result r = all_splits(buf, n, 100, 0);
	assert_int_equal(r.messages, 4);
	assert_int_equal(r.bytes, 0 + 1 + 2 + 3);
}

static void grpc_length_prefix_larger_than_data_is_not_idle(void **s)
{
	uint8_t buf[5 + 2];
	rl_grpc_frame_prefix(buf, 10);
	memset(buf + 5, 'y', 2);
	struct result r = all_splits(buf, sizeof(buf), 100, 0);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.messages, 0);
	assert_false(r.idle);
	r = all_splits(buf, 3, 100, 0); /* half a prefix */
	assert_false(r.idle);
}

static void grpc_rejects_compressed_without_encoding(void **s)
{
	uint8_t buf[6];
	rl_grpc_frame_prefix(buf, 1);
	buf[0] = 1;
	buf[5] = 'z';
	assert_int_equal(all_splits(buf, sizeof(buf), 100, 0).rc, RL_GRPC_E_COMPRESSED);
	assert_int_equal(all_splits(buf, sizeof(buf), 100, 1).rc, 0);
	buf[0] = 2;
	assert_int_equal(all_splits(buf, sizeof(buf), 100, 1).rc, RL_GRPC_E_FLAG);
}

static void grpc_rejects_length_over_limit(void **s)
{
	uint8_t buf[5];
	rl_grpc_frame_prefix(buf, 4u << 20);
	assert_int_equal(all_splits(buf, sizeof(buf), 4u << 20, 0).rc, 0);
	rl_grpc_frame_prefix(buf, (4u << 20) + 1);
	assert_int_equal(all_splits(buf, sizeof(buf), 4u << 20, 0).rc, RL_GRPC_E_TOO_LARGE);
}

static void grpc_status_names_parse(void **s)
{
	assert_int_equal(rl_grpc_status_parse("0", 1), 0);
	assert_int_equal(rl_grpc_status_parse("14", 2), 14);
	assert_int_equal(rl_grpc_status_parse("unavailable", 11), 14);
	assert_int_equal(rl_grpc_status_parse("17", 2), -1);
	assert_int_equal(rl_grpc_status_parse("05", 2), -1);
	assert_int_equal(rl_grpc_status_parse("abc", 3), -1);
	assert_int_equal(rl_grpc_status_parse("", 0), -1);
	assert_string_equal(rl_grpc_status_names[4], "DEADLINE_EXCEEDED");
}

/* found by fuzz_grpc_deframe: a cut message counted its declared length as received */
static void grpc_message_bytes_count_what_arrived(void **state)
{
	static const uint8_t in[] = { 0, 0, 0, 0, 2, 0x08, 0x2a, 0, 0, 0, 0, 59, 'c', 'u', 't' };
	struct rl_grpc_deframer d;
	rl_grpc_deframer_init(&d, 1024);
	assert_int_equal(rl_grpc_deframe(&d, in, sizeof(in)), 0);
	assert_int_equal(d.messages, 1);
	assert_int_equal(d.message_bytes, 2 + 3);
	assert_false(rl_grpc_deframer_idle(&d));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grpc_one_message),
		cmocka_unit_test(grpc_several_messages_in_one_frame),
		cmocka_unit_test(grpc_length_prefix_larger_than_data_is_not_idle),
		cmocka_unit_test(grpc_rejects_compressed_without_encoding),
		cmocka_unit_test(grpc_rejects_length_over_limit),
		cmocka_unit_test(grpc_status_names_parse),
		cmocka_unit_test(grpc_message_bytes_count_what_arrived),
	};
	return cmocka_run_group_tests_name("grpc_frame", tests, NULL, NULL);
}
