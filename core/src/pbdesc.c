/*
 * pbdesc.c - loading a google.protobuf.FileDescriptorSet into mc_pb_set.
 *
 * The set is decoded straight from the wire format with the public, stable
 * field numbers of descriptor.proto (no libprotobuf dependency in core), then
 * every field's type_name and every method's input/output is resolved to the
 * message or enum it names. Lookups are binary searches over sorted arrays.
 * Malformed input yields an error naming the byte offset in the set.
 */
#include "pb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct loader {
	mc_pb_set *s;
	size_t capm, cape, caps, capf;
	mc_error *err;
	const uint8_t *base;
} loader;

static int
grow(void **arr, size_t *cap, size_t n, size_t elt)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 8;
	void *p = realloc(*arr, nc * elt);
	if (p == NULL)
		return -1;
	memset((char *)p + *cap * elt, 0, (nc - *cap) * elt);
	*arr = p;
	*cap = nc;
	return 0;
}

static char *
dupn(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, d, n);
		s[n] = 0;
	}
	return s;
}

static char *
join(const char *prefix, const char *name)
{
	size_t a = strlen(prefix), b = strlen(name);
	char *s = malloc(a + b + 2);
	if (s == NULL)
		return NULL;
	if (a) {
		memcpy(s, prefix, a);
		s[a] = '.';
		memcpy(s + a + 1, name, b + 1);
	} else
		memcpy(s, name, b + 1);
	return s;
}

static int
bad(loader *L, const pbr *r, const char *what)
{
	mc_error_set(L->err, MC_EINVAL, "", "malformed descriptor set at byte offset %zu: %s",
	             (size_t)(r->p - L->base), what);
	return -1;
}

static int
oom(loader *L)
{
	mc_error_set(L->err, MC_ENOMEM, "", "out of memory loading descriptor set");
	return -1;
}

/* Reads one tag; 1 = field read, 0 = end, -1 = error. */
static int
next_tag(loader *L, pbr *r, uint32_t *num, int *wt)
{
	uint64_t tag;

	if (r->p >= r->end)
		return 0;
	if (pbr_varint(r, &tag) != 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
		return bad(L, r, "bad field tag");
	*num = (uint32_t)(tag >> 3);
	*wt = (int)(tag & 7);
	return 1;
}

static int
want_len(loader *L, pbr *r, int wt, pbr *sub)
{
	const uint8_t *d;
	size_t n;

	if (wt != PB_LEN)
		return bad(L, r, "expected a length-delimited field");
	if (pbr_bytes(r, &d, &n) != 0)
		return bad(L, r, "declared length beyond the end of the data");
	sub->p = d;
	sub->end = d + n;
	sub->base = r->base;
	return 0;
}

static int
want_str(loader *L, pbr *r, int wt, char **out)
{
	pbr sub;

	if (want_len(L, r, wt, &sub) != 0)
		return -1;
	free(*out);
	*out = dupn(sub.p, (size_t)(sub.end - sub.p));
	return *out ? 0 : oom(L);
}

static int
want_varint(loader *L, pbr *r, int wt, uint64_t *v)
{
	if (wt != PB_VARINT)
		return bad(L, r, "expected a varint field");
	if (pbr_varint(r, v) != 0)
		return bad(L, r, "truncated varint");
	return 0;
}

static int
skip(loader *L, pbr *r, int wt)
{
	return pbr_skip(r, wt, 0) == 0 ? 0 : bad(L, r, "truncated or malformed field");
}

/* Reads one bool option (field number optnum) out of an options message. */
static int
read_bool_option(loader *L, pbr *opt, uint32_t optnum, int *val)
{
	uint32_t num;
	int wt, t;
	uint64_t v;

	while ((t = next_tag(L, opt, &num, &wt)) == 1) {
		if (num == optnum && wt == PB_VARINT) {
			if (want_varint(L, opt, wt, &v) != 0)
				return -1;
			*val = v != 0;
		} else if (skip(L, opt, wt) != 0)
			return -1;
	}
	return t;
}

static char *
lower_camel(const char *name)
{
	size_t n = strlen(name), j = 0;
	char *s = malloc(n + 1);
	bool up = false;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '_')
			up = true;
		else if (up) {
			s[j++] = (name[i] >= 'a' && name[i] <= 'z') ? (char)(name[i] - 32) : name[i];
			up = false;
		} else
			s[j++] = name[i];
	}
	s[j] = 0;
	return s;
}

