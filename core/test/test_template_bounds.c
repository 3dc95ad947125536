/*
 * test_template_bounds.c - the bounds of templating a node's operator relies
 * on: one response renders at most its output budget (100,000 copies of a large
 * request body fail fast with a clear limit error), a mock holds at most
 * MC_MAX_TEMPLATE_EXPRESSIONS expressions in at most MC_MAX_TEMPLATE_BYTES, the
 * static part of a response is checked against the budget at save, and
 * checking a template never runs a faker (counted through a linker wrapper of
 * mc_fake, see core/Makefile).
 */
#include "test_util.h"

#include "template_internal.h"

/* ------------------------------------------------ faker calls, counted */

json_t *__real_mc_fake(const char *name, const char *args, mc_rng *rng, int64_t now, mc_error *err);
json_t *__wrap_mc_fake(const char *name, const char *args, mc_rng *rng, int64_t now, mc_error *err);

static unsigned long fake_calls;

json_t *
__wrap_mc_fake(const char *name, const char *args, mc_rng *rng, int64_t now, mc_error *err)
{
	fake_calls++;
	return __real_mc_fake(name, args, rng, now, err);
}

/* "<expr> <expr> ..." n times; malloc'd. */
static char *
repeat(const char *expr, size_t n)
{
	size_t l = strlen(expr) + 1;
	char *s = malloc(n * l + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		memcpy(s + i * l, expr, l - 1);
		s[i * l + l - 1] = ' ';
	}
	s[n * l] = '\0';
	return s;
}

/* A JSON array of n copies of the string expr. */
static json_t *
array_of(const char *expr, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(expr));
	return a;
}

static json_t *
http_mock(json_t *payload)
{
	return json_pack("{s:s, s:{s:s}, s:{s:i, s:o}}", "id", "m1", "http", "route", "/x", "response",
	                 "statusCode", 200, "payload", payload);
}

/* Checking 100,000 $.fake.Paragraph expressions parses them and runs no faker. */
static void
test_check_runs_no_faker(void **state)
{
	char *s = repeat("$.fake.Paragraph", 100000);
	json_t *mock, *tmpl;
	mc_error err = {0};
	mc_render_ctx ctx = {0};
	mc_rng rng;
	size_t n, lit;

	(void)state;
	fake_calls = 0;
	assert_int_equal(mc_template_check(s, &err), MC_OK);
	assert_false(mc_template_uses_state(s, strlen(s)));
	assert_int_equal(mc_template_measure(s, strlen(s), &n, &lit, &err), MC_OK);
	assert_int_equal(n, 100000);
	assert_int_equal(lit, 100000); /* the spaces */
	/* what a node does with every mock it loads */
	mock = http_mock(array_of("$.fake.Paragraph", 100000));
	assert_false(mc_mock_is_stateful(mock));
	assert_false(mc_mock_is_static(mock));
	assert_int_equal(fake_calls, 0);

	/* bad arguments are still found, still without a draw */
	assert_int_equal(mc_template_check("a $.fake.IntBetween(5,1)", &err), MC_EINVAL);
	assert_non_null(strstr(err.msg, "max is less than min at offset 2"));
	assert_int_equal(mc_template_check("$.fake.Paragraph(3)", &err), MC_EINVAL);
	assert_non_null(strstr(err.msg, "takes no arguments"));
	assert_int_equal(mc_template_check("$.fake.IntBetween(a,2)", &err), MC_EINVAL);
	assert_non_null(strstr(err.msg, "argument min \"a\" is not an integer"));
	assert_int_equal(mc_template_check("$.fake.Nope", &err), MC_EINVAL);
	assert_non_null(strstr(err.msg, "unknown faker \"Nope\""));
	assert_int_equal(fake_calls, 0);

	/* the counter does see real renders: one expression, one call */
	mc_rng_seed(&rng, 7);
	ctx.rng = &rng;
	tmpl = json_string("$.fake.Paragraph");
	json_decref(mc_render_value(tmpl, &ctx, &err));
	assert_int_equal(fake_calls, 1);
	json_decref(tmpl);
	json_decref(mock);
	free(s);
}

