/* JSON → protobuf through descriptors: see pbjson.h. The descriptors themselves are
 * read with protoc-c's code for google/protobuf/descriptor.proto. Fields are written in
 * field-number order, as protoc writes them, so the bytes match `protoc --encode`. */
#include "ringload/pbjson.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "ringload/template.h"

typedef Google__Protobuf__DescriptorProto MsgDesc;
typedef Google__Protobuf__FieldDescriptorProto FieldDesc;
typedef Google__Protobuf__EnumDescriptorProto EnumDesc;

struct named_msg {
	char *name;
	const MsgDesc *d;
	const FieldDesc **sorted; /* its fields in number order: protoc's wire order */
};
struct named_enum { char *name; const EnumDesc *d; };

struct rl_pb_schema {
	Google__Protobuf__FileDescriptorSet *set;
	struct named_msg *msgs;
	size_t nmsgs;
	struct named_enum *enums;
	size_t nenums;
};

/* Where encoded bytes go: a growing buffer (setup), a fixed one (per request: never
 * allocates, -1 past its end), or nowhere (count only: a nested message's length). */
struct buf {
	uint8_t *p;
	size_t len, cap;
	bool fixed, count;
};

/* A field path, built on the stack as the encoder descends and formatted only when an
 * error needs it ("user.tags[2]"). */
struct path {
	const struct path *up;
	char kind;         /* 'f' field name, 'k' map key, 'i' array index */
	const char *name;
	long index;
};

/* A string value holding templates: compiled once, rendered once per request before
 * encoding (the counting and the writing pass must see the same text). */
struct tpl_node {
	json_t *node;
	struct rl_tpl tpl;
	char *text;        /* this request's rendering (in the caller's scratch) */
	size_t len;
};

struct enc {
	const struct rl_pb_schema *s;
	char *err;
	size_t errlen;
	int failed;
	struct tpl_node *tpls;
	size_t ntpls;
};

static size_t path_format(const struct path *p, char *out, size_t n)
{
	if (n)
		out[0] = 0;
	if (!p || !n)
		return 0;
	size_t o = path_format(p->up, out, n);
	if (o >= n)
		return o;
	int k = p->kind == 'f' ? snprintf(out + o, n - o, "%s%s", o ? "." : "", p->name)
		: p->kind == 'k' ? snprintf(out + o, n - o, "[%s]", p->name)
		: snprintf(out + o, n - o, "[%ld]", p->index);
	return o + (k > 0 ? (size_t)k : 0);
}

static int fail(struct enc *e, const char *fmt, ...)
{
	if (!e->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->err, e->errlen, fmt, ap);
		va_end(ap);
	}
	e->failed = 1;
	return -1;
}

/* ---- schema ---- */

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *r = malloc(la + lb + 2);
	if (!r)
		return NULL;
	memcpy(r, a, la);
	r[la] = la ? '.' : 0;
	memcpy(r + la + (la ? 1 : 0), b, lb + 1);
	return r;
}

static int add_enum(struct rl_pb_schema *s, const char *scope, const EnumDesc *d)
{
	struct named_enum *n = realloc(s->enums, (s->nenums + 1) * sizeof(*n));
	if (!n)
		return -1;
	s->enums = n;
	s->enums[s->nenums].d = d;
	if (!(s->enums[s->nenums].name = join(scope, d->name)))
		return -1;
	s->nenums++;
	return 0;
}

static int cmp_number(const void *a, const void *b)
{
	const FieldDesc *x = *(const FieldDesc *const *)a, *y = *(const FieldDesc *const *)b;
	return (x->number > y->number) - (x->number < y->number);
}

