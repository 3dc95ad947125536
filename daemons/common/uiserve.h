/*
 * uiserve.h - serving the web console and the node dashboards (ui/) over libmicrohttpd.
 *
 * The pages are compiled in: daemons/common/mkassets.c turns ui/<node>, ui/kit and ui/vendor
 * into one ui_table per binary (gzip -9 and raw bytes, content type, strong ETag). UI_DIR=/path/to/ui
 * makes a node read the same trees from disk at each request instead (developer switch).
 * docs/console.md describes the whole arrangement.
 */
#ifndef MOCKARTY_UISERVE_H
#define MOCKARTY_UISERVE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct ui_asset {
	const char *name;        /* "index.html", "pages/mocks.js", "kit/kit.css", "vendor/uplot.js" */
	const char *type;        /* Content-Type */
	const unsigned char *gz; /* gzip -9 of the content */
	size_t gz_len;
	const unsigned char *raw;
	size_t raw_len;
	const char *etag; /* strong, quoted */
} ui_asset;

typedef struct ui_table {
	const char *node;       /* the folder of ui/ holding the node's own pages */
	const ui_asset *assets; /* sorted by name (strcmp) */
	size_t n;
	size_t gz_total; /* sum of gz_len */
} ui_table;

/* The generated tables (build/ui/assets_<node>.c); each binary links the ones it serves. */
extern const ui_table ui_assets_admin, ui_assets_resolver, ui_assets_runner, ui_assets_genserver;

/*
 * Reads UI_DIR once at start-up. Unset or empty: the compiled-in tables are served. Set: it
 * must name a readable folder (its real path is kept); otherwise *err (cap bytes) names the
 * setting and the problem and false is returned - the daemon refuses to start.
 */
bool ui_dir_init(char *err, size_t cap);
/* The folder read at each request, or NULL when serving the compiled-in tables. */
const char *ui_dir(void);

/* How a node mounts its table. */
typedef struct ui_mount {
	const ui_table *table;
	bool spa; /* unknown names without a dot in their last segment answer index.html */
} ui_mount;

/*
 * Answers one request for rel, the decoded path below the mount point without its leading
 * slash ("" and "index.html" are the page; "kit/kit.css"; "mocks" for a client-side route).
 * GET and HEAD only (405 otherwise); If-None-Match -> 304; the gzip bytes when the client
 * accepts gzip, else the raw ones; Cache-Control: no-cache, the Content-Security-Policy,
 * X-Content-Type-Options and Referrer-Policy headers on every answer. A path with ".", ".."
 * or empty segments, a backslash or a NUL is refused with 400. Returns MHD's result of
 * queueing the answer.
 */
enum MHD_Result ui_serve(struct MHD_Connection *conn, const ui_mount *m, const char *method, const char *rel);

/*
 * The manifest of a table as JSON text (malloc'd; NULL when out of memory):
 * {"node", "assets":[{"name","type","gzipBytes","rawBytes","etag"}], "gzipBytes", "rawBytes",
 * "source":"embedded"|"UI_DIR"} - always the compiled-in table, which is what a release ships.
 */
char *ui_manifest_json(const ui_table *t);
/* Answers the manifest (200, application/json, the UI headers). */
enum MHD_Result ui_serve_manifest(struct MHD_Connection *conn, const ui_table *t);

/* The headers every UI answer carries (CSP, nosniff, referrer policy). */
void ui_add_security_headers(struct MHD_Response *r);

#endif /* MOCKARTY_UISERVE_H */
