/*
 * dashboard/dashboard.h - the dashboard port of runner-agent
 * (dashboard/dashboard.c: the page of ui/runner, /api/status, /health,
 * /health/ready, /metrics) and the process's own CPU and memory use
 * (dashboard/stats.c).
 *
 * dashboard/ owns what an operator reads from the runner. It may call the
 * base layer (runner.h), link/ (session_status) and tasks/ (status and
 * metrics documents); nothing but main.c calls it (stats_sample runs on the
 * tasks/ control thread through the tick main.c passes to tasks_start).
 */
#ifndef MOCKARTY_RUNNER_DASHBOARD_H
#define MOCKARTY_RUNNER_DASHBOARD_H

#include <stdbool.h>
#include <stdint.h>

bool dashboard_start(void);
void dashboard_stop(void);

/* One point of the dashboard's charts, closed by stats_sample(). */
#define RN_SAMPLES 120
typedef struct rn_sample {
	int64_t t;       /* unix seconds */
	int running;     /* tasks running */
	double progress; /* mean progress of the running tasks in percent; -1 when none reports one */
	double cpu;      /* process CPU %, 100 = one core */
} rn_sample;

/*
 * Samples CPU time, memory and the running tasks (call about once a second, not holding the
 * tasks/ lock): the CPU % over the last interval and one point of the chart ring.
 */
void stats_sample(void);
/* Copies the ring's points newer than since (unix seconds; 0: all), oldest first; returns how many. */
int stats_samples(rn_sample *out, int max, int64_t since);
double stats_cpu_percent(void);
double stats_cpu_seconds(void);
uint64_t stats_rss_bytes(void);

#endif /* MOCKARTY_RUNNER_DASHBOARD_H */
