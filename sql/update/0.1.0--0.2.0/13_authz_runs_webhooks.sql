-- 13_authz_runs_webhooks: the caller rule for collections, environments, test and perf runs,
-- tasks and webhooks (issue 9, section 1): ids of another namespace read as unknown, lists of
-- a bound caller are its namespace's, writes into another namespace raise 42501 (through
-- namespace_ensure), viewers cannot delete or cancel, only admins manage webhooks.

CREATE OR REPLACE FUNCTION mockarty.collection_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.collection_json(c) FROM mockarty_private.collections c WHERE c.id = p_id AND mockarty_private.ns_visible(c.namespace) $$;
COMMENT ON FUNCTION mockarty.collection_get(uuid) IS 'One collection with its Postman document, NULL when unknown';

CREATE OR REPLACE FUNCTION mockarty.collection_list(p_namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.collection_json(c, false) ORDER BY c.name, c.created_at, c.id), '[]')
		FROM mockarty_private.collections c WHERE s.ns IS NULL OR c.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.collection_list(text) IS 'Collections of a namespace (NULL = all) by name, without the Postman documents';

CREATE OR REPLACE FUNCTION mockarty.collection_update(p_id uuid, p_patch jsonb) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.collection_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete collections');
	DELETE FROM mockarty_private.collections c WHERE c.id = p_id AND mockarty_private.ns_visible(c.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.collection_delete(uuid) IS 'Deletes a collection (its runs stay, with collectionId NULL); false when unknown';

CREATE OR REPLACE FUNCTION mockarty.environment_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.environment_json(e) FROM mockarty_private.environments e WHERE e.id = p_id AND mockarty_private.ns_visible(e.namespace) $$;
COMMENT ON FUNCTION mockarty.environment_get(uuid) IS 'One environment, NULL when unknown';

CREATE OR REPLACE FUNCTION mockarty.environment_list(p_namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.environment_json(e) ORDER BY e.name, e.created_at, e.id), '[]')
		FROM mockarty_private.environments e WHERE s.ns IS NULL OR e.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.environment_list(text) IS 'Environments of a namespace (NULL = all) by name';

