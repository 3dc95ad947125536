/*
 * grpc_server.h - a gRPC server over HTTP/2 cleartext (h2c prior knowledge) built on nghttp2,
 * with its own epoll event-loop thread. Used by the admin node's coordinator (port 5773).
 *
 * Threading: handlers, the auth hook and on-close callbacks run on the loop thread and must
 * not block. Everything named mk_grpc_stream_* and mk_grpc_server_close_streams /
 * mk_grpc_server_stop is safe from any thread.
 *
 * Every RPC is given a stream handle (mk_grpc_stream). A unary handler sends exactly one
 * message and finishes with MK_GRPC_OK (or finishes with an error); it may do so later, from
 * another thread, after mk_grpc_stream_retain(). A server-streaming handler sends any number of
 * messages, now or later from any thread. Each stream has a bounded send queue: a send that
 * would exceed it drops the unsent messages and ends the stream with the status chosen by
 * mk_grpc_stream_set_overflow(), so a slow reader cannot make the server buffer without limit.
 */
#ifndef MK_GRPC_SERVER_H
#define MK_GRPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grpc_wire.h"

typedef struct mk_grpc_server mk_grpc_server;
typedef struct mk_grpc_stream mk_grpc_stream;

/* What a handler learns about the call. Strings live as long as the stream handle. */
typedef struct mk_grpc_call_info {
	const char *method;	 /* "/pkg.Service/Method" */
	const char *authority;	 /* :authority, "" if absent */
	const char *user_agent;	 /* "" if absent */
	const char *principal;	 /* what the auth hook wrote, "" without a hook */
	int64_t deadline_ms;	 /* mk_grpc_now_ms() clock; 0 = none */
	const char *peer;	 /* "ip:port" of the client */
	const char *traceparent; /* W3C trace context metadata as received (<= 55 chars), "" if
				  * absent or longer; parse it with otel_traceparent_parse() */
} mk_grpc_call_info;

/*
 * Auth hook, called once per RPC with the complete request headers and before any request
 * DATA is read. authorization is the metadata value ("Bearer mki_...") or NULL when absent.
 * Returns MK_GRPC_OK to admit the call (optionally writing an identity, NUL-terminated, into
 * principal[principal_cap]: it is what close-by-predicate and handlers see), or an error code
 * (normally MK_GRPC_UNAUTHENTICATED or MK_GRPC_PERMISSION_DENIED) with a human message in
 * msg[msg_cap]; the client then gets a trailers-only response with that status.
 */
typedef int (*mk_grpc_auth_fn)(void *ud, const char *method, const char *authorization,
			       char *principal, size_t principal_cap, char *msg, size_t msg_cap);

/*
 * Unary and server-streaming handler: req/len is the one request message (valid only during
 * the call). The handler uses st to send and finish; st is borrowed: retain it to keep it.
 */
typedef void (*mk_grpc_handler_fn)(void *ud, mk_grpc_stream *st, const uint8_t *req, size_t len);

/*
 * Bidirectional-streaming handlers (used by server reflection): on_message is called for each
 * complete request message as it arrives, on_half_close when the client ends its side (the
 * default finishing with OK if the handler does nothing). Either may be NULL.
 */
typedef struct mk_grpc_bidi_fns {
	void (*on_message)(void *ud, mk_grpc_stream *st, const uint8_t *msg, size_t len);
	void (*on_half_close)(void *ud, mk_grpc_stream *st);
} mk_grpc_bidi_fns;

typedef enum mk_grpc_kind {
	MK_GRPC_UNARY,
	MK_GRPC_SERVER_STREAM,
	MK_GRPC_BIDI,
} mk_grpc_kind;

typedef struct mk_grpc_server_config {
	const char *host;		/* bind address; NULL = "127.0.0.1" */
	int port;			/* 0 = ephemeral (see mk_grpc_server_port) */
	size_t max_message;		/* receive limit; 0 = 4 MiB */
	size_t stream_queue_limit;	/* default per-stream send queue bound; 0 = 4 MiB */
	int overflow_grace_ms;		/* after overflow, RST the stream if trailers cannot be
					 * flushed (peer window closed) within this; 0 = 1000 */
	int max_connections;		/* 0 = 1024 */
	int keepalive_ms;		/* PING idle connections this often; 0 = 30000, <0 off */
	int keepalive_timeout_ms;	/* close when a PING is unanswered this long; 0 = 20000 */
	mk_grpc_auth_fn auth;		/* NULL = no auth */
	void *auth_ud;
	/* Methods that skip the auth hook (health and reflection by default: see below). */
	bool auth_health;		/* true = health checks need a token too */
	bool auth_reflection;		/* true = reflection needs a token too */
	/*
	 * Receive limit of calls that skip the auth hook (health, reflection): no caller may
	 * make the server buffer more than this per stream without a credential. 0 = 64 KiB.
	 */
	size_t preauth_max_message;
	/*
	 * Optional process-wide budget of buffered request bytes (common/bufbudget.h): every
	 * reassembly buffer's growth is reserved first and released when the stream ends; a
	 * refusal ends the call with RESOURCE_EXHAUSTED and busy_msg. Both NULL = no budget.
	 * Called on the loop thread (release also from the thread dropping the last handle).
	 */
	bool (*buf_reserve)(size_t n);
	void (*buf_release)(size_t n);
	const char *busy_msg;
} mk_grpc_server_config;

