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

/* See config.h. */
const char *
config_env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : def;
}

/* See config.h. */
bool
config_parse_int(const char *s, long lo, long hi, long *out)
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
config_int_var(const char *name, const char *def, long lo, long hi, int *out, char *err, size_t errlen)
{
	const char *s = config_env_or(name, def);
	long v;

	if (!config_parse_int(s, lo, hi, &v)) {
		snprintf(err, errlen, "%s: expected an integer in [%ld, %ld], got \"%s\"", name, lo, hi, s);
		return false;
	}
	*out = (int)v;
	return true;
}

/* True for "host:port" / "[v6]:port" with a numeric port in range. */
static bool
valid_addr(const char *s)
{
	const char *colon = strrchr(s, ':');
	long port;

	if (colon == NULL || colon == s)
		return false;
	return config_parse_int(colon + 1, 1, 65535, &port);
}

/* See config.h. */
bool
config_node_identity(const char *type, char **addr, char **token, char *err, size_t errlen)
{
	const char *s = config_env_or("COORDINATOR_ADDR", NULL);

	*addr = *token = NULL;
	if (s == NULL) {
		snprintf(err, errlen,
		         "COORDINATOR_ADDR is required: the admin node's gRPC coordinator, e.g. "
		         "COORDINATOR_ADDR=admin-host:5773");
		return false;
	}
	if (!valid_addr(s)) {
		snprintf(err, errlen, "COORDINATOR_ADDR: expected host:port, got \"%s\"", s);
		return false;
	}
	s = config_env_or("API_TOKEN", NULL);
	if (s == NULL) {
		snprintf(err, errlen, "API_TOKEN is required: an integration token of type %s (mki_...)", type);
		return false;
	}
	if (strncmp(s, "mki_", 4) != 0) {
		snprintf(err, errlen,
		         "API_TOKEN: expected an integration token (mki_...), not a user token; create one "
		         "of type %s with POST /ui/api/integrations {\"type\":\"%s\"}",
		         type, type);
		return false;
	}
	*addr = strdup(config_env_or("COORDINATOR_ADDR", NULL));
	*token = strdup(s);
	if (*addr == NULL || *token == NULL) {
		free(*addr);
		free(*token);
		*addr = *token = NULL;
		snprintf(err, errlen, "out of memory");
		return false;
	}
	return true;
}

/* See config.h. */
void
config_print_help(const char *argv0, const char *intro, const config_var *vars, size_t n, const char *example)
{
	int w = 8;

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(vars[i].name) > w)
			w = (int)strlen(vars[i].name);
	printf("Usage: %s [--help]\n\n%s\n\n", argv0, intro);
	printf("  %-*s %-9s %-11s %s\n", w, "VARIABLE", "REQUIRED", "DEFAULT", "DESCRIPTION");
	for (size_t i = 0; i < n; i++)
		printf("  %-*s %-9s %-11s %s\n", w, vars[i].name, vars[i].def ? "no" : "yes",
		       vars[i].def ? vars[i].def : "-", vars[i].desc);
	printf("\nExample:\n  %s %s\n", example, argv0);
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

