/*
 * server.c - the admin node's HTTP front: libmicrohttpd with an internal epoll
 * polling thread per pool thread, request accumulation, routing between the
 * REST tables and mock traffic, and sending responses.
 *
 * The constraint that shaped it is a measured libmicrohttpd 0.9.75 pitfall: a
 * response queued on the first access-handler call (before MHD has finished
 * reading the request) makes MHD answer "Connection: close", and throughput
 * drops to a third. So the first call only records state, body chunks are
 * appended on the following calls, and the response is queued on the call that
 * reports the upload finished (*upload_data_size == 0 after the first call).
 * Delayed mock responses suspend the connection (serving/delay_timer.c resumes it) so a
 * delay never holds a pool thread; so do proxy mocks while their upstream
 * answers (common/proxy.c resumes them).
 *
 * Paths under /ui that are not /ui/api are the web console's static pages (console.c), looked
 * up only after the mock fast path has ruled out mock traffic. API requests (REST, health,
 * metrics) are answered on a pool of API worker threads while their connection is suspended
 * (api_worker): a handler waiting for the database never holds up the mock traffic that
 * shares its polling thread.
 *
 * Request bodies are buffered under the node-wide budget of bufbudget.h
 * (REQUEST_BUFFER_BUDGET_MB): a body that does not fit is answered 503 with
 * Retry-After as soon as that is known (at once when Content-Length says so),
 * and what a request reserved is released when it completes or is aborted.
 */
#include "node/node.h"
#include "console.h"
#include "server.h"
#include "serving/serving.h"

#include "bufbudget.h"
#include "log.h"
#include "otel.h"
#include "proxy.h"

#include <ctype.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

enum conn_state { ST_NEW = 0, ST_READING, ST_SUSPENDED, ST_PROXY, ST_API, ST_API_DONE, ST_DONE };

/* Per-request state, created by the URI log callback, freed on completion. */
typedef struct conn_req {
	enum conn_state state;
	char *raw_uri;
	char *body;
	size_t len, cap;
	size_t discarded;
	size_t reserved; /* bytes held in the node's buffer budget (bufbudget.h) */
	bool too_large;
	bool has_pending;
	ms_result pending; /* mock response waiting for its delay or its upstream (proxy_call) */
	struct timespec t0; /* when a proxied request was sent upstream, for its latency */
	otel_span span;    /* server span (otel.h), ended in request_completed; unused when off */
	/* an API request answered on a worker (ST_API -> ST_API_DONE): its captured answer */
	struct MHD_Response *api_r;
	int api_status;
	const char *method; /* MHD's, valid for the request */
	struct conn_req *api_next;
	struct MHD_Connection *conn;
} conn_req;

static struct MHD_Daemon *daemon_handle;
/* True when every route lies under a reserved prefix, so other paths skip routing. */
static bool routes_all_reserved;
/* Requests between their first byte and completion (idle keep-alives excluded). */
static atomic_int in_flight;

/*
 * API workers: REST, /health and /metrics requests run here, not on the polling threads, so a
 * handler waiting for the database (a console tab polling /api/v1/mocks, a write waiting for
 * its version, ?wait=60) never stalls the mock-traffic connections of its polling thread.
 * The connection is suspended meanwhile; handle_complete() runs unchanged on the worker with
 * its answer captured (queue_and_free) and queued by the polling thread after the resume.
 */
#define API_WORKERS 16
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	conn_req *head, *tail;
	bool stopping;
	int started;
	pthread_t th[API_WORKERS];
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
/* Set on a worker while it runs handle_complete(): queue_and_free() captures into it. */
static _Thread_local conn_req *capture;

/* ------------------------------------------------------------ small helpers */

static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	json_t *headers = cls;
	char name[256];
	size_t n = 0;
	json_t *arr;

	(void)kind;
	for (; key[n] != '\0' && n < sizeof(name) - 1; n++)
		name[n] = (char)tolower((unsigned char)key[n]);
	name[n] = '\0';
	arr = json_object_get(headers, name);
	if (arr == NULL) {
		arr = json_array();
		if (json_object_set_new(headers, name, arr) != 0)
			return MHD_YES;
	}
	json_array_append_new(arr, ms_json_bytes(value ? value : "", value ? strlen(value) : 0));
	return MHD_YES;
}

