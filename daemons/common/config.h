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

#endif /* MOCKARTY_CONFIG_H */
