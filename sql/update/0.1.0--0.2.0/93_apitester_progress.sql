-- 93_apitester_progress.sql - a TestRun carries the runner's live progress (the console's API
-- tester shows a progress bar and running pass/fail counts while a collection runs).

CREATE OR REPLACE FUNCTION mockarty_private.test_run_json(t mockarty_private.tasks) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id::text, 'collectionId', coalesce(t.collection_id::text, t.payload ->> 'collectionId'),
		'collectionName', t.payload ->> 'collectionName', 'environmentId', t.environment_id::text,
		'namespace', t.namespace, 'mode', 'functional', 'status', mockarty_private.test_run_status(t),
		'totalTests', coalesce((t.result ->> 'totalTests')::numeric, 0),
		'passedTests', coalesce((t.result ->> 'passedTests')::numeric, 0),
		'failedTests', coalesce((t.result ->> 'failedTests')::numeric, 0),
		'skippedTests', coalesce((t.result ->> 'skippedTests')::numeric, 0),
		'duration', mockarty_private.task_duration_ms(t),
		-- while it runs, the chunks streamed so far
		'results', CASE WHEN jsonb_typeof(t.result -> 'results') = 'array' THEN t.result -> 'results'
		                WHEN t.result IS NULL THEN (SELECT coalesce(jsonb_agg(r.data ORDER BY r.seq), '[]')
		                                            FROM mockarty_private.task_results r WHERE r.task_id = t.id)
		                ELSE '[]' END,
		'startedAt', mockarty_private.rfc3339(t.started_at),
		'completedAt', mockarty_private.rfc3339(t.completed_at),
		'createdAt', mockarty_private.rfc3339(t.created_at),
		'runner', t.runner_name, 'error', t.error, 'attempts', t.attempts,
		-- the runner's last heartbeat: {"phase","done","total","percent","passedTests","failedTests","skippedTests"}
		'progress', t.progress)
$$;
COMMENT ON FUNCTION mockarty_private.test_run_json(mockarty_private.tasks) IS 'An api_test task as the SDKs'' TestRun: counts and results from the final result document (results streamed so far while it runs), duration in ms, progress as the runner last reported it (done/total requests, percent, running test counts; null before it starts)';
