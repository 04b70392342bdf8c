/* ringload's entry point: picks the verb, turns options into targets, runs, reports,
 * and maps outcomes to the exit codes of SPEC.md. The only place that prints
 * user-facing errors and the only place that exits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/crypto_mem.h"
#include "common/source.h"
#include "ringload/engine.h"
#include "ringload/options.h"
#include "ringload/report.h"
#include "metrics_listen.h"
#include "preflight.h"
#include "verb.h"
#include "ringload/scenario.h"
#include "ringload/serve.h"
#include "ringload/target.h"
#include "ringload/thresholds.h"

enum { EXIT_OK = 0, EXIT_INTERNAL = 1, EXIT_USAGE = 2, EXIT_THRESHOLD = 3 };

/* Every connection of a run may hold a descriptor (without fixed files) and the fixed
 * file table is capped by RLIMIT_NOFILE: take the whole hard limit. */

/* Descriptors beyond the connections: stdio, each thread's ring, output files, the
 * pre-flight probes, a socket being registered. */
#define NOFILE_RESERVE 64

/* Every connection may need a descriptor (the fallback without fixed files, or the
 * fixed-file table, which RLIMIT_NOFILE bounds too): raise the soft limit to the hard
 * one, and refuse a -c that still does not fit rather than fail connects at random. */
static int raise_nofile(uint32_t connections, char *err, size_t errlen)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)connections + NOFILE_RESERVE > rl.rlim_cur) {
		rlim_t possible = rl.rlim_cur > NOFILE_RESERVE ? rl.rlim_cur - NOFILE_RESERVE : 0;
		snprintf(err, errlen, "-c %u: the open-file limit (RLIMIT_NOFILE, hard) is %llu, so at most %llu "
			 "connections are possible here; raise it (ulimit -Hn) or lower -c",
			 connections, (unsigned long long)rl.rlim_cur, (unsigned long long)possible);
		return -1;
	}
	return 0;
}

/* Targets compared in one run should carry the same load: an HTTP/1.1 connection has
 * -P requests in flight, an HTTP/2 one -m streams. Says so once when they differ. */
static void warn_uneven_in_flight(const struct rl_options *o, const struct rl_target *targets, size_t ntargets)
{
	for (size_t i = 1; i < ntargets; i++) {
		uint32_t a = targets[0].proto == RL_PROTO_H1 ? targets[0].pipeline : targets[0].streams;
		uint32_t b = targets[i].proto == RL_PROTO_H1 ? targets[i].pipeline : targets[i].streams;
		if (a != b) {
			fprintf(stderr, "ringload: note: %s has %u request%s in flight per connection and %s %u, so "
				"their comparison is %u:%u; -m (HTTP/2 streams) and -P (HTTP/1.1 pipelining) even it\n",
				targets[0].name, a, a == 1 ? "" : "s", targets[i].name, b, a, b);
			return;
		}
	}
}

/* Kernel receive stamps by default: in an open loop (its responses are then harvested
 * lazily, by stamp); in a closed loop whose every target speaks HTTP/2 or gRPC over TLS,
 * which then reads in batches when a thread holds enough streams in flight (worker.c):
 * one TLS record then carries several requests, and the client's CPU per request halves;
 * and in a closed loop of HTTP/2 and gRPC in cleartext where every thread reads in
 * batches (RL_STAMPS_IF_BATCHED): against a server that answers each stream in its own
 * segments (nginx), the loop then wakes about a tenth as often and its CPU per request
 * halves, for 0.4% more instructions (under lazy harvest the kernel's ttfb and latency
 * share the main ones' buckets). Where it would not batch, stamps would only cost, so
 * they stay off; HTTP/1.1 would pay over 5%. --kernel-timestamps turns them on. */
static enum rl_stamps kernel_timestamps_by_default(const struct rl_options *o, const struct rl_target *targets,
						   size_t ntargets)
{
	if (o->rate > 0)
		return RL_STAMPS_ON;
	if (!ntargets)
		return RL_STAMPS_OFF;
	bool tls = true;
	for (size_t i = 0; i < ntargets; i++) {
		if (targets[i].proto == RL_PROTO_H1)
			return RL_STAMPS_OFF;
		tls &= targets[i].u.tls;
	}
	return tls ? RL_STAMPS_ON : RL_STAMPS_IF_BATCHED;
}

