/*
 * render.c - turns a matched mock into the response object every runtime sends:
 * extract into the stores, pick the response (response or oneOf), render it.
 *
 * The extension, the admin node and the resolvers must produce byte-identical
 * responses for the same request, seed and store contents, so the order of the
 * steps is fixed here and nowhere else: mStore seeding, extract (cStore, gStore,
 * mStore, keys in jsonb order, each value rendered then written), response
 * choice, then headers, payload and the protocol extras. Object members render
 * in jsonb key order too (template.c), so faker draws and increments do not
 * depend on whether the mock was read from a file or from a jsonb column.
 */
#include "template_internal.h"

#include <stdlib.h>
#include <string.h>

/* Response fields passed through (rendered) for the protocol daemons, when set. */
static const char *const extra_fields[] = {"error",      "errorDetails",  "graphqlErrors",      "soapFault", "streamResponses", "trailers",
                                           "mcpIsError", "sseEventChain", "payloadTemplatePath"};

/*
 * Seeds the mock store: keys of the mock's top-level mStore missing from ms are
 * copied in (ms_dirty set), so every runtime starts from the same contents.
 */
static void
seed_mock_store(const json_t *mock, mc_stores *st)
{
	const json_t *init = json_object_get(mock, "mStore");
	const char *k;
	json_t *v;

	if (st == NULL || !json_is_object(st->ms) || !json_is_object(init))
		return;
	json_object_foreach ((json_t *)init, k, v) {
		if (json_object_get(st->ms, k) == NULL) {
			json_object_set_new(st->ms, k, json_deep_copy(v));
			st->ms_dirty = true;
		}
	}
}

/*
 * Runs extract: {"cStore":{k:tmpl}, "gStore":{..}, "mStore":{..}}, stores and
 * keys in jsonb order (cStore, gStore, mStore; keys shorter first, then
 * bytewise) whatever order the document has, so every runtime draws fakers and
 * increments in the same sequence. Each value is rendered (so later values see
 * earlier writes) and stored under its literal key; a store that is NULL in
 * ctx drops the write.
 */
static bool
run_extract(const json_t *mock, mc_render_ctx *ctx, mc_error *err)
{
	static const char *const groups[] = {"cStore", "gStore", "mStore"}; /* jsonb key order */
	const json_t *ex = json_object_get(mock, "extract");

	if (!json_is_object(ex))
		return true;
	for (size_t gi = 0; gi < sizeof(groups) / sizeof(groups[0]); gi++) {
		const char *sname = groups[gi];
		const json_t *group = json_object_get(ex, sname);
		json_t **store = NULL;
		bool *dirty = NULL;
		const char **keys;
		size_t nkeys;

		if (!json_is_object(group))
			continue;
		if (ctx->stores != NULL) {
			if (strcmp(sname, "mStore") == 0)
				store = &ctx->stores->ms, dirty = &ctx->stores->ms_dirty;
			else if (strcmp(sname, "cStore") == 0)
				store = &ctx->stores->cs, dirty = &ctx->stores->cs_dirty;
			else if (strcmp(sname, "gStore") == 0)
				store = &ctx->stores->gs, dirty = &ctx->stores->gs_dirty;
		}
		keys = mc_object_keys_canonical(group, &nkeys);
		if (nkeys == SIZE_MAX) {
			mc_error_set(err, MC_ENOMEM, "", "out of memory");
			return false;
		}
		for (size_t i = 0; i < nkeys; i++) {
			const char *k = keys[i];
			json_t *v = mc_render_value(json_object_get(group, k), ctx, err);

			if (v == NULL) {
				snprintf(err->path, sizeof(err->path), "$.extract.%s.%s", sname, k);
				free(keys);
				return false;
			}
			if (store != NULL && json_is_object(*store)) {
				json_object_set_new(*store, k, v);
				*dirty = true;
			} else {
				json_decref(v);
			}
		}
		free(keys);
	}
	return true;
}

/*
 * Chooses the response object: oneOf.responses[cursor % n] for order "order"
 * (the default; the cursor then moves to the next index, wrapping), a uniform
 * pick for "random", else the mock's response. Sets *path for error messages.
 */
