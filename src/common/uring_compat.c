/* Ring setup with fallbacks, and liburing 2.4's io_uring_setup_buf_ring for liburing
 * 2.3: see uring_compat.h. */
#include "uring_compat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

bool rl_compat_off(const char *what)
{
	const char *env = getenv("RINGLOAD_COMPAT");
	return env && strstr(env, what);
}

bool rl_kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;
	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

int rl_ring_init(struct io_uring *ring, unsigned entries, unsigned cq_entries, unsigned extra,
		 bool allow_defer, bool *defer)
{
	static const unsigned tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	int rc = -EINVAL;
	for (unsigned i = allow_defer ? 0 : 1; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = tries[i] | extra;
		p.cq_entries = cq_entries;
		rc = io_uring_queue_init_params(entries, ring, &p);
		if (rc == 0) {
			*defer = i == 0;
			return 0;
		}
	}
	return rc;
}

int rl_ring_enable(struct io_uring *ring)
{
	long rc = syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	return rc < 0 ? -errno : 0;
}

int rl_submit_and_wait_min(struct io_uring *ring, unsigned wait_nr, struct __kernel_timespec *ts,
			   unsigned min_wait_usec)
{
	/* what io_uring_submit does first: hand the queued entries to the kernel (the ring is
	 * never SQPOLL here, so the tail is read only inside io_uring_enter) */
	struct io_uring_sq *sq = &ring->sq;
	unsigned tail = sq->sqe_tail;
	if (sq->sqe_head != tail) {
		sq->sqe_head = tail;
		__atomic_store_n(sq->ktail, tail, __ATOMIC_RELEASE);
	}
	unsigned to_submit = tail - __atomic_load_n(sq->khead, __ATOMIC_ACQUIRE);
	struct io_uring_getevents_arg arg;
	memset(&arg, 0, sizeof(arg));
	arg.ts = (uint64_t)(uintptr_t)ts;
	arg.pad = min_wait_usec; /* named min_wait_usec in 6.12's header */
	unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
	int fd = ring->ring_fd;
	if (ring->int_flags & 1) { /* liburing's INT_FLAG_REG_RING: io_uring_register_ring_fd */
		flags |= IORING_ENTER_REGISTERED_RING;
		fd = ring->enter_ring_fd;
	}
	return io_uring_enter2((unsigned)fd, to_submit, wait_nr, flags, (sigset_t *)&arg, sizeof(arg));
}

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
