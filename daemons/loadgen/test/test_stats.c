/*
 * test_stats.c - latency percentiles of the histogram against exact sorted values (within 1 %),
 * thresholds in both spellings with their errors, and durations as users write them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "loadgen.h"

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void
test_percentiles_within_one_percent(void **state)
{
	(void)state;
	enum { N = 200000 };
	uint64_t *v = malloc(sizeof *v * N);
	lg_hist *h = calloc(1, sizeof *h);
	srand(42);
	/* log-uniform over 5 us .. 2 s, plus a cluster around 1 ms: what load tests see */
	for (int i = 0; i < N; i++) {
		double u = (double)rand() / RAND_MAX;
		v[i] = i % 3 ? (uint64_t)(5000.0 * pow(400000.0, u)) : (uint64_t)(900000 + rand() % 200000);
		lg_hist_add(h, v[i]);
	}
	qsort(v, N, sizeof *v, cmp_u64);
	static const double pcts[] = {1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100};
	for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
		size_t rank = (size_t)ceil(pcts[i] / 100 * N);
		double exact = (double)v[rank ? rank - 1 : 0], got = lg_hist_percentile(h, pcts[i]);
		if (fabs(got - exact) / exact > 0.01)
			fail_msg("p%g: histogram %.0f ns, exact %.0f ns", pcts[i], got, exact);
	}
	/* every bucket's midpoint is within 1 % of every value it holds */
	for (uint64_t x = 1; x < ((uint64_t)1 << 40); x = x * 3 / 2 + 1) {
		double m = lg_hist_value(lg_hist_index(x));
		assert_true(fabs(m - (double)x) / (double)x <= 0.01);
	}
	/* merging adds */
	lg_hist *h2 = calloc(1, sizeof *h2);
	lg_hist_add(h2, 1000);
	lg_hist_merge(h2, h);
	assert_int_equal(h2->total, N + 1);
	lg_hist empty = {0};
	assert_true(lg_hist_percentile(&empty, 50) == 0);
	free(v);
	free(h);
	free(h2);
}

static json_t *
J(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, 0, &e);
	if (v == NULL)
		fail_msg("bad JSON in test: %s", e.text);
	return v;
}

static const char *REPORT = "{\"requests\":1000,\"errors\":5,\"rps\":250.5,\"errorRate\":0.005,"
                            "\"latencyMs\":{\"min\":0.1,\"mean\":2.5,\"p50\":2,\"p90\":4,\"p95\":6,\"p99\":9,"
                            "\"p999\":12,\"max\":15}}";

static void
test_thresholds_k6_form(void **state)
{
	(void)state;
	char err[256];
	bool passed = false;
	json_t *rep = J(REPORT);
	json_t *th = J("{\"http_req_duration\":[\"p(95)<500\",\"avg < 3\",{\"threshold\":\"med<=2\"}],"
	               "\"http_req_failed\":\"rate<0.01\",\"http_reqs\":[\"rate>100\",\"count>=1000\"]}");
	json_t *res = lg_thresholds_eval(rep, th, &passed, err, sizeof err);
	assert_non_null(res);
	assert_true(passed);
	assert_int_equal(json_array_size(res), 6);
	json_t *first = json_array_get(res, 0);
	assert_string_equal(json_string_value(json_object_get(first, "metric")), "http_req_duration");
	assert_string_equal(json_string_value(json_object_get(first, "expr")), "p(95)<500");
	assert_true(json_number_value(json_object_get(first, "actual")) == 6);
	json_decref(res);
	json_decref(th);

	th = J("{\"http_req_duration\":[\"p(99)<5\",\"p(50)<5\"]}");
	res = lg_thresholds_eval(rep, th, &passed, err, sizeof err);
	assert_non_null(res);
	assert_false(passed);
	assert_false(json_is_true(json_object_get(json_array_get(res, 0), "passed")));
	assert_true(json_is_true(json_object_get(json_array_get(res, 1), "passed")));
	json_decref(res);
	json_decref(th);
	json_decref(rep);
}

