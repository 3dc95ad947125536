-- 09_webhooks: webhooks through SQL alone. Events become delivery rows in the
-- transaction that caused them (statement triggers on mocks, undefined requests
-- and the events table; request logs no longer make mock.resolved, the serving
-- nodes report one event per resolution: 10_webhook_events); the engine's claim/record calls lease
-- and schedule them from the webhook_retry_schedule setting; a failed delivery is
-- retried by hand. Times are shown as offsets, ids as labels, so the output is stable.
-- (try() comes from 00_install_upgrade.)

CREATE FUNCTION public.wh_vol(j jsonb) RETURNS jsonb
LANGUAGE sql AS $$
	SELECT j - ARRAY['id', 'createdAt', 'updatedAt', 'completedAt', 'nextAttemptAt', 'webhookId', 'payload', 'history']
$$;

-- nothing waits yet: the engine is told to sleep (NULL), not that something is due (0)
SELECT mockarty.webhook_next_due_ms() IS NULL AS idle;

-- settings: the schedule is validated and parsed into delays in ms
SELECT mockarty.setting_get('webhook_retry_schedule');
SELECT mockarty_private.webhook_schedule();
SELECT try($$SELECT mockarty.setting_set('webhook_retry_schedule', '0,30s,soon')$$);
SELECT try($$SELECT mockarty.setting_set('webhook_timeout_ms', '5')$$);
SELECT mockarty.setting_set('webhook_retry_schedule', '0,1s,2s,3s,4s');
SELECT mockarty_private.webhook_schedule();

-- validation names the field
SELECT try($$SELECT mockarty.webhook_create('{"url":"ftp://x","events":["mock.created"]}')$$);
SELECT try($$SELECT mockarty.webhook_create('{"url":"http://h/","events":["mock.created","nope"]}')$$);
SELECT try($$SELECT mockarty.webhook_create('{"url":"http://h/"}')$$);
SELECT try($$SELECT mockarty.webhook_create('{"url":"http://h/","events":["*"],"headers":{"X-A":1}}')$$);

-- create: every event ("*"), signed; the SDK spellings map to canonical names
SELECT mockarty.webhook_create('{"url":"http://receiver.test/all","events":["*"],"secret":"s3cr3t","name":"all"}') ->> 'id' AS wall \gset
SELECT wh_vol(mockarty.webhook_get(:'wall'));
SELECT wh_vol(mockarty.webhook_create('{"url":"http://receiver.test/qa","operation":"mock.changed"}', 'qa'));
SELECT wh_vol(mockarty.webhook_create('{"url":"http://receiver.test/py","events":["test.completed","undefined.detected"],"enabled":false}', 'qa'));
SELECT jsonb_array_length(mockarty.webhook_list()), jsonb_array_length(mockarty.webhook_list('qa'));

-- events: each statement records one delivery per subscriber and occurrence
SELECT (mockarty.mock_save('{"id":"wh-m1","http":{"route":"/wh","httpMethod":"GET"},"response":{"payload":{"a":1}}}') -> 'mock' ->> 'id');
SELECT mockarty.webhook_events_enqueue('[{"mockId":"wh-m1","namespace":"sandbox","method":"GET","path":"/wh","status":200},
                                          {"mockId":"wh-m1","namespace":"sandbox","method":"GET","path":"/wh","status":200}]');
SELECT mockarty.undefined_record('sandbox', 'GET', '/nothing', '{}', NULL);
SELECT mockarty.mock_delete('wh-m1');
SELECT mockarty.mock_purge('wh-m1');   -- already deleted: no second mock.deleted
SELECT mockarty.event_emit('test_run.completed', 'qa', '{"testRunId":"r1","status":"passed"}') > 0;
SELECT d.event, d.namespace, w.url, d.status, d.max_attempts, d.schedule,
       (d.body::jsonb) ->> 'event' = d.event AS body_event, jsonb_typeof(d.body::jsonb -> 'data') AS data
FROM mockarty_private.webhook_deliveries d JOIN mockarty_private.webhooks w ON w.id = d.webhook_id ORDER BY d.id;
SELECT (d.body::jsonb) -> 'data' ->> 'mockId', (d.body::jsonb) -> 'data' ->> 'path'
FROM mockarty_private.webhook_deliveries d WHERE d.event = 'mock.resolved' ORDER BY d.id;

-- a disabled webhook records nothing; nobody subscribed = no rows
SELECT wh_vol(mockarty.webhook_set_enabled(:'wall', false));
SELECT mockarty.undefined_record('sandbox', 'GET', '/nothing', '{}', NULL);
SELECT count(*) FROM mockarty_private.webhook_deliveries WHERE event = 'undefined_request.received';
SELECT wh_vol(mockarty.webhook_set_enabled(:'wall', true));

