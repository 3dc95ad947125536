/*
 * protocols/grpc.c - the grpc protocol module of the generated-server frame
 * (mockarty-gen-server --type grpc).
 *
 * The server is described by the descriptor set stored for (NAMESPACE, SERVER_NAME) on the
 * admin node (GET /api/v1/grpc/descriptors/:serverName), or, while none is stored, by the spec
 * it was given when that is a descriptor set (a generated project's embedded one). Every method
 * of every service of the set is served on HTTP_PORT (gRPC over h2c) beside health (each
 * service SERVING) and reflection v1/v1alpha serving the set. Newer stored versions are
 * followed while running: the set is fetched when the synced mock state moves and every 2 s,
 * loaded into a new pool of methods and swapped in atomically (the transport's router picks
 * the current pool per call; a call holds a reference on its pool, so calls already running
 * finish on the old version), reflection and health following it. A call's messages
 * are decoded with core's codec into proto3 JSON and matched through the synced index as a
 * gRPC request (path "/<service>/<method>", metadata as headers, the message as body; a
 * client stream's messages as one JSON array): stateless mocks resolve here, stateful ones
 * through Coordinator.Resolve (protocol "grpc"), so use limits stay exact. The answer is
 * encoded back with the codec: payload (one message), streamResponses (server streaming, each
 * with its own delay), headers as response metadata and trailers as trailing metadata,
 * statusCode (gRPC code 0-16 or an HTTP status mapped to one) with error and errorDetails as
 * grpc-status-details-bin (google.rpc.Status, encoded through the embedded google.rpc set),
 * delay bounded by the call's deadline, proxy.target forwarded with the gRPC client (every call
 * kind, a streaming one decided on its first message; messages relayed both ways as they
 * arrive, request metadata and the remaining deadline forwarded, the backend's metadata and
 * status passed back, cancels both ways). A unary
 * call matching a stateless mock without delay or proxy is answered on the event-loop thread;
 * stateful, delayed and proxied calls and every streaming call run on a worker pool (delays
 * never block the event loop). Misses answer UNIMPLEMENTED and are reported as undefined
 * requests; local hits are logged through Report, the first few per mock per second (as the
 * resolver's HTTP capture).
 */
#include "protocols/protocol.h"

#include "grpc_callq.h"
#include "grpc_client.h"
#include "grpc_server.h"
#include "link/link.h"
#include "log.h"
#include "mockarty/pb.h"
#include "mockserve.h"
#include "resolver.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern ms_store *rs_store; /* link/index.c: the synced mocks */

const char *gs_proto_admin_url; /* set by the frame before start */
const unsigned char *gs_proto_spec;
size_t gs_proto_spec_len;

#define MAX_CLIENT_STREAM_MSGS 10000
#define MAX_DELAY_MS 600000
#define POLL_MS 2000
#define FETCH_GAP_MS 250 /* least time between two descriptor fetches */

/*
 * The last payload a method encoded: a static mock's response object is parsed once per mock
 * version and shared (ms_match_resolve), so the same payload pointer means the same message;
 * the reference held on it keeps the pointer from being reused by another object.
 */
typedef struct enc_cache {
	pthread_mutex_t mu;
	json_t *v;
	uint8_t *bytes;
	size_t len;
} enc_cache;

typedef struct gpool gpool;

typedef struct gmethod {
	gpool *pool;
	char path[512];
	enc_cache *cache;
	const char *kind; /* unary, server-stream, client-stream, bidirectional */
	const mc_pb_method *m;
	const mc_pb_set *set;
} gmethod;

/*
 * One loaded descriptor set version: its methods and their handlers' state. The current pool
 * (cur, under cur_mu) holds one reference; each call routed to one of its methods holds
 * another until its stream is destroyed, so a call that began on a version finishes on it
 * after a newer one was swapped in.
 */
struct gpool {
	uint8_t *set_bytes;
	size_t set_len;
	mc_pb_set *set;
	gmethod *methods;
	size_t nmethods;
	int version; /* the admin node's version; 0 = the embedded set */
	atomic_int refs;
};

static mk_grpc_server *srv;
static gpool *cur;
static unsigned swaps;
static mc_pb_set *rpcset;
static mk_grpc_callq *callq;
static pthread_t poller;
static atomic_bool stopping;
static pthread_mutex_t cur_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_ullong n_calls, n_misses, n_unlogged;

/*
 * The request log keeps, like the resolver's HTTP capture (mockserve.h MS_LOGS_PER_MOCK), a
 * few calls per mock per second: the first MS_LOGS_PER_MOCK of each mock in each second are
 * reported, the rest only counted (status "callsNotLogged"). Slots are hashed by mock id; two
 * mocks sharing a slot reset each other's count, which logs more, never fewer.
 */
#define LOG_SLOTS 256
static struct {
	uint64_t hash;
	int64_t second;
	int n;
} log_slots[LOG_SLOTS];
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static bool
log_admit(const char *id)
{
	uint64_t h = 1469598103934665603ULL;
	int64_t sec = (int64_t)time(NULL); /* a coarse clock is enough for a per-second count */
	bool ok;

	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	pthread_mutex_lock(&log_mu);
	if (log_slots[h % LOG_SLOTS].hash != h || log_slots[h % LOG_SLOTS].second != sec) {
		log_slots[h % LOG_SLOTS].hash = h;
		log_slots[h % LOG_SLOTS].second = sec;
		log_slots[h % LOG_SLOTS].n = 0;
	}
	ok = log_slots[h % LOG_SLOTS].n++ < MS_LOGS_PER_MOCK;
	pthread_mutex_unlock(&log_mu);
	if (!ok)
		atomic_fetch_add(&n_unlogged, 1);
	return ok;
}

/* ------------------------------------------------------------ helpers */

static const char b64tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of buf without padding (gRPC -bin metadata), malloc'd. */
static char *
b64_encode(const uint8_t *buf, size_t n)
{
	char *out = malloc(n / 3 * 4 + 5), *o = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)buf[i] << 16 | (uint32_t)buf[i + 1] << 8 | buf[i + 2];

		*o++ = b64tab[v >> 18];
		*o++ = b64tab[(v >> 12) & 63];
		*o++ = b64tab[(v >> 6) & 63];
		*o++ = b64tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)buf[i] << 16 | (i + 1 < n ? (uint32_t)buf[i + 1] << 8 : 0);

		*o++ = b64tab[v >> 18];
		*o++ = b64tab[(v >> 12) & 63];
		if (i + 1 < n)
			*o++ = b64tab[(v >> 6) & 63];
	}
	*o = '\0';
	return out;
}

/* Decodes standard base64 (padding optional); malloc'd, NULL when not base64. */
static uint8_t *
b64_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s), o = 0;
	uint8_t *out = malloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *p;

		if (s[i] == '=' || s[i] == '\n' || s[i] == '\r')
			continue;
		p = strchr(b64tab, s[i]);
		if (p == NULL || s[i] == '\0') {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)(p - b64tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*outlen = o;
	return out;
}

/* A gRPC code from a mock's statusCode: 0-16 as is, an HTTP status mapped, else UNKNOWN. */
static int
grpc_code(const json_t *sc, bool has_error)
{
	json_int_t c;

	if (!json_is_integer(sc))
		return has_error ? MK_GRPC_UNKNOWN : MK_GRPC_OK;
	c = json_integer_value(sc);
	if (c >= 0 && c <= 16)
		return (int)c;
	switch (c) {
	case 200: case 201: case 202: case 204:
		return has_error ? MK_GRPC_UNKNOWN : MK_GRPC_OK;
	case 400: return MK_GRPC_INVALID_ARGUMENT;
	case 401: return MK_GRPC_UNAUTHENTICATED;
	case 403: return MK_GRPC_PERMISSION_DENIED;
	case 404: return MK_GRPC_NOT_FOUND;
	case 408: case 504: return MK_GRPC_DEADLINE_EXCEEDED;
	case 409: return MK_GRPC_ALREADY_EXISTS;
	case 412: return MK_GRPC_FAILED_PRECONDITION;
	case 429: return MK_GRPC_RESOURCE_EXHAUSTED;
	case 499: return MK_GRPC_CANCELLED;
	case 500: return MK_GRPC_INTERNAL;
	case 501: return MK_GRPC_UNIMPLEMENTED;
	case 502: case 503: return MK_GRPC_UNAVAILABLE;
	default: return MK_GRPC_UNKNOWN;
	}
}

