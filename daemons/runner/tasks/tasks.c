/*
 * tasks/tasks.c - the runner's task slots: accepting offered tasks, running each on
 * a thread of its own, keeping its lease alive with heartbeats, delivering
 * result chunks and the final outcome, and the history the dashboard shows.
 *
 * Constraints that shaped it:
 *  - MAX_CONCURRENT is a hard ceiling. A slot is taken before AcceptTask is
 *    sent and given back only after the task's completion was acknowledged (or
 *    its lease was lost), so the runner never holds more leases than slots -
 *    the coordinator's own max_concurrent check is the second fence, not the
 *    first.
 *  - The queue is in PostgreSQL and the lease id is a fencing token: a task
 *    whose lease was lost (we were too slow, the network was gone) is stopped
 *    and its results dropped, because another runner now owns it. Every
 *    AppendResults / CompleteTask is retried with backoff until acknowledged,
 *    refused (FAILED_PRECONDITION: lease lost) or the lease has certainly
 *    expired; they are idempotent on the server, so a retry never doubles.
 *  - One control thread makes all AcceptTask and TaskHeartbeat calls, so the
 *    accept decisions see a consistent slot count and heartbeats are never
 *    starved by executors; the task threads only make their own result calls.
 *  - On SIGTERM the runner stops accepting, lets running tasks finish for a
 *    while, then abandons the rest without completing them: their leases
 *    expire and the scheduler re-queues them for another runner (the proto has
 *    no release call).
 */
#include "otel.h"
#include "runner.h"
#include "exec/exec.h"
#include "link/link.h"
#include "tasks/tasks.h"

#include "grpc_client.h"
#include "log.h"

#include "coordinator.pb-c.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_OFFERS 64
#define HISTORY 100
#define CALL_TIMEOUT_MS 10000
#define CHUNKS_PER_CALL 200

enum { KIND_API, KIND_PERF, NKINDS };
enum { OUT_COMPLETED, OUT_FAILED, OUT_CANCELLED, OUT_LOST, OUT_ABANDONED, NOUTCOMES };
static const char *const kind_names[NKINDS] = {"api_test", "performance"};
static const char *const outcome_names[NOUTCOMES] = {"completed", "failed", "cancelled", "lost", "abandoned"};

/* One task this runner holds a lease on. */
typedef struct rn_task rn_task;

struct rn_task {
	char id[64], kind[32], ns[160], lease_id[64], name[200];
	/* the Connect session that took the lease: the coordinator honours it for this lease
	 * until it expires, even after the stream is gone and a new one has another id */
	char runner_id[64];
	int kindi;
	unsigned attempt;
	json_t *payload;
	volatile int stop; /* what executors poll: any of the three reasons below */
	atomic_int cancel_req, lost, abandon;
	int slot;
	pthread_t thread;
	int64_t accepted_wall, start_mono;
	atomic_llong lease_until_mono; /* our view of the lease expiry (last good heartbeat + lease) */

	pthread_mutex_t mu; /* guards everything below */
	json_t *progress;
	uint64_t progress_ver, progress_sent_ver;
	json_t *pending; /* [{"seq":n,"data":{...}}] not yet acknowledged */
	uint32_t next_seq;
	int64_t next_flush_mono; /* after a failed flush, no new try before this */
	char phase[16];          /* running, completing */
};

typedef struct hist_entry {
	char id[64], kind[32], ns[160], name[200], status[16], error[512];
	unsigned attempt;
	int64_t started_wall, finished_wall, duration_ms;
	json_t *summary;
} hist_entry;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* control thread wake-up */
	rn_task **slots;
	int nslots;
	int used;
	char offers[MAX_OFFERS][64];
	int noffers;
	uint64_t offer_gen; /* bumped by every new offer */
	bool accept_any;
	bool accept_blocked; /* coordinator said max_concurrent: wait for a slot to free */
	int64_t accept_retry_mono;
	int64_t accept_fail_ms; /* backoff after failed AcceptTask calls, 0 = last one worked */
	bool hb_now;
	int64_t next_hb_mono;
	bool draining, stopping;
	pthread_t control;
	bool started;
	hist_entry hist[HISTORY];
	int hist_n, hist_pos;
	uint64_t totals[NKINDS][NOUTCOMES];
	uint64_t accepted_total, accept_refused;
	int64_t last_hb_ok_wall;
	pthread_cond_t idle_cv;
	void (*tick)(void); /* main.c's once-a-second work (tasks_start) */
} T = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .idle_cv = PTHREAD_COND_INITIALIZER};

/* ------------------------------------------------------------ executor context */

static void task_set_progress(rn_task *t, json_t *progress);
static void task_add_chunk(rn_task *t, json_t *data);

static void
exec_set_progress(void *owner, json_t *progress)
{
	task_set_progress(owner, progress);
}

static void
exec_add_chunk(void *owner, json_t *data)
{
	task_add_chunk(owner, data);
}

/* Heartbeat interval the coordinator asked for, ms. */
static int
task_heartbeat_ms(void)
{
	rn_session_status ss;

	session_status(&ss);
	return ss.heartbeat_ms > 0 ? (int)ss.heartbeat_ms : 10000;
}

/*
 * Interval to the next heartbeat: the coordinator's (a third of the lease) when idle, at most
 * PROGRESS_HEARTBEAT_MS while tasks run, so the admin API shows live progress (a load test's
 * requests/s, a collection's done/total) about once a second. A heartbeat is one small SQL
 * call on the coordinator.
 */
#define PROGRESS_HEARTBEAT_MS 1000
static int
hb_interval(int server_ms)
{
	return (T.used > 0 && server_ms > PROGRESS_HEARTBEAT_MS) ? PROGRESS_HEARTBEAT_MS : server_ms;
}

