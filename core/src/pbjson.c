/*
 * pbjson.c - the protobuf <-> JSON codec (proto3 JSON mapping) and example
 * messages, driven by an mc_pb_set.
 *
 * Binary -> JSON: json_name keys, implicit-presence fields at their default
 * omitted, 64-bit integers as strings, enums by name (unknown numbers as
 * numbers), bytes as base64, NaN/Infinity as strings, unknown fields skipped,
 * well-known types in their special forms. JSON -> binary accepts what the
 * mapping allows (numbers or strings for integers, names or numbers for enums,
 * standard or URL-safe base64, json_name or proto name) and names the JSON path
 * of anything it refuses. Depth, element count and output size are bounded.
 */
#include "pb_internal.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ shared helpers */

typedef enum wkt {
	WKT_NONE,
	WKT_ANY,
	WKT_TIMESTAMP,
	WKT_DURATION,
	WKT_STRUCT,
	WKT_VALUE,
	WKT_LIST,
	WKT_FIELDMASK,
	WKT_EMPTY,
	WKT_WRAPPER
} wkt;

static wkt
wkt_of(const mc_pb_message *m)
{
	const char *n = m->full_name;
	static const char *wrappers[] = {"DoubleValue", "FloatValue",  "Int64Value",
	                                 "UInt64Value", "Int32Value",  "UInt32Value",
	                                 "BoolValue",   "StringValue", "BytesValue"};

	if (strncmp(n, "google.protobuf.", 16) != 0)
		return WKT_NONE;
	n += 16;
	if (!strcmp(n, "Any"))
		return WKT_ANY;
	if (!strcmp(n, "Timestamp"))
		return WKT_TIMESTAMP;
	if (!strcmp(n, "Duration"))
		return WKT_DURATION;
	if (!strcmp(n, "Struct"))
		return WKT_STRUCT;
	if (!strcmp(n, "Value"))
		return WKT_VALUE;
	if (!strcmp(n, "ListValue"))
		return WKT_LIST;
	if (!strcmp(n, "FieldMask"))
		return WKT_FIELDMASK;
	if (!strcmp(n, "Empty"))
		return WKT_EMPTY;
	for (size_t i = 0; i < sizeof(wrappers) / sizeof(*wrappers); i++)
		if (!strcmp(n, wrappers[i]))
			return m->nfields >= 1 ? WKT_WRAPPER : WKT_NONE;
	return WKT_NONE;
}

static bool
is_null_enum(const mc_pb_field *f)
{
	return f->type == MC_PB_ENUM && f->en && !strcmp(f->en->full_name, "google.protobuf.NullValue");
}

static bool
is_map(const mc_pb_field *f)
{
	return f->label == MC_PB_REPEATED && f->type == MC_PB_MESSAGE && f->msg && f->msg->map_entry;
}

static int
wire_type_of(mc_pb_type t)
{
	switch (t) {
	case MC_PB_DOUBLE:
	case MC_PB_FIXED64:
	case MC_PB_SFIXED64:
		return PB_I64;
	case MC_PB_FLOAT:
	case MC_PB_FIXED32:
	case MC_PB_SFIXED32:
		return PB_I32;
	case MC_PB_STRING:
	case MC_PB_BYTES:
	case MC_PB_MESSAGE:
		return PB_LEN;
	case MC_PB_GROUP:
		return PB_SGROUP;
	default:
		return PB_VARINT;
	}
}

/* Appends a, s, b to a path buffer of cap bytes (truncated, always NUL-terminated, as
 * snprintf would, without printf's cost: every decoded and encoded field pushes its name);
 * returns the old length. */
static size_t
path_push3(char *path, size_t cap, const char *a, const char *s, const char *b)
{
	size_t len = strlen(path), o = len;
	const char *parts[3] = {a, s ? s : "", b};

	if (len >= cap)
		return len;
	for (int k = 0; k < 3; k++) {
		size_t n = strlen(parts[k]);

		if (n > cap - 1 - o)
			n = cap - 1 - o;
		memcpy(path + o, parts[k], n);
		o += n;
	}
	path[o] = '\0';
	return len;
}

/* Appends "[i]" to a path buffer; returns the old length. */
static size_t
path_push_idx(char *path, size_t cap, long i)
{
	char num[24], *q = num + sizeof(num) - 1;
	unsigned long v = i < 0 ? 0UL - (unsigned long)i : (unsigned long)i;

	*q = '\0';
	do
		*--q = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	if (i < 0)
		*--q = '-';
	return path_push3(path, cap, "[", q, "]");
}
#define PUSH_KEY(P, name) path_push3((P), sizeof(P), ".", (name), "")
#define PUSH_IDX(P, i) path_push_idx((P), sizeof(P), (long)(i))
#define PUSH_MAPKEY(P, k) path_push3((P), sizeof(P), "[\"", (k), "\"]")

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
b64_encode(const uint8_t *d, size_t n)
{
	char *o = malloc(((n + 2) / 3) * 4 + 1), *q = o;
	size_t i;

	if (o == NULL)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		*q++ = b64std[v >> 18];
		*q++ = b64std[(v >> 12) & 63];
		*q++ = b64std[(v >> 6) & 63];
		*q++ = b64std[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
		*q++ = b64std[v >> 18];
		*q++ = b64std[(v >> 12) & 63];
		*q++ = i + 1 < n ? b64std[(v >> 6) & 63] : '=';
		*q++ = '=';
	}
	*q = 0;
	return o;
}

static int
b64_val(char c)
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

/* Standard or URL-safe alphabet, padding optional. Returns malloc'd bytes or NULL. */
static uint8_t *
b64_decode(const char *s, size_t n, size_t *outn)
{
	uint8_t *o;
	size_t j = 0;
	uint32_t acc = 0;
	int bits = 0;

	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return NULL;
	o = malloc(n * 3 / 4 + 1);
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(s[i]);
		if (v < 0) {
			free(o);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[j++] = (uint8_t)(acc >> bits);
		}
	}
	*outn = j;
	return o;
}

/* ------------------------------------------------------------ binary -> JSON */

typedef struct dec {
	const mc_pb_set *s;
	mc_error *err;
	const uint8_t *base;
	size_t elements;
	char path[256];
} dec;

static json_t *dec_msg(dec *D, const mc_pb_message *m, const uint8_t *p, size_t n, int depth);

static json_t *
dec_fail(dec *D, const uint8_t *at, const char *what)
{
	mc_error_set(D->err, MC_EINVAL, D->path, "%s at byte offset %zu", what, (size_t)(at - D->base));
	return NULL;
}

static bool
count(dec *D)
{
	if (++D->elements > MC_PB_MAX_ELEMENTS) {
		mc_error_set(D->err, MC_ELIMIT, D->path, "message decodes to more than %d JSON values",
		             MC_PB_MAX_ELEMENTS);
		return false;
	}
	return true;
}

static json_t *
json_float(double d, bool single)
{
	char buf[40];

	if (isnan(d))
		return json_string("NaN");
	if (isinf(d))
		return json_string(d > 0 ? "Infinity" : "-Infinity");
	if (single) {
		/* the shortest decimal that reads back to the same float */
		for (int prec = 6; prec <= 9; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, d);
			if (strtof(buf, NULL) == (float)d)
				break;
		}
		d = strtod(buf, NULL);
	}
	return json_real(d);
}

static json_t *
int64_str(int64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%" PRId64, v);
	return json_string(b);
}

static json_t *
uint64_str(uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%" PRIu64, v);
	return json_string(b);
}

static json_t *
enum_json(const mc_pb_field *f, int32_t v)
{
	if (is_null_enum(f))
		return json_null();
	for (size_t i = 0; i < f->en->nvalues; i++)
		if (f->en->values[i].number == v)
			return json_string(f->en->values[i].name);
	return json_integer(v);
}

