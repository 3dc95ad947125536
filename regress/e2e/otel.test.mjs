// otel.test.mjs - OpenTelemetry tracing end to end (docs/telemetry.md): an admin node and
// mock-resolvers export to local OTLP/HTTP JSON and Zipkin v2 receivers (node http servers on
// free ports). What a user would notice: a request carrying a W3C traceparent through a
// resolver, its Coordinator.Resolve call, the coordinator and the webhook delivery of its
// mock.resolved event shows up as one trace with the right parent/child links and service names; admin API calls are named by route template;
// OTEL_SAMPLING_RATE=0.1 exports about a tenth of the root traces while a sampled parent is
// always honoured; malformed traceparent headers start new traces and never hurt a request;
// type none exports nothing; a span ended just before SIGTERM still arrives (flush); bad
// OTEL_* settings stop the daemon at start with a message naming the variable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { startStack, freePort, waitUntil } from './lib/harness.mjs';
import { startResolver, runResolver } from './lib/resolver.mjs';
import { startRunner } from './lib/runner.mjs';
import { startReceiver as startWebhookReceiver } from './lib/webhook_receiver.mjs';

// ---------------------------------------------------------------- receivers

/**
 * A collector stand-in: records every POST (path, parsed JSON) and flattens spans of both
 * formats into { traceId, spanId, parentSpanId, name, kind, service, attrs, format }.
 */
async function startReceiver() {
  const rec = { posts: [], spans: [] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      let doc = null;
      try {
        doc = JSON.parse(body);
      } catch {}
      rec.posts.push({ path: req.url, contentType: req.headers['content-type'], doc });
      if (doc && Array.isArray(doc.resourceSpans)) {
        for (const rs of doc.resourceSpans) {
          const rattrs = Object.fromEntries((rs.resource?.attributes || []).map((a) => [a.key, a.value.stringValue]));
          for (const ss of rs.scopeSpans || [])
            for (const sp of ss.spans || []) {
              const attrs = {};
              for (const a of sp.attributes || []) attrs[a.key] = a.value.stringValue ?? a.value.intValue;
              rec.spans.push({
                format: 'otlp',
                traceId: sp.traceId,
                spanId: sp.spanId,
                parentSpanId: sp.parentSpanId || '',
                name: sp.name,
                kind: sp.kind,
                service: rattrs['service.name'],
                component: rattrs['mockarty.component'],
                attrs,
                status: sp.status,
                start: BigInt(sp.startTimeUnixNano),
                end: BigInt(sp.endTimeUnixNano),
              });
            }
        }
      } else if (Array.isArray(doc)) {
        for (const sp of doc)
          rec.spans.push({
            format: 'zipkin',
            traceId: sp.traceId,
            spanId: sp.id,
            parentSpanId: sp.parentId || '',
            name: sp.name,
            kind: sp.kind,
            service: sp.localEndpoint?.serviceName,
            attrs: sp.tags || {},
            timestamp: sp.timestamp,
            duration: sp.duration,
          });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  rec.url = `http://127.0.0.1:${port}`;
  rec.close = () => new Promise((r) => server.close(r));
  return rec;
}

const hex = (n) => crypto.randomBytes(n).toString('hex');
const traceparent = (traceId, spanId, sampled = true) => `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;

// ---------------------------------------------------------------- the stack

let s;
let otlp;
let token;
let r1; // resolver exporting OTLP, sampling 1.0
let grpcPort;

before(async () => {
  otlp = await startReceiver();
  grpcPort = await freePort();
  s = await startStack({
    env: {
      GRPC_PORT: String(grpcPort),
      OTEL_EXPORTER_TYPE: 'otlp',
      OTEL_EXPORTER_ENDPOINT: otlp.url,
      OTEL_SERVICE_NAME: 'test-admin',
    },
  });
  const c = await s.api('POST', '/ui/api/integrations', { name: 'otel-resolver', type: 'mock_resolver' });
  assert.ok(c.status === 200 || c.status === 201, c.text);
  token = c.body.token;
  // stateful (a use limit): a resolver must ask the coordinator for every hit
  const m1 = await s.api('POST', '/api/v1/mocks', {
    id: 'otel-stateful',
    http: { route: '/traced/:id', httpMethod: 'GET' },
    response: { statusCode: 200, payload: { traced: true } },
    useLimiter: 1000000,
  });
  assert.equal(m1.status, 200, m1.text);
  const m2 = await s.api('POST', '/api/v1/mocks', {
    id: 'otel-static',
    http: { route: '/static/:n', httpMethod: 'GET' },
    response: { statusCode: 200, payload: { ok: true } },
  });
  assert.equal(m2.status, 200, m2.text);
  r1 = await startResolver({
    COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`,
    API_TOKEN: token,
    RESOLVER_NAME: 'otel-r1',
    OTEL_EXPORTER_TYPE: 'otlp',
    OTEL_EXPORTER_ENDPOINT: otlp.url,
    OTEL_SERVICE_NAME: 'test-resolver',
  });
  await waitUntil(async () => (await r1.get('/static/0')).status === 200, 5000, 20, 'static mock on r1');
});

