/* HTTP/2 response rules: see h2_response.h. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ringload/h2_response.h"

void rl_h2_response_init(struct rl_h2_response *r, bool head_request)
{
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	r->head_request = head_request;
}

/* RFC 9113 8.2.1: no 0x00-0x20, no 'A'-'Z', no 0x7f-0xff, and no ':' past the first byte
 * (a pseudo-field's). The table marks the bytes a name may hold. */
static const uint8_t name_byte_ok[256] = {
	['!'] = 1, ['"'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1,
	[')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1, [';'] = 1, ['<'] = 1, ['='] = 1, ['>'] = 1, ['?'] = 1, ['@'] = 1,
	['['] = 1, ['\\'] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
	['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
	['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1,
};

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
#define LOWS  0x7f7f7f7f7f7f7f7fULL

/* Whether any of eight name bytes is one the table refuses: 0x80 and up, under 0x21,
 * 0x7f, ':' or 'A'-'Z'. Each test is exact about "any" (no carry crosses a byte). */
static inline bool name_word_bad(const uint8_t *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	uint64_t low = x & LOWS;
	uint64_t del = x ^ (ONES * 0x7f), colon = x ^ (ONES * ':');
	uint64_t upper = (low + ONES * (0x80 - 'A')) & ~(low + ONES * (0x80 - 'Z' - 1));
	uint64_t bad = x | ((x - ONES * 0x21) & ~x) | ((del - ONES) & ~del) | ((colon - ONES) & ~colon) | upper;
	return bad & HIGHS;
}

#ifdef __SSE2__
/* The same test on 8 to 16 bytes at once (SSE2 is in every x86-64): two overlapping
 * 8-byte loads fill one vector. Signed, 0x80 and up are below 0x21. */
static inline bool name_vec_bad(const uint8_t *p, size_t n)
{
	__m128i v = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)p),
				       _mm_loadl_epi64((const __m128i *)(p + n - 8)));
	__m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x21)),
				   _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)),
						_mm_cmpeq_epi8(v, _mm_set1_epi8(':'))));
	__m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
				      _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
	return _mm_movemask_epi8(_mm_or_si128(bad, upper)) != 0;
}
#endif

/* Eight at a time from i, the last word overlapping the one before. Out of line: its
 * constants and registers would otherwise be set up for every name, short ones too. */
__attribute__((noinline)) static bool long_name_ok(const uint8_t *name, size_t i, size_t len)
{
	for (; i + 8 < len; i += 8)
		if (name_word_bad(name + i))
			return false;
	return !name_word_bad(name + len - 8);
}

bool rl_h2_field_name_ok(const uint8_t *name, size_t len)
{
	if (!len)
		return false;
	size_t i = name[0] == ':' && len > 1; /* a pseudo-field's colon */
	if (len - i >= 8) {
#ifdef __SSE2__
		if (len - i <= 16)
			return !name_vec_bad(name + i, len - i);
#endif
		return long_name_ok(name, i, len);
	}
	unsigned ok = 1;
	for (; i < len; i++)
		ok &= name_byte_ok[name[i]];
	return ok;
}

/* RFC 9113 8.2.1: no NUL, LF or CR anywhere, no SP or HTAB at either end. Eight bytes
 * at a time (the last word overlaps the one before it): a value with no byte under 0x0e
 * holds none of the three, and the exact test runs only where one is under it. */
static bool bytes_ok(const uint8_t *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x0e && ((1u << 0 | 1u << '\n' | 1u << '\r') >> v[i] & 1))
			return false;
	return true;
}

static inline uint64_t under_0e(const uint8_t *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return (x - ONES * 0x0e) & ~x;
}

static inline bool value_ok(const uint8_t *value, size_t len)
{
	if (!len)
		return true;
	uint8_t first = value[0], last = value[len - 1];
	if (first == ' ' || first == '\t' || last == ' ' || last == '\t')
		return false;
	if (len < 8)
		return bytes_ok(value, len);
	uint64_t maybe = under_0e(value + len - 8);
	for (size_t i = 0; i + 8 < len; i += 8)
		maybe |= under_0e(value + i);
	return !(maybe & HIGHS) || bytes_ok(value, len);
}

bool rl_h2_field_value_ok(const uint8_t *value, size_t len)
{
	return value_ok(value, len);
}

const char *rl_h2_response_begin_block(struct rl_h2_response *r)
{
	r->regular_seen = false;
	switch (r->phase) {
	case RL_H2R_HEAD:
		r->status = 0;
		return NULL;
	case RL_H2R_BODY:
		r->phase = RL_H2R_TRAILERS;
		return NULL;
	default:
		return "HEADERS after the trailers";
	}
}

static bool is(const uint8_t *s, size_t n, const char *lit, size_t litlen)
{
	return n == litlen && !memcmp(s, lit, litlen);
}
#define IS(s, n, lit) is(s, n, lit, sizeof(lit) - 1)

