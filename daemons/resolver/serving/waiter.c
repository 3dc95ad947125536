/*
 * serving/waiter.c - one thread that resumes suspended HTTP connections: mock delays
 * (at their deadline) and read-your-writes waits (as soon as the applied
 * version reaches the X-Mockarty-Min-Version asked for, or at the bound).
 *
 * The constraint: libmicrohttpd runs a handful of pool threads, each serving
 * many connections, so a request must never sleep on one - it would stall
 * every other connection of that thread. Waiting connections are suspended and
 * listed here; this thread sleeps on a condition variable (monotonic clock)
 * until the earliest deadline, and the sync thread kicks it whenever a new
 * version is applied. Nothing polls.
 */
#include "resolver.h"
#include "link/link.h"
#include "serving/serving.h"

#include "log.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct witem {
	struct MHD_Connection *conn;
	int64_t deadline_ms;
	uint64_t min_version;
	int *flag;
} witem;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	witem *items;
	size_t n, cap;
	bool stop, kicked;
	bool started;
	pthread_t thread;
} Wt = {.mu = PTHREAD_MUTEX_INITIALIZER};

bool
waiter_add(struct MHD_Connection *conn, int64_t deadline_ms, uint64_t min_version, int *flag)
{
	pthread_mutex_lock(&Wt.mu);
	if (Wt.stop) {
		pthread_mutex_unlock(&Wt.mu);
		return false;
	}
	if (Wt.n == Wt.cap) {
		size_t ncap = Wt.cap ? Wt.cap * 2 : 64;
		witem *ni = realloc(Wt.items, ncap * sizeof(*ni));

		if (ni == NULL) {
			pthread_mutex_unlock(&Wt.mu);
			return false;
		}
		Wt.items = ni;
		Wt.cap = ncap;
	}
	Wt.items[Wt.n++] = (witem){conn, deadline_ms, min_version, flag};
	pthread_cond_signal(&Wt.cv);
	pthread_mutex_unlock(&Wt.mu);
	return true;
}

void
waiter_kick(void)
{
	pthread_mutex_lock(&Wt.mu);
	Wt.kicked = true;
	pthread_cond_signal(&Wt.cv);
	pthread_mutex_unlock(&Wt.mu);
}

static void *
waiter_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&Wt.mu);
	for (;;) {
		int64_t now = rs_now_ms(), next = now + 60000;
		uint64_t applied = sync_applied_version();

		for (size_t i = 0; i < Wt.n;) {
			witem *w = &Wt.items[i];
			int why = 0;

			if (Wt.stop || now >= w->deadline_ms)
				why = 2;
			if (w->min_version > 0 && applied >= w->min_version)
				why = 1;
			if (why == 0) {
				if (w->deadline_ms < next)
					next = w->deadline_ms;
				i++;
				continue;
			}
			*w->flag = why;
			MHD_resume_connection(w->conn);
			Wt.items[i] = Wt.items[--Wt.n];
		}
		if (Wt.stop)
			break;
		if (!Wt.kicked) {
			struct timespec ts;
			int64_t ms = next - rs_now_ms();

			if (ms > 0) {
				clock_gettime(CLOCK_MONOTONIC, &ts);
				ts.tv_sec += ms / 1000;
				ts.tv_nsec += (ms % 1000) * 1000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&Wt.cv, &Wt.mu, &ts);
			}
		}
		Wt.kicked = false;
	}
	pthread_mutex_unlock(&Wt.mu);
	return NULL;
}

bool
waiter_start(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&Wt.cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&Wt.thread, NULL, waiter_main, NULL) != 0) {
		log_error("cannot start the waiter thread");
		return false;
	}
	Wt.started = true;
	return true;
}

void
waiter_stop(void)
{
	if (!Wt.started)
		return;
	pthread_mutex_lock(&Wt.mu);
	Wt.stop = true;
	pthread_cond_signal(&Wt.cv);
	pthread_mutex_unlock(&Wt.mu);
	pthread_join(Wt.thread, NULL);
	Wt.started = false;
	free(Wt.items);
	Wt.items = NULL;
	Wt.n = Wt.cap = 0;
}
