/*
 * eventq.h - the bounded, off-hot-path queue of webhook work produced while
 * serving mocks: per-mock callbacks (a mock's "webhooks" array, rendered with
 * the request) and one mock.resolved event per resolution.
 *
 * Serving threads only render (callbacks, and only when there is room) and
 * append a prepared JSON string to a mutex-protected ring of fixed capacity
 * (WEBHOOK_QUEUE_SIZE, default 10000). A full ring drops the item and counts
 * it (shed): serving never waits. One drain thread per process takes the
 * whole ring every 100 ms (or as soon as it is half full) and hands the batch
 * to the daemon's sink: the admin node writes it to PostgreSQL
 * (daemons/admin/delivery/evsink.c), a resolver sends it with its next Report
 * (daemons/resolver/link/report.c). docs/webhooks.md describes the wire shapes.
 */
#ifndef MOCKARTY_EVENTQ_H
#define MOCKARTY_EVENTQ_H

#include "metrics.h"
#include "mockarty/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The sink of one drained batch: callbacks[0..ncb) and events[0..nev) are
 * JSON object texts, borrowed for the duration of the call (eventq frees them
 * afterwards). It is called from the drain thread every tick, also with empty
 * batches (so a sink can do periodic work such as refreshing eq_want_events).
 * A sink that loses items must count them with eq_count_shed().
 */
typedef void (*eq_sink_fn)(void *arg, const char *const *callbacks, size_t ncb,
			   const char *const *events, size_t nev);

/*
 * Allocates the ring (capacity from WEBHOOK_QUEUE_SIZE, 1..1000000, default
 * 10000; a bad value is logged and the default used), reads
 * WEBHOOK_EVENTS_MAX_RATE (mock.resolved events per second passed to the
 * sink, default 200, 0 = no limit; beyond it events are shed) and starts the drain
 * thread calling sink. Returns false when out of memory or the thread cannot
 * start. Items pushed before eq_start() are shed.
 */
bool eq_start(eq_sink_fn sink, void *arg);
/* Stops the drain thread after a last drain; later pushes are shed. */
void eq_stop(void);

/* Whether serving pushes mock.resolved events (some enabled webhook wants them). */
void eq_set_want_events(bool on);
bool eq_want_events(void);

/*
 * The http callbacks of a mock document (its "webhooks" array) as a new
 * array of objects, or NULL when it has none. Callbacks of another type
 * (kafka, rabbitmq) are not supported here: they are left out with one log
 * line per callback (this runs once per mock load, not per request).
 */
json_t *eq_callbacks_prepare(const json_t *doc, const char *mock_id);

/*
 * Renders the callbacks of cbs (from eq_callbacks_prepare) whose trigger
 * applies to a response of this status (on_success: < 400; on_error: >= 400;
 * always, absent, on_first_use and on_last_use: every response - the serving
 * result does not say which use of a use limit this was) with ctx, the
 * context the response was rendered with, and queues each as
 * {"mockId","namespace","url","method","headers","body","timeoutMs",
 *  "retryCount","retryDelay"}. A callback that fails to render is logged
 * and skipped. Never blocks; when the ring is full nothing is rendered and
 * the callbacks are counted as shed.
 */
void eq_callbacks_fire(const json_t *cbs, mc_render_ctx *ctx, const char *mock_id, const char *ns,
		       int status);

/*
 * Forwarding mode (a mock resolver: report_start() turns it on). Instead of
 * rendering, eq_callbacks_forward() queues one item per hit whose mock has a
 * callback applying to status: {"mockId","namespace","status","seed"?,
 * "request":{"protocol","method","path","query","headers","body"?}}. The
 * admin node renders the callbacks from its stored copy of the mock
 * (ms_callbacks_replay) after checking that the request matches it. A body
 * over EQ_FORWARD_BODY_MAX bytes sheds the hit's callbacks (counted); a body
 * that is not UTF-8 text is left out.
 */
#define EQ_FORWARD_BODY_MAX (64 * 1024)
void eq_set_callbacks_forward(bool on);
bool eq_callbacks_forwarding(void);
void eq_callbacks_forward(const json_t *cbs, const mc_request *req, const char *seed, const char *mock_id,
			  const char *ns, int status);

/*
 * Queues a mock.resolved event {"mockId","namespace","method","path","status",
 * "at"(RFC 3339, ms),"traceparent"?} (traceparent may be NULL). Cheap: no
 * JSON library, one short mutex; sheds when the ring is full.
 */
void eq_event_resolved(const char *mock_id, const char *ns, const char *method, const char *path,
		       int status, const char *traceparent);

/* For sinks: n callbacks and m events of a batch were lost after all. */
void eq_count_shed(uint64_t ncb, uint64_t nev);

typedef struct eq_counters {
	uint64_t events_queued, events_shed;       /* mock.resolved events */
	uint64_t callbacks_queued, callbacks_shed; /* per-mock callbacks */
	uint64_t depth, capacity;                  /* gauges: items in the ring now, its size */
	uint64_t inhand; /* items the drain thread took off the ring and is handing to the sink */
	bool want_events;
} eq_counters;

void eq_counters_get(eq_counters *out);

/*
 * Writes the queue's metric families to b: mockarty_webhook_events_queued_total,
 * mockarty_webhook_events_shed_total (plus extra_shed: what the node's other
 * webhook producers shed), mockarty_webhook_callbacks_queued_total,
 * mockarty_webhook_callbacks_shed_total, mockarty_webhook_queue_depth,
 * mockarty_webhook_queue_capacity and mockarty_webhook_resolved_events_enabled.
 */
void eq_metrics_write(mt_buf *b, uint64_t extra_shed);

#endif /* MOCKARTY_EVENTQ_H */
