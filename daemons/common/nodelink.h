/*
 * nodelink.h - the link state and watchdog of a node that holds a
 * coordinator session (mock-resolver's Sync stream, runner-agent's Connect
 * stream, and the generated servers to come): the state shown on dashboards
 * and /health/ready (connecting, connected, disconnected, auth refused), the
 * last gRPC code and error, the reconnect counter, the reconnect backoff with
 * +-20 % jitter, and the watchdog that ends a stream silent for too long.
 *
 * A node keeps one nodelink per stream. Its stream thread reports what
 * happens (nl_stream_begin / nl_event / nl_connected / nl_stream_end /
 * nl_stream_ended) and waits nl_next_wait() between attempts; another thread
 * calls nl_watchdog() about once a second. Everything is guarded by the
 * link's own mutex, so any thread may read nl_get(). The module knows nothing
 * of gRPC: the stream is an opaque pointer ended through cfg.interrupt.
 */
#ifndef MOCKARTY_NODELINK_H
#define MOCKARTY_NODELINK_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum nl_state {
	NL_CONNECTING = 0, /* never connected yet, or reconnecting */
	NL_CONNECTED,      /* the stream is open and the coordinator answered on it */
	NL_DISCONNECTED,   /* the last attempt failed; waiting out the backoff */
	NL_AUTH_REFUSED    /* UNAUTHENTICATED / PERMISSION_DENIED: the token is not accepted */
} nl_state;

/* "connecting", "connected", "disconnected", "auth_refused" (the dashboards' words). */
extern const char *const nl_state_names[];

/* gRPC status codes that mean "the token is refused" (gRPC spec numbers). */
#define NL_CODE_PERMISSION_DENIED 7
#define NL_CODE_UNAUTHENTICATED 16

typedef struct nl_config {
	int64_t backoff_initial_ms; /* first wait after a failure, and after a stream that worked */
	int64_t backoff_max_ms;     /* the wait never grows beyond this (before jitter) */
	int backoff_factor_pct;     /* growth per failed attempt: 200 = doubles, 160 = x1.6 */
	void (*interrupt)(void *stream); /* ends a stream in progress (any thread) */
	int64_t (*mono_ms)(void);        /* monotonic clock; NULL = CLOCK_MONOTONIC (tests set it) */
	int64_t (*wall_ms)(void);        /* wall clock; NULL = CLOCK_REALTIME */
} nl_config;

/* What a dashboard shows of the link (a copy; see nl_get). */
typedef struct nl_status {
	nl_state state;
	int last_code;              /* gRPC code of the last ended stream or refused call */
	char last_error[512];       /* its message */
	int64_t connected_since_ms; /* wall clock of the last change to connected, 0 = never */
	int64_t last_event_ms;      /* wall clock of the last stream event, 0 = never */
	uint64_t reconnects;        /* streams (or connects) that ended */
} nl_status;

typedef struct nodelink {
	pthread_mutex_t mu; /* guards everything below */
	nl_config cfg;
	nl_status st;
	int64_t backoff_ms;   /* the next wait before jitter */
	void *stream;         /* the stream in progress, NULL between streams */
	int64_t last_rx_mono; /* last event (or stream start), monotonic ms */
	bool watchdog_fired;  /* on the stream in progress */
	int last_logged;      /* the code of the last stream end worth a log line, -1 = none */
} nodelink;

/* A nodelink before nl_init: its mutex usable, its status "connecting" with zeros. */
#define NODELINK_INIT {.mu = PTHREAD_MUTEX_INITIALIZER, .last_logged = -1}

/*
 * Prepares l (NL_CONNECTING, backoff at its initial value; cfg is copied).
 * l must start as NODELINK_INIT, so that readers may call nl_get before and
 * while it runs (a dashboard answering before the stream thread starts).
 */
void nl_init(nodelink *l, const nl_config *cfg);

/*
 * Sets the state; when code >= 0 also the last code and error (msg NULL = "").
 * NL_CONNECTED stamps connected_since_ms.
 */
void nl_set_state(nodelink *l, nl_state state, int code, const char *msg);
/* The coordinator answered on the stream (Welcome, first event): connected, error cleared. */
void nl_connected(nodelink *l);
/* A unary call or a stream was refused with code: auth_refused when it is a refusal code. */
bool nl_is_refusal(int code);

/* A stream starts: the watchdog watches it from now. */
void nl_stream_begin(nodelink *l, void *stream);
/* One event arrived on the stream: feeds the watchdog and last_event_ms. */
void nl_event(nodelink *l);
/* The stream is over (closed by the caller afterwards); true when the watchdog ended it. */
bool nl_stream_end(nodelink *l);
/* Ends the stream in progress now, if any (shutdown). */
void nl_interrupt(nodelink *l);

/*
 * Ends the stream in progress when no event came for more than limit_ms
 * (logged once per stream). Returns true when it fired now.
 */
bool nl_watchdog(nodelink *l, int64_t limit_ms);

/*
 * Records the end of an attempt: one more reconnect, the state (auth_refused
 * for a refusal code, else disconnected) with code and msg. worked = the
 * stream had been accepted, so the backoff starts over. Returns true when the
 * end deserves a log line: a code other than the last one logged, or (not a
 * refusal) a stream that had worked.
 */
bool nl_stream_ended(nodelink *l, bool worked, int code, const char *msg);
/*
 * The wait before the next attempt: the current backoff with +-20 % jitter.
 * The backoff then grows by the factor, up to the maximum.
 */
int64_t nl_next_wait(nodelink *l);
/* After the wait: connecting again, unless the token was refused (that stays visible). */
void nl_retrying(nodelink *l);

/* A copy of the status. */
void nl_get(nodelink *l, nl_status *out);
bool nl_is_connected(nodelink *l);

/*
 * Sets the link's fields of a dashboard's "coordinator" object: state,
 * connected, authRefused, lastCode, lastError, connectedSinceMs, lastEventMs,
 * reconnects. Returns obj.
 */
json_t *nl_status_json(const nl_status *st, json_t *obj);

/* ms with +-20 % jitter (getrandom). */
int64_t nl_jitter(int64_t ms);

#endif /* MOCKARTY_NODELINK_H */
