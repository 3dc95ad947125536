-- 17_generated_servers.sql - the orchestrator's generated servers: definition, desired state and
-- current child, so servers survive an orchestrator restart.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

------------------------------------------------------------------------------
-- Generated servers
------------------------------------------------------------------------------
-- `mockarty-server-generator orchestrator` keeps one row per server it manages
-- (REST /api/v1/generated-servers): what to run (type, spec, namespace, port), whether
-- it should run, and the pid and start time of the child running it, which a
-- restarted orchestrator re-adopts. The name is the server's id and its serverName.

CREATE TABLE mockarty_private.generated_servers (
	name text PRIMARY KEY,
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	type text NOT NULL,
	spec text NOT NULL,
	port int NOT NULL CHECK (port BETWEEN 1 AND 65535),
	desired_state text NOT NULL DEFAULT 'running' CHECK (desired_state IN ('running', 'stopped')),
	pid int CHECK (pid > 0),
	started_at timestamptz,
	last_exit text,
	restarts int NOT NULL DEFAULT 0 CHECK (restarts >= 0),
	mocks jsonb,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.generated_servers IS 'Generated servers of the orchestrator (mockarty-server-generator orchestrator): definition, desired state and current child; included in pg_dump';
COMMENT ON COLUMN mockarty_private.generated_servers.name IS 'The server''s id and serverName (^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$)';
COMMENT ON COLUMN mockarty_private.generated_servers.type IS 'Server type (openapi)';
COMMENT ON COLUMN mockarty_private.generated_servers.spec IS 'The API specification text the server loads';
COMMENT ON COLUMN mockarty_private.generated_servers.desired_state IS 'running or stopped: what the orchestrator keeps the server at';
COMMENT ON COLUMN mockarty_private.generated_servers.pid IS 'Process id of the child running the server, NULL when none';
COMMENT ON COLUMN mockarty_private.generated_servers.started_at IS 'When the current child started';
COMMENT ON COLUMN mockarty_private.generated_servers.last_exit IS 'How the last child ended (exit N, signal N, stopped)';
COMMENT ON COLUMN mockarty_private.generated_servers.restarts IS 'Times the orchestrator restarted the server after its child ended';
COMMENT ON COLUMN mockarty_private.generated_servers.mocks IS 'The answer of the last import of the spec ({created,updated,skipped,warnings,errors} or {error})';
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.generated_servers', '');

CREATE FUNCTION mockarty_private.generated_server_json(g mockarty_private.generated_servers, with_spec boolean) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT jsonb_build_object(
		'name', g.name, 'namespace', g.namespace, 'type', g.type, 'port', g.port,
		'desiredState', g.desired_state, 'pid', g.pid,
		'startedAt', mockarty_private.rfc3339(g.started_at), 'lastExit', g.last_exit,
		'restarts', g.restarts, 'mocks', g.mocks,
		'createdAt', mockarty_private.rfc3339(g.created_at), 'updatedAt', mockarty_private.rfc3339(g.updated_at))
		|| CASE WHEN with_spec THEN jsonb_build_object('spec', g.spec) ELSE '{}' END
$$;
COMMENT ON FUNCTION mockarty_private.generated_server_json(mockarty_private.generated_servers, boolean) IS 'The API view of a generated server; with_spec adds the spec text';

CREATE FUNCTION mockarty.generated_server_put(server jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v jsonb := server;
	v_old mockarty_private.generated_servers;
	v_row mockarty_private.generated_servers;
	v_name text;
	v_ns text;
	v_key text;
BEGIN
	IF v IS NULL OR jsonb_typeof(v) <> 'object' THEN
		RAISE EXCEPTION 'a generated server must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	FOR v_key IN SELECT jsonb_object_keys(v) LOOP
		IF v_key NOT IN ('name', 'namespace', 'type', 'spec', 'port', 'desiredState', 'pid', 'startedAt',
				'lastExit', 'restarts', 'mocks', 'createdAt', 'updatedAt') THEN
			RAISE EXCEPTION 'unknown field "%"', v_key USING ERRCODE = '22023', DETAIL = '$.' || v_key,
				HINT = 'Fields are name, namespace, type, spec, port, desiredState, pid, startedAt, lastExit, restarts and mocks.';
		END IF;
	END LOOP;
	v_name := v ->> 'name';
	IF jsonb_typeof(v -> 'name') IS DISTINCT FROM 'string' OR v_name !~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$' THEN
		RAISE EXCEPTION 'invalid server name "%"', coalesce(v_name, '') USING ERRCODE = '22023', DETAIL = '$.name',
			HINT = 'Server names match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$.';
	END IF;
	SELECT * INTO v_old FROM mockarty_private.generated_servers g WHERE g.name = v_name FOR UPDATE;
	IF FOUND THEN
		-- a server of another namespace is not the caller's to change
		PERFORM mockarty_private.ns_check(v_old.namespace);
	END IF;
	v_ns := coalesce(nullif(v ->> 'namespace', ''), v_old.namespace, mockarty_private.caller_namespace(), 'sandbox');
	PERFORM mockarty_private.namespace_ensure(v_ns);
	IF v ? 'type' AND (v ->> 'type') IS DISTINCT FROM 'openapi' THEN
		RAISE EXCEPTION 'unknown server type "%"', v ->> 'type' USING ERRCODE = '22023', DETAIL = '$.type',
			HINT = 'This build has the openapi server type.';
	END IF;
	IF v ? 'spec' AND (jsonb_typeof(v -> 'spec') IS DISTINCT FROM 'string' OR v ->> 'spec' = '') THEN
		RAISE EXCEPTION 'spec must be a non-empty string' USING ERRCODE = '22023', DETAIL = '$.spec';
	END IF;
	IF v_old.name IS NULL AND NOT v ? 'spec' THEN
		RAISE EXCEPTION 'spec is required for a new server' USING ERRCODE = '22023', DETAIL = '$.spec';
	END IF;
	IF v ? 'port' AND (jsonb_typeof(v -> 'port') IS DISTINCT FROM 'number' OR (v ->> 'port')::numeric NOT BETWEEN 1 AND 65535
			OR (v ->> 'port')::numeric <> trunc((v ->> 'port')::numeric)) THEN
		RAISE EXCEPTION 'port must be an integer from 1 to 65535' USING ERRCODE = '22023', DETAIL = '$.port';
	END IF;
	IF v_old.name IS NULL AND NOT v ? 'port' THEN
		RAISE EXCEPTION 'port is required for a new server' USING ERRCODE = '22023', DETAIL = '$.port';
	END IF;
	IF v ? 'desiredState' AND (v ->> 'desiredState') IS DISTINCT FROM 'running' AND (v ->> 'desiredState') IS DISTINCT FROM 'stopped' THEN
		RAISE EXCEPTION 'desiredState must be running or stopped' USING ERRCODE = '22023', DETAIL = '$.desiredState';
	END IF;
	IF v ? 'pid' AND jsonb_typeof(v -> 'pid') <> 'null' AND (jsonb_typeof(v -> 'pid') <> 'number'
			OR (v ->> 'pid')::numeric < 0 OR (v ->> 'pid')::numeric > 2147483647
			OR (v ->> 'pid')::numeric <> trunc((v ->> 'pid')::numeric)) THEN
		RAISE EXCEPTION 'pid must be a process id or null' USING ERRCODE = '22023', DETAIL = '$.pid';
	END IF;
	IF v ? 'restarts' AND (jsonb_typeof(v -> 'restarts') <> 'number' OR (v ->> 'restarts')::numeric < 0
			OR (v ->> 'restarts')::numeric > 2147483647) THEN
		RAISE EXCEPTION 'restarts must be a non-negative integer' USING ERRCODE = '22023', DETAIL = '$.restarts';
	END IF;
	IF v ? 'startedAt' AND jsonb_typeof(v -> 'startedAt') NOT IN ('null', 'string') THEN
		RAISE EXCEPTION 'startedAt must be an RFC 3339 time or null' USING ERRCODE = '22023', DETAIL = '$.startedAt';
	END IF;
	IF v ? 'lastExit' AND jsonb_typeof(v -> 'lastExit') NOT IN ('null', 'string') THEN
		RAISE EXCEPTION 'lastExit must be a string or null' USING ERRCODE = '22023', DETAIL = '$.lastExit';
	END IF;
	BEGIN
		INSERT INTO mockarty_private.generated_servers AS g (name, namespace, type, spec, port, desired_state,
			pid, started_at, last_exit, restarts, mocks)
		VALUES (v_name, v_ns, coalesce(v ->> 'type', v_old.type, 'openapi'), coalesce(v ->> 'spec', v_old.spec),
			coalesce((v ->> 'port')::int, v_old.port), coalesce(v ->> 'desiredState', v_old.desired_state, 'running'),
			CASE WHEN v ? 'pid' THEN nullif((v ->> 'pid')::int, 0) ELSE v_old.pid END,
			CASE WHEN v ? 'startedAt' THEN (v ->> 'startedAt')::timestamptz ELSE v_old.started_at END,
			CASE WHEN v ? 'lastExit' THEN v ->> 'lastExit' ELSE v_old.last_exit END,
			coalesce((v ->> 'restarts')::int, v_old.restarts, 0),
			CASE WHEN v ? 'mocks' THEN nullif(v -> 'mocks', 'null') ELSE v_old.mocks END)
		ON CONFLICT (name) DO UPDATE SET namespace = EXCLUDED.namespace, type = EXCLUDED.type, spec = EXCLUDED.spec,
			port = EXCLUDED.port, desired_state = EXCLUDED.desired_state, pid = EXCLUDED.pid,
			started_at = EXCLUDED.started_at, last_exit = EXCLUDED.last_exit, restarts = EXCLUDED.restarts,
			mocks = EXCLUDED.mocks, updated_at = now()
		RETURNING * INTO v_row;
	EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
		RAISE EXCEPTION 'startedAt must be an RFC 3339 time or null' USING ERRCODE = '22023', DETAIL = '$.startedAt';
	END;
	RETURN mockarty_private.generated_server_json(v_row, false) || jsonb_build_object('created', v_old.name IS NULL);
END
$$;
COMMENT ON FUNCTION mockarty.generated_server_put(jsonb) IS 'Creates or updates (by name) a generated server from {name, namespace, type, spec, port, desiredState, pid, startedAt, lastExit, restarts, mocks}; absent fields keep their stored value (spec and port are required for a new one); returns the server without its spec plus "created"; 22023 naming the field ($.name, $.type, $.port, ...) for bad input; editors and admins only, a bound caller only in its namespace (42501)';

CREATE FUNCTION mockarty.generated_server_list(namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.generated_server_json(g, false) ORDER BY g.name), '[]')
	FROM mockarty_private.generated_servers g
	WHERE mockarty_private.ns_scope(generated_server_list.namespace) IS NULL
		OR g.namespace = mockarty_private.ns_scope(generated_server_list.namespace)
$$;
COMMENT ON FUNCTION mockarty.generated_server_list(text) IS 'Every generated server (without its spec) of one namespace or (NULL) of all visible ones, by name; a bound caller sees only its namespace';

CREATE FUNCTION mockarty.generated_server_get(name text) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	v_row mockarty_private.generated_servers;
BEGIN
	SELECT * INTO v_row FROM mockarty_private.generated_servers g WHERE g.name = generated_server_get.name;
	IF v_row.name IS NULL OR NOT mockarty_private.ns_visible(v_row.namespace) THEN
		RAISE EXCEPTION 'generated server "%" not found', name USING ERRCODE = 'P0002', DETAIL = '$.name';
	END IF;
	RETURN mockarty_private.generated_server_json(v_row, true);
END
$$;
COMMENT ON FUNCTION mockarty.generated_server_get(text) IS 'One generated server with its spec; P0002 when absent or in a namespace the caller cannot see';

CREATE FUNCTION mockarty.generated_server_delete(name text) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
	v_ns text;
BEGIN
	SELECT g.namespace INTO v_ns FROM mockarty_private.generated_servers g WHERE g.name = generated_server_delete.name;
	IF v_ns IS NULL OR NOT mockarty_private.ns_visible(v_ns) THEN
		RAISE EXCEPTION 'generated server "%" not found', name USING ERRCODE = 'P0002', DETAIL = '$.name';
	END IF;
	PERFORM mockarty_private.role_require('editor', 'delete generated servers');
	DELETE FROM mockarty_private.generated_servers g WHERE g.name = generated_server_delete.name;
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.generated_server_delete(text) IS 'Deletes a generated server''s row (the orchestrator stops its child; its mocks stay); P0002 when absent or not visible; editors and admins only (42501)';
