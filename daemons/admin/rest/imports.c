/*
 * imports.c - REST for mocks imported from other tools: WireMock mappings, Mockoon
 * environments and HAR captures (/api/v1/import/{kind}, /api/v1/generators/har and its
 * preview), OpenAPI / Swagger descriptions (POST /ui/api/openapi/import as multipart,
 * /api/v1/generators/openapi and its preview with the spec's text or a URL fetched under
 * the proxy's address guard), and the WireMock-compatible admin surface
 * (/__admin/mappings, /__admin/reset) so scripts written for WireMock run unchanged.
 *
 * Every handler is one SQL call (sql/install/15_import.sql): translation runs in core
 * inside the database and the smart merge in one transaction, so REST, SQL and the CLI
 * give the same mocks. Options come as query parameters because the body is the
 * foreign document itself; a bad option is a 400 naming the parameter.
 */
#include "rest/handlers.h"

#include "node/multipart.h"
#include "node/node.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

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

/* ------------------------------------------------------------ OpenAPI */

#define OA_MAX_PARTS 64                /* multipart parts read before giving up */
#define OA_FETCH_MAX (64u << 20)       /* bytes of a spec fetched by URL, as a proxied body */
#define OA_FETCH_TIMEOUT_S 30L         /* as a proxied request: 30 s total ... */
#define OA_FETCH_CONNECT_TIMEOUT_S 10L /* ... 10 s to connect */

/*
 * Runs mockarty.import_openapi(spec, opts) and answers its report: 201 when mocks were
 * created, else 200; preview (dryRun forced) adds "count". opts is consumed.
 */
