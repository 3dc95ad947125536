/*
 * health.c - the admin node's health and metrics endpoints: /health (the SDKs'
 * shape with a database check), /health/live, /health/ready (with mock-loading
 * progress) and /metrics (Prometheus text, common/metrics.c).
 *
 * Nothing here may wait long on the database: liveness never touches it, and
 * the task counts a scrape shows are polled by one background thread.
 */
#include "node/node.h"
#include "serving/serving.h"
#include "rest/handlers.h"

#include "coordinator/runners.h"
#include "coordinator/coordinator.h"
#include "bufbudget.h"
#include "eventq.h"
#include "delivery/evsink.h"
#include "log.h"
#include "metrics.h"
#include "pgpool.h"
#include "delivery/webhooks.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ health */

static void
format_uptime(char *buf, size_t len)
{
	mt_go_duration((long long)(time(NULL) - admin_started_at), buf, len);
}

static void
rfc3339_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* GET /health: the SDKs' shape (api-compat 2.1), with a database check. */
void
rest_health(api_req *req, api_resp *resp)
{
	api_resp tmp = {0};
	json_t *one = NULL;
	char now[32], up[32];
	bool db_ok = db_json(req, &tmp, "SELECT 1", 0, NULL, &one);
	const char *output = "";
	json_t *body;

	if (!db_ok)
		output = json_string_value(json_object_get(tmp.json, "error"));
	rfc3339_now(now, sizeof(now));
	format_uptime(up, sizeof(up));
	body = json_pack("{s:s, s:s, s:{s:[{s:s, s:s, s:s}]}, s:s, s:I, s:I}", "status",
			 db_ok ? "pass" : "fail", "releaseId", ADMIN_RELEASE_ID, "checks", "database",
			 "status", db_ok ? "pass" : "fail", "time", now, "output", output ? output : "",
			 "uptime", up, "mocksLoaded", (json_int_t)snapshot_count(), "version",
			 (json_int_t)snapshot_version());
	api_json(resp, db_ok ? 200 : 503, body);
	json_decref(tmp.json);
	json_decref(one);
}

/* GET /health/live: the guide's shape on every component, {"status","releaseId","uptime"}. */
void
rest_live(api_req *req, api_resp *resp)
{
	char up[32];

	(void)req;
	format_uptime(up, sizeof(up));
	api_json(resp, 200,
		 json_pack("{s:s, s:s, s:s}", "status", "ok", "releaseId", ADMIN_RELEASE_ID, "uptime", up));
}

void
rest_ready(api_req *req, api_resp *resp)
{
	long long done, total;

	if (snapshot_ready() && pgpool_healthy()) {
		api_json(resp, 200, json_pack("{s:s, s:I}", "status", "pass", "mocksLoaded",
					     (json_int_t)snapshot_count()));
	} else if (snapshot_loading(&done, &total)) {
		if (total >= 0)
			api_error(req, resp, 503, "unavailable", "not ready: loading mocks (%lld of %lld)",
				  done, total);
		else
			api_error(req, resp, 503, "unavailable", "not ready: loading mocks (%lld)", done);
		json_object_set_new(resp->json, "loading",
				    json_pack("{s:I, s:I}", "loaded", (json_int_t)done, "total",
					      (json_int_t)total));
	} else {
		api_error(req, resp, 503, "unavailable", "not ready");
	}
}

/* ----------------------------------------------------------------- metrics */

/*
 * What a scrape reads beyond node/metrics.c's histograms. The task counts come from mockarty.task_stats(), polled by one
 * background thread every TASK_STATS_SECONDS so that a scrape never waits for
 * the database and scrapers cannot multiply its load.
 */
#define TASK_STATS_SECONDS 5

