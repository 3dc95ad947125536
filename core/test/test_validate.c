/*
 * test_validate.c - mc_mock_validate accepts the mocks the SDKs send (the
 * api-compat 3.8 examples, the Go SDK's empty sections) and rejects every
 * mistake with the JSON path a user would look at.
 */
#include "test_util.h"

/* Validates mock text; returns the status and fills err. */
static mc_status
check(const char *text, mc_error *err)
{
	json_t *m = J(text);
	mc_status st = mc_mock_validate(m, err);

	json_decref(m);
	return st;
}

static void
assert_valid(const char *text)
{
	mc_error err = {0};

	if (check(text, &err) != MC_OK)
		fail_msg("expected valid, got %s: %s\n  mock: %s", err.path, err.msg, text);
}

/* Expects MC_EINVAL at exactly path, with msg containing msg_part. */
static void
assert_invalid(const char *text, const char *path, const char *msg_part)
{
	mc_error err = {0};

	if (check(text, &err) != MC_EINVAL)
		fail_msg("expected invalid at %s, but it validated: %s", path, text);
	if (strcmp(err.path, path) != 0)
		fail_msg("expected path %s, got %s (%s)\n  mock: %s", path, err.path, err.msg, text);
	if (msg_part && strstr(err.msg, msg_part) == NULL)
		fail_msg("expected message with '%s', got '%s'", msg_part, err.msg);
}

static void
test_compat_examples_are_valid(void **state)
{
	(void)state;
	assert_valid("{\"id\":\"user-get\",\"http\":{\"route\":\"/api/users/:id\",\"httpMethod\":\"GET\","
		     "\"header\":[{\"path\":\"Authorization\",\"assertAction\":\"notEmpty\"}],"
		     "\"queryParams\":[{\"path\":\"format\",\"assertAction\":\"equals\",\"value\":\"full\"}]},"
		     "\"response\":{\"statusCode\":200,\"headers\":{\"Content-Type\":[\"application/json\"]},"
		     "\"payload\":{\"id\":\"$.pathParam.id\",\"name\":\"$.fake.FirstName\"},\"delay\":100},"
		     "\"priority\":10,\"ttl\":3600,\"useLimiter\":10,\"tags\":[\"users\"]}");
	assert_valid("{\"id\":\"grpc-order-missing\",\"grpc\":{\"service\":\"order.OrderService\",\"method\":"
		     "\"GetOrder\",\"methodType\":\"unary\",\"conditions\":[{\"path\":\"$.id\",\"assertAction\":"
		     "\"equals\",\"value\":\"nonexistent\"}],\"meta\":[{\"path\":\"authorization\",\"assertAction\":"
		     "\"notEmpty\"}]},\"response\":{\"statusCode\":5,\"error\":\"order not found\",\"errorDetails\":"
		     "[{\"type\":\"resourceInfo\",\"details\":{\"resourceType\":\"Order\"}}]}}");
	assert_valid("{\"id\":\"sse-deploy\",\"sse\":{\"eventPath\":\"/events/deploy\",\"eventName\":\"deploy\"},"
		     "\"response\":{\"statusCode\":200,\"sseEventChain\":{\"events\":[{\"eventName\":\"build\","
		     "\"data\":{\"status\":\"started\"},\"delay\":0}],\"loop\":true,\"loopDelay\":5000,"
		     "\"maxLoops\":10,\"maxTime\":60,\"heartbeat\":15000}}}");
	assert_valid("{\"id\":\"smtp-welcome\",\"smtp\":{\"serverName\":\"email-server\",\"senderConditions\":"
		     "[{\"path\":\"from\",\"assertAction\":\"contains\",\"value\":\"@myapp.com\"}]},"
		     "\"response\":{\"statusCode\":200,\"payload\":{\"messageId\":\"$.fake.UUID\"}}}");
	assert_valid("{\"id\":\"proxy-users\",\"http\":{\"route\":\"/api/users/:id\",\"httpMethod\":\"GET\"},"
		     "\"proxy\":{\"target\":\"https://api.example.com\"},\"response\":{\"delay\":5000},\"priority\":1}");
	assert_valid("{\"id\":\"notify\",\"http\":{\"route\":\"/api/orders\",\"httpMethod\":\"POST\"},"
		     "\"response\":{\"statusCode\":201,\"payload\":{\"orderId\":\"$.fake.UUID\"}},"
		     "\"webhooks\":[{\"type\":\"http\",\"url\":\"https://hooks.example.com/x\",\"method\":\"POST\","
		     "\"body\":{\"event\":\"order.created\",\"id\":\"$.req.id\"},\"timeout\":5000,\"retryCount\":3,"
		     "\"retryDelay\":1000,\"async\":true,\"trigger\":\"on_success\"},{\"type\":\"kafka\","
		     "\"kafkaBrokers\":\"kafka:9092\",\"kafkaTopic\":\"orders\",\"kafkaKey\":\"$.req.id\","
		     "\"body\":{\"x\":1}}]}");
	assert_valid("{\"id\":\"flow\",\"chainId\":\"order-flow\",\"http\":{\"route\":\"/o\"},"
		     "\"extract\":{\"cStore\":{\"orderId\":\"$.fake.UUID\",\"total\":\"$.req.total\"},"
		     "\"gStore\":{\"n\":\"$.increment($.gS.n)\"},\"mStore\":{\"g\":\"$.fake.UUID\"}},"
		     "\"mStore\":{\"defaultLang\":\"en\"},"
		     "\"oneOf\":{\"order\":\"order\",\"offset\":0,\"responses\":[{\"statusCode\":200,"
		     "\"payload\":{\"attempt\":1}},{\"statusCode\":500,\"error\":\"boom\"}]}}");
}

