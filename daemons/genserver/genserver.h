/*
 * genserver.h - the runtime entry point of a generated mock server.
 *
 * Both the generic binary (main.c: mockarty-gen-server --type openapi --spec FILE) and the
 * main.c that mockarty-server-generator writes into a standalone project call gs_main with
 * their defaults; everything else (configuration, mock sync, stateful resolution through the
 * admin node's coordinator, health, metrics, dashboard, the protocol module) is the frame's.
 * This header includes no folder of the genserver.
 */
#ifndef MOCKARTY_GENSERVER_H
#define MOCKARTY_GENSERVER_H

#include <stddef.h>

#define GS_RELEASE_ID "0.2.0"

/* Defaults baked in by the caller; the environment overrides each (docs/generator.md). */
typedef struct gs_defaults {
	const char *type;          /* server type (protocol module name or alias), e.g. "openapi" */
	const char *server_name;   /* SERVER_NAME: "" = every mock of the namespace */
	const char *ns;            /* NAMESPACE, "sandbox" when NULL */
	const char *admin_url;     /* HTTP_ADMIN_BASE_URL, "http://localhost:5770" when NULL */
	int http_port;             /* HTTP_PORT, 8080 when 0 */
	const char *api_token;     /* API_TOKEN, NULL = required from the environment */
	const unsigned char *spec; /* the spec (shown on the dashboard, served at /spec), or NULL */
	size_t spec_len;
	const char *spec_name; /* its file name (the content type of /spec follows its extension) */
} gs_defaults;

/*
 * Runs a generated server until SIGTERM/SIGINT. argv may hold --help (prints the variable
 * table); any other argument is refused. Returns the process exit code: 0 after a clean
 * stop, 2 for a configuration error (the variable named on stderr), 1 when start-up failed.
 */
int gs_main(const gs_defaults *d, int argc, char **argv);

#endif /* MOCKARTY_GENSERVER_H */
