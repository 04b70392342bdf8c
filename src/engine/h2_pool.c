/* nghttp2's allocator for one worker: power-of-two size classes on free lists, never
 * returned to libc during the run. nghttp2 allocates per stream; once warm, a request
 * costs no malloc. */
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define POOL_MIN_SHIFT 5  /* 32 bytes; classes up to 1 MiB, larger blocks go to malloc */

struct pool_hdr {
	uint32_t cls;        /* size class, or RL_H2_POOL_CLASSES for a plain malloc */
	uint32_t pad;
	uint64_t size;       /* a plain malloc's size (realloc copies it) */
};

/* The smallest cls with 1 << (cls + POOL_MIN_SHIFT) >= n; RL_H2_POOL_CLASSES: too large. */
static inline unsigned size_class(size_t n)
{
	if (n <= (size_t)1 << POOL_MIN_SHIFT)
		return 0;
	unsigned cls = 64 - POOL_MIN_SHIFT - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
	return cls < RL_H2_POOL_CLASSES ? cls : RL_H2_POOL_CLASSES;
}

/* A block's room: its class's size, or what a plain malloc was asked for. */
static size_t block_bytes(unsigned cls, size_t size)
{
	return cls < RL_H2_POOL_CLASSES ? (size_t)1 << (cls + POOL_MIN_SHIFT) : size;
}

/* A class's first block, or a block too large for any class: from libc, with its header. */
__attribute__((noinline)) static void *pool_grow(unsigned cls, size_t size)
{
	struct pool_hdr *h = malloc(sizeof(*h) + block_bytes(cls, size));
	if (!h)
		return NULL;
	h->cls = cls;
	h->size = size;
	return h + 1;
}

/* A block on a class's free list keeps its header: taking it writes nothing. */
static void *pool_malloc(size_t size, void *ud)
{
	struct rl_h2_pool *pool = ud;
	unsigned cls = size_class(size);
	struct pool_hdr *h;
	if (cls < RL_H2_POOL_CLASSES && (h = pool->free[cls])) {
		pool->free[cls] = *(void **)(h + 1);
		return h + 1;
	}
	return pool_grow(cls, size);
}

static void pool_free(void *p, void *ud)
{
	if (!p)
		return;
	struct rl_h2_pool *pool = ud;
	struct pool_hdr *h = (struct pool_hdr *)p - 1;
	unsigned cls = h->cls;
	if (cls >= RL_H2_POOL_CLASSES) {
		free(h);
		return;
	}
	*(void **)p = pool->free[cls];
	pool->free[cls] = h;
}

static void *pool_calloc(size_t n, size_t size, void *ud)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = pool_malloc(n * size, ud);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static void *pool_realloc(void *p, size_t size, void *ud)
{
	if (!p)
		return pool_malloc(size, ud);
	const struct pool_hdr *h = (const struct pool_hdr *)p - 1;
	size_t had = block_bytes(h->cls, h->size);
	void *q = pool_malloc(size, ud);
	if (!q)
		return NULL;
	memcpy(q, p, had < size ? had : size);
	pool_free(p, ud);
	return q;
}

void rl_h2_pool_init(struct rl_worker *w)
{
	w->h2_pool.mem = (nghttp2_mem){ &w->h2_pool, pool_malloc, pool_free, pool_calloc, pool_realloc };
}

void rl_h2_pool_free(struct rl_worker *w)
{
	for (unsigned i = 0; i < RL_H2_POOL_CLASSES; i++) {
		while (w->h2_pool.free[i]) {
			struct pool_hdr *h = w->h2_pool.free[i];
			w->h2_pool.free[i] = *(void **)(h + 1);
			free(h);
		}
	}
}
