// webhooks.test.mjs - webhooks end to end: every event type reaches a local receiver signed
// with the webhook's secret (mock.resolved both from the admin node and from a mock resolver,
// whose events come back through the coordinator), the retry schedule is kept to within 10%
// (shrunk through the webhook_retry_schedule setting), restarts of the admin node and of
// PostgreSQL between attempts lose nothing, and a failed delivery can be retried by hand.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startStack, waitUntil } from './lib/harness.mjs';
import { startResolver } from './lib/resolver.mjs';
import { startReceiver, verifySignature } from './lib/webhook_receiver.mjs';

let s, rx, grpcPort;
const SECRET = 'whsec_e2e';

before(async () => {
  grpcPort = await freePort();
  s = await startStack({ env: { GRPC_PORT: String(grpcPort) } });
  rx = await startReceiver();
});

after(async () => {
  await rx?.close();
  await s?.stop();
});

const mock = (id, route, payload) => ({ id, http: { route, httpMethod: 'GET' }, response: { statusCode: 200, payload } });

async function hook(path, body) {
  const r = await s.api('POST', '/api/v1/webhooks', { url: rx.url + path, ...body });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function delivery(id) {
  const r = await s.api('GET', `/api/v1/webhooks/deliveries/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test('REST CRUD, enable/disable and both SDK shapes of namespace webhooks', async () => {
  const w = await hook('/crud', { name: 'crud', events: ['mock.created'], secret: 'x' });
  assert.equal(w.hasSecret, true);
  assert.equal(w.secret, undefined, 'the secret is never returned');
  assert.deepEqual(w.events, ['mock.created']);
  const bad = await s.api('POST', '/api/v1/webhooks', { url: 'ftp://x', events: ['mock.created'] });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /url/);
  const badEv = await s.api('POST', '/api/v1/webhooks', { url: rx.url, events: ['mock.created', 'nope'] });
  assert.equal(badEv.status, 400);
  assert.match(badEv.text, /events\[1\]/);
  assert.equal((await s.api('POST', `/api/v1/webhooks/${w.id}/disable`)).body.enabled, false);
  assert.equal((await s.api('POST', `/api/v1/webhooks/${w.id}/enable`)).body.enabled, true);
  const up = await s.api('PUT', `/api/v1/webhooks/${w.id}`, { events: ['mock.deleted'], secret: null });
  assert.equal(up.status, 200, up.text);
  assert.deepEqual(up.body.events, ['mock.deleted']);
  assert.equal(up.body.hasSecret, false);
  assert.equal((await s.api('GET', '/api/v1/webhooks')).body.items.some((x) => x.id === w.id), true);
  assert.equal((await s.api('GET', '/ui/api/webhooks')).status, 200);
  assert.equal((await s.api('DELETE', `/api/v1/webhooks/${w.id}`)).status, 200);
  assert.equal((await s.api('GET', `/api/v1/webhooks/${w.id}`)).status, 404);
  assert.equal((await s.api('GET', '/api/v1/webhooks/not-a-uuid')).status, 404);

  // Go/Java {"operation"} and Python {"events"} spellings, mapped to the canonical names
  const g = await s.api('POST', '/api/v1/namespaces/qa/webhooks',
    { operation: 'testrun.completed', url: rx.url + '/ns', method: 'POST', headers: { 'X-Team': 'qa' }, enabled: true });
  assert.equal(g.status, 201, g.text);
  assert.deepEqual(g.body.events, ['test_run.completed']);
  assert.equal(g.body.operation, 'testrun.completed');
  const p = await s.api('POST', '/api/v1/namespaces/qa/webhooks',
    { name: 'py', url: rx.url + '/ns', events: ['test.completed', 'undefined.detected'], headers: {}, enabled: true });
  assert.equal(p.status, 201, p.text);
  assert.deepEqual(p.body.events, ['test_run.completed', 'undefined_request.received']);
  const list = await s.api('GET', '/api/v1/namespaces/qa/webhooks');
  assert.ok(Array.isArray(list.body));
  assert.equal(list.body.length, 2);
  for (const x of list.body) assert.equal((await s.api('DELETE', `/api/v1/namespaces/qa/webhooks/${x.id}`)).status, 200);
  assert.equal((await s.api('GET', '/api/v1/namespaces/qa/webhooks')).body.length, 0);
});

test('every event type arrives signed: mock.created/resolved/deleted, undefined_request.received, test_run.completed', async () => {
  const w = await hook('/all', { events: ['*'], secret: SECRET });
  // mock.created, then mock.resolved from the admin node's own serving path
  assert.equal((await s.api('POST', '/api/v1/mocks', mock('wh-1', '/wh/one', { n: 1 }))).status, 200);
  assert.equal((await s.api('GET', '/wh/one', undefined, { token: null })).status, 200);
  // undefined_request.received
  assert.equal((await s.api('GET', '/wh/nothing-here', undefined, { token: null })).status, 404);
  // test_run.completed (through the events table, as task_complete records it)
  await s.psql(`SELECT mockarty.event_emit('test_run.completed', 'sandbox', '{"testRunId":"r-1","collectionId":"c-1","status":"passed","totalTests":2,"passed":2,"failed":0,"duration":"1.5s"}')`);

  // mock.resolved from a mock resolver: its events reach the same table through the coordinator
  // (the resolver learns that mock.resolved is wanted from the ack of the Report its traffic
  // causes, so it is asked until one of its events arrives)
  const c = await s.api('POST', '/ui/api/integrations', { name: 'wh-resolver', type: 'mock_resolver' });
  const r = await startResolver({ COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`, API_TOKEN: c.body.token, RESOLVER_NAME: 'wh-r' });
  try {
    await waitUntil(async () => (await r.get('/wh/one')).status === 200, 10000, 50, 'resolver serves wh-1');
    await waitUntil(async () => {
      if (rx.requests('/all').filter((q) => q.headers['x-mockarty-event'] === 'mock.resolved').length >= 2) return true;
      await r.get('/wh/one');
      return false;
    }, 15000, 200, 'two mock.resolved events (admin and resolver)');
  } finally {
    await r.stop();
  }
  // mock.deleted
  assert.equal((await s.api('DELETE', '/api/v1/mocks/wh-1')).status, 200);

  const want = ['mock.created', 'mock.resolved', 'undefined_request.received', 'test_run.completed', 'mock.deleted'];
  await waitUntil(() => want.every((e) => rx.requests('/all').some((q) => q.headers['x-mockarty-event'] === e)), 10000, 20,
    'all five event types');
  for (const q of rx.requests('/all')) {
    assert.equal(verifySignature(SECRET, q.headers['x-mockarty-signature'], q.body), true);
    const doc = JSON.parse(q.body);
    assert.equal(doc.event, q.headers['x-mockarty-event']);
    assert.match(doc.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(typeof doc.data, 'object');
    assert.match(q.headers['x-mockarty-delivery'], /^\d+$/);
  }
  const byEvent = (e) => rx.requests('/all').filter((q) => q.headers['x-mockarty-event'] === e).map((q) => JSON.parse(q.body).data);
  assert.equal(byEvent('mock.created')[0].id, 'wh-1');
  assert.equal(byEvent('mock.deleted')[0].id, 'wh-1');
  assert.ok(byEvent('mock.resolved').every((d) => d.mockId === 'wh-1'));
  assert.equal(byEvent('undefined_request.received')[0].path, '/wh/nothing-here');
  assert.equal(byEvent('test_run.completed')[0].testRunId, 'r-1');
  // a tampered body or an old timestamp is refused by the reference check
  const one = rx.requests('/all')[0];
  assert.throws(() => verifySignature(SECRET, one.headers['x-mockarty-signature'], one.body + ' '), /mismatch/);
  assert.throws(() => verifySignature(SECRET, one.headers['x-mockarty-signature'], one.body, { now: Date.now() / 1000 + 3600 }), /tolerance/);
  // delivery history through REST
  const h = await s.api('GET', `/api/v1/webhooks/${w.id}/deliveries`);
  assert.equal(h.status, 200);
  assert.ok(h.body.items.length >= 6);
  assert.ok(h.body.items.every((d) => d.status === 'succeeded' && d.history.length === 1 && d.history[0].statusCode === 200));
  await s.api('DELETE', `/api/v1/webhooks/${w.id}`);
});

