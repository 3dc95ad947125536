/*
 * runners.c - service mockarty.coordinator.v1.Runners inside the admin node's
 * coordinator: runner agents open a Connect stream (Welcome, then TaskOffer hints, CancelTask
 * notices and RunnerPings), lease work with AcceptTask and report through TaskHeartbeat,
 * AppendResults and CompleteTask.
 *
 * Constraints that shaped it:
 *  - The task queue is SQL (mockarty.task_*, docs/sql-api.md). Exactly-once leasing, fencing
 *    by lease id, idempotent results and lease expiry all live there; this module only relays
 *    and never decides who owns a task. Offers are hints: several runners may be offered the
 *    same task and AcceptTask (FOR UPDATE SKIP LOCKED in task_accept) picks one winner.
 *  - The gRPC loop thread must not block: the Connect handler only records the session and
 *    queues the Welcome; every SQL statement runs on this module's worker threads (unary
 *    calls) or its dispatcher thread (offer rounds and pings).
 *  - NOTIFY mockarty_tasks is a doorbell. A burst of enqueues must not become a burst of
 *    queries: notifications mark every runner as wanting offers and the dispatcher runs at
 *    most one offer round per 20 ms, grouping runners with the same eligibility (namespace or
 *    shared, capabilities) into one task_offers() query. A 5 s safety round covers lost
 *    notifications (LISTEN reconnects).
 *  - A runner's identity for task_accept (namespace, shared, capabilities, max_concurrent) is
 *    taken from its RunnerHello only, never from the calls that quote its runner_id, and a
 *    runner_id is only honoured for calls made with the integration token that opened it.
 *  - Revocation needs no code here: coordinator.c ends every stream whose principal carries the
 *    revoked integration id (Connect streams included) and its auth cache refuses the next
 *    call; a lease the runner held simply expires.
 */
#include "coordinator/runners.h"
#include "coordinator/gone.h"
#include "coordinator/coordinator.h"

#include "coordinator.pb-c.h"
#include "log.h"
#include "pgpool.h"

#include <mockarty/core.h>

#include <inttypes.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEASE_DEFAULT_MS 30000
#define LEASE_MIN_MS 500
#define LEASE_MAX_MS 3600000
#define MAX_CONCURRENT_DEFAULT 5
#define MAX_CONCURRENT_MAX 1000
#define OFFER_COALESCE_MS 20  /* at most one offer round per this */
#define OFFER_SAFETY_MS 5000  /* offers to every runner even without NOTIFY */
#define PING_MS 15000
#define STREAM_QUEUE (256u * 1024) /* a Connect stream's send queue bound */
#define HINT_QUEUE_MAX (64u * 1024) /* offers/pings skipped while this much is unsent */
#define PING_COUNT_LIMIT 10000      /* queued_eligible is counted up to this */
#define NAME_MAX_LEN 127
#define MAX_CAPS 2

typedef Mockarty__Coordinator__V1__RunnerHello RunnerHello;
typedef Mockarty__Coordinator__V1__RunnerEvent RunnerEvent;

static const char *const KINDS[MAX_CAPS] = {"api_test", "performance"};

/* A lease a runner holds, as far as this node has seen it (accepts and heartbeats). */
struct lease {
	char task[37];
	char lease[37];
	bool started; /* task_start done (leased -> running) */
};

/*
 * One Connect stream. Lives in R.live while the stream is open, then in R.retired for two
 * lease lengths so calls quoting its runner_id by another token are still refused. Freed when
 * retired and the last reference (dispatcher rounds) is gone.
 */
struct session {
	struct session *next;
	mk_grpc_stream *st;
	int refs;
	bool gone;
	bool want_offer;
	int64_t retire_until; /* monotonic ms; in R.retired only */
	char id[37];
	char integ_id[40], integ_name[96];
	char name[NAME_MAX_LEN + 1], ns[NAME_MAX_LEN + 1], address[160], peer[64], version[64];
	bool shared;
	char caps_json[48]; /* JSON array text of the capabilities, for SQL */
	int ncaps;
	int capmask;        /* bit i = KINDS[i] */
	int max_concurrent;
	int64_t connected_ms; /* wall clock */
	int64_t last_seen_ms; /* wall clock: the last event sent to it or call received from it */
	uint64_t offers;
	struct lease *leases;
	size_t nleases, lcap;
};


static struct {
	bool started;
	int lease_ms;

	pthread_mutex_t mu; /* sessions, flags; taken before the server's own lock */
	pthread_cond_t cv;  /* dispatcher wake-up */
	struct session *live, *retired;
	bool offer_pending;
	bool stop;
	pthread_t dispatcher;
	bool have_dispatcher;

	mk_grpc_callq *callq; /* the coordinator's one queue of unary calls */

	pthread_mutex_t smu;
	coord_runners_stats stats;
} R = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
    .smu = PTHREAD_MUTEX_INITIALIZER,
};

#define STAT_ADD(field, n)                     \
	do {                                   \
		pthread_mutex_lock(&R.smu);    \
		R.stats.field += (n);          \
		pthread_mutex_unlock(&R.smu);  \
	} while (0)

/* ------------------------------------------------------------------ small helpers */

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* A random (version 4) UUID into out[37]. False when the RNG fails. */
static bool
new_uuid(char out[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return false;
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
	         b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	         b[15]);
	return true;
}

