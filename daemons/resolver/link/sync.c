/*
 * link/sync.c - the resolver's subscription to the coordinator: one thread holding
 * a Coordinator.Sync server stream, applying snapshot chunks and ordered deltas
 * to the local index, and reconnecting when the stream ends.
 *
 * The constraints: the resolver must keep serving from the state it has while
 * the coordinator is away, so nothing here ever clears the index - a snapshot
 * is built on the side and swapped in whole at its last chunk, and a failed
 * stream just leaves the last state in place. Versions are gap-free, so a
 * delta that does not continue the applied version exactly is never skipped:
 * the stream is dropped and resumed from the last applied version (the
 * coordinator then answers with the missing deltas or a Resync). Reconnects use
 * jittered exponential backoff from 100 ms to 5 s so a fleet does not stampede
 * a restarted admin node; a refused token is retried on the same capped
 * schedule (a revoked token may be re-enabled) and shown as "auth refused".
 * The stream has no deadline; liveness comes from heartbeats, checked by
 * sync_watchdog() from the report thread because the gRPC client blocks this
 * one inside the call.
 *
 * Cold start is bound by compiling the snapshot, so receiving and compiling
 * overlap: received chunks go into a small bounded queue, worker threads parse
 * and classify their documents (ms_prepare, no lock), and the sync thread puts
 * the prepared mocks into the build strictly in chunk order (a later duplicate
 * id must still win) whenever it gets control, then waits for the rest at the
 * last chunk. The queue holds at most PIPE_SLOTS chunks, so a coordinator
 * faster than us is held back by flow control rather than by our memory.
 */
#include "resolver.h"
#include "link/link.h"

#include "grpc_client.h"
#include "log.h"
#include "nodelink.h"
#include "mockserve.h"

#include "coordinator.pb-c.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKOFF_INITIAL_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_MS 2000
/* Silence allowed before the first two heartbeats tell us the interval. */
#define DEFAULT_SILENCE_MS 30000
/*
 * Silence allowed while a snapshot is being prepared or streamed: the coordinator sends no
 * heartbeats then (reading 100,000 mocks takes it seconds), and cutting the stream would only
 * restart that work - a livelock. Its own stall limit is 60 s; the HTTP/2 keepalive PING of
 * the gRPC client still detects a dead peer.
 */
#define SNAPSHOT_SILENCE_MS 90000
#define MIN_SILENCE_MS 1500
/* Chunks received but not yet put into the build (1,000 mocks each), and threads preparing them. */
#define PIPE_SLOTS 4
#define PIPE_WORKERS 2

static struct {
	pthread_t thread;
	bool started;
	atomic_bool stop;

	pthread_mutex_t mu; /* guards st (its link member is filled from nl_get on reading), hb_gap_ms */
	rs_sync_status st;
	nodelink link; /* state, backoff, last error, watchdog (daemons/common/nodelink.h) */
	int64_t last_hb_mono;
	int64_t hb_gap_ms; /* observed heartbeat interval, 0 = unknown */
	bool in_snapshot; /* no event yet on this stream, or a snapshot not finished */

	pthread_mutex_t vmu; /* guards applied version waits */
	pthread_cond_t vcv;
	atomic_ullong applied;
	atomic_bool ready;

	/* sync-thread private */
	rs_build *build;
	uint64_t build_version;
	bool need_resync; /* next Sync goes with have_version 0 */
	bool gap;
	bool got_event;
	void (*on_version)(void); /* sync_start's hook: the applied version grew */
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .link = NODELINK_INIT, .vmu = PTHREAD_MUTEX_INITIALIZER, .vcv = PTHREAD_COND_INITIALIZER};

void
sync_status(rs_sync_status *out)
{
	pthread_mutex_lock(&S.mu);
	*out = S.st;
	pthread_mutex_unlock(&S.mu);
	nl_get(&S.link, &out->link);
	out->applied_version = atomic_load(&S.applied);
	out->ready = atomic_load(&S.ready);
}

uint64_t
sync_applied_version(void)
{
	return atomic_load(&S.applied);
}

