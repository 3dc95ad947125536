/*
 * generator.h - mockarty-server-generator: the options of one run and the two steps it takes.
 *
 * main.c parses the flags (every spelling of the guide and the public material) into gen_opts;
 * project.c writes the standalone project; admin.c asks the admin node to create the mocks
 * (-create-mocks). project.c and admin.c call nothing of each other; main.c calls both.
 */
#ifndef MOCKARTY_GENERATOR_H
#define MOCKARTY_GENERATOR_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gen_opts {
	const char *type;         /* -server-type: the module name ("openapi") after alias folding */
	const char *input;        /* -input: the spec file */
	const char *output;       /* -output: the project directory (created; must be empty if it exists) */
	bool create_mocks;        /* -create-mocks */
	const char *mockarty_url; /* -mockarty-url, default http://localhost:5770 */
	const char *api_token;    /* -api-token (or API_TOKEN / MOCKARTY_API_TOKEN) */
	const char *ns;           /* -namespace, default sandbox */
	const char *server_name;  /* -server-name, default "" (every mock of the namespace) */
	const char *path_prefix;  /* -path-prefix, default "" */
	int port;                 /* -port, default 8080 */
	const char *runtime_dir;  /* the repository the runtime is copied from */
	const char *import_path;  /* -import-path (grpc): protoc's -I for a .proto input; default its folder */
	/* grpc: the FileDescriptorSet (compiled from a .proto input, or the input itself), what
	 * the project embeds and -create-mocks uploads; NULL for other types */
	unsigned char *set;
	size_t set_len;
} gen_opts;

/* Reads path whole into a malloc'd NUL-terminated buffer; NULL with a message on stderr. */
char *gen_read_file(const char *path, size_t *len);

/*
 * grpc: fills o->set from o->input: a .proto file is compiled with protoc
 * (--include_imports, -I o->import_path or the input's folder, and /usr/include for the
 * well-known types), any other file must be a FileDescriptorSet. Runs before anything is
 * written. Returns true, or false with the reason (protoc's own errors) on stderr.
 */
bool gen_grpc_set(gen_opts *o);

/*
 * Writes the project into o->output from the spec text (len bytes). Returns true, or false
 * with the reason on stderr; on failure the output directory it created is removed again, so
 * a failed run never leaves a partial project.
 */
bool gen_write_project(const gen_opts *o, const char *spec, size_t len);

/*
 * POSTs the spec to the admin node's /api/v1/generators/<type> (api-compat §2.7: spec,
 * namespace, serverName, pathPrefix) and prints its answer's counts. Returns true on a 2xx.
 */
bool gen_create_mocks(const gen_opts *o, const char *spec, size_t len);

/*
 * `orchestrator` and `experimental-ui` modes (orchestrator.c): argv[0] is the mode word, the
 * rest its flags. Runs until SIGTERM/SIGINT; returns the exit code (2 for a bad flag).
 */
int gen_orchestrator_main(int argc, char **argv, bool ui_only);

#endif /* MOCKARTY_GENERATOR_H */
