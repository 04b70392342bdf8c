/* Command lines copied from wrk, wrk2, h2load, ghz, hey, oha and vegeta: every flag of
 * theirs that ringload could meet is in one table, sorted into the same meaning here
 * (rewritten to our spelling before getopt sees it), a different meaning here (a one-line
 * error naming their meaning and our spelling, when the value shows which was meant), or
 * not supported (a one-line error saying what to use instead). The README's table and
 * the man page list the same rows; tests/test_options.c checks all three agree. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "foreign.h"
#include "ringload/units.h"

/* ---- what a value looks like ---- */

static bool any_value(const char *v) { return true; }

static bool looks_numeric(const char *v)
{
	if (!v || !*v)
		return false;
	for (; *v; v++)
		if (!isdigit((unsigned char)*v) && *v != '.')
			return false;
	return true;
}

static bool looks_json(const char *v)
{
	return v && (v[0] == '{' || v[0] == '[');
}

static bool looks_json_or_file(const char *v)
{
	return v && (v[0] == '{' || v[0] == '[' || v[0] == '@' || v[0] == '"');
}

/* Not a duration ringload could read (500ms, 10s, or bare seconds): a file's path. */
static bool looks_path(const char *v)
{
	uint64_t ns;
	return v && *v && v[0] != '-' && rl_parse_duration_ns(v, &ns) && !looks_numeric(v);
}

static bool looks_method(const char *v)
{
	if (!v || !*v)
		return false;
	for (; *v; v++)
		if (!isupper((unsigned char)*v))
			return false;
	return true;
}

static bool looks_url(const char *v)
{
	return v && (strstr(v, "://") || !strncmp(v, "unix:", 5));
}

static bool not_our_format(const char *v)
{
	return v && strcmp(v, "console") && strcmp(v, "json") && strcmp(v, "csv");
}

static bool looks_content_type(const char *v)
{
	return v && strchr(v, '/') && !strchr(v, ':');
}

/* A directory: ghz's -i import paths, not h2load's -i file of URLs. */
static bool is_dir(const char *v)
{
	struct stat st;
	return v && !stat(v, &st) && S_ISDIR(st.st_mode);
}

/* ---- the table: spelling, tool, what ringload does, the value that shows it ---- */