static void
test_thresholds_short_form(void **state)
{
	(void)state;
	char err[256];
	bool passed = false;
	json_t *rep = J(REPORT);
	json_t *th = J("{\"p95\":500,\"p999\":13,\"errorRate\":0.01,\"rps\":200}");
	json_t *res = lg_thresholds_eval(rep, th, &passed, err, sizeof err);
	assert_non_null(res);
	assert_true(passed);
	assert_int_equal(json_array_size(res), 4);
	json_decref(res);
	json_decref(th);
	th = J("{\"errorRate\":0.001}");
	res = lg_thresholds_eval(rep, th, &passed, err, sizeof err);
	assert_false(passed);
	assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "metric")), "http_req_failed");
	json_decref(res);
	json_decref(th);
	json_decref(rep);
}

static void
test_thresholds_errors(void **state)
{
	(void)state;
	static const struct {
		const char *th, *needle;
	} cases[] = {
	    {"{\"http_req_duration\":[\"p(95)\"]}", "thresholds.http_req_duration[0]"},
	    {"{\"http_req_duration\":[\"p95<5\"]}", "cannot parse"},
	    {"{\"http_req_duration\":[\"avg<abc\"]}", "cannot parse"},
	    {"{\"http_req_duration\":[\"avg<5 ms\"]}", "cannot parse"},
	    {"{\"http_req_duration\":[\"p(42)<5\"]}", "p(42)"},
	    {"{\"http_req_duration\":[\"rate<5\"]}", "does not apply"},
	    {"{\"http_req_waiting\":[\"avg<5\"]}", "unknown metric"},
	    {"{\"http_req_duration\":[5]}", "thresholds.http_req_duration[0]"},
	    {"{\"http_req_duration\":true}", "thresholds.http_req_duration"},
	    {"{\"p95\":\"fast\"}", "thresholds.p95"},
	    {"{\"latency\":5}", "thresholds.latency"},
	    {"[1]", "must be an object"},
	};
	json_t *rep = J(REPORT);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[256] = "";
		bool passed = true;
		json_t *th = J(cases[i].th);
		json_t *res = lg_thresholds_eval(rep, th, &passed, err, sizeof err);
		if (res != NULL)
			fail_msg("accepted %s", cases[i].th);
		if (strstr(err, cases[i].needle) == NULL)
			fail_msg("%s: error \"%s\" does not mention \"%s\"", cases[i].th, err, cases[i].needle);
		json_decref(th);
	}
	/* no thresholds: passes */
	bool passed = false;
	char err[64];
	json_t *res = lg_thresholds_eval(rep, NULL, &passed, err, sizeof err);
	assert_true(passed);
	assert_int_equal(json_array_size(res), 0);
	json_decref(res);
	json_decref(rep);
}

static void
test_durations(void **state)
{
	(void)state;
	assert_int_equal(lg_parse_duration_ms("10s"), 10000);
	assert_int_equal(lg_parse_duration_ms("500ms"), 500);
	assert_int_equal(lg_parse_duration_ms("2m"), 120000);
	assert_int_equal(lg_parse_duration_ms("1m30s"), 90000);
	assert_int_equal(lg_parse_duration_ms("1h"), 3600000);
	assert_int_equal(lg_parse_duration_ms("1.5s"), 1500);
	assert_int_equal(lg_parse_duration_ms("7"), 7000);
	assert_int_equal(lg_parse_duration_ms(""), -1);
	assert_int_equal(lg_parse_duration_ms("10x"), -1);
	assert_int_equal(lg_parse_duration_ms("-5s"), -1);
	assert_int_equal(lg_parse_duration_ms("s"), -1);
	assert_int_equal(lg_parse_duration_ms("1m5"), -1);
	assert_int_equal(lg_parse_duration_ms("999999h"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_percentiles_within_one_percent),
	    cmocka_unit_test(test_thresholds_k6_form),
	    cmocka_unit_test(test_thresholds_short_form),
	    cmocka_unit_test(test_thresholds_errors),
	    cmocka_unit_test(test_durations),
	};
	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
