// sql_live.test.mjs - a DBA manages mocks with SQL alone and the admin node serves the change
// within 100 ms of the commit (NOTIFY doorbell + change log, no polling of the database).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/harness.mjs';

let s;
let db;
before(async () => {
  s = await startStack();
  db = s.psqlSession();
  await db.query('SELECT 1');
});
after(async () => {
  await db?.close();
  await s?.stop();
});

const BUDGET_MS = 100;

/** Polls GET path until check(response) holds; returns ms since t0. */
async function msUntil(t0, path, check, timeoutMs = 3000) {
  for (;;) {
    const r = await s.api('GET', path, undefined, { token: null });
    if (check(r)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) assert.fail(`not served after ${timeoutMs} ms: last ${r.status} ${r.text}`);
  }
}

const mock = (payload) => JSON.stringify({ id: 'sql-live', http: { route: '/sql-live', httpMethod: 'GET' }, response: { payload } });

test('created with SQL: served within 100 ms of the commit', async () => {
  const before = await s.api('GET', '/sql-live', undefined, { token: null });
  assert.equal(before.status, 404);
  await db.query(`SELECT mockarty.mock_save('${mock({ v: 1 })}'::jsonb)`);
  const t0 = performance.now();
  const ms = await msUntil(t0, '/sql-live', (r) => r.status === 200 && r.body?.v === 1);
  assert.ok(ms < BUDGET_MS, `served after ${ms.toFixed(1)} ms`);
});

test('changed with SQL: the new response within 100 ms', async () => {
  await db.query(`SELECT mockarty.mock_patch('sql-live', '{"response":{"payload":{"v":2}}}'::jsonb)`);
  const t0 = performance.now();
  const ms = await msUntil(t0, '/sql-live', (r) => r.status === 200 && r.body?.v === 2);
  assert.ok(ms < BUDGET_MS, `changed after ${ms.toFixed(1)} ms`);
});

test('deleted with SQL: 404 within 100 ms', async () => {
  await db.query(`SELECT mockarty.mock_delete('sql-live')`);
  const t0 = performance.now();
  const ms = await msUntil(t0, '/sql-live', (r) => r.status === 404);
  assert.ok(ms < BUDGET_MS, `gone after ${ms.toFixed(1)} ms`);
});

test('restored and purged with SQL', async () => {
  await db.query(`SELECT mockarty.mock_restore('sql-live')`);
  let t0 = performance.now();
  let ms = await msUntil(t0, '/sql-live', (r) => r.status === 200 && r.body?.v === 2);
  assert.ok(ms < BUDGET_MS, `restored after ${ms.toFixed(1)} ms`);
  await db.query(`SELECT mockarty.mock_purge('sql-live')`);
  t0 = performance.now();
  ms = await msUntil(t0, '/sql-live', (r) => r.status === 404);
  assert.ok(ms < BUDGET_MS, `purged after ${ms.toFixed(1)} ms`);
});
