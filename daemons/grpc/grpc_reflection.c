/*
 * grpc_reflection.c - gRPC server reflection (grpc.reflection.v1 and v1alpha,
 * ServerReflectionInfo) over a serialized FileDescriptorSet embedded at build time, so
 * grpcurl, Postman, grpcui and the grpc-js reflection clients can discover the coordinator.
 *
 * Constraints: the files must be returned as the exact serialized FileDescriptorProtos (plus
 * their transitive dependencies), so the set is not decoded into protobuf-c structures at all:
 * a small wire walker slices each `file` entry out of the set and reads only the names it
 * needs for the symbol index (package, messages incl. nested, enums, fields, services,
 * methods). libprotobuf-c ships no descriptor.pb-c, and this needs none. v1 and v1alpha have
 * wire-identical messages, so one protobuf-c binding serves both paths.
 */
#include "grpc_internal.h"
#include "grpc_server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/reflection/v1/reflection.pb-c.h"

struct rfile {
	char *name;
	const uint8_t *data;
	size_t len;
	char **deps;
	size_t ndeps;
};

struct sym {
	char *name;
	size_t file;
};

struct refl {
	mk_grpc_server *srv;
	struct rfile *files;
	size_t nfiles;
	struct sym *syms;
	size_t nsyms;
	char **services; /* the services the files declare, in order */
	size_t nservices;
	bool oom;
};

/* The server's reflection state: the set served now, replaced under mu (refl_replace). */
struct refl_holder {
	pthread_mutex_t mu;
	mk_grpc_server *srv;
	struct refl *cur;
};

/* ---- protobuf wire walking ---- */

struct wire {
	const uint8_t *p, *end;
};

