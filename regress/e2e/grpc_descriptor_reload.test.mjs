// grpc_descriptor_reload.test.mjs - a running mockarty-gen-server --type grpc follows new
// descriptor versions without a restart (docs/grpc-mocks.md, "Serving"). Our fixture
// regress/grpc-mocks/shop/v1/{shop,types}.proto is version 1; version 2 adds a method
// (CancelOrder) and is uploaded with a mock for it while the server runs: the new method becomes
// callable, reflection lists and describes it, the old methods still answer, and a
// server-streaming call that began on version 1 finishes on it. Version 3 (version 1's text
// again) drops the method: it is UNIMPLEMENTED again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, freePort, waitUntil, repoRoot } from './lib/harness.mjs';

const require = createRequire(path.join(repoRoot, 'regress/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { status } = grpc;

const GEN_SERVER = path.join(repoRoot, 'daemons/build/mockarty-gen-server');
const fixtures = path.join(repoRoot, 'regress/grpc-mocks');
const protoDir = path.join(repoRoot, 'proto');
const loadOpts = { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true };
const SVC = 'shop.v1.ShopService';
const v1Text = fs.readFileSync(path.join(fixtures, 'shop/v1/shop.proto'), 'utf8');
const v2Text = v1Text.replace('  rpc GetOrder(GetOrderRequest) returns (Order);\n',
  '  rpc GetOrder(GetOrderRequest) returns (Order);\n  rpc CancelOrder(GetOrderRequest) returns (Order);\n');

let s;
let proc;
let port;
let logFile;
let work;
let ShopV2; // a client that knows version 2
const clients = [];

const logs = () => (logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
const mock = (id, method, methodType, extra) => ({
  id, namespace: 'sandbox', serverName: 'live', ...extra,
  grpc: { service: SVC, method, methodType, ...(extra.grpc || {}) },
});
const client = () => {
  const c = new ShopV2(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
};
const unary = (c, method, req) => new Promise((resolve) => {
  c[method](req, new grpc.Metadata(), { deadline: Date.now() + 2000 }, (err, res) => resolve({ err, res }));
});

// uploads a version of shop.proto (with types.proto) through the generator; returns the stored version
async function upload(shopText) {
  const fd = new FormData();
  fd.append('namespace', 'sandbox');
  fd.append('serverName', 'live');
  fd.append('files', new Blob([shopText]), 'shop/v1/shop.proto');
  fd.append('files', new Blob([fs.readFileSync(path.join(fixtures, 'shop/v1/types.proto'))]), 'shop/v1/types.proto');
  const r = await s.fetch('/api/v1/generators/grpc', { method: 'POST', body: fd });
  const body = await r.json();
  assert.ok(r.status < 300, JSON.stringify(body));
  return body.descriptor?.version ?? body.descriptor;
}

let refl;
function reflect(req) {
  return new Promise((resolve, reject) => {
    const call = refl.ServerReflectionInfo();
    call.on('data', (m) => { resolve(m); call.end(); });
    call.on('error', reject);
    call.write(req);
  });
}

before(async () => {
  s = await startStack();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'grpc-reload-'));
  fs.mkdirSync(path.join(work, 'shop/v1'), { recursive: true });
  fs.writeFileSync(path.join(work, 'shop/v1/shop.proto'), v2Text);
  fs.copyFileSync(path.join(fixtures, 'shop/v1/types.proto'), path.join(work, 'shop/v1/types.proto'));
  ShopV2 = grpc.loadPackageDefinition(protoLoader.loadSync('shop/v1/shop.proto', { ...loadOpts, includeDirs: [work, '/usr/include'] })).shop.v1.ShopService;

  await upload(v1Text);
  for (const m of [
    mock('r-get', 'GetOrder', 'unary', { priority: 10, response: { payload: { id: 'still-v1' } } }),
    mock('r-watch', 'WatchOrders', 'server-stream', {
      priority: 10, response: { streamResponses: [{ id: 'a' }, { payload: { id: 'b' }, delay: 2500 }, { id: 'c' }] },
    }),
  ]) {
    const r = await s.api('POST', '/api/v1/mocks', m);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  port = await freePort();
  const dash = await freePort();
  logFile = path.join(work, 'gen-server.log');
  const fdLog = fs.openSync(logFile, 'a');
  proc = spawn(GEN_SERVER, ['--type', 'grpc'], {
    env: { PATH: process.env.PATH, HTTP_ADMIN_BASE_URL: s.admin.url, NAMESPACE: 'sandbox', API_TOKEN: s.token,
      SERVER_NAME: 'live', COORDINATOR_ADDR: s.grpcAddr, HTTP_PORT: String(port), DASHBOARD_PORT: String(dash),
      HTTP_BIND_ADDR: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', fdLog, fdLog],
  });
  fs.closeSync(fdLog);
  const rp = grpc.loadPackageDefinition(protoLoader.loadSync('grpc/reflection/v1/reflection.proto', { keepCase: true, includeDirs: [protoDir] }));
  refl = new rp.grpc.reflection.v1.ServerReflection(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  clients.push(refl);
  const c = client();
  await waitUntil(async () => {
    if (proc.exitCode !== null) throw new Error('gen-server exited:\n' + logs());
    const r = await unary(c, 'GetOrder', { id: 'x' });
    return !r.err && r.res.id === 'still-v1';
  }, 20000, 100, 'gen-server serves version 1');
});

after(async () => {
  for (const c of clients) c.close();
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await waitUntil(() => proc.exitCode !== null || proc.signalCode !== null, 10000, 50, 'gen-server stopped').catch(() => proc.kill('SIGKILL'));
  }
  await s?.stop();
  if (work && process.env.MOCKARTY_E2E_KEEP !== '1') fs.rmSync(work, { recursive: true, force: true });
});

test('version 2 with a new method and its mock is served without a restart; a call begun on version 1 finishes on it', async () => {
  const c = client();
  const before2 = await unary(c, 'CancelOrder', { id: 'o-1' });
  assert.equal(before2.err?.code, status.UNIMPLEMENTED, 'CancelOrder is not in version 1');

  // a server stream of version 1 whose last messages come after the swap
  const got = [];
  const streamDone = new Promise((resolve) => {
    const call = c.WatchOrders({ email: 'x@example.com' });
    call.on('data', (m) => got.push(m.id));
    call.on('error', (e) => resolve(e.code));
    call.on('status', (x) => resolve(x.code));
  });
  await waitUntil(() => got.length === 1, 5000, 10, 'first stream message');

  const t0 = Date.now();
  const version = await upload(v2Text);
  assert.equal(version, 2);
  const r = await s.api('POST', '/api/v1/mocks', mock('r-cancel', 'CancelOrder', 'unary', { priority: 10, response: { payload: { id: 'cancelled', status: 'STATUS_SHIPPED' } } }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await waitUntil(async () => {
    const x = await unary(c, 'CancelOrder', { id: 'o-1' });
    return !x.err && x.res.id === 'cancelled';
  }, 10000, 50, 'CancelOrder callable on the running server');
  const ms = Date.now() - t0;
  console.log(`# version 2 callable ${ms} ms after its upload began`);
  assert.ok(ms < 5000, `took ${ms} ms`);
  assert.match(logs(), /now serving descriptor set "live" version 2 \(5 methods; was version 1/);

  // the old method still answers, on the same connection and a new one
  assert.equal((await unary(c, 'GetOrder', { id: 'y' })).res?.id, 'still-v1');
  assert.equal((await unary(client(), 'GetOrder', { id: 'y' })).res?.id, 'still-v1');

  // the stream that began on version 1 ends normally with every message
  assert.equal(await streamDone, status.OK);
  assert.deepEqual(got, ['a', 'b', 'c']);

  // reflection lists the service and describes the new method
  const list = await reflect({ list_services: '' });
  assert.ok(list.list_services_response.service.map((x) => x.name).includes(SVC));
  const files = await reflect({ file_containing_symbol: `${SVC}.CancelOrder` });
  assert.ok(files.file_descriptor_response, JSON.stringify(files.error_response));
  const desc = require('protobufjs/ext/descriptor');
  const fdp = files.file_descriptor_response.file_descriptor_proto.map((b) => desc.FileDescriptorProto.decode(b))
    .find((f) => f.name === 'shop/v1/shop.proto');
  assert.ok(fdp.service[0].method.map((m) => m.name).includes('CancelOrder'));
});

test('version 3 without the method: it is UNIMPLEMENTED again, the others keep answering', async () => {
  const version = await upload(v1Text);
  assert.equal(version, 3);
  const c = client();
  await waitUntil(async () => (await unary(c, 'CancelOrder', { id: 'o-1' })).err?.code === status.UNIMPLEMENTED,
    10000, 50, 'CancelOrder gone');
  assert.equal((await unary(c, 'GetOrder', { id: 'z' })).res?.id, 'still-v1');
  const miss = await reflect({ file_containing_symbol: `${SVC}.CancelOrder` });
  assert.ok(miss.error_response, 'reflection no longer knows CancelOrder');
  assert.equal(proc.exitCode, null, 'the server kept running');
});
