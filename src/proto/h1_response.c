/* Incremental HTTP/1.1 response parser (RFC 9112). One byte-wise state machine with
 * bulk paths for bodies; it keeps only what framing needs (status, Content-Length,
 * Transfer-Encoding, Connection), so it never buffers and never allocates. Strict where
 * the RFC says a recipient must reject; every rejection is a negative code. */
#include "ringload/h1.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum {
	P_START, P_VERSION, P_VERSION_MINOR, P_VERSION_SP, P_STATUS, P_STATUS_END, P_REASON,
	P_LF, P_HEADER_START, P_HEADER_NAME, P_HEADER_VALUE, P_HEADERS_END_LF,
	P_BODY_LENGTH, P_BODY_CLOSE,
	P_CHUNK_SIZE, P_CHUNK_BWS, P_CHUNK_EXT, P_CHUNK_DATA, P_CHUNK_DATA_CR, P_CHUNK_DATA_LF,
	P_DONE,
};

/* P_LF's successors: what a CRLF (or a bare LF) ends. */
enum { N_HEADER_START, N_HEADERS_END, N_CHUNK_SIZE_DONE };

enum { H_OTHER, H_CONTENT_LENGTH, H_TRANSFER_ENCODING, H_CONNECTION };

/* Content-Length value sub-states: OWS, digits, OWS after digits. */
enum { CL_LEAD, CL_DIGITS, CL_TRAIL };

#define MAX_LENGTH (1ULL << 62)

static const char http_prefix[] = "HTTP/1.";

/* RFC 9110 5.6.2 tchar, as a table: header names are scanned in bulk */
#define T1(c) [c] = 1
static const uint8_t tchar[256] = {
	T1('!'), T1('#'), T1('$'), T1('%'), T1('&'), T1('\''), T1('*'), T1('+'), T1('-'), T1('.'),
	T1('^'), T1('_'), T1('`'), T1('|'), T1('~'),
	T1('0'), T1('1'), T1('2'), T1('3'), T1('4'), T1('5'), T1('6'), T1('7'), T1('8'), T1('9'),
	T1('a'), T1('b'), T1('c'), T1('d'), T1('e'), T1('f'), T1('g'), T1('h'), T1('i'), T1('j'),
	T1('k'), T1('l'), T1('m'), T1('n'), T1('o'), T1('p'), T1('q'), T1('r'), T1('s'), T1('t'),
	T1('u'), T1('v'), T1('w'), T1('x'), T1('y'), T1('z'),
	T1('A'), T1('B'), T1('C'), T1('D'), T1('E'), T1('F'), T1('G'), T1('H'), T1('I'), T1('J'),
	T1('K'), T1('L'), T1('M'), T1('N'), T1('O'), T1('P'), T1('Q'), T1('R'), T1('S'), T1('T'),
	T1('U'), T1('V'), T1('W'), T1('X'), T1('Y'), T1('Z'),
};
#undef T1

static inline bool is_tchar(uint8_t c)
{
	return tchar[c];
}

