/*
 * test_json_wide.c - mc_json_loadb_wide: documents jansson refuses only for an
 * integer beyond int64 (PostgreSQL's jsonb prints 1e308 as 309 digits) still
 * load, with such numbers as reals and every other value keeping its type;
 * anything else malformed is still refused with a position.
 */
#include "test_util.h"

static void
test_huge_integer_becomes_real(void **state)
{
	char text[400];
	json_error_t err;
	json_t *v;

	(void)state;
	snprintf(text, sizeof(text), "{\"n\":1%0308d,\"k\":5,\"s\":\"x\"}", 0);
	assert_null(json_loads(text, 0, &err)); /* plain jansson refuses it */
	v = mc_json_loadb_wide(text, strlen(text), 0, &err);
	assert_non_null(v);
	assert_true(json_is_real(json_object_get(v, "n")));
	assert_true(json_real_value(json_object_get(v, "n")) > 9e307);
	assert_true(json_is_integer(json_object_get(v, "k")));
	assert_int_equal(json_integer_value(json_object_get(v, "k")), 5);
	assert_string_equal(json_string_value(json_object_get(v, "s")), "x");
	json_decref(v);
}

static void
test_ordinary_documents_unchanged(void **state)
{
	const char *text = "[1,-2,3.5,\"9223372036854775807\",9223372036854775807,{\"a\":null}]";
	json_error_t err;
	json_t *a = mc_json_loadb_wide(text, strlen(text), 0, &err);
	json_t *b = json_loads(text, 0, &err);

	(void)state;
	assert_non_null(a);
	assert_true(json_equal(a, b));
	assert_true(json_is_integer(json_array_get(a, 4)));
	json_decref(a);
	json_decref(b);
}

static void
test_malformed_still_refused(void **state)
{
	const char *text = "{\"n\": 1,, }";
	json_error_t err;

	(void)state;
	assert_null(mc_json_loadb_wide(text, strlen(text), 0, &err));
	assert_int_equal(err.line, 1);
	assert_true(err.column > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_huge_integer_becomes_real),
	    cmocka_unit_test(test_ordinary_documents_unchanged),
	    cmocka_unit_test(test_malformed_still_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
