/*
 * mockarty_ext.h - declarations shared by the backend files of the mockarty
 * extension (GUCs, the scheduler worker and the jsonb <-> jansson glue).
 *
 * Core allocates with malloc through jansson and never longjmps; the backend
 * longjmps on ereport. Everything here is shaped so a caller can free core's
 * memory before any PostgreSQL call that may raise an error.
 */
#ifndef MOCKARTY_EXT_H
#define MOCKARTY_EXT_H

#include "postgres.h"

/*
 * fmgrprotos.h (pulled in by utils/builtins.h) declares SQL functions named
 * json_object and json_typeof, which clash with jansson's API. Rename the
 * PostgreSQL declarations while including them; no file here calls them.
 */
#pragma push_macro("json_object")
#undef json_object
#define json_object mk_pg_json_object
#define json_typeof mk_pg_json_typeof
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#undef json_object
#undef json_typeof
#pragma pop_macro("json_object")

#include "utils/jsonb.h"

#include <jansson.h>

/* GUCs (module.c) */
extern int mockarty_log_limit;
extern int mockarty_replay_max;
extern int mockarty_template_output_limit; /* kB */

/* SQLSTATE of a resolution whose templates would render more than mockarty.template_output_limit. */
#define ERRCODE_MOCKARTY_TEMPLATE_OUTPUT_LIMIT MAKE_SQLSTATE('M', 'K', '0', '0', '1')
extern char *mockarty_database;
extern int mockarty_scheduler_interval_ms;

/* scheduler.c: registers the scheduler launcher (only from _PG_init while preloading) */
extern void mockarty_scheduler_register(void);

/*
 * Parses a jsonb value into a new jansson value (any JSON type). Returns NULL when
 * jansson cannot represent it (e.g. a number out of double range); never raises
 * after the jansson allocation, so the caller owns exactly one reference or none.
 */
extern json_t *mk_jsonb_to_json(Jsonb *jb);

/*
 * Serialises a jansson value into a palloc'd string in the current memory
 * context, or returns NULL when jansson cannot encode it. Does not consume j.
 */
extern char *mk_json_dump(const json_t *j);

/* Turns JSON text (from mk_json_dump) into a jsonb Datum; may raise. */
extern Datum mk_text_to_jsonb(const char *text);

#endif /* MOCKARTY_EXT_H */