/* The mock-level limits of templates, each naming the string that crossed it. */
static void
test_validate_template_limits(void **state)
{
	json_t *mock;
	mc_error err = {0};
	char *big;

	(void)state;
	mock = http_mock(array_of("$.fake.UUID", MC_MAX_TEMPLATE_EXPRESSIONS));
	assert_int_equal(mc_mock_validate(mock, &err), MC_OK);
	json_decref(mock);

	fake_calls = 0;
	mock = http_mock(array_of("$.fake.Paragraph", MC_MAX_TEMPLATE_EXPRESSIONS + 1));
	assert_int_equal(mc_mock_validate(mock, &err), MC_EINVAL);
	assert_string_equal(err.path, "$.response.payload[10000]");
	assert_non_null(strstr(err.msg, "too many template expressions: a mock may hold at most 10000"));
	assert_int_equal(fake_calls, 0);
	json_decref(mock);

	/* one string of 1 MiB + 1 byte holding an expression */
	big = malloc(MC_MAX_TEMPLATE_BYTES + 2);
	memset(big, 'a', MC_MAX_TEMPLATE_BYTES + 1);
	memcpy(big, "$.req.id ", 9);
	big[MC_MAX_TEMPLATE_BYTES + 1] = '\0';
	mock = json_pack("{s:s, s:{s:s}, s:{s:{s:s}}}", "id", "m1", "http", "route", "/x", "response",
	                 "headers", "X-Big", big);
	assert_int_equal(mc_mock_validate(mock, &err), MC_EINVAL);
	assert_string_equal(err.path, "$.response.headers.X-Big");
	assert_non_null(strstr(err.msg, "templates too large"));
	assert_non_null(strstr(err.msg, "1048576 bytes"));
	json_decref(mock);

	/* the same text without an expression is plain payload, not a template */
	big[0] = 'x';
	mock = json_pack("{s:s, s:{s:s}, s:{s:{s:s}}}", "id", "m1", "http", "route", "/x", "response",
	                 "headers", "X-Big", big);
	assert_int_equal(mc_mock_validate(mock, &err), MC_OK);
	json_decref(mock);
	free(big);
}

/* The save-time check of the budget: static parts only, per response. */
static void
test_check_output_static_parts(void **state)
{
	json_t *mock;
	mc_error err = {0};
	char text[3001];

	(void)state;
	memset(text, 'a', 3000);
	text[3000] = '\0';
	mock = http_mock(json_pack("{s:s}", "k", text));
	assert_int_equal(mc_mock_check_output(mock, 3001, &err), MC_OK); /* 1 + 3000 */
	assert_int_equal(mc_mock_check_output(mock, 3000, &err), MC_EINVAL);
	assert_string_equal(err.path, "$.response");
	assert_non_null(strstr(err.msg, "at least 3001 bytes, above the template output limit of 3000 bytes"));
	json_decref(mock);

	/* expressions count for nothing at save (their size depends on the request) */
	mock = http_mock(array_of("$.body", 100000));
	assert_int_equal(mc_mock_check_output(mock, 1000, &err), MC_OK);
	json_decref(mock);

	/* literal text around expressions counts; oneOf responses are named */
	memcpy(text, "$.req.a ", 8);
	mock = json_pack("{s:s, s:{s:s}, s:{s:[{s:s}, {s:s}]}}", "id", "m1", "http", "route", "/x", "oneOf",
	                 "responses", "payload", "small", "payload", text);
	assert_int_equal(mc_mock_check_output(mock, 2993, &err), MC_OK);
	assert_int_equal(mc_mock_check_output(mock, 2992, &err), MC_EINVAL);
	assert_string_equal(err.path, "$.oneOf.responses[1]");
	json_decref(mock);
}

