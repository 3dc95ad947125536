-- 43_event_capture.sql - event capture: triggers that turn writes into webhook events.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

-- Event capture ------------------------------------------------------------

CREATE FUNCTION mockarty_private.webhook_doorbell() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM pg_catalog.pg_notify('mockarty_webhooks', 'due');
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION mockarty_private.webhook_doorbell() IS 'Statement trigger: NOTIFY mockarty_webhooks ''due'' (folded into one per transaction by PostgreSQL)';

CREATE TRIGGER webhook_deliveries_doorbell AFTER INSERT ON mockarty_private.webhook_deliveries
FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_doorbell();

CREATE FUNCTION mockarty_private.webhook_on_mock_insert() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NOT mockarty_private.webhook_subscribed('mock.created') THEN
		RETURN NULL;
	END IF;
	PERFORM mockarty_private.webhook_enqueue_events('mock.created', (
		SELECT jsonb_agg(jsonb_build_object('namespace', n.namespace, 'at', clock_timestamp(),
			'data', jsonb_build_object('id', n.id, 'namespace', n.namespace, 'mock', mockarty_private.mock_json(n))))
		FROM new_rows n WHERE n.closed_at IS NULL));
	RETURN NULL;
END
$$;

CREATE FUNCTION mockarty_private.webhook_on_mock_update() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF mockarty_private.webhook_subscribed('mock.deleted') THEN
		PERFORM mockarty_private.webhook_enqueue_events('mock.deleted', (
			SELECT jsonb_agg(jsonb_build_object('namespace', n.namespace, 'at', clock_timestamp(),
				'data', jsonb_build_object('id', n.id, 'namespace', n.namespace, 'soft', true,
					'mock', mockarty_private.mock_json(n))))
			FROM old_rows o JOIN new_rows n ON n.id = o.id
			WHERE o.closed_at IS NULL AND n.closed_at IS NOT NULL));
	END IF;
	IF mockarty_private.webhook_subscribed('mock.created') THEN
		PERFORM mockarty_private.webhook_enqueue_events('mock.created', (
			SELECT jsonb_agg(jsonb_build_object('namespace', n.namespace, 'at', clock_timestamp(),
				'data', jsonb_build_object('id', n.id, 'namespace', n.namespace, 'mock', mockarty_private.mock_json(n))))
			FROM old_rows o JOIN new_rows n ON n.id = o.id
			WHERE o.closed_at IS NOT NULL AND n.closed_at IS NULL));
	END IF;
	RETURN NULL;
END
$$;

CREATE FUNCTION mockarty_private.webhook_on_mock_delete() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NOT mockarty_private.webhook_subscribed('mock.deleted') THEN
		RETURN NULL;
	END IF;
	PERFORM mockarty_private.webhook_enqueue_events('mock.deleted', (
		SELECT jsonb_agg(jsonb_build_object('namespace', o.namespace, 'at', clock_timestamp(),
			'data', jsonb_build_object('id', o.id, 'namespace', o.namespace, 'soft', false,
				'mock', mockarty_private.mock_json(o))))
		FROM old_rows o WHERE o.closed_at IS NULL));
	RETURN NULL;
END
$$;

CREATE FUNCTION mockarty_private.webhook_on_undefined() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NOT mockarty_private.webhook_subscribed('undefined_request.received') THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'INSERT' THEN
		PERFORM mockarty_private.webhook_enqueue_events('undefined_request.received', (
			SELECT jsonb_agg(jsonb_build_object('namespace', n.namespace, 'at', n.last_seen,
				'data', mockarty_private.undefined_json(n)) ORDER BY n.id)
			FROM new_rows n WHERE NOT n.ignored));
	ELSE
		PERFORM mockarty_private.webhook_enqueue_events('undefined_request.received', (
			SELECT jsonb_agg(jsonb_build_object('namespace', n.namespace, 'at', n.last_seen,
				'data', mockarty_private.undefined_json(n)) ORDER BY n.id)
			FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE n.count > o.count AND NOT n.ignored));
	END IF;
	RETURN NULL;
END
$$;

CREATE FUNCTION mockarty_private.webhook_on_event() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
	ev text;
BEGIN
	FOR ev IN SELECT DISTINCT n.event FROM new_rows n LOOP
		CONTINUE WHEN NOT mockarty_private.webhook_subscribed(ev);
		PERFORM mockarty_private.webhook_enqueue_events(ev, (
			SELECT jsonb_agg(jsonb_build_object('namespace', n.namespace, 'at', n.created_at, 'data', n.data) ORDER BY n.id)
			FROM new_rows n WHERE n.event = ev));
	END LOOP;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockarty_private.webhook_on_mock_insert() IS 'Statement trigger: mock.created for every live mock inserted';
