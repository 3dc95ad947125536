/*
 * dashboard/dashboard.h - what an operator reads from mock-resolver.
 *
 * dashboard/ owns the dashboard port (DASHBOARD_PORT: the page of ui/resolver,
 * /api/status, /health, /metrics; dashboard/dashboard.c), the /api/status
 * and /metrics documents both ports answer (dashboard/status.c) and the
 * request statistics behind them (dashboard/stats.c). It may call the base
 * layer (resolver.h) and link/ (sync status, report counters, mocks loaded);
 * serving/ records into it, and nothing of it calls serving/.
 */
#ifndef MOCKARTY_RESOLVER_DASHBOARD_H
#define MOCKARTY_RESOLVER_DASHBOARD_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

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
/* One closed second for the dashboard's charts (rates per second, latencies in seconds). */
#define RS_SAMPLES 120
typedef struct rs_sample {
	int64_t t; /* unix seconds at the end of the second */
	double rps, p50, p95, p99;
	double hits;   /* answered by a mock (local or through the coordinator) per second */
	double misses; /* no mock matched, per second */
} rs_sample;

/* Samples the counters (call once a second); keeps a 10 s window and the 120 s chart ring. */
void stats_tick(void);
/*
 * Copies the ring's samples newer than since (unix seconds; 0 for all), oldest first, into
 * out (max entries); returns how many.
 */
int stats_samples(rs_sample *out, int max, int64_t since);
/* Requests per second and latency percentiles (seconds) over the last window. */
void stats_window(double *rps, double *p50, double *p90, double *p99);

/* ------------------------------------------------------------ status.c */

/* The /metrics text (malloc'd). */
char *metrics_text(void);
/* The /api/status document (new reference). */
json_t *status_json(void);
/*
 * The chart ring as a JSON array (new reference) of {t, rps, p50, p95, p99, hits, misses}:
 * the samples newer than since (unix seconds; 0 for all 120).
 */
json_t *samples_json(int64_t since);
/* The uptime as Go duration text ("1h2m3s"). */
void uptime_text(char *out, size_t cap);

/* ------------------------------------------------------------ dashboard.c */

/*
 * The pages of the dashboard port (uiserve.h): the resolver's main sets &ui_assets_resolver,
 * the generated-server frame &ui_assets_genserver. NULL: only /api/status is served.
 */
struct ui_table;
extern const struct ui_table *dashboard_ui;
/*
 * An embedder's extra fields of /api/status (new reference merged into the document; NULL for
 * none): the generated-server frame adds its identity and per-route counters.
 */
extern json_t *(*dashboard_extra)(void);
bool dashboard_start(void);
void dashboard_stop(void);

#endif /* MOCKARTY_RESOLVER_DASHBOARD_H */
