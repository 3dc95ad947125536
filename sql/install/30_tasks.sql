-- 30_tasks.sql - the runner task queue: tables, events, leases, heartbeats, results.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

------------------------------------------------------------------------------
-- Runner tasks, API-test collections, environments, test runs, perf runs, events
------------------------------------------------------------------------------
-- Runner agents take work from a queue in this database: a task row is claimed with
-- FOR UPDATE SKIP LOCKED under a lease (lease_id is the fencing token every later
-- call quotes), kept alive by heartbeats, and handed back by the reaper when the
-- lease runs out. Failures of the protocol (a lost lease, a taken task) are values
-- {"ok":false,"reason":...}, never exceptions; bad arguments raise 22023 naming the
-- field. Lease arithmetic uses clock_timestamp() everywhere (grant, extend, check,
-- reap): now() is the start of the caller's transaction, so a lease granted or
-- checked late in a long transaction would be shorter or longer than asked.
-- NOTIFY mockarty_tasks rings the doorbell ('queued:<id>', 'cancel:<id>',
-- 'done:<id>', 'reaped'); the rows are the truth. Test runs and perf runs are tasks
-- of kind api_test and performance seen through the SDKs' TestRun/PerfRun shapes.

CREATE TABLE mockarty_private.collections (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	name text NOT NULL CHECK (name <> ''),
	description text,
	metadata jsonb NOT NULL DEFAULT '{}',
	source jsonb NOT NULL,
	request_count int NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.collections IS 'API-test collections: source is the Postman v2.1 document exactly as given; request_count counts its leaf items with a request';
CREATE INDEX collections_namespace_idx ON mockarty_private.collections (namespace, name);

CREATE TABLE mockarty_private.environments (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	name text NOT NULL CHECK (name <> ''),
	variables jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(variables) = 'object'),
	is_active boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.environments IS 'Variable sets ({name: value}) for collection runs; at most one active per namespace (used when a run names none)';
CREATE UNIQUE INDEX environments_active_idx ON mockarty_private.environments (namespace) WHERE is_active;
CREATE INDEX environments_namespace_idx ON mockarty_private.environments (namespace, name);

CREATE TABLE mockarty_private.tasks (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	kind text NOT NULL CHECK (kind IN ('api_test', 'performance')),
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	name text,
	payload jsonb NOT NULL DEFAULT '{}',
	status text NOT NULL DEFAULT 'queued'
		CHECK (status IN ('queued', 'leased', 'running', 'completed', 'failed', 'cancelled')),
	attempts int NOT NULL DEFAULT 0,
	max_attempts int NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
	runner_id text,
	runner_name text,
	lease_id uuid,
	lease_expires_at timestamptz,
	cancel_requested boolean NOT NULL DEFAULT false,
	progress jsonb,
	result jsonb,
	error text,
	collection_id uuid REFERENCES mockarty_private.collections (id) ON DELETE SET NULL,
	environment_id uuid REFERENCES mockarty_private.environments (id) ON DELETE SET NULL,
	-- clock_timestamp(): tasks enqueued by one transaction keep their order
	created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	started_at timestamptz,
	completed_at timestamptz,
	updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE mockarty_private.tasks IS 'Runner task queue (kinds api_test, performance): queued -> leased -> running -> completed/failed/cancelled; lease_id fences every runner call, the reaper re-queues expired leases';
COMMENT ON COLUMN mockarty_private.tasks.lease_id IS 'Fencing token of the current (or, once terminal, the completing) lease; NULL while queued';
COMMENT ON COLUMN mockarty_private.tasks.attempts IS 'Leases granted so far (a lease handed back with task_release does not count)';

-- the queue head (offers, accept), the reaper's probe and the per-runner count are
-- each one partial index, so an idle tick reads an empty index range
CREATE INDEX tasks_queued_idx ON mockarty_private.tasks (created_at, id) WHERE status = 'queued';
CREATE INDEX tasks_lease_idx ON mockarty_private.tasks (lease_expires_at) WHERE status IN ('leased', 'running');
CREATE INDEX tasks_runner_idx ON mockarty_private.tasks (runner_id) WHERE status IN ('leased', 'running');
CREATE INDEX tasks_list_idx ON mockarty_private.tasks (kind, namespace, created_at);

CREATE TABLE mockarty_private.task_results (
	task_id uuid NOT NULL REFERENCES mockarty_private.tasks (id) ON DELETE CASCADE,
	seq int NOT NULL CHECK (seq >= 0),
	attempt int NOT NULL,
	data jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (task_id, seq)
);
COMMENT ON TABLE mockarty_private.task_results IS 'Result chunks a runner streams while it runs a task; (task_id, seq) makes retries idempotent; only the current attempt''s chunks are kept';

CREATE TABLE mockarty_private.events (
	id bigserial PRIMARY KEY,
	event text NOT NULL CHECK (event <> ''),
	namespace text,
	data jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE mockarty_private.events IS 'Platform events (test_run.completed, ...) in id order, for webhook delivery and event readers';

SELECT pg_catalog.pg_extension_config_dump('mockarty_private.collections', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.environments', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.tasks', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.task_results', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.events', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.events_id_seq', '');

-- Events -------------------------------------------------------------------

CREATE FUNCTION mockarty.event_emit(p_event text, p_namespace text, p_data jsonb) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
	v bigint;
BEGIN
	IF p_event IS NULL OR p_event = '' THEN
		RAISE EXCEPTION 'event name must not be empty' USING ERRCODE = '22023', DETAIL = '$.event';
	END IF;
	INSERT INTO mockarty_private.events (event, namespace, data)
	VALUES (p_event, p_namespace, coalesce(p_data, '{}'))
	RETURNING id INTO v;
	PERFORM pg_catalog.pg_notify('mockarty_events', v::text);
	RETURN v;
END
$$;
COMMENT ON FUNCTION mockarty.event_emit(text, text, jsonb) IS 'Records an event and rings NOTIFY mockarty_events (payload: its id, a hint); returns the id';

CREATE FUNCTION mockarty.events_since(p_after bigint DEFAULT 0, p_limit int DEFAULT 100) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'event', e.event, 'namespace', e.namespace,
		'timestamp', mockarty_private.rfc3339(e.created_at), 'data', e.data) ORDER BY e.id), '[]')
	FROM (SELECT * FROM mockarty_private.events x WHERE x.id > coalesce(p_after, 0)
	      ORDER BY x.id LIMIT greatest(coalesce(p_limit, 100), 0)) e
$$;
COMMENT ON FUNCTION mockarty.events_since(bigint, int) IS 'Events after an id, oldest first: [{"id","event","namespace","timestamp","data"}]';

-- Task helpers -------------------------------------------------------------

CREATE FUNCTION mockarty_private.go_duration(ms bigint) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
	h bigint;
	m bigint;
	s text;
BEGIN
	IF ms IS NULL THEN
		RETURN NULL;
	ELSIF ms < 0 THEN
		RETURN '-' || mockarty_private.go_duration(-ms);
	ELSIF ms = 0 THEN
		RETURN '0s';
	ELSIF ms < 1000 THEN
		RETURN ms || 'ms';
	END IF;
	h := ms / 3600000;
	m := (ms / 60000) % 60;
	s := trim_scale((ms % 60000) / 1000.0)::text || 's';
	IF h > 0 THEN
		RETURN h || 'h' || m || 'm' || s;
	ELSIF m > 0 THEN
		RETURN m || 'm' || s;
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION mockarty_private.go_duration(bigint) IS 'Milliseconds as Go''s time.Duration prints them: 0s, 250ms, 1.5s, 45s, 2m0s, 1h2m3.5s';

CREATE FUNCTION mockarty_private.duration_ms(v jsonb, field text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	t text;
	r text[];
	total numeric := 0;
BEGIN
	IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(v) = 'number' AND (v #>> '{}')::numeric >= 0 THEN
		RETURN round((v #>> '{}')::numeric)::bigint;
	END IF;
	t := CASE WHEN jsonb_typeof(v) = 'string' THEN btrim(v #>> '{}') END;
	IF t ~ '^\d{1,12}$' THEN
		RETURN t::bigint;
	END IF;
	IF t IS NULL OR t !~ '^(\d{1,12}(\.\d{1,9})?(ms|s|m|h))+$' THEN
		RAISE EXCEPTION '% must be milliseconds or a duration like "60s", "2m", "1m30s"', field
			USING ERRCODE = '22023', DETAIL = '$.' || field;
	END IF;
	FOR r IN SELECT regexp_matches(t, '(\d+(?:\.\d+)?)(ms|s|m(?!s)|h)', 'g') LOOP
		total := total + r[1]::numeric * CASE r[2] WHEN 'ms' THEN 1 WHEN 's' THEN 1000 WHEN 'm' THEN 60000 ELSE 3600000 END;
	END LOOP;
	RETURN round(total)::bigint;
END
$$;
COMMENT ON FUNCTION mockarty_private.duration_ms(jsonb, text) IS 'Milliseconds of a duration given as a number (ms), a digit string (ms) or Go-style text ("500ms", "60s", "2m", "1h", "1m30s"); NULL for null; 22023 naming the field otherwise';

CREATE FUNCTION mockarty_private.task_json(t mockarty_private.tasks, p_with_payload boolean DEFAULT false)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id::text, 'kind', t.kind, 'namespace', t.namespace, 'name', t.name,
		'status', t.status, 'attempts', t.attempts, 'maxAttempts', t.max_attempts,
		'runnerId', t.runner_id, 'runnerName', t.runner_name, 'leaseId', t.lease_id::text,
		'leaseExpiresAt', mockarty_private.rfc3339(t.lease_expires_at),
		'cancelRequested', t.cancel_requested, 'progress', t.progress, 'result', t.result,
		'error', t.error, 'collectionId', t.collection_id::text, 'environmentId', t.environment_id::text,
		'createdAt', mockarty_private.rfc3339(t.created_at),
		'startedAt', mockarty_private.rfc3339(t.started_at),
		'completedAt', mockarty_private.rfc3339(t.completed_at),
		'updatedAt', mockarty_private.rfc3339(t.updated_at))
		|| CASE WHEN p_with_payload THEN jsonb_build_object('payload', t.payload) ELSE '{}' END
$$;
COMMENT ON FUNCTION mockarty_private.task_json(mockarty_private.tasks, boolean) IS 'A task as the API returns it (times RFC 3339 UTC); payload only when asked';

CREATE FUNCTION mockarty_private.task_check_kind(p_kind text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
	IF p_kind IS NULL OR p_kind NOT IN ('api_test', 'performance') THEN
		RAISE EXCEPTION 'unknown task kind "%"', coalesce(p_kind, '') USING ERRCODE = '22023',
			DETAIL = '$.kind', HINT = 'Kinds are api_test and performance.';
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.task_check_kind(text) IS 'Raises 22023 naming $.kind unless the kind is api_test or performance';

CREATE FUNCTION mockarty_private.test_run_status(t mockarty_private.tasks) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE t.status
		WHEN 'queued' THEN 'queued'
		WHEN 'leased' THEN 'running'
		WHEN 'running' THEN 'running'
		WHEN 'completed' THEN CASE WHEN coalesce((t.result ->> 'failedTests')::numeric, 0) > 0 THEN 'failed' ELSE 'passed' END
		WHEN 'cancelled' THEN 'cancelled'
		ELSE 'error' END
$$;
COMMENT ON FUNCTION mockarty_private.test_run_status(mockarty_private.tasks) IS 'TestRun status of an api_test task: queued, running (leased/running), passed/failed (completed with failedTests = 0 / > 0), cancelled, error (failed task)';

CREATE FUNCTION mockarty_private.task_duration_ms(t mockarty_private.tasks) RETURNS bigint
LANGUAGE sql IMMUTABLE
AS $$
	SELECT coalesce(
		CASE WHEN jsonb_typeof(t.result -> 'durationMs') = 'number' THEN round((t.result ->> 'durationMs')::numeric)::bigint END,
		round(extract(epoch FROM (t.completed_at - t.started_at)) * 1000)::bigint,
		0)
$$;
COMMENT ON FUNCTION mockarty_private.task_duration_ms(mockarty_private.tasks) IS 'Run time of a task in ms: the result''s durationMs, else completedAt - startedAt, else 0';

CREATE FUNCTION mockarty_private.task_finished(t mockarty_private.tasks) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM pg_catalog.pg_notify('mockarty_tasks', 'done:' || t.id);
	IF t.kind = 'api_test' THEN
		PERFORM mockarty.event_emit('test_run.completed', t.namespace, jsonb_build_object(
			'testRunId', t.id::text, 'collectionId', t.collection_id::text,
			'status', mockarty_private.test_run_status(t),
			'totalTests', coalesce((t.result ->> 'totalTests')::numeric, 0),
			'passed', coalesce((t.result ->> 'passedTests')::numeric, 0),
			'failed', coalesce((t.result ->> 'failedTests')::numeric, 0),
			'duration', mockarty_private.go_duration(mockarty_private.task_duration_ms(t))));
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.task_finished(mockarty_private.tasks) IS 'Side effects of a task reaching a terminal state: NOTIFY mockarty_tasks ''done:<id>'' and, for api_test, a test_run.completed event';

-- Queue --------------------------------------------------------------------

CREATE FUNCTION mockarty.task_enqueue(p_kind text, p_namespace text, p_payload jsonb, p_name text DEFAULT NULL,
	p_max_attempts int DEFAULT 3, p_collection_id uuid DEFAULT NULL, p_environment_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
BEGIN
	PERFORM mockarty_private.task_check_kind(p_kind);
	PERFORM mockarty_private.namespace_ensure(p_namespace);
	IF p_payload IS NOT NULL AND jsonb_typeof(p_payload) <> 'object' THEN
		RAISE EXCEPTION 'task payload must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.payload';
	END IF;
	IF p_max_attempts IS NULL OR p_max_attempts < 1 THEN
		RAISE EXCEPTION 'maxAttempts must be at least 1' USING ERRCODE = '22023', DETAIL = '$.maxAttempts';
	END IF;
	IF p_collection_id IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM mockarty_private.collections c WHERE c.id = p_collection_id) THEN
		RAISE EXCEPTION 'collection "%" does not exist', p_collection_id USING ERRCODE = '22023', DETAIL = '$.collectionId';
	END IF;
	IF p_environment_id IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM mockarty_private.environments e WHERE e.id = p_environment_id) THEN
		RAISE EXCEPTION 'environment "%" does not exist', p_environment_id USING ERRCODE = '22023', DETAIL = '$.environmentId';
	END IF;
	INSERT INTO mockarty_private.tasks (kind, namespace, name, payload, max_attempts, collection_id, environment_id)
	VALUES (p_kind, p_namespace, p_name, coalesce(p_payload, '{}'), p_max_attempts, p_collection_id, p_environment_id)
	RETURNING * INTO t;
	PERFORM pg_catalog.pg_notify('mockarty_tasks', 'queued:' || t.id);
	RETURN mockarty_private.task_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.task_enqueue(text, text, jsonb, text, int, uuid, uuid) IS 'Queues a task (kind api_test or performance) and rings NOTIFY mockarty_tasks ''queued:<id>''; returns the task; 22023 naming the bad argument';

CREATE FUNCTION mockarty.task_offers(p_namespace text, p_shared boolean, p_capabilities text[], p_limit int DEFAULT 10)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', t.id::text, 'kind', t.kind, 'namespace', t.namespace)
		ORDER BY t.created_at, t.id), '[]')
	FROM (SELECT x.id, x.kind, x.namespace, x.created_at FROM mockarty_private.tasks x
	      WHERE x.status = 'queued' AND x.kind = ANY (coalesce(p_capabilities, '{}'))
	        AND (coalesce(p_shared, false) OR x.namespace = p_namespace)
	      ORDER BY x.created_at, x.id LIMIT greatest(coalesce(p_limit, 10), 0)) t
$$;
COMMENT ON FUNCTION mockarty.task_offers(text, boolean, text[], int) IS 'Queued tasks a runner may take, oldest first: [{"id","kind","namespace"}]; eligible = kind in the capabilities and (shared runner or same namespace)';

CREATE FUNCTION mockarty.task_accept(p_runner_id text, p_runner_name text, p_namespace text, p_shared boolean,
	p_capabilities text[], p_max_concurrent int, p_lease_ms int, p_task_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
	v_held int;
	v_caps text[] := coalesce(p_capabilities, '{}');
	v_shared boolean := coalesce(p_shared, false);
BEGIN
	IF p_runner_id IS NULL OR p_runner_id = '' THEN
		RAISE EXCEPTION 'runner id must not be empty' USING ERRCODE = '22023', DETAIL = '$.runnerId';
	END IF;
	IF p_lease_ms IS NULL OR p_lease_ms < 0 THEN
		RAISE EXCEPTION 'leaseMs must be >= 0' USING ERRCODE = '22023', DETAIL = '$.leaseMs';
	END IF;
	-- The per-runner count below must see every lease this runner's other accepts
	-- committed; only READ COMMITTED takes a fresh snapshot after the lock wait.
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'task_accept must run at READ COMMITTED isolation' USING ERRCODE = '25001',
			HINT = 'Call it in its own transaction (autocommit) or at the default isolation level.';
	END IF;
	-- one accept per runner at a time: the count and the claim act as one step
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('mockarty.task_accept'),
		pg_catalog.hashtext(p_runner_id));
	SELECT count(*) INTO v_held FROM mockarty_private.tasks x
	WHERE x.runner_id = p_runner_id AND x.status IN ('leased', 'running');
	IF v_held >= coalesce(p_max_concurrent, 0) THEN
		RETURN jsonb_build_object('accepted', false, 'reason', 'max_concurrent');
	END IF;
	-- SKIP LOCKED: a row another accept holds is passed over, and a row it committed
	-- in the meantime fails the status recheck; either way exactly one caller wins
	UPDATE mockarty_private.tasks u
	SET status = 'leased', attempts = u.attempts + 1, lease_id = gen_random_uuid(),
		runner_id = p_runner_id, runner_name = p_runner_name,
		lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
		updated_at = clock_timestamp()
	WHERE u.id = (SELECT x.id FROM mockarty_private.tasks x
	              WHERE x.status = 'queued' AND x.kind = ANY (v_caps)
	                AND (v_shared OR x.namespace = p_namespace)
	                AND (p_task_id IS NULL OR x.id = p_task_id)
	              ORDER BY x.created_at, x.id
	              FOR UPDATE SKIP LOCKED LIMIT 1)
	RETURNING * INTO t;
	IF FOUND THEN
		RETURN jsonb_build_object('accepted', true, 'task', mockarty_private.task_json(t, true)
			|| jsonb_build_object('attempt', t.attempts,
				'leaseExpiresMs', floor(extract(epoch FROM t.lease_expires_at) * 1000)::bigint));
	END IF;
	IF p_task_id IS NULL THEN
		RETURN jsonb_build_object('accepted', false, 'reason', 'not_found');
	END IF;
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = p_task_id;
	RETURN jsonb_build_object('accepted', false, 'reason', CASE
		WHEN NOT FOUND THEN 'not_found'
		WHEN t.status = 'cancelled' THEN 'cancelled'
		WHEN NOT (t.kind = ANY (v_caps) AND (v_shared OR t.namespace = p_namespace)) THEN 'not_eligible'
		ELSE 'taken' END);
END
$$;
COMMENT ON FUNCTION mockarty.task_accept(text, text, text, boolean, text[], int, int, uuid) IS 'Leases one queued task (the given one, or the oldest eligible) to a runner: {"accepted":true,"task":{...,"payload","leaseId","attempt","leaseExpiresAt","leaseExpiresMs"}} or {"accepted":false,"reason":"taken|not_eligible|max_concurrent|not_found|cancelled"}; serialised per runner id (advisory lock), so max_concurrent holds; exactly one concurrent caller wins a task (FOR UPDATE SKIP LOCKED); READ COMMITTED only';

CREATE FUNCTION mockarty.task_start(p_task_id uuid, p_lease_id uuid) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
	UPDATE mockarty_private.tasks u
	SET status = 'running', started_at = coalesce(u.started_at, clock_timestamp()), updated_at = clock_timestamp()
	WHERE u.id = p_task_id AND u.lease_id = p_lease_id AND u.status IN ('leased', 'running')
	  AND u.lease_expires_at >= clock_timestamp();
	IF NOT FOUND THEN
		RETURN jsonb_build_object('ok', false, 'reason', 'lease_lost');
	END IF;
	RETURN jsonb_build_object('ok', true);
END
$$;
COMMENT ON FUNCTION mockarty.task_start(uuid, uuid) IS 'Marks a leased task running (startedAt set once; repeating is harmless): {"ok":true} or {"ok":false,"reason":"lease_lost"}';

CREATE FUNCTION mockarty.task_heartbeat(p_runner_id text, p_leases jsonb, p_lease_ms int) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	e jsonb;
	i int := 0;
	v_task uuid;
	v_cancel boolean;
	v_extended jsonb := '[]';
	v_cancelled jsonb := '[]';
	v_lost jsonb := '[]';
BEGIN
	IF p_leases IS NULL OR jsonb_typeof(p_leases) <> 'array' THEN
		RAISE EXCEPTION 'leases must be a JSON array' USING ERRCODE = '22023', DETAIL = '$.leases';
	END IF;
	IF p_lease_ms IS NULL OR p_lease_ms < 0 THEN
		RAISE EXCEPTION 'leaseMs must be >= 0' USING ERRCODE = '22023', DETAIL = '$.leaseMs';
	END IF;
	FOR e IN SELECT value FROM jsonb_array_elements(p_leases) LOOP
		v_task := mockarty_private.integration_id(e ->> 'taskId');
		IF v_task IS NULL THEN
			RAISE EXCEPTION 'leases[%].taskId must be a task id (uuid)', i USING ERRCODE = '22023',
				DETAIL = format('$.leases[%s].taskId', i);
		END IF;
		IF e ? 'progress' AND jsonb_typeof(e -> 'progress') NOT IN ('object', 'null') THEN
			RAISE EXCEPTION 'leases[%].progress must be a JSON object', i USING ERRCODE = '22023',
				DETAIL = format('$.leases[%s].progress', i);
		END IF;
		-- the lease id is the fencing token; the runner id is not checked, so a runner
		-- that reconnected (new id) keeps the leases it still holds
		UPDATE mockarty_private.tasks u
		SET lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
			progress = CASE WHEN jsonb_typeof(e -> 'progress') = 'object' THEN e -> 'progress' ELSE u.progress END,
			updated_at = clock_timestamp()
		WHERE u.id = v_task AND u.lease_id = mockarty_private.integration_id(e ->> 'leaseId')
		  AND u.status IN ('leased', 'running') AND u.lease_expires_at >= clock_timestamp()
		RETURNING u.cancel_requested INTO v_cancel;
		IF FOUND THEN
			v_extended := v_extended || to_jsonb(v_task::text);
			IF v_cancel THEN
				v_cancelled := v_cancelled || to_jsonb(v_task::text);
			END IF;
		ELSE
			v_lost := v_lost || to_jsonb(v_task::text);
		END IF;
		i := i + 1;
	END LOOP;
	RETURN jsonb_build_object('extended', v_extended, 'cancel', v_cancelled, 'lost', v_lost);
END
$$;
COMMENT ON FUNCTION mockarty.task_heartbeat(text, jsonb, int) IS 'Extends the leases [{"taskId","leaseId","progress"?}] still held (stores progress when given): {"extended":[ids],"cancel":[held ids the user cancelled],"lost":[ids no longer held]}';

CREATE FUNCTION mockarty.task_append_results(p_task_id uuid, p_lease_id uuid, p_chunks jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
	e jsonb;
	i int := 0;
	n int;
BEGIN
	IF p_chunks IS NULL OR jsonb_typeof(p_chunks) <> 'array' THEN
		RAISE EXCEPTION 'chunks must be a JSON array' USING ERRCODE = '22023', DETAIL = '$.chunks';
	END IF;
	FOR e IN SELECT value FROM jsonb_array_elements(p_chunks) LOOP
		IF jsonb_typeof(e -> 'seq') IS DISTINCT FROM 'number' OR (e ->> 'seq')::numeric < 0
		   OR (e ->> 'seq')::numeric <> trunc((e ->> 'seq')::numeric) OR (e ->> 'seq')::numeric > 2147483647 THEN
			RAISE EXCEPTION 'chunks[%].seq must be an integer >= 0', i USING ERRCODE = '22023',
				DETAIL = format('$.chunks[%s].seq', i);
		END IF;
		IF NOT e ? 'data' THEN
			RAISE EXCEPTION 'chunks[%].data is missing', i USING ERRCODE = '22023',
				DETAIL = format('$.chunks[%s].data', i);
		END IF;
		i := i + 1;
	END LOOP;
	-- FOR SHARE keeps the reaper (which skips locked rows) off the task meanwhile
	SELECT * INTO t FROM mockarty_private.tasks x
	WHERE x.id = p_task_id AND x.lease_id = p_lease_id AND x.status IN ('leased', 'running')
	  AND x.lease_expires_at >= clock_timestamp()
	FOR SHARE;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('ok', false, 'reason', 'lease_lost');
	END IF;
	INSERT INTO mockarty_private.task_results (task_id, seq, attempt, data)
	SELECT p_task_id, (c ->> 'seq')::int, t.attempts, c -> 'data' FROM jsonb_array_elements(p_chunks) c
	ON CONFLICT (task_id, seq) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN jsonb_build_object('ok', true, 'stored', n);
END
$$;
COMMENT ON FUNCTION mockarty.task_append_results(uuid, uuid, jsonb) IS 'Stores result chunks [{"seq":n,"data":{...}}] of a held lease: {"ok":true,"stored":k} (k = new chunks; a seq already stored is ignored) or {"ok":false,"reason":"lease_lost"}';

CREATE FUNCTION mockarty.task_complete(p_task_id uuid, p_lease_id uuid, p_status text, p_result jsonb,
	p_error text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
BEGIN
	IF p_status IS NULL OR p_status NOT IN ('completed', 'failed', 'cancelled') THEN
		RAISE EXCEPTION 'unknown completion status "%"', coalesce(p_status, '') USING ERRCODE = '22023',
			DETAIL = '$.status', HINT = 'Statuses are completed, failed and cancelled.';
	END IF;
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = p_task_id FOR UPDATE;
	IF NOT FOUND OR p_lease_id IS NULL OR t.lease_id IS DISTINCT FROM p_lease_id THEN
		RETURN jsonb_build_object('ok', false, 'reason', 'lease_lost');
	END IF;
	-- a terminal task keeps the lease that completed it: a retried completion is a no-op
	IF t.status IN ('completed', 'failed', 'cancelled') THEN
		RETURN jsonb_build_object('ok', true, 'stored', false);
	END IF;
	IF t.lease_expires_at < clock_timestamp() THEN
		RETURN jsonb_build_object('ok', false, 'reason', 'lease_lost');
	END IF;
	UPDATE mockarty_private.tasks u
	SET status = p_status, result = p_result, error = p_error, lease_expires_at = NULL,
		completed_at = clock_timestamp(), updated_at = clock_timestamp()
	WHERE u.id = p_task_id
	RETURNING * INTO t;
	PERFORM mockarty_private.task_finished(t);
	RETURN jsonb_build_object('ok', true, 'stored', true);
END
$$;
COMMENT ON FUNCTION mockarty.task_complete(uuid, uuid, text, jsonb, text) IS 'Stores the outcome (completed, failed, cancelled) of a held lease: {"ok":true,"stored":true}; the same lease again: {"ok":true,"stored":false} (result unchanged); another or expired lease: {"ok":false,"reason":"lease_lost"}; NOTIFY mockarty_tasks ''done:<id>'', and a test_run.completed event for api_test';

CREATE FUNCTION mockarty.task_release(p_task_id uuid, p_lease_id uuid) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
BEGIN
	SELECT * INTO t FROM mockarty_private.tasks x
	WHERE x.id = p_task_id AND x.lease_id = p_lease_id AND x.status IN ('leased', 'running')
	  AND x.lease_expires_at >= clock_timestamp()
	FOR UPDATE;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('ok', false, 'reason', 'lease_lost');
	END IF;
	DELETE FROM mockarty_private.task_results r WHERE r.task_id = p_task_id;
	IF t.cancel_requested THEN
		UPDATE mockarty_private.tasks u
		SET status = 'cancelled', lease_id = NULL, lease_expires_at = NULL,
			completed_at = clock_timestamp(), updated_at = clock_timestamp()
		WHERE u.id = p_task_id RETURNING * INTO t;
		PERFORM mockarty_private.task_finished(t);
	ELSE
		-- a hand-back is not a failed attempt: it does not count towards max_attempts
		UPDATE mockarty_private.tasks u
		SET status = 'queued', attempts = greatest(u.attempts - 1, 0), lease_id = NULL, lease_expires_at = NULL,
			runner_id = NULL, runner_name = NULL, progress = NULL, updated_at = clock_timestamp()
		WHERE u.id = p_task_id;
		PERFORM pg_catalog.pg_notify('mockarty_tasks', 'queued:' || p_task_id);
	END IF;
	RETURN jsonb_build_object('ok', true);
END
$$;
COMMENT ON FUNCTION mockarty.task_release(uuid, uuid) IS 'A runner hands a held task back (shutting down): queued again (this attempt not counted, its result chunks deleted, NOTIFY ''queued:<id>''), or cancelled when a cancel was requested; {"ok":true} or {"ok":false,"reason":"lease_lost"}';

CREATE FUNCTION mockarty.task_cancel(p_task_id uuid) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
BEGIN
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = p_task_id AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	PERFORM mockarty_private.role_require('editor', 'cancel tasks');
	IF t.status = 'queued' THEN
		UPDATE mockarty_private.tasks u
		SET status = 'cancelled', cancel_requested = true, completed_at = clock_timestamp(),
			updated_at = clock_timestamp()
		WHERE u.id = p_task_id RETURNING * INTO t;
		PERFORM mockarty_private.task_finished(t);
	ELSIF t.status IN ('leased', 'running') THEN
		UPDATE mockarty_private.tasks u SET cancel_requested = true, updated_at = clock_timestamp()
		WHERE u.id = p_task_id RETURNING * INTO t;
		PERFORM pg_catalog.pg_notify('mockarty_tasks', 'cancel:' || p_task_id);
	END IF;
	RETURN mockarty_private.task_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.task_cancel(uuid) IS 'Cancels a task: queued -> cancelled at once; leased/running -> cancelRequested (NOTIFY mockarty_tasks ''cancel:<id>''; the runner stops and completes it as cancelled); terminal -> unchanged; returns the task, NULL when unknown';

CREATE FUNCTION mockarty.task_reap() RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
	n int := 0;
	-- a parameter, unlike clock_timestamp() itself, can bound the index scan
	v_now timestamptz := clock_timestamp();
BEGIN
	-- SKIP LOCKED: a task a runner is touching right now is left for the next tick, so
	-- the reaper never waits on (or deadlocks with) runner calls
	FOR t IN
		UPDATE mockarty_private.tasks u
		SET status = CASE WHEN u.cancel_requested THEN 'cancelled'
		                  WHEN u.attempts >= u.max_attempts THEN 'failed' ELSE 'queued' END,
			error = CASE WHEN u.cancel_requested THEN u.error
			             WHEN u.attempts >= u.max_attempts THEN 'lease expired after ' || u.attempts || ' attempts'
			             ELSE u.error END,
			completed_at = CASE WHEN u.cancel_requested OR u.attempts >= u.max_attempts THEN clock_timestamp() END,
			runner_id = CASE WHEN u.cancel_requested OR u.attempts >= u.max_attempts THEN u.runner_id END,
			runner_name = CASE WHEN u.cancel_requested OR u.attempts >= u.max_attempts THEN u.runner_name END,
			progress = CASE WHEN u.cancel_requested OR u.attempts >= u.max_attempts THEN u.progress END,
			lease_id = NULL, lease_expires_at = NULL, updated_at = clock_timestamp()
		WHERE u.id IN (SELECT x.id FROM mockarty_private.tasks x
		               WHERE x.status IN ('leased', 'running') AND x.lease_expires_at < v_now
		               FOR UPDATE SKIP LOCKED)
		RETURNING u.*
	LOOP
		n := n + 1;
		IF t.status = 'queued' THEN
			DELETE FROM mockarty_private.task_results r WHERE r.task_id = t.id;
		ELSE
			PERFORM mockarty_private.task_finished(t);
		END IF;
	END LOOP;
	IF n > 0 THEN
		PERFORM pg_catalog.pg_notify('mockarty_tasks', 'reaped');
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.task_reap() IS 'Hands back expired leases (lease_expires_at < clock_timestamp()): queued again with that attempt''s chunks deleted, or failed ("lease expired after N attempts") once attempts reach max_attempts, or cancelled when a cancel was requested; NOTIFY mockarty_tasks ''reaped'' when any; returns how many. The scheduler background worker calls it every mockarty.scheduler_interval_ms';

CREATE FUNCTION mockarty.task_get(p_id uuid, p_with_payload boolean DEFAULT false) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.task_json(t, coalesce(p_with_payload, false)) FROM mockarty_private.tasks t WHERE t.id = p_id AND mockarty_private.ns_visible(t.namespace) $$;
COMMENT ON FUNCTION mockarty.task_get(uuid, boolean) IS 'One task (with its payload when asked), NULL when unknown';

CREATE FUNCTION mockarty.task_results(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(r.data ORDER BY r.seq), '[]') FROM mockarty_private.task_results r WHERE r.task_id = p_id
	  AND EXISTS (SELECT 1 FROM mockarty_private.tasks t WHERE t.id = r.task_id AND mockarty_private.ns_visible(t.namespace))
$$;
COMMENT ON FUNCTION mockarty.task_results(uuid) IS 'The result chunks (data) of a task''s current attempt in seq order';

CREATE FUNCTION mockarty.task_list(p_kind text DEFAULT NULL, p_namespace text DEFAULT NULL, p_status text DEFAULT NULL,
	p_limit int DEFAULT 100, p_offset int DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	v_ns text;
BEGIN
	IF p_kind IS NOT NULL THEN
		PERFORM mockarty_private.task_check_kind(p_kind);
	END IF;
	IF p_status IS NOT NULL AND p_status NOT IN ('queued', 'leased', 'running', 'completed', 'failed', 'cancelled') THEN
		RAISE EXCEPTION 'unknown task status "%"', p_status USING ERRCODE = '22023', DETAIL = '$.status';
	END IF;
	v_ns := mockarty_private.ns_scope(p_namespace);
	RETURN (SELECT coalesce(jsonb_agg(mockarty_private.task_json(t) ORDER BY t.created_at DESC, t.id DESC), '[]')
		FROM (SELECT * FROM mockarty_private.tasks x
		      WHERE (p_kind IS NULL OR x.kind = p_kind) AND (v_ns IS NULL OR x.namespace = v_ns)
		        AND (p_status IS NULL OR x.status = p_status)
		      ORDER BY x.created_at DESC, x.id DESC
		      LIMIT greatest(coalesce(p_limit, 100), 0) OFFSET greatest(coalesce(p_offset, 0), 0)) t);
END
$$;
COMMENT ON FUNCTION mockarty.task_list(text, text, text, int, int) IS 'Tasks newest first, filtered by kind, namespace and status (NULL = any), without payloads';

CREATE FUNCTION mockarty.task_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete tasks');
	DELETE FROM mockarty_private.tasks t WHERE t.id = p_id AND mockarty_private.ns_visible(t.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.task_delete(uuid) IS 'Deletes a task and its result chunks (a runner still holding it sees its lease lost); false when unknown';

CREATE FUNCTION mockarty.task_stats() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_object_agg(k.kind, (SELECT jsonb_object_agg(s.status,
			(SELECT count(*) FROM mockarty_private.tasks t WHERE t.kind = k.kind AND t.status = s.status))
		FROM unnest(ARRAY['queued', 'leased', 'running', 'completed', 'failed', 'cancelled']) s (status)))
	FROM unnest(ARRAY['api_test', 'performance']) k (kind)
$$;
COMMENT ON FUNCTION mockarty.task_stats() IS 'Task counts by kind and status: {"api_test":{"queued":n,"leased":n,"running":n,"completed":n,"failed":n,"cancelled":n},"performance":{...}}';