bool
sync_ready(void)
{
	return atomic_load(&S.ready);
}

void
sync_version_lock(void)
{
	pthread_mutex_lock(&S.vmu);
}

void
sync_version_unlock(void)
{
	pthread_mutex_unlock(&S.vmu);
}

void
sync_publish_version(uint64_t v)
{
	pthread_mutex_lock(&S.vmu);
	atomic_store(&S.applied, v);
	pthread_cond_broadcast(&S.vcv);
	pthread_mutex_unlock(&S.vmu);
	if (S.on_version != NULL)
		S.on_version();
}

/*
 * Ends the stream in progress when it has been silent for three heartbeat
 * intervals (the coordinator or the path to it is gone without a FIN). The
 * client is interrupted under the nodelink's mutex, which the sync thread
 * also takes to forget it before closing it, so the pointer cannot dangle.
 */
void
sync_watchdog(void)
{
	int64_t limit;

	pthread_mutex_lock(&S.mu);
	limit = S.hb_gap_ms > 0 ? 3 * S.hb_gap_ms : DEFAULT_SILENCE_MS;
	if (limit < MIN_SILENCE_MS)
		limit = MIN_SILENCE_MS;
	if (S.in_snapshot)
		limit = SNAPSHOT_SILENCE_MS;
	pthread_mutex_unlock(&S.mu);
	nl_watchdog(&S.link, limit);
}

/* ------------------------------------------------ snapshot chunk pipeline */

typedef enum { SLOT_QUEUED, SLOT_WORKING, SLOT_DONE } slot_state;

typedef struct {
	Mockarty__Coordinator__V1__SyncEvent *ev; /* owned: freed once the chunk is put */
	struct ms_prepared **prep;                /* one per mock of ev->snapshot (NULL: skipped) */
	slot_state state;
} pipe_slot;

static struct {
	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t work; /* a slot was queued, or stopping */
	pthread_cond_t done; /* a slot became DONE */
	pipe_slot slot[PIPE_SLOTS];
	size_t head, count; /* ring of chunks in stream order */
	bool stop;
	pthread_t thread[PIPE_WORKERS];
	int nworkers;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,
       .done = PTHREAD_COND_INITIALIZER};

/* Prepares every mock of our namespace in one chunk into sl->prep (no lock held). */
static void
prepare_chunk(pipe_slot *sl)
{
	const Mockarty__Coordinator__V1__Snapshot *sn = sl->ev->snapshot;

	for (size_t i = 0; i < sn->n_mocks; i++) {
		const Mockarty__Coordinator__V1__MockDoc *m = sn->mocks[i];

		if (strcmp(m->namespace_, rs_cfg.ns) != 0)
			continue; /* not ours: the coordinator should not send it */
		sl->prep[i] = rs_prepare(m->namespace_, m->id, m->json);
	}
}

/* Worker: takes the oldest queued chunk, prepares it, marks it DONE. */
static void *
pipe_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&P.mu);
	for (;;) {
		pipe_slot *sl = NULL;

		for (size_t k = 0; k < P.count && sl == NULL; k++) {
			pipe_slot *c = &P.slot[(P.head + k) % PIPE_SLOTS];

			if (c->state == SLOT_QUEUED)
				sl = c;
		}
		if (sl == NULL) {
			if (P.stop)
				break;
			pthread_cond_wait(&P.work, &P.mu);
			continue;
		}
		sl->state = SLOT_WORKING;
		pthread_mutex_unlock(&P.mu);
		prepare_chunk(sl);
		pthread_mutex_lock(&P.mu);
		sl->state = SLOT_DONE;
		pthread_cond_broadcast(&P.done);
	}
	pthread_mutex_unlock(&P.mu);
	return NULL;
}

/*
 * Releases a slot's chunk; with b != NULL its prepared mocks are put into b
 * first, in order (sync thread only, P.mu not held, slot already DONE).
 */
