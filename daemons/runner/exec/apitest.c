/*
 * exec/apitest.c - runs an api_test task: the payload's Postman collection is
 * compiled and executed by the API-test engine (daemons/tester, mt_compile +
 * mt_run) against the payload's environment.
 *
 * Constraints: results must survive a runner that dies mid-run only as far as
 * the lease allows, and a user watching the run wants to see it move - so
 * every finished request is reported as it happens: progress (done/total) for
 * the next heartbeat and one result chunk (sequence = request index) for
 * AppendResults. The final result document is the engine's, unchanged, so the
 * SQL TestRun view reads exactly what the engine wrote. Cancellation and lost
 * leases reach the engine through the task's stop flag, checked before each
 * request.
 */
#include "runner.h"
#include "exec/exec.h"

#include <stdio.h>
#include <string.h>

#if RN_HAVE_TESTER
#include "tester.h"

typedef struct api_ctx {
	const rn_exec *x;
	long passed, failed, skipped;
} api_ctx;

/* Counts the assertion outcomes of one request result into ctx. */
static void
count_assertions(api_ctx *ctx, const json_t *rr)
{
	const json_t *as = json_object_get(rr, "assertions");
	size_t i;
	json_t *a;

	json_array_foreach (as, i, a) {
		if (json_is_true(json_object_get(a, "skipped")))
			ctx->skipped++;
		else if (json_is_true(json_object_get(a, "passed")))
			ctx->passed++;
		else
			ctx->failed++;
	}
}

/* mt_run's per-request callback: progress + one result chunk. */
static void
on_request(void *ud, size_t done, size_t total, const json_t *rr)
{
	api_ctx *ctx = ud;
	json_t *p;

	if (rr != NULL)
		count_assertions(ctx, rr);
	p = json_pack("{s:s, s:I, s:I, s:f, s:I, s:I, s:I}", "phase", "running", "done", (json_int_t)done,
	              "total", (json_int_t)total, "percent",
	              total ? 100.0 * (double)done / (double)total : 0.0, "passedTests",
	              (json_int_t)ctx->passed, "failedTests", (json_int_t)ctx->failed, "skippedTests",
	              (json_int_t)ctx->skipped);
	if (p != NULL)
		ctx->x->set_progress(ctx->x->owner, p);
	if (rr != NULL)
		ctx->x->add_chunk(ctx->x->owner, json_deep_copy(rr));
}

void
exec_apitest(const rn_exec *x, rn_outcome *out)
{
	const json_t *pl = x->payload;
	const json_t *coll = json_object_get(pl, "collection");
	const json_t *env = json_object_get(pl, "environment");
	const json_t *opts = json_object_get(pl, "options");
	const json_t *tmo;
	json_t *plan, *doc, *empty = NULL;
	char err[400] = "";
	mt_run_opts ro = {0};
	api_ctx ctx = {.x = x};
	int64_t timeout = 0;

	if (!json_is_object(coll)) {
		out->status = "failed";
		snprintf(out->error, sizeof(out->error),
		         "payload.collection: expected the Postman collection object");
		return;
	}
	if (!json_is_object(env))
		env = empty = json_object(); /* no environment: run with the collection's own variables */
	tmo = json_object_get(opts, "timeout");
	if (tmo == NULL)
		tmo = json_object_get(opts, "timeoutMs");
	if (tmo != NULL) {
		timeout = rn_parse_duration(tmo);
		if (timeout < 0 || timeout > 600000) {
			out->status = "failed";
			snprintf(out->error, sizeof(out->error),
			         "payload.options.timeout: expected milliseconds or a duration like \"5s\" "
			         "up to 10m");
			json_decref(empty);
			return;
		}
	}
	plan = mt_compile(coll, err, sizeof(err));
	if (plan == NULL) {
		out->status = "failed";
		snprintf(out->error, sizeof(out->error), "collection: %s",
		         err[0] ? err : "cannot be compiled");
		json_decref(empty);
		return;
	}
	x->set_progress(
	    x->owner, json_pack("{s:s, s:I, s:f}", "phase", "running", "done", (json_int_t)0, "percent", 0.0));
	ro.timeout_ms = (int)timeout;
	ro.cancel = x->stop;
	ro.on_request = on_request;
	ro.ud = &ctx;
	doc = mt_run(plan, env, &ro);
	json_decref(plan);
	json_decref(empty);
	if (doc == NULL) {
		out->status = "failed";
		snprintf(out->error, sizeof(out->error), "out of memory running the collection");
		return;
	}
	out->status = json_is_true(json_object_get(doc, "cancelled")) || rn_exec_should_stop(x) ? "cancelled"
	                                                                                     : "completed";
	out->summary = json_pack("{s:O?, s:O?, s:O?, s:O?}", "totalTests", json_object_get(doc, "totalTests"),
	                         "passedTests", json_object_get(doc, "passedTests"), "failedTests",
	                         json_object_get(doc, "failedTests"), "skippedTests",
	                         json_object_get(doc, "skippedTests"));
	out->result = doc;
}

#else /* !RN_HAVE_TESTER */

void
exec_apitest(const rn_exec *x, rn_outcome *out)
{
	(void)x;
	out->status = "failed";
	snprintf(
	    out->error, sizeof(out->error),
	    "this runner-agent was built without the API-test engine (daemons/tester was missing at build "
	    "time); rebuild it with `make -C daemons/runner`");
}

#endif
