/*
 * test_server.c - grpc-test-server: a canned mockarty.coordinator.v1.Coordinator on
 * libmockarty-grpc, the peer of regress/grpc (grpc-js, python3-grpcio and the C client). It is
 * not the real coordinator: there is no database, the "change log" is a counter.
 *
 *   grpc-test-server <port> [delta_ms] [heartbeat_ms]     (port 0 = ephemeral)
 *
 * Prints "listening 127.0.0.1:<port>" on stdout once it accepts connections. SIGTERM/SIGINT
 * stop it gracefully (GOAWAY, streams end UNAVAILABLE).
 *
 * Canned behaviour (what the tests rely on):
 *  - auth: "Bearer mki_good*" is admitted (principal = the token without "mki_"),
 *    "Bearer mki_readonly" gets PERMISSION_DENIED, anything else UNAUTHENTICATED.
 *  - Sync: with have_version 0, a snapshot of 2 mocks at the current head version, in two
 *    chunks (the second has last_chunk); with 0 < have_version <= head, no snapshot; with
 *    have_version > head, a Resync then OK. After that every delta_ms the head version grows by
 *    one and every subscriber gets every missing delta in order (every 5th version deletes),
 *    plus a Heartbeat every heartbeat_ms. Namespace "bulk" pads each delta's json to 16 KiB.
 *    Each stream's send queue is bounded at 256 KiB; a subscriber that overflows is ended
 *    with RESOURCE_EXHAUSTED, and the next Sync from the same resolver_name with
 *    have_version > 0 gets a Resync ("stream overflowed").
 *  - Resolve: found = (path != "/missing"); response_json echoes the request. Namespace
 *    "__async__" answers from another thread; namespace "__revoke__" ends every open stream
 *    whose principal equals the request's path with UNAUTHENTICATED "token revoked".
 *  - Report: accepted = logs + undefined rows; a running total is kept.
 */
#include "grpc_server.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coordinator.pb-c.h"

#define QUEUE_LIMIT (256 * 1024)
#define BULK_PAD    (16 * 1024)

struct sub {
	struct sub *next, *prev;
	mk_grpc_stream *st;
	uint64_t cursor;
	bool bulk;
	bool dead;
	char name[128];
};

static struct {
	mk_grpc_server *srv;
	pthread_mutex_t mu;
	uint64_t head;
	struct sub *subs;
	char overflowed[32][128];
	int noverflowed;
	uint64_t reported;
	atomic_bool stop;
	int delta_ms, heartbeat_ms;
} T = {.mu = PTHREAD_MUTEX_INITIALIZER, .head = 2};

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Packs a SyncEvent and queues it; returns mk_grpc_stream_send's result. */
static int
send_event(mk_grpc_stream *st, Mockarty__Coordinator__V1__SyncEvent *ev)
{
	size_t n = mockarty__coordinator__v1__sync_event__get_packed_size(ev);
	uint8_t *buf = malloc(n ? n : 1);
	int rc;

	if (!buf)
		return MK_GRPC_ENOMEM;
	mockarty__coordinator__v1__sync_event__pack(ev, buf);
	rc = mk_grpc_stream_send(st, buf, n);
	free(buf);
	return rc;
}

/* Sends the delta of one version (deterministic from the version number). */
static int
send_delta(struct sub *s, uint64_t version)
{
	Mockarty__Coordinator__V1__SyncEvent ev = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__INIT;
	Mockarty__Coordinator__V1__Delta d = MOCKARTY__COORDINATOR__V1__DELTA__INIT;
	char id[32], *json;
	size_t cap = s->bulk ? BULK_PAD + 256 : 256;
	int n, rc;

	json = malloc(cap);
	if (!json)
		return MK_GRPC_ENOMEM;
	snprintf(id, sizeof id, "m%llu", (unsigned long long)(version % 5 == 0 ? version - 1 : version));
	d.version = version;
	d.namespace_ = s->bulk ? "bulk" : "sandbox";
	d.mock_id = id;
	if (version % 5 == 0) {
		d.op = MOCKARTY__COORDINATOR__V1__DELTA__OP__OP_DELETE;
		json[0] = '\0';
	} else {
		d.op = MOCKARTY__COORDINATOR__V1__DELTA__OP__OP_UPSERT;
		n = snprintf(json, cap, "{\"id\":\"%s\",\"version\":%llu,\"pad\":\"", id,
			     (unsigned long long)version);
		if (s->bulk) {
			memset(json + n, 'x', BULK_PAD);
			n += BULK_PAD;
		}
		snprintf(json + n, cap - (size_t)n, "\"}");
	}
	d.json = json;
	ev.event_case = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_DELTA;
	ev.delta = &d;
	rc = send_event(s->st, &ev);
	free(json);
	return rc;
}

