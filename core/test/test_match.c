/*
 * test_match.c - which mock answers a request: routes and path parameters,
 * methods, priority / specificity / newness order, pathPrefix, routePattern,
 * every assertAction (and its negative), query and header lists, replacement
 * and removal, and a 100,000-mock index that still matches in microseconds.
 */
#include "test_util.h"

#include "match_internal.h"

#include <time.h>

/* Puts a mock given as JSON text; fails the test when the index refuses it. */
static void
put(mc_index *idx, const char *mock_json, int64_t seq)
{
	json_t *m = J(mock_json);
	mc_error err = {0};

	if (mc_index_put(idx, m, seq, &err) != MC_OK)
		fail_msg("put failed: %s: %s", err.path, err.msg);
	json_decref(m);
}

/*
 * Matches and returns the winning mock's id ("" for a mock without id, NULL
 * for no match); params receives the path params (new ref) when non-NULL.
 */
static const char *
match_full(mc_index *idx, const char *ns, const char *method, const char *path, const char *query,
	   const char *headers, const char *body, json_t **params)
{
	static char id[128];
	treq t;
	mc_match m;
	mc_status st;

	treq_init(&t, method, path, query, headers, body);
	st = mc_index_match(idx, ns, &t.r, NULL, NULL, &m);
	treq_free(&t);
	if (st != MC_OK)
		return NULL;
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(m.mock, "id")) ?: "");
	if (params)
		*params = json_incref(m.path_params);
	mc_match_clear(&m);
	return id;
}

static const char *
match(mc_index *idx, const char *method, const char *path)
{
	return match_full(idx, NULL, method, path, NULL, NULL, NULL, NULL);
}

static void
test_route_params_and_methods(void **state)
{
	mc_index *idx = mc_index_new();
	json_t *params = NULL;

	(void)state;
	put(idx, "{\"id\":\"get-user\",\"http\":{\"route\":\"/api/users/:id\",\"httpMethod\":\"GET\"}}", 1);
	put(idx, "{\"id\":\"del-user\",\"http\":{\"route\":\"/api/users/:userId\",\"httpMethod\":\"delete\"}}", 2);
	put(idx, "{\"id\":\"any-order\",\"http\":{\"route\":\"/api/orders/{orderId}/items/:item\"}}", 3);
	put(idx, "{\"id\":\"root\",\"http\":{\"route\":\"/\"}}", 4);

	assert_string_equal(match_full(idx, NULL, "GET", "/api/users/123", NULL, NULL, NULL, &params), "get-user");
	assert_string_equal(json_string_value(json_object_get(params, "id")), "123");
	json_decref(params);

	/* The DELETE mock names the same position differently. */
	assert_string_equal(match_full(idx, NULL, "DELETE", "/api/users/9", NULL, NULL, NULL, &params), "del-user");
	assert_string_equal(json_string_value(json_object_get(params, "userId")), "9");
	assert_null(json_object_get(params, "id"));
	json_decref(params);

	assert_null(match(idx, "POST", "/api/users/1"));
	assert_null(match(idx, "GET", "/api/users"));
	assert_null(match(idx, "GET", "/api/users/1/extra"));

	/* No httpMethod = any method; {name} is a parameter too. */
	assert_string_equal(match_full(idx, NULL, "PATCH", "/api/orders/5/items/x", NULL, NULL, NULL, &params),
			    "any-order");
	assert_string_equal(json_string_value(json_object_get(params, "orderId")), "5");
	assert_string_equal(json_string_value(json_object_get(params, "item")), "x");
	json_decref(params);

	/* Trailing slashes are ignored, "/" is its own route. */
	assert_string_equal(match(idx, "GET", "/api/users/1/"), "get-user");
	assert_string_equal(match(idx, "GET", "/"), "root");
	assert_string_equal(match(idx, "GET", ""), "root");
	assert_null(match(idx, "GET", "/nothing"));
	/* Another namespace sees none of these. */
	assert_null(match_full(idx, "other", "GET", "/api/users/1", NULL, NULL, NULL, NULL));
	mc_index_free(idx);
}

