-- 91_console_mocks.sql - the console's Mocks page (issue 13): mock_list() gains a folder filter
-- (REST GET /api/v1/mocks?folderId=). Its signature changes, so the 0.1.0 function is dropped
-- and the new one created as sql/install/10_mocks.sql has it.

DROP FUNCTION mockarty.mock_list(text, text[], text, int, int, boolean);

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
