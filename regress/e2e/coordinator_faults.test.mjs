// coordinator_faults.test.mjs - the coordinator and a real mock-resolver under the faults the
// issue names, plus a bulk load. What a user would notice:
//  - PostgreSQL restarted while a resolver is connected: the resolver keeps answering from its
//    snapshot, health Watch on the real coordinator goes NOT_SERVING and back to SERVING, and a
//    change made after the restart reaches the resolver (as a delta: no new snapshot);
//  - the coordinator's LISTEN connection (application_name mockarty-coordinator-feed) killed
//    with pg_terminate_backend: a change committed right afterwards still reaches the resolver;
//  - one transaction of 12,000 mocks (more than the old 8,192-change window) reaches a resolver
//    that keeps up as deltas, without a resync;
//  - the text the coordinator streams (snapshot_text, changes_since_text) is the same JSON as
//    snapshot() / changes_since();
//  - a Report held up by a slow database (a table lock past the resolver's 3 s timeout) is
//    resent by the resolver and applied once: misses counted once, one mock.resolved delivery
//    per request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { startStack, freePort, waitUntil, repoRoot } from './lib/harness.mjs';
import { startResolver } from './lib/resolver.mjs';

const require = createRequire(path.join(repoRoot, 'regress/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(['grpc/health/v1/health.proto'],
  { keepCase: true, enums: String, defaults: true, includeDirs: [path.join(repoRoot, 'proto')] }));
const Health = pkg.grpc.health.v1.Health;
const SVC = 'mockarty.coordinator.v1.Coordinator';

let s;
let r;
let grpcPort;
const clients = [];
const mock = (id, route, payload, extra = {}) => ({
  id,
  http: { route, httpMethod: 'GET' },
  response: { statusCode: 200, payload },
  ...extra,
});
const q = (v) => `'${String(v).replace(/'/g, "''")}'`;

