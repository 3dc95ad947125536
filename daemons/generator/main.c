/*
 * main.c - mockarty-server-generator: generates a standalone mock server project from an API
 * specification and, with -create-mocks, creates the spec's mocks on the admin node.
 *
 *   mockarty-server-generator -server-type openapi -input ./api/openapi.yaml \
 *       -output ./generated-server -create-mocks -mockarty-url http://localhost:5770 \
 *       -api-token mk_your_token
 *
 *   mockarty-server-generator -server-type grpc -input ./protos/shop/v1/shop.proto \
 *       -import-path ./protos -server-name shop -output ./shop-server -create-mocks ...
 *
 * Every flag takes one or two dashes and "-flag value" or "-flag=value". Checks happen before
 * anything is written: a bad flag, a missing input or a server type this build has no module
 * for is exit code 2 with the flag named, never a partial project. See docs/generator.md.
 */
#include "generator.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef MOCKARTY_RUNTIME_DIR
#define MOCKARTY_RUNTIME_DIR "."
#endif

/* every server type of the product, with its aliases; the rows of available are in this build */
static const char *const available[][4] = {{"openapi", "http", "rest", "swagger"},
                                           {"grpc", NULL, NULL, NULL}};
static const char *const future[] = {"mcp",    "graphql", "soap",  "sse",
                                     "websocket", "socket", "kafka", "rabbitmq"};

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mockarty-server-generator -server-type TYPE -input SPEC -output DIR [options]\n"
	    "\n"
	    "Writes a standalone mock server project for SPEC into DIR (build it with make).\n"
	    "Flags (one or two dashes; \"-flag value\" or \"-flag=value\"):\n"
	    "  -server-type, -type TYPE   server type: openapi or grpc (this build); mcp, graphql, soap,\n"
	    "                             sse, websocket (socket), kafka, rabbitmq arrive later\n"
	    "  -input FILE                the API specification: OpenAPI/Swagger .yaml or .json; for grpc\n"
	    "                             a .proto file (compiled with protoc) or a FileDescriptorSet\n"
	    "  -import-path DIR           grpc: the root the .proto's imports are relative to (default\n"
	    "                             the input's folder; /usr/include is added for the well-known types)\n"
	    "  -output DIR                the project directory (created; an existing one must be empty)\n"
	    "  -create-mocks              create/merge the spec's mocks on the admin node\n"
	    "  -mockarty-url URL          admin node URL (default http://localhost:5770); baked into the\n"
	    "                             project as the default HTTP_ADMIN_BASE_URL\n"
	    "  -api-token TOKEN           mk_ user token for -create-mocks (or API_TOKEN); never written\n"
	    "                             into the project\n"
	    "  -namespace NS              namespace of the mocks (default sandbox)\n"
	    "  -server-name NAME          serverName of the mocks and of the server (default: none, the\n"
	    "                             server serves every mock of its namespace; grpc: required, the\n"
	    "                             name its descriptor set is stored under)\n"
	    "  -path-prefix PREFIX        pathPrefix of the created mocks (default none; not for grpc)\n"
	    "  -port PORT                 default HTTP_PORT of the server (default 8080)\n"
	    "  -help                      this text\n"
	    "Environment: MOCKARTY_RUNTIME_DIR overrides where the runtime sources are copied from\n"
	    "(built in: %s).\n",
	    MOCKARTY_RUNTIME_DIR);
}

/* The module name for type (folding aliases), or NULL. */
static const char *
fold_type(const char *type)
{
	for (size_t i = 0; i < sizeof(available) / sizeof(available[0]); i++)
		for (size_t k = 0; k < 4 && available[i][k]; k++)
			if (strcasecmp(available[i][k], type) == 0)
				return available[i][0];
	return NULL;
}

static bool
is_future(const char *type)
{
	for (size_t i = 0; i < sizeof(future) / sizeof(future[0]); i++)
		if (strcasecmp(future[i], type) == 0)
			return true;
	return false;
}

static int
fail(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "mockarty-server-generator: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n(see mockarty-server-generator -help)\n");
	return 2;
}

