/*
 * exec/exec.h - the executors of runner-agent: api_test (exec/apitest.c, the
 * API-test engine of daemons/tester) and performance (exec/perf.c, the load
 * generator of daemons/loadgen).
 *
 * exec/ owns running one task's payload to its end and turning it into an
 * outcome. It sees a task only through the rn_exec context below, which
 * tasks/ fills in: the payload, a stop flag, and callbacks for progress and
 * result chunks. It may call the base layer (runner.h), daemons/common,
 * daemons/tester and daemons/loadgen; it never includes or calls tasks/ or
 * link/ (leases, heartbeats and delivery are tasks/' business).
 */
#ifndef MOCKARTY_RUNNER_EXEC_H
#define MOCKARTY_RUNNER_EXEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* What an executor sees of the task it runs (filled in by tasks/; valid for the whole run). */
typedef struct rn_exec {
	const char *task_id;
	const char *kind;      /* "api_test", "performance" */
	const json_t *payload; /* the task's payload object (borrowed) */
	/* nonzero once the task must stop (cancelled, lease lost or shutting down) */
	const volatile int *stop;
	void *owner; /* passed back to the two callbacks */
	/* Replaces the progress document (takes the reference); sent with the next heartbeat. */
	void (*set_progress)(void *owner, json_t *progress);
	/* Queues one result chunk (takes the reference) with the next sequence number. */
	void (*add_chunk)(void *owner, json_t *data);
} rn_exec;

static inline bool
rn_exec_should_stop(const rn_exec *x)
{
	return *x->stop != 0;
}

/* Outcome of an executor. */
typedef struct rn_outcome {
	const char *status; /* "completed", "failed", "cancelled" */
	json_t *result;     /* final result document (owned by the outcome), may be NULL */
	char error[512];    /* for "failed" */
	json_t *summary;    /* counts for the dashboard history (owned), may be NULL */
} rn_outcome;

/* Runs an api_test task to its end; fills out (never leaves status NULL). */
void exec_apitest(const rn_exec *x, rn_outcome *out);
/* Runs a performance task to its end; fills out. */
void exec_perf(const rn_exec *x, rn_outcome *out);

/* Parses a duration: a JSON integer (ms) or a string like "500ms", "30s", "2m", "1h", "1m30s".
 * Returns ms >= 0, or -1 when it cannot be read. */
int64_t rn_parse_duration(const json_t *v);

#endif /* MOCKARTY_RUNNER_EXEC_H */
