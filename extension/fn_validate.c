/*
 * fn_validate.c - mockarty.validate_mock(jsonb): core's mock validator as SQL.
 *
 * The SQL save functions call this before storing anything, so the rules that
 * decide whether a mock is acceptable are the very rules the daemons apply (both
 * run core's mc_mock_validate). Validation problems are data, not errors: the
 * function returns {"path","error"} and lets the caller decide how to raise.
 */
#include "postgres.h"

#include "mockarty_ext.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "mockarty/core.h"

#include <string.h>

PG_FUNCTION_INFO_V1(mockarty_validate_mock);

/*
 * validate_mock(mock jsonb) RETURNS jsonb, STRICT.
 * NULL when the mock is valid, else {"path": "$.field", "error": "message"}.
 * Besides core's model checks, the static part of every response must fit in
 * mockarty.template_output_limit (what rendering it always outputs).
 * Raises only for out-of-memory inside core.
 */
Datum
mockarty_validate_mock(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	json_t	   *mock;
	mc_error	err;
	mc_status	st;
	StringInfoData buf;

	mock = mk_jsonb_to_json(jb);
	if (mock == NULL)
		PG_RETURN_DATUM(mk_text_to_jsonb(
			"{\"path\":\"$\",\"error\":\"mock contains a number out of range\"}"));

	memset(&err, 0, sizeof(err));
	st = mc_mock_validate(mock, &err);
	if (st == MC_OK)
		st = mc_mock_check_output(mock, (size_t) mockarty_template_output_limit * 1024, &err);
	json_decref(mock);

	if (st == MC_OK)
		PG_RETURN_NULL();
	if (st == MC_ENOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while validating a mock")));

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"path\":");
	escape_json(&buf, err.path[0] ? err.path : "$");
	appendStringInfoString(&buf, ",\"error\":");
	escape_json(&buf, err.msg[0] ? err.msg : "invalid mock");
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(mk_text_to_jsonb(buf.data));
}