/* See config.h. Shared by the admin node and the resolver, which render templates alike. */
bool
config_template_output_limit(size_t *bytes, char *err, size_t errlen)
{
	const char *s = config_env_or("TEMPLATE_OUTPUT_LIMIT_MB", "8");
	long v;

	if (!config_parse_int(s, 1, 1024, &v)) {
		snprintf(err, errlen, "TEMPLATE_OUTPUT_LIMIT_MB: expected a size in MB, 1..1024, got \"%s\"", s);
		return false;
	}
	*bytes = (size_t)v << 20;
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
	s = config_env_or("HTTP_PORT", "5770");
	if (!config_parse_int(s, 1, 65535, &v)) {
		snprintf(err, errlen, "HTTP_PORT: not a port number: \"%s\"", s);
		return false;
	}
	cfg->http_port = (int)v;

	s = config_env_or("HTTP_REQUEST_BODY_SIZE_LIMIT_MB", "5");
	if (!config_parse_int(s, 1, 4096, &v)) {
		snprintf(err, errlen, "HTTP_REQUEST_BODY_SIZE_LIMIT_MB: not a size in MB: \"%s\"", s);
		return false;
	}
	cfg->body_limit = (size_t)v * 1024 * 1024;

	if (!config_template_output_limit(&cfg->template_output_limit, err, errlen))
		return false;

	s = config_env_or("AUTH_MODE", "full");
	if (strcasecmp(s, "full") == 0)
		cfg->auth_local = false;
	else if (strcasecmp(s, "local") == 0)
		cfg->auth_local = true;
	else {
		snprintf(err, errlen, "AUTH_MODE: expected full or local, got \"%s\"", s);
		return false;
	}

	s = config_env_or("ALLOW_PROXY_TO_PRIVATE_IPS", "false");
	if (!config_parse_bool(s, &cfg->allow_private_ips)) {
		snprintf(err, errlen, "ALLOW_PROXY_TO_PRIVATE_IPS: expected true or false, got \"%s\"", s);
		return false;
	}

	s = config_env_or("LOG_LEVEL", "info");
	cfg->log_level = log_level_parse(s);
	if (cfg->log_level < 0) {
		snprintf(err, errlen, "LOG_LEVEL: expected error, warn, info or debug, got \"%s\"", s);
		return false;
	}

	s = config_env_or("THREADS", NULL);
	if (s == NULL)
		v = ncpu > 0 ? ncpu : 1;
	else if (!config_parse_int(s, 1, 256, &v)) {
		snprintf(err, errlen, "THREADS: expected 1..256, got \"%s\"", s);
		return false;
	}
	cfg->threads = (int)v;

	s = config_env_or("DB_POOL_SIZE", NULL);
	if (s == NULL)
		v = 2L * cfg->threads + 2;
	else if (!config_parse_int(s, 1, 1000, &v)) {
		snprintf(err, errlen, "DB_POOL_SIZE: expected 1..1000, got \"%s\"", s);
		return false;
	}
	cfg->db_pool_size = (int)v;

	if (!config_int_var("WRITE_VISIBILITY_TIMEOUT_MS", "5000", 1, 600000, &cfg->write_visibility_ms,
			    err, errlen))
		return false;
	if (!config_int_var("PROXY_MAX_CONCURRENT", "256", 1, 100000, &cfg->proxy_max_concurrent, err,
			    errlen))
		return false;
	if (!config_int_var("SESSION_TTL_SECONDS", "43200", 1, 31536000, &cfg->session_ttl_s, err, errlen) ||
	    !config_int_var("LOGIN_THROTTLE_MAX_FAILURES", "5", 1, 1000000, &cfg->login_throttle_max, err,
			    errlen) ||
	    !config_int_var("LOGIN_THROTTLE_WINDOW_SECONDS", "300", 1, 86400, &cfg->login_throttle_window_s,
			    err, errlen))
		return false;
	s = config_env_or("REQUEST_BUFFER_BUDGET_MB", "256");
	if (!config_parse_int(s, 0, 1048576, &v)) {
		snprintf(err, errlen,
			 "REQUEST_BUFFER_BUDGET_MB: expected a size in MB in [0, 1048576] (0 = unlimited), got \"%s\"",
			 s);
		return false;
	}
	cfg->buffer_budget = (size_t)v << 20;

	s = config_env_or("DB_DSN", NULL);
	if (s == NULL) {
		snprintf(err, errlen,
			 "DB_DSN is not set (a libpq connection string, e.g. \"host=/path/run dbname=mockarty user=postgres\")");
		return false;
	}
	cfg->db_dsn = strdup(s);
	cfg->http_bind_addr = strdup(config_env_or("HTTP_BIND_ADDR", "127.0.0.1"));
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
