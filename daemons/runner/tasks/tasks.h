/*
 * tasks/tasks.h - the task slots of runner-agent (tasks/tasks.c).
 *
 * tasks/ owns the slots (MAX_CONCURRENT), accepting offered tasks, the lease
 * of each task and its heartbeats, results delivery (AppendResults,
 * CompleteTask, with retries) and the history the dashboard shows. It may
 * call the base layer (runner.h), link/ (session_unary, session_status, the
 * watchdog) and exec/ (it fills an rn_exec for each run); nothing calls back
 * into it but main.c and dashboard/.
 */
#ifndef MOCKARTY_RUNNER_TASKS_H
#define MOCKARTY_RUNNER_TASKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

bool tasks_init(void);
/* Starts the control thread; tick (may be NULL) runs on it about once a second. */
bool tasks_start(void (*tick)(void));
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

#endif /* MOCKARTY_RUNNER_TASKS_H */