static void
test_order_priority_specificity_newness(void **state)
{
	mc_index *idx = mc_index_new();

	(void)state;
	put(idx, "{\"id\":\"param\",\"http\":{\"route\":\"/u/:id\"}}", 1);
	put(idx, "{\"id\":\"literal\",\"http\":{\"route\":\"/u/me\"}}", 2);
	/* More literal segments win at equal priority... */
	assert_string_equal(match(idx, "GET", "/u/me"), "literal");
	assert_string_equal(match(idx, "GET", "/u/you"), "param");

	/* ...but priority beats specificity. */
	put(idx, "{\"id\":\"param\",\"http\":{\"route\":\"/u/:id\"},\"priority\":5}", 3);
	assert_string_equal(match(idx, "GET", "/u/me"), "param");

	/* Same priority and specificity: the newest (greatest seq) wins. */
	put(idx, "{\"id\":\"a\",\"http\":{\"route\":\"/same\"}}", 10);
	put(idx, "{\"id\":\"b\",\"http\":{\"route\":\"/same\"}}", 11);
	assert_string_equal(match(idx, "GET", "/same"), "b");
	put(idx, "{\"id\":\"a\",\"http\":{\"route\":\"/same\"}}", 12); /* re-saved: now newest */
	assert_string_equal(match(idx, "GET", "/same"), "a");

	/* Negative priority sinks below the default. */
	put(idx, "{\"id\":\"low\",\"http\":{\"route\":\"/same\"},\"priority\":-1}", 13);
	assert_string_equal(match(idx, "GET", "/same"), "a");

	/* Route before routePattern at equal priority and literals. */
	put(idx, "{\"id\":\"pat\",\"http\":{\"routePattern\":\"/x/[0-9]+\"}}", 20);
	put(idx, "{\"id\":\"rt\",\"http\":{\"route\":\"/x/:n\"}}", 19);
	assert_string_equal(match(idx, "GET", "/x/42"), "rt");
	assert_string_equal(match(idx, "GET", "/x/4/"), "rt");
	mc_index_remove(idx, "sandbox", "rt");
	assert_string_equal(match(idx, "GET", "/x/42"), "pat");
	/* Anchored over the whole path. */
	assert_null(match(idx, "GET", "/x/42/more"));
	assert_null(match(idx, "GET", "/pre/x/42"));
	mc_index_free(idx);
}

static void
test_replace_remove_closed(void **state)
{
	mc_index *idx = mc_index_new();

	(void)state;
	put(idx, "{\"id\":\"m\",\"http\":{\"route\":\"/old\"}}", 1);
	assert_int_equal(mc_index_count(idx), 1);
	put(idx, "{\"id\":\"m\",\"http\":{\"route\":\"/new\"}}", 2);
	assert_int_equal(mc_index_count(idx), 1);
	assert_null(match(idx, "GET", "/old"));
	assert_string_equal(match(idx, "GET", "/new"), "m");

	/* Same id in another namespace is another mock. */
	put(idx, "{\"id\":\"m\",\"namespace\":\"team-a\",\"http\":{\"route\":\"/new\"}}", 3);
	assert_int_equal(mc_index_count(idx), 2);
	assert_string_equal(match_full(idx, "team-a", "GET", "/new", NULL, NULL, NULL, NULL), "m");

	/* A soft-deleted version replaces and hides the live one. */
	put(idx, "{\"id\":\"m\",\"http\":{\"route\":\"/new\"},\"closedAt\":1700000000}", 4);
	assert_int_equal(mc_index_count(idx), 1);
	assert_null(match(idx, "GET", "/new"));
	put(idx, "{\"id\":\"c\",\"http\":{\"route\":\"/c\"},\"_meta\":{\"closedAt\":5}}", 5);
	assert_null(match(idx, "GET", "/c"));

	assert_true(mc_index_remove(idx, "team-a", "m"));
	assert_false(mc_index_remove(idx, "team-a", "m"));
	assert_int_equal(mc_index_count(idx), 0);

	/* Non-HTTP mocks are held but never match HTTP. */
	put(idx, "{\"id\":\"g\",\"grpc\":{\"service\":\"s\",\"method\":\"m\"}}", 6);
	assert_int_equal(mc_index_count(idx), 1);
	assert_null(match(idx, "GET", "/"));
	mc_index_free(idx);
}

