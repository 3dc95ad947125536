/*
 * coordinator.h - the admin node's gRPC coordinator (proto/coordinator.proto, docs/grpc.md):
 * mock resolvers subscribe to snapshot + ordered deltas + heartbeats, resolve stateful
 * requests and report logs through it; the REST handlers for integration tokens and the
 * nodes view (rest/integrations.c) read its list of connected resolvers.
 */
#ifndef MOCKARTY_COORDINATOR_H
#define MOCKARTY_COORDINATOR_H


#include <jansson.h>
#include <stdbool.h>

/*
 * Reads GRPC_PORT (default 5773; 0 = no coordinator) and GRPC_SEND_QUEUE_BYTES (per-stream
 * send queue bound, default 4 MiB), binds HTTP_BIND_ADDR:GRPC_PORT and starts the gRPC
 * server, its change-feed thread (own LISTEN connection) and its workers. Returns false,
 * with the reason logged, when the settings are invalid or the port cannot be bound.
 */
bool coordinator_start(void);

/*
 * Graceful stop: health NOT_SERVING, streams end UNAVAILABLE, threads joined. Idempotent;
 * call before pgpool_shutdown().
 */
void coordinator_stop(void);

/* The bound gRPC port, 0 when the coordinator is disabled or not started. */
int coordinator_port(void);

/* Token verifications the auth hook handed to a worker thread instead of running them on the loop. */
unsigned long long coordinator_deferred_auth(void);

/*
 * The connected resolvers as a JSON array (new reference; an empty array when none or
 * disabled): [{"kind":"resolver","status":"connected"|"stale","softwareVersion","name","namespace",
 * "integrationId","integrationName","address","peer","state","version","appliedVersion",
 * "headVersion","connectedAt","lastHeartbeat","lastReport","droppedLogs"}], followed by the
 * connected runner agents ({"kind":"runner","status":"connected",...,"lastHeartbeat"},
 * coordinator/runners.h); with with_disconnected, then the nodes that disconnected in the
 * last 10 minutes and have not come back, newest first, as they were last listed with
 * "status":"disconnected" and "disconnectedAt" (coordinator/gone.h).
 */
json_t *coordinator_nodes_json(bool with_disconnected);

/* True when s is exactly a uuid in its text form (8-4-4-4-12 hex digits). */
bool coord_is_uuid(const char *s);

#endif /* MOCKARTY_COORDINATOR_H */
