/*
 * main.c - mockarty-admin: the admin node. Reads the environment, starts the
 * LISTEN/snapshot thread, the flusher, the delay timer, the HTTP server and the
 * gRPC coordinator (coordinator.c), then waits for signals.
 *
 * Signal handlers only set flags; this thread acts on them (pgbouncer's
 * pattern), because almost nothing is async-signal-safe. Every other thread
 * blocks the handled signals, so they are always delivered here, and
 * sigsuspend() makes "check flags, then sleep" free of lost wake-ups.
 * SIGTERM/SIGINT drain in-flight requests and exit 0; SIGHUP re-reads the
 * environment and keeps the old configuration when the new one is invalid.
 */
#include "node/node.h"
#include "server.h"
#include "serving/serving.h"
#include "coordinator/coordinator.h"
#include "delivery/webhooks.h"

#include "bufbudget.h"
#include "log.h"
#include "otel.h"
#include "pgpool.h"
#include "uiserve.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

/*
 * Applies the settings that can change at run time. Port, bind address, DSN
 * and thread count need a restart; a change to them is reported, not applied.
 */
static void
reload(void)
{
	mk_config next;
	char err[512];

	if (!config_load(&next, err, sizeof(err))) {
		log_warn("SIGHUP: configuration not reloaded, keeping the old one: %s", err);
		return;
	}
	if (next.http_port != admin_cfg.http_port || strcmp(next.db_dsn, admin_cfg.db_dsn) != 0 ||
	    strcmp(next.http_bind_addr, admin_cfg.http_bind_addr) != 0 ||
	    next.threads != admin_cfg.threads)
		log_warn("SIGHUP: HTTP_PORT, HTTP_BIND_ADDR, DB_DSN and THREADS apply after a restart");
	log_threshold = next.log_level;
	admin_cfg.log_level = next.log_level;
	admin_cfg.auth_local = next.auth_local;
	admin_cfg.body_limit = next.body_limit;
	admin_cfg.allow_private_ips = next.allow_private_ips;
	admin_cfg.write_visibility_ms = next.write_visibility_ms;
	admin_cfg.session_ttl_s = next.session_ttl_s;
	admin_cfg.login_throttle_max = next.login_throttle_max;
	admin_cfg.login_throttle_window_s = next.login_throttle_window_s;
	admin_cfg.template_output_limit = next.template_output_limit;
	ms_set_template_output_limit(next.template_output_limit);
	atomic_store(&admin_proxy_cfg.allow_private_ips, next.allow_private_ips);
	admin_cfg.proxy_max_concurrent = next.proxy_max_concurrent;
	atomic_store(&admin_proxy_cfg.max_concurrent, next.proxy_max_concurrent);
	admin_cfg.buffer_budget = next.buffer_budget;
	bufbudget_set_limit(next.buffer_budget);
	config_free(&next);
	auth_cache_purge();
	log_info("SIGHUP: configuration reloaded");
}

int
main(void)
{
	char err[512];
	sigset_t handled, old;
	struct sigaction sa;

	if (!config_load(&admin_cfg, err, sizeof(err))) {
		fprintf(stderr, "mockarty-admin: %s\n", err);
		return 2;
	}
	log_threshold = admin_cfg.log_level;
	if (!ui_dir_init(err, sizeof(err))) { /* the console's developer switch (console.c) */
		fprintf(stderr, "mockarty-admin: %s\n", err);
		return 2;
	}
	atomic_store(&admin_proxy_cfg.allow_private_ips, admin_cfg.allow_private_ips);
	atomic_store(&admin_proxy_cfg.max_concurrent, admin_cfg.proxy_max_concurrent);
	bufbudget_set_limit(admin_cfg.buffer_budget);
	ms_set_template_output_limit(admin_cfg.template_output_limit);
	admin_started_at = time(NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* threads created from here on inherit the blocked mask */
	sigemptyset(&handled);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &handled, &old);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !pgpool_init(admin_cfg.db_dsn, admin_cfg.db_pool_size, "mockarty-admin")) {
		log_error("initialisation failed");
		return 1;
	}
	if (!otel_init("admin", err, sizeof(err))) {
		fprintf(stderr, "mockarty-admin: %s\n", err);
		return 2;
	}
	auth_bootstrap(); /* first start: a one-time password for user admin */
	if (!timer_start() || !flusher_start() || !snapshot_start() || !server_start() ||
	    !coordinator_start() || !webhooks_start()) {
		log_error("startup failed");
		return 1;
	}
	log_info("mockarty-admin %s started (auth %s)", ADMIN_RELEASE_ID,
		 admin_cfg.auth_local ? "local" : "full");

	while (!got_term) {
		sigset_t wait_mask = old;

		sigdelset(&wait_mask, SIGTERM);
		sigdelset(&wait_mask, SIGINT);
		sigdelset(&wait_mask, SIGHUP);
		if (!got_term && !got_hup)
			sigsuspend(&wait_mask); /* returns after a handler ran */
		if (got_hup) {
			got_hup = 0;
			reload();
		}
	}
	log_info("shutting down: draining requests");
	webhooks_stop();
	coordinator_stop();
	server_stop();
	flusher_stop();
	snapshot_stop();
	pgpool_shutdown();
	otel_shutdown(3000); /* after the serving threads: flushes their last spans */
	curl_global_cleanup();
	config_free(&admin_cfg);
	log_info("stopped");
	return 0;
}
