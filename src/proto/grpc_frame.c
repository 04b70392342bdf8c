/* gRPC length-prefixed message framing: see grpc.h. */
#include <string.h>

#include "ringload/grpc.h"

void rl_grpc_deframer_init(struct rl_grpc_deframer *d, uint32_t max_len)
{
	memset(d, 0, sizeof(*d));
	d->max_len = max_len;
}

int rl_grpc_deframe(struct rl_grpc_deframer *d, const uint8_t *buf, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (!d->remaining && !d->hdr_len && len - i >= RL_GRPC_PREFIX) {
			/* a whole prefix in this piece (the common case): read it in place */
			memcpy(d->hdr, buf + i, RL_GRPC_PREFIX);
			d->hdr_len = RL_GRPC_PREFIX;
			i += RL_GRPC_PREFIX;
		} else if (d->remaining) {
			size_t n = len - i < d->remaining ? len - i : d->remaining;
			d->remaining -= (uint32_t)n;
			d->message_bytes += n;
			i += n;
			if (!d->remaining)
				d->messages++;
			continue;
		} else {
			d->hdr[d->hdr_len++] = buf[i++];
			if (d->hdr_len < RL_GRPC_PREFIX)
				continue;
		}
		d->hdr_len = 0;
		if (d->hdr[0] > 1)
			return RL_GRPC_E_FLAG;
		if (d->hdr[0] == 1 && !d->compression_ok)
			return RL_GRPC_E_COMPRESSED;
		uint32_t n = (uint32_t)d->hdr[1] << 24 | (uint32_t)d->hdr[2] << 16 |
			     (uint32_t)d->hdr[3] << 8 | d->hdr[4];
		if (n > d->max_len)
			return RL_GRPC_E_TOO_LARGE;
		if (n)
			d->remaining = n;
		else
			d->messages++; /* an empty message is complete with its prefix */
	}
	return 0;
}

void rl_grpc_frame_prefix(uint8_t out[RL_GRPC_PREFIX], uint32_t len)
{
	out[0] = 0;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
}

const char *rl_grpc_frame_strerror(int err)
{
	switch (err) {
	case RL_GRPC_E_COMPRESSED: return "compressed message without grpc-encoding";
	case RL_GRPC_E_TOO_LARGE: return "message larger than --max-msg";
	case RL_GRPC_E_FLAG: return "invalid compressed-flag byte";
	default: return "gRPC framing error";
	}
}