/* A scalar wire value (raw bits v) as JSON; *isdef tells whether it is the type's default. */
static json_t *
scalar_json(dec *D, const mc_pb_field *f, uint64_t v, const uint8_t *d, size_t n, const uint8_t *at,
            bool *isdef)
{
	json_t *j;

	*isdef = false;
	switch (f->type) {
	case MC_PB_INT32:
	case MC_PB_SFIXED32:
		*isdef = (int32_t)v == 0;
		return json_integer((int32_t)v);
	case MC_PB_UINT32:
	case MC_PB_FIXED32:
		*isdef = (uint32_t)v == 0;
		return json_integer((uint32_t)v);
	case MC_PB_SINT32: {
		uint32_t u = (uint32_t)v;
		int32_t x = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
		*isdef = x == 0;
		return json_integer(x);
	}
	case MC_PB_INT64:
	case MC_PB_SFIXED64:
		*isdef = v == 0;
		return int64_str((int64_t)v);
	case MC_PB_UINT64:
	case MC_PB_FIXED64:
		*isdef = v == 0;
		return uint64_str(v);
	case MC_PB_SINT64: {
		int64_t x = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
		*isdef = x == 0;
		return int64_str(x);
	}
	case MC_PB_BOOL:
		*isdef = v == 0;
		return json_boolean(v != 0);
	case MC_PB_ENUM:
		*isdef = (int32_t)v == 0;
		return enum_json(f, (int32_t)v);
	case MC_PB_FLOAT: {
		uint32_t b = (uint32_t)v;
		float x;
		memcpy(&x, &b, 4);
		*isdef = b == 0;
		return json_float(x, true);
	}
	case MC_PB_DOUBLE: {
		double x;
		memcpy(&x, &v, 8);
		*isdef = v == 0;
		return json_float(x, false);
	}
	case MC_PB_STRING:
		*isdef = n == 0;
		j = json_stringn((const char *)d, n);
		return j ? j : dec_fail(D, at, "string field is not valid UTF-8");
	case MC_PB_BYTES: {
		char *b = b64_encode(d, n);
		*isdef = n == 0;
		j = b ? json_string(b) : NULL;
		free(b);
		return j;
	}
	default:
		return dec_fail(D, at, "unsupported field type");
	}
}

/* Reads one non-packed value of field f whose tag carried wire type wt. */
static json_t *
dec_value(dec *D, pbr *r, const mc_pb_field *f, int wt, int depth, bool *isdef)
{
	const uint8_t *at = r->p, *d = NULL;
	size_t n = 0;
	uint64_t v = 0;

	*isdef = false;
	if (wt != wire_type_of(f->type) || f->type == MC_PB_GROUP)
		return dec_fail(D, at,
		                f->type == MC_PB_GROUP ? "group fields are not supported"
		                                       : "wire type does not match the field type");
	if (!count(D))
		return NULL;
	switch (wt) {
	case PB_VARINT:
		if (pbr_varint(r, &v))
			return dec_fail(D, at, "truncated varint");
		break;
	case PB_I64:
		if (pbr_fixed(r, 8, &v))
			return dec_fail(D, at, "truncated 64-bit value");
		break;
	case PB_I32:
		if (pbr_fixed(r, 4, &v))
			return dec_fail(D, at, "truncated 32-bit value");
		break;
	case PB_LEN:
		if (pbr_bytes(r, &d, &n))
			return dec_fail(D, at, "declared length beyond the end of the message");
		break;
	}
	if (f->type == MC_PB_MESSAGE)
		return dec_msg(D, f->msg, d, n, depth + 1);
	return scalar_json(D, f, v, d, n, at, isdef);
}

/* Default JSON of a field of a map entry that is absent on the wire. */
static json_t *
default_json(dec *D, const mc_pb_field *f, int depth)
{
	bool isdef;
	static const uint8_t none[1] = {0};

	if (f->type == MC_PB_MESSAGE)
		return dec_msg(D, f->msg, none, 0, depth + 1);
	return scalar_json(D, f, 0, none, 0, none, &isdef);
}

/* Decodes one map entry: returns the value (new reference) and its key as a malloc'd string in
 * *keyout (free it); absent key or value take their default. NULL with D->err set on error. */
static json_t *
dec_map_entry(dec *D, const mc_pb_field *f, const uint8_t *d, size_t n, int depth, char **keyout)
{
	const mc_pb_message *e = f->msg;
	pbr r = {d, d + n, D->base};
	json_t *key = NULL, *val = NULL;
	uint64_t tag;

	while (r.p < r.end) {
		const uint8_t *at = r.p;
		const mc_pb_field *ef;
		bool isdef;
		if (pbr_varint(&r, &tag) || (tag >> 3) == 0)
			goto bad;
		ef = (tag >> 3) == 1 ? &e->fields[0] : (tag >> 3) == 2 ? &e->fields[1] : NULL;
		if (ef == NULL) {
			if (pbr_skip(&r, (int)(tag & 7), depth))
				goto bad;
			continue;
		}
		json_t *j = dec_value(D, &r, ef, (int)(tag & 7), depth, &isdef);
		if (j == NULL)
			goto fail;
		if (ef == &e->fields[0]) {
			json_decref(key);
			key = j;
		} else {
			json_decref(val);
			val = j;
		}
		(void)at;
	}
	if (key == NULL && (key = default_json(D, &e->fields[0], depth)) == NULL)
		goto fail;
	if (val == NULL && (val = default_json(D, &e->fields[1], depth)) == NULL)
		goto fail;
	if (json_is_string(key))
		*keyout = strdup(json_string_value(key));
	else if (json_is_boolean(key))
		*keyout = strdup(json_is_true(key) ? "true" : "false");
	else {
		char b[24];
		snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT, json_integer_value(key));
		*keyout = strdup(b);
	}
	json_decref(key);
	if (*keyout == NULL) {
		json_decref(val);
		return NULL;
	}
	return val;
bad:
	dec_fail(D, r.p, "malformed map entry");
fail:
	json_decref(key);
	json_decref(val);
	return NULL;
}

/* Converts the plain JSON of a well-known type to its special form (steals plain). */
static json_t *wkt_to_json(dec *D, const mc_pb_message *m, wkt k, json_t *plain, const uint8_t *at);

/* google.protobuf.Any: resolves the type URL in the set and decodes the payload into
 * {"@type", fields...} or {"@type", "value"} for a well-known type. New reference or NULL. */
static json_t *
dec_any(dec *D, const uint8_t *p, size_t n, int depth)
{
	pbr r = {p, p + n, D->base};
	const uint8_t *url = NULL, *val = NULL;
	size_t urln = 0, valn = 0;
	uint64_t tag;
	const mc_pb_message *m;
	json_t *inner, *out;
	char name[512];
	const char *slash;

	while (r.p < r.end) {
		const uint8_t *d;
		size_t dn;
		if (pbr_varint(&r, &tag))
			return dec_fail(D, r.p, "malformed Any");
		if (((tag >> 3) == 1 || (tag >> 3) == 2) && (tag & 7) == PB_LEN) {
			if (pbr_bytes(&r, &d, &dn))
				return dec_fail(D, r.p, "declared length beyond the end of the message");
			if ((tag >> 3) == 1)
				url = d, urln = dn;
			else
				val = d, valn = dn;
		} else if (pbr_skip(&r, (int)(tag & 7), depth))
			return dec_fail(D, r.p, "malformed Any");
	}
	if (urln == 0)
		return valn ? dec_fail(D, p, "Any with a value but no type URL") : json_object();
	if (urln >= sizeof(name))
		return dec_fail(D, url, "Any type URL too long");
	if (memchr(url, 0, urln) || (out = json_stringn((const char *)url, urln)) == NULL)
		return dec_fail(D, url, "Any type URL is not valid UTF-8 text");
	json_decref(out);
	memcpy(name, url, urln);
	name[urln] = 0;
	slash = strrchr(name, '/');
	m = mc_pb_find_message(D->s, slash ? slash + 1 : name);
	if (m == NULL) {
		mc_error_set(D->err, MC_EINVAL, D->path,
		             "Any type URL %s names a type not in the descriptor set", name);
		return NULL;
	}
	inner = dec_msg(D, m, val ? val : p, valn, depth + 1);
	if (inner == NULL)
		return NULL;
	if ((wkt_of(m) != WKT_NONE && wkt_of(m) != WKT_EMPTY) || !json_is_object(inner)) {
		out = json_object();
		json_object_set_new(out, "@type", json_string(name));
		json_object_set_new(out, "value", inner);
		return out;
	}
	out = json_object();
	json_object_set_new(out, "@type", json_string(name));
	json_object_update(out, inner);
	json_decref(inner);
	return out;
}

