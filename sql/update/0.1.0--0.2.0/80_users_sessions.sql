-- 80_users_sessions.sql - users sign in (issue 13): the users columns sign-in needs. The rest of
-- the concern is wholly new and links to its install part (81_users_sessions.sql ->
-- sql/install/23_users_sessions.sql).

ALTER TABLE mockarty_private.users ADD COLUMN enabled boolean NOT NULL DEFAULT true;
ALTER TABLE mockarty_private.users ADD COLUMN requires_password_change boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN mockarty_private.users.role IS 'System role: admin (admin in every namespace), editor or viewer (their rights come from user_namespaces)';
COMMENT ON COLUMN mockarty_private.users.enabled IS 'false: the user cannot sign in and its sessions stop working';
COMMENT ON COLUMN mockarty_private.users.requires_password_change IS 'true after a one-time or admin-set password until the user sets a password of its own';

-- a disabled user's API tokens stop working too
CREATE OR REPLACE FUNCTION mockarty.token_verify(token text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id, 'name', t.name, 'namespace', t.namespace,
		'user', u.login, 'role', coalesce(u.role, 'admin'))
	FROM mockarty_private.api_tokens t LEFT JOIN mockarty_private.users u ON u.id = t.user_id
	WHERE token ~ '^mk_[0-9a-f]{12}_[0-9a-f]+$'
	  AND t.id = substr(token, 4, 12)
	  AND t.enabled
	  AND coalesce(u.enabled, true)
	  AND crypt(substr(token, 17), t.secret_hash) = t.secret_hash
$$;
COMMENT ON FUNCTION mockarty.token_verify(text) IS 'Token owner info {"id","name","namespace","user","role"} when the token is valid and enabled and its user is not disabled, else NULL; one indexed lookup and one bcrypt compare';

-- CREATE OR REPLACE dropped the pinned pgcrypto schema (sql/install/21_resolve.sql): pin it again
DO $$
DECLARE
	s text;
BEGIN
	SELECT n.nspname INTO s FROM pg_catalog.pg_extension e
	JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
	WHERE e.extname = 'pgcrypto';
	EXECUTE format('ALTER FUNCTION mockarty.token_verify(text) SET search_path = pg_catalog, %I', s);
END
$$;
