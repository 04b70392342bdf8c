/* Command-line parsing for `ringload [run]`: wrk/h2load-style flags into a validated
 * struct rl_options. Every error names the flag and the value; nothing here exits. */
#include "ringload/options.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/file.h"
#include "foreign.h"
#include "shard.h"
#include "ringload/units.h"

#define MAX_BODY (64u << 20)
#define DEFAULT_START_GRACE_NS 1000000000ULL /* --start-at may be this late, then the offset is said */
#define DEFAULT_PACING_QUANTUM_NS 100000ULL /* measured: see README, "The open loop's own cost" */

enum {
	OPT_TIMEOUT = 256, OPT_CONNECT_TIMEOUT, OPT_JSON, OPT_CSV, OPT_NO_PROGRESS,
	OPT_ALLOW_UNREACHABLE, OPT_NO_PREFLIGHT, OPT_NO_PREFLIGHT_REQUEST, OPT_NO_KERNEL_TIMESTAMPS, OPT_KERNEL_TIMESTAMPS, OPT_SHARD, OPT_SHARDS, OPT_START_AT,
	OPT_START_GRACE, OPT_SOURCE, OPT_METRICS_LISTEN, OPT_METRICS_LINGER, OPT_H1, OPT_VERSION, OPT_H2, OPT_GRPC, OPT_DATA,
	OPT_H2_WINDOW, OPT_MAX_MSG, OPT_PROTO, OPT_PROTOSET, OPT_SCENARIO, OPT_WARMUP, OPT_STAGES,
	OPT_FAIL_IF, OPT_HISTORY, OPT_FAILURES, OPT_HTML,
	/* other tools' spellings: h2load's -w/-W; ghz's --call, --data-file, --metadata,
	 * --rps, --insecure (and -z for -d, h2load's -D) */
	OPT_CALL, OPT_DATA_FILE, OPT_METADATA, OPT_RPS, OPT_INSECURE,
	OPT_UNIX_SOCKET, OPT_H2_RETRIES, OPT_PACING_QUANTUM, OPT_CACERT, OPT_SNI,
	OPT_CERT, OPT_KEY, OPT_ALPN, OPT_TLS_MIN, OPT_TLS_MAX, OPT_CIPHERS, OPT_CIPHERSUITES, OPT_CURVES,
	OPT_TLS_RESUME, OPT_NO_KEEPALIVE, OPT_EXPECT_STATUS, OPT_EXPECT_BODY, OPT_REQ_PER_TARGET,
};

static const struct option long_opts[] = {
	{ "connections", required_argument, NULL, 'c' },
	{ "threads", required_argument, NULL, 't' },
	{ "duration", required_argument, NULL, 'd' },
	{ "requests", required_argument, NULL, 'n' },
	{ "rate", required_argument, NULL, 'R' },
	{ "pipeline", required_argument, NULL, 'P' },
	{ "method", required_argument, NULL, 'X' },
	{ "header", required_argument, NULL, 'H' },
	{ "body", required_argument, NULL, 'b' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "output", required_argument, NULL, 'o' },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "csv", required_argument, NULL, OPT_CSV },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "allow-unreachable", no_argument, NULL, OPT_ALLOW_UNREACHABLE },
	{ "no-preflight", no_argument, NULL, OPT_NO_PREFLIGHT },
	{ "no-preflight-request", no_argument, NULL, OPT_NO_PREFLIGHT_REQUEST },
	{ "no-kernel-timestamps", no_argument, NULL, OPT_NO_KERNEL_TIMESTAMPS },
	{ "kernel-timestamps", no_argument, NULL, OPT_KERNEL_TIMESTAMPS },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "shards", required_argument, NULL, OPT_SHARDS },
	{ "start-at", required_argument, NULL, OPT_START_AT },
	{ "start-grace", required_argument, NULL, OPT_START_GRACE },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
	{ "metrics-linger", required_argument, NULL, OPT_METRICS_LINGER },
	{ "h1", no_argument, NULL, OPT_H1 },
	{ "h2", no_argument, NULL, OPT_H2 },
	{ "streams", required_argument, NULL, 'm' },
	{ "h2-window", required_argument, NULL, OPT_H2_WINDOW },
	{ "grpc", required_argument, NULL, OPT_GRPC },
	{ "data", required_argument, NULL, OPT_DATA },
	{ "max-msg", required_argument, NULL, OPT_MAX_MSG },
	{ "proto", required_argument, NULL, OPT_PROTO },
	{ "protoset", required_argument, NULL, OPT_PROTOSET },
	{ "scenario", required_argument, NULL, OPT_SCENARIO },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "stages", required_argument, NULL, OPT_STAGES },
	{ "fail-if", required_argument, NULL, OPT_FAIL_IF },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "failures", required_argument, NULL, OPT_FAILURES },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "window-bits", required_argument, NULL, 'w' },
	{ "connection-window-bits", required_argument, NULL, 'W' },
	{ "call", required_argument, NULL, OPT_CALL },
	{ "data-file", required_argument, NULL, OPT_DATA_FILE },
	{ "metadata", required_argument, NULL, OPT_METADATA },
	{ "rps", required_argument, NULL, OPT_RPS },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "unix-socket", required_argument, NULL, OPT_UNIX_SOCKET },
	{ "h2-retries", required_argument, NULL, OPT_H2_RETRIES },
	{ "pacing-quantum", required_argument, NULL, OPT_PACING_QUANTUM },
	{ "no-verify", no_argument, NULL, 'k' },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "sni", required_argument, NULL, OPT_SNI },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "alpn", required_argument, NULL, OPT_ALPN },
	{ "tls-min", required_argument, NULL, OPT_TLS_MIN },
	{ "tls-max", required_argument, NULL, OPT_TLS_MAX },
	{ "ciphers", required_argument, NULL, OPT_CIPHERS },
	{ "ciphersuites", required_argument, NULL, OPT_CIPHERSUITES },
	{ "curves", required_argument, NULL, OPT_CURVES },
	{ "tls-resume", required_argument, NULL, OPT_TLS_RESUME },
	{ "no-keepalive", no_argument, NULL, OPT_NO_KEEPALIVE },
	{ "expect-status", required_argument, NULL, OPT_EXPECT_STATUS },
	{ "requests-per-target", required_argument, NULL, OPT_REQ_PER_TARGET },
	{ "expect-body", required_argument, NULL, OPT_EXPECT_BODY },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 },
};