static void
make_request_id(const char *given, char out[40])
{
	unsigned char rnd[16];
	size_t n = 0;

	if (given != NULL) {
		for (; given[n] != '\0' && n < 39; n++) {
			unsigned char c = (unsigned char)given[n];

			if (!(isalnum(c) || c == '-' || c == '_' || c == '.'))
				break;
			out[n] = (char)c;
		}
		if (given[n] == '\0' && n > 0) {
			out[n] = '\0';
			return;
		}
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
}

/* ----------------------------------------------------------------- routing */

/* Counts the segments of a pattern that are literal (more literal = more specific). */
static int
route_score(const char *pattern)
{
	int score = 0;
	const char *p = pattern;

	while (*p) {
		if (*p == '/') {
			p++;
			if (*p != ':' && *p != '*' && *p != '\0')
				score++;
		} else {
			p++;
		}
	}
	return score;
}

/*
 * Matches raw_path (not yet decoded) against pattern; on success fills caps
 * with malloc'd decoded captures and returns their number, else -1.
 */
static int
route_match(const char *pattern, const char *raw_path, char **caps)
{
	const char *p = pattern, *s = raw_path;
	int n = 0;

	while (*p && *s) {
		if (*p == '*') {
			if (n >= API_MAX_PARAMS)
				goto fail;
			caps[n++] = ms_pct_decode(s, strlen(s));
			return n;
		}
		if (*p == ':') {
			const char *pe = strchr(p, '/'), *se = strchr(s, '/');
			size_t sl = se ? (size_t)(se - s) : strlen(s);

			if (sl == 0 || n >= API_MAX_PARAMS)
				goto fail;
			caps[n++] = ms_pct_decode(s, sl);
			p = pe ? pe : p + strlen(p);
			s += sl;
			continue;
		}
		if (*p != *s)
			goto fail;
		p++;
		s++;
	}
	if (*p == '*' && *s == '\0') {
		if (n >= API_MAX_PARAMS)
			goto fail;
		caps[n++] = strdup("");
		return n;
	}
	/* a trailing slash on the request is tolerated */
	if (*p == '\0' && (*s == '\0' || (s[0] == '/' && s[1] == '\0')))
		return n;
fail:
	for (int i = 0; i < n; i++)
		free(caps[i]);
	return -1;
}

/*
 * Finds the most specific route of api_routes matching
 * method and raw_path. *path_known is set when some route matches the path
 * with another method (405 rather than 404).
 */
static const api_route *
route_find(const char *method, const char *raw_path, api_req *req, char **caps, bool *path_known)
{
	const api_route *best = NULL;
	int best_score = -1;
	char *tmp[API_MAX_PARAMS];

	*path_known = false;
	for (const api_route *r = api_routes; r->pattern != NULL; r++) {
		int n = route_match(r->pattern, raw_path, tmp);
		int score;

		if (n < 0)
			continue;
		if (strcmp(r->method, method) != 0 &&
		    !(strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
			*path_known = true;
			for (int i = 0; i < n; i++)
				free(tmp[i]);
			continue;
		}
		score = route_score(r->pattern);
		if (score > best_score) {
			for (int i = 0; i < req->nparams; i++) {
				free(caps[i]);
				caps[i] = NULL;
			}
			memcpy(caps, tmp, sizeof(char *) * (size_t)n);
			req->nparams = n;
			best = r;
			best_score = score;
		} else {
			for (int i = 0; i < n; i++)
				free(tmp[i]);
		}
	}
	for (int i = 0; i < req->nparams; i++)
		req->params[i] = caps[i];
	return best;
}

/*
 * Prefixes that belong to the node itself: an unknown path under them is a 404
 * of the API, never mock traffic. Other /api/... paths (the guide's own example
 * mocks /api/users/:id) are mock traffic unless a route matches them.
 */
static bool
is_reserved_path(const char *path)
{
	return strncmp(path, "/api/v1/", 8) == 0 || strcmp(path, "/api/v1") == 0 ||
	       strncmp(path, "/ui/", 4) == 0 || strcmp(path, "/ui") == 0 ||
	       strcmp(path, "/health") == 0 || strncmp(path, "/health/", 8) == 0 ||
	       strcmp(path, "/metrics") == 0 || strncmp(path, "/swagger", 8) == 0 ||
	       strcmp(path, "/mock/create") == 0 || strcmp(path, "/__admin") == 0 ||
	       strncmp(path, "/__admin/", 9) == 0;
}

/* ---------------------------------------------------------------- responses */


static enum MHD_Result
queue_and_free(struct MHD_Connection *conn, int status, struct MHD_Response *r)
{
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	if (capture != NULL) { /* on an API worker: the polling thread queues it after the resume */
		capture->api_r = r;
		capture->api_status = status;
		return MHD_YES;
	}
	ret = MHD_queue_response(conn, (unsigned int)status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Answers a request with an envelope built outside any api_req. */
static enum MHD_Result
queue_error(struct MHD_Connection *conn, const char *request_id, int status, const char *code,
	    const char *msg)
{
	api_req req;
	api_resp resp = {0};
	int st;

	memset(&req, 0, sizeof(req));
	snprintf(req.request_id, sizeof(req.request_id), "%s", request_id);
	enum MHD_Result ret;

	api_error(&req, &resp, status, code, "%s", msg);
	ret = queue_and_free(conn, status, api_build_response(&req, &resp, &st));
	json_decref(resp.json);
	return ret;
}

/*
 * Read-your-writes on this node: called after a REST write answered 2xx.
 * Waits, up to WRITE_VISIBILITY_TIMEOUT_MS, until the node's in-memory index
 * has applied the write's version (req->wrote_version, read by db_json() on
 * the connection that committed it; the head read now when no statement
 * recorded one), and returns that version for X-Mockarty-Version. When the
 * bound passes first (the LISTEN connection lags, a large change is still
 * being compiled, the database went away) the 2xx is replaced by a 503 that
 * names the setting and the versions: the write is committed, but this node
 * would not serve it yet, and a client must not be told otherwise.
 */
static int64_t
write_visible(api_req *req, api_resp *resp)
{
	int timeout = admin_cfg.write_visibility_ms;
	int64_t v = req->wrote_version;

	if (v < 0)
		v = snapshot_head(timeout);
	if (v < 0) {
		api_error(req, resp, 503, "unavailable",
			  "the write may have been applied, but its change-log version could not be "
			  "read (database unavailable), so this node cannot tell whether it serves it "
			  "yet; retry");
		return -1;
	}
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (snapshot_wait(v, timeout)) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_debug("write at version %lld visible on this node after %lld ms (request %s)",
			  (long long)v,
			  (long long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000),
			  req->request_id);
	} else {
		int64_t have = snapshot_version();

		log_warn("write at version %lld not applied by this node within "
			 "WRITE_VISIBILITY_TIMEOUT_MS=%d ms (index at %lld; request %s)",
			 (long long)v, timeout, (long long)have, req->request_id);
		api_error(req, resp, 503, "unavailable",
			  "the write was committed at version %lld, but this node's index reached only "
			  "version %lld within WRITE_VISIBILITY_TIMEOUT_MS=%d ms, so it would not serve "
			  "the change yet; retry the read with X-Mockarty-Min-Version, or raise "
			  "WRITE_VISIBILITY_TIMEOUT_MS",
			  (long long)v, (long long)have, timeout);
		json_object_set_new(resp->json, "setting", json_string("WRITE_VISIBILITY_TIMEOUT_MS"));
		json_object_set_new(resp->json, "version", json_integer((json_int_t)v));
	}
	return v;
}

/*
 * The node's buffer budget refused this request's body: 503 with Retry-After
 * naming REQUEST_BUFFER_BUDGET_MB; what the request held is given back at once.
 */
static enum MHD_Result
queue_over_budget(struct MHD_Connection *conn, conn_req *cr)
{
	api_req req;
	api_resp resp = {0};
	char msg[200];
	int st;
	struct MHD_Response *r;

	free(cr->body);
	cr->body = NULL;
	cr->len = cr->cap = 0;
	bufbudget_release(cr->reserved);
	cr->reserved = 0;
	cr->state = ST_DONE;
	memset(&req, 0, sizeof(req));
	make_request_id(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id"), req.request_id);
	api_error(&req, &resp, 503, "unavailable", "%s", bufbudget_message(msg, sizeof(msg)));
	r = api_build_response(&req, &resp, &st);
	json_decref(resp.json);
	if (r != NULL)
		MHD_add_response_header(r, "Retry-After", "1");
	return queue_and_free(conn, st, r);
}

/* ms_proxy_start() done callback, on the proxy thread: the answer is in. */
static void
proxy_done(void *arg)
{
	MHD_resume_connection(arg);
}

/* ------------------------------------------------------------ the handler */

/*
 * Serves a mock-traffic request (mockserve) and queues the answer, or
 * suspends the connection for the mock's delay (serving/delay_timer.c resumes it).
 */
static enum MHD_Result
queue_mock(struct MHD_Connection *conn, conn_req *cr, const char *method, const char *path,
	   const char *raw_query)
{
	ms_request mreq;
	ms_result sr;
	enum MHD_Result ret;

	ms_request_init_mhd(&mreq, conn, method, path, raw_query, cr->body, cr->len);
	serve_mock(&mreq, &sr);
	if (sr.proxy_call != NULL) { /* the body stays in cr until request_completed */
		cr->pending = sr;
		cr->has_pending = true;
		cr->state = ST_PROXY;
		clock_gettime(CLOCK_MONOTONIC, &cr->t0);
		MHD_suspend_connection(conn);
		ms_proxy_start(sr.proxy_call, proxy_done, conn);
		ret = MHD_YES;
	} else if (sr.response == NULL) {
		ret = queue_error(conn, ms_request_id(&mreq), 500, "internal", "no response");
		ms_result_done(&sr);
	} else if (sr.delay_ms > 0) {
		cr->pending = sr;
		cr->has_pending = true;
		cr->state = ST_SUSPENDED;
		MHD_suspend_connection(conn);
		timer_add(conn, sr.delay_ms);
		ret = MHD_YES;
	} else {
		ret = MHD_queue_response(conn, (unsigned int)sr.status, sr.response);
		ms_result_done(&sr);
	}
	ms_request_clear(&mreq);
	return ret;
}

/* Mock traffic that needs no routing: decoded path, nothing else built. */
static enum MHD_Result
handle_mock_fast(struct MHD_Connection *conn, conn_req *cr, const char *method, char *path,
		 const char *raw_query)
{
	enum MHD_Result ret;

	atomic_fetch_add_explicit(&admin_requests_total, 1, memory_order_relaxed);
	ret = queue_mock(conn, cr, method, path, raw_query);
	free(path);
	if (cr->state != ST_SUSPENDED && cr->state != ST_PROXY)
		cr->state = ST_DONE;
	return ret;
}

/*
 * Names the server span of an admin API call "<METHOD> <route pattern>" (the
 * template, never the raw path, so names stay few); just "<METHOD>" for a
 * reserved path no route matched. Mock traffic keeps "mock resolution".
 */
static void
span_name_api(otel_span *s, const char *method, const char *pattern)
{
	char name[128];

	if (!otel_recording(s))
		return;
	snprintf(name, sizeof(name), "%s%s%s", method, pattern ? " " : "", pattern ? pattern : "");
	otel_span_set_name(s, name);
	if (pattern != NULL)
		otel_span_set_str(s, "http.route", pattern);
}

/* The peer's IP address as text in buf ("" when unknown); returns buf. */
static const char *
client_addr_text(struct MHD_Connection *conn, char *buf, size_t cap)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	buf[0] = '\0';
	if (sa == NULL)
		return buf;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf, (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf, (socklen_t)cap);
	return buf;
}

/*
 * Handles one complete request (body read): builds the api_req, routes it, and
 * queues (or schedules, for delayed mocks) the response.
 */
static enum MHD_Result
handle_complete(struct MHD_Connection *conn, conn_req *cr, const char *method)
{
	api_req req;
	api_resp resp = {0};
	char *caps[API_MAX_PARAMS] = {0};
	const char *q = strchr(cr->raw_uri, '?');
	size_t raw_path_len = q ? (size_t)(q - cr->raw_uri) : strlen(cr->raw_uri);
	char *path = ms_pct_decode(cr->raw_uri, raw_path_len);
	const char *raw_query = q ? q + 1 : "";
	char *raw_path;
	enum MHD_Result ret = MHD_NO;
	struct MHD_Response *r = NULL;
	int status = 500;
	char client_addr[INET6_ADDRSTRLEN];

	if (path != NULL && !cr->too_large && routes_all_reserved && !is_reserved_path(path))
		return handle_mock_fast(conn, cr, method, path, raw_query);
	/* the console's pages: no token, no api_req (console.h keeps /ui/api for the routes) */
	if (path != NULL && console_path(path)) {
		atomic_fetch_add_explicit(&admin_requests_total, 1, memory_order_relaxed);
		ret = console_serve(conn, method, path);
		free(path);
		cr->state = ST_DONE;
		return ret;
	}
	raw_path = strndup(cr->raw_uri, raw_path_len);
	atomic_fetch_add_explicit(&admin_requests_total, 1, memory_order_relaxed);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path ? path : "/";
	/* the peer's address only where it is used (login throttling): mock traffic pays nothing */
	req.client_addr = path != NULL && strcmp(path, "/api/v1/auth/login") == 0
				  ? client_addr_text(conn, client_addr, sizeof(client_addr))
				  : "";
	req.headers = json_object();
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, req.headers);
	make_request_id(api_header(&req, "x-request-id"), req.request_id);
	req.query = mc_query_parse(raw_query);
	req.body = cr->body;
	req.body_len = cr->len;
	if (cr->len > 0) {
		json_error_t jerr;

		req.body_json = mc_json_loadb_wide(cr->body, cr->len, JSON_DECODE_ANY, &jerr);
	}
	if (raw_path == NULL || path == NULL || req.headers == NULL || req.query == NULL) {
		ret = queue_error(conn, req.request_id, 500, "internal", "out of memory");
		goto done;
	}
	if (cr->too_large) {
		char msg[128];

		snprintf(msg, sizeof(msg), "request body exceeds the limit of %zu MB",
			 admin_cfg.body_limit / (1024 * 1024));
		ret = queue_error(conn, req.request_id, 413, "validation", msg);
		goto done;
	}

	bool path_known = false;
	int64_t wrote_version = -1;
	const api_route *route = route_find(method, raw_path, &req, caps, &path_known);

	req.wrote_version = -1;
	req.track_writes = route != NULL && !route->public_route && strcmp(method, "GET") != 0 &&
			   strcmp(method, "HEAD") != 0;

	if (route != NULL || path_known || is_reserved_path(req.path)) {
		if (otel_enabled())
			span_name_api(&cr->span, method, route ? route->pattern : NULL);
		if (route == NULL) {
			if (path_known)
				api_error(&req, &resp, 405, "validation", "method %s not allowed on %s",
					  method, req.path);
			else
				api_error(&req, &resp, 404, "not_found", "no such endpoint: %s %s", method,
					  req.path);
		} else if (route->public_route ||
			   (auth_check(&req, &resp) == 0 && auth_role_check(&req, &resp) == 0)) {
			struct timespec t0, t1;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			route->handler(&req, &resp);
			/* the REST store API feeds mockarty_store_operations_total (rest/health.c) */
			if (strncmp(route->pattern, "/api/v1/stores/", 15) == 0) {
				clock_gettime(CLOCK_MONOTONIC, &t1);
				admin_metrics_store_op(strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0
							   ? ADMIN_STORE_READ
							   : ADMIN_STORE_WRITE,
						       (t1.tv_sec - t0.tv_sec) * 1000000LL +
							   (t1.tv_nsec - t0.tv_nsec) / 1000);
			}
			/* a client that wrote through the API reads its write back at once */
			if (req.track_writes && resp.status >= 200 && resp.status < 300)
				wrote_version = write_visible(&req, &resp);
		}
		r = api_build_response(&req, &resp, &status);
		if (r != NULL && wrote_version >= 0) { /* read-your-writes across resolvers */
			char v[24];

			snprintf(v, sizeof(v), "%lld", (long long)wrote_version);
			MHD_add_response_header(r, "X-Mockarty-Version", v);
			if (status == 503)
				MHD_add_response_header(r, "Retry-After", "1");
		}
		ret = queue_and_free(conn, status, r);
	} else {
		ret = queue_mock(conn, cr, method, req.path, raw_query);
	}
done:
	json_decref(req.headers);
	json_decref(req.query);
	json_decref(req.body_json);
	json_decref(resp.json);
	free(resp.raw);
	for (int i = 0; i < API_MAX_PARAMS; i++)
		free(caps[i]);
	free(raw_path);
	free(path);
	if (cr->state != ST_SUSPENDED && cr->state != ST_PROXY)
		cr->state = ST_DONE;
	return ret;
}

/*
 * handle_complete() inside a server span that honours the caller's
 * traceparent; the span is the thread's current one meanwhile (the proxy
 * and mockserve read it) and ends in request_completed().
 */
static enum MHD_Result
handle_complete_traced(struct MHD_Connection *conn, conn_req *cr, const char *method)
{
	otel_span *prev;
	enum MHD_Result ret;

	otel_span_start_remote(&cr->span, "mock resolution", OTEL_KIND_SERVER,
			       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "traceparent"));
	if (otel_recording(&cr->span)) {
		char target[128];
		size_t n = strcspn(cr->raw_uri, "?");

		snprintf(target, sizeof(target), "%.*s", (int)(n < 127 ? n : 127), cr->raw_uri);
		otel_span_set_str(&cr->span, "http.method", method);
		otel_span_set_str(&cr->span, "http.target", target);
	}
	prev = otel_set_current(&cr->span);
	ret = handle_complete(conn, cr, method);
	otel_set_current(prev);
	return ret;
}

/*
 * True when the request goes to an API worker: a reserved path (REST, /health, /metrics,
 * /__admin, /mock/create) judged on the raw URI, except the console's pages (console.c, served
 * inline from memory) and bodies over the limit (answered inline). A percent-encoded reserved
 * prefix is simply served inline, as before.
 */
static bool
api_offload(const conn_req *cr)
{
	char path[40];
	size_t n;

	/* every reserved path starts "/a", "/u", "/h", "/m", "/s" or "/_": most mock paths stop here */
	if (cr->too_large || W.started == 0 || cr->raw_uri[0] != '/' || cr->raw_uri[1] == '\0' ||
	    strchr("auhms_", cr->raw_uri[1]) == NULL)
		return false;
	n = strcspn(cr->raw_uri, "?");
	if (n >= sizeof(path))
		n = sizeof(path) - 1;
	memcpy(path, cr->raw_uri, n);
	path[n] = '\0';
	return is_reserved_path(path) && !console_path(path);
}

static void *
api_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&W.mu);
	for (;;) {
		conn_req *cr;

		while (W.head == NULL && !W.stopping)
			pthread_cond_wait(&W.cv, &W.mu);
		if (W.head == NULL)
			break;
		cr = W.head;
		W.head = cr->api_next;
		if (W.head == NULL)
			W.tail = NULL;
		pthread_mutex_unlock(&W.mu);
		capture = cr;
		if (otel_enabled())
			handle_complete_traced(cr->conn, cr, cr->method);
		else
			handle_complete(cr->conn, cr, cr->method);
		capture = NULL;
		cr->state = ST_API_DONE;
		MHD_resume_connection(cr->conn);
		pthread_mutex_lock(&W.mu);
	}
	pthread_mutex_unlock(&W.mu);
	return NULL;
}

