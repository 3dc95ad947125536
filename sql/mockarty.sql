-- mockarty.sql - full install script of the mockarty extension (source of truth).
--
-- The build copies this file to mockarty--<version>.sql (the current version); schema changes
-- also ship an update script part in sql/update/<from>--<to>/ (see its 00_header.sql). Tables live in
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
CREATE INDEX mocks_expire_idx ON mockarty_private.mocks (expire_at) WHERE expire_at IS NOT NULL;
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
	UNIQUE (request_key),
	body_truncated boolean NOT NULL DEFAULT false,
	body_size bigint
);
COMMENT ON TABLE mockarty_private.undefined_requests IS 'Requests no mock matched, one row per namespace+method+path (deduplicated by request_key, an MD5 of the three); credential headers are stored redacted and the body capped (settings undefined_redact_headers, undefined_body_max_bytes)';
COMMENT ON COLUMN mockarty_private.undefined_requests.body_truncated IS 'True when the body was longer than undefined_body_max_bytes: body is then a JSON string holding the first bytes of its text';
COMMENT ON COLUMN mockarty_private.undefined_requests.body_size IS 'Length in bytes of the body''s JSON text as received (before the cap), NULL without a body';
CREATE INDEX undefined_requests_ns_seen_idx ON mockarty_private.undefined_requests (namespace, last_seen DESC, id DESC);

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

------------------------------------------------------------------------------
-- The caller rule
------------------------------------------------------------------------------
-- The caller context is two settings the calling application sets per transaction
-- with set_config(..., true): mockarty.caller_namespace (the namespace the caller is
-- bound to) and mockarty.caller_role (admin, editor or viewer). Unset or empty means
-- unrestricted, so a DBA or superuser using SQL directly keeps every right. A bound
-- caller acts only inside its namespace: rows of other namespaces read as unknown
-- (NULL, false, P0002) and writes into another namespace raise 42501.

CREATE FUNCTION mockarty_private.caller_namespace() RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT nullif(current_setting('mockarty.caller_namespace', true), '') $$;
COMMENT ON FUNCTION mockarty_private.caller_namespace() IS 'The namespace the caller is bound to (setting mockarty.caller_namespace), NULL when unrestricted';

CREATE FUNCTION mockarty_private.caller_role() RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	v text := nullif(current_setting('mockarty.caller_role', true), '');
BEGIN
	IF v IS NOT NULL AND v NOT IN ('admin', 'editor', 'viewer') THEN
		RAISE EXCEPTION 'invalid value "%" for setting mockarty.caller_role', v USING ERRCODE = '22023',
			HINT = 'Roles are admin, editor and viewer; empty means unrestricted.';
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION mockarty_private.caller_role() IS 'The caller''s role (setting mockarty.caller_role: admin, editor, viewer), NULL when unrestricted; 22023 for another value';

CREATE FUNCTION mockarty_private.role_rank(p_role text) RETURNS int
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE p_role WHEN 'viewer' THEN 1 WHEN 'editor' THEN 2 WHEN 'admin' THEN 3 END $$;
COMMENT ON FUNCTION mockarty_private.role_rank(text) IS 'Order of roles: viewer 1 < editor 2 < admin 3 (NULL for anything else)';

CREATE FUNCTION mockarty_private.role_require(p_role text, p_action text) RETURNS void
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	v text := mockarty_private.caller_role();
BEGIN
	IF v IS NOT NULL AND mockarty_private.role_rank(v) < mockarty_private.role_rank(p_role) THEN
		RAISE EXCEPTION 'role "%" cannot %', v, p_action USING ERRCODE = '42501',
			DETAIL = format('This needs the role %s or higher.', p_role);
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.role_require(text, text) IS 'Raises 42501 naming the action when the caller''s role (mockarty.caller_role) is below p_role; unrestricted callers pass';

CREATE FUNCTION mockarty_private.ns_visible(p_ns text) RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.caller_namespace() IS NULL OR coalesce(p_ns = mockarty_private.caller_namespace(), false) $$;
COMMENT ON FUNCTION mockarty_private.ns_visible(text) IS 'True when the caller may see rows of namespace p_ns: unrestricted, or bound to exactly p_ns (NULL, i.e. unbound rows, only for unrestricted callers)';

CREATE FUNCTION mockarty_private.ns_check(p_ns text) RETURNS void
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	v text := mockarty_private.caller_namespace();
BEGIN
	IF v IS NOT NULL AND p_ns IS DISTINCT FROM v THEN
		RAISE EXCEPTION 'namespace "%" is outside the caller''s namespace "%"', coalesce(p_ns, '(all)'), v
			USING ERRCODE = '42501', DETAIL = '$.namespace',
			HINT = 'A caller bound to a namespace (mockarty.caller_namespace) acts only inside it.';
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.ns_check(text) IS 'Raises 42501 when a caller bound to a namespace (mockarty.caller_namespace) names another one (or none)';

CREATE FUNCTION mockarty_private.ns_scope(p_ns text) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	v text := mockarty_private.caller_namespace();
BEGIN
	IF v IS NULL THEN
		RETURN p_ns;
	END IF;
	IF p_ns IS NULL OR p_ns = '' OR p_ns = v THEN
		RETURN v;
	END IF;
	PERFORM mockarty_private.ns_check(p_ns);
	RETURN v;
END
$$;
COMMENT ON FUNCTION mockarty_private.ns_scope(text) IS 'The namespace filter of a list call: as given for unrestricted callers; for a bound caller its own namespace when none (NULL = all) or its own is given, 42501 for another';

CREATE FUNCTION mockarty_private.namespace_ensure(ns text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	IF ns IS NULL OR ns !~ '^[a-z0-9][a-z0-9_.-]{0,62}$' THEN
		RAISE EXCEPTION 'invalid namespace name "%"', ns
			USING ERRCODE = '22023', DETAIL = '$.namespace',
			HINT = 'Namespace names match ^[a-z0-9][a-z0-9_.-]{0,62}$.';
	END IF;
	-- every write into a namespace passes here: the caller's binding and role are checked once
	PERFORM mockarty_private.ns_check(ns);
	PERFORM mockarty_private.role_require('editor', 'write');
	-- a plain lookup first: a batch writes thousands of mocks into existing namespaces
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.namespaces WHERE name = ns) THEN
		INSERT INTO mockarty_private.namespaces (name) VALUES (ns) ON CONFLICT DO NOTHING;
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.namespace_ensure(text) IS 'Creates a namespace on first use; 22023 for an invalid name, 42501 when the caller is bound to another namespace or is a viewer';

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
	SELECT name FROM mockarty_private.namespaces WHERE mockarty_private.ns_visible(name)
	ORDER BY name <> 'sandbox', name
$$;
COMMENT ON FUNCTION mockarty.namespace_list() IS 'All namespaces, sandbox first, then by name (a bound caller: its own only)';

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
	v_ns := coalesce(p_namespace, nullif(p_mock ->> 'namespace', ''), mockarty_private.caller_namespace(), 'sandbox');
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
	IF v_found AND NOT mockarty_private.ns_visible(v_old.namespace) THEN
		-- a bound caller never moves, overwrites or learns about a mock of another namespace
		RAISE EXCEPTION 'mock "%" does not exist in namespace "%"', v_id, v_ns USING ERRCODE = 'P0002',
			DETAIL = p_path || '.id', HINT = 'This id is not available to the caller; choose another id.';
	END IF;
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
COMMENT ON FUNCTION mockarty_private.mock_write(jsonb, text, boolean, text) IS 'Validates and stores one mock (namespace: p_namespace, else the mock''s, else the caller''s, else sandbox), writes a version row and a change-log row. p_reset (a full save) restarts useCounter, lastUse, closedAt, the oneOf cursor and the mock store; p_path prefixes the JSON path in validation errors; P0002 when a caller bound to a namespace names the id of a mock of another namespace (it is left untouched)';

CREATE FUNCTION mockarty.mock_save(mock jsonb, namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT mockarty_private.mock_write(mock, namespace, true) $$;
COMMENT ON FUNCTION mockarty.mock_save(jsonb, text) IS 'Upserts a mock by id (generated when absent) and returns {"overwritten":bool,"mock":{...}}; namespace: argument, else the mock''s namespace, else sandbox; 22023 with the JSON path in DETAIL when invalid';

CREATE FUNCTION mockarty.mock_get(id text, include_deleted boolean DEFAULT true) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT mockarty_private.mock_json(m) FROM mockarty_private.mocks m
	WHERE m.id = mock_get.id AND (include_deleted OR m.closed_at IS NULL) AND mockarty_private.ns_visible(m.namespace)
$$;
COMMENT ON FUNCTION mockarty.mock_get(text, boolean) IS 'One mock with server fields, NULL when unknown (or deleted and include_deleted is false, or of another namespace than the caller''s)';

CREATE FUNCTION mockarty.mock_patch(id text, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
	merged jsonb;
BEGIN
	SELECT * INTO m FROM mockarty_private.mocks x WHERE x.id = mock_patch.id
		AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
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
COMMENT ON FUNCTION mockarty.mock_patch(text, jsonb) IS 'RFC 7386 merge patch of a mock, validated like a save; keeps use counter, cursor and stores; P0002 for an unknown id (or one of another namespace than the caller''s), 42501 when a bound caller patches "namespace" to another one';

CREATE FUNCTION mockarty.mock_list(namespace text DEFAULT NULL, tags text[] DEFAULT NULL, search text DEFAULT NULL,
	off int DEFAULT 0, lim int DEFAULT 50, include_deleted boolean DEFAULT false) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	WITH scope AS MATERIALIZED (SELECT mockarty_private.ns_scope(mock_list.namespace) AS ns), sel AS (
		SELECT m FROM mockarty_private.mocks m
		WHERE ((SELECT ns FROM scope) IS NULL OR m.namespace = (SELECT ns FROM scope))
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
	FROM total, scope -- scope joined here: a refused namespace raises even when no mock exists
$$;
COMMENT ON FUNCTION mockarty.mock_list(text, text[], text, int, int, boolean) IS 'Page of mocks ordered by id: namespace NULL = all (a bound caller: its own; another raises 42501), tags = must carry all of them, search = case-insensitive substring of id or route; {"items","total","offset","limit","hasMore"}';

CREATE FUNCTION mockarty.mock_delete(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete mocks');
	SELECT * INTO m FROM mockarty_private.mocks x WHERE x.id = mock_delete.id AND x.closed_at IS NULL
		AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	UPDATE mockarty_private.mocks x SET closed_at = now(), updated_at = now(),
		change_version = mockarty_private.log_change('delete', m.namespace, m.id)
	WHERE x.id = m.id;
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.mock_delete(text) IS 'Soft delete: sets closedAt, the mock stops matching; false when unknown, already deleted or of another namespace than the caller''s';

CREATE FUNCTION mockarty.mock_restore(id text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
BEGIN
	SELECT * INTO m FROM mockarty_private.mocks x WHERE x.id = mock_restore.id
		AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('mock', id);
	END IF;
	IF m.closed_at IS NOT NULL THEN
		PERFORM mockarty_private.role_require('editor', 'restore mocks');
		UPDATE mockarty_private.mocks x SET closed_at = NULL, updated_at = now(),
			change_version = mockarty_private.log_change('upsert', m.namespace, m.id)
		WHERE x.id = m.id
		RETURNING * INTO m;
	END IF;
	RETURN mockarty_private.mock_json(m);
END
$$;
COMMENT ON FUNCTION mockarty.mock_restore(text) IS 'Clears closedAt of a soft-deleted mock and returns it; P0002 for an unknown id (or one of another namespace than the caller''s)';

CREATE FUNCTION mockarty.mock_purge(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
BEGIN
	PERFORM mockarty_private.role_require('editor', 'purge mocks');
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.mocks x WHERE x.id = mock_purge.id
	               AND mockarty_private.ns_visible(x.namespace)) THEN
		RETURN false;
	END IF;
	DELETE FROM mockarty_private.mocks x WHERE x.id = mock_purge.id RETURNING * INTO m;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	PERFORM mockarty_private.log_change('delete', m.namespace, m.id);
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.mock_purge(text) IS 'Hard delete of a mock with its versions, logs and mock store; false when unknown (or of another namespace than the caller''s)';

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
		IF EXISTS (SELECT 1 FROM mockarty_private.mocks WHERE id = i AND closed_at IS NOT NULL
		           AND mockarty_private.ns_visible(namespace)) THEN
			PERFORM mockarty.mock_restore(i);
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_restore(text[]) IS 'Restores soft-deleted mocks (ids of other namespaces than the caller''s are skipped); returns how many changed';

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
	IF folder_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mockarty_private.folders f WHERE f.id = folder_id
	                                         AND mockarty_private.ns_visible(f.namespace)) THEN
		PERFORM mockarty_private.raise_not_found('folder', folder_id);
	END IF;
	FOR m IN SELECT * FROM mockarty_private.mocks WHERE id = ANY (ids) AND mockarty_private.ns_visible(namespace)
	         ORDER BY id FOR UPDATE LOOP
		PERFORM mockarty_private.mock_write(
			CASE WHEN folder_id IS NULL THEN m.doc - 'folderId' ELSE m.doc || jsonb_build_object('folderId', folder_id) END
				|| jsonb_build_object('id', m.id), m.namespace, false);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_move(text[], text) IS 'Moves mocks into a folder (NULL = no folder); returns how many changed; P0002 for an unknown folder; ids and folders of other namespaces than the caller''s count as unknown';

CREATE FUNCTION mockarty.mock_batch_tags(ids text[], tags text[]) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n int := 0;
	m mockarty_private.mocks;
BEGIN
	FOR m IN SELECT * FROM mockarty_private.mocks WHERE id = ANY (ids) AND mockarty_private.ns_visible(namespace)
	         ORDER BY id FOR UPDATE LOOP
		PERFORM mockarty_private.mock_write(m.doc || jsonb_build_object('id', m.id, 'tags', to_jsonb(coalesce(tags, '{}'))),
			m.namespace, false);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_tags(text[], text[]) IS 'Replaces the tags of mocks (ids of other namespaces than the caller''s are skipped); returns how many changed';

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
	FOR m IN SELECT * FROM mockarty_private.mocks WHERE id = ANY (ids) AND mockarty_private.ns_visible(namespace)
	         ORDER BY id LOOP
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
COMMENT ON FUNCTION mockarty.mock_copy_to_namespace(text[], text) IS 'Copies mocks into another namespace (created when missing); copy ids are <id>-<target>, or <id>-<target>-N when that is taken; returns the copies; a bound caller copies only its own mocks into its own namespace (42501 for another target)';

CREATE FUNCTION mockarty.mock_versions(id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(v.doc || jsonb_build_object('version', v.version,
		'createdAt', mockarty_private.unix(v.saved_at)) ORDER BY v.version DESC), '[]')
	FROM mockarty_private.mock_versions v WHERE v.mock_id = mock_versions.id
	  AND EXISTS (SELECT 1 FROM mockarty_private.mocks m WHERE m.id = v.mock_id AND mockarty_private.ns_visible(m.namespace))
$$;
COMMENT ON FUNCTION mockarty.mock_versions(text) IS 'Every saved version of a mock, newest first, each with "version":N (none for a mock of another namespace than the caller''s)';

CREATE FUNCTION mockarty.mock_version(id text, version int) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT v.doc || jsonb_build_object('version', v.version, 'createdAt', mockarty_private.unix(v.saved_at))
	FROM mockarty_private.mock_versions v WHERE v.mock_id = mock_version.id AND v.version = mock_version.version
	  AND EXISTS (SELECT 1 FROM mockarty_private.mocks m WHERE m.id = v.mock_id AND mockarty_private.ns_visible(m.namespace))
$$;
COMMENT ON FUNCTION mockarty.mock_version(text, int) IS 'One saved version of a mock, NULL when unknown (or the mock is of another namespace than the caller''s)';

CREATE FUNCTION mockarty.mock_version_restore(id text, version int) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	d jsonb;
	v_ns text;
BEGIN
	SELECT v.doc, m.namespace INTO d, v_ns FROM mockarty_private.mock_versions v
	JOIN mockarty_private.mocks m ON m.id = v.mock_id
	WHERE v.mock_id = mock_version_restore.id AND v.version = mock_version_restore.version
	  AND mockarty_private.ns_visible(m.namespace);
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('mock version', id || '@' || version);
	END IF;
	-- into the mock's namespace of today: an old version never moves the mock back
	RETURN mockarty_private.mock_write(d, v_ns, true) -> 'mock';
END
$$;
COMMENT ON FUNCTION mockarty.mock_version_restore(text, int) IS 'Saves an old version as the newest one, in the mock''s current namespace, and returns the mock; P0002 when the version is unknown (or the mock is of another namespace than the caller''s)';

CREATE FUNCTION mockarty.mock_chain(chain_id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.mock_json(m) ORDER BY m.id), '[]')
	FROM mockarty_private.mocks m WHERE m.chain_id = mock_chain.chain_id AND m.closed_at IS NULL
	  AND mockarty_private.ns_visible(m.namespace)
$$;
COMMENT ON FUNCTION mockarty.mock_chain(text) IS 'Live mocks sharing a chainId (of the caller''s namespace when bound), ordered by id';

CREATE FUNCTION mockarty.mock_chain_delete(chain_id text) RETURNS int
LANGUAGE sql
AS $$
	SELECT count(*) FILTER (WHERE mockarty.mock_delete(m.id))::int
	FROM (SELECT id FROM mockarty_private.mocks x WHERE x.chain_id = mock_chain_delete.chain_id
	      AND x.closed_at IS NULL AND mockarty_private.ns_visible(x.namespace) ORDER BY id) m
$$;
COMMENT ON FUNCTION mockarty.mock_chain_delete(text) IS 'Soft-deletes every live mock of a chain (of the caller''s namespace when bound); returns how many';

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
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.mocks m WHERE m.id = mock_logs.mock_id
	               AND mockarty_private.ns_visible(m.namespace)) THEN
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
COMMENT ON FUNCTION mockarty.mock_logs(text, int, int) IS 'Request logs of a mock, newest first: {"id","requests":[...],"logs":[...],"total":N}; P0002 for an unknown mock (or one of another namespace than the caller''s)';

CREATE FUNCTION mockarty.mock_logs_clear(mock_id text) RETURNS int
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.request_logs l WHERE l.mock_id = mock_logs_clear.mock_id
	           AND EXISTS (SELECT 1 FROM mockarty_private.mocks m WHERE m.id = l.mock_id
	                       AND mockarty_private.ns_visible(m.namespace)) RETURNING 1)
	SELECT count(*)::int FROM d
$$;
COMMENT ON FUNCTION mockarty.mock_logs_clear(text) IS 'Deletes the request logs of a mock (none of another namespace than the caller''s); returns how many';

-- Misses arrive with whatever the client sent: an SDK calling a wrong path sends its
-- Authorization header, and a client can send megabytes of body to endless unique paths.
-- Every recording path (undefined_record, undefined_record_batch: the admin node, SQL,
-- resolvers through the coordinator) stores what undefined_clean() returns, so the list,
-- the REST API and the undefined_request.received webhooks never hold a credential, and
-- undefined_purge() (scheduler worker) bounds the rows kept per namespace.
CREATE FUNCTION mockarty_private.undefined_clean(p_headers jsonb, p_body jsonb,
	OUT headers jsonb, OUT body jsonb, OUT body_truncated boolean, OUT body_size bigint)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	redact text[] := string_to_array(lower(replace(coalesce(mockarty.setting_get('undefined_redact_headers'), ''), ' ', '')), ',');
	cap int := coalesce(mockarty.setting_get('undefined_body_max_bytes')::int, 65536);
	t text;
BEGIN
	IF jsonb_typeof(p_headers) = 'object' THEN
		SELECT coalesce(jsonb_object_agg(h.key, CASE WHEN lower(h.key) = ANY (redact) THEN '"[redacted]"'::jsonb
			ELSE h.value END), '{}') INTO headers
		FROM jsonb_each(p_headers) h;
	ELSE
		headers := '{}';
	END IF;
	body := p_body;
	body_truncated := false;
	IF p_body IS NOT NULL AND jsonb_typeof(p_body) <> 'null' THEN
		t := CASE WHEN jsonb_typeof(p_body) = 'string' THEN p_body #>> '{}' ELSE p_body::text END;
		body_size := octet_length(t);
		IF body_size > cap THEN
			t := left(t, cap);
			-- multi-byte characters: each step removes at least the excess in characters
			WHILE octet_length(t) > cap LOOP
				t := left(t, length(t) - greatest((octet_length(t) - cap) / 4, 1));
			END LOOP;
			body := to_jsonb(t);
			body_truncated := true;
		END IF;
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.undefined_clean(jsonb, jsonb) IS 'What is stored of a miss: headers named in setting undefined_redact_headers (case-insensitive) get the value "[redacted]"; a body whose text is longer than undefined_body_max_bytes becomes a JSON string of its first bytes (body_truncated); body_size is the length received';

CREATE FUNCTION mockarty.undefined_record(namespace text, method text, path text, headers jsonb, body jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	c record := mockarty_private.undefined_clean(headers, body);
BEGIN
	INSERT INTO mockarty_private.undefined_requests AS u (namespace, method, path, headers, body, body_truncated,
		body_size)
	VALUES (coalesce(undefined_record.namespace, 'sandbox'), upper(undefined_record.method), undefined_record.path,
		c.headers, c.body, c.body_truncated, c.body_size)
	ON CONFLICT (request_key) DO UPDATE
	SET count = u.count + 1, last_seen = now(), headers = excluded.headers, body = excluded.body,
		body_truncated = excluded.body_truncated, body_size = excluded.body_size;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_record(text, text, text, jsonb, jsonb) IS 'Records a request no mock matched; repeats of namespace+method+path bump count and lastSeen; credential headers are redacted and the body capped (undefined_clean)';

CREATE FUNCTION mockarty_private.undefined_json(u mockarty_private.undefined_requests) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', u.id, 'method', u.method, 'path', u.path, 'protocol', u.protocol,
		'namespace', u.namespace, 'headers', u.headers, 'body', u.body, 'count', u.count, 'hitCount', u.count,
		'timestamp', mockarty_private.unix(u.last_seen), 'firstSeen', mockarty_private.unix(u.first_seen),
		'lastSeen', mockarty_private.unix(u.last_seen), 'ignored', u.ignored,
		'bodyTruncated', u.body_truncated, 'bodySize', u.body_size)
$$;
COMMENT ON FUNCTION mockarty_private.undefined_json(mockarty_private.undefined_requests) IS 'An undefined request as the API returns it';

CREATE FUNCTION mockarty.undefined_list(namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	-- the scope is the outer row, so a refused namespace raises even when nothing is stored
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.undefined_json(u) ORDER BY u.id), '[]')
		FROM mockarty_private.undefined_requests u WHERE s.ns IS NULL OR u.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(undefined_list.namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.undefined_list(text) IS 'Undefined requests of a namespace (NULL = all; a bound caller: its own, another raises 42501), oldest first';

CREATE FUNCTION mockarty.undefined_ignore(id bigint) RETURNS int
LANGUAGE sql
AS $$
	WITH u AS (UPDATE mockarty_private.undefined_requests x SET ignored = true
	           WHERE x.id = undefined_ignore.id AND mockarty_private.ns_visible(x.namespace) RETURNING 1)
	SELECT count(*)::int FROM u
$$;
COMMENT ON FUNCTION mockarty.undefined_ignore(bigint) IS 'Marks an undefined request ignored (not one of another namespace than the caller''s); returns rows changed';

CREATE FUNCTION mockarty.undefined_delete(ids bigint[]) RETURNS int
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.undefined_requests x WHERE x.id = ANY (ids)
	           AND mockarty_private.ns_visible(x.namespace) RETURNING 1)
	SELECT count(*)::int FROM d
