/*
 * grpc_wire.c - small encoders/decoders of the gRPC HTTP/2 mapping (grpc/grpc
 * doc/PROTOCOL-HTTP2.md) used by both grpc_server.c and grpc_client.c.
 *
 * Constraint: peers differ in how strictly they decode. grpc-js decodes grpc-message with
 * decodeURI(), which leaves escapes of URI-reserved characters undecoded, so the encoder
 * escapes exactly what the spec requires and nothing more; the decoder never fails.
 */
#include "grpc_wire.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const code_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *
mk_grpc_code_name(int code)
{
	if (code < 0 || code > 16)
		return "UNKNOWN";
	return code_names[code];
}

void
mk_grpc_prefix_write(uint8_t out[MK_GRPC_PREFIX_LEN], uint32_t len)
{
	out[0] = 0;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
}

size_t
mk_grpc_message_encode(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	if (cap == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)in; in && *p; p++) {
		if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
			if (n + 1 >= cap)
				break;
			out[n++] = (char)*p;
		} else {
			if (n + 3 >= cap)
				break;
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
	return n;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
mk_grpc_message_decode(const char *in, size_t inlen, char *out, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return 0;
	for (size_t i = 0; i < inlen && n + 1 < cap; i++) {
		int hi, lo;

		if (in[i] == '%' && i + 2 < inlen && (hi = hexval(in[i + 1])) >= 0 &&
		    (lo = hexval(in[i + 2])) >= 0) {
			out[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else
			out[n++] = in[i];
	}
	out[n] = '\0';
	return n;
}

int64_t
mk_grpc_timeout_parse(const char *v, size_t len)
{
	int64_t val = 0;
	size_t i;

	if (len < 2 || len > 9)
		return -1;
	for (i = 0; i < len - 1; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		val = val * 10 + (v[i] - '0');
	}
	switch (v[len - 1]) {
	case 'H':
		return val * 3600000;
	case 'M':
		return val * 60000;
	case 'S':
		return val * 1000;
	case 'm':
		return val;
	case 'u':
		return val ? (val + 999) / 1000 : 0;
	case 'n':
		return val ? (val + 999999) / 1000000 : 0;
	default:
		return -1;
	}
}

void
mk_grpc_timeout_format(int64_t ms, char out[16])
{
	if (ms < 0)
		ms = 0;
	if (ms < 100000000)
		snprintf(out, 16, "%lldm", (long long)ms);
	else if (ms / 1000 < 100000000)
		snprintf(out, 16, "%lldS", (long long)(ms / 1000));
	else
		snprintf(out, 16, "%lldM", (long long)(ms / 60000 < 99999999 ? ms / 60000 : 99999999));
}

int64_t
mk_grpc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
