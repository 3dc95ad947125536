/*
 * api.h - the seam between the admin node's HTTP server and its REST handlers.
 *
 * The server (server.c) parses a request into an api_req, resolves auth and the
 * namespace, finds a handler in the route table (rest/routes.c) and sends whatever the
 * handler put into api_resp. Handlers are thin: each maps one REST call onto one
 * SQL function of the mockarty schema through db_json(), which also turns a
 * SQLSTATE into the error envelope, so a handler's error path is one line.
 */
#ifndef MOCKARTY_ADMIN_API_H
#define MOCKARTY_ADMIN_API_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#define API_MAX_PARAMS 4

typedef struct api_req {
	const char *method;     /* "GET" */
	const char *path;       /* percent-decoded, no query */
	json_t *query;          /* name -> [values] (mc_query_parse) */
	json_t *headers;        /* lower-case name -> [values] */
	const char *body;       /* raw body, NUL-terminated, may be NULL */
	size_t body_len;
	json_t *body_json;      /* parsed body when it is JSON, else NULL */
	const char *params[API_MAX_PARAMS]; /* :captures of the route pattern, decoded */
	int nparams;
	const char *token_ns;   /* namespace the caller's token is bound to, or NULL */
	const char *token_role; /* role of the token's user (admin, editor, viewer), NULL = unrestricted */
	const char *client_addr; /* the peer's IP address as text on POST /api/v1/auth/login, else "" */
	/* set by auth_check for a signed-in session (cookie or Bearer mks_...), else NULL */
	const char *session_token; /* the session token mks_... (borrowed from the request) */
	const char *session_user;  /* the session's user id */
	const char *session_login; /* and its login */
	bool session_cookie;       /* authenticated by the mockarty_session cookie (CSRF checked) */
	char request_id[40];
	/*
	 * REST writes (set by the server for non-public routes other than GET/HEAD):
	 * after each statement that succeeded, db_json() reads the change-log head on
	 * the same connection into wrote_version, so it is >= the version of any change
	 * the request made (-1 while no statement ran). The server waits for the node's
	 * index to reach it and sends it as X-Mockarty-Version.
	 */
	bool track_writes;
	long long wrote_version;
} api_req;

typedef struct api_resp {
	int status;             /* 0 = not set yet */
	json_t *json;           /* body (owned; sent compact) */
	char *raw;              /* or a raw body (malloc'd, owned) */
	size_t raw_len;
	const char *content_type; /* static string; default application/json */
	/* extra response headers (api_resp_header; sent and freed by api_build_response) */
	int nheaders;
	const char *hname[4]; /* static names */
	char *hvalue[4];      /* malloc'd values */
} api_resp;

typedef void (*api_handler)(api_req *req, api_resp *resp);

typedef struct api_route {
	const char *method;     /* "GET", ... */
	const char *pattern;    /* "/api/v1/mocks/:id/logs"; a trailing "*" captures the rest */
	api_handler handler;
	bool public_route;      /* true: no token needed (health) */
} api_route;

/*
 * The one route table, grouped by resource and terminated by a zeroed entry
 * (rest/routes.c). Routing (server.c): among the entries whose method and
 * pattern match, the one with the most literal segments wins
 * ("/api/v1/mocks/batch" beats "/api/v1/mocks/:id"), ties go to the earlier
 * entry. A path that
 * matches no route is mock traffic unless it lies under /api/v1/, /ui/,
 * /health, /metrics or /swagger (then 404/405 envelope). After a handler of a
 * non-public, non-GET route answers 2xx, the server waits (up to
 * WRITE_VISIBILITY_TIMEOUT_MS) until the node's mock index has applied the
 * write's version (api_req.wrote_version), so clients read their writes back
 * from mock traffic at once; past the bound the answer is 503 naming the
 * setting, never a 2xx the node would not serve yet.
 */
extern const api_route api_routes[];

/* ---- helpers every handler uses (api_util.c) ---- */

/* Takes ownership of body. */
void api_json(api_resp *resp, int status, json_t *body);

/* Error envelope {"error":msg,"code":code,"request_id":...}; code per api-compat 1.5. */
void api_error(api_req *req, api_resp *resp, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Namespace of a request per api-compat 1.3: token binding, then body "namespace",
 * then ?namespace=, then X-Namespace, then X-Mockarty-Namespace (the console), then
 * "sandbox". Borrowed string.
 */
const char *api_namespace(const api_req *req);

/*
 * Adds a response header (Set-Cookie may be added more than once); name must be a
 * static string. At most 4 per response; more are dropped.
 */
void api_resp_header(api_resp *resp, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* First value of a query parameter or NULL. */
const char *api_query(const api_req *req, const char *name);

/*
 * Runs sql ($1..$n text parameters, NULL = SQL NULL) on a pooled connection and
 * parses the first column of the first row as JSON into *out (new reference;
 * json null when the row is SQL NULL or there is no row). When the caller is
 * restricted (req->token_ns, or req->token_role other than admin) the query runs
 * in a transaction that first sets mockarty.caller_namespace and
 * mockarty.caller_role (set_config(..., true)), so the database enforces the
 * caller rule itself (docs/sql-api.md).
 * On a database error it fills resp with the mapped envelope (22023 -> 400
 * validation with the DETAIL as the field path, P0002 -> 404, 23505 -> 409,
 * 42501 -> 403, 28000 -> 401, connection failure -> 503, else 500) and returns
 * false.
 */
bool db_json(api_req *req, api_resp *resp, const char *sql, int nparams, const char *const *params,
	     json_t **out);
/*
 * Notes on db_json results: a column that is not JSON text is converted, so
 * functions returning other types can use it too: boolean "t"/"f" -> true/false,
 * int -> integer (JSON parse), void or "" -> null, any other text -> string.
 * out may be NULL when the caller only wants success/failure.
 */

/*
 * Builds a PostgreSQL array literal ("{\"a\",\"b\"}") from a JSON array of
 * strings (numbers are accepted and printed), for text[] / bigint[] parameters.
 * Returns malloc'd text (caller frees) or NULL when arr is not such an array.
 */
char *api_pg_array(const json_t *arr);

/* Compact JSON text of v (malloc'd, caller frees), or NULL on allocation failure. */
char *api_dump(const json_t *v);

/*
 * The request body parsed strictly as JSON. want is JSON_OBJECT, JSON_ARRAY or
 * -1 for any type. On an empty body, malformed JSON (line and column named),
 * invalid UTF-8, nesting deeper than 64 levels or the wrong top-level type it
 * fills resp with 400 "validation" and returns NULL. Returns req->body_json
 * (borrowed) otherwise.
 */
json_t *api_body(api_req *req, api_resp *resp, int want);

/* First value of a (lower-case) request header or NULL. */
const char *api_header(const api_req *req, const char *lname);

/*
 * The libmicrohttpd response for resp (JSON compact, or raw; Content-Type and
 * X-Request-Id set); *status receives the HTTP status. Takes resp->raw; the
 * caller still owns resp->json. NULL when out of memory. Shared by the REST
 * front and mock traffic answered from the database.
 */
struct MHD_Response *api_build_response(const api_req *req, api_resp *resp, int *status);

#endif /* MOCKARTY_ADMIN_API_H */
