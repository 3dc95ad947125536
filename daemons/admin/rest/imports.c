/*
 * imports.c - REST for mocks imported from other tools: WireMock mappings, Mockoon
 * environments and HAR captures (/api/v1/import/{kind}, /api/v1/generators/har and its
 * preview), and the WireMock-compatible admin surface (/__admin/mappings, /__admin/reset)
 * so scripts written for WireMock run unchanged against the admin node.
 *
 * Every handler is one SQL call (sql/install/15_import.sql): translation runs in core
 * inside the database and the smart merge in one transaction, so REST, SQL and the CLI
 * give the same mocks. Options come as query parameters because the body is the
 * foreign document itself; a bad option is a 400 naming the parameter.
 */
#include "rest/handlers.h"

#include <stdio.h>
#include <string.h>

/*
 * The namespace of an import: ?namespace=, else X-Namespace, else the token's, else
 * NULL (SQL then uses the caller's binding or sandbox). A bound token naming another
 * namespace is refused by the database (403). The body is the foreign document, so
 * its "namespace" field is never read.
 */
static const char *
import_namespace(const api_req *req)
{
	const char *ns = api_query(req, "namespace");

	if (ns == NULL || ns[0] == '\0')
		ns = api_header(req, "x-namespace");
	if (ns == NULL || ns[0] == '\0')
		ns = rest_token_ns(req);
	return ns != NULL && ns[0] != '\0' ? ns : NULL;
}

/* A boolean query parameter into opts; false with a 400 naming it when not a boolean. */
static bool
bool_option(api_req *req, api_resp *resp, json_t *opts, const char *param, const char *key)
{
	const char *v = api_query(req, param);

	if (v == NULL)
		return true;
	if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || v[0] == '\0')
		json_object_set_new(opts, key, json_true());
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		json_object_set_new(opts, key, json_false());
	else {
		api_error(req, resp, 400, "validation", "%s: must be true or false, got \"%.40s\"", param, v);
		json_object_set_new(resp->json, "field", json_string(param));
		return false;
	}
	return true;
}

/* options for mockarty.import_*: namespace, source, prune, dryRun, oneOf. New ref or NULL (resp set). */
static json_t *
import_options(api_req *req, api_resp *resp, bool force_dry)
{
	json_t *opts = json_object();
	const char *ns = import_namespace(req), *source = api_query(req, "source");

	if (ns)
		json_object_set_new(opts, "namespace", json_string(ns));
	if (source && *source)
		json_object_set_new(opts, "source", json_string(source));
	if (!bool_option(req, resp, opts, "prune", "prune") || !bool_option(req, resp, opts, "dryRun", "dryRun") ||
	    !bool_option(req, resp, opts, "oneOf", "oneOf")) {
		json_decref(opts);
		return NULL;
	}
	if (force_dry)
		json_object_set_new(opts, "dryRun", json_true());
	return opts;
}

