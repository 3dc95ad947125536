/*
 * condition.c - evaluating one mock condition ({"path","assertAction","value",
 * "sortArray","decode"}) against the value a request supplies.
 *
 * Query parameters and headers are always strings while mock authors write
 * numbers and booleans, so comparison is JSON equality with a string/scalar
 * coercion ("5" equals 5). Regexes come from mock authors and run on request
 * data, so every match runs under MC_REGEX_MATCH_LIMIT; compiled patterns are
 * looked up through a caller-provided cache (the index owns one) because
 * there is no global state in core.
 */
#include "match_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const known_actions[] = {
	"equals", "contains", "not_equals", "not_contains", "any", "notEmpty", "empty", "matches", NULL,
};

bool
mc_assert_action_known(const char *action)
{
	for (int i = 0; known_actions[i]; i++)
		if (strcmp(action, known_actions[i]) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------ regex */

pcre2_code *
mc_regex_compile(const char *pattern, char *msg, size_t msg_size)
{
	int errcode;
	PCRE2_SIZE erroff;
	pcre2_code *re;

	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, MC_PCRE2_OPTIONS, &errcode, &erroff,
			   NULL);
	if (re == NULL && msg != NULL && msg_size > 0) {
		PCRE2_UCHAR buf[160];

		pcre2_get_error_message(errcode, buf, sizeof(buf));
		snprintf(msg, msg_size, "invalid regex at offset %zu: %s", (size_t)erroff, (char *)buf);
	}
	return re;
}

bool
mc_regex_match(const pcre2_code *re, const char *subject, size_t len, const pcre2_match_context *mctx)
{
	pcre2_match_context *own = NULL;
	pcre2_match_data *md;
	int rc;

	if (mctx == NULL) {
		own = pcre2_match_context_create(NULL);
		if (own == NULL)
			return false;
		pcre2_set_match_limit(own, MC_REGEX_MATCH_LIMIT);
		pcre2_set_depth_limit(own, MC_REGEX_MATCH_LIMIT);
		mctx = own;
	}
	md = pcre2_match_data_create(1, NULL);
	/* pcre2 never writes a match context; the cast only satisfies its prototype. */
	rc = md ? pcre2_match(re, (PCRE2_SPTR)subject, len, 0, 0, md, (pcre2_match_context *)mctx) : -1;
	pcre2_match_data_free(md);
	pcre2_match_context_free(own);
	return rc >= 0;
}

/* ------------------------------------------------------------------ base64 */

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

char *
mc_base64_decode(const char *in, size_t len, size_t *out_len)
{
	char *out = malloc(len / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0, pad = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64val(c);
		if (v < 0 || pad > 0) /* junk, or data after padding */
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xFF);
		}
	}
	/* 6 leftover bits cannot come from whole bytes; more than 2 '=' is junk. */
	if (bits >= 6 || pad > 2)
		goto bad;
	out[o] = '\0';
	*out_len = o;
	return out;
bad:
	free(out);
	return NULL;
}

/* -------------------------------------------------------------- comparison */

/* Parses s as a JSON scalar (number, true, false, null); NULL otherwise. */
static json_t *
scalar_from_string(const char *s, size_t len)
{
	json_t *v;

	if (len == 0 || len > 64)
		return NULL;
	v = json_loadb(s, len, JSON_DECODE_ANY, NULL);
	if (v != NULL && (json_is_object(v) || json_is_array(v) || json_is_string(v))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static bool values_equal(const json_t *a, const json_t *b, bool sort, int depth);

static bool
numbers_equal(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	return json_number_value(a) == json_number_value(b);
}

/* Arrays equal as multisets: every element of a pairs with a distinct one of b. */
static bool
arrays_equal_unordered(const json_t *a, const json_t *b, int depth)
{
	size_t n = json_array_size(a);
	bool *used;
	bool ok = true;

	if (n != json_array_size(b))
		return false;
	if (n == 0)
		return true;
	used = calloc(n, sizeof(bool));
	if (used == NULL)
		return false;
	for (size_t i = 0; i < n && ok; i++) {
		bool found = false;

		for (size_t j = 0; j < n && !found; j++) {
			if (!used[j] && values_equal(json_array_get(a, i), json_array_get(b, j), true, depth + 1)) {
				used[j] = true;
				found = true;
			}
		}
		ok = found;
	}
	free(used);
	return ok;
}

/*
 * JSON equality with two relaxations: numbers compare by value (1 == 1.0),
 * and a string equals a scalar when it parses to that scalar ("5" == 5,
 * "true" == true), because query values and headers are always strings.
 * sort makes arrays compare as multisets at every depth.
 */
static bool
values_equal(const json_t *a, const json_t *b, bool sort, int depth)
{
	if (depth > MC_MAX_JSON_DEPTH)
		return false;
	if (a == NULL || b == NULL)
		return a == b;
	if (json_is_number(a) && json_is_number(b))
		return numbers_equal(a, b);
	if (json_is_string(a) != json_is_string(b)) {
		const json_t *s = json_is_string(a) ? a : b;
		const json_t *o = json_is_string(a) ? b : a;
		json_t *parsed;
		bool eq;

		if (json_is_object(o) || json_is_array(o))
			return false;
		parsed = scalar_from_string(json_string_value(s), json_string_length(s));
		if (parsed == NULL)
			return false;
		eq = values_equal(parsed, o, sort, depth + 1);
		json_decref(parsed);
		return eq;
	}
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
	case JSON_OBJECT: {
		const char *k;
		json_t *v;

		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach ((json_t *)a, k, v)
			if (!values_equal(v, json_object_get(b, k), sort, depth + 1))
				return false;
		return true;
	}
	case JSON_ARRAY:
		if (sort)
			return arrays_equal_unordered(a, b, depth);
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!values_equal(json_array_get(a, i), json_array_get(b, i), sort, depth + 1))
				return false;
		return true;
	default:
		return true; /* true, false, null: same type is equal */
	}
}

