/*
 * routes.c - the admin node's own REST routes: health, metrics and the core
 * mock endpoints (create/upsert, list, get, patch, delete, restore, purge).
 * The other /api/v1 endpoints live in routes_more.c.
 *
 * Each handler maps one REST call onto one SQL function (docs/sql-api.md);
 * the only logic here is the part the database cannot do for us: reading the
 * HTTP request (namespace, query parameters, body) and validating a mock with
 * core before it costs a round trip, so the error names the JSON path.
 */
#include "admin.h"

#include "log.h"
#include "pgpool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ health */

static void
format_uptime(char *buf, size_t len)
{
	long s = (long)(time(NULL) - admin_started_at);

	snprintf(buf, len, "%ldh%ldm%lds", s / 3600, (s / 60) % 60, s % 60);
}

static void
rfc3339_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
h_health(api_req *req, api_resp *resp)
{
	api_resp tmp = {0};
	json_t *one = NULL;
	char now[32], up[32];
	bool db_ok = db_json(req, &tmp, "SELECT 1", 0, NULL, &one);
	const char *output = "";
	json_t *body;

	if (!db_ok)
		output = json_string_value(json_object_get(tmp.json, "error"));
	rfc3339_now(now, sizeof(now));
	format_uptime(up, sizeof(up));
	body = json_pack("{s:s, s:s, s:{s:[{s:s, s:s, s:s}]}, s:s, s:I, s:I}", "status",
			 db_ok ? "pass" : "fail", "releaseId", ADMIN_RELEASE_ID, "checks", "database",
			 "status", db_ok ? "pass" : "fail", "time", now, "output", output ? output : "",
			 "uptime", up, "mocksLoaded", (json_int_t)snapshot_count(), "version",
			 (json_int_t)snapshot_version());
	api_json(resp, db_ok ? 200 : 503, body);
	json_decref(tmp.json);
	json_decref(one);
}

static void
h_live(api_req *req, api_resp *resp)
{
	(void)req;
	api_json(resp, 200, json_pack("{s:s}", "status", "pass"));
}

static void
h_ready(api_req *req, api_resp *resp)
{
	if (snapshot_ready() && pgpool_healthy())
		api_json(resp, 200, json_pack("{s:s, s:I}", "status", "pass", "mocksLoaded",
					     (json_int_t)snapshot_count()));
	else
		api_error(req, resp, 503, "unavailable", "not ready");
}

static void
h_metrics(api_req *req, api_resp *resp)
{
	char *text = NULL;
	int n;

	(void)req;
	n = asprintf(&text,
		     "# HELP mockarty_admin_requests_total HTTP requests received.\n"
		     "# TYPE mockarty_admin_requests_total counter\n"
		     "mockarty_admin_requests_total %llu\n"
		     "# HELP mockarty_admin_mock_hits_total Mock traffic requests answered by a mock.\n"
		     "# TYPE mockarty_admin_mock_hits_total counter\n"
		     "mockarty_admin_mock_hits_total %llu\n"
		     "# HELP mockarty_admin_mock_misses_total Mock traffic requests no mock matched.\n"
		     "# TYPE mockarty_admin_mock_misses_total counter\n"
		     "mockarty_admin_mock_misses_total %llu\n"
		     "# HELP mockarty_admin_mocks_loaded Live mocks in the in-memory snapshot.\n"
		     "# TYPE mockarty_admin_mocks_loaded gauge\n"
		     "mockarty_admin_mocks_loaded %zu\n"
		     "# HELP mockarty_admin_snapshot_version Change-log version the snapshot is at.\n"
		     "# TYPE mockarty_admin_snapshot_version gauge\n"
		     "mockarty_admin_snapshot_version %lld\n"
		     "# HELP mockarty_admin_database_up 1 when the database is reachable.\n"
		     "# TYPE mockarty_admin_database_up gauge\n"
		     "mockarty_admin_database_up %d\n",
		     (unsigned long long)atomic_load(&admin_requests_total),
		     (unsigned long long)atomic_load(&admin_mock_hits_total),
		     (unsigned long long)atomic_load(&admin_mock_misses_total), snapshot_count(),
		     (long long)snapshot_version(), snapshot_ready() ? 1 : 0);
	if (n < 0) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	api_json(resp, 200, NULL);
	resp->raw = text;
	resp->raw_len = (size_t)n;
	resp->content_type = "text/plain; version=0.0.4";
}

