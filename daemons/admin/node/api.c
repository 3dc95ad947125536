/*
 * api_util.c - the helpers every REST handler uses: JSON and error responses,
 * namespace and query lookup, and db_json(), the one call that runs a SQL
 * function of the mockarty schema and maps its SQLSTATE onto the HTTP error
 * envelope.
 *
 * Handlers are meant to be a few lines each (the SQL API is the real API), so
 * every failure mode that is common to all of them is handled here once: no
 * connection, a broken connection, and each SQLSTATE the extension raises.
 */
#include "node/api.h"

#include "log.h"
#include "mockarty/core.h"
#include "pgpool.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a request waits for a pooled connection before answering 503. */
#define DB_WAIT_MS 5000

void
api_json(api_resp *resp, int status, json_t *body)
{
	if (resp->json != NULL)
		json_decref(resp->json);
	free(resp->raw);
	resp->raw = NULL;
	resp->raw_len = 0;
	resp->status = status;
	resp->json = body;
	resp->content_type = NULL;
}

void
api_error(api_req *req, api_resp *resp, int status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *env;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	env = json_pack("{s:s, s:s, s:s}", "error", msg, "code", code, "request_id",
			req != NULL ? req->request_id : "");
	if (env == NULL) /* msg was not valid UTF-8: keep the code at least */
		env = json_pack("{s:s, s:s, s:s}", "error", "error", "code", code, "request_id",
				req != NULL ? req->request_id : "");
	api_json(resp, status, env);
}

void
api_resp_header(api_resp *resp, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *v = NULL;

	if (resp->nheaders >= 4)
		return;
	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	if (v == NULL)
		return;
	resp->hname[resp->nheaders] = name;
	resp->hvalue[resp->nheaders++] = v;
}

const char *
api_header(const api_req *req, const char *lname)
{
	json_t *v;

	if (req->headers == NULL)
		return NULL;
	v = json_object_get(req->headers, lname);
	if (json_is_array(v))
		v = json_array_get(v, 0);
	return json_string_value(v);
}

const char *
api_query(const api_req *req, const char *name)
{
	json_t *v;

	if (req->query == NULL)
		return NULL;
	v = json_object_get(req->query, name);
	if (json_is_array(v))
		v = json_array_get(v, 0);
	return json_string_value(v);
}

/*
 * Order of api-compat 1.3 with the token binding first: a namespace-bound token
 * may not reach another namespace, whatever the request says.
 */
const char *
api_namespace(const api_req *req)
{
	const char *ns;

	if (req->token_ns != NULL && req->token_ns[0] != '\0')
		return req->token_ns;
	if (json_is_object(req->body_json)) {
		ns = json_string_value(json_object_get(req->body_json, "namespace"));
		if (ns != NULL && ns[0] != '\0')
			return ns;
	}
	ns = api_query(req, "namespace");
	if (ns != NULL && ns[0] != '\0')
		return ns;
	ns = api_header(req, "x-namespace");
	if (ns != NULL && ns[0] != '\0')
		return ns;
	ns = api_header(req, "x-mockarty-namespace"); /* the console's spelling */
	if (ns != NULL && ns[0] != '\0')
		return ns;
	return "sandbox";
}

char *
api_dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

char *
api_pg_array(const json_t *arr)
{
	size_t i, cap = 16, len = 0;
	json_t *v;
	char *out;

	if (!json_is_array(arr))
		return NULL;
	json_array_foreach(arr, i, v) {
		if (json_is_string(v))
			cap += json_string_length(v) * 2 + 3;
		else if (json_is_integer(v))
			cap += 24;
		else
			return NULL;
	}
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	out[len++] = '{';
	json_array_foreach(arr, i, v) {
		if (i > 0)
			out[len++] = ',';
		if (json_is_integer(v)) {
			len += (size_t)snprintf(out + len, cap - len, "%lld", (long long)json_integer_value(v));
			continue;
		}
		out[len++] = '"';
		for (const char *p = json_string_value(v); *p; p++) {
			if (*p == '"' || *p == '\\')
				out[len++] = '\\';
			out[len++] = *p;
		}
		out[len++] = '"';
	}
	out[len++] = '}';
	out[len] = '\0';
	return out;
}

