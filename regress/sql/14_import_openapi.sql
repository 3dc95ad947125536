-- 14_import_openapi: mockarty.import_openapi(spec text, options jsonb). A YAML description
-- imports one mock per operation and status through the smart merge; a re-import writes
-- nothing; a user's edit survives a changed spec while a changed example is refreshed; an
-- operation gone from the spec is stale and removed only with prune; a document that cannot
-- be read raises 22023 naming the JSON pointer and line and writes nothing; the caller rule holds.
CREATE TEMP TABLE spec1 AS SELECT $y$
openapi: 3.0.3
info: {title: Pets, version: "1"}
paths:
  /pets/{petId}:
    get:
      operationId: getPet
      parameters:
        - {name: petId, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              example: {id: 1, name: Rex}
        "404":
          description: missing
          content:
            application/json:
              example: {error: not found}
  /pets:
    delete:
      operationId: dropPets
      responses:
        "204": {description: gone}
$y$::text AS s;
SELECT r ->> 'created' AS created, r ->> 'updated' AS updated, r ->> 'skipped' AS skipped,
	r ->> 'source' AS source, jsonb_array_length(r -> 'errors') AS errors, r #>> '{info,title}' AS title
FROM (SELECT mockarty.import_openapi((SELECT s FROM spec1), '{"namespace":"oas"}') r) x;
SELECT doc #>> '{http,route}' AS route, doc #>> '{http,httpMethod}' AS method,
	doc #>> '{response,statusCode}' AS status, doc #> '{response,payload}' AS payload
FROM mockarty_private.mocks WHERE namespace = 'oas' ORDER BY 1, 2, 3;

-- the same spec again: nothing written
CREATE TEMP TABLE h AS SELECT mockarty.head_version() AS v;
SELECT r ->> 'created' AS created, r ->> 'updated' AS updated, r ->> 'skipped' AS skipped
FROM (SELECT mockarty.import_openapi((SELECT s FROM spec1), '{"namespace":"oas"}') r) x;
SELECT mockarty.head_version() = (SELECT v FROM h) AS head_unchanged;

-- a user edits the 200's headers; the spec changes its example and drops DELETE /pets
SELECT mockarty.mock_patch(id, '{"response":{"headers":{"x-user":["kept"]}}}') IS NOT NULL AS user_edit
FROM mockarty_private.mocks WHERE namespace = 'oas' AND doc #>> '{http,route}' = '/pets/:petId'
	AND doc #>> '{response,statusCode}' = '200';
CREATE TEMP TABLE spec2 AS SELECT replace(split_part((SELECT s FROM spec1), '  /pets:', 1),
	'{id: 1, name: Rex}', '{id: 1, name: Max}') AS s;
SELECT r ->> 'updated' AS updated, jsonb_array_length(r -> 'stale') AS stale, r #>> '{stale,0,route}' AS stale_route,
	r #>> '{stale,0,deleted}' AS deleted
FROM (SELECT mockarty.import_openapi((SELECT s FROM spec2), '{"namespace":"oas"}') r) x;
SELECT doc #> '{response,payload}' AS payload, doc #> '{response,headers,x-user}' AS user_header
FROM mockarty_private.mocks WHERE namespace = 'oas' AND doc #>> '{http,route}' = '/pets/:petId'
	AND doc #>> '{response,statusCode}' = '200';
SELECT count(*) AS delete_kept FROM mockarty_private.mocks WHERE namespace = 'oas' AND doc #>> '{http,httpMethod}' = 'DELETE';
-- preview with prune: reported, nothing removed; then prune removes it
SELECT r ->> 'dryRun' AS dry, r #>> '{stale,0,deleted}' AS deleted
FROM (SELECT mockarty.import_openapi((SELECT s FROM spec2), '{"namespace":"oas","prune":true,"dryRun":true}') r) x;
SELECT count(*) AS still_there FROM mockarty_private.mocks WHERE namespace = 'oas' AND doc #>> '{http,httpMethod}' = 'DELETE' AND closed_at IS NULL;
SELECT r #>> '{stale,0,deleted}' AS deleted
FROM (SELECT mockarty.import_openapi((SELECT s FROM spec2), '{"namespace":"oas","prune":true}') r) x;
SELECT count(*) AS pruned_left FROM mockarty_private.mocks WHERE namespace = 'oas' AND doc #>> '{http,httpMethod}' = 'DELETE' AND closed_at IS NULL;

-- serverName names the source
SELECT r ->> 'source' AS source, r ->> 'created' AS created
FROM (SELECT mockarty.import_openapi((SELECT s FROM spec2), '{"namespace":"oas2","serverName":"petstore","pathPrefix":"/v1"}') r) x;
SELECT doc #>> '{http,route}' AS route FROM mockarty_private.mocks WHERE namespace = 'oas2' ORDER BY 1 LIMIT 1;

-- bad input: 22023 naming the pointer and line; nothing written
CREATE TEMP TABLE h2 AS SELECT mockarty.head_version() AS v;
\set VERBOSITY default
SELECT mockarty.import_openapi(E'openapi: 3.0.0\ninfo: {title: T, version: "1"}\npaths:\n  /a:\n    get: {responses: {"200": {description: x', '{"namespace":"bad"}');
SELECT mockarty.import_openapi(E'openapi: 3.0.0\ninfo: {title: T, version: "1"}\ninfo: {title: U}\npaths: {}\n', '{}');
SELECT mockarty.import_openapi('{"hello": "world"}', '{}');
SELECT mockarty.import_openapi('', '{}');
SELECT mockarty.import_openapi((SELECT s FROM spec1), '{"namespace": 7}');
SELECT mockarty.import_openapi((SELECT s FROM spec1), '{"nameSpace": "x"}');
SELECT mockarty.import_openapi((SELECT s FROM spec1), '{"maxOperations": 1}');
\set VERBOSITY terse
SELECT mockarty.head_version() = (SELECT v FROM h2) AS nothing_written;

-- the caller rule: a viewer cannot import, a bound caller only into its namespace
SELECT set_config('mockarty.caller_role', 'viewer', false) IS NOT NULL AS viewer;
SELECT mockarty.import_openapi((SELECT s FROM spec1), '{"namespace":"oas","dryRun":true}');
SELECT set_config('mockarty.caller_role', 'editor', false) IS NOT NULL AS editor;
SELECT set_config('mockarty.caller_namespace', 'team-b', false) IS NOT NULL AS bound;
SELECT mockarty.import_openapi((SELECT s FROM spec1), '{"namespace":"oas"}');
SELECT r ->> 'namespace' AS ns, r ->> 'created' AS created FROM (SELECT mockarty.import_openapi((SELECT s FROM spec1), '{}') r) x;
SELECT set_config('mockarty.caller_namespace', '', false) IS NOT NULL AS unbound;
SELECT set_config('mockarty.caller_role', '', false) IS NOT NULL AS unrestricted;
