/*
 * assert.c - evaluation of the plan's checks against one response: the translated
 * pm.test steps, declarative assertions and captures.
 *
 * Constraint: outcomes must equal newman's, so the semantics are chai's, not
 * "reasonable" ones: eql is deep equality (key order ignored, numbers by value),
 * equal is strict (two objects are never equal), include is substring on strings,
 * strict membership on arrays and a property subset on objects; reading a property
 * of undefined or null throws, which fails the test even under .not; and a
 * pm.test passes iff none of its expectations throws. JavaScript's undefined is
 * modelled as a NULL json_t.
 */
#include "tester_int.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { R_FALSE = 0, R_TRUE = 1, R_ERROR = -1 } res;

/* ------------------------------------------------------------------ values */

static bool
num_of(const json_t *v, double *d)
{
	if (json_is_integer(v))
		*d = (double)json_integer_value(v);
	else if (json_is_real(v))
		*d = json_real_value(v);
	else
		return false;
	return true;
}

int
mt_json_deep_equal(const json_t *a, const json_t *b)
{
	double x, y;

	if (a == NULL || b == NULL)
		return a == b;
	if (num_of(a, &x) && num_of(b, &y)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return x == y;
	}
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!mt_json_deep_equal(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	case JSON_OBJECT: {
		const char *k;
		json_t *v;

		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, k, v) {
			const json_t *w = json_object_get(b, k);

			if (w == NULL || !mt_json_deep_equal(v, w))
				return 0;
		}
		return 1;
	}
	default:
		return 1; /* true, false, null */
	}
}

/* JavaScript ===: primitives by value, objects and arrays never (distinct references). */
static bool
strict_equal(const json_t *a, const json_t *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (json_is_object(a) || json_is_array(a) || json_is_object(b) || json_is_array(b))
		return false;
	return mt_json_deep_equal(a, b);
}

static const char *
type_name(const json_t *v)
{
	if (v == NULL)
		return "undefined";
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

static bool
truthy(const json_t *v)
{
	double d;

	if (v == NULL || json_is_null(v) || json_is_false(v))
		return false;
	if (num_of(v, &d))
		return d != 0 && !isnan(d);
	if (json_is_string(v))
		return json_string_length(v) > 0;
	return true;
}

/* Length of a UTF-8 string in UTF-16 code units (JavaScript's .length). */
static size_t
js_length(const char *s, size_t n)
{
	size_t units = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c & 0xC0) != 0x80)
			units += c >= 0xF0 ? 2 : 1;
	}
	return units;
}

/* Short display of a value for failure messages (JSON, cut at 120 bytes). */
static void
show(mt_buf *b, const json_t *v)
{
	char *s;

	if (v == NULL) {
		mt_buf_puts(b, "undefined");
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s == NULL)
		return;
	if (strlen(s) > 120)
		strcpy(s + 117, "...");
	mt_buf_puts(b, s);
	free(s);
}

const char *
mt_header_get(const json_t *headers, const char *name)
{
	size_t i;
	json_t *h;

	json_array_foreach(headers, i, h) {
		if (strcasecmp(json_string_value(json_array_get(h, 0)), name) == 0)
			return json_string_value(json_array_get(h, 1));
	}
	return NULL;
}

/* Follows path from v (a new reference or NULL = undefined); *out gets the result
 * (new reference or NULL). False + msg when JavaScript would throw. */
static bool
walk(json_t *v, const json_t *path, json_t **out, char *msg, size_t msgcap)
{
	size_t i;
	json_t *seg;

	json_array_foreach(path, i, seg) {
		json_t *next = NULL;
		char key[64];

		if (json_is_integer(seg))
			snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(seg));
		else
			snprintf(key, sizeof(key), "%s", json_string_value(seg));
		if (v == NULL || json_is_null(v)) {
			snprintf(msg, msgcap, "TypeError: Cannot read properties of %s (reading '%s')",
			         v == NULL ? "undefined" : "null", key);
			json_decref(v);
			return false;
		}
		if (json_is_object(v)) {
			next = json_incref(json_object_get(v, json_is_string(seg) ? json_string_value(seg) : key));
		} else if (json_is_array(v)) {
			char *end;
			long long idx = json_is_integer(seg) ? json_integer_value(seg) : strtoll(key, &end, 10);

			if (json_is_string(seg) && strcmp(key, "length") == 0)
				next = json_integer((json_int_t)json_array_size(v));
			else if ((json_is_integer(seg) || (*key && *end == '\0')) && idx >= 0)
				next = json_incref(json_array_get(v, (size_t)idx));
		} else if (json_is_string(v)) {
			if (json_is_string(seg) && strcmp(key, "length") == 0)
				next = json_integer(
					(json_int_t)js_length(json_string_value(v), json_string_length(v)));
			else if (json_is_integer(seg) && json_integer_value(seg) >= 0 &&
			         (size_t)json_integer_value(seg) < json_string_length(v) &&
			         js_length(json_string_value(v), json_string_length(v)) == json_string_length(v))
				next = json_stringn(json_string_value(v) + json_integer_value(seg), 1);
		}
		json_decref(v);
		v = next;
	}
	*out = v;
	return true;
}