static void
slot_finish(pipe_slot *sl, rs_build *b)
{
	const Mockarty__Coordinator__V1__Snapshot *sn = sl->ev->snapshot;

	for (size_t i = 0; i < sn->n_mocks; i++) {
		const Mockarty__Coordinator__V1__MockDoc *m = sn->mocks[i];

		if (strcmp(m->namespace_, rs_cfg.ns) != 0)
			continue;
		if (b != NULL)
			rs_build_put(b, m->namespace_, m->id, sl->prep[i], m->version);
		else
			ms_prepared_free(sl->prep[i]);
	}
	free(sl->prep);
	mockarty__coordinator__v1__sync_event__free_unpacked(sl->ev, NULL);
	sl->ev = NULL;
	sl->prep = NULL;
}

/*
 * Puts finished chunks at the head of the queue into b, in order. With all,
 * waits for every queued chunk; otherwise stops at the first unfinished one
 * once the queue has a free slot. b == NULL discards the chunks (those not yet
 * taken by a worker are dropped unprepared).
 */
static void
pipe_drain(rs_build *b, bool all)
{
	pthread_mutex_lock(&P.mu);
	while (P.count > 0) {
		pipe_slot *sl = &P.slot[P.head];

		if (sl->state == SLOT_QUEUED && b == NULL)
			sl->state = SLOT_DONE; /* discarding: no need to prepare it (prep is all NULL) */
		if (sl->state != SLOT_DONE) {
			if (!all && P.count < PIPE_SLOTS)
				break;
			pthread_cond_wait(&P.done, &P.mu);
			continue;
		}
		P.head = (P.head + 1) % PIPE_SLOTS;
		P.count--;
		pthread_mutex_unlock(&P.mu);
		slot_finish(sl, b);
		pthread_mutex_lock(&P.mu);
	}
	pthread_mutex_unlock(&P.mu);
}

/*
 * Queues one snapshot chunk (ev is taken over) for b, putting finished chunks
 * into b on the way and waiting for room when the queue is full. Without
 * workers, or when out of memory for the slot, the chunk is done here.
 */
static void
pipe_push(Mockarty__Coordinator__V1__SyncEvent *ev, rs_build *b)
{
	size_t n = ev->snapshot->n_mocks;
	struct ms_prepared **prep = calloc(n ? n : 1, sizeof(*prep));
	pipe_slot *sl;

	pipe_drain(b, false); /* also makes room */
	if (prep == NULL || P.nworkers == 0) {
		pipe_slot tmp = {.ev = ev, .prep = prep, .state = SLOT_DONE};

		pipe_drain(b, true); /* keep stream order */
		if (prep == NULL) {
			log_error("out of memory queueing a snapshot chunk: preparing it in place");
			for (size_t i = 0; i < n; i++) {
				const Mockarty__Coordinator__V1__MockDoc *m = ev->snapshot->mocks[i];

				if (strcmp(m->namespace_, rs_cfg.ns) == 0)
					rs_build_add(b, m->namespace_, m->id, m->json, m->version);
			}
			mockarty__coordinator__v1__sync_event__free_unpacked(ev, NULL);
			return;
		}
		prepare_chunk(&tmp);
		slot_finish(&tmp, b);
		return;
	}
	pthread_mutex_lock(&P.mu);
	sl = &P.slot[(P.head + P.count) % PIPE_SLOTS];
	sl->ev = ev;
	sl->prep = prep;
	sl->state = SLOT_QUEUED;
	P.count++;
	pthread_cond_signal(&P.work);
	pthread_mutex_unlock(&P.mu);
}

/* Throws away every queued chunk (waiting for those being prepared). */
static void
pipe_discard(void)
{
	pipe_drain(NULL, true);
}

static void
pipe_start(void)
{
	P.stop = false;
	P.nworkers = 0;
	for (int i = 0; i < PIPE_WORKERS; i++) {
		if (pthread_create(&P.thread[i], NULL, pipe_worker, NULL) != 0) {
			log_warn("cannot start a snapshot worker: %d running", P.nworkers);
			break;
		}
		P.nworkers++;
	}
}

