/*
 * listen.h - a dedicated libpq connection that LISTENs and calls back on
 * notifications and on every (re)connect.
 */
#ifndef MOCKARTY_LISTEN_H
#define MOCKARTY_LISTEN_H

#include <libpq-fe.h>
#include <stdbool.h>

typedef struct listen_cb {
	const char *const *channels; /* NULL-terminated */
	/*
	 * Called after every successful connect + LISTEN, before any notification:
	 * notifications may have been lost while disconnected, so resynchronise.
	 * May run queries on conn. Returning false drops the connection and retries.
	 */
	bool (*on_connect)(PGconn *conn, void *ctx);
	/*
	 * Called once per channel that received at least one notification since the
	 * last call (payloads are only hints), or for the first channel on listen_poke().
	 * May run queries on conn; false drops the connection.
	 */
	bool (*on_notify)(PGconn *conn, const char *channel, void *ctx);
	void *ctx;
} listen_cb;

/* Starts the thread; cb must outlive it. The first connect happens in the thread. */
bool listen_start(const listen_cb *cb);
/* Stops and joins the thread, closing its connection. */
void listen_stop(void);
/* True while the LISTEN connection is established. */
bool listen_connected(void);
/* Makes the thread run on_notify for the first channel soon (catch-up on demand). */
void listen_poke(void);

#endif /* MOCKARTY_LISTEN_H */
