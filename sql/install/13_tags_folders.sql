-- 13_tags_folders.sql - tags and folders of mocks.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

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

