/*
 * dashboard/status.c - the two documents an operator reads on either port:
 * /api/status (JSON: coordinator link, versions, counters, latency window, and
 * the last 120 one-second samples the dashboard's charts draw)
 * and /metrics (Prometheus text). Both are built from counters and the
 * link's status copy; a scrape takes no lock that serving takes.
 */
#include "resolver.h"
#include "dashboard/dashboard.h"
#include "link/link.h"

#include "bufbudget.h"
#include "eventq.h"
#include "metrics.h"
#include "proxy.h"

#include <stdlib.h>
#include <time.h>

void
uptime_text(char *out, size_t cap)
{
	mt_go_duration((long long)(time(NULL) - rs_started_at), out, cap);
}

json_t *
status_json(void)
{
	rs_sync_status ss;
	double rps, p50, p90, p99;
	char up[64];
	json_t *j = json_object(), *c = json_object(), *lat = json_object();

	if (j == NULL || c == NULL || lat == NULL) {
		json_decref(j);
		json_decref(c);
		json_decref(lat);
		return NULL;
	}
	sync_status(&ss);
	stats_window(&rps, &p50, &p90, &p99);
	uptime_text(up, sizeof(up));
#define SET(o, k, v) json_object_set_new(o, k, v)
	SET(j, "name", json_string(rs_cfg.resolver_name));
	SET(j, "namespace", json_string(rs_cfg.ns));
	SET(j, "releaseId", json_string(RESOLVER_RELEASE_ID));
	SET(j, "uptime", json_string(up));
	SET(j, "ready", json_boolean(ss.ready));
	SET(c, "addr", json_string(rs_cfg.coordinator_addr));
	/* state, connected, authRefused, lastCode, lastError, connectedSinceMs, lastEventMs,
	 * reconnects: the link's fields (nodelink.h), as on the runner's dashboard */
	nl_status_json(&ss.link, c);
	SET(c, "lastHeartbeatMs", json_integer(ss.last_heartbeat_ms));
	SET(c, "snapshots", json_integer((json_int_t)ss.snapshots));
	SET(c, "deltas", json_integer((json_int_t)ss.deltas));
	SET(c, "resyncs", json_integer((json_int_t)ss.resyncs));
	SET(j, "coordinator", c);
	SET(j, "appliedVersion", json_integer((json_int_t)ss.applied_version));
	SET(j, "headVersion",
	    json_integer(
	        (json_int_t)(ss.head_version > ss.applied_version ? ss.head_version : ss.applied_version)));
	SET(j, "mocksLoaded", json_integer((json_int_t)rs_mocks_loaded()));
	SET(j, "requests", json_integer((json_int_t)atomic_load(&st_requests)));
	SET(j, "cacheHits", json_integer((json_int_t)atomic_load(&st_hits)));
	SET(j, "remoteResolves", json_integer((json_int_t)atomic_load(&st_remote)));
	SET(j, "misses", json_integer((json_int_t)atomic_load(&st_misses)));
	SET(j, "errors", json_integer((json_int_t)atomic_load(&st_errors)));
	SET(j, "requestsPerSecond", json_real(rps));
	SET(lat, "p50", json_real(p50));
	SET(lat, "p90", json_real(p90));
	SET(lat, "p99", json_real(p99));
	SET(j, "latencySeconds", lat);
	SET(j, "dropped", json_integer((json_int_t)report_dropped()));
	SET(j, "reported", json_integer((json_int_t)report_sent()));
	SET(j, "reportResends", json_integer((json_int_t)report_resends()));
	SET(j, "minVersionWaits", json_integer((json_int_t)atomic_load(&st_waits)));
	SET(j, "minVersionTimeouts", json_integer((json_int_t)atomic_load(&st_wait_timeouts)));
	SET(j, "nowMs", json_integer(rs_wall_ms()));
	SET(j, "samples", samples_json(0));
#undef SET
	return j;
}

json_t *
samples_json(int64_t since)
{
	rs_sample s[RS_SAMPLES];
	int n = stats_samples(s, RS_SAMPLES, since);
	json_t *a = json_array();

	for (int i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f}", "t", (json_int_t)s[i].t,
		                                   "rps", s[i].rps, "p50", s[i].p50, "p95", s[i].p95, "p99",
		                                   s[i].p99, "hits", s[i].hits, "misses", s[i].misses));
	return a;
}

