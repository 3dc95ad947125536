/*
 * mockserve.h - serving mock traffic from an in-memory compiled snapshot,
 * shared by every daemon that answers mock requests (the admin node and the
 * mock resolvers).
 *
 * What lives here is everything that does not depend on where the snapshot
 * comes from or where state lives:
 *   - ms_set: a set of compiled mocks (core's mc_index plus, per mock, what
 *     is needed to answer without the full document: the pre-resolved
 *     response of a static mock, the document text of a templated one);
 *   - ms_store: the set in force behind a rwlock, with its change-log version,
 *     swapped whole on a full load or edited in place by delta batches;
 *   - ms_serve(): namespace selection (/stubs/{ns}/..., X-Namespace, default
 *     "sandbox"), matching with expired mocks skipped, local rendering of
 *     stateless mocks (X-Mockarty-Seed makes it reproducible), building the
 *     HTTP response (status, multi-valued headers, string / base64 / JSON
 *     payload, delay), the 404 envelope on a miss, and cheap capture of the
 *     last requests per mock for the request log.
 * What differs per daemon is passed in as hooks (ms_hooks): resolving a
 * stateful mock where its state lives, recording a miss, proxying.
 *
 * Threading: any number of threads may call ms_serve() concurrently. Writers
 * (one thread per store) use ms_store_install() or ms_store_write_begin()/
 * ms_store_write_end(); an ms_set not installed in a store is not locked and
 * belongs to the thread building it.
 */
#ifndef MOCKARTY_MOCKSERVE_H
#define MOCKARTY_MOCKSERVE_H

#include "mockarty/core.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ compiled sets */

typedef struct ms_set ms_set;

/* New empty set, or NULL when out of memory. */
ms_set *ms_set_new(void);
void ms_set_free(ms_set *set);

/*
 * Adds a mock from its JSON document text (len bytes), replacing the mock with
 * the same id in any namespace. ns_hint is the namespace to use when the
 * document has none (NULL = "sandbox"); version orders newness (a greater one
 * wins ties in matching). A document with closedAt (or _meta.closedAt) > 0
 * removes the mock instead. The text is not kept beyond what serving needs.
 * Returns false (err filled, the previous mock with that id left in place)
 * when the text is not a JSON object with an id or core rejects the mock.
 */
bool ms_set_put(ms_set *set, const char *text, size_t len, const char *ns_hint, int64_t version,
		char *err, size_t errlen);

/*
 * The same in two steps, so that a writer can do the expensive part (JSON
 * parse, classification, pre-resolving a static response) before taking the
 * store's write lock: ms_prepare() returns NULL with err filled on the errors
 * of ms_set_put(); ms_set_put_prepared() consumes p (also on failure).
 */
typedef struct ms_prepared ms_prepared;
ms_prepared *ms_prepare(const char *text, size_t len, const char *ns_hint, char *err, size_t errlen);
bool ms_set_put_prepared(ms_set *set, ms_prepared *p, int64_t version, char *err, size_t errlen);
void ms_prepared_free(ms_prepared *p);

/* Removes a mock by id (ns is used only when the id is unknown to the set). */
void ms_set_remove(ms_set *set, const char *ns, const char *id);

/* Number of mocks held. */
size_t ms_set_count(const ms_set *set);

/* -------------------------------------------------------------- the store */

typedef struct ms_store ms_store;

/* New store holding no set (every request misses until one is installed). */
ms_store *ms_store_new(void);
/* Frees the store and its set; no ms_serve() may be running. */
void ms_store_free(ms_store *st);

/*
 * Installs set (ownership passes to the store) at version, frees the set it
 * replaces, marks the store loaded and wakes ms_store_wait_version() callers.
 */
void ms_store_install(ms_store *st, ms_set *set, int64_t version);

/*
 * Takes the write lock for a batch of deltas and returns the set in force
 * (an empty one is created when none is installed; NULL only when out of
 * memory, and then the lock is not held). Edit it with ms_set_put/remove,
 * then call ms_store_write_end() with the version of the last change applied
 * (the version only moves forward).
 */