static void
openapi_run(api_req *req, api_resp *resp, const char *spec, json_t *opts, bool preview)
{
	char *opts_text;
	json_t *out = NULL;

	if (preview)
		json_object_set_new(opts, "dryRun", json_true());
	opts_text = api_dump(opts);
	json_decref(opts);
	if (opts_text == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	{
		const char *params[2] = {spec, opts_text};

		if (db_json(req, resp, "SELECT mockarty.import_openapi($1::text, $2::jsonb)", 2, params,
		            &out)) {
			if (preview)
				json_object_set_new(
				    out, "count",
				    json_integer((json_int_t)json_array_size(json_object_get(out, "mocks"))));
			api_json(resp,
			         json_integer_value(json_object_get(out, "created")) > 0 && !preview ? 201
			                                                                             : 200,
			         out);
		}
	}
	free(opts_text);
}

/* Sets opts[key] from a form or body string: booleans for validate/prune/dryRun. False with a 400. */
static bool
openapi_option(api_req *req, api_resp *resp, json_t *opts, const char *key, const char *v, size_t n)
{
	bool is_bool =
	    strcmp(key, "validate") == 0 || strcmp(key, "prune") == 0 || strcmp(key, "dryRun") == 0;

	if (!is_bool) {
		json_object_set_new(opts, key, json_stringn(v, n));
		return true;
	}
	if ((n == 4 && memcmp(v, "true", 4) == 0) || (n == 1 && v[0] == '1') || n == 0)
		json_object_set_new(opts, key, json_true());
	else if ((n == 5 && memcmp(v, "false", 5) == 0) || (n == 1 && v[0] == '0'))
		json_object_set_new(opts, key, json_false());
	else {
		api_error(req, resp, 400, "validation", "%s: must be true or false, got \"%.*s\"", key,
		          (int)(n > 40 ? 40 : n), v);
		json_object_set_new(resp->json, "field", json_string(key));
		return false;
	}
	return true;
}

/* The option names a form field or query parameter may carry. */
static const char *const oa_keys[] = {"namespace", "serverName", "pathPrefix", "validate",
                                      "prune",     "dryRun",     NULL};

/* Query parameters (?namespace=, ?prune=, ...) into opts; false with a 400. */
static bool
openapi_query_options(api_req *req, api_resp *resp, json_t *opts)
{
	for (int i = 0; oa_keys[i]; i++) {
		const char *v = api_query(req, oa_keys[i]);

		if (v != NULL && !openapi_option(req, resp, opts, oa_keys[i], v, strlen(v)))
			return false;
	}
	return true;
}

/*
 * POST /ui/api/openapi/import: multipart/form-data with the document in part "file"
 * and optional parts namespace, serverName, pathPrefix, validate, prune, dryRun (or
 * the same as query parameters; a form field wins). The guide's CI example.
 */
void
rest_openapi_import_form(api_req *req, api_resp *resp)
{
	char boundary[72];
	mp_part parts[OA_MAX_PARTS];
	const mp_part *file;
	const char *msg = NULL;
	json_t *opts;
	char *spec;
	int n;

	if (!mp_boundary(api_header(req, "content-type"), boundary, sizeof(boundary))) {
		api_error(req, resp, 400, "validation",
		          "Content-Type: must be multipart/form-data with a boundary, the OpenAPI document "
		          "in part \"file\" "
		          "(curl -F \"file=@openapi.yaml\")");
		json_object_set_new(resp->json, "field", json_string("Content-Type"));
		return;
	}
	n = req->body ? mp_parse(req->body, req->body_len, boundary, parts, OA_MAX_PARTS, &msg) : -1;
	if (n < 0) {
		api_error(req, resp, 400, "validation", "body: %s",
		          msg ? msg : "the multipart body is empty");
		json_object_set_new(resp->json, "field", json_string("body"));
		return;
	}
	file = mp_get(parts, n, "file");
	if (file == NULL || file->len == 0) {
		api_error(req, resp, 400, "validation",
		          file ? "file: the part \"file\" is empty"
		               : "file: the multipart part \"file\" (the OpenAPI document) is missing");
		json_object_set_new(resp->json, "field", json_string("file"));
		return;
	}
	if (memchr(file->data, '\0', file->len) != NULL) {
		api_error(req, resp, 400, "validation",
		          "file: the document contains a NUL byte (not YAML or JSON text)");
		json_object_set_new(resp->json, "field", json_string("file"));
		return;
	}
	opts = json_object();
	if (!openapi_query_options(req, resp, opts)) {
		json_decref(opts);
		return;
	}
	for (int i = 0; oa_keys[i]; i++) {
		const mp_part *f = mp_get(parts, n, oa_keys[i]);

		if (f != NULL && !openapi_option(req, resp, opts, oa_keys[i], f->data, f->len)) {
			json_decref(opts);
			return;
		}
	}
	if (json_object_get(opts, "namespace") == NULL) {
		const char *ns = import_namespace(req);

		if (ns)
			json_object_set_new(opts, "namespace", json_string(ns));
	}
	spec = strndup(file->data, file->len);
	if (spec == NULL) {
		json_decref(opts);
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	openapi_run(req, resp, spec, opts, false);
	free(spec);
}

/* A spec being fetched: the body so far and what the address guard saw. */
typedef struct {
	char *buf;
	size_t len;
	bool overflow;
	bool refused;
	char refused_addr[INET6_ADDRSTRLEN];
} oa_fetch;

static size_t
oa_fetch_body(char *data, size_t size, size_t nmemb, void *ud)
{
	oa_fetch *f = ud;
	size_t n = size * nmemb;
	char *nb;

	if (f->len + n > OA_FETCH_MAX) {
		f->overflow = true;
		return 0;
	}
	nb = realloc(f->buf, f->len + n + 1);
	if (nb == NULL)
		return 0;
	f->buf = nb;
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	f->buf[f->len] = '\0';
	return n;
}

/* CURLOPT_OPENSOCKETFUNCTION: the proxy's address policy on the address actually used. */
static curl_socket_t
oa_fetch_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	oa_fetch *f = ud;

	(void)purpose;
	if (!atomic_load(&admin_proxy_cfg.allow_private_ips) && ms_addr_is_private(&a->addr)) {
		const void *ip = a->family == AF_INET6
		                     ? (const void *)&((struct sockaddr_in6 *)&a->addr)->sin6_addr
		                     : (const void *)&((struct sockaddr_in *)&a->addr)->sin_addr;

		f->refused = true;
		if (inet_ntop(a->family, ip, f->refused_addr, sizeof(f->refused_addr)) == NULL)
			strcpy(f->refused_addr, "?");
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/*
 * Fetches url (http/https, no redirects: a redirect's host was never checked) with the
 * proxy's bounds: 10 s to connect, 30 s in all, at most OA_FETCH_MAX bytes, and the
 * private-address guard unless ALLOW_PROXY_TO_PRIVATE_IPS=true. Returns the body
 * (malloc'd, NUL-terminated) or NULL after a 400 naming url and the reason.
 */
static char *
oa_fetch_url(api_req *req, api_resp *resp, const char *url)
{
	oa_fetch f = {0};
	CURL *easy;
	CURLcode rc;
	long status = 0;
	char errbuf[CURL_ERROR_SIZE] = "";

	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
		api_error(req, resp, 400, "validation", "url: must be an http or https URL, got \"%.200s\"",
		          url);
		json_object_set_new(resp->json, "field", json_string("url"));
		return NULL;
	}
	easy = curl_easy_init();
	if (easy == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return NULL;
	}
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT, OA_FETCH_TIMEOUT_S);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, OA_FETCH_CONNECT_TIMEOUT_S);
	curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)OA_FETCH_MAX);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, oa_fetch_socket);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &f);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, oa_fetch_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "mockarty-openapi-import");
	rc = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(easy);
	if (f.refused)
		api_error(
		    req, resp, 400, "validation",
		    "url: %.200s resolves to the private address %s; fetching from private addresses is off "
		    "(ALLOW_PROXY_TO_PRIVATE_IPS=false)",
		    url, f.refused_addr);
	else if (f.overflow || rc == CURLE_FILESIZE_EXCEEDED)
		api_error(req, resp, 400, "validation", "url: %.200s answered more than %u MB", url,
		          OA_FETCH_MAX >> 20);
	else if (rc != CURLE_OK)
		api_error(req, resp, 400, "validation", "url: fetching %.200s failed: %s", url,
		          errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else if (status < 200 || status > 299)
		api_error(req, resp, 400, "validation", "url: %.200s answered HTTP %ld", url, status);
	else if (f.len == 0)
		api_error(req, resp, 400, "validation", "url: %.200s answered an empty body", url);
	else if (memchr(f.buf, '\0', f.len) != NULL)
		api_error(req, resp, 400, "validation",
		          "url: %.200s answered a body with a NUL byte (not YAML or JSON text)", url);
	else
		return f.buf;
	json_object_set_new(resp->json, "field", json_string("url"));
	free(f.buf);
	return NULL;
}

