/* libFuzzer: the HTTP/1.1 parser's fast path (a whole head in one buffer), alone and
 * through a head memo kept across inputs, against the byte machine alone. The first
 * byte picks HEAD or not and where to split the rest; the parsers read the same stream
 * of responses, whole and split there, and must give the same events: verdict, status,
 * body bytes, framing and bytes consumed. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/h1.h"

#define MAX_EVENTS 64

typedef int (*parse_fn)(struct rl_h1_parser *, const uint8_t *, size_t, size_t *);

struct event {
	int code;
	unsigned status, minor, framing;
	int keep_alive;
	uint64_t body, length;
	size_t at;
};

struct events {
	int n;
	struct event e[MAX_EVENTS];
};

static void add(struct events *ev, int code, const struct rl_h1_parser *p, size_t at)
{
	if (ev->n == MAX_EVENTS)
		return;
	struct event *e = &ev->e[ev->n++];
	memset(e, 0, sizeof(*e));
	e->code = code;
	e->at = at;
	if (code == RL_H1_DONE) {
		e->status = p->status;
		e->minor = p->version_minor;
		e->framing = p->has_cl | p->te_present << 1 | p->te_chunked << 2;
		e->keep_alive = p->keep_alive;
		e->body = p->body_bytes;
		e->length = p->content_length;
	}
}

static void run(parse_fn parse, const uint8_t *d, size_t n, size_t cut, bool head, struct events *ev,
		struct rl_h1_memo *memo)
{
	struct rl_h1_parser p;
	rl_h1_parser_init(&p, head);
	p.memo = memo;
	size_t pieces[2] = { cut, n }, off = 0;
	for (int k = 0; k < 2; k++) {
		while (off < pieces[k]) {
			size_t consumed = 0;
			int rc = parse(&p, d + off, pieces[k] - off, &consumed);
			if (consumed > pieces[k] - off)
				abort();
			off += consumed;
			if (rc < 0) {
				add(ev, rc, &p, off);
				return;
			}
			if (rc == RL_H1_AGAIN)
				break;
			add(ev, rc, &p, off);
			if (!p.keep_alive || ev->n == MAX_EVENTS)
				return;
			rl_h1_parser_reset(&p, head);
		}
		off = pieces[k];
	}
	add(ev, rl_h1_finish(&p), &p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	bool head = data[0] & 1;
	size_t n = size - 2, cut = n ? ((size_t)data[1] << 7 | data[0] >> 1) % (n + 1) : 0;
	/* the memo lives across inputs: an earlier input's head meets this one's */
	static struct rl_h1_memo memo;
	static struct events fast[2], bytes[2], memoed[2];
	memset(fast, 0, sizeof(fast));
	memset(bytes, 0, sizeof(bytes));
	memset(memoed, 0, sizeof(memoed));
	run(rl_h1_parse, data + 2, n, n, head, &fast[0], NULL);
	run(rl_h1_parse_bytewise, data + 2, n, n, head, &bytes[0], NULL);
	run(rl_h1_parse, data + 2, n, cut, head, &fast[1], NULL);
	run(rl_h1_parse_bytewise, data + 2, n, cut, head, &bytes[1], NULL);
	run(rl_h1_parse, data + 2, n, n, head, &memoed[0], &memo);
	run(rl_h1_parse, data + 2, n, cut, head, &memoed[1], &memo);
	for (int k = 0; k < 2; k++)
		if (fast[k].n != bytes[k].n || memcmp(fast[k].e, bytes[k].e, sizeof(struct event) * (size_t)fast[k].n) ||
		    memoed[k].n != bytes[k].n || memcmp(memoed[k].e, bytes[k].e, sizeof(struct event) * (size_t)bytes[k].n))
			abort();
	if (fast[0].n != fast[1].n || memcmp(fast[0].e, fast[1].e, sizeof(struct event) * (size_t)fast[0].n))
		abort();
	return 0;
}
