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

typedef Google__Protobuf__DescriptorProto MsgDesc;
typedef Google__Protobuf__FieldDescriptorProto FieldDesc;
typedef Google__Protobuf__EnumDescriptorProto EnumDesc;

struct named_msg { char *name; const MsgDesc *d; };
struct named_enum { char *name; const EnumDesc *d; };

struct rl_pb_schema {
	Google__Protobuf__FileDescriptorSet *set;
	struct named_msg *msgs;
	size_t nmsgs;
	struct named_enum *enums;
	size_t nenums;
};

struct buf {
	uint8_t *p;
	size_t len, cap;
};

struct enc {
	const struct rl_pb_schema *s;
	char *err;
	size_t errlen;
	int failed;
};

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

/* A field path for messages ("user.tags[2]"); a very deep one is cut, which is fine
 * for a message. */
static void subpath(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
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
	for (size_t i = 0; i < s->nmsgs; i++)
		free(s->msgs[i].name);
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

static int put_len(struct buf *b, const struct buf *inner)
{
	return put_varint(b, inner->len) || put(b, inner->p, inner->len) ? -1 : 0;
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
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		long long n = strtoll(s, &end, 10);
		if (!*s || *end || errno)
			return -1;
		*out = n;
		return 0;
	}
	return -1;
}

static int json_u64(json_t *v, uint64_t *out)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		if (!*s || *s == '-')
			return -1;
		unsigned long long n = strtoull(s, &end, 10);
		if (*end || errno)
			return -1;
		*out = n;
		return 0;
	}
	int64_t i;
	if (rl_pb_json_int64(v, &i) || i < 0)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

