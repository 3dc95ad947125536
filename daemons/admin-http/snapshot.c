/*
 * snapshot.c - the admin node's in-memory index of every live mock, so mock
 * traffic is matched without a database round trip.
 *
 * The database is the truth; this is a cache kept current by the change log:
 * a full load from mockarty.snapshot() (consistent with head_version() in one
 * REPEATABLE READ transaction) on every LISTEN (re)connect, then ordered
 * deltas from mockarty.changes_since(version) on each NOTIFY mockarty_changes.
 * Readers (pool threads matching requests) take a read lock and copy out a
 * reference to the winning mock; writers (the LISTEN thread only) build a new
 * index off-lock for full loads and hold the write lock only to swap or to
 * apply a delta batch.
 */
#include "admin.h"

#include "listen.h"
#include "log.h"
#include "pgpool.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELTA_BATCH 1000

static struct {
	pthread_rwlock_t lock;
	mc_index *idx;
	json_t *id_ns; /* id -> namespace of each mock in idx */
	int64_t version;
	bool loaded;
	pthread_mutex_t vmu; /* guards version waits */
	pthread_cond_t vcv;
} snap = {.lock = PTHREAD_RWLOCK_INITIALIZER,
	  .vmu = PTHREAD_MUTEX_INITIALIZER,
	  .vcv = PTHREAD_COND_INITIALIZER};

static const char *const channels[] = {"mockarty_changes", "mockarty_tokens", NULL};

static void
publish_version(int64_t v)
{
	pthread_mutex_lock(&snap.vmu);
	snap.version = v;
	snap.loaded = true;
	pthread_cond_broadcast(&snap.vcv);
	pthread_mutex_unlock(&snap.vmu);
}

int64_t
snapshot_version(void)
{
	int64_t v;

	pthread_mutex_lock(&snap.vmu);
	v = snap.version;
	pthread_mutex_unlock(&snap.vmu);
	return v;
}

bool
snapshot_ready(void)
{
	bool l;

	pthread_mutex_lock(&snap.vmu);
	l = snap.loaded;
	pthread_mutex_unlock(&snap.vmu);
	return l && listen_connected();
}

size_t
snapshot_count(void)
{
	size_t n = 0;

	pthread_rwlock_rdlock(&snap.lock);
	if (snap.idx != NULL)
		n = mc_index_count(snap.idx);
	pthread_rwlock_unlock(&snap.lock);
	return n;
}

/*
 * Adds one mock document to idx (replacing the same id in any namespace).
 * ns_hint is the namespace column of the row, used when the document has none.
 * Failures are logged and skipped: one bad row never stops the load.
 */
static void
put_mock(mc_index *idx, json_t *id_ns, json_t *mock, const char *ns_hint, int64_t version)
{
	const char *id = json_string_value(json_object_get(mock, "id"));
	const char *ns = json_string_value(json_object_get(mock, "namespace"));
	const char *old;
	mc_error err = {0};

	if (id == NULL)
		return;
	if (ns == NULL) {
		ns = ns_hint ? ns_hint : MC_DEFAULT_NAMESPACE;
		json_object_set_new(mock, "namespace", json_string(ns));
		ns = json_string_value(json_object_get(mock, "namespace"));
	}
	old = json_string_value(json_object_get(id_ns, id));
	if (old != NULL) {
		mc_index_remove(idx, old, id);
		json_object_del(id_ns, id);
	}
	if (json_integer_value(json_object_get(mock, "closedAt")) > 0)
		return;
	if (mc_index_put(idx, mock, version, &err) != MC_OK) {
		log_warn("mock %s skipped by the snapshot: %s %s", id, err.path, err.msg);
		return;
	}
	json_object_set_new(id_ns, id, json_string(ns));
}

static void
remove_mock(mc_index *idx, json_t *id_ns, const char *ns, const char *id)
{
	const char *old = json_string_value(json_object_get(id_ns, id));

	if (old != NULL) {
		mc_index_remove(idx, old, id);
		json_object_del(id_ns, id);
	} else if (ns != NULL) {
		mc_index_remove(idx, ns, id);
	}
}

static bool
exec_ok(PGconn *conn, const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		log_warn("%s: %s", sql, PQerrorMessage(conn));
	PQclear(r);
	return ok;
}