static int add_msg(struct rl_pb_schema *s, const char *scope, const MsgDesc *d)
{
	struct named_msg *n = realloc(s->msgs, (s->nmsgs + 1) * sizeof(*n));
	if (!n)
		return -1;
	s->msgs = n;
	char *name = join(scope, d->name);
	if (!name)
		return -1;
	s->msgs[s->nmsgs].name = name;
	s->msgs[s->nmsgs].d = d;
	const FieldDesc **sorted = malloc((d->n_field + 1) * sizeof(*sorted));
	if (!sorted)
		return -1;
	memcpy(sorted, d->field, d->n_field * sizeof(*sorted));
	qsort(sorted, d->n_field, sizeof(*sorted), cmp_number);
	s->msgs[s->nmsgs].sorted = sorted;
	s->nmsgs++;
	for (size_t i = 0; i < d->n_nested_type; i++)
		if (add_msg(s, name, d->nested_type[i]))
			return -1;
	for (size_t i = 0; i < d->n_enum_type; i++)
		if (add_enum(s, name, d->enum_type[i]))
			return -1;
	return 0;
}

int rl_pb_schema_load(const uint8_t *buf, size_t len, struct rl_pb_schema **out, char *err,
		      size_t errlen)
{
	struct rl_pb_schema *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->set = google__protobuf__file_descriptor_set__unpack(NULL, len, buf);
	if (!s->set) {
		free(s);
		snprintf(err, errlen, "not a FileDescriptorSet (make one with protoc -o)");
		return -1;
	}
	for (size_t f = 0; f < s->set->n_file; f++) {
		const Google__Protobuf__FileDescriptorProto *fd = s->set->file[f];
		const char *pkg = fd->package ? fd->package : "";
		for (size_t i = 0; i < fd->n_message_type; i++)
			if (add_msg(s, pkg, fd->message_type[i]))
				goto oom;
		for (size_t i = 0; i < fd->n_enum_type; i++)
			if (add_enum(s, pkg, fd->enum_type[i]))
				goto oom;
	}
	*out = s;
	return 0;
oom:
	rl_pb_schema_free(s);
	snprintf(err, errlen, "out of memory");
	return -1;
}

void rl_pb_schema_free(struct rl_pb_schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmsgs; i++) {
		free(s->msgs[i].name);
		free((void *)s->msgs[i].sorted);
	}
	for (size_t i = 0; i < s->nenums; i++)
		free(s->enums[i].name);
	free(s->msgs);
	free(s->enums);
	google__protobuf__file_descriptor_set__free_unpacked(s->set, NULL);
	free(s);
}

