/* `ringload merge -o OUT.json IN.json...`: runs taken on several machines at once, as one
 * result. Counts are summed and every histogram is decoded and merged, so percentiles
 * are recomputed, not averaged; the merge of two halves equals one run's counts. The
 * history rows are aligned by wall-clock second: their counts are summed, their
 * percentiles are the worst of the rows merged (rows carry no histograms). */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/report.h"
#include "ringload/result_json.h"
#include "verb.h"

static int add_hist(struct rl_hist *dst, json_t *j)
{
	struct rl_hist *h = malloc(sizeof(*h));
	int rc = h ? rl_hist_from_json(j, h) : -1;
	if (!rc)
		rl_hist_merge(dst, h);
	free(h);
	return rc;
}

/* Adds one saved target (or total) into s; -1 if a field is missing or malformed. */
static int add_stats(struct rl_stats *s, json_t *o)
{
	s->requests += rl_json_u64(o, "requests");
	s->successful += rl_json_u64(o, "successful");
	s->failed += rl_json_u64(o, "failed");
	s->unfinished += rl_json_u64(o, "unfinished");
	s->bytes_received += rl_json_u64(o, "bytes_received");
	s->bytes_sent += rl_json_u64(o, "bytes_sent");
	s->payload_bytes += rl_json_u64(o, "payload_bytes");
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(o, "status_codes"), key, v) {
		char *end;
		long code = strtol(key, &end, 10);
		int g = rl_grpc_status_parse(key, strlen(key));
		if (!*end && code >= 0 && code < RL_STATUS_MAX)
			s->status[code] += (uint64_t)json_integer_value(v);
		else if (g >= 0 && !(key[0] >= '0' && key[0] <= '9'))
			s->grpc_status[g] += (uint64_t)json_integer_value(v);
		else
			return -1;
	}
	json_object_foreach(json_object_get(o, "errors"), key, v) {
		bool known = !strncmp(key, "http_", 5) || !strncmp(key, "grpc_", 5); /* from statuses */
		for (int i = 0; i < RL_ERR_COUNT && !known; i++)
			if (!strcmp(key, rl_err_names[i])) {
				s->errors[i] += (uint64_t)json_integer_value(v);
				known = true;
			}
		for (uint32_t c = 0; c < RL_H2_ERROR_CODES && !known && !strncmp(key, "stream_reset:", 13); c++)
			if (!strcmp(key + 13, nghttp2_http2_strerror(c))) {
				s->stream_reset[c] += (uint64_t)json_integer_value(v);
				known = true;
			}
		int alert = strncmp(key, "tls_alert:", 10) ? -1 : rl_tls_alert_parse(key + 10);
		if (alert >= 0 && !known) {
			s->tls_alert[alert] += (uint64_t)json_integer_value(v);
			s->errors[RL_ERR_TLS_ALERT] += (uint64_t)json_integer_value(v);
			known = true;
		}
		for (uint32_t c = 0; c < RL_H2_ERROR_CODES && !known && !strncmp(key, "goaway:", 7); c++)
			if (!strcmp(key + 7, nghttp2_http2_strerror(c))) {
				s->goaway_failed[c] += (uint64_t)json_integer_value(v);
				known = true;
			}
		if (!known)
			return -1;
	}
	json_t *conn = json_object_get(o, "connections");
	s->conns_opened += rl_json_u64(conn, "opened");
	s->reconnects += rl_json_u64(conn, "reconnects");
	s->goaways += rl_json_u64(conn, "goaways");
	s->retried += rl_json_u64(conn, "retried_requests");
	s->unsolicited += rl_json_u64(conn, "closed_unsolicited_bytes");
	static const char *const keys[] = { "histogram", "latency_ok_histogram", "connect_histogram",
					    "ttfb_histogram", "download_histogram" };
	struct rl_hist *hs[] = { &s->latency, &s->latency_ok, &s->connect, &s->ttfb, &s->download };
	/* the phases a run may not have: TLS, and the kernel's receive stamps */
	static const char *const optional[] = { "tls_histogram", "client_delay_histogram", "ttfb_kernel_histogram",
						"latency_kernel_histogram" };
	struct rl_hist *ohs[] = { &s->tls, &s->client_delay, &s->ttfb_kernel, &s->latency_kernel };
	for (size_t k = 0; k < sizeof(optional) / sizeof(optional[0]); k++) {
		json_t *h = json_object_get(o, optional[k]);
		if (h && add_hist(ohs[k], h))
			return -1;
	}
	json_t *agreed = json_object_get(o, "tls");
	if (agreed && !s->agreed.version[0]) {
		snprintf(s->agreed.version, sizeof(s->agreed.version), "%s", rl_json_str(agreed, "version"));
		snprintf(s->agreed.cipher, sizeof(s->agreed.cipher), "%s", rl_json_str(agreed, "cipher"));
		snprintf(s->agreed.alpn, sizeof(s->agreed.alpn), "%s", rl_json_str(agreed, "alpn"));
	}
	s->handshakes_full += rl_json_u64(o, "handshakes_full");
	s->handshakes_resumed += rl_json_u64(o, "handshakes_resumed");
	for (int i = 0; i < 5; i++)
		if (add_hist(hs[i], json_object_get(o, keys[i])))
			return -1;
	return 0;
}

