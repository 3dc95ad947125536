-- 20_undefined_retention.sql - undefined requests keep no credentials and a bounded body,
-- history is bounded per namespace; expired mocks and old change-log rows are purged by the
-- scheduler worker (undefined_purge, mock_purge_expired, change_log_trim); new settings.

ALTER TABLE mockarty_private.undefined_requests ADD COLUMN body_truncated boolean NOT NULL DEFAULT false;
ALTER TABLE mockarty_private.undefined_requests ADD COLUMN body_size bigint;
CREATE INDEX mocks_expire_idx ON mockarty_private.mocks (expire_at) WHERE expire_at IS NOT NULL;
COMMENT ON TABLE mockarty_private.undefined_requests IS 'Requests no mock matched, one row per namespace+method+path (deduplicated by request_key, an MD5 of the three); credential headers are stored redacted and the body capped (settings undefined_redact_headers, undefined_body_max_bytes)';
COMMENT ON COLUMN mockarty_private.undefined_requests.body_truncated IS 'True when the body was longer than undefined_body_max_bytes: body is then a JSON string holding the first bytes of its text';
COMMENT ON COLUMN mockarty_private.undefined_requests.body_size IS 'Length in bytes of the body''s JSON text as received (before the cap), NULL without a body';
CREATE INDEX undefined_requests_ns_seen_idx ON mockarty_private.undefined_requests (namespace, last_seen DESC, id DESC);

CREATE OR REPLACE FUNCTION mockarty_private.setting_default(p_key text) RETURNS text
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
	END
$$;
COMMENT ON FUNCTION mockarty_private.setting_default(text) IS 'Default value of a known setting, NULL for an unknown key';

CREATE OR REPLACE FUNCTION mockarty.setting_get(p_key text) RETURNS text
LANGUAGE sql STABLE
AS $$
	SELECT coalesce((SELECT s.value FROM mockarty_private.settings s WHERE s.key = p_key),
		mockarty_private.setting_default(p_key))
$$;
COMMENT ON FUNCTION mockarty.setting_get(text) IS 'Value of a setting (its default when never set; NULL for an unknown key never set)';

CREATE OR REPLACE FUNCTION mockarty.setting_set(p_key text, p_value text) RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
	n bigint;
	lo bigint;
	hi bigint;
	unit text;
	h text;
BEGIN
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
		('change_log_min_age_s', 0, 31536000, 's')) x(k, lo, hi, unit)
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
COMMENT ON FUNCTION mockarty.setting_set(text, text) IS 'Sets a setting (NULL value = back to the default) and returns the value in force; known keys are validated (22023 naming the key): webhook_retry_schedule ("0,30s,2m,10m,1h": delay before each attempt, the count is the attempt limit), webhook_timeout_ms (100..30000), webhook_lease_ms, webhook_namespace_inflight, undefined_redact_headers, undefined_body_max_bytes, undefined_max_per_namespace, undefined_max_age_s, change_log_keep, change_log_min_age_s (docs/operations.md)';

CREATE OR REPLACE FUNCTION mockarty.setting_list() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_object_agg(k, mockarty.setting_get(k) ORDER BY k)
	FROM (SELECT unnest(ARRAY['webhook_retry_schedule', 'webhook_timeout_ms', 'webhook_lease_ms',
	          'webhook_namespace_inflight', 'undefined_redact_headers', 'undefined_body_max_bytes',
	          'undefined_max_per_namespace', 'undefined_max_age_s', 'change_log_keep', 'change_log_min_age_s']) AS k
	      UNION SELECT s.key FROM mockarty_private.settings s) x
$$;
COMMENT ON FUNCTION mockarty.setting_list() IS 'Every known setting and every stored one: {"key":"value"}';

CREATE FUNCTION mockarty_private.undefined_clean(p_headers jsonb, p_body jsonb,
	OUT headers jsonb, OUT body jsonb, OUT body_truncated boolean, OUT body_size bigint)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	redact text[] := string_to_array(lower(replace(coalesce(mockarty.setting_get('undefined_redact_headers'), ''), ' ', '')), ',');
	cap int := coalesce(mockarty.setting_get('undefined_body_max_bytes')::int, 65536);
	t text;