int rl_pb_schema_compile(const char *proto_path, struct rl_pb_schema **out, char *err, size_t errlen)
{
	char dir[4096], tmpl[] = "/tmp/ringload-protoset.XXXXXX", inc1[4200];
	snprintf(dir, sizeof(dir), "%s", proto_path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof(dir), ".");
	snprintf(inc1, sizeof(inc1), "--proto_path=%s", dir);
	int fd = mkstemp(tmpl);
	if (fd < 0) {
		snprintf(err, errlen, "--proto: cannot make a temporary file: %s", strerror(errno));
		return -1;
	}
	close(fd);
	char outarg[64];
	snprintf(outarg, sizeof(outarg), "-o%s", tmpl);
	char errpath[] = "/tmp/ringload-protoc-err.XXXXXX";
	int efd = mkstemp(errpath);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (efd >= 0)
		posix_spawn_file_actions_adddup2(&fa, efd, 2);
	char *argv[] = { "protoc", "--include_imports", inc1, "--proto_path=/usr/include", outarg,
			 (char *)proto_path, NULL };
	pid_t pid;
	extern char **environ;
	int rc = posix_spawnp(&pid, "protoc", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	int status = 0;
	if (rc == 0)
		waitpid(pid, &status, 0);
	char msg[512] = "";
	if (efd >= 0) {
		ssize_t n = pread(efd, msg, sizeof(msg) - 1, 0);
		msg[n > 0 ? n : 0] = 0;
		msg[strcspn(msg, "\n")] = 0;
		close(efd);
		unlink(errpath);
	}
	if (rc) {
		unlink(tmpl);
		snprintf(err, errlen, "--proto needs protoc (Debian package protobuf-compiler): %s", strerror(rc));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		unlink(tmpl);
		snprintf(err, errlen, "--proto: protoc rejected '%s': %s", proto_path, msg);
		return -1;
	}
	FILE *f = fopen(tmpl, "rb");
	struct stat st;
	uint8_t *data = NULL;
	if (f && !fstat(fileno(f), &st) && (data = malloc((size_t)st.st_size + 1)) &&
	    fread(data, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
		fclose(f);
		unlink(tmpl);
		rc = rl_pb_schema_load(data, (size_t)st.st_size, out, err, errlen);
		free(data);
		return rc;
	}
	if (f)
		fclose(f);
	free(data);
	unlink(tmpl);
	snprintf(err, errlen, "--proto: cannot read protoc's output");
	return -1;
}

static const MsgDesc *find_msg(const struct rl_pb_schema *s, const char *name)
{
	if (name[0] == '.')
		name++;
	for (size_t i = 0; i < s->nmsgs; i++)
		if (!strcmp(s->msgs[i].name, name))
			return s->msgs[i].d;
	return NULL;
}

static const EnumDesc *find_enum(const struct rl_pb_schema *s, const char *name)
{
	if (name[0] == '.')
		name++;
	for (size_t i = 0; i < s->nenums; i++)
		if (!strcmp(s->enums[i].name, name))
			return s->enums[i].d;
	return NULL;
}

const char *rl_pb_method_input(const struct rl_pb_schema *s, const char *method, char *err,
			       size_t errlen)
{
	const char *slash = strchr(method, '/');
	size_t svc_len = (size_t)(slash - method);
	for (size_t f = 0; f < s->set->n_file; f++) {
		const Google__Protobuf__FileDescriptorProto *fd = s->set->file[f];
		for (size_t i = 0; i < fd->n_service; i++) {
			char *full = join(fd->package ? fd->package : "", fd->service[i]->name);
			bool match = full && strlen(full) == svc_len && !strncmp(full, method, svc_len);
			free(full);
			if (!match)
				continue;
			for (size_t m = 0; m < fd->service[i]->n_method; m++) {
				const Google__Protobuf__MethodDescriptorProto *md = fd->service[i]->method[m];
				if (strcmp(md->name, slash + 1))
					continue;
				if (md->client_streaming || md->server_streaming) {
					snprintf(err, errlen, "--grpc %s: streaming methods are not supported (unary only)", method);
					return NULL;
				}
				const char *in = md->input_type;
				return in[0] == '.' ? in + 1 : in;
			}
		}
	}
	snprintf(err, errlen, "--grpc: no method '%s' in the given descriptors", method);
	return NULL;
}

/* ---- wire format ---- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static int put(struct buf *b, const void *d, size_t n)
{
	if (b->count) {
		b->len += n;
		return 0;
	}
	if (b->len + n > b->cap && b->fixed)
		return -1;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

static int put_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	return put(b, tmp, n);
}

static int put_tag(struct buf *b, int number, int wt)
{
	return put_varint(b, (uint64_t)number << 3 | (uint64_t)wt);
}

static int put_fixed(struct buf *b, uint64_t v, int bytes)
{
	uint8_t tmp[8];
	for (int i = 0; i < bytes; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	return put(b, tmp, (size_t)bytes);
}


static int wire_type(Google__Protobuf__FieldDescriptorProto__Type t)
{
	switch (t) {
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64: return WT_I64;
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32: return WT_I32;
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP: return WT_LEN;
	default: return WT_VARINT;
	}
}

/* ---- JSON values ---- */

/* A value to encode: a JSON node, and its text when it is a string (a template's
 * rendering replaces the node's own text). */
struct val {
	json_t *j;
	const char *str;   /* NULL unless a string */
	size_t len;
};

static struct val value_of(const struct enc *e, json_t *j)
{
	struct val v = { j, NULL, 0 };
	if (json_is_string(j)) {
		v.str = json_string_value(j);
		v.len = json_string_length(j);
		for (size_t i = 0; i < e->ntpls; i++) {
			if (e->tpls[i].node == j) {
				v.str = e->tpls[i].text;
				v.len = e->tpls[i].len;
				break;
			}
		}
	}
	return v;
}

static int text_i64(const char *s, size_t len, int64_t *out)
{
	char buf[32];
	if (!len || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	char *end;
	errno = 0;
	long long n = strtoll(buf, &end, 10);
	if (*end || errno)
		return -1;
	*out = n;
	return 0;
}

int rl_pb_json_int64(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d != floor(d) || fabs(d) > 9.2e18)
			return -1;
		*out = (int64_t)d;
		return 0;
	}
	if (json_is_string(v))
		return text_i64(json_string_value(v), json_string_length(v), out);
	return -1;
}

static int val_i64(const struct val *v, int64_t *out)
{
	return v->str ? text_i64(v->str, v->len, out) : rl_pb_json_int64(v->j, out);
}

static int val_u64(const struct val *v, uint64_t *out)
{
	if (v->str) {
		char buf[32];
		if (!v->len || v->len >= sizeof(buf) || v->str[0] == '-')
			return -1;
		memcpy(buf, v->str, v->len);
		buf[v->len] = 0;
		char *end;
		errno = 0;
		unsigned long long n = strtoull(buf, &end, 10);
		if (*end || errno)
			return -1;
		*out = n;
		return 0;
	}
	int64_t i;
	if (rl_pb_json_int64(v->j, &i) || i < 0)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

static int val_double(const struct val *v, double *out)
{
	if (!v->str) {
		if (!json_is_number(v->j))
			return -1;
		*out = json_number_value(v->j);
		return 0;
	}
	if (v->len == 3 && !memcmp(v->str, "NaN", 3))
		*out = NAN;
	else if (v->len == 8 && !memcmp(v->str, "Infinity", 8))
		*out = INFINITY;
	else if (v->len == 9 && !memcmp(v->str, "-Infinity", 9))
		*out = -INFINITY;
	else
		return -1;
	return 0;
}

static int b64_digit(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* standard or URL-safe base64, padding optional (proto3 JSON accepts both) */
static int base64_decode(const char *s, size_t len, struct buf *b)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i = 0;
	for (; i < len && s[i] != '='; i++) {
		int d = b64_digit(s[i]);
		if (d < 0)
			return -1;
		acc = acc << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			uint8_t byte = (uint8_t)(acc >> bits);
			if (put(b, &byte, 1))
				return -1;
		}
	}
	while (i < len && s[i] == '=')
		i++;
	return i < len ? -1 : 0;
}

static int fail_at(struct enc *e, const struct path *p, const char *what)
{
	char path[512];
	path_format(p, path, sizeof(path));
	return fail(e, "--data: field '%s' %s", path, what);
}

static int encode_message(struct enc *e, const MsgDesc *m, const char *mname, json_t *obj,
			  struct buf *b, const struct path *p);

/* A length-delimited value: its length (a counting pass), then the value itself. CALL
 * writes to BUF, which is first a counter, then b. */
#define PUT_NESTED(b, CALL) ({                                                          \
		struct buf cnt_ = { .count = true };                                    \
		struct buf *BUF = &cnt_;                                                 \
		int rc_ = (CALL);                                                        \
		if (!rc_)                                                                \
			rc_ = put_varint((b), cnt_.len);                                 \
		if (!rc_) {                                                              \
			BUF = (b);                                                       \
			rc_ = (CALL);                                                    \
		}                                                                        \
		rc_; })

