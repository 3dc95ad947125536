/*
 * tokens.c - REST handlers for API (mk_) tokens: /api/v1/auth/tokens, where
 * the SDKs' long-lived tokens come from (create, list, enable/disable, delete).
 *
 * Each call is one SQL function (mockarty.token_*), run under the caller's context
 * (db_json sets mockarty.caller_namespace and mockarty.caller_role), so the rule
 * lives in the database: only admins manage tokens (the route is refused to other
 * roles before it runs, auth.c), and a namespace-bound admin sees and manages only
 * the tokens bound to its namespace and mints only such tokens. The token text is
 * in the create response only.
 */
#include "node/api.h"

#include <string.h>

/* Adds the SDKs' APIKey spellings (user_login, created_at) to a token_json object. */
static void
api_key_shape(json_t *info)
{
	if (!json_is_object(info))
		return;
	json_object_set(info, "user_login", json_object_get(info, "user"));
	json_object_set(info, "created_at", json_object_get(info, "createdAt"));
}

/*
 * POST /api/v1/auth/tokens {"name","namespace"?,"user"?} -> 201
 * {"token","token_info":APIKey,"message"}. namespace absent: the caller's binding
 * (none for an unbound admin); user: login of the owner (default: the signed-in
 * user of a session, else admin).
 */
void
rest_token_create(api_req *req, api_resp *resp)
{
	json_t *body = api_body(req, resp, JSON_OBJECT);
	json_t *name, *ns, *user, *out = NULL;
	const char *params[3];

	if (body == NULL)
		return;
	name = json_object_get(body, "name");
	ns = json_object_get(body, "namespace");
	user = json_object_get(body, "user");
	if (user == NULL)
		user = json_object_get(body, "user_login");
	if (!json_is_string(name) || json_string_length(name) == 0) {
		api_error(req, resp, 400, "validation", "name is required (a non-empty string) [$.name]");
		json_object_set_new(resp->json, "field", json_string("$.name"));
		return;
	}
	if (ns != NULL && !json_is_null(ns) && !json_is_string(ns)) {
		api_error(req, resp, 400, "validation", "namespace must be a string [$.namespace]");
		json_object_set_new(resp->json, "field", json_string("$.namespace"));
		return;
	}
	if (user != NULL && !json_is_null(user) && !json_is_string(user)) {
		api_error(req, resp, 400, "validation", "user must be a string (a login) [$.user]");
		json_object_set_new(resp->json, "field", json_string("$.user"));
		return;
	}
	params[0] = json_string_value(name);
	params[1] = json_is_string(user)             ? json_string_value(user)
	            : req->session_login != NULL ? req->session_login
	                                         : "admin";
	params[2] = json_is_string(ns) && json_string_length(ns) > 0 ? json_string_value(ns) : NULL;
	if (!db_json(req, resp, "SELECT mockarty.token_create($1, $2, $3)", 3, params, &out))
		return;
	api_key_shape(json_object_get(out, "token_info"));
	json_object_set_new(out, "message", json_string("store this token now: it is not shown again"));
	api_json(resp, 201, out);
}

/* GET /api/v1/auth/tokens -> {"tokens":[APIKey...],"total":N} (never a secret). */
void
rest_token_list(api_req *req, api_resp *resp)
{
	json_t *list = NULL, *v;
	size_t i;

	if (!db_json(req, resp, "SELECT mockarty.token_list()", 0, NULL, &list))
		return;
	json_array_foreach (list, i, v)
		api_key_shape(v);
	api_json(resp, 200,
	         json_pack("{s:o, s:I}", "tokens", list, "total", (json_int_t)json_array_size(list)));
}

/* Shared by PATCH/PUT :id {"enabled":bool} and POST :id/disable|enable. */
static void
token_set_enabled(api_req *req, api_resp *resp, bool enabled)
{
	const char *params[2] = {req->params[0], enabled ? "true" : "false"};
	json_t *out = NULL;

	if (!db_json(req, resp, "SELECT mockarty.token_set_enabled($1, $2::boolean)", 2, params, &out))
		return;
	api_key_shape(out);
	api_json(resp, 200, out);
}

/* PATCH or PUT /api/v1/auth/tokens/:id {"enabled":bool} -> APIKey; 404 when unknown. */
void
rest_token_update(api_req *req, api_resp *resp)
{
	json_t *body = api_body(req, resp, JSON_OBJECT);
	json_t *enabled;

	if (body == NULL)
		return;
	enabled = json_object_get(body, "enabled");
	if (!json_is_boolean(enabled)) {
		api_error(req, resp, 400, "validation", "enabled is required (true or false) [$.enabled]");
		json_object_set_new(resp->json, "field", json_string("$.enabled"));
		return;
	}
	token_set_enabled(req, resp, json_is_true(enabled));
}

/* POST /api/v1/auth/tokens/:id/disable -> APIKey (enabled false). */
void
rest_token_disable(api_req *req, api_resp *resp)
{
	token_set_enabled(req, resp, false);
}

/* POST /api/v1/auth/tokens/:id/enable -> APIKey (enabled true). */
void
rest_token_enable(api_req *req, api_resp *resp)
{
	token_set_enabled(req, resp, true);
}

/* DELETE /api/v1/auth/tokens/:id -> {"deleted":true,"id"}; 404 when unknown. */
void
rest_token_delete(api_req *req, api_resp *resp)
{
	const char *params[1] = {req->params[0]};
	json_t *deleted = NULL;

	if (!db_json(req, resp, "SELECT mockarty.token_delete($1)", 1, params, &deleted))
		return;
	if (!json_is_true(deleted)) {
		json_decref(deleted);
		api_error(req, resp, 404, "not_found", "token \"%s\" does not exist", req->params[0]);
		return;
	}
	json_decref(deleted);
	api_json(resp, 200, json_pack("{s:b, s:s}", "deleted", 1, "id", req->params[0]));
}
