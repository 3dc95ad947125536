-- 12_node_reports: what a mock resolver's Report may put into the webhook queue (issue 9,
-- section 1): only callbacks and mock.resolved events of mocks in the namespaces the
-- coordinator sent that node, and a callback's destination and delivery settings come from
-- the stored mock, never from the node's message.

CREATE OR REPLACE FUNCTION mockarty_private.url_origin(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT lower(substring(p_url FROM '^(https?://[^/?#]+)')) $$;
COMMENT ON FUNCTION mockarty_private.url_origin(text) IS 'Scheme and authority of an http(s) URL in lower case (https://host:port), NULL for anything else';

CREATE OR REPLACE FUNCTION mockarty.node_report_callbacks(p_batch jsonb, p_namespaces text[]) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object(
		'mockId', m.id, 'namespace', m.namespace, 'url', c ->> 'url',
		'method', CASE WHEN coalesce(w ->> 'method', '') LIKE '%$.%' THEN c ->> 'method'
			ELSE upper(coalesce(nullif(w ->> 'method', ''), 'POST')) END,
		'headers', c -> 'headers', 'body', c -> 'body',
		'timeoutMs', w -> 'timeout', 'retryCount', w -> 'retryCount', 'retryDelay', w -> 'retryDelay')), '[]')
	FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_batch) = 'array' THEN p_batch ELSE '[]' END) c
	JOIN mockarty_private.mocks m ON m.id = c ->> 'mockId' AND m.namespace = ANY (p_namespaces)
	CROSS JOIN LATERAL (
		SELECT x AS w FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.doc -> 'webhooks') = 'array'
			THEN m.doc -> 'webhooks' ELSE '[]' END) x
		WHERE coalesce(x ->> 'type', 'http') = 'http'
		  AND position('$' IN coalesce(mockarty_private.url_origin(x ->> 'url'), '$')) = 0
		  AND mockarty_private.url_origin(x ->> 'url') = mockarty_private.url_origin(c ->> 'url')
		LIMIT 1) d
$$;
COMMENT ON FUNCTION mockarty.node_report_callbacks(jsonb, text[]) IS 'The callbacks a mock resolver reported [{"mockId","url","method","headers","body",...}] as webhook_callbacks_enqueue takes them, keeping only those of mocks in p_namespaces whose stored webhooks have an http callback with the same fixed origin (scheme, host, port); namespace, method (unless templated), timeout and retries come from the stored mock';

CREATE OR REPLACE FUNCTION mockarty.node_report_events(p_batch jsonb, p_namespaces text[]) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(jsonb_agg(e || jsonb_build_object('namespace', m.namespace)), '[]')
	FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_batch) = 'array' THEN p_batch ELSE '[]' END) e
	JOIN mockarty_private.mocks m ON jsonb_typeof(e) = 'object' AND m.id = e ->> 'mockId'
		AND m.namespace = ANY (p_namespaces)
$$;
COMMENT ON FUNCTION mockarty.node_report_events(jsonb, text[]) IS 'The mock.resolved events a mock resolver reported, keeping only those of mocks in p_namespaces, each with the stored mock''s namespace';