after(async () => {
  await r1?.stop();
  await s?.stop();
  await otlp?.close();
});

const spansOf = (rec, traceId) => rec.spans.filter((x) => x.traceId === traceId);

test('resolver -> Coordinator.Resolve -> coordinator is one trace with correct parent links', async () => {
  const tid = hex(16);
  const caller = hex(8);
  const g = await r1.get('/traced/42', { traceparent: traceparent(tid, caller) });
  assert.equal(g.status, 200, g.text);
  assert.deepEqual(g.body, { traced: true });
  // batches leave every second; three spans from two processes
  await waitUntil(() => spansOf(otlp, tid).length >= 3, 5000, 20, 'three spans of the trace');
  const spans = spansOf(otlp, tid);
  const server = spans.find((x) => x.service === 'test-resolver' && x.kind === 2);
  const client = spans.find((x) => x.service === 'test-resolver' && x.kind === 3);
  const coord = spans.find((x) => x.service === 'test-admin' && x.kind === 2);
  assert.ok(server && client && coord, JSON.stringify(spans, (k, v) => (typeof v === 'bigint' ? String(v) : v)));
  assert.equal(server.parentSpanId, caller, 'resolver server span is a child of the given span');
  assert.equal(server.name, 'mock resolution');
  assert.equal(server.attrs['http.route'], '/traced/:id', 'route template, not the raw path');
  assert.equal(server.attrs['http.method'], 'GET');
  assert.equal(server.attrs['http.status_code'], '200');
  assert.equal(server.attrs['mockarty.mock_id'], 'otel-stateful');
  assert.equal(server.attrs['mockarty.namespace'], 'sandbox');
  assert.equal(server.component, 'resolver');
  assert.equal(client.parentSpanId, server.spanId, 'client span is a child of the server span');
  assert.equal(client.name, 'mockarty.coordinator.v1.Coordinator/Resolve');
  assert.equal(client.attrs['rpc.system'], 'grpc');
  assert.equal(client.attrs['rpc.grpc.status_code'], '0');
  assert.equal(coord.parentSpanId, client.spanId, 'coordinator span is a child of the client span');
  assert.equal(coord.name, 'mockarty.coordinator.v1.Coordinator/Resolve');
  assert.equal(coord.component, 'admin');
  // nesting in time: the client call lies within the server span
  assert.ok(client.start >= server.start && client.end <= server.end);
  const post = otlp.posts.find((p) => p.doc?.resourceSpans);
  assert.equal(post.path, '/v1/traces', 'an endpoint without a path gets /v1/traces');
  assert.match(post.contentType, /application\/json/);
});

