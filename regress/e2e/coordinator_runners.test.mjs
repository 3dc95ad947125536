// coordinator_runners.test.mjs - the admin node's Runners service (proto/coordinator.proto,
// docs/grpc.md "Runners") against @grpc/grpc-js fake runners on a real PostgreSQL with the
// task queue: token scopes, Welcome, offers only to eligible runners (capabilities, namespace
// unless shared, free slots x 2), exactly one winner when two runners race AcceptTask,
// MAX_CONCURRENT, heartbeat (leased -> running, lease extended, progress), idempotent
// AppendResults / CompleteTask, lease expiry fencing a late completion ("lease lost"),
// cancellation reaching the holder, revocation ending the Connect stream within 1 s, the nodes
// view and RunnerPing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { startStack, waitUntil, repoRoot } from './lib/harness.mjs';

const require = createRequire(path.join(repoRoot, 'regress/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const loadOpts = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  includeDirs: [path.join(repoRoot, 'proto')] };
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(['coordinator.proto'], loadOpts));
const Runners = pkg.mockarty.coordinator.v1.Runners;
const Coordinator = pkg.mockarty.coordinator.v1.Coordinator;
const { status } = grpc;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let s;
let runnerTok; // {id, token} test_runner
let otherRunnerTok; // a second test_runner integration
let resolverTok; // mock_resolver
let pinger; // a runner connected from the start, for the RunnerPing check
const clients = [];
const streams = [];

function client(addr = s.grpcAddr, Ctor = Runners) {
  const c = new Ctor(addr, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  clients.push(c);
  return c;
}

function md(token) {
  const m = new grpc.Metadata();
  if (token) m.set('authorization', `Bearer ${token}`);
  return m;
}

const unary = (c, method, req, token) => new Promise((resolve) => {
  c[method](req, md(token), { deadline: Date.now() + 10000 }, (err, res) => resolve({ err, res }));
});

// Opens a Connect stream and records its events; `done` resolves with the final status.
function connect(c, hello, token = runnerTok.token) {
  const call = c.Connect(hello, md(token));
  const st = { call, events: [], welcome: null, offers: [], cancels: [], pings: [], end: null };
  st.done = new Promise((resolve) => {
    call.on('data', (ev) => {
      st.events.push(ev);
      if (ev.event === 'welcome') st.welcome = ev.welcome;
      else if (ev.event === 'offer') st.offers.push(ev.offer);
      else if (ev.event === 'cancel') st.cancels.push(ev.cancel.task_id);
      else if (ev.event === 'ping') st.pings.push(ev.ping);
    });
    call.on('error', (err) => { st.end = { code: err.code, details: err.details, at: Date.now() }; resolve(st.end); });
    call.on('status', (x) => {
      if (x.code === status.OK && !st.end) { st.end = { code: 0, details: x.details, at: Date.now() }; resolve(st.end); }
    });
  });
  streams.push(st);
  return st;
}

async function runner(hello, { token = runnerTok.token, addr } = {}) {
  const c = client(addr);
  const st = connect(c, hello, token);
  await waitUntil(() => st.welcome || st.end, 5000, 5, `Welcome for ${hello.runner_name}`);
  assert.ok(st.welcome, `Connect ended: ${JSON.stringify(st.end)}`);
  st.c = c;
  st.id = st.welcome.runner_id;
  st.token = token;
  st.call_ = (method, req) => unary(c, method, { runner_id: st.id, ...req }, token);
  return st;
}

const offered = (st, id) => st.offers.some((o) => o.task_id === id);
const sqlq = (x) => `'${String(x).replace(/'/g, "''")}'`;

async function enqueue(kind, ns, payload = {}, maxAttempts = 3) {
  const t = await s.psqlJson(`SELECT mockarty.task_enqueue(${sqlq(kind)}, ${sqlq(ns)}, ${sqlq(JSON.stringify(payload))}::jsonb, NULL, ${maxAttempts})`);
  assert.match(t.id, UUID);
  assert.equal(t.status, 'queued');
  return t.id;
}
const taskGet = (id) => s.psqlJson(`SELECT mockarty.task_get(${sqlq(id)}::uuid)`);

async function integration(type, name) {
  const r = await s.psqlJson(`SELECT mockarty.integration_create(${sqlq(name)}, ${sqlq(type)})`);
  return { id: r.integration.id, token: r.token };
}

before(async () => {
  s = await startStack();
  runnerTok = await integration('test_runner', 'runner-ci');
  otherRunnerTok = await integration('test_runner', 'runner-other-team');
  resolverTok = await integration('mock_resolver', 'resolver-1');
  await enqueue('api_test', 'pingns', { for: 'ping' });
  pinger = await runner({ runner_name: 'pinger', namespace: 'pingns', capabilities: ['api_test'], max_concurrent: 1 });
});

after(async () => {
  for (const st of streams) st.call.cancel();
  for (const c of clients) c.close();
  await s?.stop();
});

test('auth: test_runner tokens only; resolver and user (mk_) tokens PERMISSION_DENIED, bad tokens UNAUTHENTICATED', async () => {
  const c = client();
  const hello = { runner_name: 'x', namespace: 'sandbox', capabilities: ['api_test'] };
  const denied = connect(c, hello, resolverTok.token);
  const end = await denied.done;
  assert.equal(end.code, status.PERMISSION_DENIED);
  assert.match(end.details, /test_runner/);
  assert.equal(denied.events.length, 0);
  for (const m of ['AcceptTask', 'TaskHeartbeat', 'AppendResults', 'CompleteTask']) {
    const r = await unary(c, m, { runner_id: '00000000-0000-4000-8000-000000000000' }, resolverTok.token);
    assert.equal(r.err?.code, status.PERMISSION_DENIED, m);
  }
  // a user's API token is a valid credential of the coordinator (generated servers sync with one)
  // but not a runner's: PERMISSION_DENIED naming what the Runners service takes
  const user = connect(c, hello, s.token);
  const userEnd = await user.done;
  assert.equal(userEnd.code, status.PERMISSION_DENIED);
  assert.match(userEnd.details, /test_runner/);
  const userCall = await unary(c, 'AcceptTask', { runner_id: 'x' }, s.token);
  assert.equal(userCall.err?.code, status.PERMISSION_DENIED);
  assert.match(userCall.err.details, /test_runner/);
  for (const tok of ['mki_000000000000_abcdef', 'mk_000000000000_abcdef', null]) {
    const st = connect(c, hello, tok);
    assert.equal((await st.done).code, status.UNAUTHENTICATED, `token ${tok && tok.slice(0, 4)}`);
    const r = await unary(c, 'AcceptTask', { runner_id: 'x' }, tok);
    assert.equal(r.err?.code, status.UNAUTHENTICATED);
  }
  // a runner token stays out of the resolver service
  const coord = client(s.grpcAddr, Coordinator);
  const r = await unary(coord, 'Resolve', { namespace: 'sandbox', method: 'GET', path: '/' }, runnerTok.token);
  assert.equal(r.err?.code, status.PERMISSION_DENIED);
});

test('Welcome and malformed input: INVALID_ARGUMENT naming the field', async () => {
  const r = await runner({ runner_name: 'welcome-1', namespace: 'wns', capabilities: ['api_test', 'performance'], max_concurrent: 3 });
  assert.match(r.id, UUID);
  assert.equal(r.welcome.lease_ms, 30000);
  assert.equal(r.welcome.heartbeat_ms, 10000);
  const c = client();
  const bad = connect(c, { runner_name: 'bad', capabilities: ['api_test', 'bogus'] });
  const e = await bad.done;
  assert.equal(e.code, status.INVALID_ARGUMENT);
  assert.match(e.details, /capabilities\[1\]/);
  const big = connect(c, { runner_name: 'bad', max_concurrent: 100000 });
  assert.match((await big.done).details, /max_concurrent/);

  const cases = [
    ['AcceptTask', {}, /runner_id/],
    ['AcceptTask', { runner_id: r.id, task_id: 'nope' }, /task_id/],
    ['TaskHeartbeat', { leases: [] }, /runner_id/],
    ['TaskHeartbeat', { runner_id: r.id, leases: [{ task_id: 'x', lease_id: 'y' }] }, /leases\[0\]\.task_id/],
    ['TaskHeartbeat', { runner_id: r.id, leases: [{ task_id: '00000000-0000-4000-8000-000000000000', lease_id: '00000000-0000-4000-8000-000000000000', progress_json: '{oops' }] }, /leases\[0\]\.progress_json/],
    ['AppendResults', { runner_id: r.id, task_id: 'x', lease_id: 'y' }, /task_id/],
    ['AppendResults', { runner_id: r.id, task_id: '00000000-0000-4000-8000-000000000000', lease_id: '00000000-0000-4000-8000-000000000000', chunks: [{ seq: 0, json: '{}' }, { seq: 1, json: '[1,' }] }, /chunks\[1\]\.json/],
    ['CompleteTask', { runner_id: r.id, task_id: '00000000-0000-4000-8000-000000000000', lease_id: '00000000-0000-4000-8000-000000000000', status: 'done' }, /status/],
    ['CompleteTask', { runner_id: r.id, task_id: '00000000-0000-4000-8000-000000000000', lease_id: '00000000-0000-4000-8000-000000000000', status: 'completed', result_json: '{"a":' }, /result_json/],
  ];
  for (const [m, req, re] of cases) {
    const x = await unary(c, m, req, runnerTok.token);
    assert.equal(x.err?.code, status.INVALID_ARGUMENT, `${m} ${JSON.stringify(req)}: ${x.err?.details}`);
    assert.match(x.err.details, re);
  }
  // a heartbeat with no leases is fine
  const hb = await r.call_('TaskHeartbeat', { leases: [] });
  assert.ifError(hb.err);
  assert.equal(hb.res.next_heartbeat_ms, 10000);
});

test('offers go only to runners whose capabilities include the kind and whose namespace matches (unless shared)', async () => {
  const apiA = await runner({ runner_name: 'api-a', namespace: 'elig-a', capabilities: ['api_test'] });
  const perfA = await runner({ runner_name: 'perf-a', namespace: 'elig-a', capabilities: ['performance'] });
  const allB = await runner({ runner_name: 'all-b', namespace: 'elig-b', capabilities: ['api_test', 'performance'] });
  const shared = await runner({ runner_name: 'shared-api', namespace: 'ignored', shared: true, capabilities: ['api_test'] });
  const t1 = await enqueue('api_test', 'elig-a', { n: 1 });
  await waitUntil(() => offered(apiA, t1) && offered(shared, t1), 3000, 5, 'api_test offer to api-a and the shared runner');
  const o = apiA.offers.find((x) => x.task_id === t1);
  assert.deepEqual({ kind: o.kind, namespace: o.namespace }, { kind: 'api_test', namespace: 'elig-a' });
  // a later task proves the earlier rounds are over: perf-a and all-b were never offered t1
  const t2 = await enqueue('performance', 'elig-a');
  const t3 = await enqueue('performance', 'elig-b');
  await waitUntil(() => offered(perfA, t2) && offered(allB, t3), 3000, 5, 'performance offers');
  assert.ok(!offered(perfA, t1), 'perf-only runner offered an api_test task');
  assert.ok(!offered(allB, t1) && !offered(allB, t2), 'runner of another namespace offered elig-a tasks');
  assert.ok(!offered(shared, t2) && !offered(shared, t3), 'shared api_test runner offered performance tasks');
  assert.ok(!offered(apiA, t2), 'api-only runner offered a performance task');
  // not eligible -> refused by the SQL even when asked by id
  const r = await allB.call_('AcceptTask', { task_id: t1 });
  assert.ifError(r.err);
  assert.equal(r.res.accepted, false);
  assert.equal(r.res.reason, 'not_eligible');
  for (const id of [t1, t2, t3]) await s.psql(`SELECT mockarty.task_cancel(${sqlq(id)}::uuid)`);
});

test('two runners racing AcceptTask on one task: exactly one wins; runner ids are bound to their token', async () => {
  const a = await runner({ runner_name: 'race-a', namespace: 'race', capabilities: ['api_test'] });
  const b = await runner({ runner_name: 'race-b', namespace: 'race', capabilities: ['api_test'] });
  for (let round = 0; round < 5; round++) {
    const id = await enqueue('api_test', 'race', { round });
    await waitUntil(() => offered(a, id) && offered(b, id), 3000, 5, 'offer to both');
    const [ra, rb] = await Promise.all([a.call_('AcceptTask', { task_id: id }), b.call_('AcceptTask', { task_id: id })]);
    assert.ifError(ra.err);
    assert.ifError(rb.err);
    assert.equal([ra.res.accepted, rb.res.accepted].filter(Boolean).length, 1, `round ${round}: ${JSON.stringify([ra.res, rb.res])}`);
    const win = ra.res.accepted ? ra.res : rb.res;
    const lose = ra.res.accepted ? rb.res : ra.res;
    assert.equal(lose.reason, 'taken');
    assert.equal(win.task_id, id);
    assert.equal(win.kind, 'api_test');
    assert.equal(win.namespace, 'race');
    assert.match(win.lease_id, UUID);
    assert.equal(win.attempt, 1);
    assert.deepEqual(JSON.parse(win.payload_json), { round });
    assert.ok(Math.abs(Number(win.lease_expires_ms) - (Date.now() + 30000)) < 5000, `lease_expires_ms ${win.lease_expires_ms}`);
    const t = await taskGet(id);
    assert.equal(t.status, 'leased');
    assert.equal(t.runnerId, ra.res.accepted ? a.id : b.id);
    const holder = ra.res.accepted ? a : b;
    assert.ifError((await holder.call_('CompleteTask', { task_id: id, lease_id: win.lease_id, status: 'completed', result_json: '{}' })).err);
  }
  // another integration's token may not quote these runner ids
  const c = client();
  const x = await unary(c, 'AcceptTask', { runner_id: a.id }, otherRunnerTok.token);
  assert.equal(x.err?.code, status.PERMISSION_DENIED);
  const h = await unary(c, 'TaskHeartbeat', { runner_id: b.id }, otherRunnerTok.token);
  assert.equal(h.err?.code, status.PERMISSION_DENIED);
  // a runner id without a Connect stream cannot accept
  const nc = await unary(c, 'AcceptTask', { runner_id: '00000000-0000-4000-8000-000000000000' }, runnerTok.token);
  assert.ifError(nc.err);
  assert.equal(nc.res.accepted, false);
  assert.equal(nc.res.reason, 'not_connected');
});

test('MAX_CONCURRENT: offers limited to free slots x 2, the third lease refused', async () => {
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await enqueue('api_test', 'maxc', { i }));
  const r = await runner({ runner_name: 'max-2', namespace: 'maxc', capabilities: ['api_test'], max_concurrent: 2 });
  await waitUntil(() => new Set(r.offers.map((o) => o.task_id)).size >= 4, 3000, 5, '4 offers');
  const distinct = [...new Set(r.offers.map((o) => o.task_id))];
  assert.deepEqual(distinct.sort(), ids.slice(0, 4).sort(), 'the 4 oldest tasks (2 free slots x 2)');
  const got = [];
  for (let i = 0; i < 2; i++) {
    const x = await r.call_('AcceptTask', { task_id: '' });
    assert.ifError(x.err);
    assert.equal(x.res.accepted, true);
    got.push(x.res);
  }
  assert.deepEqual(got.map((g) => g.task_id), ids.slice(0, 2), 'empty task_id takes the oldest');
  const third = await r.call_('AcceptTask', { task_id: ids[2] });
  assert.equal(third.res.accepted, false);
  assert.equal(third.res.reason, 'max_concurrent');
  // completing one frees a slot
  assert.ifError((await r.call_('CompleteTask', { task_id: got[0].task_id, lease_id: got[0].lease_id, status: 'completed' })).err);
  const again = await r.call_('AcceptTask', { task_id: ids[2] });
  assert.equal(again.res.accepted, true, JSON.stringify(again.res));
  for (const id of ids) await s.psql(`SELECT mockarty.task_cancel(${sqlq(id)}::uuid)`);
});

test('heartbeat: leased -> running, lease extended, progress stored; AppendResults and CompleteTask idempotent', async () => {
  const r = await runner({ runner_name: 'hb-1', namespace: 'hb', capabilities: ['api_test'] });
  const id = await enqueue('api_test', 'hb', { x: 1 });
  const acc = await r.call_('AcceptTask', { task_id: id });
  assert.equal(acc.res.accepted, true);
  const before = await taskGet(id);
  assert.equal(before.status, 'leased');
  const hb = await r.call_('TaskHeartbeat', { leases: [{ task_id: id, lease_id: acc.res.lease_id, progress_json: '{"done":1,"total":3}' }] });
  assert.ifError(hb.err);
  assert.deepEqual(hb.res.cancel_task_ids, []);
  assert.deepEqual(hb.res.lost_task_ids, []);
  assert.equal(hb.res.next_heartbeat_ms, 10000);
  const t = await taskGet(id);
  assert.equal(t.status, 'running');
  assert.ok(t.startedAt, 'startedAt set');
  const expiresMs = await s.psql(`SELECT floor(extract(epoch FROM lease_expires_at) * 1000)::bigint FROM mockarty_private.tasks WHERE id = ${sqlq(id)}`);
  assert.ok(Number(expiresMs) > Number(acc.res.lease_expires_ms), `lease extended: ${expiresMs} > ${acc.res.lease_expires_ms}`);
  assert.deepEqual(t.progress, { done: 1, total: 3 });
  // a second heartbeat keeps it running (task_start is not repeated)
  assert.ifError((await r.call_('TaskHeartbeat', { leases: [{ task_id: id, lease_id: acc.res.lease_id }] })).err);
  assert.equal((await taskGet(id)).status, 'running');

  const chunks = [{ seq: 0, json: '{"name":"a","ok":true}' }, { seq: 1, json: '{"name":"b","ok":false}' }];
  const a1 = await r.call_('AppendResults', { task_id: id, lease_id: acc.res.lease_id, chunks });
  assert.ifError(a1.err);
  assert.equal(a1.res.stored, true);
  const a2 = await r.call_('AppendResults', { task_id: id, lease_id: acc.res.lease_id, chunks });
  assert.ifError(a2.err);
  assert.equal(a2.res.stored, false, 'duplicate seqs are ignored');
  assert.deepEqual(await s.psqlJson(`SELECT mockarty.task_results(${sqlq(id)}::uuid)`), [{ name: 'a', ok: true }, { name: 'b', ok: false }]);

  const result = { totalTests: 2, passedTests: 1, failedTests: 1 };
  const c1 = await r.call_('CompleteTask', { task_id: id, lease_id: acc.res.lease_id, status: 'completed', result_json: JSON.stringify(result) });
  assert.ifError(c1.err);
  assert.equal(c1.res.stored, true);
  const c2 = await r.call_('CompleteTask', { task_id: id, lease_id: acc.res.lease_id, status: 'completed', result_json: '{"other":true}' });
  assert.ifError(c2.err);
  assert.equal(c2.res.stored, false, 'the same lease completing again');
  const done = await taskGet(id);
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.result, result);
});

