/*
 * link/report.c - request logs and misses going back to the coordinator in bounded
 * batches (Coordinator.Report), so the admin node's request log and undefined
 * requests list cover traffic the resolver answered on its own.
 *
 * The hot path must never wait for the network: HTTP threads only append to a
 * fixed-capacity queue under a short mutex; when it is full the row is dropped
 * and counted (mockarty_resolver_dropped_total, and ReportBatch.dropped). One
 * thread sends a batch every 200 ms or as soon as 500 rows are queued. Misses
 * are aggregated by (namespace, method, path) into one row with a count. A batch
 * the coordinator did not accept is kept and retried on the next tick; new rows
 * meanwhile still go to the bounded queue, so an outage costs drops, never
 * memory. The same thread runs the sync watchdog and the statistics tick.
 *
 * Webhook work (mock.resolved events, and the hits that fire per-mock
 * callbacks with the request they served - the admin renders those callbacks
 * from its stored mock, eventq.h - queued by the serving threads into
 * daemons/common/eventq.c's bounded queue) rides along:
 * eventq's drain thread hands its batches to wh_sink(), which parks them in
 * two bounded lists here, and every batch carries up to WH_BATCH of them in
 * callbacks_json/events_json with the number shed since the last batch. The
 * ack says whether the coordinator wants mock.resolved events. There is no
 * heartbeat report: a Report blocks this thread (and so the sync watchdog) for
 * up to its timeout when the coordinator hangs, and the answer only matters
 * while requests are served - which produce request logs (or, for stateful
 * mocks resolved through the coordinator, coord_matched_total()), hence reports every
 * FLUSH_MS, hence fresh acks.
 */
#include "resolver.h"
#include "link/link.h"

#include "eventq.h"
#include "grpc_client.h"
#include "log.h"
#include "mockserve.h"

#include "coordinator.pb-c.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define QUEUE_CAP 10000
#define BATCH_ROWS 500
#define FLUSH_MS 200
#define REPORT_TIMEOUT_MS 3000
#define WH_CAP 20000    /* parked callbacks, and events, waiting for a batch (each) */
#define WH_BATCH 5000   /* of each per batch: keeps a Report well under the message limit */
#define WH_BATCH_BYTES (2 * 1024 * 1024) /* and at most this much of each per batch */
#define WH_PARKED_BYTES (32 * 1024 * 1024) /* parked callbacks and events together, at most */
/* Bytes of misses' headers and bodies queued at once: a Report must stay under the
 * coordinator's 4 MiB message limit, so past this a miss is queued without its body
 * (its count and path still arrive). */
#define UNDEFINED_BYTES_BUDGET (1024 * 1024)

typedef struct row {
	bool undefined;
	char *mock_id;       /* log: mock id; undefined: namespace */
	char *method, *path; /* undefined only */
	char *a, *b;         /* log: req_json, response_json; undefined: headers_json, body_json */
	int64_t at_ms;
} row;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	row *q;
	size_t head, count;
	atomic_ullong dropped, sent;
	uint64_t dropped_reported; /* part of dropped already told to the coordinator */
	bool stop;
	bool started;
	pthread_t thread;
	mk_grpc_client *client;
	/* a batch that failed to send, retried next tick */
	uint8_t *pending;
	size_t pending_len;
	size_t pending_rows;
	uint64_t pending_dropped;
	unsigned pending_tries; /* sends of the pending batch so far */
	/* webhook work parked by wh_sink (eventq's drain thread), FIFO by shifting */
	char **wh_cb, **wh_ev;
	size_t wh_ncb, wh_nev;
	size_t wh_bytes; /* of the parked items (WH_PARKED_BYTES) */
	size_t pending_ncb, pending_nev; /* in the pending batch */
	uint64_t shed_reported, pending_shed;
	/* for the metrics: webhook items parked or in a batch not yet acknowledged, and the
	 * part of the shed count the coordinator has heard of */
	atomic_ullong wh_unacked, shed_reported_pub;
	size_t und_bytes; /* headers + bodies of the misses in q (UNDEFINED_BYTES_BUDGET) */
	void (*tick)(void); /* report_start's once-a-second hook */
	/* batch numbering (ReportBatch.session/seq): a resent batch keeps its number, so the
	 * coordinator applies it once */
	char session[33];
	uint64_t seq;
	atomic_ullong resends; /* sends of a batch that had been sent before and not acked */
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