#define T(spelling, tool, kind, takes, applies, ours, ours_value, example, note) \
	{ spelling, tool, RL_FOREIGN_##kind, takes, applies, ours, ours_value, example, note }
#define LUA "Lua scripts are not run; use templates ({{randint 1 100}}, {{seq}}...) in the URL, headers and body, or --scenario FILE.json for several requests"

const struct rl_foreign_flag rl_foreign_flags[] = {
	/* wrk, wrk2 */
	T("--latency", "wrk", NOOP, 0, NULL, NULL, NULL, NULL, "accepted: the latency distribution is always printed"),
	T("-s", "wrk", UNSUPPORTED, 1, any_value, NULL, NULL, "script.lua", "-s: " LUA),
	T("--script", "wrk", UNSUPPORTED, 1, any_value, NULL, NULL, "script.lua", "--script: " LUA),
	T("--timeout", "wrk", OURS, 1, NULL, NULL, NULL, "2s", "the same: per request"),
	T("-R", "wrk2", OURS, 1, NULL, NULL, NULL, "1000", "the same: the open loop's total rate"),
	T("-U", "wrk2", NOOP, 0, NULL, NULL, NULL, NULL, "accepted: with -R the uncorrected latency is always printed"),
	/* h2load */
	T("-p", "h2load", PROTO, 1, NULL, NULL, NULL, "h2c", "h2c is --h2, http/1.1 is --h1"),
	T("--no-tls-proto", "h2load", PROTO, 1, NULL, NULL, NULL, "http/1.1", "h2c is --h2, http/1.1 is --h1"),
	T("--npn-list", "h2load", PROTO, 1, NULL, NULL, NULL, "h2c", "h2c is --h2, http/1.1 is --h1"),
	T("-i", "ghz", UNSUPPORTED, 1, is_dir, NULL, NULL, "/tmp",
	  "-i: ghz's import paths are not supported; give --protoset FILE.pb (protoc --include_imports -o FILE.pb)"),
	T("-i", "h2load", URLS, 1, NULL, NULL, NULL, NULL,
	  "URLs from a file, one a line: each is a target with its own connections"),
	T("--input-file", "h2load", URLS, 1, NULL, NULL, NULL, NULL,
	  "URLs from a file, one a line: each is a target with its own connections"),
	T("-r", "h2load", DIFFERENT, 1, any_value, NULL, NULL, "10",
	  "-r: h2load's connection-creation rate; ringload opens every connection at once; for a request rate use -R N"),
	T("--rate", "h2load", OURS, 1, NULL, NULL, NULL, "500",
	  "requests per second here (-R), not h2load's connection-creation rate"),
	T("--rate-period", "h2load", UNSUPPORTED, 1, any_value, NULL, NULL, "1s",
	  "--rate-period: connections are not opened in rounds here; --stages ramps them"),
	T("-T", "h2load", UNSUPPORTED, 1, looks_numeric, NULL, NULL, "5",
	  "-T: h2load's connection-active timeout is not supported; -d bounds the run, --timeout each request"),
	T("--connection-active-timeout", "h2load", UNSUPPORTED, 1, any_value, NULL, NULL, "5",
	  "--connection-active-timeout: not supported; -d bounds the run, --timeout each request"),
	T("-N", "h2load", UNSUPPORTED, 1, any_value, NULL, NULL, "5",
	  "-N: h2load's connection-inactivity timeout is not supported; --timeout bounds each request"),
	T("--connection-inactivity-timeout", "h2load", UNSUPPORTED, 1, any_value, NULL, NULL, "5",
	  "--connection-inactivity-timeout: not supported; --timeout bounds each request"),
	T("--h1", "h2load", OURS, 0, NULL, NULL, NULL, NULL, "the same: HTTP/1.1"),
	T("-H", "h2load", OURS, 1, NULL, NULL, NULL, "X-A: 1", "the same: a request header"),
	T("-d", "ghz", DIFFERENT, 1, looks_json_or_file, NULL, NULL, "{\"user_id\":1}",
	  "-d is the duration (wrk's habit); for ghz's data use --data (or --data-file FILE)"),
	T("-d", "h2load", DIFFERENT, 1, looks_path, NULL, NULL, "body.bin",
	  "-d is the duration (wrk's habit); for h2load's -d FILE (the request body) use -b @FILE"),
	/* ghz */
	T("-D", "ghz", DIFFERENT, 1, looks_path, NULL, NULL, "data.json",
	  "-D is the duration (h2load's habit); for ghz's -D FILE use --data-file FILE, for hey's -D FILE use -b @FILE"),
	T("-O", "ghz", FORMAT, 1, NULL, NULL, NULL, "json", "json, csv: -o; summary, pretty: as -o console, -o json"),
	T("--format", "ghz", FORMAT, 1, NULL, NULL, NULL, "csv", "json, csv: -o; summary, pretty: as -o console, -o json"),
	T("-o", "ghz", DIFFERENT, 1, not_our_format, NULL, NULL, "out.json",
	  "-o is the stdout format here (console, json or csv); for ghz's -o FILE use --json FILE (or --csv, --html)"),
	T("--connections", "ghz", OURS, 1, NULL, NULL, NULL, "4", "the same: connections (-c)"),
	T("--concurrency", "ghz", DIFFERENT, 1, any_value, NULL, NULL, "50",
	  "--concurrency: ghz's calls in flight; here they are -c connections x -m streams each"),
	T("--skipTLS", "ghz", REWRITE, 0, NULL, "-k", NULL, NULL, "the same: skip the certificate check (-k)"),
	T("--cacert", "ghz", OURS, 1, NULL, NULL, NULL, "/dev/null", "the same: trust the CAs in FILE"),
	T("--cert", "ghz", OURS, 1, NULL, NULL, NULL, "c.pem", "the same: a client certificate (with --key)"),
	T("--key", "ghz", OURS, 1, NULL, NULL, NULL, "k.pem", "the same: the client certificate's key"),
	T("--cname", "ghz", REWRITE, 0, NULL, "--sni", NULL, NULL, "the same: --sni NAME (the name sent and checked)"),
	T("--import-paths", "ghz", UNSUPPORTED, 1, any_value, NULL, NULL, "protos",
	  "--import-paths: not supported; give --protoset FILE.pb (protoc --include_imports -o FILE.pb)"),
	T("-m", "ghz", DIFFERENT, 1, looks_json, NULL, NULL, "{\"k\":\"v\"}",
	  "-m is HTTP/2 streams per connection (h2load's habit); for ghz's metadata use --metadata '{\"k\":\"v\"}'"),
	T("--metadata", "ghz", OURS, 1, NULL, NULL, NULL, "{\"k\":\"v\"}", "the same: request metadata (headers)"),
	/* hey */
	T("-z", "hey", OURS, 1, NULL, NULL, NULL, "2s", "the same: the duration (-d)"),
	T("-q", "hey", DIFFERENT, 1, looks_numeric, NULL, NULL, "100",
	  "-q is quiet here; for hey's -q QPS (per worker) use -R with the total (q x c); for oha's -q use -R"),
	T("-m", "hey", DIFFERENT, 1, looks_method, NULL, NULL, "POST",
	  "-m is HTTP/2 streams per connection (h2load's habit); for hey's and oha's method use -X"),
	T("-T", "hey", DIFFERENT, 1, looks_content_type, NULL, NULL, "application/json",
	  "-T: for hey's and oha's content type use -H 'Content-Type: ...'"),
	T("-a", "hey", UNSUPPORTED, 1, any_value, NULL, NULL, "user:pass",
	  "-a: basic auth has no flag here; use -H 'Authorization: Basic <base64 of user:pass>'"),
	T("-x", "hey", UNSUPPORTED, 1, any_value, NULL, NULL, "http://proxy:3128",
	  "-x: proxies are not supported; ringload connects to the target itself"),
	T("-disable-keepalive", "hey", REWRITE, 0, NULL, "--no-keepalive", NULL, NULL,
	  "the same: a new connection per request (--no-keepalive)"),
	T("-h2", "hey", REWRITE, 0, NULL, "--h2", NULL, NULL, "the same: HTTP/2 (--h2)"),
	T("-D", "hey", DIFFERENT, 1, looks_path, NULL, NULL, "body.txt",
	  "-D is the duration (h2load's habit); for ghz's -D FILE use --data-file FILE, for hey's -D FILE use -b @FILE"),
	/* oha */
	T("-q", "oha", DIFFERENT, 1, looks_numeric, NULL, NULL, "100",
	  "-q is quiet here; for hey's -q QPS (per worker) use -R with the total (q x c); for oha's -q use -R"),
	T("-z", "oha", OURS, 1, NULL, NULL, NULL, "2s", "the same: the duration (-d)"),
	T("--latency-correction", "oha", NOOP, 0, NULL, NULL, NULL, NULL,
	  "accepted: with -R latency always runs from each request's intended start"),
	T("--http2", "oha", REWRITE, 0, NULL, "--h2", NULL, NULL, "the same: HTTP/2 (--h2)"),
	T("--no-tui", "oha", REWRITE, 0, NULL, "--no-progress", NULL, NULL, "the same: --no-progress"),
	T("-j", "oha", REWRITE, 0, NULL, "-o", "json", NULL, "the same: the JSON result on stdout (-o json)"),
	T("--json", "oha", DIFFERENT, 1, looks_url, NULL, NULL, "http://127.0.0.1:1/",
	  "--json FILE writes the JSON result to FILE here; for oha's --json (JSON on stdout) use -o json"),
	T("--disable-keepalive", "oha", REWRITE, 0, NULL, "--no-keepalive", NULL, NULL,
	  "the same: a new connection per request (--no-keepalive)"),
	/* vegeta attack (Go flags, one dash) */
	T("-rate", "vegeta", DIFFERENT, 1, any_value, NULL, NULL, "100/s", "-rate: use -R N (requests per second)"),
	T("-duration", "vegeta", DIFFERENT, 1, any_value, NULL, NULL, "10s", "-duration: use -d DUR"),
	T("-targets", "vegeta", UNSUPPORTED, 1, any_value, NULL, NULL, "targets.txt",
	  "-targets: give the URLs on the command line, or --scenario FILE.json"),
	T("-workers", "vegeta", DIFFERENT, 1, any_value, NULL, NULL, "10", "-workers: use -c N (connections) and -t N (threads)"),
	T("-connections", "vegeta", DIFFERENT, 1, any_value, NULL, NULL, "100", "-connections: use -c N"),
	T("-h2c", "vegeta", REWRITE, 0, NULL, "--h2", NULL, NULL, "the same: HTTP/2 with prior knowledge (--h2)"),
	T("-http2", "vegeta", REWRITE, 0, NULL, "--h2", NULL, NULL, "the same: HTTP/2 (--h2)"),
	T("-insecure", "vegeta", REWRITE, 0, NULL, "-k", NULL, NULL, "the same: skip the certificate check (-k)"),
	T("-body", "vegeta", DIFFERENT, 1, any_value, NULL, NULL, "body.json", "-body FILE: use -b @FILE"),
	T("-header", "vegeta", DIFFERENT, 1, any_value, NULL, NULL, "X-A: 1", "-header: use -H 'K: V'"),
	T("-timeout", "vegeta", DIFFERENT, 1, any_value, NULL, NULL, "5s", "-timeout: use --timeout DUR"),
	T("-output", "vegeta", DIFFERENT, 1, any_value, NULL, NULL, "out.bin",
	  "-output: use --json FILE (the result, mergeable with ringload merge)"),
};
const size_t rl_foreign_nflags = sizeof(rl_foreign_flags) / sizeof(rl_foreign_flags[0]);

/* h2load's -p / --npn-list values: its plaintext protocols */
static const char *proto_flag(const char *v)
{
	if (!strcmp(v, "h2c") || !strcmp(v, "h2c-14"))
		return "--h2";
	return !strcmp(v, "http/1.1") ? "--h1" : NULL;
}

/* ghz's -O values */
static const char *format_value(const char *v)
{
	if (!strcmp(v, "json") || !strcmp(v, "pretty"))
		return "json";
	if (!strcmp(v, "csv"))
		return "csv";
	if (!strcmp(v, "summary"))
		return "console";
	return NULL;
}

static int bad(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

/* The value of argv[i]: "--flag=value", or the next argument. */
static const char *value_of(int argc, char **argv, int i, size_t flag_len)
{
	if (argv[i][flag_len] == '=')
		return argv[i] + flag_len + 1;
	return i + 1 < argc ? argv[i + 1] : NULL;
}

static bool matches(const char *arg, const char *spelling, size_t *len)
{
	*len = strlen(spelling);
	return !strncmp(arg, spelling, *len) && (arg[*len] == 0 || (arg[*len] == '=' && spelling[1] == '-'));
}

/* Lines of a file as URLs (h2load's -i), appended to out. */
static int read_urls(const char *path, char **out, int *n, int max, char **owned, size_t *nowned,
		     size_t max_owned, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "-i: cannot open '%s'", path);
		return -1;
	}
	char line[8192];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		char *copy = strdup(line);
		if (!copy || *n == max || *nowned == max_owned) {
			free(copy);
			fclose(f);
			snprintf(err, errlen, "-i '%s': too many URLs", path);
			return -1;
		}
		owned[(*nowned)++] = copy;
		out[(*n)++] = copy;
	}
	fclose(f);
	return 0;
}

