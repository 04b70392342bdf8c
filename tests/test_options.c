/* Command-line parsing: defaults, wrk/h2load habits, and one clear error per bad flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../src/cli/foreign.h"
#include "ringload/options.h"

static int parse(struct rl_options *o, char *err, const char *const *args)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = "ringload";
	for (; args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	return rl_options_parse(o, argc, argv, err, 256);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void options_defaults(void **s)
{
	struct rl_options o;
	char err[256];
	assert_int_equal(parse(&o, err, ARGS("http://127.0.0.1:8080/")), 0);
	assert_int_equal(o.connections, 50);
	assert_int_equal(o.pipeline, 1);
	assert_int_equal(o.duration_ns, 10000000000ULL);
	assert_int_equal(o.requests, 0);
	assert_int_equal(o.timeout_ns, 30000000000ULL);
	assert_int_equal(o.connect_timeout_ns, 5000000000ULL);
	assert_string_equal(o.method, "GET");
	assert_int_equal(o.nurls, 1);
	assert_true(o.threads >= 1);
	rl_options_free(&o);
}

static void options_wrk_style_flags_and_run_verb(void **s)
{
	struct rl_options o;
	char err[256];
	assert_int_equal(parse(&o, err, ARGS("run", "-c", "100", "-t", "4", "-d", "30s", "-P", "8",
					     "http://127.0.0.1/", "-H", "X-A: 1", "--timeout", "2s",
					     "-b", "payload", "http://[::1]:81/x")), 0);
	assert_int_equal(o.connections, 100);
	assert_int_equal(o.threads, 4);
	assert_int_equal(o.duration_ns, 30000000000ULL);
	assert_int_equal(o.pipeline, 8);
	assert_int_equal(o.nheaders, 1);
	assert_int_equal(o.nurls, 2);
	assert_string_equal(o.method, "POST"); /* a body without -X means POST */
	assert_int_equal(o.body_len, 7);
	rl_options_free(&o);
}

static void options_requests_alone_means_no_duration(void **s)
{
	struct rl_options o;
	char err[256];
	assert_int_equal(parse(&o, err, ARGS("-n", "20k", "http://127.0.0.1/")), 0);
	assert_int_equal(o.requests, 20000);
	assert_int_equal(o.duration_ns, 0);
	rl_options_free(&o);
}

static void options_threads_capped_by_connections(void **s)
{
	struct rl_options o;
	char err[256];
	assert_int_equal(parse(&o, err, ARGS("-c", "1", "http://127.0.0.1/")), 0);
	assert_int_equal(o.threads, 1);
	rl_options_free(&o);
	assert_int_equal(parse(&o, err, ARGS("-c", "2", "-t", "4", "http://127.0.0.1/")), RL_OPTIONS_BAD);
	assert_non_null(strstr(err, "-t 4"));
	rl_options_free(&o);
}

