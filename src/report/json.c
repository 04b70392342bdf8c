/* The JSON result of SPEC.md: config, per-target and total statistics with lossless
 * histograms, and the client's own cost. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonw.h"
#include "ringload/report.h"

static void summary(struct rl_jw *w, const char *key, const struct rl_hist_summary *s)
{
	rl_jw_obj(w, key);
	rl_jw_u64(w, "count", s->count);
	rl_jw_num(w, "min", s->min, 3);
	rl_jw_num(w, "mean", s->mean, 3);
	rl_jw_num(w, "stddev", s->stddev, 3);
	rl_jw_num(w, "p50", s->p50, 3);
	rl_jw_num(w, "p90", s->p90, 3);
	rl_jw_num(w, "p95", s->p95, 3);
	rl_jw_num(w, "p99", s->p99, 3);
	rl_jw_num(w, "p999", s->p999, 3);
	rl_jw_num(w, "max", s->max, 3);
	rl_jw_end_obj(w);
}

static int histogram(struct rl_jw *w, const char *key, const struct rl_hist *h)
{
	size_t cap = rl_hist_encoded_max();
	char *text = malloc(cap);
	if (!text || rl_hist_encode(h, text, cap) < 0) {
		free(text);
		return -1;
	}
	rl_jw_obj(w, key);
	rl_jw_str(w, "encoding", "rl-hdr-v1");
	rl_jw_str(w, "unit", "us");
	rl_jw_u64(w, "significant_digits", RL_HIST_SIG_DIGITS);
	rl_jw_u64(w, "lowest", 1);
	rl_jw_u64(w, "highest", RL_HIST_HIGHEST_US);
	rl_jw_u64(w, "count", h->total);
	rl_jw_u64(w, "min", h->total ? h->min_us : 0);
	rl_jw_u64(w, "max", h->max_us);
	rl_jw_u64(w, "sum", h->sum_us);
	rl_jw_num(w, "sum_sq", h->sum_sq_us, 0);
	rl_jw_str(w, "counts", text);
	rl_jw_end_obj(w);
	free(text);
	return 0;
}

static void json_count(void *w, const char *name, uint64_t n)
{
	rl_jw_u64(w, name, n);
}

static void history(struct rl_jw *w, const struct rl_result *res, size_t col, bool open_loop)
{
	rl_jw_arr(w, "history");
	for (size_t i = 0; i < res->nhistory; i++) {
		const struct rl_history_row *r = &res->history[i * (res->ntargets + 1) + col];
		rl_jw_obj(w, NULL);
		rl_jw_num(w, "t", r->t, 3);
		rl_jw_u64(w, "requests", r->requests);
		rl_jw_u64(w, "errors", r->failed);
		rl_jw_num(w, "rps", r->rps, 3);
		rl_jw_num(w, "p50_ms", r->p50_ms, 3);
		rl_jw_num(w, "p90_ms", r->p90_ms, 3);
		rl_jw_num(w, "p99_ms", r->p99_ms, 3);
		rl_jw_num(w, "max_ms", r->max_ms, 3);
		rl_jw_num(w, "p99_ok_ms", r->p99_ok_ms, 3);
		rl_jw_u64(w, "users", r->users);
		if (col == res->ntargets && open_loop) /* the offered rate is the run's, not a target's */
			rl_jw_num(w, "target_rps", r->target_rps, 3);
		rl_jw_end_obj(w);
	}
	rl_jw_end_arr(w);
}

