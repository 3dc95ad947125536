/*
 * otel.c - OpenTelemetry tracing for the daemons: trace context, sampling,
 * span records, a bounded lock-free queue of finished spans and the exporter
 * thread (OTLP/HTTP JSON for otlp and jaeger, Zipkin v2 JSON for zipkin).
 *
 * The constraint that shaped it is the serving hot path: the resolver and the
 * admin node answer ~65k requests/s on two cores, so tracing must cost one
 * branch when it is off, no allocation and no lock for a request that is not
 * sampled, and never make a serving thread wait for the collector. Hence
 * spans are caller-owned structs, ids come from a per-thread getrandom()
 * buffer, a sampled span's record is handed over through a fixed ring of
 * pointers (Vyukov's bounded queue: one CAS per push, drop when full), and
 * everything slow - JSON, HTTP, retries of logging - happens on one exporter
 * thread that wakes for a full batch (512 spans) or once a second.
 */
#include "otel.h"

#include "log.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define MAX_ATTRS 16
#define ATTR_LEN 128
#define NAME_LEN 128
#define QUEUE_CAP 4096 /* power of two */
#define BATCH_MAX 512
#define EXPORT_INTERVAL_MS 1000
#define EXPORT_TIMEOUT_MS 5000
#define ERROR_LOG_INTERVAL_S 30

bool otel_on;

typedef enum exporter_type { EXP_NONE = 0, EXP_OTLP, EXP_JAEGER, EXP_ZIPKIN } exporter_type;

typedef struct otel_attr {
	const char *key; /* static storage */
	bool is_int;
	int64_t i;
	char s[ATTR_LEN];
} otel_attr;

struct otel_rec {
	otel_ctx ctx;
	uint8_t parent_span_id[8];
	bool has_parent;
	otel_kind kind;
	uint64_t start_ns, end_ns; /* CLOCK_REALTIME */
	bool error;
	char name[NAME_LEN];
	char status_msg[ATTR_LEN];
	int nattrs;
	otel_attr attrs[MAX_ATTRS];
};

/* ------------------------------------------------------------ configuration */

static struct {
	exporter_type type;
	double rate;
	char *url;
	char *service;
	char *component;
} cfg;

/* Copies the variable's value, or def when unset or empty (NULL when out of memory). */
static char *
env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return strdup(v != NULL && v[0] != '\0' ? v : def);
}

/*
 * Checks url is an absolute http(s) URL with a host and returns a copy with
 * default_path appended when it has no path (or "/"). NULL with err filled
 * otherwise.
 */
static char *
endpoint_url(const char *url, const char *default_path, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *path = NULL, *out = NULL;
	CURLUcode rc;

	if (u == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen,
		         "OTEL_EXPORTER_ENDPOINT \"%s\" is not a URL (expected http://host:port[/path])",
		         url);
		goto done;
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		snprintf(err, errlen,
		         "OTEL_EXPORTER_ENDPOINT \"%s\": scheme \"%s\" is not supported (http or https)", url,
		         scheme);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK || path[0] == '\0' ||
	    strcmp(path, "/") == 0) {
		if (curl_url_set(u, CURLUPART_PATH, default_path, 0) != CURLUE_OK) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
	}
	if (curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK) {
		snprintf(err, errlen, "OTEL_EXPORTER_ENDPOINT \"%s\" is not a URL", url);
		out = NULL;
	}
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_url_cleanup(u);
	if (out != NULL) { /* a curl allocation: move it to malloc'd memory */
		char *copy = strdup(out);

		curl_free(out);
		out = copy;
		if (out == NULL)
			snprintf(err, errlen, "out of memory");
	}
	return out;
}

/* Parses OTEL_SAMPLING_RATE; false with err when it is not a number in 0..1. */
static bool
parse_rate(const char *s, double *out, char *err, size_t errlen)
{
	char *end;
	double v;

	if (s == NULL || s[0] == '\0') {
		*out = 1.0;
		return true;
	}
	errno = 0;
	v = strtod(s, &end);
	while (*end == ' ')
		end++;
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0.0 || v > 1.0) {
		snprintf(err, errlen, "OTEL_SAMPLING_RATE \"%s\" is not a number between 0.0 and 1.0", s);
		return false;
	}
	*out = v;
	return true;
}

