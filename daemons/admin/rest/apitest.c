/*
 * apitest.c - REST surface of the API tester: Postman collections (create,
 * import, export, duplicate), environments, test runs (start, list, cancel,
 * export, reports) and the shared helpers of rest/perf.c (scope, 404 lookups,
 * strict bodies, ?wait=).
 *
 * The SQL API (mockarty.collection_*, environment_*, test_run_*) owns the state
 * and the rules; this file adds only what the database cannot do: it compiles a
 * collection with the tester library before storing it, so a document the
 * runners could not execute is refused with the path of the bad field, and the
 * script lines that cannot be translated are reported at import time instead of
 * being discovered in a failed run. Reports (JUnit, markdown) are rendered by the
 * same library the runners use, so what CI sees matches what ran.
 *
 * ?wait= is the one place where a handler blocks: it keeps a libmicrohttpd pool
 * thread for up to the requested time, so it polls the run with back-off on a
 * pooled connection (returned between polls) and the number of concurrent
 * waiters is capped below the pool size (apitest_wait_enter).
 */
#include "otel.h"
#include "rest/apitest.h"

#include "node/node.h"
#include "rest/handlers.h"
#include "tester.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Statuses after which a test run never changes again (contract section 1). */
static const char *const TR_TERMINAL[] = {"passed", "failed", "cancelled", "error", NULL};

/* ===================================================== shared helpers */

const char *
apitest_scope(const api_req *req)
{
	const char *ns;

	if (req->token_ns != NULL && req->token_ns[0] != '\0')
		return req->token_ns;
	ns = api_query(req, "namespace");
	if (ns != NULL && ns[0] != '\0')
		return ns;
	ns = api_header(req, "x-namespace");
	if (ns != NULL && ns[0] != '\0')
		return ns;
	return NULL;
}

bool
apitest_is_uuid(const char *s)
{
	static const char hex[] = "0123456789abcdefABCDEF";

	if (s == NULL || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (strchr(hex, s[i]) == NULL || s[i] == '\0') {
			return false;
		}
	}
	return true;
}

json_t *
apitest_fetch(api_req *req, api_resp *resp, const char *getter, const char *id, const char *what)
{
	const char *scope = apitest_scope(req);
	const char *params[1] = {id};
	json_t *row = NULL;
	char sql[128];

	if (id == NULL || !apitest_is_uuid(id))
		goto missing;
	snprintf(sql, sizeof(sql), "SELECT mockarty.%s($1::uuid)", getter);
	if (!db_json(req, resp, sql, 1, params, &row))
		return NULL;
	if (!json_is_object(row))
		goto missing;
	if (scope != NULL) {
		const char *ns = json_string_value(json_object_get(row, "namespace"));

		if (ns == NULL || strcmp(ns, scope) != 0)
			goto missing;
	}
	return row;
missing:
	json_decref(row);
	api_error(req, resp, 404, "not_found", "%s %s does not exist", what, id != NULL ? id : "(none)");
	return NULL;
}

/* True when the body holds nothing but white space. */
static bool
body_blank(const api_req *req)
{
	for (size_t i = 0; req->body != NULL && i < req->body_len; i++)
		if (req->body[i] != ' ' && req->body[i] != '\t' && req->body[i] != '\r' &&
		    req->body[i] != '\n')
			return false;
	return true;
}

json_t *
apitest_body(api_req *req, api_resp *resp, bool optional)
{
	if (body_blank(req)) {
		if (optional)
			return json_object();
		api_error(req, resp, 400, "validation", "request body is empty; a JSON object is required");
		return NULL;
	}
	if (req->body_json == NULL) {
		json_error_t jerr;
		json_t *v = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, &jerr);

		if (v == NULL) {
			api_error(req, resp, 400, "validation",
			          "malformed JSON at offset %d (line %d, column %d): %s", jerr.position,
			          jerr.line, jerr.column, jerr.text);
			json_object_set_new(resp->json, "offset", json_integer(jerr.position));
			return NULL;
		}
		req->body_json = v; /* the server frees it with the request */
	}
	if (api_body(req, resp, JSON_OBJECT) == NULL)
		return NULL;
	return json_incref(req->body_json);
}

bool
apitest_wait_param(api_req *req, api_resp *resp, int *secs)
{
	const char *w = api_query(req, "wait");
	char buf[16];
	size_t n;
	long long v;

	*secs = 0;
	if (w == NULL || w[0] == '\0')
		return true;
	/* "30" and "30s" both mean seconds */
	n = strlen(w);
	if (n < sizeof(buf)) {
		memcpy(buf, w, n + 1);
		if (n > 1 && buf[n - 1] == 's')
			buf[n - 1] = '\0';
		if (rest_parse_int(buf, 0, 600, &v)) {
			*secs = (int)v;
			return true;
		}
	}
	api_error(req, resp, 400, "validation", "wait: expected whole seconds 0..600, got \"%s\"", w);
	json_object_set_new(resp->json, "field", json_string("wait"));
	return false;
}

static atomic_int wait_slots_used;

bool
apitest_wait_enter(api_req *req, api_resp *resp)
{
	int max = admin_cfg.threads > 1 ? admin_cfg.threads - 1 : 1;

	if (atomic_fetch_add(&wait_slots_used, 1) >= max) {
		atomic_fetch_sub(&wait_slots_used, 1);
		api_error(
		    req, resp, 429, "rate_limit",
		    "%d request(s) with ?wait= are blocking already (the limit of this node, THREADS-1); "
		    "retry later or start without wait and poll the run",
		    max);
		return false;
	}
	return true;
}