static void options_bad_flags_name_themselves(void **s)
{
	struct {
		const char *const *args;
		const char *needle;
	} bad[] = {
		{ ARGS("-c", "0", "http://h/"), "-c" },
		{ ARGS("-c", "lots", "http://h/"), "-c" },
		{ ARGS("-t", "-1", "http://h/"), "-t" },
		{ ARGS("-d", "10x", "http://h/"), "-d" },
		{ ARGS("-n", "0", "http://h/"), "-n" },
		{ ARGS("-P", "0", "http://h/"), "-P" },
		{ ARGS("-X", "get", "http://h/"), "-X" },
		{ ARGS("-H", "NoColon", "http://h/"), "-H" },
		{ ARGS("-o", "xml", "http://h/"), "-o" },
		{ ARGS("--timeout", "soon", "http://h/"), "--timeout" },
		{ ARGS("--connect-timeout", "0", "http://h/"), "--connect-timeout" },
		{ ARGS("-b", "@/nonexistent/file", "http://h/"), "/nonexistent/file" },
		{ ARGS("--frobnicate", "http://h/"), "--frobnicate" },
		{ ARGS("-Z", "http://h/"), "-Z" },
		{ ARGS("http://h/", "-c"), "-c" },
		{ ARGS("-c", "10"), "no URL" },
		{ ARGS("-D", "10x", "http://h/"), "-D" },
		{ ARGS("-z", "soon", "http://h/"), "-z" },
		{ ARGS("--h2", "-w", "31", "http://h/"), "-w" },
		{ ARGS("--h2", "-W", "big", "http://h/"), "-W" },
		{ ARGS("--grpc", "a.B/C", "--metadata", "[1]", "h:1"), "--metadata" },
		{ ARGS("--grpc", "a.B/C", "--metadata", "{\"a\": 1}", "h:1"), "'a' is not a string" },
		{ ARGS("--grpc", "a.B/C", "--metadata", "{\"bad name\": \"x\"}", "h:1"), "--metadata" },
		{ ARGS("--grpc", "a.B/C", "--metadata", "{\"a\":", "h:1"), "--metadata" },
		{ ARGS("--call", "nodots", "h:1"), "--call" },
		{ ARGS("--call", "a.B.", "h:1"), "--call" },
		{ ARGS("--grpc", "a.B/C", "--data-file", "/nonexistent/file", "h:1"), "/nonexistent/file" },
		{ ARGS("--rps", "0", "http://h/"), "--rps" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rl_options o;
		char err[256] = "";
		int rc = parse(&o, err, bad[i].args);
		if (rc != RL_OPTIONS_BAD || !strstr(err, bad[i].needle))
			fail_msg("case %zu: rc %d, message '%s' lacks '%s'", i, rc, err, bad[i].needle);
		rl_options_free(&o);
	}
}

static void options_h2load_spellings(void **s)
{
	struct rl_options o;
	char err[256];
	assert_int_equal(parse(&o, err, ARGS("--h2", "-D", "5", "-w", "16", "-W", "20", "-m", "100",
					     "http://127.0.0.1/")), 0);
	assert_int_equal(o.duration_ns, 5000000000ULL); /* bare seconds, as h2load's -D */
	assert_int_equal(o.h2_window, 65535);           /* 2^16 - 1 */
	assert_int_equal(o.h2_conn_window, 1048575);    /* 2^20 - 1 */
	assert_int_equal(o.streams, 100);
	rl_options_free(&o);
	assert_int_equal(parse(&o, err, ARGS("--h2", "--h2-window", "100000", "http://127.0.0.1/")), 0);
	assert_int_equal(o.h2_window, 100000);
	assert_int_equal(o.h2_conn_window, 100000);
	rl_options_free(&o);
	assert_int_equal(parse(&o, err, ARGS("--h2", "http://127.0.0.1/")), 0);
	assert_int_equal(o.h2_window, (1u << 30) - 1); /* h2load's defaults */
	assert_int_equal(o.h2_conn_window, (1u << 30) - 1);
	rl_options_free(&o);
}

static void options_ghz_spellings(void **s)
{
	char path[] = "/tmp/ringload-test-data.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"user_id\": 7}", 15), 15);
	close(fd);
	struct rl_options o;
	char err[256];
	assert_int_equal(parse(&o, err, ARGS("--insecure", "--call", "api.performance.UserService.GetUser",
					     "--data-file", path, "--metadata", "{\"x-a\": \"1\", \"x-b\": \"two words\"}",
					     "--rps", "250", "-z", "2s", "127.0.0.1:50051")), 0);
	unlink(path);
	assert_int_equal(o.proto, RL_PROTO_GRPC);
	assert_string_equal(o.urls[0], "http://127.0.0.1:50051/"); /* --insecure: plaintext */
	assert_string_equal(o.grpc_method, "api.performance.UserService/GetUser");
	assert_string_equal(o.data, "{\"user_id\": 7}");
	assert_int_equal(o.nheaders, 2);
	assert_memory_equal(o.headers[1].name, "x-b", 3);
	assert_int_equal(o.headers[1].value_len, 9);
	assert_memory_equal(o.headers[1].value, "two words", 9);
	assert_true(o.rate == 250);
	assert_int_equal(o.duration_ns, 2000000000ULL);
	assert_string_equal(o.urls[0], "http://127.0.0.1:50051/"); /* ghz's HOST:PORT target */
	rl_options_free(&o);
	/* --call also takes the slash form; a URL stays as given */
	assert_int_equal(parse(&o, err, ARGS("--call", "a.B/C", "http://127.0.0.1:1/x")), 0);
	assert_string_equal(o.grpc_method, "a.B/C");
	assert_string_equal(o.urls[0], "http://127.0.0.1:1/x");
	rl_options_free(&o);
}

static void options_help_and_version(void **s)
{
	struct rl_options o;
	char err[256];
	assert_int_equal(parse(&o, err, ARGS("--help")), RL_OPTIONS_HELP);
	rl_options_free(&o);
	assert_int_equal(parse(&o, err, ARGS("--version")), RL_OPTIONS_VERSION);
	rl_options_free(&o);
}

/* Every other tool's flag in the table: fed to the parser with a value that shows its
 * meaning, it is taken (the same meaning) or refused with exactly its note. */
static void options_other_tools_flags_each_row(void **s)
{
	char urls[] = "/tmp/rl-urls.XXXXXX";
	int fd = mkstemp(urls);
	assert_true(fd >= 0);
	const char *list = "http://127.0.0.1:1/a\nhttp://127.0.0.1:1/b\n";
	assert_int_equal(write(fd, list, strlen(list)), (ssize_t)strlen(list));
	close(fd);
	for (size_t i = 0; i < rl_foreign_nflags; i++) {
		const struct rl_foreign_flag *f = &rl_foreign_flags[i];
		const char *value = f->kind == RL_FOREIGN_URLS ? urls : f->example;
		const char *args[8];
		int n = 0;
		args[n++] = f->spelling;
		if (f->takes_value)
			args[n++] = value;
		args[n++] = "-n";
		args[n++] = "1";
		if (f->kind != RL_FOREIGN_URLS)
			args[n++] = "http://127.0.0.1:1/";
		args[n] = NULL;
		struct rl_options o;
		char err[256] = "";
		int rc = parse(&o, err, args);
		if (f->kind == RL_FOREIGN_DIFFERENT || f->kind == RL_FOREIGN_UNSUPPORTED) {
			if (rc != RL_OPTIONS_BAD || strcmp(err, f->note))
				fail_msg("%s (%s) %s: rc %d, '%s'", f->spelling, f->tool, value ? value : "", rc, err);
		} else if (rc != RL_OPTIONS_OK) {
			fail_msg("%s (%s) %s: refused: %s", f->spelling, f->tool, value ? value : "", err);
		}
		rl_options_free(&o);
	}
	unlink(urls);
}

