/*
 * listen.c - the LISTEN connection thread.
 *
 * NOTIFY is only a doorbell (the change log is the truth), so this thread's
 * contract is simple: whenever a notification arrives, or the connection is
 * (re)established, the owner's callbacks re-read state from the database. A
 * notification sent while we were disconnected is lost, which is why every
 * connect is treated as "everything may have changed". Reconnects back off
 * from 100 ms to 5 s so a database restart does not turn into a connect storm.
 * The thread sleeps in poll(2) on the libpq socket and an eventfd that carries
 * stop and poke requests.
 */
#include "listen.h"

#include "log.h"
#include "pgpool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_CHANNELS 8

static struct {
	const listen_cb *cb;
	pthread_t thread;
	int evfd;
	atomic_bool stop;
	atomic_bool poked;
	atomic_bool connected;
	bool running;
} ls = {.evfd = -1};

bool
listen_connected(void)
{
	return atomic_load(&ls.connected);
}

static void
wake(void)
{
	uint64_t one = 1;

	if (write(ls.evfd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: the thread is awake anyway */
	}
}

void
listen_poke(void)
{
	atomic_store(&ls.poked, true);
	wake();
}

/* Sleeps up to ms unless stopped or poked; drains the eventfd. */
static void
nap(int ms)
{
	struct pollfd p = {.fd = ls.evfd, .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, ms) > 0 && read(ls.evfd, &v, sizeof(v)) < 0) {
		/* nothing to do */
	}
}

/* Issues LISTEN for every channel; false when the connection failed. */
static bool
do_listen(PGconn *conn)
{
	for (const char *const *ch = ls.cb->channels; *ch != NULL; ch++) {
		char sql[128];
		PGresult *res;
		bool ok;

		snprintf(sql, sizeof(sql), "LISTEN %s", *ch);
		res = PQexec(conn, sql);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			log_warn("%s failed: %s", sql, PQerrorMessage(conn));
		PQclear(res);
		if (!ok)
			return false;
	}
	return true;
}

/*
 * Collects pending notifications and calls on_notify once per channel that
 * had any (and the first channel when poked). Returns false when a callback or the
 * connection failed.
 */
static bool
dispatch(PGconn *conn, bool all)
{
	bool hit[MAX_CHANNELS] = {false};
	PGnotify *n;
	int nch = 0;

	for (const char *const *ch = ls.cb->channels; *ch != NULL && nch < MAX_CHANNELS; ch++)
		hit[nch++] = false;
	hit[0] = all; /* a poke means "catch up on the first channel" */
	for (;;) {
		bool any = false;

		while ((n = PQnotifies(conn)) != NULL) {
			for (int i = 0; i < nch; i++)
				if (strcmp(n->relname, ls.cb->channels[i]) == 0)
					hit[i] = true;
			PQfreemem(n);
			any = true;
		}
		for (int i = 0; i < nch; i++) {
			if (!hit[i])
				continue;
			hit[i] = false;
			any = true;
			if (!ls.cb->on_notify(conn, ls.cb->channels[i], ls.cb->ctx))
				return false;
		}
		/* queries run by the callbacks may have buffered new notifications */
		if (!any)
			return true;
	}
}

static void *
listen_main(void *arg)
{
	int backoff = 100;

	(void)arg;
	while (!atomic_load(&ls.stop)) {
		PGconn *conn = pgpool_connect_new();

		if (conn == NULL || !do_listen(conn) || !ls.cb->on_connect(conn, ls.cb->ctx)) {
			PQfinish(conn);
			atomic_store(&ls.connected, false);
			nap(backoff);
			backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
			continue;
		}
		backoff = 100;
		atomic_store(&ls.connected, true);
		log_info("listening for changes");
		while (!atomic_load(&ls.stop)) {
			struct pollfd p[2] = {{.fd = PQsocket(conn), .events = POLLIN},
					      {.fd = ls.evfd, .events = POLLIN}};
			bool poked;

			if (!dispatch(conn, false))
				break;
			if (poll(p, 2, 30000) < 0 && errno != EINTR)
				break;
			if (p[1].revents & POLLIN) {
				uint64_t v;

				if (read(ls.evfd, &v, sizeof(v)) < 0) {
					/* drained by someone else */
				}
			}
			poked = atomic_exchange(&ls.poked, false);
			if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
				log_warn("LISTEN connection lost: %s", PQerrorMessage(conn));
				break;
			}
			if (poked && !dispatch(conn, true))
				break;
		}
		atomic_store(&ls.connected, false);
		pgpool_mark(false);
		PQfinish(conn);
		if (!atomic_load(&ls.stop))
			nap(backoff);
	}
	return NULL;
}

bool
listen_start(const listen_cb *cb)
{
	ls.cb = cb;
	ls.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ls.evfd < 0) {
		log_error("eventfd: %s", strerror(errno));
		return false;
	}
	if (pthread_create(&ls.thread, NULL, listen_main, NULL) != 0) {
		log_error("cannot start the LISTEN thread");
		return false;
	}
	ls.running = true;
	return true;
}

void
listen_stop(void)
{
	if (!ls.running)
		return;
	atomic_store(&ls.stop, true);
	wake();
	pthread_join(ls.thread, NULL);
	ls.running = false;
	close(ls.evfd);
	ls.evfd = -1;
}
