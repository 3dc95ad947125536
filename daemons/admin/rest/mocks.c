/*
 * mocks.c - every mock endpoint: create (upsert), list, get, patch, delete,
 * restore and purge of one mock; batch create, delete, restore, move and
 * retag; copies between namespaces; request logs; versions; chains.
 *
 * Each handler parses its input, runs one statement around one mockarty.* SQL
 * function through db_json() and shapes the reply the way all three SDKs decode
 * it. Mock ids are global, so the only namespace rule these handlers add is the
 * token binding: a namespace-bound token sees mocks of other namespaces as
 * unknown (single-id endpoints answer 404, batch endpoints skip them), enforced
 * inside the same SQL statement so there is no check-then-act window. A mock is
 * checked with core before it costs a round trip, so the 400 names the JSON path.
 */
#include "node/node.h"
#include "rest/handlers.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ one mock: CRUD */

/*
 * POST /api/v1/mocks and POST /mock/create: upsert by id. The mock is checked
 * with core first so the 400 names the JSON path without a round trip; the
 * database validates again (it is the authority for SQL users too).
 */
void
rest_mock_create(api_req *req, api_resp *resp)
{
	json_t *mock = api_body(req, resp, JSON_OBJECT);
	mc_error err = {0};
	const char *params[2];
	char *text;
	json_t *out = NULL;

	if (mock == NULL)
		return;
	if (mc_mock_validate(mock, &err) != MC_OK) {
		api_error(req, resp, 400, "validation", "%s: %s", err.path[0] ? err.path : "$",
			  err.msg);
		json_object_set_new(resp->json, "field", json_string(err.path[0] ? err.path : "$"));
		return;
	}
	text = api_dump(mock);
	if (text == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	params[0] = text;
	params[1] = api_namespace(req);
	if (db_json(req, resp, "SELECT mockarty.mock_save($1::jsonb, $2)", 2, params, &out))
		api_json(resp, 200, out);
	free(text);
}

/* Parses a non-negative integer query parameter; false (400 filled) when malformed. */
static bool
query_int(api_req *req, api_resp *resp, const char *name, long def, long max, char *buf,
	  size_t len)
{
	const char *s = api_query(req, name);
	char *end;
	long v = def;

	if (s != NULL && s[0] != '\0') {
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno != 0 || *end != '\0' || v < 0) {
			api_error(req, resp, 400, "validation", "%s must be a non-negative integer", name);
			return false;
		}
		if (v > max)
			v = max;
	}
	snprintf(buf, len, "%ld", v);
	return true;
}

/*
 * GET /api/v1/mocks: namespace (none given = all), tags (comma-joined or repeated), search, offset,
 * limit; includeDeleted=true adds the soft-deleted mocks (the console's "show deleted"), folderId
 * keeps one folder's mocks (folderId= empty: the mocks of no folder). A bad includeDeleted: 400.
 */
void
rest_mock_list(api_req *req, api_resp *resp)
{
	const char *ns = req->token_ns;
	json_t *tags_q = json_object_get(req->query, "tags");
	json_t *tags = json_array();
	char *tags_lit = NULL;
	char off[24], lim[24];
	const char *params[7];
	const char *del = api_query(req, "includeDeleted");
	json_t *out = NULL;
	size_t i;
	json_t *v;

	if (del != NULL && strcmp(del, "true") != 0 && strcmp(del, "false") != 0) {
		api_error(req, resp, 400, "validation", "includeDeleted: must be true or false");
		json_object_set_new(resp->json, "field", json_string("includeDeleted"));
		return;
	}
	if (ns == NULL)
		ns = api_query(req, "namespace");
	if (ns == NULL || ns[0] == '\0')
		ns = api_header(req, "x-namespace");
	if (ns != NULL && ns[0] == '\0')
		ns = NULL;
	if (json_object_get(req->query, "tags") == NULL)
		tags_q = json_object_get(req->query, "tags[]");
	json_array_foreach(tags_q, i, v) {
		const char *s = json_string_value(v);

		while (s != NULL && *s) {
			const char *c = strchr(s, ',');
			size_t l = c ? (size_t)(c - s) : strlen(s);

			while (l > 0 && *s == ' ')
				s++, l--;
			while (l > 0 && s[l - 1] == ' ')
				l--;
			if (l > 0)
				json_array_append_new(tags, json_stringn(s, l));
			s = c ? c + 1 : NULL;
		}
	}
	if (json_array_size(tags) > 0)
		tags_lit = api_pg_array(tags);
	json_decref(tags);
	if (!query_int(req, resp, "offset", 0, 1000000000L, off, sizeof(off)) ||
	    !query_int(req, resp, "limit", 50, 1000, lim, sizeof(lim))) {
		free(tags_lit);
		return;
	}
	params[0] = ns;
	params[1] = tags_lit;
	params[2] = api_query(req, "search");
	if (params[2] != NULL && params[2][0] == '\0')
		params[2] = NULL;
	params[3] = off;
	params[4] = lim;
	params[5] = del != NULL && strcmp(del, "true") == 0 ? "true" : "false";
	params[6] = api_query(req, "folderId");
	if (db_json(req, resp,
		    "SELECT mockarty.mock_list($1, $2::text[], $3, $4::int, $5::int, $6::boolean, $7)", 7,
		    params, &out))
		api_json(resp, 200, out);
	free(tags_lit);
}