uint64_t
report_dropped(void)
{
	return atomic_load(&R.dropped);
}

uint64_t
report_sent(void)
{
	return atomic_load(&R.sent);
}

uint64_t
report_resends(void)
{
	return atomic_load(&R.resends);
}

static void
row_free(row *r)
{
	free(r->mock_id);
	free(r->method);
	free(r->path);
	free(r->a);
	free(r->b);
	memset(r, 0, sizeof(*r));
}

/* Appends r to the queue (taking its strings) or drops it. */
static void
enqueue(row *r)
{
	bool wake = false;

	pthread_mutex_lock(&R.mu);
	if (R.q == NULL || R.count >= QUEUE_CAP) {
		pthread_mutex_unlock(&R.mu);
		atomic_fetch_add(&R.dropped, 1);
		row_free(r);
		return;
	}
	if (r->undefined) {
		size_t n = strlen(r->a) + strlen(r->b);

		if (R.und_bytes + n > UNDEFINED_BYTES_BUDGET) {
			char *null_body = strdup("null");

			if (null_body != NULL) {
				free(r->b);
				r->b = null_body;
				n = strlen(r->a) + 4;
			}
		}
		R.und_bytes += n;
	}
	R.q[(R.head + R.count) % QUEUE_CAP] = *r;
	R.count++;
	wake = R.count == BATCH_ROWS;
	if (wake)
		pthread_cond_signal(&R.cv);
	pthread_mutex_unlock(&R.mu);
}

/* Early check so a row that would be dropped is not serialised first. */
static bool
queue_full(void)
{
	size_t n;

	pthread_mutex_lock(&R.mu);
	n = R.q == NULL ? QUEUE_CAP : R.count;
	pthread_mutex_unlock(&R.mu);
	return n >= QUEUE_CAP;
}

