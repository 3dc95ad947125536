/*
 * test_http_parse.c - the response parser: framing by Content-Length, chunked (extensions,
 * trailers), close, no-body statuses; input split at every byte; malformed input rejected with a
 * reason rather than misread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "loadgen.h"

static lg_resp_parser P;

/* Feeds text in pieces of `step` bytes (0 = all at once); returns the final rc, *used = bytes of the
 * response (offset where it ended). */
static lg_parse_rc
feed(const char *text, size_t step, bool head, size_t *end)
{
	size_t len = strlen(text), off = 0;
	lg_parse_rc rc = LG_PARSE_MORE;

	lg_resp_init(&P, head);
	while (off < len) {
		size_t n = step == 0 || len - off < step ? len - off : step, used;
		rc = lg_resp_feed(&P, text + off, n, &used);
		off += used;
		if (rc != LG_PARSE_MORE)
			break;
		assert_int_equal(used, n);
	}
	*end = off;
	return rc;
}

static void
test_content_length(void **state)
{
	(void)state;
	const char *r = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n\r\nhelloHTTP/1.1";
	for (size_t step = 0; step <= 7; step++) {
		size_t end;
		assert_int_equal(feed(r, step, false, &end), LG_PARSE_DONE);
		assert_int_equal(P.status, 200);
		assert_true(P.keep_alive);
		assert_int_equal(P.body_bytes, 5);
		assert_int_equal(end, strlen(r) - strlen("HTTP/1.1")); /* the next response is not eaten */
	}
}

static void
test_chunked_with_extensions_and_trailers(void **state)
{
	(void)state;
	const char *r = "HTTP/1.1 201 Created\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
	                "5;name=value;x\r\nhello\r\n"
	                "1A \r\nabcdefghijklmnopqrstuvwxyz\r\n"
	                "0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n";
	for (size_t step = 0; step <= 3; step++) {
		size_t end;
		assert_int_equal(feed(r, step, false, &end), LG_PARSE_DONE);
		assert_int_equal(P.status, 201);
		assert_true(P.chunked);
		assert_int_equal(P.body_bytes, 5 + 26);
		assert_int_equal(end, strlen(r));
		assert_true(P.keep_alive);
	}
}

static void
test_no_body_statuses_and_head(void **state)
{
	(void)state;
	size_t end;
	assert_int_equal(feed("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 1, false, &end),
	                 LG_PARSE_DONE);
	assert_int_equal(feed("HTTP/1.1 304 Not Modified\r\n\r\n", 0, false, &end), LG_PARSE_DONE);
	assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 0, true, &end), LG_PARSE_DONE);
	assert_int_equal(P.body_bytes, 0);
	/* an interim 100 Continue is skipped, the real response counts */
	assert_int_equal(feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno",
	                      1, false, &end),
	                 LG_PARSE_DONE);
	assert_int_equal(P.status, 404);
}

static void
test_connection_semantics(void **state)
{
	(void)state;
	size_t end;
	assert_int_equal(feed("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n", 0, false, &end),
	                 LG_PARSE_DONE);
	assert_false(P.keep_alive);
	assert_int_equal(feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, false, &end), LG_PARSE_DONE);
	assert_false(P.keep_alive);
	assert_int_equal(feed("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 0, false, &end),
	                 LG_PARSE_DONE);
	assert_true(P.keep_alive);
	/* no length at all: the body runs to the close */
	assert_int_equal(feed("HTTP/1.1 200 OK\r\n\r\nsome body", 2, false, &end), LG_PARSE_MORE);
	assert_false(P.keep_alive);
	assert_int_equal(lg_resp_eof(&P), LG_PARSE_DONE);
	assert_int_equal(P.body_bytes, 9);
	/* bare LF line ends are tolerated */
	assert_int_equal(feed("HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 1, false, &end), LG_PARSE_DONE);
}

static void
test_eof_mid_response_is_an_error(void **state)
{
	(void)state;
	size_t end;
	assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, false, &end), LG_PARSE_MORE);
	assert_int_equal(lg_resp_eof(&P), LG_PARSE_ERROR);
	assert_non_null(P.error);
	assert_int_equal(feed("HTTP/1.1 200", 0, false, &end), LG_PARSE_MORE);
	assert_int_equal(lg_resp_eof(&P), LG_PARSE_ERROR);
}

static void
test_malformed_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "HTTP/2 200 OK\r\n\r\n",
	    "HTTP/1.1 2x0 OK\r\n\r\n",
	    "HTTP/1.1 099 Low\r\n\r\n",
	    "HTTP/1.1 200OK\r\n\r\n",
	    "ICY 200 OK\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 junk\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon trailer\r\n\r\n",
	    "HTTP/1.1 101 Switching Protocols\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		for (size_t step = 0; step <= 1; step++) {
			size_t end;
			lg_parse_rc rc = feed(bad[i], step, false, &end);
			if (rc != LG_PARSE_ERROR)
				fail_msg("accepted bad input %zu (step %zu): %s", i, step, bad[i]);
			assert_non_null(P.error);
			/* an errored parser stays errored */
			size_t used;
			assert_int_equal(lg_resp_feed(&P, "x", 1, &used), LG_PARSE_ERROR);
		}
	/* a NUL inside a header line */
	static const char nul[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n";
	size_t used;
	lg_resp_init(&P, false);
	assert_int_equal(lg_resp_feed(&P, nul, sizeof nul - 1, &used), LG_PARSE_ERROR);
}

static void
test_bounds(void **state)
{
	(void)state;
	size_t used, end;
	/* one header line longer than LG_MAX_LINE, fed in pieces: refused without overflowing */
	char *big = malloc(LG_MAX_LINE * 2);
	memset(big, 'a', LG_MAX_LINE * 2);
	lg_resp_init(&P, false);
	assert_int_equal(lg_resp_feed(&P, "HTTP/1.1 200 OK\r\nX: ", 20, &used), LG_PARSE_MORE);
	lg_parse_rc rc = LG_PARSE_MORE;
	for (int i = 0; i < 4 && rc == LG_PARSE_MORE; i++)
		rc = lg_resp_feed(&P, big, LG_MAX_LINE / 2 + 1, &used);
	assert_int_equal(rc, LG_PARSE_ERROR);
	free(big);
	/* more than LG_MAX_HEADERS header lines */
	char *many = malloc(16 * (LG_MAX_HEADERS + 10) + 64);
	strcpy(many, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < LG_MAX_HEADERS + 5; i++)
		strcat(many, "X-A: b\r\n");
	strcat(many, "\r\n");
	assert_int_equal(feed(many, 0, false, &end), LG_PARSE_ERROR);
	free(many);
	/* a huge (but valid) Content-Length is skipped by counting, not buffered */
	assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Length: 4611686018427387904\r\n\r\nabc", 0, false, &end),
	                 LG_PARSE_MORE);
	assert_int_equal(P.body_bytes, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_content_length),         cmocka_unit_test(test_chunked_with_extensions_and_trailers),
	    cmocka_unit_test(test_no_body_statuses_and_head), cmocka_unit_test(test_connection_semantics),
	    cmocka_unit_test(test_eof_mid_response_is_an_error), cmocka_unit_test(test_malformed_rejected),
	    cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests_name("http_parse", tests, NULL, NULL);
}