/* Converts one result cell to JSON per the rules in api.h. New reference. */
static json_t *
cell_to_json(const char *val, size_t len)
{
	json_t *j;
	json_error_t jerr;

	if (len == 0)
		return json_null();
	/* wide: jsonb prints a big real (1e308) as digits jansson would refuse */
	j = mc_json_loadb_wide(val, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (j != NULL)
		return j;
	if (len == 1 && val[0] == 't')
		return json_true();
	if (len == 1 && val[0] == 'f')
		return json_false();
	j = json_stringn(val, len);
	return j != NULL ? j : json_null();
}

/* Trims trailing newlines of a libpq message into buf. */
static void
trim_msg(char *buf, size_t cap, const char *msg)
{
	size_t n;

	snprintf(buf, cap, "%s", msg != NULL ? msg : "");
	/* libpq messages span lines ("...\n\tThis probably means..."): keep one line */
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
}

/*
 * Maps a failed result to the envelope. Returns true when the connection must
 * be considered broken.
 */
static bool
map_db_error(api_req *req, api_resp *resp, PGconn *conn, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	char msg[1024];

	trim_msg(msg, sizeof(msg), primary != NULL ? primary : PQerrorMessage(conn));
	if (PQstatus(conn) != CONNECTION_OK || state == NULL || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0) {
		pgpool_mark(PQstatus(conn) == CONNECTION_OK);
		log_warn("database unavailable: %s", msg);
		api_error(req, resp, 503, "unavailable", "database unavailable: %s", msg);
		return true;
	}
	if (strcmp(state, "22023") == 0 || strncmp(state, "22", 2) == 0) {
		if (detail != NULL && detail[0] == '$') {
			api_error(req, resp, 400, "validation", "%s: %s", detail, msg);
			json_object_set_new(resp->json, "field", json_string(detail));
		} else if (detail != NULL) {
			api_error(req, resp, 400, "validation", "%s (%s)", msg, detail);
		} else {
			api_error(req, resp, 400, "validation", "%s", msg);
		}
	} else if (strcmp(state, "MK001") == 0) { /* mockarty.template_output_limit */
		api_error(req, resp, 500, "template_output_limit", "%s", msg);
	} else if (strcmp(state, "P0002") == 0) {
		api_error(req, resp, 404, "not_found", "%s", msg);
	} else if (strcmp(state, "23505") == 0) {
		api_error(req, resp, 409, "conflict", "%s", msg);
	} else if (strcmp(state, "42501") == 0) {
		api_error(req, resp, 403, "forbidden", "%s", msg);
	} else if (strcmp(state, "28000") == 0) {
		api_error(req, resp, 401, "unauthorized", "%s", msg);
	} else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
		api_error(req, resp, 503, "unavailable", "%s, retry", msg);
	} else {
		log_error("sql error %s: %s (request %s)", state, msg, req ? req->request_id : "-");
		api_error(req, resp, 500, "internal", "%s", msg);
	}
	return false;
}

/*
 * After a statement of a write request committed (autocommit): reads the
 * change-log head on the same connection into req->wrote_version. The head
 * counter's row lock orders writers, so the committed head is >= the version
 * of every change the statement made. A failure here leaves the version
 * unknown (-1 or the previous statement's), and the server then reads the head
 * itself before answering.
 */
static void
note_write_version(api_req *req, PGconn *conn)
{
	PGresult *r = PQexec(conn, "SELECT mockarty.head_version()");

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);

		if (v > req->wrote_version)
			req->wrote_version = v;
	}
	PQclear(r);
}

/*
 * Opens a transaction on conn and sets the caller context of req in it
 * (mockarty.caller_namespace, mockarty.caller_role; transaction-local), in one
 * round trip. Returns false when that failed (the caller drops the connection).
 */
static bool
caller_begin(PGconn *conn, const api_req *req)
{
	char *ns = PQescapeLiteral(conn, req->token_ns != NULL ? req->token_ns : "",
				   req->token_ns != NULL ? strlen(req->token_ns) : 0);
	char *role = PQescapeLiteral(conn, req->token_role != NULL ? req->token_role : "",
				     req->token_role != NULL ? strlen(req->token_role) : 0);
	char sql[512];
	PGresult *res;
	bool ok = false;

	if (ns != NULL && role != NULL &&
	    (size_t)snprintf(sql, sizeof(sql),
			     "BEGIN; SELECT pg_catalog.set_config('mockarty.caller_namespace', %s, true),"
			     " pg_catalog.set_config('mockarty.caller_role', %s, true)",
			     ns, role) < sizeof(sql)) {
		res = PQexec(conn, sql); /* the result of the last statement */
		ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;
		PQclear(res);
	}
	PQfreemem(ns);
	PQfreemem(role);
	return ok;
}

