/* JSON to protobuf wire format, driven by descriptors at run time: the gRPC request
 * message of any service, from a FileDescriptorSet (`protoc -o`, --protoset) or a
 * .proto file (--proto, through protoc). Proto3 JSON mapping: field names or their
 * lowerCamelCase JSON names, int64 as number or string, bytes as base64, enums by name
 * or number, maps as objects, NaN/Infinity as strings. Setup-time only: it allocates. */
#ifndef RINGLOAD_PBJSON_H
#define RINGLOAD_PBJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rl_pb_schema;
struct json_t;

/* proto3 JSON's int64: a JSON integer, an integral real, or a decimal string. */
int rl_pb_json_int64(struct json_t *v, int64_t *out);

/* From a serialized FileDescriptorSet. 0, or -1 with a message. */
int rl_pb_schema_load(const uint8_t *buf, size_t len, struct rl_pb_schema **out, char *err,
		      size_t errlen);
/* Runs protoc on a .proto file (its directory and /usr/include as import paths). */
int rl_pb_schema_compile(const char *proto_path, struct rl_pb_schema **out, char *err, size_t errlen);
void rl_pb_schema_free(struct rl_pb_schema *s);

/* The full name of METHOD's ("pkg.Service/Method") input message; NULL with err. */
const char *rl_pb_method_input(const struct rl_pb_schema *s, const char *method, char *err,
			       size_t errlen);
/* Encodes JSON (NULL: the empty message) as message TYPE ("pkg.Msg"). Allocates *out.
 * 0, or -1 with a message naming the field path. */
int rl_pb_encode_json(const struct rl_pb_schema *s, const char *type, const char *json,
		      uint8_t **out, size_t *len, char *err, size_t errlen);

/* A request message compiled once for encoding per request: the JSON may hold
 * templates in string values (or bare, where a value stands). Encoding allocates
 * nothing: the caller gives scratch for the renderings and the output buffer. */
struct rl_pb_request;
struct rl_tpl_state;
int rl_pb_request_compile(const struct rl_pb_schema *s, const char *type, const char *json,
			  struct rl_pb_request **out, char *err, size_t errlen);
bool rl_pb_request_dynamic(const struct rl_pb_request *r);
size_t rl_pb_request_bound(const struct rl_pb_request *r);   /* the largest encoding */
size_t rl_pb_request_scratch(const struct rl_pb_request *r); /* scratch it needs */
/* The encoded length, or -1 (a rendering that does not fit its field). */
long rl_pb_request_encode(const struct rl_pb_request *r, struct rl_tpl_state *st, char *scratch,
			  uint8_t *out, size_t cap);
void rl_pb_request_free(struct rl_pb_request *r);

#endif
