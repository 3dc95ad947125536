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

const require = createRequire(path.join(repoRoot, 'regress/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const loadOpts = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  includeDirs: [path.join(repoRoot, 'proto')] };
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(['coordinator.proto'], loadOpts));
const Coordinator = pkg.mockarty.coordinator.v1.Coordinator;
const { status } = grpc;

let s;
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
    ['POST', '/api/v1/namespaces/sandbox/webhooks', { url: 'http://127.0.0.1:9/x', operation: 'mock.created' }]]) {
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
  const v0 = await metric('mockarty_auth_verifications_total');
  const calls0 = await s.psql("SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcname = 'integration_verify'");
  const r = await s.api('GET', '/api/v1/mocks', undefined, as('mki_0123456789ab_' + 'f'.repeat(48)));
  assert.equal(r.status, 403, r.text);
  assert.match(r.body.error, /integration tokens \(mki_\) cannot call the admin API/);
  assert.equal(await metric('mockarty_auth_verifications_total'), v0);
  assert.equal(await s.psql("SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcname = 'integration_verify'"), calls0);
});