/* One value of a field, without its tag (the caller writes tags: packing differs). */
static int encode_value(struct enc *e, const FieldDesc *f, struct val v, struct buf *b, const struct path *p)
{
	int64_t i;
	uint64_t u;
	double d;
	switch (f->type) {
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64:
		if (val_i64(&v, &i))
			return fail_at(e, p, "expects an int64 (number or string)");
		return put_varint(b, (uint64_t)i);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32:
		if (val_i64(&v, &i) || i < INT32_MIN || i > INT32_MAX)
			return fail_at(e, p, "expects an int32");
		return put_varint(b, (uint64_t)i); /* negative: sign-extended to 10 bytes */
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT64:
		if (val_u64(&v, &u))
			return fail_at(e, p, "expects a uint64 (number or string)");
		return put_varint(b, u);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT32:
		if (val_u64(&v, &u) || u > UINT32_MAX)
			return fail_at(e, p, "expects a uint32");
		return put_varint(b, u);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT32:
		if (val_i64(&v, &i) || i < INT32_MIN || i > INT32_MAX)
			return fail_at(e, p, "expects an int32");
		return put_varint(b, ((uint32_t)i << 1) ^ (uint32_t)((int32_t)i >> 31)); /* zigzag */
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64:
		if (val_i64(&v, &i))
			return fail_at(e, p, "expects an int64 (number or string)");
		return put_varint(b, ((uint64_t)i << 1) ^ (uint64_t)(i >> 63));
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64:
		if (val_u64(&v, &u))
			return fail_at(e, p, "expects a uint64 (number or string)");
		return put_fixed(b, u, 8);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64:
		if (val_i64(&v, &i))
			return fail_at(e, p, "expects an int64 (number or string)");
		return put_fixed(b, (uint64_t)i, 8);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32:
		if (val_u64(&v, &u) || u > UINT32_MAX)
			return fail_at(e, p, "expects a uint32");
		return put_fixed(b, u, 4);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32:
		if (val_i64(&v, &i) || i < INT32_MIN || i > INT32_MAX)
			return fail_at(e, p, "expects an int32");
		return put_fixed(b, (uint32_t)(int32_t)i, 4);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL:
		if (!json_is_boolean(v.j))
			return fail_at(e, p, "expects true or false");
		return put_varint(b, json_is_true(v.j));
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE: {
		if (val_double(&v, &d))
			return fail_at(e, p, "expects a number");
		uint64_t bits;
		memcpy(&bits, &d, 8);
		return put_fixed(b, bits, 8);
	}
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT: {
		if (val_double(&v, &d))
			return fail_at(e, p, "expects a number");
		float fl = (float)d;
		uint32_t bits;
		memcpy(&bits, &fl, 4);
		return put_fixed(b, bits, 4);
	}
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING:
		if (!v.str)
			return fail_at(e, p, "expects a string");
		return put_varint(b, v.len) || put(b, v.str, v.len) ? -1 : 0;
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES:
		if (!v.str)
			return fail_at(e, p, "expects base64 bytes");
		if (PUT_NESTED(b, base64_decode(v.str, v.len, BUF)))
			return e->failed ? -1 : fail_at(e, p, "expects base64 bytes");
		return 0;
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM: {
		if (v.str) {
			const EnumDesc *ed = find_enum(e->s, f->type_name);
			for (size_t k = 0; ed && k < ed->n_value; k++)
				if (strlen(ed->value[k]->name) == v.len && !memcmp(ed->value[k]->name, v.str, v.len))
					return put_varint(b, (uint64_t)(int64_t)ed->value[k]->number);
			char what[256];
			snprintf(what, sizeof(what), "has no value '%.*s' in enum %s", (int)(v.len < 64 ? v.len : 64),
				 v.str, f->type_name + 1);
			return fail_at(e, p, what);
		}
		if (val_i64(&v, &i) || i < INT32_MIN || i > INT32_MAX)
			return fail_at(e, p, "expects an enum name or number");
		return put_varint(b, (uint64_t)i);
	}
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE: {
		const MsgDesc *md = find_msg(e->s, f->type_name);
		if (!md)
			return fail_at(e, p, "has a type that is not in the descriptors");
		return PUT_NESTED(b, encode_message(e, md, f->type_name + 1, v.j, BUF, p));
	}
	default:
		return fail_at(e, p, "is a group: groups are not supported");
	}
}