void
report_log(const char *mock_id, json_t *req, json_t *response, int64_t called_at_ms)
{
	row r = {0};

	if (queue_full()) { /* do not pay for serialising a row that would be dropped */
		atomic_fetch_add(&R.dropped, 1);
		json_decref(req);
		json_decref(response);
		return;
	}
	r.mock_id = strdup(mock_id ? mock_id : "");
	r.a = req ? json_dumps(req, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
	r.b = response ? json_dumps(response, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
	r.at_ms = called_at_ms;
	json_decref(req);
	json_decref(response);
	if (r.mock_id == NULL || r.a == NULL || r.b == NULL) {
		atomic_fetch_add(&R.dropped, 1);
		row_free(&r);
		return;
	}
	enqueue(&r);
}

void
report_undefined(const char *ns, const char *method, const char *path, json_t *headers, json_t *body)
{
	row r = {0};

	if (queue_full()) {
		atomic_fetch_add(&R.dropped, 1);
		return;
	}
	r.undefined = true;
	r.mock_id = strdup(ns ? ns : "");
	r.method = strdup(method ? method : "");
	r.path = strdup(path ? path : "");
	r.a = headers ? json_dumps(headers, JSON_COMPACT) : strdup("{}");
	r.b = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("null");
	r.at_ms = rs_wall_ms();
	if (r.mock_id == NULL || r.method == NULL || r.path == NULL || r.a == NULL || r.b == NULL) {
		atomic_fetch_add(&R.dropped, 1);
		row_free(&r);
		return;
	}
	enqueue(&r);
}

void
report_webhook_unreported(uint64_t *items, uint64_t *shed)
{
	eq_counters c;
	uint64_t reported = atomic_load(&R.shed_reported_pub);

	/* the queue first, then what left it: an item moving on meanwhile is counted twice,
	 * never missed */
	eq_counters_get(&c);
	*items = c.depth + c.inhand + atomic_load(&R.wh_unacked);
	*shed = c.events_shed + c.callbacks_shed > reported ? c.events_shed + c.callbacks_shed - reported : 0;
}

/* Shed total of this process's webhook queue (events and callbacks). */
static uint64_t
wh_shed_total(void)
{
	eq_counters c;

	eq_counters_get(&c);
	return c.events_shed + c.callbacks_shed;
}

/*
 * Appends copies of items[0..n) to the parked list *list (*count used),
 * shedding beyond WH_CAP items or WH_PARKED_BYTES (R.wh_bytes) bytes.
 */
static size_t
park(char **list, size_t *count, const char *const *items, size_t n)
{
	size_t lost = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(items[i]);
		char *c = *count < WH_CAP && R.wh_bytes + len <= WH_PARKED_BYTES ? strdup(items[i]) : NULL;

		if (c == NULL) {
			lost++;
			continue;
		}
		R.wh_bytes += len;
		list[(*count)++] = c;
	}
	return lost;
}

/* eventq sink: parks the batch for the next Report (the lists are bounded: shed beyond). */
static void
wh_sink(void *arg, const char *const *callbacks, size_t ncb, const char *const *events, size_t nev)
{
	size_t lost_cb, lost_ev;
	bool wake;

	(void)arg;
	if (ncb + nev == 0)
		return;
	pthread_mutex_lock(&R.mu);
	if (R.wh_cb == NULL || R.wh_ev == NULL) {
		pthread_mutex_unlock(&R.mu);
		eq_count_shed(ncb, nev);
		return;
	}
	lost_cb = park(R.wh_cb, &R.wh_ncb, callbacks, ncb);
	lost_ev = park(R.wh_ev, &R.wh_nev, events, nev);
	/* counted before eventq stops holding them in hand (report_webhook_unreported) */
	atomic_fetch_add(&R.wh_unacked, (ncb - lost_cb) + (nev - lost_ev));
	wake = R.wh_ncb + R.wh_nev >= WH_BATCH;
	if (wake)
		pthread_cond_signal(&R.cv);
	pthread_mutex_unlock(&R.mu);
	eq_count_shed(lost_cb, lost_ev);
}

/*
 * Moves up to WH_BATCH items, and while they stay within WH_BATCH_BYTES (at
 * least one), off the front of a parked list into out (ownership moves).
 * Forwarded hits carry request bodies (eventq.h): the byte bound keeps a
 * Report under the coordinator's message limit; the rest waits for the next.
 */
static size_t
unpark(char **list, size_t *count, char **out)
{
	size_t n = 0, bytes = 0;

	while (n < *count && n < WH_BATCH) {
		size_t len = strlen(list[n]);

		if (n > 0 && bytes + len > WH_BATCH_BYTES)
			break;
		bytes += len;
		n++;
	}
	R.wh_bytes -= bytes < R.wh_bytes ? bytes : R.wh_bytes;

	memcpy(out, list, n * sizeof(*out));
	memmove(list, list + n, (*count - n) * sizeof(*list));
	*count -= n;
	return n;
}

/*
 * Takes up to BATCH_ROWS rows off the queue and packs them into a ReportBatch
 * (misses aggregated). Returns the packed bytes (malloc'd) or NULL when there
 * is nothing to send; *nrows is the number of rows taken.
 */
static uint8_t *
build_batch(size_t *len, size_t *nrows, uint64_t *dropped_now)
{
	Mockarty__Coordinator__V1__ReportBatch b = MOCKARTY__COORDINATOR__V1__REPORT_BATCH__INIT;
	row *rows;
	size_t n, nlogs = 0, nund = 0;
	uint8_t *out = NULL;
	uint64_t dropped = atomic_load(&R.dropped);
	uint64_t shed = wh_shed_total();
	static unsigned long long remote_seen; /* stateful traffic also needs a fresh ack */
	unsigned long long remote = coord_matched_total();
	char **cbs = malloc(sizeof(*cbs) * WH_BATCH), **evs = malloc(sizeof(*evs) * WH_BATCH);
	size_t ncb = 0, nev = 0;

	pthread_mutex_lock(&R.mu);
	n = R.count < BATCH_ROWS ? R.count : BATCH_ROWS;
	rows = malloc(sizeof(*rows) * (n ? n : 1));
	if (rows == NULL)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		rows[i] = R.q[R.head];
		if (rows[i].undefined)
			R.und_bytes -= strlen(rows[i].a) + strlen(rows[i].b);
		R.head = (R.head + 1) % QUEUE_CAP;
		R.count--;
	}
	if (cbs != NULL && evs != NULL && R.wh_cb != NULL) {
		ncb = unpark(R.wh_cb, &R.wh_ncb, cbs);
		nev = unpark(R.wh_ev, &R.wh_nev, evs);
	}
	pthread_mutex_unlock(&R.mu);
	*nrows = n;
	*dropped_now = dropped;
	remote_seen = remote;
	R.pending_ncb = ncb;
	R.pending_nev = nev;
	R.pending_shed = shed;
	if (n == 0 && dropped == R.dropped_reported && ncb + nev == 0 && shed == R.shed_reported &&
	    remote == remote_seen) {
		free(rows);
		free(cbs);
		free(evs);
		return NULL;
	}
	{
		Mockarty__Coordinator__V1__RequestLog *logs = calloc(n ? n : 1, sizeof(*logs));
		Mockarty__Coordinator__V1__RequestLog **lp = calloc(n ? n : 1, sizeof(*lp));
		Mockarty__Coordinator__V1__UndefinedRequest *und = calloc(n ? n : 1, sizeof(*und));
		Mockarty__Coordinator__V1__UndefinedRequest **up = calloc(n ? n : 1, sizeof(*up));

		if (logs && lp && und && up) {
			for (size_t i = 0; i < n; i++) {
				row *r = &rows[i];

				if (!r->undefined) {
					mockarty__coordinator__v1__request_log__init(&logs[nlogs]);
					logs[nlogs].mock_id = r->mock_id;
					logs[nlogs].req_json = r->a;
					logs[nlogs].response_json = r->b;
					logs[nlogs].called_at_ms = r->at_ms;
					lp[nlogs] = &logs[nlogs];
					nlogs++;
					continue;
				}
				/* aggregate: same namespace, method and path -> one row, last headers/body */
				size_t j;

				for (j = 0; j < nund; j++)
					if (strcmp(und[j].namespace_, r->mock_id) == 0 &&
					    strcmp(und[j].method, r->method) == 0 &&
					    strcmp(und[j].path, r->path) == 0)
						break;
				if (j == nund) {
					mockarty__coordinator__v1__undefined_request__init(&und[nund]);
					und[nund].namespace_ = r->mock_id;
					und[nund].method = r->method;
					und[nund].path = r->path;
					up[nund] = &und[nund];
					nund++;
				}
				und[j].headers_json = r->a;
				und[j].body_json = r->b;
				und[j].count++;
			}
			b.n_logs = nlogs;
			b.logs = lp;
			b.n_undefined = nund;
			b.undefined = up;
			b.dropped = dropped - R.dropped_reported;
			b.resolver_name = rs_cfg.resolver_name;
			b.applied_version = sync_applied_version();
			b.n_callbacks_json = ncb;
			b.callbacks_json = cbs;
			b.n_events_json = nev;
			b.events_json = evs;
			b.events_shed = shed - R.shed_reported;
			b.session = R.session;
			b.seq = ++R.seq;
			*len = mockarty__coordinator__v1__report_batch__get_packed_size(&b);
			out = malloc(*len ? *len : 1);
			if (out != NULL)
				mockarty__coordinator__v1__report_batch__pack(&b, out);
		}
		free(logs);
		free(lp);
		free(und);
		free(up);
	}
	for (size_t i = 0; i < n; i++)
		row_free(&rows[i]);
	free(rows);
	for (size_t i = 0; i < ncb; i++)
		free(cbs[i]);
	for (size_t i = 0; i < nev; i++)
		free(evs[i]);
	free(cbs);
	free(evs);
	if (out == NULL) {
		atomic_fetch_add(&R.dropped, n);
		eq_count_shed(ncb, nev);
		atomic_fetch_sub(&R.wh_unacked, ncb + nev);
		R.pending_ncb = R.pending_nev = 0;
	}
	return out;
}

