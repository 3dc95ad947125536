/*
 * resolver.h - interfaces between the modules of mock-resolver: configuration,
 * the applied-version state (sync.c), the index glue over mockserve (index.c),
 * the Resolve connection pool and Report batches (coord.c, report.c), request
 * statistics (stats.c), the HTTP fronts (http.c, dashboard.c) and the waiter
 * that resumes suspended connections (waiter.c).
 */
#ifndef MOCKARTY_RESOLVER_H
#define MOCKARTY_RESOLVER_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESOLVER_RELEASE_ID "0.1.0"

/* ------------------------------------------------------------ rconfig.c */

typedef struct rs_config {
	char *coordinator_addr;  /* COORDINATOR_ADDR, required, host:port */
	char *api_token;         /* API_TOKEN, required, mki_... */
	char *resolver_name;     /* RESOLVER_NAME, default: hostname */
	int http_port;           /* HTTP_PORT, 5780 */
	char *ns;                /* NAMESPACE, sandbox */
	int log_level;           /* LOG_LEVEL, info */
	int dashboard_port;      /* DASHBOARD_PORT, 6780 (0 = no dashboard) */
	char *http_bind_addr;    /* HTTP_BIND_ADDR, 127.0.0.1 */
	int min_version_wait_ms; /* MIN_VERSION_WAIT_MS, 2000 */
	int threads;             /* THREADS, number of CPUs */
	int resolve_pool;        /* RESOLVE_POOL_SIZE, 4 */
	bool allow_private_ips;  /* ALLOW_PROXY_TO_PRIVATE_IPS, false */
	int proxy_max_concurrent; /* PROXY_MAX_CONCURRENT, 256 */
	int buffer_budget_mb;    /* REQUEST_BUFFER_BUDGET_MB, 256 (0 = unlimited) */
	size_t template_output_limit; /* TEMPLATE_OUTPUT_LIMIT_MB, 8, in bytes */
} rs_config;

extern rs_config rs_cfg;

/*
 * Fills cfg from the environment. Returns 0, or 2 with a message naming the
 * variable in err (a required variable missing or a value refused); cfg then
 * holds nothing that needs freeing. Strings are malloc'd; rs_config_free.
 */
int rs_config_load(rs_config *cfg, char *err, size_t errlen);
void rs_config_free(rs_config *cfg);
/* Prints the --help text (every variable with its default) to stdout. */
void rs_config_help(const char *argv0);

/* -------------------------------------------------------------- sync.c */

/* Connection state shown on the dashboard and in /metrics. */
typedef enum rs_conn_state {
	RS_CONNECTING = 0, /* never connected yet, or reconnecting */
	RS_CONNECTED,      /* a Sync stream is open and events arrive */
	RS_DISCONNECTED,   /* the last attempt failed; waiting out the backoff */
	RS_AUTH_REFUSED    /* the coordinator refused the token (UNAUTHENTICATED/PERMISSION_DENIED) */
} rs_conn_state;

typedef struct rs_sync_status {
	rs_conn_state state;
	uint64_t applied_version;
	uint64_t head_version;
	int64_t last_heartbeat_ms; /* wall clock, 0 = never */
	int64_t last_event_ms;     /* wall clock of the last stream event, 0 = never */
	int64_t connected_since_ms;
	bool ready; /* a first snapshot has been applied */
	uint64_t reconnects;
	uint64_t snapshots;
	uint64_t deltas;
	uint64_t resyncs;
	int last_code; /* gRPC status of the last ended stream or connect */
	char last_error[512];
} rs_sync_status;

bool sync_start(void);
/* Ends the stream and joins the thread. */
void sync_stop(void);
void sync_status(rs_sync_status *out);
uint64_t sync_applied_version(void);
bool sync_ready(void);
/* Mutex and condition variable broadcast whenever the applied version grows. */
void sync_version_lock(void);
void sync_version_unlock(void);
/* Called by the sync thread: publishes a new applied version and wakes waiters. */
void sync_publish_version(uint64_t v);
/* Called every ~200 ms by another thread: ends a stream that has been silent too long. */
void sync_watchdog(void);

/* ------------------------------------------------------------- index.c */

/* A snapshot under construction, swapped in whole at its last chunk. */
typedef struct rs_build rs_build;

rs_build *rs_build_new(void);
/* Adds one mock document (JSON text) of the snapshot; bad documents are logged and skipped. */
void rs_build_add(rs_build *b, const char *ns, const char *id, const char *json, uint64_t version);
/*
 * rs_build_add in two steps: rs_prepare() (any thread, no lock; NULL = rejected
 * and logged) and rs_build_put() (the build's owner, in stream order; consumes p).
 */
