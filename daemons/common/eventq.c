/*
 * eventq.c - bounded queue of webhook work produced by mock serving
 * (per-mock callbacks and mock.resolved events) and its drain thread; API in
 * eventq.h.
 *
 * The constraint is the hot path: a node answers tens of thousands of requests
 * a second and a webhook must never slow that down or grow memory without
 * bound when the database or the coordinator is slow. So a serving thread
 * does the least it can: an event is formatted by hand into one short string
 * (no JSON library), a callback is rendered only when the ring has room, and
 * either is appended to a fixed ring under a mutex held for a pointer store.
 * A full ring drops the item and counts it: losing a notification is
 * acceptable, delaying a mock response is not. The drain thread swaps the
 * whole ring out in one lock and does all the I/O outside it.
 */
#include "eventq.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EQ_DEFAULT_CAP 10000
#define EQ_MAX_CAP 1000000
#define EQ_TICK_MS 100
#define EQ_DEFAULT_RATE 200 /* mock.resolved events per second handed to the sink (docs/webhooks.md) */

/* One queued item: kind 'C' (callback) or 'E' (event) and its JSON text. */
typedef struct eq_item {
	char kind;
	char *json;
} eq_item;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	eq_item *ring;
	size_t cap, head, count;
	bool running, stop;
	pthread_t thread;
	eq_sink_fn sink;
	void *arg;
	atomic_long rate;    /* events/s accepted (WEBHOOK_EVENTS_MAX_RATE); 0 = no limit */
	atomic_llong window; /* the second (CLOCK_MONOTONIC_COARSE) WIN.n counts in */
	atomic_bool want_events;
	atomic_size_t depth;   /* mirror of count, read without the lock */
	atomic_size_t inhand;  /* taken off the ring by the drain thread, not yet through the sink */
	atomic_size_t cap_pub; /* mirror of cap (0 = not running), read without the lock */
	atomic_ullong ev_queued, ev_shed, cb_queued, cb_shed;
} Q = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/*
 * At full load nearly every mock.resolved event is shed by the cap, on every
 * serving thread, hundreds of thousands of times a second. What those threads
 * write must not share a cache line with what they all read (Q above), nor
 * with each other: the events counted in this second's window live on a line
 * of their own, written only up to the cap and once a second after that (a
 * full window is seen with a plain load), and the shed count is striped, one
 * line per serving thread (eq_counters_get adds the stripes up).
 */
static struct {
	_Alignas(64) atomic_long n;
} WIN;

#define SHED_STRIPES 16
static struct {
	_Alignas(64) atomic_ullong n;
} shed_stripe[SHED_STRIPES];
static atomic_uint stripe_next;
static _Thread_local int my_stripe = -1;

/* One event shed on the serving path. */
static void
count_event_shed(void)
{
	if (my_stripe < 0)
		my_stripe = (int)(atomic_fetch_add_explicit(&stripe_next, 1, memory_order_relaxed) % SHED_STRIPES);
	atomic_fetch_add_explicit(&shed_stripe[my_stripe].n, 1, memory_order_relaxed);
}

void
eq_set_want_events(bool on)
{
	atomic_store_explicit(&Q.want_events, on, memory_order_relaxed);
}

bool
eq_want_events(void)
{
	return atomic_load_explicit(&Q.want_events, memory_order_relaxed);
}

void
eq_count_shed(uint64_t ncb, uint64_t nev)
{
	if (ncb)
		atomic_fetch_add_explicit(&Q.cb_shed, ncb, memory_order_relaxed);
	if (nev)
		atomic_fetch_add_explicit(&Q.ev_shed, nev, memory_order_relaxed);
}

/* Cheap early test (no lock): true when a push would surely be shed. */
static bool
ring_full(void)
{
	size_t cap = atomic_load_explicit(&Q.cap_pub, memory_order_relaxed);

	return cap == 0 || atomic_load_explicit(&Q.depth, memory_order_relaxed) >= cap;
}

