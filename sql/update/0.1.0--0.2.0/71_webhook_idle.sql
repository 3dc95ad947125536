-- 71_webhook_idle.sql - webhook_next_due_ms() answers NULL when no delivery waits (issue 9):
-- it answered 0 ("due now"), and every admin node's delivery engine asked the database again
-- every 5 ms while idle, about 6% of a core taken from serving; and it is plpgsql now, so its
-- query plan is cached per connection. As in the install part 42_webhooks.

CREATE OR REPLACE FUNCTION mockarty.webhook_next_due_ms() RETURNS bigint
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
