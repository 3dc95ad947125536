/*
 * test_corpus.c - replays the shared fixture corpus (every .json file in regress/corpus)
 * through core directly: validate and index each file's mocks, run its cases
 * in order, resolve the winner with mc_resolve_response and compare with
 * expect / expectFn.
 *
 * The same files run through SQL mockarty.resolve() and a live admin node, so
 * this runner emulates the state they keep in tables the simplest way that
 * gives the same answers: use counters (useLimiter via the skip callback),
 * one oneOf cursor per mock, and global / chain / mock stores in memory.
 * Mocks are put in file order, so a later mock is newer.
 */
#include "test_util.h"

#include "corpus_check.h"

#include <dirent.h>

#define CORPUS_DIR "../../regress/corpus"
#define CORPUS_NOW 1700000000

typedef struct corpus_state {
	json_t *uses;    /* "ns/id" -> integer */
	json_t *cursors; /* "ns/id" -> integer */
	json_t *gs;      /* ns -> object */
	json_t *cs;      /* "ns/chainId" -> object */
	json_t *ms;      /* "ns/id" -> object */
	const char *ns;
} corpus_state;

static void
mock_key(char *buf, size_t size, const char *ns, const json_t *mock)
{
	const char *id = json_string_value(json_object_get(mock, "id"));

	snprintf(buf, size, "%s/%s", ns, id ? id : "");
}

/* Returns the object stored under key in map, creating an empty one. */
static json_t *
store_for(json_t *map, const char *key)
{
	json_t *o = json_object_get(map, key);

	if (o == NULL) {
		o = json_object();
		json_object_set_new(map, key, o);
	}
	return o;
}

/* useLimiter: skip a mock whose uses reached its limit. */
static bool
skip_spent(void *ctx, const json_t *mock)
{
	corpus_state *st = ctx;
	json_int_t limit = json_integer_value(json_object_get(mock, "useLimiter"));
	char key[300];

	if (limit <= 0)
		return false;
	mock_key(key, sizeof(key), st->ns, mock);
	return json_integer_value(json_object_get(st->uses, key)) >= limit;
}

/* expect is a subset of got: objects recursively, arrays and scalars exactly. */
static bool
subset(const json_t *want, const json_t *got)
{
	const char *k;
	json_t *v;

	if (json_is_object(want)) {
		if (!json_is_object(got))
			return false;
		json_object_foreach ((json_t *)want, k, v)
			if (!subset(v, json_object_get(got, k)))
				return false;
		return true;
	}
	return got != NULL && json_equal((json_t *)want, (json_t *)got);
}

static void
build_request(treq *t, const json_t *r)
{
	const json_t *h = json_object_get(r, "headers");
	char *htext = h ? json_dumps(h, JSON_COMPACT) : NULL;

	treq_init(t, json_string_value(json_object_get(r, "method")) ?: "GET",
		  json_string_value(json_object_get(r, "path")) ?: "/",
		  json_string_value(json_object_get(r, "query")), htext,
		  json_string_value(json_object_get(r, "body")));
	free(htext);
}

/*
 * With CORPUS_DUMP=<file>, every case's full response object (null on a miss) is
 * written there as one JSON line {"file","case","response"}, so the end-to-end
 * corpus test can check that SQL and HTTP give exactly what core gives.
 */
static FILE *dump_fp;

static void
dump_case(const char *file, const char *name, const json_t *resp)
{
	json_t *line;

	if (dump_fp == NULL)
		return;
	line = json_pack("{s:s, s:s, s:O}", "file", file, "case", name, "response", resp ? resp : json_null());
	json_dumpf(line, dump_fp, JSON_COMPACT | JSON_SORT_KEYS);
	fputc('\n', dump_fp);
	json_decref(line);
}