/* Decodes one FieldDescriptorProto into f; *packed_opt gets the [packed] option (-1 unset).
 * 0, or -1 with L->err naming the byte offset. */
static int
load_field(loader *L, pbr *r, mc_pb_field *f, int *packed_opt)
{
	uint32_t num;
	int wt, t;
	uint64_t v;
	pbr sub;

	f->oneof_index = -1;
	*packed_opt = -1;
	while ((t = next_tag(L, r, &num, &wt)) == 1) {
		switch (num) {
		case 1:
			if (want_str(L, r, wt, &f->name))
				return -1;
			break;
		case 3:
			if (want_varint(L, r, wt, &v))
				return -1;
			f->number = (int32_t)v;
			break;
		case 4:
			if (want_varint(L, r, wt, &v))
				return -1;
			f->label = (mc_pb_label)v;
			break;
		case 5:
			if (want_varint(L, r, wt, &v))
				return -1;
			f->type = (mc_pb_type)v;
			break;
		case 6:
			if (want_str(L, r, wt, &f->type_name))
				return -1;
			break;
		case 9:
			if (want_varint(L, r, wt, &v))
				return -1;
			f->oneof_index = (int32_t)v;
			break;
		case 10:
			if (want_str(L, r, wt, &f->json_name))
				return -1;
			break;
		case 17:
			if (want_varint(L, r, wt, &v))
				return -1;
			f->proto3_optional = v != 0;
			break;
		case 8:
			if (want_len(L, r, wt, &sub) || read_bool_option(L, &sub, 2, packed_opt) < 0)
				return -1;
			break;
		default:
			if (skip(L, r, wt))
				return -1;
		}
	}
	if (t < 0)
		return -1;
	if (f->name == NULL || f->number <= 0 || f->type < MC_PB_DOUBLE || f->type > MC_PB_SINT64 ||
	    f->label < MC_PB_OPTIONAL || f->label > MC_PB_REPEATED)
		return bad(L, r, "field without a valid name, number, type or label");
	if (f->json_name == NULL && (f->json_name = lower_camel(f->name)) == NULL)
		return oom(L);
	return 0;
}

static int
load_enum_body(loader *L, pbr *r, const char *prefix, bool proto3, char **namep)
{
	uint32_t num;
	int wt, t;
	pbr sub;
	size_t capv = 0;
	mc_pb_enum *e = calloc(1, sizeof(*e));

	if (e == NULL || grow((void **)&L->s->enums, &L->cape, L->s->nenums, sizeof(void *)))
		return free(e), oom(L);
	L->s->enums[L->s->nenums++] = e;
	e->closed = !proto3;
	while ((t = next_tag(L, r, &num, &wt)) == 1) {
		if (num == 1) {
			if (want_str(L, r, wt, namep))
				return -1;
		} else if (num == 2) {
			uint32_t n2;
			int w2, t2;
			uint64_t v;
			mc_pb_enum_value *ev;

			if (want_len(L, r, wt, &sub))
				return -1;
			if (grow((void **)&e->values, &capv, e->nvalues, sizeof(*e->values)))
				return oom(L);
			ev = &e->values[e->nvalues++];
			while ((t2 = next_tag(L, &sub, &n2, &w2)) == 1) {
				if (n2 == 1) {
					if (want_str(L, &sub, w2, &ev->name))
						return -1;
				} else if (n2 == 2) {
					if (want_varint(L, &sub, w2, &v))
						return -1;
					ev->number = (int32_t)v;
				} else if (skip(L, &sub, w2))
					return -1;
			}
			if (t2 < 0)
				return -1;
			if (ev->name == NULL)
				return bad(L, &sub, "enum value without a name");
		} else if (skip(L, r, wt))
			return -1;
	}
	if (t < 0)
		return -1;
	if (*namep == NULL)
		return bad(L, r, "enum without a name");
	e->full_name = join(prefix, *namep);
	return e->full_name ? 0 : oom(L);
}

static int
load_enum(loader *L, pbr *r, const char *prefix, bool proto3)
{
	char *name = NULL;
	int rc = load_enum_body(L, r, prefix, proto3, &name);

	free(name);
	return rc;
}

