-- 15_import.sql - smart merge: the one entry (import_mocks) through which every importer writes mocks.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

------------------------------------------------------------------------------
-- Import state
------------------------------------------------------------------------------
-- An importer (OpenAPI, WireMock, Mockoon, HAR, the server generator's -create-mocks)
-- hands mockarty.import_mocks() the mocks it generated, each with a stable id. The
-- document last generated for each mock is kept here: it is the common base of the
-- three-way merge that refreshes what the source changed and keeps what a user changed.

CREATE TABLE mockarty_private.import_state (
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	source text NOT NULL,
	mock_id text NOT NULL REFERENCES mockarty_private.mocks (id) ON DELETE CASCADE,
	generated jsonb NOT NULL,
	imported_at timestamptz NOT NULL DEFAULT now(),
	original jsonb,
	PRIMARY KEY (namespace, source, mock_id)
);
COMMENT ON TABLE mockarty_private.import_state IS 'Per imported mock: the document its source generated at the last import (the base of the smart merge); purging the mock removes the row';
COMMENT ON COLUMN mockarty_private.import_state.original IS 'The source item as given, where the source is served back (WireMock mappings: GET /__admin/mappings)';

CREATE INDEX import_state_mock_idx ON mockarty_private.import_state (mock_id);
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.import_state', '');

CREATE FUNCTION mockarty_private.json_merge3(base jsonb, ours jsonb, theirs jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
	result jsonb := '{}';
	k text;
	v jsonb;
BEGIN
	-- SQL NULL stands for "absent"; JSON null is a value like any other
	IF ours IS NOT DISTINCT FROM theirs OR ours IS NOT DISTINCT FROM base THEN
		RETURN theirs;
	END IF;
	IF theirs IS NOT DISTINCT FROM base THEN
		RETURN ours;
	END IF;
	IF jsonb_typeof(base) = 'object' AND jsonb_typeof(ours) = 'object' AND jsonb_typeof(theirs) = 'object' THEN
		FOR k IN SELECT jsonb_object_keys(ours) UNION SELECT jsonb_object_keys(theirs) LOOP
			v := mockarty_private.json_merge3(base -> k, ours -> k, theirs -> k);
			IF v IS NOT NULL THEN
				result := result || jsonb_build_object(k, v);
			END IF;
		END LOOP;
		RETURN result;
	END IF;
	-- both sides changed the same scalar or array: the user's edit wins
	RETURN ours;
END
$$;
COMMENT ON FUNCTION mockarty_private.json_merge3(jsonb, jsonb, jsonb) IS 'Three-way merge per JSON path: where only the source changed (theirs vs base) its value is taken, where the user changed (ours vs base) the user''s value is kept, also when both changed; objects merge key by key, arrays and scalars are whole values; NULL = absent';

CREATE FUNCTION mockarty_private.import_option(p_options jsonb, p_key text, p_type text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
	IF p_options IS NULL OR NOT p_options ? p_key OR jsonb_typeof(p_options -> p_key) = 'null' THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(p_options -> p_key) <> p_type THEN
		RAISE EXCEPTION 'option "%" must be a %', p_key, p_type USING ERRCODE = '22023',
			DETAIL = '$.options.' || p_key;
	END IF;
	RETURN p_options -> p_key;
END
$$;
COMMENT ON FUNCTION mockarty_private.import_option(jsonb, text, text) IS 'One import option of the given JSON type, NULL when absent; 22023 naming $.options.<key> for another type';

CREATE FUNCTION mockarty.import_mocks(mocks jsonb, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_ns text;
	v_source text;
	v_prune boolean;
	v_dry boolean;
	v_i int;
	v_item jsonb;
	v_id text;
	v_gen jsonb;
	v_err jsonb;
	v_ids text[] := '{}';
	v_cur mockarty_private.mocks;
	v_base jsonb;
	v_has_state boolean;
	v_merged jsonb;
	v_action text;
	v_created int := 0;
	v_updated int := 0;
	v_skipped int := 0;
	v_list jsonb := '[]';
	v_stale jsonb := '[]';
	v_warnings jsonb := '[]';
	r record;
BEGIN
	IF options IS NOT NULL AND jsonb_typeof(options) <> 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.options';
	END IF;
	v_source := mockarty_private.import_option(options, 'source', 'string') #>> '{}';
	IF v_source IS NULL OR v_source = '' THEN
		RAISE EXCEPTION 'option "source" is required' USING ERRCODE = '22023', DETAIL = '$.options.source',
			HINT = 'Name the source of the mocks, e.g. "openapi:petstore", "wiremock" or "har:capture1".';
	END IF;
	v_ns := coalesce(nullif(mockarty_private.import_option(options, 'namespace', 'string') #>> '{}', ''),
		mockarty_private.caller_namespace(), 'sandbox');
	v_prune := coalesce((mockarty_private.import_option(options, 'prune', 'boolean') #>> '{}')::boolean, false);
	v_dry := coalesce((mockarty_private.import_option(options, 'dryRun', 'boolean') #>> '{}')::boolean, false);
	v_warnings := coalesce(mockarty_private.import_option(options, 'warnings', 'array'), '[]');
	IF v_ns !~ '^[a-z0-9][a-z0-9_.-]{0,62}$' THEN
		RAISE EXCEPTION 'invalid namespace name "%"', v_ns USING ERRCODE = '22023', DETAIL = '$.options.namespace',
			HINT = 'Namespace names match ^[a-z0-9][a-z0-9_.-]{0,62}$.';
	END IF;
	-- the caller rule, also for a preview: viewers cannot import, a bound caller only into its namespace
	PERFORM mockarty_private.ns_check(v_ns);
	PERFORM mockarty_private.role_require('editor', 'import mocks');
	IF mocks IS NULL OR jsonb_typeof(mocks) <> 'array' THEN
		RAISE EXCEPTION 'mocks must be a JSON array' USING ERRCODE = '22023', DETAIL = '$.mocks';
	END IF;

	-- first every input is checked, so a bad one changes nothing
	FOR v_i IN 0 .. jsonb_array_length(mocks) - 1 LOOP
		v_item := mocks -> v_i;
		IF jsonb_typeof(v_item) <> 'object' THEN
			RAISE EXCEPTION 'mock must be a JSON object' USING ERRCODE = '22023', DETAIL = format('$.mocks[%s]', v_i);
		END IF;
		v_id := CASE WHEN jsonb_typeof(v_item -> 'id') = 'string' THEN v_item ->> 'id' END;
		IF v_id IS NULL OR v_id = '' THEN
			RAISE EXCEPTION 'an imported mock needs a stable id' USING ERRCODE = '22023',
				DETAIL = format('$.mocks[%s].id', v_i),
				HINT = 'Derive the id from the namespace, the source and the source item so re-imports find the mock.';
		END IF;
		IF v_id = ANY (v_ids) THEN
			RAISE EXCEPTION 'duplicate mock id "%"', v_id USING ERRCODE = '22023', DETAIL = format('$.mocks[%s].id', v_i);
		END IF;
		v_ids := v_ids || v_id;
		v_err := mockarty.validate_mock((v_item - mockarty_private.server_fields())
			|| jsonb_build_object('id', v_id, 'namespace', v_ns));
		IF v_err IS NOT NULL THEN
			RAISE EXCEPTION '%', v_err ->> 'error' USING ERRCODE = '22023',
				DETAIL = format('$.mocks[%s]', v_i) || substr(coalesce(v_err ->> 'path', '$'), 2);
		END IF;
		SELECT * INTO v_cur FROM mockarty_private.mocks WHERE id = v_id;
		IF FOUND AND v_cur.namespace <> v_ns THEN
			IF mockarty_private.ns_visible(v_cur.namespace) THEN
				RAISE EXCEPTION 'mock "%" belongs to namespace "%"', v_id, v_cur.namespace USING ERRCODE = '23505',
					DETAIL = format('$.mocks[%s].id', v_i), HINT = 'An import never moves a mock between namespaces.';
			END IF;
			RAISE EXCEPTION 'mock "%" does not exist in namespace "%"', v_id, v_ns USING ERRCODE = 'P0002',
				DETAIL = format('$.mocks[%s].id', v_i), HINT = 'This id is not available to the caller; choose another id.';
		END IF;
	END LOOP;

	IF NOT v_dry THEN
		PERFORM mockarty_private.namespace_ensure(v_ns);
		PERFORM mockarty_private.batch_begin();
		-- the counter, then every mocks row this import may change in id order (02_helpers.sql)
		PERFORM mockarty_private.mocks_lock(v_ids || CASE WHEN v_prune THEN ARRAY(
			SELECT s.mock_id FROM mockarty_private.import_state s
			WHERE s.namespace = v_ns AND s.source = v_source AND NOT (s.mock_id = ANY (v_ids))) ELSE '{}' END);
	END IF;
	FOR v_i IN 0 .. jsonb_array_length(mocks) - 1 LOOP
		v_item := mocks -> v_i;
		v_id := v_item ->> 'id';
		v_gen := v_item - mockarty_private.server_fields();
		SELECT * INTO v_cur FROM mockarty_private.mocks WHERE id = v_id FOR UPDATE;
		IF NOT FOUND THEN
			v_action := 'created';
			v_merged := v_gen;
		ELSIF v_cur.closed_at IS NOT NULL THEN
			v_action := 'skipped';   -- deleted by a user: stays deleted
			v_merged := NULL;
		ELSE
			SELECT s.generated INTO v_base FROM mockarty_private.import_state s
			WHERE s.namespace = v_ns AND s.source = v_source AND s.mock_id = v_id;
			v_has_state := FOUND;
			-- without a base (first import of an existing id) the source's document is taken
			v_merged := CASE WHEN v_has_state THEN mockarty_private.json_merge3(v_base, v_cur.doc, v_gen) ELSE v_gen END;
			v_action := CASE WHEN v_merged = v_cur.doc THEN 'skipped' ELSE 'updated' END;
		END IF;
		IF NOT v_dry THEN
			IF v_action <> 'skipped' THEN
				PERFORM mockarty_private.mock_write(v_merged || jsonb_build_object('id', v_id), v_ns,
					v_action = 'created', format('$.mocks[%s]', v_i));
			END IF;
			INSERT INTO mockarty_private.import_state AS s (namespace, source, mock_id, generated)
			VALUES (v_ns, v_source, v_id, v_gen)
			ON CONFLICT (namespace, source, mock_id) DO UPDATE SET generated = excluded.generated, imported_at = now()
			WHERE s.generated IS DISTINCT FROM excluded.generated;
		END IF;
		CASE v_action
			WHEN 'created' THEN v_created := v_created + 1;
			WHEN 'updated' THEN v_updated := v_updated + 1;
			ELSE v_skipped := v_skipped + 1;
		END CASE;
		v_list := v_list || jsonb_build_object('id', v_id, 'action', v_action,
			'route', coalesce(v_gen #>> '{http,route}', v_gen #>> '{http,routePattern}'),
			'method', coalesce(upper(v_gen #>> '{http,httpMethod}'), ''));
	END LOOP;

	-- mocks this source imported before and no longer produces
	FOR r IN SELECT s.mock_id, m.doc, m.closed_at FROM mockarty_private.import_state s
		JOIN mockarty_private.mocks m ON m.id = s.mock_id
		WHERE s.namespace = v_ns AND s.source = v_source AND NOT (s.mock_id = ANY (v_ids))
		ORDER BY s.mock_id LOOP
		IF r.closed_at IS NULL THEN
			v_stale := v_stale || jsonb_build_object('id', r.mock_id,
				'route', coalesce(r.doc #>> '{http,route}', r.doc #>> '{http,routePattern}'),
				'method', coalesce(upper(r.doc #>> '{http,httpMethod}'), ''), 'deleted', v_prune);
		END IF;
		IF v_prune AND NOT v_dry THEN
			IF r.closed_at IS NULL THEN
				PERFORM mockarty.mock_delete(r.mock_id);
			END IF;
			DELETE FROM mockarty_private.import_state s
			WHERE s.namespace = v_ns AND s.source = v_source AND s.mock_id = r.mock_id;
		END IF;
	END LOOP;
	IF NOT v_dry THEN
		PERFORM mockarty_private.batch_end();
	END IF;

	RETURN jsonb_build_object(
		'created', v_created, 'updated', v_updated, 'skipped', v_skipped,
		'mocks', v_list, 'stale', v_stale, 'warnings', v_warnings, 'errors', '[]'::jsonb,
		'namespace', v_ns, 'source', v_source, 'dryRun', v_dry,
		'message', format('%s%s created, %s updated, %s unchanged, %s stale%s',
			CASE WHEN v_dry THEN 'preview: ' ELSE '' END, v_created, v_updated, v_skipped,
			jsonb_array_length(v_stale), CASE WHEN v_prune AND jsonb_array_length(v_stale) > 0
				THEN CASE WHEN v_dry THEN ' (would be deleted)' ELSE ' (deleted)' END ELSE '' END));
END
$$;
COMMENT ON FUNCTION mockarty.import_mocks(jsonb, jsonb) IS 'Smart merge of imported mocks in one transaction. mocks: array of mock documents with stable ids; options: source (required), namespace (default: the caller''s, else sandbox), prune (delete mocks of this source gone from the input), dryRun (preview, writes nothing), warnings (passed through). New ids are created; for existing ones a three-way merge against the document last imported refreshes what the source changed and keeps what a user changed; identical input writes nothing. Returns {created, updated, skipped, mocks:[{id,action,route,method}], stale:[{id,route,method,deleted}], warnings, errors, message, namespace, source, dryRun}; 22023 naming the JSON path for bad input, 42501 for viewers and for a bound caller outside its namespace';

------------------------------------------------------------------------------
-- Importers of other tools' stubs (core's translators, then the smart merge)
------------------------------------------------------------------------------

CREATE FUNCTION mockarty_private.translate_source(kind text, doc jsonb, namespace text, source text, one_of boolean)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mockarty_translate_source'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mockarty_private.translate_source(text, jsonb, text, text, boolean) IS 'Core''s translation of a WireMock (kind wiremock), Mockoon (mockoon) or HAR (har) document into {"mocks","warnings":[{"pointer","message"}],"errors"}; ids derive from namespace, source and the item; one_of: HAR repeats become a oneOf instead of the last capture winning';

CREATE FUNCTION mockarty_private.import_source(p_kind text, p_doc jsonb, p_options jsonb, p_default_source text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_options jsonb := coalesce(p_options, '{}');
	v_ns text;
	v_source text;
	v_report jsonb;
BEGIN
	IF jsonb_typeof(v_options) <> 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.options';
	END IF;
	IF p_doc IS NULL THEN
		RAISE EXCEPTION 'the % document is missing', p_kind USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	v_ns := coalesce(nullif(mockarty_private.import_option(v_options, 'namespace', 'string') #>> '{}', ''),
		mockarty_private.caller_namespace(), 'sandbox');
	v_source := coalesce(nullif(mockarty_private.import_option(v_options, 'source', 'string') #>> '{}', ''), p_default_source);
	v_report := mockarty_private.translate_source(p_kind, p_doc, v_ns, v_source,
		coalesce((mockarty_private.import_option(v_options, 'oneOf', 'boolean') #>> '{}')::boolean, false));
	IF jsonb_array_length(v_report -> 'errors') > 0 THEN
		RAISE EXCEPTION '%', v_report #>> '{errors,0,message}' USING ERRCODE = '22023',
			DETAIL = '#' || (v_report #>> '{errors,0,pointer}'),
			HINT = format('The document is not a %s document; nothing was imported.', p_kind);
	END IF;
	RETURN mockarty.import_mocks(v_report -> 'mocks', v_options || jsonb_build_object('namespace', v_ns,
		'source', v_source, 'warnings', v_report -> 'warnings'));
END
$$;
COMMENT ON FUNCTION mockarty_private.import_source(text, jsonb, jsonb, text) IS 'Translates a document of another tool with core and merges the mocks through mockarty.import_mocks (options as there, plus oneOf for HAR); 22023 naming the JSON pointer (#/...) when the document is not of the kind';

CREATE FUNCTION mockarty.import_wiremock(doc jsonb, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql
AS $$ SELECT mockarty_private.import_source('wiremock', doc, options, 'wiremock') $$;
COMMENT ON FUNCTION mockarty.import_wiremock(jsonb, jsonb) IS 'Imports WireMock mappings (one mapping or {"mappings":[...]}) with smart merge; options as mockarty.import_mocks (source defaults to "wiremock"); answers its report, untranslated parts in warnings with their JSON pointers';

CREATE FUNCTION mockarty.import_mockoon(doc jsonb, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql
AS $$ SELECT mockarty_private.import_source('mockoon', doc, options,
	'mockoon:' || coalesce(nullif(doc ->> 'name', ''), nullif(doc ->> 'uuid', ''), 'environment')) $$;
COMMENT ON FUNCTION mockarty.import_mockoon(jsonb, jsonb) IS 'Imports a Mockoon environment with smart merge; options as mockarty.import_mocks (source defaults to "mockoon:<environment name>"); untranslated parts in warnings with their JSON pointers';

CREATE FUNCTION mockarty.import_har(doc jsonb, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql
AS $$ SELECT mockarty_private.import_source('har', doc, options, 'har:capture') $$;
COMMENT ON FUNCTION mockarty.import_har(jsonb, jsonb) IS 'Imports a HAR capture with smart merge: one mock per (method, path, query set), the last capture wins or, with option oneOf, all become a sequential oneOf; options as mockarty.import_mocks (source defaults to "har:capture"); untranslated parts in warnings with their JSON pointers';

CREATE FUNCTION mockarty_private.import_id(namespace text, source text, item text) RETURNS text
AS 'MODULE_PATHNAME', 'mockarty_import_id'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mockarty_private.import_id(text, text, text) IS 'The stable mock id core''s importers give the item of a source in a namespace ("imp-" and 32 hex digits)';

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

------------------------------------------------------------------------------
-- The WireMock-compatible admin surface (/__admin/mappings)
------------------------------------------------------------------------------
-- Mappings created here are mocks of source "wiremock" whose original mapping is kept
-- (import_state.original) and served back in WireMock's shape. The mapping's id is
-- its identity, so a mapping imported with POST /api/v1/import/wiremock is the same mock.

CREATE FUNCTION mockarty.wiremock_mappings_save(doc jsonb, namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_ns text := coalesce(nullif(namespace, ''), mockarty_private.caller_namespace(), 'sandbox');
	v_list jsonb;
	v_single boolean := NOT (doc ? 'mappings');
	v_out jsonb := '[]';
	v_m jsonb;
	v_id text;
	v_report jsonb;
BEGIN
	IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
		RAISE EXCEPTION 'a WireMock document is a mapping object or {"mappings":[...]}' USING ERRCODE = '22023', DETAIL = '#';
	END IF;
	v_list := CASE WHEN v_single THEN jsonb_build_array(doc) ELSE doc -> 'mappings' END;
	IF jsonb_typeof(v_list) <> 'array' THEN
		RAISE EXCEPTION 'mappings must be an array' USING ERRCODE = '22023', DETAIL = '#/mappings';
	END IF;
	-- WireMock gives every mapping an id (and the same uuid): it is the mapping's identity here
	FOR v_m IN SELECT x FROM jsonb_array_elements(v_list) x LOOP
		IF jsonb_typeof(v_m) = 'object' THEN
			v_id := coalesce(nullif(v_m ->> 'id', ''), nullif(v_m ->> 'uuid', ''), gen_random_uuid()::text);
			v_m := v_m || jsonb_build_object('id', v_id, 'uuid', v_id);
		END IF;
		v_out := v_out || jsonb_build_array(v_m);
	END LOOP;
	v_report := mockarty_private.import_source('wiremock', jsonb_build_object('mappings', v_out),
		jsonb_build_object('namespace', v_ns, 'source', 'wiremock'), 'wiremock');
	UPDATE mockarty_private.import_state s SET original = x.m
	FROM jsonb_array_elements(v_out) x(m)
	WHERE jsonb_typeof(x.m) = 'object' AND s.namespace = v_ns AND s.source = 'wiremock'
		AND s.mock_id = mockarty_private.import_id(v_ns, 'wiremock', 'mapping:' || (x.m ->> 'id'));
	RETURN jsonb_build_object('mappings', v_out, 'report', v_report - 'stale');
END
$$;
COMMENT ON FUNCTION mockarty.wiremock_mappings_save(jsonb, text) IS 'POST /__admin/mappings and /__admin/mappings/import: saves one WireMock mapping or {"mappings":[...]} as mocks of source "wiremock" (ids assigned where missing, as WireMock does) and keeps each mapping; returns {"mappings":[as saved],"report":{...}}; 22023 naming the pointer for a document that is not WireMock''s';

CREATE FUNCTION mockarty.wiremock_mappings_list(namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('mappings', coalesce(jsonb_agg(s.original ORDER BY s.imported_at, s.mock_id), '[]'),
		'meta', jsonb_build_object('total', count(*)))
	FROM mockarty_private.import_state s JOIN mockarty_private.mocks m ON m.id = s.mock_id AND m.closed_at IS NULL
	WHERE s.source = 'wiremock' AND s.original IS NOT NULL
		AND s.namespace = coalesce(nullif(wiremock_mappings_list.namespace, ''), mockarty_private.caller_namespace(), 'sandbox')
		AND mockarty_private.ns_visible(s.namespace)
$$;
COMMENT ON FUNCTION mockarty.wiremock_mappings_list(text) IS 'GET /__admin/mappings: the WireMock mappings of the namespace as saved, {"mappings":[...],"meta":{"total":N}}';

CREATE FUNCTION mockarty.wiremock_mapping_get(id text, namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT s.original FROM mockarty_private.import_state s
	JOIN mockarty_private.mocks m ON m.id = s.mock_id AND m.closed_at IS NULL
	WHERE s.source = 'wiremock' AND s.original ->> 'id' = wiremock_mapping_get.id
		AND s.namespace = coalesce(nullif(wiremock_mapping_get.namespace, ''), mockarty_private.caller_namespace(), 'sandbox')
		AND mockarty_private.ns_visible(s.namespace)
$$;
COMMENT ON FUNCTION mockarty.wiremock_mapping_get(text, text) IS 'GET /__admin/mappings/{id}: one WireMock mapping as saved, NULL when unknown in the namespace';

CREATE FUNCTION mockarty.wiremock_mappings_delete(id text DEFAULT NULL, namespace text DEFAULT NULL) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	v_ns text := coalesce(nullif(namespace, ''), mockarty_private.caller_namespace(), 'sandbox');
	v_n int := 0;
	r record;
BEGIN
	PERFORM mockarty_private.ns_check(v_ns);
	PERFORM mockarty_private.role_require('editor', 'delete mocks');
	-- the counter before the rows, which mock_purge() then takes in id order (02_helpers.sql)
	PERFORM mockarty_private.writer_lock();
	FOR r IN SELECT s.mock_id FROM mockarty_private.import_state s
		WHERE s.namespace = v_ns AND s.source = 'wiremock'
			AND (wiremock_mappings_delete.id IS NULL OR s.original ->> 'id' = wiremock_mappings_delete.id)
		ORDER BY s.mock_id LOOP
		IF mockarty.mock_purge(r.mock_id) THEN
			v_n := v_n + 1;
		END IF;
	END LOOP;
	RETURN v_n;
END
$$;
COMMENT ON FUNCTION mockarty.wiremock_mappings_delete(text, text) IS 'DELETE /__admin/mappings[/{id}] and POST /__admin/reset: removes (purges) the mocks of source "wiremock" in the namespace, one mapping by id or all; returns how many';
