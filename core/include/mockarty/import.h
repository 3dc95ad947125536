/*
 * import.h - turning API descriptions into mocks: YAML/JSON text into jansson
 * (yaml_json.c) and OpenAPI / Swagger documents into mock documents of the
 * model validate.c checks (openapi.c). Shared by the extension, the admin node
 * and the mockarty-import / generator tools; PostgreSQL-free like core.h.
 */
#ifndef MOCKARTY_IMPORT_H
#define MOCKARTY_IMPORT_H

#include "mockarty/core.h"

/* Limits of the YAML/JSON reader (yaml_json.c). */
#define MC_YAML_MAX_DEPTH 256             /* nesting of collections */
#define MC_YAML_MIN_ALIAS_BUDGET 1000000  /* nodes aliases may expand to, at least */
#define MC_YAML_MAX_ALIAS_BUDGET 20000000 /* ... and at most */
#define MC_IMPORT_DEFAULT_MAX_OPERATIONS 20000

/*
 * Parses YAML 1.2 (or JSON, a subset) text of len bytes into a new jansson
 * value, using the YAML 1.2 core schema for plain scalars (null/~, true/false,
 * decimal/0o/0x integers, floats; never 1.1's yes/no/on/off, sexagesimals or
 * timestamps). Quoted and block scalars are strings.
 *
 * Integers beyond the int64 range are kept exactly as JSON strings holding the
 * literal digits (a warning says where); floats that overflow a double, .inf
 * and .nan are kept as their text. Anchors/aliases are expanded by sharing
 * (json_incref), with an expansion budget of 2 nodes per input byte (within
 * MC_YAML_MIN/MAX_ALIAS_BUDGET): "billion laughs" fails with MC_ELIMIT. Merge
 * keys (<<) copy absent keys. Nesting beyond MC_YAML_MAX_DEPTH, duplicate
 * mapping keys, complex keys, aliases to unknown or still-open anchors fail
 * with MC_EINVAL/MC_ELIMIT; err->path is the JSON pointer of the place and
 * err->msg names the 1-based line and column. Only the first document is read
 * (a warning notes the others).
 *
 * warnings, when not NULL, is an array that receives
 * {"pointer","line","message"} objects.
 */
MC_API json_t *mc_yaml_to_json(const char *text, size_t len, json_t *warnings, mc_error *err);

/*
 * Imports a Swagger 2.0 / OpenAPI 3.0 / 3.1 document (YAML or JSON text) into
 * mocks. options (may be NULL) is an object:
 *   namespace (string)      mock namespace (default: none set: the API's default)
 *   serverName (string)     part of the ids and tags (default: info.title)
 *   validate (bool)         required query params/headers/body fields become conditions
 *   maxOperations (int)     refuse documents with more operations (default 20000)
 *   pathPrefix (string)     route prefix; default: the path of servers[0].url (3.x) or
 *                           basePath (2.0); "" disables it
 * Returns {"mocks":[...],"warnings":[{"pointer","line","message"}],"errors":[...],
 * "info":{"title","version","specVersion","operations","mocks"}}, or NULL with
 * err set (err->path a JSON pointer, err->msg naming the line when known).
 * Every mock passes mc_mock_validate; the same input gives the same output.
 */
MC_API json_t *mc_import_openapi(const char *text, size_t len, const json_t *options, mc_error *err);

#endif
