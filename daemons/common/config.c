/*
 * config.c - the environment table of the admin node.
 *
 * The guide configures every node with environment variables only, so that is
 * the whole configuration surface: one table of names, defaults and parsers. A
 * bad value is an error (not silently replaced by the default), so that a SIGHUP
 * reload with a typo keeps the old, working configuration.
 */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *
env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : def;
}

/* Parses a decimal integer within [lo, hi]; false on junk or out of range. */
static bool
parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* See config.h. */
bool
config_parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcasecmp(s, "yes") == 0 ||
	    strcasecmp(s, "on") == 0)
		*out = true;
	else if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcasecmp(s, "no") == 0 ||
		 strcasecmp(s, "off") == 0)
		*out = false;
	else
		return false;
	return true;
}

/*
 * Reads every variable of the table. On failure err names the variable and the
 * value that was refused.
 */
bool
config_load(mk_config *cfg, char *err, size_t errlen)
{
	long v;
	const char *s;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	s = env_or("HTTP_PORT", "5770");
	if (!parse_int(s, 1, 65535, &v)) {
		snprintf(err, errlen, "HTTP_PORT: not a port number: \"%s\"", s);
		return false;
	}
	cfg->http_port = (int)v;

	s = env_or("HTTP_REQUEST_BODY_SIZE_LIMIT_MB", "5");
	if (!parse_int(s, 1, 4096, &v)) {
		snprintf(err, errlen, "HTTP_REQUEST_BODY_SIZE_LIMIT_MB: not a size in MB: \"%s\"", s);
		return false;
	}
	cfg->body_limit = (size_t)v * 1024 * 1024;

	s = env_or("AUTH_MODE", "full");
	if (strcasecmp(s, "full") == 0)
		cfg->auth_local = false;
	else if (strcasecmp(s, "local") == 0)
		cfg->auth_local = true;
	else {
		snprintf(err, errlen, "AUTH_MODE: expected full or local, got \"%s\"", s);
		return false;
	}

	s = env_or("ALLOW_PROXY_TO_PRIVATE_IPS", "false");
	if (!config_parse_bool(s, &cfg->allow_private_ips)) {
		snprintf(err, errlen, "ALLOW_PROXY_TO_PRIVATE_IPS: expected true or false, got \"%s\"", s);
		return false;
	}

	s = env_or("LOG_LEVEL", "info");
	cfg->log_level = log_level_parse(s);
	if (cfg->log_level < 0) {
		snprintf(err, errlen, "LOG_LEVEL: expected error, warn, info or debug, got \"%s\"", s);
		return false;
	}

	s = env_or("THREADS", NULL);
	if (s == NULL)
		v = ncpu > 0 ? ncpu : 1;
	else if (!parse_int(s, 1, 256, &v)) {
		snprintf(err, errlen, "THREADS: expected 1..256, got \"%s\"", s);
		return false;
	}
	cfg->threads = (int)v;

	s = env_or("DB_POOL_SIZE", NULL);
	if (s == NULL)
		v = 2L * cfg->threads + 2;
	else if (!parse_int(s, 1, 1000, &v)) {
		snprintf(err, errlen, "DB_POOL_SIZE: expected 1..1000, got \"%s\"", s);
		return false;
	}
	cfg->db_pool_size = (int)v;

	s = env_or("DB_DSN", NULL);
	if (s == NULL) {
		snprintf(err, errlen,
			 "DB_DSN is not set (a libpq connection string, e.g. \"host=/path/run dbname=mockarty user=postgres\")");
		return false;
	}
	cfg->db_dsn = strdup(s);
	cfg->http_bind_addr = strdup(env_or("HTTP_BIND_ADDR", "127.0.0.1"));
	if (cfg->db_dsn == NULL || cfg->http_bind_addr == NULL) {
		config_free(cfg);
		snprintf(err, errlen, "out of memory");
		return false;
	}
	return true;
}

void
config_free(mk_config *cfg)
{
	free(cfg->db_dsn);
	free(cfg->http_bind_addr);
	cfg->db_dsn = cfg->http_bind_addr = NULL;
}