/* Replaces the progress document (takes the reference); sent with the next heartbeat. */
static void
task_set_progress(rn_task *t, json_t *progress)
{
	pthread_mutex_lock(&t->mu);
	json_decref(t->progress);
	t->progress = progress;
	t->progress_ver++;
	pthread_mutex_unlock(&t->mu);
}

/* ------------------------------------------------------------ result delivery */

/* A gRPC code that means "this lease is not ours any more". */
static bool
is_lease_refusal(int code, const char *msg)
{
	if (code == MK_GRPC_FAILED_PRECONDITION)
		return true;
	/* a coordinator might phrase it as NOT_FOUND for a task deleted meanwhile */
	return code == MK_GRPC_NOT_FOUND && msg != NULL && strstr(msg, "lease") != NULL;
}

/*
 * Sends the first CHUNKS_PER_CALL pending chunks once. Returns 1 when they
 * were acknowledged (and removed from pending), 0 on a transient failure, -1
 * when the lease was refused (the task is marked lost).
 */
static int
flush_once(rn_task *t, int timeout_ms)
{
	Mockarty__Coordinator__V1__AppendResultsRequest rq =
	    MOCKARTY__COORDINATOR__V1__APPEND_RESULTS_REQUEST__INIT;
	Mockarty__Coordinator__V1__ResultChunk *chunks, **ptrs;
	char err[600];
	char **texts;
	size_t n, total, plen, rlen;
	uint8_t *buf, *resp = NULL;
	int code, ret;

	pthread_mutex_lock(&t->mu);
	total = json_array_size(t->pending);
	n = total < CHUNKS_PER_CALL ? total : CHUNKS_PER_CALL;
	if (n == 0) {
		pthread_mutex_unlock(&t->mu);
		return 1;
	}
	chunks = calloc(n, sizeof(*chunks));
	ptrs = calloc(n, sizeof(*ptrs));
	texts = calloc(n, sizeof(*texts));
	if (chunks == NULL || ptrs == NULL || texts == NULL) {
		pthread_mutex_unlock(&t->mu);
		free(chunks);
		free(ptrs);
		free(texts);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(t->pending, i);

		mockarty__coordinator__v1__result_chunk__init(&chunks[i]);
		chunks[i].seq = (uint32_t)json_integer_value(json_object_get(c, "seq"));
		texts[i] = json_dumps(json_object_get(c, "data"), JSON_COMPACT | JSON_ENCODE_ANY);
		chunks[i].json = texts[i] ? texts[i] : "null";
		ptrs[i] = &chunks[i];
	}
	pthread_mutex_unlock(&t->mu);
	rq.runner_id = t->runner_id;
	rq.task_id = t->id;
	rq.lease_id = t->lease_id;
	rq.n_chunks = n;
	rq.chunks = ptrs;
	plen = mockarty__coordinator__v1__append_results_request__get_packed_size(&rq);
	buf = malloc(plen ? plen : 1);
	if (buf == NULL) {
		code = MK_GRPC_RESOURCE_EXHAUSTED;
		snprintf(err, sizeof(err), "out of memory");
	} else {
		mockarty__coordinator__v1__append_results_request__pack(&rq, buf);
		code = session_unary("AppendResults", buf, plen, timeout_ms, &resp, &rlen, err, sizeof(err));
	}
	free(buf);
	free(resp);
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	free(chunks);
	free(ptrs);
	if (code == MK_GRPC_OK) {
		pthread_mutex_lock(&t->mu);
		/* the first n entries are the ones sent: new chunks are only ever appended */
		for (size_t i = 0; i < n; i++)
			json_array_remove(t->pending, 0);
		pthread_mutex_unlock(&t->mu);
		ret = 1;
	} else if (is_lease_refusal(code, err)) {
		log_warn("task %s: results refused (%s): lease lost", t->id, err);
		atomic_store(&t->lost, 1);
		t->stop = 1;
		ret = -1;
	} else {
		log_debug("task %s: %s (will retry)", t->id, err);
		ret = 0;
	}
	return ret;
}

/* Queues one result chunk (takes the reference) with the next sequence number and tries
 * to send what is queued once, without waiting (the rest goes before completion). */
static void
task_add_chunk(rn_task *t, json_t *data)
{
	json_t *c = json_object();
	bool try_now;

	if (c == NULL) {
		json_decref(data);
		return;
	}
	pthread_mutex_lock(&t->mu);
	json_object_set_new(c, "seq", json_integer(t->next_seq++));
	json_object_set_new(c, "data", data ? data : json_null());
	json_array_append_new(t->pending, c);
	try_now = rn_now_ms() >= t->next_flush_mono;
	pthread_mutex_unlock(&t->mu);
	if (!try_now || atomic_load(&t->lost) || atomic_load(&t->abandon))
		return;
	if (flush_once(t, 3000) == 0) {
		pthread_mutex_lock(&t->mu);
		t->next_flush_mono = rn_now_ms() + 1000;
		pthread_mutex_unlock(&t->mu);
	}
}

/* Sleeps ms unless the task is lost or abandoned meanwhile (checked every 100 ms). */
static void
task_nap(rn_task *t, int64_t ms)
{
	while (ms > 0 && !atomic_load(&t->lost) && !atomic_load(&t->abandon)) {
		struct timespec ts = {0, (ms > 100 ? 100 : ms) * 1000000L};

		nanosleep(&ts, NULL);
		ms -= 100;
	}
}

/* True once our lease has certainly expired (no good heartbeat for longer than the lease, plus
 * a margin for clock skew): retrying a delivery any longer is pointless. */
