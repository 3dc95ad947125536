/*
 * fuzz_openapi.c - libFuzzer target for the importer: bytes are read as a
 * YAML/JSON document and imported as OpenAPI, with options chosen by the
 * first byte. Uploaded specs are untrusted, so parsing, reference following
 * and sampling must stay bounded and leak-free on any input, and whatever
 * mocks come out must pass mc_mock_validate (abort otherwise).
 */
#include "mockarty/import.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	json_t *opts, *res, *v;
	mc_error err;
	size_t i;
	json_t *m;
	unsigned flags = size ? data[0] : 0;

	v = mc_yaml_to_json((const char *)data, size, NULL, &err);
	json_decref(v);
	opts = json_pack("{s:b, s:s, s:i}", "validate", (int)(flags & 1), "namespace", "fuzz",
	                 "maxOperations", (flags & 2) ? 5 : 500);
	if (flags & 4)
		json_object_set_new(opts, "pathPrefix", json_string("/p"));
	res = mc_import_openapi((const char *)data, size, opts, &err);
	json_decref(opts);
	if (res == NULL)
		return 0;
	json_array_foreach (json_object_get(res, "mocks"), i, m)
		if (mc_mock_validate(m, &err) != MC_OK)
			abort();
	json_decref(res);
	return 0;
}
