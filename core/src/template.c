/*
 * template.c - the expression language of mock payloads ("$.req.name",
 * "chatcmpl-$.fake.UUID", "$.increment($.gS.n)"): syntax check, evaluation and
 * interpolation.
 *
 * Templates are plain JSON strings written by mock authors, and payloads also
 * carry text that merely looks like an expression ("costs $.99"), so an
 * expression is recognised only when "$." is followed by a known root; anything
 * else is literal text. Evaluation runs inside the PostgreSQL backend and the
 * daemons alike, so it is bounded: output per string <= MC_MAX_TEMPLATE_OUTPUT,
 * output per response <= the ctx's budget (100,000 copies of a 5 MB request
 * body must fail fast, not exhaust the node), nesting <= MC_MAX_TEMPLATE_NESTING,
 * at most MAX_STEPS path segments. Checking a template (at save and at every
 * load, for every mock) never runs a faker: arguments are parsed only, so the
 * cost of a check is proportional to the template's length.
 *
 * Where an expression ends (docs/templating.md repeats this):
 *   - "$." followed by a root word, a maximal run of [A-Za-z0-9_]: pathParam,
 *     queryParam, req, body, reqHeader, gS, cS, mS, fake, increment. Any other
 *     word (or none) makes the "$." literal text.
 *   - after the root, the expression continues while the next characters are
 *       "." + a segment, a segment being a maximal run of [A-Za-z0-9_-]
 *       (parameter, header and store names, body members),
 *       "[" digits "]" (array or multi-value index),
 *       "." + a nested expression (store roots only: $.mS.greetings.$.pathParam.lang;
 *       the nested expression is itself greedy, so it is the last segment).
 *     A "." not followed by one of these ends the expression and stays text
 *     ("Hello $.req.name." keeps the final period).
 *   - faker names are a run of [A-Za-z0-9_] (no "-": "$.fake.UUID-x" is a UUID
 *     then "-x"); "(" right after the name opens an argument list that ends at
 *     the matching ")".
 *   - $.increment must be followed by "(" ... matching ")".
 *   - pathParam, queryParam and reqHeader take one name segment (+ an index
 *     for queryParam and reqHeader); fake takes no path after its name.
 */
#include "template_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 64

enum root {
	R_NONE = -1,
	R_PATHPARAM,
	R_QUERYPARAM,
	R_REQ,
	R_BODY,
	R_REQHEADER,
	R_GS,
	R_CS,
	R_MS,
	R_FAKE,
	R_INCREMENT
};

static const char *const root_names[] = {"pathParam", "queryParam", "req", "body", "reqHeader",
                                         "gS",        "cS",         "mS",  "fake", "increment"};
static const size_t root_lens[] = {9, 10, 3, 4, 9, 2, 2, 2, 4, 9}; /* strlen of each root name */
_Static_assert(sizeof(root_lens) / sizeof(root_lens[0]) == sizeof(root_names) / sizeof(root_names[0]),
               "one length per root name");

/* Evaluation state of one top-level call. ctx == NULL means "check only". */
typedef struct tstate {
	mc_render_ctx *ctx;
	mc_rng *rng;
	mc_rng own_rng;
	mc_error *err;
	bool uses_state;
	size_t nexpr; /* top-level expressions seen by scan_string */
} tstate;

/* Bounded growable output buffer. */
typedef struct obuf {
	char *p;
	size_t n, cap;
} obuf;

/* One path step of a store / increment path: a member key or an array index. */
typedef struct step {
	bool is_index;
	long idx;
	const char *k;
	size_t klen;
	char *owned; /* k points here when the key came from a nested expression */
} step;