test('resolver -> coordinator -> webhook: the mock.resolved delivery is a child span of the serving span and carries its context', async () => {
  const rx = await startWebhookReceiver();
  try {
    const w = await s.api('POST', '/api/v1/webhooks', { url: rx.url + '/traced', events: ['mock.resolved'] });
    assert.equal(w.status, 201, w.text);
    // the resolver learns that mock.resolved is wanted from the ack of a Report its traffic triggers
    await waitUntil(async () => {
      const m = (await r1.get('/metrics')).text;
      if (/^mockarty_webhook_resolved_events_enabled 1$/m.test(m)) return true;
      await r1.get('/static/0');
      return false;
    }, 10000, 100, 'the resolver to queue mock.resolved events');
    const tid = hex(16);
    const caller = hex(8);
    const g = await r1.get('/traced/7', { traceparent: traceparent(tid, caller) });
    assert.equal(g.status, 200, g.text);
    await waitUntil(() => rx.requests('/traced').some((q) => (q.headers.traceparent || '').includes(tid)), 15000, 50,
      'the webhook delivery of the traced request');
    const hook = rx.requests('/traced').find((q) => (q.headers.traceparent || '').includes(tid));
    // the resolver's and the admin node's exporters send their batches independently
    await waitUntil(() => {
      const sp = spansOf(otlp, tid);
      return sp.some((x) => x.name === 'webhook mock.resolved') && sp.filter((x) => x.service === 'test-resolver').length >= 2 &&
        sp.some((x) => x.service === 'test-admin' && x.name.endsWith('/Resolve'));
    }, 5000, 20, 'the four spans of the trace');
    const spans = spansOf(otlp, tid);
    const server = spans.find((x) => x.service === 'test-resolver' && x.kind === 2);
    const client = spans.find((x) => x.service === 'test-resolver' && x.kind === 3);
    const coord = spans.find((x) => x.service === 'test-admin' && x.name.endsWith('/Resolve'));
    const hookSpan = spans.find((x) => x.name === 'webhook mock.resolved');
    assert.ok(server && client && coord && hookSpan, JSON.stringify(spans, (k, v) => (typeof v === 'bigint' ? String(v) : v)));
    assert.equal(server.parentSpanId, caller);
    assert.equal(client.parentSpanId, server.spanId);
    assert.equal(coord.parentSpanId, client.spanId);
    assert.equal(hookSpan.parentSpanId, server.spanId, 'the delivery span is a child of the request that resolved the mock');
    assert.equal(hookSpan.kind, 3, 'a client span');
    assert.equal(hookSpan.service, 'test-admin', 'the admin node delivers');
    assert.equal(hook.headers.traceparent, traceparent(tid, hookSpan.spanId), 'the receiver gets the delivery span as its parent');
    await s.api('DELETE', `/api/v1/webhooks/${w.body.id}`);
  } finally {
    await rx.close();
  }
});

test('admin API calls are spans named "<METHOD> <route pattern>"; admin mock traffic is "mock resolution"', async () => {
  const tid = hex(16);
  const caller = hex(8);
  const r = await s.fetch('/api/v1/mocks/otel-static', { headers: { traceparent: traceparent(tid, caller) } });
  assert.equal(r.status, 200);
  const tid2 = hex(16);
  const m = await s.fetch('/static/7', { headers: { traceparent: traceparent(tid2, caller) }, token: null });
  assert.equal(m.status, 200);
  await waitUntil(() => spansOf(otlp, tid).length >= 1 && spansOf(otlp, tid2).length >= 1, 5000, 20, 'admin spans');
  const api = spansOf(otlp, tid)[0];
  assert.equal(api.service, 'test-admin');
  assert.equal(api.parentSpanId, caller);
  assert.match(api.name, /^GET \/api\/v1\/mocks\/:[a-zA-Z_]+$/);
  assert.equal(api.attrs['http.route'], api.name.slice(4));
  assert.equal(api.attrs['http.status_code'], '200');
  const mk = spansOf(otlp, tid2)[0];
  assert.equal(mk.name, 'mock resolution');
  assert.equal(mk.attrs['http.route'], '/static/:n');
  assert.equal(mk.attrs['mockarty.mock_id'], 'otel-static');
  assert.equal(mk.attrs['http.target'], '/static/7');
});