/*
 * POST /api/v1/generators/openapi[/preview]: GeneratorRequest (api-compat 2.7)
 * {"spec":"<text>" | "url":"<http(s) URL>", "namespace", "pathPrefix", "serverName",
 * "validate", "prune"}; query parameters of the same names act as defaults. A preview
 * forces dryRun: it answers the report with "count" and writes nothing.
 */
static void
generator_openapi(api_req *req, api_resp *resp, bool preview)
{
	json_t *body = rest_body_object(req, resp), *opts, *v;
	const char *spec, *url, *key;
	char *fetched = NULL;

	if (body == NULL)
		return;
	spec = json_string_value(json_object_get(body, "spec"));
	url = json_string_value(json_object_get(body, "url"));
	if ((spec == NULL || spec[0] == '\0') && (url == NULL || url[0] == '\0')) {
		api_error(req, resp, 400, "validation",
		          "spec: the OpenAPI document (text) or url is required");
		json_object_set_new(resp->json, "field", json_string("spec"));
		return;
	}
	opts = json_object();
	if (!openapi_query_options(req, resp, opts)) {
		json_decref(opts);
		return;
	}
	json_object_foreach (body, key, v) {
		bool known = false;

		for (int i = 0; oa_keys[i]; i++)
			known = known || strcmp(key, oa_keys[i]) == 0;
		if (!known || json_is_null(v) || strcmp(key, "dryRun") == 0)
			continue;
		if ((strcmp(key, "validate") == 0 || strcmp(key, "prune") == 0) ? !json_is_boolean(v)
		                                                                : !json_is_string(v)) {
			api_error(req, resp, 400, "validation", "%s: must be a %s", key,
			          json_is_string(v) || json_is_boolean(v)
			              ? (json_is_string(v) ? "boolean" : "string")
			              : "string or boolean");
			json_object_set_new(resp->json, "field", json_string(key));
			json_decref(opts);
			return;
		}
		if (strcmp(key, "namespace") == 0 && json_string_length(v) == 0)
			continue;
		json_object_set(opts, key, v);
	}
	if (json_object_get(opts, "namespace") == NULL) {
		const char *ns = import_namespace(req);

		if (ns)
			json_object_set_new(opts, "namespace", json_string(ns));
	}
	if (spec == NULL || spec[0] == '\0') {
		fetched = oa_fetch_url(req, resp, url);
		if (fetched == NULL) {
			json_decref(opts);
			return;
		}
		spec = fetched;
	}
	openapi_run(req, resp, spec, opts, preview);
	free(fetched);
}

void
rest_generator_openapi(api_req *req, api_resp *resp)
{
	generator_openapi(req, resp, false);
}

void
rest_generator_openapi_preview(api_req *req, api_resp *resp)
{
	generator_openapi(req, resp, true);
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
