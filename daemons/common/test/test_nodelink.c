/*
 * test_nodelink.c - unit tests of daemons/common/nodelink.c, the link state
 * and watchdog of the resolver's and the runner's coordinator sessions: the
 * state transitions a dashboard shows (connecting, connected, disconnected,
 * auth refused that stays visible while retrying), the reconnect counter and
 * last error, the backoff (growth, cap, start over after a stream that
 * worked, jitter within +-20 %), the watchdog firing exactly once on a silent
 * stream and never on a talking one, and the status JSON fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "nodelink.h"

#include <string.h>

static int64_t fake_now;
static int interrupts;
static void *interrupted;

static int64_t
fake_clock(void)
{
	return fake_now;
}

static void
fake_interrupt(void *stream)
{
	interrupts++;
	interrupted = stream;
}

static void
setup_link(nodelink *l, int64_t initial, int64_t max, int factor)
{
	nl_config c = {.backoff_initial_ms = initial,
	               .backoff_max_ms = max,
	               .backoff_factor_pct = factor,
	               .interrupt = fake_interrupt,
	               .mono_ms = fake_clock,
	               .wall_ms = fake_clock};

	fake_now = 1000000;
	interrupts = 0;
	interrupted = NULL;
	nl_init(l, &c);
}

static void
test_state_transitions(void **state)
{
	nodelink l = NODELINK_INIT;
	nl_status st;

	(void)state;
	nl_get(&l, &st); /* readable before nl_init */
	assert_int_equal(st.state, NL_CONNECTING);
	setup_link(&l, 100, 5000, 200);
	nl_get(&l, &st);
	assert_int_equal(st.state, NL_CONNECTING);
	assert_string_equal(nl_state_names[st.state], "connecting");
	assert_false(nl_is_connected(&l));

	/* a stream opens and the coordinator answers */
	nl_stream_begin(&l, &l);
	fake_now += 5;
	nl_event(&l);
	nl_connected(&l);
	nl_get(&l, &st);
	assert_int_equal(st.state, NL_CONNECTED);
	assert_true(nl_is_connected(&l));
	assert_int_equal(st.connected_since_ms, fake_now);
	assert_int_equal(st.last_event_ms, fake_now);
	assert_int_equal(st.reconnects, 0);

	/* it ends: disconnected with the code and message, one reconnect counted */
	assert_false(nl_stream_end(&l));
	assert_true(nl_stream_ended(&l, true, 14, "connection reset"));
	nl_get(&l, &st);
	assert_int_equal(st.state, NL_DISCONNECTED);
	assert_int_equal(st.last_code, 14);
	assert_string_equal(st.last_error, "connection reset");
	assert_int_equal(st.reconnects, 1);
	nl_retrying(&l);
	nl_get(&l, &st);
	assert_int_equal(st.state, NL_CONNECTING);
	assert_string_equal(st.last_error, "connection reset"); /* kept until the next outcome */

	/* the same failure again, without a stream that worked: no second log line */
	assert_false(nl_stream_ended(&l, false, 14, "connection reset"));

	/* a refused token: auth_refused, and it stays so while retrying */
	assert_true(nl_stream_ended(&l, false, NL_CODE_UNAUTHENTICATED, "token disabled"));
	nl_get(&l, &st);
	assert_int_equal(st.state, NL_AUTH_REFUSED);
	assert_string_equal(nl_state_names[st.state], "auth_refused");
	assert_int_equal(st.reconnects, 3);
	nl_retrying(&l);
	nl_get(&l, &st);
	assert_int_equal(st.state, NL_AUTH_REFUSED);
	assert_false(nl_stream_ended(&l, true, NL_CODE_UNAUTHENTICATED, "token disabled"));
	assert_true(nl_is_refusal(NL_CODE_PERMISSION_DENIED));
	assert_false(nl_is_refusal(14));

	/* connected again clears the error; a negative code leaves the error alone */
	nl_connected(&l);
	nl_get(&l, &st);
	assert_int_equal(st.state, NL_CONNECTED);
	assert_int_equal(st.last_code, 0);
	assert_string_equal(st.last_error, "");
	nl_set_state(&l, NL_DISCONNECTED, -1, NULL);
	nl_get(&l, &st);
	assert_int_equal(st.state, NL_DISCONNECTED);
	assert_int_equal(st.last_code, 0);
}

