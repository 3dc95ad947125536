/*
 * snapshot.c - keeps the admin node's store of compiled mocks (mockserve.h)
 * current with the database, so mock traffic is matched without a round trip.
 *
 * The database is the truth; the store is a cache kept current by the change
 * log: a full load from mockarty.snapshot() (consistent with head_version() in
 * one REPEATABLE READ transaction) on every LISTEN (re)connect, then ordered
 * deltas from mockarty.changes_since(version) on each NOTIFY mockarty_changes
 * (a gap in them means the change log was trimmed past this node: full reload).
 * A full load builds a new set off-lock, streaming rows one at a time so the
 * whole result never sits in memory, and swaps it in. Deltas come in large
 * pages (a bulk load of 100,000 mocks is a burst of 100,000 changes); each
 * page is parsed and classified off-lock and applied under one write lock.
 */
#include "serving/serving.h"

#include "listen.h"
#include "log.h"
#include "pgpool.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELTA_BATCH 1000

#define DELTA_PAGE 5000

ms_store *admin_store;

static const char *const channels[] = {"mockarty_changes", "mockarty_tokens", NULL};

/* Progress of the full load under way (make run and /health/ready show it). */
static atomic_bool load_running;
static atomic_llong load_done, load_total = -1;

bool
snapshot_loading(long long *done, long long *total)
{
	*done = atomic_load(&load_done);
	*total = atomic_load(&load_total);
	return atomic_load(&load_running);
}

int64_t
snapshot_version(void)
{
	return admin_store ? ms_store_version(admin_store) : 0;
}

bool
snapshot_ready(void)
{
	return admin_store && ms_store_loaded(admin_store) && listen_connected();
}

size_t
snapshot_count(void)
{
	return admin_store ? ms_store_count(admin_store) : 0;
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

/* Full load: builds a new set from snapshot_text() row by row and swaps it in. */
static bool
full_load(PGconn *conn)
{
	PGresult *r;
	ms_set *set;
	int64_t head;
	bool ok = true;
	char err[600];

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
	/* the total for the progress figure; a failure (no access to the table) only hides it */
	atomic_store(&load_done, 0);
	atomic_store(&load_total, -1);
	atomic_store(&load_running, true);
	exec_ok(conn, "SAVEPOINT load_count");
	r = PQexec(conn, "SELECT count(*) FROM mockarty_private.mocks WHERE closed_at IS NULL");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		atomic_store(&load_total, strtoll(PQgetvalue(r, 0, 0), NULL, 10));
	else
		exec_ok(conn, "ROLLBACK TO SAVEPOINT load_count");
	PQclear(r);
	set = ms_set_new();
	/* snapshot_text(): the document as text, built about ten times faster than snapshot() */
	if (set == NULL || !PQsendQuery(conn, "SELECT version, mock FROM mockarty.snapshot_text(NULL)") ||
	    !PQsetSingleRowMode(conn)) {
		log_warn("snapshot(): %s", set ? PQerrorMessage(conn) : "out of memory");
		atomic_store(&load_running, false);
		ms_set_free(set);
		while ((r = PQgetResult(conn)) != NULL)
			PQclear(r);
		exec_ok(conn, "ROLLBACK");
		return false;
	}
	while ((r = PQgetResult(conn)) != NULL) {
		ExecStatusType rs = PQresultStatus(r);

		if (rs == PGRES_SINGLE_TUPLE) {
			if (!ms_set_put(set, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1), NULL,
					strtoll(PQgetvalue(r, 0, 0), NULL, 10), err, sizeof(err)))
				log_warn("mock skipped by the snapshot: %s", err);
			atomic_fetch_add(&load_done, 1);
		} else if (rs != PGRES_TUPLES_OK) {
			log_warn("snapshot(): %s", PQerrorMessage(conn));
			ok = false;
		}
		PQclear(r);
	}
	exec_ok(conn, ok ? "COMMIT" : "ROLLBACK");
	atomic_store(&load_running, false);
	if (!ok) {
		ms_set_free(set);
		return false;
	}
	log_info("snapshot loaded: %zu mocks at version %" PRId64, ms_set_count(set), head);
	ms_store_install(admin_store, set, head);
	return true;
}

