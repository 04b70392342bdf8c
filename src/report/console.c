/* The console report: configuration, then per target the REST-vs-gRPC seed's layout
 * (success, latency and phase percentiles, payload, bytes, throughput, efficiency,
 * statuses, errors), then the client's own CPU cost. */
#include <stdbool.h>
#include <stdio.h>

#include "ringload/report.h"
#include "ringload/units.h"

static void phase_row(FILE *f, const char *name, const struct rl_hist_summary *s)
{
	char b[9][24];
	if (!s->count) {
		fprintf(f, "  %-9s %10s\n", name, "-");
		return;
	}
	double v[9] = { s->mean, s->min, s->p50, s->p90, s->p95, s->p99, s->p999, s->max, s->stddev };
	fprintf(f, "  %-9s", name);
	for (int i = 0; i < 9; i++)
		fprintf(f, " %9s", rl_fmt_ms(b[i], sizeof(b[i]), v[i]));
	fputc('\n', f);
}

struct console_list {
	FILE *f;
	int shown;
};

static void console_count(void *ctx, const char *name, uint64_t n)
{
	struct console_list *l = ctx;
	fprintf(l->f, "%s %s: %llu", l->shown++ ? "," : "", name, (unsigned long long)n);
}

static void target_block(FILE *f, const char *title, const struct rl_stats *s, double duration_s,
			 bool open_loop)
{
	struct rl_metrics m;
	char a[32], b[32], c[32];
	rl_metrics_compute(s, duration_s, &m);
	fprintf(f, "\n%s\n", title);
	fprintf(f, "  Requests      %llu total, %llu successful, %llu failed (%.2f%% success)\n",
		(unsigned long long)m.requests, (unsigned long long)m.successful,
		(unsigned long long)m.failed, m.success_rate);
	if (s->unfinished)
		fprintf(f, "  Unfinished    %llu in flight when the run ended (not counted above)\n",
			(unsigned long long)s->unfinished);
	fprintf(f, "  Throughput    %.2f req/s over %.3fs (%.2f successful/s)\n", m.throughput_rps, duration_s,
		m.throughput_ok_rps);
	fprintf(f, "  %-9s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "", "mean", "min", "p50", "p90",
		"p95", "p99", "p99.9", "max", "stddev");
	phase_row(f, "Latency", &m.latency);   /* every request that ended, failures included */
	phase_row(f, "  ok only", &m.latency_ok);
	if (open_loop) {
		/* latency above runs from each request's intended start; these two say how
		 * much of it the client's own queue was */
		phase_row(f, "Uncorr.", &m.latency_uncorrected);
		phase_row(f, "Queue", &m.queue);
	}
	phase_row(f, "Connect", &m.connect);
	if (m.tls.count)
		phase_row(f, "TLS", &m.tls);
	phase_row(f, "TTFB", &m.ttfb);
	phase_row(f, "Download", &m.download);
	if (m.client_delay.count) {
		/* by the kernel's receive stamps: what the server did, without the client's wait */
		phase_row(f, "Latency-k", &m.latency_kernel);
		phase_row(f, "TTFB-k", &m.ttfb_kernel);
		phase_row(f, "Cl. delay", &m.client_delay);
	}
	fprintf(f, "  Payload       %s average per successful response\n",
		rl_fmt_bytes(a, sizeof(a), m.avg_payload_bytes));
	char d[32];
	fprintf(f, "  Transfer      received %s (%s/s; payload %s/s), sent %s\n",
		rl_fmt_bytes(a, sizeof(a), (double)s->bytes_received),
		rl_fmt_bytes(b, sizeof(b), m.transfer_bytes_per_s),
		rl_fmt_bytes(d, sizeof(d), m.payload_bytes_per_s),
		rl_fmt_bytes(c, sizeof(c), (double)s->bytes_sent));
	fprintf(f, "  Efficiency    %.2f bytes/ms (average payload / average latency)\n",
		m.network_efficiency_bytes_per_ms);
	struct console_list l = { f, 0 };
	fprintf(f, "  Status codes ");
	rl_stats_each_status(s, console_count, &l);
	fprintf(f, "%s\n", l.shown ? "" : " none");
	l.shown = 0;
	fprintf(f, "  Errors       ");
	rl_stats_each_error(s, console_count, &l);
	fprintf(f, "%s\n", l.shown ? "" : " none");
	fprintf(f, "  Connections   %llu opened, %llu reconnects",
		(unsigned long long)s->conns_opened, (unsigned long long)s->reconnects);
	if (s->goaways)
		fprintf(f, ", %llu GOAWAY", (unsigned long long)s->goaways);
	if (s->retried)
		fprintf(f, ", %llu requests retried", (unsigned long long)s->retried);
	if (s->unsolicited)
		fprintf(f, ", %llu closed for unsolicited bytes", (unsigned long long)s->unsolicited);
	fputc('\n', f);
	if (s->agreed.version[0])
		fprintf(f, "  TLS session   %s %s%s%s, %llu full and %llu resumed handshakes\n", s->agreed.version,
			s->agreed.cipher, s->agreed.alpn[0] ? ", ALPN " : "", s->agreed.alpn,
			(unsigned long long)s->handshakes_full, (unsigned long long)s->handshakes_resumed);
}