static void
rfc3339_ms(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The integration id (first 36 characters) of a call's principal "<id> <name>". */
static void
principal_integ(const mk_grpc_call_info *info, char out[40])
{
	snprintf(out, 40, "%.36s", info->principal);
}

/*
 * Parses runner-supplied JSON text. Returns a new reference, or NULL with err naming field
 * and the offset of the problem.
 */
static json_t *
parse_field(const char *text, const char *field, char *err, size_t errcap)
{
	json_error_t je;
	json_t *v = mc_json_loadb_wide(text, strlen(text), JSON_DECODE_ANY, &je);

	if (v == NULL)
		snprintf(err, errcap, "%s: invalid JSON at offset %d: %s", field, je.position, je.text);
	return v;
}

/* A string member of obj, "" when absent or not a string (borrowed). */
static const char *
jstr(const json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v ? v : "";
}

/* Packs a unary response, sends it and finishes the call with OK. */
static void
reply(mk_grpc_stream *st, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);

	if (buf == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	protobuf_c_message_pack(m, buf);
	mk_grpc_stream_send(st, buf, n);
	mk_grpc_stream_finish(st, MK_GRPC_OK, NULL);
	free(buf);
}

/*
 * Queues a RunnerEvent on s's stream. With hint set (offers, pings) the event is skipped
 * while the runner has HINT_QUEUE_MAX unsent: hints are repeated anyway, and a runner that
 * stopped reading must not be ended for them. Caller holds R.mu. Returns true when queued.
 */
static bool
send_event_locked(struct session *s, const RunnerEvent *ev, bool hint)
{
	uint8_t buf[512];
	size_t n = mockarty__coordinator__v1__runner_event__get_packed_size(ev);

	if (s->gone || n > sizeof(buf))
		return false;
	if (hint && mk_grpc_stream_queued(s->st) > HINT_QUEUE_MAX)
		return false;
	mockarty__coordinator__v1__runner_event__pack(ev, buf);
	if (mk_grpc_stream_send(s->st, buf, n) != 0) {
		s->gone = true;
		return false;
	}
	s->last_seen_ms = wall_ms();
	return true;
}

/* ------------------------------------------------------------------ sessions */

/* Caller holds R.mu. */
static struct session *
find_live_locked(const char *id)
{
	for (struct session *s = R.live; s; s = s->next)
		if (!s->gone && strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

static void
session_free(struct session *s)
{
	mk_grpc_stream_release(s->st);
	free(s->leases);
	free(s);
}

/*
 * Caller holds R.mu: drops a reference taken by the dispatcher. The list a session is on
 * holds the last one, so the session is freed by purge_retired_locked, never here.
 */
static void
session_unref_locked(struct session *s)
{
	s->refs--;
}

/* Caller holds R.mu: frees retired sessions whose time is up (and nobody uses). */
static void
purge_retired_locked(int64_t now)
{
	for (struct session **pp = &R.retired; *pp;) {
		struct session *s = *pp;

		if (s->retire_until <= now && s->refs == 1) {
			*pp = s->next;
			session_free(s);
		} else {
			pp = &s->next;
		}
	}
}

static json_t *session_json_locked(const struct session *s);

/* Stream on-close callback (loop thread): the session moves to the retired list. */
static void
session_closed(void *arg)
{
	struct session *s = arg;

	pthread_mutex_lock(&R.mu);
	for (struct session **pp = &R.live; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			/* remembered as disconnected for the nodes view (coordinator/gone.h) */
			json_t *j = session_json_locked(s);
			char key[320];

			json_object_set_new(j, "running", json_integer(0));
			snprintf(key, sizeof(key), "runner:%s/%s", s->ns, s->name);
			coord_gone_add(key, j);
			*pp = s->next;
			break;
		}
	s->gone = true;
	s->retire_until = mk_grpc_now_ms() + 2 * (int64_t)R.lease_ms;
	s->next = R.retired;
	R.retired = s;
	pthread_mutex_unlock(&R.mu);
	STAT_ADD(connected, (uint64_t)-1);
	log_info("coordinator: runner %s (%s, %s) disconnected", s->name, s->id, s->peer);
}

/* Caller holds R.mu: index of task in s->leases, or -1. */
static ssize_t
lease_find(const struct session *s, const char *task)
{
	for (size_t i = 0; i < s->nleases; i++)
		if (strcmp(s->leases[i].task, task) == 0)
			return (ssize_t)i;
	return -1;
}

/* Caller holds R.mu: records (or refreshes) a lease s holds. Out of memory only forgets it. */
static void
lease_put(struct session *s, const char *task, const char *lease, bool started)
{
	ssize_t i = lease_find(s, task);

	if (i < 0) {
		if (s->nleases == s->lcap) {
			size_t cap = s->lcap ? s->lcap * 2 : 8;
			struct lease *n = realloc(s->leases, cap * sizeof(*n));

			if (n == NULL)
				return;
			s->leases = n;
			s->lcap = cap;
		}
		i = (ssize_t)s->nleases++;
		s->leases[i].started = false;
	}
	snprintf(s->leases[i].task, sizeof(s->leases[i].task), "%s", task);
	snprintf(s->leases[i].lease, sizeof(s->leases[i].lease), "%s", lease);
	s->leases[i].started = s->leases[i].started || started;
}

/* Caller holds R.mu: forgets task from every live session (completed or lost). */
static void
lease_drop_all(const char *task)
{
	for (struct session *s = R.live; s; s = s->next) {
		ssize_t i = lease_find(s, task);

		if (i >= 0)
			s->leases[i] = s->leases[--s->nleases];
	}
}

/* Caller holds R.mu: whether some live session already started this lease. */
static bool
lease_started_locked(const char *task, const char *lease)
{
	for (struct session *s = R.live; s; s = s->next) {
		ssize_t i = lease_find(s, task);

		if (i >= 0 && s->leases[i].started && strcmp(s->leases[i].lease, lease) == 0)
			return true;
	}
	return false;
}

/* What a call may do with the runner_id it quotes. */
enum owner { OWNER_LIVE, OWNER_UNKNOWN, OWNER_OTHER };

/*
 * Checks runner_id against the caller's integration: OWNER_OTHER when a live or recently
 * closed session with that id belongs to another integration, OWNER_LIVE when it is a live
 * session of the caller (copied into *copy when given, without its leases), OWNER_UNKNOWN
 * otherwise (closed, or never seen here: another admin node may have opened it).
 */
static enum owner
check_owner(const char *runner_id, const char *integ, struct session *copy)
{
	enum owner o = OWNER_UNKNOWN;

	pthread_mutex_lock(&R.mu);
	for (struct session *s = R.live; s; s = s->next)
		if (strcmp(s->id, runner_id) == 0) {
			o = strcmp(s->integ_id, integ) != 0 ? OWNER_OTHER : s->gone ? OWNER_UNKNOWN : OWNER_LIVE;
			if (o == OWNER_LIVE && copy) {
				*copy = *s;
				copy->leases = NULL;
				copy->nleases = copy->lcap = 0;
			}
			break;
		}
	if (o == OWNER_UNKNOWN)
		for (struct session *s = R.retired; s; s = s->next)
			if (strcmp(s->id, runner_id) == 0 && strcmp(s->integ_id, integ) != 0)
				o = OWNER_OTHER;
	pthread_mutex_unlock(&R.mu);
	return o;
}

/* ------------------------------------------------------------------ SQL */

/*
 * Finishes st after a failed statement: SQLSTATE class 22 (bad argument) is INVALID_ARGUMENT
 * with the database's message, an undefined function (task queue not installed) UNIMPLEMENTED,
 * a lost connection UNAVAILABLE, anything else INTERNAL.
 */
static void
finish_db_error(mk_grpc_stream *st, PGconn *conn, PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (state && strncmp(state, "22", 2) == 0) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, m ? m : "invalid request");
	} else if (state && strcmp(state, "42883") == 0) {
		mk_grpc_stream_finish(st, MK_GRPC_UNIMPLEMENTED,
		                      "the task queue is not installed in this database (ALTER EXTENSION mockarty UPDATE)");
	} else if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		mk_grpc_stream_finish(st, MK_GRPC_UNAVAILABLE, "database unavailable");
	} else {
		log_warn("coordinator: runners: %s", m ? m : PQerrorMessage(conn));
		mk_grpc_stream_finish(st, MK_GRPC_INTERNAL, m ? m : "database error");
	}
}

