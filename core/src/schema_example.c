/*
 * schema_example.c - a static, deterministic value for a JSON Schema (the
 * OpenAPI dialects), used when a response documents no example.
 *
 * The value must validate against the schema, because clients generated from
 * the same document will parse it: formats get fixed well-formed samples,
 * enums their first value, numbers a value inside their bounds and multiple,
 * strings a length inside their bounds, patterns a string generated from the
 * regex (checked with PCRE2; a warning when no match could be built), arrays
 * minItems (at least one, bounded by MC_SCHEMA_MAX_ITEMS) elements, objects
 * every property except writeOnly ones. References are resolved on access;
 * a reference already being expanded, or nesting past MC_SCHEMA_MAX_DEPTH,
 * cuts the branch (optional properties omitted, arrays empty).
 */
#include "schema_example.h"
#include "match_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CUT ((json_t *)1) /* "no value here": a cycle or depth cut */

void
mc_sx_warn(mc_sx *sx, const char *pointer, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	if (sx->warnings == NULL || json_array_size(sx->warnings) >= 1000)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(sx->warnings, json_pack("{s:s, s:n, s:s}", "pointer", pointer ? pointer : "",
	                                              "line", "message", msg));
}

/* Decodes one RFC 6901 token (with URI %-escapes) of len bytes into out. */
static void
decode_token(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < size; i++) {
		if (s[i] == '%' && i + 2 < len) {
			char hex[3] = {s[i + 1], s[i + 2], 0};
			char *end;
			long v = strtol(hex, &end, 16);

			if (end == hex + 2) {
				out[o++] = (char)v;
				i += 2;
				continue;
			}
		}
		out[o++] = s[i];
	}
	out[o] = '\0';
	/* ~1 before ~0 */
	for (char *p = out; (p = strstr(p, "~1")) != NULL;) {
		*p = '/';
		memmove(p + 1, p + 2, strlen(p + 2) + 1);
	}
	for (char *p = out; (p = strstr(p, "~0")) != NULL; p++) {
		*p = '~';
		memmove(p + 1, p + 2, strlen(p + 2) + 1);
	}
}

json_t *
mc_sx_pointer(json_t *root, const char *ref)
{
	const char *p;
	json_t *cur = root;
	char tok[512];

	if (ref == NULL || ref[0] != '#')
		return NULL;
	p = ref + 1;
	if (*p == '\0')
		return root;
	if (*p != '/')
		return NULL;
	while (*p == '/' && cur) {
		const char *e = strchr(p + 1, '/');
		size_t n = e ? (size_t)(e - p - 1) : strlen(p + 1);

		decode_token(p + 1, n, tok, sizeof(tok));
		if (json_is_object(cur))
			cur = json_object_get(cur, tok);
		else if (json_is_array(cur)) {
			char *end;
			long i = strtol(tok, &end, 10);

			cur = (*end == '\0' && tok[0]) ? json_array_get(cur, (size_t)i) : NULL;
		} else
			cur = NULL;
		p += n + 1;
	}
	return cur;
}

/*
 * Follows $ref chains from node (borrowed) to a non-reference node. Sets *ref
 * to the last reference followed (or NULL). External or broken references
 * return NULL with a warning.
 */
json_t *
mc_sx_deref(mc_sx *sx, json_t *node, const char **ref, const char *where)
{
	if (ref)
		*ref = NULL;
	for (int hops = 0; json_is_object(node); hops++) {
		json_t *r = json_object_get(node, "$ref");
		json_t *target;

		if (!json_is_string(r))
			return node;
		if (hops >= 32) {
			mc_sx_warn(sx, where, "$ref chain longer than 32 hops");
			return NULL;
		}
		if (ref)
			*ref = json_string_value(r);
		target = mc_sx_pointer(sx->root, json_string_value(r));
		if (target == NULL) {
			mc_sx_warn(sx, where, "unresolvable $ref '%.200s'%s", json_string_value(r),
			           json_string_value(r)[0] == '#'
			               ? ""
			               : " (only references inside the document are read)");
			return NULL;
		}
		node = target;
	}
	return node;
}

/* ------------------------------------------------------------ keyword access */

