/*
 * index.c - the compiled set of mocks a process matches HTTP requests against.
 *
 * Per namespace: a route trie (route_trie.c) for mocks with a route, and a
 * short list for mocks identified only by routePattern or pathPrefix. A match
 * collects the route candidates for the path, drops those whose method or
 * pattern does not fit, orders the rest (priority, specificity, newness) and
 * only then evaluates conditions, best first, because conditions are the
 * expensive part. gRPC mocks live apart, in a map from "/<service>/<method>"
 * to their entries, so HTTP traffic never reaches them and gRPC calls never
 * reach HTTP mocks. Regexes are compiled once at put time into a refcounted
 * cache owned by the index, so matching never writes and several threads may
 * match one index concurrently while nobody modifies it.
 */
#include "match_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum entry_kind {
	KIND_ROUTE,    /* route without wildcard */
	KIND_WILDCARD, /* route ending in "*" */
	KIND_PATTERN,  /* routePattern (with optional pathPrefix) */
	KIND_LOOSE,    /* only pathPrefix, or no path constraint at all */
	KIND_GRPC,     /* grpc section: in ns->grpc under "/service/method" */
	KIND_NONE      /* no usable protocol section: held, never matched */
} entry_kind;

typedef struct regex_slot {
	pcre2_code *re;
	size_t refs;
} regex_slot;

typedef struct ns_entry ns_entry;

typedef struct mc_entry {
	json_t *mock;
	int64_t seq;
	int64_t priority;
	entry_kind kind;
	int literals;
	ns_entry *ns;
	char *id; /* key in ns->ids */
	mc_route route;
	char *prefix; /* normalised pathPrefix without trailing '/', or NULL */
	const char *pattern_src;
	const pcre2_code *pattern; /* borrowed from idx->route_re */
	const char *method;        /* NULL = any */
	const json_t *conds, *query, *header;
	bool sort;
	char **cond_res; /* "matches" patterns this entry holds in idx->cond_re */
	size_t ncond_res;
	char *gkey;          /* KIND_GRPC: "/service/method" */
	const char *section; /* "http" or "grpc", for error paths */
} mc_entry;

struct ns_entry {
	mc_trie_node *trie;
	mc_ptrlist loose; /* KIND_PATTERN and KIND_LOOSE entries */
	mc_strmap ids;    /* id -> mc_entry */
	mc_strmap grpc;   /* "/service/method" -> mc_ptrlist of KIND_GRPC entries */
};

struct mc_index {
	mc_strmap nss;      /* namespace -> ns_entry */
	mc_strmap route_re; /* routePattern source -> regex_slot (anchored) */
	mc_strmap cond_re;  /* "matches" value -> regex_slot */
	pcre2_match_context *mctx;
	size_t count;
	uint64_t anon; /* names mocks without id */
};

/* ------------------------------------------------------------ regex cache */

/* Takes a reference on pattern in map, compiling it when new; NULL on failure. */
static const pcre2_code *
regex_acquire(mc_strmap *map, const char *pattern, uint32_t extra, char *msg, size_t msg_size)
{
	size_t len = strlen(pattern);
	regex_slot *slot = mc_strmap_get(map, pattern, len);
	int errcode;
	PCRE2_SIZE erroff;

	if (slot) {
		slot->refs++;
		return slot->re;
	}
	slot = calloc(1, sizeof(*slot));
	if (slot == NULL)
		return NULL;
	slot->re = pcre2_compile((PCRE2_SPTR)pattern, len, MC_PCRE2_OPTIONS | extra, &errcode, &erroff, NULL);
	if (slot->re == NULL) {
		PCRE2_UCHAR buf[160];

		pcre2_get_error_message(errcode, buf, sizeof(buf));
		snprintf(msg, msg_size, "invalid regex at offset %zu: %s", (size_t)erroff, (char *)buf);
		free(slot);
		return NULL;
	}
	slot->refs = 1;
	if (mc_strmap_put(map, pattern, len, slot) != MC_OK) {
		pcre2_code_free(slot->re);
		free(slot);
		snprintf(msg, msg_size, "out of memory");
		return NULL;
	}
	return slot->re;
}

static void
regex_release(mc_strmap *map, const char *pattern)
{
	size_t len = strlen(pattern);
	regex_slot *slot = mc_strmap_get(map, pattern, len);

	if (slot && --slot->refs == 0) {
		mc_strmap_del(map, pattern, len);
		pcre2_code_free(slot->re);
		free(slot);
	}
}

