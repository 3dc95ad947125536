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
#include "serving/serving.h"

#include "log.h"
#include "pgpool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLUSH_INTERVAL_MS 100
#define MAX_UNDEFINED_KEYS 1000
/* Body bytes of misses held per flush: past it a miss is recorded without its body (its
 * count and path still are), so unique paths with big bodies cannot grow this queue. */
#define FLUSH_UNDEFINED_BUDGET (8u * 1024 * 1024)

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	json_t *undef; /* key -> {"namespace","method","path","headers","body","n"} */
	size_t body_bytes; /* bodies held in undef (FLUSH_UNDEFINED_BUDGET) */
	unsigned long dropped;
	bool stop;
	bool running;
	pthread_t thread;
} fq = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

void
flusher_undefined(const char *ns, const char *method, const char *path, json_t *headers,
		  json_t *body, size_t body_bytes)
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
		if (body != NULL && fq.body_bytes + body_bytes > FLUSH_UNDEFINED_BUDGET)
			body = NULL;
		e = json_pack("{s:s, s:s, s:s, s:O, s:O, s:i}", "namespace", ns, "method", method, "path",
			      path, "headers", headers ? headers : json_null(), "body",
			      body ? body : json_null(), "n", 1);
		if (e != NULL) {
			json_object_set_new(fq.undef, key, e);
			if (body != NULL)
				fq.body_bytes += body_bytes;
		}
	} else {
		fq.dropped++;
	}
	pthread_mutex_unlock(&fq.mu);
}

/* Runs sql with arr as its one jsonb parameter; true on success, else *err points into
 * conn's error buffer (valid until the next call on conn). */
static bool
exec_batch(PGconn *conn, const char *sql, json_t *arr, const char **err)
{
	char *text = api_dump(arr);
	const char *params[1] = {text};
	PGresult *r;
	bool ok;

	if (text == NULL) {
		*err = "out of memory";
		return false;
	}
	r = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		*err = PQerrorMessage(conn);
	PQclear(r);
	free(text);
	return ok;
}

/*
 * Runs one statement with a single jsonb parameter. When the batch fails while the
 * connection is fine (one row the database refuses, e.g. a path too long for the
 * unique index), each row is retried alone so that only the bad rows are dropped.
 */
static void
write_batch(const char *what, const char *sql, json_t *arr)
{
	PGconn *conn;
	const char *err = "";

	conn = pgpool_get(2000);
	if (conn == NULL) {
		log_warn("dropping %zu %s: no database connection", json_array_size(arr), what);
		return;
	}
	if (!exec_batch(conn, sql, arr, &err)) {
		if (json_array_size(arr) > 1 && PQstatus(conn) == CONNECTION_OK) {
			for (size_t i = 0; i < json_array_size(arr); i++) {
				json_t *one = json_pack("[O]", json_array_get(arr, i));

				if (one == NULL || !exec_batch(conn, sql, one, &err))
					log_warn("dropping 1 of %zu %s: %s", json_array_size(arr), what,
						 one ? err : "out of memory");
				json_decref(one);
				if (PQstatus(conn) != CONNECTION_OK) {
					log_warn("dropping %zu %s: connection lost", json_array_size(arr) - i - 1,
						 what);
					break;
				}
			}
		} else {
			log_warn("dropping %zu %s: %s", json_array_size(arr), what, err);
		}
	}
	pgpool_put(conn, PQstatus(conn) != CONNECTION_OK);
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
	fq.body_bytes = 0;
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
