/*
 * openapi.c - Swagger 2.0 / OpenAPI 3.0 / 3.1 documents into mock documents.
 *
 * One mock per operation and documented status: the lowest 2xx (else a 2XX
 * range, else "default") answers plain requests; every other status answers
 * requests whose Prefer header contains "code=<status>" (Prism's convention),
 * at a higher priority so the condition is tried first. Bodies come from the
 * document's examples when it has any, else from schema_example.c; either way
 * they are static JSON, so importing the same text twice yields identical
 * mocks, ids included (see mock_id). Nothing is inlined eagerly: references
 * are followed on access, so a document with cycles costs no more than one
 * without.
 */
#include "schema_example.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const methods[] = {"get",  "put",   "post",  "delete", "options",
                                      "head", "patch", "trace", NULL};

typedef struct oactx {
	mc_sx sx;
	json_t *doc;
	int version; /* 2, 30 or 31 */
	const char *ns, *server;
	bool server_given; /* options.serverName set: the mocks carry it (a generated server's SERVER_NAME) */
	char prefix[512];
	bool validate;
	json_t *mocks, *errors;
	json_t *produces; /* Swagger 2 global produces */
} oactx;

/* ------------------------------------------------------------ helpers */

static void
ptr_append(char *buf, size_t size, const char *tok)
{
	size_t len = strlen(buf);

	if (len + 2 >= size)
		return;
	buf[len++] = '/';
	for (; *tok && len + 3 < size; tok++) {
		if (*tok == '~') {
			buf[len++] = '~';
			buf[len++] = '0';
		} else if (*tok == '/') {
			buf[len++] = '~';
			buf[len++] = '1';
		} else
			buf[len++] = *tok;
	}
	buf[len] = '\0';
}