static struct {
	pthread_mutex_t mu;
	json_t *stats; /* the last answer of mockarty.task_stats(), or NULL */
	bool warned;
} tasks = {.mu = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t tasks_once = PTHREAD_ONCE_INIT;


/* One poll of mockarty.task_stats(); keeps the previous answer when it fails. */
static void
tasks_poll(void)
{
	PGconn *c = pgpool_get(2000);
	PGresult *r;
	json_t *j = NULL;
	bool ok;

	if (c == NULL)
		return;
	r = PQexec(c, "SELECT mockarty.task_stats()::text");
	ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	if (ok)
		j = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
	else if (!tasks.warned) {
		tasks.warned = true; /* only this thread writes it */
		log_warn("metrics: mockarty.task_stats() failed: %s", PQerrorMessage(c));
	}
	PQclear(r);
	pgpool_put(c, PQstatus(c) != CONNECTION_OK);
	if (json_is_object(j)) {
		pthread_mutex_lock(&tasks.mu);
		json_decref(tasks.stats);
		tasks.stats = j;
		pthread_mutex_unlock(&tasks.mu);
	} else {
		json_decref(j);
	}
}

static void *
tasks_refresher(void *arg)
{
	(void)arg;
	for (;;) {
		tasks_poll();
		sleep(TASK_STATS_SECONDS); /* a poll period, not a wait for a condition */
	}
	return NULL;
}

/* Started by the first scrape: a node nobody scrapes never polls. */
static void
tasks_start(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, tasks_refresher, NULL) == 0)
		pthread_detach(t);
	else
		log_warn("metrics: cannot start the task-stats thread");
}

/* mockarty_task_queue_depth{kind} (queued) and mockarty_tasks{kind,status}. */
static void
tasks_write(mt_buf *b)
{
	const char *kind, *status;
	json_t *counts, *n;

	pthread_mutex_lock(&tasks.mu);
	if (tasks.stats != NULL) {
		mt_family(b, "mockarty_task_queue_depth", "gauge",
			  "Tasks queued and waiting for a runner, by kind (mockarty.task_stats(), "
			  "refreshed every 5 s).");
		json_object_foreach(tasks.stats, kind, counts) {
			mt_printf(b, "mockarty_task_queue_depth{kind=\"");
			mt_label_value(b, kind);
			mt_printf(b, "\"} %lld\n",
				  (long long)json_integer_value(json_object_get(counts, "queued")));
		}
		mt_family(b, "mockarty_tasks", "gauge",
			  "Tasks by kind and status (mockarty.task_stats(), refreshed every 5 s).");
		json_object_foreach(tasks.stats, kind, counts) {
			json_object_foreach(counts, status, n) {
				mt_printf(b, "mockarty_tasks{kind=\"");
				mt_label_value(b, kind);
				mt_printf(b, "\",status=\"");
				mt_label_value(b, status);
				mt_printf(b, "\"} %lld\n", (long long)json_integer_value(n));
			}
		}
	}
	pthread_mutex_unlock(&tasks.mu);
}

/* Resolvers with a Sync stream open (coordinator_nodes_json lists runners too, as kind "runner"). */
static size_t
connected_resolvers(void)
{
	json_t *nodes = coordinator_nodes_json(false), *n;
	size_t i, count = 0;

	json_array_foreach(nodes, i, n) {
		const char *kind = json_string_value(json_object_get(n, "kind"));

		if (kind == NULL || strcmp(kind, "resolver") == 0)
			count++;
	}
	json_decref(nodes);
	return count;
}

/*
 * GET /metrics: the guide's names (mockarty_mock_resolutions_total,
 * mockarty_request_duration_seconds, mockarty_active_mocks,
 * mockarty_store_operations_total), the connected resolvers and runners, the
 * task queue, webhook deliveries, the admin node's own counters (mockarty_admin_*) and process
 * metrics. Prometheus text format 0.0.4.
 */
