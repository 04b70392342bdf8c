/* libFuzzer: JSON to protobuf, descriptor-driven, on tests/proto/every_kind.proto (every
 * field kind). The input is the --data JSON: encoded once, and compiled for per-request
 * encoding (templates in strings), whose output must fit its declared bound. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/pbjson.h"
#include "ringload/template.h"

static struct rl_pb_schema *schema;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	const char *proto = getenv("RL_FUZZ_PROTO") ? getenv("RL_FUZZ_PROTO") : "tests/proto/every_kind.proto";
	if (rl_pb_schema_compile(proto, &schema, err, sizeof(err))) {
		fprintf(stderr, "fuzz_pbjson: %s\n", err);
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = malloc(size + 1), err[512];
	if (!json)
		return 0;
	memcpy(json, data, size);
	json[size] = 0;
	uint8_t *out = NULL;
	size_t len = 0;
	if (!rl_pb_encode_json(schema, "ringtest.Everything", json, &out, &len, err, sizeof(err)))
		free(out);
	struct rl_pb_request *req;
	if (!rl_pb_request_compile(schema, "ringtest.Everything", json, &req, err, sizeof(err))) {
		size_t bound = rl_pb_request_bound(req);
		char *scratch = malloc(rl_pb_request_scratch(req) + 1);
		uint8_t *buf = malloc(bound + 1);
		struct rl_tpl_state st;
		rl_tpl_state_init(&st, 7, 1, 1);
		for (int i = 0; scratch && buf && i < 2; i++) {
			long n = rl_pb_request_encode(req, &st, scratch, buf, bound);
			if (n > (long)bound)
				abort();
		}
		free(scratch);
		free(buf);
		rl_pb_request_free(req);
	}
	free(json);
	return 0;
}
