/*
 * serve.c - mock traffic on the admin node: everything that is not the REST
 * API, health or metrics.
 *
 * The hot path never waits for the database: stateless mocks are matched in
 * the snapshot and rendered here with core, their request logs and every miss
 * are handed to the flusher's queues. Only a mock that reads or writes shared
 * state (use limits, ordered oneOf, stores, extract) is resolved by
 * mockarty.resolve() in the database, where that state is transactional and
 * every node agrees on it.
 */
#include "admin.h"

#include "log.h"
#include "proxy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define FIXED_NOW 1700000000 /* "now" of seeded (reproducible) resolutions */

static _Thread_local mc_rng thread_rng;
static _Thread_local bool thread_rng_ready;

static uint64_t
random_seed(void)
{
	if (!thread_rng_ready) {
		uint64_t s;

		if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s))
			s = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&s;
		mc_rng_seed(&thread_rng, s);
		thread_rng_ready = true;
	}
	return mc_rng_next(&thread_rng);
}

/* Decodes standard or URL-safe base64 (padding optional); NULL on bad input. */
static unsigned char *
base64_decode(const char *s, size_t n, size_t *outlen)
{
	unsigned char *out = malloc(n / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i], v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+' || c == '-')
			v = 62;
		else if (c == '/' || c == '_')
			v = 63;
		else if (c == '=' || isspace(c))
			continue;
		else {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*outlen = o;
	return out;
}

/* Envelope response for mock traffic (404 miss, 502 proxy, 500). */
static void
envelope(api_req *req, serve_result *out, int status, const char *code, const char *msg)
{
	api_resp resp = {0};

	api_error(req, &resp, status, code, "%s", msg);
	out->response = server_build_response(req, &resp, &out->status);
	json_decref(resp.json);
}

static bool
header_is_managed(const char *name)
{
	return strcasecmp(name, "content-length") == 0 || strcasecmp(name, "transfer-encoding") == 0 ||
	       strcasecmp(name, "connection") == 0;
}

/*
 * Turns core's response object into an MHD response: status, multi-valued
 * headers, payload (string -> raw, text/plain by default; base64 decoded when
 * asked; other JSON -> compact JSON, application/json).
 */
static void
build_mock_response(api_req *req, const json_t *res, serve_result *out)
{
	json_t *payload = json_object_get(res, "payload");
	json_t *headers = json_object_get(res, "headers");
	const char *decode = json_string_value(json_object_get(res, "decode"));
	json_int_t status = json_integer_value(json_object_get(res, "statusCode"));
	char *body = NULL;
	size_t len = 0;
	const char *ctype = NULL;
	bool has_ctype = false;
	struct MHD_Response *r;
	const char *key;
	json_t *vals;

	if (status < 100 || status > 999)
		status = 200;
	if (json_is_string(payload)) {
		const char *s = json_string_value(payload);
		size_t n = json_string_length(payload);

		if (decode != NULL && strcasecmp(decode, "base64") == 0) {
			body = (char *)base64_decode(s, n, &len);
			ctype = "application/octet-stream";
		}
		if (body == NULL) {
			body = malloc(n + 1);
			if (body != NULL)
				memcpy(body, s, n);
			len = n;
			ctype = "text/plain; charset=utf-8";
		}
	} else if (payload != NULL) {
		body = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
		len = body ? strlen(body) : 0;
		ctype = "application/json";
	}
	r = MHD_create_response_from_buffer(len, body ? body : (char *)"",
					    body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(body);
		envelope(req, out, 500, "internal", "out of memory");
		return;
	}
	json_object_foreach(headers, key, vals) {
		if (header_is_managed(key))
			continue;
		if (strcasecmp(key, "content-type") == 0)
			has_ctype = true;
		if (json_is_array(vals)) {
			size_t i;
			json_t *v;

			json_array_foreach(vals, i, v) {
				if (json_is_string(v))
					MHD_add_response_header(r, key, json_string_value(v));
			}
		} else if (json_is_string(vals)) {
			MHD_add_response_header(r, key, json_string_value(vals));
		}
	}
	if (!has_ctype && ctype != NULL)
		MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "X-Request-Id", req->request_id);
	out->response = r;
	out->status = (int)status;
	out->delay_ms = json_integer_value(json_object_get(res, "delay"));
	if (out->delay_ms > 600000)
		out->delay_ms = 600000;
}

static void
serve_proxy(api_req *req, const char *path, const char *raw_query, const json_t *res,
	    serve_result *out)
{
	proxy_result pr;
	char err[512];
	struct MHD_Response *r;
	size_t i;
	json_t *h;

	if (!proxy_forward(json_string_value(json_object_get(res, "proxy")), req, path, raw_query, &pr,
			   err, sizeof(err))) {
		log_info("proxy refused or failed: %s", err);
		envelope(req, out, 502, "external", err);
		return;
	}
	r = MHD_create_response_from_buffer(pr.body_len, pr.body ? pr.body : (char *)"",
					    pr.body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(pr.body);
		json_decref(pr.headers);
		envelope(req, out, 500, "internal", "out of memory");
		return;
	}
	json_array_foreach(pr.headers, i, h) {
		MHD_add_response_header(r, json_string_value(json_array_get(h, 0)),
					json_string_value(json_array_get(h, 1)));
	}
	json_decref(pr.headers);
	MHD_add_response_header(r, "X-Request-Id", req->request_id);
	out->response = r;
	out->status = pr.status;
	/* the delay applies after the upstream answered (api-compat 5) */
	out->delay_ms = json_integer_value(json_object_get(res, "delay"));
}