test('lease expiry: heartbeats keep a 1 s lease; once they stop, a late CompleteTask is FAILED_PRECONDITION "lease lost" and the new holder completes', async (tc) => {
  // an admin node with short leases on the same database
  const a2 = await s.spawnAdmin({ RUNNER_LEASE_MS: '1000' });
  const r1 = await runner({ runner_name: 'slow-1', namespace: 'exp', capabilities: ['api_test'] }, { addr: a2.grpcAddr });
  assert.equal(r1.welcome.lease_ms, 1000);
  assert.equal(r1.welcome.heartbeat_ms, 333);
  const id = await enqueue('api_test', 'exp', { long: true });
  const first = await r1.call_('AcceptTask', { task_id: id });
  assert.equal(first.res.accepted, true);
  // heartbeating at the announced cadence keeps the lease alive well past its length
  const until = Date.now() + 2500;
  while (Date.now() < until) {
    const hb = await r1.call_('TaskHeartbeat', { leases: [{ task_id: id, lease_id: first.res.lease_id }] });
    assert.ifError(hb.err);
    assert.deepEqual(hb.res.lost_task_ids, []);
    assert.equal(hb.res.next_heartbeat_ms, 333);
    await new Promise((res) => setTimeout(res, hb.res.next_heartbeat_ms));
  }
  const alive = await taskGet(id);
  assert.equal(alive.status, 'running');
  assert.equal(alive.attempts, 1);
  // the runner stalls: the scheduler background worker reaps the expired lease (when the
  // extension is not preloaded, task_reap() is called here instead)
  const bgworker = Number(await s.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type ILIKE '%mockarty%'")) > 0;
  tc.diagnostic(bgworker ? 'lease reaped by the scheduler background worker' : 'no scheduler background worker: task_reap() called by the test');
  await waitUntil(async () => {
    if (!bgworker) await s.psql('SELECT mockarty.task_reap()');
    return (await taskGet(id)).status === 'queued';
  }, 6000, 50, 'lease reaped');
  const r2 = await runner({ runner_name: 'fast-2', namespace: 'exp', capabilities: ['api_test'] }, { addr: a2.grpcAddr });
  const second = await r2.call_('AcceptTask', { task_id: id });
  assert.equal(second.res.accepted, true, JSON.stringify(second.res));
  assert.equal(second.res.attempt, 2);
  assert.notEqual(second.res.lease_id, first.res.lease_id);

  const hb = await r1.call_('TaskHeartbeat', { leases: [{ task_id: id, lease_id: first.res.lease_id }] });
  assert.ifError(hb.err);
  assert.deepEqual(hb.res.lost_task_ids, [id]);
  const app = await r1.call_('AppendResults', { task_id: id, lease_id: first.res.lease_id, chunks: [{ seq: 0, json: '{"stale":true}' }] });
  assert.equal(app.err?.code, status.FAILED_PRECONDITION);
  const late = await r1.call_('CompleteTask', { task_id: id, lease_id: first.res.lease_id, status: 'completed', result_json: '{"from":"old"}' });
  assert.equal(late.err?.code, status.FAILED_PRECONDITION);
  assert.match(late.err.details, /lease lost/);
  const ok = await r2.call_('CompleteTask', { task_id: id, lease_id: second.res.lease_id, status: 'completed', result_json: '{"from":"new"}' });
  assert.ifError(ok.err);
  assert.equal(ok.res.stored, true);
  // the old lease still cannot overwrite it
  const later = await r1.call_('CompleteTask', { task_id: id, lease_id: first.res.lease_id, status: 'completed', result_json: '{"from":"old"}' });
  assert.equal(later.err?.code, status.FAILED_PRECONDITION);
  const t = await taskGet(id);
  assert.equal(t.status, 'completed');
  assert.deepEqual(t.result, { from: 'new' });
  assert.equal(t.attempts, 2);
});

test('cancel via SQL: CancelTask event to the holder and the id in its next heartbeat', async () => {
  const holder = await runner({ runner_name: 'cancel-holder', namespace: 'cx', capabilities: ['api_test'] });
  const bystander = await runner({ runner_name: 'cancel-bystander', namespace: 'cx', capabilities: ['api_test'] });
  const id = await enqueue('api_test', 'cx');
  const acc = await holder.call_('AcceptTask', { task_id: id });
  assert.equal(acc.res.accepted, true);
  assert.ifError((await holder.call_('TaskHeartbeat', { leases: [{ task_id: id, lease_id: acc.res.lease_id }] })).err);
  const t0 = Date.now();
  const c = await s.psqlJson(`SELECT mockarty.task_cancel(${sqlq(id)}::uuid)`);
  assert.equal(c.cancelRequested, true);
  await waitUntil(() => holder.cancels.includes(id), 2000, 5, 'CancelTask event');
  assert.ok(Date.now() - t0 < 1000, `CancelTask after ${Date.now() - t0} ms`);
  assert.ok(!bystander.cancels.includes(id), 'only the holder is told');
  const hb = await holder.call_('TaskHeartbeat', { leases: [{ task_id: id, lease_id: acc.res.lease_id }] });
  assert.deepEqual(hb.res.cancel_task_ids, [id]);
  const done = await holder.call_('CompleteTask', { task_id: id, lease_id: acc.res.lease_id, status: 'cancelled', result_json: '{"cancelled":true}' });
  assert.ifError(done.err);
  assert.equal((await taskGet(id)).status, 'cancelled');
});

test('nodes view lists runners with kind "runner"', async () => {
  const r = await runner({ runner_name: 'nodes-1', namespace: 'nv', capabilities: ['performance', 'api_test'], max_concurrent: 7, address: '10.0.0.5:6770', version: '1.2.3' });
  const id = await enqueue('api_test', 'nv');
  const acc = await r.call_('AcceptTask', { task_id: id });
  assert.equal(acc.res.accepted, true);
  const res = await s.api('GET', '/ui/api/nodes');
  assert.equal(res.status, 200);
  const n = res.body.nodes.find((x) => x.runnerId === r.id);
  assert.ok(n, res.text);
  assert.equal(n.kind, 'runner');
  assert.equal(n.name, 'nodes-1');
  assert.equal(n.namespace, 'nv');
  assert.equal(n.shared, false);
  assert.deepEqual(n.capabilities, ['api_test', 'performance']);
  assert.equal(n.maxConcurrent, 7);
  assert.equal(n.running, 1);
  assert.equal(n.address, '10.0.0.5:6770');
  assert.equal(n.integrationId, runnerTok.id);
  assert.match(n.connectedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(res.body.total >= res.body.nodes.length);
  r.call.cancel();
  await waitUntil(async () => !(await s.api('GET', '/ui/api/nodes')).body.nodes.some((x) => x.runnerId === r.id), 2000, 10, 'runner gone from nodes');
  await s.psql(`SELECT mockarty.task_cancel(${sqlq(id)}::uuid)`);
});

test('revoking the runner integration ends its Connect stream UNAUTHENTICATED within 1 s and refuses its next AcceptTask', async () => {
  for (const how of ['disable', 'delete']) {
    const tok = await integration('test_runner', `revoke-${how}`);
    const r = await runner({ runner_name: `rv-${how}`, namespace: 'rv', capabilities: ['api_test'] }, { token: tok.token });
    const id = await enqueue('api_test', 'rv');
    await waitUntil(() => offered(r, id), 3000, 5, 'offer');
    const t0 = Date.now();
    await s.psql(how === 'disable'
      ? `SELECT mockarty.integration_set_enabled(${sqlq(tok.id)}, false)`
      : `SELECT mockarty.integration_delete(${sqlq(tok.id)})`);
    const end = await r.done;
    assert.equal(end.code, status.UNAUTHENTICATED, JSON.stringify(end));
    assert.ok(end.at - t0 < 1000, `${how}: stream ended after ${end.at - t0} ms`);
    const acc = await r.call_('AcceptTask', { task_id: id });
    assert.equal(acc.err?.code, status.UNAUTHENTICATED, `${how}: ${JSON.stringify(acc.res)}`);
    assert.equal((await taskGet(id)).status, 'queued');
    await s.psql(`SELECT mockarty.task_cancel(${sqlq(id)}::uuid)`);
  }
});

test('RunnerPing every 15 s with the number of eligible queued tasks', async () => {
  await waitUntil(() => pinger.pings.length > 0, 17000, 50, 'RunnerPing');
  const p = pinger.pings[0];
  assert.equal(p.queued_eligible, 1);
  assert.ok(Math.abs(Number(p.server_time_ms) - Date.now()) < 5000);
  assert.equal(pinger.end, null, 'the stream stays open');
});
