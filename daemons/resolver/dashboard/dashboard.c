/*
 * dashboard/dashboard.c - the resolver's own dashboard on DASHBOARD_PORT (6780): one
 * self-contained HTML page and the same data as JSON at /api/status.
 *
 * Constraints: resolvers run near test infrastructure, often without internet
 * access, so the page carries its styles and script inline and loads nothing
 * from elsewhere; it refreshes itself by fetching /api/status every second.
 * It runs on its own libmicrohttpd daemon with one thread so a dashboard left
 * open never competes with mock traffic for the serving pool.
 */
#include "resolver.h"
#include "dashboard/dashboard.h"
#include "link/link.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

static struct MHD_Daemon *dash;
char *(*dashboard_page)(void);

static const char page[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>mock-resolver</title>\n"
    "<style>\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}\n"
    "header{background:#1d2330;color:#fff;padding:12px 20px;display:flex;gap:16px;align-items:baseline}\n"
    "header h1{font-size:18px;margin:0}header span{opacity:.75}\n"
    "main{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px;padding:20px}\n"
    ".card{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}\n"
    ".card .k{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#667}\n"
    ".card .v{font-size:22px;font-weight:600;margin-top:4px;word-break:break-all}\n"
    ".ok{color:#13803d}.bad{color:#c0262d}.warn{color:#a05a00}\n"
    "footer{padding:0 20px 20px;color:#667;font-size:12px}\n"
    "</style></head><body>\n"
    "<header><h1>mock-resolver</h1><span id=\"name\"></span><span id=\"ns\"></span></header>\n"
    "<main>\n"
    "<div class=\"card\"><div class=\"k\">Coordinator</div><div class=\"v\" id=\"conn\">-</div>"
    "<div id=\"err\" style=\"font-size:12px;color:#667\"></div></div>\n"
    "<div class=\"card\"><div class=\"k\">Applied / head version</div><div class=\"v\" "
    "id=\"ver\">-</div></div>\n"
    "<div class=\"card\"><div class=\"k\">Mocks loaded</div><div class=\"v\" id=\"mocks\">-</div></div>\n"
    "<div class=\"card\"><div class=\"k\">Requests/s</div><div class=\"v\" id=\"rps\">-</div></div>\n"
    "<div class=\"card\"><div class=\"k\">Latency p50 / p90 / p99</div><div class=\"v\" "
    "id=\"lat\">-</div></div>\n"
    "<div class=\"card\"><div class=\"k\">Requests (local / remote)</div><div class=\"v\" "
    "id=\"req\">-</div></div>\n"
    "<div class=\"card\"><div class=\"k\">Misses</div><div class=\"v\" id=\"miss\">-</div></div>\n"
    "<div class=\"card\"><div class=\"k\">Dropped log rows</div><div class=\"v\" id=\"drop\">-</div></div>\n"
    "<div class=\"card\"><div class=\"k\">Last heartbeat</div><div class=\"v\" id=\"hb\">-</div></div>\n"
    "<div class=\"card\"><div class=\"k\">Reconnects / resyncs</div><div class=\"v\" "
    "id=\"rc\">-</div></div>\n"
    "</main>\n"
    "<footer>Data: <a href=\"/api/status\">/api/status</a> &middot; metrics on the serving port at "
    "/metrics &middot; refreshed every second</footer>\n"
    "<script>\n"
    "function $(i){return document.getElementById(i)}\n"
    "function ms(s){return s<0.001?(s*1e6).toFixed(0)+' \\u00b5s':(s*1e3).toFixed(2)+' ms'}\n"
    "function ago(t,now){if(!t)return 'never';var d=(now-t)/1000;return d<1?'just now':d.toFixed(1)+' s "
    "ago'}\n"
    "async function tick(){\n"
    " try{\n"
    "  var r=await fetch('/api/status',{cache:'no-store'});var s=await r.json();\n"
    "  $('name').textContent=s.name;$('ns').textContent='namespace '+s.namespace;\n"
    "  var c=s.coordinator,e=$('conn');e.textContent=c.state.replace('_',' ');\n"
    "  e.className='v '+(c.connected?'ok':c.authRefused?'bad':'warn');\n"
    "  $('err').textContent=(c.connected?'':c.lastError)+' '+c.addr;\n"
    "  $('ver').textContent=s.appliedVersion+' / '+s.headVersion;\n"
    "  $('mocks').textContent=s.mocksLoaded+(s.ready?'':' (no snapshot yet)');\n"
    "  $('rps').textContent=s.requestsPerSecond.toFixed(1);\n"
    "  var l=s.latencySeconds;$('lat').textContent=ms(l.p50)+' / '+ms(l.p90)+' / '+ms(l.p99);\n"
    "  $('req').textContent=s.cacheHits+' / '+s.remoteResolves;\n"
    "  $('miss').textContent=s.misses;$('drop').textContent=s.dropped;\n"
    "  $('hb').textContent=ago(c.lastHeartbeatMs,s.nowMs);\n"
    "  $('rc').textContent=c.reconnects+' / '+c.resyncs;\n"
    " }catch(err){$('conn').textContent='dashboard unreachable';$('conn').className='v bad'}\n"
    "}\n"
    "tick();setInterval(tick,1000);\n"
    "</script></body></html>\n";

static enum MHD_Result
dash_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
             const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	int status = 200;

	(void)cls;
	(void)version;
	(void)upload_data;
	/* first call: only note the request (the keep-alive pitfall of serving/http.c's banner) */
	if (*con_cls == NULL) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		r = MHD_create_response_from_buffer(strlen("{\"error\":\"method not allowed\"}"),
		                                    (void *)"{\"error\":\"method not allowed\"}",
		                                    MHD_RESPMEM_PERSISTENT);
		status = 405;
	} else if (strcmp(url, "/api/status") == 0) {
		json_t *j = status_json();
		char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;

		json_decref(j);
		if (t == NULL)
			return MHD_NO;
		r = MHD_create_response_from_buffer(strlen(t), t, MHD_RESPMEM_MUST_FREE);
		if (r)
			MHD_add_response_header(r, "Content-Type", "application/json");
	} else if ((strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) && dashboard_page != NULL) {
		char *t = dashboard_page();

		if (t == NULL)
			return MHD_NO;
		r = MHD_create_response_from_buffer(strlen(t), t, MHD_RESPMEM_MUST_FREE);
		if (r)
			MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
	} else if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
		r = MHD_create_response_from_buffer(sizeof(page) - 1, (void *)page, MHD_RESPMEM_PERSISTENT);
		if (r)
			MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
	} else {
		r = MHD_create_response_from_buffer(strlen("{\"error\":\"not found\"}"),
		                                    (void *)"{\"error\":\"not found\"}",
		                                    MHD_RESPMEM_PERSISTENT);
		status = 404;
	}
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, (unsigned int)status, r);
	MHD_destroy_response(r);
	return ret;
}

static void
dash_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	*con_cls = NULL;
}

static void *
dash_urilog(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)uri;
	(void)conn;
	return NULL;
}

bool
dashboard_start(void)
{
	if (rs_cfg.dashboard_port == 0)
		return true;
	dash = rs_mhd_start(rs_cfg.http_bind_addr, rs_cfg.dashboard_port, 1, dash_handler, dash_completed,
	                    dash_urilog);
	if (dash == NULL)
		return false;
	log_info("dashboard on http://%s:%d/", rs_cfg.http_bind_addr, rs_cfg.dashboard_port);
	return true;
}

void
dashboard_stop(void)
{
	if (dash != NULL)
		MHD_stop_daemon(dash);
	dash = NULL;
}
