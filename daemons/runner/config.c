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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

rn_config rn_cfg;

/* name, default (NULL = required), description; order is the --help order */
static const config_var vars[] = {
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
	config_print_help(argv0,
	                  "runner-agent executes API test collections and performance tests that the admin node's\n"
	                  "gRPC coordinator dispatches. It is configured by environment variables only:",
	                  vars, sizeof(vars) / sizeof(vars[0]),
	                  "COORDINATOR_ADDR=admin-host:5773 API_TOKEN=mki_... RUNNER_NAME=runner-1 CAPABILITIES=api_test,performance");
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
	if (!config_node_identity("test_runner", &cfg->coordinator_addr, &cfg->api_token, err, errlen))
		goto fail;
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "runner");
	host[sizeof(host) - 1] = '\0';
	cfg->runner_name = strdup(config_env_or("RUNNER_NAME", host));
	s = config_env_or("SHARED", "false");
	if (!config_parse_bool(s, &cfg->shared)) {
		snprintf(err, errlen, "SHARED: expected true/false/1/0/yes/no, got \"%s\"", s);
		goto fail;
	}
	cfg->ns = strdup(config_env_or("NAMESPACE", "sandbox"));
	if (!config_int_var("MAX_CONCURRENT", "5", 1, 1000, &cfg->max_concurrent, err, errlen) ||
	    !config_int_var("DASHBOARD_PORT", "6770", 1, 65535, &cfg->dashboard_port, err, errlen))
		goto fail;
	if (!parse_caps(config_env_or("CAPABILITIES", "api_test"), &cfg->caps, err, errlen))
		goto fail;
	cfg->http_bind_addr = strdup(config_env_or("HTTP_BIND_ADDR", "127.0.0.1"));
	s = config_env_or("LOG_LEVEL", "info");
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