static void
test_prefix_pattern_wildcard(void **state)
{
	mc_index *idx = mc_index_new();
	json_t *params = NULL;

	(void)state;
	put(idx, "{\"id\":\"pet\",\"pathPrefix\":\"/petstore\",\"http\":{\"route\":\"/pets/:petId\"}}", 1);
	put(idx, "{\"id\":\"catchall\",\"pathPrefix\":\"/petstore/\",\"http\":{\"httpMethod\":\"GET\"},\"priority\":-5}",
	    2);
	put(idx, "{\"id\":\"rx\",\"pathPrefix\":\"/v2\",\"http\":{\"routePattern\":\"/files/(?<name>[a-z]+)\\\\.json\"}}",
	    3);
	put(idx, "{\"id\":\"star\",\"http\":{\"route\":\"/static/*\"}}", 4);

	assert_string_equal(match_full(idx, NULL, "GET", "/petstore/pets/7", NULL, NULL, NULL, &params), "pet");
	assert_string_equal(json_string_value(json_object_get(params, "petId")), "7");
	json_decref(params);
	assert_null(match(idx, "GET", "/pets/7")); /* prefix is required */
	assert_string_equal(match(idx, "GET", "/petstore/anything/else"), "catchall");
	assert_string_equal(match(idx, "GET", "/petstore"), "catchall");
	assert_null(match(idx, "GET", "/petstorefront"));
	assert_null(match(idx, "POST", "/petstore/x"));

	assert_string_equal(match_full(idx, NULL, "GET", "/v2/files/report.json", NULL, NULL, NULL, &params), "rx");
	assert_string_equal(json_string_value(json_object_get(params, "name")), "report");
	json_decref(params);
	assert_null(match(idx, "GET", "/files/report.json"));
	assert_null(match(idx, "GET", "/v2/files/Report.json"));

	assert_string_equal(match(idx, "GET", "/static/css/site.css"), "star");
	assert_string_equal(match(idx, "GET", "/static"), "star");
	assert_null(match(idx, "GET", "/stat"));
	mc_index_free(idx);
}

/* ------------------------------------------------------------ conditions */

static bool
holds(const char *cond, const char *actual)
{
	json_t *c = J(cond);
	json_t *a = actual ? J(actual) : NULL;
	bool r = mc_condition_eval(c, a, false);

	json_decref(c);
	json_decref(a);
	return r;
}