static const pcre2_code *
cond_lookup(const void *ctx, const char *pattern)
{
	const mc_index *idx = ctx;
	regex_slot *slot = mc_strmap_get(&idx->cond_re, pattern, strlen(pattern));

	return slot ? slot->re : NULL;
}

/* ------------------------------------------------------------ lifecycle */

mc_index *
mc_index_new(void)
{
	mc_index *idx = calloc(1, sizeof(*idx));

	if (idx == NULL)
		return NULL;
	mc_strmap_init(&idx->nss);
	mc_strmap_init(&idx->route_re);
	mc_strmap_init(&idx->cond_re);
	idx->mctx = pcre2_match_context_create(NULL);
	if (idx->mctx == NULL) {
		free(idx);
		return NULL;
	}
	pcre2_set_match_limit(idx->mctx, MC_REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(idx->mctx, MC_REGEX_MATCH_LIMIT);
	return idx;
}

static void
entry_free(mc_index *idx, mc_entry *e)
{
	if (e == NULL)
		return;
	if (e->pattern_src)
		regex_release(&idx->route_re, e->pattern_src);
	for (size_t i = 0; i < e->ncond_res; i++) {
		regex_release(&idx->cond_re, e->cond_res[i]);
		free(e->cond_res[i]);
	}
	free(e->cond_res);
	mc_route_free(&e->route);
	free(e->gkey);
	free(e->prefix);
	free(e->id);
	json_decref(e->mock);
	free(e);
}

typedef struct free_ctx {
	mc_index *idx;
} free_ctx;

static void
free_entry_cb(void *ctx, const char *key, void *value)
{
	(void)key;
	entry_free(((free_ctx *)ctx)->idx, value);
}

static void
free_list_cb(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	mc_ptrlist_free(value);
	free(value);
}

static void
free_ns_cb(void *ctx, const char *key, void *value)
{
	ns_entry *ns = value;

	(void)key;
	mc_strmap_each(&ns->ids, free_entry_cb, ctx);
	mc_strmap_destroy(&ns->ids);
	mc_strmap_each(&ns->grpc, free_list_cb, NULL);
	mc_strmap_destroy(&ns->grpc);
	mc_trie_free(ns->trie);
	mc_ptrlist_free(&ns->loose);
	free(ns);
}

void
mc_index_free(mc_index *idx)
{
	free_ctx fc = {idx};

	if (idx == NULL)
		return;
	mc_strmap_each(&idx->nss, free_ns_cb, &fc);
	mc_strmap_destroy(&idx->nss);
	/* Every entry released its regexes, so both caches are empty now. */
	mc_strmap_destroy(&idx->route_re);
	mc_strmap_destroy(&idx->cond_re);
	pcre2_match_context_free(idx->mctx);
	free(idx);
}

size_t
mc_index_count(const mc_index *idx)
{
	return idx ? idx->count : 0;
}

/* ------------------------------------------------------------ put/remove */

/* Drops e from its "/service/method" list, and the list when it empties. */
static void
grpc_list_remove(ns_entry *ns, mc_entry *e)
{
	size_t len = strlen(e->gkey);
	mc_ptrlist *l = mc_strmap_get(&ns->grpc, e->gkey, len);

	if (l == NULL)
		return;
	mc_ptrlist_remove(l, e);
	if (l->len == 0) {
		mc_strmap_del(&ns->grpc, e->gkey, len);
		mc_ptrlist_free(l);
		free(l);
	}
}

/* Adds e to the list of its "/service/method" key. */
static mc_status
grpc_list_add(ns_entry *ns, mc_entry *e)
{
	size_t len = strlen(e->gkey);
	mc_ptrlist *l = mc_strmap_get(&ns->grpc, e->gkey, len);

	if (l == NULL) {
		l = calloc(1, sizeof(*l));
		if (l == NULL)
			return MC_ENOMEM;
		if (mc_strmap_put(&ns->grpc, e->gkey, len, l) != MC_OK) {
			free(l);
			return MC_ENOMEM;
		}
	}
	return mc_ptrlist_push(l, e);
}

/* Unlinks e from its namespace structures and frees it. */
static void
entry_unlink(mc_index *idx, mc_entry *e)
{
	ns_entry *ns = e->ns;

	mc_strmap_del(&ns->ids, e->id, strlen(e->id));
	if (e->kind == KIND_ROUTE || e->kind == KIND_WILDCARD)
		mc_trie_remove(ns->trie, &e->route, e);
	else if (e->kind == KIND_PATTERN || e->kind == KIND_LOOSE)
		mc_ptrlist_remove(&ns->loose, e);
	else if (e->kind == KIND_GRPC)
		grpc_list_remove(ns, e);
	idx->count--;
	entry_free(idx, e);
}

bool
mc_index_remove(mc_index *idx, const char *ns_name, const char *id)
{
	ns_entry *ns;
	mc_entry *e;

	if (idx == NULL || id == NULL)
		return false;
	if (ns_name == NULL)
		ns_name = MC_DEFAULT_NAMESPACE;
	ns = mc_strmap_get(&idx->nss, ns_name, strlen(ns_name));
	if (ns == NULL)
		return false;
	e = mc_strmap_get(&ns->ids, id, strlen(id));
	if (e == NULL)
		return false;
	entry_unlink(idx, e);
	return true;
}

static ns_entry *
ns_get_or_create(mc_index *idx, const char *name)
{
	ns_entry *ns = mc_strmap_get(&idx->nss, name, strlen(name));

	if (ns)
		return ns;
	ns = calloc(1, sizeof(*ns));
	if (ns == NULL)
		return NULL;
	mc_strmap_init(&ns->ids);
	mc_strmap_init(&ns->grpc);
	ns->trie = mc_trie_new();
	if (ns->trie == NULL || mc_strmap_put(&idx->nss, name, strlen(name), ns) != MC_OK) {
		mc_trie_free(ns->trie);
		free(ns);
		return NULL;
	}
	return ns;
}

static bool
is_closed(const json_t *mock)
{
	const json_t *c = json_object_get(mock, "closedAt");
	const json_t *meta = json_object_get(mock, "_meta");

	if (json_is_integer(c) && json_integer_value(c) > 0)
		return true;
	c = json_object_get(meta, "closedAt");
	return json_is_integer(c) && json_integer_value(c) > 0;
}

/* A protocol section counts only when it is a non-empty object (Go SDKs send {}). */
static const json_t *
http_section(const json_t *mock)
{
	const json_t *h = json_object_get(mock, "http");

	return json_is_object(h) && json_object_size(h) > 0 ? h : NULL;
}

static const char *
nonempty_string(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : NULL;
}

static const json_t *
grpc_section(const json_t *mock)
{
	const json_t *g = json_object_get(mock, "grpc");

	return json_is_object(g) && json_object_size(g) > 0 ? g : NULL;
}

/* Records and compiles every "matches" value of list into the condition cache. */
static mc_status
hold_cond_regexes(mc_index *idx, mc_entry *e, const json_t *list, const char *field, mc_error *err)
{
	size_t i;
	json_t *c;

	json_array_foreach (list, i, c) {
		const char *action = json_string_value(json_object_get(c, "assertAction"));
		const char *pat = json_string_value(json_object_get(c, "value"));
		char msg[200] = "";
		char path[128];
		char **n;

		if (action == NULL || strcmp(action, "matches") != 0 || pat == NULL)
			continue;
		snprintf(path, sizeof(path), "$.%s.%s[%zu].value", e->section, field, i);
		n = realloc(e->cond_res, (e->ncond_res + 1) * sizeof(char *));
		if (n == NULL) {
			mc_error_set(err, MC_ENOMEM, path, "out of memory");
			return MC_ENOMEM;
		}
		e->cond_res = n;
		if (regex_acquire(&idx->cond_re, pat, 0, msg, sizeof(msg)) == NULL) {
			mc_error_set(err, MC_EINVAL, path, "%s", msg);
			return MC_EINVAL;
		}
		e->cond_res[e->ncond_res] = strdup(pat);
		if (e->cond_res[e->ncond_res] == NULL) {
			regex_release(&idx->cond_re, pat);
			mc_error_set(err, MC_ENOMEM, path, "out of memory");
			return MC_ENOMEM;
		}
		e->ncond_res++;
	}
	return MC_OK;
}

/* Normalised pathPrefix: leading '/', no trailing '/'; NULL when empty or "/". */
static char *
normalise_prefix(const char *p)
{
	size_t len;
	char *out;

	if (p == NULL)
		return NULL;
	len = strlen(p);
	while (len > 0 && p[len - 1] == '/')
		len--;
	if (len == 0)
		return NULL;
	out = malloc(len + 2);
	if (out == NULL)
		return NULL;
	if (p[0] != '/') {
		out[0] = '/';
		memcpy(out + 1, p, len);
		out[len + 1] = '\0';
	} else {
		memcpy(out, p, len);
		out[len] = '\0';
	}
	return out;
}

/* Fills the http part of e from its mock; err set on failure. */
static mc_status
entry_compile_http(mc_index *idx, mc_entry *e, const json_t *http, mc_error *err)
{
	const char *route = nonempty_string(http, "route");
	const char *pattern = nonempty_string(http, "routePattern");
	const char *prefix_raw = nonempty_string(e->mock, "pathPrefix");
	const char *method = nonempty_string(http, "httpMethod");
	mc_status st;

	if (prefix_raw && (e->prefix = normalise_prefix(prefix_raw)) == NULL &&
	    strspn(prefix_raw, "/") != strlen(prefix_raw)) {
		mc_error_set(err, MC_ENOMEM, "$.pathPrefix", "out of memory");
		return MC_ENOMEM;
	}
	if (method && strcmp(method, "*") != 0 && strcasecmp(method, "ANY") != 0)
		e->method = method;
	e->conds = json_object_get(http, "conditions");
	e->query = json_object_get(http, "queryParams");
	e->header = json_object_get(http, "header");
	e->sort = json_is_true(json_object_get(http, "sortArray"));
	if (pattern) {
		char msg[200] = "";

		e->pattern = regex_acquire(&idx->route_re, pattern, PCRE2_ANCHORED | PCRE2_ENDANCHORED, msg,
					   sizeof(msg));
		if (e->pattern == NULL) {
			mc_error_set(err, MC_EINVAL, "$.http.routePattern", "%s", msg);
			return MC_EINVAL;
		}
		e->pattern_src = json_string_value(json_object_get(http, "routePattern"));
	}
	if (route) {
		st = mc_route_parse(e->prefix, route, &e->route);
		if (st != MC_OK) {
			if (st == MC_ELIMIT)
				mc_error_set(err, st, "$.http.route", "route has more than %d segments",
					     MC_MAX_ROUTE_SEGMENTS);
			else if (st == MC_EINVAL)
				mc_error_set(err, st, "$.http.route", "'*' must be the last route segment");
			else
				mc_error_set(err, st, "$.http.route", "out of memory");
			return st;
		}
		e->literals = e->route.literals;
		e->kind = e->route.nsegs > 0 && e->route.segs[e->route.nsegs - 1].kind == MC_SEG_WILDCARD
				  ? KIND_WILDCARD
				  : KIND_ROUTE;
	} else {
		/* Specificity of a prefix-bound mock: its literal prefix segments. */
		if (e->prefix) {
			st = mc_route_parse(e->prefix, NULL, &e->route);
			if (st != MC_OK) {
				mc_error_set(err, st, "$.pathPrefix", "invalid pathPrefix");
				return st;
			}
			e->literals = e->route.literals;
		}
		e->kind = pattern ? KIND_PATTERN : KIND_LOOSE;
	}
	if ((st = hold_cond_regexes(idx, e, e->conds, "conditions", err)) != MC_OK ||
	    (st = hold_cond_regexes(idx, e, e->query, "queryParams", err)) != MC_OK ||
	    (st = hold_cond_regexes(idx, e, e->header, "header", err)) != MC_OK)
		return st;
	return MC_OK;
}

static mc_status hold_cond_regexes(mc_index *idx, mc_entry *e, const json_t *list, const char *field,
				   mc_error *err);

/*
 * Fills the grpc part of e: the key "/<service>/<method>" (service alias
 * serviceName; a leading '/' or trailing '/' on either is tolerated), the
 * conditions on the message and the meta conditions on the metadata. A grpc
 * section without service or method leaves the mock held but unmatched.
 */
static mc_status
entry_compile_grpc(mc_index *idx, mc_entry *e, const json_t *grpc, mc_error *err)
{
	const char *svc = nonempty_string(grpc, "service");
	const char *method = nonempty_string(grpc, "method");
	size_t sl, ml;
	mc_status st;

	if (svc == NULL)
		svc = nonempty_string(grpc, "serviceName");
	e->section = "grpc";
	if (svc == NULL || method == NULL)
		return MC_OK;
	while (*svc == '/')
		svc++;
	while (*method == '/')
		method++;
	sl = strlen(svc);
	ml = strlen(method);
	while (sl > 0 && svc[sl - 1] == '/')
		sl--;
	if (sl == 0 || ml == 0)
		return MC_OK;
	e->gkey = malloc(sl + ml + 3);
	if (e->gkey == NULL) {
		mc_error_set(err, MC_ENOMEM, "$.grpc", "out of memory");
		return MC_ENOMEM;
	}
	snprintf(e->gkey, sl + ml + 3, "/%.*s/%s", (int)sl, svc, method);
	e->conds = json_object_get(grpc, "conditions");
	e->header = json_object_get(grpc, "meta");
	e->sort = json_is_true(json_object_get(grpc, "sortArray"));
	e->kind = KIND_GRPC;
	if ((st = hold_cond_regexes(idx, e, e->conds, "conditions", err)) != MC_OK ||
	    (st = hold_cond_regexes(idx, e, e->header, "meta", err)) != MC_OK)
		return st;
	return MC_OK;
}

/*
 * Adds or replaces a mock (see core.h). A put that fails leaves the previous
 * mock with that id in place.
 */
mc_status
mc_index_put(mc_index *idx, json_t *mock, int64_t seq, mc_error *err)
{
	const char *ns_name, *id;
	char anon[32];
	ns_entry *ns;
	mc_entry *e, *old;
	const json_t *http, *grpc;
	mc_status st;

	if (idx == NULL || !json_is_object(mock)) {
		mc_error_set(err, MC_EINVAL, "$", "mock must be an object");
		return MC_EINVAL;
	}
	ns_name = nonempty_string(mock, "namespace");
	if (ns_name == NULL)
		ns_name = MC_DEFAULT_NAMESPACE;
	id = nonempty_string(mock, "id");
	if (id == NULL) {
		/* Anonymous mocks are never replaced; a NUL-free key outside the id space. */
		snprintf(anon, sizeof(anon), "\x01%llu", (unsigned long long)++idx->anon);
		id = anon;
	}
	ns = ns_get_or_create(idx, ns_name);
	if (ns == NULL) {
		mc_error_set(err, MC_ENOMEM, "", "out of memory");
		return MC_ENOMEM;
	}
	if (is_closed(mock)) {
		old = mc_strmap_get(&ns->ids, id, strlen(id));
		if (old)
			entry_unlink(idx, old);
		return MC_OK;
	}

	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->id = strdup(id)) == NULL) {
		free(e);
		mc_error_set(err, MC_ENOMEM, "", "out of memory");
		return MC_ENOMEM;
	}
	e->mock = json_incref(mock);
	e->seq = seq;
	e->ns = ns;
	e->priority = json_integer_value(json_object_get(mock, "priority"));
	e->kind = KIND_NONE;
	e->section = "http";
	http = http_section(mock);
	grpc = http ? NULL : grpc_section(mock);
	if (http && (st = entry_compile_http(idx, e, http, err)) != MC_OK) {
		entry_free(idx, e);
		return st;
	}
	if (grpc && (st = entry_compile_grpc(idx, e, grpc, err)) != MC_OK) {
		entry_free(idx, e);
		return st;
	}

	old = mc_strmap_get(&ns->ids, id, strlen(id));
	if (old)
		entry_unlink(idx, old);
	if (mc_strmap_put(&ns->ids, e->id, strlen(e->id), e) != MC_OK)
		goto oom;
	if (e->kind == KIND_ROUTE || e->kind == KIND_WILDCARD)
		st = mc_trie_insert(ns->trie, &e->route, e);
	else if (e->kind == KIND_PATTERN || e->kind == KIND_LOOSE)
		st = mc_ptrlist_push(&ns->loose, e);
	else if (e->kind == KIND_GRPC)
		st = grpc_list_add(ns, e);
	else
		st = MC_OK;
	if (st != MC_OK) {
		mc_strmap_del(&ns->ids, e->id, strlen(e->id));
		goto oom;
	}
	idx->count++;
	return MC_OK;