/*
 * The text a scalar shows to substring and regex tests: strings as is,
 * numbers and literals in JSON form, containers as compact JSON. malloc'd.
 */
static char *
string_form(const json_t *v, size_t *len)
{
	char *s;

	if (json_is_string(v)) {
		s = malloc(json_string_length(v) + 1);
		if (s == NULL)
			return NULL;
		memcpy(s, json_string_value(v), json_string_length(v) + 1);
		*len = json_string_length(v);
		return s;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	if (s != NULL)
		*len = strlen(s);
	return s;
}

static bool
substring_of(const json_t *haystack, const json_t *needle)
{
	size_t hl, nl;
	char *h = string_form(haystack, &hl);
	char *n = string_form(needle, &nl);
	bool found = h && n && memmem(h, hl, n, nl) != NULL;

	free(h);
	free(n);
	return found;
}

static bool array_has(const json_t *arr, const json_t *v, bool sort, int depth);

/*
 * "contains": substring for strings and scalars, element (or every element of
 * an expected array) for arrays, recursive subset for objects.
 */
static bool
contains(const json_t *actual, const json_t *expected, bool sort, int depth)
{
	if (depth > MC_MAX_JSON_DEPTH || actual == NULL || expected == NULL)
		return false;
	if (json_is_array(actual)) {
		if (json_is_array(expected) && !array_has(actual, expected, sort, depth)) {
			size_t i;
			json_t *e;

			json_array_foreach (expected, i, e)
				if (!array_has(actual, e, sort, depth))
					return false;
			return true;
		}
		return array_has(actual, expected, sort, depth);
	}
	if (json_is_object(actual)) {
		const char *k;
		json_t *v;

		if (!json_is_object(expected))
			return false;
		json_object_foreach ((json_t *)expected, k, v) {
			json_t *av = json_object_get(actual, k);

			if (av == NULL)
				return false;
			if (json_is_object(v) && json_is_object(av)) {
				if (!contains(av, v, sort, depth + 1))
					return false;
			} else if (!values_equal(av, v, sort, depth + 1)) {
				return false;
			}
		}
		return true;
	}
	if (json_is_object(expected) || json_is_array(expected))
		return false;
	return substring_of(actual, expected);
}

/* True when some element of arr equals v (objects: contains v as a subset). */
static bool
array_has(const json_t *arr, const json_t *v, bool sort, int depth)
{
	size_t i;
	json_t *e;

	json_array_foreach (arr, i, e) {
		if (values_equal(e, v, sort, depth + 1))
			return true;
		if (json_is_object(e) && json_is_object(v) && contains(e, v, sort, depth + 1))
			return true;
	}
	return false;
}

static bool
is_empty_value(const json_t *v)
{
	return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0) ||
	       (json_is_array(v) && json_array_size(v) == 0) || (json_is_object(v) && json_object_size(v) == 0);
}

static bool
regex_holds(const json_t *actual, const json_t *expected, const mc_regex_env *env)
{
	const char *pattern = json_string_value(expected);
	const pcre2_code *re = NULL;
	pcre2_code *own = NULL;
	char *subj;
	size_t len;
	bool ok;

	if (actual == NULL || json_is_null(actual) || pattern == NULL)
		return false;
	if (env && env->lookup)
		re = env->lookup(env->lookup_ctx, pattern);
	if (re == NULL) {
		own = mc_regex_compile(pattern, NULL, 0);
		if (own == NULL)
			return false;
		re = own;
	}
	subj = string_form(actual, &len);
	ok = subj && mc_regex_match(re, subj, len, env ? env->mctx : NULL);
	free(subj);
	pcre2_code_free(own);
	return ok;
}