/* Decodes one DescriptorProto (and its nested messages and enums) under prefix and registers
 * it in the set; strings are owned by the set. 0, or -1 with L->err set. */
static int
load_message(loader *L, pbr *r, const char *prefix, const char *file, bool proto3, int depth)
{
	uint32_t num;
	int wt, t;
	pbr sub;
	char *name = NULL;
	size_t capf = 0, capo = 0;
	int *packed = NULL;
	mc_pb_message *m;
	const uint8_t *start = r->p;

	if (depth > MC_PB_MAX_DEPTH)
		return bad(L, r, "messages nested too deeply");
	/* the name is needed before nested types: find it first */
	while ((t = next_tag(L, r, &num, &wt)) == 1) {
		if (num == 1) {
			if (want_str(L, r, wt, &name))
				return free(name), -1;
		} else if (skip(L, r, wt))
			return free(name), -1;
	}
	if (t < 0 || name == NULL)
		return free(name), t < 0 ? -1 : bad(L, r, "message without a name");
	m = calloc(1, sizeof(*m));
	if (m == NULL || grow((void **)&L->s->msgs, &L->capm, L->s->nmsgs, sizeof(void *)))
		return free(name), free(m), oom(L);
	L->s->msgs[L->s->nmsgs++] = m;
	m->full_name = join(prefix, name);
	free(name);
	if (m->full_name == NULL)
		return oom(L);
	m->file = file;
	m->proto3 = proto3;
	r->p = start;
	while ((t = next_tag(L, r, &num, &wt)) == 1) {
		int po;
		switch (num) {
		case 2:
			if (want_len(L, r, wt, &sub))
				goto fail;
			if (grow((void **)&m->fields, &capf, m->nfields, sizeof(*m->fields)))
				goto nomem;
			if (load_field(L, &sub, &m->fields[m->nfields++], &po))
				goto fail;
			{
				mc_pb_field *f = &m->fields[m->nfields - 1];
				bool scalar = f->type != MC_PB_STRING && f->type != MC_PB_BYTES &&
				              f->type != MC_PB_MESSAGE && f->type != MC_PB_GROUP;
				f->packed =
				    f->label == MC_PB_REPEATED && scalar && (po == 1 || (po == -1 && proto3));
				f->has_presence = f->label != MC_PB_REPEATED &&
				                  (!proto3 || f->proto3_optional || f->oneof_index >= 0 ||
				                   f->type == MC_PB_MESSAGE || f->type == MC_PB_GROUP);
			}
			break;
		case 3:
		case 4:
			if (want_len(L, r, wt, &sub))
				goto fail;
			if ((num == 3 ? load_message(L, &sub, m->full_name, file, proto3, depth + 1)
			              : load_enum(L, &sub, m->full_name, proto3)) != 0)
				goto fail;
			break;
		case 7: {
			int me = 0;
			if (want_len(L, r, wt, &sub) || read_bool_option(L, &sub, 7, &me) < 0)
				goto fail;
			m->map_entry = me;
			break;
		}
		case 8: {
			uint32_t n2;
			int w2, t2;
			char *on = NULL;
			if (want_len(L, r, wt, &sub))
				goto fail;
			while ((t2 = next_tag(L, &sub, &n2, &w2)) == 1)
				if (n2 == 1 ? want_str(L, &sub, w2, &on) : skip(L, &sub, w2))
					return free(on), -1;
			if (t2 < 0 || grow((void **)&m->oneofs, &capo, m->noneofs, sizeof(char *)))
				return free(on), t2 < 0 ? -1 : oom(L);
			m->oneofs[m->noneofs++] = on ? on : strdup("");
			break;
		}
		default:
			if (skip(L, r, wt))
				goto fail;
		}
	}
	if (t < 0)
		goto fail;
	for (size_t i = 0; i < m->nfields; i++)
		if (m->fields[i].oneof_index >= (int32_t)m->noneofs)
			return bad(L, r, "oneof_index out of range");
	free(packed);
	return 0;
nomem:
	oom(L);
fail:
	free(packed);
	return -1;
}

