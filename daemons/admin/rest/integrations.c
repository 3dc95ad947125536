/*
 * integrations.c - REST handlers for integration tokens (the integrations guide's
 * /ui/api/integrations, with /api/v1/integrations as an alias) and the nodes view of
 * connected resolvers (/ui/api/nodes, /api/v1/nodes).
 *
 * Each token call is one SQL function (mockarty.integration_*), so a DBA's psql and the REST
 * API behave the same; the token text exists only in the create response. The nodes view
 * is not in the database: it is the coordinator's live list of Sync streams on this admin
 * node (with several admin nodes behind a load balancer, each lists its own resolvers).
 */
#include "coordinator/coordinator.h"
#include "rest/handlers.h"

#include <string.h>

void
rest_integration_create(api_req *req, api_resp *resp)
{
	json_t *body = api_body(req, resp, JSON_OBJECT);
	json_t *name, *type, *ns, *out = NULL;
	const char *params[3];

	if (body == NULL)
		return;
	name = json_object_get(body, "name");
	type = json_object_get(body, "type");
	if (!json_is_string(name)) {
		api_error(req, resp, 400, "validation", "name is required (a string) [$.name]");
		return;
	}
	if (!json_is_string(type)) {
		api_error(req, resp, 400, "validation",
		          "type is required: mock_resolver, test_runner or orchestrator [$.type]");
		return;
	}
	ns = json_object_get(body, "namespace");
	if (ns != NULL && !json_is_null(ns) && !json_is_string(ns)) {
		api_error(req, resp, 400, "validation", "namespace must be a string [$.namespace]");
		return;
	}
	params[0] = json_string_value(name);
	params[1] = json_string_value(type);
	/* absent: unbound, or the caller's namespace for a bound token (the database decides) */
	params[2] = json_is_string(ns) && json_string_length(ns) > 0 ? json_string_value(ns) : NULL;
	if (db_json(req, resp, "SELECT mockarty.integration_create($1, $2, $3)", 3, params, &out))
		api_json(resp, 201, out);
}

void
rest_integration_list(api_req *req, api_resp *resp)
{
	json_t *list = NULL;

	if (db_json(req, resp, "SELECT mockarty.integration_list()", 0, NULL, &list))
		api_json(resp, 200,
		         json_pack("{s:o, s:I}", "integrations", list, "total",
		                   (json_int_t)json_array_size(list)));
}

void
rest_integration_update(api_req *req, api_resp *resp)
{
	json_t *body = api_body(req, resp, JSON_OBJECT);
	json_t *enabled, *out = NULL;
	const char *params[2];

	if (body == NULL)
		return;
	enabled = json_object_get(body, "enabled");
	if (!json_is_boolean(enabled)) {
		api_error(req, resp, 400, "validation", "enabled is required (true or false) [$.enabled]");
		return;
	}
	params[0] = req->params[0];
	params[1] = json_is_true(enabled) ? "true" : "false";
	if (db_json(req, resp, "SELECT mockarty.integration_set_enabled($1, $2::boolean)", 2, params, &out))
		api_json(resp, 200, out);
}

void
rest_integration_delete(api_req *req, api_resp *resp)
{
	json_t *deleted = NULL;
	const char *params[1] = {req->params[0]};

	if (!db_json(req, resp, "SELECT mockarty.integration_delete($1)", 1, params, &deleted))
		return;
	if (!json_is_true(deleted)) {
		json_decref(deleted);
		api_error(req, resp, 404, "not_found", "integration \"%s\" does not exist", req->params[0]);
		return;
	}
	api_json(resp, 200, json_pack("{s:b, s:s}", "deleted", 1, "id", req->params[0]));
	json_decref(deleted);
}

/*
 * GET /ui/api/nodes (and /api/v1/nodes): the coordinator's connected resolvers and runners;
 * ?disconnected=true adds those that left in the last 10 minutes (the console's Nodes page).
 * A token bound to a namespace sees that namespace's nodes only.
 */
void
rest_nodes_list(api_req *req, api_resp *resp)
{
	const char *gone = api_query(req, "disconnected");
	bool with_gone = false;
	json_t *nodes;

	if (gone != NULL && gone[0] != '\0') {
		if (strcmp(gone, "true") == 0 || strcmp(gone, "1") == 0)
			with_gone = true;
		else if (strcmp(gone, "false") != 0 && strcmp(gone, "0") != 0) {
			api_error(req, resp, 400, "validation",
			          "query parameter disconnected must be true or false, not \"%s\"", gone);
			return;
		}
	}
	nodes = coordinator_nodes_json(with_gone);

	if (req->token_ns != NULL && req->token_ns[0] != '\0' && json_is_array(nodes)) {
		/* a bound token sees the nodes of its namespace only */
		json_t *mine = json_array(), *n;
		size_t i;

		json_array_foreach(nodes, i, n) {
			const char *ns = json_string_value(json_object_get(n, "namespace"));

			if (ns != NULL && strcmp(ns, req->token_ns) == 0)
				json_array_append(mine, n);
		}
		json_decref(nodes);
		nodes = mine;
	}
	api_json(resp, 200,
	         json_pack("{s:o, s:I, s:{s:b, s:i}}", "nodes", nodes ? nodes : json_array(), "total",
	                   (json_int_t)json_array_size(nodes), "coordinator", "enabled",
	                   coordinator_port() > 0, "port", coordinator_port()));
}
