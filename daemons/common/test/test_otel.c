/*
 * test_otel.c - unit tests of daemons/common/otel.c: strict W3C traceparent
 * parsing and formatting, the trace-id-ratio sampler, parent-based sampling
 * of spans, configuration errors that name their variable, and a bounded
 * shutdown when the collector is unreachable (failures counted, not fatal).
 *
 * The exporter's wire formats are checked end to end against real receivers
 * in regress/e2e/otel.test.mjs; here only what needs no network.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "otel.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char *GOOD = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

static void
test_parse_valid(void **state)
{
	otel_ctx c;
	char out[OTEL_TRACEPARENT_SIZE];

	(void)state;
	assert_true(otel_traceparent_parse(GOOD, &c));
	assert_true(c.valid);
	assert_int_equal(c.trace_id[0], 0x4b);
	assert_int_equal(c.trace_id[15], 0x36);
	assert_int_equal(c.span_id[0], 0x00);
	assert_int_equal(c.span_id[7], 0xb7);
	assert_int_equal(c.flags, 1);
	otel_traceparent_format(&c, out);
	assert_string_equal(out, GOOD);
	/* unsampled, and flag bits other than "sampled" are kept as received */
	assert_true(otel_traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &c));
	assert_int_equal(c.flags, 0);
	assert_true(otel_traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", &c));
	assert_int_equal(c.flags, 3);
}

static void
test_parse_invalid(void **state)
{
	static const char *const bad[] = {
	    "",
	    "garbage",
	    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  /* upper case */
	    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version 01 */
	    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version ff */
	    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  /* zero trace id */
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  /* zero span id */
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", /* too long */
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",   /* too short */
	    "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",  /* dash misplaced */
	    "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", /* bad hex in flags */
	    "00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01",
	    " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
	    "-------------------------------------------------------",
	};
	otel_ctx c;

	(void)state;
	assert_false(otel_traceparent_parse(NULL, &c));
	assert_false(c.valid);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.valid = true;
		if (otel_traceparent_parse(bad[i], &c))
			fail_msg("accepted \"%s\"", bad[i]);
		assert_false(c.valid);
	}
}

static void
test_ratio_sampler(void **state)
{
	uint8_t id[16] = {0};
	int hits = 0;
	const int n = 200000;

	(void)state;
	assert_true(otel_ratio_sampled(id, 1.0));
	assert_false(otel_ratio_sampled(id, 0.0));
	/* the decision reads the low 8 bytes: all-ones is the largest value, never under 0.99 */
	memset(id + 8, 0xff, 8);
	assert_false(otel_ratio_sampled(id, 0.99));
	assert_true(otel_ratio_sampled(id, 1.0));
	memset(id + 8, 0, 8);
	id[15] = 1;
	assert_true(otel_ratio_sampled(id, 0.001));
	/* uniform random ids: 0.1 within +-5 sd of n * 0.1 (sd = sqrt(n * 0.09) ~ 134) */
	for (int i = 0; i < n; i++) {
		if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
			fail();
		hits += otel_ratio_sampled(id, 0.1);
	}
	assert_in_range(hits, n / 10 - 670, n / 10 + 670);
}

static void
test_off_is_inert(void **state)
{
	otel_span s = {0};
	char tp[OTEL_TRACEPARENT_SIZE];

	(void)state;
	assert_false(otel_enabled());
	otel_span_start_remote(&s, "x", OTEL_KIND_SERVER, GOOD);
	assert_false(s.ctx.valid);
	assert_false(otel_recording(&s));
	otel_span_set_str(&s, "k", "v");
	otel_span_set_http_status(&s, 500);
	assert_false(otel_span_traceparent(&s, tp));
	otel_span_end(&s);
	otel_current_note_mock("ns", "id", "/r");
}

