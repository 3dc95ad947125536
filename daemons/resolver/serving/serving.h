/*
 * serving/serving.h - the mock traffic port of mock-resolver.
 *
 * serving/ owns HTTP_PORT: mock traffic of the one namespace through
 * mockserve (local snapshot, Coordinator.Resolve for stateful mocks, proxy
 * hand-off, delays), /health/live, /health/ready and /metrics there
 * (serving/http.c), and the waiter that resumes suspended connections at
 * their deadline or when X-Mockarty-Min-Version is reached
 * (serving/waiter.c). It may call the base layer (resolver.h), link/
 * (resolve, report, applied version) and dashboard/ (statistics, the
 * status and metrics documents); nothing but main.c calls it.
 */
#ifndef MOCKARTY_RESOLVER_SERVING_H
#define MOCKARTY_RESOLVER_SERVING_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

bool http_start(void);
void http_stop(void);

/*
 * An embedder's extra GET/HEAD routes on HTTP_PORT (the generated-server frame sets it for
 * /health and /spec; the resolver leaves it NULL): called before mock matching with the path
 * (plen bytes of uri, no query). Returns 0 when the path is not the embedder's, 1 after it
 * queued a response (*ret: MHD's answer).
 */
extern int (*http_extra_get)(struct MHD_Connection *conn, const char *uri, size_t plen, enum MHD_Result *ret);

/* ------------------------------------------------------------ waiter.c */

/*
 * Resumes conn at deadline_ms (monotonic), or as soon as the applied version
 * reaches min_version when min_version > 0. *flag is set to 1 when it resumed
 * because the version arrived, 2 on the deadline. The connection must already
 * be suspended by the caller.
 */
bool waiter_add(struct MHD_Connection *conn, int64_t deadline_ms, uint64_t min_version, int *flag);
/* Wakes the waiter: the applied version changed. */
void waiter_kick(void);
bool waiter_start(void);
/* Resumes everything still waiting (flag 2) and joins. */
void waiter_stop(void);

#endif /* MOCKARTY_RESOLVER_SERVING_H */