void rl_report_console(FILE *f, const struct rl_report *r)
{
	const struct rl_options *o = r->opt;
	const struct rl_result *res = r->res;
	char d[32];
	char rate[64] = "closed loop";
	if (o->rate > 0)
		snprintf(rate, sizeof(rate), "open loop at %.1f req/s", o->rate);
	bool mixed = false;
	for (size_t i = 1; i < res->ntargets; i++)
		mixed |= r->targets[i].proto != r->targets[0].proto;
	bool tls = r->targets[0].u.tls;
	const char *proto = rl_report_protocol_name(r->targets[0].proto);
	if (tls && r->targets[0].proto == RL_PROTO_H2)
		proto = "h2"; /* HTTP/2 over TLS (ALPN), not cleartext h2c */
	/* what runs: -c connections for the targets driven by weight, and each fan-out
	 * group's virtual users with a connection per member (-c does not apply to them) */
	uint32_t weighted = 0, users = 0, member_conns = 0;
	for (size_t i = 0; i < res->ntargets; i++)
		weighted += r->targets[i].weight;
	for (size_t g = 0; g < res->ngroups; g++) {
		users += r->groups[g].concurrency;
		member_conns += r->groups[g].concurrency * r->groups[g].nmembers;
	}
	char what[128];
	int n = 0;
	if (!res->ngroups || weighted)
		n = snprintf(what, sizeof(what), "%u connection%s", o->connections, o->connections == 1 ? "" : "s");
	if (res->ngroups)
		snprintf(what + n, sizeof(what) - (size_t)n, "%s%u fan-out user%s (%u connections)", n ? " and " : "",
			 users, users == 1 ? "" : "s", member_conns);
	fprintf(f, "ringload %s: %s%s, %s, %s on %u thread%s", RINGLOAD_VERSION,
		mixed ? "mixed protocols" : proto, !mixed && tls ? " over TLS" : "", rate, what, o->threads,
		o->threads == 1 ? "" : "s");
	if (o->proto == RL_PROTO_H1 && o->pipeline > 1)
		fprintf(f, ", pipeline %u", o->pipeline);
	if (r->targets[0].proto != RL_PROTO_H1 || mixed)
		fprintf(f, ", %u streams each (HTTP/2)", o->streams);
	if (o->grpc_method && !mixed)
		fprintf(f, ", %s", o->grpc_method);
	if (o->requests)
		fprintf(f, ", %llu requests", (unsigned long long)o->requests);
	if (o->duration_ns)
		fprintf(f, ", %s", rl_fmt_ms(d, sizeof(d), (double)o->duration_ns / 1e6));
	fputc('\n', f);
	if (o->verbose)
		fprintf(f, "engine: defer_taskrun=%s buffer_ring=%s fixed_files=%s kernel_timestamps=%s lazy_harvest=%s\n",
			res->features.defer_taskrun ? "yes" : "no", res->features.buf_ring ? "yes" : "no",
			res->features.fixed_files ? "yes" : "no", res->features.rx_timestamps ? "yes" : "no",
			res->features.lazy_harvest ? "yes" : "no");
	if (res->interrupted)
		fprintf(f, "interrupted: results so far\n");
	for (size_t i = 0; i < res->ntargets; i++)
		target_block(f, r->targets[i].name, &res->targets[i], res->duration_s, o->rate > 0);
	if (res->ntargets > 1) {
		target_block(f, "All targets", &res->total, res->duration_s, o->rate > 0);
		const char *names[RL_MAX_TARGETS];
		struct rl_metrics m[RL_MAX_TARGETS];
		rl_report_comparison(f, names, m, rl_report_target_metrics(r, names, m), RL_CMP_TIE_PCT);
	}
	for (size_t g = 0; g < res->ngroups; g++) {
		const struct rl_group_def *gd = &r->groups[g];
		const struct rl_group_stats *gs = &res->groups[g];
		struct rl_hist_summary h;
		rl_hist_summarize(&gs->latency, &h);
		fprintf(f, "\nFan-out group %s: %u members, %u concurrent (time = slowest member)\n",
			gd->name, gd->nmembers, gd->concurrency);
		fprintf(f, "  Rounds        %llu (%.2f batches/s): %llu full success, %llu partial, %llu total failure\n",
			(unsigned long long)gs->rounds, res->duration_s > 0 ? (double)gs->rounds / res->duration_s : 0,
			(unsigned long long)gs->full, (unsigned long long)gs->partial, (unsigned long long)gs->failed);
		for (uint32_t k = 1; k < gd->nmembers; k++)
			if (gs->by_successes[k])
				fprintf(f, "  Partial       %u of %u succeeded: %llu\n", k, gd->nmembers,
					(unsigned long long)gs->by_successes[k]);
		fprintf(f, "  %-9s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "", "mean", "min", "p50", "p90",
			"p95", "p99", "p99.9", "max", "stddev");
		phase_row(f, "Group", &h);
	}
	if (res->nstages) {
		fprintf(f, "\nStages (%s)\n  %-5s %9s %12s %9s %10s %9s %9s %9s %7s\n",
			o->rate > 0 ? "rate, req/s" : "connections", "stage", "start", "load", "requests",
			"req/s", "p50", "p90", "p99", "errors");
		uint64_t start = 0;
		for (size_t i = 0; i < res->nstages; i++) {
			const struct rl_stats *st = &res->stages[i];
			double dur = (double)o->stages[i].dur_ns / 1e9;
			struct rl_metrics m;
			rl_metrics_compute(st, dur, &m);
			char load[32], a[24], b[24], c[24], at[24];
			snprintf(load, sizeof(load), "%s%.0f", o->stages[i].step ? "=" : "->", o->stages[i].level);
			fprintf(f, "  %-5zu %9s %12s %9llu %10.1f %9s %9s %9s %7llu\n", i + 1,
				rl_fmt_ms(at, sizeof(at), (double)start / 1e6), load,
				(unsigned long long)m.requests, m.throughput_rps,
				rl_fmt_ms(a, sizeof(a), m.latency.p50), rl_fmt_ms(b, sizeof(b), m.latency.p90),
				rl_fmt_ms(c, sizeof(c), m.latency.p99), (unsigned long long)m.failed);
			start += o->stages[i].dur_ns;
		}
	}
	if (o->rate > 0) {
		double got = rl_report_achieved_rps(res);
		double want = rl_report_target_rps(o);
		fprintf(f, "\nRate          target %.1f req/s, achieved %.1f req/s (%.1f%%)", want, got,
			100.0 * got / want);
		if (res->not_sent)
			fprintf(f, ", %llu due but never sent", (unsigned long long)res->not_sent);
		fputc('\n', f);
		const char *why = rl_report_rate_shortfall(o, res);
		if (why)
			fprintf(f, "warning: the achieved rate fell more than 1%% short: %s\n", why);
	}
	char rss[32], delay[320];
	if (rl_report_client_delay_warning(res, delay, sizeof(delay)))
		fprintf(f, "\nwarning: %s\n", delay);
	fprintf(f, "\nClient cost   %.3fs user + %.3fs sys CPU = %.2f us/request, max RSS %s\n",
		res->cpu_user_s, res->cpu_sys_s, rl_report_cpu_us_per_request(res),
		rl_fmt_bytes(rss, sizeof(rss), (double)res->max_rss_kb * 1024));
	fprintf(f, "Client I/O    %.3f io_uring_enter, %.3f sends, %.3f receives per request%s\n",
		rl_report_per_request(res, res->io.enters), rl_report_per_request(res, res->io.sends),
		rl_report_per_request(res, res->io.recvs),
		!res->features.lazy_harvest ? ""
		: o->rate > 0 ? "; responses read at the schedule's wake-ups, timed by the kernel's stamps"
			      : "; responses read in batches, timed by the kernel's stamps");
	uint64_t handshakes = res->total.handshakes_full + res->total.handshakes_resumed;
	if (handshakes * 10 >= res->total.requests && handshakes) /* a run of many handshakes */
		fprintf(f, "Client TLS    %.2f us CPU per handshake (%llu full, %llu resumed)\n",
			(res->cpu_user_s + res->cpu_sys_s) * 1e6 / (double)handshakes,
			(unsigned long long)res->total.handshakes_full, (unsigned long long)res->total.handshakes_resumed);
}
