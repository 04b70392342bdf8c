/* Scenario files: see scenario.h. */
#include "ringload/scenario.h"
#include "ringload/units.h"
#include "common/file.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SCENARIO_BYTES (16u << 20)

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static int read_target(json_t *j, size_t idx, const struct rl_options *base,
		       struct rl_scenario_target *t, char *err, size_t errlen)
{
	static const char *const known[] = { "name", "url", "protocol", "method", "headers", "body", "grpc", "data",
					     "proto", "protoset", "weight", "expect_status", "expect_body", "requests",
					     "streams", "pipeline" };
	const char *key;
	json_t *v;
	if (!json_is_object(j))
		return bad(err, errlen, "targets[%zu]: expected an object", idx);
	json_object_foreach(j, key, v) {
		size_t k = 0;
		while (k < sizeof(known) / sizeof(known[0]) && strcmp(known[k], key))
			k++;
		if (k == sizeof(known) / sizeof(known[0]))
			return bad(err, errlen, "targets[%zu].%s: unknown field", idx, key);
	}
	rl_options_request_spec(base, &t->req);
	t->req.body = t->req.data = NULL; /* the command line's belong to it */
	t->req.has_body = false;
	t->req.body_len = 0;
	t->weight = 1;
	json_t *url = json_object_get(j, "url");
	if (!json_is_string(url))
		return bad(err, errlen, "targets[%zu].url: expected a string", idx);
	t->url = dup_str(json_string_value(url));
	json_t *name = json_object_get(j, "name");
	if (name && !json_is_string(name))
		return bad(err, errlen, "targets[%zu].name: expected a string", idx);
	t->name = dup_str(name ? json_string_value(name) : t->url);
	if (!t->url || !t->name)
		return bad(err, errlen, "out of memory");
	json_t *w = json_object_get(j, "weight");
	if (w && (!json_is_integer(w) || json_integer_value(w) < 1 || json_integer_value(w) > 1000))
		return bad(err, errlen, "targets[%zu].weight: expected an integer 1..1000", idx);
	if (w)
		t->weight = (unsigned)json_integer_value(w);
	json_t *proto = json_object_get(j, "protocol");
	const char *p = proto && json_is_string(proto) ? json_string_value(proto) : NULL;
	if (proto && (!p || (strcmp(p, "h1") && strcmp(p, "h2") && strcmp(p, "grpc"))))
		return bad(err, errlen, "targets[%zu].protocol: expected \"h1\", \"h2\" or \"grpc\"", idx);
	if (p)
		t->req.proto = !strcmp(p, "h1") ? RL_PROTO_H1 : !strcmp(p, "h2") ? RL_PROTO_H2 : RL_PROTO_GRPC;
	json_t *grpc = json_object_get(j, "grpc");
	if (grpc) {
		const char *m = json_is_string(grpc) ? json_string_value(grpc) : NULL;
		const char *slash = m ? strchr(m, '/') : NULL;
		if (!slash || slash == m || !slash[1] || strchr(slash + 1, '/'))
			return bad(err, errlen, "targets[%zu].grpc: expected \"package.Service/Method\"", idx);
		t->req.grpc_method = m;
		if (!p)
			t->req.proto = RL_PROTO_GRPC;
	}
	if (t->req.proto == RL_PROTO_GRPC && !t->req.grpc_method)
		return bad(err, errlen, "targets[%zu].grpc: a gRPC target names its method", idx);
	if (t->req.proto != RL_PROTO_GRPC)
		t->req.grpc_method = NULL;
	json_t *method = json_object_get(j, "method");
	if (method) {
		const char *m = json_is_string(method) ? json_string_value(method) : NULL;
		for (const char *c = m; c && *c; c++)
			if (*c < 'A' || *c > 'Z')
				m = NULL;
		if (!m || !*m || t->req.proto == RL_PROTO_GRPC)
			return bad(err, errlen, "targets[%zu].method: expected an upper-case method (not for gRPC)", idx);
		t->req.method = m;
	}
	/* in flight per connection, this target's own: for a fair REST-against-gRPC run */
	json_t *ms = json_object_get(j, "streams"), *pl = json_object_get(j, "pipeline");
	if (ms && (!json_is_integer(ms) || json_integer_value(ms) < 1 || json_integer_value(ms) > 100000))
		return bad(err, errlen, "targets[%zu].streams: expected 1..100000 (HTTP/2 and gRPC)", idx);
	if (pl && (!json_is_integer(pl) || json_integer_value(pl) < 1 || json_integer_value(pl) > 1024))
		return bad(err, errlen, "targets[%zu].pipeline: expected 1..1024 (HTTP/1.1)", idx);
	t->req.streams = ms ? (uint32_t)json_integer_value(ms) : 0;
	t->req.pipeline = pl ? (uint32_t)json_integer_value(pl) : 0;
	json_t *rq = json_object_get(j, "requests");
	if (rq && (!json_is_integer(rq) || json_integer_value(rq) < 1 || json_integer_value(rq) > (json_int_t)1e12))
		return bad(err, errlen, "targets[%zu].requests: expected a count of at least 1", idx);
	if (rq)
		t->req.requests = (uint64_t)json_integer_value(rq);
	/* checks: "expect_status": "200,2xx" (or [200, 201]), "expect_body": "[!]text" */
	json_t *es = json_object_get(j, "expect_status"), *eb = json_object_get(j, "expect_body");
	if (json_is_array(es)) {
		size_t k, off = 0;
		json_t *code;
		t->owned_expect = malloc(json_array_size(es) * 5 + 1);
		if (!t->owned_expect)
			return bad(err, errlen, "out of memory");
		t->owned_expect[0] = 0;
		json_array_foreach(es, k, code) {
			if (!json_is_integer(code) || json_integer_value(code) < 100 || json_integer_value(code) > 999)
				return bad(err, errlen, "targets[%zu].expect_status[%zu]: expected a status 100..999", idx, k);
			off += (size_t)sprintf(t->owned_expect + off, "%s%d", k ? "," : "", (int)json_integer_value(code));
		}
		t->req.expect_status = t->owned_expect;
	} else if (es) {
		if (!json_is_string(es))
			return bad(err, errlen, "targets[%zu].expect_status: expected \"200,2xx\" or [200, 201]", idx);
		t->req.expect_status = json_string_value(es);
	}
	if (eb) {
		if (!json_is_string(eb))
			return bad(err, errlen, "targets[%zu].expect_body: expected a string", idx);
		t->req.expect_body = json_string_value(eb);
	}
	json_t *headers = json_object_get(j, "headers");
	if (headers) {
		if (!json_is_object(headers))
			return bad(err, errlen, "targets[%zu].headers: expected an object of name: value", idx);
		json_t *hv;
		json_object_foreach(headers, key, hv) {
			if (!json_is_string(hv) || t->req.nheaders == RL_MAX_HEADERS)
				return bad(err, errlen, "targets[%zu].headers.%s: expected a string", idx, key);
			size_t n = strlen(key) + strlen(json_string_value(hv)) + 3;
			char *line = malloc(n);
			if (!line)
				return bad(err, errlen, "out of memory");
			snprintf(line, n, "%s: %s", key, json_string_value(hv));
			t->header_lines[t->nlines++] = line;
			if (rl_h1_header_parse(line, &t->req.headers[t->req.nheaders]))
				return bad(err, errlen, "targets[%zu].headers.%s: invalid header", idx, key);
			t->req.nheaders++;
		}
	}
	json_t *body = json_object_get(j, "body");
	if (body) {
		if (!json_is_string(body) || t->req.proto == RL_PROTO_GRPC)
			return bad(err, errlen, "targets[%zu].body: expected a string (gRPC uses data)", idx);
		t->req.body = t->owned_body = dup_str(json_string_value(body));
		if (!t->owned_body)
			return bad(err, errlen, "out of memory");
		t->req.body_len = strlen(t->req.body);
		t->req.has_body = true;
		if (!method)
			t->req.method = "POST";
	} else if (!method) {
		t->req.method = t->req.proto == RL_PROTO_GRPC ? "POST" : "GET";
	}
	json_t *data = json_object_get(j, "data");
	if (data) {
		if (t->req.proto != RL_PROTO_GRPC)
			return bad(err, errlen, "targets[%zu].data: only for gRPC targets", idx);
		t->req.data = t->owned_data = json_is_string(data) ? dup_str(json_string_value(data))
								   : json_dumps(data, JSON_COMPACT);
		if (!t->req.data)
			return bad(err, errlen, "targets[%zu].data: expected a JSON object or string", idx);
	}
	json_t *pf = json_object_get(j, "proto"), *ps = json_object_get(j, "protoset");
	if ((pf && !json_is_string(pf)) || (ps && !json_is_string(ps)))
		return bad(err, errlen, "targets[%zu].%s: expected a path", idx, pf ? "proto" : "protoset");
	if (pf)
		t->req.proto_file = json_string_value(pf);
	if (ps)
		t->req.protoset_file = json_string_value(ps);
	return 0;
}