static bool
lease_surely_gone(rn_task *t)
{
	return rn_now_ms() > atomic_load(&t->lease_until_mono) + 5000;
}

/* Flushes every pending chunk, retrying; true when all were acknowledged. */
static bool
flush_all(rn_task *t)
{
	int64_t backoff = 200;

	for (;;) {
		int r;
		size_t left;

		if (atomic_load(&t->lost) || atomic_load(&t->abandon))
			return false;
		r = flush_once(t, CALL_TIMEOUT_MS);
		if (r < 0)
			return false;
		pthread_mutex_lock(&t->mu);
		left = json_array_size(t->pending);
		pthread_mutex_unlock(&t->mu);
		if (r > 0 && left == 0)
			return true;
		if (r > 0)
			continue;
		if (lease_surely_gone(t)) {
			log_warn("task %s: coordinator unreachable past the lease: giving the results up",
			         t->id);
			atomic_store(&t->lost, 1);
			return false;
		}
		task_nap(t, backoff);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
}

/* CompleteTask with retries; true when acknowledged (stored now or before). */
static bool
complete(rn_task *t, const char *status, const json_t *result, const char *error)
{
	Mockarty__Coordinator__V1__CompleteTaskRequest rq =
	    MOCKARTY__COORDINATOR__V1__COMPLETE_TASK_REQUEST__INIT;
	char err[600];
	char *text = result ? json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	int64_t backoff = 200;
	bool ok = false;

	rq.task_id = t->id;
	rq.lease_id = t->lease_id;
	rq.status = (char *)status;
	rq.result_json = text ? text : "";
	rq.error = (char *)(error ? error : "");
	for (;;) {
		uint8_t *buf, *resp = NULL;
		size_t plen, rlen;
		int code;

		if (atomic_load(&t->lost) || atomic_load(&t->abandon))
			break;
		rq.runner_id = t->runner_id;
		plen = mockarty__coordinator__v1__complete_task_request__get_packed_size(&rq);
		buf = malloc(plen ? plen : 1);
		if (buf == NULL)
			break;
		mockarty__coordinator__v1__complete_task_request__pack(&rq, buf);
		code =
		    session_unary("CompleteTask", buf, plen, CALL_TIMEOUT_MS, &resp, &rlen, err, sizeof(err));
		free(buf);
		free(resp);
		if (code == MK_GRPC_OK) {
			ok = true;
			break;
		}
		if (is_lease_refusal(code, err)) {
			log_warn("task %s: completion refused (%s): lease lost", t->id, err);
			atomic_store(&t->lost, 1);
			break;
		}
		if (lease_surely_gone(t)) {
			log_warn(
			    "task %s: coordinator unreachable past the lease (%s): giving the outcome up",
			    t->id, err);
			atomic_store(&t->lost, 1);
			break;
		}
		log_warn("task %s: %s; retrying in %lld ms", t->id, err, (long long)backoff);
		task_nap(t, backoff);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
	free(text);
	return ok;
}

/* ------------------------------------------------------------ task lifecycle */

static void
record_history(rn_task *t, const char *status, const char *error, json_t *summary)
{
	hist_entry *h;
	int oi = 0;

	for (int i = 0; i < NOUTCOMES; i++)
		if (strcmp(outcome_names[i], status) == 0)
			oi = i;
	pthread_mutex_lock(&T.mu);
	T.totals[t->kindi][oi]++;
	h = &T.hist[T.hist_pos];
	json_decref(h->summary);
	memset(h, 0, sizeof(*h));
	snprintf(h->id, sizeof(h->id), "%s", t->id);
	snprintf(h->kind, sizeof(h->kind), "%s", t->kind);
	snprintf(h->ns, sizeof(h->ns), "%s", t->ns);
	snprintf(h->name, sizeof(h->name), "%s", t->name);
	snprintf(h->status, sizeof(h->status), "%s", status);
	snprintf(h->error, sizeof(h->error), "%s", error ? error : "");
	h->attempt = t->attempt;
	h->started_wall = t->accepted_wall;
	h->finished_wall = rn_wall_ms();
	h->duration_ms = rn_now_ms() - t->start_mono;
	h->summary = summary ? json_incref(summary) : NULL;
	T.hist_pos = (T.hist_pos + 1) % HISTORY;
	if (T.hist_n < HISTORY)
		T.hist_n++;
	pthread_mutex_unlock(&T.mu);
}

static void
task_free(rn_task *t)
{
	json_decref(t->payload);
	json_decref(t->progress);
	json_decref(t->pending);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static void *
task_main(void *arg)
{
	rn_task *t = arg;
	rn_outcome out = {0};
	const char *final;
	otel_span span = {0};

	/* A span per execution, child of the span that queued the task (the REST call that started
	 * the run put its traceparent into payload.options); current on this thread, so the
	 * requests the task makes could carry it. */
	if (otel_enabled()) {
		const json_t *o = t->payload ? json_object_get(t->payload, "options") : NULL;

		otel_span_start_remote(&span, t->kindi == KIND_API ? "task api_test" : "task performance",
		                       OTEL_KIND_CONSUMER, json_string_value(json_object_get(o, "traceparent")));
		otel_span_set_str(&span, "mockarty.task_id", t->id);
		otel_span_set_str(&span, "mockarty.task_kind", t->kind);
		otel_span_set_str(&span, "mockarty.runner", rn_cfg.runner_name);
		otel_set_current(&span);
	}
	if (!((t->kindi == KIND_API && strcmp(t->kind, "api_test") == 0 && (rn_cfg.caps & RN_CAP_API_TEST)) ||
	      (t->kindi == KIND_PERF && (rn_cfg.caps & RN_CAP_PERFORMANCE)))) {
		/* the coordinator must never send this; running it anyway would hide its bug */
		out.status = "failed";
		snprintf(out.error, sizeof(out.error),
		         "runner %s cannot execute task kind \"%s\" (CAPABILITIES lacks it)",
		         rn_cfg.runner_name, t->kind);
	} else if (t->payload == NULL || !json_is_object(t->payload)) {
		out.status = "failed";
		snprintf(out.error, sizeof(out.error), "payload: not a JSON object");
	} else {
		rn_exec x = {.task_id = t->id,
		             .kind = t->kind,
		             .payload = t->payload,
		             .stop = &t->stop,
		             .owner = t,
		             .set_progress = exec_set_progress,
		             .add_chunk = exec_add_chunk};

		if (t->kindi == KIND_API)
			exec_apitest(&x, &out);
		else
			exec_perf(&x, &out);
	}
	if (out.status == NULL)
		out.status = "failed";
	if (atomic_load(&t->cancel_req) && strcmp(out.status, "failed") != 0)
		out.status = "cancelled";
	if (otel_enabled()) {
		otel_span_set_str(&span, "mockarty.task_status", out.status);
		if (strcmp(out.status, "failed") == 0)
			otel_span_set_error(&span, out.error);
		otel_set_current(NULL);
		otel_span_end(&span);
	}
	pthread_mutex_lock(&t->mu);
	snprintf(t->phase, sizeof(t->phase), "completing");
	pthread_mutex_unlock(&t->mu);
	final = out.status;
	if (atomic_load(&t->abandon)) {
		final = "abandoned";
	} else if (!atomic_load(&t->lost)) {
		if (flush_all(t) &&
		    complete(t, out.status, out.result, out.status[0] == 'f' ? out.error : NULL))
			final = out.status;
	}
	if (atomic_load(&t->lost) && !atomic_load(&t->abandon))
		final = "lost";
	if (strcmp(final, "lost") == 0)
		log_warn("task %s (%s) lost its lease: stopped, results dropped", t->id, t->kind);
	else if (strcmp(final, "abandoned") == 0)
		log_warn("task %s (%s) abandoned at shutdown: its lease will expire and it will be re-queued",
		         t->id, t->kind);
	else if (strcmp(final, "failed") == 0)
		log_warn("task %s (%s) failed: %s", t->id, t->kind, out.error);
	else
		log_info("task %s (%s, %s) %s in %lld ms", t->id, t->kind, t->ns, final,
		         (long long)(rn_now_ms() - t->start_mono));
	record_history(t, final, strcmp(final, "failed") == 0 ? out.error : NULL, out.summary);
	json_decref(out.result);
	json_decref(out.summary);

	pthread_mutex_lock(&T.mu);
	T.slots[t->slot] = NULL;
	T.used--;
	T.accept_blocked = false;
	T.accept_any = true; /* a slot is free: ask for the oldest eligible task */
	pthread_cond_signal(&T.cv);
	pthread_cond_broadcast(&T.idle_cv);
	pthread_mutex_unlock(&T.mu);
	task_free(t);
	return NULL;
}

/* Creates and starts the task of an accepted lease in slot (T.mu not held). False on failure. */
static bool
task_launch(int slot, const char *runner_id, const Mockarty__Coordinator__V1__AcceptTaskResponse *r,
            char *err, size_t errcap)
{
	rn_task *t = calloc(1, sizeof(*t));
	json_error_t jerr;
	pthread_attr_t attr;
	rn_session_status ss;

	if (t == NULL) {
		snprintf(err, errcap, "out of memory");
		return false;
	}
	pthread_mutex_init(&t->mu, NULL);
	snprintf(t->id, sizeof(t->id), "%s", r->task_id);
	snprintf(t->kind, sizeof(t->kind), "%s", r->kind);
	snprintf(t->ns, sizeof(t->ns), "%s", r->namespace_);
	snprintf(t->lease_id, sizeof(t->lease_id), "%s", r->lease_id);
	snprintf(t->runner_id, sizeof(t->runner_id), "%s", runner_id);
	snprintf(t->phase, sizeof(t->phase), "running");
	t->attempt = r->attempt;
	t->slot = slot;
	t->accepted_wall = rn_wall_ms();
	t->start_mono = rn_now_ms();
	session_status(&ss);
	atomic_store(&t->lease_until_mono, t->start_mono + (ss.lease_ms ? ss.lease_ms : 30000));
	t->pending = json_array();
	t->kindi = strcmp(r->kind, "performance") == 0 ? KIND_PERF : KIND_API;
	t->payload = json_loads(r->payload_json, 0, &jerr);
	if (t->payload != NULL && json_is_object(t->payload)) {
		const char *nm = json_string_value(json_object_get(t->payload, "name"));

		if (nm == NULL)
			nm = json_string_value(json_object_get(t->payload, "collectionName"));
		snprintf(t->name, sizeof(t->name), "%s", nm ? nm : "");
	}
	pthread_mutex_lock(&T.mu);
	T.slots[slot] = t;
	pthread_mutex_unlock(&T.mu);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 1u << 20);
	if (pthread_create(&t->thread, &attr, task_main, t) != 0) {
		pthread_attr_destroy(&attr);
		pthread_mutex_lock(&T.mu);
		T.slots[slot] = NULL;
		pthread_mutex_unlock(&T.mu);
		task_free(t);
		snprintf(err, errcap, "cannot start a task thread");
		return false;
	}
	pthread_attr_destroy(&attr);
	return true;
}

/* ------------------------------------------------------------ control thread */

/*
 * One AcceptTask for task_id ("" = oldest eligible). The caller reserved slot
 * (T.used counts it). On acceptance the task starts; otherwise the slot is
 * given back and the reason steers what the control thread does next.
 */
static void
accept_one(const char *tid, int slot)
{
	Mockarty__Coordinator__V1__AcceptTaskRequest rq =
	    MOCKARTY__COORDINATOR__V1__ACCEPT_TASK_REQUEST__INIT;
	Mockarty__Coordinator__V1__AcceptTaskResponse *r = NULL;
	char rid[64], err[600];
	uint8_t *buf, *resp = NULL;
	size_t plen, rlen = 0;
	int code;
	bool launched = false;
	uint64_t gen;

	pthread_mutex_lock(&T.mu);
	gen = T.offer_gen;
	pthread_mutex_unlock(&T.mu);
	session_runner_id(rid, sizeof(rid));
	rq.runner_id = rid;
	rq.task_id = (char *)tid;
	plen = mockarty__coordinator__v1__accept_task_request__get_packed_size(&rq);
	buf = malloc(plen ? plen : 1);
	if (buf == NULL)
		goto give_back;
	mockarty__coordinator__v1__accept_task_request__pack(&rq, buf);
	code = session_unary("AcceptTask", buf, plen, CALL_TIMEOUT_MS, &resp, &rlen, err, sizeof(err));
	free(buf);
	if (code != MK_GRPC_OK) {
		pthread_mutex_lock(&T.mu);
		/* back off 1 s doubling to 30 s; warn once per outage, not once per try */
		if (T.accept_fail_ms == 0)
			log_warn("AcceptTask(%s) failed: %s; retrying with backoff", tid[0] ? tid : "oldest",
			         err);
		else
			log_debug("AcceptTask(%s) failed: %s", tid[0] ? tid : "oldest", err);
		T.accept_fail_ms = T.accept_fail_ms == 0          ? 1000
		                   : T.accept_fail_ms * 2 > 30000 ? 30000
		                                                  : T.accept_fail_ms * 2;
		T.accept_retry_mono = rn_now_ms() + T.accept_fail_ms;
		T.accept_any = true;
		pthread_mutex_unlock(&T.mu);
		goto give_back;
	}
	pthread_mutex_lock(&T.mu);
	if (T.accept_fail_ms != 0)
		log_info("AcceptTask works again");
	T.accept_fail_ms = 0;
	pthread_mutex_unlock(&T.mu);
	r = mockarty__coordinator__v1__accept_task_response__unpack(NULL, rlen, resp);
	free(resp);
	resp = NULL;
	if (r == NULL) {
		log_warn("AcceptTask: undecodable response");
		goto give_back;
	}
	if (!r->accepted) {
		log_debug("AcceptTask(%s): not accepted (%s)", tid[0] ? tid : "oldest", r->reason);
		pthread_mutex_lock(&T.mu);
		T.accept_refused++;
		if (strcmp(r->reason, "max_concurrent") == 0) {
			T.accept_blocked = true;
		} else if (tid[0] == '\0' && T.offer_gen == gen) {
			/* nothing eligible is queued: every offer that came before the call is stale */
			T.noffers = 0;
		} else if (strcmp(r->reason, "not_connected") == 0) {
			T.accept_retry_mono = rn_now_ms() + 1000;
		}
		pthread_mutex_unlock(&T.mu);
		goto give_back;
	}
	if (!((strcmp(r->kind, "api_test") == 0 && (rn_cfg.caps & RN_CAP_API_TEST)) ||
	      (strcmp(r->kind, "performance") == 0 && (rn_cfg.caps & RN_CAP_PERFORMANCE))))
		log_error("task %s: the coordinator leased a %s task to a runner without that capability; "
		          "failing it rather than running it",
		          r->task_id, r->kind);
	log_info("accepted task %s (%s, namespace %s, attempt %u)", r->task_id, r->kind, r->namespace_,
	         r->attempt);
	launched = task_launch(slot, rid, r, err, sizeof(err));
	if (!launched)
		log_error("task %s: %s (its lease will expire)", r->task_id, err);
	pthread_mutex_lock(&T.mu);
	T.accepted_total++;
	T.hb_now = true; /* the first heartbeat moves the task to running */
	pthread_mutex_unlock(&T.mu);
give_back:
	if (r != NULL)
		mockarty__coordinator__v1__accept_task_response__free_unpacked(r, NULL);
	free(resp);
	if (!launched) {
		pthread_mutex_lock(&T.mu);
		T.used--;
		pthread_cond_broadcast(&T.idle_cv);
		pthread_mutex_unlock(&T.mu);
	}
}

/* Marks the task with id as cancelled or lost (T.mu held). */
static void
mark_task(const char *id, bool lost)
{
	for (int i = 0; i < T.nslots; i++) {
		rn_task *t = T.slots[i];

		if (t == NULL || strcmp(t->id, id) != 0)
			continue;
		if (lost) {
			if (!atomic_exchange(&t->lost, 1))
				log_warn("task %s: lease lost (expired or re-assigned): stopping it", id);
		} else if (!atomic_exchange(&t->cancel_req, 1)) {
			log_info("task %s: cancelled by the user: stopping it", id);
		}
		t->stop = 1;
	}
}

/* One TaskHeartbeat for every lease held under runner id rid. */
static void
heartbeat_for(const char *rid)
{
	Mockarty__Coordinator__V1__TaskHeartbeatRequest rq =
	    MOCKARTY__COORDINATOR__V1__TASK_HEARTBEAT_REQUEST__INIT;
	Mockarty__Coordinator__V1__TaskHeartbeatResponse *r;
	Mockarty__Coordinator__V1__LeaseProgress *lp, **ptrs;
	rn_task **held;
	uint64_t *vers;
	char **texts;
	char err[600];
	uint8_t *buf, *resp = NULL;
	size_t plen, rlen = 0, n = 0;
	int code, interval = task_heartbeat_ms();
	int64_t sent_at = rn_now_ms();
	rn_session_status ss;

	session_status(&ss);
	lp = calloc((size_t)T.nslots, sizeof(*lp));
	ptrs = calloc((size_t)T.nslots, sizeof(*ptrs));
	held = calloc((size_t)T.nslots, sizeof(*held));
	vers = calloc((size_t)T.nslots, sizeof(*vers));
	texts = calloc((size_t)T.nslots, sizeof(*texts));
	if (lp == NULL || ptrs == NULL || held == NULL || vers == NULL || texts == NULL)
		goto out;
	/* Task structs stay alive while we use them here: a task thread frees its struct only
	 * after clearing its slot under T.mu, and we copy what we need under T.mu + t->mu. */
	pthread_mutex_lock(&T.mu);
	for (int i = 0; i < T.nslots; i++) {
		rn_task *t = T.slots[i];

		if (t == NULL || atomic_load(&t->lost) || strcmp(t->runner_id, rid) != 0)
			continue;
		mockarty__coordinator__v1__lease_progress__init(&lp[n]);
		lp[n].task_id = strdup(t->id);
		lp[n].lease_id = strdup(t->lease_id);
		pthread_mutex_lock(&t->mu);
		if (t->progress != NULL && t->progress_ver != t->progress_sent_ver) {
			texts[n] = json_dumps(t->progress, JSON_COMPACT);
			vers[n] = t->progress_ver;
		}
		pthread_mutex_unlock(&t->mu);
		lp[n].progress_json = texts[n] ? texts[n] : "";
		held[n] = t;
		ptrs[n] = &lp[n];
		n++;
	}
	pthread_mutex_unlock(&T.mu);
	if (n == 0)
		goto out;
	rq.runner_id = (char *)rid;
	rq.n_leases = n;
	rq.leases = ptrs;
	plen = mockarty__coordinator__v1__task_heartbeat_request__get_packed_size(&rq);
	buf = malloc(plen ? plen : 1);
	if (buf == NULL)
		goto out;
	mockarty__coordinator__v1__task_heartbeat_request__pack(&rq, buf);
	code = session_unary("TaskHeartbeat", buf, plen, CALL_TIMEOUT_MS, &resp, &rlen, err, sizeof(err));
	free(buf);
	if (code != MK_GRPC_OK) {
		log_warn("heartbeat for %zu lease(s) failed: %s", n, err);
		pthread_mutex_lock(&T.mu);
		T.next_hb_mono = rn_now_ms() + (interval < 1000 ? interval : 1000);
		pthread_mutex_unlock(&T.mu);
		goto out;
	}
	r = mockarty__coordinator__v1__task_heartbeat_response__unpack(NULL, rlen, resp);
	if (r == NULL) {
		log_warn("TaskHeartbeat: undecodable response");
		goto out;
	}
	pthread_mutex_lock(&T.mu);
	T.last_hb_ok_wall = rn_wall_ms();
	for (size_t i = 0; i < r->n_lost_task_ids; i++)
		mark_task(r->lost_task_ids[i], true);
	for (size_t i = 0; i < r->n_cancel_task_ids; i++)
		mark_task(r->cancel_task_ids[i], false);
	/* leases not reported lost were extended: note it, and which progress went out */
	for (size_t k = 0; k < n; k++) {
		bool still = false;

		for (int i = 0; i < T.nslots; i++)
			if (T.slots[i] == held[k])
				still = true;
		if (!still || atomic_load(&held[k]->lost))
			continue;
		atomic_store(&held[k]->lease_until_mono, sent_at + (ss.lease_ms ? ss.lease_ms : 30000));
		if (vers[k] != 0) {
			pthread_mutex_lock(&held[k]->mu);
			held[k]->progress_sent_ver = vers[k];
			pthread_mutex_unlock(&held[k]->mu);
		}
	}
	if (r->next_heartbeat_ms > 0)
		interval = (int)r->next_heartbeat_ms;
	T.next_hb_mono = rn_now_ms() + hb_interval(interval);
	pthread_mutex_unlock(&T.mu);
	mockarty__coordinator__v1__task_heartbeat_response__free_unpacked(r, NULL);
out:
	free(resp);
	for (size_t k = 0; k < n; k++) {
		free(lp[k].task_id);
		free(lp[k].lease_id);
		free(texts[k]);
	}
	free(lp);
	free(ptrs);
	free(held);
	free(vers);
	free(texts);
}

/*
 * Heartbeats every lease held: one call per Connect session that took leases (normally one; two
 * after a reconnect while tasks of the old session still run).
 */
static void
heartbeat(void)
{
	char(*rids)[64] = calloc((size_t)T.nslots, sizeof(*rids));
	int n = 0;

	if (rids == NULL)
		return;
	pthread_mutex_lock(&T.mu);
	for (int i = 0; i < T.nslots; i++) {
		bool seen = false;

		if (T.slots[i] == NULL)
			continue;
		for (int k = 0; k < n; k++)
			if (strcmp(rids[k], T.slots[i]->runner_id) == 0)
				seen = true;
		if (!seen)
			snprintf(rids[n++], sizeof(rids[0]), "%s", T.slots[i]->runner_id);
	}
	pthread_mutex_unlock(&T.mu);
	for (int k = 0; k < n; k++)
		heartbeat_for(rids[k]);
	free(rids);
}

static void *
control_main(void *arg)
{
	int64_t last_tick = 0;

	(void)arg;
	pthread_mutex_lock(&T.mu);
	while (!T.stopping) {
		int64_t now = rn_now_ms(), wake;
		bool do_hb, do_accept;
		char tid[64] = "";
		int slot = -1;

		if (now - last_tick >= 1000) {
			pthread_mutex_unlock(&T.mu);
			if (T.tick != NULL)
				T.tick();
			last_tick = now;
			pthread_mutex_lock(&T.mu);
			continue;
		}
		do_hb = T.used > 0 && (T.hb_now || now >= T.next_hb_mono);
		do_accept = !T.draining && !T.accept_blocked && T.used < T.nslots &&
		            now >= T.accept_retry_mono && (T.noffers > 0 || T.accept_any) &&
		            session_connected();
		if (!do_hb && !do_accept) {
			struct timespec ts;
			int64_t until;

			wake = last_tick + 1000;
			if (T.used > 0 && T.next_hb_mono < wake)
				wake = T.next_hb_mono;
			if (T.accept_retry_mono > now && T.accept_retry_mono < wake)
				wake = T.accept_retry_mono;
			until = rn_wall_ms() + (wake > now ? wake - now : 1);
			ts.tv_sec = until / 1000;
			ts.tv_nsec = (until % 1000) * 1000000;
			pthread_cond_timedwait(&T.cv, &T.mu, &ts);
			continue;
		}
		if (do_hb) {
			T.hb_now = false;
			T.next_hb_mono = now + hb_interval(task_heartbeat_ms());
			pthread_mutex_unlock(&T.mu);
			heartbeat();
			pthread_mutex_lock(&T.mu);
			continue;
		}
		/* do_accept: reserve a slot first, so MAX_CONCURRENT can never be exceeded */
		for (int i = 0; i < T.nslots; i++)
			if (T.slots[i] == NULL) {
				slot = i;
				break;
			}
		if (slot < 0) { /* used < nslots but launching threads fill them: wait */
			T.accept_blocked = true;
			continue;
		}
		if (T.noffers > 0) {
			snprintf(tid, sizeof(tid), "%s", T.offers[0]);
			memmove(T.offers[0], T.offers[1], (size_t)(T.noffers - 1) * sizeof(T.offers[0]));
			T.noffers--;
		} else {
			T.accept_any = false;
		}
		T.used++;
		pthread_mutex_unlock(&T.mu);
		accept_one(tid, slot);
		pthread_mutex_lock(&T.mu);
	}
	pthread_mutex_unlock(&T.mu);
	return NULL;
}

/* ------------------------------------------------------------ public */

bool
tasks_init(void)
{
	T.nslots = rn_cfg.max_concurrent;
	T.slots = calloc((size_t)T.nslots, sizeof(*T.slots));
	return T.slots != NULL;
}

bool
tasks_start(void (*tick)(void))
{
	T.tick = tick;
	if (pthread_create(&T.control, NULL, control_main, NULL) != 0) {
		log_error("cannot start the task control thread");
		return false;
	}
	T.started = true;
	return true;
}

void
tasks_offer(const char *tid)
{
	pthread_mutex_lock(&T.mu);
	if (tid == NULL) {
		T.accept_any = true;
	} else {
		bool dup = false;

		for (int i = 0; i < T.noffers; i++)
			if (strcmp(T.offers[i], tid) == 0)
				dup = true;
		for (int i = 0; i < T.nslots; i++)
			if (T.slots[i] != NULL && strcmp(T.slots[i]->id, tid) == 0)
				dup = true;
		if (!dup)
			T.offer_gen++;
		if (!dup && T.noffers < MAX_OFFERS)
			snprintf(T.offers[T.noffers++], sizeof(T.offers[0]), "%s", tid);
		else if (!dup)
			T.accept_any = true; /* too many hints: take the oldest instead */
	}
	pthread_cond_signal(&T.cv);
	pthread_mutex_unlock(&T.mu);
}

void
tasks_cancel(const char *tid)
{
	pthread_mutex_lock(&T.mu);
	mark_task(tid, false);
	pthread_mutex_unlock(&T.mu);
}

void
tasks_kick(void)
{
	pthread_mutex_lock(&T.mu);
	T.accept_any = true;
	T.accept_blocked = false;
	T.accept_retry_mono = 0;
	T.hb_now = T.used > 0;
	pthread_cond_signal(&T.cv);
	pthread_mutex_unlock(&T.mu);
}

void
tasks_clear_offers(void)
{
	pthread_mutex_lock(&T.mu);
	T.noffers = 0;
	T.accept_any = false;
	pthread_mutex_unlock(&T.mu);
}

void
tasks_drain(void)
{
	pthread_mutex_lock(&T.mu);
	T.draining = true;
	T.noffers = 0;
	pthread_mutex_unlock(&T.mu);
}

int
tasks_wait_idle(int timeout_ms)
{
	int64_t until = rn_wall_ms() + timeout_ms;
	struct timespec ts = {until / 1000, (until % 1000) * 1000000};
	int left;

	pthread_mutex_lock(&T.mu);
	while (T.used > 0)
		if (pthread_cond_timedwait(&T.idle_cv, &T.mu, &ts) != 0)
			break;
	left = T.used;
	pthread_mutex_unlock(&T.mu);
	return left;
}

void
tasks_stop(void)
{
	pthread_mutex_lock(&T.mu);
	T.draining = true;
	for (int i = 0; i < T.nslots; i++)
		if (T.slots[i] != NULL) {
			atomic_store(&T.slots[i]->abandon, 1);
			T.slots[i]->stop = 1;
		}
	pthread_mutex_unlock(&T.mu);
	/* executors stop at their next check (a request in flight finishes first) */
	if (tasks_wait_idle(3000) > 0)
		log_warn("tasks still stopping at exit; their leases will expire");
	pthread_mutex_lock(&T.mu);
	T.stopping = true;
	pthread_cond_signal(&T.cv);
	pthread_mutex_unlock(&T.mu);
	if (T.started)
		pthread_join(T.control, NULL);
	T.started = false;
}

int
tasks_running(void)
{
	int n = 0;

	pthread_mutex_lock(&T.mu);
	for (int i = 0; i < T.nslots; i++)
		if (T.slots[i] != NULL)
			n++;
	pthread_mutex_unlock(&T.mu);
	return n;
}

json_t *
tasks_status_json(void)
{
	json_t *j = json_object(), *running = json_array(), *hist = json_array(), *totals = json_object();
	char iso[40];
	int64_t now = rn_now_ms();

	if (j == NULL || running == NULL || hist == NULL || totals == NULL) {
		json_decref(j);
		json_decref(running);
		json_decref(hist);
		json_decref(totals);
		return NULL;
	}
	pthread_mutex_lock(&T.mu);
	for (int i = 0; i < T.nslots; i++) {
		rn_task *t = T.slots[i];
		json_t *o;

		if (t == NULL)
			continue;
		rn_iso_time(t->accepted_wall, iso, sizeof(iso));
		o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:b, s:b}", "id", t->id, "kind", t->kind,
		              "namespace", t->ns, "name", t->name, "attempt", (int)t->attempt, "startedAt",
		              iso, "elapsedMs", (json_int_t)(now - t->start_mono), "cancelRequested",
		              atomic_load(&t->cancel_req) != 0, "leaseLost", atomic_load(&t->lost) != 0);
		if (o == NULL)
			continue;
		pthread_mutex_lock(&t->mu);
		json_object_set_new(o, "phase", json_string(t->phase));
		json_object_set(o, "progress", t->progress ? t->progress : json_null());
		json_object_set_new(o, "pendingChunks",
		                    json_integer((json_int_t)json_array_size(t->pending)));
		pthread_mutex_unlock(&t->mu);
		json_array_append_new(running, o);
	}
	for (int k = 0; k < T.hist_n; k++) {
		hist_entry *h = &T.hist[(T.hist_pos - 1 - k + 2 * HISTORY) % HISTORY];
		json_t *o;
		char fin[40];

		rn_iso_time(h->started_wall, iso, sizeof(iso));
		rn_iso_time(h->finished_wall, fin, sizeof(fin));
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:I}", "id", h->id, "kind", h->kind,
		              "namespace", h->ns, "name", h->name, "status", h->status, "attempt",
		              (int)h->attempt, "startedAt", iso, "finishedAt", fin, "durationMs",
		              (json_int_t)h->duration_ms);
		if (o == NULL)
			continue;
		if (h->error[0])
			json_object_set_new(o, "error", json_string(h->error));
		json_object_set(o, "summary", h->summary ? h->summary : json_null());
		json_array_append_new(hist, o);
	}
	for (int k = 0; k < NKINDS; k++) {
		json_t *o = json_object();

		for (int i = 0; i < NOUTCOMES; i++)
			json_object_set_new(o, outcome_names[i], json_integer((json_int_t)T.totals[k][i]));
		json_object_set_new(totals, kind_names[k], o);
	}
	json_object_set_new(j, "running", running);
	json_object_set_new(j, "runningCount", json_integer((json_int_t)json_array_size(running)));
	json_object_set_new(j, "history", hist);
	json_object_set_new(j, "totals", totals);
	json_object_set_new(j, "accepted", json_integer((json_int_t)T.accepted_total));
	json_object_set_new(j, "acceptRefused", json_integer((json_int_t)T.accept_refused));
	json_object_set_new(j, "pendingOffers", json_integer(T.noffers));
	json_object_set_new(j, "draining", json_boolean(T.draining));
	json_object_set_new(j, "lastHeartbeatOkMs", json_integer(T.last_hb_ok_wall));
	pthread_mutex_unlock(&T.mu);
	return j;
}

