/*
 * module.c - entry point of mockarty.so: the module magic block and the GUCs.
 *
 * The module holds no shared memory and starts no background worker; it only
 * defines settings. It may be loaded through shared_preload_libraries (so the
 * GUCs exist before any function runs) or lazily by the first C function call,
 * which is why the SQL side reads mockarty.log_limit with a default.
 */
#include "postgres.h"

#include "mockarty_ext.h"

#include "fmgr.h"
#include "utils/guc.h"

#include <limits.h>


PG_MODULE_MAGIC;

int mockarty_log_limit = 3;
int mockarty_replay_max = 10000;

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
	MarkGUCPrefixReserved("mockarty");
}