test('a test run started by REST is traced into the runner: the task span is a child of the API call', async () => {
  const tok = await s.api('POST', '/ui/api/integrations', { name: 'otel-runner', type: 'test_runner' });
  assert.ok(tok.status === 200 || tok.status === 201, tok.text);
  const coll = await s.api('POST', '/api/v1/api-tester/collections', {
    info: { name: 'traced', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
    item: [{ name: 'static', request: { method: 'GET', url: `${s.url}/static/1` },
      event: [{ listen: 'test', script: { exec: ['pm.test("ok", function () { pm.response.to.have.status(200); });'] } }] }],
  });
  assert.equal(coll.status, 201, coll.text);
  const runner = await startRunner({
    COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`,
    API_TOKEN: tok.body.token,
    RUNNER_NAME: 'otel-runner',
    SHARED: 'true',
    DASHBOARD_PORT: String(await freePort()),
    OTEL_EXPORTER_TYPE: 'otlp',
    OTEL_EXPORTER_ENDPOINT: otlp.url,
    OTEL_SERVICE_NAME: 'test-runner',
  }, { waitReady: true });
  try {
    const tid = hex(16);
    const caller = hex(8);
    const r = await s.fetch('/ui/api/test-runs/run?wait=30', {
      method: 'POST',
      headers: { traceparent: traceparent(tid, caller), 'Content-Type': 'application/json' },
      body: JSON.stringify({ collectionId: coll.body.id }),
    });
    const run = await r.json();
    assert.equal(run.status, 'passed', JSON.stringify(run).slice(0, 300));
    await waitUntil(() => spansOf(otlp, tid).some((x) => x.service === 'test-runner'), 5000, 20, 'the runner span');
    const spans = spansOf(otlp, tid);
    const api = spans.find((x) => x.service === 'test-admin' && x.kind === 2);
    const task = spans.find((x) => x.service === 'test-runner');
    assert.ok(api && task, JSON.stringify(spans, (k, v) => (typeof v === 'bigint' ? String(v) : v)));
    assert.equal(api.parentSpanId, caller);
    assert.equal(task.name, 'task api_test');
    assert.equal(task.parentSpanId, api.spanId, 'the task span is a child of the REST call that queued it');
    assert.equal(task.component, 'runner');
    assert.equal(task.attrs['mockarty.task_id'], run.id);
    assert.equal(task.attrs['mockarty.task_status'], 'completed');
  } finally {
    await runner.stop();
  }
});

test('malformed traceparent headers start new traces and never fail the request', async () => {
  const tid = hex(16);
  const sid = hex(8);
  const bad = [
    traceparent(tid, sid).toUpperCase(), // upper-case hex
    `01-${tid}-${sid}-01`, // unknown version
    `ff-${tid}-${sid}-01`,
    `00-${'0'.repeat(32)}-${sid}-01`, // all-zero trace id
    `00-${tid}-${'0'.repeat(16)}-01`, // all-zero span id
    `00-${tid}-${sid}-01-extra`,
    `00-${tid.slice(1)}-${sid}-01`,
    `00_${tid}_${sid}_01`,
    `00-${tid}-${sid}-0g`,
    'garbage',
    '-'.repeat(55),
    '',
  ];
  for (const [i, tp] of bad.entries()) {
    for (const node of [r1, null]) {
      const path = `/static/bad${i}`;
      const r = node ? await node.get(path, { traceparent: tp }) : await s.fetch(path, { headers: { traceparent: tp }, token: null });
      assert.equal(r.status, 200, `traceparent ${JSON.stringify(tp)}`);
    }
  }
  await waitUntil(
    () => bad.every((_, i) => otlp.spans.filter((x) => x.attrs['http.target'] === `/static/bad${i}`).length >= 2),
    5000,
    20,
    'a span per malformed request',
  );
  for (const [i] of bad.entries())
    for (const sp of otlp.spans.filter((x) => x.attrs['http.target'] === `/static/bad${i}`)) {
      assert.notEqual(sp.traceId, tid, 'a malformed parent is not adopted');
      assert.equal(sp.parentSpanId, '', 'a new trace: root span');
      assert.match(sp.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(sp.traceId, '0'.repeat(32));
    }
  // both daemons are still serving
  assert.equal((await r1.get('/health/live')).status, 200);
  assert.equal((await s.fetch('/health/live')).status, 200);
});

test('traceparent travels on proxied requests as the child of the serving span', async () => {
  const seen = [];
  const up = http.createServer((req, res) => {
    seen.push(req.headers.traceparent);
    res.end('upstream');
  });
  const port = await freePort();
  await new Promise((r) => up.listen(port, '127.0.0.1', r));
  try {
    const c = await s.api('POST', '/api/v1/mocks', {
      id: 'otel-proxy',
      http: { route: '/proxied/:x', httpMethod: 'GET' },
      proxy: { target: `http://127.0.0.1:${port}` },
    });
    assert.equal(c.status, 200, c.text);
    const tid = hex(16);
    const caller = hex(8);
    const r = await s.fetch('/proxied/1', { headers: { traceparent: traceparent(tid, caller) }, token: null });
    assert.equal(r.status, 200, await r.text());
    assert.equal(seen.length, 1);
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(seen[0]);
    assert.ok(m, `upstream got ${seen[0]}`);
    assert.equal(m[1], tid, 'same trace');
    assert.notEqual(m[2], caller, 'the upstream is a child of our span, not of our caller');
    await waitUntil(() => spansOf(otlp, tid).length >= 2, 5000, 20, 'server + proxy spans');
    const server = spansOf(otlp, tid).find((x) => x.kind === 2);
    const proxy = spansOf(otlp, tid).find((x) => x.kind === 3);
    assert.equal(server.parentSpanId, caller);
    assert.equal(proxy.parentSpanId, server.spanId);
    assert.equal(proxy.spanId, m[2], 'the header names the proxy client span');
  } finally {
    await new Promise((r) => up.close(r));
  }
});

