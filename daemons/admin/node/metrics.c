/*
 * metrics.c - what the admin node's serving threads record for /metrics:
 * the duration of mock-traffic answers by route and status, and shared-state
 * operations (REST store calls, stateful resolutions in the database).
 * Lock-free (common/metrics.h), so recording never slows the hot path; the
 * families are written by rest/health.c at scrape time.
 */
#include "node/node.h"
#include "serving/serving.h"

static mt_histogram mock_duration;
static mt_histogram store_duration[ADMIN_STORE_NOPS];
static const char *const store_labels[ADMIN_STORE_NOPS] = {
    "operation=\"read\",source=\"api\"", "operation=\"write\",source=\"api\"",
    "operation=\"resolve\",source=\"mock\""};

void
admin_metrics_mock(const ms_result *res, int64_t usec)
{
	mt_hist_observe(&mock_duration, usec);
	mt_resolution(res->route_slot, res->response != NULL ? res->status : 500);
}

void
admin_metrics_store_op(admin_store_op op, int64_t usec)
{
	if ((unsigned)op < ADMIN_STORE_NOPS)
		mt_hist_observe(&store_duration[op], usec);
}

void
admin_metrics_write(mt_buf *b)
{
	mt_family(b, "mockarty_request_duration_seconds", "histogram",
		  "Time to answer a mock request on this node (mock delays excluded).");
	mt_hist_write(b, "mockarty_request_duration_seconds", "", &mock_duration);
	mt_family(b, "mockarty_store_operations_total", "counter",
		  "Shared-state operations: REST store reads and writes, and stateful mock "
		  "resolutions in the database.");
	for (int op = 0; op < ADMIN_STORE_NOPS; op++)
		mt_printf(b, "mockarty_store_operations_total{%s} %llu\n", store_labels[op],
			  mt_hist_count(&store_duration[op]));
	mt_family(b, "mockarty_store_operation_duration_seconds", "histogram",
		  "Latency of shared-state operations, by operation and source.");
	for (int op = 0; op < ADMIN_STORE_NOPS; op++)
		mt_hist_write(b, "mockarty_store_operation_duration_seconds", store_labels[op],
			      &store_duration[op]);
}
