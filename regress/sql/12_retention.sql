-- 12_retention: bounded resources of 0.2.0. Undefined requests keep no credentials (the
-- undefined_redact_headers list, "[redacted]") and a capped body on every recording path,
-- also in the undefined_request.received webhook payload; the scheduler worker (ticking every
-- 100 ms in this cluster, regress.conf) keeps a bounded history per namespace, purges expired
-- mocks and trims the change log; webhook_claim shares slots fairly between namespaces, its
-- lease outlives the attempt, and timeouts are capped at 30 s. The worker's effects are
-- waited for with wait_for() (a bounded poll of a condition), never a fixed sleep.
-- (try() comes from 00_install_upgrade.)

CREATE FUNCTION public.wait_for(cond text, what text, timeout_s float DEFAULT 20) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	ok boolean;
BEGIN
	LOOP
		-- READ COMMITTED: every EXECUTE sees what the worker committed meanwhile
		EXECUTE 'SELECT (' || cond || ')::boolean' INTO ok;
		IF ok THEN
			RETURN 'done: ' || what;
		END IF;
		IF clock_timestamp() - t0 > make_interval(secs => timeout_s) THEN
			RETURN 'TIMED OUT: ' || what;
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END $$;

-- settings: defaults, and bad values are refused naming the setting
SELECT key, value FROM jsonb_each_text(mockarty.setting_list())
WHERE key ~ '^(undefined_|change_log_|webhook_namespace|webhook_timeout)' ORDER BY key;
SELECT try($$SELECT mockarty.setting_set('webhook_timeout_ms', '30001')$$);
SELECT try($$SELECT mockarty.setting_set('undefined_body_max_bytes', '-1')$$);
SELECT try($$SELECT mockarty.setting_set('undefined_max_per_namespace', '0')$$);
SELECT try($$SELECT mockarty.setting_set('undefined_redact_headers', 'authorization, bad header')$$);
SELECT try($$SELECT mockarty.setting_set('change_log_keep', '5')$$);
SELECT try($$SELECT mockarty.setting_set('webhook_namespace_inflight', '65')$$);
SELECT mockarty.setting_get('webhook_timeout_ms');

-- redaction: credential headers are stored as "[redacted]", whatever their case or shape
SELECT mockarty.undefined_record('ret', 'get', '/r1',
	'{"Authorization":"Bearer mk_abc.secret","X-API-Key":"k-secret","Cookie":"sid=secret","Accept":"*/*",
	  "Proxy-Authorization":"Basic c2VjcmV0","set-cookie":["a=secret","b=secret"]}', '{"a":1}');
SELECT mockarty.undefined_record_batch('[{"namespace":"ret","method":"POST","path":"/r2",
	"headers":{"authorization":"Bearer mki_secret","x-trace":"t1"},"body":"plain","count":2}]');
SELECT u ->> 'method' AS method, u ->> 'path' AS path, u -> 'headers' AS headers, u -> 'body' AS body,
	u -> 'bodyTruncated' AS truncated, u -> 'bodySize' AS size, u -> 'count' AS count
FROM jsonb_array_elements(mockarty.undefined_list('ret')) u ORDER BY u ->> 'path';
SELECT count(*) AS rows_with_a_secret FROM mockarty_private.undefined_requests WHERE headers::text ~ 'secret';

-- the list is a setting: an empty list redacts nothing, names are case-insensitive
SELECT mockarty.setting_set('undefined_redact_headers', 'X-Secret-Header');
SELECT mockarty.undefined_record('ret', 'GET', '/r3', '{"x-secret-header":"s","Authorization":"visible"}', NULL);
SELECT u -> 'headers' FROM jsonb_array_elements(mockarty.undefined_list('ret')) u WHERE u ->> 'path' = '/r3';
SELECT mockarty.setting_set('undefined_redact_headers', NULL);

-- the webhook payload carries the stored (redacted) row
SELECT mockarty.webhook_create('{"url":"http://receiver.test/undef","events":["undefined_request.received"]}', 'ret') ->> 'id' AS wundef \gset
SELECT mockarty.undefined_record('ret', 'DELETE', '/r4', '{"Authorization":"Bearer mk_hook.secret","Cookie":"c=secret"}', NULL);
SELECT count(*) AS deliveries, count(*) FILTER (WHERE d.body ~ 'secret') AS with_a_secret,
	count(*) FILTER (WHERE d.body ~ '\[redacted\]') AS redacted