void
apitest_wait_leave(void)
{
	atomic_fetch_sub(&wait_slots_used, 1);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True when every element of runs is no longer an object or has a terminal status. */
static bool
all_terminal(const json_t *runs, const char *const *terminal)
{
	size_t i;
	json_t *r;

	json_array_foreach (runs, i, r) {
		const char *st = json_string_value(json_object_get(r, "status"));
		bool done = !json_is_object(r);

		for (int k = 0; !done && st != NULL && terminal[k] != NULL; k++)
			done = strcmp(st, terminal[k]) == 0;
		if (!done)
			return false;
	}
	return true;
}

json_t *
apitest_wait_runs(api_req *req, json_t *runs, const char *getter, const char *const *terminal, int secs)
{
	json_t *ids, *r;
	char sql[256], *lit;
	int64_t deadline;
	long delay = 20;
	size_t i;

	if (secs <= 0 || !json_is_array(runs) || all_terminal(runs, terminal))
		return runs;
	ids = json_array();
	json_array_foreach (runs, i, r) {
		const char *id = json_string_value(json_object_get(r, "id"));

		json_array_append_new(ids,
		                      json_string(id != NULL ? id : "00000000-0000-0000-0000-000000000000"));
	}
	lit = api_pg_array(ids);
	json_decref(ids);
	if (lit == NULL)
		return runs;
	snprintf(sql, sizeof(sql),
	         "SELECT coalesce(jsonb_agg(mockarty.%s(x::uuid) ORDER BY o), '[]'::jsonb)"
	         " FROM unnest($1::text[]) WITH ORDINALITY AS t(x, o)",
	         getter);
	deadline = mono_ms() + (int64_t)secs * 1000;
	for (;;) {
		const char *params[1] = {lit};
		api_resp tmp = {0};
		json_t *fresh = NULL;
		int64_t left = deadline - mono_ms();
		struct timespec ts;

		if (left <= 0)
			break;
		if (delay > left)
			delay = (long)left;
		ts.tv_sec = delay / 1000;
		ts.tv_nsec = (delay % 1000) * 1000000L;
		nanosleep(&ts, NULL);
		delay = delay * 2 > 500 ? 500 : delay * 2;
		if (!db_json(req, &tmp, sql, 1, params, &fresh)) {
			json_decref(tmp.json);
			free(tmp.raw);
			break; /* keep the last state read */
		}
		json_array_foreach (fresh, i, r) {
			if (json_is_object(r) && i < json_array_size(runs))
				json_array_set(runs, i, r);
		}
		json_decref(fresh);
		if (all_terminal(runs, terminal))
			break;
	}
	free(lit);
	return runs;
}

/* Sets resp to a raw text body (takes text, malloc'd). */
static void
raw_reply(api_req *req, api_resp *resp, char *text, const char *ctype)
{
	if (text == NULL) {
		api_error(req, resp, 500, "internal", "report rendering failed (out of memory)");
		return;
	}
	api_json(resp, 200, NULL);
	resp->raw = text;
	resp->raw_len = strlen(text);
	resp->content_type = ctype;
}

/*
 * mockarty.<fn>(req->params[0]::uuid) on a row the request may see: 404 (naming what and the
 * id) unless mockarty.<getter>(id) shows it in the request's scope. Returns the function's JSON
 * (new reference), or NULL after answering an error.
 */
static json_t *
scoped_call(api_req *req, api_resp *resp, const char *getter, const char *fn, const char *what)
{
	json_t *row = apitest_fetch(req, resp, getter, req->params[0], what), *out = NULL;
	const char *params[1] = {req->params[0]};
	char sql[96];

	if (row == NULL)
		return NULL;
	json_decref(row);
	snprintf(sql, sizeof(sql), "SELECT mockarty.%s($1::uuid)", fn);
	return db_json(req, resp, sql, 1, params, &out) ? out : NULL;
}

/* See rest/apitest.h. */
void
apitest_delete(api_req *req, api_resp *resp, const char *getter, const char *deleter, const char *what)
{
	json_t *ok = scoped_call(req, resp, getter, deleter, what);

	if (ok == NULL)
		return;
	if (!json_is_true(ok))
		api_error(req, resp, 404, "not_found", "%s %s does not exist", what, req->params[0]);
	else
		api_json(resp, 200, json_pack("{s:b, s:s}", "deleted", 1, "id", req->params[0]));
	json_decref(ok);
}

/* See rest/apitest.h. */
void
apitest_action(api_req *req, api_resp *resp, const char *getter, const char *fn, const char *what)
{
	json_t *out = scoped_call(req, resp, getter, fn, what);

	if (out != NULL)
		api_json(resp, 200, out);
}

/* limit (1..1000, default dflt) and offset (>= 0) from the query; false after a 400. */
static bool
page_params(api_req *req, api_resp *resp, long long dflt, char limit[24], char offset[24])
{
	const char *l = api_query(req, "limit"), *o = api_query(req, "offset");
	long long lv = dflt, ov = 0;

	if (l != NULL && l[0] != '\0' && !rest_parse_int(l, 1, 1000, &lv)) {
		api_error(req, resp, 400, "validation", "limit: expected 1..1000, got \"%s\"", l);
		json_object_set_new(resp->json, "field", json_string("limit"));
		return false;
	}
	if (o != NULL && o[0] != '\0' && !rest_parse_int(o, 0, 100000000, &ov)) {
		api_error(req, resp, 400, "validation", "offset: expected a whole number >= 0, got \"%s\"",
		          o);
		json_object_set_new(resp->json, "field", json_string("offset"));
		return false;
	}
	snprintf(limit, 24, "%lld", lv);
	snprintf(offset, 24, "%lld", ov);
	return true;
}

/* ===================================================== collection bodies */

/* Where a collection document came from, for error messages. */
enum coll_form { FORM_NONE = 0, FORM_DOC, FORM_WRAPPED, FORM_DATA };

typedef struct coll_src {
	enum coll_form form;
	json_t *doc;             /* the Postman document (new reference) or NULL */
	const char *field;       /* its name in errors: "", "collection" or "data" */
	const char *name;        /* borrowed from the body or the document; may be NULL */
	const char *description; /* likewise */
	json_t *metadata;        /* borrowed object or NULL */
} coll_src;

/*
 * Parses JSON text found in field of the body. New reference, or NULL after a 400
 * naming the field and the offset inside the text.
 */
static json_t *
parse_text_field(api_req *req, api_resp *resp, const char *text, const char *field)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (v == NULL) {
		api_error(req, resp, 400, "validation",
		          "%s: malformed JSON at offset %d (line %d, column %d): %s", field, jerr.position,
		          jerr.line, jerr.column, jerr.text);
		json_object_set_new(resp->json, "field", json_string(field));
		json_object_set_new(resp->json, "offset", json_integer(jerr.position));
	}
	return v;
}

/*
 * Finds the Postman document of a create/update/import body in one of its three
 * forms: the document itself ({"info","item"}), {"collection": <doc or its text>,
 * "name", "description", "metadata"}, or {"data": "<text>"}. need_doc makes a
 * body without one a 400. Fills out (release out->doc); false after a 400.
 */