/* History rows by wall-clock second across the runs. */
/* Shards of one run: the same plan and count, every index once. Fills rows (each
 * file's start) and o's shard fields; 0, or 2 after saying what is wrong. Runs that are
 * not shards merge as before (several machines started by hand). */
static int check_shards(json_t **docs, char **paths, size_t n, struct rl_options *o, struct rl_shard_row *rows)
{
	json_t *first = json_object_get(docs[0], "shard");
	const char *plan = json_string_value(json_object_get(first, "plan"));
	uint64_t count = rl_json_u64(first, "count");
	for (size_t i = 0; i < n; i++) {
		json_t *sh = json_object_get(docs[i], "shard");
		if (!first != !sh) {
			fprintf(stderr, "ringload merge: '%s' is %sa shard, '%s' is %s\n", paths[i], sh ? "" : "not ",
				paths[0], first ? "one" : "not");
			return 2;
		}
		if (!sh)
			continue;
		const char *p = json_string_value(json_object_get(sh, "plan"));
		if (json_object_get(sh, "shards")) {
			fprintf(stderr, "ringload merge: '%s' is already a merge of shards\n", paths[i]);
			return 2;
		}
		if (!p || !plan || strcmp(p, plan) || rl_json_u64(sh, "count") != count) {
			fprintf(stderr, "ringload merge: '%s' is shard of plan %s (of %llu), '%s' of plan %s (of %llu): "
				"not one run\n", paths[i], p ? p : "?", (unsigned long long)rl_json_u64(sh, "count"),
				paths[0], plan ? plan : "?", (unsigned long long)count);
			return 2;
		}
		rows[i].index = (uint32_t)rl_json_u64(sh, "index");
		rows[i].started_at_ms = rl_json_u64(docs[i], "started_at_ms");
		rows[i].start_offset_ms = json_number_value(json_object_get(sh, "start_offset_ms"));
	}
	if (!first)
		return 0;
	char missing[256] = "", doubled[256] = "";
	for (uint64_t k = 0; k < count; k++) {
		size_t seen = 0;
		for (size_t i = 0; i < n; i++)
			seen += rows[i].index == k;
		char *list = !seen ? missing : seen > 1 ? doubled : NULL;
		if (list && strlen(list) < sizeof(missing) - 24)
			snprintf(list + strlen(list), sizeof(missing) - strlen(list), "%s%llu", list[0] ? ", " : "",
				 (unsigned long long)k);
	}
	for (size_t i = 0; i < n; i++)
		if (rows[i].index >= count && strlen(doubled) < sizeof(doubled) - 24)
			snprintf(doubled + strlen(doubled), sizeof(doubled) - strlen(doubled), "%s%u (of %llu)",
				 doubled[0] ? ", " : "", rows[i].index, (unsigned long long)count);
	if (missing[0] || doubled[0]) {
		fprintf(stderr, "ringload merge: shards of plan %s:%s%s%s%s\n", plan, missing[0] ? " missing " : "",
			missing, doubled[0] ? (missing[0] ? "; doubled " : " doubled ") : "", doubled);
		return 2;
	}
	o->shards = (uint32_t)count;
	o->plan_fingerprint = strtoull(plan, NULL, 16);
	return 0;
}