static void
test_sdk_shapes_are_valid(void **state)
{
	(void)state;
	/* Go's encoding/json sends every section, empty, plus zero-valued fields. */
	assert_valid("{\"id\":\"go\",\"namespace\":\"team-a.v2\",\"http\":{\"route\":\"/x\"},\"grpc\":{},"
		     "\"mcp\":{},\"socket\":{},\"soap\":{},\"graphql\":{},\"sse\":{},\"kafka\":{},\"rabbitmq\":{},"
		     "\"smtp\":{},\"oneOf\":{},\"proxy\":{},\"extract\":{},\"response\":{\"statusCode\":200}}");
	/* Nulls for unset fields, _meta envelope, harmless metadata. */
	assert_valid("{\"id\":\"py\",\"http\":{\"route\":\"/x\",\"httpMethod\":null},\"grpc\":null,\"ttl\":null,"
		     "\"tags\":null,\"_meta\":{\"createdAt\":1},\"description\":\"d\",\"name\":\"n\","
		     "\"createdAt\":1700000000,\"priority\":-3}");
	assert_valid("{\"http\":{\"routePattern\":\"^/api/v[0-9]+/.*$\",\"conditions\":["
		     "{\"path\":\"$.card\",\"assertAction\":\"plugin:luhn\"},"
		     "{\"path\":\"$.t\",\"assertAction\":\"matches\",\"value\":\"^Bearer .+$\"},"
		     "{\"path\":\"$.d\",\"decode\":\"base64\",\"value\":{\"a\":1},\"sortArray\":true}]}}");
}

static void
test_shape_and_protocol_errors(void **state)
{
	mc_error err = {0};
	json_t *arr = J("[]");

	(void)state;
	assert_int_equal(mc_mock_validate(arr, &err), MC_EINVAL);
	assert_string_equal(err.path, "$");
	assert_non_null(strstr(err.msg, "object"));
	json_decref(arr);

	assert_invalid("{\"id\":\"x\",\"response\":{}}", "$", "mock has no protocol section");
	assert_invalid("{\"id\":\"x\",\"http\":{}}", "$", "mock has no protocol section");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"grpc\":{\"service\":\"s\"}}", "$.grpc", "http and grpc");
	assert_invalid("{\"http\":\"GET /a\"}", "$.http", "must be an object");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"bogus\":1}", "$.bogus", "unknown field");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"websocket\":{}}", "$.websocket", "unknown field");
	assert_invalid("{\"http\":{\"route\":\"/a\",\"headers\":[]}}", "$.http.headers", "unknown field");
}

static void
test_scalar_field_errors(void **state)
{
	(void)state;
	assert_invalid("{\"id\":5,\"http\":{\"route\":\"/a\"}}", "$.id", "string");
	assert_invalid("{\"namespace\":\"Team A\",\"http\":{\"route\":\"/a\"}}", "$.namespace", "must match");
	assert_invalid("{\"namespace\":\"-x\",\"http\":{\"route\":\"/a\"}}", "$.namespace", NULL);
	assert_invalid("{\"namespace\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		       "\"http\":{\"route\":\"/a\"}}",
		       "$.namespace", NULL);
	assert_invalid("{\"ttl\":-1,\"http\":{\"route\":\"/a\"}}", "$.ttl", ">= 0");
	assert_invalid("{\"useLimiter\":1.5,\"http\":{\"route\":\"/a\"}}", "$.useLimiter", "integer");
	assert_invalid("{\"priority\":\"high\",\"http\":{\"route\":\"/a\"}}", "$.priority", "integer");
	assert_invalid("{\"tags\":\"a\",\"http\":{\"route\":\"/a\"}}", "$.tags", "array");
	assert_invalid("{\"tags\":[\"a\",2],\"http\":{\"route\":\"/a\"}}", "$.tags[1]", "string");
	assert_invalid("{\"pathPrefix\":\"api\",\"http\":{\"route\":\"/a\"}}", "$.pathPrefix", "'/'");
	assert_invalid("{\"mStore\":[],\"http\":{\"route\":\"/a\"}}", "$.mStore", "object");
}

