// coordinator.test.mjs - the admin node's gRPC coordinator against @grpc/grpc-js as a fake
// resolver, on a real PostgreSQL: integration tokens over REST exactly as the integrations guide
// shows them, token scopes (mki_ vs mk_, mock_resolver vs test_runner), Sync (snapshot in
// chunks, ordered deltas within 100 ms of a REST or plain-SQL write, heartbeats with the head
// version, resume, resync), Resolve through SQL (useLimiter counted in the database), Report
// into the mock logs and undefined requests, revocation ending streams within 1 s, health,
// reflection, the nodes view and X-Mockarty-Version on every admin write.
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
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(
  ['coordinator.proto', 'grpc/health/v1/health.proto', 'grpc/reflection/v1/reflection.proto',
    'grpc/reflection/v1alpha/reflection.proto'], loadOpts));
const Coordinator = pkg.mockarty.coordinator.v1.Coordinator;
const Health = pkg.grpc.health.v1.Health;
const ReflV1 = pkg.grpc.reflection.v1.ServerReflection;
const ReflV1a = pkg.grpc.reflection.v1alpha.ServerReflection;
const { status } = grpc;

let s;
let resolverToken; // mki_ mock_resolver
let resolverId;
let runnerToken; // mki_ test_runner
const clients = [];

