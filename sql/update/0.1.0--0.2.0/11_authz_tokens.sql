-- 11_authz_tokens: API tokens and integration tokens under the caller rule (issue 9,
-- section 1): only an admin manages them, a bound admin only those of its namespace,
-- never minting an unbound token or one of a user with a higher role than its own;
-- integration tokens get an optional namespace binding.

CREATE OR REPLACE FUNCTION mockarty_private.token_json(t mockarty_private.api_tokens) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id, 'name', t.name, 'namespace', t.namespace,
		'user', u.login, 'role', u.role,
		'enabled', t.enabled, 'createdAt', mockarty_private.unix(t.created_at),
		'prefix', 'mk_' || t.id)
	FROM (SELECT NULL) one LEFT JOIN mockarty_private.users u ON u.id = t.user_id
$$;
COMMENT ON FUNCTION mockarty_private.token_json(mockarty_private.api_tokens) IS 'Token info as the API returns it, with its user''s login and role (never the secret or its hash)';

CREATE OR REPLACE FUNCTION mockarty.token_create(name text, user_login text DEFAULT 'admin', namespace text DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION mockarty.token_list() RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage API tokens');
	RETURN (SELECT coalesce(jsonb_agg(mockarty_private.token_json(t) ORDER BY t.created_at, t.name, t.id), '[]')
		FROM mockarty_private.api_tokens t WHERE mockarty_private.ns_visible(t.namespace));
END
$$;
COMMENT ON FUNCTION mockarty.token_list() IS 'Every token''s info, never the secret; a bound caller sees only the tokens bound to its namespace; 42501 below role admin';

CREATE OR REPLACE FUNCTION mockarty.token_set_enabled(id text, enabled boolean) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.token_delete(id text) RETURNS boolean
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

CREATE OR REPLACE FUNCTION mockarty.token_verify(token text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id, 'name', t.name, 'namespace', t.namespace,
		'user', u.login, 'role', coalesce(u.role, 'admin'))
	FROM mockarty_private.api_tokens t LEFT JOIN mockarty_private.users u ON u.id = t.user_id
	WHERE token ~ '^mk_[0-9a-f]{12}_[0-9a-f]+$'
	  AND t.id = substr(token, 4, 12)
	  AND t.enabled
	  AND crypt(substr(token, 17), t.secret_hash) = t.secret_hash
$$;
COMMENT ON FUNCTION mockarty.token_verify(text) IS 'Token owner info {"id","name","namespace","user","role"} when the token is valid and enabled, else NULL; one indexed lookup and one bcrypt compare';

ALTER TABLE mockarty_private.integrations
	ADD COLUMN namespace text REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE;
COMMENT ON COLUMN mockarty_private.integrations.namespace IS 'Namespace the token is bound to (the coordinator serves it only that namespace); NULL = unbound';

CREATE OR REPLACE FUNCTION mockarty_private.integration_json(i mockarty_private.integrations) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', i.id::text, 'name', i.name, 'type', i.type, 'namespace', i.namespace,
		'enabled', i.enabled,
		'createdAt', to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'lastUsedAt', to_char(i.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
$$;
COMMENT ON FUNCTION mockarty_private.integration_json(mockarty_private.integrations) IS 'An integration as the API returns it, with its namespace binding (never the token, its secret or its hash)';

DROP FUNCTION mockarty.integration_create(text, text);

CREATE FUNCTION mockarty.integration_create(name text, type text, namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_lookup text;
	v_secret text;
	v_ns text := mockarty_private.ns_scope(namespace);
	i mockarty_private.integrations;
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage integrations');
	IF name IS NULL OR btrim(name) = '' THEN
		RAISE EXCEPTION 'integration name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
	END IF;
	IF type IS NULL OR type NOT IN ('mock_resolver', 'test_runner', 'orchestrator') THEN
		RAISE EXCEPTION 'unknown integration type "%"', coalesce(type, '') USING ERRCODE = '22023',
			DETAIL = '$.type', HINT = 'Types are mock_resolver, test_runner and orchestrator.';
	END IF;
	IF v_ns IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mockarty_private.namespaces n WHERE n.name = v_ns) THEN
		RAISE EXCEPTION 'namespace "%" does not exist', v_ns USING ERRCODE = '22023', DETAIL = '$.namespace',
			HINT = 'Create the namespace first.';
	END IF;
	LOOP
		v_lookup := encode(gen_random_bytes(6), 'hex');
		EXIT WHEN NOT EXISTS (SELECT 1 FROM mockarty_private.integrations x WHERE x.lookup_id = v_lookup);
	END LOOP;
	v_secret := encode(gen_random_bytes(24), 'hex');
	INSERT INTO mockarty_private.integrations (name, type, lookup_id, secret_hash, namespace)
	VALUES (name, type, v_lookup, crypt(v_secret, gen_salt('bf', 10)), v_ns)
	RETURNING * INTO i;
	RETURN jsonb_build_object('integration', mockarty_private.integration_json(i) - 'lastUsedAt',
		'token', 'mki_' || v_lookup || '_' || v_secret);
END
$$;
COMMENT ON FUNCTION mockarty.integration_create(text, text, text) IS 'Creates an integration token of a type (mock_resolver, test_runner, orchestrator), bound to a namespace when given, and returns {"integration":{"id","name","type","namespace","enabled","createdAt"},"token":"mki_<lookup>_<secret>"}; the token text is returned only here, the server keeps a bcrypt hash of the secret; 22023 for an empty name, unknown type or unknown namespace; a bound caller mints only tokens bound to its namespace (42501 for another), callers with a role need admin';

CREATE OR REPLACE FUNCTION mockarty.integration_list() RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage integrations');
	RETURN (SELECT coalesce(jsonb_agg(mockarty_private.integration_json(i) ORDER BY i.created_at, i.name, i.id), '[]')
		FROM mockarty_private.integrations i WHERE mockarty_private.ns_visible(i.namespace));
END
$$;
COMMENT ON FUNCTION mockarty.integration_list() IS 'Every integration (id, name, type, namespace, enabled, createdAt, lastUsedAt), oldest first; never a token; a bound caller sees only those bound to its namespace; 42501 below role admin';

CREATE OR REPLACE FUNCTION mockarty.integration_get(id text) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage integrations');
	RETURN (SELECT mockarty_private.integration_json(i) FROM mockarty_private.integrations i
		WHERE i.id = mockarty_private.integration_id(integration_get.id) AND mockarty_private.ns_visible(i.namespace));
END
$$;
COMMENT ON FUNCTION mockarty.integration_get(text) IS 'One integration, NULL when unknown (or not bound to a bound caller''s namespace); 42501 below role admin';

CREATE OR REPLACE FUNCTION mockarty.integration_set_enabled(id text, enabled boolean) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	i mockarty_private.integrations;
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage integrations');
	IF enabled IS NULL THEN
		RAISE EXCEPTION 'enabled must be true or false' USING ERRCODE = '22023', DETAIL = '$.enabled';
	END IF;
	UPDATE mockarty_private.integrations x SET enabled = integration_set_enabled.enabled
	WHERE x.id = mockarty_private.integration_id(integration_set_enabled.id)
	  AND mockarty_private.ns_visible(x.namespace) RETURNING * INTO i;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('integration', id);
	END IF;
	IF NOT i.enabled THEN
		PERFORM pg_catalog.pg_notify('mockarty_tokens', i.id::text);
	END IF;
	RETURN mockarty_private.integration_json(i);
END
$$;
COMMENT ON FUNCTION mockarty.integration_set_enabled(text, boolean) IS 'Enables or disables an integration token (NOTIFY mockarty_tokens with its id on disable, so nodes drop it at once); returns the integration; P0002 when unknown (or not bound to a bound caller''s namespace); 42501 below role admin';

CREATE OR REPLACE FUNCTION mockarty.integration_delete(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
	v uuid;
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage integrations');
	DELETE FROM mockarty_private.integrations x
	WHERE x.id = mockarty_private.integration_id(integration_delete.id)
	  AND mockarty_private.ns_visible(x.namespace) RETURNING x.id INTO v;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	PERFORM pg_catalog.pg_notify('mockarty_tokens', v::text);
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.integration_delete(text) IS 'Deletes an integration token for good (NOTIFY mockarty_tokens with its id); false when unknown (or not bound to a bound caller''s namespace); 42501 below role admin';

CREATE OR REPLACE FUNCTION mockarty.integration_verify(token text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	i mockarty_private.integrations;
BEGIN
	IF token IS NULL OR token !~ '^mki_[0-9a-f]{12}_[0-9a-f]{1,128}$' THEN
		RETURN NULL;
	END IF;
	SELECT * INTO i FROM mockarty_private.integrations x WHERE x.lookup_id = substr(token, 5, 12);
	IF NOT FOUND OR NOT i.enabled OR crypt(substr(token, 18), i.secret_hash) <> i.secret_hash THEN
		RETURN NULL;
	END IF;
	UPDATE mockarty_private.integrations x SET last_used_at = now() WHERE x.id = i.id;
	RETURN jsonb_build_object('id', i.id::text, 'name', i.name, 'type', i.type, 'namespace', i.namespace);
END
$$;
COMMENT ON FUNCTION mockarty.integration_verify(text) IS 'Integration {"id","name","type","namespace"} when the mki_ token is valid and enabled (and stamps last_used_at), else NULL; one indexed lookup and one bcrypt compare';

-- CREATE OR REPLACE drops a function's settings: pin pgcrypto's schema again on the
-- replaced functions that use crypt(), gen_salt() and gen_random_bytes() (as the install
-- script does).
DO $$
DECLARE
	s text;
	f text;
BEGIN
	SELECT n.nspname INTO s FROM pg_catalog.pg_extension e
	JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
	WHERE e.extname = 'pgcrypto';
	FOREACH f IN ARRAY ARRAY['mockarty.token_create(text, text, text)', 'mockarty.token_verify(text)',
		'mockarty.integration_create(text, text, text)', 'mockarty.integration_verify(text)'] LOOP
		EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I', f, s);
	END LOOP;
END
$$;
