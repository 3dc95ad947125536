/*
 * admin.h - interfaces between the modules of the admin node that are not part
 * of the REST handler seam (api.h): configuration in force, the snapshot of
 * mocks, auth, mock serving, the background flusher and the delay timer.
 */
#ifndef MOCKARTY_ADMIN_H
#define MOCKARTY_ADMIN_H

#include "node/api.h"
#include "config.h"
#include "mockserve.h"
#include "proxy.h"
#include "mockarty/core.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define ADMIN_RELEASE_ID "0.1.0"

/* Configuration in force (main.c); replaced only by the main thread on SIGHUP. */
extern mk_config admin_cfg;
extern time_t admin_started_at;
extern atomic_ullong admin_requests_total;
extern atomic_ullong admin_mock_hits_total;
extern atomic_ullong admin_mock_misses_total;

/* ---- serving/snapshot.c: the in-memory index of live mocks ---- */

/* Starts the LISTEN thread that loads and maintains the snapshot. */
bool snapshot_start(void);
void snapshot_stop(void);
/* True once a snapshot is loaded and the LISTEN connection is up. */
bool snapshot_ready(void);
int64_t snapshot_version(void);
size_t snapshot_count(void);
/*
 * True while a full load runs; *done is the number of mocks read so far, *total
 * the number it will read (-1 when unknown).
 */
bool snapshot_loading(long long *done, long long *total);
/* The database's change-log head (mockarty.head_version()) through the pool; -1 on failure. */
int64_t snapshot_head(int timeout_ms);
/*
 * Waits (up to timeout_ms) until the index has applied version, poking the
 * LISTEN thread to catch up, so a client that wrote through the API reads its
 * write back from the mock traffic at once. Returns false on timeout.
 */
bool snapshot_wait(int64_t version, int timeout_ms);

/* The store mock traffic is served from (mockserve.h); set before the server starts. */
extern ms_store *admin_store;

/* ---- rest/auth.c ---- */

/*
 * Checks the request's token (Authorization: Bearer or X-API-Key). Returns 0
 * when the caller may proceed (req->token_ns set for namespace-bound tokens),
 * or an HTTP status (401/403/503) with resp filled.
 */
int auth_check(api_req *req, api_resp *resp);
/* Drops every cached verification (NOTIFY mockarty_tokens, reconnect). */
void auth_cache_purge(void);
/*
 * After auth_check: 0 when the token's role may call this route, else 403 with
 * resp filled (viewers read only; editors cannot manage tokens, integrations or
 * webhooks).
 */
int auth_role_check(api_req *req, api_resp *resp);
/* Token verifications that reached the database (the rest came from the caches). */
extern atomic_ullong admin_auth_verifications_total;

/* ---- rest/health.c: what /metrics reports beyond plain counters ---- */

/* One answered mock-traffic request: its route/status series and its duration (usec). */
void admin_metrics_mock(const ms_result *res, int64_t usec);
/* Shared-state operations, for mockarty_store_operations_total and its latency histogram. */
typedef enum admin_store_op {
	ADMIN_STORE_READ,    /* REST GET /api/v1/stores/... */
	ADMIN_STORE_WRITE,   /* REST POST/DELETE /api/v1/stores/... */
	ADMIN_STORE_RESOLVE, /* a stateful mock resolved in the database (stores, counters, cursors) */
	ADMIN_STORE_NOPS
} admin_store_op;
void admin_metrics_store_op(admin_store_op op, int64_t usec);

/* ---- serving/serve.c: mock traffic ---- */

/*
 * Answers one mock-traffic request with ms_serve() and the admin node's hooks:
 * stateful mocks resolved by mockarty.resolve() in the database, misses queued
 * for mockarty.undefined_record, proxying through common/proxy.c. Counts hits and
 * misses. Always fills out (release with ms_result_done after queueing).
 */
void serve_mock(ms_request *req, ms_result *out);
/*
 * For a proxy mock serve_mock() left out->proxy_call pending; once the
 * upstream answered (the connection resumed), fills out from it
 * (ms_proxy_finish) and counts it with its latency usec.
 */
void serve_mock_proxied(ms_result *out, int64_t usec);
/* The proxy policy of mock traffic; main.c stores ALLOW_PROXY_TO_PRIVATE_IPS and PROXY_MAX_CONCURRENT at start and on SIGHUP. */
extern ms_proxy_config admin_proxy_cfg;

/* ---- serving/flusher.c: batched, asynchronous writes of request logs and misses ---- */
bool flusher_start(void);
void flusher_stop(void); /* flushes what is queued, then joins */
/* Queues a miss for mockarty.undefined_record; never blocks. body_bytes is the body's size on
 * the wire: past FLUSH_UNDEFINED_BUDGET bytes per flush the miss is queued without its body. */
void flusher_undefined(const char *ns, const char *method, const char *path, json_t *headers,
		       json_t *body, size_t body_bytes);
/* (request logs of locally served mocks are drained from admin_store) */

/* ---- serving/delay_timer.c: resumes suspended connections when their delay is over ---- */
bool timer_start(void);
void timer_stop(void);
void timer_add(struct MHD_Connection *conn, int64_t delay_ms);

/* ---- server.c ---- */
bool server_start(void);
void server_stop(void); /* stops accepting, lets in-flight requests finish */
/* Sends a built response (shared by routes and mock traffic). */
struct MHD_Response *server_build_response(const api_req *req, api_resp *resp, int *status);

#endif /* MOCKARTY_ADMIN_H */
