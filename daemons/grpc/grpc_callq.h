/*
 * grpc_callq.h - a pool of worker threads for unary gRPC calls, so that a handler on the
 * server's event-loop thread never waits for a database or any other slow work: the handler
 * pushes the call (the request bytes are copied, the stream retained) and returns; a worker
 * runs it and answers on the stream.
 *
 * One queue serves every service of a server (the admin node's coordinator puts Resolve,
 * Report and the Runners' unary calls on the same one). A gate, run by the worker before the
 * call, may answer the call itself instead (the coordinator verifies tokens there, off the
 * loop) by returning false.
 */
#ifndef MOCKARTY_GRPC_CALLQ_H
#define MOCKARTY_GRPC_CALLQ_H

#include "grpc_server.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mk_grpc_callq mk_grpc_callq;

/* Runs one call on a worker; must answer on st (the queue releases st afterwards). */
typedef void (*mk_grpc_call_fn)(mk_grpc_stream *st, const uint8_t *req, size_t len);
/* Runs before fn; false = the call was answered (or must not run) and fn is skipped. */
typedef bool (*mk_grpc_call_gate)(mk_grpc_stream *st);
/* Wraps a call (e.g. in a tracing span); must call fn(st, req, len) once. NULL = call directly. */
typedef void (*mk_grpc_call_wrap)(mk_grpc_call_fn fn, mk_grpc_stream *st, const uint8_t *req,
                                  size_t len);

/*
 * Starts nworkers threads. gate and wrap may be NULL. Returns NULL when no thread could be
 * started (the caller logs it and fails its start).
 */
mk_grpc_callq *mk_grpc_callq_start(int nworkers, mk_grpc_call_gate gate, mk_grpc_call_wrap wrap);

/*
 * Queues a call: copies req, retains st. Calls on a closed stream are dropped when their turn
 * comes. On out-of-memory it finishes st with RESOURCE_EXHAUSTED at once. Thread-safe.
 */
void mk_grpc_callq_push(mk_grpc_callq *q, mk_grpc_call_fn fn, mk_grpc_stream *st, const uint8_t *req,
                        size_t len);

/*
 * mk_grpc_callq_push with per-call state: release(arg) runs exactly once, after fn returns,
 * or instead of fn when the call is dropped (stream closed before its turn, the gate said no,
 * the pool stopped, out of memory). release may be NULL. Thread-safe.
 */
void mk_grpc_callq_push_owned(mk_grpc_callq *q, mk_grpc_call_fn fn, mk_grpc_stream *st, const uint8_t *req,
                              size_t len, void (*release)(void *arg), void *arg);

/*
 * Registers the unary method path ("/pkg.Service/Method") on srv so that each call is pushed
 * to q and run as fn(st, req, len) on a worker: the handler on the loop thread is this
 * module's. Returns mk_grpc_server_register's result. q must outlive the server's last call.
 */
int mk_grpc_callq_register(mk_grpc_server *srv, mk_grpc_callq *q, const char *path, mk_grpc_call_fn fn);

/* Calls waiting for a worker right now (for metrics). */
size_t mk_grpc_callq_depth(mk_grpc_callq *q);

/*
 * Stops the pool: the workers finish what is queued (calls on streams closed by then are only
 * released), then exit; joins them and frees q. Call after the server stopped accepting.
 */
void mk_grpc_callq_stop(mk_grpc_callq *q);

#endif /* MOCKARTY_GRPC_CALLQ_H */
