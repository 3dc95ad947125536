-- 31_collections_runs.sql - API-test collections, environments, test runs and performance runs.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

-- Collections --------------------------------------------------------------

CREATE FUNCTION mockarty_private.collection_request_count(src jsonb) RETURNS int
LANGUAGE sql IMMUTABLE
AS $$
	WITH RECURSIVE walk (it) AS (
		SELECT c.value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(src -> 'item') = 'array' THEN src -> 'item' ELSE '[]' END) c
		UNION ALL
		SELECT c.value FROM walk w,
			jsonb_array_elements(CASE WHEN jsonb_typeof(w.it) = 'object' AND jsonb_typeof(w.it -> 'item') = 'array'
			                     THEN w.it -> 'item' ELSE '[]' END) c
	)
	SELECT count(*)::int FROM walk WHERE jsonb_typeof(it) = 'object' AND it ? 'request' AND NOT it ? 'item'
$$;
COMMENT ON FUNCTION mockarty_private.collection_request_count(jsonb) IS 'Number of leaf items with a request in a Postman collection, folders walked recursively';

CREATE FUNCTION mockarty_private.collection_check(src jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
	IF src IS NULL OR jsonb_typeof(src) <> 'object' THEN
		RAISE EXCEPTION 'collection must be a Postman v2.1 collection object' USING ERRCODE = '22023',
			DETAIL = '$.collection';
	END IF;
	IF jsonb_typeof(src -> 'item') IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'collection.item must be an array of requests and folders' USING ERRCODE = '22023',
			DETAIL = '$.collection.item';
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.collection_check(jsonb) IS 'Raises 22023 naming collection or collection.item unless the document is an object with an item array';

CREATE FUNCTION mockarty_private.collection_json(c mockarty_private.collections, p_full boolean DEFAULT true)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', c.id::text, 'namespace', c.namespace, 'name', c.name,
		'description', c.description, 'protocol', 'http', 'collectionType', 'postman', 'isShared', false,
		'metadata', c.metadata, 'requestCount', c.request_count,
		'createdAt', mockarty_private.rfc3339(c.created_at), 'updatedAt', mockarty_private.rfc3339(c.updated_at))
		|| CASE WHEN p_full THEN jsonb_build_object('collection', c.source) ELSE '{}' END
$$;
COMMENT ON FUNCTION mockarty_private.collection_json(mockarty_private.collections, boolean) IS 'A collection as the API returns it; the Postman document under "collection" unless p_full is false (lists)';

CREATE FUNCTION mockarty.collection_create(p_namespace text, p_name text, p_source jsonb, p_description text DEFAULT NULL,
	p_metadata jsonb DEFAULT '{}', p_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c mockarty_private.collections;
	v_name text;
BEGIN
	PERFORM mockarty_private.collection_check(p_source);
	v_name := coalesce(nullif(btrim(p_name), ''), nullif(btrim(p_source -> 'info' ->> 'name'), ''));
	IF v_name IS NULL THEN
		RAISE EXCEPTION 'collection name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name',
			HINT = 'Give a name or set info.name in the collection.';
	END IF;
	IF p_metadata IS NOT NULL AND jsonb_typeof(p_metadata) <> 'object' THEN
		RAISE EXCEPTION 'metadata must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.metadata';
	END IF;
	PERFORM mockarty_private.namespace_ensure(p_namespace);
	IF p_id IS NOT NULL AND EXISTS (SELECT 1 FROM mockarty_private.collections x WHERE x.id = p_id) THEN
		RAISE EXCEPTION 'collection "%" already exists', p_id USING ERRCODE = '23505';
	END IF;
	INSERT INTO mockarty_private.collections (id, namespace, name, description, metadata, source, request_count)
	VALUES (coalesce(p_id, gen_random_uuid()), p_namespace, v_name, p_description, coalesce(p_metadata, '{}'),
		p_source, mockarty_private.collection_request_count(p_source))
	RETURNING * INTO c;
	RETURN mockarty_private.collection_json(c);
END
$$;
COMMENT ON FUNCTION mockarty.collection_create(text, text, jsonb, text, jsonb, uuid) IS 'Stores a Postman v2.1 collection as given (name: argument, else info.name) and returns it with requestCount; 22023 naming collection.item, name or metadata; 23505 for a taken id';

CREATE FUNCTION mockarty.collection_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.collection_json(c) FROM mockarty_private.collections c WHERE c.id = p_id AND mockarty_private.ns_visible(c.namespace) $$;
COMMENT ON FUNCTION mockarty.collection_get(uuid) IS 'One collection with its Postman document, NULL when unknown';

CREATE FUNCTION mockarty.collection_list(p_namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.collection_json(c, false) ORDER BY c.name, c.created_at, c.id), '[]')
		FROM mockarty_private.collections c WHERE s.ns IS NULL OR c.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.collection_list(text) IS 'Collections of a namespace (NULL = all) by name, without the Postman documents';

