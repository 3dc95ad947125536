/*
 * cli.c - mockarty-apitest: runs a Postman v2.1 collection from the command line
 * with the API-test engine and writes JSON / JUnit / Markdown reports.
 *
 *   mockarty-apitest COLLECTION.json [-e ENV.json] [--json OUT|-] [--junit OUT]
 *                    [--markdown OUT] [--timeout MS]
 *
 * Constraint: used in CI, so the exit status is the contract: 0 all tests
 * passed, 1 some failed (or a request could not be sent), 2 bad input - with a
 * message naming the file and field.
 */
#include "tester_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(void)
{
	fprintf(stderr, "usage: mockarty-apitest COLLECTION.json [-e ENV.json] [--json OUT|-] [--junit OUT] "
	                "[--markdown OUT] [--timeout MS]\n");
}

static void
progress(void *ud, size_t done, size_t total, const json_t *rr)
{
	size_t k;
	json_t *a;
	long p = 0, f = 0, s = 0;
	const char *err = json_string_value(json_object_get(rr, "error"));

	(void)ud;
	json_array_foreach(json_object_get(rr, "assertions"), k, a) {
		if (json_is_true(json_object_get(a, "skipped")))
			s++;
		else if (json_is_true(json_object_get(a, "passed")))
			p++;
		else
			f++;
	}
	fprintf(stderr, "[%zu/%zu] %s %s%s%s -> %lld (%.0f ms) %ld passed, %ld failed, %ld skipped%s%s\n", done, total,
	        json_string_value(json_object_get(rr, "method")), json_string_value(json_object_get(rr, "folder")),
	        *json_string_value(json_object_get(rr, "folder")) ? "/" : "",
	        json_string_value(json_object_get(rr, "name")), (long long)json_integer_value(json_object_get(rr, "status")),
	        json_number_value(json_object_get(rr, "responseTimeMs")), p, f, s, err ? " - " : "", err ? err : "");
}

/* {k:v} from a Postman environment ({"values":[{key,value,enabled}]}) or a plain object. */
static json_t *
load_env(const char *path)
{
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je), *vals, *out;
	size_t i;
	json_t *e;

	if (doc == NULL) {
		fprintf(stderr, "mockarty-apitest: %s:%d:%d: %s\n", path, je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		fprintf(stderr, "mockarty-apitest: %s: expected an object (Postman environment or {name: value})\n", path);
		json_decref(doc);
		return NULL;
	}
	vals = json_object_get(doc, "values");
	if (!json_is_array(vals))
		return doc;
	out = json_object();
	json_array_foreach(vals, i, e) {
		const char *k = json_string_value(json_object_get(e, "key"));

		if (k == NULL) {
			fprintf(stderr, "mockarty-apitest: %s: values[%zu].key: expected a string\n", path, i);
			json_decref(out);
			json_decref(doc);
			return NULL;
		}
		if (json_is_false(json_object_get(e, "enabled")))
			continue;
		json_object_set(out, k, json_object_get(e, "value") ? json_object_get(e, "value") : json_string(""));
	}
	json_decref(doc);
	return out;
}

static bool
write_text(const char *path, const char *text)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "mockarty-apitest: %s: %s\n", path, strerror(errno));
		return false;
	}
	fputs(text, f);
	if (f != stdout)
		fclose(f);
	else
		fflush(f);
	return true;
}

