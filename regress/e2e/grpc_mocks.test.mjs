// grpc_mocks.test.mjs - serving gRPC mocks (issue 12, item 3): mockarty-gen-server --type grpc
// against the harness's admin node and coordinator. Our multi-file fixture
// regress/grpc-mocks/shop/v1/{shop,types}.proto is uploaded over REST, mocks are generated
// (POST /api/v1/generators/grpc) and added with conditions, meta, errors and delays; then
// @grpc/grpc-js + @grpc/proto-loader call them as a user would: all four call kinds, a metadata
// condition, response metadata and trailers, an error with rich details decoded from
// grpc-status-details-bin with our google/rpc protos, a deadline exceeded by a delayed mock, a
// use limit exact through the coordinator, misses as UNIMPLEMENTED recorded as undefined
// requests, server reflection used to call a method knowing nothing else, health per service,
// and bad input (malformed message, 100 MB declared length, unknown service) that leaves the
// server serving, and proxy.target for all four call kinds against a grpc-js backend (messages
// both ways as they arrive, request metadata and deadline forwarded, the backend's headers,
// trailers and status passed back, cancels reaching the backend). Debian's python3-grpcio
// (/usr/bin/python3) runs the same kinds through regress/grpc-mocks/grpcio_client.py.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { startStack, freePort, waitUntil, repoRoot } from './lib/harness.mjs';

