/*
 * frame/dashpage.c - what the dashboard of a generated server (DASHBOARD_PORT) shows beyond
 * the node library's /api/status: the server's identity (type, serverName, admin node, ports)
 * and the per-route counters of mockarty_mock_resolutions_total{route,status}. The page is
 * ui/genserver (compiled in, with the UI kit and uPlot); it draws req/s, latency percentiles
 * and hits and misses from the samples of /api/status and lists these routes as a table.
 *
 * Constraint: the operations list is the routes of the synced mocks that answered, never a
 * parse of the spec, so it shows what was really served.
 */
#include "dashboard/dashboard.h"
#include "frame/frame.h"
#include "resolver.h"

#include "metrics.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The rows of mockarty_mock_resolutions_total as [{route, status, count}] (new reference). */
static json_t *
route_rows(void)
{
	mt_buf m = {0};
	const char *p;
	json_t *rows = json_array();

	mt_resolutions_write(&m);
	for (p = m.s; rows && p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
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
		json_array_append_new(rows,
		                      json_pack("{s:s%, s:i, s:I}", "route", r, (size_t)(re - r), "status",
		                                atoi(st), "count", (json_int_t)strtoll(sp + 2, NULL, 10)));
	}
	free(m.s);
	return rows;
}

json_t *
gs_dashboard_extra(void)
{
	json_t *g =
	    json_pack("{s:s, s:s, s:s, s:i, s:o?}", "type", gs_cfg.type, "serverName", gs_cfg.server_name,
	              "adminUrl", gs_cfg.admin_url, "httpPort", rs_cfg.http_port, "routes", route_rows());

	return g ? json_pack("{s:o}", "generatedServer", g) : NULL;
}