int
main(int argc, char **argv)
{
	const char *coll_path = NULL, *env_path = NULL, *json_out = NULL, *junit_out = NULL, *md_out = NULL;
	long timeout = 0;
	json_t *coll, *env, *plan, *res, *tr;
	json_error_t je;
	char err[512];
	mt_run_opts ro = {0};
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage();
			return 0;
		}
		if (strcmp(a, "-e") == 0 || strcmp(a, "--environment") == 0)
			dst = &env_path;
		else if (strcmp(a, "--json") == 0)
			dst = &json_out;
		else if (strcmp(a, "--junit") == 0)
			dst = &junit_out;
		else if (strcmp(a, "--markdown") == 0)
			dst = &md_out;
		else if (strcmp(a, "--timeout") == 0) {
			char *end;

			if (i + 1 >= argc) {
				fprintf(stderr, "mockarty-apitest: --timeout: expected milliseconds\n");
				return 2;
			}
			errno = 0;
			timeout = strtol(argv[++i], &end, 10);
			if (*end || errno || timeout <= 0 || timeout > 3600000) {
				fprintf(stderr, "mockarty-apitest: --timeout: expected milliseconds (1..3600000), got '%s'\n", argv[i]);
				return 2;
			}
			continue;
		} else if (a[0] == '-' && strcmp(a, "-") != 0) {
			fprintf(stderr, "mockarty-apitest: unknown option %s\n", a);
			usage();
			return 2;
		} else if (coll_path == NULL) {
			coll_path = a;
			continue;
		} else {
			fprintf(stderr, "mockarty-apitest: unexpected argument %s\n", a);
			return 2;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "mockarty-apitest: %s: expected a file name\n", a);
			return 2;
		}
		*dst = argv[++i];
	}
	if (coll_path == NULL) {
		usage();
		return 2;
	}
	coll = json_load_file(coll_path, 0, &je);
	if (coll == NULL) {
		fprintf(stderr, "mockarty-apitest: %s:%d:%d: %s\n", coll_path, je.line, je.column, je.text);
		return 2;
	}
	env = env_path ? load_env(env_path) : json_object();
	if (env == NULL) {
		json_decref(coll);
		return 2;
	}
	plan = mt_compile(coll, err, sizeof(err));
	if (plan == NULL) {
		fprintf(stderr, "mockarty-apitest: %s: %s\n", coll_path, err);
		json_decref(coll);
		json_decref(env);
		return 2;
	}
	ro.timeout_ms = (int)timeout;
	ro.on_request = progress;
	res = mt_run(plan, env, &ro);
	if (res == NULL) {
		fprintf(stderr, "mockarty-apitest: out of memory\n");
		return 2;
	}
	tr = mt_result_as_test_run(res, json_string_value(json_object_get(plan, "name")));
	rc = json_integer_value(json_object_get(res, "failedTests")) > 0 ? 1 : 0;
	{
		size_t i;
		json_t *r;

		json_array_foreach(json_object_get(res, "results"), i, r) {
			if (json_integer_value(json_object_get(r, "status")) == 0)
				rc = 1; /* a request that was not answered is a failure even without tests */
		}
	}
	if (json_out) {
		char *s = json_dumps(res, JSON_INDENT(2));

		if (!s || !write_text(json_out, s) || (strcmp(json_out, "-") == 0 && !write_text("-", "\n")))
			rc = 2;
		free(s);
	}
	if (junit_out) {
		char *s = mt_report_junit(tr);

		if (!s || !write_text(junit_out, s))
			rc = 2;
		free(s);
	}
	if (md_out) {
		char *s = mt_report_markdown(tr);

		if (!s || !write_text(md_out, s))
			rc = 2;
		free(s);
	}
	fprintf(stderr, "%s: %lld requests, %lld tests: %lld passed, %lld failed, %lld skipped (%lld ms)\n",
	        json_string_value(json_object_get(plan, "name")), (long long)json_array_size(json_object_get(res, "results")),
	        (long long)json_integer_value(json_object_get(res, "totalTests")),
	        (long long)json_integer_value(json_object_get(res, "passedTests")),
	        (long long)json_integer_value(json_object_get(res, "failedTests")),
	        (long long)json_integer_value(json_object_get(res, "skippedTests")),
	        (long long)json_integer_value(json_object_get(res, "durationMs")));
	json_decref(tr);
	json_decref(res);
	json_decref(plan);
	json_decref(env);
	json_decref(coll);
	return rc;
}
