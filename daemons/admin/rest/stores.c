/*
 * stores.c - the global store of a namespace and the chain stores under
 * /api/v1/stores/{global,chain}.
 *
 * Stores are flat JSON objects; the SDKs write one key per call and read the
 * whole object. Keys travel URL-escaped in DELETE paths and may contain dots
 * ("app.version"), so the key is taken verbatim from the decoded capture. The
 * namespace comes from api_namespace() (token, body, ?namespace=, X-Namespace,
 * sandbox), which is how Java's ?namespace= on DELETE and Go's body field work.
 */
#include "rest/handlers.h"

/*
 * Validates {"key","value"} and returns the value as JSON text (malloc'd) with
 * *key set (borrowed), or NULL after a 400 naming the field. Any JSON value is
 * allowed, null included, but the field must be present.
 */
static char *
key_value(api_req *req, api_resp *resp, const char **key)
{
	json_t *body, *value;
	char *text;

	if ((body = rest_body_object(req, resp)) == NULL)
		return NULL;
	if ((*key = rest_body_string(req, resp, body, "key")) == NULL)
		return NULL;
	if ((value = json_object_get(body, "value")) == NULL) {
		api_error(req, resp, 400, "validation", "value: is required");
		json_object_set_new(resp->json, "field", json_string("value"));
		return NULL;
	}
	if ((text = api_dump(value)) == NULL)
		api_error(req, resp, 500, "internal", "out of memory");
	return text;
}

/* Replies {"status":"saved","namespace","key","value"}. */
static void
saved_reply(api_req *req, api_resp *resp, const char *ns, const char *key)
{
	json_t *body = json_object();

	json_object_set_new(body, "status", json_string("saved"));
	json_object_set_new(body, "namespace", json_string(ns));
	json_object_set_new(body, "key", json_string(key));
	json_object_set(body, "value", json_object_get(req->body_json, "value"));
	api_json(resp, 200, body);
}

/*
 * Replies {"status":"deleted","key","deleted":bool}: deleting an absent key is not
 * an error (the SDKs call delete for cleanup), the flag says whether it existed.
 */
static void
deleted_reply(api_resp *resp, const char *key, json_t *existed)
{
	json_t *body = json_object();

	json_object_set_new(body, "status", json_string("deleted"));
	json_object_set_new(body, "key", json_string(key));
	json_object_set_new(body, "deleted", json_boolean(json_is_true(existed)));
	json_decref(existed);
	api_json(resp, 200, body);
}

/* GET /api/v1/stores/global -> the whole store object. */
void
rest_store_global_get(api_req *req, api_resp *resp)
{
	const char *params[1] = {api_namespace(req)};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT coalesce(mockarty.store_global_get($1), '{}'::jsonb)", 1, params,
	            &out))
		api_json(resp, 200, out);
}

/* POST /api/v1/stores/global {"key","value","namespace"?}. */
void
rest_store_global_set(api_req *req, api_resp *resp)
{
	const char *key, *ns = api_namespace(req);
	char *value = key_value(req, resp, &key);

	if (value == NULL)
		return;
	{
		const char *params[3] = {ns, key, value};

		if (db_json(req, resp, "SELECT mockarty.store_global_set($1, $2, $3::jsonb)", 3, params,
		            NULL))
			saved_reply(req, resp, ns, key);
	}
	free(value);
}

/* DELETE /api/v1/stores/global/:key */
void
rest_store_global_delete(api_req *req, api_resp *resp)
{
	const char *params[2] = {api_namespace(req), req->params[0]};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT mockarty.store_global_delete($1, $2)", 2, params, &out))
		deleted_reply(resp, req->params[0], out);
}

/* GET /api/v1/stores/chain/:chainId -> the chain's store object ({} when empty). */
void
rest_store_chain_get(api_req *req, api_resp *resp)
{
	const char *params[2] = {api_namespace(req), req->params[0]};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT coalesce(mockarty.store_chain_get($1, $2), '{}'::jsonb)", 2, params,
	            &out))
		api_json(resp, 200, out);
}

/* POST /api/v1/stores/chain/:chainId {"key","value","namespace"?}. */
void
rest_store_chain_set(api_req *req, api_resp *resp)
{
	const char *key, *ns = api_namespace(req);
	char *value = key_value(req, resp, &key);

	if (value == NULL)
		return;
	{
		const char *params[4] = {ns, req->params[0], key, value};

		if (db_json(req, resp, "SELECT mockarty.store_chain_set($1, $2, $3, $4::jsonb)", 4, params,
		            NULL))
			saved_reply(req, resp, ns, key);
	}
	free(value);
}

/* DELETE /api/v1/stores/chain/:chainId/:key */
void
rest_store_chain_delete(api_req *req, api_resp *resp)
{
	const char *params[3] = {api_namespace(req), req->params[0], req->params[1]};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT mockarty.store_chain_delete($1, $2, $3)", 3, params, &out))
		deleted_reply(resp, req->params[1], out);
}