/* Caller holds T.mu: remembers a resolver whose stream overflowed. */
static void
note_overflow(const char *name)
{
	if (T.noverflowed < 32)
		snprintf(T.overflowed[T.noverflowed++], 128, "%s", name);
}

/* Caller holds T.mu: true (and forgets it) if name overflowed before. */
static bool
take_overflow(const char *name)
{
	for (int i = 0; i < T.noverflowed; i++)
		if (strcmp(T.overflowed[i], name) == 0) {
			memmove(T.overflowed[i], T.overflowed[i + 1],
				(size_t)(T.noverflowed - i - 1) * 128);
			T.noverflowed--;
			return true;
		}
	return false;
}

/* Caller holds T.mu. */
static void
unlink_sub(struct sub *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else if (T.subs == s)
		T.subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static void
sub_closed(void *arg)
{
	struct sub *s = arg;

	pthread_mutex_lock(&T.mu);
	if (!s->dead)
		unlink_sub(s);
	pthread_mutex_unlock(&T.mu);
	mk_grpc_stream_release(s->st);
	free(s);
}

static void
sync_handler(void *ud, mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	Mockarty__Coordinator__V1__SyncRequest *r;
	Mockarty__Coordinator__V1__SyncEvent ev = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__INIT;
	struct sub *s;

	(void)ud;
	r = mockarty__coordinator__v1__sync_request__unpack(NULL, len, req);
	if (!r) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed SyncRequest");
		return;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		mockarty__coordinator__v1__sync_request__free_unpacked(r, NULL);
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	s->st = st;
	s->bulk = strcmp(r->namespace_, "bulk") == 0;
	snprintf(s->name, sizeof s->name, "%s", r->resolver_name);
	mk_grpc_stream_set_overflow(st, QUEUE_LIMIT, MK_GRPC_RESOURCE_EXHAUSTED,
				    "send queue full: resubscribe (expect a Resync)");

	pthread_mutex_lock(&T.mu);
	if (r->have_version > T.head || (r->have_version > 0 && take_overflow(s->name))) {
		Mockarty__Coordinator__V1__Resync rs = MOCKARTY__COORDINATOR__V1__RESYNC__INIT;

		rs.reason = r->have_version > T.head ? "version from the future" : "stream overflowed";
		ev.event_case = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_RESYNC;
		ev.resync = &rs;
		send_event(st, &ev);
		mk_grpc_stream_finish(st, MK_GRPC_OK, NULL);
		pthread_mutex_unlock(&T.mu);
		free(s);
		mockarty__coordinator__v1__sync_request__free_unpacked(r, NULL);
		return;
	}
	if (r->have_version == 0) {
		/* Two chunks of one mock each, at the head version. */
		for (int i = 1; i <= 2; i++) {
			Mockarty__Coordinator__V1__Snapshot sn = MOCKARTY__COORDINATOR__V1__SNAPSHOT__INIT;
			Mockarty__Coordinator__V1__MockDoc md = MOCKARTY__COORDINATOR__V1__MOCK_DOC__INIT;
			Mockarty__Coordinator__V1__MockDoc *mp = &md;
			char id[16], json[128];

			snprintf(id, sizeof id, "seed%d", i);
			snprintf(json, sizeof json, "{\"id\":\"%s\",\"route\":\"/seed/%d\"}", id, i);
			md.id = id;
			md.namespace_ = r->namespace_;
			md.json = json;
			md.version = (uint64_t)i;
			sn.version = T.head;
			sn.n_mocks = 1;
			sn.mocks = &mp;
			sn.last_chunk = i == 2;
			ev.event_case = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_SNAPSHOT;
			ev.snapshot = &sn;
			send_event(st, &ev);
		}
		s->cursor = T.head;
	} else
		s->cursor = r->have_version;
	mk_grpc_stream_retain(st);
	s->next = T.subs;
	if (T.subs)
		T.subs->prev = s;
	T.subs = s;
	pthread_mutex_unlock(&T.mu);
	mockarty__coordinator__v1__sync_request__free_unpacked(r, NULL);
	mk_grpc_stream_on_close(st, sub_closed, s);
}

/* Appends a JSON string literal of s (escaped) to out. With raw set, s is arbitrary bytes
 * (a request body): bytes >= 0x80 become \u00XX so the result stays valid UTF-8, which strict
 * peers (C-core's protobuf) check on string fields. */
static size_t
json_str_raw(char *out, size_t cap, size_t n, const char *s, size_t len, bool raw)
{
	if (n + 2 >= cap)
		return n;
	out[n++] = '"';
	for (size_t i = 0; i < len && n + 8 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			n += (size_t)snprintf(out + n, cap - n, "\\%c", c);
		else if (c < 0x20 || (raw && c >= 0x80))
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		else
			out[n++] = (char)c;
	}
	out[n++] = '"';
	out[n] = '\0';
	return n;
}

static size_t
json_str(char *out, size_t cap, size_t n, const char *s, size_t len)
{
	return json_str_raw(out, cap, n, s, len, false);
}

static bool
principal_is(void *arg, const mk_grpc_call_info *info)
{
	return strcmp(info->principal, (const char *)arg) == 0;
}

struct async_reply {
	mk_grpc_stream *st;
	uint8_t *buf;
	size_t len;
};

static void *
async_reply_main(void *arg)
{
	struct async_reply *a = arg;
	struct timespec ts = {0, 20 * 1000000};

	nanosleep(&ts, NULL);
	mk_grpc_stream_send(a->st, a->buf, a->len);
	mk_grpc_stream_finish(a->st, MK_GRPC_OK, NULL);
	mk_grpc_stream_release(a->st);
	free(a->buf);
	free(a);
	return NULL;
}

static void
resolve_handler(void *ud, mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	Mockarty__Coordinator__V1__ResolveRequest *r;
	Mockarty__Coordinator__V1__ResolveResponse resp =
		MOCKARTY__COORDINATOR__V1__RESOLVE_RESPONSE__INIT;
	char json[8192];
	size_t n = 0, plen;
	uint8_t *buf;

	(void)ud;
	r = mockarty__coordinator__v1__resolve_request__unpack(NULL, len, req);
	if (!r) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed ResolveRequest");
		return;
	}
	if (strcmp(r->namespace_, "__revoke__") == 0) {
		size_t closed = mk_grpc_server_close_streams(T.srv, principal_is, r->path,
							     MK_GRPC_UNAUTHENTICATED, "token revoked");

		n = (size_t)snprintf(json, sizeof json, "{\"closed\":%zu}", closed);
	} else {
		n = (size_t)snprintf(json, sizeof json, "{\"namespace\":");
		n = json_str(json, sizeof json, n, r->namespace_, strlen(r->namespace_));
		n += (size_t)snprintf(json + n, sizeof json - n, ",\"method\":");
		n = json_str(json, sizeof json, n, r->method, strlen(r->method));
		n += (size_t)snprintf(json + n, sizeof json - n, ",\"path\":");
		n = json_str(json, sizeof json, n, r->path, strlen(r->path));
		n += (size_t)snprintf(json + n, sizeof json - n, ",\"query\":");
		n = json_str(json, sizeof json, n, r->query, strlen(r->query));
		n += (size_t)snprintf(json + n, sizeof json - n, ",\"body\":");
		n = json_str_raw(json, sizeof json, n, (const char *)r->body.data, r->body.len, true);
		n += (size_t)snprintf(json + n, sizeof json - n,
				      ",\"seed\":\"%llu\",\"principal\":",
				      (unsigned long long)r->seed);
		n = json_str(json, sizeof json, n, mk_grpc_stream_info(st)->principal,
			     strlen(mk_grpc_stream_info(st)->principal));
		if (n + 2 < sizeof json) {
			json[n++] = '}';
			json[n] = '\0';
		}
	}
	resp.found = strcmp(r->path, "/missing") != 0;
	resp.response_json = json;
	plen = mockarty__coordinator__v1__resolve_response__get_packed_size(&resp);
	buf = malloc(plen ? plen : 1);
	if (!buf) {
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	mockarty__coordinator__v1__resolve_response__pack(&resp, buf);
	if (strcmp(r->namespace_, "__async__") == 0) {
		struct async_reply *a = malloc(sizeof *a);
		pthread_t th;

		if (a) {
			a->st = st;
			a->buf = buf;
			a->len = plen;
			mk_grpc_stream_retain(st);
			if (pthread_create(&th, NULL, async_reply_main, a) == 0) {
				pthread_detach(th);
				goto out;
			}
			mk_grpc_stream_release(st);
			free(a);
		}
	}
	mk_grpc_stream_send(st, buf, plen);
	mk_grpc_stream_finish(st, MK_GRPC_OK, NULL);
	free(buf);
out:
	mockarty__coordinator__v1__resolve_request__free_unpacked(r, NULL);
}

static void
report_handler(void *ud, mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	Mockarty__Coordinator__V1__ReportBatch *b;
	Mockarty__Coordinator__V1__ReportAck ack = MOCKARTY__COORDINATOR__V1__REPORT_ACK__INIT;
	uint8_t buf[16];
	size_t n;

	(void)ud;
	b = mockarty__coordinator__v1__report_batch__unpack(NULL, len, req);
	if (!b) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed ReportBatch");
		return;
	}
	ack.accepted = b->n_logs + b->n_undefined;
	pthread_mutex_lock(&T.mu);
	T.reported += ack.accepted;
	pthread_mutex_unlock(&T.mu);
	mockarty__coordinator__v1__report_batch__free_unpacked(b, NULL);
	n = mockarty__coordinator__v1__report_ack__pack(&ack, buf);
	mk_grpc_stream_send(st, buf, n);
	mk_grpc_stream_finish(st, MK_GRPC_OK, NULL);
}

