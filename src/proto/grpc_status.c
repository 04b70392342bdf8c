/* gRPC status names: see grpc.h. */
#include "ringload/grpc.h"

#include <string.h>
#include <strings.h>

const char *const rl_grpc_status_names[RL_GRPC_STATUS_COUNT] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

int rl_grpc_status_parse(const char *s, unsigned long len)
{
	if (len && len <= 2 && s[0] >= '0' && s[0] <= '9' && (len == 1 || (s[1] >= '0' && s[1] <= '9'))) {
		int v = s[0] - '0';
		if (len == 2)
			v = v * 10 + (s[1] - '0');
		return v < RL_GRPC_STATUS_COUNT && (len == 1 || s[0] != '0') ? v : -1;
	}
	for (int i = 0; i < RL_GRPC_STATUS_COUNT; i++)
		if (strlen(rl_grpc_status_names[i]) == len && !strncasecmp(s, rl_grpc_status_names[i], len))
			return i;
	return -1;
}
