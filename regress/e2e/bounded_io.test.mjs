// bounded_io.test.mjs - no single request or tenant can take a node down (issue 9, section 2):
// proxy mocks against a tarpit upstream, the proxy concurrency cap, the proxy address guard,
// the node-wide budget of buffered request bytes and the gRPC pre-auth receive limit.
// What a user would notice: while upstreams never answer, /health/live, other mocks and REST
// keep answering at once on the admin node and on a resolver; past PROXY_MAX_CONCURRENT a proxy
// mock answers 503 naming the setting; private, reserved and NAT64/6to4 addresses (and names
// resolving to loopback) are refused before any packet leaves; uploads beyond
// REQUEST_BUFFER_BUDGET_MB get 503 + Retry-After while memory stays bounded; an unauthenticated
// gRPC health or reflection call cannot make the coordinator buffer more than 64 KiB, and gRPC
// message buffers count in the same budget; a proxied hit's callbacks see the upstream's status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startStack, freePort, waitUntil, repoRoot } from './lib/harness.mjs';
import { startResolver } from './lib/resolver.mjs';
import { startReceiver } from './lib/webhook_receiver.mjs';

const require = createRequire(path.join(repoRoot, 'regress/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(
  ['grpc/health/v1/health.proto', 'grpc/reflection/v1/reflection.proto'],
  { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [path.join(repoRoot, 'proto')] }));

const WORKERS = 2; // THREADS of every node started here
let s; // stack: admin node with THREADS=2, coordinator on grpcPort
let resolver;
let upstream; // a normal upstream: echoes what it got
let seen = 0;
let tarpit; // accepts and never answers
const tarpitSockets = new Set();
let tarpitAccepted = 0;
let upTarget;
let tarpitTarget;

function releaseTarpit() {
  for (const sock of tarpitSockets) sock.destroy();
  tarpitSockets.clear();
}

// Time of one GET in ms, with its status.
async function timed(url, init = {}) {
  const t0 = performance.now();
  const r = await fetch(url, init);
  await r.arrayBuffer();
  return { ms: performance.now() - t0, status: r.status };
}

// The slowest of n sequential GETs.
async function slowest(url, n = 5, init = {}) {
  let worst = { ms: 0, status: 0 };
  for (let i = 0; i < n; i++) {
    const t = await timed(url, init);
    assert.ok(t.status < 500, `${url} answered ${t.status}`);
    if (t.ms > worst.ms) worst = t;
  }
  return worst;
}

// Fires n requests at a tarpit proxy mock; resolves once the tarpit holds n more connections.
async function fireAtTarpit(base, n) {
  const before = tarpitAccepted;
  const pending = [];
  for (let i = 0; i < n; i++) {
    pending.push(fetch(`${base}/tarpit/${i}`).then(async (r) => ({ status: r.status, text: await r.text() }),
      (e) => ({ status: 0, text: String(e) })));
  }
  await waitUntil(() => tarpitAccepted - before >= n, 5000, 10, `${n} upstream connections held by the tarpit`);
  return pending;
}

