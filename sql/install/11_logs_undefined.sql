-- 11_logs_undefined.sql - request logs of mocks and requests that matched no mock (redaction, caps).
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

------------------------------------------------------------------------------
-- Request logs and undefined requests
------------------------------------------------------------------------------

CREATE FUNCTION mockarty_private.log_limit() RETURNS int
LANGUAGE sql STABLE
AS $$ SELECT greatest(coalesce(nullif(current_setting('mockarty.log_limit', true), '')::int, 3), 0) $$;
COMMENT ON FUNCTION mockarty_private.log_limit() IS 'Value of the GUC mockarty.log_limit (3 when the module is not loaded)';

CREATE FUNCTION mockarty_private.log_insert(p_mock_id text, p_req jsonb, p_response jsonb, p_at timestamptz)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	-- the lock the foreign key takes anyway, taken first: a mock purged while this waited
	-- for its row is unknown (P0002), not a foreign key violation
	PERFORM 1 FROM mockarty_private.mocks WHERE id = p_mock_id FOR KEY SHARE;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('mock', p_mock_id);
	END IF;
	INSERT INTO mockarty_private.request_logs (mock_id, called_at, req, response)
	VALUES (p_mock_id, coalesce(p_at, now()), p_req, p_response);
	DELETE FROM mockarty_private.request_logs l
	WHERE l.mock_id = p_mock_id AND l.id NOT IN (
		SELECT k.id FROM mockarty_private.request_logs k WHERE k.mock_id = p_mock_id
		ORDER BY k.called_at DESC, k.id DESC LIMIT mockarty_private.log_limit());
END
$$;
COMMENT ON FUNCTION mockarty_private.log_insert(text, jsonb, jsonb, timestamptz) IS 'Appends a request log and trims the mock''s logs to mockarty.log_limit';

CREATE FUNCTION mockarty.log_request(mock_id text, req jsonb, response jsonb) RETURNS void
LANGUAGE sql
AS $$ SELECT mockarty_private.log_insert(mock_id, req, response, NULL) $$;
COMMENT ON FUNCTION mockarty.log_request(text, jsonb, jsonb) IS 'Logs one request of a mock, keeping the last mockarty.log_limit (default 3); P0002 for an unknown mock';

CREATE FUNCTION mockarty.log_requests(batch jsonb) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	e jsonb;
	n int := 0;
	at timestamptz;
BEGIN
	IF batch IS NULL OR jsonb_typeof(batch) <> 'array' THEN
		RAISE EXCEPTION 'batch must be a JSON array' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	-- in mock id order (the order of the batch within one mock): each log's foreign key
	-- locks its mock's row (KEY SHARE) to commit, and a purge or delete of several mocks
	-- locks them in id order too, so the two never wait for each other in a circle
	FOR e IN SELECT value FROM jsonb_array_elements(batch) WITH ORDINALITY AS b (value, i)
	         ORDER BY value ->> 'mockId', i LOOP
		at := CASE jsonb_typeof(e -> 'calledAt')
			WHEN 'number' THEN to_timestamp(CASE WHEN (e ->> 'calledAt')::numeric > 1e11
				THEN (e ->> 'calledAt')::numeric / 1000 ELSE (e ->> 'calledAt')::numeric END)
			WHEN 'string' THEN (e ->> 'calledAt')::timestamptz
			END;
		PERFORM mockarty_private.log_insert(e ->> 'mockId', e -> 'req', e -> 'response', at);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.log_requests(jsonb) IS 'Logs a batch [{"mockId","req","response","calledAt"}] (calledAt: RFC 3339, Unix seconds or milliseconds), written in mock id order (the lock order of mock writes); P0002 for an unknown mock; returns how many';

CREATE FUNCTION mockarty.mock_logs(mock_id text, off int DEFAULT 0, lim int DEFAULT 50) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	items jsonb;
	total bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.mocks m WHERE m.id = mock_logs.mock_id
	               AND mockarty_private.ns_visible(m.namespace)) THEN
		PERFORM mockarty_private.raise_not_found('mock', mock_id);
	END IF;
	SELECT count(*) INTO total FROM mockarty_private.request_logs l WHERE l.mock_id = mock_logs.mock_id;
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id::text, 'calledAt', mockarty_private.rfc3339(p.called_at),
		'req', p.req, 'response', p.response) ORDER BY p.called_at DESC, p.id DESC), '[]') INTO items
	FROM (SELECT * FROM mockarty_private.request_logs l WHERE l.mock_id = mock_logs.mock_id
	      ORDER BY l.called_at DESC, l.id DESC OFFSET greatest(off, 0) LIMIT greatest(lim, 0)) p;
	RETURN jsonb_build_object('id', mock_id, 'requests', items, 'logs', items, 'total', total);
END
$$;
COMMENT ON FUNCTION mockarty.mock_logs(text, int, int) IS 'Request logs of a mock, newest first: {"id","requests":[...],"logs":[...],"total":N}; P0002 for an unknown mock (or one of another namespace than the caller''s)';

