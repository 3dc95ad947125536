/*
 * fuzz_sources.c - libFuzzer target for the importers of foreign stub formats
 * (WireMock, Mockoon, HAR): the bytes are parsed as JSON and handed to all three.
 *
 * Import documents are uploaded by users, so each importer must stay bounded and
 * leak-free on any JSON, and every mock it emits must pass mc_mock_validate (the
 * SQL merge relies on that): a mock that does not is a bug and aborts the run.
 */
#include "mockarty/sources.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(json_t *report)
{
	json_t *m;
	size_t i;

	if (report == NULL)
		return;
	json_array_foreach (json_object_get(report, "mocks"), i, m)
		if (mc_mock_validate(m, NULL) != MC_OK)
			abort();
	json_decref(report);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);

	if (doc == NULL)
		return 0;
	check(mc_import_wiremock(doc, "fuzz", "wiremock"));
	check(mc_import_mockoon(doc, "fuzz", "mockoon"));
	check(mc_import_har(doc, "fuzz", "har", size % 2 == 0));
	json_decref(doc);
	return 0;
}
