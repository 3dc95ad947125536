-- 11_authz: the caller rule. A caller bound to a namespace (setting
-- mockarty.caller_namespace) never reaches outside it: ids of other namespaces read as
-- unknown and are left untouched, writes into other namespaces raise 42501, no namespace
-- is created. mockarty.caller_role: viewers cannot write, editors cannot manage tokens or
-- integrations. Unset = unrestricted. Every exploit is checked afterwards as unrestricted.
SELECT mockarty.namespace_create('team-a');
SELECT mockarty.namespace_create('prod');
SELECT mockarty.mock_save('{"id":"victim","chainId":"c1","http":{"route":"/pay"},"response":{"payload":"secret"}}', 'prod') IS NOT NULL AS victim;
SELECT mockarty.mock_save('{"id":"victim","chainId":"c1","http":{"route":"/pay"},"response":{"payload":"secret2"}}', 'prod') IS NOT NULL AS victim_v2;
SELECT mockarty.mock_save('{"id":"mine","chainId":"c1","http":{"route":"/mine"},"response":{"payload":"a"}}', 'team-a') IS NOT NULL AS mine;
SELECT mockarty.store_global_set('prod', 'k', '"prod-value"');
CREATE TEMP TABLE before AS
SELECT (SELECT jsonb_agg(to_jsonb(m) - 'updated_at' ORDER BY id) FROM mockarty_private.mocks m) AS mocks,
       (SELECT count(*) FROM mockarty_private.mock_versions) AS versions,
       (SELECT array_agg(name ORDER BY name) FROM mockarty_private.namespaces) AS namespaces;
CREATE TEMP TABLE ptok AS SELECT mockarty.token_create('prod-ci', 'admin', 'prod') AS t;
CREATE TEMP TABLE atok AS SELECT mockarty.token_create('a-ci', 'admin', 'team-a') AS t;
CREATE TEMP TABLE pint AS SELECT mockarty.integration_create('prod-resolver', 'mock_resolver', 'prod') AS t;
CREATE TEMP TABLE uint AS SELECT mockarty.integration_create('any-resolver', 'mock_resolver') AS t;

-- act as a token bound to team-a
SELECT set_config('mockarty.caller_namespace', 'team-a', false) IS NOT NULL AS bound;

-- saving with the id of another namespace's mock: not found, never moved
SELECT try($$SELECT mockarty.mock_save('{"id":"victim","http":{"route":"/pay"},"response":{"payload":"pwned"}}')$$);
SELECT try($$SELECT mockarty.mock_save('{"id":"victim","http":{"route":"/pay"},"response":{"payload":"pwned"}}', 'team-a')$$);
SELECT try($$SELECT mockarty.mock_batch_save('[{"id":"victim","namespace":"team-a","http":{"route":"/pay"}}]')$$);
-- patching: another namespace's id is unknown; "namespace" cannot leave team-a or create one
SELECT try($$SELECT mockarty.mock_patch('victim', '{"response":{"payload":"pwned"}}')$$);
SELECT try($$SELECT mockarty.mock_patch('mine', '{"namespace":"prod"}')$$);
SELECT try($$SELECT mockarty.mock_patch('mine', '{"namespace":"brand-new"}')$$);
SELECT try($$SELECT mockarty.namespace_create('brand-new')$$);
SELECT try($$SELECT mockarty.mock_save('{"id":"plant","http":{"route":"/p"}}', 'prod')$$);
SELECT try($$SELECT mockarty.mock_copy_to_namespace(ARRAY['mine'], 'prod')$$);
-- versions and restore of another namespace's mock
SELECT try($$SELECT mockarty.mock_version_restore('victim', 1)$$);
SELECT mockarty.mock_versions('victim') AS versions, mockarty.mock_version('victim', 1) AS version_1;
-- reads: unknown
SELECT mockarty.mock_get('victim') IS NULL AS get_hidden,
       mockarty.store_mock_get('victim') IS NULL AS store_hidden,
       (SELECT array_agg(e->>'id') FROM jsonb_array_elements(mockarty.mock_list()->'items') e) AS listed,
       (SELECT array_agg(e->>'id') FROM jsonb_array_elements(mockarty.mock_chain('c1')) e) AS chain;