BEGIN
	IF jsonb_typeof(p_headers) = 'object' THEN
		SELECT coalesce(jsonb_object_agg(h.key, CASE WHEN lower(h.key) = ANY (redact) THEN '"[redacted]"'::jsonb
			ELSE h.value END), '{}') INTO headers
		FROM jsonb_each(p_headers) h;
	ELSE
		headers := '{}';
	END IF;
	body := p_body;
	body_truncated := false;
	IF p_body IS NOT NULL AND jsonb_typeof(p_body) <> 'null' THEN
		t := CASE WHEN jsonb_typeof(p_body) = 'string' THEN p_body #>> '{}' ELSE p_body::text END;
		body_size := octet_length(t);
		IF body_size > cap THEN
			t := left(t, cap);
			-- multi-byte characters: each step removes at least the excess in characters
			WHILE octet_length(t) > cap LOOP
				t := left(t, length(t) - greatest((octet_length(t) - cap) / 4, 1));
			END LOOP;
			body := to_jsonb(t);
			body_truncated := true;
		END IF;
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.undefined_clean(jsonb, jsonb) IS 'What is stored of a miss: headers named in setting undefined_redact_headers (case-insensitive) get the value "[redacted]"; a body whose text is longer than undefined_body_max_bytes becomes a JSON string of its first bytes (body_truncated); body_size is the length received';

CREATE OR REPLACE FUNCTION mockarty.undefined_record(namespace text, method text, path text, headers jsonb, body jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	c record := mockarty_private.undefined_clean(headers, body);
BEGIN
	INSERT INTO mockarty_private.undefined_requests AS u (namespace, method, path, headers, body, body_truncated,
		body_size)
	VALUES (coalesce(undefined_record.namespace, 'sandbox'), upper(undefined_record.method), undefined_record.path,
		c.headers, c.body, c.body_truncated, c.body_size)
	ON CONFLICT (request_key) DO UPDATE
	SET count = u.count + 1, last_seen = now(), headers = excluded.headers, body = excluded.body,
		body_truncated = excluded.body_truncated, body_size = excluded.body_size;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_record(text, text, text, jsonb, jsonb) IS 'Records a request no mock matched; repeats of namespace+method+path bump count and lastSeen; credential headers are redacted and the body capped (undefined_clean)';

CREATE OR REPLACE FUNCTION mockarty_private.undefined_json(u mockarty_private.undefined_requests) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', u.id, 'method', u.method, 'path', u.path, 'protocol', u.protocol,
		'namespace', u.namespace, 'headers', u.headers, 'body', u.body, 'count', u.count, 'hitCount', u.count,
		'timestamp', mockarty_private.unix(u.last_seen), 'firstSeen', mockarty_private.unix(u.first_seen),
		'lastSeen', mockarty_private.unix(u.last_seen), 'ignored', u.ignored,
		'bodyTruncated', u.body_truncated, 'bodySize', u.body_size)
$$;
COMMENT ON FUNCTION mockarty_private.undefined_json(mockarty_private.undefined_requests) IS 'An undefined request as the API returns it';

CREATE OR REPLACE FUNCTION mockarty.undefined_record_batch(batch jsonb) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	e jsonb;
	n int := 0;
	c bigint;
	k record;
BEGIN
	IF batch IS NULL OR jsonb_typeof(batch) <> 'array' THEN
		RAISE EXCEPTION 'batch must be a JSON array' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	FOR e IN SELECT value FROM jsonb_array_elements(batch) LOOP
		CONTINUE WHEN coalesce(e ->> 'method', '') = '' OR coalesce(e ->> 'path', '') = '';
		c := greatest(coalesce((e ->> 'count')::bigint, 1), 1);
		k := mockarty_private.undefined_clean(e -> 'headers', e -> 'body');
		INSERT INTO mockarty_private.undefined_requests AS u (namespace, method, path, headers, body, count,
			body_truncated, body_size)
		VALUES (coalesce(nullif(e ->> 'namespace', ''), 'sandbox'), upper(e ->> 'method'), e ->> 'path',
			k.headers, k.body, c, k.body_truncated, k.body_size)
		ON CONFLICT (request_key) DO UPDATE
		SET count = u.count + excluded.count, last_seen = now(), headers = excluded.headers,
			body = excluded.body, body_truncated = excluded.body_truncated, body_size = excluded.body_size;
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_record_batch(jsonb) IS 'Records aggregated misses [{"namespace","method","path","headers","body","count"}] (what resolvers report): each adds count occurrences; rows without method or path are skipped; credential headers are redacted and bodies capped (undefined_clean); returns how many rows were recorded';

CREATE FUNCTION mockarty.undefined_purge(p_limit int DEFAULT 10000) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	keep int := mockarty.setting_get('undefined_max_per_namespace')::int;
	age int := mockarty.setting_get('undefined_max_age_s')::int;
	n int;