/* Decodes one ServiceDescriptorProto with its methods (types resolved later). 0 or -1. */
static int
load_service(loader *L, pbr *r, const char *prefix, const char *file)
{
	uint32_t num;
	int wt, t;
	pbr sub;
	char *name = NULL;
	size_t capm = 0;
	mc_pb_service *sv;

	if (grow((void **)&L->s->services, &L->caps, L->s->nservices, sizeof(*sv)))
		return oom(L);
	sv = &L->s->services[L->s->nservices++];
	sv->file = file;
	while ((t = next_tag(L, r, &num, &wt)) == 1) {
		if (num == 1) {
			if (want_str(L, r, wt, &name))
				return free(name), -1;
		} else if (num == 2) {
			uint32_t n2;
			int w2, t2;
			uint64_t v;
			mc_pb_method *md;
			if (want_len(L, r, wt, &sub))
				return free(name), -1;
			if (grow((void **)&sv->methods, &capm, sv->nmethods, sizeof(*md)))
				return free(name), oom(L);
			md = &sv->methods[sv->nmethods++];
			while ((t2 = next_tag(L, &sub, &n2, &w2)) == 1) {
				int rc = 0;
				switch (n2) {
				case 1:
					rc = want_str(L, &sub, w2, &md->name);
					break;
				case 2:
					rc = want_str(L, &sub, w2, &md->input_type);
					break;
				case 3:
					rc = want_str(L, &sub, w2, &md->output_type);
					break;
				case 5:
					rc = want_varint(L, &sub, w2, &v);
					md->client_streaming = v != 0;
					break;
				case 6:
					rc = want_varint(L, &sub, w2, &v);
					md->server_streaming = v != 0;
					break;
				default:
					rc = skip(L, &sub, w2);
				}
				if (rc)
					return free(name), -1;
			}
			if (t2 < 0)
				return free(name), -1;
			if (!md->name || !md->input_type || !md->output_type)
				return free(name),
				       bad(L, &sub, "method without a name, input or output type");
		} else if (skip(L, r, wt))
			return free(name), -1;
	}
	if (t < 0 || name == NULL)
		return free(name), t < 0 ? -1 : bad(L, r, "service without a name");
	sv->full_name = join(prefix, name);
	free(name);
	return sv->full_name ? 0 : oom(L);
}

/* Decodes one FileDescriptorProto: first its name, package, syntax and dependencies, then its
 * messages, enums and services (which need the package and syntax). 0 or -1. */
static int
load_file(loader *L, pbr *r, mc_pb_file *f)
{
	uint32_t num;
	int wt, t;
	pbr sub;
	size_t capd = 0;
	const uint8_t *start = r->p;
	bool proto3;

	f->raw = r->p;
	f->rawlen = (size_t)(r->end - r->p);
	/* pass 1: name, package, syntax, dependencies */
	while ((t = next_tag(L, r, &num, &wt)) == 1) {
		int rc;
		if (num == 1)
			rc = want_str(L, r, wt, &f->name);
		else if (num == 2)
			rc = want_str(L, r, wt, &f->package);
		else if (num == 12)
			rc = want_str(L, r, wt, &f->syntax);
		else if (num == 3) {
			if (grow((void **)&f->deps, &capd, f->ndeps, sizeof(char *)))
				return oom(L);
			f->deps[f->ndeps] = NULL;
			rc = want_str(L, r, wt, &f->deps[f->ndeps]);
			f->ndeps++;
		} else
			rc = skip(L, r, wt);
		if (rc)
			return -1;
	}
	if (t < 0)
		return -1;
	if (f->name == NULL)
		return bad(L, r, "file without a name");
	if (f->package == NULL && (f->package = strdup("")) == NULL)
		return oom(L);
	if (f->syntax == NULL && (f->syntax = strdup("proto2")) == NULL)
		return oom(L);
	proto3 = strcmp(f->syntax, "proto3") == 0;
	r->p = start;
	while ((t = next_tag(L, r, &num, &wt)) == 1) {
		int rc = 0;
		if (num == 4 || num == 5 || num == 6) {
			if (want_len(L, r, wt, &sub))
				return -1;
			rc = num == 4   ? load_message(L, &sub, f->package, f->name, proto3, 0)
			     : num == 5 ? load_enum(L, &sub, f->package, proto3)
			                : load_service(L, &sub, f->package, f->name);
		} else
			rc = skip(L, r, wt);
		if (rc)
			return -1;
	}
	return t;
}

static int
cmp_msg(const void *a, const void *b)
{
	return strcmp((*(mc_pb_message *const *)a)->full_name, (*(mc_pb_message *const *)b)->full_name);
}