COMMENT ON FUNCTION mockarty_private.webhook_on_mock_update() IS 'Statement trigger: mock.deleted when a mock is soft-deleted, mock.created when a deleted one comes back';
COMMENT ON FUNCTION mockarty_private.webhook_on_mock_delete() IS 'Statement trigger: mock.deleted when a live mock is purged (purging a soft-deleted one says nothing twice)';
COMMENT ON FUNCTION mockarty_private.webhook_on_undefined() IS 'Statement trigger: undefined_request.received for every recorded miss (a new row or a higher count)';
COMMENT ON FUNCTION mockarty_private.webhook_on_event() IS 'Statement trigger: every event of mockarty_private.events (event_emit(), test_run.completed among them) to its subscribers';

CREATE TRIGGER webhook_mock_insert AFTER INSERT ON mockarty_private.mocks
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_on_mock_insert();
CREATE TRIGGER webhook_mock_update AFTER UPDATE ON mockarty_private.mocks
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_on_mock_update();
CREATE TRIGGER webhook_mock_delete AFTER DELETE ON mockarty_private.mocks
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_on_mock_delete();
CREATE TRIGGER webhook_undefined_insert AFTER INSERT ON mockarty_private.undefined_requests
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_on_undefined();
CREATE TRIGGER webhook_undefined_update AFTER UPDATE ON mockarty_private.undefined_requests
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_on_undefined();
CREATE TRIGGER webhook_event AFTER INSERT ON mockarty_private.events
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_on_event();

-- mock.resolved: one event per resolution, queued by the serving nodes ------
--
-- Request logs keep a few requests per mock per flush, so they cannot say how
-- many times a mock answered; the nodes push one small event per resolution
-- into a bounded in-memory queue (shedding when it is full, never slowing the
-- response) and write it here in batches, only while some enabled webhook
-- subscribes to mock.resolved (webhook_wants_resolved_events, cached by the
-- nodes and refreshed on NOTIFY mockarty_webhooks 'config').

CREATE FUNCTION mockarty.webhook_events_enqueue(p_batch jsonb) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	bad int;
BEGIN
	IF p_batch IS NULL OR jsonb_typeof(p_batch) <> 'array' THEN
		RAISE EXCEPTION 'batch must be a JSON array' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	SELECT min(o - 1) INTO bad FROM jsonb_array_elements(p_batch) WITH ORDINALITY e(v, o)
	WHERE jsonb_typeof(v) <> 'object' OR coalesce(v ->> 'mockId', '') = '';
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'event must be an object with a mockId' USING ERRCODE = '22023',
			DETAIL = format('$[%s]', bad);
	END IF;
	IF jsonb_array_length(p_batch) = 0 OR NOT mockarty_private.webhook_subscribed('mock.resolved') THEN
		RETURN 0;
	END IF;
	RETURN mockarty_private.webhook_enqueue_events('mock.resolved', (
		SELECT jsonb_agg(jsonb_build_object(
			'namespace', coalesce(nullif(v ->> 'namespace', ''), 'sandbox'),
			'at', CASE WHEN (v ->> 'at') ~ '^\d{4}-\d\d-\d\dT' THEN v ->> 'at' END,
			'data', jsonb_strip_nulls(jsonb_build_object(
				'mockId', v ->> 'mockId',
				'namespace', coalesce(nullif(v ->> 'namespace', ''), 'sandbox'),
				'method', v ->> 'method', 'path', v ->> 'path',
				'status', CASE WHEN jsonb_typeof(v -> 'status') = 'number' THEN v -> 'status' END,
				'calledAt', v ->> 'at', 'traceparent', v ->> 'traceparent'))) ORDER BY o)
		FROM jsonb_array_elements(p_batch) WITH ORDINALITY e(v, o)));
END
$$;
COMMENT ON FUNCTION mockarty.webhook_events_enqueue(jsonb) IS 'Records mock.resolved events [{"mockId","namespace","method","path","status","at"(RFC 3339),"traceparent"?}] from the serving nodes: one delivery per subscribed enabled webhook (namespace-bound ones see their namespace only) with the body {"event":"mock.resolved","timestamp","data":{"mockId","namespace","method","path","status","calledAt","traceparent"?}}; returns the number of deliveries; 22023 naming the bad element';

CREATE FUNCTION mockarty.webhook_wants_resolved_events() RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT mockarty_private.webhook_subscribed('mock.resolved') $$;
COMMENT ON FUNCTION mockarty.webhook_wants_resolved_events() IS 'True while some enabled webhook subscribes to mock.resolved: serving nodes queue events only then';

CREATE FUNCTION mockarty_private.webhook_config_notify() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM pg_catalog.pg_notify('mockarty_webhooks', 'config');
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION mockarty_private.webhook_config_notify() IS 'Statement trigger: NOTIFY mockarty_webhooks ''config'' when webhooks change, so nodes refresh their cached webhook_wants_resolved_events()';

CREATE TRIGGER webhook_config AFTER INSERT OR UPDATE OR DELETE ON mockarty_private.webhooks
FOR EACH STATEMENT EXECUTE FUNCTION mockarty_private.webhook_config_notify();