static int read_groups(json_t *groups, struct rl_scenario *s, const struct rl_options *base,
		       char *err, size_t errlen)
{
	if (!json_is_array(groups) || json_array_size(groups) > 16)
		return bad(err, errlen, "groups: expected an array of at most 16 groups");
	s->groups = calloc(json_array_size(groups) + 1, sizeof(*s->groups));
	if (!s->groups)
		return bad(err, errlen, "out of memory");
	bool *used = calloc(s->ntargets, sizeof(*used));
	if (!used)
		return bad(err, errlen, "out of memory");
	size_t gi;
	json_t *g;
	int rc = 0;
	json_array_foreach(groups, gi, g) {
		struct rl_group_def *d = &s->groups[gi];
		s->ngroups = gi + 1;
		const char *key;
		json_t *v;
		if (!json_is_object(g)) {
			rc = bad(err, errlen, "groups[%zu]: expected an object", gi);
			break;
		}
		json_object_foreach(g, key, v) {
			if (strcmp(key, "name") && strcmp(key, "members") && strcmp(key, "concurrency") &&
			    strcmp(key, "timeout")) {
				rc = bad(err, errlen, "groups[%zu].%s: unknown field", gi, key);
				break;
			}
		}
		if (rc)
			break;
		json_t *name = json_object_get(g, "name"), *members = json_object_get(g, "members");
		json_t *conc = json_object_get(g, "concurrency"), *tmo = json_object_get(g, "timeout");
		if (!json_is_string(name)) {
			rc = bad(err, errlen, "groups[%zu].name: expected a string", gi);
			break;
		}
		d->name = dup_str(json_string_value(name));
		if (!json_is_array(members) || json_array_size(members) < 1 ||
		    json_array_size(members) > RL_MAX_GROUP_MEMBERS) {
			rc = bad(err, errlen, "groups[%zu].members: expected 1..%d target names", gi, RL_MAX_GROUP_MEMBERS);
			break;
		}
		size_t mi;
		json_t *m;
		json_array_foreach(members, mi, m) {
			size_t t = 0;
			while (json_is_string(m) && t < s->ntargets && strcmp(s->targets[t].name, json_string_value(m)))
				t++;
			if (!json_is_string(m) || t == s->ntargets) {
				rc = bad(err, errlen, "groups[%zu].members[%zu]: no target of that name", gi, mi);
				break;
			}
			if (used[t]) {
				rc = bad(err, errlen, "groups[%zu].members[%zu]: target '%s' is in a group already", gi, mi,
					 s->targets[t].name);
				break;
			}
			used[t] = true;
			d->members[d->nmembers++] = (uint32_t)t;
		}
		if (rc)
			break;
		d->concurrency = 1;
		if (conc && (!json_is_integer(conc) || json_integer_value(conc) < 1 || json_integer_value(conc) > 10000)) {
			rc = bad(err, errlen, "groups[%zu].concurrency: expected an integer 1..10000", gi);
			break;
		}
		if (conc)
			d->concurrency = (uint32_t)json_integer_value(conc);
		d->timeout_ns = 30ULL * 1000000000;
		if (tmo && (!json_is_string(tmo) || rl_parse_duration_ns(json_string_value(tmo), &d->timeout_ns) ||
			    !d->timeout_ns)) {
			rc = bad(err, errlen, "groups[%zu].timeout: expected a duration like \"30s\"", gi);
			break;
		}
	}
	free(used);
	(void)base;
	return rc;
}

