/*
 * core.h - public interface of libmockarty-core, the PostgreSQL-free matching and
 * templating library shared by the mockarty extension and every daemon.
 *
 * The same request and mock must give the same response whichever process resolves
 * it, so everything that decides a response lives here and nowhere else. Rules that
 * follow from being linked into a PostgreSQL backend: no PG headers, no global
 * mutable state, errors returned as values (never exit, never log), bounded
 * recursion, regex cost and template output. JSON values are jansson objects; the
 * ownership of each returned value is stated on the function.
 */
#ifndef MOCKARTY_CORE_H
#define MOCKARTY_CORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Core symbols never leak out of mockarty.so (a blanket -fvisibility=hidden would hide _PG_init too on PostgreSQL 15; see extension/Makefile). */
#define MC_API __attribute__((visibility("hidden")))

/* Limits: every input that can grow work is bounded. */
#define MC_MAX_JSON_DEPTH 64             /* nesting of a mock or request body */
#define MC_MAX_TEMPLATE_OUTPUT (1 << 20) /* bytes of one rendered string */
/* Default budget of everything one response renders (payload, headers, extras, extract). */
#define MC_DEFAULT_TEMPLATE_OUTPUT_LIMIT ((size_t)8 << 20)
#define MC_MAX_TEMPLATE_EXPRESSIONS 10000  /* template expressions in one mock */
#define MC_MAX_TEMPLATE_BYTES (1 << 20)    /* bytes of the strings holding them, per mock */
#define MC_MAX_ROUTE_SEGMENTS 64
#define MC_MAX_CONDITIONS 256 /* per list */
#define MC_REGEX_MATCH_LIMIT 100000
#define MC_DEFAULT_NAMESPACE "sandbox"

typedef enum mc_status {
	MC_OK = 0,
	MC_EINVAL,   /* bad input: err->path and err->msg say what and where */
	MC_ENOMEM,   /* allocation failed */
	MC_ELIMIT,   /* a bound above was exceeded */
	MC_ENOTFOUND /* nothing matched */
} mc_status;

/*
 * Filled by any function that can fail. path is the JSON path of the offending
 * field in the mock ("$.http.conditions[0].assertAction"), empty when not about a
 * field; msg is a lower-case sentence fragment without a trailing period.
 */
typedef struct mc_error {
	mc_status code;
	char path[256];
	char msg[256];
} mc_error;

