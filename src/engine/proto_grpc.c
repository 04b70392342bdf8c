/* Unary gRPC as a message layer over HTTP/2 (gRPC over HTTP/2, "Requests" and
 * "Responses"): the request is one length-prefixed message (encoded once, or per
 * stream with templates), the response's messages are deframed here, and the call's
 * status comes from grpc-status in the trailers. proto_h2.c does the streams. */
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "ringload/pbjson.h"

static int grpc_target_init(struct rl_target *t, const struct rl_request_spec *s, char *err, size_t errlen)
{
	if (s->data && rl_tpl_present(s->data, strlen(s->data)))
		return rl_grpc_request_compile(s->grpc_method, s->data, s->proto_file, s->protoset_file,
					       &t->grpc_schema, &t->grpc_dyn, err, errlen);
	return rl_grpc_request_message(s->grpc_method, s->data, s->proto_file, s->protoset_file,
				       &t->h2_body, &t->h2_body_len, err, errlen);
}

static const char *grpc_path(const struct rl_request_spec *s, struct rl_h2_nvbuf *b)
{
	char *path = b->p;
	b->p += sprintf(b->p, "/%s", s->grpc_method) + 1;
	return path;
}

/* grpc-timeout: at most 8 digits and a unit ("Timeout" in the wire spec) */
static void grpc_timeout(char *out, size_t n, uint64_t ns)
{
	static const struct { char unit; uint64_t ns; } units[] = {
		{ 'n', 1 }, { 'u', 1000 }, { 'm', 1000000 }, { 'S', 1000000000ULL },
		{ 'M', 60000000000ULL }, { 'H', 3600000000000ULL },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t v = (ns + units[i].ns - 1) / units[i].ns;
		if (v <= 99999999) {
			snprintf(out, n, "%llu%c", (unsigned long long)v, units[i].unit);
			return;
		}
	}
	snprintf(out, n, "99999999H");
}

static void grpc_add_headers(const struct rl_request_spec *s, struct rl_h2_nvbuf *b)
{
	rl_h2_nv_add(b, "content-type", "application/grpc", 16);
	rl_h2_nv_add(b, "te", "trailers", 8);
	char tmo[16];
	grpc_timeout(tmo, sizeof(tmo), s->timeout_ns);
	const char *v = rl_h2_nv_string(b, tmo);
	rl_h2_nv_add(b, "grpc-timeout", v, strlen(v));
}

static void grpc_stream_init(struct rl_worker *w, struct rl_req *r)
{
	r->grpc_status = -1;
	rl_grpc_deframer_init(&r->deframer, w->sh->plan->max_msg);
}

/* [prefix][message], then the templates' scratch */
static void grpc_render(struct rl_worker *w, const struct rl_target *t, struct rl_req *r, char *out)
{
	if (!t->grpc_dyn)
		return;
	size_t bound = rl_pb_request_bound(t->grpc_dyn);
	uint8_t *msg = (uint8_t *)out;
	long n = rl_pb_request_encode(t->grpc_dyn, &w->tpl, out + RL_GRPC_PREFIX + bound,
				      msg + RL_GRPC_PREFIX, bound);
	if (n < 0)
		n = 0; /* a rendering that fits no field (e.g. a negative uint): empty message */
	rl_grpc_frame_prefix(msg, (uint32_t)n);
	r->body = msg;
	r->body_len = RL_GRPC_PREFIX + (size_t)n;
}

static void grpc_on_header(struct rl_req *r, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen)
{
	if (nlen == 11 && !memcmp(name, "grpc-status", 11)) {
		int gs = rl_grpc_status_parse((const char *)value, vlen);
		r->grpc_status = (int8_t)(gs < 0 ? -2 : gs);
	} else if (nlen == 13 && !memcmp(name, "grpc-encoding", 13)) {
		r->deframer.compression_ok = !(vlen == 8 && !memcmp(value, "identity", 8));
	}
}

static int grpc_on_data(struct rl_req *r, const uint8_t *data, size_t len)
{
	return rl_grpc_deframe(&r->deframer, data, len);
}

/* A message over --max-msg is RESOURCE_EXHAUSTED, as gRPC libraries count it. Broken
 * framing, no or a bad grpc-status, a cut message, or an OK unary call without exactly
 * one message: malformed. */
static const char *grpc_verdict(struct rl_req *r, int *status)
{
	if (r->bad_frame == RL_GRPC_E_TOO_LARGE) {
		/* what gRPC libraries call a message over the receive limit */
		*status = RL_GRPC_RESOURCE_EXHAUSTED;
		r->payload = r->deframer.message_bytes;
		return NULL;
	}
	if (r->bad_frame)
		return rl_grpc_frame_strerror(r->bad_frame);
	if (r->grpc_status == -1)
		return "gRPC response without grpc-status";
	if (r->grpc_status == -2)
		return "grpc-status is not a status";
	if (!rl_grpc_deframer_idle(&r->deframer))
		return "gRPC message cut short";
	if (r->grpc_status == 0 && r->deframer.messages != 1)
		return "unary gRPC response without exactly one message";
	*status = r->grpc_status;
	r->payload = r->deframer.message_bytes;
	return NULL;
}

const struct rl_h2_messages rl_grpc_messages = {
	.target_init = grpc_target_init,
	.path = grpc_path,
	.add_headers = grpc_add_headers,
	.stream_init = grpc_stream_init,
	.render = grpc_render,
	.on_header = grpc_on_header,
	.on_data = grpc_on_data,
	.verdict = grpc_verdict,
	.deadline_status = RL_GRPC_DEADLINE_EXCEEDED,
};
