/*
 * coord.c - Coordinator.Resolve for mocks the resolver must not answer alone
 * (use limits, ordered oneOf, stores, extract: state that every node has to
 * agree on lives in PostgreSQL behind the coordinator).
 *
 * The gRPC client runs one call at a time per connection and blocks its
 * caller, so concurrent HTTP threads share a small fixed pool of connections:
 * a thread takes a free one (waiting on a condition variable when all are
 * busy), makes its call and gives it back. Connections are opened lazily and
 * reopened after a failure, so a coordinator outage costs a fast error per
 * request, not a hang: connect and call both carry deadlines.
 */
#include "resolver.h"

#include "grpc_client.h"
#include "mockarty/core.h"
#include "log.h"
#include "otel.h"

#include "coordinator.pb-c.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 1000
#define RESOLVE_TIMEOUT_MS 5000

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	mk_grpc_client **conns; /* NULL slot = not connected */
	bool *busy;
	int size;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

bool
coord_pool_init(int size)
{
	P.conns = calloc((size_t)size, sizeof(*P.conns));
	P.busy = calloc((size_t)size, sizeof(*P.busy));
	if (P.conns == NULL || P.busy == NULL)
		return false;
	P.size = size;
	return true;
}

void
coord_pool_free(void)
{
	pthread_mutex_lock(&P.mu);
	for (int i = 0; i < P.size; i++)
		if (P.conns[i] != NULL)
			mk_grpc_client_close(P.conns[i]);
	free(P.conns);
	free(P.busy);
	P.conns = NULL;
	P.busy = NULL;
	P.size = 0;
	pthread_mutex_unlock(&P.mu);
}

/* Takes a free slot, waiting while every slot is busy. */
static int
acquire(void)
{
	int slot = -1;

	pthread_mutex_lock(&P.mu);
	while (slot < 0) {
		for (int i = 0; i < P.size; i++)
			if (!P.busy[i]) {
				slot = i;
				break;
			}
		if (slot < 0)
			pthread_cond_wait(&P.cv, &P.mu);
	}
	P.busy[slot] = true;
	pthread_mutex_unlock(&P.mu);
	return slot;
}

static void
release(int slot)
{
	pthread_mutex_lock(&P.mu);
	P.busy[slot] = false;
	pthread_cond_signal(&P.cv);
	pthread_mutex_unlock(&P.mu);
}

/*
 * One unary call on slot (connecting first when needed); returns the gRPC code. traceparent
 * (NULL = none) travels as metadata of this call only.
 */
static int
call_on(int slot, const uint8_t *req, size_t n, uint8_t **resp, size_t *resp_len, mk_grpc_status *st,
        const char *traceparent)
{
	char authz[600];

	if (P.conns[slot] != NULL && !mk_grpc_client_usable(P.conns[slot])) {
		mk_grpc_client_close(P.conns[slot]);
		P.conns[slot] = NULL;
	}
	if (P.conns[slot] == NULL) {
		P.conns[slot] = mk_grpc_client_connect(rs_cfg.coordinator_addr, CONNECT_TIMEOUT_MS, st);
		if (P.conns[slot] == NULL)
			return st->code;
		snprintf(authz, sizeof(authz), "Bearer %s", rs_cfg.api_token);
		mk_grpc_client_set_authorization(P.conns[slot], authz);
		memset(authz, 0, sizeof(authz));
	}
	if (traceparent != NULL)
		mk_grpc_client_set_call_metadata(P.conns[slot], "traceparent", traceparent);
	return mk_grpc_client_unary(P.conns[slot], "/mockarty.coordinator.v1.Coordinator/Resolve", req, n,
	                            RESOLVE_TIMEOUT_MS, resp, resp_len, st);
}

int
coord_resolve(const char *ns, const char *method, const char *path, const char *query,
              const char *headers_json, const char *body, size_t body_len, uint64_t seed, json_t **response,
              char *err, size_t errlen)
{
	Mockarty__Coordinator__V1__ResolveRequest rq = MOCKARTY__COORDINATOR__V1__RESOLVE_REQUEST__INIT;
	Mockarty__Coordinator__V1__ResolveResponse *rr;
	mk_grpc_status st = {0};
	uint8_t *buf, *resp = NULL;
	size_t n, resp_len = 0;
	int slot, code, result = -1;
	bool had_conn;
	json_error_t jerr;
	otel_span span = {0};
	char tp[OTEL_TRACEPARENT_SIZE];
	const char *tpp = NULL;

	*response = NULL;
	rq.namespace_ = (char *)ns;
	rq.method = (char *)method;
	rq.path = (char *)path;
	rq.query = (char *)(query ? query : "");
	rq.headers_json = (char *)(headers_json ? headers_json : "{}");
	rq.body.data = (uint8_t *)body;
	rq.body.len = body ? body_len : 0;
	rq.seed = seed;
	n = mockarty__coordinator__v1__resolve_request__get_packed_size(&rq);
	buf = malloc(n ? n : 1);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	mockarty__coordinator__v1__resolve_request__pack(&rq, buf);
	if (otel_enabled()) { /* a client span, child of the request's server span */
		otel_span_start(&span, "mockarty.coordinator.v1.Coordinator/Resolve", OTEL_KIND_CLIENT,
		                otel_current_ctx());
		otel_span_set_str(&span, "rpc.system", "grpc");
		otel_span_set_str(&span, "rpc.service", "mockarty.coordinator.v1.Coordinator");
		otel_span_set_str(&span, "rpc.method", "Resolve");
		otel_span_set_str(&span, "mockarty.namespace", ns);
		otel_span_set_str(&span, "net.peer.name", rs_cfg.coordinator_addr);
		if (otel_span_traceparent(&span, tp))
			tpp = tp;
	}
	slot = acquire();
	had_conn = P.conns[slot] != NULL && mk_grpc_client_usable(P.conns[slot]);
	code = call_on(slot, buf, n, &resp, &resp_len, &st, tpp);
	/* a kept connection that went stale (admin restarted) gets one retry on a fresh one */
	if (code == MK_GRPC_UNAVAILABLE && had_conn) {
		if (P.conns[slot] != NULL) {
			mk_grpc_client_close(P.conns[slot]);
			P.conns[slot] = NULL;
		}
		free(resp);
		resp = NULL;
		code = call_on(slot, buf, n, &resp, &resp_len, &st, tpp);
	}
	release(slot);
	free(buf);
	if (otel_enabled()) {
		otel_span_set_int(&span, "rpc.grpc.status_code", code);
		if (code != MK_GRPC_OK)
			otel_span_set_error(&span, st.message);
		otel_span_end(&span);
	}
	if (code != MK_GRPC_OK) {
		snprintf(err, errlen, "coordinator Resolve failed: %s: %s", mk_grpc_code_name(code),
		         st.message);
		free(resp);
		return -1;
	}
	rr = mockarty__coordinator__v1__resolve_response__unpack(NULL, resp_len, resp);
	free(resp);
	if (rr == NULL) {
		snprintf(err, errlen, "undecodable ResolveResponse");
		return -1;
	}
	if (!rr->found) {
		result = 0;
	} else {
		*response = mc_json_loadb_wide(rr->response_json, strlen(rr->response_json), JSON_DECODE_ANY, &jerr);
		if (!json_is_object(*response)) {
			json_decref(*response);
			*response = NULL;
			snprintf(err, errlen, "coordinator sent a response that is not a JSON object: %s",
			         jerr.text);
		} else {
			result = 1;
		}
	}
	mockarty__coordinator__v1__resolve_response__free_unpacked(rr, NULL);
	return result;
}
