/*
 * mockserve.c - the mock-traffic hot path shared by the admin node and the
 * resolvers: compiled snapshot behind a rwlock, match, local render, HTTP
 * response, request-log capture (API in mockserve.h).
 *
 * The constraint that shaped it is the performance bar of the design brief
 * (near nginx returning a constant, flat in the number of mocks, at 100,000
 * mocks well under 300 MiB). So the work is moved from request time to index
 * time: each mock is classified once as static (same response for every
 * request), templated or stateful. Core's index gets only a skeleton of the
 * document (what matching reads); a static mock keeps its resolved response
 * as compact text, turned on its first hit into one libmicrohttpd response
 * shared by all later hits (a hit is then a lookup and a reference count); a
 * templated mock keeps its document text, parsed on first use into a bounded
 * cache. The request header object is built only when a header condition, a
 * template or a miss needs it. Request logs keep only the last three requests
 * per mock, so each serving thread copies requests into reused slots of its
 * own table and the drain (every 100 ms or so) turns the survivors into JSON.
 */
#include "mockserve.h"

#include "bufbudget.h"

#include "eventq.h"
#include "metrics.h"
#include "otel.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#define FIXED_NOW 1700000000 /* "now" of seeded (reproducible) resolutions */
#define MAX_DELAY_MS 600000
#define MAX_CACHED_DOCS 4096 /* parsed documents of templated mocks kept resident */
#define MAX_LOG_MOCKS 2000   /* distinct mocks captured per thread between drains */

/* TEMPLATE_OUTPUT_LIMIT_MB in bytes (0 = core's default); set at start and on reload. */
static _Atomic size_t output_limit;

void
ms_set_template_output_limit(size_t bytes)
{
	atomic_store(&output_limit, bytes);
}

/*
 * Envelope of a failed render: 500 "template_output_limit" naming the setting
 * when the output budget ran out, else 500 "internal" with core's message.
 */
static void
render_failed(ms_request *req, ms_result *res, const mc_render_ctx *ctx, const mc_error *err)
{
	char msg[700];

	if (ctx->output_exceeded) {
		size_t lim = ctx->output_limit ? ctx->output_limit : MC_DEFAULT_TEMPLATE_OUTPUT_LIMIT;

		snprintf(msg, sizeof(msg),
			 "response template output exceeds TEMPLATE_OUTPUT_LIMIT_MB=%zu (%zu bytes) at %s",
			 lim >> 20, lim, err->path[0] ? err->path : "$");
		ms_envelope(req, res, 500, "template_output_limit", msg);
		return;
	}
	snprintf(msg, sizeof(msg), "cannot render mock: %s %s", err->path, err->msg);
	ms_envelope(req, res, 500, "internal", msg);
}

/* ------------------------------------------------------------ small helpers */

static _Thread_local mc_rng thread_rng;
static _Thread_local bool thread_rng_ready;

/* A per-thread random 64-bit value, seeded once from getrandom(). */
static uint64_t
random_u64(void)
{
	if (!thread_rng_ready) {
		uint64_t s;

		if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s))
			s = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&s;
		mc_rng_seed(&thread_rng, s);
		thread_rng_ready = true;
	}
	return mc_rng_next(&thread_rng);
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
ms_pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int h, l;

		if (s[i] == '%' && i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (l = hexval((unsigned char)s[i + 2])) >= 0 && (h | l) != 0) {
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

bool
ms_body_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;
		char *nb;

		while (c < *len + n + 1)
			c *= 2;
		nb = realloc(*buf, c);
		if (nb == NULL)
			return false;
		*buf = nb;
		*cap = c;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return true;
}

/* See mockserve.h. */
int
ms_body_reserve(char **buf, size_t *cap, size_t *reserved, size_t declared)
{
	size_t want = declared + 1;

	if (*buf != NULL || want <= *reserved)
		return 1;
	if (!bufbudget_reserve(want - *reserved))
		return -1;
	*reserved = want;
	*buf = malloc(want);
	if (*buf == NULL)
		return 0;
	(*buf)[0] = '\0';
	*cap = want;
	return 1;
}

/* See mockserve.h. */
int
ms_body_append_budget(char **buf, size_t *len, size_t *cap, size_t *reserved, const char *data,
		      size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;

		while (c < *len + n + 1)
			c *= 2;
		if (c > *reserved) {
			if (!bufbudget_reserve(c - *reserved))
				return -1;
			*reserved = c;
		}
	}
	return ms_body_append(buf, len, cap, data, n) ? 1 : 0;
}

json_t *
ms_json_bytes(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *copy;

	if (j != NULL)
		return j;
	copy = malloc(n + 1);
	if (copy == NULL)
		return json_string("");
	for (size_t i = 0; i < n; i++)
		copy[i] = ((unsigned char)s[i] < 0x80 && s[i] != '\0') ? s[i] : '?';
	j = json_stringn(copy, n);
	free(copy);
	return j;
}

/* Adds one header to a lower-case name -> [values] object. */
static void
headers_add(json_t *headers, const char *key, const char *value)
{
	char name[256];
	size_t n = 0;
	json_t *arr;

	for (; key[n] != '\0' && n < sizeof(name) - 1; n++)
		name[n] = (char)tolower((unsigned char)key[n]);
	name[n] = '\0';
	arr = json_object_get(headers, name);
	if (arr == NULL) {
		arr = json_array();
		if (json_object_set_new(headers, name, arr) != 0)
			return;
	}
	json_array_append_new(arr, ms_json_bytes(value ? value : "", value ? strlen(value) : 0));
}

