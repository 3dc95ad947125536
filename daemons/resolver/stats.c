/*
 * stats.c - request counters and latency distributions for /metrics and the
 * dashboard.
 *
 * Every served request lands here, so recording is two relaxed atomic adds into
 * fixed arrays - no lock, no allocation. Two views of the same observations:
 * a Prometheus histogram with fixed `le` bounds (cumulative, as scrapers
 * expect), and a fine log-linear histogram (4 sub-buckets per power of two of
 * microseconds, about 19 % resolution) from which the dashboard reads
 * p50/p90/p99 and requests/s over a sliding 10 s window of 1 s samples.
 */
#include "resolver.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

atomic_ullong st_requests, st_hits, st_remote, st_misses, st_errors, st_waits, st_wait_timeouts;

/* Prometheus bounds in seconds. */
static const double le_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                   0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
#define NLE (sizeof(le_bounds) / sizeof(le_bounds[0]))
static atomic_ullong le_counts[NLE + 1]; /* last = +Inf only */
static atomic_ullong sum_usec;
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
} W = {.mu = PTHREAD_MUTEX_INITIALIZER};

void
buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = *cap - *len;

		va_start(ap, fmt);
		n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (*buf != NULL && (size_t)n < room) {
			*len += (size_t)n;
			return;
		}
		size_t ncap = *cap ? *cap : 1024;
		while (ncap < *len + (size_t)n + 1)
			ncap *= 2;
		char *nb = realloc(*buf, ncap);
		if (nb == NULL)
			return;
		*buf = nb;
		*cap = ncap;
	}
}

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
	double s;
	size_t i;

	if (usec < 0)
		usec = 0;
	s = (double)usec / 1e6;
	for (i = 0; i < NLE && s > le_bounds[i]; i++)
		;
	atomic_fetch_add_explicit(&le_counts[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sum_usec, (unsigned long long)usec, memory_order_relaxed);
	atomic_fetch_add_explicit(&count_all, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&fine[fine_index((uint64_t)usec)], 1, memory_order_relaxed);
}

void
stats_histogram_prom(char **buf, size_t *len, size_t *cap)
{
	uint64_t cum = 0;

	buf_printf(buf, len, cap,
	           "# HELP mockarty_resolver_request_duration_seconds Time from a complete request to its "
	           "response being queued (delays and Min-Version waits excluded).\n"
	           "# TYPE mockarty_resolver_request_duration_seconds histogram\n");
	for (size_t i = 0; i < NLE; i++) {
		cum += atomic_load(&le_counts[i]);
		buf_printf(buf, len, cap,
		           "mockarty_resolver_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
		           le_bounds[i], (unsigned long long)cum);
	}
	cum += atomic_load(&le_counts[NLE]);
	buf_printf(buf, len, cap,
	           "mockarty_resolver_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	           "mockarty_resolver_request_duration_seconds_sum %.6f\n"
	           "mockarty_resolver_request_duration_seconds_count %llu\n",
	           (unsigned long long)cum, (double)atomic_load(&sum_usec) / 1e6, (unsigned long long)cum);
}

void
stats_tick(void)
{
	pthread_mutex_lock(&W.mu);
	for (int i = 0; i < NFINE; i++)
		W.fine[W.pos][i] = atomic_load_explicit(&fine[i], memory_order_relaxed);
	W.count[W.pos] = atomic_load(&count_all);
	W.at_ms[W.pos] = rs_now_ms();
	W.pos = (W.pos + 1) % WINDOW;
	if (W.n < WINDOW)
		W.n++;
	pthread_mutex_unlock(&W.mu);
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