/* Occurrences of singular message fields, decoded at the end of their message: the wire
 * format merges repeated occurrences, which is decoding their concatenation. */
typedef struct pending {
	const mc_pb_field *f;
	const uint8_t *p;
	size_t n;
} pending;

static int
pending_flush(dec *D, const mc_pb_message *m, json_t *obj, pending *pd, size_t npd, int depth)
{
	for (size_t i = 0; i < m->nfields; i++) {
		const mc_pb_field *f = &m->fields[i];
		size_t cnt = 0, total = 0, last = 0, plen;
		json_t *j;

		for (size_t k = 0; k < npd; k++)
			if (pd[k].f == f)
				cnt++, total += pd[k].n, last = k;
		if (cnt == 0)
			continue;
		plen = PUSH_KEY(D->path, f->json_name);
		if (cnt == 1)
			j = dec_msg(D, f->msg, pd[last].p, pd[last].n, depth + 1);
		else {
			uint8_t *cat = malloc(total ? total : 1);
			const uint8_t *base = D->base;
			size_t o = 0;
			if (cat == NULL) {
				mc_error_set(D->err, MC_ENOMEM, D->path, "out of memory");
				return -1;
			}
			for (size_t k = 0; k < npd; k++)
				if (pd[k].f == f) {
					memcpy(cat + o, pd[k].p, pd[k].n);
					o += pd[k].n;
				}
			D->base = cat; /* offsets in errors are then within the merged occurrences */
			j = dec_msg(D, f->msg, cat, total, depth + 1);
			D->base = base;
			free(cat);
		}
		if (j == NULL)
			return -1;
		json_object_set_new(obj, f->json_name, j);
		D->path[plen] = 0;
	}
	return 0;
}

/* Decodes the message bytes p[0..n) of type m into JSON (well-known types in their special
 * form). depth bounds recursion; errors name D->path and the byte offset from D->base.
 * Returns a new reference or NULL with D->err set. */
static json_t *
dec_msg(dec *D, const mc_pb_message *m, const uint8_t *p, size_t n, int depth)
{
	pbr r = {p, p + n, D->base};
	json_t *obj;
	int *oneof_set = NULL;
	wkt k = wkt_of(m);
	pending *pd = NULL;
	size_t npd = 0, cappd = 0;

	if (depth > MC_PB_MAX_DEPTH)
		return dec_fail(D, p, "messages nested deeper than the limit");
	if (!count(D))
		return NULL;
	if (k == WKT_ANY)
		return dec_any(D, p, n, depth);
	obj = json_object();
	if (m->noneofs && (oneof_set = calloc(m->noneofs, sizeof(int))) == NULL)
		goto oom;
	while (r.p < r.end) {
		const uint8_t *at = r.p;
		uint64_t tag;
		const mc_pb_field *f;
		int wt;
		size_t plen;

		if (pbr_varint(&r, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) {
			dec_fail(D, at, "bad field tag");
			goto fail;
		}
		wt = (int)(tag & 7);
		f = mc_pb_find_field(m, (int32_t)(tag >> 3));
		if (f == NULL) {
			if (wt == PB_EGROUP || pbr_skip(&r, wt, depth)) {
				dec_fail(D, at, "malformed unknown field");
				goto fail;
			}
			continue;
		}
		plen = PUSH_KEY(D->path, f->json_name);
		if (is_map(f)) {
			const uint8_t *d;
			size_t dn;
			char *key = NULL;
			json_t *mo, *v;
			if (wt != PB_LEN) {
				dec_fail(D, at, "wire type does not match the field type");
				goto fail;
			}
			if (pbr_bytes(&r, &d, &dn)) {
				dec_fail(D, at, "declared length beyond the end of the message");
				goto fail;
			}
			if ((v = dec_map_entry(D, f, d, dn, depth + 1, &key)) == NULL || !count(D))
				goto fail_v;
			mo = json_object_get(obj, f->json_name);
			if (mo == NULL)
				json_object_set_new(obj, f->json_name, mo = json_object());
			json_object_set_new(mo, key, v);
			free(key);
			D->path[plen] = 0;
			continue;
		fail_v:
			json_decref(v);
			free(key);
			goto fail;
		}
		if (f->label == MC_PB_REPEATED) {
			json_t *arr = json_object_get(obj, f->json_name);
			if (arr == NULL)
				json_object_set_new(obj, f->json_name, arr = json_array());
			if (wt == PB_LEN && wire_type_of(f->type) != PB_LEN) {
				/* packed run */
				const uint8_t *d;
				size_t dn;
				if (pbr_bytes(&r, &d, &dn)) {
					dec_fail(D, at, "declared length beyond the end of the message");
					goto fail;
				}
				pbr pr = {d, d + dn, D->base};
				while (pr.p < pr.end) {
					bool isdef;
					json_t *j =
					    dec_value(D, &pr, f, wire_type_of(f->type), depth, &isdef);
					if (j == NULL)
						goto fail;
					json_array_append_new(arr, j);
				}
			} else {
				bool isdef;
				json_t *j = dec_value(D, &r, f, wt, depth, &isdef);
				if (j == NULL)
					goto fail;
				json_array_append_new(arr, j);
			}
			D->path[plen] = 0;
			continue;
		}
		if (f->oneof_index >= 0) {
			int prev = oneof_set[f->oneof_index];
			if (prev && prev != f->number) {
				const mc_pb_field *pf = mc_pb_find_field(m, prev);
				json_object_del(obj, pf->json_name);
				for (size_t q = 0; q < npd; q++)
					if (pd[q].f == pf)
						pd[q].f =
						    NULL; /* a member set later clears the earlier one */
			}
			oneof_set[f->oneof_index] = f->number;
		}
		if (f->type == MC_PB_MESSAGE) {
			const uint8_t *d;
			size_t dn;
			if (wt != PB_LEN) {
				dec_fail(D, at, "wire type does not match the field type");
				goto fail;
			}
			const uint8_t *lenat = r.p;
			if (pbr_bytes(&r, &d, &dn)) {
				dec_fail(D, lenat, "declared length beyond the end of the message");
				goto fail;
			}
			if (npd == cappd) {
				pending *np = realloc(pd, (cappd = cappd ? 2 * cappd : 4) * sizeof(*pd));
				if (np == NULL)
					goto oom;
				pd = np;
			}
			pd[npd++] = (pending){f, d, dn};
			D->path[plen] = 0;
			continue;
		}
		{
			bool isdef;
			json_t *j = dec_value(D, &r, f, wt, depth, &isdef);
			if (j == NULL)
				goto fail;
			if (isdef && !f->has_presence) {
				json_decref(j);
				json_object_del(obj, f->json_name);
			} else
				json_object_set_new(obj, f->json_name, j);
		}
		D->path[plen] = 0;
	}
	free(oneof_set);
	oneof_set = NULL;
	if (npd && pending_flush(D, m, obj, pd, npd, depth) != 0)
		goto fail;
	free(pd);
	/* an empty packed run leaves an empty array: repeated fields without elements are omitted */
	for (size_t i = 0; i < m->nfields; i++) {
		json_t *a = json_object_get(obj, m->fields[i].json_name);
		if (m->fields[i].label == MC_PB_REPEATED && json_is_array(a) && json_array_size(a) == 0)
			json_object_del(obj, m->fields[i].json_name);
	}
	if (k != WKT_NONE)
		return wkt_to_json(D, m, k, obj, p);
	return obj;
oom:
	mc_error_set(D->err, MC_ENOMEM, D->path, "out of memory");
fail:
	free(oneof_set);
	free(pd);
	json_decref(obj);
	return NULL;
}

static int64_t
str_i64(const json_t *j)
{
	if (json_is_string(j))
		return strtoll(json_string_value(j), NULL, 10);
	return json_is_integer(j) ? json_integer_value(j) : 0;
}

static int
frac_digits(int32_t nanos, char *buf, size_t cap)
{
	if (nanos == 0)
		return buf[0] = 0, 0;
	if (nanos % 1000000 == 0)
		return snprintf(buf, cap, ".%03d", nanos / 1000000);
	if (nanos % 1000 == 0)
		return snprintf(buf, cap, ".%06d", nanos / 1000);
	return snprintf(buf, cap, ".%09d", nanos);
}

/* Days since 1970-01-01 -> civil date (proleptic Gregorian). */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *mo, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*mo = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*mo <= 2);
}

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

