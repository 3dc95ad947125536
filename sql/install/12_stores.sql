-- 12_stores.sql - global and chain stores.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

------------------------------------------------------------------------------
-- Stores
------------------------------------------------------------------------------

CREATE FUNCTION mockarty.store_global_get(namespace text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM mockarty_private.global_store g
	WHERE g.namespace = coalesce(mockarty_private.ns_scope(store_global_get.namespace), 'sandbox')
$$;
COMMENT ON FUNCTION mockarty.store_global_get(text) IS 'The global store of a namespace as one object (a bound caller: its own, another raises 42501)';

CREATE FUNCTION mockarty.store_global_set(namespace text, key text, value jsonb) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.namespace_ensure(coalesce(namespace, 'sandbox'));
	INSERT INTO mockarty_private.global_store AS g (namespace, key, value)
	VALUES (coalesce(namespace, 'sandbox'), key, coalesce(value, 'null'))
	ON CONFLICT ON CONSTRAINT global_store_pkey DO UPDATE SET value = excluded.value;
END
$$;
COMMENT ON FUNCTION mockarty.store_global_set(text, text, jsonb) IS 'Sets one key of a namespace global store (keys may contain dots)';

CREATE FUNCTION mockarty.store_global_delete(namespace text, key text) RETURNS boolean
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.global_store g
	           WHERE g.namespace = coalesce(mockarty_private.ns_scope(store_global_delete.namespace), 'sandbox')
	             AND g.key = store_global_delete.key
	           RETURNING 1)
	SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION mockarty.store_global_delete(text, text) IS 'Deletes one key of a global store; false when absent; 42501 for a namespace other than a bound caller''s';

CREATE FUNCTION mockarty.store_chain_get(namespace text, chain_id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM mockarty_private.chain_store c
	WHERE c.namespace = coalesce(mockarty_private.ns_scope(store_chain_get.namespace), 'sandbox')
	  AND c.chain_id = store_chain_get.chain_id
$$;
COMMENT ON FUNCTION mockarty.store_chain_get(text, text) IS 'The chain store of a chainId in a namespace as one object (a bound caller: its own, another raises 42501)';

CREATE FUNCTION mockarty.store_chain_set(namespace text, chain_id text, key text, value jsonb) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.namespace_ensure(coalesce(namespace, 'sandbox'));
	INSERT INTO mockarty_private.chain_store AS c (namespace, chain_id, key, value)
	VALUES (coalesce(namespace, 'sandbox'), chain_id, key, coalesce(value, 'null'))
	ON CONFLICT ON CONSTRAINT chain_store_pkey DO UPDATE SET value = excluded.value;
END
$$;
COMMENT ON FUNCTION mockarty.store_chain_set(text, text, text, jsonb) IS 'Sets one key of a chain store';

CREATE FUNCTION mockarty.store_chain_delete(namespace text, chain_id text, key text) RETURNS boolean
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.chain_store c
	           WHERE c.namespace = coalesce(mockarty_private.ns_scope(store_chain_delete.namespace), 'sandbox')
	             AND c.chain_id = store_chain_delete.chain_id AND c.key = store_chain_delete.key
	           RETURNING 1)
	SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION mockarty.store_chain_delete(text, text, text) IS 'Deletes one key of a chain store; false when absent; 42501 for a namespace other than a bound caller''s';

CREATE FUNCTION mockarty.store_mock_get(mock_id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT s.data FROM mockarty_private.mock_store s JOIN mockarty_private.mocks m ON m.id = s.mock_id
	WHERE s.mock_id = store_mock_get.mock_id AND mockarty_private.ns_visible(m.namespace)
$$;
COMMENT ON FUNCTION mockarty.store_mock_get(text) IS 'The mock store of a mock, NULL when the mock is unknown (or of another namespace than the caller''s)';

CREATE FUNCTION mockarty_private.store_replace_global(p_namespace text, p_data jsonb) RETURNS void
LANGUAGE sql
AS $$
	DELETE FROM mockarty_private.global_store g WHERE g.namespace = p_namespace AND NOT (p_data ? g.key);
	INSERT INTO mockarty_private.global_store AS g (namespace, key, value)
	SELECT p_namespace, e.key, e.value FROM jsonb_each(p_data) e
	ON CONFLICT ON CONSTRAINT global_store_pkey DO UPDATE SET value = excluded.value
	WHERE g.value IS DISTINCT FROM excluded.value;
$$;
COMMENT ON FUNCTION mockarty_private.store_replace_global(text, jsonb) IS 'Makes the global store of a namespace equal to an object (used by resolve)';

CREATE FUNCTION mockarty_private.store_replace_chain(p_namespace text, p_chain_id text, p_data jsonb) RETURNS void
LANGUAGE sql
AS $$
	DELETE FROM mockarty_private.chain_store c
	WHERE c.namespace = p_namespace AND c.chain_id = p_chain_id AND NOT (p_data ? c.key);
	INSERT INTO mockarty_private.chain_store AS c (namespace, chain_id, key, value)
	SELECT p_namespace, p_chain_id, e.key, e.value FROM jsonb_each(p_data) e
	ON CONFLICT ON CONSTRAINT chain_store_pkey DO UPDATE SET value = excluded.value
	WHERE c.value IS DISTINCT FROM excluded.value;
$$;
COMMENT ON FUNCTION mockarty_private.store_replace_chain(text, text, jsonb) IS 'Makes a chain store equal to an object (used by resolve)';

