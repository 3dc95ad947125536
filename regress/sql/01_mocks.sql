-- 01_mocks: the mock CRUD API.
\set m1 '{"id":"user-get","http":{"route":"/api/users/:id","httpMethod":"GET"},"response":{"statusCode":200,"payload":{"id":"$.pathParam.id"}},"tags":["users","v1"],"priority":5}'

-- upsert: first save creates, second overwrites
SELECT r->'overwritten' AS overwritten, strip(r->'mock') AS mock FROM mockarty.mock_save(:'m1') r;
SELECT r->'overwritten' AS overwritten FROM mockarty.mock_save(:'m1') r;

-- server fields: top level and _meta, Unix seconds
SELECT (m->>'createdAt')::bigint > 1600000000 AS created_is_unix,
       m->'createdAt' = m->'_meta'->'createdAt' AS meta_mirrors,
       m->'useCounter' AS use_counter, m ? 'closedAt' AS has_closed
FROM mockarty.mock_get('user-get') m;

-- generated id and namespace from the document
SELECT length(r#>>'{mock,id}') = 36 AS generated_uuid, r#>>'{mock,namespace}' AS ns
FROM mockarty.mock_save('{"namespace":"qa","http":{"route":"/x"},"response":{"statusCode":204}}') r;
SELECT mockarty.mock_save('{"id":"order-create","http":{"route":"/api/orders","httpMethod":"POST"},"response":{"statusCode":201},"tags":["orders"]}', 'qa') IS NOT NULL AS saved;

SELECT mockarty.mock_get('nope') IS NULL AS unknown_is_null;

-- list, search, tags filter, paging
SELECT r->'total' AS total, r->'hasMore' AS has_more,
       (SELECT jsonb_agg(i->'id') FROM jsonb_array_elements(r->'items') i) AS ids
FROM mockarty.mock_list('sandbox') r;
SELECT (SELECT jsonb_agg(i->'id') FROM jsonb_array_elements(r->'items') i) AS ids
FROM mockarty.mock_list(NULL, tags => ARRAY['orders']) r;
SELECT (SELECT jsonb_agg(i->'id') FROM jsonb_array_elements(r->'items') i) AS ids
FROM mockarty.mock_list(NULL, search => 'USERS') r;
SELECT r->'total' AS total, r->'hasMore' AS has_more, jsonb_array_length(r->'items') AS page
FROM mockarty.mock_list(NULL, off => 0, lim => 1) r;
SELECT mockarty.tag_list();

-- patch (RFC 7386): change a field, remove another, keep the rest
SELECT strip(mockarty.mock_patch('user-get', '{"priority":9,"tags":null,"response":{"delay":10}}'));
SELECT try($$SELECT mockarty.mock_patch('nope', '{}')$$);

-- validation errors name the path and store nothing
SELECT mockarty.validate_mock('{"http":{"route":"/a"},"response":{"statusCode":200}}') AS valid_is_null;
SELECT try($$SELECT mockarty.mock_save('{"id":"bad","http":{"route":"/a","conditions":[{"path":"$.a","assertAction":"bogus"}]}}')$$);
SELECT try($$SELECT mockarty.mock_save('{"id":"bad2","http":{"route":"/a"},"grpc":{"service":"x"}}')$$);
SELECT mockarty.mock_get('bad') IS NULL AS bad_not_stored, mockarty.mock_get('bad2') IS NULL AS bad2_not_stored;
SELECT try($$SELECT mockarty.mock_patch('user-get', '{"priority":"high"}')$$);
SELECT try($$SELECT mockarty.mock_save('[1]')$$);
DO $$
DECLARE
	det text;
BEGIN
	PERFORM mockarty.mock_save('{"id":"bad3","http":{"route":5}}');
EXCEPTION WHEN invalid_parameter_value THEN
	GET STACKED DIAGNOSTICS det = PG_EXCEPTION_DETAIL;
	RAISE NOTICE 'caught 22023 with DETAIL %', det;
END $$;
-- what a psql user sees: message, DETAIL = JSON path, HINT
\set SHOW_CONTEXT never
SELECT mockarty.mock_save('{"id":"bad4","http":{"route":"/a","httpMethod":7}}');
\set VERBOSITY sqlstate
SELECT mockarty.mock_save('{"id":"bad4","http":{"route":"/a","httpMethod":7}}');
\set VERBOSITY default
\set SHOW_CONTEXT errors

-- soft delete, restore, purge
SELECT mockarty.mock_delete('order-create') AS deleted, mockarty.mock_delete('order-create') AS again;
SELECT mockarty.mock_get('order-create') ? 'closedAt' AS has_closed,
       mockarty.mock_get('order-create', false) IS NULL AS hidden,
       (mockarty.mock_list('qa')->'total')::int AS live_in_qa,
       (mockarty.mock_list('qa', include_deleted => true)->'total')::int AS all_in_qa;
SELECT mockarty.mock_restore('order-create') ? 'closedAt' AS still_closed;
SELECT try($$SELECT mockarty.mock_restore('nope')$$);
SELECT mockarty.mock_purge('order-create') AS purged;
SELECT mockarty.mock_get('order-create') IS NULL AS gone, mockarty.mock_purge('order-create') AS again;

-- versions and restore of an old version
SELECT jsonb_agg(v->'version') AS versions, jsonb_agg(v->'priority') AS priorities
FROM jsonb_array_elements(mockarty.mock_versions('user-get')) v;
SELECT mockarty.mock_version('user-get', 1)->'priority' AS v1_priority, mockarty.mock_version('user-get', 99) IS NULL AS unknown;
SELECT strip(mockarty.mock_version_restore('user-get', 1))->'priority' AS restored_priority;
SELECT jsonb_array_length(mockarty.mock_versions('user-get')) AS version_count;

-- batch operations
SELECT r->'created' AS created, jsonb_array_length(r->'mocks') AS n
FROM mockarty.mock_batch_save('[{"id":"b1","http":{"route":"/b1"},"response":{"statusCode":200}},{"id":"b2","http":{"route":"/b2"},"response":{"statusCode":200}},{"id":"user-get","http":{"route":"/api/users/:id","httpMethod":"GET"},"response":{"statusCode":200}}]') r;
SELECT try($$SELECT mockarty.mock_batch_save('[{"id":"b3","http":{"route":"/b3"}},{"id":"b4","http":{"route":"/b4","conditions":"x"}}]')$$);
SELECT mockarty.mock_get('b3') IS NULL AS batch_all_or_nothing;
SELECT mockarty.folder_save('{"id":"f1","name":"Users"}')->>'name' AS folder;
SELECT mockarty.mock_batch_move(ARRAY['b1','b2','missing'], 'f1') AS moved;
SELECT mockarty.mock_get('b1')->>'folderId' AS folder_id;
SELECT (f->'mockCount')::int AS mock_count FROM jsonb_array_elements(mockarty.folder_list()) f WHERE f->>'id' = 'f1';
SELECT mockarty.mock_batch_move(ARRAY['b1'], NULL) AS unmoved;
SELECT mockarty.mock_get('b1') ? 'folderId' AS has_folder;
SELECT mockarty.mock_batch_tags(ARRAY['b1','b2'], ARRAY['batch']) AS tagged;
SELECT mockarty.mock_get('b2')->'tags' AS tags;
SELECT mockarty.mock_batch_delete(ARRAY['b1','b2']) AS deleted, mockarty.mock_batch_restore(ARRAY['b1']) AS restored;
SELECT mockarty.mock_batch_purge(ARRAY['b2','b2','nope']) AS purged;

-- copy to another namespace
SELECT jsonb_agg(c->'id') AS ids, jsonb_agg(c->'namespace') AS namespaces
FROM jsonb_array_elements(mockarty.mock_copy_to_namespace(ARRAY['user-get','b1'], 'staging')) c;
SELECT jsonb_agg(c->'id') AS second_copy
FROM jsonb_array_elements(mockarty.mock_copy_to_namespace(ARRAY['b1'], 'staging')) c;

-- chains
SELECT mockarty.mock_save('{"id":"c1","chainId":"flow","http":{"route":"/c1"},"response":{"statusCode":200}}') IS NOT NULL,
       mockarty.mock_save('{"id":"c2","chainId":"flow","http":{"route":"/c2"},"response":{"statusCode":200}}') IS NOT NULL;
SELECT jsonb_agg(c->'id') AS chain FROM jsonb_array_elements(mockarty.mock_chain('flow')) c;
SELECT mockarty.mock_chain_delete('flow') AS deleted;
SELECT jsonb_array_length(mockarty.mock_chain('flow')) AS left;

-- ttl -> expireAt = save time + ttl
SELECT (m->>'expireAt')::bigint - (m->>'createdAt')::bigint AS ttl_window, m->'_meta' ? 'expireAt' AS in_meta
FROM (SELECT mockarty.mock_save('{"id":"ttl","ttl":3600,"http":{"route":"/ttl"},"response":{"statusCode":200}}')->'mock' AS m) s;

-- folders
SELECT mockarty.folder_save('{"id":"f2","name":"Child","parentId":"f1"}')->>'parentId' AS parent;
SELECT try($$SELECT mockarty.folder_move('f1', 'f2')$$);
SELECT mockarty.folder_move('f2', NULL)->'parentId' AS parent_after_move;
SELECT mockarty.folder_delete('f1') AS deleted, mockarty.folder_delete('f1') AS again;
SELECT mockarty.tag_create('sandbox', 'registered');
SELECT mockarty.tag_list('sandbox');
