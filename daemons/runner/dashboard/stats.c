/*
 * dashboard/stats.c - the runner process's own CPU and memory use, for the dashboard and
 * /metrics (process_cpu_seconds_total, process_resident_memory_bytes).
 *
 * Constraint: a load test is exactly when an operator looks at these numbers,
 * so reading them must cost nothing measurable - two small /proc reads, one a
 * second from the control thread; the dashboard and /metrics read the last
 * sample. CPU % is over the last sampling interval, 100 = one core busy.
 * Each sample also closes one point of the dashboard's charts (running tasks,
 * their mean progress, CPU) into a ring of the last 120, so a page opened late
 * draws the last two minutes at once.
 */
#include "runner.h"
#include "dashboard/dashboard.h"
#include "tasks/tasks.h"

#include <jansson.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
	pthread_mutex_t mu;
	double cpu_s;   /* utime + stime at the last sample */
	int64_t at_ms;  /* monotonic time of the last sample */
	double percent; /* over the last interval */
	uint64_t rss;   /* bytes */
	rn_sample hist[RN_SAMPLES];
	int hn, hpos;
} ST = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Running tasks and their mean progress (percent; -1 when none reports one) from tasks/. */
static void
task_figures(int *running, double *progress)
{
	json_t *j = tasks_status_json(), *t;
	size_t i;
	double sum = 0;
	int with = 0;

	*running = 0;
	*progress = -1;
	if (j == NULL)
		return;
	json_array_foreach(json_object_get(j, "running"), i, t)
	{
		json_t *p = json_object_get(json_object_get(t, "progress"), "percent");

		(*running)++;
		if (json_is_number(p)) {
			sum += json_number_value(p);
			with++;
		}
	}
	if (with > 0)
		*progress = sum / with;
	json_decref(j);
}

/* utime + stime of this process in seconds from /proc/self/stat; -1 when unreadable. */
static double
read_cpu_seconds(void)
{
	char buf[1024], *p;
	unsigned long long ut, stt;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n;
	long hz = sysconf(_SC_CLK_TCK);

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: fields restart after the last ')' */
	p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	/* after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14)
	 * stime(15) */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
		return -1;
	return (double)(ut + stt) / (double)(hz > 0 ? hz : 100);
}

/* Resident set size in bytes from /proc/self/statm; 0 when unreadable. */
static uint64_t
read_rss(void)
{
	unsigned long long size, res;
	FILE *f = fopen("/proc/self/statm", "r");
	int ok;

	if (f == NULL)
		return 0;
	ok = fscanf(f, "%llu %llu", &size, &res) == 2;
	fclose(f);
	return ok ? (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

void
stats_sample(void)
{
	double cpu = read_cpu_seconds();
	uint64_t rss = read_rss();
	int64_t now = rn_now_ms();
	int running;
	double progress;
	rn_sample *h;

	task_figures(&running, &progress);
	pthread_mutex_lock(&ST.mu);
	if (cpu >= 0) {
		if (ST.at_ms > 0 && now > ST.at_ms)
			ST.percent = 100.0 * (cpu - ST.cpu_s) * 1000.0 / (double)(now - ST.at_ms);
		ST.cpu_s = cpu;
		ST.at_ms = now;
	}
	ST.rss = rss;
	h = &ST.hist[ST.hpos];
	h->t = rn_wall_ms() / 1000;
	h->running = running;
	h->progress = progress;
	h->cpu = ST.percent;
	ST.hpos = (ST.hpos + 1) % RN_SAMPLES;
	if (ST.hn < RN_SAMPLES)
		ST.hn++;
	pthread_mutex_unlock(&ST.mu);
}

int
stats_samples(rn_sample *out, int max, int64_t since)
{
	int k = 0;

	pthread_mutex_lock(&ST.mu);
	for (int i = 0; i < ST.hn && k < max; i++) {
		const rn_sample *s = &ST.hist[(ST.hpos + RN_SAMPLES - ST.hn + i) % RN_SAMPLES];

		if (s->t > since)
			out[k++] = *s;
	}
	pthread_mutex_unlock(&ST.mu);
	return k;
}

double
stats_cpu_percent(void)
{
	double v;

	pthread_mutex_lock(&ST.mu);
	v = ST.percent;
	pthread_mutex_unlock(&ST.mu);
	return v;
}

double
stats_cpu_seconds(void)
{
	double v = read_cpu_seconds(); /* fresh: a counter must never lag a scrape */

	return v < 0 ? 0 : v;
}

uint64_t
stats_rss_bytes(void)
{
	uint64_t v;

	pthread_mutex_lock(&ST.mu);
	v = ST.rss;
	pthread_mutex_unlock(&ST.mu);
	return v ? v : read_rss();
}
