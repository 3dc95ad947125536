/*
 * main.c - mock-resolver: serves one namespace's mocks over HTTP from a local
 * compiled snapshot that the admin node's gRPC coordinator keeps current.
 *
 * Start-up order follows what must exist before traffic arrives: configuration
 * (a missing COORDINATOR_ADDR or API_TOKEN is exit code 2 with the variable
 * named), libcurl for proxy mocks (its global init is not thread-safe), the
 * empty store, the waiter and report threads, the HTTP ports
 * (answering 503 on mock traffic and /health/ready until the first snapshot),
 * then the Sync thread. Signals are blocked in every thread and taken here
 * with sigwait, so no handler runs inside library code; SIGTERM/SIGINT drain
 * and exit, SIGHUP re-reads LOG_LEVEL only (the rest needs a restart).
 */
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

int
main(int argc, char **argv)
{
	char err[512];
	sigset_t set;
	int sig = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			rs_config_help(argv[0]);
			return 0;
		}
		fprintf(stderr,
		        "mock-resolver: unknown argument \"%s\" (configuration is by environment; "
		        "see --help)\n",
		        argv[i]);
		return 2;
	}
	rc = rs_config_load(&rs_cfg, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "mock-resolver: configuration error: %s\n(see %s --help)\n", err, argv[0]);
		return rc;
	}
	log_threshold = rs_cfg.log_level;
	ms_set_template_output_limit(rs_cfg.template_output_limit);
	if (!ui_dir_init(err, sizeof(err))) {
		fprintf(stderr, "mock-resolver: configuration error: %s\n", err);
		return 2;
	}
	dashboard_ui = &ui_assets_resolver; /* ui/resolver, compiled in */

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
	if (!otel_init("resolver", err, sizeof(err))) {
		fprintf(stderr, "mock-resolver: configuration error: %s\n(see docs/telemetry.md)\n", err);
		return 2;
	}
	if (!rs_index_init() || !coord_pool_init(rs_cfg.resolve_pool) || !waiter_start() || !report_start(stats_tick)) {
		log_error("start-up failed (out of memory or threads)");
		return 1;
	}
	if (!http_start() || !dashboard_start()) {
		report_stop();
		waiter_stop();
		return 1;
	}
	if (!sync_start(waiter_kick)) {
		http_stop();
		return 1;
	}
	log_info("resolver %s started: coordinator %s, namespace %s", rs_cfg.resolver_name,
	         rs_cfg.coordinator_addr, rs_cfg.ns);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			int lvl = log_level_parse(getenv("LOG_LEVEL") ? getenv("LOG_LEVEL") : "info");

			if (lvl >= 0)
				log_threshold = lvl;
			log_info("SIGHUP: log level re-read; other settings need a restart");
			continue;
		}
		break;
	}
	log_info("signal %d: draining", sig);
	dashboard_stop();
	http_stop(); /* also stops the waiter */
	sync_stop();
	report_stop();
	coord_pool_free();
	otel_shutdown(3000); /* after the serving threads: flushes their last spans */
	rs_index_free();
	rs_config_free(&rs_cfg);
	curl_global_cleanup();
	log_info("stopped");
	return 0;
}
