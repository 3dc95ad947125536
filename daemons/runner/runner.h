/*
 * runner.h - the base layer of runner-agent: configuration (config.c), clocks
 * and the growing text buffer (util.c). Every folder may include it; it
 * includes no folder. The folders, each with the banner of its header:
 *   link/      the coordinator session (link/link.h)
 *   tasks/     task slots, leases, heartbeats, results delivery (tasks/tasks.h)
 *   exec/      the executors: api_test, performance (exec/exec.h)
 *   dashboard/ dashboard, /health, /metrics, process stats (dashboard/dashboard.h)
 * Calls go one way: main.c -> dashboard/ -> tasks/ -> exec/, link/; exec/ and
 * link/ call nothing of the other folders (main.c wires link/'s events to
 * tasks/ and the once-a-second tick of tasks/ to dashboard/ and link/).
 */
#ifndef MOCKARTY_RUNNER_H
#define MOCKARTY_RUNNER_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUNNER_RELEASE_ID "0.1.0"

/* ------------------------------------------------------------- config.c */

#define RN_CAP_API_TEST 1u
#define RN_CAP_PERFORMANCE 2u

typedef struct rn_config {
	char *coordinator_addr; /* COORDINATOR_ADDR, required, host:port */
	char *api_token;        /* API_TOKEN, required, mki_... */
	char *runner_name;      /* RUNNER_NAME, default: hostname */
	bool shared;            /* SHARED, false */
	char *ns;               /* NAMESPACE, sandbox (sent but ignored by the coordinator when shared) */
	int max_concurrent;     /* MAX_CONCURRENT, 5 */
	unsigned caps;          /* CAPABILITIES, api_test: RN_CAP_* bits */
	int dashboard_port;     /* DASHBOARD_PORT, 6770 */
	char *http_bind_addr;   /* HTTP_BIND_ADDR, 127.0.0.1 (as mock-resolver) */
	int log_level;          /* LOG_LEVEL, info */
} rn_config;

extern rn_config rn_cfg;

/*
 * Fills cfg from the environment. Returns 0, or 2 with a message naming the
 * variable in err; cfg then holds nothing that needs freeing. Strings are
 * malloc'd; release with rn_config_free.
 */
int rn_config_load(rn_config *cfg, char *err, size_t errlen);
void rn_config_free(rn_config *cfg);
/* Prints the --help text (every variable with its default) to stdout. */
void rn_config_help(const char *argv0);

/* --------------------------------------------------------------- util.c */

/* Appends printf output to a growing buffer (*buf malloc'd, NUL-terminated). */
void buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Clocks. */
int64_t rn_now_ms(void);  /* monotonic */
int64_t rn_wall_ms(void); /* unix ms */
/* ISO-8601 UTC text of a unix ms time into out. */
void rn_iso_time(int64_t wall_ms, char *out, size_t cap);

#endif /* MOCKARTY_RUNNER_H */