int
main(int argc, char **argv)
{
	gen_opts o = {.mockarty_url = "http://localhost:5770",
	              .ns = "sandbox",
	              .server_name = "",
	              .path_prefix = "",
	              .port = 8080};
	const char *type = NULL, *port = NULL;
	char *spec;
	size_t len = 0;
	bool ok;

	o.runtime_dir = getenv("MOCKARTY_RUNTIME_DIR") && getenv("MOCKARTY_RUNTIME_DIR")[0]
	                    ? getenv("MOCKARTY_RUNTIME_DIR")
	                    : MOCKARTY_RUNTIME_DIR;
	if (argc > 1 && (strcmp(argv[1], "orchestrator") == 0 || strcmp(argv[1], "experimental-ui") == 0))
		return gen_orchestrator_main(argc - 1, argv + 1, strcmp(argv[1], "experimental-ui") == 0);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *val = NULL;
		char name[64];
		size_t n;

		if (a[0] != '-' || a[1] == '\0')
			return fail("unexpected argument \"%s\"%s: flags start with - or --", a, "");
		a += a[1] == '-' ? 2 : 1;
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		if (n >= sizeof(name))
			return fail("unknown flag \"%s\"%s", argv[i], "");
		memcpy(name, a, n);
		name[n] = '\0';
		if (strcmp(name, "help") == 0 || strcmp(name, "h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(name, "create-mocks") == 0) {
			if (eq && strcmp(eq + 1, "true") != 0 && strcmp(eq + 1, "false") != 0)
				return fail("-create-mocks: expected true or false, got \"%s\"%s", eq + 1,
				            "");
			o.create_mocks = eq == NULL || strcmp(eq + 1, "true") == 0;
			continue;
		}
		if (strcmp(name, "server-type") != 0 && strcmp(name, "type") != 0 &&
		    strcmp(name, "input") != 0 && strcmp(name, "output") != 0 &&
		    strcmp(name, "mockarty-url") != 0 && strcmp(name, "api-token") != 0 &&
		    strcmp(name, "namespace") != 0 && strcmp(name, "server-name") != 0 &&
		    strcmp(name, "port") != 0 && strcmp(name, "path-prefix") != 0 &&
	    strcmp(name, "import-path") != 0)
			return fail("unknown flag \"%s\"%s", argv[i], "");
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return fail("flag -%s needs a value%s", name, "");
		if (strcmp(name, "server-type") == 0 || strcmp(name, "type") == 0)
			type = val;
		else if (strcmp(name, "input") == 0)
			o.input = val;
		else if (strcmp(name, "output") == 0)
			o.output = val;
		else if (strcmp(name, "mockarty-url") == 0)
			o.mockarty_url = val;
		else if (strcmp(name, "api-token") == 0)
			o.api_token = val;
		else if (strcmp(name, "namespace") == 0)
			o.ns = val;
		else if (strcmp(name, "server-name") == 0)
			o.server_name = val;
		else if (strcmp(name, "path-prefix") == 0)
			o.path_prefix = val;
		else if (strcmp(name, "import-path") == 0)
			o.import_path = val;
		else
			port = val;
	}
	if (type == NULL)
		return fail("-server-type is required%s%s (openapi and grpc are available in this build)", "", "");
	o.type = fold_type(type);
	if (o.type == NULL) {
		if (is_future(type))
			return fail("not available yet in this build: %s (available: openapi, grpc)%s", type, "");
		return fail(
		    "-server-type: unknown server type \"%s\"%s (openapi, grpc, mcp, graphql, soap, sse, "
		    "websocket/socket, kafka, rabbitmq)",
		    type, "");
	}
	if (o.input == NULL)
		return fail("-input is required: the spec file%s%s", "", "");
	if (o.output == NULL)
		return fail("-output is required: the project directory to write%s%s", "", "");
	if (port != NULL) {
		char *end;
		long p = strtol(port, &end, 10);

		if (*port == '\0' || *end != '\0' || p < 1 || p > 65535)
			return fail("-port: expected 1 to 65535, got \"%s\"%s", port, "");
		o.port = (int)p;
	}
	if (strncmp(o.mockarty_url, "http://", 7) != 0 && strncmp(o.mockarty_url, "https://", 8) != 0)
		return fail("-mockarty-url: expected an http:// or https:// URL, got \"%s\"%s",
		            o.mockarty_url, "");
	if (o.ns[0] == '\0' || strpbrk(o.ns, " /\"\\") != NULL)
		return fail("-namespace: \"%s\" is not a namespace name%s", o.ns, "");
	if (strpbrk(o.server_name, "\"\\\n") != NULL)
		return fail("-server-name: \"%s\" may not hold quotes, backslashes or newlines%s",
		            o.server_name, "");
	if (strcmp(o.type, "grpc") == 0) {
		if (o.server_name[0] == '\0')
			return fail("-server-name is required for server type grpc: the name its descriptor "
			            "set is stored and served under%s%s",
			            "", "");
		if (strpbrk(o.server_name, " /?#%&") != NULL)
			return fail("-server-name: \"%s\" may not hold spaces or / ? # %% &%s", o.server_name, "");
		if (o.path_prefix[0] != '\0')
			return fail("-path-prefix: not used by server type grpc (its mocks are matched by service "
			            "and method)%s%s",
			            "", "");
	} else if (o.import_path != NULL) {
		return fail("-import-path: only for server type grpc (got %s)%s", o.type, "");
	}
	if (o.api_token == NULL)
		o.api_token = getenv("API_TOKEN") && getenv("API_TOKEN")[0] ? getenv("API_TOKEN")
		                                                            : getenv("MOCKARTY_API_TOKEN");
	if (o.create_mocks && (o.api_token == NULL || o.api_token[0] == '\0'))
		return fail("-create-mocks needs -api-token (an mk_ user token of role editor or admin)%s%s",
		            "", "");
	spec = gen_read_file(o.input, &len);
	if (spec == NULL)
		return 2;
	if (len == 0) {
		free(spec);
		return fail("-input: \"%s\" is empty%s", o.input, "");
	}
	if (strcmp(o.type, "grpc") == 0 && !gen_grpc_set(&o)) {
		free(spec);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ok = gen_write_project(&o, spec, len);
	if (ok)
		printf("project written to %s (cd %s && make && make run)\n", o.output, o.output);
	if (ok && o.create_mocks)
		ok = gen_create_mocks(&o, spec, len);
	free(spec);
	free(o.set);
	curl_global_cleanup();
	return ok ? 0 : 1;
}