static void
test_http_section_errors(void **state)
{
	char buf[1024];
	size_t o;

	(void)state;
	assert_invalid("{\"http\":{\"route\":\"api/users\"}}", "$.http.route", "'/'");
	assert_invalid("{\"http\":{\"route\":\"/a/*/b\"}}", "$.http.route", "last");
	o = (size_t)snprintf(buf, sizeof(buf), "{\"http\":{\"route\":\"");
	for (int i = 0; i <= MC_MAX_ROUTE_SEGMENTS; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "/s");
	snprintf(buf + o, sizeof(buf) - o, "\"}}");
	assert_invalid(buf, "$.http.route", "segments");
	assert_invalid("{\"http\":{\"routePattern\":\"/a/(\"}}", "$.http.routePattern", "regex");
	assert_invalid("{\"http\":{\"route\":\"/a\",\"httpMethod\":\"GET /\"}}", "$.http.httpMethod", NULL);
	assert_invalid("{\"http\":{\"route\":\"/a\",\"sortArray\":\"yes\"}}", "$.http.sortArray", "boolean");
	assert_invalid("{\"http\":{\"route\":\"/a\",\"conditions\":{}}}", "$.http.conditions", "array");
	assert_invalid("{\"http\":{\"route\":\"/a\",\"conditions\":[\"type=x\"]}}", "$.http.conditions[0]", "object");
	assert_invalid("{\"http\":{\"route\":\"/a\",\"conditions\":[{\"path\":\"a\",\"assertAction\":\"eq\"}]}}",
		       "$.http.conditions[0].assertAction", "unknown assertAction");
	assert_invalid("{\"http\":{\"route\":\"/a\",\"header\":[{\"path\":\"a\",\"assertAction\":\"notEmpty\"},"
		       "{\"path\":\"a\",\"assertAction\":\"matches\",\"value\":\"[\"}]}}",
		       "$.http.header[1].value", "regex");
	assert_invalid("{\"http\":{\"route\":\"/a\",\"queryParams\":[{\"path\":\"a\",\"assertAction\":\"matches\","
		       "\"value\":5}]}}",
		       "$.http.queryParams[0].value", "regex");
	assert_invalid("{\"http\":{\"route\":\"/a\",\"conditions\":[{\"path\":1,\"assertAction\":\"any\"}]}}",
		       "$.http.conditions[0].path", "string");
	assert_invalid("{\"http\":{\"route\":\"/a\",\"conditions\":[{\"path\":\"a\",\"decode\":\"hex\"}]}}",
		       "$.http.conditions[0].decode", "base64");
	assert_invalid("{\"http\":{\"route\":\"/a\",\"conditions\":[{\"path\":\"a\",\"sortArray\":1}]}}",
		       "$.http.conditions[0].sortArray", "boolean");
	assert_invalid("{\"http\":{\"route\":\"/a\",\"conditions\":[{\"assertAction\":\"plugin:\"}]}}",
		       "$.http.conditions[0].assertAction", "plugin");
	assert_invalid("{\"grpc\":{\"service\":\"s\",\"methodType\":\"stream\"}}", "$.grpc.methodType", "unary");
	assert_invalid("{\"smtp\":{\"serverName\":\"m\",\"subjectConditions\":[{\"assertAction\":\"has\"}]}}",
		       "$.smtp.subjectConditions[0].assertAction", NULL);
}

