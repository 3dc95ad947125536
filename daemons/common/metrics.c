/*
 * metrics.c - Prometheus text exposition shared by the admin node and the mock
 * resolvers (see metrics.h).
 *
 * The constraint that shaped it: /metrics must be cheap to keep and bounded in
 * size whatever the traffic. Per-request recording is relaxed atomic adds into
 * fixed tables (no lock on the serving threads). Series are bounded by
 * construction: routes are mock route templates (never raw request paths),
 * at most MT_MAX_ROUTES of them plus "unmatched" and "other", each with at most
 * MT_STATUS_CELLS status codes plus "other"; so a client probing a million
 * distinct paths adds no series at all.
 */
#include "metrics.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------- text buffer */

void
mt_printf(mt_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->s != NULL && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap ? b->cap : 4096;
		while (ncap < b->len + (size_t)n + 1)
			ncap *= 2;
		char *ns = realloc(b->s, ncap);
		if (ns == NULL) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
}

void
mt_family(mt_buf *b, const char *name, const char *type, const char *help)
{
	mt_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
mt_label_value(mt_buf *b, const char *v)
{
	const char *run = v;

	for (const char *p = v;; p++) {
		if (*p == '\0' || *p == '\\' || *p == '"' || *p == '\n') {
			if (p > run)
				mt_printf(b, "%.*s", (int)(p - run), run);
			if (*p == '\0')
				return;
			mt_printf(b, "%s", *p == '\n' ? "\\n" : *p == '"' ? "\\\"" : "\\\\");
			run = p + 1;
		}
	}
}

void
mt_gauge(mt_buf *b, const char *name, const char *help, double value)
{
	mt_family(b, name, "gauge", help);
	mt_printf(b, "%s %.15g\n", name, value); /* exact for integers below 1e15 */
}

void
mt_counter(mt_buf *b, const char *name, const char *help, unsigned long long value)
{
	mt_family(b, name, "counter", help);
	mt_printf(b, "%s %llu\n", name, value);
}

/* -------------------------------------------------------------- histogram */

static const double le_bounds[MT_NLE] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
/* the same bounds in microseconds, so that recording compares integers */
static const int64_t le_usec[MT_NLE] = {100,   250,    500,    1000,   2500,    5000,    10000,   25000,
                                        50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

void
mt_hist_observe(mt_histogram *h, int64_t usec)
{
	size_t i;

	if (usec < 0)
		usec = 0;
	/* le is inclusive: an observation equal to a bound counts in that bucket */
	for (i = 0; i < MT_NLE && usec > le_usec[i]; i++)
		;
	atomic_fetch_add_explicit(&h->le[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_usec, (unsigned long long)usec, memory_order_relaxed);
}

unsigned long long
mt_hist_count(mt_histogram *h)
{
	unsigned long long n = 0;

	for (size_t i = 0; i <= MT_NLE; i++)
		n += atomic_load_explicit(&h->le[i], memory_order_relaxed);
	return n;
}

void
mt_hist_write(mt_buf *b, const char *name, const char *labels, mt_histogram *h)
{
	unsigned long long cum = 0;
	const char *sep = labels[0] ? "," : "";

	/* read the buckets once, so that +Inf and _count agree within one scrape */
	for (size_t i = 0; i < MT_NLE; i++) {
		cum += atomic_load_explicit(&h->le[i], memory_order_relaxed);
		mt_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, le_bounds[i], cum);
	}
	cum += atomic_load_explicit(&h->le[MT_NLE], memory_order_relaxed);
	mt_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, cum);
	if (labels[0]) {
		mt_printf(b, "%s_sum{%s} %.6f\n", name, labels,
		          (double)atomic_load_explicit(&h->sum_usec, memory_order_relaxed) / 1e6);
		mt_printf(b, "%s_count{%s} %llu\n", name, labels, cum);
	} else {
		mt_printf(b, "%s_sum %.6f\n", name,
		          (double)atomic_load_explicit(&h->sum_usec, memory_order_relaxed) / 1e6);
		mt_printf(b, "%s_count %llu\n", name, cum);
	}
}

/* --------------------------------------------------- resolutions by route */

#define MT_STATUS_CELLS 8
#define HASH_CAP 2048 /* power of two, > 2 * (MT_MAX_ROUTES + 2) */

typedef struct status_cell {
	atomic_int code; /* 0 = free; claimed once with a CAS, never released */
	atomic_ullong n;
} status_cell;

typedef struct route_row {
	const char *name; /* set before the row is published through nrows */
	status_cell cells[MT_STATUS_CELLS];
	atomic_ullong other; /* status codes beyond the cells */
} route_row;

static route_row rows[MT_MAX_ROUTES + 2] = {{.name = "unmatched"}, {.name = "other"}};
static atomic_int nrows = 2;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static int hash_index[HASH_CAP]; /* row number, 0 = empty (rows 0 and 1 are never hashed) */

static unsigned
hash_name(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

int
mt_route_slot(const char *route)
{
	unsigned i;
	int slot = MT_ROUTE_OTHER;

	if (route == NULL || route[0] == '\0')
		return MT_ROUTE_OTHER;
	pthread_mutex_lock(&reg_mu);
	for (i = hash_name(route) & (HASH_CAP - 1);; i = (i + 1) & (HASH_CAP - 1)) {
		int r = hash_index[i];

		if (r == 0)
			break;
		if (strcmp(rows[r].name, route) == 0) {
			slot = r;
			goto out;
		}
	}
	{
		int n = atomic_load(&nrows);
		char *copy;

		if (n >= MT_MAX_ROUTES + 2 || (copy = strdup(route)) == NULL)
			goto out; /* full (or out of memory): counted as "other" */
		rows[n].name = copy;
		hash_index[i] = n;
		slot = n;
		atomic_store(&nrows, n + 1); /* publishes rows[n] to scrapes */
	}
out:
	pthread_mutex_unlock(&reg_mu);
	return slot;
}

const char *
mt_route_name(int slot)
{
	if (slot < 0 || slot >= atomic_load(&nrows))
		return "other";
	return rows[slot].name;
}

int
mt_routes_registered(void)
{
	return atomic_load(&nrows) - 2;
}

void
mt_mock_route(const json_t *doc, char *out, size_t cap)
{
	const json_t *http = json_object_get(doc, "http");
	const char *r = json_string_value(json_object_get(http, "route"));
	const char *prefix;

	if (r == NULL || r[0] == '\0')
		r = json_string_value(json_object_get(http, "routePattern"));
	if (r != NULL && r[0] != '\0') {
		snprintf(out, cap, "%s", r);
		return;
	}
	prefix = json_string_value(json_object_get(doc, "pathPrefix"));
	if (prefix != NULL && prefix[0] != '\0') {
		size_t l = strlen(prefix);

		while (l > 0 && prefix[l - 1] == '/')
			l--;
		snprintf(out, cap, "%.*s/*", (int)l, prefix);
		return;
	}
	snprintf(out, cap, "*");
}

void
mt_resolution(int slot, int status)
{
	route_row *row;

	if (slot < 0 || slot >= atomic_load_explicit(&nrows, memory_order_relaxed))
		slot = MT_ROUTE_OTHER;
	row = &rows[slot];
	if (status <= 0 || status > 999) {
		atomic_fetch_add_explicit(&row->other, 1, memory_order_relaxed);
		return;
	}
	for (int i = 0; i < MT_STATUS_CELLS; i++) {
		status_cell *c = &row->cells[i];
		int code = atomic_load_explicit(&c->code, memory_order_relaxed);

		if (code == 0) {
			int expect = 0;

			/* claim the free cell; if another thread won it, code says for what */
			if (atomic_compare_exchange_strong(&c->code, &expect, status))
				code = status;
			else
				code = expect;
		}
		if (code == status) {
			atomic_fetch_add_explicit(&c->n, 1, memory_order_relaxed);
			return;
		}
	}
	atomic_fetch_add_explicit(&row->other, 1, memory_order_relaxed);
}

void
mt_resolutions_write(mt_buf *b)
{
	int n = atomic_load(&nrows);

	mt_family(b, "mockarty_mock_resolutions_total", "counter",
	          "Mock traffic requests answered, by the matched mock's route template (\"unmatched\" "
	          "when no mock answered) and HTTP status.");
	for (int r = 0; r < n; r++) {
		unsigned long long other;

		for (int i = 0; i < MT_STATUS_CELLS; i++) {
			int code = atomic_load(&rows[r].cells[i].code);

			if (code == 0)
				break;
			mt_printf(b, "mockarty_mock_resolutions_total{route=\"");
			mt_label_value(b, rows[r].name);
			mt_printf(b, "\",status=\"%d\"} %llu\n", code,
			          (unsigned long long)atomic_load(&rows[r].cells[i].n));
		}
		other = atomic_load(&rows[r].other);
		if (other > 0) {
			mt_printf(b, "mockarty_mock_resolutions_total{route=\"");
			mt_label_value(b, rows[r].name);
			mt_printf(b, "\",status=\"other\"} %llu\n", other);
		}
	}
}

/* ------------------------------------------------------------ the process */

void
mt_process_write(mt_buf *b)
{
	FILE *f = fopen("/proc/self/stat", "r");
	char line[2048];
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	unsigned long long utime = 0, stime = 0, start = 0, btime = 0;
	long long rss = 0;
	bool ok = false;

	if (f != NULL) {
		if (fgets(line, sizeof(line), f) != NULL) {
			/* fields after the parenthesised command name (which may hold spaces) */
			char *p = strrchr(line, ')');

			ok = p != NULL &&
			     sscanf(p + 2,
			            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
			            "%*d %*d %llu %*u %lld",
			            &utime, &stime, &start, &rss) == 4;
		}
		fclose(f);
	}
	if (ok && ticks > 0) {
		mt_family(b, "process_cpu_seconds_total", "counter",
		          "Total user and system CPU time spent in seconds.");
		mt_printf(b, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / (double)ticks);
		mt_gauge(b, "process_resident_memory_bytes", "Resident memory size in bytes.",
		         (double)rss * (double)page);
		f = fopen("/proc/stat", "r");
		if (f != NULL) {
			while (fgets(line, sizeof(line), f) != NULL)
				if (sscanf(line, "btime %llu", &btime) == 1)
					break;
			fclose(f);
		}
		if (btime > 0)
			mt_gauge(b, "process_start_time_seconds",
			         "Start time of the process since unix epoch in seconds.",
			         (double)btime + (double)start / (double)ticks);
	}
	{
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;
		long n = 0;

		if (d != NULL) {
			while ((e = readdir(d)) != NULL)
				if (e->d_name[0] != '.')
					n++;
			closedir(d);
			mt_gauge(b, "process_open_fds", "Number of open file descriptors.", (double)(n - 1));
		}
	}
}

/* ------------------------------------------------------------ health */

void
mt_go_duration(long long s, char *out, size_t cap)
{
	if (s < 0)
		s = 0;
	/* always all three units: Go's time.ParseDuration reads it, and so does a /\d+h\d+m\d+s/ check */
	snprintf(out, cap, "%lldh%lldm%llds", s / 3600, (s / 60) % 60, s % 60);
}