#define TS_MIN (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define TS_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */
#define DUR_MAX 315576000000LL

static json_t *
wkt_to_json(dec *D, const mc_pb_message *m, wkt k, json_t *plain, const uint8_t *at)
{
	json_t *out = NULL, *v;
	char buf[96], frac[16];

	switch (k) {
	case WKT_TIMESTAMP: {
		int64_t s = str_i64(json_object_get(plain, "seconds"));
		int64_t nanos = str_i64(json_object_get(plain, "nanos"));
		int64_t y;
		unsigned mo, d;
		if (s < TS_MIN || s > TS_MAX || nanos < 0 || nanos > 999999999) {
			json_decref(plain);
			return dec_fail(
			    D, at, "Timestamp out of range (0001-01-01 to 9999-12-31, nanos 0..999999999)");
		}
		int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
		int64_t sod = s - days * 86400;
		civil_from_days(days, &y, &mo, &d);
		frac_digits((int32_t)nanos, frac, sizeof(frac));
		snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d%sZ", (int)y, mo, d,
		         (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), frac);
		out = json_string(buf);
		break;
	}
	case WKT_DURATION: {
		int64_t s = str_i64(json_object_get(plain, "seconds"));
		int64_t nanos = str_i64(json_object_get(plain, "nanos"));
		if (s < -DUR_MAX || s > DUR_MAX || nanos < -999999999 || nanos > 999999999 ||
		    (s > 0 && nanos < 0) || (s < 0 && nanos > 0)) {
			json_decref(plain);
			return dec_fail(D, at,
			                "Duration out of range or with seconds and nanos of different signs");
		}
		bool neg = s < 0 || nanos < 0;
		frac_digits((int32_t)(nanos < 0 ? -nanos : nanos), frac, sizeof(frac));
		snprintf(buf, sizeof(buf), "%s%" PRId64 "%ss", neg ? "-" : "", s < 0 ? -s : s, frac);
		out = json_string(buf);
		break;
	}
	case WKT_STRUCT:
		out = json_object_get(plain, "fields");
		out = out ? json_incref(out) : json_object();
		break;
	case WKT_LIST:
		out = json_object_get(plain, "values");
		out = out ? json_incref(out) : json_array();
		break;
	case WKT_VALUE: {
		const char *key;
		json_object_foreach (plain, key, v) {
			if (!strcmp(key, "numberValue") && json_is_string(v)) {
				json_decref(plain);
				return dec_fail(
				    D, at, "Value.number_value is NaN or Infinity, which JSON cannot hold");
			}
			out = json_incref(v);
		}
		if (out == NULL)
			out = json_null();
		break;
	}
	case WKT_FIELDMASK: {
		json_t *paths = json_object_get(plain, "paths");
		size_t i, total = 0;
		char *s;
		json_array_foreach (paths, i, v)
			total += json_string_length(v) + 1;
		s = malloc(total + 1);
		if (s == NULL)
			break;
		s[0] = 0;
		size_t o = 0;
		json_array_foreach (paths, i, v) {
			const char *pth = json_string_value(v);
			bool up = false;
			if (i)
				s[o++] = ',';
			for (; *pth; pth++) {
				if (*pth == '_') {
					up = true;
					continue;
				}
				if (isupper((unsigned char)*pth)) {
					free(s);
					json_decref(plain);
					return dec_fail(D, at, "FieldMask path has an upper-case letter");
				}
				s[o++] = up ? (char)toupper((unsigned char)*pth) : *pth;
				up = false;
			}
		}
		s[o] = 0;
		out = json_string(s);
		free(s);
		break;
	}
	case WKT_EMPTY:
		out = json_object();
		break;
	case WKT_WRAPPER:
		out = json_object_get(plain, m->fields[0].json_name);
		if (out)
			json_incref(out);
		else
			out = default_json(D, &m->fields[0], 0);
		break;
	default:
		return plain;
	}
	json_decref(plain);
	if (out == NULL)
		mc_error_set(D->err, MC_ENOMEM, D->path, "out of memory");
	return out;
}

json_t *
mc_pb_to_json(const mc_pb_set *s, const char *msg_type, const uint8_t *buf, size_t len, mc_error *err)
{
	dec D = {s, err, buf, 0, "$"};
	const mc_pb_message *m = mc_pb_find_message(s, msg_type);
	static const uint8_t none[1] = {0};

	if (m == NULL) {
		mc_error_set(err, MC_ENOTFOUND, "", "message type %s is not in the descriptor set",
		             msg_type ? msg_type : "(null)");
		return NULL;
	}
	if (buf == NULL) {
		buf = D.base = none;
		len = 0;
	}
	return dec_msg(&D, m, buf, len, 0);
}

/* ------------------------------------------------------------ JSON -> binary */

typedef struct obuf {
	uint8_t *d;
	size_t n, cap;
} obuf;

typedef struct enc {
	const mc_pb_set *s;
	mc_error *err;
	size_t total;
	char path[256];
} enc;

static int
enc_fail(enc *E, const char *fmt, const char *a)
{
	mc_error_set(E->err, MC_EINVAL, E->path, fmt, a ? a : "");
	return -1;
}

static int
ob_put(enc *E, obuf *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;
		while (nc < b->n + n)
			nc *= 2;
		if (b->n + n > MC_PB_MAX_OUTPUT || (E->total += n) > 4 * MC_PB_MAX_OUTPUT) {
			mc_error_set(E->err, MC_ELIMIT, E->path, "encoded message exceeds %zu bytes",
			             MC_PB_MAX_OUTPUT);
			return -1;
		}
		uint8_t *p = realloc(b->d, nc);
		if (p == NULL) {
			mc_error_set(E->err, MC_ENOMEM, E->path, "out of memory");
			return -1;
		}
		b->d = p;
		b->cap = nc;
	}
	if (n)
		memcpy(b->d + b->n, d, n);
	b->n += n;
	return 0;
}