/* The request as stored in request logs. New reference. */
static json_t *
log_req(const api_req *req, const char *ns, const char *path)
{
	json_t *body = req->body_json ? json_incref(req->body_json)
				      : (req->body_len ? json_stringn(req->body, req->body_len) : json_null());

	if (body == NULL)
		body = json_null();
	return json_pack("{s:s, s:s, s:s, s:O, s:O, s:o}", "namespace", ns, "method", req->method, "path",
			 path, "query", req->query, "headers", req->headers, "body", body);
}

/* Resolves a stateful mock in the database. Returns the response object or NULL (miss or error: out filled). */
static json_t *
resolve_in_db(api_req *req, const char *ns, const char *path, const char *raw_query,
	      serve_result *out)
{
	api_resp resp = {0};
	char *headers = api_dump(req->headers);
	const char *seed = api_header(req, "x-mockarty-seed");
	char *body = NULL;
	const char *params[7];
	json_t *res = NULL;

	if (req->body_len > 0)
		body = strndup(req->body, req->body_len);
	params[0] = ns;
	params[1] = req->method;
	params[2] = path;
	params[3] = raw_query;
	params[4] = headers ? headers : "{}";
	params[5] = body;
	params[6] = (seed != NULL && seed[0] != '\0') ? seed : NULL;
	if (!db_json(req, &resp,
		     "SELECT mockarty.resolve($1, $2, $3, $4, $5::jsonb, $6, $7::bigint)", 7, params,
		     &res)) {
		out->response = server_build_response(req, &resp, &out->status);
		json_decref(resp.json);
		res = NULL;
	} else if (!json_is_object(res)) {
		json_decref(res);
		res = NULL;
		atomic_fetch_add(&admin_mock_misses_total, 1);
		envelope(req, out, 404, "not_found", "no mock matches this request");
	}
	free(headers);
	free(body);
	return res;
}

void
serve_mock(api_req *req, const char *raw_query, serve_result *out)
{
	char ns[128];
	const char *path = req->path;
	const char *hns;
	mc_request mreq;
	json_t *mock = NULL, *pp = NULL, *res = NULL;
	bool local;

	memset(out, 0, sizeof(*out));
	/* /stubs/{ns}/rest -> namespace ns, path /rest */
	if (strncmp(path, "/stubs/", 7) == 0 && path[7] != '\0' && path[7] != '/') {
		const char *seg = path + 7, *slash = strchr(seg, '/');
		size_t l = slash ? (size_t)(slash - seg) : strlen(seg);

		snprintf(ns, sizeof(ns), "%.*s", (int)(l < sizeof(ns) ? l : sizeof(ns) - 1), seg);
		path = slash ? slash : "/";
	} else {
		hns = api_header(req, "x-namespace");
		snprintf(ns, sizeof(ns), "%s", (hns && hns[0]) ? hns : MC_DEFAULT_NAMESPACE);
	}
	mreq.method = req->method;
	mreq.path = path;
	mreq.query = req->query;
	mreq.headers = req->headers;
	mreq.body = req->body;
	mreq.body_len = req->body_len;
	mreq.body_json = req->body_json;

	if (!snapshot_match(ns, &mreq, &mock, &pp)) {
		json_t *b = req->body_json ? json_incref(req->body_json)
					   : (req->body_len ? json_stringn(req->body, req->body_len) : NULL);

		atomic_fetch_add(&admin_mock_misses_total, 1);
		flusher_undefined(ns, req->method, path, req->headers, b);
		json_decref(b);
		envelope(req, out, 404, "not_found", "no mock matches this request");
		return;
	}
	local = !mc_mock_is_stateful(mock);
	if (local) {
		mc_rng rng;
		mc_error err = {0};
		mc_render_ctx ctx = {0};
		const char *seed = api_header(req, "x-mockarty-seed");

		if (seed != NULL && seed[0] != '\0') {
			mc_rng_seed(&rng, (uint64_t)strtoll(seed, NULL, 10));
			ctx.now = FIXED_NOW;
		} else {
			mc_rng_seed(&rng, random_seed());
			ctx.now = (int64_t)time(NULL);
		}
		ctx.req = &mreq;
		ctx.path_params = pp;
		ctx.stores = NULL;
		ctx.rng = &rng;
		res = mc_resolve_response(mock, &ctx, NULL, &err);
		if (res == NULL) {
			char msg[600];

			snprintf(msg, sizeof(msg), "cannot render mock: %s %s", err.path, err.msg);
			envelope(req, out, 500, "internal", msg);
			goto done;
		}
	} else {
		res = resolve_in_db(req, ns, path, raw_query, out);
		if (res == NULL)
			goto done;
	}
	atomic_fetch_add(&admin_mock_hits_total, 1);
	if (json_is_string(json_object_get(res, "proxy")))
		serve_proxy(req, path, raw_query, res, out);
	else
		build_mock_response(req, res, out);
	if (local) {
		const char *id = json_string_value(json_object_get(mock, "id"));
		json_t *entry = json_pack("{s:s, s:o, s:O, s:I}", "mockId", id ? id : "", "req",
					  log_req(req, ns, path), "response", res, "calledAt",
					  (json_int_t)time(NULL));

		if (id != NULL && entry != NULL)
			flusher_log(id, entry);
		else
			json_decref(entry);
	}
done:
	json_decref(res);
	json_decref(mock);
	json_decref(pp);
}
