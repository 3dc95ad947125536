/*
 * generated_servers.c - REST for the orchestrator's state: /api/v1/generated-servers
 * (list, get, put, delete), one SQL call each (sql/install/17_generated_servers.sql),
 * so the caller rule and the field checks live in the database.
 *
 * `mockarty-server-generator orchestrator` keeps here each generated server's
 * definition, desired state and current child (pid, startedAt), so a restarted
 * orchestrator finds its servers again (docs/generator.md, Orchestrator).
 */
#include "rest/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GET /api/v1/generated-servers[?namespace=]: every visible server, without specs. */
void
rest_generated_server_list(api_req *req, api_resp *resp)
{
	const char *ns = api_query(req, "namespace");
	const char *params[1] = {ns && ns[0] ? ns : NULL};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT mockarty.generated_server_list($1)", 1, params, &out))
		api_json(resp, 200, json_pack("{s:o, s:I}", "items", out, "total", (json_int_t)json_array_size(out)));
}

/* GET /api/v1/generated-servers/:name: one server with its spec (404 when unknown). */
void
rest_generated_server_get(api_req *req, api_resp *resp)
{
	const char *params[1] = {req->params[0]};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT mockarty.generated_server_get($1)", 1, params, &out))
		api_json(resp, 200, out);
}

/*
 * PUT /api/v1/generated-servers/:name: creates or updates the server (the body's fields;
 * absent ones keep their value). The path names it: a body "name" that differs is a 400.
 * 201 when it was created, else 200.
 */
void
rest_generated_server_put(api_req *req, api_resp *resp)
{
	json_t *body = rest_body_object(req, resp), *doc, *out = NULL;
	const char *given, *params[1];
	char *text;
	bool ok;

	if (body == NULL)
		return;
	given = json_string_value(json_object_get(body, "name"));
	if (json_object_get(body, "name") != NULL && (given == NULL || strcmp(given, req->params[0]) != 0)) {
		api_error(req, resp, 400, "validation", "$.name: \"%s\" differs from the path's \"%s\"",
		          given ? given : "(not a string)", req->params[0]);
		return;
	}
	doc = json_deep_copy(body);
	json_object_set_new(doc, "name", json_string(req->params[0]));
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (text == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	params[0] = text;
	ok = db_json(req, resp, "SELECT mockarty.generated_server_put($1::jsonb)", 1, params, &out);
	free(text);
	if (ok)
		api_json(resp, json_is_true(json_object_get(out, "created")) ? 201 : 200, out);
}

/* DELETE /api/v1/generated-servers/:name: {"deleted": true}, 404 when unknown. */
void
rest_generated_server_delete(api_req *req, api_resp *resp)
{
	const char *params[1] = {req->params[0]};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT jsonb_build_object('deleted', mockarty.generated_server_delete($1))", 1,
	            params, &out))
		api_json(resp, 200, out);
}
