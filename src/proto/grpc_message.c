/* gRPC request messages from JSON (--data), encoded once before the run (or compiled
 * to encode per request, with templates), by one encoder (pbjson.c) for every service:
 * the built-in one through its embedded descriptors. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "ringload/grpc.h"
#include "ringload/pbjson.h"

#define MAX_PROTOSET (64u << 20)

static int frame(const uint8_t *msg, size_t n, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	*out = malloc(n + RL_GRPC_PREFIX);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rl_grpc_frame_prefix(*out, (uint32_t)n);
	if (n)
		memcpy(*out + RL_GRPC_PREFIX, msg, n);
	*len = n + RL_GRPC_PREFIX;
	return 0;
}

/* The descriptors to encode with: a .proto compiled with protoc, a FileDescriptorSet,
 * or the built-in service's (build/gen/builtin_protoset.c). */
extern const unsigned char rl_builtin_protoset[];
extern const unsigned long rl_builtin_protoset_len;

static int load_schema(const char *proto_file, const char *protoset_file, struct rl_pb_schema **s,
		       char *err, size_t errlen)
{
	if (proto_file)
		return rl_pb_schema_compile(proto_file, s, err, errlen);
	if (!protoset_file)
		return rl_pb_schema_load(rl_builtin_protoset, rl_builtin_protoset_len, s, err, errlen);
	char *data;
	size_t len;
	int rc = rl_read_file(protoset_file, MAX_PROTOSET, &data, &len);
	if (rc) {
		snprintf(err, errlen, "--protoset: cannot open '%s': %s", protoset_file,
			 rc == -EINVAL ? "not a regular file" : rc == -EFBIG ? "larger than 64 MiB" : strerror(-rc));
		return -1;
	}
	rc = rl_pb_schema_load((const uint8_t *)data, len, s, err, errlen);
	free(data);
	if (rc) {
		char why[256];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "--protoset '%s': %s", protoset_file, why);
	}
	return rc;
}

/* The request type of method, or NULL with a message saying what to give. */
static const char *input_type(const struct rl_pb_schema *s, const char *method, bool builtin, char *err,
			      size_t errlen)
{
	const char *type = rl_pb_method_input(s, method, err, errlen);
	if (!type && builtin && strncmp(method, "api.performance.UserService/", 28))
		snprintf(err, errlen, "--data for '%s': only api.performance.UserService is built in; "
			 "give --proto FILE.proto or --protoset FILE.pb", method);
	return type;
}

int rl_grpc_request_compile(const char *method, const char *json, const char *proto_file,
			    const char *protoset_file, struct rl_pb_schema **schema,
			    struct rl_pb_request **req, char *err, size_t errlen)
{
	if (load_schema(proto_file, protoset_file, schema, err, errlen))
		return -1;
	const char *type = input_type(*schema, method, !proto_file && !protoset_file, err, errlen);
	if (!type || rl_pb_request_compile(*schema, type, json, req, err, errlen)) {
		rl_pb_schema_free(*schema);
		*schema = NULL;
		return -1;
	}
	return 0;
}

int rl_grpc_request_message(const char *method, const char *json, const char *proto_file,
			    const char *protoset_file, uint8_t **out, size_t *len, char *err,
			    size_t errlen)
{
	bool builtin = !proto_file && !protoset_file;
	if (!json && builtin)
		return frame(NULL, 0, out, len, err, errlen); /* no --data: the empty message */
	struct rl_pb_schema *s;
	if (load_schema(proto_file, protoset_file, &s, err, errlen))
		return -1;
	const char *type = input_type(s, method, builtin, err, errlen);
	uint8_t *msg = NULL;
	size_t n = 0;
	int rc = !type || rl_pb_encode_json(s, type, json, &msg, &n, err, errlen) ? -1
		 : frame(msg, n, out, len, err, errlen);
	free(msg);
	rl_pb_schema_free(s);
	return rc;
}