static json_t *
kw(const json_t *s, const char *k)
{
	return json_is_object(s) ? json_object_get(s, k) : NULL;
}

static bool
has_num(const json_t *s, const char *k, double *out)
{
	json_t *v = kw(s, k);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

/* The schema's type: first non-"null" entry of a type array; inferred when absent. */
static const char *
type_of(const json_t *s, bool *only_null)
{
	json_t *t = kw(s, "type");
	size_t i;
	json_t *e;

	*only_null = false;
	if (json_is_string(t)) {
		if (strcmp(json_string_value(t), "null") == 0)
			*only_null = true;
		return json_string_value(t);
	}
	if (json_is_array(t)) {
		json_array_foreach (t, i, e)
			if (json_is_string(e) && strcmp(json_string_value(e), "null") != 0)
				return json_string_value(e);
		*only_null = json_array_size(t) > 0;
		return "null";
	}
	if (kw(s, "properties") || kw(s, "additionalProperties") || kw(s, "required"))
		return "object";
	if (kw(s, "items") || kw(s, "prefixItems"))
		return "array";
	if (kw(s, "minLength") || kw(s, "maxLength") || kw(s, "pattern") || kw(s, "format"))
		return "string";
	if (kw(s, "minimum") || kw(s, "maximum"))
		return "number";
	return NULL;
}

/* ------------------------------------------------------------ pattern sampler */

typedef struct rx {
	const char *p;
	char out[256];
	size_t n;
	bool bad;
} rx;

static void
rx_put(rx *r, char c)
{
	if (r->n + 1 < sizeof(r->out))
		r->out[r->n++] = c;
	else
		r->bad = true;
}

static void rx_alt(rx *r, int depth);

/* One atom into buf (at most one char or a group); returns false at end. */
static bool
rx_atom(rx *r, char *buf, size_t *blen, int depth)
{
	const char *p = r->p;

	*blen = 0;
	if (*p == '\\') {
		char c = p[1];

		if (c == '\0') {
			r->bad = true;
			return false;
		}
		buf[(*blen)++] = c == 'd'   ? '1'
		                 : c == 'w' ? 'a'
		                 : c == 's' ? ' '
		                 : c == 'D' ? 'a'
		                 : c == 'W' ? '-'
		                 : c == 'S' ? 'a'
		                            : c;
		if (strchr("bBAzZ", c)) { /* assertions produce nothing */
			*blen = 0;
		}
		r->p = p + 2;
		return true;
	}
	if (*p == '[') {
		bool neg = p[1] == '^';
		const char *q = p + 1 + neg;
		char pick = 0;

		if (*q == ']')
			q++;
		while (*q && *q != ']') {
			if (*q == '\\' && q[1]) {
				if (!pick)
					pick = q[1] == 'd' ? '1' : q[1] == 'w' ? 'a' : q[1];
				q += 2;
				continue;
			}
			if (!pick)
				pick = *q;
			q++;
		}
		if (*q != ']') {
			r->bad = true;
			return false;
		}
		if (neg)
			pick = strchr(p, 'x') && strchr(p, 'x') < q ? '#' : 'x';
		buf[(*blen)++] = pick;
		r->p = q + 1;
		return true;
	}
	if (*p == '(') {
		rx sub = {0};

		if (p[1] == '?' && p[2] == ':')
			sub.p = p + 3;
		else if (p[1] == '?') {
			r->bad = true; /* look-arounds, named groups: give up */
			return false;
		} else
			sub.p = p + 1;
		if (depth > 8) {
			r->bad = true;
			return false;
		}
		rx_alt(&sub, depth + 1);
		if (sub.bad || *sub.p != ')') {
			r->bad = true;
			return false;
		}
		memcpy(buf, sub.out, sub.n);
		*blen = sub.n;
		r->p = sub.p + 1;
		return true;
	}
	if (*p == '.') {
		buf[(*blen)++] = 'a';
		r->p = p + 1;
		return true;
	}
	if (*p == '^' || *p == '$') {
		r->p = p + 1;
		return true;
	}
	buf[(*blen)++] = *p;
	r->p = p + 1;
	return true;
}

/* A sequence up to '|' or ')' ; then skips the other alternatives. */
static void
rx_alt(rx *r, int depth)
{
	while (*r->p && *r->p != '|' && *r->p != ')' && !r->bad) {
		char buf[256];
		size_t blen;
		long times = 1;

		if (!rx_atom(r, buf, &blen, depth))
			break;
		if (*r->p == '?' || *r->p == '*') {
			times = 0;
			r->p++;
		} else if (*r->p == '+') {
			r->p++;
		} else if (*r->p == '{') {
			char *end;

			times = strtol(r->p + 1, &end, 10);
			if (end == r->p + 1 || times > 64) {
				r->bad = true;
				break;
			}
			end = strchr(end, '}');
			if (end == NULL) {
				r->bad = true;
				break;
			}
			r->p = end + 1;
		}
		if (*r->p == '?' || *r->p == '+')
			r->p++; /* lazy / possessive */
		for (long t = 0; t < times; t++)
			for (size_t i = 0; i < blen; i++)
				rx_put(r, buf[i]);
	}
	while (*r->p == '|' && !r->bad) { /* skip the other branches */
		int level = 0;

		r->p++;
		for (; *r->p; r->p++) {
			if (*r->p == '\\' && r->p[1]) {
				r->p++;
				continue;
			}
			if (*r->p == '(')
				level++;
			else if (*r->p == ')') {
				if (level == 0)
					break;
				level--;
			} else if (*r->p == '|' && level == 0)
				break;
		}
	}
}

/* A string matching pattern (JSON Schema: unanchored search), or NULL. */
static json_t *
pattern_sample(const char *pattern)
{
	rx r = {0};
	char msg[128];
	pcre2_code *re;
	bool ok;

	r.p = pattern;
	rx_alt(&r, 0);
	if (r.bad || *r.p != '\0')
		return NULL;
	r.out[r.n] = '\0';
	re = mc_regex_compile(pattern, msg, sizeof(msg));
	if (re == NULL)
		return NULL;
	ok = mc_regex_match(re, r.out, r.n, NULL);
	pcre2_code_free(re);
	return ok ? json_stringn(r.out, r.n) : NULL;
}

/*
 * The variant-th distinct string for uniqueItems: the last digits (else
 * letters) of the sample count up, kept only when the pattern still matches.
 */
static json_t *
pattern_variant(json_t *v, const char *pattern, long variant)
{
	char buf[300], msg[128];
	size_t n = json_string_length(v);
	pcre2_code *re;
	long k = variant;
	bool ok;

	if (n >= sizeof(buf))
		return v;
	memcpy(buf, json_string_value(v), n + 1);
	for (size_t i = n; i > 0 && k > 0; i--) {
		char c = buf[i - 1];

		if (c >= '0' && c <= '9') {
			buf[i - 1] = (char)('0' + (c - '0' + k) % 10);
			k = (c - '0' + k) / 10;
		} else if (c >= 'a' && c <= 'z') {
			buf[i - 1] = (char)('a' + (c - 'a' + k) % 26);
			k = (c - 'a' + k) / 26;
		}
	}
	re = mc_regex_compile(pattern, msg, sizeof(msg));
	ok = re && k == 0 && mc_regex_match(re, buf, n, NULL);
	if (re)
		pcre2_code_free(re);
	if (!ok)
		return v;
	json_decref(v);
	return json_string(buf);
}

/* ------------------------------------------------------------ samplers */

static const char *
format_sample(const char *f)
{
	static const char *const table[][2] = {
	    {"uuid", "3fa85f64-5717-4562-b3fc-2c963f66afa6"},
	    {"email", "user@example.com"},
	    {"idn-email", "user@example.com"},
	    {"date-time", "2024-01-15T09:30:00Z"},
	    {"date", "2024-01-15"},
	    {"time", "09:30:00Z"},
	    {"duration", "P1D"},
	    {"uri", "https://example.com/resource"},
	    {"url", "https://example.com/resource"},
	    {"iri", "https://example.com/resource"},
	    {"uri-reference", "/resource"},
	    {"uri-template", "https://example.com/{id}"},
	    {"hostname", "example.com"},
	    {"idn-hostname", "example.com"},
	    {"ipv4", "192.0.2.1"},
	    {"ipv6", "2001:db8::1"},
	    {"byte", "c3RyaW5n"},
	    {"password", "pa$$word"},
	    {"json-pointer", "/a/b"},
	    {"regex", "^a+$"},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(f, table[i][0]) == 0)
			return table[i][1];
	return NULL;
}

static bool
type_name_fits(const char *t, const json_t *v)
{
	if (strcmp(t, "string") == 0)
		return json_is_string(v);
	if (strcmp(t, "integer") == 0)
		return json_is_integer(v) ||
		       (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
	if (strcmp(t, "number") == 0)
		return json_is_number(v);
	if (strcmp(t, "boolean") == 0)
		return json_is_boolean(v);
	if (strcmp(t, "object") == 0)
		return json_is_object(v);
	if (strcmp(t, "array") == 0)
		return json_is_array(v);
	if (strcmp(t, "null") == 0)
		return json_is_null(v);
	return true;
}

/*
 * A copy of the document's example v for schema s. An example whose JSON type
 * the schema's "type" excludes is repaired when it is a YAML typing accident
 * (an unquoted 1.10 under type: string becomes the text "1.1"), else dropped
 * (NULL) so the schema is sampled; both with a warning.
 */
static json_t *
checked_example(mc_sx *sx, const json_t *s, const json_t *v, const char *where)
{
	json_t *t = kw(s, "type");
	size_t i;
	json_t *e;
	char buf[64];

	if (json_is_null(v) && (json_is_true(kw(s, "nullable")) || json_is_true(kw(s, "x-nullable"))))
		return json_null();
	if (json_is_string(t)) {
		if (type_name_fits(json_string_value(t), v))
			return json_deep_copy(v);
	} else if (json_is_array(t)) {
		json_array_foreach (t, i, e)
			if (json_is_string(e) && type_name_fits(json_string_value(e), v))
				return json_deep_copy(v);
	} else
		return json_deep_copy(v);
	if (json_is_string(t) && strcmp(json_string_value(t), "string") == 0 &&
	    (json_is_number(v) || json_is_boolean(v))) {
		if (json_is_integer(v))
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		else if (json_is_real(v))
			snprintf(buf, sizeof(buf), "%.15g", json_real_value(v));
		else
			strcpy(buf, json_is_true(v) ? "true" : "false");
		mc_sx_warn(sx, where,
		           "example %s is not a string as the schema says; used as text (quote it in YAML)",
		           buf);
		return json_string(buf);
	}
	mc_sx_warn(sx, where, "example does not have the schema's type; the schema is sampled instead");
	return NULL;
}

static json_t *sample(mc_sx *sx, json_t *schema, int depth, const char *where, long variant);

static json_t *
sample_string(mc_sx *sx, const json_t *s, const char *where, long variant)
{
	const char *fmt = json_string_value(kw(s, "format"));
	const char *pat = json_string_value(kw(s, "pattern"));
	const char *fixed = fmt ? format_sample(fmt) : NULL;
	double minl = 0, maxl = -1;
	char buf[512];
	size_t n;

	has_num(s, "minLength", &minl);
	if (!has_num(s, "maxLength", &maxl))
		maxl = -1;
	if (pat) {
		json_t *v = pattern_sample(pat);

		if (v && variant > 0)
			v = pattern_variant(v, pat, variant);
		if (v && json_string_length(v) >= minl && (maxl < 0 || json_string_length(v) <= maxl))
			return v;
		json_decref(v);
		mc_sx_warn(sx, where,
		           "could not build a string matching pattern '%.100s'; the sample may not match",
		           pat);
	}
	if (fixed) {
		if (variant == 0 || strcmp(fmt, "uuid") != 0)
			return json_string(fixed);
		snprintf(buf, sizeof(buf), "3fa85f64-5717-4562-b3fc-%012lx", (unsigned long)variant);
		return json_string(buf);
	}
	if (fmt && strcmp(fmt, "binary") != 0 && strcmp(fmt, "int64") != 0 && strcmp(fmt, "int32") != 0)
		mc_sx_warn(sx, where, "format '%.60s' has no sample; a plain string is used", fmt);
	if (variant)
		snprintf(buf, sizeof(buf), "string%ld", variant);
	else
		strcpy(buf, "string");
	n = strlen(buf);
	if (minl > 400)
		minl = 400;
	while (n < (size_t)minl && n + 1 < sizeof(buf))
		buf[n++] = 'x';
	buf[n] = '\0';
	if (maxl >= 0 && n > (size_t)maxl) {
		/* keep the variant digits distinct: take the tail */
		return json_string(buf + (n - (size_t)maxl));
	}
	return json_string(buf);
}

/* An integer inside the bounds, in exact 64-bit arithmetic (int64 edge bounds stay exact). */
static json_t *
sample_integer(const json_t *s, long variant)
{
	long long lo = LLONG_MIN, hi = LLONG_MAX, m = 0, v;
	json_t *x;

	if ((x = kw(s, "minimum")) != NULL && json_is_number(x))
		lo = json_is_integer(x) ? json_integer_value(x) : (long long)ceil(json_number_value(x));
	if ((x = kw(s, "maximum")) != NULL && json_is_number(x))
		hi = json_is_integer(x) ? json_integer_value(x) : (long long)floor(json_number_value(x));
	x = kw(s, "exclusiveMinimum");
	if (json_is_true(x) && lo < LLONG_MAX)
		lo++;
	else if (json_is_number(x)) {
		long long e =
		    json_is_integer(x) ? json_integer_value(x) : (long long)floor(json_number_value(x));

		if (e < LLONG_MAX && e + 1 > lo)
			lo = e + 1;
	}
	x = kw(s, "exclusiveMaximum");
	if (json_is_true(x) && hi > LLONG_MIN)
		hi--;
	else if (json_is_number(x)) {
		long long e =
		    json_is_integer(x) ? json_integer_value(x) : (long long)ceil(json_number_value(x));

		if (e > LLONG_MIN && e - 1 < hi)
			hi = e - 1;
	}
	if ((x = kw(s, "multipleOf")) != NULL && json_is_number(x) && json_number_value(x) >= 1)
		m = (long long)json_number_value(x);
	v = 0;
	if (v < lo)
		v = lo;
	if (variant > 0 && v <= hi - variant)
		v += variant * (m > 0 ? m : 1);
	if (v > hi)
		v = hi;
	if (m > 1) {
		long long r = v % m;

		if (r != 0) {
			long long up = v + (r > 0 ? m - r : -r);

			v = up <= hi ? up : v - (r > 0 ? r : m + r);
		}
	}
	return json_integer(v);
}

static json_t *
sample_number(const json_t *s, bool integer, long variant)
{
	double lo = -INFINITY, hi = INFINITY, v, m = 0, x;
	json_t *emin = kw(s, "exclusiveMinimum"), *emax = kw(s, "exclusiveMaximum");
	bool elo = false, ehi = false;

	has_num(s, "minimum", &lo);
	has_num(s, "maximum", &hi);
	if (json_is_true(emin))
		elo = true;
	else if (json_is_number(emin) && json_number_value(emin) >= lo) {
		lo = json_number_value(emin);
		elo = true;
	}
	if (json_is_true(emax))
		ehi = true;
	else if (json_is_number(emax) && json_number_value(emax) <= hi) {
		hi = json_number_value(emax);
		ehi = true;
	}
	has_num(s, "multipleOf", &m);
	if (integer && !(m > 0 && m != floor(m)))
		return sample_integer(s, variant);
	if (integer) {
		lo = elo ? floor(lo) + 1 : ceil(lo);
		hi = ehi ? ceil(hi) - 1 : floor(hi);
	}
	v = (double)variant;
	if (v < lo || (elo && v <= lo) || !integer)
		v = lo > -INFINITY
		        ? (elo && !integer ? lo + (isfinite(hi) ? (hi - lo) / 2 : 1) : lo) + (double)variant
		        : v;
	if (!integer && lo == -INFINITY)
		v = (double)variant;
	if (v > hi || (ehi && v >= hi))
		v = isfinite(lo) ? (lo + hi) / 2 : (ehi && !integer ? hi - 1 : hi);
	if (m > 0) {
		x = ceil((isfinite(lo) ? lo : v) / m) * m;
		if (elo && x <= lo)
			x += m;
		v = x + m * (double)variant;
	}
	if (integer || (v == floor(v) && fabs(v) < 9e15))
		return json_integer((json_int_t)(integer ? floor(v) : v));
	return json_real(v);
}

/* Merges allOf members (resolved) into one new schema: properties, required, the rest first-wins. */
static json_t *
merge_allof(mc_sx *sx, json_t *schema, int depth, const char *where)
{
	json_t *out = json_object(), *props = json_object(), *req = json_array();
	json_t *stack[64];
	size_t sp = 0;
	const char *k;
	json_t *v;

	stack[sp++] = schema;
	for (size_t guard = 0; sp > 0 && guard < 256; guard++) {
		json_t *s = stack[--sp], *all;
		size_t i;
		json_t *e;

		if (!json_is_object(s))
			continue;
		json_object_foreach (s, k, v) {
			if (strcmp(k, "allOf") == 0 || strcmp(k, "$ref") == 0)
				continue;
			if (strcmp(k, "properties") == 0 && json_is_object(v)) {
				const char *pk;
				json_t *pv;

				json_object_foreach (v, pk, pv)
					if (!json_object_get(props, pk))
						json_object_set(props, pk, pv);
			} else if (strcmp(k, "required") == 0 && json_is_array(v)) {
				json_array_foreach (v, i, e)
					json_array_append(req, e);
			} else if (!json_object_get(out, k))
				json_object_set(out, k, v);
		}
		all = json_object_get(s, "allOf");
		json_array_foreach (all, i, e) {
			const char *ref;
			json_t *r;

			if (sp >= 64)
				break;
			/* push in reverse so the first member is read first */
			r = mc_sx_deref(sx, json_array_get(all, json_array_size(all) - 1 - i), &ref, where);
			if (r && ref && depth > MC_SCHEMA_MAX_DEPTH)
				continue;
			if (r)
				stack[sp++] = r;
		}
	}
	if (json_object_size(props))
		json_object_set(out, "properties", props);
	if (json_array_size(req))
		json_object_set(out, "required", req);
	json_decref(props);
	json_decref(req);
	return out;
}

static bool
in_required(const json_t *s, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach (kw(s, "required"), i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), name) == 0)
			return true;
	return false;
}