SELECT array_agg(n) AS namespaces_seen FROM mockarty.namespace_list() n;
SELECT try($$SELECT mockarty.mock_list('prod')$$);
SELECT try($$SELECT mockarty.mock_logs('victim')$$);
SELECT try($$SELECT mockarty.store_global_get('prod')$$);
SELECT try($$SELECT mockarty.store_global_set('prod', 'k', '"pwned"')$$);
SELECT try($$SELECT mockarty.store_global_delete('prod', 'k')$$);
SELECT try($$SELECT mockarty.tag_create('prod', 't')$$);
SELECT try($$SELECT mockarty.folder_save('{"name":"f","namespace":"prod"}')$$);
SELECT try($$SELECT mockarty.undefined_list('prod')$$);
-- deletes and batch operations: nothing happens to another namespace's mock
SELECT mockarty.mock_delete('victim') AS deleted, mockarty.mock_purge('victim') AS purged,
       mockarty.mock_batch_delete(ARRAY['victim']) AS batch_deleted,
       mockarty.mock_batch_purge(ARRAY['victim']) AS batch_purged,
       mockarty.mock_batch_tags(ARRAY['victim'], ARRAY['x']) AS tagged,
       mockarty.mock_batch_move(ARRAY['victim'], NULL) AS moved,
       mockarty.mock_chain_delete('c1') AS chain_deleted,
       mockarty.mock_logs_clear('victim') AS logs_cleared,
       mockarty.mock_copy_to_namespace(ARRAY['victim'], 'team-a') AS copies;
SELECT try($$SELECT mockarty.mock_restore('victim')$$);
-- tokens: only team-a's are seen and managed; none unbound or for another namespace is minted
SELECT (SELECT array_agg(e->>'name' ORDER BY e->>'name') FROM jsonb_array_elements(mockarty.token_list()) e) AS tokens;
SELECT mockarty.token_create('minted', 'admin')->'token_info'->>'namespace' AS minted_ns;
SELECT try($$SELECT mockarty.token_create('up', 'admin', 'prod')$$);
SELECT mockarty.token_delete((SELECT t->'token_info'->>'id' FROM ptok)) AS deleted_other;
SELECT regexp_replace(try(format('SELECT mockarty.token_set_enabled(%L, false)', (SELECT t->'token_info'->>'id' FROM ptok))), '"[^"]+"', '<id>') AS disable_other;
-- integrations: same
SELECT (SELECT array_agg(e->>'name') FROM jsonb_array_elements(mockarty.integration_list()) e) AS integrations;
SELECT mockarty.integration_create('a-resolver', 'mock_resolver')->'integration'->>'namespace' AS minted_int_ns;
SELECT try($$SELECT mockarty.integration_create('x', 'mock_resolver', 'prod')$$);
SELECT mockarty.integration_get((SELECT t->'integration'->>'id' FROM uint)) IS NULL AS unbound_hidden,
       mockarty.integration_delete((SELECT t->'integration'->>'id' FROM pint)) AS deleted_other_int;
SELECT regexp_replace(try(format('SELECT mockarty.integration_set_enabled(%L, false)', (SELECT t->'integration'->>'id' FROM pint))), '"[^"]+"', '<id>') AS disable_other_int;
-- inside team-a everything works
SELECT mockarty.mock_patch('mine', '{"response":{"payload":"b"}}')->>'namespace' AS patched_ns;

SELECT mockarty.mock_restore('mine')->>'closedAt' IS NULL AS mine_live_again;

-- roles: a viewer reads only, an editor cannot manage tokens or integrations
SELECT set_config('mockarty.caller_role', 'viewer', false) IS NOT NULL AS viewer;
SELECT mockarty.mock_get('mine')->>'id' AS viewer_reads;
SELECT try($$SELECT mockarty.mock_save('{"id":"v","http":{"route":"/v"}}')$$);
SELECT try($$SELECT mockarty.mock_delete('mine')$$);
SELECT try($$SELECT mockarty.store_global_set('team-a', 'k', '1')$$);
SELECT set_config('mockarty.caller_role', 'editor', false) IS NOT NULL AS editor;
SELECT mockarty.mock_patch('mine', '{"response":{"payload":"c"}}')->>'id' AS editor_writes;
SELECT try($$SELECT mockarty.token_list()$$);
SELECT try($$SELECT mockarty.token_create('e', 'admin')$$);
SELECT try($$SELECT mockarty.integration_list()$$);
SELECT try($$SELECT mockarty.integration_create('e', 'mock_resolver')$$);
SELECT set_config('mockarty.caller_role', 'root', false) IS NOT NULL AS bad_role;
SELECT try($$SELECT mockarty.mock_get('mine')$$);
SELECT try($$SELECT mockarty.mock_delete('mine')$$);