/* Decodes standard or URL-safe base64 (padding optional); NULL on bad input. */
static unsigned char *
base64_decode(const char *s, size_t n, size_t *outlen)
{
	unsigned char *out = malloc(n / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i], v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+' || c == '-')
			v = 62;
		else if (c == '/' || c == '_')
			v = 63;
		else if (c == '=' || isspace(c))
			continue;
		else {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*outlen = o;
	return out;
}

/* ------------------------------------------------------------ id table */

/* Open-addressing map id -> mock (tombstones on delete, rehash on growth). */
typedef struct ms_mock ms_mock;
#define TOMB ((ms_mock *)(uintptr_t)1)

typedef struct idmap {
	ms_mock **slots;
	size_t cap, count, used; /* used counts tombstones too */
} idmap;

typedef enum mock_kind { MK_STATIC, MK_TEMPLATE, MK_STATEFUL } mock_kind;

/* A shared static response: one MHD response for every hit of a mock. */
struct ms_shared {
	atomic_int refs;
	struct MHD_Response *r;
	int status;
	int64_t delay_ms;
	char *res_text; /* the response object as compact JSON, for request logs */
};

struct ms_mock {
	char *id;
	char *ns;
	mock_kind kind;
	char *text; /* static: resolved response object; template: the document */
	int route_slot; /* metrics.h route template slot, for mockarty_mock_resolutions_total */
	json_t *callbacks; /* http callbacks of "webhooks" (eventq.h), immutable; NULL = none */
	_Atomic(ms_shared *) shared;
	_Atomic(json_t *) doc;
};

static atomic_int cached_docs;

static size_t
idmap_find(const idmap *m, const char *id)
{
	size_t mask = m->cap - 1, i = hash_str(id) & mask;

	for (;;) {
		ms_mock *s = m->slots[i];

		if (s == NULL)
			return SIZE_MAX;
		if (s != TOMB && strcmp(s->id, id) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

static ms_mock *
idmap_get(const idmap *m, const char *id)
{
	size_t i;

	if (m->cap == 0 || id == NULL)
		return NULL;
	i = idmap_find(m, id);
	return i == SIZE_MAX ? NULL : m->slots[i];
}

static bool
idmap_grow(idmap *m)
{
	size_t cap = m->cap ? m->cap : 64;
	ms_mock **old = m->slots;
	size_t oldcap = m->cap;

	while (cap < (m->count + 1) * 2)
		cap *= 2;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (m->slots == NULL) {
		m->slots = old;
		return false;
	}
	m->cap = cap;
	m->used = m->count;
	for (size_t i = 0; i < oldcap; i++) {
		ms_mock *s = old[i];
		size_t j;

		if (s == NULL || s == TOMB)
			continue;
		for (j = hash_str(s->id) & (cap - 1); m->slots[j] != NULL; j = (j + 1) & (cap - 1))
			;
		m->slots[j] = s;
	}
	free(old);
	return true;
}

/* Inserts mk (its id must not be present). */
static bool
idmap_put(idmap *m, ms_mock *mk)
{
	size_t i;

	if ((m->used + 1) * 4 > m->cap * 3 && !idmap_grow(m))
		return false;
	for (i = hash_str(mk->id) & (m->cap - 1); m->slots[i] != NULL && m->slots[i] != TOMB;
	     i = (i + 1) & (m->cap - 1))
		;
	if (m->slots[i] == NULL)
		m->used++;
	m->slots[i] = mk;
	m->count++;
	return true;
}

static void
idmap_del(idmap *m, const char *id)
{
	size_t i;

	if (m->cap == 0)
		return;
	i = idmap_find(m, id);
	if (i != SIZE_MAX) {
		m->slots[i] = TOMB;
		m->count--;
	}
}

/* ------------------------------------------------------------ sets */

struct ms_set {
	mc_index *idx;
	idmap ids;
};

static void
shared_release(ms_shared *sh)
{
	if (sh != NULL && atomic_fetch_sub(&sh->refs, 1) == 1) {
		MHD_destroy_response(sh->r);
		free(sh->res_text);
		free(sh);
	}
}

static void
mock_free(ms_mock *mk)
{
	json_t *doc;

	if (mk == NULL)
		return;
	shared_release(atomic_load(&mk->shared));
	doc = atomic_load(&mk->doc);
	if (doc != NULL) {
		json_decref(doc);
		atomic_fetch_sub(&cached_docs, 1);
	}
	json_decref(mk->callbacks);
	free(mk->id);
	free(mk->ns);
	free(mk->text);
	free(mk);
}

ms_set *
ms_set_new(void)
{
	ms_set *set = calloc(1, sizeof(*set));

	if (set == NULL)
		return NULL;
	set->idx = mc_index_new();
	if (set->idx == NULL) {
		free(set);
		return NULL;
	}
	return set;
}

void
ms_set_free(ms_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->ids.cap; i++)
		if (set->ids.slots[i] != NULL && set->ids.slots[i] != TOMB)
			mock_free(set->ids.slots[i]);
	free(set->ids.slots);
	mc_index_free(set->idx);
	free(set);
}

size_t
ms_set_count(const ms_set *set)
{
	return set ? set->ids.count : 0;
}

void
ms_set_remove(ms_set *set, const char *ns, const char *id)
{
	ms_mock *mk;

	if (set == NULL || id == NULL)
		return;
	mk = idmap_get(&set->ids, id);
	if (mk != NULL) {
		mc_index_remove(set->idx, mk->ns, id);
		idmap_del(&set->ids, id);
		mock_free(mk);
	} else if (ns != NULL) {
		mc_index_remove(set->idx, ns, id);
	}
}

static bool
is_closed(const json_t *doc)
{
	json_int_t c = json_integer_value(json_object_get(doc, "closedAt"));

	if (c > 0)
		return true;
	return json_integer_value(json_object_get(json_object_get(doc, "_meta"), "closedAt")) > 0;
}

/* What core's index reads of a mock: everything else stays out of memory. */
static json_t *
skeleton(const json_t *doc, const char *id, const char *ns)
{
	static const char *const keep[] = {"priority", "pathPrefix", "http", "grpc", "expireAt"};
	json_t *sk = json_object();

	if (sk == NULL)
		return NULL;
	if (json_object_set_new(sk, "id", json_string(id)) != 0 ||
	    json_object_set_new(sk, "namespace", json_string(ns)) != 0) {
		json_decref(sk);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(doc, keep[i]);

		if (v != NULL && json_object_set(sk, keep[i], v) != 0) {
			json_decref(sk);
			return NULL;
		}
	}
	return sk;
}

/*
 * Classifies a mock and keeps what serving it needs (see the banner). A
 * static mock is resolved once here with a fixed request; its result does not
 * depend on it (mc_mock_is_static).
 */
static bool
classify(ms_mock *mk, json_t *doc, const char *text, size_t len)
{
	if (mc_mock_is_stateful(doc)) {
		mk->kind = MK_STATEFUL;
		return true;
	}
	if (mc_mock_is_static(doc)) {
		mc_request rq = {.method = "GET", .path = "/"};
		mc_rng rng;
		mc_render_ctx ctx = {.req = &rq, .rng = &rng, .now = FIXED_NOW,
				     .output_limit = atomic_load(&output_limit)};
		mc_error err = {0};
		json_t *res;

		mc_rng_seed(&rng, 1);
		res = mc_resolve_response(doc, &ctx, NULL, &err);
		if (res != NULL && json_object_get(res, "proxy") == NULL) {
			mk->kind = MK_STATIC;
			mk->text = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
			json_decref(res);
			return mk->text != NULL;
		}
		json_decref(res);
	}
	mk->kind = MK_TEMPLATE;
	mk->text = strndup(text, len);
	return mk->text != NULL;
}

struct ms_prepared {
	ms_mock *mk;  /* NULL: the document closes (removes) the mock */
	json_t *skel; /* what core indexes */
	char *id, *ns;
};

void
ms_prepared_free(ms_prepared *p)
{
	if (p == NULL)
		return;
	mock_free(p->mk);
	json_decref(p->skel);
	free(p->id);
	free(p->ns);
	free(p);
}

ms_prepared *
ms_prepare(const char *text, size_t len, const char *ns_hint, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc;
	const char *id, *ns;
	ms_prepared *p = NULL;

	doc = mc_json_loadb_wide(text, len, 0, &jerr);
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "not a JSON object: %s", doc ? "" : jerr.text);
		json_decref(doc);
		return NULL;
	}
	id = json_string_value(json_object_get(doc, "id"));
	ns = json_string_value(json_object_get(doc, "namespace"));
	if (ns == NULL || ns[0] == '\0')
		ns = ns_hint && ns_hint[0] ? ns_hint : MC_DEFAULT_NAMESPACE;
	if (id == NULL || id[0] == '\0') {
		snprintf(err, errlen, "mock has no id");
		goto fail;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->id = strdup(id)) == NULL || (p->ns = strdup(ns)) == NULL)
		goto oom;
	if (!is_closed(doc)) {
		p->mk = calloc(1, sizeof(*p->mk));
		p->skel = skeleton(doc, id, ns);
		if (p->mk == NULL || p->skel == NULL || (p->mk->id = strdup(id)) == NULL ||
		    (p->mk->ns = strdup(ns)) == NULL || !classify(p->mk, doc, text, len))
			goto oom;
		{
			/* the route label is fixed here, at load time, never per request */
			char route[512];

			mt_mock_route(doc, route, sizeof(route));
			p->mk->route_slot = mt_route_slot(route);
		}
		p->mk->callbacks = eq_callbacks_prepare(doc, id);
	}
	json_decref(doc);
	return p;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	ms_prepared_free(p);
	json_decref(doc);
	return NULL;
}