static int
auth(void *ud, const char *method, const char *authorization, char *principal, size_t pcap,
     char *msg, size_t mcap)
{
	(void)ud;
	(void)method;
	if (!authorization || strncmp(authorization, "Bearer ", 7) != 0) {
		snprintf(msg, mcap, "missing bearer token");
		return MK_GRPC_UNAUTHENTICATED;
	}
	authorization += 7;
	if (strcmp(authorization, "mki_readonly") == 0) {
		snprintf(msg, mcap, "token may not use the coordinator");
		return MK_GRPC_PERMISSION_DENIED;
	}
	if (strncmp(authorization, "mki_good", 8) != 0) {
		snprintf(msg, mcap, "invalid token");
		return MK_GRPC_UNAUTHENTICATED;
	}
	snprintf(principal, pcap, "%s", authorization + 4);
	return MK_GRPC_OK;
}

/* Advances the fake change log and feeds every subscriber, until stop. */
static void *
pusher_main(void *arg)
{
	int64_t next_delta = mk_grpc_now_ms(), next_hb = next_delta + T.heartbeat_ms;

	(void)arg;
	while (!atomic_load(&T.stop)) {
		int64_t now = mk_grpc_now_ms();
		struct timespec ts = {0, 5 * 1000000};

		if (now >= next_delta || now >= next_hb) {
			bool hb = now >= next_hb;

			pthread_mutex_lock(&T.mu);
			if (now >= next_delta) {
				T.head++;
				next_delta = now + T.delta_ms;
			}
			for (struct sub *s = T.subs, *nx; s; s = nx) {
				int rc = 0;

				nx = s->next;
				while (s->cursor < T.head && rc == 0 && (rc = send_delta(s, s->cursor + 1)) == 0)
					s->cursor++;
				if (rc == 0 && hb) {
					Mockarty__Coordinator__V1__SyncEvent ev =
						MOCKARTY__COORDINATOR__V1__SYNC_EVENT__INIT;
					Mockarty__Coordinator__V1__Heartbeat h =
						MOCKARTY__COORDINATOR__V1__HEARTBEAT__INIT;

					h.head_version = T.head;
					h.server_time_ms = wall_ms();
					ev.event_case = MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_HEARTBEAT;
					ev.heartbeat = &h;
					rc = send_event(s->st, &ev);
				}
				if (rc != 0) {
					/* Overflowed (or gone): the stream is being ended; forget it
					 * here, sub_closed frees it when the stream closes. */
					if (rc == MK_GRPC_EOVERFLOW) {
						note_overflow(s->name);
						fprintf(stderr, "test-server: %s overflowed at v%llu\n",
							s->name, (unsigned long long)s->cursor);
					}
					unlink_sub(s);
					s->dead = true;
				}
			}
			pthread_mutex_unlock(&T.mu);
			if (hb)
				next_hb = now + T.heartbeat_ms;
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	mk_grpc_server_config cfg = {.host = "127.0.0.1", .auth = auth};
	char err[256];
	sigset_t set;
	int sig;
	pthread_t pusher;

	if (argc < 2) {
		fprintf(stderr, "usage: %s <port> [delta_ms] [heartbeat_ms]\n", argv[0]);
		return 2;
	}
	cfg.port = atoi(argv[1]);
	T.delta_ms = argc > 2 ? atoi(argv[2]) : 100;
	T.heartbeat_ms = argc > 3 ? atoi(argv[3]) : 1000;
	if (T.delta_ms <= 0)
		T.delta_ms = 100;
	if (T.heartbeat_ms <= 0)
		T.heartbeat_ms = 1000;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit it; main sigwaits */

	T.srv = mk_grpc_server_new(&cfg, err, sizeof err);
	if (!T.srv) {
		fprintf(stderr, "grpc-test-server: %s\n", err);
		return 1;
	}
	if (mk_grpc_server_register(T.srv, "/mockarty.coordinator.v1.Coordinator/Sync",
				    MK_GRPC_SERVER_STREAM, sync_handler, NULL, NULL) ||
	    mk_grpc_server_register(T.srv, "/mockarty.coordinator.v1.Coordinator/Resolve",
				    MK_GRPC_UNARY, resolve_handler, NULL, NULL) ||
	    mk_grpc_server_register(T.srv, "/mockarty.coordinator.v1.Coordinator/Report",
				    MK_GRPC_UNARY, report_handler, NULL, NULL) ||
	    mk_grpc_health_register(T.srv) ||
	    mk_grpc_reflection_register(T.srv, mk_grpc_descriptor_set, mk_grpc_descriptor_set_len)) {
		fprintf(stderr, "grpc-test-server: registration failed\n");
		return 1;
	}
	if (mk_grpc_server_start(T.srv, err, sizeof err) != 0) {
		fprintf(stderr, "grpc-test-server: %s\n", err);
		return 1;
	}
	pthread_create(&pusher, NULL, pusher_main, NULL);
	printf("listening 127.0.0.1:%d\n", mk_grpc_server_port(T.srv));
	fflush(stdout);

	sigwait(&set, &sig);
	mk_grpc_health_set(T.srv, "", 2 /* NOT_SERVING */);
	atomic_store(&T.stop, true);
	pthread_join(pusher, NULL);
	mk_grpc_server_stop(T.srv, 1000);
	/* Subscribers were released by their on-close callbacks during stop. */
	mk_grpc_server_free(T.srv);
	fprintf(stderr, "grpc-test-server: stopped (reports accepted: %llu)\n",
		(unsigned long long)T.reported);
	return 0;
}
