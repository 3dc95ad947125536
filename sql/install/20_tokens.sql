-- 20_tokens.sql - users and API tokens (mk_).
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

------------------------------------------------------------------------------
-- Users and API tokens
------------------------------------------------------------------------------

CREATE FUNCTION mockarty_private.user_json(u mockarty_private.users) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', u.id, 'login', u.login, 'username', u.login, 'role', u.role,
		'createdAt', mockarty_private.unix(u.created_at))
$$;
COMMENT ON FUNCTION mockarty_private.user_json(mockarty_private.users) IS 'A user as the API returns it (never the password hash)';

CREATE FUNCTION mockarty.user_create(login text, password text, role text DEFAULT 'admin') RETURNS jsonb
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

CREATE FUNCTION mockarty.user_list() RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.unbound_admin_require('manage users');
	RETURN (SELECT coalesce(jsonb_agg(mockarty_private.user_json(u) ORDER BY u.login), '[]') FROM mockarty_private.users u);
END
$$;
COMMENT ON FUNCTION mockarty.user_list() IS 'All users ordered by login; 42501 unless the caller is unrestricted or an admin not bound to a namespace';

CREATE FUNCTION mockarty.user_verify(login text, password text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT mockarty_private.user_json(u) FROM mockarty_private.users u
	WHERE u.login = user_verify.login AND u.password_hash IS NOT NULL
	  AND crypt(password, u.password_hash) = u.password_hash
$$;
COMMENT ON FUNCTION mockarty.user_verify(text, text) IS 'The user when login and password match, else NULL';

CREATE FUNCTION mockarty_private.token_json(t mockarty_private.api_tokens) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id, 'name', t.name, 'namespace', t.namespace,
		'user', u.login, 'role', u.role,
		'enabled', t.enabled, 'createdAt', mockarty_private.unix(t.created_at),
		'prefix', 'mk_' || t.id)
	FROM (SELECT NULL) one LEFT JOIN mockarty_private.users u ON u.id = t.user_id
$$;
COMMENT ON FUNCTION mockarty_private.token_json(mockarty_private.api_tokens) IS 'Token info as the API returns it, with its user''s login and role (never the secret or its hash)';

CREATE FUNCTION mockarty.token_create(name text, user_login text DEFAULT 'admin', namespace text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_user text;
	v_role text;
	v_lookup text;
	v_secret text;
	v_ns text := mockarty_private.ns_scope(namespace);
	t mockarty_private.api_tokens;
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage API tokens');
	IF name IS NULL OR name = '' THEN
		RAISE EXCEPTION 'token name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
	END IF;
	SELECT id, role INTO v_user, v_role FROM mockarty_private.users u WHERE u.login = user_login;
	IF NOT FOUND THEN
		IF user_login = 'admin' THEN
			-- the default owner exists implicitly, without a password, until created
			INSERT INTO mockarty_private.users (login, role) VALUES ('admin', 'admin') RETURNING id, role INTO v_user, v_role;
		ELSE
			PERFORM mockarty_private.raise_not_found('user', user_login);
		END IF;
	END IF;
	IF mockarty_private.role_rank(v_role) > coalesce(mockarty_private.role_rank(mockarty_private.caller_role()), 3) THEN
		RAISE EXCEPTION 'a caller with role "%" cannot mint a token of role "%"', mockarty_private.caller_role(), v_role
			USING ERRCODE = '42501', DETAIL = '$.user';
	END IF;
	IF v_ns IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mockarty_private.namespaces n WHERE n.name = v_ns) THEN
		PERFORM mockarty_private.raise_not_found('namespace', v_ns);
	END IF;
	LOOP
		v_lookup := encode(gen_random_bytes(6), 'hex');
		EXIT WHEN NOT EXISTS (SELECT 1 FROM mockarty_private.api_tokens x WHERE x.id = v_lookup);
	END LOOP;
	v_secret := encode(gen_random_bytes(24), 'hex');
	INSERT INTO mockarty_private.api_tokens (id, name, user_id, namespace, secret_hash)
	VALUES (v_lookup, name, v_user, v_ns, crypt(v_secret, gen_salt('bf', 10)))
	RETURNING * INTO t;
	RETURN jsonb_build_object('token', 'mk_' || v_lookup || '_' || v_secret,
		'token_info', mockarty_private.token_json(t));
END
$$;
COMMENT ON FUNCTION mockarty.token_create(text, text, text) IS 'Creates an API token mk_<lookup>_<secret>; the token text is returned only here, the server keeps a bcrypt hash of the secret. Callers with a role need admin (42501); a bound caller mints only tokens bound to its namespace (namespace NULL = its own, another raises 42501) and never for a user of a higher role';

CREATE FUNCTION mockarty.token_list() RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage API tokens');
	RETURN (SELECT coalesce(jsonb_agg(mockarty_private.token_json(t) ORDER BY t.created_at, t.name, t.id), '[]')
		FROM mockarty_private.api_tokens t WHERE mockarty_private.ns_visible(t.namespace));
END
$$;
COMMENT ON FUNCTION mockarty.token_list() IS 'Every token''s info, never the secret; a bound caller sees only the tokens bound to its namespace; 42501 below role admin';

CREATE FUNCTION mockarty.token_set_enabled(id text, enabled boolean) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.api_tokens;
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage API tokens');
	UPDATE mockarty_private.api_tokens x SET enabled = token_set_enabled.enabled
	WHERE x.id = token_set_enabled.id AND mockarty_private.ns_visible(x.namespace) RETURNING * INTO t;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('token', id);
	END IF;
	IF NOT enabled THEN
		PERFORM pg_catalog.pg_notify('mockarty_tokens', t.id);
	END IF;
	RETURN mockarty_private.token_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.token_set_enabled(text, boolean) IS 'Enables or disables a token (NOTIFY mockarty_tokens with its id on disable); P0002 when unknown (or not bound to a bound caller''s namespace); 42501 below role admin';

CREATE FUNCTION mockarty.token_delete(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage API tokens');
	DELETE FROM mockarty_private.api_tokens x WHERE x.id = token_delete.id AND mockarty_private.ns_visible(x.namespace);
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	PERFORM pg_catalog.pg_notify('mockarty_tokens', id);
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.token_delete(text) IS 'Deletes a token (NOTIFY mockarty_tokens with its id); false when unknown (or not bound to a bound caller''s namespace); 42501 below role admin';

CREATE FUNCTION mockarty.token_verify(token text) RETURNS jsonb
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

