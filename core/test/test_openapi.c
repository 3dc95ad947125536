/*
 * test_openapi.c - the OpenAPI importer of import.h: every edge case of the
 * research notes (regress/openapi/edge-cases.yaml), Swagger 2.0 and OpenAPI
 * 3.1 variants, Prefer-selected statuses, validation conditions, stable ids,
 * and the bounds (operation count, huge arrays, reference loops, bad input).
 */
#include "test_util.h"
#include "mockarty/import.h"

static char *
read_fixture(const char *name, size_t *len)
{
	char path[256];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "../../regress/openapi/%s", name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		fail_msg("short read %s", path);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static json_t *
import_text(const char *text, const char *opts)
{
	mc_error err;
	json_t *o = opts ? J(opts) : NULL;
	json_t *r = mc_import_openapi(text, strlen(text), o, &err);

	json_decref(o);
	if (r == NULL)
		fail_msg("import failed: %s: %s", err.path, err.msg);
	return r;
}

static json_t *
import_fixture(const char *name, const char *opts)
{
	size_t len;
	char *t = read_fixture(name, &len);
	json_t *r = import_text(t, opts);

	free(t);
	return r;
}

/* The mock of (method, route, status), borrowed; fails when absent. */
static json_t *
find(json_t *res, const char *method, const char *route, int status)
{
	size_t i;
	json_t *m;

	json_array_foreach (json_object_get(res, "mocks"), i, m) {
		json_t *h = json_object_get(m, "http");

		if (strcmp(json_string_value(json_object_get(h, "httpMethod")), method) == 0 &&
		    strcmp(json_string_value(json_object_get(h, "route")), route) == 0 &&
		    json_integer_value(json_object_get(json_object_get(m, "response"), "statusCode")) ==
		        status)
			return m;
	}
	fail_msg("no mock %s %s %d", method, route, status);
	return NULL;
}

static json_t *
payload(json_t *m)
{
	return json_object_get(json_object_get(m, "response"), "payload");
}

static void
assert_payload(json_t *m, const char *want)
{
	json_t *w = J(want);

	if (!json_equal(payload(m), w)) {
		char *g = json_dumps(payload(m), JSON_ENCODE_ANY);

		fail_msg("payload %s, want %s", g, want);
	}
	json_decref(w);
}

static bool
has_warning(json_t *res, const char *needle)
{
	size_t i;
	json_t *w;

	json_array_foreach (json_object_get(res, "warnings"), i, w)
		if (strstr(json_string_value(json_object_get(w, "message")), needle))
			return true;
	return false;
}

static void
edge_cases_import_clean(void **state)
{
	json_t *r = import_fixture("edge-cases.yaml", "{\"namespace\":\"edge\"}");
	size_t i;
	json_t *m;
	mc_error err;

	(void)state;
	assert_int_equal(json_array_size(json_object_get(r, "errors")), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "info"), "specVersion")),
	                    "3.0");
	json_array_foreach (json_object_get(r, "mocks"), i, m) {
		if (mc_mock_validate(m, &err) != MC_OK)
			fail_msg("mock %zu invalid: %s %s", i, err.path, err.msg);
		assert_string_equal(json_string_value(json_object_get(m, "namespace")), "edge");
	}
	/* 1 cycles cut, not refused */
	m = find(r, "GET", "/v1/nodes/:id", 200);
	assert_non_null(json_object_get(payload(m), "id"));
	assert_int_equal(json_array_size(json_object_get(payload(m), "children")), 0);
	/* 2 external ref: warning, the operation still answers */
	assert_true(has_warning(r, "unresolvable $ref 'other.yaml"));
	find(r, "GET", "/v1/external", 200);
	/* 3 escaping: ~1, ~0 and %20 */
	assert_payload(find(r, "GET", "/v1/escaped", 200), "{\"escaped\":true}");
	assert_payload(find(r, "GET", "/v1/escaped", 202), "{\"spaced\":\"stringxxxx\"}");
	/* 4 $ref in example data stays data */
	assert_payload(find(r, "GET", "/v1/dollar-ref", 200),
	               "{\"$ref\":\"#/not/a/reference\",\"note\":\"data\"}");
	/* 5 allOf merged with siblings */
	assert_payload(find(r, "GET", "/v1/composed", 200),
	               "{\"kind\":\"composed\",\"name\":\"composed-name\",\"size\":3}");
	/* 6 discriminator mapping picks the first mapping key's branch */
	assert_payload(find(r, "GET", "/v1/shapes", 200), "{\"shapeType\":\"square\",\"side\":2}");
	/* 7 writeOnly never in responses, readOnly kept */
	m = find(r, "POST", "/v1/users", 201);
	assert_null(json_object_get(payload(m), "password"));
	assert_non_null(json_object_get(payload(m), "id"));
	assert_string_equal(json_string_value(json_object_get(payload(m), "name")), "Aa");
	/* 8 nullable: a value of the non-null type */
	assert_payload(find(r, "GET", "/v1/nullable", 200),
	               "{\"a\":\"string\",\"b\":0,\"c\":\"2024-01-15\"}");
	/* 9 YAML 1.2 typing */
	assert_payload(find(r, "GET", "/v1/yaml-typing", 200),
	               "{\"country\":\"NO\",\"answer\":\"yes\",\"day\":\"1999-12-31\",\"version\":\"1.1\"}");
	/* 10 int64 bounds exact */
	assert_payload(find(r, "GET", "/v1/big", 200),
	               "{\"max\":9223372036854775806,\"min\":-9223372036854775808}");
	assert_true(has_warning(r, "integer beyond int64"));
	/* 11 routes */
	find(r, "GET", "/v1/pets/mine", 200);
	find(r, "GET", "/v1/pets/:petId", 200);
	assert_payload(find(r, "POST", "/v1/items:batchGet", 200), "[\"item-000\",\"item-001\"]");
	find(r, "GET", "/v1/:format", 200);
	assert_true(has_warning(r, "mixes text and parameters"));
	find(r, "GET", "/v1/bucket/:key", 200);
	assert_true(has_warning(r, "fragment"));
	/* 12 content types */
	m = find(r, "GET", "/v1/vendor", 200);
	assert_string_equal(
	    json_string_value(json_array_get(
	        json_object_get(json_object_get(json_object_get(m, "response"), "headers"), "Content-Type"),
	        0)),
	    "application/vnd.api+json; charset=utf-8");
	assert_null(payload(find(r, "GET", "/v1/vendor", 204)));
	/* the other media type answers when Accept lists it first */
	{
		size_t k;
		json_t *x, *alt = NULL;

		json_array_foreach (json_object_get(r, "mocks"), k, x)
			if (strcmp(json_string_value(json_object_get(json_object_get(x, "http"), "route")),
			           "/v1/vendor") == 0 &&
			    json_object_get(json_object_get(x, "http"), "header") &&
			    json_integer_value(
			        json_object_get(json_object_get(x, "response"), "statusCode")) == 200)
				alt = x;
		assert_non_null(alt);
		assert_string_equal(
		    json_string_value(json_object_get(
		        json_array_get(json_object_get(json_object_get(alt, "http"), "header"), 0), "value")),
		    "(?i)^\\s*text/plain\\s*([;,]|$)");
		assert_payload(alt, "\"string\"");
	}
	assert_payload(find(r, "GET", "/v1/text", 200), "\"plain text answer\"");
	/* 13 ranges and default */
	find(r, "GET", "/v1/ranges", 200);
	find(r, "GET", "/v1/ranges", 400);
	find(r, "POST", "/v1/default-only", 201);
	/* 14 example forms */
	assert_payload(find(r, "GET", "/v1/example-forms", 200),
	               "{\"id\":1,\"name\":\"Rex\",\"tag\":\"dog\"}");
	assert_payload(find(r, "GET", "/v1/example-forms", 201), "{\"id\":3,\"name\":\"Kitty\"}");
	/* 15 aliases share a schema */
	assert_true(
	    json_equal(payload(find(r, "GET", "/v1/deep", 200)), payload(find(r, "GET", "/v1/deep", 203))));
	json_decref(r);
}