static json_t *
sample_object(mc_sx *sx, json_t *s, int depth, const char *where)
{
	json_t *out = json_object(), *props = kw(s, "properties");
	const char *k;
	json_t *ps;
	double minp = 0;

	json_object_foreach (props, k, ps) {
		json_t *r = mc_sx_deref(sx, ps, NULL, where), *v;

		if (r == NULL)
			continue;
		if (json_is_true(kw(r, "writeOnly")) && sx->response)
			continue;
		if (json_is_true(kw(r, "readOnly")) && !sx->response)
			continue;
		v = sample(sx, ps, depth + 1, where, 0);
		if (v == CUT) {
			if (in_required(s, k))
				mc_sx_warn(sx, where, "required property '%.60s' is recursive; cut at depth",
				           k);
			continue;
		}
		if (v)
			json_object_set_new(out, k, v);
	}
	has_num(s, "minProperties", &minp);
	if (json_object_size(out) < minp && json_is_object(kw(s, "additionalProperties"))) {
		for (int i = 0; json_object_size(out) < minp && i < 16; i++) {
			char key[16];
			json_t *v = sample(sx, kw(s, "additionalProperties"), depth + 1, where, i);

			snprintf(key, sizeof(key), "key%d", i + 1);
			if (v == CUT || v == NULL)
				break;
			json_object_set_new(out, key, v);
		}
	}
	return out;
}