test('OTEL_SAMPLING_RATE=0.1 exports about a tenth of root traces; sampled parents always win', async (t) => {
  const rec = await startReceiver();
  const r = await startResolver({
    COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`,
    API_TOKEN: token,
    RESOLVER_NAME: 'otel-sampled',
    OTEL_EXPORTER_TYPE: 'otlp',
    OTEL_EXPORTER_ENDPOINT: rec.url + '/v1/traces',
    OTEL_SERVICE_NAME: 'test-sampled',
    OTEL_SAMPLING_RATE: '0.1',
  });
  try {
    await waitUntil(async () => (await r.get('/static/warm')).status === 200, 5000, 20, 'mock loaded');
    const N = 1000;
    let next = 0;
    const worker = async () => {
      while (next < N) {
        const i = next++;
        const g = await r.get(`/static/s${i}`);
        assert.equal(g.status, 200);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    // 50 requests under sampled parents, 50 under parents that decided not to sample
    const yes = [];
    const no = [];
    for (let i = 0; i < 50; i++) {
      const a = hex(16);
      const b = hex(16);
      yes.push(a);
      no.push(b);
      assert.equal((await r.get(`/static/p${i}`, { traceparent: traceparent(a, hex(8), true) })).status, 200);
      assert.equal((await r.get(`/static/q${i}`, { traceparent: traceparent(b, hex(8), false) })).status, 200);
    }
    await r.stop(); // flushes what is queued
    const roots = rec.spans.filter((x) => /^\/static\/s\d+$/.test(x.attrs['http.target'] || ''));
    // Binomial(1000, 0.1): mean 100, sd 9.5; 60..140 is +-4.2 sd, failing by chance ~3e-5
    t.diagnostic(`exported ${roots.length} of ${N} root traces at rate 0.1`);
    assert.ok(roots.length >= 60 && roots.length <= 140, `exported ${roots.length} of ${N} root traces`);
    for (const x of roots) assert.equal(x.parentSpanId, '');
    for (const t of yes) assert.equal(spansOf(rec, t).length, 1, `sampled parent ${t} exported`);
    for (const t of no) assert.equal(spansOf(rec, t).length, 0, `unsampled parent ${t} not exported`);
  } finally {
    await r.stop();
    await rec.close();
  }
});

test('zipkin exporter posts Zipkin v2 JSON to /api/v2/spans', async () => {
  const rec = await startReceiver();
  const r = await startResolver({
    COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`,
    API_TOKEN: token,
    RESOLVER_NAME: 'otel-zipkin',
    OTEL_EXPORTER_TYPE: 'zipkin',
    OTEL_EXPORTER_ENDPOINT: rec.url,
    OTEL_SERVICE_NAME: 'test-zipkin',
  });
  try {
    const tid = hex(16);
    const caller = hex(8);
    await waitUntil(async () => (await r.get('/traced/1', { traceparent: traceparent(tid, caller) })).status === 200, 5000, 50, 'served');
    await waitUntil(() => spansOf(rec, tid).some((x) => x.kind === 'CLIENT'), 5000, 20, 'zipkin spans');
    const post = rec.posts.find((p) => Array.isArray(p.doc));
    assert.equal(post.path, '/api/v2/spans');
    const server = spansOf(rec, tid).find((x) => x.kind === 'SERVER' && x.parentSpanId === caller);
    const client = spansOf(rec, tid).find((x) => x.kind === 'CLIENT');
    assert.ok(server, JSON.stringify(spansOf(rec, tid)));
    assert.equal(server.service, 'test-zipkin');
    assert.equal(server.name, 'mock resolution');
    assert.equal(server.attrs['http.route'], '/traced/:id');
    assert.equal(server.attrs['http.status_code'], '200');
    assert.equal(client.parentSpanId, server.spanId);
    assert.ok(Number.isInteger(server.timestamp) && server.timestamp > 1.6e15, 'microseconds since the epoch');
    assert.ok(Number.isInteger(server.duration) && server.duration > 0);
    // the coordinator (exporting OTLP) continued the same trace
    await waitUntil(() => spansOf(otlp, tid).some((x) => x.parentSpanId === client.spanId), 5000, 20, 'coordinator span');
  } finally {
    await r.stop();
    await rec.close();
  }
});