static int
ob_varint(enc *E, obuf *b, uint64_t v)
{
	uint8_t t[10];
	int n = 0;
	do {
		t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return ob_put(E, b, t, (size_t)n);
}

static int
ob_fixed(enc *E, obuf *b, uint64_t v, int n)
{
	uint8_t t[8];
	for (int i = 0; i < n; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	return ob_put(E, b, t, (size_t)n);
}

static int
ob_tag(enc *E, obuf *b, int32_t num, int wt)
{
	return ob_varint(E, b, ((uint64_t)(uint32_t)num << 3) | (uint64_t)wt);
}

static int
ob_len(enc *E, obuf *b, int32_t num, const void *d, size_t n)
{
	return ob_tag(E, b, num, PB_LEN) || ob_varint(E, b, n) || ob_put(E, b, d, n) ? -1 : 0;
}

static int enc_msg(enc *E, const mc_pb_message *m, const json_t *v, obuf *b, int depth);

/* Integer from a JSON number or a numeric string, within [lo, hi] (signed) or [0, uhi]. */
static int
json_to_int(enc *E, const json_t *v, bool is_unsigned, int64_t lo, int64_t hi, uint64_t uhi, uint64_t *out)
{
	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);
		if (is_unsigned ? (x < 0 || (uint64_t)x > uhi) : (x < lo || x > hi))
			return enc_fail(E, "integer out of range for the field%s", NULL);
		*out = (uint64_t)x;
		return 0;
	}
	if (json_is_real(v) || json_is_string(v)) {
		double d;
		if (json_is_string(v)) {
			const char *s = json_string_value(v);
			char *end;
			if (*s == 0 || isspace((unsigned char)*s))
				return enc_fail(E, "expected an integer, got \"%s\"", s);
			errno = 0;
			if (is_unsigned && *s != '-') {
				unsigned long long u = strtoull(s, &end, 10);
				if (*end == 0) {
					if (errno || u > uhi)
						return enc_fail(E, "integer out of range for the field: %s",
						                s);
					*out = u;
					return 0;
				}
			} else if (!is_unsigned) {
				long long x = strtoll(s, &end, 10);
				if (*end == 0) {
					if (errno || x < lo || x > hi)
						return enc_fail(E, "integer out of range for the field: %s",
						                s);
					*out = (uint64_t)x;
					return 0;
				}
			}
			d = strtod(s, &end);
			if (*end != 0)
				return enc_fail(E, "expected an integer, got \"%s\"", s);
		} else
			d = json_real_value(v);
		if (!isfinite(d) || d != floor(d))
			return enc_fail(E, "expected an integer, got a non-integral number%s", NULL);
		if (is_unsigned ? (d < 0 || d >= 18446744073709551616.0 || (uint64_t)d > uhi)
		                : (d < -9223372036854775808.0 || d >= 9223372036854775808.0 ||
		                   (int64_t)d < lo || (int64_t)d > hi))
			return enc_fail(E, "integer out of range for the field%s", NULL);
		*out = is_unsigned ? (uint64_t)d : (uint64_t)(int64_t)d;
		return 0;
	}
	return enc_fail(E, "expected an integer (number or string)%s", NULL);
}

static int
json_to_double(enc *E, const json_t *v, bool single, double *out)
{
	if (json_is_number(v))
		*out = json_number_value(v);
	else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		if (!strcmp(s, "NaN"))
			*out = NAN;
		else if (!strcmp(s, "Infinity"))
			*out = INFINITY;
		else if (!strcmp(s, "-Infinity"))
			*out = -INFINITY;
		else {
			*out = strtod(s, &end);
			if (*s == 0 || isspace((unsigned char)*s) || *end != 0 || !isfinite(*out))
				return enc_fail(
				    E,
				    "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", got \"%s\"",
				    s);
		}
		return 0;
	} else
		return enc_fail(E, "expected a number%s", NULL);
	if (single && isfinite(*out) && fabs(*out) > FLT_MAX)
		return enc_fail(E, "number out of range for a float%s", NULL);
	return 0;
}

/* Encodes one scalar value (no tag) into b; *isdef set when it is the default. */
static int
enc_scalar(enc *E, const mc_pb_field *f, const json_t *v, obuf *b, bool *isdef)
{
	uint64_t u = 0;
	double d;

	*isdef = false;
	switch (f->type) {
	case MC_PB_INT32:
	case MC_PB_SFIXED32:
	case MC_PB_SINT32:
		if (json_to_int(E, v, false, INT32_MIN, INT32_MAX, 0, &u))
			return -1;
		*isdef = u == 0;
		if (f->type == MC_PB_SFIXED32)
			return ob_fixed(E, b, (uint32_t)(int32_t)(int64_t)u, 4);
		if (f->type == MC_PB_SINT32) {
			int32_t x = (int32_t)(int64_t)u;
			return ob_varint(E, b, (uint32_t)(((uint32_t)x << 1) ^ (uint32_t)(x >> 31)));
		}
		return ob_varint(E, b, (uint64_t)(int64_t)(int32_t)(int64_t)u);
	case MC_PB_UINT32:
	case MC_PB_FIXED32:
		if (json_to_int(E, v, true, 0, 0, UINT32_MAX, &u))
			return -1;
		*isdef = u == 0;
		return f->type == MC_PB_FIXED32 ? ob_fixed(E, b, u, 4) : ob_varint(E, b, u);
	case MC_PB_INT64:
	case MC_PB_SFIXED64:
	case MC_PB_SINT64:
		if (json_to_int(E, v, false, INT64_MIN, INT64_MAX, 0, &u))
			return -1;
		*isdef = u == 0;
		if (f->type == MC_PB_SFIXED64)
			return ob_fixed(E, b, u, 8);
		if (f->type == MC_PB_SINT64) {
			int64_t x = (int64_t)u;
			return ob_varint(E, b, ((uint64_t)x << 1) ^ (uint64_t)(x >> 63));
		}
		return ob_varint(E, b, u);
	case MC_PB_UINT64:
	case MC_PB_FIXED64:
		if (json_to_int(E, v, true, 0, 0, UINT64_MAX, &u))
			return -1;
		*isdef = u == 0;
		return f->type == MC_PB_FIXED64 ? ob_fixed(E, b, u, 8) : ob_varint(E, b, u);
	case MC_PB_BOOL:
		if (!json_is_boolean(v))
			return enc_fail(E, "expected true or false%s", NULL);
		*isdef = !json_is_true(v);
		return ob_varint(E, b, json_is_true(v));
	case MC_PB_FLOAT: {
		float x;
		uint32_t bits;
		if (json_to_double(E, v, true, &d))
			return -1;
		x = (float)d;
		memcpy(&bits, &x, 4);
		*isdef = bits == 0;
		return ob_fixed(E, b, bits, 4);
	}
	case MC_PB_DOUBLE:
		if (json_to_double(E, v, false, &d))
			return -1;
		memcpy(&u, &d, 8);
		*isdef = u == 0;
		return ob_fixed(E, b, u, 8);
	case MC_PB_ENUM: {
		int32_t num = 0;
		if (json_is_null(v) && is_null_enum(f))
			num = 0;
		else if (json_is_string(v)) {
			size_t i;
			for (i = 0; i < f->en->nvalues; i++)
				if (!strcmp(f->en->values[i].name, json_string_value(v)))
					break;
			if (i == f->en->nvalues) {
				mc_error_set(E->err, MC_EINVAL, E->path, "unknown value \"%s\" of enum %s",
				             json_string_value(v), f->en->full_name);
				return -1;
			}
			num = f->en->values[i].number;
		} else if (json_is_integer(v)) {
			if (json_to_int(E, v, false, INT32_MIN, INT32_MAX, 0, &u))
				return -1;
			num = (int32_t)(int64_t)u;
			if (f->en->closed) {
				size_t i;
				for (i = 0; i < f->en->nvalues && f->en->values[i].number != num; i++)
					;
				if (i == f->en->nvalues)
					return enc_fail(E, "number is not a value of closed enum %s",
					                f->en->full_name);
			}
		} else
			return enc_fail(E, "expected an enum value name or number%s", NULL);
		*isdef = num == 0;
		return ob_varint(E, b, (uint64_t)(int64_t)num);
	}
	case MC_PB_STRING:
		if (!json_is_string(v))
			return enc_fail(E, "expected a string%s", NULL);
		*isdef = json_string_length(v) == 0;
		return ob_varint(E, b, json_string_length(v)) ||
		               ob_put(E, b, json_string_value(v), json_string_length(v))
		           ? -1
		           : 0;
	case MC_PB_BYTES: {
		uint8_t *raw;
		size_t n = 0;
		int rc;
		if (!json_is_string(v))
			return enc_fail(E, "expected a base64 string%s", NULL);
		raw = b64_decode(json_string_value(v), json_string_length(v), &n);
		if (raw == NULL)
			return enc_fail(E, "invalid base64%s", NULL);
		*isdef = n == 0;
		rc = ob_varint(E, b, n) || ob_put(E, b, raw, n) ? -1 : 0;
		free(raw);
		return rc;
	}
	default:
		return enc_fail(E, "group fields are not supported%s", NULL);
	}
}