/*
 * Runs one statement returning a single jsonb value on a pooled connection. Returns the
 * value (new reference; JSON null for SQL NULL), or NULL after finishing st with the mapped
 * error (st may be NULL: then the failure is only logged).
 */
static json_t *
sql_json(mk_grpc_stream *st, const char *sql, int n, const char *const *params)
{
	PGconn *conn = pgpool_get(5000);
	PGresult *r;
	json_t *v = NULL;

	if (conn == NULL) {
		if (st)
			mk_grpc_stream_finish(st, MK_GRPC_UNAVAILABLE, "database unavailable");
		return NULL;
	}
	r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		v = PQgetisnull(r, 0, 0)
		        ? json_null()
		        : mc_json_loadb_wide(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), JSON_DECODE_ANY,
		                             NULL);
		if (v == NULL && st)
			mk_grpc_stream_finish(st, MK_GRPC_INTERNAL, "unparsable answer from the database");
	} else if (st) {
		finish_db_error(st, conn, r);
	} else {
		log_warn("coordinator: runners: %s", PQerrorMessage(conn));
	}
	PQclear(r);
	pgpool_put(conn, PQstatus(conn) != CONNECTION_OK);
	return v;
}

/* ------------------------------------------------------------------ unary calls (workers) */

/* The caller's integration and the quoted runner_id may act together, or st is finished. */
static bool
owner_ok(mk_grpc_stream *st, const char *runner_id, enum owner *o, struct session *copy)
{
	char integ[40];

	if (runner_id[0] == '\0') {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "runner_id: required (from Welcome)");
		return false;
	}
	principal_integ(mk_grpc_stream_info(st), integ);
	*o = check_owner(runner_id, integ, copy);
	if (*o == OWNER_OTHER) {
		mk_grpc_stream_finish(st, MK_GRPC_PERMISSION_DENIED,
		                      "runner_id belongs to a Connect stream of another integration token");
		return false;
	}
	return true;
}

/* AcceptTask -> mockarty.task_accept with the identity from the runner's hello. */
static void
do_accept(mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	Mockarty__Coordinator__V1__AcceptTaskRequest *q =
	    mockarty__coordinator__v1__accept_task_request__unpack(NULL, len, req);
	Mockarty__Coordinator__V1__AcceptTaskResponse resp = MOCKARTY__COORDINATOR__V1__ACCEPT_TASK_RESPONSE__INIT;
	struct session s;
	enum owner o;
	char maxc[16], lease[16], *payload = NULL;
	const char *params[8];
	json_t *v = NULL, *task;

	if (q == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed AcceptTaskRequest");
		return;
	}
	if (!owner_ok(st, q->runner_id, &o, &s))
		goto out;
	if (q->task_id[0] && !coord_is_uuid(q->task_id)) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "task_id: not a UUID");
		goto out;
	}
	if (o != OWNER_LIVE) {
		resp.reason = "not_connected";
		resp.task_id = q->task_id;
		STAT_ADD(accepts_lost, 1);
		reply(st, &resp.base);
		goto out;
	}
	snprintf(maxc, sizeof(maxc), "%d", s.max_concurrent);
	snprintf(lease, sizeof(lease), "%d", R.lease_ms);
	params[0] = s.id;
	params[1] = s.name;
	params[2] = s.ns;
	params[3] = s.shared ? "true" : "false";
	params[4] = s.caps_json;
	params[5] = maxc;
	params[6] = lease;
	params[7] = q->task_id[0] ? q->task_id : NULL;
	v = sql_json(st,
	             "SELECT mockarty.task_accept($1, $2, $3, $4::boolean, "
	             "ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), $6::int, $7::int, $8::uuid)",
	             8, params);
	if (v == NULL)
		goto out;
	task = json_object_get(v, "task");
	if (!json_is_true(json_object_get(v, "accepted")) || !json_is_object(task)) {
		const char *why = json_string_value(json_object_get(v, "reason"));
		char bound[64];

		/* to a runner with a bound token, another namespace's task is an unknown one */
		coord_principal_ns(mk_grpc_stream_info(st), bound, sizeof(bound));
		if (bound[0] && why != NULL && strcmp(why, "not_eligible") == 0)
			why = "not_found";
		resp.reason = (char *)(why ? why : "not_accepted");
		resp.task_id = q->task_id;
		STAT_ADD(accepts_lost, 1);
		reply(st, &resp.base);
		goto out;
	}
	{
		const char *id = json_string_value(json_object_get(task, "id"));
		const char *lid = json_string_value(json_object_get(task, "leaseId"));
		json_t *exp = json_object_get(task, "leaseExpiresMs");
		json_t *att = json_object_get(task, "attempt");

		if (att == NULL)
			att = json_object_get(task, "attempts");
		if (id == NULL || lid == NULL) {
			mk_grpc_stream_finish(st, MK_GRPC_INTERNAL, "task_accept answered without id or leaseId");
			goto out;
		}
		if (json_object_get(task, "payload"))
			payload = json_dumps(json_object_get(task, "payload"), JSON_COMPACT | JSON_ENCODE_ANY);
		resp.accepted = true;
		resp.reason = "";
		resp.task_id = (char *)id;
		resp.kind = (char *)jstr(task, "kind");
		resp.namespace_ = (char *)jstr(task, "namespace");
		resp.lease_id = (char *)lid;
		resp.attempt = (uint32_t)json_integer_value(att);
		resp.payload_json = payload ? payload : "{}";
		/* leaseExpiresMs is unix ms; a relative value (or none) is made absolute here */
		resp.lease_expires_ms = json_integer_value(exp);
		if (resp.lease_expires_ms < 1000000000000LL)
			resp.lease_expires_ms = wall_ms() + R.lease_ms;
		pthread_mutex_lock(&R.mu);
		{
			struct session *live = find_live_locked(s.id);

			if (live)
				lease_put(live, id, lid, false);
		}
		pthread_mutex_unlock(&R.mu);
		STAT_ADD(accepts_won, 1);
		log_info("coordinator: runner %s leased task %s (%s, attempt %u)", s.name, id, resp.kind,
		         resp.attempt);
		reply(st, &resp.base);
	}