static int add_history(struct rl_result *res, size_t col, json_t *rows, uint64_t start_ms, uint64_t base_ms)
{
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		double t = json_number_value(json_object_get(r, "t"));
		/* the second of the merged run this row ends in */
		size_t k = (size_t)ceil(((double)(start_ms - base_ms) / 1000.0) + t - 1e-9);
		if (k == 0)
			k = 1;
		if (k > 86400)
			continue;
		if (k > res->nhistory) {
			struct rl_history_row *p = realloc(res->history, k * (res->ntargets + 1) * sizeof(*p));
			if (!p)
				return -1;
			memset(p + res->nhistory * (res->ntargets + 1), 0,
			       (k - res->nhistory) * (res->ntargets + 1) * sizeof(*p));
			res->history = p;
			res->nhistory = k;
		}
		struct rl_history_row *row = &res->history[(k - 1) * (res->ntargets + 1) + col];
		row->t = (double)k;
		row->requests += rl_json_u64(r, "requests");
		row->failed += rl_json_u64(r, "errors");
		row->users += rl_json_u64(r, "users");            /* shards' connections add up */
		row->target_rps += rl_json_num(r, "target_rps"); /* and so do their rates */
		row->rps = (double)row->requests;
		const char *pk[] = { "p50_ms", "p90_ms", "p99_ms", "max_ms", "p99_ok_ms" };
		double *pv[] = { &row->p50_ms, &row->p90_ms, &row->p99_ms, &row->max_ms, &row->p99_ok_ms };
		for (int q = 0; q < 5; q++) {
			double v = json_number_value(json_object_get(r, pk[q]));
			if (v > *pv[q])
				*pv[q] = v;
		}
	}
	return 0;
}

