-- 70_lock_order.sql - one lock order for every transaction that writes mocks (issue 9):
-- the change counter's row first (mockarty_private.writer_lock(), or batch_begin()), then the
-- mocks rows in ascending id order (mockarty_private.mocks_lock()); request-log batches in
-- mock id order. Two purges, or a batch purge and the admin node's request-log flusher,
-- used to deadlock ("deadlock detected" in mock_purge). The functions as in the install parts
-- 02_helpers, 10_mocks, 11_logs_undefined and 41_retention (import_mocks and
-- wiremock_mappings_delete come with 50_import.sql, a link to their install part).

CREATE FUNCTION mockarty_private.writer_lock() RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	-- once per transaction (a batch holds it already); a transaction-local setting is
	-- reset with the lock when a subtransaction rolls back
	IF coalesce(current_setting('mockarty_private.batch_version', true), '') <> ''
	   OR coalesce(current_setting('mockarty_private.writer_locked', true), '') = 'on' THEN
		RETURN;
	END IF;
	PERFORM 1 FROM mockarty_private.change_counter FOR UPDATE;
	IF NOT FOUND THEN
		-- the first write of the database: the row does not exist yet
		INSERT INTO mockarty_private.change_counter (singleton, version) VALUES (true, 0)
		ON CONFLICT (singleton) DO NOTHING;
		PERFORM 1 FROM mockarty_private.change_counter FOR UPDATE;
	END IF;
	PERFORM pg_catalog.set_config('mockarty_private.writer_locked', 'on', true);
END
$$;
COMMENT ON FUNCTION mockarty_private.writer_lock() IS 'First lock of every mock-writing transaction: the change counter''s row (held to commit), before any mocks row, so that writers never wait for each other in a circle; a no-op when this transaction holds it already';

CREATE FUNCTION mockarty_private.mocks_lock(p_ids text[]) RETURNS void
LANGUAGE sql
AS $$
	SELECT count(*) FROM (SELECT 1 FROM mockarty_private.mocks m
		WHERE m.id = ANY (p_ids) AND mockarty_private.ns_visible(m.namespace)
		ORDER BY m.id FOR UPDATE) x
$$;
COMMENT ON FUNCTION mockarty_private.mocks_lock(text[]) IS 'Locks the mocks rows of the given ids (those the caller may see) in ascending id order, the order every transaction changing several mocks takes them in; call after writer_lock()';

CREATE OR REPLACE FUNCTION mockarty_private.namespace_ensure(ns text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	IF ns IS NULL OR ns !~ '^[a-z0-9][a-z0-9_.-]{0,62}$' THEN
		RAISE EXCEPTION 'invalid namespace name "%"', ns
			USING ERRCODE = '22023', DETAIL = '$.namespace',
			HINT = 'Namespace names match ^[a-z0-9][a-z0-9_.-]{0,62}$.';
	END IF;
	-- every write into a namespace passes here: the caller's binding and role are checked once
	PERFORM mockarty_private.ns_check(ns);
	PERFORM mockarty_private.role_require('editor', 'write');
	-- a plain lookup first: a batch writes thousands of mocks into existing namespaces
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.namespaces WHERE name = ns) THEN
		-- the counter before the new row (lock order, writer_lock()): a writer holding the
		-- counter may create the same namespace, and would wait for this insert
		PERFORM mockarty_private.writer_lock();
		INSERT INTO mockarty_private.namespaces (name) VALUES (ns) ON CONFLICT DO NOTHING;
	END IF;
END
$$;
COMMENT ON FUNCTION mockarty_private.namespace_ensure(text) IS 'Creates a namespace on first use; 22023 for an invalid name, 42501 when the caller is bound to another namespace or is a viewer';

CREATE OR REPLACE FUNCTION mockarty_private.mock_write(p_mock jsonb, p_namespace text, p_reset boolean,
	p_path text DEFAULT '$') RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	v_id text;
	v_ns text;
	v_doc jsonb;
	v_err jsonb;
	v_old mockarty_private.mocks;
	v_found boolean;
	v_row mockarty_private.mocks;
	v_ver bigint;
	v_ttl bigint;
	v_tags text[];
