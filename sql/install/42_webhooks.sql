-- 42_webhooks.sql - webhook subscriptions, deliveries, claims and attempts.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

-- Webhooks -----------------------------------------------------------------

CREATE FUNCTION mockarty_private.webhook_event_names(p_name text) RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE lower(btrim(p_name))
		WHEN 'mock.resolved' THEN ARRAY['mock.resolved']
		WHEN 'mock.created' THEN ARRAY['mock.created']
		WHEN 'mock.deleted' THEN ARRAY['mock.deleted']
		WHEN 'mock.changed' THEN ARRAY['mock.created', 'mock.deleted']
		WHEN 'test_run.completed' THEN ARRAY['test_run.completed']
		WHEN 'testrun.completed' THEN ARRAY['test_run.completed']
		WHEN 'test.completed' THEN ARRAY['test_run.completed']
		WHEN 'undefined_request.received' THEN ARRAY['undefined_request.received']
		WHEN 'undefined.detected' THEN ARRAY['undefined_request.received']
		WHEN 'undefined_request.detected' THEN ARRAY['undefined_request.received']
		WHEN 'fuzzing.completed' THEN ARRAY['fuzzing.completed']
		WHEN 'contract.violation' THEN ARRAY['contract.violation']
		WHEN '*' THEN ARRAY['mock.resolved', 'mock.created', 'mock.deleted', 'test_run.completed',
			'undefined_request.received']
	END
$$;
COMMENT ON FUNCTION mockarty_private.webhook_event_names(text) IS 'Canonical event names of one spelling (the guide''s, the Go/Java SDK operations, the Python SDK events; "*" = all five), NULL when unknown';

CREATE FUNCTION mockarty_private.webhook_json(w mockarty_private.webhooks) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', w.id::text, 'name', w.name, 'namespace', w.namespace, 'url', w.url,
		'method', w.method, 'headers', w.headers, 'events', to_jsonb(w.events),
		'operation', coalesce(w.spelled ->> 'operation', w.events[1]),
		'enabled', w.enabled, 'hasSecret', w.secret IS NOT NULL,
		'createdAt', mockarty_private.rfc3339(w.created_at), 'updatedAt', mockarty_private.rfc3339(w.updated_at))
$$;
COMMENT ON FUNCTION mockarty_private.webhook_json(mockarty_private.webhooks) IS 'A webhook as the API returns it (never the secret: hasSecret says whether one is set)';

-- Validates a webhook document (create: every field; patch: the given ones) and
-- returns the columns as one jsonb {"url","method","headers","events","spelled",
-- "secret","enabled","name","namespace"} holding only the fields present.
CREATE FUNCTION mockarty_private.webhook_check(p_spec jsonb, p_create boolean) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	out jsonb := '{}';
	ev text[] := '{}';
	spelled jsonb := '{}';
	names text[];
	e jsonb;
	i int := 0;
	k text;
	v jsonb;
