/*
 * tags_folders.c - tags, mock folders, and the small status objects
 * (/api/v1/stats, /counts, /status, /features).
 *
 * Tags answer as a bare array of strings: the Python SDK, the one audited against
 * the real server, decodes that; creating accepts Python's {"tag"} and Go/Java's
 * {"name"} and answers both spellings plus the count Go/Java read. Folders are
 * scoped to a namespace on create and list; by-id calls address the global folder
 * id, and a namespace-bound token sees folders of other namespaces as unknown.
 * The status objects report counts read from SQL, never invented figures.
 */
#include "rest/handlers.h"

/*
 * "The folder $1 as folder_list() shows it, when the token bound to $2 (NULL =
 * unbound) may see it": a source "f" of zero or one row.
 */
#define FOLDER_IN_SCOPE " FROM jsonb_array_elements(mockarty.folder_list($2::text)) AS f WHERE f->>'id' = $1"

/* GET /api/v1/tags -> ["orders","v2"] for the request's namespace. */
void
rest_tag_list(api_req *req, api_resp *resp)
{
	const char *params[1] = {api_namespace(req)};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT coalesce(mockarty.tag_list($1), '[]'::jsonb)", 1, params, &out))
		api_json(resp, 200, out);
}

/* POST /api/v1/tags {"tag"|"name","namespace"?} -> {"tag","name","count"}. */
void
rest_tag_create(api_req *req, api_resp *resp)
{
	json_t *body, *out = NULL;
	const char *name;

	if ((body = rest_body_object(req, resp)) == NULL)
		return;
	name = json_string_value(json_object_get(body, "tag"));
	if (name == NULL || name[0] == '\0')
		name = json_string_value(json_object_get(body, "name"));
	if (name == NULL || name[0] == '\0') {
		api_error(req, resp, 400, "validation",
		          "tag: is required (\"tag\" or \"name\", a non-empty string)");
		json_object_set_new(resp->json, "field", json_string("tag"));
		return;
	}
	{
		const char *params[2] = {api_namespace(req), name};

		if (db_json(req, resp,
		            "SELECT jsonb_build_object('tag', $2::text, 'name', $2::text, 'count',"
		            " (mockarty.mock_list($1::text, ARRAY[$2::text], NULL, 0, 1)->'total'))"
		            " FROM (SELECT mockarty.tag_create($1::text, $2::text)) AS created",
		            2, params, &out))
			api_json(resp, 201, out);
	}
}

/* GET /api/v1/mock-folders -> [MockFolder] of the request's namespace. */
void
rest_folder_list(api_req *req, api_resp *resp)
{
	const char *params[1] = {api_namespace(req)};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT coalesce(mockarty.folder_list($1), '[]'::jsonb)", 1, params, &out))
		api_json(resp, 200, out);
}

/*
 * POST /api/v1/mock-folders MockFolder -> 201 MockFolder. The folder lands in the
 * request's namespace unless the body names one (a bound token always wins). A
 * given id that already exists is 409: updates go through PUT, so a create can
 * never take over a folder of another namespace.
 */