static const json_t *
pick_response(const json_t *mock, mc_render_ctx *ctx, int64_t *cursor, char *path, size_t pathsz)
{
	const json_t *oneof = json_object_get(mock, "oneOf");
	const json_t *list = json_object_get(oneof, "responses");
	const char *order = json_string_value(json_object_get(oneof, "order"));
	size_t n = json_array_size(list), idx;

	if (n == 0) {
		snprintf(path, pathsz, "$.response");
		return json_object_get(mock, "response");
	}
	if (order != NULL && strcmp(order, "random") == 0) {
		mc_rng own;
		mc_rng *rng = ctx->rng;
		uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;

		if (rng == NULL) {
			mc_rng_seed(&own, (uint64_t)ctx->now);
			rng = &own;
		}
		do
			x = mc_rng_next(rng);
		while (x >= limit);
		idx = (size_t)(x % n);
	} else {
		int64_t c = cursor ? *cursor : 0;

		c %= (int64_t)n;
		if (c < 0)
			c += (int64_t)n;
		idx = (size_t)c;
		if (cursor)
			*cursor = (int64_t)((idx + 1) % n);
	}
	snprintf(path, pathsz, "$.oneOf.responses[%zu]", idx);
	return json_array_get(list, idx);
}

/* Renders header values to {"Name":["v",...]}; a lone value becomes a one-element array. */
static json_t *
render_headers(const json_t *h, mc_render_ctx *ctx, const char *rpath, mc_error *err)
{
	json_t *out = json_object();
	const char **keys = NULL;
	size_t nkeys = 0;

	if (out == NULL)
		goto oom;
	if (!json_is_object(h))
		return out;
	keys = mc_object_keys_canonical(h, &nkeys);
	if (nkeys == SIZE_MAX)
		goto oom;
	for (size_t ki = 0; ki < nkeys; ki++) {
		const char *k = keys[ki];
		const json_t *v = json_object_get(h, k);
		json_t *arr = json_array(), *r;
		size_t n = json_is_array(v) ? json_array_size(v) : 1;

		if (arr == NULL || json_object_set_new(out, k, arr) != 0)
			goto oom;
		for (size_t i = 0; i < n; i++) {
			const json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
			char *text;

			r = mc_render_value(item, ctx, err);
			if (r == NULL) {
				snprintf(err->path, sizeof(err->path), "%s.headers.%s", rpath, k);
				free(keys);
				json_decref(out);
				return NULL;
			}
			if (json_is_null(r)) { /* a missing value sends an empty header */
				json_decref(r);
				r = json_string("");
			} else if (!json_is_string(r)) {
				text = mc_value_text(r);
				json_decref(r);
				r = text ? json_string(text) : NULL;
				free(text);
			}
			if (r == NULL || json_array_append_new(arr, r) != 0)
				goto oom;
		}
	}
	free(keys);
	return out;
oom:
	free(keys);
	json_decref(out);
	mc_error_set(err, MC_ENOMEM, "", "out of memory rendering headers");
	return NULL;
}

/* An integer field: integers as they are, finite reals truncated, anything else def. */
static json_int_t
int_or(const json_t *v, json_int_t def)
{
	double d;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (!json_is_real(v))
		return def;
	d = json_real_value(v);
	return d > -9.0e15 && d < 9.0e15 ? (json_int_t)d : def;
}

static bool
set_rendered(json_t *res, const char *key, const json_t *tmpl, mc_render_ctx *ctx, const char *rpath,
             mc_error *err)
{
	json_t *v = mc_render_value(tmpl, ctx, err);

	if (v == NULL) {
		snprintf(err->path, sizeof(err->path), "%s.%s", rpath, key);
		return false;
	}
	json_object_set_new(res, key, v);
	return true;
}

/*
 * See core.h. Output keys: mockId, statusCode (default 200), headers (always an
 * object), payload (omitted when the response has none), delay (ms, default 0),
 * proxy and decode only when set, and the protocol extras of extra_fields
 * (rendered) when present. The mock store is seeded from the mock's mStore
 * before extract runs. Returns a new reference, or NULL with err set (path
 * names the failing field).
 */
