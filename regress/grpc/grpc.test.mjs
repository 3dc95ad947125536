// grpc.test.mjs - the coordinator transport against @grpc/grpc-js (an independent gRPC stack):
// auth before the body, snapshot + ordered deltas, unary calls, health, reflection (v1 and
// v1alpha) and the bounded send queue of a paused reader. Talks to daemons/grpc's
// grpc-test-server: GRPC_TEST_ADDR=host:port, or the test starts one on an ephemeral port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const require = createRequire(path.join(root, 'regress/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const protoDir = path.join(root, 'proto');
const loadOpts = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [protoDir] };
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(
  ['coordinator.proto', 'grpc/health/v1/health.proto', 'grpc/reflection/v1/reflection.proto',
    'grpc/reflection/v1alpha/reflection.proto'], loadOpts));
const Coordinator = pkg.mockarty.coordinator.v1.Coordinator;
const Health = pkg.grpc.health.v1.Health;
const ReflV1 = pkg.grpc.reflection.v1.ServerReflection;
const ReflV1a = pkg.grpc.reflection.v1alpha.ServerReflection;
const { status } = grpc;

let addr = process.env.GRPC_TEST_ADDR;
let child;
const clients = [];

function client(Ctor, opts = {}) {
  // Own subchannel pool: each client is a separate HTTP/2 connection, like separate resolvers.
  const c = new Ctor(addr, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, ...opts });
  clients.push(c);
  return c;
}

function md(token) {
  const m = new grpc.Metadata();
  if (token) m.set('authorization', `Bearer ${token}`);
  return m;
}

const unary = (c, method, req, token) => new Promise((resolve) => {
  c[method](req, md(token), { deadline: Date.now() + 5000 }, (err, res) => resolve({ err, res }));
});

async function waitUntil(pred, ms, what) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Collects a Sync stream's events; resolves `done` with the final status.
function sync(c, req, token = 'mki_good') {
  const call = c.Sync(req, md(token));
  const s = { call, events: [], deltas: [], snapshots: [], resyncs: [], heartbeats: 0 };
  s.done = new Promise((resolve) => {
    call.on('data', (ev) => {
      s.events.push(ev);
      if (ev.event === 'snapshot') s.snapshots.push(ev.snapshot);
      else if (ev.event === 'delta') s.deltas.push(ev.delta);
      else if (ev.event === 'resync') s.resyncs.push(ev.resync);
      else if (ev.event === 'heartbeat') s.heartbeats++;
    });
    call.on('error', (err) => resolve({ code: err.code, details: err.details }));
    call.on('status', (st) => { if (st.code === status.OK) resolve({ code: 0, details: st.details }); });
  });
  return s;
}

before(async () => {
  if (addr) return;
  const bin = path.join(root, 'daemons/grpc/build/grpc-test-server');
  child = spawn(bin, ['0', '50', '500'], { stdio: ['ignore', 'pipe', 'inherit'] });
  addr = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening (\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`test server exited ${code}`)));
  });
});

after(() => {
  for (const c of clients) c.close();
  if (child) child.kill('SIGTERM');
});

test('bad token: UNAUTHENTICATED before the body is read', async () => {
  const c = client(Coordinator);
  let r = await unary(c, 'Resolve', { namespace: 'sandbox', method: 'GET', path: '/x' }, 'mki_wrong');
  assert.equal(r.err?.code, status.UNAUTHENTICATED);
  r = await unary(c, 'Resolve', { namespace: 'sandbox', method: 'GET', path: '/x' }, null);
  assert.equal(r.err?.code, status.UNAUTHENTICATED);
  // A 5 MiB body would be RESOURCE_EXHAUSTED if it were read; auth refuses first.
  r = await unary(c, 'Resolve', { namespace: 'sandbox', body: Buffer.alloc(5 << 20) }, 'mki_wrong');
  assert.equal(r.err?.code, status.UNAUTHENTICATED);
  assert.match(r.err.details, /invalid token/);
  // ... while with a good token the same body hits the 4 MiB limit.
  r = await unary(c, 'Resolve', { namespace: 'sandbox', body: Buffer.alloc(5 << 20) }, 'mki_good');
  assert.equal(r.err?.code, status.RESOURCE_EXHAUSTED);
});

test('readonly token: PERMISSION_DENIED, also on streams', async () => {
  const c = client(Coordinator);
  const r = await unary(c, 'Report', { logs: [] }, 'mki_readonly');
  assert.equal(r.err?.code, status.PERMISSION_DENIED);
  const s = sync(c, { resolver_name: 'ro', namespace: 'sandbox' }, 'mki_readonly');
  const st = await s.done;
  assert.equal(st.code, status.PERMISSION_DENIED);
  assert.equal(s.events.length, 0);
});