bool
ms_set_put_prepared(ms_set *set, ms_prepared *p, int64_t version, char *err, size_t errlen)
{
	ms_mock *old;
	mc_error merr = {0};
	bool ok = false;

	if (p->mk == NULL) {
		ms_set_remove(set, p->ns, p->id);
		ms_prepared_free(p);
		return true;
	}
	old = idmap_get(&set->ids, p->id);
	if (mc_index_put(set->idx, p->skel, version, &merr) != MC_OK) {
		snprintf(err, errlen, "%s %s", merr.path, merr.msg);
		goto out;
	}
	if (old != NULL) {
		if (strcmp(old->ns, p->ns) != 0)
			mc_index_remove(set->idx, old->ns, p->id);
		idmap_del(&set->ids, p->id);
		mock_free(old);
	}
	if (!idmap_put(&set->ids, p->mk)) {
		mc_index_remove(set->idx, p->ns, p->id);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	p->mk = NULL;
	ok = true;
out:
	ms_prepared_free(p);
	return ok;
}

bool
ms_set_put(ms_set *set, const char *text, size_t len, const char *ns_hint, int64_t version, char *err,
	   size_t errlen)
{
	ms_prepared *p = ms_prepare(text, len, ns_hint, err, errlen);

	return p != NULL && ms_set_put_prepared(set, p, version, err, errlen);
}

/* ------------------------------------------------------------ the store */

typedef struct log_shard log_shard;

struct ms_store {
	pthread_rwlock_t lock;
	ms_set *set;
	pthread_mutex_t vmu;
	pthread_cond_t vcv;
	int64_t version;
	bool loaded;
	pthread_mutex_t shards_mu;
	log_shard *shards;
};

static void free_shards(ms_store *st);

ms_store *
ms_store_new(void)
{
	ms_store *st = calloc(1, sizeof(*st));
	pthread_rwlockattr_t ra;
	pthread_condattr_t ca;

	if (st == NULL)
		return NULL;
	/* a steady stream of readers must not starve the snapshot writer */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&st->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&st->vmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->vcv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&st->shards_mu, NULL);
	return st;
}

void
ms_store_free(ms_store *st)
{
	if (st == NULL)
		return;
	ms_set_free(st->set);
	free_shards(st);
	pthread_rwlock_destroy(&st->lock);
	pthread_mutex_destroy(&st->vmu);
	pthread_cond_destroy(&st->vcv);
	pthread_mutex_destroy(&st->shards_mu);
	free(st);
}

static void
publish(ms_store *st, int64_t version)
{
	pthread_mutex_lock(&st->vmu);
	if (version > st->version)
		st->version = version;
	st->loaded = true;
	pthread_cond_broadcast(&st->vcv);
	pthread_mutex_unlock(&st->vmu);
}

void
ms_store_install(ms_store *st, ms_set *set, int64_t version)
{
	ms_set *old;

	pthread_rwlock_wrlock(&st->lock);
	old = st->set;
	st->set = set;
	pthread_rwlock_unlock(&st->lock);
	ms_set_free(old);
	/* a full load may go back in version after a database restore: take it as is */
	pthread_mutex_lock(&st->vmu);
	st->version = version;
	st->loaded = true;
	pthread_cond_broadcast(&st->vcv);
	pthread_mutex_unlock(&st->vmu);
}

ms_set *
ms_store_write_begin(ms_store *st)
{
	pthread_rwlock_wrlock(&st->lock);
	if (st->set == NULL && (st->set = ms_set_new()) == NULL) {
		pthread_rwlock_unlock(&st->lock);
		return NULL;
	}
	return st->set;
}

void
ms_store_write_end(ms_store *st, int64_t version)
{
	pthread_rwlock_unlock(&st->lock);
	publish(st, version);
}

int64_t
ms_store_version(ms_store *st)
{
	int64_t v;

	pthread_mutex_lock(&st->vmu);
	v = st->version;
	pthread_mutex_unlock(&st->vmu);
	return v;
}

bool
ms_store_loaded(ms_store *st)
{
	bool l;

	pthread_mutex_lock(&st->vmu);
	l = st->loaded;
	pthread_mutex_unlock(&st->vmu);
	return l;
}

size_t
ms_store_count(ms_store *st)
{
	size_t n;

	pthread_rwlock_rdlock(&st->lock);
	n = ms_set_count(st->set);
	pthread_rwlock_unlock(&st->lock);
	return n;
}

bool
ms_store_wait_version(ms_store *st, int64_t version, int timeout_ms)
{
	struct timespec dl;
	bool ok = true;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->vmu);
	while (st->version < version) {
		if (pthread_cond_timedwait(&st->vcv, &st->vmu, &dl) != 0) {
			ok = st->version >= version;
			break;
		}
	}
	pthread_mutex_unlock(&st->vmu);
	return ok;
}

/* ------------------------------------------------------------ requests */

static void
collect_header_cb(void *arg, const char *name, const char *value)
{
	headers_add(arg, name, value);
}

json_t *
ms_request_headers(ms_request *req)
{
	if (req->headers_json == NULL) {
		req->headers_json = json_object();
		if (req->headers_json != NULL && req->each_header != NULL)
			req->each_header(req->transport, collect_header_cb, req->headers_json);
	}
	return req->headers_json;
}

json_t *
ms_request_query(ms_request *req)
{
	if (req->query_json == NULL)
		req->query_json = mc_query_parse(req->raw_query ? req->raw_query : "");
	return req->query_json;
}

json_t *
ms_request_body_json(ms_request *req)
{
	if (!req->body_parsed) {
		json_error_t jerr;

		req->body_parsed = true;
		if (req->body_len > 0)
			req->body_json = mc_json_loadb_wide(req->body, req->body_len, JSON_DECODE_ANY, &jerr);
	}
	return req->body_json;
}

static const char *
req_header(ms_request *req, const char *name)
{
	return req->header ? req->header(req->transport, name) : NULL;
}

/* snprintf(dst, cap, "%.*s", n, src) without the formatting machinery (per-request paths). */
static inline void
copy_bounded(char *dst, size_t cap, const char *src, size_t n)
{
	if (n > cap - 1)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

const char *
ms_request_id(ms_request *req)
{
	const char *given;
	size_t n = 0;
	uint64_t a, b;

	if (req->request_id[0] != '\0')
		return req->request_id;
	given = req_header(req, "x-request-id");
	if (given != NULL) {
		for (; given[n] != '\0' && n < 39; n++) {
			unsigned char c = (unsigned char)given[n];

			if (!(isalnum(c) || c == '-' || c == '_' || c == '.'))
				break;
			req->request_id[n] = (char)c;
		}
		if (given[n] == '\0' && n > 0) {
			req->request_id[n] = '\0';
			return req->request_id;
		}
	}
	a = random_u64();
	b = random_u64();
	/* "%016llx%016llx" by hand: this runs for every response (X-Request-Id), and the
	 * formatted-output machinery of snprintf showed up in the serving profile */
	{
		static const char hex[] = "0123456789abcdef";

		for (int i = 0; i < 16; i++) {
			req->request_id[i] = hex[(a >> (60 - 4 * i)) & 15];
			req->request_id[16 + i] = hex[(b >> (60 - 4 * i)) & 15];
		}
		req->request_id[32] = '\0';
	}
	return req->request_id;
}

void
ms_request_clear(ms_request *req)
{
	json_decref(req->headers_json);
	json_decref(req->query_json);
	json_decref(req->body_json);
	req->headers_json = req->query_json = req->body_json = NULL;
	req->body_parsed = false;
}

static const char *
mhd_header(void *transport, const char *name)
{
	return MHD_lookup_connection_value(transport, MHD_HEADER_KIND, name);
}

typedef struct mhd_each {
	ms_header_cb cb;
	void *arg;
} mhd_each;

static enum MHD_Result
mhd_each_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	mhd_each *e = cls;

	(void)kind;
	e->cb(e->arg, key, value);
	return MHD_YES;
}

