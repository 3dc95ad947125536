/*
 * test_render.c - resolving a matched mock into the response object: defaults,
 * header normalisation, oneOf in order (wrapping) and at random, extract running
 * before the payload is rendered, proxy/decode, and which mocks count as
 * stateful.
 */
#include "test_util.h"

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

	treq_init(&f->req, "POST", "/api/orders/9", NULL, "{\"Accept\":\"application/json\"}",
	          "{\"total\":99.5,\"item\":\"book\"}");
	f->pp = J("{\"id\":\"9\"}");
	f->gs = json_object();
	f->cs = json_object();
	f->ms = json_object();
	f->stores = (mc_stores){.gs = f->gs, .cs = f->cs, .ms = f->ms};
	mc_rng_seed(&f->rng, 1);
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

static json_t *
resolve(fixture *f, json_t *mock, int64_t *cursor)
{
	mc_error err = {0};
	json_t *r = mc_resolve_response(mock, &f->ctx, cursor, &err);

	if (r == NULL)
		fail_msg("resolve failed: %s (%s)", err.msg, err.path);
	return r;
}

static void
assert_json(const json_t *got, const char *want)
{
	json_t *w = J(want);

	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS);

		fail_msg("got %s\nwant %s", g, want);
	}
	json_decref(w);
}

static void
test_defaults_and_headers(void **state)
{
	fixture *f = *state;
	json_t *mock = J("{\"id\":\"m1\",\"http\":{\"route\":\"/api/orders/:id\"},"
	                 "\"response\":{\"headers\":{\"Content-Type\":\"application/json\","
	                 "\"Set-Cookie\":[\"a=1\",\"b=$.pathParam.id\"],\"X-Total\":\"$.req.total\","
	                 "\"X-None\":\"$.req.none\"},\"payload\":{\"id\":\"$.pathParam.id\"}}}");
	json_t *r = resolve(f, mock, NULL);

	assert_json(r, "{\"mockId\":\"m1\",\"statusCode\":200,\"delay\":0,"
	               "\"headers\":{\"Content-Type\":[\"application/json\"],"
	               "\"Set-Cookie\":[\"a=1\",\"b=9\"],\"X-Total\":[\"99.5\"],\"X-None\":[\"\"]},"
	               "\"payload\":{\"id\":\"9\"}}");
	json_decref(r);
	json_decref(mock);

	/* no payload: the key is omitted; proxy and decode are reported */
	mock = J("{\"id\":\"p\",\"proxy\":{\"target\":\"https://api.example.com\"},"
	         "\"response\":{\"statusCode\":201,\"delay\":5000,\"decode\":\"base64\"}}");
	r = resolve(f, mock, NULL);
	assert_json(r, "{\"mockId\":\"p\",\"statusCode\":201,\"delay\":5000,\"headers\":{},"
	               "\"proxy\":\"https://api.example.com\",\"decode\":\"base64\"}");
	json_decref(r);
	json_decref(mock);
}

static void
test_oneof_order_wraps(void **state)
{
	fixture *f = *state;
	json_t *mock = J("{\"id\":\"seq\",\"oneOf\":{\"order\":\"order\",\"responses\":["
	                 "{\"statusCode\":200,\"payload\":{\"attempt\":1}},"
	                 "{\"statusCode\":200,\"payload\":{\"attempt\":2}},"
	                 "{\"statusCode\":500,\"error\":\"boom\"}]}}");
	int64_t cursor = 0;
	int want[] = {1, 2, 0, 1, 2, 0, 1};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		json_t *r = resolve(f, mock, &cursor);

		if (want[i] == 0) {
			assert_int_equal(json_integer_value(json_object_get(r, "statusCode")), 500);
			assert_string_equal(json_string_value(json_object_get(r, "error")), "boom");
			assert_null(json_object_get(r, "payload"));
		} else {
			assert_int_equal(
			    json_integer_value(json_object_get(json_object_get(r, "payload"), "attempt")),
			    want[i]);
		}
		json_decref(r);
	}
	/* a NULL cursor always gives the first response */
	{
		json_t *r = resolve(f, mock, NULL);

		assert_int_equal(
		    json_integer_value(json_object_get(json_object_get(r, "payload"), "attempt")), 1);
		json_decref(r);
	}
	json_decref(mock);
}

static void
test_oneof_random_uses_rng(void **state)
{
	fixture *f = *state;
	json_t *mock = J("{\"id\":\"rnd\",\"oneOf\":{\"order\":\"random\",\"responses\":["
	                 "{\"payload\":0},{\"payload\":1},{\"payload\":2},{\"payload\":3}]}}");
	int seq1[32], seen[4] = {0};
	int64_t cursor = 0;

	mc_rng_seed(&f->rng, 77);
	for (int i = 0; i < 32; i++) {
		json_t *r = resolve(f, mock, &cursor);

		seq1[i] = (int)json_integer_value(json_object_get(r, "payload"));
		seen[seq1[i]]++;
		json_decref(r);
	}
	assert_int_equal(cursor, 0); /* random does not move the cursor */
	for (int k = 0; k < 4; k++)
		assert_true(seen[k] > 0);
	mc_rng_seed(&f->rng, 77);
	for (int i = 0; i < 32; i++) {
		json_t *r = resolve(f, mock, &cursor);

		assert_int_equal(json_integer_value(json_object_get(r, "payload")), seq1[i]);
		json_decref(r);
	}
	json_decref(mock);
}