bool
db_json(api_req *req, api_resp *resp, const char *sql, int nparams, const char *const *params,
	json_t **out)
{
	PGconn *conn;
	PGresult *res;
	ExecStatusType st;
	bool broken = false, ok = false, restricted;

	if (out != NULL)
		*out = NULL;
	conn = pgpool_get(DB_WAIT_MS);
	if (conn == NULL) {
		api_error(req, resp, 503, "unavailable", "database unavailable");
		return false;
	}
	restricted = req != NULL && ((req->token_ns != NULL && req->token_ns[0] != '\0') ||
				     (req->token_role != NULL && strcmp(req->token_role, "admin") != 0));
	if (restricted && !caller_begin(conn, req)) {
		if (PQstatus(conn) != CONNECTION_OK)
			pgpool_mark(false);
		api_error(req, resp, 503, "unavailable", "database unavailable: cannot set the caller context");
		pgpool_put(conn, true); /* its transaction state is unknown: never reuse it */
		return false;
	}
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		pgpool_mark(true);
		if (req != NULL && req->track_writes)
			note_write_version(req, conn);
		if (out != NULL) {
			if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0 &&
			    !PQgetisnull(res, 0, 0))
				*out = cell_to_json(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
			else
				*out = json_null();
		}
		ok = true;
	} else {
		broken = map_db_error(req, resp, conn, res);
	}
	PQclear(res);
	if (restricted && !broken) {
		/* the caller context dies with the transaction: COMMIT a success, ROLLBACK a failure */
		res = PQexec(conn, ok ? "COMMIT" : "ROLLBACK");
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
			if (ok) {
				ok = false;
				map_db_error(req, resp, conn, res);
			}
			broken = true;
		}
		PQclear(res);
	}
	pgpool_put(conn, broken);
	return ok;
}

/* Depth of v: 1 for a scalar, 1 + deepest child otherwise; stops counting past limit. */
static int
json_depth(const json_t *v, int limit)
{
	int best = 0;

	if (limit <= 0)
		return 1;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;

		json_object_foreach((json_t *)v, k, c) {
			int d = json_depth(c, limit - 1);

			if (d > best)
				best = d;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *c;

		json_array_foreach(v, i, c) {
			int d = json_depth(c, limit - 1);

			if (d > best)
				best = d;
		}
	} else {
		return 1;
	}
	return best + 1;
}

json_t *
api_body(api_req *req, api_resp *resp, int want)
{
	json_error_t jerr;
	json_t *v;

	if (req->body == NULL || req->body_len == 0) {
		api_error(req, resp, 400, "validation", "request body is empty; a JSON %s is required",
			  want == JSON_ARRAY ? "array" : "object");
		return NULL;
	}
	if (req->body_json == NULL) {
		v = mc_json_loadb_wide(req->body, req->body_len, JSON_DECODE_ANY, &jerr);
		if (v != NULL) { /* parsed now though the server could not: keep it */
			req->body_json = v;
		} else if (json_error_code(&jerr) == json_error_invalid_utf8) {
			api_error(req, resp, 400, "validation",
				  "request body is not valid UTF-8 (line %d, column %d)", jerr.line,
				  jerr.column);
			return NULL;
		} else if (json_error_code(&jerr) == json_error_stack_overflow) {
			api_error(req, resp, 400, "validation", "JSON nesting deeper than %d levels", 64);
			return NULL;
		} else {
			api_error(req, resp, 400, "validation", "malformed JSON at line %d, column %d: %s",
				  jerr.line, jerr.column, jerr.text);
			return NULL;
		}
	}
	if (json_depth(req->body_json, 66) > 64) {
		api_error(req, resp, 400, "validation", "JSON nesting deeper than %d levels", 64);
		return NULL;
	}
	if (want == JSON_OBJECT && !json_is_object(req->body_json)) {
		api_error(req, resp, 400, "validation", "request body must be a JSON object");
		return NULL;
	}
	if (want == JSON_ARRAY && !json_is_array(req->body_json)) {
		api_error(req, resp, 400, "validation", "request body must be a JSON array");
		return NULL;
	}
	return req->body_json;
}

/* See api.h. */
struct MHD_Response *
api_build_response(const api_req *req, api_resp *resp, int *status)
{
	struct MHD_Response *r;
	char *text = NULL;
	size_t len = 0;
	const char *ctype = resp->content_type;

	if (resp->status == 0) {
		api_error((api_req *)req, resp, 500, "internal", "handler produced no response");
	}
	if (resp->json != NULL) {
		text = json_dumps(resp->json, JSON_COMPACT | JSON_ENCODE_ANY);
		len = text ? strlen(text) : 0;
		if (ctype == NULL)
			ctype = "application/json";
	} else if (resp->raw != NULL) {
		text = resp->raw;
		len = resp->raw_len;
		resp->raw = NULL;
	}
	r = MHD_create_response_from_buffer(len, text ? text : (char *)"", text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		for (int i = 0; i < resp->nheaders; i++)
			free(resp->hvalue[i]);
		resp->nheaders = 0;
		free(text);
		return NULL;
	}
	if (ctype == NULL)
		ctype = "application/json";
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "X-Request-Id", req->request_id);
	for (int i = 0; i < resp->nheaders; i++) {
		MHD_add_response_header(r, resp->hname[i], resp->hvalue[i]);
		free(resp->hvalue[i]);
		resp->hvalue[i] = NULL;
	}
	resp->nheaders = 0;
	*status = resp->status;
	return r;
}