static void
mhd_each_header(void *transport, ms_header_cb cb, void *arg)
{
	mhd_each e = {cb, arg};

	MHD_get_connection_values(transport, MHD_HEADER_KIND, mhd_each_cb, &e);
}

void
ms_request_init_mhd(ms_request *req, struct MHD_Connection *conn, const char *method, const char *path,
		    const char *raw_query, const char *body, size_t body_len)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->path = path;
	req->raw_query = raw_query ? raw_query : "";
	req->body = body;
	req->body_len = body_len;
	req->header = mhd_header;
	req->each_header = mhd_each_header;
	req->transport = conn;
}

/* ------------------------------------------------------------ responses */

static void after_free(ms_after *a);

void
ms_result_done(ms_result *res)
{
	if (res->shared != NULL)
		shared_release(res->shared);
	else if (res->response != NULL)
		MHD_destroy_response(res->response);
	res->shared = NULL;
	res->response = NULL;
	after_free(res->after); /* a proxied request that ended before its upstream answered */
	res->after = NULL;
}

void
ms_envelope(ms_request *req, ms_result *res, int status, const char *code, const char *msg)
{
	const char *rid = ms_request_id(req);
	json_t *env = json_pack("{s:s, s:s, s:s}", "error", msg, "code", code, "request_id", rid);
	char *text = env ? json_dumps(env, JSON_COMPACT) : NULL;
	struct MHD_Response *r;

	json_decref(env);
	r = MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : (char *)"",
					    text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		free(text);
	else {
		MHD_add_response_header(r, "Content-Type", "application/json");
		MHD_add_response_header(r, "X-Request-Id", rid);
	}
	ms_result_done(res);
	res->response = r;
	res->status = status;
	res->delay_ms = 0;
}

static bool
header_is_managed(const char *name)
{
	return strcasecmp(name, "content-length") == 0 || strcasecmp(name, "transfer-encoding") == 0 ||
	       strcasecmp(name, "connection") == 0;
}

void
ms_build_response(const json_t *resobj, const char *request_id, ms_result *res)
{
	json_t *payload = json_object_get(resobj, "payload");
	json_t *headers = json_object_get(resobj, "headers");
	const char *decode = json_string_value(json_object_get(resobj, "decode"));
	json_int_t status = json_integer_value(json_object_get(resobj, "statusCode"));
	json_int_t delay = json_integer_value(json_object_get(resobj, "delay"));
	char *body = NULL;
	size_t len = 0;
	const char *ctype = NULL;
	bool has_ctype = false;
	struct MHD_Response *r;
	const char *key;
	json_t *vals;

	if (status < 100 || status > 999)
		status = 200;
	if (json_is_string(payload)) {
		const char *s = json_string_value(payload);
		size_t n = json_string_length(payload);

		if (decode != NULL && strcasecmp(decode, "base64") == 0) {
			body = (char *)base64_decode(s, n, &len);
			ctype = "application/octet-stream";
		}
		if (body == NULL) {
			body = malloc(n + 1);
			if (body != NULL)
				memcpy(body, s, n);
			len = n;
			ctype = "text/plain; charset=utf-8";
		}
	} else if (payload != NULL) {
		body = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
		len = body ? strlen(body) : 0;
		ctype = "application/json";
	}
	r = MHD_create_response_from_buffer(len, body ? body : (char *)"",
					    body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	ms_result_done(res);
	if (r == NULL) {
		free(body);
		res->status = 500;
		return;
	}
	json_object_foreach(headers, key, vals) {
		if (header_is_managed(key))
			continue;
		if (strcasecmp(key, "content-type") == 0)
			has_ctype = true;
		if (json_is_array(vals)) {
			size_t i;
			json_t *v;

			json_array_foreach(vals, i, v) {
				if (json_is_string(v))
					MHD_add_response_header(r, key, json_string_value(v));
			}
		} else if (json_is_string(vals)) {
			MHD_add_response_header(r, key, json_string_value(vals));
		}
	}
	if (!has_ctype && ctype != NULL)
		MHD_add_response_header(r, "Content-Type", ctype);
	if (request_id != NULL)
		MHD_add_response_header(r, "X-Request-Id", request_id);
	res->response = r;
	res->status = (int)status;
	res->delay_ms = delay < 0 ? 0 : delay > MAX_DELAY_MS ? MAX_DELAY_MS : delay;
}

/* The shared response of a static mock, built on its first hit. Borrowed. */
static ms_shared *
static_shared(ms_mock *mk)
{
	ms_shared *sh = atomic_load(&mk->shared), *expected = NULL;
	json_t *res;
	ms_result tmp = {0};

	if (sh != NULL)
		return sh;
	res = mc_json_loadb_wide(mk->text, strlen(mk->text), 0, NULL);
	if (res == NULL)
		return NULL;
	ms_build_response(res, NULL, &tmp);
	json_decref(res);
	if (tmp.response == NULL)
		return NULL;
	sh = calloc(1, sizeof(*sh));
	if (sh == NULL || (sh->res_text = strdup(mk->text)) == NULL) {
		free(sh);
		MHD_destroy_response(tmp.response);
		return NULL;
	}
	atomic_init(&sh->refs, 1); /* the mock's reference */
	sh->r = tmp.response;
	sh->status = tmp.status;
	sh->delay_ms = tmp.delay_ms;
	if (!atomic_compare_exchange_strong(&mk->shared, &expected, sh)) {
		shared_release(sh); /* another thread built it first */
		sh = expected;
	}
	return sh;
}

/* The parsed document of a templated mock: a new reference, cached when room is left. */
static json_t *
template_doc(ms_mock *mk)
{
	json_t *doc = atomic_load(&mk->doc), *expected = NULL;

	if (doc != NULL)
		return json_incref(doc);
	doc = mc_json_loadb_wide(mk->text, strlen(mk->text), 0, NULL);
	if (doc == NULL)
		return NULL;
	if (atomic_fetch_add(&cached_docs, 1) < MAX_CACHED_DOCS) {
		if (atomic_compare_exchange_strong(&mk->doc, &expected, doc))
			return json_incref(doc);
		json_decref(doc);
		atomic_fetch_sub(&cached_docs, 1);
		return json_incref(expected);
	}
	atomic_fetch_sub(&cached_docs, 1);
	return doc;
}

/* ------------------------------------------------------------ request logs */

/*
 * One captured request. buf holds, NUL-separated: namespace, method, path,
 * raw query, then nhdr name/value pairs, then body_len body bytes.
 */
typedef struct log_slot {
	uint64_t t; /* monotonic ns of the capture; 0 = empty */
	int64_t called_at;
	char *buf;
	size_t cap, len, nhdr, body_len;
	ms_shared *sh; /* static mock: response text from here */
	json_t *res;   /* templated mock: the rendered response object */
} log_slot;

typedef struct log_ring {
	char *id;
	log_slot slots[MS_LOGS_PER_MOCK];
} log_ring;

typedef struct log_table {
	log_ring **items;
	size_t cap, count;
} log_table;

struct log_shard {
	log_shard *next;
	pthread_t owner;
	pthread_mutex_t mu;
	log_table tab;
	unsigned long dropped;
};

static _Thread_local ms_store *tl_store;
static _Thread_local log_shard *tl_shard;

static void
slot_clear(log_slot *s)
{
	shared_release(s->sh);
	json_decref(s->res);
	s->sh = NULL;
	s->res = NULL;
	s->t = 0;
}

static void
table_free(log_table *t)
{
	for (size_t i = 0; i < t->cap; i++) {
		log_ring *r = t->items[i];

		if (r == NULL)
			continue;
		for (int k = 0; k < MS_LOGS_PER_MOCK; k++) {
			slot_clear(&r->slots[k]);
			free(r->slots[k].buf);
		}
		free(r->id);
		free(r);
	}
	free(t->items);
	memset(t, 0, sizeof(*t));
}

static void
log_shard_free(log_shard *sh)
{
	table_free(&sh->tab);
	pthread_mutex_destroy(&sh->mu);
	free(sh);
}

static void
free_shards(ms_store *st)
{
	while (st->shards != NULL) {
		log_shard *next = st->shards->next;

		log_shard_free(st->shards);
		st->shards = next;
	}
}

/* This thread's shard of st (created on first use); NULL when out of memory. */
static log_shard *
my_shard(ms_store *st)
{
	pthread_t self = pthread_self();
	log_shard *sh;

	if (tl_store == st && tl_shard != NULL)
		return tl_shard;
	pthread_mutex_lock(&st->shards_mu);
	for (sh = st->shards; sh != NULL; sh = sh->next)
		if (pthread_equal(sh->owner, self))
			break;
	if (sh == NULL && (sh = calloc(1, sizeof(*sh))) != NULL) {
		sh->owner = self;
		pthread_mutex_init(&sh->mu, NULL);
		sh->next = st->shards;
		st->shards = sh;
	}
	pthread_mutex_unlock(&st->shards_mu);
	tl_store = st;
	tl_shard = sh;
	return sh;
}

/* The ring of id in t, added when missing and room is left; NULL otherwise. */
static log_ring *
table_ring(log_table *t, const char *id)
{
	size_t i;
	log_ring *r;

	if ((t->count + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		log_ring **items;

		if (t->count >= MAX_LOG_MOCKS)
			goto lookup_only;
		items = calloc(cap, sizeof(*items));
		if (items == NULL)
			goto lookup_only;
		for (size_t k = 0; k < t->cap; k++) {
			if (t->items[k] == NULL)
				continue;
			for (i = hash_str(t->items[k]->id) & (cap - 1); items[i] != NULL; i = (i + 1) & (cap - 1))
				;
			items[i] = t->items[k];
		}
		free(t->items);
		t->items = items;
		t->cap = cap;
	}
	for (i = hash_str(id) & (t->cap - 1); t->items[i] != NULL; i = (i + 1) & (t->cap - 1))
		if (strcmp(t->items[i]->id, id) == 0)
			return t->items[i];
	if (t->count >= MAX_LOG_MOCKS)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->id = strdup(id)) == NULL) {
		free(r);
		return NULL;
	}
	t->items[i] = r;
	t->count++;
	return r;
lookup_only:
	if (t->cap == 0)
		return NULL;
	for (i = hash_str(id) & (t->cap - 1); t->items[i] != NULL; i = (i + 1) & (t->cap - 1))
		if (strcmp(t->items[i]->id, id) == 0)
			return t->items[i];
	return NULL;
}

