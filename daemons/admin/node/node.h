/*
 * admin.h - interfaces between the modules of the admin node that are not part
 * of the REST handler seam (api.h): configuration in force, the snapshot of
 * mocks, auth, mock serving, the background flusher and the delay timer.
 */
#ifndef MOCKARTY_ADMIN_H
#define MOCKARTY_ADMIN_H

#include "node/api.h"
#include "config.h"
#include "metrics.h"
#include "mockserve.h"
#include "proxy.h"
#include "mockarty/core.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define ADMIN_RELEASE_ID "0.1.0"

/* Configuration in force (node.c; main.c replaces it, on the main thread only, on SIGHUP). */
extern mk_config admin_cfg;
extern time_t admin_started_at;
extern atomic_ullong admin_requests_total;
extern atomic_ullong admin_mock_hits_total;
extern atomic_ullong admin_mock_misses_total;

/* The proxy policy of mock traffic and webhook delivery (node.c); main.c stores
 * ALLOW_PROXY_TO_PRIVATE_IPS and PROXY_MAX_CONCURRENT at start and on SIGHUP. */
extern ms_proxy_config admin_proxy_cfg;

/* ---- auth.c ---- */

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
/* Drops the node's cached verification of session token (logout). */
void auth_session_forget(const char *token);
/*
 * First start: when no user can sign in, gives user admin a one-time password
 * (mockarty.user_bootstrap) and logs it once in a line starting "FIRST START".
 */
void auth_bootstrap(void);
/* Token verifications that reached the database (the rest came from the caches). */
extern atomic_ullong admin_auth_verifications_total;

/* ---- metrics.c: what the serving threads record for /metrics (rest/health.c writes it) ---- */

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

/* Writes the request-duration and store-operation families (Prometheus text) into b. */
void admin_metrics_write(mt_buf *b);

#endif /* MOCKARTY_ADMIN_H */