static json_t *
response_json(mt_response *r, char *msg, size_t msgcap)
{
	if (!r->json_tried) {
		json_error_t je;
		size_t n = r->body_len;
		const char *b = r->body ? r->body : "";

		r->json_tried = true;
		if (n >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0) { /* Postman strips a BOM */
			b += 3;
			n -= 3;
		}
		r->json = json_loadb(b, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
		if (r->json == NULL)
			r->json = json_loadb(b, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &je);
		if (r->json == NULL)
			snprintf(msg, msgcap, "JSONError: response body is not JSON (%s)", je.text);
	}
	if (r->json == NULL && msg[0] == '\0')
		snprintf(msg, msgcap, "JSONError: response body is not JSON");
	return r->json;
}

/* Evaluates a subject expression. *out: new reference or NULL (undefined). False
 * + msg when evaluation throws. */
static bool
eval_expr(mt_eval *ev, const json_t *e, json_t **out, char *msg, size_t msgcap)
{
	const char *k = json_string_value(json_object_get(e, "k"));
	mt_response *r = ev->resp;

	*out = NULL;
	if (k == NULL)
		k = "";
	if (strcmp(k, "lit") == 0) {
		*out = json_incref(json_object_get(e, "v"));
	} else if (strcmp(k, "status") == 0) {
		*out = json_integer(r->status);
	} else if (strcmp(k, "time") == 0) {
		*out = json_integer((json_int_t)llround(r->time_ms));
	} else if (strcmp(k, "text") == 0) {
		*out = json_stringn_nocheck(r->body ? r->body : "", r->body_len);
	} else if (strcmp(k, "header") == 0) {
		const char *v = mt_header_get(r->headers, json_string_value(json_object_get(e, "name")));

		*out = v ? json_string(v) : NULL;
	} else if (strcmp(k, "getvar") == 0) {
		*out = json_incref(json_object_get(ev->vars, json_string_value(json_object_get(e, "name"))));
	} else if (strcmp(k, "json") == 0) {
		json_t *j;

		msg[0] = '\0';
		if ((j = response_json(r, msg, msgcap)) == NULL)
			return false;
		return walk(json_incref(j), json_object_get(e, "path"), out, msg, msgcap);
	} else if (strcmp(k, "local") == 0) {
		const json_t *box = json_object_get(ev->locals, json_string_value(json_object_get(e, "name")));

		return walk(json_incref(json_array_get(box, 0)), json_object_get(e, "path"), out, msg, msgcap);
	} else {
		snprintf(msg, msgcap, "plan: unknown expression kind '%s'", k);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ checks */

/* JavaScript RegExp.test with the given flags (g, u ignored for a single test). */
static res
regex_test(const char *pattern, const char *flags, const char *subject, size_t n, char *msg, size_t msgcap)
{
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	pcre2_code *re;
	pcre2_match_data *md;
	int errcode, rc;
	PCRE2_SIZE erroff;

	for (const char *f = flags ? flags : ""; *f; f++) {
		if (*f == 'i')
			opts |= PCRE2_CASELESS;
		else if (*f == 'm')
			opts |= PCRE2_MULTILINE;
		else if (*f == 's')
			opts |= PCRE2_DOTALL;
	}
	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &errcode, &erroff, NULL);
	if (re == NULL) {
		PCRE2_UCHAR eb[128];

		pcre2_get_error_message(errcode, eb, sizeof(eb));
		snprintf(msg, msgcap, "invalid regular expression /%s/ at %zu: %s", pattern, (size_t)erroff, eb);
		return R_ERROR;
	}
	md = pcre2_match_data_create_from_pattern(re, NULL);
	rc = md ? pcre2_match(re, (PCRE2_SPTR)subject, n, 0, 0, md, NULL) : PCRE2_ERROR_NOMEMORY;
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
		snprintf(msg, msgcap, "regular expression /%s/ failed (%d)", pattern, rc);
		return R_ERROR;
	}
	return rc >= 0 ? R_TRUE : R_FALSE;
}

/* chai's .include for subject v and argument a. */
static res
include_check(const json_t *v, const json_t *a, bool deep, char *msg, size_t msgcap)
{
	if (json_is_string(v)) {
		mt_buf nb = {0};
		char *needle;
		res r;

		if (json_is_object(a) || json_is_array(a)) {
			snprintf(msg, msgcap, "include: a string can only include a string");
			return R_ERROR;
		}
		mt_js_string(&nb, a);
		needle = mt_buf_take(&nb);
		if (needle == NULL)
			return R_ERROR;
		r = memmem(json_string_value(v), json_string_length(v), needle, strlen(needle)) != NULL ||
		            needle[0] == '\0'
		        ? R_TRUE
		        : R_FALSE;
		free(needle);
		return r;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *el;

		json_array_foreach(v, i, el) {
			if (deep ? mt_json_deep_equal(el, a) : strict_equal(el, a))
				return R_TRUE;
		}
		return R_FALSE;
	}
	if (json_is_object(v)) {
		const char *k;
		json_t *w;

		if (!json_is_object(a)) {
			snprintf(msg, msgcap, "include: an object can only include an object of properties");
			return R_ERROR;
		}
		json_object_foreach((json_t *)a, k, w) {
			const json_t *have = json_object_get(v, k);

			if (have == NULL || !(deep ? mt_json_deep_equal(have, w) : strict_equal(have, w)))
				return R_FALSE;
		}
		return R_TRUE;
	}
	snprintf(msg, msgcap, "include: the object tested must be an array, an object or a string, but %s given",
	         type_name(v));
	return R_ERROR;
}

static res
has_property(const json_t *v, const char *name, char *msg, size_t msgcap)
{
	char *end;
	long long idx = strtoll(name, &end, 10);
	bool isidx = *name && *end == '\0' && idx >= 0;

	if (v == NULL || json_is_null(v)) {
		snprintf(msg, msgcap, "Target cannot be null or undefined");
		return R_ERROR;
	}
	if (json_is_object(v))
		return json_object_get(v, name) ? R_TRUE : R_FALSE;
	if (json_is_array(v))
		return strcmp(name, "length") == 0 || (isidx && (size_t)idx < json_array_size(v)) ? R_TRUE : R_FALSE;
	if (json_is_string(v))
		return strcmp(name, "length") == 0 ||
		               (isidx && (size_t)idx < js_length(json_string_value(v), json_string_length(v)))
		           ? R_TRUE
		           : R_FALSE;
	return R_FALSE;
}

/* Evaluates one expect step. True when it holds; false + msg otherwise. */
static bool
run_expect(mt_eval *ev, const json_t *st, char *msg, size_t msgcap)
{
	const char *check = json_string_value(json_object_get(st, "check"));
	const json_t *args = json_object_get(st, "args");
	const json_t *a0 = json_array_get(args, 0);
	bool neg = json_is_true(json_object_get(st, "not")), deep = json_is_true(json_object_get(st, "deep"));
	const json_t *subj = json_object_get(st, "subject");
	json_t *v = NULL;
	res r = R_FALSE;
	mt_buf m = {0};
	const char *verb = check;
	double d, x;

	msg[0] = '\0';
	if (check == NULL)
		check = "";
	if (strcmp(json_string_value(json_object_get(subj, "k")), "response") != 0 &&
	    !eval_expr(ev, subj, &v, msg, msgcap))
		return false;
	if (strcmp(check, "statusRange") == 0) {
		long lo = (long)json_integer_value(json_array_get(args, 0)), hi = (long)json_integer_value(json_array_get(args, 1));

		r = ev->resp->status >= lo && ev->resp->status <= hi ? R_TRUE : R_FALSE;
		v = json_integer(ev->resp->status);
		verb = lo == hi ? "have status" : "have status in range";
	} else if (strcmp(check, "status") == 0) {
		r = ev->resp->status == json_integer_value(a0) ? R_TRUE : R_FALSE;
		v = json_integer(ev->resp->status);
		verb = "have status";
	} else if (strcmp(check, "header") == 0) {
		const char *hv = mt_header_get(ev->resp->headers, json_string_value(a0));

		r = hv != NULL && (json_array_size(args) < 2 || strcmp(hv, json_string_value(json_array_get(args, 1))) == 0)
		        ? R_TRUE
		        : R_FALSE;
		v = hv ? json_string(hv) : NULL;
		verb = "have header";
	} else if (strcmp(check, "eql") == 0) {
		r = v != NULL && mt_json_deep_equal(v, a0) ? R_TRUE : R_FALSE;
		verb = "deeply equal";
	} else if (strcmp(check, "equal") == 0) {
		r = strict_equal(v, a0) ? R_TRUE : R_FALSE;
	} else if (strcmp(check, "exist") == 0) {
		r = v != NULL && !json_is_null(v) ? R_TRUE : R_FALSE;
	} else if (strcmp(check, "undefined") == 0) {
		r = v == NULL ? R_TRUE : R_FALSE;
	} else if (strcmp(check, "null") == 0) {
		r = v != NULL && json_is_null(v) ? R_TRUE : R_FALSE;
	} else if (strcmp(check, "true") == 0) {
		r = v != NULL && json_is_true(v) ? R_TRUE : R_FALSE;
	} else if (strcmp(check, "false") == 0) {
		r = v != NULL && json_is_false(v) ? R_TRUE : R_FALSE;
	} else if (strcmp(check, "ok") == 0) {
		r = truthy(v) ? R_TRUE : R_FALSE;
	} else if (strcmp(check, "NaN") == 0) {
		r = R_FALSE;
	} else if (strcmp(check, "empty") == 0) {
		if (json_is_string(v))
			r = json_string_length(v) == 0 ? R_TRUE : R_FALSE;
		else if (json_is_array(v))
			r = json_array_size(v) == 0 ? R_TRUE : R_FALSE;
		else if (json_is_object(v))
			r = json_object_size(v) == 0 ? R_TRUE : R_FALSE;
		else {
			snprintf(msg, msgcap, ".empty was passed non-string primitive %s", type_name(v));
			r = R_ERROR;
		}
	} else if (strcmp(check, "property") == 0) {
		r = has_property(v, json_string_value(a0), msg, msgcap);
		if (r == R_TRUE && json_array_size(args) == 2) {
			json_t *pv = NULL;
			json_t *path = json_pack("[s]", json_string_value(a0));
			char tmp[200];

			walk(json_incref(v), path, &pv, tmp, sizeof(tmp));
			json_decref(path);
			r = (deep ? mt_json_deep_equal(pv, json_array_get(args, 1)) : strict_equal(pv, json_array_get(args, 1)))
			        ? R_TRUE
			        : R_FALSE;
			json_decref(pv);
		}
		verb = "have property";
	} else if (strcmp(check, "type") == 0) {
		char want[32];
		size_t k;

		snprintf(want, sizeof(want), "%s", json_string_value(a0));
		for (k = 0; want[k]; k++)
			want[k] = (char)tolower((unsigned char)want[k]);
		r = strcmp(type_name(v), want) == 0 ? R_TRUE : R_FALSE;
		verb = "be a";
	} else if (strcmp(check, "include") == 0) {
		r = include_check(v, a0, deep, msg, msgcap);
	} else if (strcmp(check, "match") == 0) {
		mt_buf sb = {0};
		char *s;

		if (v == NULL)
			mt_buf_puts(&sb, "undefined");
		else
			mt_js_string(&sb, v);
		s = mt_buf_take(&sb);
		r = s ? regex_test(json_string_value(json_object_get(a0, "regex")),
		                   json_string_value(json_object_get(a0, "flags")), s, strlen(s), msg, msgcap)
		      : R_ERROR;
		free(s);
	} else if (strcmp(check, "above") == 0 || strcmp(check, "below") == 0 || strcmp(check, "least") == 0 ||
	           strcmp(check, "most") == 0) {
		if (!num_of(v, &d)) {
			snprintf(msg, msgcap, "expected %s to be a number or a date", type_name(v));
			r = R_ERROR;
		} else {
			num_of(a0, &x);
			r = (check[0] == 'a' ? d > x : check[0] == 'b' ? d < x : check[0] == 'l' ? d >= x : d <= x) ? R_TRUE
			                                                                                              : R_FALSE;
		}
	} else if (strcmp(check, "lengthOf") == 0) {
		size_t len;

		if (json_is_string(v))
			len = js_length(json_string_value(v), json_string_length(v));
		else if (json_is_array(v))
			len = json_array_size(v);
		else {
			snprintf(msg, msgcap, "expected %s to have a length", type_name(v));
			json_decref(v);
			return false;
		}
		num_of(a0, &x);
		r = (double)len == x ? R_TRUE : R_FALSE;
	} else if (strcmp(check, "oneOf") == 0) {
		size_t i;
		json_t *el;

		json_array_foreach(a0, i, el) {
			if (deep ? mt_json_deep_equal(v, el) : strict_equal(v, el)) {
				r = R_TRUE;
				break;
			}
		}
	} else {
		snprintf(msg, msgcap, "plan: unknown check '%s'", check);
		r = R_ERROR;
	}
	if (r == R_ERROR) {
		json_decref(v);
		return false;
	}
	if ((r == R_TRUE) != neg) {
		json_decref(v);
		return true;
	}
	mt_buf_puts(&m, "AssertionError: expected ");
	show(&m, v);
	mt_buf_printf(&m, " %s%s", neg ? "not to " : "to ", verb);
	if (a0 != NULL && strcmp(check, "statusRange") != 0) {
		mt_buf_puts(&m, " ");
		show(&m, a0);
	} else if (strcmp(check, "statusRange") == 0) {
		mt_buf_printf(&m, " %lld..%lld", (long long)json_integer_value(json_array_get(args, 0)),
		              (long long)json_integer_value(json_array_get(args, 1)));
	}
	{
		char *s = mt_buf_take(&m);

		snprintf(msg, msgcap, "%s", s ? s : "assertion failed");
		free(s);
	}
	json_decref(v);
	return false;
}

/* Stores value under name in the run's variables (undefined removes it). */
static void
set_var(mt_eval *ev, const char *name, json_t *value)
{
	if (value == NULL)
		json_object_del(ev->vars, name);
	else
		json_object_set_new(ev->vars, name, value);
}

/* Runs steps; inside a test (assertions == NULL) stops at the first failure. */
static bool
run_steps(mt_eval *ev, const json_t *steps, json_t *assertions, char *msg, size_t msgcap)
{
	size_t i;
	json_t *st;

	json_array_foreach(steps, i, st) {
		const char *op = json_string_value(json_object_get(st, "op"));

		if (op == NULL)
			continue;
		if (strcmp(op, "skip") == 0) {
			char name[300];

			if (assertions == NULL)
				continue;
			snprintf(name, sizeof(name), "[%s line %lld] %s", json_string_value(json_object_get(st, "script")),
			         (long long)json_integer_value(json_object_get(st, "line")),
			         json_string_value(json_object_get(st, "text")));
			json_array_append_new(assertions,
			                      json_pack("{s:s, s:b, s:b, s:O}", "name", name, "passed", 0, "skipped", 1, "message",
			                                json_object_get(st, "reason")));
		} else if (strcmp(op, "test") == 0) {
			const json_t *sk = json_object_get(st, "skipped");
			json_t *saved;
			char tmsg[512] = "";
			bool ok;

			if (assertions == NULL) {
				snprintf(msg, msgcap, "nested pm.test");
				return false;
			}
			if (sk != NULL) {
				json_array_append_new(assertions,
				                      json_pack("{s:O, s:b, s:b, s:O}", "name", json_object_get(st, "name"), "passed",
				                                0, "skipped", 1, "message", json_object_get(sk, "reason")));
				continue;
			}
			saved = json_copy(ev->locals); /* names bound inside the test function are local to it */
			ok = run_steps(ev, json_object_get(st, "steps"), NULL, tmsg, sizeof(tmsg));
			json_decref(ev->locals);
			ev->locals = saved;
			if (ok)
				json_array_append_new(assertions, json_pack("{s:O, s:b, s:b}", "name", json_object_get(st, "name"),
				                                            "passed", 1, "skipped", 0));
			else
				json_array_append_new(assertions,
				                      json_pack("{s:O, s:b, s:b, s:s}", "name", json_object_get(st, "name"), "passed",
				                                0, "skipped", 0, "message", tmsg));
		} else if (strcmp(op, "bind") == 0) {
			json_t *v = NULL;

			if (!eval_expr(ev, json_object_get(st, "value"), &v, msg, msgcap))
				return false;
			json_object_set_new(ev->locals, json_string_value(json_object_get(st, "name")),
			                    v ? json_pack("[o]", v) : json_array());
		} else if (strcmp(op, "set") == 0) {
			json_t *v = NULL;

			if (!eval_expr(ev, json_object_get(st, "value"), &v, msg, msgcap))
				return false;
			set_var(ev, json_string_value(json_object_get(st, "var")), v);
		} else if (strcmp(op, "unset") == 0) {
			set_var(ev, json_string_value(json_object_get(st, "var")), NULL);
		} else if (strcmp(op, "expect") == 0) {
			if (!run_expect(ev, st, msg, msgcap))
				return false;
		}
	}
	return true;
}

bool
mt_exec_steps(mt_eval *ev, const json_t *steps, json_t *assertions, char *msg, size_t msgcap)
{
	msg[0] = '\0';
	return run_steps(ev, steps, assertions, msg, msgcap);
}

/* ------------------------------------------------------------------ declarative */

json_t *
mt_parse_jsonpath(const char *path, char *err, size_t errcap)
{
	const char *p = path;
	json_t *segs = json_array();

	if (*p == '$')
		p++;
	while (*p) {
		if (json_array_size(segs) > MT_MAX_DEPTH) {
			snprintf(err, errcap, "path deeper than %d", MT_MAX_DEPTH);
			goto bad;
		}
		if (*p == '.') {
			const char *s = ++p;

			while (*p && *p != '.' && *p != '[')
				p++;
			if (p == s) {
				snprintf(err, errcap, "empty name at offset %zu", (size_t)(s - path));
				goto bad;
			}
			json_array_append_new(segs, json_stringn(s, (size_t)(p - s)));
		} else if (*p == '[') {
			p++;
			if (*p == '\'' || *p == '"') {
				char q = *p++;
				const char *s = p;

				while (*p && *p != q)
					p++;
				if (*p != q || p[1] != ']') {
					snprintf(err, errcap, "unterminated ['name'] at offset %zu", (size_t)(s - path));
					goto bad;
				}
				json_array_append_new(segs, json_stringn(s, (size_t)(p - s)));
				p += 2;
			} else {
				char *end;
				long long idx = strtoll(p, &end, 10);

				if (end == p || *end != ']' || idx < 0) {
					snprintf(err, errcap, "expected a non-negative index at offset %zu", (size_t)(p - path));
					goto bad;
				}
				json_array_append_new(segs, json_integer(idx));
				p = end + 1;
			}
		} else if (p == path) {
			/* "a.b" without the leading "$." */
			const char *s = p;

			while (*p && *p != '.' && *p != '[')
				p++;
			json_array_append_new(segs, json_stringn(s, (size_t)(p - s)));
		} else {
			snprintf(err, errcap, "unexpected '%c' at offset %zu", *p, (size_t)(p - path));
			goto bad;
		}
	}
	return segs;
bad:
	json_decref(segs);
	return NULL;
}

/* The value a declarative assertion or capture reads: false + msg when it throws. */
static bool
declarative_value(mt_eval *ev, const json_t *a, json_t **out, char *msg, size_t msgcap)
{
	const char *type = json_string_value(json_object_get(a, "type"));
	json_t *j;

	*out = NULL;
	if (type && strcmp(type, "status") == 0) {
		*out = json_integer(ev->resp->status);
	} else if (type && strcmp(type, "responseTime") == 0) {
		*out = json_integer((json_int_t)llround(ev->resp->time_ms));
	} else if (json_object_get(a, "header") != NULL || (type && strcmp(type, "header") == 0)) {
		const char *n = json_string_value(json_object_get(a, json_object_get(a, "header") ? "header" : "name"));
		const char *v = mt_header_get(ev->resp->headers, n ? n : "");

		*out = v ? json_string(v) : NULL;
	} else if (type && strcmp(type, "body") == 0) {
		*out = json_stringn_nocheck(ev->resp->body ? ev->resp->body : "", ev->resp->body_len);
	} else {
		msg[0] = '\0';
		if ((j = response_json(ev->resp, msg, msgcap)) == NULL)
			return false;
		json_t *r = NULL;
		char tmp[200];

		/* a missing intermediate is "absent" here, not an exception: declarative checks never throw */
		if (!walk(json_incref(j), json_object_get(a, "segments"), &r, tmp, sizeof(tmp)))
			r = NULL;
		*out = r;
	}
	return true;
}

json_t *
mt_exec_declarative(mt_eval *ev, const json_t *a)
{
	const json_t *name = json_object_get(a, "name");
	json_t *v = NULL, *want;
	char msg[512] = "";
	bool ok = false;
	mt_buf m = {0};
	char *text;

	if (!declarative_value(ev, a, &v, msg, sizeof(msg)))
		return json_pack("{s:O, s:b, s:b, s:s}", "name", name, "passed", 0, "skipped", 0, "message", msg);
	if ((want = json_object_get(a, "equals")) != NULL) {
		ok = v != NULL && mt_json_deep_equal(v, want);
		mt_buf_puts(&m, "expected ");
		show(&m, v);
		mt_buf_puts(&m, " to equal ");
		show(&m, want);
	} else if ((want = json_object_get(a, "notEquals")) != NULL) {
		ok = !(v != NULL && mt_json_deep_equal(v, want));
		mt_buf_puts(&m, "expected ");
		show(&m, v);
		mt_buf_puts(&m, " not to equal ");
		show(&m, want);
	} else if ((want = json_object_get(a, "exists")) != NULL) {
		ok = (v != NULL && !json_is_null(v)) == json_is_true(want);
		mt_buf_puts(&m, json_is_true(want) ? "expected a value, found " : "expected no value, found ");
		show(&m, v);
	} else if ((want = json_object_get(a, "contains")) != NULL) {
		res r = include_check(v, want, true, msg, sizeof(msg));

		ok = r == R_TRUE;
		mt_buf_puts(&m, "expected ");
		show(&m, v);
		mt_buf_puts(&m, " to contain ");
		show(&m, want);
	} else if ((want = json_object_get(a, "matches")) != NULL) {
		mt_buf sb = {0};
		char *s;

		if (v == NULL)
			mt_buf_puts(&sb, "undefined");
		else
			mt_js_string(&sb, v);
		s = mt_buf_take(&sb);
		ok = s && regex_test(json_string_value(want), "", s, strlen(s), msg, sizeof(msg)) == R_TRUE;
		free(s);
		mt_buf_puts(&m, "expected ");
		show(&m, v);
		mt_buf_printf(&m, " to match /%s/", json_string_value(want));
	} else if ((want = json_object_get(a, "valueType")) != NULL) {
		ok = strcasecmp(type_name(v), json_string_value(want)) == 0;
		mt_buf_printf(&m, "expected a %s, found %s", json_string_value(want), type_name(v));
	} else if ((want = json_object_get(a, "below")) != NULL || (want = json_object_get(a, "above")) != NULL) {
		double d, x;
		bool below = json_object_get(a, "below") != NULL;

		num_of(want, &x);
		ok = num_of(v, &d) && (below ? d < x : d > x);
		mt_buf_puts(&m, "expected ");
		show(&m, v);
		mt_buf_puts(&m, below ? " to be below " : " to be above ");
		show(&m, want);
	}
	json_decref(v);
	text = mt_buf_take(&m);
	if (ok) {
		free(text);
		return json_pack("{s:O, s:b, s:b}", "name", name, "passed", 1, "skipped", 0);
	}
	{
		json_t *res_ = json_pack("{s:O, s:b, s:b, s:s}", "name", name, "passed", 0, "skipped", 0, "message",
		                         msg[0] ? msg : text ? text : "assertion failed");
		free(text);
		return res_;
	}
}

bool
mt_exec_capture(mt_eval *ev, const json_t *c, char *msg, size_t msgcap)
{
	json_t *v = NULL;
	const char *var = json_string_value(json_object_get(c, "var"));

	if (!declarative_value(ev, c, &v, msg, msgcap))
		return false;
	if (v == NULL) {
		snprintf(msg, msgcap, "capture %s: %s not found in the response", var,
		         json_object_get(c, "header") ? "header" : "jsonpath");
		return false;
	}
	json_object_set_new(ev->vars, var, v);
	return true;
}