out:
	free(payload);
	json_decref(v);
	mockarty__coordinator__v1__accept_task_request__free_unpacked(q, NULL);
}

/* Copies the string members of a JSON array into a new char* array (pointers into a). */
static char **
json_strings(json_t *a, size_t *n)
{
	size_t k = json_array_size(a);
	char **out = calloc(k ? k : 1, sizeof(*out));

	*n = 0;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < k; i++) {
		const char *t = json_string_value(json_array_get(a, i));

		if (t)
			out[(*n)++] = (char *)t;
	}
	return out;
}

/*
 * TaskHeartbeat: task_start for leases this node has not seen started (leased -> running, the
 * first heartbeat after AcceptTask), then task_heartbeat (extend, progress, cancel, lost).
 */
static void
do_heartbeat(mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	Mockarty__Coordinator__V1__TaskHeartbeatRequest *q =
	    mockarty__coordinator__v1__task_heartbeat_request__unpack(NULL, len, req);
	Mockarty__Coordinator__V1__TaskHeartbeatResponse resp =
	    MOCKARTY__COORDINATOR__V1__TASK_HEARTBEAT_RESPONSE__INIT;
	json_t *leases = json_array(), *to_start = json_array(), *v = NULL, *sv = NULL;
	char err[256], lease[16], *ltext = NULL, *stext = NULL, **cancel = NULL, **lost = NULL;
	const char *params[3];
	enum owner o;

	if (q == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed TaskHeartbeatRequest");
		goto out;
	}
	if (!owner_ok(st, q->runner_id, &o, NULL))
		goto out;
	for (size_t i = 0; i < q->n_leases; i++) {
		Mockarty__Coordinator__V1__LeaseProgress *l = q->leases[i];
		json_t *e;

		if (!coord_is_uuid(l->task_id) || !coord_is_uuid(l->lease_id)) {
			snprintf(err, sizeof(err), "leases[%zu].%s: not a UUID", i,
			         coord_is_uuid(l->task_id) ? "lease_id" : "task_id");
			mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, err);
			goto out;
		}
		e = json_pack("{s:s, s:s}", "taskId", l->task_id, "leaseId", l->lease_id);
		if (l->progress_json[0]) {
			char field[48];
			json_t *p;

			snprintf(field, sizeof(field), "leases[%zu].progress_json", i);
			p = parse_field(l->progress_json, field, err, sizeof(err));
			if (p == NULL) {
				json_decref(e);
				mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, err);
				goto out;
			}
			json_object_set_new(e, "progress", p);
		}
		json_array_append_new(leases, e);
		pthread_mutex_lock(&R.mu);
		if (!lease_started_locked(l->task_id, l->lease_id))
			json_array_append_new(to_start, json_pack("{s:s, s:s}", "taskId", l->task_id, "leaseId",
			                                          l->lease_id));
		pthread_mutex_unlock(&R.mu);
	}
	if (json_array_size(to_start) > 0) {
		stext = json_dumps(to_start, JSON_COMPACT);
		params[0] = stext;
		/* a lease lost meanwhile answers lease_lost here and shows up in "lost" below */
		sv = sql_json(st,
		              "SELECT coalesce(jsonb_agg(mockarty.task_start((l->>'taskId')::uuid, "
		              "(l->>'leaseId')::uuid)), '[]') FROM jsonb_array_elements($1::jsonb) l",
		              1, params);
		if (sv == NULL)
			goto out;
	}
	ltext = json_dumps(leases, JSON_COMPACT);
	snprintf(lease, sizeof(lease), "%d", R.lease_ms);
	params[0] = q->runner_id;
	params[1] = ltext;
	params[2] = lease;
	v = sql_json(st, "SELECT mockarty.task_heartbeat($1, $2::jsonb, $3::int)", 3, params);
	if (v == NULL)
		goto out;
	cancel = json_strings(json_object_get(v, "cancel"), &resp.n_cancel_task_ids);
	lost = json_strings(json_object_get(v, "lost"), &resp.n_lost_task_ids);
	if (cancel == NULL || lost == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	resp.cancel_task_ids = cancel;
	resp.lost_task_ids = lost;
	resp.next_heartbeat_ms = (uint32_t)(R.lease_ms / 3);
	pthread_mutex_lock(&R.mu);
	{
		struct session *s = find_live_locked(q->runner_id);
		json_t *ext = json_object_get(v, "extended");

		if (s)
			s->last_seen_ms = wall_ms();

		for (size_t i = 0; i < resp.n_lost_task_ids; i++)
			lease_drop_all(lost[i]);
		for (size_t i = 0; s && i < q->n_leases; i++) {
			bool extended = false;

			for (size_t k = 0; k < json_array_size(ext) && !extended; k++)
				extended = json_string_value(json_array_get(ext, k)) &&
				           strcmp(json_string_value(json_array_get(ext, k)), q->leases[i]->task_id) == 0;
			if (extended)
				lease_put(s, q->leases[i]->task_id, q->leases[i]->lease_id, true);
		}
	}
	pthread_mutex_unlock(&R.mu);
	reply(st, &resp.base);
out:
	free(cancel);
	free(lost);
	free(ltext);
	free(stext);
	json_decref(leases);
	json_decref(to_start);
	json_decref(v);
	json_decref(sv);
	if (q)
		mockarty__coordinator__v1__task_heartbeat_request__free_unpacked(q, NULL);
}

/* Finishes st for a fenced-off lease. */
static void
lease_lost(mk_grpc_stream *st, const char *task)
{
	STAT_ADD(lease_lost, 1);
	pthread_mutex_lock(&R.mu);
	lease_drop_all(task);
	pthread_mutex_unlock(&R.mu);
	mk_grpc_stream_finish(st, MK_GRPC_FAILED_PRECONDITION,
	                      "lease lost: the task's lease expired or belongs to another runner; drop its results");
}

