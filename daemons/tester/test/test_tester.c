/*
 * test_tester.c - unit tests of the API-test engine: Postman compile (URL forms,
 * auth inheritance, bodies, error paths naming fields), script translation (each
 * pattern, skipped lines), chai semantics, variable substitution, reports, and a
 * run against a tiny libmicrohttpd server on a free loopback port.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tester.h"

static json_t *
J(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, JSON_DECODE_ANY, &e);

	if (v == NULL)
		fail_msg("bad test JSON: %s: %s", e.text, s);
	return v;
}

static json_t *
compile_ok(const char *s)
{
	char err[300] = "";
	json_t *c = J(s), *plan = mt_compile(c, err, sizeof(err));

	if (plan == NULL)
		fail_msg("compile failed: %s", err);
	json_decref(c);
	return plan;
}

static void
compile_err(const char *s, const char *want)
{
	char err[300] = "";
	json_t *c = J(s), *plan = mt_compile(c, err, sizeof(err));

	assert_null(plan);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, want);
	json_decref(c);
}

static const json_t *
req_n(const json_t *plan, size_t i)
{
	return json_array_get(json_object_get(plan, "requests"), i);
}

static void
test_compile_urls(void **st)
{
	(void)st;
	json_t *plan = compile_ok(
		"{\"item\":[{\"name\":\"s\",\"request\":\"http://h/x\"},"
		"{\"name\":\"o\",\"request\":{\"method\":\"post\",\"url\":{\"raw\":\"ignored\",\"host\":[\"{{base}}\"],"
		"\"path\":[\"users\",\":id\"],\"query\":[{\"key\":\"a\",\"value\":\"1 2\"},{\"key\":\"d\",\"value\":\"x\","
		"\"disabled\":true}],\"variable\":[{\"key\":\"id\",\"value\":\"42\"}]}}},"
		"{\"name\":\"f\",\"item\":[{\"name\":\"r\",\"request\":{\"url\":{\"raw\":\"{{b}}/p/:k\",\"variable\":[{\"key\":\"k\",\"value\":\"v\"}]}}}]}]}");
	assert_string_equal(json_string_value(json_object_get(req_n(plan, 0), "url")), "http://h/x");
	assert_string_equal(json_string_value(json_object_get(req_n(plan, 0), "method")), "GET");
	assert_string_equal(json_string_value(json_object_get(req_n(plan, 1), "url")), "{{base}}/users/42?a=1%202");
	assert_string_equal(json_string_value(json_object_get(req_n(plan, 1), "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(req_n(plan, 2), "url")), "{{b}}/p/v");
	assert_string_equal(json_string_value(json_object_get(req_n(plan, 2), "folder")), "f");
	json_decref(plan);
}

static void
test_compile_auth_inheritance(void **st)
{
	(void)st;
	json_t *plan = compile_ok(
		"{\"auth\":{\"type\":\"bearer\",\"bearer\":[{\"key\":\"token\",\"value\":\"T\"}]},\"item\":["
		"{\"name\":\"a\",\"request\":{\"url\":\"x\"}},"
		"{\"name\":\"F\",\"auth\":{\"type\":\"basic\",\"basic\":[{\"key\":\"username\",\"value\":\"u\"},{\"key\":\"password\",\"value\":\"p\"}]},"
		"\"item\":[{\"name\":\"b\",\"request\":{\"url\":\"x\"}},{\"name\":\"c\",\"request\":{\"url\":\"x\",\"auth\":{\"type\":\"noauth\"}}},"
		"{\"name\":\"d\",\"request\":{\"url\":\"x\",\"auth\":{\"type\":\"apikey\",\"apikey\":[{\"key\":\"key\",\"value\":\"K\"},{\"key\":\"value\",\"value\":\"V\"},{\"key\":\"in\",\"value\":\"query\"}]}}},"
		"{\"name\":\"e\",\"request\":{\"url\":\"x\",\"auth\":{\"type\":\"oauth2\"}}}]}]}");
	json_t *rendered;
	char err[300];

	assert_string_equal(json_string_value(json_object_get(json_object_get(req_n(plan, 0), "auth"), "type")), "bearer");
	assert_string_equal(json_string_value(json_object_get(json_object_get(req_n(plan, 1), "auth"), "type")), "basic");
	assert_true(json_is_null(json_object_get(req_n(plan, 2), "auth")));
	assert_non_null(strstr(json_string_value(json_object_get(req_n(plan, 4), "error")), "oauth2"));
	rendered = mt_render_requests(plan, NULL, err, sizeof(err));
	assert_null(rendered); /* request e cannot be rendered */
	assert_non_null(strstr(err, "requests[4]"));
	json_array_remove(json_object_get(plan, "requests"), 4);
	rendered = mt_render_requests(plan, NULL, err, sizeof(err));
	assert_non_null(rendered);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(rendered, 0), "headers"), 0)),
	                    "Authorization: Bearer T");
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(rendered, 1), "headers"), 0)),
	                    "Authorization: Basic dTpw");
	assert_int_equal(json_array_size(json_object_get(json_array_get(rendered, 2), "headers")), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rendered, 3), "url")), "http://x?K=V");
	json_decref(rendered);
	json_decref(plan);
}

