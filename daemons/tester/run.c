/*
 * run.c - executes a plan: requests in order with libcurl, the run's variable set
 * threaded through them (captures of one request are seen by the next), scripts
 * and declarative checks evaluated by assert.c; also renders the plan's requests
 * for the load generator.
 *
 * Constraint: a run is one task on a runner that may be cancelled or lose its
 * lease at any moment, so cancellation is checked before each request, every
 * request is bounded by a timeout and response bodies by MT_MAX_BODY, and a
 * request that cannot be sent or fails to connect is recorded (its tests fail)
 * rather than stopping the run.
 */
#include "tester_int.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/rand.h>

typedef struct rendered {
	char *method, *url;
	json_t *headers;     /* ["Name: value", ...] */
	mt_buf body;
	bool has_body;
} rendered;

static void
rendered_free(rendered *r)
{
	free(r->method);
	free(r->url);
	json_decref(r->headers);
	free(r->body.p);
	memset(r, 0, sizeof(*r));
}

static bool
has_header(const json_t *headers, const char *name)
{
	size_t i, n = strlen(name);
	json_t *h;

	json_array_foreach(headers, i, h) {
		const char *s = json_string_value(h);

		if (strncasecmp(s, name, n) == 0 && s[n] == ':')
			return true;
	}
	return false;
}

static void
del_header(json_t *headers, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = json_array_size(headers); i-- > 0;) {
		const char *s = json_string_value(json_array_get(headers, i));

		if (strncasecmp(s, name, n) == 0 && s[n] == ':')
			json_array_remove(headers, i);
	}
}

static void
add_header(json_t *headers, const char *name, const char *value)
{
	mt_buf b = {0};
	char *s;

	mt_buf_printf(&b, "%s: %s", name, value);
	s = mt_buf_take(&b);
	if (s) {
		/* header values cannot carry line breaks: cut them rather than inject headers */
		s[strcspn(s, "\r\n")] = '\0';
		json_t *v = json_string(s);

		json_array_append_new(headers, v ? v : json_stringn_nocheck(s, strlen(s)));
		free(s);
	}
}

static void
form_encode(mt_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-_.~", ch))
			mt_buf_add(b, s, 1);
		else
			mt_buf_printf(b, "%%%02X", ch);
	}
}