/* Validates the task_id / lease_id pair of a call; finishes st when bad. */
static bool
ids_ok(mk_grpc_stream *st, const char *task, const char *lease)
{
	if (!coord_is_uuid(task)) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "task_id: not a UUID");
		return false;
	}
	if (!coord_is_uuid(lease)) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "lease_id: not a UUID (from AcceptTask)");
		return false;
	}
	return true;
}

/* AppendResults -> mockarty.task_append_results (idempotent on seq, fenced by lease_id). */
static void
do_append(mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	Mockarty__Coordinator__V1__AppendResultsRequest *q =
	    mockarty__coordinator__v1__append_results_request__unpack(NULL, len, req);
	Mockarty__Coordinator__V1__RunnerAck ack = MOCKARTY__COORDINATOR__V1__RUNNER_ACK__INIT;
	json_t *chunks = json_array(), *v = NULL;
	char err[256], *text = NULL;
	const char *params[3];
	enum owner o;

	if (q == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed AppendResultsRequest");
		goto out;
	}
	if (!owner_ok(st, q->runner_id, &o, NULL) || !ids_ok(st, q->task_id, q->lease_id))
		goto out;
	for (size_t i = 0; i < q->n_chunks; i++) {
		char field[48];
		json_t *d;

		snprintf(field, sizeof(field), "chunks[%zu].json", i);
		d = parse_field(q->chunks[i]->json, field, err, sizeof(err));
		if (d == NULL) {
			mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, err);
			goto out;
		}
		json_array_append_new(chunks, json_pack("{s:I, s:o}", "seq", (json_int_t)q->chunks[i]->seq, "data", d));
	}
	text = json_dumps(chunks, JSON_COMPACT);
	if (text == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	params[0] = q->task_id;
	params[1] = q->lease_id;
	params[2] = text;
	v = sql_json(st, "SELECT mockarty.task_append_results($1::uuid, $2::uuid, $3::jsonb)", 3, params);
	if (v == NULL)
		goto out;
	if (!json_is_true(json_object_get(v, "ok"))) {
		lease_lost(st, q->task_id);
		goto out;
	}
	ack.stored = json_integer_value(json_object_get(v, "stored")) > 0;
	reply(st, &ack.base);
out:
	free(text);
	json_decref(chunks);
	json_decref(v);
	if (q)
		mockarty__coordinator__v1__append_results_request__free_unpacked(q, NULL);
}

/* CompleteTask -> mockarty.task_complete (idempotent for the same lease). */
static void
do_complete(mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	Mockarty__Coordinator__V1__CompleteTaskRequest *q =
	    mockarty__coordinator__v1__complete_task_request__unpack(NULL, len, req);
	Mockarty__Coordinator__V1__RunnerAck ack = MOCKARTY__COORDINATOR__V1__RUNNER_ACK__INIT;
	json_t *res = NULL, *v = NULL;
	char err[256], *rtext = NULL;
	const char *params[5];
	enum owner o;

	if (q == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed CompleteTaskRequest");
		goto out;
	}
	if (!owner_ok(st, q->runner_id, &o, NULL) || !ids_ok(st, q->task_id, q->lease_id))
		goto out;
	if (strcmp(q->status, "completed") != 0 && strcmp(q->status, "failed") != 0 &&
	    strcmp(q->status, "cancelled") != 0) {
		snprintf(err, sizeof(err), "status: must be \"completed\", \"failed\" or \"cancelled\", not \"%.40s\"",
		         q->status);
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, err);
		goto out;
	}
	if (q->result_json[0]) {
		res = parse_field(q->result_json, "result_json", err, sizeof(err));
		if (res == NULL) {
			mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, err);
			goto out;
		}
		rtext = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	params[0] = q->task_id;
	params[1] = q->lease_id;
	params[2] = q->status;
	params[3] = rtext;
	params[4] = q->error[0] ? q->error : NULL;
	v = sql_json(st, "SELECT mockarty.task_complete($1::uuid, $2::uuid, $3, $4::jsonb, $5)", 5, params);
	if (v == NULL)
		goto out;
	if (!json_is_true(json_object_get(v, "ok"))) {
		lease_lost(st, q->task_id);
		goto out;
	}
	ack.stored = json_is_true(json_object_get(v, "stored"));
	pthread_mutex_lock(&R.mu);
	lease_drop_all(q->task_id);
	pthread_mutex_unlock(&R.mu);
	if (ack.stored) {
		STAT_ADD(completes, 1);
		log_info("coordinator: task %s %s", q->task_id, q->status);
	}
	reply(st, &ack.base);
out:
	free(rtext);
	json_decref(res);
	json_decref(v);
	if (q)
		mockarty__coordinator__v1__complete_task_request__free_unpacked(q, NULL);
}

static void connect_setup(mk_grpc_stream *st, const uint8_t *req, size_t len);

/* ------------------------------------------------------------------ Connect */

/*
 * Validates a hello into s (name, namespace, capabilities, limits). Returns false with err
 * naming the field.
 */
static bool
hello_to_session(const RunnerHello *h, struct session *s, char *err, size_t errcap)
{
	size_t off = 0;

	if (strlen(h->runner_name) > NAME_MAX_LEN || strlen(h->namespace_) > NAME_MAX_LEN) {
		snprintf(err, errcap, "%s: longer than %d bytes",
		         strlen(h->runner_name) > NAME_MAX_LEN ? "runner_name" : "namespace", NAME_MAX_LEN);
		return false;
	}
	if (h->max_concurrent > MAX_CONCURRENT_MAX) {
		snprintf(err, errcap, "max_concurrent: at most %d, not %u", MAX_CONCURRENT_MAX, h->max_concurrent);
		return false;
	}
	for (size_t i = 0; i < h->n_capabilities; i++) {
		int k = -1;

		for (int j = 0; j < MAX_CAPS; j++)
			if (strcmp(h->capabilities[i], KINDS[j]) == 0)
				k = j;
		if (k < 0) {
			snprintf(err, errcap, "capabilities[%zu]: unknown task kind \"%.40s\" (api_test, performance)", i,
			         h->capabilities[i]);
			return false;
		}
		s->capmask |= 1 << k;
	}
	if (s->capmask == 0)
		s->capmask = 1; /* the guide's default: CAPABILITIES=api_test */
	off += (size_t)snprintf(s->caps_json, sizeof(s->caps_json), "[");
	for (int j = 0; j < MAX_CAPS; j++)
		if (s->capmask & (1 << j)) {
			off += (size_t)snprintf(s->caps_json + off, sizeof(s->caps_json) - off, "%s\"%s\"",
			                        s->ncaps ? "," : "", KINDS[j]);
			s->ncaps++;
		}
	snprintf(s->caps_json + off, sizeof(s->caps_json) - off, "]");
	snprintf(s->name, sizeof(s->name), "%s", h->runner_name[0] ? h->runner_name : "(unnamed)");
	snprintf(s->ns, sizeof(s->ns), "%s", h->namespace_[0] ? h->namespace_ : "sandbox");
	snprintf(s->version, sizeof(s->version), "%s", h->version);
	s->shared = h->shared;
	s->max_concurrent = h->max_concurrent ? (int)h->max_concurrent : MAX_CONCURRENT_DEFAULT;
	return true;
}