/* ------------------------------------------------------------ randomness */

/*
 * Ids come from getrandom() (the kernel CSPRNG), read 256 bytes at a time
 * into a per-thread buffer so a span costs a memcpy, not a system call.
 */
static _Thread_local struct {
	uint8_t buf[256];
	size_t pos;
} rnd = {.pos = 256};

static void
random_bytes(uint8_t *out, size_t n)
{
	while (n > 0) {
		size_t take;

		if (rnd.pos >= sizeof(rnd.buf)) {
			ssize_t got = getrandom(rnd.buf, sizeof(rnd.buf), 0);

			if (got != (ssize_t)sizeof(rnd.buf)) {
				/* getrandom on Linux >= 3.17 does not fail for 256 bytes; be safe anyway */
				struct timespec ts;

				clock_gettime(CLOCK_MONOTONIC, &ts);
				for (size_t i = 0; i < sizeof(rnd.buf); i++)
					rnd.buf[i] ^=
					    (uint8_t)((uint64_t)ts.tv_nsec * 2654435761u >> (i % 24));
			}
			rnd.pos = 0;
		}
		take = sizeof(rnd.buf) - rnd.pos;
		if (take > n)
			take = n;
		memcpy(out, rnd.buf + rnd.pos, take);
		rnd.pos += take;
		out += take;
		n -= take;
	}
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* A random id that is not all zero (all-zero ids are invalid in W3C trace context). */
static void
random_id(uint8_t *out, size_t n)
{
	do
		random_bytes(out, n);
	while (all_zero(out, n));
}

/* ------------------------------------------------------------ trace context */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is invalid in traceparent */
}

static bool
parse_hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static void
to_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

bool
otel_traceparent_parse(const char *s, otel_ctx *out)
{
	otel_ctx c = {0};

	out->valid = false;
	if (s == NULL || strnlen(s, 56) != 55)
		return false;
	if (s[0] != '0' || s[1] != '0' || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return false;
	if (!parse_hex(s + 3, c.trace_id, 16) || !parse_hex(s + 36, c.span_id, 8) ||
	    !parse_hex(s + 53, &c.flags, 1))
		return false;
	if (all_zero(c.trace_id, 16) || all_zero(c.span_id, 8))
		return false;
	c.valid = true;
	*out = c;
	return true;
}

void
otel_traceparent_format(const otel_ctx *c, char out[OTEL_TRACEPARENT_SIZE])
{
	out[0] = '0';
	out[1] = '0';
	out[2] = '-';
	to_hex(c->trace_id, 16, out + 3);
	out[35] = '-';
	to_hex(c->span_id, 8, out + 36);
	out[52] = '-';
	to_hex(&c->flags, 1, out + 53);
}

bool
otel_ratio_sampled(const uint8_t trace_id[16], double rate)
{
	uint64_t x = 0;

	if (rate >= 1.0)
		return true;
	if (!(rate > 0.0))
		return false;
	for (int i = 8; i < 16; i++)
		x = x << 8 | trace_id[i];
	return (x >> 1) < (uint64_t)(rate * 9223372036854775808.0);
}

/* ------------------------------------------------------------ the queue */

typedef struct cell {
	atomic_size_t seq;
	otel_rec *rec;
} cell;

static cell *ring;
static atomic_size_t enq_pos;
static size_t deq_pos;        /* exporter thread only */
static atomic_size_t queued;  /* approximate number of records in the ring */
static atomic_bool accepting; /* false before init and after shutdown starts */

static atomic_ullong n_started, n_exported, n_dropped, n_export_failed, n_export_errors;

static pthread_t exporter;
static bool exporter_running;
static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cv;
static bool stopping; /* under wake_mu */

/* Pushes r; false when the ring is full (the caller drops r). Any thread. */
static bool
q_push(otel_rec *r)
{
	size_t pos = atomic_load_explicit(&enq_pos, memory_order_relaxed);

	for (;;) {
		cell *c = &ring[pos & (QUEUE_CAP - 1)];
		size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		intptr_t dif = (intptr_t)seq - (intptr_t)pos;

		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(
			        &enq_pos, &pos, pos + 1, memory_order_relaxed, memory_order_relaxed)) {
				c->rec = r;
				atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
				return true;
			}
		} else if (dif < 0) {
			return false;
		} else {
			pos = atomic_load_explicit(&enq_pos, memory_order_relaxed);
		}
	}
}