static bool
coll_source(api_req *req, api_resp *resp, json_t *body, bool need_doc, coll_src *out)
{
	json_t *c = json_object_get(body, "collection"), *d = json_object_get(body, "data");
	json_t *v = NULL, *info, *desc, *meta;
	const char *s;

	memset(out, 0, sizeof(*out));
	out->field = "";
	if (c != NULL && !json_is_null(c)) {
		out->form = FORM_WRAPPED;
		out->field = "collection";
		v = c;
	} else if (d != NULL && !json_is_null(d)) {
		out->form = FORM_DATA;
		out->field = "data";
		v = d;
	} else if (json_object_get(body, "item") != NULL || json_object_get(body, "info") != NULL) {
		out->form = FORM_DOC;
		out->doc = json_incref(body);
	} else if (need_doc) {
		api_error(
		    req, resp, 400, "validation",
		    "collection: is required (send a Postman v2.1 collection as the body, in \"collection\", "
		    "or as text in \"data\")");
		json_object_set_new(resp->json, "field", json_string("collection"));
		return false;
	}
	if (v != NULL) {
		if (json_is_string(v)) {
			out->doc = parse_text_field(req, resp, json_string_value(v), out->field);
			if (out->doc == NULL)
				return false;
		} else if (json_is_object(v)) {
			out->doc = json_incref(v);
		} else {
			api_error(req, resp, 400, "validation",
			          "%s: must be a Postman v2.1 collection (a JSON object or its text)",
			          out->field);
			json_object_set_new(resp->json, "field", json_string(out->field));
			return false;
		}
	}
	if (out->doc != NULL) {
		json_t *inner = json_object_get(out->doc, "collection");

		/* the Postman API wraps an export as {"collection": {...}} */
		if (json_is_object(inner) && json_object_get(out->doc, "item") == NULL) {
			json_incref(inner);
			json_decref(out->doc);
			out->doc = inner;
		}
		if (!json_is_object(out->doc)) {
			api_error(req, resp, 400, "validation",
			          "%s: must be a JSON object (a Postman v2.1 collection)",
			          out->field[0] ? out->field : "body");
			json_object_set_new(resp->json, "field",
			                    json_string(out->field[0] ? out->field : "body"));
			json_decref(out->doc);
			out->doc = NULL;
			return false;
		}
	}
	info = out->doc != NULL ? json_object_get(out->doc, "info") : NULL;
	if (out->form != FORM_DOC) {
		s = json_string_value(json_object_get(body, "name"));
		if (s != NULL && s[0] != '\0')
			out->name = s;
		desc = json_object_get(body, "description");
		if (json_is_string(desc))
			out->description = json_string_value(desc);
		meta = json_object_get(body, "metadata");
		if (meta != NULL && !json_is_null(meta)) {
			if (!json_is_object(meta)) {
				api_error(req, resp, 400, "validation", "metadata: must be an object");
				json_object_set_new(resp->json, "field", json_string("metadata"));
				json_decref(out->doc);
				out->doc = NULL;
				return false;
			}
			out->metadata = meta;
		}
	}
	if (out->name == NULL) {
		s = json_string_value(json_object_get(info, "name"));
		if (s != NULL && s[0] != '\0')
			out->name = s;
	}
	if (out->description == NULL && info != NULL) {
		desc = json_object_get(info, "description");
		if (json_is_object(desc)) /* {"content": "...", "type": "text/markdown"} */
			desc = json_object_get(desc, "content");
		if (json_is_string(desc))
			out->description = json_string_value(desc);
	}
	return true;
}

/*
 * Walks a compiled plan and appends one {"request","line","text","reason"} per
 * skipped script line to out. The plan format is the tester library's; the
 * contract only promises "skipped" arrays on the requests, so the walk takes
 * the request name from the nearest enclosing object with a "name".
 */
static void
collect_warnings(const json_t *node, const char *reqname, json_t *out, int depth)
{
	const char *key;
	json_t *v;
	size_t i;

	if (depth > 64)
		return;
	if (json_is_array(node)) {
		json_array_foreach (node, i, v)
			collect_warnings(v, reqname, out, depth + 1);
		return;
	}
	if (!json_is_object(node))
		return;
	if (json_is_string(json_object_get(node, "name")))
		reqname = json_string_value(json_object_get(node, "name"));
	v = json_object_get(node, "skipped");
	if (json_is_array(v)) {
		json_t *e;

		json_array_foreach (v, i, e) {
			json_t *line = json_object_get(e, "line");

			if (!json_is_object(e))
				continue;
			json_array_append_new(
			    out,
			    json_pack("{s:s, s:O, s:O, s:O}", "request", reqname != NULL ? reqname : "",
			              "line", line != NULL ? line : json_null(), "text",
			              json_object_get(e, "text") ? json_object_get(e, "text") : json_null(),
			              "reason",
			              json_object_get(e, "reason") ? json_object_get(e, "reason")
			                                           : json_null()));
		}
	}
	json_object_foreach ((json_t *)node, key, v) {
		if (strcmp(key, "skipped") != 0)
			collect_warnings(v, reqname, out, depth + 1);
	}
}

/*
 * Compiles src->doc with the tester library. Returns the import warnings (new
 * array), or NULL after a 400 naming the bad field of the document.
 */
static json_t *
compile_check(api_req *req, api_resp *resp, const coll_src *src)
{
	char err[512] = "", field[256];
	json_t *plan = mt_compile(src->doc, err, sizeof(err)), *warnings;

	if (plan == NULL) {
		const char *colon = strstr(err, ": ");
		size_t n = colon != NULL ? (size_t)(colon - err) : 0;

		if (err[0] == '\0')
			snprintf(err, sizeof(err), "not a Postman v2.1 collection");
		if (src->field[0] != '\0')
			api_error(req, resp, 400, "validation", "%s%s%s", src->field,
			          src->form == FORM_DATA ? ": " : ".", err);
		else
			api_error(req, resp, 400, "validation", "%s", err);
		/* the path before ": " in the library's message names the field */
		if (n > 0 && n < 200)
			snprintf(field, sizeof(field), "%s%s%.*s",
			         src->form == FORM_WRAPPED ? src->field : "",
			         src->form == FORM_WRAPPED ? "." : "", (int)n, err);
		else
			snprintf(field, sizeof(field), "%s", src->field[0] ? src->field : "collection");
		json_object_set_new(resp->json, "field", json_string(field));
		return NULL;
	}
	warnings = json_array();
	collect_warnings(plan, NULL, warnings, 0);
	json_decref(plan);
	return warnings;
}

/* body[field] must be absent, null or a uuid string; *out = it or NULL. False after a 400. */
static bool
body_uuid(api_req *req, api_resp *resp, json_t *body, const char *field, const char **out)
{
	json_t *v = json_object_get(body, field);

	*out = NULL;
	if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
		return true;
	if (!json_is_string(v)) {
		api_error(req, resp, 400, "validation", "%s: must be a uuid string", field);
		json_object_set_new(resp->json, "field", json_string(field));
		return false;
	}
	*out = json_string_value(v);
	return true;
}

/*
 * Stores a new collection from src in namespace ns. Returns the collection JSON
 * with "importWarnings" (new reference) or NULL with resp filled.
 */
