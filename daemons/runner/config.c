/*
 * config.c - the environment table of runner-agent.
 *
 * The integrations guide configures a runner with environment variables only
 * (COORDINATOR_ADDR, API_TOKEN, RUNNER_NAME, SHARED, NAMESPACE, MAX_CONCURRENT,
 * CAPABILITIES, DASHBOARD_PORT, LOG_LEVEL) with the defaults it documents; the
 * one addition is HTTP_BIND_ADDR, which every daemon of this project shares so
 * that nothing listens beyond loopback unless asked to. One table drives both
 * parsing and --help so they cannot disagree. A missing required variable or a
 * refused value is a start-up error naming the variable (exit code 2), never a
 * silent fallback to the default: a runner that quietly took the wrong
 * namespace or capability would run (or miss) other teams' work.
 */
#include "runner.h"

#include "config.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

rn_config rn_cfg;

/* name, default (NULL = required), description; order is the --help order */
static const struct {
	const char *name, *def, *desc;
} vars[] = {
    {"COORDINATOR_ADDR", NULL,
     "address of the admin node's gRPC coordinator, host:port (e.g. admin-host:5773)"},
    {"API_TOKEN", NULL, "integration token of type test_runner (mki_...)"},
    {"RUNNER_NAME", "hostname", "human-readable name of this runner, shown on the admin node"},
    {"SHARED", "false", "true: take tasks of every namespace (true/false/1/0/yes/no)"},
    {"NAMESPACE", "sandbox", "namespace this runner serves (ignored when SHARED=true)"},
    {"MAX_CONCURRENT", "5", "tasks executed at once (1..1000)"},
    {"CAPABILITIES", "api_test", "comma-separated task kinds: api_test, performance"},
    {"DASHBOARD_PORT", "6770", "port of the dashboard, /api/status, /health/* and /metrics"},
    {"LOG_LEVEL", "info", "debug, info, warn or error"},
    {"OTEL_EXPORTER_TYPE", "none", "tracing exporter: otlp, jaeger, zipkin or none (docs/telemetry.md)"},
    {"OTEL_EXPORTER_ENDPOINT", "by type", "collector URL (OTLP/HTTP :4318, Zipkin :9411)"},
    {"OTEL_SAMPLING_RATE", "1.0", "fraction of new traces recorded, 0.0 .. 1.0"},
    {"OTEL_SERVICE_NAME", "mockarty", "service.name of this runner's spans"},
    {"HTTP_BIND_ADDR", "127.0.0.1", "address the dashboard port binds to (0.0.0.0 for every interface)"},
};

void
rn_config_help(const char *argv0)
{
	printf("Usage: %s [--help]\n\n"
	       "runner-agent executes API test collections and performance tests that the admin node's\n"
	       "gRPC coordinator dispatches. It is configured by environment variables only:\n\n",
	       argv0);
	printf("  %-18s %-9s %-10s %s\n", "VARIABLE", "REQUIRED", "DEFAULT", "DESCRIPTION");
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		printf("  %-18s %-9s %-10s %s\n", vars[i].name, vars[i].def ? "no" : "yes",
		       vars[i].def ? vars[i].def : "-", vars[i].desc);
	printf("\nExample:\n  COORDINATOR_ADDR=admin-host:5773 API_TOKEN=mki_... RUNNER_NAME=runner-1 "
	       "CAPABILITIES=api_test,performance %s\n",
	       argv0);
}

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

