/*
 * schema_example.h - internal interface of schema_example.c (JSON Schema
 * sampling and $ref resolution for the importers).
 */
#ifndef MOCKARTY_SCHEMA_EXAMPLE_H
#define MOCKARTY_SCHEMA_EXAMPLE_H

#include "mockarty/import.h"

#include <stdarg.h>

#define MC_SCHEMA_MAX_DEPTH 24    /* nesting of generated values */
#define MC_SCHEMA_MAX_ITEMS 100   /* elements of one generated array */
#define MC_SCHEMA_MAX_TICKS 20000 /* schema nodes visited for one sample */

typedef struct mc_sx {
	json_t *root;     /* the whole document ($ref targets) */
	json_t *warnings; /* array of {"pointer","line","message"}; may be NULL */
	bool response;    /* sampling a response: writeOnly dropped (else readOnly) */
	const char *refs[MC_SCHEMA_MAX_DEPTH * 2];
	size_t nrefs;
	size_t ticks;
} mc_sx;

/* Target of a local "#/a/b" pointer in root (RFC 6901 + %-decoding), or NULL. */
json_t *mc_sx_pointer(json_t *root, const char *ref);
json_t *mc_sx_deref(mc_sx *sx, json_t *node, const char **ref, const char *where);
/* A new value valid against schema (see schema_example.c). */
json_t *mc_sx_sample(mc_sx *sx, json_t *schema, const char *where);
/* schema resolved, allOf members merged into it (new reference), or NULL. */
json_t *mc_sx_flatten(mc_sx *sx, json_t *schema, const char *where);
void mc_sx_warn(mc_sx *sx, const char *pointer, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