/*
 * Connect setup (loop thread, or a worker once it verified the token): records the session,
 * queues the Welcome, asks for offers.
 */
static void
connect_setup(mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	RunnerHello *h = mockarty__coordinator__v1__runner_hello__unpack(NULL, len, req);
	const mk_grpc_call_info *info = mk_grpc_stream_info(st);
	RunnerEvent ev = MOCKARTY__COORDINATOR__V1__RUNNER_EVENT__INIT;
	Mockarty__Coordinator__V1__Welcome w = MOCKARTY__COORDINATOR__V1__WELCOME__INIT;
	struct session *s;
	char err[256];

	if (h == NULL) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed RunnerHello");
		return;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || !new_uuid(s->id)) {
		free(s);
		mockarty__coordinator__v1__runner_hello__free_unpacked(h, NULL);
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	if (!hello_to_session(h, s, err, sizeof(err))) {
		free(s);
		mockarty__coordinator__v1__runner_hello__free_unpacked(h, NULL);
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, err);
		return;
	}
	snprintf(s->peer, sizeof(s->peer), "%s", info->peer);
	snprintf(s->address, sizeof(s->address), "%s", h->address[0] ? h->address : info->peer);
	principal_integ(info, s->integ_id);
	snprintf(s->integ_name, sizeof(s->integ_name), "%s", coord_principal_name(info));
	{
		/* a runner with a namespace-bound token takes only that namespace's tasks */
		char bound[64];

		coord_principal_ns(info, bound, sizeof(bound));
		if (bound[0] && ((h->namespace_[0] && strcmp(h->namespace_, bound) != 0) || h->shared)) {
			snprintf(err, sizeof(err), "this integration token is bound to namespace %s: %s", bound,
			         h->shared ? "it cannot serve as a shared runner" : "it cannot take other namespaces' tasks");
			free(s);
			mockarty__coordinator__v1__runner_hello__free_unpacked(h, NULL);
			mk_grpc_stream_finish(st, MK_GRPC_PERMISSION_DENIED, err);
			return;
		}
		if (bound[0])
			snprintf(s->ns, sizeof(s->ns), "%s", bound);
	}
	mockarty__coordinator__v1__runner_hello__free_unpacked(h, NULL);
	s->st = st;
	s->refs = 1; /* the live/retired list */
	s->connected_ms = wall_ms();
	s->last_seen_ms = s->connected_ms;
	s->want_offer = true;
	mk_grpc_stream_set_overflow(st, STREAM_QUEUE, MK_GRPC_RESOURCE_EXHAUSTED,
	                            "send queue full: the runner does not read its Connect stream");
	mk_grpc_stream_retain(st);

	w.runner_id = s->id;
	w.lease_ms = (uint32_t)R.lease_ms;
	w.heartbeat_ms = (uint32_t)(R.lease_ms / 3);
	ev.event_case = MOCKARTY__COORDINATOR__V1__RUNNER_EVENT__EVENT_WELCOME;
	ev.welcome = &w;
	pthread_mutex_lock(&R.mu);
	send_event_locked(s, &ev, false);
	s->next = R.live;
	R.live = s;
	R.offer_pending = true;
	pthread_cond_signal(&R.cv);
	pthread_mutex_unlock(&R.mu);
	STAT_ADD(connected, 1);
	STAT_ADD(connects, 1);
	log_info("coordinator: runner %s (%s) connected as %s: namespace %s%s, capabilities %s, max %d",
	         s->name, s->peer, s->id, s->ns, s->shared ? " (shared)" : "", s->caps_json, s->max_concurrent);
	/* runs session_closed at once when the stream already ended */
	mk_grpc_stream_on_close(st, session_closed, s);
}

/*
 * Connect handler (loop thread): a token the auth hook could not answer from its cache
 * (principal "?...") is verified by a worker before the setup runs there, so the loop never
 * waits for bcrypt.
 */
static void
connect_handler(void *ud, mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	(void)ud;
	if (mk_grpc_stream_info(st)->principal[0] == '?')
		mk_grpc_callq_push(R.callq, connect_setup, st, req, len); /* verified by the queue's gate */
	else
		connect_setup(st, req, len);
}

/* ------------------------------------------------------------------ offers and pings */

/* One dispatcher round's view of a session (a reference is held). */
struct target {
	struct session *s;
	bool offer;
	int need; /* offers to send: free slots x 2 */
	int group;
};

/* Sends a TaskOffer for every element of offers (up to need) to t's session. */
static void
send_offers(struct target *t, json_t *offers, uint32_t queued, bool ping)
{
	RunnerEvent ev = MOCKARTY__COORDINATOR__V1__RUNNER_EVENT__INIT;
	uint64_t sent = 0;

	pthread_mutex_lock(&R.mu);
	for (size_t i = 0; t->offer && i < json_array_size(offers) && (int)i < t->need; i++) {
		json_t *o = json_array_get(offers, i);
		Mockarty__Coordinator__V1__TaskOffer off = MOCKARTY__COORDINATOR__V1__TASK_OFFER__INIT;

		off.task_id = (char *)jstr(o, "id");
		off.kind = (char *)jstr(o, "kind");
		off.namespace_ = (char *)jstr(o, "namespace");
		if (!off.task_id[0])
			continue;
		ev.event_case = MOCKARTY__COORDINATOR__V1__RUNNER_EVENT__EVENT_OFFER;
		ev.offer = &off;
		if (!send_event_locked(t->s, &ev, true))
			break;
		sent++;
	}
	t->s->offers += sent;
	if (ping) {
		Mockarty__Coordinator__V1__RunnerPing p = MOCKARTY__COORDINATOR__V1__RUNNER_PING__INIT;

		p.server_time_ms = wall_ms();
		p.queued_eligible = queued;
		ev.event_case = MOCKARTY__COORDINATOR__V1__RUNNER_EVENT__EVENT_PING;
		ev.ping = &p;
		send_event_locked(t->s, &ev, true);
	}
	pthread_mutex_unlock(&R.mu);
	if (sent)
		STAT_ADD(offers_sent, sent);
}

