-- 40_settings.sql - settings and the webhook tables.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

------------------------------------------------------------------------------
-- Settings, webhooks and their deliveries
------------------------------------------------------------------------------
-- Events (mock.created, mock.deleted, mock.resolved, undefined_request.received,
-- and whatever event_emit() records, test_run.completed among them) become
-- delivery rows inside the transaction that caused them: statement-level
-- triggers read the transition tables, so a batch of N rows costs one INSERT ...
-- SELECT, and a statement leaves at once when no enabled webhook subscribes to
-- its event. A delivery row carries everything an attempt needs (URL, headers,
-- the exact body, its retry schedule), so the admin node that sends it keeps no
-- state: it claims due rows with FOR UPDATE SKIP LOCKED under a lease, sends
-- them, and records each attempt with webhook_record(), which schedules the next
-- one. A crash of any process loses nothing: an unrecorded attempt's lease runs
-- out and the row is claimed again. NOTIFY mockarty_webhooks rings the doorbell
-- ('due'); the rows are the truth. Network I/O never happens in the database.

CREATE TABLE mockarty_private.settings (
	key text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
	value text NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.settings IS 'Server settings changed at run time (setting_set); a missing key means its default';

CREATE TABLE mockarty_private.webhooks (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	namespace text,
	name text NOT NULL DEFAULT '',
	url text NOT NULL CHECK (url ~* '^https?://[^/?#]+'),
	method text NOT NULL DEFAULT 'POST' CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
	headers jsonb NOT NULL DEFAULT '{}',
	events text[] NOT NULL,
	spelled jsonb NOT NULL DEFAULT '{}',
	secret text,
	enabled boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.webhooks IS 'Webhook subscriptions: events are canonical names; namespace NULL = events of every namespace; spelled keeps "operation"/"events" as the caller wrote them (the SDKs disagree), for echoing back; secret signs the body (kept in clear: HMAC needs it)';

CREATE TABLE mockarty_private.webhook_deliveries (
	id bigserial PRIMARY KEY,
	webhook_id uuid REFERENCES mockarty_private.webhooks (id) ON DELETE CASCADE,
	mock_id text,
	event text NOT NULL,
	namespace text,
	url text NOT NULL,
	method text NOT NULL DEFAULT 'POST',
	headers jsonb NOT NULL DEFAULT '{}',
	body text NOT NULL,
	schedule int[] NOT NULL CHECK (cardinality(schedule) >= 1),
	max_attempts int NOT NULL CHECK (max_attempts >= 1),
	timeout_ms int NOT NULL CHECK (timeout_ms > 0),
	status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivering', 'succeeded', 'failed')),
	attempts int NOT NULL DEFAULT 0,
	next_attempt_at timestamptz,
	lease_id uuid,
	lease_expires_at timestamptz,
	last_status_code int,
	last_error text,
	created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	completed_at timestamptz,
	manual boolean NOT NULL DEFAULT false,
	traceparent text CHECK (traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$')
);
COMMENT ON TABLE mockarty_private.webhook_deliveries IS 'One event (or one per-mock callback, webhook_id NULL) to send to one URL: the body is fixed when the event happens; schedule[n] is the delay in ms before attempt n (after the previous attempt ended); traceparent is the W3C context of the request that caused the event, parent of the delivery span';
CREATE INDEX webhook_deliveries_due_idx ON mockarty_private.webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_lease_idx ON mockarty_private.webhook_deliveries (lease_expires_at) WHERE status = 'delivering';
CREATE INDEX webhook_deliveries_webhook_idx ON mockarty_private.webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_ns_due_idx ON mockarty_private.webhook_deliveries (coalesce(namespace, ''), next_attempt_at) WHERE status = 'pending';

CREATE TABLE mockarty_private.webhook_attempts (
	delivery_id bigint NOT NULL REFERENCES mockarty_private.webhook_deliveries (id) ON DELETE CASCADE,
	attempt int NOT NULL,
	started_at timestamptz NOT NULL,
	finished_at timestamptz NOT NULL,
	status_code int,
	latency_ms int,
	error text,
	manual boolean NOT NULL DEFAULT false,
	PRIMARY KEY (delivery_id, attempt)
);
COMMENT ON TABLE mockarty_private.webhook_attempts IS 'Delivery history: every attempt with its time, HTTP status (NULL when no answer), latency and error; manual = after a retry by hand';

SELECT pg_catalog.pg_extension_config_dump('mockarty_private.settings', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.webhooks', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.webhook_deliveries', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.webhook_deliveries_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.webhook_attempts', '');

-- Settings -----------------------------------------------------------------

CREATE FUNCTION mockarty_private.duration_list_ms(p_text text, p_field text) RETURNS int[]
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	parts text[] := string_to_array(p_text, ',');
	out int[] := '{}';
	p text;
	m text[];
	v numeric;
	i int := 0;
BEGIN
	IF p_text IS NULL OR cardinality(parts) IS NULL OR cardinality(parts) = 0 OR cardinality(parts) > 20 THEN
		RAISE EXCEPTION '% must list 1 to 20 delays', p_field USING ERRCODE = '22023', DETAIL = p_field,
			HINT = 'Example: 0,30s,2m,10m,1h (units ms, s, m, h; a bare number is seconds).';
	END IF;
	FOREACH p IN ARRAY parts LOOP
		m := regexp_match(btrim(p), '^([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?$');
		IF m IS NULL THEN
			RAISE EXCEPTION '%[%]: "%" is not a delay', p_field, i, btrim(p) USING ERRCODE = '22023',
				DETAIL = p_field || '[' || i || ']', HINT = 'Delays look like 0, 500ms, 30s, 2m or 1h.';
		END IF;
		v := m[1]::numeric * CASE coalesce(m[2], 's') WHEN 'ms' THEN 1 WHEN 's' THEN 1000 WHEN 'm' THEN 60000 ELSE 3600000 END;
		IF v > 7 * 86400000 THEN
			RAISE EXCEPTION '%[%]: delay longer than 7 days', p_field, i USING ERRCODE = '22023',
				DETAIL = p_field || '[' || i || ']';
		END IF;
		out := out || round(v)::int;
		i := i + 1;
	END LOOP;
	RETURN out;
END
$$;
COMMENT ON FUNCTION mockarty_private.duration_list_ms(text, text) IS 'Parses "0,30s,2m,10m,1h" into delays in ms; 22023 naming p_field[i] for a bad entry';

CREATE FUNCTION mockarty_private.setting_default(p_key text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE p_key
		WHEN 'webhook_retry_schedule' THEN '0,30s,2m,10m,1h'
		WHEN 'webhook_timeout_ms' THEN '10000'
		WHEN 'webhook_lease_ms' THEN '60000'
		WHEN 'webhook_namespace_inflight' THEN '16'
		WHEN 'undefined_redact_headers' THEN 'authorization,proxy-authorization,cookie,set-cookie,x-api-key'
		WHEN 'undefined_body_max_bytes' THEN '65536'
		WHEN 'undefined_max_per_namespace' THEN '1000'
		WHEN 'undefined_max_age_s' THEN '604800'
		WHEN 'change_log_keep' THEN '100000'
		WHEN 'change_log_min_age_s' THEN '3600'
		WHEN 'change_log_node_window_s' THEN '60'
		WHEN 'change_log_node_max_lag' THEN '1000000'
	END
$$;
COMMENT ON FUNCTION mockarty_private.setting_default(text) IS 'Default value of a known setting, NULL for an unknown key';

CREATE FUNCTION mockarty.setting_get(p_key text) RETURNS text
LANGUAGE sql STABLE
AS $$
	SELECT coalesce((SELECT s.value FROM mockarty_private.settings s WHERE s.key = p_key),
		mockarty_private.setting_default(p_key))
$$;
COMMENT ON FUNCTION mockarty.setting_get(text) IS 'Value of a setting (its default when never set; NULL for an unknown key never set)';

CREATE FUNCTION mockarty.setting_set(p_key text, p_value text) RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
	n bigint;
	lo bigint;
	hi bigint;
	unit text;
	h text;
BEGIN
	PERFORM mockarty_private.unbound_admin_require('change settings');
	IF p_key IS NULL OR p_key !~ '^[a-z][a-z0-9_]{0,62}$' THEN
		RAISE EXCEPTION 'setting name "%" is not valid', coalesce(p_key, '') USING ERRCODE = '22023', DETAIL = '$.key';
	END IF;
	IF p_value IS NULL THEN
		DELETE FROM mockarty_private.settings s WHERE s.key = p_key;
		RETURN mockarty.setting_get(p_key);
	END IF;
	-- integer settings: their bounds and unit
	SELECT x.lo, x.hi, x.unit INTO lo, hi, unit FROM (VALUES
		('webhook_timeout_ms', 100, 30000, 'ms'),
		('webhook_lease_ms', 100, 3600000, 'ms'),
		('webhook_namespace_inflight', 1, 64, 'deliveries'),
		('undefined_body_max_bytes', 0, 1048576, 'bytes'),
		('undefined_max_per_namespace', 1, 1000000, 'requests'),
		('undefined_max_age_s', 1, 31536000, 's'),
		('change_log_keep', 100, 1000000000, 'versions'),
		('change_log_min_age_s', 0, 31536000, 's'),
		('change_log_node_window_s', 10, 86400, 's'),
		('change_log_node_max_lag', 100, 1000000000, 'versions')) x(k, lo, hi, unit)
	WHERE x.k = p_key;
	IF p_key = 'webhook_retry_schedule' THEN
		PERFORM mockarty_private.duration_list_ms(p_value, p_key);
	ELSIF unit IS NOT NULL THEN
		n := CASE WHEN p_value ~ '^[0-9]{1,10}$' THEN p_value::bigint END;
		IF n IS NULL OR n < lo OR n > hi THEN
			RAISE EXCEPTION '% must be an integer between % and % (%)', p_key, lo, hi, unit USING ERRCODE = '22023',
				DETAIL = p_key;
		END IF;
	ELSIF p_key = 'undefined_redact_headers' THEN
		FOREACH h IN ARRAY string_to_array(p_value, ',') LOOP
			IF btrim(h) !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' THEN
				RAISE EXCEPTION 'undefined_redact_headers: "%" is not a header name', btrim(h) USING ERRCODE = '22023',
					DETAIL = p_key, HINT = 'A comma-separated list of header names, e.g. authorization,cookie,x-api-key (an empty value redacts nothing).';
			END IF;
		END LOOP;
		p_value := lower(replace(p_value, ' ', ''));
	END IF;
	INSERT INTO mockarty_private.settings AS s (key, value) VALUES (p_key, p_value)
	ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now();
	RETURN p_value;
END
$$;
COMMENT ON FUNCTION mockarty.setting_set(text, text) IS 'Sets a setting (NULL value = back to the default) and returns the value in force; 42501 unless the caller is unrestricted or an admin not bound to a namespace; known keys are validated (22023 naming the key): webhook_retry_schedule ("0,30s,2m,10m,1h": delay before each attempt, the count is the attempt limit), webhook_timeout_ms (100..30000), webhook_lease_ms, webhook_namespace_inflight, undefined_redact_headers, undefined_body_max_bytes, undefined_max_per_namespace, undefined_max_age_s, change_log_keep, change_log_min_age_s, change_log_node_window_s, change_log_node_max_lag (docs/operations.md)';

CREATE FUNCTION mockarty.setting_list() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_object_agg(k, mockarty.setting_get(k) ORDER BY k)
	FROM (SELECT unnest(ARRAY['webhook_retry_schedule', 'webhook_timeout_ms', 'webhook_lease_ms',
	          'webhook_namespace_inflight', 'undefined_redact_headers', 'undefined_body_max_bytes',
	          'undefined_max_per_namespace', 'undefined_max_age_s', 'change_log_keep', 'change_log_min_age_s',
	          'change_log_node_window_s', 'change_log_node_max_lag']) AS k
	      UNION SELECT s.key FROM mockarty_private.settings s) x
$$;
COMMENT ON FUNCTION mockarty.setting_list() IS 'Every known setting and every stored one: {"key":"value"}';