static void
prefer_conditions_and_tags(void **state)
{
	json_t *r = import_fixture("edge-cases.yaml", NULL);
	json_t *def = find(r, "GET", "/v1/pets/:petId", 200), *alt = find(r, "GET", "/v1/pets/:petId", 404);
	json_t *want = J("[{\"path\":\"Prefer\",\"assertAction\":\"contains\",\"value\":\"code=404\"}]");
	json_t *tags;

	(void)state;
	assert_null(json_object_get(json_object_get(def, "http"), "header"));
	assert_true(json_equal(json_object_get(json_object_get(alt, "http"), "header"), want));
	assert_true(json_integer_value(json_object_get(alt, "priority")) >
	            json_integer_value(json_object_get(def, "priority")));
	tags = json_object_get(alt, "tags");
	assert_string_equal(json_string_value(json_array_get(tags, 0)), "openapi");
	assert_string_equal(json_string_value(json_array_get(tags, 1)), "gen:Edge cases");
	assert_string_equal(json_string_value(json_array_get(tags, 2)), "op:GET /pets/{petId}");
	assert_string_equal(json_string_value(json_array_get(tags, 3)), "status:404");
	assert_int_equal(strncmp(json_string_value(json_object_get(alt, "id")), "oa-", 3), 0);
	assert_int_equal(strlen(json_string_value(json_object_get(alt, "id"))), 19);
	json_decref(want);
	json_decref(r);
}