static json_t *
store_collection(api_req *req, api_resp *resp, const char *ns, const coll_src *src, const char *name,
                 const char *id)
{
	json_t *warnings, *out = NULL;
	char *doc, *meta;

	if ((warnings = compile_check(req, resp, src)) == NULL)
		return NULL;
	doc = api_dump(src->doc);
	meta = src->metadata != NULL ? api_dump(src->metadata) : NULL;
	if (doc == NULL) {
		json_decref(warnings);
		api_error(req, resp, 500, "internal", "out of memory");
		return NULL;
	}
	if (id != NULL && !apitest_is_uuid(id)) {
		api_error(req, resp, 400, "validation", "id: must be a uuid, got \"%s\"", id);
		json_object_set_new(resp->json, "field", json_string("id"));
	} else {
		const char *params[6] = {ns, name, doc, src->description, meta != NULL ? meta : "{}", id};

		if (db_json(req, resp,
		            "SELECT mockarty.collection_create($1, $2, $3::jsonb, $4, $5::jsonb, $6::uuid)",
		            6, params, &out)) {
			if (json_is_object(out)) {
				json_object_set_new(out, "importWarnings", warnings);
				warnings = NULL;
			} else {
				json_decref(out);
				out = NULL;
				api_error(req, resp, 500, "internal",
				          "collection_create returned no collection");
			}
		}
	}
	json_decref(warnings);
	free(doc);
	free(meta);
	return out;
}

/* ===================================================== collections */

/* GET /api/v1/api-tester/collections -> [Collection] of the request's namespace. */
void
apitest_collection_list(api_req *req, api_resp *resp)
{
	const char *params[1] = {api_namespace(req)};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT coalesce(mockarty.collection_list($1), '[]'::jsonb)", 1, params, &out))
		api_json(resp, 200, out);
}

/*
 * POST /api/v1/api-tester/collections (three body forms, see coll_source) ->
 * 201 Collection + "importWarnings". The namespace is the request's (api-compat
 * 1.3); an "id" in the wrapped form is kept (409 when taken).
 */
void
apitest_collection_create(api_req *req, api_resp *resp)
{
	json_t *body, *out;
	const char *id = NULL;
	coll_src src;

	if ((body = apitest_body(req, resp, false)) == NULL)
		return;
	if (!coll_source(req, resp, body, true, &src))
		goto done;
	if (src.name == NULL) {
		api_error(req, resp, 400, "validation",
		          "name: is required (in the body, or as info.name of the collection)");
		json_object_set_new(resp->json, "field", json_string("name"));
		goto done;
	}
	if (src.form != FORM_DOC && !body_uuid(req, resp, body, "id", &id))
		goto done;
	out = store_collection(req, resp, api_namespace(req), &src, src.name, id);
	if (out != NULL)
		api_json(resp, 201, out);
done:
	json_decref(src.doc);
	json_decref(body);
}

/*
 * POST /api/v1/api-tester/import/postman: the collection JSON itself (Python SDK)
 * or {"data":"<text>"} (Go/Java) -> 201 {"collectionId","name","imported"(request
 * count),"message","warnings","collection"}.
 */
void
apitest_import_postman(api_req *req, api_resp *resp)
{
	json_t *body, *out;
	coll_src src;
	const char *name;
	json_int_t n;

	if ((body = apitest_body(req, resp, false)) == NULL)
		return;
	if (!coll_source(req, resp, body, true, &src))
		goto done;
	name = src.name != NULL ? src.name : "Imported collection";
	out = store_collection(req, resp, api_namespace(req), &src, name, NULL);
	if (out != NULL) {
		json_t *warnings = json_object_get(out, "importWarnings");
		char msg[160];

		n = json_integer_value(json_object_get(out, "requestCount"));
		snprintf(msg, sizeof(msg), "imported %lld request(s), %zu script line(s) not translated",
		         (long long)n, json_array_size(warnings));
		api_json(resp, 201,
		         json_pack("{s:O, s:O, s:I, s:s, s:O, s:o}", "collectionId",
		                   json_object_get(out, "id"), "name", json_object_get(out, "name"),
		                   "imported", n, "message", msg, "warnings", warnings, "collection", out));
	}
done:
	json_decref(src.doc);
	json_decref(body);
}

/* POST /api/v1/api-tester/import/{kind} for kinds other than postman: a clear 400. */
void
apitest_import_other(api_req *req, api_resp *resp)
{
	api_error(req, resp, 400, "validation",
	          "import kind \"%s\" is not supported by this server; only \"postman\" (Postman v2.1) is",
	          req->params[0]);
	json_object_set_new(resp->json, "field", json_string("kind"));
}

/* GET /api/v1/api-tester/collections/:id -> Collection (with the document). */
void
apitest_collection_get(api_req *req, api_resp *resp)
{
	json_t *row = apitest_fetch(req, resp, "collection_get", req->params[0], "collection");

	if (row != NULL)
		api_json(resp, 200, row);
}

/*
 * PUT /api/v1/api-tester/collections/:id (same body forms as create) -> Collection
 * + "importWarnings". Only what the body names changes: a bare Postman document
 * replaces the document and takes its info.name/description.
 */
void
apitest_collection_update(api_req *req, api_resp *resp)
{
	json_t *row, *body = NULL, *patch = NULL, *warnings = NULL, *out = NULL, *v;
	coll_src src = {0};
	char *text = NULL;

	if ((row = apitest_fetch(req, resp, "collection_get", req->params[0], "collection")) == NULL)
		return;
	if ((body = apitest_body(req, resp, false)) == NULL)
		goto done;
	if (!coll_source(req, resp, body, false, &src))
		goto done;
	patch = json_object();
	if (src.doc != NULL) {
		if ((warnings = compile_check(req, resp, &src)) == NULL)
			goto done;
		json_object_set(patch, "collection", src.doc);
	}
	v = json_object_get(body, "name");
	if (src.form != FORM_DOC && v != NULL && !json_is_null(v)) {
		if (rest_body_string(req, resp, body, "name") == NULL)
			goto done;
		json_object_set(patch, "name", v);
	} else if (src.form == FORM_DOC && src.name != NULL) {
		json_object_set_new(patch, "name", json_string(src.name));
	}
	if (src.description != NULL)
		json_object_set_new(patch, "description", json_string(src.description));
	if (src.metadata != NULL)
		json_object_set(patch, "metadata", src.metadata);
	v = json_object_get(body, "namespace");
	if (src.form != FORM_DOC && json_is_string(v) && json_string_length(v) > 0 &&
	    rest_token_ns(req) == NULL)
		json_object_set(patch, "namespace", v);
	if (json_object_size(patch) == 0) {
		api_error(req, resp, 400, "validation",
		          "nothing to update: send name, description, metadata, namespace or a collection");
		goto done;
	}
	text = api_dump(patch);
	{
		const char *params[2] = {req->params[0], text};

		if (!db_json(req, resp, "SELECT mockarty.collection_update($1::uuid, $2::jsonb)", 2, params,
		             &out))
			goto done;
	}
	if (!json_is_object(out)) {
		api_error(req, resp, 404, "not_found", "collection %s does not exist", req->params[0]);
		goto done;
	}
	json_object_set_new(out, "importWarnings", warnings != NULL ? json_incref(warnings) : json_array());
	api_json(resp, 200, out);
	out = NULL;
done:
	json_decref(out);
	free(text);
	json_decref(patch);
	json_decref(warnings);
	json_decref(src.doc);
	json_decref(body);
	json_decref(row);
}

