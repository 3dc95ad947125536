// webhook_callbacks.test.mjs - per-mock callbacks (a mock's "webhooks" array) and
// mock.resolved events produced by the serving nodes (docs/webhooks.md):
//   - a callback whose url, header and body use templates ($.pathParam.id, $.reqHeader,
//     $.req) arrives rendered, with its method and headers, from the admin node and from a
//     mock resolver;
//   - retryCount/retryDelay: a failing receiver gets 1 + retryCount attempts retryDelay apart
//     (within 10%);
//   - triggers: on_error does not fire on a 200, on_success does; on_error fires on a 500;
//   - N requests to a mock with a mock.resolved webhook give exactly N deliveries, on the admin
//     node and on a resolver (one event per resolution, not per request-log row);
//   - with WEBHOOK_QUEUE_SIZE=10 a burst of 2000 requests is served 200 every time, the shed
//     counter on /metrics is > 0 and delivered + shed == requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { freePort, startStack, waitUntil } from './lib/harness.mjs';
import { startResolver } from './lib/resolver.mjs';
import { startReceiver } from './lib/webhook_receiver.mjs';

let s, rx, grpcPort;

before(async () => {
  grpcPort = await freePort();
  s = await startStack({ env: { GRPC_PORT: String(grpcPort) } });
  rx = await startReceiver();
});