BEGIN
	IF p_mock IS NULL OR jsonb_typeof(p_mock) <> 'object' THEN
		RAISE EXCEPTION 'mock must be a JSON object' USING ERRCODE = '22023', DETAIL = p_path;
	END IF;
	IF p_mock ? 'id' AND jsonb_typeof(p_mock -> 'id') NOT IN ('string', 'null') THEN
		RAISE EXCEPTION 'id must be a string' USING ERRCODE = '22023', DETAIL = p_path || '.id';
	END IF;
	v_id := nullif(p_mock ->> 'id', '');
	IF v_id IS NULL THEN
		v_id := gen_random_uuid()::text;
	END IF;
	IF p_mock ? 'namespace' AND jsonb_typeof(p_mock -> 'namespace') NOT IN ('string', 'null') THEN
		RAISE EXCEPTION 'namespace must be a string' USING ERRCODE = '22023', DETAIL = p_path || '.namespace';
	END IF;
	v_ns := coalesce(p_namespace, nullif(p_mock ->> 'namespace', ''), mockarty_private.caller_namespace(), 'sandbox');
	v_doc := p_mock - mockarty_private.server_fields();

	v_err := mockarty.validate_mock(v_doc || jsonb_build_object('id', v_id, 'namespace', v_ns));
	IF v_err IS NOT NULL THEN
		RAISE EXCEPTION '%', v_err ->> 'error' USING ERRCODE = '22023',
			DETAIL = p_path || substr(coalesce(v_err ->> 'path', '$'), 2),
			HINT = 'Fix the field named in DETAIL and save the mock again.';
	END IF;
	PERFORM mockarty_private.namespace_ensure(v_ns);

	PERFORM mockarty_private.writer_lock(); -- the counter before the row (02_helpers.sql)
	SELECT * INTO v_old FROM mockarty_private.mocks WHERE id = v_id FOR UPDATE;
	v_found := FOUND;
	IF v_found AND NOT mockarty_private.ns_visible(v_old.namespace) THEN
		-- a bound caller never moves, overwrites or learns about a mock of another namespace
		RAISE EXCEPTION 'mock "%" does not exist in namespace "%"', v_id, v_ns USING ERRCODE = 'P0002',
			DETAIL = p_path || '.id', HINT = 'This id is not available to the caller; choose another id.';
	END IF;
	IF v_found AND v_old.namespace <> v_ns THEN
		-- nodes index mocks by namespace: retract it from the old one first
		PERFORM mockarty_private.log_change('delete', v_old.namespace, v_id);
	END IF;
	v_ver := mockarty_private.log_change('upsert', v_ns, v_id);
	v_ttl := CASE WHEN jsonb_typeof(v_doc -> 'ttl') = 'number' THEN (v_doc ->> 'ttl')::numeric::bigint END;
	IF v_ttl IS NOT NULL AND v_ttl <= 0 THEN
		v_ttl := NULL;
	END IF;
	SELECT coalesce(array_agg(t), '{}') INTO v_tags
	FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(v_doc -> 'tags') = 'array' THEN v_doc -> 'tags' ELSE '[]' END) t;

	IF NOT v_found THEN
		INSERT INTO mockarty_private.mocks (id, namespace, doc, route, http_method, priority, chain_id,
			folder_id, tags, ttl, expire_at, use_limiter, use_counter, oneof_cursor, version, change_version)
		VALUES (v_id, v_ns, v_doc, v_doc #>> '{http,route}', upper(v_doc #>> '{http,httpMethod}'),
			coalesce((v_doc ->> 'priority')::numeric::bigint, 0), v_doc ->> 'chainId', v_doc ->> 'folderId',
			v_tags, v_ttl, now() + make_interval(secs => v_ttl),
			coalesce((v_doc ->> 'useLimiter')::numeric::bigint, 0), 0,
			coalesce((v_doc #>> '{oneOf,offset}')::numeric::bigint, 0), 1, v_ver)
		RETURNING * INTO v_row;
		INSERT INTO mockarty_private.mock_store (mock_id, data)
		VALUES (v_id, CASE WHEN jsonb_typeof(v_doc -> 'mStore') = 'object' THEN v_doc -> 'mStore' ELSE '{}' END);
	ELSE
		UPDATE mockarty_private.mocks SET
			namespace = v_ns, doc = v_doc,
			route = v_doc #>> '{http,route}', http_method = upper(v_doc #>> '{http,httpMethod}'),
			priority = coalesce((v_doc ->> 'priority')::numeric::bigint, 0),
			chain_id = v_doc ->> 'chainId', folder_id = v_doc ->> 'folderId', tags = v_tags, ttl = v_ttl,
			expire_at = CASE WHEN p_reset OR v_ttl IS DISTINCT FROM v_old.ttl
				THEN now() + make_interval(secs => v_ttl) ELSE v_old.expire_at END,
			use_limiter = coalesce((v_doc ->> 'useLimiter')::numeric::bigint, 0),
			use_counter = CASE WHEN p_reset THEN 0 ELSE use_counter END,
			last_use = CASE WHEN p_reset THEN NULL ELSE last_use END,
			closed_at = CASE WHEN p_reset THEN NULL ELSE closed_at END,
			oneof_cursor = CASE WHEN p_reset THEN coalesce((v_doc #>> '{oneOf,offset}')::numeric::bigint, 0)
				ELSE oneof_cursor END,
			updated_at = now(), version = version + 1, change_version = v_ver
		WHERE id = v_id
		RETURNING * INTO v_row;
		IF p_reset THEN
			UPDATE mockarty_private.mock_store
			SET data = CASE WHEN jsonb_typeof(v_doc -> 'mStore') = 'object' THEN v_doc -> 'mStore' ELSE '{}' END
			WHERE mock_id = v_id;
		END IF;
	END IF;
	INSERT INTO mockarty_private.mock_versions (mock_id, version, doc)
	VALUES (v_id, v_row.version, v_doc || jsonb_build_object('id', v_id, 'namespace', v_ns));
	RETURN jsonb_build_object('overwritten', v_found, 'mock', mockarty_private.mock_json(v_row));
END
$$;
COMMENT ON FUNCTION mockarty_private.mock_write(jsonb, text, boolean, text) IS 'Validates and stores one mock (namespace: p_namespace, else the mock''s, else the caller''s, else sandbox), writes a version row and a change-log row. p_reset (a full save) restarts useCounter, lastUse, closedAt, the oneOf cursor and the mock store; p_path prefixes the JSON path in validation errors; P0002 when a caller bound to a namespace names the id of a mock of another namespace (it is left untouched)';

CREATE OR REPLACE FUNCTION mockarty.mock_patch(id text, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
	merged jsonb;
BEGIN
	PERFORM mockarty_private.writer_lock(); -- the counter before the row (02_helpers.sql)
	SELECT * INTO m FROM mockarty_private.mocks x WHERE x.id = mock_patch.id
		AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('mock', id);
	END IF;
	IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
		RAISE EXCEPTION 'patch must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	merged := mockarty_private.json_merge_patch(m.doc || jsonb_build_object('namespace', m.namespace),
		patch - mockarty_private.server_fields() - 'namespace'
			|| CASE WHEN patch ? 'namespace' THEN jsonb_build_object('namespace', patch -> 'namespace') ELSE '{}' END);
	merged := merged || jsonb_build_object('id', m.id);
	RETURN mockarty_private.mock_write(merged, NULL, false) -> 'mock';
END
$$;
COMMENT ON FUNCTION mockarty.mock_patch(text, jsonb) IS 'RFC 7386 merge patch of a mock, validated like a save; keeps use counter, cursor and stores; P0002 for an unknown id (or one of another namespace than the caller''s), 42501 when a bound caller patches "namespace" to another one';

CREATE OR REPLACE FUNCTION mockarty.mock_delete(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
BEGIN
	PERFORM mockarty_private.role_require('editor', 'delete mocks');
	PERFORM mockarty_private.writer_lock(); -- the counter before the row (02_helpers.sql)
	SELECT * INTO m FROM mockarty_private.mocks x WHERE x.id = mock_delete.id AND x.closed_at IS NULL
		AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	UPDATE mockarty_private.mocks x SET closed_at = now(), updated_at = now(),
		change_version = mockarty_private.log_change('delete', m.namespace, m.id)
	WHERE x.id = m.id;
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.mock_delete(text) IS 'Soft delete: sets closedAt, the mock stops matching; false when unknown, already deleted or of another namespace than the caller''s';

CREATE OR REPLACE FUNCTION mockarty.mock_restore(id text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
BEGIN
	PERFORM mockarty_private.writer_lock(); -- the counter before the row (02_helpers.sql)
	SELECT * INTO m FROM mockarty_private.mocks x WHERE x.id = mock_restore.id
		AND mockarty_private.ns_visible(x.namespace) FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM mockarty_private.raise_not_found('mock', id);
	END IF;
	IF m.closed_at IS NOT NULL THEN
		PERFORM mockarty_private.role_require('editor', 'restore mocks');
		UPDATE mockarty_private.mocks x SET closed_at = NULL, updated_at = now(),
			change_version = mockarty_private.log_change('upsert', m.namespace, m.id)
		WHERE x.id = m.id
		RETURNING * INTO m;
	END IF;
	RETURN mockarty_private.mock_json(m);
END
$$;
COMMENT ON FUNCTION mockarty.mock_restore(text) IS 'Clears closedAt of a soft-deleted mock and returns it; P0002 for an unknown id (or one of another namespace than the caller''s)';

CREATE OR REPLACE FUNCTION mockarty.mock_purge(id text) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
	m mockarty_private.mocks;
BEGIN
	PERFORM mockarty_private.role_require('editor', 'purge mocks');
	PERFORM mockarty_private.writer_lock(); -- the counter before the row (02_helpers.sql)
	IF NOT EXISTS (SELECT 1 FROM mockarty_private.mocks x WHERE x.id = mock_purge.id
	               AND mockarty_private.ns_visible(x.namespace)) THEN
		RETURN false;
	END IF;
	DELETE FROM mockarty_private.mocks x WHERE x.id = mock_purge.id RETURNING * INTO m;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	PERFORM mockarty_private.log_change('delete', m.namespace, m.id);
	RETURN true;
END
$$;
COMMENT ON FUNCTION mockarty.mock_purge(text) IS 'Hard delete of a mock with its versions, logs and mock store; false when unknown (or of another namespace than the caller''s)';

CREATE OR REPLACE FUNCTION mockarty.mock_batch_save(mocks jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	-- an array variable grows in place (expanded array); appending to a jsonb value
	-- would copy the whole result on every element and make large batches quadratic
	out_mocks jsonb[] := '{}';
	created int := 0;
	r jsonb;
	i int := 0;
	elem jsonb;
BEGIN
	IF mocks IS NULL OR jsonb_typeof(mocks) <> 'array' THEN
		RAISE EXCEPTION 'mocks must be a JSON array' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	PERFORM mockarty_private.batch_begin();
	-- the rows of existing ids in id order, not in the order of the array (02_helpers.sql)
	PERFORM mockarty_private.mocks_lock(ARRAY(SELECT e ->> 'id' FROM jsonb_array_elements(mocks) e
		WHERE jsonb_typeof(e) = 'object' AND jsonb_typeof(e -> 'id') = 'string'));
	FOR elem IN SELECT value FROM jsonb_array_elements(mocks) LOOP
		r := mockarty_private.mock_write(elem, NULL, true, '$[' || i || ']');
		IF NOT (r ->> 'overwritten')::boolean THEN
			created := created + 1;
		END IF;
		out_mocks := array_append(out_mocks, r -> 'mock');
		i := i + 1;
	END LOOP;
	PERFORM mockarty_private.batch_end();
	RETURN jsonb_build_object('created', created, 'mocks', to_jsonb(out_mocks));
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_save(jsonb) IS 'Saves an array of mocks, all or nothing; DETAIL of a validation error starts with the array index ($[2].http...); returns {"created":N,"mocks":[...]}';

CREATE OR REPLACE FUNCTION mockarty.mock_batch_delete(ids text[]) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n int := 0;
	i text;
BEGIN
	IF coalesce(cardinality(ids), 0) = 0 THEN
		RETURN 0;
	END IF;
	PERFORM mockarty_private.role_require('editor', 'delete mocks');
	-- the counter, then the rows in id order (02_helpers.sql)
	PERFORM mockarty_private.batch_begin();
	PERFORM mockarty_private.mocks_lock(ids);
	FOR i IN SELECT DISTINCT x FROM unnest(ids) x WHERE x IS NOT NULL ORDER BY 1 LOOP
		IF mockarty.mock_delete(i) THEN
			n := n + 1;
		END IF;
	END LOOP;
	PERFORM mockarty_private.batch_end();
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_delete(text[]) IS 'Soft-deletes mocks (taking the change counter, then the rows in id order); returns how many changed';

CREATE OR REPLACE FUNCTION mockarty.mock_batch_restore(ids text[]) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n int := 0;
	i text;
BEGIN
	IF coalesce(cardinality(ids), 0) = 0 THEN
		RETURN 0;
	END IF;
	-- the counter, then the rows in id order (02_helpers.sql)
	PERFORM mockarty_private.batch_begin();
	PERFORM mockarty_private.mocks_lock(ids);
	FOR i IN SELECT DISTINCT x FROM unnest(ids) x WHERE x IS NOT NULL ORDER BY 1 LOOP
		IF EXISTS (SELECT 1 FROM mockarty_private.mocks WHERE id = i AND closed_at IS NOT NULL
		           AND mockarty_private.ns_visible(namespace)) THEN
			PERFORM mockarty.mock_restore(i);
			n := n + 1;
		END IF;
	END LOOP;
	PERFORM mockarty_private.batch_end();
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_restore(text[]) IS 'Restores soft-deleted mocks (ids of other namespaces than the caller''s are skipped); returns how many changed';

CREATE OR REPLACE FUNCTION mockarty.mock_batch_purge(ids text[]) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n int := 0;
	i text;
BEGIN
	IF coalesce(cardinality(ids), 0) = 0 THEN
		RETURN 0;
	END IF;
	PERFORM mockarty_private.role_require('editor', 'purge mocks');
	-- the counter, then the rows in id order (02_helpers.sql): two purges, or a purge and
	-- the admin node's request-log writer, never wait for each other in a circle
	PERFORM mockarty_private.batch_begin();
	PERFORM mockarty_private.mocks_lock(ids);
	FOR i IN SELECT DISTINCT x FROM unnest(ids) x WHERE x IS NOT NULL ORDER BY 1 LOOP
		IF mockarty.mock_purge(i) THEN
			n := n + 1;
		END IF;
	END LOOP;
	PERFORM mockarty_private.batch_end();
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_purge(text[]) IS 'Hard-deletes mocks with their versions, logs and mock store (taking the change counter, then the rows in id order); returns how many existed';

CREATE OR REPLACE FUNCTION mockarty.mock_batch_move(ids text[], folder_id text) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n int := 0;
	m mockarty_private.mocks;
BEGIN
	IF folder_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mockarty_private.folders f WHERE f.id = folder_id
	                                         AND mockarty_private.ns_visible(f.namespace)) THEN
		PERFORM mockarty_private.raise_not_found('folder', folder_id);
	END IF;
	PERFORM mockarty_private.writer_lock(); -- the counter before the rows (02_helpers.sql)
	FOR m IN SELECT * FROM mockarty_private.mocks WHERE id = ANY (ids) AND mockarty_private.ns_visible(namespace)
	         ORDER BY id FOR UPDATE LOOP
		PERFORM mockarty_private.mock_write(
			CASE WHEN folder_id IS NULL THEN m.doc - 'folderId' ELSE m.doc || jsonb_build_object('folderId', folder_id) END
				|| jsonb_build_object('id', m.id), m.namespace, false);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_move(text[], text) IS 'Moves mocks into a folder (NULL = no folder); returns how many changed; P0002 for an unknown folder; ids and folders of other namespaces than the caller''s count as unknown';

CREATE OR REPLACE FUNCTION mockarty.mock_batch_tags(ids text[], tags text[]) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n int := 0;
	m mockarty_private.mocks;
BEGIN
	PERFORM mockarty_private.writer_lock(); -- the counter before the rows (02_helpers.sql)
	FOR m IN SELECT * FROM mockarty_private.mocks WHERE id = ANY (ids) AND mockarty_private.ns_visible(namespace)
	         ORDER BY id FOR UPDATE LOOP
		PERFORM mockarty_private.mock_write(m.doc || jsonb_build_object('id', m.id, 'tags', to_jsonb(coalesce(tags, '{}'))),
			m.namespace, false);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION mockarty.mock_batch_tags(text[], text[]) IS 'Replaces the tags of mocks (ids of other namespaces than the caller''s are skipped); returns how many changed';

CREATE OR REPLACE FUNCTION mockarty_private.log_insert(p_mock_id text, p_req jsonb, p_response jsonb, p_at timestamptz)
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

CREATE OR REPLACE FUNCTION mockarty.log_requests(batch jsonb) RETURNS int
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

CREATE OR REPLACE FUNCTION mockarty.mock_purge_expired(p_limit int DEFAULT 1000) RETURNS int
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