static void
test_response_errors(void **state)
{
	(void)state;
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":[]}", "$.response", "object");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":{\"statusCode\":99}}", "$.response.statusCode",
		       "between 100 and 599");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":{\"statusCode\":600}}", "$.response.statusCode",
		       NULL);
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":{\"statusCode\":\"200\"}}", "$.response.statusCode",
		       "integer");
	assert_valid("{\"grpc\":{\"service\":\"s\"},\"response\":{\"statusCode\":5}}");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":{\"delay\":-5}}", "$.response.delay", NULL);
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":{\"headers\":{\"X\":1}}}", "$.response.headers.X",
		       "string");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":{\"headers\":{\"X\":[\"a\",1]}}}",
		       "$.response.headers.X", "strings");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":{\"decode\":\"gzip\"}}", "$.response.decode",
		       "base64");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":{\"payload\":{\"user\":{\"name\":\"$.fake.Nope\"}}}}",
		       "$.response.payload.user.name", "invalid template");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":{\"payload\":[1,\"$.increment(\"]}}",
		       "$.response.payload[1]", "invalid template");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":{\"headers\":{\"X\":[\"$.fake.Nope\"]}}}",
		       "$.response.headers.X[0]", "invalid template");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":{\"mcpIsError\":\"no\"}}", "$.response.mcpIsError",
		       "boolean");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"response\":{\"errorDetails\":[1]}}",
		       "$.response.errorDetails[0]", "object");
}

static void
test_oneof_proxy_webhooks_extract_errors(void **state)
{
	(void)state;
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"oneOf\":{\"order\":\"shuffle\",\"responses\":[{}]}}",
		       "$.oneOf.order", "order, random");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"oneOf\":{\"order\":\"random\",\"responses\":[]}}",
		       "$.oneOf.responses", "non-empty");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"oneOf\":{\"order\":\"random\"}}", "$.oneOf.responses", NULL);
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"oneOf\":{\"offset\":\"1\",\"responses\":[{}]}}",
		       "$.oneOf.offset", "integer");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"oneOf\":{\"responses\":[{\"statusCode\":200},"
		       "{\"payload\":{\"name\":\"$.fake.Nope\"}}]}}",
		       "$.oneOf.responses[1].payload.name", "invalid template");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"oneOf\":{\"responses\":[{\"statusCode\":42}]}}",
		       "$.oneOf.responses[0].statusCode", NULL);

	assert_invalid("{\"http\":{\"route\":\"/a\"},\"proxy\":{\"target\":\"ftp://x\"}}", "$.proxy.target", "http");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"proxy\":{\"target\":\"https://\"}}", "$.proxy.target", NULL);
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"proxy\":{\"timeout\":1}}", "$.proxy.target", "required");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"proxy\":\"https://x\"}", "$.proxy", "object");

	assert_invalid("{\"http\":{\"route\":\"/a\"},\"webhooks\":{}}", "$.webhooks", "array");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"webhooks\":[{\"type\":\"sms\"}]}", "$.webhooks[0].type", NULL);
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"webhooks\":[{\"url\":\"https://h\",\"retryCount\":-1}]}",
		       "$.webhooks[0].retryCount", NULL);
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"webhooks\":[{\"trigger\":\"sometimes\"}]}",
		       "$.webhooks[0].trigger", "on_success");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"webhooks\":[{},{\"body\":{\"e\":[\"$.fake.Nope\"]}}]}",
		       "$.webhooks[1].body.e[0]", "invalid template");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"webhooks\":[{\"async\":\"yes\"}]}", "$.webhooks[0].async",
		       "boolean");

	assert_invalid("{\"http\":{\"route\":\"/a\"},\"extract\":{\"xStore\":{}}}", "$.extract.xStore", "unknown");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"extract\":{\"cStore\":{\"id\":5}}}", "$.extract.cStore.id",
		       "template");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"extract\":{\"gStore\":{\"n\":\"$.increment(\"}}}",
		       "$.extract.gStore.n", "invalid template");
	assert_invalid("{\"http\":{\"route\":\"/a\"},\"extract\":{\"mStore\":[]}}", "$.extract.mStore", "object");
}

static void
test_depth_limit(void **state)
{
	char buf[1024];
	size_t o = 0;

	(void)state;
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{\"http\":{\"route\":\"/a\"},\"mStore\":");
	for (int i = 0; i < MC_MAX_JSON_DEPTH; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "[");
	for (int i = 0; i < MC_MAX_JSON_DEPTH; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "]");
	snprintf(buf + o, sizeof(buf) - o, "}");
	{
		mc_error err = {0};

		assert_int_equal(check(buf, &err), MC_EINVAL);
		assert_non_null(strstr(err.msg, "nesting"));
		assert_int_equal(strncmp(err.path, "$.mStore[0][0]", 14), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compat_examples_are_valid),
		cmocka_unit_test(test_sdk_shapes_are_valid),
		cmocka_unit_test(test_shape_and_protocol_errors),
		cmocka_unit_test(test_scalar_field_errors),
		cmocka_unit_test(test_http_section_errors),
		cmocka_unit_test(test_response_errors),
		cmocka_unit_test(test_oneof_proxy_webhooks_extract_errors),
		cmocka_unit_test(test_depth_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
