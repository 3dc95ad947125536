-- 04_changelog: gap-free, increasing change versions; changes_since; snapshot.
CREATE TEMP TABLE h0 AS SELECT mockarty.head_version() AS v;
SELECT mockarty.mock_save('{"id":"cl1","http":{"route":"/cl1"},"response":{"statusCode":200}}') IS NOT NULL;
SELECT mockarty.mock_save('{"id":"cl2","http":{"route":"/cl2"},"response":{"statusCode":200}}') IS NOT NULL;
SELECT mockarty.mock_delete('cl2');
-- a rolled-back write leaves no gap
BEGIN;
SELECT mockarty.mock_save('{"id":"cl3","http":{"route":"/cl3"},"response":{"statusCode":200}}') IS NOT NULL;
ROLLBACK;
SELECT mockarty.mock_save('{"id":"cl1","namespace":"qa","http":{"route":"/cl1"},"response":{"statusCode":200}}') IS NOT NULL;

SELECT c.version - (SELECT v FROM h0) AS rel_version, c.op, c.namespace, c.mock_id, c.mock->>'id' AS doc_id
FROM mockarty.changes_since((SELECT v FROM h0)) c;
SELECT mockarty.head_version() - (SELECT v FROM h0) AS advanced;
SELECT bool_and(version = prev + 1) AS gap_free, min(version) = 1 AS starts_at_1
FROM (SELECT version, lag(version, 1, 0::bigint) OVER (ORDER BY version) AS prev FROM mockarty.changes_since(0)) s;
SELECT count(*) AS limited FROM mockarty.changes_since(0, 2);

-- snapshot: every live mock with the version it was last written at
SELECT count(*) = (SELECT count(*) FROM mockarty_private.mocks WHERE closed_at IS NULL) AS all_live,
       bool_and(version <= mockarty.head_version()) AS versions_le_head,
       bool_and(NOT (mock ? 'closedAt')) AS none_deleted
FROM mockarty.snapshot();
SELECT s.version - (SELECT v FROM h0) AS rel_version FROM mockarty.snapshot() s WHERE s.mock->>'id' = 'cl1';

