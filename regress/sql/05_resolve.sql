-- 05_resolve: mockarty.resolve() over core, with its side effects.
SELECT mockarty.mock_batch_save($$[
 {"id":"r-user","http":{"route":"/api/users/:id","httpMethod":"GET"},
  "response":{"statusCode":200,"headers":{"Content-Type":["application/json"]},"payload":{"id":"$.pathParam.id","fmt":"$.queryParam.format"}}},
 {"id":"r-user-vip","priority":10,"http":{"route":"/api/users/:id","httpMethod":"GET",
  "header":[{"path":"X-Tier","assertAction":"equals","value":"vip"}]},
  "response":{"statusCode":200,"payload":{"vip":true}}},
 {"id":"r-order","http":{"route":"/api/orders","httpMethod":"POST",
  "conditions":[{"path":"$.type","assertAction":"equals","value":"premium"}]},
  "response":{"statusCode":201,"payload":{"kind":"premium","total":"$.req.total"}}},
 {"id":"r-seq","http":{"route":"/seq","httpMethod":"GET"},
  "oneOf":{"order":"order","responses":[{"statusCode":200,"payload":1},{"statusCode":200,"payload":2},{"statusCode":500,"payload":3}]}},
 {"id":"r-limited","useLimiter":2,"http":{"route":"/limited","httpMethod":"GET"},"response":{"statusCode":200,"payload":"ok"}},
 {"id":"r-extract","chainId":"flow","http":{"route":"/extract","httpMethod":"POST"},
  "extract":{"cStore":{"orderId":"$.req.id"},"gStore":{"hits":"$.increment($.gS.hits)"},"mStore":{"last":"$.req.id"}},
  "response":{"statusCode":200,"payload":{"order":"$.cS.orderId","hits":"$.gS.hits"}}},
 {"id":"r-fake","http":{"route":"/fake","httpMethod":"GET"},"response":{"statusCode":200,"payload":{"uuid":"$.fake.UUID","n":"$.fake.FirstName"}}}
]$$)->'created' AS created;

-- path params, query params, response headers
SELECT mockarty.resolve('sandbox', 'GET', '/api/users/42', 'format=full') - 'delay' AS r;
SELECT mockarty.resolve('sandbox', 'get', '/api/users/42?format=short')->'payload' AS query_in_path;
-- header condition + priority: the vip mock wins only with the header
SELECT mockarty.resolve('sandbox', 'GET', '/api/users/1', '', '{"X-Tier":"vip"}')->'mockId' AS with_header,
       mockarty.resolve('sandbox', 'GET', '/api/users/1', '', '{"x-tier":["basic"]}')->'mockId' AS other_header;
-- body condition
SELECT mockarty.resolve('sandbox', 'POST', '/api/orders', '', '{}', '{"type":"premium","total":99.5}')->'payload' AS premium,
       mockarty.resolve('sandbox', 'POST', '/api/orders', '', '{}', '{"type":"basic"}') IS NULL AS basic_misses;
SELECT try($$SELECT mockarty.resolve('sandbox', 'GET', '/x', '', '[1]')$$);

-- oneOf in order, wrapping around; the cursor lives in the row
SELECT string_agg(mockarty.resolve('sandbox', 'GET', '/seq')->>'payload', ',' ORDER BY g) AS sequence
FROM generate_series(1, 4) g;
SELECT oneof_cursor FROM mockarty_private.mocks WHERE id = 'r-seq';

-- useLimiter 2: two matches, then the mock stops matching
SELECT g, mockarty.resolve('sandbox', 'GET', '/limited')->'payload' AS payload FROM generate_series(1, 3) g;
SELECT mockarty.mock_get('r-limited')->'useCounter' AS use_counter, mockarty.mock_get('r-limited') ? 'lastUse' AS has_last_use;

-- extract writes the chain, global and mock stores before rendering
SELECT mockarty.resolve('sandbox', 'POST', '/extract', '', '{}', '{"id":"o-1"}')->'payload' AS first,
       mockarty.resolve('sandbox', 'POST', '/extract', '', '{}', '{"id":"o-2"}')->'payload' AS second;