json_t *
mc_resolve_response(const json_t *mock, mc_render_ctx *ctx, int64_t *oneof_cursor, mc_error *err)
{
	mc_error local;
	const json_t *resp, *v, *proxy;
	char rpath[64];
	json_t *res;
	const char *id;

	if (err == NULL)
		err = &local;
	if (!json_is_object(mock) || ctx == NULL) {
		mc_error_set(err, MC_EINVAL, "", "mock must be an object and ctx set");
		return NULL;
	}
	seed_mock_store(mock, ctx->stores);
	if (!run_extract(mock, ctx, err))
		return NULL;
	resp = pick_response(mock, ctx, oneof_cursor, rpath, sizeof(rpath));
	if (!json_is_object(resp))
		resp = NULL;

	res = json_object();
	if (res == NULL) {
		mc_error_set(err, MC_ENOMEM, "", "out of memory");
		return NULL;
	}
	id = json_string_value(json_object_get(mock, "id"));
	json_object_set_new(res, "mockId", json_string(id ? id : ""));
	v = json_object_get(resp, "statusCode");
	json_object_set_new(res, "statusCode", json_integer(int_or(v, 200)));
	{
		json_t *h = render_headers(json_object_get(resp, "headers"), ctx, rpath, err);

		if (h == NULL)
			goto fail;
		json_object_set_new(res, "headers", h);
	}
	v = json_object_get(resp, "payload");
	if (v != NULL && !set_rendered(res, "payload", v, ctx, rpath, err))
		goto fail;
	v = json_object_get(resp, "delay");
	json_object_set_new(res, "delay", json_integer(int_or(v, 0)));
	proxy = json_object_get(json_object_get(mock, "proxy"), "target");
	if (json_is_string(proxy) && json_string_length(proxy) > 0)
		json_object_set_new(res, "proxy", json_copy((json_t *)proxy));
	v = json_object_get(resp, "decode");
	if (json_is_string(v) && json_string_length(v) > 0)
		json_object_set_new(res, "decode", json_copy((json_t *)v));
	for (size_t i = 0; i < sizeof(extra_fields) / sizeof(extra_fields[0]); i++) {
		v = json_object_get(resp, extra_fields[i]);
		if (v != NULL && !set_rendered(res, extra_fields[i], v, ctx, rpath, err))
			goto fail;
	}
	return res;
fail:
	json_decref(res);
	return NULL;
}

/* True when any string inside v uses a store or $.increment. */
static bool
value_uses_state(const json_t *v, int depth)
{
	const char *k;
	json_t *c;
	size_t i;

	if (depth > MC_MAX_JSON_DEPTH)
		return false;
	if (json_is_string(v))
		return mc_template_uses_state(json_string_value(v), json_string_length(v));
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, c) {
			if (value_uses_state(c, depth + 1))
				return true;
		}
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, c) {
			if (value_uses_state(c, depth + 1))
				return true;
		}
	}
	return false;
}

/*
 * See core.h: useLimiter > 0, oneOf with order "order" (also when order is
 * absent, since sequential is the default), a non-empty extract, or a store
 * expression anywhere in response, oneOf or webhooks.
 */
bool
mc_mock_is_stateful(const json_t *mock)
{
	const json_t *v, *oneof, *ex;

	if (!json_is_object(mock))
		return false;
	v = json_object_get(mock, "useLimiter");
	if (json_is_number(v) && json_number_value(v) > 0)
		return true;
	oneof = json_object_get(mock, "oneOf");
	if (json_is_object(oneof) && json_array_size(json_object_get(oneof, "responses")) > 0) {
		const char *order = json_string_value(json_object_get(oneof, "order"));

		if (order == NULL || strcmp(order, "random") != 0)
			return true;
	}
	ex = json_object_get(mock, "extract");
	if (json_is_object(ex)) {
		const char *k;
		json_t *g;

		json_object_foreach ((json_t *)ex, k, g) {
			if (json_is_object(g) && json_object_size(g) > 0)
				return true;
		}
	}
	return value_uses_state(json_object_get(mock, "response"), 0) || value_uses_state(oneof, 0) ||
	       value_uses_state(json_object_get(mock, "webhooks"), 0);
}