ms_set *ms_store_write_begin(ms_store *st);
void ms_store_write_end(ms_store *st, int64_t version);

int64_t ms_store_version(ms_store *st);
bool ms_store_loaded(ms_store *st);
size_t ms_store_count(ms_store *st);

/*
 * Waits up to timeout_ms until the store's version is >= version; true when it
 * is (at once or in time).
 */
bool ms_store_wait_version(ms_store *st, int64_t version, int timeout_ms);

/* ------------------------------------------------------------- a request */

/* Called by ms_header_each_fn once per request header (raw name and value). */
typedef void (*ms_header_cb)(void *arg, const char *name, const char *value);

/*
 * One mock-traffic request. The transport fills the first block (all borrowed,
 * valid until ms_request_clear()); mockserve fills the second block on demand
 * (lazily: a hit on a static mock never builds the header object or parses the
 * body), and the hooks may use the accessors below.
 */
typedef struct ms_request {
	const char *method;    /* "GET" */
	const char *path;      /* percent-decoded, without the query; may start with /stubs/{ns}/ */
	const char *raw_query; /* text after '?', "" when none */
	const char *body;      /* raw body (may be NULL) */
	size_t body_len;
	/* first value of a header, name matched case-insensitively; NULL when absent */
	const char *(*header)(void *transport, const char *name);
	/* calls cb for every header in arrival order */
	void (*each_header)(void *transport, ms_header_cb cb, void *arg);
	void *transport;

	/* filled by mockserve */
	json_t *headers_json;  /* lower-case name -> [values] */
	json_t *query_json;    /* name -> [values] */
	json_t *body_json;     /* body parsed as JSON, NULL when it is not JSON */
	bool body_parsed;
	char request_id[40];
} ms_request;

/*
 * Fills req for a libmicrohttpd connection (header lookups go to MHD; every
 * pointer is borrowed and must outlive the request's use).
 */
void ms_request_init_mhd(ms_request *req, struct MHD_Connection *conn, const char *method,
			 const char *path, const char *raw_query, const char *body, size_t body_len);

/* Releases what mockserve built inside req (not the transport's data). */
void ms_request_clear(ms_request *req);
/* Header object, built on first use (borrowed; NULL only when out of memory). */
json_t *ms_request_headers(ms_request *req);
/* Query object, built on first use (borrowed). */
json_t *ms_request_query(ms_request *req);
/* Body as JSON, parsed on first use (borrowed; NULL when the body is not JSON). */
json_t *ms_request_body_json(ms_request *req);
/*
 * The request id: X-Request-Id when the client sent a sane one (<= 39 of
 * [A-Za-z0-9._-]), else 32 random hex digits, made on first use. Borrowed.
 */
const char *ms_request_id(ms_request *req);

/* --------------------------------------------------------------- a result */

typedef struct ms_shared ms_shared;
typedef struct ms_proxy_call ms_proxy_call; /* proxy.h */
typedef struct ms_after ms_after;

/*
 * What to send. response holds one reference for the caller: queue it with
 * MHD_queue_response() (after delay_ms, when > 0) and then call
 * ms_result_done(), which drops that reference (also when it was never
 * queued). A static mock's response is shared by all its hits and carries no
 * X-Request-Id; every other response (misses included) does.
 */
typedef struct ms_result {
	int status;
	struct MHD_Response *response;
	int64_t delay_ms;  /* capped at 600000 */
	bool hit;          /* a mock answered (locally or through resolve_remote) */
	int route_slot;    /* answering mock's route template (metrics.h); 0 = unmatched */
	ms_shared *shared; /* internal: the reference behind a shared response */
	/*
	 * A proxy mock's upstream call, prepared by the proxy hook (response is
	 * then NULL): the transport suspends the connection, ms_proxy_start()s
	 * it and fills this result with ms_proxy_finish() once resumed (proxy.h).
	 */
	ms_proxy_call *proxy_call;
	/*
	 * With proxy_call: the hit's callbacks and mock.resolved event, which
	 * need the upstream's status; ms_proxy_finish() runs them
	 * (ms_after_run), ms_result_done() drops them unrun.
	 */
	ms_after *after;
} ms_result;