SELECT mockarty.store_chain_get('sandbox', 'flow') AS chain, mockarty.store_global_get('sandbox')->'hits' AS hits,
       mockarty.store_mock_get('r-extract') AS mock_store;

-- each match is logged (bounded), with request and response
SELECT l->'total' AS total, l->'logs'->0->'req'->'method' AS method, l->'logs'->0->'response'->'statusCode' AS status
FROM mockarty.mock_logs('r-user') l;

-- a miss returns NULL and is recorded as an undefined request
SELECT mockarty.undefined_delete_all() >= 0 AS cleared;
SELECT mockarty.resolve('sandbox', 'DELETE', '/nowhere', '', '{"a":"b"}', '{"x":1}') IS NULL AS miss;
SELECT mockarty.resolve('sandbox', 'DELETE', '/nowhere', '', '{}', 'plain text') IS NULL AS miss_again;
SELECT u->'method' AS method, u->'path' AS path, u->'count' AS count, u->'body' AS body
FROM jsonb_array_elements(mockarty.undefined_list('sandbox')) u;
SELECT mockarty.resolve('qa', 'GET', '/api/users/1') IS NULL AS other_namespace_misses;

-- the per-backend index follows the change log: delete, restore, edit
SELECT mockarty.mock_delete('r-fake');
SELECT mockarty.resolve('sandbox', 'GET', '/fake') IS NULL AS deleted_misses;
SELECT mockarty.mock_restore('r-fake') IS NOT NULL AS restored;
SELECT mockarty.resolve('sandbox', 'GET', '/fake', seed => 1) IS NOT NULL AS restored_matches;
SELECT mockarty.mock_patch('r-limited', '{"http":{"route":"/limited2"}}') IS NOT NULL AS patched;
SELECT mockarty.resolve('sandbox', 'GET', '/limited') IS NULL AS old_route_misses;
-- a rolled-back save is forgotten
BEGIN;
SELECT mockarty.mock_save('{"id":"r-tmp","http":{"route":"/tmp"},"response":{"statusCode":200}}') IS NOT NULL;
SELECT mockarty.resolve('sandbox', 'GET', '/tmp')->'mockId' AS inside_tx;
ROLLBACK;
SELECT mockarty.mock_save('{"id":"r-other","http":{"route":"/other"},"response":{"statusCode":200}}') IS NOT NULL;
SELECT mockarty.resolve('sandbox', 'GET', '/tmp') IS NULL AS rolled_back_misses,
       mockarty.resolve('sandbox', 'GET', '/other')->'mockId' AS same_version_number_new_mock;

-- an expired mock does not match
UPDATE mockarty_private.mocks SET expire_at = now() - interval '1 second' WHERE id = 'r-user-vip';
SELECT mockarty.resolve('sandbox', 'GET', '/api/users/1', '', '{"X-Tier":"vip"}')->'mockId' AS expired_falls_through;

-- a seed makes faker output reproducible
SELECT mockarty.resolve('sandbox', 'GET', '/fake', seed => 42) = mockarty.resolve('sandbox', 'GET', '/fake', seed => 42) AS same_seed_same_output,
       mockarty.resolve('sandbox', 'GET', '/fake', seed => 42) <> mockarty.resolve('sandbox', 'GET', '/fake', seed => 43) AS other_seed_differs,
       mockarty.resolve('sandbox', 'GET', '/fake')->'payload'->>'uuid' ~ '^[0-9a-f-]{36}$' AS unseeded_uuid;

