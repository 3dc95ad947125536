// connection_memory.test.mjs - HTTP_CONNECTION_MEMORY_KB (default 24): the memory of one HTTP
// connection for the request line, headers and query arguments and the response's headers.
// The HTTP library clears it before every request of a keep-alive connection, which is why the
// default is below the library's 32 KiB (docs/operations.md). What a user notices: requests
// with 12 KiB of headers or 300 query arguments and mocks answering with a 10 KiB header work,
// also over one keep-alive connection; more header data than fits is answered 431 and the node
// keeps serving; a larger setting admits it; a value out of range stops the node at start with
// a message naming it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startStack, repoRoot } from './lib/harness.mjs';

let s;
before(async () => {
  s = await startStack();
  for (const m of [
    { id: 'cm-echo', http: { route: '/cm/echo' }, response: { payload: { big: '$.reqHeader.X-Big' } } },
    { id: 'cm-hdr', http: { route: '/cm/hdr' }, response: { headers: { 'X-Answer': ['b'.repeat(10000)] }, payload: { ok: true } } },
  ]) {
    const r = await s.api('POST', '/api/v1/mocks', m);
    assert.equal(r.status, 200, `${m.id}: ${r.text}`);
  }
});
after(async () => {
  await s?.stop();
});

/** One GET on agent (keep-alive when given); resolves to { status, headers, text }. */
function get(port, p, headers = {}, agent = false) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, headers, agent, maxHeaderSize: 65536 }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${p}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

test('12 KiB of request headers and 300 query arguments are served, 30 KiB of headers get 431 and the node keeps serving', async () => {
  const ok = await get(s.port, '/cm/echo', { 'X-Big': 'a'.repeat(12000) });
  assert.equal(ok.status, 200, ok.text.slice(0, 300));
  assert.equal(JSON.parse(ok.text).big, 'a'.repeat(12000));
  const q = Array.from({ length: 300 }, (_, i) => `a=${i}`).join('&');
  const many = await get(s.port, `/cm/echo?${q}`, { 'X-Big': 'q' });
  assert.equal(many.status, 200, many.text.slice(0, 300));
  const big = await get(s.port, '/cm/echo', { 'X-Big': 'a'.repeat(30000) });
  assert.equal(big.status, 431, big.text.slice(0, 300));
  const after = await get(s.port, '/health/live');
  assert.equal(after.status, 200);
});

test('a keep-alive connection serves 300 requests of changing header sizes and a 10 KiB response header', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 300; i++) {
      const n = (i * 997) % 12000; // 0 .. 12 KiB, in no particular order
      const r = await get(s.port, '/cm/echo', { 'X-Big': 'c'.repeat(n) || 'x' }, agent);
      assert.equal(r.status, 200, `request ${i} (${n} bytes of header): ${r.text.slice(0, 200)}`);
      assert.equal(JSON.parse(r.text).big, 'c'.repeat(n) || 'x', `request ${i}`);
      if (i % 50 === 0) {
        const h = await get(s.port, '/cm/hdr', {}, agent);
        assert.equal(h.status, 200, `request ${i}: the mock with a 10 KiB header`);
        assert.equal(h.headers['x-answer'], 'b'.repeat(10000));
      }
    }
  } finally {
    agent.destroy();
  }
});

test('HTTP_CONNECTION_MEMORY_KB=64 admits 30 KiB of headers', async () => {
  const a = await s.spawnAdmin({ HTTP_CONNECTION_MEMORY_KB: '64' });
  const r = await get(a.port, '/cm/echo', { 'X-Big': 'a'.repeat(30000) });
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.equal(JSON.parse(r.text).big.length, 30000);
});

test('a value out of range stops the node at start, naming the setting', () => {
  for (const v of ['4', '2048', 'lots']) {
    const r = spawnSync(path.join(repoRoot, 'daemons/build/mockarty-admin'), [], {
      env: { ...process.env, DB_DSN: s.dsn, HTTP_PORT: '1', HTTP_CONNECTION_MEMORY_KB: v },
      encoding: 'utf8',
      timeout: 10000,
    });
    assert.notEqual(r.status, 0, `HTTP_CONNECTION_MEMORY_KB=${v} started`);
    assert.match(r.stderr + r.stdout, new RegExp(`HTTP_CONNECTION_MEMORY_KB: expected a size in KiB, 8\\.\\.1024, got "${v}"`));
  }
});