/* Ends the workers; the queue must be empty (the sync thread has ended). */
static void
pipe_stop(void)
{
	pthread_mutex_lock(&P.mu);
	P.stop = true;
	pthread_cond_broadcast(&P.work);
	pthread_mutex_unlock(&P.mu);
	for (int i = 0; i < P.nworkers; i++)
		pthread_join(P.thread[i], NULL);
	P.nworkers = 0;
}

static void
drop_build(void)
{
	pipe_discard();
	if (S.build != NULL) {
		rs_build_abort(S.build);
		S.build = NULL;
	}
}

/* A snapshot chunk; ev (holding sn) is taken over. */
static void
on_snapshot(Mockarty__Coordinator__V1__SyncEvent *ev)
{
	const Mockarty__Coordinator__V1__Snapshot *sn = ev->snapshot;
	uint64_t version = sn->version;
	bool last = sn->last_chunk;

	if (S.build != NULL && S.build_version != sn->version) {
		log_warn("snapshot at version %llu replaced by one at %llu before its last chunk",
		         (unsigned long long)S.build_version, (unsigned long long)sn->version);
		drop_build();
	}
	if (S.build == NULL) {
		S.build = rs_build_new();
		S.build_version = sn->version;
		if (S.build == NULL) {
			log_error("out of memory building a snapshot");
			mockarty__coordinator__v1__sync_event__free_unpacked(ev, NULL);
			return;
		}
	}
	pipe_push(ev, S.build); /* ev and sn are not ours any more */
	if (last) {
		int64_t t0 = rs_now_ms(), t1;

		pipe_drain(S.build, true);
		t1 = rs_now_ms();
		rs_build_commit(S.build, version);
		S.build = NULL;
		S.need_resync = false;
		pthread_mutex_lock(&S.mu);
		S.st.snapshots++;
		if (S.st.head_version < version)
			S.st.head_version = version;
		pthread_mutex_unlock(&S.mu);
		sync_publish_version(version);
		atomic_store(&S.ready, true);
		log_info("snapshot applied: version %llu, %zu mocks (tail %lld ms, swap %lld ms)",
		         (unsigned long long)version, rs_mocks_loaded(), (long long)(t1 - t0),
		         (long long)(rs_now_ms() - t1));
	}
}

/* Returns false when the stream must be dropped (gap, delta inside a snapshot). */
static bool
on_delta(const Mockarty__Coordinator__V1__Delta *d)
{
	uint64_t applied = atomic_load(&S.applied);

	if (S.build != NULL) {
		log_warn("delta %llu inside an unfinished snapshot: resubscribing from scratch",
		         (unsigned long long)d->version);
		drop_build();
		S.need_resync = true;
		return false;
	}
	if (!atomic_load(&S.ready)) {
		log_warn("delta %llu before any snapshot: resubscribing from scratch",
		         (unsigned long long)d->version);
		S.need_resync = true;
		return false;
	}
	if (d->version <= applied) {
		log_debug("delta %llu already applied (at %llu): ignored", (unsigned long long)d->version,
		          (unsigned long long)applied);
		return true;
	}
	if (d->version != applied + 1) {
		log_warn("version gap: applied %llu, received %llu: resubscribing from %llu",
		         (unsigned long long)applied, (unsigned long long)d->version,
		         (unsigned long long)applied);
		S.gap = true;
		return false;
	}
	if (strcmp(d->namespace_, rs_cfg.ns) != 0) {
		/* not ours; the version still advances */
	} else if (d->op == MOCKARTY__COORDINATOR__V1__DELTA__OP__OP_UPSERT) {
		rs_apply_upsert(d->version, d->namespace_, d->mock_id, d->json);
	} else if (d->op == MOCKARTY__COORDINATOR__V1__DELTA__OP__OP_DELETE) {
		rs_apply_delete(d->version, d->namespace_, d->mock_id);
	} else {
		log_warn("delta %llu has an unknown op %d: ignored", (unsigned long long)d->version,
		         (int)d->op);
	}
	pthread_mutex_lock(&S.mu);
	S.st.deltas++;
	if (S.st.head_version < d->version)
		S.st.head_version = d->version;
	pthread_mutex_unlock(&S.mu);
	sync_publish_version(d->version);
	return true;
}