/* Runs mockarty.import_<kind>(doc, options) and answers its report (200; 201 when mocks were created). */
static void
run_import(api_req *req, api_resp *resp, const char *kind, const json_t *doc, bool force_dry, bool preview_shape)
{
	json_t *opts = import_options(req, resp, force_dry), *out = NULL;
	char *doc_text, *opts_text, sql[96];

	if (opts == NULL)
		return;
	doc_text = api_dump(doc);
	opts_text = api_dump(opts);
	json_decref(opts);
	if (doc_text == NULL || opts_text == NULL) {
		free(doc_text);
		free(opts_text);
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	snprintf(sql, sizeof(sql), "SELECT mockarty.import_%s($1::jsonb, $2::jsonb)", kind);
	{
		const char *params[2] = {doc_text, opts_text};

		if (db_json(req, resp, sql, 2, params, &out)) {
			if (preview_shape)
				json_object_set_new(out, "count", json_integer((json_int_t)json_array_size(json_object_get(out, "mocks"))));
			api_json(resp, json_integer_value(json_object_get(out, "created")) > 0 && !force_dry ? 201 : 200, out);
		}
	}
	free(doc_text);
	free(opts_text);
}

static void
import_body(api_req *req, api_resp *resp, const char *kind)
{
	json_t *doc = api_body(req, resp, -1);

	if (doc != NULL)
		run_import(req, resp, kind, doc, false, false);
}

void
rest_import_wiremock(api_req *req, api_resp *resp)
{
	import_body(req, resp, "wiremock");
}

void
rest_import_mockoon(api_req *req, api_resp *resp)
{
	import_body(req, resp, "mockoon");
}

void
rest_import_har(api_req *req, api_resp *resp)
{
	import_body(req, resp, "har");
}

/*
 * POST /api/v1/generators/har[/preview]: GeneratorRequest {"spec":"<HAR text>",
 * "namespace"} (api-compat 2.7); "url" is not fetched (400). The body's namespace is
 * used when no ?namespace= is given.
 */
static void
generator_har(api_req *req, api_resp *resp, bool preview)
{
	json_t *body = rest_body_object(req, resp), *doc;
	const char *spec, *ns;
	json_error_t jerr;

	if (body == NULL)
		return;
	spec = json_string_value(json_object_get(body, "spec"));
	if (spec == NULL) {
		api_error(req, resp, 400, "validation", json_object_get(body, "url")
				? "url: fetching a HAR by URL is not supported; send its text in spec"
				: "spec: the HAR document (text) is required");
		json_object_set_new(resp->json, "field", json_string(json_object_get(body, "url") ? "url" : "spec"));
		return;
	}
	doc = json_loads(spec, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		api_error(req, resp, 400, "validation", "spec: not valid JSON at line %d, column %d: %s", jerr.line,
		          jerr.column, jerr.text);
		json_object_set_new(resp->json, "field", json_string("spec"));
		return;
	}
	ns = json_string_value(json_object_get(body, "namespace"));
	if (ns && *ns && api_query(req, "namespace") == NULL) {
		/* the body's namespace acts as ?namespace= */
		json_t *list = json_pack("[s]", ns);

		json_object_set_new(req->query, "namespace", list);
	}
	run_import(req, resp, "har", doc, preview, preview);
	json_decref(doc);
}

void
rest_generator_har(api_req *req, api_resp *resp)
{
	generator_har(req, resp, false);
}

void
rest_generator_har_preview(api_req *req, api_resp *resp)
{
	generator_har(req, resp, true);
}

/* ------------------------------------------------------------ /__admin (WireMock) */

/* Runs sql with ($1 = namespace or NULL, $2 = arg) and returns the JSON result, or NULL (resp set). */
static json_t *
wiremock_call(api_req *req, api_resp *resp, const char *sql, const char *arg)
{
	const char *params[2] = {import_namespace(req), arg};
	json_t *out = NULL;

	if (!db_json(req, resp, sql, 2, params, &out))
		return NULL;
	return out;
}

/* POST /__admin/mappings: one mapping; answers it with its id (201), as WireMock does. */
void
rest_wiremock_mapping_create(api_req *req, api_resp *resp)
{
	json_t *body = rest_body_object(req, resp), *out;
	char *text;

	if (body == NULL)
		return;
	if (json_object_get(body, "mappings") != NULL) {
		api_error(req, resp, 400, "validation", "mappings: send a list to /__admin/mappings/import");
		json_object_set_new(resp->json, "field", json_string("mappings"));
		return;
	}
	text = api_dump(body);
	out = wiremock_call(req, resp, "SELECT mockarty.wiremock_mappings_save($2::jsonb, $1)", text);
	free(text);
	if (out != NULL) {
		api_json(resp, 201, json_incref(json_array_get(json_object_get(out, "mappings"), 0)));
		json_decref(out);
	}
}

/* POST /__admin/mappings/import: {"mappings":[...]}; answers the import report. */
void
rest_wiremock_mappings_import(api_req *req, api_resp *resp)
{
	json_t *body = rest_body_object(req, resp), *out;
	char *text;

	if (body == NULL)
		return;
	text = api_dump(body);
	out = wiremock_call(req, resp, "SELECT mockarty.wiremock_mappings_save($2::jsonb, $1)", text);
	free(text);
	if (out != NULL) {
		api_json(resp, 200, json_incref(json_object_get(out, "report")));
		json_decref(out);
	}
}

/* GET /__admin/mappings: {"mappings":[...],"meta":{"total":N}}. */
void
rest_wiremock_mappings_list(api_req *req, api_resp *resp)
{
	json_t *out = wiremock_call(req, resp, "SELECT mockarty.wiremock_mappings_list($1) WHERE $2::text IS NULL", NULL);

	if (out != NULL)
		api_json(resp, 200, out);
}

/* GET /__admin/mappings/{id}: the mapping, 404 when unknown in the namespace. */
void
rest_wiremock_mapping_get(api_req *req, api_resp *resp)
{
	json_t *out = wiremock_call(req, resp, "SELECT mockarty.wiremock_mapping_get($2, $1)", req->params[0]);

	if (out == NULL)
		return;
	if (json_is_null(out)) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "mapping \"%s\" does not exist", req->params[0]);
		return;
	}
	api_json(resp, 200, out);
}

/* DELETE /__admin/mappings/{id}: 200 {} (WireMock), 404 when unknown. */
void
rest_wiremock_mapping_delete(api_req *req, api_resp *resp)
{
	json_t *out = wiremock_call(req, resp, "SELECT mockarty.wiremock_mappings_delete($2, $1)", req->params[0]);

	if (out == NULL)
		return;
	if (json_integer_value(out) == 0) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "mapping \"%s\" does not exist", req->params[0]);
		return;
	}
	json_decref(out);
	api_json(resp, 200, json_object());
}

/* DELETE /__admin/mappings and POST /__admin/reset: remove this namespace's WireMock mocks. */
void
rest_wiremock_reset(api_req *req, api_resp *resp)
{
	json_t *out = wiremock_call(req, resp, "SELECT mockarty.wiremock_mappings_delete($2, $1)", NULL);

	if (out == NULL)
		return;
	api_json(resp, 200, json_pack("{s:O}", "deleted", out));
	json_decref(out);
}