/* Reads an integer variable; on a refused value fills err and returns false. */
static bool
int_var(const char *name, const char *def, long lo, long hi, int *out, char *err, size_t errlen)
{
	const char *s = env_or(name, def);
	long v;

	if (!parse_int(s, lo, hi, &v)) {
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
	return parse_int(colon + 1, 1, 65535, &port);
}

/*
 * Parses CAPABILITIES: a comma list of api_test / performance, spaces around
 * items allowed, empty items ignored. Returns false with err naming the first
 * unknown item (or an empty list).
 */
static bool
parse_caps(const char *s, unsigned *caps, char *err, size_t errlen)
{
	const char *p = s;

	*caps = 0;
	while (*p != '\0') {
		const char *start, *end;
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		n = (size_t)(end - start);
		if (n == 8 && strncmp(start, "api_test", 8) == 0)
			*caps |= RN_CAP_API_TEST;
		else if (n == 11 && strncmp(start, "performance", 11) == 0)
			*caps |= RN_CAP_PERFORMANCE;
		else {
			snprintf(err, errlen,
			         "CAPABILITIES: unknown capability \"%.*s\" (known: api_test, performance)",
			         (int)(n > 64 ? 64 : n), start);
			return false;
		}
	}
	if (*caps == 0) {
		snprintf(err, errlen, "CAPABILITIES: no capability given (known: api_test, performance)");
		return false;
	}
	return true;
}

int
rn_config_load(rn_config *cfg, char *err, size_t errlen)
{
	const char *s;
	char host[256];

	memset(cfg, 0, sizeof(*cfg));
	s = env_or("COORDINATOR_ADDR", NULL);
	if (s == NULL) {
		snprintf(err, errlen,
		         "COORDINATOR_ADDR is required: the admin node's gRPC coordinator, e.g. "
		         "COORDINATOR_ADDR=admin-host:5773");
		goto fail;
	}
	if (!valid_addr(s)) {
		snprintf(err, errlen, "COORDINATOR_ADDR: expected host:port, got \"%s\"", s);
		goto fail;
	}
	cfg->coordinator_addr = strdup(s);
	s = env_or("API_TOKEN", NULL);
	if (s == NULL) {
		snprintf(err, errlen,
		         "API_TOKEN is required: an integration token of type test_runner (mki_...)");
		goto fail;
	}
	if (strncmp(s, "mki_", 4) != 0) {
		snprintf(err, errlen,
		         "API_TOKEN: expected an integration token (mki_...), not a user token; create one "
		         "of type test_runner with POST /ui/api/integrations {\"type\":\"test_runner\"}");
		goto fail;
	}
	cfg->api_token = strdup(s);
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "runner");
	host[sizeof(host) - 1] = '\0';
	cfg->runner_name = strdup(env_or("RUNNER_NAME", host));
	s = env_or("SHARED", "false");
	if (!config_parse_bool(s, &cfg->shared)) {
		snprintf(err, errlen, "SHARED: expected true/false/1/0/yes/no, got \"%s\"", s);
		goto fail;
	}
	cfg->ns = strdup(env_or("NAMESPACE", "sandbox"));
	if (!int_var("MAX_CONCURRENT", "5", 1, 1000, &cfg->max_concurrent, err, errlen) ||
	    !int_var("DASHBOARD_PORT", "6770", 1, 65535, &cfg->dashboard_port, err, errlen))
		goto fail;
	if (!parse_caps(env_or("CAPABILITIES", "api_test"), &cfg->caps, err, errlen))
		goto fail;
	cfg->http_bind_addr = strdup(env_or("HTTP_BIND_ADDR", "127.0.0.1"));
	s = env_or("LOG_LEVEL", "info");
	cfg->log_level = log_level_parse(s);
	if (cfg->log_level < 0) {
		snprintf(err, errlen, "LOG_LEVEL: expected debug, info, warn or error, got \"%s\"", s);
		goto fail;
	}
	if (cfg->coordinator_addr == NULL || cfg->api_token == NULL || cfg->runner_name == NULL ||
	    cfg->ns == NULL || cfg->http_bind_addr == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return 0;
fail:
	rn_config_free(cfg);
	return 2;
}

void
rn_config_free(rn_config *cfg)
{
	free(cfg->coordinator_addr);
	if (cfg->api_token != NULL) {
		memset(cfg->api_token, 0, strlen(cfg->api_token));
		free(cfg->api_token);
	}
	free(cfg->runner_name);
	free(cfg->ns);
	free(cfg->http_bind_addr);
	memset(cfg, 0, sizeof(*cfg));
}
