/*
 * serving/http.c - the resolver's HTTP front on HTTP_PORT: mock traffic of its one
 * namespace through mockserve, /health/live, /health/ready and /metrics.
 *
 * Constraints that shaped it:
 *  - libmicrohttpd 0.9.75 answers "Connection: close" when a response is
 *    queued on the first access-handler call (before MHD finished the
 *    request), which costs keep-alive and two thirds of the throughput. So
 *    the first call only records state and the response is queued on the call
 *    that reports the upload finished.
 *  - a pool thread serves many connections, so nothing here sleeps: mock
 *    delays and X-Mockarty-Min-Version waits suspend the connection and
 *    waiter.c resumes it; a proxy mock suspends it while common/proxy.c's
 *    thread waits for the upstream. The only blocking call is
 *    Coordinator.Resolve for stateful mocks (bounded by its deadline).
 *  - request bodies are buffered under the process's budget (bufbudget.h,
 *    REQUEST_BUFFER_BUDGET_MB): a body that does not fit is answered 503 with
 *    Retry-After as soon as that is known.
 *  - the resolver serves NAMESPACE only: a request addressed to another
 *    namespace (/stubs/{ns}/ or X-Namespace) gets a 404 envelope saying so,
 *    and a request naming none is in NAMESPACE (not "sandbox").
 */
#include "resolver.h"
#include "dashboard/dashboard.h"
#include "link/link.h"
#include "serving/serving.h"

#include "bufbudget.h"
#include "eventq.h"
#include "log.h"
#include "metrics.h"
#include "missrecord.h"
#include "mockserve.h"
#include "otel.h"
#include "proxy.h"

#include <ctype.h>
#include <stdint.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

extern ms_store *rs_store;

enum conn_state { ST_NEW = 0, ST_READING, ST_WAIT_VERSION, ST_PROXY, ST_DELAY, ST_DONE };

typedef struct conn_req {
	enum conn_state state;
	char *raw_uri;
	char *body;
	size_t len, cap;
	size_t reserved; /* bytes held in the buffer budget (bufbudget.h) */
	bool too_large;
	struct MHD_Connection *conn;
	int wake; /* set by waiter.c: 1 = version reached, 2 = deadline */
	uint64_t min_version;
	ms_result res; /* a delayed response waiting for its deadline, or a proxy call (proxy_call) */
	bool has_res;
	bool remote; /* answered through Coordinator.Resolve */
	otel_span span;  /* the request's server span (otel.h); not started when tracing is off */
	int otel_status; /* the status sent, for the span */
} conn_req;

#define BODY_LIMIT (5u * 1024 * 1024)

static struct MHD_Daemon *daemon_handle;
static atomic_int in_flight;

/* ------------------------------------------------------------ small helpers */

/* ms_request transport: headers straight from MHD (case-insensitive lookup). */
static const char *
tr_header(void *transport, const char *name)
{
	conn_req *cr = transport;
	const char *v = MHD_lookup_connection_value(cr->conn, MHD_HEADER_KIND, name);

	/* a request naming no namespace is in ours, not in "sandbox" */
	if (v == NULL && strcasecmp(name, "x-namespace") == 0)
		return rs_cfg.ns;
	return v;
}

struct each_ctx {
	ms_header_cb cb;
	void *arg;
};

static enum MHD_Result
each_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct each_ctx *e = cls;

	(void)kind;
	e->cb(e->arg, key, value ? value : "");
	return MHD_YES;
}

static void
tr_each_header(void *transport, ms_header_cb cb, void *arg)
{
	conn_req *cr = transport;
	struct each_ctx e = {cb, arg};

	MHD_get_connection_values(cr->conn, MHD_HEADER_KIND, each_one, &e);
}