/* Full load: builds a new index from snapshot() and swaps it in. */
static bool
full_load(PGconn *conn)
{
	PGresult *r;
	mc_index *idx;
	json_t *id_ns;
	int64_t head;
	int n;

	if (!exec_ok(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
		return false;
	r = PQexec(conn, "SELECT mockarty.head_version()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		log_warn("head_version(): %s", PQerrorMessage(conn));
		PQclear(r);
		exec_ok(conn, "ROLLBACK");
		return false;
	}
	head = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	r = PQexec(conn, "SELECT version, mock FROM mockarty.snapshot()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_warn("snapshot(): %s", PQerrorMessage(conn));
		PQclear(r);
		exec_ok(conn, "ROLLBACK");
		return false;
	}
	idx = mc_index_new();
	id_ns = json_object();
	if (idx == NULL || id_ns == NULL) {
		mc_index_free(idx);
		json_decref(id_ns);
		PQclear(r);
		exec_ok(conn, "ROLLBACK");
		return false;
	}
	n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		json_error_t jerr;
		json_t *mock = json_loads(PQgetvalue(r, i, 1), 0, &jerr);

		if (mock == NULL) {
			log_warn("snapshot row %d: %s", i, jerr.text);
			continue;
		}
		put_mock(idx, id_ns, mock, NULL, strtoll(PQgetvalue(r, i, 0), NULL, 10));
		json_decref(mock);
	}
	PQclear(r);
	exec_ok(conn, "COMMIT");

	pthread_rwlock_wrlock(&snap.lock);
	mc_index *old = snap.idx;
	json_t *old_ns = snap.id_ns;
	snap.idx = idx;
	snap.id_ns = id_ns;
	pthread_rwlock_unlock(&snap.lock);
	mc_index_free(old);
	json_decref(old_ns);
	publish_version(head);
	log_info("snapshot loaded: %zu mocks at version %" PRId64, mc_index_count(idx), head);
	return true;
}

/* Applies changes after the current version until caught up. */
static bool
apply_deltas(PGconn *conn)
{
	for (;;) {
		char after[32];
		const char *params[1] = {after};
		PGresult *r;
		int n;
		int64_t v = snapshot_version();

		snprintf(after, sizeof(after), "%" PRId64, v);
		r = PQexecParams(conn,
				 "SELECT version, op, namespace, mock_id, mock FROM mockarty.changes_since($1::bigint, "
				 "1000)",
				 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			log_warn("changes_since(%s): %s", after, PQerrorMessage(conn));
			PQclear(r);
			return false;
		}
		n = PQntuples(r);
		if (n == 0) {
			PQclear(r);
			return true;
		}
		pthread_rwlock_wrlock(&snap.lock);
		for (int i = 0; i < n; i++) {
			int64_t ver = strtoll(PQgetvalue(r, i, 0), NULL, 10);
			const char *op = PQgetvalue(r, i, 1);
			const char *ns = PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2);
			const char *id = PQgetvalue(r, i, 3);

			if (strcmp(op, "upsert") == 0 && !PQgetisnull(r, i, 4)) {
				json_error_t jerr;
				json_t *mock = json_loads(PQgetvalue(r, i, 4), 0, &jerr);

				if (mock != NULL) {
					put_mock(snap.idx, snap.id_ns, mock, ns, ver);
					json_decref(mock);
				}
			} else {
				remove_mock(snap.idx, snap.id_ns, ns, id);
			}
			if (ver > v)
				v = ver;
		}
		pthread_rwlock_unlock(&snap.lock);
		PQclear(r);
		publish_version(v);
		log_debug("snapshot at version %" PRId64, v);
		if (n < DELTA_BATCH)
			return true;
	}
}

static bool
on_connect(PGconn *conn, void *ctx)
{
	(void)ctx;
	auth_cache_purge();
	return full_load(conn);
}

static bool
on_notify(PGconn *conn, const char *channel, void *ctx)
{
	(void)ctx;
	if (strcmp(channel, "mockarty_tokens") == 0) {
		auth_cache_purge();
		return true;
	}
	return apply_deltas(conn);
}

static const listen_cb callbacks = {channels, on_connect, on_notify, NULL};

bool
snapshot_start(void)
{
	return listen_start(&callbacks);
}

void
snapshot_stop(void)
{
	listen_stop();
	pthread_rwlock_wrlock(&snap.lock);
	mc_index_free(snap.idx);
	json_decref(snap.id_ns);
	snap.idx = NULL;
	snap.id_ns = NULL;
	pthread_rwlock_unlock(&snap.lock);
}

bool
snapshot_catch_up(int timeout_ms)
{
	PGconn *conn = pgpool_get(timeout_ms);
	PGresult *r;
	int64_t head;
	struct timespec dl;
	bool ok = true;

	if (conn == NULL)
		return false;
	r = PQexec(conn, "SELECT mockarty.head_version()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		pgpool_put(conn, PQstatus(conn) != CONNECTION_OK);
		return false;
	}
	head = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	pgpool_put(conn, false);
	if (snapshot_version() >= head)
		return true;
	listen_poke();
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&snap.vmu);
	while (snap.version < head) {
		if (pthread_cond_timedwait(&snap.vcv, &snap.vmu, &dl) != 0) {
			ok = snap.version >= head;
			break;
		}
	}
	pthread_mutex_unlock(&snap.vmu);
	return ok;
}

/* Skips candidates whose expireAt has passed (the TTL sweeper may lag). */
static bool
skip_expired(void *ctx, const json_t *mock)
{
	json_int_t exp = json_integer_value(json_object_get(mock, "expireAt"));

	(void)ctx;
	return exp > 0 && exp <= (json_int_t)time(NULL);
}

bool
snapshot_match(const char *ns, const mc_request *req, json_t **mock, json_t **path_params)
{
	mc_match m = {0};
	bool hit = false;

	pthread_rwlock_rdlock(&snap.lock);
	if (snap.idx != NULL && mc_index_match(snap.idx, ns, req, skip_expired, NULL, &m) == MC_OK) {
		*mock = json_incref(m.mock);
		*path_params = m.path_params ? m.path_params : json_object();
		m.path_params = NULL;
		hit = true;
	}
	pthread_rwlock_unlock(&snap.lock);
	if (hit)
		mc_match_clear(&m);
	return hit;
}