/*
 * One round on the dispatcher thread: counts the leases each target holds (as task_accept
 * counts them: its leased + running tasks), then one task_offers() per group of targets with
 * the same eligibility, and sends each target its share (and the ping when due). A database
 * failure skips the round (the safety round retries).
 */
static void
dispatch_round(struct target *t, int n, bool ping)
{
	PGconn *conn = pgpool_get(2000);
	json_t *ids = json_array();
	char *idtext = NULL;
	PGresult *r = NULL;
	int ngroups = 0;

	if (conn == NULL)
		goto out;
	for (int i = 0; i < n; i++)
		if (t[i].offer)
			json_array_append_new(ids, json_string(t[i].s->id));
	if (json_array_size(ids) > 0) {
		const char *params[1];

		idtext = json_dumps(ids, JSON_COMPACT);
		params[0] = idtext;
		r = PQexecParams(conn,
		                 "SELECT runner_id, count(*) FROM mockarty_private.tasks "
		                 "WHERE status IN ('leased', 'running') "
		                 "AND runner_id IN (SELECT jsonb_array_elements_text($1::jsonb)) GROUP BY 1",
		                 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			log_warn("coordinator: runners: counting leases: %s", PQerrorMessage(conn));
			goto out;
		}
		for (int i = 0; i < n; i++) {
			int held = 0;

			for (int k = 0; k < PQntuples(r); k++)
				if (strcmp(PQgetvalue(r, k, 0), t[i].s->id) == 0)
					held = atoi(PQgetvalue(r, k, 1));
			t[i].need = t[i].s->max_concurrent > held ? (t[i].s->max_concurrent - held) * 2 : 0;
		}
		PQclear(r);
		r = NULL;
	}
	/* group targets by eligibility: shared runners by capabilities, others by namespace too */
	for (int i = 0; i < n; i++) {
		t[i].group = -1;
		for (int k = 0; k < i && t[i].group < 0; k++)
			if (t[k].s->shared == t[i].s->shared && t[k].s->capmask == t[i].s->capmask &&
			    (t[i].s->shared || strcmp(t[k].s->ns, t[i].s->ns) == 0))
				t[i].group = t[k].group;
		if (t[i].group < 0)
			t[i].group = ngroups++;
	}
	for (int g = 0; g < ngroups; g++) {
		struct target *first = NULL;
		int limit = 0;
		char lim[16];
		const char *params[4];
		json_t *offers;

		for (int i = 0; i < n; i++)
			if (t[i].group == g) {
				if (first == NULL)
					first = &t[i];
				if (t[i].offer && t[i].need > limit)
					limit = t[i].need;
			}
		if (ping)
			limit = PING_COUNT_LIMIT;
		if (limit == 0)
			continue;
		snprintf(lim, sizeof(lim), "%d", limit);
		params[0] = first->s->ns;
		params[1] = first->s->shared ? "true" : "false";
		params[2] = first->s->caps_json;
		params[3] = lim;
		r = PQexecParams(conn,
		                 "SELECT mockarty.task_offers($1, $2::boolean, "
		                 "ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), $4::int)",
		                 4, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
			log_warn("coordinator: runners: task_offers: %s", PQerrorMessage(conn));
			goto out;
		}
		offers = mc_json_loadb_wide(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), 0, NULL);
		PQclear(r);
		r = NULL;
		for (int i = 0; i < n; i++)
			if (t[i].group == g)
				send_offers(&t[i], offers, (uint32_t)json_array_size(offers), ping);
		json_decref(offers);
	}
out:
	if (r)
		PQclear(r);
	if (conn)
		pgpool_put(conn, PQstatus(conn) != CONNECTION_OK);
	free(idtext);
	json_decref(ids);
}

/*
 * The dispatcher thread: waits for an offer request (Connect, NOTIFY), the 5 s safety round
 * or the 15 s ping, runs at most one round per OFFER_COALESCE_MS, and purges retired
 * sessions.
 */
static void *
dispatcher_main(void *arg)
{
	int64_t last_round = 0, next_safety = mk_grpc_now_ms() + OFFER_SAFETY_MS;
	int64_t next_ping = mk_grpc_now_ms() + PING_MS;

	(void)arg;
	pthread_mutex_lock(&R.mu);
	while (!R.stop) {
		int64_t now = mk_grpc_now_ms(), wake = next_safety < next_ping ? next_safety : next_ping;
		struct target *t;
		bool ping, safety;
		int n = 0, cap = 0;

		if (R.offer_pending && last_round + OFFER_COALESCE_MS < wake)
			wake = last_round + OFFER_COALESCE_MS;
		if (wake > now) {
			struct timespec ts;
			int64_t ms;

			clock_gettime(CLOCK_REALTIME, &ts);
			ms = (int64_t)ts.tv_nsec / 1000000 + (wake - now);
			ts.tv_sec += (time_t)(ms / 1000);
			ts.tv_nsec = (long)(ms % 1000) * 1000000L;
			pthread_cond_timedwait(&R.cv, &R.mu, &ts);
			continue; /* re-evaluate: woken early, or due now */
		}
		safety = now >= next_safety;
		ping = now >= next_ping;
		if (safety)
			next_safety = now + OFFER_SAFETY_MS;
		if (ping)
			next_ping = now + PING_MS;
		R.offer_pending = false;
		last_round = now;
		purge_retired_locked(now);
		for (struct session *s = R.live; s; s = s->next)
			cap++;
		t = calloc(cap ? (size_t)cap : 1, sizeof(*t));
		for (struct session *s = R.live; t && s; s = s->next) {
			if (s->gone || !(s->want_offer || safety || ping))
				continue;
			t[n].s = s;
			t[n].offer = s->want_offer || safety;
			s->want_offer = false;
			s->refs++;
			n++;
		}
		pthread_mutex_unlock(&R.mu);
		if (n > 0)
			dispatch_round(t, n, ping);
		pthread_mutex_lock(&R.mu);
		for (int i = 0; i < n; i++)
			session_unref_locked(t[i].s);
		free(t);
	}
	pthread_mutex_unlock(&R.mu);
	return NULL;
}

