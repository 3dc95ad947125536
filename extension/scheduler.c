/*
 * scheduler.c - the "mockarty scheduler" background workers: periodic jobs of the
 * extension (handing back expired runner leases, ringing the webhook doorbell, and
 * retention: undefined requests, expired mocks, old change-log rows).
 *
 * Two processes, because the database named by mockarty.database may not exist
 * yet when the server starts (the test harnesses and `make run` create it
 * afterwards) and the extension may not be installed in it:
 *
 *   launcher  (static, registered from _PG_init when the library is preloaded)
 *             connects to no database, only the shared catalogs, and looks the
 *             database up in pg_database. While it is missing the launcher just
 *             looks again later, quietly. When it exists the launcher starts one
 *             dynamic per-database worker and watches it; if that worker stops,
 *             the launcher starts another after a back-off (1 s doubling to 60 s
 *             while workers keep dying young), so a database that cannot be
 *             entered costs one log line per minute, never a crash loop.
 *   worker    (dynamic, never restarted by the postmaster) connects to that
 *             database and runs the jobs of sched_jobs[] every
 *             mockarty.scheduler_interval_ms. Each job runs in its own
 *             transaction and only when its SQL function exists AND belongs to
 *             the installed extension mockarty (pg_depend, deptype 'e'): the
 *             worker runs as the bootstrap superuser, and a role with CREATE on
 *             the database could otherwise plant a mockarty.task_reap() before
 *             CREATE EXTENSION and have it run with superuser rights. The
 *             extension may be absent or older, so a missing extension costs a
 *             catalog probe per tick and one LOG line when that state changes
 *             (the tests wait for it); a function of a job's name that is not
 *             the extension's is never called (one WARNING a minute). A failing job is caught
 *             (transaction aborted, one WARNING per minute at most) and the loop
 *             goes on: one bad tick never kills the worker.
 *
 * Network I/O never happens here (DESIGN.md): jobs only change rows; NOTIFY from
 * the SQL functions wakes the daemons. SIGHUP re-reads the settings (a changed
 * mockarty.database makes the launcher stop the worker and follow the new name);
 * SIGTERM ends both the standard way (die()). DROP DATABASE of the scheduled
 * database needs WITH (FORCE), which terminates the worker like any session.
 */
#include "postgres.h"

#include "mockarty_ext.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_database.h"
#include "catalog/pg_proc.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include <string.h>

PGDLLEXPORT void mockarty_scheduler_launcher_main(Datum arg);
PGDLLEXPORT void mockarty_scheduler_worker_main(Datum arg);

/*
 * One periodic job: runs `sql` when the function schema.name() (no arguments, or
 * only defaulted ones: the lookup is by name with no argument types) exists in the
 * scheduled database and is a member of the extension mockarty.
 */
typedef struct sched_job
{
	const char *label;			/* for log lines */
	const char *schema;
	const char *function;
	const char *sql;
	TimestampTz last_warning;	/* rate limit of failure warnings */
} sched_job;

static sched_job sched_jobs[] = {
	{"lease reaping", "mockarty", "task_reap", "SELECT mockarty.task_reap()", 0},
	/* rings NOTIFY mockarty_webhooks when a webhook delivery is due or its lease expired */
	{"webhook scheduling", "mockarty", "webhook_due_notify", "SELECT mockarty.webhook_due_notify()", 0},
	/* retention (0.2.0): each call does a bounded amount of work */
	{"undefined request retention", "mockarty", "undefined_purge", "SELECT mockarty.undefined_purge()", 0},
	{"expired mock purge", "mockarty", "mock_purge_expired", "SELECT mockarty.mock_purge_expired()", 0},
	{"change log trim", "mockarty", "change_log_trim", "SELECT mockarty.change_log_trim()", 0},
};

#define WARNING_EVERY_MS	60000
#define BACKOFF_MIN_MS		1000
#define BACKOFF_MAX_MS		60000
#define HEALTHY_RUN_MS		10000	/* a worker that lived this long resets the back-off */
#define DB_CHECK_MIN_MS		1000	/* the launcher looks for the database at most this often */

/*
 * Registers the launcher with the postmaster. Called from _PG_init only while
 * shared_preload_libraries is processed (static workers cannot be added later).
 */
void
mockarty_scheduler_register(void)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	/* only an unexpected exit restarts it (a clean SIGTERM at shutdown does not) */
	bgw.bgw_restart_time = 10;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "mockarty");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "mockarty_scheduler_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "mockarty scheduler launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "mockarty scheduler launcher");
	bgw.bgw_main_arg = (Datum) 0;
	bgw.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&bgw);
}