struct ms_prepared;
struct ms_prepared *rs_prepare(const char *ns, const char *id, const char *json);
void rs_build_put(rs_build *b, const char *ns, const char *id, struct ms_prepared *p,
                  uint64_t version);
/* Swaps the built index in at version; b is consumed. */
void rs_build_commit(rs_build *b, uint64_t version);
void rs_build_abort(rs_build *b);
/* Applies one delta; a bad document removes the old mock and is logged. */
void rs_apply_upsert(uint64_t version, const char *ns, const char *id, const char *json);
void rs_apply_delete(uint64_t version, const char *ns, const char *id);
size_t rs_mocks_loaded(void);
bool rs_index_init(void);
void rs_index_free(void);

/* ------------------------------------------------------------- coord.c */

/*
 * Resolves one request through Coordinator.Resolve on a pooled connection.
 * Returns 1 and *response (new reference, the coordinator's response object)
 * when a mock matched, 0 when none matched, -1 when the coordinator could not
 * be asked (err filled).
 */
int coord_resolve(const char *ns, const char *method, const char *path, const char *query,
                  const char *headers_json, const char *body, size_t body_len, uint64_t seed,
                  json_t **response, char *err, size_t errlen);
bool coord_pool_init(int size);
void coord_pool_free(void);

/* ------------------------------------------------------------ report.c */

/* Queues a request-log row (takes the references to req and response); never blocks. */
void report_log(const char *mock_id, json_t *req, json_t *response, int64_t called_at_ms);
/* Queues one miss (headers/body borrowed and copied); never blocks. */
void report_undefined(const char *ns, const char *method, const char *path, json_t *headers, json_t *body);
bool report_start(void);
/* Flushes what is queued (one attempt), then joins. */
void report_stop(void);
uint64_t report_dropped(void);
uint64_t report_sent(void);

/* ------------------------------------------------------------- stats.c */

typedef struct rs_stats {
	uint64_t requests; /* mock traffic requests answered */
	uint64_t hits;     /* served from the local snapshot (cache hits) */
	uint64_t remote;   /* resolved through the coordinator */
	uint64_t misses;   /* no mock matched */
	uint64_t errors;   /* 5xx answered */
	uint64_t waits;    /* requests that waited for X-Mockarty-Min-Version */
	uint64_t wait_timeouts;
} rs_stats;

extern atomic_ullong st_requests, st_hits, st_remote, st_misses, st_errors, st_waits, st_wait_timeouts;

/* Records one answered request and its latency in microseconds. */
void stats_observe(int64_t usec);
/* Records one Coordinator.Resolve round trip (a stateful mock's shared-state operation). */
void stats_observe_remote(int64_t usec);
/*
 * Appends the duration histograms (mockarty_resolver_request_duration_seconds,
 * mockarty_request_duration_seconds) and the store-operation counter and
 * histogram to b (metrics.h).
 */
struct mt_buf;
void stats_histogram_prom(struct mt_buf *b);
/* Samples the counters (call once a second); keeps a 10 s window. */
void stats_tick(void);
/* Requests per second and latency percentiles (seconds) over the last window. */
void stats_window(double *rps, double *p50, double *p90, double *p99);

/* -------------------------------------------------------------- http.c */

bool http_start(void);
/*
 * Starts a libmicrohttpd daemon on bind:port (epoll, suspend/resume allowed,
 * threads > 1 = a pool of polling threads) with the three callbacks. NULL on
 * failure (logged).
 */
struct MHD_Daemon *rs_mhd_start(const char *bind, int port, int threads, MHD_AccessHandlerCallback handler,
                                MHD_RequestCompletedCallback completed,
                                void *(*urilog)(void *, const char *, struct MHD_Connection *));
void http_stop(void);
/* The /metrics text (malloc'd). */
char *metrics_text(void);
/* The /api/status document (new reference). */
json_t *status_json(void);

/* ------------------------------------------------------------ waiter.c */

/*
 * Resumes conn at deadline_ms (monotonic), or as soon as the applied version
 * reaches min_version when min_version > 0. *flag is set to 1 when it resumed
 * because the version arrived, 2 on the deadline. The connection must already
 * be suspended by the caller.
 */
bool waiter_add(struct MHD_Connection *conn, int64_t deadline_ms, uint64_t min_version, int *flag);
/* Wakes the waiter: the applied version changed. */
void waiter_kick(void);
bool waiter_start(void);
/* Resumes everything still waiting (flag 2) and joins. */
void waiter_stop(void);

/* ------------------------------------------------------------ dashboard.c */

bool dashboard_start(void);
void dashboard_stop(void);

/* ------------------------------------------------------------ clocks */

int64_t rs_now_ms(void);  /* monotonic */
int64_t rs_wall_ms(void); /* unix ms */

#endif /* MOCKARTY_RESOLVER_H */
