/*
 * dashboard/stats.c - request counters and latency distributions for /metrics and the
 * dashboard.
 *
 * Every served request lands here, so recording is a few relaxed atomic adds
 * into fixed arrays - no lock, no allocation. Two views of the same
 * observations: a Prometheus histogram with fixed `le` bounds (common/metrics.c,
 * shared with the admin node so both expose the same buckets), and a fine
 * log-linear histogram (4 sub-buckets per power of two of microseconds, about
 * 19 % resolution) from which the dashboard reads p50/p90/p99 and requests/s
 * over a sliding 10 s window of 1 s samples. Each tick also closes one
 * one-second sample (req/s, p50/p95/p99 of that second, hits and misses per
 * second) into a ring of the last 120, so a dashboard opened late draws the
 * last two minutes at once.
 */
#include "resolver.h"
#include "dashboard/dashboard.h"

#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

atomic_ullong st_requests, st_hits, st_remote, st_misses, st_errors, st_waits, st_wait_timeouts;

static mt_histogram duration;        /* mock traffic, delays excluded */
static mt_histogram remote_duration; /* Coordinator.Resolve round trips (stateful mocks) */
static atomic_ullong count_all;

#define NFINE 128
static atomic_ullong fine[NFINE];

#define WINDOW 11 /* samples kept: 10 s of history */
static struct {
	pthread_mutex_t mu;
	uint64_t fine[WINDOW][NFINE];
	uint64_t count[WINDOW];
	int64_t at_ms[WINDOW];
	int n, pos; /* samples taken (capped), next slot */
	uint64_t hits[WINDOW], misses[WINDOW];
	/* the chart ring: one closed second per tick, oldest at (hpos - hn) */
	rs_sample hist[RS_SAMPLES];
	int hn, hpos;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER};

static double quantile(const uint64_t *d, uint64_t n, double q);

/* Fine bucket of a latency in microseconds. */
static int
fine_index(uint64_t us)
{
	int e, idx;

	if (us < 4)
		return (int)us;
	e = 63 - __builtin_clzll(us);
	idx = 4 + (e - 2) * 4 + (int)((us >> (e - 2)) & 3);
	return idx < NFINE ? idx : NFINE - 1;
}

/* Lower edge (us) of a fine bucket, and its width. */
static void
fine_range(int idx, double *lo, double *width)
{
	int e, sub;

	if (idx < 4) {
		*lo = idx;
		*width = 1;
		return;
	}
	e = (idx - 4) / 4 + 2;
	sub = (idx - 4) % 4;
	*width = (double)(1ULL << (e - 2));
	*lo = (double)(1ULL << e) + sub * *width;
}

void
stats_observe(int64_t usec)
{
	if (usec < 0)
		usec = 0;
	mt_hist_observe(&duration, usec);
	atomic_fetch_add_explicit(&count_all, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&fine[fine_index((uint64_t)usec)], 1, memory_order_relaxed);
}

void
stats_observe_remote(int64_t usec)
{
	mt_hist_observe(&remote_duration, usec);
}

void
stats_histogram_prom(mt_buf *b)
{
	/* one observation set under the api-compat name and under the guide's name */
	mt_family(b, "mockarty_resolver_request_duration_seconds", "histogram",
	          "Time from a complete mock request to its response being queued (delays and "
	          "Min-Version waits excluded).");
	mt_hist_write(b, "mockarty_resolver_request_duration_seconds", "", &duration);
	mt_family(b, "mockarty_request_duration_seconds", "histogram",
	          "Time from a complete mock request to its response being queued (delays excluded).");
	mt_hist_write(b, "mockarty_request_duration_seconds", "", &duration);
	/* a stateful mock's state (stores, use counters, oneOf cursors) lives in the database */
	mt_family(b, "mockarty_store_operations_total", "counter",
	          "Shared-state operations: stateful mock resolutions through the coordinator.");
	mt_printf(b, "mockarty_store_operations_total{operation=\"resolve\",source=\"mock\"} %llu\n",
	          mt_hist_count(&remote_duration));
	mt_family(b, "mockarty_store_operation_duration_seconds", "histogram",
	          "Latency of shared-state operations (Coordinator.Resolve round trips).");
	mt_hist_write(b, "mockarty_store_operation_duration_seconds", "operation=\"resolve\",source=\"mock\"",
	              &remote_duration);
}