static bool is_packable(const FieldDesc *f)
{
	return wire_type(f->type) != WT_LEN;
}

static bool packed(const Google__Protobuf__FileDescriptorProto *file, const FieldDesc *f)
{
	if (f->options && f->options->has_packed)
		return f->options->packed;
	/* proto3 packs repeated scalars by default; proto2 does not */
	return !file || (file->syntax && !strcmp(file->syntax, "proto3"));
}

static const MsgDesc *map_entry(struct enc *e, const FieldDesc *f)
{
	if (f->type != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE)
		return NULL;
	const MsgDesc *md = find_msg(e->s, f->type_name);
	return md && md->options && md->options->has_map_entry && md->options->map_entry ? md : NULL;
}

static const Google__Protobuf__FileDescriptorProto *file_of(const struct rl_pb_schema *s, const char *mname)
{
	for (size_t i = 0; i < s->set->n_file; i++) {
		const char *pkg = s->set->file[i]->package ? s->set->file[i]->package : "";
		size_t n = strlen(pkg);
		if (!strncmp(mname, pkg, n) && (!n || mname[n] == '.'))
			return s->set->file[i];
	}
	return NULL;
}

static int encode_entry(struct enc *e, const FieldDesc *kf, const FieldDesc *vf, struct val key,
			json_t *val, struct buf *b, const struct path *p)
{
	return put_tag(b, 1, wire_type(kf->type)) || encode_value(e, kf, key, b, p) ||
	       put_tag(b, 2, wire_type(vf->type)) || encode_value(e, vf, value_of(e, val), b, p) ? -1 : 0;
}

