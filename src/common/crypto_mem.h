/* OpenSSL's memory through per-thread free lists of size classes (crypto_mem.c). */
#ifndef RINGLOAD_CRYPTO_MEM_H
#define RINGLOAD_CRYPTO_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* Hands OpenSSL's malloc, realloc and free to the free lists. It must come before
 * anything calls OpenSSL (OpenSSL refuses once it has allocated). false when refused, or
 * under ASan, whose allocator should see every block. */
bool rl_crypto_mem_install(void);

/* The functions themselves, for tests (OpenSSL's signatures). */
void *rl_crypto_malloc(size_t n, const char *file, int line);
void *rl_crypto_realloc(void *p, size_t n, const char *file, int line);
void rl_crypto_free(void *p, const char *file, int line);
/* Blocks the calling thread keeps for reuse, and their bytes (with headers). */
size_t rl_crypto_mem_cached(size_t *bytes);
/* Hands the calling thread's kept blocks back to malloc. */
void rl_crypto_mem_drain(void);

#endif