/* The google.rpc message of an errorDetails type ("badRequest" -> "BadRequest"), or NULL. */
static const char *
detail_type(const char *t)
{
	static const char *const map[][2] = {
	    {"badRequest", "BadRequest"},     {"help", "Help"},
	    {"debugInfo", "DebugInfo"},       {"errorInfo", "ErrorInfo"},
	    {"localizedMessage", "LocalizedMessage"}, {"preconditionFailure", "PreconditionFailure"},
	    {"quotaFailure", "QuotaFailure"}, {"requestInfo", "RequestInfo"},
	    {"resourceInfo", "ResourceInfo"}, {"retryInfo", "RetryInfo"}};

	for (size_t i = 0; t && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(t, map[i][0]) == 0 || strcasecmp(t, map[i][1]) == 0)
			return map[i][1];
	return NULL;
}

/*
 * grpc-status-details-bin for code, message and details (the mock's errorDetails): base64 of
 * a google.rpc.Status, malloc'd; NULL when there are no details or they do not encode (the
 * reason is logged: the status itself is still sent).
 */
static char *
status_details_bin(int code, const char *message, const json_t *details)
{
	json_t *st, *arr;
	size_t i;
	json_t *d;
	uint8_t *out = NULL;
	size_t outlen = 0;
	mc_error err = {0};
	char *b64 = NULL;

	if (json_array_size(details) == 0 || rpcset == NULL)
		return NULL;
	arr = json_array();
	json_array_foreach (details, i, d) {
		const char *t = detail_type(json_string_value(json_object_get(d, "type")));
		json_t *body = json_object_get(d, "details");
		json_t *any;
		char url[128];

		if (t == NULL) {
			log_warn("grpc: errorDetails[%zu].type \"%s\" is not one of the ten rich types; skipped", i,
			         json_string_value(json_object_get(d, "type")) ?: "");
			continue;
		}
		any = json_is_object(body) ? json_deep_copy(body) : json_object();
		snprintf(url, sizeof(url), "type.googleapis.com/google.rpc.%s", t);
		json_object_set_new(any, "@type", json_string(url));
		json_array_append_new(arr, any);
	}
	st = json_pack("{s:i, s:s, s:o}", "code", code, "message", message ? message : "", "details", arr);
	if (st != NULL && mc_pb_from_json(rpcset, "google.rpc.Status", st, &out, &outlen, &err) == MC_OK)
		b64 = b64_encode(out ? out : (const uint8_t *)"", outlen);
	else
		log_warn("grpc: errorDetails do not encode as google.rpc.Status: %s: %s", err.path, err.msg);
	free(out);
	json_decref(st);
	return b64;
}

/* Adds every (name, value) of a {"name": "v" | ["v", ...]} object to kv (2 strings each). */
static void
kv_add(json_t *obj, const char **kv, size_t *n, size_t cap)
{
	const char *k;
	json_t *v;

	json_object_foreach (obj, k, v) {
		if (json_is_string(v) && *n < cap) {
			kv[2 * *n] = k;
			kv[2 * *n + 1] = json_string_value(v);
			(*n)++;
		} else if (json_is_array(v)) {
			size_t i;
			json_t *e;

			json_array_foreach (v, i, e)
				if (json_is_string(e) && *n < cap) {
					kv[2 * *n] = k;
					kv[2 * *n + 1] = json_string_value(e);
					(*n)++;
				}
		}
	}
}

/* Sleeps ms, in slices, while st is open. False when the stream closed meanwhile. */
static bool
nap(mk_grpc_stream *st, int64_t ms)
{
	while (ms > 0) {
		int64_t step = ms > 20 ? 20 : ms;
		struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};

		nanosleep(&ts, NULL);
		ms -= step;
		if (!mk_grpc_stream_is_open(st))
			return false;
	}
	return true;
}

/*
 * Waits delay ms within the call's deadline. False when the deadline passes first (the call
 * was then ended DEADLINE_EXCEEDED) or the stream closed.
 */
static bool
wait_delay(mk_grpc_stream *st, int64_t delay)
{
	int64_t dl = mk_grpc_stream_info(st)->deadline_ms;

	if (delay <= 0)
		return mk_grpc_stream_is_open(st);
	if (delay > MAX_DELAY_MS)
		delay = MAX_DELAY_MS;
	if (dl > 0 && mk_grpc_now_ms() + delay >= dl) {
		nap(st, dl - mk_grpc_now_ms());
		mk_grpc_stream_finish(st, MK_GRPC_DEADLINE_EXCEEDED, "deadline exceeded before the mock's delay");
		return false;
	}
	return nap(st, delay);
}

/* Encodes v as the output message of gm and sends it; false after ending the call. */
static bool
send_json(mk_grpc_stream *st, const gmethod *gm, const json_t *v, const char *what)
{
	uint8_t *out = NULL;
	size_t outlen = 0;
	mc_error err = {0};
	char msg[700];

	if (mc_pb_from_json(gm->set, gm->m->output_type, v, &out, &outlen, &err) != MC_OK) {
		snprintf(msg, sizeof(msg), "the mock's %s does not fit %s: %s: %s", what, gm->m->output_type,
		         err.path, err.msg);
		mk_grpc_stream_finish(st, MK_GRPC_INTERNAL, msg);
		return false;
	}
	mk_grpc_stream_send(st, out ? out : (const uint8_t *)"", outlen);
	free(out);
	return true;
}

/* send_json for a call's payload, through the method's encoded-payload cache. */
static bool
send_payload(mk_grpc_stream *st, const gmethod *gm, json_t *v)
{
	enc_cache *c = gm->cache;
	uint8_t *out = NULL, *old_bytes;
	size_t outlen = 0;
	mc_error err = {0};
	json_t *old_v;
	char msg[700];

	pthread_mutex_lock(&c->mu);
	if (c->v == v) {
		mk_grpc_stream_send(st, c->bytes ? c->bytes : (const uint8_t *)"", c->len);
		pthread_mutex_unlock(&c->mu);
		return true;
	}
	pthread_mutex_unlock(&c->mu);
	if (mc_pb_from_json(gm->set, gm->m->output_type, v, &out, &outlen, &err) != MC_OK) {
		snprintf(msg, sizeof(msg), "the mock's payload does not fit %s: %s: %s", gm->m->output_type, err.path,
		         err.msg);
		mk_grpc_stream_finish(st, MK_GRPC_INTERNAL, msg);
		return false;
	}
	mk_grpc_stream_send(st, out ? out : (const uint8_t *)"", outlen);
	pthread_mutex_lock(&c->mu);
	old_v = c->v;
	old_bytes = c->bytes;
	c->v = json_incref(v);
	c->bytes = out;
	c->len = outlen;
	pthread_mutex_unlock(&c->mu);
	json_decref(old_v);
	free(old_bytes);
	return true;
}

/* ------------------------------------------------------------ one call */

typedef struct prelay prelay; /* a proxied call (proxy.target) */

/* What a worker needs of a call: the method and the request as JSON. */
typedef struct gcall {
	const gmethod *gm;
	json_t *msgs; /* client-stream / bidi: messages collected so far (array) */
	json_t *meta; /* lower-case name -> [values] */
	pthread_mutex_t mu;
	json_t *pending; /* bidi: messages not yet answered */
	bool running, half_closed;
	bool replied; /* bidi: a reply was made (response metadata is set by the first); run_bidi only */
	bool probed;  /* the first message was matched for proxy.target (loop thread) */
	prelay *px;   /* a proxied call: set on the loop thread at the first message */
	json_t *first; /* a proxied call: what its first message is matched as */
	/* the stream's close callback holds one reference, each queued worker job one */
	atomic_int refs;
} gcall;