void ms_result_done(ms_result *res);

/* Fires a proxied hit's callbacks and mock.resolved event for status, then frees a (NULL: no-op). */
void ms_after_run(ms_after *a, int status);

/*
 * For the HTTP library's URI callback (before it parses the query): when the
 * query of uri has more arguments than the connection's memory (mem_limit
 * bytes, HTTP_CONNECTION_MEMORY_KB) can index, the library would fail to
 * answer and leave the connection open until its timeout. This answers 431
 * with a JSON envelope naming the setting and Connection: close on the socket
 * itself, shuts the socket down (the client sees the end at once) and returns
 * true; false when the query fits. Estimate: 68 bytes of connection memory per
 * argument plus the URI itself.
 */
bool ms_refuse_crowded_query(struct MHD_Connection *conn, const char *uri, size_t mem_limit);

/*
 * The admin's side of a resolver's forwarded hit (eventq.h, forwarding mode):
 * item is {"mockId","status","seed"?,"request":{...}} as the node sent it, doc
 * (len bytes) the stored mock of that id in namespace ns. Renders the stored
 * mock's http callbacks with that request - only when the request matches the
 * mock (route, method, conditions) - and queues them in this process's eventq
 * as if this node had served the hit. Returns 0, or -1 with err set (nothing
 * queued). Nothing rendered by the node is used.
 */
int ms_callbacks_replay(const char *doc, size_t len, const char *ns, const json_t *item, char *err,
			size_t errlen);

/*
 * Sets the template output budget of every later resolution in this process
 * (TEMPLATE_OUTPUT_LIMIT_MB in bytes; 0 = core's default). A response whose
 * templates would render more answers 500 with code "template_output_limit".
 */
void ms_set_template_output_limit(size_t bytes);

/*
 * Fills res with a JSON error envelope {"error":msg,"code":code,"request_id":id}
 * (Content-Type application/json, X-Request-Id), the format of every node.
 */
void ms_envelope(ms_request *req, ms_result *res, int status, const char *code, const char *msg);

/*
 * Turns a response object of mc_resolve_response() (statusCode, headers,
 * payload, decode, delay) into res: status (100..999, else 200), every header
 * value (Content-Length, Transfer-Encoding and Connection are left to the
 * server), the payload (string as is with text/plain by default; base64
 * decoded when decode is "base64", application/octet-stream by default; any
 * other JSON compact with application/json by default) and the delay.
 * request_id, when not NULL, is sent as X-Request-Id.
 */
void ms_build_response(const json_t *resobj, const char *request_id, ms_result *res);

/* ------------------------------------------------------------------ hooks */

typedef struct ms_hooks {
	/*
	 * Resolves a stateful mock (use limits, ordered oneOf, stores, extract)
	 * where its state lives, for the request after namespace selection (ns,
	 * path). Returns the response object of mc_resolve_response (new
	 * reference), or NULL after filling res itself (e.g. 404 when the remote
	 * side finds no mock any more, 503 when it is unreachable). Required for
	 * stateful mocks; when NULL they are answered 503.
	 */
	json_t *(*resolve_remote)(void *ctx, ms_request *req, const char *ns, const char *path,
				  const char *mock_id, ms_result *res);
	/*
	 * Records a request no mock matched (may be NULL). Must not block for
	 * long: it runs on the serving thread.
	 */
	void (*record_miss)(void *ctx, ms_request *req, const char *ns, const char *path);
	/*
	 * Forwards the request to target (a mock's proxy.target) and fills res
	 * (the upstream answer, or a 502 envelope). NULL: proxy mocks answer 502.
	 */
	void (*proxy)(void *ctx, ms_request *req, const char *target, const char *path, ms_result *res);
	void *ctx;
} ms_hooks;

/*
 * Answers one mock-traffic request from st: always fills res (a response, or
 * a 500 envelope when even that cannot be built, then res->response may be
 * NULL only when out of memory). Stateless mocks are resolved here and their
 * requests captured for ms_store_drain_logs(); stateful ones go to
 * hooks->resolve_remote (which logs them where the state is).
 */