void rl_options_usage(FILE *f)
{
	fputs(
"usage: ringload [run] [OPTIONS] URL [URL...]\n"
"\n"
"Load-test HTTP/1.1, HTTP/2 and gRPC servers from io_uring, measuring connect, first byte and download\n"
"time of every request.\n"
"\n"
"  -c, --connections N      concurrent connections, all threads together (default 50)\n"
"  -t, --threads N          worker threads, one io_uring each (default: online CPUs)\n"
"  -d, --duration DUR       run length: 500ms, 10s, 2m (default 10s unless -n)\n"
"  -n, --requests N         stop after exactly N requests (successful or not)\n"
"  -R, --rate N             open loop: N requests/s in total; latency counts from each\n"
"                           request's intended start (no coordinated omission)\n"
"      --pacing-quantum DUR with -R: a timed wake-up sends every request due within DUR\n"
"                           (default 100us); each is still measured from its own start.\n"
"                           A closed loop that reads in batches reads at least this often\n"
"  -P, --pipeline N         HTTP/1.1 requests in flight per connection (default 1)\n"
"      --h1                 HTTP/1.1 (the default)\n"
"      --h2                 HTTP/2; http:// means h2c with prior knowledge\n"
"  -m, --streams N          HTTP/2 streams in flight per connection (default 10)\n"
"      --h2-window BYTES    HTTP/2 stream and connection receive window (default 1G)\n"
"      --grpc SVC/METHOD    unary gRPC call, e.g. api.performance.UserService/GetUser\n"
"      --data JSON|@FILE    the gRPC request message as JSON (default: empty message)\n"
"      --proto FILE.proto   the service's definition (compiled with protoc)\n"
"      --protoset FILE.pb   the service's FileDescriptorSet (protoc -o)\n"
"      --max-msg BYTES      largest gRPC response message accepted (default 4M)\n"
"      --h2-retries N       send a request refused by GOAWAY or REFUSED_STREAM again at\n"
"                           most N times, from its first start (default 1); then it fails\n"
"                           as goaway:<CODE> or stream_refused\n"
"      --scenario FILE.json named targets with their own protocol, request and weight\n"
"  -k, --no-verify          https://: skip the certificate check (wrk and h2load never check)\n"
"      --cacert FILE        https://: trust the CAs in FILE instead of the system store\n"
"      --sni NAME           https://: send and check NAME instead of the URL's host\n"
"      --cert FILE --key FILE  https://: a client certificate and its key (PEM)\n"
"      --alpn LIST          https://: the protocols offered (default: the protocol's own)\n"
"      --tls-min V, --tls-max V  https://: TLS versions, 1.2 or 1.3\n"
"      --ciphers L, --ciphersuites L, --curves L  https://: OpenSSL's lists\n"
"      --tls-resume F       https://: share of new connections that offer a session\n"
"                           (0 to 1, default 1): full handshakes are 1 - F\n"
"      --no-keepalive       a new connection for every request (hey's habit)\n"
"      --requests-per-target N  N requests to each target (closed loop), not -n's total\n"
"      --expect-status L    only these statuses succeed (200,201,2xx); others below 400\n"
"                           fail as check_failed\n"
"      --expect-body [!]S   a successful response's body must hold S (with !, must not)\n"
"      --unix-socket PATH   connect to this Unix socket (curl's flag): the URL gives the\n"
"                           Host and path; or write the URL http://unix:/PATH.sock:/URI\n"
"  -X, --method M           request method (default GET; POST when -b is given)\n"
"  -H, --header 'K: V'      add a request header (repeatable)\n"
"  -b, --body STR|@FILE     request body, sent with Content-Length\n"
"      --warmup DUR         run this long first and leave it out of the results\n"
"      --stages DUR:N,...   ramp connections (or the rate, with -R) to N over DUR, stage\n"
"                           by stage; DUR:=N steps to N at once. Results per stage\n"
"      --timeout DUR        per request (default 30s); counted as 'timeout'\n"
"      --connect-timeout DUR  per connect (default 5s); counted as 'connect_timeout'\n"
"  -o, --output FMT         stdout format: console, json or csv (default console)\n"
"      --fail-if LIST       thresholds on the total, e.g. 'p99>250ms,error_rate>1%%,rps<1000';\n"
"                           a breach makes the exit code 3 (metrics: p50 p90 p95 p99\n"
"                           p999 max mean over every request, failures included; the\n"
"                           same with _ok over successes only, e.g. p99_ok; ttfb_p99\n"
"                           connect_p99 error_rate success_rate rps failed timeouts)\n"
"      --json FILE          also write the JSON result to FILE\n"
"      --csv FILE           also write the CSV result to FILE\n"
"      --history FILE       one CSV row per second per target: t, requests, errors, rps,\n"
"                           p50/p90/p99/max ms, users, offered rate (the JSON's\n"
"                           history rows)\n"
"      --failures FILE      CSV of failures: category, target, count, first message\n"
"      --html FILE          self-contained HTML report: charts over time, percentile\n"
"                           spectrum, phases, targets, stages, errors, configuration\n"
"      --no-progress        no live progress line (it is shown only on a terminal)\n"
"      --allow-unreachable  go on when some targets fail the pre-flight connect\n"
"      --no-preflight       skip the pre-flight; failures count as errors\n"
"      --no-preflight-request\n"
"                           the pre-flight connects (TLS, HTTP/2 preface) but makes no\n"
"                           request; by default it makes one per target, marked\n"
"                           x-ringload-preflight: 1 and outside the run's counts\n"
"      --kernel-timestamps  the kernel stamps every receive (TCP): the client's own delay\n"
"                           (client_delay), and ttfb and latency by the kernel's stamps,\n"
"                           with a warning when the client distorted its figures. On by\n"
"                           default with -R, where the loop then wakes for the schedule\n"
"                           alone and reads responses by their stamps (lazy harvest), and\n"
"                           in a closed loop whose targets all speak HTTP/2 or gRPC over\n"
"                           TLS. A closed loop with stamps reads responses in batches\n"
"                           where a thread has 16 or more in flight (kernel 6.12); h2c and\n"
"                           gRPC in cleartext are stamped by default where every thread\n"
"                           does. Off by default otherwise (HTTP/1.1: 5-7% more\n"
"                           instructions)\n"
"      --no-kernel-timestamps  none (the default for HTTP/1.1 without -R)\n"
"      --shard I/N          run shard I (from 0) of N: its share of -c, -R, every stage's\n"
"                           level and -n, open-loop starts interleaved with the others'\n"
"      --shards N           the same, I from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)\n"
"      --start-at TIME      connect and pre-flight, then start at TIME: RFC 3339, Unix\n"
"                           seconds or +DUR (every shard the same instant)\n"
"      --start-grace DUR    a --start-at this far past still runs, its offset said (1s)\n"
"      --source ADDR[,ADDR] local addresses to connect from, in turn (A-B: an IPv4 range),\n"
"                           so one machine holds more than 64k connections to one port\n"
"      --metrics-listen ADDR:PORT  serve live metrics (Prometheus text) while it runs\n"
"      --metrics-linger DUR then serve the results this long before exiting (0)\n"
"  -q, --quiet              print nothing but errors (and -o json/csv output)\n"
"  -v, --verbose            more detail (engine features in use)\n"
"  -h, --help               this text;  --version  the version\n"
"\n"
"Other tools' spellings, accepted as they mean there:\n"
"  h2load: -D DUR (-d; bare seconds), -w N / --window-bits N (stream window 2^N-1),\n"
"          -W N / --connection-window-bits N (connection window 2^N-1)\n"
"  ghz:    --call pkg.Service.Method (--grpc), -z DUR (-d), --data-file FILE (--data\n"
"          @FILE), --metadata '{\"k\":\"v\"}' (-H k: v), --rps N (-R), and HOST:PORT\n"
"          as the target of a gRPC call: TLS (https://HOST:PORT/), or with --insecure\n"
"          plaintext (http://HOST:PORT/)\n"
"\n"
"Other verbs: ringload serve [--port N] [--bind ADDR] [--unix PATH] [--threads N] [--tls]\n"
"             ringload compare [-o console|json|csv] A.json B.json [...]\n"
"             ringload merge -o OUT.json IN.json [...]\n"
"             ringload report IN.json -o OUT.html\n"
"\n"
"Exit codes: 0 run completed (request errors are results), 1 internal error,\n"
"2 bad usage or input, 3 a --fail-if threshold was breached, 4 no target answered the\n"
"pre-flight check.\n", f);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return RL_OPTIONS_BAD;
}

