/*
 * uitypes.h - the Content-Type of a console or dashboard asset, from its file name.
 *
 * Shared by the build-time generator (mkassets.c, which records the type in the asset table)
 * and by uiserve.c (which needs the same answer for files read from UI_DIR), so an asset is
 * served with one type whether it is embedded or read from disk. Header-only: mkassets is a
 * host program built alone, without the daemons' libraries.
 */
#ifndef MOCKARTY_UITYPES_H
#define MOCKARTY_UITYPES_H

#include <string.h>

/*
 * The Content-Type for path, decided by its extension (case-sensitive: asset names are ours);
 * "application/octet-stream" when the extension is unknown. Returns a static string.
 */
static inline const char *
ui_content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".json", "application/json"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".ico", "image/x-icon"},
	    {".woff2", "font/woff2"},
	    {".txt", "text/plain; charset=utf-8"},
	    {".md", "text/markdown; charset=utf-8"},
	    {".map", "application/json"},
	};
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');

	if (dot != NULL)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* FNV-1a 64-bit hash of n bytes: the strong ETag of an asset is this hash in hex, quoted. */
static inline unsigned long long
ui_content_hash(const unsigned char *p, size_t n)
{
	unsigned long long h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

#endif /* MOCKARTY_UITYPES_H */