void
rest_metrics(api_req *req, api_resp *resp)
{
	mt_buf b = {0};
	coord_runners_stats rs;
	webhooks_counters wh;

	pthread_once(&tasks_once, tasks_start);
	coord_runners_stats_get(&rs);
	webhooks_counters_get(&wh);
	mt_resolutions_write(&b);
	admin_metrics_write(&b);
	mt_gauge(&b, "mockarty_active_mocks", "Live mocks in the in-memory snapshot.",
		 (double)snapshot_count());
	mt_gauge(&b, "mockarty_connected_resolvers",
		 "Mock resolvers with a Sync stream open to this node's coordinator.",
		 (double)connected_resolvers());
	mt_gauge(&b, "mockarty_connected_runners",
		 "Runner agents with a Connect stream open to this node's coordinator.",
		 (double)rs.connected);
	mt_family(&b, "mockarty_coordinator_runner_events_total", "counter",
		  "Runner protocol events on this node's coordinator, by event.");
	mt_printf(&b,
		  "mockarty_coordinator_runner_events_total{event=\"connect\"} %llu\n"
		  "mockarty_coordinator_runner_events_total{event=\"offer\"} %llu\n"
		  "mockarty_coordinator_runner_events_total{event=\"accept_won\"} %llu\n"
		  "mockarty_coordinator_runner_events_total{event=\"accept_lost\"} %llu\n"
		  "mockarty_coordinator_runner_events_total{event=\"complete\"} %llu\n"
		  "mockarty_coordinator_runner_events_total{event=\"lease_lost\"} %llu\n"
		  "mockarty_coordinator_runner_events_total{event=\"cancel\"} %llu\n",
		  (unsigned long long)rs.connects, (unsigned long long)rs.offers_sent,
		  (unsigned long long)rs.accepts_won, (unsigned long long)rs.accepts_lost,
		  (unsigned long long)rs.completes, (unsigned long long)rs.lease_lost,
		  (unsigned long long)rs.cancels_sent);
	tasks_write(&b);
	mt_family(&b, "mockarty_webhook_deliveries_total", "counter",
		  "Webhook delivery attempts by outcome: success (2xx), error (other status, timeout, "
		  "connection failure), refused (private address not allowed).");
	{
		/* failed_attempts includes the refused ones; report them apart */
		unsigned long long refused = wh.refused,
				   errors = wh.failed_attempts > wh.refused ? wh.failed_attempts - wh.refused : 0;

		mt_printf(&b,
			  "mockarty_webhook_deliveries_total{outcome=\"success\"} %llu\n"
			  "mockarty_webhook_deliveries_total{outcome=\"error\"} %llu\n"
			  "mockarty_webhook_deliveries_total{outcome=\"refused\"} %llu\n",
			  (unsigned long long)wh.succeeded, errors, refused);
	}
	mt_counter(&b, "mockarty_webhook_deliveries_failed_total",
		   "Webhook deliveries marked failed after their last attempt.",
		   (unsigned long long)wh.failed_final);
	eq_metrics_write(&b, wh.shed); /* the serving threads' queue (eventq.h) */
	bufbudget_metrics_write(&b);
	ms_proxy_metrics_write(&b);
	mt_counter(&b, "mockarty_webhook_resolver_events_shed_total",
		   "Webhook events and callbacks the connected mock resolvers reported as shed.",
		   (unsigned long long)evsink_remote_shed());
	mt_gauge(&b, "mockarty_webhook_inflight", "Webhook requests in flight now.",
		 (double)wh.inflight);
	mt_counter(&b, "mockarty_coordinator_deferred_auth_total",
		   "gRPC calls whose integration token was verified on a worker thread, not on the event loop.",
		   coordinator_deferred_auth());
	mt_counter(&b, "mockarty_auth_verifications_total",
		   "API token verifications that reached the database (cached answers and refusals are not counted).",
		   (unsigned long long)atomic_load(&admin_auth_verifications_total));
	mt_counter(&b, "mockarty_admin_requests_total", "HTTP requests received.",
		   (unsigned long long)atomic_load(&admin_requests_total));
	mt_counter(&b, "mockarty_admin_mock_hits_total", "Mock traffic requests answered by a mock.",
		   (unsigned long long)atomic_load(&admin_mock_hits_total));
	mt_counter(&b, "mockarty_admin_mock_misses_total", "Mock traffic requests no mock matched.",
		   (unsigned long long)atomic_load(&admin_mock_misses_total));
	mt_gauge(&b, "mockarty_admin_mocks_loaded", "Live mocks in the in-memory snapshot.",
		 (double)snapshot_count());
	mt_gauge(&b, "mockarty_admin_snapshot_version", "Change-log version the snapshot is at.",
		 (double)snapshot_version());
	mt_gauge(&b, "mockarty_admin_database_up", "1 when the database is reachable.",
		 pgpool_healthy() ? 1 : 0);
	mt_process_write(&b);
	if (b.oom) {
		free(b.s);
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	api_json(resp, 200, NULL);
	resp->raw = b.s;
	resp->raw_len = b.len;
	resp->content_type = "text/plain; version=0.0.4";
}
