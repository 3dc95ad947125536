/*
 * grpc_wire.h - gRPC-over-HTTP/2 wire details shared by the server and the client: status
 * codes, the 5-byte message prefix, grpc-timeout and grpc-message encodings, a clock.
 */
#ifndef MK_GRPC_WIRE_H
#define MK_GRPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* gRPC status codes (grpc/grpc doc/statuscodes.md). */
enum mk_grpc_code {
	MK_GRPC_OK = 0,
	MK_GRPC_CANCELLED = 1,
	MK_GRPC_UNKNOWN = 2,
	MK_GRPC_INVALID_ARGUMENT = 3,
	MK_GRPC_DEADLINE_EXCEEDED = 4,
	MK_GRPC_NOT_FOUND = 5,
	MK_GRPC_ALREADY_EXISTS = 6,
	MK_GRPC_PERMISSION_DENIED = 7,
	MK_GRPC_RESOURCE_EXHAUSTED = 8,
	MK_GRPC_FAILED_PRECONDITION = 9,
	MK_GRPC_ABORTED = 10,
	MK_GRPC_OUT_OF_RANGE = 11,
	MK_GRPC_UNIMPLEMENTED = 12,
	MK_GRPC_INTERNAL = 13,
	MK_GRPC_UNAVAILABLE = 14,
	MK_GRPC_DATA_LOSS = 15,
	MK_GRPC_UNAUTHENTICATED = 16,
};

/* Largest message either side accepts by default (grpc-js's receive default). */
#define MK_GRPC_DEFAULT_MAX_MESSAGE (4u * 1024 * 1024)
/* Length of the Compressed-Flag + Message-Length prefix. */
#define MK_GRPC_PREFIX_LEN 5

/* Upper-case name of a status code ("UNAUTHENTICATED"); "UNKNOWN" for out-of-range codes. */
const char *mk_grpc_code_name(int code);

/* Writes the 5-byte prefix for an uncompressed message of len bytes into out. */
void mk_grpc_prefix_write(uint8_t out[MK_GRPC_PREFIX_LEN], uint32_t len);

/*
 * Percent-encodes a grpc-message value as the spec requires (bytes outside 0x20-0x7E and '%'
 * become %XX; nothing else, because grpc-js decodes with decodeURI). Writes at most cap-1
 * bytes plus a NUL into out, never splitting an escape. Returns the length written.
 */
size_t mk_grpc_message_encode(const char *in, char *out, size_t cap);

/*
 * Decodes a percent-encoded grpc-message into out (cap bytes incl. NUL). Bad escapes are kept
 * literally, as the spec asks. Returns the length written.
 */
size_t mk_grpc_message_decode(const char *in, size_t inlen, char *out, size_t cap);

/*
 * Parses a grpc-timeout value ("1-8 digits" + H M S m u n). Returns the timeout in
 * milliseconds (rounded up, at least 1 for any non-zero value), or -1 when malformed.
 */
int64_t mk_grpc_timeout_parse(const char *v, size_t len);

/* Formats a timeout for the grpc-timeout header (picks a unit that fits 8 digits). */
void mk_grpc_timeout_format(int64_t ms, char out[16]);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t mk_grpc_now_ms(void);

#endif