/* Pops the oldest record, NULL when empty. Exporter thread only. */
static otel_rec *
q_pop(void)
{
	cell *c = &ring[deq_pos & (QUEUE_CAP - 1)];
	size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
	otel_rec *r;

	if ((intptr_t)seq - (intptr_t)(deq_pos + 1) < 0)
		return NULL;
	r = c->rec;
	atomic_store_explicit(&c->seq, deq_pos + QUEUE_CAP, memory_order_release);
	deq_pos++;
	atomic_fetch_sub_explicit(&queued, 1, memory_order_relaxed);
	return r;
}

/* ------------------------------------------------------------ spans */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void
otel_span_start(otel_span *s, const char *name, otel_kind kind, const otel_ctx *parent)
{
	otel_rec *r;
	bool sampled;

	s->rec = NULL;
	s->ctx.valid = false;
	if (!otel_on)
		return;
	if (parent != NULL && parent->valid) {
		memcpy(s->ctx.trace_id, parent->trace_id, 16);
		sampled = (parent->flags & 1) != 0;
	} else {
		random_id(s->ctx.trace_id, 16);
		sampled = otel_ratio_sampled(s->ctx.trace_id, cfg.rate);
	}
	random_id(s->ctx.span_id, 8);
	s->ctx.flags = sampled ? 1 : 0;
	s->ctx.valid = true;
	if (!sampled || !atomic_load_explicit(&accepting, memory_order_relaxed))
		return;
	r = malloc(sizeof(*r));
	if (r == NULL) {
		atomic_fetch_add_explicit(&n_dropped, 1, memory_order_relaxed);
		return;
	}
	r->ctx = s->ctx;
	r->has_parent = parent != NULL && parent->valid;
	if (r->has_parent)
		memcpy(r->parent_span_id, parent->span_id, 8);
	r->kind = kind;
	r->start_ns = now_ns();
	r->end_ns = 0;
	r->error = false;
	r->status_msg[0] = '\0';
	r->nattrs = 0;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "span");
	s->rec = r;
	atomic_fetch_add_explicit(&n_started, 1, memory_order_relaxed);
}

void
otel_span_start_remote(otel_span *s, const char *name, otel_kind kind, const char *traceparent)
{
	otel_ctx parent;

	if (!otel_on) {
		s->rec = NULL;
		s->ctx.valid = false;
		return;
	}
	otel_traceparent_parse(traceparent, &parent);
	otel_span_start(s, name, kind, &parent);
}

void
otel_span_set_name(otel_span *s, const char *name)
{
	if (s->rec != NULL && name != NULL)
		snprintf(s->rec->name, sizeof(s->rec->name), "%s", name);
}

/* The attribute slot of key (existing or new), NULL when the span is full. */
static otel_attr *
attr_slot(otel_rec *r, const char *key)
{
	for (int i = 0; i < r->nattrs; i++)
		if (r->attrs[i].key == key || strcmp(r->attrs[i].key, key) == 0)
			return &r->attrs[i];
	if (r->nattrs >= MAX_ATTRS)
		return NULL;
	r->attrs[r->nattrs].key = key;
	return &r->attrs[r->nattrs++];
}

void
otel_span_set_str(otel_span *s, const char *key, const char *value)
{
	otel_attr *a;

	if (s->rec == NULL || key == NULL || value == NULL || (a = attr_slot(s->rec, key)) == NULL)
		return;
	a->is_int = false;
	snprintf(a->s, sizeof(a->s), "%s", value);
}

void
otel_span_set_int(otel_span *s, const char *key, int64_t value)
{
	otel_attr *a;

	if (s->rec == NULL || key == NULL || (a = attr_slot(s->rec, key)) == NULL)
		return;
	a->is_int = true;
	a->i = value;
}