/* FNV-1a, 64 bits, over the given strings each followed by a NUL. */
static uint64_t
fnv(const char *const *parts, int n)
{
	uint64_t h = 1469598103934665603ULL;

	for (int i = 0; i < n; i++) {
		const char *p = parts[i] ? parts[i] : "";

		for (; *p; p++) {
			h ^= (unsigned char)*p;
			h *= 1099511628211ULL;
		}
		h ^= 0;
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * Id of the mock for (namespace, server, operation, status):
 * "oa-" + 16 hex digits of FNV-1a-64 over the four strings. operation is the
 * operationId, else "METHOD /path" as written in the document.
 */
static void
mock_id(const oactx *c, const char *opkey, int status, char *out, size_t size)
{
	char st[16];
	const char *parts[4] = {c->ns, c->server, opkey, st};

	snprintf(st, sizeof(st), "%d", status);
	snprintf(out, size, "oa-%016llx", (unsigned long long)fnv(parts, 4));
}

static bool
is_json_media(const char *m)
{
	const char *semi = strchr(m, ';');
	size_t n = semi ? (size_t)(semi - m) : strlen(m);

	if (n >= 16 && strncasecmp(m, "application/json", 16) == 0)
		return true;
	if (n >= 5 && strncasecmp(m + n - 5, "+json", 5) == 0)
		return true;
	return n == 3 && strncmp(m, "*/*", 3) == 0;
}

/* The media type to answer with: application/json, any +json, *\/\*, else the first. */
static const char *
pick_media(json_t *content)
{
	const char *k, *plus = NULL, *any = NULL, *first = NULL;
	json_t *v;

	json_object_foreach (content, k, v) {
		if (!first)
			first = k;
		if (strncasecmp(k, "application/json", 16) == 0)
			return k;
		if (!plus && is_json_media(k) && strcmp(k, "*/*") != 0)
			plus = k;
		if (!any && strcmp(k, "*/*") == 0)
			any = k;
	}
	return plus ? plus : any ? any : first;
}

/* A JSON media type with a string example holding JSON: the parsed value. */
static json_t *
normalise_example(json_t *ex, const char *media)
{
	if (json_is_string(ex) && media && is_json_media(media)) {
		const char *s = json_string_value(ex);

		while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
			s++;
		if (*s == '{' || *s == '[') {
			json_t *v = json_loads(s, 0, NULL);

			if (v)
				return v;
		}
	}
	return json_deep_copy(ex);
}

/* Status number of a response key: "404"->404, "4XX"->400, "default"->def. */
static int
status_of(const char *key, int def)
{
	if (strcmp(key, "default") == 0)
		return def;
	if (strlen(key) == 3 && key[0] >= '1' && key[0] <= '5' && toupper((unsigned char)key[1]) == 'X' &&
	    toupper((unsigned char)key[2]) == 'X')
		return (key[0] - '0') * 100;
	if (strlen(key) == 3 && isdigit((unsigned char)key[0]) && isdigit((unsigned char)key[1]) &&
	    isdigit((unsigned char)key[2])) {
		int v = atoi(key);

		return v >= 100 && v <= 599 ? v : -1;
	}
	return -1;
}

/* ------------------------------------------------------------ routes */

/*
 * "/pets/{id}" -> "/pets/:id" (names reduced to [A-Za-z0-9_]); a segment
 * mixing text and parameters ("/file.{ext}") becomes one parameter (with a
 * warning); "#fragment" is dropped. Returns false when the route cannot be
 * expressed.
 */
static bool
to_route(oactx *c, const char *path, char *out, size_t size, const char *where)
{
	size_t o = 0;
	const char *p = path;
	char seg[512];

	o = (size_t)snprintf(out, size, "%s", c->prefix);
	if (o >= size)
		return false;
	while (*p) {
		const char *e;
		size_t n, so = 0;
		bool has_param, pure;

		if (*p == '/') {
			p++;
			continue;
		}
		if (*p == '#') {
			mc_sx_warn(&c->sx, where, "path fragment '%.80s' dropped from the route", p);
			break;
		}
		e = p;
		while (*e && *e != '/' && *e != '#')
			e++;
		n = (size_t)(e - p);
		if (n >= sizeof(seg))
			return false;
		memcpy(seg, p, n);
		seg[n] = '\0';
		has_param = strchr(seg, '{') != NULL;
		pure = has_param && seg[0] == '{' && seg[n - 1] == '}' && strchr(seg + 1, '{') == NULL;
		if (o + n + 3 >= size)
			return false;
		out[o++] = '/';
		if (has_param) {
			const char *q = strchr(seg, '{') + 1;

			if (!pure)
				mc_sx_warn(&c->sx, where,
				           "segment '%.80s' mixes text and parameters; it matches any value",
				           seg);
			out[o++] = ':';
			for (; *q && *q != '}'; q++)
				if (isalnum((unsigned char)*q) || *q == '_')
					out[o++] = *q, so++;
			if (so == 0)
				out[o++] = 'p';
		} else {
			if (seg[0] == ':' || strcmp(seg, "*") == 0)
				mc_sx_warn(&c->sx, where,
				           "segment '%.80s' reads as a route parameter or wildcard", seg);
			memcpy(out + o, seg, n);
			o += n;
		}
		p = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return true;
}

/* ------------------------------------------------------------ responses */

/*
 * The media types a response offers, the default first: 3.x content keys;
 * Swagger 2 the keys of examples plus the operation's (else the document's)
 * produces. The default is application/json, else any +json, else *\/\*, else
 * the first. New array of strings (empty when the response has no body).
 */
static json_t *
media_list(oactx *c, json_t *resp, json_t *op)
{
	json_t *out = json_array(), *obj = json_object();
	const char *k, *def;
	json_t *v;
	size_t i;

	if (c->version == 2) {
		json_t *produces = json_object_get(op, "produces");

		if (!json_is_array(produces))
			produces = c->produces;
		json_object_foreach (json_object_get(resp, "examples"), k, v)
			if (strcmp(k, "*/*") != 0 || json_array_size(produces) == 0)
				json_object_set(obj, k, json_true());
		if (json_object_get(resp, "schema")) {
			json_array_foreach (produces, i, v)
				if (json_is_string(v))
					json_object_set(obj, json_string_value(v), json_true());
			if (json_object_size(obj) == 0)
				json_object_set(obj, "application/json", json_true());
		}
	} else {
		json_object_foreach (json_object_get(resp, "content"), k, v)
			json_object_set(obj, k, json_true());
	}
	def = pick_media(obj);
	if (def)
		json_array_append_new(out, json_string(def));
	json_object_foreach (obj, k, v)
		if (strcmp(k, def) != 0)
			json_array_append_new(out, json_string(k));
	json_decref(obj);
	return out;
}

/*
 * Example or sample for one response object (resolved) in media type m.
 * Returns a new payload, or NULL for no body. A JSON media type gets a value;
 * another media type gets text: a string example as it is, else nothing is
 * generated (*skip set: the type is not served).
 */
static json_t *
response_body(oactx *c, json_t *resp, const char *m, const char *where, bool *skip)
{
	json_t *mt, *ex, *schema, *out = NULL;

	*skip = false;
	if (c->version == 2) {
		ex = json_object_get(json_object_get(resp, "examples"), m);
		if (ex == NULL)
			ex = json_object_get(json_object_get(resp, "examples"), "*/*");
		schema = json_object_get(resp, "schema");
		if (ex)
			return normalise_example(ex, m);
		if (schema == NULL)
			return NULL;
		out = mc_sx_sample(&c->sx, schema, where);
	} else {
		mt = mc_sx_deref(&c->sx, json_object_get(json_object_get(resp, "content"), m), NULL, where);
		if (!json_is_object(mt))
			return NULL;
		if ((ex = json_object_get(mt, "example")) != NULL)
			return normalise_example(ex, m);
		if (json_is_object(json_object_get(mt, "examples")) &&
		    json_object_size(json_object_get(mt, "examples"))) {
			json_t *first =
			    json_object_iter_value(json_object_iter(json_object_get(mt, "examples")));

			first = mc_sx_deref(&c->sx, first, NULL, where);
			if (json_is_object(first) && json_object_get(first, "value"))
				return normalise_example(json_object_get(first, "value"), m);
			if (json_is_object(first) && json_object_get(first, "externalValue"))
				mc_sx_warn(&c->sx, where,
				           "externalValue examples are not fetched; the schema is sampled");
		}
		schema = json_object_get(mt, "schema");
		if (schema == NULL)
			return is_json_media(m) ? NULL : json_string("");
		out = mc_sx_sample(&c->sx, schema, where);
	}
	if (out && !is_json_media(m) && !json_is_string(out)) {
		bool text = strncasecmp(m, "text/", 5) == 0;

		if (!text) {
			json_decref(out);
			*skip = true;
			return NULL;
		}
		/* a text type with a structured sample: its JSON text */
		{
			char *t = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);

			json_decref(out);
			out = t ? json_string(t) : NULL;
			free(t);
		}
	}
	return out;
}

/* Response headers documented with an example, default or sample: name -> [text]. */
static json_t *
response_headers(oactx *c, json_t *resp, const char *where)
{
	json_t *out = json_object();
	const char *k;
	json_t *h;

	json_object_foreach (json_object_get(resp, "headers"), k, h) {
		json_t *r = mc_sx_deref(&c->sx, h, NULL, where), *v = NULL;
		char buf[512];

		if (!json_is_object(r) || strcasecmp(k, "content-type") == 0)
			continue;
		if (json_object_get(r, "example"))
			v = json_deep_copy(json_object_get(r, "example"));
		else if (json_object_get(r, "schema"))
			v = mc_sx_sample(&c->sx, json_object_get(r, "schema"), where);
		else if (json_object_get(r, "type")) /* Swagger 2: the header object is the schema */
			v = mc_sx_sample(&c->sx, r, where);
		if (v == NULL)
			continue;
		if (json_is_string(v))
			snprintf(buf, sizeof(buf), "%s", json_string_value(v));
		else {
			char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			snprintf(buf, sizeof(buf), "%s", t ? t : "");
			free(t);
		}
		json_decref(v);
		if (strstr(buf, "$.") == NULL) /* never a template by accident */
			json_object_set_new(out, k, json_pack("[s]", buf));
	}
	return out;
}

/* ------------------------------------------------------------ conditions */

static void
add_cond(json_t *http, const char *list, const char *path, const char *action, json_t *value)
{
	json_t *arr = json_object_get(http, list), *cond;

	if (arr == NULL) {
		arr = json_array();
		json_object_set_new(http, list, arr);
	}
	if (json_array_size(arr) >= MC_MAX_CONDITIONS) {
		json_decref(value);
		return;
	}
	cond = json_pack("{s:s, s:s}", "path", path, "assertAction", action);
	if (value)
		json_object_set_new(cond, "value", value);
	json_array_append_new(arr, cond);
}

/* Required query params, headers and (3.x requestBody / 2.0 body) fields as conditions. */
static void
validation_conditions(oactx *c, json_t *http, json_t *params, json_t *op, const char *where)
{
	size_t i;
	json_t *p, *body = NULL;

	json_array_foreach (params, i, p) {
		const char *in = json_string_value(json_object_get(p, "in"));
		const char *name = json_string_value(json_object_get(p, "name"));

		if (!in || !name)
			continue;
		if (strcmp(in, "body") == 0) {
			body = json_object_get(p, "schema");
			continue;
		}
		if (!json_is_true(json_object_get(p, "required")))
			continue;
		if (strcmp(in, "query") == 0)
			add_cond(http, "queryParams", name, "notEmpty", NULL);
		else if (strcmp(in, "header") == 0)
			add_cond(http, "header", name, "notEmpty", NULL);
	}
	if (c->version != 2) {
		json_t *rb = mc_sx_deref(&c->sx, json_object_get(op, "requestBody"), NULL, where);
		json_t *content = json_object_get(rb, "content");

		if (content && json_object_size(content)) {
			json_t *mt = json_object_get(content, pick_media(content));

			if (is_json_media(pick_media(content)))
				body = json_object_get(mt, "schema");
		}
	}
	body = body ? mc_sx_flatten(&c->sx, body, where) : NULL;
	if (json_is_object(body)) {
		json_t *req = json_object_get(body, "required");

		json_array_foreach (req, i, p) {
			char path[300];
			json_t *ps = mc_sx_deref(
			    &c->sx,
			    json_object_get(json_object_get(body, "properties"), json_string_value(p) ?: ""),
			    NULL, where);

			if (!json_is_string(p) || json_is_true(json_object_get(ps, "readOnly")))
				continue;
			snprintf(path, sizeof(path), "$.%s", json_string_value(p));
			add_cond(http, "conditions", path, "any", NULL);
		}
	}
	json_decref(body);
}

/* Path-level parameters overridden by operation-level ones of the same name+in. */
static json_t *
merged_params(oactx *c, json_t *item, json_t *op, const char *where)
{
	json_t *out = json_array();
	json_t *lists[2] = {json_object_get(item, "parameters"), json_object_get(op, "parameters")};

	for (int l = 0; l < 2; l++) {
		size_t i, j;
		json_t *p, *q;

		json_array_foreach (lists[l], i, p) {
			json_t *r = mc_sx_deref(&c->sx, p, NULL, where);
			bool replaced = false;

			if (!json_is_object(r))
				continue;
			json_array_foreach (out, j, q) {
				if (json_equal(json_object_get(q, "name"), json_object_get(r, "name")) &&
				    json_equal(json_object_get(q, "in"), json_object_get(r, "in"))) {
					json_array_set(out, j, r);
					replaced = true;
					break;
				}
			}
			if (!replaced)
				json_array_append(out, r);
		}
	}
	return out;
}

/* ------------------------------------------------------------ operations */

static void
add_error(oactx *c, const char *where, const char *msg)
{
	json_array_append_new(c->errors,
	                      json_pack("{s:s, s:n, s:s}", "pointer", where, "line", "message", msg));
}

static void
emit_mock(oactx *c, const char *opkey, const char *method, const char *path, const char *route, json_t *op,
          json_t *params, int status, bool is_default, json_t *resp, const char *media, bool alt_media,
          const char *where)
{
	char id[40], label[600], st[16];
	json_t *mock, *http, *response, *payload = NULL, *tags;
	mc_error err;
	size_t i;
	json_t *t;
	bool skip = false;

	if (alt_media && (media == NULL || status == 204 || status == 304 || status < 200))
		return; /* no body: one mock is enough */
	if (alt_media) {
		snprintf(label, sizeof(label), "%s\n%s", opkey, media);
		mock_id(c, label, status, id, sizeof(id));
	} else
		mock_id(c, opkey, status, id, sizeof(id));
	if (resp && media)
		payload = response_body(c, resp, media, where, &skip);
	if (skip)
		return;
	if (status == 204 || status == 304 || status < 200) {
		json_decref(payload);
		payload = NULL;
		media = NULL;
	}
	http = json_pack("{s:s, s:s}", "route", route, "httpMethod", method);
	if (!is_default) {
		snprintf(label, sizeof(label), "code=%d", status);
		add_cond(http, "header", "Prefer", "contains", json_string(label));
	}
	if (alt_media) {
		/* Accept lists this type first: "(?i)^\s*text/plain\s*([;,]|$)" */
		size_t n = strcspn(media, ";"), o;

		while (n > 0 && media[n - 1] == ' ')
			n--;
		o = (size_t)snprintf(label, sizeof(label), "(?i)^\\s*");
		for (size_t k = 0; k < n && o + 8 < sizeof(label); k++) {
			if (strchr("\\^$.|?*+()[]{}", media[k]))
				label[o++] = '\\';
			label[o++] = media[k];
		}
		snprintf(label + o, sizeof(label) - o, "\\s*([;,]|$)");
		add_cond(http, "header", "Accept", "matches", json_string(label));
	}
	if (c->validate)
		validation_conditions(c, http, params, op, where);
	response = json_pack("{s:i}", "statusCode", status);
	{
		json_t *hdrs = resp ? response_headers(c, resp, where) : json_object();

		if (media)
			json_object_set_new(
			    hdrs, "Content-Type",
			    json_pack("[s]", strcmp(media, "*/*") == 0 ? "application/json" : media));
		if (json_object_size(hdrs))
			json_object_set_new(response, "headers", hdrs);
		else
			json_decref(hdrs);
	}
	if (payload && media && is_json_media(media) && (json_is_string(payload) || json_is_null(payload))) {
		/* a string payload is sent as raw text: make it the JSON text of the value */
		char *txt = json_dumps(payload, JSON_ENCODE_ANY);

		json_decref(payload);
		payload = txt ? json_string(txt) : NULL;
		free(txt);
	}
	if (payload)
		json_object_set_new(response, "payload", payload);
	snprintf(st, sizeof(st), "%d", status);
	tags = json_pack("[s]", "openapi");
	if (c->server && *c->server) {
		snprintf(label, sizeof(label), "gen:%s", c->server);
		json_array_append_new(tags, json_string(label));
	}
	snprintf(label, sizeof(label), "op:%s %s", method, path);
	json_array_append_new(tags, json_string(label));
	snprintf(label, sizeof(label), "status:%d", status);
	json_array_append_new(tags, json_string(label));
	json_array_foreach (json_object_get(op, "tags"), i, t)
		if (json_is_string(t) && json_array_size(tags) < 32)
			json_array_append(tags, t);
	if (alt_media) {
		snprintf(label, sizeof(label), "media:%s", media);
		json_array_append_new(tags, json_string(label));
	}
	snprintf(label, sizeof(label), "%s %s -> %d%s%s", method, path, status,
	         json_is_string(json_object_get(op, "summary")) ? ": " : "",
	         json_is_string(json_object_get(op, "summary"))
	             ? json_string_value(json_object_get(op, "summary"))
	             : "");
	mock = json_pack("{s:s, s:o, s:o, s:i, s:o, s:s}", "id", id, "http", http, "response", response,
	                 "priority", (is_default ? 0 : 10) + (alt_media ? 5 : 0), "tags", tags, "description",
	                 label);
	if (c->ns && *c->ns)
		json_object_set_new(mock, "namespace", json_string(c->ns));
	if (c->server_given)
		json_object_set_new(mock, "serverName", json_string(c->server));
	(void)opkey;
	if (mc_mock_validate(mock, &err) != MC_OK) {
		snprintf(label, sizeof(label), "%s %s status %d: generated mock is invalid at %s: %s", method,
		         path, status, err.path, err.msg);
		add_error(c, where, label);
		json_decref(mock);
		return;
	}
	json_array_append_new(c->mocks, mock);
}

static void
import_operation(oactx *c, const char *path, json_t *item, const char *mname, json_t *op, const char *where)
{
	char method[16], route[1024], opkey[600], rwhere[1024];
	json_t *responses = json_object_get(op, "responses"), *params;
	const char *k, *dkey = NULL;
	json_t *v;
	int best = 1000;

	for (size_t i = 0; mname[i] && i < sizeof(method) - 1; i++)
		method[i] = (char)toupper((unsigned char)mname[i]), method[i + 1] = '\0';
	if (!to_route(c, path, route, sizeof(route), where)) {
		add_error(c, where, "path cannot be expressed as a route");
		return;
	}
	if (json_is_string(json_object_get(op, "operationId")))
		snprintf(opkey, sizeof(opkey), "%s", json_string_value(json_object_get(op, "operationId")));
	else
		snprintf(opkey, sizeof(opkey), "%s %s", method, path);
	params = merged_params(c, item, op, where);

	/* default: lowest 2xx, else a 2XX range, else "default", else the first */
	json_object_foreach (responses, k, v) {
		int s = status_of(k, -1);
		int rank = (s >= 200 && s < 300) ? (strchr(k, 'X') || strchr(k, 'x') ? 300 + s : s) : 900;

		if (strcmp(k, "default") == 0)
			rank = 800;
		else if (s < 0)
			continue;
		if (rank < best) {
			best = rank;
			dkey = k;
		}
	}
	if (dkey == NULL) {
		json_object_foreach (responses, k, v) {
			if (status_of(k, 200) > 0) {
				dkey = k;
				break;
			}
		}
	}
	if (dkey == NULL) {
		mc_sx_warn(&c->sx, where, "operation documents no response; answering 200 without a body");
		emit_mock(c, opkey, method, path, route, op, params, 200, true, NULL, NULL, false, where);
		json_decref(params);
		return;
	}
	json_object_foreach (responses, k, v) {
		int s = status_of(k, strcmp(mname, "post") == 0 ? 201 : 200);
		json_t *r;
		bool is_default = k == dkey;

		snprintf(rwhere, sizeof(rwhere), "%s/responses", where);
		ptr_append(rwhere, sizeof(rwhere), k);
		if (s < 0) {
			if (strncmp(k, "x-", 2) != 0)
				mc_sx_warn(&c->sx, rwhere, "response key '%.40s' is not a status; skipped",
				           k);
			continue;
		}
		if (!is_default && strcmp(k, "default") == 0)
			continue; /* "default" only answers when nothing else is documented */
		r = mc_sx_deref(&c->sx, v, NULL, rwhere);
		if (!json_is_object(r))
			continue;
		{
			json_t *medias = media_list(c, r, op);
			size_t mi;
			json_t *mv;

			if (json_array_size(medias) == 0)
				emit_mock(c, opkey, method, path, route, op, params, s, is_default, r, NULL,
				          false, rwhere);
			json_array_foreach (medias, mi, mv)
				emit_mock(c, opkey, method, path, route, op, params, s, is_default, r,
				          json_string_value(mv), mi > 0, rwhere);
			json_decref(medias);
		}
	}
	json_decref(params);
}

/* The path of a URL ("https://h/v1/" -> "/v1"), without a trailing slash. */
static void
url_path(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://");
	size_t n;

	p = p ? strchr(p + 3, '/') : (url[0] == '/' ? url : NULL);
	out[0] = '\0';
	if (p == NULL)
		return;
	n = strcspn(p, "?#");
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n >= size || strchr(p, '{') != NULL)
		return; /* server variables in the path: no prefix */
	memcpy(out, p, n);
	out[n] = '\0';
}

json_t *
mc_import_openapi(const char *text, size_t len, const json_t *options, mc_error *err)
{
	oactx c;
	json_t *doc, *warnings = json_array(), *paths, *v, *info, *out;
	const char *spec, *pk;
	json_t *item;
	json_int_t maxops = MC_IMPORT_DEFAULT_MAX_OPERATIONS, nops = 0;
	char where[700];

	memset(&c, 0, sizeof(c));
	if (err)
		memset(err, 0, sizeof(*err));
	if (options != NULL && !json_is_object(options)) {
		mc_error_set(err, MC_EINVAL, "options", "options must be an object");
		json_decref(warnings);
		return NULL;
	}
	v = json_object_get(options, "maxOperations");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1)) {
		mc_error_set(err, MC_EINVAL, "options.maxOperations", "must be a positive integer");
		json_decref(warnings);
		return NULL;
	}
	if (v)
		maxops = json_integer_value(v);
	doc = mc_yaml_to_json(text, len, warnings, err);
	if (doc == NULL) {
		json_decref(warnings);
		return NULL;
	}
	if (!json_is_object(doc)) {
		mc_error_set(err, MC_EINVAL, "/", "the document is not a mapping (line 1)");
		goto fail;
	}
	v = json_object_get(doc, "swagger");
	if (v) {
		if (!((json_is_string(v) && strncmp(json_string_value(v), "2.", 2) == 0) ||
		      (json_is_number(v) && json_number_value(v) == 2.0))) {
			mc_error_set(err, MC_EINVAL, "/swagger",
			             "unsupported swagger version (expected 2.0)");
			goto fail;
		}
		c.version = 2;
		spec = "2.0";
	} else if ((v = json_object_get(doc, "openapi")) != NULL) {
		const char *s = json_string_value(v);
		char num[16];

		if (json_is_number(v)) {
			snprintf(num, sizeof(num), "%.1f", json_number_value(v));
			s = num;
		}
		if (s && strncmp(s, "3.0", 3) == 0)
			c.version = 30;
		else if (s && strncmp(s, "3.1", 3) == 0)
			c.version = 31;
		else {
			mc_error_set(err, MC_EINVAL, "/openapi",
			             "unsupported openapi version (expected 3.0.x or 3.1.x)");
			goto fail;
		}
		spec = c.version == 30 ? "3.0" : "3.1";
	} else {
		mc_error_set(err, MC_EINVAL, "/",
		             "not an OpenAPI document: neither 'openapi' nor 'swagger' is set");
		goto fail;
	}
	paths = json_object_get(doc, "paths");
	if (paths != NULL && !json_is_object(paths)) {
		mc_error_set(err, MC_EINVAL, "/paths", "paths must be a mapping");
		goto fail;
	}
	if (paths == NULL && c.version != 31) {
		mc_error_set(err, MC_EINVAL, "/paths", "paths is required before OpenAPI 3.1");
		goto fail;
	}
	json_object_foreach (paths, pk, item)
		for (int m = 0; methods[m]; m++)
			if (json_is_object(item) && json_object_get(item, methods[m]))
				nops++;
	if (nops > maxops) {
		mc_error_set(err, MC_ELIMIT, "/paths",
		             "the document has %lld operations, more than maxOperations %lld",
		             (long long)nops, (long long)maxops);
		goto fail;
	}

	info = json_object_get(doc, "info");
	c.doc = doc;
	c.sx.root = doc;
	c.sx.warnings = warnings;
	c.sx.response = true;
	c.ns = json_string_value(json_object_get(options, "namespace"));
	c.server = json_string_value(json_object_get(options, "serverName"));
	c.server_given = c.server != NULL && c.server[0] != '\0';
	if (c.server == NULL)
		c.server = json_string_value(json_object_get(info, "title"));
	c.validate = json_is_true(json_object_get(options, "validate"));
	c.produces = json_object_get(doc, "produces");
	v = json_object_get(options, "pathPrefix");
	if (v == NULL)
		v = json_object_get(options, "basePath");
	if (json_is_string(v))
		snprintf(c.prefix, sizeof(c.prefix), "%s", json_string_value(v));
	else if (c.version == 2 && json_is_string(json_object_get(doc, "basePath")))
		url_path(json_string_value(json_object_get(doc, "basePath")), c.prefix, sizeof(c.prefix));
	else if (c.version != 2) {
		const char *url = json_string_value(
		    json_object_get(json_array_get(json_object_get(doc, "servers"), 0), "url"));

		if (url)
			url_path(url, c.prefix, sizeof(c.prefix));
	}
	{
		size_t n = strlen(c.prefix);

		while (n > 0 && c.prefix[n - 1] == '/')
			c.prefix[--n] = '\0';
		if (n > 0 && c.prefix[0] != '/') {
			memmove(c.prefix + 1, c.prefix,
			        n + 1 < sizeof(c.prefix) - 1 ? n + 1 : sizeof(c.prefix) - 2);
			c.prefix[0] = '/';
		}
	}
	c.mocks = json_array();
	c.errors = json_array();

	json_object_foreach (paths, pk, item) {
		json_t *ritem;

		snprintf(where, sizeof(where), "/paths");
		ptr_append(where, sizeof(where), pk);
		ritem = mc_sx_deref(&c.sx, item, NULL, where);
		if (!json_is_object(ritem))
			continue;
		if (pk[0] != '/') {
			mc_sx_warn(&c.sx, where, "path does not start with '/'; skipped");
			continue;
		}
		for (int m = 0; methods[m]; m++) {
			json_t *op = json_object_get(ritem, methods[m]);
			char owhere[760];

			if (!json_is_object(op))
				continue;
			snprintf(owhere, sizeof(owhere), "%s/%s", where, methods[m]);
			import_operation(&c, pk, ritem, methods[m], op, owhere);
		}
	}
	out = json_pack("{s:o, s:o, s:o, s:{s:o, s:o, s:s, s:I, s:I}}", "mocks", c.mocks, "warnings",
	                warnings, "errors", c.errors, "info", "title",
	                json_deep_copy(json_object_get(info, "title")) ?: json_null(), "version",
	                json_deep_copy(json_object_get(info, "version")) ?: json_null(), "specVersion", spec,
	                "operations", nops, "mocks", (json_int_t)json_array_size(c.mocks));
	json_decref(doc);
	return out;
fail:
	json_decref(doc);
	json_decref(warnings);
	return NULL;
}
