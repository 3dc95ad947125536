/*
 * tester.h - the API-test engine: Postman Collection v2.1 import, translation of
 * common pm.* test scripts into declarative checks, execution with libcurl and
 * reports. Used by the runner-agent (mt_compile + mt_run, mt_render_requests for
 * load tests), by the admin node (import warnings, reports) and by the
 * mockarty-apitest CLI. Contract: /tmp/issue4-contract.md section 3; formats:
 * docs/api-testing.md.
 *
 * Thread safety: every function is reentrant (no global state besides
 * curl_global_init, which the caller or mt_run performs once).
 */
#ifndef MOCKARTY_TESTER_H
#define MOCKARTY_TESTER_H

#include <stddef.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Compiles a Postman v2.1 collection (the document itself) into a plan (JSON, see
 * docs/api-testing.md). Returns a new reference, or NULL with err[errcap] naming the
 * bad field ("item[3].request.url: ..."). Script lines that cannot be translated are
 * kept in the plan as "skipped" entries on their request. */
json_t *mt_compile(const json_t *postman, char *err, size_t errcap);

typedef struct mt_run_opts {
	int timeout_ms;              /* per request; 0 = 30000 */
	const volatile int *cancel;  /* nonzero: stop before the next request; result "cancelled": true */
	void (*on_request)(void *ud, size_t done, size_t total, const json_t *request_result); /* may be NULL */
	void *ud;
} mt_run_opts;

/* Runs a plan: requests in order with libcurl, {{variables}} from env (a {k:v}
 * object; not modified), assertions, captures. opts may be NULL. Returns the result
 * document (docs/api-testing.md), never NULL except out of memory. */
json_t *mt_run(const json_t *plan, const json_t *env, const mt_run_opts *opts);

/* For load tests: every request of the plan with {{variables}} substituted from env
 * (and the plan's own collection variables) and auth applied, as
 * [{"name","method","url","headers":["Name: value",...],"body":"..."}]. New
 * reference; NULL + err when a request cannot be rendered. */
json_t *mt_render_requests(const json_t *plan, const json_t *env, char *err, size_t errcap);

/* Reports of a TestRun JSON (contract section 1 shape, results[] from the result
 * document). malloc'd NUL-terminated text; NULL only when out of memory. */
char *mt_report_junit(const json_t *test_run);
char *mt_report_markdown(const json_t *test_run);

/* Extras (not in the contract, used by the CLI and the tests). */

/* Translates one script (the text of an event's exec) into plan steps; never fails:
 * lines it cannot translate become skip steps. kind is "test" or "prerequest"; source
 * labels the skipped entries ("test", "collection prerequest", ...). New reference. */
json_t *mt_translate_script(const char *src, const char *kind, const char *source);

/* chai deep equality (eql) of two JSON values: key order ignored, numbers by value. */
int mt_json_deep_equal(const json_t *a, const json_t *b);

/* Replaces {{name}} in tmpl from vars ({k:v}; non-string values in their JS string
 * form) and the dynamic variables {{$guid}}, {{$timestamp}}, {{$isoTimestamp}},
 * {{$randomInt}}; unknown names stay as written. malloc'd result. */
char *mt_substitute(const char *tmpl, const json_t *vars);

/* Wraps a result document of mt_run into a TestRun-shaped object for the report
 * functions (collectionName, status passed/failed/cancelled, counts, duration). */
json_t *mt_result_as_test_run(const json_t *result, const char *collection_name);

#ifdef __cplusplus
}
#endif
#endif
