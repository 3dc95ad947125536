/*
 * runners.h - the admin node's side of service mockarty.coordinator.v1.Runners
 * (proto/coordinator.proto, docs/grpc.md "Runners"): runner agents connect, get task offers,
 * lease tasks with AcceptTask and report heartbeats, results and completion. The queue itself
 * is SQL (mockarty.task_*); this module relays. coordinator.c owns the gRPC server, the auth
 * hook (test_runner tokens only on the Runners methods) and the LISTEN connection, and calls the hooks
 * below.
 */
#ifndef MOCKARTY_COORD_RUNNERS_H
#define MOCKARTY_COORD_RUNNERS_H

#include "grpc_callq.h"
#include "grpc_server.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUNNERS_SVC_NAME "mockarty.coordinator.v1.Runners"
#define RUNNERS_SVC_PREFIX "/" RUNNERS_SVC_NAME "/"

/* Counters since start (for /metrics later). Read with coord_runners_stats(). */
typedef struct coord_runners_stats {
	uint64_t connected;      /* Connect streams open now */
	uint64_t connects;       /* Connect streams opened since start */
	uint64_t offers_sent;    /* TaskOffer events queued */
	uint64_t accepts_won;    /* AcceptTask calls that got a lease */
	uint64_t accepts_lost;   /* AcceptTask calls answered accepted = false (any reason) */
	uint64_t completes;      /* CompleteTask calls that stored the outcome */
	uint64_t lease_lost;     /* AppendResults/CompleteTask refused FAILED_PRECONDITION "lease lost" */
	uint64_t cancels_sent;   /* CancelTask events queued */
} coord_runners_stats;

/*
 * Reads RUNNER_LEASE_MS (default 30000, min 500), registers the five Runners methods on srv
 * (before mk_grpc_server_start) on callq, the coordinator's queue of unary calls (whose
 * gate verifies uncached tokens), and starts the module's dispatcher thread.
 * Returns false, with the reason logged, on an invalid setting or a registration/thread
 * failure.
 */
bool coord_runners_start(mk_grpc_server *srv, mk_grpc_callq *callq);

/*
 * Stops the dispatcher and frees every session. Call after mk_grpc_server_stop (whose
 * on-close callbacks end the sessions) and after the call queue was drained
 * (mk_grpc_callq_stop), before mk_grpc_server_free. Idempotent.
 */
void coord_runners_stop(void);

/*
 * A NOTIFY mockarty_tasks payload (feed thread; never blocks on the database).
 * "cancel:<id>" queues a CancelTask to the runner holding the task (when known) and, like
 * every other payload, schedules an offer round (coalesced: at most one per 20 ms). payload
 * NULL means "notifications may have been lost" (LISTEN reconnect): offers go to every runner.
 */
void coord_runners_notify(const char *payload);

/*
 * Writes into ids[0..cap) the distinct integration ids of connected runners (for the
 * revocation re-check after a LISTEN reconnect); returns how many were written.
 */
size_t coord_runners_integrations(char (*ids)[40], size_t cap);

/*
 * Appends to arr one object per connected runner: {"kind":"runner","runnerId","name",
 * "namespace","shared","capabilities","maxConcurrent","running","address","peer","version",
 * "integrationId","integrationName","connectedAt","offersSent"}.
 */
void coord_runners_nodes_append(json_t *arr);

/* Copies the counters (thread-safe). */
void coord_runners_stats_get(coord_runners_stats *out);

/*
 * The parts of a coordinator principal "<integration id> <bound namespace or *> <name>"
 * (coordinator.c's auth hook writes it): the namespace the integration token is bound to
 * into out ("" when unbound), and its name (borrowed from info).
 */
void coord_principal_ns(const mk_grpc_call_info *info, char *out, size_t cap);
const char *coord_principal_name(const mk_grpc_call_info *info);

/*
 * Worker threads call this first for every unary call: when the auth hook deferred the
 * token's verification (principal "?<token>"), verifies it now (cache, else the database),
 * sets the real principal and returns true, or finishes st (UNAUTHENTICATED,
 * PERMISSION_DENIED, UNAVAILABLE) and returns false. Returns true at once otherwise.
 */
bool coord_auth_deferred(mk_grpc_stream *st);

#endif /* MOCKARTY_COORD_RUNNERS_H */