/* Substitutes and assembles one plan request. False + err when it cannot be sent. */
static bool
render(const json_t *req, const json_t *vars, rendered *out, char *err, size_t errcap)
{
	const json_t *auth = json_object_get(req, "auth"), *body = json_object_get(req, "body");
	const char *error = json_string_value(json_object_get(req, "error"));
	char *url;
	size_t i;
	json_t *h;

	memset(out, 0, sizeof(*out));
	if (error != NULL) {
		snprintf(err, errcap, "%s", error);
		return false;
	}
	out->method = strdup(json_string_value(json_object_get(req, "method")));
	url = mt_substitute(json_string_value(json_object_get(req, "url")), vars);
	out->headers = json_array();
	if (url == NULL || out->method == NULL || out->headers == NULL) {
		free(url);
		snprintf(err, errcap, "out of memory");
		return false;
	}
	if (strstr(url, "://") == NULL) { /* Postman's default protocol */
		mt_buf b = {0};

		mt_buf_printf(&b, "http://%s", url);
		free(url);
		url = mt_buf_take(&b);
	}
	json_array_foreach(json_object_get(req, "headers"), i, h) {
		char *k = mt_substitute(json_string_value(json_object_get(h, "key")), vars);
		char *v = mt_substitute(json_string_value(json_object_get(h, "value")), vars);

		if (k && v)
			add_header(out->headers, k, v);
		free(k);
		free(v);
	}
	if (json_is_object(auth)) {
		const char *type = json_string_value(json_object_get(auth, "type"));

		if (strcmp(type, "bearer") == 0) {
			char *t = mt_substitute(json_string_value(json_object_get(auth, "token")), vars);
			mt_buf b = {0};
			char *hv;

			mt_buf_printf(&b, "Bearer %s", t ? t : "");
			hv = mt_buf_take(&b);
			del_header(out->headers, "Authorization");
			add_header(out->headers, "Authorization", hv ? hv : "");
			free(hv);
			free(t);
		} else if (strcmp(type, "basic") == 0) {
			char *u = mt_substitute(json_string_value(json_object_get(auth, "username")), vars);
			char *p = mt_substitute(json_string_value(json_object_get(auth, "password")), vars);
			mt_buf b = {0};
			char *up, *b64 = NULL;

			mt_buf_printf(&b, "%s:%s", u ? u : "", p ? p : "");
			up = mt_buf_take(&b);
			if (up)
				b64 = mt_base64((const unsigned char *)up, strlen(up));
			mt_buf_printf(&b, "Basic %s", b64 ? b64 : "");
			free(up);
			free(b64);
			up = mt_buf_take(&b);
			del_header(out->headers, "Authorization");
			add_header(out->headers, "Authorization", up ? up : "");
			free(up);
			free(u);
			free(p);
		} else if (strcmp(type, "apikey") == 0) {
			char *k = mt_substitute(json_string_value(json_object_get(auth, "key")), vars);
			char *v = mt_substitute(json_string_value(json_object_get(auth, "value")), vars);

			if (k && v && strcmp(json_string_value(json_object_get(auth, "in")), "query") == 0) {
				mt_buf b = {0};
				char *hash = strchr(url, '#');

				if (hash)
					*hash = '\0';
				mt_buf_printf(&b, "%s%s", url, strchr(url, '?') ? "&" : "?");
				form_encode(&b, k);
				mt_buf_puts(&b, "=");
				form_encode(&b, v);
				free(url);
				url = mt_buf_take(&b);
			} else if (k && v && *k) {
				del_header(out->headers, k);
				add_header(out->headers, k, v);
			}
			free(k);
			free(v);
		}
	}
	out->url = url;
	if (json_is_object(body)) {
		const char *mode = json_string_value(json_object_get(body, "mode"));

		out->has_body = true;
		if (strcmp(mode, "raw") == 0) {
			char *raw = mt_substitute(json_string_value(json_object_get(body, "raw")), vars);

			mt_buf_puts(&out->body, raw ? raw : "");
			free(raw);
			if (!has_header(out->headers, "Content-Type"))
				add_header(out->headers, "Content-Type",
				           json_string_value(json_object_get(body, "contentType")));
		} else if (strcmp(mode, "urlencoded") == 0) {
			json_t *f;

			json_array_foreach(json_object_get(body, "fields"), i, f) {
				char *k = mt_substitute(json_string_value(json_object_get(f, "key")), vars);
				char *v = mt_substitute(json_string_value(json_object_get(f, "value")), vars);

				if (i > 0)
					mt_buf_puts(&out->body, "&");
				form_encode(&out->body, k ? k : "");
				mt_buf_puts(&out->body, "=");
				form_encode(&out->body, v ? v : "");
				free(k);
				free(v);
			}
			if (!has_header(out->headers, "Content-Type"))
				add_header(out->headers, "Content-Type", "application/x-www-form-urlencoded");
		} else if (strcmp(mode, "formdata") == 0) {
			unsigned char rnd[12];
			char boundary[64], ct[128];
			json_t *f;

			if (RAND_bytes(rnd, sizeof(rnd)) != 1)
				memset(rnd, 0x5a, sizeof(rnd));
			snprintf(boundary, sizeof(boundary), "--------------------------%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x",
			         rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10], rnd[11]);
			json_array_foreach(json_object_get(body, "fields"), i, f) {
				char *k = mt_substitute(json_string_value(json_object_get(f, "key")), vars);
				char *v = mt_substitute(json_string_value(json_object_get(f, "value")), vars);

				mt_buf_printf(&out->body, "--%s\r\nContent-Disposition: form-data; name=\"", boundary);
				for (const char *c = k ? k : ""; *c; c++) /* quotes and line breaks cannot appear in a name */
					mt_buf_puts(&out->body, *c == '"' ? "%22" : *c == '\r' ? "%0D" : *c == '\n' ? "%0A" : (char[]){*c, 0});
				mt_buf_puts(&out->body, "\"\r\n\r\n");
				mt_buf_puts(&out->body, v ? v : "");
				mt_buf_puts(&out->body, "\r\n");
				free(k);
				free(v);
			}
			mt_buf_printf(&out->body, "--%s--\r\n", boundary);
			snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", boundary);
			del_header(out->headers, "Content-Type");
			add_header(out->headers, "Content-Type", ct);
		}
		if (out->body.oom) {
			snprintf(err, errcap, "out of memory");
			rendered_free(out);
			return false;
		}
	}
	return true;
}

/* Initial variables: collection variables overlaid by env ({k:v}). New reference. */
static json_t *
initial_vars(const json_t *plan, const json_t *env)
{
	json_t *vars = json_deep_copy(json_object_get(plan, "variables"));

	if (!json_is_object(vars)) {
		json_decref(vars);
		vars = json_object();
	}
	if (json_is_object(env))
		json_object_update(vars, (json_t *)env);
	return vars;
}