test('Sync: snapshot chunks, then deltas in version order without gaps, heartbeats', async () => {
  const c = client(Coordinator);
  const s = sync(c, { resolver_name: 'js-1', namespace: 'sandbox', have_version: '0', address: '127.0.0.1:5780' });
  await waitUntil(() => s.deltas.length >= 8 && s.heartbeats >= 1, 8000, 'deltas and a heartbeat');
  s.call.cancel();
  const st = await s.done;
  assert.equal(st.code, status.CANCELLED);
  assert.equal(s.snapshots.length, 2);
  assert.equal(s.events[0].event, 'snapshot');
  assert.equal(s.events[1].event, 'snapshot');
  assert.equal(s.snapshots[0].last_chunk, false);
  assert.equal(s.snapshots[1].last_chunk, true);
  assert.deepEqual(s.snapshots.flatMap((x) => x.mocks.map((m) => m.id)), ['seed1', 'seed2']);
  let v = BigInt(s.snapshots[1].version);
  for (const d of s.deltas) {
    assert.equal(BigInt(d.version), v + 1n, 'deltas are consecutive');
    v = BigInt(d.version);
    assert.ok(d.op === 'OP_UPSERT' || d.op === 'OP_DELETE');
    if (d.op === 'OP_UPSERT') assert.equal(JSON.parse(d.json).version, Number(d.version));
  }
  // Resume: no snapshot, the next delta follows have_version.
  const r = sync(c, { resolver_name: 'js-1', namespace: 'sandbox', have_version: String(v) });
  await waitUntil(() => r.deltas.length >= 2, 5000, 'resumed deltas');
  r.call.cancel();
  await r.done;
  assert.equal(r.snapshots.length, 0);
  assert.equal(BigInt(r.deltas[0].version), v + 1n);
  // A version the server never had: Resync, then OK.
  const f = sync(c, { resolver_name: 'js-1', namespace: 'sandbox', have_version: '999999999' });
  assert.equal((await f.done).code, status.OK);
  assert.equal(f.resyncs.length, 1);
});

test('unary Resolve and Report', async () => {
  const c = client(Coordinator);
  let r = await unary(c, 'Resolve', {
    namespace: 'sandbox', method: 'POST', path: '/users', query: 'q=ünï', headers_json: '{"a":"b"}',
    body: Buffer.from('{"x":1}'), seed: '18446744073709551615',
  }, 'mki_good');
  assert.ifError(r.err);
  assert.equal(r.res.found, true);
  const echo = JSON.parse(r.res.response_json);
  assert.deepEqual(echo, { namespace: 'sandbox', method: 'POST', path: '/users', query: 'q=ünï', body: '{"x":1}', seed: '18446744073709551615', principal: 'good' });
  r = await unary(c, 'Resolve', { namespace: 'sandbox', path: '/missing' }, 'mki_good');
  assert.equal(r.res.found, false);
  r = await unary(c, 'Resolve', { namespace: '__async__', path: '/a' }, 'mki_good');
  assert.equal(r.res.found, true);
  r = await unary(c, 'Report', {
    logs: [{ mock_id: 'm1', req_json: '{}', response_json: '{}', called_at_ms: '1700000000000' }],
    undefined: [{ namespace: 'sandbox', method: 'GET', path: '/u', count: '3' }, { path: '/v', count: '1' }],
    dropped: '2',
  }, 'mki_good');
  assert.ifError(r.err);
  assert.equal(r.res.accepted, '3');
});

test('unknown method: UNIMPLEMENTED', async () => {
  const c = client(grpc.Client);
  const err = await new Promise((resolve) => c.makeUnaryRequest('/mockarty.coordinator.v1.Coordinator/Nope',
    (x) => x, (x) => x, Buffer.alloc(0), md('mki_good'), (e) => resolve(e)));
  assert.equal(err?.code, status.UNIMPLEMENTED);
});

test('health: Check and Watch', async () => {
  const h = client(Health);
  let r = await unary(h, 'Check', { service: '' });
  assert.ifError(r.err);
  assert.equal(r.res.status, 'SERVING');
  r = await unary(h, 'Check', { service: 'mockarty.coordinator.v1.Coordinator' });
  assert.equal(r.res.status, 'SERVING');
  r = await unary(h, 'Check', { service: 'no.such.Service' });
  assert.equal(r.err?.code, status.NOT_FOUND);
  for (const [service, want] of [['', 'SERVING'], ['no.such.Service', 'SERVICE_UNKNOWN']]) {
    const w = h.Watch({ service });
    const first = await new Promise((resolve, reject) => { w.once('data', resolve); w.once('error', reject); });
    assert.equal(first.status, want);
    w.cancel();
    await new Promise((resolve) => w.on('error', resolve));
  }
});