static bool
slot_append(log_slot *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		char *nb;

		while (cap < s->len + n + 1)
			cap *= 2;
		nb = realloc(s->buf, cap);
		if (nb == NULL)
			return false;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len++] = '\0';
	return true;
}

typedef struct capture_ctx {
	log_slot *s;
	bool ok;
} capture_ctx;

static void
capture_header_cb(void *arg, const char *name, const char *value)
{
	capture_ctx *c = arg;

	if (!c->ok)
		return;
	c->ok = slot_append(c->s, name, strlen(name)) &&
		slot_append(c->s, value ? value : "", value ? strlen(value) : 0);
	c->s->nhdr++;
}

/*
 * Captures req for the request log of mock id; the response is sh (a new
 * reference is taken) or res (a new reference is taken). Overwrites the
 * oldest of the mock's slots in this thread's table.
 */
static void
capture(ms_store *st, ms_request *req, const char *id, const char *ns, const char *path,
	ms_shared *sh, json_t *res)
{
	log_shard *shard = my_shard(st);
	log_ring *ring;
	log_slot *s;
	capture_ctx cc;

	if (shard == NULL)
		return;
	pthread_mutex_lock(&shard->mu);
	ring = table_ring(&shard->tab, id);
	if (ring == NULL) {
		shard->dropped++;
		pthread_mutex_unlock(&shard->mu);
		return;
	}
	s = &ring->slots[0];
	for (int k = 1; k < MS_LOGS_PER_MOCK; k++)
		if (ring->slots[k].t < s->t)
			s = &ring->slots[k];
	slot_clear(s);
	s->len = s->nhdr = 0;
	cc.s = s;
	cc.ok = slot_append(s, ns, strlen(ns)) && slot_append(s, req->method, strlen(req->method)) &&
		slot_append(s, path, strlen(path)) &&
		slot_append(s, req->raw_query ? req->raw_query : "", req->raw_query ? strlen(req->raw_query) : 0);
	if (cc.ok && req->each_header != NULL)
		req->each_header(req->transport, capture_header_cb, &cc);
	if (cc.ok)
		cc.ok = slot_append(s, req->body ? req->body : "", req->body ? req->body_len : 0);
	if (cc.ok) {
		s->body_len = req->body ? req->body_len : 0;
		s->t = mono_ns();
		s->called_at = (int64_t)time(NULL);
		if (sh != NULL) {
			atomic_fetch_add(&sh->refs, 1);
			s->sh = sh;
		} else {
			s->res = json_incref(res);
		}
	} else {
		shard->dropped++;
	}
	pthread_mutex_unlock(&shard->mu);
}

/* One captured request as a log_requests entry. New reference or NULL. */
static json_t *
slot_entry(const char *id, const log_slot *s)
{
	const char *p = s->buf;
	const char *ns = p, *method, *path, *rq;
	json_t *headers = json_object(), *body, *res, *query;
	size_t body_off;

	method = ns + strlen(ns) + 1;
	path = method + strlen(method) + 1;
	rq = path + strlen(path) + 1;
	p = rq + strlen(rq) + 1;
	for (size_t i = 0; i < s->nhdr; i++) {
		const char *name = p, *value = p + strlen(p) + 1;

		if (headers != NULL)
			headers_add(headers, name, value);
		p = value + strlen(value) + 1;
	}
	body_off = (size_t)(p - s->buf);
	body = NULL;
	if (s->body_len > 0) {
		json_error_t jerr;

		body = mc_json_loadb_wide(s->buf + body_off, s->body_len, JSON_DECODE_ANY, &jerr);
		if (body == NULL)
			body = json_stringn(s->buf + body_off, s->body_len);
	}
	if (body == NULL)
		body = json_null();
	res = s->sh != NULL ? json_loads(s->sh->res_text, 0, NULL) : json_incref(s->res);
	query = mc_query_parse(rq);
	return json_pack("{s:s, s:{s:s, s:s, s:s, s:o*, s:o*, s:o}, s:o*, s:I}", "mockId", id, "req",
			 "namespace", ns, "method", method, "path", path, "query", query, "headers", headers,
			 "body", body, "response", res, "calledAt", (json_int_t)s->called_at);
}

typedef struct drained {
	const char *id;
	const log_slot *s;
} drained;

static int
cmp_drained(const void *a, const void *b)
{
	const drained *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->s->t < y->s->t ? -1 : x->s->t > y->s->t;
}