static bool
is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool
is_seg(char c)
{
	return is_ident(c) || c == '-';
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Sets err with " at offset N" appended to the message. */
static void
fail_at(tstate *st, mc_status code, size_t off, const char *what)
{
	mc_error_set(st->err, code, "", "%s at offset %zu", what, off);
}

/* If s[i..] is "$." + a known root, returns it and sets *after past the root word. */
static enum root
root_at(const char *s, size_t len, size_t i, size_t *after)
{
	size_t k;

	if (i + 1 >= len || s[i] != '$' || s[i + 1] != '.')
		return R_NONE;
	for (k = i + 2; k < len && is_ident(s[k]); k++)
		;
	for (size_t r = 0; r < sizeof(root_names) / sizeof(root_names[0]); r++)
		if (root_lens[r] == k - i - 2 && memcmp(root_names[r], s + i + 2, k - i - 2) == 0) {
			*after = k;
			return (enum root)r;
		}
	return R_NONE;
}

/* "[digits]" at s[j]: sets *idx and *after. */
static bool
index_at(const char *s, size_t len, size_t j, long *idx, size_t *after)
{
	size_t k = j + 1;
	long v = 0;

	if (j >= len || s[j] != '[')
		return false;
	while (k < len && s[k] >= '0' && s[k] <= '9' && k - j <= 9)
		v = v * 10 + (s[k++] - '0');
	if (k == j + 1 || k >= len || s[k] != ']')
		return false;
	*idx = v;
	*after = k + 1;
	return true;
}

/* "." + segment at s[j]: sets the segment bounds. */
static bool
segment_at(const char *s, size_t len, size_t j, size_t *b, size_t *e)
{
	size_t k;

	if (j + 1 >= len || s[j] != '.' || !is_seg(s[j + 1]))
		return false;
	for (k = j + 1; k < len && is_seg(s[k]); k++)
		;
	*b = j + 1;
	*e = k;
	return true;
}

/* --------------------------------------------------------------- output */

static size_t
budget_limit(const mc_render_ctx *ctx)
{
	return ctx->output_limit ? ctx->output_limit : MC_DEFAULT_TEMPLATE_OUTPUT_LIMIT;
}

/* Bytes of the budget still free (SIZE_MAX in check mode). */
static size_t
budget_left(const tstate *st)
{
	size_t lim;

	if (st->ctx == NULL)
		return SIZE_MAX;
	lim = budget_limit(st->ctx);
	return st->ctx->output_used >= lim ? 0 : lim - st->ctx->output_used;
}

/* Records the budget error (only reachable with a ctx: check mode has no budget). */
static bool
budget_fail(tstate *st)
{
	if (st->ctx == NULL)
		return false;
	st->ctx->output_exceeded = true;
	mc_error_set(st->err, MC_ELIMIT, "", "template output exceeds the limit of %zu bytes per response",
	             budget_limit(st->ctx));
	return false;
}

/* Charges n bytes to the response's output budget; false (err set) when it is spent. */
static bool
budget_charge(tstate *st, size_t n)
{
	if (st->ctx == NULL)
		return true;
	if (n > budget_left(st))
		return budget_fail(st);
	st->ctx->output_used += n;
	return true;
}

/*
 * The budget measure of a value: string bytes, object key bytes, 1 per other
 * scalar; containers add nothing for punctuation. Stops counting once the total
 * passes cap (the result is then some value > cap), so measuring a huge value
 * against a small budget costs about cap, not the value's size.
 */
static size_t
value_size(const json_t *v, size_t cap, int depth)
{
	size_t n = 0, i;
	const char *k;
	json_t *c;

	if (json_is_string(v))
		return json_string_length(v);
	if (depth > MC_MAX_JSON_DEPTH)
		return 1;
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, c) {
			n += strlen(k) + value_size(c, cap - (n < cap ? n : cap), depth + 1);
			if (n > cap)
				return n;
		}
		return n;
	}
	if (json_is_array(v)) {
		json_array_foreach (v, i, c) {
			n += value_size(c, cap - (n < cap ? n : cap), depth + 1);
			if (n > cap)
				return n;
		}
		return n;
	}
	return 1;
}

static bool
ob_put(tstate *st, obuf *ob, const char *p, size_t n)
{
	if (n == 0)
		return true;
	/* the string is charged when complete; refuse to build past what is left */
	if (ob->n + n > budget_left(st))
		return budget_fail(st);
	if (ob->n + n > MC_MAX_TEMPLATE_OUTPUT) {
		mc_error_set(st->err, MC_ELIMIT, "", "template output exceeds %d bytes",
		             MC_MAX_TEMPLATE_OUTPUT);
		return false;
	}
	if (ob->n + n + 1 > ob->cap) {
		size_t cap = ob->cap ? ob->cap : 64;
		char *np;

		while (cap < ob->n + n + 1)
			cap *= 2;
		np = realloc(ob->p, cap);
		if (np == NULL) {
			mc_error_set(st->err, MC_ENOMEM, "", "out of memory rendering a template");
			return false;
		}
		ob->p = np;
		ob->cap = cap;
	}
	memcpy(ob->p + ob->n, p, n);
	ob->n += n;
	ob->p[ob->n] = '\0';
	return true;
}

char *
mc_value_text(const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return strdup("");
	if (json_is_string(v)) {
		char *s = malloc(json_string_length(v) + 1);

		if (s != NULL) {
			memcpy(s, json_string_value(v), json_string_length(v));
			s[json_string_length(v)] = '\0';
		}
		return s;
	}
	return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
}

