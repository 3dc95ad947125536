/*
 * runner.h - interfaces between the modules of runner-agent: configuration
 * (config.c), the coordinator session (session.c: the Connect stream and the
 * unary calls), the task slots, heartbeats and completion (tasks.c), the two
 * executors (exec_apitest.c, exec_perf.c), process statistics (stats.c) and
 * the dashboard / health / metrics port (dashboard.c).
 */
#ifndef MOCKARTY_RUNNER_H
#define MOCKARTY_RUNNER_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUNNER_RELEASE_ID "0.1.0"

/* ------------------------------------------------------------- config.c */

#define RN_CAP_API_TEST 1u
#define RN_CAP_PERFORMANCE 2u

typedef struct rn_config {
	char *coordinator_addr; /* COORDINATOR_ADDR, required, host:port */
	char *api_token;        /* API_TOKEN, required, mki_... */
	char *runner_name;      /* RUNNER_NAME, default: hostname */
	bool shared;            /* SHARED, false */
	char *ns;               /* NAMESPACE, sandbox (sent but ignored by the coordinator when shared) */
	int max_concurrent;     /* MAX_CONCURRENT, 5 */
	unsigned caps;          /* CAPABILITIES, api_test: RN_CAP_* bits */
	int dashboard_port;     /* DASHBOARD_PORT, 6770 */
	char *http_bind_addr;   /* HTTP_BIND_ADDR, 127.0.0.1 (as mock-resolver) */
	int log_level;          /* LOG_LEVEL, info */
} rn_config;

extern rn_config rn_cfg;

/*
 * Fills cfg from the environment. Returns 0, or 2 with a message naming the
 * variable in err; cfg then holds nothing that needs freeing. Strings are
 * malloc'd; release with rn_config_free.
 */
int rn_config_load(rn_config *cfg, char *err, size_t errlen);
void rn_config_free(rn_config *cfg);
/* Prints the --help text (every variable with its default) to stdout. */
void rn_config_help(const char *argv0);

/* ------------------------------------------------------------ session.c */

typedef enum rn_conn_state {
	RN_CONNECTING = 0, /* never connected yet, or reconnecting */
	RN_CONNECTED,      /* a Connect stream is open and a Welcome arrived */
	RN_DISCONNECTED,   /* the last attempt failed; waiting out the backoff */
	RN_AUTH_REFUSED    /* UNAUTHENTICATED / PERMISSION_DENIED: the token is not accepted */
} rn_conn_state;

extern const char *const rn_state_names[];

typedef struct rn_session_status {
	rn_conn_state state;
	char runner_id[64];
	uint32_t lease_ms;
	uint32_t heartbeat_ms;
	int64_t connected_since_ms; /* wall clock */
	int64_t last_event_ms;      /* wall clock of the last stream event */
	uint64_t reconnects;
	uint64_t offers;
	uint64_t pings;
	int last_code;
	char last_error[512];
} rn_session_status;

bool session_start(void);
/* Ends the Connect stream and joins its thread (unary calls keep working). */
void session_stop(void);
void session_status(rn_session_status *out);
bool session_connected(void);
/* Copies the runner id of the current (or last) stream; false when none yet. */
bool session_runner_id(char *out, size_t cap);
/* Ends a stream that has been silent for too long (called about once a second). */
void session_watchdog(void);

/*
 * One unary call on the Runners service (method = "AcceptTask", ...) over a
 * small pool of mutex-guarded connections (the gRPC client runs one call at a
 * time). req/len are the packed request; on MK_GRPC_OK *resp (malloc'd) holds
 * the response. Returns the gRPC code; st->message says why on failure. An
 * UNAUTHENTICATED / PERMISSION_DENIED answer marks the session auth-refused.
 */
int session_unary(const char *method, const uint8_t *req, size_t len, int timeout_ms, uint8_t **resp,
                  size_t *resp_len, char *errmsg, size_t errcap);
void session_pool_free(void);

/* -------------------------------------------------------------- tasks.c */

/* One task this runner holds a lease on. Executors read the payload and report through it. */
typedef struct rn_task rn_task;

bool tasks_init(void);
bool tasks_start(void);
/* An offer (task_id non-empty) or "take the oldest" (task_id NULL) hint from the stream. */
void tasks_offer(const char *task_id);
/* The user cancelled task_id (stream CancelTask or heartbeat). */
void tasks_cancel(const char *task_id);
/* The stream (re)connected with new timers: wake the control thread. */
void tasks_kick(void);
/* Forgets pending offers (the stream ended: they name a view that is gone). */
void tasks_clear_offers(void);
/* SIGTERM: stop taking tasks. */
void tasks_drain(void);
/* Waits up to timeout_ms for running tasks to finish; returns how many are still running. */
int tasks_wait_idle(int timeout_ms);
/* Stops what still runs without completing it (leases expire), joins the control thread. */
void tasks_stop(void);
int tasks_running(void);
/* Dashboard / metrics documents: running tasks, history, counters. New references. */
json_t *tasks_status_json(void);
/* Appends the task metrics (Prometheus text) to buf. */
void tasks_metrics(char **buf, size_t *len, size_t *cap);

/* What the executors see of a task. */
const char *task_id(const rn_task *t);
const char *task_kind(const rn_task *t);
const json_t *task_payload(const rn_task *t);
/* Nonzero once the task must stop (cancelled, lease lost or shutting down). */
const volatile int *task_stop_flag(const rn_task *t);
bool task_should_stop(const rn_task *t);
/* Replaces the progress document (takes the reference); sent with the next heartbeat. */
void task_set_progress(rn_task *t, json_t *progress);
/* Queues one result chunk (takes the reference) with the next sequence number and tries
 * to send what is queued once, without waiting (the rest goes before completion). */
void task_add_chunk(rn_task *t, json_t *data);
/* Heartbeat interval the coordinator asked for, ms. */
int task_heartbeat_ms(void);

/* Outcome of an executor. */
typedef struct rn_outcome {
	const char *status; /* "completed", "failed", "cancelled" */
	json_t *result;     /* final result document (owned by the outcome), may be NULL */
	char error[512];    /* for "failed" */
	json_t *summary;    /* counts for the dashboard history (owned), may be NULL */
} rn_outcome;

/* --------------------------------------------------------- executors */

/* Runs an api_test task to its end; fills out (never leaves status NULL). */
void exec_apitest(rn_task *t, rn_outcome *out);
/* Runs a performance task to its end; fills out. */
void exec_perf(rn_task *t, rn_outcome *out);

/* Parses a duration: a JSON integer (ms) or a string like "500ms", "30s", "2m", "1h", "1m30s".
 * Returns ms >= 0, or -1 when it cannot be read. */
int64_t rn_parse_duration(const json_t *v);

/* -------------------------------------------------------------- stats.c */

/* Samples CPU time (call about once a second) for the CPU % over the last interval. */
void stats_sample(void);
double stats_cpu_percent(void);
double stats_cpu_seconds(void);
uint64_t stats_rss_bytes(void);

/* Appends printf output to a growing buffer (*buf malloc'd, NUL-terminated). */
void buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---------------------------------------------------------- dashboard.c */

bool dashboard_start(void);
void dashboard_stop(void);

/* -------------------------------------------------------------- clocks */

int64_t rn_now_ms(void);  /* monotonic */
int64_t rn_wall_ms(void); /* unix ms */
/* ISO-8601 UTC text of a unix ms time into out. */
void rn_iso_time(int64_t wall_ms, char *out, size_t cap);

#endif /* MOCKARTY_RUNNER_H */