MC_API void mc_error_set(mc_error *err, mc_status code, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------------ validate.c */

/*
 * Checks a mock document against the model of api-compat section 3: types of
 * every known field, exactly one protocol section, no unknown top-level section,
 * known assertAction values, compilable regexes (routePattern, matches), parsable
 * templates (faker arguments checked without generating anything), at most
 * MC_MAX_TEMPLATE_EXPRESSIONS expressions in strings totalling at most
 * MC_MAX_TEMPLATE_BYTES bytes, depth <= MC_MAX_JSON_DEPTH. Returns MC_OK or
 * MC_EINVAL with err naming the first offending field. Does not modify mock.
 */
MC_API mc_status mc_mock_validate(const json_t *mock, mc_error *err);

/*
 * The save-time half of the template output budget: for response and every
 * oneOf response, the bytes rendering it always produces whatever the request
 * (literal text, object keys, scalars: the same measure rendering charges) must
 * fit in limit (0 = MC_DEFAULT_TEMPLATE_OUTPUT_LIMIT). Returns MC_OK, or MC_EINVAL
 * with err->path naming the response ("$.response", "$.oneOf.responses[2]") and
 * err->msg both sizes. Expects a mock mc_mock_validate accepted.
 */
MC_API mc_status mc_mock_check_output(const json_t *mock, size_t limit, mc_error *err);

/*
 * True when resolving this mock reads or writes shared state: useLimiter > 0,
 * oneOf with order "order", extract, or a template that reads $.gS / $.cS / $.mS
 * or calls $.increment. Such mocks must be resolved where state is transactional.
 */
MC_API bool mc_mock_is_stateful(const json_t *mock);

/*
 * True when resolving this mock gives the same response object for every
 * request, seed and time: not stateful, no oneOf (a random pick varies), no
 * extract, and no template expression ("$." + a known root) in any string of
 * the response. A server may then resolve it once and reuse the result.
 */
MC_API bool mc_mock_is_static(const json_t *mock);

/* ------------------------------------------------------------------- request.c */

/* The protocol a request arrived on (mc_request.protocol). */
#define MC_PROTO_HTTP 0
#define MC_PROTO_GRPC 1

/*
 * A request as core sees it. All json_t members are borrowed from the caller
 * and must outlive the call. protocol is last so that existing initializers
 * stay HTTP requests. For MC_PROTO_GRPC: path is "/<service>/<method>" (the
 * fully qualified service), method the call kind ("unary", "server-stream",
 * "client-stream", "bidirectional"; not used for matching), headers the
 * metadata, body_json the request message as proto3 JSON (for
 * client-streaming: the array of the collected messages).
 */
typedef struct mc_request {
	const char *method;  /* upper case, e.g. "GET" */
	const char *path;    /* percent-decoded path without the query, "/api/users/1" */
	json_t *query;       /* object: name -> array of strings (may be NULL) */
	json_t *headers;     /* object: lower-case name -> array of strings (may be NULL) */
	const char *body;    /* raw body bytes (may be NULL) */
	size_t body_len;
	json_t *body_json;   /* body parsed as JSON, or NULL when it is not JSON */
	int protocol;        /* MC_PROTO_HTTP (0) or MC_PROTO_GRPC */
} mc_request;

/* Parses "a=1&b=x%20y&a=2" into {"a":["1","2"],"b":["x y"]}. New reference. */
MC_API json_t *mc_query_parse(const char *query);

/* ------------------------------------------------------------------ jsonpath.c */

/*
 * Looks up a condition or template path in root. Accepts the spellings of
 * api-compat 4.5: "$.a.b", "a.b", "$.body.a", "$.req.a", "a[0].b", "$" and ""
 * (whole value), and "a[-1]" (an index from the end: -1 the last element).
 * Returns a borrowed reference or NULL.
 */
MC_API json_t *mc_jsonpath_get(const json_t *root, const char *path);

/* ----------------------------------------------------------------- condition.c */

/*
 * Evaluates one condition object {"path","assertAction","value","sortArray",
 * "decode"} against actual (borrowed, may be NULL = absent). sort_default is the
 * context-level sortArray. Returns true when it holds.
 */
MC_API bool mc_condition_eval(const json_t *cond, const json_t *actual, bool sort_default);

/* --------------------------------------------------------- index.c, route_trie.c */

typedef struct mc_index mc_index;

/* New empty index, or NULL on allocation failure. */
MC_API mc_index *mc_index_new(void);
MC_API void mc_index_free(mc_index *idx);

/*
 * Adds or replaces (same namespace+id) a validated mock. The index takes a new
 * reference to mock. seq orders newness: a greater seq is newer and wins ties.
 * A mock with a grpc section ({service (alias serviceName), method}) is keyed
 * by "/<service>/<method>" and matches only MC_PROTO_GRPC requests with that
 * path; its grpc.conditions read the request message like an HTTP body and
 * grpc.meta the metadata like HTTP headers. A mock with an http section
 * matches only HTTP requests. Other mocks are kept (counted), never matched.
 * Mocks with closedAt set are not added (MC_OK, nothing stored).
 */
MC_API mc_status mc_index_put(mc_index *idx, json_t *mock, int64_t seq, mc_error *err);

/* Removes a mock by namespace and id; returns true when it was present. */
MC_API bool mc_index_remove(mc_index *idx, const char *ns, const char *id);

/* Number of mocks held. */
MC_API size_t mc_index_count(const mc_index *idx);

/*
 * Called for each candidate that passed every condition, best first; returning
 * true skips it (e.g. its use limit is spent, or it expired).
 */
typedef bool (*mc_skip_fn)(void *ctx, const json_t *mock);

typedef struct mc_match {
	json_t *mock;        /* borrowed from the index; valid until the index changes */
	json_t *path_params; /* new reference: {"id":"123"} */
} mc_match;

/*
 * Finds the best HTTP mock in namespace ns for req: route (with :params and the
 * mock's pathPrefix), routePattern, httpMethod, then conditions, queryParams and
 * header lists, all AND-ed. Order: higher priority, then more specific route
 * (more literal segments, then route before routePattern), then newer seq.
 * Cost does not grow with the number of mocks on other routes.
 * Returns MC_OK with *out filled, or MC_ENOTFOUND. The index is not modified, so
 * concurrent matches on one index are safe while nobody writes it.
 */
MC_API mc_status mc_index_match(const mc_index *idx, const char *ns, const mc_request *req,
				mc_skip_fn skip, void *skip_ctx, mc_match *out);
MC_API void mc_match_clear(mc_match *m);

/*
 * Supplies the request headers on first use (see mc_index_match_lazy):
 * returns an object (lower-case name -> array of strings) that the caller
 * keeps alive until the match returns, or NULL for none.
 */
typedef json_t *(*mc_headers_fn)(void *ctx);

/*
 * mc_index_match for servers that build the header object lazily: when
 * req->headers is NULL and headers_fn is set, headers_fn(headers_ctx) is called
 * at most once, and only when a candidate's conditions read a header. Same
 * results as mc_index_match with the headers filled in.
 */
MC_API mc_status mc_index_match_lazy(const mc_index *idx, const char *ns, const mc_request *req,
				     mc_headers_fn headers_fn, void *headers_ctx, mc_skip_fn skip,
				     void *skip_ctx, mc_match *out);

/* ----------------------------------------------------------- faker.c, rng */

/* xoshiro128-style generator state; seeded explicitly for reproducible output. */
typedef struct mc_rng {
	uint64_t s[4];
} mc_rng;

MC_API void mc_rng_seed(mc_rng *rng, uint64_t seed);
MC_API uint64_t mc_rng_next(mc_rng *rng);

/*
 * Produces the value of $.fake.<name>(args). args is the text between the
 * parentheses or NULL. now is Unix seconds (time-based fakers use it). Returns a
 * new reference (string, integer, real or boolean), or NULL with err set for an
 * unknown name or bad arguments.
 */
MC_API json_t *mc_fake(const char *name, const char *args, mc_rng *rng, int64_t now, mc_error *err);

/* True when name is a built-in faker. */
MC_API bool mc_faker_exists(const char *name);

/*
 * Checks $.fake.<name>(args) as mc_fake would, without generating a value:
 * MC_OK, or MC_EINVAL with err set exactly as mc_fake sets it for an unknown
 * name or bad arguments. Costs a parse of args, never a draw or an allocation.
 */
MC_API mc_status mc_faker_check(const char *name, const char *args, mc_error *err);

/* ---------------------------------------------------------- template.c, render.c */

/* Shared state visible to templates; objects are modified in place. */
typedef struct mc_stores {
	json_t *gs; /* namespace global store (object) or NULL */
	json_t *cs; /* chain store of the mock's chainId (object) or NULL */
	json_t *ms; /* mock store (object) or NULL */
	bool gs_dirty, cs_dirty, ms_dirty;
} mc_stores;

typedef struct mc_render_ctx {
	const mc_request *req;
	json_t *path_params; /* borrowed object, may be NULL */
	mc_stores *stores;   /* may be NULL: store reads give null, writes are dropped */
	mc_rng *rng;
	int64_t now; /* Unix seconds */
	/*
	 * Output budget of one response, shared by every render call made with this
	 * ctx: output_limit bytes (0 = MC_DEFAULT_TEMPLATE_OUTPUT_LIMIT), output_used
	 * the running total (start at 0). Exceeding it fails the render with
	 * MC_ELIMIT and sets output_exceeded, so callers can name their setting.
	 */
	size_t output_limit;
	size_t output_used;
	bool output_exceeded;
} mc_render_ctx;

/* Syntax check of every expression inside s; MC_EINVAL names the offset in msg. */
MC_API mc_status mc_template_check(const char *s, mc_error *err);

/*
 * Renders a JSON value: every string inside (at any depth, object keys excluded)
 * is evaluated as a template. A string that is exactly one expression yields the
 * expression's typed value; otherwise the results are interpolated as text.
 * Returns a new reference, or NULL with err set. Strings without expressions and
 * other scalars may be shared with tmpl (containers are always new): treat the
 * result as read-only. Object members render in jsonb key order (shorter keys
 * first), so faker draws do not depend on how the mock was stored.
 * docs/templating.md is the language reference.
 */
MC_API json_t *mc_render_value(const json_t *tmpl, mc_render_ctx *ctx, mc_error *err);

/*
 * Resolves a matched mock into a response object:
 *   {"mockId":"..","statusCode":200,"headers":{"Name":["v"]},"payload":<any>,
 *    "delay":0, "proxy":"https://.." (only when proxy.target is set),
 *    "decode":"base64" (only when the payload must be decoded before sending)}
 * Steps: extract into stores (before rendering), pick the response (response, or
 * oneOf: "order" uses and advances *oneof_cursor, wrapping; "random" uses rng),
 * render payload and header values. oneof_cursor may be NULL (treated as 0, not
 * advanced). Returns a new reference, or NULL with err set.
 * "payload" is omitted when the response has none. When present in the chosen
 * response, "error", "errorDetails", "streamResponses", "trailers" (gRPC),
 * "graphqlErrors", "soapFault", "mcpIsError",
 * "sseEventChain" and "payloadTemplatePath" are copied (rendered) too. The
 * mock store (ctx->stores->ms) is seeded first with the mock's top-level
 * mStore keys it lacks.
 */
MC_API json_t *mc_resolve_response(const json_t *mock, mc_render_ctx *ctx, int64_t *oneof_cursor,
				   mc_error *err);

/*
 * json_loadb(text, len, flags, err), except that a document refused only for an
 * integer beyond int64 (how jsonb prints a big real such as 1e308) is read again
 * with such numbers as reals; every other number keeps its type. Returns a new
 * reference, or NULL with err (may be NULL) set as json_loadb does.
 */
MC_API json_t *mc_json_loadb_wide(const char *text, size_t len, size_t flags, json_error_t *err);

#endif /* MOCKARTY_CORE_H */
