/*
 * flusher.c - asynchronous, batched writes of the hot path's side effects:
 * unmatched requests (mockarty.undefined_record) and request logs of mocks
 * served from the snapshot (mockarty.log_requests).
 *
 * Mock traffic must never wait for the database, so the hot path only appends
 * to bounded in-memory queues and returns. Repeats coalesce: misses by
 * namespace+method+path (with a repeat count, so counts stay exact) under a
 * mutex here; request logs are captured by mockserve per serving thread,
 * keeping only the last three per mock (the database keeps no more), and
 * drained here.
 * One thread writes a batch every 100 ms in one round trip per kind; when the
 * database is down the batch is dropped with a warning rather than growing
 * without bound.
 */
#include "admin.h"

#include "log.h"
#include "pgpool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLUSH_INTERVAL_MS 100
#define MAX_UNDEFINED_KEYS 1000

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	json_t *undef; /* key -> {"namespace","method","path","headers","body","n"} */
	unsigned long dropped;
	bool stop;
	bool running;
	pthread_t thread;
} fq = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

void
flusher_undefined(const char *ns, const char *method, const char *path, json_t *headers,
		  json_t *body)
{
	char key[1024];
	json_t *e;

	snprintf(key, sizeof(key), "%s\n%s\n%s", ns, method, path);
	pthread_mutex_lock(&fq.mu);
	if (fq.undef == NULL)
		fq.undef = json_object();
	e = json_object_get(fq.undef, key);
	if (e != NULL) {
		json_object_set_new(e, "n", json_integer(json_integer_value(json_object_get(e, "n")) + 1));
	} else if (json_object_size(fq.undef) < MAX_UNDEFINED_KEYS) {
		e = json_pack("{s:s, s:s, s:s, s:O, s:O, s:i}", "namespace", ns, "method", method, "path",
			      path, "headers", headers ? headers : json_null(), "body",
			      body ? body : json_null(), "n", 1);
		if (e != NULL)
			json_object_set_new(fq.undef, key, e);
	} else {
		fq.dropped++;
	}
	pthread_mutex_unlock(&fq.mu);
}

/* Runs one statement with a single jsonb parameter; logs and drops on failure. */
static void
write_batch(const char *what, const char *sql, json_t *arr)
{
	char *text = api_dump(arr);
	const char *params[1] = {text};
	PGconn *conn;
	PGresult *r;

	if (text == NULL)
		return;
	conn = pgpool_get(2000);
	if (conn == NULL) {
		log_warn("dropping %zu %s: no database connection", json_array_size(arr), what);
		free(text);
		return;
	}
	r = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warn("dropping %zu %s: %s", json_array_size(arr), what, PQerrorMessage(conn));
	PQclear(r);
	pgpool_put(conn, PQstatus(conn) != CONNECTION_OK);
	free(text);
}

static void
flush_once(void)
{
	json_t *undef, *logs, *arr;
	const char *k;
	json_t *v;
	unsigned long dropped;

	unsigned long log_dropped = 0;

	pthread_mutex_lock(&fq.mu);
	undef = fq.undef;
	dropped = fq.dropped;
	fq.undef = NULL;
	fq.dropped = 0;
	pthread_mutex_unlock(&fq.mu);
	logs = admin_store ? ms_store_drain_logs(admin_store, &log_dropped) : NULL;
	dropped += log_dropped;
	if (dropped > 0)
		log_warn("flusher queues full: %lu entries dropped", dropped);
	if (undef != NULL && json_object_size(undef) > 0) {
		arr = json_array();
		json_object_foreach(undef, k, v)
			json_array_append(arr, v);
		write_batch("undefined requests",
			    "SELECT count(*) FROM (SELECT mockarty.undefined_record(u->>'namespace', "
			    "u->>'method', u->>'path', u->'headers', u->'body') "
			    "FROM jsonb_array_elements($1::jsonb) AS u, "
			    "generate_series(1, (u->>'n')::int) AS g) AS s",
			    arr);
		json_decref(arr);
	}
	if (logs != NULL)
		write_batch("request logs", "SELECT mockarty.log_requests($1::jsonb)", logs);
	json_decref(undef);
	json_decref(logs);
}

static void *
flusher_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec dl;
		bool stop;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += FLUSH_INTERVAL_MS * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&fq.mu);
		if (!fq.stop)
			pthread_cond_timedwait(&fq.cv, &fq.mu, &dl);
		stop = fq.stop;
		pthread_mutex_unlock(&fq.mu);
		flush_once();
		if (stop)
			break;
	}
	return NULL;
}

bool
flusher_start(void)
{
	if (pthread_create(&fq.thread, NULL, flusher_main, NULL) != 0) {
		log_error("cannot start the flusher thread");
		return false;
	}
	fq.running = true;
	return true;
}

void
flusher_stop(void)
{
	if (!fq.running)
		return;
	pthread_mutex_lock(&fq.mu);
	fq.stop = true;
	pthread_cond_signal(&fq.cv);
	pthread_mutex_unlock(&fq.mu);
	pthread_join(fq.thread, NULL);
	fq.running = false;
}