-- the template output budget of one resolution: mockarty.template_output_limit (SQLSTATE MK001)
SELECT mockarty.mock_save('{"id":"r-copies","http":{"route":"/copies","httpMethod":"POST"},"response":{"payload":["$.req","$.req","$.req"]}}') IS NOT NULL AS saved;
SHOW mockarty.template_output_limit;
SET mockarty.template_output_limit = '64kB';
SELECT jsonb_array_length(mockarty.resolve('sandbox', 'POST', '/copies', '', '{}', repeat('c', 20000))->'payload') AS three_copies_fit;
SELECT try($$SELECT mockarty.resolve('sandbox', 'POST', '/copies', '', '{}', repeat('c', 30000))$$) AS three_copies_too_many;
-- the static part of a response must fit at save (validate_mock, hence every save)
SELECT mockarty.validate_mock(jsonb_build_object('http', '{"route":"/big"}'::jsonb, 'response', jsonb_build_object('payload', repeat('s', 70000))));
SELECT mockarty.validate_mock(jsonb_build_object('http', '{"route":"/big"}'::jsonb, 'response', jsonb_build_object('payload', repeat('s', 60000)))) IS NULL AS fits;
SET mockarty.template_output_limit = '10';
RESET mockarty.template_output_limit;
-- and per mock: at most 10000 template expressions
SELECT mockarty.validate_mock(jsonb_build_object('http', '{"route":"/many"}'::jsonb, 'response', jsonb_build_object('payload', (SELECT jsonb_agg('$.fake.UUID'::text) FROM generate_series(1, 10001)))));

-- gRPC mocks (protocol 'grpc'): keyed by /<service>/<method>, conditions on the message,
-- meta on the metadata, a use limit kept exact; HTTP traffic never reaches them
SELECT mockarty.mock_batch_save($$[
 {"id":"g-item","grpc":{"service":"shop.v1.Shop","method":"GetItem","methodType":"unary"},"response":{"payload":{"name":"any"}}},
 {"id":"g-item-42","grpc":{"service":"shop.v1.Shop","method":"GetItem","conditions":[{"path":"$.req.id","assertAction":"equals","value":"42"}]},"response":{"payload":{"name":"item $.req.id"}}},
 {"id":"g-item-vip","priority":5,"grpc":{"service":"shop.v1.Shop","method":"GetItem","meta":[{"path":"x-tier","assertAction":"equals","value":"vip"}]},"response":{"payload":{"name":"vip"}}},
 {"id":"g-once","grpc":{"service":"shop.v1.Shop","method":"Buy","methodType":"unary"},"useLimiter":1,"response":{"payload":{"ok":true}}}
]$$::jsonb) IS NOT NULL AS saved_grpc;
SELECT mockarty.resolve('sandbox', 'unary', '/shop.v1.Shop/GetItem', '', '{}', '{"id":"42"}', protocol => 'grpc')->'payload' AS by_message,
       mockarty.resolve('sandbox', 'unary', '/shop.v1.Shop/GetItem', '', '{"X-Tier":"vip"}', '{"id":"42"}', protocol => 'grpc')->>'mockId' AS by_meta,
       mockarty.resolve('sandbox', 'unary', '/shop.v1.Shop/GetItem', '', '{}', '{"id":"7"}', protocol => 'grpc')->>'mockId' AS fallback;
SELECT mockarty.resolve('sandbox', 'POST', '/shop.v1.Shop/GetItem', '', '{}', '{"id":"42"}') IS NULL AS http_never_matches_grpc;
SELECT mockarty.resolve('sandbox', 'unary', '/shop.v1.Shop/Buy', '', '{}', '{}', protocol => 'grpc')->>'mockId' AS first_buy;
SELECT mockarty.resolve('sandbox', 'unary', '/shop.v1.Shop/Buy', '', '{}', '{}', protocol => 'grpc') IS NULL AS second_buy_used_up;
SELECT count(*) AS grpc_miss_recorded FROM jsonb_array_elements(mockarty.undefined_list('sandbox')) u WHERE u->>'path' = '/shop.v1.Shop/Nope';
SELECT mockarty.resolve('sandbox', 'unary', '/shop.v1.Shop/Nope', '', '{}', '{}', protocol => 'grpc') IS NULL AS grpc_miss;
SELECT count(*) AS grpc_miss_recorded FROM jsonb_array_elements(mockarty.undefined_list('sandbox')) u WHERE u->>'path' = '/shop.v1.Shop/Nope';
SELECT try($$SELECT mockarty.resolve('sandbox', 'GET', '/x', protocol => 'mqtt')$$) AS unknown_protocol;
