/*
 * resolver.h - the base layer of mock-resolver: configuration (rconfig.c),
 * clocks and the libmicrohttpd start-up both ports share (util.c). Every
 * folder may include it; it includes no folder. The folders, each with the
 * banner of its header:
 *   link/      the coordinator session: Sync stream and the snapshot it
 *              applies, Resolve pool, Report batches (link/link.h)
 *   serving/   mock traffic on HTTP_PORT, health, waiters (serving/serving.h)
 *   dashboard/ dashboard port, /api/status and /metrics documents, request
 *              statistics (dashboard/dashboard.h)
 * Calls go one way: main.c -> serving/ -> dashboard/ -> link/; link/ calls no
 * other folder (main.c passes it the waiter's kick and the stats tick).
 */
#ifndef MOCKARTY_RESOLVER_H
#define MOCKARTY_RESOLVER_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RESOLVER_RELEASE_ID "0.1.0"

/* ------------------------------------------------------------ rconfig.c */

typedef struct rs_config {
	char *coordinator_addr;  /* COORDINATOR_ADDR, required, host:port */
	char *api_token;         /* API_TOKEN, required, mki_... */
	char *resolver_name;     /* RESOLVER_NAME, default: hostname */
	int http_port;           /* HTTP_PORT, 5780 */
	char *ns;                /* NAMESPACE, sandbox */
	int log_level;           /* LOG_LEVEL, info */
	int dashboard_port;      /* DASHBOARD_PORT, 6780 (0 = no dashboard) */
	char *http_bind_addr;    /* HTTP_BIND_ADDR, 127.0.0.1 */
	int min_version_wait_ms; /* MIN_VERSION_WAIT_MS, 2000 */
	int threads;             /* THREADS, number of CPUs */
	int resolve_pool;        /* RESOLVE_POOL_SIZE, 4 */
	bool allow_private_ips;  /* ALLOW_PROXY_TO_PRIVATE_IPS, false */
	int proxy_max_concurrent; /* PROXY_MAX_CONCURRENT, 256 */
	int buffer_budget_mb;    /* REQUEST_BUFFER_BUDGET_MB, 256 (0 = unlimited) */
	size_t template_output_limit; /* TEMPLATE_OUTPUT_LIMIT_MB, 8, in bytes */
	size_t http_conn_memory; /* HTTP_CONNECTION_MEMORY_KB, 24, in bytes (rs_mhd_start) */
} rs_config;

extern rs_config rs_cfg;

/*
 * Fills cfg from the environment. Returns 0, or 2 with a message naming the
 * variable in err (a required variable missing or a value refused); cfg then
 * holds nothing that needs freeing. Strings are malloc'd; rs_config_free.
 */
int rs_config_load(rs_config *cfg, char *err, size_t errlen);
void rs_config_free(rs_config *cfg);
/* Prints the --help text (every variable with its default) to stdout. */
void rs_config_help(const char *argv0);

/* -------------------------------------------------------------- util.c */

int64_t rs_now_ms(void);  /* monotonic */
int64_t rs_wall_ms(void); /* unix ms */
/* Process start (set by http_start), for the uptime of /api/status and /health. */
extern time_t rs_started_at;
/*
 * Starts a libmicrohttpd daemon on bind:port (epoll, suspend/resume allowed,
 * threads > 1 = a pool of polling threads) with the three callbacks. NULL on
 * failure (logged).
 */
struct MHD_Daemon *rs_mhd_start(const char *bind, int port, int threads, MHD_AccessHandlerCallback handler,
                                MHD_RequestCompletedCallback completed,
                                void *(*urilog)(void *, const char *, struct MHD_Connection *));

#endif /* MOCKARTY_RESOLVER_H */
