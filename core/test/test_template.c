/*
 * test_template.c - the expression language as a mock author sees it: every
 * root, interpolation inside longer strings, typed single-expression values,
 * dotted and nested dynamic store keys, $.increment writing back, and syntax
 * errors that point at the offending offset.
 */
#include "test_util.h"

#include "template_internal.h"

typedef struct fixture {
	treq req;
	json_t *pp, *gs, *cs, *ms;
	mc_stores stores;
	mc_rng rng;
	mc_render_ctx ctx;
} fixture;

static int
setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	treq_init(&f->req, "POST", "/api/users/42", "format=full&tag=a&tag=b",
	          "{\"X-Forwarded-For\":[\"10.0.0.1\",\"10.0.0.2\"],\"Authorization\":\"Bearer t\"}",
	          "{\"city\":\"Oslo\",\"amount\":12.5,\"user\":{\"name\":\"Ann\",\"tags\":[\"x\",\"y\"]},"
	          "\"items\":[{\"id\":7}],\"body\":{\"inner\":1}}");
	f->pp = J("{\"id\":\"42\",\"lang\":\"ru\"}");
	f->gs = J("{\"app.version\":\"1.2.3\",\"app\":{\"name\":\"shop\"},\"count\":5,"
	          "\"stats\":{\"calls\":2}}");
	f->cs = J("{\"orderId\":\"ord-1\"}");
	f->ms = J("{\"defaultLang\":\"en\",\"greetings\":{\"en\":\"Hello\",\"ru\":\"Privet\"}}");
	f->stores = (mc_stores){.gs = f->gs, .cs = f->cs, .ms = f->ms};
	mc_rng_seed(&f->rng, 42);
	f->ctx = (mc_render_ctx){
	    .req = &f->req.r, .path_params = f->pp, .stores = &f->stores, .rng = &f->rng, .now = 1700000000};
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;

	treq_free(&f->req);
	json_decref(f->pp);
	json_decref(f->gs);
	json_decref(f->cs);
	json_decref(f->ms);
	free(f);
	return 0;
}

/* Renders the JSON string literal tmpl and compares with the JSON literal want. */
static void
check_render(fixture *f, const char *tmpl, const char *want)
{
	mc_error err = {0};
	json_t *t = J(tmpl), *w = J(want), *got = mc_render_value(t, &f->ctx, &err);

	if (got == NULL)
		fail_msg("render %s failed: %s", tmpl, err.msg);
	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_ENCODE_ANY);

		fail_msg("render %s: got %s, want %s", tmpl, g, want);
	}
	json_decref(t);
	json_decref(w);
	json_decref(got);
}

static void
test_request_roots(void **state)
{
	fixture *f = *state;

	check_render(f, "\"$.pathParam.id\"", "\"42\"");
	check_render(f, "\"$.queryParam.format\"", "\"full\"");
	check_render(f, "\"$.queryParam.tag\"", "\"a\"");
	check_render(f, "\"$.queryParam.tag[1]\"", "\"b\"");
	check_render(f, "\"$.req.city\"", "\"Oslo\"");
	check_render(f, "\"$.body.city\"", "\"Oslo\"");
	check_render(f, "\"$.req.user.tags[1]\"", "\"y\"");
	check_render(f, "\"$.req.items[0].id\"", "7");
	check_render(f, "\"$.req.body.inner\"", "1");
	check_render(f, "\"$.reqHeader.X-Forwarded-For[1]\"", "\"10.0.0.2\"");
	check_render(f, "\"$.reqHeader.x-forwarded-for\"", "\"10.0.0.1\"");
	check_render(f, "\"$.reqHeader.AUTHORIZATION[0]\"", "\"Bearer t\"");
	check_render(f, "\"$.req\"",
	             "{\"city\":\"Oslo\",\"amount\":12.5,\"user\":{\"name\":\"Ann\","
	             "\"tags\":[\"x\",\"y\"]},\"items\":[{\"id\":7}],\"body\":{\"inner\":1}}");
	check_render(f, "\"$.pathParam\"", "{\"id\":\"42\",\"lang\":\"ru\"}");
}

