// generator_grpc.test.mjs - mockarty-server-generator -server-type grpc (docs/generator.md,
// docs/grpc-mocks.md). What a user would notice: the CLI compiles our multi-file fixture
// regress/grpc-mocks/shop/v1/{shop,types}.proto with protoc, writes the standalone project (the
// openapi project's layout, the descriptor set shipped in spec/ and embedded in spec_blob.c) and
// with -create-mocks stores the set and one mock per method on the admin node; the project
// builds from a fresh copy with make and no network; started on a free port it answers
// @grpc/grpc-js unary and server-streaming calls with the admin node's mocks; without a stored
// set for its server name it serves the embedded one (reflection lists it); bad grpc flags and
// inputs are clear errors (exit 2) that write nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, freePort, waitUntil, repoRoot } from './lib/harness.mjs';

const require = createRequire(path.join(repoRoot, 'regress/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const GENERATOR = path.join(repoRoot, 'daemons/build/mockarty-server-generator');
const fixtures = path.join(repoRoot, 'regress/grpc-mocks');
const protoDir = path.join(repoRoot, 'proto');
const loadOpts = { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true };
const SVC = 'shop.v1.ShopService';

let s;
let work;
let port;
let cli; // the CLI run of the first test
let serverBin; // ./server of the built project
const procs = [];
const clients = [];

function runCli(args) {
  const e = { ...process.env };
  delete e.API_TOKEN;
  delete e.MOCKARTY_API_TOKEN;
  const r = spawnSync('./mockarty-server-generator', args, { cwd: work, env: e, encoding: 'utf8', timeout: 120000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const mock = (id, serverName, method, methodType, extra) => ({
  id, namespace: 'sandbox', serverName, ...extra,
  grpc: { service: SVC, method, methodType, ...(extra.grpc || {}) },
});

async function addMock(m) {
  const r = await s.api('POST', '/api/v1/mocks', m);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

// starts the built project's ./server with the generated server's variables; returns {proc, port, log}
async function startServer(serverName) {
  const p = await freePort();
  const dash = await freePort();
  const log = path.join(work, `server-${serverName}.log`);
  const fd = fs.openSync(log, 'a');
  const proc = spawn(serverBin, [], {
    env: { PATH: process.env.PATH, HTTP_ADMIN_BASE_URL: s.admin.url, API_TOKEN: s.token, SERVER_NAME: serverName,
      COORDINATOR_ADDR: s.grpcAddr, HTTP_PORT: String(p), DASHBOARD_PORT: String(dash), HTTP_BIND_ADDR: '127.0.0.1' },
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  procs.push(proc);
  return { proc, port: p, log: () => fs.readFileSync(log, 'utf8') };
}

let Shop;
const client = (p) => {
  const c = new Shop(`127.0.0.1:${p}`, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
};
const unary = (c, method, req) => new Promise((resolve) => {
  c[method](req, new grpc.Metadata(), { deadline: Date.now() + 2000 }, (err, res) => resolve({ err, res }));
});

before(async () => {
  s = await startStack();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mockarty-generator-grpc-'));
  fs.symlinkSync(GENERATOR, path.join(work, 'mockarty-server-generator'));
  fs.cpSync(path.join(fixtures, 'shop'), path.join(work, 'protos/shop'), { recursive: true });
  port = await freePort();
  cli = runCli(['-server-type', 'grpc', '-input', './protos/shop/v1/shop.proto', '-import-path', './protos',
    '-output', './shop-server', '-server-name', 'shop', '-create-mocks', '-mockarty-url', s.admin.url,
    '-api-token', s.token, '-port', String(port)]);
  Shop = grpc.loadPackageDefinition(protoLoader.loadSync('shop/v1/shop.proto',
    { ...loadOpts, includeDirs: [fixtures, '/usr/include'] })).shop.v1.ShopService;
});

after(async () => {
  for (const c of clients) c.close();
  for (const p of procs) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      await waitUntil(() => p.exitCode !== null || p.signalCode !== null, 10000, 50, 'server stopped').catch(() => p.kill('SIGKILL'));
    }
  }
  await s?.stop();
  if (work && process.env.MOCKARTY_E2E_KEEP !== '1') fs.rmSync(work, { recursive: true, force: true });
});

test('the CLI compiles the .proto, writes the project with the descriptor set and creates one mock per method', async () => {
  assert.equal(cli.code, 0, cli.stdout + cli.stderr);
  assert.match(cli.stdout, /project written to \.\/shop-server/);
  assert.match(cli.stdout, /mocks: 4 created, 0 updated, 0 skipped/);
  const out = path.join(work, 'shop-server');
  for (const f of ['main.c', 'spec_blob.c', 'Makefile', 'README.md', 'Dockerfile', 'spec/shop.proto', 'spec/shop.pb', 'runtime/VERSION',
    'runtime/daemons/genserver/protocols/grpc.c']) {
    assert.ok(fs.existsSync(path.join(out, f)), f);
  }
  const main = fs.readFileSync(path.join(out, 'main.c'), 'utf8');
  assert.match(main, /\.type = "grpc"/);
  assert.match(main, /\.server_name = "shop"/);
  assert.match(main, new RegExp(`\\.http_port = ${port}`));
  assert.match(main, /\.spec_name = "shop\.pb"/);
  // the shipped set is protoc's, imports included; the embedded one is the same bytes
  const set = fs.readFileSync(path.join(out, 'spec/shop.pb'));
  assert.equal(set[0], 0x0a);
  for (const f of ['shop/v1/shop.proto', 'shop/v1/types.proto', 'google/protobuf/timestamp.proto']) assert.ok(set.includes(Buffer.from(f)), f);
  const blob = fs.readFileSync(path.join(out, 'spec_blob.c'), 'utf8');
  assert.match(blob, new RegExp(`spec_blob_len = ${set.length};`));
  const readme = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
  assert.match(readme, /Generated gRPC mock server/);
  assert.match(readme, /spec\/shop\.pb/);
  assert.match(readme, /grpcurl -plaintext localhost:\d+ list/);
  // the admin node stores the set under the server name and has a mock per method
  const d = await s.api('GET', '/api/v1/grpc/descriptors/shop?namespace=sandbox');
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.version, 1);
  assert.equal(Buffer.from(d.body.descriptorSet, 'base64').equals(set), true, 'the stored set is the shipped one');
  const r = await s.api('GET', '/api/v1/mocks?namespace=sandbox&limit=1000');
  const mocks = (Array.isArray(r.body) ? r.body : r.body.items || r.body.mocks || []).filter((m) => m.serverName === 'shop');
  assert.deepEqual(mocks.map((m) => m.grpc.method).sort(), ['Chat', 'GetOrder', 'UploadItems', 'WatchOrders']);
});

test('the project builds from a fresh copy with make (no network) and serves unary and server-streaming mocks', async () => {
  const fresh = path.join(work, 'fresh');
  fs.cpSync(path.join(work, 'shop-server'), fresh, { recursive: true });
  const deps = spawnSync('make', ['-s', 'check-deps'], { cwd: fresh, encoding: 'utf8' });
  assert.equal(deps.status, 0, deps.stderr);
  const noNet = spawnSync('unshare', ['-n', 'true']).status === 0;
  const b = noNet ? spawnSync('unshare', ['-n', 'make', '-s', '-j2'], { cwd: fresh, encoding: 'utf8', timeout: 600000 })
    : spawnSync('make', ['-s', '-j2'], { cwd: fresh, encoding: 'utf8', timeout: 600000 });
  assert.equal(b.status, 0, b.stdout + b.stderr);
  serverBin = path.join(fresh, 'server');
  assert.ok(fs.existsSync(serverBin));

  await addMock(mock('gg-unary', 'shop', 'GetOrder', 'unary', {
    priority: 10,
    grpc: { conditions: [{ path: '$.req.id', assertAction: 'equals', value: 'p-1' }] },
    response: { payload: { id: 'p-1', email: 'proj@example.com', status: 'STATUS_SHIPPED' } },
  }));
  await addMock(mock('gg-watch', 'shop', 'WatchOrders', 'server-stream', {
    priority: 10,
    response: { streamResponses: [{ id: 'w1' }, { payload: { id: 'w2' }, delay: 200 }, { id: 'w3' }] },
  }));
  const srv = await startServer('shop');
  const c = client(srv.port);
  await waitUntil(async () => {
    if (srv.proc.exitCode !== null) throw new Error('server exited:\n' + srv.log());
    const r = await unary(c, 'GetOrder', { id: 'p-1' });
    return !r.err && r.res.id === 'p-1';
  }, 30000, 100, 'the generated server answers the synced mock');
  const u = await unary(c, 'GetOrder', { id: 'p-1' });
  assert.equal(u.res.email, 'proj@example.com');
  assert.equal(u.res.status, 'STATUS_SHIPPED');
  assert.match(srv.log(), /serving descriptor set "shop" version 1/);

  const got = [];
  const t0 = Date.now();
  const st = await new Promise((resolve) => {
    const call = c.WatchOrders({ email: 'x@example.com' });
    call.on('data', (m) => got.push([m.id, Date.now() - t0]));
    call.on('error', (e) => resolve(e.code));
    call.on('status', (x) => resolve(x.code));
  });
  assert.equal(st, grpc.status.OK);
  assert.deepEqual(got.map((g) => g[0]), ['w1', 'w2', 'w3']);
  assert.ok(got[1][1] - got[0][1] >= 180, `w2 came ${got[1][1] - got[0][1]} ms after w1 (delay 200)`);
});

test('without a stored set for its server name the project serves its embedded set (reflection lists it)', async () => {
  assert.ok(serverBin, 'built by the previous test');
  await addMock(mock('gg-embedded', 'shop-embedded', 'GetOrder', 'unary', { response: { payload: { id: 'from-embedded' } } }));
  const srv = await startServer('shop-embedded');
  const c = client(srv.port);
  await waitUntil(async () => {
    if (srv.proc.exitCode !== null) throw new Error('server exited:\n' + srv.log());
    const r = await unary(c, 'GetOrder', { id: 'any' });
    return !r.err && r.res.id === 'from-embedded';
  }, 30000, 100, 'the embedded set serves GetOrder');
  assert.match(srv.log(), /serving the embedded descriptor set/);
  const rp = grpc.loadPackageDefinition(protoLoader.loadSync('grpc/reflection/v1/reflection.proto', { keepCase: true, includeDirs: [protoDir] }));
  const rc = new rp.grpc.reflection.v1.ServerReflection(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
  clients.push(rc);
  const list = await new Promise((resolve, reject) => {
    const call = rc.ServerReflectionInfo();
    call.on('data', (m) => { resolve(m); call.end(); });
    call.on('error', reject);
    call.write({ list_services: '' });
  });
  assert.ok(list.list_services_response.service.map((x) => x.name).includes(SVC));
});

test('bad grpc flags and inputs are clear errors (exit 2) that write nothing', () => {
  fs.writeFileSync(path.join(work, 'broken.proto'), 'syntax = "proto3";\npackage b;\nmessage M { Missing x = 1; }\nservice S { rpc A(M) returns (M); }\n');
  fs.writeFileSync(path.join(work, 'noservice.proto'), 'syntax = "proto3";\npackage n;\nmessage M { string x = 1; }\n');
  fs.writeFileSync(path.join(work, 'notaset.bin'), 'openapi: 3.0.0\n');
  const shop = ['-input', './protos/shop/v1/shop.proto', '-import-path', './protos'];
  const cases = [
    [['-server-type', 'grpc', ...shop, '-output', './y1'], /-server-name is required for server type grpc/],
    [['-server-type', 'grpc', ...shop, '-output', './y2', '-server-name', 's', '-path-prefix', '/v1'], /-path-prefix: not used by server type grpc/],
    [['-server-type', 'grpc', '-input', './broken.proto', '-output', './y3', '-server-name', 's'], /"Missing" is not defined[\s\S]*protoc could not compile "\.\/broken\.proto"/],
    [['-server-type', 'grpc', '-input', './noservice.proto', '-output', './y4', '-server-name', 's'], /declares no service/],
    [['-server-type', 'grpc', '-input', './notaset.bin', '-output', './y5', '-server-name', 's'], /neither a \.proto file nor a FileDescriptorSet/],
    [['-server-type', 'grpc', '-input', './protos/shop/v1/shop.proto', '-output', './y6', '-server-name', 's'], /shop\/v1\/types\.proto: File not found[\s\S]*-import-path/],
    [['-server-type', 'openapi', '-input', './notaset.bin', '-output', './y7', '-import-path', '.'], /-import-path: only for server type grpc/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  for (const d of ['y1', 'y2', 'y3', 'y4', 'y5', 'y6', 'y7']) assert.ok(!fs.existsSync(path.join(work, d)), `${d} not written`);
  // a descriptor set as the input is taken as it is
  const ok = runCli(['-type', 'grpc', '-input', './shop-server/spec/shop.pb', '-output', './from-set', '-server-name', 'shop2']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(fs.readFileSync(path.join(work, 'from-set/spec/shop.pb')), fs.readFileSync(path.join(work, 'shop-server/spec/shop.pb')));
  assert.match(fs.readFileSync(path.join(work, 'from-set/main.c'), 'utf8'), /\.spec_name = "shop\.pb"/);
});
