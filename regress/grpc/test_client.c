/*
 * test_client.c - TAP test of daemons/grpc/grpc_client.c against build/grpc-test-server:
 * the calls the resolver will make (Sync, Resolve, Report), how every failure surfaces as a
 * status (auth, unknown method, deadline, interrupt, revocation, oversize), and health.
 *
 *   grpc-client-test 127.0.0.1:<port>
 */
#include "grpc_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coordinator.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

static int ntest, nfail;
static const char *addr;

static void
ok(int cond, const char *fmt, const char *detail)
{
	ntest++;
	if (!cond)
		nfail++;
	printf("%sok %d - ", cond ? "" : "not ", ntest);
	printf(fmt, detail ? detail : "");
	printf("\n");
	fflush(stdout);
}

static mk_grpc_client *
connect_with(const char *token)
{
	mk_grpc_status st;
	mk_grpc_client *c = mk_grpc_client_connect(addr, 3000, &st);

	if (!c) {
		printf("# connect failed: %d %s\n", st.code, st.message);
		return NULL;
	}
	if (token)
		mk_grpc_client_set_authorization(c, token);
	return c;
}

static int
resolve(mk_grpc_client *c, const char *ns, const char *path, int timeout_ms, mk_grpc_status *st,
	Mockarty__Coordinator__V1__ResolveResponse **out)
{
	Mockarty__Coordinator__V1__ResolveRequest r = MOCKARTY__COORDINATOR__V1__RESOLVE_REQUEST__INIT;
	uint8_t buf[512], *resp;
	size_t n, rlen;

	r.namespace_ = (char *)ns;
	r.method = "GET";
	r.path = (char *)path;
	r.query = "a=1";
	r.body.data = (uint8_t *)"hi";
	r.body.len = 2;
	r.seed = 42;
	n = mockarty__coordinator__v1__resolve_request__pack(&r, buf);
	if (mk_grpc_client_unary(c, "/mockarty.coordinator.v1.Coordinator/Resolve", buf, n, timeout_ms,
				 &resp, &rlen, st) == MK_GRPC_OK) {
		if (out)
			*out = mockarty__coordinator__v1__resolve_response__unpack(NULL, rlen, resp);
		free(resp);
	}
	return st->code;
}

struct sync_state {
	int snapshots, last_chunk_seen, deltas, heartbeats, resyncs;
	uint64_t snap_version, last_version;
	int order_ok;
	int stop_after_deltas; /* 0 = never cancel */
};

static int
on_sync(void *ud, const uint8_t *msg, size_t len)
{
	struct sync_state *s = ud;
	Mockarty__Coordinator__V1__SyncEvent *ev =
		mockarty__coordinator__v1__sync_event__unpack(NULL, len, msg);
	int stop = 0;

	if (!ev) {
		s->order_ok = 0;
		return 1;
	}
	switch (ev->event_case) {
	case MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_SNAPSHOT:
		s->snapshots++;
		s->snap_version = ev->snapshot->version;
		s->last_version = ev->snapshot->version;
		if (ev->snapshot->last_chunk)
			s->last_chunk_seen = 1;
		break;
	case MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_DELTA:
		if (ev->delta->version != s->last_version + 1 || !s->last_chunk_seen)
			s->order_ok = 0;
		s->last_version = ev->delta->version;
		s->deltas++;
		if (s->stop_after_deltas && s->deltas >= s->stop_after_deltas)
			stop = 1;
		break;
	case MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_HEARTBEAT:
		s->heartbeats++;
		break;
	case MOCKARTY__COORDINATOR__V1__SYNC_EVENT__EVENT_RESYNC:
		s->resyncs++;
		break;
	default:
		break;
	}
	mockarty__coordinator__v1__sync_event__free_unpacked(ev, NULL);
	return stop;
}

static int
sync_call(mk_grpc_client *c, const char *name, uint64_t have, int timeout_ms, struct sync_state *s,
	  mk_grpc_status *st)
{
	Mockarty__Coordinator__V1__SyncRequest r = MOCKARTY__COORDINATOR__V1__SYNC_REQUEST__INIT;
	uint8_t buf[256];
	size_t n;

	r.resolver_name = (char *)name;
	r.namespace_ = "sandbox";
	r.have_version = have;
	r.address = "127.0.0.1:5780";
	n = mockarty__coordinator__v1__sync_request__pack(&r, buf);
	s->order_ok = 1;
	return mk_grpc_client_server_stream(c, "/mockarty.coordinator.v1.Coordinator/Sync", buf, n,
					    timeout_ms, on_sync, s, st);
}

struct bg_sync {
	mk_grpc_client *c;
	struct sync_state s;
	mk_grpc_status st;
};

