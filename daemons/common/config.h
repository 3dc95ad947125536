/*
 * config.h - the daemon's settings, read from the environment.
 */
#ifndef MOCKARTY_CONFIG_H
#define MOCKARTY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mk_config {
	int http_port;          /* HTTP_PORT, default 5770 */
	char *http_bind_addr;   /* HTTP_BIND_ADDR, default 127.0.0.1 */
	char *db_dsn;           /* DB_DSN, required */
	bool auth_local;        /* AUTH_MODE=local */
	size_t body_limit;      /* HTTP_REQUEST_BODY_SIZE_LIMIT_MB (5) in bytes */
	bool allow_private_ips; /* ALLOW_PROXY_TO_PRIVATE_IPS */
	int log_level;          /* LOG_LEVEL, default info */
	int threads;            /* THREADS, default number of CPUs */
	int db_pool_size;       /* DB_POOL_SIZE, default 2 * threads + 2 */
	int write_visibility_ms; /* WRITE_VISIBILITY_TIMEOUT_MS, default 5000: longest wait of a
				    REST write for this node's index to reach its version */
	int proxy_max_concurrent; /* PROXY_MAX_CONCURRENT, default 256 */
	size_t buffer_budget;   /* REQUEST_BUFFER_BUDGET_MB (256) in bytes; 0 = unlimited */
	size_t template_output_limit; /* TEMPLATE_OUTPUT_LIMIT_MB (8) in bytes */
	int session_ttl_s;       /* SESSION_TTL_SECONDS, default 43200: sign-in session lifetime (sliding) */
	int login_throttle_max;  /* LOGIN_THROTTLE_MAX_FAILURES, default 5 */
	int login_throttle_window_s; /* LOGIN_THROTTLE_WINDOW_SECONDS, default 300 */
} mk_config;

/*
 * Fills cfg from the environment. Returns true, or false with a message in err
 * (cfg then holds nothing that needs freeing). Strings in cfg are malloc'd;
 * release with config_free.
 */
bool config_load(mk_config *cfg, char *err, size_t errlen);
void config_free(mk_config *cfg);

/*
 * The boolean grammar of every daemon's environment: true/1/yes/on and
 * false/0/no/off, case-insensitive. Returns false (out untouched) otherwise.
 */
bool config_parse_bool(const char *s, bool *out);

/* ---- helpers for every daemon's environment table (admin, resolver, runner) ---- */

/* One row of a daemon's variable table: drives --help; def NULL = required. */
typedef struct config_var {
	const char *name, *def, *desc;
} config_var;

/* getenv(name), or def when it is unset or empty. */
const char *config_env_or(const char *name, const char *def);

/*
 * Reads TEMPLATE_OUTPUT_LIMIT_MB (default 8, 1 .. 1024): the most one response's
 * templates may render, in bytes into *bytes. On a refused value returns false
 * with err naming the variable, the range and the value.
 */
bool config_template_output_limit(size_t *bytes, char *err, size_t errlen);

/* Parses a decimal integer within [lo, hi]; false on junk or out of range. */
bool config_parse_int(const char *s, long lo, long hi, long *out);

/* Reads the integer variable name (def when unset) within [lo, hi] into *out; on a refused
 * value returns false with err naming the variable, the range and the value. */
bool config_int_var(const char *name, const char *def, long lo, long hi, int *out, char *err,
		    size_t errlen);

/*
 * Reads a node's COORDINATOR_ADDR (host:port) and API_TOKEN (an mki_ integration token; type
 * names the token type the node needs, for the messages). Both are required. On success *addr
 * and *token are malloc'd copies; otherwise false with err naming the variable.
 */
bool config_node_identity(const char *type, char **addr, char **token, char *err, size_t errlen);

/* Prints a daemon's --help: intro, the variable table (columns sized to the longest name) and
 * an example line ending with argv0. */
void config_print_help(const char *argv0, const char *intro, const config_var *vars, size_t n,
		       const char *example);

#endif /* MOCKARTY_CONFIG_H */