static void
test_compile_bodies(void **st)
{
	(void)st;
	json_t *plan = compile_ok(
		"{\"item\":[{\"name\":\"raw\",\"request\":{\"method\":\"POST\",\"url\":\"h\",\"body\":{\"mode\":\"raw\",\"raw\":\"{\\\"a\\\":\\\"{{v}}\\\"}\","
		"\"options\":{\"raw\":{\"language\":\"json\"}}}}},"
		"{\"name\":\"ue\",\"request\":{\"method\":\"POST\",\"url\":\"h\",\"body\":{\"mode\":\"urlencoded\",\"urlencoded\":["
		"{\"key\":\"a b\",\"value\":\"c&d\"},{\"key\":\"x\",\"value\":\"y\",\"disabled\":true}]}}},"
		"{\"name\":\"fd\",\"request\":{\"method\":\"POST\",\"url\":\"h\",\"body\":{\"mode\":\"formdata\",\"formdata\":["
		"{\"key\":\"t\",\"value\":\"1\",\"type\":\"text\"}]}}},"
		"{\"name\":\"file\",\"request\":{\"method\":\"POST\",\"url\":\"h\",\"body\":{\"mode\":\"formdata\",\"formdata\":["
		"{\"key\":\"f\",\"type\":\"file\",\"src\":\"/etc/passwd\"}]}}}]}");
	json_t *env = J("{\"v\":\"Z\"}"), *r;
	char err[300];

	assert_non_null(strstr(json_string_value(json_object_get(req_n(plan, 3), "error")), "item[3].request.body.formdata[0]"));
	json_array_remove(json_object_get(plan, "requests"), 3);
	r = mt_render_requests(plan, env, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "body")), "{\"a\":\"Z\"}");
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(r, 0), "headers"), 0)),
	                    "Content-Type: application/json");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "body")), "a%20b=c%26d");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(r, 2), "body")),
	                       "Content-Disposition: form-data; name=\"t\"\r\n\r\n1\r\n"));
	json_decref(r);
	json_decref(env);
	json_decref(plan);
}

static void
test_compile_errors(void **st)
{
	(void)st;
	compile_err("[]", "collection");
	compile_err("{}", "item: expected an array");
	compile_err("{\"item\":[{\"name\":\"x\"}]}", "item[0]: expected a request or a folder");
	compile_err("{\"item\":[{\"item\":[{\"request\":{\"url\":5}}]}]}", "item[0].item[0].request.url: expected a string or an object");
	compile_err("{\"item\":[{\"request\":{\"url\":\"x\",\"header\":[1]}}]}", "item[0].request.header[0]");
	compile_err("{\"item\":[{\"request\":\"x\",\"assertions\":[{\"type\":\"nope\",\"equals\":1}]}]}", "item[0].assertions[0]: type");
	compile_err("{\"item\":[{\"request\":\"x\",\"assertions\":[{\"type\":\"jsonpath\",\"path\":\"$.a[x]\",\"equals\":1}]}]}",
	            "item[0].assertions[0]: path");
	compile_err("{\"item\":[{\"request\":\"x\",\"captures\":[{\"var\":\"t\"}]}]}", "item[0].captures[0]");
	compile_err("{\"item\":[{\"request\":{\"url\":\"x\",\"auth\":{\"type\":\"apikey\",\"apikey\":[{\"key\":\"in\",\"value\":\"cookie\"}]}}}]}",
	            "item[0].request.auth: apikey.in");
}