after(async () => {
  await rx?.close();
  await s?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function putMock(m) {
  const r = await s.api('POST', '/api/v1/mocks', m);
  assert.equal(r.status, 200, r.text);
}

async function resolverFor(name) {
  const c = await s.api('POST', '/ui/api/integrations', { name, type: 'mock_resolver' });
  assert.ok(c.body?.token, c.text);
  return startResolver({ COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`, API_TOKEN: c.body.token, RESOLVER_NAME: name });
}

/** One sample of a Prometheus text body. */
function metric(text, name) {
  const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

async function adminMetrics(base) {
  const r = await s.api('GET', '/metrics', undefined, base ? { base } : {});
  assert.equal(r.status, 200);
  return r.text;
}

async function resolverMetrics(r) {
  return (await r.get('/metrics')).text;
}

/**
 * Waits until resolver r queues mock.resolved events: it learns that from the ack of its next
 * Report, and reports go while it serves traffic, so a mock nobody counts (pingPath) is asked.
 */
async function resolverWantsEvents(r, pingPath) {
  await waitUntil(async () => {
    if (metric(await resolverMetrics(r), 'mockarty_webhook_resolved_events_enabled') === 1) return true;
    await r.get(pingPath);
    return false;
  }, 5000, 100, 'resolver wants mock.resolved events');
}

/** Deliveries of webhook wid whose event data names mockId. */
async function resolvedDeliveries(wid, mockId) {
  const n = await s.psql(`SELECT count(*) FROM mockarty_private.webhook_deliveries
    WHERE webhook_id = '${wid}' AND (body::jsonb) -> 'data' ->> 'mockId' = '${mockId}'`);
  return Number(String(n).trim());
}

const cbMock = (id, route, webhooks, status = 200) => ({
  id,
  http: { route, httpMethod: 'POST' },
  response: { statusCode: status, payload: { ok: true, id: '$.pathParam.id' } },
  webhooks,
});

test('a templated callback is delivered rendered, with its method and headers (admin and resolver)', async () => {
  await putMock(cbMock('cb-render', '/cb/orders/:id', [{
    url: `${rx.url}/cb/render/$.pathParam.id`,
    method: 'PUT',
    headers: { 'X-Order': 'order-$.pathParam.id', 'X-Caller': '$.reqHeader.X-Caller', 'Content-Type': 'application/json' },
    body: { orderId: '$.pathParam.id', total: '$.req.total', note: 'paid by $.req.user' },
    trigger: 'on_success',
  }, { type: 'kafka', kafkaTopic: 'orders', kafkaBrokers: 'localhost:9092' }]));
  const call = (base, id) => fetch(`${base}/cb/orders/${id}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Caller': `caller-${id}` },
    body: JSON.stringify({ total: 42.5, user: 'ann' }),
  });
  const a = await call(s.admin.url, '17');
  assert.equal(a.status, 200);
  await waitUntil(() => rx.requests('/cb/render/17').length === 1, 5000, 20, 'callback from the admin node');
  const q = rx.requests('/cb/render/17')[0];
  assert.equal(q.method, 'PUT');
  assert.equal(q.headers['x-order'], 'order-17');
  assert.equal(q.headers['x-caller'], 'caller-17');
  assert.deepEqual(JSON.parse(q.body), { orderId: '17', total: 42.5, note: 'paid by ann' });

  const r = await resolverFor('cb-r1');
  try {
    await waitUntil(async () => (await r.get('/health/ready')).status === 200, 10000, 50, 'resolver ready');
    const b = await call(r.url, '23');
    assert.equal(b.status, 200);
    await waitUntil(() => rx.requests('/cb/render/23').length === 1, 10000, 20, 'callback from the resolver');
    const q2 = rx.requests('/cb/render/23')[0];
    assert.equal(q2.method, 'PUT');
    assert.equal(q2.headers['x-order'], 'order-23');
    assert.equal(q2.headers['x-caller'], 'caller-23');
    assert.deepEqual(JSON.parse(q2.body), { orderId: '23', total: 42.5, note: 'paid by ann' });
    assert.match(await resolverMetrics(r), /^mockarty_webhook_callbacks_queued_total [1-9]/m);
  } finally {
    await r.stop();
  }
  // the kafka callback is skipped (logged once per mock load), never sent anywhere
  await sleep(300);
  assert.equal(rx.requests().filter((x) => x.path.startsWith('/cb/render/')).length, 2);
  const d = await s.api('GET', '/api/v1/webhooks/deliveries?mockId=cb-render');
  assert.equal(d.status, 200, d.text);
  assert.ok(d.body.items.every((x) => x.event === 'mock.callback'));
});

test('a resolver forwards the request, the admin renders the stored callback; a body over 64 KiB sheds it, counted', async () => {
  await putMock(cbMock('cb-fwd', '/cb/fwd/:id', [{
    url: `${rx.url}/cb/fwd/$.pathParam.id`, body: { n: '$.req.n', seeded: '$.fake.UUID' } }]));
  const r = await resolverFor('cb-fwd');
  try {
    await waitUntil(async () => (await r.get('/health/ready')).status === 200, 10000, 50, 'resolver ready');
    const post = (id, body, seed) => fetch(`${r.url}/cb/fwd/${id}`, { method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(seed ? { 'X-Mockarty-Seed': seed } : {}) }, body });
    // the same seed on the admin node and through a resolver gives the same callback
    assert.equal((await post('s1', '{"n":1}', '42')).status, 200);
    assert.equal((await fetch(`${s.admin.url}/cb/fwd/s2`, { method: 'POST', headers: { 'Content-Type': 'application/json',
      'X-Mockarty-Seed': '42' }, body: '{"n":1}' })).status, 200);
    await waitUntil(() => rx.requests('/cb/fwd/s1').length === 1 && rx.requests('/cb/fwd/s2').length === 1, 10000, 20,
      'seeded callbacks from the resolver and the admin node');
    assert.deepEqual(JSON.parse(rx.requests('/cb/fwd/s1')[0].body), JSON.parse(rx.requests('/cb/fwd/s2')[0].body));
    assert.equal(JSON.parse(rx.requests('/cb/fwd/s1')[0].body).n, 1);
    const shed0 = metric(await resolverMetrics(r), 'mockarty_webhook_callbacks_shed_total');
    const big = JSON.stringify({ n: 2, pad: 'x'.repeat(70 * 1024) });
    assert.equal((await post('big', big)).status, 200, 'serving does not depend on the callback');
    await waitUntil(async () => metric(await resolverMetrics(r), 'mockarty_webhook_callbacks_shed_total') === shed0 + 1,
      5000, 20, 'the callback of the 70 KiB request counted as shed');
    assert.equal((await post('after', '{"n":3}')).status, 200);
    await waitUntil(() => rx.requests('/cb/fwd/after').length === 1, 10000, 20, 'a later callback');
    assert.equal(rx.requests('/cb/fwd/big').length, 0);
  } finally {
    await r.stop();
  }
});

