// resolver_sync.test.mjs - mock-resolver's configuration surface and its Sync client against the
// canned coordinator (daemons/grpc/build/grpc-test-server: no database, the change log is a
// counter). What a user would notice: --help and start-up errors, the resolver following the
// head version, a refused token shown as such, serving through an outage, a resync after the
// coordinator lost its state, read-your-writes waits. The database-backed end-to-end run is
// resolver.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { repoRoot, waitUntil } from './lib/harness.mjs';
import { runResolver, startResolver, startTestCoordinator } from './lib/resolver.mjs';

let coord;
const started = [];

before(async () => {
  coord = await startTestCoordinator(50, 200);
});
after(async () => {
  for (const r of started) await r.stop().catch(() => {});
  await coord?.stop();
});

async function resolver(env = {}, opts) {
  const r = await startResolver({ COORDINATOR_ADDR: coord.addr, API_TOKEN: 'mki_good', ...env }, opts);
  started.push(r);
  return r;
}

test('--help lists every variable with its default', () => {
  const r = runResolver(['--help']);
  assert.equal(r.code, 0);
  for (const v of ['COORDINATOR_ADDR', 'API_TOKEN', 'RESOLVER_NAME', 'HTTP_PORT', 'NAMESPACE', 'LOG_LEVEL', 'DASHBOARD_PORT', 'HTTP_BIND_ADDR', 'MIN_VERSION_WAIT_MS']) {
    assert.match(r.stdout, new RegExp(v));
  }
  assert.match(r.stdout, /HTTP_PORT\s+no\s+5780/);
  assert.match(r.stdout, /NAMESPACE\s+no\s+sandbox/);
  assert.match(r.stdout, /DASHBOARD_PORT\s+no\s+6780/);
  assert.match(r.stdout, /MIN_VERSION_WAIT_MS\s+no\s+2000/);
});