function reflect(Ctor, reqs) {
  const c = client(Ctor);
  const call = c.ServerReflectionInfo();
  const out = [];
  return new Promise((resolve, reject) => {
    call.on('data', (r) => { out.push(r); if (out.length === reqs.length) { call.end(); } });
    call.on('error', reject);
    call.on('status', (st) => (st.code === 0 ? resolve(out) : reject(new Error(st.details))));
    for (const r of reqs) call.write(r);
  });
}

for (const [name, Ctor] of [['v1', ReflV1], ['v1alpha', ReflV1a]]) {
  test(`reflection ${name}: list_services, file_containing_symbol, file_by_filename, errors`, async () => {
    const res = await reflect(Ctor, [
      { host: '', list_services: '*' },
      { file_containing_symbol: 'mockarty.coordinator.v1.Coordinator' },
      { file_containing_symbol: 'mockarty.coordinator.v1.Delta.Op' },
      { file_by_filename: 'grpc/health/v1/health.proto' },
      { file_containing_symbol: 'no.such.Symbol' },
    ]);
    const names = res[0].list_services_response.service.map((s) => s.name);
    for (const want of ['mockarty.coordinator.v1.Coordinator', 'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']) {
      assert.ok(names.includes(want), `${want} in ${names}`);
    }
    assert.equal(res[0].original_request.list_services, '*');
    for (const i of [1, 2]) {
      assert.equal(res[i].message_response, 'file_descriptor_response');
      const fd = res[i].file_descriptor_response.file_descriptor_proto[0];
      assert.ok(Buffer.from(fd).includes('coordinator.proto'));
    }
    assert.ok(Buffer.from(res[3].file_descriptor_response.file_descriptor_proto[0]).includes('grpc.health.v1'));
    assert.equal(res[4].message_response, 'error_response');
    assert.equal(res[4].error_response.error_code, status.NOT_FOUND);
  });
}

test('a paused reader overflows its bounded queue and is ended; others go on; it gets a Resync later', async () => {
  const slowC = client(Coordinator);
  const fastC = client(Coordinator);
  const slow = sync(slowC, { resolver_name: 'js-slow', namespace: 'bulk' });
  await waitUntil(() => slow.snapshots.length === 2, 5000, 'slow snapshot');
  slow.call.pause();
  const fast = sync(fastC, { resolver_name: 'js-fast', namespace: 'bulk' });
  // 16 KiB deltas every 50 ms: the paused stream has ~64 KiB of window and a 256 KiB queue,
  // so 60 deltas (~1 MiB) overflow it with margin, plus the 1 s grace for its trailers.
  await waitUntil(() => fast.deltas.length >= 60, 15000, 'fast deltas');
  const seenSlow = slow.deltas.length;
  slow.call.resume();
  const st = await slow.done;
  assert.equal(st.code, status.RESOURCE_EXHAUSTED, `slow stream status ${st.code} ${st.details}`);
  assert.ok(slow.deltas.length < fast.deltas.length, `slow got ${slow.deltas.length} (${seenSlow} before resume)`);
  // The slow stream's deltas were still consecutive (no torn or skipped message).
  for (let i = 1; i < slow.deltas.length; i++) {
    assert.equal(BigInt(slow.deltas[i].version), BigInt(slow.deltas[i - 1].version) + 1n);
  }
  const n = fast.deltas.length;
  await waitUntil(() => fast.deltas.length >= n + 5, 5000, 'fast stream continues');
  fast.call.cancel();
  await fast.done;
  const last = slow.deltas.length ? slow.deltas[slow.deltas.length - 1].version : slow.snapshots[1].version;
  const again = sync(slowC, { resolver_name: 'js-slow', namespace: 'bulk', have_version: String(last) });
  assert.equal((await again.done).code, status.OK);
  assert.equal(again.resyncs.length, 1);
  assert.match(again.resyncs[0].reason, /overflow/);
});

test('revoking a token ends its streams UNAUTHENTICATED', async () => {
  const c = client(Coordinator);
  const s = sync(c, { resolver_name: 'js-rev', namespace: 'sandbox' }, 'mki_good_js');
  await waitUntil(() => s.deltas.length >= 1, 5000, 'a delta');
  const r = await unary(client(Coordinator), 'Resolve', { namespace: '__revoke__', path: 'good_js' }, 'mki_good');
  assert.equal(r.res.response_json, '{"closed":1}');
  const st = await s.done;
  assert.equal(st.code, status.UNAUTHENTICATED);
  assert.equal(st.details, 'token revoked');
});
