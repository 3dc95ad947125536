/*
 * dashboard/dashboard.c - the runner's only port (DASHBOARD_PORT, 6770): the dashboard
 * page (ui/runner with the UI kit and uPlot, compiled in: common/uiserve.c), /api/status
 * (its data, with the last 120 one-second chart points; ?since=<unix s> trims them),
 * /health/live, /health/ready and /metrics.
 *
 * Constraints: runners sit near the systems under test, often without
 * internet access, so the page and all it loads come from this port (strict
 * CSP, no outside host); it refreshes itself by fetching /api/status every
 * second. One libmicrohttpd thread is plenty - nothing here is on a task's
 * path - and it binds to HTTP_BIND_ADDR (127.0.0.1 by default, as every
 * daemon of this project) so a runner exposes nothing until asked to.
 */
#include "runner.h"
#include "dashboard/dashboard.h"
#include "link/link.h"
#include "tasks/tasks.h"

#include "log.h"
#include "uiserve.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static struct MHD_Daemon *dash;
static time_t started_at;

/* "72h15m30s" style uptime. */
static void
uptime_text(char *out, size_t cap)
{
	long s = (long)(time(NULL) - started_at);

	snprintf(out, cap, "%ldh%ldm%lds", s / 3600, (s / 60) % 60, s % 60);
}

/* The chart points newer than since (unix seconds) as [{t, running, progress, cpu}] (new reference). */
static json_t *
samples_json(int64_t since)
{
	static rn_sample s[RN_SAMPLES]; /* the dashboard daemon has one thread */
	int n = stats_samples(s, RN_SAMPLES, since);
	json_t *a = json_array();

	for (int i = 0; a != NULL && i < n; i++) {
		json_t *o = json_pack("{s:I, s:i, s:f}", "t", (json_int_t)s[i].t, "running", s[i].running, "cpu",
		                      s[i].cpu);

		if (o != NULL)
			json_object_set_new(o, "progress", s[i].progress < 0 ? json_null() : json_real(s[i].progress));
		json_array_append_new(a, o);
	}
	return a;
}

/* The /api/status document (new reference, NULL when out of memory); samples newer than since. */
static json_t *
status_json(int64_t since)
{
	rn_session_status ss;
	char up[64];
	json_t *j, *caps = json_array(), *c, *proc, *tasks = tasks_status_json();

	session_status(&ss);
	uptime_text(up, sizeof(up));
	if (rn_cfg.caps & RN_CAP_API_TEST)
		json_array_append_new(caps, json_string("api_test"));
	if (rn_cfg.caps & RN_CAP_PERFORMANCE)
		json_array_append_new(caps, json_string("performance"));
	/* the link's fields (state, connected, authRefused, lastCode, lastError, connectedSinceMs,
	 * lastEventMs, reconnects) come from nodelink.h, as on the resolver's dashboard */
	c = nl_status_json(&ss.link, json_pack("{s:s}", "addr", rn_cfg.coordinator_addr));
	if (c != NULL) {
		json_object_set_new(c, "runnerId", json_string(ss.runner_id));
		json_object_set_new(c, "leaseMs", json_integer((json_int_t)ss.lease_ms));
		json_object_set_new(c, "heartbeatMs", json_integer((json_int_t)ss.heartbeat_ms));
		json_object_set_new(c, "offers", json_integer((json_int_t)ss.offers));
		json_object_set_new(c, "pings", json_integer((json_int_t)ss.pings));
	}
	proc = json_pack("{s:f, s:f, s:I}", "cpuPercent", stats_cpu_percent(), "cpuSeconds",
	                 stats_cpu_seconds(), "rssBytes", (json_int_t)stats_rss_bytes());
	j = json_pack("{s:s, s:s, s:b, s:o, s:i, s:s, s:s, s:I, s:o?, s:o?, s:o?, s:o?}", "name",
	              rn_cfg.runner_name, "namespace", rn_cfg.ns, "shared", rn_cfg.shared, "capabilities",
	              caps, "maxConcurrent", rn_cfg.max_concurrent, "releaseId", RUNNER_RELEASE_ID, "uptime",
	              up, "nowMs", (json_int_t)rn_wall_ms(), "coordinator", c, "process", proc, "tasks",
	              tasks, "samples", samples_json(since));
	return j;
}

/* The /metrics text (malloc'd). */
static char *
metrics_text(void)
{
	rn_session_status ss;
	char *b = NULL;
	size_t len = 0, cap = 0;

	session_status(&ss);
	tasks_metrics(&b, &len, &cap);
	buf_printf(
	    &b, &len, &cap,
	    "# HELP mockarty_runner_max_concurrent MAX_CONCURRENT: tasks this runner executes at once.\n"
	    "# TYPE mockarty_runner_max_concurrent gauge\n"
	    "mockarty_runner_max_concurrent %d\n"
	    "# HELP mockarty_runner_connected 1 while the Connect stream to the coordinator is open.\n"
	    "# TYPE mockarty_runner_connected gauge\n"
	    "mockarty_runner_connected %d\n"
	    "# HELP mockarty_runner_auth_refused 1 while the coordinator refuses API_TOKEN.\n"
	    "# TYPE mockarty_runner_auth_refused gauge\n"
	    "mockarty_runner_auth_refused %d\n"
	    "# HELP mockarty_runner_reconnects_total Connect streams that ended.\n"
	    "# TYPE mockarty_runner_reconnects_total counter\n"
	    "mockarty_runner_reconnects_total %llu\n"
	    "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
	    "# TYPE process_cpu_seconds_total counter\n"
	    "process_cpu_seconds_total %.2f\n"
	    "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
	    "# TYPE process_resident_memory_bytes gauge\n"
	    "process_resident_memory_bytes %llu\n"
	    "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
	    "# TYPE process_start_time_seconds gauge\n"
	    "process_start_time_seconds %lld\n",
	    rn_cfg.max_concurrent, ss.link.state == NL_CONNECTED ? 1 : 0,
	    ss.link.state == NL_AUTH_REFUSED ? 1 : 0, (unsigned long long)ss.link.reconnects, stats_cpu_seconds(), (unsigned long long)stats_rss_bytes(),
	    (long long)started_at);
	return b;
}