int rl_scenario_load(const char *path, const struct rl_options *base, struct rl_scenario *s,
		     char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	char *text;
	size_t len;
	int frc = rl_read_file(path, MAX_SCENARIO_BYTES, &text, &len);
	if (frc)
		return bad(err, errlen, "cannot open scenario file '%s': %s", path,
			   frc == -EINVAL ? "not a regular file" : frc == -EFBIG ? "larger than 16 MiB" : strerror(-frc));
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root)
		return bad(err, errlen, "--scenario %s: line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
	/* the strings the targets borrow live as long as the scenario: keep the document */
	int rc = -1;
	json_t *targets = json_object_get(root, "targets");
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "targets") && strcmp(key, "groups")) {
			bad(err, errlen, "--scenario %s: %s: unknown field", path, key);
			goto out;
		}
	}
	if (!json_is_array(targets) || !json_array_size(targets) || json_array_size(targets) > RL_MAX_TARGETS) {
		bad(err, errlen, "--scenario %s: targets: expected an array of 1..%d targets", path, RL_MAX_TARGETS);
		goto out;
	}
	s->targets = calloc(json_array_size(targets), sizeof(*s->targets));
	if (!s->targets) {
		bad(err, errlen, "out of memory");
		goto out;
	}
	size_t i;
	json_array_foreach(targets, i, v) {
		s->ntargets = i + 1;
		char why[400];
		if (read_target(v, i, base, &s->targets[i], why, sizeof(why))) {
			bad(err, errlen, "--scenario %s: %s", path, why);
			goto out;
		}
	}
	json_t *groups = json_object_get(root, "groups");
	if (groups) {
		char why[400];
		if (read_groups(groups, s, base, why, sizeof(why))) {
			bad(err, errlen, "--scenario %s: %s", path, why);
			goto out;
		}
	}
	s->root = root;
	return 0;
out:
	rl_scenario_free(s);
	json_decref(root);
	return rc;
}

void rl_scenario_free(struct rl_scenario *s)
{
	for (size_t i = 0; i < s->ntargets; i++) {
		struct rl_scenario_target *t = &s->targets[i];
		free(t->name);
		free(t->url);
		free(t->owned_body);
		free(t->owned_data);
		free(t->owned_expect);
		for (size_t h = 0; h < t->nlines; h++)
			free(t->header_lines[h]);
	}
	free(s->targets);
	for (size_t i = 0; i < s->ngroups; i++)
		free(s->groups[i].name);
	free(s->groups);
	json_decref(s->root);
	memset(s, 0, sizeof(*s));
}
