-- 10_webhook_events: mock.resolved events as the serving nodes report them (one per
-- resolution, in batches from their bounded queues) through webhook_events_enqueue;
-- request-log rows make no mock.resolved any more; the webhooks table rings NOTIFY
-- mockarty_webhooks 'config' so nodes refresh webhook_wants_resolved_events().
-- (try() comes from 00_install_upgrade.)

DELETE FROM mockarty_private.webhooks;
SELECT mockarty.setting_set('webhook_retry_schedule', '0,1s');

-- nobody subscribed: nothing recorded, and the nodes are told not to bother
SELECT mockarty.webhook_wants_resolved_events();
SELECT mockarty.webhook_events_enqueue('[{"mockId":"m1","namespace":"sandbox","method":"GET","path":"/a","status":200,"at":"2026-11-27T06:20:00.123Z"}]');

-- validation names the element
SELECT try($$SELECT mockarty.webhook_events_enqueue('{"mockId":"m1"}')$$);
SELECT try($$SELECT mockarty.webhook_events_enqueue('[{"mockId":"m1"},{"namespace":"x"}]')$$);
SELECT try($$SELECT mockarty.webhook_events_enqueue('[{"mockId":"m1"},7]')$$);
SELECT mockarty.webhook_events_enqueue('[]');

-- webhooks are created; the table's trigger rings NOTIFY 'config' for the nodes' cached flag
SELECT mockarty.webhook_create('{"url":"http://receiver.test/res","events":["mock.resolved"]}') ->> 'id' AS wres \gset
SELECT mockarty.webhook_create('{"url":"http://receiver.test/qa","events":["mock.resolved"]}', 'qa') ->> 'id' AS wqa \gset
SELECT mockarty.webhook_create('{"url":"http://receiver.test/other","events":["mock.created"]}') ->> 'id' AS wother \gset
SELECT tgname FROM pg_trigger WHERE tgrelid = 'mockarty_private.webhooks'::regclass AND NOT tgisinternal;
SELECT mockarty.webhook_wants_resolved_events();

-- one delivery per event and subscriber: the global webhook sees both, the qa one only qa
SELECT mockarty.webhook_events_enqueue('[
  {"mockId":"m1","namespace":"sandbox","method":"GET","path":"/a","status":200,"at":"2026-11-27T06:20:00.123Z"},
  {"mockId":"m1","namespace":"sandbox","method":"GET","path":"/a","status":200,"at":"2026-11-27T06:20:00.456Z"},
  {"mockId":"m2","namespace":"qa","method":"POST","path":"/b","status":500,"at":"2026-11-27T06:20:01Z","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
  {"mockId":"m3","method":"PUT","path":"/c","at":"2026-11-27T06:20:02Z"}]');
SELECT w.url, d.event, d.namespace, d.status, d.max_attempts, d.schedule, d.mock_id,
       (d.body::jsonb) ->> 'event' AS body_event, (d.body::jsonb) ->> 'timestamp' AS ts,
       (d.body::jsonb) -> 'data' AS data
FROM mockarty_private.webhook_deliveries d JOIN mockarty_private.webhooks w ON w.id = d.webhook_id
WHERE d.event = 'mock.resolved' ORDER BY d.id;

-- request-log rows (the log itself) no longer make mock.resolved deliveries
SELECT (mockarty.mock_save('{"id":"ev-m1","http":{"route":"/ev","httpMethod":"GET"},"response":{"payload":1}}') -> 'mock' ->> 'id');
SELECT mockarty.log_requests('[{"mockId":"ev-m1","req":{"method":"GET","path":"/ev"},"response":{"statusCode":200}}]');
SELECT count(*) FROM mockarty_private.webhook_deliveries WHERE event = 'mock.resolved';

-- a disabled subscriber records nothing; with none left enabled the flag turns off
SELECT (mockarty.webhook_set_enabled(:'wres', false)) ->> 'enabled';
SELECT mockarty.webhook_events_enqueue('[{"mockId":"m1","namespace":"qa"}]');
SELECT (mockarty.webhook_set_enabled(:'wqa', false)) ->> 'enabled';
SELECT mockarty.webhook_wants_resolved_events();
SELECT mockarty.webhook_events_enqueue('[{"mockId":"m1","namespace":"qa"}]');

DELETE FROM mockarty_private.webhooks;
SELECT mockarty.mock_purge('ev-m1');
SELECT mockarty.setting_set('webhook_retry_schedule', NULL);