CREATE OR REPLACE FUNCTION mockarty.environment_activate(p_id uuid) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.environment_active(p_namespace text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.environment_json(e) FROM mockarty_private.environments e WHERE e.namespace = mockarty_private.ns_scope(p_namespace) AND e.is_active $$;
COMMENT ON FUNCTION mockarty.environment_active(text) IS 'The active environment of a namespace, NULL when none';

CREATE OR REPLACE FUNCTION mockarty.environment_update(p_id uuid, p_patch jsonb) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.environment_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete environments');
	DELETE FROM mockarty_private.environments e WHERE e.id = p_id AND mockarty_private.ns_visible(e.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.environment_delete(uuid) IS 'Deletes an environment; false when unknown';

CREATE OR REPLACE FUNCTION mockarty_private.run_environment(p_namespace text, p_environment_id uuid) RETURNS mockarty_private.environments
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

CREATE OR REPLACE FUNCTION mockarty_private.run_collection(p_id uuid, p_field text) RETURNS mockarty_private.collections
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

CREATE OR REPLACE FUNCTION mockarty.test_run_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.test_run_json(t) FROM mockarty_private.tasks t WHERE t.id = p_id AND t.kind = 'api_test' AND mockarty_private.ns_visible(t.namespace) $$;
COMMENT ON FUNCTION mockarty.test_run_get(uuid) IS 'One TestRun, NULL when unknown';

CREATE OR REPLACE FUNCTION mockarty.test_run_list(p_namespace text DEFAULT NULL, p_collection_id uuid DEFAULT NULL,
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

CREATE OR REPLACE FUNCTION mockarty.test_run_cancel(p_id uuid) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.test_run_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete test runs');
	DELETE FROM mockarty_private.tasks t WHERE t.id = p_id AND t.kind = 'api_test' AND mockarty_private.ns_visible(t.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.test_run_delete(uuid) IS 'Deletes a test run; false when unknown';

CREATE OR REPLACE FUNCTION mockarty.perf_run_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.perf_run_json(t) FROM mockarty_private.tasks t WHERE t.id = p_id AND t.kind = 'performance' AND mockarty_private.ns_visible(t.namespace) $$;
COMMENT ON FUNCTION mockarty.perf_run_get(uuid) IS 'One PerfRun, NULL when unknown';

CREATE OR REPLACE FUNCTION mockarty.perf_run_list(p_namespace text DEFAULT NULL, p_limit int DEFAULT 50, p_offset int DEFAULT 0)
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

CREATE OR REPLACE FUNCTION mockarty.perf_run_stop(p_id uuid) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.perf_run_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete perf runs');
	DELETE FROM mockarty_private.tasks t WHERE t.id = p_id AND t.kind = 'performance' AND mockarty_private.ns_visible(t.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.perf_run_delete(uuid) IS 'Deletes a perf run; false when unknown';

CREATE OR REPLACE FUNCTION mockarty.task_get(p_id uuid, p_with_payload boolean DEFAULT false) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.task_json(t, coalesce(p_with_payload, false)) FROM mockarty_private.tasks t WHERE t.id = p_id AND mockarty_private.ns_visible(t.namespace) $$;
COMMENT ON FUNCTION mockarty.task_get(uuid, boolean) IS 'One task (with its payload when asked), NULL when unknown';

CREATE OR REPLACE FUNCTION mockarty.task_results(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(r.data ORDER BY r.seq), '[]') FROM mockarty_private.task_results r WHERE r.task_id = p_id
	  AND EXISTS (SELECT 1 FROM mockarty_private.tasks t WHERE t.id = r.task_id AND mockarty_private.ns_visible(t.namespace))
$$;
COMMENT ON FUNCTION mockarty.task_results(uuid) IS 'The result chunks (data) of a task''s current attempt in seq order';

CREATE OR REPLACE FUNCTION mockarty.task_list(p_kind text DEFAULT NULL, p_namespace text DEFAULT NULL, p_status text DEFAULT NULL,
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

CREATE OR REPLACE FUNCTION mockarty.task_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete tasks');
	DELETE FROM mockarty_private.tasks t WHERE t.id = p_id AND mockarty_private.ns_visible(t.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.task_delete(uuid) IS 'Deletes a task and its result chunks (a runner still holding it sees its lease lost); false when unknown';

CREATE OR REPLACE FUNCTION mockarty.task_cancel(p_task_id uuid) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mockarty.webhook_create(p_spec jsonb, p_namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c jsonb := mockarty_private.webhook_check(p_spec, true);
	w mockarty_private.webhooks;
	ns text := coalesce(p_namespace, c ->> 'namespace', mockarty_private.caller_namespace());
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage webhooks');
	IF ns IS NOT NULL THEN
		PERFORM mockarty_private.namespace_ensure(ns);
	END IF;
	INSERT INTO mockarty_private.webhooks (namespace, name, url, method, headers, events, spelled, secret, enabled)
	VALUES (ns, coalesce(c ->> 'name', ''), c ->> 'url', coalesce(c ->> 'method', 'POST'), coalesce(c -> 'headers', '{}'),
		ARRAY(SELECT jsonb_array_elements_text(c -> 'events')), c -> 'spelled', c ->> 'secret',
		coalesce((c ->> 'enabled')::boolean, true))
	RETURNING * INTO w;
	RETURN mockarty_private.webhook_json(w);
END
$$;
COMMENT ON FUNCTION mockarty.webhook_create(jsonb, text) IS 'Creates a webhook from {"url","events":[...]|"operation","secret"?,"name"?,"method"?(POST),"headers"?,"enabled"?(true),"namespace"?}; p_namespace (e.g. from a REST path) overrides the document''s; no namespace = events of all namespaces; 22023 naming the bad field';

CREATE OR REPLACE FUNCTION mockarty.webhook_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.webhook_json(w) FROM mockarty_private.webhooks w WHERE w.id = p_id AND mockarty_private.ns_visible(w.namespace) $$;
COMMENT ON FUNCTION mockarty.webhook_get(uuid) IS 'One webhook, NULL when unknown';

CREATE OR REPLACE FUNCTION mockarty.webhook_list(p_namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.webhook_json(w) ORDER BY w.created_at, w.id), '[]')
		FROM mockarty_private.webhooks w WHERE s.ns IS NULL OR w.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.webhook_list(text) IS 'Webhooks oldest first; p_namespace NULL = all, else those bound to that namespace';

CREATE OR REPLACE FUNCTION mockarty.webhook_update(p_id uuid, p_patch jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c jsonb := mockarty_private.webhook_check(p_patch, false);
	w mockarty_private.webhooks;
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage webhooks');
	IF c ? 'namespace' THEN
		PERFORM mockarty_private.ns_check(c ->> 'namespace');
	END IF;
	IF c ? 'namespace' AND c ->> 'namespace' IS NOT NULL THEN
		PERFORM mockarty_private.namespace_ensure(c ->> 'namespace');
	END IF;
	UPDATE mockarty_private.webhooks x SET
		url = coalesce(c ->> 'url', x.url),
		method = coalesce(c ->> 'method', x.method),
		headers = coalesce(c -> 'headers', x.headers),
		events = CASE WHEN c ? 'events' THEN ARRAY(SELECT jsonb_array_elements_text(c -> 'events')) ELSE x.events END,
		spelled = CASE WHEN c ? 'events' THEN c -> 'spelled' ELSE x.spelled END,
		secret = CASE WHEN c ? 'secret' THEN c ->> 'secret' ELSE x.secret END,
		enabled = coalesce((c ->> 'enabled')::boolean, x.enabled),
		name = coalesce(c ->> 'name', x.name),
		namespace = CASE WHEN c ? 'namespace' THEN c ->> 'namespace' ELSE x.namespace END,
		updated_at = now()
	WHERE x.id = p_id AND mockarty_private.ns_visible(x.namespace)
	RETURNING * INTO w;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN mockarty_private.webhook_json(w);
END
$$;
COMMENT ON FUNCTION mockarty.webhook_update(uuid, jsonb) IS 'Changes the given fields of a webhook ("secret": null removes the secret); returns it, NULL when unknown; 22023 naming a bad field';

CREATE OR REPLACE FUNCTION mockarty.webhook_set_enabled(p_id uuid, p_enabled boolean) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT mockarty.webhook_update(p_id, jsonb_build_object('enabled', coalesce(p_enabled, true))) $$;
COMMENT ON FUNCTION mockarty.webhook_set_enabled(uuid, boolean) IS 'Enables or disables a webhook; a disabled one records no new deliveries and its pending ones wait until it is enabled again; NULL when unknown';

CREATE OR REPLACE FUNCTION mockarty.webhook_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage webhooks');
	DELETE FROM mockarty_private.webhooks w WHERE w.id = p_id AND mockarty_private.ns_visible(w.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.webhook_delete(uuid) IS 'Deletes a webhook with its deliveries and their history; false when unknown';

CREATE OR REPLACE FUNCTION mockarty.webhook_deliveries(p_webhook_id uuid, p_limit int DEFAULT 50, p_offset int DEFAULT 0,
	p_status text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.webhook_delivery_json(d) ORDER BY d.id DESC), '[]')
	FROM (SELECT * FROM mockarty_private.webhook_deliveries x
	      WHERE x.webhook_id = p_webhook_id AND (p_status IS NULL OR x.status = p_status) AND mockarty_private.ns_visible(x.namespace)
	      ORDER BY x.id DESC LIMIT greatest(coalesce(p_limit, 50), 0) OFFSET greatest(coalesce(p_offset, 0), 0)) d
$$;
COMMENT ON FUNCTION mockarty.webhook_deliveries(uuid, int, int, text) IS 'Deliveries of a webhook newest first, each with its attempt history; p_status filters (pending, delivering, succeeded, failed)';

CREATE OR REPLACE FUNCTION mockarty.webhook_delivery_get(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.webhook_delivery_json(d) FROM mockarty_private.webhook_deliveries d WHERE d.id = p_id AND mockarty_private.ns_visible(d.namespace) $$;
COMMENT ON FUNCTION mockarty.webhook_delivery_get(bigint) IS 'One delivery with its attempt history, NULL when unknown';

CREATE OR REPLACE FUNCTION mockarty.webhook_delivery_list(p_status text DEFAULT NULL, p_mock_id text DEFAULT NULL,
	p_limit int DEFAULT 50, p_offset int DEFAULT 0)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(mockarty_private.webhook_delivery_json(d) ORDER BY d.id DESC), '[]')
	FROM (SELECT * FROM mockarty_private.webhook_deliveries x
	      WHERE (p_status IS NULL OR x.status = p_status) AND (p_mock_id IS NULL OR x.mock_id = p_mock_id)
	        AND mockarty_private.ns_visible(x.namespace)
	      ORDER BY x.id DESC LIMIT greatest(coalesce(p_limit, 50), 0) OFFSET greatest(coalesce(p_offset, 0), 0)) d
$$;
COMMENT ON FUNCTION mockarty.webhook_delivery_list(text, text, int, int) IS 'All deliveries (webhooks and per-mock callbacks) newest first, filtered by status and/or mock';

CREATE OR REPLACE FUNCTION mockarty.webhook_delivery_retry(p_id bigint) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	d mockarty_private.webhook_deliveries;
BEGIN
	SELECT * INTO d FROM mockarty_private.webhook_deliveries x WHERE x.id = p_id AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	PERFORM mockarty_private.role_require('admin', 'manage webhooks');
	IF d.status <> 'failed' THEN
		RAISE EXCEPTION 'delivery % is %; only a failed delivery can be retried', p_id, d.status
			USING ERRCODE = '22023', DETAIL = '$.status';
	END IF;
	UPDATE mockarty_private.webhook_deliveries x
	SET status = 'pending', max_attempts = x.attempts + 1, next_attempt_at = clock_timestamp(), manual = true,
		completed_at = NULL, updated_at = clock_timestamp(), schedule = x.schedule || 0
	WHERE x.id = p_id
	RETURNING * INTO d;
	RETURN mockarty_private.webhook_delivery_json(d);
END
$$;
COMMENT ON FUNCTION mockarty.webhook_delivery_retry(bigint) IS 'Retry by hand: a failed delivery gets one more attempt at once (marked manual in the history); NULL when unknown; 22023 when it is not failed';