json_t *
ms_store_drain_logs(ms_store *st, unsigned long *dropped)
{
	log_table *tabs = NULL;
	size_t ntabs = 0, n = 0, k = 0;
	unsigned long drop = 0;
	drained *all;
	json_t *out = NULL;
	log_shard *sh;

	pthread_mutex_lock(&st->shards_mu);
	for (sh = st->shards; sh != NULL; sh = sh->next)
		ntabs++;
	tabs = calloc(ntabs ? ntabs : 1, sizeof(*tabs));
	if (tabs != NULL) {
		size_t i = 0;

		for (sh = st->shards; sh != NULL; sh = sh->next, i++) {
			pthread_mutex_lock(&sh->mu);
			tabs[i] = sh->tab;
			memset(&sh->tab, 0, sizeof(sh->tab));
			drop += sh->dropped;
			sh->dropped = 0;
			pthread_mutex_unlock(&sh->mu);
		}
	}
	pthread_mutex_unlock(&st->shards_mu);
	if (dropped != NULL)
		*dropped = drop;
	if (tabs == NULL)
		return NULL;
	for (size_t i = 0; i < ntabs; i++)
		n += tabs[i].count * MS_LOGS_PER_MOCK;
	all = n ? malloc(n * sizeof(*all)) : NULL;
	if (all != NULL) {
		for (size_t i = 0; i < ntabs; i++)
			for (size_t j = 0; j < tabs[i].cap; j++) {
				log_ring *r = tabs[i].items[j];

				if (r == NULL)
					continue;
				for (int q = 0; q < MS_LOGS_PER_MOCK; q++)
					if (r->slots[q].t != 0)
						all[k++] = (drained){r->id, &r->slots[q]};
			}
		qsort(all, k, sizeof(*all), cmp_drained);
		out = json_array();
		for (size_t i = 0; i < k && out != NULL; i++) {
			/* the last MS_LOGS_PER_MOCK of each id, across every thread */
			size_t end = i;

			while (end + 1 < k && strcmp(all[end + 1].id, all[i].id) == 0)
				end++;
			for (size_t j = end + 1 > i + MS_LOGS_PER_MOCK ? end + 1 - MS_LOGS_PER_MOCK : i; j <= end; j++) {
				json_t *e = slot_entry(all[j].id, all[j].s);

				if (e != NULL)
					json_array_append_new(out, e);
			}
			i = end;
		}
		free(all);
	}
	for (size_t i = 0; i < ntabs; i++)
		table_free(&tabs[i]);
	free(tabs);
	if (out != NULL && json_array_size(out) == 0) {
		json_decref(out);
		out = NULL;
	}
	return out;
}

/* ------------------------------------------------------------ serving */

static json_t *
lazy_headers(void *ctx)
{
	return ms_request_headers(ctx);
}

/* Skips candidates whose expireAt has passed (the TTL sweeper may lag). */
static bool
skip_expired(void *ctx, const json_t *mock)
{
	json_int_t exp = json_integer_value(json_object_get(mock, "expireAt"));

	return exp > 0 && exp <= *(const json_int_t *)ctx;
}

/* Sends resobj: proxied through the hook when it names a target, else built here. */
static void
send_resolved(ms_request *req, const ms_hooks *hooks, const char *path, const json_t *resobj,
	      ms_result *res)
{
	const char *target = json_string_value(json_object_get(resobj, "proxy"));

	if (target != NULL) {
		json_int_t delay = json_integer_value(json_object_get(resobj, "delay"));

		if (hooks->proxy == NULL) {
			ms_envelope(req, res, 502, "external", "proxying is not available on this node");
			return;
		}
		hooks->proxy(hooks->ctx, req, target, path, res);
		/* the delay applies after the upstream answered (api-compat 5) */
		res->delay_ms = delay < 0 ? 0 : delay > MAX_DELAY_MS ? MAX_DELAY_MS : delay;
		return;
	}
	ms_build_response(resobj, ms_request_id(req), res);
	if (res->response == NULL)
		ms_envelope(req, res, 500, "internal", "out of memory");
}

/*
 * The webhook work of one hit once its status is known: the mock's http
 * callbacks rendered with the request's template context (path parameters,
 * request, fakers; a seed makes them reproducible as it does the response)
 * and, when a webhook wants them, one mock.resolved event carrying tp - both
 * into eventq's bounded queue, never waiting. mreq's headers and query must
 * be filled when cbs is not NULL.
 */
static void
webhook_fire(mc_request *mreq, json_t *path_params, const char *seed, const json_t *cbs, const char *id,
	     const char *ns, const char *path, int status, json_int_t now, const char *tp)
{
	if (cbs != NULL && eq_callbacks_forwarding()) {
		/* a resolver: the admin renders them from its stored mock (ms_callbacks_replay) */
		eq_callbacks_forward(cbs, mreq, seed, id, ns, status);
	} else if (cbs != NULL) {
		mc_rng rng;
		mc_render_ctx ctx = {.output_limit = atomic_load(&output_limit)};

		if (seed != NULL && seed[0] != '\0') {
			mc_rng_seed(&rng, (uint64_t)strtoll(seed, NULL, 10));
			ctx.now = FIXED_NOW;
		} else {
			mc_rng_seed(&rng, random_u64());
			ctx.now = (int64_t)now;
		}
		ctx.req = mreq;
		ctx.path_params = path_params;
		ctx.rng = &rng;
		eq_callbacks_fire(cbs, &ctx, id, ns, status);
	}
	if (eq_want_events())
		eq_event_resolved(id, ns, mreq->method, path, status, tp);
}

/* The traceparent of the serving span into tp; false when tracing is off or there is none. */
static bool
serving_traceparent(char tp[OTEL_TRACEPARENT_SIZE])
{
	return otel_enabled() && otel_current() != NULL && otel_span_traceparent(otel_current(), tp);
}

/* After a mock answered with status: its callbacks and mock.resolved event (webhook_fire). */
static void
webhook_work(ms_request *req, mc_request *mreq, const mc_match *m, const json_t *cbs, const char *id,
	     const char *ns, const char *path, int status, json_int_t now)
{
	char tp[OTEL_TRACEPARENT_SIZE];
	bool have_tp = eq_want_events() && serving_traceparent(tp);

	if (cbs != NULL) {
		mreq->headers = ms_request_headers(req);
		mreq->query = ms_request_query(req);
	}
	webhook_fire(mreq, m->path_params, req_header(req, "x-mockarty-seed"), cbs, id, ns, path, status, now,
		     have_tp ? tp : NULL);
}

/*
 * What a proxied hit still owes when its upstream answers: webhook_work()'s
 * inputs, kept beyond the request's ms_request (the raw body stays borrowed:
 * the transport keeps it until the request completes).
 */
struct ms_after {
	char *id, *ns, *path, *method, *seed;
	json_t *cbs, *path_params;
	mc_request mreq; /* its JSON members are owned references */
	json_int_t now;
	char tp[OTEL_TRACEPARENT_SIZE];
	bool have_tp;
};

static void
after_free(ms_after *a)
{
	if (a == NULL)
		return;
	free(a->id);
	free(a->ns);
	free(a->path);
	free(a->method);
	free(a->seed);
	json_decref(a->cbs);
	json_decref(a->path_params);
	json_decref(a->mreq.headers);
	json_decref(a->mreq.query);
	json_decref(a->mreq.body_json);
	free(a);
}

/* Captures webhook_work()'s inputs for ms_after_run(); NULL when out of memory (the work is lost). */
static ms_after *
after_new(ms_request *req, const mc_request *mreq, const mc_match *m, const json_t *cbs, const char *id,
	  const char *ns, const char *path, json_int_t now)
{
	ms_after *a = calloc(1, sizeof(*a));
	const char *seed = req_header(req, "x-mockarty-seed");

	if (a == NULL)
		return NULL;
	a->id = strdup(id);
	a->ns = strdup(ns);
	a->path = strdup(path);
	a->method = strdup(req->method);
	a->seed = seed != NULL ? strdup(seed) : NULL;
	a->cbs = json_incref((json_t *)cbs);
	a->path_params = json_incref(m->path_params);
	a->mreq = *mreq;
	a->mreq.method = a->method;
	a->mreq.path = a->path;
	a->mreq.headers = cbs != NULL ? json_incref(ms_request_headers(req)) : NULL;
	a->mreq.query = cbs != NULL ? json_incref(ms_request_query(req)) : NULL;
	a->mreq.body_json = json_incref(mreq->body_json);
	a->now = now;
	a->have_tp = eq_want_events() && serving_traceparent(a->tp);
	if (a->id == NULL || a->ns == NULL || a->path == NULL || a->method == NULL) {
		after_free(a);
		return NULL;
	}
	return a;
}

