-- 10_authz: one authorisation rule enforced in the database (issue 9, section 1).
--
-- The caller context is two settings the calling application sets per transaction
-- with set_config(..., true): mockarty.caller_namespace (the namespace the caller is
-- bound to) and mockarty.caller_role (admin, editor or viewer). Unset or empty means
-- unrestricted, so a DBA or superuser using SQL directly keeps every right. A bound
-- caller acts only inside its namespace: rows of other namespaces read as unknown
-- (NULL, false, P0002) and writes into another namespace raise 42501.

CREATE OR REPLACE FUNCTION mockarty_private.caller_namespace() RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT nullif(current_setting('mockarty.caller_namespace', true), '') $$;
COMMENT ON FUNCTION mockarty_private.caller_namespace() IS 'The namespace the caller is bound to (setting mockarty.caller_namespace), NULL when unrestricted';

CREATE OR REPLACE FUNCTION mockarty_private.caller_role() RETURNS text
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

CREATE OR REPLACE FUNCTION mockarty_private.role_rank(p_role text) RETURNS int
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE p_role WHEN 'viewer' THEN 1 WHEN 'editor' THEN 2 WHEN 'admin' THEN 3 END $$;
COMMENT ON FUNCTION mockarty_private.role_rank(text) IS 'Order of roles: viewer 1 < editor 2 < admin 3 (NULL for anything else)';

CREATE OR REPLACE FUNCTION mockarty_private.role_require(p_role text, p_action text) RETURNS void
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

CREATE OR REPLACE FUNCTION mockarty_private.ns_visible(p_ns text) RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.caller_namespace() IS NULL OR coalesce(p_ns = mockarty_private.caller_namespace(), false) $$;
COMMENT ON FUNCTION mockarty_private.ns_visible(text) IS 'True when the caller may see rows of namespace p_ns: unrestricted, or bound to exactly p_ns (NULL, i.e. unbound rows, only for unrestricted callers)';

CREATE OR REPLACE FUNCTION mockarty_private.ns_check(p_ns text) RETURNS void
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

CREATE OR REPLACE FUNCTION mockarty_private.ns_scope(p_ns text) RETURNS text
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

CREATE OR REPLACE FUNCTION mockarty_private.namespace_ensure(ns text) RETURNS void
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