/* Encodes one value of field f with its tag (messages length-prefixed). */
static int
enc_field_value(enc *E, const mc_pb_field *f, const json_t *v, obuf *b, int depth, bool skip_default)
{
	obuf t = {0};
	bool isdef;
	int rc;

	if (f->type == MC_PB_MESSAGE) {
		rc = enc_msg(E, f->msg, v, &t, depth + 1);
		if (rc == 0)
			rc = ob_len(E, b, f->number, t.d, t.n);
		free(t.d);
		return rc;
	}
	rc = enc_scalar(E, f, v, &t, &isdef);
	if (rc == 0 && !(isdef && skip_default))
		rc = ob_tag(E, b, f->number, wire_type_of(f->type)) || ob_put(E, b, t.d, t.n) ? -1 : 0;
	free(t.d);
	return rc;
}

static int
enc_map(enc *E, const mc_pb_field *f, const json_t *v, obuf *b, int depth)
{
	const char *key;
	json_t *val;
	const mc_pb_field *kf = &f->msg->fields[0], *vf = &f->msg->fields[1];

	if (!json_is_object(v))
		return enc_fail(E, "expected an object for map field %s", f->name);
	json_object_foreach ((json_t *)v, key, val) {
		obuf e = {0};
		json_t *kj;
		int rc;
		size_t plen = PUSH_MAPKEY(E->path, key);

		if (kf->type == MC_PB_STRING)
			kj = json_string(key);
		else if (kf->type == MC_PB_BOOL) {
			if (strcmp(key, "true") && strcmp(key, "false"))
				return enc_fail(E, "map key \"%s\" is not true or false", key);
			kj = json_boolean(!strcmp(key, "true"));
		} else
			kj = json_string(key);
		rc = enc_field_value(E, kf, kj, &e, depth, false);
		json_decref(kj);
		if (rc == 0 && json_is_null(val) &&
		    !(vf->type == MC_PB_MESSAGE && wkt_of(vf->msg) == WKT_VALUE))
			rc = enc_fail(E, "map value may not be null%s", NULL);
		if (rc == 0)
			rc = enc_field_value(E, vf, val, &e, depth, false);
		if (rc == 0)
			rc = ob_len(E, b, f->number, e.d, e.n);
		free(e.d);
		if (rc)
			return -1;
		E->path[plen] = 0;
	}
	return 0;
}

/* Writes field f (map, repeated, or singular) from JSON v into b. 0, or -1 with E->err set. */
static int
enc_field(enc *E, const mc_pb_field *f, const json_t *v, obuf *b, int depth)
{
	if (is_map(f))
		return enc_map(E, f, v, b, depth);
	if (f->label == MC_PB_REPEATED) {
		size_t i;
		json_t *el;
		obuf pk = {0};
		if (!json_is_array(v))
			return enc_fail(E, "expected an array for repeated field %s", f->name);
		json_array_foreach (v, i, el) {
			size_t plen = PUSH_IDX(E->path, i);
			bool isdef;
			int rc;
			if (json_is_null(el) && !(f->type == MC_PB_MESSAGE && wkt_of(f->msg) == WKT_VALUE))
				rc = enc_fail(E, "array element may not be null%s", NULL);
			else if (f->packed)
				rc = enc_scalar(E, f, el, &pk, &isdef);
			else
				rc = enc_field_value(E, f, el, b, depth, false);
			if (rc) {
				free(pk.d);
				return -1;
			}
			E->path[plen] = 0;
		}
		if (f->packed && pk.n) {
			int rc = ob_len(E, b, f->number, pk.d, pk.n);
			free(pk.d);
			return rc;
		}
		free(pk.d);
		return 0;
	}
	return enc_field_value(E, f, v, b, depth, !f->has_presence);
}

static int
parse_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
parse_nanos(const char **p, int32_t *nanos)
{
	int n = 0;
	int32_t v = 0;
	if (**p != '.')
		return *nanos = 0, 0;
	(*p)++;
	while (isdigit((unsigned char)**p) && n < 9) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	if (n == 0 || isdigit((unsigned char)**p))
		return -1;
	while (n++ < 9)
		v *= 10;
	*nanos = v;
	return 0;
}

/* Writes the fields of well-known type m (kind k) from its special JSON form v into b.
 * 0 on success, -1 with E->err set. */
