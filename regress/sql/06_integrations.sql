-- 06_integrations: integration (mki_) tokens: created with a type, shown once, bcrypt via
-- pgcrypto behind a lookup id, verified with their type, revoked with NOTIFY; aggregated
-- misses reported by resolvers.
CREATE TEMP TABLE itok AS SELECT mockarty.integration_create('resolver-prod-1', 'mock_resolver') AS t;
SELECT t->>'token' ~ '^mki_[0-9a-f]{12}_[0-9a-f]{48}$' AS token_format,
       t->'integration'->>'id' ~ '^[0-9a-f-]{36}$' AS id_is_uuid,
       t->'integration'->>'createdAt' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$' AS created_rfc3339,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(t->'integration') k) AS keys,
       (t->'integration') - 'id' - 'createdAt' AS integration
FROM itok;
SELECT try($$SELECT mockarty.integration_create('', 'mock_resolver')$$);
SELECT try($$SELECT mockarty.integration_create('x', 'admin')$$);
SELECT try($$SELECT mockarty.integration_create('x', NULL)$$);
CREATE TEMP TABLE rtok AS SELECT mockarty.integration_create('runner-ci', 'test_runner') AS t;

-- the token is never stored or listed; only its bcrypt hash (cost 10) is kept
SELECT position((SELECT t->>'token' FROM itok) IN mockarty.integration_list()::text) = 0 AS list_hides_token,
       position(substr((SELECT t->>'token' FROM itok), 18) IN
                (SELECT string_agg(row_to_json(i)::text, '') FROM mockarty_private.integrations i)) = 0 AS table_hides_secret,
       (SELECT bool_and(secret_hash LIKE '$2a$10$%') FROM mockarty_private.integrations) AS bcrypt_cost_10;
SELECT e->>'name' AS name, e->>'type' AS type, e->'enabled' AS enabled, e->'lastUsedAt' AS last_used
FROM jsonb_array_elements(mockarty.integration_list()) e;

-- verification: type comes back, last_used_at is stamped; anything else is NULL
SELECT mockarty.integration_verify((SELECT t->>'token' FROM itok)) - 'id' AS verified,
       mockarty.integration_verify((SELECT t->>'token' FROM itok))->>'id' = (SELECT t->'integration'->>'id' FROM itok) AS same_id;
SELECT mockarty.integration_verify((SELECT t->>'token' FROM rtok))->>'type' AS runner_type;
SELECT (SELECT last_used_at IS NOT NULL FROM mockarty_private.integrations WHERE name = 'resolver-prod-1') AS stamped;
SELECT mockarty.integration_verify((SELECT t->>'token' FROM itok) || '0') IS NULL AS wrong_secret,
       mockarty.integration_verify('mki_000000000000_abcdef') IS NULL AS unknown_lookup,
       mockarty.integration_verify('mk_' || substr((SELECT t->>'token' FROM itok), 5)) IS NULL AS user_prefix,
       mockarty.integration_verify('garbage') IS NULL AS garbage,
       mockarty.integration_verify(NULL) IS NULL AS null_token;
-- a user API token is not an integration token and vice versa
SELECT mockarty.token_verify((SELECT t->>'token' FROM itok)) IS NULL AS not_a_user_token;

-- the lookup id is unique-indexed: verification is one index probe
EXPLAIN (COSTS OFF) SELECT 1 FROM mockarty_private.integrations WHERE lookup_id = 'abcdefabcdef';

-- disable / enable / delete (the NOTIFY on revocation is shown end to end in regress/e2e/coordinator.test.mjs)
SELECT mockarty.integration_set_enabled((SELECT t->'integration'->>'id' FROM itok), false)->'enabled' AS enabled;
SELECT mockarty.integration_verify((SELECT t->>'token' FROM itok)) IS NULL AS disabled_rejected;
SELECT mockarty.integration_set_enabled((SELECT t->'integration'->>'id' FROM itok), true)->'enabled' AS enabled;
SELECT mockarty.integration_verify((SELECT t->>'token' FROM itok)) IS NOT NULL AS reenabled_ok;
SELECT mockarty.integration_delete((SELECT t->'integration'->>'id' FROM itok)) AS deleted,
       mockarty.integration_delete((SELECT t->'integration'->>'id' FROM itok)) AS again;
SELECT mockarty.integration_verify((SELECT t->>'token' FROM itok)) IS NULL AS deleted_rejected;
SELECT try($$SELECT mockarty.integration_set_enabled('00000000-0000-0000-0000-000000000000', false)$$);
SELECT try($$SELECT mockarty.integration_set_enabled('not-a-uuid', false)$$);
SELECT mockarty.integration_delete('not-a-uuid') AS malformed_delete;
SELECT mockarty.integration_get((SELECT t->'integration'->>'id' FROM rtok))->>'name' AS got,
       mockarty.integration_get('nope') IS NULL AS unknown_get;

-- aggregated misses, as resolvers report them
SELECT mockarty.undefined_record_batch('[{"namespace":"sandbox","method":"get","path":"/rb","count":3},
  {"method":"GET","path":"/rb","count":2,"headers":{"a":"b"}},
  {"method":"","path":"/skipped"}]') AS recorded;
SELECT u->>'method' AS method, u->>'path' AS path, u->'count' AS count
FROM jsonb_array_elements(mockarty.undefined_list('sandbox')) u WHERE u->>'path' = '/rb';
SELECT try($$SELECT mockarty.undefined_record_batch('{}')$$);
