-- mockarty.sql - full install script of the mockarty extension (source of truth).
--
-- The build copies this file to mockarty--<version>.sql. Tables live in
-- mockarty_private; the API (what the admin node and DBAs call) is the mockarty
-- schema. Every write to a mock goes through mockarty_private.log_change(), which
-- bumps a one-row counter inside the writing transaction: the row lock serialises
-- writers, so change versions are gap-free and in commit order, and the change log
-- is what nodes replay. NOTIFY only rings the doorbell.

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION mockarty" to load this file. \quit

CREATE SCHEMA mockarty;
COMMENT ON SCHEMA mockarty IS 'API of the mockarty mock server: functions only, tables live in mockarty_private';

CREATE SCHEMA mockarty_private;
COMMENT ON SCHEMA mockarty_private IS 'Tables and internal helpers of the mockarty extension; use the mockarty schema instead';

------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------

CREATE TABLE mockarty_private.namespaces (
	name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.namespaces IS 'Namespaces; sandbox always exists';

INSERT INTO mockarty_private.namespaces (name) VALUES ('sandbox');

CREATE TABLE mockarty_private.folders (
	id text PRIMARY KEY,
	name text NOT NULL,
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	parent_id text REFERENCES mockarty_private.folders (id) ON DELETE SET NULL,
	sort_order int NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.folders IS 'UI folders that group mocks; a tree through parent_id';

CREATE TABLE mockarty_private.mocks (
	id text PRIMARY KEY,
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	doc jsonb NOT NULL,
	route text,
	http_method text,
	priority bigint NOT NULL DEFAULT 0,
	chain_id text,
	folder_id text,
	tags text[] NOT NULL DEFAULT '{}',
	ttl bigint,
	expire_at timestamptz,
	use_limiter bigint NOT NULL DEFAULT 0,
	use_counter bigint NOT NULL DEFAULT 0,
	oneof_cursor bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	last_use timestamptz,
	closed_at timestamptz,
	version int NOT NULL DEFAULT 1,
	change_version bigint NOT NULL
);
COMMENT ON TABLE mockarty_private.mocks IS 'Mocks: doc is the mock as the user gave it minus server fields (id, namespace, timestamps, useCounter); the other columns are derived from it or maintained by the server';
COMMENT ON COLUMN mockarty_private.mocks.version IS 'Per-mock version number, the newest row of mock_versions';
COMMENT ON COLUMN mockarty_private.mocks.change_version IS 'Change-log version at which this mock was last written';
COMMENT ON COLUMN mockarty_private.mocks.oneof_cursor IS 'Position of the next sequential oneOf response';

CREATE INDEX mocks_namespace_idx ON mockarty_private.mocks (namespace);
CREATE INDEX mocks_chain_idx ON mockarty_private.mocks (chain_id) WHERE chain_id IS NOT NULL;
CREATE INDEX mocks_tags_idx ON mockarty_private.mocks USING gin (tags);

CREATE TABLE mockarty_private.mock_versions (
	mock_id text NOT NULL REFERENCES mockarty_private.mocks (id) ON DELETE CASCADE,
	version int NOT NULL,
	doc jsonb NOT NULL,
	saved_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (mock_id, version)
);
COMMENT ON TABLE mockarty_private.mock_versions IS 'Every saved state of every mock (doc includes id and namespace)';

CREATE TABLE mockarty_private.mock_store (
	mock_id text PRIMARY KEY REFERENCES mockarty_private.mocks (id) ON DELETE CASCADE,
	data jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE mockarty_private.mock_store IS 'Per-mock store ($.mS), seeded from the mock''s mStore on save';

CREATE TABLE mockarty_private.global_store (
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	key text NOT NULL,
	value jsonb NOT NULL,
	PRIMARY KEY (namespace, key)
);
COMMENT ON TABLE mockarty_private.global_store IS 'Namespace global store ($.gS), one row per key';

CREATE TABLE mockarty_private.chain_store (
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	chain_id text NOT NULL,
	key text NOT NULL,
	value jsonb NOT NULL,
	PRIMARY KEY (namespace, chain_id, key)
);
COMMENT ON TABLE mockarty_private.chain_store IS 'Chain stores ($.cS) per namespace and chainId, one row per key';

CREATE TABLE mockarty_private.request_logs (
	id bigserial PRIMARY KEY,
	mock_id text NOT NULL REFERENCES mockarty_private.mocks (id) ON DELETE CASCADE,
	called_at timestamptz NOT NULL DEFAULT now(),
	req jsonb,
	response jsonb
);
COMMENT ON TABLE mockarty_private.request_logs IS 'Last requests per mock, bounded by the GUC mockarty.log_limit';
CREATE INDEX request_logs_mock_idx ON mockarty_private.request_logs (mock_id, id);

CREATE TABLE mockarty_private.undefined_requests (
	id bigserial PRIMARY KEY,
	namespace text NOT NULL,
	method text NOT NULL,
	path text NOT NULL,
	protocol text NOT NULL DEFAULT 'http',
	headers jsonb NOT NULL DEFAULT '{}',
	body jsonb,
	count bigint NOT NULL DEFAULT 1,
	first_seen timestamptz NOT NULL DEFAULT now(),
	last_seen timestamptz NOT NULL DEFAULT now(),
	ignored boolean NOT NULL DEFAULT false,
	-- the dedup key is a digest, so a miss on an arbitrarily long path still fits an
	-- index row (a btree entry is limited to about 2.7 kB); md5 is enough for grouping
	-- misses and, unlike the bytea digests, immutable as a generated column needs
	request_key text GENERATED ALWAYS AS (md5(
		length(namespace)::text || ':' || namespace || length(method)::text || ':' || method || path)) STORED,
	UNIQUE (request_key)
);
COMMENT ON TABLE mockarty_private.undefined_requests IS 'Requests no mock matched, one row per namespace+method+path (deduplicated by request_key, an MD5 of the three)';

CREATE TABLE mockarty_private.tags (
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	name text NOT NULL CHECK (name <> ''),
	PRIMARY KEY (namespace, name)
);
COMMENT ON TABLE mockarty_private.tags IS 'Registered tags (for autocomplete); tags used by mocks are listed too';

CREATE TABLE mockarty_private.users (
	id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
	login text NOT NULL UNIQUE CHECK (login <> ''),
	password_hash text,
	role text NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'editor', 'viewer')),
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.users IS 'Users; password_hash is bcrypt (pgcrypto), NULL = cannot log in';

CREATE TABLE mockarty_private.api_tokens (
	id text PRIMARY KEY,
	name text NOT NULL,
	user_id text NOT NULL REFERENCES mockarty_private.users (id) ON DELETE CASCADE,
	namespace text REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	secret_hash text NOT NULL,
	enabled boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.api_tokens IS 'mk_ API tokens: id is the public lookup id inside the token, secret_hash the bcrypt hash of the secret part';

CREATE TABLE mockarty_private.change_counter (
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	version bigint NOT NULL
);
COMMENT ON TABLE mockarty_private.change_counter IS 'One row: the head change version. Created by the first write (so pg_dump can restore it), bumped by every mock-writing transaction; its row lock orders writers';

CREATE TABLE mockarty_private.change_log (
	version bigint PRIMARY KEY,
	op text NOT NULL CHECK (op IN ('upsert', 'delete')),
	namespace text NOT NULL,
	mock_id text NOT NULL,
	changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.change_log IS 'Gap-free, commit-ordered log of mock changes that nodes replay';

-- pg_dump must keep user data; CREATE EXTENSION re-seeds sandbox itself.
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.namespaces', 'WHERE name <> ''sandbox''');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.folders', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.mocks', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.mock_versions', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.mock_store', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.global_store', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.chain_store', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.request_logs', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.request_logs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.undefined_requests', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.undefined_requests_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.tags', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.users', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.api_tokens', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.change_counter', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.change_log', '');

------------------------------------------------------------------------------
-- Internal helpers
------------------------------------------------------------------------------

CREATE FUNCTION mockarty_private.unix(ts timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT floor(extract(epoch FROM ts))::bigint $$;
COMMENT ON FUNCTION mockarty_private.unix(timestamptz) IS 'Unix seconds of a timestamp (NULL stays NULL)';

CREATE FUNCTION mockarty_private.rfc3339(ts timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;
COMMENT ON FUNCTION mockarty_private.rfc3339(timestamptz) IS 'RFC 3339 text of a timestamp in UTC';

CREATE FUNCTION mockarty_private.server_fields() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['id', 'namespace', 'createdAt', 'updatedAt', 'lastUse', 'expireAt', 'closedAt', 'useCounter', '_meta', 'version'] $$;
COMMENT ON FUNCTION mockarty_private.server_fields() IS 'Top-level mock keys the server owns; they are stripped from stored documents';

CREATE FUNCTION mockarty_private.mock_json(m mockarty_private.mocks) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT m.doc || jsonb_build_object('id', m.id, 'namespace', m.namespace) || meta
		|| jsonb_build_object('_meta', meta)
	FROM (SELECT jsonb_strip_nulls(jsonb_build_object(
		'createdAt', mockarty_private.unix(m.created_at),
		'updatedAt', mockarty_private.unix(m.updated_at),
		'lastUse', mockarty_private.unix(m.last_use),
		'expireAt', mockarty_private.unix(m.expire_at),
		'closedAt', mockarty_private.unix(m.closed_at),
		'useCounter', m.use_counter)) AS meta) s
$$;
COMMENT ON FUNCTION mockarty_private.mock_json(mockarty_private.mocks) IS 'A mock row as the API returns it: the document plus id, namespace and server fields (Unix seconds) at top level and under _meta; unset timestamps are omitted';

CREATE FUNCTION mockarty_private.json_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
	result jsonb;
	k text;
	v jsonb;
BEGIN
	IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
		RETURN patch;
	END IF;
	IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN
		result := '{}';
	ELSE
		result := target;
	END IF;
	FOR k, v IN SELECT * FROM jsonb_each(patch) LOOP
		IF jsonb_typeof(v) = 'null' THEN
			result := result - k;
		ELSE
			result := jsonb_set(result, ARRAY[k],
				mockarty_private.json_merge_patch(result -> k, v), true);
		END IF;
	END LOOP;
	RETURN result;
END
$$;
COMMENT ON FUNCTION mockarty_private.json_merge_patch(jsonb, jsonb) IS 'RFC 7386 JSON merge patch of target by patch';

CREATE FUNCTION mockarty_private.namespace_ensure(ns text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	IF ns IS NULL OR ns !~ '^[a-z0-9][a-z0-9_.-]{0,62}$' THEN
		RAISE EXCEPTION 'invalid namespace name "%"', ns
			USING ERRCODE = '22023', DETAIL = '$.namespace',
			HINT = 'Namespace names match ^[a-z0-9][a-z0-9_.-]{0,62}$.';
	END IF;
	-- a plain lookup first: a batch writes thousands of mocks into existing namespaces
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.namespaces WHERE name = ns) THEN
		INSERT INTO mockarty_private.namespaces (name) VALUES (ns) ON CONFLICT DO NOTHING;
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.namespace_ensure(text) IS 'Creates a namespace on first use; 22023 for an invalid name';

CREATE FUNCTION mockarty_private.log_change(p_op text, p_namespace text, p_mock_id text) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
	v bigint;
BEGIN
	-- The row lock taken here is held to commit, so a later writer gets the next
	-- number only after this transaction committed or rolled back: no gaps, and
	-- versions follow commit order.
	-- Inside mockarty_private.batch_begin()/batch_end() the row is already locked
	-- and the running number lives in a transaction-local setting: updating the
	-- same row thousands of times in one transaction would make each update walk
	-- a longer chain of dead row versions.
	v := nullif(current_setting('mockarty_private.batch_version', true), '')::bigint;
	IF v IS NOT NULL THEN
		v := v + 1;
		PERFORM pg_catalog.set_config('mockarty_private.batch_version', v::text, true);
	ELSE
		INSERT INTO mockarty_private.change_counter AS c (singleton, version) VALUES (true, 1)
		ON CONFLICT (singleton) DO UPDATE SET version = c.version + 1
		RETURNING c.version INTO v;
	END IF;
	INSERT INTO mockarty_private.change_log (version, op, namespace, mock_id)
	VALUES (v, p_op, p_namespace, p_mock_id);
	-- One doorbell per transaction is enough (listeners read the change log from
	-- their own version): a batch of 10,000 mocks must not queue 10,000
	-- notifications. The transaction-local setting remembers that it rang.
	IF coalesce(current_setting('mockarty_private.notified', true), '') = '' THEN
		PERFORM pg_catalog.pg_notify('mockarty_changes', v::text);
		PERFORM pg_catalog.set_config('mockarty_private.notified', 'on', true);
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION mockarty_private.log_change(text, text, text) IS 'Bumps the change counter, appends to the change log and rings NOTIFY mockarty_changes once per transaction (payload: its first version, a hint); returns the new version';

CREATE FUNCTION mockarty_private.batch_begin() RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	v bigint;
BEGIN
	-- takes the counter's row lock now (held to commit) and starts numbering from it
	INSERT INTO mockarty_private.change_counter AS c (singleton, version) VALUES (true, 0)
	ON CONFLICT (singleton) DO UPDATE SET version = c.version
	RETURNING c.version INTO v;
	PERFORM pg_catalog.set_config('mockarty_private.batch_version', v::text, true);
END
$$;
COMMENT ON FUNCTION mockarty_private.batch_begin() IS 'Starts a batch of mock writes in this transaction: locks the change counter and lets log_change() number changes in memory until batch_end()';

CREATE FUNCTION mockarty_private.batch_end() RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	v bigint := nullif(current_setting('mockarty_private.batch_version', true), '')::bigint;
BEGIN
	IF v IS NOT NULL THEN
		UPDATE mockarty_private.change_counter SET version = v WHERE version <> v;
		PERFORM pg_catalog.set_config('mockarty_private.batch_version', '', true);
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.batch_end() IS 'Ends a batch started by batch_begin(): stores the last version numbered in memory into the change counter';

CREATE FUNCTION mockarty_private.raise_not_found(what text, id text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	RAISE EXCEPTION '% "%" does not exist', what, id USING ERRCODE = 'P0002';
END
$$;
COMMENT ON FUNCTION mockarty_private.raise_not_found(text, text) IS 'Raises P0002 no_data_found naming the missing object';

------------------------------------------------------------------------------
-- Validation (C, core's validator)
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.validate_mock(mock jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'mockarty_validate_mock'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mockarty.validate_mock(jsonb) IS 'Checks a mock with core''s validator: NULL when valid, else {"path":"$.x","error":"..."}';

------------------------------------------------------------------------------
-- Namespaces
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.namespace_create(name text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM mockarty_private.namespaces n WHERE n.name = namespace_create.name) THEN
		RAISE EXCEPTION 'namespace "%" already exists', name USING ERRCODE = '23505';
	END IF;
	PERFORM mockarty_private.namespace_ensure(name);
END
$$;
COMMENT ON FUNCTION mockarty.namespace_create(text) IS 'Creates a namespace; 23505 if it exists, 22023 for a bad name';

CREATE FUNCTION mockarty.namespace_list() RETURNS SETOF text
LANGUAGE sql STABLE
AS $$
	SELECT name FROM mockarty_private.namespaces ORDER BY name <> 'sandbox', name
$$;
COMMENT ON FUNCTION mockarty.namespace_list() IS 'All namespaces, sandbox first, then by name';

------------------------------------------------------------------------------
-- Mocks
------------------------------------------------------------------------------

CREATE FUNCTION mockarty_private.mock_write(p_mock jsonb, p_namespace text, p_reset boolean,
	p_path text DEFAULT '$') RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_id text;
	v_ns text;
	v_doc jsonb;
	v_err jsonb;
	v_old mockarty_private.mocks;
	v_found boolean;
	v_row mockarty_private.mocks;
	v_ver bigint;
	v_ttl bigint;
	v_tags text[];
BEGIN
	IF p_mock IS NULL OR jsonb_typeof(p_mock) <> 'object' THEN
		RAISE EXCEPTION 'mock must be a JSON object' USING ERRCODE = '22023', DETAIL = p_path;
	END IF;
	IF p_mock ? 'id' AND jsonb_typeof(p_mock -> 'id') NOT IN ('string', 'null') THEN
		RAISE EXCEPTION 'id must be a string' USING ERRCODE = '22023', DETAIL = p_path || '.id';
	END IF;
	v_id := nullif(p_mock ->> 'id', '');
	IF v_id IS NULL THEN
		v_id := gen_random_uuid()::text;
	END IF;
	IF p_mock ? 'namespace' AND jsonb_typeof(p_mock -> 'namespace') NOT IN ('string', 'null') THEN
		RAISE EXCEPTION 'namespace must be a string' USING ERRCODE = '22023', DETAIL = p_path || '.namespace';
	END IF;
	v_ns := coalesce(p_namespace, nullif(p_mock ->> 'namespace', ''), 'sandbox');
	v_doc := p_mock - mockarty_private.server_fields();

	v_err := mockarty.validate_mock(v_doc || jsonb_build_object('id', v_id, 'namespace', v_ns));
	IF v_err IS NOT NULL THEN
		RAISE EXCEPTION '%', v_err ->> 'error' USING ERRCODE = '22023',
			DETAIL = p_path || substr(coalesce(v_err ->> 'path', '$'), 2),
			HINT = 'Fix the field named in DETAIL and save the mock again.';
	END IF;
	PERFORM mockarty_private.namespace_ensure(v_ns);

	SELECT * INTO v_old FROM mockarty_private.mocks WHERE id = v_id FOR UPDATE;
	v_found := FOUND;
	IF v_found AND v_old.namespace <> v_ns THEN
		-- nodes index mocks by namespace: retract it from the old one first
		PERFORM mockarty_private.log_change('delete', v_old.namespace, v_id);
	END IF;
	v_ver := mockarty_private.log_change('upsert', v_ns, v_id);
	v_ttl := CASE WHEN jsonb_typeof(v_doc -> 'ttl') = 'number' THEN (v_doc ->> 'ttl')::numeric::bigint END;
	IF v_ttl IS NOT NULL AND v_ttl <= 0 THEN
		v_ttl := NULL;
	END IF;
	SELECT coalesce(array_agg(t), '{}') INTO v_tags
	FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(v_doc -> 'tags') = 'array' THEN v_doc -> 'tags' ELSE '[]' END) t;

	IF NOT v_found THEN
		INSERT INTO mockarty_private.mocks (id, namespace, doc, route, http_method, priority, chain_id,
			folder_id, tags, ttl, expire_at, use_limiter, use_counter, oneof_cursor, version, change_version)
		VALUES (v_id, v_ns, v_doc, v_doc #>> '{http,route}', upper(v_doc #>> '{http,httpMethod}'),
			coalesce((v_doc ->> 'priority')::numeric::bigint, 0), v_doc ->> 'chainId', v_doc ->> 'folderId',
			v_tags, v_ttl, now() + make_interval(secs => v_ttl),
			coalesce((v_doc ->> 'useLimiter')::numeric::bigint, 0), 0,
			coalesce((v_doc #>> '{oneOf,offset}')::numeric::bigint, 0), 1, v_ver)
		RETURNING * INTO v_row;
		INSERT INTO mockarty_private.mock_store (mock_id, data)
		VALUES (v_id, CASE WHEN jsonb_typeof(v_doc -> 'mStore') = 'object' THEN v_doc -> 'mStore' ELSE '{}' END);
	ELSE
		UPDATE mockarty_private.mocks SET
			namespace = v_ns, doc = v_doc,
			route = v_doc #>> '{http,route}', http_method = upper(v_doc #>> '{http,httpMethod}'),
			priority = coalesce((v_doc ->> 'priority')::numeric::bigint, 0),
			chain_id = v_doc ->> 'chainId', folder_id = v_doc ->> 'folderId', tags = v_tags, ttl = v_ttl,
			expire_at = CASE WHEN p_reset OR v_ttl IS DISTINCT FROM v_old.ttl
				THEN now() + make_interval(secs => v_ttl) ELSE v_old.expire_at END,
			use_limiter = coalesce((v_doc ->> 'useLimiter')::numeric::bigint, 0),
			use_counter = CASE WHEN p_reset THEN 0 ELSE use_counter END,
			last_use = CASE WHEN p_reset THEN NULL ELSE last_use END,
			closed_at = CASE WHEN p_reset THEN NULL ELSE closed_at END,
			oneof_cursor = CASE WHEN p_reset THEN coalesce((v_doc #>> '{oneOf,offset}')::numeric::bigint, 0)
				ELSE oneof_cursor END,
			updated_at = now(), version = version + 1, change_version = v_ver
		WHERE id = v_id
		RETURNING * INTO v_row;
		IF p_reset THEN
			UPDATE mockarty_private.mock_store
			SET data = CASE WHEN jsonb_typeof(v_doc -> 'mStore') = 'object' THEN v_doc -> 'mStore' ELSE '{}' END
			WHERE mock_id = v_id;
		END IF;
	END IF;
	INSERT INTO mockarty_private.mock_versions (mock_id, version, doc)
	VALUES (v_id, v_row.version, v_doc || jsonb_build_object('id', v_id, 'namespace', v_ns));
	RETURN jsonb_build_object('overwritten', v_found, 'mock', mockarty_private.mock_json(v_row));
END
$$;
COMMENT ON FUNCTION mockarty_private.mock_write(jsonb, text, boolean, text) IS 'Validates and stores one mock, writes a version row and a change-log row. p_reset (a full save) restarts useCounter, lastUse, closedAt, the oneOf cursor and the mock store; p_path prefixes the JSON path in validation errors';

CREATE FUNCTION mockarty.mock_save(mock jsonb, namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT mockarty_private.mock_write(mock, namespace, true) $$;
COMMENT ON FUNCTION mockarty.mock_save(jsonb, text) IS 'Upserts a mock by id (generated when absent) and returns {"overwritten":bool,"mock":{...}}; namespace: argument, else the mock''s namespace, else sandbox; 22023 with the JSON path in DETAIL when invalid';

CREATE FUNCTION mockarty.mock_get(id text, include_deleted boolean DEFAULT true) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT mockarty_private.mock_json(m) FROM mockarty_private.mocks m
	WHERE m.id = mock_get.id AND (include_deleted OR m.closed_at IS NULL)
$$;
COMMENT ON FUNCTION mockarty.mock_get(text, boolean) IS 'One mock with server fields, NULL when unknown (or deleted and include_deleted is false)';

CREATE FUNCTION mockarty.mock_patch(id text, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
	merged jsonb;
BEGIN
	SELECT * INTO m FROM mockarty_private.mocks x WHERE x.id = mock_patch.id FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('mock', id);
	END IF;
	IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
		RAISE EXCEPTION 'patch must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	merged := mockarty_private.json_merge_patch(m.doc || jsonb_build_object('namespace', m.namespace),
		patch - mockarty_private.server_fields() - 'namespace'
			|| CASE WHEN patch ? 'namespace' THEN jsonb_build_object('namespace', patch -> 'namespace') ELSE '{}' END);
	merged := merged || jsonb_build_object('id', m.id);
	RETURN mockarty_private.mock_write(merged, NULL, false) -> 'mock';
END
$$;
COMMENT ON FUNCTION mockarty.mock_patch(text, jsonb) IS 'RFC 7386 merge patch of a mock, validated like a save; keeps use counter, cursor and stores; P0002 for an unknown id';

CREATE FUNCTION mockarty.mock_list(namespace text DEFAULT NULL, tags text[] DEFAULT NULL, search text DEFAULT NULL,
	off int DEFAULT 0, lim int DEFAULT 50, include_deleted boolean DEFAULT false) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	WITH sel AS (
		SELECT m FROM mockarty_private.mocks m
		WHERE (mock_list.namespace IS NULL OR m.namespace = mock_list.namespace)
		  AND (mock_list.tags IS NULL OR m.tags @> mock_list.tags)
		  AND (search IS NULL OR search = ''
		       OR strpos(lower(m.id), lower(search)) > 0
		       OR strpos(lower(coalesce(m.route, '')), lower(search)) > 0)
		  AND (include_deleted OR m.closed_at IS NULL)
	), total AS (SELECT count(*) AS n FROM sel)
	SELECT jsonb_build_object(
		'items', coalesce((SELECT jsonb_agg(mockarty_private.mock_json(p.m) ORDER BY (p.m).id)
			FROM (SELECT m FROM sel ORDER BY (m).id OFFSET greatest(off, 0) LIMIT greatest(lim, 0)) p), '[]'),
		'total', total.n,
		'offset', greatest(off, 0),
		'limit', greatest(lim, 0),
		'hasMore', greatest(off, 0) + greatest(lim, 0) < total.n)
	FROM total
$$;
COMMENT ON FUNCTION mockarty.mock_list(text, text[], text, int, int, boolean) IS 'Page of mocks ordered by id: namespace NULL = all, tags = must carry all of them, search = case-insensitive substring of id or route; {"items","total","offset","limit","hasMore"}';

CREATE FUNCTION mockarty.mock_delete(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
BEGIN
	SELECT * INTO m FROM mockarty_private.mocks x WHERE x.id = mock_delete.id AND x.closed_at IS NULL FOR UPDATE;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	UPDATE mockarty_private.mocks x SET closed_at = now(), updated_at = now(),
		change_version = mockarty_private.log_change('delete', m.namespace, m.id)
	WHERE x.id = m.id;
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.mock_delete(text) IS 'Soft delete: sets closedAt, the mock stops matching; false when unknown or already deleted';

CREATE FUNCTION mockarty.mock_restore(id text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
BEGIN
	SELECT * INTO m FROM mockarty_private.mocks x WHERE x.id = mock_restore.id FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('mock', id);
	END IF;
	IF m.closed_at IS NOT NULL THEN
		UPDATE mockarty_private.mocks x SET closed_at = NULL, updated_at = now(),
			change_version = mockarty_private.log_change('upsert', m.namespace, m.id)
		WHERE x.id = m.id
		RETURNING * INTO m;
	END IF;
	RETURN mockarty_private.mock_json(m);
END
$$;
COMMENT ON FUNCTION mockarty.mock_restore(text) IS 'Clears closedAt of a soft-deleted mock and returns it; P0002 for an unknown id';

CREATE FUNCTION mockarty.mock_purge(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
BEGIN
	DELETE FROM mockarty_private.mocks x WHERE x.id = mock_purge.id RETURNING * INTO m;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	PERFORM mockarty_private.log_change('delete', m.namespace, m.id);
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.mock_purge(text) IS 'Hard delete of a mock with its versions, logs and mock store; false when unknown';

CREATE FUNCTION mockarty.mock_batch_save(mocks jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	-- an array variable grows in place (expanded array); appending to a jsonb value
	-- would copy the whole result on every element and make large batches quadratic
	out_mocks jsonb[] := '{}';
	created int := 0;
	r jsonb;
	i int := 0;
	elem jsonb;
BEGIN
	IF mocks IS NULL OR jsonb_typeof(mocks) <> 'array' THEN
		RAISE EXCEPTION 'mocks must be a JSON array' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	PERFORM mockarty_private.batch_begin();
	FOR elem IN SELECT value FROM jsonb_array_elements(mocks) LOOP
		r := mockarty_private.mock_write(elem, NULL, true, '$[' || i || ']');
		IF NOT (r ->> 'overwritten')::boolean THEN
			created := created + 1;
		END IF;
		out_mocks := array_append(out_mocks, r -> 'mock');
		i := i + 1;
	END LOOP;
	PERFORM mockarty_private.batch_end();
	RETURN jsonb_build_object('created', created, 'mocks', to_jsonb(out_mocks));
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_save(jsonb) IS 'Saves an array of mocks, all or nothing; DETAIL of a validation error starts with the array index ($[2].http...); returns {"created":N,"mocks":[...]}';

CREATE FUNCTION mockarty.mock_batch_delete(ids text[]) RETURNS int
LANGUAGE sql
AS $$ SELECT count(*) FILTER (WHERE mockarty.mock_delete(i))::int FROM unnest(ids) i $$;
COMMENT ON FUNCTION mockarty.mock_batch_delete(text[]) IS 'Soft-deletes mocks; returns how many changed';

CREATE FUNCTION mockarty.mock_batch_restore(ids text[]) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n int := 0;
	i text;
BEGIN
	FOR i IN SELECT DISTINCT x FROM unnest(ids) x LOOP
		IF EXISTS (SELECT 1 FROM mockarty_private.mocks WHERE id = i AND closed_at IS NOT NULL) THEN
			PERFORM mockarty.mock_restore(i);
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_restore(text[]) IS 'Restores soft-deleted mocks; returns how many changed';

CREATE FUNCTION mockarty.mock_batch_purge(ids text[]) RETURNS int
LANGUAGE sql
AS $$ SELECT count(*) FILTER (WHERE mockarty.mock_purge(i))::int FROM (SELECT DISTINCT i FROM unnest(ids) i) d $$;
COMMENT ON FUNCTION mockarty.mock_batch_purge(text[]) IS 'Hard-deletes mocks; returns how many existed';

CREATE FUNCTION mockarty.mock_batch_move(ids text[], folder_id text) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n int := 0;
	m mockarty_private.mocks;
BEGIN
	IF folder_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mockarty_private.folders f WHERE f.id = folder_id) THEN
		PERFORM mockarty_private.raise_not_found('folder', folder_id);
	END IF;
	FOR m IN SELECT * FROM mockarty_private.mocks WHERE id = ANY (ids) ORDER BY id FOR UPDATE LOOP
		PERFORM mockarty_private.mock_write(
			CASE WHEN folder_id IS NULL THEN m.doc - 'folderId' ELSE m.doc || jsonb_build_object('folderId', folder_id) END
				|| jsonb_build_object('id', m.id), m.namespace, false);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_move(text[], text) IS 'Moves mocks into a folder (NULL = no folder); returns how many changed; P0002 for an unknown folder';

CREATE FUNCTION mockarty.mock_batch_tags(ids text[], tags text[]) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n int := 0;
	m mockarty_private.mocks;
BEGIN
	FOR m IN SELECT * FROM mockarty_private.mocks WHERE id = ANY (ids) ORDER BY id FOR UPDATE LOOP
		PERFORM mockarty_private.mock_write(m.doc || jsonb_build_object('id', m.id, 'tags', to_jsonb(coalesce(tags, '{}'))),
			m.namespace, false);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_tags(text[], text[]) IS 'Replaces the tags of mocks; returns how many changed';

CREATE FUNCTION mockarty.mock_copy_to_namespace(ids text[], target text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
	new_id text;
	n int;
	copies jsonb := '[]';
BEGIN
	PERFORM mockarty_private.namespace_ensure(target);
	FOR m IN SELECT * FROM mockarty_private.mocks WHERE id = ANY (ids) ORDER BY id LOOP
		new_id := m.id || '-' || target;
		n := 2;
		WHILE EXISTS (SELECT 1 FROM mockarty_private.mocks WHERE id = new_id) LOOP
			new_id := m.id || '-' || target || '-' || n;
			n := n + 1;
		END LOOP;
		copies := copies || jsonb_build_array(
			mockarty_private.mock_write(m.doc || jsonb_build_object('id', new_id), target, true) -> 'mock');
	END LOOP;
	RETURN copies;
END
$$;
COMMENT ON FUNCTION mockarty.mock_copy_to_namespace(text[], text) IS 'Copies mocks into another namespace (created when missing); copy ids are <id>-<target>, or <id>-<target>-N when that is taken; returns the copies';

CREATE FUNCTION mockarty.mock_versions(id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(v.doc || jsonb_build_object('version', v.version,
		'createdAt', mockarty_private.unix(v.saved_at)) ORDER BY v.version DESC), '[]')
	FROM mockarty_private.mock_versions v WHERE v.mock_id = mock_versions.id
$$;
COMMENT ON FUNCTION mockarty.mock_versions(text) IS 'Every saved version of a mock, newest first, each with "version":N';

CREATE FUNCTION mockarty.mock_version(id text, version int) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT v.doc || jsonb_build_object('version', v.version, 'createdAt', mockarty_private.unix(v.saved_at))
	FROM mockarty_private.mock_versions v WHERE v.mock_id = mock_version.id AND v.version = mock_version.version
$$;
COMMENT ON FUNCTION mockarty.mock_version(text, int) IS 'One saved version of a mock, NULL when unknown';

CREATE FUNCTION mockarty.mock_version_restore(id text, version int) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	d jsonb;
BEGIN
	SELECT v.doc INTO d FROM mockarty_private.mock_versions v
	WHERE v.mock_id = mock_version_restore.id AND v.version = mock_version_restore.version;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('mock version', id || '@' || version);
	END IF;
	RETURN mockarty_private.mock_write(d, NULL, true) -> 'mock';
END
$$;
COMMENT ON FUNCTION mockarty.mock_version_restore(text, int) IS 'Saves an old version as the newest one and returns the mock; P0002 when the version is unknown';

CREATE FUNCTION mockarty.mock_chain(chain_id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.mock_json(m) ORDER BY m.id), '[]')
	FROM mockarty_private.mocks m WHERE m.chain_id = mock_chain.chain_id AND m.closed_at IS NULL
$$;
COMMENT ON FUNCTION mockarty.mock_chain(text) IS 'Live mocks sharing a chainId, ordered by id';

CREATE FUNCTION mockarty.mock_chain_delete(chain_id text) RETURNS int
LANGUAGE sql
AS $$
	SELECT count(*) FILTER (WHERE mockarty.mock_delete(m.id))::int
	FROM (SELECT id FROM mockarty_private.mocks x WHERE x.chain_id = mock_chain_delete.chain_id
	      AND x.closed_at IS NULL ORDER BY id) m
$$;
COMMENT ON FUNCTION mockarty.mock_chain_delete(text) IS 'Soft-deletes every live mock of a chain; returns how many';

------------------------------------------------------------------------------
-- Request logs and undefined requests
------------------------------------------------------------------------------

CREATE FUNCTION mockarty_private.log_limit() RETURNS int
LANGUAGE sql STABLE
AS $$ SELECT greatest(coalesce(nullif(current_setting('mockarty.log_limit', true), '')::int, 3), 0) $$;
COMMENT ON FUNCTION mockarty_private.log_limit() IS 'Value of the GUC mockarty.log_limit (3 when the module is not loaded)';

CREATE FUNCTION mockarty_private.log_insert(p_mock_id text, p_req jsonb, p_response jsonb, p_at timestamptz)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.mocks WHERE id = p_mock_id) THEN
		PERFORM mockarty_private.raise_not_found('mock', p_mock_id);
	END IF;
	INSERT INTO mockarty_private.request_logs (mock_id, called_at, req, response)
	VALUES (p_mock_id, coalesce(p_at, now()), p_req, p_response);
	DELETE FROM mockarty_private.request_logs l
	WHERE l.mock_id = p_mock_id AND l.id NOT IN (
		SELECT k.id FROM mockarty_private.request_logs k WHERE k.mock_id = p_mock_id
		ORDER BY k.called_at DESC, k.id DESC LIMIT mockarty_private.log_limit());
END
$$;
COMMENT ON FUNCTION mockarty_private.log_insert(text, jsonb, jsonb, timestamptz) IS 'Appends a request log and trims the mock''s logs to mockarty.log_limit';

CREATE FUNCTION mockarty.log_request(mock_id text, req jsonb, response jsonb) RETURNS void
LANGUAGE sql
AS $$ SELECT mockarty_private.log_insert(mock_id, req, response, NULL) $$;
COMMENT ON FUNCTION mockarty.log_request(text, jsonb, jsonb) IS 'Logs one request of a mock, keeping the last mockarty.log_limit (default 3); P0002 for an unknown mock';

CREATE FUNCTION mockarty.log_requests(batch jsonb) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	e jsonb;
	n int := 0;
	at timestamptz;
BEGIN
	IF batch IS NULL OR jsonb_typeof(batch) <> 'array' THEN
		RAISE EXCEPTION 'batch must be a JSON array' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	FOR e IN SELECT value FROM jsonb_array_elements(batch) LOOP
		at := CASE jsonb_typeof(e -> 'calledAt')
			WHEN 'number' THEN to_timestamp(CASE WHEN (e ->> 'calledAt')::numeric > 1e11
				THEN (e ->> 'calledAt')::numeric / 1000 ELSE (e ->> 'calledAt')::numeric END)
			WHEN 'string' THEN (e ->> 'calledAt')::timestamptz
			END;
		PERFORM mockarty_private.log_insert(e ->> 'mockId', e -> 'req', e -> 'response', at);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.log_requests(jsonb) IS 'Logs a batch [{"mockId","req","response","calledAt"}] (calledAt: RFC 3339, Unix seconds or milliseconds); returns how many';

CREATE FUNCTION mockarty.mock_logs(mock_id text, off int DEFAULT 0, lim int DEFAULT 50) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	items jsonb;
	total bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.mocks m WHERE m.id = mock_logs.mock_id) THEN
		PERFORM mockarty_private.raise_not_found('mock', mock_id);
	END IF;
	SELECT count(*) INTO total FROM mockarty_private.request_logs l WHERE l.mock_id = mock_logs.mock_id;
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id::text, 'calledAt', mockarty_private.rfc3339(p.called_at),
		'req', p.req, 'response', p.response) ORDER BY p.called_at DESC, p.id DESC), '[]') INTO items
	FROM (SELECT * FROM mockarty_private.request_logs l WHERE l.mock_id = mock_logs.mock_id
	      ORDER BY l.called_at DESC, l.id DESC OFFSET greatest(off, 0) LIMIT greatest(lim, 0)) p;
	RETURN jsonb_build_object('id', mock_id, 'requests', items, 'logs', items, 'total', total);
END
$$;
COMMENT ON FUNCTION mockarty.mock_logs(text, int, int) IS 'Request logs of a mock, newest first: {"id","requests":[...],"logs":[...],"total":N}; P0002 for an unknown mock';

CREATE FUNCTION mockarty.mock_logs_clear(mock_id text) RETURNS int
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.request_logs l WHERE l.mock_id = mock_logs_clear.mock_id RETURNING 1)
	SELECT count(*)::int FROM d
$$;
COMMENT ON FUNCTION mockarty.mock_logs_clear(text) IS 'Deletes the request logs of a mock; returns how many';

CREATE FUNCTION mockarty.undefined_record(namespace text, method text, path text, headers jsonb, body jsonb)
RETURNS void
LANGUAGE sql
AS $$
	INSERT INTO mockarty_private.undefined_requests AS u (namespace, method, path, headers, body)
	VALUES (coalesce(namespace, 'sandbox'), upper(method), path, coalesce(headers, '{}'), body)
	ON CONFLICT (request_key) DO UPDATE
	SET count = u.count + 1, last_seen = now(), headers = excluded.headers, body = excluded.body
$$;
COMMENT ON FUNCTION mockarty.undefined_record(text, text, text, jsonb, jsonb) IS 'Records a request no mock matched; repeats of namespace+method+path bump count and lastSeen';

CREATE FUNCTION mockarty_private.undefined_json(u mockarty_private.undefined_requests) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', u.id, 'method', u.method, 'path', u.path, 'protocol', u.protocol,
		'namespace', u.namespace, 'headers', u.headers, 'body', u.body, 'count', u.count, 'hitCount', u.count,
		'timestamp', mockarty_private.unix(u.last_seen), 'firstSeen', mockarty_private.unix(u.first_seen),
		'lastSeen', mockarty_private.unix(u.last_seen), 'ignored', u.ignored)
$$;
COMMENT ON FUNCTION mockarty_private.undefined_json(mockarty_private.undefined_requests) IS 'An undefined request as the API returns it';

CREATE FUNCTION mockarty.undefined_list(namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.undefined_json(u) ORDER BY u.id), '[]')
	FROM mockarty_private.undefined_requests u
	WHERE undefined_list.namespace IS NULL OR u.namespace = undefined_list.namespace
$$;
COMMENT ON FUNCTION mockarty.undefined_list(text) IS 'Undefined requests of a namespace (NULL = all), oldest first';

CREATE FUNCTION mockarty.undefined_ignore(id bigint) RETURNS int
LANGUAGE sql
AS $$
	WITH u AS (UPDATE mockarty_private.undefined_requests x SET ignored = true
	           WHERE x.id = undefined_ignore.id RETURNING 1)
	SELECT count(*)::int FROM u
$$;
COMMENT ON FUNCTION mockarty.undefined_ignore(bigint) IS 'Marks an undefined request ignored; returns rows changed';

CREATE FUNCTION mockarty.undefined_delete(ids bigint[]) RETURNS int
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.undefined_requests x WHERE x.id = ANY (ids) RETURNING 1)
	SELECT count(*)::int FROM d
$$;
COMMENT ON FUNCTION mockarty.undefined_delete(bigint[]) IS 'Deletes undefined requests by id; returns how many';

CREATE FUNCTION mockarty.undefined_delete_all(namespace text DEFAULT NULL) RETURNS int
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.undefined_requests x
	           WHERE undefined_delete_all.namespace IS NULL OR x.namespace = undefined_delete_all.namespace RETURNING 1)
	SELECT count(*)::int FROM d
$$;
COMMENT ON FUNCTION mockarty.undefined_delete_all(text) IS 'Deletes all undefined requests of a namespace (NULL = all); returns how many';

CREATE FUNCTION mockarty.undefined_create_mock(id bigint) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	u mockarty_private.undefined_requests;
	m jsonb;
BEGIN
	DELETE FROM mockarty_private.undefined_requests x WHERE x.id = undefined_create_mock.id RETURNING * INTO u;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('undefined request', id::text);
	END IF;
	m := mockarty_private.mock_write(jsonb_build_object(
		'http', jsonb_build_object('route', u.path, 'httpMethod', u.method),
		'response', jsonb_build_object('statusCode', 200, 'payload', '{}'::jsonb)), u.namespace, true) -> 'mock';
	RETURN m;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_create_mock(bigint) IS 'Turns an undefined request into a 200 {} stub mock on its method and path (the request row is removed); returns the mock';

------------------------------------------------------------------------------
-- Stores
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.store_global_get(namespace text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM mockarty_private.global_store g
	WHERE g.namespace = coalesce(store_global_get.namespace, 'sandbox')
$$;
COMMENT ON FUNCTION mockarty.store_global_get(text) IS 'The global store of a namespace as one object';

CREATE FUNCTION mockarty.store_global_set(namespace text, key text, value jsonb) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.namespace_ensure(coalesce(namespace, 'sandbox'));
	INSERT INTO mockarty_private.global_store AS g (namespace, key, value)
	VALUES (coalesce(namespace, 'sandbox'), key, coalesce(value, 'null'))
	ON CONFLICT ON CONSTRAINT global_store_pkey DO UPDATE SET value = excluded.value;
END
$$;
COMMENT ON FUNCTION mockarty.store_global_set(text, text, jsonb) IS 'Sets one key of a namespace global store (keys may contain dots)';

CREATE FUNCTION mockarty.store_global_delete(namespace text, key text) RETURNS boolean
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.global_store g
	           WHERE g.namespace = coalesce(store_global_delete.namespace, 'sandbox') AND g.key = store_global_delete.key
	           RETURNING 1)
	SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION mockarty.store_global_delete(text, text) IS 'Deletes one key of a global store; false when absent';

CREATE FUNCTION mockarty.store_chain_get(namespace text, chain_id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM mockarty_private.chain_store c
	WHERE c.namespace = coalesce(store_chain_get.namespace, 'sandbox') AND c.chain_id = store_chain_get.chain_id
$$;
COMMENT ON FUNCTION mockarty.store_chain_get(text, text) IS 'The chain store of a chainId in a namespace as one object';

CREATE FUNCTION mockarty.store_chain_set(namespace text, chain_id text, key text, value jsonb) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.namespace_ensure(coalesce(namespace, 'sandbox'));
	INSERT INTO mockarty_private.chain_store AS c (namespace, chain_id, key, value)
	VALUES (coalesce(namespace, 'sandbox'), chain_id, key, coalesce(value, 'null'))
	ON CONFLICT ON CONSTRAINT chain_store_pkey DO UPDATE SET value = excluded.value;
END
$$;
COMMENT ON FUNCTION mockarty.store_chain_set(text, text, text, jsonb) IS 'Sets one key of a chain store';

CREATE FUNCTION mockarty.store_chain_delete(namespace text, chain_id text, key text) RETURNS boolean
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.chain_store c
	           WHERE c.namespace = coalesce(store_chain_delete.namespace, 'sandbox')
	             AND c.chain_id = store_chain_delete.chain_id AND c.key = store_chain_delete.key
	           RETURNING 1)
	SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION mockarty.store_chain_delete(text, text, text) IS 'Deletes one key of a chain store; false when absent';

CREATE FUNCTION mockarty.store_mock_get(mock_id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT s.data FROM mockarty_private.mock_store s WHERE s.mock_id = store_mock_get.mock_id $$;
COMMENT ON FUNCTION mockarty.store_mock_get(text) IS 'The mock store of a mock, NULL when the mock is unknown';

CREATE FUNCTION mockarty_private.store_replace_global(p_namespace text, p_data jsonb) RETURNS void
LANGUAGE sql
AS $$
	DELETE FROM mockarty_private.global_store g WHERE g.namespace = p_namespace AND NOT (p_data ? g.key);
	INSERT INTO mockarty_private.global_store AS g (namespace, key, value)
	SELECT p_namespace, e.key, e.value FROM jsonb_each(p_data) e
	ON CONFLICT ON CONSTRAINT global_store_pkey DO UPDATE SET value = excluded.value
	WHERE g.value IS DISTINCT FROM excluded.value;
$$;
COMMENT ON FUNCTION mockarty_private.store_replace_global(text, jsonb) IS 'Makes the global store of a namespace equal to an object (used by resolve)';

CREATE FUNCTION mockarty_private.store_replace_chain(p_namespace text, p_chain_id text, p_data jsonb) RETURNS void
LANGUAGE sql
AS $$
	DELETE FROM mockarty_private.chain_store c
	WHERE c.namespace = p_namespace AND c.chain_id = p_chain_id AND NOT (p_data ? c.key);
	INSERT INTO mockarty_private.chain_store AS c (namespace, chain_id, key, value)
	SELECT p_namespace, p_chain_id, e.key, e.value FROM jsonb_each(p_data) e
	ON CONFLICT ON CONSTRAINT chain_store_pkey DO UPDATE SET value = excluded.value
	WHERE c.value IS DISTINCT FROM excluded.value;
$$;
COMMENT ON FUNCTION mockarty_private.store_replace_chain(text, text, jsonb) IS 'Makes a chain store equal to an object (used by resolve)';

------------------------------------------------------------------------------
-- Tags and folders
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.tag_list(namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(t ORDER BY t), '[]') FROM (
		SELECT name AS t FROM mockarty_private.tags x
		WHERE tag_list.namespace IS NULL OR x.namespace = tag_list.namespace
		UNION
		SELECT unnest(m.tags) FROM mockarty_private.mocks m
		WHERE m.closed_at IS NULL AND (tag_list.namespace IS NULL OR m.namespace = tag_list.namespace)
	) s
$$;
COMMENT ON FUNCTION mockarty.tag_list(text) IS 'Sorted tag names: registered tags and tags of live mocks (namespace NULL = all)';

CREATE FUNCTION mockarty.tag_create(namespace text, name text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	IF name IS NULL OR name = '' THEN
		RAISE EXCEPTION 'tag name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
	END IF;
	PERFORM mockarty_private.namespace_ensure(coalesce(namespace, 'sandbox'));
	INSERT INTO mockarty_private.tags (namespace, name) VALUES (coalesce(namespace, 'sandbox'), name)
	ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION mockarty.tag_create(text, text) IS 'Registers a tag in a namespace (NULL = sandbox); idempotent';

CREATE FUNCTION mockarty_private.folder_json(f mockarty_private.folders) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', f.id, 'name', f.name, 'namespace', f.namespace, 'parentId', f.parent_id,
		'sortOrder', f.sort_order,
		'mockCount', (SELECT count(*) FROM mockarty_private.mocks m WHERE m.folder_id = f.id AND m.closed_at IS NULL),
		'createdAt', mockarty_private.rfc3339(f.created_at), 'updatedAt', mockarty_private.rfc3339(f.updated_at))
$$;
COMMENT ON FUNCTION mockarty_private.folder_json(mockarty_private.folders) IS 'A folder as the API returns it (timestamps RFC 3339)';

CREATE FUNCTION mockarty.folder_list(namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.folder_json(f) ORDER BY f.sort_order, f.name, f.id), '[]')
	FROM mockarty_private.folders f WHERE folder_list.namespace IS NULL OR f.namespace = folder_list.namespace
$$;
COMMENT ON FUNCTION mockarty.folder_list(text) IS 'Folders of a namespace (NULL = all) ordered by sortOrder, name';

CREATE FUNCTION mockarty_private.folder_check_parent(p_id text, p_parent text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	IF p_parent IS NULL THEN
		RETURN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.folders WHERE id = p_parent) THEN
		PERFORM mockarty_private.raise_not_found('folder', p_parent);
	END IF;
	IF EXISTS (
		WITH RECURSIVE up(id, parent_id) AS (
			SELECT id, parent_id FROM mockarty_private.folders WHERE id = p_parent
			UNION
			SELECT f.id, f.parent_id FROM mockarty_private.folders f JOIN up ON f.id = up.parent_id)
		SELECT 1 FROM up WHERE up.id = p_id) THEN
		RAISE EXCEPTION 'folder "%" cannot be moved under itself', p_id
			USING ERRCODE = '22023', DETAIL = '$.parentId';
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.folder_check_parent(text, text) IS 'Rejects an unknown parent (P0002) or a parent that would make a cycle (22023)';

CREATE FUNCTION mockarty.folder_save(folder jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	f mockarty_private.folders;
	v_id text := coalesce(nullif(folder ->> 'id', ''), gen_random_uuid()::text);
	v_ns text := coalesce(nullif(folder ->> 'namespace', ''), 'sandbox');
BEGIN
	IF folder IS NULL OR jsonb_typeof(folder) <> 'object' THEN
		RAISE EXCEPTION 'folder must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	IF coalesce(folder ->> 'name', '') = '' THEN
		RAISE EXCEPTION 'folder name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
	END IF;
	PERFORM mockarty_private.namespace_ensure(v_ns);
	PERFORM mockarty_private.folder_check_parent(v_id, nullif(folder ->> 'parentId', ''));
	INSERT INTO mockarty_private.folders AS x (id, name, namespace, parent_id, sort_order)
	VALUES (v_id, folder ->> 'name', v_ns, nullif(folder ->> 'parentId', ''),
		coalesce((folder ->> 'sortOrder')::int, 0))
	ON CONFLICT (id) DO UPDATE SET name = excluded.name, namespace = excluded.namespace,
		parent_id = excluded.parent_id, sort_order = excluded.sort_order, updated_at = now()
	RETURNING * INTO f;
	RETURN mockarty_private.folder_json(f);
END
$$;
COMMENT ON FUNCTION mockarty.folder_save(jsonb) IS 'Upserts a folder {"id","name","namespace","parentId","sortOrder"} (id generated when absent) and returns it';

CREATE FUNCTION mockarty.folder_delete(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty.mock_batch_move(ARRAY(SELECT m.id FROM mockarty_private.mocks m WHERE m.folder_id = folder_delete.id),
		NULL);
	DELETE FROM mockarty_private.folders f WHERE f.id = folder_delete.id;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.folder_delete(text) IS 'Deletes a folder; its mocks lose their folderId, child folders move to the top level; false when unknown';

CREATE FUNCTION mockarty.folder_move(id text, parent_id text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	f mockarty_private.folders;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.folders x WHERE x.id = folder_move.id) THEN
		PERFORM mockarty_private.raise_not_found('folder', id);
	END IF;
	PERFORM mockarty_private.folder_check_parent(id, parent_id);
	UPDATE mockarty_private.folders x SET parent_id = folder_move.parent_id, updated_at = now()
	WHERE x.id = folder_move.id RETURNING * INTO f;
	RETURN mockarty_private.folder_json(f);
END
$$;
COMMENT ON FUNCTION mockarty.folder_move(text, text) IS 'Moves a folder under another (NULL = top level) and returns it';

------------------------------------------------------------------------------
-- Change log
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.head_version() RETURNS bigint
LANGUAGE sql STABLE
AS $$ SELECT coalesce((SELECT version FROM mockarty_private.change_counter), 0) $$;
COMMENT ON FUNCTION mockarty.head_version() IS 'Newest change-log version (0 before the first write)';

CREATE FUNCTION mockarty.changes_since(after bigint, lim int DEFAULT 10000)
RETURNS TABLE (version bigint, op text, namespace text, mock_id text, mock jsonb)
LANGUAGE sql STABLE
AS $$
	SELECT c.version, c.op, c.namespace, c.mock_id,
		CASE WHEN c.op = 'upsert' THEN (SELECT mockarty_private.mock_json(m) FROM mockarty_private.mocks m
		                                WHERE m.id = c.mock_id) END
	FROM mockarty_private.change_log c
	WHERE c.version > after
	ORDER BY c.version
	LIMIT greatest(lim, 0)
$$;
COMMENT ON FUNCTION mockarty.changes_since(bigint, int) IS 'Changes after a version, oldest first; mock is the current document for upsert (NULL if purged since)';

CREATE FUNCTION mockarty.snapshot() RETURNS TABLE (version bigint, mock jsonb)
LANGUAGE sql STABLE
AS $$
	SELECT m.change_version, mockarty_private.mock_json(m) FROM mockarty_private.mocks m
	WHERE m.closed_at IS NULL ORDER BY m.change_version
$$;
COMMENT ON FUNCTION mockarty.snapshot() IS 'Every live mock with the version it was last written at; consistent with head_version() read in the same REPEATABLE READ transaction';

-- Nodes stream the whole namespace at start-up (100,000 mocks and more), so the text they
-- need is built by concatenation: mock_json() builds three jsonb values per row and costs
-- about 40 us a mock, this about 4 us. One expression without FROM, so the planner inlines
-- it; format() evaluates the server fields once for both places. floor(date_part()) is
-- unix() on float8 (exact to the second for any real timestamp) without numeric arithmetic.
-- The document never holds the server fields (mock_save strips them): no key appears twice.
CREATE FUNCTION mockarty_private.mock_json_text(m mockarty_private.mocks) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT format('{"id":%1$s,"namespace":%2$s,%3$s,"_meta":{%3$s}%4$s',
		to_json(m.id), to_json(m.namespace),
		concat_ws(',',
			'"createdAt":' || floor(date_part('epoch', m.created_at))::bigint,
			'"updatedAt":' || floor(date_part('epoch', m.updated_at))::bigint,
			'"lastUse":' || floor(date_part('epoch', m.last_use))::bigint,
			'"expireAt":' || floor(date_part('epoch', m.expire_at))::bigint,
			'"closedAt":' || floor(date_part('epoch', m.closed_at))::bigint,
			'"useCounter":' || m.use_counter),
		CASE WHEN m.doc = '{}'::jsonb THEN '}' ELSE ',' || substr(m.doc::text, 2) END)
$$;
COMMENT ON FUNCTION mockarty_private.mock_json_text(mockarty_private.mocks) IS 'The text of mock_json(m) (the same JSON object; keys in another order), built without jsonb for the bulk reads of nodes';

CREATE FUNCTION mockarty.snapshot_text(ns text)
RETURNS TABLE (version bigint, mock_id text, mock text)
LANGUAGE sql STABLE
AS $$
	SELECT m.change_version, m.id, mockarty_private.mock_json_text(m)
	FROM mockarty_private.mocks m
	WHERE (ns IS NULL OR m.namespace = ns) AND m.closed_at IS NULL
$$;
COMMENT ON FUNCTION mockarty.snapshot_text(text) IS 'Every live mock of one namespace (NULL: of every namespace) as JSON text (the same object as snapshot().mock), unordered so a cursor streams it from the first row; consistent with head_version() read in the same REPEATABLE READ transaction';

CREATE FUNCTION mockarty.changes_since_text(after bigint, lim int DEFAULT 10000)
RETURNS TABLE (version bigint, op text, namespace text, mock_id text, mock text)
LANGUAGE sql STABLE
AS $$
	SELECT c.version, c.op, c.namespace, c.mock_id,
		CASE WHEN c.op = 'upsert' THEN (SELECT mockarty_private.mock_json_text(m) FROM mockarty_private.mocks m
		                                WHERE m.id = c.mock_id AND m.closed_at IS NULL) END
	FROM mockarty_private.change_log c
	WHERE c.version > after
	ORDER BY c.version
	LIMIT greatest(lim, 0)
$$;
COMMENT ON FUNCTION mockarty.changes_since_text(bigint, int) IS 'changes_since() for nodes: mock is the live document as JSON text for upsert, NULL when it was deleted, soft-deleted (closed) or purged since';

------------------------------------------------------------------------------
-- Users and API tokens
------------------------------------------------------------------------------

CREATE FUNCTION mockarty_private.user_json(u mockarty_private.users) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', u.id, 'login', u.login, 'username', u.login, 'role', u.role,
		'createdAt', mockarty_private.unix(u.created_at))
$$;
COMMENT ON FUNCTION mockarty_private.user_json(mockarty_private.users) IS 'A user as the API returns it (never the password hash)';

CREATE FUNCTION mockarty.user_create(login text, password text, role text DEFAULT 'admin') RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	u mockarty_private.users;
BEGIN
	IF EXISTS (SELECT 1 FROM mockarty_private.users x WHERE x.login = user_create.login) THEN
		RAISE EXCEPTION 'user "%" already exists', login USING ERRCODE = '23505';
	END IF;
	IF role NOT IN ('admin', 'editor', 'viewer') THEN
		RAISE EXCEPTION 'unknown role "%"', role USING ERRCODE = '22023', DETAIL = '$.role',
			HINT = 'Roles are admin, editor and viewer.';
	END IF;
	INSERT INTO mockarty_private.users (login, password_hash, role)
	VALUES (login, CASE WHEN password IS NOT NULL THEN crypt(password, gen_salt('bf', 10)) END, role)
	RETURNING * INTO u;
	RETURN mockarty_private.user_json(u);
END
$$;
COMMENT ON FUNCTION mockarty.user_create(text, text, text) IS 'Creates a user with a bcrypt password hash (NULL password = cannot log in); 23505 when the login exists';

CREATE FUNCTION mockarty.user_list() RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT coalesce(jsonb_agg(mockarty_private.user_json(u) ORDER BY u.login), '[]') FROM mockarty_private.users u $$;
COMMENT ON FUNCTION mockarty.user_list() IS 'All users ordered by login';

CREATE FUNCTION mockarty.user_verify(login text, password text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT mockarty_private.user_json(u) FROM mockarty_private.users u
	WHERE u.login = user_verify.login AND u.password_hash IS NOT NULL
	  AND crypt(password, u.password_hash) = u.password_hash
$$;
COMMENT ON FUNCTION mockarty.user_verify(text, text) IS 'The user when login and password match, else NULL';

CREATE FUNCTION mockarty_private.token_json(t mockarty_private.api_tokens) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id, 'name', t.name, 'namespace', t.namespace,
		'user', (SELECT u.login FROM mockarty_private.users u WHERE u.id = t.user_id),
		'enabled', t.enabled, 'createdAt', mockarty_private.unix(t.created_at),
		'prefix', 'mk_' || t.id)
$$;
COMMENT ON FUNCTION mockarty_private.token_json(mockarty_private.api_tokens) IS 'Token info as the API returns it (never the secret or its hash)';

CREATE FUNCTION mockarty.token_create(name text, user_login text DEFAULT 'admin', namespace text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_user text;
	v_lookup text;
	v_secret text;
	t mockarty_private.api_tokens;
BEGIN
	IF name IS NULL OR name = '' THEN
		RAISE EXCEPTION 'token name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
	END IF;
	SELECT id INTO v_user FROM mockarty_private.users u WHERE u.login = user_login;
	IF NOT FOUND THEN
		IF user_login = 'admin' THEN
			-- the default owner exists implicitly, without a password, until created
			INSERT INTO mockarty_private.users (login, role) VALUES ('admin', 'admin') RETURNING id INTO v_user;
		ELSE
			PERFORM mockarty_private.raise_not_found('user', user_login);
		END IF;
	END IF;
	IF namespace IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mockarty_private.namespaces n WHERE n.name = namespace) THEN
		PERFORM mockarty_private.raise_not_found('namespace', namespace);
	END IF;
	LOOP
		v_lookup := encode(gen_random_bytes(6), 'hex');
		EXIT WHEN NOT EXISTS (SELECT 1 FROM mockarty_private.api_tokens x WHERE x.id = v_lookup);
	END LOOP;
	v_secret := encode(gen_random_bytes(24), 'hex');
	INSERT INTO mockarty_private.api_tokens (id, name, user_id, namespace, secret_hash)
	VALUES (v_lookup, name, v_user, namespace, crypt(v_secret, gen_salt('bf', 10)))
	RETURNING * INTO t;
	RETURN jsonb_build_object('token', 'mk_' || v_lookup || '_' || v_secret,
		'token_info', mockarty_private.token_json(t));
END
$$;
COMMENT ON FUNCTION mockarty.token_create(text, text, text) IS 'Creates an API token mk_<lookup>_<secret>; the token text is returned only here, the server keeps a bcrypt hash of the secret';

CREATE FUNCTION mockarty.token_list() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.token_json(t) ORDER BY t.created_at, t.name, t.id), '[]')
	FROM mockarty_private.api_tokens t
$$;
COMMENT ON FUNCTION mockarty.token_list() IS 'Every token''s info, never the secret';

CREATE FUNCTION mockarty.token_set_enabled(id text, enabled boolean) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.api_tokens;
BEGIN
	UPDATE mockarty_private.api_tokens x SET enabled = token_set_enabled.enabled
	WHERE x.id = token_set_enabled.id RETURNING * INTO t;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('token', id);
	END IF;
	IF NOT enabled THEN
		PERFORM pg_catalog.pg_notify('mockarty_tokens', t.id);
	END IF;
	RETURN mockarty_private.token_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.token_set_enabled(text, boolean) IS 'Enables or disables a token (NOTIFY mockarty_tokens with its id on disable); P0002 when unknown';

CREATE FUNCTION mockarty.token_delete(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	DELETE FROM mockarty_private.api_tokens x WHERE x.id = token_delete.id;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	PERFORM pg_catalog.pg_notify('mockarty_tokens', id);
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.token_delete(text) IS 'Deletes a token (NOTIFY mockarty_tokens with its id); false when unknown';

CREATE FUNCTION mockarty.token_verify(token text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id, 'name', t.name, 'namespace', t.namespace,
		'user', (SELECT u.login FROM mockarty_private.users u WHERE u.id = t.user_id))
	FROM mockarty_private.api_tokens t
	WHERE token ~ '^mk_[0-9a-f]{12}_[0-9a-f]+$'
	  AND t.id = substr(token, 4, 12)
	  AND t.enabled
	  AND crypt(substr(token, 17), t.secret_hash) = t.secret_hash
$$;
COMMENT ON FUNCTION mockarty.token_verify(text) IS 'Token owner info {"id","name","namespace","user"} when the token is valid and enabled, else NULL; one indexed lookup and one bcrypt compare';

------------------------------------------------------------------------------
-- Resolving requests (C, core's matcher and renderer)
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.resolve(namespace text, method text, path text, query text DEFAULT '',
	headers jsonb DEFAULT '{}', body text DEFAULT NULL, seed bigint DEFAULT NULL) RETURNS jsonb
AS 'MODULE_PATHNAME', 'mockarty_resolve'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION mockarty.resolve(text, text, text, text, jsonb, text, bigint) IS 'Resolves an HTTP request against the namespace''s live mocks: returns core''s response object {"mockId","statusCode","headers","payload","delay",...} and updates use counter, oneOf cursor, stores and request log; NULL on a miss (recorded as an undefined request)';

------------------------------------------------------------------------------
-- pgcrypto lookup
------------------------------------------------------------------------------

-- PostgreSQL 15 has no @extschema:pgcrypto@, and callers may not have pgcrypto's
-- schema on their search_path: pin it on the functions that use crypt(),
-- gen_salt() and gen_random_bytes().
DO $$
DECLARE
	s text;
	f text;
BEGIN
	SELECT n.nspname INTO s FROM pg_catalog.pg_extension e
	JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
	WHERE e.extname = 'pgcrypto';
	FOREACH f IN ARRAY ARRAY['mockarty.user_create(text, text, text)', 'mockarty.user_verify(text, text)',
		'mockarty.token_create(text, text, text)', 'mockarty.token_verify(text)'] LOOP
		EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I', f, s);
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- Integration tokens (mki_): node-to-node credentials
------------------------------------------------------------------------------
-- A token is mki_<lookup>_<secret>: the 12-hex lookup id finds the row through a
-- unique index, so verification is one probe plus one bcrypt compare; only the
-- bcrypt hash of the secret is kept. The type is the token's scope: mock_resolver
-- may sync, resolve and report through the coordinator, test_runner and
-- orchestrator have their own services, and no integration token may call the
-- admin REST API. Disabling or deleting one rings NOTIFY mockarty_tokens with its
-- id, so every node purges its cache of verified tokens and drops the streams
-- authenticated with it at once.

CREATE TABLE mockarty_private.integrations (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name text NOT NULL CHECK (name <> ''),
	type text NOT NULL CHECK (type IN ('mock_resolver', 'test_runner', 'orchestrator')),
	enabled boolean NOT NULL DEFAULT true,
	lookup_id text NOT NULL UNIQUE,
	secret_hash text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz
);
COMMENT ON TABLE mockarty_private.integrations IS 'Integration (mki_) tokens of resolvers, runners and orchestrators: lookup_id is the public id inside the token, secret_hash the bcrypt hash of its secret part, type its scope';
COMMENT ON COLUMN mockarty_private.integrations.last_used_at IS 'Last successful verification (nodes cache verifications, so this is coarse)';

SELECT pg_catalog.pg_extension_config_dump('mockarty_private.integrations', '');

CREATE FUNCTION mockarty_private.integration_json(i mockarty_private.integrations) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', i.id::text, 'name', i.name, 'type', i.type, 'enabled', i.enabled,
		'createdAt', to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'lastUsedAt', to_char(i.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
$$;
COMMENT ON FUNCTION mockarty_private.integration_json(mockarty_private.integrations) IS 'An integration as the API returns it (never the token, its secret or its hash)';

CREATE FUNCTION mockarty_private.integration_id(p_id text) RETURNS uuid
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
	IF p_id IS NULL OR p_id !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
		RETURN NULL;
	END IF;
	RETURN p_id::uuid;
END
$$;
COMMENT ON FUNCTION mockarty_private.integration_id(text) IS 'The uuid of an integration id given as text, NULL when it is not a uuid (so a malformed id is just an unknown one)';

CREATE FUNCTION mockarty.integration_create(name text, type text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_lookup text;
	v_secret text;
	i mockarty_private.integrations;
BEGIN
	IF name IS NULL OR btrim(name) = '' THEN
		RAISE EXCEPTION 'integration name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
	END IF;
	IF type IS NULL OR type NOT IN ('mock_resolver', 'test_runner', 'orchestrator') THEN
		RAISE EXCEPTION 'unknown integration type "%"', coalesce(type, '') USING ERRCODE = '22023',
			DETAIL = '$.type', HINT = 'Types are mock_resolver, test_runner and orchestrator.';
	END IF;
	LOOP
		v_lookup := encode(gen_random_bytes(6), 'hex');
		EXIT WHEN NOT EXISTS (SELECT 1 FROM mockarty_private.integrations x WHERE x.lookup_id = v_lookup);
	END LOOP;
	v_secret := encode(gen_random_bytes(24), 'hex');
	INSERT INTO mockarty_private.integrations (name, type, lookup_id, secret_hash)
	VALUES (name, type, v_lookup, crypt(v_secret, gen_salt('bf', 10)))
	RETURNING * INTO i;
	RETURN jsonb_build_object('integration', mockarty_private.integration_json(i) - 'lastUsedAt',
		'token', 'mki_' || v_lookup || '_' || v_secret);
END
$$;
COMMENT ON FUNCTION mockarty.integration_create(text, text) IS 'Creates an integration token of a type (mock_resolver, test_runner, orchestrator) and returns {"integration":{"id","name","type","enabled","createdAt"},"token":"mki_<lookup>_<secret>"}; the token text is returned only here, the server keeps a bcrypt hash of the secret; 22023 for an empty name or unknown type';

CREATE FUNCTION mockarty.integration_list() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.integration_json(i) ORDER BY i.created_at, i.name, i.id), '[]')
	FROM mockarty_private.integrations i
$$;
COMMENT ON FUNCTION mockarty.integration_list() IS 'Every integration (id, name, type, enabled, createdAt, lastUsedAt), oldest first; never a token';

CREATE FUNCTION mockarty.integration_get(id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT mockarty_private.integration_json(i) FROM mockarty_private.integrations i
	WHERE i.id = mockarty_private.integration_id(integration_get.id)
$$;
COMMENT ON FUNCTION mockarty.integration_get(text) IS 'One integration, NULL when unknown';

CREATE FUNCTION mockarty.integration_set_enabled(id text, enabled boolean) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	i mockarty_private.integrations;
BEGIN
	IF enabled IS NULL THEN
		RAISE EXCEPTION 'enabled must be true or false' USING ERRCODE = '22023', DETAIL = '$.enabled';
	END IF;
	UPDATE mockarty_private.integrations x SET enabled = integration_set_enabled.enabled
	WHERE x.id = mockarty_private.integration_id(integration_set_enabled.id) RETURNING * INTO i;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('integration', id);
	END IF;
	IF NOT i.enabled THEN
		PERFORM pg_catalog.pg_notify('mockarty_tokens', i.id::text);
	END IF;
	RETURN mockarty_private.integration_json(i);
END
$$;
COMMENT ON FUNCTION mockarty.integration_set_enabled(text, boolean) IS 'Enables or disables an integration token (NOTIFY mockarty_tokens with its id on disable, so nodes drop it at once); returns the integration; P0002 when unknown';

CREATE FUNCTION mockarty.integration_delete(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
	v uuid;
BEGIN
	DELETE FROM mockarty_private.integrations x
	WHERE x.id = mockarty_private.integration_id(integration_delete.id) RETURNING x.id INTO v;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	PERFORM pg_catalog.pg_notify('mockarty_tokens', v::text);
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.integration_delete(text) IS 'Deletes an integration token for good (NOTIFY mockarty_tokens with its id); false when unknown';

CREATE FUNCTION mockarty.integration_verify(token text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	i mockarty_private.integrations;
BEGIN
	IF token IS NULL OR token !~ '^mki_[0-9a-f]{12}_[0-9a-f]{1,128}$' THEN
		RETURN NULL;
	END IF;
	SELECT * INTO i FROM mockarty_private.integrations x WHERE x.lookup_id = substr(token, 5, 12);
	IF NOT FOUND OR NOT i.enabled OR crypt(substr(token, 18), i.secret_hash) <> i.secret_hash THEN
		RETURN NULL;
	END IF;
	UPDATE mockarty_private.integrations x SET last_used_at = now() WHERE x.id = i.id;
	RETURN jsonb_build_object('id', i.id::text, 'name', i.name, 'type', i.type);
END
$$;
COMMENT ON FUNCTION mockarty.integration_verify(text) IS 'Integration {"id","name","type"} when the mki_ token is valid and enabled (and stamps last_used_at), else NULL; one indexed lookup and one bcrypt compare';

CREATE FUNCTION mockarty.undefined_record_batch(batch jsonb) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	e jsonb;
	n int := 0;
	c bigint;
BEGIN
	IF batch IS NULL OR jsonb_typeof(batch) <> 'array' THEN
		RAISE EXCEPTION 'batch must be a JSON array' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	FOR e IN SELECT value FROM jsonb_array_elements(batch) LOOP
		CONTINUE WHEN coalesce(e ->> 'method', '') = '' OR coalesce(e ->> 'path', '') = '';
		c := greatest(coalesce((e ->> 'count')::bigint, 1), 1);
		INSERT INTO mockarty_private.undefined_requests AS u (namespace, method, path, headers, body, count)
		VALUES (coalesce(nullif(e ->> 'namespace', ''), 'sandbox'), upper(e ->> 'method'), e ->> 'path',
			coalesce(e -> 'headers', '{}'), e -> 'body', c)
		ON CONFLICT (request_key) DO UPDATE
		SET count = u.count + excluded.count, last_seen = now(), headers = excluded.headers,
			body = excluded.body;
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_record_batch(jsonb) IS 'Records aggregated misses [{"namespace","method","path","headers","body","count"}] (what resolvers report): each adds count occurrences; rows without method or path are skipped; returns how many rows were recorded';

-- pgcrypto's schema for the integration functions (see "pgcrypto lookup" above).
DO $$
DECLARE
	s text;
	f text;
BEGIN
	SELECT n.nspname INTO s FROM pg_catalog.pg_extension e
	JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
	WHERE e.extname = 'pgcrypto';
	FOREACH f IN ARRAY ARRAY['mockarty.integration_create(text, text)', 'mockarty.integration_verify(text)'] LOOP
		EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I', f, s);
	END LOOP;
END
$$;
