// resolver.test.mjs - two real mock-resolvers beside the admin node and its coordinator, set
// up exactly as the integrations guide says: a mock_resolver token from POST
// /ui/api/integrations, then COORDINATOR_ADDR / API_TOKEN / RESOLVER_NAME / HTTP_PORT.
// What a user would notice: mocks created before and after the resolvers started are served
// by both; read-your-writes with X-Mockarty-Min-Version; a use limit holds exactly across
// nodes; an admin node outage costs no request and the change made meanwhile arrives; a
// killed resolver comes back current; a disabled token disconnects both within 1 s for good.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, freePort, waitUntil } from './lib/harness.mjs';
import { startResolver } from './lib/resolver.mjs';

let s;
let grpcPort;
let token;
let integrationId;
let r1;
let r2;
const q = (v) => `'${String(v).replace(/'/g, "''")}'`;
const mock = (id, route, payload, extra = {}) => ({
  id,
  http: { route, httpMethod: 'GET' },
  response: { statusCode: 200, payload },
  ...extra,
});

before(async () => {
  grpcPort = await freePort();
  s = await startStack({ env: { GRPC_PORT: String(grpcPort) } });
  // the guide's call, verbatim in substance
  const c = await s.api('POST', '/ui/api/integrations', { name: 'resolver-prod-1', type: 'mock_resolver' });
  assert.ok(c.status === 200 || c.status === 201, c.text);
  assert.match(c.body.token, /^mki_/);
  assert.equal(c.body.integration.type, 'mock_resolver');
  assert.equal(c.body.integration.enabled, true);
  token = c.body.token;
  integrationId = c.body.integration.id;
  // a mock that exists before any resolver starts
  const m = await s.api('POST', '/api/v1/mocks', mock('before', '/api/users/:id', { who: 'before' }));
  assert.equal(m.status, 200, m.text);
  const env = { COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`, API_TOKEN: token };
  r1 = await startResolver({ ...env, RESOLVER_NAME: 'resolver-1' });
  r2 = await startResolver({ ...env, RESOLVER_NAME: 'resolver-2' });
});

after(async () => {
  await r1?.stop();
  await r2?.stop();
  await s?.stop();
});

test('mocks created before and after the resolvers started are served by both', async () => {
  for (const r of [r1, r2]) {
    const g = await r.get('/api/users/123');
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.body, { who: 'before' });
  }
  const c = await s.api('POST', '/api/v1/mocks', mock('after', '/after', { who: 'after' }));
  assert.equal(c.status, 200);
  for (const r of [r1, r2]) {
    await waitUntil(async () => (await r.get('/after')).status === 200, 3000, 10, 'new mock served');
    assert.deepEqual((await r.get('/after')).body, { who: 'after' });
  }
  // a deletion propagates as well
  const d = await s.api('DELETE', '/api/v1/mocks/after');
  assert.ok(d.status < 300, d.text);
  for (const r of [r1, r2]) await waitUntil(async () => (await r.get('/after')).status === 404, 3000, 10, 'deletion served');
});

test('/health/live answers as the guide shows; /metrics and the dashboard report the state', async () => {
  for (const r of [r1, r2]) {
    const h = await r.get('/health/live');
    assert.equal(h.status, 200);
    assert.equal(h.body.status, 'ok');
    assert.ok(h.body.releaseId);
    assert.ok(h.body.uptime);
    assert.equal((await r.get('/health/ready')).status, 200);
    const st = await r.status();
    assert.equal(st.coordinator.connected, true);
    assert.ok(st.mocksLoaded >= 1);
    const m = await r.get('/metrics');
    for (const name of ['mockarty_resolver_requests_total', 'mockarty_resolver_request_duration_seconds_bucket', 'mockarty_resolver_mocks_loaded', 'mockarty_resolver_cache_hits_total', 'mockarty_resolver_coordinator_connected 1', 'mockarty_resolver_applied_version', 'mockarty_resolver_dropped_total']) {
      assert.ok(m.text.includes(name), name);
    }
  }
  // the admin node lists both resolvers
  const n = await s.api('GET', '/ui/api/nodes');
  if (n.status === 200) {
    const names = JSON.stringify(n.body);
    assert.match(names, /resolver-1/);
    assert.match(names, /resolver-2/);
  }
});

test('request logs and misses served by a resolver reach the admin node in batches', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await r1.get(`/api/users/log-${i}`)).status, 200);
  assert.equal((await r1.get('/never/defined/by/anyone')).status, 404);
  await waitUntil(async () => {
    const l = await s.psqlJson("SELECT mockarty.mock_logs('before')");
    return l && l.total >= 1;
  }, 5000, 50, 'request log of the resolver-served mock');
  await waitUntil(async () => {
    const u = await s.psqlJson("SELECT mockarty.undefined_list('sandbox')");
    return JSON.stringify(u).includes('/never/defined/by/anyone');
  }, 5000, 50, 'the miss recorded as an undefined request');
  const st = await r1.status();
  assert.ok(st.reported >= 2, `reported ${st.reported}`);
  assert.equal(st.dropped, 0);
});

test('X-Mockarty-Min-Version gives read-your-writes on every resolver', async () => {
  for (let i = 0; i < 25; i++) {
    const c = await s.api('POST', '/api/v1/mocks', mock('ryw', '/ryw', { n: i }));
    assert.equal(c.status, 200, c.text);
    const v = c.headers.get('x-mockarty-version');
    assert.ok(v && Number(v) > 0, 'writes return X-Mockarty-Version');
    const r = i % 2 ? r1 : r2;
    const g = await r.get('/ryw', { 'X-Mockarty-Min-Version': v });
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.body, { n: i });
  }
});

test('useLimiter 10 hit concurrently through both resolvers and the admin node matches exactly 10 times', async () => {
  const c = await s.api('POST', '/api/v1/mocks', mock('limited', '/limited', { ok: true }, { useLimiter: 10 }));
  assert.equal(c.status, 200, c.text);
  const v = c.headers.get('x-mockarty-version');
  const targets = [r1.url, r2.url, s.admin.url];
  const results = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      fetch(targets[i % 3] + '/limited', { headers: { 'X-Mockarty-Min-Version': v } }).then(async (r) => ({ status: r.status, text: await r.text() })),
    ),
  );
  const hits = results.filter((r) => r.status === 200);
  assert.equal(hits.length, 10, `statuses: ${results.map((r) => r.status).join(',')}`);
  assert.equal(results.filter((r) => r.status === 404).length, 50);
});

test('admin node down for 10 s under load: no request fails, and the change made meanwhile arrives', async () => {
  let stop = false;
  let ok = 0;
  const failures = [];
  const loop = async () => {
    while (!stop) {
      try {
        const r = await fetch(r1.url + '/api/users/7');
        if (r.status !== 200) failures.push(r.status);
        else ok++;
        await r.arrayBuffer();
      } catch (e) {
        failures.push(e.message);
      }
    }
  };
  const loops = [loop(), loop(), loop(), loop()];
  await s.admin.kill();
  await waitUntil(async () => !(await r1.status()).coordinator.connected, 5000, 20, 'resolver sees the coordinator gone');
  // a change made while the admin node is down, straight through SQL
  await s.psql(`SELECT mockarty.mock_save(${q(JSON.stringify(mock('meanwhile', '/meanwhile', { during: 'outage' })))}::jsonb)`);
  await new Promise((r) => setTimeout(r, 10000));
  await s.admin.start();
  await waitUntil(async () => (await r1.get('/meanwhile')).status === 200, 10000, 20, 'catch-up after the restart');
  await waitUntil(async () => (await r2.get('/meanwhile')).status === 200, 10000, 20, 'catch-up after the restart');
  stop = true;
  await Promise.all(loops);
  assert.deepEqual(failures, []);
  assert.ok(ok > 500, `only ${ok} requests during the outage`);
  assert.deepEqual((await r1.get('/meanwhile')).body, { during: 'outage' });
});

test('a resolver killed and restarted resyncs and serves the current state', async () => {
  await r2.kill();
  const c = await s.api('POST', '/api/v1/mocks', mock('while-r2-down', '/while-r2-down', { r2: 'down' }));
  assert.equal(c.status, 200);
  await r2.start();
  const st = await r2.status();
  assert.equal(st.coordinator.snapshots, 1);
  assert.ok(st.appliedVersion >= Number(c.headers.get('x-mockarty-version')));
  assert.deepEqual((await r2.get('/while-r2-down')).body, { r2: 'down' });
  assert.deepEqual((await r2.get('/api/users/1')).body, { who: 'before' });
});

test('disabling the token disconnects both resolvers within 1 s, and they cannot reconnect', async () => {
  for (const r of [r1, r2]) await waitUntil(async () => (await r.status()).coordinator.connected, 5000, 20, 'connected');
  const t0 = Date.now();
  const d = await s.api('PUT', `/ui/api/integrations/${integrationId}`, { enabled: false });
  assert.ok(d.status < 300, d.text);
  await waitUntil(async () => {
    const a = await r1.status();
    const b = await r2.status();
    return !a.coordinator.connected && !b.coordinator.connected;
  }, 1000, 10, 'both disconnected within 1 s');
  const took = Date.now() - t0;
  // they keep trying, with backoff, and keep being refused
  await waitUntil(async () => (await r1.status()).coordinator.authRefused && (await r2.status()).coordinator.authRefused, 8000, 50, 'auth refused');
  await new Promise((r) => setTimeout(r, 1500));
  for (const r of [r1, r2]) {
    const st = await r.status();
    assert.equal(st.coordinator.connected, false);
    assert.equal(st.coordinator.state, 'auth_refused');
    // still serving the last snapshot
    assert.equal((await r.get('/api/users/5')).status, 200);
  }
  assert.ok(took <= 1000, `disconnect took ${took} ms`);
});
