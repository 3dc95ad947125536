/*
 * test_sources.c - the WireMock, Mockoon and HAR importers: on our fixtures in
 * regress/sources/ every mock validates, answers the requests the source stub would
 * answer (matched through the index, as a resolver does), keeps its id across
 * imports, and whatever is not translated is reported with its JSON pointer.
 */
#include "test_util.h"

#include "mockarty/sources.h"

#define FIXTURES "../../regress/sources/"

static json_t *
load(const char *name)
{
	json_error_t e;
	json_t *doc = json_load_file(name, JSON_REJECT_DUPLICATES, &e);

	if (doc == NULL)
		fail_msg("cannot load %s: %s (line %d)", name, e.text, e.line);
	return doc;
}

/* An index holding every mock of the report (each must index). */
static mc_index *
index_of(const json_t *report)
{
	mc_index *idx = mc_index_new();
	json_t *m;
	size_t i;

	json_array_foreach (json_object_get(report, "mocks"), i, m) {
		mc_error err = {0};
		json_t *copy = json_deep_copy(m);

		if (mc_mock_validate(copy, &err) != MC_OK)
			fail_msg("mock %zu invalid at %s: %s", i, err.path, err.msg);
		if (mc_index_put(idx, copy, (int64_t)i + 1, &err) != MC_OK)
			fail_msg("mock %zu not indexed: %s: %s", i, err.path, err.msg);
		json_decref(copy);
	}
	return idx;
}

/* The response of the mock matching the request (a copy), or NULL when none matches. */
static json_t *
answer(mc_index *idx, const char *method, const char *path, const char *query, const char *headers,
       const char *body)
{
	treq t;
	mc_match m;
	json_t *res = NULL;

	treq_init(&t, method, path, query, headers, body);
	if (mc_index_match(idx, NULL, &t.r, NULL, NULL, &m) == MC_OK) {
		res = json_deep_copy(json_object_get(m.mock, "response"));
		if (res == NULL)
			res = json_deep_copy(json_object_get(m.mock, "oneOf"));
		mc_match_clear(&m);
	}
	treq_free(&t);
	return res;
}

static int
status_of(mc_index *idx, const char *method, const char *path, const char *query, const char *headers,
	  const char *body)
{
	json_t *r = answer(idx, method, path, query, headers, body);
	int st = r ? (int)json_integer_value(json_object_get(r, "statusCode")) : -1;

	json_decref(r);
	return st;
}

/* True when a warning's pointer equals pointer. */
static bool
warned(const json_t *report, const char *pointer)
{
	json_t *w;
	size_t i;

	json_array_foreach (json_object_get(report, "warnings"), i, w)
		if (strcmp(json_string_value(json_object_get(w, "pointer")), pointer) == 0)
			return true;
	return false;
}

static void
expect_warning(const json_t *report, const char *pointer)
{
	if (!warned(report, pointer)) {
		char *dump = json_dumps(json_object_get(report, "warnings"), JSON_INDENT(1));

		fail_msg("no warning at %s; warnings: %s", pointer, dump);
	}
}

static void
wiremock_mappings_answer_as_wiremock_would(void **state)
{
	json_t *doc = load(FIXTURES "wiremock_mappings.json");
	json_t *rep = mc_import_wiremock(doc, "ns1", "wiremock");
	mc_index *idx;
	json_t *r;

	(void)state;
	assert_int_equal(json_array_size(json_object_get(rep, "errors")), 0);
	assert_int_equal(json_array_size(json_object_get(rep, "mocks")), 4);
	idx = index_of(rep);
	/* urlPath + queryParameters */
	r = answer(idx, "GET", "/pets", "limit=10", NULL, NULL);
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "statusCode")), 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "payload"), 0), "name")), "Rex");
	json_decref(r);
	assert_int_equal(status_of(idx, "GET", "/pets", "limit=5", NULL, NULL), -1);
	/* headers matches + equalToJson + matchesJsonPath, priority, delay */
	assert_int_equal(status_of(idx, "POST", "/pets", NULL, "{\"Authorization\":\"Bearer x\"}",
				   "{\"name\":\"Tom\",\"kind\":\"cat\",\"age\":3}"), 201);
	assert_int_equal(status_of(idx, "POST", "/pets", NULL, "{\"Authorization\":\"Basic x\"}",
				   "{\"name\":\"Tom\",\"kind\":\"cat\"}"), -1);
	assert_int_equal(status_of(idx, "POST", "/pets", NULL, "{\"Authorization\":\"Bearer x\"}", "{\"name\":\"Tom\"}"), -1);
	r = answer(idx, "POST", "/pets", NULL, "{\"Authorization\":\"Bearer x\"}", "{\"name\":\"Tom\",\"kind\":\"cat\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "delay")), 20);
	assert_string_equal(json_string_value(json_object_get(r, "payload")), "created");
	json_decref(r);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(rep, "mocks"), 1), "priority")), 4);
	/* urlPathPattern + base64Body */
	r = answer(idx, "GET", "/files/abc.bin", NULL, NULL, NULL);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "decode")), "base64");
	assert_string_equal(json_string_value(json_object_get(r, "payload")), "aGVsbG8=");
	json_decref(r);
	assert_int_equal(status_of(idx, "GET", "/files/ABC.bin", NULL, NULL, NULL), -1);
	/* url with a query; scenario, cookies and fault reported, the mock still imported */
	assert_int_equal(status_of(idx, "GET", "/cart", "user=7", NULL, NULL), 200);
	expect_warning(rep, "/mappings/3/scenarioName");
	expect_warning(rep, "/mappings/3/requiredScenarioState");
	expect_warning(rep, "/mappings/3/request/cookies");
	expect_warning(rep, "/mappings/3/response/fault");
	mc_index_free(idx);
	json_decref(rep);
	json_decref(doc);
}

