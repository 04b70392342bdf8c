/* HTTP/1.1 parser and serializer. Every response is parsed whole, split in two at every
 * byte boundary, and fed one byte at a time, each by the parser (with its fast path for a
 * whole head) and by the byte machine alone: all must agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ringload/h1.h"

struct outcome {
	int rc;            /* RL_H1_DONE or a negative error; after rl_h1_finish if eof */
	unsigned status;
	uint64_t body;
	int keep_alive;
	size_t consumed;   /* bytes of the input that belonged to the response */
	uint64_t content_length;
	unsigned version_minor, framing; /* framing: has_cl | te_present << 1 | te_chunked << 2 */
};

typedef int (*parse_fn)(struct rl_h1_parser *, const uint8_t *, size_t, size_t *);
static parse_fn parse_with = rl_h1_parse;
static struct rl_h1_memo *memo_with; /* the head memo the parsers use, when set */

/* Feeds data in pieces cut at the given offsets; then, when eof, tells the parser. */
static struct outcome run_pieces(const char *data, size_t len, bool head, const size_t *cuts,
				 size_t ncuts, bool eof)
{
	struct rl_h1_parser p;
	rl_h1_parser_init(&p, head);
	p.memo = memo_with;
	struct outcome o = { .rc = RL_H1_AGAIN, .keep_alive = -1 };
	size_t pos = 0;
	for (size_t k = 0; k <= ncuts && o.rc == RL_H1_AGAIN; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		size_t used = 0;
		o.rc = parse_with(&p, (const uint8_t *)data + pos, end - pos, &used);
		o.consumed += used;
		pos = end;
	}
	if (o.rc == RL_H1_AGAIN && eof)
		o.rc = rl_h1_finish(&p);
	if (o.rc == RL_H1_DONE) {
		o.status = p.status;
		o.body = p.body_bytes;
		o.keep_alive = p.keep_alive;
		o.content_length = p.content_length;
		o.version_minor = p.version_minor;
		o.framing = p.has_cl | p.te_present << 1 | p.te_chunked << 2;
	}
	return o;
}

static void assert_same(const struct outcome *a, const struct outcome *b, const char *what, size_t at)
{
	if (a->rc != b->rc || a->status != b->status || a->body != b->body ||
	    a->keep_alive != b->keep_alive || a->consumed != b->consumed ||
	    a->content_length != b->content_length || a->version_minor != b->version_minor ||
	    a->framing != b->framing)
		fail_msg("%s at %zu: rc %d/%d status %u/%u body %llu/%llu ka %d/%d consumed %zu/%zu "
			 "length %llu/%llu minor %u/%u framing %u/%u",
			 what, at, a->rc, b->rc, a->status, b->status, (unsigned long long)a->body,
			 (unsigned long long)b->body, a->keep_alive, b->keep_alive, a->consumed, b->consumed,
			 (unsigned long long)a->content_length, (unsigned long long)b->content_length,
			 a->version_minor, b->version_minor, a->framing, b->framing);
}

/* The whole-buffer outcome, checked to be identical at every split and byte by byte,
 * with the fast path and with the byte machine alone. */
