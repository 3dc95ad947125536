/*
 * serve.c - mock traffic on the admin node: the admin-specific hooks of the
 * shared mock server (daemons/common/mockserve.c).
 *
 * The hot path (match, static responses, local rendering, request-log
 * capture) lives in mockserve and never waits for the database. What is the
 * admin node's own: a mock that reads or writes shared state (use limits,
 * ordered oneOf, stores, extract) is resolved by mockarty.resolve() in the
 * database, where that state is transactional and every node agrees on it;
 * misses go to the flusher's queue for mockarty.undefined_record; proxying
 * is the shared hook of daemons/common/proxy.c under admin_proxy_cfg.
 */
#include "serving/serving.h"

#include "missrecord.h"
#include "proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Microseconds since t0 (CLOCK_MONOTONIC). */
static int64_t
usec_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000000LL + (t1.tv_nsec - t0->tv_nsec) / 1000;
}

/* An api_req view of a mock request, for db_json(). */
static void
as_api_req(ms_request *req, const char *path, api_req *out)
{
	memset(out, 0, sizeof(*out));
	out->method = req->method;
	out->path = path;
	out->query = ms_request_query(req);
	out->headers = ms_request_headers(req);
	out->body = req->body;
	out->body_len = req->body_len;
	out->body_json = ms_request_body_json(req);
	snprintf(out->request_id, sizeof(out->request_id), "%s", ms_request_id(req));
}

/* Moves an api_resp (error envelope from db_json) into res. */
static void
from_api_resp(api_req *areq, api_resp *resp, ms_result *res)
{
	ms_result_done(res);
	res->response = api_build_response(areq, resp, &res->status);
	res->delay_ms = 0;
	json_decref(resp->json);
	free(resp->raw);
	resp->json = NULL;
	resp->raw = NULL;
}

/* resolve_remote hook: mockarty.resolve() in the database. */
static json_t *
resolve_in_db(void *ctx, ms_request *req, const char *ns, const char *path, const char *mock_id,
	      ms_result *res)
{
	api_req areq;
	api_resp resp = {0};
	char *headers;
	const char *seed = req->header ? req->header(req->transport, "x-mockarty-seed") : NULL;
	char *body = NULL;
	const char *params[7];
	json_t *out = NULL;
	struct timespec t0;

	(void)ctx;
	(void)mock_id;
	as_api_req(req, path, &areq);
	headers = api_dump(areq.headers);
	if (req->body_len > 0)
		body = strndup(req->body, req->body_len);
	params[0] = ns;
	params[1] = req->method;
	params[2] = path;
	params[3] = req->raw_query;
	params[4] = headers ? headers : "{}";
	params[5] = body;
	params[6] = (seed != NULL && seed[0] != '\0') ? seed : NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool ok = db_json(&areq, &resp,
			  "SELECT mockarty.resolve($1, $2, $3, $4, $5::jsonb, $6, $7::bigint)", 7, params,
			  &out);

	admin_metrics_store_op(ADMIN_STORE_RESOLVE, usec_since(&t0));
	if (!ok) {
		from_api_resp(&areq, &resp, res);
		out = NULL;
	} else if (!json_is_object(out)) {
		json_decref(out);
		out = NULL;
		ms_envelope(req, res, 404, "not_found", "no mock matches this request");
	}
	free(headers);
	free(body);
	return out;
}

/* record_miss hook: queued for mockarty.undefined_record, never blocks. */
static void
record_miss(void *ctx, ms_request *req, const char *ns, const char *path)
{
	/* credentials never leave the process, and a huge body is cut here already */
	json_t *b = mr_body(ms_request_body_json(req), req->body, req->body_len);
	json_t *h = mr_headers_redacted(ms_request_headers(req));

	(void)ctx;
	flusher_undefined(ns, req->method, path, h, b, req->body_len < MR_BODY_MAX ? req->body_len : MR_BODY_MAX);
	json_decref(h);
	json_decref(b);
}


/* ctx is the proxy policy: the other hooks ignore it */
static const ms_hooks hooks = {resolve_in_db, record_miss, ms_proxy_hook, &admin_proxy_cfg};

void
serve_mock(ms_request *req, ms_result *out)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ms_serve(admin_store, req, &hooks, out);
	if (out->proxy_call != NULL)
		return; /* counted by serve_mock_proxied() when the upstream answered */
	admin_metrics_mock(out, usec_since(&t0));
	if (out->hit)
		atomic_fetch_add_explicit(&admin_mock_hits_total, 1, memory_order_relaxed);
	else if (out->status == 404)
		atomic_fetch_add_explicit(&admin_mock_misses_total, 1, memory_order_relaxed);
}

/* See admin.h. */
void
serve_mock_proxied(ms_result *out, int64_t usec)
{
	ms_proxy_finish(out->proxy_call, out);
	admin_metrics_mock(out, usec);
	if (out->hit)
		atomic_fetch_add_explicit(&admin_mock_hits_total, 1, memory_order_relaxed);
}