static void
test_config_errors(void **state)
{
	char err[256];

	(void)state;
	setenv("OTEL_EXPORTER_TYPE", "datadog", 1);
	assert_false(otel_init("test", err, sizeof(err)));
	assert_non_null(strstr(err, "OTEL_EXPORTER_TYPE \"datadog\""));
	setenv("OTEL_EXPORTER_TYPE", "otlp", 1);
	setenv("OTEL_SAMPLING_RATE", "1.01", 1);
	assert_false(otel_init("test", err, sizeof(err)));
	assert_non_null(strstr(err, "OTEL_SAMPLING_RATE"));
	setenv("OTEL_SAMPLING_RATE", "0.5x", 1);
	assert_false(otel_init("test", err, sizeof(err)));
	setenv("OTEL_SAMPLING_RATE", "nan", 1);
	assert_false(otel_init("test", err, sizeof(err)));
	setenv("OTEL_SAMPLING_RATE", "0.5", 1);
	setenv("OTEL_EXPORTER_ENDPOINT", "udp://x:1", 1);
	assert_false(otel_init("test", err, sizeof(err)));
	assert_non_null(strstr(err, "OTEL_EXPORTER_ENDPOINT"));
	setenv("OTEL_EXPORTER_ENDPOINT", "not a url", 1);
	assert_false(otel_init("test", err, sizeof(err)));
	assert_non_null(strstr(err, "OTEL_EXPORTER_ENDPOINT"));
	assert_false(otel_enabled());
	setenv("OTEL_EXPORTER_TYPE", "NONE", 1); /* case-insensitive; tracing stays off */
	assert_true(otel_init("test", err, sizeof(err)));
	assert_false(otel_enabled());
	unsetenv("OTEL_EXPORTER_TYPE");
	unsetenv("OTEL_SAMPLING_RATE");
	unsetenv("OTEL_EXPORTER_ENDPOINT");
}

/* Tracing on against a port nothing listens on: sampling logic, then a bounded shutdown. */
static void
test_spans_and_shutdown(void **state)
{
	char err[256], tp[OTEL_TRACEPARENT_SIZE], hdr[OTEL_HEADER_SIZE];
	otel_span root = {0}, child = {0}, remote = {0}, unsampled = {0};
	otel_ctx parent;
	otel_stats st;

	(void)state;
	setenv("OTEL_EXPORTER_TYPE", "otlp", 1);
	setenv("OTEL_EXPORTER_ENDPOINT", "http://127.0.0.1:9", 1); /* discard port: refused */
	setenv("OTEL_SAMPLING_RATE", "1", 1);
	assert_true(otel_init("test", err, sizeof(err)));
	assert_true(otel_enabled());

	otel_span_start(&root, "root", OTEL_KIND_SERVER, NULL);
	assert_true(root.ctx.valid);
	assert_true(otel_recording(&root));
	assert_int_equal(root.ctx.flags, 1);
	assert_null(otel_set_current(&root));
	assert_ptr_equal(otel_current_ctx(), &root.ctx);
	otel_span_start(&child, "child", OTEL_KIND_CLIENT, otel_current_ctx());
	assert_memory_equal(child.ctx.trace_id, root.ctx.trace_id, 16);
	assert_memory_not_equal(child.ctx.span_id, root.ctx.span_id, 8);
	assert_true(otel_span_traceparent(&child, tp));
	assert_true(otel_traceparent_parse(tp, &parent));
	assert_memory_equal(parent.span_id, child.ctx.span_id, 8);
	assert_true(otel_inject_header(&child, hdr));
	assert_int_equal(strncmp(hdr, "traceparent: 00-", 16), 0);
	assert_int_equal(strlen(hdr), 13 + 55);
	otel_span_set_http_status(&child, 404); /* an error for a client span */
	otel_span_end(&child);
	assert_false(otel_recording(&child));
	otel_span_end(&child); /* a second end is a no-op */
	otel_set_current(NULL);

	/* a remote parent that decided not to sample wins over the rate of 1 */
	otel_span_start_remote(&unsampled, "u", OTEL_KIND_SERVER,
	                       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
	assert_true(unsampled.ctx.valid);
	assert_false(otel_recording(&unsampled));
	assert_int_equal(unsampled.ctx.flags, 0);
	otel_span_end(&unsampled);
	/* a remote sampled parent is adopted */
	otel_span_start_remote(&remote, "r", OTEL_KIND_SERVER, GOOD);
	assert_true(otel_recording(&remote));
	assert_true(otel_traceparent_parse(GOOD, &parent));
	assert_memory_equal(remote.ctx.trace_id, parent.trace_id, 16);
	for (int i = 0; i < 20; i++) /* more attributes than fit are ignored, not a crash */
		otel_span_set_int(&remote, i % 2 ? "a" : "b", i);
	otel_span_end(&remote);
	otel_span_end(&root);

	otel_get_stats(&st);
	assert_int_equal(st.started, 3);
	otel_shutdown(3000); /* the refused export is counted, and shutdown returns */
	otel_get_stats(&st);
	assert_int_equal(st.exported, 0);
	assert_int_equal(st.export_failed, 3);
	assert_true(st.export_errors >= 1);
	assert_false(otel_enabled());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),   cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_ratio_sampler), cmocka_unit_test(test_off_is_inert),
	    cmocka_unit_test(test_config_errors), cmocka_unit_test(test_spans_and_shutdown),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
