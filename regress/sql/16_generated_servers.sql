-- 16_generated_servers: the orchestrator's state (mockarty.generated_server_put/list/get/delete):
-- create, partial update keeping the other fields, the spec only in get, bad input naming the
-- field and changing nothing, and the caller rule (viewers read only, a bound caller stays in
-- its namespace and does not see other namespaces' servers).
SELECT s - 'createdAt' - 'updatedAt' FROM mockarty.generated_server_put(
	'{"name":"pets-a","namespace":"orch","type":"openapi","spec":"openapi: 3.0.3","port":9101}') s;
-- the orchestrator records the child it started: absent fields keep their value
SELECT s - 'createdAt' - 'updatedAt' FROM mockarty.generated_server_put(
	'{"name":"pets-a","pid":4242,"startedAt":"2026-12-07T02:00:00Z","restarts":1,"lastExit":"signal 9","mocks":{"created":5}}') s;
SELECT mockarty.generated_server_put('{"name":"pets-b","namespace":"other","spec":"openapi: 3.0.3","port":9102,"desiredState":"stopped"}') ->> 'desiredState';
SELECT jsonb_array_elements(l) ->> 'name' AS name, jsonb_array_elements(l) ? 'spec' AS has_spec FROM mockarty.generated_server_list() l;
SELECT jsonb_array_length(mockarty.generated_server_list('orch'));
SELECT g ->> 'spec' AS spec, g ->> 'pid' AS pid, g ->> 'startedAt' AS started FROM mockarty.generated_server_get('pets-a') g;
-- the child is gone: pid null clears it
SELECT mockarty.generated_server_put('{"name":"pets-a","pid":null,"startedAt":null}') -> 'pid';

-- bad input names the field and changes nothing
SELECT mockarty.generated_server_put('{"name":"../x","spec":"s","port":1}');
SELECT mockarty.generated_server_put('{"name":"x","type":"corba","spec":"s","port":1}');
SELECT mockarty.generated_server_put('{"name":"x","port":1}');
SELECT mockarty.generated_server_put('{"name":"x","spec":"s"}');
SELECT mockarty.generated_server_put('{"name":"x","spec":"s","port":70000}');
SELECT mockarty.generated_server_put('{"name":"pets-a","desiredState":"paused"}');
SELECT mockarty.generated_server_put('{"name":"pets-a","startedAt":"yesterday-ish"}');
SELECT mockarty.generated_server_put('{"name":"pets-a","colour":"red"}');
SELECT mockarty.generated_server_put('[1]');
SELECT mockarty.generated_server_get('nope');
SELECT count(*) FROM mockarty_private.generated_servers;

-- the caller rule
BEGIN;
SELECT set_config('mockarty.caller_role', 'viewer', true);
SELECT jsonb_array_length(mockarty.generated_server_list());
SELECT mockarty.generated_server_put('{"name":"pets-a","desiredState":"stopped"}');
ROLLBACK;
BEGIN;
SELECT set_config('mockarty.caller_role', 'viewer', true);
SELECT mockarty.generated_server_delete('pets-a');
ROLLBACK;
BEGIN;
SELECT set_config('mockarty.caller_namespace', 'orch', true) IS NOT NULL AS bound;
SELECT jsonb_array_elements(mockarty.generated_server_list()) ->> 'name' AS visible;
ROLLBACK;
BEGIN;
SELECT set_config('mockarty.caller_namespace', 'orch', true) IS NOT NULL AS bound;
SELECT mockarty.generated_server_get('pets-b');
ROLLBACK;
BEGIN;
SELECT set_config('mockarty.caller_namespace', 'orch', true) IS NOT NULL AS bound;
SELECT mockarty.generated_server_put('{"name":"pets-b","desiredState":"running"}');
ROLLBACK;
BEGIN;
SELECT set_config('mockarty.caller_namespace', 'orch', true) IS NOT NULL AS bound;
SELECT mockarty.generated_server_put('{"name":"pets-c","namespace":"other","spec":"s","port":9103}');
ROLLBACK;
BEGIN;
SELECT set_config('mockarty.caller_namespace', 'orch', true) IS NOT NULL AS bound;
SELECT mockarty.generated_server_delete('pets-b');
ROLLBACK;

SELECT mockarty.generated_server_delete('pets-b');
SELECT mockarty.generated_server_delete('pets-b');
SELECT name FROM mockarty_private.generated_servers;
