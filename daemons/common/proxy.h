/*
 * proxy.h - forwarding mock traffic to a mock's proxy.target, shared by every
 * daemon that serves mocks (the admin node and the mock resolvers).
 *
 * ms_proxy_hook() is a ready-made ms_hooks.proxy: it forwards the request with
 * libcurl under the private-address policy held by an ms_proxy_config passed
 * as the hooks' ctx. Call curl_global_init() once before the first request
 * (before starting threads), as libcurl requires.
 */
#ifndef MOCKARTY_PROXY_H
#define MOCKARTY_PROXY_H

#include "mockserve.h"

#include <stdatomic.h>
#include <stdbool.h>

/*
 * The proxy policy of a daemon. allow_private_ips (ALLOW_PROXY_TO_PRIVATE_IPS)
 * lets targets resolve to loopback, private, link-local or unspecified
 * addresses; atomic because a reload may change it while serving threads read it.
 */
typedef struct ms_proxy_config {
	atomic_bool allow_private_ips;
} ms_proxy_config;

/*
 * ms_hooks.proxy: ctx is an ms_proxy_config (NULL = private targets refused).
 * Sends req's method, headers (hop-by-hop ones dropped), body and raw query to
 * target + path, following no redirect, and fills res with the upstream
 * status, headers (hop-by-hop ones dropped) and body, plus X-Request-Id.
 * A refused target (not http/https, does not resolve, a private address
 * after resolution) or a failed call is a 502 envelope with code "external";
 * out of memory is a 500 envelope. Blocks the calling thread for at most the
 * upstream timeout (30 s). mockserve applies the mock's delay afterwards.
 */
void ms_proxy_hook(void *ctx, ms_request *req, const char *target, const char *path, ms_result *res);

struct sockaddr;
/*
 * The address policy of every outbound call (proxy, webhooks): true for
 * loopback, private (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7),
 * link-local, unspecified and broadcast addresses and unknown families, which
 * a call may reach only when ALLOW_PROXY_TO_PRIVATE_IPS=true.
 */
bool ms_addr_is_private(const struct sockaddr *sa);

#endif /* MOCKARTY_PROXY_H */