static bool
varint(struct wire *w, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && w->p < w->end; shift += 7) {
		uint8_t b = *w->p++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/*
 * Reads the next field: number, wire type, and for length-delimited fields the payload.
 * Returns false at the end or on malformed input (w->p == w->end distinguishes the two).
 */
static bool
next_field(struct wire *w, uint32_t *num, int *wt, const uint8_t **data, size_t *len)
{
	uint64_t key, v;

	if (w->p >= w->end || !varint(w, &key))
		return false;
	*num = (uint32_t)(key >> 3);
	*wt = (int)(key & 7);
	*data = NULL;
	*len = 0;
	switch (*wt) {
	case 0:
		return varint(w, &v);
	case 1:
		if (w->end - w->p < 8)
			return false;
		w->p += 8;
		return true;
	case 5:
		if (w->end - w->p < 4)
			return false;
		w->p += 4;
		return true;
	case 2:
		if (!varint(w, &v) || v > (uint64_t)(w->end - w->p))
			return false;
		*data = w->p;
		*len = (size_t)v;
		w->p += v;
		return true;
	default:
		return false; /* groups are not used by protoc's descriptor output */
	}
}

static char *
join(const char *scope, const uint8_t *name, size_t len)
{
	size_t sl = strlen(scope);
	char *s = malloc(sl + len + 2);

	if (!s)
		return NULL;
	memcpy(s, scope, sl);
	if (sl)
		s[sl++] = '.';
	memcpy(s + sl, name, len);
	s[sl + len] = '\0';
	return s;
}

static void
add_sym(struct refl *r, char *name, size_t file)
{
	struct sym *n;

	if (!name) {
		r->oom = true;
		return;
	}
	n = realloc(r->syms, (r->nsyms + 1) * sizeof *n);
	if (!n) {
		free(name);
		r->oom = true;
		return;
	}
	r->syms = n;
	r->syms[r->nsyms].name = name;
	r->syms[r->nsyms].file = file;
	r->nsyms++;
}

/* Name (field 1) of a descriptor message, or NULL. */
static bool
field1_name(const uint8_t *d, size_t len, const uint8_t **name, size_t *nlen)
{
	struct wire w = {d, d + len};
	uint32_t num;
	int wt;
	const uint8_t *data;
	size_t dl;

	while (next_field(&w, &num, &wt, &data, &dl))
		if (num == 1 && wt == 2) {
			*name = data;
			*nlen = dl;
			return true;
		}
	return false;
}

/*
 * Indexes a DescriptorProto (message) under scope: the message, its fields and oneofs, and
 * recursively nested messages and enums. depth bounds recursion on hostile input.
 */
static void
index_message(struct refl *r, const char *scope, const uint8_t *d, size_t len, size_t file, int depth)
{
	const uint8_t *name, *data;
	size_t nlen, dl;
	struct wire w = {d, d + len};
	uint32_t num;
	int wt;
	char *full;

	if (depth > 64 || !field1_name(d, len, &name, &nlen))
		return;
	full = join(scope, name, nlen);
	if (!full) {
		r->oom = true;
		return;
	}
	add_sym(r, strdup(full), file);
	while (next_field(&w, &num, &wt, &data, &dl)) {
		const uint8_t *n2;
		size_t n2len;

		if (wt != 2)
			continue;
		if (num == 3)
			index_message(r, full, data, dl, file, depth + 1);
		else if ((num == 2 || num == 4 || num == 6 || num == 8) &&
			 field1_name(data, dl, &n2, &n2len))
			add_sym(r, join(full, n2, n2len), file); /* field, enum, extension, oneof */
	}
	free(full);
}

/* Parses one FileDescriptorProto: its name, dependencies and symbols. */
static void
index_file(struct refl *r, size_t fi)
{
	struct rfile *f = &r->files[fi];
	struct wire w = {f->data, f->data + f->len};
	uint32_t num;
	int wt;
	const uint8_t *data;
	size_t dl;
	char *pkg = strdup("");

	/* package (2) may follow the messages in theory; read it first. */
	while (next_field(&w, &num, &wt, &data, &dl)) {
		if (num == 1 && wt == 2) {
			free(f->name);
			f->name = join("", data, dl);
		} else if (num == 2 && wt == 2) {
			free(pkg);
			pkg = join("", data, dl);
		} else if (num == 3 && wt == 2) {
			char **nd = realloc(f->deps, (f->ndeps + 1) * sizeof *nd);

			if (nd) {
				f->deps = nd;
				f->deps[f->ndeps] = join("", data, dl);
				if (f->deps[f->ndeps])
					f->ndeps++;
			}
		}
	}
	if (!pkg || !f->name) {
		free(pkg);
		r->oom = true;
		return;
	}
	w.p = f->data;
	while (next_field(&w, &num, &wt, &data, &dl)) {
		const uint8_t *name;
		size_t nlen;

		if (wt != 2)
			continue;
		if (num == 4)
			index_message(r, pkg, data, dl, fi, 0);
		else if ((num == 5 || num == 7) && field1_name(data, dl, &name, &nlen))
			add_sym(r, join(pkg, name, nlen), fi); /* enum, extension */
		else if (num == 6 && field1_name(data, dl, &name, &nlen)) {
			char *svc = join(pkg, name, nlen);
			struct wire m = {data, data + dl};
			uint32_t mn;
			int mwt;
			const uint8_t *md, *mname;
			size_t mdl, mnlen;

			if (!svc) {
				r->oom = true;
				continue;
			}
			while (next_field(&m, &mn, &mwt, &md, &mdl))
				if (mn == 2 && mwt == 2 && field1_name(md, mdl, &mname, &mnlen))
					add_sym(r, join(svc, mname, mnlen), fi);
			{
				char **ns = realloc(r->services, (r->nservices + 1) * sizeof *ns);
				char *copy = strdup(svc);

				if (ns && copy) {
					r->services = ns;
					r->services[r->nservices++] = copy;
				} else {
					if (ns)
						r->services = ns;
					free(copy);
					r->oom = true;
				}
			}
			add_sym(r, svc, fi);
		}
	}
	free(pkg);
}

static long
find_file(const struct refl *r, const char *name)
{
	for (size_t i = 0; i < r->nfiles; i++)
		if (strcmp(r->files[i].name, name) == 0)
			return (long)i;
	return -1;
}

static long
find_symbol(const struct refl *r, const char *name)
{
	if (name[0] == '.')
		name++;
	for (size_t i = 0; i < r->nsyms; i++)
		if (strcmp(r->syms[i].name, name) == 0)
			return (long)r->syms[i].file;
	return -1;
}

/* Adds file fi and (first) its transitive dependencies to out[], skipping duplicates. */
static void
collect(const struct refl *r, size_t fi, bool *seen, ProtobufCBinaryData *out, size_t *n)
{
	if (seen[fi])
		return;
	seen[fi] = true;
	out[(*n)++] = (ProtobufCBinaryData){.len = r->files[fi].len, .data = (uint8_t *)r->files[fi].data};
	for (size_t d = 0; d < r->files[fi].ndeps; d++) {
		long di = find_file(r, r->files[fi].deps[d]);

		if (di >= 0)
			collect(r, (size_t)di, seen, out, n);
	}
}

/* ---- the bidi handler ---- */

static void answer_request(struct refl *r, mk_grpc_stream *st, const uint8_t *msg, size_t len);

static void
on_message(void *ud, mk_grpc_stream *st, const uint8_t *msg, size_t len)
{
	struct refl_holder *h = ud;

	pthread_mutex_lock(&h->mu);
	answer_request(h->cur, st, msg, len);
	pthread_mutex_unlock(&h->mu);
}

/*
 * The registered services plus those the served set declares and are not registered (a mock
 * server routes its methods: mk_grpc_server_set_router), at most cap.
 */
static size_t
list_services(const struct refl *r, const char **names, size_t cap)
{
	size_t n = mk_grpc_server_services(r->srv, names, cap);

	if (n > cap)
		n = cap;
	for (size_t i = 0; mk_grpc_server_has_router(r->srv) && i < r->nservices && n < cap; i++) {
		bool dup = false;

		for (size_t k = 0; k < n && !dup; k++)
			dup = strcmp(names[k], r->services[i]) == 0;
		if (!dup)
			names[n++] = r->services[i];
	}
	return n;
}

static void
answer_request(struct refl *r, mk_grpc_stream *st, const uint8_t *msg, size_t len)
{
	Grpc__Reflection__V1__ServerReflectionRequest *req;
	Grpc__Reflection__V1__ServerReflectionResponse resp =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
	Grpc__Reflection__V1__FileDescriptorResponse fdr =
		GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
	Grpc__Reflection__V1__ListServiceResponse lsr =
		GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
	Grpc__Reflection__V1__ErrorResponse er = GRPC__REFLECTION__V1__ERROR_RESPONSE__INIT;
	Grpc__Reflection__V1__ExtensionNumberResponse enr =
		GRPC__REFLECTION__V1__EXTENSION_NUMBER_RESPONSE__INIT;
	Grpc__Reflection__V1__ServiceResponse *svcs = NULL, **svcp = NULL;
	ProtobufCBinaryData *files = NULL;
	bool *seen = NULL;
	const char *names[256];
	char errbuf[512];
	size_t nsvc, nfiles = 0, outlen;
	uint8_t *out;
	long fi = -1;

	req = grpc__reflection__v1__server_reflection_request__unpack(NULL, len, msg);
	if (!req) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed ServerReflectionRequest");
		return;
	}
	resp.valid_host = req->host;
	resp.original_request = req;
	er.error_code = MK_GRPC_NOT_FOUND;
	switch (req->message_request_case) {
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
		nsvc = list_services(r, names, 256);
		svcs = calloc(nsvc + 1, sizeof *svcs);
		svcp = calloc(nsvc + 1, sizeof *svcp);
		if (!svcs || !svcp)
			goto oom;
		for (size_t i = 0; i < nsvc; i++) {
			grpc__reflection__v1__service_response__init(&svcs[i]);
			svcs[i].name = (char *)names[i];
			svcp[i] = &svcs[i];
		}
		lsr.n_service = nsvc;
		lsr.service = svcp;
		resp.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
		resp.list_services_response = &lsr;
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
		fi = find_file(r, req->file_by_filename);
		snprintf(errbuf, sizeof errbuf, "file not found: %s", req->file_by_filename);
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
		fi = find_symbol(r, req->file_containing_symbol);
		snprintf(errbuf, sizeof errbuf, "symbol not found: %s", req->file_containing_symbol);
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
		/* The served files are proto3 and declare no extensions: a known type has none. */
		if (find_symbol(r, req->all_extension_numbers_of_type) >= 0) {
			enr.base_type_name = req->all_extension_numbers_of_type;
			resp.message_response_case =
				GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
			resp.all_extension_numbers_response = &enr;
		} else
			snprintf(errbuf, sizeof errbuf, "type not found: %s",
				 req->all_extension_numbers_of_type);
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
		snprintf(errbuf, sizeof errbuf, "extension not found");
		break;
	default:
		er.error_code = MK_GRPC_INVALID_ARGUMENT;
		snprintf(errbuf, sizeof errbuf, "empty reflection request");
		break;
	}
	if (fi >= 0) {
		files = calloc(r->nfiles, sizeof *files);
		seen = calloc(r->nfiles, sizeof *seen);
		if (!files || !seen)
			goto oom;
		collect(r, (size_t)fi, seen, files, &nfiles);
		fdr.n_file_descriptor_proto = nfiles;
		fdr.file_descriptor_proto = files;
		resp.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
		resp.file_descriptor_response = &fdr;
	} else if (resp.message_response_case ==
		   GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE__NOT_SET) {
		/* Per-request errors travel in error_response; the stream goes on. */
		er.error_message = errbuf;
		resp.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
		resp.error_response = &er;
	}
	outlen = grpc__reflection__v1__server_reflection_response__get_packed_size(&resp);
	out = malloc(outlen ? outlen : 1);
	if (!out)
		goto oom;
	grpc__reflection__v1__server_reflection_response__pack(&resp, out);
	mk_grpc_stream_send(st, out, outlen);
	free(out);
	goto done;
oom:
	mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
done:
	free(svcs);
	free(svcp);
	free(files);
	free(seen);
	grpc__reflection__v1__server_reflection_request__free_unpacked(req, NULL);
}