/* Suspends the connection and hands the complete request to an API worker. */
static enum MHD_Result
api_dispatch(struct MHD_Connection *conn, conn_req *cr, const char *method)
{
	cr->state = ST_API;
	cr->conn = conn;
	cr->method = method;
	cr->api_next = NULL;
	MHD_suspend_connection(conn);
	pthread_mutex_lock(&W.mu);
	if (W.tail != NULL)
		W.tail->api_next = cr;
	else
		W.head = cr;
	W.tail = cr;
	pthread_cond_signal(&W.cv);
	pthread_mutex_unlock(&W.mu);
	return MHD_YES;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	       const char *version, const char *upload_data, size_t *upload_data_size,
	       void **con_cls)
{
	conn_req *cr = *con_cls;

	(void)cls;
	(void)version;
	if (cr == NULL) { /* no URI callback ran: should not happen, but be safe */
		cr = calloc(1, sizeof(*cr));
		if (cr == NULL)
			return MHD_NO;
		cr->raw_uri = strdup(url);
		atomic_fetch_add(&in_flight, 1);
		*con_cls = cr;
	}
	switch (cr->state) {
	case ST_NEW: {
		const char *cl =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		unsigned long long declared = cl != NULL ? strtoull(cl, NULL, 10) : 0;
		const char *expect =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

		cr->state = ST_READING;
		if (declared > admin_cfg.body_limit && expect != NULL &&
		    strcasecmp(expect, "100-continue") == 0) {
			/*
			 * A client waiting on "Expect: 100-continue" (curl -F with a large file)
			 * gets the 413 instead of the go-ahead and never sends the body, rather
			 * than a closed connection once it sent 4x the limit. Clients that send
			 * the body unasked are read to the end and answered below (an early
			 * answer would break their write with EPIPE).
			 */
			char msg[128];

			snprintf(msg, sizeof(msg),
			         "request body of %llu bytes exceeds the limit of %zu MB "
			         "(HTTP_REQUEST_BODY_SIZE_LIMIT_MB)",
			         declared, admin_cfg.body_limit / (1024 * 1024));
			cr->too_large = true;
			cr->state = ST_DONE;
			return queue_error(conn, "", 413, "validation", msg);
		}
		if (declared > admin_cfg.body_limit)
			cr->too_large = true;
		else if (declared > 0) {
			int r = ms_body_reserve(&cr->body, &cr->cap, &cr->reserved, (size_t)declared);

			if (r < 0) /* a refusal closes the connection anyway: answer before the body */
				return queue_over_budget(conn, cr);
			if (r == 0)
				return MHD_NO;
		}
		return MHD_YES; /* never queue a success here: see the banner */
	}
	case ST_READING:
		if (*upload_data_size > 0) {
			size_t n = *upload_data_size;

			*upload_data_size = 0;
			if (cr->too_large || cr->len + n > admin_cfg.body_limit) {
				cr->too_large = true;
				free(cr->body);
				cr->body = NULL;
				cr->len = cr->cap = 0;
				bufbudget_release(cr->reserved);
				cr->reserved = 0;
				cr->discarded += n;
				/* a client that keeps sending far past the limit loses the connection */
				if (cr->discarded > 4 * admin_cfg.body_limit) {
					cr->state = ST_DONE;
					return queue_error(conn, "", 413, "validation",
							   "request body exceeds the limit");
				}
				return MHD_YES;
			}
			switch (ms_body_append_budget(&cr->body, &cr->len, &cr->cap, &cr->reserved, upload_data, n)) {
			case 1:
				return MHD_YES;
			case -1:
				return queue_over_budget(conn, cr);
			default:
				return MHD_NO;
			}
		}
		if (api_offload(cr))
			return api_dispatch(conn, cr, method);
		if (otel_enabled())
			return handle_complete_traced(conn, cr, method);
		return handle_complete(conn, cr, method);
	case ST_API_DONE: { /* resumed by api_worker: queue the answer it captured */
		enum MHD_Result ret = MHD_NO;

		if (cr->api_r != NULL) {
			ret = MHD_queue_response(conn, (unsigned int)cr->api_status, cr->api_r);
			MHD_destroy_response(cr->api_r);
			cr->api_r = NULL;
		}
		cr->state = ST_DONE;
		return ret;
	}
	case ST_API: /* still on its worker (not called while suspended) */
		return MHD_YES;
	case ST_PROXY: { /* resumed by proxy_done: the upstream answered or failed */
		struct timespec t1;
		enum MHD_Result ret;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		serve_mock_proxied(&cr->pending, (t1.tv_sec - cr->t0.tv_sec) * 1000000LL +
							 (t1.tv_nsec - cr->t0.tv_nsec) / 1000);
		if (cr->pending.delay_ms > 0 && cr->pending.response != NULL) {
			cr->state = ST_SUSPENDED;
			MHD_suspend_connection(conn);
			timer_add(conn, cr->pending.delay_ms);
			return MHD_YES;
		}
		ret = cr->pending.response != NULL
			  ? MHD_queue_response(conn, (unsigned int)cr->pending.status, cr->pending.response)
			  : MHD_NO;
		ms_result_done(&cr->pending);
		cr->has_pending = false;
		cr->state = ST_DONE;
		return ret;
	}
	case ST_SUSPENDED: {
		enum MHD_Result ret = MHD_queue_response(conn, (unsigned int)cr->pending.status,
							 cr->pending.response);

		ms_result_done(&cr->pending);
		cr->has_pending = false;
		cr->state = ST_DONE;
		return ret;
	}
	case ST_DONE:
	default:
		*upload_data_size = 0;
		return MHD_YES;
	}
}

