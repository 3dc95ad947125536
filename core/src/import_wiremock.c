/*
 * import_wiremock.c - WireMock stub mappings (the JSON of /__admin/mappings, one
 * mapping or {"mappings":[...]}) into mockarty mocks.
 *
 * WireMock matches a request by URL (exact, path, regex), query, headers and body
 * patterns and answers a status, headers, a body (text, JSON or base64) after a
 * fixed delay. Those translate one to one into a route or routePattern, conditions
 * and a response. Scenarios, faults, random delays, body files, cookies, templates
 * and the rarer matchers have no equivalent: each is reported with the pointer of
 * the mapping field, and the mock is still imported without it.
 */
#include "sources_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Translates one WireMock value matcher ({"equalTo":"x"}, {"contains":...}, ...) into
 * a condition on path. Returns a new condition or NULL after reporting at pointer.
 */
static json_t *
matcher_to_condition(const char *path, const json_t *m, json_t *warnings, const char *pointer)
{
	const json_t *v;

	if (json_is_string(m)) /* a bare string: WireMock's shorthand for equalTo */
		return src_cond(path, "equals", json_deep_copy(m));
	if (!json_is_object(m)) {
		src_note(warnings, pointer, "matcher must be an object; not translated");
		return NULL;
	}
	if ((v = json_object_get(m, "equalTo")) != NULL) {
		if (json_is_true(json_object_get(m, "caseInsensitive")) && json_is_string(v)) {
			char *q = src_regex_quote(json_string_value(v));
			json_t *c = NULL;

			if (q) {
				char *re = malloc(strlen(q) + 8);

				if (re) {
					sprintf(re, "(?i)^%s$", q);
					c = src_cond(path, "matches", json_string(re));
					free(re);
				}
				free(q);
			}
			return c;
		}
		return src_cond(path, "equals", json_deep_copy(v));
	}
	if ((v = json_object_get(m, "contains")) != NULL)
		return src_cond(path, "contains", json_deep_copy(v));
	if ((v = json_object_get(m, "doesNotContain")) != NULL)
		return src_cond(path, "not_contains", json_deep_copy(v));
	if ((v = json_object_get(m, "matches")) != NULL && json_is_string(v))
		return src_cond(path, "matches", json_deep_copy(v));
	if ((v = json_object_get(m, "absent")) != NULL)
		return src_cond(path, json_is_true(v) ? "empty" : "notEmpty", NULL);
	{
		const char *k = "?";
		json_t *x;

		json_object_foreach ((json_t *)m, k, x)
			break;
		src_note(warnings, pointer, "matcher \"%.60s\" has no equivalent; not translated", k);
	}
	return NULL;
}

/* queryParameters / headers: {name: matcher} into list (queryParams / header). */
static void
named_matchers(json_t *http, const char *list_key, const json_t *obj, bool lower, json_t *warnings,
	       const char *pointer)
{
	const char *name;
	json_t *m;
	char p[SRC_PTR_MAX], lname[256];

	if (obj == NULL)
		return;
	if (!json_is_object(obj)) {
		src_note(warnings, pointer, "must be an object of matchers; not translated");
		return;
	}
	json_object_foreach ((json_t *)obj, name, m) {
		json_t *c, *list;

		src_ptr(p, sizeof(p), pointer, name);
		if (lower)
			src_lower(lname, sizeof(lname), name);
		else
			snprintf(lname, sizeof(lname), "%s", name);
		c = matcher_to_condition(lname, m, warnings, p);
		if (c == NULL)
			continue;
		list = json_object_get(http, list_key);
		if (list == NULL) {
			list = json_array();
			json_object_set_new(http, list_key, list);
		}
		json_array_append_new(list, c);
	}
}

