-- 72_setting_role.sql - the caller rule for node-wide operations in SQL: mockarty.setting_set,
-- mockarty.user_create and mockarty.user_list refuse (42501) a caller whose mockarty.caller_role is
-- not admin or who is bound to a namespace (mockarty.caller_namespace), as REST already did.
-- Part of the update script 0.1.0 -> 0.2.0; the same definitions are in sql/install/02_helpers.sql,
-- 20_tokens.sql and 40_settings.sql.

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

CREATE OR REPLACE FUNCTION mockarty.setting_set(p_key text, p_value text) RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
	n bigint;
	lo bigint;
	hi bigint;
	unit text;
	h text;
BEGIN
	PERFORM mockarty_private.unbound_admin_require('change settings');
	IF p_key IS NULL OR p_key !~ '^[a-z][a-z0-9_]{0,62}$' THEN
		RAISE EXCEPTION 'setting name "%" is not valid', coalesce(p_key, '') USING ERRCODE = '22023', DETAIL = '$.key';
	END IF;
	IF p_value IS NULL THEN
		DELETE FROM mockarty_private.settings s WHERE s.key = p_key;
		RETURN mockarty.setting_get(p_key);
	END IF;
	-- integer settings: their bounds and unit
	SELECT x.lo, x.hi, x.unit INTO lo, hi, unit FROM (VALUES
		('webhook_timeout_ms', 100, 30000, 'ms'),
		('webhook_lease_ms', 100, 3600000, 'ms'),
		('webhook_namespace_inflight', 1, 64, 'deliveries'),
		('undefined_body_max_bytes', 0, 1048576, 'bytes'),
		('undefined_max_per_namespace', 1, 1000000, 'requests'),
		('undefined_max_age_s', 1, 31536000, 's'),
		('change_log_keep', 100, 1000000000, 'versions'),
		('change_log_min_age_s', 0, 31536000, 's')) x(k, lo, hi, unit)
	WHERE x.k = p_key;
	IF p_key = 'webhook_retry_schedule' THEN
		PERFORM mockarty_private.duration_list_ms(p_value, p_key);
	ELSIF unit IS NOT NULL THEN
		n := CASE WHEN p_value ~ '^[0-9]{1,10}$' THEN p_value::bigint END;
		IF n IS NULL OR n < lo OR n > hi THEN
			RAISE EXCEPTION '% must be an integer between % and % (%)', p_key, lo, hi, unit USING ERRCODE = '22023',
				DETAIL = p_key;
		END IF;
	ELSIF p_key = 'undefined_redact_headers' THEN
		FOREACH h IN ARRAY string_to_array(p_value, ',') LOOP
			IF btrim(h) !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' THEN
				RAISE EXCEPTION 'undefined_redact_headers: "%" is not a header name', btrim(h) USING ERRCODE = '22023',
					DETAIL = p_key, HINT = 'A comma-separated list of header names, e.g. authorization,cookie,x-api-key (an empty value redacts nothing).';
			END IF;
		END LOOP;
		p_value := lower(replace(p_value, ' ', ''));
	END IF;
	INSERT INTO mockarty_private.settings AS s (key, value) VALUES (p_key, p_value)
	ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now();
	RETURN p_value;
END
$$;
COMMENT ON FUNCTION mockarty.setting_set(text, text) IS 'Sets a setting (NULL value = back to the default) and returns the value in force; 42501 unless the caller is unrestricted or an admin not bound to a namespace; known keys are validated (22023 naming the key): webhook_retry_schedule ("0,30s,2m,10m,1h": delay before each attempt, the count is the attempt limit), webhook_timeout_ms (100..30000), webhook_lease_ms, webhook_namespace_inflight, undefined_redact_headers, undefined_body_max_bytes, undefined_max_per_namespace, undefined_max_age_s, change_log_keep, change_log_min_age_s (docs/operations.md)';

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