/* True when the token's namespace binding forbids touching this mock (answered 404). */
static bool
hidden_by_token(api_req *req, const json_t *mock)
{
	const char *ns = json_string_value(json_object_get(mock, "namespace"));

	return req->token_ns != NULL && ns != NULL && strcmp(req->token_ns, ns) != 0;
}

/* Fetches the mock (deleted ones included) for the namespace check; NULL with 404 filled. */
static json_t *
load_visible(api_req *req, api_resp *resp, const char *id)
{
	json_t *out = NULL;
	const char *params[1] = {id};

	if (!db_json(req, resp, "SELECT mockarty.mock_get($1, true)", 1, params, &out))
		return NULL;
	if (!json_is_object(out) || hidden_by_token(req, out)) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "mock \"%s\" not found", id);
		return NULL;
	}
	return out;
}

void
rest_mock_get(api_req *req, api_resp *resp)
{
	json_t *m = load_visible(req, resp, req->params[0]);

	if (m != NULL)
		api_json(resp, 200, m);
}

void
rest_mock_patch(api_req *req, api_resp *resp)
{
	json_t *patch = api_body(req, resp, JSON_OBJECT);
	json_t *m, *out = NULL;
	const char *params[2];
	char *text;

	if (patch == NULL)
		return;
	if ((m = load_visible(req, resp, req->params[0])) == NULL)
		return;
	json_decref(m);
	text = api_dump(patch);
	params[0] = req->params[0];
	params[1] = text;
	if (db_json(req, resp, "SELECT mockarty.mock_patch($1, $2::jsonb)", 2, params, &out)) {
		if (json_is_object(out))
			api_json(resp, 200, out);
		else {
			json_decref(out);
			api_error(req, resp, 404, "not_found", "mock \"%s\" not found", req->params[0]);
		}
	}
	free(text);
}

/* DELETE, restore and purge share one shape: call fn(id), 404 when it reports nothing. */
static void
mock_op(api_req *req, api_resp *resp, const char *sql, const char *status)
{
	json_t *m, *out = NULL;
	const char *params[1] = {req->params[0]};

	if ((m = load_visible(req, resp, req->params[0])) == NULL)
		return;
	json_decref(m);
	if (!db_json(req, resp, sql, 1, params, &out))
		return;
	if (json_is_false(out) || json_is_null(out)) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "mock \"%s\" not found", req->params[0]);
	} else if (json_is_object(out)) {
		api_json(resp, 200, out);
	} else {
		json_decref(out);
		api_json(resp, 200, json_pack("{s:s, s:s}", "status", status, "id", req->params[0]));
	}
}

void
rest_mock_delete(api_req *req, api_resp *resp)
{
	mock_op(req, resp, "SELECT mockarty.mock_delete($1)", "deleted");
}

void
rest_mock_restore(api_req *req, api_resp *resp)
{
	mock_op(req, resp, "SELECT mockarty.mock_restore($1)", "restored");
}

void
rest_mock_purge(api_req *req, api_resp *resp)
{
	mock_op(req, resp, "SELECT mockarty.mock_purge($1)", "purged");
}

/* ------------------------------------------------ batches, copies, history */


