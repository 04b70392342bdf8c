/* Derived metrics shared by every output format, so they can never disagree. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ringload/report.h"
#include "ringload/stages.h"

void rl_metrics_compute(const struct rl_stats *s, double duration_s, struct rl_metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->requests = s->requests;
	m->successful = s->successful;
	m->failed = s->failed;
	m->timeouts = s->errors[RL_ERR_TIMEOUT] + s->errors[RL_ERR_CONNECT_TIMEOUT] +
		      s->grpc_status[RL_GRPC_DEADLINE_EXCEEDED];
	m->success_rate = s->requests ? 100.0 * (double)s->successful / (double)s->requests : 0;
	if (duration_s > 0) {
		m->throughput_rps = (double)s->requests / duration_s;
		m->transfer_bytes_per_s = (double)s->bytes_received / duration_s;
		m->throughput_ok_rps = (double)s->successful / duration_s;
		m->payload_bytes_per_s = (double)s->payload_bytes / duration_s;
	}
	m->avg_payload_bytes = s->successful ? (double)s->payload_bytes / (double)s->successful : 0;
	rl_hist_summarize(&s->latency, &m->latency);
	rl_hist_summarize(&s->latency_ok, &m->latency_ok);
	rl_hist_summarize(&s->connect, &m->connect);
	rl_hist_summarize(&s->tls, &m->tls);
	rl_hist_summarize(&s->ttfb, &m->ttfb);
	rl_hist_summarize(&s->download, &m->download);
	rl_hist_summarize(&s->latency_uncorrected, &m->latency_uncorrected);
	rl_hist_summarize(&s->queue, &m->queue);
	rl_hist_summarize(&s->client_delay, &m->client_delay);
	rl_hist_summarize(&s->ttfb_kernel, &m->ttfb_kernel);
	rl_hist_summarize(&s->latency_kernel, &m->latency_kernel);
	/* the seed's "network efficiency": average payload over average latency */
	if (m->latency.mean > 0)
		m->network_efficiency_bytes_per_ms = m->avg_payload_bytes / m->latency.mean;
}

double rl_report_achieved_rps(const struct rl_result *res)
{
	/* -R drives fan-out groups only when they are alone: then it counts rounds */
	uint64_t n = res->total.requests;
	if (res->ngroups) {
		n = 0;
		for (size_t g = 0; g < res->ngroups; g++)
			n += res->groups[g].rounds;
	}
	return res->duration_s > 0 ? (double)n / res->duration_s : 0;
}

double rl_report_target_rps(const struct rl_options *o)
{
	/* with stages the rate moves: the target is what the schedule asked over the run */
	struct rl_stage_plan sp = rl_options_stage_plan(o);
	if (o->nstages && o->duration_ns)
		return rl_stage_cum(&sp, o->duration_ns) / ((double)o->duration_ns / 1e9);
	return o->rate;
}

const char *rl_report_rate_shortfall(const struct rl_options *o, const struct rl_result *res)
{
	if (!(o->rate > 0) || rl_report_achieved_rps(res) >= 0.99 * rl_report_target_rps(o) ||
	    res->interrupted)
		return NULL;
	if (res->duration_s > 0 &&
	    (res->cpu_user_s + res->cpu_sys_s) / res->duration_s >= 0.9 * o->threads)
		return "the client's CPU was saturated (add threads, or a machine)";
	if (res->max_backlog || res->not_sent)
		return "every connection was busy when requests were due: the server is slower than "
		       "the rate over this many connections (raise -c, or see the latency)";
	return "requests completed late or failed";
}

#define CLIENT_DELAY_WARN_MS    1.0
#define CLIENT_DELAY_WARN_SHARE 0.10

const char *rl_report_client_delay_warning(const struct rl_result *res, char *buf, size_t len)
{
	struct rl_hist_summary cd, lat;
	rl_hist_summarize(&res->total.client_delay, &cd);
	rl_hist_summarize(&res->total.latency, &lat);
	/* (harvesting lazily, the client waits for the schedule on purpose and its figures
	 * are the kernel's stamps: nothing to warn of) */
	if (res->features.lazy_harvest || !cd.count || (cd.p99 <= CLIENT_DELAY_WARN_MS && cd.p99 <= CLIENT_DELAY_WARN_SHARE * lat.p99))
		return NULL;
	snprintf(buf, len, "the client added up to %.3f ms (client delay p99; latency p99 %.3f ms); its figures "
		 "are distorted, use fewer connections per thread or more threads (the kernel-stamped rows "
		 "are what the server did)", cd.p99, lat.p99);
	return buf;
}

const char *rl_report_protocol_name(enum rl_proto p)
{
	return p == RL_PROTO_GRPC ? "grpc" : p == RL_PROTO_H2 ? "h2c" : "http/1.1";
}

double rl_report_cpu_us_per_request(const struct rl_result *res)
{
	if (!res->total.requests)
		return 0;
	return (res->cpu_user_s + res->cpu_sys_s) * 1e6 / (double)res->total.requests;
}

double rl_report_per_request(const struct rl_result *res, uint64_t n)
{
	return res->total.requests ? (double)n / (double)res->total.requests : 0;
}

int rl_report_check_path(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	if (access(dir, W_OK)) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int rl_write_atomic(const char *path, int (*fn)(FILE *, void *), void *arg, char *err, size_t errlen)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	int rc = fn(f, arg);
	if (fclose(f) || rc || rename(tmp, path)) {
		snprintf(err, errlen, "cannot write '%s': %s", path, rc > 0 ? "out of memory" : strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

struct report_writer {
	int (*fn)(FILE *, const struct rl_report *);
	const struct rl_report *r;
};

static int write_report(FILE *f, void *arg)
{
	struct report_writer *w = arg;
	return w->fn(f, w->r);
}

int rl_report_to_file(const char *path, int (*fn)(FILE *, const struct rl_report *),
		      const struct rl_report *r, char *err, size_t errlen)
{
	struct report_writer w = { fn, r };
	return rl_write_atomic(path, write_report, &w, err, errlen);
}

size_t rl_report_target_metrics(const struct rl_report *r, const char **names, struct rl_metrics *m)
{
	const struct rl_result *res = r->res;
	for (size_t i = 0; i < res->ntargets; i++) {
		names[i] = r->targets[i].name;
		rl_metrics_compute(&res->targets[i], res->duration_s, &m[i]);
	}
	return res->ntargets;
}
