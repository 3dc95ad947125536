-- 02_stores_logs_undefined: stores, bounded request logs, undefined requests.
SELECT mockarty.store_global_set('sandbox', 'app.version', '"1.2"');
SELECT mockarty.store_global_set('sandbox', 'counter', '41');
SELECT mockarty.store_global_set('sandbox', 'counter', '42');
SELECT mockarty.store_global_get('sandbox');
SELECT mockarty.store_global_delete('sandbox', 'app.version') AS deleted, mockarty.store_global_delete('sandbox', 'app.version') AS again;
SELECT mockarty.store_global_get('sandbox'), mockarty.store_global_get('qa') AS empty;

SELECT mockarty.store_chain_set('sandbox', 'order-flow', 'orderStatus', '"pending"');
SELECT mockarty.store_chain_get('sandbox', 'order-flow'), mockarty.store_chain_get('sandbox', 'other') AS other;
SELECT mockarty.store_chain_delete('sandbox', 'order-flow', 'orderStatus') AS deleted;

SELECT mockarty.mock_save('{"id":"logged","http":{"route":"/logged"},"response":{"statusCode":200},"mStore":{"lang":"en"}}') IS NOT NULL AS saved;
SELECT mockarty.store_mock_get('logged'), mockarty.store_mock_get('nope') IS NULL AS unknown_null;

-- logs keep the last mockarty.log_limit (3) per mock, newest first
SELECT mockarty.log_request('logged', jsonb_build_object('n', g), '{"statusCode":200}') FROM generate_series(1, 5) g;
SELECT l->'total' AS total, (SELECT jsonb_agg(x->'req'->'n') FROM jsonb_array_elements(l->'logs') x) AS kept,
       l->'logs' = l->'requests' AS both_keys
FROM mockarty.mock_logs('logged') l;
SET mockarty.log_limit = 1;
SELECT mockarty.log_request('logged', '{"n":6}', '{}');
SELECT (SELECT jsonb_agg(x->'req'->'n') FROM jsonb_array_elements(l->'logs') x) AS kept FROM mockarty.mock_logs('logged') l;
RESET mockarty.log_limit;
SELECT mockarty.log_requests('[{"mockId":"logged","req":{"n":7},"response":{},"calledAt":"2024-01-01T00:00:00Z"},{"mockId":"logged","req":{"n":8},"response":{},"calledAt":1700000000}]') AS batch;
SELECT (SELECT jsonb_agg(x->'calledAt' ORDER BY x->'req'->'n') FROM jsonb_array_elements(l->'logs') x WHERE x->'req'->>'n' IN ('7', '8')) AS called,
       l->'total' AS total
FROM mockarty.mock_logs('logged') l;
SELECT try($$SELECT mockarty.log_request('nope', '{}', '{}')$$);
SELECT try($$SELECT mockarty.mock_logs('nope')$$);
SELECT mockarty.mock_logs_clear('logged') AS cleared;
SELECT mockarty.mock_logs('logged')->'total' AS total;

-- undefined requests dedup on namespace+method+path
SELECT mockarty.undefined_record('sandbox', 'get', '/missing', '{"accept":"*/*"}', NULL);
SELECT mockarty.undefined_record('sandbox', 'GET', '/missing', '{}', '{"a":1}');
SELECT mockarty.undefined_record('qa', 'POST', '/other', '{}', NULL);
SELECT u->'method' AS method, u->'path' AS path, u->'count' AS count, u->'hitCount' AS hits, u->'body' AS body,
       u->'ignored' AS ignored, (u->>'lastSeen')::bigint >= (u->>'firstSeen')::bigint AS seen_order, u->'protocol' AS protocol
FROM jsonb_array_elements(mockarty.undefined_list('sandbox')) u;
SELECT jsonb_array_length(mockarty.undefined_list()) AS all_ns;
SELECT mockarty.undefined_ignore((SELECT min(id) FROM mockarty_private.undefined_requests)) AS ignored;
SELECT u->'ignored' AS ignored FROM jsonb_array_elements(mockarty.undefined_list('sandbox')) u;
SELECT strip(m) - 'id' AS stub FROM mockarty.undefined_create_mock((SELECT min(id) FROM mockarty_private.undefined_requests)) m;
SELECT jsonb_array_length(mockarty.undefined_list('sandbox')) AS left_in_sandbox;
SELECT mockarty.undefined_record('sandbox', 'GET', '/again', '{}', NULL);
SELECT mockarty.undefined_delete(ARRAY(SELECT id FROM mockarty_private.undefined_requests WHERE path = '/again')) AS deleted;
SELECT mockarty.undefined_delete_all() AS deleted_all;
SELECT mockarty.undefined_list() AS empty;