static void
wiremock_single_mapping_and_stable_ids(void **state)
{
	json_t *one = J("{\"id\":\"m1\",\"request\":{\"method\":\"ANY\",\"urlPathTemplate\":\"/users/{id}\"},"
			"\"response\":{\"status\":204}}");
	json_t *a = mc_import_wiremock(one, "ns1", "wiremock");
	json_t *b = mc_import_wiremock(one, "ns1", "wiremock");
	json_t *c = mc_import_wiremock(one, "ns2", "wiremock");
	json_t *m = json_array_get(json_object_get(a, "mocks"), 0);
	const char *id = json_string_value(json_object_get(m, "id"));
	mc_index *idx;

	(void)state;
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "http"), "route")), "/users/:id");
	assert_null(json_object_get(json_object_get(m, "http"), "httpMethod"));
	assert_string_equal(id, json_string_value(json_object_get(json_array_get(json_object_get(b, "mocks"), 0), "id")));
	assert_string_not_equal(id, json_string_value(json_object_get(json_array_get(json_object_get(c, "mocks"), 0), "id")));
	assert_int_equal(strlen(id), 36);
	idx = index_of(a);
	assert_int_equal(status_of(idx, "DELETE", "/users/9", NULL, NULL, NULL), 204);
	mc_index_free(idx);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(one);
}

static void
wiremock_bad_documents_are_errors(void **state)
{
	const char *bad[] = {"[]", "{\"mappings\":{}}", "{\"foo\":1}", "\"x\""};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = J(bad[i]);
		json_t *rep = mc_import_wiremock(doc, "ns", "wiremock");

		assert_int_equal(json_array_size(json_object_get(rep, "mocks")), 0);
		if (json_array_size(json_object_get(rep, "errors")) != 1)
			fail_msg("expected one error for %s", bad[i]);
		json_decref(rep);
		json_decref(doc);
	}
	/* a mapping of the wrong type inside the array: reported at its pointer, others imported */
	json_t *doc = J("{\"mappings\":[7,{\"request\":{\"url\":\"/ok\"},\"response\":{\"status\":200}},"
			"{\"request\":\"x\"},{\"request\":{\"url\":\"/bad\"},\"response\":{\"status\":999}}]}");
	json_t *rep = mc_import_wiremock(doc, "ns", "wiremock");

	assert_int_equal(json_array_size(json_object_get(rep, "mocks")), 1);
	expect_warning(rep, "/mappings/0");
	expect_warning(rep, "/mappings/2/request");
	expect_warning(rep, "/mappings/3");
	json_decref(rep);
	json_decref(doc);
}