$$;
COMMENT ON FUNCTION mockarty.undefined_delete(bigint[]) IS 'Deletes undefined requests by id (not those of another namespace than the caller''s); returns how many';

CREATE FUNCTION mockarty.undefined_delete_all(namespace text DEFAULT NULL) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	v_ns text := mockarty_private.ns_scope(undefined_delete_all.namespace);
	n int;
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete undefined requests');
	DELETE FROM mockarty_private.undefined_requests x WHERE v_ns IS NULL OR x.namespace = v_ns;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_delete_all(text) IS 'Deletes all undefined requests of a namespace (NULL = all; a bound caller: its own, another raises 42501); returns how many';

CREATE FUNCTION mockarty.undefined_create_mock(id bigint) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	u mockarty_private.undefined_requests;
	m jsonb;
BEGIN
	DELETE FROM mockarty_private.undefined_requests x WHERE x.id = undefined_create_mock.id
		AND mockarty_private.ns_visible(x.namespace) RETURNING * INTO u;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('undefined request', id::text);
	END IF;
	m := mockarty_private.mock_write(jsonb_build_object(
		'http', jsonb_build_object('route', u.path, 'httpMethod', u.method),
		'response', jsonb_build_object('statusCode', 200, 'payload', '{}'::jsonb)), u.namespace, true) -> 'mock';
	RETURN m;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_create_mock(bigint) IS 'Turns an undefined request into a 200 {} stub mock on its method and path (the request row is removed); returns the mock; P0002 when unknown (or of another namespace than the caller''s)';

------------------------------------------------------------------------------
-- Stores
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.store_global_get(namespace text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM mockarty_private.global_store g
	WHERE g.namespace = coalesce(mockarty_private.ns_scope(store_global_get.namespace), 'sandbox')
$$;
COMMENT ON FUNCTION mockarty.store_global_get(text) IS 'The global store of a namespace as one object (a bound caller: its own, another raises 42501)';

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
	           WHERE g.namespace = coalesce(mockarty_private.ns_scope(store_global_delete.namespace), 'sandbox')
	             AND g.key = store_global_delete.key
	           RETURNING 1)
	SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION mockarty.store_global_delete(text, text) IS 'Deletes one key of a global store; false when absent; 42501 for a namespace other than a bound caller''s';

CREATE FUNCTION mockarty.store_chain_get(namespace text, chain_id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM mockarty_private.chain_store c
	WHERE c.namespace = coalesce(mockarty_private.ns_scope(store_chain_get.namespace), 'sandbox')
	  AND c.chain_id = store_chain_get.chain_id
$$;
COMMENT ON FUNCTION mockarty.store_chain_get(text, text) IS 'The chain store of a chainId in a namespace as one object (a bound caller: its own, another raises 42501)';

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
	           WHERE c.namespace = coalesce(mockarty_private.ns_scope(store_chain_delete.namespace), 'sandbox')
	             AND c.chain_id = store_chain_delete.chain_id AND c.key = store_chain_delete.key
	           RETURNING 1)
	SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION mockarty.store_chain_delete(text, text, text) IS 'Deletes one key of a chain store; false when absent; 42501 for a namespace other than a bound caller''s';

