/*
 * frame/gconfig.c - the environment table of a generated mock server.
 *
 * The guide configures generated servers with HTTP_ADMIN_BASE_URL, NAMESPACE, HTTP_PORT and
 * API_TOKEN; the Docker material spells them MOCKARTY_URL, MOCKARTY_NAMESPACE, PORT and
 * MOCKARTY_API_TOKEN. Both spellings are read (the guide's wins when both are set). The
 * coordinator is found at the admin URL's host, port 5773, unless COORDINATOR_ADDR says
 * otherwise. Defaults come from the caller (the generator bakes the CLI's flags into them).
 * A refused value is exit code 2 with the variable named, never a silent default.
 */
#include "frame/frame.h"
#include "protocols/protocol.h"
#include "resolver.h"

#include "config.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

gs_config gs_cfg;

static const config_var vars[] = {
    {"HTTP_ADMIN_BASE_URL", "baked", "admin node URL (alias MOCKARTY_URL), e.g. http://mockarty:5770"},
    {"NAMESPACE", "baked/sandbox", "namespace whose mocks are served (alias MOCKARTY_NAMESPACE)"},
    {"HTTP_PORT", "baked/8080", "port serving mock traffic, /health, /spec and /metrics (alias PORT)"},
    {"API_TOKEN", NULL,
     "mk_ user token (editor or admin) or mki_ integration token of type orchestrator or mock_resolver "
     "(alias MOCKARTY_API_TOKEN)"},
    {"SERVER_NAME", "baked", "serve only the namespace's mocks with this serverName (empty = all)"},
    {"COORDINATOR_ADDR", "admin host:5773", "the admin node's gRPC coordinator, host:port"},
    {"LOG_LEVEL", "info", "debug, info, warn or error"},
    {"PROXY_TARGET", "", "accepted for compatibility; a miss is answered 404 (docs/generator.md)"},
    {"DASHBOARD_PORT", "HTTP_PORT+1", "port of the dashboard page and /api/status; 0 disables it"},
    {"HTTP_BIND_ADDR", "0.0.0.0", "address both ports bind to"},
    {"THREADS", "CPUs", "HTTP worker threads"},
    {"RESOLVE_POOL_SIZE", "4", "connections to the coordinator for stateful mocks"},
    {"MIN_VERSION_WAIT_MS", "2000", "longest wait for X-Mockarty-Min-Version before answering 503"},
    {"ALLOW_PROXY_TO_PRIVATE_IPS", "false", "true lets proxy mocks reach private addresses"},
    {"HTTP_CONNECTION_MEMORY_KB", "24",
     "memory per HTTP connection for the request line, headers, query (414/431 beyond), response headers"},
};

void
gs_config_help(const char *argv0, const gs_defaults *d)
{
	char intro[512];

	snprintf(
	    intro, sizeof(intro),
	    "A generated Mockarty server (type %s%s%s): serves its namespace's mocks for its serverName,\n"
	    "synced from the admin node's coordinator; stateful mocks resolve there. Environment:",
	    d->type ? d->type : "?", d->server_name && d->server_name[0] ? ", server " : "",
	    d->server_name ? d->server_name : "");
	config_print_help(
	    argv0, intro, vars, sizeof(vars) / sizeof(vars[0]),
	    "HTTP_ADMIN_BASE_URL=http://localhost:5770 NAMESPACE=sandbox HTTP_PORT=8080 API_TOKEN=mk_...");
}

/* The value of the first of two spellings that is set and not empty, else def; *which: its name. */
static const char *
either(const char *a, const char *b, const char *def, const char **which)
{
	const char *v = getenv(a);

	*which = a;
	if (v != NULL && v[0] != '\0')
		return v;
	v = getenv(b);
	if (v != NULL && v[0] != '\0') {
		*which = b;
		return v;
	}
	return def;
}

static bool
int_value(const char *name, const char *s, long lo, long hi, int *out, char *err, size_t errlen)
{
	long v;

	if (!config_parse_int(s, lo, hi, &v)) {
		snprintf(err, errlen, "%s: expected an integer from %ld to %ld, got \"%s\"", name, lo, hi, s);
		return false;
	}
	*out = (int)v;
	return true;
}

/* host:5773 from an http(s)://host[:port][/...] URL; false when url is not one. */
static bool
coordinator_from_url(const char *url, char *out, size_t cap)
{
	const char *h, *end;

	if (strncmp(url, "http://", 7) == 0)
		h = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		h = url + 8;
	else
		return false;
	if (*h == '[') { /* [v6]:port */
		end = strchr(h, ']');
		if (end == NULL)
			return false;
		end++;
	} else {
		end = h + strcspn(h, ":/?#");
	}
	if (end == h || (size_t)(end - h) + 6 >= cap)
		return false;
	snprintf(out, cap, "%.*s:5773", (int)(end - h), h);
	return true;
}