static void
mockoon_environment_answers_as_mockoon_would(void **state)
{
	json_t *doc = load(FIXTURES "mockoon_environment.json");
	json_t *rep = mc_import_mockoon(doc, "ns1", "mockoon:shop");
	mc_index *idx;
	json_t *r;

	(void)state;
	assert_int_equal(json_array_size(json_object_get(rep, "errors")), 0);
	assert_int_equal(json_array_size(json_object_get(rep, "mocks")), 4);
	idx = index_of(rep);
	r = answer(idx, "GET", "/api/users/5", NULL, NULL, NULL);
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "statusCode")), 200);
	assert_int_equal(json_integer_value(json_object_get(r, "delay")), 5); /* the environment's latency */
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "headers"), "content-type")),
			    "application/json");
	json_decref(r);
	/* the rule on the route parameter picks the 404 response */
	r = answer(idx, "GET", "/api/users/0", NULL, NULL, NULL);
	assert_int_equal(json_integer_value(json_object_get(r, "statusCode")), 404);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "headers"), "x-reason")), "missing");
	json_decref(r);
	assert_int_equal(status_of(idx, "POST", "/api/orders", NULL, NULL, "{\"customer\":{\"tier\":\"gold\"}}"), 202);
	assert_int_equal(status_of(idx, "POST", "/api/orders", NULL, NULL, "{\"customer\":{\"tier\":\"tin\"}}"), 201);
	assert_int_equal(status_of(idx, "GET", "/api/orders", NULL, NULL, NULL), -1);
	expect_warning(rep, "/routes/1/responses/0/body");          /* {{faker ...}} */
	expect_warning(rep, "/routes/1/responses/1/rules/1");       /* cookie rule */
	expect_warning(rep, "/routes/2");                           /* CRUD route */
	mc_index_free(idx);
	json_decref(rep);
	json_decref(doc);
}

static void
har_capture_last_wins_or_one_of(void **state)
{
	json_t *doc = load(FIXTURES "capture.har");
	json_t *rep = mc_import_har(doc, "ns1", "har:capture1", false);
	json_t *rep2 = mc_import_har(doc, "ns1", "har:capture1", true);
	mc_index *idx;
	json_t *r;

	(void)state;
	assert_int_equal(json_array_size(json_object_get(rep, "errors")), 0);
	assert_int_equal(json_array_size(json_object_get(rep, "mocks")), 4);
	idx = index_of(rep);
	r = answer(idx, "GET", "/api/items", "page=1", NULL, NULL);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "payload")), "{\"items\":[1,2]}"); /* last wins */
	assert_null(json_object_get(json_object_get(r, "headers"), "content-length"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "headers"), "content-type")),
			    "application/json");
	json_decref(r);
	assert_int_equal(status_of(idx, "GET", "/api/items", "page=2", NULL, NULL), -1);
	r = answer(idx, "GET", "/logo.png", NULL, NULL, NULL);
	assert_string_equal(json_string_value(json_object_get(r, "decode")), "base64");
	json_decref(r);
	assert_int_equal(status_of(idx, "POST", "/api/items", NULL, NULL, "{}"), 201);
	assert_int_equal(status_of(idx, "GET", "/api/caf\xc3\xa9 menu", NULL, NULL, NULL), 200); /* percent-decoded */
	expect_warning(rep, "/log/entries/3");          /* request body not matched */
	expect_warning(rep, "/log/entries/5/response"); /* status 0 */
	mc_index_free(idx);
	/* oneOf: both captured responses in order */
	idx = index_of(rep2);
	r = answer(idx, "GET", "/api/items", "page=1", NULL, NULL);
	assert_int_equal(json_array_size(json_object_get(r, "responses")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "responses"), 0), "payload")),
			    "{\"items\":[1]}");
	json_decref(r);
	mc_index_free(idx);
	/* the same capture gives the same ids */
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(rep, "mocks"), 0), "id")),
			    json_string_value(json_object_get(json_array_get(json_object_get(rep2, "mocks"), 0), "id")));
	json_decref(rep);
	json_decref(rep2);
	json_decref(doc);
}

static void
har_and_mockoon_bad_documents(void **state)
{
	const char *bad[] = {"{}", "{\"log\":{}}", "{\"log\":{\"entries\":{}}}", "[]"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = J(bad[i]);
		json_t *a = mc_import_har(doc, "ns", "har", false), *b = mc_import_mockoon(doc, "ns", "mockoon");

		assert_int_equal(json_array_size(json_object_get(a, "errors")), 1);
		assert_int_equal(json_array_size(json_object_get(b, "errors")), 1);
		assert_int_equal(json_array_size(json_object_get(a, "mocks")), 0);
		json_decref(a);
		json_decref(b);
		json_decref(doc);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wiremock_mappings_answer_as_wiremock_would),
		cmocka_unit_test(wiremock_single_mapping_and_stable_ids),
		cmocka_unit_test(wiremock_bad_documents_are_errors),
		cmocka_unit_test(mockoon_environment_answers_as_mockoon_would),
		cmocka_unit_test(har_capture_last_wins_or_one_of),
		cmocka_unit_test(har_and_mockoon_bad_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