int rl_merge_main(int argc, char **argv)
{
	const char *out = NULL;
	int rc = rl_verb_options(argc, argv, "merge",
				 "usage: ringload merge -o OUT.json IN.json [IN.json...]\n"
				 "One result from runs taken at once on several machines: counts summed,\n"
				 "histograms merged, percentiles recomputed.",
				 &out);
	if (rc >= 0)
		return rc;
	size_t n = (size_t)(argc - optind);
	if (!out || !n) {
		fprintf(stderr, "ringload merge: usage: ringload merge -o OUT.json IN.json [IN.json...]\n");
		return 2;
	}
	char err[512];
	if (rl_report_check_path(out, err, sizeof(err))) {
		fprintf(stderr, "ringload merge: %s\n", err);
		return 2;
	}
	json_t **docs = calloc(n, sizeof(*docs));
	/* on the heap: a result holds a dozen 188 KiB histograms per scope */
	struct rl_result *res = calloc(1, sizeof(*res));
	if (!res) {
		fprintf(stderr, "ringload merge: out of memory\n");
		return 1;
	}
	rl_stats_init(&res->total);
	struct rl_target *targets = NULL;
	struct rl_options o;
	memset(&o, 0, sizeof(o));
	rc = 0;
	uint64_t base_ms = UINT64_MAX;
	uint64_t preflight_requests = 0;
	struct rl_shard_row *shard_rows = calloc(n, sizeof(*shard_rows));
	for (size_t i = 0; i < n && docs; i++) {
		const char *path = argv[optind + i];
		docs[i] = rl_result_load("merge", path, err, sizeof(err));
		if (!docs[i]) {
			fprintf(stderr, "ringload %s\n", err);
			rc = 2;
			break;
		}
		json_t *tg = json_object_get(docs[i], "targets");
		if (i == 0) {
			res->ntargets = json_array_size(tg);
			res->targets = calloc(res->ntargets + 1, sizeof(*res->targets));
			targets = calloc(res->ntargets + 1, sizeof(*targets));
			if (!res->targets || !targets) {
				rc = 1;
				break;
			}
			for (size_t t = 0; t < res->ntargets; t++)
				rl_stats_init(&res->targets[t]);
		} else if (json_array_size(tg) != res->ntargets) {
			fprintf(stderr, "ringload merge: '%s' has %zu targets, '%s' %zu: not runs of one test\n",
				path, json_array_size(tg), argv[optind], res->ntargets);
			rc = 2;
			break;
		}
		uint64_t ms = rl_json_u64(docs[i], "started_at_ms");
		if (ms < base_ms)
			base_ms = ms;
	}
	if (!rc && shard_rows)
		rc = check_shards(docs, argv + optind, n, &o, shard_rows);
	for (size_t i = 0; i < n && !rc; i++) {
		const char *path = argv[optind + i];
		json_t *d = docs[i], *tg = json_object_get(d, "targets"), *client = json_object_get(d, "client");
		for (size_t t = 0; t < res->ntargets && !rc; t++) {
			json_t *jt = json_array_get(tg, t);
			const char *name = json_string_value(json_object_get(jt, "name"));
			if (!name)
				name = json_string_value(json_object_get(jt, "url"));
			if (i == 0) {
				targets[t].name = name;
				targets[t].url = json_string_value(json_object_get(jt, "url"));
				const char *proto = json_string_value(json_object_get(jt, "protocol"));
				targets[t].proto = proto && !strcmp(proto, "grpc") ? RL_PROTO_GRPC
						   : proto && !strcmp(proto, "h2c") ? RL_PROTO_H2 : RL_PROTO_H1;
				targets[t].weight = (unsigned)rl_json_u64(jt, "weight");
			} else if (!name || !targets[t].name || strcmp(name, targets[t].name)) {
				fprintf(stderr, "ringload merge: '%s': target %zu is '%s', not '%s'\n", path, t + 1,
					name ? name : "?", targets[t].name ? targets[t].name : "?");
				rc = 2;
			}
			if (!rc && add_stats(&res->targets[t], jt)) {
				fprintf(stderr, "ringload merge: '%s': target '%s' lacks lossless counts (a result "
					"from an older ringload?)\n", path, name);
				rc = 2;
			}
			if (!rc)
				add_history(res, t, json_object_get(jt, "history"), rl_json_u64(d, "started_at_ms"), base_ms);
		}
		if (rc)
			break;
		add_history(res, res->ntargets, json_object_get(json_object_get(d, "total"), "history"),
			    rl_json_u64(d, "started_at_ms"), base_ms);
		double dur = json_number_value(json_object_get(d, "duration_s"));
		if (dur > res->duration_s)
			res->duration_s = dur;
		res->interrupted |= json_is_true(json_object_get(d, "interrupted"));
		preflight_requests += rl_json_u64(d, "preflight_requests");
		res->cpu_user_s += json_number_value(json_object_get(client, "cpu_user_s"));
		res->cpu_sys_s += json_number_value(json_object_get(client, "cpu_sys_s"));
		res->io.enters += rl_json_u64(client, "io_uring_enters");
		res->io.sends += rl_json_u64(client, "sends");
		res->io.recvs += rl_json_u64(client, "recv_completions");
		long rss = (long)rl_json_u64(client, "max_rss_kb");
		if (rss > res->max_rss_kb)
			res->max_rss_kb = rss;
		json_t *cfg = json_object_get(d, "config");
		o.connections += (uint32_t)rl_json_u64(cfg, "connections");
		o.threads += (uint32_t)rl_json_u64(cfg, "threads");
		o.requests += rl_json_u64(cfg, "requests");
		o.rate += json_number_value(json_object_get(cfg, "rate"));
		o.pipeline = (uint32_t)rl_json_u64(cfg, "pipeline");
		o.streams = (uint32_t)rl_json_u64(cfg, "streams");
		double cdur = json_number_value(json_object_get(cfg, "duration_s"));
		if ((uint64_t)(cdur * 1e9) > o.duration_ns)
			o.duration_ns = (uint64_t)(cdur * 1e9);
		o.timeout_ns = (uint64_t)(json_number_value(json_object_get(cfg, "timeout_s")) * 1e9);
		o.connect_timeout_ns = (uint64_t)(json_number_value(json_object_get(cfg, "connect_timeout_s")) * 1e9);
		o.method = json_string_value(json_object_get(cfg, "method"));
	}
	if (!rc) {
		for (size_t t = 0; t < res->ntargets; t++)
			rl_stats_merge(&res->total, &res->targets[t]);
		for (size_t k = 0; k < res->nhistory; k++) /* rates over whole seconds */
			for (size_t t = 0; t <= res->ntargets; t++)
				res->history[k * (res->ntargets + 1) + t].rps = (double)res->history[k * (res->ntargets + 1) + t].requests;
		res->started_at.tv_sec = (time_t)(base_ms / 1000);
		res->started_at.tv_nsec = (long)(base_ms % 1000) * 1000000;
		o.method = o.method ? o.method : "GET";
		o.proto = res->ntargets ? targets[0].proto : RL_PROTO_H1;
		for (size_t t = 0; t < res->ntargets && t < RL_MAX_TARGETS; t++)
			o.urls[o.nurls++] = targets[t].url ? targets[t].url : "";
		struct rl_report rep = { .opt = &o, .targets = targets, .res = res, .preflight_requests = preflight_requests,
					 .shard_rows = shard_rows, .nshard_rows = o.shards > 1 ? n : 0 };
		if (rl_report_to_file(out, rl_report_json, &rep, err, sizeof(err))) {
			fprintf(stderr, "ringload merge: %s\n", err);
			rc = 1;
		}
	}
	for (size_t i = 0; docs && i < n; i++)
		json_decref(docs[i]);
	free(docs);
	free(shard_rows);
	free(targets);
	rl_result_free(res);
	free(res);
	return rc;
}