function client(Ctor, addr = s.grpcAddr) {
  // own subchannel pool: every client is a separate HTTP/2 connection, like separate resolvers
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

// Opens a Sync stream and records its events (with arrival times); `done` resolves with the
// final status {code, details, at}.
function sync(c, req, token = resolverToken) {
  const call = c.Sync(req, md(token));
  const st = { call, events: [], deltas: [], snapshots: [], resyncs: [], heartbeats: [], end: null };
  st.done = new Promise((resolve) => {
    call.on('data', (ev) => {
      const at = Date.now();
      st.events.push(ev);
      if (ev.event === 'snapshot') st.snapshots.push(ev.snapshot);
      else if (ev.event === 'delta') st.deltas.push({ ...ev.delta, at });
      else if (ev.event === 'resync') st.resyncs.push(ev.resync);
      else if (ev.event === 'heartbeat') st.heartbeats.push({ ...ev.heartbeat, at });
    });
    call.on('error', (err) => { st.end = { code: err.code, details: err.details, at: Date.now() }; resolve(st.end); });
    // an OK stream is over once its last message was read ('end'), which for a paused reader
    // comes after 'status'
    let ok = null;
    call.on('status', (x) => { if (x.code === status.OK) ok = { code: 0, details: x.details }; });
    call.on('end', () => { if (ok && !st.end) { st.end = { ...ok, at: Date.now() }; resolve(st.end); } });
  });
  return st;
}

const snapshotDone = (st) => st.snapshots.length > 0 && st.snapshots[st.snapshots.length - 1].last_chunk;
const mockIds = (st) => st.snapshots.flatMap((c) => c.mocks.map((m) => m.id));
const mock = (id, extra = {}) => ({ id, http: { route: `/${id}`, httpMethod: 'GET' }, response: { payload: { id } }, ...extra });

before(async () => {
  s = await startStack();
  // the guide's curl body, verbatim
  const r = await s.api('POST', '/ui/api/integrations', { name: 'resolver-prod-1', type: 'mock_resolver' });
  assert.equal(r.status, 201, r.text);
  resolverToken = r.body.token;
  resolverId = r.body.integration.id;
  const t = await s.api('POST', '/ui/api/integrations', { name: 'runner-ci', type: 'test_runner' });
  assert.equal(t.status, 201, t.text);
  runnerToken = t.body.token;
  const h = client(Health);
  await waitUntil(async () => (await unary(h, 'Check', { service: 'mockarty.coordinator.v1.Coordinator' })).res?.status === 'SERVING',
    10000, 20, 'coordinator SERVING');
});

after(async () => {
  for (const c of clients) c.close();
  await s?.stop();
});

test('integration tokens over REST exactly as the guide shows them', async () => {
  const r = await s.api('POST', '/ui/api/integrations', { name: 'resolver-eu-west-1', type: 'mock_resolver' });
  assert.equal(r.status, 201);
  assert.deepEqual(Object.keys(r.body).sort(), ['integration', 'token']);
  assert.deepEqual(Object.keys(r.body.integration).sort(), ['createdAt', 'enabled', 'id', 'name', 'namespace', 'type']);
  assert.match(r.body.token, /^mki_[0-9a-f]{12}_[0-9a-f]{48}$/);
  assert.match(r.body.integration.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.match(r.body.integration.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(r.body.integration.enabled, true);
  assert.equal(r.body.integration.type, 'mock_resolver');

  const list = await s.api('GET', '/ui/api/integrations');
  assert.equal(list.status, 200);
  assert.ok(list.body.integrations.some((i) => i.id === r.body.integration.id));
  for (const tok of [r.body.token, resolverToken, runnerToken]) assert.ok(!list.text.includes(tok.slice(4)), 'list never shows tokens');

  const bad = await s.api('POST', '/ui/api/integrations', { name: 'x', type: 'admin' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'validation');
  const disabled = await s.api('PUT', `/ui/api/integrations/${r.body.integration.id}`, { enabled: false });
  assert.equal(disabled.status, 200);
  assert.equal(disabled.body.enabled, false);
  const del = await s.api('DELETE', `/ui/api/integrations/${r.body.integration.id}`);
  assert.equal(del.status, 200);
  assert.equal((await s.api('DELETE', `/ui/api/integrations/${r.body.integration.id}`)).status, 404);
  assert.equal((await s.api('PUT', '/ui/api/integrations/not-a-uuid', { enabled: false })).status, 404);
});

test('an mki_ token gets 403 on the admin REST API, a bogus one too (refused before the database)', async () => {
  const r = await s.api('GET', '/api/v1/mocks', undefined, { token: resolverToken });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.body.code, 'forbidden');
  const w = await s.api('POST', '/ui/api/integrations', { name: 'x', type: 'mock_resolver' }, { token: runnerToken });
  assert.equal(w.status, 403);
  const b = await s.api('GET', '/api/v1/mocks', undefined, { token: 'mki_000000000000_00' });
  assert.equal(b.status, 403);
  assert.match(b.body.error, /mki_/);
});

test('coordinator auth: bad and missing tokens are UNAUTHENTICATED; test_runner and a viewer\'s mk_ are PERMISSION_DENIED; an admin\'s mk_ (generated servers) is admitted', async () => {
  const c = client(Coordinator);
  const req = { namespace: 'sandbox', method: 'GET', path: '/x' };
  for (const tok of ['mki_000000000000_abcdef', 'mk_000000000000_abcdef', 'garbage', null, resolverToken + '0']) {
    const r = await unary(c, 'Resolve', req, tok);
    assert.equal(r.err?.code, status.UNAUTHENTICATED, `token ${tok && tok.slice(0, 8)}: ${r.err?.details}`);
  }
  const mk = await unary(c, 'Resolve', req, s.token);
  assert.equal(mk.err, null, mk.err?.details);
  await s.psql("SELECT mockarty.user_create('coord-viewer', NULL, 'viewer')");
  const viewer = await s.psql("SELECT mockarty.token_create('coord-viewer', 'coord-viewer')->>'token'");
  const vr = await unary(c, 'Resolve', req, viewer);
  assert.equal(vr.err?.code, status.PERMISSION_DENIED, vr.err?.details);
  assert.match(vr.err.details, /editor or admin/);
  // refused before the body is read: a 5 MiB body is not RESOURCE_EXHAUSTED
  const big = await unary(c, 'Resolve', { ...req, body: Buffer.alloc(5 << 20) }, 'mki_000000000000_abcdef');
  assert.equal(big.err?.code, status.UNAUTHENTICATED);
  for (const m of ['Resolve', 'Report']) {
    const r = await unary(c, m, m === 'Resolve' ? req : {}, runnerToken);
    assert.equal(r.err?.code, status.PERMISSION_DENIED, m);
  }
  const st = sync(c, { resolver_name: 'runner-pretending', namespace: 'sandbox' }, runnerToken);
  assert.equal((await st.done).code, status.PERMISSION_DENIED);
  assert.equal(st.events.length, 0);
});

test('Sync: snapshot with existing mocks, then ordered deltas within 100 ms of REST and SQL writes', async () => {
  assert.equal((await s.api('POST', '/api/v1/mocks', mock('pre-1'))).status, 200);
  assert.equal((await s.api('POST', '/api/v1/mocks', mock('pre-qa', { namespace: 'qa' }))).status, 200);
  const c = client(Coordinator);
  const st = sync(c, { resolver_name: 'fake-1', namespace: 'sandbox', have_version: 0, address: '127.0.0.1:5780' });
  await waitUntil(() => snapshotDone(st), 5000, 10, 'snapshot');
  assert.ok(mockIds(st).includes('pre-1'));
  assert.ok(!mockIds(st).includes('pre-qa'), 'only the stream namespace');
  const snapV = Number(st.snapshots[0].version);
  assert.equal(snapV, Number(await s.psql('SELECT mockarty.head_version()')));
  const doc = JSON.parse(st.snapshots[0].mocks.find((m) => m.id === 'pre-1').json);
  assert.equal(doc.http.route, '/pre-1');

  // REST write -> delta within 100 ms of the response; X-Mockarty-Version names its version
  const r = await s.api('POST', '/api/v1/mocks', mock('live-1'));
  const tResp = Date.now();
  assert.equal(r.status, 200);
  const ver = Number(r.headers.get('x-mockarty-version'));
  await waitUntil(() => st.deltas.some((d) => d.mock_id === 'live-1'), 2000, 2, 'REST delta');
  const d1 = st.deltas.find((d) => d.mock_id === 'live-1');
  assert.ok(d1.at - tResp <= 100, `REST delta after ${d1.at - tResp} ms`);
  assert.equal(d1.op, 'OP_UPSERT');
  assert.equal(Number(d1.version), ver);
  assert.equal(JSON.parse(d1.json).http.route, '/live-1');

  // a change made with SQL alone reaches the stream too
  const sess = s.psqlSession();
  await sess.query(`SELECT mockarty.mock_patch('live-1', '{"response":{"statusCode":201}}')`);
  const tSql = Date.now();
  await waitUntil(() => st.deltas.filter((d) => d.mock_id === 'live-1').length >= 2, 2000, 2, 'SQL delta');
  const d2 = st.deltas.filter((d) => d.mock_id === 'live-1')[1];
  assert.ok(d2.at - tSql <= 100, `SQL delta after ${d2.at - tSql} ms`);
  assert.equal(JSON.parse(d2.json).response.statusCode, 201);
  await sess.query(`SELECT mockarty.mock_delete('live-1')`);
  await waitUntil(() => st.deltas.some((d) => d.mock_id === 'live-1' && d.op === 'OP_DELETE'), 2000, 2, 'delete delta');
  // a change in another namespace keeps the sequence gap-free as a delete in ours
  await sess.query(`SELECT mockarty.mock_save('{"id":"qa-2","http":{"route":"/qa-2"},"response":{"statusCode":200}}', 'qa')`);
  await waitUntil(() => st.deltas.some((d) => d.mock_id === 'qa-2'), 2000, 2, 'foreign delta');
  const foreign = st.deltas.find((d) => d.mock_id === 'qa-2');
  assert.equal(foreign.op, 'OP_DELETE');
  assert.equal(foreign.namespace, 'sandbox');
  assert.equal(foreign.json, '');
  await sess.close();

  // strictly ordered, gap-free, starting right after the snapshot
  const vs = st.deltas.map((d) => Number(d.version));
  assert.equal(vs[0], snapV + 1);
  for (let i = 1; i < vs.length; i++) assert.equal(vs[i], vs[i - 1] + 1, `versions ${vs}`);

  // heartbeats (every second) carry the head version
  const head = Number(await s.psql('SELECT mockarty.head_version()'));
  await waitUntil(() => st.heartbeats.some((h) => Number(h.head_version) === head), 3000, 10, 'heartbeat at head');
  assert.ok(Number(st.heartbeats.at(-1).server_time_ms) > Date.now() - 60000);
  st.call.cancel();
  await st.done;
});

test('Sync: resume from a version, chunked snapshots, resync from the future', async () => {
  const c = client(Coordinator);
  const head = Number(await s.psql('SELECT mockarty.head_version()'));
  const resumed = sync(c, { resolver_name: 'fake-resume', namespace: 'sandbox', have_version: String(head - 1) });
  await waitUntil(() => resumed.deltas.length >= 1 && resumed.heartbeats.length >= 1, 3000, 10, 'resume');
  assert.equal(resumed.snapshots.length, 0, 'no snapshot when deltas can serve');
  assert.equal(Number(resumed.deltas[0].version), head);
  resumed.call.cancel();

  const future = sync(c, { resolver_name: 'fake-future', namespace: 'sandbox', have_version: String(head + 1000) });
  const end = await future.done;
  assert.equal(end.code, 0);
  assert.equal(future.resyncs.length, 1);
  assert.match(future.resyncs[0].reason, /ahead/);

  // 2,500 mocks in one namespace arrive in chunks of at most 1000
  await s.psql(`SELECT mockarty.mock_batch_save((SELECT jsonb_agg(jsonb_build_object('id', 'bulk-' || g,
    'namespace', 'bulkns', 'http', jsonb_build_object('route', '/bulk/' || g), 'response', jsonb_build_object('statusCode', 200)))
    FROM generate_series(1, 2500) g))`);
  const bulk = sync(c, { resolver_name: 'fake-bulk', namespace: 'bulkns' });
  await waitUntil(() => snapshotDone(bulk), 10000, 10, 'bulk snapshot');
  assert.ok(bulk.snapshots.length >= 3, `${bulk.snapshots.length} chunks`);
  for (const ch of bulk.snapshots) assert.ok(ch.mocks.length <= 1000);
  assert.equal(new Set(mockIds(bulk)).size, 2500);
  assert.equal(new Set(bulk.snapshots.map((x) => x.version)).size, 1, 'one version for all chunks');
  bulk.call.cancel();
});

test('Resolve goes through SQL: a useLimiter mock counts in the database', async () => {
  assert.equal((await s.api('POST', '/api/v1/mocks', mock('limited-2', { useLimiter: 2 }))).status, 200);
  const c = client(Coordinator);
  const req = { namespace: 'sandbox', method: 'GET', path: '/limited-2', headers_json: '{"accept":"application/json"}' };
  const got = [];
  for (let i = 0; i < 3; i++) got.push(await unary(c, 'Resolve', req, resolverToken));
  for (const g of got) assert.ifError(g.err);
  assert.deepEqual(got.map((g) => g.res.found), [true, true, false]);
  const resp = JSON.parse(got[0].res.response_json);
  assert.equal(resp.mockId, 'limited-2');
  assert.deepEqual(resp.payload, { id: 'limited-2' });
  assert.equal(Number(await s.psql(`SELECT mockarty.mock_get('limited-2')->>'useCounter'`)), 2);
  // the miss was recorded centrally
  const u = await s.psqlJson(`SELECT mockarty.undefined_list('sandbox')`);
  assert.ok(u.some((x) => x.path === '/limited-2'));
});

test('Resolve with protocol grpc: a gRPC mock by /service/method, meta and message conditions, use limit exact', async () => {
  const gm = (id, extra) => ({ id, grpc: { service: 'shop.v1.Shop', method: 'Buy', methodType: 'unary', ...extra },
    response: { payload: { id } } });
  assert.equal((await s.api('POST', '/api/v1/mocks', { ...gm('g-buy-once', {}), useLimiter: 1 })).status, 200);
  assert.equal((await s.api('POST', '/api/v1/mocks', { ...gm('g-buy-vip', {
    meta: [{ path: 'x-tier', assertAction: 'equals', value: 'vip' }],
    conditions: [{ path: '$.req.sku', assertAction: 'equals', value: 'A-1' }] }), priority: 5 })).status, 200);
  const c = client(Coordinator);
  const req = { namespace: 'sandbox', method: 'UNARY', path: '/shop.v1.Shop/Buy', headers_json: '{}',
    body: Buffer.from('{"sku":"A-1"}'), protocol: 'grpc' };
  const vip = await unary(c, 'Resolve', { ...req, headers_json: '{"x-tier":"vip"}' }, resolverToken);
  assert.ifError(vip.err);
  assert.equal(JSON.parse(vip.res.response_json).mockId, 'g-buy-vip');
  const got = [];
  for (let i = 0; i < 2; i++) got.push(await unary(c, 'Resolve', req, resolverToken));
  assert.deepEqual(got.map((g) => g.res.found), [true, false]);
  assert.equal(JSON.parse(got[0].res.response_json).mockId, 'g-buy-once');
  // HTTP traffic on the same path never reaches a gRPC mock
  const http = await unary(c, 'Resolve', { ...req, method: 'POST', protocol: '' }, resolverToken);
  assert.equal(http.res.found, false);
  const bad = await unary(c, 'Resolve', { ...req, protocol: 'mqtt' }, resolverToken);
  assert.equal(bad.err.code, status.INVALID_ARGUMENT);
  assert.match(bad.err.details, /protocol/);
});

test('Report rows appear in the mock logs and the undefined list; nodes view lists the resolver', async () => {
  const c = client(Coordinator);
  const st = sync(c, { resolver_name: 'fake-nodes', namespace: 'sandbox', address: '10.0.0.7:5780' });
  await waitUntil(() => snapshotDone(st), 5000, 10, 'snapshot');
  const head = Number(st.snapshots[0].version);
  const r = await unary(c, 'Report', {
    resolver_name: 'fake-nodes', applied_version: String(head), dropped: '3',
    logs: [{ mock_id: 'pre-1', req_json: '{"method":"GET","path":"/pre-1","marker":"from-resolver"}',
      response_json: '{"statusCode":200}', called_at_ms: String(Date.now()) },
    { mock_id: 'no-such-mock', req_json: '{}', response_json: '{}', called_at_ms: '0' }],
    undefined: [{ namespace: 'sandbox', method: 'POST', path: '/reported-miss', headers_json: '{"a":"b"}', body_json: '{"x":1}', count: '4' }],
  }, resolverToken);
  assert.ifError(r.err);
  assert.equal(Number(r.res.accepted), 2, 'one known log + one undefined row');
  const logs = await s.api('GET', '/api/v1/mocks/pre-1/logs');
  assert.equal(logs.status, 200);
  assert.ok(JSON.stringify(logs.body).includes('from-resolver'));
  const und = await s.api('GET', '/api/v1/undefined-requests');
  const row = JSON.stringify(und.body).includes('/reported-miss');
  assert.ok(row, und.text);
  assert.equal(Number(await s.psql(`SELECT count FROM mockarty_private.undefined_requests WHERE path = '/reported-miss'`)), 4);

  await waitUntil(() => st.heartbeats.length > 0, 3000, 10, 'a heartbeat');
  for (const p of ['/ui/api/nodes', '/api/v1/nodes']) {
    const n = await s.api('GET', p);
    assert.equal(n.status, 200);
    const node = n.body.nodes.find((x) => x.name === 'fake-nodes');
    assert.ok(node, n.text);
    assert.equal(node.namespace, 'sandbox');
    assert.equal(node.integrationId, resolverId);
    assert.equal(node.integrationName, 'resolver-prod-1');
    assert.equal(node.address, '10.0.0.7:5780');
    assert.match(node.peer, /^127\.0\.0\.1:\d+$/);
    assert.equal(node.state, 'streaming');
    assert.equal(node.appliedVersion, head);
    assert.ok(node.version >= head);
    assert.match(node.lastHeartbeat, /^\d{4}-\d\d-\d\dT/);
    assert.equal(node.droppedLogs, 3);
  }
  st.call.cancel();
  await st.done;
  await waitUntil(async () => !(await s.api('GET', '/ui/api/nodes')).body.nodes.some((x) => x.name === 'fake-nodes'),
    2000, 20, 'node gone after disconnect');
});

test('disabling a token ends its streams within 1 s and a reconnect is refused; deleting too', async () => {
  for (const how of ['disable', 'delete']) {
    const t = await s.api('POST', '/ui/api/integrations', { name: `revoke-${how}`, type: 'mock_resolver' });
    const c = client(Coordinator);
    const st = sync(c, { resolver_name: `victim-${how}`, namespace: 'sandbox' }, t.body.token);
    await waitUntil(() => snapshotDone(st), 5000, 10, 'snapshot');
    // a second, unrelated resolver keeps its stream
    const other = sync(client(Coordinator), { resolver_name: `bystander-${how}`, namespace: 'sandbox' });
    await waitUntil(() => snapshotDone(other), 5000, 10, 'bystander snapshot');
    const r = how === 'disable'
      ? await s.api('PUT', `/ui/api/integrations/${t.body.integration.id}`, { enabled: false })
      : await s.api('DELETE', `/ui/api/integrations/${t.body.integration.id}`);
    const t0 = Date.now();
    assert.equal(r.status, 200);
    const end = await st.done;
    assert.equal(end.code, status.UNAUTHENTICATED);
    assert.ok(end.at - t0 <= 1000, `${how}: stream ended after ${end.at - t0} ms`);
    const again = sync(c, { resolver_name: `victim-${how}`, namespace: 'sandbox' }, t.body.token);
    assert.equal((await again.done).code, status.UNAUTHENTICATED);
    assert.equal(other.end, null, 'the other stream is untouched');
    other.call.cancel();
  }
});

test('a reader that stops reading gets a Resync instead of unbounded buffering', async () => {
  const small = await s.spawnAdmin({ GRPC_SEND_QUEUE_BYTES: '16384' });
  const c = client(Coordinator, small.grpcAddr);
  await waitUntil(async () => (await unary(client(Health, small.grpcAddr), 'Check', { service: 'mockarty.coordinator.v1.Coordinator' })).res?.status === 'SERVING',
    10000, 20, 'second coordinator');
  const st = sync(c, { resolver_name: 'paused', namespace: 'slow' });
  await waitUntil(() => snapshotDone(st), 5000, 10, 'snapshot');
  st.call.pause();
  // ~2 MiB of deltas for the stream's namespace: far beyond the HTTP/2 window plus 16 KiB
  await s.psql(`SELECT mockarty.mock_batch_save((SELECT jsonb_agg(jsonb_build_object('id', 'slow-' || g,
    'namespace', 'slow', 'http', jsonb_build_object('route', '/slow/' || g),
    'response', jsonb_build_object('statusCode', 200, 'payload', repeat('x', 2000)))) FROM generate_series(1, 1000) g))`);
  await new Promise((r) => setTimeout(r, 500));
  st.call.resume();
  const end = await st.done;
  assert.equal(end.code, 0, end.details);
  assert.equal(st.resyncs.length, 1);
  assert.match(st.resyncs[0].reason, /queue full/);
  const vs = st.deltas.map((d) => Number(d.version));
  for (let i = 1; i < vs.length; i++) assert.equal(vs[i], vs[i - 1] + 1);
  assert.ok(vs.length < 1000, 'the stream was cut before it got everything');
});

test('health Check and reflection list_services on the real coordinator', async () => {
  const h = client(Health);
  for (const service of ['', 'mockarty.coordinator.v1.Coordinator']) {
    const r = await unary(h, 'Check', { service });
    assert.ifError(r.err);
    assert.equal(r.res.status, 'SERVING');
  }
  assert.equal((await unary(h, 'Check', { service: 'no.such.Service' })).err?.code, status.NOT_FOUND);
  for (const Ctor of [ReflV1, ReflV1a]) {
    const call = client(Ctor).ServerReflectionInfo();
    const res = await new Promise((resolve, reject) => {
      call.on('data', (x) => { resolve(x); call.end(); });
      call.on('error', reject);
      call.write({ host: '', list_services: '*' });
    });
    const names = res.list_services_response.service.map((x) => x.name);
    for (const want of ['mockarty.coordinator.v1.Coordinator', 'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']) {
      assert.ok(names.includes(want), `${want} in ${names}`);
    }
  }
});

test('X-Mockarty-Version on every admin write: increases with each mock write, equals the head', async () => {
  const seen = [];
  for (let i = 0; i < 3; i++) {
    const r = await s.api('POST', '/api/v1/mocks', mock(`ver-${i}`));
    assert.equal(r.status, 200);
    seen.push(Number(r.headers.get('x-mockarty-version')));
  }
  assert.ok(seen[0] < seen[1] && seen[1] < seen[2], `${seen}`);
  assert.equal(seen[2], Number(await s.psql('SELECT mockarty.head_version()')));
  const d = await s.api('DELETE', '/api/v1/mocks/ver-0');
  assert.ok(Number(d.headers.get('x-mockarty-version')) > seen[2]);
  // a non-mock write still names the version it is consistent with; reads carry none
  const t = await s.api('POST', '/ui/api/integrations', { name: 'versioned', type: 'orchestrator' });
  assert.equal(Number(t.headers.get('x-mockarty-version')), seen[2] + 1);
  assert.equal((await s.api('GET', '/api/v1/mocks')).headers.get('x-mockarty-version'), null);
});
