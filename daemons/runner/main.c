/*
 * main.c - runner-agent: executes the API test collections and load tests that
 * the admin node's gRPC coordinator dispatches (integrations guide, "Runner
 * Agents").
 *
 * Start-up order follows what must exist before work arrives: configuration
 * (a missing COORDINATOR_ADDR / API_TOKEN or a refused value is exit code 2
 * with the variable named), libcurl (its global init is not thread-safe and
 * the API-test engine uses it from task threads), the task slots and their
 * control thread, the dashboard port (answering /health/ready 503 until the
 * coordinator welcomed us), then the Connect stream. Signals are blocked in
 * every thread and taken here with sigwait, so no handler runs inside library
 * code. SIGTERM/SIGINT: stop taking tasks, let running ones finish for up to
 * 10 s, then abandon the rest (their leases expire and the scheduler hands
 * them to another runner) and exit 0. SIGHUP re-reads LOG_LEVEL only.
 *
 * main.c is the one place that wires the folders together: the stream's
 * events (link/) go to the task slots (tasks/), and the control thread's tick
 * samples process stats (dashboard/) and runs the stream watchdog (link/), so
 * no folder calls back into one that calls it.
 */
#include "otel.h"
#include "runner.h"
#include "dashboard/dashboard.h"
#include "link/link.h"
#include "tasks/tasks.h"

#include "log.h"
#include "uiserve.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_MS 10000

/* The once-a-second work of the tasks/ control thread: process stats and the stream watchdog. */
static void
tick(void)
{
	stats_sample();
	session_watchdog();
}

/* The Connect stream's events go to the task slots. */
static const rn_link_handlers link_to_tasks = {.welcomed = tasks_kick,
                                               .offer = tasks_offer,
                                               .cancel = tasks_cancel,
                                               .stream_ended = tasks_clear_offers};

int
main(int argc, char **argv)
{
	char err[512];
	sigset_t set;
	int sig = 0, rc, left;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			rn_config_help(argv[0]);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("runner-agent %s\n", RUNNER_RELEASE_ID);
			return 0;
		}
		fprintf(
		    stderr,
		    "runner-agent: unknown argument \"%s\" (configuration is by environment; see --help)\n",
		    argv[i]);
		return 2;
	}
	rc = rn_config_load(&rn_cfg, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "runner-agent: configuration error: %s\n(see %s --help)\n", err, argv[0]);
		return rc;
	}
	log_threshold = rn_cfg.log_level;
	if (!ui_dir_init(err, sizeof(err))) { /* the dashboard page's developer switch */
		fprintf(stderr, "runner-agent: configuration error: %s\n", err);
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
	{
		char oerr[300];

		if (!otel_init("runner", oerr, sizeof oerr)) {
			fprintf(stderr, "runner-agent: %s\n", oerr);
			return 2;
		}
	}
#if !RN_HAVE_TESTER
	if (rn_cfg.caps & RN_CAP_API_TEST)
		log_warn("built without the API-test engine: api_test tasks will fail with that reason");
#endif
#if !(RN_HAVE_TESTER && RN_HAVE_LOADGEN)
	if (rn_cfg.caps & RN_CAP_PERFORMANCE)
		log_warn("built without the load generator: performance tasks will fail with that reason");
#endif
	stats_sample();
	if (!tasks_init() || !tasks_start(tick)) {
		log_error("start-up failed (out of memory or threads)");
		return 1;
	}
	if (!dashboard_start()) {
		tasks_stop();
		return 1;
	}
	if (!session_start(&link_to_tasks)) {
		dashboard_stop();
		tasks_stop();
		return 1;
	}
	log_info("runner %s started: coordinator %s, %s, capabilities%s%s, max %d concurrent",
	         rn_cfg.runner_name, rn_cfg.coordinator_addr,
	         rn_cfg.shared ? "shared (all namespaces)" : rn_cfg.ns,
	         (rn_cfg.caps & RN_CAP_API_TEST) ? " api_test" : "",
	         (rn_cfg.caps & RN_CAP_PERFORMANCE) ? " performance" : "", rn_cfg.max_concurrent);

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
	log_info("signal %d: taking no new tasks; waiting up to %d s for %d running", sig, DRAIN_MS / 1000,
	         tasks_running());
	tasks_drain();
	/* the stream ends first (no more offers); heartbeats and completions keep working */
	session_stop();
	left = tasks_wait_idle(DRAIN_MS);
	if (left > 0)
		log_warn(
		    "%d task(s) still running after %d s: abandoning them (their leases expire and they are "
		    "re-queued)",
		    left, DRAIN_MS / 1000);
	tasks_stop();
	dashboard_stop();
	session_pool_free();
	otel_shutdown(3000);
	log_info("stopped");
	/* task threads that were abandoned may still be unwinding: leave the rest to exit() */
	return 0;
}
