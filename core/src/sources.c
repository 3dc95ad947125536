/*
 * sources.c - what every importer of foreign stub formats shares: the report it
 * answers, JSON pointers to the source items, stable mock ids and the translation
 * of literal URL paths and JSON bodies into routes and conditions.
 *
 * Importers never drop an item silently: whatever they cannot translate becomes a
 * warning naming the item's pointer, and every mock they emit has passed
 * mc_mock_validate, so the SQL merge never rejects an importer's output.
 */
#include "sources_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a, 64 bits, continued from h over len bytes. */
static uint64_t
fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
hash_parts(uint64_t seed, const char *ns, const char *source, const char *item)
{
	const char *parts[3] = {ns ? ns : "", source ? source : "", item ? item : ""};
	uint64_t h = seed;

	for (int i = 0; i < 3; i++) {
		size_t n = strlen(parts[i]);

		/* the length first, so ("ab","c") and ("a","bc") differ */
		h = fnv1a(h, &n, sizeof(n));
		h = fnv1a(h, parts[i], n);
	}
	return h;
}

void
mc_import_id(const char *ns, const char *source, const char *item, char out[37])
{
	uint64_t a = hash_parts(0xcbf29ce484222325ULL, ns, source, item);
	uint64_t b = hash_parts(0x84222325cbf29ce4ULL ^ a, ns, source, item);

	snprintf(out, 37, "imp-%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

json_t *
src_report_new(void)
{
	return json_pack("{s:[],s:[],s:[]}", "mocks", "warnings", "errors");
}

void
src_note(json_t *list, const char *pointer, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (list == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(list, json_pack("{s:s,s:s}", "pointer", pointer ? pointer : "", "message", msg));
}

void
src_ptr(char *out, size_t size, const char *base, const char *token)
{
	size_t o = base ? strnlen(base, size - 1) : 0;

	/* out may be base itself: extend in place */
	if (base != out && o > 0)
		memmove(out, base, o);
	if (o + 1 < size)
		out[o++] = '/';
	for (const char *t = token ? token : ""; *t && o + 3 < size; t++) {
		if (*t == '~' || *t == '/') {
			out[o++] = '~';
			out[o++] = *t == '~' ? '0' : '1';
		} else {
			out[o++] = *t;
		}
	}
	out[o] = '\0';
}

void
src_ptr_index(char *out, size_t size, const char *base, size_t index)
{
	char tok[32];

	snprintf(tok, sizeof(tok), "%zu", index);
	src_ptr(out, size, base, tok);
}

void
src_add_mock(json_t *report, json_t *mock, const char *pointer)
{
	mc_error err;

	if (mock == NULL)
		return;
	if (mc_mock_validate(mock, &err) != MC_OK) {
		src_note(json_object_get(report, "warnings"), pointer, "not imported: the translated mock is invalid at %s: %s",
			 err.path, err.msg);
		json_decref(mock);
		return;
	}
	json_array_append_new(json_object_get(report, "mocks"), mock);
}

char *
src_regex_quote(const char *text)
{
	size_t n = strlen(text);
	char *out = malloc(2 * n + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (const char *p = text; *p; p++) {
		if (strchr("\\^$.|?*+()[]{}/", *p))
			*o++ = '\\';
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

void
src_set_route(json_t *http, const char *path)
{
	if (path == NULL || *path == '\0')
		path = "/";
	if (path[0] == '/' && strpbrk(path, ":*{}") == NULL) {
		json_object_set_new(http, "route", json_string(path));
		return;
	}
	char *q = src_regex_quote(path);
	char *re = q ? malloc(strlen(q) + 4) : NULL;

	if (re) {
		sprintf(re, "^%s%s$", path[0] == '/' ? "" : "/", q);
		json_object_set_new(http, "routePattern", json_string(re));
	}
	free(re);
	free(q);
}

json_t *
src_cond(const char *path, const char *action, json_t *value)
{
	json_t *c = json_pack("{s:s,s:s}", "path", path, "assertAction", action);

	if (c && value)
		json_object_set_new(c, "value", value);
	else
		json_decref(value);
	return c;
}

/* True when key can follow a '.' in a condition path. */
static bool
plain_key(const char *key)
{
	if (*key == '\0')
		return false;
	for (const char *p = key; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return false;
	return true;
}

void
src_json_conditions(json_t *conds, const json_t *value, const char *prefix, json_t *warnings,
		    const char *pointer, int depth)
{
	const char *k;
	json_t *v;

	if (!json_is_object(value) || json_object_size(value) == 0 || depth > 16) {
		json_array_append_new(conds, src_cond(prefix, "equals", json_deep_copy(value)));
		return;
	}
	json_object_foreach ((json_t *)value, k, v) {
		char path[SRC_PTR_MAX];

		if (!plain_key(k) || strlen(prefix) + strlen(k) + 2 > sizeof(path)) {
			src_note(warnings, pointer, "body field \"%.80s\" is not matched: its name cannot be written as a condition path",
				 k);
			continue;
		}
		if (snprintf(path, sizeof(path), "%s.%s", prefix, k) >= (int)sizeof(path))
			continue; /* excluded by the length check above */
		src_json_conditions(conds, v, path, warnings, pointer, depth + 1);
	}
}

void
src_lower(char *out, size_t size, const char *name)
{
	size_t i = 0;

	for (; name[i] && i + 1 < size; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[i] = '\0';
}

void
src_split_url(const char *url, char *path, size_t path_size, const char **query)
{
	const char *p = url, *end;
	size_t n;

	*query = NULL;
	/* scheme://authority */
	const char *scheme = strstr(url, "://");
	if (scheme && strcspn(url, "/?#") > (size_t)(scheme - url)) {
		p = scheme + 3;
		p += strcspn(p, "/?#");
	}
	end = p + strcspn(p, "?#");
	n = 0;
	/* requests are matched on the decoded path: decode %XX, except %2F (a slash inside a segment) */
	for (const char *s = p; s < end && n + 1 < path_size; s++) {
		if (s[0] == '%' && s + 2 < end && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2]) &&
		    !(s[1] == '2' && (s[2] == 'f' || s[2] == 'F')) && !(s[1] == '0' && s[2] == '0')) {
			char hex[3] = {s[1], s[2], '\0'};

			path[n++] = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			path[n++] = *s;
		}
	}
	path[n] = '\0';
	if (*end == '?')
		*query = end + 1;
}
