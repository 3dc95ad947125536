/*
 * perf.c - REST surface of load tests: start (the integrations guide's
 * /ui/api/perf/run and the SDKs' /api/v1/perf/run, /run-collection), stop,
 * results (list, get with live progress, delete) and the comparison of two runs.
 *
 * A load test is a "performance" task executed by a runner agent; the database
 * (mockarty.perf_run_*) normalises the configuration and keeps the report, so
 * this file only resolves which collection and environment the request means,
 * checks they are visible to the caller (404 naming the id) and shapes replies.
 * Both body shapes travel unchanged to SQL except "script", which is rewritten
 * to {"collectionId","environmentId"} so a bare id string, the guide's object
 * and a top-level collectionId all mean the same thing.
 */
#include "otel.h"
#include "rest/apitest.h"

#include "rest/handlers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Statuses after which a perf run never changes again (contract section 1). */
static const char *const PERF_TERMINAL[] = {"completed", "failed", "stopped", NULL};

/*
 * A gRPC load test (docs/load-testing.md, "gRPC"): body {"script":{"grpc":{"target","method",
 * "descriptorSet" (base64) | "serverName" (a set stored with POST /api/v1/grpc/descriptors),
 * "message","metadata"?,...}}, "options":{...}} -> 201 PerfRun in the caller's namespace
 * (?namespace / "namespace"). A serverName is replaced by the latest stored set, so the runner
 * gets what it needs in the task and the run keeps the set it was started with.
 */
static void
perf_run_start_grpc(api_req *req, api_resp *resp, json_t *body, int secs)
{
	json_t *cfg = json_deep_copy(body), *grpc, *run = NULL, *runs = NULL, *set = NULL;
	const char *ns = json_string_value(json_object_get(body, "namespace"));
	const char *server;
	char *text = NULL;

	if (ns == NULL || ns[0] == '\0')
		ns = api_namespace(req);
	grpc = json_object_get(json_object_get(cfg, "script"), "grpc");
	server = json_string_value(json_object_get(grpc, "serverName"));
	if (json_is_object(grpc) && server != NULL && json_object_get(grpc, "descriptorSet") == NULL) {
		const char *params[2] = {ns, server};

		if (!db_json(req, resp, "SELECT mockarty.grpc_descriptor_get($1, $2)", 2, params, &set))
			goto done;
		json_object_set(grpc, "descriptorSet", json_object_get(set, "descriptorSet"));
	}
	json_object_del(cfg, "namespace");
	if ((text = api_dump(cfg)) == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		goto done;
	}
	if (secs > 0 && !apitest_wait_enter(req, resp))
		goto done;
	{
		const char *params[2] = {ns, text};

		if (db_json(req, resp, "SELECT mockarty.perf_run_start($1, $2::jsonb)", 2, params, &run)) {
			runs = apitest_wait_runs(req, json_pack("[o]", run), "perf_run_get", PERF_TERMINAL,
			                         secs);
			api_json(resp, 201, json_incref(json_array_get(runs, 0)));
		}
	}
	if (secs > 0)
		apitest_wait_leave();
done:
	json_decref(runs);
	json_decref(set);
	free(text);
	json_decref(cfg);
}

/*
 * POST /ui/api/perf/run, /api/v1/perf/run, /api/v1/perf/run-collection (?wait=):
 * body {"script":{"collectionId","environmentId"?} | "<collection id>",
 * "collectionId"?, "environmentId"?, "name"?, "options"?, "vus"?, "duration"?, ...}
 * -> 201 PerfRun. The run lands in the collection's namespace.
 */