/* Closes the second between the samples at slots prev and cur into the chart ring (W.mu held). */
static void
close_second(int prev, int cur)
{
	uint64_t d[NFINE], n = 0;
	int64_t ms = W.at_ms[cur] - W.at_ms[prev];
	rs_sample *s = &W.hist[W.hpos];

	for (int i = 0; i < NFINE; i++) {
		d[i] = W.fine[cur][i] - W.fine[prev][i];
		n += d[i];
	}
	if (ms <= 0)
		ms = 1000;
	s->t = rs_wall_ms() / 1000;
	s->rps = (double)(W.count[cur] - W.count[prev]) * 1000.0 / (double)ms;
	s->p50 = quantile(d, n, 0.50);
	s->p95 = quantile(d, n, 0.95);
	s->p99 = quantile(d, n, 0.99);
	s->hits = (double)(W.hits[cur] - W.hits[prev]) * 1000.0 / (double)ms;
	s->misses = (double)(W.misses[cur] - W.misses[prev]) * 1000.0 / (double)ms;
	W.hpos = (W.hpos + 1) % RS_SAMPLES;
	if (W.hn < RS_SAMPLES)
		W.hn++;
}

void
stats_tick(void)
{
	int cur;

	pthread_mutex_lock(&W.mu);
	cur = W.pos;
	for (int i = 0; i < NFINE; i++)
		W.fine[cur][i] = atomic_load_explicit(&fine[i], memory_order_relaxed);
	W.count[cur] = atomic_load(&count_all);
	W.hits[cur] = atomic_load(&st_hits) + atomic_load(&st_remote);
	W.misses[cur] = atomic_load(&st_misses);
	W.at_ms[cur] = rs_now_ms();
	if (W.n > 0)
		close_second((cur + WINDOW - 1) % WINDOW, cur);
	W.pos = (W.pos + 1) % WINDOW;
	if (W.n < WINDOW)
		W.n++;
	pthread_mutex_unlock(&W.mu);
}

int
stats_samples(rs_sample *out, int max, int64_t since)
{
	int k = 0;

	pthread_mutex_lock(&W.mu);
	for (int i = 0; i < W.hn && k < max; i++) {
		const rs_sample *s = &W.hist[(W.hpos + RS_SAMPLES - W.hn + i) % RS_SAMPLES];

		if (s->t > since)
			out[k++] = *s;
	}
	pthread_mutex_unlock(&W.mu);
	return k;
}

/* Quantile q of the bucket differences d (total n), interpolated inside the bucket; seconds. */
static double
quantile(const uint64_t *d, uint64_t n, double q)
{
	uint64_t want, acc = 0;

	if (n == 0)
		return 0;
	want = (uint64_t)(q * (double)n + 0.5);
	if (want < 1)
		want = 1;
	for (int i = 0; i < NFINE; i++) {
		if (acc + d[i] >= want) {
			double lo, w;

			fine_range(i, &lo, &w);
			return (lo + w * (double)(want - acc) / (double)d[i]) / 1e6;
		}
		acc += d[i];
	}
	return 0;
}

void
stats_window(double *rps, double *p50, double *p90, double *p99)
{
	uint64_t d[NFINE], now_count, n;
	int oldest, newest;

	*rps = *p50 = *p90 = *p99 = 0;
	pthread_mutex_lock(&W.mu);
	if (W.n < 1) {
		pthread_mutex_unlock(&W.mu);
		return;
	}
	oldest = W.n < WINDOW ? 0 : W.pos;
	newest = (W.pos + WINDOW - 1) % WINDOW;
	/* the window ends now (live counters), starts at the oldest sample */
	now_count = atomic_load(&count_all);
	n = 0;
	for (int i = 0; i < NFINE; i++) {
		d[i] = atomic_load_explicit(&fine[i], memory_order_relaxed) - W.fine[oldest][i];
		n += d[i];
	}
	/* requests/s over the last full second, for a responsive number */
	{
		int64_t s1 = rs_now_ms() - W.at_ms[newest];
		uint64_t c1 = now_count - W.count[newest];
		int prev = (newest + WINDOW - 1) % WINDOW;

		if (s1 < 500 && W.n > 1) {
			s1 = rs_now_ms() - W.at_ms[prev];
			c1 = now_count - W.count[prev];
		}
		*rps = s1 > 0 ? (double)c1 * 1000.0 / (double)s1 : 0;
	}
	pthread_mutex_unlock(&W.mu);
	*p50 = quantile(d, n, 0.50);
	*p90 = quantile(d, n, 0.90);
	*p99 = quantile(d, n, 0.99);
}
