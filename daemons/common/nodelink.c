/*
 * nodelink.c - the link state, reconnect backoff and silence watchdog shared
 * by every node that holds a coordinator session (nodelink.h).
 *
 * Constraints: the stream thread is blocked inside the gRPC client for as
 * long as the stream lasts, so the watchdog runs on another thread and ends
 * the stream through cfg.interrupt under the link's mutex - the stream thread
 * takes the same mutex to forget the stream before closing it, so the pointer
 * never dangles. The queue behind a coordinator is in PostgreSQL, so a lost
 * stream costs only latency: reconnects back off exponentially with +-20 %
 * jitter so a fleet does not stampede a restarted admin node, and start over
 * once a stream has worked. A refused token stays visible as auth_refused
 * while the node keeps retrying on the same schedule (it may be re-enabled).
 */
#include "nodelink.h"

#include "log.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

const char *const nl_state_names[] = {"connecting", "connected", "disconnected", "auth_refused"};

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mono(const nodelink *l)
{
	return l->cfg.mono_ms ? l->cfg.mono_ms() : clock_ms(CLOCK_MONOTONIC);
}

static int64_t
wall(const nodelink *l)
{
	return l->cfg.wall_ms ? l->cfg.wall_ms() : clock_ms(CLOCK_REALTIME);
}

void
nl_init(nodelink *l, const nl_config *cfg)
{
	pthread_mutex_lock(&l->mu);
	l->cfg = *cfg;
	if (l->cfg.backoff_initial_ms <= 0)
		l->cfg.backoff_initial_ms = 1000;
	if (l->cfg.backoff_max_ms < l->cfg.backoff_initial_ms)
		l->cfg.backoff_max_ms = l->cfg.backoff_initial_ms;
	if (l->cfg.backoff_factor_pct < 100)
		l->cfg.backoff_factor_pct = 100;
	memset(&l->st, 0, sizeof(l->st));
	l->st.state = NL_CONNECTING;
	l->backoff_ms = l->cfg.backoff_initial_ms;
	l->stream = NULL;
	l->last_rx_mono = 0;
	l->watchdog_fired = false;
	l->last_logged = -1;
	pthread_mutex_unlock(&l->mu);
}

static void
set_state_locked(nodelink *l, nl_state state, int code, const char *msg)
{
	l->st.state = state;
	if (code >= 0) {
		l->st.last_code = code;
		snprintf(l->st.last_error, sizeof(l->st.last_error), "%s", msg ? msg : "");
	}
	if (state == NL_CONNECTED)
		l->st.connected_since_ms = wall(l);
}

void
nl_set_state(nodelink *l, nl_state state, int code, const char *msg)
{
	pthread_mutex_lock(&l->mu);
	set_state_locked(l, state, code, msg);
	pthread_mutex_unlock(&l->mu);
}

void
nl_connected(nodelink *l)
{
	nl_set_state(l, NL_CONNECTED, 0, "");
}

bool
nl_is_refusal(int code)
{
	return code == NL_CODE_UNAUTHENTICATED || code == NL_CODE_PERMISSION_DENIED;
}

void
nl_stream_begin(nodelink *l, void *stream)
{
	pthread_mutex_lock(&l->mu);
	l->stream = stream;
	l->last_rx_mono = mono(l);
	l->watchdog_fired = false;
	pthread_mutex_unlock(&l->mu);
}

void
nl_event(nodelink *l)
{
	pthread_mutex_lock(&l->mu);
	l->last_rx_mono = mono(l);
	l->st.last_event_ms = wall(l);
	pthread_mutex_unlock(&l->mu);
}

bool
nl_stream_end(nodelink *l)
{
	bool fired;

	pthread_mutex_lock(&l->mu);
	l->stream = NULL;
	fired = l->watchdog_fired;
	pthread_mutex_unlock(&l->mu);
	return fired;
}

void
nl_interrupt(nodelink *l)
{
	pthread_mutex_lock(&l->mu);
	if (l->stream != NULL && l->cfg.interrupt != NULL)
		l->cfg.interrupt(l->stream);
	pthread_mutex_unlock(&l->mu);
}

bool
nl_watchdog(nodelink *l, int64_t limit_ms)
{
	bool fire;
	int64_t now = mono(l);

	pthread_mutex_lock(&l->mu);
	fire = l->stream != NULL && !l->watchdog_fired && now - l->last_rx_mono > limit_ms;
	if (fire) {
		log_warn("no event from the coordinator for %lld ms: reconnecting",
		         (long long)(now - l->last_rx_mono));
		l->watchdog_fired = true;
		if (l->cfg.interrupt != NULL)
			l->cfg.interrupt(l->stream);
	}
	pthread_mutex_unlock(&l->mu);
	return fire;
}

bool
nl_stream_ended(nodelink *l, bool worked, int code, const char *msg)
{
	bool refused = nl_is_refusal(code), log_it;

	pthread_mutex_lock(&l->mu);
	if (worked)
		l->backoff_ms = l->cfg.backoff_initial_ms; /* the stream worked: start over */
	l->st.reconnects++;
	set_state_locked(l, refused ? NL_AUTH_REFUSED : NL_DISCONNECTED, code, msg);
	log_it = l->last_logged != code || (!refused && worked);
	l->last_logged = code;
	pthread_mutex_unlock(&l->mu);
	return log_it;
}

int64_t
nl_next_wait(nodelink *l)
{
	int64_t b;

	pthread_mutex_lock(&l->mu);
	b = l->backoff_ms;
	l->backoff_ms = b * l->cfg.backoff_factor_pct / 100;
	if (l->backoff_ms > l->cfg.backoff_max_ms)
		l->backoff_ms = l->cfg.backoff_max_ms;
	pthread_mutex_unlock(&l->mu);
	return nl_jitter(b);
}

void
nl_retrying(nodelink *l)
{
	pthread_mutex_lock(&l->mu);
	if (l->st.state != NL_AUTH_REFUSED)
		l->st.state = NL_CONNECTING;
	pthread_mutex_unlock(&l->mu);
}

void
nl_get(nodelink *l, nl_status *out)
{
	pthread_mutex_lock(&l->mu);
	*out = l->st;
	pthread_mutex_unlock(&l->mu);
}

bool
nl_is_connected(nodelink *l)
{
	bool c;

	pthread_mutex_lock(&l->mu);
	c = l->st.state == NL_CONNECTED;
	pthread_mutex_unlock(&l->mu);
	return c;
}

json_t *
nl_status_json(const nl_status *st, json_t *obj)
{
	if (obj == NULL)
		return NULL;
	json_object_set_new(obj, "state", json_string(nl_state_names[st->state]));
	json_object_set_new(obj, "connected", json_boolean(st->state == NL_CONNECTED));
	json_object_set_new(obj, "authRefused", json_boolean(st->state == NL_AUTH_REFUSED));
	json_object_set_new(obj, "lastCode", json_integer(st->last_code));
	json_object_set_new(obj, "lastError", json_string(st->last_error));
	json_object_set_new(obj, "connectedSinceMs", json_integer(st->connected_since_ms));
	json_object_set_new(obj, "lastEventMs", json_integer(st->last_event_ms));
	json_object_set_new(obj, "reconnects", json_integer((json_int_t)st->reconnects));
	return obj;
}

int64_t
nl_jitter(int64_t ms)
{
	uint32_t r = 0;

	if (ms <= 0)
		return 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)clock_ms(CLOCK_MONOTONIC);
	return ms * 80 / 100 + (int64_t)(r % (uint32_t)(ms * 40 / 100 + 1));
}