void
perf_run_start_h(api_req *req, api_resp *resp)
{
	json_t *body, *script, *coll = NULL, *env = NULL, *cfg = NULL, *runs = NULL, *s;
	const char *coll_id = NULL, *env_id = NULL, *field = "collectionId";
	char *text = NULL;
	int secs;

	if ((body = apitest_body(req, resp, false)) == NULL)
		return;
	if (!apitest_wait_param(req, resp, &secs))
		goto done;
	script = json_object_get(body, "script");
	if (json_is_object(script) && json_object_get(script, "grpc") != NULL) {
		perf_run_start_grpc(req, resp, body, secs);
		goto done;
	}
	if (json_is_object(script)) {
		coll_id = json_string_value(json_object_get(script, "collectionId"));
		env_id = json_string_value(json_object_get(script, "environmentId"));
		field = "script.collectionId";
	} else if (json_is_string(script)) {
		coll_id = json_string_value(script);
		field = "script";
		if (!apitest_is_uuid(coll_id)) {
			api_error(
			    req, resp, 400, "validation",
			    "script: must be a collection id or {\"collectionId\"} (load tests run API-test "
			    "collections; script text is not supported)");
			json_object_set_new(resp->json, "field", json_string("script"));
			goto done;
		}
	} else if (script != NULL && !json_is_null(script)) {
		api_error(req, resp, 400, "validation",
		          "script: must be an object {\"collectionId\"} or a collection id");
		json_object_set_new(resp->json, "field", json_string("script"));
		goto done;
	}
	if (coll_id == NULL || coll_id[0] == '\0')
		coll_id = json_string_value(json_object_get(body, "collectionId"));
	if (env_id == NULL || env_id[0] == '\0')
		env_id = json_string_value(json_object_get(body, "environmentId"));
	if (env_id != NULL && env_id[0] == '\0')
		env_id = NULL;
	if (coll_id == NULL || coll_id[0] == '\0') {
		api_error(req, resp, 400, "validation",
		          "%s: is required (the API-test collection to load-test)", field);
		json_object_set_new(resp->json, "field", json_string(field));
		goto done;
	}
	if ((coll = apitest_fetch(req, resp, "collection_get", coll_id, "collection")) == NULL)
		goto done;
	if (env_id != NULL &&
	    (env = apitest_fetch(req, resp, "environment_get", env_id, "environment")) == NULL)
		goto done;
	cfg = json_deep_copy(body);
	s = json_pack("{s:s}", "collectionId", coll_id);
	if (env_id != NULL)
		json_object_set_new(s, "environmentId", json_string(env_id));
	json_object_set_new(cfg, "script", s);
	json_object_del(cfg, "namespace");
	{
		/* the runner's task span becomes a child of this request's span (docs/telemetry.md) */
		char tp[OTEL_TRACEPARENT_SIZE];
		json_t *o = json_object_get(cfg, "options");

		if (otel_current() != NULL && otel_span_traceparent(otel_current(), tp)) {
			if (!json_is_object(o)) {
				o = json_object();
				json_object_set_new(cfg, "options", o);
			}
			json_object_set_new(o, "traceparent", json_string(tp));
		}
	}
	if ((text = api_dump(cfg)) == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		goto done;
	}
	if (secs > 0 && !apitest_wait_enter(req, resp))
		goto done;
	{
		const char *params[2] = {json_string_value(json_object_get(coll, "namespace")), text};
		json_t *run = NULL;

		if (db_json(req, resp, "SELECT mockarty.perf_run_start($1, $2::jsonb)", 2, params, &run)) {
			runs = apitest_wait_runs(req, json_pack("[o]", run), "perf_run_get", PERF_TERMINAL,
			                         secs);
			api_json(resp, 201, json_incref(json_array_get(runs, 0)));
		}
	}
	if (secs > 0)
		apitest_wait_leave();
done:
	json_decref(runs);
	free(text);
	json_decref(cfg);
	json_decref(env);
	json_decref(coll);
	json_decref(body);
}

/* POST /api/v1/perf/stop/:id -> PerfRun (a queued run stops at once, a running one is told to). */
void
perf_run_stop_h(api_req *req, api_resp *resp)
{
	apitest_action(req, resp, "perf_run_get", "perf_run_stop", "perf run");
}

/* GET /api/v1/perf-results (?namespace, ?limit, ?offset) -> [PerfRun], newest first. */
void
perf_result_list(api_req *req, api_resp *resp)
{
	const char *l = api_query(req, "limit"), *o = api_query(req, "offset");
	long long lv = 50, ov = 0;
	char limit[24], offset[24];
	json_t *out = NULL;

	if (l != NULL && l[0] != '\0' && !rest_parse_int(l, 1, 1000, &lv)) {
		api_error(req, resp, 400, "validation", "limit: expected 1..1000, got \"%s\"", l);
		json_object_set_new(resp->json, "field", json_string("limit"));
		return;
	}
	if (o != NULL && o[0] != '\0' && !rest_parse_int(o, 0, 100000000, &ov)) {
		api_error(req, resp, 400, "validation", "offset: expected a whole number >= 0, got \"%s\"",
		          o);
		json_object_set_new(resp->json, "field", json_string("offset"));
		return;
	}
	snprintf(limit, sizeof(limit), "%lld", lv);
	snprintf(offset, sizeof(offset), "%lld", ov);
	{
		const char *params[3] = {apitest_scope(req), limit, offset};

		if (db_json(req, resp,
		            "SELECT coalesce(mockarty.perf_run_list($1, $2::int, $3::int), '[]'::jsonb)", 3,
		            params, &out))
			api_json(resp, 200, out);
	}
}

/* GET /api/v1/perf-results/:id (?wait=) -> PerfRun with its live "progress" or final "report". */
void
perf_result_get(api_req *req, api_resp *resp)
{
	json_t *row, *runs;
	int secs;

	if (!apitest_wait_param(req, resp, &secs))
		return;
	if ((row = apitest_fetch(req, resp, "perf_run_get", req->params[0], "perf run")) == NULL)
		return;
	if (secs > 0) {
		if (!apitest_wait_enter(req, resp)) {
			json_decref(row);
			return;
		}
		runs = apitest_wait_runs(req, json_pack("[o]", row), "perf_run_get", PERF_TERMINAL, secs);
		apitest_wait_leave();
		row = json_incref(json_array_get(runs, 0));
		json_decref(runs);
	}
	api_json(resp, 200, row);
}