/* Appends the text form of v (see mc_value_text); strings may hold NUL bytes. */
static bool
ob_value(tstate *st, obuf *ob, const json_t *v)
{
	char *t;
	bool ok;

	if (v == NULL || json_is_null(v))
		return true;
	if (json_is_string(v))
		return ob_put(st, ob, json_string_value(v), json_string_length(v));
	/* do not print a container the budget could never hold */
	if (value_size(v, budget_left(st), 0) > budget_left(st))
		return budget_fail(st);
	t = mc_value_text(v);
	if (t == NULL) {
		mc_error_set(st->err, MC_ENOMEM, "", "out of memory rendering a template");
		return false;
	}
	ok = ob_put(st, ob, t, strlen(t));
	free(t);
	return ok;
}

/* ---------------------------------------------------------------- stores */

static json_t *
store_of(tstate *st, enum root r, bool **dirty)
{
	mc_stores *s = st->ctx ? st->ctx->stores : NULL;

	*dirty = NULL;
	if (s == NULL)
		return NULL;
	switch (r) {
	case R_GS:
		*dirty = &s->gs_dirty;
		return s->gs;
	case R_CS:
		*dirty = &s->cs_dirty;
		return s->cs;
	case R_MS:
		*dirty = &s->ms_dirty;
		return s->ms;
	default:
		return NULL;
	}
}

/* Joins the key steps [from, to) with "." into a malloc'd string. */
static char *
join_keys(const step *steps, int from, int to)
{
	size_t n = 0, at = 0;
	char *k;

	for (int i = from; i < to; i++)
		n += steps[i].klen + 1;
	k = malloc(n + 1);
	if (k == NULL)
		return NULL;
	for (int i = from; i < to; i++) {
		if (i > from)
			k[at++] = '.';
		memcpy(k + at, steps[i].k, steps[i].klen);
		at += steps[i].klen;
	}
	k[at] = '\0';
	return k;
}

/* Where a store value lives, for $.increment's write-back. */
typedef struct location {
	json_t *parent; /* object or array, NULL when there is nowhere to write */
	char *key;      /* malloc'd, when parent is an object */
	long idx;       /* when parent is an array */
} location;

/*
 * Walks steps from the store root. Consecutive key steps are matched greedily:
 * the longest dotted key present wins ("app.version" before "app" ->
 * "version"), then the walk continues below it without backtracking. Returns
 * the borrowed value or NULL. loc (may be NULL) receives where the value is, or
 * for a missing value whose remaining steps are all keys, the object and the
 * dotted key it would be written under. Returns false only on allocation failure.
 */
static bool
store_lookup(json_t *store, const step *steps, int n, json_t **out, location *loc)
{
	json_t *cur = store, *parent = NULL;
	char *pkey = NULL;
	long pidx = 0;
	int i = 0;

	*out = NULL;
	if (loc)
		*loc = (location){NULL, NULL, 0};
	if (store == NULL)
		return true;
	while (i < n) {
		int m = i;
		bool found = false;

		if (steps[i].is_index) {
			if (!json_is_array(cur))
				goto missing;
			parent = cur;
			free(pkey);
			pkey = NULL;
			pidx = steps[i].idx;
			cur = json_array_get(cur, (size_t)steps[i].idx);
			if (cur == NULL)
				goto missing_at_parent;
			i++;
			continue;
		}
		if (!json_is_object(cur))
			goto missing;
		while (m < n && !steps[m].is_index)
			m++;
		for (int j = m; j > i && !found; j--) {
			char *key = join_keys(steps, i, j);
			json_t *child;

			if (key == NULL) {
				free(pkey);
				return false;
			}
			child = json_object_get(cur, key);
			if (child != NULL) {
				parent = cur;
				free(pkey);
				pkey = key;
				cur = child;
				i = j;
				found = true;
			} else {
				free(key);
			}
		}
		if (!found) {
			if (loc && m == n) {
				loc->parent = cur;
				loc->key = join_keys(steps, i, n);
				if (loc->key == NULL) {
					free(pkey);
					return false;
				}
			}
			goto missing;
		}
	}
	*out = cur;
	if (loc && parent != NULL) {
		loc->parent = parent;
		loc->key = pkey;
		loc->idx = pidx;
		return true;
	}
	free(pkey);
	return true;
missing_at_parent:
	/* an index past the end: nowhere sensible to write */
missing:
	free(pkey);
	return true;
}

