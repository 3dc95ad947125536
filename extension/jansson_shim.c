/*
 * jansson_shim.c - reach jansson's json_object() from inside the backend.
 *
 * The postgres executable exports a SQL function named json_object, and ELF
 * symbol lookup searches the executable before the libraries of a loaded module:
 * a plain call to jansson's json_object() from mockarty.so (ours or core's) lands
 * in PostgreSQL's fmgr function and crashes the backend. The Makefile compiles
 * every object of the module with -Djson_object=mk_jansson_object, so all such
 * calls come here. json_pack("{}") builds the object inside libjansson, whose
 * internal calls are bound locally (no json_object@plt in libjansson.so.4), so the
 * executable cannot shadow it. No other jansson or pcre2 symbol collides with the
 * PostgreSQL 15 executable (checked with nm -D).
 */
#include <stddef.h>

#include <jansson.h>

__attribute__((visibility("hidden"))) json_t *mk_jansson_object(void);

/* Returns a new empty object (new reference), or NULL when allocation fails. */
json_t *
mk_jansson_object(void)
{
	return json_pack("{}");
}