static enum MHD_Result
queue_plain(struct MHD_Connection *conn, int status, const char *ctype, char *text, bool must_free)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(text), text, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (r == NULL) {
		if (must_free)
			free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	ret = MHD_queue_response(conn, (unsigned int)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
queue_result(struct MHD_Connection *conn, ms_result *res)
{
	enum MHD_Result ret = MHD_NO;

	if (res->response != NULL)
		ret = MHD_queue_response(conn, (unsigned int)res->status, res->response);
	/* every mock-traffic answer passes here: misses and refusals are route "unmatched" */
	mt_resolution(res->route_slot, res->status);
	if (res->status >= 500)
		atomic_fetch_add(&st_errors, 1);
	ms_result_done(res);
	return ret;
}

/* Answers with an error envelope (no ms_request at hand). */
static enum MHD_Result
queue_envelope(conn_req *cr, int status, const char *code, const char *msg)
{
	ms_request req = {0};
	ms_result res = {0};
	enum MHD_Result ret;

	req.method = "GET";
	req.path = "/";
	req.raw_query = "";
	req.header = tr_header;
	req.each_header = tr_each_header;
	req.transport = cr;
	ms_envelope(&req, &res, status, code, msg);
	cr->otel_status = status;
	ret = queue_result(cr->conn, &res);
	ms_request_clear(&req);
	return ret;
}

/* The buffer budget refused this request's body: 503 + Retry-After naming the setting. */
static enum MHD_Result
queue_over_budget(conn_req *cr)
{
	ms_request req = {0};
	ms_result res = {0};
	char msg[200];
	enum MHD_Result ret;

	free(cr->body);
	cr->body = NULL;
	cr->len = cr->cap = 0;
	bufbudget_release(cr->reserved);
	cr->reserved = 0;
	cr->state = ST_DONE;
	req.header = tr_header;
	req.each_header = tr_each_header;
	req.transport = cr;
	ms_envelope(&req, &res, 503, "unavailable", bufbudget_message(msg, sizeof(msg)));
	if (res.response != NULL)
		MHD_add_response_header(res.response, "Retry-After", "1");
	cr->otel_status = 503;
	ret = queue_result(cr->conn, &res);
	ms_request_clear(&req);
	return ret;
}

/* ms_proxy_start() done callback, on the proxy thread: the upstream answered or failed. */
static void
proxy_done(void *arg)
{
	MHD_resume_connection(arg);
}

/* --------------------------------------------------------------- the hooks */


/* Coordinator responses are mc_resolve_response objects; tolerate the short spelling too. */
static json_t *
normalize_response(json_t *r)
{
	if (json_object_get(r, "statusCode") == NULL && json_object_get(r, "status") != NULL)
		json_object_set(r, "statusCode", json_object_get(r, "status"));
	if (json_object_get(r, "payload") == NULL && json_object_get(r, "body") != NULL)
		json_object_set(r, "payload", json_object_get(r, "body"));
	if (json_object_get(r, "delay") == NULL && json_object_get(r, "delay_ms") != NULL)
		json_object_set(r, "delay", json_object_get(r, "delay_ms"));
	return r;
}

static json_t *
hook_resolve_remote(void *ctx, ms_request *req, const char *ns, const char *path, const char *mock_id,
                    ms_result *res)
{
	conn_req *cr = req->transport;
	char err[600], *headers;
	const char *seed = req->header(req->transport, "x-mockarty-seed");
	json_t *resp = NULL;
	int rc;
	struct timespec t0, t1;

	(void)ctx;
	(void)mock_id;
	cr->remote = true;
	headers = json_dumps(ms_request_headers(req), JSON_COMPACT);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = coord_resolve(ns, req->method, path, req->raw_query, headers ? headers : "{}", req->body,
	                   req->body_len, seed ? strtoull(seed, NULL, 10) : 0, &resp, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stats_observe_remote((t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000);
	free(headers);
	if (rc == 1)
		return normalize_response(resp);
	if (rc == 0) {
		ms_envelope(req, res, 404, "not_found", "no mock matches this request");
		return NULL;
	}
	log_warn("stateful mock %s not resolved: %s", mock_id ? mock_id : "?", err);
	ms_envelope(req, res, 503, "unavailable",
	            "this mock keeps shared state and the coordinator is unreachable; retry");
	return NULL;
}

static void
hook_record_miss(void *ctx, ms_request *req, const char *ns, const char *path)
{
	/* credentials never leave the process, and a huge body is cut here already */
	json_t *b = mr_body(ms_request_body_json(req), req->body, req->body_len);
	json_t *h = mr_headers_redacted(ms_request_headers(req));

	(void)ctx;
	atomic_fetch_add(&st_misses, 1);
	report_undefined(ns, req->method, path, h, b);
	json_decref(h);
	json_decref(b);
}

/* ALLOW_PROXY_TO_PRIVATE_IPS and PROXY_MAX_CONCURRENT, stored by http_start() */
static ms_proxy_config proxy_cfg;

/* ctx is the proxy policy: the other hooks ignore it */
static const ms_hooks hooks = {
    .resolve_remote = hook_resolve_remote,
    .record_miss = hook_record_miss,
    .proxy = ms_proxy_hook,
    .ctx = &proxy_cfg,
};

/* --------------------------------------------------------- health, metrics */

static enum MHD_Result
serve_health(struct MHD_Connection *conn, bool ready_check)
{
	rs_sync_status ss;
	char up[64];
	json_t *j;
	char *text;
	int status = 200;

	sync_status(&ss);
	uptime_text(up, sizeof(up));
	if (ready_check && !ss.ready)
		status = 503;
	j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:I}", "status", status == 200 ? "ok" : "not_ready",
	              "releaseId", RESOLVER_RELEASE_ID, "uptime", up, "coordinator", nl_state_names[ss.link.state],
	              "snapshotLoaded", ss.ready, "appliedVersion", (json_int_t)ss.applied_version);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return MHD_NO;
	return queue_plain(conn, status, "application/json", text, true);
}

/* ------------------------------------------------------------ mock traffic */

/* The namespace a request addresses explicitly, or NULL: /stubs/{ns}/ wins over X-Namespace. */
static bool
foreign_namespace(conn_req *cr, const char *path, char *ns, size_t cap)
{
	const char *h;

	if (strncmp(path, "/stubs/", 7) == 0 && path[7] != '\0' && path[7] != '/') {
		const char *seg = path + 7, *slash = strchr(seg, '/');
		size_t l = slash ? (size_t)(slash - seg) : strlen(seg);

		snprintf(ns, cap, "%.*s", (int)(l < cap ? l : cap - 1), seg);
		return strcmp(ns, rs_cfg.ns) != 0;
	}
	h = MHD_lookup_connection_value(cr->conn, MHD_HEADER_KIND, "X-Namespace");
	if (h != NULL && h[0] != '\0') {
		snprintf(ns, cap, "%s", h);
		return strcmp(ns, rs_cfg.ns) != 0;
	}
	return false;
}

static enum MHD_Result answer_or_delay(conn_req *cr, ms_result *res_in);

/* Serves one complete mock-traffic request; may suspend for a delay or an upstream. */
static enum MHD_Result
serve_traffic(conn_req *cr, const char *method)
{
	const char *q = strchr(cr->raw_uri, '?');
	size_t plen = q ? (size_t)(q - cr->raw_uri) : strlen(cr->raw_uri);
	char *path = ms_pct_decode(cr->raw_uri, plen);
	char ns[160], msg[300];
	ms_request req = {0};
	ms_result res = {0};
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (path == NULL)
		return MHD_NO;
	atomic_fetch_add(&st_requests, 1);
	if (foreign_namespace(cr, path, ns, sizeof(ns))) {
		free(path);
		snprintf(msg, sizeof(msg), "this resolver serves namespace \"%s\", not \"%s\"", rs_cfg.ns,
		         ns);
		return queue_envelope(cr, 404, "not_found", msg);
	}
	if (!sync_ready()) {
		free(path);
		return queue_envelope(cr, 503, "unavailable",
		                      "no snapshot from the coordinator yet; retry shortly");
	}
	req.method = method;
	req.path = path;
	req.raw_query = q ? q + 1 : "";
	req.body = cr->body;
	req.body_len = cr->len;
	req.header = tr_header;
	req.each_header = tr_each_header;
	req.transport = cr;
	if (otel_enabled()) {
		otel_span *prev = otel_set_current(&cr->span); /* proxy and link/coord.c read it */

		ms_serve(rs_store, &req, &hooks, &res);
		otel_set_current(prev);
		cr->otel_status = res.status;
	} else {
		ms_serve(rs_store, &req, &hooks, &res);
	}
	ms_request_clear(&req);
	free(path);
	if (res.hit) {
		if (cr->remote)
			atomic_fetch_add(&st_remote, 1);
		else
			atomic_fetch_add(&st_hits, 1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stats_observe((t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000);
	if (res.proxy_call != NULL) { /* the body stays in cr until request_completed */
		cr->res = res;
		cr->has_res = true;
		cr->state = ST_PROXY;
		MHD_suspend_connection(cr->conn);
		ms_proxy_start(res.proxy_call, proxy_done, cr->conn);
		return MHD_YES;
	}
	return answer_or_delay(cr, &res);
}

/*
 * Queues res now, or when it carries a mock delay keeps it in cr and
 * suspends the connection until waiter.c wakes it at the deadline.
 */
static enum MHD_Result
answer_or_delay(conn_req *cr, ms_result *res_in)
{
	ms_result res = *res_in;
	enum MHD_Result ret;

	if (res.delay_ms > 0 && res.response != NULL) {
		cr->res = res;
		cr->has_res = true;
		cr->state = ST_DELAY;
		cr->wake = 0;
		MHD_suspend_connection(cr->conn);
		if (!waiter_add(cr->conn, rs_now_ms() + res.delay_ms, 0, &cr->wake))
			MHD_resume_connection(cr->conn); /* shutting down: answer at once */
		return MHD_YES;
	}
	ret = queue_result(cr->conn, &res);
	cr->state = ST_DONE;
	return ret;
}

/* Parses X-Mockarty-Min-Version; 0 when absent or not a number. */
static uint64_t
min_version_of(struct MHD_Connection *conn)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Mockarty-Min-Version");
	char *end;
	unsigned long long n;

	if (v == NULL || v[0] == '\0')
		return 0;
	n = strtoull(v, &end, 10);
	return (*end == '\0') ? (uint64_t)n : 0;
}

/*
 * Starts the server span of a mock-traffic request under the caller's
 * traceparent (a malformed or absent one starts a new trace); it ends in
 * request_completed(), so a delayed answer is inside it.
 */
static void
span_begin(conn_req *cr, const char *method, size_t plen)
{
	otel_span_start_remote(&cr->span, "mock resolution", OTEL_KIND_SERVER,
	                       MHD_lookup_connection_value(cr->conn, MHD_HEADER_KIND, "traceparent"));
	if (otel_recording(&cr->span)) {
		char target[128];

		snprintf(target, sizeof(target), "%.*s", (int)(plen < 127 ? plen : 127), cr->raw_uri);
		otel_span_set_str(&cr->span, "http.method", method);
		otel_span_set_str(&cr->span, "http.target", target);
		otel_span_set_str(&cr->span, "mockarty.namespace", rs_cfg.ns);
		otel_span_set_str(&cr->span, "mockarty.resolver", rs_cfg.resolver_name);
	}
}

int (*http_extra_get)(struct MHD_Connection *conn, const char *uri, size_t plen, enum MHD_Result *ret);

/* The request is complete: route it. */
static enum MHD_Result
handle_complete(conn_req *cr, const char *method)
{
	const char *uri = cr->raw_uri;
	size_t plen = strcspn(uri, "?");

	if (cr->too_large) {
		cr->state = ST_DONE;
		return queue_envelope(cr, 413, "validation", "request body exceeds the limit of 5 MB");
	}
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		enum MHD_Result extra = MHD_NO;

		if (http_extra_get != NULL && http_extra_get(cr->conn, uri, plen, &extra)) {
			cr->state = ST_DONE;
			return extra;
		}
		if (plen == 12 && strncmp(uri, "/health/live", 12) == 0) {
			cr->state = ST_DONE;
			return serve_health(cr->conn, false);
		}
		if (plen == 13 && strncmp(uri, "/health/ready", 13) == 0) {
			cr->state = ST_DONE;
			return serve_health(cr->conn, true);
		}
		if (plen == 8 && strncmp(uri, "/metrics", 8) == 0) {
			char *t = metrics_text();

			cr->state = ST_DONE;
			return t ? queue_plain(cr->conn, 200, "text/plain; version=0.0.4", t, true) : MHD_NO;
		}
	}
	if (otel_enabled())
		span_begin(cr, method, plen);
	cr->min_version = min_version_of(cr->conn);
	if (cr->min_version > 0 && sync_applied_version() < cr->min_version) {
		atomic_fetch_add(&st_waits, 1);
		cr->state = ST_WAIT_VERSION;
		cr->wake = 0;
		MHD_suspend_connection(cr->conn);
		if (!waiter_add(cr->conn, rs_now_ms() + rs_cfg.min_version_wait_ms, cr->min_version,
		                &cr->wake))
			MHD_resume_connection(cr->conn);
		return MHD_YES;
	}
	if (cr->min_version > 0)
		atomic_fetch_add(&st_waits, 1);
	return serve_traffic(cr, method);
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
               const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	conn_req *cr = *con_cls;

	(void)cls;
	(void)version;
	if (cr == NULL) {
		cr = calloc(1, sizeof(*cr));
		if (cr == NULL)
			return MHD_NO;
		cr->raw_uri = strdup(url);
		atomic_fetch_add(&in_flight, 1);
		*con_cls = cr;
	}
	cr->conn = conn;
	switch (cr->state) {
	case ST_NEW: {
		const char *cl =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		unsigned long long declared = cl != NULL ? strtoull(cl, NULL, 10) : 0;

		cr->state = ST_READING;
		if (declared > BODY_LIMIT)
			cr->too_large = true;
		else if (declared > 0) {
			int r = ms_body_reserve(&cr->body, &cr->cap, &cr->reserved, (size_t)declared);

			if (r < 0) /* a refusal closes the connection anyway: answer before the body */
				return queue_over_budget(cr);
			if (r == 0)
				return MHD_NO;
		}
		return MHD_YES; /* never queue a success here: see the banner */
	}
	case ST_READING:
		if (*upload_data_size > 0) {
			size_t n = *upload_data_size;

			*upload_data_size = 0;
			if (cr->too_large || cr->len + n > BODY_LIMIT) {
				cr->too_large = true;
				free(cr->body);
				cr->body = NULL;
				cr->len = cr->cap = 0;
				bufbudget_release(cr->reserved);
				cr->reserved = 0;
				return MHD_YES;
			}
			switch (ms_body_append_budget(&cr->body, &cr->len, &cr->cap, &cr->reserved, upload_data, n)) {
			case 1:
				return MHD_YES;
			case -1:
				return queue_over_budget(cr);
			default:
				return MHD_NO;
			}
		}
		return handle_complete(cr, method);
	case ST_WAIT_VERSION:
		if (sync_applied_version() >= cr->min_version)
			return serve_traffic(cr, method);
		{
			char msg[256];

			atomic_fetch_add(&st_wait_timeouts, 1);
			snprintf(msg, sizeof(msg),
			         "version %llu not applied within MIN_VERSION_WAIT_MS=%d ms (applied: %llu); "
			         "retry, or raise MIN_VERSION_WAIT_MS",
			         (unsigned long long)cr->min_version, rs_cfg.min_version_wait_ms,
			         (unsigned long long)sync_applied_version());
			cr->state = ST_DONE;
			return queue_envelope(cr, 503, "unavailable", msg);
		}
	case ST_PROXY: { /* resumed by proxy_done */
		ms_result res = cr->res;

		cr->has_res = false;
		ms_proxy_finish(res.proxy_call, &res);
		cr->otel_status = res.status;
		return answer_or_delay(cr, &res);
	}
	case ST_DELAY:
		cr->state = ST_DONE;
		cr->has_res = false;
		return queue_result(conn, &cr->res);
	case ST_DONE:
	default:
		*upload_data_size = 0;
		return MHD_YES;
	}
}

static void *
uri_logger(void *cls, const char *uri, struct MHD_Connection *conn)
{
	conn_req *cr;

	(void)cls;
	/* answered and closed here: the HTTP library could not index this query (mockserve.h) */
	if (ms_refuse_crowded_query(conn, uri, rs_cfg.http_conn_memory ? rs_cfg.http_conn_memory : 24576))
		return NULL;
	cr = calloc(1, sizeof(*cr));
	if (cr != NULL) {
		cr->raw_uri = strdup(uri ? uri : "/");
		cr->conn = conn;
		if (cr->raw_uri == NULL) {
			free(cr);
			return NULL;
		}
		atomic_fetch_add(&in_flight, 1);
	}
	return cr;
}

static void
request_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	conn_req *cr = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (cr == NULL)
		return;
	atomic_fetch_sub(&in_flight, 1);
	if (otel_enabled()) {
		if (cr->otel_status > 0)
			otel_span_set_http_status(&cr->span, cr->otel_status);
		if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
			otel_span_set_error(&cr->span, "connection ended before the response was sent");
		otel_span_end(&cr->span);
	}
	if (cr->has_res) {
		ms_proxy_call_free(cr->res.proxy_call); /* only when never started */
		ms_result_done(&cr->res);
	}
	bufbudget_release(cr->reserved);
	free(cr->body);
	free(cr->raw_uri);
	free(cr);
	*con_cls = NULL;
}

bool
http_start(void)
{
	rs_started_at = time(NULL);
	atomic_store(&proxy_cfg.allow_private_ips, rs_cfg.allow_private_ips);
	atomic_store(&proxy_cfg.max_concurrent, rs_cfg.proxy_max_concurrent);
	bufbudget_set_limit((size_t)rs_cfg.buffer_budget_mb << 20);
	daemon_handle = rs_mhd_start(rs_cfg.http_bind_addr, rs_cfg.http_port, rs_cfg.threads, access_handler,
	                             request_completed, uri_logger);
	if (daemon_handle == NULL)
		return false;
	log_info("serving namespace %s on http://%s:%d (%d threads)", rs_cfg.ns, rs_cfg.http_bind_addr,
	         rs_cfg.http_port, rs_cfg.threads);
	return true;
}

/*
 * Drains: stops accepting, gives requests in flight up to 5 s (the waiter
 * resumes waiting ones at once when it stops), then stops the daemon.
 */
void
http_stop(void)
{
	MHD_socket lsock;

	if (daemon_handle == NULL)
		return;
	lsock = MHD_quiesce_daemon(daemon_handle);
	waiter_stop();
	ms_proxy_shutdown(); /* resumes proxied requests still waiting for their upstream */
	for (int i = 0; i < 500 && atomic_load(&in_flight) > 0; i++) {
		struct timespec ts = {0, 10000000};

		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(daemon_handle);
	daemon_handle = NULL;
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
}
