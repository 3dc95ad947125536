/*
 * apitest.h - private to the REST handlers of the API tester and load tests
 * (rest/apitest.c, rest/perf.c): their prototypes and the few helpers both files
 * share (request scope, id lookups that answer 404, strict body parsing, ?wait=).
 *
 * Collections, environments, test runs and perf runs are rows addressed by a
 * global uuid. A request's scope is the namespace its token is bound to, else the
 * namespace it names explicitly (?namespace= or X-Namespace), else none; a row
 * outside the scope is answered exactly like a row that does not exist (404), so
 * a namespace-bound token cannot even learn which ids exist elsewhere.
 */
#ifndef MOCKARTY_ADMIN_REST_APITEST_H
#define MOCKARTY_ADMIN_REST_APITEST_H

#include "node/api.h"

#include <stdbool.h>

/* ---- rest/apitest.c: collections, imports, environments, test runs ---- */
void apitest_collection_list(api_req *req, api_resp *resp);
void apitest_collection_create(api_req *req, api_resp *resp);
void apitest_collection_get(api_req *req, api_resp *resp);
void apitest_collection_update(api_req *req, api_resp *resp);
void apitest_collection_delete(api_req *req, api_resp *resp);
void apitest_collection_batch_delete(api_req *req, api_resp *resp);
void apitest_collection_export(api_req *req, api_resp *resp);
void apitest_collection_duplicate(api_req *req, api_resp *resp);
void apitest_import_postman(api_req *req, api_resp *resp);
void apitest_import_other(api_req *req, api_resp *resp);
void apitest_collection_run(api_req *req, api_resp *resp);
void apitest_collection_run_multiple(api_req *req, api_resp *resp);
void apitest_ui_test_run_start(api_req *req, api_resp *resp);

void apitest_run_list(api_req *req, api_resp *resp);
void apitest_run_get(api_req *req, api_resp *resp);
void apitest_run_delete(api_req *req, api_resp *resp);
void apitest_run_cancel(api_req *req, api_resp *resp);
void apitest_run_export(api_req *req, api_resp *resp);
void apitest_run_report(api_req *req, api_resp *resp);
void apitest_runs_active(api_req *req, api_resp *resp);

void apitest_env_list(api_req *req, api_resp *resp);
void apitest_env_create(api_req *req, api_resp *resp);
void apitest_env_active(api_req *req, api_resp *resp);
void apitest_env_get(api_req *req, api_resp *resp);
void apitest_env_update(api_req *req, api_resp *resp);
void apitest_env_delete(api_req *req, api_resp *resp);
void apitest_env_activate(api_req *req, api_resp *resp);

/* ---- rest/perf.c: load tests ---- */
void perf_run_start_h(api_req *req, api_resp *resp);
void perf_run_stop_h(api_req *req, api_resp *resp);
void perf_result_list(api_req *req, api_resp *resp);
void perf_result_get(api_req *req, api_resp *resp);
void perf_result_delete(api_req *req, api_resp *resp);
void perf_result_compare(api_req *req, api_resp *resp);

/* ---- shared helpers (rest/apitest.c) ---- */

/*
 * The namespace that limits what this request may see: the token's binding, else
 * ?namespace=, else X-Namespace, else NULL (every namespace). Borrowed.
 */
const char *apitest_scope(const api_req *req);

/* True when s is a canonical textual uuid (8-4-4-4-12 hex digits). */
bool apitest_is_uuid(const char *s);

/*
 * Runs "SELECT mockarty.<getter>($1::uuid)" for id and checks the row's
 * "namespace" against the request's scope. what names the kind in the 404
 * message ("collection", "environment", "test run", "perf run"). Returns the row
 * (new reference) or NULL with resp filled (404 for a malformed, unknown or
 * out-of-scope id; the mapped envelope for a database error). getter is a
 * fixed function name, never request input.
 */
json_t *apitest_fetch(api_req *req, api_resp *resp, const char *getter, const char *id, const char *what);

/*
 * DELETE of the row named by req->params[0]: 404 unless mockarty.<getter>(id) shows it in the
 * request's scope, then mockarty.<deleter>(id::uuid); answers {"deleted":true,"id"} or a 404
 * naming what and the id.
 */
void apitest_delete(api_req *req, api_resp *resp, const char *getter, const char *deleter, const char *what);

/* POST actions on one row (cancel, stop, activate): the same scope check, then answers 200 with
 * what mockarty.<fn>(id::uuid) returns. */
void apitest_action(api_req *req, api_resp *resp, const char *getter, const char *fn, const char *what);

/*
 * The request body as a JSON object (new reference). Malformed JSON is a 400
 * naming the byte offset, line and column; an empty body gives an empty object
 * when optional, else a 400. NULL with resp filled on error.
 */
json_t *apitest_body(api_req *req, api_resp *resp, bool optional);

/*
 * Parses ?wait=SECONDS (0..600, default 0) into *secs. Returns false after a 400
 * naming "wait". When *secs > 0 the caller must hold a wait slot
 * (apitest_wait_enter) for as long as it blocks.
 */
bool apitest_wait_param(api_req *req, api_resp *resp, int *secs);

/*
 * A blocking ?wait= occupies one libmicrohttpd pool thread (and stalls the other
 * connections that thread serves), so at most THREADS-1 (at least 1) requests may
 * wait at once. Returns false after a 429 "rate_limit" when every slot is taken;
 * nothing has been created at that point, so the client can simply retry.
 */
bool apitest_wait_enter(api_req *req, api_resp *resp);
void apitest_wait_leave(void);

/*
 * Re-reads the runs of the JSON array runs through mockarty.<getter>() with
 * back-off (20 ms doubling to 500 ms, one pooled connection per poll, returned
 * between polls) until every run's "status" is one of terminal[] (NULL-ended) or
 * secs have passed. Returns the latest array (new reference; runs is consumed).
 * A failed poll ends the wait with the last state read; it is never an error,
 * because the runs exist already and the client needs their ids.
 */
json_t *apitest_wait_runs(api_req *req, json_t *runs, const char *getter, const char *const *terminal,
                          int secs);

#endif /* MOCKARTY_ADMIN_REST_APITEST_H */
