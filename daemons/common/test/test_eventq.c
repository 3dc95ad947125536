/*
 * test_eventq.c - unit tests of daemons/common/eventq.c: the mock.resolved
 * event text (valid JSON whatever the path holds), callbacks rendered with a
 * request context and filtered by trigger, kafka/rabbitmq callbacks left out,
 * a full queue shedding (queued + shed == pushed, and the sink gets exactly
 * the queued ones), and the per-second event rate limit.
 *
 * The database and coordinator ends are checked in regress/e2e/webhook_callbacks.test.mjs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "eventq.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the sink received (copies), under a mutex: the drain thread calls it. */
static pthread_mutex_t got_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *got_cb, *got_ev;

static void
sink(void *arg, const char *const *cbs, size_t ncb, const char *const *evs, size_t nev)
{
	(void)arg;
	pthread_mutex_lock(&got_mu);
	for (size_t i = 0; i < ncb; i++)
		json_array_append_new(got_cb, json_loads(cbs[i], 0, NULL));
	for (size_t i = 0; i < nev; i++)
		json_array_append_new(got_ev, json_loads(evs[i], 0, NULL));
	pthread_mutex_unlock(&got_mu);
}

/* Starts the queue with the given size and rate (NULL = defaults) and empty records. */
static void
start(const char *size, const char *rate)
{
	if (size)
		setenv("WEBHOOK_QUEUE_SIZE", size, 1);
	else
		unsetenv("WEBHOOK_QUEUE_SIZE");
	if (rate)
		setenv("WEBHOOK_EVENTS_MAX_RATE", rate, 1);
	else
		unsetenv("WEBHOOK_EVENTS_MAX_RATE");
	json_decref(got_cb);
	json_decref(got_ev);
	got_cb = json_array();
	got_ev = json_array();
	assert_true(eq_start(sink, NULL));
}

