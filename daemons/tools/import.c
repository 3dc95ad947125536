/*
 * import.c - mockarty-import: converts an API description into mock JSON on
 * stdout, for scripts, tests and the server generator.
 *
 *   mockarty-import openapi <file|-> [--namespace ns] [--server-name s]
 *                   [--path-prefix p] [--validate] [--max-operations n]
 *   mockarty-import yaml <file|->      (the document as JSON, as the importer reads it)
 *
 * Prints the importer's result object ({"mocks","warnings","errors","info"},
 * docs/import.md) and exits 0; on bad input prints "mockarty-import: <pointer>:
 * <message>" on stderr and exits 1 (2 for usage errors).
 */
#include "mockarty/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT ((size_t)256 << 20)

static int
usage(void)
{
	fprintf(
	    stderr,
	    "usage: mockarty-import openapi <file|-> [--namespace ns] [--server-name s] "
	    "[--path-prefix p] [--validate] [--max-operations n]\n       mockarty-import yaml <file|->\n");
	return 2;
}

/* Reads all of f (at most MAX_INPUT bytes) into a new buffer; NULL on error. */
static char *
slurp(FILE *f, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, f);

		n += r;
		if (r == 0)
			break;
		if (n == cap) {
			char *nb;

			if (cap >= MAX_INPUT) {
				free(buf);
				fprintf(stderr, "mockarty-import: input larger than %zu bytes\n", MAX_INPUT);
				return NULL;
			}
			nb = realloc(buf, cap * 2);
			if (nb == NULL)
				free(buf);
			buf = nb;
			cap *= 2;
		}
	}
	if (buf == NULL || ferror(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

int
main(int argc, char **argv)
{
	json_t *opts, *res;
	const char *file = NULL;
	FILE *f;
	char *text;
	size_t len = 0;
	mc_error err;

	if (argc < 3 || (strcmp(argv[1], "openapi") != 0 && strcmp(argv[1], "yaml") != 0))
		return usage();
	opts = json_object();
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--validate") == 0)
			json_object_set_new(opts, "validate", json_true());
		else if (i + 1 < argc && strcmp(a, "--namespace") == 0)
			json_object_set_new(opts, "namespace", json_string(argv[++i]));
		else if (i + 1 < argc && strcmp(a, "--server-name") == 0)
			json_object_set_new(opts, "serverName", json_string(argv[++i]));
		else if (i + 1 < argc && strcmp(a, "--path-prefix") == 0)
			json_object_set_new(opts, "pathPrefix", json_string(argv[++i]));
		else if (i + 1 < argc && strcmp(a, "--max-operations") == 0)
			json_object_set_new(opts, "maxOperations", json_integer(atoll(argv[++i])));
		else if (a[0] == '-' && a[1] == '-') {
			json_decref(opts);
			return usage();
		} else if (file == NULL)
			file = a;
		else {
			json_decref(opts);
			return usage();
		}
	}
	if (file == NULL) {
		json_decref(opts);
		return usage();
	}
	f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
	if (f == NULL) {
		perror(file);
		json_decref(opts);
		return 1;
	}
	text = slurp(f, &len);
	if (f != stdin)
		fclose(f);
	if (text == NULL) {
		fprintf(stderr, "mockarty-import: cannot read %s\n", file);
		json_decref(opts);
		return 1;
	}
	if (strcmp(argv[1], "yaml") == 0)
		res = mc_yaml_to_json(text, len, NULL, &err);
	else
		res = mc_import_openapi(text, len, opts, &err);
	free(text);
	json_decref(opts);
	if (res == NULL) {
		fprintf(stderr, "mockarty-import: %s: %s\n", err.path[0] ? err.path : "/", err.msg);
		return 1;
	}
	if (json_dumpf(res, stdout, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15)) != 0) {
		json_decref(res);
		return 1;
	}
	fputc('\n', stdout);
	json_decref(res);
	return 0;
}
