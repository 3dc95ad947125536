/*
 * link/link.h - the coordinator session of mock-resolver.
 *
 * link/ owns everything that talks to the admin node's coordinator and the
 * state it mirrors: the Sync stream with its reconnects, watchdog and
 * applied version (link/sync.c, the link state through
 * daemons/common/nodelink.h), the local snapshot index it builds and
 * swaps in (link/index.c), the Coordinator.Resolve connection pool for
 * stateful mocks (link/coord.c) and the Report batches of request logs,
 * misses, callbacks and events (link/report.c). It may call the base layer
 * (resolver.h), daemons/common and daemons/grpc, and no other folder: the
 * waiter's kick and the stats tick reach it as callbacks from main.c.
 */
#ifndef MOCKARTY_RESOLVER_LINK_H
#define MOCKARTY_RESOLVER_LINK_H

#include <jansson.h>
#include "nodelink.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --------------------------------------------------------------- sync.c */

/* What the dashboard and /metrics show of the Sync stream. */
typedef struct rs_sync_status {
	nl_status link; /* state, last code and error, reconnects, event times (nodelink.h) */
	uint64_t applied_version;
	uint64_t head_version;
	int64_t last_heartbeat_ms; /* wall clock, 0 = never */
	bool ready; /* a first snapshot has been applied */
	uint64_t snapshots;
	uint64_t deltas;
	uint64_t resyncs;
} rs_sync_status;

/* Starts the Sync stream's thread; on_version (may be NULL) runs whenever the applied version grows. */
bool sync_start(void (*on_version)(void));
/* Ends the stream and joins the thread. */
void sync_stop(void);
void sync_status(rs_sync_status *out);
uint64_t sync_applied_version(void);
bool sync_ready(void);
/* Mutex and condition variable broadcast whenever the applied version grows. */
void sync_version_lock(void);
void sync_version_unlock(void);
/* Called by the sync thread: publishes a new applied version and wakes waiters. */
void sync_publish_version(uint64_t v);
/* Called every ~200 ms by another thread: ends a stream that has been silent too long. */
void sync_watchdog(void);

/* ------------------------------------------------------------- index.c */

/* A snapshot under construction, swapped in whole at its last chunk. */
typedef struct rs_build rs_build;

rs_build *rs_build_new(void);
/* Adds one mock document (JSON text) of the snapshot; bad documents are logged and skipped. */
void rs_build_add(rs_build *b, const char *ns, const char *id, const char *json, uint64_t version);
/*
 * rs_build_add in two steps: rs_prepare() (any thread, no lock; NULL = rejected
 * and logged) and rs_build_put() (the build's owner, in stream order; consumes p).
 */
struct ms_prepared;
struct ms_prepared *rs_prepare(const char *ns, const char *id, const char *json);
void rs_build_put(rs_build *b, const char *ns, const char *id, struct ms_prepared *p,
                  uint64_t version);
/* Swaps the built index in at version; b is consumed. */
void rs_build_commit(rs_build *b, uint64_t version);
void rs_build_abort(rs_build *b);
/* Applies one delta; a bad document removes the old mock and is logged. */
void rs_apply_upsert(uint64_t version, const char *ns, const char *id, const char *json);
void rs_apply_delete(uint64_t version, const char *ns, const char *id);
size_t rs_mocks_loaded(void);
/*
 * The serverName filter of an embedder (a generated server serves the mocks of its namespace
 * whose serverName equals this; NULL or "" = every mock, the resolver's case). Set before
 * sync_start; a document of another server is left out of snapshots, and a delta moving a
 * mock to another server removes it.
 */
extern const char *rs_server_name;
bool rs_index_init(void);
void rs_index_free(void);

/* ------------------------------------------------------------- coord.c */

/*
 * Resolves one request through Coordinator.Resolve on a pooled connection.
 * Returns 1 and *response (new reference, the coordinator's response object)
 * when a mock matched, 0 when none matched, -1 when the coordinator could not
 * be asked (err filled).
 */
int coord_resolve(const char *ns, const char *method, const char *path, const char *query,
                  const char *headers_json, const char *body, size_t body_len, uint64_t seed,
                  json_t **response, char *err, size_t errlen);
/* coord_resolve for a protocol ("" or "http", "grpc": ResolveRequest.protocol). */
int coord_resolve_proto(const char *protocol, const char *ns, const char *method, const char *path,
                        const char *query, const char *headers_json, const char *body, size_t body_len,
                        uint64_t seed, json_t **response, char *err, size_t errlen);
/* How many coord_resolve calls returned a mock (stateful traffic, for report.c's acks). */
unsigned long long coord_matched_total(void);
bool coord_pool_init(int size);
void coord_pool_free(void);

/* ------------------------------------------------------------ report.c */

/* Queues a request-log row (takes the references to req and response); never blocks. */
void report_log(const char *mock_id, json_t *req, json_t *response, int64_t called_at_ms);
/* Queues one miss (headers/body borrowed and copied); never blocks. */
void report_undefined(const char *ns, const char *method, const char *path, json_t *headers, json_t *body);
/* Starts the report thread; tick (may be NULL) runs on it about once a second. */
bool report_start(void (*tick)(void));
/* Flushes what is queued (one attempt), then joins. */
void report_stop(void);
uint64_t report_dropped(void);
uint64_t report_sent(void);
/* Sends of a report batch that had been sent before without an ack (a timeout, a refusal). */
uint64_t report_resends(void);
/*
 * Webhook work the coordinator has not yet acknowledged: *items callbacks and
 * events in the queue, parked or in a batch being sent, and *shed shed ones not
 * yet counted in an accepted batch. Both 0 = everything served so far has
 * reached the admin node (benchmarks wait for that between windows).
 */
void report_webhook_unreported(uint64_t *items, uint64_t *shed);

#endif /* MOCKARTY_RESOLVER_LINK_H */