test('retryCount/retryDelay: a failing receiver gets 1 + retryCount attempts retryDelay apart (within 10%)', async () => {
  rx.script('/cb/flaky', [500, 502, 503]);
  await putMock(cbMock('cb-retry', '/cb/retry/:id', [{ url: `${rx.url}/cb/flaky`, body: 'attempt', retryCount: 3, retryDelay: 1000 }]));
  assert.equal((await fetch(`${s.admin.url}/cb/retry/1`, { method: 'POST' })).status, 200);
  await waitUntil(() => rx.requests('/cb/flaky').length >= 4, 15000, 10, 'four attempts');
  await sleep(1500); // no fifth attempt
  const at = rx.requests('/cb/flaky').map((q) => q.at);
  assert.equal(at.length, 4);
  const gaps = at.slice(1).map((x, i) => x - at[i]);
  gaps.forEach((g, i) => assert.ok(Math.abs(g - 1000) <= 100, `gap ${i + 1}: ${g.toFixed(0)} ms, want 1000 ±10%`));
  assert.ok(rx.requests('/cb/flaky').every((q) => q.body === 'attempt' && q.method === 'POST'));
  console.log(`# callback retry gaps ms: ${gaps.map((g) => g.toFixed(0)).join(', ')}`);
});

test('triggers: on_error stays silent on a 200 and fires on a 500; on_success fires on a 200', async () => {
  const hooks = [
    { url: `${rx.url}/cb/trig/err/$.pathParam.id`, trigger: 'on_error' },
    { url: `${rx.url}/cb/trig/ok/$.pathParam.id`, trigger: 'on_success' },
    { url: `${rx.url}/cb/trig/always/$.pathParam.id` },
  ];
  await putMock(cbMock('cb-trig-200', '/cb/trig200/:id', hooks, 200));
  await putMock(cbMock('cb-trig-500', '/cb/trig500/:id', hooks, 500));
  assert.equal((await fetch(`${s.admin.url}/cb/trig200/a`, { method: 'POST' })).status, 200);
  assert.equal((await fetch(`${s.admin.url}/cb/trig500/b`, { method: 'POST' })).status, 500);
  await waitUntil(() => ['/cb/trig/ok/a', '/cb/trig/always/a', '/cb/trig/err/b', '/cb/trig/always/b']
    .every((p) => rx.requests(p).length === 1), 5000, 20, 'the callbacks that apply');
  await sleep(500);
  assert.equal(rx.requests('/cb/trig/err/a').length, 0, 'on_error must not fire on a 200');
  assert.equal(rx.requests('/cb/trig/ok/b').length, 0, 'on_success must not fire on a 500');
});

/** n sequential POSTs (all must answer 200). */
async function hit(base, path, n) {
  for (let i = 0; i < n; i++) {
    const r = await fetch(base + path, { method: 'GET' });
    await r.arrayBuffer();
    assert.equal(r.status, 200);
  }
}

test('N requests give exactly N mock.resolved deliveries, on the admin node and on a resolver', async () => {
  const N = 50;
  await putMock({ id: 'ev-admin', http: { route: '/ev/admin', httpMethod: 'GET' }, response: { payload: { a: 1 } } });
  await putMock({ id: 'ev-res', http: { route: '/ev/res', httpMethod: 'GET' }, response: { payload: { r: 1 } } });
  await putMock({ id: 'ev-ping', http: { route: '/ev/ping', httpMethod: 'GET' }, response: { payload: { p: 1 } } });
  const r = await resolverFor('ev-r1');
  try {
    await waitUntil(async () => (await r.get('/ev/res')).status === 200, 10000, 50, 'resolver serves ev-res');
    const w = (await s.api('POST', '/api/v1/webhooks', { url: rx.url + '/ev', events: ['mock.resolved'] })).body;
    assert.ok(w.id);
    // the admin node refreshes its flag when the webhook is created through it; the resolver
    // learns it from its next ReportAck
    assert.equal(metric(await adminMetrics(), 'mockarty_webhook_resolved_events_enabled'), 1);
    await resolverWantsEvents(r, '/ev/ping');
    await hit(s.admin.url, '/ev/admin', N);
    await hit(r.url, '/ev/res', N);
    await waitUntil(async () => (await resolvedDeliveries(w.id, 'ev-admin')) >= N && (await resolvedDeliveries(w.id, 'ev-res')) >= N,
      10000, 100, `${N} deliveries each`);
    await sleep(800); // nothing more trickles in
    assert.equal(await resolvedDeliveries(w.id, 'ev-admin'), N);
    assert.equal(await resolvedDeliveries(w.id, 'ev-res'), N);
    // (a ping of ev-ping sent after the resolver turned events on is delivered too: not counted)
    const counted = () => rx.requests('/ev').map((q) => JSON.parse(q.body)).filter((d) => d.data.mockId !== 'ev-ping');
    await waitUntil(() => counted().length === 2 * N, 15000, 50, `${2 * N} mock.resolved posts received`);
    const data = counted();
    assert.ok(data.every((d) => d.event === 'mock.resolved' && /Z$/.test(d.timestamp)));
    const one = data.find((d) => d.data.mockId === 'ev-res').data;
    assert.equal(one.namespace, 'sandbox');
    assert.equal(one.method, 'GET');
    assert.equal(one.path, '/ev/res');
    assert.equal(one.status, 200);
    assert.match(one.calledAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await s.api('DELETE', `/api/v1/webhooks/${w.id}`);
    assert.equal(metric(await adminMetrics(), 'mockarty_webhook_resolved_events_enabled'), 0);
  } finally {
    await r.stop();
  }
});

/** total GETs to url with `conc` in flight; returns the status counts. */
async function burst(url, total, conc) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
  const counts = {};
  let next = 0;
  const one = () => new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
  });
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < total) {
      next++;
      const st = await one();
      counts[st] = (counts[st] || 0) + 1;
    }
  }));
  agent.destroy();
  return counts;
}

