/*
 * fuzz_mock.c - libFuzzer target for the write-then-match path: bytes are
 * parsed as a mock, validated, indexed, and a request derived from the same
 * bytes is matched against it.
 *
 * Mocks and requests both come from untrusted users, so every step must stay
 * bounded and leak-free on any input; ASan/UBSan catch what assertions miss.
 * The parse rejects duplicate keys (as the admin API does) and the validator
 * bounds depth before anything else walks the document.
 */
#include "mockarty/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Builds a concrete request path from a mock route: ":x" and "{x}" become "7". */
static void
path_from_route(const char *route, char *out, size_t size)
{
	size_t o = 0;

	for (const char *p = route; *p && o + 2 < size;) {
		if ((*p == ':' || *p == '{') && (p == route || p[-1] == '/')) {
			out[o++] = '7';
			while (*p && *p != '/')
				p++;
		} else if (*p == '*') {
			o += (size_t)snprintf(out + o, size - o, "x/y");
			p++;
		} else {
			out[o++] = *p++;
		}
	}
	out[o < size ? o : size - 1] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *mock, *query, *headers;
	mc_error err;
	mc_index *idx;
	mc_request req;
	mc_match m;
	char path[512] = "/";
	const char *route, *method;
	json_t *http;

	mock = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (mock == NULL)
		return 0;
	if (mc_mock_validate(mock, &err) != MC_OK) {
		json_decref(mock);
		return 0;
	}
	idx = mc_index_new();
	if (idx == NULL || mc_index_put(idx, mock, 1, &err) != MC_OK) {
		mc_index_free(idx);
		json_decref(mock);
		return 0;
	}
	/* A second put of the same mock exercises replacement. */
	mc_index_put(idx, mock, 2, &err);

	http = json_object_get(mock, "http");
	route = json_string_value(json_object_get(http, "route"));
	method = json_string_value(json_object_get(http, "httpMethod"));
	if (route)
		path_from_route(route, path, sizeof(path));
	query = mc_query_parse("format=full&a=1&a=%20x+y&bad=%zz");
	headers = json_pack("{s:[s],s:[s,s]}", "authorization", "Bearer t", "x-multi", "a", "b");

	memset(&req, 0, sizeof(req));
	req.method = method ? method : "GET";
	req.path = path;
	req.query = query;
	req.headers = headers;
	req.body = (const char *)data;
	req.body_len = size;
	req.body_json = mock; /* the mock's own JSON is a handy body for its conditions */
	if (mc_index_match(idx, json_string_value(json_object_get(mock, "namespace")), &req, NULL, NULL, &m) ==
	    MC_OK)
		mc_match_clear(&m);
	req.body_json = NULL;
	if (mc_index_match(idx, NULL, &req, NULL, NULL, &m) == MC_OK)
		mc_match_clear(&m);

	mc_index_remove(idx, json_string_value(json_object_get(mock, "namespace")),
			json_string_value(json_object_get(mock, "id")));
	json_decref(query);
	json_decref(headers);
	mc_index_free(idx);
	json_decref(mock);
	return 0;
}