static struct outcome parse_all_ways(const char *data, size_t len, bool head, bool eof)
{
	parse_with = rl_h1_parse;
	struct outcome whole = run_pieces(data, len, head, NULL, 0, eof);
	for (int way = 0; way < 2; way++) {
		parse_with = way ? rl_h1_parse_bytewise : rl_h1_parse;
		struct outcome again = run_pieces(data, len, head, NULL, 0, eof);
		assert_same(&whole, &again, way ? "byte machine, whole" : "whole", 0);
		for (size_t cut = 1; cut < len; cut++) {
			struct outcome split = run_pieces(data, len, head, &cut, 1, eof);
			assert_same(&whole, &split, way ? "byte machine, split" : "split", cut);
		}
	}
	/* through a head memo: the first parse fills it, the others take it (whole, or
	 * split after the head) or pass it by (split inside the head) */
	static struct rl_h1_memo memo;
	memset(&memo, 0, sizeof(memo));
	parse_with = rl_h1_parse;
	memo_with = &memo;
	for (int pass = 0; pass < 2; pass++) {
		struct outcome again = run_pieces(data, len, head, NULL, 0, eof);
		assert_same(&whole, &again, pass ? "memo, whole" : "filling the memo, whole", 0);
	}
	for (size_t cut = 1; cut < len; cut++) {
		struct outcome split = run_pieces(data, len, head, &cut, 1, eof);
		assert_same(&whole, &split, "memo, split", cut);
	}
	memo_with = NULL;
	if (len > 1) {
		size_t *cuts = malloc((len - 1) * sizeof(*cuts));
		for (size_t i = 0; i < len - 1; i++)
			cuts[i] = i + 1;
		struct outcome bytes = run_pieces(data, len, head, cuts, len - 1, eof);
		free(cuts);
		assert_same(&whole, &bytes, "byte-by-byte", 0);
	}
	return whole;
}

#define PARSE(s) parse_all_ways((s), sizeof(s) - 1, false, false)
#define PARSE_EOF(s) parse_all_ways((s), sizeof(s) - 1, false, true)
#define PARSE_HEAD(s) parse_all_ways((s), sizeof(s) - 1, true, false)

static void expect_done(struct outcome o, unsigned status, uint64_t body, int keep_alive)
{
	assert_int_equal(o.rc, RL_H1_DONE);
	assert_int_equal(o.status, status);
	assert_int_equal(o.body, body);
	assert_int_equal(o.keep_alive, keep_alive);
}