test('WEBHOOK_QUEUE_SIZE=10: a burst of 2000 is served 200, events are shed and delivered + shed == requests', async () => {
  const TOTAL = 2000;
  // no rate limit: the 10-item queue is what sheds here
  const a = await s.spawnAdmin({ WEBHOOK_QUEUE_SIZE: '10', WEBHOOK_EVENTS_MAX_RATE: '0' });
  try {
    await putMock({ id: 'ev-burst', http: { route: '/ev/burst', httpMethod: 'GET' }, response: { payload: { b: 1 } } });
    await waitUntil(async () => (await fetch(a.url + '/ev/burst')).status === 200, 5000, 20, 'node serves ev-burst');
    const w = (await s.api('POST', '/api/v1/webhooks', { url: rx.url + '/burst', events: ['mock.resolved'] })).body;
    await waitUntil(async () => metric(await adminMetrics(a.url), 'mockarty_webhook_resolved_events_enabled') === 1,
      5000, 20, 'node wants mock.resolved events');
    const before = await adminMetrics(a.url);
    assert.equal(metric(before, 'mockarty_webhook_queue_capacity'), 10);
    const q0 = metric(before, 'mockarty_webhook_events_queued_total');
    const shed0 = metric(before, 'mockarty_webhook_events_shed_total');
    const t0 = performance.now();
    const counts = await burst(a.url + '/ev/burst', TOTAL, 64);
    const ms = performance.now() - t0;
    assert.deepEqual(counts, { 200: TOTAL }, 'every request answered 200');
    await sleep(300); // the last drain
    const after_ = await adminMetrics(a.url);
    const queued = metric(after_, 'mockarty_webhook_events_queued_total') - q0;
    const shed = metric(after_, 'mockarty_webhook_events_shed_total') - shed0;
    assert.ok(shed > 0, `shed ${shed}`);
    assert.equal(queued + shed, TOTAL);
    await waitUntil(async () => (await resolvedDeliveries(w.id, 'ev-burst')) >= queued, 10000, 100, 'queued events recorded');
    await sleep(300);
    const delivered = await resolvedDeliveries(w.id, 'ev-burst');
    assert.equal(delivered + shed, TOTAL, `delivered ${delivered} + shed ${shed}`);
    console.log(`# burst: ${TOTAL} requests in ${ms.toFixed(0)} ms, ${delivered} deliveries, ${shed} shed`);
    await s.api('DELETE', `/api/v1/webhooks/${w.id}`);
  } finally {
    await a.stop();
  }
});

