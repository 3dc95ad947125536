/*
 * link/session.c - the runner's connection to the coordinator: one thread holding
 * the Runners.Connect server stream (Welcome, offers, cancels, pings) and a
 * small pool of connections for the unary calls (AcceptTask, TaskHeartbeat,
 * AppendResults, CompleteTask).
 *
 * Constraints: the gRPC client runs one call at a time per connection and
 * blocks its caller, so the stream gets a connection of its own and the unary
 * calls share a mutex-guarded pool - a heartbeat must never wait behind a
 * stream that stays open for hours. The stream is only a doorbell: the task
 * queue lives in PostgreSQL, so a lost stream costs nothing but latency and
 * the runner simply reconnects with jittered exponential backoff (1 s x1.6 up
 * to 30 s) so a fleet does not stampede a restarted admin node. A refused
 * token (UNAUTHENTICATED / PERMISSION_DENIED) is shown as "auth refused" on
 * the dashboard and /health/ready and retried on the same schedule (a token
 * may be re-enabled); while refused the runner takes no tasks.
 */
#include "runner.h"
#include "link/link.h"

#include "grpc_client.h"
#include "grpc_pool.h"
#include "log.h"
#include "nodelink.h"

#include "coordinator.pb-c.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_INITIAL_MS 1000
#define BACKOFF_MAX_MS 30000
#define CONNECT_TIMEOUT_MS 2000
/* The coordinator pings every 15 s; three missed pings mean the path is dead. */
#define SILENCE_LIMIT_MS 46000
#define POOL_SIZE 2

#define SVC "/mockarty.coordinator.v1.Runners/"

static struct {
	pthread_t thread;
	bool started;
	atomic_bool stop;

	pthread_mutex_t mu; /* guards st (its link member is filled from nl_get on reading) */
	rn_session_status st;
	nodelink link; /* state, backoff, last error, watchdog (daemons/common/nodelink.h) */
	bool welcomed; /* this stream got its Welcome */

	pthread_mutex_t nap_mu; /* backoff sleep, cut short by session_stop */
	pthread_cond_t nap_cv;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .link = NODELINK_INIT,
       .nap_mu = PTHREAD_MUTEX_INITIALIZER,
       .nap_cv = PTHREAD_COND_INITIALIZER};

static rn_link_handlers H; /* where the stream's events go (session_start) */
static mk_grpc_pool *pool; /* the unary calls' connections (session_start creates it) */

void
session_status(rn_session_status *out)
{
	pthread_mutex_lock(&S.mu);
	*out = S.st;
	pthread_mutex_unlock(&S.mu);
	nl_get(&S.link, &out->link);
}

bool
session_connected(void)
{
	return nl_is_connected(&S.link);
}

bool
session_runner_id(char *out, size_t cap)
{
	bool ok;

	pthread_mutex_lock(&S.mu);
	ok = S.st.runner_id[0] != '\0';
	snprintf(out, cap, "%s", S.st.runner_id);
	pthread_mutex_unlock(&S.mu);
	return ok;
}

/* Ends the stream when it has been silent for three ping intervals (a path gone without a FIN). */
void
session_watchdog(void)
{
	nl_watchdog(&S.link, SILENCE_LIMIT_MS);
}

/* ------------------------------------------------------------------ unary pool */

int
session_unary(const char *method, const uint8_t *req, size_t len, int timeout_ms, uint8_t **resp,
              size_t *resp_len, char *errmsg, size_t errcap)
{
	mk_grpc_status st = {0};
	char path[128];
	int code;

	snprintf(path, sizeof(path), SVC "%s", method);
	if (pool == NULL) {
		snprintf(errmsg, errcap, "%s: not started", method);
		return MK_GRPC_UNAVAILABLE;
	}
	code = mk_grpc_pool_unary(pool, path, req, len, timeout_ms, NULL, resp, resp_len, &st);
	if (code != MK_GRPC_OK) {
		free(*resp);
		*resp = NULL;
		snprintf(errmsg, errcap, "%s %s: %s", method, mk_grpc_code_name(code), st.message);
		if (nl_is_refusal(code))
			nl_set_state(&S.link, NL_AUTH_REFUSED, code, st.message);
	} else if (errcap > 0) {
		errmsg[0] = '\0';
	}
	return code;
}

void
session_pool_free(void)
{
	/* not freed: an abandoned task thread may still be in a call (main.c leaves it to exit()) */
	mk_grpc_pool_close_idle(pool);
}