static int
cmp_enum(const void *a, const void *b)
{
	return strcmp((*(mc_pb_enum *const *)a)->full_name, (*(mc_pb_enum *const *)b)->full_name);
}

static const char *
undot(const char *n)
{
	return n[0] == '.' ? n + 1 : n;
}

const mc_pb_message *
mc_pb_find_message(const mc_pb_set *s, const char *full_name)
{
	size_t lo = 0, hi;

	if (s == NULL || full_name == NULL)
		return NULL;
	full_name = undot(full_name);
	hi = s->nmsgs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s->msgs[mid]->full_name, full_name);
		if (c == 0)
			return s->msgs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const mc_pb_enum *
mc_pb_find_enum(const mc_pb_set *s, const char *full_name)
{
	size_t lo = 0, hi;

	if (s == NULL || full_name == NULL)
		return NULL;
	full_name = undot(full_name);
	hi = s->nenums;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s->enums[mid]->full_name, full_name);
		if (c == 0)
			return s->enums[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const mc_pb_service *
mc_pb_find_service(const mc_pb_set *s, const char *full_name)
{
	if (s == NULL || full_name == NULL)
		return NULL;
	full_name = undot(full_name);
	for (size_t i = 0; i < s->nservices; i++)
		if (strcmp(s->services[i].full_name, full_name) == 0)
			return &s->services[i];
	return NULL;
}

const mc_pb_field *
mc_pb_find_field(const mc_pb_message *m, int32_t number)
{
	for (size_t i = 0; m && i < m->nfields; i++)
		if (m->fields[i].number == number)
			return &m->fields[i];
	return NULL;
}

const mc_pb_field *
mc_pb_find_field_name(const mc_pb_message *m, const char *name)
{
	for (size_t i = 0; m && i < m->nfields; i++)
		if (strcmp(m->fields[i].json_name, name) == 0)
			return &m->fields[i];
	for (size_t i = 0; m && i < m->nfields; i++)
		if (strcmp(m->fields[i].name, name) == 0)
			return &m->fields[i];
	return NULL;
}

size_t
mc_pb_file_count(const mc_pb_set *s)
{
	return s ? s->nfiles : 0;
}
const mc_pb_file *
mc_pb_file_at(const mc_pb_set *s, size_t i)
{
	return s && i < s->nfiles ? &s->files[i] : NULL;
}
size_t
mc_pb_service_count(const mc_pb_set *s)
{
	return s ? s->nservices : 0;
}
const mc_pb_service *
mc_pb_service_at(const mc_pb_set *s, size_t i)
{
	return s && i < s->nservices ? &s->services[i] : NULL;
}

/* Resolves type names; the error names the element that refers to a missing type. */
static int
resolve(loader *L)
{
	mc_pb_set *s = L->s;

	qsort(s->msgs, s->nmsgs, sizeof(void *), cmp_msg);
	qsort(s->enums, s->nenums, sizeof(void *), cmp_enum);
	for (size_t i = 1; i < s->nmsgs; i++)
		if (strcmp(s->msgs[i - 1]->full_name, s->msgs[i]->full_name) == 0) {
			mc_error_set(L->err, MC_EINVAL, "", "duplicate message %s in descriptor set",
			             s->msgs[i]->full_name);
			return -1;
		}
	for (size_t i = 0; i < s->nmsgs; i++) {
		mc_pb_message *m = s->msgs[i];
		for (size_t j = 0; j < m->nfields; j++) {
			mc_pb_field *f = &m->fields[j];
			if (f->type == MC_PB_MESSAGE || f->type == MC_PB_GROUP) {
				f->msg = f->type_name ? mc_pb_find_message(s, f->type_name) : NULL;
				if (f->msg == NULL)
					goto missing;
			} else if (f->type == MC_PB_ENUM) {
				f->en = f->type_name ? mc_pb_find_enum(s, f->type_name) : NULL;
				if (f->en == NULL)
					goto missing;
			} else
				continue;
			{
				char *t = strdup(undot(f->type_name));
				if (t == NULL)
					return oom(L);
				free(f->type_name);
				f->type_name = t;
			}
			continue;
		missing:
			mc_error_set(L->err, MC_EINVAL, "", "field %s.%s refers to unknown type %s",
			             m->full_name, f->name, f->type_name ? f->type_name : "(none)");
			return -1;
		}
		if (m->map_entry &&
		    (m->nfields != 2 || m->fields[0].number != 1 || m->fields[1].number != 2)) {
			mc_error_set(L->err, MC_EINVAL, "",
			             "map entry %s must have fields key = 1 and value = 2", m->full_name);
			return -1;
		}
		/* a proto3 optional field sits in a synthetic oneof: treat it as a plain optional */
		for (size_t j = 0; j < m->nfields; j++)
			if (m->fields[j].proto3_optional)
				m->fields[j].oneof_index = -1;
	}
	for (size_t i = 0; i < s->nservices; i++)
		for (size_t j = 0; j < s->services[i].nmethods; j++) {
			mc_pb_method *md = &s->services[i].methods[j];
			md->input = mc_pb_find_message(s, md->input_type);
			md->output = mc_pb_find_message(s, md->output_type);
			if (md->input == NULL || md->output == NULL) {
				mc_error_set(L->err, MC_EINVAL, "", "method %s.%s refers to unknown type %s",
				             s->services[i].full_name, md->name,
				             md->input ? md->output_type : md->input_type);
				return -1;
			}
		}
	return 0;
}

mc_pb_set *
mc_pb_set_load(const uint8_t *buf, size_t len, mc_error *err)
{
	loader L = {0};
	pbr r;
	uint32_t num;
	int wt, t;

	L.err = err;
	L.s = calloc(1, sizeof(mc_pb_set));
	if (L.s == NULL || (L.s->raw = malloc(len ? len : 1)) == NULL) {
		free(L.s);
		mc_error_set(err, MC_ENOMEM, "", "out of memory loading descriptor set");
		return NULL;
	}
	if (len)
		memcpy(L.s->raw, buf, len);
	L.s->rawlen = len;
	L.base = L.s->raw;
	r.p = r.base = L.s->raw;
	r.end = L.s->raw + len;
	while ((t = next_tag(&L, &r, &num, &wt)) == 1) {
		pbr sub;
		if (num != 1) {
			if (skip(&L, &r, wt))
				goto fail;
			continue;
		}
		if (want_len(&L, &r, wt, &sub))
			goto fail;
		if (grow((void **)&L.s->files, &L.capf, L.s->nfiles, sizeof(mc_pb_file))) {
			oom(&L);
			goto fail;
		}
		if (load_file(&L, &sub, &L.s->files[L.s->nfiles++]) < 0)
			goto fail;
	}
	if (t < 0)
		goto fail;
	if (L.s->nfiles == 0) {
		mc_error_set(err, MC_EINVAL, "", "descriptor set holds no file");
		goto fail;
	}
	if (resolve(&L) == 0)
		return L.s;
fail:
	mc_pb_set_free(L.s);
	return NULL;
}

void
mc_pb_set_free(mc_pb_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nmsgs; i++) {
		mc_pb_message *m = s->msgs[i];
		for (size_t j = 0; j < m->nfields; j++) {
			free(m->fields[j].name);
			free(m->fields[j].json_name);
			free(m->fields[j].type_name);
		}
		for (size_t j = 0; j < m->noneofs; j++)
			free(m->oneofs[j]);
		free(m->oneofs);
		free(m->fields);
		free(m->full_name);
		free(m);
	}
	for (size_t i = 0; i < s->nenums; i++) {
		for (size_t j = 0; j < s->enums[i]->nvalues; j++)
			free(s->enums[i]->values[j].name);
		free(s->enums[i]->values);
		free(s->enums[i]->full_name);
		free(s->enums[i]);
	}
	for (size_t i = 0; i < s->nservices; i++) {
		for (size_t j = 0; j < s->services[i].nmethods; j++) {
			free(s->services[i].methods[j].name);
			free(s->services[i].methods[j].input_type);
			free(s->services[i].methods[j].output_type);
		}
		free(s->services[i].methods);
		free(s->services[i].full_name);
	}
	for (size_t i = 0; i < s->nfiles; i++) {
		free(s->files[i].name);
		free(s->files[i].package);
		free(s->files[i].syntax);
		for (size_t j = 0; j < s->files[i].ndeps; j++)
			free(s->files[i].deps[j]);
		free(s->files[i].deps);
	}
	free(s->files);
	free(s->msgs);
	free(s->enums);
	free(s->services);
	free(s->raw);
	free(s);
}