static void *
bg_sync_main(void *arg)
{
	struct bg_sync *b = arg;

	sync_call(b->c, "c-bg", 0, 10000, &b->s, &b->st);
	return NULL;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int
main(int argc, char **argv)
{
	mk_grpc_client *c, *bad;
	mk_grpc_status st;
	Mockarty__Coordinator__V1__ResolveResponse *rr = NULL;
	struct sync_state ss = {0};
	char detail[600];

	if (argc < 2) {
		fprintf(stderr, "usage: %s host:port\n", argv[0]);
		return 2;
	}
	addr = argv[1];
	printf("TAP version 13\n");

	c = connect_with("Bearer mki_good");
	ok(c != NULL, "connect to %s", addr);
	if (!c) {
		printf("1..%d\n", ntest);
		return 1;
	}

	resolve(c, "sandbox", "/users/1", 3000, &st, &rr);
	snprintf(detail, sizeof detail, "%d %s", st.code, rr ? rr->response_json : "");
	ok(st.code == MK_GRPC_OK && rr && rr->found && strstr(rr->response_json, "\"/users/1\"") &&
		   strstr(rr->response_json, "\"principal\":\"good\""),
	   "unary Resolve echoes the request (%s)", detail);
	if (rr)
		mockarty__coordinator__v1__resolve_response__free_unpacked(rr, NULL);
	rr = NULL;

	resolve(c, "sandbox", "/missing", 3000, &st, &rr);
	ok(st.code == MK_GRPC_OK && rr && !rr->found, "Resolve of /missing says found=false%s", NULL);
	if (rr)
		mockarty__coordinator__v1__resolve_response__free_unpacked(rr, NULL);
	rr = NULL;

	resolve(c, "__async__", "/a", 3000, &st, &rr);
	ok(st.code == MK_GRPC_OK && rr && rr->found, "Resolve answered from another thread%s", NULL);
	if (rr)
		mockarty__coordinator__v1__resolve_response__free_unpacked(rr, NULL);
	rr = NULL;

	bad = connect_with("Bearer mki_bad");
	resolve(bad, "sandbox", "/x", 3000, &st, NULL);
	ok(st.code == MK_GRPC_UNAUTHENTICATED, "bad token -> UNAUTHENTICATED (%s)", st.message);
	mk_grpc_client_set_authorization(bad, NULL);
	resolve(bad, "sandbox", "/x", 3000, &st, NULL);
	ok(st.code == MK_GRPC_UNAUTHENTICATED, "no token -> UNAUTHENTICATED (%s)", st.message);
	mk_grpc_client_set_authorization(bad, "Bearer mki_readonly");
	resolve(bad, "sandbox", "/x", 3000, &st, NULL);
	ok(st.code == MK_GRPC_PERMISSION_DENIED, "readonly token -> PERMISSION_DENIED (%s)", st.message);
	ok(mk_grpc_client_usable(bad), "connection survives refused calls%s", NULL);
	mk_grpc_client_close(bad);

	{
		uint8_t *resp;
		size_t rlen;

		mk_grpc_client_unary(c, "/mockarty.coordinator.v1.Coordinator/Nope", (const uint8_t *)"",
				     0, 3000, &resp, &rlen, &st);
		ok(st.code == MK_GRPC_UNIMPLEMENTED, "unknown method -> UNIMPLEMENTED (%s)", st.message);
	}

	{
		/* > 4 MiB request: refused with RESOURCE_EXHAUSTED, connection still usable. */
		size_t big = 5u << 20;
		uint8_t *buf = calloc(1, big), *resp;
		size_t rlen;

		mk_grpc_client_unary(c, "/mockarty.coordinator.v1.Coordinator/Resolve", buf, big, 10000,
				     &resp, &rlen, &st);
		ok(st.code == MK_GRPC_RESOURCE_EXHAUSTED, "5 MiB request -> RESOURCE_EXHAUSTED (%s)",
		   st.message);
		free(buf);
	}

	ss.stop_after_deltas = 3;
	sync_call(c, "c-1", 0, 10000, &ss, &st);
	snprintf(detail, sizeof detail, "snapshots=%d deltas=%d v%llu..v%llu status=%d", ss.snapshots,
		 ss.deltas, (unsigned long long)ss.snap_version, (unsigned long long)ss.last_version,
		 st.code);
	ok(ss.snapshots == 2 && ss.last_chunk_seen && ss.deltas == 3 && ss.order_ok &&
		   st.code == MK_GRPC_CANCELLED,
	   "Sync: 2-chunk snapshot then ordered deltas, cancelled by callback (%s)", detail);

	{
		uint64_t have = ss.last_version;
		struct sync_state s2 = {.stop_after_deltas = 2, .last_version = have,
					 .last_chunk_seen = 1};

		sync_call(c, "c-1", have, 10000, &s2, &st);
		snprintf(detail, sizeof detail, "from v%llu: snapshots=%d deltas=%d order=%d",
			 (unsigned long long)have, s2.snapshots, s2.deltas, s2.order_ok);
		s2.order_ok = s2.order_ok && s2.deltas == 2 && s2.snapshots == 0;
		ok(s2.order_ok, "Sync resumes from have_version without a snapshot (%s)", detail);
	}
	{
		struct sync_state s3 = {0};

		sync_call(c, "c-1", 1u << 30, 10000, &s3, &st);
		ok(s3.resyncs == 1 && st.code == MK_GRPC_OK, "future have_version -> Resync%s", NULL);
	}
	{
		struct sync_state s4 = {0};
		int64_t t0 = mk_grpc_now_ms();

		sync_call(c, "c-1", 0, 400, &s4, &st);
		snprintf(detail, sizeof detail, "%d after %lld ms, %d deltas", st.code,
			 (long long)(mk_grpc_now_ms() - t0), s4.deltas);
		ok(st.code == MK_GRPC_DEADLINE_EXCEEDED && s4.snapshots == 2,
		   "Sync with a 400 ms deadline ends DEADLINE_EXCEEDED (%s)", detail);
	}

	{
		Mockarty__Coordinator__V1__ReportBatch b = MOCKARTY__COORDINATOR__V1__REPORT_BATCH__INIT;
		Mockarty__Coordinator__V1__RequestLog l1 = MOCKARTY__COORDINATOR__V1__REQUEST_LOG__INIT,
						      l2 = MOCKARTY__COORDINATOR__V1__REQUEST_LOG__INIT;
		Mockarty__Coordinator__V1__UndefinedRequest u =
			MOCKARTY__COORDINATOR__V1__UNDEFINED_REQUEST__INIT;
		Mockarty__Coordinator__V1__RequestLog *logs[] = {&l1, &l2};
		Mockarty__Coordinator__V1__UndefinedRequest *und[] = {&u};
		uint8_t buf[512], *resp;
		size_t n, rlen;
		Mockarty__Coordinator__V1__ReportAck *ack = NULL;

		l1.mock_id = "m1";
		l2.mock_id = "m2";
		u.path = "/nope";
		u.count = 4;
		b.n_logs = 2;
		b.logs = logs;
		b.n_undefined = 1;
		b.undefined = und;
		b.dropped = 7;
		n = mockarty__coordinator__v1__report_batch__pack(&b, buf);
		if (mk_grpc_client_unary(c, "/mockarty.coordinator.v1.Coordinator/Report", buf, n, 3000,
					 &resp, &rlen, &st) == MK_GRPC_OK) {
			ack = mockarty__coordinator__v1__report_ack__unpack(NULL, rlen, resp);
			free(resp);
		}
		ok(ack && ack->accepted == 3, "Report accepted 3 rows%s", NULL);
		if (ack)
			mockarty__coordinator__v1__report_ack__free_unpacked(ack, NULL);
	}

	{
		Grpc__Health__V1__HealthCheckRequest hr = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
		Grpc__Health__V1__HealthCheckResponse *h = NULL;
		uint8_t buf[64], *resp;
		size_t n, rlen;

		hr.service = "mockarty.coordinator.v1.Coordinator";
		n = grpc__health__v1__health_check_request__pack(&hr, buf);
		if (mk_grpc_client_unary(c, "/grpc.health.v1.Health/Check", buf, n, 3000, &resp, &rlen,
					 &st) == MK_GRPC_OK) {
			h = grpc__health__v1__health_check_response__unpack(NULL, rlen, resp);
			free(resp);
		}
		ok(h && h->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING,
		   "health Check of the Coordinator service: SERVING%s", NULL);
		if (h)
			grpc__health__v1__health_check_response__free_unpacked(h, NULL);
	}

	{
		/* Interrupt a long-lived stream from another thread. */
		struct bg_sync b = {.c = connect_with("Bearer mki_good")};
		pthread_t th;
		int waited = 0;

		pthread_create(&th, NULL, bg_sync_main, &b);
		while (b.s.deltas < 1 && waited++ < 300)
			sleep_ms(10);
		mk_grpc_client_interrupt(b.c);
		pthread_join(th, NULL);
		ok(b.st.code == MK_GRPC_CANCELLED && b.s.deltas >= 1,
		   "interrupt from another thread ends the stream CANCELLED (%s)", b.st.message);
		mk_grpc_client_close(b.c);
	}

	{
		/* Token revocation: the server closes every stream of that principal. */
		struct bg_sync b = {.c = connect_with("Bearer mki_good_rev")};
		pthread_t th;
		int waited = 0;

		pthread_create(&th, NULL, bg_sync_main, &b);
		while (b.s.deltas < 1 && waited++ < 300)
			sleep_ms(10);
		resolve(c, "__revoke__", "good_rev", 3000, &st, &rr);
		snprintf(detail, sizeof detail, "%s", rr ? rr->response_json : "?");
		if (rr)
			mockarty__coordinator__v1__resolve_response__free_unpacked(rr, NULL);
		rr = NULL;
		pthread_join(th, NULL);
		ok(b.st.code == MK_GRPC_UNAUTHENTICATED && strcmp(b.st.message, "token revoked") == 0 &&
			   strcmp(detail, "{\"closed\":1}") == 0,
		   "revoked token's stream ends UNAUTHENTICATED \"token revoked\" (%s)", detail);
		mk_grpc_client_close(b.c);
	}

	resolve(c, "sandbox", "/after", 3000, &st, NULL);
	ok(st.code == MK_GRPC_OK, "first connection still serves calls after all that%s", NULL);
	mk_grpc_client_close(c);

	printf("1..%d\n", ntest);
	return nfail ? 1 : 0;
}
