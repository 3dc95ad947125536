// retention.test.mjs - bounded resources end to end (issue 9, section 2): what a user would
// notice when an SDK calls a wrong path with its credentials, when a client sends 5 MB bodies
// to endless unique paths, when mocks expire, when the change log is trimmed under a resolver
// that lags, when a webhook receiver of one namespace never answers, and when a role plants a
// function the scheduler worker (which runs as the bootstrap superuser) might call. The
// scheduler worker ticks every second here (mockarty.scheduler_interval_ms default); every
// wait is a bounded wait for a condition.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
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

const setting = (k, v) => s.psql(`SELECT mockarty.setting_set('${k}', ${v === null ? 'NULL' : `'${v}'`})`);
const mockDoc = (id, route, payload, extra = {}) => ({ id, http: { route, httpMethod: 'GET' }, response: { statusCode: 200, payload }, ...extra });

/** psql as another role or database (the harness' psql is postgres on database mockarty). */
function psqlAs(user, db, sql) {
  return new Promise((resolve, reject) => {
    const p = spawn('psql', ['-h', '127.0.0.1', '-p', String(s.pgPort), '-U', user, '-d', db, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-f', '-'],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`psql -U ${user} -d ${db}: ${err}`))));
    p.stdin.end(sql);
  });
}

const pgLog = () => fs.readFileSync(path.join(s.dir, 'postgres.log'), 'utf8');

test('an SDK calling a wrong path leaves no credential in the list or the undefined_request.received webhook', async () => {
  const hook = await s.api('POST', '/api/v1/webhooks', { url: rx.url + '/undef', events: ['undefined_request.received'] });
  assert.equal(hook.status, 201, hook.text);
  const secretCookie = 'session=' + crypto.randomBytes(8).toString('hex');
  // an SDK-like call: the admin token in Authorization and X-API-Key, a session cookie
  const r = await fetch(s.url + '/sdk/v1/wrong-path', {
    method: 'POST',
    headers: { Authorization: `Bearer ${s.token}`, 'X-API-Key': s.token, Cookie: secretCookie, 'Content-Type': 'application/json', 'X-Request-Tag': 'kept' },
    body: JSON.stringify({ hello: 'world' }),
  });
  assert.equal(r.status, 404);
  const row = await waitUntil(async () => {
    const l = await s.api('GET', '/api/v1/undefined-requests');
    return (Array.isArray(l.body) ? l.body : l.body.items || []).find((u) => u.path === '/sdk/v1/wrong-path');
  }, 10000, 50, 'the miss in GET /api/v1/undefined-requests');
  const text = JSON.stringify(row);
  const secret = s.token.slice(3); // the part after "mk_"
  assert.ok(!text.includes(secret), 'no token in the list: ' + text);
  assert.ok(!text.includes(secretCookie), 'no cookie in the list');
  const h = Object.fromEntries(Object.entries(row.headers).map(([k, v]) => [k.toLowerCase(), v]));
  assert.equal(h.authorization, '[redacted]');
  assert.equal(h['x-api-key'], '[redacted]');
  assert.equal(h.cookie, '[redacted]');
  assert.deepEqual([h['x-request-tag']].flat(), ['kept'], 'other headers are kept');
  assert.deepEqual(row.body, { hello: 'world' });
  const got = await waitUntil(() => rx.requests('/undef').find((q) => q.body.includes('/sdk/v1/wrong-path')), 10000, 20,
    'the undefined_request.received delivery');
  assert.ok(!got.body.includes(secret), 'no token in the webhook payload: ' + got.body);
  assert.ok(!got.body.includes(secretCookie), 'no cookie in the webhook payload');
  assert.match(got.body, /\[redacted\]/);
  // nothing anywhere in the table either
  assert.equal(await s.psql(`SELECT count(*) FROM mockarty_private.undefined_requests WHERE headers::text ~ '${secret}'`), '0');
  assert.equal((await s.api('DELETE', `/api/v1/webhooks/${hook.body.id}`)).status, 200);
});

test('5 MB bodies on unique paths: stored bytes stay bounded, the worker keeps the newest N and drops the old', async () => {
  await setting('undefined_max_per_namespace', '5');
  await s.psql(`SELECT mockarty.namespace_create('bigns')`).catch(() => {});
  const N = 12;
  const body = crypto.randomBytes(5 * 1024 * 1024 / 2).toString('hex'); // 5 MiB, incompressible
  for (let i = 1; i <= N; i++) {
    const r = await fetch(`${s.url}/stubs/bigns/big/${i}`, { method: 'POST', body, headers: { 'Content-Type': 'text/plain' } });
    assert.equal(r.status, 404);
    await r.arrayBuffer();
  }
  const q = `SELECT count(*) FILTER (WHERE path = '/big/${N}') || ' ' || count(*) FROM mockarty_private.undefined_requests WHERE namespace = 'bigns'`;
  await waitUntil(async () => (await s.psql(q)) === '1 5', 15000, 100, 'the last miss recorded and the history cut to 5 by the worker');
  const st = (await s.psql(`SELECT max(octet_length(body #>> '{}')) || ' ' || bool_and(body_truncated) || ' ' || min(body_size) || ' ' ||
    sum(pg_column_size(body)) FROM mockarty_private.undefined_requests WHERE namespace = 'bigns'`)).split(' ');
  assert.ok(Number(st[0]) <= 65536, `stored body ${st[0]} bytes <= 64 KiB (undefined_body_max_bytes)`);
  assert.equal(st[1], 'true', 'every big body is flagged truncated');
  assert.ok(Number(st[2]) >= 65536, 'bodySize says how big it was');
  assert.ok(Number(st[3]) <= 5 * 65536 + 4096, `bytes stored for the namespace: ${st[3]}`);
  const rel = Number(await s.psql(`SELECT pg_total_relation_size('mockarty_private.undefined_requests')`));
  assert.ok(rel < 16 * 1024 * 1024, `table with TOAST and indexes ${rel} bytes for ${N} x 5 MiB sent (unbounded: > 60 MiB)`);
  const l = await s.api('GET', '/api/v1/undefined-requests?namespace=bigns');
  const listed = (Array.isArray(l.body) ? l.body : l.body.items).filter((u) => u.namespace === 'bigns');
  assert.deepEqual(listed.map((u) => u.path).sort(), [8, 9, 10, 11, 12].map((i) => `/big/${i}`).sort(), 'the 5 newest stay');
  assert.equal(listed[0].bodyTruncated, true);

  // age: a miss last seen 8 days ago (undefined_max_age_s default 7 days) is purged by the worker
  await s.psql(`UPDATE mockarty_private.undefined_requests SET last_seen = now() - interval '8 days' WHERE namespace = 'bigns' AND path = '/big/8'`);
  await waitUntil(async () => (await s.psql(`SELECT count(*) FROM mockarty_private.undefined_requests WHERE namespace = 'bigns'`)) === '4',
    10000, 100, 'the old miss purged by the worker');
  await setting('undefined_max_per_namespace', null);
});

test('expired mocks are purged by the worker and stop being served', async () => {
  const r = await s.api('POST', '/api/v1/mocks', mockDoc('ttl-1', '/ttl/one', { short: 'lived' }, { ttl: 2 }));
  assert.equal(r.status, 200, r.text);
  const keep = await s.api('POST', '/api/v1/mocks', mockDoc('ttl-keep', '/ttl/keep', { long: 'lived' }, { ttl: 3600 }));
  assert.equal(keep.status, 200, keep.text);
  await waitUntil(async () => (await s.api('GET', '/ttl/one', undefined, { token: null })).status === 200, 5000, 20, 'served');
  await waitUntil(async () => (await s.psql(`SELECT count(*) FROM mockarty_private.mocks WHERE id = 'ttl-1'`)) === '0',
    15000, 100, 'expired mock deleted by the worker');
  assert.equal((await s.api('GET', '/api/v1/mocks/ttl-1')).status, 404);
  await waitUntil(async () => (await s.api('GET', '/ttl/one', undefined, { token: null })).status === 404, 5000, 20, 'no longer served');
  assert.equal((await s.api('GET', '/ttl/keep', undefined, { token: null })).status, 200, 'a mock not yet expired stays');
  assert.equal(await s.psql(`SELECT op FROM mockarty_private.change_log WHERE mock_id = 'ttl-1' ORDER BY version DESC LIMIT 1`), 'delete');
});

test('the change log is trimmed; a resolver whose version fell out of it resyncs from a snapshot and serves the truth', async () => {
  const integ = await s.api('POST', '/ui/api/integrations', { name: 'ret-resolver', type: 'mock_resolver' });
  assert.ok(integ.status === 200 || integ.status === 201, integ.text);
  assert.equal((await s.api('POST', '/api/v1/mocks', mockDoc('cl-old', '/cl/old', { v: 'old' }))).status, 200);
  assert.equal((await s.api('POST', '/api/v1/mocks', mockDoc('cl-kept', '/cl/kept', { v: 1 }))).status, 200);
  const r = await startResolver({ COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`, API_TOKEN: integ.body.token, RESOLVER_NAME: 'ret-r' });
  try {
    await waitUntil(async () => (await r.get('/cl/old')).status === 200, 10000, 50, 'resolver serves cl-old');
    // a miss on the resolver travels through Report: redacted there too
    assert.equal((await r.get('/cl/resolver-miss', { Authorization: `Bearer ${s.token}` })).status, 404);
    const miss = await waitUntil(async () => (await s.psqlJson(
      `SELECT u FROM jsonb_array_elements(mockarty.undefined_list()) u WHERE u ->> 'path' = '/cl/resolver-miss'`)), 15000, 100,
      'the resolver miss reported');
    assert.equal(Object.entries(miss.headers).find(([k]) => k.toLowerCase() === 'authorization')[1], '[redacted]');
    const before = await r.status();
    const v0 = before.appliedVersion;

    // the admin node (and with it the coordinator's in-memory change window) goes away; meanwhile
    // cl-old is deleted, 250 other changes happen and the worker trims the log past the delete
    await s.admin.stop();
    await setting('change_log_min_age_s', '0');
    await setting('change_log_keep', '100');
    await s.psql(`SELECT mockarty.mock_delete('cl-old')`);
    const delVersion = Number(await s.psql(`SELECT mockarty.head_version()`));
    await s.psql(`SELECT mockarty.mock_save('{"id":"cl-kept","http":{"route":"/cl/kept","httpMethod":"GET"},"response":{"statusCode":200,"payload":{"v":2}}}')`);
    await s.psql(`SELECT mockarty.mock_batch_save((SELECT jsonb_agg(jsonb_build_object('id', 'cl-' || i,
      'http', jsonb_build_object('route', '/cl/n/' || i, 'httpMethod', 'GET'), 'response', jsonb_build_object('payload', i)))
      FROM generate_series(1, 250) i))`);
    await waitUntil(async () => Number(await s.psql(`SELECT mockarty.change_log_floor()`)) >= delVersion, 15000, 100,
      'the worker trimmed the change log past the delete of cl-old');
    assert.equal(await s.psql(`SELECT count(*) FROM mockarty.changes_since(${v0}) WHERE mock_id = 'cl-old'`), '0', 'the delete is gone from the log');
    assert.equal((await r.get('/cl/old')).status, 200, 'while cut off, the resolver still serves its last state');

    await s.admin.start();
    // its version is in the trimmed range, so the coordinator cannot feed it deltas: a Resync
    await waitUntil(async () => (await r.status()).coordinator.resyncs > before.coordinator.resyncs, 20000, 100,
      'the coordinator told the resolver to resync');
    assert.match(s.admin.logs(), /resync for resolver ret-r .*older than the coordinator's change window/);
    await waitUntil(async () => (await r.get('/cl/n/250')).status === 200, 20000, 50, 'the resolver serves the new mocks');
    assert.equal((await r.get('/cl/old')).status, 404, 'the mock deleted in the trimmed range is not served');
    assert.deepEqual((await r.get('/cl/kept')).body, { v: 2 });
    assert.equal((await r.get('/cl/n/1')).status, 200);
    const after = await r.status();
    assert.ok(after.appliedVersion >= Number(await s.psql('SELECT mockarty.head_version()')) - 1, 'caught up with the head');
    // the admin node itself serves the truth as well
    assert.equal((await s.api('GET', '/cl/old', undefined, { token: null })).status, 404);
    assert.deepEqual((await s.api('GET', '/cl/kept', undefined, { token: null })).body, { v: 2 });
  } finally {
    await r.stop();
    await setting('change_log_min_age_s', null);
    await setting('change_log_keep', null);
  }
});

test('a connected resolver\'s applied version is recorded and keeps the change log above it until it catches up', async () => {
  const integ = await s.api('POST', '/ui/api/integrations', { name: 'ret-lagging', type: 'mock_resolver' });
  assert.ok(integ.status === 200 || integ.status === 201, integ.text);
  assert.equal((await s.api('POST', '/api/v1/mocks', mockDoc('nl-1', '/nl/1', { v: 1 }))).status, 200);
  const r = await startResolver({ COORDINATOR_ADDR: `127.0.0.1:${grpcPort}`, API_TOKEN: integ.body.token, RESOLVER_NAME: 'ret-lag' });
  // the lowest applied version the admin node recorded for its connected resolvers (within the window)
  const recorded = async () => Number(await s.psql(`SELECT coalesce(min(applied_version), -1) FROM mockarty_private.change_log_nodes
    WHERE applied_version IS NOT NULL AND seen_at > now() - interval '60 s'`));
  let stopped = false;
  try {
    await waitUntil(async () => (await r.get('/nl/1')).status === 200, 10000, 50, 'resolver serves nl-1');
    const h0 = Number(await s.psql('SELECT mockarty.head_version()'));
    await waitUntil(async () => (await r.status()).appliedVersion >= h0, 10000, 50, 'the resolver applied the head');
    // recorded every 5 s by the coordinator
    await waitUntil(async () => (await recorded()) >= h0, 15000, 100, 'the coordinator recorded the resolver\'s applied version');
    const v0 = await recorded();
    assert.equal(v0, (await r.status()).appliedVersion, 'the recorded version is the one the resolver reports');
    assert.ok(Number(await s.psql('SELECT mockarty.change_log_floor()')) <= v0);

    // the resolver stops applying (SIGSTOP) while its stream stays open; 250 changes later the
    // worker would trim to head - 100, but keeps every version above v0
    r.proc.kill('SIGSTOP');
    stopped = true;
    await setting('change_log_min_age_s', '0');
    await setting('change_log_keep', '100');
    await s.psql(`SELECT mockarty.mock_batch_save((SELECT jsonb_agg(jsonb_build_object('id', 'nl-' || i,
      'http', jsonb_build_object('route', '/nl/n/' || i, 'httpMethod', 'GET'), 'response', jsonb_build_object('payload', i)))
      FROM generate_series(1, 250) i))`);
    const head = Number(await s.psql('SELECT mockarty.head_version()'));
    assert.ok(head - 100 > v0, 'without the node, trimming would remove versions above v0');
    await waitUntil(async () => Number(await s.psql('SELECT mockarty.change_log_floor()')) === v0, 15000, 100,
      'the worker trimmed the log up to the lagging resolver\'s version');
    // ... and no further, over several records of the coordinator (one every 5 s)
    const t0 = Date.now();
    while (Date.now() - t0 < 6000) {
      assert.equal(await s.psql('SELECT mockarty.change_log_trim()'), '0');
      assert.equal(Number(await s.psql('SELECT mockarty.change_log_floor()')), v0, 'the log keeps every version above v0');
      assert.equal(await recorded(), v0);
      await new Promise((res) => setTimeout(res, 500));
    }
    assert.equal(await s.psql(`SELECT count(*) FROM mockarty.changes_since(${v0})`), String(head - v0));

    // the resolver resumes, catches up from the log kept for it, and the log is trimmed behind it
    r.proc.kill('SIGCONT');
    stopped = false;
    await waitUntil(async () => (await r.get('/nl/n/250')).status === 200, 20000, 50, 'the resolver serves the new mocks');
    await waitUntil(async () => Number(await s.psql('SELECT mockarty.change_log_floor()')) >= head - 100, 20000, 100,
      'the log is trimmed once the resolver caught up');
  } finally {
    if (stopped) r.proc.kill('SIGCONT');
    await r.stop();
    await setting('change_log_min_age_s', null);
    await setting('change_log_keep', null);
  }
});

test('a tarpit webhook receiver in namespace A does not delay deliveries of namespace B (bound 3 s)', async () => {
  // the tarpit reads requests and never answers
  const held = new Set();
  const tarpit = http.createServer((req) => {
    held.add(req.socket);
    req.resume();
  });
  await new Promise((r) => tarpit.listen(0, '127.0.0.1', r));
  const tarpitUrl = `http://127.0.0.1:${tarpit.address().port}`;
  try {
    await setting('webhook_timeout_ms', '30000');
    for (const ns of ['tarpit-a', 'fair-b']) await s.psql(`SELECT mockarty.namespace_create('${ns}')`).catch(() => {});
    const wa = await s.psql(`SELECT mockarty.webhook_create('{"url":"${tarpitUrl}/a","events":["test_run.completed"]}', 'tarpit-a') ->> 'id'`);
    const wb = await s.psql(`SELECT mockarty.webhook_create('{"url":"${rx.url}/b","events":["test_run.completed"]}', 'fair-b') ->> 'id'`);
    await s.psql(`SELECT count(mockarty.event_emit('test_run.completed', 'tarpit-a', jsonb_build_object('i', i))) FROM generate_series(1, 200) i`);
    // the engine is stuck on A's receiver: its fair share (16) is in flight
    await waitUntil(async () => Number(await s.psql(`SELECT count(*) FROM mockarty_private.webhook_deliveries
      WHERE namespace = 'tarpit-a' AND status = 'delivering'`)) >= 16, 10000, 50, 'tarpit deliveries in flight');
    const t0 = performance.now();
    await s.psql(`SELECT count(mockarty.event_emit('test_run.completed', 'fair-b', jsonb_build_object('i', i))) FROM generate_series(1, 20) i`);
    await waitUntil(() => rx.requests('/b').length >= 20, 10000, 10, "all 20 of namespace B's deliveries");
    const took = performance.now() - t0;
    assert.ok(took < 3000, `B's deliveries took ${Math.round(took)} ms while A's receiver holds its connections (bound 3000 ms)`);
    const inflightA = Number(await s.psql(`SELECT count(*) FROM mockarty_private.webhook_deliveries
      WHERE namespace = 'tarpit-a' AND status = 'delivering'`));
    assert.ok(inflightA <= 16, `namespace A holds ${inflightA} slots (share 16)`);
    console.log(`# tarpit: namespace B's 20 deliveries in ${Math.round(took)} ms; namespace A in flight: ${inflightA}`);
    await s.psql(`SELECT mockarty.webhook_delete('${wa}'), mockarty.webhook_delete('${wb}')`);
  } finally {
    for (const sock of held) sock.destroy();
    tarpit.close();
    await setting('webhook_timeout_ms', null);
  }
});

test('webhook timeouts above 30 s are refused naming the field; a slow attempt is never sent twice', async () => {
  const bad = await s.api('POST', '/api/v1/mocks', mockDoc('cb-slow', '/cb/slow', {}, { webhooks: [{ url: rx.url + '/cb', timeout: 9999999 }] }));
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.text, /\$\.webhooks\[0\]\.timeout/);
  assert.match(bad.text, /30000/);
  assert.equal((await s.api('GET', '/api/v1/mocks/cb-slow')).status, 404, 'nothing saved');
  const put = await s.api('PUT', '/api/v1/settings/webhook_timeout_ms', { value: '60000' });
  assert.equal(put.status, 400, put.text);
  assert.match(put.text, /webhook_timeout_ms/);
  assert.equal(await s.psql(`SELECT mockarty.setting_get('webhook_timeout_ms')`), '10000', 'unchanged');

  // a receiver that answers after 3 s, a lease asked for 1 s: the lease is timeout + 15 s, so
  // the row is not claimed again (and sent again) while the first attempt runs
  const got = [];
  const slow = http.createServer((req, res) => {
    got.push(req.headers['x-mockarty-delivery']);
    req.resume();
    setTimeout(() => res.end('ok'), 3000);
  });
  await new Promise((r) => slow.listen(0, '127.0.0.1', r));
  try {
    await setting('webhook_lease_ms', '1000');
    await setting('webhook_timeout_ms', '5000');
    const w = await s.psql(`SELECT mockarty.webhook_create('{"url":"http://127.0.0.1:${slow.address().port}/slow","events":["test_run.completed"]}', 'lease-ns') ->> 'id'`);
    await s.psql(`SELECT mockarty.event_emit('test_run.completed', 'lease-ns', '{"slow":true}')`);
    await waitUntil(async () => (await s.psql(`SELECT status FROM mockarty_private.webhook_deliveries WHERE webhook_id = '${w}'`)) === 'succeeded',
      15000, 50, 'the slow delivery recorded as succeeded');
    assert.equal(got.length, 1, `the receiver got ${got.length} requests for one delivery (a 1 s lease alone would resend it)`);
    assert.equal(await s.psql(`SELECT attempts FROM mockarty_private.webhook_deliveries WHERE webhook_id = '${w}'`), '1');
    await s.psql(`SELECT mockarty.webhook_delete('${w}')`);
  } finally {
    slow.closeAllConnections?.();
    slow.close();
    await setting('webhook_lease_ms', null);
    await setting('webhook_timeout_ms', null);
  }
});

test('a mockarty.task_reap() planted before CREATE EXTENSION is never called by the superuser worker', async () => {
  // a role with CREATE on a database (not superuser) prepares the trap in the database the
  // scheduler serves; the extension is not installed there
  await s.psql(`CREATE ROLE planter LOGIN; CREATE DATABASE plant; GRANT CREATE ON DATABASE plant TO planter`);
  await psqlAs('planter', 'plant', `
    CREATE SCHEMA mockarty;
    CREATE TABLE mockarty.calls (fn text, by_role text, at timestamptz DEFAULT now());
    GRANT INSERT ON mockarty.calls TO PUBLIC;
    CREATE FUNCTION mockarty.task_reap() RETURNS int LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO mockarty.calls (fn, by_role) VALUES ('task_reap', current_user); RETURN 0; END $$;
    CREATE FUNCTION mockarty.webhook_due_notify() RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO mockarty.calls (fn, by_role) VALUES ('webhook_due_notify', current_user); RETURN false; END $$;
    CREATE FUNCTION mockarty.undefined_purge() RETURNS int LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO mockarty.calls (fn, by_role) VALUES ('undefined_purge', current_user); RETURN 0; END $$;`);
  const seen = (pgLog().match(/extension mockarty is not installed in database "plant"/g) || []).length;
  await s.psql(`ALTER SYSTEM SET mockarty.database = 'plant'; SELECT pg_reload_conf()`);
  try {
    // the worker logs this line after its first tick in that database has looked at every job
    await waitUntil(() => (pgLog().match(/extension mockarty is not installed in database "plant"/g) || []).length > seen,
      15000, 50, 'the scheduler worker scanned database plant');
    assert.equal(await psqlAs('planter', 'plant', 'SELECT count(*) FROM mockarty.calls'), '0', 'no planted function was called');
    const who = await s.psql(`SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'mockarty scheduler' AND datname = 'plant'`);
    assert.equal(who, '1', 'the worker is connected to plant');
  } finally {
    await s.psql(`ALTER SYSTEM RESET mockarty.database; SELECT pg_reload_conf()`);
  }
  await waitUntil(async () => (await s.psql(`SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'mockarty scheduler' AND datname = 'mockarty'`)) === '1',
    15000, 100, 'the worker is back on database mockarty');
  assert.equal(await psqlAs('planter', 'plant', 'SELECT count(*) FROM mockarty.calls'), '0', 'still never called');
});