/* ------------------------------------------------------------------ stream */

/* Handles one RunnerEvent; never cancels the stream (a bad event is logged and skipped). */
static int
on_event(void *ud, const uint8_t *msg, size_t len)
{
	Mockarty__Coordinator__V1__RunnerEvent *ev;

	(void)ud;
	nl_event(&S.link);
	ev = mockarty__coordinator__v1__runner_event__unpack(NULL, len, msg);
	if (ev == NULL) {
		log_warn("undecodable RunnerEvent (%zu bytes) skipped", len);
		return 0;
	}
	switch (ev->event_case) {
	case MOCKARTY__COORDINATOR__V1__RUNNER_EVENT__EVENT_WELCOME:
		pthread_mutex_lock(&S.mu);
		snprintf(S.st.runner_id, sizeof(S.st.runner_id), "%s", ev->welcome->runner_id);
		S.st.lease_ms = ev->welcome->lease_ms ? ev->welcome->lease_ms : 30000;
		S.st.heartbeat_ms = ev->welcome->heartbeat_ms ? ev->welcome->heartbeat_ms : S.st.lease_ms / 3;
		S.welcomed = true;
		pthread_mutex_unlock(&S.mu);
		nl_connected(&S.link);
		log_info("connected to %s as runner %s (lease %u ms, heartbeat %u ms)",
		         rn_cfg.coordinator_addr, ev->welcome->runner_id, ev->welcome->lease_ms,
		         ev->welcome->heartbeat_ms);
		if (H.welcomed)
			H.welcomed();
		break;
	case MOCKARTY__COORDINATOR__V1__RUNNER_EVENT__EVENT_OFFER:
		pthread_mutex_lock(&S.mu);
		S.st.offers++;
		pthread_mutex_unlock(&S.mu);
		log_debug("offer %s (%s, %s)", ev->offer->task_id, ev->offer->kind, ev->offer->namespace_);
		if (ev->offer->task_id[0] != '\0' && H.offer)
			H.offer(ev->offer->task_id);
		break;
	case MOCKARTY__COORDINATOR__V1__RUNNER_EVENT__EVENT_CANCEL:
		log_info("task %s: cancel requested", ev->cancel->task_id);
		if (H.cancel)
			H.cancel(ev->cancel->task_id);
		break;
	case MOCKARTY__COORDINATOR__V1__RUNNER_EVENT__EVENT_PING:
		pthread_mutex_lock(&S.mu);
		S.st.pings++;
		pthread_mutex_unlock(&S.mu);
		if (ev->ping->queued_eligible > 0 && H.offer)
			H.offer(NULL);
		break;
	default:
		log_debug("RunnerEvent with no known member skipped");
		break;
	}
	mockarty__coordinator__v1__runner_event__free_unpacked(ev, NULL);
	return 0;
}

/* The dashboard address the admin's nodes view shows. */
static void
dash_address(char *out, size_t cap)
{
	char host[256];

	if (strcmp(rn_cfg.http_bind_addr, "0.0.0.0") == 0 || strcmp(rn_cfg.http_bind_addr, "::") == 0) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(out, cap, "%s:%d", host, rn_cfg.dashboard_port);
	} else {
		snprintf(out, cap, "%s:%d", rn_cfg.http_bind_addr, rn_cfg.dashboard_port);
	}
}

/* One connection + Connect stream, start to end. Returns the final gRPC code. */
/* The stream's own connection (the unary calls use the pool). */
static mk_grpc_client *
dial(mk_grpc_status *st)
{
	char authz[600];
	mk_grpc_client *c = mk_grpc_client_connect(rn_cfg.coordinator_addr, CONNECT_TIMEOUT_MS, st);

	if (c == NULL)
		return NULL;
	snprintf(authz, sizeof(authz), "Bearer %s", rn_cfg.api_token);
	mk_grpc_client_set_authorization(c, authz);
	memset(authz, 0, sizeof(authz));
	return c;
}

