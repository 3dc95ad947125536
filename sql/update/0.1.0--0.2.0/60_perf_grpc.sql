-- 60_perf_grpc.sql - performance runs of gRPC unary calls (issue 12, item 4): perf_run_start
-- accepts {"script":{"grpc":{...}}} besides a collection.
CREATE OR REPLACE FUNCTION mockarty.perf_run_start(p_namespace text, p_config jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
	c mockarty_private.collections;
	e mockarty_private.environments;
	t mockarty_private.tasks;
	v_coll text;
	v_env text;
	v_field text := 'script.collectionId';
	v_opts jsonb;
	v_name text;
	v_task jsonb;
	g jsonb;
	k text;
	v jsonb;
BEGIN
	IF p_config IS NULL OR jsonb_typeof(p_config) <> 'object' THEN
		RAISE EXCEPTION 'perf run config must be a JSON object' USING ERRCODE = '22023', DETAIL = '$';
	END IF;
	IF p_config ? 'script' AND jsonb_typeof(p_config -> 'script') NOT IN ('object', 'null') THEN
		RAISE EXCEPTION 'script must be an object {"collectionId","environmentId"}' USING ERRCODE = '22023',
			DETAIL = '$.script';
	END IF;
	-- a gRPC load test: unary calls of one method, the message encoded by the runner from JSON
	g := p_config -> 'script' -> 'grpc';
	IF g IS NOT NULL AND jsonb_typeof(g) <> 'null' THEN
		IF jsonb_typeof(g) <> 'object' THEN
			RAISE EXCEPTION 'script.grpc must be an object {"target","method","descriptorSet","message","metadata"}'
				USING ERRCODE = '22023', DETAIL = '$.script.grpc';
		END IF;
		IF jsonb_typeof(g -> 'target') IS DISTINCT FROM 'string' OR g ->> 'target' !~ '^[^\s/]+:[0-9]{1,5}$' THEN
			RAISE EXCEPTION 'script.grpc.target must be "host:port"' USING ERRCODE = '22023', DETAIL = '$.script.grpc.target';
		END IF;
		IF jsonb_typeof(g -> 'method') IS DISTINCT FROM 'string' OR g ->> 'method' !~ '^/?[A-Za-z0-9_.]+/[A-Za-z0-9_]+$' THEN
			RAISE EXCEPTION 'script.grpc.method must be "pkg.Service/Method"' USING ERRCODE = '22023',
				DETAIL = '$.script.grpc.method';
		END IF;
		IF jsonb_typeof(g -> 'descriptorSet') IS DISTINCT FROM 'string'
		   OR g ->> 'descriptorSet' !~ '^[A-Za-z0-9+/\s]+=*\s*$' THEN
			RAISE EXCEPTION 'script.grpc.descriptorSet must be a FileDescriptorSet in base64 (protoc --include_imports --descriptor_set_out)'
				USING ERRCODE = '22023', DETAIL = '$.script.grpc.descriptorSet';
		END IF;
		IF g ? 'message' AND jsonb_typeof(g -> 'message') NOT IN ('object', 'null') THEN
			RAISE EXCEPTION 'script.grpc.message must be a JSON object (the request message in proto3 JSON)'
				USING ERRCODE = '22023', DETAIL = '$.script.grpc.message';
		END IF;
		IF g ? 'metadata' AND jsonb_typeof(g -> 'metadata') NOT IN ('object', 'null') THEN
			RAISE EXCEPTION 'script.grpc.metadata must be an object of strings' USING ERRCODE = '22023',
				DETAIL = '$.script.grpc.metadata';
		END IF;
		IF jsonb_typeof(g -> 'metadata') = 'object' THEN
			FOR k, v IN SELECT * FROM jsonb_each(g -> 'metadata') LOOP
				IF jsonb_typeof(v) <> 'string' THEN
					RAISE EXCEPTION 'script.grpc.metadata.% must be a string', k USING ERRCODE = '22023',
						DETAIL = '$.script.grpc.metadata.' || k;
				END IF;
			END LOOP;
		END IF;
		v_opts := mockarty_private.perf_options(p_config);
		v_name := coalesce(nullif(btrim(p_config ->> 'name'), ''), 'gRPC ' || (g ->> 'method'));
		v_task := mockarty.task_enqueue('performance', coalesce(p_namespace, 'default'),
			jsonb_build_object('name', v_name, 'grpc', g, 'options', v_opts), v_name, 1);
		SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = (v_task ->> 'id')::uuid;
		RETURN mockarty_private.perf_run_json(t);
	END IF;
	v_coll := p_config -> 'script' ->> 'collectionId';
	IF v_coll IS NULL THEN
		v_coll := p_config ->> 'collectionId';
		v_field := 'collectionId';
	END IF;
	IF v_coll IS NULL OR mockarty_private.integration_id(v_coll) IS NULL THEN
		RAISE EXCEPTION '% must be a collection id (uuid)', v_field USING ERRCODE = '22023', DETAIL = '$.' || v_field;
	END IF;
	c := mockarty_private.run_collection(v_coll::uuid, v_field);
	IF p_namespace IS NOT NULL AND p_namespace <> c.namespace THEN
		RAISE EXCEPTION 'collection "%" belongs to namespace "%", not "%"', c.id, c.namespace, p_namespace
			USING ERRCODE = '22023', DETAIL = '$.' || v_field;
	END IF;
	v_env := coalesce(p_config -> 'script' ->> 'environmentId', p_config ->> 'environmentId');
	IF v_env IS NOT NULL AND mockarty_private.integration_id(v_env) IS NULL THEN
		RAISE EXCEPTION 'environmentId must be an environment id (uuid)' USING ERRCODE = '22023',
			DETAIL = '$.script.environmentId';
	END IF;
	e := mockarty_private.run_environment(c.namespace, v_env::uuid);
	v_opts := mockarty_private.perf_options(p_config);
	v_name := coalesce(nullif(btrim(p_config ->> 'name'), ''), c.name);
	v_task := mockarty.task_enqueue('performance', c.namespace, jsonb_build_object(
		'name', v_name, 'collectionId', c.id::text, 'collection', c.source,
		'environmentId', e.id::text, 'environment', coalesce(e.variables, '{}'), 'options', v_opts),
		v_name, 1, c.id, e.id);
	SELECT * INTO t FROM mockarty_private.tasks x WHERE x.id = (v_task ->> 'id')::uuid;
	RETURN mockarty_private.perf_run_json(t);
END
$$;
COMMENT ON FUNCTION mockarty.perf_run_start(text, jsonb) IS 'Queues a performance task for a collection (config: the guide''s {"script":{"collectionId","environmentId"},"options":{...}} or the SDKs'' top-level collectionId/vus/duration/...; namespace NULL = the collection''s) or a gRPC load test ({"script":{"grpc":{"target","method","descriptorSet" (base64),"message","metadata"}},"options":{...}}; namespace NULL = default) and returns the PerfRun; one attempt (a load test is not silently re-run); 22023 naming the bad field';