#define MAX_SOURCES 65536

static int add_source(struct rl_options *o, const struct sockaddr_storage *ss, char *err, size_t errlen)
{
	if (o->nsources == MAX_SOURCES)
		return fail(err, errlen, "--source: more than %d addresses", MAX_SOURCES);
	if (!(o->nsources & (o->nsources - 1))) { /* 0, 1, 2, 4...: grow */
		void *p = realloc(o->sources, (o->nsources ? 2 * o->nsources : 1) * sizeof(*o->sources));
		if (!p)
			return fail(err, errlen, "out of memory");
		o->sources = p;
	}
	o->sources[o->nsources++] = *ss;
	return 0;
}

static int source_addr(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/* --source ADDR[,ADDR...], each an IPv4 or IPv6 address or an IPv4 range A-B */
static int parse_sources(struct rl_options *o, const char *v, char *err, size_t errlen)
{
	char buf[256];
	for (const char *p = v; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (!len || len >= sizeof(buf))
			return fail(err, errlen, "--source '%s': give addresses, e.g. 10.0.0.1,10.0.0.2 or 10.0.0.1-10.0.0.8", v);
		memcpy(buf, p, len);
		buf[len] = 0;
		char *dash = strchr(buf, '-');
		struct sockaddr_storage a, b;
		if (dash) {
			*dash = 0;
			if (source_addr(buf, &a) || source_addr(dash + 1, &b) || a.ss_family != AF_INET ||
			    b.ss_family != AF_INET)
				return fail(err, errlen, "--source '%s': a range is two IPv4 addresses, A-B", v);
			uint32_t lo = ntohl(((struct sockaddr_in *)&a)->sin_addr.s_addr);
			uint32_t hi = ntohl(((struct sockaddr_in *)&b)->sin_addr.s_addr);
			if (hi < lo || hi - lo >= MAX_SOURCES)
				return fail(err, errlen, "--source '%s': the range runs backwards or spans over %d addresses",
					    v, MAX_SOURCES);
			for (uint64_t x = lo; x <= hi; x++) {
				((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl((uint32_t)x);
				if (add_source(o, &a, err, errlen))
					return RL_OPTIONS_BAD;
			}
		} else if (source_addr(buf, &a) || add_source(o, &a, err, errlen)) {
			return o->nsources == MAX_SOURCES ? RL_OPTIONS_BAD
							  : fail(err, errlen, "--source '%s': '%s' is not an IP address", v, buf);
		}
		p += len + (comma ? 1 : 0);
	}
	return 0;
}

/* --shards N: the index is the pod's in a Kubernetes Indexed Job */
static int parse_shards(struct rl_options *o, const char *v, char *err, size_t errlen)
{
	uint64_t n, i;
	if (rl_parse_count(v, 100000, &n) || !n)
		return fail(err, errlen, "--shards '%s': a count of at least 1", v);
	const char *env = getenv("JOB_COMPLETION_INDEX");
	if (!env || rl_parse_count(env, 100000, &i))
		return fail(err, errlen, "--shards: JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job) is %s",
			    env ? "not a number" : "not set; give --shard INDEX/COUNT");
	if (i >= n)
		return fail(err, errlen, "--shards %llu: JOB_COMPLETION_INDEX %llu is not below it",
			    (unsigned long long)n, (unsigned long long)i);
	o->shard = (uint32_t)i;
	o->shards = (uint32_t)n;
	return 0;
}

static int parse_u32(const char *flag, const char *v, uint64_t min, uint64_t max,
		     uint32_t *out, char *err, size_t errlen)
{
	uint64_t n;
	if (rl_parse_count(v, max, &n) || n < min)
		return fail(err, errlen, "%s: invalid value '%s' (expected %llu..%llu)", flag, v,
			    (unsigned long long)min, (unsigned long long)max);
	*out = (uint32_t)n;
	return 0;
}

static int parse_dur(const char *flag, const char *v, uint64_t *out, char *err, size_t errlen)
{
	if (rl_parse_duration_ns(v, out) || *out == 0)
		return fail(err, errlen, "%s: invalid duration '%s' (examples: 500ms, 10s, 2m)", flag, v);
	return 0;
}

/* STR, or @FILE read whole (at most 64 MiB), into a NUL-terminated buffer. */
/* "10s:50,30s:=200,10s:0" */
static int parse_stages(struct rl_options *o, const char *arg, char *err, size_t errlen)
{
	char buf[1024];
	if (strlen(arg) >= sizeof(buf))
		return fail(err, errlen, "--stages: too long");
	strcpy(buf, arg);
	o->nstages = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		if (!colon || o->nstages == RL_MAX_STAGES)
			return fail(err, errlen, "--stages: bad stage '%s' (expected DUR:N or DUR:=N, at most %d)",
				    tok, RL_MAX_STAGES);
		*colon = 0;
		struct rl_stage *st = &o->stages[o->nstages];
		char *lv = colon + 1, *end;
		st->step = *lv == '=';
		if (st->step)
			lv++;
		errno = 0;
		st->level = strtod(lv, &end);
		if (rl_parse_duration_ns(tok, &st->dur_ns) || !st->dur_ns || errno || end == lv || *end ||
		    !(st->level >= 0) || st->level > 1e9)
			return fail(err, errlen, "--stages: bad stage '%s:%s' (expected DUR:N or DUR:=N)", tok, colon + 1);
		o->nstages++;
	}
	if (!o->nstages)
		return fail(err, errlen, "--stages: no stage given");
	return 0;
}

/* The file at path, whole (at most 64 MiB), into *out (replacing what was there). */
static int read_file(const char *flag, const char *path, char **out, size_t *out_len, char *err,
		     size_t errlen)
{
	free(*out);
	int rc = rl_read_file(path, MAX_BODY, out, out_len);
	if (rc == -EINVAL || rc == -EFBIG)
		return fail(err, errlen, "%s: '%s' is not a regular file of at most 64 MiB", flag, path);
	if (rc)
		return fail(err, errlen, "%s: cannot read '%s': %s", flag, path, strerror(-rc));
	return 0;
}

static int read_arg(const char *flag, const char *arg, char **out, size_t *out_len, char *err,
		    size_t errlen)
{
	if (arg[0] == '@')
		return read_file(flag, arg + 1, out, out_len, err, errlen);
	free(*out);
	*out_len = strlen(arg);
	*out = malloc(*out_len + 1);
	if (!*out)
		return fail(err, errlen, "out of memory");
	memcpy(*out, arg, *out_len + 1);
	return 0;
}

/* A string the options keep (freed by rl_options_free); NULL when out of memory or room. */
static char *keep(struct rl_options *o, char *s)
{
	if (!s || o->nowned == sizeof(o->owned) / sizeof(o->owned[0])) {
		free(s);
		return NULL;
	}
	return o->owned[o->nowned++] = s;
}

static int add_header(struct rl_options *o, const char *flag, const char *line, char *err,
		      size_t errlen)
{
	if (o->nheaders == RL_MAX_HEADERS)
		return fail(err, errlen, "%s: more than %d headers", flag, RL_MAX_HEADERS);
	if (rl_h1_header_parse(line, &o->headers[o->nheaders]))
		return fail(err, errlen, "%s: invalid header '%s' (expected 'Name: value')", flag, line);
	o->nheaders++;
	return 0;
}

/* ghz's --metadata '{"key": "value", ...}': each pair is a header (gRPC metadata). */
static int parse_metadata(struct rl_options *o, const char *arg, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loads(arg, 0, &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errlen, "--metadata: expected a JSON object of strings, e.g. '{\"key\": \"value\"}'");
	}
	const char *key;
	json_t *val;
	int rc = 0;
	json_object_foreach(root, key, val) {
		if (!json_is_string(val)) {
			rc = fail(err, errlen, "--metadata: the value of '%s' is not a string", key);
			break;
		}
		char *line = NULL;
		if (asprintf(&line, "%s: %s", key, json_string_value(val)) < 0 || !keep(o, line)) {
			rc = fail(err, errlen, "--metadata: too many entries");
			break;
		}
		if ((rc = add_header(o, "--metadata", line, err, errlen)))
			break;
	}
	json_decref(root);
	return rc;
}

/* pkg.Service/Method; with dotted (ghz's --call), pkg.Service.Method too */
static int parse_method(struct rl_options *o, const char *flag, const char *arg, bool dotted,
			char *err, size_t errlen)
{
	const char *m = arg;
	const char *dot = strrchr(arg, '.');
	if (dotted && !strchr(arg, '/') && dot && dot != arg) {
		char *slashed = keep(o, strdup(arg));
		if (!slashed)
			return fail(err, errlen, "out of memory");
		slashed[dot - arg] = '/';
		m = slashed;
	}
	const char *slash = strchr(m, '/');
	if (!slash || slash == m || !slash[1] || strchr(slash + 1, '/') || strpbrk(m, " \t\r\n?"))
		return fail(err, errlen, "%s: invalid method '%s' (expected package.Service/Method)", flag, arg);
	o->grpc_method = m;
	o->proto = RL_PROTO_GRPC;
	return 0;
}

/* h2load's -w/-W N: a window of 2^N - 1 bytes */
static int parse_window_bits(const char *flag, const char *v, uint32_t *out, char *err,
			     size_t errlen)
{
	uint32_t bits = 0;
	if (parse_u32(flag, v, 0, 30, &bits, err, errlen))
		return RL_OPTIONS_BAD;
	*out = (1u << bits) - 1;
	return 0;
}

int rl_options_parse(struct rl_options *o, int argc, char **argv, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->connections = 50;
	o->pipeline = 1;
	o->timeout_ns = 30ULL * 1000000000;
	o->streams = 10;
	o->h2_window = o->h2_conn_window = 1073741823; /* h2load's default: 2^30 - 1 */
	o->max_msg = 4u << 20;
	o->h2_retries = 1;
	o->tls_resume = 1;
	o->pacing_quantum_ns = DEFAULT_PACING_QUANTUM_NS;
	o->kernel_timestamps = -1;
	o->connect_timeout_ns = 5ULL * 1000000000;
	o->method = NULL;
	o->progress = true;
	o->preflight = true;
	o->preflight_request = true;
	o->start_grace_ns = DEFAULT_START_GRACE_NS;
	bool duration_given = false;

	if (argc > 1 && !strcmp(argv[1], "run")) {
		argv++;
		argc--;
	}
	/* wrk's, h2load's, ghz's, hey's, oha's and vegeta's flags: ours, or a hint */
	if (rl_foreign_rewrite(argc, argv, &o->argv_mem, &argc, o->owned, &o->nowned,
			       sizeof(o->owned) / sizeof(o->owned[0]), err, errlen))
		return RL_OPTIONS_BAD;
	argv = o->argv_mem;
	optind = 0; /* glibc: 0 also drops the state of a half-read grouped -abc */
	opterr = 0;
	int c, idx;
	/* "-" first: each URL comes back as option 1, so URLs and flags may be mixed */
	bool pipeline_given = false, connections_given = false;
	const char *start_at = NULL;
	while ((c = getopt_long(argc, argv, "-:c:t:d:D:z:n:R:P:m:w:W:X:H:b:o:kqvh", long_opts, &idx)) != -1) {
		int rc = 0;
		switch (c) {
		case 1:
			if (o->nurls == RL_MAX_TARGETS)
				return fail(err, errlen, "more than %d URLs", RL_MAX_TARGETS);
			o->urls[o->nurls++] = optarg;
			break;
		case 'c':
			rc = parse_u32("-c", optarg, 1, 1000000, &o->connections, err, errlen);
			connections_given = true;
			break;
		case 't':
			rc = parse_u32("-t", optarg, 1, 1024, &o->threads, err, errlen);
			o->threads_given = true;
			break;
		case 'P':
			rc = parse_u32("-P", optarg, 1, 1024, &o->pipeline, err, errlen);
			pipeline_given = true;
			break;
		case 'd':
		case 'D': /* h2load */
		case 'z': /* ghz */
			rc = parse_dur(c == 'd' ? "-d" : c == 'D' ? "-D" : "-z", optarg, &o->duration_ns, err, errlen);
			duration_given = true;
			break;
		case 'n':
			if (rl_parse_count(optarg, UINT64_MAX / 2, &o->requests) || !o->requests)
				rc = fail(err, errlen, "-n: invalid request count '%s'", optarg);
			break;
		case OPT_REQ_PER_TARGET:
			if (rl_parse_count(optarg, UINT64_MAX / 2 / RL_MAX_TARGETS, &o->requests_per_target) ||
			    !o->requests_per_target)
				rc = fail(err, errlen, "--requests-per-target: invalid request count '%s'", optarg);
			break;
		case 'R':
		case OPT_RPS: {
			char *end;
			errno = 0;
			o->rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->rate > 0) || o->rate > 1e9)
				rc = fail(err, errlen, "%s: invalid rate '%s' (requests per second, > 0)",
					  c == 'R' ? "-R" : "--rps", optarg);
			break;
		}
		case 'X':
			for (const char *m = optarg; *m || m == optarg; m++)
				if (!*m || *m < 'A' || *m > 'Z')
					return fail(err, errlen, "-X: invalid method '%s' (expected e.g. GET, POST)", optarg);
			o->method = optarg;
			break;
		case 'H': rc = add_header(o, "-H", optarg, err, errlen); break;
		case OPT_METADATA: rc = parse_metadata(o, optarg, err, errlen); break;
		case 'b':
			rc = read_arg("-b", optarg, &o->body, &o->body_len, err, errlen);
			o->has_body = true;
			break;
		case OPT_DATA: {
			size_t n;
			rc = read_arg("--data", optarg, &o->data, &n, err, errlen);
			break;
		}
		case OPT_DATA_FILE: {
			size_t n;
			rc = read_file("--data-file", optarg, &o->data, &n, err, errlen);
			break;
		}
		case OPT_H2: o->proto = RL_PROTO_H2; break;
		case OPT_PROTO: o->proto_file = optarg; break;
		case OPT_SCENARIO: o->scenario_path = optarg; break;
		case OPT_WARMUP: rc = parse_dur("--warmup", optarg, &o->warmup_ns, err, errlen); break;
		case OPT_STAGES: rc = parse_stages(o, optarg, err, errlen); break;
		case OPT_FAIL_IF: o->fail_if = optarg; break;
		case OPT_HISTORY: o->history_path = optarg; break;
		case OPT_FAILURES: o->failures_path = optarg; break;
		case OPT_HTML: o->html_path = optarg; break;
		case 'k': o->tls_no_verify = true; break;
		case OPT_CACERT: o->cacert = optarg; break;
		case OPT_SNI: o->sni = optarg; break;
		case OPT_CERT: o->cert = optarg; break;
		case OPT_KEY: o->key = optarg; break;
		case OPT_ALPN: o->alpn = optarg; break;
		case OPT_CIPHERS: o->ciphers = optarg; break;
		case OPT_CIPHERSUITES: o->ciphersuites = optarg; break;
		case OPT_CURVES: o->curves = optarg; break;
		case OPT_NO_KEEPALIVE: o->no_keepalive = true; break;
		case OPT_EXPECT_STATUS: o->expect_status = optarg; break;
		case OPT_EXPECT_BODY: o->expect_body = optarg; break;
		case OPT_TLS_MIN:
		case OPT_TLS_MAX: {
			int v = !strcmp(optarg, "1.2") ? 0x0303 : !strcmp(optarg, "1.3") ? 0x0304 : 0;
			if (!v)
				rc = fail(err, errlen, "%s: '%s' (1.2 or 1.3)", c == OPT_TLS_MIN ? "--tls-min" : "--tls-max", optarg);
			*(c == OPT_TLS_MIN ? &o->tls_min : &o->tls_max) = v;
			break;
		}
		case OPT_TLS_RESUME: {
			char *end;
			errno = 0;
			o->tls_resume = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->tls_resume >= 0 && o->tls_resume <= 1))
				rc = fail(err, errlen, "--tls-resume: '%s' (a fraction from 0 to 1)", optarg);
			break;
		}
		case OPT_PACING_QUANTUM:
			if (rl_parse_duration_ns(optarg, &o->pacing_quantum_ns) || o->pacing_quantum_ns > 100000000ULL)
				rc = fail(err, errlen, "--pacing-quantum: invalid duration '%s' (0 to 100ms)", optarg);
			break;
		case OPT_H2_RETRIES: rc = parse_u32("--h2-retries", optarg, 0, 100, &o->h2_retries, err, errlen); break;
		case OPT_UNIX_SOCKET:
			if (!*optarg || strlen(optarg) >= RL_UNIX_PATH_MAX)
				rc = fail(err, errlen, "--unix-socket: path of %zu bytes; 1 to %d fit in sun_path",
					  strlen(optarg), RL_UNIX_PATH_MAX - 1);
			o->unix_socket = optarg;
			break;
		case OPT_PROTOSET: o->protoset_file = optarg; break;
		case 'm': rc = parse_u32("-m", optarg, 1, 100000, &o->streams, err, errlen); break;
		case OPT_H2_WINDOW:
			rc = parse_u32("--h2-window", optarg, 65535, 2147483647, &o->h2_window, err, errlen);
			o->h2_conn_window = o->h2_window;
			break;
		case 'w': rc = parse_window_bits("-w", optarg, &o->h2_window, err, errlen); break;
		case 'W': rc = parse_window_bits("-W", optarg, &o->h2_conn_window, err, errlen); break;
		case OPT_MAX_MSG:
			rc = parse_u32("--max-msg", optarg, 1, 2147483647, &o->max_msg, err, errlen);
			break;
		case OPT_GRPC: rc = parse_method(o, "--grpc", optarg, false, err, errlen); break;
		case OPT_CALL: rc = parse_method(o, "--call", optarg, true, err, errlen); break;
		case OPT_INSECURE: o->insecure = true; break; /* ghz: plaintext */
		case OPT_TIMEOUT: rc = parse_dur("--timeout", optarg, &o->timeout_ns, err, errlen); break;
		case OPT_CONNECT_TIMEOUT:
			rc = parse_dur("--connect-timeout", optarg, &o->connect_timeout_ns, err, errlen);
			break;
		case 'o':
			if (!strcmp(optarg, "console"))
				o->output = RL_OUT_CONSOLE;
			else if (!strcmp(optarg, "json"))
				o->output = RL_OUT_JSON;
			else if (!strcmp(optarg, "csv"))
				o->output = RL_OUT_CSV;
			else
				rc = fail(err, errlen, "-o: unknown output '%s' (console, json or csv)", optarg);
			break;
		case OPT_JSON: o->json_path = optarg; break;
		case OPT_CSV: o->csv_path = optarg; break;
		case OPT_NO_PROGRESS: o->progress = false; break;
		case OPT_ALLOW_UNREACHABLE: o->allow_unreachable = true; break;
		case OPT_NO_PREFLIGHT: o->preflight = false; break;
		case OPT_NO_PREFLIGHT_REQUEST: o->preflight_request = false; break;
		case OPT_NO_KERNEL_TIMESTAMPS: o->kernel_timestamps = 0; break;
		case OPT_KERNEL_TIMESTAMPS: o->kernel_timestamps = 1; break;
		case OPT_SHARD: rc = rl_shard_parse(optarg, &o->shard, &o->shards, err, errlen) ? RL_OPTIONS_BAD : 0; break;
		case OPT_SHARDS: rc = parse_shards(o, optarg, err, errlen); break;
		case OPT_START_AT: start_at = optarg; break;
		case OPT_SOURCE: rc = parse_sources(o, optarg, err, errlen); break;
		case OPT_METRICS_LISTEN: o->metrics_listen = optarg; break;
		case OPT_METRICS_LINGER:
			if (rl_parse_duration_ns(optarg, &o->metrics_linger_ns))
				return fail(err, errlen, "--metrics-linger: invalid duration '%s'", optarg);
			break;
		case OPT_START_GRACE:
			if (rl_parse_duration_ns(optarg, &o->start_grace_ns))
				return fail(err, errlen, "--start-grace: invalid duration '%s'", optarg);
			break;
		case OPT_H1: break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose++; break;
		case 'h': return RL_OPTIONS_HELP;
		case OPT_VERSION: return RL_OPTIONS_VERSION;
		case ':':
			if (optopt && optopt < 256)
				return fail(err, errlen, "option -%c needs a value", optopt);
			return fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt && optopt < 256)
				return fail(err, errlen, "unknown option '-%c'", optopt);
			return fail(err, errlen, "unknown option '%s'", argv[optind - 1]);
		}
		if (rc)
			return rc;
	}
	for (int i = optind; i < argc; i++) { /* after "--" */
		if (o->nurls == RL_MAX_TARGETS)
			return fail(err, errlen, "more than %d URLs", RL_MAX_TARGETS);
		o->urls[o->nurls++] = argv[i];
	}
	if (o->proto == RL_PROTO_GRPC) {
		/* ghz takes HOST:PORT: the call goes over TLS, as ghz's does, unless --insecure */
		for (size_t i = 0; i < o->nurls; i++) {
			if (strstr(o->urls[i], "://") || !strchr(o->urls[i], ':'))
				continue;
			char *url = NULL;
			/* (unix:/PATH stays plaintext: TLS over a local socket protects nothing) */
			bool tls = !o->insecure && strncmp(o->urls[i], "unix:", 5);
			if (asprintf(&url, "%s://%s%s", tls ? "https" : "http", o->urls[i],
				     strchr(o->urls[i], '/') ? "" : "/") < 0 ||
			    !keep(o, url))
				return fail(err, errlen, "out of memory");
			o->urls[i] = url;
		}
	}
	if (o->scenario_path && o->nurls)
		return fail(err, errlen, "--scenario: its targets replace the URLs on the command line");
	if (!o->nurls && !o->scenario_path)
		return fail(err, errlen, "no URL given (usage: ringload [OPTIONS] http://HOST:PORT/PATH)");
	if (o->proto == RL_PROTO_GRPC && (o->method || o->has_body))
		return fail(err, errlen, "--grpc: the call is a POST of --data; -X and -b do not apply");
	if (o->data && o->proto != RL_PROTO_GRPC)
		return fail(err, errlen, "--data: only for gRPC calls (give --grpc SERVICE/METHOD)");
	if ((o->proto_file || o->protoset_file) && o->proto != RL_PROTO_GRPC)
		return fail(err, errlen, "--%s: only for gRPC calls (give --grpc SERVICE/METHOD)",
			    o->proto_file ? "proto" : "protoset");
	if (o->proto_file && o->protoset_file)
		return fail(err, errlen, "--proto and --protoset: give one of them");
	if (pipeline_given && o->proto != RL_PROTO_H1)
		return fail(err, errlen, "-P: pipelining is HTTP/1.1's; HTTP/2 and gRPC use -m streams");
	if (!o->method)
		o->method = o->proto == RL_PROTO_GRPC || o->has_body ? "POST" : "GET";
	if (o->nstages) {
		if (duration_given || o->requests || o->warmup_ns)
			return fail(err, errlen, "--stages: the stages set the run's length (no -d, -n or --warmup)");
		double peak = 0;
		for (size_t i = 0; i < o->nstages; i++) {
			o->duration_ns += o->stages[i].dur_ns;
			if (o->stages[i].level > peak)
				peak = o->stages[i].level;
		}
		duration_given = true;
		/* with -R the levels are rates and -R's value is where the first stage starts;
		 * without, they are connections, starting from none */
		if (!(o->rate > 0)) {
			if (peak < 1 || peak > 1000000)
				return fail(err, errlen, "--stages: connections must peak between 1 and 1000000");
			if (connections_given && o->connections < (uint32_t)peak)
				return fail(err, errlen, "--stages: -c %u is below the peak of %.0f connections", o->connections, peak);
			o->connections = (uint32_t)peak;
		}
	}
	if (o->requests_per_target && (o->requests || o->rate > 0 || o->nstages))
		return fail(err, errlen, "--requests-per-target: a closed-loop count per target, instead of -n (no -R, --stages)");
	o->duration_set = duration_given;
	if (!duration_given && !o->requests && !o->requests_per_target)
		o->duration_ns = 10ULL * 1000000000;
	if (o->warmup_ns && !o->duration_ns)
		return fail(err, errlen, "--warmup: give the run a duration (-d); -n counts every request");
	if (start_at) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		int64_t now_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
		if (rl_start_at_parse(start_at, now_ns, &o->start_at_ns, err, errlen))
			return RL_OPTIONS_BAD;
		if (o->start_at_ns + (int64_t)o->start_grace_ns < now_ns)
			return fail(err, errlen, "--start-at '%s' is %.3f s past, beyond --start-grace", start_at,
				    (double)(now_ns - o->start_at_ns) / 1e9);
	}
	o->plan_fingerprint = rl_shard_fingerprint(o);
	if (rl_shard_split(o, err, errlen))
		return RL_OPTIONS_BAD;
	if (!o->threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o->threads = n > 0 ? (uint32_t)n : 1;
	}
	if (o->threads > o->connections) {
		if (o->threads_given)
			return fail(err, errlen, "-t %u: more threads than connections (-c %u)",
				    o->threads, o->connections);
		o->threads = o->connections;
	}
	if (o->connections < o->nurls)
		return fail(err, errlen, "-c %u: fewer connections than URLs (%zu)", o->connections, o->nurls);
	return RL_OPTIONS_OK;
}

