// resolver_proxy.test.mjs - proxy mocks (proxy.target) served by a mock-resolver, which
// forwards through the same code as the admin node (daemons/common/proxy.c).
// What a user would notice: with ALLOW_PROXY_TO_PRIVATE_IPS=true a resolver sends the
// request's method, path, query, headers and body to an upstream on 127.0.0.1 and answers
// with the upstream's status, headers and body, the mock's delay coming on top of the
// upstream's answer; with it false (the default) the loopback target is refused with a 502
// envelope of code "external".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack, freePort, waitUntil } from './lib/harness.mjs';
import { startResolver } from './lib/resolver.mjs';

let s;
let upstream;
let seen = 0; // requests the upstream received
let open; // resolver with ALLOW_PROXY_TO_PRIVATE_IPS=true
let strict; // resolver with ALLOW_PROXY_TO_PRIVATE_IPS=false

before(async () => {
  upstream = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen++;
      res.writeHead(207, { 'Content-Type': 'application/json', 'X-Upstream': 'yes' });
      res.end(JSON.stringify({ method: req.method, url: req.url, probe: req.headers['x-probe'], body }));
    });
  });
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  const target = `http://127.0.0.1:${upstream.address().port}`;

  const grpcPort = await freePort();
  s = await startStack({ env: { GRPC_PORT: String(grpcPort) } });
  const c = await s.api('POST', '/ui/api/integrations', { name: 'resolver-proxy', type: 'mock_resolver' });
  assert.ok(c.status === 200 || c.status === 201, c.text);
  for (const m of [
    { id: 'rpx', http: { route: '/rpx/:rest' }, proxy: { target } },
    { id: 'rpx-slow', http: { route: '/rpx-slow' }, proxy: { target }, response: { delay: 400 } },
  ]) {
    const r = await s.api('POST', '/api/v1/mocks', m);
    assert.equal(r.status, 200, r.text);
  }
  const env = { COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`, API_TOKEN: c.body.token };
  open = await startResolver({ ...env, RESOLVER_NAME: 'proxy-open', ALLOW_PROXY_TO_PRIVATE_IPS: 'true' });
  strict = await startResolver({ ...env, RESOLVER_NAME: 'proxy-strict', ALLOW_PROXY_TO_PRIVATE_IPS: 'false' });
  for (const r of [open, strict]) {
    await waitUntil(async () => (await r.status()).mocksLoaded >= 2, 5000, 20, 'both proxy mocks loaded');
  }
});

after(async () => {
  await open?.stop();
  await strict?.stop();
  await s?.stop();
  upstream?.close();
});

test('a resolver allowed private targets forwards method, path, query, headers and body', async () => {
  const r = await open.get('/rpx/thing?a=1&b=two', { 'X-Probe': 'p1', 'Content-Type': 'text/plain' }, {
    method: 'PUT',
    body: 'hello',
  });
  assert.equal(r.status, 207, r.text);
  assert.equal(r.headers.get('x-upstream'), 'yes');
  assert.ok(r.headers.get('x-request-id'), 'X-Request-Id on a proxied answer');
  assert.deepEqual(r.body, { method: 'PUT', url: '/rpx/thing?a=1&b=two', probe: 'p1', body: 'hello' });

  const g = await open.get('/rpx/other');
  assert.equal(g.status, 207, g.text);
  assert.deepEqual(g.body, { method: 'GET', url: '/rpx/other', body: '' });
});

test("a proxy mock's delay is added after the upstream answered", async () => {
  const t0 = Date.now();
  const r = await open.get('/rpx-slow');
  const ms = Date.now() - t0;
  assert.equal(r.status, 207, r.text);
  assert.equal(r.body.url, '/rpx-slow');
  assert.ok(ms >= 380, `answered after ${ms} ms, the mock's delay is 400 ms`);
});

test('a resolver not allowed private targets answers 502 "external" and never calls the upstream', async () => {
  const before = seen;
  const r = await strict.get('/rpx/thing?a=1', {}, { method: 'POST', body: 'x' });
  assert.equal(r.status, 502, r.text);
  assert.equal(r.body.code, 'external');
  assert.match(r.body.error, /private|loopback/);
  assert.ok(r.body.request_id);
  assert.equal(seen, before, 'the upstream was not called');
});
