-- 30_webhook_fairness.sql - webhook slots shared fairly between namespaces (webhook_claim
-- takes p_busy and a per-namespace share), leases that outlive the attempt, timeouts capped at
-- 30 s.

CREATE INDEX webhook_deliveries_ns_due_idx ON mockarty_private.webhook_deliveries (coalesce(namespace, ''), next_attempt_at) WHERE status = 'pending';

DROP FUNCTION mockarty.webhook_claim(int, int);
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

CREATE OR REPLACE FUNCTION mockarty_private.webhook_enqueue_events(p_event text, p_items jsonb) RETURNS int
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

CREATE OR REPLACE FUNCTION mockarty.webhook_callbacks_enqueue(p_batch jsonb) RETURNS int
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

-- timeouts above the new cap, stored by 0.1.0
UPDATE mockarty_private.settings SET value = '30000' WHERE key = 'webhook_timeout_ms' AND value::bigint > 30000;
UPDATE mockarty_private.webhook_deliveries SET timeout_ms = 30000 WHERE timeout_ms > 30000;
