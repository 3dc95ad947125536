/*
 * link/coord.c - Coordinator.Resolve for mocks the resolver must not answer alone
 * (use limits, ordered oneOf, stores, extract: state that every node has to
 * agree on lives in PostgreSQL behind the coordinator).
 *
 * The gRPC client runs one call at a time per connection and blocks its
 * caller, so concurrent HTTP threads share a small fixed pool of connections
 * (daemons/grpc/grpc_pool.h, RESOLVE_POOL_SIZE): a coordinator outage costs a
 * fast error per request, not a hang, since connect and call carry deadlines.
 */
#include "resolver.h"
#include "link/link.h"

#include "grpc_pool.h"
#include "mockarty/core.h"
#include "log.h"
#include "otel.h"

#include "coordinator.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 1000
#define RESOLVE_TIMEOUT_MS 5000

static mk_grpc_pool *pool;
static atomic_ullong matched; /* coord_resolve calls that returned a mock */

bool
coord_pool_init(int size)
{
	pool = mk_grpc_pool_new(rs_cfg.coordinator_addr, rs_cfg.api_token, size, CONNECT_TIMEOUT_MS, 0);
	return pool != NULL;
}

void
coord_pool_free(void)
{
	mk_grpc_pool_free(pool);
	pool = NULL;
}

int
coord_resolve(const char *ns, const char *method, const char *path, const char *query,
              const char *headers_json, const char *body, size_t body_len, uint64_t seed, json_t **response,
              char *err, size_t errlen)
{
	return coord_resolve_proto("", ns, method, path, query, headers_json, body, body_len, seed, response, err,
	                           errlen);
}

int
coord_resolve_proto(const char *protocol, const char *ns, const char *method, const char *path,
                    const char *query, const char *headers_json, const char *body, size_t body_len,
                    uint64_t seed, json_t **response, char *err, size_t errlen)
{
	Mockarty__Coordinator__V1__ResolveRequest rq = MOCKARTY__COORDINATOR__V1__RESOLVE_REQUEST__INIT;
	Mockarty__Coordinator__V1__ResolveResponse *rr;
	mk_grpc_status st = {0};
	uint8_t *buf, *resp = NULL;
	size_t n, resp_len = 0;
	int code, result = -1;
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
	rq.protocol = (char *)(protocol ? protocol : "");
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
	code = mk_grpc_pool_unary(pool, "/mockarty.coordinator.v1.Coordinator/Resolve", buf, n, RESOLVE_TIMEOUT_MS,
	                          tpp, &resp, &resp_len, &st);
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
	if (result == 1)
		atomic_fetch_add(&matched, 1);
	return result;
}

unsigned long long
coord_matched_total(void)
{
	return atomic_load(&matched);
}
