/*
 * link/link.h - the coordinator session of runner-agent (link/session.c).
 *
 * link/ owns the connection to the admin node's coordinator: the
 * Runners.Connect server stream (Welcome, offers, cancels, pings), its
 * reconnect-with-backoff loop, the silence watchdog, the auth-refused state
 * (the last three through daemons/common/nodelink.h), and the pool of connections for the unary calls (AcceptTask,
 * TaskHeartbeat, AppendResults, CompleteTask). It may call the base layer
 * (runner.h: config, clocks), daemons/common and daemons/grpc, and nothing of
 * the other folders: what the stream says is handed to the rn_link_handlers
 * main.c passes to session_start (tasks/ is the receiver).
 */
#ifndef MOCKARTY_RUNNER_LINK_H
#define MOCKARTY_RUNNER_LINK_H

#include "nodelink.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rn_session_status {
	nl_status link; /* state, last code and error, reconnects, event times (nodelink.h) */
	char runner_id[64];
	uint32_t lease_ms;
	uint32_t heartbeat_ms;
	uint64_t offers;
	uint64_t pings;
} rn_session_status;

/* What the stream tells the rest of the runner; every member may be NULL. */
typedef struct rn_link_handlers {
	void (*welcomed)(void);                /* a Welcome arrived (new timers) */
	void (*offer)(const char *task_id);    /* an offer; NULL = "take the oldest eligible" */
	void (*cancel)(const char *task_id);   /* the user cancelled task_id */
	void (*stream_ended)(void);            /* the stream ended: pending offers are stale */
} rn_link_handlers;

/* Starts the Connect stream's thread; h is copied. */
bool session_start(const rn_link_handlers *h);
/* Ends the Connect stream and joins its thread (unary calls keep working). */
void session_stop(void);
void session_status(rn_session_status *out);
bool session_connected(void);
/* Copies the runner id of the current (or last) stream; false when none yet. */
bool session_runner_id(char *out, size_t cap);
/* Ends a stream that has been silent for too long (called about once a second). */
void session_watchdog(void);

/*
 * One unary call on the Runners service (method = "AcceptTask", ...) over a
 * small pool of mutex-guarded connections (the gRPC client runs one call at a
 * time). req/len are the packed request; on MK_GRPC_OK *resp (malloc'd) holds
 * the response. Returns the gRPC code; st->message says why on failure. An
 * UNAUTHENTICATED / PERMISSION_DENIED answer marks the session auth-refused.
 */
int session_unary(const char *method, const uint8_t *req, size_t len, int timeout_ms, uint8_t **resp,
                  size_t *resp_len, char *errmsg, size_t errcap);
void session_pool_free(void);

#endif /* MOCKARTY_RUNNER_LINK_H */