/* See mockserve.h. */
void
ms_after_run(ms_after *a, int status)
{
	if (a == NULL)
		return;
	webhook_fire(&a->mreq, a->path_params, a->seed, a->cbs, a->id, a->ns, a->path, status, a->now,
		     a->have_tp ? a->tp : NULL);
	after_free(a);
}

/* name -> array of strings from what a node reported (strings become one-element arrays). */
static json_t *
string_lists(const json_t *in, bool lower)
{
	json_t *out = json_object(), *v;
	const char *k;

	if (out == NULL || !json_is_object(in))
		return out;
	json_object_foreach ((json_t *)in, k, v) {
		json_t *arr = json_array(), *x;
		char key[256];
		size_t i, n = strlen(k);

		if (arr == NULL || n == 0 || n >= sizeof(key))
			goto skip;
		for (i = 0; i <= n; i++)
			key[i] = lower && k[i] >= 'A' && k[i] <= 'Z' ? (char)(k[i] - 'A' + 'a') : k[i];
		if (json_is_string(v))
			json_array_append(arr, v);
		json_array_foreach (v, i, x)
			if (json_is_string(x))
				json_array_append(arr, x);
		if (json_array_size(arr) > 0) {
			json_object_set_new(out, key, arr);
			continue;
		}
skip:
		json_decref(arr);
	}
	return out;
}

/*
 * See mockserve.h. The stored mock is indexed alone and the reported request
 * matched against it (route, method, conditions, query and header lists), so
 * the path parameters come from the stored route and a request the mock would
 * not answer renders nothing.
 */