static int stats(struct rl_jw *w, const struct rl_stats *s, double duration_s, bool open_loop)
{
	struct rl_metrics m;
	rl_metrics_compute(s, duration_s, &m);
	rl_jw_u64(w, "requests", m.requests);
	rl_jw_u64(w, "successful", m.successful);
	rl_jw_u64(w, "failed", m.failed);
	rl_jw_u64(w, "timeouts", m.timeouts);
	rl_jw_u64(w, "unfinished", s->unfinished);
	rl_jw_num(w, "success_rate", m.success_rate, 3);
	rl_jw_num(w, "throughput_rps", m.throughput_rps, 3);
	rl_jw_num(w, "throughput_ok_rps", m.throughput_ok_rps, 3);
	rl_jw_u64(w, "bytes_received", s->bytes_received);
	rl_jw_u64(w, "bytes_sent", s->bytes_sent);
	rl_jw_num(w, "avg_payload_bytes", m.avg_payload_bytes, 3);
	rl_jw_num(w, "transfer_bytes_per_s", m.transfer_bytes_per_s, 3);
	rl_jw_num(w, "payload_bytes_per_s", m.payload_bytes_per_s, 3);
	rl_jw_num(w, "network_efficiency_bytes_per_ms", m.network_efficiency_bytes_per_ms, 3);
	summary(w, "latency_ms", &m.latency);
	summary(w, "latency_ok_ms", &m.latency_ok);
	summary(w, "connect_ms", &m.connect);
	if (m.tls.count) {
		summary(w, "tls_ms", &m.tls);
		rl_jw_u64(w, "handshakes_full", s->handshakes_full);
		rl_jw_u64(w, "handshakes_resumed", s->handshakes_resumed);
	}
	if (s->agreed.version[0]) {
		rl_jw_obj(w, "tls");
		rl_jw_str(w, "version", s->agreed.version);
		rl_jw_str(w, "cipher", s->agreed.cipher);
		rl_jw_str(w, "alpn", s->agreed.alpn);
		rl_jw_u64(w, "handshakes_full", s->handshakes_full);
		rl_jw_u64(w, "handshakes_resumed", s->handshakes_resumed);
		rl_jw_end_obj(w);
	}
	summary(w, "ttfb_ms", &m.ttfb);
	summary(w, "download_ms", &m.download);
	if (m.client_delay.count) {
		summary(w, "client_delay_ms", &m.client_delay);
		summary(w, "ttfb_kernel_ms", &m.ttfb_kernel);
		summary(w, "latency_kernel_ms", &m.latency_kernel);
	}
	if (open_loop) {
		summary(w, "latency_uncorrected_ms", &m.latency_uncorrected);
		summary(w, "client_queue_ms", &m.queue);
	}
	rl_jw_obj(w, "status_codes");
	rl_stats_each_status(s, json_count, w);
	rl_jw_end_obj(w);
	rl_jw_obj(w, "errors");
	rl_stats_each_error(s, json_count, w);
	rl_jw_end_obj(w);
	rl_jw_obj(w, "connections");
	rl_jw_u64(w, "opened", s->conns_opened);
	rl_jw_u64(w, "reconnects", s->reconnects);
	rl_jw_u64(w, "closed_unsolicited_bytes", s->unsolicited);
	rl_jw_u64(w, "goaways", s->goaways);
	rl_jw_u64(w, "retried_requests", s->retried);
	rl_jw_end_obj(w);
	/* lossless: `ringload merge` recomputes every percentile from these */
	rl_jw_u64(w, "payload_bytes", s->payload_bytes);
	return histogram(w, "histogram", &s->latency) | histogram(w, "latency_ok_histogram", &s->latency_ok) |
	       histogram(w, "connect_histogram", &s->connect) | (s->tls.total ? histogram(w, "tls_histogram", &s->tls) : 0) |
	       histogram(w, "ttfb_histogram", &s->ttfb) | histogram(w, "download_histogram", &s->download) |
	       (s->client_delay.total ? histogram(w, "client_delay_histogram", &s->client_delay) |
					histogram(w, "ttfb_kernel_histogram", &s->ttfb_kernel) |
					histogram(w, "latency_kernel_histogram", &s->latency_kernel) : 0);
}