-- unrestricted again: nothing of prod changed, no namespace was created
SELECT set_config('mockarty.caller_role', '', false) = '' AND set_config('mockarty.caller_namespace', '', false) = '' AS unrestricted;
SELECT (SELECT jsonb_agg(to_jsonb(m) - 'updated_at' ORDER BY id) FROM mockarty_private.mocks m WHERE id = 'victim')
         = (SELECT jsonb_agg(e) FROM before, jsonb_array_elements(before.mocks) e WHERE e->>'id' = 'victim') AS victim_unchanged,
       mockarty.mock_get('victim')->>'namespace' AS victim_ns,
       mockarty.mock_get('victim')#>>'{response,payload}' AS victim_payload,
       (SELECT count(*) FROM mockarty_private.mock_versions WHERE mock_id = 'victim') AS victim_versions,
       (SELECT array_agg(name ORDER BY name) FROM mockarty_private.namespaces) = (SELECT namespaces FROM before) AS no_new_namespace,
       mockarty.store_global_get('prod') AS prod_store;
SELECT (SELECT array_agg(e->>'name' || ':' || coalesce(e->>'namespace', '-') || ':' || (e->>'enabled'))
        FROM jsonb_array_elements(mockarty.token_list()) e
        WHERE e->>'name' IN ('prod-ci', 'a-ci', 'minted', 'up', 'e')) AS all_tokens;
SELECT (SELECT array_agg(e->>'name' || ':' || coalesce(e->>'namespace', '-') || ':' || (e->>'enabled'))
        FROM jsonb_array_elements(mockarty.integration_list()) e
        WHERE e->>'name' IN ('prod-resolver', 'any-resolver', 'a-resolver', 'x', 'e')) AS all_integrations;

-- restoring an old version never moves a mock back to the namespace it had then
SELECT mockarty.mock_save('{"id":"wander","http":{"route":"/w"}}', 'team-a')->'mock'->>'namespace' AS v1_ns;
SELECT mockarty.mock_save('{"id":"wander","http":{"route":"/w"}}', 'prod')->'mock'->>'namespace' AS v2_ns;
SELECT mockarty.mock_version_restore('wander', 1)->>'namespace' AS restored_ns;

-- collections, environments, runs, tasks and webhooks follow the same rule
CREATE TEMP TABLE pcol AS SELECT mockarty.collection_create('prod', 'prod-suite', '{"info":{"name":"s"},"item":[]}') AS c;
CREATE TEMP TABLE penv AS SELECT mockarty.environment_create('prod', 'prod-env', '{"k":"v"}') AS e;
CREATE TEMP TABLE ptask AS SELECT mockarty.task_enqueue('api_test', 'prod', '{}') AS t;
CREATE TEMP TABLE phook AS SELECT mockarty.webhook_create('{"url":"http://127.0.0.1:9/h","events":["mock.created"]}', 'prod') AS w;
SELECT set_config('mockarty.caller_namespace', 'team-a', false) IS NOT NULL AS bound_again;
SELECT mockarty.collection_get((SELECT (c->>'id')::uuid FROM pcol)) IS NULL AS col_hidden,
       mockarty.collection_delete((SELECT (c->>'id')::uuid FROM pcol)) AS col_deleted,
       mockarty.environment_get((SELECT (e->>'id')::uuid FROM penv)) IS NULL AS env_hidden,
       mockarty.environment_delete((SELECT (e->>'id')::uuid FROM penv)) AS env_deleted,
       mockarty.task_get((SELECT (t->>'id')::uuid FROM ptask)) IS NULL AS task_hidden,
       mockarty.task_cancel((SELECT (t->>'id')::uuid FROM ptask)) IS NULL AS task_not_cancelled,
       mockarty.test_run_list() AS runs,
       mockarty.webhook_get((SELECT (w->>'id')::uuid FROM phook)) IS NULL AS hook_hidden,
       mockarty.webhook_delete((SELECT (w->>'id')::uuid FROM phook)) AS hook_deleted,
       mockarty.webhook_list() AS hooks;