/* DELETE /api/v1/api-tester/collections/:id -> {"deleted":true,"id"}. */
void
apitest_collection_delete(api_req *req, api_resp *resp)
{
	apitest_delete(req, resp, "collection_get", "collection_delete", "collection");
}

/*
 * DELETE /api/v1/api-tester/collections/batch {"ids":[...]} -> {"deleted":n,
 * "ids":[deleted],"notFound":[ids unknown or out of scope]}. Each id is one
 * statement; an id that is not a uuid is simply not found.
 */
void
apitest_collection_batch_delete(api_req *req, api_resp *resp)
{
	json_t *body, *ids, *done_ids, *missing, *v;
	const char *scope = apitest_scope(req);
	size_t i;

	if ((body = apitest_body(req, resp, false)) == NULL)
		return;
	ids = json_object_get(body, "ids");
	if (!json_is_array(ids)) {
		api_error(req, resp, 400, "validation", "ids: %s",
		          ids == NULL ? "is required (an array of collection ids)"
		                      : "must be an array of strings");
		json_object_set_new(resp->json, "field", json_string("ids"));
		json_decref(body);
		return;
	}
	done_ids = json_array();
	missing = json_array();
	json_array_foreach (ids, i, v) {
		const char *id = json_string_value(v);
		const char *params[2] = {id, scope};
		json_t *ok = NULL;

		if (id == NULL || !apitest_is_uuid(id)) {
			if (id == NULL) {
				api_error(req, resp, 400, "validation", "ids[%zu]: must be a string", i);
				json_object_set_new(resp->json, "field", json_string("ids"));
				goto out;
			}
			json_array_append(missing, v);
			continue;
		}
		if (!db_json(req, resp,
		             "SELECT CASE WHEN c IS NOT NULL AND ($2::text IS NULL OR c->>'namespace' = $2)"
		             " THEN mockarty.collection_delete($1::uuid) ELSE false END"
		             " FROM (SELECT mockarty.collection_get($1::uuid) AS c) AS s",
		             2, params, &ok))
			goto out;
		json_array_append(json_is_true(ok) ? done_ids : missing, v);
		json_decref(ok);
	}
	api_json(resp, 200,
	         json_pack("{s:I, s:O, s:O}", "deleted", (json_int_t)json_array_size(done_ids), "ids",
	                   done_ids, "notFound", missing));
out:
	json_decref(done_ids);
	json_decref(missing);
	json_decref(body);
}

/* GET /api/v1/api-tester/collections/:id/export -> the Postman v2.1 document. */
void
apitest_collection_export(api_req *req, api_resp *resp)
{
	json_t *row = apitest_fetch(req, resp, "collection_get", req->params[0], "collection");

	if (row == NULL)
		return;
	api_json(resp, 200, json_incref(json_object_get(row, "collection")));
	if (resp->json == NULL)
		api_error(req, resp, 500, "internal", "collection %s has no document", req->params[0]);
	json_decref(row);
}

/*
 * POST /api/v1/api-tester/collections/:id/duplicate (body optional {"name"}) ->
 * 201 the new Collection, same namespace, named "<name> (copy)" by default.
 */
void
apitest_collection_duplicate(api_req *req, api_resp *resp)
{
	json_t *row, *body, *out = NULL;
	char name[512];
	char *doc = NULL, *meta = NULL;
	const char *given;

	if ((row = apitest_fetch(req, resp, "collection_get", req->params[0], "collection")) == NULL)
		return;
	if ((body = apitest_body(req, resp, true)) == NULL) {
		json_decref(row);
		return;
	}
	given = json_string_value(json_object_get(body, "name"));
	if (given != NULL && given[0] != '\0')
		snprintf(name, sizeof(name), "%s", given);
	else
		snprintf(name, sizeof(name), "%s (copy)", json_string_value(json_object_get(row, "name")));
	doc = api_dump(json_object_get(row, "collection"));
	meta = json_is_object(json_object_get(row, "metadata")) ? api_dump(json_object_get(row, "metadata"))
	                                                        : strdup("{}");
	{
		const char *params[5] = {json_string_value(json_object_get(row, "namespace")), name, doc,
		                         json_string_value(json_object_get(row, "description")), meta};

		if (db_json(req, resp, "SELECT mockarty.collection_create($1, $2, $3::jsonb, $4, $5::jsonb)",
		            5, params, &out))
			api_json(resp, 201, out);
	}
	free(doc);
	free(meta);
	json_decref(body);
	json_decref(row);
}

/* ===================================================== starting runs */

/*
 * Starts one test run per collection id of ids (JSON array of strings) in one
 * transaction, after checking every collection and the environment are visible
 * to the request (404 naming the first one that is not). Honors ?wait=. Answers
 * 201 with the TestRun (single) or the array of them.
 */
static void
start_runs(api_req *req, api_resp *resp, json_t *ids, const char *env_id, json_t *options, bool single)
{
	json_t *row, *runs = NULL, *v;
	char *lit = NULL, *opts = NULL;
	int secs;
	size_t i;

	if (!apitest_wait_param(req, resp, &secs))
		return;
	json_array_foreach (ids, i, v) {
		if ((row = apitest_fetch(req, resp, "collection_get", json_string_value(v), "collection")) ==
		    NULL)
			return;
		json_decref(row);
	}
	if (env_id != NULL) {
		if ((row = apitest_fetch(req, resp, "environment_get", env_id, "environment")) == NULL)
			return;
		json_decref(row);
	}
	if (options != NULL && !json_is_null(options) && !json_is_object(options)) {
		api_error(req, resp, 400, "validation", "options: must be an object");
		json_object_set_new(resp->json, "field", json_string("options"));
		return;
	}
	if (secs > 0 && !apitest_wait_enter(req, resp))
		return;
	lit = api_pg_array(ids);
	{
		/* the runner's task span becomes a child of this request's span (docs/telemetry.md) */
		json_t *o = json_is_object(options) ? json_deep_copy(options) : json_object();
		char tp[OTEL_TRACEPARENT_SIZE];

		if (o != NULL && otel_current() != NULL && otel_span_traceparent(otel_current(), tp))
			json_object_set_new(o, "traceparent", json_string(tp));
		opts = o != NULL ? api_dump(o) : NULL;
		json_decref(o);
	}
	{
		const char *params[3] = {lit, env_id, opts};

		if (lit == NULL || opts == NULL) {
			api_error(req, resp, 500, "internal", "out of memory");
		} else if (
		    db_json(req, resp,
		            "SELECT coalesce(jsonb_agg(mockarty.test_run_start(x::uuid, $2::uuid, $3::jsonb)"
		            " ORDER BY o), '[]'::jsonb) FROM unnest($1::text[]) WITH ORDINALITY AS t(x, o)",
		            3, params, &runs)) {
			runs = apitest_wait_runs(req, runs, "test_run_get", TR_TERMINAL, secs);
			if (single)
				api_json(resp, 201, json_incref(json_array_get(runs, 0)));
			else
				api_json(resp, 201, json_incref(runs));
		}
	}
	if (secs > 0)
		apitest_wait_leave();
	json_decref(runs);
	free(lit);
	free(opts);
}

