/* libFuzzer: the gRPC length-prefixed message deframer. The first bytes set the size
 * limit and whether compression was announced; the rest is a DATA stream, deframed
 * whole and byte by byte, which must agree on messages, bytes and error. */
#include <stdlib.h>

#include "ringload/grpc.h"

static int run(const uint8_t *d, size_t n, size_t step, uint32_t max, int comp, struct rl_grpc_deframer *f)
{
	rl_grpc_deframer_init(f, max);
	f->compression_ok = (uint8_t)comp;
	for (size_t off = 0; off < n; off += step) {
		int rc = rl_grpc_deframe(f, d + off, n - off < step ? n - off : step);
		if (rc)
			return rc;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint32_t max = (uint32_t)data[0] * 97;
	int comp = data[1] & 1;
	struct rl_grpc_deframer a, b;
	int ra = run(data + 2, size - 2, size, max, comp, &a);
	int rb = run(data + 2, size - 2, 1, max, comp, &b);
	if (ra != rb || (!ra && (a.messages != b.messages || a.message_bytes != b.message_bytes ||
				 rl_grpc_deframer_idle(&a) != rl_grpc_deframer_idle(&b))))
		abort();
	if (!ra && a.message_bytes > size)
		abort();
	return 0;
}
