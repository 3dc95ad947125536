-- 72_setting_role.sql - the caller rule for node-wide operations in SQL: mockarty.setting_set,
-- mockarty.user_create and mockarty.user_list refuse (42501) a caller whose mockarty.caller_role is
-- not admin or who is bound to a namespace (mockarty.caller_namespace), as REST already did.
-- Part of the update script 0.1.0 -> 0.2.0; the same definitions are in sql/install/02_helpers.sql
-- and 20_tokens.sql. setting_set's check is in its one final definition, 73_change_log_nodes.sql
-- (which adds two keys as well), so it is not written twice here.

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

CREATE OR REPLACE FUNCTION mockarty.user_create(login text, password text, role text DEFAULT 'admin') RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	u mockarty_private.users;
BEGIN
	PERFORM mockarty_private.unbound_admin_require('manage users');
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
COMMENT ON FUNCTION mockarty.user_create(text, text, text) IS 'Creates a user with a bcrypt password hash (NULL password = cannot log in); 23505 when the login exists; 42501 unless the caller is unrestricted or an admin not bound to a namespace';

CREATE OR REPLACE FUNCTION mockarty.user_list() RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.unbound_admin_require('manage users');
	RETURN (SELECT coalesce(jsonb_agg(mockarty_private.user_json(u) ORDER BY u.login), '[]') FROM mockarty_private.users u);
END
$$;
COMMENT ON FUNCTION mockarty.user_list() IS 'All users ordered by login; 42501 unless the caller is unrestricted or an admin not bound to a namespace';

-- CREATE OR REPLACE dropped the pinned search_path of user_create (crypt, gen_salt): pin it
-- again as sql/install/21_resolve.sql does
DO $$
DECLARE
	s text;
BEGIN
	SELECT n.nspname INTO s FROM pg_catalog.pg_extension e
	JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
	WHERE e.extname = 'pgcrypto';
	EXECUTE format('ALTER FUNCTION mockarty.user_create(text, text, text) SET search_path = pg_catalog, %I', s);
END
$$;