BEGIN
	WITH old AS (
		SELECT u.id FROM mockarty_private.undefined_requests u
		WHERE u.last_seen < now() - make_interval(secs => age)
		LIMIT greatest(coalesce(p_limit, 10000), 1)
	), over AS (
		SELECT r.id FROM (
			SELECT u.id, row_number() OVER (PARTITION BY u.namespace ORDER BY u.last_seen DESC, u.id DESC) AS rn
			FROM mockarty_private.undefined_requests u
			WHERE u.namespace IN (SELECT x.namespace FROM mockarty_private.undefined_requests x
			                      GROUP BY x.namespace HAVING count(*) > keep)) r
		WHERE r.rn > keep
		LIMIT greatest(coalesce(p_limit, 10000), 1)
	), d AS (
		DELETE FROM mockarty_private.undefined_requests u
		WHERE u.id IN (SELECT old.id FROM old UNION SELECT over.id FROM over)
		RETURNING 1
	)
	SELECT count(*) INTO n FROM d;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_purge(int) IS 'Retention of undefined requests: deletes those last seen more than undefined_max_age_s ago and, per namespace, all but the undefined_max_per_namespace most recently seen; at most 2 x p_limit rows per call; returns how many';

CREATE FUNCTION mockarty.mock_purge_expired(p_limit int DEFAULT 1000) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	m record;
	n int := 0;
BEGIN
	FOR m IN
		DELETE FROM mockarty_private.mocks x
		WHERE x.id IN (SELECT y.id FROM mockarty_private.mocks y
		               WHERE y.expire_at IS NOT NULL AND y.expire_at < now() ORDER BY y.expire_at
		               LIMIT greatest(coalesce(p_limit, 1000), 1) FOR UPDATE SKIP LOCKED)
		RETURNING x.id, x.namespace
	LOOP
		PERFORM mockarty_private.log_change('delete', m.namespace, m.id);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_purge_expired(int) IS 'Hard-deletes up to p_limit mocks whose expireAt (set from ttl) has passed, with their versions, logs and mock store, as mock_purge() does (change log ''delete'', so every node drops them); returns how many';

CREATE FUNCTION mockarty.change_log_trim(p_limit int DEFAULT 10000) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	head bigint := mockarty.head_version();
	keep bigint := mockarty.setting_get('change_log_keep')::bigint;
	cutoff timestamptz := now() - make_interval(secs => mockarty.setting_get('change_log_min_age_s')::int);
	oldest mockarty_private.change_log;
	n int;
BEGIN
	-- No connected node reads old rows from here: the admin node applies every change as it
	-- is committed (and reloads its snapshot when it finds a gap), resolvers are served from
	-- the coordinator's in-memory ring and get a Resync (a fresh snapshot) when their next
	-- version is older than the ring or missing from it. What is kept serves a restarting
	-- coordinator's ring and SQL readers of changes_since().
	-- An idle tick is one probe of the primary key: the oldest row, kept or not.
	SELECT * INTO oldest FROM mockarty_private.change_log c ORDER BY c.version LIMIT 1;
	IF NOT FOUND OR oldest.version > head - keep OR oldest.changed_at >= cutoff THEN
		RETURN 0;
	END IF;
	-- versions follow commit order, so the rows to delete are a prefix: read at most p_limit
	-- rows from the oldest and delete those old enough
	WITH d AS (
		DELETE FROM mockarty_private.change_log c
		WHERE c.version IN (SELECT x.version FROM (
			SELECT y.version, y.changed_at FROM mockarty_private.change_log y
			WHERE y.version <= head - keep
			ORDER BY y.version LIMIT greatest(coalesce(p_limit, 10000), 1)) x
		WHERE x.changed_at < cutoff)
		RETURNING 1)
	SELECT count(*) INTO n FROM d;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.change_log_trim(int) IS 'Deletes change-log rows that are both outside the change_log_keep newest versions and older than change_log_min_age_s, at most p_limit of the oldest per call; returns how many. A reader whose version is older than change_log_floor() must start again from a snapshot';

CREATE FUNCTION mockarty.change_log_floor() RETURNS bigint
LANGUAGE sql STABLE
AS $$ SELECT coalesce((SELECT min(c.version) - 1 FROM mockarty_private.change_log c), mockarty.head_version()) $$;
COMMENT ON FUNCTION mockarty.change_log_floor() IS 'The oldest version changes_since() can continue from without a gap (the version before the oldest row kept; head_version() when the log is empty)';

-- rows stored by 0.1.0 lose their credentials and oversized bodies now
UPDATE mockarty_private.undefined_requests u
SET headers = c.headers, body = c.body, body_truncated = c.body_truncated, body_size = c.body_size
FROM mockarty_private.undefined_requests x, LATERAL mockarty_private.undefined_clean(x.headers, x.body) c
WHERE u.id = x.id;
