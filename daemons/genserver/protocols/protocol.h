/*
 * protocols/protocol.h - the protocol module interface of the generated-server frame.
 *
 * protocols/ owns one module per server type (openapi.c today; grpc, mcp, graphql, soap, sse,
 * socket, kafka and rabbitmq each arrive as one more file and one more row of registry.c).
 * A module serves its protocol on the frame's port from the synced mock set: it may call
 * daemons/common, core and the node library's serving/ and link/ folders (the resolver's,
 * libmockarty-node.a), never the frame (frame/ calls it, through this struct only).
 */
#ifndef MOCKARTY_GENSERVER_PROTOCOL_H
#define MOCKARTY_GENSERVER_PROTOCOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "metrics.h"

typedef struct gs_protocol {
	const char *name;           /* the server type, as -server-type spells it */
	const char *const *aliases; /* other spellings, NULL-terminated (may be NULL) */
	const config_var *vars;     /* the module's own environment variables, for --help */
	size_t nvars;
	/* Starts serving on the configured bind address and port (rs_cfg); false = logged failure. */
	bool (*start)(void);
	/* Stops serving; joins what start began. */
	void (*stop)(void);
	/* The module's part of /health and the dashboard's status (new reference, may be NULL). */
	json_t *(*status_json)(void);
	/* Appends the module's own metric families to /metrics (may be NULL). */
	void (*metrics)(mt_buf *b);
} gs_protocol;

/* HTTP_ADMIN_BASE_URL, set by the frame before start (modules that read the admin's REST API). */
extern const char *gs_proto_admin_url;
/* The spec the server was given (a project's embedded one, or --spec), set by the frame before
 * start; NULL when none. The grpc module serves it when it is a descriptor set and the admin
 * node stores none for SERVER_NAME. */
extern const unsigned char *gs_proto_spec;
extern size_t gs_proto_spec_len;

/* The module serving type (its name or an alias), or NULL when this build has none. */
const gs_protocol *gs_protocol_find(const char *type);
/* True when type names a server type of the product (known, possibly not in this build). */
bool gs_protocol_known(const char *type);
/* The names of the modules of this build, comma-separated (for messages). */
const char *gs_protocol_available(void);

#endif /* MOCKARTY_GENSERVER_PROTOCOL_H */
