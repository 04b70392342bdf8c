/* Statistics merge and the accounting identity failed == sum of error categories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ringload/report.h"
#include "ringload/stats.h"

static void stats_merge_sums_every_counter(void **s)
{
	struct rl_stats *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	rl_stats_init(a);
	rl_stats_init(b);
	a->requests = 10, a->successful = 7, a->failed = 3;
	a->status[200] = 7, a->status[503] = 2, a->errors[RL_ERR_TIMEOUT] = 1;
	b->requests = 5, b->successful = 4, b->failed = 1;
	b->status[200] = 4, b->errors[RL_ERR_RESET] = 1, b->bytes_received = 99;
	rl_hist_record(&a->latency, 100);
	rl_hist_record(&b->latency, 300);
	rl_stats_merge(a, b);
	assert_int_equal(a->requests, 15);
	assert_int_equal(a->successful + a->failed, a->requests);
	assert_int_equal(rl_stats_error_sum(a), a->failed);
	assert_int_equal(a->status[200], 11);
	assert_int_equal(a->bytes_received, 99);
	assert_int_equal(a->latency.total, 2);
	assert_int_equal(a->latency.max_us, 300);
	free(a);
	free(b);
}

static void metrics_derive_rates_and_efficiency(void **s)
{
	struct rl_stats *st = malloc(sizeof(*st));
	rl_stats_init(st);
	st->requests = 100, st->successful = 80, st->failed = 20;
	st->errors[RL_ERR_TIMEOUT] = 15, st->errors[RL_ERR_CONNECT_TIMEOUT] = 5;
	st->payload_bytes = 8000, st->bytes_received = 20000;
	for (int i = 0; i < 100; i++)
		rl_hist_record(&st->latency, 2000); /* 2 ms */
	struct rl_metrics m;
	rl_metrics_compute(st, 2.0, &m);
	assert_true(m.success_rate == 80.0);
	assert_true(m.throughput_rps == 50.0);
	assert_true(m.transfer_bytes_per_s == 10000.0);
	assert_true(m.avg_payload_bytes == 100.0);
	assert_true(m.network_efficiency_bytes_per_ms == 50.0);
	assert_int_equal(m.timeouts, 20);
	free(st);
}

static void collect(void *ctx, const char *name, uint64_t n)
{
	char *out = ctx;
	char row[96];
	snprintf(row, sizeof(row), "%s=%llu;", name, (unsigned long long)n);
	strcat(out, row);
}

/* A fatal alert is one failure category per description, named as RFC 8446 names it,
 * counted once in the error sum; the names read back. */
static void stats_tls_alerts_by_description(void **s)
{
	struct rl_stats *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	rl_stats_init(a);
	rl_stats_init(b);
	a->requests = a->failed = 3;
	a->errors[RL_ERR_TLS_ALERT] = 3, a->tls_alert[116] = 2, a->tls_alert[40] = 1;
	b->requests = b->failed = 1;
	b->errors[RL_ERR_TLS_ALERT] = 1, b->tls_alert[116] = 1;
	snprintf(b->agreed.version, sizeof(b->agreed.version), "TLSv1.3");
	rl_stats_merge(a, b);
	assert_int_equal(rl_stats_error_sum(a), a->failed);
	assert_string_equal(a->agreed.version, "TLSv1.3");
	char out[256] = "";
	rl_stats_each_error(a, collect, out);
	assert_string_equal(out, "tls_alert:handshake_failure=1;tls_alert:certificate_required=3;");
	char buf[16];
	for (unsigned code = 0; code < RL_TLS_ALERTS; code++)
		assert_int_equal(rl_tls_alert_parse(rl_tls_alert_name(code, buf, sizeof(buf))), code);
	assert_string_equal(rl_tls_alert_name(7, buf, sizeof(buf)), "alert_7");
	assert_int_equal(rl_tls_alert_parse("no_such_alert"), -1);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stats_merge_sums_every_counter),
		cmocka_unit_test(metrics_derive_rates_and_efficiency),
		cmocka_unit_test(stats_tls_alerts_by_description),
	};
	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
