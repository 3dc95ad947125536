/*
 * module.c - entry point of mockarty.so: the module magic block, the GUCs and the
 * registration of the scheduler background worker.
 *
 * The module holds no shared memory of its own. Loaded through
 * shared_preload_libraries it also registers the "mockarty scheduler launcher"
 * (scheduler.c), which runs periodic jobs such as reaping expired runner leases;
 * static workers can only be registered while the postmaster loads preloaded
 * libraries, so a lazily loaded module (first C function call) only defines the
 * settings, which is why the SQL side reads mockarty.log_limit with a default.
 */
#include "postgres.h"

#include "mockarty_ext.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include <limits.h>


PG_MODULE_MAGIC;

int mockarty_log_limit = 3;
int mockarty_replay_max = 10000;
char *mockarty_database = NULL;
int mockarty_scheduler_interval_ms = 1000;
int mockarty_template_output_limit = 8192;
/* the caller context (sql/install/02_helpers.sql, "The caller rule"): read by SQL, never by C */
static char *mockarty_caller_namespace = NULL;
static char *mockarty_caller_role = NULL;

void _PG_init(void);

/*
 * Defines the mockarty.* settings and reserves the prefix, so a typo such as
 * mockarty.log_limt is rejected instead of silently creating a placeholder.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("mockarty.log_limit",
							"Number of request logs kept per mock.",
							"Older logs are deleted when a new one is written.",
							&mockarty_log_limit, 3, 0, 100000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("mockarty.replay_max",
							"Largest change-log gap a backend replays into its cached mock index.",
							"A backend further behind rebuilds the index from mockarty.snapshot().",
							&mockarty_replay_max, 10000, 1, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("mockarty.database",
							   "Database whose mockarty extension the scheduler background worker serves.",
							   "The worker waits quietly while the database or the extension is missing.",
							   &mockarty_database, "mockarty",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("mockarty.scheduler_interval_ms",
							"Milliseconds between two ticks of the scheduler background worker.",
							"Each tick reaps expired runner leases (mockarty.task_reap()).",
							&mockarty_scheduler_interval_ms, 1000, 50, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("mockarty.template_output_limit",
							"Most output the templates of one mock response may render.",
							"Counts rendered strings, object keys and scalars of the payload, headers, extras and extract. "
							"A resolution over it fails with SQLSTATE MK001; a mock whose static parts exceed it is refused at save.",
							&mockarty_template_output_limit, 8192, 64, 1048576,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomStringVariable("mockarty.caller_namespace",
							   "Namespace the calling application acts for; empty = unrestricted.",
							   "Set per transaction (set_config(..., true)) by the admin node for a namespace-bound token: "
							   "mockarty.* functions then refuse or hide every other namespace.",
							   &mockarty_caller_namespace, "",
							   PGC_USERSET, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
	DefineCustomStringVariable("mockarty.caller_role",
							   "Role the calling application acts with (admin, editor, viewer); empty = unrestricted.",
							   "Set per transaction by the admin node: viewers cannot write, "
							   "only admins manage API tokens, integrations and webhooks.",
							   &mockarty_caller_role, "",
							   PGC_USERSET, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
	MarkGUCPrefixReserved("mockarty");

	if (process_shared_preload_libraries_in_progress)
		mockarty_scheduler_register();
}
