/*
 * grpc_client.h - a small blocking gRPC client over h2c (HTTP/2 prior knowledge) on nghttp2,
 * for the resolver and runner daemons talking to the coordinator. One call at a time per
 * client; a call blocks the calling thread until it ends (mk_grpc_client_interrupt ends it
 * early from another thread). Not for hot paths with many concurrent calls.
 */
#ifndef MK_GRPC_CLIENT_H
#define MK_GRPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grpc_wire.h"

typedef struct mk_grpc_client mk_grpc_client;

/* Final status of a call (or of a failed connect). message is decoded UTF-8. */
typedef struct mk_grpc_status {
	int code;
	char message[512];
} mk_grpc_status;

/*
 * Connects to "host:port" (TCP, no TLS) within timeout_ms and exchanges SETTINGS. Returns
 * NULL on failure with st->code = UNAVAILABLE (or DEADLINE_EXCEEDED) and a message.
 */
mk_grpc_client *mk_grpc_client_connect(const char *addr, int timeout_ms, mk_grpc_status *st);

/* Sets the authorization metadata sent on every call (e.g. "Bearer mki_..."; NULL = none).
 * The value is copied. */
void mk_grpc_client_set_authorization(mk_grpc_client *c, const char *value);

/*
 * Adds one metadata entry (e.g. "traceparent") to the next call only; it is cleared when that
 * call starts (also when the connection is unusable), so a pooled connection never leaks one
 * request's metadata into another's. name: lower-case [a-z0-9-_.], not "grpc-*", < 64 bytes;
 * value: printable ASCII (a "-bin" value in base64), < 8 KiB. Returns 0, or -1 (nothing added)
 * when invalid or when MK_GRPC_CALL_METADATA_MAX entries are already pending.
 */
#define MK_GRPC_CALL_METADATA_MAX	 64
#define MK_GRPC_CALL_METADATA_NAME_MAX	 64
#define MK_GRPC_CALL_METADATA_VALUE_MAX 8192
int mk_grpc_client_set_call_metadata(mk_grpc_client *c, const char *name, const char *value);

/* Receive limit per message (default 4 MiB); larger messages end the call RESOURCE_EXHAUSTED. */
void mk_grpc_client_set_max_message(mk_grpc_client *c, size_t max);

/*
 * Unary call to path ("/pkg.Service/Method"). timeout_ms <= 0 means no deadline. On OK,
 * *resp (malloc'd, caller frees) and *resp_len hold the response message. Returns st->code.
 */
int mk_grpc_client_unary(mk_grpc_client *c, const char *path, const uint8_t *req, size_t len,
			 int timeout_ms, uint8_t **resp, size_t *resp_len, mk_grpc_status *st);

/* Called for each message of a server stream (msg valid only during the call); a nonzero
 * return cancels the call (RST_STREAM CANCEL; the status is CANCELLED). */
typedef int (*mk_grpc_msg_fn)(void *ud, const uint8_t *msg, size_t len);

/*
 * Server-streaming call: sends req, then calls on_msg for every response message until the
 * server ends the stream, the deadline passes, on_msg cancels or mk_grpc_client_interrupt is
 * called. Returns st->code.
 */
int mk_grpc_client_server_stream(mk_grpc_client *c, const char *path, const uint8_t *req, size_t len,
				 int timeout_ms, mk_grpc_msg_fn on_msg, void *ud, mk_grpc_status *st);

/*
 * A call of any kind with streaming request and response (a proxy's relay). All callbacks run
 * on the calling thread, inside mk_grpc_client_call:
 *   next     - the next request message: 1 with *msg and *len (malloc'd, the client frees it), 0 when
 *              none is ready yet (the producer calls mk_grpc_client_notify once one is), -1 when
 *              the request side is complete (the client half-closes). Pulled only as the
 *              server's HTTP/2 window admits, so a slow server paces the producer.
 *   on_msg   - each response message as it arrives (nonzero cancels, as for server streams).
 *   on_meta  - each response header (trailer = false) or trailer (true) that is not a
 *              pseudo-header, grpc-status or grpc-message; may be NULL.
 *   hold     - true while the consumer is behind: the response is not read (the server's
 *              window closes) and hold is asked again every 5 ms; may be NULL.
 */
typedef struct mk_grpc_call_fns {
	int (*next)(void *ud, uint8_t **msg, size_t *len);
	mk_grpc_msg_fn on_msg;
	void (*on_meta)(void *ud, bool trailer, const char *name, const char *value);
	bool (*hold)(void *ud);
	void *ud;
} mk_grpc_call_fns;

/* Runs a call to path with fns until the server ends it, the deadline (timeout_ms > 0) passes,
 * on_msg cancels or mk_grpc_client_interrupt is called. Returns st->code. */
int mk_grpc_client_call(mk_grpc_client *c, const char *path, int timeout_ms, const mk_grpc_call_fns *fns,
			mk_grpc_status *st);

/* Thread-safe: a request message is ready for the call in progress (see mk_grpc_call_fns). */
void mk_grpc_client_notify(mk_grpc_client *c);

/* Thread-safe: ends the call in progress (or the next one) with CANCELLED "interrupted". */
void mk_grpc_client_interrupt(mk_grpc_client *c);

/* False once the connection failed or the server sent GOAWAY: reconnect before the next call. */
bool mk_grpc_client_usable(const mk_grpc_client *c);

/* Closes the connection and frees the client. */
void mk_grpc_client_close(mk_grpc_client *c);

#endif
