/*
 * undefined.c - requests that matched no mock (/api/v1/undefined-requests).
 *
 * Listing and "delete all" are per namespace (api_namespace()); the per-id calls
 * address rows by their global bigint id. A namespace-bound token only reaches the
 * rows of its own namespace: the check is part of the same SQL statement, and a
 * row outside it answers 404 like an unknown one. Go and Java require the list to
 * be a bare array, so it is sent as mockarty.undefined_list() returns it.
 */
#include "rest/handlers.h"

#include <stdio.h>

/*
 * "$1 (text of a bigint) is visible to the token bound to $2 (NULL = unbound)".
 * $1 is compared as text here, so the statements using it cast it explicitly
 * ($1::text::bigint): a parameter gets one type per statement.
 */
#define ROW_IN_SCOPE                                                                                         \
	"($2::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements(mockarty.undefined_list($2)) AS u"  \
	" WHERE u->>'id' = $1::text))"

/* Parses the :id capture; false after a 400. buf receives its canonical text. */
static bool
row_id(api_req *req, api_resp *resp, char buf[24])
{
	long long id;

	if (!rest_parse_int(req->params[0], 1, LLONG_MAX, &id)) {
		api_error(req, resp, 400, "validation", "id: must be a positive integer");
		json_object_set_new(resp->json, "field", json_string("id"));
		return false;
	}
	snprintf(buf, 24, "%lld", id);
	return true;
}

/* GET /api/v1/undefined-requests -> bare array for the request's namespace. */
void
rest_undefined_list(api_req *req, api_resp *resp)
{
	const char *params[1] = {api_namespace(req)};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT coalesce(mockarty.undefined_list($1), '[]'::jsonb)", 1, params, &out))
		api_json(resp, 200, out);
}

/* PATCH /api/v1/undefined-requests/:id/ignore -> {"status":"ignored","id"}; 404 unknown. */
void
rest_undefined_ignore(api_req *req, api_resp *resp)
{
	char id[24];
	json_t *out = NULL;

	if (!row_id(req, resp, id))
		return;
	{
		const char *params[2] = {id, rest_token_ns(req)};

		if (!db_json(req, resp,
		             "SELECT CASE WHEN " ROW_IN_SCOPE
		             " THEN mockarty.undefined_ignore($1::text::bigint) ELSE 0 END",
		             2, params, &out))
			return;
	}
	if (!json_is_integer(out) || json_integer_value(out) == 0) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "undefined request %s not found", id);
		return;
	}
	json_decref(out);
	api_json(resp, 200,
	         json_pack("{s:s,s:I}", "status", "ignored", "id", (json_int_t)strtoll(id, NULL, 10)));
}

/*
 * DELETE /api/v1/undefined-requests {"ids":[...]}: ids are integers, or strings of
 * digits (Java's model maps ids to strings). -> {"status":"deleted","count":N}.
 */
void
rest_undefined_delete(api_req *req, api_resp *resp)
{
	json_t *body, *ids, *e, *norm, *out = NULL;
	size_t i;
	char *lit;

	if ((body = rest_body_object(req, resp)) == NULL)
		return;
	ids = json_object_get(body, "ids");
	if (!json_is_array(ids)) {
		api_error(req, resp, 400, "validation", "ids: %s",
		          ids == NULL ? "is required" : "must be an array of integers");
		json_object_set_new(resp->json, "field", json_string("ids"));
		return;
	}
	norm = json_array();
	for (i = 0; i < json_array_size(ids); i++) {
		long long v;

		e = json_array_get(ids, i);

		if (json_is_integer(e) && json_integer_value(e) > 0) {
			json_array_append(norm, e);
		} else if (json_is_string(e) && rest_parse_int(json_string_value(e), 1, LLONG_MAX, &v)) {
			json_array_append_new(norm, json_integer((json_int_t)v));
		} else {
			json_decref(norm);
			api_error(req, resp, 400, "validation", "ids[%zu]: must be a positive integer", i);
			json_object_set_new(resp->json, "field", json_string("ids"));
			return;
		}
	}
	lit = api_pg_array(norm);
	json_decref(norm);
	if (lit == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	{
		const char *params[2] = {lit, rest_token_ns(req)};

		if (db_json(req, resp,
		            "SELECT mockarty.undefined_delete(ARRAY(SELECT i FROM unnest($1::bigint[]) AS i"
		            " WHERE $2::text IS NULL OR i::text IN (SELECT u->>'id'"
		            " FROM jsonb_array_elements(mockarty.undefined_list($2)) AS u)))",
		            2, params, &out))
			rest_count_reply(resp, "deleted", out);
	}
	free(lit);
}

/* DELETE /api/v1/undefined-requests/all -> {"status":"deleted","count":N} for the namespace. */
void
rest_undefined_delete_all(api_req *req, api_resp *resp)
{
	const char *params[1] = {api_namespace(req)};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT mockarty.undefined_delete_all($1)", 1, params, &out))
		rest_count_reply(resp, "deleted", out);
}

/* POST /api/v1/undefined-requests/:id/create-mock -> 201 Mock (a 200 {} stub). */
void
rest_undefined_create_mock(api_req *req, api_resp *resp)
{
	char id[24];
	json_t *out = NULL;

	if (!row_id(req, resp, id))
		return;
	{
		const char *params[2] = {id, rest_token_ns(req)};

		if (!db_json(req, resp,
		             "SELECT mockarty.undefined_create_mock($1::text::bigint) WHERE " ROW_IN_SCOPE, 2,
		             params, &out))
			return;
	}
	if (json_is_null(out)) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "undefined request %s not found", id);
		return;
	}
	api_json(resp, 201, out);
}
