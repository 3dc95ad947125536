-- 52_grpc_descriptors: gRPC descriptor sets per namespace and server name, versioned, and the
-- gRPC generator (issue 12): mockarty_private.grpc_descriptor_sets, mockarty.grpc_descriptor_*(),
-- mockarty.generate_grpc(); the same text as sql/install/16_grpc_descriptors.sql.

------------------------------------------------------------------------------
-- Descriptor sets
------------------------------------------------------------------------------
-- A gRPC mock server is described by a FileDescriptorSet (what
-- `protoc --include_imports --descriptor_set_out` writes). Each upload for a
-- (namespace, server name) is a new version; a set identical to the latest version
-- is not stored again. Every set is loaded through core before it is kept, so a
-- stored set always decodes; its files and services are kept beside it as JSON.

CREATE TABLE mockarty_private.grpc_descriptor_sets (
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	server_name text NOT NULL,
	version int NOT NULL,
	descriptor_set bytea NOT NULL,
	files jsonb NOT NULL,
	services jsonb NOT NULL,
	sha256 text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by text,
	PRIMARY KEY (namespace, server_name, version),
	CHECK (version > 0)
);
COMMENT ON TABLE mockarty_private.grpc_descriptor_sets IS 'gRPC FileDescriptorSets per namespace and server name, one row per version (the latest is the highest); included in pg_dump';
COMMENT ON COLUMN mockarty_private.grpc_descriptor_sets.descriptor_set IS 'The serialized google.protobuf.FileDescriptorSet, loaded through core before it was stored';
COMMENT ON COLUMN mockarty_private.grpc_descriptor_sets.files IS 'Its files: [{"name","package","size","sha256","dependencies"}] (size and sha256 of each serialized FileDescriptorProto)';
COMMENT ON COLUMN mockarty_private.grpc_descriptor_sets.services IS 'Its services: {"<full service name>": [{"name","methodType","inputType","outputType"}]}';
COMMENT ON COLUMN mockarty_private.grpc_descriptor_sets.sha256 IS 'Hex SHA-256 of descriptor_set: an upload equal to the latest version is not stored again';
COMMENT ON COLUMN mockarty_private.grpc_descriptor_sets.created_by IS 'Who stored the version (the REST caller''s token or user name, else the database user)';
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.grpc_descriptor_sets', '');

CREATE FUNCTION mockarty_private.pb_describe(descriptor_set bytea) RETURNS jsonb
AS 'MODULE_PATHNAME', 'mockarty_pb_describe'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mockarty_private.pb_describe(bytea) IS 'Loads a serialized FileDescriptorSet through core and returns {"files":[{name,package,size,sha256,dependencies}],"services":{service:[{name,methodType,inputType,outputType}]}}; 22023 naming what is malformed or unresolved';

CREATE FUNCTION mockarty_private.pb_encode(descriptor_set bytea, type text, value jsonb) RETURNS bytea
AS 'MODULE_PATHNAME', 'mockarty_pb_encode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mockarty_private.pb_encode(bytea, text, jsonb) IS 'The binary protobuf message of a full message type for a proto3 JSON value, by core''s codec; 22023 for an unknown type or naming the JSON path of a value that does not fit';

