-- 08_collections: API-test collections (Postman v2.1 kept as given), environments,
-- test runs and perf runs, which are api_test / performance tasks seen through the
-- SDKs' TestRun and PerfRun shapes. A runner is played with the task_* functions.
-- try() (00_install_upgrade) with generated ids masked
CREATE OR REPLACE FUNCTION public.tryu(sql text) RETURNS text
LANGUAGE sql AS $$
	SELECT regexp_replace(try(sql), '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g')
$$;
CREATE FUNCTION public.stable(j jsonb) RETURNS jsonb
LANGUAGE sql AS $$
	SELECT j - ARRAY['id', 'createdAt', 'updatedAt', 'startedAt', 'completedAt', 'collectionId', 'environmentId']
$$;

-- collections
SELECT mockarty.collection_create('apitest', 'Users API', $${"info":{"name":"users","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
 "item":[{"name":"users","item":[{"name":"list","request":{"method":"GET","url":"{{base}}/users"}},
                                  {"name":"nested","item":[{"name":"get","request":"{{base}}/users/1"}]}]},
         {"name":"health","request":{"method":"GET","url":"{{base}}/health"},"event":[{"listen":"test","script":{"exec":["pm.test('ok', () => pm.response.to.have.status(200));"]}}]}],
 "variable":[{"key":"base","value":"http://127.0.0.1:1"}]}$$, 'smoke tests', '{"team":"core"}') ->> 'id' AS c1 \gset
SELECT stable(mockarty.collection_get(:'c1')) - 'collection' AS collection,
       mockarty.collection_get(:'c1') -> 'collection' -> 'variable' AS kept_as_given;
SELECT mockarty.collection_create('apitest', NULL, '{"info":{"name":"From info"},"item":[]}') ->> 'id' AS c2 \gset
SELECT mockarty.collection_get(:'c2') ->> 'name' AS name_from_info, mockarty.collection_get(:'c2') -> 'requestCount' AS requests;
SELECT tryu($$SELECT mockarty.collection_create('apitest', 'x', '[]')$$);
SELECT tryu($$SELECT mockarty.collection_create('apitest', 'x', '{"info":{}}')$$);
SELECT tryu($$SELECT mockarty.collection_create('apitest', 'x', '{"item":{}}')$$);
SELECT tryu($$SELECT mockarty.collection_create('apitest', NULL, '{"item":[]}')$$);
SELECT tryu($$SELECT mockarty.collection_create('apitest', 'x', '{"item":[]}', NULL, '[]')$$);
SELECT tryu($$SELECT mockarty.collection_create('Bad', 'x', '{"item":[]}')$$);
SELECT tryu(format('SELECT mockarty.collection_create(%L, %L, %L, NULL, %L, %L)', 'apitest', 'dup', '{"item":[]}', '{}', :'c1'));
SELECT jsonb_agg(c ->> 'name') AS names, bool_or(c ? 'collection') AS lists_documents
FROM jsonb_array_elements(mockarty.collection_list('apitest')) c;
SELECT jsonb_array_length(mockarty.collection_list('nowhere')) AS other_namespace;
SELECT t ->> 'name' AS name, t ->> 'description' AS description, t -> 'requestCount' AS requests, t -> 'metadata' AS metadata
FROM mockarty.collection_update(:'c2', '{"name":"Renamed","description":null,"metadata":{"a":1},"collection":{"item":[{"request":{}},{"request":{}}]},"id":"ignored"}') t;
SELECT tryu(format('SELECT mockarty.collection_update(%L, %L)', :'c2', '{"collection":{"item":"x"}}'));
SELECT tryu(format('SELECT mockarty.collection_update(%L, %L)', :'c2', '{"name":""}'));
SELECT tryu($$SELECT mockarty.collection_update('00000000-0000-0000-0000-000000000000', '{}')$$);
SELECT mockarty.collection_delete(:'c2') AS deleted;
SELECT mockarty.collection_delete(:'c2') AS again, mockarty.collection_get(:'c2') IS NULL AS gone;

-- environments: {k:v} or the Postman array (disabled entries dropped, values as given)
SELECT mockarty.environment_create('apitest', 'local', '{"base":"http://127.0.0.1:9","n":1}') ->> 'id' AS e1 \gset
SELECT mockarty.environment_create('apitest', 'postman',
	'[{"key":"base","value":"http://x"},{"key":"token","value":"t","enabled":false},{"key":"n","value":2,"type":"default","enabled":true}]') ->> 'id' AS e2 \gset
SELECT stable(mockarty.environment_get(:'e1')) AS e1, stable(mockarty.environment_get(:'e2')) AS e2;
SELECT mockarty.environment_create('apitest', 'export',
	'{"name":"export","values":[{"key":"k","value":"v","enabled":true}],"_postman_variable_scope":"environment"}') -> 'variables' AS export_form;
SELECT tryu($$SELECT mockarty.environment_create('apitest', 'bad', '[{"key":"a","value":1},{"value":2}]')$$);
SELECT tryu($$SELECT mockarty.environment_create('apitest', 'bad', '"x"')$$);
SELECT tryu($$SELECT mockarty.environment_create('apitest', '', '{}')$$);
SELECT mockarty.environment_create('other', 'elsewhere', NULL) ->> 'id' AS e3 \gset
-- one active environment per namespace
SELECT mockarty.environment_active('apitest') IS NULL AS none_active;
SELECT mockarty.environment_activate(:'e1') -> 'isActive' AS e1_active;
SELECT mockarty.environment_activate(:'e2') -> 'isActive' AS e2_active;
SELECT mockarty.environment_get(:'e1') -> 'isActive' AS e1_active,
       mockarty.environment_active('apitest') ->> 'name' AS active;
SELECT t ->> 'name' AS name, t -> 'variables' AS variables, t -> 'isActive' AS active
FROM mockarty.environment_update(:'e1', '{"name":"local2","variables":[{"key":"base","value":"http://127.0.0.1:8"}],"isActive":true}') t;
SELECT mockarty.environment_active('apitest') ->> 'name' AS active_now;
SELECT tryu(format('SELECT mockarty.environment_update(%L, %L)', :'e1', '{"variables":5}'));
SELECT jsonb_agg(e ->> 'name') AS apitest_envs FROM jsonb_array_elements(mockarty.environment_list('apitest')) e;
SELECT mockarty.environment_update(:'e1', '{"isActive":false}') -> 'isActive' AS deactivated;
SELECT mockarty.environment_active('apitest') IS NULL AS none_active;
SELECT mockarty.environment_activate(:'e1') -> 'isActive' AS reactivated;

-- test runs: the payload is a snapshot of collection and environment at start
SELECT mockarty.test_run_start(:'c1', :'e2', '{"timeout":"5s"}') AS run \gset
SELECT stable(:'run'::jsonb) AS test_run;
SELECT (t -> 'payload') - ARRAY['collection', 'collectionId', 'environmentId'] AS payload,
       t #>> '{payload,collectionId}' = :'c1' AND t #>> '{payload,environmentId}' = :'e2' AS payload_ids,
       t #> '{payload,collection,info,name}' AS doc,
       t ->> 'namespace' AS ns, t ->> 'collectionId' = :'c1' AS collection_ref,
       t ->> 'environmentId' = :'e2' AS environment_ref
FROM mockarty.task_get(((:'run'::jsonb) ->> 'id')::uuid, true) t;
-- no environment given: the namespace's active one
SELECT mockarty.test_run_start(:'c1') ->> 'id' AS run2 \gset
SELECT (mockarty.task_get(:'run2', true) -> 'payload') - ARRAY['collection', 'collectionId', 'environmentId'] AS with_active,
       mockarty.task_get(:'run2', true) #>> '{payload,environmentId}' = :'e1' AS active_env_id;
SELECT tryu(format('SELECT mockarty.test_run_start(%L)', gen_random_uuid()));
SELECT tryu(format('SELECT mockarty.test_run_start(%L, %L)', :'c1', :'e3'));
SELECT tryu(format('SELECT mockarty.test_run_start(%L, %L)', :'c1', gen_random_uuid()));
SELECT tryu(format('SELECT mockarty.test_run_start(%L, NULL, %L)', :'c1', '[]'));

-- a runner takes both runs: one passes, one fails
CREATE FUNCTION public.play(p_status text, p_result jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	acc jsonb := mockarty.task_accept('rr', 'runner-x', 'apitest', false, '{api_test,performance}', 10, 60000);
BEGIN
	PERFORM mockarty.task_start((acc #>> '{task,id}')::uuid, (acc #>> '{task,leaseId}')::uuid);
	PERFORM mockarty.task_complete((acc #>> '{task,id}')::uuid, (acc #>> '{task,leaseId}')::uuid, p_status, p_result);
	RETURN acc #>> '{task,id}';
END $$;
SELECT play('completed', '{"totalTests":2,"passedTests":2,"failedTests":0,"skippedTests":0,"durationMs":45000,
  "results":[{"name":"list","status":200,"assertions":[{"name":"ok","passed":true,"skipped":false}]}],"environment":{}}') AS r1 \gset
SELECT play('completed', '{"totalTests":3,"passedTests":1,"failedTests":1,"skippedTests":1,"durationMs":1234,"results":[]}') AS r2 \gset
SELECT stable(mockarty.test_run_get(:'r1')) AS passed_run;
SELECT t ->> 'status' AS status, t -> 'failedTests' AS failed, t -> 'skippedTests' AS skipped, t -> 'duration' AS duration
FROM mockarty.test_run_get(:'r2') t;
SELECT e #>> '{data,status}' AS status, e #>> '{data,duration}' AS duration, e #>> '{data,collectionId}' = :'c1' AS collection
FROM jsonb_array_elements(mockarty.events_since(0)) e
WHERE e #>> '{data,testRunId}' IN (:'r1', :'r2') ORDER BY e -> 'id';
-- queued -> cancelled; a failed task is an "error" run; a running one shows streamed results
SELECT mockarty.test_run_cancel((mockarty.test_run_start(:'c1') ->> 'id')::uuid) ->> 'status' AS cancelled;
SELECT mockarty.test_run_start(:'c1') IS NOT NULL AS queued;
SELECT play('failed', NULL) AS r3 \gset
SELECT t ->> 'status' AS status, t ->> 'error' AS error FROM mockarty.test_run_get(:'r3') t;
SELECT mockarty.test_run_start(:'c1') ->> 'id' AS r4 \gset
SELECT mockarty.task_accept('rr', 'runner-x', 'apitest', false, '{api_test}', 10, 60000, :'r4') #>> '{task,leaseId}' AS l4 \gset
SELECT mockarty.task_append_results(:'r4', :'l4', '[{"seq":0,"data":{"name":"list","status":200}}]') ->> 'stored' AS stored;
SELECT t ->> 'status' AS status, t -> 'results' AS results, t ->> 'runner' AS runner FROM mockarty.test_run_get(:'r4') t;
SELECT jsonb_agg(t ->> 'status') AS newest_first FROM jsonb_array_elements(mockarty.test_run_list('apitest', :'c1')) t;
SELECT jsonb_array_length(mockarty.test_run_list('apitest', NULL, 2, 0)) AS page,
       mockarty.test_run_get(gen_random_uuid()) IS NULL AS unknown;
SELECT mockarty.test_run_delete(:'r3') AS deleted;
SELECT mockarty.test_run_delete(:'r3') AS again;

-- perf runs: the guide's shape and the SDKs' top-level fields, options normalised
SELECT stable(mockarty.perf_run_start('apitest', jsonb_build_object('script', jsonb_build_object('collectionId', :'c1', 'environmentId', :'e1'),
	'options', jsonb_build_object('duration', '60s', 'concurrency', 10)))) AS guide_shape;
SELECT mockarty.perf_run_start(NULL, jsonb_build_object('name', 'ramp', 'collectionId', :'c1', 'vus', 5, 'duration', '2m',
	'stages', '[{"duration":"10s","target":5},{"duration":"1m30s","target":20},{"duration":500,"target":0}]'::jsonb,
	'thresholds', '{"http_req_duration":["p(95)<500"]}'::jsonb, 'timeout', '1500ms')) AS pr \gset
SELECT (:'pr'::jsonb) -> 'options' AS sdk_options, (:'pr'::jsonb) ->> 'name' AS name, (:'pr'::jsonb) ->> 'status' AS status;
SELECT (t -> 'payload') - 'collection' - 'collectionId' - 'environmentId' AS payload, t -> 'maxAttempts' AS max_attempts
FROM mockarty.task_get(((:'pr'::jsonb) ->> 'id')::uuid, true) t;
SELECT mockarty.perf_run_start('apitest', jsonb_build_object('collectionId', :'c1', 'mode', 'open', 'rate', 200, 'duration', 30000)) -> 'options' AS open_mode;
SELECT tryu(format('SELECT mockarty.perf_run_start(%L, %L)', 'apitest', '{"options":{}}'));
SELECT tryu(format('SELECT mockarty.perf_run_start(%L, %L)', 'apitest', jsonb_build_object('collectionId', :'c1', 'duration', 'soon')));
SELECT tryu(format('SELECT mockarty.perf_run_start(%L, %L)', 'apitest', jsonb_build_object('collectionId', :'c1', 'mode', 'open')));
SELECT tryu(format('SELECT mockarty.perf_run_start(%L, %L)', 'apitest', jsonb_build_object('collectionId', :'c1', 'vus', 0)));
SELECT tryu(format('SELECT mockarty.perf_run_start(%L, %L)', 'apitest', jsonb_build_object('collectionId', :'c1', 'stages', '[{"duration":"1x","target":1}]'::jsonb)));
SELECT tryu(format('SELECT mockarty.perf_run_start(%L, %L)', 'other', jsonb_build_object('collectionId', :'c1')));
SELECT tryu(format('SELECT mockarty.perf_run_start(%L, %L)', 'apitest', jsonb_build_object('script', jsonb_build_object('collectionId', :'c1', 'environmentId', :'e3'))));
-- stop: queued -> stopped at once; running -> the runner is told, then reports
SELECT mockarty.perf_run_stop(((:'pr'::jsonb) ->> 'id')::uuid) ->> 'status' AS stopped_queued;
SELECT mockarty.task_accept('rp', 'runner-p', 'apitest', false, '{performance}', 10, 60000) AS pacc \gset
SELECT mockarty.task_start(((:'pacc'::jsonb) #>> '{task,id}')::uuid, ((:'pacc'::jsonb) #>> '{task,leaseId}')::uuid) ->> 'ok' AS started;
SELECT t ->> 'status' AS status, t ->> 'runner' AS runner FROM mockarty.perf_run_stop(((:'pacc'::jsonb) #>> '{task,id}')::uuid) t;
SELECT mockarty.task_complete(((:'pacc'::jsonb) #>> '{task,id}')::uuid, ((:'pacc'::jsonb) #>> '{task,leaseId}')::uuid, 'cancelled',
	'{"requests":10,"passed":false,"thresholds":[]}') ->> 'stored' AS stored;
SELECT t ->> 'status' AS status, t -> 'passed' AS passed, t -> 'report' -> 'requests' AS requests
FROM mockarty.perf_run_get(((:'pacc'::jsonb) #>> '{task,id}')::uuid) t;
SELECT mockarty.task_accept('rp', 'runner-p', 'apitest', false, '{performance}', 10, 60000) AS pacc2 \gset
SELECT mockarty.task_heartbeat('rp', jsonb_build_array(jsonb_build_object('taskId', (:'pacc2'::jsonb) #>> '{task,id}',
	'leaseId', (:'pacc2'::jsonb) #>> '{task,leaseId}', 'progress', '{"percent":50,"rps":100}'::jsonb)), 60000) -> 'extended' IS NOT NULL AS beat;
SELECT t ->> 'status' AS status, t -> 'progress' AS progress FROM mockarty.perf_run_get(((:'pacc2'::jsonb) #>> '{task,id}')::uuid) t;
SELECT mockarty.task_complete(((:'pacc2'::jsonb) #>> '{task,id}')::uuid, ((:'pacc2'::jsonb) #>> '{task,leaseId}')::uuid, 'completed',
	'{"requests":6000,"passed":true}') ->> 'stored' AS stored;
SELECT t ->> 'status' AS status, t -> 'passed' AS passed FROM mockarty.perf_run_get(((:'pacc2'::jsonb) #>> '{task,id}')::uuid) t;
SELECT jsonb_agg(p ->> 'status') AS perf_runs FROM jsonb_array_elements(mockarty.perf_run_list('apitest')) p;
SELECT mockarty.perf_run_get((:'r1')::uuid) IS NULL AS not_a_perf_run, mockarty.test_run_get(((:'pr'::jsonb) ->> 'id')::uuid) IS NULL AS not_a_test_run;
SELECT mockarty.perf_run_delete(((:'pr'::jsonb) ->> 'id')::uuid) AS deleted;

-- deleting a collection or environment keeps the runs that used them
SELECT mockarty.collection_delete(:'c1') AS collection_deleted, mockarty.environment_delete(:'e2') AS env_deleted;
SELECT t ->> 'collectionId' = :'c1' AS still_names_collection, t ->> 'collectionName' AS name, t ->> 'environmentId' AS env
FROM mockarty.test_run_get(:'r1') t;

-- gRPC load tests: script.grpc is queued without a collection; its fields are checked by name
SELECT p ->> 'status' AS status, p ->> 'namespace' AS ns, p ->> 'name' AS name, p -> 'options' ->> 'concurrency' AS conc
FROM mockarty.perf_run_start('apitest', '{"script":{"grpc":{"target":"127.0.0.1:50051","method":"pkg.Echo/Say",
	"descriptorSet":"CgA=","message":{"text":"hi"},"metadata":{"x-a":"1"}}},"options":{"concurrency":3}}') p;
SELECT t.payload -> 'grpc' ->> 'method' AS method, t.payload ? 'collection' AS has_collection
FROM mockarty_private.tasks t WHERE t.kind = 'performance' AND t.name = 'gRPC pkg.Echo/Say';
SELECT mockarty.perf_run_start(NULL, '{"script":{"grpc":{"target":"no-port","method":"a.B/C","descriptorSet":"CgA="}}}');
SELECT mockarty.perf_run_start(NULL, '{"script":{"grpc":{"target":"h:1","method":"nope","descriptorSet":"CgA="}}}');
SELECT mockarty.perf_run_start(NULL, '{"script":{"grpc":{"target":"h:1","method":"a.B/C","descriptorSet":"not base64!"}}}');
SELECT mockarty.perf_run_start(NULL, '{"script":{"grpc":{"target":"h:1","method":"a.B/C","descriptorSet":"CgA=","message":[1]}}}');
SELECT mockarty.perf_run_start(NULL, '{"script":{"grpc":{"target":"h:1","method":"a.B/C","descriptorSet":"CgA=","metadata":{"k":1}}}}');
SELECT mockarty.perf_run_delete(t.id) AS grpc_run_deleted FROM mockarty_private.tasks t
WHERE t.kind = 'performance' AND t.name = 'gRPC pkg.Echo/Say';