void
rest_folder_create(api_req *req, api_resp *resp)
{
	json_t *body, *folder, *out = NULL;
	const char *pid;
	char *text;

	if ((body = rest_body_object(req, resp)) == NULL)
		return;
	if (rest_body_string(req, resp, body, "name") == NULL)
		return;
	pid = json_string_value(json_object_get(body, "parentId"));
	if (json_object_get(body, "parentId") != NULL && !json_is_null(json_object_get(body, "parentId")) &&
	    pid == NULL) {
		api_error(req, resp, 400, "validation", "parentId: must be a string or null");
		json_object_set_new(resp->json, "field", json_string("parentId"));
		return;
	}
	folder = json_deep_copy(body);
	json_object_set_new(folder, "namespace", json_string(api_namespace(req)));
	if (pid != NULL && pid[0] == '\0')
		json_object_set_new(folder, "parentId", json_null());
	text = api_dump(folder);
	json_decref(folder);
	if (text == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	{
		const char *params[2] = {text, json_string_value(json_object_get(body, "id"))};

		if (!db_json(req, resp,
		             "SELECT mockarty.folder_save($1::jsonb) WHERE $2::text IS NULL OR NOT EXISTS"
		             " (SELECT 1 FROM jsonb_array_elements(mockarty.folder_list(NULL)) AS f"
		             " WHERE f->>'id' = $2)",
		             2, params, &out)) {
			free(text);
			return;
		}
	}
	free(text);
	if (json_is_null(out)) {
		json_decref(out);
		api_error(req, resp, 409, "conflict", "folder %s already exists (update it with PUT)",
		          json_string_value(json_object_get(body, "id")));
		return;
	}
	api_json(resp, 201, out);
}

/*
 * PUT /api/v1/mock-folders/:id MockFolder -> MockFolder. The body is merged over
 * the stored folder, so a client that sends only {"name"} keeps its parent and
 * namespace; an unknown (or out-of-scope) id is 404 rather than a silent create.
 */
void
rest_folder_update(api_req *req, api_resp *resp)
{
	json_t *body, *patch, *out = NULL;
	char *text;

	if ((body = rest_body_object(req, resp)) == NULL)
		return;
	if (json_object_get(body, "name") != NULL && rest_body_string(req, resp, body, "name") == NULL)
		return;
	patch = json_deep_copy(body);
	json_object_set_new(patch, "id", json_string(req->params[0]));
	/* derived fields are the server's; a bound token cannot move a folder out */
	json_object_del(patch, "mockCount");
	json_object_del(patch, "createdAt");
	json_object_del(patch, "updatedAt");
	if (rest_token_ns(req) != NULL)
		json_object_del(patch, "namespace");
	text = api_dump(patch);
	json_decref(patch);
	if (text == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	{
		const char *params[3] = {req->params[0], rest_token_ns(req), text};

		if (!db_json(req, resp, "SELECT mockarty.folder_save(f || $3::jsonb)" FOLDER_IN_SCOPE, 3,
		             params, &out)) {
			free(text);
			return;
		}
	}
	free(text);
	if (json_is_null(out)) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "folder %s not found", req->params[0]);
		return;
	}
	api_json(resp, 200, out);
}

/* DELETE /api/v1/mock-folders/:id -> {"status":"deleted","id"}; 404 unknown. */
void
rest_folder_delete(api_req *req, api_resp *resp)
{
	const char *params[2] = {req->params[0], rest_token_ns(req)};
	json_t *out = NULL;

	if (!db_json(req, resp, "SELECT mockarty.folder_delete(f->>'id')" FOLDER_IN_SCOPE, 2, params, &out))
		return;
	if (!json_is_true(out)) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "folder %s not found", req->params[0]);
		return;
	}
	json_decref(out);
	api_json(resp, 200, json_pack("{s:s,s:s}", "status", "deleted", "id", req->params[0]));
}

/*
 * PATCH /api/v1/mock-folders/:id/move {"parentId": "p" | null} -> MockFolder.
 * An absent parentId means the root (Python drops None fields).
 */
void
rest_folder_move(api_req *req, api_resp *resp)
{
	json_t *body = req->body_json, *pid, *out = NULL;
	const char *parent;

	if (req->body != NULL && req->body_len > 0 && (body = rest_body_object(req, resp)) == NULL)
		return;
	pid = json_object_get(body, "parentId");
	if (pid != NULL && !json_is_null(pid) && !json_is_string(pid)) {
		api_error(req, resp, 400, "validation", "parentId: must be a string or null");
		json_object_set_new(resp->json, "field", json_string("parentId"));
		return;
	}
	parent = json_string_value(pid);
	if (parent != NULL && strcmp(parent, req->params[0]) == 0) {
		api_error(req, resp, 400, "validation", "parentId: a folder cannot be its own parent");
		json_object_set_new(resp->json, "field", json_string("parentId"));
		return;
	}
	{
		const char *params[3] = {req->params[0], rest_token_ns(req),
		                         parent != NULL && parent[0] != '\0' ? parent : NULL};

		if (!db_json(req, resp, "SELECT mockarty.folder_move(f->>'id', $3::text)" FOLDER_IN_SCOPE, 3,
		             params, &out))
			return;
	}
	if (json_is_null(out)) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "folder %s not found", req->params[0]);
		return;
	}
	api_json(resp, 200, out);
}