/* ------------------------------------------------------------------ public */

void
coord_runners_notify(const char *payload)
{
	pthread_mutex_lock(&R.mu);
	if (payload && strncmp(payload, "cancel:", 7) == 0 && coord_is_uuid(payload + 7)) {
		RunnerEvent ev = MOCKARTY__COORDINATOR__V1__RUNNER_EVENT__INIT;
		Mockarty__Coordinator__V1__CancelTask c = MOCKARTY__COORDINATOR__V1__CANCEL_TASK__INIT;

		c.task_id = (char *)payload + 7;
		ev.event_case = MOCKARTY__COORDINATOR__V1__RUNNER_EVENT__EVENT_CANCEL;
		ev.cancel = &c;
		for (struct session *s = R.live; s; s = s->next)
			if (lease_find(s, c.task_id) >= 0 && send_event_locked(s, &ev, false)) {
				STAT_ADD(cancels_sent, 1);
				log_info("coordinator: cancel of task %s sent to runner %s", c.task_id, s->name);
			}
	}
	for (struct session *s = R.live; s; s = s->next)
		s->want_offer = true;
	R.offer_pending = true;
	pthread_cond_signal(&R.cv);
	pthread_mutex_unlock(&R.mu);
}

size_t
coord_runners_integrations(char (*ids)[40], size_t cap)
{
	size_t n = 0;

	pthread_mutex_lock(&R.mu);
	for (struct session *s = R.live; s && n < cap; s = s->next) {
		bool dup = false;

		for (size_t i = 0; i < n && !dup; i++)
			dup = strcmp(ids[i], s->integ_id) == 0;
		if (!dup && s->integ_id[0])
			snprintf(ids[n++], 40, "%s", s->integ_id);
	}
	pthread_mutex_unlock(&R.mu);
	return n;
}

/* Caller holds R.mu: one runner agent of the nodes view (coordinator_nodes_json). */
static json_t *
session_json_locked(const struct session *s)
{
	char at[32], seen[32];
	json_t *caps = json_array();

	for (int j = 0; j < MAX_CAPS; j++)
		if (s->capmask & (1 << j))
			json_array_append_new(caps, json_string(KINDS[j]));
	rfc3339_ms(s->connected_ms, at, sizeof(at));
	rfc3339_ms(s->last_seen_ms ? s->last_seen_ms : s->connected_ms, seen, sizeof(seen));
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:i, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "kind",
	    "runner", "status", "connected", "runnerId", s->id, "name", s->name, "namespace", s->ns, "shared",
	    s->shared, "capabilities", caps, "maxConcurrent", s->max_concurrent, "running",
	    (json_int_t)s->nleases, "address", s->address, "peer", s->peer, "version", s->version,
	    "integrationId", s->integ_id, "integrationName", s->integ_name, "connectedAt", at,
	    "lastHeartbeat", seen, "offersSent", (json_int_t)s->offers);
}

void
coord_runners_nodes_append(json_t *arr)
{
	pthread_mutex_lock(&R.mu);
	for (struct session *s = R.live; s; s = s->next) {
		if (s->gone)
			continue;
		json_array_append_new(arr, session_json_locked(s));
	}
	pthread_mutex_unlock(&R.mu);
}

void
coord_runners_stats_get(coord_runners_stats *out)
{
	pthread_mutex_lock(&R.smu);
	*out = R.stats;
	pthread_mutex_unlock(&R.smu);
}

bool
coord_runners_start(mk_grpc_server *srv, mk_grpc_callq *callq)
{
	const char *v = getenv("RUNNER_LEASE_MS");
	long lease = LEASE_DEFAULT_MS;

	if (v && v[0]) {
		char *end;

		lease = strtol(v, &end, 10);
		if (*end != '\0' || lease < LEASE_MIN_MS || lease > LEASE_MAX_MS) {
			log_error("RUNNER_LEASE_MS must be an integer between %d and %d, not \"%s\"", LEASE_MIN_MS,
			          LEASE_MAX_MS, v);
			return false;
		}
	}
	R.lease_ms = (int)lease;
	R.callq = callq;
	if (mk_grpc_server_register(srv, RUNNERS_SVC_PREFIX "Connect", MK_GRPC_SERVER_STREAM, connect_handler,
	                            NULL, NULL) ||
	    mk_grpc_callq_register(srv, callq, RUNNERS_SVC_PREFIX "AcceptTask", do_accept) ||
	    mk_grpc_callq_register(srv, callq, RUNNERS_SVC_PREFIX "TaskHeartbeat", do_heartbeat) ||
	    mk_grpc_callq_register(srv, callq, RUNNERS_SVC_PREFIX "AppendResults", do_append) ||
	    mk_grpc_callq_register(srv, callq, RUNNERS_SVC_PREFIX "CompleteTask", do_complete)) {
		log_error("coordinator: Runners service registration failed");
		return false;
	}
	R.stop = false;
	R.have_dispatcher = pthread_create(&R.dispatcher, NULL, dispatcher_main, NULL) == 0;
	R.started = true;
	if (!R.have_dispatcher) {
		log_error("coordinator: cannot start the Runners threads");
		return false;
	}
	log_info("coordinator: Runners service: lease %d ms, heartbeat %d ms", R.lease_ms, R.lease_ms / 3);
	return true;
}

void
coord_runners_stop(void)
{
	if (!R.started)
		return;
	pthread_mutex_lock(&R.mu);
	R.stop = true;
	pthread_cond_broadcast(&R.cv);
	pthread_mutex_unlock(&R.mu);
	if (R.have_dispatcher)
		pthread_join(R.dispatcher, NULL);
	R.have_dispatcher = false;
	/* the server stopped: every stream closed and its on-close moved the session to retired */
	pthread_mutex_lock(&R.mu);
	while (R.live) {
		struct session *s = R.live;

		R.live = s->next;
		session_free(s);
	}
	while (R.retired) {
		struct session *s = R.retired;

		R.retired = s->next;
		session_free(s);
	}
	pthread_mutex_unlock(&R.mu);
	R.started = false;
}
