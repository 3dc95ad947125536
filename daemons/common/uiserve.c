/*
 * uiserve.c - serves the web console (admin node, /ui/) and the node dashboards (resolver,
 * runner, generated servers) from a compiled-in asset table or, with UI_DIR, from disk.
 *
 * Constraints: the pages run under a strict Content-Security-Policy (script-src 'self', no
 * outside host), so every answer carries it; names are not content-hashed, so everything is
 * "Cache-Control: no-cache" and the strong ETags make revalidation a 304 without a body; the
 * embedded bytes are static, so answers point at them (MHD_RESPMEM_PERSISTENT) and serving
 * an asset allocates nothing but MHD's response. Nothing here is on the mock-traffic path:
 * callers route to it only for their UI prefixes. UI_DIR is a developer switch: files are
 * read per request, identity encoded, with the same types, ETags and headers.
 */
#include "uiserve.h"
#include "uitypes.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define UI_CSP                                                                                               \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "                    \
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "                          \
	"frame-ancestors 'none'; form-action 'self'"
#define UI_DISK_MAX (16u << 20) /* a file read from UI_DIR larger than this is refused */

static char *dir_real; /* realpath of UI_DIR, NULL when serving the tables */

bool
ui_dir_init(char *err, size_t cap)
{
	const char *d = getenv("UI_DIR");
	struct stat st;

	free(dir_real);
	dir_real = NULL;
	if (d == NULL || d[0] == '\0')
		return true;
	dir_real = realpath(d, NULL);
	if (dir_real == NULL || stat(dir_real, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    access(dir_real, R_OK | X_OK) != 0) {
		snprintf(err, cap, "UI_DIR=%s: %s (expected the ui/ folder of a source tree)", d,
		         dir_real == NULL ? strerror(errno) : "not a readable folder");
		free(dir_real);
		dir_real = NULL;
		return false;
	}
	log_info("UI_DIR=%s: pages are read from disk at each request (development mode)", dir_real);
	return true;
}

const char *
ui_dir(void)
{
	return dir_real;
}

void
ui_add_security_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy", UI_CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result
queue(struct MHD_Connection *conn, unsigned int status, struct MHD_Response *r)
{
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A short text answer (errors) with the UI headers. */
static enum MHD_Result
queue_text(struct MHD_Connection *conn, unsigned int status, const char *msg)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ui_add_security_headers(r);
	if (status == 405)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	return queue(conn, status, r);
}

/* True when rel is a safe relative name: no ".", ".." or empty segment, no backslash. */
static bool
safe_name(const char *rel)
{
	const char *s = rel;

	if (strchr(rel, '\\') != NULL || rel[0] == '/')
		return false;
	while (*s) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		if (n == 0 && e != NULL && e[1] != '\0') /* "a//b" (a trailing "/" is allowed) */
			return false;
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (e == NULL)
			break;
		s = e + 1;
	}
	return true;
}

/* True when the last segment of rel has a dot: it names a file, not a client-side route. */
static bool
looks_like_asset(const char *rel)
{
	const char *slash = strrchr(rel, '/');

	return strchr(slash ? slash + 1 : rel, '.') != NULL;
}

static const ui_asset *
table_find(const ui_table *t, const char *name)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, t->assets[mid].name);

		if (c == 0)
			return &t->assets[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* True when the If-None-Match header value lists etag (or is "*"); weak forms compare too. */
static bool
etag_matches(const char *inm, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = inm;

	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, el) == 0 && (p[el] == '\0' || p[el] == ',' || p[el] == ' '))
			return true;
		p = strchr(p, ',');
	}
	return false;
}

/* True when Accept-Encoding allows gzip (a "gzip" token without q=0). */
static bool
accepts_gzip(const char *ae)
{
	const char *p = ae;

	while (p && *p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *q;

		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		if ((n >= 4 && strncasecmp(p, "gzip", 4) == 0 && (n == 4 || p[4] == ';' || p[4] == ' ')) ||
		    (n >= 1 && p[0] == '*' && (n == 1 || p[1] == ';' || p[1] == ' '))) {
			q = memchr(p, '=', n);
			if (q == NULL || strtod(q + 1, NULL) > 0)
				return true;
		}
		p = e ? e + 1 : NULL;
	}
	return false;
}

/*
 * Reads dir_real/<tree path of rel> into a malloc'd buffer. rel "kit/.." and "vendor/.." map
 * to ui/kit and ui/vendor, anything else to ui/<node>/. The real path must stay inside
 * UI_DIR (a symbolic link out of it is refused like ".."). NULL when absent or unreadable.
 */
static unsigned char *
disk_read(const ui_table *t, const char *rel, size_t *len)
{
	char path[PATH_MAX], *real;
	size_t dl = strlen(dir_real);
	unsigned char *buf = NULL;
	struct stat st;
	int fd, n;

	if (strncmp(rel, "kit/", 4) == 0 || strncmp(rel, "vendor/", 7) == 0)
		n = snprintf(path, sizeof(path), "%s/%s", dir_real, rel);
	else
		n = snprintf(path, sizeof(path), "%s/%s/%s", dir_real, t->node, rel);
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	real = realpath(path, NULL);
	if (real == NULL)
		return NULL;
	if (strncmp(real, dir_real, dl) != 0 || real[dl] != '/') {
		log_warn("UI_DIR: %s leads out of %s; refused", path, dir_real);
		free(real);
		return NULL;
	}
	fd = open(real, O_RDONLY | O_CLOEXEC);
	free(real);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= UI_DISK_MAX) {
		size_t got = 0;

		buf = malloc((size_t)st.st_size + 1);
		while (buf != NULL && got < (size_t)st.st_size) {
			ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (buf != NULL && got != (size_t)st.st_size) {
			free(buf);
			buf = NULL;
		}
		*len = got;
	}
	close(fd);
	return buf;
}

