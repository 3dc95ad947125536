-- 02_helpers.sql - internal helpers: change logging, the caller rule (namespace binding and roles), validation through core.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

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

CREATE FUNCTION mockarty_private.unbound_admin_require(p_action text) RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', p_action);
	IF mockarty_private.caller_namespace() IS NOT NULL THEN
		RAISE EXCEPTION 'a caller bound to namespace "%" cannot %', mockarty_private.caller_namespace(), p_action
			USING ERRCODE = '42501', HINT = 'Only an admin not bound to a namespace can do this.';
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.unbound_admin_require(text) IS 'Raises 42501 naming the action unless the caller is unrestricted or an admin not bound to a namespace (node-wide operations: settings, users)';

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
		-- the counter before the new row (lock order, writer_lock()): a writer holding the
		-- counter may create the same namespace, and would wait for this insert
		PERFORM mockarty_private.writer_lock();
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

-- Lock order of mock writes. A transaction that writes mocks locks, in this order:
--   1. the change counter's row (writer_lock(), or batch_begin()), before any mocks row;
--   2. the mocks rows it changes, in ascending id order when it changes several
--      (mocks_lock()), then their dependents (versions, store, logs: ON DELETE CASCADE).
-- Transactions that lock mocks rows without writing mocks (request logs: the foreign key
-- takes a KEY SHARE lock; resolve()'s use counters) never take the counter and lock several
-- rows in ascending id order too (log_requests() sorts its batch). Two transactions
-- following this order never wait for each other in a circle. The counter is held to
-- commit anyway (log_change()), so taking it first costs writers no concurrency.
CREATE FUNCTION mockarty_private.writer_lock() RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	-- once per transaction (a batch holds it already); a transaction-local setting is
	-- reset with the lock when a subtransaction rolls back
	IF coalesce(current_setting('mockarty_private.batch_version', true), '') <> ''
	   OR coalesce(current_setting('mockarty_private.writer_locked', true), '') = 'on' THEN
		RETURN;
	END IF;
	PERFORM 1 FROM mockarty_private.change_counter FOR UPDATE;
	IF NOT FOUND THEN
		-- the first write of the database: the row does not exist yet
		INSERT INTO mockarty_private.change_counter (singleton, version) VALUES (true, 0)
		ON CONFLICT (singleton) DO NOTHING;
		PERFORM 1 FROM mockarty_private.change_counter FOR UPDATE;
	END IF;
	PERFORM pg_catalog.set_config('mockarty_private.writer_locked', 'on', true);
END
$$;
COMMENT ON FUNCTION mockarty_private.writer_lock() IS 'First lock of every mock-writing transaction: the change counter''s row (held to commit), before any mocks row, so that writers never wait for each other in a circle; a no-op when this transaction holds it already';

CREATE FUNCTION mockarty_private.mocks_lock(p_ids text[]) RETURNS void
LANGUAGE sql
AS $$
	SELECT count(*) FROM (SELECT 1 FROM mockarty_private.mocks m
		WHERE m.id = ANY (p_ids) AND mockarty_private.ns_visible(m.namespace)
		ORDER BY m.id FOR UPDATE) x
$$;
COMMENT ON FUNCTION mockarty_private.mocks_lock(text[]) IS 'Locks the mocks rows of the given ids (those the caller may see) in ascending id order, the order every transaction changing several mocks takes them in; call after writer_lock()';

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