test('a missing required variable is named and exits 2', () => {
  let r = runResolver([], { API_TOKEN: 'mki_x' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /COORDINATOR_ADDR is required/);
  r = runResolver([], { COORDINATOR_ADDR: '127.0.0.1:5773' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /API_TOKEN is required/);
  r = runResolver([], { COORDINATOR_ADDR: 'nohostport', API_TOKEN: 'mki_x' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /COORDINATOR_ADDR: expected host:port/);
  r = runResolver([], { COORDINATOR_ADDR: '127.0.0.1:5773', API_TOKEN: 'mki_x', HTTP_PORT: 'abc' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /HTTP_PORT/);
});

test('snapshot, then deltas in order: the applied version follows the head', async () => {
  const r = await resolver();
  const s1 = await r.status();
  assert.equal(s1.ready, true);
  assert.equal(s1.coordinator.connected, true);
  assert.ok(s1.coordinator.snapshots >= 1);
  await waitUntil(async () => (await r.status()).appliedVersion >= s1.appliedVersion + 5, 5000, 20, 'deltas applied');
  const s2 = await r.status();
  assert.ok(s2.coordinator.deltas >= 5);
  assert.equal(s2.coordinator.resyncs, 0);
  assert.ok(s2.coordinator.lastHeartbeatMs > 0, 'heartbeats recorded');
  const live = await r.get('/health/live');
  assert.equal(live.status, 200);
  assert.equal(live.body.status, 'ok');
  const m = await r.get('/metrics');
  assert.match(m.text, /mockarty_resolver_coordinator_connected 1/);
  assert.match(m.text, /mockarty_resolver_applied_version \d+/);
  assert.match(m.text, /mockarty_resolver_request_duration_seconds_bucket\{le="\+Inf"\}/);
  assert.match(m.text, /mockarty_resolver_dropped_total 0/);
  const page = await fetch(r.dashUrl + '/');
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /\/api\/status/);
  assert.doesNotMatch(html, /<(script|link)[^>]+(src|href)=["']?https?:/, 'no external assets');
});

test('a refused token is shown as auth refused; ready stays 503 without a snapshot', async () => {
  for (const [token, code] of [['mki_bad', 16], ['mki_readonly', 7]]) {
    const r = await resolver({ API_TOKEN: token }, { waitReady: false });
    await waitUntil(async () => (await r.status()).coordinator.authRefused, 5000, 20, 'auth refused');
    const s = await r.status();
    assert.equal(s.coordinator.state, 'auth_refused');
    assert.equal(s.coordinator.lastCode, code);
    const ready = await r.get('/health/ready');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.coordinator, 'auth_refused');
    assert.equal((await r.get('/health/live')).status, 200);
    assert.match(r.logs(), /refused API_TOKEN/);
    const m = await r.get('/metrics');
    assert.match(m.text, /mockarty_resolver_coordinator_auth_refused 1/);
    await r.stop();
  }
});

test('X-Mockarty-Min-Version waits for the version, and 503s past the bound', async () => {
  const r = await resolver({ MIN_VERSION_WAIT_MS: '1500' });
  const v = (await r.status()).appliedVersion;
  const t0 = Date.now();
  const ok = await r.get('/anything', { 'X-Mockarty-Min-Version': String(v + 4) });
  const waited = Date.now() - t0;
  assert.notEqual(ok.status, 503, ok.text);
  assert.ok((await r.status()).appliedVersion >= v + 4);
  assert.ok(waited < 1500, `waited ${waited} ms`);
  const t1 = Date.now();
  const late = await r.get('/anything', { 'X-Mockarty-Min-Version': String(v + 100000) });
  const waited2 = Date.now() - t1;
  assert.equal(late.status, 503);
  assert.equal(late.body.code, 'unavailable');
  assert.match(late.body.error, /not applied within MIN_VERSION_WAIT_MS=1500 ms/, 'the 503 names the setting');
  assert.ok(waited2 >= 1400 && waited2 < 3000, `waited ${waited2} ms`);
  // a waiting request does not hold other requests up
  const slow = r.get('/x', { 'X-Mockarty-Min-Version': String(v + 100000) });
  const t2 = Date.now();
  for (let i = 0; i < 20; i++) assert.equal((await r.get('/health/live')).status, 200);
  assert.ok(Date.now() - t2 < 1000);
  await slow;
});

test('coordinator restarted without its state: the resolver keeps serving, then resyncs', async () => {
  const own = await startTestCoordinator(50, 200);
  const r = await startResolver({ COORDINATOR_ADDR: own.addr, API_TOKEN: 'mki_good' });
  started.push(r);
  await waitUntil(async () => (await r.status()).appliedVersion > 10, 5000, 20, 'versions advance');
  await own.stop();
  await waitUntil(async () => !(await r.status()).coordinator.connected, 3000, 20, 'disconnect seen');
  // still ready and answering from the last snapshot
  assert.equal((await r.get('/health/ready')).status, 200);
  assert.notEqual((await r.get('/seed/1')).status, 503);
  const again = await startTestCoordinator(50, 200, own.port);
  try {
    await waitUntil(async () => {
      const s = await r.status();
      return s.coordinator.connected && s.coordinator.resyncs >= 1 && s.coordinator.snapshots >= 2;
    }, 10000, 20, 'resync and a fresh snapshot');
    assert.match(r.logs(), /resync/);
  } finally {
    await r.stop();
    await again.stop();
  }
});

test('a coordinator that goes silent (no FIN) is detected by missing heartbeats', async () => {
  const own = await startTestCoordinator(100, 200);
  const r = await startResolver({ COORDINATOR_ADDR: own.addr, API_TOKEN: 'mki_good' });
  started.push(r);
  try {
    await waitUntil(async () => (await r.status()).coordinator.lastHeartbeatMs > 0, 3000, 20, 'heartbeats');
    await new Promise((res) => setTimeout(res, 500)); // learn the interval
    own.proc.kill('SIGSTOP');
    const t0 = Date.now();
    await waitUntil(async () => !(await r.status()).coordinator.connected, 5000, 20, 'silence detected');
    const took = Date.now() - t0;
    assert.ok(took < 3000, `took ${took} ms`);
    assert.match(r.logs(), /no event from the coordinator/);
    assert.equal((await r.get('/health/ready')).status, 200, 'still serving its snapshot');
    own.proc.kill('SIGCONT');
    await waitUntil(async () => (await r.status()).coordinator.connected, 10000, 20, 'reconnected');
  } finally {
    own.proc.kill('SIGCONT');
    await r.stop();
    await own.stop();
  }
});

test('HTTP keep-alive: responses do not close the connection', async () => {
  const r = await resolver();
  const { spawnSync } = await import('node:child_process');
  const out = spawnSync('curl', ['-sv', `${r.url}/health/live`, `${r.url}/seed/1`], { encoding: 'utf8' });
  assert.match(out.stderr, /Re-using existing connection/);
  assert.doesNotMatch(out.stderr, /Connection: close/i);
});

// A scripted coordinator on @grpc/grpc-js: each Sync call gets the next script, so the test sees
// exactly what the resolver asks for after each kind of event.
test('a version gap is never skipped: the resolver resubscribes from its last applied version', async () => {
  const require = createRequire(path.join(repoRoot, 'regress/e2e/package.json'));
  const grpc = require('@grpc/grpc-js');
  const protoLoader = require('@grpc/proto-loader');
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync('coordinator.proto', { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [path.join(repoRoot, 'proto')] }));
  const doc = (id, route, v) => ({ id, namespace: 'sandbox', version: v, json: JSON.stringify({ id, http: { route, httpMethod: 'GET' }, response: { statusCode: 200, payload: { id, v } } }) });
  const upsert = (v, id, route) => ({ delta: { version: v, op: 'OP_UPSERT', namespace: 'sandbox', mock_id: id, json: doc(id, route, v).json } });
  const requests = [];
  const scripts = [
    // 1: snapshot at 5, delta 6, then a gap (8): the resolver must drop the stream
    (call) => {
      call.write({ snapshot: { version: 5, mocks: [doc('a', '/a', 5)], last_chunk: true } });
      call.write(upsert(6, 'b', '/b'));
      call.write(upsert(8, 'gap', '/gap'));
    },
    // 2: it must come back with have_version 6; answer 7, 8; then a resync
    (call) => {
      call.write(upsert(7, 'c', '/c'));
      call.write(upsert(8, 'd', '/d'));
      setTimeout(() => { call.write({ resync: { reason: 'test' } }); call.end(); }, 300);
    },
    // 3: after the resync: have_version 0, a fresh snapshot in two chunks
    (call) => {
      call.write({ snapshot: { version: 20, mocks: [doc('e', '/e', 20)], last_chunk: false } });
      call.write({ snapshot: { version: 20, mocks: [doc('f', '/f', 20)], last_chunk: true } });
    },
  ];
  const server = new grpc.Server();
  server.addService(pkg.mockarty.coordinator.v1.Coordinator.service, {
    Sync(call) {
      requests.push({ ...call.request, auth: call.metadata.get('authorization')[0] });
      const script = scripts[requests.length - 1];
      if (script) script(call);
      else call.write({ heartbeat: { head_version: 20, server_time_ms: Date.now() } });
    },
    Resolve(call, cb) { cb(null, { found: false, response_json: '' }); },
    Report(call, cb) { cb(null, { accepted: 0 }); },
  });
  const port = await new Promise((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const r = await startResolver({ COORDINATOR_ADDR: `127.0.0.1:${port}`, API_TOKEN: 'mki_scripted', RESOLVER_NAME: 'gap-test' });
  started.push(r);
  try {
    await waitUntil(() => requests.length >= 3, 10000, 20, 'three Sync calls').catch((e) => { e.message += '\nrequests: ' + JSON.stringify(requests) + '\n' + r.logs(); throw e; });
    assert.equal(requests[0].have_version, 0);
    assert.equal(requests[0].resolver_name, 'gap-test');
    assert.equal(requests[0].namespace, 'sandbox');
    assert.equal(requests[0].address, `127.0.0.1:${r.port}`);
    assert.equal(requests[0].auth, 'Bearer mki_scripted');
    assert.equal(requests[1].have_version, 6, 'resumed from the last applied version, not past the gap');
    assert.equal(requests[2].have_version, 0, 'a resync starts over');
    await waitUntil(async () => (await r.status()).appliedVersion === 20, 5000, 20, 'snapshot 20 applied');
    // the new snapshot replaced the old state whole
    assert.equal((await r.get('/e')).status, 200);
    assert.equal((await r.get('/f')).status, 200);
    assert.equal((await r.get('/a')).status, 404);
    assert.equal((await r.get('/gap')).status, 404);
    const st = await r.status();
    assert.equal(st.coordinator.resyncs, 1);
    assert.equal(st.mocksLoaded, 2);
  } finally {
    await r.stop();
    server.forceShutdown();
  }
});

test('a slow snapshot (seconds between chunks, no heartbeats) is not cut by the silence watchdog', async () => {
  const require = createRequire(path.join(repoRoot, 'regress/e2e/package.json'));
  const grpc = require('@grpc/grpc-js');
  const protoLoader = require('@grpc/proto-loader');
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync('coordinator.proto', { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [path.join(repoRoot, 'proto')] }));
  const doc = (id, v) => ({ id, namespace: 'sandbox', version: v, json: JSON.stringify({ id, http: { route: `/${id}`, httpMethod: 'GET' }, response: { statusCode: 200, payload: { id } } }) });
  const calls = [];
  const timers = [];
  const later = (ms, fn) => timers.push(setTimeout(fn, ms));
  const server = new grpc.Server();
  server.addService(pkg.mockarty.coordinator.v1.Coordinator.service, {
    Sync(call) {
      calls.push(call.request.have_version);
      if (calls.length === 1) {
        // a stream with fast heartbeats teaches the resolver a 100 ms interval, then a resync
        call.write({ snapshot: { version: 1, mocks: [doc('one', 1)], last_chunk: true } });
        for (let i = 1; i <= 8; i++) later(i * 100, () => call.write({ heartbeat: { head_version: 1, server_time_ms: Date.now() } }));
        later(900, () => { call.write({ resync: { reason: 'test' } }); call.end(); });
      } else if (calls.length === 2) {
        // the new snapshot takes 2 s to start and 2 s between its chunks
        later(2000, () => call.write({ snapshot: { version: 9, mocks: [doc('two', 9)], last_chunk: false } }));
        later(4000, () => call.write({ snapshot: { version: 9, mocks: [doc('three', 9)], last_chunk: true } }));
      }
    },
    Resolve(call, cb) { cb(null, { found: false, response_json: '' }); },
    Report(call, cb) { cb(null, { accepted: 0 }); },
  });
  const port = await new Promise((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const r = await startResolver({ COORDINATOR_ADDR: `127.0.0.1:${port}`, API_TOKEN: 'mki_scripted' });
  started.push(r);
  try {
    await waitUntil(async () => (await r.status()).appliedVersion === 9, 10000, 50, 'slow snapshot applied');
    assert.deepEqual(calls, [0, 0], 'one resync, no watchdog reconnects');
    assert.equal((await r.get('/three')).status, 200);
    assert.doesNotMatch(r.logs(), /no event from the coordinator/);
  } finally {
    for (const t of timers) clearTimeout(t);
    await r.stop();
    server.forceShutdown();
  }
});
