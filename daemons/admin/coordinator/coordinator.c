/*
 * coordinator.c - the gRPC coordinator inside the admin node (port 5773): the
 * mockarty.coordinator.v1.Coordinator service of proto/coordinator.proto on the
 * daemons/grpc server, plus grpc.health.v1 and server reflection.
 *
 * Constraints that shaped it:
 *  - The database is the truth and NOTIFY only a doorbell. One feed thread owns a
 *    dedicated LISTEN connection (mockarty_changes, mockarty_tokens; mockarty_tasks is
 *    handed to coordinator/runners.c, the Runners service), reads the change log
 *    in version order into an in-memory ring and fans every change out to all Sync streams;
 *    no stream ever queries the change log itself, so a thousand resolvers cost one query
 *    per commit. After any (re)connect it assumes notifications were lost and re-reads.
 *  - Versions are gap-free and commit-ordered (mockarty_private.log_change). Every stream
 *    gets every version in order; a change to a mock outside the stream's namespace goes out
 *    as OP_DELETE of that id in the stream's namespace, which keeps the sequence gap-free and
 *    handles mocks moved between namespaces.
 *  - The gRPC loop thread must not block: Resolve/Report run on a small worker pool and each
 *    Sync's snapshot on its own thread (paced by the stream's send queue, so a 100k-mock
 *    snapshot never sits in memory whole). The one exception is the auth hook, which the
 *    transport calls synchronously before the body is read: a cache miss costs one
 *    integration_verify() round trip (bcrypt, ~50 ms) on the loop thread. Verified tokens are
 *    cached by SHA-256 for 30 s (refusals for 5 s) and the cache is purged on every
 *    NOTIFY mockarty_tokens, so a revoked token stops working at once.
 *  - Revocation ends the token's open streams within the notification latency: NOTIFY
 *    mockarty_tokens carries the integration id, and on every LISTEN reconnect the
 *    integrations of all connected resolvers are re-checked.
 *  - Send queues are bounded, and the ring (65,536 changes, ~64 MiB) is the buffer for
 *    streams that lag: a stream whose queue cannot take the next delta waits while the ring
 *    still holds it, so a 10,000-mock transaction reaches a resolver that keeps up as deltas.
 *    A stream whose full queue drains nothing for GRPC_SLOW_READER_MS, or whose next version
 *    left the ring, gets a Resync (it fits a reserve kept for it) and ends.
 *  - Cold start of a resolver is bounded by how fast a namespace can be read: the snapshot is
 *    one cursor over mockarty.snapshot_text() (document text built from the row, no jsonb,
 *    unordered so rows stream at once) in a REPEATABLE READ transaction with head_version().
 */
#include "coordinator/coordinator.h"

#include "node/node.h"
#include "server.h"
#include "serving/serving.h"
#include "coordinator/runners.h"
#include "coordinator/gone.h"
#include "coordinator/reportseq.h"
#include "coordinator.pb-c.h"
#include "bufbudget.h"
#include "eventq.h"
#include "delivery/evsink.h"
#include "grpc_callq.h"
#include "grpc_server.h"
#include "mockserve.h"
#include "log.h"
#include "otel.h"
#include "pgpool.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define SVC_NAME "mockarty.coordinator.v1.Coordinator"
#define SVC_PREFIX "/" SVC_NAME "/"
#define RING_CAP 65536                  /* changes kept for resuming and lagging streams */
#define RING_BYTES (64u * 1024 * 1024)  /* ... and at most about this many bytes of them */
#define RING_INIT 8192                  /* newest changes read into the ring at start */
#define DELTA_BATCH 1000                /* change-log rows per query */
#define SNAP_FETCH 5000                 /* snapshot rows per FETCH */
#define CHUNK_MOCKS 1000                /* mocks per snapshot chunk */
#define CHUNK_BYTES (1024 * 1024)       /* and at most about this many bytes */
#define SLOW_READER_DEFAULT_MS 250      /* a full queue that drains nothing for this long */
#define BLOCKED_POLL_MS 5               /* feed re-tries streams waiting for queue room */
#define HEARTBEAT_MS 1000
#define SAFETY_READ_MS 5000 /* re-read the change log even without NOTIFY */
#define NODE_RECORD_MS 5000 /* change_log_node_record: the resolvers' lowest applied version */
#define QUEUE_DEFAULT (4u * 1024 * 1024)
#define QUEUE_MIN (16u * 1024)
#define QUEUE_RESERVE 1024      /* room kept for the final Resync */
#define SNAPSHOT_STALL_MS 60000 /* a snapshot nobody reads is abandoned */
#define ACACHE_SLOTS 256
#define ACACHE_TTL_MS 30000
#define ACACHE_NEG_TTL_MS 5000
#define CALL_WORKERS 8 /* unary calls of every service: each runs one or two SQL statements */
#define MAX_SYNC_THREADS 256
#define HEALTH_SERVING 1
#define HEALTH_NOT_SERVING 2
#define CPP_STR_(x) #x
#define CPP_STR(x) CPP_STR_(x)

typedef Mockarty__Coordinator__V1__SyncEvent SyncEvent;
typedef Mockarty__Coordinator__V1__SyncRequest SyncRequest;
typedef Mockarty__Coordinator__V1__Snapshot Snapshot;
typedef Mockarty__Coordinator__V1__MockDoc MockDoc;
typedef Mockarty__Coordinator__V1__Delta Delta;
typedef Mockarty__Coordinator__V1__Heartbeat Heartbeat;
typedef Mockarty__Coordinator__V1__Resync Resync;

/* One change-log row in the ring. json is NULL for a delete (or an upsert of a mock that is
 * gone or soft-deleted by now). */
struct change {
	int64_t version;
	char *ns;
	char *id;
	char *json;
};

/* One Sync stream (a connected resolver). Lives in C.subs from the handler until its stream
 * closes; freed when both the stream and the setup thread are done with it. */
struct sub {
	struct sub *next, *prev;
	mk_grpc_stream *st;
	int refs;
	bool joined;     /* in the fan-out: cursor is valid */
	bool gone;       /* stream closed, or ended by us */
	int64_t cursor;  /* last version sent (snapshot or delta) */
	int64_t stall_since; /* monotonic ms since its queue has had no room, 0 = not blocked */
	int64_t applied; /* last applied version the resolver reported, 0 = none */
	uint64_t have;
	uint64_t dropped;                                 /* log entries the resolver says it dropped */
	int64_t connected_ms, last_hb_ms, last_report_ms; /* wall clock */
	char ns[128], name[128], address[160], peer[64], integ_id[40], integ_name[96];
	char sw_version[64]; /* SyncRequest.software_version, "" from older resolvers */
	bool pending_auth;  /* token not verified yet: sync_main does it (coord_auth_deferred) */
	char req_ns[128];   /* the namespace the SyncRequest asked for, while pending_auth */
};

/* The principal id of a user API token (mk_<12 hex>_...): this prefix + its 12-hex id, so
 * it has the 36 characters of an integration's uuid and never equals one. */
#define USER_TOKEN_ID_PREFIX "00000000-0000-0000-0000-"

/* A cached token verification (positive or negative). */
struct acache {
	unsigned char key[32];
	int64_t expires; /* monotonic ms; 0 = empty */
	bool ok;
	char id[40], name[96], type[24], ns[64]; /* ns: bound namespace, "" when unbound */
};


static struct {
	bool running;
	mk_grpc_server *srv;
	int port;
	size_t queue_limit;
	int slow_reader_ms;

	pthread_mutex_t mu; /* subs, ring, head; taken before the server's own lock */
	struct sub *subs;
	struct change ring[RING_CAP];
	int64_t head;    /* newest version read from the change log */
	int64_t ring_lo; /* oldest version in the ring; empty when ring_lo > head */
	size_t ring_bytes; /* text held by the ring */
	bool feed_ready; /* ring initialised from the database */
	pthread_t feed;
	char admin_node[200]; /* "host:grpc port:pid", this node's row in change_log_nodes */
	int evfd;
	atomic_bool stop;
	atomic_bool db_up;

	pthread_mutex_t amu; /* auth cache */
	struct acache cache[ACACHE_SLOTS];
	uint64_t agen;
	atomic_ullong deferred_auth; /* verifications the auth hook handed to a worker */

	mk_grpc_callq *callq; /* unary calls of every service (Resolve, Report, Runners) */
	pthread_mutex_t jmu; /* Sync-thread count */
	pthread_cond_t donecv;
	int nsync;
} C = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .amu = PTHREAD_MUTEX_INITIALIZER,
    .jmu = PTHREAD_MUTEX_INITIALIZER,
    .donecv = PTHREAD_COND_INITIALIZER,
    .evfd = -1,
};

/* ------------------------------------------------------------------ small helpers */

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void
wake_feed(void)
{
	uint64_t one = 1;

	if (C.evfd >= 0 && write(C.evfd, &one, sizeof(one)) < 0) {
		/* counter saturated: the feed thread is awake anyway */
	}
}