void
tasks_metrics(char **buf, size_t *len, size_t *cap)
{
	int running = tasks_running();

	buf_printf(buf, len, cap,
	           "# HELP mockarty_runner_tasks_running Tasks this runner holds a lease on right now.\n"
	           "# TYPE mockarty_runner_tasks_running gauge\n"
	           "mockarty_runner_tasks_running %d\n"
	           "# HELP mockarty_runner_tasks_total Tasks finished by this runner, by kind and outcome.\n"
	           "# TYPE mockarty_runner_tasks_total counter\n",
	           running);
	pthread_mutex_lock(&T.mu);
	for (int k = 0; k < NKINDS; k++)
		for (int i = 0; i < NOUTCOMES; i++)
			buf_printf(buf, len, cap,
			           "mockarty_runner_tasks_total{kind=\"%s\",outcome=\"%s\"} %llu\n",
			           kind_names[k], outcome_names[i], (unsigned long long)T.totals[k][i]);
	buf_printf(buf, len, cap,
	           "# HELP mockarty_runner_tasks_accepted_total Leases granted by AcceptTask.\n"
	           "# TYPE mockarty_runner_tasks_accepted_total counter\n"
	           "mockarty_runner_tasks_accepted_total %llu\n",
	           (unsigned long long)T.accepted_total);
	pthread_mutex_unlock(&T.mu);
}
