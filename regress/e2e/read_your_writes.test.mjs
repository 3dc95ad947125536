// read_your_writes.test.mjs - a write answered 2xx is served by that node on the next request.
// What a user would notice:
//  - every REST write that changes mocks (create, update, patch, delete, restore, purge, batch
//    save/delete/restore, version restore, /mock/create) answers with X-Mockarty-Version and the
//    next request sees the change;
//  - mocks of every size class (tiny, ~10 KB, ~200 KB, a ~1.7 MB template), created and requested
//    at once, are never missed: 0 stale reads and 0 missing version headers in 1,000 rounds of
//    small mocks and 50 of the largest class, on the admin node and, with X-Mockarty-Min-Version,
//    on a resolver;
//  - when the node really lags (its LISTEN backend stopped with SIGSTOP, so the change is committed
//    but not yet delivered), the write waits and then succeeds, and past WRITE_VISIBILITY_TIMEOUT_MS
//    answers 503 naming the setting instead of a 2xx it would not serve;
//  - when the coordinator really lags (its feed backend stopped), a resolver request with
//    X-Mockarty-Min-Version waits and then succeeds, and past MIN_VERSION_WAIT_MS answers 503
//    naming the setting.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, freePort, waitUntil } from './lib/harness.mjs';
import { startResolver } from './lib/resolver.mjs';

let s;
let r;
let grpcPort;