/* Runs before headers are parsed; its result becomes the request's state. */
static void *
uri_logger(void *cls, const char *uri, struct MHD_Connection *conn)
{
	conn_req *cr;

	(void)cls;
	/* answered and closed here: the HTTP library could not index this query (mockserve.h) */
	if (ms_refuse_crowded_query(conn, uri, admin_cfg.http_conn_memory ? admin_cfg.http_conn_memory : 24576))
		return NULL;
	cr = calloc(1, sizeof(*cr));
	if (cr != NULL) {
		atomic_fetch_add(&in_flight, 1);
		cr->raw_uri = strdup(uri ? uri : "/");
		if (cr->raw_uri == NULL) {
			atomic_fetch_sub(&in_flight, 1);
			free(cr);
			cr = NULL;
		}
	}
	return cr;
}

static void
request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		  enum MHD_RequestTerminationCode toe)
{
	conn_req *cr = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (cr == NULL)
		return;
	atomic_fetch_sub(&in_flight, 1);
	if (otel_enabled() && otel_recording(&cr->span)) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);

		if (ci != NULL && ci->http_status > 0)
			otel_span_set_http_status(&cr->span, (int)ci->http_status);
		if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
			otel_span_set_error(&cr->span, "connection ended before the response was sent");
	}
	if (otel_enabled())
		otel_span_end(&cr->span);
	if (cr->has_pending) {
		ms_proxy_call_free(cr->pending.proxy_call); /* only when never started */
		ms_result_done(&cr->pending);
	}
	if (cr->api_r != NULL)
		MHD_destroy_response(cr->api_r);
	bufbudget_release(cr->reserved);
	free(cr->body);
	free(cr->raw_uri);
	free(cr);
	*con_cls = NULL;
}