/* Sends the pending batch; true when the coordinator accepted it. */
static bool
send_pending(void)
{
	mk_grpc_status st = {0};
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	int code;
	char authz[600];

	if (R.client != NULL && !mk_grpc_client_usable(R.client)) {
		mk_grpc_client_close(R.client);
		R.client = NULL;
	}
	if (R.client == NULL) {
		R.client = mk_grpc_client_connect(rs_cfg.coordinator_addr, 1000, &st);
		if (R.client == NULL)
			return false;
		snprintf(authz, sizeof(authz), "Bearer %s", rs_cfg.api_token);
		mk_grpc_client_set_authorization(R.client, authz);
		memset(authz, 0, sizeof(authz));
	}
	code = mk_grpc_client_unary(R.client, "/mockarty.coordinator.v1.Coordinator/Report", R.pending,
	                            R.pending_len, REPORT_TIMEOUT_MS, &resp, &resp_len, &st);
	if (code == MK_GRPC_OK) {
		Mockarty__Coordinator__V1__ReportAck *ack =
		    mockarty__coordinator__v1__report_ack__unpack(NULL, resp_len, resp);

		if (ack != NULL) /* the coordinator says whether mock.resolved events are wanted */
			eq_set_want_events(ack->want_resolved_events);
		mockarty__coordinator__v1__report_ack__free_unpacked(ack, NULL);
	}
	free(resp);
	if (code != MK_GRPC_OK) {
		log_debug("Report failed: %s: %s", mk_grpc_code_name(code), st.message);
		return false;
	}
	return true;
}