static void
test_event_text(void **state)
{
	eq_counters c0, c1;
	json_t *e;

	(void)state;
	start(NULL, NULL);
	eq_counters_get(&c0);
	eq_event_resolved("m1", "sandbox", "GET", "/a\"b\\c\n\xff\xc3\xa9", 201,
			  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	eq_event_resolved("m2", "qa", "POST", "/x", 500, NULL);
	eq_stop();
	eq_counters_get(&c1);
	assert_int_equal(c1.events_queued - c0.events_queued, 2);
	assert_int_equal(json_array_size(got_ev), 2); /* both parsed: valid JSON */
	e = json_array_get(got_ev, 0);
	assert_string_equal(json_string_value(json_object_get(e, "mockId")), "m1");
	assert_string_equal(json_string_value(json_object_get(e, "path")), "/a\"b\\c\n?\xc3\xa9");
	assert_int_equal(json_integer_value(json_object_get(e, "status")), 201);
	assert_string_equal(json_string_value(json_object_get(e, "traceparent")),
			    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	assert_int_equal(strlen(json_string_value(json_object_get(e, "at"))), 24); /* ms, Z */
	e = json_array_get(got_ev, 1);
	assert_null(json_object_get(e, "traceparent"));
	assert_string_equal(json_string_value(json_object_get(e, "namespace")), "qa");
}

static void
test_callbacks(void **state)
{
	json_t *doc = json_loads(
	    "{\"webhooks\":["
	    "{\"url\":\"http://r/ok/$.pathParam.id\",\"trigger\":\"on_success\",\"method\":\"PUT\","
	    "\"headers\":{\"X-Id\":\"id-$.pathParam.id\",\"X-N\":\"$.req.n\"},\"body\":{\"n\":\"$.req.n\"},"
	    "\"timeout\":500,\"retryCount\":2,\"retryDelay\":100},"
	    "{\"url\":\"http://r/err\",\"trigger\":\"on_error\"},"
	    "{\"type\":\"kafka\",\"kafkaTopic\":\"t\"},"
	    "{\"url\":\"http://r/always\",\"trigger\":\"on_last_use\"}]}",
	    0, NULL);
	json_t *cbs = eq_callbacks_prepare(doc, "m1");
	json_t *pp = json_pack("{s:s}", "id", "7");
	mc_request rq = {.method = "POST", .path = "/o/7", .body = "{\"n\":3}", .body_len = 7};
	mc_rng rng;
	mc_render_ctx ctx = {.path_params = pp, .rng = &rng, .now = 1700000000};
	json_t *c;

	(void)state;
	assert_non_null(cbs);
	assert_int_equal(json_array_size(cbs), 3); /* kafka left out */
	rq.body_json = json_loads(rq.body, 0, NULL);
	ctx.req = &rq;
	mc_rng_seed(&rng, 1);
	start(NULL, NULL);
	eq_callbacks_fire(cbs, &ctx, "m1", "sandbox", 200);
	eq_callbacks_fire(cbs, &ctx, "m1", "sandbox", 404);
	eq_stop();
	/* 200: on_success + on_last_use (treated as always); 404: on_error + on_last_use */
	assert_int_equal(json_array_size(got_cb), 4);
	c = json_array_get(got_cb, 0);
	assert_string_equal(json_string_value(json_object_get(c, "url")), "http://r/ok/7");
	assert_string_equal(json_string_value(json_object_get(c, "method")), "PUT");
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "headers"), "X-Id")), "id-7");
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "headers"), "X-N")), "3");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "body"), "n")), 3);
	assert_int_equal(json_integer_value(json_object_get(c, "timeoutMs")), 500);
	assert_int_equal(json_integer_value(json_object_get(c, "retryCount")), 2);
	assert_int_equal(json_integer_value(json_object_get(c, "retryDelay")), 100);
	assert_string_equal(json_string_value(json_object_get(c, "mockId")), "m1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(got_cb, 1), "url")), "http://r/always");
	assert_string_equal(json_string_value(json_object_get(json_array_get(got_cb, 1), "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(json_array_get(got_cb, 2), "url")), "http://r/err");
	json_decref(rq.body_json);
	json_decref(pp);
	json_decref(cbs);
	json_decref(doc);
	/* no webhooks, or only unsupported ones: nothing to keep per mock */
	doc = json_loads("{\"webhooks\":[{\"type\":\"rabbitmq\"}]}", 0, NULL);
	assert_null(eq_callbacks_prepare(doc, "m2"));
	json_decref(doc);
}

static void
test_full_queue_sheds(void **state)
{
	eq_counters c0, c1;
	const int n = 5000;

	(void)state;
	start("3", "0");
	eq_counters_get(&c0);
	assert_int_equal(c0.capacity, 3);
	for (int i = 0; i < n; i++)
		eq_event_resolved("m", "sandbox", "GET", "/", 200, NULL);
	eq_stop();
	eq_counters_get(&c1);
	assert_true(c1.events_shed - c0.events_shed > 0);
	assert_int_equal((c1.events_queued - c0.events_queued) + (c1.events_shed - c0.events_shed), n);
	assert_int_equal(json_array_size(got_ev), c1.events_queued - c0.events_queued);
	/* stopped: later pushes are shed, never queued */
	eq_event_resolved("m", "sandbox", "GET", "/", 200, NULL);
	eq_counters_get(&c0);
	assert_int_equal(c0.events_queued, c1.events_queued);
}

static void
test_rate_limit(void **state)
{
	eq_counters c0, c1;

	(void)state;
	start(NULL, "5");
	eq_counters_get(&c0);
	for (int i = 0; i < 20; i++)
		eq_event_resolved("m", "sandbox", "GET", "/", 200, NULL);
	eq_stop();
	eq_counters_get(&c1);
	/* one second's window allows 5 (10 when the pushes straddle a second boundary) */
	assert_true(c1.events_queued - c0.events_queued >= 5 && c1.events_queued - c0.events_queued <= 10);
	assert_int_equal((c1.events_queued - c0.events_queued) + (c1.events_shed - c0.events_shed), 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_event_text),
	    cmocka_unit_test(test_callbacks),
	    cmocka_unit_test(test_full_queue_sheds),
	    cmocka_unit_test(test_rate_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
