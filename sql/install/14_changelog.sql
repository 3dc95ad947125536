-- 14_changelog.sql - the change log nodes replay: head version, changes since, snapshots.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

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

