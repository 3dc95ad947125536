/*
 * webhooks.c - REST for Settings > Webhooks: /api/v1/webhooks (and the same
 * under /ui/api/webhooks), delivery history and retry by hand, the settings that
 * shape delivery, and the SDKs' namespace-scoped /api/v1/namespaces/{ns}/webhooks.
 *
 * Every call is one SQL function of the mockarty schema (webhook_create, ...),
 * so psql and REST behave alike and the validation messages (with the JSON path
 * of the bad field) come from one place. The SDKs disagree on the webhook shape
 * (Go/Java {"operation"}, Python {"events"} with other event spellings); the SQL
 * side accepts both and maps the names, and the answers carry both fields.
 * A token bound to a namespace sees and touches only that namespace's webhooks.
 */
#include "delivery/evsink.h"
#include "rest/handlers.h"
#include "delivery/webhooks.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* True for the 36-character text form of a UUID (anything else cannot name a webhook). */
static bool
is_uuid(const char *s)
{
	if (s == NULL || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/*
 * Loads webhook id into *out (new reference) when it exists and the caller may
 * see it (a namespace-bound token, or path namespace ns when not NULL, must match
 * its namespace); otherwise fills resp with 404 and returns false.
 */
static bool
load_webhook(api_req *req, api_resp *resp, const char *id, const char *ns, json_t **out)
{
	const char *params[1] = {id};
	const char *bound = ns ? ns : rest_token_ns(req);
	json_t *w = NULL;

	*out = NULL;
	if (!is_uuid(id)) {
		api_error(req, resp, 404, "not_found", "webhook %s does not exist", id ? id : "");
		return false;
	}
	if (!db_json(req, resp, "SELECT mockarty.webhook_get($1::uuid)", 1, params, &w))
		return false;
	if (!json_is_object(w) ||
	    (bound != NULL && (json_string_value(json_object_get(w, "namespace")) == NULL ||
	                       strcmp(json_string_value(json_object_get(w, "namespace")), bound) != 0))) {
		json_decref(w);
		api_error(req, resp, 404, "not_found", "webhook %s does not exist", id);
		return false;
	}
	*out = w;
	return true;
}

/* The namespace a new webhook is bound to: the token's, else the body's, else ?namespace=, else none (all). */
static const char *
create_namespace(api_req *req, json_t *body)
{
	const char *ns = rest_token_ns(req);

	if (ns == NULL)
		ns = json_string_value(json_object_get(body, "namespace"));
	if (ns == NULL)
		ns = api_query(req, "namespace");
	return ns;
}

/* GET /api/v1/webhooks[?namespace=] -> {"items":[...],"webhooks":[...],"total":n} */
void
rest_webhook_list(api_req *req, api_resp *resp)
{
	const char *params[1] = {rest_token_ns(req) ? rest_token_ns(req) : api_query(req, "namespace")};
	json_t *list = NULL;

	if (db_json(req, resp, "SELECT mockarty.webhook_list($1)", 1, params, &list))
		api_json(resp, 200,
		         json_pack("{s:O, s:o, s:I}", "items", list, "webhooks", list,
		                   "total", (json_int_t)json_array_size(list)));
}

/* POST /api/v1/webhooks {"url","events"|"operation","secret"?,...} -> 201 webhook */
void
rest_webhook_create(api_req *req, api_resp *resp)
{
	json_t *body = api_body(req, resp, JSON_OBJECT), *out = NULL;
	char *text;
	const char *params[2];

	if (body == NULL)
		return;
	text = api_dump(body);
	params[0] = text;
	params[1] = create_namespace(req, body);
	if (text != NULL && db_json(req, resp, "SELECT mockarty.webhook_create($1::jsonb, $2)", 2, params, &out)) {
		evsink_refresh_now(); /* this node serves mock.resolved events from the next request */
		api_json(resp, 201, out);
	}
	else if (text == NULL)
		api_error(req, resp, 500, "internal", "out of memory");
	free(text);
}

void
rest_webhook_get(api_req *req, api_resp *resp)
{
	json_t *w;

	if (load_webhook(req, resp, req->params[0], NULL, &w))
		api_json(resp, 200, w);
}

/* Applies patch to webhook id after the visibility check; answers the new webhook. */
static void
update_with(api_req *req, api_resp *resp, const char *id, const char *ns, json_t *patch)
{
	json_t *w, *out = NULL;
	char *text;
	const char *params[2];

	if (!load_webhook(req, resp, id, ns, &w))
		return;
	json_decref(w);
	if (rest_token_ns(req) != NULL && json_object_get(patch, "namespace") != NULL) {
		api_error(req, resp, 403, "forbidden", "a token bound to namespace %s cannot move webhooks",
		          rest_token_ns(req));
		return;
	}
	text = api_dump(patch);
	params[0] = id;
	params[1] = text;
	if (text != NULL && db_json(req, resp, "SELECT mockarty.webhook_update($1::uuid, $2::jsonb)", 2, params, &out)) {
		evsink_refresh_now();
		api_json(resp, 200, out);
	}
	else if (text == NULL)
		api_error(req, resp, 500, "internal", "out of memory");
	free(text);
}

/* PUT or PATCH /api/v1/webhooks/{id} with the fields to change */
void
rest_webhook_update(api_req *req, api_resp *resp)
{
	json_t *body = api_body(req, resp, JSON_OBJECT);

	if (body != NULL)
		update_with(req, resp, req->params[0], NULL, body);
}

static void
set_enabled(api_req *req, api_resp *resp, bool on)
{
	json_t *patch = json_pack("{s:b}", "enabled", on);

	update_with(req, resp, req->params[0], NULL, patch);
	json_decref(patch);
}

void
rest_webhook_enable(api_req *req, api_resp *resp)
{
	set_enabled(req, resp, true);
}

void
rest_webhook_disable(api_req *req, api_resp *resp)
{
	set_enabled(req, resp, false);
}

static void
delete_webhook(api_req *req, api_resp *resp, const char *id, const char *ns)
{
	json_t *w;
	const char *params[1] = {id};

	if (!load_webhook(req, resp, id, ns, &w))
		return;
	json_decref(w);
	if (db_json(req, resp, "SELECT mockarty.webhook_delete($1::uuid)", 1, params, NULL)) {
		evsink_refresh_now();
		api_json(resp, 200, json_pack("{s:b, s:s}", "deleted", 1, "id", id));
	}
}

void
rest_webhook_delete(api_req *req, api_resp *resp)
{
	delete_webhook(req, resp, req->params[0], NULL);
}

/* Reads ?limit= and ?offset= (defaults 50 and 0); false with a 400 filled when malformed. */
static bool
page(api_req *req, api_resp *resp, char *lim, char *off)
{
	long long l = 50, o = 0;
	const char *ls = api_query(req, "limit"), *os = api_query(req, "offset");

	if (ls != NULL && !rest_parse_int(ls, 0, 1000, &l)) {
		api_error(req, resp, 400, "validation", "limit must be an integer 0..1000 [?limit]");
		return false;
	}
	if (os != NULL && !rest_parse_int(os, 0, LLONG_MAX, &o)) {
		api_error(req, resp, 400, "validation", "offset must be a non-negative integer [?offset]");
		return false;
	}
	snprintf(lim, 24, "%lld", l);
	snprintf(off, 24, "%lld", o);
	return true;
}

/* GET /api/v1/webhooks/{id}/deliveries[?status=&limit=&offset=] -> {"items":[...],"total"} */
void
rest_webhook_deliveries(api_req *req, api_resp *resp)
{
	json_t *w, *list = NULL;
	char lim[24], off[24];
	const char *params[4] = {req->params[0], lim, off, api_query(req, "status")};

	if (!load_webhook(req, resp, req->params[0], NULL, &w))
		return;
	json_decref(w);
	if (!page(req, resp, lim, off))
		return;
	if (db_json(req, resp, "SELECT mockarty.webhook_deliveries($1::uuid, $2::int, $3::int, $4)", 4, params,
	            &list))
		api_json(resp, 200,
		         json_pack("{s:O, s:o, s:I}", "items", list, "deliveries", list, "total",
		                   (json_int_t)json_array_size(list)));
}

/* GET /api/v1/webhooks/deliveries[?status=&mockId=] (every delivery, callbacks included; unbound tokens) */
void
rest_webhook_delivery_list(api_req *req, api_resp *resp)
{
	json_t *list = NULL;
	char lim[24], off[24];
	const char *params[4] = {api_query(req, "status"), api_query(req, "mockId"), lim, off};

	if (rest_token_ns(req) != NULL) {
		api_error(req, resp, 403, "forbidden", "a namespace-bound token lists deliveries per webhook");
		return;
	}
	if (!page(req, resp, lim, off))
		return;
	if (db_json(req, resp, "SELECT mockarty.webhook_delivery_list($1, $2, $3::int, $4::int)", 4, params, &list))
		api_json(resp, 200,
		         json_pack("{s:O, s:o, s:I}", "items", list, "deliveries", list, "total",
		                   (json_int_t)json_array_size(list)));
}

/* Loads delivery id (digits) visible to the caller into *out; 404 otherwise. */
static bool
load_delivery(api_req *req, api_resp *resp, const char *id, json_t **out)
{
	long long n;
	const char *params[1] = {id};
	json_t *d = NULL, *w;

	*out = NULL;
	if (id == NULL || !rest_parse_int(id, 1, LLONG_MAX, &n)) {
		api_error(req, resp, 404, "not_found", "delivery %s does not exist", id ? id : "");
		return false;
	}
	if (!db_json(req, resp, "SELECT mockarty.webhook_delivery_get($1::bigint)", 1, params, &d))
		return false;
	if (!json_is_object(d)) {
		json_decref(d);
		api_error(req, resp, 404, "not_found", "delivery %s does not exist", id);
		return false;
	}
	if (rest_token_ns(req) != NULL) {
		const char *wid = json_string_value(json_object_get(d, "webhookId"));

		if (wid == NULL || !load_webhook(req, resp, wid, NULL, &w)) {
			json_decref(d);
			if (wid == NULL)
				api_error(req, resp, 404, "not_found", "delivery %s does not exist", id);
			return false;
		}
		json_decref(w);
	}
	*out = d;
	return true;
}

void
rest_webhook_delivery_get(api_req *req, api_resp *resp)
{
	json_t *d;

	if (load_delivery(req, resp, req->params[req->nparams - 1], &d))
		api_json(resp, 200, d);
}

/* POST /api/v1/webhooks/deliveries/{id}/retry -> 202 delivery (pending again); 400 unless failed */
void
rest_webhook_delivery_retry(api_req *req, api_resp *resp)
{
	json_t *d, *out = NULL;
	const char *id = req->params[req->nparams - 1];
	const char *params[1] = {id};

	if (!load_delivery(req, resp, id, &d))
		return;
	json_decref(d);
	if (db_json(req, resp, "SELECT mockarty.webhook_delivery_retry($1::bigint)", 1, params, &out))
		api_json(resp, 202, out);
}

/* GET /api/v1/settings -> {"webhook_retry_schedule":"0,30s,2m,10m,1h",...} */
void
rest_webhook_settings_get(api_req *req, api_resp *resp)
{
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT mockarty.setting_list()", 0, NULL, &out))
		api_json(resp, 200, out);
}

/* PUT /api/v1/settings/{key} {"value":"..."|null} -> {"key","value"}; unbound tokens only */
void
rest_webhook_settings_put(api_req *req, api_resp *resp)
{
	json_t *body = api_body(req, resp, JSON_OBJECT), *v, *out = NULL;
	const char *params[2];
	char num[32];

	if (body == NULL)
		return;
	if (rest_token_ns(req) != NULL) {
		api_error(req, resp, 403, "forbidden", "a namespace-bound token cannot change server settings");
		return;
	}
	v = json_object_get(body, "value");
	params[0] = req->params[0];
	if (json_is_string(v)) {
		params[1] = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		params[1] = num;
	} else if (json_is_null(v)) {
		params[1] = NULL;
	} else {
		api_error(req, resp, 400, "validation", "value must be a string, an integer or null [$.value]");
		return;
	}
	if (db_json(req, resp, "SELECT mockarty.setting_set($1, $2)", 2, params, &out))
		api_json(resp, 200, json_pack("{s:s, s:o}", "key", req->params[0], "value", out));
}

/* ---- /api/v1/namespaces/{ns}/webhooks: the SDKs' NamespaceWebhook (api-compat 2.3) ---- */

/* The path namespace, unless a bound token names another one (then 403 filled, NULL). */
static const char *
path_ns(api_req *req, api_resp *resp)
{
	const char *ns = req->params[0];

	if (rest_token_ns(req) != NULL && strcmp(rest_token_ns(req), ns) != 0) {
		api_error(req, resp, 403, "forbidden", "this token is bound to namespace %s", rest_token_ns(req));
		return NULL;
	}
	return ns;
}

/* GET -> a bare array, as all three SDKs decode it */
void
rest_ns_webhook_list(api_req *req, api_resp *resp)
{
	const char *ns = path_ns(req, resp);
	const char *params[1] = {ns};
	json_t *list = NULL;

	if (ns != NULL && db_json(req, resp, "SELECT mockarty.webhook_list($1)", 1, params, &list))
		api_json(resp, 200, list);
}

void
rest_ns_webhook_create(api_req *req, api_resp *resp)
{
	const char *ns = path_ns(req, resp);
	json_t *body, *out = NULL;
	char *text;
	const char *params[2];

	if (ns == NULL || (body = api_body(req, resp, JSON_OBJECT)) == NULL)
		return;
	text = api_dump(body);
	params[0] = text;
	params[1] = ns;
	if (text != NULL && db_json(req, resp, "SELECT mockarty.webhook_create($1::jsonb, $2)", 2, params, &out)) {
		evsink_refresh_now(); /* this node serves mock.resolved events from the next request */
		api_json(resp, 201, out);
	}
	else if (text == NULL)
		api_error(req, resp, 500, "internal", "out of memory");
	free(text);
}

void
rest_ns_webhook_update(api_req *req, api_resp *resp)
{
	const char *ns = path_ns(req, resp);
	json_t *body;

	if (ns == NULL || (body = api_body(req, resp, JSON_OBJECT)) == NULL)
		return;
	update_with(req, resp, req->params[1], ns, body);
}

void
rest_ns_webhook_delete(api_req *req, api_resp *resp)
{
	const char *ns = path_ns(req, resp);

	if (ns != NULL)
		delete_webhook(req, resp, req->params[1], ns);
}
