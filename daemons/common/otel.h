/*
 * otel.h - OpenTelemetry tracing for the daemons: W3C trace context
 * (traceparent) parsing and propagation, parent-based sampling with a
 * trace-id-ratio root sampler, spans with a few typed attributes, and one
 * exporter thread that batches finished spans to an OTLP/HTTP JSON or a
 * Zipkin v2 JSON endpoint (Jaeger through its OTLP endpoint).
 *
 * Configuration (environment, read once by otel_init, see docs/telemetry.md):
 *   OTEL_EXPORTER_TYPE      none (default) | otlp | jaeger | zipkin
 *   OTEL_EXPORTER_ENDPOINT  collector URL; with no path otlp/jaeger post to
 *                           /v1/traces and zipkin to /api/v2/spans
 *   OTEL_SAMPLING_RATE      0.0 .. 1.0 (default 1.0), for root spans only
 *   OTEL_SERVICE_NAME       service.name of every span (default "mockarty")
 *
 * Cost model, which shaped the API:
 *   - tracing off (type none): every instrumented site is one predictable
 *     branch on otel_enabled(); nothing else runs.
 *   - tracing on, request not sampled: the span is a plain struct the caller
 *     embeds (in its per-request state or on the stack); ids come from a
 *     per-thread getrandom() buffer; no allocation, no lock. Its context is
 *     still propagated (flags 00) so downstream services agree not to sample.
 *   - sampled: one malloc of the span record at start; ending it pushes the
 *     pointer into a bounded lock-free queue (a full queue drops the span and
 *     counts it; the caller never blocks). Serialisation and HTTP happen on
 *     the exporter thread only.
 *
 * Threading: otel_init/otel_shutdown once, from the main thread, before and
 * after the other threads. Every other function is thread-safe; one span is
 * used by one thread at a time (it may move between threads, e.g. through a
 * queue, if handed over with the usual happens-before).
 */
#ifndef MOCKARTY_OTEL_H
#define MOCKARTY_OTEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "00-<32 hex>-<16 hex>-<2 hex>" plus NUL. */
#define OTEL_TRACEPARENT_SIZE 56
/* "traceparent: " + the value + NUL, for a curl_slist line. */
#define OTEL_HEADER_SIZE 72

/* Span kinds, numbered as OTLP's SpanKind. */
typedef enum otel_kind {
	OTEL_KIND_INTERNAL = 1,
	OTEL_KIND_SERVER = 2,
	OTEL_KIND_CLIENT = 3,
	OTEL_KIND_PRODUCER = 4,
	OTEL_KIND_CONSUMER = 5,
} otel_kind;

/* A span context: what travels in traceparent. */
typedef struct otel_ctx {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t flags; /* bit 0: sampled */
	bool valid;
} otel_ctx;

typedef struct otel_rec otel_rec; /* the recorded data of a sampled span (otel.c) */

/*
 * A span. Zero-initialised (calloc, = {0}) it is "not started": every call
 * below accepts it and does nothing. After otel_span_start* it carries its own
 * context (valid whenever tracing is on) and, when sampled, a record that
 * otel_span_end hands to the exporter.
 */
typedef struct otel_span {
	otel_ctx ctx;
	otel_rec *rec; /* NULL = not recording */
} otel_span;

/* Set by otel_init before any thread starts; read-only afterwards. */
extern bool otel_on;

/* True when tracing is configured (OTEL_EXPORTER_TYPE is not none). */
static inline bool
otel_enabled(void)
{
	return __builtin_expect(otel_on, 0);
}

/* True when s is sampled and its attributes are worth computing. */
static inline bool
otel_recording(const otel_span *s)
{
	return s->rec != NULL;
}

/* ------------------------------------------------------------ lifecycle */

/*
 * Reads the OTEL_* variables. component ("admin", "resolver", "runner") is
 * recorded as the resource attribute mockarty.component. Returns true when
 * the configuration is valid: type none leaves tracing off and starts
 * nothing; otherwise the exporter thread is started. Returns false with a
 * message naming the variable in err (unknown type, a rate that is not a
 * number in 0..1, an endpoint that is not an http(s) URL, out of memory).
 * Call after curl_global_init() and before starting serving threads.
 */
bool otel_init(const char *component, char *err, size_t errlen);

/*
 * Flushes what is queued (the exporter sends its last batches) and stops
 * the exporter, waiting at most timeout_ms; spans still queued after that are
 * lost. Spans ended after this call are dropped. Safe when tracing is off.
 */
void otel_shutdown(int timeout_ms);