/* preauth_max_message when 0. */
#define MK_GRPC_DEFAULT_PREAUTH_MAX_MESSAGE (64u << 10)

/*
 * Creates the server and binds + listens (so the port is known before start). Registers
 * nothing. On error returns NULL and writes a message into err[errcap].
 */
mk_grpc_server *mk_grpc_server_new(const mk_grpc_server_config *cfg, char *err, size_t errcap);

/* The bound TCP port. */
int mk_grpc_server_port(const mk_grpc_server *srv);

/*
 * Registers a method by full path "/pkg.Service/Method". Must be called before start.
 * Returns 0, or -1 on a duplicate/invalid path or out of memory. For MK_GRPC_BIDI pass bidi
 * (copied) and handler = NULL.
 */
int mk_grpc_server_register(mk_grpc_server *srv, const char *path, mk_grpc_kind kind,
			    mk_grpc_handler_fn handler, const mk_grpc_bidi_fns *bidi, void *ud);

/*
 * A route the router chose for a path: what a registration gives (kind, handler or bidi, ud),
 * plus release(ud), called once when the stream is destroyed (after every handle, worker
 * included, let go of it), so ud may hold a reference for the call's life. release may be NULL.
 */
typedef struct mk_grpc_route {
	mk_grpc_kind kind;
	mk_grpc_handler_fn handler;
	mk_grpc_bidi_fns bidi;
	void *ud;
	void (*release)(void *ud);
} mk_grpc_route;

/*
 * Chooses the handler of a call whose path no method is registered for: true with *out
 * filled, false = unknown method (UNIMPLEMENTED). Runs on the loop thread once per call,
 * with the request headers complete; must not block.
 */
typedef bool (*mk_grpc_router_fn)(void *ud, const char *path, mk_grpc_route *out);

/*
 * Sets the router (before start): methods that change while the server runs (a mock server
 * following new descriptor versions) are routed per call instead of registered. Registered
 * methods are matched first. Returns 0, or -1 after start. Routed methods are not listed by
 * mk_grpc_server_services.
 */
int mk_grpc_server_set_router(mk_grpc_server *srv, mk_grpc_router_fn fn, void *ud);

/*
 * Fills names[0..cap) with the distinct service names ("pkg.Service") of the registered
 * methods, in registration order; returns how many there are (may exceed cap). Pointers stay
 * valid for the server's life.
 */
size_t mk_grpc_server_services(const mk_grpc_server *srv, const char **names, size_t cap);

/* Starts the event-loop thread. Returns 0 or -1 (err filled). */
int mk_grpc_server_start(mk_grpc_server *srv, char *err, size_t errcap);

/*
 * Graceful stop: GOAWAY shutdown notice + PING, then the final GOAWAY once the PING is
 * answered; open streams end with UNAVAILABLE "server shutting down"; waits up to drain_ms for
 * the peers to receive it, closes every connection and joins the loop thread. Idempotent.
 */
void mk_grpc_server_stop(mk_grpc_server *srv, int drain_ms);

/*
 * Stops (drain 1 s) if running and frees everything. Every retained stream handle must have
 * been released before this call: handles point at the server's lock. Owners normally
 * release them in their on-close callbacks, which run during the stop.
 */
void mk_grpc_server_free(mk_grpc_server *srv);

/*
 * Ends every open stream for which pred(arg, info) returns true with status code/msg (e.g.
 * UNAUTHENTICATED "token revoked"). pred runs under the server lock on the calling thread: it
 * must only inspect info. Returns the number of streams ended.
 */
size_t mk_grpc_server_close_streams(mk_grpc_server *srv,
				    bool (*pred)(void *arg, const mk_grpc_call_info *info), void *arg,
				    int code, const char *msg);

/* Number of currently open streams (for tests and metrics). */
size_t mk_grpc_server_open_streams(mk_grpc_server *srv);

/* ---- stream handles (thread-safe) ---- */

#define MK_GRPC_ECLOSED   (-1) /* stream already finished, cancelled or closed */
#define MK_GRPC_EOVERFLOW (-2) /* send queue bound exceeded: the stream is being ended */
#define MK_GRPC_ENOMEM	  (-3)
#define MK_GRPC_ETOOBIG	  (-4) /* message larger than 4 GiB - 1 */

/* Information about the call; valid while the caller holds a reference. */
const mk_grpc_call_info *mk_grpc_stream_info(const mk_grpc_stream *st);
/*
 * Replaces the call's principal (what handlers and close-by-predicate see), e.g. once an
 * authentication the auth hook deferred to a worker thread has finished. Any thread.
 */
void mk_grpc_stream_set_principal(mk_grpc_stream *st, const char *principal);

