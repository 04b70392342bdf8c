/* gRPC request messages from JSON (--data), encoded once before the run. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/grpc.h"
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

/* int64 from a JSON number or a JSON string (proto3 JSON writes int64 as a string) */
static int json_int64(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		long long n = strtoll(s, &end, 10);
		if (!*s || *end || errno)
			return -1;
		*out = n;
		return 0;
	}
	return -1;
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
		if (json_int64(v, &req.user_id)) {
			snprintf(err, errlen, "--data: field '%s' must be an int64 (number or string)", key);
			return -1;
		}
	}
	uint8_t buf[16];
	size_t n = api__performance__get_user_request__pack(&req, buf);
	return frame(buf, n, out, len, err, errlen);
}

int rl_grpc_request_message(const char *method, const char *json, uint8_t **out, size_t *len,
			    char *err, size_t errlen)
{
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
			 "other services need --proto/--protoset, which this build does not have yet", method);
	json_decref(root);
	return rc;
}