static void
meta_cb(void *arg, const char *name, const char *value)
{
	json_t *meta = arg, *a = json_object_get(meta, name);

	if (a == NULL) {
		a = json_array();
		json_object_set_new(meta, name, a);
	}
	json_array_append_new(a, json_string(value));
}

static json_t *
call_meta(mk_grpc_stream *st)
{
	json_t *meta = json_object();

	mk_grpc_stream_each_meta(st, meta_cb, meta);
	return meta;
}

/* A unary call's metadata object, built on first use: most calls match without reading it. */
typedef struct lazy_meta {
	mk_grpc_stream *st;
	json_t **meta; /* the caller's; NULL until built */
} lazy_meta;

static json_t *
lazy_meta_get(void *arg)
{
	lazy_meta *l = arg;

	if (*l->meta == NULL)
		*l->meta = call_meta(l->st);
	return *l->meta;
}

/* Decodes one request message to JSON; NULL after ending the call INVALID_ARGUMENT. */
static json_t *
decode_msg(mk_grpc_stream *st, const gmethod *gm, const uint8_t *buf, size_t len)
{
	mc_error err = {0};
	json_t *v = mc_pb_to_json(gm->set, gm->m->input_type, buf, len, &err);
	char msg[700];

	if (v == NULL) {
		snprintf(msg, sizeof(msg), "request message is not a valid %s: %s%s%s", gm->m->input_type,
		         err.path[0] ? err.path : "", err.path[0] ? ": " : "", err.msg);
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, msg);
	}
	return v;
}

/*
 * Matches and resolves one request (body = a message or the array of a client stream).
 * *meta is the call's metadata object; when NULL it is built only if something reads it (a
 * metadata condition, a template, the request log, the coordinator, an undefined request)
 * and left in *meta for the caller to release. Returns the response object (new reference)
 * or NULL after ending the call (miss: UNIMPLEMENTED and an undefined request; coordinator
 * down: UNAVAILABLE). With deferred non-NULL (the loop thread, which must not block) a
 * stateful match is not sent to the coordinator: *deferred is set, nothing is counted or
 * logged, the call stays open, and the caller runs resolve again on a worker.
 */
static json_t *
resolve(mk_grpc_stream *st, const gmethod *gm, json_t *body, json_t **metap, bool *deferred)
{
	lazy_meta lm = {st, metap};
	json_t *meta;
	mc_request mreq = {0};
	char id[512], err[300], msg[700];
	json_t *resobj = NULL;
	char *text = NULL; /* the body as text: only the coordinator needs it (core reads body_json) */
	int rc;

	atomic_fetch_add(&n_calls, 1);
	mreq.method = gm->kind;
	mreq.path = gm->path;
	mreq.headers = *metap;
	mreq.body_json = body;
	mreq.protocol = MC_PROTO_GRPC;
	rc = ms_match_resolve_lazy(rs_store, rs_cfg.ns, &mreq, lazy_meta_get, &lm, NULL, id, sizeof(id),
	                           &resobj, err, sizeof(err));
	if (rc == 2 && deferred != NULL) {
		atomic_fetch_sub(&n_calls, 1);
		*deferred = true;
		free(text);
		return NULL;
	}
	if (rc == 2) {
		char *hj = json_dumps(lazy_meta_get(&lm), JSON_COMPACT);
		int r;

		text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
		r = coord_resolve_proto("grpc", rs_cfg.ns, gm->kind, gm->path, "", hj ? hj : "{}", text,
		                            text ? strlen(text) : 0, 0, &resobj, err, sizeof(err));

		free(hj);
		if (r < 0) {
			snprintf(msg, sizeof(msg), "stateful mock %.200s could not be resolved: %.300s", id, err);
			mk_grpc_stream_finish(st, MK_GRPC_UNAVAILABLE, msg);
			resobj = NULL;
		} else if (r == 0) {
			rc = 0; /* the state says no (a use limit spent): a miss */
		}
	} else if (rc == 1 && log_admit(id)) {
		json_t *req;

		meta = lazy_meta_get(&lm);
		req = json_pack("{s:s, s:s, s:s, s:O, s:O}", "namespace", rs_cfg.ns, "method", "GRPC", "path",
		                gm->path, "headers", meta, "body", body);

		report_log(id, req, json_incref(resobj), rs_wall_ms());
	} else if (rc < 0) {
		snprintf(msg, sizeof(msg), "mock %.200s could not be rendered: %.300s", id, err);
		mk_grpc_stream_finish(st, MK_GRPC_INTERNAL, msg);
	}
	if (rc == 0) {
		atomic_fetch_add(&n_misses, 1);
		report_undefined(rs_cfg.ns, "GRPC", gm->path, lazy_meta_get(&lm), body);
		snprintf(msg, sizeof(msg), "no mock matches %s (service %.*s, method %s) in namespace %s",
		         gm->path, (int)(strrchr(gm->path, '/') - gm->path - 1), gm->path + 1, gm->m->name, rs_cfg.ns);
		mk_grpc_stream_finish(st, MK_GRPC_UNIMPLEMENTED, msg);
		json_decref(resobj);
		resobj = NULL;
	}
	free(text);
	return resobj;
}

/* Sets response metadata (headers, trailers) and, for an error, grpc-status-details-bin. */
static void
apply_metadata(mk_grpc_stream *st, const json_t *resobj, int code, const char *message)
{
	const char *hdr[2 * 64], *trl[2 * 65];
	size_t nh = 0, nt = 0;
	char *details = NULL;

	kv_add(json_object_get(resobj, "headers"), hdr, &nh, 64);
	kv_add(json_object_get(resobj, "trailers"), trl, &nt, 64);
	if (code != MK_GRPC_OK &&
	    (details = status_details_bin(code, message, json_object_get(resobj, "errorDetails"))) != NULL) {
		trl[2 * nt] = "grpc-status-details-bin";
		trl[2 * nt + 1] = details;
		nt++;
	}
	if (nh || nt)
		mk_grpc_stream_set_metadata(st, hdr, nh, trl, nt);
	free(details);
}

/* ------------------------------------------------------------ proxy.target */

#define PROXY_QUEUE_MAX (4u << 20) /* caller's messages waiting for the backend, bytes */
#define PROXY_HOLD_AT (1u << 20)   /* backend left unread while this much waits for our caller */
#define PROXY_META_MAX 64          /* backend headers, and trailers, passed back */

typedef struct pmsg {
	struct pmsg *next;
	size_t len;
	uint8_t data[];
} pmsg;

/*
 * One proxied call: the caller's request messages on their way to the backend (a bounded
 * queue the loop thread fills and the backend call drains as the backend's window admits),
 * the backend client while its call runs (so our stream closing can cancel it), and the
 * backend's response metadata. Referenced by the worker running the backend call and by the
 * owner of our stream's close callback.
 */
struct prelay {
	pthread_mutex_t mu;
	mk_grpc_stream *st;
	mk_grpc_client *c; /* while the backend call runs */
	bool closed;       /* our caller's stream closed: do not start, or cancel */
	bool eof;          /* our caller half-closed */
	pmsg *head, *tail;
	size_t queued;
	char *hdr[2 * PROXY_META_MAX], *trl[2 * PROXY_META_MAX];
	size_t nh, nt;
	bool hdr_set;
	atomic_int refs;
};

static prelay *
prelay_new(mk_grpc_stream *st, int refs)
{
	prelay *px = calloc(1, sizeof(*px));

	if (px == NULL)
		return NULL;
	pthread_mutex_init(&px->mu, NULL);
	px->st = st;
	atomic_init(&px->refs, refs);
	return px;
}

