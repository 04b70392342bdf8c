/* liburing 2.4's io_uring_setup_buf_ring, for liburing 2.3: see uring_compat.h. */
#include "uring_compat.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

struct io_uring_buf_ring *rl_setup_buf_ring(struct io_uring *ring, unsigned entries,
					    int bgid, int *err)
{
	size_t len = entries * sizeof(struct io_uring_buf);
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (mem == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	struct io_uring_buf_reg reg;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)mem;
	reg.ring_entries = entries;
	reg.bgid = (unsigned short)bgid;
	int rc = io_uring_register_buf_ring(ring, &reg, 0);
	if (rc) {
		munmap(mem, len);
		*err = rc;
		return NULL;
	}
	struct io_uring_buf_ring *br = mem;
	io_uring_buf_ring_init(br);
	return br;
}

void rl_free_buf_ring(struct io_uring *ring, struct io_uring_buf_ring *br,
		      unsigned entries, int bgid)
{
	io_uring_unregister_buf_ring(ring, bgid);
	munmap(br, entries * sizeof(struct io_uring_buf));
}