/* Standard signal set-up of both processes: SIGHUP flags a reload, SIGTERM dies. */
static void
sched_signals(void)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
}

/* Sleeps until the latch is set or ms pass; handles interrupts and reloads. */
static void
sched_wait(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * The oid of the database named by mockarty.database, InvalidOid when it does not
 * exist (or the name is empty) or does not allow connections. A heap scan of
 * pg_database (a shared catalog) in a short transaction, as the autovacuum
 * launcher does: without a database connection only the shared catalogs
 * themselves can be read, not the indexes get_database_oid() would use.
 */
static Oid
sched_lookup_database(void)
{
	Oid			dboid = InvalidOid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	if (mockarty_database == NULL || mockarty_database[0] == '\0')
		return InvalidOid;
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(db->datname), mockarty_database) == 0 && db->datallowconn)
		{
			dboid = db->oid;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dboid;
}

/*
 * Starts the per-database worker for dboid. Returns its handle (palloc'd in
 * TopMemoryContext) or NULL when no background-worker slot is free.
 */
static BackgroundWorkerHandle *
sched_start_worker(Oid dboid)
{
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle = NULL;
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	bool		ok;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher decides */
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "mockarty");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "mockarty_scheduler_worker_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "mockarty scheduler (%s)", mockarty_database);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "mockarty scheduler");
	bgw.bgw_main_arg = ObjectIdGetDatum(dboid);
	bgw.bgw_notify_pid = MyProcPid;		/* its start and exit set our latch */
	ok = RegisterDynamicBackgroundWorker(&bgw, &handle);
	MemoryContextSwitchTo(old);
	return ok ? handle : NULL;
}

/*
 * Launcher main loop (see the banner). State: the running worker's handle, the
 * database it serves and the name it was started for, and the back-off before
 * the next start.
 */
void
mockarty_scheduler_launcher_main(Datum arg)
{
	BackgroundWorkerHandle *handle = NULL;
	char		started_for[NAMEDATALEN] = "";
	TimestampTz started_at = 0;
	TimestampTz next_start = 0;
	long		backoff = BACKOFF_MIN_MS;
	bool		reported_missing = false;

	sched_signals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("mockarty scheduler launcher");

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		pid_t		pid;

		if (handle != NULL)
		{
			BgwHandleStatus st = GetBackgroundWorkerPid(handle, &pid);

			if (st == BGWH_STOPPED || st == BGWH_POSTMASTER_DIED)
			{
				/* a worker that died young makes the next start wait longer */
				if (TimestampDifferenceExceeds(started_at, now, HEALTHY_RUN_MS))
					backoff = BACKOFF_MIN_MS;
				else
					backoff = Min(backoff * 2, BACKOFF_MAX_MS);
				next_start = TimestampTzPlusMilliseconds(now, backoff);
				pfree(handle);
				handle = NULL;
			}
			else if (strcmp(started_for, mockarty_database) != 0)
			{
				/* mockarty.database changed on SIGHUP: follow the new name */
				TerminateBackgroundWorker(handle);
				(void) WaitForBackgroundWorkerShutdown(handle);
				pfree(handle);
				handle = NULL;
				backoff = BACKOFF_MIN_MS;
				next_start = 0;
			}
		}

		if (handle == NULL && now >= next_start)
		{
			Oid			dboid = sched_lookup_database();

			if (!OidIsValid(dboid))
			{
				if (!reported_missing)
					ereport(DEBUG1,
							(errmsg("mockarty scheduler: database \"%s\" does not exist yet", mockarty_database)));
				reported_missing = true;
			}
			else
			{
				reported_missing = false;
				handle = sched_start_worker(dboid);
				if (handle == NULL)
				{
					/* out of worker slots: try again later, say so once a minute */
					backoff = BACKOFF_MAX_MS;
					next_start = TimestampTzPlusMilliseconds(now, backoff);
					ereport(LOG,
							(errmsg("mockarty scheduler: no free background worker slot"),
							 errhint("Raise max_worker_processes.")));
				}
				else
				{
					strlcpy(started_for, mockarty_database, sizeof(started_for));
					started_at = now;
				}
			}
		}
		sched_wait(Max(mockarty_scheduler_interval_ms, DB_CHECK_MIN_MS));
	}
}

/* What sched_run_job() found. */
typedef enum sched_outcome
{
	JOB_RAN,					/* the extension's function ran (or failed: logged) */
	JOB_NO_EXTENSION,			/* mockarty is not installed in this database */
	JOB_NO_FUNCTION,			/* installed, but an older version without this job */
	JOB_FOREIGN					/* a function of that name exists but is not the extension's */
} sched_outcome;

