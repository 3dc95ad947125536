// serving.test.mjs - mock traffic on the admin node: the guide's CI example end to end,
// namespace routing (/stubs/{ns}/, X-Namespace), misses (404 envelope + undefined list),
// keep-alive, and delays that do not block other requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack, waitUntil } from './lib/harness.mjs';

let s;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s?.stop();
});

// The exact body of the integrations guide's "Creating Mocks in CI" curl example.
const guideBody = `{
"id": "ci-users-get",
"http": {
"route": "/api/users/:id",
"httpMethod": "GET"
},
"response": {
"statusCode": 200,
"payload": {
"id": "$.pathParam.id",
"name": "$.fake.FirstName",
"email": "$.fake.Email"
}
}
}`;

test('the guide example: POST /mock/create with a Bearer mk_ token, then GET /api/users/123', async () => {
  assert.match(s.token, /^mk_/);
  const c = await s.fetch('/mock/create', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: guideBody,
  });
  assert.ok(c.status >= 200 && c.status < 300, `create answered ${c.status}: ${await c.clone().text()}`);
  const created = await c.json();
  assert.equal(created.mock.id, 'ci-users-get');
  assert.equal(created.overwritten, false);

  const r = await s.api('GET', '/api/users/123', undefined, { token: null });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /application\/json/);
  assert.equal(r.body.id, '123');
  assert.match(r.body.name, /^[A-Z][a-z]+$/, `a capitalised first name, got ${r.body.name}`);
  assert.match(r.body.email, /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i, `an email, got ${r.body.email}`);
  assert.ok(r.headers.get('x-request-id'));

  // posting the same id again overwrites
  const again = await s.api('POST', '/mock/create', guideBody);
  assert.equal(again.body.overwritten, true);
});

test('/stubs/{ns}/ selects the namespace; X-Namespace too; root is sandbox', async () => {
  await s.psql("SELECT mockarty.namespace_create('team-a') WHERE NOT EXISTS (SELECT 1 FROM mockarty.namespace_list() n WHERE n = 'team-a')");
  const c = await s.api('POST', '/api/v1/mocks', {
    id: 'ns-probe',
    namespace: 'team-a',
    http: { route: '/ns-probe', httpMethod: 'GET' },
    response: { payload: { from: 'team-a' } },
  });
  assert.equal(c.status, 200, c.text);
  assert.equal(c.body.mock.namespace, 'team-a');

  const viaStubs = await s.api('GET', '/stubs/team-a/ns-probe', undefined, { token: null });
  assert.equal(viaStubs.status, 200, viaStubs.text);
  assert.deepEqual(viaStubs.body, { from: 'team-a' });

  const viaHeader = await s.api('GET', '/ns-probe', undefined, { token: null, headers: { 'X-Namespace': 'team-a' } });
  assert.equal(viaHeader.status, 200, viaHeader.text);

  const root = await s.api('GET', '/ns-probe', undefined, { token: null });
  assert.equal(root.status, 404, 'a team-a mock is not served from the sandbox root');
});

test('a miss answers the 404 envelope and is recorded as an undefined request', async () => {
  const r = await s.api('GET', '/definitely/not/mocked?x=1', undefined, { token: null });
  assert.equal(r.status, 404);
  assert.equal(r.body.code, 'not_found');
  assert.equal(typeof r.body.error, 'string');
  assert.equal(r.body.request_id, r.headers.get('x-request-id'));
  await waitUntil(async () => {
    const list = await s.psqlJson("SELECT mockarty.undefined_list('sandbox')");
    return (list || []).some((u) => u.path === '/definitely/not/mocked' && u.method === 'GET');
  }, 3000, 20, 'the miss in mockarty.undefined_list');
});

test('API paths are never shadowed by mocks', async () => {
  const c = await s.api('POST', '/api/v1/mocks', { id: 'shadow', http: { route: '/api/v1/mocks' }, response: { payload: 'gotcha' } });
  assert.equal(c.status, 200, c.text);
  const list = await s.api('GET', '/api/v1/mocks');
  assert.equal(list.status, 200);
  assert.ok(Array.isArray(list.body.items));
  const h = await s.api('GET', '/health', undefined, { token: null });
  assert.equal(h.body.status, 'pass');
  assert.equal(h.body.checks.database[0].status, 'pass');
  await s.api('DELETE', '/api/v1/mocks/shadow/purge');
});

