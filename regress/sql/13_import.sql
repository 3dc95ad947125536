-- 13_import: smart merge (mockarty.import_mocks). New ids are created, a re-import of the
-- same input writes nothing (no version, no change-log row), a user's edit survives while a
-- field the source changed is refreshed, items gone from the source are reported stale and
-- deleted only with prune, a preview writes nothing, bad input names its path and changes
-- nothing, and the caller rule holds.
CREATE TEMP TABLE gen1 AS SELECT '[
 {"id":"wm-1","http":{"route":"/pets","httpMethod":"GET"},"response":{"statusCode":200,"payload":{"pets":[]}}},
 {"id":"wm-2","http":{"route":"/pets/:id","httpMethod":"GET"},"response":{"statusCode":200,"payload":{"id":1},"headers":{"x-src":["v1"]}}},
 {"id":"wm-3","http":{"route":"/old","httpMethod":"DELETE"},"response":{"statusCode":204}}
]'::jsonb AS m;
SELECT r - 'mocks' AS first_import, r -> 'mocks' AS mocks
FROM (SELECT mockarty.import_mocks((SELECT m FROM gen1), '{"namespace":"imp","source":"wiremock"}') r) s;
SELECT id, version, doc -> 'response' AS response FROM mockarty_private.mocks WHERE namespace = 'imp' ORDER BY id;

-- the same input again: nothing written
CREATE TEMP TABLE h AS SELECT mockarty.head_version() AS v,
	(SELECT count(*) FROM mockarty_private.mock_versions WHERE mock_id LIKE 'wm-%') AS versions;
SELECT r ->> 'message' AS again FROM (SELECT mockarty.import_mocks((SELECT m FROM gen1),
	'{"namespace":"imp","source":"wiremock"}') r) s;
SELECT mockarty.head_version() = (SELECT v FROM h) AS head_unchanged,
	(SELECT count(*) FROM mockarty_private.mock_versions WHERE mock_id LIKE 'wm-%') = (SELECT versions FROM h) AS versions_unchanged;

-- a user edits wm-2: another payload and an added condition
SELECT mockarty.mock_patch('wm-2', '{"response":{"payload":{"id":1,"name":"Rex"}},"http":{"queryParams":[{"path":"debug","assertAction":"empty"}]}}') IS NOT NULL AS user_edit;
-- the source changes wm-2's header and status and wm-1's payload, drops wm-3, adds wm-4
CREATE TEMP TABLE gen2 AS SELECT '[
 {"id":"wm-1","http":{"route":"/pets","httpMethod":"GET"},"response":{"statusCode":200,"payload":{"pets":["cat"]}}},
 {"id":"wm-2","http":{"route":"/pets/:id","httpMethod":"GET"},"response":{"statusCode":201,"payload":{"id":1},"headers":{"x-src":["v2"]}}},
 {"id":"wm-4","http":{"route":"/new","httpMethod":"POST"},"response":{"statusCode":201}}
]'::jsonb AS m;
-- the preview reports and writes nothing
SELECT r - 'mocks' AS preview FROM (SELECT mockarty.import_mocks((SELECT m FROM gen2),
	'{"namespace":"imp","source":"wiremock","dryRun":true,"prune":true}') r) s;
SELECT count(*) AS still_three FROM mockarty_private.mocks WHERE namespace = 'imp' AND closed_at IS NULL;
SELECT r - 'mocks' AS second_import, r -> 'mocks' AS mocks FROM (SELECT mockarty.import_mocks((SELECT m FROM gen2),
	'{"namespace":"imp","source":"wiremock"}') r) s;
SELECT id, version, closed_at IS NOT NULL AS deleted, doc FROM mockarty_private.mocks WHERE namespace = 'imp' ORDER BY id;
-- again: unchanged; wm-3 is still stale and kept
SELECT r ->> 'message' AS again2, r -> 'stale' AS stale FROM (SELECT mockarty.import_mocks((SELECT m FROM gen2),
	'{"namespace":"imp","source":"wiremock"}') r) s;
-- prune deletes it
SELECT r ->> 'message' AS pruned FROM (SELECT mockarty.import_mocks((SELECT m FROM gen2),
	'{"namespace":"imp","source":"wiremock","prune":true}') r) s;
SELECT id, closed_at IS NOT NULL AS deleted FROM mockarty_private.mocks WHERE namespace = 'imp' ORDER BY id;
SELECT r ->> 'message' AS after_prune FROM (SELECT mockarty.import_mocks((SELECT m FROM gen2),
	'{"namespace":"imp","source":"wiremock","prune":true}') r) s;
