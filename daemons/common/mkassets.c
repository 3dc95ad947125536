/*
 * mkassets.c - build-time generator: turns the console's file trees (ui/) into a C source
 * holding one asset table, so the daemons serve their pages with nothing read from disk.
 *
 *   mkassets <node> <ui-root> <out.c>
 *
 * The table of <node> ("admin", "resolver", "runner", "genserver") holds every file of
 * <ui-root>/<node>/ under its own name, of <ui-root>/kit/ under "kit/..." and of
 * <ui-root>/vendor/ under "vendor/...", sorted by name (uiserve.c looks names up by bisection).
 * Per file: content type (uitypes.h), the gzip -9 bytes, the raw bytes and the strong ETag
 * (FNV-1a 64 of the content, and its length). Hidden files and editor backups are skipped.
 *
 * Constraints: a host program built from this file alone with zlib (no npm, nothing fetched);
 * the output is deterministic (gzip header without time or name) so identical trees give an
 * identical file; it is written to a temporary name and renamed, so a failed run never leaves
 * a half-written table for make to trust.
 */
#include "uitypes.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_ASSET_BYTES (8u << 20) /* far above any console file: a larger one is a mistake */

typedef struct asset {
	char *name; /* name in the table ("kit/kit.css") */
	char *file; /* path on disk */
} asset;

static asset *assets;
static size_t nassets, capassets;

static void
die(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "mkassets: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	exit(1);
}

static char *
join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);

	if (s == NULL)
		die("out of memory%s%s", "", "");
	snprintf(s, n, "%s%s%s", a, a[0] ? "/" : "", b);
	return s;
}

/* Adds every regular file under dir (recursively) to the list, named prefix/<relative path>. */
static void
walk(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		die("cannot read folder %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		char *path, *name;
		struct stat st;

		if (e->d_name[0] == '.' || e->d_name[n - 1] == '~')
			continue;
		path = join(dir, e->d_name);
		name = join(prefix, e->d_name);
		if (stat(path, &st) != 0)
			die("cannot stat %s: %s", path, strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			walk(path, name);
			free(path);
			free(name);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			free(path);
			free(name);
			continue;
		}
		if (strpbrk(name, "\"\\?#%") != NULL)
			die("asset name %s has a character URLs or C strings cannot carry as is%s", name, "");
		if (nassets == capassets) {
			capassets = capassets ? 2 * capassets : 64;
			assets = realloc(assets, capassets * sizeof(*assets));
			if (assets == NULL)
				die("out of memory%s%s", "", "");
		}
		assets[nassets].name = name;
		assets[nassets].file = path;
		nassets++;
	}
	closedir(d);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const asset *)a)->name, ((const asset *)b)->name);
}

/* Reads a whole file (malloc'd, *n its length). */
static unsigned char *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		die("cannot read %s: %s", path, strerror(errno));
	if ((unsigned long)len > MAX_ASSET_BYTES)
		die("%s is larger than 8 MB: not a console asset%s", path, "");
	buf = malloc((size_t)len + 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len)
		die("cannot read %s: %s", path, strerror(errno));
	fclose(f);
	*n = (size_t)len;
	return buf;
}

/* gzip -9 of raw (malloc'd, *n its length); the header carries no time and no name. */
static unsigned char *
gzip9(const unsigned char *raw, size_t len, size_t *n)
{
	z_stream z = {0};
	size_t cap = len + len / 8 + 128;
	unsigned char *out = malloc(cap);

	if (out == NULL || deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		die("zlib deflateInit2 failed%s%s", "", "");
	z.next_in = (unsigned char *)raw;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		die("zlib deflate failed%s%s", "", "");
	*n = z.total_out;
	deflateEnd(&z);
	return out;
}

static void
emit_bytes(FILE *o, const char *sym, const unsigned char *p, size_t n)
{
	fprintf(o, "static const unsigned char %s[%zu] = {", sym, n ? n : 1);
	if (n == 0)
		fputs("0", o);
	for (size_t i = 0; i < n; i++)
		fprintf(o, "%s%u,", i % 20 == 0 ? "\n\t" : "", p[i]);
	fputs("\n};\n", o);
}

int
main(int argc, char **argv)
{
	const char *node, *root, *out;
	char *tmp, *dir;
	FILE *o;
	size_t gz_total = 0;
	int has_index = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: mkassets <node> <ui-root> <out.c>\n");
		return 2;
	}
	node = argv[1];
	root = argv[2];
	out = argv[3];
	for (const char *p = node; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			die("node name %s must be lower-case letters, digits and _%s", node, "");
	dir = join(root, node);
	walk(dir, "");
	free(dir);
	dir = join(root, "kit");
	walk(dir, "kit");
	free(dir);
	dir = join(root, "vendor");
	walk(dir, "vendor");
	free(dir);
	qsort(assets, nassets, sizeof(*assets), by_name);
	for (size_t i = 0; i < nassets; i++)
		if (strcmp(assets[i].name, "index.html") == 0)
			has_index = 1;
	if (!has_index)
		die("%s/%s/index.html is missing: every node's tree needs its page", root, node);

	tmp = join(out, "");
	tmp = realloc(tmp, strlen(out) + 5);
	if (tmp == NULL)
		die("out of memory%s%s", "", "");
	snprintf(tmp, strlen(out) + 5, "%s.tmp", out);
	o = fopen(tmp, "w");
	if (o == NULL)
		die("cannot write %s: %s", tmp, strerror(errno));
	fprintf(o,
	        "/*\n * Generated by daemons/common/mkassets.c from ui/%s, ui/kit and ui/vendor: do not "
	        "edit.\n * The asset table of the \"%s\" pages (uiserve.h).\n */\n#include \"uiserve.h\"\n\n",
	        node, node);
	for (size_t i = 0; i < nassets; i++) {
		size_t rn, gn;
		unsigned char *raw = slurp(assets[i].file, &rn);
		unsigned char *gz = gzip9(raw, rn, &gn);
		char sym[32];

		snprintf(sym, sizeof(sym), "raw%zu", i);
		emit_bytes(o, sym, raw, rn);
		snprintf(sym, sizeof(sym), "gz%zu", i);
		emit_bytes(o, sym, gz, gn);
		gz_total += gn;
		/* reuse the name slot for the record line, written after the arrays */
		free(assets[i].file);
		if (asprintf(&assets[i].file,
		             "\t{\"%s\", \"%s\", gz%zu, %zu, raw%zu, %zu, \"\\\"%016llx-%zx\\\"\"},\n",
		             assets[i].name, ui_content_type(assets[i].name), i, gn, i, rn,
		             ui_content_hash(raw, rn), rn) < 0)
			die("out of memory%s%s", "", "");
		free(raw);
		free(gz);
	}
	fprintf(o, "\nstatic const ui_asset assets[] = {\n");
	for (size_t i = 0; i < nassets; i++)
		fputs(assets[i].file, o);
	fprintf(o,
	        "};\n\n/* %zu assets, %zu bytes gzipped in all */\nconst ui_table ui_assets_%s = {\"%s\", "
	        "assets, %zu, %zu};\n",
	        nassets, gz_total, node, node, nassets, gz_total);
	if (fclose(o) != 0 || rename(tmp, out) != 0)
		die("cannot write %s: %s", out, strerror(errno));
	free(tmp);
	return 0;
}