static void
test_condition_actions(void **state)
{
	(void)state;
	/* equals: JSON equality, numbers by value, strings vs scalars coerced. */
	assert_true(holds("{\"assertAction\":\"equals\",\"value\":\"premium\"}", "\"premium\""));
	assert_false(holds("{\"assertAction\":\"equals\",\"value\":\"premium\"}", "\"basic\""));
	assert_false(holds("{\"assertAction\":\"equals\",\"value\":\"premium\"}", NULL));
	assert_true(holds("{\"assertAction\":\"equals\",\"value\":5}", "\"5\""));
	assert_true(holds("{\"assertAction\":\"equals\",\"value\":\"5\"}", "5"));
	assert_true(holds("{\"assertAction\":\"equals\",\"value\":5}", "5.0"));
	assert_true(holds("{\"assertAction\":\"equals\",\"value\":true}", "\"true\""));
	assert_false(holds("{\"assertAction\":\"equals\",\"value\":5}", "\"5x\""));
	assert_true(holds("{\"assertAction\":\"equals\",\"value\":{\"a\":[1,2]}}", "{\"a\":[1,2]}"));
	assert_false(holds("{\"assertAction\":\"equals\",\"value\":{\"a\":[1,2]}}", "{\"a\":[2,1]}"));
	assert_true(holds("{\"value\":\"x\"}", "\"x\"")); /* absent action = equals */

	/* sortArray: order-insensitive arrays, per condition or by context default. */
	assert_true(holds("{\"assertAction\":\"equals\",\"value\":{\"a\":[1,2,2]},\"sortArray\":true}",
			  "{\"a\":[2,1,2]}"));
	assert_false(holds("{\"assertAction\":\"equals\",\"value\":[1,2,2],\"sortArray\":true}", "[2,1,1]"));
	{
		json_t *c = J("{\"assertAction\":\"equals\",\"value\":[\"a\",\"b\"]}");
		json_t *a = J("[\"b\",\"a\"]");

		assert_true(mc_condition_eval(c, a, true));
		assert_false(mc_condition_eval(c, a, false));
		json_decref(c);
		json_decref(a);
	}

	assert_true(holds("{\"assertAction\":\"not_equals\",\"value\":\"a\"}", "\"b\""));
	assert_false(holds("{\"assertAction\":\"not_equals\",\"value\":\"a\"}", "\"a\""));
	assert_true(holds("{\"assertAction\":\"not_equals\",\"value\":\"a\"}", NULL));

	/* contains: substring, element, subset. */
	assert_true(holds("{\"assertAction\":\"contains\",\"value\":\"@myapp.com\"}", "\"bob@myapp.com\""));
	assert_false(holds("{\"assertAction\":\"contains\",\"value\":\"@myapp.com\"}", "\"bob@other.com\""));
	assert_true(holds("{\"assertAction\":\"contains\",\"value\":\"b\"}", "[\"a\",\"b\"]"));
	assert_false(holds("{\"assertAction\":\"contains\",\"value\":\"c\"}", "[\"a\",\"b\"]"));
	assert_true(holds("{\"assertAction\":\"contains\",\"value\":[\"b\",\"a\"]}", "[\"a\",\"b\",\"c\"]"));
	assert_true(holds("{\"assertAction\":\"contains\",\"value\":{\"id\":2}}", "[{\"id\":1},{\"id\":2,\"x\":0}]"));
	assert_true(holds("{\"assertAction\":\"contains\",\"value\":{\"a\":1,\"n\":{\"b\":2}}}",
			  "{\"a\":1,\"z\":9,\"n\":{\"b\":2,\"c\":3}}"));
	assert_false(holds("{\"assertAction\":\"contains\",\"value\":{\"a\":2}}", "{\"a\":1}"));
	assert_false(holds("{\"assertAction\":\"contains\",\"value\":\"x\"}", NULL));
	assert_true(holds("{\"assertAction\":\"not_contains\",\"value\":\"x\"}", "\"abc\""));
	assert_false(holds("{\"assertAction\":\"not_contains\",\"value\":\"b\"}", "\"abc\""));
	assert_false(holds("{\"assertAction\":\"not_contains\",\"value\":\"b\"}", "[\"a\",\"b\"]"));
	assert_true(holds("{\"assertAction\":\"not_contains\",\"value\":\"b\"}", NULL));

	/* any = present (even null); notEmpty / empty. */
	assert_true(holds("{\"assertAction\":\"any\"}", "null"));
	assert_true(holds("{\"assertAction\":\"any\"}", "\"\""));
	assert_false(holds("{\"assertAction\":\"any\"}", NULL));
	assert_true(holds("{\"assertAction\":\"notEmpty\"}", "\"x\""));
	assert_true(holds("{\"assertAction\":\"notEmpty\"}", "0"));
	assert_true(holds("{\"assertAction\":\"notEmpty\"}", "false"));
	const char *empties[] = {NULL, "null", "\"\"", "[]", "{}"};
	for (size_t i = 0; i < 5; i++) {
		assert_true(holds("{\"assertAction\":\"empty\"}", empties[i]));
		assert_false(holds("{\"assertAction\":\"notEmpty\"}", empties[i]));
	}
	assert_false(holds("{\"assertAction\":\"empty\"}", "[0]"));

	/* matches: PCRE2 on the string form. */
	assert_true(holds("{\"assertAction\":\"matches\",\"value\":\"^Bearer .+$\"}", "\"Bearer abc\""));
	assert_false(holds("{\"assertAction\":\"matches\",\"value\":\"^Bearer .+$\"}", "\"Basic abc\""));
	assert_true(holds("{\"assertAction\":\"matches\",\"value\":\"^[0-9]{3}$\"}", "404"));
	assert_false(holds("{\"assertAction\":\"matches\",\"value\":\"(\"}", "\"(\""));
	assert_false(holds("{\"assertAction\":\"matches\",\"value\":\".*\"}", NULL));
	/* Catastrophic backtracking stops at the match limit and counts as no match. */
	assert_false(holds("{\"assertAction\":\"matches\",\"value\":\"^(a+)+$\"}",
			   "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\""));

	/* decode base64, then compare (as JSON when it is JSON). */
	assert_true(holds("{\"assertAction\":\"equals\",\"value\":\"hello\",\"decode\":\"base64\"}", "\"aGVsbG8=\""));
	assert_true(holds("{\"assertAction\":\"equals\",\"value\":\"hello\",\"decode\":\"base64\"}", "\"aGVsbG8\""));
	assert_true(holds("{\"path\":\"$\",\"assertAction\":\"equals\",\"value\":{\"a\":1},\"decode\":\"base64\"}",
			  "\"eyJhIjoxfQ==\""));
	assert_false(holds("{\"assertAction\":\"equals\",\"value\":\"hello\",\"decode\":\"base64\"}", "\"hello\""));
	assert_false(holds("{\"assertAction\":\"equals\",\"value\":\"x\",\"decode\":\"base64\"}", "\"!!!\""));

	/* Plugin matchers are not available in core: never match. */
	assert_false(holds("{\"assertAction\":\"plugin:luhn\"}", "\"4111111111111111\""));
	assert_false(holds("{\"assertAction\":\"bogus\",\"value\":1}", "1"));
}

