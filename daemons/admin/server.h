/*
 * server.h - the admin node's HTTP front (server.c): libmicrohttpd, routing
 * between the REST table (rest/routes.c) and mock traffic (serving/).
 */
#ifndef MOCKARTY_ADMIN_SERVER_H
#define MOCKARTY_ADMIN_SERVER_H

#include <stdbool.h>

bool server_start(void);
void server_stop(void); /* stops accepting, lets in-flight requests finish */

#endif /* MOCKARTY_ADMIN_SERVER_H */