/* Logs a job's warning unless one was logged less than a minute ago. */
static void
sched_warn(sched_job *job, const char *msg, const char *detail)
{
	TimestampTz now = GetCurrentTimestamp();

	if (job->last_warning != 0 && !TimestampDifferenceExceeds(job->last_warning, now, WARNING_EVERY_MS))
		return;
	ereport(WARNING,
			(errmsg("mockarty scheduler: %s: %s", job->label, msg),
			 errdetail("%s Further warnings of this job are not logged for a minute.", detail)));
	job->last_warning = now;
}

/*
 * Runs one job in its own transaction when its function exists and is a member of
 * the extension mockarty (pg_depend deptype 'e', as recorded by CREATE EXTENSION
 * or ALTER EXTENSION UPDATE). The function is looked up by name alone (nargs -1):
 * two functions of that name are an ambiguity error, caught like any failure, so
 * the call in job->sql can only resolve to the function that was checked. Errors
 * are caught: the transaction is aborted and a WARNING logged (at most one a
 * minute per job), so the caller's loop goes on. Allocations live in the
 * transaction.
 */
static sched_outcome
sched_run_job(sched_job *job)
{
	MemoryContext loop_cxt = CurrentMemoryContext;
	volatile sched_outcome outcome = JOB_RAN;

	PG_TRY();
	{
		List	   *name;
		Oid			ext;
		Oid			fn = InvalidOid;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		ext = get_extension_oid("mockarty", true);
		if (!OidIsValid(ext))
			outcome = JOB_NO_EXTENSION;
		else
		{
			name = list_make2(makeString(pstrdup(job->schema)), makeString(pstrdup(job->function)));
			fn = LookupFuncName(name, -1, NULL, true);
			if (!OidIsValid(fn))
				outcome = JOB_NO_FUNCTION;
			else if (getExtensionOfObject(ProcedureRelationId, fn) != ext)
				outcome = JOB_FOREIGN;
		}
		if (outcome == JOB_RAN)
		{
			int			rc;

			pgstat_report_activity(STATE_RUNNING, job->sql);
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			rc = SPI_execute(job->sql, false, 0);
			if (rc != SPI_OK_SELECT)
				elog(ERROR, "%s returned SPI code %d", job->sql, rc);
			SPI_finish();
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_stat(false);
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(loop_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		pgstat_report_activity(STATE_IDLE, NULL);
		sched_warn(job, edata->message, "The job failed; the next tick tries again.");
		FreeErrorData(edata);
		outcome = JOB_RAN;
	}
	PG_END_TRY();
	if (outcome == JOB_FOREIGN)
	{
		char		msg[200];

		snprintf(msg, sizeof(msg), "function %s.%s() does not belong to extension mockarty; not called",
				 job->schema, job->function);
		sched_warn(job, msg, "Only functions created by CREATE EXTENSION mockarty are run by the scheduler.");
	}
	return outcome;
}

/*
 * Per-database worker main loop: connects to the database the launcher found
 * (its oid is the argument) and runs every job each mockarty.scheduler_interval_ms.
 */
void
mockarty_scheduler_worker_main(Datum arg)
{
	MemoryContext tick_cxt;
	int			ext_state = -1;	/* -1 unknown, 0 not installed, 1 installed */

	sched_signals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
	pgstat_report_appname("mockarty scheduler");
	tick_cxt = AllocSetContextCreate(TopMemoryContext, "mockarty scheduler tick", ALLOCSET_SMALL_SIZES);

	for (;;)
	{
		MemoryContext old = MemoryContextSwitchTo(tick_cxt);
		size_t		i;
		int			state = 1;

		for (i = 0; i < lengthof(sched_jobs); i++)
			if (sched_run_job(&sched_jobs[i]) == JOB_NO_EXTENSION)
				state = 0;
		/* one line whenever the extension appears or goes (and at the first tick) */
		if (state != ext_state)
		{
			if (state == 0)
				ereport(LOG,
						(errmsg("mockarty scheduler: extension mockarty is not installed in database \"%s\"; no job runs",
								mockarty_database)));
			else
				ereport(LOG,
						(errmsg("mockarty scheduler: extension mockarty found in database \"%s\"; its jobs run every %d ms",
								mockarty_database, mockarty_scheduler_interval_ms)));
			ext_state = state;
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(tick_cxt);
		sched_wait(mockarty_scheduler_interval_ms);
	}
}