static void
test_body_conditions_in_index(void **state)
{
	mc_index *idx = mc_index_new();

	(void)state;
	put(idx,
	    "{\"id\":\"premium\",\"http\":{\"route\":\"/orders\",\"httpMethod\":\"POST\",\"conditions\":["
	    "{\"path\":\"$.type\",\"assertAction\":\"equals\",\"value\":\"premium\"},"
	    "{\"path\":\"items\",\"assertAction\":\"contains\",\"value\":\"book\"},"
	    "{\"path\":\"$.body.customer.email\",\"assertAction\":\"matches\",\"value\":\"@corp\\\\.com$\"}]}}",
	    1);
	put(idx, "{\"id\":\"fallback\",\"http\":{\"route\":\"/orders\",\"httpMethod\":\"POST\"},\"priority\":-1}", 2);
	put(idx,
	    "{\"id\":\"by-param\",\"http\":{\"route\":\"/p/:id\",\"conditions\":["
	    "{\"path\":\"$.pathParam.id\",\"assertAction\":\"equals\",\"value\":42},"
	    "{\"path\":\"$.queryParam.mode\",\"assertAction\":\"equals\",\"value\":\"x\"},"
	    "{\"path\":\"$.reqHeader.X-Env\",\"assertAction\":\"equals\",\"value\":\"ci\"}]}}",
	    3);
	put(idx, "{\"id\":\"raw\",\"http\":{\"route\":\"/raw\",\"conditions\":["
		 "{\"path\":\"$\",\"assertAction\":\"contains\",\"value\":\"ping\"}]}}",
	    4);

	assert_string_equal(match_full(idx, NULL, "POST", "/orders", NULL, NULL,
				       "{\"type\":\"premium\",\"items\":[\"pen\",\"book\"],"
				       "\"customer\":{\"email\":\"a@corp.com\"}}",
				       NULL),
			    "premium");
	/* Each condition failing alone falls back (AND semantics). */
	assert_string_equal(match_full(idx, NULL, "POST", "/orders", NULL, NULL,
				       "{\"type\":\"basic\",\"items\":[\"book\"],\"customer\":{\"email\":\"a@corp.com\"}}",
				       NULL),
			    "fallback");
	assert_string_equal(match_full(idx, NULL, "POST", "/orders", NULL, NULL,
				       "{\"type\":\"premium\",\"items\":[\"pen\"],\"customer\":{\"email\":\"a@corp.com\"}}",
				       NULL),
			    "fallback");
	assert_string_equal(match_full(idx, NULL, "POST", "/orders", NULL, NULL,
				       "{\"type\":\"premium\",\"items\":[\"book\"],\"customer\":{\"email\":\"a@corp.org\"}}",
				       NULL),
			    "fallback");
	assert_string_equal(match_full(idx, NULL, "POST", "/orders", NULL, NULL, "not json", NULL), "fallback");

	assert_string_equal(match_full(idx, NULL, "GET", "/p/42", "mode=x", "{\"x-env\":\"ci\"}", NULL, NULL),
			    "by-param");
	assert_null(match_full(idx, NULL, "GET", "/p/43", "mode=x", "{\"X-Env\":\"ci\"}", NULL, NULL));
	assert_null(match_full(idx, NULL, "GET", "/p/42", "mode=y", "{\"X-Env\":\"ci\"}", NULL, NULL));
	assert_null(match_full(idx, NULL, "GET", "/p/42", "mode=x", NULL, NULL, NULL));

	assert_string_equal(match_full(idx, NULL, "POST", "/raw", NULL, NULL, "ping pong", NULL), "raw");
	assert_null(match_full(idx, NULL, "POST", "/raw", NULL, NULL, "pong", NULL));
	mc_index_free(idx);
}