/* RFC 3339 text of a wall-clock millisecond time into buf (or "" for 0). */
static void
rfc3339_ms(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0) {
		buf[0] = '\0';
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A uuid followed by the end of the string or a space (a NOTIFY payload's first word). */
static bool
coord_is_uuid_word(const char *s)
{
	char w[37];

	if (strlen(s) < 36 || (s[36] != '\0' && s[36] != ' '))
		return false;
	memcpy(w, s, 36);
	w[36] = '\0';
	return coord_is_uuid(w);
}

/* See coordinator.h. */
bool
coord_is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		char c = s[i];

		if (shape[i] == '-'
		        ? c != '-'
		        : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return s[sizeof(shape) - 1] == '\0';
}

/*
 * Packs a SyncEvent and queues it on st. With check set, refuses (returns 1 without
 * sending) when the event would not fit the queue minus the reserve kept for a Resync.
 * Returns 0 when queued, 1 when refused for room, or the negative mk_grpc_stream_send code.
 */
static int
send_event(mk_grpc_stream *st, const SyncEvent *ev, bool check)
{
	size_t n = mockarty__coordinator__v1__sync_event__get_packed_size(ev);
	uint8_t stackbuf[512], *buf = n <= sizeof(stackbuf) ? stackbuf : malloc(n);
	int rc;

	if (check && mk_grpc_stream_queued(st) + n + MK_GRPC_PREFIX_LEN + QUEUE_RESERVE > C.queue_limit)
		return 1;
	if (buf == NULL)
		return MK_GRPC_ENOMEM;
	mockarty__coordinator__v1__sync_event__pack(ev, buf);
	rc = mk_grpc_stream_send(st, buf, n);
	if (buf != stackbuf)
		free(buf);
	return rc;
}

/* Caller holds C.mu: tells the resolver to start over and ends its stream (OK). */
static void
resync_locked(struct sub *s, const char *reason)
{
	SyncEvent ev = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__INIT;
	Resync rs = MOCKARTY__COORDINATOR__V1__RESYNC__INIT;

	rs.reason = (char *)reason;
	ev.event_case = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_RESYNC;
	ev.resync = &rs;
	send_event(s->st, &ev, false);
	mk_grpc_stream_finish(s->st, MK_GRPC_OK, NULL);
	s->joined = false;
	s->gone = true;
	log_info("coordinator: resync for resolver %s (%s): %s", s->name, s->peer, reason);
}

/* ------------------------------------------------------------------ subscribers */

/* Caller holds C.mu: drops one reference; the last unlinks the subscriber, releases its stream
 * handle and frees it. */
static void
sub_unref_locked(struct sub *s)
{
	if (--s->refs > 0)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else if (C.subs == s)
		C.subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	mk_grpc_stream_release(s->st);
	free(s);
}

static json_t *sub_json_locked(const struct sub *s, int64_t mono_now, int64_t wall_now);
static int64_t coord_wall_ms(void);

/* Stream on-close callback (loop thread). An authenticated resolver is remembered as
 * disconnected for the nodes view (coordinator/gone.h). */
static void
sub_closed(void *arg)
{
	struct sub *s = arg;

	pthread_mutex_lock(&C.mu);
	if (!s->pending_auth && s->integ_id[0] != '\0' && s->name[0] != '\0') {
		char key[320];

		snprintf(key, sizeof(key), "resolver:%s/%s", s->ns, s->name);
		coord_gone_add(key, sub_json_locked(s, mk_grpc_now_ms(), coord_wall_ms()));
	}
	s->gone = true;
	s->joined = false;
	sub_unref_locked(s);
	pthread_mutex_unlock(&C.mu);
}

/* ------------------------------------------------------------------ authentication */

/*
 * Verifies an mki_ token (integration_verify) or an mk_ user API token (token_verify: its
 * type becomes user_editor, or user_viewer for role viewer) in the database. Returns 1 and
 * fills e (id, name, type, bound namespace) when valid,
 * 0 when invalid or revoked, -1 when the database could not answer.
 */
static int
verify_db(const char *token, struct acache *e)
{
	PGconn *conn = pgpool_get(2000);
	const char *params[1] = {token};
	PGresult *r;
	int ret = -1;

	bool user = strncmp(token, "mk_", 3) == 0;

	if (conn == NULL)
		return -1;
	r = PQexecParams(conn, user ? "SELECT mockarty.token_verify($1)" : "SELECT mockarty.integration_verify($1)",
	                 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		ret = 0;
		if (!PQgetisnull(r, 0, 0)) {
			json_t *j = mc_json_loadb_wide(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), 0, NULL);
			const char *id = json_string_value(json_object_get(j, "id"));
			const char *name = json_string_value(json_object_get(j, "name"));
			const char *type = json_string_value(json_object_get(j, "type"));
			const char *ns = json_string_value(json_object_get(j, "namespace"));
			const char *role = json_string_value(json_object_get(j, "role"));

			/* a user token (mk_<12 hex>_...): its type is its role, its id a pseudo uuid
			 * USER_TOKEN_ID_PREFIX + the 12-hex token id (the principal's id is 36 chars) */
			if (user && id && role)
				type = strcmp(role, "viewer") == 0 ? "user_viewer" : "user_editor";
			if (id && type) {
				snprintf(e->ns, sizeof(e->ns), "%s", ns ? ns : "");
				if (user)
					snprintf(e->id, sizeof(e->id), "%s%.12s", USER_TOKEN_ID_PREFIX, id);
				else
					snprintf(e->id, sizeof(e->id), "%s", id);
				snprintf(e->name, sizeof(e->name), "%s", name ? name : "");
				snprintf(e->type, sizeof(e->type), "%s", type);
				ret = 1;
			}
			json_decref(j);
		}
	} else {
		log_warn("coordinator: integration_verify: %s", PQerrorMessage(conn));
	}
	PQclear(r);
	pgpool_put(conn, ret < 0 && PQstatus(conn) != CONNECTION_OK);
	return ret;
}

static void
acache_purge(void)
{
	pthread_mutex_lock(&C.amu);
	memset(C.cache, 0, sizeof(C.cache));
	C.agen++;
	pthread_mutex_unlock(&C.amu);
}

/*
 * The checks after a verification (res): the token is valid and its type may use the
 * service of method. Returns MK_GRPC_OK with principal "<integration id> <bound namespace
 * or *> <integration name>" written, or an error code with msg filled.
 */
static int
admit(const char *method, const struct acache *res, char *principal, size_t pcap, char *msg, size_t mcap)
{
	if (!res->ok) {
		snprintf(msg, mcap, "invalid, disabled or deleted integration token");
		return MK_GRPC_UNAUTHENTICATED;
	}
	if (strncmp(method, SVC_PREFIX, strlen(SVC_PREFIX)) == 0 && strcmp(res->type, "mock_resolver") != 0 &&
	    strcmp(res->type, "orchestrator") != 0 && strcmp(res->type, "user_editor") != 0) {
		snprintf(msg, mcap,
		         "a %s token may not use the %s service (mock_resolver or orchestrator integration "
		         "tokens, or user API tokens of role editor or admin)",
		         res->type, SVC_NAME);
		return MK_GRPC_PERMISSION_DENIED;
	}
	if (strncmp(method, RUNNERS_SVC_PREFIX, strlen(RUNNERS_SVC_PREFIX)) == 0 &&
	    strcmp(res->type, "test_runner") != 0) {
		snprintf(msg, mcap, "a %s token may not use the %s service (test_runner tokens only)", res->type,
		         RUNNERS_SVC_NAME);
		return MK_GRPC_PERMISSION_DENIED;
	}
	snprintf(principal, pcap, "%s %s %s", res->id, res->ns[0] ? res->ns : "*", res->name);
	return MK_GRPC_OK;
}

/* Looks key up in the verification cache into *res; true on a hit. *gen: the cache generation. */
static bool
acache_get(const unsigned char key[32], struct acache *res, uint64_t *gen)
{
	struct acache *e;
	bool hit;

	pthread_mutex_lock(&C.amu);
	e = &C.cache[(key[0] | (unsigned)key[1] << 8) % ACACHE_SLOTS];
	hit = e->expires > mk_grpc_now_ms() && memcmp(e->key, key, 32) == 0;
	if (hit)
		*res = *e;
	*gen = C.agen;
	pthread_mutex_unlock(&C.amu);
	return hit;
}

/*
 * Verifies tok in the database (bcrypt, ~50 ms: never on the loop thread) and caches the
 * answer unless the cache was purged since gen. Returns false when the database could not
 * answer.
 */
static bool
verify_and_cache(const char *tok, const unsigned char key[32], uint64_t gen, struct acache *res)
{
	int v;

	memset(res, 0, sizeof(*res));
	v = verify_db(tok, res);
	if (v < 0)
		return false;
	res->ok = v == 1;
	memcpy(res->key, key, 32);
	res->expires = mk_grpc_now_ms() + (res->ok ? ACACHE_TTL_MS : ACACHE_NEG_TTL_MS);
	pthread_mutex_lock(&C.amu);
	/* a purge while we verified means the answer may be stale: do not keep it */
	if (C.agen == gen)
		C.cache[(key[0] | (unsigned)key[1] << 8) % ACACHE_SLOTS] = *res;
	pthread_mutex_unlock(&C.amu);
	return true;
}

/*
 * The transport's auth hook (loop thread, before the request body is read). Admits
 * mock_resolver and orchestrator integration tokens and user API tokens of role editor or
 * admin (generated servers, docs/generator.md) to the Coordinator service, each bound to its
 * token's namespace binding, and test_runner tokens to the
 * Runners service (coordinator/runners.c); the principal is "<integration id> <bound namespace or
 * *> <integration name>" (namespace names have no spaces). A token that is not in the cache
 * of verifications is not verified here: a unary call is admitted with the principal
 * "?<token>" and its worker verifies it before running it (coord_auth_deferred), so the
 * loop thread never waits for bcrypt; so are the streams: a Sync is verified by its setup
 * thread (sync_main), a Runners/Connect by a runners worker before its setup.
 */
static int
coord_auth(void *ud, const char *method, const char *authorization, char *principal, size_t pcap, char *msg,
           size_t mcap)
{
	const char *tok;
	unsigned char key[32];
	unsigned int klen = 0;
	struct acache res;
	uint64_t gen;

	(void)ud;
	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0) {
		snprintf(msg, mcap, "missing \"authorization: Bearer mki_...\" metadata");
		return MK_GRPC_UNAUTHENTICATED;
	}
	tok = authorization + 7;
	while (*tok == ' ')
		tok++;
	if ((strncmp(tok, "mki_", 4) != 0 && strncmp(tok, "mk_", 3) != 0) || strlen(tok) > 200) {
		snprintf(msg, mcap, "invalid token: expected an integration token (mki_) or a user API token (mk_)");
		return MK_GRPC_UNAUTHENTICATED;
	}
	if (!EVP_Digest(tok, strlen(tok), key, &klen, EVP_sha256(), NULL) || klen != 32) {
		snprintf(msg, mcap, "cannot hash the token");
		return MK_GRPC_INTERNAL;
	}
	if (acache_get(key, &res, &gen))
		return admit(method, &res, principal, pcap, msg, mcap);
	if (strlen(tok) + 2 <= pcap) {
		snprintf(principal, pcap, "?%s", tok);
		atomic_fetch_add(&C.deferred_auth, 1);
		return MK_GRPC_OK;
	}
	if (!verify_and_cache(tok, key, gen, &res)) {
		snprintf(msg, mcap, "cannot verify the token now: database unavailable");
		return MK_GRPC_UNAVAILABLE;
	}
	return admit(method, &res, principal, pcap, msg, mcap);
}

