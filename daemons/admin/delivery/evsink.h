/*
 * evsink.h - where the admin node's webhook queue (daemons/common/eventq.h)
 * drains to: PostgreSQL (mockarty.webhook_callbacks_enqueue and
 * mockarty.webhook_events_enqueue), plus the cached "does any webhook want
 * mock.resolved" flag that serving and the coordinator's ReportAck read.
 */
#ifndef MOCKARTY_ADMIN_EVSINK_H
#define MOCKARTY_ADMIN_EVSINK_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Starts the queue's drain thread with the database sink; false on failure. */
bool evsink_start(void);
void evsink_stop(void);

/* Asks for a refresh of the cached flag at the next tick (NOTIFY mockarty_webhooks 'config'). */
void evsink_refresh(void);
/* Refreshes the flag now, on a pooled connection (after a webhook change made on this node). */
void evsink_refresh_now(void);

/*
 * Writes callbacks[0..ncb) and events[0..nev) (JSON object texts) on conn in
 * one statement. Returns the number of deliveries created, or -1 with err
 * filled (the caller decides whether the batch counts as shed).
 */
long evsink_write(PGconn *conn, const char *const *callbacks, size_t ncb, const char *const *events,
		  size_t nev, char *err, size_t errlen);

/* Events/callbacks resolvers reported as shed (ReportBatch.events_shed), for /metrics. */
void evsink_count_remote_shed(uint64_t n);
uint64_t evsink_remote_shed(void);

/*
 * evsink_write for a batch a mock resolver reported: only callbacks and events
 * of mocks in namespaces (a text[] literal, "{}" = none) are kept, and each
 * callback's destination and delivery settings come from the stored mock
 * (mockarty.node_report_callbacks / node_report_events).
 */
long evsink_write_scoped(PGconn *conn, const char *const *callbacks, size_t ncb, const char *const *events,
			 size_t nev, const char *namespaces, char *err, size_t errlen);

#endif /* MOCKARTY_ADMIN_EVSINK_H */
