-- 00_install_upgrade: the extension installs at its default version, the update
-- path machinery knows it, every object is documented, and pg_dump keeps data.
CREATE EXTENSION mockarty CASCADE;

SELECT e.extversion, e.extversion = a.default_version AS is_default
FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname
WHERE e.extname = 'mockarty';

-- every earlier release has an update path to the installed version (regress/upgrade.sh runs it)
SELECT p.source, p.path
FROM pg_extension_update_paths('mockarty') p
WHERE p.target = (SELECT extversion FROM pg_extension WHERE extname = 'mockarty') AND p.path IS NOT NULL
ORDER BY 1;

SELECT extname, extrelocatable FROM pg_extension WHERE extname IN ('mockarty', 'pgcrypto') ORDER BY 1;

-- every table and function carries COMMENT ON
SELECT c.oid::regclass AS table_without_comment
FROM pg_class c
WHERE c.relnamespace = 'mockarty_private'::regnamespace AND c.relkind = 'r'
  AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT p.oid::regprocedure AS function_without_comment
FROM pg_proc p
WHERE p.pronamespace IN ('mockarty'::regnamespace, 'mockarty_private'::regnamespace)
  AND obj_description(p.oid, 'pg_proc') IS NULL;

-- every table is registered for pg_dump
SELECT count(*) AS tables,
       count(*) FILTER (WHERE c.oid = ANY (e.extconfig)) AS dumped
FROM pg_class c, pg_extension e
WHERE e.extname = 'mockarty' AND c.relnamespace = 'mockarty_private'::regnamespace AND c.relkind = 'r';

SHOW mockarty.log_limit;

-- test helpers used by the later files
CREATE FUNCTION public.try(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text;
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
	RETURN st || ': ' || msg || CASE WHEN det <> '' THEN ' [' || det || ']' ELSE '' END;
END $$;

CREATE FUNCTION public.strip(m jsonb) RETURNS jsonb
LANGUAGE sql AS $$
	SELECT m - ARRAY['createdAt', 'updatedAt', 'lastUse', 'expireAt', 'closedAt', '_meta']
$$;

SELECT * FROM mockarty.namespace_list();
SELECT mockarty.namespace_create('qa');
SELECT try($$SELECT mockarty.namespace_create('qa')$$);
SELECT try($$SELECT mockarty.namespace_create('Bad Name')$$);
SELECT * FROM mockarty.namespace_list();
