/* metric,value rows: one row per number, scoped "total." or "target<N>." */
#include <stdbool.h>
#include <string.h>

#include "ringload/report.h"

static void summary(FILE *f, const char *scope, const char *name, const struct rl_hist_summary *s)
{
	fprintf(f, "%s.%s.count,%llu\n", scope, name, (unsigned long long)s->count);
	const char *k[] = { "min", "mean", "stddev", "p50", "p90", "p95", "p99", "p999", "max" };
	double v[] = { s->min, s->mean, s->stddev, s->p50, s->p90, s->p95, s->p99, s->p999, s->max };
	for (int i = 0; i < 9; i++)
		fprintf(f, "%s.%s.%s,%.3f\n", scope, name, k[i], v[i]);
}

void rl_report_csv_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

struct csv_scope {
	FILE *f;
	const char *scope, *kind;
};

static void csv_count(void *ctx, const char *name, uint64_t n)
{
	struct csv_scope *cs = ctx;
	fprintf(cs->f, "%s.%s.%s,%llu\n", cs->scope, cs->kind, name, (unsigned long long)n);
}

static void stats(FILE *f, const char *scope, const struct rl_stats *s, double duration_s, bool open_loop)
{
	struct rl_metrics m;
	rl_metrics_compute(s, duration_s, &m);
	fprintf(f, "%s.requests,%llu\n", scope, (unsigned long long)m.requests);
	fprintf(f, "%s.successful,%llu\n", scope, (unsigned long long)m.successful);
	fprintf(f, "%s.failed,%llu\n", scope, (unsigned long long)m.failed);
	fprintf(f, "%s.timeouts,%llu\n", scope, (unsigned long long)m.timeouts);
	fprintf(f, "%s.unfinished,%llu\n", scope, (unsigned long long)s->unfinished);
	fprintf(f, "%s.success_rate,%.3f\n", scope, m.success_rate);
	fprintf(f, "%s.throughput_rps,%.3f\n", scope, m.throughput_rps);
	fprintf(f, "%s.throughput_ok_rps,%.3f\n", scope, m.throughput_ok_rps);
	fprintf(f, "%s.bytes_received,%llu\n", scope, (unsigned long long)s->bytes_received);
	fprintf(f, "%s.bytes_sent,%llu\n", scope, (unsigned long long)s->bytes_sent);
	fprintf(f, "%s.avg_payload_bytes,%.3f\n", scope, m.avg_payload_bytes);
	fprintf(f, "%s.transfer_bytes_per_s,%.3f\n", scope, m.transfer_bytes_per_s);
	fprintf(f, "%s.payload_bytes,%llu\n", scope, (unsigned long long)s->payload_bytes);
	fprintf(f, "%s.payload_bytes_per_s,%.3f\n", scope, m.payload_bytes_per_s);
	fprintf(f, "%s.network_efficiency_bytes_per_ms,%.3f\n", scope, m.network_efficiency_bytes_per_ms);
	summary(f, scope, "latency_ms", &m.latency);
	summary(f, scope, "latency_ok_ms", &m.latency_ok);
	summary(f, scope, "connect_ms", &m.connect);
	if (m.tls.count) {
		summary(f, scope, "tls_ms", &m.tls);
		fprintf(f, "%s.handshakes_full,%llu\n", scope, (unsigned long long)s->handshakes_full);
		fprintf(f, "%s.handshakes_resumed,%llu\n", scope, (unsigned long long)s->handshakes_resumed);
	}
	summary(f, scope, "ttfb_ms", &m.ttfb);
	summary(f, scope, "download_ms", &m.download);
	if (m.client_delay.count) {
		summary(f, scope, "client_delay_ms", &m.client_delay);
		summary(f, scope, "ttfb_kernel_ms", &m.ttfb_kernel);
		summary(f, scope, "latency_kernel_ms", &m.latency_kernel);
	}
	if (open_loop) {
		summary(f, scope, "latency_uncorrected_ms", &m.latency_uncorrected);
		summary(f, scope, "client_queue_ms", &m.queue);
	}
	struct csv_scope cs = { f, scope, "status" };
	rl_stats_each_status(s, csv_count, &cs);
	cs.kind = "errors";
	rl_stats_each_error(s, csv_count, &cs);
	fprintf(f, "%s.connections_opened,%llu\n", scope, (unsigned long long)s->conns_opened);
	fprintf(f, "%s.reconnects,%llu\n", scope, (unsigned long long)s->reconnects);
	fprintf(f, "%s.goaways,%llu\n", scope, (unsigned long long)s->goaways);
	fprintf(f, "%s.retried_requests,%llu\n", scope, (unsigned long long)s->retried);
	fprintf(f, "%s.closed_unsolicited_bytes,%llu\n", scope, (unsigned long long)s->unsolicited);
}