CREATE OR REPLACE FUNCTION mockarty_private.mock_write(p_mock jsonb, p_namespace text, p_reset boolean,
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

CREATE OR REPLACE FUNCTION mockarty.mock_get(id text, include_deleted boolean DEFAULT true) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT mockarty_private.mock_json(m) FROM mockarty_private.mocks m
	WHERE m.id = mock_get.id AND (include_deleted OR m.closed_at IS NULL) AND mockarty_private.ns_visible(m.namespace)
$$;
COMMENT ON FUNCTION mockarty.mock_get(text, boolean) IS 'One mock with server fields, NULL when unknown (or deleted and include_deleted is false, or of another namespace than the caller''s)';

CREATE OR REPLACE FUNCTION mockarty.mock_patch(id text, patch jsonb) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.mock_list(namespace text DEFAULT NULL, tags text[] DEFAULT NULL, search text DEFAULT NULL,
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

CREATE OR REPLACE FUNCTION mockarty.mock_delete(id text) RETURNS boolean
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

CREATE OR REPLACE FUNCTION mockarty.mock_restore(id text) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.mock_purge(id text) RETURNS boolean
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

CREATE OR REPLACE FUNCTION mockarty.mock_batch_restore(ids text[]) RETURNS int
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

CREATE OR REPLACE FUNCTION mockarty.mock_batch_move(ids text[], folder_id text) RETURNS int
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

CREATE OR REPLACE FUNCTION mockarty.mock_batch_tags(ids text[], tags text[]) RETURNS int
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

CREATE OR REPLACE FUNCTION mockarty.mock_copy_to_namespace(ids text[], target text) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.mock_versions(id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(v.doc || jsonb_build_object('version', v.version,
		'createdAt', mockarty_private.unix(v.saved_at)) ORDER BY v.version DESC), '[]')
	FROM mockarty_private.mock_versions v WHERE v.mock_id = mock_versions.id
	  AND EXISTS (SELECT 1 FROM mockarty_private.mocks m WHERE m.id = v.mock_id AND mockarty_private.ns_visible(m.namespace))
$$;
COMMENT ON FUNCTION mockarty.mock_versions(text) IS 'Every saved version of a mock, newest first, each with "version":N (none for a mock of another namespace than the caller''s)';

CREATE OR REPLACE FUNCTION mockarty.mock_version(id text, version int) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT v.doc || jsonb_build_object('version', v.version, 'createdAt', mockarty_private.unix(v.saved_at))
	FROM mockarty_private.mock_versions v WHERE v.mock_id = mock_version.id AND v.version = mock_version.version
	  AND EXISTS (SELECT 1 FROM mockarty_private.mocks m WHERE m.id = v.mock_id AND mockarty_private.ns_visible(m.namespace))
$$;
COMMENT ON FUNCTION mockarty.mock_version(text, int) IS 'One saved version of a mock, NULL when unknown (or the mock is of another namespace than the caller''s)';

CREATE OR REPLACE FUNCTION mockarty.mock_version_restore(id text, version int) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.mock_chain(chain_id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.mock_json(m) ORDER BY m.id), '[]')
	FROM mockarty_private.mocks m WHERE m.chain_id = mock_chain.chain_id AND m.closed_at IS NULL
	  AND mockarty_private.ns_visible(m.namespace)
$$;
COMMENT ON FUNCTION mockarty.mock_chain(text) IS 'Live mocks sharing a chainId (of the caller''s namespace when bound), ordered by id';

CREATE OR REPLACE FUNCTION mockarty.mock_chain_delete(chain_id text) RETURNS int
LANGUAGE sql
AS $$
	SELECT count(*) FILTER (WHERE mockarty.mock_delete(m.id))::int
	FROM (SELECT id FROM mockarty_private.mocks x WHERE x.chain_id = mock_chain_delete.chain_id
	      AND x.closed_at IS NULL AND mockarty_private.ns_visible(x.namespace) ORDER BY id) m
$$;
COMMENT ON FUNCTION mockarty.mock_chain_delete(text) IS 'Soft-deletes every live mock of a chain (of the caller''s namespace when bound); returns how many';

CREATE OR REPLACE FUNCTION mockarty.mock_logs(mock_id text, off int DEFAULT 0, lim int DEFAULT 50) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.mock_logs_clear(mock_id text) RETURNS int
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.request_logs l WHERE l.mock_id = mock_logs_clear.mock_id
	           AND EXISTS (SELECT 1 FROM mockarty_private.mocks m WHERE m.id = l.mock_id
	                       AND mockarty_private.ns_visible(m.namespace)) RETURNING 1)
	SELECT count(*)::int FROM d
$$;
COMMENT ON FUNCTION mockarty.mock_logs_clear(text) IS 'Deletes the request logs of a mock (none of another namespace than the caller''s); returns how many';

CREATE OR REPLACE FUNCTION mockarty.undefined_list(namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	-- the scope is the outer row, so a refused namespace raises even when nothing is stored
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.undefined_json(u) ORDER BY u.id), '[]')
		FROM mockarty_private.undefined_requests u WHERE s.ns IS NULL OR u.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(undefined_list.namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.undefined_list(text) IS 'Undefined requests of a namespace (NULL = all; a bound caller: its own, another raises 42501), oldest first';

CREATE OR REPLACE FUNCTION mockarty.undefined_ignore(id bigint) RETURNS int
LANGUAGE sql
AS $$
	WITH u AS (UPDATE mockarty_private.undefined_requests x SET ignored = true
	           WHERE x.id = undefined_ignore.id AND mockarty_private.ns_visible(x.namespace) RETURNING 1)
	SELECT count(*)::int FROM u
$$;
COMMENT ON FUNCTION mockarty.undefined_ignore(bigint) IS 'Marks an undefined request ignored (not one of another namespace than the caller''s); returns rows changed';

CREATE OR REPLACE FUNCTION mockarty.undefined_delete(ids bigint[]) RETURNS int
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.undefined_requests x WHERE x.id = ANY (ids)
	           AND mockarty_private.ns_visible(x.namespace) RETURNING 1)
	SELECT count(*)::int FROM d
