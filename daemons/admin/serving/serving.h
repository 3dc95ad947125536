/*
 * serving.h - mock traffic on the admin node: the in-memory index of live mocks
 * kept current with the database (snapshot.c), answering requests from it
 * (serve.c), the batched writes of request logs and misses (flusher.c) and the
 * resumption of delayed responses (delay_timer.c). Calls node/ and
 * daemons/common only.
 */
#ifndef MOCKARTY_ADMIN_SERVING_H
#define MOCKARTY_ADMIN_SERVING_H

#include "node/node.h"

/* ---- serving/snapshot.c: the in-memory index of live mocks ---- */

/* Starts the LISTEN thread that loads and maintains the snapshot. */
bool snapshot_start(void);
void snapshot_stop(void);
/* True once a snapshot is loaded and the LISTEN connection is up. */
bool snapshot_ready(void);
int64_t snapshot_version(void);
size_t snapshot_count(void);
/*
 * True while a full load runs; *done is the number of mocks read so far, *total
 * the number it will read (-1 when unknown).
 */
bool snapshot_loading(long long *done, long long *total);
/* The database's change-log head (mockarty.head_version()) through the pool; -1 on failure. */
int64_t snapshot_head(int timeout_ms);
/*
 * Waits (up to timeout_ms) until the index has applied version, poking the
 * LISTEN thread to catch up, so a client that wrote through the API reads its
 * write back from the mock traffic at once. Returns false on timeout.
 */
bool snapshot_wait(int64_t version, int timeout_ms);

/* The store mock traffic is served from (mockserve.h); set before the server starts. */
extern ms_store *admin_store;

/* ---- serving/serve.c: mock traffic ---- */

/*
 * Answers one mock-traffic request with ms_serve() and the admin node's hooks:
 * stateful mocks resolved by mockarty.resolve() in the database, misses queued
 * for mockarty.undefined_record, proxying through common/proxy.c. Counts hits and
 * misses. Always fills out (release with ms_result_done after queueing).
 */
void serve_mock(ms_request *req, ms_result *out);
/*
 * For a proxy mock serve_mock() left out->proxy_call pending; once the
 * upstream answered (the connection resumed), fills out from it
 * (ms_proxy_finish) and counts it with its latency usec.
 */
void serve_mock_proxied(ms_result *out, int64_t usec);

/* ---- serving/flusher.c: batched, asynchronous writes of request logs and misses ---- */
bool flusher_start(void);
void flusher_stop(void); /* flushes what is queued, then joins */
/* Queues a miss for mockarty.undefined_record; never blocks. body_bytes is the body's size on
 * the wire: past FLUSH_UNDEFINED_BUDGET bytes per flush the miss is queued without its body. */
void flusher_undefined(const char *ns, const char *method, const char *path, json_t *headers,
		       json_t *body, size_t body_bytes);
/* (request logs of locally served mocks are drained from admin_store) */

/* ---- serving/delay_timer.c: resumes suspended connections when their delay is over ---- */
bool timer_start(void);
void timer_stop(void);
void timer_add(struct MHD_Connection *conn, int64_t delay_ms);

#endif /* MOCKARTY_ADMIN_SERVING_H */
