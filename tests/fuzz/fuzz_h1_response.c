/* libFuzzer: the HTTP/1.1 response parser. The first byte picks HEAD or not and a
 * piece size; the rest is a stream of responses, parsed whole and in pieces. Both must
 * give the same events (the parser is byte-wise: any split parses the same), and no
 * call may claim more bytes than it was given. */
#include <stdbool.h>
#include <stdlib.h>

#include "ringload/h1.h"

#define MAX_EVENTS 64

struct events {
	int n;
	int code[MAX_EVENTS];
	uint64_t body[MAX_EVENTS];
};

static void add(struct events *e, int code, uint64_t body)
{
	if (e->n < MAX_EVENTS) {
		e->code[e->n] = code;
		e->body[e->n++] = body;
	}
}

static void run(const uint8_t *d, size_t n, size_t step, bool head, struct events *e)
{
	struct rl_h1_parser p;
	rl_h1_parser_init(&p, head);
	for (size_t off = 0; off < n;) {
		size_t len = n - off < step ? n - off : step, pos = 0;
		while (pos < len) {
			size_t consumed = 0;
			int rc = rl_h1_parse(&p, d + off + pos, len - pos, &consumed);
			if (consumed > len - pos)
				abort();
			pos += consumed;
			if (rc < 0) {
				add(e, rc, 0);
				return;
			}
			if (rc == RL_H1_AGAIN) {
				if (pos != len)
					abort(); /* AGAIN means every byte was taken */
				break;
			}
			add(e, 1000 + p.status, p.body_bytes);
			if (!p.keep_alive || e->n == MAX_EVENTS)
				return; /* the client closes here */
			rl_h1_parser_reset(&p, head);
		}
		off += len;
	}
	int rc = rl_h1_finish(&p);
	add(e, rc == RL_H1_DONE ? 2000 + p.status : rc, rc == RL_H1_DONE ? p.body_bytes : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool head = data[0] & 1;
	size_t step = (data[0] >> 1) % 17 + 1;
	struct events whole = { 0 }, pieces = { 0 };
	run(data + 1, size - 1, size, head, &whole);
	run(data + 1, size - 1, step, head, &pieces);
	if (whole.n != pieces.n)
		abort();
	for (int i = 0; i < whole.n; i++)
		if (whole.code[i] != pieces.code[i] || whole.body[i] != pieces.body[i])
			abort();
	return 0;
}