static int encode_map(struct enc *e, const FieldDesc *f, const MsgDesc *entry, json_t *v,
		      struct buf *b, const struct path *p)
{
	if (!json_is_object(v))
		return fail_at(e, p, "is a map: expects an object");
	const FieldDesc *kf = NULL, *vf = NULL;
	for (size_t i = 0; i < entry->n_field; i++) {
		if (entry->field[i]->number == 1)
			kf = entry->field[i];
		else if (entry->field[i]->number == 2)
			vf = entry->field[i];
	}
	if (!kf || !vf)
		return fail_at(e, p, "has a malformed map entry type");
	const char *key;
	json_t *val;
	json_object_foreach(v, key, val) {
		struct path kp = { p, 'k', key, 0 };
		struct val k = { NULL, key, strlen(key) }; /* integer keys parse from the text */
		if (kf->type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL) {
			if (strcmp(key, "true") && strcmp(key, "false"))
				return fail_at(e, &kp, "is a map key that must be true or false");
			k = (struct val){ !strcmp(key, "true") ? json_true() : json_false(), NULL, 0 };
		}
		if (put_tag(b, f->number, WT_LEN) || PUT_NESTED(b, encode_entry(e, kf, vf, k, val, BUF, &kp)))
			return e->failed ? -1 : fail_at(e, &kp, "cannot be encoded");
	}
	return 0;
}

static json_t *field_value(json_t *obj, const FieldDesc *f)
{
	json_t *v = json_object_get(obj, f->name);
	if (!v && f->json_name)
		v = json_object_get(obj, f->json_name);
	return v;
}

static int encode_packed(struct enc *e, const FieldDesc *f, json_t *arr, struct buf *b, const struct path *p)
{
	size_t k;
	json_t *item;
	json_array_foreach(arr, k, item) {
		struct path ip = { p, 'i', NULL, (long)k };
		if (encode_value(e, f, value_of(e, item), b, &ip))
			return -1;
	}
	return 0;
}