CREATE FUNCTION mockarty.store_mock_get(mock_id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT s.data FROM mockarty_private.mock_store s JOIN mockarty_private.mocks m ON m.id = s.mock_id
	WHERE s.mock_id = store_mock_get.mock_id AND mockarty_private.ns_visible(m.namespace)
$$;
COMMENT ON FUNCTION mockarty.store_mock_get(text) IS 'The mock store of a mock, NULL when the mock is unknown (or of another namespace than the caller''s)';

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
	SELECT (SELECT coalesce(jsonb_agg(t ORDER BY t), '[]') FROM (
		SELECT name AS t FROM mockarty_private.tags x
		WHERE s.ns IS NULL OR x.namespace = s.ns
		UNION
		SELECT unnest(m.tags) FROM mockarty_private.mocks m
		WHERE m.closed_at IS NULL AND (s.ns IS NULL OR m.namespace = s.ns)
	) q)
	FROM (SELECT mockarty_private.ns_scope(tag_list.namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.tag_list(text) IS 'Sorted tag names: registered tags and tags of live mocks (namespace NULL = all; a bound caller: its own, another raises 42501)';

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
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.folder_json(f) ORDER BY f.sort_order, f.name, f.id), '[]')
		FROM mockarty_private.folders f WHERE s.ns IS NULL OR f.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(folder_list.namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.folder_list(text) IS 'Folders of a namespace (NULL = all; a bound caller: its own, another raises 42501) ordered by sortOrder, name';

CREATE FUNCTION mockarty_private.folder_check_parent(p_id text, p_parent text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	IF p_parent IS NULL THEN
		RETURN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.folders WHERE id = p_parent
	               AND mockarty_private.ns_visible(namespace)) THEN
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
COMMENT ON FUNCTION mockarty_private.folder_check_parent(text, text) IS 'Rejects an unknown parent (P0002; a folder of another namespace than the caller''s is unknown) or a parent that would make a cycle (22023)';

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
	IF EXISTS (SELECT 1 FROM mockarty_private.folders x WHERE x.id = v_id
	           AND NOT mockarty_private.ns_visible(x.namespace)) THEN
		PERFORM mockarty_private.raise_not_found('folder', v_id);
	END IF;
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
COMMENT ON FUNCTION mockarty.folder_save(jsonb) IS 'Upserts a folder {"id","name","namespace","parentId","sortOrder"} (id generated when absent) and returns it; P0002 when a bound caller names the id of a folder of another namespace';

CREATE FUNCTION mockarty.folder_delete(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete folders');
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.folders f WHERE f.id = folder_delete.id
	               AND mockarty_private.ns_visible(f.namespace)) THEN
		RETURN false;
	END IF;
	PERFORM mockarty.mock_batch_move(ARRAY(SELECT m.id FROM mockarty_private.mocks m WHERE m.folder_id = folder_delete.id),
		NULL);
	DELETE FROM mockarty_private.folders f WHERE f.id = folder_delete.id;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.folder_delete(text) IS 'Deletes a folder; its mocks lose their folderId, child folders move to the top level; false when unknown (or of another namespace than the caller''s)';

CREATE FUNCTION mockarty.folder_move(id text, parent_id text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	f mockarty_private.folders;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.folders x WHERE x.id = folder_move.id
	               AND mockarty_private.ns_visible(x.namespace)) THEN
		PERFORM mockarty_private.raise_not_found('folder', id);
	END IF;
	PERFORM mockarty_private.role_require('editor', 'move folders');
	PERFORM mockarty_private.folder_check_parent(id, parent_id);
	UPDATE mockarty_private.folders x SET parent_id = folder_move.parent_id, updated_at = now()
	WHERE x.id = folder_move.id RETURNING * INTO f;
	RETURN mockarty_private.folder_json(f);
END
$$;
COMMENT ON FUNCTION mockarty.folder_move(text, text) IS 'Moves a folder under another (NULL = top level) and returns it; P0002 when unknown (or of another namespace than the caller''s)';

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
		'user', u.login, 'role', u.role,
		'enabled', t.enabled, 'createdAt', mockarty_private.unix(t.created_at),
		'prefix', 'mk_' || t.id)
	FROM (SELECT NULL) one LEFT JOIN mockarty_private.users u ON u.id = t.user_id
$$;
COMMENT ON FUNCTION mockarty_private.token_json(mockarty_private.api_tokens) IS 'Token info as the API returns it, with its user''s login and role (never the secret or its hash)';

CREATE FUNCTION mockarty.token_create(name text, user_login text DEFAULT 'admin', namespace text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_user text;
	v_role text;
	v_lookup text;
	v_secret text;
	v_ns text := mockarty_private.ns_scope(namespace);
	t mockarty_private.api_tokens;
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage API tokens');
	IF name IS NULL OR name = '' THEN
		RAISE EXCEPTION 'token name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
	END IF;
	SELECT id, role INTO v_user, v_role FROM mockarty_private.users u WHERE u.login = user_login;
	IF NOT FOUND THEN
		IF user_login = 'admin' THEN
			-- the default owner exists implicitly, without a password, until created
			INSERT INTO mockarty_private.users (login, role) VALUES ('admin', 'admin') RETURNING id, role INTO v_user, v_role;
		ELSE
			PERFORM mockarty_private.raise_not_found('user', user_login);
		END IF;
	END IF;
	IF mockarty_private.role_rank(v_role) > coalesce(mockarty_private.role_rank(mockarty_private.caller_role()), 3) THEN
		RAISE EXCEPTION 'a caller with role "%" cannot mint a token of role "%"', mockarty_private.caller_role(), v_role
			USING ERRCODE = '42501', DETAIL = '$.user';
	END IF;
	IF v_ns IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mockarty_private.namespaces n WHERE n.name = v_ns) THEN
		PERFORM mockarty_private.raise_not_found('namespace', v_ns);
	END IF;
	LOOP
		v_lookup := encode(gen_random_bytes(6), 'hex');
		EXIT WHEN NOT EXISTS (SELECT 1 FROM mockarty_private.api_tokens x WHERE x.id = v_lookup);
	END LOOP;
	v_secret := encode(gen_random_bytes(24), 'hex');
	INSERT INTO mockarty_private.api_tokens (id, name, user_id, namespace, secret_hash)
	VALUES (v_lookup, name, v_user, v_ns, crypt(v_secret, gen_salt('bf', 10)))
	RETURNING * INTO t;
	RETURN jsonb_build_object('token', 'mk_' || v_lookup || '_' || v_secret,
		'token_info', mockarty_private.token_json(t));
END
$$;
COMMENT ON FUNCTION mockarty.token_create(text, text, text) IS 'Creates an API token mk_<lookup>_<secret>; the token text is returned only here, the server keeps a bcrypt hash of the secret. Callers with a role need admin (42501); a bound caller mints only tokens bound to its namespace (namespace NULL = its own, another raises 42501) and never for a user of a higher role';

CREATE FUNCTION mockarty.token_list() RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage API tokens');
	RETURN (SELECT coalesce(jsonb_agg(mockarty_private.token_json(t) ORDER BY t.created_at, t.name, t.id), '[]')
		FROM mockarty_private.api_tokens t WHERE mockarty_private.ns_visible(t.namespace));
END
$$;
COMMENT ON FUNCTION mockarty.token_list() IS 'Every token''s info, never the secret; a bound caller sees only the tokens bound to its namespace; 42501 below role admin';

CREATE FUNCTION mockarty.token_set_enabled(id text, enabled boolean) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.api_tokens;
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage API tokens');
	UPDATE mockarty_private.api_tokens x SET enabled = token_set_enabled.enabled
	WHERE x.id = token_set_enabled.id AND mockarty_private.ns_visible(x.namespace) RETURNING * INTO t;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('token', id);
	END IF;
	IF NOT enabled THEN
		PERFORM pg_catalog.pg_notify('mockarty_tokens', t.id);
	END IF;
	RETURN mockarty_private.token_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.token_set_enabled(text, boolean) IS 'Enables or disables a token (NOTIFY mockarty_tokens with its id on disable); P0002 when unknown (or not bound to a bound caller''s namespace); 42501 below role admin';

CREATE FUNCTION mockarty.token_delete(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage API tokens');
	DELETE FROM mockarty_private.api_tokens x WHERE x.id = token_delete.id AND mockarty_private.ns_visible(x.namespace);
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	PERFORM pg_catalog.pg_notify('mockarty_tokens', id);
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.token_delete(text) IS 'Deletes a token (NOTIFY mockarty_tokens with its id); false when unknown (or not bound to a bound caller''s namespace); 42501 below role admin';

CREATE FUNCTION mockarty.token_verify(token text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id, 'name', t.name, 'namespace', t.namespace,
		'user', u.login, 'role', coalesce(u.role, 'admin'))
	FROM mockarty_private.api_tokens t LEFT JOIN mockarty_private.users u ON u.id = t.user_id
	WHERE token ~ '^mk_[0-9a-f]{12}_[0-9a-f]+$'
	  AND t.id = substr(token, 4, 12)
	  AND t.enabled
	  AND crypt(substr(token, 17), t.secret_hash) = t.secret_hash
$$;
COMMENT ON FUNCTION mockarty.token_verify(text) IS 'Token owner info {"id","name","namespace","user","role"} when the token is valid and enabled, else NULL; one indexed lookup and one bcrypt compare';

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
	last_used_at timestamptz,
	namespace text REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE
);
COMMENT ON TABLE mockarty_private.integrations IS 'Integration (mki_) tokens of resolvers, runners and orchestrators: lookup_id is the public id inside the token, secret_hash the bcrypt hash of its secret part, type its scope';
COMMENT ON COLUMN mockarty_private.integrations.last_used_at IS 'Last successful verification (nodes cache verifications, so this is coarse)';
COMMENT ON COLUMN mockarty_private.integrations.namespace IS 'Namespace the token is bound to (the coordinator serves it only that namespace); NULL = unbound';

SELECT pg_catalog.pg_extension_config_dump('mockarty_private.integrations', '');

CREATE FUNCTION mockarty_private.integration_json(i mockarty_private.integrations) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', i.id::text, 'name', i.name, 'type', i.type, 'namespace', i.namespace,
		'enabled', i.enabled,
		'createdAt', to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'lastUsedAt', to_char(i.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
$$;
COMMENT ON FUNCTION mockarty_private.integration_json(mockarty_private.integrations) IS 'An integration as the API returns it, with its namespace binding (never the token, its secret or its hash)';

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

CREATE FUNCTION mockarty.integration_create(name text, type text, namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_lookup text;
	v_secret text;
	v_ns text := mockarty_private.ns_scope(namespace);
	i mockarty_private.integrations;
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage integrations');
	IF name IS NULL OR btrim(name) = '' THEN
		RAISE EXCEPTION 'integration name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
	END IF;
	IF type IS NULL OR type NOT IN ('mock_resolver', 'test_runner', 'orchestrator') THEN
		RAISE EXCEPTION 'unknown integration type "%"', coalesce(type, '') USING ERRCODE = '22023',
			DETAIL = '$.type', HINT = 'Types are mock_resolver, test_runner and orchestrator.';
	END IF;
	IF v_ns IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mockarty_private.namespaces n WHERE n.name = v_ns) THEN
		RAISE EXCEPTION 'namespace "%" does not exist', v_ns USING ERRCODE = '22023', DETAIL = '$.namespace',
			HINT = 'Create the namespace first.';
	END IF;
	LOOP
		v_lookup := encode(gen_random_bytes(6), 'hex');
		EXIT WHEN NOT EXISTS (SELECT 1 FROM mockarty_private.integrations x WHERE x.lookup_id = v_lookup);
	END LOOP;
	v_secret := encode(gen_random_bytes(24), 'hex');
	INSERT INTO mockarty_private.integrations (name, type, lookup_id, secret_hash, namespace)
	VALUES (name, type, v_lookup, crypt(v_secret, gen_salt('bf', 10)), v_ns)
	RETURNING * INTO i;
	RETURN jsonb_build_object('integration', mockarty_private.integration_json(i) - 'lastUsedAt',
		'token', 'mki_' || v_lookup || '_' || v_secret);
END
$$;
COMMENT ON FUNCTION mockarty.integration_create(text, text, text) IS 'Creates an integration token of a type (mock_resolver, test_runner, orchestrator), bound to a namespace when given, and returns {"integration":{"id","name","type","namespace","enabled","createdAt"},"token":"mki_<lookup>_<secret>"}; the token text is returned only here, the server keeps a bcrypt hash of the secret; 22023 for an empty name, unknown type or unknown namespace; a bound caller mints only tokens bound to its namespace (42501 for another), callers with a role need admin';

CREATE FUNCTION mockarty.integration_list() RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage integrations');
	RETURN (SELECT coalesce(jsonb_agg(mockarty_private.integration_json(i) ORDER BY i.created_at, i.name, i.id), '[]')
		FROM mockarty_private.integrations i WHERE mockarty_private.ns_visible(i.namespace));
END
$$;
COMMENT ON FUNCTION mockarty.integration_list() IS 'Every integration (id, name, type, namespace, enabled, createdAt, lastUsedAt), oldest first; never a token; a bound caller sees only those bound to its namespace; 42501 below role admin';

CREATE FUNCTION mockarty.integration_get(id text) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage integrations');
	RETURN (SELECT mockarty_private.integration_json(i) FROM mockarty_private.integrations i
		WHERE i.id = mockarty_private.integration_id(integration_get.id) AND mockarty_private.ns_visible(i.namespace));
END
$$;
COMMENT ON FUNCTION mockarty.integration_get(text) IS 'One integration, NULL when unknown (or not bound to a bound caller''s namespace); 42501 below role admin';

CREATE FUNCTION mockarty.integration_set_enabled(id text, enabled boolean) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	i mockarty_private.integrations;
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage integrations');
	IF enabled IS NULL THEN
		RAISE EXCEPTION 'enabled must be true or false' USING ERRCODE = '22023', DETAIL = '$.enabled';
	END IF;
	UPDATE mockarty_private.integrations x SET enabled = integration_set_enabled.enabled
	WHERE x.id = mockarty_private.integration_id(integration_set_enabled.id)
	  AND mockarty_private.ns_visible(x.namespace) RETURNING * INTO i;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('integration', id);
	END IF;
	IF NOT i.enabled THEN
		PERFORM pg_catalog.pg_notify('mockarty_tokens', i.id::text);
	END IF;
	RETURN mockarty_private.integration_json(i);
END
$$;
COMMENT ON FUNCTION mockarty.integration_set_enabled(text, boolean) IS 'Enables or disables an integration token (NOTIFY mockarty_tokens with its id on disable, so nodes drop it at once); returns the integration; P0002 when unknown (or not bound to a bound caller''s namespace); 42501 below role admin';

CREATE FUNCTION mockarty.integration_delete(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
	v uuid;
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage integrations');
	DELETE FROM mockarty_private.integrations x
	WHERE x.id = mockarty_private.integration_id(integration_delete.id)
	  AND mockarty_private.ns_visible(x.namespace) RETURNING x.id INTO v;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	PERFORM pg_catalog.pg_notify('mockarty_tokens', v::text);
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.integration_delete(text) IS 'Deletes an integration token for good (NOTIFY mockarty_tokens with its id); false when unknown (or not bound to a bound caller''s namespace); 42501 below role admin';

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
	RETURN jsonb_build_object('id', i.id::text, 'name', i.name, 'type', i.type, 'namespace', i.namespace);
END
$$;
COMMENT ON FUNCTION mockarty.integration_verify(text) IS 'Integration {"id","name","type","namespace"} when the mki_ token is valid and enabled (and stamps last_used_at), else NULL; one indexed lookup and one bcrypt compare';

CREATE FUNCTION mockarty.undefined_record_batch(batch jsonb) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	e jsonb;
	n int := 0;
	c bigint;
	k record;
BEGIN
	IF batch IS NULL OR jsonb_typeof(batch) <> 'array' THEN
		RAISE EXCEPTION 'batch must be a JSON array' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	FOR e IN SELECT value FROM jsonb_array_elements(batch) LOOP
		CONTINUE WHEN coalesce(e ->> 'method', '') = '' OR coalesce(e ->> 'path', '') = '';
		c := greatest(coalesce((e ->> 'count')::bigint, 1), 1);
		k := mockarty_private.undefined_clean(e -> 'headers', e -> 'body');
		INSERT INTO mockarty_private.undefined_requests AS u (namespace, method, path, headers, body, count,
			body_truncated, body_size)
		VALUES (coalesce(nullif(e ->> 'namespace', ''), 'sandbox'), upper(e ->> 'method'), e ->> 'path',
			k.headers, k.body, c, k.body_truncated, k.body_size)
		ON CONFLICT (request_key) DO UPDATE
		SET count = u.count + excluded.count, last_seen = now(), headers = excluded.headers,
			body = excluded.body, body_truncated = excluded.body_truncated, body_size = excluded.body_size;
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_record_batch(jsonb) IS 'Records aggregated misses [{"namespace","method","path","headers","body","count"}] (what resolvers report): each adds count occurrences; rows without method or path are skipped; credential headers are redacted and bodies capped (undefined_clean); returns how many rows were recorded';

-- pgcrypto's schema for the integration functions (see "pgcrypto lookup" above).
DO $$
DECLARE
	s text;
	f text;
BEGIN
	SELECT n.nspname INTO s FROM pg_catalog.pg_extension e
	JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
	WHERE e.extname = 'pgcrypto';
	FOREACH f IN ARRAY ARRAY['mockarty.integration_create(text, text, text)', 'mockarty.integration_verify(text)'] LOOP
		EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I', f, s);
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- Runner tasks, API-test collections, environments, test runs, perf runs, events
------------------------------------------------------------------------------
-- Runner agents take work from a queue in this database: a task row is claimed with
-- FOR UPDATE SKIP LOCKED under a lease (lease_id is the fencing token every later
-- call quotes), kept alive by heartbeats, and handed back by the reaper when the
-- lease runs out. Failures of the protocol (a lost lease, a taken task) are values
-- {"ok":false,"reason":...}, never exceptions; bad arguments raise 22023 naming the
-- field. Lease arithmetic uses clock_timestamp() everywhere (grant, extend, check,
-- reap): now() is the start of the caller's transaction, so a lease granted or
-- checked late in a long transaction would be shorter or longer than asked.
-- NOTIFY mockarty_tasks rings the doorbell ('queued:<id>', 'cancel:<id>',
-- 'done:<id>', 'reaped'); the rows are the truth. Test runs and perf runs are tasks
-- of kind api_test and performance seen through the SDKs' TestRun/PerfRun shapes.

CREATE TABLE mockarty_private.collections (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	name text NOT NULL CHECK (name <> ''),
	description text,
	metadata jsonb NOT NULL DEFAULT '{}',
	source jsonb NOT NULL,
	request_count int NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.collections IS 'API-test collections: source is the Postman v2.1 document exactly as given; request_count counts its leaf items with a request';
CREATE INDEX collections_namespace_idx ON mockarty_private.collections (namespace, name);

CREATE TABLE mockarty_private.environments (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	name text NOT NULL CHECK (name <> ''),
	variables jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(variables) = 'object'),
	is_active boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.environments IS 'Variable sets ({name: value}) for collection runs; at most one active per namespace (used when a run names none)';
CREATE UNIQUE INDEX environments_active_idx ON mockarty_private.environments (namespace) WHERE is_active;
CREATE INDEX environments_namespace_idx ON mockarty_private.environments (namespace, name);

CREATE TABLE mockarty_private.tasks (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	kind text NOT NULL CHECK (kind IN ('api_test', 'performance')),
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	name text,
	payload jsonb NOT NULL DEFAULT '{}',
	status text NOT NULL DEFAULT 'queued'
		CHECK (status IN ('queued', 'leased', 'running', 'completed', 'failed', 'cancelled')),
	attempts int NOT NULL DEFAULT 0,
	max_attempts int NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
	runner_id text,
	runner_name text,
	lease_id uuid,
	lease_expires_at timestamptz,
	cancel_requested boolean NOT NULL DEFAULT false,
	progress jsonb,
	result jsonb,
	error text,
	collection_id uuid REFERENCES mockarty_private.collections (id) ON DELETE SET NULL,
	environment_id uuid REFERENCES mockarty_private.environments (id) ON DELETE SET NULL,
	-- clock_timestamp(): tasks enqueued by one transaction keep their order
	created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	started_at timestamptz,
	completed_at timestamptz,
	updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE mockarty_private.tasks IS 'Runner task queue (kinds api_test, performance): queued -> leased -> running -> completed/failed/cancelled; lease_id fences every runner call, the reaper re-queues expired leases';
COMMENT ON COLUMN mockarty_private.tasks.lease_id IS 'Fencing token of the current (or, once terminal, the completing) lease; NULL while queued';
COMMENT ON COLUMN mockarty_private.tasks.attempts IS 'Leases granted so far (a lease handed back with task_release does not count)';

-- the queue head (offers, accept), the reaper's probe and the per-runner count are
-- each one partial index, so an idle tick reads an empty index range
CREATE INDEX tasks_queued_idx ON mockarty_private.tasks (created_at, id) WHERE status = 'queued';
CREATE INDEX tasks_lease_idx ON mockarty_private.tasks (lease_expires_at) WHERE status IN ('leased', 'running');
CREATE INDEX tasks_runner_idx ON mockarty_private.tasks (runner_id) WHERE status IN ('leased', 'running');
CREATE INDEX tasks_list_idx ON mockarty_private.tasks (kind, namespace, created_at);

CREATE TABLE mockarty_private.task_results (
	task_id uuid NOT NULL REFERENCES mockarty_private.tasks (id) ON DELETE CASCADE,
	seq int NOT NULL CHECK (seq >= 0),
	attempt int NOT NULL,
	data jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (task_id, seq)
);
COMMENT ON TABLE mockarty_private.task_results IS 'Result chunks a runner streams while it runs a task; (task_id, seq) makes retries idempotent; only the current attempt''s chunks are kept';

CREATE TABLE mockarty_private.events (
	id bigserial PRIMARY KEY,
	event text NOT NULL CHECK (event <> ''),
	namespace text,
	data jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE mockarty_private.events IS 'Platform events (test_run.completed, ...) in id order, for webhook delivery and event readers';

SELECT pg_catalog.pg_extension_config_dump('mockarty_private.collections', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.environments', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.tasks', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.task_results', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.events', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.events_id_seq', '');

-- Events -------------------------------------------------------------------

CREATE FUNCTION mockarty.event_emit(p_event text, p_namespace text, p_data jsonb) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
	v bigint;
BEGIN
	IF p_event IS NULL OR p_event = '' THEN
		RAISE EXCEPTION 'event name must not be empty' USING ERRCODE = '22023', DETAIL = '$.event';
	END IF;
	INSERT INTO mockarty_private.events (event, namespace, data)
	VALUES (p_event, p_namespace, coalesce(p_data, '{}'))
	RETURNING id INTO v;
	PERFORM pg_catalog.pg_notify('mockarty_events', v::text);
	RETURN v;
END
$$;
COMMENT ON FUNCTION mockarty.event_emit(text, text, jsonb) IS 'Records an event and rings NOTIFY mockarty_events (payload: its id, a hint); returns the id';

CREATE FUNCTION mockarty.events_since(p_after bigint DEFAULT 0, p_limit int DEFAULT 100) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'event', e.event, 'namespace', e.namespace,
		'timestamp', mockarty_private.rfc3339(e.created_at), 'data', e.data) ORDER BY e.id), '[]')
	FROM (SELECT * FROM mockarty_private.events x WHERE x.id > coalesce(p_after, 0)
	      ORDER BY x.id LIMIT greatest(coalesce(p_limit, 100), 0)) e
$$;
COMMENT ON FUNCTION mockarty.events_since(bigint, int) IS 'Events after an id, oldest first: [{"id","event","namespace","timestamp","data"}]';

-- Task helpers -------------------------------------------------------------

CREATE FUNCTION mockarty_private.go_duration(ms bigint) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
	h bigint;
	m bigint;
	s text;
BEGIN
	IF ms IS NULL THEN
		RETURN NULL;
	ELSIF ms < 0 THEN
		RETURN '-' || mockarty_private.go_duration(-ms);
	ELSIF ms = 0 THEN
		RETURN '0s';
	ELSIF ms < 1000 THEN
		RETURN ms || 'ms';
	END IF;
	h := ms / 3600000;
	m := (ms / 60000) % 60;
	s := trim_scale((ms % 60000) / 1000.0)::text || 's';
	IF h > 0 THEN
		RETURN h || 'h' || m || 'm' || s;
	ELSIF m > 0 THEN
		RETURN m || 'm' || s;
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION mockarty_private.go_duration(bigint) IS 'Milliseconds as Go''s time.Duration prints them: 0s, 250ms, 1.5s, 45s, 2m0s, 1h2m3.5s';

CREATE FUNCTION mockarty_private.duration_ms(v jsonb, field text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	t text;
	r text[];
	total numeric := 0;
BEGIN
	IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(v) = 'number' AND (v #>> '{}')::numeric >= 0 THEN
		RETURN round((v #>> '{}')::numeric)::bigint;
	END IF;
	t := CASE WHEN jsonb_typeof(v) = 'string' THEN btrim(v #>> '{}') END;
	IF t ~ '^\d{1,12}$' THEN
		RETURN t::bigint;
	END IF;
	IF t IS NULL OR t !~ '^(\d{1,12}(\.\d{1,9})?(ms|s|m|h))+$' THEN
		RAISE EXCEPTION '% must be milliseconds or a duration like "60s", "2m", "1m30s"', field
			USING ERRCODE = '22023', DETAIL = '$.' || field;
	END IF;
	FOR r IN SELECT regexp_matches(t, '(\d+(?:\.\d+)?)(ms|s|m(?!s)|h)', 'g') LOOP
		total := total + r[1]::numeric * CASE r[2] WHEN 'ms' THEN 1 WHEN 's' THEN 1000 WHEN 'm' THEN 60000 ELSE 3600000 END;
	END LOOP;
	RETURN round(total)::bigint;
END
$$;
COMMENT ON FUNCTION mockarty_private.duration_ms(jsonb, text) IS 'Milliseconds of a duration given as a number (ms), a digit string (ms) or Go-style text ("500ms", "60s", "2m", "1h", "1m30s"); NULL for null; 22023 naming the field otherwise';

CREATE FUNCTION mockarty_private.task_json(t mockarty_private.tasks, p_with_payload boolean DEFAULT false)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id::text, 'kind', t.kind, 'namespace', t.namespace, 'name', t.name,
		'status', t.status, 'attempts', t.attempts, 'maxAttempts', t.max_attempts,
		'runnerId', t.runner_id, 'runnerName', t.runner_name, 'leaseId', t.lease_id::text,
		'leaseExpiresAt', mockarty_private.rfc3339(t.lease_expires_at),
		'cancelRequested', t.cancel_requested, 'progress', t.progress, 'result', t.result,
		'error', t.error, 'collectionId', t.collection_id::text, 'environmentId', t.environment_id::text,
		'createdAt', mockarty_private.rfc3339(t.created_at),
		'startedAt', mockarty_private.rfc3339(t.started_at),
		'completedAt', mockarty_private.rfc3339(t.completed_at),
		'updatedAt', mockarty_private.rfc3339(t.updated_at))
		|| CASE WHEN p_with_payload THEN jsonb_build_object('payload', t.payload) ELSE '{}' END
$$;
COMMENT ON FUNCTION mockarty_private.task_json(mockarty_private.tasks, boolean) IS 'A task as the API returns it (times RFC 3339 UTC); payload only when asked';

CREATE FUNCTION mockarty_private.task_check_kind(p_kind text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
	IF p_kind IS NULL OR p_kind NOT IN ('api_test', 'performance') THEN
		RAISE EXCEPTION 'unknown task kind "%"', coalesce(p_kind, '') USING ERRCODE = '22023',
			DETAIL = '$.kind', HINT = 'Kinds are api_test and performance.';
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.task_check_kind(text) IS 'Raises 22023 naming $.kind unless the kind is api_test or performance';

CREATE FUNCTION mockarty_private.test_run_status(t mockarty_private.tasks) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE t.status
		WHEN 'queued' THEN 'queued'
		WHEN 'leased' THEN 'running'
		WHEN 'running' THEN 'running'
		WHEN 'completed' THEN CASE WHEN coalesce((t.result ->> 'failedTests')::numeric, 0) > 0 THEN 'failed' ELSE 'passed' END
		WHEN 'cancelled' THEN 'cancelled'
		ELSE 'error' END
$$;
COMMENT ON FUNCTION mockarty_private.test_run_status(mockarty_private.tasks) IS 'TestRun status of an api_test task: queued, running (leased/running), passed/failed (completed with failedTests = 0 / > 0), cancelled, error (failed task)';

CREATE FUNCTION mockarty_private.task_duration_ms(t mockarty_private.tasks) RETURNS bigint
LANGUAGE sql IMMUTABLE
AS $$
	SELECT coalesce(
		CASE WHEN jsonb_typeof(t.result -> 'durationMs') = 'number' THEN round((t.result ->> 'durationMs')::numeric)::bigint END,
		round(extract(epoch FROM (t.completed_at - t.started_at)) * 1000)::bigint,
		0)
$$;
COMMENT ON FUNCTION mockarty_private.task_duration_ms(mockarty_private.tasks) IS 'Run time of a task in ms: the result''s durationMs, else completedAt - startedAt, else 0';

CREATE FUNCTION mockarty_private.task_finished(t mockarty_private.tasks) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM pg_catalog.pg_notify('mockarty_tasks', 'done:' || t.id);
	IF t.kind = 'api_test' THEN
		PERFORM mockarty.event_emit('test_run.completed', t.namespace, jsonb_build_object(
			'testRunId', t.id::text, 'collectionId', t.collection_id::text,
			'status', mockarty_private.test_run_status(t),
			'totalTests', coalesce((t.result ->> 'totalTests')::numeric, 0),
			'passed', coalesce((t.result ->> 'passedTests')::numeric, 0),
			'failed', coalesce((t.result ->> 'failedTests')::numeric, 0),
			'duration', mockarty_private.go_duration(mockarty_private.task_duration_ms(t))));
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.task_finished(mockarty_private.tasks) IS 'Side effects of a task reaching a terminal state: NOTIFY mockarty_tasks ''done:<id>'' and, for api_test, a test_run.completed event';

-- Queue --------------------------------------------------------------------

CREATE FUNCTION mockarty.task_enqueue(p_kind text, p_namespace text, p_payload jsonb, p_name text DEFAULT NULL,
	p_max_attempts int DEFAULT 3, p_collection_id uuid DEFAULT NULL, p_environment_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
BEGIN
	PERFORM mockarty_private.task_check_kind(p_kind);
	PERFORM mockarty_private.namespace_ensure(p_namespace);
	IF p_payload IS NOT NULL AND jsonb_typeof(p_payload) <> 'object' THEN
		RAISE EXCEPTION 'task payload must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.payload';
	END IF;
	IF p_max_attempts IS NULL OR p_max_attempts < 1 THEN
		RAISE EXCEPTION 'maxAttempts must be at least 1' USING ERRCODE = '22023', DETAIL = '$.maxAttempts';
	END IF;
	IF p_collection_id IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM mockarty_private.collections c WHERE c.id = p_collection_id) THEN
		RAISE EXCEPTION 'collection "%" does not exist', p_collection_id USING ERRCODE = '22023', DETAIL = '$.collectionId';
	END IF;
	IF p_environment_id IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM mockarty_private.environments e WHERE e.id = p_environment_id) THEN
		RAISE EXCEPTION 'environment "%" does not exist', p_environment_id USING ERRCODE = '22023', DETAIL = '$.environmentId';
	END IF;
	INSERT INTO mockarty_private.tasks (kind, namespace, name, payload, max_attempts, collection_id, environment_id)
	VALUES (p_kind, p_namespace, p_name, coalesce(p_payload, '{}'), p_max_attempts, p_collection_id, p_environment_id)
	RETURNING * INTO t;
	PERFORM pg_catalog.pg_notify('mockarty_tasks', 'queued:' || t.id);
	RETURN mockarty_private.task_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.task_enqueue(text, text, jsonb, text, int, uuid, uuid) IS 'Queues a task (kind api_test or performance) and rings NOTIFY mockarty_tasks ''queued:<id>''; returns the task; 22023 naming the bad argument';

CREATE FUNCTION mockarty.task_offers(p_namespace text, p_shared boolean, p_capabilities text[], p_limit int DEFAULT 10)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', t.id::text, 'kind', t.kind, 'namespace', t.namespace)
		ORDER BY t.created_at, t.id), '[]')
	FROM (SELECT x.id, x.kind, x.namespace, x.created_at FROM mockarty_private.tasks x
	      WHERE x.status = 'queued' AND x.kind = ANY (coalesce(p_capabilities, '{}'))
	        AND (coalesce(p_shared, false) OR x.namespace = p_namespace)
	      ORDER BY x.created_at, x.id LIMIT greatest(coalesce(p_limit, 10), 0)) t
$$;
COMMENT ON FUNCTION mockarty.task_offers(text, boolean, text[], int) IS 'Queued tasks a runner may take, oldest first: [{"id","kind","namespace"}]; eligible = kind in the capabilities and (shared runner or same namespace)';

CREATE FUNCTION mockarty.task_accept(p_runner_id text, p_runner_name text, p_namespace text, p_shared boolean,
	p_capabilities text[], p_max_concurrent int, p_lease_ms int, p_task_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
	v_held int;
	v_caps text[] := coalesce(p_capabilities, '{}');
	v_shared boolean := coalesce(p_shared, false);
BEGIN
	IF p_runner_id IS NULL OR p_runner_id = '' THEN
		RAISE EXCEPTION 'runner id must not be empty' USING ERRCODE = '22023', DETAIL = '$.runnerId';
	END IF;
	IF p_lease_ms IS NULL OR p_lease_ms < 0 THEN
		RAISE EXCEPTION 'leaseMs must be >= 0' USING ERRCODE = '22023', DETAIL = '$.leaseMs';
	END IF;
	-- The per-runner count below must see every lease this runner's other accepts
	-- committed; only READ COMMITTED takes a fresh snapshot after the lock wait.
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'task_accept must run at READ COMMITTED isolation' USING ERRCODE = '25001',
			HINT = 'Call it in its own transaction (autocommit) or at the default isolation level.';
	END IF;
	-- one accept per runner at a time: the count and the claim act as one step
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('mockarty.task_accept'),
		pg_catalog.hashtext(p_runner_id));
	SELECT count(*) INTO v_held FROM mockarty_private.tasks x
	WHERE x.runner_id = p_runner_id AND x.status IN ('leased', 'running');
	IF v_held >= coalesce(p_max_concurrent, 0) THEN
		RETURN jsonb_build_object('accepted', false, 'reason', 'max_concurrent');
	END IF;
	-- SKIP LOCKED: a row another accept holds is passed over, and a row it committed
	-- in the meantime fails the status recheck; either way exactly one caller wins
	UPDATE mockarty_private.tasks u
	SET status = 'leased', attempts = u.attempts + 1, lease_id = gen_random_uuid(),
		runner_id = p_runner_id, runner_name = p_runner_name,
		lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
		updated_at = clock_timestamp()
	WHERE u.id = (SELECT x.id FROM mockarty_private.tasks x
	              WHERE x.status = 'queued' AND x.kind = ANY (v_caps)
	                AND (v_shared OR x.namespace = p_namespace)
	                AND (p_task_id IS NULL OR x.id = p_task_id)
	              ORDER BY x.created_at, x.id
	              FOR UPDATE SKIP LOCKED LIMIT 1)
	RETURNING * INTO t;
	IF FOUND THEN
		RETURN jsonb_build_object('accepted', true, 'task', mockarty_private.task_json(t, true)
			|| jsonb_build_object('attempt', t.attempts,
				'leaseExpiresMs', floor(extract(epoch FROM t.lease_expires_at) * 1000)::bigint));
	END IF;
	IF p_task_id IS NULL THEN
		RETURN jsonb_build_object('accepted', false, 'reason', 'not_found');
	END IF;
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = p_task_id;
	RETURN jsonb_build_object('accepted', false, 'reason', CASE
		WHEN NOT FOUND THEN 'not_found'
		WHEN t.status = 'cancelled' THEN 'cancelled'
		WHEN NOT (t.kind = ANY (v_caps) AND (v_shared OR t.namespace = p_namespace)) THEN 'not_eligible'
		ELSE 'taken' END);
END
$$;
COMMENT ON FUNCTION mockarty.task_accept(text, text, text, boolean, text[], int, int, uuid) IS 'Leases one queued task (the given one, or the oldest eligible) to a runner: {"accepted":true,"task":{...,"payload","leaseId","attempt","leaseExpiresAt","leaseExpiresMs"}} or {"accepted":false,"reason":"taken|not_eligible|max_concurrent|not_found|cancelled"}; serialised per runner id (advisory lock), so max_concurrent holds; exactly one concurrent caller wins a task (FOR UPDATE SKIP LOCKED); READ COMMITTED only';

CREATE FUNCTION mockarty.task_start(p_task_id uuid, p_lease_id uuid) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
	UPDATE mockarty_private.tasks u
	SET status = 'running', started_at = coalesce(u.started_at, clock_timestamp()), updated_at = clock_timestamp()
	WHERE u.id = p_task_id AND u.lease_id = p_lease_id AND u.status IN ('leased', 'running')
	  AND u.lease_expires_at >= clock_timestamp();
	IF NOT FOUND THEN
		RETURN jsonb_build_object('ok', false, 'reason', 'lease_lost');
	END IF;
	RETURN jsonb_build_object('ok', true);
END
$$;
COMMENT ON FUNCTION mockarty.task_start(uuid, uuid) IS 'Marks a leased task running (startedAt set once; repeating is harmless): {"ok":true} or {"ok":false,"reason":"lease_lost"}';

CREATE FUNCTION mockarty.task_heartbeat(p_runner_id text, p_leases jsonb, p_lease_ms int) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	e jsonb;
	i int := 0;
	v_task uuid;
	v_cancel boolean;
	v_extended jsonb := '[]';
	v_cancelled jsonb := '[]';
	v_lost jsonb := '[]';
BEGIN
	IF p_leases IS NULL OR jsonb_typeof(p_leases) <> 'array' THEN
		RAISE EXCEPTION 'leases must be a JSON array' USING ERRCODE = '22023', DETAIL = '$.leases';
	END IF;
	IF p_lease_ms IS NULL OR p_lease_ms < 0 THEN
		RAISE EXCEPTION 'leaseMs must be >= 0' USING ERRCODE = '22023', DETAIL = '$.leaseMs';
	END IF;
	FOR e IN SELECT value FROM jsonb_array_elements(p_leases) LOOP
		v_task := mockarty_private.integration_id(e ->> 'taskId');
		IF v_task IS NULL THEN
			RAISE EXCEPTION 'leases[%].taskId must be a task id (uuid)', i USING ERRCODE = '22023',
				DETAIL = format('$.leases[%s].taskId', i);
		END IF;
		IF e ? 'progress' AND jsonb_typeof(e -> 'progress') NOT IN ('object', 'null') THEN
			RAISE EXCEPTION 'leases[%].progress must be a JSON object', i USING ERRCODE = '22023',
				DETAIL = format('$.leases[%s].progress', i);
		END IF;
		-- the lease id is the fencing token; the runner id is not checked, so a runner
		-- that reconnected (new id) keeps the leases it still holds
		UPDATE mockarty_private.tasks u
		SET lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
			progress = CASE WHEN jsonb_typeof(e -> 'progress') = 'object' THEN e -> 'progress' ELSE u.progress END,
			updated_at = clock_timestamp()
		WHERE u.id = v_task AND u.lease_id = mockarty_private.integration_id(e ->> 'leaseId')
		  AND u.status IN ('leased', 'running') AND u.lease_expires_at >= clock_timestamp()
		RETURNING u.cancel_requested INTO v_cancel;
		IF FOUND THEN
			v_extended := v_extended || to_jsonb(v_task::text);
			IF v_cancel THEN
				v_cancelled := v_cancelled || to_jsonb(v_task::text);
			END IF;
		ELSE
			v_lost := v_lost || to_jsonb(v_task::text);
		END IF;
		i := i + 1;
	END LOOP;
	RETURN jsonb_build_object('extended', v_extended, 'cancel', v_cancelled, 'lost', v_lost);
END
$$;
COMMENT ON FUNCTION mockarty.task_heartbeat(text, jsonb, int) IS 'Extends the leases [{"taskId","leaseId","progress"?}] still held (stores progress when given): {"extended":[ids],"cancel":[held ids the user cancelled],"lost":[ids no longer held]}';

CREATE FUNCTION mockarty.task_append_results(p_task_id uuid, p_lease_id uuid, p_chunks jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
	e jsonb;
	i int := 0;
	n int;
BEGIN
	IF p_chunks IS NULL OR jsonb_typeof(p_chunks) <> 'array' THEN
		RAISE EXCEPTION 'chunks must be a JSON array' USING ERRCODE = '22023', DETAIL = '$.chunks';
	END IF;
	FOR e IN SELECT value FROM jsonb_array_elements(p_chunks) LOOP
		IF jsonb_typeof(e -> 'seq') IS DISTINCT FROM 'number' OR (e ->> 'seq')::numeric < 0
		   OR (e ->> 'seq')::numeric <> trunc((e ->> 'seq')::numeric) OR (e ->> 'seq')::numeric > 2147483647 THEN
			RAISE EXCEPTION 'chunks[%].seq must be an integer >= 0', i USING ERRCODE = '22023',
				DETAIL = format('$.chunks[%s].seq', i);
		END IF;
		IF NOT e ? 'data' THEN
			RAISE EXCEPTION 'chunks[%].data is missing', i USING ERRCODE = '22023',
				DETAIL = format('$.chunks[%s].data', i);
		END IF;
		i := i + 1;
	END LOOP;
	-- FOR SHARE keeps the reaper (which skips locked rows) off the task meanwhile
	SELECT * INTO t FROM mockarty_private.tasks x
	WHERE x.id = p_task_id AND x.lease_id = p_lease_id AND x.status IN ('leased', 'running')
	  AND x.lease_expires_at >= clock_timestamp()
	FOR SHARE;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('ok', false, 'reason', 'lease_lost');
	END IF;
	INSERT INTO mockarty_private.task_results (task_id, seq, attempt, data)
	SELECT p_task_id, (c ->> 'seq')::int, t.attempts, c -> 'data' FROM jsonb_array_elements(p_chunks) c
	ON CONFLICT (task_id, seq) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN jsonb_build_object('ok', true, 'stored', n);
END
$$;
COMMENT ON FUNCTION mockarty.task_append_results(uuid, uuid, jsonb) IS 'Stores result chunks [{"seq":n,"data":{...}}] of a held lease: {"ok":true,"stored":k} (k = new chunks; a seq already stored is ignored) or {"ok":false,"reason":"lease_lost"}';

CREATE FUNCTION mockarty.task_complete(p_task_id uuid, p_lease_id uuid, p_status text, p_result jsonb,
	p_error text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
BEGIN
	IF p_status IS NULL OR p_status NOT IN ('completed', 'failed', 'cancelled') THEN
		RAISE EXCEPTION 'unknown completion status "%"', coalesce(p_status, '') USING ERRCODE = '22023',
			DETAIL = '$.status', HINT = 'Statuses are completed, failed and cancelled.';
	END IF;
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = p_task_id FOR UPDATE;
	IF NOT FOUND OR p_lease_id IS NULL OR t.lease_id IS DISTINCT FROM p_lease_id THEN
		RETURN jsonb_build_object('ok', false, 'reason', 'lease_lost');
	END IF;
	-- a terminal task keeps the lease that completed it: a retried completion is a no-op
	IF t.status IN ('completed', 'failed', 'cancelled') THEN
		RETURN jsonb_build_object('ok', true, 'stored', false);
	END IF;
	IF t.lease_expires_at < clock_timestamp() THEN
		RETURN jsonb_build_object('ok', false, 'reason', 'lease_lost');
	END IF;
	UPDATE mockarty_private.tasks u
	SET status = p_status, result = p_result, error = p_error, lease_expires_at = NULL,
		completed_at = clock_timestamp(), updated_at = clock_timestamp()
	WHERE u.id = p_task_id
	RETURNING * INTO t;
	PERFORM mockarty_private.task_finished(t);
	RETURN jsonb_build_object('ok', true, 'stored', true);
END
$$;
COMMENT ON FUNCTION mockarty.task_complete(uuid, uuid, text, jsonb, text) IS 'Stores the outcome (completed, failed, cancelled) of a held lease: {"ok":true,"stored":true}; the same lease again: {"ok":true,"stored":false} (result unchanged); another or expired lease: {"ok":false,"reason":"lease_lost"}; NOTIFY mockarty_tasks ''done:<id>'', and a test_run.completed event for api_test';

CREATE FUNCTION mockarty.task_release(p_task_id uuid, p_lease_id uuid) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
BEGIN
	SELECT * INTO t FROM mockarty_private.tasks x
	WHERE x.id = p_task_id AND x.lease_id = p_lease_id AND x.status IN ('leased', 'running')
	  AND x.lease_expires_at >= clock_timestamp()
	FOR UPDATE;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('ok', false, 'reason', 'lease_lost');
	END IF;
	DELETE FROM mockarty_private.task_results r WHERE r.task_id = p_task_id;
	IF t.cancel_requested THEN
		UPDATE mockarty_private.tasks u
		SET status = 'cancelled', lease_id = NULL, lease_expires_at = NULL,
			completed_at = clock_timestamp(), updated_at = clock_timestamp()
		WHERE u.id = p_task_id RETURNING * INTO t;
		PERFORM mockarty_private.task_finished(t);
	ELSE
		-- a hand-back is not a failed attempt: it does not count towards max_attempts
		UPDATE mockarty_private.tasks u
		SET status = 'queued', attempts = greatest(u.attempts - 1, 0), lease_id = NULL, lease_expires_at = NULL,
			runner_id = NULL, runner_name = NULL, progress = NULL, updated_at = clock_timestamp()
		WHERE u.id = p_task_id;
		PERFORM pg_catalog.pg_notify('mockarty_tasks', 'queued:' || p_task_id);
	END IF;
	RETURN jsonb_build_object('ok', true);
END
$$;
COMMENT ON FUNCTION mockarty.task_release(uuid, uuid) IS 'A runner hands a held task back (shutting down): queued again (this attempt not counted, its result chunks deleted, NOTIFY ''queued:<id>''), or cancelled when a cancel was requested; {"ok":true} or {"ok":false,"reason":"lease_lost"}';

CREATE FUNCTION mockarty.task_cancel(p_task_id uuid) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
BEGIN
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = p_task_id AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	PERFORM mockarty_private.role_require('editor', 'cancel tasks');
	IF t.status = 'queued' THEN
		UPDATE mockarty_private.tasks u
		SET status = 'cancelled', cancel_requested = true, completed_at = clock_timestamp(),
			updated_at = clock_timestamp()
		WHERE u.id = p_task_id RETURNING * INTO t;
		PERFORM mockarty_private.task_finished(t);
	ELSIF t.status IN ('leased', 'running') THEN
		UPDATE mockarty_private.tasks u SET cancel_requested = true, updated_at = clock_timestamp()
		WHERE u.id = p_task_id RETURNING * INTO t;
		PERFORM pg_catalog.pg_notify('mockarty_tasks', 'cancel:' || p_task_id);
	END IF;
	RETURN mockarty_private.task_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.task_cancel(uuid) IS 'Cancels a task: queued -> cancelled at once; leased/running -> cancelRequested (NOTIFY mockarty_tasks ''cancel:<id>''; the runner stops and completes it as cancelled); terminal -> unchanged; returns the task, NULL when unknown';

CREATE FUNCTION mockarty.task_reap() RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
	n int := 0;
	-- a parameter, unlike clock_timestamp() itself, can bound the index scan
	v_now timestamptz := clock_timestamp();
BEGIN
	-- SKIP LOCKED: a task a runner is touching right now is left for the next tick, so
	-- the reaper never waits on (or deadlocks with) runner calls
	FOR t IN
		UPDATE mockarty_private.tasks u
		SET status = CASE WHEN u.cancel_requested THEN 'cancelled'
		                  WHEN u.attempts >= u.max_attempts THEN 'failed' ELSE 'queued' END,
			error = CASE WHEN u.cancel_requested THEN u.error
			             WHEN u.attempts >= u.max_attempts THEN 'lease expired after ' || u.attempts || ' attempts'
			             ELSE u.error END,
			completed_at = CASE WHEN u.cancel_requested OR u.attempts >= u.max_attempts THEN clock_timestamp() END,
			runner_id = CASE WHEN u.cancel_requested OR u.attempts >= u.max_attempts THEN u.runner_id END,
			runner_name = CASE WHEN u.cancel_requested OR u.attempts >= u.max_attempts THEN u.runner_name END,
			progress = CASE WHEN u.cancel_requested OR u.attempts >= u.max_attempts THEN u.progress END,
			lease_id = NULL, lease_expires_at = NULL, updated_at = clock_timestamp()
		WHERE u.id IN (SELECT x.id FROM mockarty_private.tasks x
		               WHERE x.status IN ('leased', 'running') AND x.lease_expires_at < v_now
		               FOR UPDATE SKIP LOCKED)
		RETURNING u.*
	LOOP
		n := n + 1;
		IF t.status = 'queued' THEN
			DELETE FROM mockarty_private.task_results r WHERE r.task_id = t.id;
		ELSE
			PERFORM mockarty_private.task_finished(t);
		END IF;
	END LOOP;
	IF n > 0 THEN
		PERFORM pg_catalog.pg_notify('mockarty_tasks', 'reaped');
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.task_reap() IS 'Hands back expired leases (lease_expires_at < clock_timestamp()): queued again with that attempt''s chunks deleted, or failed ("lease expired after N attempts") once attempts reach max_attempts, or cancelled when a cancel was requested; NOTIFY mockarty_tasks ''reaped'' when any; returns how many. The scheduler background worker calls it every mockarty.scheduler_interval_ms';

CREATE FUNCTION mockarty.task_get(p_id uuid, p_with_payload boolean DEFAULT false) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.task_json(t, coalesce(p_with_payload, false)) FROM mockarty_private.tasks t WHERE t.id = p_id AND mockarty_private.ns_visible(t.namespace) $$;
COMMENT ON FUNCTION mockarty.task_get(uuid, boolean) IS 'One task (with its payload when asked), NULL when unknown';

CREATE FUNCTION mockarty.task_results(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(r.data ORDER BY r.seq), '[]') FROM mockarty_private.task_results r WHERE r.task_id = p_id
	  AND EXISTS (SELECT 1 FROM mockarty_private.tasks t WHERE t.id = r.task_id AND mockarty_private.ns_visible(t.namespace))
$$;
COMMENT ON FUNCTION mockarty.task_results(uuid) IS 'The result chunks (data) of a task''s current attempt in seq order';

CREATE FUNCTION mockarty.task_list(p_kind text DEFAULT NULL, p_namespace text DEFAULT NULL, p_status text DEFAULT NULL,
	p_limit int DEFAULT 100, p_offset int DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	v_ns text;
BEGIN
	IF p_kind IS NOT NULL THEN
		PERFORM mockarty_private.task_check_kind(p_kind);
	END IF;
	IF p_status IS NOT NULL AND p_status NOT IN ('queued', 'leased', 'running', 'completed', 'failed', 'cancelled') THEN
		RAISE EXCEPTION 'unknown task status "%"', p_status USING ERRCODE = '22023', DETAIL = '$.status';
	END IF;
	v_ns := mockarty_private.ns_scope(p_namespace);
	RETURN (SELECT coalesce(jsonb_agg(mockarty_private.task_json(t) ORDER BY t.created_at DESC, t.id DESC), '[]')
		FROM (SELECT * FROM mockarty_private.tasks x
		      WHERE (p_kind IS NULL OR x.kind = p_kind) AND (v_ns IS NULL OR x.namespace = v_ns)
		        AND (p_status IS NULL OR x.status = p_status)
		      ORDER BY x.created_at DESC, x.id DESC
		      LIMIT greatest(coalesce(p_limit, 100), 0) OFFSET greatest(coalesce(p_offset, 0), 0)) t);
END
$$;
COMMENT ON FUNCTION mockarty.task_list(text, text, text, int, int) IS 'Tasks newest first, filtered by kind, namespace and status (NULL = any), without payloads';

CREATE FUNCTION mockarty.task_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete tasks');
	DELETE FROM mockarty_private.tasks t WHERE t.id = p_id AND mockarty_private.ns_visible(t.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.task_delete(uuid) IS 'Deletes a task and its result chunks (a runner still holding it sees its lease lost); false when unknown';

CREATE FUNCTION mockarty.task_stats() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_object_agg(k.kind, (SELECT jsonb_object_agg(s.status,
			(SELECT count(*) FROM mockarty_private.tasks t WHERE t.kind = k.kind AND t.status = s.status))
		FROM unnest(ARRAY['queued', 'leased', 'running', 'completed', 'failed', 'cancelled']) s (status)))
	FROM unnest(ARRAY['api_test', 'performance']) k (kind)
$$;
COMMENT ON FUNCTION mockarty.task_stats() IS 'Task counts by kind and status: {"api_test":{"queued":n,"leased":n,"running":n,"completed":n,"failed":n,"cancelled":n},"performance":{...}}';

-- Collections --------------------------------------------------------------

CREATE FUNCTION mockarty_private.collection_request_count(src jsonb) RETURNS int
LANGUAGE sql IMMUTABLE
AS $$
	WITH RECURSIVE walk (it) AS (
		SELECT c.value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(src -> 'item') = 'array' THEN src -> 'item' ELSE '[]' END) c
		UNION ALL
		SELECT c.value FROM walk w,
			jsonb_array_elements(CASE WHEN jsonb_typeof(w.it) = 'object' AND jsonb_typeof(w.it -> 'item') = 'array'
			                     THEN w.it -> 'item' ELSE '[]' END) c
	)
	SELECT count(*)::int FROM walk WHERE jsonb_typeof(it) = 'object' AND it ? 'request' AND NOT it ? 'item'
$$;
COMMENT ON FUNCTION mockarty_private.collection_request_count(jsonb) IS 'Number of leaf items with a request in a Postman collection, folders walked recursively';

CREATE FUNCTION mockarty_private.collection_check(src jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
	IF src IS NULL OR jsonb_typeof(src) <> 'object' THEN
		RAISE EXCEPTION 'collection must be a Postman v2.1 collection object' USING ERRCODE = '22023',
			DETAIL = '$.collection';
	END IF;
	IF jsonb_typeof(src -> 'item') IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'collection.item must be an array of requests and folders' USING ERRCODE = '22023',
			DETAIL = '$.collection.item';
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.collection_check(jsonb) IS 'Raises 22023 naming collection or collection.item unless the document is an object with an item array';

CREATE FUNCTION mockarty_private.collection_json(c mockarty_private.collections, p_full boolean DEFAULT true)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', c.id::text, 'namespace', c.namespace, 'name', c.name,
		'description', c.description, 'protocol', 'http', 'collectionType', 'postman', 'isShared', false,
		'metadata', c.metadata, 'requestCount', c.request_count,
		'createdAt', mockarty_private.rfc3339(c.created_at), 'updatedAt', mockarty_private.rfc3339(c.updated_at))
		|| CASE WHEN p_full THEN jsonb_build_object('collection', c.source) ELSE '{}' END
$$;
COMMENT ON FUNCTION mockarty_private.collection_json(mockarty_private.collections, boolean) IS 'A collection as the API returns it; the Postman document under "collection" unless p_full is false (lists)';

CREATE FUNCTION mockarty.collection_create(p_namespace text, p_name text, p_source jsonb, p_description text DEFAULT NULL,
	p_metadata jsonb DEFAULT '{}', p_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c mockarty_private.collections;
	v_name text;
BEGIN
	PERFORM mockarty_private.collection_check(p_source);
	v_name := coalesce(nullif(btrim(p_name), ''), nullif(btrim(p_source -> 'info' ->> 'name'), ''));
	IF v_name IS NULL THEN
		RAISE EXCEPTION 'collection name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name',
			HINT = 'Give a name or set info.name in the collection.';
	END IF;
	IF p_metadata IS NOT NULL AND jsonb_typeof(p_metadata) <> 'object' THEN
		RAISE EXCEPTION 'metadata must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.metadata';
	END IF;
	PERFORM mockarty_private.namespace_ensure(p_namespace);
	IF p_id IS NOT NULL AND EXISTS (SELECT 1 FROM mockarty_private.collections x WHERE x.id = p_id) THEN
		RAISE EXCEPTION 'collection "%" already exists', p_id USING ERRCODE = '23505';
	END IF;
	INSERT INTO mockarty_private.collections (id, namespace, name, description, metadata, source, request_count)
	VALUES (coalesce(p_id, gen_random_uuid()), p_namespace, v_name, p_description, coalesce(p_metadata, '{}'),
		p_source, mockarty_private.collection_request_count(p_source))
	RETURNING * INTO c;
	RETURN mockarty_private.collection_json(c);
END
$$;
COMMENT ON FUNCTION mockarty.collection_create(text, text, jsonb, text, jsonb, uuid) IS 'Stores a Postman v2.1 collection as given (name: argument, else info.name) and returns it with requestCount; 22023 naming collection.item, name or metadata; 23505 for a taken id';

CREATE FUNCTION mockarty.collection_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.collection_json(c) FROM mockarty_private.collections c WHERE c.id = p_id AND mockarty_private.ns_visible(c.namespace) $$;
COMMENT ON FUNCTION mockarty.collection_get(uuid) IS 'One collection with its Postman document, NULL when unknown';

CREATE FUNCTION mockarty.collection_list(p_namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.collection_json(c, false) ORDER BY c.name, c.created_at, c.id), '[]')
		FROM mockarty_private.collections c WHERE s.ns IS NULL OR c.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.collection_list(text) IS 'Collections of a namespace (NULL = all) by name, without the Postman documents';

CREATE FUNCTION mockarty.collection_update(p_id uuid, p_patch jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c mockarty_private.collections;
BEGIN
	IF p_patch IS NULL OR jsonb_typeof(p_patch) <> 'object' THEN
		RAISE EXCEPTION 'patch must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	SELECT * INTO c FROM mockarty_private.collections x WHERE x.id = p_id AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('collection', p_id::text);
	END IF;
	IF p_patch ? 'name' THEN
		IF jsonb_typeof(p_patch -> 'name') IS DISTINCT FROM 'string' OR btrim(p_patch ->> 'name') = '' THEN
			RAISE EXCEPTION 'collection name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
		END IF;
		c.name := p_patch ->> 'name';
	END IF;
	IF p_patch ? 'description' THEN
		c.description := p_patch ->> 'description';
	END IF;
	IF p_patch ? 'metadata' THEN
		IF jsonb_typeof(p_patch -> 'metadata') IS DISTINCT FROM 'object' THEN
			RAISE EXCEPTION 'metadata must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.metadata';
		END IF;
		c.metadata := p_patch -> 'metadata';
	END IF;
	IF p_patch ? 'collection' THEN
		PERFORM mockarty_private.collection_check(p_patch -> 'collection');
		c.source := p_patch -> 'collection';
		c.request_count := mockarty_private.collection_request_count(c.source);
	END IF;
	IF p_patch ? 'namespace' THEN
		PERFORM mockarty_private.namespace_ensure(p_patch ->> 'namespace');
		c.namespace := p_patch ->> 'namespace';
	END IF;
	UPDATE mockarty_private.collections x
	SET name = c.name, description = c.description, metadata = c.metadata, source = c.source,
		request_count = c.request_count, namespace = c.namespace, updated_at = now()
	WHERE x.id = p_id RETURNING * INTO c;
	RETURN mockarty_private.collection_json(c);
END
$$;
COMMENT ON FUNCTION mockarty.collection_update(uuid, jsonb) IS 'Changes the keys present in the patch (name, description, metadata, collection, namespace; others are ignored) and returns the collection; P0002 when unknown, 22023 naming a bad field';

CREATE FUNCTION mockarty.collection_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete collections');
	DELETE FROM mockarty_private.collections c WHERE c.id = p_id AND mockarty_private.ns_visible(c.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.collection_delete(uuid) IS 'Deletes a collection (its runs stay, with collectionId NULL); false when unknown';

-- Environments -------------------------------------------------------------

CREATE FUNCTION mockarty_private.environment_variables(v jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	e jsonb;
	i int := 0;
	result jsonb := '{}';
BEGIN
	IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
		RETURN '{}';
	END IF;
	-- a whole Postman environment export: {"name", "values": [...], "_postman_variable_scope"}
	IF jsonb_typeof(v) = 'object' AND v ? '_postman_variable_scope' AND jsonb_typeof(v -> 'values') = 'array' THEN
		v := v -> 'values';
	END IF;
	IF jsonb_typeof(v) = 'object' THEN
		RETURN v;
	END IF;
	IF jsonb_typeof(v) <> 'array' THEN
		RAISE EXCEPTION 'variables must be an object {name: value} or a Postman array [{"key","value"}]'
			USING ERRCODE = '22023', DETAIL = '$.variables';
	END IF;
	FOR e IN SELECT value FROM jsonb_array_elements(v) LOOP
		IF jsonb_typeof(e) IS DISTINCT FROM 'object' OR jsonb_typeof(e -> 'key') IS DISTINCT FROM 'string'
		   OR e ->> 'key' = '' THEN
			RAISE EXCEPTION 'variables[%].key must be a non-empty string', i USING ERRCODE = '22023',
				DETAIL = format('$.variables[%s].key', i);
		END IF;
		IF coalesce(e -> 'enabled', 'true') <> 'false' THEN
			result := result || jsonb_build_object(e ->> 'key', coalesce(e -> 'value', 'null'));
		END IF;
		i := i + 1;
	END LOOP;
	RETURN result;
END
$$;
COMMENT ON FUNCTION mockarty_private.environment_variables(jsonb) IS 'Environment variables as {name: value}: an object as is, a Postman array [{"key","value","enabled"?}] (or a whole Postman environment export) with disabled entries dropped; 22023 naming variables[i].key';

CREATE FUNCTION mockarty_private.environment_json(e mockarty_private.environments) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', e.id::text, 'namespace', e.namespace, 'name', e.name, 'variables', e.variables,
		'isActive', e.is_active, 'createdAt', mockarty_private.rfc3339(e.created_at),
		'updatedAt', mockarty_private.rfc3339(e.updated_at))
$$;
COMMENT ON FUNCTION mockarty_private.environment_json(mockarty_private.environments) IS 'An environment as the API returns it';

CREATE FUNCTION mockarty.environment_create(p_namespace text, p_name text, p_variables jsonb, p_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	e mockarty_private.environments;
	v_vars jsonb := mockarty_private.environment_variables(p_variables);
BEGIN
	IF p_name IS NULL OR btrim(p_name) = '' THEN
		RAISE EXCEPTION 'environment name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
	END IF;
	PERFORM mockarty_private.namespace_ensure(p_namespace);
	IF p_id IS NOT NULL AND EXISTS (SELECT 1 FROM mockarty_private.environments x WHERE x.id = p_id) THEN
		RAISE EXCEPTION 'environment "%" already exists', p_id USING ERRCODE = '23505';
	END IF;
	INSERT INTO mockarty_private.environments (id, namespace, name, variables)
	VALUES (coalesce(p_id, gen_random_uuid()), p_namespace, p_name, v_vars)
	RETURNING * INTO e;
	RETURN mockarty_private.environment_json(e);
END
$$;
COMMENT ON FUNCTION mockarty.environment_create(text, text, jsonb, uuid) IS 'Creates an environment from {name: value} or Postman [{"key","value","enabled"?}] variables (disabled dropped, values kept as given); 22023 naming the bad field, 23505 for a taken id';

CREATE FUNCTION mockarty.environment_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.environment_json(e) FROM mockarty_private.environments e WHERE e.id = p_id AND mockarty_private.ns_visible(e.namespace) $$;
COMMENT ON FUNCTION mockarty.environment_get(uuid) IS 'One environment, NULL when unknown';

CREATE FUNCTION mockarty.environment_list(p_namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.environment_json(e) ORDER BY e.name, e.created_at, e.id), '[]')
		FROM mockarty_private.environments e WHERE s.ns IS NULL OR e.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.environment_list(text) IS 'Environments of a namespace (NULL = all) by name';

CREATE FUNCTION mockarty.environment_activate(p_id uuid) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	e mockarty_private.environments;
BEGIN
	SELECT * INTO e FROM mockarty_private.environments x WHERE x.id = p_id AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('environment', p_id::text);
	END IF;
	PERFORM mockarty_private.role_require('editor', 'activate environments');
	UPDATE mockarty_private.environments x SET is_active = false, updated_at = now()
	WHERE x.namespace = e.namespace AND x.is_active AND x.id <> p_id;
	UPDATE mockarty_private.environments x SET is_active = true, updated_at = now()
	WHERE x.id = p_id RETURNING * INTO e;
	RETURN mockarty_private.environment_json(e);
END
$$;
COMMENT ON FUNCTION mockarty.environment_activate(uuid) IS 'Makes an environment the active one of its namespace (the previous one is deactivated) and returns it; P0002 when unknown';

CREATE FUNCTION mockarty.environment_active(p_namespace text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.environment_json(e) FROM mockarty_private.environments e WHERE e.namespace = mockarty_private.ns_scope(p_namespace) AND e.is_active $$;
COMMENT ON FUNCTION mockarty.environment_active(text) IS 'The active environment of a namespace, NULL when none';

CREATE FUNCTION mockarty.environment_update(p_id uuid, p_patch jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	e mockarty_private.environments;
BEGIN
	IF p_patch IS NULL OR jsonb_typeof(p_patch) <> 'object' THEN
		RAISE EXCEPTION 'patch must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	SELECT * INTO e FROM mockarty_private.environments x WHERE x.id = p_id AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('environment', p_id::text);
	END IF;
	IF p_patch ? 'name' THEN
		IF jsonb_typeof(p_patch -> 'name') IS DISTINCT FROM 'string' OR btrim(p_patch ->> 'name') = '' THEN
			RAISE EXCEPTION 'environment name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
		END IF;
		e.name := p_patch ->> 'name';
	END IF;
	IF p_patch ? 'variables' THEN
		e.variables := mockarty_private.environment_variables(p_patch -> 'variables');
	ELSIF p_patch ? 'values' THEN
		e.variables := mockarty_private.environment_variables(p_patch -> 'values');
	END IF;
	IF p_patch ? 'namespace' AND p_patch ->> 'namespace' IS DISTINCT FROM e.namespace THEN
		PERFORM mockarty_private.namespace_ensure(p_patch ->> 'namespace');
		e.namespace := p_patch ->> 'namespace';
		e.is_active := false;
	END IF;
	UPDATE mockarty_private.environments x
	SET name = e.name, variables = e.variables, namespace = e.namespace, is_active = e.is_active, updated_at = now()
	WHERE x.id = p_id RETURNING * INTO e;
	IF p_patch -> 'isActive' = 'true' THEN
		RETURN mockarty.environment_activate(p_id);
	ELSIF p_patch -> 'isActive' = 'false' AND e.is_active THEN
		UPDATE mockarty_private.environments x SET is_active = false WHERE x.id = p_id RETURNING * INTO e;
	END IF;
	RETURN mockarty_private.environment_json(e);
END
$$;
COMMENT ON FUNCTION mockarty.environment_update(uuid, jsonb) IS 'Changes the keys present in the patch (name, variables or values, namespace, isActive) and returns the environment; P0002 when unknown, 22023 naming a bad field';

CREATE FUNCTION mockarty.environment_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete environments');
	DELETE FROM mockarty_private.environments e WHERE e.id = p_id AND mockarty_private.ns_visible(e.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.environment_delete(uuid) IS 'Deletes an environment; false when unknown';

CREATE FUNCTION mockarty_private.run_environment(p_namespace text, p_environment_id uuid) RETURNS mockarty_private.environments
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	e mockarty_private.environments;
BEGIN
	IF p_environment_id IS NOT NULL THEN
		SELECT * INTO e FROM mockarty_private.environments x WHERE x.id = p_environment_id AND mockarty_private.ns_visible(x.namespace);
		IF NOT FOUND THEN
			RAISE EXCEPTION 'environment "%" does not exist', p_environment_id USING ERRCODE = '22023',
				DETAIL = '$.environmentId';
		END IF;
		IF e.namespace <> p_namespace THEN
			RAISE EXCEPTION 'environment "%" belongs to namespace "%", not "%"', p_environment_id, e.namespace,
				p_namespace USING ERRCODE = '22023', DETAIL = '$.environmentId';
		END IF;
		RETURN e;
	END IF;
	SELECT * INTO e FROM mockarty_private.environments x WHERE x.namespace = p_namespace AND x.is_active;
	RETURN e;
END
$$;
COMMENT ON FUNCTION mockarty_private.run_environment(text, uuid) IS 'The environment a run uses: the given one (22023 when unknown or of another namespace), else the namespace''s active one, else a row of NULLs';

CREATE FUNCTION mockarty_private.run_collection(p_id uuid, p_field text) RETURNS mockarty_private.collections
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	c mockarty_private.collections;
BEGIN
	SELECT * INTO c FROM mockarty_private.collections x WHERE x.id = p_id AND mockarty_private.ns_visible(x.namespace);
	IF p_id IS NULL OR NOT FOUND THEN
		RAISE EXCEPTION 'collection "%" does not exist', coalesce(p_id::text, '') USING ERRCODE = '22023',
			DETAIL = '$.' || p_field;
	END IF;
	RETURN c;
END
$$;
COMMENT ON FUNCTION mockarty_private.run_collection(uuid, text) IS 'The collection a run uses; 22023 naming p_field when it does not exist';

-- Test runs ----------------------------------------------------------------

CREATE FUNCTION mockarty_private.test_run_json(t mockarty_private.tasks) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id::text, 'collectionId', coalesce(t.collection_id::text, t.payload ->> 'collectionId'),
		'collectionName', t.payload ->> 'collectionName', 'environmentId', t.environment_id::text,
		'namespace', t.namespace, 'mode', 'functional', 'status', mockarty_private.test_run_status(t),
		'totalTests', coalesce((t.result ->> 'totalTests')::numeric, 0),
		'passedTests', coalesce((t.result ->> 'passedTests')::numeric, 0),
		'failedTests', coalesce((t.result ->> 'failedTests')::numeric, 0),
		'skippedTests', coalesce((t.result ->> 'skippedTests')::numeric, 0),
		'duration', mockarty_private.task_duration_ms(t),
		-- while it runs, the chunks streamed so far
		'results', CASE WHEN jsonb_typeof(t.result -> 'results') = 'array' THEN t.result -> 'results'
		                WHEN t.result IS NULL THEN (SELECT coalesce(jsonb_agg(r.data ORDER BY r.seq), '[]')
		                                            FROM mockarty_private.task_results r WHERE r.task_id = t.id)
		                ELSE '[]' END,
		'startedAt', mockarty_private.rfc3339(t.started_at),
		'completedAt', mockarty_private.rfc3339(t.completed_at),
		'createdAt', mockarty_private.rfc3339(t.created_at),
		'runner', t.runner_name, 'error', t.error, 'attempts', t.attempts)
$$;
COMMENT ON FUNCTION mockarty_private.test_run_json(mockarty_private.tasks) IS 'An api_test task as the SDKs'' TestRun: counts and results from the final result document (results streamed so far while it runs), duration in ms';

CREATE FUNCTION mockarty.test_run_start(p_collection_id uuid, p_environment_id uuid DEFAULT NULL, p_options jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c mockarty_private.collections;
	e mockarty_private.environments;
	t mockarty_private.tasks;
	v_task jsonb;
BEGIN
	c := mockarty_private.run_collection(p_collection_id, 'collectionId');
	e := mockarty_private.run_environment(c.namespace, p_environment_id);
	IF p_options IS NOT NULL AND jsonb_typeof(p_options) <> 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.options';
	END IF;
	v_task := mockarty.task_enqueue('api_test', c.namespace, jsonb_build_object(
		'collectionId', c.id::text, 'collectionName', c.name, 'collection', c.source,
		'environmentId', e.id::text, 'environment', coalesce(e.variables, '{}'),
		'options', coalesce(p_options, '{}')), c.name, 3, c.id, e.id);
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = (v_task ->> 'id')::uuid;
	RETURN mockarty_private.test_run_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.test_run_start(uuid, uuid, jsonb) IS 'Queues an api_test task for a collection in its namespace (payload: collectionId, collectionName, collection, environmentId, environment {k:v} from the given, else the active, else none, options) and returns the TestRun; 22023 for an unknown collection or an environment that is unknown or of another namespace';

CREATE FUNCTION mockarty.test_run_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.test_run_json(t) FROM mockarty_private.tasks t WHERE t.id = p_id AND t.kind = 'api_test' AND mockarty_private.ns_visible(t.namespace) $$;
COMMENT ON FUNCTION mockarty.test_run_get(uuid) IS 'One TestRun, NULL when unknown';

CREATE FUNCTION mockarty.test_run_list(p_namespace text DEFAULT NULL, p_collection_id uuid DEFAULT NULL,
	p_limit int DEFAULT 50, p_offset int DEFAULT 0)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	-- the scope is the outer row, so a refused namespace raises even when no run exists
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.test_run_json(t) ORDER BY t.created_at DESC, t.id DESC), '[]')
	FROM (SELECT x.* FROM mockarty_private.tasks x
	      WHERE x.kind = 'api_test' AND (s.ns IS NULL OR x.namespace = s.ns)
	        AND (p_collection_id IS NULL OR x.collection_id = p_collection_id)
	      ORDER BY x.created_at DESC, x.id DESC
	      LIMIT greatest(coalesce(p_limit, 50), 0) OFFSET greatest(coalesce(p_offset, 0), 0)) t)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.test_run_list(text, uuid, int, int) IS 'TestRuns newest first, filtered by namespace and collection (NULL = any)';

CREATE FUNCTION mockarty.test_run_cancel(p_id uuid) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.tasks x WHERE x.id = p_id AND x.kind = 'api_test' AND mockarty_private.ns_visible(x.namespace)) THEN
		RETURN NULL;
	END IF;
	PERFORM mockarty.task_cancel(p_id);
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = p_id;
	RETURN mockarty_private.test_run_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.test_run_cancel(uuid) IS 'task_cancel() of a test run; returns the TestRun (cancelled at once when queued, still running with the runner told to stop otherwise), NULL when unknown';

CREATE FUNCTION mockarty.test_run_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete test runs');
	DELETE FROM mockarty_private.tasks t WHERE t.id = p_id AND t.kind = 'api_test' AND mockarty_private.ns_visible(t.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.test_run_delete(uuid) IS 'Deletes a test run; false when unknown';

-- Performance runs ---------------------------------------------------------

CREATE FUNCTION mockarty_private.perf_options(p_config jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	o jsonb;
	k text;
	v jsonb;
	st jsonb;
	i int := 0;
	stages jsonb := '[]';
	n numeric;
	result jsonb;
BEGIN
	o := coalesce(p_config -> 'options', '{}');
	IF jsonb_typeof(o) = 'null' THEN
		o := '{}';
	ELSIF jsonb_typeof(o) <> 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.options';
	END IF;
	-- the SDKs put these at top level; they win over the same key under options
	FOREACH k IN ARRAY ARRAY['vus', 'concurrency', 'duration', 'iterations', 'stages', 'thresholds', 'rate', 'mode', 'timeout'] LOOP
		IF p_config ? k AND jsonb_typeof(p_config -> k) <> 'null' THEN
			o := o || jsonb_build_object(k, p_config -> k);
		END IF;
	END LOOP;
	result := o - ARRAY['vus', 'concurrency', 'duration', 'iterations', 'stages', 'thresholds', 'rate', 'mode', 'timeout'];

	v := coalesce(o -> 'concurrency', o -> 'vus', '10');
	IF jsonb_typeof(v) <> 'number' OR v::numeric <> trunc(v::numeric) OR v::numeric < 1 OR v::numeric > 10000 THEN
		RAISE EXCEPTION 'options.concurrency must be an integer from 1 to 10000' USING ERRCODE = '22023',
			DETAIL = '$.options.concurrency';
	END IF;
	result := result || jsonb_build_object('concurrency', v::numeric::int);

	v := coalesce(o -> 'mode', '"closed"');
	IF v NOT IN ('"closed"', '"open"') THEN
		RAISE EXCEPTION 'options.mode must be "closed" or "open"' USING ERRCODE = '22023', DETAIL = '$.options.mode';
	END IF;
	result := result || jsonb_build_object('mode', v);

	IF o ? 'rate' AND jsonb_typeof(o -> 'rate') <> 'null' THEN
		IF jsonb_typeof(o -> 'rate') <> 'number' OR (o ->> 'rate')::numeric <= 0 THEN
			RAISE EXCEPTION 'options.rate must be a number of requests per second > 0' USING ERRCODE = '22023',
				DETAIL = '$.options.rate';
		END IF;
		result := result || jsonb_build_object('rate', o -> 'rate');
	END IF;

	IF o ? 'duration' AND jsonb_typeof(o -> 'duration') <> 'null' THEN
		result := result || jsonb_build_object('duration', mockarty_private.duration_ms(o -> 'duration', 'options.duration'));
		IF (result ->> 'duration')::bigint <= 0 THEN
			RAISE EXCEPTION 'options.duration must be longer than 0' USING ERRCODE = '22023', DETAIL = '$.options.duration';
		END IF;
	END IF;
	IF o ? 'timeout' AND jsonb_typeof(o -> 'timeout') <> 'null' THEN
		result := result || jsonb_build_object('timeout', mockarty_private.duration_ms(o -> 'timeout', 'options.timeout'));
	END IF;

	IF o ? 'iterations' AND jsonb_typeof(o -> 'iterations') <> 'null' THEN
		v := o -> 'iterations';
		IF jsonb_typeof(v) <> 'number' OR v::numeric <> trunc(v::numeric) OR v::numeric < 0 THEN
			RAISE EXCEPTION 'options.iterations must be an integer >= 0' USING ERRCODE = '22023',
				DETAIL = '$.options.iterations';
		END IF;
		result := result || jsonb_build_object('iterations', v::numeric::bigint);
	END IF;

	IF o ? 'stages' AND jsonb_typeof(o -> 'stages') <> 'null' THEN
		IF jsonb_typeof(o -> 'stages') <> 'array' THEN
			RAISE EXCEPTION 'options.stages must be an array of {"duration","target"}' USING ERRCODE = '22023',
				DETAIL = '$.options.stages';
		END IF;
		FOR st IN SELECT value FROM jsonb_array_elements(o -> 'stages') LOOP
			IF jsonb_typeof(st) IS DISTINCT FROM 'object' OR NOT st ? 'duration' THEN
				RAISE EXCEPTION 'options.stages[%].duration is missing', i USING ERRCODE = '22023',
					DETAIL = format('$.options.stages[%s].duration', i);
			END IF;
			IF jsonb_typeof(st -> 'target') IS DISTINCT FROM 'number' OR (st ->> 'target')::numeric < 0 THEN
				RAISE EXCEPTION 'options.stages[%].target must be a number >= 0', i USING ERRCODE = '22023',
					DETAIL = format('$.options.stages[%s].target', i);
			END IF;
			n := mockarty_private.duration_ms(st -> 'duration', format('options.stages[%s].duration', i));
			stages := stages || jsonb_build_array(jsonb_build_object('duration', n, 'target', st -> 'target'));
			i := i + 1;
		END LOOP;
		result := result || jsonb_build_object('stages', stages);
	END IF;

	IF result ->> 'mode' = 'open' AND NOT result ? 'rate' AND NOT result ? 'stages' THEN
		RAISE EXCEPTION 'options.rate is required in open mode' USING ERRCODE = '22023', DETAIL = '$.options.rate';
	END IF;

	IF o ? 'thresholds' AND jsonb_typeof(o -> 'thresholds') <> 'null' THEN
		IF jsonb_typeof(o -> 'thresholds') <> 'object' THEN
			RAISE EXCEPTION 'options.thresholds must be a JSON object' USING ERRCODE = '22023',
				DETAIL = '$.options.thresholds';
		END IF;
		result := result || jsonb_build_object('thresholds', o -> 'thresholds');
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION mockarty_private.perf_options(jsonb) IS 'Normalised load-test options of a perf run config: options merged with the top-level SDK fields; concurrency (= vus, default 10), mode (closed default, open needs rate or stages), duration/timeout/stage durations in ms ("60s", "2m" accepted), rate, iterations, thresholds; other keys kept; 22023 naming the field';

CREATE FUNCTION mockarty_private.perf_run_json(t mockarty_private.tasks) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id::text, 'name', t.name, 'namespace', t.namespace,
		'collectionId', coalesce(t.collection_id::text, t.payload ->> 'collectionId'),
		'status', CASE t.status WHEN 'leased' THEN 'running' WHEN 'cancelled' THEN 'stopped' ELSE t.status END,
		'options', t.payload -> 'options', 'progress', t.progress, 'report', t.result,
		'passed', CASE WHEN jsonb_typeof(t.result -> 'passed') = 'boolean' THEN t.result -> 'passed' ELSE 'null' END,
		'startedAt', mockarty_private.rfc3339(t.started_at),
		'completedAt', mockarty_private.rfc3339(t.completed_at),
		'createdAt', mockarty_private.rfc3339(t.created_at),
		'runner', t.runner_name, 'error', t.error)
$$;
COMMENT ON FUNCTION mockarty_private.perf_run_json(mockarty_private.tasks) IS 'A performance task as a PerfRun: status queued, running, completed, failed or stopped (cancelled); report = the load report, passed = its threshold verdict';

CREATE FUNCTION mockarty.perf_run_start(p_namespace text, p_config jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c mockarty_private.collections;
	e mockarty_private.environments;
	t mockarty_private.tasks;
	v_coll text;
	v_env text;
	v_field text := 'script.collectionId';
	v_opts jsonb;
	v_name text;
	v_task jsonb;
BEGIN
	IF p_config IS NULL OR jsonb_typeof(p_config) <> 'object' THEN
		RAISE EXCEPTION 'perf run config must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	IF p_config ? 'script' AND jsonb_typeof(p_config -> 'script') NOT IN ('object', 'null') THEN
		RAISE EXCEPTION 'script must be an object {"collectionId","environmentId"}' USING ERRCODE = '22023',
			DETAIL = '$.script';
	END IF;
	v_coll := p_config -> 'script' ->> 'collectionId';
	IF v_coll IS NULL THEN
		v_coll := p_config ->> 'collectionId';
		v_field := 'collectionId';
	END IF;
	IF v_coll IS NULL OR mockarty_private.integration_id(v_coll) IS NULL THEN
		RAISE EXCEPTION '% must be a collection id (uuid)', v_field USING ERRCODE = '22023', DETAIL = '$.' || v_field;
	END IF;
	c := mockarty_private.run_collection(v_coll::uuid, v_field);
	IF p_namespace IS NOT NULL AND p_namespace <> c.namespace THEN
		RAISE EXCEPTION 'collection "%" belongs to namespace "%", not "%"', c.id, c.namespace, p_namespace
			USING ERRCODE = '22023', DETAIL = '$.' || v_field;
	END IF;
	v_env := coalesce(p_config -> 'script' ->> 'environmentId', p_config ->> 'environmentId');
	IF v_env IS NOT NULL AND mockarty_private.integration_id(v_env) IS NULL THEN
		RAISE EXCEPTION 'environmentId must be an environment id (uuid)' USING ERRCODE = '22023',
			DETAIL = '$.script.environmentId';
	END IF;
	e := mockarty_private.run_environment(c.namespace, v_env::uuid);
	v_opts := mockarty_private.perf_options(p_config);
	v_name := coalesce(nullif(btrim(p_config ->> 'name'), ''), c.name);
	v_task := mockarty.task_enqueue('performance', c.namespace, jsonb_build_object(
		'name', v_name, 'collectionId', c.id::text, 'collection', c.source,
		'environmentId', e.id::text, 'environment', coalesce(e.variables, '{}'), 'options', v_opts),
		v_name, 1, c.id, e.id);
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = (v_task ->> 'id')::uuid;
	RETURN mockarty_private.perf_run_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.perf_run_start(text, jsonb) IS 'Queues a performance task for a collection (config: the guide''s {"script":{"collectionId","environmentId"},"options":{...}} or the SDKs'' top-level collectionId/vus/duration/...; namespace NULL = the collection''s) and returns the PerfRun; one attempt (a load test is not silently re-run); 22023 naming the bad field';

CREATE FUNCTION mockarty.perf_run_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.perf_run_json(t) FROM mockarty_private.tasks t WHERE t.id = p_id AND t.kind = 'performance' AND mockarty_private.ns_visible(t.namespace) $$;
COMMENT ON FUNCTION mockarty.perf_run_get(uuid) IS 'One PerfRun, NULL when unknown';

CREATE FUNCTION mockarty.perf_run_list(p_namespace text DEFAULT NULL, p_limit int DEFAULT 50, p_offset int DEFAULT 0)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	-- the scope is the outer row, so a refused namespace raises even when no run exists
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.perf_run_json(t) ORDER BY t.created_at DESC, t.id DESC), '[]')
	FROM (SELECT x.* FROM mockarty_private.tasks x
	      WHERE x.kind = 'performance' AND (s.ns IS NULL OR x.namespace = s.ns)
	      ORDER BY x.created_at DESC, x.id DESC
	      LIMIT greatest(coalesce(p_limit, 50), 0) OFFSET greatest(coalesce(p_offset, 0), 0)) t)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.perf_run_list(text, int, int) IS 'PerfRuns newest first (namespace NULL = all)';

CREATE FUNCTION mockarty.perf_run_stop(p_id uuid) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.tasks x WHERE x.id = p_id AND x.kind = 'performance' AND mockarty_private.ns_visible(x.namespace)) THEN
		RETURN NULL;
	END IF;
	PERFORM mockarty.task_cancel(p_id);
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = p_id;
	RETURN mockarty_private.perf_run_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.perf_run_stop(uuid) IS 'task_cancel() of a perf run: stopped at once when queued, otherwise the runner is told to stop and reports what it measured; returns the PerfRun, NULL when unknown';

CREATE FUNCTION mockarty.perf_run_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete perf runs');
	DELETE FROM mockarty_private.tasks t WHERE t.id = p_id AND t.kind = 'performance' AND mockarty_private.ns_visible(t.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.perf_run_delete(uuid) IS 'Deletes a perf run; false when unknown';

------------------------------------------------------------------------------
-- Settings, webhooks and their deliveries
------------------------------------------------------------------------------
-- Events (mock.created, mock.deleted, mock.resolved, undefined_request.received,
-- and whatever event_emit() records, test_run.completed among them) become
-- delivery rows inside the transaction that caused them: statement-level
-- triggers read the transition tables, so a batch of N rows costs one INSERT ...
-- SELECT, and a statement leaves at once when no enabled webhook subscribes to
-- its event. A delivery row carries everything an attempt needs (URL, headers,
-- the exact body, its retry schedule), so the admin node that sends it keeps no
-- state: it claims due rows with FOR UPDATE SKIP LOCKED under a lease, sends
-- them, and records each attempt with webhook_record(), which schedules the next
-- one. A crash of any process loses nothing: an unrecorded attempt's lease runs
-- out and the row is claimed again. NOTIFY mockarty_webhooks rings the doorbell
-- ('due'); the rows are the truth. Network I/O never happens in the database.

CREATE TABLE mockarty_private.settings (
	key text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
	value text NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.settings IS 'Server settings changed at run time (setting_set); a missing key means its default';

CREATE TABLE mockarty_private.webhooks (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	namespace text,
	name text NOT NULL DEFAULT '',
	url text NOT NULL CHECK (url ~* '^https?://[^/?#]+'),
	method text NOT NULL DEFAULT 'POST' CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
	headers jsonb NOT NULL DEFAULT '{}',
	events text[] NOT NULL,
	spelled jsonb NOT NULL DEFAULT '{}',
	secret text,
	enabled boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.webhooks IS 'Webhook subscriptions: events are canonical names; namespace NULL = events of every namespace; spelled keeps "operation"/"events" as the caller wrote them (the SDKs disagree), for echoing back; secret signs the body (kept in clear: HMAC needs it)';

CREATE TABLE mockarty_private.webhook_deliveries (
	id bigserial PRIMARY KEY,
	webhook_id uuid REFERENCES mockarty_private.webhooks (id) ON DELETE CASCADE,
	mock_id text,
	event text NOT NULL,
	namespace text,
	url text NOT NULL,
	method text NOT NULL DEFAULT 'POST',
	headers jsonb NOT NULL DEFAULT '{}',
	body text NOT NULL,
	schedule int[] NOT NULL CHECK (cardinality(schedule) >= 1),
	max_attempts int NOT NULL CHECK (max_attempts >= 1),
	timeout_ms int NOT NULL CHECK (timeout_ms > 0),
	status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivering', 'succeeded', 'failed')),
	attempts int NOT NULL DEFAULT 0,
	next_attempt_at timestamptz,
	lease_id uuid,
	lease_expires_at timestamptz,
	last_status_code int,
	last_error text,
	created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	completed_at timestamptz,
	manual boolean NOT NULL DEFAULT false,
	traceparent text CHECK (traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$')
);
COMMENT ON TABLE mockarty_private.webhook_deliveries IS 'One event (or one per-mock callback, webhook_id NULL) to send to one URL: the body is fixed when the event happens; schedule[n] is the delay in ms before attempt n (after the previous attempt ended); traceparent is the W3C context of the request that caused the event, parent of the delivery span';
CREATE INDEX webhook_deliveries_due_idx ON mockarty_private.webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_lease_idx ON mockarty_private.webhook_deliveries (lease_expires_at) WHERE status = 'delivering';
CREATE INDEX webhook_deliveries_webhook_idx ON mockarty_private.webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_ns_due_idx ON mockarty_private.webhook_deliveries (coalesce(namespace, ''), next_attempt_at) WHERE status = 'pending';

CREATE TABLE mockarty_private.webhook_attempts (
	delivery_id bigint NOT NULL REFERENCES mockarty_private.webhook_deliveries (id) ON DELETE CASCADE,
	attempt int NOT NULL,
	started_at timestamptz NOT NULL,
	finished_at timestamptz NOT NULL,
	status_code int,
	latency_ms int,
	error text,
	manual boolean NOT NULL DEFAULT false,
	PRIMARY KEY (delivery_id, attempt)
);
COMMENT ON TABLE mockarty_private.webhook_attempts IS 'Delivery history: every attempt with its time, HTTP status (NULL when no answer), latency and error; manual = after a retry by hand';

SELECT pg_catalog.pg_extension_config_dump('mockarty_private.settings', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.webhooks', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.webhook_deliveries', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.webhook_deliveries_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.webhook_attempts', '');

-- Settings -----------------------------------------------------------------

CREATE FUNCTION mockarty_private.duration_list_ms(p_text text, p_field text) RETURNS int[]
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	parts text[] := string_to_array(p_text, ',');
	out int[] := '{}';
	p text;
	m text[];
	v numeric;
	i int := 0;
BEGIN
	IF p_text IS NULL OR cardinality(parts) IS NULL OR cardinality(parts) = 0 OR cardinality(parts) > 20 THEN
		RAISE EXCEPTION '% must list 1 to 20 delays', p_field USING ERRCODE = '22023', DETAIL = p_field,
			HINT = 'Example: 0,30s,2m,10m,1h (units ms, s, m, h; a bare number is seconds).';
	END IF;
	FOREACH p IN ARRAY parts LOOP
		m := regexp_match(btrim(p), '^([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?$');
		IF m IS NULL THEN
			RAISE EXCEPTION '%[%]: "%" is not a delay', p_field, i, btrim(p) USING ERRCODE = '22023',
				DETAIL = p_field || '[' || i || ']', HINT = 'Delays look like 0, 500ms, 30s, 2m or 1h.';
		END IF;
		v := m[1]::numeric * CASE coalesce(m[2], 's') WHEN 'ms' THEN 1 WHEN 's' THEN 1000 WHEN 'm' THEN 60000 ELSE 3600000 END;
		IF v > 7 * 86400000 THEN
			RAISE EXCEPTION '%[%]: delay longer than 7 days', p_field, i USING ERRCODE = '22023',
				DETAIL = p_field || '[' || i || ']';
		END IF;
		out := out || round(v)::int;
		i := i + 1;
	END LOOP;
	RETURN out;
END
$$;
COMMENT ON FUNCTION mockarty_private.duration_list_ms(text, text) IS 'Parses "0,30s,2m,10m,1h" into delays in ms; 22023 naming p_field[i] for a bad entry';

CREATE FUNCTION mockarty_private.setting_default(p_key text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE p_key
		WHEN 'webhook_retry_schedule' THEN '0,30s,2m,10m,1h'
		WHEN 'webhook_timeout_ms' THEN '10000'
		WHEN 'webhook_lease_ms' THEN '60000'
		WHEN 'webhook_namespace_inflight' THEN '16'
		WHEN 'undefined_redact_headers' THEN 'authorization,proxy-authorization,cookie,set-cookie,x-api-key'
		WHEN 'undefined_body_max_bytes' THEN '65536'
		WHEN 'undefined_max_per_namespace' THEN '1000'
		WHEN 'undefined_max_age_s' THEN '604800'
		WHEN 'change_log_keep' THEN '100000'
		WHEN 'change_log_min_age_s' THEN '3600'
	END
$$;
COMMENT ON FUNCTION mockarty_private.setting_default(text) IS 'Default value of a known setting, NULL for an unknown key';

CREATE FUNCTION mockarty.setting_get(p_key text) RETURNS text
LANGUAGE sql STABLE
AS $$
	SELECT coalesce((SELECT s.value FROM mockarty_private.settings s WHERE s.key = p_key),
		mockarty_private.setting_default(p_key))
$$;
COMMENT ON FUNCTION mockarty.setting_get(text) IS 'Value of a setting (its default when never set; NULL for an unknown key never set)';

CREATE FUNCTION mockarty.setting_set(p_key text, p_value text) RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
	n bigint;
	lo bigint;
	hi bigint;
	unit text;
	h text;
BEGIN
	IF p_key IS NULL OR p_key !~ '^[a-z][a-z0-9_]{0,62}$' THEN
		RAISE EXCEPTION 'setting name "%" is not valid', coalesce(p_key, '') USING ERRCODE = '22023', DETAIL = '$.key';
	END IF;
	IF p_value IS NULL THEN
		DELETE FROM mockarty_private.settings s WHERE s.key = p_key;
		RETURN mockarty.setting_get(p_key);
	END IF;
	-- integer settings: their bounds and unit
	SELECT x.lo, x.hi, x.unit INTO lo, hi, unit FROM (VALUES
		('webhook_timeout_ms', 100, 30000, 'ms'),
		('webhook_lease_ms', 100, 3600000, 'ms'),
		('webhook_namespace_inflight', 1, 64, 'deliveries'),
		('undefined_body_max_bytes', 0, 1048576, 'bytes'),
		('undefined_max_per_namespace', 1, 1000000, 'requests'),
		('undefined_max_age_s', 1, 31536000, 's'),
		('change_log_keep', 100, 1000000000, 'versions'),
		('change_log_min_age_s', 0, 31536000, 's')) x(k, lo, hi, unit)
	WHERE x.k = p_key;
	IF p_key = 'webhook_retry_schedule' THEN
		PERFORM mockarty_private.duration_list_ms(p_value, p_key);
	ELSIF unit IS NOT NULL THEN
		n := CASE WHEN p_value ~ '^[0-9]{1,10}$' THEN p_value::bigint END;
		IF n IS NULL OR n < lo OR n > hi THEN
			RAISE EXCEPTION '% must be an integer between % and % (%)', p_key, lo, hi, unit USING ERRCODE = '22023',
				DETAIL = p_key;
		END IF;
	ELSIF p_key = 'undefined_redact_headers' THEN
		FOREACH h IN ARRAY string_to_array(p_value, ',') LOOP
			IF btrim(h) !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' THEN
				RAISE EXCEPTION 'undefined_redact_headers: "%" is not a header name', btrim(h) USING ERRCODE = '22023',
					DETAIL = p_key, HINT = 'A comma-separated list of header names, e.g. authorization,cookie,x-api-key (an empty value redacts nothing).';
			END IF;
		END LOOP;
		p_value := lower(replace(p_value, ' ', ''));
	END IF;
	INSERT INTO mockarty_private.settings AS s (key, value) VALUES (p_key, p_value)
	ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now();
	RETURN p_value;
END
$$;
COMMENT ON FUNCTION mockarty.setting_set(text, text) IS 'Sets a setting (NULL value = back to the default) and returns the value in force; known keys are validated (22023 naming the key): webhook_retry_schedule ("0,30s,2m,10m,1h": delay before each attempt, the count is the attempt limit), webhook_timeout_ms (100..30000), webhook_lease_ms, webhook_namespace_inflight, undefined_redact_headers, undefined_body_max_bytes, undefined_max_per_namespace, undefined_max_age_s, change_log_keep, change_log_min_age_s (docs/operations.md)';

CREATE FUNCTION mockarty.setting_list() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_object_agg(k, mockarty.setting_get(k) ORDER BY k)
	FROM (SELECT unnest(ARRAY['webhook_retry_schedule', 'webhook_timeout_ms', 'webhook_lease_ms',
	          'webhook_namespace_inflight', 'undefined_redact_headers', 'undefined_body_max_bytes',
	          'undefined_max_per_namespace', 'undefined_max_age_s', 'change_log_keep', 'change_log_min_age_s']) AS k
	      UNION SELECT s.key FROM mockarty_private.settings s) x
$$;
COMMENT ON FUNCTION mockarty.setting_list() IS 'Every known setting and every stored one: {"key":"value"}';

-- Retention (run by the scheduler worker) -----------------------------------
--
-- The scheduler background worker (extension/scheduler.c) calls these every tick, each in
-- its own transaction; each does a bounded amount of work per call, so a large backlog is
-- worked off over a few ticks instead of in one long transaction.

CREATE FUNCTION mockarty.undefined_purge(p_limit int DEFAULT 10000) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	keep int := mockarty.setting_get('undefined_max_per_namespace')::int;
	age int := mockarty.setting_get('undefined_max_age_s')::int;
	n int;
BEGIN
	WITH old AS (
		SELECT u.id FROM mockarty_private.undefined_requests u
		WHERE u.last_seen < now() - make_interval(secs => age)
		LIMIT greatest(coalesce(p_limit, 10000), 1)
	), over AS (
		SELECT r.id FROM (
			SELECT u.id, row_number() OVER (PARTITION BY u.namespace ORDER BY u.last_seen DESC, u.id DESC) AS rn
			FROM mockarty_private.undefined_requests u
			WHERE u.namespace IN (SELECT x.namespace FROM mockarty_private.undefined_requests x
			                      GROUP BY x.namespace HAVING count(*) > keep)) r
		WHERE r.rn > keep
		LIMIT greatest(coalesce(p_limit, 10000), 1)
	), d AS (
		DELETE FROM mockarty_private.undefined_requests u
		WHERE u.id IN (SELECT old.id FROM old UNION SELECT over.id FROM over)
		RETURNING 1
	)
	SELECT count(*) INTO n FROM d;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_purge(int) IS 'Retention of undefined requests: deletes those last seen more than undefined_max_age_s ago and, per namespace, all but the undefined_max_per_namespace most recently seen; at most 2 x p_limit rows per call; returns how many';

CREATE FUNCTION mockarty.mock_purge_expired(p_limit int DEFAULT 1000) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	m record;
	n int := 0;
BEGIN
	FOR m IN
		DELETE FROM mockarty_private.mocks x
		WHERE x.id IN (SELECT y.id FROM mockarty_private.mocks y
		               WHERE y.expire_at IS NOT NULL AND y.expire_at < now() ORDER BY y.expire_at
		               LIMIT greatest(coalesce(p_limit, 1000), 1) FOR UPDATE SKIP LOCKED)
		RETURNING x.id, x.namespace
	LOOP
		PERFORM mockarty_private.log_change('delete', m.namespace, m.id);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_purge_expired(int) IS 'Hard-deletes up to p_limit mocks whose expireAt (set from ttl) has passed, with their versions, logs and mock store, as mock_purge() does (change log ''delete'', so every node drops them); returns how many';

CREATE FUNCTION mockarty.change_log_trim(p_limit int DEFAULT 10000) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	head bigint := mockarty.head_version();
	keep bigint := mockarty.setting_get('change_log_keep')::bigint;
	cutoff timestamptz := now() - make_interval(secs => mockarty.setting_get('change_log_min_age_s')::int);
	oldest mockarty_private.change_log;
	n int;
BEGIN
	-- No connected node reads old rows from here: the admin node applies every change as it
	-- is committed (and reloads its snapshot when it finds a gap), resolvers are served from
	-- the coordinator's in-memory ring and get a Resync (a fresh snapshot) when their next
	-- version is older than the ring or missing from it. What is kept serves a restarting
	-- coordinator's ring and SQL readers of changes_since().
	-- An idle tick is one probe of the primary key: the oldest row, kept or not.
	SELECT * INTO oldest FROM mockarty_private.change_log c ORDER BY c.version LIMIT 1;
	IF NOT FOUND OR oldest.version > head - keep OR oldest.changed_at >= cutoff THEN
		RETURN 0;
	END IF;
	-- versions follow commit order, so the rows to delete are a prefix: read at most p_limit
	-- rows from the oldest and delete those old enough
	WITH d AS (
		DELETE FROM mockarty_private.change_log c
		WHERE c.version IN (SELECT x.version FROM (
			SELECT y.version, y.changed_at FROM mockarty_private.change_log y
			WHERE y.version <= head - keep
			ORDER BY y.version LIMIT greatest(coalesce(p_limit, 10000), 1)) x
		WHERE x.changed_at < cutoff)
		RETURNING 1)
	SELECT count(*) INTO n FROM d;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.change_log_trim(int) IS 'Deletes change-log rows that are both outside the change_log_keep newest versions and older than change_log_min_age_s, at most p_limit of the oldest per call; returns how many. A reader whose version is older than change_log_floor() must start again from a snapshot';

CREATE FUNCTION mockarty.change_log_floor() RETURNS bigint
LANGUAGE sql STABLE
AS $$ SELECT coalesce((SELECT min(c.version) - 1 FROM mockarty_private.change_log c), mockarty.head_version()) $$;
COMMENT ON FUNCTION mockarty.change_log_floor() IS 'The oldest version changes_since() can continue from without a gap (the version before the oldest row kept; head_version() when the log is empty)';

-- Webhooks -----------------------------------------------------------------

CREATE FUNCTION mockarty_private.webhook_event_names(p_name text) RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE lower(btrim(p_name))
		WHEN 'mock.resolved' THEN ARRAY['mock.resolved']
		WHEN 'mock.created' THEN ARRAY['mock.created']
		WHEN 'mock.deleted' THEN ARRAY['mock.deleted']
		WHEN 'mock.changed' THEN ARRAY['mock.created', 'mock.deleted']
		WHEN 'test_run.completed' THEN ARRAY['test_run.completed']
		WHEN 'testrun.completed' THEN ARRAY['test_run.completed']
		WHEN 'test.completed' THEN ARRAY['test_run.completed']
		WHEN 'undefined_request.received' THEN ARRAY['undefined_request.received']
		WHEN 'undefined.detected' THEN ARRAY['undefined_request.received']
		WHEN 'undefined_request.detected' THEN ARRAY['undefined_request.received']
		WHEN 'fuzzing.completed' THEN ARRAY['fuzzing.completed']
		WHEN 'contract.violation' THEN ARRAY['contract.violation']
		WHEN '*' THEN ARRAY['mock.resolved', 'mock.created', 'mock.deleted', 'test_run.completed',
			'undefined_request.received']
	END
$$;
COMMENT ON FUNCTION mockarty_private.webhook_event_names(text) IS 'Canonical event names of one spelling (the guide''s, the Go/Java SDK operations, the Python SDK events; "*" = all five), NULL when unknown';

CREATE FUNCTION mockarty_private.webhook_json(w mockarty_private.webhooks) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', w.id::text, 'name', w.name, 'namespace', w.namespace, 'url', w.url,
		'method', w.method, 'headers', w.headers, 'events', to_jsonb(w.events),
		'operation', coalesce(w.spelled ->> 'operation', w.events[1]),
		'enabled', w.enabled, 'hasSecret', w.secret IS NOT NULL,
		'createdAt', mockarty_private.rfc3339(w.created_at), 'updatedAt', mockarty_private.rfc3339(w.updated_at))
$$;
COMMENT ON FUNCTION mockarty_private.webhook_json(mockarty_private.webhooks) IS 'A webhook as the API returns it (never the secret: hasSecret says whether one is set)';

-- Validates a webhook document (create: every field; patch: the given ones) and
-- returns the columns as one jsonb {"url","method","headers","events","spelled",
-- "secret","enabled","name","namespace"} holding only the fields present.
CREATE FUNCTION mockarty_private.webhook_check(p_spec jsonb, p_create boolean) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	out jsonb := '{}';
	ev text[] := '{}';
	spelled jsonb := '{}';
	names text[];
	e jsonb;
	i int := 0;
	k text;
	v jsonb;
BEGIN
	IF p_spec IS NULL OR jsonb_typeof(p_spec) <> 'object' THEN
		RAISE EXCEPTION 'webhook must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	IF p_spec ? 'url' OR p_create THEN
		IF jsonb_typeof(p_spec -> 'url') IS DISTINCT FROM 'string' OR (p_spec ->> 'url') !~* '^https?://[^/?#]+' THEN
			RAISE EXCEPTION 'url must be an http:// or https:// URL' USING ERRCODE = '22023', DETAIL = '$.url';
		END IF;
		out := out || jsonb_build_object('url', p_spec ->> 'url');
	END IF;
	IF p_spec ? 'method' AND jsonb_typeof(p_spec -> 'method') <> 'null' THEN
		IF jsonb_typeof(p_spec -> 'method') <> 'string'
		   OR upper(p_spec ->> 'method') NOT IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE') THEN
			RAISE EXCEPTION 'method must be GET, POST, PUT, PATCH or DELETE' USING ERRCODE = '22023', DETAIL = '$.method';
		END IF;
		out := out || jsonb_build_object('method', upper(p_spec ->> 'method'));
	END IF;
	IF p_spec ? 'headers' AND jsonb_typeof(p_spec -> 'headers') <> 'null' THEN
		IF jsonb_typeof(p_spec -> 'headers') <> 'object' THEN
			RAISE EXCEPTION 'headers must be an object of name -> string' USING ERRCODE = '22023', DETAIL = '$.headers';
		END IF;
		FOR k, v IN SELECT * FROM jsonb_each(p_spec -> 'headers') LOOP
			IF jsonb_typeof(v) <> 'string' OR k !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' OR (v #>> '{}') ~ '[\r\n]' THEN
				RAISE EXCEPTION 'header "%" must be a token name with a one-line string value', k
					USING ERRCODE = '22023', DETAIL = '$.headers.' || k;
			END IF;
		END LOOP;
		out := out || jsonb_build_object('headers', p_spec -> 'headers');
	END IF;
	-- events: the guide's and Python's "events" array, or Go/Java's single "operation"
	IF p_spec ? 'events' AND jsonb_typeof(p_spec -> 'events') <> 'null' THEN
		IF jsonb_typeof(p_spec -> 'events') <> 'array' OR jsonb_array_length(p_spec -> 'events') = 0 THEN
			RAISE EXCEPTION 'events must be a non-empty array of event names' USING ERRCODE = '22023', DETAIL = '$.events';
		END IF;
		FOR e IN SELECT value FROM jsonb_array_elements(p_spec -> 'events') LOOP
			names := CASE WHEN jsonb_typeof(e) = 'string' THEN mockarty_private.webhook_event_names(e #>> '{}') END;
			IF names IS NULL THEN
				RAISE EXCEPTION 'unknown event %', e::text USING ERRCODE = '22023', DETAIL = '$.events[' || i || ']',
					HINT = 'Events are mock.resolved, mock.created, mock.deleted, test_run.completed and undefined_request.received.';
			END IF;
			ev := ev || names;
			i := i + 1;
		END LOOP;
		spelled := spelled || jsonb_build_object('events', p_spec -> 'events');
	END IF;
	IF p_spec ? 'operation' AND jsonb_typeof(p_spec -> 'operation') <> 'null' THEN
		names := CASE WHEN jsonb_typeof(p_spec -> 'operation') = 'string'
			THEN mockarty_private.webhook_event_names(p_spec ->> 'operation') END;
		IF names IS NULL THEN
			RAISE EXCEPTION 'unknown operation %', (p_spec -> 'operation')::text USING ERRCODE = '22023',
				DETAIL = '$.operation';
		END IF;
		ev := ev || names;
		spelled := spelled || jsonb_build_object('operation', p_spec -> 'operation');
	END IF;
	IF cardinality(ev) > 0 THEN
		out := out || jsonb_build_object('events', (SELECT to_jsonb(array_agg(DISTINCT x ORDER BY x)) FROM unnest(ev) x),
			'spelled', spelled);
	ELSIF p_create THEN
		RAISE EXCEPTION 'a webhook needs "events" (or "operation")' USING ERRCODE = '22023', DETAIL = '$.events';
	END IF;
	IF p_spec ? 'secret' THEN
		IF jsonb_typeof(p_spec -> 'secret') NOT IN ('string', 'null') THEN
			RAISE EXCEPTION 'secret must be a string' USING ERRCODE = '22023', DETAIL = '$.secret';
		END IF;
		out := out || jsonb_build_object('secret', nullif(p_spec ->> 'secret', ''));
	END IF;
	IF p_spec ? 'enabled' AND jsonb_typeof(p_spec -> 'enabled') <> 'null' THEN
		IF jsonb_typeof(p_spec -> 'enabled') <> 'boolean' THEN
			RAISE EXCEPTION 'enabled must be a boolean' USING ERRCODE = '22023', DETAIL = '$.enabled';
		END IF;
		out := out || jsonb_build_object('enabled', p_spec -> 'enabled');
	END IF;
	IF p_spec ? 'name' AND jsonb_typeof(p_spec -> 'name') <> 'null' THEN
		IF jsonb_typeof(p_spec -> 'name') <> 'string' THEN
			RAISE EXCEPTION 'name must be a string' USING ERRCODE = '22023', DETAIL = '$.name';
		END IF;
		out := out || jsonb_build_object('name', p_spec ->> 'name');
	END IF;
	IF p_spec ? 'namespace' THEN
		IF jsonb_typeof(p_spec -> 'namespace') NOT IN ('string', 'null') THEN
			RAISE EXCEPTION 'namespace must be a string' USING ERRCODE = '22023', DETAIL = '$.namespace';
		END IF;
		out := out || jsonb_build_object('namespace', nullif(p_spec ->> 'namespace', ''));
	END IF;
	RETURN out;
END
$$;
COMMENT ON FUNCTION mockarty_private.webhook_check(jsonb, boolean) IS 'Validates a webhook document (all fields on create, the given ones on patch); 22023 naming the field';

CREATE FUNCTION mockarty.webhook_create(p_spec jsonb, p_namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c jsonb := mockarty_private.webhook_check(p_spec, true);
	w mockarty_private.webhooks;
	ns text := coalesce(p_namespace, c ->> 'namespace', mockarty_private.caller_namespace());
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage webhooks');
	IF ns IS NOT NULL THEN
		PERFORM mockarty_private.namespace_ensure(ns);
	END IF;
	INSERT INTO mockarty_private.webhooks (namespace, name, url, method, headers, events, spelled, secret, enabled)
	VALUES (ns, coalesce(c ->> 'name', ''), c ->> 'url', coalesce(c ->> 'method', 'POST'), coalesce(c -> 'headers', '{}'),
		ARRAY(SELECT jsonb_array_elements_text(c -> 'events')), c -> 'spelled', c ->> 'secret',
		coalesce((c ->> 'enabled')::boolean, true))
	RETURNING * INTO w;
	RETURN mockarty_private.webhook_json(w);
END
$$;
COMMENT ON FUNCTION mockarty.webhook_create(jsonb, text) IS 'Creates a webhook from {"url","events":[...]|"operation","secret"?,"name"?,"method"?(POST),"headers"?,"enabled"?(true),"namespace"?}; p_namespace (e.g. from a REST path) overrides the document''s; no namespace = events of all namespaces; 22023 naming the bad field';

CREATE FUNCTION mockarty.webhook_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.webhook_json(w) FROM mockarty_private.webhooks w WHERE w.id = p_id AND mockarty_private.ns_visible(w.namespace) $$;
COMMENT ON FUNCTION mockarty.webhook_get(uuid) IS 'One webhook, NULL when unknown';

CREATE FUNCTION mockarty.webhook_list(p_namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.webhook_json(w) ORDER BY w.created_at, w.id), '[]')
		FROM mockarty_private.webhooks w WHERE s.ns IS NULL OR w.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.webhook_list(text) IS 'Webhooks oldest first; p_namespace NULL = all, else those bound to that namespace';

CREATE FUNCTION mockarty.webhook_update(p_id uuid, p_patch jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c jsonb := mockarty_private.webhook_check(p_patch, false);
	w mockarty_private.webhooks;
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage webhooks');
	IF c ? 'namespace' THEN
		PERFORM mockarty_private.ns_check(c ->> 'namespace');
	END IF;
	IF c ? 'namespace' AND c ->> 'namespace' IS NOT NULL THEN
		PERFORM mockarty_private.namespace_ensure(c ->> 'namespace');
	END IF;
	UPDATE mockarty_private.webhooks x SET
		url = coalesce(c ->> 'url', x.url),
		method = coalesce(c ->> 'method', x.method),
		headers = coalesce(c -> 'headers', x.headers),
		events = CASE WHEN c ? 'events' THEN ARRAY(SELECT jsonb_array_elements_text(c -> 'events')) ELSE x.events END,
		spelled = CASE WHEN c ? 'events' THEN c -> 'spelled' ELSE x.spelled END,
		secret = CASE WHEN c ? 'secret' THEN c ->> 'secret' ELSE x.secret END,
		enabled = coalesce((c ->> 'enabled')::boolean, x.enabled),
		name = coalesce(c ->> 'name', x.name),
		namespace = CASE WHEN c ? 'namespace' THEN c ->> 'namespace' ELSE x.namespace END,
		updated_at = now()
	WHERE x.id = p_id AND mockarty_private.ns_visible(x.namespace)
	RETURNING * INTO w;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN mockarty_private.webhook_json(w);
END
$$;
COMMENT ON FUNCTION mockarty.webhook_update(uuid, jsonb) IS 'Changes the given fields of a webhook ("secret": null removes the secret); returns it, NULL when unknown; 22023 naming a bad field';

CREATE FUNCTION mockarty.webhook_set_enabled(p_id uuid, p_enabled boolean) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT mockarty.webhook_update(p_id, jsonb_build_object('enabled', coalesce(p_enabled, true))) $$;
COMMENT ON FUNCTION mockarty.webhook_set_enabled(uuid, boolean) IS 'Enables or disables a webhook; a disabled one records no new deliveries and its pending ones wait until it is enabled again; NULL when unknown';

CREATE FUNCTION mockarty.webhook_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage webhooks');
	DELETE FROM mockarty_private.webhooks w WHERE w.id = p_id AND mockarty_private.ns_visible(w.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.webhook_delete(uuid) IS 'Deletes a webhook with its deliveries and their history; false when unknown';

-- Deliveries ---------------------------------------------------------------

CREATE FUNCTION mockarty_private.webhook_schedule() RETURNS int[]
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.duration_list_ms(mockarty.setting_get('webhook_retry_schedule'), 'webhook_retry_schedule') $$;
COMMENT ON FUNCTION mockarty_private.webhook_schedule() IS 'The retry schedule in force as delays in ms (setting webhook_retry_schedule)';

CREATE FUNCTION mockarty_private.webhook_subscribed(p_event text) RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT EXISTS (SELECT 1 FROM mockarty_private.webhooks w WHERE w.enabled AND w.events @> ARRAY[p_event]) $$;
COMMENT ON FUNCTION mockarty_private.webhook_subscribed(text) IS 'True when some enabled webhook subscribes to the event: the fast exit of every event trigger';

-- p_items: [{"namespace","data","at"(timestamptz text)}], one per event occurrence.
CREATE FUNCTION mockarty_private.webhook_enqueue_events(p_event text, p_items jsonb) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	sched int[];
	n int;
BEGIN
	IF p_items IS NULL OR jsonb_array_length(p_items) = 0 THEN
		RETURN 0;
	END IF;
	sched := mockarty_private.webhook_schedule();
	INSERT INTO mockarty_private.webhook_deliveries (webhook_id, event, namespace, url, method, headers, body,
		schedule, max_attempts, timeout_ms, next_attempt_at, traceparent)
	SELECT w.id, p_event, i ->> 'namespace', w.url, w.method, w.headers,
		format('{"event":%s,"timestamp":%s,"data":%s}', to_jsonb(p_event)::text,
			to_jsonb(to_char(coalesce((i ->> 'at')::timestamptz, clock_timestamp()) AT TIME ZONE 'UTC',
				'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::text,
			coalesce(i -> 'data', '{}')::text),
		sched, cardinality(sched), least(mockarty.setting_get('webhook_timeout_ms')::int, 30000),
		clock_timestamp() + make_interval(secs => sched[1] / 1000.0),
		CASE WHEN i -> 'data' ->> 'traceparent' ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
			THEN i -> 'data' ->> 'traceparent' END
	FROM jsonb_array_elements(p_items) i
	JOIN mockarty_private.webhooks w ON w.enabled AND w.events @> ARRAY[p_event]
		AND (w.namespace IS NULL OR w.namespace = i ->> 'namespace');
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty_private.webhook_enqueue_events(text, jsonb) IS 'Records one delivery per subscribed enabled webhook and event occurrence [{"namespace","data","at"}]; the body {"event","timestamp","data"} is fixed here';

CREATE FUNCTION mockarty_private.webhook_delivery_json(d mockarty_private.webhook_deliveries, p_history boolean DEFAULT true)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', d.id, 'webhookId', d.webhook_id::text, 'mockId', d.mock_id, 'event', d.event,
		'namespace', d.namespace, 'url', d.url, 'method', d.method, 'status', d.status, 'attempts', d.attempts,
		'maxAttempts', d.max_attempts, 'nextAttemptAt', mockarty_private.rfc3339(d.next_attempt_at),
		'lastStatusCode', d.last_status_code, 'lastError', d.last_error,
		'createdAt', mockarty_private.rfc3339(d.created_at), 'completedAt', mockarty_private.rfc3339(d.completed_at),
		'payload', CASE WHEN d.body ~ '^\s*[\[{]' THEN d.body::jsonb ELSE to_jsonb(d.body) END)
	|| CASE WHEN p_history THEN jsonb_build_object('history', coalesce((
		SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', mockarty_private.rfc3339(a.started_at),
			'finishedAt', mockarty_private.rfc3339(a.finished_at), 'statusCode', a.status_code,
			'latencyMs', a.latency_ms, 'error', a.error, 'manual', a.manual) ORDER BY a.attempt)
		FROM mockarty_private.webhook_attempts a WHERE a.delivery_id = d.id), '[]')) ELSE '{}' END
$$;
COMMENT ON FUNCTION mockarty_private.webhook_delivery_json(mockarty_private.webhook_deliveries, boolean) IS 'A delivery as the API returns it, with its attempt history [{"attempt","at","finishedAt","statusCode","latencyMs","error","manual"}]';

CREATE FUNCTION mockarty.webhook_deliveries(p_webhook_id uuid, p_limit int DEFAULT 50, p_offset int DEFAULT 0,
	p_status text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.webhook_delivery_json(d) ORDER BY d.id DESC), '[]')
	FROM (SELECT * FROM mockarty_private.webhook_deliveries x
	      WHERE x.webhook_id = p_webhook_id AND (p_status IS NULL OR x.status = p_status) AND mockarty_private.ns_visible(x.namespace)
	      ORDER BY x.id DESC LIMIT greatest(coalesce(p_limit, 50), 0) OFFSET greatest(coalesce(p_offset, 0), 0)) d
$$;
COMMENT ON FUNCTION mockarty.webhook_deliveries(uuid, int, int, text) IS 'Deliveries of a webhook newest first, each with its attempt history; p_status filters (pending, delivering, succeeded, failed)';

CREATE FUNCTION mockarty.webhook_delivery_get(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.webhook_delivery_json(d) FROM mockarty_private.webhook_deliveries d WHERE d.id = p_id AND mockarty_private.ns_visible(d.namespace) $$;
COMMENT ON FUNCTION mockarty.webhook_delivery_get(bigint) IS 'One delivery with its attempt history, NULL when unknown';

CREATE FUNCTION mockarty.webhook_delivery_list(p_status text DEFAULT NULL, p_mock_id text DEFAULT NULL,
	p_limit int DEFAULT 50, p_offset int DEFAULT 0)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.webhook_delivery_json(d) ORDER BY d.id DESC), '[]')
	FROM (SELECT * FROM mockarty_private.webhook_deliveries x
	      WHERE (p_status IS NULL OR x.status = p_status) AND (p_mock_id IS NULL OR x.mock_id = p_mock_id)
	        AND mockarty_private.ns_visible(x.namespace)
	      ORDER BY x.id DESC LIMIT greatest(coalesce(p_limit, 50), 0) OFFSET greatest(coalesce(p_offset, 0), 0)) d
$$;
COMMENT ON FUNCTION mockarty.webhook_delivery_list(text, text, int, int) IS 'All deliveries (webhooks and per-mock callbacks) newest first, filtered by status and/or mock';

CREATE FUNCTION mockarty.webhook_delivery_retry(p_id bigint) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	d mockarty_private.webhook_deliveries;
BEGIN
	SELECT * INTO d FROM mockarty_private.webhook_deliveries x WHERE x.id = p_id AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	PERFORM mockarty_private.role_require('admin', 'manage webhooks');
	IF d.status <> 'failed' THEN
		RAISE EXCEPTION 'delivery % is %; only a failed delivery can be retried', p_id, d.status
			USING ERRCODE = '22023', DETAIL = '$.status';
	END IF;
	UPDATE mockarty_private.webhook_deliveries x
	SET status = 'pending', max_attempts = x.attempts + 1, next_attempt_at = clock_timestamp(), manual = true,
		completed_at = NULL, updated_at = clock_timestamp(), schedule = x.schedule || 0
	WHERE x.id = p_id
	RETURNING * INTO d;
	RETURN mockarty_private.webhook_delivery_json(d);
END
$$;
COMMENT ON FUNCTION mockarty.webhook_delivery_retry(bigint) IS 'Retry by hand: a failed delivery gets one more attempt at once (marked manual in the history); NULL when unknown; 22023 when it is not failed';

-- the admin node's delivery engine --------------------------------------------

CREATE FUNCTION mockarty.webhook_claim(p_limit int DEFAULT 50, p_lease_ms int DEFAULT NULL, p_busy jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	lease_ms int := coalesce(p_lease_ms, mockarty.setting_get('webhook_lease_ms')::int);
	per_ns int := mockarty.setting_get('webhook_namespace_inflight')::int;
	lim int := greatest(coalesce(p_limit, 50), 1);
	busy jsonb := CASE WHEN jsonb_typeof(p_busy) = 'object' THEN p_busy ELSE '{}' END;
	out jsonb;
BEGIN
	-- Fair shares: every namespace with due rows (found by a skip scan of the partial index
	-- on (namespace, next_attempt_at), one probe per namespace) offers at most per_ns rows,
	-- minus what the caller already has in flight for it (p_busy), and the rows are taken
	-- round-robin (every namespace's first, then every namespace's second, ...). So a
	-- receiver that never answers holds at most per_ns of an engine's slots and the
	-- deliveries of other namespaces keep leaving. Expired leases (the engine died) come
	-- from their own partial index and count against the same shares. Rows are re-checked
	-- and locked with SKIP LOCKED: rows another engine holds are passed over.
	WITH RECURSIVE nss(ns) AS (
		SELECT min(coalesce(x.namespace, '')) FROM mockarty_private.webhook_deliveries x
		WHERE x.status = 'pending' AND x.next_attempt_at <= clock_timestamp()
		UNION ALL
		SELECT (SELECT min(coalesce(x.namespace, '')) FROM mockarty_private.webhook_deliveries x
		        WHERE x.status = 'pending' AND x.next_attempt_at <= clock_timestamp()
		          AND coalesce(x.namespace, '') > nss.ns)
		FROM nss WHERE nss.ns IS NOT NULL
	), cand AS (
		SELECT p.id, n.ns, p.due_at FROM nss n
		CROSS JOIN LATERAL (
			SELECT x.id, x.next_attempt_at AS due_at FROM mockarty_private.webhook_deliveries x
			LEFT JOIN mockarty_private.webhooks w ON w.id = x.webhook_id
			WHERE x.status = 'pending' AND coalesce(x.namespace, '') = n.ns AND x.next_attempt_at <= clock_timestamp()
			  AND (x.webhook_id IS NULL OR w.enabled)
			ORDER BY x.next_attempt_at LIMIT per_ns) p
		WHERE n.ns IS NOT NULL
		UNION ALL
		(SELECT x.id, coalesce(x.namespace, ''), x.lease_expires_at FROM mockarty_private.webhook_deliveries x
		 LEFT JOIN mockarty_private.webhooks w ON w.id = x.webhook_id
		 WHERE x.status = 'delivering' AND x.lease_expires_at < clock_timestamp()
		   AND (x.webhook_id IS NULL OR w.enabled)
		 ORDER BY x.lease_expires_at LIMIT 4 * lim)
	), ranked AS (
		SELECT c.id, c.due_at, row_number() OVER (PARTITION BY c.ns ORDER BY c.due_at, c.id) AS rn,
			per_ns - CASE WHEN busy ->> c.ns ~ '^[0-9]{1,6}$' THEN (busy ->> c.ns)::int ELSE 0 END AS share
		FROM cand c
	), due AS (
		SELECT x.id FROM mockarty_private.webhook_deliveries x
		JOIN ranked c ON c.id = x.id
		WHERE c.rn <= c.share
		  AND ((x.status = 'pending' AND x.next_attempt_at <= clock_timestamp())
		       OR (x.status = 'delivering' AND x.lease_expires_at < clock_timestamp()))
		ORDER BY c.rn, c.due_at, x.id
		LIMIT lim
		FOR UPDATE OF x SKIP LOCKED
	), claimed AS (
		-- the lease outlives the attempt: a row is never claimed again while its first
		-- attempt may still be running (timeout_ms is at most 30 s)
		UPDATE mockarty_private.webhook_deliveries d
		SET status = 'delivering', lease_id = gen_random_uuid(),
			lease_expires_at = clock_timestamp()
				+ make_interval(secs => greatest(lease_ms, least(d.timeout_ms, 30000) + 15000) / 1000.0),
			updated_at = clock_timestamp()
		FROM due WHERE d.id = due.id
		RETURNING d.*
	)
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'leaseId', c.lease_id::text, 'attempt', c.attempts + 1,
		'event', c.event, 'webhookId', c.webhook_id::text, 'mockId', c.mock_id, 'url', c.url, 'method', c.method,
		'headers', c.headers, 'body', c.body, 'secret', w.secret, 'timeoutMs', least(c.timeout_ms, 30000),
		'traceparent', c.traceparent, 'namespace', coalesce(c.namespace, '')) ORDER BY c.id), '[]')
	INTO out
	FROM claimed c LEFT JOIN mockarty_private.webhooks w ON w.id = c.webhook_id;
	RETURN out;
END
$$;
COMMENT ON FUNCTION mockarty.webhook_claim(int, int, jsonb) IS 'For the delivery engine: leases up to p_limit due deliveries (pending and due, or delivering with an expired lease) with FOR UPDATE SKIP LOCKED, sharing them fairly: at most webhook_namespace_inflight per namespace minus the caller''s in-flight count p_busy {"<namespace>":n}, taken round-robin; the lease is max(p_lease_ms or webhook_lease_ms, timeoutMs + 15 s); returns [{"id","leaseId","attempt","event","url","method","headers","body","secret","timeoutMs","namespace",...}]; concurrent engines never get the same row';

CREATE FUNCTION mockarty.webhook_record(p_id bigint, p_lease_id uuid, p_status_code int, p_latency_ms int,
	p_error text, p_started_at timestamptz DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	d mockarty_private.webhook_deliveries;
	ok boolean := p_error IS NULL AND p_status_code BETWEEN 200 AND 299;
	n int;
BEGIN
	SELECT * INTO d FROM mockarty_private.webhook_deliveries x WHERE x.id = p_id FOR UPDATE;
	IF NOT FOUND OR d.status <> 'delivering' OR d.lease_id IS DISTINCT FROM p_lease_id THEN
		RETURN jsonb_build_object('ok', false, 'reason', 'lease_lost');
	END IF;
	n := d.attempts + 1;
	INSERT INTO mockarty_private.webhook_attempts (delivery_id, attempt, started_at, finished_at, status_code,
		latency_ms, error, manual)
	VALUES (p_id, n, coalesce(p_started_at, clock_timestamp() - make_interval(secs => coalesce(p_latency_ms, 0) / 1000.0)),
		clock_timestamp(), p_status_code, p_latency_ms, left(p_error, 1000), d.manual)
	ON CONFLICT (delivery_id, attempt) DO NOTHING;
	UPDATE mockarty_private.webhook_deliveries x
	SET attempts = n, lease_id = NULL, lease_expires_at = NULL, last_status_code = p_status_code, manual = false,
		last_error = CASE WHEN ok THEN NULL
			ELSE coalesce(left(p_error, 1000), 'HTTP ' || p_status_code) END,
		status = CASE WHEN ok THEN 'succeeded' WHEN n >= x.max_attempts THEN 'failed' ELSE 'pending' END,
		next_attempt_at = CASE WHEN ok OR n >= x.max_attempts THEN NULL
			ELSE clock_timestamp() + make_interval(secs => coalesce(x.schedule[n + 1], x.schedule[cardinality(x.schedule)]) / 1000.0) END,
		completed_at = CASE WHEN ok OR n >= x.max_attempts THEN clock_timestamp() END,
		updated_at = clock_timestamp()
	WHERE x.id = p_id
	RETURNING * INTO d;
	RETURN jsonb_build_object('ok', true, 'status', d.status, 'attempt', n,
		'nextAttemptAt', mockarty_private.rfc3339(d.next_attempt_at));
END
$$;
COMMENT ON FUNCTION mockarty.webhook_record(bigint, uuid, int, int, text, timestamptz) IS 'For the delivery engine: records one attempt of a leased delivery (success = no error and a 2xx status) and schedules the next one from its schedule (delay after this attempt), or marks it succeeded / failed after max_attempts; {"ok":true,"status","attempt","nextAttemptAt"} or {"ok":false,"reason":"lease_lost"}';

CREATE FUNCTION mockarty.webhook_next_due_ms() RETURNS bigint
LANGUAGE sql STABLE
AS $$
	SELECT greatest(0, ceil(extract(epoch FROM (min(t) - clock_timestamp())) * 1000))::bigint
	FROM (SELECT min(x.next_attempt_at) AS t FROM mockarty_private.webhook_deliveries x
	      LEFT JOIN mockarty_private.webhooks w ON w.id = x.webhook_id
	      WHERE x.status = 'pending' AND (x.webhook_id IS NULL OR w.enabled)
	      UNION ALL
	      SELECT min(x.lease_expires_at) FROM mockarty_private.webhook_deliveries x WHERE x.status = 'delivering') s
$$;
COMMENT ON FUNCTION mockarty.webhook_next_due_ms() IS 'Milliseconds until the next delivery attempt is due (0 = due now), NULL when none is waiting: the engine sleeps that long';

CREATE FUNCTION mockarty.webhook_due_notify() RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM mockarty_private.webhook_deliveries x
	           WHERE x.status = 'pending' AND x.next_attempt_at <= clock_timestamp())
	   OR EXISTS (SELECT 1 FROM mockarty_private.webhook_deliveries x
	              WHERE x.status = 'delivering' AND x.lease_expires_at < clock_timestamp()) THEN
		PERFORM pg_catalog.pg_notify('mockarty_webhooks', 'due');
		RETURN true;
	END IF;
	RETURN false;
END
$$;
COMMENT ON FUNCTION mockarty.webhook_due_notify() IS 'Rings NOTIFY mockarty_webhooks ''due'' when a delivery is due or its lease expired (the scheduler worker calls it every tick); two index probes when idle';

CREATE FUNCTION mockarty.webhook_stats() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object(
		'pending', count(*) FILTER (WHERE status = 'pending'),
		'delivering', count(*) FILTER (WHERE status = 'delivering'),
		'succeeded', count(*) FILTER (WHERE status = 'succeeded'),
		'failed', count(*) FILTER (WHERE status = 'failed'))
	FROM mockarty_private.webhook_deliveries
$$;
COMMENT ON FUNCTION mockarty.webhook_stats() IS 'Deliveries by status: {"pending","delivering","succeeded","failed"}';

-- per-mock callbacks (the "webhooks" array of a mock), rendered by the serving node
CREATE FUNCTION mockarty.webhook_callbacks_enqueue(p_batch jsonb) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n int;
BEGIN
	IF p_batch IS NULL OR jsonb_typeof(p_batch) <> 'array' THEN
		RAISE EXCEPTION 'batch must be a JSON array' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	INSERT INTO mockarty_private.webhook_deliveries (mock_id, event, namespace, url, method, headers, body,
		schedule, max_attempts, timeout_ms, next_attempt_at)
	SELECT c ->> 'mockId', 'mock.callback', c ->> 'namespace', c ->> 'url',
		upper(coalesce(nullif(c ->> 'method', ''), 'POST')),
		CASE WHEN jsonb_typeof(c -> 'headers') = 'object' THEN c -> 'headers' ELSE '{}' END,
		CASE WHEN jsonb_typeof(c -> 'body') = 'string' THEN c ->> 'body' ELSE coalesce(c -> 'body', 'null')::text END,
		ARRAY[0] || array_fill(r.delay, ARRAY[r.retries]), r.retries + 1,
		CASE WHEN (c ->> 'timeoutMs') ~ '^[0-9]{1,7}$' AND (c ->> 'timeoutMs')::int > 0 THEN least((c ->> 'timeoutMs')::int, 30000)
			ELSE least(mockarty.setting_get('webhook_timeout_ms')::int, 30000) END,
		clock_timestamp()
	FROM jsonb_array_elements(p_batch) c,
		LATERAL (SELECT least(greatest(CASE WHEN (c ->> 'retryCount') ~ '^[0-9]{1,4}$' THEN (c ->> 'retryCount')::int ELSE 0 END, 0), 20) AS retries,
			least(CASE WHEN (c ->> 'retryDelay') ~ '^[0-9]{1,9}$' THEN (c ->> 'retryDelay')::int ELSE 1000 END, 86400000) AS delay) r
	WHERE coalesce(c ->> 'url', '') ~* '^https?://[^/?#]+';
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.webhook_callbacks_enqueue(jsonb) IS 'Records per-mock callbacks [{"mockId","namespace","url","method","headers","body","timeoutMs"(at most 30000),"retryCount","retryDelay"(ms)}] as deliveries: first attempt at once, then retryCount retries retryDelay ms apart; entries without an http(s) url are skipped; returns how many';

CREATE FUNCTION mockarty_private.url_origin(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT lower(substring(p_url FROM '^(https?://[^/?#]+)')) $$;
COMMENT ON FUNCTION mockarty_private.url_origin(text) IS 'Scheme and authority of an http(s) URL in lower case (https://host:port), NULL for anything else';

CREATE FUNCTION mockarty.node_report_callbacks(p_batch jsonb, p_namespaces text[]) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object(
		'mockId', m.id, 'namespace', m.namespace, 'url', c ->> 'url',
		'method', CASE WHEN coalesce(w ->> 'method', '') LIKE '%$.%' THEN c ->> 'method'
			ELSE upper(coalesce(nullif(w ->> 'method', ''), 'POST')) END,
		'headers', c -> 'headers', 'body', c -> 'body',
		'timeoutMs', w -> 'timeout', 'retryCount', w -> 'retryCount', 'retryDelay', w -> 'retryDelay')), '[]')
	FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_batch) = 'array' THEN p_batch ELSE '[]' END) c
	JOIN mockarty_private.mocks m ON m.id = c ->> 'mockId' AND m.namespace = ANY (p_namespaces)
	CROSS JOIN LATERAL (
		SELECT x AS w FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.doc -> 'webhooks') = 'array'
			THEN m.doc -> 'webhooks' ELSE '[]' END) x
		WHERE coalesce(x ->> 'type', 'http') = 'http'
		  AND position('$' IN coalesce(mockarty_private.url_origin(x ->> 'url'), '$')) = 0
		  AND mockarty_private.url_origin(x ->> 'url') = mockarty_private.url_origin(c ->> 'url')
		LIMIT 1) d
$$;
COMMENT ON FUNCTION mockarty.node_report_callbacks(jsonb, text[]) IS 'The callbacks a mock resolver reported [{"mockId","url","method","headers","body",...}] as webhook_callbacks_enqueue takes them, keeping only those of mocks in p_namespaces whose stored webhooks have an http callback with the same fixed origin (scheme, host, port); namespace, method (unless templated), timeout and retries come from the stored mock';

CREATE FUNCTION mockarty.node_report_events(p_batch jsonb, p_namespaces text[]) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(e || jsonb_build_object('namespace', m.namespace)), '[]')
	FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_batch) = 'array' THEN p_batch ELSE '[]' END) e
	JOIN mockarty_private.mocks m ON jsonb_typeof(e) = 'object' AND m.id = e ->> 'mockId'
		AND m.namespace = ANY (p_namespaces)
$$;
COMMENT ON FUNCTION mockarty.node_report_events(jsonb, text[]) IS 'The mock.resolved events a mock resolver reported, keeping only those of mocks in p_namespaces, each with the stored mock''s namespace';

-- Event capture ------------------------------------------------------------

CREATE FUNCTION mockarty_private.webhook_doorbell() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM pg_catalog.pg_notify('mockarty_webhooks', 'due');
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION mockarty_private.webhook_doorbell() IS 'Statement trigger: NOTIFY mockarty_webhooks ''due'' (folded into one per transaction by PostgreSQL)';

CREATE TRIGGER webhook_deliveries_doorbell AFTER INSERT ON mockarty_private.webhook_deliveries
FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_doorbell();

CREATE FUNCTION mockarty_private.webhook_on_mock_insert() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NOT mockarty_private.webhook_subscribed('mock.created') THEN
		RETURN NULL;
	END IF;
	PERFORM mockarty_private.webhook_enqueue_events('mock.created', (
		SELECT jsonb_agg(jsonb_build_object('namespace', n.namespace, 'at', clock_timestamp(),
			'data', jsonb_build_object('id', n.id, 'namespace', n.namespace, 'mock', mockarty_private.mock_json(n))))
		FROM new_rows n WHERE n.closed_at IS NULL));
	RETURN NULL;
END
$$;

CREATE FUNCTION mockarty_private.webhook_on_mock_update() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF mockarty_private.webhook_subscribed('mock.deleted') THEN
		PERFORM mockarty_private.webhook_enqueue_events('mock.deleted', (
			SELECT jsonb_agg(jsonb_build_object('namespace', n.namespace, 'at', clock_timestamp(),
				'data', jsonb_build_object('id', n.id, 'namespace', n.namespace, 'soft', true,
					'mock', mockarty_private.mock_json(n))))
			FROM old_rows o JOIN new_rows n ON n.id = o.id
			WHERE o.closed_at IS NULL AND n.closed_at IS NOT NULL));
	END IF;
	IF mockarty_private.webhook_subscribed('mock.created') THEN
		PERFORM mockarty_private.webhook_enqueue_events('mock.created', (
			SELECT jsonb_agg(jsonb_build_object('namespace', n.namespace, 'at', clock_timestamp(),
				'data', jsonb_build_object('id', n.id, 'namespace', n.namespace, 'mock', mockarty_private.mock_json(n))))
			FROM old_rows o JOIN new_rows n ON n.id = o.id
			WHERE o.closed_at IS NOT NULL AND n.closed_at IS NULL));
	END IF;
	RETURN NULL;
END
$$;

CREATE FUNCTION mockarty_private.webhook_on_mock_delete() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NOT mockarty_private.webhook_subscribed('mock.deleted') THEN
		RETURN NULL;
	END IF;
	PERFORM mockarty_private.webhook_enqueue_events('mock.deleted', (
		SELECT jsonb_agg(jsonb_build_object('namespace', o.namespace, 'at', clock_timestamp(),
			'data', jsonb_build_object('id', o.id, 'namespace', o.namespace, 'soft', false,
				'mock', mockarty_private.mock_json(o))))
		FROM old_rows o WHERE o.closed_at IS NULL));
	RETURN NULL;
END
$$;

CREATE FUNCTION mockarty_private.webhook_on_undefined() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NOT mockarty_private.webhook_subscribed('undefined_request.received') THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'INSERT' THEN
		PERFORM mockarty_private.webhook_enqueue_events('undefined_request.received', (
			SELECT jsonb_agg(jsonb_build_object('namespace', n.namespace, 'at', n.last_seen,
				'data', mockarty_private.undefined_json(n)) ORDER BY n.id)
			FROM new_rows n WHERE NOT n.ignored));
	ELSE
		PERFORM mockarty_private.webhook_enqueue_events('undefined_request.received', (
			SELECT jsonb_agg(jsonb_build_object('namespace', n.namespace, 'at', n.last_seen,
				'data', mockarty_private.undefined_json(n)) ORDER BY n.id)
			FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE n.count > o.count AND NOT n.ignored));
	END IF;
	RETURN NULL;
END
$$;

CREATE FUNCTION mockarty_private.webhook_on_event() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
	ev text;
BEGIN
	FOR ev IN SELECT DISTINCT n.event FROM new_rows n LOOP
		CONTINUE WHEN NOT mockarty_private.webhook_subscribed(ev);
		PERFORM mockarty_private.webhook_enqueue_events(ev, (
			SELECT jsonb_agg(jsonb_build_object('namespace', n.namespace, 'at', n.created_at, 'data', n.data) ORDER BY n.id)
			FROM new_rows n WHERE n.event = ev));
	END LOOP;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockarty_private.webhook_on_mock_insert() IS 'Statement trigger: mock.created for every live mock inserted';
COMMENT ON FUNCTION mockarty_private.webhook_on_mock_update() IS 'Statement trigger: mock.deleted when a mock is soft-deleted, mock.created when a deleted one comes back';
COMMENT ON FUNCTION mockarty_private.webhook_on_mock_delete() IS 'Statement trigger: mock.deleted when a live mock is purged (purging a soft-deleted one says nothing twice)';
COMMENT ON FUNCTION mockarty_private.webhook_on_undefined() IS 'Statement trigger: undefined_request.received for every recorded miss (a new row or a higher count)';
COMMENT ON FUNCTION mockarty_private.webhook_on_event() IS 'Statement trigger: every event of mockarty_private.events (event_emit(), test_run.completed among them) to its subscribers';

CREATE TRIGGER webhook_mock_insert AFTER INSERT ON mockarty_private.mocks
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_on_mock_insert();
CREATE TRIGGER webhook_mock_update AFTER UPDATE ON mockarty_private.mocks
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_on_mock_update();
CREATE TRIGGER webhook_mock_delete AFTER DELETE ON mockarty_private.mocks
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_on_mock_delete();
CREATE TRIGGER webhook_undefined_insert AFTER INSERT ON mockarty_private.undefined_requests
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_on_undefined();
CREATE TRIGGER webhook_undefined_update AFTER UPDATE ON mockarty_private.undefined_requests
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_on_undefined();
CREATE TRIGGER webhook_event AFTER INSERT ON mockarty_private.events
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_on_event();

-- mock.resolved: one event per resolution, queued by the serving nodes ------
--
-- Request logs keep a few requests per mock per flush, so they cannot say how
-- many times a mock answered; the nodes push one small event per resolution
-- into a bounded in-memory queue (shedding when it is full, never slowing the
-- response) and write it here in batches, only while some enabled webhook
-- subscribes to mock.resolved (webhook_wants_resolved_events, cached by the
-- nodes and refreshed on NOTIFY mockarty_webhooks 'config').

CREATE FUNCTION mockarty.webhook_events_enqueue(p_batch jsonb) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	bad int;
BEGIN
	IF p_batch IS NULL OR jsonb_typeof(p_batch) <> 'array' THEN
		RAISE EXCEPTION 'batch must be a JSON array' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	SELECT min(o - 1) INTO bad FROM jsonb_array_elements(p_batch) WITH ORDINALITY e(v, o)
	WHERE jsonb_typeof(v) <> 'object' OR coalesce(v ->> 'mockId', '') = '';
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'event must be an object with a mockId' USING ERRCODE = '22023',
			DETAIL = format('$[%s]', bad);
	END IF;
	IF jsonb_array_length(p_batch) = 0 OR NOT mockarty_private.webhook_subscribed('mock.resolved') THEN
		RETURN 0;
	END IF;
	RETURN mockarty_private.webhook_enqueue_events('mock.resolved', (
		SELECT jsonb_agg(jsonb_build_object(
			'namespace', coalesce(nullif(v ->> 'namespace', ''), 'sandbox'),
			'at', CASE WHEN (v ->> 'at') ~ '^\d{4}-\d\d-\d\dT' THEN v ->> 'at' END,
			'data', jsonb_strip_nulls(jsonb_build_object(
				'mockId', v ->> 'mockId',
				'namespace', coalesce(nullif(v ->> 'namespace', ''), 'sandbox'),
				'method', v ->> 'method', 'path', v ->> 'path',
				'status', CASE WHEN jsonb_typeof(v -> 'status') = 'number' THEN v -> 'status' END,
				'calledAt', v ->> 'at', 'traceparent', v ->> 'traceparent'))) ORDER BY o)
		FROM jsonb_array_elements(p_batch) WITH ORDINALITY e(v, o)));
END
$$;
COMMENT ON FUNCTION mockarty.webhook_events_enqueue(jsonb) IS 'Records mock.resolved events [{"mockId","namespace","method","path","status","at"(RFC 3339),"traceparent"?}] from the serving nodes: one delivery per subscribed enabled webhook (namespace-bound ones see their namespace only) with the body {"event":"mock.resolved","timestamp","data":{"mockId","namespace","method","path","status","calledAt","traceparent"?}}; returns the number of deliveries; 22023 naming the bad element';

CREATE FUNCTION mockarty.webhook_wants_resolved_events() RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.webhook_subscribed('mock.resolved') $$;
COMMENT ON FUNCTION mockarty.webhook_wants_resolved_events() IS 'True while some enabled webhook subscribes to mock.resolved: serving nodes queue events only then';

CREATE FUNCTION mockarty_private.webhook_config_notify() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM pg_catalog.pg_notify('mockarty_webhooks', 'config');
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION mockarty_private.webhook_config_notify() IS 'Statement trigger: NOTIFY mockarty_webhooks ''config'' when webhooks change, so nodes refresh their cached webhook_wants_resolved_events()';

CREATE TRIGGER webhook_config AFTER INSERT OR UPDATE OR DELETE ON mockarty_private.webhooks
FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_config_notify();
