/*
 * import_mockoon.c - Mockoon environment files into mockarty mocks.
 *
 * A Mockoon route (method + endpoint under the environment's prefix) holds several
 * responses: the default one answers when no other response's rules hold. Each
 * response becomes one mock on the route: rule-bearing responses carry their rules
 * as conditions and a priority above the default's, in the route's order (Mockoon
 * takes the first response whose rules hold). Latency, status and headers (the
 * environment's, then the response's) translate directly. Mockoon's templating
 * ({{...}}), file bodies, response modes, CRUD routes and the rarer rule targets
 * and operators are reported with the pointer of the item.
 */
#include "sources_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One rule ({target, modifier, value, operator, invert}) into a condition, or NULL after a warning. */
static json_t *
rule_condition(const json_t *rule, const char **list_key, json_t *warnings, const char *ptr)
{
	const char *target = json_string_value(json_object_get(rule, "target"));
	const char *mod = json_string_value(json_object_get(rule, "modifier"));
	const char *op = json_string_value(json_object_get(rule, "operator"));
	const json_t *value = json_object_get(rule, "value");
	bool invert = json_is_true(json_object_get(rule, "invert"));
	const char *action;
	char path[600];

	if (target == NULL || op == NULL) {
		src_note(warnings, ptr, "a rule needs target and operator; not translated");
		return NULL;
	}
	mod = mod ? mod : "";
	if (strcmp(op, "equals") == 0)
		action = invert ? "not_equals" : "equals";
	else if (strcmp(op, "regex") == 0 && !invert)
		action = "matches";
	else if (strcmp(op, "null") == 0)
		action = invert ? "notEmpty" : "empty";
	else if (strcmp(op, "array_includes") == 0)
		action = invert ? "not_contains" : "contains";
	else {
		src_note(warnings, ptr, "rule operator \"%.40s\"%s has no equivalent; not translated", op,
			 invert ? " (inverted)" : "");
		return NULL;
	}
	*list_key = "conditions";
	if (strcmp(target, "body") == 0) {
		if (*mod == '\0')
			snprintf(path, sizeof(path), "$");
		else
			snprintf(path, sizeof(path), "%s%.500s", mod[0] == '$' ? "" : "$.", mod);
	} else if (strcmp(target, "query") == 0) {
		*list_key = "queryParams";
		snprintf(path, sizeof(path), "%.500s", mod);
	} else if (strcmp(target, "header") == 0) {
		*list_key = "header";
		src_lower(path, sizeof(path), mod);
	} else if (strcmp(target, "params") == 0) {
		snprintf(path, sizeof(path), "pathParam.%.500s", mod);
	} else {
		src_note(warnings, ptr, "rule target \"%.40s\" has no equivalent (e.g. cookie, request_number, method); not translated",
			 target);
		return NULL;
	}
	if (*mod == '\0' && strcmp(target, "body") != 0) {
		src_note(warnings, ptr, "a %s rule needs a modifier (the name); not translated", target);
		return NULL;
	}
	return src_cond(path, action, strcmp(action, "empty") && strcmp(action, "notEmpty") ? json_deep_copy(value) : NULL);
}

/* Appends Mockoon's [{key,value}] headers into the object headers. */
static void
add_headers(json_t *headers, const json_t *list)
{
	size_t i;
	json_t *h;

	json_array_foreach (list, i, h) {
		const char *k = json_string_value(json_object_get(h, "key"));
		const char *v = json_string_value(json_object_get(h, "value"));
		char lk[256];

		if (k == NULL || v == NULL || *k == '\0')
			continue;
		src_lower(lk, sizeof(lk), k);
		json_object_set_new(headers, lk, json_string(v));
	}
}

static json_t *
response_mock(const json_t *env, const char *route, const char *method, const json_t *r, const char *id,
	      json_t *warnings, const char *ptr, int priority)
{
	json_t *mock = json_object(), *http = json_object(), *res = json_object(), *headers = json_object();
	const json_t *rules = json_object_get(r, "rules"), *rule;
	const char *body = json_string_value(json_object_get(r, "body"));
	json_int_t latency = json_integer_value(json_object_get(env, "latency")) +
			     json_integer_value(json_object_get(r, "latency"));
	char p[SRC_PTR_MAX];
	size_t i;

	json_object_set_new(mock, "id", json_string(id));
	json_object_set_new(mock, "http", http);
	json_object_set_new(http, "route", json_string(route));
	if (method)
		json_object_set_new(http, "httpMethod", json_string(method));
	json_object_set_new(res, "statusCode", json_integer(json_is_integer(json_object_get(r, "statusCode"))
								     ? json_integer_value(json_object_get(r, "statusCode"))
								     : 200));
	add_headers(headers, json_object_get(env, "headers"));
	add_headers(headers, json_object_get(r, "headers"));
	if (json_object_size(headers))
		json_object_set(res, "headers", headers);
	json_decref(headers);
	if (body && *body) {
		json_object_set_new(res, "payload", json_string(body));
		if (strstr(body, "{{") && !json_is_true(json_object_get(r, "disableTemplating"))) {
			src_ptr(p, sizeof(p), ptr, "body");
			src_note(warnings, p, "Mockoon templating ({{...}}) is not translated; mockarty may read it as its own template");
		}
	}
	if (latency > 0)
		json_object_set_new(res, "delay", json_integer(latency));
	if (json_is_true(json_object_get(r, "sendFileAsBody")) ||
	    (json_string_value(json_object_get(r, "filePath")) && *json_string_value(json_object_get(r, "filePath")))) {
		src_ptr(p, sizeof(p), ptr, "filePath");
		src_note(warnings, p, "file bodies are not imported (the file is not part of the environment)");
	}
	if (json_string_value(json_object_get(r, "label")) && *json_string_value(json_object_get(r, "label")))
		json_object_set(mock, "description", json_object_get(r, "label"));
	json_object_set_new(mock, "response", res);
	if (json_array_size(rules) > 1 && json_string_value(json_object_get(r, "rulesOperator")) &&
	    strcmp(json_string_value(json_object_get(r, "rulesOperator")), "OR") == 0) {
		src_ptr(p, sizeof(p), ptr, "rulesOperator");
		src_note(warnings, p, "rules joined by OR are imported as AND (all must hold)");
	}
	json_array_foreach (rules, i, rule) {
		const char *list_key = NULL;
		json_t *c, *list;
		char rp[SRC_PTR_MAX];

		src_ptr(p, sizeof(p), ptr, "rules");
		src_ptr_index(rp, sizeof(rp), p, i);
		c = rule_condition(rule, &list_key, warnings, rp);
		if (c == NULL)
			continue;
		list = json_object_get(http, list_key);
		if (list == NULL) {
			list = json_array();
			json_object_set_new(http, list_key, list);
		}
		json_array_append_new(list, c);
	}
	if (priority)
		json_object_set_new(mock, "priority", json_integer(priority));
	return mock;
}

