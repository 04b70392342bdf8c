/* A saved result read back (see result_json.h): shared by compare, merge and report,
 * so the three agree on what each field means. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/result_json.h"

json_t *rl_result_load(const char *verb, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (!root) {
		snprintf(err, errlen, "%s: cannot read '%s': %s", verb, path, jerr.text);
		return NULL;
	}
	json_t *tool = json_object_get(root, "tool"), *total = json_object_get(root, "total");
	if (!json_is_string(tool) || strcmp(json_string_value(tool), "ringload") || !json_is_object(total) ||
	    !json_is_array(json_object_get(root, "targets"))) {
		json_decref(root);
		snprintf(err, errlen, "%s: '%s' is not a ringload JSON result", verb, path);
		return NULL;
	}
	return root;
}

double rl_json_num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : 0;
}

uint64_t rl_json_u64(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
	return json_is_real(v) && json_real_value(v) > 0 ? (uint64_t)llround(json_real_value(v)) : 0;
}

const char *rl_json_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

int rl_hist_from_json(json_t *j, struct rl_hist *h)
{
	json_t *counts = json_object_get(j, "counts");
	if (!json_is_string(counts) ||
	    rl_hist_decode(h, json_string_value(counts), json_string_length(counts)) ||
	    h->total != rl_json_u64(j, "count"))
		return -1;
	h->min_us = h->total ? rl_json_u64(j, "min") : UINT64_MAX;
	h->max_us = rl_json_u64(j, "max");
	h->sum_us = rl_json_u64(j, "sum");
	h->sum_sq_us = rl_json_num(j, "sum_sq");
	return 0;
}

static void summary_from_json(json_t *j, struct rl_hist_summary *s)
{
	s->count = rl_json_u64(j, "count");
	s->min = rl_json_num(j, "min");
	s->mean = rl_json_num(j, "mean");
	s->stddev = rl_json_num(j, "stddev");
	s->p50 = rl_json_num(j, "p50");
	s->p90 = rl_json_num(j, "p90");
	s->p95 = rl_json_num(j, "p95");
	s->p99 = rl_json_num(j, "p99");
	s->p999 = rl_json_num(j, "p999");
	s->max = rl_json_num(j, "max");
}

void rl_metrics_from_json(json_t *o, struct rl_metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->requests = rl_json_u64(o, "requests");
	m->successful = rl_json_u64(o, "successful");
	m->failed = rl_json_u64(o, "failed");
	m->timeouts = rl_json_u64(o, "timeouts");
	m->success_rate = rl_json_num(o, "success_rate");
	m->throughput_rps = rl_json_num(o, "throughput_rps");
	m->throughput_ok_rps = rl_json_num(o, "throughput_ok_rps");
	m->payload_bytes_per_s = rl_json_num(o, "payload_bytes_per_s");
	m->transfer_bytes_per_s = rl_json_num(o, "transfer_bytes_per_s");
	m->avg_payload_bytes = rl_json_num(o, "avg_payload_bytes");
	m->network_efficiency_bytes_per_ms = rl_json_num(o, "network_efficiency_bytes_per_ms");
	summary_from_json(json_object_get(o, "latency_ms"), &m->latency);
	summary_from_json(json_object_get(o, "latency_ok_ms"), &m->latency_ok);
	summary_from_json(json_object_get(o, "connect_ms"), &m->connect);
	summary_from_json(json_object_get(o, "tls_ms"), &m->tls);
	summary_from_json(json_object_get(o, "ttfb_ms"), &m->ttfb);
	summary_from_json(json_object_get(o, "download_ms"), &m->download);
	summary_from_json(json_object_get(o, "client_delay_ms"), &m->client_delay);
	summary_from_json(json_object_get(o, "ttfb_kernel_ms"), &m->ttfb_kernel);
	summary_from_json(json_object_get(o, "latency_kernel_ms"), &m->latency_kernel);
}

void rl_metrics_from_group_json(json_t *g, struct rl_metrics *m)
{
	json_t *lat = json_object_get(g, "latency_ms");
	summary_from_json(lat, &m->latency);
	summary_from_json(lat, &m->latency_ok);
	uint64_t rounds = rl_json_u64(g, "rounds");
	m->requests = rounds;
	m->successful = rl_json_u64(g, "full_success");
	m->failed = rounds - m->successful;
	m->success_rate = rounds ? 100.0 * (double)m->successful / (double)rounds : 0;
	m->throughput_rps = rl_json_num(g, "batches_per_s");
	m->throughput_ok_rps = 0;
}