/*
 * Queues one message (copied and framed). Returns 0, or MK_GRPC_ECLOSED / MK_GRPC_EOVERFLOW /
 * MK_GRPC_ENOMEM. Never blocks.
 */
int mk_grpc_stream_send(mk_grpc_stream *st, const uint8_t *msg, size_t len);

/*
 * Ends the stream once the queued messages are sent, with status code and optional message
 * (NULL = none). Returns 0, or MK_GRPC_ECLOSED when it already finished.
 */
int mk_grpc_stream_finish(mk_grpc_stream *st, int code, const char *msg);

/*
 * Response metadata of the call: nhdr name/value pairs (hdr[2i], hdr[2i+1]) sent with the
 * response HEADERS, ntrl pairs added to the trailers (after grpc-status and grpc-message; a
 * "-bin" name takes base64 as the value, without padding). Names are lower-cased; at most 64 of
 * each are sent. Copied. Call before the first send or the finish. Returns 0 or MK_GRPC_ENOMEM.
 */
int mk_grpc_stream_set_metadata(mk_grpc_stream *st, const char *const *hdr, size_t nhdr, const char *const *trl,
				size_t ntrl);

/*
 * Calls fn for every custom request metadata entry (not pseudo-headers, not grpc-*, not
 * content-type, te, grpc-timeout, authorization), in arrival order, at most 128. A "-bin"
 * value is as sent (base64). Valid once the handler has been called.
 */
void mk_grpc_stream_each_meta(const mk_grpc_stream *st,
			      void (*fn)(void *arg, const char *name, const char *value), void *arg);

/* A per-call pointer of the handler's (NULL until set). Not synchronised: set and read it
 * from the loop thread, or hand it over with the stream handle. */
void mk_grpc_stream_set_user(mk_grpc_stream *st, void *user);
void *mk_grpc_stream_user(const mk_grpc_stream *st);

/* Sets this stream's queue bound (bytes, including 5-byte prefixes) and the status it ends
 * with on overflow. */
void mk_grpc_stream_set_overflow(mk_grpc_stream *st, size_t limit, int code, const char *msg);

/*
 * Registers fn(arg) to run once on the loop thread when the stream closes for any reason
 * (finished and flushed, client cancel, connection loss, server stop). If the stream is
 * already closed, fn runs immediately on the calling thread.
 */
void mk_grpc_stream_on_close(mk_grpc_stream *st, void (*fn)(void *arg), void *arg);

/* True while messages can still be sent. */
bool mk_grpc_stream_is_open(mk_grpc_stream *st);

/* Bytes queued and not yet handed to the socket. */
size_t mk_grpc_stream_queued(mk_grpc_stream *st);

/* Reference counting: retain to use a handle after the handler returns or from other
 * threads; release exactly once per retain. */
void mk_grpc_stream_retain(mk_grpc_stream *st);
void mk_grpc_stream_release(mk_grpc_stream *st);

/* ---- built-in services (grpc_health.c, grpc_reflection.c) ---- */

/*
 * Registers grpc.health.v1.Health Check and Watch. The overall status ("") starts SERVING.
 * Status values are grpc.health.v1 ServingStatus numbers.
 */
int mk_grpc_health_register(mk_grpc_server *srv);
/* Sets the status of a service ("" = whole server) and notifies its watchers. Thread-safe. */
void mk_grpc_health_set(mk_grpc_server *srv, const char *service, int status);

/*
 * Registers grpc.reflection.v1 and v1alpha ServerReflectionInfo serving the files of a
 * serialized FileDescriptorSet (protoc --descriptor_set_out --include_imports). The bytes are
 * not copied and must outlive the server (or the next mk_grpc_reflection_replace). On a
 * server with a router the services the set declares are listed beside the registered ones.
 * Returns 0 or -1 when the set does not parse.
 */
int mk_grpc_reflection_register(mk_grpc_server *srv, const uint8_t *set, size_t len);

/*
 * Replaces the set reflection serves (registered with mk_grpc_reflection_register) by another
 * serialized FileDescriptorSet, atomically for the requests that follow; any thread. The old
 * set's bytes may be freed once this returns; the new ones must outlive the server or the next
 * replace. Returns 0, or -1 when the set does not parse or no reflection is registered (the
 * old set then stays).
 */
int mk_grpc_reflection_replace(mk_grpc_server *srv, const uint8_t *set, size_t len);

/* The descriptor set of coordinator.proto, health.proto and both reflection.protos, embedded
 * at build time (build/gen/mk_grpc_descriptors.c). */
extern const uint8_t mk_grpc_descriptor_set[];
extern const size_t mk_grpc_descriptor_set_len;

/* The descriptor set of google/rpc/status.proto and error_details.proto (proto/google/rpc/,
 * with google/protobuf/any.proto and duration.proto), embedded at build time
 * (build/gen/mk_grpc_rpc_descriptors.c): gRPC mock servers encode google.rpc.Status with it. */
extern const uint8_t mk_grpc_rpc_descriptor_set[];
extern const size_t mk_grpc_rpc_descriptor_set_len;

#endif