/* True when any string inside v (object keys excluded) holds an expression. */
static bool
value_has_expr(const json_t *v, int depth)
{
	const char *k;
	json_t *c;
	size_t i;

	if (depth > MC_MAX_JSON_DEPTH)
		return true;
	if (json_is_string(v))
		return mc_template_has_expr(json_string_value(v), json_string_length(v));
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, c) {
			if (value_has_expr(c, depth + 1))
				return true;
		}
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, c) {
			if (value_has_expr(c, depth + 1))
				return true;
		}
	}
	return false;
}

/*
 * See core.h. Conservative: anything that might vary (oneOf of any order,
 * extract of any shape, an expression of any root) makes the mock non-static.
 */
bool
mc_mock_is_static(const json_t *mock)
{
	const json_t *oneof;

	if (!json_is_object(mock) || mc_mock_is_stateful(mock))
		return false;
	oneof = json_object_get(mock, "oneOf");
	if (json_is_object(oneof) && json_array_size(json_object_get(oneof, "responses")) > 0)
		return false;
	if (json_object_get(mock, "extract") != NULL)
		return false;
	return !value_has_expr(json_object_get(mock, "response"), 0);
}

/*
 * The least budget rendering v charges whatever the request: literal text of
 * each string, object keys, 1 per other scalar (template.c's measure). Stops
 * adding once past cap.
 */
static size_t
static_size(const json_t *v, size_t cap, int depth)
{
	size_t n = 0, i, lit, nexpr;
	const char *k;
	json_t *c;

	if (json_is_string(v)) {
		if (memchr(json_string_value(v), '$', json_string_length(v)) == NULL ||
		    mc_template_measure(json_string_value(v), json_string_length(v), &nexpr, &lit, NULL) !=
		        MC_OK)
			return json_string_length(v);
		return lit;
	}
	if (depth > MC_MAX_JSON_DEPTH)
		return 1;
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, c) {
			n += strlen(k) + static_size(c, cap, depth + 1);
			if (n > cap)
				return n;
		}
		return n;
	}
	if (json_is_array(v)) {
		json_array_foreach (v, i, c) {
			n += static_size(c, cap, depth + 1);
			if (n > cap)
				return n;
		}
		return n;
	}
	return 1;
}

/* The static size of what mc_resolve_response renders of one response object. */
static size_t
response_static_size(const json_t *resp, size_t cap)
{
	const json_t *h = json_object_get(resp, "headers"), *v;
	const char *k;
	size_t n = 0;

	if (json_is_object(h)) {
		json_object_foreach ((json_t *)h, k, v) {
			n += static_size(v, cap, 1); /* header names are not template output */
		}
	}
	if ((v = json_object_get(resp, "payload")) != NULL)
		n += static_size(v, cap, 0);
	for (size_t i = 0; i < sizeof(extra_fields) / sizeof(extra_fields[0]); i++)
		if ((v = json_object_get(resp, extra_fields[i])) != NULL)
			n += static_size(v, cap, 0);
	return n;
}

static mc_status
check_one_output(const json_t *resp, const char *path, size_t limit, mc_error *err)
{
	size_t n;

	if (!json_is_object(resp))
		return MC_OK;
	n = response_static_size(resp, limit);
	if (n <= limit)
		return MC_OK;
	mc_error_set(err, MC_EINVAL, path,
	             "the response renders at least %zu bytes, above the template output limit of %zu bytes",
	             n, limit);
	return MC_EINVAL;
}

/* See core.h. */
mc_status
mc_mock_check_output(const json_t *mock, size_t limit, mc_error *err)
{
	const json_t *list = json_object_get(json_object_get(mock, "oneOf"), "responses"), *r;
	char path[64];
	size_t i;

	if (limit == 0)
		limit = MC_DEFAULT_TEMPLATE_OUTPUT_LIMIT;
	if (check_one_output(json_object_get(mock, "response"), "$.response", limit, err) != MC_OK)
		return MC_EINVAL;
	json_array_foreach (list, i, r) {
		snprintf(path, sizeof(path), "$.oneOf.responses[%zu]", i);
		if (check_one_output(r, path, limit, err) != MC_OK)
			return MC_EINVAL;
	}
	return MC_OK;
}