/*
 * The namespace the status objects count: the token's, else an explicit
 * ?namespace= or X-Namespace, else NULL = every namespace. (Not api_namespace():
 * its sandbox default would make an unscoped call count one namespace only.)
 */
static const char *
count_scope(const api_req *req)
{
	const char *ns = rest_token_ns(req);

	if (ns == NULL)
		ns = api_query(req, "namespace");
	if (ns == NULL || ns[0] == '\0')
		ns = api_header(req, "x-namespace");
	return ns != NULL && ns[0] != '\0' ? ns : NULL;
}

/* Counts of everything the admin node holds, in scope $1. */
#define COUNTS_SQL                                                                                           \
	"SELECT jsonb_build_object("                                                                         \
	"'namespace', $1::text,"                                                                             \
	"'mocks', (mockarty.mock_list($1::text, NULL, NULL, 0, 1)->>'total')::bigint,"                       \
	"'deletedMocks', (mockarty.mock_list($1::text, NULL, NULL, 0, 1, true)->>'total')::bigint"           \
	" - (mockarty.mock_list($1::text, NULL, NULL, 0, 1)->>'total')::bigint,"                             \
	"'namespaces', (SELECT count(*) FROM mockarty.namespace_list() AS n"                                 \
	" WHERE $1::text IS NULL OR n = $1::text),"                                                          \
	"'folders', jsonb_array_length(coalesce(mockarty.folder_list($1::text), '[]'::jsonb)),"              \
	"'tags', jsonb_array_length(coalesce(mockarty.tag_list($1::text), '[]'::jsonb)),"                    \
	"'undefinedRequests', jsonb_array_length(coalesce(mockarty.undefined_list($1::text), '[]'::jsonb)),"

/* GET /api/v1/counts -> {"namespace","mocks","deletedMocks","namespaces","folders","tags",...}. */
void
rest_counts(api_req *req, api_resp *resp)
{
	const char *params[1] = {count_scope(req)};
	json_t *out = NULL;

	if (db_json(req, resp, COUNTS_SQL "'headVersion', mockarty.head_version())", 1, params, &out))
		api_json(resp, 200, out);
}

/* GET /api/v1/stats -> the counts plus the change-log head (how many writes so far). */
void
rest_stats(api_req *req, api_resp *resp)
{
	rest_counts(req, resp);
	if (resp->status == 200 && json_is_object(resp->json))
		json_object_set_new(resp->json, "totalMocks",
		                    json_incref(json_object_get(resp->json, "mocks")));
}

/*
 * GET /api/v1/status -> {"status":"ok","database":"up",...counts}. Reaching SQL is
 * the check: a database failure becomes db_json's 503 envelope.
 */
void
rest_status(api_req *req, api_resp *resp)
{
	rest_counts(req, resp);
	if (resp->status == 200 && json_is_object(resp->json)) {
		json_object_set_new(resp->json, "status", json_string("ok"));
		json_object_set_new(resp->json, "database", json_string("up"));
	}
}

/*
 * GET /api/v1/features -> the features this build serves through the REST API.
 * Static: it names only what the routes of this node implement.
 */
void
rest_features(api_req *req, api_resp *resp)
{
	(void)req;
	api_json(resp, 200,
	         json_pack("{s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b}", "namespaces", 1, "createNamespaces", 1,
	                   "versioning", 1, "requestLogs", 1, "undefinedRequests", 1, "stores", 1, "folders",
	                   1, "tags", 1, "batch", 1));
}