/* POST /api/v1/api-tester/collections/:id/run (and /execute), body optional {"environmentId","options"}. */
void
apitest_collection_run(api_req *req, api_resp *resp)
{
	json_t *body, *ids;
	const char *env_id;

	if ((body = apitest_body(req, resp, true)) == NULL)
		return;
	if (body_uuid(req, resp, body, "environmentId", &env_id)) {
		ids = json_pack("[s]", req->params[0]);
		start_runs(req, resp, ids, env_id, json_object_get(body, "options"), true);
		json_decref(ids);
	}
	json_decref(body);
}

/* POST /api/v1/api-tester/collections/run-multiple (and /execute-multiple) {"collectionIds":[...]}. */
void
apitest_collection_run_multiple(api_req *req, api_resp *resp)
{
	json_t *body, *ids, *v;
	const char *env_id;
	size_t i;

	if ((body = apitest_body(req, resp, false)) == NULL)
		return;
	ids = json_object_get(body, "collectionIds");
	if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > 100) {
		api_error(req, resp, 400, "validation", "collectionIds: %s",
		          ids == NULL ? "is required (an array of collection ids)"
		                      : "must be an array of 1..100 collection ids");
		json_object_set_new(resp->json, "field", json_string("collectionIds"));
		goto done;
	}
	json_array_foreach (ids, i, v) {
		if (!json_is_string(v)) {
			api_error(req, resp, 400, "validation", "collectionIds[%zu]: must be a string", i);
			json_object_set_new(resp->json, "field", json_string("collectionIds"));
			goto done;
		}
	}
	if (body_uuid(req, resp, body, "environmentId", &env_id))
		start_runs(req, resp, ids, env_id, json_object_get(body, "options"), false);
done:
	json_decref(body);
}

/* POST /ui/api/test-runs/run {"collectionId","environmentId"?} (the integrations guide's CI call). */
void
apitest_ui_test_run_start(api_req *req, api_resp *resp)
{
	json_t *body, *ids;
	const char *coll, *env_id;

	if ((body = apitest_body(req, resp, false)) == NULL)
		return;
	if ((coll = rest_body_string(req, resp, body, "collectionId")) != NULL &&
	    body_uuid(req, resp, body, "environmentId", &env_id)) {
		ids = json_pack("[s]", coll);
		start_runs(req, resp, ids, env_id, json_object_get(body, "options"), true);
		json_decref(ids);
	}
	json_decref(body);
}

/* ===================================================== test runs */

/*
 * GET /api/v1/api-tester/test-runs (?namespace, ?mode, ?referenceId, ?limit,
 * ?offset) -> bare array, newest first. mode "functional" lists test runs,
 * "load" perf runs (marked "mode":"load"), none both; the kinds this server
 * does not have (fuzz, chaos, contract, merged) list nothing.
 */
void
apitest_run_list(api_req *req, api_resp *resp)
{
	const char *mode = api_query(req, "mode"), *ref = api_query(req, "referenceId");
	char limit[24], offset[24];
	json_t *out = NULL;

	if (mode == NULL)
		mode = "";
	if (ref == NULL || ref[0] == '\0')
		ref = api_query(req, "collectionId");
	if (ref != NULL && ref[0] == '\0')
		ref = NULL;
	if (!page_params(req, resp, 50, limit, offset))
		return;
	if (strcmp(mode, "fuzz") == 0 || strcmp(mode, "chaos") == 0 || strcmp(mode, "contract") == 0 ||
	    strcmp(mode, "merged") == 0 || (ref != NULL && !apitest_is_uuid(ref))) {
		api_json(resp, 200, json_array());
		return;
	}
	if (mode[0] != '\0' && strcmp(mode, "functional") != 0 && strcmp(mode, "load") != 0) {
		api_error(req, resp, 400, "validation",
		          "mode: unknown value \"%s\" (functional, load, fuzz, chaos, contract or merged)",
		          mode);
		json_object_set_new(resp->json, "field", json_string("mode"));
		return;
	}
	{
		const char *params[5] = {apitest_scope(req), ref, limit, offset, mode};

		if (db_json(req, resp,
		            "SELECT coalesce(jsonb_agg(r ORDER BY r->>'createdAt' DESC, r->>'id' DESC), "
		            "'[]'::jsonb)"
		            " FROM (SELECT r FROM ("
		            "  SELECT e.r FROM jsonb_array_elements(CASE WHEN $5 IN ('', 'functional')"
		            "   THEN mockarty.test_run_list($1, $2::text::uuid, $3::int + $4::int, 0)"
		            "   ELSE '[]'::jsonb END) AS e(r)"
		            "  UNION ALL"
		            "  SELECT e.r || '{\"mode\":\"load\"}'::jsonb FROM jsonb_array_elements(CASE "
		            "WHEN $5 IN"
		            "   ('', 'load') THEN mockarty.perf_run_list($1, 100000, 0) ELSE '[]'::jsonb "
		            "END) AS e(r)"
		            "  WHERE $2::text IS NULL OR e.r->>'collectionId' = $2::text"
		            " ) AS u ORDER BY r->>'createdAt' DESC, r->>'id' DESC LIMIT $3::int OFFSET "
		            "$4::int) AS s",
		            5, params, &out))
			api_json(resp, 200, out);
	}
}

/*
 * GET /api/v1/api-tester/test-runs/:id and /ui/api/test-runs/:id (?wait=) ->
 * TestRun. An id of a perf run answers that run marked "mode":"load", so every
 * id the list shows can be read back here.
 */
void
apitest_run_get(api_req *req, api_resp *resp)
{
	json_t *row, *runs;
	int secs;

	if (!apitest_wait_param(req, resp, &secs))
		return;
	row = apitest_fetch(req, resp, "test_run_get", req->params[0], "test run");
	if (row == NULL) {
		api_resp tmp = {0};
		json_t *perf;

		if (resp->status != 404)
			return;
		perf = apitest_fetch(req, &tmp, "perf_run_get", req->params[0], "test run");
		json_decref(tmp.json);
		free(tmp.raw);
		if (perf == NULL)
			return; /* keep the test-run 404 */
		json_object_set_new(perf, "mode", json_string("load"));
		api_json(resp, 200, perf);
		return;
	}
	if (secs > 0) {
		if (!apitest_wait_enter(req, resp)) {
			json_decref(row);
			return;
		}
		runs = apitest_wait_runs(req, json_pack("[o]", row), "test_run_get", TR_TERMINAL, secs);
		apitest_wait_leave();
		row = json_incref(json_array_get(runs, 0));
		json_decref(runs);
	}
	api_json(resp, 200, row);
}