test('a span ended just before SIGTERM is flushed; type none exports nothing', async () => {
  const rec = await startReceiver();
  const env = { COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`, API_TOKEN: token, OTEL_EXPORTER_ENDPOINT: rec.url };
  const a = await startResolver({ ...env, RESOLVER_NAME: 'otel-flush', OTEL_EXPORTER_TYPE: 'otlp', OTEL_SERVICE_NAME: 'test-flush' });
  const tid = hex(16);
  await waitUntil(async () => (await a.get('/static/f', { traceparent: traceparent(tid, hex(8)) })).status === 200, 5000, 20);
  await a.stop(); // well within the 1 s export interval
  assert.ok(spansOf(rec, tid).length >= 1, 'flushed at shutdown:\n' + a.logs());
  assert.match(a.logs(), /otel: stopped \(\d+ spans exported, 0 dropped/);

  const before = rec.posts.length;
  const b = await startResolver({ ...env, RESOLVER_NAME: 'otel-none', OTEL_EXPORTER_TYPE: 'none' });
  for (let i = 0; i < 20; i++) assert.equal((await b.get('/traced/9', { traceparent: traceparent(hex(16), hex(8)) })).status, 200);
  await b.stop();
  assert.equal(rec.posts.length, before, 'type none sends nothing');
  assert.doesNotMatch(b.logs(), /otel:/);
  await rec.close();
});

test('bad OTEL_* settings stop the daemon at start, naming the variable', () => {
  const base = { COORDINATOR_ADDR: '127.0.0.1:1', API_TOKEN: 'mki_x' };
  const cases = [
    [{ OTEL_EXPORTER_TYPE: 'datadog' }, /OTEL_EXPORTER_TYPE "datadog"/],
    [{ OTEL_EXPORTER_TYPE: 'otlp', OTEL_SAMPLING_RATE: '1.5' }, /OTEL_SAMPLING_RATE "1.5"/],
    [{ OTEL_EXPORTER_TYPE: 'otlp', OTEL_SAMPLING_RATE: 'half' }, /OTEL_SAMPLING_RATE "half"/],
    [{ OTEL_SAMPLING_RATE: '-0.1' }, /OTEL_SAMPLING_RATE/],
    [{ OTEL_EXPORTER_TYPE: 'zipkin', OTEL_EXPORTER_ENDPOINT: 'ftp://collector:21' }, /OTEL_EXPORTER_ENDPOINT "ftp:\/\/collector:21"/],
    [{ OTEL_EXPORTER_TYPE: 'jaeger', OTEL_EXPORTER_ENDPOINT: 'http://' }, /OTEL_EXPORTER_ENDPOINT/],
  ];
  for (const [env, re] of cases) {
    const r = runResolver([], { ...base, ...env });
    assert.equal(r.code, 2, JSON.stringify(env) + '\n' + r.stderr);
    assert.match(r.stderr, re);
  }
});