extern ms_store *rs_store;

/*
 * Moves the request logs mockserve captured on the serving threads (a few per
 * mock per interval, no JSON on the hot path) into the report queue.
 */
static void
drain_store_logs(void)
{
	unsigned long dropped = 0;
	json_t *logs = rs_store ? ms_store_drain_logs(rs_store, &dropped) : NULL;
	size_t i;
	json_t *e;

	if (dropped > 0)
		atomic_fetch_add(&R.dropped, dropped);
	json_array_foreach (logs, i, e) {
		report_log(json_string_value(json_object_get(e, "mockId")),
		           json_incref(json_object_get(e, "req")),
		           json_incref(json_object_get(e, "response")),
		           (int64_t)json_integer_value(json_object_get(e, "calledAt")) * 1000);
	}
	json_decref(logs);
}

static void *
report_main(void *arg)
{
	int64_t next_tick = rs_now_ms() + 1000;
	int64_t held_since = 0;

	(void)arg;
	for (;;) {
		struct timespec ts;
		bool stopping;

		pthread_mutex_lock(&R.mu);
		if (!R.stop && R.count < BATCH_ROWS) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += FLUSH_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&R.cv, &R.mu, &ts);
		}
		stopping = R.stop;
		pthread_mutex_unlock(&R.mu);

		sync_watchdog();
		if (rs_now_ms() >= next_tick) {
			if (R.tick != NULL)
				R.tick();
			next_tick += 1000;
			if (next_tick < rs_now_ms())
				next_tick = rs_now_ms() + 1000;
		}
		drain_store_logs();
		if (R.pending == NULL) {
			R.pending = build_batch(&R.pending_len, &R.pending_rows, &R.pending_dropped);
			R.pending_tries = 0;
			held_since = rs_now_ms();
		}
		if (R.pending != NULL) {
			if (R.pending_tries++ > 0)
				atomic_fetch_add(&R.resends, 1);
			if (send_pending()) {
				atomic_fetch_add(&R.sent, R.pending_rows);
				R.dropped_reported = R.pending_dropped;
				R.shed_reported = R.pending_shed;
				atomic_store(&R.shed_reported_pub, R.pending_shed);
				atomic_fetch_sub(&R.wh_unacked, R.pending_ncb + R.pending_nev);
				free(R.pending);
				R.pending = NULL;
			} else if (rs_now_ms() - held_since > 60000) {
				/* a batch nobody accepts for a minute is given up, and counted */
				atomic_fetch_add(&R.dropped, R.pending_rows);
				eq_count_shed(R.pending_ncb, R.pending_nev);
				atomic_fetch_sub(&R.wh_unacked, R.pending_ncb + R.pending_nev);
				free(R.pending);
				R.pending = NULL;
			}
		}
		if (stopping)
			break;
	}
	return NULL;
}