static int encode_message(struct enc *e, const MsgDesc *m, const char *mname, json_t *obj,
			  struct buf *b, const struct path *p)
{
	if (!json_is_object(obj)) {
		if (p)
			return fail_at(e, p, "expects a JSON object");
		return fail(e, "--data: message %s expects a JSON object", mname);
	}
	const struct named_msg *nm = NULL;
	for (size_t i = 0; i < e->s->nmsgs && !nm; i++)
		if (e->s->msgs[i].d == m)
			nm = &e->s->msgs[i];
	if (!b->fixed && !b->count) {
		/* the set-up pass checks the keys; a request's encoding trusts it */
		const char *key;
		json_t *v;
		json_object_foreach(obj, key, v) {
			bool known = false;
			for (size_t i = 0; i < m->n_field && !known; i++)
				known = !strcmp(m->field[i]->name, key) ||
					(m->field[i]->json_name && !strcmp(m->field[i]->json_name, key));
			if (!known) {
				char path[512];
				path_format(p, path, sizeof(path));
				return fail(e, "--data: unknown field '%s%s%s' in %s", path, *path ? "." : "", key, mname);
			}
		}
	}
	const Google__Protobuf__FileDescriptorProto *file = file_of(e->s, mname);
	for (size_t i = 0; i < m->n_field; i++) {
		const FieldDesc *f = nm ? nm->sorted[i] : m->field[i];
		json_t *v = field_value(obj, f);
		if (!v || json_is_null(v))
			continue;
		struct path fp = { p, 'f', f->name, 0 };
		int rc;
		if (f->label != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED) {
			rc = put_tag(b, f->number, wire_type(f->type)) || encode_value(e, f, value_of(e, v), b, &fp);
		} else if (map_entry(e, f)) {
			rc = encode_map(e, f, map_entry(e, f), v, b, &fp);
		} else if (!json_is_array(v)) {
			rc = fail_at(e, &fp, "is repeated: expects an array");
		} else if (is_packable(f) && packed(file, f)) {
			rc = json_array_size(v) && (put_tag(b, f->number, WT_LEN) ||
						    PUT_NESTED(b, encode_packed(e, f, v, BUF, &fp)));
		} else {
			size_t k;
			json_t *item;
			rc = 0;
			json_array_foreach(v, k, item) {
				struct path ip = { &fp, 'i', NULL, (long)k };
				if ((rc = put_tag(b, f->number, wire_type(f->type)) ||
					  encode_value(e, f, value_of(e, item), b, &ip)))
					break;
			}
		}
		if (rc)
			return -1;
	}
	return 0;
}

/* ---- messages encoded per request ---- */

struct rl_pb_request {
	const struct rl_pb_schema *s;
	const MsgDesc *m;
	char *type;
	json_t *root;
	struct tpl_node *tpls;
	size_t ntpls;
	size_t scratch, bound;
};

/* Templates may stand where a JSON value does ({"id": {{randint 1 9}}}): quote them so
 * the text parses; the encoder turns the rendered digits back into numbers. */
static char *quote_bare_templates(const char *json)
{
	size_t n = strlen(json);
	char *out = malloc(2 * n + 1), *o = out;
	if (!out)
		return NULL;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		char c = json[i];
		if (in_str) {
			*o++ = c;
			if (c == '\\' && i + 1 < n)
				*o++ = json[++i];
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' && json[i + 1] == '{') {
			const char *close = strstr(json + i, "}}");
			if (close) {
				size_t len = (size_t)(close + 2 - (json + i));
				*o++ = '"';
				memcpy(o, json + i, len);
				o += len;
				*o++ = '"';
				i += len - 1;
				continue;
			}
		}
		*o++ = c;
	}
	*o = 0;
	return out;
}

static int collect_templates(struct rl_pb_request *r, json_t *j, char *err, size_t errlen)
{
	if (json_is_object(j)) {
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v)
			if (collect_templates(r, v, err, errlen))
				return -1;
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
			if (collect_templates(r, v, err, errlen))
				return -1;
	} else if (json_is_string(j) && rl_tpl_present(json_string_value(j), json_string_length(j))) {
		struct tpl_node *t = realloc(r->tpls, (r->ntpls + 1) * sizeof(*t));
		if (!t) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		r->tpls = t;
		t = &r->tpls[r->ntpls];
		memset(t, 0, sizeof(*t));
		t->node = j;
		char why[200];
		if (rl_tpl_compile(json_string_value(j), json_string_length(j), &t->tpl, why, sizeof(why))) {
			snprintf(err, errlen, "--data: in \"%s\": %s", json_string_value(j), why);
			return -1;
		}
		r->ntpls++;
		r->scratch += t->tpl.max_len + 1;
	}
	return 0;
}

static void render_templates(const struct rl_pb_request *r, struct rl_tpl_state *st, char *scratch)
{
	for (size_t i = 0; i < r->ntpls; i++) {
		struct tpl_node *t = &r->tpls[i];
		t->text = scratch;
		t->len = rl_tpl_render(&t->tpl, st, scratch);
		scratch[t->len] = 0;
		scratch += t->tpl.max_len + 1;
	}
}

