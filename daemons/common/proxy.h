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

/* PROXY_MAX_CONCURRENT when unset. */
#define MS_PROXY_DEFAULT_MAX_CONCURRENT 256

/*
 * The proxy policy of a daemon. allow_private_ips (ALLOW_PROXY_TO_PRIVATE_IPS)
 * lets targets resolve to loopback, private, link-local or unspecified
 * addresses; max_concurrent (PROXY_MAX_CONCURRENT, <= 0 = the default) caps
 * the proxied requests in flight in the process. Atomic because a reload may
 * change them while serving threads read them.
 */
typedef struct ms_proxy_config {
	atomic_bool allow_private_ips;
	atomic_int max_concurrent;
} ms_proxy_config;

/*
 * ms_hooks.proxy: ctx is an ms_proxy_config (NULL = private targets refused,
 * default cap). Never blocks: it prepares an upstream call and leaves it in
 * res->proxy_call (res->response NULL); the transport then suspends the
 * connection and calls ms_proxy_start(). Answered at once instead (res filled,
 * no call): over the concurrency cap a 503 envelope with Retry-After naming
 * PROXY_MAX_CONCURRENT; an invalid or non-http(s) target a 502 envelope with
 * code "external"; out of memory a 500 envelope.
 */
void ms_proxy_hook(void *ctx, ms_request *req, const char *target, const char *path, ms_result *res);

/*
 * Sends a prepared call on the process's proxy thread (started on first use).
 * The caller has suspended its connection; done(arg) runs once, on the proxy
 * thread (or at once when the node is stopping), when the answer is in or the
 * call failed: it should only resume the connection. req->body, borrowed by
 * the call, must stay valid until then.
 */
void ms_proxy_start(ms_proxy_call *call, void (*done)(void *arg), void *arg);

/*
 * After done ran, on the serving thread: fills res (its delay_ms is kept)
 * with the upstream status, headers (hop-by-hop ones dropped) and body plus
 * X-Request-Id, or an envelope: 502 "external" when the target was refused by
 * the address guard (the message names ALLOW_PROXY_TO_PRIVATE_IPS), failed or
 * timed out (10 s connect, 30 s total), 503 with Retry-After when the answer
 * did not fit the node's buffer budget (REQUEST_BUFFER_BUDGET_MB). Then fires
 * the hit's callbacks and mock.resolved event with that status (res->after).
 * Frees call.
 */
void ms_proxy_finish(ms_proxy_call *call, ms_result *res);

/* Frees a call that was never started (e.g. the request was aborted first). */
void ms_proxy_call_free(ms_proxy_call *call);

/*
 * Stops the proxy thread: every call in flight is completed (done runs, the
 * answer is a 502 "node is shutting down"); later starts complete at once.
 */
void ms_proxy_shutdown(void);

/* Proxied requests in flight in the process (what PROXY_MAX_CONCURRENT caps). */
int ms_proxy_active(void);

struct mt_buf;
/* Appends mockarty_proxy_in_flight and mockarty_proxy_refused_total to a /metrics page. */
void ms_proxy_metrics_write(struct mt_buf *b);

struct sockaddr;
/*
 * The address policy of every outbound call (proxy, webhooks), checked on the
 * address actually connected to: true for loopback, private (10/8, 172.16/12,
 * 192.168/16, 100.64/10, fc00::/7), link-local, unspecified, benchmarking
 * (198.18/15), multicast (224/4, ff00::/8), reserved and broadcast (240/4),
 * IPv4-compatible (::/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
 * addresses and unknown families, which a call may reach only when
 * ALLOW_PROXY_TO_PRIVATE_IPS=true.
 */
bool ms_addr_is_private(const struct sockaddr *sa);

#endif /* MOCKARTY_PROXY_H */