/*
 * Applies changes after the store's version until caught up: each page is
 * prepared off-lock, then applied under one write lock.
 */
static bool
apply_deltas(PGconn *conn)
{
	for (;;) {
		char after[32], page[16];
		const char *params[2] = {after, page};
		PGresult *r;
		int n;
		int64_t v = ms_store_version(admin_store);
		ms_prepared **prep;
		ms_set *set;
		char err[600];

		snprintf(after, sizeof(after), "%" PRId64, v);
		snprintf(page, sizeof(page), "%d", DELTA_PAGE);
		r = PQexecParams(conn,
				 "SELECT version, op, namespace, mock_id, mock FROM "
				 "mockarty.changes_since($1::bigint, $2::int)",
				 2, NULL, params, NULL, NULL, 0);
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
		if (v > 0 && strtoll(PQgetvalue(r, 0, 0), NULL, 10) > v + 1) {
			/* versions are gap-free: the rows after v were trimmed (change_log_trim)
			 * before this node read them. Failing makes the LISTEN connection start
			 * again, whose on_connect loads a full snapshot. */
			log_warn("change log continues at %s after version %" PRId64
				 " (trimmed): reloading the snapshot", PQgetvalue(r, 0, 0), v);
			PQclear(r);
			return false;
		}
		prep = calloc((size_t)n, sizeof(*prep));
		if (prep == NULL) {
			PQclear(r);
			return false;
		}
		for (int i = 0; i < n; i++) {
			const char *ns = PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2);

			if (strcmp(PQgetvalue(r, i, 1), "upsert") == 0 && !PQgetisnull(r, i, 4)) {
				prep[i] = ms_prepare(PQgetvalue(r, i, 4), (size_t)PQgetlength(r, i, 4), ns, err,
						     sizeof(err));
				if (prep[i] == NULL)
					log_warn("change %s skipped: %s", PQgetvalue(r, i, 0), err);
			}
		}
		set = ms_store_write_begin(admin_store);
		for (int i = 0; i < n; i++) {
			int64_t ver = strtoll(PQgetvalue(r, i, 0), NULL, 10);

			if (set == NULL) {
				ms_prepared_free(prep[i]);
			} else if (prep[i] != NULL) {
				if (!ms_set_put_prepared(set, prep[i], ver, err, sizeof(err)))
					log_warn("mock %s skipped by the snapshot: %s", PQgetvalue(r, i, 3), err);
			} else if (strcmp(PQgetvalue(r, i, 1), "upsert") != 0) {
				ms_set_remove(set, PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2),
					      PQgetvalue(r, i, 3));
			}
			if (ver > v)
				v = ver;
		}
		free(prep);
		if (set != NULL)
			ms_store_write_end(admin_store, v);
		PQclear(r);
		if (set == NULL)
			return false;
		log_debug("snapshot at version %" PRId64, v);
		if (n < DELTA_PAGE)
			return true;
	}
}

static bool
on_connect(PGconn *conn, void *ctx)
{
	(void)ctx;
	auth_cache_purge();
	/* its own application_name, so an operator (or a fault test) can tell it from the pool */
	exec_ok(conn, "SET application_name = 'mockarty-admin-listen'");
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
	if (admin_store == NULL && (admin_store = ms_store_new()) == NULL)
		return false;
	return listen_start(&callbacks);
}

void
snapshot_stop(void)
{
	listen_stop();
	/* the store itself stays: pool threads may still be answering */
}

int64_t
snapshot_head(int timeout_ms)
{
	PGconn *conn = pgpool_get(timeout_ms);
	PGresult *r;
	int64_t head;

	if (conn == NULL)
		return -1;
	r = PQexec(conn, "SELECT mockarty.head_version()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		pgpool_put(conn, PQstatus(conn) != CONNECTION_OK);
		return -1;
	}
	head = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	pgpool_put(conn, false);
	return head;
}

bool
snapshot_wait(int64_t version, int timeout_ms)
{
	if (snapshot_version() >= version)
		return true;
	listen_poke(); /* in case the doorbell was lost: catch up on demand */
	return ms_store_wait_version(admin_store, version, timeout_ms);
}
