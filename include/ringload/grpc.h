/* gRPC status codes and their names (grpc/doc/statuscodes.md), shared by the server
 * and the client's accounting. */
#ifndef RINGLOAD_GRPC_H
#define RINGLOAD_GRPC_H

#include <stddef.h>
#include <stdint.h>

#define RL_GRPC_STATUS_COUNT 17

/* The status codes the client's own logic names (the rest are only counted). */
enum rl_grpc_code {
	RL_GRPC_OK = 0,
	RL_GRPC_DEADLINE_EXCEEDED = 4,
	RL_GRPC_RESOURCE_EXHAUSTED = 8,
	RL_GRPC_UNAVAILABLE = 14,
};

extern const char *const rl_grpc_status_names[RL_GRPC_STATUS_COUNT];

/* "5" or "NOT_FOUND" (any case) -> 5; -1 if neither. */
int rl_grpc_status_parse(const char *s, unsigned long len);

/* ---- message framing (gRPC over HTTP/2: "Length-Prefixed-Message") ----
 * 1 byte compressed flag, 4 bytes big-endian length, the message. The deframer is a
 * pure, allocation-free state machine: DATA frames may split a prefix or a message
 * anywhere and may hold several messages. */

#define RL_GRPC_PREFIX 5

enum rl_grpc_frame_error {
	RL_GRPC_E_COMPRESSED = -1, /* compressed flag set without a negotiated encoding */
	RL_GRPC_E_TOO_LARGE = -2,  /* declared length over the limit */
	RL_GRPC_E_FLAG = -3,       /* flag byte other than 0 or 1 */
};

struct rl_grpc_deframer {
	uint32_t max_len;      /* --max-msg */
	uint8_t compression_ok;/* the response named a grpc-encoding other than identity */
	uint8_t hdr_len;
	uint8_t hdr[RL_GRPC_PREFIX];
	uint32_t remaining;    /* bytes of the current message still to come */
	uint64_t messages;     /* complete messages */
	uint64_t message_bytes;/* payload bytes received (a cut message's too) */
};

void rl_grpc_deframer_init(struct rl_grpc_deframer *d, uint32_t max_len);
/* Consumes all of buf: 0, or a negative rl_grpc_frame_error. */
int rl_grpc_deframe(struct rl_grpc_deframer *d, const uint8_t *buf, size_t len);
/* True between messages: at END_STREAM anything else is a truncated message. */
static inline int rl_grpc_deframer_idle(const struct rl_grpc_deframer *d)
{
	return d->hdr_len == 0 && d->remaining == 0;
}
void rl_grpc_frame_prefix(uint8_t out[RL_GRPC_PREFIX], uint32_t len);

/* The framed request message for METHOD ("pkg.Service/Method") from JSON (NULL: the
 * empty message). With a .proto file or a descriptor set (one of them, or neither) any
 * service is encoded through its descriptors; without, the built-in
 * api.performance.UserService through protoc-c's generated code. Allocates *out.
 * 0, or -1 with a message naming the bad field. */
int rl_grpc_request_message(const char *method, const char *json, const char *proto_file,
			    const char *protoset_file, uint8_t **out, size_t *len, char *err,
			    size_t errlen);

struct rl_pb_schema;
struct rl_pb_request;
/* --data holding templates: the message compiled for encoding per request, through the
 * given descriptors or the built-in service's (embedded at build time). The caller
 * owns *schema and *req. */
int rl_grpc_request_compile(const char *method, const char *json, const char *proto_file,
			    const char *protoset_file, struct rl_pb_schema **schema,
			    struct rl_pb_request **req, char *err, size_t errlen);
const char *rl_grpc_frame_strerror(int err);

#endif
