/*
 * test_grpc.c - the gRPC part's pure pieces: the 5-byte frame prefix, grpc-status values as they
 * come in trailers, the classification of a finished call into success / status error / transport
 * error, grpc-timeout values, and the preparation of a request from a descriptor set compiled by
 * protoc (skipped when protoc is absent) with the errors users see for a wrong method or message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "loadgen.h"

static void
test_frame_prefix(void **state)
{
	(void)state;
	const uint8_t msg[] = {0x0a, 0x02, 'h', 'i'};
	uint8_t *f = lg_grpc_frame(msg, sizeof msg);
	assert_non_null(f);
	const uint8_t want[] = {0, 0, 0, 0, 4, 0x0a, 0x02, 'h', 'i'};
	assert_memory_equal(f, want, sizeof want);
	free(f);
	/* an empty message is a frame of length 0 */
	f = lg_grpc_frame(NULL, 0);
	assert_non_null(f);
	const uint8_t empty[] = {0, 0, 0, 0, 0};
	assert_memory_equal(f, empty, 5);
	free(f);
	/* lengths above 16 bits are big-endian across the four bytes */
	size_t n = 70000;
	uint8_t *big = calloc(1, n);
	f = lg_grpc_frame(big, n);
	assert_int_equal(f[1], 0x00);
	assert_int_equal(f[2], 0x01);
	assert_int_equal(f[3], 0x11);
	assert_int_equal(f[4], 0x70);
	free(f);
	free(big);
}

static void
test_status_values(void **state)
{
	(void)state;
	assert_int_equal(lg_grpc_parse_status("0", 1), 0);
	assert_int_equal(lg_grpc_parse_status("14", 2), 14);
	assert_int_equal(lg_grpc_parse_status("16", 2), 16);
	assert_int_equal(lg_grpc_parse_status("17", 2), -1);
	assert_int_equal(lg_grpc_parse_status("", 0), -1);
	assert_int_equal(lg_grpc_parse_status("1a", 2), -1);
	assert_int_equal(lg_grpc_parse_status(" 1", 2), -1);
	assert_int_equal(lg_grpc_parse_status("100", 3), -1);
	/* the value is not NUL-terminated in nghttp2's callback: only len bytes count */
	assert_int_equal(lg_grpc_parse_status("4xyz", 1), 4);
	assert_string_equal(lg_grpc_status_name(0), "OK");
	assert_string_equal(lg_grpc_status_name(4), "DEADLINE_EXCEEDED");
	assert_string_equal(lg_grpc_status_name(14), "UNAVAILABLE");
	assert_string_equal(lg_grpc_status_name(16), "UNAUTHENTICATED");
	assert_string_equal(lg_grpc_status_name(99), "UNKNOWN");
}

static void
test_classify(void **state)
{
	(void)state;
	assert_int_equal(lg_grpc_classify(200, 0, false), LG_GRPC_OK);
	assert_int_equal(lg_grpc_classify(200, 14, false), LG_GRPC_STATUS);
	/* trailers-only responses and a status after a reset still name the status */
	assert_int_equal(lg_grpc_classify(200, 12, true), LG_GRPC_STATUS);
	assert_int_equal(lg_grpc_classify(200, -1, true), LG_GRPC_RESET);
	assert_int_equal(lg_grpc_classify(0, -1, true), LG_GRPC_RESET);
	/* a proxy's 503 without grpc-status is an HTTP status error, not a success */
	assert_int_equal(lg_grpc_classify(503, -1, false), LG_GRPC_HTTP_STATUS);
	/* a 200 whose stream ended without grpc-status is malformed */
	assert_int_equal(lg_grpc_classify(200, -1, false), LG_GRPC_NO_STATUS);
}

static void
test_timeout_values(void **state)
{
	(void)state;
	char b[32];
	assert_true(lg_grpc_timeout_value(250, b, sizeof b));
	assert_string_equal(b, "250m");
	assert_true(lg_grpc_timeout_value(3600000, b, sizeof b));
	assert_string_equal(b, "3600000m");
	assert_false(lg_grpc_timeout_value(0, b, sizeof b));
	assert_false(lg_grpc_timeout_value(250, b, 3));
}