static int
enc_wkt(enc *E, const mc_pb_message *m, wkt k, const json_t *v, obuf *b, int depth)
{
	switch (k) {
	case WKT_TIMESTAMP: {
		const char *s = json_string_value(v), *p = s;
		int y, mo, d, h, mi, se, oh = 0, om = 0;
		int32_t nanos;
		int64_t secs;
		if (s == NULL)
			return enc_fail(E, "expected an RFC 3339 timestamp string%s", NULL);
		if (parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) || *p++ != '-' ||
		    parse_digits(&p, 2, &d) || (*p != 'T' && *p != 't') || !*p++ || parse_digits(&p, 2, &h) ||
		    *p++ != ':' || parse_digits(&p, 2, &mi) || *p++ != ':' || parse_digits(&p, 2, &se) ||
		    parse_nanos(&p, &nanos))
			return enc_fail(E, "invalid RFC 3339 timestamp \"%s\"", s);
		if (*p == 'Z' || *p == 'z')
			p++;
		else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1;
			if (parse_digits(&p, 2, &oh) || *p++ != ':' || parse_digits(&p, 2, &om))
				return enc_fail(E, "invalid RFC 3339 timestamp \"%s\"", s);
			oh *= sign;
			om *= sign;
		} else
			return enc_fail(E, "RFC 3339 timestamp \"%s\" needs Z or an offset", s);
		if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 || y < 1)
			return enc_fail(E, "invalid RFC 3339 timestamp \"%s\"", s);
		secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se -
		       (int64_t)oh * 3600 - (int64_t)om * 60;
		if (secs < TS_MIN || secs > TS_MAX)
			return enc_fail(E, "timestamp \"%s\" out of range", s);
		if (secs && (ob_tag(E, b, 1, PB_VARINT) || ob_varint(E, b, (uint64_t)secs)))
			return -1;
		if (nanos && (ob_tag(E, b, 2, PB_VARINT) || ob_varint(E, b, (uint64_t)nanos)))
			return -1;
		return 0;
	}
	case WKT_DURATION: {
		const char *s = json_string_value(v), *p;
		char *end;
		int32_t nanos = 0;
		long long secs;
		bool neg;
		if (s == NULL)
			return enc_fail(E, "expected a duration string like \"1.5s\"%s", NULL);
		neg = s[0] == '-';
		p = s + neg;
		if (!isdigit((unsigned char)*p))
			return enc_fail(E, "invalid duration \"%s\"", s);
		errno = 0;
		secs = strtoll(p, &end, 10);
		p = end;
		if (errno || parse_nanos(&p, &nanos) || *p != 's' || p[1] || secs > DUR_MAX)
			return enc_fail(E, "invalid duration \"%s\" (expected like \"1.5s\")", s);
		if (neg)
			secs = -secs, nanos = -nanos;
		if (secs && (ob_tag(E, b, 1, PB_VARINT) || ob_varint(E, b, (uint64_t)secs)))
			return -1;
		if (nanos && (ob_tag(E, b, 2, PB_VARINT) || ob_varint(E, b, (uint64_t)(int64_t)nanos)))
			return -1;
		return 0;
	}
	case WKT_FIELDMASK: {
		const char *s = json_string_value(v), *p;
		if (s == NULL)
			return enc_fail(E, "expected a FieldMask string like \"a.b,c\"%s", NULL);
		for (p = s; *p;) {
			const char *q = strchr(p, ',');
			size_t n = q ? (size_t)(q - p) : strlen(p);
			char *snake = malloc(2 * n + 1);
			size_t o = 0;
			int rc;
			if (snake == NULL)
				return enc_fail(E, "out of memory%s", NULL);
			for (size_t i = 0; i < n; i++) {
				if (isupper((unsigned char)p[i])) {
					snake[o++] = '_';
					snake[o++] = (char)tolower((unsigned char)p[i]);
				} else if (p[i] == '_') {
					free(snake);
					return enc_fail(
					    E, "FieldMask path in JSON must be lowerCamelCase: \"%s\"", s);
				} else
					snake[o++] = p[i];
			}
			rc = ob_len(E, b, 1, snake, o);
			free(snake);
			if (rc)
				return -1;
			p += n;
			if (*p == ',')
				p++;
		}
		return 0;
	}
	case WKT_STRUCT:
		if (!json_is_object(v))
			return enc_fail(E, "expected an object for a Struct%s", NULL);
		return enc_field(E, &m->fields[0], v, b, depth);
	case WKT_LIST:
		if (!json_is_array(v))
			return enc_fail(E, "expected an array for a ListValue%s", NULL);
		return enc_field(E, &m->fields[0], v, b, depth);
	case WKT_VALUE: {
		int num;
		obuf t = {0};
		int rc;
		switch (json_typeof(v)) {
		case JSON_NULL:
			return ob_tag(E, b, 1, PB_VARINT) || ob_varint(E, b, 0) ? -1 : 0;
		case JSON_INTEGER:
		case JSON_REAL: {
			double d = json_number_value(v);
			uint64_t u;
			memcpy(&u, &d, 8);
			return ob_tag(E, b, 2, PB_I64) || ob_fixed(E, b, u, 8) ? -1 : 0;
		}
		case JSON_STRING:
			return ob_len(E, b, 3, json_string_value(v), json_string_length(v));
		case JSON_TRUE:
		case JSON_FALSE:
			return ob_tag(E, b, 4, PB_VARINT) || ob_varint(E, b, json_is_true(v)) ? -1 : 0;
		case JSON_OBJECT:
			num = 5;
			break;
		default:
			num = 6;
			break;
		}
		const mc_pb_field *f = mc_pb_find_field(m, num);
		if (f == NULL || f->msg == NULL)
			return enc_fail(E, "google.protobuf.Value in the set lacks field %s",
			                num == 5 ? "struct_value" : "list_value");
		rc = enc_msg(E, f->msg, v, &t, depth + 1);
		if (rc == 0)
			rc = ob_len(E, b, num, t.d, t.n);
		free(t.d);
		return rc;
	}
	case WKT_EMPTY:
		if (!json_is_object(v))
			return enc_fail(E, "expected {} for google.protobuf.Empty%s", NULL);
		return 0;
	case WKT_WRAPPER:
		if (json_is_object(v) || json_is_array(v))
			return enc_fail(E, "expected a plain value for %s", m->full_name);
		return enc_field_value(E, &m->fields[0], v, b, depth, true);
	case WKT_ANY: {
		json_t *t = json_object_get(v, "@type");
		const char *url, *slash;
		const mc_pb_message *im;
		obuf ib = {0};
		int rc;
		if (!json_is_object(v))
			return enc_fail(E, "expected an object with \"@type\" for google.protobuf.Any%s",
			                NULL);
		if (json_object_size(v) == 0)
			return 0;
		if (!json_is_string(t))
			return enc_fail(E, "google.protobuf.Any needs a string \"@type\"%s", NULL);
		url = json_string_value(t);
		slash = strrchr(url, '/');
		im = mc_pb_find_message(E->s, slash ? slash + 1 : url);
		if (im == NULL)
			return enc_fail(E, "\"@type\" %s names a type not in the descriptor set", url);
		if (wkt_of(im) != WKT_NONE && (wkt_of(im) != WKT_EMPTY || json_object_get(v, "value"))) {
			json_t *val = json_object_get(v, "value");
			size_t plen = PUSH_KEY(E->path, "value");
			if (val == NULL)
				return enc_fail(E, "Any holding %s needs \"value\"", im->full_name);
			rc = enc_msg(E, im, val, &ib, depth + 1);
			if (rc) {
				free(ib.d);
				return -1;
			}
			E->path[plen] = 0;
		} else {
			json_t *copy = json_copy((json_t *)v);
			json_object_del(copy, "@type");
			rc = enc_msg(E, im, copy, &ib, depth + 1);
			json_decref(copy);
			if (rc) {
				free(ib.d);
				return -1;
			}
		}
		rc = ob_len(E, b, 1, url, strlen(url));
		if (rc == 0 && ib.n)
			rc = ob_len(E, b, 2, ib.d, ib.n);
		free(ib.d);
		return rc;
	}
	default:
		return -1;
	}
}

/* Encodes JSON v as message m into b: checks every key names a field once and at most one
 * member per oneof, then writes the fields in declaration order. 0, or -1 with E->err set. */
static int
enc_msg(enc *E, const mc_pb_message *m, const json_t *v, obuf *b, int depth)
{
	wkt k = wkt_of(m);
	const char *key;
	json_t *val;

	if (depth > MC_PB_MAX_DEPTH)
		return enc_fail(E, "nested deeper than the limit%s", NULL);
	if (k != WKT_NONE)
		return enc_wkt(E, m, k, v, b, depth);
	if (!json_is_object(v))
		return enc_fail(E, "expected an object for message %s", m->full_name);
	/* every key must name a field, once, and at most one member per oneof */
	json_object_foreach ((json_t *)v, key, val) {
		const mc_pb_field *f = mc_pb_find_field_name(m, key);
		if (f == NULL) {
			size_t plen = PUSH_KEY(E->path, key);
			enc_fail(E, "unknown field \"%s\"", key);
			E->path[plen] = 0;
			(void)plen;
			return -1;
		}
		if (strcmp(key, f->json_name) && strcmp(f->name, f->json_name) &&
		    json_object_get(v, f->json_name))
			return enc_fail(E, "field %s given twice (by proto name and JSON name)", f->name);
	}
	for (size_t i = 0; i < m->noneofs; i++) {
		const char *first = NULL;
		for (size_t j = 0; j < m->nfields; j++) {
			const mc_pb_field *f = &m->fields[j];
			json_t *x;
			if (f->oneof_index != (int32_t)i)
				continue;
			x = json_object_get(v, f->json_name);
			if (x == NULL)
				x = json_object_get(v, f->name);
			if (x == NULL ||
			    (json_is_null(x) && !(f->type == MC_PB_MESSAGE && wkt_of(f->msg) == WKT_VALUE) &&
			     !is_null_enum(f)))
				continue;
			if (first) {
				mc_error_set(E->err, MC_EINVAL, E->path,
				             "oneof %s has more than one member set: %s and %s", m->oneofs[i],
				             first, f->json_name);
				return -1;
			}
			first = f->json_name;
		}
	}
	for (size_t j = 0; j < m->nfields; j++) {
		const mc_pb_field *f = &m->fields[j];
		json_t *x = json_object_get(v, f->json_name);
		size_t plen;
		int rc;
		if (x == NULL)
			x = json_object_get(v, f->name);
		if (x == NULL)
			continue;
		if (json_is_null(x) &&
		    !(f->label != MC_PB_REPEATED &&
		      ((f->type == MC_PB_MESSAGE && wkt_of(f->msg) == WKT_VALUE) || is_null_enum(f))))
			continue;
		plen = PUSH_KEY(E->path, f->json_name);
		rc = enc_field(E, f, x, b, depth);
		if (rc)
			return -1;
		E->path[plen] = 0;
	}
	return 0;
}

