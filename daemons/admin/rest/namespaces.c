/*
 * namespaces.c - POST and GET /api/v1/namespaces.
 *
 * The original product gates namespace creation behind a licence (403); this one
 * lets anyone with an unbound token create namespaces, so the SDKs' create call
 * succeeds. The list keeps the envelope {"namespaces":[...]} that Go and Python
 * decode (the server's confirmed shape), with sandbox first as namespace_list()
 * orders it.
 */
#include "rest/handlers.h"

/*
 * POST /api/v1/namespaces {"name"} -> 201 {"name"}. An existing name is 409 (the
 * SQL function's unique_violation), a malformed one 400; a namespace-bound token
 * may not create namespaces (403).
 */
void
rest_namespace_create(api_req *req, api_resp *resp)
{
	json_t *body;
	const char *name;

	if ((body = rest_body_object(req, resp)) == NULL)
		return;
	if ((name = rest_body_string(req, resp, body, "name")) == NULL)
		return;
	if (rest_token_ns(req) != NULL) {
		api_error(req, resp, 403, "forbidden",
		          "a token bound to namespace %s cannot create namespaces", rest_token_ns(req));
		return;
	}
	{
		const char *params[1] = {name};

		if (!db_json(req, resp, "SELECT mockarty.namespace_create($1)", 1, params, NULL))
			return;
	}
	api_json(resp, 201, json_pack("{s:s}", "name", name));
}

/* GET /api/v1/namespaces -> {"namespaces":[...]}; a bound token sees only its own. */
void
rest_namespace_list(api_req *req, api_resp *resp)
{
	const char *params[1] = {rest_token_ns(req)};
	json_t *out = NULL;

	if (db_json(req, resp,
	            "SELECT jsonb_build_object('namespaces', coalesce(jsonb_agg(n ORDER BY i), '[]'::jsonb))"
	            " FROM mockarty.namespace_list() WITH ORDINALITY AS t(n, i)"
	            " WHERE $1::text IS NULL OR n = $1",
	            1, params, &out))
		api_json(resp, 200, out);
}