static void
prelay_unref(prelay *px)
{
	if (px == NULL || atomic_fetch_sub(&px->refs, 1) != 1)
		return;
	while (px->head != NULL) {
		pmsg *m = px->head;

		px->head = m->next;
		free(m);
	}
	for (size_t i = 0; i < 2 * px->nh; i++)
		free(px->hdr[i]);
	for (size_t i = 0; i < 2 * px->nt; i++)
		free(px->trl[i]);
	pthread_mutex_destroy(&px->mu);
	free(px);
}

/*
 * Loop thread: queues one request message of our caller for the backend. Returns false (the
 * caller then ends the call) when PROXY_QUEUE_MAX bytes already wait: the backend does not
 * take them as fast as the caller sends.
 */
static bool
prelay_push(prelay *px, const uint8_t *msg, size_t len)
{
	pmsg *m;

	pthread_mutex_lock(&px->mu);
	if (px->queued + len > PROXY_QUEUE_MAX || (m = malloc(sizeof(*m) + len)) == NULL) {
		pthread_mutex_unlock(&px->mu);
		return false;
	}
	m->next = NULL;
	m->len = len;
	if (len)
		memcpy(m->data, msg, len);
	if (px->tail)
		px->tail->next = m;
	else
		px->head = m;
	px->tail = m;
	px->queued += len;
	if (px->c != NULL)
		mk_grpc_client_notify(px->c);
	pthread_mutex_unlock(&px->mu);
	return true;
}

/* Our caller half-closed: the backend call half-closes after the queued messages. */
static void
prelay_end(prelay *px)
{
	pthread_mutex_lock(&px->mu);
	px->eof = true;
	if (px->c != NULL)
		mk_grpc_client_notify(px->c);
	pthread_mutex_unlock(&px->mu);
}

/* Our caller's stream closed (cancelled, connection lost, finished): the backend call ends. */
static void
prelay_cancel(prelay *px)
{
	pthread_mutex_lock(&px->mu);
	px->closed = true;
	if (px->c != NULL)
		mk_grpc_client_interrupt(px->c);
	pthread_mutex_unlock(&px->mu);
}

/* The close callback of a unary or server-streaming proxied call. */
static void
prelay_closed(void *arg)
{
	prelay_cancel(arg);
	prelay_unref(arg);
}

static int
px_next(void *ud, uint8_t **msg, size_t *len)
{
	prelay *px = ud;
	pmsg *m;
	int r;

	pthread_mutex_lock(&px->mu);
	m = px->head;
	if (m != NULL) {
		px->head = m->next;
		if (px->head == NULL)
			px->tail = NULL;
		px->queued -= m->len;
	}
	r = m != NULL ? 1 : px->eof ? -1 : 0;
	pthread_mutex_unlock(&px->mu);
	if (m != NULL) {
		/* hand the message over without a copy: move it to the front of its block */
		*len = m->len;
		memmove(m, m->data, m->len);
		*msg = (uint8_t *)m;
	}
	return r;
}

/* Sets the backend's headers (and, at the end, trailers) as our call's metadata. */
static void
px_set_metadata(prelay *px, bool with_trailers)
{
	mk_grpc_stream_set_metadata(px->st, (const char *const *)px->hdr, px->nh,
	                            (const char *const *)px->trl, with_trailers ? px->nt : 0);
	px->hdr_set = true;
}

/* on_msg of a proxied call: passes one backend message on; nonzero (cancelling the backend
 * call) once our caller is gone or its send queue overflowed. */
static int
px_msg(void *ud, const uint8_t *msg, size_t len)
{
	prelay *px = ud;

	if (!px->hdr_set)
		px_set_metadata(px, false);
	return mk_grpc_stream_send(px->st, msg ? msg : (const uint8_t *)"", len) == 0 ? 0 : 1;
}

/* Backend response metadata worth passing back: not what our own transport writes. */
static void
px_meta(void *ud, bool trailer, const char *name, const char *value)
{
	prelay *px = ud;
	char **kv = trailer ? px->trl : px->hdr;
	size_t *n = trailer ? &px->nt : &px->nh;

	if (strcmp(name, "content-type") == 0 || strcmp(name, "grpc-encoding") == 0 ||
	    strcmp(name, "grpc-accept-encoding") == 0 || strcmp(name, "date") == 0 || *n >= PROXY_META_MAX)
		return;
	kv[2 * *n] = strdup(name);
	kv[2 * *n + 1] = strdup(value);
	if (kv[2 * *n] == NULL || kv[2 * *n + 1] == NULL) {
		free(kv[2 * *n]);
		free(kv[2 * *n + 1]);
		return;
	}
	(*n)++;
}

static bool
px_hold(void *ud)
{
	return mk_grpc_stream_queued(((prelay *)ud)->st) > PROXY_HOLD_AT;
}

/* Request metadata a proxy does not forward: hop-by-hop headers and our own. */
static bool
meta_hop(const char *name)
{
	static const char *const hop[] = {"connection",         "keep-alive", "proxy-connection",
	                                  "transfer-encoding",  "upgrade",    "host",
	                                  "proxy-authorization"};

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strcmp(name, hop[i]) == 0)
			return true;
	return strncmp(name, "x-mockarty-", 11) == 0;
}

static void
forward_meta_cb(void *arg, const char *name, const char *value)
{
	if (!meta_hop(name))
		mk_grpc_client_set_call_metadata(arg, name, value);
}

/*
 * Worker: passes the call to proxy.target ("http://host:port"; the scheme is dropped, the
 * backend is called over h2c) and ends it. The caller's request metadata is forwarded (not
 * authorization, grpc-*, hop-by-hop or x-mockarty-* entries; traceparent is), with the
 * remaining deadline as grpc-timeout (without one: default_timeout_ms, 0 = none). Request
 * messages come from px's queue (all kinds: a unary call's one message is queued before),
 * backend messages are sent on as they arrive while our caller keeps up (px_hold), then the
 * backend's headers and trailers are set and its status ends our call. Our stream closing
 * (prelay_cancel) cancels the backend call, even while the backend is silent; the backend
 * cancelling ends our call CANCELLED.
 */
static void
proxy_run(mk_grpc_stream *st, const gmethod *gm, const char *target, prelay *px, int default_timeout_ms)
{
	mk_grpc_status gs = {0};
	const char *addr = strstr(target, "://") ? strstr(target, "://") + 3 : target;
	const mk_grpc_call_info *info = mk_grpc_stream_info(st);
	int64_t dl = info->deadline_ms;
	int timeout = dl > 0 ? (int)(dl - mk_grpc_now_ms()) : default_timeout_ms;
	mk_grpc_call_fns fns = {px_next, px_msg, px_meta, px_hold, px};
	mk_grpc_client *c;
	int code;

	if (dl > 0 && timeout <= 0)
		timeout = 1;
	c = mk_grpc_client_connect(addr, timeout > 0 && timeout < 5000 ? timeout : 5000, &gs);
	if (c == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_UNAVAILABLE, gs.message);
		return;
	}
	mk_grpc_stream_each_meta(st, forward_meta_cb, c);
	if (info->traceparent[0])
		mk_grpc_client_set_call_metadata(c, "traceparent", info->traceparent);
	pthread_mutex_lock(&px->mu);
	if (px->closed) {
		pthread_mutex_unlock(&px->mu);
		mk_grpc_client_close(c);
		return;
	}
	px->c = c;
	pthread_mutex_unlock(&px->mu);
	code = mk_grpc_client_call(c, gm->path, timeout, &fns, &gs);
	pthread_mutex_lock(&px->mu);
	px->c = NULL;
	pthread_mutex_unlock(&px->mu);
	if (mk_grpc_stream_is_open(st)) {
		px_set_metadata(px, true);
		mk_grpc_stream_finish(st, code, code == MK_GRPC_OK ? NULL : gs.message);
	}
	mk_grpc_client_close(c);
}