/*
 * Binds HTTP_BIND_ADDR:HTTP_PORT (a name such as "localhost" is resolved) and
 * starts the daemon with a pool of admin_cfg.threads polling threads.
 */
bool
server_start(void)
{
	struct addrinfo hints = {0}, *ai = NULL;
	char port[16];
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	int rc;

	routes_all_reserved = true;
	for (const api_route *r = api_routes; r->pattern != NULL; r++)
		if (!is_reserved_path(r->pattern))
			routes_all_reserved = false;
	snprintf(port, sizeof(port), "%d", admin_cfg.http_port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(admin_cfg.http_bind_addr, port, &hints, &ai);
	if (rc != 0 || ai == NULL) {
		log_error("HTTP_BIND_ADDR %s: %s", admin_cfg.http_bind_addr, gai_strerror(rc));
		return false;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* the API workers exist before the first request (W.started is read without a lock) */
	for (int i = 0; i < API_WORKERS; i++) {
		if (pthread_create(&W.th[i], NULL, api_worker, NULL) != 0)
			break;
		W.started++;
	}
	if (W.started == 0)
		log_warn("no API worker thread could be started: API requests run on the polling threads");
	daemon_handle = MHD_start_daemon(
		flags, (uint16_t)admin_cfg.http_port, NULL, NULL, access_handler, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
		MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)admin_cfg.threads,
		MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
		/* cleared before every request of a keep-alive connection: HTTP_CONNECTION_MEMORY_KB */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)(admin_cfg.http_conn_memory ? admin_cfg.http_conn_memory : 24576),
		MHD_OPTION_END);
	freeaddrinfo(ai);
	if (daemon_handle == NULL) {
		log_error("cannot listen on %s:%d", admin_cfg.http_bind_addr, admin_cfg.http_port);
		return false;
	}
	log_info("listening on http://%s:%d (%d threads)", admin_cfg.http_bind_addr,
		 admin_cfg.http_port, admin_cfg.threads);
	return true;
}

/*
 * Drains: stops accepting, waits up to 10 s for requests in flight (delayed
 * ones included) to be answered, then stops the daemon, which closes idle
 * keep-alive connections.
 */
void
server_stop(void)
{
	if (daemon_handle == NULL)
		return;
	MHD_socket lsock = MHD_quiesce_daemon(daemon_handle);

	for (int i = 0; i < 1000 && atomic_load(&in_flight) > 0; i++)
		usleep(10000);
	ms_proxy_shutdown(); /* resumes proxied requests still waiting for their upstream */
	timer_stop();
	pthread_mutex_lock(&W.mu);
	W.stopping = true; /* workers finish the queue, then end */
	pthread_cond_broadcast(&W.cv);
	pthread_mutex_unlock(&W.mu);
	if (atomic_load(&in_flight) == 0) /* else a handler may still be waiting: do not wait for it */
		for (int i = 0; i < W.started; i++)
			pthread_join(W.th[i], NULL);
	MHD_stop_daemon(daemon_handle);
	daemon_handle = NULL;
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
}