unsigned long long
coordinator_deferred_auth(void)
{
	return atomic_load(&C.deferred_auth);
}

bool
coord_auth_deferred(mk_grpc_stream *st)
{
	const mk_grpc_call_info *info = mk_grpc_stream_info(st);
	char tok[160], principal[128], msg[256];
	unsigned char key[32];
	unsigned int klen = 0;
	struct acache res;
	uint64_t gen;
	int code;

	if (info->principal[0] != '?')
		return true;
	snprintf(tok, sizeof(tok), "%s", info->principal + 1);
	if (!EVP_Digest(tok, strlen(tok), key, &klen, EVP_sha256(), NULL) || klen != 32) {
		mk_grpc_stream_finish(st, MK_GRPC_INTERNAL, "cannot hash the token");
		return false;
	}
	if (!acache_get(key, &res, &gen) && !verify_and_cache(tok, key, gen, &res)) {
		mk_grpc_stream_finish(st, MK_GRPC_UNAVAILABLE, "cannot verify the token now: database unavailable");
		return false;
	}
	code = admit(info->method, &res, principal, sizeof(principal), msg, sizeof(msg));
	if (code != MK_GRPC_OK) {
		mk_grpc_stream_set_principal(st, "");
		mk_grpc_stream_finish(st, code, msg);
		return false;
	}
	mk_grpc_stream_set_principal(st, principal);
	return true;
}

void
coord_principal_ns(const mk_grpc_call_info *info, char *out, size_t cap)
{
	const char *p = strlen(info->principal) > 37 ? info->principal + 37 : "";
	const char *sp = strchr(p, ' ');
	size_t n = sp ? (size_t)(sp - p) : strlen(p);

	if (n == 1 && p[0] == '*')
		n = 0;
	snprintf(out, cap, "%.*s", (int)n, p);
}

const char *
coord_principal_name(const mk_grpc_call_info *info)
{
	const char *p = strlen(info->principal) > 37 ? info->principal + 37 : "";
	const char *sp = strchr(p, ' ');

	return sp ? sp + 1 : "";
}

/*
 * The namespace a call of a bound token acts in: the requested one when it is the token's
 * (or the token is unbound), the token's when none was requested; false (st finished with
 * PERMISSION_DENIED) when another namespace was requested.
 */
static bool
call_namespace(mk_grpc_stream *st, const char *requested, char *out, size_t cap)
{
	char bound[64];

	coord_principal_ns(mk_grpc_stream_info(st), bound, sizeof(bound));
	if (bound[0] && requested[0] && strcmp(requested, bound) != 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "this integration token is bound to namespace %s, not %.64s", bound,
		         requested);
		mk_grpc_stream_finish(st, MK_GRPC_PERMISSION_DENIED, msg);
		return false;
	}
	snprintf(out, cap, "%s", requested[0] ? requested : bound[0] ? bound : "sandbox");
	return true;
}

static bool
principal_has_id(void *arg, const mk_grpc_call_info *info)
{
	size_t n = strlen((const char *)arg);

	return strncasecmp(info->principal, (const char *)arg, n) == 0 &&
	       (info->principal[n] == ' ' || info->principal[n] == '\0');
}

/* Ends every stream authenticated with integration id (UNAUTHENTICATED). */
static void
revoke_id(const char *id)
{
	size_t n = mk_grpc_server_close_streams(C.srv, principal_has_id, (void *)id, MK_GRPC_UNAUTHENTICATED,
	                                        "token revoked");

	if (n)
		log_info("coordinator: integration %s revoked: %zu stream(s) ended", id, n);
}

/*
 * After a LISTEN (re)connect: revocations may have been missed, so every integration with a
 * connected resolver or runner is checked again.
 */