/* See mockserve.h. */
bool
ms_refuse_crowded_query(struct MHD_Connection *conn, const char *uri, size_t mem_limit)
{
	const char *q = uri ? strchr(uri, '?') : NULL;
	const union MHD_ConnectionInfo *ci;
	size_t nargs = 1, len;
	char body[256], head[512];
	int bl, hl;

	if (q == NULL || mem_limit == 0)
		return false;
	for (const char *p = q; *p; p++)
		nargs += *p == '&';
	len = strlen(uri);
	if (nargs * 68 + len <= mem_limit)
		return false;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return false;
	bl = snprintf(body, sizeof(body),
		      "{\"error\":\"the query has %zu arguments: more than HTTP_CONNECTION_MEMORY_KB=%zu can hold\","
		      "\"code\":\"request_too_large\"}",
		      nargs, mem_limit / 1024);
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
		      "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		      bl, body);
	/* a small answer on a fresh connection: the socket buffer takes it whole */
	(void)!send(ci->connect_fd, head, (size_t)hl, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(ci->connect_fd, SHUT_RDWR);
	return true;
}

int
ms_callbacks_replay(const char *doc, size_t len, const char *ns, const json_t *item, char *err, size_t errlen)
{
	const json_t *rq = json_object_get(item, "request");
	const char *id = json_string_value(json_object_get(item, "mockId"));
	const char *method = json_string_value(json_object_get(rq, "method"));
	const char *path = json_string_value(json_object_get(rq, "path"));
	const char *proto = json_string_value(json_object_get(rq, "protocol"));
	const char *seed = json_string_value(json_object_get(item, "seed"));
	const json_t *body = json_object_get(rq, "body");
	json_int_t status = json_integer_value(json_object_get(item, "status"));
	ms_prepared *p = NULL;
	mc_index *idx = NULL;
	mc_request mreq = {0};
	mc_match m = {0};
	mc_error merr = {0};
	int rc = -1;

	if (!json_is_object(rq) || id == NULL || method == NULL || path == NULL || path[0] != '/') {
		snprintf(err, errlen, "callback item carries no request (mockId, request.method, request.path)");
		return -1;
	}
	if (seed != NULL && (seed[seed[0] == '-'] == '\0' ||
			     strspn(seed + (seed[0] == '-'), "0123456789") != strlen(seed + (seed[0] == '-'))))
		seed = NULL; /* not a number: a random seed, as serving treats junk */
	p = ms_prepare(doc, len, ns, err, errlen);
	if (p == NULL)
		return -1;
	if (p->mk == NULL || p->mk->callbacks == NULL || strcmp(p->id, id) != 0) {
		snprintf(err, errlen, "mock %s is closed or has no http callbacks", id);
		goto out;
	}
	mreq.method = method;
	mreq.path = path;
	mreq.protocol = proto != NULL && strcmp(proto, "grpc") == 0 ? MC_PROTO_GRPC : MC_PROTO_HTTP;
	mreq.query = string_lists(json_object_get(rq, "query"), false);
	mreq.headers = string_lists(json_object_get(rq, "headers"), true);
	if (json_is_string(body)) {
		mreq.body = json_string_value(body);
		mreq.body_len = json_string_length(body);
		mreq.body_json = mreq.body_len > 0 ? mc_json_loadb_wide(mreq.body, mreq.body_len, JSON_DECODE_ANY, NULL)
						   : NULL;
	} else if (json_object_get(rq, "bodyJson") != NULL) {
		mreq.body_json = json_incref(json_object_get(rq, "bodyJson"));
	}
	idx = mc_index_new();
	if (idx == NULL || mreq.query == NULL || mreq.headers == NULL ||
	    mc_index_put(idx, p->skel, 1, &merr) != MC_OK) {
		snprintf(err, errlen, "mock %s cannot be indexed: %s", id, idx ? merr.msg : "out of memory");
		goto out;
	}
	if (mc_index_match(idx, p->ns, &mreq, NULL, NULL, &m) != MC_OK) {
		snprintf(err, errlen, "the reported request %s %s does not match mock %s", method, path, id);
		goto out;
	}
	{
		mc_rng rng;
		mc_render_ctx ctx = {.output_limit = atomic_load(&output_limit)};

		if (seed != NULL && seed[0] != '\0') {
			mc_rng_seed(&rng, (uint64_t)strtoll(seed, NULL, 10));
			ctx.now = FIXED_NOW;
		} else {
			mc_rng_seed(&rng, random_u64());
			ctx.now = (int64_t)time(NULL);
		}
		ctx.req = &mreq;
		ctx.path_params = m.path_params;
		ctx.rng = &rng;
		eq_callbacks_fire(p->mk->callbacks, &ctx, p->id, p->ns,
				  status >= 100 && status <= 599 ? (int)status : 200);
	}
	rc = 0;
out:
	mc_match_clear(&m);
	if (idx != NULL)
		mc_index_free(idx);
	json_decref(mreq.query);
	json_decref(mreq.headers);
	json_decref(mreq.body_json);
	ms_prepared_free(p);
	return rc;
}

int
ms_match_resolve(ms_store *st, const char *ns, mc_request *mreq, const uint64_t *seed, char *id, size_t idcap,
		 json_t **resobj, char *err, size_t errlen)
{
	return ms_match_resolve_lazy(st, ns, mreq, NULL, NULL, seed, id, idcap, resobj, err, errlen);
}

/* See mockserve.h. */
int
ms_match_resolve_lazy(ms_store *st, const char *ns, mc_request *mreq, mc_headers_fn headers_fn,
                      void *headers_ctx, const uint64_t *seed, char *id, size_t idcap, json_t **resobj,
                      char *err, size_t errlen)
{
	json_int_t now = (json_int_t)time(NULL);
	mc_match m = {0};
	mock_kind kind = MK_STATIC;
	json_t *doc = NULL;
	int rc = 0;

	*resobj = NULL;
	if (idcap > 0)
		id[0] = '\0';
	pthread_rwlock_rdlock(&st->lock);
	if (st->set != NULL && mc_index_match_lazy(st->set->idx, ns, mreq, headers_fn, headers_ctx,
	                                           skip_expired, &now, &m) == MC_OK) {
		const char *mid = json_string_value(json_object_get(m.mock, "id"));
		ms_mock *mk = idmap_get(&st->set->ids, mid);

		if (mk != NULL) {
			size_t l = strlen(mk->id);

			rc = 1;
			kind = mk->kind;
			if (idcap > 0) {
				if (l >= idcap)
					l = idcap - 1;
				memcpy(id, mk->id, l);
				id[l] = '\0';
			}
			if (kind == MK_STATIC || kind == MK_TEMPLATE)
				doc = template_doc(mk); /* parsed once per mock version, shared */
		}
	}
	pthread_rwlock_unlock(&st->lock);
	if (rc == 0)
		goto out;
	if (kind == MK_STATEFUL) {
		rc = 2;
	} else if (kind == MK_STATIC) {
		*resobj = doc;
		doc = NULL;
		if (*resobj == NULL) {
			snprintf(err, errlen, "cannot load the mock response");
			rc = -1;
		}
	} else {
		mc_rng rng;
		mc_error merr = {0};
		mc_render_ctx ctx = {.output_limit = atomic_load(&output_limit)};

		if (doc == NULL) {
			snprintf(err, errlen, "cannot parse the mock document");
			rc = -1;
			goto out;
		}
		if (mreq->headers == NULL && headers_fn != NULL)
			mreq->headers = headers_fn(headers_ctx); /* templates may read them */
		mc_rng_seed(&rng, seed ? *seed : random_u64());
		ctx.now = seed ? FIXED_NOW : (int64_t)now;
		ctx.req = mreq;
		ctx.path_params = m.path_params;
		ctx.rng = &rng;
		*resobj = mc_resolve_response(doc, &ctx, NULL, &merr);
		if (*resobj == NULL) {
			snprintf(err, errlen, "%s%s%s", merr.path, merr.path[0] ? ": " : "", merr.msg);
			rc = -1;
		}
	}
out:
	json_decref(doc);
	mc_match_clear(&m);
	return rc;
}

void
ms_serve(ms_store *st, ms_request *req, const ms_hooks *hooks, ms_result *res)
{
	char ns[128], id[512] = "";
	const char *path = req->path;
	const char *hns;
	mc_request mreq = {0};
	mc_match m = {0};
	json_int_t now = (json_int_t)time(NULL);
	mock_kind kind = MK_STATIC;
	ms_shared *sh = NULL;
	json_t *doc = NULL, *resobj = NULL, *cbs = NULL;
	bool hit = false;
	int route_slot = MT_ROUTE_UNMATCHED;

	memset(res, 0, sizeof(*res));
	/* /stubs/{ns}/rest -> namespace ns, path /rest */
	if (strncmp(path, "/stubs/", 7) == 0 && path[7] != '\0' && path[7] != '/') {
		const char *seg = path + 7, *slash = strchr(seg, '/');
		size_t l = slash ? (size_t)(slash - seg) : strlen(seg);

		copy_bounded(ns, sizeof(ns), seg, l);
		path = slash ? slash : "/";
	} else {
		hns = req_header(req, "x-namespace");
		hns = (hns && hns[0]) ? hns : MC_DEFAULT_NAMESPACE;
		copy_bounded(ns, sizeof(ns), hns, strlen(hns));
	}
	mreq.method = req->method;
	mreq.path = path;
	mreq.query = (req->raw_query && req->raw_query[0]) ? ms_request_query(req) : NULL;
	mreq.headers = req->headers_json;
	mreq.body = req->body;
	mreq.body_len = req->body_len;
	mreq.body_json = req->body_len > 0 ? ms_request_body_json(req) : NULL;

	pthread_rwlock_rdlock(&st->lock);
	if (st->set != NULL &&
	    mc_index_match_lazy(st->set->idx, ns, &mreq, lazy_headers, req, skip_expired, &now, &m) == MC_OK) {
		const char *mid = json_string_value(json_object_get(m.mock, "id"));
		ms_mock *mk = idmap_get(&st->set->ids, mid);

		if (mk != NULL) {
			hit = true;
			kind = mk->kind;
			route_slot = mk->route_slot;
			copy_bounded(id, sizeof(id), mk->id, strlen(mk->id));
			cbs = json_incref(mk->callbacks); /* outlives a concurrent delta */
			if (kind == MK_STATIC) {
				sh = static_shared(mk);
				if (sh != NULL)
					atomic_fetch_add(&sh->refs, 1);
			} else if (kind == MK_TEMPLATE) {
				doc = template_doc(mk);
			}
		}
	}
	pthread_rwlock_unlock(&st->lock);
	if (otel_enabled()) /* the serving span learns which mock answered */
		otel_current_note_mock(ns, hit ? id : NULL, hit ? mt_route_name(route_slot) : NULL);

	if (!hit) {
		if (hooks->record_miss != NULL)
			hooks->record_miss(hooks->ctx, req, ns, path);
		ms_envelope(req, res, 404, "not_found", "no mock matches this request");
		goto done;
	}
	res->hit = true;
	res->route_slot = route_slot;
	switch (kind) {
	case MK_STATIC:
		if (sh == NULL) {
			ms_envelope(req, res, 500, "internal", "cannot build the mock response");
			break;
		}
		res->response = sh->r;
		res->shared = sh;
		res->status = sh->status;
		res->delay_ms = sh->delay_ms;
		capture(st, req, id, ns, path, sh, NULL);
		break;
	case MK_TEMPLATE: {
		mc_rng rng;
		mc_error err = {0};
		mc_render_ctx ctx = {.output_limit = atomic_load(&output_limit)};
		const char *seed = req_header(req, "x-mockarty-seed");

		if (doc == NULL) {
			ms_envelope(req, res, 500, "internal", "cannot parse the mock document");
			break;
		}
		if (seed != NULL && seed[0] != '\0') {
			mc_rng_seed(&rng, (uint64_t)strtoll(seed, NULL, 10));
			ctx.now = FIXED_NOW;
		} else {
			mc_rng_seed(&rng, random_u64());
			ctx.now = (int64_t)now;
		}
		mreq.headers = ms_request_headers(req);
		mreq.query = ms_request_query(req);
		ctx.req = &mreq;
		ctx.path_params = m.path_params;
		ctx.rng = &rng;
		resobj = mc_resolve_response(doc, &ctx, NULL, &err);
		if (resobj == NULL) {
			render_failed(req, res, &ctx, &err);
			break;
		}
		send_resolved(req, hooks, path, resobj, res);
		capture(st, req, id, ns, path, NULL, resobj);
		break;
	}
	case MK_STATEFUL:
		if (hooks->resolve_remote == NULL) {
			ms_envelope(req, res, 503, "unavailable", "stateful mocks cannot be resolved here");
			break;
		}
		resobj = hooks->resolve_remote(hooks->ctx, req, ns, path, id, res);
		if (resobj == NULL) {
			res->hit = false;
			/* 404: the state says no (use limit spent); any other failure is the route's error */
			if (res->status == 404)
				res->route_slot = MT_ROUTE_UNMATCHED;
			break;
		}
		send_resolved(req, hooks, path, resobj, res);
		break;
	}
done:
	if (res->response == NULL && res->status == 0 && res->proxy_call == NULL)
		ms_envelope(req, res, 500, "internal", "no response");
	if (res->hit && res->proxy_call != NULL) /* the status comes with the upstream's answer */
		res->after = after_new(req, &mreq, &m, cbs, id, ns, path, now);
	else if (res->hit)
		webhook_work(req, &mreq, &m, cbs, id, ns, path, res->status, now);
	json_decref(cbs);
	json_decref(resobj);
	json_decref(doc);
	mc_match_clear(&m);
}
