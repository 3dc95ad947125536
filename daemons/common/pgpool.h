/*
 * pgpool.h - a small pool of libpq connections shared by the daemon's threads.
 */
#ifndef MOCKARTY_PGPOOL_H
#define MOCKARTY_PGPOOL_H

#include <libpq-fe.h>
#include <stdbool.h>

/*
 * Creates the pool (one per process). Connections are opened lazily, so this
 * succeeds while the database is down. Returns false only on allocation failure.
 */
bool pgpool_init(const char *dsn, int size, const char *application_name);

/*
 * Borrows a connected connection, waiting up to timeout_ms for a free one.
 * Returns NULL when none became free in time or the database is unreachable
 * (the reason is logged). The caller must give it back with pgpool_put.
 */
PGconn *pgpool_get(int timeout_ms);

/*
 * Gives a connection back. broken = true (or a connection libpq reports as bad)
 * makes the pool close it and reconnect on the next borrow.
 */
void pgpool_put(PGconn *conn, bool broken);

/* Opens a fresh, unpooled connection (for LISTEN). NULL on failure, logged. */
PGconn *pgpool_connect_new(void);

/* True when the last connection attempt or query on the pool succeeded. */
bool pgpool_healthy(void);
void pgpool_mark(bool healthy);

/* Closes every idle connection; borrowed ones are closed when put back. */
void pgpool_shutdown(void);

#endif /* MOCKARTY_PGPOOL_H */
