/*
 * dashboard/dashboard.c - the resolver's own dashboard on DASHBOARD_PORT (6780): the page
 * (ui/resolver with the UI kit and uPlot, compiled in: common/uiserve.c) and its data as JSON
 * at /api/status, polled by the page every second.
 *
 * Constraints: resolvers run near test infrastructure, often without internet access, so
 * the page and everything it loads come from this port (strict CSP, no outside host); the
 * JSON carries the last 120 one-second samples (dashboard/stats.c) so a page opened late
 * draws two minutes of history at once, and ?since=<unix s> trims them to what the page
 * lacks. It runs on its own libmicrohttpd daemon with one thread so a dashboard left open
 * never competes with mock traffic for the serving pool. The generated-server frame reuses
 * this port with its own page (dashboard_ui) and fields (dashboard_extra).
 */
#include "resolver.h"
#include "dashboard/dashboard.h"
#include "link/link.h"

#include "log.h"
#include "uiserve.h"

#include <stdlib.h>
#include <string.h>

static struct MHD_Daemon *dash;
const ui_table *dashboard_ui;
json_t *(*dashboard_extra)(void);

/* The /api/status answer: status_json(), the embedder's fields, samples trimmed by ?since. */
static char *
status_text(struct MHD_Connection *conn)
{
	json_t *j = status_json();
	const char *since = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since");
	char *t;

	if (j == NULL)
		return NULL;
	if (since != NULL)
		json_object_set_new(j, "samples", samples_json(strtoll(since, NULL, 10)));
	if (dashboard_extra != NULL) {
		json_t *x = dashboard_extra();

		if (x != NULL)
			json_object_update(j, x);
		json_decref(x);
	}
	t = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return t;
}

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
		char *t = status_text(conn);

		if (t == NULL)
			return MHD_NO;
		r = MHD_create_response_from_buffer(strlen(t), t, MHD_RESPMEM_MUST_FREE);
		if (r)
			MHD_add_response_header(r, "Content-Type", "application/json");
	} else if (dashboard_ui != NULL && url[0] == '/' && strncmp(url, "/api/", 5) != 0) {
		/* the page, ui/kit and ui/vendor: ETags, gzip, the CSP (uiserve.h) */
		ui_mount m = {dashboard_ui, false};

		return ui_serve(conn, &m, method, url + 1);
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