/* DELETE /api/v1/api-tester/test-runs/:id -> {"deleted":true,"id"}. */
void
apitest_run_delete(api_req *req, api_resp *resp)
{
	apitest_delete(req, resp, "test_run_get", "test_run_delete", "test run");
}

/*
 * POST /api/v1/api-tester/test-runs/:id/cancel -> TestRun: a queued run is
 * cancelled at once, a running one is asked to stop (its runner is told).
 */
void
apitest_run_cancel(api_req *req, api_resp *resp)
{
	apitest_action(req, resp, "test_run_get", "test_run_cancel", "test run");
}

/* GET /api/v1/api-tester/test-runs/:id/export -> the TestRun with its results (JSON). */
void
apitest_run_export(api_req *req, api_resp *resp)
{
	json_t *row = apitest_fetch(req, resp, "test_run_get", req->params[0], "test run");

	if (row != NULL)
		api_json(resp, 200, row);
}

/*
 * The "unified_json" report: one flat list of test cases (one per assertion)
 * with the run's summary, a shape CI dashboards can merge across runs of every
 * kind. New reference.
 */
static json_t *
unified_report(const json_t *run)
{
	json_t *cases = json_array(), *res, *a;
	size_t i, k;

	json_array_foreach (json_object_get(run, "results"), i, res) {
		json_t *request = json_pack(
		    "{s:O, s:O, s:O, s:O}", "method",
		    json_object_get(res, "method") ? json_object_get(res, "method") : json_null(), "url",
		    json_object_get(res, "url") ? json_object_get(res, "url") : json_null(), "status",
		    json_object_get(res, "status") ? json_object_get(res, "status") : json_null(),
		    "responseTimeMs",
		    json_object_get(res, "responseTimeMs") ? json_object_get(res, "responseTimeMs")
		                                           : json_null());
		json_t *asserts = json_object_get(res, "assertions");

		if (json_array_size(asserts) == 0 && json_object_get(res, "error") != NULL) {
			/* a request that failed before any assertion ran is one failed case */
			json_array_append_new(
			    cases,
			    json_pack(
			        "{s:O, s:O, s:s, s:s, s:O, s:O}", "suite",
			        json_object_get(res, "name") ? json_object_get(res, "name") : json_null(),
			        "folder",
			        json_object_get(res, "folder") ? json_object_get(res, "folder") : json_null(),
			        "name", "request", "status", "failed", "message",
			        json_object_get(res, "error"), "request", request));
		}
		json_array_foreach (asserts, k, a) {
			const char *st = json_is_true(json_object_get(a, "skipped"))  ? "skipped"
			                 : json_is_true(json_object_get(a, "passed")) ? "passed"
			                                                              : "failed";

			json_array_append_new(
			    cases,
			    json_pack(
			        "{s:O, s:O, s:O, s:s, s:O, s:O}", "suite",
			        json_object_get(res, "name") ? json_object_get(res, "name") : json_null(),
			        "folder",
			        json_object_get(res, "folder") ? json_object_get(res, "folder") : json_null(),
			        "name", json_object_get(a, "name") ? json_object_get(a, "name") : json_null(),
			        "status", st, "message",
			        json_object_get(a, "message") ? json_object_get(a, "message") : json_null(),
			        "request", request));
		}
		json_decref(request);
	}
#define F(k) (json_object_get(run, k) ? json_object_get(run, k) : json_null())
	return json_pack("{s:s, s:i, s:s, s:O, s:O, s:O, s:O, s:O, s:O, s:{s:O, s:O, s:O, s:O, s:O}, s:o}",
	                 "format", "unified_json", "version", 1, "kind", "functional", "id", F("id"), "name",
	                 F("collectionName"), "collectionId", F("collectionId"), "status", F("status"),
	                 "startedAt", F("startedAt"), "completedAt", F("completedAt"), "summary", "total",
	                 F("totalTests"), "passed", F("passedTests"), "failed", F("failedTests"), "skipped",
	                 F("skippedTests"), "durationMs", F("duration"), "cases", cases);
#undef F
}

/*
 * GET /api/v1/api-tester/test-runs/:id/report?format=junit|markdown|json|
 * unified_json (default json). junit is application/xml, markdown text/markdown,
 * both rendered by the tester library; an unknown format is a 400 naming it.
 */
void
apitest_run_report(api_req *req, api_resp *resp)
{
	const char *fmt = api_query(req, "format");
	json_t *row;

	if (fmt == NULL || fmt[0] == '\0')
		fmt = "json";
	if (strcmp(fmt, "junit") != 0 && strcmp(fmt, "markdown") != 0 && strcmp(fmt, "json") != 0 &&
	    strcmp(fmt, "unified_json") != 0) {
		api_error(req, resp, 400, "validation",
		          "format: unknown report format \"%s\" (junit, markdown, json or unified_json)",
		          fmt);
		json_object_set_new(resp->json, "field", json_string("format"));
		return;
	}
	if ((row = apitest_fetch(req, resp, "test_run_get", req->params[0], "test run")) == NULL)
		return;
	if (strcmp(fmt, "junit") == 0)
		raw_reply(req, resp, mt_report_junit(row), "application/xml; charset=utf-8");
	else if (strcmp(fmt, "markdown") == 0)
		raw_reply(req, resp, mt_report_markdown(row), "text/markdown; charset=utf-8");
	else if (strcmp(fmt, "unified_json") == 0)
		api_json(resp, 200, unified_report(row));
	else
		api_json(resp, 200, json_incref(row));
	json_decref(row);
}

/*
 * GET /api/v1/test-runs/active -> {"runs":[TestRun and PerfRun ("mode":"load")
 * queued or running, oldest first],"fuzz":[],"chaos":[]} in the request's scope.
 */
void
apitest_runs_active(api_req *req, api_resp *resp)
{
	const char *params[1] = {apitest_scope(req)};
	json_t *out = NULL;

	if (db_json(
	        req, resp,
	        "SELECT jsonb_build_object('runs', coalesce((SELECT jsonb_agg(r ORDER BY r->>'createdAt', "
	        "r->>'id')"
	        " FROM (SELECT CASE WHEN t->>'kind' = 'api_test' THEN mockarty.test_run_get((t->>'id')::uuid)"
	        "  ELSE mockarty.perf_run_get((t->>'id')::uuid) || '{\"mode\":\"load\"}'::jsonb END AS r"
	        "  FROM unnest(ARRAY['queued', 'leased', 'running']) AS st(s),"
	        "  jsonb_array_elements(mockarty.task_list(NULL, $1, st.s, 1000, 0)) AS t) AS a"
	        " WHERE r IS NOT NULL), '[]'::jsonb), 'fuzz', '[]'::jsonb, 'chaos', '[]'::jsonb)",
	        1, params, &out))
		api_json(resp, 200, out);
}

/* ===================================================== environments */