/* A unary or server-streaming call to proxy.target: its one message, then the backend's answer. */
static void
proxy_single(mk_grpc_stream *st, const gmethod *gm, const char *target, const uint8_t *raw, size_t rawlen)
{
	prelay *px = prelay_new(st, 2); /* this function and the close callback */

	if (px == NULL || !prelay_push(px, raw, rawlen)) {
		prelay_unref(px);
		prelay_unref(px);
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	prelay_end(px);
	mk_grpc_stream_on_close(st, prelay_closed, px);
	/* unary: 30 s without a deadline; a server stream: as long as the backend streams */
	proxy_run(st, gm, target, px, gm->m->server_streaming ? 0 : 30000);
	prelay_unref(px);
}

/*
 * True when a streamResponses item ends the call instead of sending a message:
 * {"statusCode": c, "error": text, "delay": ms} with c not OK, no other key (error and delay
 * optional), and statusCode not a field of the method's output message (else it is a message).
 */
static bool
stream_status_item(const gmethod *gm, const json_t *item)
{
	const char *k;
	json_t *v;
	const mc_pb_message *out;

	if (!json_is_object(item) || grpc_code(json_object_get(item, "statusCode"), false) == MK_GRPC_OK)
		return false;
	json_object_foreach ((json_t *)item, k, v)
		if (strcmp(k, "statusCode") != 0 && strcmp(k, "error") != 0 && strcmp(k, "delay") != 0)
			return false;
	out = mc_pb_find_message(gm->set, gm->m->output_type);
	return out == NULL || mc_pb_find_field_name(out, "statusCode") == NULL;
}

/*
 * Answers from a response object: delay (within the deadline), metadata, the message(s), the
 * status. A status item in streamResponses (stream_status_item) ends the call there with its
 * status, after the messages before it. finish = false (bidi, a reply per message) sends the messages and
 * leaves the call open unless the mock sets an error status; its response metadata (headers, trailers) is set
 * by the call's first reply only (first_reply), as a call has one set of each.
 */
static void
answer_ex(mk_grpc_stream *st, const gmethod *gm, const json_t *resobj, bool finish, bool first_reply)
{
	const char *error = json_string_value(json_object_get(resobj, "error"));
	int code = grpc_code(json_object_get(resobj, "statusCode"), error != NULL);
	const json_t *payload = json_object_get(resobj, "payload");
	const json_t *stream = json_object_get(resobj, "streamResponses");

	if (!wait_delay(st, json_integer_value(json_object_get(resobj, "delay"))))
		return;
	if (finish || first_reply || code != MK_GRPC_OK)
		apply_metadata(st, resobj, code, error);
	if (code != MK_GRPC_OK) {
		mk_grpc_stream_finish(st, code, error ? error : "");
		return;
	}
	if (json_is_array(stream) && (gm->m->server_streaming || json_array_size(stream) > 0)) {
		size_t i;
		json_t *item;

		json_array_foreach (stream, i, item) {
			const json_t *msg = item;
			char what[64];

			if (stream_status_item(gm, item)) {
				const char *ie = json_string_value(json_object_get(item, "error"));

				if (wait_delay(st, json_integer_value(json_object_get(item, "delay"))))
					mk_grpc_stream_finish(
					    st, grpc_code(json_object_get(item, "statusCode"), ie != NULL),
					    ie ? ie : "");
				return;
			}

			/* {"payload": message, "delay": ms} gives one message its own delay */
			if (json_is_object(item) && json_object_get(item, "payload") != NULL &&
			    json_object_size(item) <= 2 &&
			    (json_object_size(item) == 1 || json_object_get(item, "delay") != NULL)) {
				if (!wait_delay(st, json_integer_value(json_object_get(item, "delay"))))
					return;
				msg = json_object_get(item, "payload");
			}
			snprintf(what, sizeof(what), "streamResponses[%zu]", i);
			if (!send_json(st, gm, msg, what))
				return;
		}
	} else if (payload != NULL || !gm->m->server_streaming) {
		json_t *empty = payload ? NULL : json_object();
		bool ok = payload ? send_payload(st, gm, (json_t *)payload) : send_json(st, gm, empty, "payload");

		json_decref(empty);
		if (!ok)
			return;
	}
	if (finish)
		mk_grpc_stream_finish(st, MK_GRPC_OK, NULL);
}

static void
answer(mk_grpc_stream *st, const gmethod *gm, const json_t *resobj, bool finish)
{
	answer_ex(st, gm, resobj, finish, false);
}

/* Worker: a unary or server-streaming call (req/len is the one request message). */
static void
run_single(mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	const gmethod *gm = mk_grpc_stream_user(st);
	json_t *body, *meta, *resobj;
	const char *target;

	if (gm == NULL || (body = decode_msg(st, gm, req, len)) == NULL)
		return;
	meta = NULL;
	resobj = resolve(st, gm, body, &meta, NULL);
	if (resobj != NULL) {
		target = json_string_value(json_object_get(resobj, "proxy"));
		if (target != NULL)
			proxy_single(st, gm, target, req, len);
		else
			answer(st, gm, resobj, true);
	}
	json_decref(resobj);
	json_decref(meta);
	json_decref(body);
}

/* A unary call handed from the loop thread to a worker, with what was already computed. */
typedef struct gsingle {
	const gmethod *gm;
	json_t *body, *meta;
	json_t *resobj; /* NULL: a stateful match, resolved again on the worker */
} gsingle;

static void
gsingle_free(void *arg)
{
	gsingle *g = arg;

	json_decref(g->body);
	json_decref(g->meta);
	json_decref(g->resobj);
	free(g);
}

/* Worker: the rest of a unary call the loop thread could not answer without blocking. */
static void
run_unary_rest(mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	gsingle *g = mk_grpc_stream_user(st);
	json_t *resobj = g->resobj ? json_incref(g->resobj) : resolve(st, g->gm, g->body, &g->meta, NULL);
	const char *target;

	if (resobj == NULL)
		return;
	target = json_string_value(json_object_get(resobj, "proxy"));
	if (target != NULL)
		proxy_single(st, g->gm, target, req, len);
	else
		answer(st, g->gm, resobj, true);
	json_decref(resobj);
}

/* True when answering resobj may block (a delay, a proxy call): a worker's job. */
static bool
blocks(const json_t *resobj)
{
	const json_t *stream = json_object_get(resobj, "streamResponses");
	size_t i;
	json_t *item;

	if (json_integer_value(json_object_get(resobj, "delay")) > 0 || json_is_string(json_object_get(resobj, "proxy")))
		return true;
	json_array_foreach (stream, i, item)
		if (json_integer_value(json_object_get(item, "delay")) > 0)
			return true;
	return false;
}

/*
 * Loop thread: a unary call is decoded, matched and, when the mock is stateless and answers
 * without a delay or a proxy call, answered right here (no hand-off: the response goes out in
 * the same loop iteration). Stateful, delayed and proxied unary calls, and every
 * server-streaming call, go to the worker pool.
 */
static void
on_single(void *ud, mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	const gmethod *gm = ud;
	json_t *body, *meta, *resobj;
	bool deferred = false;
	gsingle *g;

	mk_grpc_stream_set_user(st, ud);
	if (gm->m->server_streaming) {
		mk_grpc_callq_push(callq, run_single, st, req, len);
		return;
	}
	if ((body = decode_msg(st, gm, req, len)) == NULL)
		return;
	meta = NULL; /* built by resolve only when something reads it */
	resobj = resolve(st, gm, body, &meta, &deferred);
	if (!deferred && (resobj == NULL || !blocks(resobj))) {
		if (resobj != NULL)
			answer(st, gm, resobj, true);
		json_decref(resobj);
		json_decref(meta);
		json_decref(body);
		return;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		json_decref(resobj);
		json_decref(meta);
		json_decref(body);
		return;
	}
	*g = (gsingle){gm, body, meta, resobj};
	mk_grpc_stream_set_user(st, g);
	mk_grpc_callq_push_owned(callq, run_unary_rest, st, req, len, gsingle_free, g);
}

static void
gcall_free(void *arg)
{
	gcall *c = arg;

	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	json_decref(c->msgs);
	json_decref(c->meta);
	json_decref(c->pending);
	json_decref(c->first);
	prelay_unref(c->px);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* The close callback of a streaming-request call: a proxied one cancels its backend call. */
static void
gcall_closed(void *arg)
{
	gcall *c = arg;

	if (c->px != NULL)
		prelay_cancel(c->px);
	gcall_free(c);
}

/* The call state of a streaming-request call, made on its first event (loop thread). */
static gcall *
gcall_of(void *ud, mk_grpc_stream *st)
{
	gcall *c = mk_grpc_stream_user(st);

	if (c != NULL)
		return c;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->gm = ud;
	c->msgs = json_array();
	c->pending = json_array();
	c->meta = call_meta(st);
	atomic_init(&c->refs, 1);
	pthread_mutex_init(&c->mu, NULL);
	mk_grpc_stream_set_user(st, c);
	mk_grpc_stream_on_close(st, gcall_closed, c);
	return c;
}

/* Worker: a client stream after half-close: match on the array of collected messages. */
static void
run_client_stream(mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	gcall *c = mk_grpc_stream_user(st);
	json_t *resobj;

	(void)req;
	(void)len;
	resobj = resolve(st, c->gm, c->msgs, &c->meta, NULL);
	if (resobj != NULL)
		answer(st, c->gm, resobj, true);
	json_decref(resobj);
}

/* Queues fn for the call with a reference on c, dropped by the pool after fn or when the pool
 * drops the job (the stream closed first). */
static void
push_job(gcall *c, mk_grpc_call_fn fn, mk_grpc_stream *st)
{
	atomic_fetch_add(&c->refs, 1);
	mk_grpc_callq_push_owned(callq, fn, st, (const uint8_t *)"", 0, gcall_free, c);
}

/* Worker: answers the pending messages of a bidi call in order, one reply each. */
static void
run_bidi(mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	gcall *c = mk_grpc_stream_user(st);

	(void)req;
	(void)len;
	for (;;) {
		json_t *m, *resobj;

		pthread_mutex_lock(&c->mu);
		if (json_array_size(c->pending) == 0) {
			bool done = c->half_closed;

			c->running = false;
			pthread_mutex_unlock(&c->mu);
			if (done)
				mk_grpc_stream_finish(st, MK_GRPC_OK, NULL);
			return;
		}
		m = json_incref(json_array_get(c->pending, 0));
		json_array_remove(c->pending, 0);
		pthread_mutex_unlock(&c->mu);
		resobj = mk_grpc_stream_is_open(st) ? resolve(st, c->gm, m, &c->meta, NULL) : NULL;
		if (resobj != NULL) {
			answer_ex(st, c->gm, resobj, false, !c->replied);
			c->replied = true;
		}
		json_decref(resobj);
		json_decref(m);
	}
}

/* Worker: a proxied client-streaming or bidi call, from its first message to its end. */
static void
run_stream_proxy(mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	gcall *c = mk_grpc_stream_user(st);
	json_t *resobj;
	const char *target;

	(void)req;
	(void)len;
	/* matched again for real: counted, logged (a stateless match gives what the probe saw) */
	resobj = resolve(st, c->gm, c->first, &c->meta, NULL);
	if (resobj == NULL)
		return;
	target = json_string_value(json_object_get(resobj, "proxy"));
	if (target != NULL)
		proxy_run(st, c->gm, target, c->px, 0);
	else
		mk_grpc_stream_finish(st, MK_GRPC_INTERNAL,
		                      "the mock chosen for proxy.target changed during the call");
	json_decref(resobj);
}

/* The worker job's references on a proxied call (after it ran, or when it was dropped). */
static void
stream_proxy_done(void *arg)
{
	gcall *c = arg;

	prelay_unref(c->px);
	gcall_free(c);
}

/*
 * Loop thread, the first message of a client-streaming or bidi call: when the stateless mock
 * matching it (a client stream as the array of that one message) has proxy.target, the call
 * becomes a proxied one (this message and every later one go to the backend as they arrive)
 * and true is returned. Matching here has no effect (no count, log or undefined request).
 */
static bool
proxy_probe(gcall *c, mk_grpc_stream *st, json_t *v, const uint8_t *msg, size_t len)
{
	lazy_meta lm = {st, &c->meta};
	mc_request mreq = {0};
	char id[512], err[300];
	json_t *resobj = NULL, *body;
	bool proxied;
	int rc;

	body = c->gm->m->server_streaming ? json_incref(v) : json_pack("[O]", v);
	mreq.method = c->gm->kind;
	mreq.path = c->gm->path;
	mreq.headers = c->meta;
	mreq.body_json = body;
	mreq.protocol = MC_PROTO_GRPC;
	rc = ms_match_resolve_lazy(rs_store, rs_cfg.ns, &mreq, lazy_meta_get, &lm, NULL, id, sizeof(id),
	                           &resobj, err, sizeof(err));
	proxied = rc == 1 && json_is_string(json_object_get(resobj, "proxy"));
	json_decref(resobj);
	if (!proxied) {
		json_decref(body);
		return false;
	}
	c->first = body;
	c->px = prelay_new(st, 2); /* the call state's and the worker's */
	if (c->px == NULL || !prelay_push(c->px, msg, len)) {
		prelay_unref(c->px); /* the worker's share: no worker runs */
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		return true;
	}
	atomic_fetch_add(&c->refs, 1);
	mk_grpc_callq_push_owned(callq, run_stream_proxy, st, (const uint8_t *)"", 0, stream_proxy_done, c);
	return true;
}

/* Loop thread: one message of a client-streaming or bidi call. */
static void
on_stream_msg(void *ud, mk_grpc_stream *st, const uint8_t *msg, size_t len)
{
	gcall *c = gcall_of(ud, st);
	json_t *v;
	bool kick = false;

	if (c == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	if (c->px != NULL) {
		if (!prelay_push(c->px, msg, len))
			mk_grpc_stream_finish(
			    st, MK_GRPC_RESOURCE_EXHAUSTED,
			    "proxy.target: more than 4 MiB of request messages wait for the backend");
		return;
	}
	if ((v = decode_msg(st, c->gm, msg, len)) == NULL)
		return;
	if (!c->probed) {
		c->probed = true;
		if (proxy_probe(c, st, v, msg, len)) {
			json_decref(v);
			return;
		}
	}
	if (!c->gm->m->server_streaming) {
		if (json_array_size(c->msgs) >= MAX_CLIENT_STREAM_MSGS) {
			mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "more than 10000 messages in one client stream");
			json_decref(v);
			return;
		}
		json_array_append_new(c->msgs, v);
		return;
	}
	pthread_mutex_lock(&c->mu);
	json_array_append_new(c->pending, v);
	if (!c->running)
		kick = c->running = true;
	pthread_mutex_unlock(&c->mu);
	if (kick)
		push_job(c, run_bidi, st);
}

/* Loop thread: the client ended its side. */
static void
on_stream_half_close(void *ud, mk_grpc_stream *st)
{
	gcall *c = gcall_of(ud, st);
	bool finish_now = false;

	if (c == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	if (c->px != NULL) {
		prelay_end(c->px);
		return;
	}
	if (!c->gm->m->server_streaming) {
		push_job(c, run_client_stream, st);
		return;
	}
	pthread_mutex_lock(&c->mu);
	c->half_closed = true;
	finish_now = !c->running;
	pthread_mutex_unlock(&c->mu);
	if (finish_now)
		mk_grpc_stream_finish(st, MK_GRPC_OK, NULL);
}

/* ------------------------------------------------------------ descriptor sets */

typedef struct membuf {
	char *p;
	size_t n;
} membuf;

static size_t
membuf_write(void *data, size_t sz, size_t nm, void *arg)
{
	membuf *b = arg;
	size_t n = sz * nm;
	char *p;

	if (b->n + n > (64u << 20))
		return 0;
	p = realloc(b->p, b->n + n + 1);
	if (p == NULL)
		return 0;
	memcpy(p + b->n, data, n);
	b->n += n;
	p[b->n] = '\0';
	b->p = p;
	return n;
}

/*
 * Fetches the latest descriptor set of (NAMESPACE, SERVER_NAME) from the admin node. Returns
 * the bytes (malloc'd) and *version, or NULL with err and *http (the answer's status, 0 when
 * there was none: 404 means no version is stored).
 */
static uint8_t *
fetch_set(size_t *len, int *version, long *http, char *err, size_t errlen)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	membuf b = {0};
	char url[1024], auth[600];
	char *esc_name, *esc_ns;
	long status = 0;
	json_t *doc = NULL;
	uint8_t *out = NULL;
	CURLcode rc;

	*http = 0;
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	esc_name = curl_easy_escape(h, rs_server_name ? rs_server_name : "", 0);
	esc_ns = curl_easy_escape(h, rs_cfg.ns, 0);
	snprintf(url, sizeof(url), "%s/api/v1/grpc/descriptors/%s?namespace=%s", gs_proto_admin_url, esc_name, esc_ns);
	curl_free(esc_name);
	curl_free(esc_ns);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", rs_cfg.api_token);
	hdrs = curl_slist_append(hdrs, auth);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, membuf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "GET %.300s: %s", url, curl_easy_strerror(rc));
	} else if ((*http = status) != 200) {
		snprintf(err, errlen, "GET %.300s: HTTP %ld: %.200s", url, status, b.p ? b.p : "");
	} else if ((doc = json_loads(b.p ? b.p : "", 0, NULL)) == NULL ||
	           !json_is_string(json_object_get(doc, "descriptorSet"))) {
		snprintf(err, errlen, "GET %.300s: the answer has no descriptorSet", url);
	} else if ((out = b64_decode(json_string_value(json_object_get(doc, "descriptorSet")), len)) == NULL) {
		snprintf(err, errlen, "GET %.300s: descriptorSet is not base64", url);
	} else {
		*version = (int)json_integer_value(json_object_get(doc, "version"));
	}
	json_decref(doc);
	free(b.p);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return out;
}