-- another source in the same namespace does not see these as its own
SELECT r ->> 'message' AS other_source FROM (SELECT mockarty.import_mocks('[]',
	'{"namespace":"imp","source":"har:capture1"}') r) s;

-- bad input: the path is named and nothing changes
CREATE TEMP TABLE h2 AS SELECT mockarty.head_version() AS v;
SELECT try($$SELECT mockarty.import_mocks('{"a":1}', '{"source":"x"}')$$);
SELECT try($$SELECT mockarty.import_mocks('[]', '{"namespace":"imp"}')$$);
SELECT try($$SELECT mockarty.import_mocks('[]', '{"source":"x","prune":"yes"}')$$);
SELECT try($$SELECT mockarty.import_mocks('[]', '{"source":"x","namespace":"Bad NS"}')$$);
SELECT try($$SELECT mockarty.import_mocks('[{"id":"n1","http":{"route":"/a"}},{"http":{"route":"/b"}}]', '{"source":"x","namespace":"imp"}')$$);
SELECT try($$SELECT mockarty.import_mocks('[{"id":"n1","http":{"route":"/a"}},{"id":"n1","http":{"route":"/b"}}]', '{"source":"x","namespace":"imp"}')$$);
SELECT try($$SELECT mockarty.import_mocks('[{"id":"n1","http":{"route":"/a"}},{"id":"n2","http":{"route":"no-slash"}}]', '{"source":"x","namespace":"imp"}')$$);
SELECT try($$SELECT mockarty.import_mocks('[{"id":"wm-1","http":{"route":"/a"}}]', '{"source":"x","namespace":"imp-other"}')$$);
SELECT mockarty.head_version() = (SELECT v FROM h2) AS nothing_changed,
	NOT EXISTS (SELECT 1 FROM mockarty_private.mocks WHERE id = 'n1') AS no_n1,
	NOT EXISTS (SELECT 1 FROM mockarty_private.namespaces WHERE name = 'imp-other') AS no_other_ns;

-- three-way merge per path
SELECT mockarty_private.json_merge3('{"a":1,"b":{"c":1,"d":1}}', '{"a":2,"b":{"c":1,"d":1},"u":1}', '{"a":1,"b":{"c":5},"g":1}') AS merged;

-- the caller rule: a viewer cannot import (not even preview), a bound caller only into its namespace
SELECT set_config('mockarty.caller_role', 'viewer', false) IS NOT NULL AS viewer;
SELECT try($$SELECT mockarty.import_mocks('[]', '{"source":"x","namespace":"imp","dryRun":true}')$$);
SELECT set_config('mockarty.caller_role', 'editor', false) IS NOT NULL AS editor;
SELECT set_config('mockarty.caller_namespace', 'team-b', false) IS NOT NULL AS bound;
SELECT try($$SELECT mockarty.import_mocks('[]', '{"source":"x","namespace":"imp"}')$$);
SELECT try($$SELECT mockarty.import_mocks('[{"id":"wm-1","http":{"route":"/x"}}]', '{"source":"wiremock"}')$$);
SELECT r ->> 'namespace' AS bound_ns, r ->> 'message' AS msg FROM (SELECT mockarty.import_mocks(
	'[{"id":"tb-1","http":{"route":"/x"}}]', '{"source":"wiremock"}') r) s;
SELECT set_config('mockarty.caller_namespace', '', false) IS NOT NULL AS unbound;
SELECT set_config('mockarty.caller_role', '', false) IS NOT NULL AS unrestricted;
SELECT id, namespace FROM mockarty_private.mocks WHERE id IN ('tb-1', 'wm-1') ORDER BY id;
-- purging a mock forgets its import state
SELECT mockarty.mock_purge('tb-1') AS purged;
SELECT NOT EXISTS (SELECT 1 FROM mockarty_private.import_state WHERE mock_id = 'tb-1') AS state_gone;

-- WireMock, Mockoon and HAR documents through core's importers and the smart merge
SELECT r ->> 'message' AS wiremock, r ->> 'source' AS source, jsonb_array_length(r -> 'warnings') > 0 AS warned
FROM (SELECT mockarty.import_wiremock('{"mappings":[
  {"id":"a1","request":{"method":"GET","urlPath":"/wm/pets"},"response":{"status":200,"jsonBody":{"ok":true}}},
  {"id":"a2","scenarioName":"s","request":{"method":"POST","url":"/wm/pets"},"response":{"status":201}}]}',
  '{"namespace":"imp2"}') r) s;