/* /health/live (always 200 while the process answers) and /health/ready (503 until connected). */
static char *
health_text(bool ready_check, int *status)
{
	rn_session_status ss;
	char up[64];
	json_t *j;
	char *t;
	bool ready;

	session_status(&ss);
	uptime_text(up, sizeof(up));
	ready = ss.link.state == NL_CONNECTED;
	*status = (ready_check && !ready) ? 503 : 200;
	j = json_pack("{s:s, s:s, s:s}", "status", *status == 200 ? "ok" : "not_ready", "releaseId",
	              RUNNER_RELEASE_ID, "uptime", up);
	if (j != NULL && ready_check) {
		json_object_set_new(j, "coordinator", json_string(nl_state_names[ss.link.state]));
		json_object_set_new(j, "runningTasks", json_integer(tasks_running()));
		if (!ready) {
			char why[700];

			if (ss.link.state == NL_AUTH_REFUSED)
				snprintf(why, sizeof(why),
				         "the coordinator refuses API_TOKEN (an enabled test_runner "
				         "integration token is "
				         "needed): %s",
				         ss.link.last_error);
			else
				snprintf(why, sizeof(why), "%s",
				         ss.link.last_error[0] ? ss.link.last_error
				                          : "not connected to the coordinator yet");
			json_object_set_new(j, "reason", json_string(why));
		}
		if (ss.link.last_error[0] && !ready)
			json_object_set_new(j, "lastError", json_string(ss.link.last_error));
	}
	t = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return t;
}

static enum MHD_Result
respond(struct MHD_Connection *conn, int status, const char *type, char *body, bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (body == NULL)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(body), body,
	                                    owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, (unsigned int)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
dash_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
             const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	int status = 200;

	(void)cls;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return respond(conn, 405, "application/json", "{\"error\":\"method not allowed\"}", false);
	if (strcmp(url, "/api/status") == 0) {
		const char *since = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since");
		json_t *j = status_json(since ? strtoll(since, NULL, 10) : 0);
		char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;

		json_decref(j);
		return respond(conn, 200, "application/json", t, true);
	}
	if (strcmp(url, "/health/live") == 0 || strcmp(url, "/health/ready") == 0) {
		char *t = health_text(url[8] == 'r', &status);

		return respond(conn, status, "application/json", t, true);
	}
	if (strcmp(url, "/metrics") == 0)
		return respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", metrics_text(), true);
	if (strncmp(url, "/api/", 5) != 0 && strncmp(url, "/health/", 8) != 0) {
		/* the page, ui/kit and ui/vendor: ETags, gzip, the CSP (uiserve.h) */
		static const ui_mount m = {&ui_assets_runner, false};

		return ui_serve(conn, &m, method, url + 1);
	}
	return respond(conn, 404, "application/json", "{\"error\":\"not found\"}", false);
}

static void
dash_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	*con_cls = NULL;
}

bool
dashboard_start(void)
{
	struct addrinfo hints = {0}, *ai = NULL;
	char portstr[16];
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int rc;

	started_at = time(NULL);
	snprintf(portstr, sizeof(portstr), "%d", rn_cfg.dashboard_port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(rn_cfg.http_bind_addr, portstr, &hints, &ai);
	if (rc != 0 || ai == NULL) {
		log_error("HTTP_BIND_ADDR %s: %s", rn_cfg.http_bind_addr, gai_strerror(rc));
		return false;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	dash =
	    MHD_start_daemon(flags, (uint16_t)rn_cfg.dashboard_port, NULL, NULL, dash_handler, NULL,
	                     MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	                     MHD_OPTION_NOTIFY_COMPLETED, dash_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
	                     (unsigned int)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
	                     /* no address reuse: two runners on one port must be an error, not a
	                      * kernel-balanced pair of dashboards */
	                     MHD_OPTION_END);
	freeaddrinfo(ai);
	if (dash == NULL) {
		log_error("DASHBOARD_PORT %d: cannot listen on %s:%d (in use? give each runner its own "
		          "DASHBOARD_PORT)",
		          rn_cfg.dashboard_port, rn_cfg.http_bind_addr, rn_cfg.dashboard_port);
		return false;
	}
	log_info("dashboard on http://%s:%d/", rn_cfg.http_bind_addr, rn_cfg.dashboard_port);
	return true;
}

void
dashboard_stop(void)
{
	if (dash != NULL)
		MHD_stop_daemon(dash);
	dash = NULL;
}