/* Counters since otel_init (monotonic), for /metrics and tests. */
typedef struct otel_stats {
	uint64_t started;       /* sampled spans started */
	uint64_t exported;      /* spans the collector accepted (2xx) */
	uint64_t dropped;       /* spans dropped: queue full or shut down */
	uint64_t export_failed; /* spans in batches the collector did not accept */
	uint64_t export_errors; /* failed export requests */
} otel_stats;
void otel_get_stats(otel_stats *out);

/* ------------------------------------------------------------ trace context */

/*
 * Parses a traceparent header value strictly (W3C Trace Context level 1):
 * exactly 55 characters, version "00", lower-case hex, dashes in place,
 * trace id and span id not all zero. Returns false (out->valid = false) for
 * NULL or anything else: the caller then starts a new trace.
 */
bool otel_traceparent_parse(const char *s, otel_ctx *out);

/* Formats a valid context as a traceparent value into out (56 bytes). */
void otel_traceparent_format(const otel_ctx *c, char out[OTEL_TRACEPARENT_SIZE]);

/*
 * The root sampling decision of the trace-id-ratio sampler: true when the
 * last 8 bytes of trace_id, read big-endian and shifted right by one, are
 * below rate * 2^63 (rate >= 1 samples everything, rate <= 0 nothing). The
 * same trace id gets the same answer in every process using the same rate.
 */
bool otel_ratio_sampled(const uint8_t trace_id[16], double rate);

/* ------------------------------------------------------------ spans */

/*
 * Starts s as a child of parent (NULL or !parent->valid: a new trace). The
 * sampled decision is the parent's flag when there is a parent, else the
 * ratio sampler with OTEL_SAMPLING_RATE. name is copied (truncated to 127
 * bytes). Does nothing (s stays not started) when tracing is off.
 */
void otel_span_start(otel_span *s, const char *name, otel_kind kind, const otel_ctx *parent);

/*
 * Starts s under a remote parent given as a traceparent value (from an
 * incoming request header, gRPC metadata, or a value stored with a queued
 * event or task). NULL, "" or a malformed value starts a new trace.
 */
void otel_span_start_remote(otel_span *s, const char *name, otel_kind kind, const char *traceparent);

/* Renames a started span (e.g. once the route is known). */
void otel_span_set_name(otel_span *s, const char *name);

/*
 * Attributes. key must be a string with static storage duration (a literal):
 * only the pointer is kept. String values are copied (truncated to 127
 * bytes); setting a key again replaces its value. At most 16 attributes per
 * span; further ones are ignored. No-ops on a span that is not recording.
 */
void otel_span_set_str(otel_span *s, const char *key, const char *value);
void otel_span_set_int(otel_span *s, const char *key, int64_t value);

/*
 * http.status_code plus the span status of the HTTP semantic conventions:
 * error for 5xx, and for client spans 4xx too.
 */
void otel_span_set_http_status(otel_span *s, int status);

/* Marks the span failed with a message (copied, truncated). */
void otel_span_set_error(otel_span *s, const char *message);

/*
 * Ends s: a recording span is timestamped and queued for export (never
 * blocking; a full queue drops it). s becomes "not started" again, so a
 * second end is a no-op.
 */
void otel_span_end(otel_span *s);

/*
 * The traceparent value of s itself (for a child elsewhere) into out; false
 * when s carries no context (tracing off or not started).
 */
bool otel_span_traceparent(const otel_span *s, char out[OTEL_TRACEPARENT_SIZE]);

/*
 * The "traceparent: <value>" header line of s into out, ready for
 * curl_slist_append; false when s carries no context.
 */
bool otel_inject_header(const otel_span *s, char out[OTEL_HEADER_SIZE]);

/* ------------------------------------------------------------ the current span */

/*
 * A per-thread "current span", so that code deep in a request (the proxy,
 * the coordinator client, mockserve) can reach the serving span without
 * every signature in between carrying it. otel_set_current returns the
 * previous one: restore it when the request is done on this thread.
 */
otel_span *otel_set_current(otel_span *s);
otel_span *otel_current(void);

/* The current span's context, or NULL when there is none. */
const otel_ctx *otel_current_ctx(void);

/*
 * Notes on the current span which mock answered: mockarty.namespace (ns),
 * mockarty.mock_id (mock_id, may be NULL on a miss) and http.route (route,
 * may be NULL). Called by mockserve; no-op without a recording current span.
 */
void otel_current_note_mock(const char *ns, const char *mock_id, const char *route);

#endif /* MOCKARTY_OTEL_H */
