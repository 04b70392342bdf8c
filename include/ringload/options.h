/* The run's options as given on the command line (SPEC.md "Run options"), validated.
 * Parsing never exits: errors come back as a one-line message for main to print. */
#ifndef RINGLOAD_OPTIONS_H
#define RINGLOAD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "ringload/h1.h"
#include "ringload/stages.h"
#include "ringload/target.h"

#define RL_MAX_TARGETS 64

enum rl_output { RL_OUT_CONSOLE, RL_OUT_JSON, RL_OUT_CSV };

struct rl_options {
	uint32_t connections, threads, pipeline;
	enum rl_proto proto;
	uint32_t streams;          /* HTTP/2 streams in flight per connection */
	uint32_t h2_window;        /* stream receive window (SETTINGS_INITIAL_WINDOW_SIZE) */
	uint32_t h2_conn_window;   /* connection receive window */
	const char *grpc_method;   /* "pkg.Service/Method" */
	char *data;                /* gRPC request message as JSON (owned) */
	const char *proto_file, *protoset_file; /* descriptors for services not built in */
	uint32_t max_msg;          /* largest gRPC message accepted */
	uint32_t h2_retries;       /* sends of a request refused by GOAWAY or REFUSED_STREAM */
	uint64_t duration_ns;      /* 0 with -n alone: run until the requests are done */
	uint64_t warmup_ns;        /* run this long first, left out of the results */
	struct rl_stage stages[RL_MAX_STAGES];
	size_t nstages;
	uint64_t requests;         /* 0: unlimited */
	double rate;               /* -R: requests/s in total; 0: closed loop */
	uint64_t pacing_quantum_ns; /* --pacing-quantum: a timed wake sends what is due this close */
	uint64_t timeout_ns, connect_timeout_ns;
	const char *method;
	struct rl_h1_header headers[RL_MAX_HEADERS];
	size_t nheaders;
	char *body;                /* owned (read from @FILE or copied) */
	size_t body_len;
	bool has_body;
	enum rl_output output;
	const char *json_path, *csv_path, *history_path, *failures_path, *html_path;
	const char *scenario_path;
	const char *fail_if;       /* thresholds, parsed by main */
	bool progress, quiet, allow_unreachable, preflight;
	bool preflight_request;    /* the pre-flight makes one real request per target */
	int kernel_timestamps;     /* kernel receive stamps where the kernel gives them: 1, 0, or
	                            * -1, the default: on with -R (the loop then harvests lazily) */
	int verbose;
	const char *urls[RL_MAX_TARGETS];
	size_t nurls;
	bool threads_given;
	const char *unix_socket;   /* --unix-socket PATH (curl's): every target connects there */
	bool tls_no_verify;        /* -k, --no-verify */
	bool insecure;             /* ghz's --insecure: a bare HOST:PORT gRPC target is plaintext */
	const char *cacert, *sni;  /* --cacert FILE, --sni NAME */
	const char *cert, *key, *alpn; /* --cert FILE --key FILE, --alpn LIST */
	int tls_min, tls_max;      /* --tls-min, --tls-max */
	const char *ciphers, *ciphersuites, *curves;
	bool no_keepalive;         /* --no-keepalive */
	uint64_t requests_per_target; /* --requests-per-target N */
	bool duration_set;         /* -d given (or the stages'): not the 10 s default */
	const char *expect_status; /* --expect-status LIST */
	const char *expect_body;   /* --expect-body [!]STR */
	double tls_resume;         /* --tls-resume FRACTION: new connections that offer a session */
	uint32_t shard, shards;    /* --shard I/N (--shards N: I from JOB_COMPLETION_INDEX); 0: one */
	uint64_t plan_fingerprint; /* the whole run's plan, before this shard's split */
	int64_t start_at_ns;       /* --start-at, CLOCK_REALTIME; 0: at once */
	uint64_t start_grace_ns;   /* --start-grace: a start this late still runs */
	struct sockaddr_storage *sources; /* --source: local addresses, round-robin (owned) */
	uint32_t nsources;
	const char *metrics_listen; /* --metrics-listen ADDR:PORT: Prometheus text while it runs */
	uint64_t metrics_linger_ns; /* --metrics-linger: serve the results this long after */
	char *owned[RL_MAX_HEADERS + 2 * RL_MAX_TARGETS + 1]; /* strings made from flags (freed) */
	char **argv_mem;           /* argv with other tools' flags rewritten (freed) */
	size_t nowned;
};

enum { RL_OPTIONS_OK = 0, RL_OPTIONS_HELP = 1, RL_OPTIONS_VERSION = 2, RL_OPTIONS_BAD = -1 };

/* argv[0] is the program name; a leading "run" verb is accepted. */
int rl_options_parse(struct rl_options *o, int argc, char **argv, char *err, size_t errlen);
void rl_options_free(struct rl_options *o);
void rl_options_usage(FILE *f);

/* What the engine needs of the options: each target's request, the run's stages. */
void rl_options_request_spec(const struct rl_options *o, struct rl_request_spec *spec);
static inline struct rl_stage_plan rl_options_stage_plan(const struct rl_options *o)
{
	return (struct rl_stage_plan){ o->stages, o->nstages, o->rate > 0 ? o->rate : 0 };
}

#endif