/*
 * "$1::text[] restricted to mocks the caller may touch": $P is the token's
 * namespace (NULL = unbound). Used by every batch statement below.
 */
#define IDS_IN_SCOPE(ids, ns)                                                                                \
	"ARRAY(SELECT i FROM unnest(" ids "::text[]) AS i WHERE " ns "::text IS NULL"                        \
	" OR mockarty.mock_get(i)->>'namespace' = " ns ")"

/*
 * A one-row source "s(m)" holding the mock $1 when it exists and the token ($2)
 * may see it; no row otherwise, which db_json turns into json null -> 404.
 */
#define MOCK_IN_SCOPE                                                                                        \
	" FROM (SELECT mockarty.mock_get($1) AS m) AS s WHERE m IS NOT NULL"                                 \
	" AND ($2::text IS NULL OR m->>'namespace' = $2)"

static void
mock_not_found(api_req *req, api_resp *resp, const char *id)
{
	api_error(req, resp, 404, "not_found", "mock %s not found", id);
}

/*
 * Runs a batch statement whose only inputs are body.ids ($1, text[]) and the token
 * namespace ($2), replying {"status":word,"count":rows changed}.
 */
static void
batch_ids_call(api_req *req, api_resp *resp, const char *sql, const char *word)
{
	json_t *body, *out = NULL;
	char *ids;

	if ((body = rest_body_object(req, resp)) == NULL)
		return;
	if ((ids = rest_body_text_array(req, resp, body, "ids", false, false, NULL)) == NULL)
		return;
	{
		const char *params[2] = {ids, rest_token_ns(req)};

		if (db_json(req, resp, sql, 2, params, &out))
			rest_count_reply(resp, word, out);
	}
	free(ids);
}

/*
 * POST /api/v1/mocks/batch: Go sends a bare array, Java {"mocks":[...]}. Every
 * mock without a namespace gets the request's one (api_namespace); a bound token
 * overrides whatever the mock says, and may not overwrite (upsert) a mock id that
 * lives in another namespace (403). All or nothing (mock_batch_save).
 * 201 {"created":N,"mocks":[...]}.
 */
