/* The pre-flight: a blocking connect per target (with the TLS handshake and the HTTP/2
 * preface: rl_target_probe), then one real request per target made by the engine
 * itself, so it is the same request the run makes, in the same protocol, with the same
 * checks. A target that cannot be reached stops the run (exit 4); a request that fails
 * is said, and the run goes on: a server that answers 404 or garbage is a result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/engine.h"
#include "ringload/stats.h"
#include "preflight.h"

enum { PREFLIGHT_OK = 0, PREFLIGHT_UNREACHABLE = 4 };

static int reach_targets(const struct rl_options *o, const struct rl_target *targets, size_t ntargets,
			 bool *up)
{
	size_t down = 0;
	for (size_t i = 0; i < ntargets; i++) {
		char why[200];
		int rc = rl_target_probe(&targets[i], o->connect_timeout_ns, why, sizeof(why));
		up[i] = !rc;
		if (rc) {
			char where[RL_UNIX_PATH_MAX + 16];
			fprintf(stderr, "ringload: %s (%s) did not answer the pre-flight %s: %s\n",
				targets[i].name, rl_target_where(&targets[i], where, sizeof(where)),
				why[0] ? "handshake" : "connect", why[0] ? why : strerror(-rc));
			down++;
		} else if (why[0]) {
			fprintf(stderr, "ringload: %s: pre-flight: %s\n", targets[i].name, why);
		}
	}
	if (down == ntargets) {
		fprintf(stderr, "ringload: no target answered the pre-flight check\n");
		return PREFLIGHT_UNREACHABLE;
	}
	if (down && !o->allow_unreachable) {
		fprintf(stderr, "ringload: %zu of %zu targets unreachable (use --allow-unreachable to go on)\n",
			down, ntargets);
		return PREFLIGHT_UNREACHABLE;
	}
	return PREFLIGHT_OK;
}

/* The first failure's name, for the line that says why (copied: the name may be built
 * in a buffer of the caller's). */
static void keep_first(void *ctx, const char *name, uint64_t n)
{
	char *first = ctx;
	if (n && !first[0])
		snprintf(first, 64, "%s", name);
}

static void say_outcome(const struct rl_target *t, const struct rl_stats *s)
{
	if (s->successful == s->requests && s->requests)
		return;
	char first[64] = "";
	rl_stats_each_error(s, keep_first, first);
	const char *detail = "";
	for (int e = 0; e < RL_ERR_COUNT; e++)
		if (s->errors[e] && s->first_error[e][0]) {
			detail = s->first_error[e];
			break;
		}
	if (!s->requests)
		fprintf(stderr, "ringload: %s: pre-flight request: no answer before the run's limits\n", t->name);
	else
		fprintf(stderr, "ringload: %s: pre-flight request failed: %s%s%s%s; the run goes on\n", t->name,
			first[0] ? first : "failed", detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
}

/* The request each reachable target's run would make, marked, on one connection per
 * target and one thread: -n 1 per target. */
static void make_requests(const struct rl_options *o, const struct rl_target *targets, size_t ntargets,
			  const struct rl_request_spec *const *specs, const bool *up, uint32_t *made,
			  uint64_t *next_seq)
{
	struct rl_target *pf = calloc(ntargets, sizeof(*pf));
	size_t *of = calloc(ntargets, sizeof(*of));
	size_t n = 0;
	char err[256];
	for (size_t i = 0; pf && of && i < ntargets; i++) {
		if (!up[i])
			continue;
		struct rl_request_spec spec = *specs[i];
		if (spec.nheaders < RL_MAX_HEADERS)
			spec.headers[spec.nheaders++] = (struct rl_h1_header){
				RL_PREFLIGHT_HEADER, sizeof(RL_PREFLIGHT_HEADER) - 1, "1", 1 };
		spec.requests = 1;
		if (rl_target_init(&pf[n], targets[i].url, &spec, err, sizeof(err))) {
			rl_target_free(&pf[n]);
			continue; /* the run's own target was made from this spec: not reached */
		}
		pf[n].name = targets[i].name;
		pf[n].streams = pf[n].pipeline = 1;
		pf[n].timeout_ns = targets[i].timeout_ns;
		of[n++] = i;
	}
	if (n) {
		struct rl_plan plan = {
			.connections = (uint32_t)n,
			.threads = 1,
			.pipeline = 1,
			.streams = 1,
			.h2_window = o->h2_window,
			.h2_conn_window = o->h2_conn_window,
			.max_msg = o->max_msg,
			.h2_retries = o->h2_retries,
			.requests = n,
			.connect_timeout_ns = o->connect_timeout_ns,
			.pacing_quantum_ns = o->pacing_quantum_ns,
			.tls_resume = 1,
			.shard = o->shard, /* its {{seq}} values are this shard's too */
			.shards = o->shards,
		};
		struct rl_result *res = calloc(1, sizeof(*res)); /* a dozen 188 KiB histograms */
		if (!res || rl_engine_run(&plan, pf, n, NULL, 0, res, err, sizeof(err))) {
			fprintf(stderr, "ringload: pre-flight request: %s; the run goes on\n", res ? err : "out of memory");
		} else {
			for (size_t k = 0; k < n; k++) {
				if (res->targets[k].conns_opened)
					*made += (uint32_t)res->targets[k].requests;
				say_outcome(&targets[of[k]], &res->targets[k]);
			}
			/* the run's values start above every one the pre-flight used */
			*next_seq = res->next_seq > o->shard ? res->next_seq - o->shard : 0;
			rl_result_free(res);
		}
		free(res);
	}
	for (size_t k = 0; pf && k < n; k++)
		rl_target_free(&pf[k]);
	free(pf);
	free(of);
}

int rl_preflight(const struct rl_options *o, struct rl_target *targets, size_t ntargets,
		 const struct rl_request_spec *const *specs, uint32_t *requests_made, uint64_t *next_seq)
{
	*requests_made = 0;
	*next_seq = 0;
	bool *up = calloc(ntargets ? ntargets : 1, sizeof(*up));
	if (!up)
		return PREFLIGHT_OK;
	int code = reach_targets(o, targets, ntargets, up);
	if (code == PREFLIGHT_OK && o->preflight_request)
		make_requests(o, targets, ntargets, specs, up, requests_made, next_seq);
	free(up);
	return code;
}