int
gs_config_load(const gs_defaults *d, char *err, size_t errlen)
{
	const char *s, *which;
	char port_def[16], coord[300];
	const gs_protocol *p = gs_protocol_find(d->type);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	rs_config *c = &rs_cfg;

	memset(&gs_cfg, 0, sizeof(gs_cfg));
	memset(c, 0, sizeof(*c));
	if (p == NULL) {
		snprintf(err, errlen, "server type \"%s\" is not available in this build (available: %s)",
		         d->type ? d->type : "", gs_protocol_available());
		return 2;
	}
	gs_cfg.type = strdup(p->name);
	s = either("HTTP_ADMIN_BASE_URL", "MOCKARTY_URL",
	           d->admin_url ? d->admin_url : "http://localhost:5770", &which);
	gs_cfg.admin_url = strdup(s);
	s = config_env_or("COORDINATOR_ADDR", NULL);
	if (s != NULL) {
		c->coordinator_addr = strdup(s);
	} else if (coordinator_from_url(gs_cfg.admin_url, coord, sizeof(coord))) {
		c->coordinator_addr = strdup(coord);
	} else {
		snprintf(err, errlen, "%s: expected an http:// or https:// URL, got \"%s\"", which,
		         gs_cfg.admin_url);
		goto fail;
	}
	s = either("API_TOKEN", "MOCKARTY_API_TOKEN", d->api_token, &which);
	if (s == NULL) {
		snprintf(err, errlen,
		         "API_TOKEN is required: a user API token (mk_, role editor or admin) or an "
		         "integration token of type orchestrator (mki_)");
		goto fail;
	}
	if (strncmp(s, "mk_", 3) != 0 && strncmp(s, "mki_", 4) != 0) {
		snprintf(err, errlen, "%s: expected a token starting with mk_ or mki_", which);
		goto fail;
	}
	c->api_token = strdup(s);
	s = either("NAMESPACE", "MOCKARTY_NAMESPACE", d->ns ? d->ns : "sandbox", &which);
	c->ns = strdup(s);
	gs_cfg.server_name = strdup(config_env_or("SERVER_NAME", d->server_name ? d->server_name : ""));
	c->resolver_name = strdup(gs_cfg.server_name[0] ? gs_cfg.server_name : "generated-server");
	gs_cfg.proxy_target = strdup(config_env_or("PROXY_TARGET", ""));
	snprintf(port_def, sizeof(port_def), "%d", d->http_port > 0 ? d->http_port : 8080);
	s = either("HTTP_PORT", "PORT", port_def, &which);
	if (!int_value(which, s, 1, 65535, &c->http_port, err, errlen))
		goto fail;
	snprintf(port_def, sizeof(port_def), "%d", c->http_port < 65535 ? c->http_port + 1 : 0);
	if (!config_int_var("DASHBOARD_PORT", port_def, 0, 65535, &c->dashboard_port, err, errlen) ||
	    !config_int_var("MIN_VERSION_WAIT_MS", "2000", 0, 600000, &c->min_version_wait_ms, err, errlen) ||
	    !config_int_var("RESOLVE_POOL_SIZE", "4", 1, 64, &c->resolve_pool, err, errlen) ||
	    !config_int_var("PROXY_MAX_CONCURRENT", "256", 1, 100000, &c->proxy_max_concurrent, err,
	                    errlen) ||
	    !config_int_var("REQUEST_BUFFER_BUDGET_MB", "256", 0, 1048576, &c->buffer_budget_mb, err, errlen))
		goto fail;
	if (c->dashboard_port == c->http_port) {
		snprintf(err, errlen, "DASHBOARD_PORT: must differ from HTTP_PORT (%d)", c->http_port);
		goto fail;
	}
	if (getenv("THREADS") != NULL && getenv("THREADS")[0] != '\0') {
		if (!config_int_var("THREADS", "1", 1, 256, &c->threads, err, errlen))
			goto fail;
	} else {
		c->threads = ncpu > 0 ? (int)ncpu : 2;
	}
	c->http_bind_addr = strdup(config_env_or("HTTP_BIND_ADDR", "0.0.0.0"));
	if (!config_template_output_limit(&c->template_output_limit, err, errlen) ||
	    !config_http_connection_memory(&c->http_conn_memory, err, errlen))
		goto fail;
	s = config_env_or("ALLOW_PROXY_TO_PRIVATE_IPS", "false");
	if (!config_parse_bool(s, &c->allow_private_ips)) {
		snprintf(err, errlen, "ALLOW_PROXY_TO_PRIVATE_IPS: expected true or false, got \"%s\"", s);
		goto fail;
	}
	s = config_env_or("LOG_LEVEL", "info");
	c->log_level = log_level_parse(s);
	if (c->log_level < 0) {
		snprintf(err, errlen, "LOG_LEVEL: expected debug, info, warn or error, got \"%s\"", s);
		goto fail;
	}
	if (gs_cfg.type == NULL || gs_cfg.admin_url == NULL || gs_cfg.server_name == NULL ||
	    gs_cfg.proxy_target == NULL || c->coordinator_addr == NULL || c->api_token == NULL ||
	    c->ns == NULL || c->resolver_name == NULL || c->http_bind_addr == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return 0;
fail:
	gs_config_free();
	return 2;
}

void
gs_config_free(void)
{
	free(gs_cfg.type);
	free(gs_cfg.admin_url);
	free(gs_cfg.server_name);
	free(gs_cfg.proxy_target);
	memset(&gs_cfg, 0, sizeof(gs_cfg));
	rs_config_free(&rs_cfg);
}