/*
 * The /metrics text (malloc'd; NULL when out of memory): the guide's names
 * (mockarty_mock_resolutions_total, mockarty_request_duration_seconds,
 * mockarty_active_mocks, mockarty_store_operations_total), the resolver names
 * of api-compat 2.1 (mockarty_resolver_*), and process metrics. Everything is
 * read from counters; a scrape takes no lock that serving takes.
 */
char *
metrics_text(void)
{
	rs_sync_status ss;
	mt_buf b = {0};
	unsigned long long hits = atomic_load(&st_hits), remote = atomic_load(&st_remote),
	                   misses = atomic_load(&st_misses), reqs = atomic_load(&st_requests);
	unsigned long long other = reqs > hits + remote + misses ? reqs - hits - remote - misses : 0;
	unsigned long long head;

	sync_status(&ss);
	head = ss.head_version > ss.applied_version ? ss.head_version : ss.applied_version;
	mt_resolutions_write(&b);
	stats_histogram_prom(&b);
	bufbudget_metrics_write(&b);
	ms_proxy_metrics_write(&b);
	mt_gauge(&b, "mockarty_active_mocks", "Live mocks in the applied snapshot.",
	         (double)rs_mocks_loaded());
	mt_family(&b, "mockarty_resolver_requests_total", "counter",
	          "Mock traffic requests answered, by result.");
	mt_printf(&b,
	          "mockarty_resolver_requests_total{result=\"local\"} %llu\n"
	          "mockarty_resolver_requests_total{result=\"remote\"} %llu\n"
	          "mockarty_resolver_requests_total{result=\"miss\"} %llu\n"
	          "mockarty_resolver_requests_total{result=\"other\"} %llu\n",
	          hits, remote, misses, other);
	mt_gauge(&b, "mockarty_resolver_mocks_loaded", "Mocks in the applied snapshot.",
	         (double)rs_mocks_loaded());
	mt_counter(&b, "mockarty_resolver_cache_hits_total", "Requests answered from the local snapshot.",
	           hits);
	mt_gauge(&b, "mockarty_resolver_coordinator_connected", "1 while a Sync stream is open.",
	         ss.link.state == NL_CONNECTED ? 1 : 0);
	mt_gauge(&b, "mockarty_resolver_coordinator_auth_refused",
	         "1 while the coordinator refuses API_TOKEN.", ss.link.state == NL_AUTH_REFUSED ? 1 : 0);
	mt_gauge(&b, "mockarty_resolver_applied_version", "Change-log version of the served state.",
	         (double)ss.applied_version);
	mt_gauge(&b, "mockarty_resolver_head_version", "Coordinator head version seen last.", (double)head);
	mt_counter(&b, "mockarty_resolver_dropped_total",
	           "Request logs and misses dropped (queue full or undeliverable).",
	           (unsigned long long)report_dropped());
	mt_counter(&b, "mockarty_resolver_report_resends_total",
	           "Report batches sent again after no ack (each batch is applied once).",
	           (unsigned long long)report_resends());
	mt_counter(&b, "mockarty_resolver_reconnects_total", "Sync streams that ended.",
	           (unsigned long long)ss.link.reconnects);
	mt_family(&b, "mockarty_resolver_min_version_waits_total", "counter",
	          "Requests that waited for X-Mockarty-Min-Version, by result.");
	mt_printf(&b,
	          "mockarty_resolver_min_version_waits_total{result=\"ok\"} %llu\n"
	          "mockarty_resolver_min_version_waits_total{result=\"timeout\"} %llu\n",
	          (unsigned long long)(atomic_load(&st_waits) - atomic_load(&st_wait_timeouts)),
	          (unsigned long long)atomic_load(&st_wait_timeouts));
	eq_metrics_write(&b, 0); /* webhook callbacks and mock.resolved events (eventq.h) */
	{
		uint64_t items, shed;

		report_webhook_unreported(&items, &shed);
		mt_gauge(&b, "mockarty_webhook_unreported",
		         "Webhook callbacks and mock.resolved events not yet acknowledged by the coordinator "
		         "(queued, parked or in a Report being sent).",
		         (double)items);
		mt_gauge(&b, "mockarty_webhook_shed_unreported",
		         "Shed webhook items not yet counted in a Report the coordinator accepted.",
		         (double)shed);
	}
	mt_process_write(&b);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
