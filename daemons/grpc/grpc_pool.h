/*
 * grpc_pool.h - a fixed pool of blocking gRPC clients to one address, for unary calls from many
 * threads (the resolver's Coordinator.Resolve, the runner's AcceptTask / heartbeats / results).
 *
 * mk_grpc_client runs one call at a time per connection and blocks its caller, so concurrent
 * callers share a few connections: a call takes a free one (waiting while all are busy), makes
 * its call and gives it back. Connections open lazily with "authorization: Bearer <token>" and
 * reopen after a failure; a kept connection that went stale (the admin node restarted) gets one
 * retry on a fresh one, so a restart costs no failed call. Connect and call carry deadlines, so
 * an unreachable coordinator is a fast error, not a hang.
 */
#ifndef MK_GRPC_POOL_H
#define MK_GRPC_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "grpc_client.h"

typedef struct mk_grpc_pool mk_grpc_pool;

/*
 * A pool of size (>= 1) connections to addr ("host:port"), each authenticated with token (copied;
 * NULL = no authorization), connect deadline connect_timeout_ms, receive limit max_message
 * (0 = the client's default). NULL when out of memory.
 */
mk_grpc_pool *mk_grpc_pool_new(const char *addr, const char *token, int size, int connect_timeout_ms,
			       size_t max_message);

/*
 * One unary call to path with deadline timeout_ms; traceparent (NULL = none) travels as metadata
 * of this call only. On OK *resp (malloc'd, caller frees) holds the answer. Returns st->code.
 */
int mk_grpc_pool_unary(mk_grpc_pool *p, const char *path, const uint8_t *req, size_t len, int timeout_ms,
		       const char *traceparent, uint8_t **resp, size_t *resp_len, mk_grpc_status *st);

/* Closes the connections no call is using (at shutdown, while abandoned calls may still run). */
void mk_grpc_pool_close_idle(mk_grpc_pool *p);

/* Closes the idle connections and frees the pool; no call may be in progress or start later. */
void mk_grpc_pool_free(mk_grpc_pool *p);

#endif