static void options_other_tools_flags_mean_what_they_say(void **s)
{
	struct rl_options o;
	char err[256];
	assert_int_equal(parse(&o, err, ARGS("-h2", "--no-tui", "-j", "--latency", "http://127.0.0.1:1/")), 0);
	assert_int_equal(o.proto, RL_PROTO_H2);
	assert_false(o.progress);
	assert_int_equal(o.output, RL_OUT_JSON);
	rl_options_free(&o);
	assert_int_equal(parse(&o, err, ARGS("-p", "http/1.1", "-O", "csv", "-t1", "-c10", "-d1s", "http://127.0.0.1:1/")), 0);
	assert_int_equal(o.proto, RL_PROTO_H1);
	assert_int_equal(o.output, RL_OUT_CSV);
	assert_int_equal(o.duration_ns, 1000000000ULL);
	rl_options_free(&o);
	/* our own meanings stay when the value fits them */
	assert_int_equal(parse(&o, err, ARGS("-d", "1.5s", "-D", "2", "-m", "4", "-o", "json", "-q", "http://127.0.0.1:1/")), 0);
	assert_int_equal(o.duration_ns, 2000000000ULL);
	assert_int_equal(o.streams, 4);
	assert_true(o.quiet);
	rl_options_free(&o);
	/* without --insecure, as ghz: TLS */
	assert_int_equal(parse(&o, err, ARGS("--call", "pkg.Svc.Method", "--data", "{}", "localhost:50051")), 0);
	assert_string_equal(o.urls[0], "https://localhost:50051/");
	rl_options_free(&o);
	/* ... but a Unix socket stays plaintext */
	assert_int_equal(parse(&o, err, ARGS("--call", "pkg.Svc.Method", "--data", "{}", "unix:/tmp/g.sock")), 0);
	assert_string_equal(o.urls[0], "http://unix:/tmp/g.sock");
	rl_options_free(&o);
	/* ghz's most copied line, with -d as its data */
	assert_int_equal(parse(&o, err, ARGS("--call", "pkg.Svc.Method", "-d", "{\"user_id\":1}", "--insecure",
					     "127.0.0.1:50051")), RL_OPTIONS_BAD);
	assert_string_equal(err, "-d is the duration (wrk's habit); for ghz's data use --data (or --data-file FILE)");
	rl_options_free(&o);
}

/* The README's table and the man page list every row of the table. */
static void options_other_tools_flags_documented(void **s)
{
	char *readme = NULL, *man = NULL;
	size_t rlen = 0, mlen = 0;
	FILE *f = fopen("README.md", "r");
	assert_non_null(f);
	assert_true(getdelim(&readme, &rlen, 0, f) > 0);
	fclose(f);
	f = fopen("docs/ringload.1", "r");
	assert_non_null(f);
	assert_true(getdelim(&man, &mlen, 0, f) > 0);
	fclose(f);
	for (size_t i = 0; i < rl_foreign_nflags; i++) {
		const struct rl_foreign_flag *fl = &rl_foreign_flags[i];
		char row[128], entry[128], escaped[64];
		snprintf(row, sizeof(row), "| `%s` | %s |", fl->spelling, fl->tool);
		size_t k = 0;
		for (const char *c = fl->spelling; *c && k + 3 < sizeof(escaped); c++) {
			if (*c == '-')
				escaped[k++] = '\\';
			escaped[k++] = *c;
		}
		escaped[k] = 0;
		snprintf(entry, sizeof(entry), ".B %s\n(%s)", escaped, fl->tool);
		if (!strstr(readme, row))
			fail_msg("README.md has no row %s", row);
		if (!strstr(man, entry))
			fail_msg("docs/ringload.1 has no entry %s", entry);
	}
	free(readme);
	free(man);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(options_defaults),
		cmocka_unit_test(options_wrk_style_flags_and_run_verb),
		cmocka_unit_test(options_requests_alone_means_no_duration),
		cmocka_unit_test(options_threads_capped_by_connections),
		cmocka_unit_test(options_bad_flags_name_themselves),
		cmocka_unit_test(options_h2load_spellings),
		cmocka_unit_test(options_ghz_spellings),
		cmocka_unit_test(options_help_and_version),
		cmocka_unit_test(options_other_tools_flags_each_row),
		cmocka_unit_test(options_other_tools_flags_mean_what_they_say),
		cmocka_unit_test(options_other_tools_flags_documented),
	};
	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