static void
test_extract_before_render(void **state)
{
	fixture *f = *state;
	json_t *mock = J("{\"id\":\"create\",\"chainId\":\"order-flow\","
	                 "\"extract\":{\"cStore\":{\"orderId\":\"$.fake.UUID\",\"total\":\"$.req.total\"},"
	                 "\"gStore\":{\"orders\":\"$.increment($.gS.orders)\"},"
	                 "\"mStore\":{\"last\":\"$.req.item\"}},"
	                 "\"mStore\":{\"greeting\":\"hi\"},"
	                 "\"response\":{\"statusCode\":201,\"payload\":{\"orderId\":\"$.cS.orderId\","
	                 "\"total\":\"$.cS.total\",\"n\":\"$.gS.orders\",\"g\":\"$.mS.greeting\","
	                 "\"track\":\"https://t.example.com/$.cS.orderId\"}}}");
	json_t *r = resolve(f, mock, NULL), *p = json_object_get(r, "payload");
	const char *oid = json_string_value(json_object_get(f->cs, "orderId"));
	char track[128];

	assert_non_null(oid);
	assert_int_equal(strlen(oid), 36);
	assert_string_equal(json_string_value(json_object_get(p, "orderId")), oid);
	snprintf(track, sizeof(track), "https://t.example.com/%s", oid);
	assert_string_equal(json_string_value(json_object_get(p, "track")), track);
	assert_true(json_real_value(json_object_get(p, "total")) == 99.5);
	assert_int_equal(json_integer_value(json_object_get(p, "n")), 1);
	assert_string_equal(json_string_value(json_object_get(p, "g")), "hi");
	assert_string_equal(json_string_value(json_object_get(f->ms, "last")), "book");
	assert_true(f->stores.cs_dirty && f->stores.gs_dirty && f->stores.ms_dirty);
	json_decref(r);

	r = resolve(f, mock, NULL);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "payload"), "n")), 2);
	assert_int_equal(json_integer_value(json_object_get(f->gs, "orders")), 2);
	json_decref(r);
	json_decref(mock);
}

static void
test_render_error_names_field(void **state)
{
	fixture *f = *state;
	json_t *mock = J("{\"id\":\"bad\",\"response\":{\"payload\":{\"a\":\"$.fake.Nope\"}}}");
	mc_error err = {0};

	assert_null(mc_resolve_response(mock, &f->ctx, NULL, &err));
	assert_int_equal(err.code, MC_EINVAL);
	assert_string_equal(err.path, "$.response.payload");
	json_decref(mock);
}

static void
test_stateful_detection(void **state)
{
	static const struct {
		const char *mock;
		bool stateful;
	} cases[] = {
	    {"{\"response\":{\"payload\":{\"id\":\"$.fake.UUID\",\"p\":\"$.pathParam.id\"}}}", false},
	    {"{\"useLimiter\":3,\"response\":{}}", true},
	    {"{\"useLimiter\":0,\"response\":{}}", false},
	    {"{\"oneOf\":{\"responses\":[{},{}]}}", true},
	    {"{\"oneOf\":{\"order\":\"order\",\"responses\":[{}]}}", true},
	    {"{\"oneOf\":{\"order\":\"random\",\"responses\":[{\"payload\":\"$.req.a\"}]}}", false},
	    {"{\"oneOf\":{\"order\":\"random\",\"responses\":[{\"payload\":\"x $.mS.a\"}]}}", true},
	    {"{\"extract\":{\"cStore\":{\"a\":\"$.req.a\"}},\"response\":{}}", true},
	    {"{\"response\":{\"payload\":[{\"n\":\"$.gS.n\"}]}}", true},
	    {"{\"response\":{\"headers\":{\"X\":[\"$.cS.k\"]}}}", true},
	    {"{\"response\":{\"payload\":\"$.increment(c)\"}}", true},
	    {"{\"response\":{},\"webhooks\":[{\"body\":{\"n\":\"$.gS.n\"}}]}", true},
	    {"{\"response\":{\"payload\":\"costs $.gSx\"}}", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *m = J(cases[i].mock);

		if (mc_mock_is_stateful(m) != cases[i].stateful)
			fail_msg("case %zu: %s", i, cases[i].mock);
		json_decref(m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defaults_and_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oneof_order_wraps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oneof_random_uses_rng, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extract_before_render, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_render_error_names_field, setup, teardown),
	    cmocka_unit_test(test_stateful_detection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