void
otel_span_set_http_status(otel_span *s, int status)
{
	if (s->rec == NULL)
		return;
	otel_span_set_int(s, "http.status_code", status);
	if (status >= 500 || (status >= 400 && s->rec->kind == OTEL_KIND_CLIENT)) {
		s->rec->error = true;
		snprintf(s->rec->status_msg, sizeof(s->rec->status_msg), "HTTP %d", status);
	}
}

void
otel_span_set_error(otel_span *s, const char *message)
{
	if (s->rec == NULL)
		return;
	s->rec->error = true;
	snprintf(s->rec->status_msg, sizeof(s->rec->status_msg), "%s", message ? message : "");
}

void
otel_span_end(otel_span *s)
{
	otel_rec *r = s->rec;
	size_t n;

	s->rec = NULL;
	s->ctx.valid = false;
	if (r == NULL)
		return;
	r->end_ns = now_ns();
	if (!atomic_load_explicit(&accepting, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&n_dropped, 1, memory_order_relaxed);
		free(r);
		return;
	}
	/* counted before the push so that the exporter's decrement never runs first */
	n = atomic_fetch_add_explicit(&queued, 1, memory_order_relaxed) + 1;
	if (!q_push(r)) {
		atomic_fetch_sub_explicit(&queued, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&n_dropped, 1, memory_order_relaxed);
		free(r);
		return;
	}
	/* wake the exporter for a full batch; otherwise its 1 s timer picks the span up */
	if (n == BATCH_MAX)
		pthread_cond_signal(&wake_cv);
}

bool
otel_span_traceparent(const otel_span *s, char out[OTEL_TRACEPARENT_SIZE])
{
	if (!s->ctx.valid)
		return false;
	otel_traceparent_format(&s->ctx, out);
	return true;
}

bool
otel_inject_header(const otel_span *s, char out[OTEL_HEADER_SIZE])
{
	if (!s->ctx.valid)
		return false;
	memcpy(out, "traceparent: ", 13);
	otel_traceparent_format(&s->ctx, out + 13);
	return true;
}

static _Thread_local otel_span *current;

otel_span *
otel_set_current(otel_span *s)
{
	otel_span *prev = current;

	current = s;
	return prev;
}

otel_span *
otel_current(void)
{
	return current;
}

const otel_ctx *
otel_current_ctx(void)
{
	return current != NULL && current->ctx.valid ? &current->ctx : NULL;
}

void
otel_current_note_mock(const char *ns, const char *mock_id, const char *route)
{
	otel_span *s = current;

	if (s == NULL || s->rec == NULL)
		return;
	if (ns != NULL)
		otel_span_set_str(s, "mockarty.namespace", ns);
	if (mock_id != NULL && mock_id[0] != '\0')
		otel_span_set_str(s, "mockarty.mock_id", mock_id);
	if (route != NULL && route[0] != '\0')
		otel_span_set_str(s, "http.route", route);
}

void
otel_get_stats(otel_stats *out)
{
	out->started = atomic_load(&n_started);
	out->exported = atomic_load(&n_exported);
	out->dropped = atomic_load(&n_dropped);
	out->export_failed = atomic_load(&n_export_failed);
	out->export_errors = atomic_load(&n_export_errors);
}

/* ------------------------------------------------------------ encoding */

static json_t *
hex_string(const uint8_t *id, size_t n)
{
	char buf[40];

	to_hex(id, n, buf);
	return json_string(buf);
}

static json_t *
u64_string(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return json_string(buf);
}

/* An OTLP KeyValue with a string value. */
static json_t *
otlp_kv_str(const char *key, const char *value)
{
	return json_pack("{s:s, s:{s:s}}", "key", key, "value", "stringValue", value);
}

/*
 * The OTLP/HTTP JSON ExportTraceServiceRequest of recs[0..n): one resource
 * (service.name, mockarty.component), one scope, ids in lower-case hex and
 * 64-bit numbers as decimal strings, as the OTLP JSON mapping specifies.
 */
