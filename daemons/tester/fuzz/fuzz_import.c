/*
 * fuzz_import.c - libFuzzer target for what a user uploads to the API tester: a Postman
 * collection (parsed as JSON, then compiled by mt_compile, which runs the pm.* script
 * translator over every event), and a bare script given to mt_translate_script.
 *
 * Both run on the admin node at import and on runners, so any input must end in a plan or a
 * clean error, never a crash, a leak or unbounded work. The first byte picks the path: even
 * bytes feed the rest as a collection document, odd bytes as the text of a test script. The
 * plan is also rendered (mt_render_requests) so URL and body building see the same inputs.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tester.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		json_error_t jerr;
		json_t *doc = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, &jerr);
		if (doc == NULL)
			return 0;
		json_t *plan = mt_compile(doc, err, sizeof err);
		if (plan != NULL) {
			json_t *env = json_object();
			json_t *reqs = mt_render_requests(plan, env, err, sizeof err);
			json_decref(reqs);
			json_decref(env);
			json_decref(plan);
		}
		json_decref(doc);
		return 0;
	}
	char *src = malloc(size);
	if (src == NULL)
		return 0;
	memcpy(src, data + 1, size - 1);
	src[size - 1] = '\0';
	json_t *steps = mt_translate_script(src, (data[0] & 2) ? "prerequest" : "test", "fuzz");
	json_decref(steps);
	free(src);
	return 0;
}