/*
 * 100,000 "$.body" and a 5 MB request: the render stops at the budget with
 * MC_ELIMIT naming it, having copied at most about one body past the budget.
 */
static void
test_budget_stops_big_renders(void **state)
{
	size_t body_len = 5u << 20;
	char *body = malloc(body_len + 3);
	treq r;
	json_t *mock, *tmpl, *out;
	mc_render_ctx ctx = {0};
	mc_error err = {0};
	mc_rng rng;

	(void)state;
	body[0] = '"';
	memset(body + 1, 'b', body_len);
	body[body_len + 1] = '"';
	body[body_len + 2] = '\0';
	treq_init(&r, "POST", "/x", NULL, NULL, body);
	mc_rng_seed(&rng, 1);
	ctx = (mc_render_ctx){.req = &r.r, .rng = &rng};

	/* typed copies: the default budget (8 MiB) holds one 5 MB body, not two */
	tmpl = array_of("$.body", 100000);
	assert_null(mc_render_value(tmpl, &ctx, &err));
	assert_int_equal(err.code, MC_ELIMIT);
	assert_true(ctx.output_exceeded);
	assert_string_equal(err.msg, "template output exceeds the limit of 8388608 bytes per response");
	assert_true(ctx.output_used <= MC_DEFAULT_TEMPLATE_OUTPUT_LIMIT);
	json_decref(tmpl);

	/* interpolated text: the per-string buffer never grows past what is left */
	ctx = (mc_render_ctx){.req = &r.r, .rng = &rng, .output_limit = 1000};
	tmpl = array_of("x $.req", 100000);
	assert_null(mc_render_value(tmpl, &ctx, &err));
	assert_int_equal(err.code, MC_ELIMIT);
	assert_true(ctx.output_exceeded);
	assert_string_equal(err.msg, "template output exceeds the limit of 1000 bytes per response");
	json_decref(tmpl);

	/* through mc_resolve_response: headers, payload and extract share one budget */
	ctx = (mc_render_ctx){.req = &r.r, .rng = &rng, .output_limit = 6u << 20};
	mock = json_pack("{s:s, s:{s:s}, s:{s:{s:s}, s:s}}", "id", "m1", "http", "route", "/x", "response",
	                 "headers", "X-Copy", "$.body", "payload", "$.body");
	assert_null(mc_resolve_response(mock, &ctx, NULL, &err));
	assert_int_equal(err.code, MC_ELIMIT);
	assert_string_equal(err.path, "$.response.payload");
	assert_true(ctx.output_exceeded);
	json_decref(mock);
	treq_free(&r);
	free(body);

	/* under the budget nothing changes, and the use is counted */
	treq_init(&r, "POST", "/x", NULL, NULL, "{\"name\":\"Ann\"}");
	ctx = (mc_render_ctx){.req = &r.r, .rng = &rng, .output_limit = 1000};
	tmpl = J("{\"greeting\":\"Hello $.req.name\",\"n\":1,\"list\":[\"$.req.name\"]}");
	out = mc_render_value(tmpl, &ctx, &err);
	assert_non_null(out);
	assert_string_equal(json_string_value(json_object_get(out, "greeting")), "Hello Ann");
	/* keys greeting(8) n(1) list(4), "Hello Ann"(9), 1 (1), "Ann"(3) */
	assert_int_equal(ctx.output_used, 26);
	assert_false(ctx.output_exceeded);
	json_decref(out);
	/* a budget of 25 refuses the same template */
	ctx = (mc_render_ctx){.req = &r.r, .rng = &rng, .output_limit = 25};
	assert_null(mc_render_value(tmpl, &ctx, &err));
	assert_true(ctx.output_exceeded);
	json_decref(tmpl);
	treq_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_runs_no_faker),
		cmocka_unit_test(test_validate_template_limits),
		cmocka_unit_test(test_check_output_static_parts),
		cmocka_unit_test(test_budget_stops_big_renders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