test('keep-alive: two requests reuse one socket', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const call = (method, path, body) =>
    new Promise((resolve, reject) => {
      const req = http.request(`${s.url}${path}`, { agent, method, headers: body ? { 'Content-Type': 'application/json', Authorization: `Bearer ${s.token}` } : {} }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, reused: req.reusedSocket, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const a = await call('GET', '/api/users/1');
  const b = await call('GET', '/api/users/2');
  // a request with a body (the response is queued only after the upload finished)
  const c = await call('POST', '/api/v1/mocks', JSON.stringify({ id: 'ka', http: { route: '/ka' }, response: { payload: 1 } }));
  const d = await call('GET', '/ka');
  agent.destroy();
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.equal(c.status, 200, c.text);
  assert.equal(d.status, 200);
  assert.notEqual(a.headers.connection, 'close', 'first response must not close the connection');
  assert.equal(b.reused, true, 'the second request went over the first socket');
  assert.equal(c.reused, true, 'the POST went over the same socket');
  assert.equal(d.reused, true, 'the socket survived the POST');
});

test('a delayed mock does not block other requests', async () => {
  const c = await s.api('POST', '/api/v1/mocks', {
    id: 'slow',
    http: { route: '/slow', httpMethod: 'GET' },
    response: { payload: { slow: true }, delay: 1500 },
  });
  assert.equal(c.status, 200, c.text);
  const t0 = Date.now();
  // more delayed requests in flight than the node has threads (THREADS=4 in the harness)
  const slow = Array.from({ length: 8 }, () =>
    s.api('GET', '/slow', undefined, { token: null }).then((r) => ({ r, ms: Date.now() - t0 })),
  );
  await new Promise((r) => setTimeout(r, 100));
  const fastStart = Date.now();
  for (let i = 0; i < 5; i++) {
    const f = await s.api('GET', `/api/users/${i}`, undefined, { token: null });
    assert.equal(f.status, 200);
  }
  const fastMs = Date.now() - fastStart;
  assert.ok(fastMs < 700, `5 quick requests took ${fastMs} ms while 8 delayed ones were pending`);
  for (const { r, ms } of await Promise.all(slow)) {
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { slow: true });
    assert.ok(ms >= 1450, `delayed answer after ${ms} ms`);
    assert.ok(ms < 4000, `delayed answer after ${ms} ms`);
  }
});

test('response headers (multi-valued), string payload as text/plain, base64 payload decoded', async () => {
  let c = await s.api('POST', '/api/v1/mocks', {
    id: 'hdrs',
    http: { route: '/hdrs', httpMethod: 'GET' },
    response: { statusCode: 202, headers: { 'X-Multi': ['a', 'b'], 'X-One': ['1'] }, payload: 'plain text' },
  });
  assert.equal(c.status, 200, c.text);
  let r = await s.fetch('/hdrs', { token: null });
  assert.equal(r.status, 202);
  assert.match(r.headers.get('content-type'), /^text\/plain/);
  assert.equal(r.headers.get('x-multi'), 'a, b');
  assert.equal(r.headers.get('x-one'), '1');
  assert.equal(await r.text(), 'plain text');

  c = await s.api('POST', '/api/v1/mocks', {
    id: 'bin',
    http: { route: '/bin', httpMethod: 'GET' },
    response: { headers: { 'Content-Type': ['image/png'] }, payload: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]).toString('base64'), decode: 'base64' },
  });
  assert.equal(c.status, 200, c.text);
  r = await s.fetch('/bin', { token: null });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'image/png');
  assert.deepEqual([...new Uint8Array(await r.arrayBuffer())], [0x89, 0x50, 0x4e, 0x47, 0, 1, 2]);
});

test('proxy: forwards method, path, query, headers and body; private targets refused unless allowed', async () => {
  const upstream = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      res.writeHead(207, { 'Content-Type': 'application/json', 'X-Upstream': 'yes' });
      res.end(JSON.stringify({ method: req.method, url: req.url, probe: req.headers['x-probe'], body }));
    });
  });
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  const target = `http://127.0.0.1:${upstream.address().port}`;
  try {
    const c = await s.api('POST', '/api/v1/mocks', { id: 'px', http: { route: '/px/:rest' }, proxy: { target } });
    assert.equal(c.status, 200, c.text);
    const r = await s.api('PUT', '/px/thing?a=1&b=two', 'hello', { token: null, headers: { 'X-Probe': 'p1', 'Content-Type': 'text/plain' } });
    assert.equal(r.status, 207, r.text);
    assert.equal(r.headers.get('x-upstream'), 'yes');
    assert.deepEqual(r.body, { method: 'PUT', url: '/px/thing?a=1&b=two', probe: 'p1', body: 'hello' });

    const strict = await s.spawnAdmin({ ALLOW_PROXY_TO_PRIVATE_IPS: 'false' });
    const refusedR = await s.api('GET', '/px/thing', undefined, { token: null, base: strict.url });
    assert.equal(refusedR.status, 502, refusedR.text);
    assert.equal(refusedR.body.code, 'external');
    assert.match(refusedR.body.error, /private|loopback/);
    await strict.stop();
  } finally {
    upstream.close();
  }
});