FROM mockarty_private.webhook_deliveries d WHERE d.webhook_id = :'wundef';
SELECT mockarty.webhook_delete(:'wundef');

-- the body cap: a 5 MB body keeps its first undefined_body_max_bytes bytes, flagged
SELECT mockarty.setting_set('undefined_body_max_bytes', '100');
SELECT mockarty.undefined_record('ret', 'POST', '/big', '{}', to_jsonb(repeat('x', 5000000)));
SELECT mockarty.undefined_record('ret', 'POST', '/bigjson', '{}', jsonb_build_object('k', repeat('y', 300)));
SELECT mockarty.undefined_record('ret', 'POST', '/utf8', '{}', to_jsonb(repeat('é', 300)));
SELECT mockarty.undefined_record('ret', 'POST', '/small', '{}', '{"ok":true}');
SELECT path, body_truncated, body_size, octet_length(body #>> '{}') AS stored_bytes, left(body #>> '{}', 12) AS starts
FROM mockarty_private.undefined_requests WHERE namespace = 'ret' AND path IN ('/big', '/bigjson', '/utf8', '/small')
ORDER BY path;
SELECT mockarty.setting_set('undefined_body_max_bytes', NULL);

-- history per namespace, trimmed by the worker: the newest undefined_max_per_namespace stay
SELECT mockarty.setting_set('undefined_max_per_namespace', '3');
SELECT count(mockarty.undefined_record('ret2', 'GET', '/h' || i, '{}', NULL)) AS recorded FROM generate_series(1, 6) i;
SELECT wait_for($$(SELECT count(*) FROM mockarty_private.undefined_requests WHERE namespace IN ('ret', 'ret2') GROUP BY namespace ORDER BY 1 DESC LIMIT 1) <= 3$$,
	'at most 3 undefined requests per namespace');
SELECT namespace, count(*) FROM mockarty_private.undefined_requests WHERE namespace IN ('ret', 'ret2') GROUP BY 1 ORDER BY 1;
SELECT mockarty.setting_set('undefined_max_per_namespace', NULL);
-- ... and none older than undefined_max_age_s (default 7 days)
SELECT mockarty.undefined_record('ret3', 'GET', '/old', '{}', NULL), mockarty.undefined_record('ret3', 'GET', '/new', '{}', NULL);
UPDATE mockarty_private.undefined_requests SET last_seen = now() - interval '8 days' WHERE namespace = 'ret3' AND path = '/old';
SELECT wait_for($$NOT EXISTS (SELECT 1 FROM mockarty_private.undefined_requests WHERE namespace = 'ret3' AND path = '/old')$$,
	'requests older than 7 days purged');
SELECT path FROM mockarty_private.undefined_requests WHERE namespace = 'ret3';

-- expired mocks are purged by the worker, with a change-log delete so nodes drop them
SELECT mockarty.mock_save('{"id":"ret-ttl","ttl":3600,"http":{"route":"/ttl"},"response":{"payload":"x"}}', 'ret') -> 'mock' ->> 'id';
SELECT mockarty.mock_save('{"id":"ret-keep","ttl":3600,"http":{"route":"/keep"},"response":{"payload":"x"}}', 'ret') -> 'mock' ->> 'id';
UPDATE mockarty_private.mocks SET expire_at = now() - interval '1 s' WHERE id = 'ret-ttl';
SELECT wait_for($$NOT EXISTS (SELECT 1 FROM mockarty_private.mocks WHERE id = 'ret-ttl')$$, 'expired mock purged');
SELECT mockarty.mock_get('ret-ttl') IS NULL AS gone, mockarty.mock_get('ret-keep') ->> 'id' AS kept;
SELECT op FROM mockarty_private.change_log WHERE mock_id = 'ret-ttl' ORDER BY version DESC LIMIT 1;
SELECT mockarty.mock_purge_expired() AS nothing_left;

-- change log: trimmed below change_log_keep newest versions older than change_log_min_age_s;
-- change_log_floor() says where a reader can continue without a gap
SELECT mockarty.change_log_floor() = 0 AS untrimmed_yet;
SELECT mockarty.mock_batch_save((SELECT jsonb_agg(jsonb_build_object('id', 'ret-cl-' || i,
	'http', jsonb_build_object('route', '/cl/' || i), 'response', jsonb_build_object('payload', i)))
	FROM generate_series(1, 150) i)) ->> 'created' AS created;
SELECT mockarty.setting_set('change_log_min_age_s', '0'), mockarty.setting_set('change_log_keep', '100');
SELECT wait_for($$mockarty.change_log_floor() >= mockarty.head_version() - 100$$, 'change log trimmed to 100 versions');
SELECT count(*) AS kept, min(version) = mockarty.head_version() - 99 AS oldest_kept_is_head_minus_99,
	mockarty.change_log_floor() = mockarty.head_version() - 100 AS floor
FROM mockarty_private.change_log;
SELECT count(*) AS continuing_from_floor FROM mockarty.changes_since(mockarty.change_log_floor());
SELECT mockarty.setting_set('change_log_min_age_s', NULL), mockarty.setting_set('change_log_keep', NULL);

-- the oldest version a connected resolver still needs stays: each admin node records the lowest
-- version its resolvers applied (change_log_node_record, every few seconds); rows seen within
-- change_log_node_window_s protect the versions above it, at most change_log_node_max_lag below head
SELECT try($$SELECT mockarty.change_log_node_record('', 1, 1)$$);
SELECT try($$SELECT mockarty.change_log_node_record('a:1:2', -1, 1)$$);
SELECT try($$SELECT mockarty.setting_set('change_log_node_window_s', '0')$$);
SELECT try($$SELECT mockarty.setting_set('change_log_node_max_lag', '99')$$);
SELECT mockarty.change_log_floor() AS lagging_at \gset
SELECT mockarty.change_log_node_record('regress-admin:5773:1', :lagging_at + 10, 3);
SELECT mockarty.change_log_node_record('regress-admin:5774:2', 0, 0);
SELECT admin_node, applied_version - :lagging_at AS applied_above_floor, nodes FROM mockarty_private.change_log_nodes ORDER BY 1;
SELECT mockarty.mock_batch_save((SELECT jsonb_agg(jsonb_build_object('id', 'ret-cn-' || i,
	'http', jsonb_build_object('route', '/cn/' || i), 'response', jsonb_build_object('payload', i)))
	FROM generate_series(1, 150) i)) ->> 'created' AS created;
SELECT mockarty.setting_set('change_log_min_age_s', '0'), mockarty.setting_set('change_log_keep', '100');
-- without the node, the worker would trim to head - 100 (150 versions more); the node at
-- lagging_at + 10 keeps lagging_at + 11 and every later version
SELECT wait_for('mockarty.change_log_floor() >= ' || (:lagging_at + 10), 'change log trimmed to the lagging node');
SELECT mockarty.change_log_trim() AS trimmed_more, mockarty.change_log_floor() - :lagging_at AS floor_above_lagging,
	mockarty.head_version() - mockarty.change_log_floor() AS versions_kept;
SELECT count(*) AS continuing_from_node FROM mockarty.changes_since(:lagging_at + 10);
-- a node not seen within the window is ignored (its row dropped): the log is trimmed to head - 100
UPDATE mockarty_private.change_log_nodes SET seen_at = now() - interval '61 s' WHERE admin_node = 'regress-admin:5773:1';
SELECT wait_for($$mockarty.change_log_floor() = mockarty.head_version() - 100$$, 'node outside the window ignored');
SELECT count(*) AS node_rows FROM mockarty_private.change_log_nodes WHERE admin_node = 'regress-admin:5773:1';
-- the cap: a node protects at most change_log_node_max_lag versions below head
SELECT mockarty.change_log_floor() AS lagging_at \gset
SELECT mockarty.setting_set('change_log_node_max_lag', '120');
SELECT mockarty.change_log_node_record('regress-admin:5773:1', :lagging_at, 1);
SELECT mockarty.mock_batch_save((SELECT jsonb_agg(jsonb_build_object('id', 'ret-cm-' || i,
	'http', jsonb_build_object('route', '/cm/' || i), 'response', jsonb_build_object('payload', i)))
	FROM generate_series(1, 150) i)) ->> 'created' AS created;
SELECT wait_for($$mockarty.change_log_floor() = mockarty.head_version() - 120$$, 'node protection capped at 120 versions');
SELECT mockarty.change_log_trim() AS trimmed_more, mockarty.head_version() - mockarty.change_log_floor() AS versions_kept;
DELETE FROM mockarty_private.change_log_nodes;
SELECT mockarty.setting_set('change_log_min_age_s', NULL), mockarty.setting_set('change_log_keep', NULL),
	mockarty.setting_set('change_log_node_max_lag', NULL);

-- webhook timeouts: a mock callback's timeout above 30 s is refused naming the field;
-- rows and settings never exceed the cap
SELECT try($$SELECT mockarty.mock_save('{"id":"ret-cb","http":{"route":"/cb"},"webhooks":[{"url":"http://h/","timeout":30001}]}')$$);
SELECT mockarty.mock_save('{"id":"ret-cb","http":{"route":"/cb"},"webhooks":[{"url":"http://h/","timeout":30000}]}', 'ret') -> 'mock' ->> 'id';
SELECT mockarty.webhook_callbacks_enqueue('[{"mockId":"ret-cb","namespace":"ret","url":"http://h/slow","timeoutMs":9999999}]');
SELECT timeout_ms FROM mockarty_private.webhook_deliveries WHERE url = 'http://h/slow';

-- claim fairness: at most webhook_namespace_inflight per namespace minus what the engine
-- has in flight there, taken round-robin
UPDATE mockarty_private.webhook_deliveries SET status = 'succeeded', next_attempt_at = NULL, lease_id = NULL,
	lease_expires_at = NULL WHERE status IN ('pending', 'delivering');
SELECT mockarty.webhook_create('{"url":"http://receiver.test/fair","events":["test_run.completed"]}') ->> 'id' AS wfair \gset
SELECT count(mockarty.event_emit('test_run.completed', 'fa', jsonb_build_object('i', i))) FROM generate_series(1, 30) i;
SELECT count(mockarty.event_emit('test_run.completed', 'fb', jsonb_build_object('i', i))) FROM generate_series(1, 3) i;
SELECT mockarty.setting_set('webhook_namespace_inflight', '5');
-- round-robin: a small batch takes from both namespaces
SELECT e ->> 'namespace' AS ns, count(*) FROM jsonb_array_elements(mockarty.webhook_claim(4)) e GROUP BY 1 ORDER BY 1;
-- the shares: fa may have 5 in flight and already has 2 (the engine says so in p_busy)
SELECT e ->> 'namespace' AS ns, count(*) FROM jsonb_array_elements(mockarty.webhook_claim(50, NULL, '{"fa":2,"fb":2}')) e GROUP BY 1 ORDER BY 1;
SELECT jsonb_array_length(mockarty.webhook_claim(50, NULL, '{"fa":5,"fb":3}')) AS none_while_shares_are_used;
SELECT e ->> 'namespace' AS ns, count(*) FROM jsonb_array_elements(mockarty.webhook_claim(50, NULL, '{"fa":3}')) e GROUP BY 1 ORDER BY 1;
-- the lease outlives the attempt: timeout (10 s) + 15 s even when a shorter lease is asked
SELECT (e ->> 'id')::bigint AS lid, e ->> 'timeoutMs' AS ltimeout FROM jsonb_array_elements(mockarty.webhook_claim(1, 1000, '{}')) e \gset
SELECT round(extract(epoch FROM (lease_expires_at - updated_at))) AS lease_s, :'ltimeout' AS timeout_ms
FROM mockarty_private.webhook_deliveries WHERE id = :lid;
SELECT mockarty.setting_set('webhook_namespace_inflight', NULL);
SELECT mockarty.webhook_delete(:'wfair');

-- only the extension's own functions are scheduler jobs (extension/scheduler.c checks pg_depend)
SELECT p.proname, d.deptype
FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid AND e.extname = 'mockarty'
WHERE p.pronamespace = 'mockarty'::regnamespace
  AND p.proname IN ('task_reap', 'webhook_due_notify', 'undefined_purge', 'mock_purge_expired', 'change_log_trim')
ORDER BY 1;