static json_t *
tr(const char *src)
{
	return mt_translate_script(src, "test", "test");
}

static const char *
op_of(const json_t *steps, size_t i)
{
	return json_string_value(json_object_get(json_array_get(steps, i), "op"));
}

static void
test_script_patterns(void **st)
{
	(void)st;
	json_t *s = tr("pm.test(\"a\", function () {\n"
	               "  pm.response.to.have.status(200);\n"
	               "  pm.response.to.be.ok;\n"
	               "  pm.expect(pm.response.code).to.eql(200);\n"
	               "  pm.expect(pm.response.responseTime).to.be.below(500);\n"
	               "  pm.response.to.have.header('X');\n"
	               "  pm.expect(pm.response.headers.get(\"X\")).to.include(\"y\");\n"
	               "  const j = pm.response.json();\n"
	               "  pm.expect(j.a[0].b).to.exist;\n"
	               "  pm.expect(j.a).to.have.property(\"k\");\n"
	               "  pm.expect(j.s).to.be.a('string');\n"
	               "  pm.expect(j.s).to.match(/^x+$/i);\n"
	               "  pm.expect(j.n).to.not.be.undefined;\n"
	               "  pm.expect(pm.response.text()).to.include(\"t\");\n"
	               "  pm.expect(j.o).to.eql({a: [1, 'two', null], \"b\": -1.5});\n"
	               "  pm.environment.set(\"k\", j.a.b);\n"
	               "});\n"
	               "pm.test('arrow', () => { pm.expect(1).to.equal(1) })\n"
	               "pm.collectionVariables.set('c', 5);\n");
	const json_t *t0 = json_array_get(s, 0);

	assert_int_equal(json_array_size(s), 3);
	assert_string_equal(op_of(s, 0), "test");
	assert_null(json_object_get(t0, "skipped"));
	assert_int_equal(json_array_size(json_object_get(t0, "steps")), 15);
	assert_string_equal(op_of(s, 1), "test");
	assert_null(json_object_get(json_array_get(s, 1), "skipped"));
	assert_string_equal(op_of(s, 2), "set");
	json_decref(s);
}

static void
test_script_skipped(void **st)
{
	(void)st;
	json_t *s = tr("console.log('hi');\n"
	               "pm.test(\"mixed\", function () {\n"
	               "  pm.expect(1).to.eql(1);\n"
	               "  if (x) { y(); }\n"
	               "});\n"
	               "pm.test(\"ok\", function () { pm.response.to.have.status(200); });\n"
	               "for (var i = 0; i < 3; i++) {\n  foo(i);\n}\n"
	               "pm.expect(pm.response.json().a).to.be.frobnicated;\n");
	const json_t *e;

	assert_int_equal(json_array_size(s), 5);
	e = json_array_get(s, 0);
	assert_string_equal(op_of(s, 0), "skip");
	assert_int_equal(json_integer_value(json_object_get(e, "line")), 1);
	assert_string_equal(json_string_value(json_object_get(e, "text")), "console.log('hi');");
	e = json_array_get(s, 1);
	assert_non_null(json_object_get(e, "skipped"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "skipped"), "line")), 4);
	assert_null(json_object_get(json_array_get(s, 2), "skipped"));
	assert_string_equal(op_of(s, 3), "skip");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(s, 3), "line")), 7);
	assert_string_equal(op_of(s, 4), "skip");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(s, 4), "reason")), "frobnicated"));
	json_decref(s);
	/* unbalanced script: one skip entry, nothing else */
	s = tr("pm.test(\"x\", function () {\n");
	assert_int_equal(json_array_size(s), 1);
	assert_string_equal(op_of(s, 0), "skip");
	json_decref(s);
	/* pre-request: only literal sets */
	s = mt_translate_script("pm.environment.set('a', 'b');\npm.environment.set('c', pm.response.code);", "prerequest",
	                        "prerequest");
	assert_int_equal(json_array_size(s), 2);
	assert_string_equal(op_of(s, 0), "set");
	assert_string_equal(op_of(s, 1), "skip");
	json_decref(s);
}