/* Stream callback: one SyncEvent. A nonzero return cancels the stream. */
static int
on_event(void *ud, const uint8_t *msg, size_t len)
{
	Mockarty__Coordinator__V1__SyncEvent *ev;
	int rc = 0;
	int64_t now = rs_now_ms();

	(void)ud;
	if (atomic_load(&S.stop))
		return 1;
	ev = mockarty__coordinator__v1__sync_event__unpack(NULL, len, msg);
	if (ev == NULL) {
		log_warn("undecodable SyncEvent (%zu bytes): reconnecting", len);
		return 1;
	}
	nl_event(&S.link);
	if (!S.got_event) {
		S.got_event = true;
		nl_connected(&S.link);
		log_info("connected to the coordinator at %s", rs_cfg.coordinator_addr);
	}
	switch (ev->event_case) {
	case MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_SNAPSHOT:
		on_snapshot(ev);
		ev = NULL; /* taken over by the chunk pipeline */
		break;
	case MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_DELTA:
		if (!on_delta(ev->delta))
			rc = 1;
		break;
	case MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_HEARTBEAT:
		pthread_mutex_lock(&S.mu);
		if (S.last_hb_mono > 0)
			S.hb_gap_ms = now - S.last_hb_mono;
		S.last_hb_mono = now;
		S.st.last_heartbeat_ms = rs_wall_ms();
		S.st.head_version = ev->heartbeat->head_version;
		pthread_mutex_unlock(&S.mu);
		break;
	case MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_RESYNC:
		log_info("coordinator asked for a resync (%s): rebuilding from a snapshot",
		         ev->resync->reason);
		drop_build();
		S.need_resync = true;
		pthread_mutex_lock(&S.mu);
		S.st.resyncs++;
		pthread_mutex_unlock(&S.mu);
		rc = 1;
		break;
	default:
		log_debug("SyncEvent without a known member: ignored");
	}
	pthread_mutex_lock(&S.mu);
	S.in_snapshot = S.build != NULL; /* chunks of a large snapshot may be seconds apart */
	pthread_mutex_unlock(&S.mu);
	if (ev != NULL)
		mockarty__coordinator__v1__sync_event__free_unpacked(ev, NULL);
	return rc;
}

/* The address we serve on, for the admin node's nodes view. */
static void
serve_address(char *out, size_t cap)
{
	const char *h = rs_cfg.http_bind_addr;
	char host[256];

	if (strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0 || h[0] == '\0') {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		h = host;
	}
	if (strchr(h, ':') != NULL)
		snprintf(out, cap, "[%s]:%d", h, rs_cfg.http_port);
	else
		snprintf(out, cap, "%s:%d", h, rs_cfg.http_port);
}

