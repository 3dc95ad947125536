/*
 * json_glue.c - conversions between PostgreSQL jsonb and jansson values.
 *
 * Core works on jansson trees allocated with malloc; the backend works on jsonb
 * in memory contexts and reports errors with longjmp. The conversions go through
 * JSON text and are split so that the jansson side never raises and the jsonb side
 * never holds jansson memory: a caller dumps, frees its jansson values, and only
 * then parses into jsonb (which may raise).
 */
#include "postgres.h"

#include "mockarty_ext.h"

#include "fmgr.h"
#include "utils/jsonb.h"

#include "mockarty/core.h"


#include <string.h>

/*
 * Returns a new jansson reference for jb, or NULL when jansson rejects the text
 * (numbers beyond double range). The intermediate text is palloc'd and freed here.
 */
json_t *
mk_jsonb_to_json(Jsonb *jb)
{
	char	   *text;
	json_t	   *j;
	json_error_t jerr;

	text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	j = mc_json_loadb_wide(text, strlen(text), JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	pfree(text);
	return j;
}

/*
 * Returns j as compact JSON text in a palloc'd string (current context), or NULL
 * when jansson cannot encode it. The malloc'd buffer is released before palloc is
 * called, so an out-of-memory error from palloc leaks nothing.
 */
char *
mk_json_dump(const json_t *j)
{
	size_t		len;
	char	   *buf;
	char	   *out;

	len = json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	if (len == 0)
		return NULL;
	out = palloc(len + 1);
	buf = out;
	if (json_dumpb(j, buf, len, JSON_COMPACT | JSON_ENCODE_ANY) != len)
	{
		pfree(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

/* Parses JSON text into jsonb; raises on malformed input like jsonb_in. */
Datum
mk_text_to_jsonb(const char *text)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
}