test('four failures then success: five attempts at the scheduled offsets (within 10%)', async () => {
  const set = await s.api('PUT', '/api/v1/settings/webhook_retry_schedule', { value: '0,1s,2s,3s,4s' });
  assert.equal(set.status, 200, set.text);
  rx.script('/flaky', [500, 503, 500, 502]);
  const w = await hook('/flaky', { events: ['test_run.completed'], secret: SECRET });
  const t0 = performance.now();
  await s.psql(`SELECT mockarty.event_emit('test_run.completed', 'sandbox', '{"testRunId":"flaky"}')`);
  await waitUntil(() => rx.requests('/flaky').length >= 5, 20000, 10, 'five attempts');
  const at = rx.requests('/flaky').map((q) => q.at);
  assert.ok(at[0] - t0 < 1000, `first attempt immediate (${at[0] - t0} ms)`);
  const gaps = at.slice(1).map((a, i) => a - at[i]);
  const wantGaps = [1000, 2000, 3000, 4000];
  gaps.forEach((g, i) => assert.ok(Math.abs(g - wantGaps[i]) <= wantGaps[i] * 0.1, `gap ${i + 1}: ${g.toFixed(0)} ms, want ${wantGaps[i]} ±10%`));
  for (const q of rx.requests('/flaky')) verifySignature(SECRET, q.headers['x-mockarty-signature'], q.body);
  const d = (await s.api('GET', `/api/v1/webhooks/${w.id}/deliveries`)).body.items[0];
  await waitUntil(async () => (await delivery(d.id)).status === 'succeeded', 5000);
  const full = await delivery(d.id);
  assert.deepEqual(full.history.map((h) => h.statusCode), [500, 503, 500, 502, 200]);
  assert.ok(full.history.every((h) => typeof h.latencyMs === 'number' && h.at));
  console.log(`# gaps ms: ${gaps.map((g) => g.toFixed(0)).join(', ')} (want 1000, 2000, 3000, 4000)`);
  await s.api('DELETE', `/api/v1/webhooks/${w.id}`);
});