/* v + 1: integers stay integers, reals stay reals, numeric strings count, else 0 + 1. */
static json_t *
plus_one(const json_t *v)
{
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);

		/* INT64_MAX + 1 would wrap to a negative count: go on as a real instead */
		if (n == LLONG_MAX)
			return json_real((double)n + 1.0);
		return json_integer(n + 1);
	}
	if (json_is_real(v))
		return json_real(json_real_value(v) + 1.0);
	if (json_is_string(v)) {
		char *end;
		long long n;

		errno = 0;
		n = strtoll(json_string_value(v), &end, 10);
		if (json_string_length(v) > 0 && *end == '\0') {
			if (errno != ERANGE && n != LLONG_MAX)
				return json_integer(n + 1);
			/* a numeric string past int64 ("99999999999999999999"): its real value + 1 */
			double d = strtod(json_string_value(v), NULL) + 1.0;

			if (isfinite(d))
				return json_real(d);
		}
	}
	return json_integer(1);
}

/* ------------------------------------------------------------ expressions */

static int parse_expr(tstate *st, const char *s, size_t len, size_t i, int depth, size_t *end, json_t **out,
                      bool *incr);

/* A new reference to a borrowed value; containers are copied so later store writes do not show. */
static json_t *
own(const json_t *v)
{
	if (v == NULL)
		return NULL;
	if (json_is_object(v) || json_is_array(v))
		return json_deep_copy(v);
	return json_incref((json_t *)v);
}

/* Element idx of a multi-valued entry (array of strings, or a lone string for idx 0). */
static json_t *
nth_value(const json_t *v, long idx)
{
	if (json_is_array(v))
		return json_array_get(v, (size_t)idx);
	return idx == 0 ? (json_t *)v : NULL;
}

