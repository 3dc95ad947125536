-- 23_users_sessions.sql - sign-in for people: namespace roles of users, sessions, login throttling,
-- the first-start admin password and user management for admins.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.
-- The update from 0.1.0 links to this file (sql/update/0.1.0--0.2.0/81_users_sessions.sql) after
-- adding the users columns it needs (80_users_sessions.sql).

------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------

CREATE TABLE mockarty_private.user_namespaces (
	user_id text NOT NULL REFERENCES mockarty_private.users (id) ON DELETE CASCADE,
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE ON DELETE CASCADE,
	role text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
	PRIMARY KEY (user_id, namespace)
);
COMMENT ON TABLE mockarty_private.user_namespaces IS 'Per-namespace roles of users whose system role is not admin: a signed-in user acts in a namespace as a caller bound to it with this role; no row = the namespace does not exist for the user';

CREATE TABLE mockarty_private.sessions (
	id text PRIMARY KEY,
	user_id text NOT NULL REFERENCES mockarty_private.users (id) ON DELETE CASCADE,
	csrf_token text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON mockarty_private.sessions (user_id);
CREATE INDEX sessions_expires_idx ON mockarty_private.sessions (expires_at);
COMMENT ON TABLE mockarty_private.sessions IS 'Sign-in sessions: id is the hex SHA-256 of the session token mks_<secret> (the token itself is never stored), csrf_token the value writes authenticated by the session cookie must echo in X-CSRF-Token; expires_at slides on use at most once a minute';

CREATE TABLE mockarty_private.login_failures (
	id bigserial PRIMARY KEY,
	login text NOT NULL,
	client text NOT NULL,
	failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_login_idx ON mockarty_private.login_failures (login, failed_at);
CREATE INDEX login_failures_client_idx ON mockarty_private.login_failures (client, failed_at);
COMMENT ON TABLE mockarty_private.login_failures IS 'Failed sign-ins (known and unknown logins alike) per login name and client address, for login throttling; rows older than a day are dropped by later sign-ins';

-- every table is kept by pg_dump (a restored database keeps its sign-ins and the throttle's state)
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.user_namespaces', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.sessions', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.login_failures', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.login_failures_id_seq', '');

------------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------------

CREATE FUNCTION mockarty_private.user_info(u mockarty_private.users) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', u.id, 'login', u.login, 'username', u.login,
		'system_role', u.role, 'role', u.role,
		'namespaces', coalesce((SELECT jsonb_agg(jsonb_build_object('namespace', m.namespace, 'role', m.role)
				ORDER BY m.namespace)
			FROM mockarty_private.user_namespaces m WHERE m.user_id = u.id), '[]'::jsonb),
		'has_password', u.password_hash IS NOT NULL, 'email', NULL::text, 'email_2fa_enabled', false,
		'requires_password_change', u.requires_password_change, 'enabled', u.enabled,
		'created_at', mockarty_private.rfc3339(u.created_at))
$$;
COMMENT ON FUNCTION mockarty_private.user_info(mockarty_private.users) IS 'A user as sign-in and user management return it: id, login, system_role, namespaces [{namespace, role}], has_password, email (null), email_2fa_enabled (false), requires_password_change, enabled, created_at; never the password hash';

CREATE FUNCTION mockarty_private.password_check(p_password text, p_field text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
	IF p_password IS NULL OR char_length(p_password) < 8 THEN
		RAISE EXCEPTION 'password must be at least 8 characters long' USING ERRCODE = '22023', DETAIL = p_field;
	END IF;
	IF octet_length(p_password) > 72 THEN
		RAISE EXCEPTION 'password must be at most 72 bytes long (bcrypt ignores the rest)' USING ERRCODE = '22023',
			DETAIL = p_field;
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.password_check(text, text) IS 'Raises 22023 naming the field (DETAIL p_field) unless the password has 8 characters to 72 bytes';

CREATE FUNCTION mockarty_private.user_admin_require() RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage users');
	IF mockarty_private.caller_namespace() IS NOT NULL THEN
		RAISE EXCEPTION 'a caller bound to namespace "%" cannot manage users', mockarty_private.caller_namespace()
			USING ERRCODE = '42501', HINT = 'Users are managed by admins not bound to a namespace.';
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.user_admin_require() IS 'Raises 42501 unless the caller is unrestricted or an admin not bound to a namespace (the caller rule of user management)';

CREATE FUNCTION mockarty_private.user_row(p_id text) RETURNS mockarty_private.users
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	u mockarty_private.users;
BEGIN
	SELECT * INTO u FROM mockarty_private.users x WHERE x.id = p_id;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('user', p_id);
	END IF;
	RETURN u;
END
$$;
COMMENT ON FUNCTION mockarty_private.user_row(text) IS 'The users row with id p_id; P0002 when there is none';

CREATE FUNCTION mockarty_private.user_changed(p_id text) RETURNS void
LANGUAGE sql
AS $$ SELECT pg_catalog.pg_notify('mockarty_tokens', 'user:' || p_id) $$;
COMMENT ON FUNCTION mockarty_private.user_changed(text) IS 'Rings NOTIFY mockarty_tokens (payload user:<id>) so admin nodes drop their cached sessions and tokens after a user''s role, memberships, password or state changed';

CREATE FUNCTION mockarty_private.user_namespaces_set(p_id text, p_list jsonb, p_path text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	e jsonb;
	i int := 0;
	v_ns text;
	v_role text;
BEGIN
	IF p_list IS NULL OR jsonb_typeof(p_list) <> 'array' THEN
		RAISE EXCEPTION 'namespaces must be an array of {"namespace","role"}' USING ERRCODE = '22023', DETAIL = p_path;
	END IF;
	DELETE FROM mockarty_private.user_namespaces WHERE user_id = p_id;
	FOR e IN SELECT value FROM jsonb_array_elements(p_list) LOOP
		IF jsonb_typeof(e) <> 'object' THEN
			RAISE EXCEPTION 'a namespace role must be an object {"namespace","role"}' USING ERRCODE = '22023',
				DETAIL = format('%s[%s]', p_path, i);
		END IF;
		v_ns := e ->> 'namespace';
		v_role := e ->> 'role';
		IF jsonb_typeof(e -> 'namespace') IS DISTINCT FROM 'string'
		   OR NOT EXISTS (SELECT 1 FROM mockarty_private.namespaces n WHERE n.name = v_ns) THEN
			RAISE EXCEPTION 'unknown namespace "%"', coalesce(v_ns, '(none)') USING ERRCODE = '22023',
				DETAIL = format('%s[%s].namespace', p_path, i);
		END IF;
		IF jsonb_typeof(e -> 'role') IS DISTINCT FROM 'string' OR v_role NOT IN ('admin', 'editor', 'viewer') THEN
			RAISE EXCEPTION 'unknown role "%" (expected admin, editor or viewer)', coalesce(v_role, '(none)')
				USING ERRCODE = '22023', DETAIL = format('%s[%s].role', p_path, i);
		END IF;
		INSERT INTO mockarty_private.user_namespaces (user_id, namespace, role) VALUES (p_id, v_ns, v_role)
		ON CONFLICT (user_id, namespace) DO UPDATE SET role = excluded.role;
		i := i + 1;
	END LOOP;
END
$$;
COMMENT ON FUNCTION mockarty_private.user_namespaces_set(text, jsonb, text) IS 'Replaces a user''s namespace roles by p_list [{"namespace","role"}]; 22023 naming the element (p_path[i].namespace / .role) for an unknown namespace or role';

------------------------------------------------------------------------------
-- First start
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.user_bootstrap() RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
	v_pw text;
BEGIN
	PERFORM mockarty_private.user_admin_require();
	-- two admin nodes starting at once: one of them sets the password
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('mockarty.user_bootstrap'));
	IF EXISTS (SELECT 1 FROM mockarty_private.users WHERE password_hash IS NOT NULL) THEN
		RETURN NULL;
	END IF;
	v_pw := translate(encode(gen_random_bytes(12), 'base64'), '+/', 'xy');
	INSERT INTO mockarty_private.users (login, password_hash, role, requires_password_change)
	VALUES ('admin', crypt(v_pw, gen_salt('bf', 10)), 'admin', true)
	ON CONFLICT (login) DO UPDATE SET password_hash = excluded.password_hash, role = 'admin',
		enabled = true, requires_password_change = true;
	PERFORM mockarty_private.user_changed((SELECT id FROM mockarty_private.users WHERE login = 'admin'));
	RETURN v_pw;
END
$$;
COMMENT ON FUNCTION mockarty.user_bootstrap() IS 'First start: when no user has a password, gives user admin (created if missing, made an enabled admin) a random one-time password with requires_password_change and returns it (the admin node logs it once); NULL otherwise';

------------------------------------------------------------------------------
-- Sign-in, sessions, own password
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.session_login(p_login text, p_password text, p_client text,
	p_ttl_seconds int DEFAULT 43200, p_window_seconds int DEFAULT 300, p_max_failures int DEFAULT 5)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	u mockarty_private.users;
	v_found boolean;
	v_ok boolean := false;
	v_window interval := make_interval(secs => p_window_seconds);
	v_t1 timestamptz;
	v_t2 timestamptz;
	v_secret text;
	v_csrf text;
	v_exp timestamptz;
BEGIN
	IF p_ttl_seconds IS NULL OR p_ttl_seconds < 1 OR p_window_seconds IS NULL OR p_window_seconds < 1
	   OR p_max_failures IS NULL OR p_max_failures < 1 THEN
		RAISE EXCEPTION 'session lifetime, throttle window and failure count must be positive' USING ERRCODE = '22023';
	END IF;
	p_client := coalesce(p_client, '');
	-- throttled: the p_max_failures-th latest failure in the window must age out first
	SELECT f.failed_at INTO v_t1 FROM mockarty_private.login_failures f
	WHERE f.login = p_login AND f.failed_at > now() - v_window
	ORDER BY f.failed_at DESC OFFSET p_max_failures - 1 LIMIT 1;
	SELECT f.failed_at INTO v_t2 FROM mockarty_private.login_failures f
	WHERE p_client <> '' AND f.client = p_client AND f.failed_at > now() - v_window
	ORDER BY f.failed_at DESC OFFSET p_max_failures - 1 LIMIT 1;
	IF v_t1 IS NOT NULL OR v_t2 IS NOT NULL THEN
		RETURN jsonb_build_object('ok', false, 'throttled', true, 'retry_after',
			greatest(1, ceil(extract(epoch FROM (greatest(v_t1, v_t2) + v_window - clock_timestamp()))))::int);
	END IF;
	SELECT * INTO u FROM mockarty_private.users x WHERE x.login = p_login;
	v_found := FOUND;
	IF NOT v_found OR u.password_hash IS NULL THEN
		-- an unknown login costs the same one bcrypt as a known one: the same expression on a
		-- stand-in hash (a PERFORM would be folded by the planner and then run again: two)
		u.password_hash := '$2a$10$CwTycUXWue0Thq9StjUM0uJ8DPLKXt1FYlwYpQW2G3cAwjKoh2WZK';
		u.enabled := false;
	END IF;
	v_ok := crypt(coalesce(p_password, ''), u.password_hash) = u.password_hash AND u.enabled;
	IF NOT v_ok THEN
		DELETE FROM mockarty_private.login_failures WHERE failed_at < now() - interval '1 day';
		INSERT INTO mockarty_private.login_failures (login, client) VALUES (coalesce(p_login, ''), p_client);
		RETURN jsonb_build_object('ok', false, 'throttled', false);
	END IF;
	DELETE FROM mockarty_private.login_failures WHERE login = p_login;
	DELETE FROM mockarty_private.sessions WHERE expires_at < now();
	v_secret := 'mks_' || encode(gen_random_bytes(32), 'hex');
	v_csrf := encode(gen_random_bytes(24), 'hex');
	v_exp := now() + make_interval(secs => p_ttl_seconds);
	INSERT INTO mockarty_private.sessions (id, user_id, csrf_token, expires_at)
	VALUES (encode(digest(v_secret, 'sha256'), 'hex'), u.id, v_csrf, v_exp);
	RETURN jsonb_build_object('ok', true, 'token', v_secret, 'csrfToken', v_csrf,
		'expires_at', mockarty_private.rfc3339(v_exp), 'redirect_to', '/ui/',
		'requires_password_change', u.requires_password_change, 'user', mockarty_private.user_info(u));
END
$$;
COMMENT ON FUNCTION mockarty.session_login(text, text, text, int, int, int) IS 'Signs a user in: {"ok":true,"token":"mks_...","csrfToken","expires_at","redirect_to","requires_password_change","user"} with a new session of p_ttl_seconds, or {"ok":false,"throttled":false} (failure recorded for the login and client p_client), or {"ok":false,"throttled":true,"retry_after":s} when p_max_failures failures of the login or of the client fall within p_window_seconds (even for the right password). Unknown logins cost one bcrypt like known ones';

CREATE FUNCTION mockarty.session_verify(p_token text, p_ttl_seconds int DEFAULT 43200) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	s mockarty_private.sessions;
	u mockarty_private.users;
BEGIN
	IF p_token IS NULL OR p_token !~ '^mks_[0-9a-f]{64}$' THEN
		RETURN NULL;
	END IF;
	SELECT * INTO s FROM mockarty_private.sessions x
	WHERE x.id = encode(digest(p_token, 'sha256'), 'hex') AND x.expires_at > now();
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	SELECT * INTO u FROM mockarty_private.users x WHERE x.id = s.user_id AND x.enabled;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	IF s.last_used_at < now() - interval '1 minute' THEN
		UPDATE mockarty_private.sessions SET last_used_at = now(),
			expires_at = greatest(expires_at, now() + make_interval(secs => p_ttl_seconds))
		WHERE id = s.id RETURNING * INTO s;
	END IF;
	RETURN jsonb_build_object('user_id', u.id, 'login', u.login, 'system_role', u.role,
		'csrf', s.csrf_token, 'expires_in', greatest(0, floor(extract(epoch FROM (s.expires_at - now()))))::bigint,
		'namespaces', coalesce((SELECT jsonb_object_agg(m.namespace, m.role)
			FROM mockarty_private.user_namespaces m WHERE m.user_id = u.id), '{}'::jsonb));
END
$$;
COMMENT ON FUNCTION mockarty.session_verify(text, int) IS 'The session of token mks_... when it exists, has not expired and its user is enabled: {"user_id","login","system_role","csrf","expires_in" (s),"namespaces":{ns:role}}, else NULL; slides the expiry to now + p_ttl_seconds when the session was last used over a minute ago';

CREATE FUNCTION mockarty.session_end(p_token text) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	DELETE FROM mockarty_private.sessions WHERE id = encode(digest(coalesce(p_token, ''), 'sha256'), 'hex');
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.session_end(text) IS 'Ends (deletes) the session of token mks_...; false when there was none';

CREATE FUNCTION mockarty.session_me(p_token text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('user', mockarty_private.user_info(u), 'csrfToken', s.csrf_token,
		'expires_at', mockarty_private.rfc3339(s.expires_at), 'auth', 'session',
		'expires_in', greatest(1, floor(extract(epoch FROM (s.expires_at - now()))))::bigint)
	FROM mockarty_private.sessions s JOIN mockarty_private.users u ON u.id = s.user_id
	WHERE s.id = encode(digest(coalesce(p_token, ''), 'sha256'), 'hex') AND s.expires_at > now() AND u.enabled
$$;
COMMENT ON FUNCTION mockarty.session_me(text) IS 'The signed-in user of a live session {"user","csrfToken","expires_at","expires_in" (s),"auth":"session"}, NULL when the session is unknown or expired';

CREATE FUNCTION mockarty.session_password(p_token text, p_current text, p_new text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	s mockarty_private.sessions;
	u mockarty_private.users;
BEGIN
	SELECT * INTO s FROM mockarty_private.sessions x
	WHERE x.id = encode(digest(coalesce(p_token, ''), 'sha256'), 'hex') AND x.expires_at > now();
	IF NOT FOUND THEN
		RAISE EXCEPTION 'the session has ended; sign in again' USING ERRCODE = '28000';
	END IF;
	u := mockarty_private.user_row(s.user_id);
	IF u.password_hash IS NULL OR p_current IS NULL OR crypt(p_current, u.password_hash) <> u.password_hash THEN
		RAISE EXCEPTION 'current password is wrong' USING ERRCODE = '22023', DETAIL = '$.current_password';
	END IF;
	PERFORM mockarty_private.password_check(p_new, '$.new_password');
	UPDATE mockarty_private.users SET password_hash = crypt(p_new, gen_salt('bf', 10)), requires_password_change = false
	WHERE id = u.id RETURNING * INTO u;
	-- other sessions of the user end with the old password
	DELETE FROM mockarty_private.sessions WHERE user_id = u.id AND id <> s.id;
	PERFORM mockarty_private.user_changed(u.id);
	RETURN mockarty_private.user_info(u);
END
$$;
COMMENT ON FUNCTION mockarty.session_password(text, text, text) IS 'Changes the password of the session''s user after checking the current one (22023 $.current_password), the new one has 8 characters to 72 bytes (22023 $.new_password); clears requires_password_change and ends the user''s other sessions; 28000 when the session has ended';

------------------------------------------------------------------------------
-- User management (admins not bound to a namespace)
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.user_admin_list() RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.user_admin_require();
	RETURN (SELECT coalesce(jsonb_agg(mockarty_private.user_info(u) ORDER BY u.login), '[]')
		FROM mockarty_private.users u);
END
$$;
COMMENT ON FUNCTION mockarty.user_admin_list() IS 'Every user (user_info shape) ordered by login; 42501 for callers below admin or bound to a namespace';

CREATE FUNCTION mockarty.user_admin_get(p_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.user_admin_require();
	RETURN mockarty_private.user_info(mockarty_private.user_row(p_id));
END
$$;
COMMENT ON FUNCTION mockarty.user_admin_get(text) IS 'One user (user_info shape); P0002 when unknown; 42501 for callers below admin or bound to a namespace';

CREATE FUNCTION mockarty_private.user_fields_check(p jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
	IF p ? 'login' AND (jsonb_typeof(p -> 'login') <> 'string' OR (p ->> 'login') !~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$') THEN
		RAISE EXCEPTION 'login must be 1 to 128 letters, digits or _.@- (starting with a letter or digit)'
			USING ERRCODE = '22023', DETAIL = '$.login';
	END IF;
	IF p ? 'system_role' AND (jsonb_typeof(p -> 'system_role') <> 'string' OR (p ->> 'system_role') NOT IN ('admin', 'editor', 'viewer')) THEN
		RAISE EXCEPTION 'unknown system_role % (expected admin, editor or viewer)', p -> 'system_role'
			USING ERRCODE = '22023', DETAIL = '$.system_role';
	END IF;
	IF p ? 'role' AND (jsonb_typeof(p -> 'role') <> 'string' OR (p ->> 'role') NOT IN ('admin', 'editor', 'viewer')) THEN
		RAISE EXCEPTION 'unknown role % (expected admin, editor or viewer)', p -> 'role'
			USING ERRCODE = '22023', DETAIL = '$.role';
	END IF;
	IF p ? 'enabled' AND jsonb_typeof(p -> 'enabled') <> 'boolean' THEN
		RAISE EXCEPTION 'enabled must be true or false' USING ERRCODE = '22023', DETAIL = '$.enabled';
	END IF;
	IF p ? 'requires_password_change' AND jsonb_typeof(p -> 'requires_password_change') <> 'boolean' THEN
		RAISE EXCEPTION 'requires_password_change must be true or false' USING ERRCODE = '22023',
			DETAIL = '$.requires_password_change';
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.user_fields_check(jsonb) IS 'Raises 22023 naming the field ($.login, $.system_role, $.role, $.enabled, $.requires_password_change) when a user document holds a bad value';

CREATE FUNCTION mockarty.user_admin_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	u mockarty_private.users;
BEGIN
	PERFORM mockarty_private.user_admin_require();
	IF p IS NULL OR jsonb_typeof(p) <> 'object' THEN
		RAISE EXCEPTION 'a user must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	IF NOT p ? 'login' THEN
		RAISE EXCEPTION 'login is required' USING ERRCODE = '22023', DETAIL = '$.login';
	END IF;
	PERFORM mockarty_private.user_fields_check(p);
	IF p ? 'password' AND jsonb_typeof(p -> 'password') <> 'null' THEN
		IF jsonb_typeof(p -> 'password') <> 'string' THEN
			RAISE EXCEPTION 'password must be a string' USING ERRCODE = '22023', DETAIL = '$.password';
		END IF;
		PERFORM mockarty_private.password_check(p ->> 'password', '$.password');
	END IF;
	IF EXISTS (SELECT 1 FROM mockarty_private.users x WHERE x.login = p ->> 'login') THEN
		RAISE EXCEPTION 'user "%" already exists', p ->> 'login' USING ERRCODE = '23505';
	END IF;
	INSERT INTO mockarty_private.users (login, password_hash, role, requires_password_change)
	VALUES (p ->> 'login',
		CASE WHEN jsonb_typeof(p -> 'password') = 'string' THEN crypt(p ->> 'password', gen_salt('bf', 10)) END,
		coalesce(p ->> 'system_role', p ->> 'role', 'viewer'),
		coalesce((p ->> 'requires_password_change')::boolean, false))
	RETURNING * INTO u;
	IF p ? 'enabled' THEN
		UPDATE mockarty_private.users SET enabled = (p ->> 'enabled')::boolean WHERE id = u.id RETURNING * INTO u;
	END IF;
	IF p ? 'namespaces' THEN
		PERFORM mockarty_private.user_namespaces_set(u.id, p -> 'namespaces', '$.namespaces');
	END IF;
	RETURN mockarty_private.user_info(u);
END
$$;
COMMENT ON FUNCTION mockarty.user_admin_create(jsonb) IS 'Creates a user from {"login","password"?,"system_role"? (or "role"; default viewer),"namespaces"?:[{"namespace","role"}],"enabled"?,"requires_password_change"?}; 22023 naming the field, 23505 when the login exists; 42501 for callers below admin or bound to a namespace';

CREATE FUNCTION mockarty.user_admin_update(p_id text, p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	u mockarty_private.users;
BEGIN
	PERFORM mockarty_private.user_admin_require();
	u := mockarty_private.user_row(p_id);
	IF p IS NULL OR jsonb_typeof(p) <> 'object' THEN
		RAISE EXCEPTION 'a user must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	IF p ? 'password' THEN
		RAISE EXCEPTION 'passwords are set with POST /api/v1/admin/users/:id/password' USING ERRCODE = '22023',
			DETAIL = '$.password';
	END IF;
	PERFORM mockarty_private.user_fields_check(p);
	IF p ? 'login' AND p ->> 'login' <> u.login
	   AND EXISTS (SELECT 1 FROM mockarty_private.users x WHERE x.login = p ->> 'login') THEN
		RAISE EXCEPTION 'user "%" already exists', p ->> 'login' USING ERRCODE = '23505';
	END IF;
	UPDATE mockarty_private.users SET
		login = coalesce(p ->> 'login', login),
		role = coalesce(p ->> 'system_role', p ->> 'role', role),
		enabled = coalesce((p ->> 'enabled')::boolean, enabled),
		requires_password_change = coalesce((p ->> 'requires_password_change')::boolean, requires_password_change)
	WHERE id = p_id RETURNING * INTO u;
	IF p ? 'namespaces' THEN
		PERFORM mockarty_private.user_namespaces_set(u.id, p -> 'namespaces', '$.namespaces');
	END IF;
	PERFORM mockarty_private.user_changed(u.id);
	RETURN mockarty_private.user_info(u);
END
$$;
COMMENT ON FUNCTION mockarty.user_admin_update(text, jsonb) IS 'Changes a user''s login, system_role (or role), enabled, requires_password_change and (when given) replaces its namespace roles; passwords have their own call (22023 $.password); P0002 when unknown; 42501 for callers below admin or bound to a namespace';

CREATE FUNCTION mockarty.user_admin_delete(p_id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.user_admin_require();
	DELETE FROM mockarty_private.users WHERE id = p_id;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	PERFORM mockarty_private.user_changed(p_id);
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.user_admin_delete(text) IS 'Deletes a user with its sessions, namespace roles and API tokens; false when unknown; 42501 for callers below admin or bound to a namespace';

CREATE FUNCTION mockarty.user_admin_set_password(p_id text, p_password text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	u mockarty_private.users;
BEGIN
	PERFORM mockarty_private.user_admin_require();
	u := mockarty_private.user_row(p_id);
	PERFORM mockarty_private.password_check(p_password, '$.new_password');
	UPDATE mockarty_private.users SET password_hash = crypt(p_password, gen_salt('bf', 10)), requires_password_change = true
	WHERE id = p_id RETURNING * INTO u;
	DELETE FROM mockarty_private.sessions WHERE user_id = p_id;
	PERFORM mockarty_private.user_changed(p_id);
	RETURN mockarty_private.user_info(u);
END
$$;
COMMENT ON FUNCTION mockarty.user_admin_set_password(text, text) IS 'Sets a user''s password (8 characters to 72 bytes, 22023 $.new_password) with requires_password_change and ends its sessions; P0002 when unknown; 42501 for callers below admin or bound to a namespace';

CREATE FUNCTION mockarty.user_admin_set_enabled(p_id text, p_enabled boolean) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	u mockarty_private.users;
BEGIN
	PERFORM mockarty_private.user_admin_require();
	u := mockarty_private.user_row(p_id);
	UPDATE mockarty_private.users SET enabled = p_enabled WHERE id = p_id RETURNING * INTO u;
	PERFORM mockarty_private.user_changed(p_id);
	RETURN mockarty_private.user_info(u);
END
$$;
COMMENT ON FUNCTION mockarty.user_admin_set_enabled(text, boolean) IS 'Enables or disables a user (a disabled user cannot sign in and its sessions stop working); P0002 when unknown; 42501 for callers below admin or bound to a namespace';

CREATE FUNCTION mockarty.user_admin_set_namespaces(p_id text, p_list jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.user_admin_require();
	PERFORM mockarty_private.user_row(p_id);
	PERFORM mockarty_private.user_namespaces_set(p_id, p_list, '$');
	PERFORM mockarty_private.user_changed(p_id);
	RETURN mockarty_private.user_info(mockarty_private.user_row(p_id));
END
$$;
COMMENT ON FUNCTION mockarty.user_admin_set_namespaces(text, jsonb) IS 'Replaces a user''s namespace roles by [{"namespace","role"}] (22023 naming $[i].namespace or $[i].role); P0002 when unknown; 42501 for callers below admin or bound to a namespace';

-- pgcrypto's schema for the functions that use crypt(), gen_salt(), gen_random_bytes() and
-- digest() (see "pgcrypto lookup" in 21_resolve.sql).
DO $$
DECLARE
	s text;
	f text;
BEGIN
	SELECT n.nspname INTO s FROM pg_catalog.pg_extension e
	JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
	WHERE e.extname = 'pgcrypto';
	FOREACH f IN ARRAY ARRAY['mockarty.user_bootstrap()',
		'mockarty.session_login(text, text, text, int, int, int)', 'mockarty.session_verify(text, int)',
		'mockarty.session_end(text)', 'mockarty.session_me(text)', 'mockarty.session_password(text, text, text)',
		'mockarty.user_admin_create(jsonb)', 'mockarty.user_admin_set_password(text, text)'] LOOP
		EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I', f, s);
	END LOOP;
END
$$;