/* DELETE /api/v1/perf-results/:id -> {"deleted":true,"id"}. */
void
perf_result_delete(api_req *req, api_resp *resp)
{
	apitest_delete(req, resp, "perf_run_get", "perf_run_delete", "perf run");
}

/*
 * A number at report.<a>[.<b>] or NULL. Borrowed. The report is the load
 * generator's report (with the threshold verdict beside it); a runner that
 * nests it as {"report":{...}} is read too.
 */
static json_t *
report_number(const json_t *run, const char *a, const char *b)
{
	json_t *rep = json_object_get(run, "report"), *v;

	if (json_object_get(rep, a) == NULL && json_is_object(json_object_get(rep, "report")))
		rep = json_object_get(rep, "report");
	v = json_object_get(rep, a);

	if (b != NULL)
		v = json_object_get(v, b);
	return json_is_number(v) ? v : NULL;
}

/* {"a":va,"b":vb,"changePercent":(vb-va)/va*100 rounded to 0.01, null when va is 0 or missing}. New. */
static json_t *
diff_entry(json_t *va, json_t *vb)
{
	json_t *change = json_null();

	if (va != NULL && vb != NULL && json_number_value(va) != 0.0) {
		double pct = (json_number_value(vb) - json_number_value(va)) / json_number_value(va) * 100.0;

		change = json_real(round(pct * 100.0) / 100.0);
	}
	return json_pack("{s:O, s:O, s:o}", "a", va != NULL ? va : json_null(), "b",
	                 vb != NULL ? vb : json_null(), "changePercent", change);
}

/*
 * GET /api/v1/perf-results/compare?ids=a,b (or ids=a&ids=b) -> {"runs":[a,b],
 * "diff":{"rps","p50","p95","p99","errorRate"}} with b measured against a. Runs
 * without a report yet give null values. A missing or unknown id is a 400
 * naming it (the ids are query input, not the resource addressed).
 */
void
perf_result_compare(api_req *req, api_resp *resp)
{
	json_t *qv = json_object_get(req->query, "ids"), *v, *runs = NULL;
	char ids[2][64];
	int n = 0;
	size_t i;

	json_array_foreach (qv, i, v) {
		const char *p = json_string_value(v);

		while (p != NULL && *p != '\0') {
			const char *q = strchr(p, ',');
			size_t len = q != NULL ? (size_t)(q - p) : strlen(p);

			if (len > 0) {
				if (n == 2 || len >= sizeof(ids[0])) {
					api_error(req, resp, 400, "validation",
					          "ids: expected exactly two perf run ids (ids=a,b)");
					json_object_set_new(resp->json, "field", json_string("ids"));
					return;
				}
				memcpy(ids[n], p, len);
				ids[n++][len] = '\0';
			}
			p = q != NULL ? q + 1 : NULL;
		}
	}
	if (n < 2) {
		api_error(req, resp, 400, "validation", "ids: %s",
		          n == 0 ? "is required (ids=a,b)" : "a second perf run id is missing (ids=a,b)");
		json_object_set_new(resp->json, "field", json_string("ids"));
		return;
	}
	runs = json_array();
	for (int k = 0; k < 2; k++) {
		json_t *row = apitest_fetch(req, resp, "perf_run_get", ids[k], "perf run");

		if (row == NULL) {
			if (resp->status == 404) {
				api_error(req, resp, 400, "validation", "ids: perf run %s does not exist",
				          ids[k]);
				json_object_set_new(resp->json, "field", json_string("ids"));
			}
			json_decref(runs);
			return;
		}
		json_array_append_new(runs, row);
	}
	{
		json_t *a = json_array_get(runs, 0), *b = json_array_get(runs, 1);

		api_json(resp, 200,
		         json_pack("{s:o, s:{s:o, s:o, s:o, s:o, s:o}}", "runs", runs, "diff", "rps",
		                   diff_entry(report_number(a, "rps", NULL), report_number(b, "rps", NULL)),
		                   "p50",
		                   diff_entry(report_number(a, "latencyMs", "p50"),
		                              report_number(b, "latencyMs", "p50")),
		                   "p95",
		                   diff_entry(report_number(a, "latencyMs", "p95"),
		                              report_number(b, "latencyMs", "p95")),
		                   "p99",
		                   diff_entry(report_number(a, "latencyMs", "p99"),
		                              report_number(b, "latencyMs", "p99")),
		                   "errorRate",
		                   diff_entry(report_number(a, "errorRate", NULL),
		                              report_number(b, "errorRate", NULL))));
	}
}