static json_t *
encode_otlp(otel_rec **recs, size_t n)
{
	json_t *spans = json_array(), *rattrs = json_array();

	json_array_append_new(rattrs, otlp_kv_str("service.name", cfg.service));
	json_array_append_new(rattrs, otlp_kv_str("mockarty.component", cfg.component));
	json_array_append_new(rattrs, otlp_kv_str("telemetry.sdk.name", "mockarty-otel"));
	json_array_append_new(rattrs, otlp_kv_str("telemetry.sdk.language", "c"));
	for (size_t i = 0; i < n; i++) {
		otel_rec *r = recs[i];
		json_t *sp = json_object(), *attrs = json_array();

		json_object_set_new(sp, "traceId", hex_string(r->ctx.trace_id, 16));
		json_object_set_new(sp, "spanId", hex_string(r->ctx.span_id, 8));
		if (r->has_parent)
			json_object_set_new(sp, "parentSpanId", hex_string(r->parent_span_id, 8));
		json_object_set_new(sp, "name", json_string(r->name));
		json_object_set_new(sp, "kind", json_integer(r->kind));
		json_object_set_new(sp, "startTimeUnixNano", u64_string(r->start_ns));
		json_object_set_new(sp, "endTimeUnixNano", u64_string(r->end_ns));
		for (int k = 0; k < r->nattrs; k++) {
			otel_attr *a = &r->attrs[k];

			if (a->is_int) {
				char v[24];

				snprintf(v, sizeof(v), "%lld", (long long)a->i);
				json_array_append_new(attrs, json_pack("{s:s, s:{s:s}}", "key", a->key,
				                                       "value", "intValue", v));
			} else {
				json_array_append_new(attrs, otlp_kv_str(a->key, a->s));
			}
		}
		json_object_set_new(sp, "attributes", attrs);
		if (r->error)
			json_object_set_new(sp, "status",
			                    json_pack("{s:i, s:s}", "code", 2, "message", r->status_msg));
		json_array_append_new(spans, sp);
	}
	return json_pack("{s:[{s:{s:o}, s:[{s:{s:s}, s:o}]}]}", "resourceSpans", "resource", "attributes",
	                 rattrs, "scopeSpans", "scope", "name", "mockarty", "spans", spans);
}

/* The Zipkin v2 JSON span list of recs[0..n) (timestamps in microseconds, tags as strings). */
static json_t *
encode_zipkin(otel_rec **recs, size_t n)
{
	static const char *const kinds[] = {NULL, NULL, "SERVER", "CLIENT", "PRODUCER", "CONSUMER"};
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		otel_rec *r = recs[i];
		json_t *sp = json_object(), *tags = json_object();
		uint64_t dur = r->end_ns > r->start_ns ? (r->end_ns - r->start_ns) / 1000 : 0;

		json_object_set_new(sp, "traceId", hex_string(r->ctx.trace_id, 16));
		json_object_set_new(sp, "id", hex_string(r->ctx.span_id, 8));
		if (r->has_parent)
			json_object_set_new(sp, "parentId", hex_string(r->parent_span_id, 8));
		json_object_set_new(sp, "name", json_string(r->name));
		if (r->kind >= OTEL_KIND_SERVER && r->kind <= OTEL_KIND_CONSUMER)
			json_object_set_new(sp, "kind", json_string(kinds[r->kind]));
		json_object_set_new(sp, "timestamp", json_integer((json_int_t)(r->start_ns / 1000)));
		json_object_set_new(sp, "duration", json_integer((json_int_t)(dur ? dur : 1)));
		json_object_set_new(sp, "localEndpoint", json_pack("{s:s}", "serviceName", cfg.service));
		for (int k = 0; k < r->nattrs; k++) {
			otel_attr *a = &r->attrs[k];

			if (a->is_int) {
				char v[24];

				snprintf(v, sizeof(v), "%lld", (long long)a->i);
				json_object_set_new(tags, a->key, json_string(v));
			} else {
				json_object_set_new(tags, a->key, json_string(a->s));
			}
		}
		json_object_set_new(tags, "mockarty.component", json_string(cfg.component));
		if (r->error) {
			json_object_set_new(tags, "otel.status_code", json_string("ERROR"));
			json_object_set_new(tags, "error", json_string(r->status_msg));
		}
		json_object_set_new(sp, "tags", tags);
		json_array_append_new(arr, sp);
	}
	return arr;
}

/* ------------------------------------------------------------ the exporter */

