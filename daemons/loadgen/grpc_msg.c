/*
 * grpc_msg.c - prepares the request of a gRPC load test from a FileDescriptorSet and a JSON
 * message, with the descriptor-driven codec of libmockarty-core (mc_pb_*). Kept apart from
 * grpc.c so that the event loop does not depend on the codec.
 */
#include "loadgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockarty/pb.h"

bool
lg_grpc_prepare(const uint8_t *fds, size_t fdslen, const char *method, const json_t *message, char **path,
                uint8_t **out, size_t *outlen, char *err, size_t errcap)
{
	mc_error e = {0};
	*path = NULL;
	*out = NULL;
	*outlen = 0;
	if (method == NULL || *method == '\0') {
		snprintf(err, errcap, "method: missing (pkg.Service/Method)");
		return false;
	}
	if (*method == '/')
		method++;
	const char *slash = strchr(method, '/');
	if (slash == NULL || slash == method || slash[1] == '\0' || strchr(slash + 1, '/') != NULL) {
		snprintf(err, errcap, "method: '%s' is not pkg.Service/Method", method);
		return false;
	}
	if (!json_is_object(message)) {
		snprintf(err, errcap, "message: must be a JSON object");
		return false;
	}
	mc_pb_set *set = mc_pb_set_load(fds, fdslen, &e);
	if (set == NULL) {
		snprintf(err, errcap, "descriptorSet: not a FileDescriptorSet: %s%s%s", e.path,
		         *e.path ? ": " : "", e.msg);
		return false;
	}
	char svc[512];
	snprintf(svc, sizeof svc, "%.*s", (int)(slash - method), method);
	const mc_pb_service *s = mc_pb_find_service(set, svc);
	const mc_pb_method *m = NULL;
	for (size_t i = 0; s != NULL && i < s->nmethods; i++)
		if (strcmp(s->methods[i].name, slash + 1) == 0)
			m = &s->methods[i];
	bool ok = false;
	if (s == NULL) {
		snprintf(err, errcap, "method: no service '%s' in the descriptor set", svc);
	} else if (m == NULL) {
		snprintf(err, errcap, "method: service '%s' has no method '%s'", svc, slash + 1);
	} else if (m->client_streaming || m->server_streaming) {
		snprintf(err, errcap, "method: '%s' is a streaming method; only unary calls are load tested",
		         method);
	} else if (mc_pb_from_json(set, m->input_type, message, out, outlen, &e) != MC_OK) {
		snprintf(err, errcap, "message: %s: %s", *e.path ? e.path : "$", e.msg);
	} else {
		size_t n = strlen(method) + 2;
		*path = malloc(n);
		if (*path == NULL) {
			free(*out);
			*out = NULL;
			snprintf(err, errcap, "out of memory");
		} else {
			snprintf(*path, n, "/%s", method);
			ok = true;
		}
	}
	mc_pb_set_free(set);
	return ok;
}