/* The common headers of an asset answer. */
static void
asset_headers(struct MHD_Response *r, const char *type, const char *etag, bool vary)
{
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "ETag", etag);
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	if (vary)
		MHD_add_response_header(r, "Vary", "Accept-Encoding");
	ui_add_security_headers(r);
}

/* Answers name from UI_DIR; false when the file is not there (the caller decides 404 or index). */
static bool
serve_disk(struct MHD_Connection *conn, const ui_table *t, const char *name, enum MHD_Result *ret)
{
	size_t len = 0;
	unsigned char *buf = disk_read(t, name, &len);
	char etag[48];
	const char *inm;
	struct MHD_Response *r;

	if (buf == NULL)
		return false;
	snprintf(etag, sizeof(etag), "\"%016llx-%zx\"", ui_content_hash(buf, len), len);
	inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (inm != NULL && etag_matches(inm, etag)) {
		free(buf);
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (r != NULL)
			asset_headers(r, ui_content_type(name), etag, false);
		*ret = queue(conn, MHD_HTTP_NOT_MODIFIED, r);
		return true;
	}
	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(buf);
		*ret = MHD_NO;
		return true;
	}
	asset_headers(r, ui_content_type(name), etag, false);
	*ret = queue(conn, MHD_HTTP_OK, r);
	return true;
}

static enum MHD_Result
serve_asset(struct MHD_Connection *conn, const ui_asset *a)
{
	const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	bool gz;
	struct MHD_Response *r;

	if (inm != NULL && etag_matches(inm, a->etag)) {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (r != NULL)
			asset_headers(r, a->type, a->etag, true);
		return queue(conn, MHD_HTTP_NOT_MODIFIED, r);
	}
	gz =
	    accepts_gzip(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING));
	r = gz ? MHD_create_response_from_buffer(a->gz_len, (void *)a->gz, MHD_RESPMEM_PERSISTENT)
	       : MHD_create_response_from_buffer(a->raw_len, (void *)a->raw, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	asset_headers(r, a->type, a->etag, true);
	if (gz)
		MHD_add_response_header(r, "Content-Encoding", "gzip");
	return queue(conn, MHD_HTTP_OK, r);
}

enum MHD_Result
ui_serve(struct MHD_Connection *conn, const ui_mount *m, const char *method, const char *rel)
{
	const ui_table *t = m->table;
	const char *name = rel;
	const ui_asset *a;
	enum MHD_Result ret;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return queue_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		                  "method not allowed: the pages answer GET and HEAD\n");
	if (!safe_name(rel))
		return queue_text(conn, MHD_HTTP_BAD_REQUEST,
		                  "bad path: \".\", \"..\" and empty segments are refused\n");
	if (name[0] == '\0' || name[strlen(name) - 1] == '/')
		name = "index.html"; /* "/ui/" and "/ui/settings/" alike */
	if (dir_real != NULL) {
		if (serve_disk(conn, t, name, &ret))
			return ret;
		if (m->spa && !looks_like_asset(name) && serve_disk(conn, t, "index.html", &ret))
			return ret;
		return queue_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	}
	a = table_find(t, name);
	if (a == NULL && m->spa && !looks_like_asset(name))
		a = table_find(t, "index.html");
	if (a == NULL)
		return queue_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	return serve_asset(conn, a);
}

char *
ui_manifest_json(const ui_table *t)
{
	size_t cap = 256, len = 0, raw = 0;
	char *s;

	for (size_t i = 0; i < t->n; i++)
		cap +=
		    100 + strlen(t->assets[i].name) + strlen(t->assets[i].type) + strlen(t->assets[i].etag);
	s = malloc(cap);
	if (s == NULL)
		return NULL;
	len += (size_t)snprintf(s + len, cap - len, "{\"node\":\"%s\",\"source\":\"%s\",\"assets\":[",
	                        t->node, dir_real ? "UI_DIR" : "embedded");
	for (size_t i = 0; i < t->n; i++) {
		const ui_asset *a = &t->assets[i];

		/* names and types hold no quote or backslash (mkassets refuses them); the ETag's quotes are
		 * escaped */
		len +=
		    (size_t)snprintf(s + len, cap - len,
		                     "%s{\"name\":\"%s\",\"type\":\"%s\",\"gzipBytes\":%zu,\"rawBytes\":%zu,"
		                     "\"etag\":\"\\\"%.*s\\\"\"}",
		                     i ? "," : "", a->name, a->type, a->gz_len, a->raw_len,
		                     (int)(strlen(a->etag) - 2), a->etag + 1);
		raw += a->raw_len;
	}
	snprintf(s + len, cap - len, "],\"gzipBytes\":%zu,\"rawBytes\":%zu}", t->gz_total, raw);
	return s;
}

enum MHD_Result
ui_serve_manifest(struct MHD_Connection *conn, const ui_table *t)
{
	char *s = ui_manifest_json(t);
	struct MHD_Response *r;

	if (s == NULL)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	ui_add_security_headers(r);
	return queue(conn, MHD_HTTP_OK, r);
}
