/*
 * protocols/registry.c - the server types of the product and the modules of this build.
 *
 * The product names nine server types (the guide's Server Generator list); a type is "known"
 * when it is one of them and "available" when this build links its module. Keeping both lists
 * here lets the CLI and the frame answer "not available yet in this build" for a known type
 * and "unknown server type" for a typo, from one table.
 */
#include "protocols/protocol.h"

#include <string.h>
#include <strings.h>

extern const gs_protocol gs_openapi_protocol;
extern const gs_protocol gs_grpc_protocol;

static const gs_protocol *const modules[] = {&gs_openapi_protocol, &gs_grpc_protocol};

/* every type of the product, with its aliases ("socket" is the websocket type's other name) */
static const char *const known[] = {"openapi", "http", "rest",      "grpc",   "mcp",   "graphql",
                                    "soap",    "sse",  "websocket", "socket", "kafka", "rabbitmq"};

const gs_protocol *
gs_protocol_find(const char *type)
{
	if (type == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		if (strcasecmp(modules[i]->name, type) == 0)
			return modules[i];
		for (const char *const *a = modules[i]->aliases; a && *a; a++)
			if (strcasecmp(*a, type) == 0)
				return modules[i];
	}
	return NULL;
}

bool
gs_protocol_known(const char *type)
{
	for (size_t i = 0; type && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcasecmp(known[i], type) == 0)
			return true;
	return false;
}

const char *
gs_protocol_available(void)
{
	return "openapi, grpc";
}
