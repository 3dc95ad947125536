-- 54_grpc_resolve: mockarty.resolve() takes the protocol of the request (issue 12), so
-- stateful gRPC mocks resolve in the database; the same text as sql/install/21_resolve.sql.

DROP FUNCTION mockarty.resolve(text, text, text, text, jsonb, text, bigint);

CREATE FUNCTION mockarty.resolve(namespace text, method text, path text, query text DEFAULT '',
	headers jsonb DEFAULT '{}', body text DEFAULT NULL, seed bigint DEFAULT NULL,
	protocol text DEFAULT 'http') RETURNS jsonb
AS 'MODULE_PATHNAME', 'mockarty_resolve'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION mockarty.resolve(text, text, text, text, jsonb, text, bigint, text) IS 'Resolves a request against the namespace''s live mocks: returns core''s response object {"mockId","statusCode","headers","payload","delay",...} and updates use counter, oneOf cursor, stores and request log; NULL on a miss (recorded as an undefined request). protocol ''http'' (default) matches HTTP mocks; ''grpc'' matches gRPC mocks by path "/<service>/<method>", headers = metadata, body = the request message as JSON (client-streaming: the array of messages); 22023 for another protocol';