-- the engine: claim leases due rows once (SKIP LOCKED), with the secret for signing
SELECT mockarty.webhook_next_due_ms();
CREATE TEMP TABLE c AS SELECT e FROM jsonb_array_elements(mockarty.webhook_claim(100, 60000)) e;
SELECT count(*), bool_and(e ->> 'secret' = 's3cr3t') FILTER (WHERE e ->> 'webhookId' = :'wall'),
       min((e ->> 'attempt')::int), max((e ->> 'attempt')::int) FROM c;
SELECT jsonb_array_length(mockarty.webhook_claim(100, 60000)) AS claimed_again;
SELECT mockarty.webhook_stats();

-- record: failure schedules the next attempt from the schedule; a wrong lease is refused
SELECT (e ->> 'id')::bigint AS did, e ->> 'leaseId' AS lease FROM c WHERE e ->> 'event' = 'test_run.completed' LIMIT 1 \gset
SELECT mockarty.webhook_record(:did, gen_random_uuid(), 200, 5, NULL);
SELECT r - 'nextAttemptAt' FROM mockarty.webhook_record(:did, :'lease', 500, 12, NULL) r;
SELECT round(extract(epoch FROM next_attempt_at - updated_at)) AS delay_s, status, attempts, last_error
FROM mockarty_private.webhook_deliveries WHERE id = :did;
-- attempts 2..5 fail too (the row is made due at once instead of waiting)
SELECT set_config('wh.did', :'did', false) IS NOT NULL;
DO $$
DECLARE
	c jsonb;
BEGIN
	FOR i IN 2..5 LOOP
		UPDATE mockarty_private.webhook_deliveries SET next_attempt_at = clock_timestamp()
		WHERE id = current_setting('wh.did')::bigint;
		SELECT e INTO c FROM jsonb_array_elements(mockarty.webhook_claim(100, 60000)) e
		WHERE (e ->> 'id')::bigint = current_setting('wh.did')::bigint;
		PERFORM mockarty.webhook_record((c ->> 'id')::bigint, (c ->> 'leaseId')::uuid, NULL, 10000, 'timeout');
	END LOOP;
END $$;
SELECT wh_vol(mockarty.webhook_delivery_get(:did));
SELECT h ->> 'attempt', h ->> 'statusCode', h ->> 'error', h ->> 'manual'
FROM jsonb_array_elements(mockarty.webhook_delivery_get(:did) -> 'history') h;

-- retry by hand: one more attempt, at once, marked manual
SELECT try($$SELECT mockarty.webhook_delivery_retry(0)$$), mockarty.webhook_delivery_retry(0) IS NULL AS unknown;
SELECT wh_vol(mockarty.webhook_delivery_retry(:did));
SELECT try(format('SELECT mockarty.webhook_delivery_retry(%s)', :did));
SELECT e ->> 'leaseId' AS lease2 FROM jsonb_array_elements(mockarty.webhook_claim(100, 60000)) e
WHERE (e ->> 'id')::bigint = :did \gset
SELECT r - 'nextAttemptAt' FROM mockarty.webhook_record(:did, :'lease2', 204, 3, NULL) r;
SELECT h ->> 'attempt', h ->> 'statusCode', h ->> 'manual'
FROM jsonb_array_elements(mockarty.webhook_delivery_get(:did) -> 'history') h WHERE (h ->> 'attempt')::int >= 5;

-- an expired lease is claimable again (the engine died before recording)
UPDATE mockarty_private.webhook_deliveries SET lease_expires_at = clock_timestamp() - interval '1 s'
WHERE status = 'delivering' AND event = 'mock.created';
SELECT count(*) FROM jsonb_array_elements(mockarty.webhook_claim(100, 60000)) e WHERE e ->> 'event' = 'mock.created';

-- per-mock callbacks: retryCount retries retryDelay apart
SELECT mockarty.webhook_callbacks_enqueue('[{"mockId":"m","namespace":"sandbox","url":"http://cb.test/x","method":"put",
  "headers":{"X-T":"1"},"body":{"id":"42"},"timeoutMs":2500,"retryCount":2,"retryDelay":750},
  {"mockId":"m","url":"not a url"}]');
SELECT event, method, headers, body, schedule, max_attempts, timeout_ms FROM mockarty_private.webhook_deliveries
WHERE event = 'mock.callback';

-- the scheduler's doorbell and the listing
SELECT mockarty.webhook_due_notify();
SELECT jsonb_array_length(mockarty.webhook_deliveries(:'wall')) > 0, jsonb_array_length(mockarty.webhook_delivery_list('succeeded'));

-- deleting a webhook removes its deliveries and history
SELECT mockarty.webhook_delete(:'wall'), mockarty.webhook_delete(:'wall');
SELECT count(*) FROM mockarty_private.webhook_deliveries WHERE webhook_id IS NOT NULL AND namespace = 'sandbox';
SELECT mockarty.setting_set('webhook_retry_schedule', NULL);