json_t *
mt_render_requests(const json_t *plan, const json_t *env, char *err, size_t errcap)
{
	json_t *vars = initial_vars(plan, env), *out = json_array();
	size_t i;
	json_t *req;

	json_array_foreach(json_object_get(plan, "requests"), i, req) {
		rendered r;
		char e[600];

		if (!render(req, vars, &r, e, sizeof(e))) {
			snprintf(err, errcap, "requests[%zu] (%s): %s", i, json_string_value(json_object_get(req, "name")), e);
			json_decref(out);
			json_decref(vars);
			return NULL;
		}
		json_array_append_new(out, json_pack("{s:O, s:s, s:s, s:O, s:s%}", "name", json_object_get(req, "name"),
		                                     "method", r.method, "url", r.url, "headers", r.headers, "body",
		                                     r.body.p ? r.body.p : "", r.body.len));
		rendered_free(&r);
	}
	json_decref(vars);
	return out;
}

/* ------------------------------------------------------------------ execution */

typedef struct rx {
	mt_buf body;
	json_t *headers;
	bool truncated;
} rx;

static size_t
on_body(char *p, size_t sz, size_t n, void *ud)
{
	rx *r = ud;
	size_t len = sz * n;

	if (r->body.len + len > MT_MAX_BODY) {
		r->truncated = true;
		return 0; /* abort: a body this large is not something a test should read */
	}
	mt_buf_add(&r->body, p, len);
	return r->body.oom ? 0 : len;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *ud)
{
	rx *r = ud;
	size_t len = sz * n;
	const char *colon;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new response (redirect, 100): start over */
		json_array_clear(r->headers);
		return len;
	}
	colon = memchr(p, ':', len);
	if (colon != NULL) {
		const char *v = colon + 1, *e = p + len;

		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
			e--;
		json_array_append_new(r->headers, json_pack("[s%s%]", p, (size_t)(colon - p), v, (size_t)(e - v)));
	}
	return len;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
}

/* Sends r; fills status/time/body/headers of resp or returns false + err. */
static bool
perform(const rendered *r, int timeout_ms, rx *x, long *status, double *time_ms, char *err, size_t errcap)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	CURLcode rc;
	size_t i;
	json_t *h;
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_off_t us = 0;

	if (c == NULL) {
		snprintf(err, errcap, "curl_easy_init failed");
		return false;
	}
	json_array_foreach(r->headers, i, h) hl = curl_slist_append(hl, json_string_value(h));
	if (!has_header(r->headers, "User-Agent"))
		hl = curl_slist_append(hl, "User-Agent: mockarty-apitest/1.0");
	if (!has_header(r->headers, "Accept"))
		hl = curl_slist_append(hl, "Accept: */*");
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	if (strcmp(r->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(r->method, "GET") != 0 || r->has_body)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	if (r->has_body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body.p ? r->body.p : "");
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &us);
	*time_ms = (double)us / 1000.0;
	curl_easy_cleanup(c);
	curl_slist_free_all(hl);
	if (rc != CURLE_OK) {
		if (x->truncated)
			snprintf(err, errcap, "response body larger than %u bytes", MT_MAX_BODY);
		else
			snprintf(err, errcap, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
		*status = 0;
		return false;
	}
	return true;
}