static void
pool_free(gpool *p)
{
	for (size_t i = 0; p->methods && i < p->nmethods; i++) {
		enc_cache *c = p->methods[i].cache;

		if (c != NULL) {
			json_decref(c->v);
			free(c->bytes);
			pthread_mutex_destroy(&c->mu);
			free(c);
		}
	}
	free(p->methods);
	mc_pb_set_free(p->set);
	free(p->set_bytes);
	free(p);
}

static void
pool_unref(gpool *p)
{
	if (p != NULL && atomic_fetch_sub(&p->refs, 1) == 1)
		pool_free(p);
}

/* The route's release: the call that used a method of a pool is gone. */
static void
route_release(void *ud)
{
	pool_unref(((gmethod *)ud)->pool);
}

/*
 * Loop thread, once per call: the method of the current pool for path. The call holds a
 * reference on that pool until its stream is destroyed.
 */
static bool
route(void *ud, const char *path, mk_grpc_route *out)
{
	gmethod *gm = NULL;

	(void)ud;
	pthread_mutex_lock(&cur_mu);
	for (size_t i = 0; cur != NULL && i < cur->nmethods; i++)
		if (strcmp(cur->methods[i].path, path) == 0) {
			gm = &cur->methods[i];
			atomic_fetch_add(&cur->refs, 1);
			break;
		}
	pthread_mutex_unlock(&cur_mu);
	if (gm == NULL)
		return false;
	out->ud = gm;
	out->release = route_release;
	if (gm->m->client_streaming) {
		out->kind = MK_GRPC_BIDI;
		out->bidi = (mk_grpc_bidi_fns){on_stream_msg, on_stream_half_close};
	} else {
		out->kind = gm->m->server_streaming ? MK_GRPC_SERVER_STREAM : MK_GRPC_UNARY;
		out->handler = on_single;
	}
	return true;
}

