/*
 * metrics.h - the Prometheus text exposition shared by the admin node and the
 * mock resolvers: a growing text buffer with family headers and escaped label
 * values, a lock-free fixed-bucket histogram, the bounded route registry behind
 * mockarty_mock_resolutions_total{route,status}, process metrics and the
 * Go-style uptime string of the health endpoints.
 *
 * Recording (mt_hist_observe, mt_resolution) is a few relaxed atomic adds into
 * fixed tables - no lock, no allocation - because it runs once per mock
 * request on the serving threads. Registering a route (mt_route_slot) takes a
 * mutex and runs when a mock is loaded, never per request.
 */
#ifndef MOCKARTY_METRICS_H
#define MOCKARTY_METRICS_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------- text buffer */

typedef struct mt_buf {
	char *s; /* NUL-terminated text, malloc'd; the caller frees it */
	size_t len, cap;
	bool oom; /* an append failed: the text is incomplete */
} mt_buf;

/* Appends printf-style text; on out-of-memory sets b->oom and keeps what it has. */
void mt_printf(mt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "# HELP name help\n# TYPE name type\n" (help must hold no newline or backslash). */
void mt_family(mt_buf *b, const char *name, const char *type, const char *help);

/* Appends v as a label value (quotes excluded), escaping \, " and newline. */
void mt_label_value(mt_buf *b, const char *v);

/* A one-sample family: header plus "name value". */
void mt_gauge(mt_buf *b, const char *name, const char *help, double value);
void mt_counter(mt_buf *b, const char *name, const char *help, unsigned long long value);

/* -------------------------------------------------------------- histogram */

/* Bucket bounds (seconds) shared by every histogram: 100 us .. 10 s. */
#define MT_NLE 16

typedef struct mt_histogram {
	atomic_ullong le[MT_NLE + 1]; /* non-cumulative; the last is (10 s, +Inf) */
	atomic_ullong sum_usec;
} mt_histogram;

/* Records one observation of usec microseconds (negative counts as 0). */
void mt_hist_observe(mt_histogram *h, int64_t usec);

/*
 * Writes the _bucket (cumulative), _sum and _count samples of h under name;
 * labels is "" or a label list without braces (`operation="read"`), to which
 * le is added. The family header is the caller's (one header, many series).
 */
void mt_hist_write(mt_buf *b, const char *name, const char *labels, mt_histogram *h);

/* Total observations of h. */
unsigned long long mt_hist_count(mt_histogram *h);

/* --------------------------------------------------- resolutions by route */

/*
 * Route slots: 0 is "unmatched" (no mock answered), 1 is "other" (more than
 * MT_MAX_ROUTES distinct route templates were registered); the rest are
 * route templates in registration order, never freed, so that a slot number
 * stays valid for the life of the process whatever mocks come and go.
 */
#define MT_MAX_ROUTES 500
#define MT_ROUTE_UNMATCHED 0
#define MT_ROUTE_OTHER 1

/*
 * The slot of a route template (e.g. "/api/users/:id"); registers it on first
 * use. NULL or "" gives MT_ROUTE_OTHER. Thread-safe; takes a mutex.
 */
int mt_route_slot(const char *route);

/*
 * The route template label of a mock document's JSON (http.route, else
 * http.routePattern, else pathPrefix followed by "/" and "*", else "*"), written
 * into out (truncated to cap).
 */
void mt_mock_route(const json_t *doc, char *out, size_t cap);

/*
 * Counts one answered mock-traffic request: slot from mt_route_slot() (or a
 * result's route_slot), status the HTTP status sent. Lock-free. Each route
 * keeps up to 8 distinct status codes; further ones count as status "other".
 */
void mt_resolution(int slot, int status);

/* Writes the mockarty_mock_resolutions_total family (header included). */
void mt_resolutions_write(mt_buf *b);

/*
 * The route template of a slot ("unmatched", "other" or a registered template;
 * "other" for a slot out of range). Never freed; for span attributes (otel.c).
 */
const char *mt_route_name(int slot);

/* Number of route templates registered (slots 0 and 1 excluded). */
int mt_routes_registered(void);

/* ------------------------------------------------------------ the process */

/*
 * process_cpu_seconds_total, process_resident_memory_bytes,
 * process_open_fds and process_start_time_seconds from /proc/self (families
 * are skipped when /proc cannot be read).
 */
void mt_process_write(mt_buf *b);

/* ------------------------------------------------------------ health */

/*
 * Formats seconds as a Go duration with hours, minutes and seconds always
 * present ("0h0m45s", "72h15m30s"; time.ParseDuration reads it) - the
 * "uptime" of every /health answer, the guide's example form.
 */
void mt_go_duration(long long seconds, char *out, size_t cap);

#endif /* MOCKARTY_METRICS_H */