SELECT doc FROM mockarty_private.mocks WHERE namespace = 'imp2' AND doc #>> '{http,route}' LIKE '/wm/%' ORDER BY doc #>> '{http,httpMethod}';
SELECT r ->> 'message' AS wiremock_again, r -> 'warnings' AS warnings FROM (SELECT mockarty.import_wiremock('{"mappings":[
  {"id":"a1","request":{"method":"GET","urlPath":"/wm/pets"},"response":{"status":200,"jsonBody":{"ok":true}}},
  {"id":"a2","scenarioName":"s","request":{"method":"POST","url":"/wm/pets"},"response":{"status":201}}]}',
  '{"namespace":"imp2"}') r) s;
SELECT r ->> 'message' AS mockoon, r ->> 'source' AS source FROM (SELECT mockarty.import_mockoon('{"name":"shop","routes":[
  {"method":"get","endpoint":"mo/users/:id","responses":[{"uuid":"u1","default":true,"statusCode":200,"body":"{}"}]}]}',
  '{"namespace":"imp2","dryRun":true}') r) s;
SELECT r ->> 'message' AS har, r -> 'mocks' -> 0 ->> 'route' AS route FROM (SELECT mockarty.import_har('{"log":{"entries":[
  {"request":{"method":"GET","url":"http://x/h/a?q=1"},"response":{"status":200,"headers":[],"content":{"text":"one"}}},
  {"request":{"method":"GET","url":"http://x/h/a?q=1"},"response":{"status":200,"headers":[],"content":{"text":"two"}}}]}}',
  '{"namespace":"imp2","source":"har:t1"}') r) s;
SELECT doc -> 'response' AS har_response FROM mockarty_private.mocks WHERE doc #>> '{http,route}' = '/h/a';
SELECT try($$SELECT mockarty.import_har('{"log":{"entries":7}}', '{"namespace":"imp2"}')$$);
SELECT try($$SELECT mockarty.import_wiremock('[1,2]', '{"namespace":"imp2"}')$$);
SELECT try($$SELECT mockarty.import_mockoon('{"routes":[]}', '{"namespace":"imp2","prune":1}')$$);

-- the WireMock admin surface: mappings kept as given, ids assigned, the same mock as an import
SELECT r -> 'mappings' -> 0 ->> 'id' AS given_id, r #>> '{report,message}' AS msg FROM (SELECT mockarty.wiremock_mappings_save(
	'{"id":"11111111-2222-3333-4444-555555555555","request":{"method":"GET","url":"/wmadmin"},"response":{"status":200,"body":"hi"}}', 'imp3') r) s;
SELECT length(r -> 'mappings' -> 0 ->> 'id') AS assigned_id_length FROM (SELECT mockarty.wiremock_mappings_save(
	'{"mappings":[{"request":{"method":"GET","url":"/wmadmin2"},"response":{"status":204}}]}', 'imp3') r) s;
SELECT (mockarty.wiremock_mappings_list('imp3') -> 'meta') AS meta,
	mockarty.wiremock_mappings_list('imp3') -> 'mappings' -> 0 AS first;
SELECT mockarty.wiremock_mapping_get('11111111-2222-3333-4444-555555555555', 'imp3') ->> 'id' AS got,
	mockarty.wiremock_mapping_get('11111111-2222-3333-4444-555555555555', 'imp2') IS NULL AS other_ns_unknown;
SELECT r ->> 'message' AS same_mock_via_import FROM (SELECT mockarty.import_wiremock(
	'{"mappings":[{"id":"11111111-2222-3333-4444-555555555555","request":{"method":"GET","url":"/wmadmin"},"response":{"status":200,"body":"hi"}}]}',
	'{"namespace":"imp3"}') r) s;
SELECT mockarty.wiremock_mappings_delete('11111111-2222-3333-4444-555555555555', 'imp3') AS deleted_one;
SELECT mockarty.wiremock_mappings_list('imp3') -> 'meta' AS meta_after_delete;
SELECT mockarty.wiremock_mappings_delete(NULL, 'imp3') AS reset;
SELECT count(*) AS mocks_left FROM mockarty_private.mocks WHERE namespace = 'imp3';
SELECT try($$SELECT mockarty.wiremock_mappings_save('{"mappings":5}', 'imp3')$$);