/* Loads a set into a new pool (consumes bytes on success; one reference). NULL with err. */
static gpool *
pool_load(uint8_t *bytes, size_t len, int version, char *err, size_t errlen)
{
	gpool *p = calloc(1, sizeof(*p));
	mc_error merr = {0};
	size_t nsvc, k = 0;

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->set = mc_pb_set_load(bytes, len, &merr);
	if (p->set == NULL) {
		if (version > 0)
			snprintf(err, errlen, "descriptor set version %d does not load: %s: %s", version, merr.path,
			         merr.msg);
		else
			snprintf(err, errlen, "the embedded descriptor set does not load: %s: %s", merr.path, merr.msg);
		free(p);
		return NULL;
	}
	p->version = version;
	atomic_init(&p->refs, 1);
	nsvc = mc_pb_service_count(p->set);
	for (size_t i = 0; i < nsvc; i++)
		p->nmethods += mc_pb_service_at(p->set, i)->nmethods;
	p->methods = calloc(p->nmethods ? p->nmethods : 1, sizeof(gmethod));
	if (p->methods == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < nsvc; i++) {
		const mc_pb_service *svc = mc_pb_service_at(p->set, i);

		for (size_t j = 0; j < svc->nmethods; j++, k++) {
			gmethod *gm = &p->methods[k];
			const mc_pb_method *m = &svc->methods[j];

			gm->pool = p;
			snprintf(gm->path, sizeof(gm->path), "/%s/%s", svc->full_name, m->name);
			gm->cache = calloc(1, sizeof(*gm->cache));
			if (gm->cache == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			pthread_mutex_init(&gm->cache->mu, NULL);
			gm->m = m;
			gm->set = p->set;
			gm->kind = m->client_streaming ? (m->server_streaming ? "bidirectional" : "client-stream")
			                               : (m->server_streaming ? "server-stream" : "unary");
		}
	}
	p->set_bytes = bytes;
	p->set_len = len;
	return p;
fail:
	p->set_bytes = NULL; /* not consumed */
	pool_free(p);
	return NULL;
}

/* Marks every service of p with a health status (1 SERVING, 2 NOT_SERVING). */
static void
pool_health(const gpool *p, int status)
{
	for (size_t i = 0; i < mc_pb_service_count(p->set); i++)
		mk_grpc_health_set(srv, mc_pb_service_at(p->set, i)->full_name, status);
}

/*
 * Serves a newly stored version (consumes bytes): loads it, points reflection at it, then
 * swaps it in as the current pool under cur_mu, so every call that starts afterwards is
 * routed to its methods while calls already running finish on the old pool (their reference
 * keeps it). Services the new version dropped are NOT_SERVING, its own SERVING. A set that
 * does not load is logged and the old version keeps serving.
 */
static void
pool_swap(uint8_t *bytes, size_t len, int version)
{
	char err[600];
	gpool *p = pool_load(bytes, len, version, err, sizeof(err)), *old;

	if (p == NULL) {
		free(bytes);
		log_error("grpc: keeping version %d: %s", cur ? cur->version : 0, err);
		return;
	}
	if (mk_grpc_reflection_replace(srv, p->set_bytes, p->set_len) != 0) {
		log_error("grpc: keeping version %d: reflection cannot index version %d", cur ? cur->version : 0,
		          version);
		pool_unref(p);
		return;
	}
	pthread_mutex_lock(&cur_mu);
	old = cur;
	cur = p;
	swaps++;
	pthread_mutex_unlock(&cur_mu);
	if (old != NULL)
		pool_health(old, 2 /* NOT_SERVING */);
	pool_health(p, 1 /* SERVING */);
	log_info("grpc: now serving descriptor set \"%s\" version %d (%zu methods; was version %d; calls "
	         "already running finish on it)",
	         rs_server_name, version, p->nmethods, old ? old->version : 0);
	pool_unref(old);
}

/*
 * Poller thread: follows the stored versions. The set is fetched when the synced mock state
 * moves (a generator run or an upload with its mocks arrives through the change feed first;
 * at most every FETCH_GAP_MS) and at least every POLL_MS; a version other than the one
 * served is swapped in (pool_swap).
 */
static void *
poll_main(void *arg)
{
	uint64_t seen = sync_applied_version();
	int64_t last = 0;

	(void)arg;
	while (!atomic_load(&stopping)) {
		char err[600];
		size_t len = 0;
		int version = 0, served;
		long http = 0;
		uint8_t *bytes;

		/* a burst of mock writes fetches at most every FETCH_GAP_MS */
		for (int i = 0; i < POLL_MS / 50 && !atomic_load(&stopping); i++) {
			uint64_t v = sync_applied_version();

			if (v != seen && mk_grpc_now_ms() - last >= FETCH_GAP_MS) {
				seen = v;
				break;
			}
			usleep(50 * 1000);
		}
		last = mk_grpc_now_ms();
		if (atomic_load(&stopping))
			break;
		bytes = fetch_set(&len, &version, &http, err, sizeof(err));
		if (bytes == NULL) {
			log_debug("grpc: descriptor poll: %s", err);
			continue;
		}
		pthread_mutex_lock(&cur_mu);
		served = cur ? cur->version : -1;
		pthread_mutex_unlock(&cur_mu);
		if (version > 0 && version != served)
			pool_swap(bytes, len, version);
		else
			free(bytes);
	}
	return NULL;
}

/* ------------------------------------------------------------ module */

/* The frame's spec as a copy when it is a loadable descriptor set with a service, else NULL. */
static uint8_t *
embedded_set(size_t *len)
{
	mc_error merr = {0};
	mc_pb_set *set;
	uint8_t *copy;

	if (gs_proto_spec == NULL || gs_proto_spec_len == 0)
		return NULL;
	set = mc_pb_set_load(gs_proto_spec, gs_proto_spec_len, &merr);
	if (set == NULL || mc_pb_service_count(set) == 0) {
		log_warn("grpc: the spec given is not a descriptor set with a service (%s); only the admin "
		         "node's stored set can be served",
		         set ? "no service" : merr.msg);
		mc_pb_set_free(set);
		return NULL;
	}
	mc_pb_set_free(set);
	copy = malloc(gs_proto_spec_len);
	if (copy != NULL) {
		memcpy(copy, gs_proto_spec, gs_proto_spec_len);
		*len = gs_proto_spec_len;
	}
	return copy;
}

static bool
grpc_start(void)
{
	char err[600], e[256];
	size_t len = 0, elen = 0;
	int version = 0;
	long http = 0;
	uint8_t *bytes = NULL, *emb;
	mc_error merr = {0};
	mk_grpc_server_config cfg = {0};

	if (rs_server_name == NULL || rs_server_name[0] == '\0') {
		log_error("grpc: SERVER_NAME must name the stored descriptor set (POST /api/v1/grpc/descriptors)");
		return false;
	}
	rpcset = mc_pb_set_load(mk_grpc_rpc_descriptor_set, mk_grpc_rpc_descriptor_set_len, &merr);
	if (rpcset == NULL)
		log_warn("grpc: embedded google.rpc set does not load (%s); errorDetails are not sent", merr.msg);
	callq = mk_grpc_callq_start(rs_cfg.threads > 4 ? rs_cfg.threads * 4 : 16, NULL, NULL);
	if (callq == NULL) {
		log_error("grpc: cannot start the worker pool");
		return false;
	}
	emb = embedded_set(&elen);
	/* the admin node may still be starting: a few attempts before giving up (or serving the
	 * embedded set); a 404 is an answer: no version is stored */
	for (int i = 0; i < 50; i++) {
		bytes = fetch_set(&len, &version, &http, err, sizeof(err));
		if (bytes != NULL || (http == 404 && emb != NULL))
			break;
		usleep(200 * 1000);
	}
	if (bytes == NULL && emb != NULL) {
		log_info("grpc: serving the embedded descriptor set until the admin node stores one for \"%s\" (%s)",
		         rs_server_name, err);
		bytes = emb;
		len = elen;
		version = 0;
		emb = NULL;
	}
	free(emb);
	if (bytes == NULL) {
		log_error("grpc: no descriptor set for server \"%s\" in namespace %s: %s", rs_server_name, rs_cfg.ns,
		          err);
		return false;
	}
	cur = pool_load(bytes, len, version, err, sizeof(err));
	if (cur == NULL) {
		free(bytes);
		log_error("grpc: %s", err);
		return false;
	}
	cfg.host = rs_cfg.http_bind_addr;
	cfg.port = rs_cfg.http_port;
	cfg.max_message = MK_GRPC_DEFAULT_MAX_MESSAGE;
	srv = mk_grpc_server_new(&cfg, e, sizeof(e));
	if (srv == NULL) {
		log_error("grpc: cannot listen on %s:%d: %s", rs_cfg.http_bind_addr, rs_cfg.http_port, e);
		return false;
	}
	if (mk_grpc_server_set_router(srv, route, NULL) != 0 || mk_grpc_health_register(srv) != 0 ||
	    mk_grpc_reflection_register(srv, cur->set_bytes, cur->set_len) != 0) {
		log_error("grpc: cannot register the mocked services, health and reflection");
		return false;
	}
	pool_health(cur, 1 /* SERVING */);
	if (mk_grpc_server_start(srv, e, sizeof(e)) != 0) {
		log_error("grpc: cannot start the gRPC server: %s", e);
		return false;
	}
	if (version > 0)
		log_info("grpc: serving descriptor set \"%s\" version %d (%zu methods) on %s:%d", rs_server_name, version,
		         cur->nmethods, rs_cfg.http_bind_addr, rs_cfg.http_port);
	else
		log_info("grpc: serving the embedded descriptor set as \"%s\" (%zu methods) on %s:%d", rs_server_name,
		         cur->nmethods, rs_cfg.http_bind_addr, rs_cfg.http_port);
	atomic_store(&stopping, false);
	if (pthread_create(&poller, NULL, poll_main, NULL) != 0) {
		log_error("grpc: cannot start the descriptor poller");
		return false;
	}
	return true;
}

static void
grpc_stop(void)
{
	atomic_store(&stopping, true);
	pthread_join(poller, NULL);
	if (srv != NULL)
		mk_grpc_server_stop(srv, 1000);
	if (callq != NULL)
		mk_grpc_callq_stop(callq);
	callq = NULL;
}

static json_t *
grpc_status(void)
{
	json_t *o;

	pthread_mutex_lock(&cur_mu);
	o = json_pack("{s:s, s:I, s:i, s:I, s:I, s:I, s:I, s:I}", "transport", "grpc", "mocksLoaded",
	              (json_int_t)rs_mocks_loaded(), "descriptorVersion", cur ? cur->version : 0, "methods",
	              (json_int_t)(cur ? cur->nmethods : 0), "calls", (json_int_t)atomic_load(&n_calls),
	              "misses", (json_int_t)atomic_load(&n_misses), "callsNotLogged",
	              (json_int_t)atomic_load(&n_unlogged), "descriptorSwaps", (json_int_t)swaps);
	pthread_mutex_unlock(&cur_mu);
	return o;
}

static const char *const aliases[] = {NULL};

const gs_protocol gs_grpc_protocol = {
    .name = "grpc",
    .aliases = aliases,
    .vars = NULL,
    .nvars = 0,
    .start = grpc_start,
    .stop = grpc_stop,
    .status_json = grpc_status,
    .metrics = NULL,
};