/* Runs one case; returns false (after printing why) when it does not hold. */
static bool
run_case(const char *file, mc_index *idx, corpus_state *st, const json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name")) ?: "(unnamed)";
	const char *ns = json_string_value(json_object_get(c, "namespace")) ?: MC_DEFAULT_NAMESPACE;
	const json_t *expect = json_object_get(c, "expect");
	const json_t *seed = json_object_get(c, "seed");
	const json_t *fns = json_object_get(c, "expectFn");
	treq t;
	mc_match m;
	mc_status rc;
	bool ok = true;

	st->ns = ns;
	build_request(&t, json_object_get(c, "request"));
	rc = mc_index_match(idx, ns, &t.r, skip_spent, st, &m);
	if (expect == NULL || json_is_null(expect)) {
		if (rc != MC_ENOTFOUND) {
			print_error("%s: %s: expected no match, got %s\n", file, name,
				    rc == MC_OK ? json_string_value(json_object_get(m.mock, "id")) : "an error");
			ok = false;
		}
		dump_case(file, name, NULL);
		if (rc == MC_OK)
			mc_match_clear(&m);
		treq_free(&t);
		return ok;
	}
	if (rc != MC_OK) {
		print_error("%s: %s: expected a match, got none\n", file, name);
		treq_free(&t);
		return false;
	}

	{
		char key[300];
		const char *chain = json_string_value(json_object_get(m.mock, "chainId"));
		mc_stores stores = {0};
		mc_rng rng;
		mc_render_ctx ctx = {0};
		mc_error err = {0};
		json_int_t cursor;
		json_t *resp;

		mock_key(key, sizeof(key), ns, m.mock);
		json_object_set_new(st->uses, key, json_integer(json_integer_value(json_object_get(st->uses, key)) + 1));
		cursor = json_integer_value(json_object_get(st->cursors, key));
		stores.gs = store_for(st->gs, ns);
		stores.ms = store_for(st->ms, key);
		if (chain) {
			char ckey[300];

			snprintf(ckey, sizeof(ckey), "%s/%s", ns, chain);
			stores.cs = store_for(st->cs, ckey);
		}
		mc_rng_seed(&rng, json_is_integer(seed) ? (uint64_t)json_integer_value(seed) : 1);
		ctx.req = &t.r;
		ctx.path_params = m.path_params;
		ctx.stores = &stores;
		ctx.rng = &rng;
		ctx.now = CORPUS_NOW;
		{
			int64_t cur = cursor;

			resp = mc_resolve_response(m.mock, &ctx, &cur, &err);
			cursor = cur;
		}
		json_object_set_new(st->cursors, key, json_integer(cursor));
		dump_case(file, name, resp);
		if (resp == NULL) {
			print_error("%s: %s: resolve failed at %s: %s\n", file, name, err.path, err.msg);
			ok = false;
		} else {
			const char *k;
			json_t *v;

			if (!subset(expect, resp)) {
				char *w = json_dumps(expect, JSON_COMPACT | JSON_SORT_KEYS);
				char *g = json_dumps(resp, JSON_COMPACT | JSON_SORT_KEYS);

				print_error("%s: %s:\n  expected subset %s\n  got             %s\n", file, name, w, g);
				free(w);
				free(g);
				ok = false;
			}
			json_object_foreach ((json_t *)fns, k, v) {
				bool known;
				const json_t *val = mc_jsonpath_get(resp, k);

				if (!cc_check(json_string_value(v) ?: "", val, &known)) {
					char *g = val ? json_dumps(val, JSON_ENCODE_ANY) : NULL;

					print_error("%s: %s: %s %s is not %s%s\n", file, name, k, g ? g : "(absent)",
						    json_string_value(v) ?: "?", known ? "" : " (unknown predicate)");
					free(g);
					ok = false;
				}
			}
			json_decref(resp);
		}
	}
	mc_match_clear(&m);
	treq_free(&t);
	return ok;
}

static void
test_corpus_file(void **state)
{
	const char *file = *state;
	char path[512];
	json_error_t jerr;
	json_t *doc, *mocks, *cases, *mock, *c;
	mc_index *idx = mc_index_new();
	corpus_state st = {json_object(), json_object(), json_object(), json_object(), json_object(), NULL};
	size_t i;
	int failures = 0;

	snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, file);
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		fail_msg("%s: line %d: %s", file, jerr.line, jerr.text);
	mocks = json_object_get(doc, "mocks");
	cases = json_object_get(doc, "cases");
	assert_true(json_is_array(mocks));
	assert_true(json_is_array(cases));

	json_array_foreach (mocks, i, mock) {
		mc_error err = {0};

		if (mc_mock_validate(mock, &err) != MC_OK) {
			print_error("%s: mock %zu invalid at %s: %s\n", file, i, err.path, err.msg);
			failures++;
			continue;
		}
		if (mc_index_put(idx, mock, (int64_t)i + 1, &err) != MC_OK) {
			print_error("%s: mock %zu not indexed at %s: %s\n", file, i, err.path, err.msg);
			failures++;
		}
	}
	json_array_foreach (cases, i, c)
		if (!run_case(file, idx, &st, c))
			failures++;
	print_message("# %s: %zu mocks, %zu cases, %d failures\n", file, json_array_size(mocks),
		      json_array_size(cases), failures);

	json_decref(st.uses);
	json_decref(st.cursors);
	json_decref(st.gs);
	json_decref(st.cs);
	json_decref(st.ms);
	mc_index_free(idx);
	json_decref(doc);
	assert_int_equal(failures, 0);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(void)
{
	DIR *d = opendir(CORPUS_DIR);
	struct dirent *de;
	char *names[256];
	size_t n = 0;
	struct CMUnitTest tests[256];
	int rc;

	if (d == NULL) {
		fprintf(stderr, "cannot open %s (run from core/test)\n", CORPUS_DIR);
		return 1;
	}
	while ((de = readdir(d)) != NULL && n < 256) {
		size_t l = strlen(de->d_name);

		if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_names);
	if (getenv("CORPUS_DUMP") != NULL && (dump_fp = fopen(getenv("CORPUS_DUMP"), "w")) == NULL) {
		fprintf(stderr, "cannot write %s\n", getenv("CORPUS_DUMP"));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = names[i];
		tests[i].test_func = test_corpus_file;
		tests[i].initial_state = names[i];
	}
	rc = _cmocka_run_group_tests("corpus", tests, n, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	if (dump_fp != NULL)
		fclose(dump_fp);
	return rc;
}