int rl_pb_request_compile(const struct rl_pb_schema *s, const char *type, const char *json,
			  struct rl_pb_request **out, char *err, size_t errlen)
{
	struct rl_pb_request *r = calloc(1, sizeof(*r));
	char *text = json ? quote_bare_templates(json) : NULL;
	if (!r || (json && !text)) {
		free(r);
		free(text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->s = s;
	r->m = find_msg(s, type);
	r->type = malloc(strlen(type) + 1);
	if (r->type)
		strcpy(r->type, type);
	if (!r->m) {
		snprintf(err, errlen, "--grpc: message type %s is not in the descriptors", type);
		goto fail;
	}
	json_error_t jerr;
	r->root = text ? json_loads(text, JSON_REJECT_DUPLICATES, &jerr) : json_object();
	if (!r->root) {
		snprintf(err, errlen, "--data: invalid JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		goto fail;
	}
	if (collect_templates(r, r->root, err, errlen))
		goto fail;
	/* protobuf is at most ~4x its JSON text (a 2-character "-1" is a 10-byte varint) */
	r->bound = 4 * ((text ? strlen(text) : 0) + r->scratch) + 64;
	free(text);
	text = NULL;
	/* the set-up pass: checks every field once, with the templates rendered */
	char *scratch = malloc(r->scratch + 1);
	struct rl_tpl_state st;
	rl_tpl_state_init(&st, 1, 0, 1);
	if (!scratch) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	render_templates(r, &st, scratch);
	struct enc e = { s, err, errlen, 0, r->tpls, r->ntpls };
	struct buf b = { 0 };
	int rc = encode_message(&e, r->m, r->type, r->root, &b, NULL);
	free(b.p);
	free(scratch);
	if (rc || e.failed) {
		if (!e.failed)
			snprintf(err, errlen, "--data: cannot encode %s", type);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	free(text);
	rl_pb_request_free(r);
	return -1;
}

bool rl_pb_request_dynamic(const struct rl_pb_request *r)
{
	return r->ntpls > 0;
}

size_t rl_pb_request_bound(const struct rl_pb_request *r)
{
	return r->bound;
}

size_t rl_pb_request_scratch(const struct rl_pb_request *r)
{
	return r->scratch + 1;
}

long rl_pb_request_encode(const struct rl_pb_request *r, struct rl_tpl_state *st, char *scratch,
			  uint8_t *out, size_t cap)
{
	render_templates(r, st, scratch);
	char err[8];
	struct enc e = { r->s, err, sizeof(err), 0, r->tpls, r->ntpls };
	struct buf b = { out, 0, cap, true, false };
	if (encode_message(&e, r->m, r->type, r->root, &b, NULL) || e.failed)
		return -1;
	return (long)b.len;
}

void rl_pb_request_free(struct rl_pb_request *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ntpls; i++)
		rl_tpl_free(&r->tpls[i].tpl);
	free(r->tpls);
	json_decref(r->root);
	free(r->type);
	free(r);
}

int rl_pb_encode_json(const struct rl_pb_schema *s, const char *type, const char *json,
		      uint8_t **out, size_t *len, char *err, size_t errlen)
{
	struct rl_pb_request *r;
	if (rl_pb_request_compile(s, type, json, &r, err, errlen))
		return -1;
	uint8_t *buf = malloc(r->bound);
	char *scratch = malloc(r->scratch + 1);
	struct rl_tpl_state st;
	rl_tpl_state_init(&st, 1, 0, 1);
	long n = buf && scratch ? rl_pb_request_encode(r, &st, scratch, buf, r->bound) : -1;
	free(scratch);
	rl_pb_request_free(r);
	if (n < 0) {
		free(buf);
		snprintf(err, errlen, "--data: cannot encode %s", type);
		return -1;
	}
	*out = buf;
	*len = (size_t)n;
	return 0;
}