/* bodyPatterns into http.conditions. */
static void
body_patterns(json_t *http, const json_t *patterns, json_t *warnings, const char *pointer)
{
	json_t *conds = json_array(), *bp;
	size_t i;
	char p[SRC_PTR_MAX];

	if (!json_is_array(patterns)) {
		src_note(warnings, pointer, "bodyPatterns must be an array; not translated");
		json_decref(conds);
		return;
	}
	json_array_foreach (patterns, i, bp) {
		const json_t *v;

		src_ptr_index(p, sizeof(p), pointer, i);
		if (!json_is_object(bp)) {
			src_note(warnings, p, "body pattern must be an object; not translated");
			continue;
		}
		if ((v = json_object_get(bp, "equalToJson")) != NULL) {
			json_t *parsed = NULL;

			if (json_is_string(v))
				parsed = json_loads(json_string_value(v), JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
			else
				parsed = json_incref((json_t *)v);
			if (parsed == NULL) {
				src_note(warnings, p, "equalToJson is not valid JSON; not translated");
				continue;
			}
			if (!json_is_true(json_object_get(bp, "ignoreExtraElements")))
				src_note(warnings, p, "equalToJson is matched field by field: extra fields in the request are not refused");
			src_json_conditions(conds, parsed, "$", warnings, p, 0);
			json_decref(parsed);
		} else if ((v = json_object_get(bp, "matchesJsonPath")) != NULL) {
			const char *expr = json_is_string(v) ? json_string_value(v)
							     : json_string_value(json_object_get(v, "expression"));

			if (expr == NULL || expr[0] != '$' || strpbrk(expr, "?*@") != NULL) {
				src_note(warnings, p, "matchesJsonPath \"%.80s\" uses JSONPath beyond plain paths; not translated",
					 expr ? expr : "(none)");
				continue;
			}
			if (json_is_string(v)) {
				json_array_append_new(conds, src_cond(expr, "notEmpty", NULL));
			} else {
				json_t *m = json_deep_copy(v), *c;

				json_object_del(m, "expression");
				c = matcher_to_condition(expr, m, warnings, p);
				json_decref(m);
				if (c)
					json_array_append_new(conds, c);
			}
		} else if (json_object_get(bp, "equalTo") || json_object_get(bp, "contains") ||
			   json_object_get(bp, "matches") || json_object_get(bp, "doesNotContain")) {
			/* "$" on a body that is not JSON is its text */
			json_t *c = matcher_to_condition("$", bp, warnings, p);

			if (c)
				json_array_append_new(conds, c);
			src_note(warnings, p, "a text body pattern applies to the raw text only when the request body is not JSON");
		} else {
			const char *k = "?";
			json_t *x;

			json_object_foreach ((json_t *)bp, k, x)
				break;
			src_note(warnings, p, "body pattern \"%.60s\" has no equivalent; not translated", k);
		}
	}
	if (json_array_size(conds) > 0)
		json_object_set_new(http, "conditions", conds);
	else
		json_decref(conds);
}

static json_t *
translate_response(const json_t *res, json_t *warnings, const char *pointer)
{
	json_t *out = json_object(), *v;
	const char *k;
	char p[SRC_PTR_MAX];

	if (res == NULL) {
		json_object_set_new(out, "statusCode", json_integer(200));
		return out;
	}
	if (!json_is_object(res)) {
		src_note(warnings, pointer, "response must be an object; answering 200 without a body");
		json_object_set_new(out, "statusCode", json_integer(200));
		return out;
	}
	v = json_object_get(res, "status");
	json_object_set_new(out, "statusCode", json_is_integer(v) ? json_integer(json_integer_value(v)) : json_integer(200));
	json_object_foreach ((json_t *)res, k, v) {
		src_ptr(p, sizeof(p), pointer, k);
		if (strcmp(k, "status") == 0) {
			if (!json_is_integer(v))
				src_note(warnings, p, "status must be an integer; 200 is used");
		} else if (strcmp(k, "body") == 0) {
			json_object_set(out, "payload", v);
			if (json_is_string(v) && strstr(json_string_value(v), "{{"))
				src_note(warnings, p, "response templates ({{...}}) are WireMock's syntax and are not translated");
		} else if (strcmp(k, "jsonBody") == 0) {
			json_object_set(out, "payload", v);
		} else if (strcmp(k, "base64Body") == 0 && json_is_string(v)) {
			json_object_set(out, "payload", v);
			json_object_set_new(out, "decode", json_string("base64"));
		} else if (strcmp(k, "headers") == 0 && json_is_object(v)) {
			json_t *h = json_object(), *hv;
			const char *hk;

			json_object_foreach (v, hk, hv) {
				if (json_is_string(hv) || json_is_array(hv))
					json_object_set(h, hk, hv);
				else {
					char hp[SRC_PTR_MAX];

					src_ptr(hp, sizeof(hp), p, hk);
					src_note(warnings, hp, "header value must be a string or an array; not translated");
				}
			}
			json_object_set_new(out, "headers", h);
		} else if (strcmp(k, "fixedDelayMilliseconds") == 0 && json_is_integer(v) && json_integer_value(v) >= 0) {
			json_object_set_new(out, "delay", json_integer(json_integer_value(v)));
		} else if (strcmp(k, "statusMessage") == 0 || strcmp(k, "additionalProxyRequestHeaders") == 0) {
			src_note(warnings, p, "\"%s\" is not translated", k);
		} else if (strcmp(k, "transformers") == 0 || strcmp(k, "transformerParameters") == 0) {
			src_note(warnings, p, "WireMock response transformers are not translated");
		} else {
			src_note(warnings, p, "\"%.60s\" has no equivalent (e.g. bodyFileName, fault, delayDistribution, proxyBaseUrl); not translated",
				 k);
		}
	}
	return out;
}

json_t *
mc_wiremock_mapping_to_mock(const json_t *mapping, const char *id, const char *base, json_t *warnings, mc_error *err)
{
	json_t *mock, *http, *v;
	const json_t *req;
	const char *k;
	char p[SRC_PTR_MAX], rp[SRC_PTR_MAX];

	if (!json_is_object(mapping)) {
		mc_error_set(err, MC_EINVAL, base, "a mapping must be a JSON object");
		return NULL;
	}
	req = json_object_get(mapping, "request");
	src_ptr(rp, sizeof(rp), base, "request");
	if (req != NULL && !json_is_object(req)) {
		mc_error_set(err, MC_EINVAL, rp, "request must be a JSON object");
		return NULL;
	}
	mock = json_object();
	http = json_object();
	json_object_set_new(mock, "id", json_string(id));
	json_object_set_new(mock, "http", http);
	json_object_set_new(http, "routePattern", json_string("^/")); /* no URL matcher: any path */
	json_object_foreach ((json_t *)req, k, v) {
		src_ptr(p, sizeof(p), rp, k);
		if (strcmp(k, "method") == 0) {
			if (!json_is_string(v))
				src_note(warnings, p, "method must be a string; any method matches");
			else if (strcmp(json_string_value(v), "ANY") != 0) {
				char m[32];
				size_t i;

				snprintf(m, sizeof(m), "%s", json_string_value(v));
				for (i = 0; m[i]; i++)
					m[i] = (char)(m[i] >= 'a' && m[i] <= 'z' ? m[i] - 32 : m[i]);
				json_object_set_new(http, "httpMethod", json_string(m));
			}
		} else if ((strcmp(k, "url") == 0 || strcmp(k, "urlPath") == 0 || strcmp(k, "urlPathTemplate") == 0) &&
			   json_is_string(v)) {
			char path[1024];
			const char *query;

			src_split_url(json_string_value(v), path, sizeof(path), &query);
			json_object_del(http, "routePattern");
			if (strcmp(k, "urlPathTemplate") == 0) {
				/* "/pets/{id}" is the route "/pets/:id" */
				char route[1024];
				size_t o = 0;

				for (const char *s = path; *s && o + 2 < sizeof(route); s++) {
					if (*s == '{' && (s == path || s[-1] == '/'))
						route[o++] = ':';
					else if (*s != '}')
						route[o++] = *s;
				}
				route[o] = '\0';
				json_object_set_new(http, "route", json_string(route[0] == '/' ? route : "/"));
			} else {
				src_set_route(http, path);
			}
			if (query && strcmp(k, "url") == 0) {
				json_t *q = mc_query_parse(query), *vals, *list = json_array();
				const char *qk;

				json_object_foreach (q, qk, vals)
					json_array_append_new(list, src_cond(qk, "equals", json_deep_copy(json_array_get(vals, 0))));
				if (json_array_size(list))
					json_object_set_new(http, "queryParams", list);
				else
					json_decref(list);
				json_decref(q);
				src_note(warnings, p, "the query of an exact url is matched parameter by parameter: extra parameters are not refused");
			}
		} else if ((strcmp(k, "urlPattern") == 0 || strcmp(k, "urlPathPattern") == 0) && json_is_string(v)) {
			json_object_del(http, "route");
			json_object_set(http, "routePattern", v);
			if (strcmp(k, "urlPattern") == 0)
				src_note(warnings, p, "urlPattern is matched against the path only (without the query)");
		} else if (strcmp(k, "queryParameters") == 0) {
			named_matchers(http, "queryParams", v, false, warnings, p);
		} else if (strcmp(k, "headers") == 0) {
			named_matchers(http, "header", v, true, warnings, p);
		} else if (strcmp(k, "bodyPatterns") == 0) {
			body_patterns(http, v, warnings, p);
		} else {
			src_note(warnings, p, "request field \"%.60s\" has no equivalent (e.g. cookies, basicAuthCredentials, multipartPatterns); not translated",
				 k);
		}
	}
	src_ptr(p, sizeof(p), base, "response");
	json_object_set_new(mock, "response", translate_response(json_object_get(mapping, "response"), warnings, p));
	json_object_foreach ((json_t *)mapping, k, v) {
		src_ptr(p, sizeof(p), base, k);
		if (strcmp(k, "priority") == 0 && json_is_integer(v)) {
			/* WireMock: 1 is the highest, 5 the default; mockarty: higher first, 0 the default */
			json_object_set_new(mock, "priority", json_integer(5 - json_integer_value(v)));
		} else if (strcmp(k, "name") == 0 && json_is_string(v)) {
			json_object_set(mock, "description", v);
		} else if (strcmp(k, "scenarioName") == 0 || strcmp(k, "requiredScenarioState") == 0 ||
			   strcmp(k, "newScenarioState") == 0) {
			src_note(warnings, p, "scenarios (state machines) are not translated: the mock answers in every state");
		} else if (strcmp(k, "postServeActions") == 0 || strcmp(k, "serveEventListeners") == 0) {
			src_note(warnings, p, "\"%s\" is not translated (use the mock's webhooks)", k);
		} else if (strcmp(k, "request") && strcmp(k, "response") && strcmp(k, "id") && strcmp(k, "uuid") &&
			   strcmp(k, "persistent") && strcmp(k, "metadata") && strcmp(k, "insertionIndex") &&
			   strcmp(k, "priority") && strcmp(k, "name")) {
			src_note(warnings, p, "mapping field \"%.60s\" has no equivalent; not translated", k);
		} else if (strcmp(k, "priority") == 0 || strcmp(k, "name") == 0) {
			src_note(warnings, p, "\"%s\" has the wrong type; not translated", k);
		}
	}
	return mock;
}

/* The identity of a mapping across re-imports: its id, else uuid, else name, else its position. */
static void
mapping_identity(const json_t *m, size_t index, char *out, size_t size)
{
	const char *s = json_string_value(json_object_get(m, "id"));

	if (s == NULL)
		s = json_string_value(json_object_get(m, "uuid"));
	if (s == NULL)
		s = json_string_value(json_object_get(m, "name"));
	if (s)
		snprintf(out, size, "mapping:%s", s);
	else
		snprintf(out, size, "index:%zu", index);
}

json_t *
mc_import_wiremock(const json_t *doc, const char *ns, const char *source)
{
	json_t *report = src_report_new(), *warnings, *list, *m;
	size_t i;
	bool single = false;

	if (report == NULL)
		return NULL;
	warnings = json_object_get(report, "warnings");
	if (!json_is_object(doc)) {
		src_note(json_object_get(report, "errors"), "", "a WireMock document is a mapping object or {\"mappings\":[...]}");
		return report;
	}
	list = json_object_get(doc, "mappings");
	if (list == NULL) {
		if (json_object_get(doc, "request") == NULL && json_object_get(doc, "response") == NULL) {
			src_note(json_object_get(report, "errors"), "",
				 "neither \"mappings\" nor a mapping's \"request\"/\"response\" found");
			return report;
		}
		single = true;
	} else if (!json_is_array(list)) {
		src_note(json_object_get(report, "errors"), "/mappings", "mappings must be an array");
		return report;
	}
	for (i = 0; i < (single ? 1 : json_array_size(list)); i++) {
		char ptr[SRC_PTR_MAX], ident[300], id[37];
		mc_error err = {0};

		m = single ? (json_t *)doc : json_array_get(list, i);
		if (single)
			ptr[0] = '\0';
		else
			src_ptr_index(ptr, sizeof(ptr), "/mappings", i);
		if (i >= MC_IMPORT_MAX_ITEMS) {
			src_note(warnings, "/mappings", "only the first %d mappings are imported", MC_IMPORT_MAX_ITEMS);
			break;
		}
		mapping_identity(m, i, ident, sizeof(ident));
		mc_import_id(ns, source, ident, id);
		json_t *mock = mc_wiremock_mapping_to_mock(m, id, ptr, warnings, &err);
		if (mock == NULL) {
			src_note(warnings, err.path, "not imported: %s", err.msg);
			continue;
		}
		src_add_mock(report, mock, ptr);
	}
	return report;
}