static bool
recheck_connected(PGconn *conn)
{
	char ids[64][40];
	int n = 0;

	acache_purge();
	pthread_mutex_lock(&C.mu);
	for (struct sub *s = C.subs; s && n < 64; s = s->next) {
		bool dup = false;

		for (int i = 0; i < n && !dup; i++)
			dup = strcmp(ids[i], s->integ_id) == 0;
		/* user tokens are not integrations: their cached verification expires instead */
		if (!dup && s->integ_id[0] && strncmp(s->integ_id, USER_TOKEN_ID_PREFIX, strlen(USER_TOKEN_ID_PREFIX)) != 0)
			snprintf(ids[n++], sizeof(ids[0]), "%s", s->integ_id);
	}
	pthread_mutex_unlock(&C.mu);
	{
		char rids[64][40];
		size_t rn = coord_runners_integrations(rids, 64);

		for (size_t k = 0; k < rn && n < 64; k++) {
			bool dup = false;

			for (int i = 0; i < n && !dup; i++)
				dup = strcmp(ids[i], rids[k]) == 0;
			if (!dup)
				snprintf(ids[n++], sizeof(ids[0]), "%.39s", rids[k]);
		}
	}
	for (int i = 0; i < n; i++) {
		const char *params[1] = {ids[i]};
		PGresult *r = PQexecParams(
		    conn, "SELECT coalesce((mockarty.integration_get($1)->>'enabled')::boolean, false)", 1,
		    NULL, params, NULL, NULL, 0);
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;

		if (ok && strcmp(PQgetvalue(r, 0, 0), "f") == 0)
			revoke_id(ids[i]);
		PQclear(r);
		if (!ok)
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ the change feed */

/* What a ring slot costs: its texts plus the allocator's overhead, roughly. */
static size_t
change_size(const struct change *c)
{
	return 96 + (c->ns ? strlen(c->ns) : 0) + (c->id ? strlen(c->id) : 0) + (c->json ? strlen(c->json) : 0);
}

static bool fanout(void);

/* Caller holds C.mu (or is the only thread left): empties one ring slot. */
static void
change_clear(struct change *c)
{
	if (c->version != 0)
		C.ring_bytes -= change_size(c);
	free(c->ns);
	free(c->id);
	free(c->json);
	memset(c, 0, sizeof(*c));
}

/*
 * Reads the change log after C.head into the ring until caught up, fanning each batch out
 * before reading the next, so streams follow a burst (one transaction of 10,000 mocks)
 * while it is read instead of finding its start already evicted. The ring keeps the newest
 * RING_CAP changes and at most about RING_BYTES of text; older ones are evicted, and a
 * stream whose next version was evicted gets a Resync at its next fan-out. Runs on the feed
 * thread (the only writer of the ring); C.mu is taken only to insert. False on a database
 * error.
 */
static bool
read_changes(PGconn *conn)
{
	for (;;) {
		char after[32];
		const char *params[1] = {after};
		PGresult *r;
		int n;

		pthread_mutex_lock(&C.mu);
		snprintf(after, sizeof(after), "%" PRId64, C.head);
		pthread_mutex_unlock(&C.mu);
		/* text built in SQL from the row (no jsonb round trip); NULL = delete, closed or gone */
		r = PQexecParams(conn,
		                 "SELECT version, namespace, mock_id, mock "
		                 "FROM mockarty.changes_since_text($1::bigint, " CPP_STR(DELTA_BATCH) ")",
		                 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			log_warn("coordinator: changes_since_text(%s): %s", after, PQerrorMessage(conn));
			PQclear(r);
			return false;
		}
		n = PQntuples(r);
		pthread_mutex_lock(&C.mu);
		for (int i = 0; i < n; i++) {
			int64_t v = strtoll(PQgetvalue(r, i, 0), NULL, 10);
			struct change *c = &C.ring[v % RING_CAP];

			if (v <= C.head)
				continue;
			change_clear(c);
			c->version = v;
			c->ns = strdup(PQgetvalue(r, i, 1));
			c->id = strdup(PQgetvalue(r, i, 2));
			c->json = PQgetisnull(r, i, 3) ? NULL : strdup(PQgetvalue(r, i, 3));
			if (c->ns == NULL || c->id == NULL) {
				/* out of memory: an empty slot makes the streams that need it resync */
				change_clear(c);
			} else {
				C.ring_bytes += change_size(c);
			}
			C.head = v;
			if (C.head - C.ring_lo + 1 > RING_CAP)
				C.ring_lo = C.head - RING_CAP + 1;
			while (C.ring_bytes > RING_BYTES && C.ring_lo < C.head)
				change_clear(&C.ring[C.ring_lo++ % RING_CAP]);
		}
		pthread_mutex_unlock(&C.mu);
		PQclear(r);
		if (n < DELTA_BATCH)
			return true;
		fanout();
	}
}

/*
 * Initialises or refreshes the ring after a LISTEN (re)connect: on the first connect it is
 * filled with the newest RING_INIT changes (so resolvers that reconnect after an admin restart
 * resume with deltas); when the database's head went backwards (restored or replaced
 * database) every stream is told to resync.
 */
static bool
feed_init(PGconn *conn)
{
	PGresult *r = PQexec(conn, "SELECT mockarty.head_version()");
	int64_t head_db;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		log_warn("coordinator: head_version(): %s", PQerrorMessage(conn));
		PQclear(r);
		return false;
	}
	head_db = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	pthread_mutex_lock(&C.mu);
	if (!C.feed_ready || head_db < C.head) {
		if (C.feed_ready) {
			log_warn("coordinator: database head %" PRId64 " is behind %" PRId64
			         ": restored database, every resolver resyncs",
			         head_db, C.head);
			for (struct sub *s = C.subs; s; s = s->next)
				if (!s->gone)
					resync_locked(s, "the database was replaced");
		}
		for (int i = 0; i < RING_CAP; i++)
			change_clear(&C.ring[i]);
		C.head = head_db > RING_INIT ? head_db - RING_INIT : 0;
		C.ring_lo = C.head + 1;
		C.feed_ready = false;
	}
	pthread_mutex_unlock(&C.mu);
	if (!read_changes(conn))
		return false;
	pthread_mutex_lock(&C.mu);
	C.feed_ready = true;
	pthread_mutex_unlock(&C.mu);
	return true;
}

/*
 * Caller holds C.mu: the next event for s did not fit its send queue. The stream waits
 * (the ring still holds what it needs) unless its queue has drained nothing for
 * C.slow_reader_ms: a reader that stopped reading gets a Resync. Returns true when the
 * stream was ended.
 */
static bool
no_room_locked(struct sub *s)
{
	int64_t now = mk_grpc_now_ms();

	if (s->stall_since == 0) {
		s->stall_since = now;
		return false;
	}
	if (now - s->stall_since < C.slow_reader_ms)
		return false;
	resync_locked(s, "send queue full: the resolver reads too slowly");
	return true;
}

/*
 * Caller holds C.mu: queues for s every change after its cursor that the ring holds, as far
 * as its send queue has room. Returns true when s is left waiting for room.
 */
static bool
fanout_one_locked(struct sub *s)
{
	while (!s->gone && s->cursor < C.head) {
		int64_t v = s->cursor + 1;
		struct change *c = &C.ring[v % RING_CAP];
		SyncEvent ev = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__INIT;
		Delta d = MOCKARTY__COORDINATOR__V1__DELTA__INIT;
		bool mine;
		int rc;

		if (v < C.ring_lo || c->version != v) {
			resync_locked(s, "resolver version is older than the coordinator's change window");
			return false;
		}
		mine = strcmp(c->ns, s->ns) == 0;
		d.version = (uint64_t)v;
		d.namespace_ = s->ns;
		d.mock_id = c->id;
		if (mine && c->json != NULL) {
			d.op = MOCKARTY__COORDINATOR__V1__DELTA__OP__OP_UPSERT;
			d.json = c->json;
		} else {
			/* deleted, or not (any longer) in this stream's namespace */
			d.op = MOCKARTY__COORDINATOR__V1__DELTA__OP__OP_DELETE;
			d.json = "";
		}
		ev.event_case = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_DELTA;
		ev.delta = &d;
		rc = send_event(s->st, &ev, true);
		if (rc == 1)
			return !no_room_locked(s);
		if (rc != 0) {
			s->gone = true;
			s->joined = false;
			return false;
		}
		s->cursor = v;
		s->stall_since = 0;
	}
	return false;
}

/*
 * Sends every joined stream the changes after its cursor (feed thread). Returns true when
 * some stream waits for room in its send queue (the feed then polls again soon).
 */
static bool
fanout(void)
{
	bool blocked = false;

	pthread_mutex_lock(&C.mu);
	for (struct sub *s = C.subs; s; s = s->next)
		if (s->joined && !s->gone && fanout_one_locked(s))
			blocked = true;
	pthread_mutex_unlock(&C.mu);
	return blocked;
}

/*
 * Queues a Heartbeat with the head version on every joined stream. A stream without room
 * for it skips it (it is behind and has deltas queued, which prove liveness as well).
 */
static void
heartbeat_all(void)
{
	SyncEvent ev = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__INIT;
	Heartbeat hb = MOCKARTY__COORDINATOR__V1__HEARTBEAT__INIT;
	int64_t now = wall_ms();

	ev.event_case = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_HEARTBEAT;
	ev.heartbeat = &hb;
	hb.server_time_ms = now;
	pthread_mutex_lock(&C.mu);
	hb.head_version = (uint64_t)C.head;
	for (struct sub *s = C.subs; s; s = s->next) {
		int rc;

		if (!s->joined || s->gone)
			continue;
		rc = send_event(s->st, &ev, true);
		if (rc == 1)
			continue;
		if (rc != 0)
			s->gone = true;
		else
			s->last_hb_ms = now;
	}
	pthread_mutex_unlock(&C.mu);
}

/*
 * Records in mockarty_private.change_log_nodes (change_log_node_record) the lowest version
 * applied by the resolvers joined to this node's fan-out (their reported applied version,
 * never above the version sent to them; the version sent when they reported none), or that
 * none is connected (release true: this node stops holding the change log, as at shutdown).
 * change_log_trim keeps the versions above the lowest one recorded within
 * change_log_node_window_s. Runs on the feed thread every NODE_RECORD_MS; false on a
 * database error (logged; the caller goes on).
 */
static bool
record_applied(PGconn *conn, bool release)
{
	int64_t lowest = -1;
	int n = 0;
	char v[32], cnt[16];
	const char *params[3] = {C.admin_node, v, cnt};
	PGresult *r;
	bool ok;

	if (!release) {
		pthread_mutex_lock(&C.mu);
		for (struct sub *s = C.subs; s; s = s->next) {
			int64_t a;

			if (!s->joined || s->gone || s->pending_auth)
				continue;
			a = s->applied > 0 && s->applied < s->cursor ? s->applied : s->cursor;
			if (lowest < 0 || a < lowest)
				lowest = a;
			n++;
		}
		pthread_mutex_unlock(&C.mu);
	}
	snprintf(v, sizeof(v), "%" PRId64, lowest < 0 ? 0 : lowest);
	snprintf(cnt, sizeof(cnt), "%d", n);
	r = PQexecParams(conn, "SELECT mockarty.change_log_node_record($1, $2::bigint, $3::int)", 3, NULL, params,
	                 NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		log_warn("coordinator: change_log_node_record: %s", PQerrorMessage(conn));
	PQclear(r);
	return ok;
}

/* Opens the LISTEN connection and (re)initialises the feed; NULL on failure. */
static PGconn *
feed_connect(void)
{
	PGconn *conn = pgpool_connect_new();
	PGresult *r;

	if (conn == NULL)
		return NULL;
	/* its own application_name, so an operator (or a fault test) can tell it from the pool */
	r = PQexec(conn, "SET application_name = 'mockarty-coordinator-feed'; "
	                 "LISTEN mockarty_changes; LISTEN mockarty_tokens; LISTEN mockarty_tasks");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_warn("coordinator: LISTEN: %s", PQerrorMessage(conn));
		PQclear(r);
		PQfinish(conn);
		return NULL;
	}
	PQclear(r);
	if (!recheck_connected(conn) || !feed_init(conn)) {
		PQfinish(conn);
		return NULL;
	}
	/* task notifications may have been lost too: every runner gets offers again */
	coord_runners_notify(NULL);
	return conn;
}

/* The feed thread: LISTEN, read the change log, fan out, heartbeat. */
static void *
feed_main(void *arg)
{
	PGconn *conn = NULL;
	int backoff = 100;
	int64_t next_hb = mk_grpc_now_ms() + HEARTBEAT_MS, last_read = 0, next_connect = 0;
	int64_t next_record = 0;
	/* a query ran on the LISTEN connection: notifications that arrived with its answer sit in
	 * libpq's buffer, not on the socket, so poll() would not wake for them */
	bool drain = false;

	(void)arg;
	while (!atomic_load(&C.stop)) {
		struct pollfd p[2] = {{.fd = C.evfd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
		bool need_read = false, blocked;
		int64_t now = mk_grpc_now_ms(), wake_at;

		if (conn == NULL && now >= next_connect) {
			conn = feed_connect();
			if (conn == NULL) {
				next_connect = now + backoff;
				backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
				if (atomic_exchange(&C.db_up, false)) {
					mk_grpc_health_set(C.srv, SVC_NAME, HEALTH_NOT_SERVING);
					mk_grpc_health_set(C.srv, RUNNERS_SVC_NAME, HEALTH_NOT_SERVING);
				}
			} else {
				backoff = 100;
				last_read = mk_grpc_now_ms();
				if (!atomic_exchange(&C.db_up, true)) {
					mk_grpc_health_set(C.srv, SVC_NAME, HEALTH_SERVING);
					mk_grpc_health_set(C.srv, RUNNERS_SVC_NAME, HEALTH_SERVING);
					log_info("coordinator: change feed connected");
				}
			}
		}
		blocked = fanout();
		now = mk_grpc_now_ms();
		if (now >= next_hb) {
			heartbeat_all();
			next_hb = now + HEARTBEAT_MS;
		}
		if (conn != NULL && now >= next_record) {
			record_applied(conn, false);
			drain = true;
			now = mk_grpc_now_ms();
			next_record = now + NODE_RECORD_MS;
		}
		wake_at = next_hb;
		if (conn != NULL && next_record < wake_at)
			wake_at = next_record;
		/* no callback tells us when a queue drains: look again soon */
		if (blocked && now + BLOCKED_POLL_MS < wake_at)
			wake_at = now + BLOCKED_POLL_MS;
		if (conn == NULL && next_connect < wake_at)
			wake_at = next_connect;
		if (conn != NULL)
			p[1].fd = PQsocket(conn);
		if (drain && conn != NULL)
			wake_at = now;
		if (poll(p, conn ? 2 : 1, wake_at > now ? (int)(wake_at - now) : 0) > 0 &&
		    (p[0].revents & POLLIN)) {
			uint64_t v;

			if (read(C.evfd, &v, sizeof(v)) < 0) {
				/* nothing to drain */
			}
		}
		if (conn == NULL)
			continue;
		if (p[1].revents || drain) {
			PGnotify *nt;

			drain = false;
			if (!PQconsumeInput(conn)) {
				log_warn("coordinator: LISTEN connection lost: %s", PQerrorMessage(conn));
				PQfinish(conn);
				conn = NULL;
				continue;
			}
			while ((nt = PQnotifies(conn)) != NULL) {
				if (strcmp(nt->relname, "mockarty_tokens") == 0) {
					acache_purge();
					if (coord_is_uuid_word(nt->extra)) {
						revoke_id(nt->extra);
					} else if (strlen(nt->extra) == 12 &&
					           strspn(nt->extra, "0123456789abcdef") == 12) {
						/* a user API token (mk_<id>_...) disabled or deleted */
						char uid[40];

						snprintf(uid, sizeof(uid), "%s%s", USER_TOKEN_ID_PREFIX, nt->extra);
						revoke_id(uid);
					}
				} else if (strcmp(nt->relname, "mockarty_tasks") == 0) {
					coord_runners_notify(nt->extra);
				} else {
					need_read = true;
				}
				PQfreemem(nt);
			}
		}
		now = mk_grpc_now_ms();
		if (need_read || now - last_read >= SAFETY_READ_MS) {
			last_read = now;
			if (!read_changes(conn)) {
				PQfinish(conn);
				conn = NULL;
			} else {
				drain = true;
			}
		}
	}
	/* a node shutting down stops holding the change log for its resolvers */
	if (conn != NULL)
		record_applied(conn, true);
	PQfinish(conn);
	return NULL;
}

/* ------------------------------------------------------------------ Sync */

/*
 * Streams the namespace's snapshot in one REPEATABLE READ transaction (head_version() and
 * a cursor over mockarty.snapshot_text() read in it), SNAP_FETCH rows per round trip, in
 * chunks of at most CHUNK_MOCKS mocks / about CHUNK_BYTES, waiting for queue room between
 * chunks. Returns the
 * snapshot version, or -1 when the stream went away or the database failed (the stream is
 * then finished here when still open).
 */
static int64_t
send_snapshot(PGconn *conn, struct sub *s)
{
	const char *params[1] = {s->ns};
	PGresult *r;
	int64_t version = -1;
	MockDoc *docs = NULL, **ptrs = NULL;
	bool ok = false;

	r = PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto db_fail;
	PQclear(r);
	r = PQexec(conn, "SELECT mockarty.head_version()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		goto db_fail;
	version = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	/* unordered, one namespace, text built from the row: the cursor streams from row one */
	r = PQexecParams(conn,
	                 "DECLARE mk_coord_snap NO SCROLL CURSOR FOR "
	                 "SELECT version, mock_id, mock FROM mockarty.snapshot_text($1)",
	                 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto db_fail;
	PQclear(r);
	r = NULL;
	docs = calloc(CHUNK_MOCKS, sizeof(*docs));
	ptrs = calloc(CHUNK_MOCKS, sizeof(*ptrs));
	if (docs == NULL || ptrs == NULL)
		goto out;
	for (bool last = false; !last;) {
		int n, i = 0;

		r = PQexec(conn, "FETCH " CPP_STR(SNAP_FETCH) " FROM mk_coord_snap");
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			goto db_fail;
		n = PQntuples(r);
		last = n < SNAP_FETCH;
		do {
			SyncEvent ev = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__INIT;
			Snapshot sn = MOCKARTY__COORDINATOR__V1__SNAPSHOT__INIT;
			size_t bytes = 0, k = 0;
			int64_t stall = mk_grpc_now_ms() + SNAPSHOT_STALL_MS;
			int rc;

			for (; i < n && k < CHUNK_MOCKS && (k == 0 || bytes < CHUNK_BYTES); i++, k++) {
				mockarty__coordinator__v1__mock_doc__init(&docs[k]);
				docs[k].version = strtoull(PQgetvalue(r, i, 0), NULL, 10);
				docs[k].id = PQgetvalue(r, i, 1);
				docs[k].namespace_ = s->ns;
				docs[k].json = PQgetvalue(r, i, 2);
				ptrs[k] = &docs[k];
				bytes += (size_t)PQgetlength(r, i, 2) + 64;
			}
			sn.version = (uint64_t)version;
			sn.mocks = ptrs;
			sn.n_mocks = k;
			sn.last_chunk = last && i >= n;
			ev.event_case = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_SNAPSHOT;
			ev.snapshot = &sn;
			/* pace: a snapshot is only queued as fast as the resolver reads it */
			while ((rc = send_event(s->st, &ev, true)) == 1) {
				if (!mk_grpc_stream_is_open(s->st))
					goto out;
				if (mk_grpc_now_ms() > stall) {
					mk_grpc_stream_finish(s->st, MK_GRPC_RESOURCE_EXHAUSTED,
					                      "snapshot not read: resubscribe");
					goto out;
				}
				sleep_ms(2);
			}
			if (rc != 0)
				goto out;
		} while (i < n);
		PQclear(r);
		r = NULL;
	}
	ok = true;
	goto out;
db_fail:
	log_warn("coordinator: snapshot for %s: %s", s->name, PQerrorMessage(conn));
	mk_grpc_stream_finish(s->st, MK_GRPC_UNAVAILABLE, "snapshot failed: database unavailable");
out:
	PQclear(r);
	r = PQexec(conn, "ROLLBACK");
	PQclear(r);
	free(docs);
	free(ptrs);
	return ok ? version : -1;
}

/* Setup thread of one Sync: snapshot or resume decision, then joins the fan-out. */
static void *
sync_main(void *arg)
{
	struct sub *s = arg;
	PGconn *conn = NULL;
	PGresult *r;
	int64_t head_db, v = -1;
	bool resume;

	if (s->pending_auth) {
		/* the token was not in the cache: verify it here, off the loop thread */
		char ns[128];
		const mk_grpc_call_info *info = mk_grpc_stream_info(s->st);

		if (!coord_auth_deferred(s->st) || !call_namespace(s->st, s->req_ns, ns, sizeof(ns)))
			goto done;
		pthread_mutex_lock(&C.mu);
		snprintf(s->ns, sizeof(s->ns), "%s", ns);
		snprintf(s->integ_id, sizeof(s->integ_id), "%.36s", info->principal);
		snprintf(s->integ_name, sizeof(s->integ_name), "%s", coord_principal_name(info));
		s->pending_auth = false;
		pthread_mutex_unlock(&C.mu);
	}
	conn = pgpool_get(5000);
	if (conn == NULL) {
		mk_grpc_stream_finish(s->st, MK_GRPC_UNAVAILABLE, "database unavailable");
		goto done;
	}
	r = PQexec(conn, "SELECT mockarty.head_version()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		pgpool_put(conn, PQstatus(conn) != CONNECTION_OK);
		mk_grpc_stream_finish(s->st, MK_GRPC_UNAVAILABLE, "database unavailable");
		goto done;
	}
	head_db = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (s->have > (uint64_t)head_db) {
		pthread_mutex_lock(&C.mu);
		resync_locked(s, "resolver version is ahead of the database (another database?)");
		pthread_mutex_unlock(&C.mu);
		pgpool_put(conn, false);
		goto done;
	}
	pthread_mutex_lock(&C.mu);
	/* deltas can serve it when every version after have is still in the ring */
	resume = s->have > 0 && C.feed_ready && (int64_t)s->have + 1 >= C.ring_lo;
	pthread_mutex_unlock(&C.mu);
	v = resume ? (int64_t)s->have : send_snapshot(conn, s);
	pgpool_put(conn, PQstatus(conn) != CONNECTION_OK);
	if (v < 0)
		goto done;
	pthread_mutex_lock(&C.mu);
	if (!s->gone) {
		s->cursor = v;
		s->joined = true;
		log_info("coordinator: resolver %s (%s, namespace %s) %s at version %" PRId64, s->name,
		         s->peer, s->ns, resume ? "resumed" : "got a snapshot", v);
	}
	pthread_mutex_unlock(&C.mu);
	wake_feed();
done:
	pthread_mutex_lock(&C.mu);
	sub_unref_locked(s);
	pthread_mutex_unlock(&C.mu);
	pthread_mutex_lock(&C.jmu);
	C.nsync--;
	pthread_cond_broadcast(&C.donecv);
	pthread_mutex_unlock(&C.jmu);
	return NULL;
}

/* Sync handler (loop thread): records the subscriber and hands it to a setup thread. */
static void
sync_handler(void *ud, mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	SyncRequest *r = mockarty__coordinator__v1__sync_request__unpack(NULL, len, req);
	const mk_grpc_call_info *info = mk_grpc_stream_info(st);
	struct sub *s;
	pthread_t th;
	pthread_attr_t at;
	bool started = false;

	(void)ud;
	if (r == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed SyncRequest");
		return;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		mockarty__coordinator__v1__sync_request__free_unpacked(r, NULL);
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	if (info->principal[0] == '?') {
		/* the setup thread verifies the token, then settles the namespace */
		s->pending_auth = true;
		snprintf(s->req_ns, sizeof(s->req_ns), "%s", r->namespace_);
	} else if (!call_namespace(st, r->namespace_, s->ns, sizeof(s->ns))) {
		free(s);
		mockarty__coordinator__v1__sync_request__free_unpacked(r, NULL);
		return;
	}
	s->st = st;
	s->have = r->have_version;
	s->refs = 2; /* the setup thread and the stream */
	s->connected_ms = wall_ms();
	snprintf(s->name, sizeof(s->name), "%s", r->resolver_name[0] ? r->resolver_name : "(unnamed)");
	snprintf(s->peer, sizeof(s->peer), "%s", info->peer);
	snprintf(s->address, sizeof(s->address), "%s", r->address[0] ? r->address : info->peer);
	snprintf(s->sw_version, sizeof(s->sw_version), "%s", r->software_version ? r->software_version : "");
	if (!s->pending_auth) {
		snprintf(s->integ_id, sizeof(s->integ_id), "%.36s", info->principal);
		snprintf(s->integ_name, sizeof(s->integ_name), "%s", coord_principal_name(info));
	}
	mockarty__coordinator__v1__sync_request__free_unpacked(r, NULL);
	mk_grpc_stream_set_overflow(st, C.queue_limit, MK_GRPC_RESOURCE_EXHAUSTED,
	                            "send queue full: resubscribe");
	mk_grpc_stream_retain(st);

	pthread_mutex_lock(&C.mu);
	s->next = C.subs;
	if (C.subs)
		C.subs->prev = s;
	C.subs = s;
	pthread_mutex_unlock(&C.mu);
	mk_grpc_stream_on_close(st, sub_closed, s);

	pthread_mutex_lock(&C.jmu);
	if (C.nsync < MAX_SYNC_THREADS && !atomic_load(&C.stop)) {
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, sync_main, s) == 0) {
			C.nsync++;
			started = true;
		}
		pthread_attr_destroy(&at);
	}
	pthread_mutex_unlock(&C.jmu);
	if (!started) {
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED,
		                      "too many resolvers subscribing at once");
		pthread_mutex_lock(&C.mu);
		sub_unref_locked(s);
		pthread_mutex_unlock(&C.mu);
	}
}

/* ------------------------------------------------------------------ Resolve and Report */

static void
finish_db_error(mk_grpc_stream *st, PGconn *conn, PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (state && strncmp(state, "22", 2) == 0)
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, m ? m : "invalid request");
	else if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		mk_grpc_stream_finish(st, MK_GRPC_UNAVAILABLE, "database unavailable");
	else
		mk_grpc_stream_finish(st, MK_GRPC_INTERNAL, m ? m : "database error");
}

/* Worker: Resolve through SQL (mockarty.resolve), so stateful mocks stay exact across nodes. */
static void
do_resolve(mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	Mockarty__Coordinator__V1__ResolveRequest *q =
	    mockarty__coordinator__v1__resolve_request__unpack(NULL, len, req);
	Mockarty__Coordinator__V1__ResolveResponse resp = MOCKARTY__COORDINATOR__V1__RESOLVE_RESPONSE__INIT;
	const char *params[8];
	char seed[32], ns[128], *body = NULL;
	PGconn *conn;
	PGresult *r = NULL;
	uint8_t *out;
	size_t n;

	if (q == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed ResolveRequest");
		return;
	}
	if (!call_namespace(st, q->namespace_, ns, sizeof(ns)))
		goto out;
	if (otel_enabled() && otel_current() != NULL)
		otel_span_set_str(otel_current(), "mockarty.namespace",
		                  q->namespace_[0] ? q->namespace_ : "sandbox");
	if (q->body.len > 0) {
		if (memchr(q->body.data, '\0', q->body.len) != NULL) {
			mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT,
			                      "request body contains NUL bytes");
			goto out;
		}
		body = strndup((const char *)q->body.data, q->body.len);
	}
	snprintf(seed, sizeof(seed), "%" PRId64, (int64_t)q->seed);
	params[0] = ns;
	params[1] = q->method[0] ? q->method : "GET";
	params[2] = q->path[0] ? q->path : "/";
	params[3] = q->query;
	params[4] = q->headers_json[0] ? q->headers_json : "{}";
	params[5] = body;
	params[6] = q->seed ? seed : NULL;
	params[7] = q->protocol && q->protocol[0] ? q->protocol : "http";
	if (strcmp(params[7], "http") != 0 && strcmp(params[7], "grpc") != 0) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "unknown protocol: use http or grpc");
		goto out;
	}
	conn = pgpool_get(5000);
	if (conn == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_UNAVAILABLE, "database unavailable");
		goto out;
	}
	r = PQexecParams(conn, "SELECT mockarty.resolve($1, $2, $3, $4, $5::jsonb, $6, $7::bigint, $8)", 8, NULL,
	                 params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		finish_db_error(st, conn, r);
		PQclear(r);
		pgpool_put(conn, PQstatus(conn) != CONNECTION_OK);
		goto out;
	}
	resp.found = !PQgetisnull(r, 0, 0);
	resp.response_json = resp.found ? PQgetvalue(r, 0, 0) : "";
	n = mockarty__coordinator__v1__resolve_response__get_packed_size(&resp);
	out = malloc(n ? n : 1);
	if (out != NULL) {
		mockarty__coordinator__v1__resolve_response__pack(&resp, out);
		mk_grpc_stream_send(st, out, n);
		mk_grpc_stream_finish(st, MK_GRPC_OK, NULL);
		free(out);
	} else {
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
	}
	PQclear(r);
	pgpool_put(conn, false);
