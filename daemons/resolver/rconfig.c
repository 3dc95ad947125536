/*
 * rconfig.c - the environment table of mock-resolver.
 *
 * The integrations guide configures a resolver with environment variables only
 * (COORDINATOR_ADDR, API_TOKEN, RESOLVER_NAME, HTTP_PORT, NAMESPACE, LOG_LEVEL),
 * so that table, plus the dashboard port, bind address, read-your-writes
 * bound and proxy policy, is the whole configuration surface. One table drives both parsing and
 * --help so they cannot disagree. A missing required variable or a refused value
 * is a start-up error that names the variable (exit code 2), never a silent
 * fallback to the default.
 */
#include "resolver.h"

#include "config.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

rs_config rs_cfg;

/* name, default (NULL = required), description; order is the --help order */
static const config_var vars[] = {
    {"COORDINATOR_ADDR", NULL,
     "address of the admin node's gRPC coordinator, host:port (e.g. admin-host:5773)"},
    {"API_TOKEN", NULL, "integration token of type mock_resolver (mki_...)"},
    {"RESOLVER_NAME", "hostname", "human-readable name of this resolver, shown on the admin node"},
    {"HTTP_PORT", "5780", "port serving mock traffic, /health/* and /metrics"},
    {"NAMESPACE", "sandbox", "namespace this resolver serves"},
    {"LOG_LEVEL", "info", "debug, info, warn or error"},
    {"DASHBOARD_PORT", "6780", "port of the dashboard (HTML page and /api/status); 0 disables it"},
    {"HTTP_BIND_ADDR", "127.0.0.1", "address both ports bind to (0.0.0.0 for every interface)"},
    {"MIN_VERSION_WAIT_MS", "2000", "longest wait for X-Mockarty-Min-Version before answering 503"},
    {"THREADS", "CPUs", "HTTP worker threads"},
    {"RESOLVE_POOL_SIZE", "4", "connections to the coordinator for stateful mocks"},
    {"ALLOW_PROXY_TO_PRIVATE_IPS", "false",
     "true lets proxy.target reach loopback, private and link-local addresses"},
    {"PROXY_MAX_CONCURRENT", "256", "proxied requests in flight at once; more are answered 503"},
    {"REQUEST_BUFFER_BUDGET_MB", "256",
     "request bytes buffered at once over all connections; more are answered 503 (0 = unlimited)"},
    {"TEMPLATE_OUTPUT_LIMIT_MB", "8", "most one response's templates may render (500 template_output_limit)"},
    {"HTTP_CONNECTION_MEMORY_KB", "24",
     "memory per HTTP connection for the request line, headers, query (414/431 beyond), response headers"},
    {"OTEL_EXPORTER_TYPE", "none", "tracing exporter: otlp, jaeger, zipkin or none (docs/telemetry.md)"},
    {"OTEL_EXPORTER_ENDPOINT", "by type", "collector URL (OTLP/HTTP :4318, Zipkin :9411)"},
    {"OTEL_SAMPLING_RATE", "1.0", "fraction of new traces recorded, 0.0 .. 1.0"},
    {"OTEL_SERVICE_NAME", "mockarty", "service.name of this resolver's spans"},
};

void
rs_config_help(const char *argv0)
{
	config_print_help(argv0,
	                  "mock-resolver serves one namespace's mocks from a local snapshot kept current by the\n"
	                  "admin node's gRPC coordinator. It is configured by environment variables only:",
	                  vars, sizeof(vars) / sizeof(vars[0]),
	                  "COORDINATOR_ADDR=127.0.0.1:5773 API_TOKEN=mki_... RESOLVER_NAME=resolver-1 HTTP_PORT=5780");
}

int
rs_config_load(rs_config *cfg, char *err, size_t errlen)
{
	const char *s;
	char host[256];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	if (!config_node_identity("mock_resolver", &cfg->coordinator_addr, &cfg->api_token, err, errlen))
		goto fail;
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "resolver");
	host[sizeof(host) - 1] = '\0';
	cfg->resolver_name = strdup(config_env_or("RESOLVER_NAME", host));
	cfg->ns = strdup(config_env_or("NAMESPACE", "sandbox"));
	cfg->http_bind_addr = strdup(config_env_or("HTTP_BIND_ADDR", "127.0.0.1"));
	if (!config_int_var("HTTP_PORT", "5780", 1, 65535, &cfg->http_port, err, errlen) ||
	    !config_int_var("DASHBOARD_PORT", "6780", 0, 65535, &cfg->dashboard_port, err, errlen) ||
	    !config_int_var("MIN_VERSION_WAIT_MS", "2000", 0, 600000, &cfg->min_version_wait_ms, err, errlen) ||
	    !config_int_var("RESOLVE_POOL_SIZE", "4", 1, 64, &cfg->resolve_pool, err, errlen) ||
	    !config_int_var("PROXY_MAX_CONCURRENT", "256", 1, 100000, &cfg->proxy_max_concurrent, err,
	                    errlen) ||
	    !config_int_var("REQUEST_BUFFER_BUDGET_MB", "256", 0, 1048576, &cfg->buffer_budget_mb, err,
	                    errlen))
		goto fail;
	if (getenv("THREADS") != NULL && getenv("THREADS")[0] != '\0') {
		if (!config_int_var("THREADS", "1", 1, 256, &cfg->threads, err, errlen))
			goto fail;
	} else {
		cfg->threads = ncpu > 0 ? (int)ncpu : 2;
	}
	if (!config_template_output_limit(&cfg->template_output_limit, err, errlen) ||
	    !config_http_connection_memory(&cfg->http_conn_memory, err, errlen))
		goto fail;
	s = config_env_or("ALLOW_PROXY_TO_PRIVATE_IPS", "false");
	if (!config_parse_bool(s, &cfg->allow_private_ips)) {
		snprintf(err, errlen, "ALLOW_PROXY_TO_PRIVATE_IPS: expected true or false, got \"%s\"", s);
		goto fail;
	}
	s = config_env_or("LOG_LEVEL", "info");
	cfg->log_level = log_level_parse(s);
	if (cfg->log_level < 0) {
		snprintf(err, errlen, "LOG_LEVEL: expected debug, info, warn or error, got \"%s\"", s);
		goto fail;
	}
	if (cfg->dashboard_port == cfg->http_port) {
		snprintf(err, errlen, "DASHBOARD_PORT: must differ from HTTP_PORT (%d)", cfg->http_port);
		goto fail;
	}
	if (cfg->coordinator_addr == NULL || cfg->api_token == NULL || cfg->resolver_name == NULL ||
	    cfg->ns == NULL || cfg->http_bind_addr == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return 0;
fail:
	rs_config_free(cfg);
	return 2;
}

void
rs_config_free(rs_config *cfg)
{
	free(cfg->coordinator_addr);
	if (cfg->api_token != NULL) {
		memset(cfg->api_token, 0, strlen(cfg->api_token));
		free(cfg->api_token);
	}
	free(cfg->resolver_name);
	free(cfg->ns);
	free(cfg->http_bind_addr);
	memset(cfg, 0, sizeof(*cfg));
}
