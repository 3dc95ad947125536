// crash.test.mjs - SIGKILL the admin node in the middle of 20 concurrent creates, restart it:
// every create that was answered 2xx is present and complete, and no half-written mock exists
// (each create is one transaction in PostgreSQL; the node holds no state of its own). The test
// checks that the kill really landed mid-batch: at least one create acknowledged, and fewer
// than all stored (some cut off without an answer).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitUntil } from './lib/harness.mjs';

let s;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s?.stop();
});

const N = 20;
const mockFor = (i) => ({
  id: `crash-${i}`,
  http: { route: `/crash/${i}`, httpMethod: 'POST' },
  tags: ['crash'],
  response: {
    statusCode: 201,
    payload: { i, items: Array.from({ length: 300 }, (_, k) => `item-${i}-${k}`), end: 'complete' },
  },
});

test('SIGKILL during 20 concurrent creates loses nothing that was acknowledged', async () => {
  const pending = Array.from({ length: N }, (_, i) =>
    s.api('POST', '/api/v1/mocks', mockFor(i)).then(
      (r) => ({ i, status: r.status }),
      (e) => ({ i, status: 0, error: e.message }),
    ),
  );
  // kill as soon as the first create has been acknowledged, while the rest are in flight
  await Promise.race(pending);
  await s.admin.kill('SIGKILL');
  const results = await Promise.all(pending);
  const acked = results.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.i);
  assert.ok(acked.length >= 1, 'at least one create was acknowledged before the kill');

  await s.admin.restart();
  await waitUntil(async () => (await s.api('GET', '/health/ready', undefined, { token: null })).status === 200, 10000);

  for (const i of acked) {
    const g = await s.api('GET', `/api/v1/mocks/crash-${i}`);
    assert.equal(g.status, 200, `acknowledged mock crash-${i} is missing`);
    assert.deepEqual(g.body.response.payload, mockFor(i).response.payload);
    const served = await s.api('POST', `/crash/${i}`, undefined, { token: null });
    assert.equal(served.status, 201);
    assert.equal(served.body.end, 'complete');
  }
  // whatever exists is complete: no half-written mock
  const all = await s.psqlJson("SELECT coalesce(jsonb_agg(mock), '[]') FROM mockarty.snapshot() WHERE mock->>'id' LIKE 'crash-%'");
  for (const m of all) {
    const i = Number(m.id.slice('crash-'.length));
    assert.deepEqual(m.response.payload, mockFor(i).response.payload, `mock ${m.id} is incomplete`);
    assert.deepEqual(m.http, mockFor(i).http);
  }
  assert.ok(all.length >= acked.length);
  console.log(`# ${acked.length} of ${N} creates acknowledged before SIGKILL, ${all.length} stored`);
  // the kill landed mid-batch: some creates were committed, and some were not (had every create
  // been stored, the kill came after the batch and this test would prove nothing)
  assert.ok(acked.length < N, `all ${N} creates were acknowledged: the kill came after the batch`);
  assert.ok(all.length < N, `all ${N} creates were stored: the kill came after the batch (${acked.length} acknowledged)`);
  const unanswered = results.filter((r) => r.status === 0).length;
  assert.ok(unanswered >= 1, 'some creates were cut off by the kill (no answer)');
});

test('database outage: /health/ready 503 and /health fail while down; recovers by itself', async () => {
  const c = await s.api('POST', '/api/v1/mocks', { id: 'outage', http: { route: '/outage' }, response: { payload: { up: true } } });
  assert.equal(c.status, 200, c.text);
  await s.pgStop('fast');
  try {
    await waitUntil(async () => (await s.api('GET', '/health/ready', undefined, { token: null })).status === 503, 5000, 20, 'ready 503');
    const h = await s.api('GET', '/health', undefined, { token: null });
    assert.equal(h.status, 503);
    assert.equal(h.body.status, 'fail');
    assert.equal(h.body.checks.database[0].status, 'fail');
    // stateless mocks keep being served from the snapshot while the database is down
    const m = await s.api('GET', '/outage', undefined, { token: null });
    assert.equal(m.status, 200);
    const api = await s.api('GET', '/api/v1/mocks');
    assert.ok(api.status === 503 || api.status === 401, `API answers ${api.status} while the database is down`);
  } finally {
    await s.pgStart();
  }
  await waitUntil(async () => (await s.api('GET', '/health/ready', undefined, { token: null })).status === 200, 10000, 50, 'ready again');
  // changes made while the node reconnected are picked up (resync after reconnect)
  await s.psql(`SELECT mockarty.mock_patch('outage', '{"response":{"payload":{"up":"again"}}}'::jsonb)`);
  await waitUntil(async () => (await s.api('GET', '/outage', undefined, { token: null })).body?.up === 'again', 2000, 10, 'patched mock served');
  const h = await s.api('GET', '/health', undefined, { token: null });
  assert.equal(h.body.status, 'pass');
});

test('SIGTERM drains and exits 0 promptly', async () => {
  const extra = await s.spawnAdmin();
  const t0 = Date.now();
  const exited = new Promise((r) => extra.proc.once('exit', (code, sig) => r({ code, sig })));
  extra.proc.kill('SIGTERM');
  const { code } = await exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});