/* Appends json (taking it) or sheds it; never blocks beyond the short mutex. */
static void
push(char kind, char *json)
{
	bool wake;

	if (json == NULL) {
		eq_count_shed(kind == 'C', kind == 'E');
		return;
	}
	pthread_mutex_lock(&Q.mu);
	if (!Q.running || Q.count >= Q.cap) {
		pthread_mutex_unlock(&Q.mu);
		free(json);
		eq_count_shed(kind == 'C', kind == 'E');
		return;
	}
	Q.ring[(Q.head + Q.count) % Q.cap] = (eq_item){kind, json};
	Q.count++;
	atomic_store_explicit(&Q.depth, Q.count, memory_order_relaxed);
	wake = Q.count == (Q.cap + 1) / 2; /* half full: drain now, not at the tick */
	pthread_mutex_unlock(&Q.mu);
	if (wake)
		pthread_cond_signal(&Q.cv);
	atomic_fetch_add_explicit(kind == 'C' ? &Q.cb_queued : &Q.ev_queued, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------- events */

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), 0 when invalid. */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned min;
	unsigned cp;

	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2, cp = p[0] & 0x1F, min = 0x80;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3, cp = p[0] & 0x0F, min = 0x800;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4, cp = p[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((p[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[k] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* Appends s as a JSON string (quotes included) to out[*o..cap); false when it does not fit. */
static bool
put_str(char *out, size_t cap, size_t *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = *o;

	if (i + 2 > cap)
		return false;
	out[i++] = '"';
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (i + 7 > cap)
			return false;
		if (*p == '"' || *p == '\\') {
			out[i++] = '\\';
			out[i++] = (char)*p;
		} else if (*p < 0x20) {
			out[i++] = '\\';
			out[i++] = 'u';
			out[i++] = '0';
			out[i++] = '0';
			out[i++] = hex[*p >> 4];
			out[i++] = hex[*p & 15];
		} else if (*p < 0x80) {
			out[i++] = (char)*p;
		} else {
			/* paths are percent-decoded bytes: valid UTF-8 stays, anything else becomes
			 * '?', so one odd path cannot make PostgreSQL refuse the whole batch */
			size_t n = utf8_len(p);

			if (n == 0) {
				out[i++] = '?';
			} else {
				memcpy(out + i, p, n);
				i += n;
				p += n - 1;
			}
		}
	}
	out[i++] = '"';
	*o = i;
	return true;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" of now; the date part is cached per thread per second. */
static void
now_rfc3339(char out[32])
{
	static _Thread_local time_t last;
	static _Thread_local char prefix[24];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != last) {
		struct tm tm;

		gmtime_r(&ts.tv_sec, &tm);
		strftime(prefix, sizeof(prefix), "%Y-%m-%dT%H:%M:%S", &tm);
		last = ts.tv_sec;
	}
	snprintf(out, 32, "%.20s.%03dZ", prefix, (int)(ts.tv_nsec / 1000000L) % 1000);
}

/* Appends the literal lit to out[*o..cap); false when it does not fit. */
static bool
put_lit(char *out, size_t cap, size_t *o, const char *lit)
{
	size_t n = strlen(lit);

	if (*o + n >= cap)
		return false;
	memcpy(out + *o, lit, n);
	*o += n;
	return true;
}

/*
 * The rate limit on events, checked before an event costs anything: every
 * event is a delivery row per subscriber in PostgreSQL, usually on the same
 * machine, and a node answering 50,000 requests a second would otherwise spend
 * that machine on rows no receiver can take that fast. A fixed one-second
 * window (coarse clock, two relaxed atomics) is exact enough for a cap.
 */
static bool
event_allowed(void)
{
	long rate = atomic_load_explicit(&Q.rate, memory_order_relaxed);
	struct timespec ts;
	long long sec, w;

	if (rate <= 0)
		return true;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	sec = (long long)ts.tv_sec;
	w = atomic_load_explicit(&Q.window, memory_order_relaxed);
	if (w == sec) {
		if (atomic_load_explicit(&WIN.n, memory_order_relaxed) >= rate)
			return false; /* this second's share is spent: no write */
	} else if (atomic_compare_exchange_strong(&Q.window, &w, sec))
		atomic_store_explicit(&WIN.n, 0, memory_order_relaxed);
	return atomic_fetch_add_explicit(&WIN.n, 1, memory_order_relaxed) < rate;
}

void
eq_event_resolved(const char *mock_id, const char *ns, const char *method, const char *path,
		  int status, const char *traceparent)
{
	char buf[4096], tail[80], at[32];
	size_t o = 0;
	bool ok;

	if (ring_full() || !event_allowed()) {
		count_event_shed();
		return;
	}
	now_rfc3339(at);
	snprintf(tail, sizeof(tail), ",\"status\":%d,\"at\":\"%s\"", status, at);
	ok = put_lit(buf, sizeof(buf), &o, "{\"mockId\":") && put_str(buf, sizeof(buf), &o, mock_id) &&
	     put_lit(buf, sizeof(buf), &o, ",\"namespace\":") && put_str(buf, sizeof(buf), &o, ns) &&
	     put_lit(buf, sizeof(buf), &o, ",\"method\":") && put_str(buf, sizeof(buf), &o, method) &&
	     put_lit(buf, sizeof(buf), &o, ",\"path\":") && put_str(buf, sizeof(buf), &o, path) &&
	     put_lit(buf, sizeof(buf), &o, tail);
	if (ok && traceparent != NULL && traceparent[0] != '\0')
		ok = put_lit(buf, sizeof(buf), &o, ",\"traceparent\":") &&
		     put_str(buf, sizeof(buf), &o, traceparent);
	ok = ok && put_lit(buf, sizeof(buf), &o, "}");
	if (!ok) {
		/* an absurdly long path: the event still counts, with the path cut */
		o = 0;
		ok = put_lit(buf, sizeof(buf), &o, "{\"mockId\":") && put_str(buf, sizeof(buf), &o, mock_id) &&
		     put_lit(buf, sizeof(buf), &o, ",\"namespace\":") && put_str(buf, sizeof(buf), &o, ns) &&
		     put_lit(buf, sizeof(buf), &o, ",\"method\":") && put_str(buf, sizeof(buf), &o, method) &&
		     put_lit(buf, sizeof(buf), &o, tail) && put_lit(buf, sizeof(buf), &o, "}");
		if (!ok) {
			eq_count_shed(0, 1);
			return;
		}
	}
	push('E', strndup(buf, o));
}

/* ------------------------------------------------------------- callbacks */

json_t *
eq_callbacks_prepare(const json_t *doc, const char *mock_id)
{
	const json_t *arr = json_object_get(doc, "webhooks");
	json_t *out, *cb;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return NULL;
	out = json_array();
	if (out == NULL)
		return NULL;
	json_array_foreach (arr, i, cb) {
		const char *type = json_string_value(json_object_get(cb, "type"));

		if (!json_is_object(cb))
			continue;
		if (type != NULL && type[0] != '\0' && strcmp(type, "http") != 0) {
			log_info("mock %s: callback webhooks[%zu] of type %s skipped (only http callbacks are "
				 "sent)",
				 mock_id, i, type);
			continue;
		}
		json_array_append(out, cb);
	}
	if (json_array_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* True when a callback with this trigger fires for a response of status. */
static bool
trigger_applies(const char *trigger, int status)
{
	if (trigger == NULL || trigger[0] == '\0')
		return true;
	if (strcmp(trigger, "on_success") == 0)
		return status < 400;
	if (strcmp(trigger, "on_error") == 0)
		return status >= 400;
	/* always; on_first_use / on_last_use: the use count is not known here (docs/webhooks.md) */
	return true;
}

/* A rendered string field: the string itself, or other JSON as compact text. New string or NULL. */
static char *
rendered_text(const json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (v == NULL || json_is_null(v))
		return NULL;
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Renders one field of cb (may be absent: NULL, no error). */
static json_t *
render_field(const json_t *cb, const char *key, mc_render_ctx *ctx, const char *mock_id, size_t idx,
	     bool *failed)
{
	const json_t *t = json_object_get(cb, key);
	mc_error err = {0};
	json_t *v;

	if (t == NULL)
		return NULL;
	v = mc_render_value(t, ctx, &err);
	if (v == NULL) {
		log_warn("mock %s: callback webhooks[%zu].%s does not render: %s %s", mock_id, idx, key,
			 err.path, err.msg);
		*failed = true;
	}
	return v;
}

/* Copies a non-negative integer field of cb into out under key. */
static void
copy_int(json_t *out, const json_t *cb, const char *from, const char *to)
{
	const json_t *v = json_object_get(cb, from);

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		json_object_set_new(out, to, json_integer(json_integer_value(v)));
}

void
eq_callbacks_fire(const json_t *cbs, mc_render_ctx *ctx, const char *mock_id, const char *ns,
		  int status)
{
	size_t i;
	json_t *cb;

	json_array_foreach (cbs, i, cb) {
		bool failed = false;
		json_t *url, *method, *headers, *body, *out;
		char *urltext, *methodtext;

		if (!trigger_applies(json_string_value(json_object_get(cb, "trigger")), status))
			continue;
		if (ring_full()) { /* do not pay for rendering what would be dropped */
			eq_count_shed(1, 0);
			continue;
		}
		url = render_field(cb, "url", ctx, mock_id, i, &failed);
		method = render_field(cb, "method", ctx, mock_id, i, &failed);
		headers = render_field(cb, "headers", ctx, mock_id, i, &failed);
		body = render_field(cb, "body", ctx, mock_id, i, &failed);
		urltext = rendered_text(url);
		methodtext = rendered_text(method);
		out = failed || urltext == NULL ? NULL : json_object();
		if (out != NULL) {
			json_object_set_new(out, "mockId", json_string(mock_id));
			json_object_set_new(out, "namespace", json_string(ns));
			json_object_set_new(out, "url", json_string(urltext));
			json_object_set_new(out, "method",
					    json_string(methodtext && methodtext[0] ? methodtext : "POST"));
			if (json_is_object(headers)) {
				json_t *h = json_object();
				const char *k;
				json_t *hv;

				json_object_foreach (headers, k, hv) {
					char *t = rendered_text(hv);

					if (t != NULL)
						json_object_set_new(h, k, json_string(t));
					free(t);
				}
				json_object_set_new(out, "headers", h);
			}
			if (body != NULL)
				json_object_set(out, "body", body);
			copy_int(out, cb, "timeout", "timeoutMs");
			copy_int(out, cb, "retryCount", "retryCount");
			copy_int(out, cb, "retryDelay", "retryDelay");
			push('C', json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY));
		} else if (!failed) {
			log_warn("mock %s: callback webhooks[%zu] has no url", mock_id, i);
		}
		json_decref(out);
		free(urltext);
		free(methodtext);
		json_decref(url);
		json_decref(method);
		json_decref(headers);
		json_decref(body);
	}
}

/* ------------------------------------------------------------- forwarded hits */

static atomic_bool forward_mode;

void
eq_set_callbacks_forward(bool on)
{
	atomic_store_explicit(&forward_mode, on, memory_order_relaxed);
}

bool
eq_callbacks_forwarding(void)
{
	return atomic_load_explicit(&forward_mode, memory_order_relaxed);
}

/*
 * See eventq.h. The request goes as the node received it (headers and query
 * as name -> array of strings); nothing rendered travels, so what the admin
 * delivers is what the stored mock makes of that request.
 */
void
eq_callbacks_forward(const json_t *cbs, const mc_request *req, const char *seed, const char *mock_id,
		     const char *ns, int status)
{
	size_t i, n = 0;
	json_t *cb, *out, *rq;

	json_array_foreach (cbs, i, cb)
		if (trigger_applies(json_string_value(json_object_get(cb, "trigger")), status))
			n++;
	if (n == 0)
		return;
	if (ring_full() || (req->body != NULL && req->body_len > EQ_FORWARD_BODY_MAX)) {
		eq_count_shed(n, 0);
		return;
	}
	rq = json_pack("{s:s, s:s, s:s}", "protocol", req->protocol == MC_PROTO_GRPC ? "grpc" : "http",
		       "method", req->method ? req->method : "GET", "path", req->path ? req->path : "/");
	out = rq ? json_pack("{s:s, s:s, s:i, s:o}", "mockId", mock_id, "namespace", ns, "status", status,
			     "request", rq)
		 : NULL;
	if (out == NULL) {
		eq_count_shed(n, 0);
		return;
	}
	if (json_is_object(req->query))
		json_object_set(rq, "query", req->query);
	if (json_is_object(req->headers))
		json_object_set(rq, "headers", req->headers);
	if (req->body != NULL && req->body_len > 0) {
		json_t *b = json_stringn(req->body, req->body_len); /* NULL: not UTF-8 text */

		if (b != NULL)
			json_object_set_new(rq, "body", b);
	} else if (req->body_json != NULL) { /* gRPC: the message as proto3 JSON */
		json_object_set(rq, "bodyJson", req->body_json);
	}
	if (seed != NULL && seed[0] != '\0')
		json_object_set_new(out, "seed", json_string(seed));
	push('C', json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY));
	json_decref(out);
}

/* ------------------------------------------------------------- the drain thread */

/* Hands the taken items to the sink, split by kind, and frees them. */
static void
deliver(eq_item *items, size_t n)
{
	const char **cbs = malloc(sizeof(*cbs) * (n ? n : 1));
	const char **evs = malloc(sizeof(*evs) * (n ? n : 1));
	size_t ncb = 0, nev = 0;

	if (cbs == NULL || evs == NULL) {
		for (size_t i = 0; i < n; i++)
			eq_count_shed(items[i].kind == 'C', items[i].kind == 'E');
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (items[i].kind == 'C')
			cbs[ncb++] = items[i].json;
		else
			evs[nev++] = items[i].json;
	}
	if (cbs != NULL && evs != NULL)
		Q.sink(Q.arg, cbs, ncb, evs, nev);
	for (size_t i = 0; i < n; i++)
		free(items[i].json);
	free(cbs);
	free(evs);
}

static void *
drain_main(void *arg)
{
	eq_item *batch = malloc(sizeof(*batch) * Q.cap);

	(void)arg;
	if (batch == NULL) {
		log_error("eventq: out of memory for the drain batch");
		return NULL;
	}
	for (;;) {
		struct timespec ts;
		size_t n = 0;
		bool stopping;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += EQ_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&Q.mu);
		while (!Q.stop && Q.count < (Q.cap + 1) / 2) {
			if (pthread_cond_timedwait(&Q.cv, &Q.mu, &ts) == ETIMEDOUT)
				break;
		}
		stopping = Q.stop;
		while (Q.count > 0) {
			batch[n++] = Q.ring[Q.head];
			Q.head = (Q.head + 1) % Q.cap;
			Q.count--;
		}
		/* in hand before the ring reads empty, and until the sink has them: a reader of
		 * depth, then inhand, never misses an item on its way (eq_counters) */
		atomic_store(&Q.inhand, n);
		atomic_store(&Q.depth, 0);
		pthread_mutex_unlock(&Q.mu);
		deliver(batch, n);
		atomic_store(&Q.inhand, 0);
		if (stopping)
			break;
	}
	free(batch);
	return NULL;
}

bool
eq_start(eq_sink_fn sink, void *arg)
{
	const char *env = getenv("WEBHOOK_QUEUE_SIZE");
	long cap = EQ_DEFAULT_CAP, rate;

	if (env != NULL && env[0] != '\0') {
		char *end;

		errno = 0;
		cap = strtol(env, &end, 10);
		if (errno != 0 || *end != '\0' || cap < 1 || cap > EQ_MAX_CAP) {
			log_warn("WEBHOOK_QUEUE_SIZE=%s is not an integer in 1..%d; using %d", env, EQ_MAX_CAP,
				 EQ_DEFAULT_CAP);
			cap = EQ_DEFAULT_CAP;
		}
	}
	env = getenv("WEBHOOK_EVENTS_MAX_RATE");
	rate = EQ_DEFAULT_RATE;
	if (env != NULL && env[0] != '\0') {
		char *end;
		long r;

		errno = 0;
		r = strtol(env, &end, 10);
		if (errno != 0 || *end != '\0' || r < 0)
			log_warn("WEBHOOK_EVENTS_MAX_RATE=%s is not an integer >= 0; using %d", env, EQ_DEFAULT_RATE);
		else
			rate = r;
	}
	pthread_mutex_lock(&Q.mu);
	if (Q.running) {
		pthread_mutex_unlock(&Q.mu);
		return true;
	}
	atomic_store(&Q.rate, rate);
	atomic_store(&Q.window, 0);
	atomic_store(&WIN.n, 0);
	Q.ring = calloc((size_t)cap, sizeof(*Q.ring));
	if (Q.ring == NULL) {
		pthread_mutex_unlock(&Q.mu);
		return false;
	}
	Q.cap = (size_t)cap;
	Q.head = Q.count = 0;
	Q.sink = sink;
	Q.arg = arg;
	Q.stop = false;
	Q.running = true;
	atomic_store(&Q.cap_pub, Q.cap);
	if (pthread_create(&Q.thread, NULL, drain_main, NULL) != 0) {
		free(Q.ring);
		Q.ring = NULL;
		Q.cap = 0;
		Q.running = false;
		atomic_store(&Q.cap_pub, 0);
		pthread_mutex_unlock(&Q.mu);
		return false;
	}
	pthread_mutex_unlock(&Q.mu);
	return true;
}

void
eq_stop(void)
{
	pthread_mutex_lock(&Q.mu);
	if (!Q.running) {
		pthread_mutex_unlock(&Q.mu);
		return;
	}
	Q.stop = true;
	pthread_cond_signal(&Q.cv);
	pthread_mutex_unlock(&Q.mu);
	pthread_join(Q.thread, NULL);
	pthread_mutex_lock(&Q.mu);
	Q.running = false;
	atomic_store(&Q.cap_pub, 0);
	while (Q.count > 0) { /* pushed after the last drain */
		eq_count_shed(Q.ring[Q.head].kind == 'C', Q.ring[Q.head].kind == 'E');
		free(Q.ring[Q.head].json);
		Q.head = (Q.head + 1) % Q.cap;
		Q.count--;
	}
	free(Q.ring);
	Q.ring = NULL;
	Q.cap = 0;
	atomic_store(&Q.depth, 0);
	pthread_mutex_unlock(&Q.mu);
}

/* ------------------------------------------------------------- metrics */

void
eq_counters_get(eq_counters *out)
{
	out->events_queued = atomic_load_explicit(&Q.ev_queued, memory_order_relaxed);
	out->events_shed = atomic_load_explicit(&Q.ev_shed, memory_order_relaxed);
	for (size_t i = 0; i < SHED_STRIPES; i++)
		out->events_shed += atomic_load_explicit(&shed_stripe[i].n, memory_order_relaxed);
	out->callbacks_queued = atomic_load_explicit(&Q.cb_queued, memory_order_relaxed);
	out->callbacks_shed = atomic_load_explicit(&Q.cb_shed, memory_order_relaxed);
	out->depth = atomic_load(&Q.depth);
	out->inhand = atomic_load(&Q.inhand);
	out->capacity = atomic_load_explicit(&Q.cap_pub, memory_order_relaxed);
	out->want_events = eq_want_events();
}

void
eq_metrics_write(mt_buf *b, uint64_t extra_shed)
{
	eq_counters c;

	eq_counters_get(&c);
	mt_counter(b, "mockarty_webhook_events_queued_total",
		   "mock.resolved events queued for delivery by this node's serving threads.",
		   (unsigned long long)c.events_queued);
	mt_counter(b, "mockarty_webhook_events_shed_total",
		   "mock.resolved events dropped under overload (the bounded queue was full).",
		   (unsigned long long)(c.events_shed + extra_shed));
	mt_counter(b, "mockarty_webhook_callbacks_queued_total",
		   "Per-mock callbacks rendered and queued by this node's serving threads.",
		   (unsigned long long)c.callbacks_queued);
	mt_counter(b, "mockarty_webhook_callbacks_shed_total",
		   "Per-mock callbacks dropped because the bounded queue was full.",
		   (unsigned long long)c.callbacks_shed);
	mt_gauge(b, "mockarty_webhook_queue_depth", "Items in the webhook queue now.", (double)c.depth);
	mt_gauge(b, "mockarty_webhook_queue_capacity", "Size of the webhook queue (WEBHOOK_QUEUE_SIZE).",
		 (double)c.capacity);
	mt_gauge(b, "mockarty_webhook_resolved_events_enabled",
		 "1 while some enabled webhook subscribes to mock.resolved (events are queued).",
		 c.want_events ? 1 : 0);
}