int rl_foreign_rewrite(int argc, char **argv, char ***out_argv, int *out_argc, char **owned, size_t *nowned,
		       size_t max_owned, char *err, size_t errlen)
{
	int cap = argc * 2 + 4 + 64;
	char **out = calloc((size_t)cap, sizeof(*out));
	if (!out)
		return bad(err, errlen, "out of memory");
	int n = 0;
	out[n++] = argv[0];
	bool after_dashes = false;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (after_dashes || arg[0] != '-' || !strcmp(arg, "--")) {
			after_dashes |= !strcmp(arg, "--");
			out[n++] = argv[i];
			continue;
		}
		const struct rl_foreign_flag *hit = NULL;
		size_t len = 0;
		const char *value = NULL;
		for (size_t k = 0; k < rl_foreign_nflags && !hit; k++) {
			const struct rl_foreign_flag *ff = &rl_foreign_flags[k];
			if (!matches(arg, ff->spelling, &len))
				continue;
			value = ff->takes_value ? value_of(argc, argv, i, len) : NULL;
			if (!ff->applies || ff->applies(value))
				hit = ff; /* the first whose value fits: the others' meaning is ours */
		}
		if (!hit || hit->kind == RL_FOREIGN_OURS) {
			out[n++] = argv[i];
			continue;
		}
		const char *s = hit->spelling;
		switch (hit->kind) {
		case RL_FOREIGN_DIFFERENT:
		case RL_FOREIGN_UNSUPPORTED:
			free(out);
			return bad(err, errlen, hit->note);
		case RL_FOREIGN_NOOP:
			break;
		case RL_FOREIGN_REWRITE:
			out[n++] = (char *)hit->ours;
			if (hit->ours_value)
				out[n++] = (char *)hit->ours_value;
			break;
		case RL_FOREIGN_PROTO: {
			const char *flag = value ? proto_flag(value) : NULL;
			if (!flag) {
				snprintf(err, errlen, "%s '%s': h2c (--h2) and http/1.1 (--h1) are supported; for TLS give an https:// URL",
					 s, value ? value : "");
				free(out);
				return -1;
			}
			out[n++] = (char *)flag;
			break;
		}
		case RL_FOREIGN_FORMAT: {
			const char *fmt = value ? format_value(value) : NULL;
			if (!fmt) {
				snprintf(err, errlen, "%s '%s': json, csv, pretty and summary are supported; for html use --html FILE",
					 s, value ? value : "");
				free(out);
				return -1;
			}
			out[n++] = "-o";
			out[n++] = (char *)fmt;
			break;
		}
		case RL_FOREIGN_URLS:
			if (!value || read_urls(value, out, &n, cap - argc - 4, owned, nowned, max_owned, err, errlen)) {
				if (!value)
					snprintf(err, errlen, "%s needs a file of URLs", s);
				free(out);
				return -1;
			}
			break;
		case RL_FOREIGN_OURS:
			break;
		}
		if (hit->takes_value && arg[len] != '=')
			i++; /* its value was used */
	}
	out[n] = NULL;
	*out_argv = out;
	*out_argc = n;
	return 0;
}
