/* The protocol registry: a target's protocol names its table here, once. */
#include "proto.h"

static const struct rl_proto_ops *const protocols[] = {
	[RL_PROTO_H1] = &rl_proto_h1,
	[RL_PROTO_H2] = &rl_proto_h2,
	[RL_PROTO_GRPC] = &rl_proto_grpc,
};

const struct rl_proto_ops *rl_proto_of(enum rl_proto proto)
{
	return protocols[proto];
}