const require = createRequire(path.join(repoRoot, 'regress/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
const { status } = grpc;

const GEN_SERVER = path.join(repoRoot, 'daemons/build/mockarty-gen-server');
const fixtures = path.join(repoRoot, 'regress/grpc-mocks');
const protoDir = path.join(repoRoot, 'proto');
const loadOpts = { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true };
const SVC = 'shop.v1.ShopService';

let s;
let proc;
let port;
let logFile;
let shop; // generated client class
const clients = [];

const newClient = () => {
  const c = new shop(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
};
const unary = (c, method, req, { meta, deadlineMs } = {}) => new Promise((resolve) => {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(meta || {})) md.set(k, v);
  const opts = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
  let headers;
  let trailers;
  let out;
  let n = 0;
  const done = () => { if (++n === 2) resolve({ ...out, headers, trailers }); };
  const call = c[method](req, md, opts, (err, res) => { out = { err, res }; done(); });
  call.on('metadata', (m) => { headers = m; });
  call.on('status', (st) => { trailers = st.metadata; done(); });
});
const mock = (id, method, methodType, extra) => ({
  id, namespace: 'sandbox', serverName: 'shop', ...extra,
  grpc: { service: SVC, method, methodType, ...(extra.grpc || {}) },
});
const logs = () => (logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');

before(async () => {
  s = await startStack();
  // upload the two files with their import paths, then generate one mock per method
  const fd = new FormData();
  fd.append('namespace', 'sandbox');
  fd.append('serverName', 'shop');
  for (const f of ['shop/v1/shop.proto', 'shop/v1/types.proto']) {
    fd.append('files', new Blob([fs.readFileSync(path.join(fixtures, f))]), f);
  }
  const g = await s.fetch('/api/v1/generators/grpc', { method: 'POST', body: fd });
  assert.equal(g.status < 300, true, await g.text());

  const add = async (m) => {
    const r = await s.api('POST', '/api/v1/mocks', m);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  await add(mock('g-cond', 'GetOrder', 'unary', {
    priority: 10,
    grpc: { conditions: [{ path: '$.req.id', assertAction: 'equals', value: 'o-42' }] },
    response: { payload: { id: 'o-42', email: '$.req.id@example.com', status: 'STATUS_SHIPPED', items: [{ sku: 'A', quantity: 2 }] },
      headers: { 'x-mock': ['cond'] }, trailers: { 'x-trail': 't1' } },
  }));
  await add(mock('g-meta', 'GetOrder', 'unary', {
    priority: 20,
    grpc: { meta: [{ path: 'x-tenant', assertAction: 'equals', value: 'acme' }] },
    response: { payload: { id: 'acme-order' } },
  }));
  await add(mock('g-tmpl-meta', 'GetOrder', 'unary', {
    priority: 10,
    grpc: { conditions: [{ path: '$.req.id', assertAction: 'equals', value: 'who' }] },
    response: { payload: { id: 'for-$.reqHeader.x-tenant' } },
  }));
  await add(mock('g-err', 'GetOrder', 'unary', {
    priority: 10,
    grpc: { conditions: [{ path: '$.req.id', assertAction: 'equals', value: 'missing' }] },
    response: { statusCode: 5, error: 'order missing',
      errorDetails: [
        { type: 'badRequest', details: { fieldViolations: [{ field: 'id', description: 'no such order' }] } },
        { type: 'errorInfo', details: { reason: 'ORDER_NOT_FOUND', domain: 'shop.example', metadata: { id: 'missing' } } },
        { type: 'retryInfo', details: { retryDelay: '2s' } },
      ] },
  }));
  await add(mock('g-http-status', 'GetOrder', 'unary', {
    priority: 10,
    grpc: { conditions: [{ path: '$.req.id', assertAction: 'equals', value: 'forbidden' }] },
    response: { statusCode: 403, error: 'not yours' },
  }));
  await add(mock('g-slow', 'GetOrder', 'unary', {
    priority: 10,
    grpc: { conditions: [{ path: '$.req.id', assertAction: 'equals', value: 'slow' }] },
    response: { delay: 3000, payload: { id: 'slow' } },
  }));
  await add(mock('g-once', 'GetOrder', 'unary', {
    priority: 10, useLimiter: 1,
    grpc: { conditions: [{ path: '$.req.id', assertAction: 'equals', value: 'once' }] },
    response: { payload: { id: 'once' } },
  }));
  await add(mock('g-watch', 'WatchOrders', 'server-stream', {
    priority: 10,
    grpc: { conditions: [{ path: '$.req.email', assertAction: 'equals', value: 'w@example.com' }] },
    response: { streamResponses: [{ id: 's1' }, { payload: { id: 's2' }, delay: 300 }, { id: 's3', note: 'last' }] },
  }));
  await add(mock('g-watch-fail', 'WatchOrders', 'server-stream', {
    priority: 10,
    grpc: { conditions: [{ path: '$.req.email', assertAction: 'equals', value: 'fail@example.com' }] },
    response: { streamResponses: [{ id: 'f1' }, { id: 'f2' }, { statusCode: 8, error: 'quota gone' }, { id: 'never' }] },
  }));
  await add(mock('g-upload-last', 'UploadItems', 'client-stream', {
    priority: 20,
    grpc: { conditions: [{ path: '$[-1].sku', assertAction: 'equals', value: 'LAST' }] },
    response: { payload: { count: 99 } },
  }));
  await add(mock('g-upload', 'UploadItems', 'client-stream', {
    priority: 10,
    grpc: { conditions: [{ path: '$[1].sku', assertAction: 'equals', value: 'B' }] },
    response: { payload: { count: 2, total: { currency: 'EUR', units: '12' } } },
  }));
  await add(mock('g-chat', 'Chat', 'bidirectional', {
    priority: 10,
    grpc: { conditions: [{ path: '$.req.text', assertAction: 'equals', value: 'hi' }] },
    response: { payload: { text: 'hello', seq: '1' } },
  }));
  await add(mock('g-chat-echo', 'Chat', 'bidirectional', {
    priority: 5,
    response: { payload: { text: 'echo $.req.text', seq: '2' } },
  }));

  port = await freePort();
  const dash = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grpc-mocks-'));
  logFile = path.join(dir, 'gen-server.log');
  const fdLog = fs.openSync(logFile, 'a');
  proc = spawn(GEN_SERVER, ['--type', 'grpc'], {
    env: { PATH: process.env.PATH, HTTP_ADMIN_BASE_URL: s.admin.url, NAMESPACE: 'sandbox', API_TOKEN: s.token,
      SERVER_NAME: 'shop', COORDINATOR_ADDR: s.grpcAddr, HTTP_PORT: String(port), DASHBOARD_PORT: String(dash),
      HTTP_BIND_ADDR: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', fdLog, fdLog],
  });
  fs.closeSync(fdLog);
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync('shop/v1/shop.proto', { ...loadOpts, includeDirs: [fixtures, '/usr/include'] }));
  shop = pkg.shop.v1.ShopService;
  const c = newClient();
  await waitUntil(async () => {
    if (proc.exitCode !== null) throw new Error('gen-server exited:\n' + logs());
    const r = await unary(c, 'GetOrder', { id: 'o-42' }, { deadlineMs: 1000 });
    return !r.err && r.res.id === 'o-42';
  }, 20000, 100, 'gen-server serves the synced mocks');
});

after(async () => {
  for (const c of clients) c.close();
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await waitUntil(() => proc.exitCode !== null || proc.signalCode !== null, 10000, 50, 'gen-server stopped').catch(() => proc.kill('SIGKILL'));
  }
  await s?.stop();
});

test('unary: a condition on the message selects the mock; templates see the message; response metadata and trailers arrive', async () => {
  const c = newClient();
  const r = await unary(c, 'GetOrder', { id: 'o-42' });
  assert.ifError(r.err);
  assert.equal(r.res.id, 'o-42');
  assert.equal(r.res.email, 'o-42@example.com');
  assert.equal(r.res.status, 'STATUS_SHIPPED');
  assert.equal(r.res.items[0].quantity, 2);
  assert.deepEqual(r.headers.get('x-mock'), ['cond']);
  assert.deepEqual(r.trailers.get('x-trail'), ['t1']);
  // another id falls through to the generated mock (an example Order)
  const g = await unary(c, 'GetOrder', { id: 'other' });
  assert.ifError(g.err);
  assert.ok(g.res.id !== 'o-42');
  // the matched call is logged in the mock's history (Report)
  await waitUntil(async () => {
    const l = await s.psqlJson(`SELECT coalesce(jsonb_agg(l), '[]') FROM mockarty.mock_logs('g-cond') l`);
    return l.length > 0;
  }, 10000, 100, 'g-cond log row');
});

test('a metadata condition selects a mock; a template reads the metadata', async () => {
  const c = newClient();
  const r = await unary(c, 'GetOrder', { id: 'o-42' }, { meta: { 'x-tenant': 'acme' } });
  assert.ifError(r.err);
  assert.equal(r.res.id, 'acme-order');
  const n = await unary(c, 'GetOrder', { id: 'o-42' }, { meta: { 'x-tenant': 'other' } });
  assert.equal(n.res.id, 'o-42');
  // a template reads the metadata of a call whose mock has no metadata condition
  const t = await unary(c, 'GetOrder', { id: 'who' }, { meta: { 'x-tenant': 'globex' } });
  assert.ifError(t.err);
  assert.equal(t.res.id, 'for-globex');
});

test('server streaming: every message of streamResponses, in order, one with its own delay', async () => {
  const c = newClient();
  const got = [];
  const t0 = Date.now();
  const times = [];
  await new Promise((resolve, reject) => {
    const call = c.WatchOrders({ email: 'w@example.com' });
    call.on('data', (m) => { got.push(m.id); times.push(Date.now() - t0); });
    call.on('error', reject);
    call.on('end', resolve);
  });
  assert.deepEqual(got, ['s1', 's2', 's3']);
  assert.ok(times[1] - times[0] >= 250, `second message delayed: ${times}`);
});

test('server streaming: a status item in streamResponses ends the stream with its status after the messages before it', async () => {
  const c = newClient();
  const got = [];
  const err = await new Promise((resolve) => {
    const call = c.WatchOrders({ email: 'fail@example.com' });
    call.on('data', (m) => got.push(m.id));
    call.on('error', resolve);
    call.on('end', () => resolve(null));
  });
  assert.deepEqual(got, ['f1', 'f2']);
  assert.ok(err, 'the stream ends with an error');
  assert.equal(err.code, status.RESOURCE_EXHAUSTED);
  assert.equal(err.details, 'quota gone');
});

test('client streaming: matched on the array of collected messages after half-close ($[-1] the last)', async () => {
  const c = newClient();
  const res = await new Promise((resolve) => {
    const call = c.UploadItems((err, r) => resolve({ err, r }));
    call.write({ sku: 'A', quantity: 1 });
    call.write({ sku: 'B', quantity: 3 });
    call.end();
  });
  assert.ifError(res.err);
  assert.equal(res.r.count, 2);
  assert.equal(res.r.total.currency, 'EUR');
  assert.equal(res.r.total.units, '12');
  // $[-1] is the last message of the stream
  const last = await new Promise((resolve) => {
    const call = c.UploadItems((err, r) => resolve({ err, r }));
    call.write({ sku: 'A', quantity: 1 });
    call.write({ sku: 'B', quantity: 3 });
    call.write({ sku: 'LAST', quantity: 1 });
    call.end();
  });
  assert.ifError(last.err);
  assert.equal(last.r.count, 99);
});

test('bidirectional: a reply per incoming message, each matched on its own message', async () => {
  const c = newClient();
  const got = [];
  await new Promise((resolve, reject) => {
    const call = c.Chat();
    call.on('data', (m) => {
      got.push(m.text);
      if (got.length === 1) call.write({ text: 'again', seq: '2' });
      if (got.length === 2) call.end();
    });
    call.on('error', reject);
    call.on('end', resolve);
    call.write({ text: 'hi', seq: '1' });
  });
  assert.deepEqual(got, ['hello', 'echo again']);
});

test('an error with rich details: status, message and grpc-status-details-bin decoded with our google/rpc protos', async () => {
  // our google/rpc protos; their google/protobuf imports resolve from Debian's /usr/include
  const r2 = new protobuf.Root();
  r2.resolvePath = (origin, target) => {
    for (const d of [protoDir, '/usr/include']) if (fs.existsSync(path.join(d, target))) return path.join(d, target);
    return protobuf.util.path.resolve(origin, target);
  };
  await r2.load(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
  const c = newClient();
  const r = await unary(c, 'GetOrder', { id: 'missing' });
  assert.equal(r.err.code, status.NOT_FOUND);
  assert.equal(r.err.details, 'order missing');
  const bin = r.err.metadata.get('grpc-status-details-bin')[0];
  assert.ok(Buffer.isBuffer(bin), 'grpc-status-details-bin present');
  const st = r2.lookupType('google.rpc.Status').decode(bin);
  assert.equal(st.code, 5);
  assert.equal(st.message, 'order missing');
  assert.deepEqual(st.details.map((d) => d.type_url || d.typeUrl), [
    'type.googleapis.com/google.rpc.BadRequest', 'type.googleapis.com/google.rpc.ErrorInfo', 'type.googleapis.com/google.rpc.RetryInfo']);
  const br = r2.lookupType('google.rpc.BadRequest').decode(st.details[0].value);
  assert.equal(br.fieldViolations[0].field, 'id');
  assert.equal(br.fieldViolations[0].description, 'no such order');
  const ei = r2.lookupType('google.rpc.ErrorInfo').decode(st.details[1].value);
  assert.equal(ei.reason, 'ORDER_NOT_FOUND');
  assert.equal(ei.metadata.id, 'missing');
  const ri = r2.lookupType('google.rpc.RetryInfo').decode(st.details[2].value);
  assert.equal(Number(ri.retryDelay.seconds), 2);
  // an HTTP status is mapped to its gRPC code
  const f = await unary(c, 'GetOrder', { id: 'forbidden' });
  assert.equal(f.err.code, status.PERMISSION_DENIED);
  assert.equal(f.err.details, 'not yours');
});

test('a deadline shorter than the mock delay ends DEADLINE_EXCEEDED at the deadline', async () => {
  const c = newClient();
  const t0 = Date.now();
  const r = await unary(c, 'GetOrder', { id: 'slow' }, { deadlineMs: 400 });
  const took = Date.now() - t0;
  assert.equal(r.err?.code, status.DEADLINE_EXCEEDED);
  assert.ok(took < 2500, `ended after ${took} ms, not after the 3 s delay`);
  // the server keeps serving
  assert.ifError((await unary(c, 'GetOrder', { id: 'o-42' })).err);
});

test('a use limit is exact through the coordinator: the second call finds no mock', async () => {
  const c = newClient();
  const a = await unary(c, 'GetOrder', { id: 'once' });
  assert.ifError(a.err);
  assert.equal(a.res.id, 'once');
  const b = await unary(c, 'GetOrder', { id: 'once' });
  // the spent mock no longer answers: the generated mock (lower priority) does, not g-once
  assert.ok(b.err || b.res.id !== 'once', 'g-once answered twice');
  assert.equal(Number(await s.psql(`SELECT mockarty.mock_get('g-once')->>'useCounter'`)), 1);
});

test('nothing matches: UNIMPLEMENTED naming service and method, recorded as an undefined request', async () => {
  // without the generated UploadItems mock, a stream g-upload does not match finds nothing
  const c = newClient();
  const gen = (await s.psql(`SELECT string_agg(id, ',') FROM mockarty_private.mocks WHERE namespace = 'sandbox'
    AND doc->'grpc'->>'method' = 'UploadItems' AND id NOT IN ('g-upload', 'g-upload-last')`)).split(',').filter(Boolean);
  assert.equal(gen.length, 1, 'one generated UploadItems mock');
  for (const id of gen) assert.equal((await s.api('DELETE', `/api/v1/mocks/${id}`)).status, 200);
  await waitUntil(async () => {
    const r = await new Promise((resolve) => {
      const call = c.UploadItems((err, res) => resolve({ err, res }));
      call.write({ sku: 'Z' });
      call.end();
    });
    if (r.err?.code !== status.UNIMPLEMENTED) return false;
    assert.match(r.err.details, /shop\.v1\.ShopService/);
    assert.match(r.err.details, /UploadItems/);
    return true;
  }, 5000, 100, 'a miss on UploadItems');
  await waitUntil(async () => {
    const u = await s.psqlJson(`SELECT mockarty.undefined_list('sandbox')`);
    return u.some((x) => x.path === `/${SVC}/UploadItems` && x.method === 'GRPC');
  }, 10000, 100, 'undefined request recorded');
});

test('health answers SERVING per service; reflection lists the services and its descriptors are enough to call', async () => {
  const hp = grpc.loadPackageDefinition(protoLoader.loadSync('grpc/health/v1/health.proto', { keepCase: true, enums: String, includeDirs: [protoDir] }));
  const h = new hp.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  clients.push(h);
  const hs = await new Promise((resolve) => h.Check({ service: SVC }, (err, r) => resolve({ err, r })));
  assert.ifError(hs.err);
  assert.equal(hs.r.status, 'SERVING');

  for (const ver of ['v1', 'v1alpha']) {
    const rp = grpc.loadPackageDefinition(protoLoader.loadSync(`grpc/reflection/${ver}/reflection.proto`, { keepCase: true, includeDirs: [protoDir] }));
    const R = rp.grpc.reflection[ver].ServerReflection;
    const rc = new R(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    clients.push(rc);
    const ask = (req) => new Promise((resolve, reject) => {
      const call = rc.ServerReflectionInfo();
      call.on('data', (m) => { resolve(m); call.end(); });
      call.on('error', reject);
      call.write(req);
    });
    const list = await ask({ list_services: '' });
    const names = list.list_services_response.service.map((x) => x.name);
    assert.ok(names.includes(SVC), names.join(','));
    const files = await ask({ file_containing_symbol: SVC });
    const protos = files.file_descriptor_response.file_descriptor_proto;
    assert.ok(protos.length >= 1);
    // a FileDescriptorSet of the reflected files (field 1, length-delimited), plus their
    // dependencies by name until none is missing
    const have = new Map();
    const queue = [...protos];
    const desc = require('protobufjs/ext/descriptor');
    while (queue.length) {
      const b = queue.shift();
      const fdp = desc.FileDescriptorProto.decode(b);
      if (have.has(fdp.name)) continue;
      have.set(fdp.name, b);
      for (const dep of fdp.dependency || []) {
        if (have.has(dep)) continue;
        const more = await ask({ file_by_filename: dep });
        queue.push(...more.file_descriptor_response.file_descriptor_proto);
      }
    }
    const parts = [];
    for (const b of have.values()) {
      const len = [];
      let n = b.length;
      while (n > 127) { len.push((n & 127) | 128); n >>>= 7; }
      len.push(n);
      parts.push(Buffer.from([0x0a, ...len]), Buffer.from(b));
    }
    const def = protoLoader.loadFileDescriptorSetFromBuffer(Buffer.concat(parts), loadOpts);
    const Svc = grpc.loadPackageDefinition(def).shop.v1.ShopService;
    const cl = new Svc(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    clients.push(cl);
    const r = await unary(cl, 'GetOrder', { id: 'o-42' });
    assert.ifError(r.err);
    assert.equal(r.res.status, 'STATUS_SHIPPED');
  }
});

test('bad input gets the right status and the server keeps serving', async () => {
  const c = newClient();
  const raw = (pathName, body) => new Promise((resolve) => {
    const cl = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    cl.makeUnaryRequest(pathName, (b) => b, (b) => b, body, (err, res) => { cl.close(); resolve({ err, res }); });
  });
  // a message that does not match the descriptor: field 1 (id, a string) as a varint
  const bad = await raw(`/${SVC}/GetOrder`, Buffer.from([0x08, 0x01]));
  assert.equal(bad.err.code, status.INVALID_ARGUMENT);
  assert.match(bad.err.details, /shop\.v1\.GetOrderRequest/);
  // truncated wire data
  const trunc = await raw(`/${SVC}/GetOrder`, Buffer.from([0x0a, 0x10, 0x41]));
  assert.equal(trunc.err.code, status.INVALID_ARGUMENT);
  // an unknown service and an unknown method
  const us = await raw('/shop.v1.Nope/GetOrder', Buffer.alloc(0));
  assert.equal(us.err.code, status.UNIMPLEMENTED);
  const um = await raw(`/${SVC}/Nope`, Buffer.alloc(0));
  assert.equal(um.err.code, status.UNIMPLEMENTED);
  // a 100 MB declared length (raw HTTP/2): RESOURCE_EXHAUSTED, without sending 100 MB
  const h2 = http2.connect(`http://127.0.0.1:${port}`);
  const big = await new Promise((resolve) => {
    const req = h2.request({ ':method': 'POST', ':path': `/${SVC}/GetOrder`, 'content-type': 'application/grpc', te: 'trailers' });
    let st = null;
    req.on('response', (hd) => { if (hd['grpc-status']) st = hd['grpc-status']; });
    req.on('trailers', (t) => { st = t['grpc-status']; });
    req.on('close', () => resolve(st));
    req.on('error', () => resolve(st));
    const hdr = Buffer.alloc(5);
    hdr.writeUInt32BE(100 * 1024 * 1024, 1);
    req.write(hdr);
    req.write(Buffer.alloc(1024));
  });
  h2.close();
  assert.equal(Number(big), status.RESOURCE_EXHAUSTED);
  // a malformed frame (a compressed flag without grpc-encoding)
  const h2b = http2.connect(`http://127.0.0.1:${port}`);
  const comp = await new Promise((resolve) => {
    const req = h2b.request({ ':method': 'POST', ':path': `/${SVC}/GetOrder`, 'content-type': 'application/grpc', te: 'trailers' });
    let st = null;
    req.on('response', (hd) => { if (hd['grpc-status']) st = hd['grpc-status']; });
    req.on('trailers', (t) => { st = t['grpc-status']; });
    req.on('close', () => resolve(st));
    req.on('error', () => resolve(st));
    req.end(Buffer.from([1, 0, 0, 0, 2, 0x0a, 0x00]));
  });
  h2b.close();
  assert.ok(comp !== null && Number(comp) !== 0, `compressed frame refused (status ${comp})`);
  // still serving
  const ok = await unary(c, 'GetOrder', { id: 'o-42' });
  assert.ifError(ok.err);
  assert.equal(proc.exitCode, null);
});

test("Debian's python3-grpcio: the four kinds, a rich error and a deadline", { skip: !fs.existsSync('/usr/bin/python3') }, () => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    assert.fail(`python3-grpcio missing: ${probe.stderr}`);
  }
  const r = spawnSync('/usr/bin/python3', [path.join(fixtures, 'grpcio_client.py'), `127.0.0.1:${port}`, fixtures, protoDir],
    { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(out.unary, 'o-42');
  assert.deepEqual(out.stream, ['s1', 's2', 's3']);
  assert.equal(out.client_stream, 2);
  assert.deepEqual(out.bidi, ['hello', 'echo again']);
  assert.equal(out.error.code, 'NOT_FOUND');
  assert.equal(out.error.message, 'order missing');
  assert.equal(out.error.bad_request_field, 'id');
  assert.equal(out.error.error_info_reason, 'ORDER_NOT_FOUND');
  assert.equal(out.deadline, 'DEADLINE_EXCEEDED');
});

test('proxy.target passes the call to a real gRPC backend and returns its answer', async () => {
  const backend = new grpc.Server();
  backend.addService(shop.service, {
    GetOrder: (call, cb) => cb(null, { id: `backend-${call.request.id}`, email: 'b@example.com' }),
    WatchOrders: (call) => call.end(),
    UploadItems: (call, cb) => cb(null, {}),
    Chat: (call) => call.end(),
  });
  const bport = await new Promise((resolve, reject) => backend.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
    (err, p) => (err ? reject(err) : resolve(p))));
  try {
    const r = await s.api('POST', '/api/v1/mocks', mock('g-proxy', 'GetOrder', 'unary', {
      priority: 30,
      grpc: { conditions: [{ path: '$.req.id', assertAction: 'equals', value: 'proxied' }] },
      proxy: { target: `http://127.0.0.1:${bport}` },
      response: { payload: {} },
    }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const c = newClient();
    await waitUntil(async () => (await unary(c, 'GetOrder', { id: 'proxied' })).res?.id === 'backend-proxied', 10000, 100, 'proxied answer');
    const b = await unary(c, 'GetOrder', { id: 'proxied' });
    assert.equal(b.res.email, 'b@example.com');
  } finally {
    backend.forceShutdown();
  }
});


test('proxy.target passes a server stream through: each backend message as it arrives, then its status; a cancel reaches the backend', async () => {
  let backendCancelled = false;
  const backend = new grpc.Server();
  backend.addService(shop.service, {
    GetOrder: (call, cb) => cb(null, {}),
    WatchOrders: (call) => {
      const email = call.request.email;
      if (email === 'silent@example.com') { // sends one message, then nothing until cancelled
        call.write({ id: 'first' });
        call.on('cancelled', () => { backendCancelled = true; });
        return;
      }
      let n = 0;
      const t = setInterval(() => {
        n += 1;
        call.write({ id: `b${n}`, email });
        if (n === 3) {
          clearInterval(t);
          if (email === 'fail@example.com') call.emit('error', { code: status.RESOURCE_EXHAUSTED, details: 'backend quota' });
          else call.end();
        }
      }, 150);
    },
    UploadItems: (call, cb) => cb(null, {}),
    Chat: (call) => call.end(),
  });
  const bport = await new Promise((resolve, reject) => backend.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
    (err, p) => (err ? reject(err) : resolve(p))));
  const watch = (c, email, onData) => new Promise((resolve) => {
    const got = [];
    const t0 = Date.now();
    const call = c.WatchOrders({ email });
    call.on('data', (m) => { got.push([m.id, Date.now() - t0]); if (onData) onData(call, got); });
    call.on('error', () => {});
    call.on('status', (st) => resolve({ got, code: st.code, details: st.details }));
  });
  try {
    const r = await s.api('POST', '/api/v1/mocks', mock('g-proxy-stream', 'WatchOrders', 'server-stream', {
      priority: 30,
      grpc: { conditions: [{ path: '$.req.email', assertAction: 'contains', value: '@example.com' }] },
      proxy: { target: `http://127.0.0.1:${bport}` },
      response: { streamResponses: [{ id: 'not-proxied' }] },
    }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const c = newClient();
    await waitUntil(async () => (await watch(c, 'p@example.com')).got[0]?.[0] === 'b1', 10000, 100, 'proxied stream');
    const ok = await watch(c, 'p@example.com');
    assert.equal(ok.code, status.OK);
    assert.deepEqual(ok.got.map((g) => g[0]), ['b1', 'b2', 'b3']);
    assert.ok(ok.got[2][1] - ok.got[0][1] >= 250, `relayed as they arrived (${ok.got.map((g) => g[1]).join(', ')} ms)`);
    const bad = await watch(c, 'fail@example.com');
    assert.equal(bad.code, status.RESOURCE_EXHAUSTED);
    assert.equal(bad.details, 'backend quota');
    assert.deepEqual(bad.got.map((g) => g[0]), ['b1', 'b2', 'b3']);
    const cancelled = await watch(c, 'silent@example.com', (call) => call.cancel());
    assert.equal(cancelled.code, status.CANCELLED);
    await waitUntil(() => backendCancelled, 5000, 20, 'the backend call is cancelled too');
  } finally {
    await s.api('DELETE', '/api/v1/mocks/g-proxy-stream?namespace=sandbox');
    backend.forceShutdown();
  }
});

test('proxy.target passes client-streaming and bidirectional calls through: messages both ways as they arrive, metadata to the backend, its headers, trailers and status back, cancels both ways', async () => {
  const seen = []; // request metadata the backend saw: [method, x-tenant, authorization, traceparent]
  let bidiCancelled = false;
  const deadlines = {}; // the deadline the backend saw, ms from now, per method
  let uploadCancelled = false;
  const backend = new grpc.Server();
  const metaOf = (method, md, call) => {
    const d = call?.getDeadline?.();
    if (d instanceof Date) deadlines[method] = d.getTime() - Date.now();
    else if (typeof d === 'number' && Number.isFinite(d)) deadlines[method] = d - Date.now();
    seen.push([method, md.get('x-tenant')[0], md.get('authorization')[0], md.get('x-mockarty-min-version')[0]]);
  };
  backend.addService(shop.service, {
    GetOrder: (call, cb) => { metaOf('GetOrder', call.metadata, call); cb(null, { id: 'b-unary' }); },
    WatchOrders: (call) => { metaOf('WatchOrders', call.metadata, call); call.write({ id: 'b-watch' }); call.end(); },
    UploadItems: (call, cb) => {
      metaOf('UploadItems', call.metadata, call);
      let count = 0;
      let units = 0;
      const at = [];
      call.on('data', (it) => { count += 1; units += it.quantity; at.push(Date.now()); });
      call.on('cancelled', () => { uploadCancelled = true; });
      call.on('end', () => {
        const hdr = new grpc.Metadata();
        hdr.set('x-backend', 'upload');
        call.sendMetadata(hdr);
        const trl = new grpc.Metadata();
        trl.set('x-backend-trailer', `n=${count}`);
        trl.set('x-backend-spread', String(at.length ? at[at.length - 1] - at[0] : 0));
        if (units > 100) {
          trl.set('x-detail-bin', Buffer.from([1, 2, 3, 250]));
          cb({ code: status.FAILED_PRECONDITION, details: 'too many units', metadata: trl });
        }
        else cb(null, { count, total: { currency: 'EUR', units: String(units) } }, trl);
      });
    },
    Chat: (call) => {
      metaOf('Chat', call.metadata, call);
      call.on('cancelled', () => { bidiCancelled = true; });
      call.on('data', (m) => {
        if (m.text === 'px-fail') call.emit('error', { code: status.ABORTED, details: 'backend aborted' });
        else call.write({ text: `backend:${m.text}`, seq: m.seq });
      });
      call.on('end', () => call.end());
    },
  });
  const bport = await new Promise((resolve, reject) => backend.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
    (err, p) => (err ? reject(err) : resolve(p))));
  const target = { target: `http://127.0.0.1:${bport}` };
  const md = () => {
    const m = new grpc.Metadata();
    m.set('x-tenant', 'acme-px');
    m.set('x-mockarty-min-version', '1');
    m.set('authorization', 'Bearer caller-token');
    return m;
  };
  // a client stream: messages written with gaps; the backend's sum, headers, trailers, status
  const upload = (c, items, { cancelAfter } = {}) => new Promise((resolve) => {
    let headers;
    let trailers;
    let out;
    let n = 0;
    const done = () => { if (++n === 2) resolve({ ...out, headers, trailers }); };
    const call = c.UploadItems(md(), (err, res) => { out = { err, res }; done(); });
    call.on('metadata', (m) => { headers = m; });
    call.on('status', (st) => { trailers = st.metadata; done(); });
    let i = 0;
    const next = () => {
      if (cancelAfter !== undefined && i === cancelAfter) { call.cancel(); return; }
      if (i === items.length) { call.end(); return; }
      call.write(items[i]);
      i += 1;
      setTimeout(next, 30);
    };
    next();
  });
  const chat = (c, texts, { cancelAt, deadlineMs } = {}) => new Promise((resolve) => {
    const got = [];
    const call = c.Chat(md(), deadlineMs ? { deadline: Date.now() + deadlineMs } : {});
    let i = 0;
    // the next message goes out only after the backend's reply to the previous one came back
    const send = () => {
      if (i === texts.length) { call.end(); return; }
      call.write({ text: texts[i], seq: String(i + 1) });
      i += 1;
    };
    call.on('data', (m) => {
      got.push(m.text);
      if (cancelAt !== undefined && got.length === cancelAt) call.cancel();
      else send();
    });
    call.on('error', () => {});
    call.on('status', (st) => resolve({ got, code: st.code, details: st.details }));
    send();
  });
  try {
    for (const m of [
      mock('g-proxy-upload', 'UploadItems', 'client-stream', {
        priority: 30, proxy: target, response: { payload: { count: 7 } },
        grpc: { conditions: [{ path: '$[0].sku', assertAction: 'contains', value: 'PX' }] },
      }),
      mock('g-proxy-chat', 'Chat', 'bidirectional', {
        priority: 30, proxy: target, response: { payload: { text: 'not proxied' } },
        grpc: { conditions: [{ path: '$.req.text', assertAction: 'contains', value: 'px-' }] },
      }),
      mock('g-proxy-meta-unary', 'GetOrder', 'unary', {
        priority: 30, proxy: target, response: { payload: {} },
        grpc: { conditions: [{ path: '$.req.id', assertAction: 'equals', value: 'px-meta' }] },
      }),
      mock('g-proxy-meta-watch', 'WatchOrders', 'server-stream', {
        priority: 30, proxy: target, response: { streamResponses: [{ id: 'not-proxied' }] },
        grpc: { conditions: [{ path: '$.req.email', assertAction: 'equals', value: 'px-meta' }] },
      }),
    ]) {
      const r = await s.api('POST', '/api/v1/mocks', m);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const c = newClient();
    const items = [{ sku: 'PX1', quantity: 2 }, { sku: 'PX2', quantity: 3 }, { sku: 'PX3', quantity: 5 }];
    await waitUntil(async () => (await upload(c, items)).res?.count === 3, 10000, 100, 'proxied client stream');

    // client stream: the backend's sum, its response header, trailer and OK
    const up = await upload(c, items);
    assert.ifError(up.err);
    assert.equal(up.res.count, 3);
    assert.equal(up.res.total.units, '10');
    assert.deepEqual(up.headers.get('x-backend'), ['upload']);
    assert.deepEqual(up.trailers.get('x-backend-trailer'), ['n=3']);
    // written 30 ms apart, they reached the backend as they arrived (not all at the half-close)
    const spread = Number(up.trailers.get('x-backend-spread')[0]);
    assert.ok(spread >= 40, `the backend got the 3 messages over ${spread} ms`);
    // an error status (with its trailer) passed through
    const bad = await upload(c, [{ sku: 'PX9', quantity: 101 }]);
    assert.equal(bad.err?.code, status.FAILED_PRECONDITION);
    assert.equal(bad.err.details, 'too many units');
    assert.deepEqual(bad.trailers.get('x-backend-trailer'), ['n=1']);
    assert.deepEqual([...bad.trailers.get('x-detail-bin')[0]], [1, 2, 3, 250], 'a binary trailer arrives intact');

    // bidi: each reply is the backend's, in order, and comes back before the next message is sent
    await waitUntil(async () => (await chat(c, ['px-a'])).got[0] === 'backend:px-a', 10000, 100, 'proxied bidi');
    const texts = Array.from({ length: 20 }, (_, k) => `px-${k}`);
    const echo = await chat(c, texts);
    assert.equal(echo.code, status.OK);
    assert.deepEqual(echo.got, texts.map((t) => `backend:${t}`));
    // the backend's error status ends our call
    const failed = await chat(c, ['px-one', 'px-fail']);
    assert.deepEqual(failed.got, ['backend:px-one']);
    assert.equal(failed.code, status.ABORTED);
    assert.equal(failed.details, 'backend aborted');

    // request metadata reached the backend for all four kinds; not ours (x-mockarty-*, authorization)
    await unary(c, 'GetOrder', { id: 'px-meta' }, { meta: { 'x-tenant': 'acme-px', 'x-mockarty-min-version': '1' } });
    await new Promise((resolve) => { const w = c.WatchOrders({ email: 'px-meta' }, md()); w.on('data', () => {}); w.on('error', () => {}); w.on('status', resolve); });
    for (const kind of ['UploadItems', 'Chat', 'GetOrder', 'WatchOrders']) {
      const e = seen.find((x) => x[0] === kind);
      assert.ok(e, `the backend saw a ${kind} call`);
      assert.equal(e[1], 'acme-px', `${kind}: x-tenant forwarded`);
      assert.equal(e[3], undefined, `${kind}: x-mockarty-* not forwarded`);
      if (kind !== 'GetOrder') assert.equal(e[2], undefined, `${kind}: authorization not forwarded`);
    }

    // the caller's deadline goes on as grpc-timeout (what remains of it)
    delete deadlines.Chat;
    const timed = await chat(c, ['px-deadline'], { deadlineMs: 8000 });
    assert.equal(timed.code, status.OK);
    assert.ok(deadlines.Chat > 5000 && deadlines.Chat <= 8000, `the backend's deadline: ${deadlines.Chat} ms ahead`);

    // cancels: ours reaches the backend (bidi, and a client stream mid-way)
    const cancelled = await chat(c, ['px-x', 'px-y', 'px-z'], { cancelAt: 1 });
    assert.equal(cancelled.code, status.CANCELLED);
    await waitUntil(() => bidiCancelled, 5000, 20, 'the backend bidi call is cancelled too');
    const upc = await upload(c, items, { cancelAfter: 2 });
    assert.equal(upc.err?.code, status.CANCELLED);
    await waitUntil(() => uploadCancelled, 5000, 20, 'the backend client stream is cancelled too');
  } finally {
    for (const id of ['g-proxy-upload', 'g-proxy-chat', 'g-proxy-meta-unary', 'g-proxy-meta-watch']) {
      await s.api('DELETE', `/api/v1/mocks/${id}?namespace=sandbox`);
    }
    backend.forceShutdown();
  }
});