/*
 * Decodes a base64 string actual; the result is a new reference (JSON when the
 * decoded text parses as JSON, else a string) or NULL when not decodable.
 */
static json_t *
decode_actual(const json_t *actual)
{
	size_t len;
	char *raw;
	json_t *v;

	if (!json_is_string(actual))
		return NULL;
	raw = mc_base64_decode(json_string_value(actual), json_string_length(actual), &len);
	if (raw == NULL)
		return NULL;
	v = json_loadb(raw, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (v == NULL)
		v = mc_json_string_lossy(raw, len);
	free(raw);
	return v;
}

/* Evaluates action against an actual that is already decoded. */
static bool
eval_action(const char *action, const json_t *actual, const json_t *expected, bool sort,
	    const mc_regex_env *env)
{
	if (strcmp(action, "equals") == 0)
		return actual != NULL && values_equal(actual, expected ? expected : json_null(), sort, 0);
	if (strcmp(action, "not_equals") == 0)
		return actual == NULL || !values_equal(actual, expected ? expected : json_null(), sort, 0);
	if (strcmp(action, "contains") == 0)
		return contains(actual, expected, sort, 0);
	if (strcmp(action, "not_contains") == 0)
		return !contains(actual, expected, sort, 0);
	if (strcmp(action, "any") == 0)
		return actual != NULL;
	if (strcmp(action, "notEmpty") == 0)
		return !is_empty_value(actual);
	if (strcmp(action, "empty") == 0)
		return is_empty_value(actual);
	if (strcmp(action, "matches") == 0)
		return regex_holds(actual, expected, env);
	/* plugin:<key> and anything unknown: a missing matcher never matches. */
	return false;
}

/* The action name of cond; absent means "equals" (Go's omitempty drops nothing else). */
static const char *
action_of(const json_t *cond)
{
	const char *a = json_string_value(json_object_get(cond, "assertAction"));

	return a && *a ? a : "equals";
}

static bool
sort_of(const json_t *cond, bool sort_default)
{
	json_t *s = json_object_get(cond, "sortArray");

	return json_is_boolean(s) ? json_is_true(s) : sort_default;
}

static bool
wants_base64(const json_t *cond)
{
	const char *d = json_string_value(json_object_get(cond, "decode"));

	return d != NULL && strcmp(d, "base64") == 0;
}

/*
 * Evaluates one action on actual (borrowed, NULL = absent), base64-decoding
 * actual first when decode is set; a decode that fails makes it absent.
 */
static bool
eval_full(const char *action, const json_t *actual, const json_t *expected, bool sort, bool decode,
	  const mc_regex_env *env)
{
	json_t *decoded = NULL;
	bool ok;

	if (actual != NULL && decode) {
		decoded = decode_actual(actual);
		actual = decoded;
	}
	ok = eval_action(action, actual, expected, sort, env);
	json_decref(decoded);
	return ok;
}

/* Evaluates cond against actual; env may be NULL (regexes compiled per call). */
bool
mc_condition_eval_env(const json_t *cond, const json_t *actual, bool sort_default, const mc_regex_env *env)
{
	if (!json_is_object(cond))
		return false;
	return eval_full(action_of(cond), actual, json_object_get(cond, "value"), sort_of(cond, sort_default),
			 wants_base64(cond), env);
}

bool
mc_condition_eval(const json_t *cond, const json_t *actual, bool sort_default)
{
	return mc_condition_eval_env(cond, actual, sort_default, NULL);
}

/*
 * Header and query lists carry every value sent under a name. contains holds
 * when any value holds it, not_contains when no value does; everything else
 * reads the first value, unless the expected value is itself an array, which
 * is then compared with the whole list.
 */
bool
mc_condition_eval_list(const json_t *cond, const json_t *values, bool sort_default, const mc_regex_env *env)
{
	const char *action;
	const json_t *expected;
	size_t i;
	json_t *v;

	if (!json_is_object(cond))
		return false;
	if (values != NULL && !json_is_array(values))
		return mc_condition_eval_env(cond, values, sort_default, env);
	action = action_of(cond);
	expected = json_object_get(cond, "value");
	if (values != NULL && json_array_size(values) == 0)
		values = NULL;
	if (values != NULL && (strcmp(action, "contains") == 0 || strcmp(action, "not_contains") == 0)) {
		bool any = false;

		json_array_foreach (values, i, v) {
			any = eval_full("contains", v, expected, sort_of(cond, sort_default), wants_base64(cond), env);
			if (any)
				break;
		}
		return action[0] == 'c' ? any : !any;
	}
	if (values != NULL && json_is_array(expected) &&
	    (strcmp(action, "equals") == 0 || strcmp(action, "not_equals") == 0))
		return mc_condition_eval_env(cond, values, sort_default, env);
	return mc_condition_eval_env(cond, values ? json_array_get(values, 0) : NULL, sort_default, env);
}
