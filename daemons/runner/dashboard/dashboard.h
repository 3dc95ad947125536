/*
 * dashboard/dashboard.h - the dashboard port of runner-agent
 * (dashboard/dashboard.c: the HTML dashboard, /api/status, /health,
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

/* Samples CPU time (call about once a second) for the CPU % over the last interval. */
void stats_sample(void);
double stats_cpu_percent(void);
double stats_cpu_seconds(void);
uint64_t stats_rss_bytes(void);

#endif /* MOCKARTY_RUNNER_DASHBOARD_H */
