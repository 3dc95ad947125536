-- 22_integrations.sql - integration tokens (mki_) of resolver, runner and orchestrator nodes, and what nodes report.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

------------------------------------------------------------------------------
-- Integration tokens (mki_): node-to-node credentials
------------------------------------------------------------------------------
-- A token is mki_<lookup>_<secret>: the 12-hex lookup id finds the row through a
-- unique index, so verification is one probe plus one bcrypt compare; only the
-- bcrypt hash of the secret is kept. The type is the token's scope: mock_resolver
-- may sync, resolve and report through the coordinator, test_runner and
-- orchestrator have their own services, and no integration token may call the
-- admin REST API. Disabling or deleting one rings NOTIFY mockarty_tokens with its
-- id, so every node purges its cache of verified tokens and drops the streams
-- authenticated with it at once.

CREATE TABLE mockarty_private.integrations (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name text NOT NULL CHECK (name <> ''),
	type text NOT NULL CHECK (type IN ('mock_resolver', 'test_runner', 'orchestrator')),
	enabled boolean NOT NULL DEFAULT true,
	lookup_id text NOT NULL UNIQUE,
	secret_hash text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz,
	namespace text REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE
);
COMMENT ON TABLE mockarty_private.integrations IS 'Integration (mki_) tokens of resolvers, runners and orchestrators: lookup_id is the public id inside the token, secret_hash the bcrypt hash of its secret part, type its scope';
COMMENT ON COLUMN mockarty_private.integrations.last_used_at IS 'Last successful verification (nodes cache verifications, so this is coarse)';
COMMENT ON COLUMN mockarty_private.integrations.namespace IS 'Namespace the token is bound to (the coordinator serves it only that namespace); NULL = unbound';

SELECT pg_catalog.pg_extension_config_dump('mockarty_private.integrations', '');

CREATE FUNCTION mockarty_private.integration_json(i mockarty_private.integrations) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', i.id::text, 'name', i.name, 'type', i.type, 'namespace', i.namespace,
		'enabled', i.enabled,
		'createdAt', to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'lastUsedAt', to_char(i.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
$$;
COMMENT ON FUNCTION mockarty_private.integration_json(mockarty_private.integrations) IS 'An integration as the API returns it, with its namespace binding (never the token, its secret or its hash)';

CREATE FUNCTION mockarty_private.integration_id(p_id text) RETURNS uuid
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
	IF p_id IS NULL OR p_id !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
		RETURN NULL;
	END IF;
	RETURN p_id::uuid;
END
$$;
COMMENT ON FUNCTION mockarty_private.integration_id(text) IS 'The uuid of an integration id given as text, NULL when it is not a uuid (so a malformed id is just an unknown one)';

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

CREATE FUNCTION mockarty.integration_list() RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage integrations');
	RETURN (SELECT coalesce(jsonb_agg(mockarty_private.integration_json(i) ORDER BY i.created_at, i.name, i.id), '[]')
		FROM mockarty_private.integrations i WHERE mockarty_private.ns_visible(i.namespace));
END
$$;
COMMENT ON FUNCTION mockarty.integration_list() IS 'Every integration (id, name, type, namespace, enabled, createdAt, lastUsedAt), oldest first; never a token; a bound caller sees only those bound to its namespace; 42501 below role admin';

CREATE FUNCTION mockarty.integration_get(id text) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage integrations');
	RETURN (SELECT mockarty_private.integration_json(i) FROM mockarty_private.integrations i
		WHERE i.id = mockarty_private.integration_id(integration_get.id) AND mockarty_private.ns_visible(i.namespace));
END
$$;
COMMENT ON FUNCTION mockarty.integration_get(text) IS 'One integration, NULL when unknown (or not bound to a bound caller''s namespace); 42501 below role admin';

CREATE FUNCTION mockarty.integration_set_enabled(id text, enabled boolean) RETURNS jsonb
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

CREATE FUNCTION mockarty.integration_delete(id text) RETURNS boolean
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

CREATE FUNCTION mockarty.integration_verify(token text) RETURNS jsonb
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

CREATE FUNCTION mockarty.undefined_record_batch(batch jsonb) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	e jsonb;
	n int := 0;
	c bigint;
	k record;
BEGIN
	IF batch IS NULL OR jsonb_typeof(batch) <> 'array' THEN
		RAISE EXCEPTION 'batch must be a JSON array' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	FOR e IN SELECT value FROM jsonb_array_elements(batch) LOOP
		CONTINUE WHEN coalesce(e ->> 'method', '') = '' OR coalesce(e ->> 'path', '') = '';
		c := greatest(coalesce((e ->> 'count')::bigint, 1), 1);
		k := mockarty_private.undefined_clean(e -> 'headers', e -> 'body');
		INSERT INTO mockarty_private.undefined_requests AS u (namespace, method, path, headers, body, count,
			body_truncated, body_size)
		VALUES (coalesce(nullif(e ->> 'namespace', ''), 'sandbox'), upper(e ->> 'method'), e ->> 'path',
			k.headers, k.body, c, k.body_truncated, k.body_size)
		ON CONFLICT (request_key) DO UPDATE
		SET count = u.count + excluded.count, last_seen = now(), headers = excluded.headers,
			body = excluded.body, body_truncated = excluded.body_truncated, body_size = excluded.body_size;
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_record_batch(jsonb) IS 'Records aggregated misses [{"namespace","method","path","headers","body","count"}] (what resolvers report): each adds count occurrences; rows without method or path are skipped; credential headers are redacted and bodies capped (undefined_clean); returns how many rows were recorded';

-- pgcrypto's schema for the integration functions (see "pgcrypto lookup" above).
DO $$
DECLARE
	s text;
	f text;
BEGIN
	SELECT n.nspname INTO s FROM pg_catalog.pg_extension e
	JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
	WHERE e.extname = 'pgcrypto';
	FOREACH f IN ARRAY ARRAY['mockarty.integration_create(text, text, text)', 'mockarty.integration_verify(text)'] LOOP
		EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I', f, s);
	END LOOP;
END
$$;

