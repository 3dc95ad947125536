/*
 * frame/frame.h - the protocol-agnostic frame of a generated mock server.
 *
 * frame/ owns the configuration (gconfig.c: the guide's variables and their MOCKARTY_*
 * spellings, filling the node library's rs_cfg), the start-up and shutdown of the node
 * library (mock sync for (namespace, serverName), the Coordinator.Resolve pool, reports, the
 * dashboard port) and the frame's routes on the serving port: /health (generator-protocols
 * §4.4) and /spec (frame.c), and the dashboard page (dashpage.c). It may call protocols/ (through gs_protocol only), the node
 * library (daemons/resolver's link/, dashboard/ and serving/'s route hook), daemons/common
 * and core; protocols/ never calls it.
 */
#ifndef MOCKARTY_GENSERVER_FRAME_H
#define MOCKARTY_GENSERVER_FRAME_H

#include "genserver.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct gs_config {
	char *type;         /* the server type's module name */
	char *admin_url;    /* HTTP_ADMIN_BASE_URL / MOCKARTY_URL */
	char *server_name;  /* SERVER_NAME, "" = all of the namespace */
	char *proxy_target; /* PROXY_TARGET (accepted; see docs/generator.md) */
} gs_config;

extern gs_config gs_cfg;

/*
 * Fills gs_cfg and the node library's rs_cfg from d and the environment. Returns 0, or 2 with
 * err naming the variable (cfg then holds nothing to free).
 */
int gs_config_load(const gs_defaults *d, char *err, size_t errlen);
void gs_config_free(void);
void gs_config_help(const char *argv0, const gs_defaults *d);

/*
 * dashpage.c: the generated server's fields of the dashboard's /api/status (new reference),
 * set as the node library's dashboard_extra; the page itself is ui/genserver.
 */
json_t *gs_dashboard_extra(void);

#endif /* MOCKARTY_GENSERVER_FRAME_H */
