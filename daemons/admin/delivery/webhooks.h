/*
 * webhooks.h - the admin node's webhook delivery engine (delivery/webhook_engine.c) and the
 * REST handlers of Settings > Webhooks (rest/webhooks.c).
 *
 * What to send and when lives in PostgreSQL (mockarty_private.webhook_deliveries,
 * filled by triggers and by mockarty.event_emit()); this node only claims due
 * deliveries under a lease, sends them with libcurl's multi interface and
 * records every attempt through mockarty.webhook_record(), which schedules the
 * next one. docs/webhooks.md describes the wire format and the signature.
 */
#ifndef MOCKARTY_ADMIN_WEBHOOKS_H
#define MOCKARTY_ADMIN_WEBHOOKS_H


#include <stdbool.h>
#include <stdint.h>

/* Starts the engine thread (its own LISTEN mockarty_webhooks connection). */
bool webhooks_start(void);
/* Stops it: in-flight requests are abandoned, their leases run out and another
 * engine (or this one after a restart) sends them again. */
void webhooks_stop(void);

/* Counters since start, for /metrics (all monotonic). */
typedef struct webhooks_counters {
	uint64_t attempts;        /* HTTP attempts finished (any outcome) */
	uint64_t succeeded;       /* attempts answered 2xx */
	uint64_t failed_attempts; /* attempts that failed (non-2xx, timeout, refused, ...) */
	uint64_t refused;         /* of those: refused by the private-address policy */
	uint64_t failed_final;    /* deliveries marked failed (attempts exhausted) */
	uint64_t lease_lost;      /* results the database no longer wanted (lease taken over) */
	uint64_t shed;            /* events/callbacks dropped under overload (see docs/webhooks.md) */
	uint64_t inflight;        /* gauge: requests in flight now */
} webhooks_counters;

/* Fills *out with a consistent-enough snapshot of the counters (relaxed atomics). */
void webhooks_counters_get(webhooks_counters *out);
/* Adds n to the shed counter (for producers outside this module). */
void webhooks_count_shed(uint64_t n);

/* The signature header value "t=<unix>,v1=<hex>" of body under secret, written to
 * out (at least 96 bytes). Exposed for tests. */
void webhooks_sign(const char *secret, long long t, const char *body, size_t body_len, char *out,
		   size_t outlen);

#endif /* MOCKARTY_ADMIN_WEBHOOKS_H */