static void
test_deep_equal(void **st)
{
	(void)st;
	json_t *a = J("{\"a\":[1,2,{\"b\":null}],\"c\":1.0}"), *b = J("{\"c\":1,\"a\":[1,2,{\"b\":null}]}"),
	       *c = J("{\"a\":[2,1,{\"b\":null}],\"c\":1}");

	assert_true(mt_json_deep_equal(a, b));
	assert_false(mt_json_deep_equal(a, c));
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void
test_substitute(void **st)
{
	(void)st;
	json_t *v = J("{\"a\":\"A\",\"n\":5,\"r\":0.1,\"b\":true,\"nest\":\"<{{a}}>\"}");
	char *s;

	s = mt_substitute("{{a}}-{{n}}-{{r}}-{{b}}-{{nest}}-{{missing}}", v);
	assert_string_equal(s, "A-5-0.1-true-<A>-{{missing}}");
	free(s);
	s = mt_substitute("{{$guid}}", v);
	assert_int_equal(strlen(s), 36);
	assert_int_equal(s[14], '4');
	free(s);
	s = mt_substitute("{{$timestamp}}", v);
	assert_true(atol(s) > 1600000000);
	free(s);
	s = mt_substitute("{{$randomInt}}", v);
	assert_true(atoi(s) >= 0 && atoi(s) <= 1000);
	free(s);
	json_decref(v);
}

static void
test_reports(void **st)
{
	(void)st;
	json_t *run = J("{\"collectionName\":\"C<&>\",\"status\":\"failed\",\"totalTests\":2,\"passedTests\":1,\"failedTests\":1,"
	                "\"skippedTests\":0,\"duration\":12,\"results\":[{\"name\":\"r\\\"1\",\"folder\":\"F\",\"method\":\"GET\","
	                "\"status\":200,\"responseTimeMs\":1.5,\"assertions\":[{\"name\":\"ok <1>\",\"passed\":true,\"skipped\":false},"
	                "{\"name\":\"bad\",\"passed\":false,\"skipped\":false,\"message\":\"expected 'a' & \\u0001 | x\"}],\"skipped\":[]}]}");
	char *x = mt_report_junit(run), *m = mt_report_markdown(run);

	assert_non_null(strstr(x, "<testsuites name=\"C&lt;&amp;&gt;\" tests=\"2\" failures=\"1\""));
	assert_non_null(strstr(x, "<testsuite name=\"F/r&quot;1\""));
	assert_non_null(strstr(x, "<testcase name=\"ok &lt;1&gt;\""));
	assert_non_null(strstr(x, "message=\"expected &apos;a&apos; &amp; \xEF\xBF\xBD | x\""));
	assert_null(strchr(x, '\x01'));
	assert_non_null(strstr(m, "| F / r\"1 | GET | 200 |"));
	assert_non_null(strstr(m, "expected 'a' & \x01 \\| x"));
	free(x);
	free(m);
	json_decref(run);
}

/* ------------------------------------------------------------------ live run */

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
        const char *upload, size_t *upload_size, void **state)
{
	struct MHD_Response *r;
	const char *body = "{\"token\":\"tok-1\",\"items\":[{\"id\":1},{\"id\":2}],\"name\":\"Widget\"}";
	unsigned code = 200;
	enum MHD_Result rc;
	static int marker;

	(void)cls;
	(void)version;
	(void)upload;
	if (*state == NULL) {
		*state = &marker;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/secure") == 0) {
		const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

		if (a == NULL || strcmp(a, "Bearer tok-1") != 0) {
			code = 401;
			body = "{\"error\":\"unauthorized\"}";
		} else
			body = "{\"ok\":true}";
	} else if (strcmp(method, "POST") == 0)
		code = 201;
	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "ETag", "\"v1\"");
	rc = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return rc;
}