static size_t
discard_body(char *p, size_t size, size_t nmemb, void *ud)
{
	(void)p;
	(void)ud;
	return size * nmemb;
}

/* Logs an export failure at most once per ERROR_LOG_INTERVAL_S, with the count suppressed. */
static void
export_failed(size_t nspans, const char *why)
{
	static time_t last_log;
	static unsigned long suppressed;
	time_t now = time(NULL);

	atomic_fetch_add(&n_export_errors, 1);
	atomic_fetch_add(&n_export_failed, nspans);
	if (last_log != 0 && now - last_log < ERROR_LOG_INTERVAL_S) {
		suppressed++;
		return;
	}
	if (suppressed > 0)
		log_warn("otel: export to %s failed: %s (%zu spans lost; %lu more failures since the "
		         "last message)",
		         cfg.url, why, nspans, suppressed);
	else
		log_warn("otel: export to %s failed: %s (%zu spans lost)", cfg.url, why, nspans);
	last_log = now;
	suppressed = 0;
}

/* Sends recs[0..n) as one request and frees them. Exporter thread only. */
static void
export_batch(CURL *curl, otel_rec **recs, size_t n)
{
	json_t *doc = cfg.type == EXP_ZIPKIN ? encode_zipkin(recs, n) : encode_otlp(recs, n);
	char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	CURLcode rc;
	long code = 0;

	json_decref(doc);
	for (size_t i = 0; i < n; i++)
		free(recs[i]);
	if (body == NULL || hdrs == NULL) {
		export_failed(n, "out of memory");
		goto out;
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, cfg.url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)EXPORT_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "mockarty-otel/1");
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		export_failed(n, curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && code < 300) {
			atomic_fetch_add(&n_exported, n);
		} else {
			char why[64];

			snprintf(why, sizeof(why), "collector answered HTTP %ld", code);
			export_failed(n, why);
		}
	}
out:
	curl_slist_free_all(hdrs);
	free(body);
}

/* Takes up to BATCH_MAX records off the queue into recs; returns how many. */
static size_t
take_batch(otel_rec **recs)
{
	size_t n = 0;
	otel_rec *r;

	while (n < BATCH_MAX && (r = q_pop()) != NULL)
		recs[n++] = r;
	return n;
}

/*
 * The exporter: waits for a full batch or the interval, sends what is queued
 * in batches of at most BATCH_MAX, and on shutdown sends what is left.
 */
static void *
exporter_main(void *arg)
{
	CURL *curl = curl_easy_init();
	otel_rec **recs = malloc(sizeof(*recs) * BATCH_MAX);

	(void)arg;
	if (curl == NULL || recs == NULL) {
		log_error("otel: exporter cannot start (out of memory); spans will be dropped");
		atomic_store(&accepting, false);
		curl_easy_cleanup(curl);
		free(recs);
		return NULL;
	}
	for (;;) {
		bool stop;
		size_t n;
		struct timespec deadline;

		pthread_mutex_lock(&wake_mu);
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += EXPORT_INTERVAL_MS / 1000;
		while (!stopping && atomic_load_explicit(&queued, memory_order_relaxed) < BATCH_MAX) {
			if (pthread_cond_timedwait(&wake_cv, &wake_mu, &deadline) == ETIMEDOUT)
				break;
		}
		stop = stopping;
		pthread_mutex_unlock(&wake_mu);
		while ((n = take_batch(recs)) > 0) {
			export_batch(curl, recs, n);
			if (n < BATCH_MAX)
				break;
		}
		if (stop && atomic_load(&queued) == 0)
			break;
	}
	curl_easy_cleanup(curl);
	free(recs);
	return NULL;
}

/* ------------------------------------------------------------ lifecycle */