/* ------------------------------------------------------------------- mocks */

/*
 * POST /api/v1/mocks and POST /mock/create: upsert by id. The mock is checked
 * with core first so the 400 names the JSON path without a round trip; the
 * database validates again (it is the authority for SQL users too).
 */
static void
h_mock_create(api_req *req, api_resp *resp)
{
	json_t *mock = api_body(req, resp, JSON_OBJECT);
	mc_error err = {0};
	const char *params[2];
	char *text;
	json_t *out = NULL;

	if (mock == NULL)
		return;
	if (mc_mock_validate(mock, &err) != MC_OK) {
		api_error(req, resp, 400, "validation", "%s: %s", err.path[0] ? err.path : "$",
			  err.msg);
		json_object_set_new(resp->json, "field", json_string(err.path[0] ? err.path : "$"));
		return;
	}
	text = api_dump(mock);
	if (text == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	params[0] = text;
	params[1] = api_namespace(req);
	if (db_json(req, resp, "SELECT mockarty.mock_save($1::jsonb, $2)", 2, params, &out))
		api_json(resp, 200, out);
	free(text);
}

/* Parses a non-negative integer query parameter; false (400 filled) when malformed. */
static bool
query_int(api_req *req, api_resp *resp, const char *name, long def, long max, char *buf,
	  size_t len)
{
	const char *s = api_query(req, name);
	char *end;
	long v = def;

	if (s != NULL && s[0] != '\0') {
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno != 0 || *end != '\0' || v < 0) {
			api_error(req, resp, 400, "validation", "%s must be a non-negative integer", name);
			return false;
		}
		if (v > max)
			v = max;
	}
	snprintf(buf, len, "%ld", v);
	return true;
}

/* GET /api/v1/mocks: namespace (none given = all), tags (comma-joined or repeated), search, offset, limit. */
static void
h_mock_list(api_req *req, api_resp *resp)
{
	const char *ns = req->token_ns;
	json_t *tags_q = json_object_get(req->query, "tags");
	json_t *tags = json_array();
	char *tags_lit = NULL;
	char off[24], lim[24];
	const char *params[5];
	json_t *out = NULL;
	size_t i;
	json_t *v;

	if (ns == NULL)
		ns = api_query(req, "namespace");
	if (ns == NULL || ns[0] == '\0')
		ns = api_header(req, "x-namespace");
	if (ns != NULL && ns[0] == '\0')
		ns = NULL;
	if (json_object_get(req->query, "tags") == NULL)
		tags_q = json_object_get(req->query, "tags[]");
	json_array_foreach(tags_q, i, v) {
		const char *s = json_string_value(v);

		while (s != NULL && *s) {
			const char *c = strchr(s, ',');
			size_t l = c ? (size_t)(c - s) : strlen(s);

			while (l > 0 && *s == ' ')
				s++, l--;
			while (l > 0 && s[l - 1] == ' ')
				l--;
			if (l > 0)
				json_array_append_new(tags, json_stringn(s, l));
			s = c ? c + 1 : NULL;
		}
	}
	if (json_array_size(tags) > 0)
		tags_lit = api_pg_array(tags);
	json_decref(tags);
	if (!query_int(req, resp, "offset", 0, 1000000000L, off, sizeof(off)) ||
	    !query_int(req, resp, "limit", 50, 1000, lim, sizeof(lim))) {
		free(tags_lit);
		return;
	}
	params[0] = ns;
	params[1] = tags_lit;
	params[2] = api_query(req, "search");
	if (params[2] != NULL && params[2][0] == '\0')
		params[2] = NULL;
	params[3] = off;
	params[4] = lim;
	if (db_json(req, resp, "SELECT mockarty.mock_list($1, $2::text[], $3, $4::int, $5::int)", 5,
		    params, &out))
		api_json(resp, 200, out);
	free(tags_lit);
}

