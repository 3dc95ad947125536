/*
 * frame/frame.c - the run loop and the frame's own routes of a generated mock server.
 *
 * gs_main mirrors the resolver node's start-up (the node library is the resolver's, so a
 * generated server syncs, resolves and reports exactly as a resolver node does): the
 * configuration, libcurl, the empty store filtered to (namespace, serverName), the Resolve
 * pool, the waiter and report threads, the protocol module's port, the dashboard port, then
 * the Sync stream. Signals are taken with sigwait on the main thread only.
 */
#include "frame/frame.h"
#include "protocols/protocol.h"
#include "resolver.h"
#include "dashboard/dashboard.h"
#include "link/link.h"
#include "serving/serving.h"

#include "log.h"
#include "mockserve.h"
#include "otel.h"
#include "uiserve.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gs_protocol *proto;
static const unsigned char *spec_data;
static size_t spec_size;
static const char *spec_file;

static enum MHD_Result
answer(struct MHD_Connection *conn, int status, const char *ctype, void *data, size_t len,
       enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, data, mode);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * GET /health (generator-protocols.md §4.4): pass when the coordinator stream is up and a
 * snapshot is loaded, warn when cached mocks serve but the admin is unreachable, fail (503)
 * before the first snapshot.
 */
static enum MHD_Result
serve_health(struct MHD_Connection *conn)
{
	rs_sync_status ss;
	char up[64];
	const char *status;
	json_t *j, *ps;
	char *text;

	sync_status(&ss);
	uptime_text(up, sizeof(up));
	status = !ss.ready ? "fail" : ss.link.state == NL_CONNECTED ? "pass" : "warn";
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:b, s:s, s:I}, s:I, s:s}", "status",
	              status, "version", GS_RELEASE_ID, "serverType", gs_cfg.type, "serverName",
	              gs_cfg.server_name, "namespace", rs_cfg.ns, "mode", "hybrid", "admin", "url",
	              gs_cfg.admin_url, "coordinator", rs_cfg.coordinator_addr, "connected",
	              ss.link.state == NL_CONNECTED, "state", nl_state_names[ss.link.state],
	              "lastSyncVersion", (json_int_t)ss.applied_version, "mocksLoaded",
	              (json_int_t)rs_mocks_loaded(), "uptime", up);
	ps = proto->status_json ? proto->status_json() : NULL;
	if (j != NULL && ps != NULL)
		json_object_set_new(j, "protocol", ps);
	else
		json_decref(ps);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return MHD_NO;
	return answer(conn, ss.ready ? 200 : 503, "application/json", text, strlen(text),
	              MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result
serve_spec(struct MHD_Connection *conn)
{
	const char *ext = spec_file ? strrchr(spec_file, '.') : NULL;
	const char *ctype = "text/plain; charset=utf-8";

	if (spec_data == NULL) {
		static const char none[] =
		    "{\"error\":\"not_found\",\"message\":\"this server was started without a spec\"}";

		return answer(conn, 404, "application/json", (void *)none, sizeof(none) - 1,
		              MHD_RESPMEM_PERSISTENT);
	}
	if (ext && (strcmp(ext, ".yaml") == 0 || strcmp(ext, ".yml") == 0))
		ctype = "application/yaml";
	else if (ext && strcmp(ext, ".json") == 0)
		ctype = "application/json";
	return answer(conn, 200, ctype, (void *)spec_data, spec_size, MHD_RESPMEM_PERSISTENT);
}

/* The serving port's hook (serving.h): the frame's routes before mock matching. */
static int
frame_routes(struct MHD_Connection *conn, const char *uri, size_t plen, enum MHD_Result *ret)
{
	if (plen == 7 && strncmp(uri, "/health", 7) == 0) {
		*ret = serve_health(conn);
		return 1;
	}
	if (plen == 5 && strncmp(uri, "/spec", 5) == 0) {
		*ret = serve_spec(conn);
		return 1;
	}
	return 0;
}

int
gs_main(const gs_defaults *d, int argc, char **argv)
{
	char err[512];
	sigset_t set;
	int sig = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			gs_config_help(argv[0], d);
			return 0;
		}
		fprintf(stderr, "%s: unknown argument \"%s\" (configuration is by environment; see --help)\n",
		        argv[0], argv[i]);
		return 2;
	}
	rc = gs_config_load(d, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "%s: configuration error: %s\n(see %s --help)\n", argv[0], err, argv[0]);
		return rc;
	}
	proto = gs_protocol_find(gs_cfg.type);
	spec_data = d->spec;
	spec_size = d->spec_len;
	spec_file = d->spec_name;
	rs_server_name = gs_cfg.server_name;
	gs_proto_admin_url = gs_cfg.admin_url;
	gs_proto_spec = d->spec;
	gs_proto_spec_len = d->spec_len;
	http_extra_get = frame_routes;
	dashboard_ui = &ui_assets_genserver; /* ui/genserver, compiled in */
	dashboard_extra = gs_dashboard_extra;
	log_threshold = rs_cfg.log_level;
	ms_set_template_output_limit(rs_cfg.template_output_limit);
	if (!ui_dir_init(err, sizeof(err))) {
		fprintf(stderr, "%s: configuration error: %s\n", argv[0], err);
		return 2;
	}

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("start-up failed: curl_global_init");
		return 1;
	}
	if (!otel_init("generated-server", err, sizeof(err))) {
		fprintf(stderr, "%s: configuration error: %s\n(see docs/telemetry.md)\n", argv[0], err);
		return 2;
	}
	if (!rs_index_init() || !coord_pool_init(rs_cfg.resolve_pool) || !waiter_start() ||
	    !report_start(stats_tick)) {
		log_error("start-up failed (out of memory or threads)");
		return 1;
	}
	if (!proto->start() || !dashboard_start()) {
		report_stop();
		waiter_stop();
		return 1;
	}
	if (!sync_start(waiter_kick)) {
		proto->stop();
		return 1;
	}
	log_info("generated %s server %s started on port %d: admin %s, coordinator %s, namespace %s",
	         gs_cfg.type, rs_cfg.resolver_name, rs_cfg.http_port, gs_cfg.admin_url,
	         rs_cfg.coordinator_addr, rs_cfg.ns);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			int lvl = log_level_parse(getenv("LOG_LEVEL") ? getenv("LOG_LEVEL") : "info");

			if (lvl >= 0)
				log_threshold = lvl;
			continue;
		}
		break;
	}
	log_info("signal %d: draining", sig);
	dashboard_stop();
	proto->stop(); /* also stops the waiter */
	sync_stop();
	report_stop();
	coord_pool_free();
	otel_shutdown(3000);
	rs_index_free();
	gs_config_free();
	curl_global_cleanup();
	log_info("stopped");
	return 0;
}