void
rest_mocks_batch_save(api_req *req, api_resp *resp)
{
	json_t *list, *mocks, *m, *out = NULL;
	const char *ns = api_namespace(req), *tns = rest_token_ns(req);
	size_t i;
	char *text;

	list = json_is_array(req->body_json) ? req->body_json : json_object_get(req->body_json, "mocks");
	if (!json_is_array(list)) {
		api_error(req, resp, 400, "validation",
		          "mocks: request body must be a JSON array of mocks or {\"mocks\":[...]}");
		json_object_set_new(resp->json, "field", json_string("mocks"));
		return;
	}
	mocks = json_deep_copy(list);
	if (mocks == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	for (i = 0; i < json_array_size(mocks); i++) {
		const char *mns;

		m = json_array_get(mocks, i);

		if (!json_is_object(m)) {
			api_error(req, resp, 400, "validation",
			          "mocks[%zu]: invalid mock in batch (not an object)", i);
			json_object_set_new(resp->json, "field", json_string("mocks"));
			json_decref(mocks);
			return;
		}
		mns = json_string_value(json_object_get(m, "namespace"));
		if (tns != NULL || mns == NULL || mns[0] == '\0')
			json_object_set_new(m, "namespace", json_string(tns != NULL ? tns : ns));
	}
	text = api_dump(mocks);
	json_decref(mocks);
	if (text == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	{
		const char *params[2] = {text, tns};

		/* upsert by id must not let a bound token overwrite another namespace's mock */
		if (db_json(req, resp,
		            "SELECT CASE WHEN $2::text IS NOT NULL AND EXISTS (SELECT 1"
		            " FROM jsonb_array_elements($1::jsonb) AS x"
		            " WHERE mockarty.mock_get(x->>'id')->>'namespace' <> $2)"
		            " THEN NULL ELSE mockarty.mock_batch_save($1::jsonb) END",
		            2, params, &out)) {
			if (json_is_null(out)) {
				json_decref(out);
				api_error(req, resp, 403, "forbidden",
				          "a mock id of the batch belongs to a namespace other than %s", tns);
			} else {
				api_json(resp, 201, out);
			}
		}
	}
	free(text);
}

/* DELETE /api/v1/mocks/batch {"ids"}: soft delete. */
void
rest_mocks_batch_delete(api_req *req, api_resp *resp)
{
	batch_ids_call(req, resp, "SELECT mockarty.mock_batch_delete(" IDS_IN_SCOPE("$1", "$2") ")",
	               "deleted");
}

/* POST /api/v1/mocks/batch/restore {"ids"}: clears closedAt. */
void
rest_mocks_batch_restore(api_req *req, api_resp *resp)
{
	batch_ids_call(req, resp, "SELECT mockarty.mock_batch_restore(" IDS_IN_SCOPE("$1", "$2") ")",
	               "restored");
}

/*
 * PATCH /api/v1/mocks/batch/move {"ids","folderId"}: folderId null or absent
 * (Python drops None fields) moves the mocks out of any folder.
 */
void
rest_mocks_batch_move(api_req *req, api_resp *resp)
{
	json_t *body, *fid, *out = NULL;
	char *ids;

	if ((body = rest_body_object(req, resp)) == NULL)
		return;
	fid = json_object_get(body, "folderId");
	if (fid != NULL && !json_is_null(fid) && !json_is_string(fid)) {
		api_error(req, resp, 400, "validation", "folderId: must be a string or null");
		json_object_set_new(resp->json, "field", json_string("folderId"));
		return;
	}
	if ((ids = rest_body_text_array(req, resp, body, "ids", false, false, NULL)) == NULL)
		return;
	{
		const char *folder = json_string_value(fid);
		const char *params[3] = {ids, rest_token_ns(req),
		                         folder != NULL && folder[0] ? folder : NULL};

		if (db_json(req, resp,
		            "SELECT mockarty.mock_batch_move(" IDS_IN_SCOPE("$1", "$2") ", $3::text)", 3,
		            params, &out))
			rest_count_reply(resp, "moved", out);
	}
	free(ids);
}

/* PATCH /api/v1/mocks/batch/tags {"ids","tags"}: replaces the tags of each mock. */
void
rest_mocks_batch_tags(api_req *req, api_resp *resp)
{
	json_t *body, *out = NULL;
	char *ids, *tags;

	if ((body = rest_body_object(req, resp)) == NULL)
		return;
	if ((ids = rest_body_text_array(req, resp, body, "ids", false, false, NULL)) == NULL)
		return;
	if ((tags = rest_body_text_array(req, resp, body, "tags", true, false, NULL)) == NULL) {
		free(ids);
		return;
	}
	{
		const char *params[3] = {ids, rest_token_ns(req), tags};

		if (db_json(req, resp,
		            "SELECT mockarty.mock_batch_tags(" IDS_IN_SCOPE("$1", "$2") ", $3::text[])", 3,
		            params, &out))
			rest_count_reply(resp, "updated", out);
	}
	free(ids);
	free(tags);
}

/* Replies {"status":"copied","count":N,"mocks":[copies]}. Takes copies. */
static void
copied_reply(api_resp *resp, json_t *copies)
{
	json_t *body = json_object();

	if (!json_is_array(copies)) {
		json_decref(copies);
		copies = json_array();
	}
	json_object_set_new(body, "status", json_string("copied"));
	json_object_set_new(body, "count", json_integer((json_int_t)json_array_size(copies)));
	json_object_set_new(body, "mocks", copies);
	api_json(resp, 200, body);
}

/* A bound token may only write into its own namespace. */
static bool
target_allowed(api_req *req, api_resp *resp, const char *target)
{
	const char *tns = rest_token_ns(req);

	if (tns != NULL && strcmp(tns, target) != 0) {
		api_error(req, resp, 403, "forbidden", "token is bound to namespace %s", tns);
		return false;
	}
	return true;
}

/* POST /api/v1/mocks/copy-to-namespace {"ids","targetNamespace"}. */
void
rest_mocks_copy_to_namespace(api_req *req, api_resp *resp)
{
	json_t *body, *out = NULL;
	const char *target;
	char *ids;

	if ((body = rest_body_object(req, resp)) == NULL)
		return;
	if ((target = rest_body_string(req, resp, body, "targetNamespace")) == NULL)
		return;
	if (!target_allowed(req, resp, target))
		return;
	if ((ids = rest_body_text_array(req, resp, body, "ids", false, false, NULL)) == NULL)
		return;
	{
		const char *params[3] = {ids, rest_token_ns(req), target};

		if (db_json(req, resp,
		            "SELECT mockarty.mock_copy_to_namespace(" IDS_IN_SCOPE("$1", "$2") ", $3::text)",
		            3, params, &out))
			copied_reply(resp, out);
	}
	free(ids);
}

/*
 * POST /api/v1/namespaces/copy-mocks {"sourceNamespace","targetNamespace","mockIds"?}:
 * without mockIds every live mock of the source is copied; given ids are only
 * copied when they belong to the source namespace.
 */
void
rest_namespaces_copy_mocks(api_req *req, api_resp *resp)
{
	json_t *body, *out = NULL;
	const char *src, *dst;
	char *ids;
	bool all = false;

	if ((body = rest_body_object(req, resp)) == NULL)
		return;
	if ((src = rest_body_string(req, resp, body, "sourceNamespace")) == NULL ||
	    (dst = rest_body_string(req, resp, body, "targetNamespace")) == NULL)
		return;
	if (strcmp(src, dst) == 0) {
		api_error(req, resp, 400, "validation", "targetNamespace: must differ from sourceNamespace");
		json_object_set_new(resp->json, "field", json_string("targetNamespace"));
		return;
	}
	if (!target_allowed(req, resp, src) || !target_allowed(req, resp, dst))
		return;
	ids = rest_body_text_array(req, resp, body, "mockIds", false, true, &all);
	if (ids == NULL && !all)
		return;
	{
		const char *params[3] = {src, dst, ids};

		if (db_json(req, resp,
		            "SELECT mockarty.mock_copy_to_namespace(CASE WHEN $3::text[] IS NULL"
		            " THEN ARRAY(SELECT x->>'id' FROM jsonb_array_elements("
		            "mockarty.mock_list($1::text, NULL, NULL, 0, 2147483647)->'items') AS x)"
		            " ELSE ARRAY(SELECT i FROM unnest($3::text[]) AS i"
		            " WHERE mockarty.mock_get(i, false)->>'namespace' = $1) END, $2::text)",
		            3, params, &out))
			copied_reply(resp, out);
	}
	free(ids);
}

/* Parses ?offset= / ?limit= (defaults 0 / 50). False after a 400 naming the field. */
static bool
page_params(api_req *req, api_resp *resp, char off[24], char lim[24])
{
	const char *o = api_query(req, "offset"), *l = api_query(req, "limit");
	long long ov = 0, lv = 50;

	if (o != NULL && o[0] != '\0' && !rest_parse_int(o, 0, INT_MAX, &ov)) {
		api_error(req, resp, 400, "validation", "offset: must be a non-negative integer");
		json_object_set_new(resp->json, "field", json_string("offset"));
		return false;
	}
	if (l != NULL && l[0] != '\0' && !rest_parse_int(l, 0, INT_MAX, &lv)) {
		api_error(req, resp, 400, "validation", "limit: must be a non-negative integer");
		json_object_set_new(resp->json, "field", json_string("limit"));
		return false;
	}
	snprintf(off, 24, "%lld", ov);
	snprintf(lim, 24, "%lld", lv);
	return true;
}

/*
 * GET /api/v1/mocks/:id/logs?offset&limit -> {"id","requests":[...],"logs":[...],"total"}
 * (the union shape Go and Python both decode). 404 for an unknown mock.
 */
void
rest_mock_logs_get(api_req *req, api_resp *resp)
{
	char off[24], lim[24];
	json_t *out = NULL;

	if (!page_params(req, resp, off, lim))
		return;
	{
		const char *params[4] = {req->params[0], rest_token_ns(req), off, lim};

		if (!db_json(req, resp, "SELECT mockarty.mock_logs(m->>'id', $3::int, $4::int)" MOCK_IN_SCOPE,
		             4, params, &out))
			return;
	}
	if (json_is_null(out)) {
		json_decref(out);
		mock_not_found(req, resp, req->params[0]);
		return;
	}
	api_json(resp, 200, out);
}

/* DELETE /api/v1/mocks/:id/logs -> {"status":"cleared","count":N}. */
void
rest_mock_logs_clear(api_req *req, api_resp *resp)
{
	const char *params[2] = {req->params[0], rest_token_ns(req)};
	json_t *out = NULL;

	if (!db_json(req, resp, "SELECT mockarty.mock_logs_clear(m->>'id')" MOCK_IN_SCOPE, 2, params, &out))
		return;
	if (json_is_null(out)) {
		json_decref(out);
		mock_not_found(req, resp, req->params[0]);
		return;
	}
	rest_count_reply(resp, "cleared", out);
}

/* GET /api/v1/mocks/:id/versions -> [Mock], newest first. */
void
rest_mock_versions(api_req *req, api_resp *resp)
{
	const char *params[2] = {req->params[0], rest_token_ns(req)};
	json_t *out = NULL;

	if (!db_json(req, resp, "SELECT mockarty.mock_versions(m->>'id')" MOCK_IN_SCOPE, 2, params, &out))
		return;
	if (json_is_null(out)) {
		json_decref(out);
		mock_not_found(req, resp, req->params[0]);
		return;
	}
	api_json(resp, 200, out);
}

/*
 * Shared by GET .../versions/:version and POST .../versions/:version/restore:
 * validates the version number, runs sql ($1 id, $2 token ns, $3 version) and
 * replies with the mock it returns, 404 when either is unknown.
 */
static void
version_call(api_req *req, api_resp *resp, const char *sql)
{
	long long v;
	char ver[24];
	json_t *out = NULL;

	if (req->nparams < 2 || !rest_parse_int(req->params[1], 1, INT_MAX, &v)) {
		api_error(req, resp, 400, "validation", "version: must be a positive integer");
		json_object_set_new(resp->json, "field", json_string("version"));
		return;
	}
	snprintf(ver, sizeof(ver), "%lld", v);
	{
		const char *params[3] = {req->params[0], rest_token_ns(req), ver};

		if (!db_json(req, resp, sql, 3, params, &out))
			return;
	}
	if (json_is_null(out)) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "version %s of mock %s not found", ver,
		          req->params[0]);
		return;
	}
	api_json(resp, 200, out);
}