out:
	free(body);
	mockarty__coordinator__v1__resolve_request__free_unpacked(q, NULL);
}

/* JSON value of text that should be JSON; a JSON string of it otherwise (new reference). */
static json_t *
json_or_string(const char *text)
{
	json_t *v = text && text[0] ? mc_json_loadb_wide(text, strlen(text), JSON_DECODE_ANY, NULL) : NULL;

	return v ? v : json_string(text ? text : "");
}

/*
 * The callbacks of a Report, derived here from the stored mocks: each item a
 * resolver forwards names a mock and the request it served (eventq.h,
 * forwarding mode). Only mocks of namespaces (a text[] literal: what this node
 * was sent) are looked up; ms_callbacks_replay renders their stored callbacks
 * with the reported request when it matches the mock, into this node's own
 * webhook queue. Anything the node rendered is ignored; an item that names no
 * such mock, carries no request or does not match is dropped and counted as
 * shed (mockarty_webhook_callbacks_shed_total).
 */
static void
replay_callbacks(PGconn *conn, const Mockarty__Coordinator__V1__ReportBatch *b, const char *namespaces)
{
	json_t *items = json_array(), *ids = json_array(), *rows = json_object();
	char *idlit = NULL, err[300];
	const char *params[2];
	PGresult *r = NULL;
	size_t dropped = 0, i;

	if (items == NULL || ids == NULL || rows == NULL)
		goto oom;
	for (i = 0; i < b->n_callbacks_json; i++) {
		json_t *it = mc_json_loadb_wide(b->callbacks_json[i], strlen(b->callbacks_json[i]), 0, NULL);
		const char *id = json_string_value(json_object_get(it, "mockId"));

		if (id == NULL) {
			json_decref(it);
			dropped++;
			continue;
		}
		json_array_append_new(ids, json_string(id));
		json_array_append_new(items, it);
	}
	if (json_array_size(items) == 0)
		goto out;
	idlit = api_pg_array(ids);
	if (idlit == NULL)
		goto oom;
	params[0] = idlit;
	params[1] = namespaces;
	r = PQexecParams(conn,
			 "SELECT id, namespace, (doc || jsonb_build_object('id', id, 'namespace', namespace))::text "
			 "FROM mockarty_private.mocks "
			 "WHERE id = ANY ($1::text[]) AND namespace = ANY ($2::text[])",
			 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_warn("coordinator: callbacks of a resolver dropped: %s", PQresultErrorMessage(r));
		dropped += json_array_size(items);
		goto out;
	}
	for (int k = 0; k < PQntuples(r); k++)
		json_object_set_new(rows, PQgetvalue(r, k, 0), json_integer(k));
	for (i = 0; i < json_array_size(items); i++) {
		const json_t *it = json_array_get(items, i);
		json_t *row = json_object_get(rows, json_string_value(json_object_get(it, "mockId")));
		int k = (int)json_integer_value(row);

		if (row == NULL) {
			dropped++;
			continue;
		}
		if (ms_callbacks_replay(PQgetvalue(r, k, 2), (size_t)PQgetlength(r, k, 2), PQgetvalue(r, k, 1), it, err,
					sizeof(err)) != 0) {
			log_info("coordinator: a callback item of a resolver dropped: %s", err);
			dropped++;
		}
	}
	goto out;
oom:
	dropped = b->n_callbacks_json;
out:
	if (dropped > 0)
		evsink_count_remote_shed(dropped);
	PQclear(r);
	free(idlit);
	json_decref(items);
	json_decref(ids);
	json_decref(rows);
}

