/*
 * pgpool.c - a small, fixed-size pool of libpq connections.
 *
 * Every admin-node request that touches state is one SQL function call, so the
 * pool only has to hand out a connected PGconn quickly and recover from a
 * database restart without operator action: a connection found broken (by libpq
 * or by its borrower) is closed and reopened on the next borrow. A mutex and a
 * condition variable are enough at this size; connects happen outside the lock
 * so one slow connect does not stall the others.
 */
#include "pgpool.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct pool_slot {
	PGconn *conn;   /* NULL when not connected */
	bool in_use;
} pool_slot;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pool_slot *slots;
	int size;
	char *dsn;
	char *appname;
	bool closing;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static atomic_bool pool_ok = false;

bool
pgpool_init(const char *dsn, int size, const char *application_name)
{
	pool.slots = calloc((size_t)size, sizeof(pool_slot));
	pool.dsn = strdup(dsn);
	pool.appname = strdup(application_name);
	if (pool.slots == NULL || pool.dsn == NULL || pool.appname == NULL)
		return false;
	pool.size = size;
	return true;
}

bool
pgpool_healthy(void)
{
	return atomic_load(&pool_ok);
}

void
pgpool_mark(bool healthy)
{
	atomic_store(&pool_ok, healthy);
}

/*
 * Opens one connection with the pool's DSN, application_name and a connect
 * timeout (so a black-holed database host cannot hang a request forever).
 */
PGconn *
pgpool_connect_new(void)
{
	const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
	const char *vals[] = {pool.dsn, pool.appname, "5", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		char *msg = c ? PQerrorMessage(c) : "out of memory";
		size_t n = strlen(msg);

		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			n--;
		log_warn("database connection failed: %.*s", (int)n, msg);
		PQfinish(c);
		pgpool_mark(false);
		return NULL;
	}
	pgpool_mark(true);
	return c;
}

/* Waits for a free slot; returns its index or -1 on timeout or shutdown. */
static int
take_slot(int timeout_ms)
{
	struct timespec dl;
	int idx = -1;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		if (pool.closing)
			break;
		/* prefer a connected idle slot, then any idle one */
		for (int i = 0; i < pool.size && idx < 0; i++)
			if (!pool.slots[i].in_use && pool.slots[i].conn != NULL)
				idx = i;
		for (int i = 0; i < pool.size && idx < 0; i++)
			if (!pool.slots[i].in_use)
				idx = i;
		if (idx >= 0) {
			pool.slots[idx].in_use = true;
			break;
		}
		if (pthread_cond_timedwait(&pool.cv, &pool.mu, &dl) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&pool.mu);
	return idx;
}

static void
release_slot(int idx)
{
	pthread_mutex_lock(&pool.mu);
	pool.slots[idx].in_use = false;
	pthread_cond_signal(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
}

PGconn *
pgpool_get(int timeout_ms)
{
	int idx = take_slot(timeout_ms);
	PGconn *c;

	if (idx < 0) {
		log_warn("no database connection free within %d ms", timeout_ms);
		return NULL;
	}
	c = pool.slots[idx].conn;
	if (c != NULL && PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		c = pool.slots[idx].conn = NULL;
	}
	if (c == NULL) {
		c = pgpool_connect_new();
		pool.slots[idx].conn = c;
		if (c == NULL) {
			release_slot(idx);
			return NULL;
		}
	}
	return c;
}

void
pgpool_put(PGconn *conn, bool broken)
{
	if (conn == NULL)
		return;
	pthread_mutex_lock(&pool.mu);
	for (int i = 0; i < pool.size; i++) {
		if (pool.slots[i].conn != conn)
			continue;
		if (broken || PQstatus(conn) != CONNECTION_OK ||
		    PQtransactionStatus(conn) != PQTRANS_IDLE || pool.closing) {
			PQfinish(conn);
			pool.slots[i].conn = NULL;
		}
		pool.slots[i].in_use = false;
		pthread_cond_signal(&pool.cv);
		break;
	}
	pthread_mutex_unlock(&pool.mu);
}

void
pgpool_shutdown(void)
{
	pthread_mutex_lock(&pool.mu);
	pool.closing = true;
	for (int i = 0; i < pool.size; i++) {
		if (!pool.slots[i].in_use && pool.slots[i].conn != NULL) {
			PQfinish(pool.slots[i].conn);
			pool.slots[i].conn = NULL;
		}
	}
	pthread_cond_broadcast(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
}
