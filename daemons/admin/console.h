/*
 * console.h - the web console on the admin node's HTTP port (console.c).
 */
#ifndef MOCKARTY_ADMIN_CONSOLE_H
#define MOCKARTY_ADMIN_CONSOLE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <string.h>

/*
 * True when the decoded path belongs to the console's pages: "/ui" and "/ui/..." except the
 * JSON API under "/ui/api" (authenticated REST routes, which keep precedence). A few byte
 * compares: server.c asks only after the mock-traffic fast path has been ruled out.
 */
static inline bool
console_path(const char *path)
{
	if (strncmp(path, "/ui", 3) != 0 || (path[3] != '\0' && path[3] != '/'))
		return false;
	return !(strncmp(path + 3, "/api", 4) == 0 && (path[7] == '\0' || path[7] == '/'));
}

/*
 * Answers a console request (GET/HEAD, no token needed: the pages are public, the data they
 * fetch is not): "/ui" redirects to "/ui/", "/ui/assets.json" is the manifest of the
 * compiled-in assets, anything else is uiserve.c's (index fallback for client-side routes).
 */
enum MHD_Result console_serve(struct MHD_Connection *conn, const char *method, const char *path);

#endif /* MOCKARTY_ADMIN_CONSOLE_H */
