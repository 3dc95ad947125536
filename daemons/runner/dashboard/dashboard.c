/*
 * dashboard/dashboard.c - the runner's only port (DASHBOARD_PORT, 6770): the dashboard
 * page, /api/status (its data), /health/live, /health/ready and /metrics.
 *
 * Constraints: runners sit near the systems under test, often without
 * internet access, so the page carries its styles and script inline and loads
 * nothing from elsewhere; it refreshes itself by fetching /api/status every
 * second. One libmicrohttpd thread is plenty - nothing here is on a task's
 * path - and it binds to HTTP_BIND_ADDR (127.0.0.1 by default, as every
 * daemon of this project) so a runner exposes nothing until asked to.
 */
#include "runner.h"
#include "dashboard/dashboard.h"
#include "link/link.h"
#include "tasks/tasks.h"

#include "log.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static struct MHD_Daemon *dash;
static time_t started_at;

static const char page[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>runner-agent</title>\n"
    "<style>\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}\n"
    "header{background:#1d2330;color:#fff;padding:12px 20px;display:flex;gap:16px;align-items:baseline;"
    "flex-wrap:wrap}\n"
    "header h1{font-size:18px;margin:0}header span{opacity:.75}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px;padding:20px "
    "20px 0}\n"
    ".card{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}\n"
    ".k{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#667}\n"
    ".v{font-size:22px;font-weight:600;margin-top:4px;word-break:break-all}\n"
    ".ok{color:#13803d}.bad{color:#c0262d}.warn{color:#a05a00}\n"
    "section{padding:16px 20px 0}h2{font-size:15px;margin:0 0 8px}\n"
    "table{width:100%;border-collapse:collapse;background:#fff;border-radius:8px;overflow:hidden;"
    "box-shadow:0 1px 2px rgba(0,0,0,.08)}\n"
    "th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eef0f3;font-size:13px}\n"
    "th{background:#fafbfc;color:#556;font-weight:600}\n"
    ".bar{background:#e6e9ee;border-radius:4px;height:10px;width:160px;overflow:hidden;display:inline-block;"
    "vertical-align:middle}\n"
    ".bar i{display:block;height:100%;background:#2f6fde}\n"
    ".err{color:#c0262d;font-size:12px}\n"
    "footer{padding:16px 20px;color:#667;font-size:12px}\n"
    "</style></head><body>\n"
    "<header><h1>runner-agent</h1><span id=\"name\"></span><span id=\"scope\"></span><span "
    "id=\"caps\"></span>"
    "</header>\n"
    "<div class=\"cards\">\n"
    "<div class=\"card\"><div class=\"k\">Coordinator</div><div class=\"v\" id=\"conn\">-</div>"
    "<div id=\"cerr\" class=\"err\"></div></div>\n"
    "<div class=\"card\"><div class=\"k\">Running / max</div><div class=\"v\" id=\"run\">-</div></div>\n"
    "<div class=\"card\"><div class=\"k\">Finished (ok / failed / cancelled / lost)</div>"
    "<div class=\"v\" id=\"tot\">-</div></div>\n"
    "<div class=\"card\"><div class=\"k\">CPU</div><div class=\"v\" id=\"cpu\">-</div></div>\n"
    "<div class=\"card\"><div class=\"k\">Memory (RSS)</div><div class=\"v\" id=\"rss\">-</div></div>\n"
    "<div class=\"card\"><div class=\"k\">Uptime</div><div class=\"v\" id=\"up\">-</div></div>\n"
    "</div>\n"
    "<section><h2>Running tasks</h2><table><thead><tr><th>Task</th><th>Kind</th><th>Namespace</th>"
    "<th>Attempt</th><th>Progress</th><th>Elapsed</th><th>State</th></tr></thead><tbody id=\"running\">"
    "</tbody></table></section>\n"
    "<section><h2>History (last 100)</h2><table><thead><tr><th>Finished</th><th>Task</th><th>Kind</th>"
    "<th>Namespace</th><th>Status</th><th>Duration</th><th>Counts</th></tr></thead><tbody id=\"hist\">"
    "</tbody></table></section>\n"
    "<footer>Data: <a href=\"/api/status\">/api/status</a> &middot; <a href=\"/metrics\">/metrics</a> "
    "&middot; <a href=\"/health/ready\">/health/ready</a> &middot; refreshed every second</footer>\n"
    "<script>\n"
    "function $(i){return document.getElementById(i)}\n"
    "function esc(s){return String(s==null?'':s).replace(/[&<>\"]/g,function(c){return "
    "{'&':'&amp;','<':'&lt;','>':'&gt;','\"':'&quot;'}[c]})}\n"
    "function dur(ms){ms=ms||0;return ms<1000?ms+' ms':ms<60000?(ms/1000).toFixed(1)+' s':"
    "Math.floor(ms/60000)+' m '+Math.round(ms%60000/1000)+' s'}\n"
    "function counts(s){if(!s)return '';var o=[];for(var k in s)if(s[k]!==null)o.push(k+' '+"
    "(typeof s[k]==='number'&&s[k]%1?s[k].toFixed(1):s[k]));return o.join(', ')}\n"
    "function pct(p){if(!p||p.percent==null)return 0;return Math.max(0,Math.min(100,p.percent))}\n"
    "async function tick(){\n"
    " try{\n"
    "  var r=await fetch('/api/status',{cache:'no-store'});var s=await r.json();\n"
    "  $('name').textContent=s.name;$('scope').textContent=s.shared?'shared (all namespaces)':'namespace '+"
    "s.namespace;\n"
    "  $('caps').textContent=s.capabilities.join(', ');\n"
    "  var c=s.coordinator,e=$('conn');e.textContent=c.state.replace('_',' ');\n"
    "  e.className='v '+(c.connected?'ok':c.authRefused?'bad':'warn');\n"
    "  $('cerr').textContent=(c.connected?'':c.lastError+' ')+c.addr;\n"
    "  $('run').textContent=s.tasks.runningCount+' / '+s.maxConcurrent+(s.tasks.draining?' (draining)':'');\n"
    "  var ok=0,f=0,ca=0,l=0;for(var k in s.tasks.totals){var t=s.tasks.totals[k];ok+=t.completed;"
    "f+=t.failed;ca+=t.cancelled;l+=t.lost+t.abandoned}\n"
    "  $('tot').textContent=ok+' / '+f+' / '+ca+' / '+l;\n"
    "  $('cpu').textContent=s.process.cpuPercent.toFixed(1)+' %';\n"
    "  $('rss').textContent=(s.process.rssBytes/1048576).toFixed(1)+' MiB';\n"
    "  $('up').textContent=s.uptime;\n"
    "  var h='';s.tasks.running.forEach(function(t){var p=pct(t.progress);h+='<tr><td>'+esc(t.name||t.id)+"
    "'<br><small>'+esc(t.id)+'</small></td><td>'+esc(t.kind)+'</td><td>'+esc(t.namespace)+'</td><td>'+"
    "t.attempt+'</td><td><span class=\"bar\"><i style=\"width:'+p+'%\"></i></span> '+p.toFixed(0)+"
    "'%</td><td>'+dur(t.elapsedMs)+'</td><td>'+esc(t.leaseLost?'lease lost':t.cancelRequested?"
    "'cancelling':t.phase)+'</td></tr>'});\n"
    "  $('running').innerHTML=h||'<tr><td colspan=\"7\">idle</td></tr>';\n"
    "  h='';s.tasks.history.forEach(function(t){h+='<tr><td>'+esc(t.finishedAt)+'</td><td>'+"
    "esc(t.name||t.id)+'<br><small>'+esc(t.id)+'</small></td><td>'+esc(t.kind)+'</td><td>'+esc(t.namespace)+"
    "'</td><td class=\"'+(t.status==='completed'?'ok':t.status==='cancelled'?'warn':'bad')+'\">'+"
    "esc(t.status)+(t.error?'<div class=\"err\">'+esc(t.error)+'</div>':'')+'</td><td>'+dur(t.durationMs)+"
    "'</td><td>'+esc(counts(t.summary))+'</td></tr>'});\n"
    "  $('hist').innerHTML=h||'<tr><td colspan=\"7\">no task yet</td></tr>';\n"
    " }catch(err){$('conn').textContent='dashboard unreachable';$('conn').className='v bad'}\n"
    "}\n"
    "tick();setInterval(tick,1000);\n"
    "</script></body></html>\n";

/* "72h15m30s" style uptime. */
static void
uptime_text(char *out, size_t cap)
{
	long s = (long)(time(NULL) - started_at);

	snprintf(out, cap, "%ldh%ldm%lds", s / 3600, (s / 60) % 60, s % 60);
}

/* The /api/status document (new reference, NULL when out of memory). */
static json_t *
status_json(void)
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
	j = json_pack("{s:s, s:s, s:b, s:o, s:i, s:s, s:s, s:I, s:o?, s:o?, s:o?}", "name",
	              rn_cfg.runner_name, "namespace", rn_cfg.ns, "shared", rn_cfg.shared, "capabilities",
	              caps, "maxConcurrent", rn_cfg.max_concurrent, "releaseId", RUNNER_RELEASE_ID, "uptime",
	              up, "nowMs", (json_int_t)rn_wall_ms(), "coordinator", c, "process", proc, "tasks",
	              tasks);
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
		json_t *j = status_json();
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
	if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
		return respond(conn, 200, "text/html; charset=utf-8", (char *)page, false);
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