int rl_report_json(FILE *f, const struct rl_report *r)
{
	const struct rl_options *o = r->opt;
	const struct rl_result *res = r->res;
	struct rl_jw w;
	rl_jw_init(&w, f);
	rl_jw_obj(&w, NULL);
	rl_jw_str(&w, "tool", "ringload");
	rl_jw_str(&w, "version", RINGLOAD_VERSION);
	char when[32];
	struct tm tm;
	gmtime_r(&res->started_at.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rl_jw_str(&w, "started_at", when);
	rl_jw_u64(&w, "started_at_ms", (uint64_t)res->started_at.tv_sec * 1000 +
					(uint64_t)res->started_at.tv_nsec / 1000000);

	rl_jw_obj(&w, "config");
	rl_jw_arr(&w, "urls");
	for (size_t i = 0; i < o->nurls; i++)
		rl_jw_str(&w, NULL, o->urls[i]);
	rl_jw_end_arr(&w);
	rl_jw_str(&w, "protocol", rl_report_protocol_name(o->proto));
	if (o->scenario_path)
		rl_jw_str(&w, "scenario", o->scenario_path);
	if (o->proto == RL_PROTO_H1)
		rl_jw_u64(&w, "pipeline", o->pipeline);
	else
		rl_jw_u64(&w, "streams", o->streams);
	if (o->proto != RL_PROTO_H1) {
		rl_jw_u64(&w, "h2_window", o->h2_window);
		rl_jw_u64(&w, "h2_connection_window", o->h2_conn_window);
		rl_jw_u64(&w, "h2_retries", o->h2_retries);
	}
	if (o->grpc_method) {
		rl_jw_str(&w, "grpc_method", o->grpc_method);
		rl_jw_str(&w, "data", o->data ? o->data : "");
		rl_jw_u64(&w, "max_msg", o->max_msg);
	}
	rl_jw_str(&w, "load_model", o->rate > 0 ? "open" : "closed");
	if (o->rate > 0)
		rl_jw_num(&w, "rate", o->rate, 3);
	if (o->nstages) {
		rl_jw_arr(&w, "stages");
		for (size_t i = 0; i < o->nstages; i++) {
			char st[64];
			snprintf(st, sizeof(st), "%.3fs:%s%g", (double)o->stages[i].dur_ns / 1e9,
				 o->stages[i].step ? "=" : "", o->stages[i].level);
			rl_jw_str(&w, NULL, st);
		}
		rl_jw_end_arr(&w);
	}
	rl_jw_u64(&w, "connections", o->connections);
	rl_jw_u64(&w, "threads", o->threads);
	rl_jw_num(&w, "duration_s", (double)o->duration_ns / 1e9, 3);
	rl_jw_u64(&w, "requests", o->requests);
	rl_jw_str(&w, "method", o->method);
	rl_jw_arr(&w, "headers");
	for (size_t i = 0; i < o->nheaders; i++) {
		char h[8192];
		snprintf(h, sizeof(h), "%.*s: %.*s", (int)o->headers[i].name_len, o->headers[i].name,
			 (int)o->headers[i].value_len, o->headers[i].value);
		rl_jw_str(&w, NULL, h);
	}
	rl_jw_end_arr(&w);
	rl_jw_u64(&w, "body_bytes", o->body_len);
	rl_jw_num(&w, "timeout_s", (double)o->timeout_ns / 1e9, 3);
	rl_jw_num(&w, "connect_timeout_s", (double)o->connect_timeout_ns / 1e9, 3);
	rl_jw_obj(&w, "engine");
	rl_jw_bool(&w, "defer_taskrun", res->features.defer_taskrun);
	rl_jw_bool(&w, "buffer_ring", res->features.buf_ring);
	rl_jw_bool(&w, "fixed_files", res->features.fixed_files);
	rl_jw_bool(&w, "kernel_timestamps", res->features.rx_timestamps);
	rl_jw_bool(&w, "lazy_harvest", res->features.lazy_harvest);
	rl_jw_end_obj(&w);
	rl_jw_end_obj(&w);

	rl_jw_num(&w, "duration_s", res->duration_s, 6);
	rl_jw_bool(&w, "interrupted", res->interrupted);
	rl_jw_u64(&w, "preflight_requests", r->preflight_requests);
	if (o->shards > 1) {
		/* a shard of a sharded run: what `ringload merge` checks and lines up */
		char plan[24];
		snprintf(plan, sizeof(plan), "%016llx", (unsigned long long)o->plan_fingerprint);
		rl_jw_obj(&w, "shard");
		rl_jw_u64(&w, "count", o->shards);
		rl_jw_str(&w, "plan", plan);
		if (!r->nshard_rows) {
			uint64_t started = (uint64_t)res->started_at.tv_sec * 1000000000ULL + (uint64_t)res->started_at.tv_nsec;
			rl_jw_u64(&w, "index", o->shard);
			if (o->start_at_ns > 0) {
				rl_jw_u64(&w, "start_at_ms", (uint64_t)o->start_at_ns / 1000000);
				rl_jw_num(&w, "start_offset_ms", ((double)started - (double)o->start_at_ns) / 1e6, 3);
			}
		} else {
			rl_jw_arr(&w, "shards");
			for (size_t i = 0; i < r->nshard_rows; i++) {
				rl_jw_obj(&w, NULL);
				rl_jw_u64(&w, "index", r->shard_rows[i].index);
				rl_jw_u64(&w, "started_at_ms", r->shard_rows[i].started_at_ms);
				rl_jw_num(&w, "start_offset_ms", r->shard_rows[i].start_offset_ms, 3);
				rl_jw_end_obj(&w);
			}
			rl_jw_end_arr(&w);
		}
		rl_jw_end_obj(&w);
	}
	if (o->rate > 0) {
		rl_jw_obj(&w, "rate");
		rl_jw_num(&w, "target_rps", rl_report_target_rps(o), 3);
		rl_jw_num(&w, "achieved_rps", rl_report_achieved_rps(res), 3);
		rl_jw_u64(&w, "not_sent", res->not_sent);
		rl_jw_u64(&w, "max_backlog", res->max_backlog);
		const char *why = rl_report_rate_shortfall(o, res);
		if (why)
			rl_jw_str(&w, "warning", why);
		rl_jw_end_obj(&w);
	}
	int rc = 0;
	rl_jw_arr(&w, "targets");
	for (size_t i = 0; i < res->ntargets; i++) {
		rl_jw_obj(&w, NULL);
		rl_jw_str(&w, "name", r->targets[i].name);
		rl_jw_str(&w, "url", r->targets[i].url);
		rl_jw_str(&w, "protocol", rl_report_protocol_name(r->targets[i].proto));
		rl_jw_u64(&w, "weight", r->targets[i].weight);
		rc |= stats(&w, &res->targets[i], res->duration_s, o->rate > 0);
		history(&w, res, i, o->rate > 0);
		rl_jw_end_obj(&w);
	}
	rl_jw_end_arr(&w);
	rl_jw_obj(&w, "total");
	rc |= stats(&w, &res->total, res->duration_s, o->rate > 0);
	history(&w, res, res->ntargets, o->rate > 0);
	rl_jw_end_obj(&w);
	if (res->ntargets > 1) { /* the console's comparison table, winners and all */
		const char *names[RL_MAX_TARGETS];
		struct rl_metrics m[RL_MAX_TARGETS];
		rl_jw_obj(&w, "comparison");
		rl_report_comparison_jw(&w, names, m, rl_report_target_metrics(r, names, m), RL_CMP_TIE_PCT);
		rl_jw_end_obj(&w);
	}

	if (res->ngroups) {
		rl_jw_arr(&w, "groups");
		for (size_t g = 0; g < res->ngroups; g++) {
			const struct rl_group_def *gd = &r->groups[g];
			const struct rl_group_stats *gs = &res->groups[g];
			rl_jw_obj(&w, NULL);
			rl_jw_str(&w, "name", gd->name);
			rl_jw_arr(&w, "members");
			for (uint32_t m = 0; m < gd->nmembers; m++)
				rl_jw_str(&w, NULL, r->targets[gd->members[m]].name);
			rl_jw_end_arr(&w);
			rl_jw_u64(&w, "concurrency", gd->concurrency);
			rl_jw_num(&w, "timeout_s", (double)gd->timeout_ns / 1e9, 3);
			rl_jw_u64(&w, "rounds", gs->rounds);
			rl_jw_num(&w, "batches_per_s", res->duration_s > 0 ? (double)gs->rounds / res->duration_s : 0, 3);
			rl_jw_u64(&w, "full_success", gs->full);
			rl_jw_u64(&w, "partial_success", gs->partial);
			rl_jw_u64(&w, "total_failure", gs->failed);
			rl_jw_obj(&w, "rounds_by_successes");
			for (uint32_t k = 0; k <= gd->nmembers; k++) {
				if (!gs->by_successes[k])
					continue;
				char key[8];
				snprintf(key, sizeof(key), "%u", k);
				rl_jw_u64(&w, key, gs->by_successes[k]);
			}
			rl_jw_end_obj(&w);
			struct rl_hist_summary h;
			rl_hist_summarize(&gs->latency, &h);
			summary(&w, "latency_ms", &h);
			rl_jw_arr(&w, "history"); /* each second's rounds (batches) and batch times */
			for (size_t k = 0; res->ghistory && k < res->nhistory; k++) {
				const struct rl_history_row *row = &res->ghistory[k * res->ngroups + g];
				rl_jw_obj(&w, NULL);
				rl_jw_num(&w, "t", row->t, 3);
				rl_jw_u64(&w, "rounds", row->requests);
				rl_jw_u64(&w, "not_full", row->failed);
				rl_jw_num(&w, "batches_per_s", row->rps, 3);
				rl_jw_num(&w, "p50_ms", row->p50_ms, 3);
				rl_jw_num(&w, "p90_ms", row->p90_ms, 3);
				rl_jw_num(&w, "p99_ms", row->p99_ms, 3);
				rl_jw_num(&w, "max_ms", row->max_ms, 3);
				rl_jw_end_obj(&w);
			}
			rl_jw_end_arr(&w);
			rl_jw_end_obj(&w);
		}
		rl_jw_end_arr(&w);
	}
	if (res->nstages) {
		rl_jw_arr(&w, "stages");
		uint64_t start = 0;
		for (size_t i = 0; i < res->nstages; i++) {
			const struct rl_stage *sg = &o->stages[i];
			struct rl_metrics m;
			rl_metrics_compute(&res->stages[i], (double)sg->dur_ns / 1e9, &m);
			rl_jw_obj(&w, NULL);
			rl_jw_u64(&w, "stage", i + 1);
			rl_jw_num(&w, "start_s", (double)start / 1e9, 3);
			rl_jw_num(&w, "duration_s", (double)sg->dur_ns / 1e9, 3);
			rl_jw_str(&w, "load", o->rate > 0 ? "rate" : "connections");
			rl_jw_num(&w, "level", sg->level, 3);
			rl_jw_bool(&w, "step", sg->step);
			rl_jw_u64(&w, "requests", m.requests);
			rl_jw_u64(&w, "successful", m.successful);
			rl_jw_u64(&w, "failed", m.failed);
			rl_jw_num(&w, "throughput_rps", m.throughput_rps, 3);
			summary(&w, "latency_ms", &m.latency);
			rl_jw_obj(&w, "errors");
			rl_stats_each_error(&res->stages[i], json_count, &w);
			rl_jw_end_obj(&w);
			rl_jw_end_obj(&w);
			start += sg->dur_ns;
		}
		rl_jw_end_arr(&w);
	}

	rl_jw_obj(&w, "client");
	rl_jw_num(&w, "cpu_user_s", res->cpu_user_s, 6);
	rl_jw_num(&w, "cpu_sys_s", res->cpu_sys_s, 6);
	rl_jw_num(&w, "cpu_us_per_request", rl_report_cpu_us_per_request(res), 3);
	rl_jw_u64(&w, "max_rss_kb", (uint64_t)res->max_rss_kb);
	rl_jw_u64(&w, "io_uring_enters", res->io.enters);
	rl_jw_u64(&w, "sends", res->io.sends);
	rl_jw_u64(&w, "recv_completions", res->io.recvs);
	rl_jw_num(&w, "io_uring_enters_per_request", rl_report_per_request(res, res->io.enters), 4);
	char delay[320];
	if (rl_report_client_delay_warning(res, delay, sizeof(delay)))
		rl_jw_str(&w, "client_delay_warning", delay);
	rl_jw_end_obj(&w);
	rl_jw_end_obj(&w);
	return rc || ferror(f) ? -1 : 0;
}