static json_t *
sample_array(mc_sx *sx, json_t *s, int depth, const char *where)
{
	json_t *out = json_array(), *items = kw(s, "items"), *prefix = kw(s, "prefixItems");
	double minI = 0, maxI = -1;
	size_t n;
	bool unique = json_is_true(kw(s, "uniqueItems"));
	size_t i;
	json_t *e;

	has_num(s, "minItems", &minI);
	if (!has_num(s, "maxItems", &maxI))
		maxI = -1;
	n = minI > 0 ? (size_t)fmin(minI, 1e9) : 1;
	if (maxI >= 0 && (double)n > maxI)
		n = (size_t)maxI;
	if (n > MC_SCHEMA_MAX_ITEMS) {
		mc_sx_warn(sx, where, "minItems %.0f capped at %d generated items", minI,
		           MC_SCHEMA_MAX_ITEMS);
		n = MC_SCHEMA_MAX_ITEMS;
	}
	json_array_foreach (prefix, i, e) {
		json_t *v;

		if (i >= MC_SCHEMA_MAX_ITEMS || (maxI >= 0 && (double)i >= maxI))
			break;
		v = sample(sx, e, depth + 1, where, 0);
		if (v == CUT || v == NULL)
			return out;
		json_array_append_new(out, v);
	}
	if (kw(s, "contains") && json_array_size(out) < n && (items == NULL || json_is_boolean(items))) {
		json_t *v = sample(sx, kw(s, "contains"), depth + 1, where, 0);

		if (v != CUT && v != NULL)
			json_array_append_new(out, v);
	}
	if (items == NULL || json_is_boolean(items)) {
		if (json_is_false(items) || json_array_size(out) >= n)
			return out;
		while (json_array_size(out) < n)
			json_array_append_new(out, json_integer((json_int_t)json_array_size(out)));
		return out;
	}
	for (long k = (long)json_array_size(out); (size_t)k < n; k++) {
		json_t *v = sample(sx, items, depth + 1, where, unique ? k : 0);

		if (v == CUT || v == NULL)
			break;
		json_array_append_new(out, v);
	}
	return out;
}