test('WEBHOOK_QUEUE_SIZE=10 on a resolver: a burst of 2000 is served 200 and delivered + shed == requests', async () => {
  const TOTAL = 2000;
  await putMock({ id: 'ev-rburst', http: { route: '/ev/rburst', httpMethod: 'GET' }, response: { payload: { b: 2 } } });
  await putMock({ id: 'ev-rping', http: { route: '/ev/rping', httpMethod: 'GET' }, response: { payload: { p: 2 } } });
  const c = await s.api('POST', '/ui/api/integrations', { name: 'ev-rb', type: 'mock_resolver' });
  const r = await startResolver({ COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`, API_TOKEN: c.body.token, RESOLVER_NAME: 'ev-rb', WEBHOOK_QUEUE_SIZE: '10', WEBHOOK_EVENTS_MAX_RATE: '0' });
  try {
    await waitUntil(async () => (await r.get('/ev/rburst')).status === 200, 10000, 50, 'resolver serves ev-rburst');
    const w = (await s.api('POST', '/api/v1/webhooks', { url: rx.url + '/rburst', events: ['mock.resolved'] })).body;
    await resolverWantsEvents(r, '/ev/rping');
    const before = await resolverMetrics(r);
    assert.equal(metric(before, 'mockarty_webhook_queue_capacity'), 10);
    const q0 = metric(before, 'mockarty_webhook_events_queued_total');
    const shed0 = metric(before, 'mockarty_webhook_events_shed_total');
    const t0 = performance.now();
    const counts = await burst(r.url + '/ev/rburst', TOTAL, 64);
    const ms = performance.now() - t0;
    assert.deepEqual(counts, { 200: TOTAL }, 'every request answered 200');
    await sleep(300);
    const after_ = await resolverMetrics(r);
    const queued = metric(after_, 'mockarty_webhook_events_queued_total') - q0;
    const shed = metric(after_, 'mockarty_webhook_events_shed_total') - shed0;
    assert.ok(shed > 0, `shed ${shed}`);
    assert.equal(queued + shed, TOTAL);
    await waitUntil(async () => (await resolvedDeliveries(w.id, 'ev-rburst')) >= queued, 10000, 100, 'queued events recorded');
    await sleep(500);
    const delivered = await resolvedDeliveries(w.id, 'ev-rburst');
    assert.equal(delivered + shed, TOTAL, `delivered ${delivered} + shed ${shed}`);
    // the resolver reported what it shed; the admin node shows it apart from its own
    await waitUntil(async () => metric(await adminMetrics(), 'mockarty_webhook_resolver_events_shed_total') >= shed,
      5000, 50, 'shed reported to the coordinator');
    console.log(`# resolver burst: ${TOTAL} requests in ${ms.toFixed(0)} ms, ${delivered} deliveries, ${shed} shed`);
    await s.api('DELETE', `/api/v1/webhooks/${w.id}`);
  } finally {
    await r.stop();
  }
});

test('WEBHOOK_EVENTS_MAX_RATE caps mock.resolved events per second; the rest are shed and counted', async () => {
  const a = await s.spawnAdmin({ WEBHOOK_EVENTS_MAX_RATE: '20' });
  try {
    await putMock({ id: 'ev-rate', http: { route: '/ev/rate', httpMethod: 'GET' }, response: { payload: { c: 1 } } });
    await waitUntil(async () => (await fetch(a.url + '/ev/rate')).status === 200, 5000, 20, 'node serves ev-rate');
    const w = (await s.api('POST', '/api/v1/webhooks', { url: rx.url + '/rate', events: ['mock.resolved'] })).body;
    await waitUntil(async () => metric(await adminMetrics(a.url), 'mockarty_webhook_resolved_events_enabled') === 1,
      5000, 20, 'node wants mock.resolved events');
    const m0 = await adminMetrics(a.url);
    const counts = await burst(a.url + '/ev/rate', 300, 16);
    assert.deepEqual(counts, { 200: 300 });
    await sleep(300);
    const m1 = await adminMetrics(a.url);
    const queued = metric(m1, 'mockarty_webhook_events_queued_total') - metric(m0, 'mockarty_webhook_events_queued_total');
    const shed = metric(m1, 'mockarty_webhook_events_shed_total') - metric(m0, 'mockarty_webhook_events_shed_total');
    assert.equal(queued + shed, 300);
    assert.ok(queued >= 1 && queued <= 20 * 3, `queued ${queued}: at most 20 per started second`);
    await waitUntil(async () => (await resolvedDeliveries(w.id, 'ev-rate')) === queued, 10000, 100, 'the queued ones recorded');
    await s.api('DELETE', `/api/v1/webhooks/${w.id}`);
  } finally {
    await a.stop();
  }
});