test('restarting the admin node and PostgreSQL between attempts loses no attempt', async () => {
  await s.api('PUT', '/api/v1/settings/webhook_retry_schedule', { value: '0,3s,3s,3s,3s' });
  rx.script('/restart', [500, 500, 500, 500]);
  const w = await hook('/restart', { events: ['test_run.completed'] });
  await s.psql(`SELECT mockarty.event_emit('test_run.completed', 'sandbox', '{"testRunId":"restart"}')`);
  await waitUntil(() => rx.requests('/restart').length >= 1, 5000, 10, 'attempt 1');
  await s.admin.restart();                      // the admin node goes away between attempts 1 and 2
  await waitUntil(() => rx.requests('/restart').length >= 2, 10000, 10, 'attempt 2 after the admin restart');
  // and the database between attempts 2 and 3 ('fast': the harness runs with synchronous_commit = off,
  // so an immediate stop could forget commits the engine was told had happened)
  await s.pgStop('fast');
  await new Promise((r) => setTimeout(r, 500));
  await s.pgStart();
  await waitUntil(() => rx.requests('/restart').length >= 5, 30000, 20, 'attempts 3..5 after the database restart');
  const d = (await s.api('GET', `/api/v1/webhooks/${w.id}/deliveries`)).body.items[0];
  await waitUntil(async () => (await delivery(d.id)).status === 'succeeded', 10000);
  assert.equal(rx.requests('/restart').length, 5);
  assert.equal((await delivery(d.id)).history.length, 5);
  await s.api('DELETE', `/api/v1/webhooks/${w.id}`);
});

test('a delivery that failed five times is retried by hand and succeeds', async () => {
  await s.api('PUT', '/api/v1/settings/webhook_retry_schedule', { value: '0,100ms,100ms,100ms,100ms' });
  rx.script('/dead', [500, 500, 500, 500, 500]);
  const w = await hook('/dead', { events: ['test_run.completed'], secret: SECRET });
  await s.psql(`SELECT mockarty.event_emit('test_run.completed', 'sandbox', '{"testRunId":"dead"}')`);
  let d;
  await waitUntil(async () => {
    d = (await s.api('GET', `/api/v1/webhooks/${w.id}/deliveries?status=failed`)).body.items[0];
    return d;
  }, 10000, 50, 'delivery marked failed');
  assert.equal(d.attempts, 5);
  assert.equal(d.history.length, 5);
  assert.equal((await s.api('POST', `/api/v1/webhooks/deliveries/${d.id}/retry`)).status, 202);
  await waitUntil(async () => (await delivery(d.id)).status === 'succeeded', 5000, 20, 'manual retry succeeded');
  const full = await delivery(d.id);
  assert.equal(full.history.length, 6);
  assert.equal(full.history[5].manual, true);
  assert.equal(full.history[5].statusCode, 200);
  assert.equal(rx.requests('/dead').length, 6);
  verifySignature(SECRET, rx.requests('/dead')[5].headers['x-mockarty-signature'], rx.requests('/dead')[5].body);
  // retrying what did not fail is refused
  assert.equal((await s.api('POST', `/api/v1/webhooks/deliveries/${d.id}/retry`)).status, 400);
  // the same through SQL
  const viaSql = await s.psqlJson(`SELECT mockarty.webhook_delivery_get(${d.id})`);
  assert.equal(viaSql.status, 'succeeded');
  await s.api('DELETE', `/api/v1/webhooks/${w.id}`);
  await s.api('PUT', '/api/v1/settings/webhook_retry_schedule', { value: null });
});

test('private addresses are refused unless ALLOW_PROXY_TO_PRIVATE_IPS=true', async () => {
  const a = await s.spawnAdmin({ ALLOW_PROXY_TO_PRIVATE_IPS: 'false' });
  await s.admin.stop(); // only the strict node delivers now
  try {
    await s.api('PUT', '/api/v1/settings/webhook_retry_schedule', { value: '0', }, { base: a.url });
    const r = await s.api('POST', '/api/v1/webhooks', { url: rx.url + '/private', events: ['test_run.completed'] }, { base: a.url });
    await s.psql(`SELECT mockarty.event_emit('test_run.completed', 'sandbox', '{}')`);
    let d;
    await waitUntil(async () => {
      d = (await s.api('GET', `/api/v1/webhooks/${r.body.id}/deliveries?status=failed`, undefined, { base: a.url })).body.items[0];
      return d;
    }, 5000, 50, 'refused delivery marked failed');
    assert.match(d.history[0].error, /private or loopback/);
    assert.equal(rx.requests('/private').length, 0);
  } finally {
    await a.stop();
    await s.admin.start();
    await s.api('PUT', '/api/v1/settings/webhook_retry_schedule', { value: null });
  }
});