/* Every test name a request's checks would report (for a request that failed). */
static void
fail_all(const json_t *req, json_t *assertions, const char *why)
{
	size_t i;
	json_t *st;

	json_array_foreach(json_object_get(req, "test"), i, st) {
		const char *op = json_string_value(json_object_get(st, "op"));

		if (op && strcmp(op, "test") == 0) {
			if (json_object_get(st, "skipped"))
				json_array_append_new(assertions,
				                      json_pack("{s:O, s:b, s:b, s:O}", "name", json_object_get(st, "name"), "passed",
				                                0, "skipped", 1, "message",
				                                json_object_get(json_object_get(st, "skipped"), "reason")));
			else
				json_array_append_new(assertions, json_pack("{s:O, s:b, s:b, s:s}", "name",
				                                            json_object_get(st, "name"), "passed", 0, "skipped", 0,
				                                            "message", why));
		} else if (op && strcmp(op, "skip") == 0) {
			char name[300];

			snprintf(name, sizeof(name), "[%s line %lld] %s", json_string_value(json_object_get(st, "script")),
			         (long long)json_integer_value(json_object_get(st, "line")),
			         json_string_value(json_object_get(st, "text")));
			json_array_append_new(assertions, json_pack("{s:s, s:b, s:b, s:O}", "name", name, "passed", 0, "skipped",
			                                            1, "message", json_object_get(st, "reason")));
		}
	}
	json_array_foreach(json_object_get(req, "assertions"), i, st)
		json_array_append_new(assertions, json_pack("{s:O, s:b, s:b, s:s}", "name", json_object_get(st, "name"),
		                                            "passed", 0, "skipped", 0, "message", why));
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Runs one request; returns its result object. */
static json_t *
run_one(const json_t *req, json_t *vars, int timeout_ms)
{
	json_t *assertions = json_array(), *pre_assert = json_array(), *res;
	rendered r;
	rx x = {.headers = json_array()};
	long status = 0;
	double tms = 0;
	char err[1024] = "", msg[512] = "";
	mt_response resp = {0};
	mt_eval ev = {.resp = &resp, .vars = vars, .locals = json_object()};
	bool sent = false;

	/* pre-request scripts see no response; their pm.test-free steps only set variables */
	if (!mt_exec_steps(&ev, json_object_get(req, "prerequest"), pre_assert, msg, sizeof(msg)))
		snprintf(err, sizeof(err), "pre-request script: %s", msg);
	json_object_clear(ev.locals);
	if (err[0] == '\0' && render(req, vars, &r, err, sizeof(err))) {
		sent = perform(&r, timeout_ms, &x, &status, &tms, err, sizeof(err));
	} else
		memset(&r, 0, sizeof(r));
	json_array_extend(assertions, pre_assert);
	if (!sent) {
		char why[1100];

		snprintf(why, sizeof(why), "request failed: %s", err);
		fail_all(req, assertions, why);
	} else {
		size_t i;
		json_t *a;

		resp.status = status;
		resp.time_ms = tms;
		resp.body = x.body.p;
		resp.body_len = x.body.len;
		resp.headers = x.headers;
		msg[0] = '\0';
		if (!mt_exec_steps(&ev, json_object_get(req, "test"), assertions, msg, sizeof(msg)))
			snprintf(err, sizeof(err), "test script stopped: %s", msg);
		json_array_foreach(json_object_get(req, "assertions"), i, a)
			json_array_append_new(assertions, mt_exec_declarative(&ev, a));
		json_array_foreach(json_object_get(req, "captures"), i, a) {
			char cm[400];

			if (!mt_exec_capture(&ev, a, cm, sizeof(cm))) {
				size_t n = strlen(err);

				snprintf(err + n, sizeof(err) - n, "%s%s", n ? "; " : "", cm);
			}
		}
	}
	res = json_pack("{s:O, s:O, s:s, s:s, s:i, s:f, s:o, s:O}", "name", json_object_get(req, "name"), "folder",
	                json_object_get(req, "folder"), "method", json_string_value(json_object_get(req, "method")), "url",
	                r.url ? r.url : json_string_value(json_object_get(req, "url")), "status", (int)status,
	                "responseTimeMs", (double)(long long)(tms * 1000.0 + 0.5) / 1000.0, "assertions", assertions,
	                "skipped", json_object_get(req, "skipped"));
	if (res != NULL && err[0])
		json_object_set_new(res, "error", json_string(err));
	json_decref(pre_assert);
	json_decref(ev.locals);
	json_decref(resp.json);
	json_decref(x.headers);
	free(x.body.p);
	rendered_free(&r);
	return res;
}

json_t *
mt_run(const json_t *plan, const json_t *env, const mt_run_opts *opts)
{
	const json_t *reqs = json_object_get(plan, "requests");
	size_t total = json_array_size(reqs), i;
	int timeout = opts && opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
	json_t *vars = initial_vars(plan, env), *results = json_array(), *req;
	long passed = 0, failed = 0, skipped = 0;
	bool cancelled = false;
	double t0 = now_ms();
	json_t *doc;

	pthread_once(&curl_once, curl_init_once);
	json_array_foreach(reqs, i, req) {
		json_t *rr, *a;
		size_t k;

		if (opts && opts->cancel && *opts->cancel) {
			cancelled = true;
			break;
		}
		rr = run_one(req, vars, timeout);
		if (rr == NULL)
			break;
		json_array_foreach(json_object_get(rr, "assertions"), k, a) {
			if (json_is_true(json_object_get(a, "skipped")))
				skipped++;
			else if (json_is_true(json_object_get(a, "passed")))
				passed++;
			else
				failed++;
		}
		json_array_append_new(results, rr);
		if (opts && opts->on_request)
			opts->on_request(opts->ud, i + 1, total, rr);
	}
	doc = json_pack("{s:I, s:I, s:I, s:I, s:I, s:b, s:o, s:o}", "totalTests", (json_int_t)(passed + failed + skipped),
	                "passedTests", (json_int_t)passed, "failedTests", (json_int_t)failed, "skippedTests",
	                (json_int_t)skipped, "durationMs", (json_int_t)(now_ms() - t0 + 0.5), "cancelled", cancelled,
	                "results", results, "environment", vars);
	return doc;
}