static void h1_content_length_body(void **s)
{
	expect_done(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello"), 200, 5, 1);
}

static void h1_header_names_are_case_insensitive(void **s)
{
	expect_done(PARSE("HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: 3\r\nCONNECTION: CLOSE\r\n\r\nabc"), 200, 3, 0);
}

static void h1_stops_at_end_of_response(void **s)
{
	static const char two[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 404 Not Found\r\n";
	struct outcome o = parse_all_ways(two, sizeof(two) - 1, false, false);
	expect_done(o, 200, 2, 1);
	assert_int_equal(o.consumed, strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
}

static void h1_chunked_with_extensions_and_trailers(void **s)
{
	expect_done(PARSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "5;name=value;x=\"q\"\r\nhello\r\n"
			  "A \t; ext\r\n0123456789\r\n"
			  "0\r\nX-Trailer: yes\r\nContent-Length: 999\r\n\r\n"),
		    200, 15, 1);
}

static void h1_chunked_hex_sizes_either_case(void **s)
{
	expect_done(PARSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n"),
		    200, 52, 1);
}

static void h1_transfer_encoding_chunked_must_be_last(void **s)
{
	expect_done(PARSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
		    200, 3, 1);
	/* chunked not final: the body runs until the close (RFC 9112 6.3) */
	expect_done(PARSE_EOF("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc"), 200, 6, 0);
}

static void h1_transfer_encoding_overrides_length_and_closes(void **s)
{
	expect_done(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "2\r\nhi\r\n0\r\n\r\n"),
		    200, 2, 0);
}

static void h1_connection_close(void **s)
{
	expect_done(PARSE("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"), 200, 1, 0);
	expect_done(PARSE("HTTP/1.1 200 OK\r\nConnection: Upgrade, close\r\nContent-Length: 0\r\n\r\n"), 200, 0, 0);
}

static void h1_http10_closes_unless_keep_alive(void **s)
{
	expect_done(PARSE("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"), 200, 2, 0);
	expect_done(PARSE("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"), 200, 2, 1);
}

static void h1_http10_body_until_close(void **s)
{
	expect_done(PARSE_EOF("HTTP/1.0 200 OK\r\n\r\nall of this is body"), 200, 19, 0);
}

static void h1_body_until_close_without_length(void **s)
{
	expect_done(PARSE_EOF("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nabc"), 200, 3, 0);
	/* without the close it never ends */
	assert_int_equal(PARSE("HTTP/1.1 200 OK\r\n\r\nabc").rc, RL_H1_AGAIN);
}

static void h1_interim_responses_are_skipped(void **s)
{
	expect_done(PARSE("HTTP/1.1 100 Continue\r\n\r\n"
			  "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
			  "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"),
		    201, 2, 1);
}

static void h1_no_body_for_204_304_and_head(void **s)
{
	expect_done(PARSE("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"), 204, 0, 1);
	expect_done(PARSE("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"), 304, 0, 1);
	expect_done(PARSE_HEAD("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"), 200, 0, 1);
}

static void h1_accepts_identical_content_lengths(void **s)
{
	expect_done(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"), 200, 3, 1);
	expect_done(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 3 , 3\r\n\r\nabc"), 200, 3, 1);
}

static void h1_accepts_bare_lf_and_missing_reason(void **s)
{
	expect_done(PARSE("HTTP/1.1 200\nContent-Length: 1\n\nx"), 200, 1, 1);
	expect_done(PARSE("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"), 404, 0, 1);
}

static void h1_obs_fold_continues_a_value(void **s)
{
	expect_done(PARSE("HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nContent-Length: 1\r\n\r\nx"), 200, 1, 1);
}

static void h1_large_but_legal_headers(void **s)
{
	size_t n = 16 * 1024;
	char *buf = malloc(n + 200);
	int off = sprintf(buf, "HTTP/1.1 200 OK\r\nX-Big: ");
	memset(buf + off, 'a', n);
	off += (int)n;
	off += sprintf(buf + off, "\r\nContent-Length: 2\r\n\r\nok");
	struct outcome o = run_pieces(buf, (size_t)off, false, NULL, 0, false);
	expect_done(o, 200, 2, 1);
	free(buf);
}

static void expect_error(struct outcome o, int err)
{
	if (o.rc != err)
		fail_msg("expected %s, got rc %d", rl_h1_strerror(err), o.rc);
}

static void h1_rejects_conflicting_content_length(void **s)
{
	expect_error(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
		     RL_H1_E_CONFLICTING_LENGTH);
	expect_error(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd"), RL_H1_E_CONFLICTING_LENGTH);
}

static void h1_rejects_bad_content_length(void **s)
{
	expect_error(PARSE("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), RL_H1_E_CONTENT_LENGTH);
	expect_error(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n"), RL_H1_E_CONTENT_LENGTH);
	expect_error(PARSE("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n"), RL_H1_E_CONTENT_LENGTH);
	expect_error(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n"), RL_H1_E_CONTENT_LENGTH);
	expect_error(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
		     RL_H1_E_CONTENT_LENGTH);
}

static void h1_rejects_bad_chunk_size(void **s)
{
	expect_error(PARSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), RL_H1_E_CHUNK_SIZE);
	expect_error(PARSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n"), RL_H1_E_CHUNK_SIZE);
	expect_error(PARSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n"), RL_H1_E_CHUNK_SIZE);
	expect_error(PARSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n"),
		     RL_H1_E_CHUNK_SIZE);
}

static void h1_rejects_chunk_without_crlf(void **s)
{
	expect_error(PARSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiX\r\n0\r\n\r\n"),
		     RL_H1_E_CHUNK);
}

static void h1_rejects_nul_and_bare_cr(void **s)
{
	expect_error(parse_all_ways("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 28, false, false), RL_H1_E_NUL);
	expect_error(PARSE("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"), RL_H1_E_BARE_CR);
	expect_error(PARSE("HTTP/1.1 200 OK\rX: a\r\n\r\n"), RL_H1_E_BARE_CR);
}

static void h1_rejects_malformed_header_lines(void **s)
{
	expect_error(PARSE("HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n"), RL_H1_E_HEADER);
	expect_error(PARSE("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"), RL_H1_E_HEADER);
	expect_error(PARSE("HTTP/1.1 200 OK\r\nName : x\r\n\r\n"), RL_H1_E_HEADER);
	expect_error(PARSE("HTTP/1.1 200 OK\r\n folded-first: x\r\n\r\n"), RL_H1_E_HEADER);
}

static void h1_rejects_bad_status_line(void **s)
{
	expect_error(PARSE("garbage\r\n\r\n"), RL_H1_E_STATUS_LINE);
	expect_error(PARSE("HTTP/1.1 abc OK\r\n\r\n"), RL_H1_E_STATUS_LINE);
	expect_error(PARSE("HTTP/1.1 20 OK\r\n\r\n"), RL_H1_E_STATUS_LINE);
	expect_error(PARSE("HTTP/1.1 2000 OK\r\n\r\n"), RL_H1_E_STATUS_LINE);
	expect_error(PARSE("HTTP/2.0 200 OK\r\n\r\n"), RL_H1_E_STATUS_LINE);
	expect_error(PARSE("HTTP/1.1  200 OK\r\n\r\n"), RL_H1_E_STATUS_LINE);
}

static void h1_rejects_unrequested_upgrade(void **s)
{
	expect_error(PARSE("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"), RL_H1_E_UPGRADE);
}

static void h1_rejects_header_block_over_limit(void **s)
{
	size_t n = RL_H1_MAX_HEADER_BLOCK + 10;
	char *buf = malloc(n + 64);
	int off = sprintf(buf, "HTTP/1.1 200 OK\r\nX-Big: ");
	memset(buf + off, 'a', n);
	off += (int)n;
	off += sprintf(buf + off, "\r\n\r\n");
	struct outcome o = run_pieces(buf, (size_t)off, false, NULL, 0, false);
	expect_error(o, RL_H1_E_HEADER_TOO_LARGE);
	free(buf);
}

static void h1_rejects_endless_interim_responses(void **s)
{
	char buf[64 * (RL_H1_MAX_INTERIM + 2)];
	size_t off = 0;
	for (int i = 0; i < RL_H1_MAX_INTERIM + 1; i++)
		off += (size_t)sprintf(buf + off, "HTTP/1.1 100 Continue\r\n\r\n");
	expect_error(run_pieces(buf, off, false, NULL, 0, false), RL_H1_E_TOO_MANY_INTERIM);
}

static void h1_eof_before_and_inside_a_response(void **s)
{
	struct rl_h1_parser p;
	rl_h1_parser_init(&p, false);
	assert_int_equal(rl_h1_finish(&p), RL_H1_E_CLOSED_EARLY);
	expect_error(PARSE_EOF("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), RL_H1_E_TRUNCATED);
	expect_error(PARSE_EOF("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"), RL_H1_E_TRUNCATED);
	expect_error(PARSE_EOF("HTTP/1.1 200 O"), RL_H1_E_TRUNCATED);
}

static void h1_parser_reset_allows_reuse(void **s)
{
	static const char r[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
	struct rl_h1_parser p;
	rl_h1_parser_init(&p, false);
	for (int i = 0; i < 3; i++) {
		size_t used;
		rl_h1_parser_reset(&p, false);
		assert_false(rl_h1_parser_started(&p));
		assert_int_equal(rl_h1_parse(&p, (const uint8_t *)r, 5, &used), RL_H1_AGAIN);
		assert_true(rl_h1_parser_started(&p));
		assert_int_equal(rl_h1_parse(&p, (const uint8_t *)r + 5, sizeof(r) - 6, &used), RL_H1_DONE);
	}
}

/* ---- request side ---- */

static void h1_request_has_host_and_length(void **s)
{
	struct rl_h1_header h;
	assert_int_equal(rl_h1_header_parse("X-Token:  abc ", &h), 0);
	struct rl_h1_request r = { .method = "POST", .authority = "127.0.0.1:8080", .target = "/a?b=1",
				   .headers = &h, .nheaders = 1, .body = "{}", .body_len = 2, .has_body = true };
	char out[256];
	size_t n = rl_h1_request_write(&r, out, sizeof(out));
	assert_int_equal(n, rl_h1_request_write(&r, NULL, 0));
	out[n] = 0;
	assert_string_equal(out, "POST /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: ringload\r\n"
				 "X-Token: abc\r\nContent-Length: 2\r\n\r\n{}");
}

static void h1_request_user_host_wins(void **s)
{
	struct rl_h1_header h[2];
	assert_int_equal(rl_h1_header_parse("host: example.test", &h[0]), 0);
	assert_int_equal(rl_h1_header_parse("User-Agent: me", &h[1]), 0);
	struct rl_h1_request r = { .method = "GET", .authority = "127.0.0.1", .target = "/",
				   .headers = h, .nheaders = 2 };
	char out[256];
	size_t n = rl_h1_request_write(&r, out, sizeof(out));
	out[n] = 0;
	assert_string_equal(out, "GET / HTTP/1.1\r\nhost: example.test\r\nUser-Agent: me\r\n\r\n");
}

static void h1_header_parse_rejects_bad_lines(void **s)
{
	struct rl_h1_header h;
	assert_int_equal(rl_h1_header_parse("NoColon", &h), -1);
	assert_int_equal(rl_h1_header_parse(": value", &h), -1);
	assert_int_equal(rl_h1_header_parse("Bad Name: v", &h), -1);
	assert_int_equal(rl_h1_header_parse("X: a\r\nInjected: 1", &h), -1);
	assert_int_equal(rl_h1_header_parse("X-Empty:", &h), 0);
	assert_int_equal(h.value_len, 0);
}

struct sink {
	char buf[64];
	size_t len;
};

/* Heads as servers send them, each parsed every way (the fast path takes the whole ones),
 * and then with every byte replaced by each byte that matters to the grammar: the fast
 * path and the byte machine must give the same verdict and fields on every one. */
static const char *const real_heads[] = {
	"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 30 Nov 2026 21:00:00 GMT\r\n"
	"Content-Type: text/plain\r\nContent-Length: 17\r\nConnection: keep-alive\r\n\r\nhello from nginx\n",
	"HTTP/1.1 404 Not Found\r\nserver: h2o/2.2.5\r\ncontent-length: 9\r\nvary: accept-encoding\r\n\r\nnot found",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nX-Trace: \t a\x7f\xff b \r\n\r\n"
	"5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
	"HTTP/1.0 200 OK\r\nConnection: Keep-Alive, Upgrade\r\nContent-Length: 2, 2\r\n\r\nok",
	"HTTP/1.1 301 Moved Permanently\r\nLocation: https://example.test/a/very/long/path/that/spans/vectors\r\n"
	"Content-Length: 0\r\nConnection: close\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.1 200\r\nA-Very-Long-Header-Name-Beyond-Twenty: v\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 204 No Content\r\nX:\r\n\r\n",
};

static struct outcome parse_once(parse_fn fn, const char *data, size_t len)
{
	parse_with = fn;
	memo_with = NULL;
	struct outcome o = run_pieces(data, len, false, NULL, 0, true);
	parse_with = rl_h1_parse;
	return o;
}

/* data, parsed through a memo that first read `first` */
static struct outcome parse_memo(const char *first, size_t first_len, const char *data, size_t len)
{
	static struct rl_h1_memo memo;
	memset(&memo, 0, sizeof(memo));
	parse_with = rl_h1_parse;
	memo_with = &memo;
	run_pieces(first, first_len, false, NULL, 0, true);
	struct outcome o = run_pieces(data, len, false, NULL, 0, true);
	memo_with = NULL;
	return o;
}

static void h1_fast_path_agrees_with_the_byte_machine(void **s)
{
	static const uint8_t grammar[] = { 0, '\r', '\n', ' ', '\t', ':', ',', ';', '0', '9', 'x', 0x7f, 0xff };
	char buf[512];
	for (size_t k = 0; k < sizeof(real_heads) / sizeof(real_heads[0]); k++) {
		size_t len = strlen(real_heads[k]);
		assert_true(len < sizeof(buf));
		parse_all_ways(real_heads[k], len, false, true);
		for (size_t at = 0; at < len; at++)
			for (size_t g = 0; g < sizeof(grammar); g++) {
				memcpy(buf, real_heads[k], len);
				buf[at] = (char)grammar[g];
				struct outcome fast = parse_once(rl_h1_parse, buf, len);
				struct outcome bytes = parse_once(rl_h1_parse_bytewise, buf, len);
				assert_same(&fast, &bytes, real_heads[k], at * 256 + grammar[g]);
				/* a memo of the real head, which this one differs from at `at`; then
				 * a memo of this head, if the fast path kept it */
				struct outcome memo = parse_memo(real_heads[k], strlen(real_heads[k]), buf, len);
				assert_same(&memo, &bytes, "memo of the real head", at * 256 + grammar[g]);
				memo = parse_memo(buf, len, buf, len);
				assert_same(&memo, &bytes, "memo of this head", at * 256 + grammar[g]);
			}
	}
}

/* One response through a parser on memo m: its status, or the error. */
static int memo_status(struct rl_h1_memo *m, const char *r, bool head)
{
	struct rl_h1_parser p;
	rl_h1_parser_init(&p, head);
	p.memo = m;
	size_t used;
	int rc = rl_h1_parse(&p, (const uint8_t *)r, strlen(r), &used);
	return rc == RL_H1_DONE ? p.status : rc;
}

/* The memo is taken for a byte-identical head read from the same start, and only then:
 * a marked memo (its status changed by hand) shows where it was taken. */
static void h1_memo_is_taken_only_for_the_same_head(void **s)
{
	static const char a[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
	static const char a_other[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alivf\r\n\r\nok";
	static const char a_bad[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\n\r\nok";
	static struct rl_h1_memo m;
	memset(&m, 0, sizeof(m));
	assert_int_equal(memo_status(&m, a, false), 200);
	assert_int_equal(m.len, strlen(a) - 2);
	m.after.status = 299; /* the mark */
	assert_int_equal(memo_status(&m, a, false), 299);          /* taken */
	assert_int_equal(memo_status(&m, a_other, false), 200);    /* one byte differs */
	assert_int_equal(memo_status(&m, a, false), 200);          /* a_other's memo now */
	m.after.status = 299;
	assert_int_equal(memo_status(&m, a, true), 200);           /* a HEAD request's */
	/* after an interim response the parser is not where the memo's head was read from */
	memo_status(&m, a, false);
	m.after.status = 299;
	{
		static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
		char both[256];
		snprintf(both, sizeof(both), "%s%s", interim, a);
		assert_int_equal(memo_status(&m, both, false), 200);
	}
	/* a head the fast path leaves to the byte machine is never kept */
	memset(&m, 0, sizeof(m));
	assert_int_equal(memo_status(&m, a_bad, false), 200);
	assert_int_equal(m.len, 0);
	/* nor is one longer than RL_H1_MEMO_MAX */
	char big[RL_H1_MEMO_MAX + 128];
	int n = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX: %0*d\r\nContent-Length: 0\r\n\r\n",
			 RL_H1_MEMO_MAX, 7);
	assert_true(n > RL_H1_MEMO_MAX && (size_t)n < sizeof(big));
	assert_int_equal(memo_status(&m, big, false), 200);
	assert_int_equal(m.len, 0);
}

static void sink_body(void *ctx, const uint8_t *p, size_t n)
{
	struct sink *k = ctx;
	assert_true(k->len + n <= sizeof(k->buf));
	memcpy(k->buf + k->len, p, n);
	k->len += n;
}

/* The body sink sees the payload, decoded from its chunks, whatever the split; and a
 * reset keeps the sink for the next response. */
static void h1_body_sink_sees_the_payload_at_every_split(void **s)
{
	static const char r[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: t\r\n\r\n";
	size_t n = sizeof(r) - 1;
	for (size_t cut = 0; cut <= n; cut++) {
		struct sink k = { .len = 0 };
		struct rl_h1_parser p;
		rl_h1_parser_init(&p, false);
		p.on_body = sink_body;
		p.body_ctx = &k;
		rl_h1_parser_reset(&p, false);
		size_t used, off = 0;
		int rc = rl_h1_parse(&p, (const uint8_t *)r, cut, &used);
		off = used;
		if (rc != RL_H1_DONE)
			rc = rl_h1_parse(&p, (const uint8_t *)r + off, n - off, &used);
		assert_int_equal(rc, RL_H1_DONE);
		assert_int_equal(k.len, 11);
		assert_memory_equal(k.buf, "hello world", 11);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(h1_content_length_body),
		cmocka_unit_test(h1_fast_path_agrees_with_the_byte_machine),
		cmocka_unit_test(h1_memo_is_taken_only_for_the_same_head),
		cmocka_unit_test(h1_header_names_are_case_insensitive),
		cmocka_unit_test(h1_stops_at_end_of_response),
		cmocka_unit_test(h1_chunked_with_extensions_and_trailers),
		cmocka_unit_test(h1_chunked_hex_sizes_either_case),
		cmocka_unit_test(h1_transfer_encoding_chunked_must_be_last),
		cmocka_unit_test(h1_transfer_encoding_overrides_length_and_closes),
		cmocka_unit_test(h1_connection_close),
		cmocka_unit_test(h1_http10_closes_unless_keep_alive),
		cmocka_unit_test(h1_http10_body_until_close),
		cmocka_unit_test(h1_body_until_close_without_length),
		cmocka_unit_test(h1_interim_responses_are_skipped),
		cmocka_unit_test(h1_no_body_for_204_304_and_head),
		cmocka_unit_test(h1_accepts_identical_content_lengths),
		cmocka_unit_test(h1_accepts_bare_lf_and_missing_reason),
		cmocka_unit_test(h1_obs_fold_continues_a_value),
		cmocka_unit_test(h1_large_but_legal_headers),
		cmocka_unit_test(h1_rejects_conflicting_content_length),
		cmocka_unit_test(h1_rejects_bad_content_length),
		cmocka_unit_test(h1_rejects_bad_chunk_size),
		cmocka_unit_test(h1_rejects_chunk_without_crlf),
		cmocka_unit_test(h1_rejects_nul_and_bare_cr),
		cmocka_unit_test(h1_rejects_malformed_header_lines),
		cmocka_unit_test(h1_rejects_bad_status_line),
		cmocka_unit_test(h1_rejects_unrequested_upgrade),
		cmocka_unit_test(h1_rejects_header_block_over_limit),
		cmocka_unit_test(h1_rejects_endless_interim_responses),
		cmocka_unit_test(h1_eof_before_and_inside_a_response),
		cmocka_unit_test(h1_parser_reset_allows_reuse),
		cmocka_unit_test(h1_body_sink_sees_the_payload_at_every_split),
		cmocka_unit_test(h1_request_has_host_and_length),
		cmocka_unit_test(h1_request_user_host_wins),
		cmocka_unit_test(h1_header_parse_rejects_bad_lines),
	};
	return cmocka_run_group_tests_name("h1", tests, NULL, NULL);
}