static void
test_typed_and_interpolated(void **state)
{
	fixture *f = *state;

	check_render(f, "\"$.req.amount\"", "12.5");
	check_render(f, "\"$.req.user\"", "{\"name\":\"Ann\",\"tags\":[\"x\",\"y\"]}");
	check_render(f, "\"Weather in $.req.city: 22C\"", "\"Weather in Oslo: 22C\"");
	check_render(f, "\"total=$.req.amount\"", "\"total=12.5\"");
	check_render(f, "\"u=$.req.user\"",
	             "\"u={\\\"name\\\":\\\"Ann\\\",\\\"tags\\\":[\\\"x\\\",\\\"y\\\"]}\"");
	check_render(f, "\"Hello $.req.user.name.\"", "\"Hello Ann.\"");
	check_render(f, "\"$.req.city-$.pathParam.id\"", "\"42\""); /* "city-" is one (missing) segment */
	check_render(f, "\"$.pathParam.id/$.req.city\"", "\"42/Oslo\"");
	/* missing: null alone, empty text when interpolated */
	check_render(f, "\"$.req.nope\"", "null");
	check_render(f, "\"[$.req.nope]\"", "\"[]\"");
	check_render(f, "\"$.reqHeader.X-Missing\"", "null");
	/* no expression / unknown roots stay literal */
	check_render(f, "\"plain text\"", "\"plain text\"");
	check_render(f, "\"costs $.99 or $.foo.bar\"", "\"costs $.99 or $.foo.bar\"");
	check_render(f, "\"$.requests\"", "\"$.requests\"");
	check_render(f, "\"$.\"", "\"$.\"");
	/* deep: arrays and objects, keys are not rendered */
	check_render(f, "{\"$.req.city\":[\"$.pathParam.id\",{\"n\":\"$.req.amount\"},3,true,null]}",
	             "{\"$.req.city\":[\"42\",{\"n\":12.5},3,true,null]}");
}

static void
test_fakers_in_templates(void **state)
{
	fixture *f = *state;
	mc_error err = {0};
	json_t *t = J("{\"id\":\"chatcmpl-$.fake.UUID\",\"n\":\"$.fake.IntBetween(1,3)\","
	              "\"b\":\"$.fake.Bool\",\"x\":\"$.fake.UUID-suffix\",\"e\":\"$.fake.UUID()\"}");
	json_t *v = mc_render_value(t, &f->ctx, &err);
	const char *id;

	assert_non_null(v);
	id = json_string_value(json_object_get(v, "id"));
	assert_int_equal(strlen(id), 9 + 36);
	assert_true(strncmp(id, "chatcmpl-", 9) == 0);
	assert_true(json_is_integer(json_object_get(v, "n")));
	assert_true(json_integer_value(json_object_get(v, "n")) >= 1);
	assert_true(json_integer_value(json_object_get(v, "n")) <= 3);
	assert_true(json_is_boolean(json_object_get(v, "b")));
	assert_int_equal(json_string_length(json_object_get(v, "x")), 36 + 7);
	assert_int_equal(json_string_length(json_object_get(v, "e")), 36);
	json_decref(v);
	json_decref(t);
}

static void
test_store_keys(void **state)
{
	fixture *f = *state;

	check_render(f, "\"$.gS.app.version\"", "\"1.2.3\""); /* dotted key wins */
	check_render(f, "\"$.gS.app.name\"", "\"shop\"");     /* else nested walk */
	check_render(f, "\"v$.gS.app.version!\"", "\"v1.2.3!\"");
	check_render(f, "\"$.cS.orderId\"", "\"ord-1\"");
	check_render(f, "\"$.mS.greetings.$.pathParam.lang\"", "\"Privet\"");
	check_render(f, "\"$.mS.greetings.$.mS.defaultLang\"", "\"Hello\"");
	check_render(f, "\"$.mS.greetings.$.queryParam.nope\"", "null");
	check_render(f, "\"$.gS.missing\"", "null");
	assert_false(f->stores.gs_dirty || f->stores.cs_dirty || f->stores.ms_dirty);
}

