-- 03_tokens: users and API tokens (bcrypt via pgcrypto, shown once).
SELECT u - 'id' - 'createdAt' AS u FROM mockarty.user_create('alice', 's3cret', 'editor') u;
SELECT try($$SELECT mockarty.user_create('alice', 'x')$$);
SELECT try($$SELECT mockarty.user_create('bob', 'x', 'root')$$);
SELECT mockarty.user_verify('alice', 's3cret')->>'login' AS ok, mockarty.user_verify('alice', 'wrong') IS NULL AS bad;
SELECT (SELECT password_hash FROM mockarty_private.users WHERE login = 'alice') LIKE '$2a$10$%' AS bcrypt_cost_10;

CREATE TEMP TABLE tok AS SELECT mockarty.token_create('ci', 'alice', 'qa') AS t;
SELECT t->>'token' ~ '^mk_[0-9a-f]{12}_[0-9a-f]{48}$' AS token_format,
       t->'token_info'->>'id' = substr(t->>'token', 4, 12) AS lookup_id_is_id,
       (t->'token_info') - 'id'::text - 'createdAt'::text - 'prefix'::text AS info
FROM tok;
-- the secret is never stored or listed
SELECT position((SELECT t->>'token' FROM tok) IN mockarty.token_list()::text) = 0 AS list_hides_token,
       position(substr((SELECT t->>'token' FROM tok), 17) IN (SELECT row_to_json(a)::text FROM mockarty_private.api_tokens a)) = 0 AS table_hides_secret;
SELECT jsonb_array_length(mockarty.token_list()) AS tokens;

SELECT mockarty.token_verify((SELECT t->>'token' FROM tok)) - 'id'::text AS verified;
SELECT mockarty.token_verify((SELECT t->>'token' FROM tok) || '0') IS NULL AS wrong_secret,
       mockarty.token_verify('mk_000000000000_abc') IS NULL AS unknown_lookup,
       mockarty.token_verify('garbage') IS NULL AS garbage,
       mockarty.token_verify(NULL) IS NULL AS null_token;

-- the lookup id is the primary key: verification is one index probe
EXPLAIN (COSTS OFF) SELECT 1 FROM mockarty_private.api_tokens WHERE id = 'abcdefabcdef';

SELECT mockarty.token_set_enabled((SELECT t->'token_info'->>'id' FROM tok), false)->'enabled' AS enabled;
SELECT mockarty.token_verify((SELECT t->>'token' FROM tok)) IS NULL AS disabled_rejected;
SELECT mockarty.token_set_enabled((SELECT t->'token_info'->>'id' FROM tok), true)->'enabled' AS enabled;
SELECT mockarty.token_verify((SELECT t->>'token' FROM tok)) IS NOT NULL AS reenabled_ok;
SELECT mockarty.token_delete((SELECT t->'token_info'->>'id' FROM tok)) AS deleted,
       mockarty.token_delete((SELECT t->'token_info'->>'id' FROM tok)) AS again;
SELECT mockarty.token_verify((SELECT t->>'token' FROM tok)) IS NULL AS deleted_rejected;
SELECT try($$SELECT mockarty.token_set_enabled('nope', true)$$);
SELECT try($$SELECT mockarty.token_create('x', 'nobody')$$);

-- the default owner 'admin' is created on first use, without a password
SELECT mockarty.token_create('default')->'token_info'->>'user' AS owner;
SELECT u->>'login' AS login FROM jsonb_array_elements(mockarty.user_list()) u;