function metric(text, name) {
  const m = text.match(new RegExp(`^${name} ([0-9.e+]+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

before(async () => {
  upstream = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen++;
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Upstream': 'yes' });
      res.end(JSON.stringify({ method: req.method, url: req.url, body }));
    });
  });
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  upTarget = `http://127.0.0.1:${upstream.address().port}`;
  tarpit = net.createServer((sock) => {
    tarpitAccepted++;
    tarpitSockets.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => tarpitSockets.delete(sock));
  });
  await new Promise((r) => tarpit.listen(0, '127.0.0.1', r));
  tarpitTarget = `http://127.0.0.1:${tarpit.address().port}`;

  const grpcPort = await freePort();
  s = await startStack({ env: { GRPC_PORT: String(grpcPort), THREADS: String(WORKERS) } });
  for (const m of [
    { id: 'bio-tarpit', http: { route: '/tarpit/:n' }, proxy: { target: tarpitTarget } },
    { id: 'bio-up', http: { route: '/up/:rest' }, proxy: { target: upTarget } },
    { id: 'bio-static', http: { route: '/static' }, response: { statusCode: 200, payload: { ok: true } } },
  ]) {
    const r = await s.api('POST', '/api/v1/mocks', m);
    assert.equal(r.status, 200, r.text);
  }
  const c = await s.api('POST', '/ui/api/integrations', { name: 'bounded-io', type: 'mock_resolver' });
  assert.ok(c.status === 200 || c.status === 201, c.text);
  resolver = await startResolver({
    COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`, API_TOKEN: c.body.token, RESOLVER_NAME: 'bounded-io',
    ALLOW_PROXY_TO_PRIVATE_IPS: 'true', THREADS: String(WORKERS),
  });
  await waitUntil(async () => (await resolver.status()).mocksLoaded >= 3, 5000, 20, 'resolver loaded the mocks');
});

after(async () => {
  releaseTarpit();
  await resolver?.stop();
  await s?.stop();
  upstream?.close();
  tarpit?.close();
});

test('tarpit upstreams do not freeze the admin node: health, other mocks and REST answer at once', async (t) => {
  const base = s.url;
  const baseline = await slowest(`${base}/static`);
  const pending = await fireAtTarpit(base, WORKERS + 2);
  try {
    const live = await slowest(`${base}/health/live`, 10);
    assert.ok(live.ms < 100, `/health/live took ${live.ms.toFixed(1)} ms while ${WORKERS + 2} proxy calls hang`);
    const mock = await slowest(`${base}/static`, 10);
    assert.ok(mock.ms < Math.max(100, 5 * baseline.ms), `a static mock took ${mock.ms.toFixed(1)} ms (before: ${baseline.ms.toFixed(1)} ms)`);
    const t0 = performance.now();
    const rest = await s.api('GET', '/api/v1/mocks/bio-static');
    const restMs = performance.now() - t0;
    assert.equal(rest.status, 200, rest.text);
    assert.ok(restMs < 500, `REST took ${restMs.toFixed(1)} ms`);
    t.diagnostic(`admin, ${WORKERS + 2} hanging proxy calls: /health/live max ${live.ms.toFixed(1)} ms, static mock max ${mock.ms.toFixed(1)} ms (before ${baseline.ms.toFixed(1)} ms), REST ${restMs.toFixed(1)} ms`);
    const proxied = await s.api('GET', '/up/fine');
    assert.equal(proxied.status, 200, proxied.text);
    assert.equal(proxied.body.url, '/up/fine');
    const m = await (await fetch(`${base}/metrics`)).text();
    assert.ok(metric(m, 'mockarty_proxy_in_flight') >= WORKERS + 2, 'the hanging calls are in flight');
  } finally {
    releaseTarpit();
  }
  for (const r of await Promise.all(pending)) {
    assert.equal(r.status, 502, `a dropped upstream is a 502: ${r.text}`);
    assert.match(r.text, /"code":"external"/);
  }
});

test('tarpit upstreams do not freeze a resolver: health and other mocks answer at once', async (t) => {
  const base = resolver.url;
  const baseline = await slowest(`${base}/static`);
  const pending = await fireAtTarpit(base, WORKERS + 2);
  try {
    const live = await slowest(`${base}/health/live`, 10);
    assert.ok(live.ms < 100, `/health/live took ${live.ms.toFixed(1)} ms while ${WORKERS + 2} proxy calls hang`);
    const mock = await slowest(`${base}/static`, 10);
    assert.ok(mock.ms < Math.max(100, 5 * baseline.ms), `a static mock took ${mock.ms.toFixed(1)} ms (before: ${baseline.ms.toFixed(1)} ms)`);
    t.diagnostic(`resolver, ${WORKERS + 2} hanging proxy calls: /health/live max ${live.ms.toFixed(1)} ms, static mock max ${mock.ms.toFixed(1)} ms (before ${baseline.ms.toFixed(1)} ms)`);
    const proxied = await resolver.get('/up/fine');
    assert.equal(proxied.status, 200, proxied.text);
    assert.equal(proxied.body.url, '/up/fine');
  } finally {
    releaseTarpit();
  }
  for (const r of await Promise.all(pending)) assert.equal(r.status, 502, r.text);
});

test('past PROXY_MAX_CONCURRENT a proxy mock answers 503 naming the setting; under it proxying works', async () => {
  const a = await s.spawnAdmin({ PROXY_MAX_CONCURRENT: '2', THREADS: String(WORKERS) });
  const pending = await fireAtTarpit(a.url, 2);
  let r;
  try {
    const before = seen;
    r = await fetch(`${a.url}/up/over-cap`);
    const body = await r.json();
    assert.equal(r.status, 503, JSON.stringify(body));
    assert.equal(r.headers.get('retry-after'), '1');
    assert.equal(body.code, 'unavailable');
    assert.match(body.error, /PROXY_MAX_CONCURRENT=2/);
    assert.ok(body.request_id);
    assert.equal(seen, before, 'the upstream was not called over the cap');
    const m = await (await fetch(`${a.url}/metrics`)).text();
    assert.ok(metric(m, 'mockarty_proxy_refused_total') >= 1);
  } finally {
    releaseTarpit();
  }
  await Promise.all(pending);
  r = await fetch(`${a.url}/up/under-cap?q=1`, { method: 'POST', body: 'payload' });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.equal(r.headers.get('x-upstream'), 'yes');
  assert.deepEqual(body, { method: 'POST', url: '/up/under-cap?q=1', body: 'payload' });
  await a.stop();
});

test('the proxy guard refuses every blocked range and names that resolve to loopback', async () => {
  const a = await s.spawnAdmin({ ALLOW_PROXY_TO_PRIVATE_IPS: 'false' });
  const port = upstream.address().port;
  const targets = {
    'bench-198-18': 'http://198.18.0.1:9',
    'bench-198-19': 'http://198.19.255.254:9',
    multicast: 'http://224.0.0.1:9',
    reserved: 'http://240.0.0.1:9',
    broadcast: 'http://255.255.255.255:9',
    nat64: 'http://[64:ff9b::808:808]:9',
    sixtofour: 'http://[2002:c000:201::1]:9',
    v4compat: 'http://[::7f00:1]:9',
    v4mapped: `http://[::ffff:127.0.0.1]:${port}`,
    loopback: `http://127.0.0.1:${port}`,
    localhost: `http://localhost:${port}`, // a name resolving to loopback: checked at connect time
  };
  for (const [name, target] of Object.entries(targets)) {
    const r = await s.api('POST', '/api/v1/mocks', { id: `bio-guard-${name}`, http: { route: `/guard/${name}` }, proxy: { target } });
    assert.equal(r.status, 200, r.text);
  }
  await waitUntil(async () => (await fetch(`${a.url}/guard/localhost`)).status !== 404, 5000, 20, 'the guard mocks loaded');
  const before = seen;
  for (const name of Object.keys(targets)) {
    const t0 = performance.now();
    const r = await fetch(`${a.url}/guard/${name}`);
    const body = await r.json();
    assert.equal(r.status, 502, `${name}: ${JSON.stringify(body)}`);
    assert.equal(body.code, 'external', name);
    assert.match(body.error, /private or loopback address \(set ALLOW_PROXY_TO_PRIVATE_IPS=true/, `${name}: ${body.error}`);
    assert.ok(performance.now() - t0 < 2000, `${name} refused at once, not after a connect timeout`);
  }
  assert.equal(seen, before, 'the upstream on loopback was never called');
  await a.stop();
});

test("a proxied hit's callbacks fire with the upstream's status, after it answered", async () => {
  const rx = await startReceiver();
  try {
    const hooks = [
      { url: `${rx.url}/pcb/ok/$.pathParam.id`, trigger: 'on_success' },
      { url: `${rx.url}/pcb/err/$.pathParam.id`, trigger: 'on_error' },
    ];
    const closed = await freePort(); // nothing listens there: the upstream call fails, 502
    for (const m of [
      { id: 'bio-pcb-up', http: { route: '/pcb-up/:id' }, proxy: { target: upTarget }, webhooks: hooks },
      { id: 'bio-pcb-down', http: { route: '/pcb-down/:id' }, proxy: { target: `http://127.0.0.1:${closed}` }, webhooks: hooks },
    ]) {
      const r = await s.api('POST', '/api/v1/mocks', m);
      assert.equal(r.status, 200, r.text);
    }
    const ok = await fetch(`${s.url}/pcb-up/a`);
    await ok.arrayBuffer();
    assert.equal(ok.status, 200);
    const bad = await fetch(`${s.url}/pcb-down/b`);
    await bad.arrayBuffer();
    assert.equal(bad.status, 502);
    await waitUntil(() => rx.requests('/pcb/ok/a').length === 1 && rx.requests('/pcb/err/b').length === 1,
      5000, 20, 'on_success for the 200, on_error for the 502');
    // the wrong triggers stay silent: a later callback of each mock arrives after any of them would
    const again = await fetch(`${s.url}/pcb-up/c`);
    await again.arrayBuffer();
    await waitUntil(() => rx.requests('/pcb/ok/c').length === 1, 5000, 20, 'a later on_success');
    assert.equal(rx.requests('/pcb/err/a').length, 0, 'on_error must not fire on the upstream 200');
    assert.equal(rx.requests('/pcb/ok/b').length, 0, 'on_success must not fire on a 502');
  } finally {
    await rx.close();
  }
});

// Raw HTTP/1.1 upload: sends the head and `first` body bytes; `.response` resolves with
// { status, headers, body } once the node answers (or null when the socket closes without one).
function upload(port, length, first) {
  const sock = net.connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  const u = { sock, answered: null };
  u.response = new Promise((resolve) => {
    const done = () => {
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const lines = text.slice(0, end).split('\r\n');
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      const len = Number(headers['content-length'] || 0);
      if (buf.length - end - 4 < len) return null;
      return { status: Number(lines[0].split(' ')[1]), headers, body: text.slice(end + 4, end + 4 + len) };
    };
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const r = done();
      if (r && !u.answered) {
        u.answered = r;
        resolve(r);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => resolve(u.answered || done()));
  });
  sock.write(`POST /upload-sink HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`);
  if (first > 0) sock.write(Buffer.alloc(first, 0x61));
  return u;
}

function rssBytes(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(m[1]) * 1024;
}

test('uploads beyond REQUEST_BUFFER_BUDGET_MB get 503 + Retry-After; health stays fast and RSS bounded', async (t) => {
  const BUDGET_MB = 16;
  const SIZE = 4 << 20; // each upload: 4 MiB, within the 5 MB body limit
  const N = 12; // 48 MiB in all: three times the budget
  const MARGIN_MB = 24; // allocator and connection buffers on top of the budget
  const a = await s.spawnAdmin({ REQUEST_BUFFER_BUDGET_MB: String(BUDGET_MB), THREADS: String(WORKERS) });
  const metrics = async () => (await (await fetch(`${a.url}/metrics`)).text());
  const rss0 = rssBytes(a.pid);
  const ups = [];
  let peak = 0;
  try {
    for (let i = 0; i < N; i++) {
      const before = metric(await metrics(), 'mockarty_request_buffer_bytes');
      const u = upload(a.port, SIZE, 0); // the head first: a refusal comes before any body byte
      ups.push(u);
      await waitUntil(async () => u.answered || metric(await metrics(), 'mockarty_request_buffer_bytes') >= before + SIZE,
        10000, 20, `upload ${i} refused or reserved`);
      if (!u.answered) { // all but the last byte: the body is held, unanswered
        await new Promise((r) => u.sock.write(Buffer.alloc(SIZE - 1, 0x61), r));
      }
      peak = Math.max(peak, rssBytes(a.pid));
    }
    const refused = ups.filter((u) => u.answered);
    const held = ups.filter((u) => !u.answered);
    assert.ok(held.length >= 1 && held.length <= BUDGET_MB / 4, `${held.length} uploads held within a ${BUDGET_MB} MB budget`);
    assert.equal(refused.length, N - held.length);
    for (const u of refused) {
      assert.equal(u.answered.status, 503, u.answered.body);
      assert.equal(u.answered.headers['retry-after'], '1');
      const env = JSON.parse(u.answered.body);
      assert.equal(env.code, 'unavailable');
      assert.match(env.error, /REQUEST_BUFFER_BUDGET_MB=16/);
    }
    const m = await metrics();
    assert.ok(metric(m, 'mockarty_request_buffer_bytes') <= BUDGET_MB << 20);
    assert.ok(metric(m, 'mockarty_request_buffer_refused_total') >= refused.length);
    const live = await slowest(`${a.url}/health/live`, 10);
    assert.ok(live.ms < 100, `/health/live took ${live.ms.toFixed(1)} ms while ${held.length} uploads are held`);
    peak = Math.max(peak, rssBytes(a.pid));
    const grown = (peak - rss0) / (1 << 20);
    t.diagnostic(`${N} uploads of 4 MiB, budget ${BUDGET_MB} MB: ${held.length} held, ${refused.length} refused; RSS grew ${grown.toFixed(1)} MB; /health/live max ${live.ms.toFixed(1)} ms`);
    assert.ok(grown < BUDGET_MB + MARGIN_MB, `RSS grew ${grown.toFixed(1)} MB (budget ${BUDGET_MB} MB + margin ${MARGIN_MB} MB)`);
    // the held uploads complete normally (no mock: 404), and their bytes are given back
    for (const u of held) u.sock.write('a');
    for (const u of held) {
      const r = await u.response;
      assert.equal(r?.status, 404, r?.body);
    }
    await waitUntil(async () => metric(await metrics(), 'mockarty_request_buffer_bytes') === 0, 5000, 20, 'the budget released');
    const again = await fetch(`${a.url}/upload-sink`, { method: 'POST', body: Buffer.alloc(SIZE, 0x62) });
    await again.arrayBuffer();
    assert.equal(again.status, 404, 'a new upload fits again');
  } finally {
    for (const u of ups) u.sock.destroy();
    await a.stop();
  }
});

test('an unauthenticated gRPC health or reflection call cannot buffer more than 64 KiB', async () => {
  const opts = { 'grpc.use_local_subchannel_pool': 1 };
  const health = new pkg.grpc.health.v1.Health(s.grpcAddr, grpc.credentials.createInsecure(), opts);
  const refl = new pkg.grpc.reflection.v1.ServerReflection(s.grpcAddr, grpc.credentials.createInsecure(), opts);
  const check = (service) => new Promise((resolve) => {
    health.Check({ service }, { deadline: Date.now() + 10000 }, (err, res) => resolve({ err, res }));
  });
  try {
    const big = await check('x'.repeat(100 * 1024));
    assert.equal(big.err?.code, grpc.status.RESOURCE_EXHAUSTED, String(big.err));
    assert.match(big.err.details, /without credentials/);

    const st = await new Promise((resolve) => {
      const call = refl.ServerReflectionInfo();
      call.on('data', () => {});
      call.on('error', (e) => resolve(e));
      call.on('end', () => resolve(null));
      call.write({ host: 'h'.repeat(200 * 1024), list_services: '' });
    });
    assert.equal(st?.code, grpc.status.RESOURCE_EXHAUSTED, String(st));

    // small calls on the same coordinator still work
    const ok = await check('');
    assert.equal(ok.err, null, String(ok.err));
    assert.equal(ok.res.status, 'SERVING');
    const t = await timed(`${s.url}/health/live`);
    assert.equal(t.status, 200);
  } finally {
    health.close();
    refl.close();
  }
});

test('gRPC message buffers count in REQUEST_BUFFER_BUDGET_MB: past it a call ends RESOURCE_EXHAUSTED', async (t) => {
  const a = await s.spawnAdmin({ REQUEST_BUFFER_BUDGET_MB: '1', THREADS: String(WORKERS) });
  const refl = new pkg.grpc.reflection.v1.ServerReflection(a.grpcAddr, grpc.credentials.createInsecure(),
    { 'grpc.use_local_subchannel_pool': 1 });
  const N = 24; // streams holding a 60 KiB message buffer each: about 1.5 MB against a 1 MB budget
  const calls = [];
  try {
    const outcomes = await Promise.all(Array.from({ length: N }, () => new Promise((resolve) => {
      const call = refl.ServerReflectionInfo();
      calls.push(call);
      call.on('data', () => resolve({ ok: true }));
      call.on('error', (e) => resolve({ err: e }));
      call.write({ host: 'h'.repeat(60 * 1024), list_services: '' });
    })));
    const refused = outcomes.filter((o) => o.err);
    const served = outcomes.filter((o) => o.ok);
    t.diagnostic(`${N} reflection streams of 60 KiB, budget 1 MB: ${served.length} served, ${refused.length} refused`);
    assert.ok(served.length >= 1 && refused.length >= 1, `${served.length} served, ${refused.length} refused`);
    for (const o of refused) {
      assert.equal(o.err.code, grpc.status.RESOURCE_EXHAUSTED, String(o.err));
      assert.match(o.err.details, /REQUEST_BUFFER_BUDGET_MB/);
    }
    const m = await (await fetch(`${a.url}/metrics`)).text();
    assert.ok(metric(m, 'mockarty_request_buffer_refused_total') >= refused.length);
    // the streams end: their buffers are given back and a new stream is served
    for (const c of calls) c.end();
    await waitUntil(async () => metric(await (await fetch(`${a.url}/metrics`)).text(), 'mockarty_request_buffer_bytes') === 0,
      5000, 20, 'the gRPC buffers released');
    const again = await new Promise((resolve) => {
      const call = refl.ServerReflectionInfo();
      calls.push(call);
      call.on('data', () => resolve(null));
      call.on('error', (e) => resolve(e));
      call.write({ host: 'h'.repeat(60 * 1024), list_services: '' });
    });
    assert.equal(again, null, String(again));
  } finally {
    for (const c of calls) c.cancel();
    refl.close();
    await a.stop();
  }
});