static void
test_query_and_header_lists(void **state)
{
	mc_index *idx = mc_index_new();

	(void)state;
	put(idx,
	    "{\"id\":\"user-get\",\"http\":{\"route\":\"/api/users/:id\",\"httpMethod\":\"GET\","
	    "\"header\":[{\"path\":\"Authorization\",\"assertAction\":\"notEmpty\"},"
	    "{\"path\":\"$.x-tenant\",\"assertAction\":\"equals\",\"value\":7}],"
	    "\"queryParams\":[{\"path\":\"format\",\"assertAction\":\"equals\",\"value\":\"full\"},"
	    "{\"path\":\"$.tag\",\"assertAction\":\"contains\",\"value\":\"vip\"},"
	    "{\"path\":\"debug\",\"assertAction\":\"empty\"}]}}",
	    1);
	const char *h = "{\"AUTHORIZATION\":\"Bearer t\",\"X-Tenant\":\"7\"}";

	assert_string_equal(match_full(idx, NULL, "GET", "/api/users/1", "format=full&tag=a&tag=vip", h, NULL, NULL),
			    "user-get");
	assert_null(match_full(idx, NULL, "GET", "/api/users/1", "format=short&tag=vip", h, NULL, NULL));
	assert_null(match_full(idx, NULL, "GET", "/api/users/1", "format=full&tag=a", h, NULL, NULL));
	assert_null(match_full(idx, NULL, "GET", "/api/users/1", "format=full&tag=vip&debug=1", h, NULL, NULL));
	assert_null(match_full(idx, NULL, "GET", "/api/users/1", "format=full&tag=vip", "{\"X-Tenant\":\"7\"}",
			       NULL, NULL));
	assert_null(match_full(idx, NULL, "GET", "/api/users/1", "format=full&tag=vip",
			       "{\"Authorization\":\"\",\"X-Tenant\":\"7\"}", NULL, NULL));
	assert_null(match_full(idx, NULL, "GET", "/api/users/1", "format=full&tag=vip",
			       "{\"Authorization\":\"x\",\"X-Tenant\":\"8\"}", NULL, NULL));
	mc_index_free(idx);

	/* List-level actions directly: not_contains over all values, array equality. */
	json_t *vals = J("[\"a\",\"b\"]");
	json_t *c1 = J("{\"path\":\"t\",\"assertAction\":\"not_contains\",\"value\":\"b\"}");
	json_t *c2 = J("{\"path\":\"t\",\"assertAction\":\"equals\",\"value\":[\"a\",\"b\"]}");
	json_t *c3 = J("{\"path\":\"t\",\"assertAction\":\"equals\",\"value\":\"a\"}");
	json_t *c4 = J("{\"path\":\"t\",\"assertAction\":\"any\"}");

	assert_false(mc_condition_eval_list(c1, vals, false, NULL));
	assert_true(mc_condition_eval_list(c1, NULL, false, NULL));
	assert_true(mc_condition_eval_list(c2, vals, false, NULL));
	assert_true(mc_condition_eval_list(c3, vals, false, NULL));
	assert_true(mc_condition_eval_list(c4, vals, false, NULL));
	assert_false(mc_condition_eval_list(c4, NULL, false, NULL));
	json_decref(vals);
	json_decref(c1);
	json_decref(c2);
	json_decref(c3);
	json_decref(c4);
}

/* Skips mocks whose id is in ctx (a NULL-terminated list). */
static bool
skip_ids(void *ctx, const json_t *mock)
{
	const char **ids = ctx;

	for (; *ids; ids++)
		if (strcmp(*ids, json_string_value(json_object_get(mock, "id"))) == 0)
			return true;
	return false;
}