// A health Watch stream that records every status it is sent.
function watch(service) {
  const c = new Health(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  clients.push(c);
  const w = { statuses: [], call: c.Watch({ service }) };
  w.call.on('data', (m) => w.statuses.push(m.status));
  w.call.on('error', () => {});
  w.last = () => w.statuses[w.statuses.length - 1];
  return w;
}

const feedPids = async () =>
  (await s.psql("SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = 'mockarty-coordinator-feed'"))
    .split(',').filter(Boolean);

before(async () => {
  grpcPort = await freePort();
  s = await startStack({ env: { GRPC_PORT: String(grpcPort) } });
  const c = await s.api('POST', '/ui/api/integrations', { name: 'fault-resolver', type: 'mock_resolver' });
  assert.ok(c.status === 200 || c.status === 201, c.text);
  const m = await s.api('POST', '/api/v1/mocks', mock('fault-before', '/fault/before', { who: 'before' }));
  assert.equal(m.status, 200, m.text);
  r = await startResolver({ COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`, API_TOKEN: c.body.token, RESOLVER_NAME: 'fault-1' });
});

after(async () => {
  for (const c of clients) c.close();
  await r?.stop();
  await s?.stop();
});

test('PostgreSQL restarted: the resolver keeps serving, health Watch follows, a later change arrives', async () => {
  const w = watch(SVC);
  const all = watch('');
  await waitUntil(() => w.last() === 'SERVING' && all.last() === 'SERVING', 5000, 10, 'Watch SERVING');
  assert.equal((await r.get('/fault/before')).status, 200);
  const before = await r.status();

  await s.pgStop('fast');
  // the coordinator notices its change feed is gone; the whole server stays up
  await waitUntil(() => w.last() === 'NOT_SERVING', 10000, 20, 'Watch NOT_SERVING while PostgreSQL is down');
  assert.equal(all.last(), 'SERVING');
  for (let i = 0; i < 20; i++) {
    const g = await r.get('/fault/before');
    assert.equal(g.status, 200, `request ${i} during the outage: ${g.text}`);
    assert.deepEqual(g.body, { who: 'before' });
  }

  await s.pgStart();
  await waitUntil(() => w.last() === 'SERVING', 15000, 20, 'Watch SERVING again');
  assert.deepEqual(w.statuses.slice(0, 3), ['SERVING', 'NOT_SERVING', 'SERVING']);
  // the admin pool reconnects on demand; a write may need a retry right after the restart
  await waitUntil(async () => (await s.api('POST', '/api/v1/mocks', mock('fault-after-pg', '/fault/after-pg', { who: 'after' }))).status === 200,
    10000, 100, 'REST write after the restart');
  await waitUntil(async () => (await r.get('/fault/after-pg')).status === 200, 5000, 10, 'change after the restart served');
  assert.deepEqual((await r.get('/fault/after-pg')).body, { who: 'after' });
  const now = await r.status();
  assert.equal(now.coordinator.snapshots, before.coordinator.snapshots, 'caught up with deltas, no new snapshot');
});

test('LISTEN connection terminated with pg_terminate_backend: a change made afterwards reaches the resolver', async () => {
  const old = await waitUntil(async () => { const p = await feedPids(); return p.length === 1 && p; }, 10000, 50, 'the feed connection');
  assert.equal(await s.psql(`SELECT pg_terminate_backend(${Number(old[0])})`), 't');
  // a plain SQL write right after: its NOTIFY may be lost with the connection, so only the
  // coordinator's re-read after reconnecting can deliver it
  await s.psql(`SELECT mockarty.mock_save(${q(JSON.stringify(mock('fault-after-kill', '/fault/after-kill', { who: 'after-kill' })))}::jsonb)`);
  await waitUntil(async () => (await r.get('/fault/after-kill')).status === 200, 5000, 10, 'change after the kill served');
  assert.deepEqual((await r.get('/fault/after-kill')).body, { who: 'after-kill' });
  const fresh = await waitUntil(async () => { const p = await feedPids(); return p.length === 1 && p; }, 5000, 50, 'a new feed connection');
  assert.notEqual(fresh[0], old[0]);
});

test('one transaction of 12,000 mocks reaches a resolver that keeps up as deltas, without a resync', async () => {
  const before = await r.status();
  const head0 = Number(await s.psql('SELECT mockarty.head_version()'));
  await s.psql(`SELECT mockarty.mock_batch_save(jsonb_agg(jsonb_build_object('id', 'burst-' || g,
    'http', jsonb_build_object('route', '/burst/' || g, 'httpMethod', 'GET'),
    'response', jsonb_build_object('statusCode', 200, 'payload', jsonb_build_object('n', g)))))
    FROM generate_series(1, 12000) g`);
  const head = Number(await s.psql('SELECT mockarty.head_version()'));
  assert.ok(head - head0 >= 12000, `${head - head0} versions`);
  await waitUntil(async () => (await r.status()).appliedVersion >= head, 30000, 50, 'resolver at the head');
  assert.deepEqual((await r.get('/burst/12000')).body, { n: 12000 });
  assert.deepEqual((await r.get('/burst/1')).body, { n: 1 });
  const now = await r.status();
  assert.equal(now.coordinator.resyncs, before.coordinator.resyncs, 'no resync');
  assert.equal(now.coordinator.snapshots, before.coordinator.snapshots, 'no new snapshot');
  assert.ok(now.mocksLoaded >= 12000, `${now.mocksLoaded} mocks loaded`);
});

test('the streamed text is the same JSON as snapshot() and changes_since()', async () => {
  // server fields of every kind: lastUse, expireAt (ttl), an id that needs escaping
  await s.psql(`SELECT mockarty.mock_save(${q(JSON.stringify(mock('fault "q" ü', '/fault/q', 1, { ttl: 3600 })))}::jsonb)`);
  await s.api('GET', '/fault/q', undefined, { token: null });
  await s.psql("SELECT mockarty.mock_save('{\"id\":\"fault-other-ns\",\"namespace\":\"faults\",\"http\":{\"route\":\"/o\"}}'::jsonb)");
  const snap = await s.psql(`SELECT count(*) || ' ' || count(*) FILTER (WHERE t.mock IS NULL OR t.mock::jsonb <> s.mock OR t.version <> s.version)
    FROM mockarty.snapshot() s LEFT JOIN LATERAL mockarty.snapshot_text(s.mock->>'namespace') t ON t.mock_id = s.mock->>'id'`);
  const [n, bad] = snap.split(' ').map(Number);
  assert.ok(n > 12000, `${n} mocks compared`);
  assert.equal(bad, 0, 'snapshot_text differs from snapshot()');
  assert.equal(await s.psql(`SELECT (SELECT count(*) FROM mockarty.snapshot_text('faults'))
    = (SELECT count(*) FROM mockarty.snapshot() WHERE mock->>'namespace' = 'faults')`), 't');
  const ch = await s.psql(`SELECT count(*) FILTER (WHERE (a.mock IS NULL OR a.mock ? 'closedAt') IS DISTINCT FROM (b.mock IS NULL)
      OR (b.mock IS NOT NULL AND b.mock::jsonb <> a.mock) OR a.op <> b.op OR a.mock_id <> b.mock_id)
    FROM mockarty.changes_since(0, 1000000) a JOIN mockarty.changes_since_text(0, 1000000) b USING (version)`);
  assert.equal(ch, '0');
});

test('a Report held up past its timeout is resent and applied once: misses and mock.resolved counted once', async () => {
  const N = 20;
  const ns = (sql) => s.psql(sql).then(Number);
  const misses = () => ns("SELECT coalesce(sum(count), 0) FROM mockarty_private.undefined_requests WHERE path = '/fault/once-missing'");
  const resolved = () => ns("SELECT count(*) FROM mockarty_private.webhook_deliveries WHERE event = 'mock.resolved' AND body::jsonb #>> '{data,mockId}' = 'fault-once'");
  assert.equal((await s.api('POST', '/api/v1/mocks', mock('fault-once', '/fault/once', { once: true }))).status, 200);
  // nobody listens on this port: deliveries stay queued, which is all this test counts
  const w = await s.api('POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${await freePort()}/hook`, events: ['mock.resolved'] });
  assert.equal(w.status, 201, w.text);
  // the resolver sends mock.resolved events once an ack has told it they are wanted
  await waitUntil(async () => {
    if (await resolved() > 0) return true;
    await r.get('/fault/once');
    return false;
  }, 15000, 200, 'the resolver reports mock.resolved events');
  const unreported = async () => Number(/^mockarty_webhook_unreported (\d+)/m.exec((await r.get('/metrics')).text)[1]);
  await waitUntil(async () => (await unreported()) === 0, 10000, 50, 'earlier events acknowledged');
  const base = await resolved();
  const before = await r.status();

  // a session holds a lock the Report's insert into undefined_requests waits for
  const lock = s.psqlSession();
  await lock.query('BEGIN');
  await lock.query('LOCK TABLE mockarty_private.undefined_requests IN SHARE ROW EXCLUSIVE MODE');
  try {
    for (let i = 0; i < N; i++) {
      assert.equal((await r.get('/fault/once')).status, 200);
      assert.equal((await r.get('/fault/once-missing')).status, 404);
    }
    // the batch timed out (3 s) and was sent again at least twice while the first copy waits
    await waitUntil(async () => (await r.status()).reportResends >= before.reportResends + 2, 20000, 50, 'the resolver resends its batch');
  } finally {
    await lock.query('COMMIT');
    lock.close();
  }
  // once the lock is gone the batch is applied and acknowledged; nothing of it is left to send
  await waitUntil(async () => (await misses()) >= N && (await unreported()) === 0, 15000, 50, 'the batch applied and acknowledged');
  assert.equal(await misses(), N, 'each miss counted once');
  assert.equal(await resolved() - base, N, 'one mock.resolved delivery per request');
  const m = (await r.get('/metrics')).text;
  assert.ok(Number(/^mockarty_resolver_report_resends_total (\d+)/m.exec(m)[1]) >= before.reportResends + 2);
});
