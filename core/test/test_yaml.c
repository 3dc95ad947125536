/*
 * test_yaml.c - the YAML/JSON reader of import.h: YAML 1.2 core-schema typing
 * (no Norway problem), exact big integers, anchors and merge keys, and the
 * defences: alias bombs, duplicate keys, depth, truncated input, each refused
 * with the line and column a user would look at.
 */
#include "test_util.h"
#include "mockarty/import.h"

static json_t *
Y(const char *text, mc_error *err)
{
	return mc_yaml_to_json(text, strlen(text), NULL, err);
}

static void
assert_yaml(const char *yaml, const char *json)
{
	mc_error err;
	json_t *got = Y(yaml, &err), *want = J(json);

	if (got == NULL)
		fail_msg("yaml failed: %s", err.msg);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_ENCODE_ANY);

		fail_msg("got %s, want %s", g, json);
	}
	json_decref(got);
	json_decref(want);
}

static void
core_schema(void **state)
{
	(void)state;
	assert_yaml("a: NO\nb: yes\nc: on\nd: 1999-12-31\ne: 1:30\nf: 017\n",
	            "{\"a\":\"NO\",\"b\":\"yes\",\"c\":\"on\",\"d\":\"1999-12-31\",\"e\":\"1:30\",\"f\":17}");
	assert_yaml("a: true\nb: False\nc: ~\nd:\ne: null\nf: 0x1F\ng: 0o17\nh: 1.5e3\ni: .inf\nj: '12'\n",
	            "{\"a\":true,\"b\":false,\"c\":null,\"d\":null,\"e\":null,\"f\":31,\"g\":15,\"h\":1500.0,"
	            "\"i\":\".inf\",\"j\":\"12\"}");
	assert_yaml("200: ok\ntrue: x\n", "{\"200\":\"ok\",\"true\":\"x\"}");
	assert_yaml("{\"json\": [1, 2.5, \"s\", null, {\"k\": false}]}",
	            "{\"json\":[1,2.5,\"s\",null,{\"k\":false}]}");
	assert_yaml("a: !!str 12\nb: !!int \"7\"\n", "{\"a\":\"12\",\"b\":7}");
	/* JSON surrogate pairs (libyaml alone refuses them); an escaped backslash stays text */
	assert_yaml("{\"e\": \"\\ud83d\\ude00\", \"k\": \"\\\\ud83d\"}",
	            "{\"e\":\"\\ud83d\\ude00\",\"k\":\"\\\\ud83d\"}");
}

static void
big_integers_exact(void **state)
{
	mc_error err;
	json_t *w = json_array();
	const char *t = "a: 9223372036854775807\nb: -9223372036854775808\nc: 18446744073709551616\n";
	json_t *v = mc_yaml_to_json(t, strlen(t), w, &err);

	(void)state;
	assert_non_null(v);
	assert_true(json_integer_value(json_object_get(v, "a")) == INT64_MAX);
	assert_true(json_integer_value(json_object_get(v, "b")) == INT64_MIN);
	assert_string_equal(json_string_value(json_object_get(v, "c")), "18446744073709551616");
	assert_int_equal(json_array_size(w), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(w, 0), "pointer")), "/c");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(w, 0), "line")), 3);
	json_decref(v);
	json_decref(w);
}

static void
anchors_and_merge(void **state)
{
	(void)state;
	assert_yaml("base: &b {x: 1, y: 2}\nuse: *b\nder:\n  <<: *b\n  y: 3\n",
	            "{\"base\":{\"x\":1,\"y\":2},\"use\":{\"x\":1,\"y\":2},\"der\":{\"x\":1,\"y\":3}}");
	assert_yaml("s: &s hello\nt: *s\n", "{\"s\":\"hello\",\"t\":\"hello\"}");
}

static void
alias_bomb_refused(void **state)
{
	char doc[4096];
	size_t o = 0;
	mc_error err;
	json_t *v;

	(void)state;
	o += (size_t)snprintf(doc + o, sizeof(doc) - o,
	                      "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int i = 1; i < 10; i++)
		o += (size_t)snprintf(
		    doc + o, sizeof(doc) - o,
		    "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i - 1,
		    i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	v = Y(doc, &err);
	assert_null(v);
	assert_int_equal(err.code, MC_ELIMIT);
	assert_non_null(strstr(err.msg, "alias"));
	assert_non_null(strstr(err.msg, "line "));
}

static void
alias_cycle_and_unknown(void **state)
{
	mc_error err;

	(void)state;
	assert_null(Y("a: &x [*x]\n", &err));
	assert_non_null(strstr(err.msg, "unknown or enclosing anchor"));
	assert_null(Y("a: 1\nb: *nope\n", &err));
	assert_non_null(strstr(err.msg, "line 2"));
}

static void
duplicate_keys_with_line(void **state)
{
	mc_error err;

	(void)state;
	assert_null(Y("paths:\n  /a:\n    get: {}\n  /a:\n    put: {}\n", &err));
	assert_int_equal(err.code, MC_EINVAL);
	assert_non_null(strstr(err.msg, "line 4, column 3"));
	assert_non_null(strstr(err.msg, "duplicate key '/a'"));
	assert_string_equal(err.path, "/paths/~1a");
	assert_null(Y("{\"x\": 1, \"x\": 2}", &err));
	assert_non_null(strstr(err.msg, "duplicate key 'x'"));
}

static void
depth_limit(void **state)
{
	size_t n = MC_YAML_MAX_DEPTH + 10;
	char *doc = malloc(2 * n + 1);
	mc_error err;

	(void)state;
	memset(doc, '[', n);
	memset(doc + n, ']', n);
	doc[2 * n] = '\0';
	assert_null(Y(doc, &err));
	assert_int_equal(err.code, MC_ELIMIT);
	assert_non_null(strstr(err.msg, "nesting deeper"));
	free(doc);
}

static void
truncated_and_syntax_errors(void **state)
{
	mc_error err;

	(void)state;
	assert_null(Y("openapi: 3.0.0\npaths:\n  /a:\n    get: {responses: {\"200\": {description: x", &err));
	assert_non_null(strstr(err.msg, "line 5, column 1"));
	assert_string_equal(err.path, "/paths/~1a/get/responses/200");
	assert_null(Y("a: [1, 2\nb: 3\n", &err));
	assert_non_null(strstr(err.msg, "line "));
	assert_null(Y("a: b: c\n", &err));
	assert_null(Y("? [a, b]\n: 1\n", &err));
	assert_non_null(strstr(err.msg, "keys must be scalars"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(core_schema),
	    cmocka_unit_test(big_integers_exact),
	    cmocka_unit_test(anchors_and_merge),
	    cmocka_unit_test(alias_bomb_refused),
	    cmocka_unit_test(alias_cycle_and_unknown),
	    cmocka_unit_test(duplicate_keys_with_line),
	    cmocka_unit_test(depth_limit),
	    cmocka_unit_test(truncated_and_syntax_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