int rl_report_csv(FILE *f, const struct rl_report *r)
{
	const struct rl_result *res = r->res;
	fputs("metric,value\n", f);
	fprintf(f, "duration_s,%.6f\n", res->duration_s);
	for (size_t i = 0; i < res->ntargets; i++) {
		char scope[32];
		snprintf(scope, sizeof(scope), "target%zu", i + 1);
		/* URLs may hold commas: quote per RFC 4180 */
		const char *fields[] = { "name", r->targets[i].name, "url", r->targets[i].url };
		for (int k = 0; k < 4; k += 2) {
			/* names and URLs may hold commas: quoted per RFC 4180 */
			fprintf(f, "%s.%s,", scope, fields[k]);
			rl_report_csv_quoted(f, fields[k + 1]);
			fputc('\n', f);
		}
		stats(f, scope, &res->targets[i], res->duration_s, r->opt->rate > 0);
	}
	stats(f, "total", &res->total, res->duration_s, r->opt->rate > 0);
	for (size_t g = 0; g < res->ngroups; g++) { /* fan-out groups: the batch is the unit */
		const struct rl_group_stats *gs = &res->groups[g];
		char scope[96];
		snprintf(scope, sizeof(scope), "group.%s", r->groups[g].name);
		fprintf(f, "%s.rounds,%llu\n", scope, (unsigned long long)gs->rounds);
		fprintf(f, "%s.batches_per_s,%.3f\n", scope, res->duration_s > 0 ? (double)gs->rounds / res->duration_s : 0);
		fprintf(f, "%s.full_success,%llu\n", scope, (unsigned long long)gs->full);
		fprintf(f, "%s.partial_success,%llu\n", scope, (unsigned long long)gs->partial);
		fprintf(f, "%s.total_failure,%llu\n", scope, (unsigned long long)gs->failed);
		struct rl_hist_summary h;
		rl_hist_summarize(&gs->latency, &h);
		summary(f, scope, "latency_ms", &h);
	}
	if (res->ntargets > 1) { /* the comparison's verdicts; each value is in its target's rows */
		const char *names[RL_MAX_TARGETS];
		struct rl_metrics m[RL_MAX_TARGETS];
		struct rl_cmp_row rows[RL_CMP_MAX_ROWS];
		size_t nrows = rl_compare_rows(m, rl_report_target_metrics(r, names, m), RL_CMP_TIE_PCT, rows);
		for (size_t k = 0; k < nrows; k++) {
			char key[64];
			snprintf(key, sizeof(key), "%s", rows[k].label);
			for (char *c = key; *c; c++)
				if (*c == ' ')
					*c = '_';
			fprintf(f, "comparison.%s.winner,", key);
			rl_report_csv_quoted(f, rows[k].winner < 0 ? "tie" : names[rows[k].winner]);
			fprintf(f, "\ncomparison.%s.difference_pct,%.3f\n", key, rows[k].diff_pct);
			fprintf(f, "comparison.%s.factor,%.3f\n", key, rows[k].factor);
		}
	}
	if (r->opt->rate > 0) {
		fprintf(f, "rate.target_rps,%.3f\n", rl_report_target_rps(r->opt));
		fprintf(f, "rate.achieved_rps,%.3f\n", rl_report_achieved_rps(res));
		fprintf(f, "rate.not_sent,%llu\n", (unsigned long long)res->not_sent);
	}
	fprintf(f, "client.cpu_user_s,%.6f\n", res->cpu_user_s);
	fprintf(f, "client.cpu_sys_s,%.6f\n", res->cpu_sys_s);
	fprintf(f, "client.cpu_us_per_request,%.3f\n", rl_report_cpu_us_per_request(res));
	fprintf(f, "client.max_rss_kb,%ld\n", res->max_rss_kb);
	fprintf(f, "client.io_uring_enters,%llu\n", (unsigned long long)res->io.enters);
	fprintf(f, "client.sends,%llu\n", (unsigned long long)res->io.sends);
	fprintf(f, "client.recv_completions,%llu\n", (unsigned long long)res->io.recvs);
	return ferror(f) ? -1 : 0;
}