static void
test_stores_absent(void **state)
{
	fixture *f = *state;

	f->ctx.stores = NULL;
	check_render(f, "\"$.gS.count\"", "null");
	check_render(f, "\"$.increment(count)\"", "1");
	f->ctx.stores = &f->stores;
	assert_int_equal(json_integer_value(json_object_get(f->gs, "count")), 5);
}

static void
test_increment_writes_back(void **state)
{
	fixture *f = *state;

	check_render(f, "\"$.increment(count)\"", "6");
	check_render(f, "\"$.increment($.gS.count)\"", "7");
	assert_int_equal(json_integer_value(json_object_get(f->gs, "count")), 7);
	assert_true(f->stores.gs_dirty);

	check_render(f, "\"n=$.increment($.cS.visits)\"", "\"n=1\"");
	check_render(f, "\"$.increment( $.cS.visits )\"", "2");
	assert_int_equal(json_integer_value(json_object_get(f->cs, "visits")), 2);
	assert_true(f->stores.cs_dirty);

	check_render(f, "\"$.increment($.gS.stats.calls)\"", "3");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(f->gs, "stats"), "calls")), 3);
	check_render(f, "\"$.increment(a.b)\"", "1"); /* missing dotted key: written flat */
	assert_int_equal(json_integer_value(json_object_get(f->gs, "a.b")), 1);
	check_render(f, "\"$.increment($.mS.hits.$.pathParam.lang)\"", "1");
	assert_int_equal(json_integer_value(json_object_get(f->ms, "hits.ru")), 1);
	assert_true(f->stores.ms_dirty);
	/* not a store: value + 1, nothing written */
	check_render(f, "\"$.increment($.req.items[0].id)\"", "8");
}

/* Members render in jsonb key order, so side effects do not depend on how the mock was stored. */
static void
test_member_order_is_canonical(void **state)
{
	fixture *f = *state;
	mc_error err = {0};
	json_t *t1 = J("{\"zz\":\"$.fake.UUID\",\"b\":\"$.fake.UUID\",\"a\":\"$.fake.UUID\"}");
	json_t *t2 = J("{\"a\":\"$.fake.UUID\",\"b\":\"$.fake.UUID\",\"zz\":\"$.fake.UUID\"}");
	json_t *r1, *r2;

	mc_rng_seed(&f->rng, 5);
	r1 = mc_render_value(t1, &f->ctx, &err);
	mc_rng_seed(&f->rng, 5);
	r2 = mc_render_value(t2, &f->ctx, &err);
	assert_true(json_equal(r1, r2));
	json_decref(r1);
	json_decref(r2);
	json_decref(t1);
	json_decref(t2);
	check_render(f, "{\"zz\":\"$.increment(c)\",\"a\":\"$.increment(c)\"}", "{\"a\":1,\"zz\":2}");
}

static void
check_error(const char *tmpl, mc_status code, const char *msg_part)
{
	mc_error err = {0};
	mc_status st = mc_template_check(tmpl, &err);

	if (st != code)
		fail_msg("check %s: status %d, want %d (%s)", tmpl, st, code, err.msg);
	if (strstr(err.msg, msg_part) == NULL)
		fail_msg("check %s: message \"%s\" lacks \"%s\"", tmpl, err.msg, msg_part);
}

static void
test_check_errors_have_offsets(void **state)
{
	mc_error err = {0};

	(void)state;
	check_error("id-$.fake.Nope", MC_EINVAL, "unknown faker \"Nope\" at offset 3");
	check_error("$.fake.IntBetween(1,2", MC_EINVAL, "unterminated ( after faker name at offset 17");
	check_error("x $.fake.IntBetween(a,2)", MC_EINVAL, "argument min");
	check_error("x $.fake.IntBetween(a,2)", MC_EINVAL, "at offset 2");
	check_error("$.fake.UUID(1)", MC_EINVAL, "takes no arguments");
	check_error("ab $.fake", MC_EINVAL, "missing faker name after $.fake at offset 3");
	check_error("$.increment", MC_EINVAL, "expected ( after $.increment at offset 0");
	check_error("$.increment($.gS.a", MC_EINVAL, "unterminated ( in $.increment at offset 11");
	check_error("$.increment()", MC_EINVAL, "empty $.increment()");
	check_error("$.increment($.gS.a b)", MC_EINVAL, "unexpected text in $.increment() at offset 18");
	check_error("$.increment($.nope)", MC_EINVAL, "unknown expression");
	check_error("$.mS.a.$.fake.Bad", MC_EINVAL, "unknown faker \"Bad\" at offset 7");
	check_error("$.mS.a.$.mS.a.$.mS.a.$.mS.a.$.mS.a.$.mS.a.$.mS.a.$.mS.a.$.mS.a.$.mS.a", MC_ELIMIT,
	            "nested too deep");

	assert_int_equal(mc_template_check("costs $.99, $.foo.bar, $.", &err), MC_OK);
	assert_int_equal(mc_template_check("$.req.a[0].b $.fake.IntBetween(1,9) $.increment(c)", &err),
	                 MC_OK);
	assert_int_equal(mc_template_check(NULL, &err), MC_OK);
}