static int
run_stream(mk_grpc_status *st)
{
	Mockarty__Coordinator__V1__RunnerHello hello = MOCKARTY__COORDINATOR__V1__RUNNER_HELLO__INIT;
	char *caps[2];
	char addr[300];
	uint8_t *buf;
	size_t n, ncaps = 0;
	mk_grpc_client *c;
	int code;

	S.welcomed = false;
	c = dial(st);
	if (c == NULL)
		return st->code;
	if (rn_cfg.caps & RN_CAP_API_TEST)
		caps[ncaps++] = "api_test";
	if (rn_cfg.caps & RN_CAP_PERFORMANCE)
		caps[ncaps++] = "performance";
	dash_address(addr, sizeof(addr));
	hello.runner_name = rn_cfg.runner_name;
	hello.namespace_ = rn_cfg.ns;
	hello.shared = rn_cfg.shared;
	hello.n_capabilities = ncaps;
	hello.capabilities = caps;
	hello.max_concurrent = (uint32_t)rn_cfg.max_concurrent;
	hello.address = addr;
	hello.version = RUNNER_RELEASE_ID;
	n = mockarty__coordinator__v1__runner_hello__get_packed_size(&hello);
	buf = malloc(n ? n : 1);
	if (buf == NULL) {
		mk_grpc_client_close(c);
		snprintf(st->message, sizeof(st->message), "out of memory");
		return st->code = MK_GRPC_RESOURCE_EXHAUSTED;
	}
	mockarty__coordinator__v1__runner_hello__pack(&hello, buf);
	nl_stream_begin(&S.link, c);
	code = mk_grpc_client_server_stream(c, SVC "Connect", buf, n, 0, on_event, NULL, st);
	free(buf);
	if (nl_stream_end(&S.link)) {
		code = st->code = MK_GRPC_UNAVAILABLE;
		snprintf(st->message, sizeof(st->message), "no event from the coordinator for %d s",
		         SILENCE_LIMIT_MS / 1000);
	}
	mk_grpc_client_close(c);
	return code;
}

/* Sleeps ms unless session_stop() comes first; false when stopping. */
static bool
nap(int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&S.nap_mu);
	while (!atomic_load(&S.stop))
		if (pthread_cond_timedwait(&S.nap_cv, &S.nap_mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&S.nap_mu);
	return !atomic_load(&S.stop);
}

static void *
session_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&S.stop)) {
		mk_grpc_status st = {0};
		int code = run_stream(&st);
		int64_t wait;
		bool log_it;

		if (H.stream_ended)
			H.stream_ended();
		if (atomic_load(&S.stop))
			break;
		/* counts the reconnect, sets auth_refused or disconnected, restarts a stream that worked */
		log_it = nl_stream_ended(&S.link, S.welcomed, code, st.message);
		wait = nl_next_wait(&S.link);
		if (log_it && nl_is_refusal(code))
			log_error("the coordinator refused API_TOKEN (%s: %s): a runner needs an enabled "
			          "integration token of type test_runner; taking no tasks, retrying",
			          mk_grpc_code_name(code), st.message);
		else if (log_it)
			log_warn("coordinator stream ended (%s: %s); reconnecting in %lld ms",
			         mk_grpc_code_name(code), st.message, (long long)wait);
		if (!nap(wait))
			break;
		/* a refused token stays visible while we retry; anything else is "connecting" */
		nl_retrying(&S.link);
	}
	nl_set_state(&S.link, NL_DISCONNECTED, -1, NULL);
	return NULL;
}

static void
interrupt_stream(void *stream)
{
	mk_grpc_client_interrupt(stream);
}

bool
session_start(const rn_link_handlers *h)
{
	nl_config lc = {.backoff_initial_ms = BACKOFF_INITIAL_MS,
	                .backoff_max_ms = BACKOFF_MAX_MS,
	                .backoff_factor_pct = 160,
	                .interrupt = interrupt_stream};

	if (h != NULL)
		H = *h;
	nl_init(&S.link, &lc);
	/* payloads carry whole collections: a 64 MiB receive limit */
	pool = mk_grpc_pool_new(rn_cfg.coordinator_addr, rn_cfg.api_token, POOL_SIZE, CONNECT_TIMEOUT_MS,
	                        64u * 1024 * 1024);
	if (pool == NULL) {
		log_error("cannot create the connection pool (out of memory)");
		return false;
	}
	atomic_store(&S.stop, false);
	if (pthread_create(&S.thread, NULL, session_main, NULL) != 0) {
		log_error("cannot start the session thread");
		return false;
	}
	S.started = true;
	return true;
}

void
session_stop(void)
{
	if (!S.started)
		return;
	atomic_store(&S.stop, true);
	pthread_mutex_lock(&S.nap_mu);
	pthread_cond_broadcast(&S.nap_cv);
	pthread_mutex_unlock(&S.nap_mu);
	nl_interrupt(&S.link);
	pthread_join(S.thread, NULL);
	S.started = false;
}
