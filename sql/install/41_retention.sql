-- 41_retention.sql - retention jobs of the scheduler worker: undefined requests, expired mocks, change log.
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

-- Retention (run by the scheduler worker) -----------------------------------
--
-- The scheduler background worker (extension/scheduler.c) calls these every tick, each in
-- its own transaction; each does a bounded amount of work per call, so a large backlog is
-- worked off over a few ticks instead of in one long transaction.

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
	-- an idle tick takes no lock; otherwise the counter before the rows (02_helpers.sql): a
	-- writer holding the counter may be waiting for one of the rows this purge would delete
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.mocks y WHERE y.expire_at IS NOT NULL AND y.expire_at < now()) THEN
		RETURN 0;
	END IF;
	PERFORM mockarty_private.writer_lock();
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

CREATE FUNCTION mockarty.change_log_trim(p_limit int DEFAULT 10000) RETURNS int
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

CREATE FUNCTION mockarty.change_log_floor() RETURNS bigint
LANGUAGE sql STABLE
AS $$ SELECT coalesce((SELECT min(c.version) - 1 FROM mockarty_private.change_log c), mockarty.head_version()) $$;
COMMENT ON FUNCTION mockarty.change_log_floor() IS 'The oldest version changes_since() can continue from without a gap (the version before the oldest row kept; head_version() when the log is empty)';