static json_t *
header_get(const json_t *headers, const char *name, size_t n)
{
	char low[256];
	const char *k;
	json_t *v;

	if (!json_is_object(headers) || n >= sizeof(low))
		return NULL;
	for (size_t i = 0; i < n; i++)
		low[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
	low[n] = '\0';
	v = json_object_get(headers, low);
	if (v != NULL)
		return v;
	json_object_foreach ((json_t *)headers, k, v) {
		if (strlen(k) == n && strncasecmp(k, name, n) == 0)
			return v;
	}
	return NULL;
}

static void
free_steps(step *steps, int n)
{
	for (int i = 0; i < n; i++)
		free(steps[i].owned);
}

/*
 * Store roots: parses the path after $.gS/$.cS/$.mS starting at j, then reads
 * (or, with *incr, increments and writes back) the value.
 */
static int
parse_store(tstate *st, enum root r, const char *s, size_t len, size_t j, int depth, size_t *end,
            json_t **out, bool *incr)
{
	step steps[MAX_STEPS];
	int n = 0, rc = 1;

	st->uses_state = true;
	for (;;) {
		size_t b, e, after;
		long idx;

		if (n == MAX_STEPS) {
			fail_at(st, MC_ELIMIT, j, "too many path segments");
			rc = -1;
			goto done;
		}
		if (j + 2 < len && s[j] == '.' && root_at(s, len, j + 1, &after) != R_NONE) {
			json_t *kv = NULL;
			int sub = parse_expr(st, s, len, j + 1, depth + 1, &e, st->ctx ? &kv : NULL, NULL);

			if (sub < 0) {
				rc = -1;
				goto done;
			}
			steps[n] = (step){.is_index = false, .owned = NULL};
			if (st->ctx) {
				steps[n].owned = mc_value_text(kv);
				json_decref(kv);
				if (steps[n].owned == NULL) {
					mc_error_set(st->err, MC_ENOMEM, "", "out of memory");
					rc = -1;
					goto done;
				}
				steps[n].k = steps[n].owned;
				steps[n].klen = strlen(steps[n].owned);
			} else {
				steps[n].k = "";
				steps[n].klen = 0;
			}
			n++;
			j = e;
		} else if (segment_at(s, len, j, &b, &e)) {
			steps[n++] = (step){.is_index = false, .k = s + b, .klen = e - b};
			j = e;
		} else if (index_at(s, len, j, &idx, &after)) {
			steps[n++] = (step){.is_index = true, .idx = idx};
			j = after;
		} else {
			break;
		}
	}
	*end = j;
	if (st->ctx == NULL || out == NULL)
		goto done;
	{
		bool *dirty;
		json_t *store = store_of(st, r, &dirty), *v;
		location loc;

		if (!store_lookup(store, steps, n, &v, incr ? &loc : NULL)) {
			mc_error_set(st->err, MC_ENOMEM, "", "out of memory");
			rc = -1;
			goto done;
		}
		if (incr == NULL) {
			*out = own(v);
			goto done;
		}
		*out = plus_one(v);
		if (loc.parent != NULL && *out != NULL) {
			if (json_is_object(loc.parent))
				json_object_set(loc.parent, loc.key, *out);
			else
				json_array_set(loc.parent, (size_t)loc.idx, *out);
			if (dirty)
				*dirty = true;
		}
		free(loc.key);
	}
done:
	free_steps(steps, n);
	return rc;
}

/* Finds the ")" matching the "(" at s[j]; returns its index or len when missing. */
static size_t
matching_paren(const char *s, size_t len, size_t j)
{
	int d = 0;

	for (size_t k = j; k < len; k++) {
		if (s[k] == '(')
			d++;
		else if (s[k] == ')' && --d == 0)
			return k;
	}
	return len;
}

static int
parse_fake(tstate *st, const char *s, size_t len, size_t i, size_t j, size_t *end, json_t **out)
{
	char name[64], *args = NULL;
	size_t b = j + 1, e;
	json_t *v;
	mc_error ferr;

	if (j >= len || s[j] != '.' || j + 1 >= len || !is_ident(s[j + 1])) {
		fail_at(st, MC_EINVAL, i, "missing faker name after $.fake");
		return -1;
	}
	for (e = b; e < len && is_ident(s[e]); e++)
		;
	if (e - b >= sizeof(name)) {
		mc_error_set(st->err, MC_EINVAL, "", "unknown faker \"%.*s...\" at offset %zu", 32, s + b, i);
		return -1;
	}
	memcpy(name, s + b, e - b);
	name[e - b] = '\0';
	if (!mc_faker_exists(name)) {
		mc_error_set(st->err, MC_EINVAL, "", "unknown faker \"%s\" at offset %zu", name, i);
		return -1;
	}
	*end = e;
	if (e < len && s[e] == '(') {
		size_t close = matching_paren(s, len, e);

		if (close == len) {
			fail_at(st, MC_EINVAL, e, "unterminated ( after faker name");
			return -1;
		}
		args = strndup(s + e + 1, close - e - 1);
		if (args == NULL) {
			mc_error_set(st->err, MC_ENOMEM, "", "out of memory");
			return -1;
		}
		*end = close + 1;
	}
	memset(&ferr, 0, sizeof(ferr));
	if (st->ctx == NULL) { /* check mode: the arguments are parsed, nothing is generated */
		mc_status fs = mc_faker_check(name, args, &ferr);

		free(args);
		if (fs != MC_OK) {
			mc_error_set(st->err, ferr.code ? ferr.code : MC_EINVAL, "", "%s at offset %zu", ferr.msg, i);
			return -1;
		}
		return 1;
	}
	v = mc_fake(name, args, st->rng, st->ctx->now, &ferr);
	free(args);
	if (v == NULL) {
		mc_error_set(st->err, ferr.code ? ferr.code : MC_EINVAL, "", "%s at offset %zu", ferr.msg, i);
		return -1;
	}
	if (out != NULL)
		*out = v;
	else
		json_decref(v);
	return 1;
}

static int
parse_increment(tstate *st, const char *s, size_t len, size_t i, size_t j, int depth, size_t *end,
                json_t **out)
{
	size_t close, a, b, e, after;

	st->uses_state = true;
	if (j >= len || s[j] != '(') {
		fail_at(st, MC_EINVAL, i, "expected ( after $.increment");
		return -1;
	}
	close = matching_paren(s, len, j);
	if (close == len) {
		fail_at(st, MC_EINVAL, j, "unterminated ( in $.increment");
		return -1;
	}
	*end = close + 1;
	for (a = j + 1; a < close && is_space(s[a]); a++)
		;
	for (b = close; b > a && is_space(s[b - 1]); b--)
		;
	if (a == b) {
		fail_at(st, MC_EINVAL, j, "empty $.increment()");
		return -1;
	}
	if (s[a] == '$') {
		json_t *v = NULL;
		bool incr = true;
		int rc;

		if (root_at(s, b, a, &after) == R_NONE) {
			fail_at(st, MC_EINVAL, a, "unknown expression in $.increment()");
			return -1;
		}
		rc = parse_expr(st, s, b, a, depth + 1, &e, st->ctx ? &v : NULL, &incr);
		if (rc < 0)
			return -1;
		if (e != b) {
			json_decref(v);
			fail_at(st, MC_EINVAL, e, "unexpected text in $.increment()");
			return -1;
		}
		if (st->ctx == NULL || out == NULL) {
			json_decref(v);
			return 1;
		}
		if (!incr) { /* not a store path: the value plus one, nothing written */
			*out = plus_one(v);
			json_decref(v);
		} else {
			*out = v;
		}
		return 1;
	}
	/* A bare key: "counter" or "stats.calls" in the global store. */
	for (size_t k = a; k < b; k++)
		if (!is_seg(s[k]) && s[k] != '.') {
			fail_at(st, MC_EINVAL, k, "invalid key in $.increment()");
			return -1;
		}
	{
		step steps[MAX_STEPS];
		int n = 0;
		size_t k = a;

		while (k < b) {
			size_t ke = k;

			while (ke < b && s[ke] != '.')
				ke++;
			if (ke == k || n == MAX_STEPS) {
				fail_at(st, MC_EINVAL, k, "invalid key in $.increment()");
				return -1;
			}
			steps[n++] = (step){.is_index = false, .k = s + k, .klen = ke - k};
			k = ke + 1;
			if (ke + 1 == b) {
				fail_at(st, MC_EINVAL, ke, "invalid key in $.increment()");
				return -1;
			}
		}
		if (st->ctx == NULL || out == NULL)
			return 1;
		{
			bool *dirty;
			json_t *store = store_of(st, R_GS, &dirty), *v;
			location loc;

			if (!store_lookup(store, steps, n, &v, &loc)) {
				mc_error_set(st->err, MC_ENOMEM, "", "out of memory");
				return -1;
			}
			*out = plus_one(v);
			if (loc.parent != NULL && *out != NULL) {
				if (json_is_object(loc.parent))
					json_object_set(loc.parent, loc.key, *out);
				else
					json_array_set(loc.parent, (size_t)loc.idx, *out);
				if (dirty)
					*dirty = true;
			}
			free(loc.key);
		}
	}
	return 1;
}

/*
 * Parses (and, when st->ctx is set and out is not NULL, evaluates) the
 * expression starting at s[i] == '$'. s is len bytes (not NUL-terminated; the
 * bound also stops nested parses at a closing parenthesis).
 * Returns 1 with *end past the expression and *out a new reference (NULL when
 * the value is missing); 0 when s[i..] is not an expression (unknown root:
 * literal text); -1 with st->err set on a syntax or evaluation error.
 * incr (may be NULL) asks store roots to increment and write back; it is set
 * to false when the root is not a store (the caller then adds one itself).
 */
static int
parse_expr(tstate *st, const char *s, size_t len, size_t i, int depth, size_t *end, json_t **out, bool *incr)
{
	size_t j, b, e, after;
	enum root r = root_at(s, len, i, &j);
	long idx = 0;
	const mc_request *req = st->ctx ? st->ctx->req : NULL;

	if (out)
		*out = NULL;
	if (r == R_NONE)
		return 0;
	if (depth > MC_MAX_TEMPLATE_NESTING) {
		fail_at(st, MC_ELIMIT, i, "template expressions nested too deep");
		return -1;
	}
	if (incr && r != R_GS && r != R_CS && r != R_MS)
		*incr = false;
	switch (r) {
	case R_GS:
	case R_CS:
	case R_MS:
		return parse_store(st, r, s, len, j, depth, end, out, incr);
	case R_FAKE:
		return parse_fake(st, s, len, i, j, end, out);
	case R_INCREMENT:
		return parse_increment(st, s, len, i, j, depth, end, out);
	case R_REQ:
	case R_BODY: {
		size_t start = j;
		char *path;

		for (;;) {
			if (segment_at(s, len, j, &b, &e))
				j = e;
			else if (index_at(s, len, j, &idx, &after))
				j = after;
			else
				break;
		}
		*end = j;
		if (st->ctx == NULL || out == NULL || req == NULL)
			return 1;
		if (start < j && s[start] == '.')
			start++;
		if (start == j && req->body_json == NULL) { /* $.req on a non-JSON body: the text */
			if (req->body != NULL)
				*out = json_stringn_nocheck(req->body, req->body_len);
			return 1;
		}
		path = strndup(s + start, j - start);
		if (path == NULL) {
			mc_error_set(st->err, MC_ENOMEM, "", "out of memory");
			return -1;
		}
		*out = own(mc_jsonpath_get(req->body_json, path));
		free(path);
		return 1;
	}
	case R_PATHPARAM:
	case R_QUERYPARAM:
	case R_REQHEADER: {
		bool has_name = segment_at(s, len, j, &b, &e), has_idx = false;
		const json_t *src, *v;

		if (has_name) {
			j = e;
			if (r != R_PATHPARAM && index_at(s, len, j, &idx, &after)) {
				has_idx = true;
				j = after;
			}
		}
		*end = j;
		if (st->ctx == NULL || out == NULL)
			return 1;
		src = r == R_PATHPARAM    ? st->ctx->path_params
		      : req == NULL       ? NULL
		      : r == R_QUERYPARAM ? req->query
		                          : req->headers;
		if (!has_name) {
			*out = own(src);
			return 1;
		}
		if (r == R_REQHEADER)
			v = header_get(src, s + b, e - b);
		else
			v = json_is_object(src) ? json_object_getn(src, s + b, e - b) : NULL;
		if (r != R_PATHPARAM)
			v = v ? nth_value(v, has_idx ? idx : 0) : NULL;
		*out = own(v);
		return 1;
	}
	default:
		return 0;
	}
}

/* ------------------------------------------------------------ key order */

static int
cmp_jsonb_keys(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return memcmp(x, y, lx);
}

const char **
mc_object_keys_canonical(const json_t *obj, size_t *n)
{
	const char **keys, *k;
	json_t *v;
	size_t i = 0;

	*n = json_object_size(obj);
	if (*n == 0)
		return NULL;
	keys = malloc(*n * sizeof(*keys));
	if (keys == NULL) {
		*n = SIZE_MAX;
		return NULL;
	}
	json_object_foreach ((json_t *)obj, k, v) {
		keys[i++] = k;
	}
	qsort(keys, i, sizeof(*keys), cmp_jsonb_keys);
	*n = i;
	return keys;
}

/* ---------------------------------------------------------------- strings */

/*
 * Evaluates the template string s (len bytes). A string that is exactly one
 * expression yields its typed value (JSON null when missing); otherwise the
 * expressions' text forms are interpolated. Returns a new reference or NULL
 * with st->err set. orig (may be NULL) is returned, with a new reference, when
 * s holds no expression.
 */
static json_t *
render_string(tstate *st, const char *s, size_t len, const json_t *orig)
{
	obuf ob = {NULL, 0, 0};
	size_t i = 0, lit = 0, end;
	bool any = false;
	json_t *res;

	if (len < 2 || memmem(s, len, "$.", 2) == NULL)
		return orig ? json_incref((json_t *)orig) : json_stringn_nocheck(s, len);
	while (i + 1 < len) {
		const char *d = memmem(s + i, len - i, "$.", 2);
		json_t *v = NULL;
		int rc;

		if (d == NULL)
			break;
		i = (size_t)(d - s);
		rc = parse_expr(st, s, len, i, 0, &end, &v, NULL);
		if (rc < 0)
			goto fail;
		if (rc == 0) {
			i++;
			continue;
		}
		if (i == 0 && end == len) /* the whole string is one expression: typed */
			return v ? v : json_null();
		any = true;
		if (!ob_put(st, &ob, s + lit, i - lit) || !ob_value(st, &ob, v)) {
			json_decref(v);
			goto fail;
		}
		json_decref(v);
		i = lit = end;
	}
	if (!any) {
		free(ob.p);
		return orig ? json_incref((json_t *)orig) : json_stringn_nocheck(s, len);
	}
	if (!ob_put(st, &ob, s + lit, len - lit))
		goto fail;
	res = json_stringn_nocheck(ob.p ? ob.p : "", ob.n);
	free(ob.p);
	if (res == NULL)
		mc_error_set(st->err, MC_ENOMEM, "", "out of memory rendering a template");
	return res;
fail:
	free(ob.p);
	return NULL;
}

/* Walks every expression of s without evaluating; returns false on the first error. */
static bool
scan_string(tstate *st, const char *s, size_t len)
{
	size_t i = 0, end;

	while (i + 1 < len) {
		const char *d = memmem(s + i, len - i, "$.", 2);
		int rc;

		if (d == NULL)
			break;
		i = (size_t)(d - s);
		rc = parse_expr(st, s, len, i, 0, &end, NULL, NULL);
		if (rc < 0)
			return false;
		if (rc > 0)
			st->nexpr++;
		i = rc == 0 ? i + 1 : end;
	}
	return true;
}

/*
 * Syntax check of every expression in s: an unknown faker, bad faker
 * arguments, an unterminated parenthesis, a malformed $.increment or too deep
 * nesting is MC_EINVAL/MC_ELIMIT with "... at offset N" in err->msg (N counts
 * bytes from the start of s). Unknown roots are literal text, not errors.
 */
mc_status
mc_template_check(const char *s, mc_error *err)
{
	tstate st = {.ctx = NULL, .err = err};

	if (s == NULL)
		return MC_OK;
	if (!scan_string(&st, s, strlen(s)))
		return err ? err->code : MC_EINVAL;
	return MC_OK;
}

/*
 * See template_internal.h. The literal bytes are len minus the bytes the
 * expressions span: what rendering s copies through whatever it evaluates to
 * (0 when s is exactly one expression, whose typed value replaces it).
 */
mc_status
mc_template_measure(const char *s, size_t len, size_t *nexpr, size_t *literal, mc_error *err)
{
	tstate st = {.ctx = NULL, .err = err};
	size_t i = 0, end, lit = len;

	*nexpr = 0;
	*literal = len;
	while (i + 1 < len) {
		const char *d = memmem(s + i, len - i, "$.", 2);
		int rc;

		if (d == NULL)
			break;
		i = (size_t)(d - s);
		rc = parse_expr(&st, s, len, i, 0, &end, NULL, NULL);
		if (rc < 0)
			return err ? err->code : MC_EINVAL;
		if (rc == 0) {
			i++;
			continue;
		}
		(*nexpr)++;
		lit -= end - i;
		i = end;
	}
	*literal = lit;
	return MC_OK;
}

bool
mc_template_uses_state(const char *s, size_t len)
{
	tstate st = {.ctx = NULL, .err = NULL};

	(void)scan_string(&st, s, len);
	return st.uses_state;
}

bool
mc_template_has_expr(const char *s, size_t len)
{
	size_t i = 0, after;

	while (i + 1 < len) {
		const char *d = memmem(s + i, len - i, "$.", 2);

		if (d == NULL)
			return false;
		i = (size_t)(d - s);
		if (root_at(s, len, i, &after) != R_NONE)
			return true;
		i++;
	}
	return false;
}

static json_t *
render(tstate *st, const json_t *t, int depth)
{
	json_t *res, *v;

	if (depth > MC_MAX_JSON_DEPTH) {
		mc_error_set(st->err, MC_ELIMIT, "", "template nested deeper than %d", MC_MAX_JSON_DEPTH);
		return NULL;
	}
	if (json_is_string(t)) {
		json_t *r = render_string(st, json_string_value(t), json_string_length(t), t);

		if (r != NULL && st->ctx != NULL &&
		    !budget_charge(st, value_size(r, budget_left(st), depth))) {
			json_decref(r);
			return NULL;
		}
		return r;
	}
	if (json_is_object(t)) {
		/* small objects (the common case) sort on the stack */
		const char *local[16], **keys = local, *k;
		size_t n = json_object_size(t), i = 0;

		if (n > 16)
			keys = mc_object_keys_canonical(t, &n);
		else {
			json_object_foreach ((json_t *)t, k, v) {
				keys[i++] = k;
			}
			qsort(keys, n, sizeof(*keys), cmp_jsonb_keys);
		}
		res = json_object();
		if (res == NULL || n == SIZE_MAX) {
			if (keys != local)
				free(keys);
			json_decref(res);
			goto oom;
		}
		for (i = 0; i < n; i++) {
			json_t *r = budget_charge(st, strlen(keys[i]))
			                ? render(st, json_object_get(t, keys[i]), depth + 1)
			                : NULL;

			if (r == NULL || json_object_set_new(res, keys[i], r) != 0) {
				if (keys != local)
					free(keys);
				json_decref(res);
				return NULL;
			}
		}
		if (keys != local)
			free(keys);
		return res;
	}
	if (json_is_array(t)) {
		size_t i;

		res = json_array();
		if (res == NULL)
			goto oom;
		json_array_foreach (t, i, v) {
			json_t *r = render(st, v, depth + 1);

			if (r == NULL || json_array_append_new(res, r) != 0) {
				json_decref(res);
				return NULL;
			}
		}
		return res;
	}
	if (!budget_charge(st, 1))
		return NULL;
	return json_incref((json_t *)t); /* numbers, booleans, null */
oom:
	mc_error_set(st->err, MC_ENOMEM, "", "out of memory rendering a template");
	return NULL;
}

/*
 * See core.h. Containers are always new; leaves without an expression (and
 * non-string scalars) are shared with tmpl, so treat the result as read-only.
 * ctx->rng NULL: a generator seeded from ctx->now is used for this call.
 * ctx->stores NULL: store reads are null and increments are not written.
 */
json_t *
mc_render_value(const json_t *tmpl, mc_render_ctx *ctx, mc_error *err)
{
	tstate st = {.ctx = ctx, .err = err};

	if (tmpl == NULL)
		return json_null();
	if (ctx == NULL) {
		mc_error_set(err, MC_EINVAL, "", "no render context");
		return NULL;
	}
	if (ctx->rng == NULL) {
		mc_rng_seed(&st.own_rng, (uint64_t)ctx->now);
		st.rng = &st.own_rng;
	} else {
		st.rng = ctx->rng;
	}
	return render(&st, tmpl, 0);
}
