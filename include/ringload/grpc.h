/* gRPC status codes and their names (grpc/doc/statuscodes.md), shared by the server
 * and the client's accounting. */
#ifndef RINGLOAD_GRPC_H
#define RINGLOAD_GRPC_H

#define RL_GRPC_STATUS_COUNT 17

extern const char *const rl_grpc_status_names[RL_GRPC_STATUS_COUNT];

/* "5" or "NOT_FOUND" (any case) -> 5; -1 if neither. */
int rl_grpc_status_parse(const char *s, unsigned long len);

#endif
