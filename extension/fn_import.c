/*
 * fn_import.c - mockarty_private.translate_source(kind, doc, namespace, source, one_of)
 * and mockarty_private.translate_openapi(spec, options): core's importers of WireMock
 * mappings, Mockoon environments, HAR captures and OpenAPI / Swagger descriptions as SQL.
 *
 * Translation only: the SQL wrappers (mockarty.import_wiremock and friends, in
 * sql/install/15_import.sql) hand the mocks to mockarty.import_mocks, the one
 * transaction every importer's mocks go through. Core's memory is freed before any
 * PostgreSQL call that may raise.
 */
#include "postgres.h"

#include "mockarty_ext.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "mockarty/import.h"
#include "mockarty/sources.h"

#include <string.h>

PG_FUNCTION_INFO_V1(mockarty_translate_source);

/*
 * translate_source(kind text, doc jsonb, namespace text, source text, one_of boolean)
 * RETURNS jsonb, STRICT: core's report {"mocks","warnings","errors"}. kind is
 * wiremock, mockoon or har; 22023 for another kind, 53200 when out of memory.
 */
Datum
mockarty_translate_source(PG_FUNCTION_ARGS)
{
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *jb = PG_GETARG_JSONB_P(1);
	char	   *ns = text_to_cstring(PG_GETARG_TEXT_PP(2));
	char	   *source = text_to_cstring(PG_GETARG_TEXT_PP(3));
	bool		one_of = PG_GETARG_BOOL(4);
	json_t	   *doc,
			   *report = NULL;
	char	   *text;

	if (strcmp(kind, "wiremock") != 0 && strcmp(kind, "mockoon") != 0 && strcmp(kind, "har") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown source kind \"%s\"", kind),
				 errhint("Kinds are wiremock, mockoon and har.")));
	doc = mk_jsonb_to_json(jb);
	if (doc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("document contains a number out of range"),
				 errdetail("$")));
	if (strcmp(kind, "wiremock") == 0)
		report = mc_import_wiremock(doc, ns, source);
	else if (strcmp(kind, "mockoon") == 0)
		report = mc_import_mockoon(doc, ns, source);
	else
		report = mc_import_har(doc, ns, source, one_of);
	json_decref(doc);
	text = report ? mk_json_dump(report) : NULL;
	json_decref(report);
	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while importing a %s document", kind)));
	PG_RETURN_DATUM(mk_text_to_jsonb(text));
}

PG_FUNCTION_INFO_V1(mockarty_translate_openapi);

/*
 * translate_openapi(spec text, options jsonb) RETURNS jsonb, STRICT: core's
 * mc_import_openapi report {"mocks","warnings","errors","info"} for a Swagger 2.0 /
 * OpenAPI 3.x document in YAML or JSON. options as mc_import_openapi (namespace,
 * serverName, pathPrefix, validate, maxOperations). A document that cannot be read
 * at all (YAML syntax, duplicate keys, alias budget, too many operations, not an
 * API description) raises 22023 with the JSON pointer in DETAIL and the line in the
 * message; an operation that cannot be translated is only listed in errors.
 */
Datum
mockarty_translate_openapi(PG_FUNCTION_ARGS)
{
	text	   *spec = PG_GETARG_TEXT_PP(0);
	Jsonb	   *jb = PG_GETARG_JSONB_P(1);
	json_t	   *opts,
			   *report;
	mc_error	err;
	char	   *out;

	opts = mk_jsonb_to_json(jb);
	if (opts == NULL || !json_is_object(opts))
	{
		json_decref(opts);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object"),
				 errdetail("$.options")));
	}
	memset(&err, 0, sizeof(err));
	report = mc_import_openapi(VARDATA_ANY(spec), VARSIZE_ANY_EXHDR(spec), opts, &err);
	json_decref(opts);
	if (report == NULL)
	{
		if (err.code == MC_ENOMEM)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while importing an OpenAPI document")));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot import the OpenAPI document: %s", err.msg),
				 err.path[0] == '/' || err.path[0] == '\0' ? errdetail("#%s", err.path)
				 : errdetail("$.%s", err.path),
				 errhint("Nothing was imported.")));
	}
	out = mk_json_dump(report);
	json_decref(report);
	if (out == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while importing an OpenAPI document")));
	PG_RETURN_DATUM(mk_text_to_jsonb(out));
}

PG_FUNCTION_INFO_V1(mockarty_import_id);

/*
 * import_id(namespace text, source text, item text) RETURNS text, STRICT: the id
 * core's importers give an item (mc_import_id), so SQL can find an imported mock.
 */
Datum
mockarty_import_id(PG_FUNCTION_ARGS)
{
	char		id[37];

	mc_import_id(text_to_cstring(PG_GETARG_TEXT_PP(0)), text_to_cstring(PG_GETARG_TEXT_PP(1)),
				 text_to_cstring(PG_GETARG_TEXT_PP(2)), id);
	PG_RETURN_TEXT_P(cstring_to_text(id));
}
