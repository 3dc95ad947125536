/*
 * evsink.c - the admin node's end of the webhook queue: every drained batch
 * of per-mock callbacks and mock.resolved events goes to PostgreSQL in one
 * statement on a pooled connection, and the flag "some enabled webhook wants
 * mock.resolved" is kept fresh for the serving threads.
 *
 * The flag decides whether every mock request costs an event, so it is read
 * from an atomic (eq_want_events) and refreshed off the hot path: on NOTIFY
 * mockarty_webhooks 'config' (delivery/webhook_engine.c hears it), synchronously after a
 * webhook change made through this node's REST API, and every 2 s in case a
 * notification was lost. Writing is best effort by design: a batch the
 * database refuses or cannot take is counted as shed, never retried in
 * memory, so an outage cannot grow this process.
 */
#include "delivery/evsink.h"

#include "eventq.h"
#include "log.h"
#include "pgpool.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REFRESH_MS 2000
#define GET_TIMEOUT_MS 2000

static atomic_bool refresh_due = true;
static atomic_ullong remote_shed;
static int64_t last_refresh_ms;
static int64_t last_warn_ms;

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
evsink_count_remote_shed(uint64_t n)
{
	atomic_fetch_add_explicit(&remote_shed, n, memory_order_relaxed);
}

uint64_t
evsink_remote_shed(void)
{
	return atomic_load_explicit(&remote_shed, memory_order_relaxed);
}

void
evsink_refresh(void)
{
	atomic_store(&refresh_due, true);
}

/* Reads the flag on conn; false (flag unchanged) when the query fails. */
static bool
refresh_on(PGconn *conn)
{
	PGresult *r = PQexec(conn, "SELECT mockarty.webhook_wants_resolved_events()");
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;

	if (ok)
		eq_set_want_events(PQgetvalue(r, 0, 0)[0] == 't');
	PQclear(r);
	return ok;
}

void
evsink_refresh_now(void)
{
	PGconn *conn = pgpool_get(GET_TIMEOUT_MS);

	if (conn == NULL) {
		evsink_refresh();
		return;
	}
	if (!refresh_on(conn))
		evsink_refresh();
	pgpool_put(conn, PQstatus(conn) != CONNECTION_OK);
}

/* "[a,b,...]" of n JSON texts; malloc'd, NULL when out of memory. */
static char *
join_array(const char *const *items, size_t n)
{
	size_t len = 3;
	char *out, *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(items[i]) + 1;
	out = malloc(len);
	if (out == NULL)
		return NULL;
	p = out;
	*p++ = '[';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(items[i]);

		if (i > 0)
			*p++ = ',';
		memcpy(p, items[i], l);
		p += l;
	}
	*p++ = ']';
	*p = '\0';
	return out;
}

/* evsink_write and evsink_write_scoped: namespaces NULL = trusted (this node's own serving). */
static long
write_batch(PGconn *conn, const char *const *callbacks, size_t ncb, const char *const *events, size_t nev,
	    const char *namespaces, char *err, size_t errlen)
{
	char *a = join_array(callbacks, ncb), *b = join_array(events, nev);
	const char *params[3] = {a, b, namespaces};
	PGresult *r = NULL;
	long n = -1;

	if (a == NULL || b == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (namespaces == NULL)
		r = PQexecParams(conn,
				 "SELECT mockarty.webhook_callbacks_enqueue($1::jsonb) + "
				 "mockarty.webhook_events_enqueue($2::jsonb)",
				 2, NULL, params, NULL, NULL, 0);
	else
		r = PQexecParams(conn,
				 "SELECT mockarty.webhook_callbacks_enqueue(mockarty.node_report_callbacks($1::jsonb, $3::text[])) + "
				 "mockarty.webhook_events_enqueue(mockarty.node_report_events($2::jsonb, $3::text[]))",
				 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

		snprintf(err, errlen, "%s", m ? m : PQerrorMessage(conn));
		goto out;
	}
	n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
out:
	PQclear(r);
	free(a);
	free(b);
	return n;
}

long
evsink_write(PGconn *conn, const char *const *callbacks, size_t ncb, const char *const *events,
	     size_t nev, char *err, size_t errlen)
{
	return write_batch(conn, callbacks, ncb, events, nev, NULL, err, errlen);
}

long
evsink_write_scoped(PGconn *conn, const char *const *callbacks, size_t ncb, const char *const *events,
		    size_t nev, const char *namespaces, char *err, size_t errlen)
{
	return write_batch(conn, callbacks, ncb, events, nev, namespaces != NULL ? namespaces : "{}", err,
			   errlen);
}

/* eventq sink: the batch to the database, then the flag when due. */
static void
sink(void *arg, const char *const *callbacks, size_t ncb, const char *const *events, size_t nev)
{
	int64_t now = mono_ms();
	bool refresh = atomic_exchange(&refresh_due, false) || now - last_refresh_ms >= REFRESH_MS;
	PGconn *conn;
	char err[300] = "";

	(void)arg;
	if (ncb + nev == 0 && !refresh)
		return;
	conn = pgpool_get(GET_TIMEOUT_MS);
	if (conn == NULL) {
		eq_count_shed(ncb, nev);
		if (refresh)
			evsink_refresh();
		return;
	}
	if (ncb + nev > 0 && evsink_write(conn, callbacks, ncb, events, nev, err, sizeof(err)) < 0) {
		eq_count_shed(ncb, nev);
		if (now - last_warn_ms >= 10000) { /* one line per 10 s, not one per batch */
			log_warn("webhooks: %zu callbacks and %zu events dropped: %s", ncb, nev, err);
			last_warn_ms = now;
		}
	}
	if (refresh) {
		if (refresh_on(conn))
			last_refresh_ms = now;
		else
			evsink_refresh();
	}
	pgpool_put(conn, PQstatus(conn) != CONNECTION_OK);
}

bool
evsink_start(void)
{
	return eq_start(sink, NULL);
}

void
evsink_stop(void)
{
	eq_stop();
}