CREATE FUNCTION mockarty_private.translate_grpc(descriptor_set bytea, options jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'mockarty_translate_grpc'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mockarty_private.translate_grpc(bytea, jsonb) IS 'One gRPC mock per method of a FileDescriptorSet, {"mocks","warnings","errors"}: serverName, grpc context (service, method, methodType), an example of the output type as payload (server-stream: streamResponses, bidirectional: payload), stable ids of source "grpc:<serverName>"; options namespace, serverName (required), seed';

CREATE FUNCTION mockarty_private.grpc_descriptor_json(d mockarty_private.grpc_descriptor_sets, with_set boolean) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT jsonb_build_object(
		'namespace', d.namespace, 'serverName', d.server_name, 'version', d.version,
		'files', d.files, 'services', d.services, 'sha256', d.sha256, 'size', octet_length(d.descriptor_set),
		'createdAt', mockarty_private.rfc3339(d.created_at), 'createdBy', d.created_by)
		|| CASE WHEN with_set THEN jsonb_build_object('descriptorSet', encode(d.descriptor_set, 'base64')) ELSE '{}' END
$$;
COMMENT ON FUNCTION mockarty_private.grpc_descriptor_json(mockarty_private.grpc_descriptor_sets, boolean) IS 'The API view of a stored descriptor set version; with_set adds the set itself as base64 (descriptorSet)';

CREATE FUNCTION mockarty_private.grpc_server_name_check(p_server text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
	IF p_server IS NULL OR p_server !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' THEN
		RAISE EXCEPTION 'invalid server name "%"', coalesce(p_server, '') USING ERRCODE = '22023', DETAIL = '$.serverName',
			HINT = 'Server names match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$.';
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.grpc_server_name_check(text) IS 'Raises 22023 naming $.serverName for a missing or invalid gRPC server name';

CREATE FUNCTION mockarty.grpc_descriptor_store(namespace text, server_name text, descriptor_set bytea,
	created_by text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_desc jsonb;
	v_sha text;
	v_latest mockarty_private.grpc_descriptor_sets;
	v_row mockarty_private.grpc_descriptor_sets;
BEGIN
	PERFORM mockarty_private.grpc_server_name_check(server_name);
	PERFORM mockarty_private.namespace_ensure(namespace);
	IF descriptor_set IS NULL OR octet_length(descriptor_set) = 0 THEN
		RAISE EXCEPTION 'the descriptor set is empty' USING ERRCODE = '22023', DETAIL = '$.descriptorSet';
	END IF;
	v_desc := mockarty_private.pb_describe(descriptor_set);
	IF v_desc -> 'services' = '{}' THEN
		RAISE EXCEPTION 'the descriptor set declares no service' USING ERRCODE = '22023', DETAIL = '$.descriptorSet',
			HINT = 'A gRPC mock server needs at least one service.';
	END IF;
	v_sha := encode(sha256(descriptor_set), 'hex');
	-- one writer per server at a time: versions are gap-free and in commit order
	PERFORM pg_catalog.pg_advisory_xact_lock(hashtext('mockarty.grpc_descriptor:' || namespace || '/' || server_name));
	SELECT * INTO v_latest FROM mockarty_private.grpc_descriptor_sets d
	WHERE d.namespace = grpc_descriptor_store.namespace AND d.server_name = grpc_descriptor_store.server_name
	ORDER BY d.version DESC LIMIT 1;
	IF FOUND AND v_latest.sha256 = v_sha THEN
		RETURN mockarty_private.grpc_descriptor_json(v_latest, false) || jsonb_build_object('unchanged', true);
	END IF;
	INSERT INTO mockarty_private.grpc_descriptor_sets
		(namespace, server_name, version, descriptor_set, files, services, sha256, created_by)
	VALUES (namespace, server_name, coalesce(v_latest.version, 0) + 1, descriptor_set,
		v_desc -> 'files', v_desc -> 'services', v_sha, coalesce(nullif(created_by, ''), current_user::text))
	RETURNING * INTO v_row;
	RETURN mockarty_private.grpc_descriptor_json(v_row, false) || jsonb_build_object('unchanged', false);
END
$$;
COMMENT ON FUNCTION mockarty.grpc_descriptor_store(text, text, bytea, text) IS 'Stores a FileDescriptorSet as the next version of (namespace, server_name) after loading it through core (22023 naming what is wrong; a set without services is refused) and returns its description with "unchanged": a set equal to the latest version is not stored again. Editors and admins only; a bound caller only into its namespace (42501)';

CREATE FUNCTION mockarty.grpc_descriptor_list(namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.grpc_descriptor_json(d.r, false)
		|| jsonb_build_object('versions', d.nver) ORDER BY (d.r).namespace, (d.r).server_name), '[]')
	FROM (SELECT DISTINCT ON (s.namespace, s.server_name) s AS r,
			count(*) OVER (PARTITION BY s.namespace, s.server_name) AS nver
		FROM mockarty_private.grpc_descriptor_sets s
		WHERE (mockarty_private.ns_scope(grpc_descriptor_list.namespace) IS NULL
			OR s.namespace = mockarty_private.ns_scope(grpc_descriptor_list.namespace))
		ORDER BY s.namespace, s.server_name, s.version DESC) d
$$;
COMMENT ON FUNCTION mockarty.grpc_descriptor_list(text) IS 'The latest version of every stored descriptor set (without the bytes), with its number of versions, of one namespace or (NULL) all visible ones; a bound caller sees only its namespace';

CREATE FUNCTION mockarty.grpc_descriptor_get(namespace text, server_name text, version int DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	v_row mockarty_private.grpc_descriptor_sets;
BEGIN
	IF mockarty_private.ns_visible(namespace) THEN
		SELECT * INTO v_row FROM mockarty_private.grpc_descriptor_sets d
		WHERE d.namespace = grpc_descriptor_get.namespace AND d.server_name = grpc_descriptor_get.server_name
			AND (grpc_descriptor_get.version IS NULL OR d.version = grpc_descriptor_get.version)
		ORDER BY d.version DESC LIMIT 1;
	END IF;
	IF v_row.version IS NULL THEN
		RAISE EXCEPTION 'descriptor set "%"%', server_name,
			CASE WHEN version IS NULL THEN '' ELSE ' version ' || version END || ' not found'
			USING ERRCODE = 'P0002', DETAIL = '$.serverName';
	END IF;
	RETURN mockarty_private.grpc_descriptor_json(v_row, true);
END
$$;
COMMENT ON FUNCTION mockarty.grpc_descriptor_get(text, text, int) IS 'One version (NULL = the latest) of a stored descriptor set with the set itself as base64 (descriptorSet); P0002 when absent or in a namespace the caller cannot see';

CREATE FUNCTION mockarty.grpc_descriptor_versions(namespace text, server_name text) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	v jsonb;
BEGIN
	SELECT jsonb_agg(mockarty_private.grpc_descriptor_json(d, false) ORDER BY d.version DESC) INTO v
	FROM mockarty_private.grpc_descriptor_sets d
	WHERE d.namespace = grpc_descriptor_versions.namespace AND d.server_name = grpc_descriptor_versions.server_name
		AND mockarty_private.ns_visible(d.namespace);
	IF v IS NULL THEN
		RAISE EXCEPTION 'descriptor set "%" not found', server_name USING ERRCODE = 'P0002', DETAIL = '$.serverName';
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION mockarty.grpc_descriptor_versions(text, text) IS 'Every version of a stored descriptor set, newest first, without the bytes; P0002 when absent or in a namespace the caller cannot see';

CREATE FUNCTION mockarty.grpc_descriptor_delete(namespace text, server_name text, version int DEFAULT NULL) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n int;
BEGIN
	PERFORM mockarty_private.ns_check(namespace);
	PERFORM mockarty_private.role_require('editor', 'delete descriptor sets');
	DELETE FROM mockarty_private.grpc_descriptor_sets d
	WHERE d.namespace = grpc_descriptor_delete.namespace AND d.server_name = grpc_descriptor_delete.server_name
		AND (grpc_descriptor_delete.version IS NULL OR d.version = grpc_descriptor_delete.version);
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n = 0 THEN
		RAISE EXCEPTION 'descriptor set "%"%', server_name,
			CASE WHEN version IS NULL THEN '' ELSE ' version ' || version END || ' not found'
			USING ERRCODE = 'P0002', DETAIL = '$.serverName';
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.grpc_descriptor_delete(text, text, int) IS 'Deletes one version (NULL = every version) of a stored descriptor set and returns the number of versions deleted; mocks generated from it stay; P0002 when absent; editors and admins only, a bound caller only in its namespace (42501)';

------------------------------------------------------------------------------
-- The gRPC generator
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.generate_grpc(descriptor_set bytea, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_options jsonb := coalesce(options, '{}');
	v_ns text;
	v_server text;
	v_dry boolean;
	v_key text;
	v_stored jsonb;
	v_report jsonb;
	v_out jsonb;
BEGIN
	IF jsonb_typeof(v_options) <> 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.options';
	END IF;
	FOR v_key IN SELECT k FROM jsonb_object_keys(v_options) k LOOP
		IF v_key NOT IN ('namespace', 'serverName', 'dryRun', 'prune', 'createdBy', 'seed') THEN
			RAISE EXCEPTION 'unknown generator option "%"', v_key USING ERRCODE = '22023',
				DETAIL = '$.options.' || v_key,
				HINT = 'Options are namespace, serverName, dryRun, prune, createdBy and seed.';
		END IF;
	END LOOP;
	v_ns := coalesce(nullif(mockarty_private.import_option(v_options, 'namespace', 'string') #>> '{}', ''),
		mockarty_private.caller_namespace(), 'sandbox');
	v_server := mockarty_private.import_option(v_options, 'serverName', 'string') #>> '{}';
	PERFORM mockarty_private.grpc_server_name_check(v_server);
	v_dry := coalesce((mockarty_private.import_option(v_options, 'dryRun', 'boolean') #>> '{}')::boolean, false);
	PERFORM mockarty_private.ns_check(v_ns);
	PERFORM mockarty_private.role_require('editor', 'generate mocks');
	IF descriptor_set IS NULL OR octet_length(descriptor_set) = 0 THEN
		RAISE EXCEPTION 'the descriptor set is empty' USING ERRCODE = '22023', DETAIL = '$.descriptorSet';
	END IF;
	IF v_dry THEN
		v_stored := mockarty_private.pb_describe(descriptor_set);
	ELSE
		v_stored := mockarty.grpc_descriptor_store(v_ns, v_server, descriptor_set,
			mockarty_private.import_option(v_options, 'createdBy', 'string') #>> '{}');
	END IF;
	v_report := mockarty_private.translate_grpc(descriptor_set, jsonb_build_object('namespace', v_ns,
		'serverName', v_server, 'seed', coalesce(mockarty_private.import_option(v_options, 'seed', 'number'), '1')));
	v_out := mockarty.import_mocks(v_report -> 'mocks', jsonb_build_object(
		'namespace', v_ns, 'source', 'grpc:' || v_server,
		'prune', coalesce(v_options -> 'prune', 'false'), 'dryRun', v_dry,
		'warnings', coalesce(v_report -> 'warnings', '[]')));
	RETURN v_out || jsonb_build_object(
		'errors', coalesce(v_out -> 'errors', '[]') || coalesce(v_report -> 'errors', '[]'),
		'serverName', v_server,
		'descriptor', CASE WHEN v_dry THEN v_stored ELSE v_stored - 'files' END);
END
$$;
COMMENT ON FUNCTION mockarty.generate_grpc(bytea, jsonb) IS 'The gRPC generator: stores the FileDescriptorSet as a new version of (namespace, serverName) (not when equal to the latest) and imports one mock per method with smart merge (source "grpc:<serverName>"), in one transaction. options: namespace (default: the caller''s, else sandbox), serverName (required), dryRun (a preview: nothing stored), prune, createdBy, seed. Answers mockarty.import_mocks''s report plus serverName and descriptor';
