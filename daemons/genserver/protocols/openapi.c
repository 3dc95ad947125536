/*
 * protocols/openapi.c - the openapi (HTTP) protocol module of the generated-server frame.
 *
 * An OpenAPI server's mocks are HTTP mocks, so the module is the node library's serving path
 * (the resolver's serving/http.c over daemons/common/mockserve.c, the same serving code as the
 * admin node and resolver nodes): answers are byte-for-byte the admin node's, stateless mocks
 * resolve from the local snapshot, stateful ones through Coordinator.Resolve. The operation
 * list comes from the synced mocks, never from parsing the spec here.
 */
#include "protocols/protocol.h"

#include "link/link.h"
#include "serving/serving.h"

static const char *const aliases[] = {"http", "rest", NULL};

static bool
openapi_start(void)
{
	return http_start();
}

static void
openapi_stop(void)
{
	http_stop();
}

static json_t *
openapi_status(void)
{
	return json_pack("{s:s, s:I}", "transport", "http", "mocksLoaded", (json_int_t)rs_mocks_loaded());
}

const gs_protocol gs_openapi_protocol = {
    .name = "openapi",
    .aliases = aliases,
    .vars = NULL,
    .nvars = 0,
    .start = openapi_start,
    .stop = openapi_stop,
    .status_json = openapi_status,
    .metrics = NULL,
};