json_t *
mc_import_mockoon(const json_t *doc, const char *ns, const char *source)
{
	json_t *report = src_report_new(), *warnings, *routes, *rt;
	const char *prefix;
	size_t i;

	if (report == NULL)
		return NULL;
	warnings = json_object_get(report, "warnings");
	if (!json_is_object(doc) || !json_is_array(json_object_get(doc, "routes"))) {
		src_note(json_object_get(report, "errors"), json_is_object(doc) ? "/routes" : "",
			 "a Mockoon environment is an object with a \"routes\" array");
		return report;
	}
	prefix = json_string_value(json_object_get(doc, "endpointPrefix"));
	prefix = prefix ? prefix : "";
	if (json_object_get(doc, "proxyMode") && json_is_true(json_object_get(doc, "proxyMode")))
		src_note(warnings, "/proxyMode", "the environment's proxy mode is not translated");
	routes = json_object_get(doc, "routes");
	json_array_foreach (routes, i, rt) {
		char ptr[SRC_PTR_MAX], route[1200], m[32] = "";
		const char *endpoint = json_string_value(json_object_get(rt, "endpoint"));
		const char *method = json_string_value(json_object_get(rt, "method"));
		const char *mode = json_string_value(json_object_get(rt, "responseMode"));
		const char *type = json_string_value(json_object_get(rt, "type"));
		const char *ruuid = json_string_value(json_object_get(rt, "uuid"));
		json_t *responses = json_object_get(rt, "responses"), *r;
		size_t j, n, default_index = 0;
		char *rp, *o;

		src_ptr_index(ptr, sizeof(ptr), "/routes", i);
		if (i >= MC_IMPORT_MAX_ITEMS) {
			src_note(warnings, "/routes", "only the first %d routes are imported", MC_IMPORT_MAX_ITEMS);
			break;
		}
		if (!json_is_object(rt) || endpoint == NULL || !json_is_array(responses)) {
			src_note(warnings, ptr, "not imported: a route needs endpoint and responses");
			continue;
		}
		if (type && strcmp(type, "http") != 0) {
			src_note(warnings, ptr, "not imported: \"%.40s\" routes have no equivalent", type);
			continue;
		}
		if (mode && *mode) {
			char mp[SRC_PTR_MAX];

			src_ptr(mp, sizeof(mp), ptr, "responseMode");
			src_note(warnings, mp, "response mode \"%.40s\" is not translated (rules and the default decide)", mode);
		}
		/* "/" prefix "/" endpoint, with doubled slashes folded */
		snprintf(route, sizeof(route), "/%.500s/%.500s", prefix, endpoint);
		for (rp = o = route; *rp; rp++)
			if (!(*rp == '/' && o > route && o[-1] == '/'))
				*o++ = *rp;
		*o = '\0';
		if (o > route + 1 && o[-1] == '/')
			o[-1] = '\0';
		if (method && strcmp(method, "all") != 0) {
			snprintf(m, sizeof(m), "%s", method);
			for (size_t k = 0; m[k]; k++)
				m[k] = (char)(m[k] >= 'a' && m[k] <= 'z' ? m[k] - 32 : m[k]);
		}
		n = json_array_size(responses);
		json_array_foreach (responses, j, r)
			if (json_is_true(json_object_get(r, "default"))) {
				default_index = j;
				break;
			}
		json_array_foreach (responses, j, r) {
			char p[SRC_PTR_MAX], ident[1300], id[37];
			const char *uuid = json_string_value(json_object_get(r, "uuid"));
			bool has_rules = json_array_size(json_object_get(r, "rules")) > 0;
			json_t *mock;

			src_ptr(p, sizeof(p), ptr, "responses");
			src_ptr_index(p, sizeof(p), p, j);
			if (!json_is_object(r)) {
				src_note(warnings, p, "not imported: a response must be an object");
				continue;
			}
			if (j != default_index && !has_rules) {
				src_note(warnings, p, "not imported: a response without rules that is not the default never answers");
				continue;
			}
			if (uuid)
				snprintf(ident, sizeof(ident), "response:%.1000s", uuid);
			else
				snprintf(ident, sizeof(ident), "route:%.1200s:%.31s#%zu", ruuid ? ruuid : route, m, j);
			mc_import_id(ns, source, ident, id);
			mock = response_mock(doc, route, *m ? m : NULL, r, id, warnings, p,
					     has_rules && j != default_index ? (int)(10 + n - j) : 0);
			src_add_mock(report, mock, p);
		}
	}
	return report;
}