/*
 * The webhook part of a Report: callbacks rendered here from the stored mocks
 * (replay_callbacks) and the resolver's mock.resolved events to the database
 * (delivery/evsink.c; a batch the database refuses is counted as shed, not
 * retried by the resolver), its shed count to /metrics, and in the ack whether
 * mock.resolved events are wanted. Only items of mocks in namespaces (a text[]
 * literal: what this node was sent) count.
 */
static void
report_webhooks(PGconn *conn, const Mockarty__Coordinator__V1__ReportBatch *b, const char *namespaces,
		Mockarty__Coordinator__V1__ReportAck *ack)
{
	char err[300];

	if (b->n_callbacks_json > 0)
		replay_callbacks(conn, b, namespaces);
	if (b->n_events_json > 0 &&
	    evsink_write_scoped(conn, NULL, 0, (const char *const *)b->events_json, b->n_events_json, namespaces,
				err, sizeof(err)) < 0) {
		log_warn("coordinator: %zu events of a resolver dropped: %s", b->n_events_json, err);
		evsink_count_remote_shed(b->n_events_json);
	}
	if (b->events_shed > 0)
		evsink_count_remote_shed(b->events_shed);
	ack->want_resolved_events = eq_want_events();
}

/* Worker: Report -> mockarty.log_requests (known mocks only) + undefined_record_batch. */
static void
do_report(mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	Mockarty__Coordinator__V1__ReportBatch *b =
	    mockarty__coordinator__v1__report_batch__unpack(NULL, len, req);
	Mockarty__Coordinator__V1__ReportAck ack = MOCKARTY__COORDINATOR__V1__REPORT_ACK__INIT;
	const mk_grpc_call_info *info = mk_grpc_stream_info(st);
	json_t *logs = json_array(), *undef = json_array(), *served = json_array();
	char *ltext = NULL, *utext = NULL, *nslit = NULL, bound[64];
	const char *params[3];
	PGconn *conn = NULL;
	PGresult *r = NULL;
	uint8_t buf[32];
	bool claimed = false, applied = false;

	if (b == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed ReportBatch");
		goto out;
	}
	/* a resend of a batch already applied (or being applied) is not applied again */
	switch (reportseq_claim(info->principal, b->resolver_name, b->session, b->seq)) {
	case REPORTSEQ_DONE:
		ack.duplicate = true;
		ack.want_resolved_events = eq_want_events();
		mk_grpc_stream_send(st, buf, mockarty__coordinator__v1__report_ack__pack(&ack, buf));
		mk_grpc_stream_finish(st, MK_GRPC_OK, NULL);
		goto out;
	case REPORTSEQ_BUSY:
		mk_grpc_stream_finish(st, MK_GRPC_UNAVAILABLE, "this batch is still being applied; send it again later");
		goto out;
	case REPORTSEQ_APPLY:
		claimed = true;
		break;
	}
	for (size_t i = 0; i < b->n_logs; i++) {
		Mockarty__Coordinator__V1__RequestLog *l = b->logs[i];

		json_array_append_new(
		    logs,
		    json_pack("{s:s, s:o, s:o, s:I}", "mockId", l->mock_id, "req",
		              json_or_string(l->req_json), "response", json_or_string(l->response_json),
		              "calledAt", (json_int_t)(l->called_at_ms > 0 ? l->called_at_ms : wall_ms())));
	}
	for (size_t i = 0; i < b->n_undefined; i++) {
		Mockarty__Coordinator__V1__UndefinedRequest *u = b->undefined[i];
		json_t *h = json_or_string(u->headers_json);

		if (!json_is_object(h)) {
			json_decref(h);
			h = json_object();
		}
		json_array_append_new(undef,
		                      json_pack("{s:s, s:s, s:s, s:o, s:o, s:I}", "namespace",
		                                u->namespace_[0] ? u->namespace_ : "sandbox", "method",
		                                u->method, "path", u->path, "headers", h, "body",
		                                u->body_json[0] ? json_or_string(u->body_json) : json_null(),
		                                "count", (json_int_t)(u->count ? u->count : 1)));
	}
	/*
	 * What this node may report on: the namespaces its Sync streams (same integration, same
	 * resolver name) were sent, and of those only the token's own when it is bound. A node
	 * with no stream was sent nothing.
	 */
	coord_principal_ns(info, bound, sizeof(bound));
	pthread_mutex_lock(&C.mu);
	for (struct sub *s = C.subs; s; s = s->next) {
		if (s->gone || strncmp(s->integ_id, info->principal, 36) != 0 ||
		    (b->resolver_name[0] && strcmp(s->name, b->resolver_name) != 0) ||
		    (bound[0] && strcmp(s->ns, bound) != 0))
			continue;
		json_array_append_new(served, json_string(s->ns));
	}
	pthread_mutex_unlock(&C.mu);
	ltext = json_dumps(logs, JSON_COMPACT);
	utext = json_dumps(undef, JSON_COMPACT);
	nslit = api_pg_array(served);
	if (ltext == NULL || utext == NULL || nslit == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	params[0] = ltext;
	params[1] = utext;
	params[2] = nslit;
	conn = pgpool_get(5000);
	if (conn == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_UNAVAILABLE, "database unavailable");
		goto out;
	}
	/*
	 * a mock purged since the resolver served it is skipped, not an error for the batch, and so
	 * is everything outside the namespaces this node was sent
	 */
	r = PQexecParams(
	    conn,
	    "SELECT (SELECT mockarty.log_requests(coalesce(jsonb_agg(e), '[]')) FROM "
	    "jsonb_array_elements($1::jsonb) e "
	    "WHERE mockarty.mock_get(e->>'mockId')->>'namespace' = ANY ($3::text[])) + "
	    "mockarty.undefined_record_batch(coalesce((SELECT jsonb_agg(u) FROM jsonb_array_elements($2::jsonb) u "
	    "WHERE coalesce(nullif(u->>'namespace', ''), 'sandbox') = ANY ($3::text[])), '[]'))",
	    3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		finish_db_error(st, conn, r);
		goto out;
	}
	ack.accepted = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	report_webhooks(conn, b, nslit, &ack);
	applied = true;
	pthread_mutex_lock(&C.mu);
	for (struct sub *s = C.subs; s; s = s->next) {
		if (strncmp(s->integ_id, info->principal, 36) != 0 ||
		    (b->resolver_name[0] && strcmp(s->name, b->resolver_name) != 0))
			continue;
		if (b->applied_version)
			s->applied = (int64_t)b->applied_version;
		s->dropped += b->dropped;
		s->last_report_ms = wall_ms();
	}
	pthread_mutex_unlock(&C.mu);
	mk_grpc_stream_send(st, buf, mockarty__coordinator__v1__report_ack__pack(&ack, buf));
	mk_grpc_stream_finish(st, MK_GRPC_OK, NULL);
out:
	if (claimed)
		reportseq_finish(info->principal, b->resolver_name, b->session, b->seq, applied);
	if (r)
		PQclear(r);
	if (conn)
		pgpool_put(conn, PQstatus(conn) != CONNECTION_OK);
	free(ltext);
	free(utext);
	free(nslit);
	json_decref(logs);
	json_decref(undef);
	json_decref(served);
	if (b)
		mockarty__coordinator__v1__report_batch__free_unpacked(b, NULL);
}