static void
refl_free(void *p)
{
	struct refl *r = p;

	for (size_t i = 0; i < r->nfiles; i++) {
		free(r->files[i].name);
		for (size_t d = 0; d < r->files[i].ndeps; d++)
			free(r->files[i].deps[d]);
		free(r->files[i].deps);
	}
	for (size_t i = 0; i < r->nsyms; i++)
		free(r->syms[i].name);
	for (size_t i = 0; i < r->nservices; i++)
		free(r->services[i]);
	free(r->services);
	free(r->files);
	free(r->syms);
	free(r);
}

static void
holder_free(void *p)
{
	struct refl_holder *h = p;

	if (h->cur)
		refl_free(h->cur);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* Indexes a serialized FileDescriptorSet (not copied); NULL when it does not parse. */
static struct refl *
refl_build(mk_grpc_server *srv, const uint8_t *set, size_t len)
{
	struct refl *r = calloc(1, sizeof *r);
	struct wire w = {set, set + len};
	uint32_t num;
	int wt;
	const uint8_t *data;
	size_t dl;

	if (!r)
		return NULL;
	r->srv = srv;
	while (next_field(&w, &num, &wt, &data, &dl)) {
		struct rfile *nf;

		if (num != 1 || wt != 2)
			continue;
		nf = realloc(r->files, (r->nfiles + 1) * sizeof *nf);
		if (!nf) {
			r->oom = true;
			break;
		}
		r->files = nf;
		memset(&r->files[r->nfiles], 0, sizeof *nf);
		r->files[r->nfiles].data = data;
		r->files[r->nfiles].len = dl;
		r->nfiles++;
		index_file(r, r->nfiles - 1);
	}
	if (w.p != w.end || r->oom || r->nfiles == 0) {
		refl_free(r);
		return NULL;
	}
	return r;
}

int
mk_grpc_reflection_register(mk_grpc_server *srv, const uint8_t *set, size_t len)
{
	struct refl_holder *h;
	struct refl *r = refl_build(srv, set, len);
	mk_grpc_bidi_fns fns = {.on_message = on_message};

	if (!r)
		return -1;
	h = calloc(1, sizeof *h);
	if (!h) {
		refl_free(r);
		return -1;
	}
	pthread_mutex_init(&h->mu, NULL);
	h->srv = srv;
	h->cur = r;
	mk_grpc_server_set_slot(srv, MK_GRPC_SLOT_REFLECTION, h, holder_free);
	if (mk_grpc_server_register(srv, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
				    MK_GRPC_BIDI, NULL, &fns, h) != 0 ||
	    mk_grpc_server_register(srv,
				    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
				    MK_GRPC_BIDI, NULL, &fns, h) != 0)
		return -1;
	return 0;
}

int
mk_grpc_reflection_replace(mk_grpc_server *srv, const uint8_t *set, size_t len)
{
	struct refl_holder *h = mk_grpc_server_slot(srv, MK_GRPC_SLOT_REFLECTION);
	struct refl *r, *old;

	if (!h || !(r = refl_build(srv, set, len)))
		return -1;
	pthread_mutex_lock(&h->mu);
	old = h->cur;
	h->cur = r;
	pthread_mutex_unlock(&h->mu);
	refl_free(old);
	return 0;
}
