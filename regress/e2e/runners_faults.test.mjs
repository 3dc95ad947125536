// runners_faults.test.mjs - runner-agents when things go wrong. A runner SIGKILLed in the middle
// of a task: its lease expires (RUNNER_LEASE_MS=1500 here), the extension's scheduler puts the
// task back in the queue, a second runner completes it, and exactly one outcome is stored (two
// attempts, one completion event, result chunks of the winning attempt only). A runner frozen
// (SIGSTOP) past its lease learns on waking that the lease is lost, stops and drops its results.
// Leases are handed back by the scheduler background worker alone (its interval set to 200 ms):
// the test fails when the worker does not reap.
// A revoked token: the runner keeps running but takes no new task and shows the auth error on the
// dashboard and /health/ready; a token of the wrong type is refused the same way. SIGTERM lets
// the running task finish and exits 0. An admin restart costs a reconnect, not a task.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitUntil } from './lib/harness.mjs';
import { startRunner } from './lib/runner.mjs';

let s;
const runners = [];
const q = (v) => `'${String(v).replace(/'/g, "''")}'`;
const qj = (v) => `${q(JSON.stringify(v))}::jsonb`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function collection(name, paths) {
  return {
    info: { name, schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
    item: paths.map((p, i) => ({
      name: `${name} ${i + 1}`,
      request: { method: 'GET', url: `${s.url}${p}` },
      event: [{ listen: 'test', script: { exec: ["pm.test('status is 200', function () { pm.response.to.have.status(200); });"] } }],
    })),
  };
}

async function makeCollection(ns, name, paths) {
  const c = await s.psqlJson(`SELECT mockarty.collection_create(${q(ns)}, ${q(name)}, ${qj(collection(name, paths))})`);
  assert.ok(c && c.id, JSON.stringify(c));
  return c.id;
}

async function integration(name, type = 'test_runner') {
  return s.psqlJson(`SELECT mockarty.integration_create(${q(name)}, ${q(type)})`);
}

async function runner(env, opts) {
  const r = await startRunner({ COORDINATOR_ADDR: s.grpcAddr, ...env }, opts);
  runners.push(r);
  return r;
}

const task = (id) => s.psqlJson(`SELECT mockarty.task_get(${q(id)}::uuid)`);
const terminal = (st) => ['completed', 'failed', 'cancelled'].includes(st);

async function waitTask(id, pred, timeoutMs, what) {
  let last;
  try {
    return await waitUntil(async () => {
      last = await task(id);
      return pred(last) && last;
    }, timeoutMs, 50, what);
  } catch (e) {
    e.message += '\nlast: ' + JSON.stringify(last) + '\n' + runners.map((r) => `--- ${r.env.RUNNER_NAME} ---\n${r.logs().slice(-1500)}`).join('\n');
    throw e;
  }
}

/*
 * Waits for the lease of a task to be handed back by the extension's scheduler background worker
 * (the only caller of task_reap(); nothing here calls it): the lease (1500 ms) plus a few of the
 * worker's ticks (mockarty.scheduler_interval_ms = 200 here), bounded at 8 s. Fails when the
 * worker does not reap.
 */
function waitRequeued(id) {
  return waitTask(id, (t) => t.status === 'queued' || t.attempts >= 2, 8000, 'lease reaped by the scheduler background worker');
}

before(async () => {
  s = await startStack({ env: { RUNNER_LEASE_MS: '1500' } });
  // the scheduler worker ticks every 200 ms here (default 1 s), and it must be running: the reaper
  // tests rely on it alone
  await s.psql("ALTER SYSTEM SET mockarty.scheduler_interval_ms = 200; SELECT pg_reload_conf();");
  await waitUntil(async () => (await s.psql('SHOW mockarty.scheduler_interval_ms')) === '200ms', 5000, 50, 'mockarty.scheduler_interval_ms = 200ms');
  await waitUntil(async () => (await s.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'mockarty scheduler'")) === '1', 10000, 50,
    'the mockarty scheduler background worker running (shared_preload_libraries = mockarty)');
  for (const [id, route, extra] of [
    ['fast', '/rf/fast', {}],
    ['slow', '/rf/slow', { delay: 500 }],
  ]) {
    const r = await s.api('POST', '/api/v1/mocks', { id, http: { route, httpMethod: 'GET' }, response: { statusCode: 200, payload: { id }, ...extra } });
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => {
  for (const r of runners) await r.stop('SIGKILL').catch(() => {});
  await s?.stop();
});

test('a runner killed mid-task: the lease expires, a second runner completes it, one result is stored', async () => {
  const tok = (await integration('kill')).token;
  const k1 = await runner({ API_TOKEN: tok, RUNNER_NAME: 'runner-k1', NAMESPACE: 'kill', MAX_CONCURRENT: '1' });
  const coll = await makeCollection('kill', 'six slow', Array(6).fill('/rf/slow'));
  const tr = await s.psqlJson(`SELECT mockarty.test_run_start(${q(coll)}::uuid)`);
  // mid-task: running on k1 with some (not all) results delivered
  await waitTask(tr.id, (t) => t.status === 'running' && t.runnerName === 'runner-k1', 10000, 'running on k1');
  await waitUntil(async () => (await s.psqlJson(`SELECT mockarty.task_results(${q(tr.id)}::uuid)`)).length >= 1, 5000, 50, 'a first result chunk');
  await k1.kill();
  const before2 = await task(tr.id);
  assert.equal(before2.attempts, 1);
  assert.ok(!terminal(before2.status), JSON.stringify(before2));
  const rq = await waitRequeued(tr.id);
  assert.ok(rq.attempts === 1 || rq.status !== 'queued');
  // the half-run's chunks went with its lease
  if (rq.status === 'queued') assert.equal((await s.psqlJson(`SELECT mockarty.task_results(${q(tr.id)}::uuid)`)).length, 0);
  const k2 = await runner({ API_TOKEN: tok, RUNNER_NAME: 'runner-k2', NAMESPACE: 'kill' });
  const done = await waitTask(tr.id, (t) => terminal(t.status), 20000, 'completed by k2');
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.attempts, 2);
  assert.equal(done.runnerName, 'runner-k2');
  const chunks = await s.psqlJson(`SELECT mockarty.task_results(${q(tr.id)}::uuid)`);
  assert.equal(chunks.length, 6, 'one chunk per request, all from the winning attempt');
  const run = await s.psqlJson(`SELECT mockarty.test_run_get(${q(tr.id)}::uuid)`);
  assert.equal(run.status, 'passed');
  assert.equal(run.totalTests, 6);
  assert.equal(run.attempts, 2);
  assert.equal(run.runner, 'runner-k2');
  const events = await s.psqlJson(`SELECT coalesce(jsonb_agg(e), '[]') FROM jsonb_array_elements(mockarty.events_since(0, 1000)) e WHERE e->>'event' = 'test_run.completed' AND e->'data'->>'testRunId' = ${q(tr.id)}`);
  assert.equal(events.length, 1, 'exactly one completion');
  await k2.stop();
});

test('a runner frozen past its lease stops the task and drops its results when it wakes', async () => {
  const tok = (await integration('freeze')).token;
  const f1 = await runner({ API_TOKEN: tok, RUNNER_NAME: 'runner-f1', NAMESPACE: 'freeze', MAX_CONCURRENT: '1' });
  const coll = await makeCollection('freeze', 'six slow', Array(6).fill('/rf/slow'));
  const tr = await s.psqlJson(`SELECT mockarty.test_run_start(${q(coll)}::uuid)`);
  await waitTask(tr.id, (t) => t.status === 'running' && t.runnerName === 'runner-f1', 10000, 'running on f1');
  f1.proc.kill('SIGSTOP');
  try {
    await waitRequeued(tr.id);
    const f2 = await runner({ API_TOKEN: tok, RUNNER_NAME: 'runner-f2', NAMESPACE: 'freeze' });
    await waitTask(tr.id, (t) => t.runnerName === 'runner-f2', 10000, 'taken by f2');
    f1.proc.kill('SIGCONT');
    const done = await waitTask(tr.id, (t) => terminal(t.status), 20000, 'completed by f2');
    assert.equal(done.status, 'completed');
    assert.equal(done.runnerName, 'runner-f2');
    assert.equal(done.attempts, 2);
    // f1 learnt the lease was lost, and stored nothing after it
    await waitUntil(async () => (await f1.status()).tasks.history.some((h) => h.id === tr.id && h.status === 'lost'), 10000, 100, 'f1 reports the lease lost');
    assert.equal((await s.psqlJson(`SELECT mockarty.task_results(${q(tr.id)}::uuid)`)).length, 6);
    await f2.stop();
  } finally {
    f1.proc.kill('SIGCONT');
  }
  await f1.stop();
});

test('a revoked token: the runner keeps running, takes no new task and shows the auth error', async () => {
  const integ = await integration('revoke');
  const r = await runner({ API_TOKEN: integ.token, RUNNER_NAME: 'runner-revoked', NAMESPACE: 'revoke' });
  assert.equal((await r.status()).coordinator.connected, true);
  await s.psql(`SELECT mockarty.integration_set_enabled(${q(integ.integration.id)}, false)`);
  await waitUntil(async () => (await r.status()).coordinator.authRefused, 5000, 50, 'dashboard shows the auth error');
  const st = await r.status();
  assert.equal(st.coordinator.state, 'auth_refused');
  assert.match(st.coordinator.lastError, /./);
  const ready = await r.get('/health/ready');
  assert.equal(ready.status, 503);
  assert.match(ready.body.reason, /API_TOKEN/);
  assert.match(r.logs(), /refused API_TOKEN/);
  const coll = await makeCollection('revoke', 'one', ['/rf/fast']);
  const tr = await s.psqlJson(`SELECT mockarty.test_run_start(${q(coll)}::uuid)`);
  await sleep(3000);
  assert.equal((await task(tr.id)).status, 'queued', 'the task stays queued');
  assert.equal(r.exited, false, 'the runner is still running');
  assert.equal((await r.get('/health/live')).status, 200);
  assert.match((await r.get('/metrics')).text, /^mockarty_runner_auth_refused 1$/m);
  // re-enabled, the same runner picks the task up (it retried with backoff all along)
  await s.psql(`SELECT mockarty.integration_set_enabled(${q(integ.integration.id)}, true)`);
  const done = await waitTask(tr.id, (t) => terminal(t.status), 45000, 'taken after re-enabling');
  assert.equal(done.runnerName, 'runner-revoked');
  await r.stop();
});

test('a token of another type (mock_resolver) is refused: auth error on the dashboard, no task taken', async () => {
  const integ = await integration('not-a-runner', 'mock_resolver');
  const r = await runner({ API_TOKEN: integ.token, RUNNER_NAME: 'runner-wrongtype', NAMESPACE: 'wrongtype' }, { waitReady: false });
  await waitUntil(async () => (await r.status()).coordinator.authRefused, 5000, 50, 'auth refused');
  const st = await r.status();
  assert.equal(st.coordinator.lastCode, 7, 'PERMISSION_DENIED');
  assert.equal((await r.get('/health/ready')).status, 503);
  const coll = await makeCollection('wrongtype', 'one', ['/rf/fast']);
  const tr = await s.psqlJson(`SELECT mockarty.test_run_start(${q(coll)}::uuid)`);
  await sleep(1500);
  assert.equal((await task(tr.id)).status, 'queued');
  await r.stop();
});

test('SIGTERM lets the running task finish, then exits 0', async () => {
  const r = await runner({ API_TOKEN: (await integration('term')).token, RUNNER_NAME: 'runner-term', NAMESPACE: 'term' });
  const coll = await makeCollection('term', 'three slow', Array(3).fill('/rf/slow'));
  const tr = await s.psqlJson(`SELECT mockarty.test_run_start(${q(coll)}::uuid)`);
  await waitTask(tr.id, (t) => t.status === 'running', 10000, 'running');
  const t0 = Date.now();
  const code = await r.stop('SIGTERM');
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 11000);
  const t = await task(tr.id);
  assert.equal(t.status, 'completed', JSON.stringify(t));
  assert.equal(t.runnerName, 'runner-term');
});

test('an admin node restart costs the runner a reconnect, not its task', async () => {
  const r = await runner({ API_TOKEN: (await integration('restart')).token, RUNNER_NAME: 'runner-restart', NAMESPACE: 'restart' });
  const coll = await makeCollection('restart', 'six slow', Array(6).fill('/rf/slow'));
  const tr = await s.psqlJson(`SELECT mockarty.test_run_start(${q(coll)}::uuid)`);
  await waitTask(tr.id, (t) => t.status === 'running', 10000, 'running');
  await s.admin.restart();
  const done = await waitTask(tr.id, (t) => terminal(t.status), 30000, 'completed across the restart');
  assert.equal(done.status, 'completed', JSON.stringify(done));
  await waitUntil(async () => (await r.status()).coordinator.connected, 10000, 100, 'reconnected');
  assert.ok((await r.status()).coordinator.reconnects >= 1);
  await r.stop();
});
