/* Reading a saved result back (src/report/result_json.c): what is not a ringload result
 * is refused with a message naming the file; histograms round-trip exactly through
 * their encoded counts; a count that disagrees with its histogram is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ringload/result_json.h"

static char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/rl-result-json.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void result_load_refuses_what_is_not_a_result(void **s)
{
	char err[256];
	const char *bad[] = { "not json", "{\"tool\": \"wrk\", \"total\": {}, \"targets\": []}",
			      "{\"tool\": \"ringload\", \"targets\": []}", "[1, 2]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *p = write_tmp(bad[i]);
		err[0] = 0;
		assert_null(rl_result_load("compare", p, err, sizeof(err)));
		assert_non_null(strstr(err, "compare: "));
		assert_non_null(strstr(err, p));
		unlink(p);
	}
	assert_null(rl_result_load("merge", "/nonexistent/r.json", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/r.json"));
}

static void result_load_takes_a_minimal_result(void **s)
{
	char err[256];
	char *p = write_tmp("{\"tool\": \"ringload\", \"total\": {\"requests\": 7, \"latency_ms\": {\"p99\": 2.5}}, "
			    "\"targets\": []}");
	json_t *root = rl_result_load("compare", p, err, sizeof(err));
	assert_non_null(root);
	struct rl_metrics m;
	rl_metrics_from_json(json_object_get(root, "total"), &m);
	assert_int_equal(m.requests, 7);
	assert_float_equal(m.latency.p99, 2.5, 1e-9);
	assert_int_equal(m.failed, 0); /* missing reads as zero */
	json_decref(root);
	unlink(p);
}

static void hist_round_trips_through_json(void **s)
{
	struct rl_hist *h = malloc(sizeof(*h)), *back = malloc(sizeof(*back));
	rl_hist_reset(h);
	for (uint64_t us = 1; us < 5000000; us = us * 3 + 1)
		rl_hist_record(h, us);
	char *enc = malloc(rl_hist_encoded_max());
	assert_true(rl_hist_encode(h, enc, rl_hist_encoded_max()) > 0);
	json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:f}", "counts", enc, "count", (json_int_t)h->total,
			      "min", (json_int_t)h->min_us, "max", (json_int_t)h->max_us,
			      "sum", (json_int_t)h->sum_us, "sum_sq", h->sum_sq_us);
	assert_int_equal(rl_hist_from_json(j, back), 0);
	assert_int_equal(back->total, h->total);
	assert_int_equal(back->max_us, h->max_us);
	for (double p = 1; p < 100; p += 7)
		assert_float_equal(rl_hist_percentile(back, p), rl_hist_percentile(h, p), 1e-9);
	json_object_set_new(j, "count", json_integer((json_int_t)h->total + 1));
	assert_int_equal(rl_hist_from_json(j, back), -1); /* the count disagrees */
	json_decref(j);
	free(enc);
	free(h);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(result_load_refuses_what_is_not_a_result),
		cmocka_unit_test(result_load_takes_a_minimal_result),
		cmocka_unit_test(hist_round_trips_through_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
