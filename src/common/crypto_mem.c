/* OpenSSL's memory: size classes with per-thread free lists in front of malloc.
 *
 * A client's full TLS handshake makes a few thousand small allocations in OpenSSL (the
 * certificate's decoding most of them). Through glibc's malloc and free they cost about
 * 530,000 of the handshake's 4.2 million instructions. Here a freed block goes onto its
 * thread's list for its size class and the next malloc of that class takes it back: a
 * few instructions each way, and no lock.
 *
 * - Classes: 16-byte steps up to 1 KiB, 256-byte steps up to 4 KiB. Larger blocks go to
 *   malloc itself, with the same 16-byte header (class or size), so one free serves both.
 * - Each list keeps at most LIST_BYTES (and at least LIST_MIN blocks); beyond that a
 *   freed block goes back to malloc. A thread keeps at most about 1.2 MiB this way.
 * - A block goes to the list of the thread that frees it, whichever made it.
 * - A thread's lists go back to malloc when it ends, the main thread's at exit (after
 *   OpenSSL's own clean-up, which frees through here). After that the thread's blocks
 *   go straight to malloc and free.
 * - Not installed under ASan: its allocator should see every block. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_mem.h"

#define SMALL_STEP   16
#define SMALL_MAX    1024
#define LARGE_STEP   256
#define LARGE_MAX    4096
#define SMALL_CLASSES (SMALL_MAX / SMALL_STEP)
#define CLASSES      (SMALL_CLASSES + (LARGE_MAX - SMALL_MAX) / LARGE_STEP)
#define BIG          UINT32_MAX /* the class of a block over LARGE_MAX */
#define LIST_BYTES   16384
#define LIST_MIN     4

struct hdr {
	uint32_t cls;
	uint32_t unused;
	size_t size; /* BIG blocks: the size asked for */
};

enum { LISTS_UNUSED, LISTS_LIVE, LISTS_ENDED };

struct lists {
	struct hdr *head[CLASSES]; /* a kept block's first word links to the next */
	uint16_t count[CLASSES];
	uint8_t state;
};

static __thread struct lists lists;
static pthread_key_t thread_end_key;
static pthread_once_t thread_end_once = PTHREAD_ONCE_INIT;

static inline unsigned class_of(size_t n)
{
	if (n <= SMALL_MAX)
		return n ? (unsigned)((n + SMALL_STEP - 1) / SMALL_STEP) - 1 : 0;
	return SMALL_CLASSES + (unsigned)((n - SMALL_MAX + LARGE_STEP - 1) / LARGE_STEP) - 1;
}

static inline size_t class_size(unsigned c)
{
	return c < SMALL_CLASSES ? (size_t)(c + 1) * SMALL_STEP
				 : SMALL_MAX + (size_t)(c - SMALL_CLASSES + 1) * LARGE_STEP;
}

static inline struct hdr **next_of(struct hdr *h)
{
	return (struct hdr **)(h + 1);
}

void rl_crypto_mem_drain(void)
{
	for (unsigned c = 0; c < CLASSES; c++) {
		struct hdr *h = lists.head[c];
		while (h) {
			struct hdr *next = *next_of(h);
			free(h);
			h = next;
		}
		lists.head[c] = NULL;
		lists.count[c] = 0;
	}
}

static void lists_end(void)
{
	rl_crypto_mem_drain();
	lists.state = LISTS_ENDED;
}

static void thread_ended(void *unused)
{
	lists_end();
}

static void make_thread_end_key(void)
{
	pthread_key_create(&thread_end_key, thread_ended);
}

/* The calling thread's lists; NULL once they have ended. */
static inline struct lists *my_lists(void)
{
	struct lists *l = &lists;
	if (__builtin_expect(l->state == LISTS_LIVE, 1))
		return l;
	if (l->state == LISTS_ENDED)
		return NULL;
	pthread_once(&thread_end_once, make_thread_end_key);
	pthread_setspecific(thread_end_key, l); /* not NULL: the destructor runs */
	l->state = LISTS_LIVE;
	return l;
}

void *rl_crypto_malloc(size_t n, const char *file, int line)
{
	struct hdr *h;
	if (n > LARGE_MAX) {
		if (n > SIZE_MAX - sizeof(*h) || !(h = malloc(sizeof(*h) + n)))
			return NULL;
		h->cls = BIG;
		h->size = n;
		return h + 1;
	}
	unsigned c = class_of(n);
	struct lists *l = my_lists();
	if (l && (h = l->head[c])) {
		l->head[c] = *next_of(h);
		l->count[c]--;
		return h + 1;
	}
	if (!(h = malloc(sizeof(*h) + class_size(c))))
		return NULL;
	h->cls = c;
	return h + 1;
}

void rl_crypto_free(void *p, const char *file, int line)
{
	if (!p)
		return;
	struct hdr *h = (struct hdr *)p - 1;
	unsigned c = h->cls;
	struct lists *l;
	if (c == BIG || !(l = my_lists()) ||
	    (l->count[c] >= LIST_MIN && (size_t)(l->count[c] + 1) * class_size(c) > LIST_BYTES)) {
		free(h);
		return;
	}
	*next_of(h) = l->head[c];
	l->head[c] = h;
	l->count[c]++;
}

void *rl_crypto_realloc(void *p, size_t n, const char *file, int line)
{
	if (!p)
		return rl_crypto_malloc(n, file, line);
	if (!n) {
		rl_crypto_free(p, file, line);
		return NULL;
	}
	struct hdr *h = (struct hdr *)p - 1;
	if (h->cls == BIG && n > LARGE_MAX) {
		if (n > SIZE_MAX - sizeof(*h) || !(h = realloc(h, sizeof(*h) + n)))
			return NULL;
		h->size = n;
		return h + 1;
	}
	size_t have = h->cls == BIG ? h->size : class_size(h->cls);
	if (h->cls != BIG && n <= have)
		return p;
	void *q = rl_crypto_malloc(n, file, line);
	if (!q)
		return NULL;
	memcpy(q, p, have < n ? have : n);
	rl_crypto_free(p, file, line);
	return q;
}

size_t rl_crypto_mem_cached(size_t *bytes)
{
	size_t blocks = 0, total = 0;
	for (unsigned c = 0; c < CLASSES; c++) {
		blocks += lists.count[c];
		total += lists.count[c] * (sizeof(struct hdr) + class_size(c));
	}
	if (bytes)
		*bytes = total;
	return blocks;
}

bool rl_crypto_mem_install(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return false;
#else
	if (!CRYPTO_set_mem_functions(rl_crypto_malloc, rl_crypto_realloc, rl_crypto_free))
		return false;
	/* registered before OpenSSL's first use registers its clean-up, so it runs after it */
	atexit(lists_end);
	return true;
#endif
}