static void
test_skip_callback(void **state)
{
	mc_index *idx = mc_index_new();
	const char *spent[] = {"limited", NULL};
	treq t;
	mc_match m;

	(void)state;
	put(idx, "{\"id\":\"limited\",\"http\":{\"route\":\"/s\"},\"priority\":9,\"useLimiter\":1}", 1);
	put(idx, "{\"id\":\"other\",\"http\":{\"route\":\"/s\"}}", 2);
	treq_init(&t, "GET", "/s", NULL, NULL, NULL);
	assert_int_equal(mc_index_match(idx, NULL, &t.r, skip_ids, spent, &m), MC_OK);
	assert_string_equal(json_string_value(json_object_get(m.mock, "id")), "other");
	mc_match_clear(&m);
	assert_int_equal(mc_index_match(idx, NULL, &t.r, NULL, NULL, &m), MC_OK);
	assert_string_equal(json_string_value(json_object_get(m.mock, "id")), "limited");
	mc_match_clear(&m);
	treq_free(&t);
	mc_index_free(idx);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
test_100k_mocks_stay_fast(void **state)
{
	enum { N = 100000, PROBES = 2000 };
	mc_index *idx = mc_index_new();
	char buf[256], path[128];
	double t0, per;

	(void)state;
	for (int i = 0; i < N; i++) {
		json_t *m;

		snprintf(buf, sizeof(buf),
			 "{\"id\":\"m%d\",\"http\":{\"route\":\"/svc%d/items/:id/detail%d\",\"httpMethod\":\"GET\"}}",
			 i, i % 1000, i);
		m = J(buf);
		assert_int_equal(mc_index_put(idx, m, i, NULL), MC_OK);
		json_decref(m);
	}
	/* A catch-all at low priority and a pattern mock are always candidates. */
	put(idx, "{\"id\":\"catch\",\"http\":{\"route\":\"/*\"},\"priority\":-100}", N + 1);
	assert_int_equal(mc_index_count(idx), N + 1);

	t0 = now_us();
	for (int p = 0; p < PROBES; p++) {
		int i = (p * 7919) % N;
		json_t *params = NULL;
		const char *id;

		snprintf(path, sizeof(path), "/svc%d/items/%d/detail%d", i % 1000, p, i);
		id = match_full(idx, NULL, "GET", path, NULL, NULL, NULL, &params);
		snprintf(buf, sizeof(buf), "m%d", i);
		assert_non_null(id);
		assert_string_equal(id, buf);
		assert_int_equal(atoi(json_string_value(json_object_get(params, "id"))), p);
		json_decref(params);
	}
	per = (now_us() - t0) / PROBES;
	print_message("# 100k mocks: %.2f us per match (incl. request setup)\n", per);
	assert_true(per < 200.0); /* generous for shared CI machines; typically a few us */

	assert_string_equal(match(idx, "GET", "/svc1/items/1/nothing"), "catch");
	/* Replacing and removing in a big index keeps the rest intact. */
	put(idx, "{\"id\":\"m5\",\"http\":{\"route\":\"/moved\"}}", N + 2);
	assert_string_equal(match(idx, "GET", "/svc5/items/1/detail5"), "catch");
	assert_string_equal(match(idx, "GET", "/moved"), "m5");
	assert_true(mc_index_remove(idx, "sandbox", "m6"));
	assert_string_equal(match(idx, "GET", "/svc6/items/1/detail6"), "catch");
	assert_string_equal(match(idx, "GET", "/svc7/items/1/detail7"), "m7");
	mc_index_free(idx);
}

/* Matches a gRPC call: path "/svc/method", metadata as headers, message JSON. */
static const char *
match_grpc(mc_index *idx, const char *path, const char *meta, const char *msg)
{
	static char id[128];
	treq t;
	mc_match m;
	mc_status st;

	treq_init(&t, "unary", path, NULL, meta, msg);
	t.r.protocol = MC_PROTO_GRPC;
	st = mc_index_match(idx, NULL, &t.r, NULL, NULL, &m);
	treq_free(&t);
	if (st != MC_OK)
		return NULL;
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(m.mock, "id")) ?: "");
	mc_match_clear(&m);
	return id;
}

