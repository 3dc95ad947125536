-- 73_change_log_nodes.sql - the change log is trimmed no lower than the oldest version a
-- connected mock resolver still needs: each admin node's coordinator records, every few seconds,
-- the lowest version applied by its resolvers (mockarty_private.change_log_nodes,
-- change_log_node_record); change_log_trim keeps the versions above the lowest one recorded within
-- change_log_node_window_s, at most change_log_node_max_lag versions below head (new settings).
-- Part of the update script 0.1.0 -> 0.2.0; the same definitions are in sql/install/40_settings.sql
-- and 41_retention.sql.

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
		WHEN 'change_log_node_window_s' THEN '60'
		WHEN 'change_log_node_max_lag' THEN '1000000'
	END
$$;
COMMENT ON FUNCTION mockarty_private.setting_default(text) IS 'Default value of a known setting, NULL for an unknown key';

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

CREATE OR REPLACE FUNCTION mockarty.setting_list() RETURNS jsonb
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

CREATE TABLE mockarty_private.change_log_nodes (
	admin_node text PRIMARY KEY CHECK (admin_node <> '' AND length(admin_node) <= 200),
	applied_version bigint CHECK (applied_version >= 0),
	nodes int NOT NULL DEFAULT 0 CHECK (nodes >= 0),
	seen_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.change_log_nodes IS 'One row per admin node (its coordinator, "host:port:pid"): the lowest version applied by the mock resolvers connected to it (NULL when none), how many, and when it last said so (every few seconds, change_log_node_record); change_log_trim keeps the versions above the lowest applied_version of rows seen within change_log_node_window_s';
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.change_log_nodes', '');

CREATE FUNCTION mockarty.change_log_node_record(p_admin_node text, p_applied_version bigint, p_nodes int) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	IF p_admin_node IS NULL OR p_admin_node = '' OR length(p_admin_node) > 200 THEN
		RAISE EXCEPTION 'admin node name must be 1 to 200 characters' USING ERRCODE = '22023', DETAIL = 'p_admin_node';
	END IF;
	IF p_applied_version < 0 OR p_nodes < 0 THEN
		RAISE EXCEPTION 'applied version and node count must not be negative' USING ERRCODE = '22023',
			DETAIL = CASE WHEN p_nodes < 0 THEN 'p_nodes' ELSE 'p_applied_version' END;
	END IF;
	INSERT INTO mockarty_private.change_log_nodes AS n (admin_node, applied_version, nodes, seen_at)
	VALUES (p_admin_node, CASE WHEN coalesce(p_nodes, 0) > 0 THEN p_applied_version END, coalesce(p_nodes, 0), now())
	ON CONFLICT (admin_node) DO UPDATE SET applied_version = excluded.applied_version, nodes = excluded.nodes,
		seen_at = excluded.seen_at;
END
$$;
COMMENT ON FUNCTION mockarty.change_log_node_record(text, bigint, int) IS 'Called by an admin node''s coordinator every few seconds: the lowest version applied by the p_nodes mock resolvers connected to it (ignored when p_nodes is 0); change_log_trim keeps the change-log versions above it while the row is younger than change_log_node_window_s; 22023 naming the bad argument';

CREATE OR REPLACE FUNCTION mockarty.change_log_trim(p_limit int DEFAULT 10000) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	head bigint := mockarty.head_version();
	keep bigint := mockarty.setting_get('change_log_keep')::bigint;
	cutoff timestamptz := now() - make_interval(secs => mockarty.setting_get('change_log_min_age_s')::int);
	window_start timestamptz := now() - make_interval(secs => mockarty.setting_get('change_log_node_window_s')::int);
	max_lag bigint := mockarty.setting_get('change_log_node_max_lag')::bigint;
	needed bigint;
	upto bigint;
	oldest mockarty_private.change_log;
	n int;
BEGIN
	-- The admin node applies every change as it is committed (and reloads its snapshot when it
	-- finds a gap); resolvers are served from the coordinator's in-memory ring and get a Resync
	-- (a fresh snapshot) when their next version is older than the ring or missing from it.
	-- What is kept serves a restarting coordinator's ring, SQL readers of changes_since() and
	-- the connected resolvers: every admin node records the lowest version its resolvers have
	-- applied (change_log_nodes); versions above the lowest one recorded within the node window
	-- stay, but never more than change_log_node_max_lag versions below head (a resolver that
	-- far behind, or an admin node silent for longer than the window, resyncs from a snapshot).
	IF EXISTS (SELECT 1 FROM mockarty_private.change_log_nodes x WHERE x.seen_at < window_start) THEN
		DELETE FROM mockarty_private.change_log_nodes x WHERE x.seen_at < window_start;
	END IF;
	SELECT min(x.applied_version) INTO needed FROM mockarty_private.change_log_nodes x
	WHERE x.seen_at >= window_start AND x.applied_version IS NOT NULL;
	upto := head - keep;
	IF needed IS NOT NULL THEN
		upto := least(upto, greatest(needed, head - max_lag));
	END IF;
	-- An idle tick is one probe of the primary key: the oldest row, kept or not.
	SELECT * INTO oldest FROM mockarty_private.change_log c ORDER BY c.version LIMIT 1;
	IF NOT FOUND OR oldest.version > upto OR oldest.changed_at >= cutoff THEN
		RETURN 0;
	END IF;
	-- versions follow commit order, so the rows to delete are a prefix: read at most p_limit
	-- rows from the oldest and delete those old enough
	WITH d AS (
		DELETE FROM mockarty_private.change_log c
		WHERE c.version IN (SELECT x.version FROM (
			SELECT y.version, y.changed_at FROM mockarty_private.change_log y
			WHERE y.version <= upto
			ORDER BY y.version LIMIT greatest(coalesce(p_limit, 10000), 1)) x
		WHERE x.changed_at < cutoff)
		RETURNING 1)
	SELECT count(*) INTO n FROM d;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.change_log_trim(int) IS 'Deletes change-log rows that are outside the change_log_keep newest versions, older than change_log_min_age_s and not above the lowest version applied by a connected resolver (change_log_nodes rows seen within change_log_node_window_s; that protection reaches at most change_log_node_max_lag versions below head), at most p_limit of the oldest per call; drops change_log_nodes rows older than the window; returns how many change-log rows. A reader whose version is older than change_log_floor() must start again from a snapshot';