/* The engine's plan: the load model and limits from the options. */
static void plan_from_options(const struct rl_options *o, const struct rl_target *targets, size_t ntargets,
			      struct rl_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->connections = o->connections;
	p->threads = o->threads;
	p->pipeline = o->pipeline;
	p->streams = o->streams;
	p->h2_window = o->h2_window;
	p->h2_conn_window = o->h2_conn_window;
	p->max_msg = o->max_msg;
	p->h2_retries = o->h2_retries;
	p->duration_ns = o->duration_ns;
	p->warmup_ns = o->warmup_ns;
	p->requests = o->requests; /* with per-target counts, their sum (the targets hold each) */
	p->rate = o->rate;
	memcpy(p->stages, o->stages, sizeof(p->stages));
	p->nstages = o->nstages;
	p->connect_timeout_ns = o->connect_timeout_ns;
	p->pacing_quantum_ns = o->pacing_quantum_ns;
	p->tls_resume = o->tls_resume;
	p->kernel_timestamps = o->kernel_timestamps < 0 ? kernel_timestamps_by_default(o, targets, ntargets)
			       : o->kernel_timestamps		 ? RL_STAMPS_ON
								 : RL_STAMPS_OFF;
	p->shard = o->shard;
	p->shards = o->shards;
	p->start_at_ns = o->start_at_ns;
	p->sources = o->sources;
	p->nsources = o->nsources;
	if (o->progress && !o->quiet && isatty(STDERR_FILENO)) {
		p->progress = rl_report_progress;
		p->progress_arg = stderr;
	}
}