static int json_double(json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (!strcmp(s, "NaN"))
			*out = NAN;
		else if (!strcmp(s, "Infinity"))
			*out = INFINITY;
		else if (!strcmp(s, "-Infinity"))
			*out = -INFINITY;
		else
			return -1;
		return 0;
	}
	return -1;
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
static int base64_decode(const char *s, struct buf *b)
{
	uint32_t acc = 0;
	int bits = 0;
	for (; *s && *s != '='; s++) {
		int d = b64_digit(*s);
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
	while (*s == '=')
		s++;
	return *s ? -1 : 0;
}

static int encode_message(struct enc *e, const MsgDesc *m, const char *mname, json_t *obj,
			  struct buf *b, const char *path);

/* One value of a field, without its tag (the caller writes tags: packing differs). */
static int encode_value(struct enc *e, const FieldDesc *f, json_t *v, struct buf *b, const char *path)
{
	int64_t i;
	uint64_t u;
	double d;
	switch (f->type) {
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64:
		if (rl_pb_json_int64(v, &i))
			return fail(e, "--data: field '%s' expects an int64 (number or string)", path);
		return put_varint(b, (uint64_t)i);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32:
		if (rl_pb_json_int64(v, &i) || i < INT32_MIN || i > INT32_MAX)
			return fail(e, "--data: field '%s' expects an int32", path);
		return put_varint(b, (uint64_t)i); /* negative: sign-extended to 10 bytes */
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT64:
		if (json_u64(v, &u))
			return fail(e, "--data: field '%s' expects a uint64 (number or string)", path);
		return put_varint(b, u);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT32:
		if (json_u64(v, &u) || u > UINT32_MAX)
			return fail(e, "--data: field '%s' expects a uint32", path);
		return put_varint(b, u);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT32:
		if (rl_pb_json_int64(v, &i) || i < INT32_MIN || i > INT32_MAX)
			return fail(e, "--data: field '%s' expects an int32", path);
		return put_varint(b, ((uint32_t)i << 1) ^ (uint32_t)((int32_t)i >> 31)); /* zigzag */
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64:
		if (rl_pb_json_int64(v, &i))
			return fail(e, "--data: field '%s' expects an int64 (number or string)", path);
		return put_varint(b, ((uint64_t)i << 1) ^ (uint64_t)(i >> 63));
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64:
		if (json_u64(v, &u))
			return fail(e, "--data: field '%s' expects a uint64 (number or string)", path);
		return put_fixed(b, u, 8);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64:
		if (rl_pb_json_int64(v, &i))
			return fail(e, "--data: field '%s' expects an int64 (number or string)", path);
		return put_fixed(b, (uint64_t)i, 8);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32:
		if (json_u64(v, &u) || u > UINT32_MAX)
			return fail(e, "--data: field '%s' expects a uint32", path);
		return put_fixed(b, u, 4);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32:
		if (rl_pb_json_int64(v, &i) || i < INT32_MIN || i > INT32_MAX)
			return fail(e, "--data: field '%s' expects an int32", path);
		return put_fixed(b, (uint32_t)(int32_t)i, 4);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL:
		if (!json_is_boolean(v))
			return fail(e, "--data: field '%s' expects true or false", path);
		return put_varint(b, json_is_true(v));
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE: {
		if (json_double(v, &d))
			return fail(e, "--data: field '%s' expects a number", path);
		uint64_t bits;
		memcpy(&bits, &d, 8);
		return put_fixed(b, bits, 8);
	}
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT: {
		if (json_double(v, &d))
			return fail(e, "--data: field '%s' expects a number", path);
		float fl = (float)d;
		uint32_t bits;
		memcpy(&bits, &fl, 4);
		return put_fixed(b, bits, 4);
	}
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING:
		if (!json_is_string(v))
			return fail(e, "--data: field '%s' expects a string", path);
		return put_varint(b, json_string_length(v)) || put(b, json_string_value(v), json_string_length(v));
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES: {
		struct buf inner = { 0 };
		if (!json_is_string(v) || base64_decode(json_string_value(v), &inner)) {
			free(inner.p);
			return fail(e, "--data: field '%s' expects base64 bytes", path);
		}
		int rc = put_len(b, &inner);
		free(inner.p);
		return rc;
	}
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM: {
		if (json_is_string(v)) {
			const EnumDesc *ed = find_enum(e->s, f->type_name);
			for (size_t k = 0; ed && k < ed->n_value; k++)
				if (!strcmp(ed->value[k]->name, json_string_value(v)))
					return put_varint(b, (uint64_t)(int64_t)ed->value[k]->number);
			return fail(e, "--data: field '%s': no value '%s' in enum %s", path,
				    json_string_value(v), f->type_name + 1);
		}
		if (rl_pb_json_int64(v, &i) || i < INT32_MIN || i > INT32_MAX)
			return fail(e, "--data: field '%s' expects an enum name or number", path);
		return put_varint(b, (uint64_t)i);
	}
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE: {
		const MsgDesc *md = find_msg(e->s, f->type_name);
		if (!md)
			return fail(e, "--data: field '%s': type %s is not in the descriptors", path, f->type_name);
		struct buf inner = { 0 };
		int rc = encode_message(e, md, f->type_name + 1, v, &inner, path);
		if (!rc)
			rc = put_len(b, &inner);
		free(inner.p);
		return rc;
	}
	default:
		return fail(e, "--data: field '%s': groups are not supported", path);
	}
}

static bool is_packable(const FieldDesc *f)
{
	int wt = wire_type(f->type);
	return wt != WT_LEN;
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

static int encode_map(struct enc *e, const FieldDesc *f, const MsgDesc *entry, json_t *v,
		      struct buf *b, const char *path)
{
	if (!json_is_object(v))
		return fail(e, "--data: field '%s' is a map: expects an object", path);
	const FieldDesc *kf = NULL, *vf = NULL;
	for (size_t i = 0; i < entry->n_field; i++) {
		if (entry->field[i]->number == 1)
			kf = entry->field[i];
		else if (entry->field[i]->number == 2)
			vf = entry->field[i];
	}
	if (!kf || !vf)
		return fail(e, "--data: field '%s': malformed map entry", path);
	const char *key;
	json_t *val;
	json_object_foreach(v, key, val) {
		char sub[512];
		subpath(sub, sizeof(sub), "%s[%s]", path, key);
		json_t *k;
		if (kf->type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL) {
			if (strcmp(key, "true") && strcmp(key, "false"))
				return fail(e, "--data: map key '%s' must be true or false", sub);
			k = json_boolean(!strcmp(key, "true"));
		} else {
			k = json_string(key); /* integer keys parse from the string */
		}
		struct buf entry_buf = { 0 };
		int rc = put_tag(&entry_buf, 1, wire_type(kf->type)) || encode_value(e, kf, k, &entry_buf, sub);
		json_decref(k);
		if (!rc)
			rc = put_tag(&entry_buf, 2, wire_type(vf->type)) || encode_value(e, vf, val, &entry_buf, sub);
		if (!rc)
			rc = put_tag(b, f->number, WT_LEN) || put_len(b, &entry_buf);
		free(entry_buf.p);
		if (rc)
			return fail(e, "--data: field '%s': cannot encode", sub);
	}
	return 0;
}

static int cmp_number(const void *a, const void *b)
{
	const FieldDesc *x = *(const FieldDesc *const *)a, *y = *(const FieldDesc *const *)b;
	return (x->number > y->number) - (x->number < y->number);
}

static json_t *field_value(json_t *obj, const FieldDesc *f)
{
	json_t *v = json_object_get(obj, f->name);
	if (!v && f->json_name)
		v = json_object_get(obj, f->json_name);
	return v;
}

static int encode_message(struct enc *e, const MsgDesc *m, const char *mname, json_t *obj,
			  struct buf *b, const char *path)
{
	if (!json_is_object(obj))
		return fail(e, "--data: %s%s%s expects a JSON object", *path ? "field '" : "message ",
			    *path ? path : mname, *path ? "'" : "");
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		bool known = false;
		for (size_t i = 0; i < m->n_field && !known; i++)
			known = !strcmp(m->field[i]->name, key) ||
				(m->field[i]->json_name && !strcmp(m->field[i]->json_name, key));
		if (!known)
			return fail(e, "--data: unknown field '%s%s%s' in %s", path, *path ? "." : "", key, mname);
	}
	const FieldDesc **fields = malloc(m->n_field * sizeof(*fields) + 1);
	if (!fields)
		return fail(e, "out of memory");
	memcpy(fields, m->field, m->n_field * sizeof(*fields));
	qsort(fields, m->n_field, sizeof(*fields), cmp_number);
	const Google__Protobuf__FileDescriptorProto *file = file_of(e->s, mname);
	int rc = 0;
	for (size_t i = 0; i < m->n_field && !rc; i++) {
		const FieldDesc *f = fields[i];
		v = field_value(obj, f);
		if (!v || json_is_null(v))
			continue;
		char sub[512];
		subpath(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", f->name);
		if (f->label != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED) {
			rc = put_tag(b, f->number, wire_type(f->type)) || encode_value(e, f, v, b, sub);
			continue;
		}
		const MsgDesc *entry = map_entry(e, f);
		if (entry) {
			rc = encode_map(e, f, entry, v, b, sub);
			continue;
		}
		if (!json_is_array(v)) {
			rc = fail(e, "--data: field '%s' is repeated: expects an array", sub);
			continue;
		}
		size_t k;
		json_t *item;
		if (is_packable(f) && packed(file, f)) {
			struct buf inner = { 0 };
			json_array_foreach(v, k, item) {
				char el[540];
				subpath(el, sizeof(el), "%s[%zu]", sub, k);
				if ((rc = encode_value(e, f, item, &inner, el)))
					break;
			}
			if (!rc && inner.len)
				rc = put_tag(b, f->number, WT_LEN) || put_len(b, &inner);
			free(inner.p);
		} else {
			json_array_foreach(v, k, item) {
				char el[540];
				subpath(el, sizeof(el), "%s[%zu]", sub, k);
				if ((rc = put_tag(b, f->number, wire_type(f->type)) || encode_value(e, f, item, b, el)))
					break;
			}
		}
	}
	free(fields);
	return rc ? -1 : 0;
}

int rl_pb_encode_json(const struct rl_pb_schema *s, const char *type, const char *json,
		      uint8_t **out, size_t *len, char *err, size_t errlen)
{
	struct enc e = { s, err, errlen, 0 };
	const MsgDesc *m = find_msg(s, type);
	if (!m) {
		snprintf(err, errlen, "--grpc: message type %s is not in the descriptors", type);
		return -1;
	}
	json_t *root;
	if (json) {
		json_error_t jerr;
		root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
		if (!root) {
			snprintf(err, errlen, "--data: invalid JSON at line %d column %d: %s", jerr.line,
				 jerr.column, jerr.text);
			return -1;
		}
	} else {
		root = json_object();
	}
	struct buf b = { 0 };
	int rc = encode_message(&e, m, type, root, &b, "");
	json_decref(root);
	if (rc || e.failed) {
		free(b.p);
		if (!e.failed)
			snprintf(err, errlen, "--data: cannot encode %s", type);
		return -1;
	}
	*out = b.p ? b.p : malloc(1);
	*len = b.len;
	return 0;
}