/* Compiles regress/grpc-load/echo.proto into a FileDescriptorSet; NULL when protoc is absent. */
static uint8_t *
echo_set(size_t *len)
{
	char path[] = "/tmp/lg-test-grpc-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	char cmd[512];
	snprintf(
	    cmd, sizeof cmd,
	    "protoc --include_imports --descriptor_set_out=%s -I ../../regress/grpc-load -I /usr/include "
	    "../../regress/grpc-load/echo.proto 2>/dev/null",
	    path);
	uint8_t *buf = NULL;
	if (system(cmd) == 0) {
		FILE *f = fopen(path, "rb");
		buf = malloc(1 << 20);
		*len = f ? fread(buf, 1, 1 << 20, f) : 0;
		if (f)
			fclose(f);
	}
	unlink(path);
	return buf;
}

static void
test_prepare(void **state)
{
	(void)state;
	size_t len = 0;
	uint8_t *set = echo_set(&len);
	if (set == NULL || len == 0) {
		free(set);
		skip();
	}
	char err[512], *path = NULL;
	uint8_t *msg = NULL;
	size_t mlen = 0;
	json_t *m = json_pack("{s:s,s:s}", "text", "hi", "count", "300");
	assert_true(
	    lg_grpc_prepare(set, len, "loadtest.v1.Echo/Say", m, &path, &msg, &mlen, err, sizeof err));
	assert_string_equal(path, "/loadtest.v1.Echo/Say");
	/* field 1 "hi", field 2 varint 300 */
	const uint8_t want[] = {0x0a, 0x02, 'h', 'i', 0x10, 0xac, 0x02};
	assert_int_equal(mlen, sizeof want);
	assert_memory_equal(msg, want, sizeof want);
	free(path);
	free(msg);
	/* the leading slash is accepted */
	assert_true(
	    lg_grpc_prepare(set, len, "/loadtest.v1.Echo/Say", m, &path, &msg, &mlen, err, sizeof err));
	free(path);
	free(msg);
	json_decref(m);

	m = json_pack("{s:i}", "colour", 3);
	assert_false(
	    lg_grpc_prepare(set, len, "loadtest.v1.Echo/Say", m, &path, &msg, &mlen, err, sizeof err));
	assert_non_null(strstr(err, "message: $.colour"));
	json_decref(m);
	m = json_object();
	assert_false(
	    lg_grpc_prepare(set, len, "loadtest.v1.Echo/Nope", m, &path, &msg, &mlen, err, sizeof err));
	assert_non_null(strstr(err, "has no method 'Nope'"));
	assert_false(
	    lg_grpc_prepare(set, len, "loadtest.v1.Other/Say", m, &path, &msg, &mlen, err, sizeof err));
	assert_non_null(strstr(err, "no service 'loadtest.v1.Other'"));
	assert_false(
	    lg_grpc_prepare(set, len, "loadtest.v1.Echo/Watch", m, &path, &msg, &mlen, err, sizeof err));
	assert_non_null(strstr(err, "streaming"));
	assert_false(lg_grpc_prepare(set, len, "Say", m, &path, &msg, &mlen, err, sizeof err));
	assert_non_null(strstr(err, "not pkg.Service/Method"));
	const uint8_t junk[] = {0x0a, 0xff};
	assert_false(lg_grpc_prepare(junk, sizeof junk, "a.B/C", m, &path, &msg, &mlen, err, sizeof err));
	assert_non_null(strstr(err, "descriptorSet:"));
	json_decref(m);
	free(set);
}

static void
test_config_errors(void **state)
{
	(void)state;
	char err[256];
	const char *md[] = {"grpc-timeout: 1S"};
	lg_grpc g = {.target = "127.0.0.1", .path = "/a.B/C"};
	lg_config cfg = {.mode = LG_CLOSED, .concurrency = 1, .max_requests = 1, .grpc = &g};
	assert_null(lg_start(&cfg, err, sizeof err));
	assert_non_null(strstr(err, "grpc.target"));
	g.target = "127.0.0.1:9";
	g.path = "a.B/C";
	assert_null(lg_start(&cfg, err, sizeof err));
	assert_non_null(strstr(err, "grpc.path"));
	g.path = "/a.B/C";
	g.metadata = md;
	g.nmetadata = 1;
	assert_null(lg_start(&cfg, err, sizeof err));
	assert_non_null(strstr(err, "grpc.metadata[0]: 'grpc-timeout' is reserved"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_prefix), cmocka_unit_test(test_status_values),
	    cmocka_unit_test(test_classify),     cmocka_unit_test(test_timeout_values),
	    cmocka_unit_test(test_prepare),      cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests_name("grpc", tests, NULL, NULL);
}