/*
 * A worker call (do_resolve or do_report) inside a server span named by the
 * gRPC method, child of the caller's "traceparent" metadata (a resolver's
 * client span); a call without one starts a trace.
 */
static void
run_traced(void (*fn)(mk_grpc_stream *, const uint8_t *, size_t), mk_grpc_stream *st,
           const uint8_t *req, size_t len)
{
	const mk_grpc_call_info *info = mk_grpc_stream_info(st);
	const char *m = info->method[0] == '/' ? info->method + 1 : info->method;
	const char *slash = strrchr(m, '/');
	char service[128];
	otel_span span, *prev;

	otel_span_start_remote(&span, m, OTEL_KIND_SERVER, info->traceparent);
	if (otel_recording(&span)) {
		snprintf(service, sizeof(service), "%.*s", slash ? (int)(slash - m) : 0, m);
		otel_span_set_str(&span, "rpc.system", "grpc");
		otel_span_set_str(&span, "rpc.service", service);
		otel_span_set_str(&span, "rpc.method", slash ? slash + 1 : m);
		otel_span_set_str(&span, "net.peer.name", info->peer);
	}
	prev = otel_set_current(&span);
	fn(st, req, len);
	otel_set_current(prev);
	otel_span_end(&span);
}

/* The queue's gate (a worker, before each call): verifies a token the loop could not. */
static bool
callq_gate(mk_grpc_stream *st)
{
	return coord_auth_deferred(st);
}