BEGIN
	IF p_spec IS NULL OR jsonb_typeof(p_spec) <> 'object' THEN
		RAISE EXCEPTION 'webhook must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	IF p_spec ? 'url' OR p_create THEN
		IF jsonb_typeof(p_spec -> 'url') IS DISTINCT FROM 'string' OR (p_spec ->> 'url') !~* '^https?://[^/?#]+' THEN
			RAISE EXCEPTION 'url must be an http:// or https:// URL' USING ERRCODE = '22023', DETAIL = '$.url';
		END IF;
		out := out || jsonb_build_object('url', p_spec ->> 'url');
	END IF;
	IF p_spec ? 'method' AND jsonb_typeof(p_spec -> 'method') <> 'null' THEN
		IF jsonb_typeof(p_spec -> 'method') <> 'string'
		   OR upper(p_spec ->> 'method') NOT IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE') THEN
			RAISE EXCEPTION 'method must be GET, POST, PUT, PATCH or DELETE' USING ERRCODE = '22023', DETAIL = '$.method';
		END IF;
		out := out || jsonb_build_object('method', upper(p_spec ->> 'method'));
	END IF;
	IF p_spec ? 'headers' AND jsonb_typeof(p_spec -> 'headers') <> 'null' THEN
		IF jsonb_typeof(p_spec -> 'headers') <> 'object' THEN
			RAISE EXCEPTION 'headers must be an object of name -> string' USING ERRCODE = '22023', DETAIL = '$.headers';
		END IF;
		FOR k, v IN SELECT * FROM jsonb_each(p_spec -> 'headers') LOOP
			IF jsonb_typeof(v) <> 'string' OR k !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' OR (v #>> '{}') ~ '[\r\n]' THEN
				RAISE EXCEPTION 'header "%" must be a token name with a one-line string value', k
					USING ERRCODE = '22023', DETAIL = '$.headers.' || k;
			END IF;
		END LOOP;
		out := out || jsonb_build_object('headers', p_spec -> 'headers');
	END IF;
	-- events: the guide's and Python's "events" array, or Go/Java's single "operation"
	IF p_spec ? 'events' AND jsonb_typeof(p_spec -> 'events') <> 'null' THEN
		IF jsonb_typeof(p_spec -> 'events') <> 'array' OR jsonb_array_length(p_spec -> 'events') = 0 THEN
			RAISE EXCEPTION 'events must be a non-empty array of event names' USING ERRCODE = '22023', DETAIL = '$.events';
		END IF;
		FOR e IN SELECT value FROM jsonb_array_elements(p_spec -> 'events') LOOP
			names := CASE WHEN jsonb_typeof(e) = 'string' THEN mockarty_private.webhook_event_names(e #>> '{}') END;
			IF names IS NULL THEN
				RAISE EXCEPTION 'unknown event %', e::text USING ERRCODE = '22023', DETAIL = '$.events[' || i || ']',
					HINT = 'Events are mock.resolved, mock.created, mock.deleted, test_run.completed and undefined_request.received.';
			END IF;
			ev := ev || names;
			i := i + 1;
		END LOOP;
		spelled := spelled || jsonb_build_object('events', p_spec -> 'events');
	END IF;
	IF p_spec ? 'operation' AND jsonb_typeof(p_spec -> 'operation') <> 'null' THEN
		names := CASE WHEN jsonb_typeof(p_spec -> 'operation') = 'string'
			THEN mockarty_private.webhook_event_names(p_spec ->> 'operation') END;
		IF names IS NULL THEN
			RAISE EXCEPTION 'unknown operation %', (p_spec -> 'operation')::text USING ERRCODE = '22023',
				DETAIL = '$.operation';
		END IF;
		ev := ev || names;
		spelled := spelled || jsonb_build_object('operation', p_spec -> 'operation');
	END IF;
	IF cardinality(ev) > 0 THEN
		out := out || jsonb_build_object('events', (SELECT to_jsonb(array_agg(DISTINCT x ORDER BY x)) FROM unnest(ev) x),
			'spelled', spelled);
	ELSIF p_create THEN
		RAISE EXCEPTION 'a webhook needs "events" (or "operation")' USING ERRCODE = '22023', DETAIL = '$.events';
	END IF;
	IF p_spec ? 'secret' THEN
		IF jsonb_typeof(p_spec -> 'secret') NOT IN ('string', 'null') THEN
			RAISE EXCEPTION 'secret must be a string' USING ERRCODE = '22023', DETAIL = '$.secret';
		END IF;
		out := out || jsonb_build_object('secret', nullif(p_spec ->> 'secret', ''));
	END IF;
	IF p_spec ? 'enabled' AND jsonb_typeof(p_spec -> 'enabled') <> 'null' THEN
		IF jsonb_typeof(p_spec -> 'enabled') <> 'boolean' THEN
			RAISE EXCEPTION 'enabled must be a boolean' USING ERRCODE = '22023', DETAIL = '$.enabled';
		END IF;
		out := out || jsonb_build_object('enabled', p_spec -> 'enabled');
	END IF;
	IF p_spec ? 'name' AND jsonb_typeof(p_spec -> 'name') <> 'null' THEN
		IF jsonb_typeof(p_spec -> 'name') <> 'string' THEN
			RAISE EXCEPTION 'name must be a string' USING ERRCODE = '22023', DETAIL = '$.name';
		END IF;
		out := out || jsonb_build_object('name', p_spec ->> 'name');
	END IF;
	IF p_spec ? 'namespace' THEN
		IF jsonb_typeof(p_spec -> 'namespace') NOT IN ('string', 'null') THEN
			RAISE EXCEPTION 'namespace must be a string' USING ERRCODE = '22023', DETAIL = '$.namespace';
		END IF;
		out := out || jsonb_build_object('namespace', nullif(p_spec ->> 'namespace', ''));
	END IF;
	RETURN out;
END
$$;
COMMENT ON FUNCTION mockarty_private.webhook_check(jsonb, boolean) IS 'Validates a webhook document (all fields on create, the given ones on patch); 22023 naming the field';

CREATE FUNCTION mockarty.webhook_create(p_spec jsonb, p_namespace text DEFAULT NULL) RETURNS jsonb
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

CREATE FUNCTION mockarty.webhook_get(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.webhook_json(w) FROM mockarty_private.webhooks w WHERE w.id = p_id AND mockarty_private.ns_visible(w.namespace) $$;
COMMENT ON FUNCTION mockarty.webhook_get(uuid) IS 'One webhook, NULL when unknown';

CREATE FUNCTION mockarty.webhook_list(p_namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.webhook_json(w) ORDER BY w.created_at, w.id), '[]')
		FROM mockarty_private.webhooks w WHERE s.ns IS NULL OR w.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(p_namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.webhook_list(text) IS 'Webhooks oldest first; p_namespace NULL = all, else those bound to that namespace';

CREATE FUNCTION mockarty.webhook_update(p_id uuid, p_patch jsonb) RETURNS jsonb
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

CREATE FUNCTION mockarty.webhook_set_enabled(p_id uuid, p_enabled boolean) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT mockarty.webhook_update(p_id, jsonb_build_object('enabled', coalesce(p_enabled, true))) $$;
COMMENT ON FUNCTION mockarty.webhook_set_enabled(uuid, boolean) IS 'Enables or disables a webhook; a disabled one records no new deliveries and its pending ones wait until it is enabled again; NULL when unknown';

CREATE FUNCTION mockarty.webhook_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM mockarty_private.role_require('admin', 'manage webhooks');
	DELETE FROM mockarty_private.webhooks w WHERE w.id = p_id AND mockarty_private.ns_visible(w.namespace);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION mockarty.webhook_delete(uuid) IS 'Deletes a webhook with its deliveries and their history; false when unknown';

-- Deliveries ---------------------------------------------------------------

CREATE FUNCTION mockarty_private.webhook_schedule() RETURNS int[]
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.duration_list_ms(mockarty.setting_get('webhook_retry_schedule'), 'webhook_retry_schedule') $$;
COMMENT ON FUNCTION mockarty_private.webhook_schedule() IS 'The retry schedule in force as delays in ms (setting webhook_retry_schedule)';

CREATE FUNCTION mockarty_private.webhook_subscribed(p_event text) RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT EXISTS (SELECT 1 FROM mockarty_private.webhooks w WHERE w.enabled AND w.events @> ARRAY[p_event]) $$;
COMMENT ON FUNCTION mockarty_private.webhook_subscribed(text) IS 'True when some enabled webhook subscribes to the event: the fast exit of every event trigger';

-- p_items: [{"namespace","data","at"(timestamptz text)}], one per event occurrence.
CREATE FUNCTION mockarty_private.webhook_enqueue_events(p_event text, p_items jsonb) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	sched int[];
	n int;
BEGIN
	IF p_items IS NULL OR jsonb_array_length(p_items) = 0 THEN
		RETURN 0;
	END IF;
	sched := mockarty_private.webhook_schedule();
	INSERT INTO mockarty_private.webhook_deliveries (webhook_id, event, namespace, url, method, headers, body,
		schedule, max_attempts, timeout_ms, next_attempt_at, traceparent)
	SELECT w.id, p_event, i ->> 'namespace', w.url, w.method, w.headers,
		format('{"event":%s,"timestamp":%s,"data":%s}', to_jsonb(p_event)::text,
			to_jsonb(to_char(coalesce((i ->> 'at')::timestamptz, clock_timestamp()) AT TIME ZONE 'UTC',
				'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::text,
			coalesce(i -> 'data', '{}')::text),
		sched, cardinality(sched), least(mockarty.setting_get('webhook_timeout_ms')::int, 30000),
		clock_timestamp() + make_interval(secs => sched[1] / 1000.0),
		CASE WHEN i -> 'data' ->> 'traceparent' ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
			THEN i -> 'data' ->> 'traceparent' END
	FROM jsonb_array_elements(p_items) i
	JOIN mockarty_private.webhooks w ON w.enabled AND w.events @> ARRAY[p_event]
		AND (w.namespace IS NULL OR w.namespace = i ->> 'namespace');
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty_private.webhook_enqueue_events(text, jsonb) IS 'Records one delivery per subscribed enabled webhook and event occurrence [{"namespace","data","at"}]; the body {"event","timestamp","data"} is fixed here';

CREATE FUNCTION mockarty_private.webhook_delivery_json(d mockarty_private.webhook_deliveries, p_history boolean DEFAULT true)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', d.id, 'webhookId', d.webhook_id::text, 'mockId', d.mock_id, 'event', d.event,
		'namespace', d.namespace, 'url', d.url, 'method', d.method, 'status', d.status, 'attempts', d.attempts,
		'maxAttempts', d.max_attempts, 'nextAttemptAt', mockarty_private.rfc3339(d.next_attempt_at),
		'lastStatusCode', d.last_status_code, 'lastError', d.last_error,
		'createdAt', mockarty_private.rfc3339(d.created_at), 'completedAt', mockarty_private.rfc3339(d.completed_at),
		'payload', CASE WHEN d.body ~ '^\s*[\[{]' THEN d.body::jsonb ELSE to_jsonb(d.body) END)
	|| CASE WHEN p_history THEN jsonb_build_object('history', coalesce((
		SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', mockarty_private.rfc3339(a.started_at),
			'finishedAt', mockarty_private.rfc3339(a.finished_at), 'statusCode', a.status_code,
			'latencyMs', a.latency_ms, 'error', a.error, 'manual', a.manual) ORDER BY a.attempt)
		FROM mockarty_private.webhook_attempts a WHERE a.delivery_id = d.id), '[]')) ELSE '{}' END
$$;
COMMENT ON FUNCTION mockarty_private.webhook_delivery_json(mockarty_private.webhook_deliveries, boolean) IS 'A delivery as the API returns it, with its attempt history [{"attempt","at","finishedAt","statusCode","latencyMs","error","manual"}]';

CREATE FUNCTION mockarty.webhook_deliveries(p_webhook_id uuid, p_limit int DEFAULT 50, p_offset int DEFAULT 0,
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

CREATE FUNCTION mockarty.webhook_delivery_get(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.webhook_delivery_json(d) FROM mockarty_private.webhook_deliveries d WHERE d.id = p_id AND mockarty_private.ns_visible(d.namespace) $$;
COMMENT ON FUNCTION mockarty.webhook_delivery_get(bigint) IS 'One delivery with its attempt history, NULL when unknown';

CREATE FUNCTION mockarty.webhook_delivery_list(p_status text DEFAULT NULL, p_mock_id text DEFAULT NULL,
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

CREATE FUNCTION mockarty.webhook_delivery_retry(p_id bigint) RETURNS jsonb
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

-- the admin node's delivery engine --------------------------------------------

CREATE FUNCTION mockarty.webhook_claim(p_limit int DEFAULT 50, p_lease_ms int DEFAULT NULL, p_busy jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	lease_ms int := coalesce(p_lease_ms, mockarty.setting_get('webhook_lease_ms')::int);
	per_ns int := mockarty.setting_get('webhook_namespace_inflight')::int;
	lim int := greatest(coalesce(p_limit, 50), 1);
	busy jsonb := CASE WHEN jsonb_typeof(p_busy) = 'object' THEN p_busy ELSE '{}' END;
	out jsonb;
BEGIN
	-- Fair shares: every namespace with due rows (found by a skip scan of the partial index
	-- on (namespace, next_attempt_at), one probe per namespace) offers at most per_ns rows,
	-- minus what the caller already has in flight for it (p_busy), and the rows are taken
	-- round-robin (every namespace's first, then every namespace's second, ...). So a
	-- receiver that never answers holds at most per_ns of an engine's slots and the
	-- deliveries of other namespaces keep leaving. Expired leases (the engine died) come
	-- from their own partial index and count against the same shares. Rows are re-checked
	-- and locked with SKIP LOCKED: rows another engine holds are passed over.
	WITH RECURSIVE nss(ns) AS (
		SELECT min(coalesce(x.namespace, '')) FROM mockarty_private.webhook_deliveries x
		WHERE x.status = 'pending' AND x.next_attempt_at <= clock_timestamp()
		UNION ALL
		SELECT (SELECT min(coalesce(x.namespace, '')) FROM mockarty_private.webhook_deliveries x
		        WHERE x.status = 'pending' AND x.next_attempt_at <= clock_timestamp()
		          AND coalesce(x.namespace, '') > nss.ns)
		FROM nss WHERE nss.ns IS NOT NULL
	), cand AS (
		SELECT p.id, n.ns, p.due_at FROM nss n
		CROSS JOIN LATERAL (
			SELECT x.id, x.next_attempt_at AS due_at FROM mockarty_private.webhook_deliveries x
			LEFT JOIN mockarty_private.webhooks w ON w.id = x.webhook_id
			WHERE x.status = 'pending' AND coalesce(x.namespace, '') = n.ns AND x.next_attempt_at <= clock_timestamp()
			  AND (x.webhook_id IS NULL OR w.enabled)
			ORDER BY x.next_attempt_at LIMIT per_ns) p
		WHERE n.ns IS NOT NULL
		UNION ALL
		(SELECT x.id, coalesce(x.namespace, ''), x.lease_expires_at FROM mockarty_private.webhook_deliveries x
		 LEFT JOIN mockarty_private.webhooks w ON w.id = x.webhook_id
		 WHERE x.status = 'delivering' AND x.lease_expires_at < clock_timestamp()
		   AND (x.webhook_id IS NULL OR w.enabled)
		 ORDER BY x.lease_expires_at LIMIT 4 * lim)
	), ranked AS (
		SELECT c.id, c.due_at, row_number() OVER (PARTITION BY c.ns ORDER BY c.due_at, c.id) AS rn,
			per_ns - CASE WHEN busy ->> c.ns ~ '^[0-9]{1,6}$' THEN (busy ->> c.ns)::int ELSE 0 END AS share
		FROM cand c
	), due AS (
		SELECT x.id FROM mockarty_private.webhook_deliveries x
		JOIN ranked c ON c.id = x.id
		WHERE c.rn <= c.share
		  AND ((x.status = 'pending' AND x.next_attempt_at <= clock_timestamp())
		       OR (x.status = 'delivering' AND x.lease_expires_at < clock_timestamp()))
		ORDER BY c.rn, c.due_at, x.id
		LIMIT lim
		FOR UPDATE OF x SKIP LOCKED
	), claimed AS (
		-- the lease outlives the attempt: a row is never claimed again while its first
		-- attempt may still be running (timeout_ms is at most 30 s)
		UPDATE mockarty_private.webhook_deliveries d
		SET status = 'delivering', lease_id = gen_random_uuid(),
			lease_expires_at = clock_timestamp()
				+ make_interval(secs => greatest(lease_ms, least(d.timeout_ms, 30000) + 15000) / 1000.0),
			updated_at = clock_timestamp()
		FROM due WHERE d.id = due.id
		RETURNING d.*
	)
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'leaseId', c.lease_id::text, 'attempt', c.attempts + 1,
		'event', c.event, 'webhookId', c.webhook_id::text, 'mockId', c.mock_id, 'url', c.url, 'method', c.method,
		'headers', c.headers, 'body', c.body, 'secret', w.secret, 'timeoutMs', least(c.timeout_ms, 30000),
		'traceparent', c.traceparent, 'namespace', coalesce(c.namespace, '')) ORDER BY c.id), '[]')
	INTO out
	FROM claimed c LEFT JOIN mockarty_private.webhooks w ON w.id = c.webhook_id;
	RETURN out;
END
$$;
COMMENT ON FUNCTION mockarty.webhook_claim(int, int, jsonb) IS 'For the delivery engine: leases up to p_limit due deliveries (pending and due, or delivering with an expired lease) with FOR UPDATE SKIP LOCKED, sharing them fairly: at most webhook_namespace_inflight per namespace minus the caller''s in-flight count p_busy {"<namespace>":n}, taken round-robin; the lease is max(p_lease_ms or webhook_lease_ms, timeoutMs + 15 s); returns [{"id","leaseId","attempt","event","url","method","headers","body","secret","timeoutMs","namespace",...}]; concurrent engines never get the same row';

CREATE FUNCTION mockarty.webhook_record(p_id bigint, p_lease_id uuid, p_status_code int, p_latency_ms int,
	p_error text, p_started_at timestamptz DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	d mockarty_private.webhook_deliveries;
	ok boolean := p_error IS NULL AND p_status_code BETWEEN 200 AND 299;
	n int;
BEGIN
	SELECT * INTO d FROM mockarty_private.webhook_deliveries x WHERE x.id = p_id FOR UPDATE;
	IF NOT FOUND OR d.status <> 'delivering' OR d.lease_id IS DISTINCT FROM p_lease_id THEN
		RETURN jsonb_build_object('ok', false, 'reason', 'lease_lost');
	END IF;
	n := d.attempts + 1;
	INSERT INTO mockarty_private.webhook_attempts (delivery_id, attempt, started_at, finished_at, status_code,
		latency_ms, error, manual)
	VALUES (p_id, n, coalesce(p_started_at, clock_timestamp() - make_interval(secs => coalesce(p_latency_ms, 0) / 1000.0)),
		clock_timestamp(), p_status_code, p_latency_ms, left(p_error, 1000), d.manual)
	ON CONFLICT (delivery_id, attempt) DO NOTHING;
	UPDATE mockarty_private.webhook_deliveries x
	SET attempts = n, lease_id = NULL, lease_expires_at = NULL, last_status_code = p_status_code, manual = false,
		last_error = CASE WHEN ok THEN NULL
			ELSE coalesce(left(p_error, 1000), 'HTTP ' || p_status_code) END,
		status = CASE WHEN ok THEN 'succeeded' WHEN n >= x.max_attempts THEN 'failed' ELSE 'pending' END,
		next_attempt_at = CASE WHEN ok OR n >= x.max_attempts THEN NULL
			ELSE clock_timestamp() + make_interval(secs => coalesce(x.schedule[n + 1], x.schedule[cardinality(x.schedule)]) / 1000.0) END,
		completed_at = CASE WHEN ok OR n >= x.max_attempts THEN clock_timestamp() END,
		updated_at = clock_timestamp()
	WHERE x.id = p_id
	RETURNING * INTO d;
	RETURN jsonb_build_object('ok', true, 'status', d.status, 'attempt', n,
		'nextAttemptAt', mockarty_private.rfc3339(d.next_attempt_at));
END
$$;
COMMENT ON FUNCTION mockarty.webhook_record(bigint, uuid, int, int, text, timestamptz) IS 'For the delivery engine: records one attempt of a leased delivery (success = no error and a 2xx status) and schedules the next one from its schedule (delay after this attempt), or marks it succeeded / failed after max_attempts; {"ok":true,"status","attempt","nextAttemptAt"} or {"ok":false,"reason":"lease_lost"}';

CREATE FUNCTION mockarty.webhook_next_due_ms() RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	t timestamptz;
BEGIN
	-- plpgsql, so that the engine's call every few deliveries runs a cached plan
	SELECT min(s.t) INTO t
	FROM (SELECT min(x.next_attempt_at) AS t FROM mockarty_private.webhook_deliveries x
	      LEFT JOIN mockarty_private.webhooks w ON w.id = x.webhook_id
	      WHERE x.status = 'pending' AND (x.webhook_id IS NULL OR w.enabled)
	      UNION ALL
	      SELECT min(x.lease_expires_at) FROM mockarty_private.webhook_deliveries x WHERE x.status = 'delivering') s;
	-- NULL when nothing waits (not 0, "due now": the engine would ask again at once)
	RETURN CASE WHEN t IS NOT NULL THEN greatest(0, ceil(extract(epoch FROM (t - clock_timestamp())) * 1000))::bigint END;
END
$$;
COMMENT ON FUNCTION mockarty.webhook_next_due_ms() IS 'Milliseconds until the next delivery attempt is due (0 = due now), NULL when none is waiting: the engine sleeps that long';

CREATE FUNCTION mockarty.webhook_due_notify() RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM mockarty_private.webhook_deliveries x
	           WHERE x.status = 'pending' AND x.next_attempt_at <= clock_timestamp())
	   OR EXISTS (SELECT 1 FROM mockarty_private.webhook_deliveries x
	              WHERE x.status = 'delivering' AND x.lease_expires_at < clock_timestamp()) THEN
		PERFORM pg_catalog.pg_notify('mockarty_webhooks', 'due');
		RETURN true;
	END IF;
	RETURN false;
END
$$;
COMMENT ON FUNCTION mockarty.webhook_due_notify() IS 'Rings NOTIFY mockarty_webhooks ''due'' when a delivery is due or its lease expired (the scheduler worker calls it every tick); two index probes when idle';

CREATE FUNCTION mockarty.webhook_stats() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object(
		'pending', count(*) FILTER (WHERE status = 'pending'),
		'delivering', count(*) FILTER (WHERE status = 'delivering'),
		'succeeded', count(*) FILTER (WHERE status = 'succeeded'),
		'failed', count(*) FILTER (WHERE status = 'failed'))
	FROM mockarty_private.webhook_deliveries
$$;
COMMENT ON FUNCTION mockarty.webhook_stats() IS 'Deliveries by status: {"pending","delivering","succeeded","failed"}';

-- per-mock callbacks (the "webhooks" array of a mock), rendered by the serving node
CREATE FUNCTION mockarty.webhook_callbacks_enqueue(p_batch jsonb) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n int;
BEGIN
	IF p_batch IS NULL OR jsonb_typeof(p_batch) <> 'array' THEN
		RAISE EXCEPTION 'batch must be a JSON array' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	INSERT INTO mockarty_private.webhook_deliveries (mock_id, event, namespace, url, method, headers, body,
		schedule, max_attempts, timeout_ms, next_attempt_at)
	SELECT c ->> 'mockId', 'mock.callback', c ->> 'namespace', c ->> 'url',
		upper(coalesce(nullif(c ->> 'method', ''), 'POST')),
		CASE WHEN jsonb_typeof(c -> 'headers') = 'object' THEN c -> 'headers' ELSE '{}' END,
		CASE WHEN jsonb_typeof(c -> 'body') = 'string' THEN c ->> 'body' ELSE coalesce(c -> 'body', 'null')::text END,
		ARRAY[0] || array_fill(r.delay, ARRAY[r.retries]), r.retries + 1,
		CASE WHEN (c ->> 'timeoutMs') ~ '^[0-9]{1,7}$' AND (c ->> 'timeoutMs')::int > 0 THEN least((c ->> 'timeoutMs')::int, 30000)
			ELSE least(mockarty.setting_get('webhook_timeout_ms')::int, 30000) END,
		clock_timestamp()
	FROM jsonb_array_elements(p_batch) c,
		LATERAL (SELECT least(greatest(CASE WHEN (c ->> 'retryCount') ~ '^[0-9]{1,4}$' THEN (c ->> 'retryCount')::int ELSE 0 END, 0), 20) AS retries,
			least(CASE WHEN (c ->> 'retryDelay') ~ '^[0-9]{1,9}$' THEN (c ->> 'retryDelay')::int ELSE 1000 END, 86400000) AS delay) r
	WHERE coalesce(c ->> 'url', '') ~* '^https?://[^/?#]+';
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.webhook_callbacks_enqueue(jsonb) IS 'Records per-mock callbacks [{"mockId","namespace","url","method","headers","body","timeoutMs"(at most 30000),"retryCount","retryDelay"(ms)}] as deliveries: first attempt at once, then retryCount retries retryDelay ms apart; entries without an http(s) url are skipped; returns how many';

CREATE FUNCTION mockarty_private.url_origin(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT lower(substring(p_url FROM '^(https?://[^/?#]+)')) $$;
COMMENT ON FUNCTION mockarty_private.url_origin(text) IS 'Scheme and authority of an http(s) URL in lower case (https://host:port), NULL for anything else';

CREATE FUNCTION mockarty.node_report_callbacks(p_batch jsonb, p_namespaces text[]) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object(
		'mockId', m.id, 'namespace', m.namespace, 'url', c ->> 'url',
		'method', CASE WHEN coalesce(w ->> 'method', '') LIKE '%$.%' THEN c ->> 'method'
			ELSE upper(coalesce(nullif(w ->> 'method', ''), 'POST')) END,
		'headers', c -> 'headers', 'body', c -> 'body',
		'timeoutMs', w -> 'timeout', 'retryCount', w -> 'retryCount', 'retryDelay', w -> 'retryDelay')), '[]')
	FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_batch) = 'array' THEN p_batch ELSE '[]' END) c
	JOIN mockarty_private.mocks m ON m.id = c ->> 'mockId' AND m.namespace = ANY (p_namespaces)
	CROSS JOIN LATERAL (
		SELECT x AS w FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.doc -> 'webhooks') = 'array'
			THEN m.doc -> 'webhooks' ELSE '[]' END) x
		WHERE coalesce(x ->> 'type', 'http') = 'http'
		  AND position('$' IN coalesce(mockarty_private.url_origin(x ->> 'url'), '$')) = 0
		  AND mockarty_private.url_origin(x ->> 'url') = mockarty_private.url_origin(c ->> 'url')
		LIMIT 1) d
$$;
COMMENT ON FUNCTION mockarty.node_report_callbacks(jsonb, text[]) IS 'The callbacks a mock resolver reported [{"mockId","url","method","headers","body",...}] as webhook_callbacks_enqueue takes them, keeping only those of mocks in p_namespaces whose stored webhooks have an http callback with the same fixed origin (scheme, host, port); namespace, method (unless templated), timeout and retries come from the stored mock';

CREATE FUNCTION mockarty.node_report_events(p_batch jsonb, p_namespaces text[]) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(e || jsonb_build_object('namespace', m.namespace)), '[]')
	FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_batch) = 'array' THEN p_batch ELSE '[]' END) e
	JOIN mockarty_private.mocks m ON jsonb_typeof(e) = 'object' AND m.id = e ->> 'mockId'
		AND m.namespace = ANY (p_namespaces)
$$;
COMMENT ON FUNCTION mockarty.node_report_events(jsonb, text[]) IS 'The mock.resolved events a mock resolver reported, keeping only those of mocks in p_namespaces, each with the stored mock''s namespace';

