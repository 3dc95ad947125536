/*
 * test_jsonpath.c - the condition-path spellings of api-compat 4.5 all reach
 * the same value, and query strings decode the way browsers encode them.
 */
#include "test_util.h"

#include "match_internal.h"

static const char *doc =
	"{\"type\":\"premium\",\"filters\":{\"status\":\"open\"},"
	"\"users\":[{\"id\":7,\"tags\":[\"a\",\"b\"]},{\"id\":8}],"
	"\"body\":{\"inner\":1},\"app.version\":\"1.2\",\"items\":[10,20]}";

static void
test_spellings_reach_same_value(void **state)
{
	json_t *root = J(doc);
	const char *paths[] = {"$.filters.status", "filters.status", "$.body.filters.status",
			       "$.req.filters.status", "$['filters'].status", "$.filters['status']"};

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		json_t *v = mc_jsonpath_get(root, paths[i]);

		assert_non_null(v);
		assert_string_equal(json_string_value(v), "open");
	}
	json_decref(root);
}

static void
test_whole_value(void **state)
{
	json_t *root = J(doc);

	(void)state;
	assert_ptr_equal(mc_jsonpath_get(root, "$"), root);
	assert_ptr_equal(mc_jsonpath_get(root, ""), root);
	assert_ptr_equal(mc_jsonpath_get(root, NULL), root);
	assert_ptr_equal(mc_jsonpath_get(root, "$.body"), root);
	assert_ptr_equal(mc_jsonpath_get(root, "$.req"), root);
	json_decref(root);
}

static void
test_indices(void **state)
{
	json_t *root = J(doc);

	(void)state;
	assert_int_equal(json_integer_value(mc_jsonpath_get(root, "users[0].id")), 7);
	assert_int_equal(json_integer_value(mc_jsonpath_get(root, "$.users[1].id")), 8);
	assert_string_equal(json_string_value(mc_jsonpath_get(root, "$.body.users[0].tags[1]")), "b");
	assert_int_equal(json_integer_value(mc_jsonpath_get(root, "items.1")), 20);
	assert_null(mc_jsonpath_get(root, "users[2].id"));
	assert_null(mc_jsonpath_get(root, "users[x]"));
	assert_null(mc_jsonpath_get(root, "users[0"));
	assert_null(mc_jsonpath_get(root, "type.x"));
	assert_null(mc_jsonpath_get(root, "missing"));
	json_decref(root);

	root = J("[1,[2,3]]");
	assert_int_equal(json_integer_value(mc_jsonpath_get(root, "$[1][0]")), 2);
	/* from the end: a client stream's last message is $[-1] */
	assert_int_equal(json_integer_value(mc_jsonpath_get(root, "$[-1][-1]")), 3);
	assert_int_equal(json_integer_value(mc_jsonpath_get(root, "$[-2]")), 1);
	assert_null(mc_jsonpath_get(root, "$[-3]"));
	assert_null(mc_jsonpath_get(root, "$[-0]"));
	assert_null(mc_jsonpath_get(root, "$[-]"));
	assert_null(mc_jsonpath_get(root, "$[-x]"));
	json_decref(root);
	root = J(doc);
	assert_int_equal(json_integer_value(mc_jsonpath_get(root, "$.req.users[-1].id")), 8);
	assert_null(mc_jsonpath_get(root, "$.type[-1]"));
	json_decref(root);
}

static void
test_body_key_and_dotted_key(void **state)
{
	json_t *root = J(doc);

	(void)state;
	/* "$.body.inner" finds nothing under the body root, then the literal "body" key. */
	assert_int_equal(json_integer_value(mc_jsonpath_get(root, "$.body.inner")), 1);
	/* Store keys may contain dots. */
	assert_string_equal(json_string_value(mc_jsonpath_get(root, "$.app.version")), "1.2");
	json_decref(root);
}

static void
test_depth_is_bounded(void **state)
{
	char path[4096];
	size_t o = 0;
	json_t *root = J("{\"a\":1}");

	(void)state;
	for (int i = 0; i < 1000; i++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "a.");
	path[o - 1] = '\0';
	assert_null(mc_jsonpath_get(root, path));
	assert_null(mc_jsonpath_get(NULL, "a"));
	json_decref(root);
}

static void
test_query_parse(void **state)
{
	json_t *q = mc_query_parse("a=1&b=x%20y&a=2&c=hello+world&flag&&d=%zz&e=%E2%9C%93&f=%FF");
	json_t *want = J("{\"a\":[\"1\",\"2\"],\"b\":[\"x y\"],\"c\":[\"hello world\"],\"flag\":[\"\"],"
			 "\"d\":[\"%zz\"],\"e\":[\"\\u2713\"],\"f\":[\"\\ufffd\"]}");

	(void)state;
	assert_true(json_equal(q, want));
	json_decref(q);
	json_decref(want);

	q = mc_query_parse(NULL);
	assert_int_equal(json_object_size(q), 0);
	json_decref(q);
	q = mc_query_parse("?x=%41");
	assert_string_equal(json_string_value(json_array_get(json_object_get(q, "x"), 0)), "A");
	json_decref(q);
	q = mc_query_parse("k%3D1=v%26w");
	assert_string_equal(json_string_value(json_array_get(json_object_get(q, "k=1"), 0)), "v&w");
	json_decref(q);
}

static void
test_relative(void **state)
{
	(void)state;
	assert_string_equal(mc_jsonpath_relative("$.body.a"), "a");
	assert_string_equal(mc_jsonpath_relative("$.req.a[0]"), "a[0]");
	assert_string_equal(mc_jsonpath_relative("$.a"), "a");
	assert_string_equal(mc_jsonpath_relative("$"), "");
	assert_string_equal(mc_jsonpath_relative("$.bodyguard"), "bodyguard");
	assert_string_equal(mc_jsonpath_relative("a.b"), "a.b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spellings_reach_same_value),
		cmocka_unit_test(test_whole_value),
		cmocka_unit_test(test_indices),
		cmocka_unit_test(test_body_key_and_dotted_key),
		cmocka_unit_test(test_depth_is_bounded),
		cmocka_unit_test(test_query_parse),
		cmocka_unit_test(test_relative),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
