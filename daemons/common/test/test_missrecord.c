/*
 * test_missrecord.c - unit tests of daemons/common/missrecord.c: credential
 * headers of a recorded miss are redacted whatever their case or shape, other
 * headers are kept, and a body over MR_BODY_MAX is cut to a string on a UTF-8
 * character boundary while smaller bodies pass unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "missrecord.h"

#include <stdlib.h>
#include <string.h>

static void
test_headers_redacted(void **state)
{
	json_t *in = json_pack("{s:s, s:s, s:[s], s:s, s:s, s:s, s:s}", "Authorization", "Bearer mk_x.secret",
	                       "x-api-key", "k", "Cookie", "sid=1", "PROXY-AUTHORIZATION", "Basic x", "Set-Cookie",
	                       "a=1", "Accept", "*/*", "X-Trace", "t");
	json_t *out = mr_headers_redacted(in);

	(void)state;
	assert_non_null(out);
	assert_string_equal(json_string_value(json_object_get(out, "Authorization")), "[redacted]");
	assert_string_equal(json_string_value(json_object_get(out, "x-api-key")), "[redacted]");
	assert_string_equal(json_string_value(json_object_get(out, "Cookie")), "[redacted]");
	assert_string_equal(json_string_value(json_object_get(out, "PROXY-AUTHORIZATION")), "[redacted]");
	assert_string_equal(json_string_value(json_object_get(out, "Set-Cookie")), "[redacted]");
	assert_string_equal(json_string_value(json_object_get(out, "Accept")), "*/*");
	assert_string_equal(json_string_value(json_object_get(out, "X-Trace")), "t");
	/* the input is untouched (it belongs to the request) */
	assert_string_equal(json_string_value(json_object_get(in, "Authorization")), "Bearer mk_x.secret");
	json_decref(out);
	json_decref(in);
	out = mr_headers_redacted(NULL);
	assert_true(json_is_object(out) && json_object_size(out) == 0);
	json_decref(out);
}

static void
test_body_cap(void **state)
{
	size_t big = MR_BODY_MAX + 10;
	char *raw = malloc(big);
	json_t *j = json_pack("{s:i}", "a", 1), *b;

	(void)state;
	assert_non_null(raw);
	/* small: the parsed JSON when there is one, else the raw text */
	b = mr_body(j, "{\"a\":1}", 7);
	assert_ptr_equal(b, j);
	json_decref(b);
	b = mr_body(NULL, "plain", 5);
	assert_string_equal(json_string_value(b), "plain");
	json_decref(b);
	assert_null(mr_body(NULL, NULL, 0));
	/* big: a string of the first MR_BODY_MAX bytes, not inside a 2-byte character */
	memset(raw, 'x', big);
	raw[MR_BODY_MAX - 1] = (char)0xC3;
	raw[MR_BODY_MAX] = (char)0xA9; /* "é" straddles the cut */
	b = mr_body(j, raw, big);
	assert_true(json_is_string(b));
	assert_int_equal(json_string_length(b), MR_BODY_MAX - 1);
	json_decref(b);
	json_decref(j);
	free(raw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_headers_redacted),
	    cmocka_unit_test(test_body_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