/* tchar lowered, 0 for anything else: the fast path's name scan in one lookup */
static const uint8_t tchar_lower[256] = {
	['!'] = '!', ['#'] = '#', ['$'] = '$', ['%'] = '%', ['&'] = '&', ['\''] = '\'', ['*'] = '*',
	['+'] = '+', ['-'] = '-', ['.'] = '.', ['^'] = '^', ['_'] = '_', ['`'] = '`', ['|'] = '|',
	['~'] = '~', ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5',
	['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c',
	['d'] = 'd', ['e'] = 'e', ['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j',
	['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o', ['p'] = 'p', ['q'] = 'q',
	['r'] = 'r', ['s'] = 's', ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x',
	['y'] = 'y', ['z'] = 'z', ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
	['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l',
	['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's',
	['T'] = 't', ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y', ['Z'] = 'z',
};

static inline char lower(uint8_t c)
{
	return (char)(c | ((c >= 'A' && c <= 'Z') ? 0x20 : 0));
}

/* Bytes of the header block the bulk scans may take before the limit check must see
 * them one at a time: errors then land on the same byte whatever the split. */
static inline size_t block_room(const struct rl_h1_parser *p, size_t avail)
{
	size_t room = RL_H1_MAX_HEADER_BLOCK - p->block_bytes;
	return avail < room ? avail : room;
}

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void rl_h1_parser_init(struct rl_h1_parser *p, bool head_request)
{
	memset(p, 0, sizeof(*p));
	p->is_head = head_request;
}

/* The parser's state up to its name buffer: what one response decides (a reset clears
 * it, the head memo keeps a copy of it). */
#define HEAD_STATE offsetof(struct rl_h1_parser, name)

void rl_h1_parser_reset(struct rl_h1_parser *p, bool head_request)
{
	memset(p, 0, HEAD_STATE);
	p->is_head = head_request;
}

/* Starts a new response block after an interim 1xx, keeping the request's HEAD flag. */
static void restart_after_interim(struct rl_h1_parser *p)
{
	uint8_t interim = p->interim;
	rl_h1_parser_reset(p, p->is_head);
	p->interim = interim;
	p->state = P_START;
}

static void token_end(struct rl_h1_parser *p)
{
	if (!p->tok_len)
		return;
	bool chunked = !p->tok_overflow && p->tok_len == 7 && !memcmp(p->tok, "chunked", 7);
	if (p->hdr == H_TRANSFER_ENCODING) {
		p->te_chunked = chunked; /* only the final coding decides the framing */
	} else if (p->hdr == H_CONNECTION && !p->tok_overflow) {
		if (p->tok_len == 5 && !memcmp(p->tok, "close", 5))
			p->conn_close = 1;
		else if (p->tok_len == 10 && !memcmp(p->tok, "keep-alive", 10))
			p->conn_keepalive = 1;
	}
	p->tok_len = 0;
	p->tok_overflow = 0;
}

static int cl_element_end(struct rl_h1_parser *p)
{
	if (!p->cl_digit)
		return RL_H1_E_CONTENT_LENGTH;
	/* RFC 9110 8.6: a list of identical values is one value; any difference is fatal */
	if (p->has_cl && p->cl_value != p->content_length)
		return RL_H1_E_CONFLICTING_LENGTH;
	p->has_cl = 1;
	p->content_length = p->cl_value;
	p->cl_value = 0;
	p->cl_digit = 0;
	p->val_state = CL_LEAD;
	return 0;
}

static int value_byte(struct rl_h1_parser *p, uint8_t c)
{
	switch (p->hdr) {
	case H_CONTENT_LENGTH:
		if (c == ' ' || c == '\t') {
			if (p->val_state == CL_DIGITS)
				p->val_state = CL_TRAIL;
			return 0;
		}
		if (c == ',')
			return cl_element_end(p);
		if (c < '0' || c > '9' || p->val_state == CL_TRAIL)
			return RL_H1_E_CONTENT_LENGTH;
		p->val_state = CL_DIGITS;
		p->cl_digit = 1;
		p->cl_value = p->cl_value * 10 + (uint64_t)(c - '0');
		if (p->cl_value > MAX_LENGTH)
			return RL_H1_E_CONTENT_LENGTH;
		return 0;
	case H_TRANSFER_ENCODING:
	case H_CONNECTION:
		if (c == ',') {
			token_end(p);
			p->in_param = 0;
			return 0;
		}
		if (p->in_param)
			return 0;
		if (c == ';' || c == ' ' || c == '\t') {
			/* parameters (";q=1") end the token and are ignored up to the next ',' */
			token_end(p);
			p->in_param = c == ';';
			return 0;
		}
		if (p->tok_len < sizeof(p->tok))
			p->tok[p->tok_len++] = (char)(c | 0x20);
		else
			p->tok_overflow = 1;
		return 0;
	default:
		return 0;
	}
}

static int value_end(struct rl_h1_parser *p)
{
	if (p->hdr == H_CONTENT_LENGTH)
		return cl_element_end(p);
	if (p->hdr == H_TRANSFER_ENCODING || p->hdr == H_CONNECTION) {
		token_end(p);
		p->in_param = 0;
	}
	return 0;
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* NAME (n tchars) equals LIT (n lowercase letters and '-', n >= 8) in any case: a tchar
 * with 0x20 set is a lowercase letter only if it was that letter in either case, and '-'
 * only if it was '-' (0x0d is no tchar). Two or three overlapping 8-byte words. */
static bool name_is(const uint8_t *name, const char *lit, size_t n)
{
	const uint64_t fold = 0x2020202020202020ULL;
	const uint8_t *l = (const uint8_t *)lit;
	return (load64(name) | fold) == load64(l) && (load64(name + n - 8) | fold) == load64(l + n - 8) &&
	       (n <= 16 || (load64(name + 8) | fold) == load64(l + 8));
}

/* Which framing header a name of n tchars is (RFC 9112 6), in any case: H_OTHER for
 * the rest. */
static uint8_t header_kind(const uint8_t *name, size_t n)
{
	switch (n) {
	case 14: return name_is(name, "content-length", 14) ? H_CONTENT_LENGTH : H_OTHER;
	case 17: return name_is(name, "transfer-encoding", 17) ? H_TRANSFER_ENCODING : H_OTHER;
	case 10: return name_is(name, "connection", 10) ? H_CONNECTION : H_OTHER;
	default: return H_OTHER;
	}
}

/* A header's value begins: what the parser will keep of it. */
static void header_begin(struct rl_h1_parser *p, uint8_t hdr)
{
	p->hdr = hdr;
	if (hdr == H_CONTENT_LENGTH) {
		p->val_state = CL_LEAD;
		p->cl_value = 0;
		p->cl_digit = 0;
	} else if (hdr == H_TRANSFER_ENCODING) {
		p->te_present = 1;
		p->te_chunked = 0;
	}
	p->tok_len = 0;
	p->tok_overflow = 0;
	p->in_param = 0;
}

static void name_end(struct rl_h1_parser *p)
{
	if (p->trailers || p->name_len > sizeof(p->name)) {
		p->hdr = H_OTHER;
		return;
	}
	header_begin(p, header_kind((const uint8_t *)p->name, p->name_len));
}

/* The empty line after the headers (or trailers): decide the body's framing, RFC 9112 6.3. */
static int headers_end(struct rl_h1_parser *p)
{
	if (p->trailers) {
		p->state = P_DONE;
		return RL_H1_DONE;
	}
	if (p->status < 200) {
		if (p->status == 101)
			return RL_H1_E_UPGRADE;
		if (++p->interim > RL_H1_MAX_INTERIM)
			return RL_H1_E_TOO_MANY_INTERIM;
		restart_after_interim(p);
		return RL_H1_AGAIN;
	}
	p->keep_alive = p->version_minor >= 1 ? !p->conn_close : p->conn_keepalive && !p->conn_close;
	if (p->is_head || p->status == 204 || p->status == 304) {
		p->state = P_DONE;
		return RL_H1_DONE;
	}
	if (p->te_present) {
		/* Transfer-Encoding overrides Content-Length, and such a message must not be
		 * followed by another on this connection (RFC 9112 6.1). */
		if (p->has_cl)
			p->keep_alive = false;
		if (p->te_chunked) {
			p->state = P_CHUNK_SIZE;
			p->line_bytes = 0;
			p->remaining = 0;
			p->match = 0;
			return RL_H1_AGAIN;
		}
		p->state = P_BODY_CLOSE;
		p->keep_alive = false;
		return RL_H1_AGAIN;
	}
	if (p->has_cl) {
		if (!p->content_length) {
			p->state = P_DONE;
			return RL_H1_DONE;
		}
		p->remaining = p->content_length;
		p->state = P_BODY_LENGTH;
		return RL_H1_AGAIN;
	}
	p->state = P_BODY_CLOSE;
	p->keep_alive = false;
	return RL_H1_AGAIN;
}

static int after_lf(struct rl_h1_parser *p)
{
	switch (p->next) {
	case N_HEADER_START:
		p->state = P_HEADER_START;
		return RL_H1_AGAIN;
	case N_HEADERS_END:
		return headers_end(p);
	default: /* N_CHUNK_SIZE_DONE */
		if (!p->match)
			return RL_H1_E_CHUNK_SIZE;
		if (p->remaining == 0) {
			p->trailers = 1;
			p->block_bytes = 0;
			p->name_len = 0; /* a trailer section cannot open with an obs-fold */
			p->state = P_HEADER_START;
		} else {
			p->state = P_CHUNK_DATA;
		}
		return RL_H1_AGAIN;
	}
}

/* A CR must be followed by LF; a bare LF is accepted as a line end (RFC 9112 2.2). */
static int line_end(struct rl_h1_parser *p, uint8_t c, uint8_t next)
{
	p->next = next;
	if (c == '\r') {
		p->state = P_LF;
		return RL_H1_AGAIN;
	}
	return after_lf(p);
}

static bool in_header_block(uint8_t state)
{
	return state <= P_HEADERS_END_LF;
}

static inline bool is_digit(uint8_t c)
{
	return (unsigned)(c - '0') <= 9;
}

/* The first byte at or after i that is NUL, CR, LF or STOP (len when none): what ends a
 * status line's reason, a header value (STOP = LF), or a header name (STOP = ':'). SSE2
 * (in every x86-64) takes 16 bytes a step. */
static inline size_t scan_to(const uint8_t *buf, size_t i, size_t len, uint8_t stop)
{
#ifdef __SSE2__
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n'), nul = _mm_setzero_si128(),
		      st = _mm_set1_epi8((char)stop);
	for (; i + 16 <= len; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(buf + i));
		__m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)),
					   _mm_or_si128(_mm_cmpeq_epi8(v, nul), _mm_cmpeq_epi8(v, st)));
		unsigned m = (unsigned)_mm_movemask_epi8(hit);
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
	for (; i < len; i++)
		if (buf[i] == '\r' || buf[i] == '\n' || !buf[i] || buf[i] == stop)
			return i;
	return len;
}

static size_t line_stop(const uint8_t *buf, size_t i, size_t len)
{
	return scan_to(buf, i, len, '\n');
}

static size_t skip_ows(const uint8_t *v, size_t i, size_t n)
{
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	return i;
}

static bool same_token(const uint8_t *v, size_t n, const char *lit, size_t litlen)
{
	if (n != litlen)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tchar_lower[v[i]] != (uint8_t)lit[i])
			return false;
	return true;
}

/* The usual values of the framing headers, read whole: one Content-Length, or a
 * Connection of keep-alive or close. Returns false, changing nothing, for anything else
 * (lists, parameters, conflicts, errors), which then goes through value_byte. */
static bool quick_value(struct rl_h1_parser *q, const uint8_t *v, size_t n)
{
	size_t i = skip_ows(v, 0, n), digits = i;
	if (q->hdr == H_CONTENT_LENGTH) {
		uint64_t x = 0;
		for (; i < n && is_digit(v[i]) && i - digits < 18; i++)
			x = x * 10 + (uint64_t)(v[i] - '0');
		if (i == digits || skip_ows(v, i, n) != n || (q->has_cl && q->content_length != x))
			return false;
		q->has_cl = 1;
		q->content_length = x;
		return true;
	}
	if (q->hdr != H_CONNECTION)
		return false;
	while (n > i && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (same_token(v + i, n - i, "keep-alive", 10))
		q->conn_keepalive = 1;
	else if (same_token(v + i, n - i, "close", 5))
		q->conn_close = 1;
	else
		return false;
	return true;
}

/* The common case in one pass, when a whole head is in buf: "HTTP/1.x" and a final
 * status, CRLF line ends, no obs-fold, at most RL_H1_MAX_HEADER_BLOCK bytes. It runs the
 * byte machine's own header rules (name_end, value_byte, value_end) on a copy of the
 * parser and keeps it only when the head ends as expected, leaving the parser where the
 * byte machine would after the blank line. Returns the head's length, or 0 to leave
 * everything, errors included, to the byte machine, so both give one verdict. */
static size_t fast_head(struct rl_h1_parser *p, const uint8_t *buf, size_t len, int *rc)
{
	if (len > RL_H1_MAX_HEADER_BLOCK)
		len = RL_H1_MAX_HEADER_BLOCK;
	if (len < 16 || memcmp(buf, http_prefix, 7) || !is_digit(buf[7]) || buf[8] != ' ' ||
	    !is_digit(buf[9]) || buf[9] == '0' || !is_digit(buf[10]) || !is_digit(buf[11]))
		return 0;
	unsigned status = (buf[9] - '0') * 100u + (buf[10] - '0') * 10u + (buf[11] - '0');
	if (status < 200)
		return 0; /* interim responses and their limits: the byte machine */
	size_t i = 12;
	if (buf[i] == ' ')
		i = line_stop(buf, i + 1, len);
	if (i + 1 >= len || buf[i] != '\r' || buf[i + 1] != '\n')
		return 0;
	i += 2;
	struct rl_h1_parser q = *p;
	q.version_minor = (uint8_t)(buf[7] - '0');
	q.status = (uint16_t)status;
	for (;;) {
		if (i + 1 >= len || buf[i] == ' ' || buf[i] == '\t')
			return 0; /* the end of buf, or an obs-fold */
		if (buf[i] == '\r') {
			if (buf[i + 1] != '\n')
				return 0;
			i += 2;
			break;
		}
		/* the name runs to ':', and every byte of it is a tchar */
		size_t name = i, colon = scan_to(buf, i, len, ':');
		if (colon == len || buf[colon] != ':')
			return 0;
		while (tchar_lower[buf[i]]) /* stops at the colon at the latest */
			i++;
		if (i != colon || i == name)
			return 0;
		uint8_t kind = header_kind(buf + name, i - name);
		size_t end = line_stop(buf, ++i, len);
		if (end + 1 >= len || buf[end] != '\r' || buf[end + 1] != '\n')
			return 0; /* a bare CR or LF, a NUL, or the end of buf */
		if (kind != H_OTHER) {
			header_begin(&q, kind);
			if (!quick_value(&q, buf + i, end - i)) {
				for (; i < end; i++)
					if (value_byte(&q, buf[i]))
						return 0;
				if (value_end(&q))
					return 0;
			}
		}
		i = end + 2;
	}
	q.block_bytes = (uint32_t)i;
	q.next = N_HEADERS_END;
	*p = q;
	*rc = headers_end(p);
	return i;
}

/* The memo's head, when buf opens with it and the parser is where it was read from (a
 * fresh response, no interim one before it): the parser takes the state after it, and
 * the head's length is returned; else 0. */
static inline size_t memo_hit(struct rl_h1_parser *p, const uint8_t *buf, size_t len, int *rc)
{
	const struct rl_h1_memo *m = p->memo;
	if (!m || !m->len || m->len > len || m->is_head != p->is_head || p->interim ||
	    memcmp(buf, m->head, m->len))
		return 0;
	memcpy(p, &m->after, HEAD_STATE);
	*rc = m->rc;
	return m->len;
}

/* The fast path, and its head kept as the memo when it was read whole from a fresh
 * parser. (rl_h1_parse has tried the memo already: a response starts at its buffer's
 * start, or after a 1xx, which no memo is taken for.) */
static size_t fast_head_kept(struct rl_h1_parser *p, const uint8_t *buf, size_t len, int *rc)
{
	struct rl_h1_memo *m = p->memo;
	bool fresh = !p->interim;
	size_t n = fast_head(p, buf, len, rc);
	if (m && fresh && n && n <= RL_H1_MEMO_MAX) {
		m->len = (uint32_t)n;
		m->rc = *rc;
		m->is_head = p->is_head;
		memcpy(&m->after, p, HEAD_STATE);
		memcpy(m->head, buf, n);
	}
	return n;
}

/* Up to `remaining` bytes of a body (a length's, or a chunk's), from buf's avail bytes:
 * counted and handed to the sink. Returns how many it took. */
static inline size_t take_body(struct rl_h1_parser *p, const uint8_t *buf, size_t avail)
{
	size_t n = avail < p->remaining ? avail : (size_t)p->remaining;
	p->remaining -= n;
	p->body_bytes += n;
	if (p->on_body)
		p->on_body(p->body_ctx, buf, n);
	return n;
}

static inline int parse(struct rl_h1_parser *p, const uint8_t *buf, size_t len, size_t *consumed, bool fast)
{
	size_t i = 0;
	int rc = RL_H1_AGAIN;

	while (i < len) {
		/* bodies move in bulk */
		if (p->state == P_BODY_LENGTH || p->state == P_CHUNK_DATA) {
			i += take_body(p, buf + i, len - i);
			if (!p->remaining) {
				if (p->state == P_BODY_LENGTH) {
					p->state = P_DONE;
					rc = RL_H1_DONE;
					break;
				}
				p->state = P_CHUNK_DATA_CR;
			}
			continue;
		}
		if (p->state == P_BODY_CLOSE) {
			p->body_bytes += len - i;
			if (p->on_body)
				p->on_body(p->body_ctx, buf + i, len - i);
			i = len;
			break;
		}
		if (p->state == P_DONE) {
			rc = RL_H1_DONE;
			break;
		}
		if (p->state == P_START && fast) {
			size_t n = fast_head_kept(p, buf + i, len - i, &rc);
			if (n) {
				i += n;
				if (rc != RL_H1_AGAIN)
					break;
				continue;
			}
		}
		/* Bulk scans over the bytes that need no decision: a reason phrase, a value
		 * nobody reads, a header name. They stop at anything that needs one (control
		 * bytes, ':'), which the byte-wise switch below then handles. */
		if (p->state == P_REASON || (p->state == P_HEADER_VALUE && p->hdr == H_OTHER)) {
			size_t end = i + block_room(p, len - i), j = i;
			while (j < end && buf[j] > '\r')
				j++;
			p->block_bytes += (uint32_t)(j - i);
			i = j;
			if (i == len)
				break;
		} else if (p->state == P_HEADER_NAME) {
			size_t end = i + block_room(p, len - i), j = i;
			for (; j < end && is_tchar(buf[j]); j++) {
				if (p->name_len < sizeof(p->name))
					p->name[p->name_len] = lower(buf[j]);
				if (p->name_len < 255)
					p->name_len++;
			}
			p->block_bytes += (uint32_t)(j - i);
			i = j;
			if (i == len)
				break;
		}

		uint8_t c = buf[i++];
		if (in_header_block(p->state) && ++p->block_bytes > RL_H1_MAX_HEADER_BLOCK) {
			rc = RL_H1_E_HEADER_TOO_LARGE;
			break;
		}
		if (c == 0) {
			rc = RL_H1_E_NUL;
			break;
		}

		switch (p->state) {
		case P_START:
			p->state = P_VERSION;
			p->match = 0;
			__attribute__((fallthrough));
		case P_VERSION:
			if (c != (uint8_t)http_prefix[p->match]) {
				rc = RL_H1_E_STATUS_LINE;
				break;
			}
			if (++p->match == sizeof(http_prefix) - 1)
				p->state = P_VERSION_MINOR;
			break;
		case P_VERSION_MINOR:
			if (c < '0' || c > '9') {
				rc = RL_H1_E_STATUS_LINE;
				break;
			}
			p->version_minor = (uint8_t)(c - '0');
			p->state = P_VERSION_SP;
			break;
		case P_VERSION_SP:
			if (c != ' ') {
				rc = RL_H1_E_STATUS_LINE;
				break;
			}
			p->state = P_STATUS;
			p->match = 0;
			break;
		case P_STATUS:
			if (c < '0' || c > '9' || (p->match == 0 && c == '0')) {
				rc = RL_H1_E_STATUS_LINE;
				break;
			}
			p->status = (uint16_t)(p->status * 10 + (c - '0'));
			if (++p->match == 3)
				p->state = P_STATUS_END;
			break;
		case P_STATUS_END:
			/* RFC 9112 4: SP then an optional reason; some servers omit the SP */
			if (c == ' ')
				p->state = P_REASON;
			else if (c == '\r' || c == '\n')
				rc = line_end(p, c, N_HEADER_START);
			else
				rc = RL_H1_E_STATUS_LINE;
			break;
		case P_REASON:
			if (c == '\r' || c == '\n')
				rc = line_end(p, c, N_HEADER_START);
			break;
		case P_LF:
			if (c != '\n') {
				rc = RL_H1_E_BARE_CR;
				break;
			}
			rc = after_lf(p);
			break;
		case P_HEADER_START:
			if (c == '\r' || c == '\n') {
				rc = line_end(p, c, N_HEADERS_END);
			} else if (c == ' ' || c == '\t') {
				/* obs-fold: a user agent replaces it with SP (RFC 9112 5.2) */
				if (p->name_len == 0) {
					rc = RL_H1_E_HEADER;
					break;
				}
				rc = value_byte(p, ' ');
				p->state = P_HEADER_VALUE;
			} else if (is_tchar(c)) {
				p->name_len = 0;
				p->name[p->name_len++] = lower(c);
				p->state = P_HEADER_NAME;
			} else {
				rc = RL_H1_E_HEADER;
			}
			break;
		case P_HEADER_NAME:
			if (c == ':') {
				name_end(p);
				p->state = P_HEADER_VALUE;
			} else if (is_tchar(c)) {
				if (p->name_len < sizeof(p->name))
					p->name[p->name_len] = lower(c);
				if (p->name_len < 255)
					p->name_len++;
			} else {
				rc = RL_H1_E_HEADER; /* no colon, or whitespace before it */
			}
			break;
		case P_HEADER_VALUE:
			if (c == '\r' || c == '\n') {
				/* an obs-fold may continue this value: Content-Length ends at the
				 * next field instead, which only changes when a list is finished */
				rc = value_end(p);
				if (rc == 0)
					rc = line_end(p, c, N_HEADER_START);
			} else if (p->hdr != H_OTHER) {
				rc = value_byte(p, c);
			}
			break;
		case P_CHUNK_SIZE: {
			int h = hex_value(c);
			if (++p->line_bytes > RL_H1_MAX_CHUNK_LINE) {
				rc = RL_H1_E_CHUNK_SIZE;
				break;
			}
			if (h >= 0) {
				if (p->remaining > (MAX_LENGTH >> 4)) {
					rc = RL_H1_E_CHUNK_SIZE;
					break;
				}
				p->remaining = p->remaining << 4 | (uint64_t)h;
				p->match = 1;
			} else if (!p->match) {
				rc = RL_H1_E_CHUNK_SIZE;
			} else if (c == ';') {
				p->state = P_CHUNK_EXT;
			} else if (c == ' ' || c == '\t') {
				p->state = P_CHUNK_BWS;
			} else if (c == '\r' || c == '\n') {
				rc = line_end(p, c, N_CHUNK_SIZE_DONE);
			} else {
				rc = RL_H1_E_CHUNK_SIZE;
			}
			break;
		}
		case P_CHUNK_BWS:
			if (++p->line_bytes > RL_H1_MAX_CHUNK_LINE)
				rc = RL_H1_E_CHUNK;
			else if (c == ';')
				p->state = P_CHUNK_EXT;
			else if (c == '\r' || c == '\n')
				rc = line_end(p, c, N_CHUNK_SIZE_DONE);
			else if (c != ' ' && c != '\t')
				rc = RL_H1_E_CHUNK_SIZE;
			break;
		case P_CHUNK_EXT:
			if (++p->line_bytes > RL_H1_MAX_CHUNK_LINE)
				rc = RL_H1_E_CHUNK;
			else if (c == '\r' || c == '\n')
				rc = line_end(p, c, N_CHUNK_SIZE_DONE);
			break;
		case P_CHUNK_DATA_CR:
			if (c == '\r') {
				p->state = P_CHUNK_DATA_LF;
				break;
			}
			if (c != '\n') {
				rc = RL_H1_E_CHUNK;
				break;
			}
			/* a bare LF after chunk data ends it too */
			__attribute__((fallthrough));
		case P_CHUNK_DATA_LF:
			if (c != '\n') {
				rc = RL_H1_E_BARE_CR;
				break;
			}
			p->state = P_CHUNK_SIZE;
			p->line_bytes = 0;
			p->remaining = 0;
			p->match = 0;
			break;
		}
		if (rc != RL_H1_AGAIN)
			break;
	}
	*consumed = i;
	return rc;
}

int rl_h1_parse(struct rl_h1_parser *p, const uint8_t *buf, size_t len, size_t *consumed)
{
	/* the usual response, its head the memo's and its whole body here, without the loop */
	int rc;
	size_t n = p->state == P_START ? memo_hit(p, buf, len, &rc) : 0;
	if (n && p->state == P_BODY_LENGTH && p->remaining <= len - n) {
		*consumed = n + take_body(p, buf + n, len - n);
		p->state = P_DONE;
		return RL_H1_DONE;
	}
	if (n && rc != RL_H1_AGAIN) {
		*consumed = n;
		return rc;
	}
	rc = parse(p, buf + n, len - n, consumed, true);
	*consumed += n;
	return rc;
}

int rl_h1_parse_bytewise(struct rl_h1_parser *p, const uint8_t *buf, size_t len, size_t *consumed)
{
	return parse(p, buf, len, consumed, false);
}

int rl_h1_finish(struct rl_h1_parser *p)
{
	if (p->state == P_BODY_CLOSE) {
		p->state = P_DONE;
		p->keep_alive = false;
		return RL_H1_DONE;
	}
	if (p->state == P_DONE)
		return RL_H1_DONE;
	return p->state == P_START && !p->interim ? RL_H1_E_CLOSED_EARLY : RL_H1_E_TRUNCATED;
}

const char *rl_h1_strerror(int err)
{
	switch (err) {
	case RL_H1_E_STATUS_LINE: return "malformed status line";
	case RL_H1_E_HEADER: return "malformed header line";
	case RL_H1_E_HEADER_TOO_LARGE: return "header block over 64 KiB";
	case RL_H1_E_BARE_CR: return "CR not followed by LF";
	case RL_H1_E_NUL: return "NUL byte in header block";
	case RL_H1_E_CONTENT_LENGTH: return "invalid Content-Length";
	case RL_H1_E_CONFLICTING_LENGTH: return "conflicting Content-Length values";
	case RL_H1_E_CHUNK_SIZE: return "invalid chunk size";
	case RL_H1_E_CHUNK: return "malformed chunk";
	case RL_H1_E_UPGRADE: return "unrequested 101 Switching Protocols";
	case RL_H1_E_TOO_MANY_INTERIM: return "too many 1xx responses";
	case RL_H1_E_CLOSED_EARLY: return "connection closed before the response";
	case RL_H1_E_TRUNCATED: return "connection closed inside the response";
	default: return "unknown HTTP/1.1 error";
	}
}
