/*
 * import_har.c - HAR 1.2 captures (browser or proxy recordings) into mockarty mocks.
 *
 * A capture holds many exchanges, often the same request several times: one mock
 * per distinct (method, path, set of query parameters), whose query parameters
 * become equals conditions. When an exchange repeats, the last response wins, or
 * (one_of) every response is kept in capture order as the mock's sequential oneOf.
 * Headers the server computes itself (content-length, transfer-encoding, ...) are
 * not copied; request bodies and headers are not turned into conditions (reported).
 */
#include "sources_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Response headers the answering server sets itself. */
static bool
computed_header(const char *name)
{
	static const char *const names[] = {"content-length", "transfer-encoding", "connection", "keep-alive",
					    "content-encoding", "date", ":status", NULL};

	for (int i = 0; names[i]; i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return name[0] == ':'; /* HTTP/2 pseudo-headers */
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The query parameters of an entry as {name:[values]}: queryString when present,
 * else parsed from the URL. New reference.
 */
static json_t *
entry_query(const json_t *req, const char *url_query)
{
	const json_t *qs = json_object_get(req, "queryString");
	json_t *out, *q;
	size_t i;

	if (json_is_array(qs) && json_array_size(qs) > 0) {
		out = json_object();
		json_array_foreach (qs, i, q) {
			const char *n = json_string_value(json_object_get(q, "name"));
			const char *v = json_string_value(json_object_get(q, "value"));
			json_t *list;

			if (n == NULL)
				continue;
			list = json_object_get(out, n);
			if (list == NULL) {
				list = json_array();
				json_object_set_new(out, n, list);
			}
			json_array_append_new(list, json_string(v ? v : ""));
		}
		return out;
	}
	if (url_query == NULL)
		return json_object();
	{
		size_t n = strcspn(url_query, "#");
		char *copy = strndup(url_query, n);

		out = copy ? mc_query_parse(copy) : json_object();
		free(copy);
	}
	return out ? out : json_object();
}

/* "GET /path?a=1&b=2" with the query pairs sorted: the identity of a mock. Caller frees. */
static char *
entry_key(const char *method, const char *path, const json_t *query)
{
	size_t n = json_object_size(query), k = 0, len = strlen(method) + strlen(path) + 4;
	char **pairs = calloc(n ? n : 1, sizeof(char *)), *out;
	const char *name;
	json_t *vals;

	if (pairs == NULL)
		return NULL;
	json_object_foreach ((json_t *)query, name, vals) {
		char *dump = json_dumps(vals, JSON_COMPACT);
		size_t l = strlen(name) + (dump ? strlen(dump) : 0) + 2;

		pairs[k] = malloc(l);
		if (pairs[k])
			snprintf(pairs[k], l, "%s=%s", name, dump ? dump : "");
		else
			pairs[k] = strdup("");
		len += l + 1;
		free(dump);
		k++;
	}
	qsort(pairs, k, sizeof(char *), cmp_str);
	out = malloc(len);
	if (out) {
		snprintf(out, len, "%s %s", method, path);
		for (size_t i = 0; i < k; i++) {
			strcat(out, i ? "&" : "?");
			strcat(out, pairs[i] ? pairs[i] : "");
		}
	}
	for (size_t i = 0; i < k; i++)
		free(pairs[i]);
	free(pairs);
	return out;
}

/* The response object of an entry; warnings at pointer. New reference. */
static json_t *
entry_response(const json_t *res, json_t *warnings, const char *pointer)
{
	json_t *out = json_object(), *h, *headers = json_object(), *content;
	size_t i;
	char p[SRC_PTR_MAX];
	const char *text, *enc;

	json_object_set_new(out, "statusCode", json_integer(json_integer_value(json_object_get(res, "status"))));
	json_array_foreach (json_object_get(res, "headers"), i, h) {
		const char *n = json_string_value(json_object_get(h, "name"));
		const char *v = json_string_value(json_object_get(h, "value"));
		char lname[256];
		json_t *cur;

		if (n == NULL || v == NULL || computed_header(n))
			continue;
		src_lower(lname, sizeof(lname), n);
		cur = json_object_get(headers, lname);
		if (cur == NULL)
			json_object_set_new(headers, lname, json_string(v));
		else if (json_is_string(cur))
			json_object_set_new(headers, lname, json_pack("[s,s]", json_string_value(cur), v));
		else
			json_array_append_new(cur, json_string(v));
	}
	if (json_object_size(headers))
		json_object_set_new(out, "headers", headers);
	else
		json_decref(headers);
	content = json_object_get(res, "content");
	text = json_string_value(json_object_get(content, "text"));
	enc = json_string_value(json_object_get(content, "encoding"));
	src_ptr(p, sizeof(p), pointer, "content");
	if (text && *text) {
		json_object_set_new(out, "payload", json_string(text));
		if (enc && strcmp(enc, "base64") == 0)
			json_object_set_new(out, "decode", json_string("base64"));
		else if (enc && *enc)
			src_note(warnings, p, "content encoding \"%.40s\" is not known; the text is answered as is", enc);
		else if (strstr(text, "{{"))
			src_note(warnings, p, "the body contains \"{{\", which mockarty reads as a template");
	} else if (json_integer_value(json_object_get(content, "size")) > 0) {
		src_note(warnings, p, "the capture holds no body text (size %lld); the mock answers an empty body",
			 (long long)json_integer_value(json_object_get(content, "size")));
	}
	return out;
}

json_t *
mc_import_har(const json_t *doc, const char *ns, const char *source, bool one_of)
{
	json_t *report = src_report_new(), *warnings, *errors, *entries, *e;
	json_t *by_key, *order;
	size_t i;

	if (report == NULL)
		return NULL;
	warnings = json_object_get(report, "warnings");
	errors = json_object_get(report, "errors");
	if (!json_is_object(doc) || !json_is_object(json_object_get(doc, "log"))) {
		src_note(errors, json_is_object(doc) ? "/log" : "", "a HAR document is {\"log\":{\"entries\":[...]}}");
		return report;
	}
	entries = json_object_get(json_object_get(doc, "log"), "entries");
	if (!json_is_array(entries)) {
		src_note(errors, "/log/entries", "entries must be an array");
		return report;
	}
	by_key = json_object(); /* key -> mock */
	order = json_array();   /* keys in order of first appearance */
	json_array_foreach (entries, i, e) {
		char ptr[SRC_PTR_MAX], rp[SRC_PTR_MAX], path[2048];
		const json_t *req, *res;
		const char *method, *url, *query;
		json_t *q, *mock, *resp;
		char *key;

		src_ptr_index(ptr, sizeof(ptr), "/log/entries", i);
		if (i >= MC_IMPORT_MAX_ITEMS) {
			src_note(warnings, "/log/entries", "only the first %d entries are imported", MC_IMPORT_MAX_ITEMS);
			break;
		}
		req = json_object_get(e, "request");
		res = json_object_get(e, "response");
		method = json_string_value(json_object_get(req, "method"));
		url = json_string_value(json_object_get(req, "url"));
		if (!json_is_object(req) || !json_is_object(res) || method == NULL || url == NULL) {
			src_note(warnings, ptr, "not imported: an entry needs request.method, request.url and a response");
			continue;
		}
		if (!json_is_integer(json_object_get(res, "status")) || json_integer_value(json_object_get(res, "status")) < 100 ||
		    json_integer_value(json_object_get(res, "status")) > 599) {
			src_ptr(rp, sizeof(rp), ptr, "response");
			src_note(warnings, rp, "not imported: no HTTP status was captured (blocked or failed request)");
			continue;
		}
		src_split_url(url, path, sizeof(path), &query);
		q = entry_query(req, query);
		{
			char m[32];

			snprintf(m, sizeof(m), "%s", method);
			for (size_t j = 0; m[j]; j++)
				m[j] = (char)(m[j] >= 'a' && m[j] <= 'z' ? m[j] - 32 : m[j]);
			key = entry_key(m, path, q);
			if (key == NULL) {
				json_decref(q);
				continue;
			}
			src_ptr(rp, sizeof(rp), ptr, "response");
			resp = entry_response(res, warnings, rp);
			mock = json_object_get(by_key, key);
			if (mock == NULL) {
				char id[37];
				json_t *http = json_object(), *list = json_array(), *vals;
				const char *qn;

				mc_import_id(ns, source, key, id);
				json_object_set_new(http, "httpMethod", json_string(m));
				src_set_route(http, path);
				json_object_foreach (q, qn, vals) {
					if (json_array_size(vals) == 1)
						json_array_append_new(list, src_cond(qn, "equals", json_incref(json_array_get(vals, 0))));
					else
						json_array_append_new(list, src_cond(qn, "equals", json_incref(vals)));
				}
				if (json_array_size(list))
					json_object_set_new(http, "queryParams", list);
				else
					json_decref(list);
				mock = json_pack("{s:s,s:o}", "id", id, "http", http);
				json_object_set_new(by_key, key, mock);
				json_array_append_new(order, json_pack("{s:s,s:s}", "key", key, "ptr", ptr));
				json_object_set_new(mock, "response", resp);
			} else if (one_of) {
				json_t *oo = json_object_get(mock, "oneOf");

				if (oo == NULL) {
					oo = json_pack("{s:s,s:i,s:[O]}", "order", "order", "offset", 0, "responses",
						       json_object_get(mock, "response"));
					json_object_set_new(mock, "oneOf", oo);
					json_object_del(mock, "response");
				}
				json_array_append_new(json_object_get(oo, "responses"), resp);
			} else {
				json_object_set_new(mock, "response", resp); /* the last capture wins */
			}
			if (json_object_get(req, "postData"))
				src_note(warnings, ptr, "the request body is not turned into conditions (%s matches any body)", key);
			free(key);
		}
		json_decref(q);
	}
	json_array_foreach (order, i, e) {
		json_t *mock = json_object_get(by_key, json_string_value(json_object_get(e, "key")));

		src_add_mock(report, json_incref(mock), json_string_value(json_object_get(e, "ptr")));
	}
	json_decref(order);
	json_decref(by_key);
	return report;
}
