-- 51_import_openapi: OpenAPI / Swagger import through SQL (issue 11):
-- mockarty_private.translate_openapi (core's mc_import_openapi) and mockarty.import_openapi(),
-- which writes through mockarty.import_mocks (smart merge, one transaction).

------------------------------------------------------------------------------
-- OpenAPI / Swagger
------------------------------------------------------------------------------
-- The spec is TEXT (YAML or JSON). A document that cannot be read at all raises 22023
-- naming the JSON pointer and line, and nothing is written. An operation that cannot
-- be translated is listed in errors while the other operations import: one bad
-- operation in a large description does not block the rest, and the report says which.

CREATE FUNCTION mockarty_private.translate_openapi(spec text, options jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'mockarty_translate_openapi'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mockarty_private.translate_openapi(text, jsonb) IS 'Core''s translation of a Swagger 2.0 / OpenAPI 3.0 / 3.1 document (YAML or JSON text) into {"mocks","warnings":[{"pointer","line","message"}],"errors","info"}; options: namespace, serverName, pathPrefix, validate, maxOperations; 22023 naming the JSON pointer (DETAIL) and line when the document cannot be read';

CREATE FUNCTION mockarty.import_openapi(spec text, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_options jsonb := coalesce(options, '{}');
	v_core jsonb := '{}';
	v_ns text;
	v_server text;
	v_report jsonb;
	v_out jsonb;
	v_key text;
BEGIN
	IF jsonb_typeof(v_options) <> 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.options';
	END IF;
	IF spec IS NULL OR btrim(spec) = '' THEN
		RAISE EXCEPTION 'the OpenAPI document is missing' USING ERRCODE = '22023', DETAIL = '$.spec';
	END IF;
	FOR v_key IN SELECT k FROM jsonb_object_keys(v_options) k LOOP
		IF v_key NOT IN ('namespace', 'serverName', 'pathPrefix', 'validate', 'maxOperations', 'prune', 'dryRun', 'source') THEN
			RAISE EXCEPTION 'unknown import option "%"', v_key USING ERRCODE = '22023',
				DETAIL = '$.options.' || v_key,
				HINT = 'Options are namespace, serverName, pathPrefix, validate, maxOperations, prune, dryRun and source.';
		END IF;
	END LOOP;
	v_ns := coalesce(nullif(mockarty_private.import_option(v_options, 'namespace', 'string') #>> '{}', ''),
		mockarty_private.caller_namespace(), 'sandbox');
	v_server := nullif(mockarty_private.import_option(v_options, 'serverName', 'string') #>> '{}', '');
	v_core := jsonb_build_object('namespace', v_ns);
	IF v_server IS NOT NULL THEN
		v_core := v_core || jsonb_build_object('serverName', v_server);
	END IF;
	IF mockarty_private.import_option(v_options, 'pathPrefix', 'string') IS NOT NULL THEN
		v_core := v_core || jsonb_build_object('pathPrefix', v_options -> 'pathPrefix');
	END IF;
	IF mockarty_private.import_option(v_options, 'validate', 'boolean') IS NOT NULL THEN
		v_core := v_core || jsonb_build_object('validate', v_options -> 'validate');
	END IF;
	IF mockarty_private.import_option(v_options, 'maxOperations', 'number') IS NOT NULL THEN
		v_core := v_core || jsonb_build_object('maxOperations', v_options -> 'maxOperations');
	END IF;
	v_report := mockarty_private.translate_openapi(spec, v_core);
	v_out := mockarty.import_mocks(v_report -> 'mocks', jsonb_build_object(
		'namespace', v_ns,
		'source', coalesce(nullif(v_options ->> 'source', ''),
			'openapi:' || coalesce(v_server, nullif(v_report #>> '{info,title}', ''), 'api')),
		'prune', coalesce(v_options -> 'prune', 'false'),
		'dryRun', coalesce(v_options -> 'dryRun', 'false'),
		'warnings', coalesce(v_report -> 'warnings', '[]')));
	RETURN v_out || jsonb_build_object(
		'errors', coalesce(v_out -> 'errors', '[]') || coalesce(v_report -> 'errors', '[]'),
		'info', v_report -> 'info');
END
$$;
COMMENT ON FUNCTION mockarty.import_openapi(text, jsonb) IS 'Imports a Swagger 2.0 / OpenAPI 3.0 / 3.1 description (YAML or JSON text) with smart merge, one mock per operation and status, in one transaction. options: namespace (default: the caller''s, else sandbox), serverName (default info.title), pathPrefix, validate, maxOperations, prune, dryRun, source (default "openapi:<serverName or info.title>"). Answers mockarty.import_mocks''s report {created, updated, skipped, mocks, stale, message, warnings, errors} plus info; operations that cannot be translated are listed in errors while the rest imports; a document that cannot be read raises 22023 naming the JSON pointer (DETAIL) and line, and nothing is written';