static void
test_grpc_mocks(void **state)
{
	mc_index *idx = mc_index_new();
	mc_error err = {0};
	json_t *bad;

	(void)state;
	put(idx, "{\"id\":\"g-any\",\"grpc\":{\"service\":\"shop.v1.Shop\",\"method\":\"GetItem\","
		 "\"methodType\":\"unary\"}}", 1);
	put(idx, "{\"id\":\"g-cond\",\"grpc\":{\"service\":\"shop.v1.Shop\",\"method\":\"GetItem\","
		 "\"conditions\":[{\"path\":\"$.req.id\",\"assertAction\":\"equals\",\"value\":\"42\"}]}}", 2);
	put(idx, "{\"id\":\"g-meta\",\"priority\":5,\"grpc\":{\"service\":\"shop.v1.Shop\",\"method\":\"GetItem\","
		 "\"meta\":[{\"path\":\"x-tenant\",\"assertAction\":\"equals\",\"value\":\"acme\"}]}}", 3);
	put(idx, "{\"id\":\"g-meta2\",\"grpc\":{\"serviceName\":\"shop.v1.Shop\",\"method\":\"List\","
		 "\"meta\":[{\"path\":\"$.meta.x-user\",\"assertAction\":\"matches\",\"value\":\"^u[0-9]+$\"}]}}", 4);
	put(idx, "{\"id\":\"g-cs\",\"grpc\":{\"service\":\"shop.v1.Shop\",\"method\":\"Upload\","
		 "\"methodType\":\"client-stream\",\"conditions\":[{\"path\":\"$[1].sku\",\"assertAction\":"
		 "\"equals\",\"value\":\"b\"}]}}", 5);
	put(idx, "{\"id\":\"h\",\"http\":{\"route\":\"/shop.v1.Shop/GetItem\"}}", 6);
	put(idx, "{\"id\":\"g-bad\",\"grpc\":{\"method\":\"NoService\"}}", 7);

	/* Conditions on the message, as on an HTTP body; meta like headers. */
	assert_string_equal(match_grpc(idx, "/shop.v1.Shop/GetItem", NULL, "{\"id\":\"42\"}"), "g-cond");
	assert_string_equal(match_grpc(idx, "/shop.v1.Shop/GetItem", NULL, "{\"id\":\"7\"}"), "g-any");
	assert_string_equal(match_grpc(idx, "/shop.v1.Shop/GetItem", "{\"X-Tenant\":\"acme\"}", "{\"id\":\"42\"}"),
			    "g-meta");
	assert_string_equal(match_grpc(idx, "/shop.v1.Shop/List", "{\"x-user\":\"u17\"}", "{}"), "g-meta2");
	assert_null(match_grpc(idx, "/shop.v1.Shop/List", "{\"x-user\":\"admin\"}", "{}"));
	/* Client-streaming: the message JSON is the array of collected messages. */
	assert_string_equal(match_grpc(idx, "/shop.v1.Shop/Upload", NULL, "[{\"sku\":\"a\"},{\"sku\":\"b\"}]"),
			    "g-cs");
	assert_null(match_grpc(idx, "/shop.v1.Shop/Upload", NULL, "[{\"sku\":\"b\"}]"));
	/* Unknown method and service: nothing, never the HTTP mock on the same path. */
	assert_null(match_grpc(idx, "/shop.v1.Shop/Nope", NULL, "{}"));
	assert_null(match_grpc(idx, "/other.Svc/GetItem", NULL, "{}"));
	/* HTTP traffic never reaches a gRPC mock, gRPC never an HTTP mock. */
	assert_string_equal(match(idx, "POST", "/shop.v1.Shop/GetItem"), "h");
	assert_null(match(idx, "POST", "/shop.v1.Shop/List"));
	assert_null(match(idx, "POST", "/shop.v1.Shop/Upload"));
	assert_int_equal(mc_index_count(idx), 7);

	/* Replacement and removal keep the per-method lists right. */
	put(idx, "{\"id\":\"g-cond\",\"grpc\":{\"service\":\"shop.v1.Shop\",\"method\":\"Other\"}}", 8);
	assert_string_equal(match_grpc(idx, "/shop.v1.Shop/GetItem", NULL, "{\"id\":\"42\"}"), "g-any");
	assert_string_equal(match_grpc(idx, "/shop.v1.Shop/Other", NULL, "{}"), "g-cond");
	assert_true(mc_index_remove(idx, NULL, "g-any"));
	assert_null(match_grpc(idx, "/shop.v1.Shop/GetItem", NULL, "{\"id\":\"7\"}"));
	assert_true(mc_index_remove(idx, NULL, "g-cond"));
	assert_null(match_grpc(idx, "/shop.v1.Shop/Other", NULL, "{}"));

	/* A bad regex in meta is refused with the field path. */
	bad = J("{\"id\":\"g-re\",\"grpc\":{\"service\":\"s.S\",\"method\":\"M\",\"meta\":[{\"path\":\"a\","
		"\"assertAction\":\"matches\",\"value\":\"(\"}]}}");
	assert_int_equal(mc_index_put(idx, bad, 9, &err), MC_EINVAL);
	assert_string_equal(err.path, "$.grpc.meta[0].value");
	json_decref(bad);
	mc_index_free(idx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_params_and_methods),
		cmocka_unit_test(test_order_priority_specificity_newness),
		cmocka_unit_test(test_replace_remove_closed),
		cmocka_unit_test(test_prefix_pattern_wildcard),
		cmocka_unit_test(test_condition_actions),
		cmocka_unit_test(test_body_conditions_in_index),
		cmocka_unit_test(test_query_and_header_lists),
		cmocka_unit_test(test_skip_callback),
		cmocka_unit_test(test_100k_mocks_stay_fast),
		cmocka_unit_test(test_grpc_mocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