before(async () => {
  grpcPort = await freePort();
  s = await startStack({ env: { GRPC_PORT: String(grpcPort) } });
  const c = await s.api('POST', '/ui/api/integrations', { name: 'ryw-resolver', type: 'mock_resolver' });
  assert.ok(c.status === 200 || c.status === 201, c.text);
  r = await startResolver({ COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`, API_TOKEN: c.body.token, RESOLVER_NAME: 'ryw-1', MIN_VERSION_WAIT_MS: '1000' });
});

after(async () => {
  await r?.stop();
  await s?.stop();
});

const filler = (n) => 'lorem ipsum dolor sit amet, consectetur adipiscing elit '.repeat(Math.ceil(n / 56)).slice(0, n);

// The size classes: the payload of each mock (the marker tells this round's mock from any other).
const classes = {
  tiny: (m) => ({ m }),
  '10KB': (m) => ({ m, text: filler(10 * 1024) }),
  '200KB': (m) => ({ m, text: filler(200 * 1024) }),
  // ~1.7 MB of template: 1,700 strings of 1 KB; 900 of them hold a faker and a path parameter
  // (just under the 1 MiB a mock's expression-holding strings may total), the rest are static
  '1.7MB template': (m) => ({
    m,
    id: '$.pathParam.id',
    blob: Array.from({ length: 1700 }, (_, i) => filler(960) + (i < 900 ? ' $.fake.Word $.pathParam.id' : ' static tail of the template')),
  }),
};

const version = (res) => res.headers.get('x-mockarty-version');

/**
 * Creates one mock per round (cycling through the given classes) and requests its route at once
 * on the admin node (no header) and on the resolver (X-Mockarty-Min-Version = the write's version).
 * Returns the counts of stale reads and missing headers, and timings.
 */
async function rounds(n, kinds, prefix) {
  const out = { stale: [], missing: 0, resolverStale: [], createMs: [], byKind: {} };
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length];
    const id = `${prefix}-${i}`;
    const marker = `${prefix}-${i}-${Date.now()}`;
    const t0 = Date.now();
    const c = await s.api('POST', '/api/v1/mocks', { id, http: { route: `/ryw/${prefix}/${i}/:id`, httpMethod: 'GET' }, response: { statusCode: 200, payload: classes[kind](marker) } });
    out.createMs.push(Date.now() - t0);
    assert.equal(c.status, 200, `${kind} round ${i}: ${c.text.slice(0, 300)}`);
    const v = version(c);
    if (!(v && Number(v) > 0)) out.missing++;
    const g = await s.fetch(`/ryw/${prefix}/${i}/7`, { token: null });
    const body = await g.json().catch(() => null);
    if (g.status !== 200 || body?.m !== marker) out.stale.push(`${kind} ${i}: ${g.status} ${JSON.stringify(body)?.slice(0, 120)}`);
    const rg = await fetch(`${r.url}/ryw/${prefix}/${i}/7`, { headers: { 'X-Mockarty-Min-Version': v || '0' } });
    const rbody = await rg.json().catch(() => null);
    if (rg.status !== 200 || rbody?.m !== marker) out.resolverStale.push(`${kind} ${i}: ${rg.status} ${JSON.stringify(rbody)?.slice(0, 160)}`);
    out.byKind[kind] = (out.byKind[kind] || 0) + 1;
  }
  return out;
}

const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor((a.length * p) / 100))];

test('1,000 rounds of small mocks (tiny, ~10 KB, ~200 KB): create, then at once request: 0 stale, 0 missing headers', { timeout: 600_000 }, async () => {
  const o = await rounds(1000, ['tiny', '10KB', '200KB'], 'small');
  console.log(`small: ${JSON.stringify(o.byKind)}, create p50 ${pct(o.createMs, 50)} ms p99 ${pct(o.createMs, 99)} ms; stale admin ${o.stale.length}, resolver ${o.resolverStale.length}, missing headers ${o.missing}`);
  assert.equal(o.missing, 0, 'writes without X-Mockarty-Version');
  assert.deepEqual(o.stale, [], 'stale reads on the admin node');
  assert.deepEqual(o.resolverStale, [], 'stale reads on the resolver with X-Mockarty-Min-Version');
});

test('50 rounds of the largest class (~1.7 MB template): 0 stale, 0 missing headers', { timeout: 600_000 }, async () => {
  const body = JSON.stringify({ payload: classes['1.7MB template']('x') });
  assert.ok(body.length > 1.6e6 && body.length < 1.9e6, `template of ${body.length} bytes`);
  const o = await rounds(50, ['1.7MB template'], 'large');
  console.log(`large: create p50 ${pct(o.createMs, 50)} ms max ${Math.max(...o.createMs)} ms; stale admin ${o.stale.length}, resolver ${o.resolverStale.length}, missing headers ${o.missing}`);
  assert.equal(o.missing, 0, 'writes without X-Mockarty-Version');
  assert.deepEqual(o.stale, [], 'stale reads on the admin node');
  assert.deepEqual(o.resolverStale, [], 'stale reads on the resolver with X-Mockarty-Min-Version');
});

test('every REST write that changes mocks carries X-Mockarty-Version, and the next request sees it', async () => {
  const served = async (p) => (await s.fetch(p, { token: null })).status;
  const check = async (what, res, expectStatus = 200) => {
    assert.equal(res.status, expectStatus, `${what}: ${res.text?.slice(0, 300)}`);
    const v = version(res);
    assert.ok(v && Number(v) > 0, `${what}: no X-Mockarty-Version`);
    return Number(v);
  };
  const mk = (id, route, p = { ok: id }) => ({ id, http: { route, httpMethod: 'GET' }, response: { statusCode: 200, payload: p } });
  let v = await check('create', await s.api('POST', '/api/v1/mocks', mk('w-a', '/w/a')));
  assert.equal(await served('/w/a'), 200);
  const v2 = await check('update', await s.api('POST', '/api/v1/mocks', mk('w-a', '/w/a2')));
  assert.ok(v2 > v);
  assert.equal(await served('/w/a2'), 200);
  assert.equal(await served('/w/a'), 404, 'the old route is gone at once');
  await check('patch', await s.api('PATCH', '/api/v1/mocks/w-a', { http: { route: '/w/a3', httpMethod: 'GET' } }));
  assert.equal(await served('/w/a3'), 200);
  await check('delete', await s.api('DELETE', '/api/v1/mocks/w-a'));
  assert.equal(await served('/w/a3'), 404, 'a deleted mock is not served');
  await check('restore', await s.api('POST', '/api/v1/mocks/w-a/restore'));
  assert.equal(await served('/w/a3'), 200, 'a restored mock is served');
  // version restore: back to the first version's route
  const versions = await s.api('GET', '/api/v1/mocks/w-a/versions');
  assert.equal(versions.status, 200, versions.text);
  const list = Array.isArray(versions.body) ? versions.body : versions.body.versions || versions.body.items;
  const first = Math.min(...list.map((x) => Number(x.version)));
  await check('version restore', await s.api('POST', `/api/v1/mocks/w-a/versions/${first}/restore`));
  assert.equal(await served('/w/a'), 200, 'the restored version is served');
  await check('batch create', await s.api('POST', '/api/v1/mocks/batch', [mk('w-b1', '/w/b1'), mk('w-b2', '/w/b2')]), 201);
  assert.equal(await served('/w/b1'), 200);
  assert.equal(await served('/w/b2'), 200);
  await check('batch delete', await s.api('DELETE', '/api/v1/mocks/batch', { ids: ['w-b1', 'w-b2'] }));
  assert.equal(await served('/w/b1'), 404);
  await check('batch restore', await s.api('POST', '/api/v1/mocks/batch/restore', { ids: ['w-b1', 'w-b2'] }));
  assert.equal(await served('/w/b2'), 200);
  await check('/mock/create', await s.api('POST', '/mock/create', mk('w-c', '/w/c')));
  assert.equal(await served('/w/c'), 200);
  v = await check('purge', await s.api('DELETE', '/api/v1/mocks/w-c/purge'));
  assert.equal(await served('/w/c'), 404);
});

// ---------------------------------------------------------------- a node that really lags

const backends = async (app) =>
  (await s.psql(`SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = '${app}'`)).split(',').filter(Boolean).map(Number);

/**
 * Stops (SIGSTOP) the PostgreSQL backends of application_name app once they are idle (never while
 * they might hold a lock), runs fn, and always resumes them (SIGCONT).
 */
async function withStopped(app, fn) {
  const pids = await waitUntil(async () => {
    const rows = await s.psql(`SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = '${app}' AND state = 'idle'`);
    const p = rows.split(',').filter(Boolean).map(Number);
    return p.length > 0 && p.length === (await backends(app)).length ? p : null;
  }, 5000, 20, `idle ${app} backends`);
  const resume = () => pids.forEach((p) => { try { process.kill(p, 'SIGCONT'); } catch {} });
  try {
    pids.forEach((p) => process.kill(p, 'SIGSTOP'));
    return await fn(resume);
  } finally {
    resume();
  }
}

test('admin LISTEN stopped: a write waits for the index, then succeeds; past WRITE_VISIBILITY_TIMEOUT_MS it is a 503 naming the setting', async () => {
  const a2 = await s.spawnAdmin({ WRITE_VISIBILITY_TIMEOUT_MS: '3000', GRPC_PORT: '0' });
  const api = async (method, p, body) => {
    const res = await fetch(a2.url + p, { method, headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
    const text = await res.text();
    let parsed = null;
    try { parsed = JSON.parse(text); } catch {}
    return { status: res.status, headers: res.headers, text, body: parsed };
  };
  // the wait: the change is committed but this node's LISTEN backend is stopped for 700 ms
  await withStopped('mockarty-admin-listen', async (resume) => {
    let done = false;
    const t0 = Date.now();
    const p = api('POST', '/api/v1/mocks', { id: 'lag-a', http: { route: '/lag/a' }, response: { payload: { m: 'lag-a' } } }).finally(() => (done = true));
    await new Promise((res) => setTimeout(res, 700));
    assert.equal(done, false, 'the write answered while this node had not applied it');
    const committed = await s.psql("SELECT count(*) FROM mockarty.snapshot() WHERE mock->>'id' = 'lag-a'");
    assert.equal(committed, '1', 'the change is committed in the database meanwhile');
    resume();
    const c = await p;
    const took = Date.now() - t0;
    assert.equal(c.status, 200, c.text);
    assert.ok(Number(version(c)) > 0, 'X-Mockarty-Version');
    assert.ok(took >= 650, `answered after ${took} ms`);
    const g = await fetch(a2.url + '/lag/a');
    assert.equal(g.status, 200);
    assert.deepEqual(await g.json(), { m: 'lag-a' });
  });
  // past the bound: 503 naming the setting, never a silent stale 200
  await withStopped('mockarty-admin-listen', async () => {
    const t0 = Date.now();
    const c = await api('POST', '/api/v1/mocks', { id: 'lag-b', http: { route: '/lag/b' }, response: { payload: { m: 'lag-b' } } });
    const took = Date.now() - t0;
    assert.equal(c.status, 503, c.text);
    assert.equal(c.body.code, 'unavailable');
    assert.match(c.body.error, /WRITE_VISIBILITY_TIMEOUT_MS=3000 ms/);
    assert.equal(c.body.setting, 'WRITE_VISIBILITY_TIMEOUT_MS');
    assert.ok(Number(version(c)) > 0, 'the 503 still names the committed version');
    assert.equal(c.body.version, Number(version(c)));
    assert.equal(c.headers.get('retry-after'), '1');
    assert.ok(took >= 2900 && took < 6000, `answered after ${took} ms`);
    assert.equal((await fetch(a2.url + '/lag/b')).status, 404, 'not served yet: hence the 503');
  });
  // resumed: the node catches up and serves it
  await waitUntil(async () => (await fetch(a2.url + '/lag/b')).status === 200, 5000, 20, 'lag-b served after the resume');
  assert.match(a2.logs(), /not applied by this node within WRITE_VISIBILITY_TIMEOUT_MS=3000 ms/);
  await a2.stop();
});

test('coordinator feed stopped: a resolver request with X-Mockarty-Min-Version waits, then succeeds; past MIN_VERSION_WAIT_MS it is a 503 naming the setting', async () => {
  await withStopped('mockarty-coordinator-feed', async (resume) => {
    const c = await s.api('POST', '/api/v1/mocks', { id: 'clag-a', http: { route: '/clag/a' }, response: { payload: { m: 'clag-a' } } });
    assert.equal(c.status, 200, c.text);
    const v = version(c);
    assert.equal((await s.fetch('/clag/a', { token: null })).status, 200, 'the admin node itself serves it');
    assert.equal((await r.get('/clag/a')).status, 404, 'the resolver really lags');
    let done = false;
    const t0 = Date.now();
    const p = r.get('/clag/a', { 'X-Mockarty-Min-Version': v }).finally(() => (done = true));
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(done, false, 'the resolver answered before it applied the version');
    resume();
    const g = await p;
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.body, { m: 'clag-a' });
    assert.ok(Date.now() - t0 >= 450);
  });
  await withStopped('mockarty-coordinator-feed', async () => {
    const c = await s.api('POST', '/api/v1/mocks', { id: 'clag-b', http: { route: '/clag/b' }, response: { payload: { m: 'clag-b' } } });
    assert.equal(c.status, 200, c.text);
    const t0 = Date.now();
    const g = await r.get('/clag/b', { 'X-Mockarty-Min-Version': version(c) });
    const took = Date.now() - t0;
    assert.equal(g.status, 503, g.text);
    assert.equal(g.body.code, 'unavailable');
    assert.match(g.body.error, /MIN_VERSION_WAIT_MS=1000 ms/);
    assert.ok(took >= 900 && took < 2500, `answered after ${took} ms`);
  });
  const c = await s.api('GET', '/api/v1/mocks/clag-b');
  assert.equal(c.status, 200);
  const v = await s.psql('SELECT mockarty.head_version()');
  const g = await r.get('/clag/b', { 'X-Mockarty-Min-Version': v });
  assert.equal(g.status, 200, g.text);
  assert.deepEqual(g.body, { m: 'clag-b' });
});
