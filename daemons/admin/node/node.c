/*
 * node.c - the admin node's process-wide state: the configuration in force,
 * the start time, the request counters every thread bumps, and the proxy
 * policy that mock traffic and webhook delivery share. main.c fills them at
 * start and replaces the configuration on SIGHUP; everyone else reads.
 */
#include "node/node.h"

mk_config admin_cfg;
time_t admin_started_at;
atomic_ullong admin_requests_total;
atomic_ullong admin_mock_hits_total;
atomic_ullong admin_mock_misses_total;
ms_proxy_config admin_proxy_cfg;