/* --source: every address must be this machine's, or every connect from it would fail. */
static int check_sources(const struct rl_options *o, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < o->nsources; i++) {
		const struct sockaddr_storage *s = &o->sources[i];
		int fd = socket(s->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		int rc = rl_bind_source(fd, s);
		close(fd);
		if (rc) {
			char a[INET6_ADDRSTRLEN] = "?";
			inet_ntop(s->ss_family, s->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)s)->sin_addr
									: (const void *)&((const struct sockaddr_in6 *)s)->sin6_addr,
				  a, sizeof(a));
			snprintf(err, errlen, "--source %s: not an address of this machine (%s)", a, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* Local ports ran out (EADDRNOTAVAIL): said once, with the fix, after the run. */
static void warn_addr_exhausted(const struct rl_target *targets, const struct rl_result *res)
{
	for (size_t i = 0; i < res->ntargets; i++) {
		if (res->targets[i].errors[RL_ERR_CONNECT_ADDRNOTAVAIL]) {
			fprintf(stderr, "ringload: out of local ports connecting to %s (EADDRNOTAVAIL): counted as "
				"connect_addrnotavail; widen net.ipv4.ip_local_port_range, connect from more local "
				"addresses (--source A,B,... or A-B) or lower -c\n",
				targets[i].url);
			return;
		}
	}
}

static int cmd_run(int argc, char **argv)
{
	struct rl_options o;
	char err[512];
	int rc = rl_options_parse(&o, argc, argv, err, sizeof(err));
	if (rc == RL_OPTIONS_HELP || rc == RL_OPTIONS_VERSION) {
		if (rc == RL_OPTIONS_HELP)
			rl_options_usage(stdout);
		else
			printf("ringload %s\n", RINGLOAD_VERSION);
		rl_options_free(&o);
		return EXIT_OK;
	}
	if (rc) {
		fprintf(stderr, "ringload: %s\n", err);
		rl_options_free(&o);
		return EXIT_USAGE;
	}
	int code = EXIT_OK;
	struct rl_thresholds th = { 0 };
	if (o.fail_if && rl_thresholds_parse(o.fail_if, &th, err, sizeof(err))) {
		fprintf(stderr, "ringload: %s\n", err);
		rl_options_free(&o);
		return EXIT_USAGE;
	}
	/* on the heap: 64 targets (each with its URL's 8 KiB request target) are too much
	 * for one stack frame */
	struct rl_target *targets = calloc(RL_MAX_TARGETS, sizeof(*targets));
	size_t ntargets = 0;
	const struct rl_request_spec *spec_of[RL_MAX_TARGETS]; /* what each target was made from */
	struct rl_metrics_listen *metrics = NULL;
	struct rl_result *res = NULL;
	struct rl_scenario sc = { 0 };
	if (!targets) {
		fprintf(stderr, "ringload: out of memory\n");
		rl_options_free(&o);
		return EXIT_INTERNAL;
	}
	if (o.scenario_path) {
		if (rl_scenario_load(o.scenario_path, &o, &sc, err, sizeof(err))) {
			fprintf(stderr, "ringload: %s\n", err);
			code = EXIT_USAGE;
			goto out;
		}
		unsigned weights = 0;
		for (size_t g = 0; g < sc.ngroups; g++)
			for (uint32_t m = 0; m < sc.groups[g].nmembers; m++)
				sc.targets[sc.groups[g].members[m]].weight = 0; /* the group drives it */
		for (size_t i = 0; i < sc.ntargets; i++)
			weights += sc.targets[i].weight;
		if (sc.ngroups && ((o.rate > 0 || o.nstages) && (weights || (o.rate > 0 && o.nstages)))) {
			fprintf(stderr, "ringload: --scenario: -R (rounds per second) and --stages (users) drive fan-out "
				"groups only when every target is in a group, and not together\n");
			code = EXIT_USAGE;
			goto out;
		}
		uint32_t users = 0;
		double peak = 0;
		for (size_t g = 0; g < sc.ngroups; g++)
			users += sc.groups[g].concurrency;
		for (size_t s = 0; s < o.nstages; s++)
			peak = o.stages[s].level > peak ? o.stages[s].level : peak;
		if (sc.ngroups && o.nstages && peak > users) {
			fprintf(stderr, "ringload: --stages: a peak of %.0f users, above the %u the groups' concurrency allows\n",
				peak, users);
			code = EXIT_USAGE;
			goto out;
		}
		if (sc.ngroups && o.requests && weights) {
			fprintf(stderr, "ringload: --scenario: -n counts the rounds of fan-out groups; with targets outside "
				"the groups, give -d\n");
			code = EXIT_USAGE;
			goto out;
		}
		if (weights && o.connections < weights) {
			fprintf(stderr, "ringload: -c %u: fewer connections than the scenario's weights add up to (%u)\n",
				o.connections, weights);
			code = EXIT_USAGE;
			goto out;
		}
		for (; ntargets < sc.ntargets; ntargets++) {
			struct rl_scenario_target *st = &sc.targets[ntargets];
			if (rl_target_init(&targets[ntargets], st->url, &st->req, err, sizeof(err))) {
				rl_target_free(&targets[ntargets]); /* what it had made before failing */
				fprintf(stderr, "ringload: %s: %s\n", st->name, err);
				code = EXIT_USAGE;
				goto out;
			}
			targets[ntargets].name = st->name;
			targets[ntargets].weight = st->weight;
			spec_of[ntargets] = &st->req;
			for (size_t g = 0; g < sc.ngroups; g++)
				for (uint32_t m = 0; m < sc.groups[g].nmembers; m++)
					if (sc.groups[g].members[m] == ntargets)
						targets[ntargets].timeout_ns = sc.groups[g].timeout_ns;
			o.urls[o.nurls++] = st->url;
		}
	}
	struct rl_request_spec spec;
	rl_options_request_spec(&o, &spec);
	for (; ntargets < o.nurls; ntargets++) {
		if (rl_target_init(&targets[ntargets], o.urls[ntargets], &spec, err, sizeof(err))) {
			rl_target_free(&targets[ntargets]); /* what it had made before failing */
			fprintf(stderr, "ringload: %s\n", err);
			code = EXIT_USAGE;
			goto out;
		}
		spec_of[ntargets] = &spec;
	}
	/* in flight per connection: a target's own, else the run's; the plan's are the
	 * largest (they size the request slots) */
	for (size_t i = 0; i < ntargets; i++) {
		if (!targets[i].streams)
			targets[i].streams = o.streams;
		if (!targets[i].pipeline)
			targets[i].pipeline = o.pipeline;
		if (targets[i].streams > o.streams)
			o.streams = targets[i].streams;
		if (targets[i].pipeline > o.pipeline)
			o.pipeline = targets[i].pipeline;
	}
	/* a count per target (--requests-per-target, a scenario's "requests"): every target
	 * gets one, the run's -n is their sum and it ends when they are done */
	uint64_t per_target_sum = 0;
	for (size_t i = 0; i < ntargets; i++)
		per_target_sum += targets[i].requests;
	if (per_target_sum) {
		for (size_t i = 0; i < ntargets; i++) {
			if (!targets[i].requests || !targets[i].weight) {
				fprintf(stderr, "ringload: %s: no request count; with per-target counts every target needs one "
					"(\"requests\" in the scenario, or --requests-per-target N), and none may be in a group\n",
					targets[i].name);
				code = EXIT_USAGE;
				goto out;
			}
		}
		if (o.requests || o.rate > 0 || o.nstages || o.warmup_ns) {
			fprintf(stderr, "ringload: per-target request counts run closed-loop on their own (no -n, -R, --stages or --warmup)\n");
			code = EXIT_USAGE;
			goto out;
		}
		o.requests = per_target_sum;
		if (!o.duration_set)
			o.duration_ns = 0;
	}
	const char *paths[] = { o.json_path, o.csv_path, o.history_path, o.failures_path, o.html_path };
	for (int i = 0; i < 5; i++) {
		if (paths[i] && rl_report_check_path(paths[i], err, sizeof(err))) {
			fprintf(stderr, "ringload: %s\n", err);
			code = EXIT_USAGE;
			goto out;
		}
	}
	if (check_sources(&o, err, sizeof(err))) {
		fprintf(stderr, "ringload: %s\n", err);
		code = EXIT_USAGE;
		goto out;
	}
	if (raise_nofile(o.connections, err, sizeof(err))) {
		fprintf(stderr, "ringload: %s\n", err);
		code = EXIT_USAGE;
		goto out;
	}
	uint32_t preflight_requests = 0;
	uint64_t first_seq = 0;
	if (o.preflight && (code = rl_preflight(&o, targets, ntargets, spec_of, &preflight_requests, &first_seq)))
		goto out;
	if (!o.quiet)
		warn_uneven_in_flight(&o, targets, ntargets);

	struct rl_plan plan;
	plan_from_options(&o, targets, ntargets, &plan);
	plan.first_seq = first_seq; /* the pre-flight's requests used the first values */
	if (o.metrics_listen) {
		if (!(metrics = rl_metrics_listen_start(o.metrics_listen, targets, ntargets, err, sizeof(err)))) {
			fprintf(stderr, "ringload: %s\n", err);
			code = EXIT_USAGE;
			goto out;
		}
		plan.live = rl_metrics_listen_view;
		plan.live_arg = metrics;
	}
	/* on the heap: a result holds a dozen 188 KiB histograms per scope */
	res = calloc(1, sizeof(*res));
	if (!res) {
		fprintf(stderr, "ringload: out of memory\n");
		code = EXIT_INTERNAL;
		goto out;
	}
	int run_rc = rl_engine_run(&plan, targets, ntargets, sc.groups, sc.ngroups, res, err, sizeof(err));
	if (plan.progress)
		rl_report_progress_clear(stderr);
	if (run_rc) {
		fprintf(stderr, "ringload: %s\n", err);
		code = EXIT_INTERNAL;
		goto out;
	}
	warn_addr_exhausted(targets, res);
	if (metrics)
		rl_metrics_listen_final(metrics, res);
	struct rl_report rep = { .opt = &o, .targets = targets, .res = res, .groups = sc.groups,
				 .preflight_requests = preflight_requests };
	if (o.output == RL_OUT_JSON)
		rl_report_json(stdout, &rep);
	else if (o.output == RL_OUT_CSV)
		rl_report_csv(stdout, &rep);
	else if (!o.quiet)
		rl_report_console(stdout, &rep);
	if (th.n) {
		struct rl_metrics m;
		rl_metrics_compute(&res->total, res->duration_s, &m);
		if (rl_thresholds_check(&th, &m, stderr))
			code = EXIT_THRESHOLD;
	}
	if ((o.json_path && rl_report_to_file(o.json_path, rl_report_json, &rep, err, sizeof(err))) ||
	    (o.csv_path && rl_report_to_file(o.csv_path, rl_report_csv, &rep, err, sizeof(err))) ||
	    (o.history_path && rl_report_to_file(o.history_path, rl_report_history_csv, &rep, err, sizeof(err))) ||
	    (o.failures_path && rl_report_to_file(o.failures_path, rl_report_failures_csv, &rep, err, sizeof(err))) ||
	    (o.html_path && rl_report_to_file(o.html_path, rl_report_html, &rep, err, sizeof(err)))) {
		fprintf(stderr, "ringload: %s\n", err);
		code = EXIT_INTERNAL;
	}
out:
	if (res)
		rl_result_free(res); /* (a failed run's was freed by the engine: NULL pointers) */
	free(res);
	rl_metrics_listen_stop(metrics, code == EXIT_USAGE ? 0 : o.metrics_linger_ns);
	for (size_t i = 0; i < ntargets; i++)
		rl_target_free(&targets[i]);
	free(targets);
	rl_scenario_free(&sc);
	rl_options_free(&o);
	return code;
}

int main(int argc, char **argv)
{
	rl_crypto_mem_install(); /* before anything calls OpenSSL */
	if (argc > 1 && !strcmp(argv[1], "serve"))
		return rl_serve_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "compare"))
		return rl_compare_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "merge"))
		return rl_merge_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return rl_report_main(argc - 1, argv + 1);
	return cmd_run(argc, argv);
}