$$;
COMMENT ON FUNCTION mockarty.undefined_delete(bigint[]) IS 'Deletes undefined requests by id (not those of another namespace than the caller''s); returns how many';

CREATE OR REPLACE FUNCTION mockarty.undefined_delete_all(namespace text DEFAULT NULL) RETURNS int
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

CREATE OR REPLACE FUNCTION mockarty.undefined_create_mock(id bigint) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.store_global_get(namespace text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM mockarty_private.global_store g
	WHERE g.namespace = coalesce(mockarty_private.ns_scope(store_global_get.namespace), 'sandbox')
$$;
COMMENT ON FUNCTION mockarty.store_global_get(text) IS 'The global store of a namespace as one object (a bound caller: its own, another raises 42501)';

CREATE OR REPLACE FUNCTION mockarty.store_global_delete(namespace text, key text) RETURNS boolean
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.global_store g
	           WHERE g.namespace = coalesce(mockarty_private.ns_scope(store_global_delete.namespace), 'sandbox')
	             AND g.key = store_global_delete.key
	           RETURNING 1)
	SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION mockarty.store_global_delete(text, text) IS 'Deletes one key of a global store; false when absent; 42501 for a namespace other than a bound caller''s';

CREATE OR REPLACE FUNCTION mockarty.store_chain_get(namespace text, chain_id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM mockarty_private.chain_store c
	WHERE c.namespace = coalesce(mockarty_private.ns_scope(store_chain_get.namespace), 'sandbox')
	  AND c.chain_id = store_chain_get.chain_id
$$;
COMMENT ON FUNCTION mockarty.store_chain_get(text, text) IS 'The chain store of a chainId in a namespace as one object (a bound caller: its own, another raises 42501)';

CREATE OR REPLACE FUNCTION mockarty.store_chain_delete(namespace text, chain_id text, key text) RETURNS boolean
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.chain_store c
	           WHERE c.namespace = coalesce(mockarty_private.ns_scope(store_chain_delete.namespace), 'sandbox')
	             AND c.chain_id = store_chain_delete.chain_id AND c.key = store_chain_delete.key
	           RETURNING 1)
	SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION mockarty.store_chain_delete(text, text, text) IS 'Deletes one key of a chain store; false when absent; 42501 for a namespace other than a bound caller''s';

CREATE OR REPLACE FUNCTION mockarty.store_mock_get(mock_id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT s.data FROM mockarty_private.mock_store s JOIN mockarty_private.mocks m ON m.id = s.mock_id
	WHERE s.mock_id = store_mock_get.mock_id AND mockarty_private.ns_visible(m.namespace)
$$;
COMMENT ON FUNCTION mockarty.store_mock_get(text) IS 'The mock store of a mock, NULL when the mock is unknown (or of another namespace than the caller''s)';

CREATE OR REPLACE FUNCTION mockarty.tag_list(namespace text DEFAULT NULL) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.folder_list(namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.folder_json(f) ORDER BY f.sort_order, f.name, f.id), '[]')
		FROM mockarty_private.folders f WHERE s.ns IS NULL OR f.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(folder_list.namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.folder_list(text) IS 'Folders of a namespace (NULL = all; a bound caller: its own, another raises 42501) ordered by sortOrder, name';

CREATE OR REPLACE FUNCTION mockarty_private.folder_check_parent(p_id text, p_parent text) RETURNS void
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

CREATE OR REPLACE FUNCTION mockarty.folder_save(folder jsonb) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.folder_delete(id text) RETURNS boolean
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

CREATE OR REPLACE FUNCTION mockarty.folder_move(id text, parent_id text) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.namespace_list() RETURNS SETOF text
LANGUAGE sql STABLE
AS $$
	SELECT name FROM mockarty_private.namespaces WHERE mockarty_private.ns_visible(name)
	ORDER BY name <> 'sandbox', name
$$;
COMMENT ON FUNCTION mockarty.namespace_list() IS 'All namespaces, sandbox first, then by name (a bound caller: its own only)';