SELECT regexp_replace(try(format('SELECT mockarty.collection_update(%L, ''{"name":"pwned"}'')', (SELECT c->>'id' FROM pcol))), '"[^"]+"', '<id>') AS col_update;
SELECT regexp_replace(try(format('SELECT mockarty.test_run_start(%L)', (SELECT c->>'id' FROM pcol))), '"[^"]+"', '<id>') AS run_start;
SELECT try($$SELECT mockarty.collection_list('prod')$$);
SELECT try($$SELECT mockarty.collection_create('prod', 'x', '{"item":[]}')$$);
SELECT try($$SELECT mockarty.environment_list('prod')$$);
-- lists refuse another namespace even when it holds nothing
SELECT try($$SELECT mockarty.test_run_list('prod')$$);
SELECT try($$SELECT mockarty.folder_list('prod')$$);
SELECT try($$SELECT mockarty.tag_list('prod')$$);
SELECT try($$SELECT mockarty.task_enqueue('api_test', 'prod', '{}')$$);
SELECT try($$SELECT mockarty.webhook_create('{"url":"http://127.0.0.1:9/h","events":["mock.created"]}', 'prod')$$);
SELECT mockarty.webhook_create('{"url":"http://127.0.0.1:9/a","events":["mock.created"]}')->>'namespace' AS own_hook_ns;
SELECT set_config('mockarty.caller_role', 'editor', false) IS NOT NULL AS editor_again;
SELECT try($$SELECT mockarty.webhook_create('{"url":"http://127.0.0.1:9/e","events":["mock.created"]}')$$);
SELECT set_config('mockarty.caller_role', '', false) = '' AND set_config('mockarty.caller_namespace', '', false) = '' AS unrestricted_again;
SELECT (SELECT name FROM mockarty_private.collections WHERE id = (SELECT (c->>'id')::uuid FROM pcol)) AS col_name,
       (SELECT count(*) FROM mockarty_private.environments WHERE namespace = 'prod') AS prod_envs,
       (SELECT status FROM mockarty_private.tasks WHERE id = (SELECT (t->>'id')::uuid FROM ptask)) AS prod_task,
       (SELECT count(*) FROM mockarty_private.tasks WHERE namespace = 'prod') AS prod_tasks,
       (SELECT string_agg(coalesce(namespace, '-'), ',' ORDER BY namespace) FROM mockarty_private.webhooks) AS hook_namespaces;

-- what a resolver's Report may enqueue: mocks of the namespaces it was sent, callbacks to the
-- stored destination only, with the stored method and retries
SELECT mockarty.mock_save('{"id":"cbm","http":{"route":"/cbm"},"webhooks":[{"url":"http://hooks.example:8080/in/$.pathParam.id","method":"PUT","retryCount":2,"timeout":500}]}', 'team-a') IS NOT NULL AS cb_mock;
SELECT jsonb_pretty(mockarty.node_report_callbacks('[
  {"mockId":"cbm","namespace":"prod","url":"http://hooks.example:8080/in/7","method":"DELETE","retryCount":20,"timeoutMs":999999},
  {"mockId":"cbm","url":"http://evil.example/in/7"},
  {"mockId":"victim","url":"http://hooks.example:8080/in/7"},
  {"mockId":"nope","url":"http://hooks.example:8080/in/7"},
  "junk"]', ARRAY['team-a'])) AS callbacks;
SELECT mockarty.node_report_events('[{"mockId":"victim","namespace":"team-a"},{"mockId":"cbm","namespace":"prod","path":"/cbm"},42]',
       ARRAY['team-a']) AS events,
       mockarty.node_report_events('[{"mockId":"cbm"}]', '{}') AS none_sent;

-- node-wide operations (settings, users) need an admin not bound to a namespace, as over REST
SELECT set_config('mockarty.caller_namespace', 'team-a', false) IS NOT NULL AS bound_admin;
SELECT try($$SELECT mockarty.setting_set('webhook_timeout_ms', '1000')$$);
SELECT try($$SELECT mockarty.user_create('mallory', NULL, 'admin')$$);
SELECT try($$SELECT mockarty.user_list()$$);
SELECT set_config('mockarty.caller_namespace', '', false) = '' AND set_config('mockarty.caller_role', 'editor', false) = 'editor' AS unbound_editor;
SELECT try($$SELECT mockarty.setting_set('webhook_timeout_ms', '1000')$$);
SELECT try($$SELECT mockarty.user_create('mallory', NULL, 'admin')$$);
SELECT try($$SELECT mockarty.user_list()$$);
SELECT set_config('mockarty.caller_role', 'viewer', false) = 'viewer' AS unbound_viewer;
SELECT try($$SELECT mockarty.setting_set('webhook_timeout_ms', NULL)$$);
SELECT set_config('mockarty.caller_role', 'admin', false) = 'admin' AS unbound_admin;
SELECT mockarty.setting_set('webhook_timeout_ms', '2000') AS admin_sets;
SELECT mockarty.setting_set('webhook_timeout_ms', NULL) AS admin_resets;
SELECT jsonb_array_length(mockarty.user_list()) >= 0 AS admin_lists;
SELECT set_config('mockarty.caller_role', '', false) = '' AS unrestricted_last;
SELECT (SELECT count(*) FROM mockarty_private.settings WHERE key = 'webhook_timeout_ms') AS timeout_rows,
       (SELECT count(*) FROM mockarty_private.users WHERE login = 'mallory') AS mallory_rows;