static void
ids_stable_and_scoped(void **state)
{
	json_t *a = import_fixture("edge-cases.yaml", "{\"namespace\":\"n1\",\"serverName\":\"s\"}");
	json_t *b = import_fixture("edge-cases.yaml", "{\"namespace\":\"n1\",\"serverName\":\"s\"}");
	json_t *c = import_fixture("edge-cases.yaml", "{\"namespace\":\"n2\",\"serverName\":\"s\"}");
	json_t *ids = json_object();
	size_t i;
	json_t *m;

	(void)state;
	assert_true(json_equal(a, b));
	json_array_foreach (json_object_get(a, "mocks"), i, m) {
		const char *id = json_string_value(json_object_get(m, "id"));

		assert_null(json_object_get(ids, id)); /* unique */
		json_object_set_new(ids, id, json_true());
		assert_string_not_equal(id, json_string_value(json_object_get(
		                                json_array_get(json_object_get(c, "mocks"), i), "id")));
	}
	json_decref(ids);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void
validate_option_conditions(void **state)
{
	json_t *r = import_fixture("edge-cases.yaml", "{\"validate\":true}");
	json_t *m = find(r, "GET", "/v1/pets/:petId", 200), *h = json_object_get(m, "http");
	json_t *wq = J("[{\"path\":\"verbose\",\"assertAction\":\"notEmpty\"}]");
	json_t *wh = J("[{\"path\":\"X-Request-Id\",\"assertAction\":\"notEmpty\"}]");
	json_t *wb = J("[{\"path\":\"$.name\",\"assertAction\":\"any\"},{\"path\":\"$.password\","
	               "\"assertAction\":\"any\"}]");

	(void)state;
	assert_true(json_equal(json_object_get(h, "queryParams"), wq));
	assert_true(json_equal(json_object_get(h, "header"), wh));
	/* readOnly id is not asked of the request body */
	assert_true(json_equal(
	    json_object_get(json_object_get(find(r, "POST", "/v1/users", 201), "http"), "conditions"), wb));
	json_decref(wq);
	json_decref(wh);
	json_decref(wb);
	json_decref(r);
	r = import_fixture("edge-cases.yaml", NULL);
	assert_null(
	    json_object_get(json_object_get(find(r, "GET", "/v1/pets/:petId", 200), "http"), "queryParams"));
	json_decref(r);
}

static void
swagger2_variant(void **state)
{
	json_t *r = import_fixture("swagger2.json", "{\"validate\":true}");
	json_t *m;

	(void)state;
	assert_int_equal(json_array_size(json_object_get(r, "errors")), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "info"), "specVersion")),
	                    "2.0");
	assert_payload(find(r, "POST", "/api/pets", 201),
	               "{\"id\":7,\"name\":\"Lucky\",\"status\":\"available\"}");
	m = find(r, "GET", "/api/pets", 200);
	assert_payload(m, "[{\"name\":\"string\",\"tag\":\"string\",\"id\":0,\"status\":\"available\","
	                  "\"owner\":\"string\"}]");
	find(r, "GET", "/api/pets/:petId", 404);
	assert_null(payload(find(r, "DELETE", "/api/pets/:petId", 204)));
	/* body parameter's required fields */
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_array_get(
	            json_object_get(json_object_get(find(r, "POST", "/api/pets", 201), "http"), "conditions"),
	            0),
	        "path")),
	    "$.name");
	json_decref(r);
	r = import_fixture("swagger2.json", "{\"pathPrefix\":\"\"}");
	find(r, "GET", "/pets", 200);
	json_decref(r);
	r = import_fixture("swagger2.json", "{\"pathPrefix\":\"staging/\"}");
	find(r, "GET", "/staging/pets", 200);
	json_decref(r);
}