/*
 * The sample for schema (borrowed; may be a $ref). Returns a new value, CUT
 * when a cycle or the depth bound stops it, or NULL when unresolvable.
 */
static json_t *
sample(mc_sx *sx, json_t *schema, int depth, const char *where, long variant)
{
	const char *ref = NULL, *type;
	json_t *s, *v, *merged = NULL, *out = NULL;
	bool only_null, pushed = false;

	if (++sx->ticks > MC_SCHEMA_MAX_TICKS) {
		if (sx->ticks == MC_SCHEMA_MAX_TICKS + 1)
			mc_sx_warn(sx, where, "schema too large to sample fully; parts were cut");
		return CUT;
	}
	if (depth > MC_SCHEMA_MAX_DEPTH)
		return CUT;
	if (json_is_true(schema) || (json_is_object(schema) && json_object_size(schema) == 0))
		return json_object();
	s = mc_sx_deref(sx, schema, &ref, where);
	if (s == NULL)
		return NULL;
	if (ref) {
		for (size_t i = 0; i < sx->nrefs; i++)
			if (strcmp(sx->refs[i], ref) == 0)
				return CUT;
		if (sx->nrefs < MC_SCHEMA_MAX_DEPTH * 2) {
			sx->refs[sx->nrefs++] = ref;
			pushed = true;
		}
	}
	if (!json_is_object(s)) {
		out = json_is_false(s) ? NULL : json_object();
		goto done;
	}
	/* examples first */
	if ((v = kw(s, "const")) != NULL) {
		out = json_deep_copy(v);
		goto done;
	}
	if (json_is_array(kw(s, "examples")) && json_array_size(kw(s, "examples")) > 0 &&
	    (out = checked_example(sx, s, json_array_get(kw(s, "examples"), 0), where)) != NULL)
		goto done;
	if ((v = kw(s, "example")) != NULL && !json_is_null(v) &&
	    (out = checked_example(sx, s, v, where)) != NULL)
		goto done;
	if (json_is_array(kw(s, "enum")) && json_array_size(kw(s, "enum")) > 0) {
		size_t i;
		json_t *e = NULL, *x;

		json_array_foreach (kw(s, "enum"), i, x)
			if (!json_is_null(x)) {
				e = x;
				break;
			}
		if (e == NULL)
			e = json_array_get(kw(s, "enum"), 0);
		if (variant > 0 && (size_t)variant < json_array_size(kw(s, "enum")))
			e = json_array_get(kw(s, "enum"), (size_t)variant);
		out = json_deep_copy(e);
		goto done;
	}
	if ((v = kw(s, "default")) != NULL && variant == 0 &&
	    (out = checked_example(sx, s, v, where)) != NULL)
		goto done;
	if (json_is_array(kw(s, "allOf"))) {
		merged = merge_allof(sx, s, depth, where);
		s = merged;
	}
	if (json_is_array(kw(s, "oneOf")) || json_is_array(kw(s, "anyOf"))) {
		json_t *branches = json_is_array(kw(s, "oneOf")) ? kw(s, "oneOf") : kw(s, "anyOf");
		json_t *disc = kw(s, "discriminator"), *branch = json_array_get(branches, 0), *bv, *base;
		const char *prop = json_string_value(kw(disc, "propertyName")), *dval = NULL;
		json_t *copy;

		if (json_is_object(kw(disc, "mapping")) && json_object_size(kw(disc, "mapping")) > 0) {
			void *it = json_object_iter(kw(disc, "mapping"));
			const char *target = json_string_value(json_object_iter_value(it));
			size_t i;
			json_t *e;

			dval = json_object_iter_key(it);
			json_array_foreach (branches, i, e) {
				const char *r = json_string_value(kw(e, "$ref"));

				if (r && target && strcmp(r, target) == 0)
					branch = e;
			}
		} else if (prop && json_is_string(kw(branch, "$ref"))) {
			const char *r = json_string_value(kw(branch, "$ref")), *slash = strrchr(r, '/');

			dval = slash ? slash + 1 : r;
		}
		bv = sample(sx, branch, depth + 1, where, variant);
		if (bv == CUT || bv == NULL) {
			out = bv;
			goto done;
		}
		copy = json_deep_copy(s);
		json_object_del(copy, "oneOf");
		json_object_del(copy, "anyOf");
		json_object_del(copy, "discriminator");
		if (json_is_object(bv) && (kw(copy, "properties") || kw(copy, "required"))) {
			base = sample_object(sx, copy, depth, where);
			json_object_update_missing(bv, base);
			json_decref(base);
		}
		json_decref(copy);
		if (prop && dval && json_is_object(bv))
			json_object_set_new(bv, prop, json_string(dval));
		out = bv;
		goto done;
	}
	type = type_of(s, &only_null);
	if (type == NULL) {
		out = json_object();
		if (kw(s, "not"))
			mc_sx_warn(sx, where, "'not' is not honoured by the sampler");
	} else if (strcmp(type, "null") == 0)
		out = only_null ? json_null() : json_object();
	else if (strcmp(type, "string") == 0)
		out = sample_string(sx, s, where, variant);
	else if (strcmp(type, "integer") == 0)
		out = sample_number(s, true, variant);
	else if (strcmp(type, "number") == 0)
		out = sample_number(s, false, variant);
	else if (strcmp(type, "boolean") == 0)
		out = (variant & 1) ? json_false() : json_true();
	else if (strcmp(type, "array") == 0)
		out = sample_array(sx, s, depth, where);
	else if (strcmp(type, "object") == 0)
		out = sample_object(sx, s, depth, where);
	else if (strcmp(type, "file") == 0)
		out = json_string("file");
	else {
		mc_sx_warn(sx, where, "unknown type '%.40s'", type);
		out = json_object();
	}
done:
	json_decref(merged);
	if (pushed)
		sx->nrefs--;
	return out;
}

json_t *
mc_sx_sample(mc_sx *sx, json_t *schema, const char *where)
{
	json_t *v;

	sx->nrefs = 0;
	sx->ticks = 0;
	v = sample(sx, schema, 0, where, 0);
	if (v == CUT) {
		mc_sx_warn(sx, where, "schema is recursive at its top; an empty object is used");
		return json_object();
	}
	return v;
}

json_t *
mc_sx_flatten(mc_sx *sx, json_t *schema, const char *where)
{
	json_t *s = mc_sx_deref(sx, schema, NULL, where);

	if (!json_is_object(s))
		return NULL;
	if (!json_is_array(json_object_get(s, "allOf")))
		return json_incref(s);
	return merge_allof(sx, s, 0, where);
}