/* [{"key","value","enabled"?}] (Postman) -> {key: value}, disabled entries dropped. NULL after a 400. */
static json_t *
postman_values(api_req *req, api_resp *resp, json_t *arr, const char *field)
{
	json_t *out = json_object(), *e;
	size_t i;

	json_array_foreach (arr, i, e) {
		const char *k = json_string_value(json_object_get(e, "key"));
		json_t *val = json_object_get(e, "value");

		if (k == NULL) {
			api_error(req, resp, 400, "validation", "%s[%zu].key: must be a string", field, i);
			json_object_set_new(resp->json, "field", json_string(field));
			json_decref(out);
			return NULL;
		}
		if (json_is_false(json_object_get(e, "enabled")))
			continue;
		json_object_set_new(out, k, val != NULL ? json_incref(val) : json_string(""));
	}
	return out;
}

/* GET /api/v1/api-tester/environments -> [Environment] of the request's namespace. */
void
apitest_env_list(api_req *req, api_resp *resp)
{
	const char *params[1] = {api_namespace(req)};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT coalesce(mockarty.environment_list($1), '[]'::jsonb)", 1, params,
	            &out))
		api_json(resp, 200, out);
}

/*
 * POST /api/v1/api-tester/environments {"name","variables":{k:v},"namespace"} or a
 * Postman environment export {"name","values":[{"key","value","enabled"}]} ->
 * 201 Environment ("isActive":true in the body also activates it).
 */
void
apitest_env_create(api_req *req, api_resp *resp)
{
	json_t *body, *vars, *out = NULL;
	const char *name, *id;
	char *text = NULL;

	if ((body = apitest_body(req, resp, false)) == NULL)
		return;
	if ((name = rest_body_string(req, resp, body, "name")) == NULL ||
	    !body_uuid(req, resp, body, "id", &id))
		goto done;
	vars = json_object_get(body, "variables");
	if (vars == NULL || json_is_null(vars))
		vars = json_object_get(body, "values");
	if (vars != NULL && !json_is_null(vars) && !json_is_object(vars) && !json_is_array(vars)) {
		api_error(req, resp, 400, "validation",
		          "variables: must be an object {name: value} or a Postman values array");
		json_object_set_new(resp->json, "field", json_string("variables"));
		goto done;
	}
	if (id != NULL && !apitest_is_uuid(id)) {
		api_error(req, resp, 400, "validation", "id: must be a uuid, got \"%s\"", id);
		json_object_set_new(resp->json, "field", json_string("id"));
		goto done;
	}
	text = vars != NULL && !json_is_null(vars) ? api_dump(vars) : strdup("{}");
	{
		const char *params[4] = {api_namespace(req), name, text, id};

		if (!db_json(req, resp, "SELECT mockarty.environment_create($1, $2, $3::jsonb, $4::uuid)", 4,
		             params, &out))
			goto done;
	}
	if (json_is_true(json_object_get(body, "isActive"))) {
		const char *params[1] = {json_string_value(json_object_get(out, "id"))};
		json_t *act = NULL;

		if (!db_json(req, resp, "SELECT mockarty.environment_activate($1::uuid)", 1, params, &act))
			goto done;
		if (json_is_object(act)) {
			json_decref(out);
			out = act;
		} else {
			json_decref(act);
		}
	}
	api_json(resp, 201, out);
	out = NULL;
done:
	json_decref(out);
	free(text);
	json_decref(body);
}

/* GET /api/v1/api-tester/environments/active -> the namespace's active Environment or 404. */
void
apitest_env_active(api_req *req, api_resp *resp)
{
	const char *params[1] = {api_namespace(req)};
	json_t *out = NULL;

	if (!db_json(req, resp, "SELECT mockarty.environment_active($1)", 1, params, &out))
		return;
	if (!json_is_object(out)) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "no active environment in namespace %s", params[0]);
		return;
	}
	api_json(resp, 200, out);
}

void
apitest_env_get(api_req *req, api_resp *resp)
{
	json_t *row = apitest_fetch(req, resp, "environment_get", req->params[0], "environment");

	if (row != NULL)
		api_json(resp, 200, row);
}

/*
 * PUT /api/v1/api-tester/environments/:id {"name"?,"variables"?|"values"?,
 * "namespace"?} -> Environment. variables replace the stored set.
 */
void
apitest_env_update(api_req *req, api_resp *resp)
{
	json_t *row, *body = NULL, *patch = NULL, *vars, *out = NULL, *v;
	char *text = NULL;

	if ((row = apitest_fetch(req, resp, "environment_get", req->params[0], "environment")) == NULL)
		return;
	if ((body = apitest_body(req, resp, false)) == NULL)
		goto done;
	patch = json_object();
	v = json_object_get(body, "name");
	if (v != NULL && !json_is_null(v)) {
		if (rest_body_string(req, resp, body, "name") == NULL)
			goto done;
		json_object_set(patch, "name", v);
	}
	vars = json_object_get(body, "variables");
	if (vars == NULL || json_is_null(vars))
		vars = json_object_get(body, "values");
	if (json_is_array(vars)) {
		json_t *obj = postman_values(req, resp, vars, "values");

		if (obj == NULL)
			goto done;
		json_object_set_new(patch, "variables", obj);
	} else if (json_is_object(vars)) {
		json_object_set(patch, "variables", vars);
	} else if (vars != NULL && !json_is_null(vars)) {
		api_error(req, resp, 400, "validation",
		          "variables: must be an object {name: value} or a Postman values array");
		json_object_set_new(resp->json, "field", json_string("variables"));
		goto done;
	}
	v = json_object_get(body, "namespace");
	if (json_is_string(v) && json_string_length(v) > 0 && rest_token_ns(req) == NULL)
		json_object_set(patch, "namespace", v);
	if (json_object_size(patch) == 0) {
		api_error(req, resp, 400, "validation",
		          "nothing to update: send name, variables or namespace");
		goto done;
	}
	text = api_dump(patch);
	{
		const char *params[2] = {req->params[0], text};

		if (!db_json(req, resp, "SELECT mockarty.environment_update($1::uuid, $2::jsonb)", 2, params,
		             &out))
			goto done;
	}
	if (!json_is_object(out)) {
		api_error(req, resp, 404, "not_found", "environment %s does not exist", req->params[0]);
		goto done;
	}
	api_json(resp, 200, out);
	out = NULL;
done:
	json_decref(out);
	free(text);
	json_decref(patch);
	json_decref(body);
	json_decref(row);
}

void
apitest_env_delete(api_req *req, api_resp *resp)
{
	apitest_delete(req, resp, "environment_get", "environment_delete", "environment");
}

/* POST /api/v1/api-tester/environments/:id/activate -> the Environment, now the namespace's active one. */
void
apitest_env_activate(api_req *req, api_resp *resp)
{
	apitest_action(req, resp, "environment_get", "environment_activate", "environment");
}
