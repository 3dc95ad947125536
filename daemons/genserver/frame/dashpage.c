/*
 * frame/dashpage.c - the dashboard page of a generated server (GET / on DASHBOARD_PORT).
 *
 * Server-rendered, numbers as text (a refresh every 2 s, no script): the server's identity,
 * the coordinator state, mocks loaded, requests, local hits, remote (stateful) resolutions,
 * misses, and the per-route counters of mockarty_mock_resolutions_total{route,status} - the
 * operations list is the routes of the synced mocks that answered, never a parse of the spec.
 * /api/status beside it is the node library's JSON.
 */
#include "dashboard/dashboard.h"
#include "frame/frame.h"
#include "resolver.h"

#include "metrics.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends s HTML-escaped. */
static void
esc(mt_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++) {
		switch (s[i]) {
		case '<':
			mt_printf(b, "&lt;");
			break;
		case '>':
			mt_printf(b, "&gt;");
			break;
		case '&':
			mt_printf(b, "&amp;");
			break;
		case '"':
			mt_printf(b, "&quot;");
			break;
		default:
			mt_printf(b, "%c", s[i]);
		}
	}
}

static long long
num(json_t *j, const char *k)
{
	return (long long)json_integer_value(json_object_get(j, k));
}

/* The rows of mockarty_mock_resolutions_total: route, status, count. */
static void
route_rows(mt_buf *out)
{
	mt_buf m = {0};
	const char *p;
	int rows = 0;

	mt_resolutions_write(&m);
	for (p = m.s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		const char *r, *re, *st, *se, *sp;

		if (strncmp(p, "mockarty_mock_resolutions_total{", 32) != 0)
			continue;
		r = strstr(p, "route=\"");
		st = strstr(p, "status=\"");
		sp = strchr(p, '}');
		if (r == NULL || st == NULL || sp == NULL)
			continue;
		r += 7;
		re = strstr(r, "\",");
		st += 8;
		se = strchr(st, '"');
		if (re == NULL || se == NULL)
			continue;
		mt_printf(out, "<tr><td>");
		esc(out, r, (size_t)(re - r));
		mt_printf(out, "</td><td>%.*s</td><td>%lld</td></tr>\n", (int)(se - st), st,
		          strtoll(sp + 2, NULL, 10));
		rows++;
	}
	if (rows == 0)
		mt_printf(out, "<tr><td colspan=\"3\">no request answered yet</td></tr>\n");
	free(m.s);
}

char *
gs_dashboard_page(void)
{
	json_t *j = status_json();
	json_t *c = json_object_get(j, "coordinator");
	mt_buf b = {0};

	mt_printf(
	    &b,
	    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta http-equiv=\"refresh\" content=\"2\"><title>generated %s server</title>\n"
	    "<style>body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#1d2330}"
	    "table{border-collapse:collapse}td,th{border:1px solid #ccd;padding:4px 10px;text-align:left}"
	    "</style></head><body>\n<h1>generated %s server ",
	    gs_cfg.type, gs_cfg.type);
	esc(&b, rs_cfg.resolver_name, strlen(rs_cfg.resolver_name));
	mt_printf(&b, "</h1>\n<table id=\"summary\">\n<tr><th>namespace</th><td>");
	esc(&b, rs_cfg.ns, strlen(rs_cfg.ns));
	mt_printf(&b, "</td></tr>\n<tr><th>serverName</th><td>");
	esc(&b, gs_cfg.server_name, strlen(gs_cfg.server_name));
	mt_printf(&b, "</td></tr>\n<tr><th>admin node</th><td>");
	esc(&b, gs_cfg.admin_url, strlen(gs_cfg.admin_url));
	mt_printf(&b, "</td></tr>\n<tr><th>coordinator</th><td id=\"coordinator\">%s</td></tr>\n",
	          json_string_value(json_object_get(c, "state"))
	              ? json_string_value(json_object_get(c, "state"))
	              : "?");
	mt_printf(&b,
	          "<tr><th>applied version</th><td>%lld</td></tr>\n"
	          "<tr><th>mocks loaded</th><td id=\"mocks\">%lld</td></tr>\n"
	          "<tr><th>requests</th><td id=\"requests\">%lld</td></tr>\n"
	          "<tr><th>hits (local)</th><td id=\"hits\">%lld</td></tr>\n"
	          "<tr><th>hits (coordinator, stateful)</th><td id=\"remote\">%lld</td></tr>\n"
	          "<tr><th>misses</th><td id=\"misses\">%lld</td></tr>\n"
	          "<tr><th>uptime</th><td>%s</td></tr>\n</table>\n",
	          num(j, "appliedVersion"), num(j, "mocksLoaded"), num(j, "requests"), num(j, "cacheHits"),
	          num(j, "remoteResolves"), num(j, "misses"),
	          json_string_value(json_object_get(j, "uptime"))
	              ? json_string_value(json_object_get(j, "uptime"))
	              : "");
	mt_printf(&b,
	          "<h2>Requests per route</h2>\n<table id=\"routes\"><tr><th>route</th><th>status</th><th>"
	          "count</th></tr>\n");
	route_rows(&b);
	mt_printf(&b,
	          "</table>\n<p><a href=\"/api/status\">/api/status</a> &middot; /metrics, /health and /spec "
	          "on port %d</p>\n</body></html>\n",
	          rs_cfg.http_port);
	json_decref(j);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