/* RFC 9113 8.2.2: fields that mean something only on an HTTP/1.1 connection. */
static bool connection_specific(const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen)
{
	switch (nlen) {
	case 2: return IS(name, nlen, "te") && !IS(value, vlen, "trailers");
	case 7: return IS(name, nlen, "upgrade");
	case 10: return IS(name, nlen, "connection") || IS(name, nlen, "keep-alive");
	case 16: return IS(name, nlen, "proxy-connection");
	case 17: return IS(name, nlen, "transfer-encoding");
	default: return false;
	}
}

static const char *status_field(struct rl_h2_response *r, const uint8_t *v, size_t vlen)
{
	if (r->phase != RL_H2R_HEAD)
		return "a pseudo-field in the trailers";
	if (r->regular_seen)
		return "a pseudo-field after a regular field";
	if (r->status)
		return "a second :status in one response head";
	if (vlen != 3 || v[0] < '1' || v[0] > '5' || v[1] < '0' || v[1] > '9' || v[2] < '0' || v[2] > '9')
		return "response HEADERS with an invalid :status";
	r->status = (uint16_t)((v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0'));
	if (r->status == 101)
		return "response HEADERS with :status 101 (no Upgrade in HTTP/2)";
	return NULL;
}

static const char *content_length_field(struct rl_h2_response *r, const uint8_t *v, size_t vlen)
{
	if (!vlen || vlen > 18)
		return "an invalid content-length";
	int64_t n = 0;
	for (size_t i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			return "an invalid content-length";
		n = n * 10 + (v[i] - '0');
	}
	if (r->content_length >= 0 && r->content_length != n)
		return "two different content-length values";
	r->content_length = n;
	return NULL;
}

/* A field: the pseudo-field rules, the characters (RFC 9113 8.2.1) and the
 * connection-specific fields (8.2.2), which mean something only in HTTP/1.1. */
const char *rl_h2_response_field(struct rl_h2_response *r, const uint8_t *name, size_t nlen,
				 const uint8_t *value, size_t vlen, bool name_static)
{
	r->kind = RL_H2F_OTHER;
	if (nlen && name[0] == ':') { /* :status is the one a response has; its digits are its check */
		if (!IS(name, nlen, ":status"))
			return rl_h2_field_name_ok(name, nlen) ? "a pseudo-field a response may not carry"
							       : "an invalid field name (RFC 9113 8.2.1)";
		r->kind = RL_H2F_STATUS;
		return status_field(r, value, vlen);
	}
	if (!name_static && !rl_h2_field_name_ok(name, nlen))
		return "an invalid field name (RFC 9113 8.2.1)";
	if (!value_ok(value, vlen))
		return "an invalid field value (RFC 9113 8.2.1)";
	r->regular_seen = true;
	if (r->phase == RL_H2R_HEAD && !r->status)
		return "response HEADERS with no :status first";
	if (nlen == 14 && r->phase == RL_H2R_HEAD && IS(name, nlen, "content-length")) {
		if (r->status < 200)
			return "content-length on a 1xx response";
		r->kind = RL_H2F_CONTENT_LENGTH;
		return content_length_field(r, value, vlen);
	}
	return connection_specific(name, nlen, value, vlen) ? "a connection-specific field (RFC 9113 8.2.2)" : NULL;
}

const char *rl_h2_response_end_block(struct rl_h2_response *r, bool end_stream)
{
	if (r->phase == RL_H2R_TRAILERS) {
		if (!end_stream)
			return "trailers without END_STREAM";
		r->phase = RL_H2R_ENDED;
		return rl_h2_response_data(r, 0, true);
	}
	if (!r->status)
		return "response HEADERS with no :status";
	if (r->status < 200) { /* an interim response: the final one follows */
		if (end_stream)
			return "a 1xx response with END_STREAM";
		return NULL;
	}
	r->phase = RL_H2R_BODY;
	r->no_body = r->head_request || r->status == 204 || r->status == 304;
	return end_stream ? rl_h2_response_data(r, 0, true) : NULL;
}

const char *rl_h2_response_data(struct rl_h2_response *r, size_t len, bool end_stream)
{
	if (len) {
		if (r->phase == RL_H2R_HEAD)
			return "DATA before the response HEADERS";
		if (r->phase != RL_H2R_BODY)
			return "DATA after the trailers";
		if (r->no_body)
			return "DATA in a response that has no body";
		r->data += len;
		if (r->content_length >= 0 && r->data > (uint64_t)r->content_length)
			return "DATA beyond content-length";
	}
	if (end_stream) {
		if (r->phase == RL_H2R_HEAD)
			return "response HEADERS with no :status";
		r->phase = RL_H2R_ENDED;
		if (r->content_length >= 0 && !r->no_body && r->data != (uint64_t)r->content_length)
			return "DATA short of content-length";
	}
	return NULL;
}
