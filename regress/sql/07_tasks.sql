-- 07_tasks: the runner task queue. Leases are claimed with FOR UPDATE SKIP LOCKED,
-- fenced by lease ids, extended by heartbeats and handed back by the reaper; failures
-- of the protocol are values, bad arguments raise 22023 naming the field. Time is made
-- deterministic by moving a lease into the past inside the same transaction that
-- reaps it (the scheduler worker skips rows another transaction holds). The last part
-- shows the background worker reaping on its own.

-- try() (00_install_upgrade) with generated ids masked
CREATE OR REPLACE FUNCTION public.tryu(sql text) RETURNS text
LANGUAGE sql AS $$
	SELECT regexp_replace(try(sql), '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g')
$$;
-- labels for generated ids, so the output stays stable
CREATE TEMP TABLE lbl (id text PRIMARY KEY, l text NOT NULL);
CREATE FUNCTION public.lbl(j jsonb) RETURNS jsonb
LANGUAGE sql AS $$
	SELECT coalesce(jsonb_agg(coalesce((SELECT to_jsonb(l) FROM lbl WHERE id = e #>> '{}'), e) ORDER BY o), '[]')
	FROM jsonb_array_elements(j) WITH ORDINALITY x (e, o)
$$;
CREATE FUNCTION public.vol(j jsonb) RETURNS jsonb
LANGUAGE sql AS $$
	SELECT j - ARRAY['id', 'leaseId', 'createdAt', 'updatedAt', 'startedAt', 'completedAt', 'leaseExpiresAt', 'leaseExpiresMs']
$$;
CREATE FUNCTION public.enq(label text, kind text, ns text, max_attempts int DEFAULT 3) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	id text := mockarty.task_enqueue(kind, ns, jsonb_build_object('label', label), label, max_attempts) ->> 'id';
BEGIN
	INSERT INTO lbl VALUES (id, label);
	RETURN id;
END $$;

SELECT enq('a1', 'api_test', 'qa') AS a1 \gset
SELECT enq('a2', 'api_test', 'team') AS a2 \gset
SELECT enq('p1', 'performance', 'qa') AS p1 \gset
SELECT vol(mockarty.task_get(:'a1', true)) AS task;

-- bad arguments
SELECT tryu($$SELECT mockarty.task_enqueue('unit', 'qa', '{}')$$);
SELECT tryu($$SELECT mockarty.task_enqueue('api_test', 'Bad NS', '{}')$$);
SELECT tryu($$SELECT mockarty.task_enqueue('api_test', 'qa', '[1]')$$);
SELECT tryu($$SELECT mockarty.task_enqueue('api_test', 'qa', '{}', 'x', 0)$$);
SELECT tryu($$SELECT mockarty.task_enqueue('api_test', 'qa', '{}', 'x', 3, gen_random_uuid())$$);

-- offers: kind among the capabilities, and the runner's namespace unless it is shared; oldest first
SELECT lbl(jsonb_path_query_array(mockarty.task_offers('qa', false, '{api_test}'), '$[*].id')) AS qa_api,
       lbl(jsonb_path_query_array(mockarty.task_offers('qa', false, '{api_test,performance}'), '$[*].id')) AS qa_all,
       lbl(jsonb_path_query_array(mockarty.task_offers('other', true, '{api_test,performance}'), '$[*].id')) AS shared_all,
       lbl(jsonb_path_query_array(mockarty.task_offers('other', true, '{api_test,performance}', 1), '$[*].id')) AS shared_1,
       lbl(jsonb_path_query_array(mockarty.task_offers('team', false, '{performance}'), '$[*].id')) AS team_perf,
       mockarty.task_offers('qa', false, NULL) AS no_caps;
SELECT (mockarty.task_offers('qa', false, '{api_test}') -> 0) - 'id'::text AS offer_shape;

-- accept: the oldest eligible task; max_concurrent counts the runner's leased + running tasks
SELECT mockarty.task_accept('r1', 'runner-1', 'qa', false, '{api_test}', 1, 60000) AS acc \gset
SELECT (:'acc'::jsonb) -> 'accepted' AS accepted, vol((:'acc'::jsonb) -> 'task') AS task,
       (:'acc'::jsonb) #>> '{task,leaseId}' ~ '^[0-9a-f-]{36}$' AS lease_is_uuid,
       ((:'acc'::jsonb) #>> '{task,leaseExpiresMs}')::bigint
         = floor(extract(epoch FROM ((:'acc'::jsonb) #>> '{task,leaseExpiresAt}')::timestamptz) * 1000) AS expires_ms_matches;
SELECT (:'acc'::jsonb) #>> '{task,leaseId}' AS l_a1 \gset
SELECT mockarty.task_accept('r1', 'runner-1', 'qa', false, '{api_test}', 1, 60000) AS at_max;
SELECT mockarty.task_accept('r2', 'runner-2', 'qa', false, '{api_test}', 5, 60000, :'a1') AS already_taken,
       mockarty.task_accept('r2', 'runner-2', 'qa', false, '{api_test}', 5, 60000, :'a2') AS other_namespace,
       mockarty.task_accept('r2', 'runner-2', 'qa', false, '{api_test}', 5, 60000, :'p1') AS other_kind,
       mockarty.task_accept('r2', 'runner-2', 'qa', false, '{api_test}', 5, 60000, gen_random_uuid()) AS unknown,
       mockarty.task_accept('r2', 'runner-2', 'qa', false, '{api_test}', 5, 60000) AS nothing_left,
       mockarty.task_accept('r2', 'runner-2', 'qa', false, '{api_test}', 0, 60000) AS max_zero;
SELECT mockarty.task_accept('r2', 'runner-2', 'qa', false, '{performance}', 2, 60000) #>> '{task,leaseId}' AS l_p1 \gset
SELECT tryu($$SELECT mockarty.task_accept('', 'x', 'qa', false, '{api_test}', 1, 1000)$$);
SELECT tryu($$SELECT mockarty.task_accept('r9', 'x', 'qa', false, '{api_test}', 1, -1)$$);
-- the per-runner count needs a fresh snapshot after the lock wait: READ COMMITTED only
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT tryu($$SELECT mockarty.task_accept('r9', 'x', 'qa', false, '{api_test}', 1, 1000)$$);
ROLLBACK;

-- start: leased -> running, startedAt set once; any other lease is lost
SELECT mockarty.task_start(:'a1', :'l_a1') AS started, mockarty.task_start(:'a1', gen_random_uuid()) AS wrong_lease;
SELECT mockarty.task_get(:'a1') ->> 'startedAt' AS started_at \gset
SELECT mockarty.task_start(:'a1', :'l_a1') AS again,
       mockarty.task_get(:'a1') ->> 'status' AS status, mockarty.task_get(:'a1') ->> 'startedAt' = :'started_at' AS started_once;

-- heartbeat: held leases are extended (progress stored), the rest are lost
SELECT mockarty.task_get(:'a1') ->> 'leaseExpiresAt' AS exp_before \gset
SELECT pg_sleep(0.01);
SELECT h -> 'cancel' AS cancel, lbl(h -> 'extended') AS extended, lbl(h -> 'lost') AS lost
FROM mockarty.task_heartbeat('r1', jsonb_build_array(
	jsonb_build_object('taskId', :'a1', 'leaseId', :'l_a1', 'progress', jsonb_build_object('done', 1, 'total', 3)),
	jsonb_build_object('taskId', :'p1', 'leaseId', gen_random_uuid()),
	jsonb_build_object('taskId', :'a2', 'leaseId', 'not-a-uuid')), 60000) h;
SELECT mockarty.task_get(:'a1') -> 'progress' AS progress,
       (mockarty.task_get(:'a1') ->> 'leaseExpiresAt')::timestamptz > :'exp_before'::timestamptz AS extended_later;
SELECT tryu($$SELECT mockarty.task_heartbeat('r1', '[{"taskId":"x"}]', 1000)$$);
SELECT tryu($$SELECT mockarty.task_heartbeat('r1', '{}', 1000)$$);
SELECT mockarty.task_heartbeat('r1', '[]', 1000) AS empty;

-- results: idempotent on (task, seq); only for a held lease
SELECT mockarty.task_append_results(:'a1', :'l_a1', '[{"seq":0,"data":{"n":"a"}},{"seq":1,"data":{"n":"b"}}]') AS first,
       mockarty.task_append_results(:'a1', :'l_a1', '[{"seq":1,"data":{"n":"B"}},{"seq":2,"data":{"n":"c"}}]') AS retry,
       mockarty.task_append_results(:'a1', gen_random_uuid(), '[{"seq":3,"data":{}}]') AS wrong_lease;
SELECT mockarty.task_results(:'a1') AS results;
SELECT tryu($$SELECT mockarty.task_append_results(gen_random_uuid(), gen_random_uuid(), '[{"seq":-1,"data":{}}]')$$);
SELECT tryu($$SELECT mockarty.task_append_results(gen_random_uuid(), gen_random_uuid(), '[{"seq":0,"data":1},{"seq":1}]')$$);

-- complete: idempotent for the same lease (result unchanged), lease_lost for another
SELECT tryu($$SELECT mockarty.task_complete(gen_random_uuid(), gen_random_uuid(), 'done', '{}')$$);
SELECT mockarty.task_complete(:'a1', gen_random_uuid(), 'completed', '{}') AS wrong_lease;
SELECT coalesce(max(id), 0) AS ev0 FROM mockarty_private.events \gset
SELECT mockarty.task_complete(:'a1', :'l_a1', 'completed',
	'{"totalTests":3,"passedTests":2,"failedTests":1,"skippedTests":0,"durationMs":1234,"results":[]}') AS done,
       mockarty.task_complete(:'a1', :'l_a1', 'completed', '{"totalTests":99}') AS retried;
SELECT t ->> 'status' AS status, t -> 'result' -> 'totalTests' AS total, t ->> 'leaseExpiresAt' AS lease_expires,
       t ->> 'completedAt' IS NOT NULL AS completed_at_set
FROM mockarty.task_get(:'a1') t;
SELECT mockarty.task_heartbeat('r1', jsonb_build_array(jsonb_build_object('taskId', :'a1', 'leaseId', :'l_a1')), 1000) -> 'lost' = to_jsonb(ARRAY[:'a1']) AS lost_after_complete;
-- the api_test completion is a test_run.completed event, written in the same transaction
SELECT e ->> 'event' AS event, e ->> 'namespace' AS ns, (e -> 'data') - 'testRunId'::text AS data,
       e #>> '{data,testRunId}' = :'a1' AS run_id
FROM jsonb_array_elements(mockarty.events_since(:'ev0')) e;

-- a lease that ran out is lost even before the reaper ran
BEGIN;
UPDATE mockarty_private.tasks SET lease_expires_at = clock_timestamp() - interval '1 second' WHERE id = :'p1';
SELECT mockarty.task_complete(:'p1', :'l_p1', 'completed', '{}') AS expired_complete,
       mockarty.task_append_results(:'p1', :'l_p1', '[{"seq":0,"data":{}}]') AS expired_append,
       mockarty.task_start(:'p1', :'l_p1') AS expired_start;
ROLLBACK;

-- reap: an expired lease goes back to queued (its chunks dropped); the old lease is lost
SELECT enq('b1', 'api_test', 'reap', 2) AS b1 \gset
SELECT mockarty.task_accept('r3', 'runner-3', 'reap', false, '{api_test}', 5, 60000) #>> '{task,leaseId}' AS l_b1 \gset
SELECT mockarty.task_append_results(:'b1', :'l_b1', '[{"seq":0,"data":{"partial":true}}]') ->> 'stored' AS stored;
BEGIN;
UPDATE mockarty_private.tasks SET lease_expires_at = clock_timestamp() - interval '1 second' WHERE id = :'b1';
SELECT mockarty.task_reap() AS reaped;
COMMIT;
SELECT vol(mockarty.task_get(:'b1')) AS after_reap, mockarty.task_results(:'b1') AS chunks;
SELECT mockarty.task_complete(:'b1', :'l_b1', 'completed', '{}') AS complete,
       mockarty.task_start(:'b1', :'l_b1') AS start,
       mockarty.task_append_results(:'b1', :'l_b1', '[{"seq":0,"data":{}}]') AS append,
       lbl(mockarty.task_heartbeat('r3', jsonb_build_array(jsonb_build_object('taskId', :'b1', 'leaseId', :'l_b1')), 1000) -> 'lost') AS heartbeat_lost;
-- second attempt expires too: max_attempts 2 reached, the task fails (and the run ends as "error")
SELECT mockarty.task_accept('r3', 'runner-3', 'reap', false, '{api_test}', 5, 60000) #>> '{task,attempt}' AS attempt;
SELECT coalesce(max(id), 0) AS ev1 FROM mockarty_private.events \gset
BEGIN;
UPDATE mockarty_private.tasks SET lease_expires_at = clock_timestamp() - interval '1 second' WHERE id = :'b1';
SELECT mockarty.task_reap() AS reaped;
COMMIT;
SELECT t ->> 'status' AS status, t ->> 'error' AS error, t -> 'attempts' AS attempts, t ->> 'leaseId' AS lease,
       t ->> 'runnerName' AS last_runner
FROM mockarty.task_get(:'b1') t;
SELECT e ->> 'event' AS event, e #>> '{data,status}' AS status, e #>> '{data,duration}' AS duration
FROM jsonb_array_elements(mockarty.events_since(:'ev1')) e;
SELECT mockarty.task_reap() AS nothing_to_reap;

-- release: a runner shutting down hands the task back; the attempt does not count
SELECT enq('c1', 'api_test', 'rel') AS c1 \gset
SELECT mockarty.task_accept('r4', 'runner-4', 'rel', false, '{api_test}', 5, 60000) #>> '{task,leaseId}' AS l_c1 \gset
SELECT mockarty.task_append_results(:'c1', :'l_c1', '[{"seq":0,"data":{}}]') ->> 'stored' AS stored;
SELECT mockarty.task_release(:'c1', :'l_c1') AS released, mockarty.task_release(:'c1', :'l_c1') AS again;
SELECT vol(mockarty.task_get(:'c1')) AS after_release, mockarty.task_results(:'c1') AS chunks;

-- cancel: queued -> cancelled at once; running -> cancelRequested, told through the heartbeat
SELECT t ->> 'status' AS status, t -> 'cancelRequested' AS requested FROM mockarty.task_cancel(:'c1') t;
SELECT enq('d1', 'api_test', 'rel') AS d1 \gset
SELECT mockarty.task_accept('r4', 'runner-4', 'rel', false, '{api_test}', 5, 60000) #>> '{task,leaseId}' AS l_d1 \gset
SELECT mockarty.task_accept('r5', 'runner-5', 'rel', false, '{api_test}', 5, 60000, :'c1') AS cancelled_task;
SELECT mockarty.task_start(:'d1', :'l_d1') ->> 'ok' AS started;
SELECT t ->> 'status' AS status, t -> 'cancelRequested' AS requested FROM mockarty.task_cancel(:'d1') t;
SELECT lbl(h -> 'extended') AS extended, lbl(h -> 'cancel') AS cancel, h -> 'lost' AS lost
FROM mockarty.task_heartbeat('r4', jsonb_build_array(jsonb_build_object('taskId', :'d1', 'leaseId', :'l_d1')), 60000) h;
SELECT mockarty.task_complete(:'d1', :'l_d1', 'cancelled', '{"totalTests":0,"cancelled":true}') AS completed;
SELECT t ->> 'status' AS status FROM mockarty.task_cancel(:'d1') t;
SELECT mockarty.task_cancel(gen_random_uuid()) IS NULL AS unknown_cancel;
-- a cancelled task whose lease runs out ends cancelled, not queued
SELECT enq('d2', 'api_test', 'rel') AS d2 \gset
SELECT mockarty.task_accept('r4', 'runner-4', 'rel', false, '{api_test}', 5, 60000) #>> '{task,leaseId}' AS l_d2 \gset
SELECT mockarty.task_cancel(:'d2') ->> 'status' AS status;
BEGIN;
UPDATE mockarty_private.tasks SET lease_expires_at = clock_timestamp() - interval '1 second' WHERE id = :'d2';
SELECT mockarty.task_reap() AS reaped;
COMMIT;
SELECT mockarty.task_get(:'d2') ->> 'status' AS status;

-- list, stats, get, delete
SELECT lbl(jsonb_path_query_array(mockarty.task_list(), '$[*].id')) AS newest_first;
SELECT lbl(jsonb_path_query_array(mockarty.task_list('api_test', 'rel'), '$[*].id')) AS rel_api,
       lbl(jsonb_path_query_array(mockarty.task_list(NULL, NULL, 'cancelled'), '$[*].id')) AS cancelled,
       lbl(jsonb_path_query_array(mockarty.task_list(NULL, NULL, NULL, 2, 1), '$[*].id')) AS page,
       mockarty.task_list('performance') -> 0 ? 'payload' AS list_has_payload;
SELECT tryu($$SELECT mockarty.task_list('unit')$$), tryu($$SELECT mockarty.task_list(NULL, NULL, 'done')$$);
SELECT mockarty.task_stats() AS stats;
SELECT mockarty.task_get(gen_random_uuid()) IS NULL AS unknown_get;
SELECT mockarty.task_delete(:'c1') AS deleted, mockarty.task_delete(:'c1') AS again;

-- events
SELECT mockarty.event_emit('custom.thing', 'qa', '{"k":1}') - 0 > 0 AS emitted;
SELECT e - 'id' - 'timestamp' AS last_event,
       e ->> 'timestamp' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS iso_utc
FROM jsonb_array_elements(mockarty.events_since((SELECT max(id) - 1 FROM mockarty_private.events))) e;
SELECT jsonb_array_length(mockarty.events_since(0, 2)) AS limited;
SELECT tryu($$SELECT mockarty.event_emit('', NULL, NULL)$$);

-- Go-style durations of the event payload
SELECT string_agg(mockarty_private.go_duration(x), ' ' ORDER BY x) AS go
FROM unnest('{0,250,1000,1234,45000,90500,120000,3723500}'::bigint[]) x;

-- the reaper's probe (task_reap compares with clock_timestamp() read into a variable)
-- is a range of a partial index over live leases: an idle tick reads an empty range
SET enable_seqscan = off;
SET plan_cache_mode = force_generic_plan;
PREPARE probe (timestamptz) AS SELECT id FROM mockarty_private.tasks
WHERE status IN ('leased', 'running') AND lease_expires_at < $1;
EXPLAIN (COSTS OFF) EXECUTE probe (now());
DEALLOCATE probe;
RESET plan_cache_mode;
RESET enable_seqscan;

-- the scheduler background worker (regress.conf: mockarty.database = contrib_regression,
-- mockarty.scheduler_interval_ms = 100) reaps an expired lease by itself: poll up to 10 s
SHOW mockarty.scheduler_interval_ms;
SELECT enq('w1', 'api_test', 'worker') AS w1 \gset
SELECT mockarty.task_accept('r6', 'runner-6', 'worker', false, '{api_test}', 5, 60000) ->> 'accepted' AS accepted;
UPDATE mockarty_private.tasks SET lease_expires_at = clock_timestamp() - interval '1 second' WHERE id = :'w1';
DO $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '10 seconds';
BEGIN
	WHILE (SELECT status FROM mockarty_private.tasks WHERE name = 'w1') <> 'queued' AND clock_timestamp() < deadline LOOP
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;
SELECT t ->> 'status' AS status, t ->> 'leaseId' AS lease, t -> 'attempts' AS attempts
FROM mockarty.task_get(:'w1') t;
SELECT count(*) AS scheduler_workers FROM pg_stat_activity WHERE backend_type = 'mockarty scheduler';