void ms_serve(ms_store *st, ms_request *req, const ms_hooks *hooks, ms_result *res);

/*
 * Matches mreq (any protocol: a gRPC call has protocol MC_PROTO_GRPC, path
 * "/<service>/<method>", the metadata as headers and the message as body_json)
 * in namespace ns of st, expired mocks skipped, and resolves a stateless hit
 * here (seed, when not NULL, makes it reproducible). Returns 1 with *resobj
 * (new reference, core's response object; a static mock's is the mock's cached
 * parsed response, shared between calls: read it, never modify it) and the mock
 * id in id[idcap]; 2 for
 * a stateful mock (id filled, *resobj NULL: resolve it where its state is); 0
 * when nothing matches; -1 when the response could not be rendered (err).
 * Logs nothing: the caller reports the call.
 */
int ms_match_resolve(ms_store *st, const char *ns, mc_request *mreq, const uint64_t *seed, char *id, size_t idcap,
		     json_t **resobj, char *err, size_t errlen);

/*
 * ms_match_resolve for callers that build the header object only when needed
 * (core's mc_index_match_lazy): with mreq->headers NULL, headers_fn(headers_ctx)
 * is called at most once, when a candidate's conditions read a header, and
 * before a templated response is rendered (mreq->headers is then set to it; the
 * caller keeps it alive and releases it). Same results as ms_match_resolve with
 * the headers filled in.
 */
int ms_match_resolve_lazy(ms_store *st, const char *ns, mc_request *mreq, mc_headers_fn headers_fn,
                          void *headers_ctx, const uint64_t *seed, char *id, size_t idcap, json_t **resobj,
                          char *err, size_t errlen);

/* ------------------------------------------------------------ request logs */

/*
 * Takes the requests captured since the last drain: for each mock at most the
 * last MS_LOGS_PER_MOCK (oldest first), as an array of
 * {"mockId","req":{"namespace","method","path","query","headers","body"},
 *  "response":<response object>,"calledAt":<unix seconds>}, the argument of
 * mockarty.log_requests(). Returns a new reference, or NULL when nothing was
 * captured. *dropped (may be NULL) gets the number of requests not captured
 * because too many distinct mocks were hit within one drain interval.
 * Capture costs the serving thread a copy of the request into a reused slot of
 * its own table: no JSON and no shared lock per request.
 */
#define MS_LOGS_PER_MOCK 3
json_t *ms_store_drain_logs(ms_store *st, unsigned long *dropped);

/*
 * Percent-decodes s[0..n) into a new NUL-terminated string (caller frees; NULL
 * when out of memory). Bad escapes and %00 stay literal, so a decoded path never
 * holds a NUL byte.
 */
char *ms_pct_decode(const char *s, size_t n);

/*
 * Appends data[0..n) to a growing request body (*buf of *cap bytes, *len used),
 * keeping it NUL-terminated. Returns false when out of memory (the body is kept).
 */
bool ms_body_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n);

/*
 * The same under the node's buffer budget (bufbudget.h): the capacity the
 * body grows to is reserved first, *reserved holding what this request has
 * reserved so far (the caller releases it with bufbudget_release() when the
 * request ends). Returns 1 when appended, 0 when out of memory, -1 when the
 * budget refused the growth (nothing changed).
 */
int ms_body_append_budget(char **buf, size_t *len, size_t *cap, size_t *reserved, const char *data,
			  size_t n);

/*
 * For a request that declared its Content-Length: reserves declared + 1
 * bytes and allocates the body at that exact capacity, so a body that keeps
 * its word never grows. Same returns; a no-op (1) once a body exists.
 */
int ms_body_reserve(char **buf, size_t *cap, size_t *reserved, size_t declared);

/* A JSON string of arbitrary bytes: invalid UTF-8 bytes become '?'. New reference. */
json_t *ms_json_bytes(const char *s, size_t n);

#endif /* MOCKARTY_MOCKSERVE_H */