static void
test_run_live(void **st)
{
	(void)st;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	/* port 0: the kernel picks a free loopback port, read back below */
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
	                                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
	const union MHD_DaemonInfo *info;
	char coll[4096], base[64];
	json_t *plan, *env, *res, *r0, *r1, *r2;
	int port;

	assert_non_null(d);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	port = info->port;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	snprintf(coll, sizeof(coll),
	         "{\"info\":{\"name\":\"live\"},\"item\":["
	         "{\"name\":\"login\",\"request\":{\"method\":\"POST\",\"url\":\"{{base}}/login\",\"body\":{\"mode\":\"raw\",\"raw\":\"{}\"}},"
	         "\"event\":[{\"listen\":\"test\",\"script\":{\"exec\":["
	         "\"var j = pm.response.json();\","
	         "\"pm.test('created', function () { pm.response.to.have.status(201); });\","
	         "\"pm.test('items', function () { pm.expect(j.items[1].id).to.eql(2); pm.expect(j.name).to.include('Wid'); });\","
	         "\"pm.test('wrong', function () { pm.expect(j.items).to.have.lengthOf(3); });\","
	         "\"pm.environment.set('tok', j.token);\","
	         "\"foo();\"]}}],"
	         "\"assertions\":[{\"type\":\"status\",\"equals\":201},{\"type\":\"jsonpath\",\"path\":\"$.items[0].id\",\"equals\":1},"
	         "{\"type\":\"header\",\"name\":\"Content-Type\",\"contains\":\"json\"},{\"type\":\"jsonpath\",\"path\":\"$.name\",\"valueType\":\"number\"}],"
	         "\"captures\":[{\"var\":\"etag\",\"header\":\"ETag\"}]},"
	         "{\"name\":\"secure\",\"request\":{\"url\":\"{{base}}/secure\",\"auth\":{\"type\":\"bearer\",\"bearer\":[{\"key\":\"token\",\"value\":\"{{tok}}\"}]}},"
	         "\"event\":[{\"listen\":\"test\",\"script\":{\"exec\":\"pm.test('authorized', () => { pm.expect(pm.response.json().ok).to.be.true; });\"}}]},"
	         "{\"name\":\"down\",\"request\":\"http://127.0.0.1:1/x\","
	         "\"event\":[{\"listen\":\"test\",\"script\":{\"exec\":\"pm.test('never', () => { pm.expect(1).to.eql(1); });\"}}]}]}");
	plan = compile_ok(coll);
	env = json_pack("{s:s}", "base", base);
	res = mt_run(plan, env, &(mt_run_opts){.timeout_ms = 5000});
	assert_non_null(res);
	r0 = json_array_get(json_object_get(res, "results"), 0);
	r1 = json_array_get(json_object_get(res, "results"), 1);
	r2 = json_array_get(json_object_get(res, "results"), 2);
	assert_int_equal(json_integer_value(json_object_get(r0, "status")), 201);
	/* created, items, wrong(fail), [skip foo()], 4 declarative (last fails) */
	assert_int_equal(json_array_size(json_object_get(r0, "assertions")), 8);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(r0, "assertions"), 1), "passed")));
	assert_false(json_is_true(json_object_get(json_array_get(json_object_get(r0, "assertions"), 2), "passed")));
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(r0, "assertions"), 3), "skipped")));
	assert_int_equal(json_integer_value(json_object_get(r1, "status")), 200);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(r1, "assertions"), 0), "passed")));
	assert_int_equal(json_integer_value(json_object_get(r2, "status")), 0);
	assert_non_null(json_object_get(r2, "error"));
	assert_false(json_is_true(json_object_get(json_array_get(json_object_get(r2, "assertions"), 0), "passed")));
	assert_int_equal(json_integer_value(json_object_get(res, "totalTests")), 10);
	assert_int_equal(json_integer_value(json_object_get(res, "passedTests")), 6);
	assert_int_equal(json_integer_value(json_object_get(res, "failedTests")), 3);
	assert_int_equal(json_integer_value(json_object_get(res, "skippedTests")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(res, "environment"), "tok")), "tok-1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(res, "environment"), "etag")), "\"v1\"");
	assert_null(json_object_get(env, "tok")); /* env is not modified */
	json_decref(res);
	{
		volatile int cancel = 1;

		res = mt_run(plan, env, &(mt_run_opts){.cancel = &cancel});
		assert_true(json_is_true(json_object_get(res, "cancelled")));
		assert_int_equal(json_array_size(json_object_get(res, "results")), 0);
		json_decref(res);
	}
	json_decref(env);
	json_decref(plan);
	MHD_stop_daemon(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile_urls),     cmocka_unit_test(test_compile_auth_inheritance),
		cmocka_unit_test(test_compile_bodies),   cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_script_patterns),  cmocka_unit_test(test_script_skipped),
		cmocka_unit_test(test_deep_equal),       cmocka_unit_test(test_substitute),
		cmocka_unit_test(test_reports),          cmocka_unit_test(test_run_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
