/*
 * main.c - mockarty-gen-server, the one generic binary of generated servers:
 *   mockarty-gen-server --type openapi|grpc [--spec FILE] [--name NAME]
 * loads the spec file (optional: shown at /spec) and runs the frame (genserver.h) with it,
 * exactly as a generated project's main.c does with its embedded spec.
 */
#include "genserver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads path whole (at most 64 MB); NULL with a message on stderr. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (f == NULL) {
		fprintf(stderr, "mockarty-gen-server: --spec: cannot open \"%s\"\n", path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= 64L << 20 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		fprintf(stderr, "mockarty-gen-server: --spec: cannot read \"%s\" (at most 64 MB)\n", path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	gs_defaults d = {.type = NULL, .server_name = "", .ns = NULL, .admin_url = NULL, .http_port = 0};
	char *rest[2] = {argv[0], NULL};
	int nrest = 1, rc;
	unsigned char *spec = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '-' && a[1] == '-')
			a++;
		if ((strcmp(a, "-type") == 0 || strcmp(a, "-spec") == 0 || strcmp(a, "-name") == 0) &&
		    i + 1 >= argc) {
			fprintf(stderr, "mockarty-gen-server: %s needs a value\n", argv[i]);
			return 2;
		}
		if (strcmp(a, "-type") == 0) {
			d.type = argv[++i];
		} else if (strcmp(a, "-spec") == 0) {
			d.spec_name = argv[++i];
		} else if (strcmp(a, "-name") == 0) {
			d.server_name = argv[++i];
		} else if (strcmp(a, "-help") == 0 || strcmp(a, "-h") == 0) {
			rest[nrest++] = argv[i];
			break;
		} else {
			fprintf(stderr,
			        "mockarty-gen-server: unknown argument \"%s\" (usage: mockarty-gen-server "
			        "--type openapi|grpc "
			        "[--spec FILE] [--name NAME]; the rest is environment, see --help)\n",
			        argv[i]);
			return 2;
		}
	}
	if (d.type == NULL)
		d.type = "openapi";
	if (d.spec_name != NULL && (spec = slurp(d.spec_name, &d.spec_len)) == NULL)
		return 2;
	d.spec = spec;
	rc = gs_main(&d, nrest, rest);
	free(spec);
	return rc;
}