int rl_report_history_csv(FILE *f, const struct rl_report *r)
{
	const struct rl_result *res = r->res;
	fputs("target,t,requests,errors,rps,p50_ms,p90_ms,p99_ms,max_ms,p99_ok_ms,users,target_rps\n", f);
	for (size_t i = 0; i < res->nhistory; i++) {
		for (size_t t = 0; t <= res->ntargets; t++) {
			const struct rl_history_row *row = &res->history[i * (res->ntargets + 1) + t];
			const char *name = t < res->ntargets ? r->targets[t].name : "total";
			rl_report_csv_quoted(f, name);
			fprintf(f, ",%.3f,%llu,%llu,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%llu,", row->t,
				(unsigned long long)row->requests, (unsigned long long)row->failed, row->rps,
				row->p50_ms, row->p90_ms, row->p99_ms, row->max_ms, row->p99_ok_ms,
				(unsigned long long)row->users);
			if (t == res->ntargets && r->opt->rate > 0) /* the offered rate is the run's, not a target's */
				fprintf(f, "%.3f", row->target_rps);
			fputc('\n', f);
		}
		/* fan-out groups: requests are rounds, errors those not fully successful, rps
		 * batches/s, the percentiles batch times */
		for (size_t g = 0; res->ghistory && g < res->ngroups; g++) {
			const struct rl_history_row *row = &res->ghistory[i * res->ngroups + g];
			char name[96];
			snprintf(name, sizeof(name), "group:%s", r->groups[g].name);
			rl_report_csv_quoted(f, name);
			fprintf(f, ",%.3f,%llu,%llu,%.3f,%.3f,%.3f,%.3f,%.3f,,,\n", row->t, (unsigned long long)row->requests,
				(unsigned long long)row->failed, row->rps, row->p50_ms, row->p90_ms, row->p99_ms, row->max_ms);
		}
	}
	return ferror(f) ? -1 : 0;
}

struct failures_ctx {
	FILE *f;
	const char *target;
	const struct rl_stats *st;
};

static void failure_row(void *ctx, const char *name, uint64_t n)
{
	struct failures_ctx *fc = ctx;
	char msg[160];
	snprintf(msg, sizeof(msg), "%s", name);
	for (int i = 0; i < RL_ERR_COUNT; i++)
		if (!strcmp(name, rl_err_names[i]))
			snprintf(msg, sizeof(msg), "%s", fc->st->first_error[i][0] ? fc->st->first_error[i]
											   : rl_err_descriptions[i]);
	if (!strncmp(name, "http_", 5))
		snprintf(msg, sizeof(msg), "HTTP status %s", name + 5);
	else if (!strncmp(name, "grpc_", 5))
		snprintf(msg, sizeof(msg), "gRPC status %s", name + 5);
	else if (!strncmp(name, "stream_reset:", 13))
		snprintf(msg, sizeof(msg), "RST_STREAM %s from the server", name + 13);
	else if (!strncmp(name, "tls_alert:", 10))
		snprintf(msg, sizeof(msg), "%s", fc->st->first_error[RL_ERR_TLS_ALERT]);
	else if (!strncmp(name, "goaway:", 7))
		snprintf(msg, sizeof(msg), "GOAWAY %s from the server refused it, on every try (--h2-retries)", name + 7);
	fprintf(fc->f, "%s,", name);
	rl_report_csv_quoted(fc->f, fc->target);
	fprintf(fc->f, ",%llu,", (unsigned long long)n);
	rl_report_csv_quoted(fc->f, msg);
	fputc('\n', fc->f);
}

int rl_report_failures_csv(FILE *f, const struct rl_report *r)
{
	fputs("category,target,count,first_message\n", f);
	for (size_t t = 0; t < r->res->ntargets; t++) {
		struct failures_ctx fc = { f, r->targets[t].name, &r->res->targets[t] };
		rl_stats_each_error(&r->res->targets[t], failure_row, &fc);
	}
	return ferror(f) ? -1 : 0;
}