bool
report_start(void (*tick)(void))
{
	uint8_t rnd[16];

	R.tick = tick;
	/* a random session: the numbers of this process's batches never match an earlier one's */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return false;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(R.session + 2 * i, 3, "%02x", rnd[i]);
	R.seq = 0;
	R.q = calloc(QUEUE_CAP, sizeof(*R.q));
	R.wh_cb = calloc(WH_CAP, sizeof(*R.wh_cb));
	R.wh_ev = calloc(WH_CAP, sizeof(*R.wh_ev));
	/* callbacks travel as the hits that fire them; the admin renders them (eventq.h) */
	eq_set_callbacks_forward(true);
	if (R.q == NULL || R.wh_cb == NULL || R.wh_ev == NULL || !eq_start(wh_sink, NULL)) {
		free(R.q);
		free(R.wh_cb);
		free(R.wh_ev);
		R.q = NULL;
		R.wh_cb = R.wh_ev = NULL;
		return false;
	}
	if (pthread_create(&R.thread, NULL, report_main, NULL) != 0) {
		eq_stop();
		free(R.q);
		R.q = NULL;
		return false;
	}
	R.started = true;
	return true;
}

void
report_stop(void)
{
	if (!R.started)
		return;
	eq_stop(); /* its last drain parks here and goes with the final batch */
	pthread_mutex_lock(&R.mu);
	R.stop = true;
	pthread_cond_signal(&R.cv);
	pthread_mutex_unlock(&R.mu);
	pthread_join(R.thread, NULL);
	R.started = false;
	pthread_mutex_lock(&R.mu);
	while (R.count > 0) {
		row_free(&R.q[R.head]);
		R.head = (R.head + 1) % QUEUE_CAP;
		R.count--;
	}
	R.und_bytes = 0;
	free(R.q);
	R.q = NULL;
	for (size_t i = 0; i < R.wh_ncb; i++)
		free(R.wh_cb[i]);
	for (size_t i = 0; i < R.wh_nev; i++)
		free(R.wh_ev[i]);
	free(R.wh_cb);
	free(R.wh_ev);
	R.wh_cb = R.wh_ev = NULL;
	R.wh_ncb = R.wh_nev = 0;
	pthread_mutex_unlock(&R.mu);
	free(R.pending);
	R.pending = NULL;
	if (R.client != NULL)
		mk_grpc_client_close(R.client);
	R.client = NULL;
}