mc_status
mc_pb_from_json(const mc_pb_set *s, const char *msg_type, const json_t *v, uint8_t **out, size_t *outlen,
                mc_error *err)
{
	enc E = {s, err, 0, "$"};
	obuf b = {0};
	const mc_pb_message *m = mc_pb_find_message(s, msg_type);

	*out = NULL;
	*outlen = 0;
	if (m == NULL) {
		mc_error_set(err, MC_ENOTFOUND, "", "message type %s is not in the descriptor set",
		             msg_type ? msg_type : "(null)");
		return MC_ENOTFOUND;
	}
	if (v == NULL) {
		mc_error_set(err, MC_EINVAL, "$", "no JSON value");
		return MC_EINVAL;
	}
	if (enc_msg(&E, m, v, &b, 0) != 0) {
		free(b.d);
		return err ? err->code : MC_EINVAL;
	}
	*out = b.d;
	*outlen = b.n;
	return MC_OK;
}

/* ------------------------------------------------------------ examples */

#define EXAMPLE_DEPTH 4

static json_t *
fake(const char *name, const char *args, mc_rng *rng)
{
	mc_error e;
	json_t *v = mc_fake(name, args, rng, 1700000000, &e);
	return v ? v : json_string("example");
}

static bool
name_has(const char *name, const char *w)
{
	return strstr(name, w) != NULL;
}

static json_t *
example_string(const char *n, mc_rng *rng)
{
	if (name_has(n, "email"))
		return fake("Email", NULL, rng);
	if (!strcmp(n, "id") || name_has(n, "_id") || name_has(n, "uuid") || name_has(n, "guid"))
		return fake("UUID", NULL, rng);
	if (name_has(n, "first_name"))
		return fake("FirstName", NULL, rng);
	if (name_has(n, "last_name"))
		return fake("LastName", NULL, rng);
	if (name_has(n, "user"))
		return fake("Username", NULL, rng);
	if (name_has(n, "company"))
		return fake("Company", NULL, rng);
	if (name_has(n, "name"))
		return fake("Name", NULL, rng);
	if (name_has(n, "phone"))
		return fake("PhoneNumber", NULL, rng);
	if (name_has(n, "city"))
		return fake("City", NULL, rng);
	if (name_has(n, "country"))
		return fake("Country", NULL, rng);
	if (name_has(n, "address") || name_has(n, "street"))
		return fake("StreetAddress", NULL, rng);
	if (name_has(n, "zip") || name_has(n, "postal"))
		return fake("ZipCode", NULL, rng);
	if (name_has(n, "url") || name_has(n, "link") || name_has(n, "website"))
		return fake("URL", NULL, rng);
	if (name_has(n, "date"))
		return fake("DateISO", NULL, rng);
	if (name_has(n, "title") || name_has(n, "job"))
		return fake("JobTitle", NULL, rng);
	if (name_has(n, "product"))
		return fake("ProductName", NULL, rng);
	if (name_has(n, "password"))
		return fake("Password", NULL, rng);
	if (name_has(n, "token"))
		return fake("JWT", NULL, rng);
	if (name_has(n, "description") || name_has(n, "comment") || name_has(n, "message") ||
	    name_has(n, "text"))
		return fake("Sentence", NULL, rng);
	return fake("Word", NULL, rng);
}

static json_t *example_msg(const mc_pb_set *s, const mc_pb_message *m, mc_rng *rng, int depth);

static json_t *
example_value(const mc_pb_set *s, const mc_pb_field *f, mc_rng *rng, int depth)
{
	const char *n = f->name;
	json_t *v;

	switch (f->type) {
	case MC_PB_STRING:
		return example_string(n, rng);
	case MC_PB_BOOL:
		return json_boolean(mc_rng_next(rng) & 1);
	case MC_PB_FLOAT:
	case MC_PB_DOUBLE:
		if (name_has(n, "lat"))
			v = fake("Latitude", NULL, rng);
		else if (name_has(n, "lon") || name_has(n, "lng"))
			v = fake("Longitude", NULL, rng);
		else if (name_has(n, "price") || name_has(n, "amount"))
			v = fake("Price", NULL, rng);
		else
			v = fake("FloatRange", "1,100", rng);
		if (json_is_string(v)) { /* a faker that formats its number */
			double d = strtod(json_string_value(v), NULL);
			json_decref(v);
			v = json_real(isfinite(d) ? d : 1.5);
		}
		return json_is_number(v) ? v : (json_decref(v), json_real(1.5));
	case MC_PB_BYTES:
		return json_string("ZXhhbXBsZQ==");
	case MC_PB_ENUM:
		for (size_t i = 0; i < f->en->nvalues; i++)
			if (f->en->values[i].number != 0 || f->en->nvalues == 1)
				return is_null_enum(f) ? json_null() : json_string(f->en->values[i].name);
		return f->en->nvalues ? json_string(f->en->values[0].name) : json_integer(0);
	case MC_PB_MESSAGE:
		return example_msg(s, f->msg, rng, depth + 1);
	case MC_PB_INT64:
	case MC_PB_UINT64:
	case MC_PB_SINT64:
	case MC_PB_FIXED64:
	case MC_PB_SFIXED64:
		v = fake("IntBetween", "1,100000", rng);
		if (json_is_integer(v)) {
			json_t *str = int64_str(json_integer_value(v));
			json_decref(v);
			return str;
		}
		return v;
	default:
		return fake("IntBetween", "1,1000", rng);
	}
}

/* Example JSON of message m: every field once (first member of each oneof), values from the
 * faker by field name; messages below EXAMPLE_DEPTH only. New reference. */
static json_t *
example_msg(const mc_pb_set *s, const mc_pb_message *m, mc_rng *rng, int depth)
{
	json_t *o;
	wkt k = wkt_of(m);
	bool *oneof_done = NULL;

	switch (k) {
	case WKT_TIMESTAMP:
		return json_string("2024-01-15T10:30:00Z");
	case WKT_DURATION:
		return json_string("1.5s");
	case WKT_STRUCT:
		return json_pack("{s:s}", "key", "value");
	case WKT_VALUE:
		return json_string("value");
	case WKT_LIST:
		return json_pack("[s]", "value");
	case WKT_FIELDMASK:
		return json_string("name");
	case WKT_EMPTY:
		return json_object();
	case WKT_ANY:
		return json_pack("{s:s,s:{}}", "@type", "type.googleapis.com/google.protobuf.Empty", "value");
	case WKT_WRAPPER:
		return example_value(s, &m->fields[0], rng, depth);
	default:
		break;
	}
	o = json_object();
	if (depth > EXAMPLE_DEPTH)
		return o;
	if (m->noneofs)
		oneof_done = calloc(m->noneofs, sizeof(bool));
	for (size_t i = 0; i < m->nfields; i++) {
		const mc_pb_field *f = &m->fields[i];
		json_t *v;
		if (f->oneof_index >= 0) {
			if (oneof_done == NULL || oneof_done[f->oneof_index])
				continue;
			oneof_done[f->oneof_index] = true;
		}
		/* a message type recursing into itself stops one level early */
		if (f->type == MC_PB_MESSAGE && depth >= EXAMPLE_DEPTH && wkt_of(f->msg) == WKT_NONE)
			continue;
		if (is_map(f)) {
			json_t *key = example_value(s, &f->msg->fields[0], rng, depth);
			char kb[64];
			if (json_is_string(key))
				snprintf(kb, sizeof(kb), "%s", json_string_value(key));
			else if (json_is_boolean(key))
				snprintf(kb, sizeof(kb), "%s", json_is_true(key) ? "true" : "false");
			else
				snprintf(kb, sizeof(kb), "%" JSON_INTEGER_FORMAT, json_integer_value(key));
			json_decref(key);
			v = json_object();
			json_object_set_new(v, kb, example_value(s, &f->msg->fields[1], rng, depth));
		} else if (f->label == MC_PB_REPEATED) {
			v = json_array();
			json_array_append_new(v, example_value(s, f, rng, depth));
		} else
			v = example_value(s, f, rng, depth);
		json_object_set_new(o, f->json_name, v);
	}
	free(oneof_done);
	return o;
}

json_t *
mc_pb_example(const mc_pb_set *s, const char *msg_type, mc_rng *rng)
{
	const mc_pb_message *m = mc_pb_find_message(s, msg_type);
	return m ? example_msg(s, m, rng, 0) : NULL;
}
