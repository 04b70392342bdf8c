/* OpenSSL's memory through per-thread free lists (src/common/crypto_mem.c): every size
 * gets a usable, aligned block; a freed block is the next one of its class; realloc keeps
 * the contents; the lists stay bounded and drain; OpenSSL itself allocates through them. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/ssl.h>

#include "common/crypto_mem.h"

#define F __FILE__, __LINE__

static void crypto_mem_every_size_is_usable_and_aligned(void **s)
{
	for (size_t n = 0; n <= 5000; n++) {
		uint8_t *p = rl_crypto_malloc(n, F);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		memset(p, 0xa5, n);
		rl_crypto_free(p, F);
	}
	rl_crypto_mem_drain();
	assert_int_equal(rl_crypto_mem_cached(NULL), 0);
}

static void crypto_mem_a_freed_block_is_the_next_of_its_class(void **s)
{
	void *a = rl_crypto_malloc(100, F);
	rl_crypto_free(a, F);
	assert_int_equal(rl_crypto_mem_cached(NULL), 1);
	void *b = rl_crypto_malloc(97, F); /* same 16-byte class: 97..112 */
	assert_ptr_equal(a, b);
	assert_int_equal(rl_crypto_mem_cached(NULL), 0);
	void *c = rl_crypto_malloc(120, F); /* another class: a new block */
	assert_ptr_not_equal(b, c);
	rl_crypto_free(b, F);
	rl_crypto_free(c, F);
	void *big = rl_crypto_malloc(20000, F); /* over 4 KiB: malloc's, never kept */
	rl_crypto_free(big, F);
	assert_int_equal(rl_crypto_mem_cached(NULL), 2);
	rl_crypto_mem_drain();
	assert_int_equal(rl_crypto_mem_cached(NULL), 0);
	rl_crypto_free(NULL, F);
}

static void crypto_mem_realloc_keeps_the_contents(void **s)
{
	/* grows through the small classes, the large ones and past 4 KiB, then shrinks */
	size_t sizes[] = { 1, 15, 16, 17, 200, 1024, 1025, 3000, 4096, 4097, 70000, 5000, 300, 8 };
	uint8_t *p = rl_crypto_realloc(NULL, 1, F);
	p[0] = 0;
	size_t have = 1;
	for (size_t i = 1; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		p = rl_crypto_realloc(p, n, F);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		for (size_t k = 0; k < (have < n ? have : n); k++)
			if (p[k] != (uint8_t)k)
				fail_msg("byte %zu lost growing or shrinking to %zu", k, n);
		for (size_t k = 0; k < n; k++)
			p[k] = (uint8_t)k;
		have = n;
	}
	assert_null(rl_crypto_realloc(p, 0, F)); /* frees */
	rl_crypto_mem_drain();
}

static void crypto_mem_lists_stay_bounded(void **s)
{
	enum { N = 4000 };
	static void *blocks[N];
	size_t sizes[] = { 16, 48, 200, 1024, 4096 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (int i = 0; i < N; i++)
			blocks[i] = rl_crypto_malloc(sizes[k], F);
		for (int i = 0; i < N; i++)
			rl_crypto_free(blocks[i], F);
		size_t bytes, kept = rl_crypto_mem_cached(&bytes);
		/* one list: 16 KiB of blocks (with their headers), or 4 of them */
		size_t most = 16384 / sizes[k] > 4 ? 16384 / sizes[k] : 4;
		if (kept > most || bytes > (most) * (sizes[k] + 16))
			fail_msg("%zu-byte blocks: %zu kept (%zu bytes), at most %zu", sizes[k], kept, bytes, most);
		assert_true(kept >= 4);
		rl_crypto_mem_drain();
	}
}

static void *alloc_in_thread(void *arg)
{
	void **out = arg;
	*out = rl_crypto_malloc(64, F);
	void *kept = rl_crypto_malloc(64, F);
	rl_crypto_free(kept, F); /* this thread's list: handed back when it ends */
	return NULL;
}

static void crypto_mem_a_block_goes_to_the_thread_that_frees_it(void **s)
{
	void *made = NULL;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, alloc_in_thread, &made), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_non_null(made);
	assert_int_equal(rl_crypto_mem_cached(NULL), 0);
	rl_crypto_free(made, F);
	assert_int_equal(rl_crypto_mem_cached(NULL), 1);
	assert_ptr_equal(rl_crypto_malloc(64, F), made);
	rl_crypto_free(made, F);
	rl_crypto_mem_drain();
}

static void crypto_mem_openssl_allocates_through_it(void **s)
{
	/* installed in main, before anything called OpenSSL; under ASan on purpose not, so
	 * that ASan sees every block: then nothing of OpenSSL's is kept */
	rl_crypto_mem_drain();
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(ctx);
	SSL *ssl = SSL_new(ctx);
	assert_non_null(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	size_t kept = rl_crypto_mem_cached(NULL);
#if defined(__SANITIZE_ADDRESS__)
	assert_int_equal(kept, 0);
#else
	assert_true(kept > 10);
#endif
	rl_crypto_mem_drain();
}

int main(void)
{
#if defined(__SANITIZE_ADDRESS__)
	if (rl_crypto_mem_install())
		return 1;
#else
	if (!rl_crypto_mem_install())
		return 1;
#endif
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crypto_mem_every_size_is_usable_and_aligned),
		cmocka_unit_test(crypto_mem_a_freed_block_is_the_next_of_its_class),
		cmocka_unit_test(crypto_mem_realloc_keeps_the_contents),
		cmocka_unit_test(crypto_mem_lists_stay_bounded),
		cmocka_unit_test(crypto_mem_a_block_goes_to_the_thread_that_frees_it),
		cmocka_unit_test(crypto_mem_openssl_allocates_through_it),
	};
	return cmocka_run_group_tests_name("crypto_mem", tests, NULL, NULL);
}