static void
oas31_variant(void **state)
{
	json_t *r = import_fixture("oas31.yaml", NULL);
	json_t *p;

	(void)state;
	assert_int_equal(json_array_size(json_object_get(r, "errors")), 0);
	p = payload(find(r, "GET", "/things/:thingId", 200));
	assert_string_equal(json_string_value(json_object_get(p, "label")), "first label");
	assert_true(json_is_string(json_object_get(p, "note")));
	assert_true(json_string_length(json_object_get(p, "note")) <= 4);
	assert_true(json_number_value(json_object_get(p, "score")) > 0);
	assert_payload(find(r, "GET", "/things/:thingId", 410), "{\"title\":\"Gone\",\"status\":410}");
	assert_payload(find(r, "GET", "/pairs", 200), "[\"192.0.2.1\",10]");
	json_decref(r);
	/* unquoted version number and a 3.1 document without paths */
	r = import_text("openapi: 3.1\ninfo: {title: t, version: '1'}\n", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "mocks")), 0);
	json_decref(r);
}

static void
bounds_and_bad_input(void **state)
{
	mc_error err;
	json_t *r, *opts;
	size_t cap = 50000 * 40 + 200, o = 0;
	char *big = malloc(cap);
	const char *loop =
	    "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /l:\n    get:\n      responses:\n"
	    "        '200': {description: x, content: {application/json: {schema: {$ref: "
	    "'#/components/schemas/A'}}}}\n"
	    "components: {schemas: {A: {$ref: '#/components/schemas/B'}, B: {$ref: "
	    "'#/components/schemas/A'}}}\n";
	const char *huge =
	    "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /h:\n    get:\n      responses:\n"
	    "        '200': {description: x, content: {application/json: {schema: {type: array, minItems: "
	    "1000000000, maxItems: 1000000000, items: {type: integer}}}}}\n";

	(void)state;
	/* 50,000 operations: past maxOperations, a clear error */
	o += (size_t)snprintf(
	    big, cap, "{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"t\",\"version\":\"1\"},\"paths\":{");
	for (int i = 0; i < 50000; i++)
		o += (size_t)snprintf(big + o, cap - o, "%s\"/p%d\":{\"get\":{\"responses\":{}}}",
		                      i ? "," : "", i);
	snprintf(big + o, cap - o, "}}");
	assert_null(mc_import_openapi(big, strlen(big), NULL, &err));
	assert_int_equal(err.code, MC_ELIMIT);
	assert_non_null(strstr(err.msg, "50000 operations, more than maxOperations 20000"));
	opts = J("{\"maxOperations\":60000}");
	r = mc_import_openapi(big, strlen(big), opts, &err);
	json_decref(opts);
	assert_non_null(r);
	assert_int_equal(json_array_size(json_object_get(r, "mocks")), 50000);
	json_decref(r);
	free(big);
	/* a $ref loop: warned, bounded */
	r = import_text(loop, NULL);
	assert_true(has_warning(r, "$ref chain") || has_warning(r, "recursive"));
	json_decref(r);
	/* a 1e9-element declared array: capped */
	r = import_text(huge, NULL);
	assert_int_equal(json_array_size(payload(find(r, "GET", "/h", 200))), 100);
	assert_true(has_warning(r, "capped"));
	json_decref(r);
	/* found by fuzz_openapi: a body-less status offered in two media types */
	r = import_text(
	    "swagger: '2.0'\ninfo: {title: t, version: '1'}\nproduces: [application/json, text/plain]\n"
	    "paths:\n  /x:\n    delete:\n      responses:\n        '204': {description: gone, schema: {type: "
	    "string}}\n",
	    NULL);
	assert_int_equal(json_array_size(json_object_get(r, "mocks")), 1);
	assert_null(payload(find(r, "DELETE", "/x", 204)));
	json_decref(r);
	/* bad documents */
	assert_null(mc_import_openapi("openapi: 3.0.0\npaths:\n  /a: [", 29, NULL, &err));
	assert_non_null(strstr(err.msg, "line "));
	assert_null(mc_import_openapi("swagger: '1.2'\n", 15, NULL, &err));
	assert_string_equal(err.path, "/swagger");
	assert_null(mc_import_openapi("openapi: 4.0.0\n", 15, NULL, &err));
	assert_null(mc_import_openapi("hello: world\n", 13, NULL, &err));
	assert_non_null(strstr(err.msg, "not an OpenAPI document"));
	assert_null(mc_import_openapi("- a\n", 4, NULL, &err));
	opts = J("{\"maxOperations\":0}");
	assert_null(mc_import_openapi("openapi: 3.0.0\n", 15, opts, &err));
	json_decref(opts);
	assert_string_equal(err.path, "options.maxOperations");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(edge_cases_import_clean), cmocka_unit_test(prefer_conditions_and_tags),
	    cmocka_unit_test(ids_stable_and_scoped),   cmocka_unit_test(validate_option_conditions),
	    cmocka_unit_test(swagger2_variant),        cmocka_unit_test(oas31_variant),
	    cmocka_unit_test(bounds_and_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