oom:
	entry_free(idx, e);
	mc_error_set(err, MC_ENOMEM, "", "out of memory");
	return MC_ENOMEM;
}

/* ---------------------------------------------------------------- match */

/* Candidate order: priority desc, literals desc, kind asc, seq desc. */
static int
cmp_entries(const void *a, const void *b)
{
	const mc_entry *x = *(mc_entry *const *)a;
	const mc_entry *y = *(mc_entry *const *)b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->literals != y->literals)
		return x->literals > y->literals ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq > y->seq ? -1 : 1;
	return 0;
}

/* The request path with the trailing slash dropped (except "/"), for regexes. */
typedef struct req_view {
	const mc_request *req;
	mc_headers_fn headers_fn; /* supplies req->headers on first use when set */
	void *headers_ctx;
	json_t *headers;          /* req->headers, or what headers_fn returned */
	bool headers_done;
	const char *path;
	size_t path_len;
	mc_path segs;
	json_t *raw_body; /* lazily made JSON string of a non-JSON body */
} req_view;

/*
 * When prefix is set, path must start with it at a segment boundary; *rest is
 * then the remainder ("" becomes "/"). Without prefix rest is the whole path.
 */
static bool
strip_prefix(const mc_entry *e, const req_view *rv, const char **rest, size_t *rest_len)
{
	size_t pl;

	if (e->prefix == NULL) {
		*rest = rv->path;
		*rest_len = rv->path_len;
		return true;
	}
	pl = strlen(e->prefix);
	if (rv->path_len < pl || memcmp(rv->path, e->prefix, pl) != 0)
		return false;
	if (rv->path_len > pl && rv->path[pl] != '/')
		return false;
	*rest = rv->path_len == pl ? "/" : rv->path + pl;
	*rest_len = rv->path_len == pl ? 1 : rv->path_len - pl;
	return true;
}

