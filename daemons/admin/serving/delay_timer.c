/*
 * delay_timer.c - resumes suspended connections when their mock delay is over.
 *
 * A delayed mock must not hold one of the few libmicrohttpd pool threads (a
 * 5 s delay would stall every connection of that thread), so server.c
 * suspends the connection and this single thread resumes it at its deadline.
 * Deadlines live in a binary min-heap; the thread sleeps on a condition
 * variable until the earliest one or until an earlier one is added.
 */
#include "serving/serving.h"

#include "log.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct timer_item {
	int64_t due_ns; /* CLOCK_MONOTONIC */
	struct MHD_Connection *conn;
} timer_item;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	timer_item *heap;
	size_t n, cap;
	bool stop;
	pthread_t thread;
	bool running;
} tm = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
heap_swap(size_t a, size_t b)
{
	timer_item t = tm.heap[a];

	tm.heap[a] = tm.heap[b];
	tm.heap[b] = t;
}

static void
heap_pop(void)
{
	size_t i = 0;

	tm.heap[0] = tm.heap[--tm.n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < tm.n && tm.heap[l].due_ns < tm.heap[m].due_ns)
			m = l;
		if (r < tm.n && tm.heap[r].due_ns < tm.heap[m].due_ns)
			m = r;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
}

/*
 * Schedules conn (already suspended by the caller) to be resumed after
 * delay_ms. On allocation failure it is resumed at once (the delay is lost,
 * the request is not).
 */
void
timer_add(struct MHD_Connection *conn, int64_t delay_ms)
{
	size_t i;

	pthread_mutex_lock(&tm.mu);
	if (tm.n == tm.cap) {
		size_t cap = tm.cap ? tm.cap * 2 : 64;
		timer_item *h = realloc(tm.heap, cap * sizeof(*h));

		if (h == NULL || tm.stop) {
			if (h != NULL)
				tm.heap = h, tm.cap = cap;
			pthread_mutex_unlock(&tm.mu);
			MHD_resume_connection(conn);
			return;
		}
		tm.heap = h;
		tm.cap = cap;
	}
	i = tm.n++;
	tm.heap[i].due_ns = mono_ns() + delay_ms * 1000000LL;
	tm.heap[i].conn = conn;
	while (i > 0 && tm.heap[(i - 1) / 2].due_ns > tm.heap[i].due_ns) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	pthread_cond_signal(&tm.cv);
	pthread_mutex_unlock(&tm.mu);
}

static void *
timer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tm.mu);
	while (!tm.stop) {
		int64_t now = mono_ns();

		while (tm.n > 0 && tm.heap[0].due_ns <= now) {
			struct MHD_Connection *c = tm.heap[0].conn;

			heap_pop();
			MHD_resume_connection(c);
		}
		if (tm.n == 0) {
			pthread_cond_wait(&tm.cv, &tm.mu);
		} else {
			struct timespec dl;
			int64_t due = tm.heap[0].due_ns;

			dl.tv_sec = (time_t)(due / 1000000000LL);
			dl.tv_nsec = (long)(due % 1000000000LL);
			pthread_cond_timedwait(&tm.cv, &tm.mu, &dl);
		}
	}
	/* shutting down: answer everything still waiting now */
	while (tm.n > 0) {
		MHD_resume_connection(tm.heap[0].conn);
		heap_pop();
	}
	pthread_mutex_unlock(&tm.mu);
	return NULL;
}

bool
timer_start(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&tm.cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&tm.thread, NULL, timer_main, NULL) != 0) {
		log_error("cannot start the timer thread");
		return false;
	}
	tm.running = true;
	return true;
}

void
timer_stop(void)
{
	if (!tm.running)
		return;
	pthread_mutex_lock(&tm.mu);
	tm.stop = true;
	pthread_cond_signal(&tm.cv);
	pthread_mutex_unlock(&tm.mu);
	pthread_join(tm.thread, NULL);
	tm.running = false;
}