CREATE FUNCTION mockarty.mock_logs_clear(mock_id text) RETURNS int
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.request_logs l WHERE l.mock_id = mock_logs_clear.mock_id
	           AND EXISTS (SELECT 1 FROM mockarty_private.mocks m WHERE m.id = l.mock_id
	                       AND mockarty_private.ns_visible(m.namespace)) RETURNING 1)
	SELECT count(*)::int FROM d
$$;
COMMENT ON FUNCTION mockarty.mock_logs_clear(text) IS 'Deletes the request logs of a mock (none of another namespace than the caller''s); returns how many';

-- Misses arrive with whatever the client sent: an SDK calling a wrong path sends its
-- Authorization header, and a client can send megabytes of body to endless unique paths.
-- Every recording path (undefined_record, undefined_record_batch: the admin node, SQL,
-- resolvers through the coordinator) stores what undefined_clean() returns, so the list,
-- the REST API and the undefined_request.received webhooks never hold a credential, and
-- undefined_purge() (scheduler worker) bounds the rows kept per namespace.
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

CREATE FUNCTION mockarty.undefined_record(namespace text, method text, path text, headers jsonb, body jsonb)
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

CREATE FUNCTION mockarty_private.undefined_json(u mockarty_private.undefined_requests) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', u.id, 'method', u.method, 'path', u.path, 'protocol', u.protocol,
		'namespace', u.namespace, 'headers', u.headers, 'body', u.body, 'count', u.count, 'hitCount', u.count,
		'timestamp', mockarty_private.unix(u.last_seen), 'firstSeen', mockarty_private.unix(u.first_seen),
		'lastSeen', mockarty_private.unix(u.last_seen), 'ignored', u.ignored,
		'bodyTruncated', u.body_truncated, 'bodySize', u.body_size)
$$;
COMMENT ON FUNCTION mockarty_private.undefined_json(mockarty_private.undefined_requests) IS 'An undefined request as the API returns it';

CREATE FUNCTION mockarty.undefined_list(namespace text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	-- the scope is the outer row, so a refused namespace raises even when nothing is stored
	SELECT (SELECT coalesce(jsonb_agg(mockarty_private.undefined_json(u) ORDER BY u.id), '[]')
		FROM mockarty_private.undefined_requests u WHERE s.ns IS NULL OR u.namespace = s.ns)
	FROM (SELECT mockarty_private.ns_scope(undefined_list.namespace) AS ns OFFSET 0) s
$$;
COMMENT ON FUNCTION mockarty.undefined_list(text) IS 'Undefined requests of a namespace (NULL = all; a bound caller: its own, another raises 42501), oldest first';

CREATE FUNCTION mockarty.undefined_ignore(id bigint) RETURNS int
LANGUAGE sql
AS $$
	WITH u AS (UPDATE mockarty_private.undefined_requests x SET ignored = true
	           WHERE x.id = undefined_ignore.id AND mockarty_private.ns_visible(x.namespace) RETURNING 1)
	SELECT count(*)::int FROM u
$$;
COMMENT ON FUNCTION mockarty.undefined_ignore(bigint) IS 'Marks an undefined request ignored (not one of another namespace than the caller''s); returns rows changed';

CREATE FUNCTION mockarty.undefined_delete(ids bigint[]) RETURNS int
LANGUAGE sql
AS $$
	WITH d AS (DELETE FROM mockarty_private.undefined_requests x WHERE x.id = ANY (ids)
	           AND mockarty_private.ns_visible(x.namespace) RETURNING 1)
	SELECT count(*)::int FROM d
$$;
COMMENT ON FUNCTION mockarty.undefined_delete(bigint[]) IS 'Deletes undefined requests by id (not those of another namespace than the caller''s); returns how many';

CREATE FUNCTION mockarty.undefined_delete_all(namespace text DEFAULT NULL) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	v_ns text := mockarty_private.ns_scope(undefined_delete_all.namespace);
	n int;
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete undefined requests');
	DELETE FROM mockarty_private.undefined_requests x WHERE v_ns IS NULL OR x.namespace = v_ns;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_delete_all(text) IS 'Deletes all undefined requests of a namespace (NULL = all; a bound caller: its own, another raises 42501); returns how many';

CREATE FUNCTION mockarty.undefined_create_mock(id bigint) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	u mockarty_private.undefined_requests;
	m jsonb;
BEGIN
	DELETE FROM mockarty_private.undefined_requests x WHERE x.id = undefined_create_mock.id
		AND mockarty_private.ns_visible(x.namespace) RETURNING * INTO u;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('undefined request', id::text);
	END IF;
	m := mockarty_private.mock_write(jsonb_build_object(
		'http', jsonb_build_object('route', u.path, 'httpMethod', u.method),
		'response', jsonb_build_object('statusCode', 200, 'payload', '{}'::jsonb)), u.namespace, true) -> 'mock';
	RETURN m;
END
$$;
COMMENT ON FUNCTION mockarty.undefined_create_mock(bigint) IS 'Turns an undefined request into a 200 {} stub mock on its method and path (the request row is removed); returns the mock; P0002 when unknown (or of another namespace than the caller''s)';

