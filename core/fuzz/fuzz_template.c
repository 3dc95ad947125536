/*
 * fuzz_template.c - libFuzzer target for the templating half of core: the
 * bytes are syntax-checked as one template string, then rendered against a
 * fixed request and fresh stores (as JSON when they parse, else as a string),
 * and, when they form an object, resolved as a mock.
 *
 * Template strings are written by any API user and rendered inside the
 * PostgreSQL backend, so every path must stay bounded and leak-free on any
 * input; ASan/UBSan catch what assertions miss. Check and render must also
 * agree: a template the checker accepts must never fail to render with
 * MC_EINVAL (a syntax error the checker missed).
 */
#include "mockarty/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *
load(const char *text)
{
	return json_loads(text, JSON_DECODE_ANY, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char body[] =
	    "{\"city\":\"Oslo\",\"amount\":12.5,\"user\":{\"name\":\"Ann\"},\"items\":[{\"id\":7}]}";
	char *text;
	mc_error err;
	mc_status checked;
	json_t *query, *headers, *bodyj, *pp, *tmpl, *out;
	mc_stores stores;
	mc_rng rng;
	mc_request req;
	mc_render_ctx ctx;
	int64_t cursor = 1;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&err, 0, sizeof(err));
	checked = mc_template_check(text, &err);

	query = mc_query_parse("format=full&tag=a&tag=b");
	headers = load("{\"x-forwarded-for\":[\"10.0.0.1\",\"10.0.0.2\"],\"accept\":[\"*/*\"]}");
	bodyj = load(body);
	pp = load("{\"id\":\"42\",\"lang\":\"ru\"}");
	stores.gs = load("{\"app.version\":\"1.2\",\"app\":{\"name\":\"x\"},\"count\":1}");
	stores.cs = load("{\"orderId\":\"o-1\"}");
	stores.ms = load("{\"greetings\":{\"en\":\"Hello\",\"ru\":\"Privet\"}}");
	stores.gs_dirty = stores.cs_dirty = stores.ms_dirty = false;
	mc_rng_seed(&rng, 1);
	req = (mc_request){.method = "POST",
	                   .path = "/api/users/42",
	                   .query = query,
	                   .headers = headers,
	                   .body = body,
	                   .body_len = sizeof(body) - 1,
	                   .body_json = bodyj};
	ctx = (mc_render_ctx){
	    .req = &req, .path_params = pp, .stores = &stores, .rng = &rng, .now = 1700000000};

	/* the bytes as one template string */
	tmpl = json_stringn_nocheck(text, size);
	out = mc_render_value(tmpl, &ctx, &err);
	if (out == NULL && checked == MC_OK && err.code == MC_EINVAL && memchr(text, '\0', size) == NULL) {
		fprintf(stderr, "check accepted but render failed: %s\n", err.msg);
		abort();
	}
	json_decref(out);
	json_decref(tmpl);

	/* the bytes as a JSON document, and as a mock */
	tmpl = json_loadb(text, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (tmpl != NULL) {
		out = mc_render_value(tmpl, &ctx, &err);
		json_decref(out);
		if (json_is_object(tmpl)) {
			out = mc_resolve_response(tmpl, &ctx, &cursor, &err);
			json_decref(out);
			(void)mc_mock_is_stateful(tmpl);
		}
		json_decref(tmpl);
	}

	json_decref(query);
	json_decref(headers);
	json_decref(bodyj);
	json_decref(pp);
	json_decref(stores.gs);
	json_decref(stores.cs);
	json_decref(stores.ms);
	free(text);
	return 0;
}