bool
otel_init(const char *component, char *err, size_t errlen)
{
	const char *type = getenv("OTEL_EXPORTER_TYPE");
	const char *def_url, *def_path;
	char *given = NULL;
	pthread_condattr_t ca;

	otel_on = false;
	if (type == NULL || type[0] == '\0' || strcasecmp(type, "none") == 0) {
		cfg.type = EXP_NONE;
	} else if (strcasecmp(type, "otlp") == 0) {
		cfg.type = EXP_OTLP;
	} else if (strcasecmp(type, "jaeger") == 0) {
		cfg.type = EXP_JAEGER;
	} else if (strcasecmp(type, "zipkin") == 0) {
		cfg.type = EXP_ZIPKIN;
	} else {
		snprintf(err, errlen,
		         "OTEL_EXPORTER_TYPE \"%s\" is not supported (none, otlp, jaeger or zipkin)", type);
		return false;
	}
	if (!parse_rate(getenv("OTEL_SAMPLING_RATE"), &cfg.rate, err, errlen))
		return false;
	if (cfg.type == EXP_NONE)
		return true;
	/* OTLP/HTTP listens on 4318 (4317 is OTLP/gRPC); Zipkin on 9411 */
	def_url = cfg.type == EXP_ZIPKIN ? "http://localhost:9411" : "http://localhost:4318";
	def_path = cfg.type == EXP_ZIPKIN ? "/api/v2/spans" : "/v1/traces";
	given = env_or("OTEL_EXPORTER_ENDPOINT", def_url);
	cfg.service = env_or("OTEL_SERVICE_NAME", "mockarty");
	cfg.component = strdup(component ? component : "");
	if (given == NULL || cfg.service == NULL || cfg.component == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	cfg.url = endpoint_url(given, def_path, err, errlen);
	if (cfg.url == NULL)
		goto fail;
	ring = calloc(QUEUE_CAP, sizeof(*ring));
	if (ring == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < QUEUE_CAP; i++)
		atomic_init(&ring[i].seq, i);
	atomic_store(&enq_pos, 0);
	deq_pos = 0;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wake_cv, &ca);
	pthread_condattr_destroy(&ca);
	stopping = false;
	atomic_store(&accepting, true);
	if (pthread_create(&exporter, NULL, exporter_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the OpenTelemetry exporter thread");
		atomic_store(&accepting, false);
		goto fail;
	}
	exporter_running = true;
	otel_on = true;
	if (strstr(given, ":4317") != NULL && cfg.type != EXP_ZIPKIN)
		log_warn("otel: OTEL_EXPORTER_ENDPOINT %s: port 4317 is OTLP/gRPC; this exporter speaks "
		         "OTLP/HTTP (JSON), normally on port 4318",
		         given);
	if (cfg.type == EXP_JAEGER && (strstr(given, ":14268") != NULL || strstr(given, ":14250") != NULL))
		log_warn("otel: OTEL_EXPORTER_ENDPOINT %s: jaeger is exported through Jaeger's OTLP/HTTP "
		         "receiver (port 4318), not the legacy collector ports",
		         given);
	log_info("otel: exporting %s spans of service %s to %s (sampling rate %g)", type, cfg.service,
	         cfg.url, cfg.rate);
	free(given);
	return true;
fail:
	free(given);
	free(cfg.url);
	free(cfg.service);
	free(cfg.component);
	free(ring);
	cfg.url = cfg.service = cfg.component = NULL;
	ring = NULL;
	return false;
}

void
otel_shutdown(int timeout_ms)
{
	struct timespec until;
	otel_stats st;

	if (!exporter_running)
		return;
	atomic_store(&accepting, false);
	pthread_mutex_lock(&wake_mu);
	stopping = true;
	pthread_cond_signal(&wake_cv);
	pthread_mutex_unlock(&wake_mu);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(exporter, NULL, &until) != 0) {
		log_warn("otel: exporter did not finish within %d ms; unsent spans are lost", timeout_ms);
		pthread_detach(exporter);
		exporter_running = false;
		otel_on = false;
		return; /* the thread still uses cfg and ring: leave them to process exit */
	}
	exporter_running = false;
	otel_on = false;
	otel_get_stats(&st);
	log_info("otel: stopped (%llu spans exported, %llu dropped, %llu failed to export)",
	         (unsigned long long)st.exported, (unsigned long long)st.dropped,
	         (unsigned long long)st.export_failed);
	free(ring);
	ring = NULL;
	free(cfg.url);
	free(cfg.service);
	free(cfg.component);
	cfg.url = cfg.service = cfg.component = NULL;
}
