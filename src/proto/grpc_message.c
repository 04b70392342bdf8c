/* gRPC request messages from JSON (--data), encoded once before the run. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/grpc.h"
#include "ringload/pbjson.h"
#include "user_service.pb-c.h"

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

static int get_user_request(json_t *root, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	Api__Performance__GetUserRequest req = API__PERFORMANCE__GET_USER_REQUEST__INIT;
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "user_id") && strcmp(key, "userId")) {
			snprintf(err, errlen, "--data: unknown field '%s' in api.performance.GetUserRequest", key);
			return -1;
		}
		if (rl_pb_json_int64(v, &req.user_id)) {
			snprintf(err, errlen, "--data: field '%s' must be an int64 (number or string)", key);
			return -1;
		}
	}
	uint8_t buf[16];
	size_t n = api__performance__get_user_request__pack(&req, buf);
	return frame(buf, n, out, len, err, errlen);
}

static int load_schema(const char *proto_file, const char *protoset_file, struct rl_pb_schema **s,
		       char *err, size_t errlen)
{
	if (proto_file)
		return rl_pb_schema_compile(proto_file, s, err, errlen);
	FILE *f = fopen(protoset_file, "rb");
	if (!f) {
		snprintf(err, errlen, "--protoset: cannot open '%s': %s", protoset_file, strerror(errno));
		return -1;
	}
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, n;
	do {
		if (len == cap) {
			uint8_t *p = realloc(data, cap = cap ? cap * 2 : 65536);
			if (!p) {
				free(data);
				fclose(f);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			data = p;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	int rc = rl_pb_schema_load(data, len, s, err, errlen);
	free(data);
	if (rc) {
		char why[256];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "--protoset '%s': %s", protoset_file, why);
	}
	return rc;
}

extern const unsigned char rl_builtin_protoset[];
extern const unsigned long rl_builtin_protoset_len;

int rl_grpc_request_compile(const char *method, const char *json, const char *proto_file,
			    const char *protoset_file, struct rl_pb_schema **schema,
			    struct rl_pb_request **req, char *err, size_t errlen)
{
	int rc = proto_file || protoset_file
		 ? load_schema(proto_file, protoset_file, schema, err, errlen)
		 : rl_pb_schema_load(rl_builtin_protoset, rl_builtin_protoset_len, schema, err, errlen);
	if (rc)
		return -1;
	const char *type = rl_pb_method_input(*schema, method, err, errlen);
	if (!type || rl_pb_request_compile(*schema, type, json, req, err, errlen)) {
		if (!type && !proto_file && !protoset_file)
			snprintf(err, errlen, "--data for '%s': only api.performance.UserService is built in; "
				 "give --proto FILE.proto or --protoset FILE.pb", method);
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
	if (proto_file || protoset_file) {
		struct rl_pb_schema *s;
		if (load_schema(proto_file, protoset_file, &s, err, errlen))
			return -1;
		const char *type = rl_pb_method_input(s, method, err, errlen);
		uint8_t *msg = NULL;
		size_t n = 0;
		int rc = !type || rl_pb_encode_json(s, type, json, &msg, &n, err, errlen) ? -1
			 : frame(msg, n, out, len, err, errlen);
		free(msg);
		rl_pb_schema_free(s);
		return rc;
	}
	if (!json)
		return frame(NULL, 0, out, len, err, errlen);
	json_error_t jerr;
	json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "--data: invalid JSON at line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		return -1;
	}
	int rc = -1;
	if (!json_is_object(root))
		snprintf(err, errlen, "--data: expected a JSON object");
	else if (!strcmp(method, "api.performance.UserService/GetUser"))
		rc = get_user_request(root, out, len, err, errlen);
	else
		snprintf(err, errlen, "--data for '%s': only api.performance.UserService is built in; "
			 "give --proto FILE.proto or --protoset FILE.pb", method);
	json_decref(root);
	return rc;
}
