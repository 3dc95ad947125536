// rest.test.mjs - the admin node's REST endpoints beyond health and single-mock CRUD
// (batch calls, copies, logs, versions, chains, namespaces, stores, undefined requests,
// tags, folders, status objects), called the way each SDK calls them (api-compat §8):
// Bearer and X-API-Key, namespace in X-Namespace / ?namespace= / the body, batch bodies
// as a bare array and as {"mocks":[...]}, tag filters comma-joined and repeated.
// Each test checks what a user would notice: the reply, the state read back over SQL,
// and the mock traffic served at /stubs/{ns}/...
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

const q = (v) => (v === null || v === undefined ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`);
const mockGet = (id) => s.psqlJson(`SELECT mockarty.mock_get(${q(id)})`);
const mock = (id, route, extra = {}) => ({
  id,
  http: { route, httpMethod: 'GET' },
  response: { statusCode: 200, payload: { who: id } },
  ...extra,
});
/** GET a mock route in a namespace without a token, as a client of the mock would. */
const hit = (ns, route, init = {}) => s.api('GET', `/stubs/${ns}${route}`, undefined, { token: null, ...init });
/** Waits until the route in ns answers with the expected status (the snapshot follows SQL). */
const served = (ns, route, status, what) =>
  waitUntil(async () => (await hit(ns, route)).status === status, 5000, 20, what || `${ns}${route} -> ${status}`);
/** Waits until PostgreSQL accepts connections and the admin node reports ready. */
async function dbAndNodeReady() {
  await waitUntil(async () => (await s.psql('SELECT 1')) === '1', 60000, 100, 'database accepting connections');
  await waitUntil(async () => (await s.api('GET', '/health/ready', undefined, { token: null })).status === 200, 30000, 100, 'admin node ready');
  // pooled connections that died with the backend fail once each: drain them
  await waitUntil(async () => {
    for (let i = 0; i < 12; i++) if ((await s.api('GET', '/api/v1/namespaces')).status !== 200) return false;
    return true;
  }, 30000, 50, 'admin node answering API calls');
}
/** Asserts a 400 validation envelope that names the field. */
function assertValidation(r, field) {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body?.code, 'validation', r.text);
  assert.match(r.body.error, new RegExp(field), `error names ${field}: ${r.text}`);
  assert.ok(r.body.request_id !== undefined, 'envelope has request_id');
}

test('auth: Bearer and X-API-Key both work, no token is 401', async () => {
  const bearer = await s.api('GET', '/api/v1/namespaces');
  assert.equal(bearer.status, 200, bearer.text);
  const key = await s.api('GET', '/api/v1/namespaces', undefined, { apiKey: true });
  assert.equal(key.status, 200, key.text);
  assert.deepEqual(key.body, bearer.body);
  const none = await s.api('GET', '/api/v1/namespaces', undefined, { token: null });
  assert.equal(none.status, 401, none.text);
  assert.equal(none.body?.code, 'unauthorized');
  const bad = await s.api('POST', '/api/v1/mocks/batch', [mock('nope', '/nope')], { token: 'mk_bad_token' });
  assert.equal(bad.status, 401, bad.text);
  assert.equal(await mockGet('nope'), null, 'nothing written with a bad token');
});

test('namespaces: create, conflict, bad name, list envelope', async () => {
  const r = await s.api('POST', '/api/v1/namespaces', { name: 'qa' });
  assert.ok(r.status === 201 || r.status === 200, r.text);
  assert.deepEqual(r.body, { name: 'qa' });
  const again = await s.api('POST', '/api/v1/namespaces', { name: 'qa' }, { apiKey: true });
  assert.equal(again.status, 409, again.text);
  assert.equal(again.body.code, 'conflict');
  assertValidation(await s.api('POST', '/api/v1/namespaces', { name: 'Bad Name!' }), 'name|namespace');
  assertValidation(await s.api('POST', '/api/v1/namespaces', {}), 'name');
  assertValidation(await s.api('POST', '/api/v1/namespaces', { name: 42 }), 'name');
  assertValidation(await s.api('POST', '/api/v1/namespaces', 'not json'), 'JSON|body');
  assert.equal((await s.api('POST', '/api/v1/namespaces', { name: 'staging' })).status, 201);

  const list = await s.api('GET', '/api/v1/namespaces');
  assert.equal(list.status, 200);
  assert.ok(Array.isArray(list.body.namespaces), list.text);
  assert.equal(list.body.namespaces[0], 'sandbox');
  assert.ok(list.body.namespaces.includes('qa') && list.body.namespaces.includes('staging'));
});

test('batch create: bare array (Go), {"mocks"} (Java), namespace from body / query / header', async () => {
  // Go: bare array, namespace inside each mock
  let r = await s.api('POST', '/api/v1/mocks/batch', [mock('go-1', '/go/1', { namespace: 'qa' }), mock('go-2', '/go/2', { namespace: 'qa' })], { apiKey: true });
  assert.ok(r.status === 201 || r.status === 200, r.text);
  assert.equal(r.body.created, 2);
  assert.equal(r.body.mocks.length, 2);
  // Java: {"mocks":[...]} with ?namespace=
  r = await s.api('POST', '/api/v1/mocks/batch?namespace=staging', { mocks: [mock('java-1', '/java/1')] });
  assert.ok(r.status === 201 || r.status === 200, r.text);
  // Python-style header on a bare array, and the default namespace
  r = await s.api('POST', '/api/v1/mocks/batch', [mock('py-1', '/py/1')], { headers: { 'X-Namespace': 'qa' } });
  assert.ok(r.status === 201 || r.status === 200, r.text);
  r = await s.api('POST', '/api/v1/mocks/batch', { mocks: [mock('sb-1', '/sb/1'), mock('sb-2', '/sb/2'), mock('sb-3', '/sb/3')] });
  assert.ok(r.status === 201 || r.status === 200, r.text);

  assert.equal((await mockGet('go-1')).namespace, 'qa');
  assert.equal((await mockGet('java-1')).namespace, 'staging');
  assert.equal((await mockGet('py-1')).namespace, 'qa');
  assert.equal((await mockGet('sb-1')).namespace, 'sandbox');

  await served('qa', '/go/1', 200);
  const got = await hit('qa', '/go/2');
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, { who: 'go-2' });
  await served('staging', '/java/1', 200);
  await served('sandbox', '/sb/3', 200);
});

test('batch create: bad input is 400 and nothing is saved (all or nothing)', async () => {
  assertValidation(await s.api('POST', '/api/v1/mocks/batch', { foo: 1 }), 'mocks');
  assertValidation(await s.api('POST', '/api/v1/mocks/batch', 'not json'), 'mocks');
  assertValidation(await s.api('POST', '/api/v1/mocks/batch', [mock('bad-0', '/bad/0'), 'x']), 'mocks');
  const r = await s.api('POST', '/api/v1/mocks/batch', [mock('bad-1', '/bad/1'), { id: 'bad-2', http: { route: 12 }, response: {} }]);
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.code, 'validation');
  assert.equal(await mockGet('bad-1'), null, 'first mock of a failed batch is not saved');
});

test('batch delete, restore: DELETE with a body wins over /mocks/:id and traffic follows', async () => {
  const del = await s.api('DELETE', '/api/v1/mocks/batch', { ids: ['sb-1', 'sb-2'] });
  assert.equal(del.status, 200, del.text);
  assert.equal(del.body.count, 2, 'reached the batch handler, not DELETE /mocks/:id with id "batch"');
  assert.ok((await mockGet('sb-1')).closedAt, 'soft-deleted: closedAt set');
  await served('sandbox', '/sb/1', 404);
  assert.equal((await hit('sandbox', '/sb/3')).status, 200, 'other mocks untouched');

  const res = await s.api('POST', '/api/v1/mocks/batch/restore', { ids: ['sb-1', 'sb-2'] }, { apiKey: true });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.count, 2, 'reached the batch handler, not POST /mocks/:id/restore');
  assert.ok(!(await mockGet('sb-1')).closedAt);
  await served('sandbox', '/sb/1', 200);

  assertValidation(await s.api('DELETE', '/api/v1/mocks/batch', {}), 'ids');
  assertValidation(await s.api('DELETE', '/api/v1/mocks/batch', { ids: 'sb-1' }), 'ids');
  assertValidation(await s.api('DELETE', '/api/v1/mocks/batch', { ids: [1, 2] }), 'ids');
  assertValidation(await s.api('POST', '/api/v1/mocks/batch/restore', 'nope'), 'body|JSON');
  assert.equal((await hit('sandbox', '/sb/2')).status, 200, 'bad input changed nothing');
});

test('folders + batch move: folderId set, counted, cleared with null or absent', async () => {
  const f = await s.api('POST', '/api/v1/mock-folders', { name: 'Orders' });
  assert.ok(f.status === 201 || f.status === 200, f.text);
  assert.ok(f.body.id, 'folder id generated');
  assert.equal(f.body.namespace, 'sandbox');
  const mv = await s.api('PATCH', '/api/v1/mocks/batch/move', { ids: ['sb-1', 'sb-2'], folderId: f.body.id });
  assert.equal(mv.status, 200, mv.text);
  assert.equal(mv.body.count, 2);
  assert.equal((await mockGet('sb-1')).folderId, f.body.id);
  const list = await s.api('GET', '/api/v1/mock-folders');
  const mine = list.body.find((x) => x.id === f.body.id);
  assert.equal(mine.mockCount, 2, list.text);

  assert.equal((await s.api('PATCH', '/api/v1/mocks/batch/move', { ids: ['sb-1'], folderId: null })).status, 200);
  assert.ok(!(await mockGet('sb-1')).folderId, 'null folderId moves out');
  assert.equal((await s.api('PATCH', '/api/v1/mocks/batch/move', { ids: ['sb-2'] })).status, 200);
  assert.ok(!(await mockGet('sb-2')).folderId, 'absent folderId (Python drops None) moves out');

  const unknown = await s.api('PATCH', '/api/v1/mocks/batch/move', { ids: ['sb-1'], folderId: 'no-such-folder' });
  assert.equal(unknown.status, 404, unknown.text);
  assertValidation(await s.api('PATCH', '/api/v1/mocks/batch/move', { ids: ['sb-1'], folderId: 7 }), 'folderId');
});

test('batch tags: replaced tags show in /tags and in list filters (comma-joined and repeated)', async () => {
  const r = await s.api('PATCH', '/api/v1/mocks/batch/tags', { ids: ['sb-1', 'sb-2'], tags: ['orders', 'v2'] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.count, 2);
  assert.deepEqual((await mockGet('sb-1')).tags, ['orders', 'v2']);
  await s.api('PATCH', '/api/v1/mocks/batch/tags', { ids: ['sb-3'], tags: ['orders'] });

  const tags = await s.api('GET', '/api/v1/tags');
  assert.equal(tags.status, 200);
  assert.ok(Array.isArray(tags.body) && tags.body.every((t) => typeof t === 'string'), tags.text);
  assert.ok(tags.body.includes('orders') && tags.body.includes('v2'));

  const ids = (r) => r.body.items.map((m) => m.id).sort();
  const comma = await s.api('GET', '/api/v1/mocks?namespace=sandbox&tags=orders%2Cv2&offset=0&limit=50');
  assert.equal(comma.status, 200, comma.text);
  assert.deepEqual(ids(comma), ['sb-1', 'sb-2']);
  const repeated = await s.api('GET', '/api/v1/mocks?namespace=sandbox&tags=orders&tags=v2');
  assert.deepEqual(ids(repeated), ['sb-1', 'sb-2']);
  const one = await s.api('GET', '/api/v1/mocks?tags=orders', undefined, { headers: { 'X-Namespace': 'sandbox' } });
  assert.deepEqual(ids(one), ['sb-1', 'sb-2', 'sb-3']);

  assertValidation(await s.api('PATCH', '/api/v1/mocks/batch/tags', { ids: ['sb-1'] }), 'tags');
  assertValidation(await s.api('PATCH', '/api/v1/mocks/batch/tags', { tags: ['x'] }), 'ids');
});

test('copy-to-namespace and namespaces/copy-mocks: copies serve in the target', async () => {
  const r = await s.api('POST', '/api/v1/mocks/copy-to-namespace', { ids: ['sb-3'], targetNamespace: 'staging' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.count, 1);
  const copy = r.body.mocks[0];
  assert.equal(copy.namespace, 'staging');
  assert.notEqual(copy.id, 'sb-3');
  await served('staging', '/sb/3', 200);
  assert.deepEqual((await hit('staging', '/sb/3')).body, { who: 'sb-3' });

  // all live mocks of qa (go-1, go-2, py-1) into a new namespace
  const all = await s.api('POST', '/api/v1/namespaces/copy-mocks', { sourceNamespace: 'qa', targetNamespace: 'qa-copy' });
  assert.equal(all.status, 200, all.text);
  assert.equal(all.body.count, 3);
  await served('qa-copy', '/py/1', 200);
  // only the listed ids, and only those that belong to the source
  const some = await s.api('POST', '/api/v1/namespaces/copy-mocks', { sourceNamespace: 'qa', targetNamespace: 'qa-two', mockIds: ['go-1', 'sb-1'] });
  assert.equal(some.status, 200, some.text);
  assert.equal(some.body.count, 1);
  assert.equal(some.body.mocks[0].namespace, 'qa-two');
  await served('qa-two', '/go/1', 200);
  assert.equal((await hit('qa-two', '/go/2')).status, 404);

  assertValidation(await s.api('POST', '/api/v1/mocks/copy-to-namespace', { ids: ['sb-3'] }), 'targetNamespace');
  assertValidation(await s.api('POST', '/api/v1/namespaces/copy-mocks', { targetNamespace: 'x' }), 'sourceNamespace');
  assertValidation(await s.api('POST', '/api/v1/namespaces/copy-mocks', { sourceNamespace: 'qa', targetNamespace: 'x', mockIds: 'go-1' }), 'mockIds');
});

test('request logs: the last 3 requests of a mock, union shape, then cleared', async () => {
  await s.api('POST', '/api/v1/mocks/batch', [mock('logged', '/logged')]);
  await served('sandbox', '/logged', 200);
  for (let i = 1; i <= 4; i++) {
    const r = await hit('sandbox', `/logged?n=${i}`);
    assert.equal(r.status, 200);
  }
  // 1 request from served() + 4 = 5 requests; the server keeps the last 3 (REPO_LOG_LIMIT).
  // Logs are written in batches: wait until the newest one is the 4th request.
  const nOf = (l) => [].concat(l?.req?.query?.n ?? [])[0];
  const logs = await waitUntil(async () => {
    const r = await s.api('GET', '/api/v1/mocks/logged/logs');
    return r.status === 200 && r.body.total === 3 && nOf(r.body.requests[0]) === '4' ? r : null;
  }, 5000, 50, 'three request logs, the newest from the 4th request');
  assert.deepEqual(logs.body.requests.map(nOf), ['4', '3', '2'], 'newest first');
  assert.equal(logs.body.id, 'logged');
  assert.equal(logs.body.requests.length, 3);
  assert.deepEqual(logs.body.logs, logs.body.requests, 'Go reads requests, Python reads logs');
  for (const l of logs.body.requests) {
    assert.ok(l.id !== undefined && typeof l.calledAt === 'string' && !Number.isNaN(Date.parse(l.calledAt)), JSON.stringify(l));
  }
  const page = await s.api('GET', '/api/v1/mocks/logged/logs?offset=1&limit=1', undefined, { apiKey: true });
  assert.equal(page.status, 200, page.text);
  assert.equal(page.body.requests.length, 1);
  assert.equal(page.body.total, 3);

  const cleared = await s.api('DELETE', '/api/v1/mocks/logged/logs');
  assert.equal(cleared.status, 200, cleared.text);
  assert.equal(cleared.body.count, 3);
  assert.equal((await s.api('GET', '/api/v1/mocks/logged/logs')).body.total, 0);

  assert.equal((await s.api('GET', '/api/v1/mocks/no-such-mock/logs')).status, 404);
  assert.equal((await s.api('DELETE', '/api/v1/mocks/no-such-mock/logs')).status, 404);
  assertValidation(await s.api('GET', '/api/v1/mocks/logged/logs?offset=-1'), 'offset');
  assertValidation(await s.api('GET', '/api/v1/mocks/logged/logs?limit=x'), 'limit');
});

test('versions: list newest first, read one, restore an old one and it is served', async () => {
  await s.psql(`SELECT mockarty.mock_save('${JSON.stringify(mock('ver', '/ver', { response: { statusCode: 200, payload: { v: 1 } } }))}')`);
  await s.psql(`SELECT mockarty.mock_save('${JSON.stringify(mock('ver', '/ver', { response: { statusCode: 200, payload: { v: 2 } } }))}')`);
  await waitUntil(async () => (await hit('sandbox', '/ver')).body?.v === 2, 5000, 20, 'v2 served');

  const list = await s.api('GET', '/api/v1/mocks/ver/versions');
  assert.equal(list.status, 200, list.text);
  assert.ok(Array.isArray(list.body) && list.body.length >= 2, list.text);
  assert.ok(list.body[0].version > list.body[1].version, 'newest first');
  const v1 = list.body.find((m) => m.response?.payload?.v === 1);
  assert.ok(v1, 'the first version is kept');

  const one = await s.api('GET', `/api/v1/mocks/ver/versions/${v1.version}`);
  assert.equal(one.status, 200, one.text);
  assert.deepEqual(one.body.response.payload, { v: 1 });

  const rest = await s.api('POST', `/api/v1/mocks/ver/versions/${v1.version}/restore`);
  assert.equal(rest.status, 200, rest.text);
  assert.deepEqual(rest.body.response.payload, { v: 1 });
  await waitUntil(async () => (await hit('sandbox', '/ver')).body?.v === 1, 5000, 20, 'restored v1 served');
  const after = await s.api('GET', '/api/v1/mocks/ver/versions');
  assert.equal(after.body.length, list.body.length + 1, 'restoring saves a new version');

  assert.equal((await s.api('GET', '/api/v1/mocks/ver/versions/999')).status, 404);
  assert.equal((await s.api('POST', '/api/v1/mocks/ver/versions/999/restore')).status, 404);
  assert.equal((await s.api('GET', '/api/v1/mocks/nobody/versions')).status, 404);
  assertValidation(await s.api('GET', '/api/v1/mocks/ver/versions/abc'), 'version');
});

test('chains: list the mocks of a chainId, delete them all', async () => {
  await s.api('POST', '/api/v1/mocks/batch', [
    mock('ch-a', '/ch/a', { chainId: 'order-flow' }),
    mock('ch-b', '/ch/b', { chainId: 'order-flow' }),
    mock('ch-c', '/ch/c', { chainId: 'other-flow' }),
  ]);
  const r = await s.api('GET', '/api/v1/mocks/chains/order-flow');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.map((m) => m.id).sort(), ['ch-a', 'ch-b']);
  await served('sandbox', '/ch/b', 200);

  const del = await s.api('DELETE', '/api/v1/mocks/chains/order-flow');
  assert.equal(del.status, 200, del.text);
  assert.equal(del.body.count, 2);
  assert.deepEqual((await s.api('GET', '/api/v1/mocks/chains/order-flow')).body, []);
  await served('sandbox', '/ch/b', 404);
  assert.equal((await hit('sandbox', '/ch/c')).status, 200, 'other chain untouched');
});

test('global store: set with header / query / body namespace, read, delete dotted and escaped keys', async () => {
  let r = await s.api('POST', '/api/v1/stores/global', { key: 'app.version', value: '1.2.3' }, { headers: { 'X-Namespace': 'qa' } });
  assert.equal(r.status, 200, r.text);
  r = await s.api('POST', '/api/v1/stores/global?namespace=qa', { key: 'limits', value: { max: 5, on: true } });
  assert.equal(r.status, 200, r.text);
  r = await s.api('POST', '/api/v1/stores/global', { key: 'my key', value: 42, namespace: 'qa' }, { apiKey: true });
  assert.equal(r.status, 200, r.text);
  r = await s.api('POST', '/api/v1/stores/global', { key: 'counter', value: 1 });
  assert.equal(r.status, 200, r.text);

  const qa = await s.api('GET', '/api/v1/stores/global?namespace=qa');
  assert.deepEqual(qa.body, { 'app.version': '1.2.3', limits: { max: 5, on: true }, 'my key': 42 });
  const sb = await s.api('GET', '/api/v1/stores/global');
  assert.deepEqual(sb.body, { counter: 1 }, 'sandbox store is separate');
  assert.deepEqual(await s.psqlJson("SELECT mockarty.store_global_get('qa')"), qa.body);

  r = await s.api('DELETE', `/api/v1/stores/global/${encodeURIComponent('app.version')}?namespace=qa`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.deleted, true);
  r = await s.api('DELETE', `/api/v1/stores/global/${encodeURIComponent('my key')}`, undefined, { headers: { 'X-Namespace': 'qa' } });
  assert.equal(r.body.deleted, true, r.text);
  r = await s.api('DELETE', '/api/v1/stores/global/absent?namespace=qa');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.deleted, false);
  assert.deepEqual((await s.api('GET', '/api/v1/stores/global', undefined, { headers: { 'X-Namespace': 'qa' } })).body, { limits: { max: 5, on: true } });

  assertValidation(await s.api('POST', '/api/v1/stores/global', { value: 1 }), 'key');
  assertValidation(await s.api('POST', '/api/v1/stores/global', { key: 'k' }), 'value');
  assertValidation(await s.api('POST', '/api/v1/stores/global', [1]), 'body|JSON');
});

test('global store: a value written over REST is read by a mock template', async () => {
  await s.api('POST', '/api/v1/stores/global', { key: 'greeting', value: 'hello' });
  await s.api('POST', '/api/v1/mocks/batch', [
    { id: 'gs-read', http: { route: '/gs/read', httpMethod: 'GET' }, response: { statusCode: 200, payload: { g: '$.gS.greeting' } } },
  ]);
  // the batch POST caught the node's snapshot up, so the first request already sees the mock
  try {
    const r = await hit('sandbox', '/gs/read');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { g: 'hello' });
  } finally {
    // a stateful mock runs mockarty.resolve() in the database: should that ever take the
    // backend down, let the cluster recover so the failure stays in this test
    await dbAndNodeReady();
  }
});

test('chain store: set, read, delete, per namespace', async () => {
  let r = await s.api('POST', '/api/v1/stores/chain/order-1', { key: 'status', value: 'pending' });
  assert.equal(r.status, 200, r.text);
  r = await s.api('POST', '/api/v1/stores/chain/order-1', { key: 'items', value: [1, 2], namespace: 'qa' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual((await s.api('GET', '/api/v1/stores/chain/order-1')).body, { status: 'pending' });
  assert.deepEqual((await s.api('GET', '/api/v1/stores/chain/order-1?namespace=qa')).body, { items: [1, 2] });
  assert.deepEqual((await s.api('GET', '/api/v1/stores/chain/never-used')).body, {});

  r = await s.api('DELETE', '/api/v1/stores/chain/order-1/status');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.deleted, true);
  assert.deepEqual((await s.api('GET', '/api/v1/stores/chain/order-1')).body, {});
  assertValidation(await s.api('POST', '/api/v1/stores/chain/order-1', { key: '', value: 1 }), 'key');
});

test('undefined requests: recorded on a miss, ignored, turned into a mock, deleted', async () => {
  const find = async (ns, suffix) => {
    const r = await s.api('GET', '/api/v1/undefined-requests', undefined, { headers: { 'X-Namespace': ns } });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.body), 'a bare array (Go and Java require it)');
    return r.body.find((u) => u.path.endsWith(suffix));
  };
  assert.equal((await hit('sandbox', '/missing/one')).status, 404);
  assert.equal((await hit('sandbox', '/missing/one')).status, 404);
  assert.equal((await hit('sandbox', '/missing/two')).status, 404);
  assert.equal((await hit('qa', '/missing/qa')).status, 404);
  const one = await waitUntil(async () => {
    const u = await find('sandbox', '/missing/one');
    return u && u.count === 2 ? u : null;
  }, 5000, 50, 'undefined request recorded twice');
  assert.equal(one.method, 'GET');
  assert.equal(one.hitCount ?? one.count, 2);
  assert.equal(one.ignored, false);
  await waitUntil(() => find('qa', '/missing/qa'), 5000, 50, 'qa miss recorded');
  assert.equal(await find('sandbox', '/missing/qa'), undefined, 'qa miss not listed in sandbox');
  const qaList = await s.api('GET', '/api/v1/undefined-requests?namespace=qa', undefined, { apiKey: true });
  assert.ok(qaList.body.some((u) => u.path.endsWith('/missing/qa')));

  const ign = await s.api('PATCH', `/api/v1/undefined-requests/${one.id}/ignore`);
  assert.equal(ign.status, 200, ign.text);
  assert.equal((await find('sandbox', '/missing/one')).ignored, true);

  const two = await waitUntil(() => find('sandbox', '/missing/two'), 5000, 50, 'second miss recorded');
  const created = await s.api('POST', `/api/v1/undefined-requests/${two.id}/create-mock`);
  assert.ok(created.status === 201 || created.status === 200, created.text);
  assert.ok(created.body.id, 'the new mock');
  await served('sandbox', '/missing/two', 200, 'stub created from the undefined request');

  const del = await s.api('DELETE', '/api/v1/undefined-requests', { ids: [one.id] });
  assert.equal(del.status, 200, del.text);
  assert.equal(del.body.count, 1);
  assert.equal(await find('sandbox', '/missing/one'), undefined);

  assert.equal((await hit('sandbox', '/missing/three')).status, 404);
  await waitUntil(() => find('sandbox', '/missing/three'), 5000, 50, 'third miss recorded');
  const all = await s.api('DELETE', '/api/v1/undefined-requests/all');
  assert.equal(all.status, 200, all.text);
  assert.ok(all.body.count >= 1);
  assert.deepEqual((await s.api('GET', '/api/v1/undefined-requests')).body, []);
  assert.ok(await find('qa', '/missing/qa'), '"all" clears one namespace only');

  assertValidation(await s.api('PATCH', '/api/v1/undefined-requests/abc/ignore'), 'id');
  assert.equal((await s.api('PATCH', '/api/v1/undefined-requests/999999/ignore')).status, 404);
  assert.equal((await s.api('POST', '/api/v1/undefined-requests/999999/create-mock')).status, 404);
  assertValidation(await s.api('DELETE', '/api/v1/undefined-requests', { ids: ['x'] }), 'ids');
  assertValidation(await s.api('DELETE', '/api/v1/undefined-requests', {}), 'ids');
});

test('tags: create with {"tag"} (Python) or {"name"} (Go/Java), listed as strings', async () => {
  const py = await s.api('POST', '/api/v1/tags', { tag: 'payments' }, { headers: { 'X-Namespace': 'qa' } });
  assert.ok(py.status === 201 || py.status === 200, py.text);
  assert.equal(py.body.tag, 'payments');
  assert.equal(py.body.name, 'payments');
  assert.equal(py.body.count, 0);
  const go = await s.api('POST', '/api/v1/tags', { name: 'orders', namespace: 'sandbox' }, { apiKey: true });
  assert.equal(go.body.name, 'orders');
  assert.equal(go.body.count, 3, 'three sandbox mocks carry "orders"');
  const qa = await s.api('GET', '/api/v1/tags?namespace=qa');
  assert.ok(qa.body.includes('payments'), qa.text);
  assert.ok(!(await s.api('GET', '/api/v1/tags')).body.includes('payments'), 'registered per namespace');
  assertValidation(await s.api('POST', '/api/v1/tags', {}), 'tag');
  assertValidation(await s.api('POST', '/api/v1/tags', { tag: 5 }), 'tag');
});

test('folders: create, nest, rename keeps the rest, move to top, delete', async () => {
  const parent = (await s.api('POST', '/api/v1/mock-folders', { name: 'Parent', namespace: 'qa' })).body;
  assert.equal(parent.namespace, 'qa');
  const child = await s.api('POST', '/api/v1/mock-folders?namespace=qa', { name: 'Child', parentId: parent.id });
  assert.ok(child.status === 201 || child.status === 200, child.text);
  assert.equal(child.body.parentId, parent.id);

  const put = await s.api('PUT', `/api/v1/mock-folders/${child.body.id}`, { name: 'Renamed' });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.name, 'Renamed');
  assert.equal(put.body.parentId, parent.id, 'PUT with only a name keeps the parent');
  assert.equal(put.body.namespace, 'qa', 'and the namespace');

  const mv = await s.api('PATCH', `/api/v1/mock-folders/${child.body.id}/move`, { parentId: null });
  assert.equal(mv.status, 200, mv.text);
  assert.ok(!mv.body.parentId);
  const back = await s.api('PATCH', `/api/v1/mock-folders/${child.body.id}/move`, { parentId: parent.id });
  assert.equal(back.body.parentId, parent.id);

  const list = await s.api('GET', '/api/v1/mock-folders', undefined, { headers: { 'X-Namespace': 'qa' } });
  assert.deepEqual(list.body.map((f) => f.name).sort(), ['Parent', 'Renamed']);
  assert.ok(!(await s.api('GET', '/api/v1/mock-folders')).body.some((f) => f.name === 'Parent'), 'sandbox list does not show qa folders');

  const del = await s.api('DELETE', `/api/v1/mock-folders/${parent.id}`);
  assert.equal(del.status, 200, del.text);
  assert.equal((await s.api('DELETE', `/api/v1/mock-folders/${parent.id}`)).status, 404);
  const left = await s.api('GET', '/api/v1/mock-folders?namespace=qa');
  assert.deepEqual(left.body.map((f) => [f.name, f.parentId ?? null]), [['Renamed', null]], 'child moved to the top');

  assert.equal((await s.api('PUT', '/api/v1/mock-folders/no-such', { name: 'x' })).status, 404);
  assert.equal((await s.api('PATCH', '/api/v1/mock-folders/no-such/move', { parentId: null })).status, 404);
  const dup = await s.api('POST', '/api/v1/mock-folders', { id: child.body.id, name: 'Takeover' });
  assert.equal(dup.status, 409, 'POST never overwrites an existing folder: ' + dup.text);
  assertValidation(await s.api('POST', '/api/v1/mock-folders', {}), 'name');
  assertValidation(await s.api('PATCH', `/api/v1/mock-folders/${child.body.id}/move`, { parentId: 3 }), 'parentId');
});

test('stats, counts, status, features: small objects with counts from SQL', async () => {
  const total = await s.psqlJson("SELECT mockarty.mock_list(NULL, NULL, NULL, 0, 1)->'total'");
  const counts = await s.api('GET', '/api/v1/counts');
  assert.equal(counts.status, 200, counts.text);
  assert.equal(counts.body.mocks, total);
  assert.ok(counts.body.namespaces >= 5, counts.text);
  assert.equal(typeof counts.body.deletedMocks, 'number');
  const qa = await s.api('GET', '/api/v1/counts?namespace=qa');
  assert.equal(qa.body.mocks, await s.psqlJson("SELECT mockarty.mock_list('qa', NULL, NULL, 0, 1)->'total'"));
  assert.equal(qa.body.namespaces, 1);

  const stats = await s.api('GET', '/api/v1/stats', undefined, { apiKey: true });
  assert.equal(stats.status, 200, stats.text);
  assert.equal(stats.body.mocks, total);
  const status = await s.api('GET', '/api/v1/status');
  assert.equal(status.status, 200);
  assert.equal(status.body.status, 'ok');
  const features = await s.api('GET', '/api/v1/features');
  assert.equal(features.status, 200);
  assert.equal(features.body.versioning, true);
});

test('a namespace-bound token stays in its namespace', async () => {
  const tok = await s.psql("SELECT mockarty.token_create('qa-only', 'admin', 'qa')->>'token'");
  const as = { token: tok };
  const ns = await s.api('GET', '/api/v1/namespaces', undefined, as);
  assert.equal(ns.status, 200, ns.text);
  assert.deepEqual(ns.body.namespaces, ['qa']);
  assert.equal((await s.api('POST', '/api/v1/namespaces', { name: 'sneaky' }, as)).status, 403);

  // batch calls skip mocks of other namespaces
  const del = await s.api('DELETE', '/api/v1/mocks/batch', { ids: ['sb-3', 'py-1'] }, as);
  assert.equal(del.status, 200, del.text);
  assert.equal(del.body.count, 1);
  assert.ok(!(await mockGet('sb-3')).closedAt, 'sandbox mock untouched');
  assert.ok((await mockGet('py-1')).closedAt, 'qa mock deleted');
  // a mock created with another namespace in the body lands in the token's namespace
  await s.api('POST', '/api/v1/mocks/batch', [mock('bound-1', '/bound/1', { namespace: 'sandbox' })], as);
  assert.equal((await mockGet('bound-1')).namespace, 'qa');
  // ...and may not overwrite (upsert) a mock that lives in another namespace: 404 as for an unknown id
  const steal = await s.api('POST', '/api/v1/mocks/batch', [mock('sb-3', '/stolen')], as);
  assert.equal(steal.status, 404, steal.text);
  assert.equal((await mockGet('sb-3')).namespace, 'sandbox');
  assert.equal((await mockGet('sb-3')).http.route, '/sb/3');
  // single-id endpoints answer 404 for other namespaces
  assert.equal((await s.api('GET', '/api/v1/mocks/sb-1/versions', undefined, as)).status, 404);
  assert.equal((await s.api('GET', '/api/v1/mocks/sb-1/logs', undefined, as)).status, 404);
  assert.equal((await s.api('POST', '/api/v1/mocks/copy-to-namespace', { ids: ['bound-1'], targetNamespace: 'sandbox' }, as)).status, 403);
  // the store override in the body is ignored
  await s.api('POST', '/api/v1/stores/global', { key: 'bound', value: true, namespace: 'sandbox' }, as);
  assert.equal((await s.psqlJson("SELECT mockarty.store_global_get('qa')")).bound, true);
  assert.equal((await s.psqlJson("SELECT mockarty.store_global_get('sandbox')")).bound, undefined);
});