static bool
path_fits(const mc_index *idx, const mc_entry *e, const req_view *rv)
{
	const char *rest;
	size_t rest_len;

	if (e->kind == KIND_ROUTE || e->kind == KIND_WILDCARD) {
		if (e->pattern == NULL)
			return true; /* the trie already matched the route */
		if (!strip_prefix(e, rv, &rest, &rest_len))
			return false;
		return mc_regex_match(e->pattern, rest, rest_len, idx->mctx);
	}
	if (!strip_prefix(e, rv, &rest, &rest_len))
		return false;
	if (e->kind == KIND_PATTERN)
		return mc_regex_match(e->pattern, rest, rest_len, idx->mctx);
	return true;
}

static bool
method_fits(const mc_entry *e, const mc_request *req)
{
	return e->method == NULL || (req->method && strcasecmp(e->method, req->method) == 0);
}

/* Strips a leading "$." and then root, when present. */
static const char *
strip_list_name(const char *path, const char *root)
{
	size_t rl = strlen(root);

	if (path == NULL)
		return "";
	if (path[0] == '$' && path[1] == '.')
		path += 2;
	if (strncmp(path, root, rl) == 0 && path[rl] == '.')
		path += rl + 1;
	return path;
}

/* Values sent under a header name, case-insensitively; borrowed or NULL. */
static const json_t *
header_values(const json_t *headers, const char *name)
{
	char lower[256];
	size_t n = strlen(name);
	const char *k;
	json_t *v;

	if (!json_is_object(headers))
		return NULL;
	if (n < sizeof(lower)) {
		for (size_t i = 0; i <= n; i++)
			lower[i] = (char)tolower((unsigned char)name[i]);
		v = json_object_get(headers, lower);
		if (v)
			return v;
	}
	json_object_foreach ((json_t *)headers, k, v)
		if (strcasecmp(k, name) == 0)
			return v;
	return NULL;
}

