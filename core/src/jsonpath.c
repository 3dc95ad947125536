/*
 * jsonpath.c - the JSONPath subset mock conditions and templates use:
 * dotted members and [n] indices from one root ([-n] counts from the end), in
 * every spelling the SDKs and mock kits send ("$.a.b", "a.b", "$.body.a",
 * "$.req.a", "a[0].b", "a[-1]", "$", "").
 *
 * Paths come from mock authors and walk request bodies sent by anyone, so the
 * walk is iterative, allocation-free and bounded by MC_MAX_JSON_DEPTH steps.
 */
#include "match_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Strips "prefix" from *p when it is followed by '.', '[' or the end. */
static bool
strip_root(const char **p, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(*p, prefix, n) != 0)
		return false;
	if ((*p)[n] == '\0') {
		*p += n;
		return true;
	}
	if ((*p)[n] == '.') {
		*p += n + 1;
		return true;
	}
	if ((*p)[n] == '[') {
		*p += n;
		return true;
	}
	return false;
}

/*
 * Returns the part of path relative to the request-body root, a pointer into
 * path: "$.body.a" -> "a", "$.req.a[0]" -> "a[0]", "$.a" -> "a", "$" -> "",
 * "a.b" -> "a.b". NULL gives "".
 */
const char *
mc_jsonpath_relative(const char *path)
{
	const char *p = path;

	if (p == NULL)
		return "";
	if (p[0] == '$') {
		p++;
		if (*p == '.')
			p++;
		else if (*p != '\0' && *p != '[')
			return path; /* "$foo": not a root spelling, a plain key */
		if (!strip_root(&p, "body"))
			strip_root(&p, "req");
	}
	return p;
}

/* Parses a non-negative decimal index of n bytes; -1 when not one. */
static long
parse_index(const char *s, size_t n)
{
	long v = 0;

	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Walks rel (already relative) from root. */
static json_t *
walk(const json_t *root, const char *rel)
{
	const json_t *cur = root;
	const char *p = rel;
	int steps = 0;

	while (*p && cur) {
		if (++steps > MC_MAX_JSON_DEPTH)
			return NULL;
		if (*p == '[') {
			const char *close;

			p++;
			if (*p == '\'' || *p == '"') {
				char q = *p++;
				const char *endq = strchr(p, q);

				if (endq == NULL || endq[1] != ']' || !json_is_object(cur))
					return NULL;
				cur = json_object_getn(cur, p, (size_t)(endq - p));
				p = endq + 2;
			} else {
				long idx;

				close = strchr(p, ']');
				if (close == NULL || !json_is_array(cur))
					return NULL;
				if (*p == '-') {
					/* [-n]: the n-th element from the end ([-1] the last) */
					idx = parse_index(p + 1, (size_t)(close - p - 1));
					if (idx < 1 || (size_t)idx > json_array_size(cur))
						return NULL;
					idx = (long)json_array_size(cur) - idx;
				} else {
					idx = parse_index(p, (size_t)(close - p));
					if (idx < 0)
						return NULL;
				}
				cur = json_array_get(cur, (size_t)idx);
				p = close + 1;
			}
		} else {
			size_t n = strcspn(p, ".[");
			const json_t *next;

			if (n == 0)
				return NULL;
			if (json_is_object(cur)) {
				next = json_object_getn(cur, p, n);
				/*
				 * Store keys may contain dots ("app.version"): when the
				 * member is missing, try the whole rest as one key.
				 */
				if (next == NULL && p[n] != '\0')
					return json_object_get(cur, p);
			} else if (json_is_array(cur)) {
				long idx = parse_index(p, n); /* "items.0.id" */

				next = idx < 0 ? NULL : json_array_get(cur, (size_t)idx);
			} else {
				return NULL;
			}
			cur = next;
			p += n;
		}
		if (*p == '.')
			p++;
	}
	return (json_t *)cur;
}

/*
 * Looks up path in root (see core.h). When a "$.body."/"$.req." prefix was
 * stripped and nothing is found, the path is retried with the prefix as an
 * ordinary member, for bodies that really have a "body" key. Returns a
 * borrowed reference or NULL.
 */
json_t *
mc_jsonpath_get(const json_t *root, const char *path)
{
	const char *rel = mc_jsonpath_relative(path);
	json_t *v;

	if (root == NULL)
		return NULL;
	v = walk(root, rel);
	if (v == NULL && path != NULL && path[0] == '$' && path[1] == '.' && rel != path + 2)
		v = walk(root, path + 2);
	return v;
}