/* The queue's wrapper: a server span around the call when tracing is on. */
static void
callq_wrap(mk_grpc_call_fn fn, mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	if (otel_enabled())
		run_traced(fn, st, req, len);
	else
		fn(st, req, len);
}

/* ------------------------------------------------------------------ public */

int
coordinator_port(void)
{
	return C.running ? C.port : 0;
}

/* Wall-clock milliseconds (the clock of connected_ms / last_hb_ms). */
static int64_t
coord_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Caller holds C.mu: one resolver of the nodes view. status is "connected", or "stale" when
 * the resolver has not read its stream for NODE_STALE_MS (its send queue is full) or no
 * heartbeat could be sent to it for that long.
 */
#define NODE_STALE_MS (3 * HEARTBEAT_MS)
static json_t *
sub_json_locked(const struct sub *s, int64_t mono_now, int64_t wall_now)
{
	char conn_at[32], hb[32], rep[32];
	bool stale = (s->stall_since != 0 && mono_now - s->stall_since > NODE_STALE_MS) ||
	             (s->joined && s->last_hb_ms != 0 && wall_now - s->last_hb_ms > NODE_STALE_MS);

	rfc3339_ms(s->connected_ms, conn_at, sizeof(conn_at));
	rfc3339_ms(s->last_hb_ms, hb, sizeof(hb));
	rfc3339_ms(s->last_report_ms, rep, sizeof(rep));
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:o, s:o, s:I}", "kind",
	    "resolver", "status", stale ? "stale" : "connected", "softwareVersion", s->sw_version, "name",
	    s->name, "namespace", s->ns, "integrationId", s->integ_id, "integrationName", s->integ_name,
	    "address", s->address, "peer", s->peer, "state", s->joined ? "streaming" : "snapshot", "version",
	    (json_int_t)(s->joined ? s->cursor : 0), "appliedVersion",
	    (json_int_t)(s->applied ? s->applied : (s->joined ? s->cursor : 0)), "headVersion",
	    (json_int_t)C.head, "connectedAt", conn_at, "lastHeartbeat",
	    hb[0] ? json_string(hb) : json_null(), "lastReport", rep[0] ? json_string(rep) : json_null(),
	    "droppedLogs", (json_int_t)s->dropped);
}

/* coord_gone_append's test: is the node named by key ("<kind>:<ns>/<name>") in the array? */
static bool
node_listed(const char *key, void *arg)
{
	json_t *arr = arg, *n;
	size_t i;

	json_array_foreach(arr, i, n) {
		const char *kind = json_string_value(json_object_get(n, "kind"));
		const char *ns = json_string_value(json_object_get(n, "namespace"));
		const char *name = json_string_value(json_object_get(n, "name"));
		char k[320];

		snprintf(k, sizeof(k), "%s:%s/%s", kind ? kind : "resolver", ns ? ns : "", name ? name : "");
		if (strcmp(k, key) == 0)
			return true;
	}
	return false;
}

json_t *
coordinator_nodes_json(bool with_disconnected)
{
	json_t *arr = json_array();
	int64_t mono = mk_grpc_now_ms(), wall = coord_wall_ms();

	if (!C.running || arr == NULL)
		return arr;
	pthread_mutex_lock(&C.mu);
	for (struct sub *s = C.subs; s; s = s->next) {
		/* a stream whose token is still being verified is not a node yet (no namespace) */
		if (s->gone || s->pending_auth)
			continue;
		json_array_append_new(arr, sub_json_locked(s, mono, wall));
	}
	pthread_mutex_unlock(&C.mu);
	coord_runners_nodes_append(arr);
	/* then the nodes that left in the last minutes and have not come back */
	if (with_disconnected)
		coord_gone_append(arr, node_listed, arr);
	return arr;
}

/* Parses a non-negative integer environment variable; def when unset. False when invalid. */
static bool
env_long(const char *name, long def, long min, long max, long *out)
{
	const char *v = getenv(name);
	char *end;

	*out = def;
	if (v == NULL || v[0] == '\0')
		return true;
	*out = strtol(v, &end, 10);
	if (*end != '\0' || *out < min || *out > max) {
		log_error("%s must be an integer between %ld and %ld, not \"%s\"", name, min, max, v);
		return false;
	}
	return true;
}

bool
coordinator_start(void)
{
	mk_grpc_server_config cfg = {0};
	char err[256];
	long port, qbytes, slow;

	if (!env_long("GRPC_PORT", 5773, 0, 65535, &port) ||
	    !env_long("GRPC_SEND_QUEUE_BYTES", QUEUE_DEFAULT, QUEUE_MIN, 1L << 30, &qbytes) ||
	    !env_long("GRPC_SLOW_READER_MS", SLOW_READER_DEFAULT_MS, 10, 600000, &slow))
		return false;
	C.slow_reader_ms = (int)slow;
	if (port == 0) {
		log_info("coordinator disabled (GRPC_PORT=0)");
		return true;
	}
	C.queue_limit = (size_t)qbytes;
	C.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (C.evfd < 0) {
		log_error("coordinator: eventfd failed");
		return false;
	}
	cfg.host = admin_cfg.http_bind_addr;
	cfg.port = (int)port;
	cfg.stream_queue_limit = C.queue_limit;
	cfg.auth = coord_auth;
	/* the node's buffer budget covers gRPC reassembly too (REQUEST_BUFFER_BUDGET_MB) */
	cfg.buf_reserve = bufbudget_reserve;
	cfg.buf_release = bufbudget_release;
	cfg.busy_msg = "the node is buffering too many request bytes (" BUFBUDGET_VAR "); retry later";
	C.srv = mk_grpc_server_new(&cfg, err, sizeof(err));
	if (C.srv == NULL) {
		log_error("coordinator: cannot listen on %s:%ld: %s", cfg.host, port, err);
		return false;
	}
	C.callq = mk_grpc_callq_start(CALL_WORKERS, callq_gate, callq_wrap);
	if (C.callq == NULL) {
		log_error("coordinator: cannot start the call workers");
		return false;
	}
	if (mk_grpc_server_register(C.srv, SVC_PREFIX "Sync", MK_GRPC_SERVER_STREAM, sync_handler, NULL,
	                            NULL) ||
	    mk_grpc_callq_register(C.srv, C.callq, SVC_PREFIX "Resolve", do_resolve) ||
	    mk_grpc_callq_register(C.srv, C.callq, SVC_PREFIX "Report", do_report) ||
	    !coord_runners_start(C.srv, C.callq) || mk_grpc_health_register(C.srv) ||
	    mk_grpc_reflection_register(C.srv, mk_grpc_descriptor_set, mk_grpc_descriptor_set_len)) {
		log_error("coordinator: service registration failed");
		return false;
	}
	/* the service is SERVING once the change feed is connected */
	mk_grpc_health_set(C.srv, SVC_NAME, HEALTH_NOT_SERVING);
	mk_grpc_health_set(C.srv, RUNNERS_SVC_NAME, HEALTH_NOT_SERVING);
	C.port = mk_grpc_server_port(C.srv);
	{
		char host[96] = "";

		if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		snprintf(C.admin_node, sizeof(C.admin_node), "%s:%d:%ld", host, C.port, (long)getpid());
	}
	if (pthread_create(&C.feed, NULL, feed_main, NULL) != 0) {
		log_error("coordinator: cannot start threads");
		return false;
	}
	if (mk_grpc_server_start(C.srv, err, sizeof(err)) != 0) {
		log_error("coordinator: %s", err);
		return false;
	}
	C.running = true;
	log_info("coordinator listening on %s:%d (gRPC)", cfg.host, C.port);
	return true;
}

void
coordinator_stop(void)
{
	struct timespec dl;

	if (!C.running)
		return;
	mk_grpc_health_set(C.srv, "", HEALTH_NOT_SERVING);
	mk_grpc_health_set(C.srv, SVC_NAME, HEALTH_NOT_SERVING);
	mk_grpc_health_set(C.srv, RUNNERS_SVC_NAME, HEALTH_NOT_SERVING);
	atomic_store(&C.stop, true);
	wake_feed();
	pthread_join(C.feed, NULL);
	/* ends every stream (UNAVAILABLE); their on-close callbacks drop the subscribers */
	mk_grpc_server_stop(C.srv, 1000);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 6;
	pthread_mutex_lock(&C.jmu);
	while (C.nsync > 0)
		if (pthread_cond_timedwait(&C.donecv, &C.jmu, &dl) != 0)
			break;
	pthread_mutex_unlock(&C.jmu);
	mk_grpc_callq_stop(C.callq); /* runs what is queued; calls of closed streams are released */
	C.callq = NULL;
	coord_runners_stop(); /* after the streams closed: its queued calls release their handles */
	if (C.nsync == 0)
		mk_grpc_server_free(C.srv); /* every handle is released by now */
	else
		log_warn("coordinator: %d Sync setup thread(s) still running at exit", C.nsync);
	C.srv = NULL;
	C.running = false;
	pthread_mutex_lock(&C.mu);
	for (int i = 0; i < RING_CAP; i++)
		change_clear(&C.ring[i]);
	pthread_mutex_unlock(&C.mu);
	close(C.evfd);
	C.evfd = -1;
	log_info("coordinator stopped");
}