/* Waits are within +-20 % of 100, 200, 400, ... capped at 5000; a stream that worked starts over. */
static void
test_backoff_bounds(void **state)
{
	nodelink l = NODELINK_INIT;
	int64_t expect = 100;

	(void)state;
	setup_link(&l, 100, 5000, 200);
	for (int i = 0; i < 12; i++) {
		int64_t w;

		nl_stream_ended(&l, false, 14, "unavailable");
		w = nl_next_wait(&l);
		assert_in_range(w, expect * 80 / 100, expect * 120 / 100);
		expect = expect * 2 > 5000 ? 5000 : expect * 2;
	}
	assert_int_equal(expect, 5000);
	nl_stream_ended(&l, true, 0, "");
	assert_in_range(nl_next_wait(&l), 80, 120);

	/* x1.6 up to 30 s, as the runner uses it */
	setup_link(&l, 1000, 30000, 160);
	expect = 1000;
	for (int i = 0; i < 15; i++) {
		nl_stream_ended(&l, false, 14, "unavailable");
		assert_in_range(nl_next_wait(&l), expect * 80 / 100, expect * 120 / 100);
		expect = expect * 160 / 100 > 30000 ? 30000 : expect * 160 / 100;
	}
	assert_int_equal(expect, 30000);

	/* jitter spreads: 200 draws of 1000 are not all equal and all within bounds */
	{
		int64_t lo = 1000000, hi = 0;

		for (int i = 0; i < 200; i++) {
			int64_t j = nl_jitter(1000);

			assert_in_range(j, 800, 1200);
			lo = j < lo ? j : lo;
			hi = j > hi ? j : hi;
		}
		assert_true(hi > lo);
	}
	assert_int_equal(nl_jitter(0), 0);
}

static void
test_watchdog(void **state)
{
	nodelink l = NODELINK_INIT;
	int stream_a, stream_b;

	(void)state;
	setup_link(&l, 100, 5000, 200);
	/* no stream: nothing to end, however long the silence */
	fake_now += 100000;
	assert_false(nl_watchdog(&l, 1000));
	assert_int_equal(interrupts, 0);

	/* a talking stream is left alone */
	nl_stream_begin(&l, &stream_a);
	for (int i = 0; i < 10; i++) {
		fake_now += 900;
		nl_event(&l);
		assert_false(nl_watchdog(&l, 1000));
	}
	assert_int_equal(interrupts, 0);

	/* silence beyond the limit: interrupted once, and the end says why */
	fake_now += 1000;
	assert_false(nl_watchdog(&l, 1000)); /* exactly the limit is not beyond it */
	fake_now += 1;
	assert_true(nl_watchdog(&l, 1000));
	assert_int_equal(interrupts, 1);
	assert_ptr_equal(interrupted, &stream_a);
	fake_now += 5000;
	assert_false(nl_watchdog(&l, 1000)); /* once per stream */
	assert_int_equal(interrupts, 1);
	assert_true(nl_stream_end(&l));

	/* the next stream starts with a fresh clock and flag */
	nl_stream_begin(&l, &stream_b);
	fake_now += 999;
	assert_false(nl_watchdog(&l, 1000));
	assert_false(nl_stream_end(&l));
	fake_now += 10000;
	assert_false(nl_watchdog(&l, 1000)); /* ended: nothing to interrupt */

	/* shutdown interrupts the stream in progress */
	nl_stream_begin(&l, &stream_b);
	nl_interrupt(&l);
	assert_int_equal(interrupts, 2);
	assert_ptr_equal(interrupted, &stream_b);
	nl_stream_end(&l);
	nl_interrupt(&l);
	assert_int_equal(interrupts, 2);
}

static void
test_status_json(void **state)
{
	nodelink l = NODELINK_INIT;
	nl_status st;
	json_t *j;

	(void)state;
	setup_link(&l, 100, 5000, 200);
	nl_stream_ended(&l, false, NL_CODE_PERMISSION_DENIED, "not a resolver token");
	nl_get(&l, &st);
	j = nl_status_json(&st, json_pack("{s:s}", "addr", "127.0.0.1:5773"));
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "addr")), "127.0.0.1:5773");
	assert_string_equal(json_string_value(json_object_get(j, "state")), "auth_refused");
	assert_true(json_is_false(json_object_get(j, "connected")));
	assert_true(json_is_true(json_object_get(j, "authRefused")));
	assert_int_equal(json_integer_value(json_object_get(j, "lastCode")), 7);
	assert_string_equal(json_string_value(json_object_get(j, "lastError")), "not a resolver token");
	assert_int_equal(json_integer_value(json_object_get(j, "reconnects")), 1);
	assert_true(json_is_integer(json_object_get(j, "connectedSinceMs")));
	assert_true(json_is_integer(json_object_get(j, "lastEventMs")));
	json_decref(j);
	assert_null(nl_status_json(&st, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_transitions),
	    cmocka_unit_test(test_backoff_bounds),
	    cmocka_unit_test(test_watchdog),
	    cmocka_unit_test(test_status_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