/* Sleeps up to ms unless stopping; returns false when stopping. */
static bool
nap(int64_t ms)
{
	int64_t end = rs_now_ms() + ms;

	while (!atomic_load(&S.stop)) {
		int64_t left = end - rs_now_ms();
		struct timespec ts;

		if (left <= 0)
			return true;
		if (left > 50)
			left = 50;
		ts.tv_sec = 0;
		ts.tv_nsec = left * 1000000;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* One connection + Sync stream, start to end. Returns the final gRPC code. */
static int
run_stream(mk_grpc_status *st)
{
	Mockarty__Coordinator__V1__SyncRequest req = MOCKARTY__COORDINATOR__V1__SYNC_REQUEST__INIT;
	char addr[300], authz[600];
	uint8_t *buf;
	size_t n;
	mk_grpc_client *c;
	int code;

	S.got_event = false;
	S.gap = false;
	c = mk_grpc_client_connect(rs_cfg.coordinator_addr, CONNECT_TIMEOUT_MS, st);
	if (c == NULL)
		return st->code;
	snprintf(authz, sizeof(authz), "Bearer %s", rs_cfg.api_token);
	mk_grpc_client_set_authorization(c, authz);
	memset(authz, 0, sizeof(authz));
	serve_address(addr, sizeof(addr));
	req.resolver_name = rs_cfg.resolver_name;
	req.namespace_ = rs_cfg.ns;
	req.have_version = (S.need_resync || !atomic_load(&S.ready)) ? 0 : atomic_load(&S.applied);
	req.address = addr;
	req.software_version = (char *)RESOLVER_RELEASE_ID;
	n = mockarty__coordinator__v1__sync_request__get_packed_size(&req);
	buf = malloc(n ? n : 1);
	if (buf == NULL) {
		mk_grpc_client_close(c);
		snprintf(st->message, sizeof(st->message), "out of memory");
		return st->code = MK_GRPC_RESOURCE_EXHAUSTED;
	}
	mockarty__coordinator__v1__sync_request__pack(&req, buf);
	pthread_mutex_lock(&S.mu);
	/* a resumed stream (have_version > 0) starts with deltas or heartbeats, a new one with a snapshot */
	S.in_snapshot = req.have_version == 0;
	pthread_mutex_unlock(&S.mu);
	nl_stream_begin(&S.link, c);
	log_debug("Sync(have_version=%llu)", (unsigned long long)req.have_version);
	code = mk_grpc_client_server_stream(c, "/mockarty.coordinator.v1.Coordinator/Sync", buf, n, 0,
	                                    on_event, NULL, st);
	free(buf);
	if (nl_stream_end(&S.link)) {
		code = st->code = MK_GRPC_UNAVAILABLE;
		snprintf(st->message, sizeof(st->message), "no heartbeat from the coordinator");
	}
	mk_grpc_client_close(c);
	drop_build();
	return code;
}

static void *
sync_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&S.stop)) {
		mk_grpc_status st = {0};
		int code = run_stream(&st);
		bool immediate = false, log_it;

		if (atomic_load(&S.stop))
			break;
		/* counts the reconnect, sets auth_refused or disconnected, restarts a stream that worked */
		log_it = nl_stream_ended(&S.link, S.got_event, code, st.message);
		if (nl_is_refusal(code)) {
			if (log_it)
				log_error("the coordinator refused API_TOKEN (%s: %s); check the token "
				          "(POST /ui/api/integrations, type mock_resolver); serving the last "
				          "snapshot and retrying every %d s",
				          mk_grpc_code_name(code), st.message, BACKOFF_MAX_MS / 1000);
		} else {
			/* a Resync or a gap is the protocol working: come back at once */
			immediate = (code == MK_GRPC_OK || code == MK_GRPC_CANCELLED) &&
			            (S.need_resync || S.gap) && S.got_event;
			if (!immediate && log_it)
				log_warn("coordinator stream ended (%s: %s); serving the last snapshot "
				         "(version %llu), reconnecting",
				         mk_grpc_code_name(code), st.message,
				         (unsigned long long)atomic_load(&S.applied));
		}
		if (!immediate && !nap(nl_next_wait(&S.link)))
			break;
		/* a refused token stays visible while we retry; anything else is "connecting" */
		nl_retrying(&S.link);
	}
	return NULL;
}

static void
interrupt_stream(void *stream)
{
	mk_grpc_client_interrupt(stream);
}

bool
sync_start(void (*on_version)(void))
{
	nl_config lc = {.backoff_initial_ms = BACKOFF_INITIAL_MS,
	                .backoff_max_ms = BACKOFF_MAX_MS,
	                .backoff_factor_pct = 200,
	                .interrupt = interrupt_stream};

	S.on_version = on_version;
	nl_init(&S.link, &lc);
	atomic_store(&S.stop, false);
	pipe_start();
	if (pthread_create(&S.thread, NULL, sync_main, NULL) != 0) {
		log_error("cannot start the sync thread");
		pipe_stop();
		return false;
	}
	S.started = true;
	return true;
}

void
sync_stop(void)
{
	if (!S.started)
		return;
	atomic_store(&S.stop, true);
	nl_interrupt(&S.link);
	pthread_join(S.thread, NULL);
	pipe_stop(); /* run_stream() emptied the queue before the thread ended */
	S.started = false;
}