/* True when the token's namespace binding forbids touching this mock (answered 404). */
static bool
hidden_by_token(api_req *req, const json_t *mock)
{
	const char *ns = json_string_value(json_object_get(mock, "namespace"));

	return req->token_ns != NULL && ns != NULL && strcmp(req->token_ns, ns) != 0;
}

/* Fetches the mock (deleted ones included) for the namespace check; NULL with 404 filled. */
static json_t *
load_visible(api_req *req, api_resp *resp, const char *id)
{
	json_t *out = NULL;
	const char *params[1] = {id};

	if (!db_json(req, resp, "SELECT mockarty.mock_get($1, true)", 1, params, &out))
		return NULL;
	if (!json_is_object(out) || hidden_by_token(req, out)) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "mock \"%s\" not found", id);
		return NULL;
	}
	return out;
}

static void
h_mock_get(api_req *req, api_resp *resp)
{
	json_t *m = load_visible(req, resp, req->params[0]);

	if (m != NULL)
		api_json(resp, 200, m);
}

static void
h_mock_patch(api_req *req, api_resp *resp)
{
	json_t *patch = api_body(req, resp, JSON_OBJECT);
	json_t *m, *out = NULL;
	const char *params[2];
	char *text;

	if (patch == NULL)
		return;
	if ((m = load_visible(req, resp, req->params[0])) == NULL)
		return;
	json_decref(m);
	text = api_dump(patch);
	params[0] = req->params[0];
	params[1] = text;
	if (db_json(req, resp, "SELECT mockarty.mock_patch($1, $2::jsonb)", 2, params, &out)) {
		if (json_is_object(out))
			api_json(resp, 200, out);
		else {
			json_decref(out);
			api_error(req, resp, 404, "not_found", "mock \"%s\" not found", req->params[0]);
		}
	}
	free(text);
}

/* DELETE, restore and purge share one shape: call fn(id), 404 when it reports nothing. */
static void
mock_op(api_req *req, api_resp *resp, const char *sql, const char *status)
{
	json_t *m, *out = NULL;
	const char *params[1] = {req->params[0]};

	if ((m = load_visible(req, resp, req->params[0])) == NULL)
		return;
	json_decref(m);
	if (!db_json(req, resp, sql, 1, params, &out))
		return;
	if (json_is_false(out) || json_is_null(out)) {
		json_decref(out);
		api_error(req, resp, 404, "not_found", "mock \"%s\" not found", req->params[0]);
	} else if (json_is_object(out)) {
		api_json(resp, 200, out);
	} else {
		json_decref(out);
		api_json(resp, 200, json_pack("{s:s, s:s}", "status", status, "id", req->params[0]));
	}
}

static void
h_mock_delete(api_req *req, api_resp *resp)
{
	mock_op(req, resp, "SELECT mockarty.mock_delete($1)", "deleted");
}

static void
h_mock_restore(api_req *req, api_resp *resp)
{
	mock_op(req, resp, "SELECT mockarty.mock_restore($1)", "restored");
}

static void
h_mock_purge(api_req *req, api_resp *resp)
{
	mock_op(req, resp, "SELECT mockarty.mock_purge($1)", "purged");
}

const api_route api_routes[] = {
	{"GET", "/health", h_health, true},
	{"GET", "/health/live", h_live, true},
	{"GET", "/health/ready", h_ready, true},
	{"GET", "/metrics", h_metrics, true},
	{"POST", "/api/v1/mocks", h_mock_create, false},
	{"POST", "/mock/create", h_mock_create, false},
	{"GET", "/api/v1/mocks", h_mock_list, false},
	{"GET", "/api/v1/mocks/:id", h_mock_get, false},
	{"PATCH", "/api/v1/mocks/:id", h_mock_patch, false},
	{"DELETE", "/api/v1/mocks/:id", h_mock_delete, false},
	{"POST", "/api/v1/mocks/:id/restore", h_mock_restore, false},
	{"DELETE", "/api/v1/mocks/:id/purge", h_mock_purge, false},
	{NULL, NULL, NULL, false},
};