CREATE FUNCTION mockarty.collection_update(p_id uuid, p_patch jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c mockarty_private.collections;
BEGIN
	IF p_patch IS NULL OR jsonb_typeof(p_patch) <> 'object' THEN
		RAISE EXCEPTION 'patch must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	SELECT * INTO c FROM mockarty_private.collections x WHERE x.id = p_id AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('collection', p_id::text);
	END IF;
	IF p_patch ? 'name' THEN
		IF jsonb_typeof(p_patch -> 'name') IS DISTINCT FROM 'string' OR btrim(p_patch ->> 'name') = '' THEN
			RAISE EXCEPTION 'collection name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
		END IF;
		c.name := p_patch ->> 'name';
	END IF;
	IF p_patch ? 'description' THEN
		c.description := p_patch ->> 'description';
	END IF;
	IF p_patch ? 'metadata' THEN
		IF jsonb_typeof(p_patch -> 'metadata') IS DISTINCT FROM 'object' THEN
			RAISE EXCEPTION 'metadata must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.metadata';
		END IF;
		c.metadata := p_patch -> 'metadata';
	END IF;
	IF p_patch ? 'collection' THEN
		PERFORM mockarty_private.collection_check(p_patch -> 'collection');
		c.source := p_patch -> 'collection';
		c.request_count := mockarty_private.collection_request_count(c.source);
	END IF;
	IF p_patch ? 'namespace' THEN
		PERFORM mockarty_private.namespace_ensure(p_patch ->> 'namespace');
		c.namespace := p_patch ->> 'namespace';
	END IF;
	UPDATE mockarty_private.collections x
	SET name = c.name, description = c.description, metadata = c.metadata, source = c.source,
		request_count = c.request_count, namespace = c.namespace, updated_at = now()
	WHERE x.id = p_id RETURNING * INTO c;
	RETURN mockarty_private.collection_json(c);
END
$$;
COMMENT ON FUNCTION mockarty.collection_update(uuid, jsonb) IS 'Changes the keys present in the patch (name, description, metadata, collection, namespace; others are ignored) and returns the collection; P0002 when unknown, 22023 naming a bad field';

CREATE FUNCTION mockarty.collection_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete collections');
	DELETE FROM mockarty_private.collections c WHERE c.id = p_id AND mockarty_private.ns_visible(c.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.collection_delete(uuid) IS 'Deletes a collection (its runs stay, with collectionId NULL); false when unknown';

-- Environments -------------------------------------------------------------

CREATE FUNCTION mockarty_private.environment_variables(v jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	e jsonb;
	i int := 0;
	result jsonb := '{}';
BEGIN
	IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
		RETURN '{}';
	END IF;
	-- a whole Postman environment export: {"name", "values": [...], "_postman_variable_scope"}
	IF jsonb_typeof(v) = 'object' AND v ? '_postman_variable_scope' AND jsonb_typeof(v -> 'values') = 'array' THEN
		v := v -> 'values';
	END IF;
	IF jsonb_typeof(v) = 'object' THEN
		RETURN v;
	END IF;
	IF jsonb_typeof(v) <> 'array' THEN
		RAISE EXCEPTION 'variables must be an object {name: value} or a Postman array [{"key","value"}]'
			USING ERRCODE = '22023', DETAIL = '$.variables';
	END IF;
	FOR e IN SELECT value FROM jsonb_array_elements(v) LOOP
		IF jsonb_typeof(e) IS DISTINCT FROM 'object' OR jsonb_typeof(e -> 'key') IS DISTINCT FROM 'string'
		   OR e ->> 'key' = '' THEN
			RAISE EXCEPTION 'variables[%].key must be a non-empty string', i USING ERRCODE = '22023',
				DETAIL = format('$.variables[%s].key', i);
		END IF;
		IF coalesce(e -> 'enabled', 'true') <> 'false' THEN
			result := result || jsonb_build_object(e ->> 'key', coalesce(e -> 'value', 'null'));
		END IF;
		i := i + 1;
	END LOOP;
	RETURN result;
END
$$;
COMMENT ON FUNCTION mockarty_private.environment_variables(jsonb) IS 'Environment variables as {name: value}: an object as is, a Postman array [{"key","value","enabled"?}] (or a whole Postman environment export) with disabled entries dropped; 22023 naming variables[i].key';

CREATE FUNCTION mockarty_private.environment_json(e mockarty_private.environments) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', e.id::text, 'namespace', e.namespace, 'name', e.name, 'variables', e.variables,
		'isActive', e.is_active, 'createdAt', mockarty_private.rfc3339(e.created_at),
		'updatedAt', mockarty_private.rfc3339(e.updated_at))
$$;
COMMENT ON FUNCTION mockarty_private.environment_json(mockarty_private.environments) IS 'An environment as the API returns it';

CREATE FUNCTION mockarty.environment_create(p_namespace text, p_name text, p_variables jsonb, p_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	e mockarty_private.environments;
	v_vars jsonb := mockarty_private.environment_variables(p_variables);
BEGIN
	IF p_name IS NULL OR btrim(p_name) = '' THEN
		RAISE EXCEPTION 'environment name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
	END IF;
	PERFORM mockarty_private.namespace_ensure(p_namespace);
	IF p_id IS NOT NULL AND EXISTS (SELECT 1 FROM mockarty_private.environments x WHERE x.id = p_id) THEN
		RAISE EXCEPTION 'environment "%" already exists', p_id USING ERRCODE = '23505';
	END IF;
	INSERT INTO mockarty_private.environments (id, namespace, name, variables)
	VALUES (coalesce(p_id, gen_random_uuid()), p_namespace, p_name, v_vars)
	RETURNING * INTO e;
	RETURN mockarty_private.environment_json(e);
END
$$;
COMMENT ON FUNCTION mockarty.environment_create(text, text, jsonb, uuid) IS 'Creates an environment from {name: value} or Postman [{"key","value","enabled"?}] variables (disabled dropped, values kept as given); 22023 naming the bad field, 23505 for a taken id';

CREATE FUNCTION mockarty.environment_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.environment_json(e) FROM mockarty_private.environments e WHERE e.id = p_id AND mockarty_private.ns_visible(e.namespace) $$;
COMMENT ON FUNCTION mockarty.environment_get(uuid) IS 'One environment, NULL when unknown';

CREATE FUNCTION mockarty.environment_list(p_namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.environment_json(e) ORDER BY e.name, e.created_at, e.id), '[]')
		FROM mockarty_private.environments e WHERE s.ns IS NULL OR e.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.environment_list(text) IS 'Environments of a namespace (NULL = all) by name';

CREATE FUNCTION mockarty.environment_activate(p_id uuid) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	e mockarty_private.environments;
BEGIN
	SELECT * INTO e FROM mockarty_private.environments x WHERE x.id = p_id AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('environment', p_id::text);
	END IF;
	PERFORM mockarty_private.role_require('editor', 'activate environments');
	UPDATE mockarty_private.environments x SET is_active = false, updated_at = now()
	WHERE x.namespace = e.namespace AND x.is_active AND x.id <> p_id;
	UPDATE mockarty_private.environments x SET is_active = true, updated_at = now()
	WHERE x.id = p_id RETURNING * INTO e;
	RETURN mockarty_private.environment_json(e);
END
$$;
COMMENT ON FUNCTION mockarty.environment_activate(uuid) IS 'Makes an environment the active one of its namespace (the previous one is deactivated) and returns it; P0002 when unknown';

CREATE FUNCTION mockarty.environment_active(p_namespace text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.environment_json(e) FROM mockarty_private.environments e WHERE e.namespace = mockarty_private.ns_scope(p_namespace) AND e.is_active $$;
COMMENT ON FUNCTION mockarty.environment_active(text) IS 'The active environment of a namespace, NULL when none';

CREATE FUNCTION mockarty.environment_update(p_id uuid, p_patch jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	e mockarty_private.environments;
BEGIN
	IF p_patch IS NULL OR jsonb_typeof(p_patch) <> 'object' THEN
		RAISE EXCEPTION 'patch must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	SELECT * INTO e FROM mockarty_private.environments x WHERE x.id = p_id AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('environment', p_id::text);
	END IF;
	IF p_patch ? 'name' THEN
		IF jsonb_typeof(p_patch -> 'name') IS DISTINCT FROM 'string' OR btrim(p_patch ->> 'name') = '' THEN
			RAISE EXCEPTION 'environment name must not be empty' USING ERRCODE = '22023', DETAIL = '$.name';
		END IF;
		e.name := p_patch ->> 'name';
	END IF;
	IF p_patch ? 'variables' THEN
		e.variables := mockarty_private.environment_variables(p_patch -> 'variables');
	ELSIF p_patch ? 'values' THEN
		e.variables := mockarty_private.environment_variables(p_patch -> 'values');
	END IF;
	IF p_patch ? 'namespace' AND p_patch ->> 'namespace' IS DISTINCT FROM e.namespace THEN
		PERFORM mockarty_private.namespace_ensure(p_patch ->> 'namespace');
		e.namespace := p_patch ->> 'namespace';
		e.is_active := false;
	END IF;
	UPDATE mockarty_private.environments x
	SET name = e.name, variables = e.variables, namespace = e.namespace, is_active = e.is_active, updated_at = now()
	WHERE x.id = p_id RETURNING * INTO e;
	IF p_patch -> 'isActive' = 'true' THEN
		RETURN mockarty.environment_activate(p_id);
	ELSIF p_patch -> 'isActive' = 'false' AND e.is_active THEN
		UPDATE mockarty_private.environments x SET is_active = false WHERE x.id = p_id RETURNING * INTO e;
	END IF;
	RETURN mockarty_private.environment_json(e);
END
$$;
COMMENT ON FUNCTION mockarty.environment_update(uuid, jsonb) IS 'Changes the keys present in the patch (name, variables or values, namespace, isActive) and returns the environment; P0002 when unknown, 22023 naming a bad field';

CREATE FUNCTION mockarty.environment_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete environments');
	DELETE FROM mockarty_private.environments e WHERE e.id = p_id AND mockarty_private.ns_visible(e.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.environment_delete(uuid) IS 'Deletes an environment; false when unknown';

CREATE FUNCTION mockarty_private.run_environment(p_namespace text, p_environment_id uuid) RETURNS mockarty_private.environments
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	e mockarty_private.environments;
BEGIN
	IF p_environment_id IS NOT NULL THEN
		SELECT * INTO e FROM mockarty_private.environments x WHERE x.id = p_environment_id AND mockarty_private.ns_visible(x.namespace);
		IF NOT FOUND THEN
			RAISE EXCEPTION 'environment "%" does not exist', p_environment_id USING ERRCODE = '22023',
				DETAIL = '$.environmentId';
		END IF;
		IF e.namespace <> p_namespace THEN
			RAISE EXCEPTION 'environment "%" belongs to namespace "%", not "%"', p_environment_id, e.namespace,
				p_namespace USING ERRCODE = '22023', DETAIL = '$.environmentId';
		END IF;
		RETURN e;
	END IF;
	SELECT * INTO e FROM mockarty_private.environments x WHERE x.namespace = p_namespace AND x.is_active;
	RETURN e;
END
$$;
COMMENT ON FUNCTION mockarty_private.run_environment(text, uuid) IS 'The environment a run uses: the given one (22023 when unknown or of another namespace), else the namespace''s active one, else a row of NULLs';

CREATE FUNCTION mockarty_private.run_collection(p_id uuid, p_field text) RETURNS mockarty_private.collections
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	c mockarty_private.collections;
BEGIN
	SELECT * INTO c FROM mockarty_private.collections x WHERE x.id = p_id AND mockarty_private.ns_visible(x.namespace);
	IF p_id IS NULL OR NOT FOUND THEN
		RAISE EXCEPTION 'collection "%" does not exist', coalesce(p_id::text, '') USING ERRCODE = '22023',
			DETAIL = '$.' || p_field;
	END IF;
	RETURN c;
END
$$;
COMMENT ON FUNCTION mockarty_private.run_collection(uuid, text) IS 'The collection a run uses; 22023 naming p_field when it does not exist';

-- Test runs ----------------------------------------------------------------

CREATE FUNCTION mockarty_private.test_run_json(t mockarty_private.tasks) RETURNS jsonb
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

CREATE FUNCTION mockarty.test_run_start(p_collection_id uuid, p_environment_id uuid DEFAULT NULL, p_options jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c mockarty_private.collections;
	e mockarty_private.environments;
	t mockarty_private.tasks;
	v_task jsonb;
BEGIN
	c := mockarty_private.run_collection(p_collection_id, 'collectionId');
	e := mockarty_private.run_environment(c.namespace, p_environment_id);
	IF p_options IS NOT NULL AND jsonb_typeof(p_options) <> 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.options';
	END IF;
	v_task := mockarty.task_enqueue('api_test', c.namespace, jsonb_build_object(
		'collectionId', c.id::text, 'collectionName', c.name, 'collection', c.source,
		'environmentId', e.id::text, 'environment', coalesce(e.variables, '{}'),
		'options', coalesce(p_options, '{}')), c.name, 3, c.id, e.id);
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = (v_task ->> 'id')::uuid;
	RETURN mockarty_private.test_run_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.test_run_start(uuid, uuid, jsonb) IS 'Queues an api_test task for a collection in its namespace (payload: collectionId, collectionName, collection, environmentId, environment {k:v} from the given, else the active, else none, options) and returns the TestRun; 22023 for an unknown collection or an environment that is unknown or of another namespace';

CREATE FUNCTION mockarty.test_run_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.test_run_json(t) FROM mockarty_private.tasks t WHERE t.id = p_id AND t.kind = 'api_test' AND mockarty_private.ns_visible(t.namespace) $$;
COMMENT ON FUNCTION mockarty.test_run_get(uuid) IS 'One TestRun, NULL when unknown';

CREATE FUNCTION mockarty.test_run_list(p_namespace text DEFAULT NULL, p_collection_id uuid DEFAULT NULL,
	p_limit int DEFAULT 50, p_offset int DEFAULT 0)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	-- the scope is the outer row, so a refused namespace raises even when no run exists
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.test_run_json(t) ORDER BY t.created_at DESC, t.id DESC), '[]')
	FROM (SELECT x.* FROM mockarty_private.tasks x
	      WHERE x.kind = 'api_test' AND (s.ns IS NULL OR x.namespace = s.ns)
	        AND (p_collection_id IS NULL OR x.collection_id = p_collection_id)
	      ORDER BY x.created_at DESC, x.id DESC
	      LIMIT greatest(coalesce(p_limit, 50), 0) OFFSET greatest(coalesce(p_offset, 0), 0)) t)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.test_run_list(text, uuid, int, int) IS 'TestRuns newest first, filtered by namespace and collection (NULL = any)';

CREATE FUNCTION mockarty.test_run_cancel(p_id uuid) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.tasks x WHERE x.id = p_id AND x.kind = 'api_test' AND mockarty_private.ns_visible(x.namespace)) THEN
		RETURN NULL;
	END IF;
	PERFORM mockarty.task_cancel(p_id);
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = p_id;
	RETURN mockarty_private.test_run_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.test_run_cancel(uuid) IS 'task_cancel() of a test run; returns the TestRun (cancelled at once when queued, still running with the runner told to stop otherwise), NULL when unknown';

CREATE FUNCTION mockarty.test_run_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete test runs');
	DELETE FROM mockarty_private.tasks t WHERE t.id = p_id AND t.kind = 'api_test' AND mockarty_private.ns_visible(t.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.test_run_delete(uuid) IS 'Deletes a test run; false when unknown';

-- Performance runs ---------------------------------------------------------

CREATE FUNCTION mockarty_private.perf_options(p_config jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	o jsonb;
	k text;
	v jsonb;
	st jsonb;
	i int := 0;
	stages jsonb := '[]';
	n numeric;
	result jsonb;
BEGIN
	o := coalesce(p_config -> 'options', '{}');
	IF jsonb_typeof(o) = 'null' THEN
		o := '{}';
	ELSIF jsonb_typeof(o) <> 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023', DETAIL = '$.options';
	END IF;
	-- the SDKs put these at top level; they win over the same key under options
	FOREACH k IN ARRAY ARRAY['vus', 'concurrency', 'duration', 'iterations', 'stages', 'thresholds', 'rate', 'mode', 'timeout'] LOOP
		IF p_config ? k AND jsonb_typeof(p_config -> k) <> 'null' THEN
			o := o || jsonb_build_object(k, p_config -> k);
		END IF;
	END LOOP;
	result := o - ARRAY['vus', 'concurrency', 'duration', 'iterations', 'stages', 'thresholds', 'rate', 'mode', 'timeout'];

	v := coalesce(o -> 'concurrency', o -> 'vus', '10');
	IF jsonb_typeof(v) <> 'number' OR v::numeric <> trunc(v::numeric) OR v::numeric < 1 OR v::numeric > 10000 THEN
		RAISE EXCEPTION 'options.concurrency must be an integer from 1 to 10000' USING ERRCODE = '22023',
			DETAIL = '$.options.concurrency';
	END IF;
	result := result || jsonb_build_object('concurrency', v::numeric::int);

	v := coalesce(o -> 'mode', '"closed"');
	IF v NOT IN ('"closed"', '"open"') THEN
		RAISE EXCEPTION 'options.mode must be "closed" or "open"' USING ERRCODE = '22023', DETAIL = '$.options.mode';
	END IF;
	result := result || jsonb_build_object('mode', v);

	IF o ? 'rate' AND jsonb_typeof(o -> 'rate') <> 'null' THEN
		IF jsonb_typeof(o -> 'rate') <> 'number' OR (o ->> 'rate')::numeric <= 0 THEN
			RAISE EXCEPTION 'options.rate must be a number of requests per second > 0' USING ERRCODE = '22023',
				DETAIL = '$.options.rate';
		END IF;
		result := result || jsonb_build_object('rate', o -> 'rate');
	END IF;

	IF o ? 'duration' AND jsonb_typeof(o -> 'duration') <> 'null' THEN
		result := result || jsonb_build_object('duration', mockarty_private.duration_ms(o -> 'duration', 'options.duration'));
		IF (result ->> 'duration')::bigint <= 0 THEN
			RAISE EXCEPTION 'options.duration must be longer than 0' USING ERRCODE = '22023', DETAIL = '$.options.duration';
		END IF;
	END IF;
	IF o ? 'timeout' AND jsonb_typeof(o -> 'timeout') <> 'null' THEN
		result := result || jsonb_build_object('timeout', mockarty_private.duration_ms(o -> 'timeout', 'options.timeout'));
	END IF;

	IF o ? 'iterations' AND jsonb_typeof(o -> 'iterations') <> 'null' THEN
		v := o -> 'iterations';
		IF jsonb_typeof(v) <> 'number' OR v::numeric <> trunc(v::numeric) OR v::numeric < 0 THEN
			RAISE EXCEPTION 'options.iterations must be an integer >= 0' USING ERRCODE = '22023',
				DETAIL = '$.options.iterations';
		END IF;
		result := result || jsonb_build_object('iterations', v::numeric::bigint);
	END IF;

	IF o ? 'stages' AND jsonb_typeof(o -> 'stages') <> 'null' THEN
		IF jsonb_typeof(o -> 'stages') <> 'array' THEN
			RAISE EXCEPTION 'options.stages must be an array of {"duration","target"}' USING ERRCODE = '22023',
				DETAIL = '$.options.stages';
		END IF;
		FOR st IN SELECT value FROM jsonb_array_elements(o -> 'stages') LOOP
			IF jsonb_typeof(st) IS DISTINCT FROM 'object' OR NOT st ? 'duration' THEN
				RAISE EXCEPTION 'options.stages[%].duration is missing', i USING ERRCODE = '22023',
					DETAIL = format('$.options.stages[%s].duration', i);
			END IF;
			IF jsonb_typeof(st -> 'target') IS DISTINCT FROM 'number' OR (st ->> 'target')::numeric < 0 THEN
				RAISE EXCEPTION 'options.stages[%].target must be a number >= 0', i USING ERRCODE = '22023',
					DETAIL = format('$.options.stages[%s].target', i);
			END IF;
			n := mockarty_private.duration_ms(st -> 'duration', format('options.stages[%s].duration', i));
			stages := stages || jsonb_build_array(jsonb_build_object('duration', n, 'target', st -> 'target'));
			i := i + 1;
		END LOOP;
		result := result || jsonb_build_object('stages', stages);
	END IF;

	IF result ->> 'mode' = 'open' AND NOT result ? 'rate' AND NOT result ? 'stages' THEN
		RAISE EXCEPTION 'options.rate is required in open mode' USING ERRCODE = '22023', DETAIL = '$.options.rate';
	END IF;

	IF o ? 'thresholds' AND jsonb_typeof(o -> 'thresholds') <> 'null' THEN
		IF jsonb_typeof(o -> 'thresholds') <> 'object' THEN
			RAISE EXCEPTION 'options.thresholds must be a JSON object' USING ERRCODE = '22023',
				DETAIL = '$.options.thresholds';
		END IF;
		result := result || jsonb_build_object('thresholds', o -> 'thresholds');
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION mockarty_private.perf_options(jsonb) IS 'Normalised load-test options of a perf run config: options merged with the top-level SDK fields; concurrency (= vus, default 10), mode (closed default, open needs rate or stages), duration/timeout/stage durations in ms ("60s", "2m" accepted), rate, iterations, thresholds; other keys kept; 22023 naming the field';

CREATE FUNCTION mockarty_private.perf_run_json(t mockarty_private.tasks) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id::text, 'name', t.name, 'namespace', t.namespace,
		'collectionId', coalesce(t.collection_id::text, t.payload ->> 'collectionId'),
		'status', CASE t.status WHEN 'leased' THEN 'running' WHEN 'cancelled' THEN 'stopped' ELSE t.status END,
		'options', t.payload -> 'options', 'progress', t.progress, 'report', t.result,
		'passed', CASE WHEN jsonb_typeof(t.result -> 'passed') = 'boolean' THEN t.result -> 'passed' ELSE 'null' END,
		'startedAt', mockarty_private.rfc3339(t.started_at),
		'completedAt', mockarty_private.rfc3339(t.completed_at),
		'createdAt', mockarty_private.rfc3339(t.created_at),
		'runner', t.runner_name, 'error', t.error)
$$;
COMMENT ON FUNCTION mockarty_private.perf_run_json(mockarty_private.tasks) IS 'A performance task as a PerfRun: status queued, running, completed, failed or stopped (cancelled); report = the load report, passed = its threshold verdict';

CREATE FUNCTION mockarty.perf_run_start(p_namespace text, p_config jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c mockarty_private.collections;
	e mockarty_private.environments;
	t mockarty_private.tasks;
	v_coll text;
	v_env text;
	v_field text := 'script.collectionId';
	v_opts jsonb;
	v_name text;
	v_task jsonb;
	g jsonb;
	k text;
	v jsonb;
BEGIN
	IF p_config IS NULL OR jsonb_typeof(p_config) <> 'object' THEN
		RAISE EXCEPTION 'perf run config must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	IF p_config ? 'script' AND jsonb_typeof(p_config -> 'script') NOT IN ('object', 'null') THEN
		RAISE EXCEPTION 'script must be an object {"collectionId","environmentId"}' USING ERRCODE = '22023',
			DETAIL = '$.script';
	END IF;
	-- a gRPC load test: unary calls of one method, the message encoded by the runner from JSON
	g := p_config -> 'script' -> 'grpc';
	IF g IS NOT NULL AND jsonb_typeof(g) <> 'null' THEN
		IF jsonb_typeof(g) <> 'object' THEN
			RAISE EXCEPTION 'script.grpc must be an object {"target","method","descriptorSet","message","metadata"}'
				USING ERRCODE = '22023', DETAIL = '$.script.grpc';
		END IF;
		IF jsonb_typeof(g -> 'target') IS DISTINCT FROM 'string' OR g ->> 'target' !~ '^[^\s/]+:[0-9]{1,5}$' THEN
			RAISE EXCEPTION 'script.grpc.target must be "host:port"' USING ERRCODE = '22023', DETAIL = '$.script.grpc.target';
		END IF;
		IF jsonb_typeof(g -> 'method') IS DISTINCT FROM 'string' OR g ->> 'method' !~ '^/?[A-Za-z0-9_.]+/[A-Za-z0-9_]+$' THEN
			RAISE EXCEPTION 'script.grpc.method must be "pkg.Service/Method"' USING ERRCODE = '22023',
				DETAIL = '$.script.grpc.method';
		END IF;
		IF jsonb_typeof(g -> 'descriptorSet') IS DISTINCT FROM 'string'
		   OR g ->> 'descriptorSet' !~ '^[A-Za-z0-9+/\s]+=*\s*$' THEN
			RAISE EXCEPTION 'script.grpc.descriptorSet must be a FileDescriptorSet in base64 (protoc --include_imports --descriptor_set_out)'
				USING ERRCODE = '22023', DETAIL = '$.script.grpc.descriptorSet';
		END IF;
		IF g ? 'message' AND jsonb_typeof(g -> 'message') NOT IN ('object', 'null') THEN
			RAISE EXCEPTION 'script.grpc.message must be a JSON object (the request message in proto3 JSON)'
				USING ERRCODE = '22023', DETAIL = '$.script.grpc.message';
		END IF;
		IF g ? 'metadata' AND jsonb_typeof(g -> 'metadata') NOT IN ('object', 'null') THEN
			RAISE EXCEPTION 'script.grpc.metadata must be an object of strings' USING ERRCODE = '22023',
				DETAIL = '$.script.grpc.metadata';
		END IF;
		IF jsonb_typeof(g -> 'metadata') = 'object' THEN
			FOR k, v IN SELECT * FROM jsonb_each(g -> 'metadata') LOOP
				IF jsonb_typeof(v) <> 'string' THEN
					RAISE EXCEPTION 'script.grpc.metadata.% must be a string', k USING ERRCODE = '22023',
						DETAIL = '$.script.grpc.metadata.' || k;
				END IF;
			END LOOP;
		END IF;
		v_opts := mockarty_private.perf_options(p_config);
		v_name := coalesce(nullif(btrim(p_config ->> 'name'), ''), 'gRPC ' || (g ->> 'method'));
		v_task := mockarty.task_enqueue('performance', coalesce(p_namespace, 'default'),
			jsonb_build_object('name', v_name, 'grpc', g, 'options', v_opts), v_name, 1);
		SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = (v_task ->> 'id')::uuid;
		RETURN mockarty_private.perf_run_json(t);
	END IF;
	v_coll := p_config -> 'script' ->> 'collectionId';
	IF v_coll IS NULL THEN
		v_coll := p_config ->> 'collectionId';
		v_field := 'collectionId';
	END IF;
	IF v_coll IS NULL OR mockarty_private.integration_id(v_coll) IS NULL THEN
		RAISE EXCEPTION '% must be a collection id (uuid)', v_field USING ERRCODE = '22023', DETAIL = '$.' || v_field;
	END IF;
	c := mockarty_private.run_collection(v_coll::uuid, v_field);
	IF p_namespace IS NOT NULL AND p_namespace <> c.namespace THEN
		RAISE EXCEPTION 'collection "%" belongs to namespace "%", not "%"', c.id, c.namespace, p_namespace
			USING ERRCODE = '22023', DETAIL = '$.' || v_field;
	END IF;
	v_env := coalesce(p_config -> 'script' ->> 'environmentId', p_config ->> 'environmentId');
	IF v_env IS NOT NULL AND mockarty_private.integration_id(v_env) IS NULL THEN
		RAISE EXCEPTION 'environmentId must be an environment id (uuid)' USING ERRCODE = '22023',
			DETAIL = '$.script.environmentId';
	END IF;
	e := mockarty_private.run_environment(c.namespace, v_env::uuid);
	v_opts := mockarty_private.perf_options(p_config);
	v_name := coalesce(nullif(btrim(p_config ->> 'name'), ''), c.name);
	v_task := mockarty.task_enqueue('performance', c.namespace, jsonb_build_object(
		'name', v_name, 'collectionId', c.id::text, 'collection', c.source,
		'environmentId', e.id::text, 'environment', coalesce(e.variables, '{}'), 'options', v_opts),
		v_name, 1, c.id, e.id);
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = (v_task ->> 'id')::uuid;
	RETURN mockarty_private.perf_run_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.perf_run_start(text, jsonb) IS 'Queues a performance task for a collection (config: the guide''s {"script":{"collectionId","environmentId"},"options":{...}} or the SDKs'' top-level collectionId/vus/duration/...; namespace NULL = the collection''s) or a gRPC load test ({"script":{"grpc":{"target","method","descriptorSet" (base64),"message","metadata"}},"options":{...}}; namespace NULL = default) and returns the PerfRun; one attempt (a load test is not silently re-run); 22023 naming the bad field';

CREATE FUNCTION mockarty.perf_run_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.perf_run_json(t) FROM mockarty_private.tasks t WHERE t.id = p_id AND t.kind = 'performance' AND mockarty_private.ns_visible(t.namespace) $$;
COMMENT ON FUNCTION mockarty.perf_run_get(uuid) IS 'One PerfRun, NULL when unknown';

CREATE FUNCTION mockarty.perf_run_list(p_namespace text DEFAULT NULL, p_limit int DEFAULT 50, p_offset int DEFAULT 0)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	-- the scope is the outer row, so a refused namespace raises even when no run exists
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.perf_run_json(t) ORDER BY t.created_at DESC, t.id DESC), '[]')
	FROM (SELECT x.* FROM mockarty_private.tasks x
	      WHERE x.kind = 'performance' AND (s.ns IS NULL OR x.namespace = s.ns)
	      ORDER BY x.created_at DESC, x.id DESC
	      LIMIT greatest(coalesce(p_limit, 50), 0) OFFSET greatest(coalesce(p_offset, 0), 0)) t)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.perf_run_list(text, int, int) IS 'PerfRuns newest first (namespace NULL = all)';

CREATE FUNCTION mockarty.perf_run_stop(p_id uuid) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	t mockarty_private.tasks;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.tasks x WHERE x.id = p_id AND x.kind = 'performance' AND mockarty_private.ns_visible(x.namespace)) THEN
		RETURN NULL;
	END IF;
	PERFORM mockarty.task_cancel(p_id);
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = p_id;
	RETURN mockarty_private.perf_run_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.perf_run_stop(uuid) IS 'task_cancel() of a perf run: stopped at once when queued, otherwise the runner is told to stop and reports what it measured; returns the PerfRun, NULL when unknown';

CREATE FUNCTION mockarty.perf_run_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete perf runs');
	DELETE FROM mockarty_private.tasks t WHERE t.id = p_id AND t.kind = 'performance' AND mockarty_private.ns_visible(t.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.perf_run_delete(uuid) IS 'Deletes a perf run; false when unknown';