static void
test_render_errors_and_limits(void **state)
{
	fixture *f = *state;
	mc_error err = {0};
	json_t *t = J("{\"a\":[\"ok\",\"$.fake.Nope\"]}");
	json_t *big, *arr;

	assert_null(mc_render_value(t, &f->ctx, &err));
	assert_int_equal(err.code, MC_EINVAL);
	assert_non_null(strstr(err.msg, "unknown faker"));
	json_decref(t);

	/* an interpolated value larger than the output bound */
	big = json_object();
	{
		char *s = malloc(600 * 1024);

		memset(s, 'x', 600 * 1024 - 1);
		s[600 * 1024 - 1] = '\0';
		json_object_set_new(big, "blob", json_string(s));
		free(s);
	}
	json_object_set(f->gs, "blob", json_object_get(big, "blob"));
	t = json_string("$.gS.blob$.gS.blob");
	assert_null(mc_render_value(t, &f->ctx, &err));
	assert_int_equal(err.code, MC_ELIMIT);
	json_decref(t);
	json_decref(big);

	/* nesting deeper than MC_MAX_JSON_DEPTH */
	arr = json_string("x");
	for (int i = 0; i < MC_MAX_JSON_DEPTH + 2; i++)
		arr = json_pack("[o]", arr);
	assert_null(mc_render_value(arr, &f->ctx, &err));
	assert_int_equal(err.code, MC_ELIMIT);
	json_decref(arr);

	/* uses_state sees store roots at any nesting */
	assert_true(mc_template_uses_state("x $.gS.a", 8));
	assert_true(mc_template_uses_state("$.req.$.cS.b", 12)); /* $.req stops at ".$", then $.cS */
	assert_true(mc_template_uses_state("$.pathParam.id $.increment(n)", 29));
	assert_false(mc_template_uses_state("$.req.a $.fake.UUID", 19));
}

static void
test_non_json_body(void **state)
{
	fixture *f = *state;
	treq r;

	treq_init(&r, "POST", "/x", NULL, NULL, "plain <b>text</b>");
	f->ctx.req = &r.r;
	check_render(f, "\"$.req\"", "\"plain <b>text</b>\"");
	check_render(f, "\"$.req.a\"", "null");
	f->ctx.req = &f->req.r;
	treq_free(&r);
}

/* $.increment at the top of int64 goes on as a real instead of wrapping to a negative. */
static void
test_increment_does_not_wrap(void **state)
{
	fixture *f = *state;
	mc_error err = {0};
	json_t *tmpl = J("\"$.increment($.gS.big)\"");
	json_t *out;

	json_object_set_new(f->gs, "big", json_integer(INT64_MAX));
	out = mc_render_value(tmpl, &f->ctx, &err);
	assert_non_null(out);
	assert_true(json_is_number(out));
	assert_true(json_number_value(out) > 9.2e18);
	assert_true(json_number_value(json_object_get(f->gs, "big")) > 9.2e18);
	json_decref(out);
	json_decref(tmpl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_request_roots, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_typed_and_interpolated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fakers_in_templates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stores_absent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_increment_writes_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_increment_does_not_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_member_order_is_canonical, setup, teardown),
	    cmocka_unit_test(test_check_errors_have_offsets),
	    cmocka_unit_test_setup_teardown(test_render_errors_and_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_non_json_body, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