/* The request headers: req->headers, or headers_fn's answer fetched once. */
static const json_t *
rv_headers(req_view *rv)
{
	if (!rv->headers_done) {
		rv->headers_done = true;
		rv->headers = rv->req->headers;
		if (rv->headers == NULL && rv->headers_fn != NULL)
			rv->headers = rv->headers_fn(rv->headers_ctx);
	}
	return rv->headers;
}

/* The path parameters of e for this path: a new object, NULL on no memory. */
static json_t *
build_params(const mc_index *idx, const mc_entry *e, const req_view *rv)
{
	json_t *params = json_object();

	if (params == NULL)
		return NULL;
	if (e->kind == KIND_ROUTE || e->kind == KIND_WILDCARD) {
		for (size_t i = 0; i < e->route.nsegs && i < rv->segs.nsegs; i++) {
			const mc_seg *s = &e->route.segs[i];

			if (s->kind != MC_SEG_PARAM)
				continue;
			json_object_setn_new(params, s->text, s->len,
					     mc_json_string_lossy(rv->segs.segs[i].p, rv->segs.segs[i].len));
		}
	}
	if (e->pattern) {
		/* Named groups of routePattern become path parameters. */
		const char *rest;
		size_t rest_len;
		uint32_t count = 0, entry_size = 0;
		PCRE2_SPTR table;
		pcre2_match_data *md;

		if (!strip_prefix(e, rv, &rest, &rest_len))
			return params;
		pcre2_pattern_info(e->pattern, PCRE2_INFO_NAMECOUNT, &count);
		if (count == 0)
			return params;
		pcre2_pattern_info(e->pattern, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
		pcre2_pattern_info(e->pattern, PCRE2_INFO_NAMETABLE, &table);
		md = pcre2_match_data_create_from_pattern(e->pattern, NULL);
		if (md && pcre2_match(e->pattern, (PCRE2_SPTR)rest, rest_len, 0, 0, md, idx->mctx) >= 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

			for (uint32_t i = 0; i < count; i++) {
				PCRE2_SPTR ent = table + (size_t)i * entry_size;
				int g = (ent[0] << 8) | ent[1];

				if (ov[2 * g] == PCRE2_UNSET)
					continue;
				json_object_set_new(params, (const char *)(ent + 2),
						    mc_json_string_lossy(rest + ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
			}
		}
		pcre2_match_data_free(md);
	}
	return params;
}

/*
 * Evaluates the body condition list. Paths under "$.pathParam.",
 * "$.queryParam." and "$.reqHeader." read those parts of the request instead of
 * the body; everything else is a JSONPath into the JSON body (or, for "$" on a
 * non-JSON body, the raw body text).
 */
static bool
body_conditions_hold(const mc_index *idx, const mc_entry *e, req_view *rv, json_t **params)
{
	mc_regex_env env = {cond_lookup, idx, idx->mctx};
	size_t i;
	json_t *c;

	json_array_foreach (e->conds, i, c) {
		const char *path = json_string_value(json_object_get(c, "path"));
		const char *p = path ? path : "";
		bool ok;

		if (p[0] == '$' && p[1] == '.')
			p += 2;
		if (strncmp(p, "pathParam.", 10) == 0) {
			if (*params == NULL && (*params = build_params(idx, e, rv)) == NULL)
				return false;
			ok = mc_condition_eval_env(c, json_object_get(*params, p + 10), e->sort, &env);
		} else if (strncmp(p, "queryParam.", 11) == 0) {
			ok = mc_condition_eval_list(c, json_object_get(rv->req->query, p + 11), e->sort, &env);
		} else if (strncmp(p, "reqHeader.", 10) == 0) {
			ok = mc_condition_eval_list(c, header_values(rv_headers(rv), p + 10), e->sort, &env);
		} else {
			const json_t *root = rv->req->body_json;

			if (root == NULL && rv->req->body != NULL) {
				if (rv->raw_body == NULL)
					rv->raw_body = mc_json_string_lossy(rv->req->body, rv->req->body_len);
				root = rv->raw_body;
			}
			ok = mc_condition_eval_env(c, mc_jsonpath_get(root, path), e->sort, &env);
		}
		if (!ok)
			return false;
	}
	return true;
}

static bool
list_conditions_hold(const mc_index *idx, const mc_entry *e, const json_t *list, req_view *rv,
		     bool headers)
{
	mc_regex_env env = {cond_lookup, idx, idx->mctx};
	const json_t *source;
	size_t i;
	json_t *c;

	if (json_array_size(list) == 0)
		return true;
	source = headers ? rv_headers(rv) : rv->req->query;
	json_array_foreach (list, i, c) {
		const char *path = json_string_value(json_object_get(c, "path"));
		const char *name = strip_list_name(path, headers ? "reqHeader" : "queryParam");

		if (headers && e->kind == KIND_GRPC)
			name = strip_list_name(name, "meta");
		const json_t *values = headers ? header_values(source, name) : json_object_get(source, name);

		if (!mc_condition_eval_list(c, values, e->sort, &env))
			return false;
	}
	return true;
}

static mc_status
collect_candidates(const ns_entry *ns, const req_view *rv, mc_ptrlist *out)
{
	if (mc_trie_collect(ns->trie, &rv->segs, out) != MC_OK)
		return MC_ENOMEM;
	for (size_t i = 0; i < ns->loose.len; i++)
		if (mc_ptrlist_push(out, ns->loose.items[i]) != MC_OK)
			return MC_ENOMEM;
	return MC_OK;
}

mc_status
mc_index_match(const mc_index *idx, const char *ns_name, const mc_request *req, mc_skip_fn skip,
	       void *skip_ctx, mc_match *out)
{
	return mc_index_match_lazy(idx, ns_name, req, NULL, NULL, skip, skip_ctx, out);
}

/*
 * See core.h. headers_fn is asked for the headers only when a candidate that
 * passed route, method and pattern has a header condition, so a server can
 * skip building the header object for most requests.
 */
mc_status
mc_index_match_lazy(const mc_index *idx, const char *ns_name, const mc_request *req,
		    mc_headers_fn headers_fn, void *headers_ctx, mc_skip_fn skip, void *skip_ctx,
		    mc_match *out)
{
	const ns_entry *ns;
	mc_ptrlist cands = {0};
	req_view rv;
	size_t kept = 0;
	mc_status result = MC_ENOTFOUND;

	if (out) {
		out->mock = NULL;
		out->path_params = NULL;
	}
	if (idx == NULL || req == NULL || out == NULL)
		return MC_ENOTFOUND;
	if (ns_name == NULL || *ns_name == '\0')
		ns_name = MC_DEFAULT_NAMESPACE;
	ns = mc_strmap_get(&idx->nss, ns_name, strlen(ns_name));
	if (ns == NULL)
		return MC_ENOTFOUND;

	memset(&rv, 0, sizeof(rv));
	rv.req = req;
	rv.headers_fn = headers_fn;
	rv.headers_ctx = headers_ctx;
	rv.path = req->path && *req->path ? req->path : "/";
	rv.path_len = strlen(rv.path);
	while (rv.path_len > 1 && rv.path[rv.path_len - 1] == '/')
		rv.path_len--;
	mc_path_split(rv.path, &rv.segs);

	if (req->protocol == MC_PROTO_GRPC) {
		/* Only the mocks of this exact "/service/method"; no HTTP mock. */
		const mc_ptrlist *l = mc_strmap_get(&ns->grpc, rv.path, strlen(rv.path));

		for (size_t i = 0; l && i < l->len; i++)
			if (mc_ptrlist_push(&cands, l->items[i]) != MC_OK) {
				result = MC_ENOMEM;
				goto done;
			}
		kept = cands.len;
	} else {
		if (collect_candidates(ns, &rv, &cands) != MC_OK) {
			result = MC_ENOMEM;
			goto done;
		}
		for (size_t i = 0; i < cands.len; i++) {
			mc_entry *e = cands.items[i];

			if (method_fits(e, req) && path_fits(idx, e, &rv))
				cands.items[kept++] = e;
		}
	}
	cands.len = kept;
	if (kept > 1)
		qsort(cands.items, kept, sizeof(void *), cmp_entries);

	for (size_t i = 0; i < cands.len; i++) {
		mc_entry *e = cands.items[i];
		json_t *params = NULL;

		if (body_conditions_hold(idx, e, &rv, &params) &&
		    list_conditions_hold(idx, e, e->query, &rv, false) &&
		    list_conditions_hold(idx, e, e->header, &rv, true) &&
		    (skip == NULL || !skip(skip_ctx, e->mock))) {
			if (params == NULL)
				params = build_params(idx, e, &rv);
			if (params == NULL) {
				result = MC_ENOMEM;
				goto done;
			}
			out->mock = e->mock;
			out->path_params = params;
			result = MC_OK;
			goto done;
		}
		json_decref(params);
	}
done:
	json_decref(rv.raw_body);
	mc_ptrlist_free(&cands);
	return result;
}

void
mc_match_clear(mc_match *m)
{
	if (m == NULL)
		return;
	json_decref(m->path_params);
	m->path_params = NULL;
	m->mock = NULL;
}
