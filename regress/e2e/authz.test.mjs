// authz.test.mjs - the caller rule end to end (issue 9, section 1): a namespace-bound token
// never reaches outside its namespace over REST and gRPC (ids of other namespaces answer 404
// as unknown ones, writes into them 403, nothing moves, is copied or revealed), roles are
// enforced (viewer reads only, editor manages no tokens, integrations or webhooks), token
// management over /api/v1/auth/tokens follows the same rules, and authentication costs are
// bounded (failed mk_ checks cached, mki_ refused before the database). Every exploit is
// checked afterwards in SQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { startStack, waitUntil, repoRoot } from './lib/harness.mjs';
import { startReceiver } from './lib/webhook_receiver.mjs';

const require = createRequire(path.join(repoRoot, 'regress/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const loadOpts = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  includeDirs: [path.join(repoRoot, 'proto')] };
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(['coordinator.proto'], loadOpts));
const Coordinator = pkg.mockarty.coordinator.v1.Coordinator;
const Runners = pkg.mockarty.coordinator.v1.Runners;
const { status } = grpc;

let s;
let rx; // receiver of callbacks
let bound; // mk_ admin token bound to team-a
let viewer; // mk_ token of a viewer (unbound)
let editor; // mk_ token of an editor (unbound)
const clients = [];

const q = (v) => `'${String(v).replace(/'/g, "''")}'`;
const mock = (id, extra = {}) => ({ id, http: { route: `/${id}`, httpMethod: 'GET' }, response: { payload: { id } }, ...extra });
const victim = () => s.psqlJson("SELECT mockarty.mock_get('victim')");
const as = (token) => ({ token });
const metric = async (name) => {
  const r = await s.api('GET', '/metrics', undefined, { token: null });
  const m = r.text.match(new RegExp(`^${name} (\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
};

before(async () => {
  s = await startStack();
  rx = await startReceiver();
  await s.psql("SELECT mockarty.namespace_create('team-a'), mockarty.namespace_create('prod')");
  const v = await s.api('POST', '/api/v1/mocks', mock('victim', { namespace: 'prod', chainId: 'c1',
    response: { payload: 'prod-secret' } }));
  assert.equal(v.status, 200, v.text);
  assert.equal((await s.api('POST', '/api/v1/mocks', mock('mine', { namespace: 'team-a', chainId: 'c1' }))).status, 200);
  await s.psql("SELECT mockarty.store_global_set('prod', 'k', '\"prod-value\"')");
  bound = await s.psql("SELECT mockarty.token_create('team-a-admin', 'admin', 'team-a')->>'token'");
  await s.psql("SELECT mockarty.user_create('vera', NULL, 'viewer'), mockarty.user_create('ed', NULL, 'editor')");
  viewer = await s.psql("SELECT mockarty.token_create('viewer', 'vera')->>'token'");
  editor = await s.psql("SELECT mockarty.token_create('editor', 'ed')->>'token'");
});

after(async () => {
  for (const c of clients) c.close();
  await rx?.close();
  await s?.stop();
});

// The victim mock exactly as before any exploit: namespace, content, versions.
async function assertVictimIntact() {
  const m = await victim();
  assert.equal(m.namespace, 'prod');
  assert.equal(m.response.payload, 'prod-secret');
  assert.equal(m.closedAt, undefined);
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.mock_versions WHERE mock_id = 'victim'"), '1');
  assert.equal(await s.psql("SELECT string_agg(name, ',' ORDER BY name) FROM mockarty_private.namespaces"), 'prod,sandbox,team-a');
}

test('REST: saving with the id of a mock of another namespace answers 404 and moves nothing', async () => {
  for (const [p, body] of [['/api/v1/mocks', mock('victim', { response: { payload: 'pwned' } })],
    ['/mock/create', mock('victim', { namespace: 'team-a' })],
    ['/api/v1/mocks/batch', [mock('victim')]]]) {
    const r = await s.api('POST', p, body, as(bound));
    assert.equal(r.status, 404, `${p}: ${r.text}`);
    assert.equal(r.body.code, 'not_found');
  }
  await assertVictimIntact();
});

test('REST: PATCH cannot reach or move mocks out of the namespace, nor create namespaces', async () => {
  const other = await s.api('PATCH', '/api/v1/mocks/victim', { response: { payload: 'pwned' } }, as(bound));
  assert.equal(other.status, 404, other.text);
  for (const target of ['prod', 'brand-new']) {
    const r = await s.api('PATCH', '/api/v1/mocks/mine', { namespace: target }, as(bound));
    assert.equal(r.status, 403, r.text);
    assert.match(r.body.error, /outside the caller's namespace/);
  }
  assert.equal((await s.psqlJson("SELECT mockarty.mock_get('mine')")).namespace, 'team-a');
  assert.equal((await s.api('POST', '/api/v1/namespaces', { name: 'brand-new' }, as(bound))).status, 403);
  await assertVictimIntact();
});

test('REST: versions, restore, logs, copy, delete and stores of another namespace answer 404/403', async () => {
  const calls = [
    ['GET', '/api/v1/mocks/victim', undefined, 404],
    ['GET', '/api/v1/mocks/victim/versions', undefined, 404],
    ['GET', '/api/v1/mocks/victim/versions/1', undefined, 404],
    ['POST', '/api/v1/mocks/victim/versions/1/restore', undefined, 404],
    ['GET', '/api/v1/mocks/victim/logs', undefined, 404],
    ['DELETE', '/api/v1/mocks/victim', undefined, 404],
    ['POST', '/api/v1/mocks/copy-to-namespace', { ids: ['mine'], targetNamespace: 'prod' }, 403],
  ];
  for (const [m, p, body, want] of calls) {
    const r = await s.api(m, p, body, as(bound));
    assert.equal(r.status, want, `${m} ${p}: ${r.text}`);
  }
  const copy = await s.api('POST', '/api/v1/mocks/copy-to-namespace', { ids: ['victim'], targetNamespace: 'team-a' }, as(bound));
  assert.ok(copy.status === 200 || copy.status === 201, copy.text);
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.mocks WHERE id LIKE 'victim-%'"), '0');
  const list = await s.api('GET', '/api/v1/mocks?namespace=prod', undefined, as(bound));
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.items.map((m) => m.id), ['mine']);
  const chain = await s.api('GET', '/api/v1/mocks/chains/c1', undefined, as(bound));
  assert.deepEqual(chain.body.map((m) => m.id), ['mine']);
  await s.api('POST', '/api/v1/stores/global', { key: 'k', value: 'pwned', namespace: 'prod' }, as(bound));
  assert.deepEqual(await s.psqlJson("SELECT mockarty.store_global_get('prod')"), { k: 'prod-value' });
  await assertVictimIntact();
});

test('REST: restoring an old version never moves a mock back into the namespace it had then', async () => {
  assert.equal((await s.api('POST', '/api/v1/mocks', mock('wander', { namespace: 'prod' }))).status, 200);
  const moved = await s.api('PATCH', '/api/v1/mocks/wander', { namespace: 'team-a' });
  assert.equal(moved.status, 200, moved.text);
  const r = await s.api('POST', '/api/v1/mocks/wander/versions/1/restore', undefined, as(bound));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.namespace, 'team-a');
  assert.equal((await s.psqlJson("SELECT mockarty.mock_get('wander')")).namespace, 'team-a');
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.mocks WHERE namespace = 'prod'"), '1', 'only the victim in prod');
});

test('REST: integrations honour the caller namespace (both paths)', async () => {
  const unbound = await s.api('POST', '/api/v1/integrations', { name: 'any', type: 'mock_resolver' });
  assert.equal(unbound.status, 201, unbound.text);
  assert.equal(unbound.body.integration.namespace, null);
  const prodInt = await s.api('POST', '/ui/api/integrations', { name: 'prod-r', type: 'mock_resolver', namespace: 'prod' });
  assert.equal(prodInt.status, 201, prodInt.text);
  assert.equal(prodInt.body.integration.namespace, 'prod');
  const before = await s.psql("SELECT string_agg(name || ':' || coalesce(namespace, '-') || ':' || enabled, ',' ORDER BY name) FROM mockarty_private.integrations");

  for (const base of ['/api/v1/integrations', '/ui/api/integrations']) {
    const mine = await s.api('POST', base, { name: `a${base.length}`, type: 'mock_resolver' }, as(bound));
    assert.equal(mine.status, 201, mine.text);
    assert.equal(mine.body.integration.namespace, 'team-a');
    const foreign = await s.api('POST', base, { name: 'x', type: 'mock_resolver', namespace: 'prod' }, as(bound));
    assert.equal(foreign.status, 403, foreign.text);
    const list = await s.api('GET', base, undefined, as(bound));
    assert.equal(list.status, 200, list.text);
    assert.ok(list.body.integrations.every((i) => i.namespace === 'team-a'), list.text);
    for (const id of [unbound.body.integration.id, prodInt.body.integration.id]) {
      assert.equal((await s.api('PUT', `${base}/${id}`, { enabled: false }, as(bound))).status, 404);
      assert.equal((await s.api('DELETE', `${base}/${id}`, undefined, as(bound))).status, 404);
    }
  }
  const after = await s.psql("SELECT string_agg(name || ':' || coalesce(namespace, '-') || ':' || enabled, ',' ORDER BY name) FROM mockarty_private.integrations WHERE namespace IS DISTINCT FROM 'team-a'");
  assert.equal(after, before);
});

test('REST: /api/v1/auth/tokens create, list, disable, delete with the same rules', async () => {
  const made = await s.api('POST', '/api/v1/auth/tokens', { name: 'sdk', namespace: 'prod' });
  assert.equal(made.status, 201, made.text);
  assert.match(made.body.token, /^mk_[0-9a-f]{12}_[0-9a-f]+$/);
  assert.equal(made.body.token_info.namespace, 'prod');
  assert.equal(made.body.token_info.user_login, 'admin');
  assert.equal((await s.api('GET', '/api/v1/mocks', undefined, as(made.body.token))).status, 200);
  const id = made.body.token_info.id;
  const tokensBefore = await s.psql("SELECT string_agg(id || ':' || coalesce(namespace, '-') || ':' || enabled, ',' ORDER BY id) FROM mockarty_private.api_tokens");

  // a bound token sees and manages only tokens of its namespace, and mints only such tokens
  const list = await s.api('GET', '/api/v1/auth/tokens', undefined, as(bound));
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.tokens.map((t) => t.name), ['team-a-admin']);
  assert.ok(!list.text.includes(bound.slice(17)), 'no secret listed');
  assert.equal((await s.api('POST', '/api/v1/auth/tokens', { name: 'up', namespace: 'prod' }, as(bound))).status, 403);
  assert.equal((await s.api('PATCH', `/api/v1/auth/tokens/${id}`, { enabled: false }, as(bound))).status, 404);
  assert.equal((await s.api('POST', `/api/v1/auth/tokens/${id}/disable`, undefined, as(bound))).status, 404);
  assert.equal((await s.api('DELETE', `/api/v1/auth/tokens/${id}`, undefined, as(bound))).status, 404);
  assert.equal(await s.psql("SELECT string_agg(id || ':' || coalesce(namespace, '-') || ':' || enabled, ',' ORDER BY id) FROM mockarty_private.api_tokens"), tokensBefore);
  const own = await s.api('POST', '/api/v1/auth/tokens', { name: 'a-ci' }, as(bound));
  assert.equal(own.status, 201, own.text);
  assert.equal(own.body.token_info.namespace, 'team-a', 'no unbound token from a bound one');

  // the unbound admin disables and deletes; a disabled token is refused within a second
  const dis = await s.api('POST', `/api/v1/auth/tokens/${id}/disable`);
  assert.equal(dis.status, 200, dis.text);
  assert.equal(dis.body.enabled, false);
  await waitUntil(async () => (await s.api('GET', '/api/v1/mocks', undefined, as(made.body.token))).status === 401, 2000, 20, 'disabled token refused');
  assert.equal((await s.api('DELETE', `/api/v1/auth/tokens/${id}`)).status, 200);
  assert.equal((await s.api('DELETE', `/api/v1/auth/tokens/${id}`)).status, 404);
  assert.equal(await s.psql(`SELECT count(*) FROM mockarty_private.api_tokens WHERE id = ${q(id)}`), '0');
});

test('REST: a viewer token reads only; every write category answers 403 and changes nothing', async () => {
  const countsBefore = await s.psql(`SELECT (SELECT count(*) FROM mockarty_private.mocks) || '/' || (SELECT count(*) FROM mockarty_private.global_store)
    || '/' || (SELECT count(*) FROM mockarty_private.folders) || '/' || (SELECT count(*) FROM mockarty_private.tags)
    || '/' || (SELECT count(*) FROM mockarty_private.api_tokens) || '/' || (SELECT count(*) FROM mockarty_private.integrations)
    || '/' || (SELECT count(*) FROM mockarty_private.namespaces)`);
  assert.equal((await s.api('GET', '/api/v1/mocks', undefined, as(viewer))).status, 200);
  assert.equal((await s.api('GET', '/api/v1/mocks/victim', undefined, as(viewer))).status, 200);
  const writes = [
    ['POST', '/api/v1/mocks', mock('v1')], ['POST', '/mock/create', mock('v2')],
    ['POST', '/api/v1/mocks/batch', [mock('v3')]], ['PATCH', '/api/v1/mocks/victim', { priority: 9 }],
    ['DELETE', '/api/v1/mocks/victim'], ['POST', '/api/v1/mocks/victim/versions/1/restore'],
    ['POST', '/api/v1/stores/global', { key: 'a', value: 1 }], ['POST', '/api/v1/tags', { name: 't' }],
    ['POST', '/api/v1/mock-folders', { name: 'f' }], ['DELETE', '/api/v1/undefined-requests/all'],
    ['POST', '/api/v1/namespaces', { name: 'vns' }],
    ['POST', '/api/v1/api-tester/collections', { info: { name: 'c' }, item: [] }],
    ['POST', '/api/v1/perf/run', { script: {}, options: {} }],
    ['POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/x', events: ['mock.created'] }],
    ['POST', '/api/v1/integrations', { name: 'i', type: 'mock_resolver' }],
    ['POST', '/api/v1/auth/tokens', { name: 't' }],
  ];
  for (const [m, p, body] of writes) {
    const r = await s.api(m, p, body, as(viewer));
    assert.equal(r.status, 403, `${m} ${p}: ${r.text}`);
    assert.equal(r.body.code, 'forbidden');
  }
  const countsAfter = await s.psql(`SELECT (SELECT count(*) FROM mockarty_private.mocks) || '/' || (SELECT count(*) FROM mockarty_private.global_store)
    || '/' || (SELECT count(*) FROM mockarty_private.folders) || '/' || (SELECT count(*) FROM mockarty_private.tags)
    || '/' || (SELECT count(*) FROM mockarty_private.api_tokens) || '/' || (SELECT count(*) FROM mockarty_private.integrations)
    || '/' || (SELECT count(*) FROM mockarty_private.namespaces)`);
  assert.equal(countsAfter, countsBefore);
  await assertVictimIntact();
});

test('REST: an editor writes mocks but cannot manage tokens, integrations or webhooks', async () => {
  const r = await s.api('POST', '/api/v1/mocks', mock('by-editor'), as(editor));
  assert.equal(r.status, 200, r.text);
  for (const [m, p, body] of [['GET', '/api/v1/auth/tokens'], ['POST', '/api/v1/auth/tokens', { name: 'e' }],
    ['GET', '/api/v1/integrations'], ['POST', '/ui/api/integrations', { name: 'e', type: 'mock_resolver' }],
    ['GET', '/api/v1/webhooks'], ['POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/x', events: ['mock.created'] }],
    ['POST', '/api/v1/namespaces/sandbox/webhooks', { url: 'http://127.0.0.1:9/x', operation: 'mock.created' }],
    ['PUT', '/api/v1/settings/webhook_timeout_ms', { value: 1000 }]]) {
    const x = await s.api(m, p, body, as(editor));
    assert.equal(x.status, 403, `${m} ${p}: ${x.text}`);
  }
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.webhooks"), '0');
});

test('auth cost: a wrong mk_ secret is verified in the database once, then answered from memory', async () => {
  const lookup = bound.slice(3, 15);
  const wrong = `mk_${lookup}_${'0'.repeat(48)}`;
  const v0 = await metric('mockarty_auth_verifications_total');
  assert.ok(Number.isFinite(v0), 'mockarty_auth_verifications_total exported');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 50; i++) {
    const r = await s.api('GET', '/api/v1/mocks', undefined, as(wrong));
    assert.equal(r.status, 401, r.text);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // other guesses at the same lookup id do not buy a bcrypt either
  for (let i = 0; i < 20; i++) {
    const r = await s.api('GET', '/api/v1/mocks', undefined, as(`mk_${lookup}_${String(i).padStart(48, '1')}`));
    assert.equal(r.status, 401);
  }
  const v1 = await metric('mockarty_auth_verifications_total');
  const all = Number(process.hrtime.bigint() - t0) / 1e6;
  // at most one bcrypt per lookup id per 2 s gate: exactly one when the 70 requests fit in it
  if (all < 1900) assert.equal(v1 - v0, 1, 'one database verification for 70 failed requests');
  else assert.ok(v1 - v0 <= 1 + Math.ceil(all / 2000), `${v1 - v0} verifications in ${all} ms`);
  // one bcrypt (cost 10) is ~50 ms here: 50 of them would take seconds
  assert.ok(ms < 1500, `50 failed requests took ${ms.toFixed(0)} ms`);
  console.log(`# 50 wrong-secret requests: ${ms.toFixed(0)} ms, database verifications: ${v1 - v0}`);
  // the real token works again once the gate of its lookup id is over (at once when cached)
  await waitUntil(async () => (await s.api('GET', '/api/v1/mocks', undefined, as(bound))).status === 200, 4000, 100, 'owner token accepted');
});

test('auth cost: an mki_ token on REST is refused with 403 before touching the database', async () => {
  // a valid integration token: verifying it would stamp last_used_at, so an unchanged NULL proves
  // the database was never asked
  const made = await s.api('POST', '/api/v1/integrations', { name: 'never-rest', type: 'mock_resolver' });
  assert.equal(made.status, 201, made.text);
  const v0 = await metric('mockarty_auth_verifications_total');
  for (const tok of [made.body.token, 'mki_0123456789ab_' + 'f'.repeat(48)]) {
    const r = await s.api('GET', '/api/v1/mocks', undefined, as(tok));
    assert.equal(r.status, 403, r.text);
    assert.match(r.body.error, /integration tokens \(mki_\) cannot call the admin API/);
  }
  assert.equal(await metric('mockarty_auth_verifications_total'), v0);
  assert.equal(await s.psql(`SELECT last_used_at IS NULL FROM mockarty_private.integrations WHERE id = ${q(made.body.integration.id)}`), 't');
  // malformed mk_ tokens are refused without a query too
  const bad = await s.api('GET', '/api/v1/mocks', undefined, as('mk_not-a-token'));
  assert.equal(bad.status, 401);
  assert.equal(await metric('mockarty_auth_verifications_total'), v0);
});

// ------------------------------------------------------------------ gRPC

function client(Ctor = Coordinator) {
  const c = new Ctor(s.grpcAddr, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  clients.push(c);
  return c;
}
function md(token) {
  const m = new grpc.Metadata();
  m.set('authorization', `Bearer ${token}`);
  return m;
}
const unary = (c, method, req, token) => new Promise((resolve) => {
  c[method](req, md(token), { deadline: Date.now() + 10000 }, (err, res) => resolve({ err, res }));
});
// Opens a server stream (Sync or Connect) and records its events and final status.
function open(c, method, req, token) {
  const call = c[method](req, md(token));
  const st = { call, events: [], end: null };
  st.done = new Promise((resolve) => {
    call.on('data', (ev) => st.events.push(ev));
    call.on('error', (err) => { st.end = { code: err.code, details: err.details }; resolve(st.end); });
    call.on('status', (x) => { if (x.code === status.OK && !st.end) { st.end = { code: 0 }; resolve(st.end); } });
  });
  return st;
}
const snapshotIds = (st) => st.events.filter((e) => e.event === 'snapshot').flatMap((e) => e.snapshot.mocks.map((m) => m.id));
const snapshotDone = (st) => st.events.some((e) => e.event === 'snapshot' && e.snapshot.last_chunk);

let boundResolver; // mki_ mock_resolver bound to team-a
let unboundResolver; // mki_ mock_resolver, unbound
let boundRunner; // mki_ test_runner bound to team-a

test('gRPC: integration tokens carry a namespace binding (REST create, list)', async () => {
  const r = await s.api('POST', '/api/v1/integrations', { name: 'team-a-resolver', type: 'mock_resolver', namespace: 'team-a' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.integration.namespace, 'team-a');
  boundResolver = r.body.token;
  unboundResolver = (await s.api('POST', '/api/v1/integrations', { name: 'free-resolver', type: 'mock_resolver' })).body.token;
  boundRunner = (await s.api('POST', '/api/v1/integrations', { name: 'team-a-runner', type: 'test_runner', namespace: 'team-a' })).body.token;
  const bad = await s.api('POST', '/api/v1/integrations', { name: 'x', type: 'mock_resolver', namespace: 'no-such-ns' });
  assert.equal(bad.status, 400, bad.text);
  const list = await s.api('GET', '/api/v1/integrations');
  assert.equal(list.body.integrations.find((i) => i.name === 'team-a-resolver').namespace, 'team-a');
  assert.equal(list.body.integrations.find((i) => i.name === 'free-resolver').namespace, null);
});

test('gRPC: a bound resolver token syncs and resolves only its namespace (PERMISSION_DENIED otherwise)', async () => {
  const c = client();
  const denied = open(c, 'Sync', { resolver_name: 'spy', namespace: 'prod' }, boundResolver);
  assert.equal((await denied.done).code, status.PERMISSION_DENIED);
  assert.match(denied.end.details, /bound to namespace team-a/);
  assert.equal(denied.events.length, 0, 'nothing of prod was sent');
  const own = open(c, 'Sync', { resolver_name: 'team-a-node', namespace: '' }, boundResolver);
  await waitUntil(() => snapshotDone(own), 5000, 10, 'snapshot of team-a');
  assert.ok(snapshotIds(own).includes('mine'));
  assert.ok(!snapshotIds(own).includes('victim'));
  own.call.cancel();

  const uses = await s.psql("SELECT use_counter FROM mockarty_private.mocks WHERE id = 'victim'");
  const r = await unary(c, 'Resolve', { namespace: 'prod', method: 'GET', path: '/victim' }, boundResolver);
  assert.equal(r.err?.code, status.PERMISSION_DENIED, r.err?.details);
  assert.equal(await s.psql("SELECT use_counter FROM mockarty_private.mocks WHERE id = 'victim'"), uses);
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.undefined_requests WHERE namespace = 'prod'"), '0');
  const mine = await unary(c, 'Resolve', { namespace: '', method: 'GET', path: '/mine' }, boundResolver);
  assert.ifError(mine.err);
  assert.equal(mine.res.found, true);
  const notThere = await unary(c, 'Resolve', { namespace: '', method: 'GET', path: '/victim' }, boundResolver);
  assert.equal(notThere.res.found, false);
});

test('gRPC: Report carries only logs and events of mocks the node was sent; callbacks come from the stored mock', async () => {
  // a subscriber of mock.resolved so events become deliveries, and mocks with stored callbacks
  const wh = await s.api('POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/ev', events: ['mock.resolved'] });
  assert.equal(wh.status, 201, wh.text);
  assert.equal((await s.api('POST', '/api/v1/mocks', mock('cb', { namespace: 'team-a',
    webhooks: [{ url: 'http://127.0.0.1:9/hook', method: 'PUT', retryCount: 0, timeout: 1000 }] }))).status, 200);
  assert.equal((await s.api('POST', '/api/v1/mocks', { id: 'cbr', namespace: 'team-a',
    http: { route: '/cbr/:id', httpMethod: 'POST' }, response: { payload: { ok: true } },
    webhooks: [{ url: `${rx.url}/cbr/$.pathParam.id`, method: 'PUT', headers: { 'X-Seen': 'tag-$.reqHeader.X-Tag' },
      body: { got: '$.req.x', order: '$.pathParam.id' }, retryCount: 0, timeout: 1000 }] })).status, 200);
  const c = client();
  const st = open(c, 'Sync', { resolver_name: 'team-a-node', namespace: 'team-a' }, boundResolver);
  await waitUntil(() => snapshotDone(st), 5000, 10, 'snapshot');
  const ev = (id, ns) => JSON.stringify({ mockId: id, namespace: ns, method: 'GET', path: `/${id}`, status: 200, at: new Date().toISOString() });
  const cbk = (id, url, extra = {}) => JSON.stringify({ mockId: id, namespace: 'team-a', url, method: 'DELETE', body: 'x', retryCount: 20, timeoutMs: 9999999, ...extra });
  const r = await unary(c, 'Report', {
    resolver_name: 'team-a-node',
    logs: [{ mock_id: 'victim', req_json: '{"marker":"forged"}', response_json: '{}', called_at_ms: '0' },
      { mock_id: 'mine', req_json: '{"marker":"real"}', response_json: '{}', called_at_ms: '0' }],
    undefined: [{ namespace: 'prod', method: 'GET', path: '/forged-miss', headers_json: '{}', body_json: '', count: '1' }],
    events_json: [ev('victim', 'prod'), ev('mine', 'team-a'), ev('victim', 'team-a')],
    callbacks_json: [cbk('victim', 'http://127.0.0.1:9/hook'), cbk('mine', 'http://evil.example/steal'),
      cbk('cb', 'http://evil.example/steal'), cbk('cb', 'http://127.0.0.1:9/hook?rendered=1'),
      // a forwarded hit with forged rendered fields: the admin renders the stored callback instead
      cbk('cbr', `${rx.url}/forged-path`, { status: 200, headers: { 'X-Seen': 'forged' }, body: '{"got":"forged"}',
        request: { method: 'POST', path: '/cbr/7', headers: { 'x-tag': ['t1'] }, body: '{"x":"real"}' } }),
      // a request the stored mock would not answer (wrong method, wrong route) renders nothing
      cbk('cbr', `${rx.url}/cbr/8`, { status: 200, request: { method: 'GET', path: '/cbr/8' } }),
      cbk('cbr', `${rx.url}/cbr/9`, { status: 200, request: { method: 'POST', path: '/elsewhere/9' } }),
      // a hit of a mock of another namespace renders nothing either
      cbk('victim', `${rx.url}/cbr/10`, { status: 200, request: { method: 'GET', path: '/victim' } })],
  }, boundResolver);
  assert.ifError(r.err);
  assert.equal(Number(r.res.accepted), 1, 'only the log of mine');
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.request_logs WHERE mock_id = 'victim'"), '0');
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.undefined_requests WHERE path = '/forged-miss'"), '0');
  assert.equal(await s.psql(`SELECT string_agg(namespace || ':' || (body::jsonb #>> '{data,mockId}'), ',' ORDER BY id)
    FROM mockarty_private.webhook_deliveries WHERE event = 'mock.resolved'`), 'team-a:mine');
  await waitUntil(() => rx.requests('/cbr/7').length === 1, 10000, 20, 'the admin-rendered callback at the receiver')
    .catch((e) => { e.message += '\n--- admin log ---\n' + s.admin.logs(); throw e; });
  const got = rx.requests('/cbr/7')[0];
  assert.equal(got.method, 'PUT');
  assert.equal(got.headers['x-seen'], 'tag-t1');
  assert.deepEqual(JSON.parse(got.body), { got: 'real', order: '7' });
  const cbs = await s.psqlJson(`SELECT jsonb_agg(jsonb_build_object('mock', mock_id, 'ns', namespace, 'url', url, 'method', method,
    'max', max_attempts, 'timeout', timeout_ms)) FROM mockarty_private.webhook_deliveries WHERE event = 'mock.callback'`);
  assert.deepEqual(cbs, [{ mock: 'cbr', ns: 'team-a', url: `${rx.url}/cbr/7`, method: 'PUT', max: 1, timeout: 1000 }]);
  assert.deepEqual(rx.requests().map((x) => x.path), ['/cbr/7'], 'nothing forged, nothing unmatched reached the receiver');

  // an unbound token syncing sandbox was not sent prod's mocks either
  const c2 = client();
  const st2 = open(c2, 'Sync', { resolver_name: 'sb-node', namespace: 'sandbox' }, unboundResolver);
  await waitUntil(() => snapshotDone(st2), 5000, 10, 'snapshot');
  const r2 = await unary(c2, 'Report', { resolver_name: 'sb-node', events_json: [ev('victim', 'prod')],
    logs: [{ mock_id: 'victim', req_json: '{}', response_json: '{}', called_at_ms: '0' }] }, unboundResolver);
  assert.ifError(r2.err);
  assert.equal(Number(r2.res.accepted), 0);
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.webhook_deliveries WHERE namespace = 'prod'"), '0');
  st.call.cancel();
  st2.call.cancel();
  await assertVictimIntact();
});

test('gRPC: a runner with a bound token is offered only its namespace\'s tasks', async () => {
  await s.psql("SELECT mockarty.task_enqueue('api_test', 'prod', '{}'), mockarty.task_enqueue('api_test', 'team-a', '{}')");
  const c = client(Runners);
  for (const hello of [{ runner_name: 'r-prod', namespace: 'prod', capabilities: ['api_test'] },
    { runner_name: 'r-shared', shared: true, capabilities: ['api_test'] }]) {
    const st = open(c, 'Connect', hello, boundRunner);
    assert.equal((await st.done).code, status.PERMISSION_DENIED, JSON.stringify(hello));
    assert.equal(st.events.length, 0);
  }
  const st = open(c, 'Connect', { runner_name: 'r-own', capabilities: ['api_test'] }, boundRunner);
  await waitUntil(() => st.events.some((e) => e.event === 'offer'), 5000, 10, 'an offer');
  const offers = st.events.filter((e) => e.event === 'offer').map((e) => e.offer.namespace);
  assert.ok(offers.length > 0 && offers.every((ns) => ns === 'team-a'), JSON.stringify(offers));
  // asking for prod's task by id: answered as for an unknown task, and it stays queued
  const prodTask = await s.psql("SELECT id FROM mockarty_private.tasks WHERE namespace = 'prod' AND status = 'queued' LIMIT 1");
  const welcome = st.events.find((e) => e.event === 'welcome').welcome;
  const acc = await unary(c, 'AcceptTask', { runner_id: welcome.runner_id, task_id: prodTask }, boundRunner);
  assert.ifError(acc.err);
  assert.equal(acc.res.accepted, false);
  assert.equal(acc.res.reason, 'not_found');
  assert.equal(await s.psql(`SELECT status FROM mockarty_private.tasks WHERE id = ${q(prodTask)}`), 'queued');
  const nodes = await s.api('GET', '/api/v1/nodes');
  assert.equal(nodes.body.nodes.find((n) => n.name === 'r-own')?.namespace, 'team-a', nodes.text);
  // a bound API token sees only its namespace's nodes
  const seen = await s.api('GET', '/api/v1/nodes', undefined, as(bound));
  assert.equal(seen.status, 200, seen.text);
  assert.ok(seen.body.nodes.length > 0 && seen.body.nodes.every((n) => n.namespace === 'team-a'), seen.text);
  st.call.cancel();
});

test('gRPC: an uncached token (unary call, Sync, Connect) is verified off the event loop', async () => {
  const fresh = (await s.api('POST', '/api/v1/integrations', { name: 'fresh', type: 'mock_resolver', namespace: 'team-a' })).body.token;
  const c = client();
  const d0 = await metric('mockarty_coordinator_deferred_auth_total');
  assert.ok(Number.isFinite(d0), 'mockarty_coordinator_deferred_auth_total exported');
  const r = await unary(c, 'Resolve', { method: 'GET', path: '/mine' }, fresh);
  assert.ifError(r.err);
  assert.equal(await metric('mockarty_coordinator_deferred_auth_total'), d0 + 1, 'verified off the loop');
  assert.ifError((await unary(c, 'Resolve', { method: 'GET', path: '/mine' }, fresh)).err);
  assert.equal(await metric('mockarty_coordinator_deferred_auth_total'), d0 + 1, 'then cached');
  // a wrong secret is refused by the worker, and the bound namespace holds for deferred calls too
  const wrong = await unary(c, 'Resolve', { method: 'GET', path: '/mine' }, fresh.slice(0, -1) + (fresh.endsWith('0') ? '1' : '0'));
  assert.equal(wrong.err?.code, status.UNAUTHENTICATED);
  const other = (await s.api('POST', '/api/v1/integrations', { name: 'fresh2', type: 'mock_resolver', namespace: 'team-a' })).body.token;
  const denied = await unary(c, 'Resolve', { namespace: 'prod', method: 'GET', path: '/victim' }, other);
  assert.equal(denied.err?.code, status.PERMISSION_DENIED);
  // a Sync stream with an uncached token is verified by its setup thread, with the same rules
  const fresh3 = (await s.api('POST', '/api/v1/integrations', { name: 'fresh3', type: 'mock_resolver', namespace: 'team-a' })).body.token;
  const d1 = await metric('mockarty_coordinator_deferred_auth_total');
  const spy = open(c, 'Sync', { resolver_name: 'spy2', namespace: 'prod' }, fresh3);
  assert.equal((await spy.done).code, status.PERMISSION_DENIED);
  assert.equal(spy.events.length, 0);
  assert.equal(await metric('mockarty_coordinator_deferred_auth_total'), d1 + 1);
  const fresh4 = (await s.api('POST', '/api/v1/integrations', { name: 'fresh4', type: 'mock_resolver', namespace: 'team-a' })).body.token;
  const st = open(c, 'Sync', { resolver_name: 'after', namespace: '' }, fresh4);
  await waitUntil(() => snapshotDone(st), 5000, 10, 'snapshot');
  assert.ok(snapshotIds(st).includes('mine') && !snapshotIds(st).includes('victim'));
  assert.equal(await metric('mockarty_coordinator_deferred_auth_total'), d1 + 2);
  const node = (await s.api('GET', '/api/v1/nodes')).body.nodes.find((n) => n.name === 'after');
  assert.equal(node?.namespace, 'team-a');
  assert.equal(node?.integrationName, 'fresh4');
  const bad = open(c, 'Sync', { resolver_name: 'bad' }, fresh4.slice(0, -1) + (fresh4.endsWith('0') ? '1' : '0'));
  assert.equal((await bad.done).code, status.UNAUTHENTICATED);
  st.call.cancel();
  // and a runner's Connect by a runners worker
  const rc = client(Runners);
  const rtok = (await s.api('POST', '/api/v1/integrations', { name: 'fresh-runner', type: 'test_runner', namespace: 'team-a' })).body.token;
  const d2 = await metric('mockarty_coordinator_deferred_auth_total');
  const conn = open(rc, 'Connect', { runner_name: 'r-fresh', capabilities: ['api_test'] }, rtok);
  await waitUntil(() => conn.events.some((e) => e.event === 'welcome') || conn.end, 5000, 10, 'Welcome');
  assert.ok(conn.events.some((e) => e.event === 'welcome'), JSON.stringify(conn.end));
  assert.equal(await metric('mockarty_coordinator_deferred_auth_total'), d2 + 1);
  conn.call.cancel();
  const rtok2 = (await s.api('POST', '/api/v1/integrations', { name: 'fresh-runner2', type: 'test_runner', namespace: 'team-a' })).body.token;
  const conn2 = open(rc, 'Connect', { runner_name: 'r-prod2', namespace: 'prod', capabilities: ['api_test'] }, rtok2);
  assert.equal((await conn2.done).code, status.PERMISSION_DENIED);
  const conn3 = open(rc, 'Connect', { runner_name: 'r-res', capabilities: ['api_test'] }, fresh4);
  assert.equal((await conn3.done).code, status.PERMISSION_DENIED, 'a resolver token on Runners');
});
