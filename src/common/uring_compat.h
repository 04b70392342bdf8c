/* What liburing 2.3 (Debian 12) lacks and the running kernel has. Each piece is guarded
 * so a newer liburing's own definition wins. Features are still checked at run time:
 * the kernel may be older than the header too. */
#ifndef RINGLOAD_URING_COMPAT_H
#define RINGLOAD_URING_COMPAT_H

#include <liburing.h>
#include <stdbool.h>

#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12) /* 6.0 */
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13) /* 6.1 */
#endif
#ifndef IORING_RECV_MULTISHOT
#define IORING_RECV_MULTISHOT (1U << 1) /* 6.0 */
#endif

#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8) /* 5.19 */
#endif

#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15) /* 6.12 */
#endif

/* RINGLOAD_COMPAT=nodefer,nobufring,nofixed turns features off, to test the fallbacks:
 * true if what is among them. */
bool rl_compat_off(const char *what);

/* A ring for one event loop, with the cheapest completion mode the kernel has:
 * SINGLE_ISSUER|DEFER_TASKRUN (6.1), where completions run only when the loop waits, in
 * its thread, so nothing interrupts it and a busy loop needs no wake-up; then
 * COOP_TASKRUN (5.19); then none. extra is ORed into each try (IORING_SETUP_CQSIZE with
 * cq_entries, or IORING_SETUP_R_DISABLED for a ring that another thread will run: that
 * thread calls rl_ring_enable, and becomes the single issuer). Returns 0
 * with *defer set to whether DEFER_TASKRUN is on, or a negative errno. */
int rl_ring_init(struct io_uring *ring, unsigned entries, unsigned cq_entries, unsigned extra,
		 bool allow_defer, bool *defer);

/* The running kernel is at least major.minor (uname): for what a probe cannot show,
 * such as multishot recvmsg (6.0). */
bool rl_kernel_at_least(int major, int minor);

/* io_uring_enable_rings: liburing 2.3 declares it but does not export it. */
int rl_ring_enable(struct io_uring *ring);

/* An SQE, submitting what is queued first when the ring is full: never NULL. Each
 * io_uring_enter that takes is counted in *enters, where given. */
static inline struct io_uring_sqe *rl_get_sqe(struct io_uring *ring, uint64_t *enters)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	while (!sqe) {
		io_uring_submit(ring);
		if (enters)
			(*enters)++;
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

/* liburing 2.8's io_uring_submit_and_wait_min_timeout, for 2.3 (the kernel needs
 * IORING_FEAT_MIN_TIMEOUT, 6.12): submits what is queued, then waits up to min_wait_usec
 * for wait_nr completions; past that it returns once any completion has come since the
 * wait began, or waits for the first one until *ts. Returns what io_uring_enter does: the
 * number submitted, or a negative errno (-ETIME at the timeout). */
int rl_submit_and_wait_min(struct io_uring *ring, unsigned wait_nr, struct __kernel_timespec *ts,
			   unsigned min_wait_usec);

/* io_uring_setup_buf_ring() arrived in liburing 2.4: allocate the ring memory (page
 * aligned, as the kernel maps it) and register it under group bgid. Returns the ring or
 * NULL with *err set to a negative errno. */
struct io_uring_buf_ring *rl_setup_buf_ring(struct io_uring *ring, unsigned entries,
					    int bgid, int *err);
void rl_free_buf_ring(struct io_uring *ring, struct io_uring_buf_ring *br,
		      unsigned entries, int bgid);

#endif