void rl_options_free(struct rl_options *o)
{
	free(o->argv_mem);
	o->argv_mem = NULL;
	free(o->body);
	free(o->data);
	free(o->sources);
	o->sources = NULL;
	o->nsources = 0;
	o->body = o->data = NULL;
	for (size_t i = 0; i < o->nowned; i++)
		free(o->owned[i]);
	o->nowned = 0;
}

void rl_options_request_spec(const struct rl_options *o, struct rl_request_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->proto = o->proto;
	spec->method = o->method;
	memcpy(spec->headers, o->headers, o->nheaders * sizeof(o->headers[0]));
	spec->nheaders = o->nheaders;
	spec->body = o->body;
	spec->body_len = o->body_len;
	spec->has_body = o->has_body;
	spec->grpc_method = o->grpc_method;
	spec->data = o->data;
	spec->proto_file = o->proto_file;
	spec->protoset_file = o->protoset_file;
	spec->timeout_ns = o->timeout_ns;
	spec->unix_path = o->unix_socket;
	spec->tls_no_verify = o->tls_no_verify;
	spec->cacert = o->cacert;
	spec->sni = o->sni;
	spec->cert = o->cert;
	spec->key = o->key;
	spec->alpn = o->alpn;
	spec->tls_min = o->tls_min;
	spec->tls_max = o->tls_max;
	spec->ciphers = o->ciphers;
	spec->ciphersuites = o->ciphersuites;
	spec->curves = o->curves;
	spec->no_keepalive = o->no_keepalive;
	spec->expect_status = o->expect_status;
	spec->requests = o->requests_per_target;
	spec->expect_body = o->expect_body;
}
