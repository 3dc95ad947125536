-- 10_mocks.sql - namespaces and mocks: save, patch, delete, restore, purge, batches, copies, versions, chains.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

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
	off int DEFAULT 0, lim int DEFAULT 50, include_deleted boolean DEFAULT false, folder text DEFAULT NULL) RETURNS jsonb
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
		  AND (folder IS NULL OR (folder = '' AND m.folder_id IS NULL) OR m.folder_id = folder)
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
COMMENT ON FUNCTION mockarty.mock_list(text, text[], text, int, int, boolean, text) IS 'Page of mocks ordered by id: namespace NULL = all (a bound caller: its own; another raises 42501), tags = must carry all of them, search = case-insensitive substring of id or route, include_deleted = soft-deleted mocks too, folder = only the mocks of that folder id ('''' = of no folder); {"items","total","offset","limit","hasMore"}';

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

