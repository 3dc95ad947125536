-- 21_resolve.sql - mockarty.resolve(): request resolution in C, over core.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

------------------------------------------------------------------------------
-- Resolving requests (C, core's matcher and renderer)
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.resolve(namespace text, method text, path text, query text DEFAULT '',
	headers jsonb DEFAULT '{}', body text DEFAULT NULL, seed bigint DEFAULT NULL,
	protocol text DEFAULT 'http') RETURNS jsonb
AS 'MODULE_PATHNAME', 'mockarty_resolve'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION mockarty.resolve(text, text, text, text, jsonb, text, bigint, text) IS 'Resolves a request against the namespace''s live mocks: returns core''s response object {"mockId","statusCode","headers","payload","delay",...} and updates use counter, oneOf cursor, stores and request log; NULL on a miss (recorded as an undefined request). protocol ''http'' (default) matches HTTP mocks; ''grpc'' matches gRPC mocks by path "/<service>/<method>", headers = metadata, body = the request message as JSON (client-streaming: the array of messages); 22023 for another protocol';

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