/* GET /api/v1/mocks/:id/versions/:version -> Mock. */
void
rest_mock_version_get(api_req *req, api_resp *resp)
{
	version_call(req, resp, "SELECT mockarty.mock_version(m->>'id', $3::int)" MOCK_IN_SCOPE);
}

/*
 * POST /api/v1/mocks/:id/versions/:version/restore -> the mock as now saved. The
 * existence check keeps an unknown version a 404 rather than whatever the SQL
 * function raises for it.
 */
void
rest_mock_version_restore(api_req *req, api_resp *resp)
{
	version_call(req, resp,
	             "SELECT mockarty.mock_version_restore(m->>'id', $3::int)" MOCK_IN_SCOPE
	             " AND mockarty.mock_version(m->>'id', $3::int) IS NOT NULL");
}

/* GET /api/v1/mocks/chains/:chainId -> [Mock] sharing that chainId (visible ones). */
void
rest_mock_chain_get(api_req *req, api_resp *resp)
{
	const char *params[2] = {req->params[0], rest_token_ns(req)};
	json_t *out = NULL;

	if (db_json(req, resp,
	            "SELECT coalesce(jsonb_agg(m ORDER BY n), '[]'::jsonb)"
	            " FROM jsonb_array_elements(mockarty.mock_chain($1)) WITH ORDINALITY AS t(m, n)"
	            " WHERE $2::text IS NULL OR m->>'namespace' = $2",
	            2, params, &out))
		api_json(resp, 200, out);
}

/* DELETE /api/v1/mocks/chains/:chainId -> {"status":"deleted","count":N} (soft delete). */
void
rest_mock_chain_delete(api_req *req, api_resp *resp)
{
	const char *params[2] = {req->params[0], rest_token_ns(req)};
	json_t *out = NULL;

	if (db_json(
	        req, resp,
	        "SELECT CASE WHEN $2::text IS NULL THEN mockarty.mock_chain_delete($1)"
	        " ELSE mockarty.mock_batch_delete(ARRAY(SELECT m->>'id'"
	        " FROM jsonb_array_elements(mockarty.mock_chain($1)) AS m WHERE m->>'namespace' = $2)) END",
	        2, params, &out))
		rest_count_reply(resp, "deleted", out);
}
