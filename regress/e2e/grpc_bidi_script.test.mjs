// grpc_bidi_script.test.mjs - a bidirectional gRPC mock with a scripted sequence
// (response.streamResponses, docs/grpc-mocks.md "Answering") served by mockarty-gen-server
// --type grpc, called by @grpc/grpc-js and Debian's python3-grpcio
// (regress/grpc-mocks/grpcio_bidi.py): each incoming message that matches the mock gets the
// whole sequence, in order, each item after its own delay, templates rendered from that message;
// messages that arrive while a sequence is being sent are answered after it, in arrival order;
// the call ends with OK (and the mock's trailers) only once every sequence was sent after the
// client half-closed, however early it half-closed; response headers arrive before the first
// message; an error status in the script's mock ends the call with it.
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
const { status } = grpc;

const GEN_SERVER = path.join(repoRoot, 'daemons/build/mockarty-gen-server');
const fixtures = path.join(repoRoot, 'regress/grpc-mocks');
const loadOpts = { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true };
const SVC = 'shop.v1.ShopService';

let s;
let proc;
let port;
let logFile;
let Shop;
const clients = [];
const logs = () => (logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
const mock = (id, extra) => ({
  id, namespace: 'sandbox', serverName: 'bidi', ...extra,
  grpc: { service: SVC, method: 'Chat', methodType: 'bidirectional', ...(extra.grpc || {}) },
});
const when = (text) => ({ conditions: [{ path: '$.req.text', assertAction: 'equals', value: text }] });

// writes the texts (all at once unless gapMs), half-closes after endAfter messages were received
// (default: right after writing); resolves {messages: [[text, seq, ms]], code, details, headers, trailers}
function chat(texts, { endAfter = 0, deadlineMs = 20000 } = {}) {
  const c = new Shop(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  clients.push(c);
  return new Promise((resolve) => {
    const out = { messages: [] };
    const t0 = Date.now();
    const call = c.Chat(new grpc.Metadata(), { deadline: Date.now() + deadlineMs });
    call.on('metadata', (m) => { out.headers = m.getMap(); out.headersAt = out.messages.length; });
    call.on('data', (m) => {
      out.messages.push([m.text, m.seq, Date.now() - t0]);
      if (endAfter && out.messages.length === endAfter) call.end();
    });
    call.on('error', () => {});
    call.on('status', (st) => {
      out.code = st.code;
      out.details = st.details;
      out.trailers = st.metadata.getMap();
      resolve(out);
    });
    for (const t of texts) call.write({ text: t, seq: '0' });
    if (!endAfter) call.end();
  });
}
const gaps = (ms) => ms.slice(1).map((m, i) => m[2] - ms[i][2]);

before(async () => {
  s = await startStack();
  const fd = new FormData();
  fd.append('namespace', 'sandbox');
  fd.append('serverName', 'bidi');
  for (const f of ['shop/v1/shop.proto', 'shop/v1/types.proto']) {
    fd.append('files', new Blob([fs.readFileSync(path.join(fixtures, f))]), f);
  }
  const g = await s.fetch('/api/v1/grpc/descriptors', { method: 'POST', body: fd });
  assert.ok(g.status < 300, await g.text());
  for (const m of [
    mock('b-script', {
      priority: 10, grpc: when('script'),
      response: {
        headers: { 'x-script': 'yes' }, trailers: { 'x-done': 'all-sent' },
        streamResponses: [
          { text: 'one for $.req.text', seq: '1' },
          { payload: { text: 'two', seq: '2' }, delay: 300 },
          { payload: { text: 'three', seq: '3' }, delay: 200 },
        ],
      },
    }),
    mock('b-slow-first', {
      priority: 10, grpc: when('late'),
      response: { delay: 400, streamResponses: [{ text: 'late-1', seq: '1' }, { text: 'late-2', seq: '2' }] },
    }),
    mock('b-fail', {
      priority: 10, grpc: when('fail'),
      response: { statusCode: 9, error: 'script refused', streamResponses: [{ text: 'never', seq: '1' }] },
    }),
    mock('b-echo', { priority: 1, response: { payload: { text: 'echo $.req.text', seq: '9' } } }),
  ]) {
    const r = await s.api('POST', '/api/v1/mocks', m);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  port = await freePort();
  const dash = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grpc-bidi-'));
  logFile = path.join(dir, 'gen-server.log');
  const fdLog = fs.openSync(logFile, 'a');
  proc = spawn(GEN_SERVER, ['--type', 'grpc'], {
    env: { PATH: process.env.PATH, HTTP_ADMIN_BASE_URL: s.admin.url, NAMESPACE: 'sandbox', API_TOKEN: s.token,
      SERVER_NAME: 'bidi', COORDINATOR_ADDR: s.grpcAddr, HTTP_PORT: String(port), DASHBOARD_PORT: String(dash),
      HTTP_BIND_ADDR: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', fdLog, fdLog],
  });
  fs.closeSync(fdLog);
  Shop = grpc.loadPackageDefinition(protoLoader.loadSync('shop/v1/shop.proto', { ...loadOpts, includeDirs: [fixtures, '/usr/include'] })).shop.v1.ShopService;
  await waitUntil(async () => {
    if (proc.exitCode !== null) throw new Error('gen-server exited:\n' + logs());
    const r = await chat(['ping'], { deadlineMs: 1000 });
    return r.code === status.OK && r.messages[0]?.[0] === 'echo ping';
  }, 20000, 100, 'gen-server serves the bidi mocks');
});

after(async () => {
  for (const c of clients) c.close();
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await waitUntil(() => proc.exitCode !== null || proc.signalCode !== null, 10000, 50, 'gen-server stopped').catch(() => proc.kill('SIGKILL'));
  }
  await s?.stop();
});

test('grpc-js: the scripted sequence in order, with its delays, templates from the message, headers first and trailers at the end', async () => {
  const r = await chat(['script'], { endAfter: 3 });
  assert.equal(r.code, status.OK, r.details);
  assert.deepEqual(r.messages.map((m) => [m[0], m[1]]), [['one for script', '1'], ['two', '2'], ['three', '3']]);
  const [g1, g2] = gaps(r.messages);
  assert.ok(g1 >= 280 && g1 < 1500, `two came ${g1} ms after one (delay 300)`);
  assert.ok(g2 >= 180 && g2 < 1500, `three came ${g2} ms after two (delay 200)`);
  assert.deepEqual(r.headers, { 'x-script': 'yes', 'content-type': 'application/grpc' });
  assert.equal(r.headersAt, 0, 'headers before the first message');
  assert.equal(r.trailers['x-done'], 'all-sent');
});

test('grpc-js: a half-close right after writing still gets every sequence, in arrival order, then OK', async () => {
  const r = await chat(['script', 'hello', 'script']);
  assert.equal(r.code, status.OK, r.details);
  assert.deepEqual(r.messages.map((m) => m[0]),
    ['one for script', 'two', 'three', 'echo hello', 'one for script', 'two', 'three']);
  assert.ok(r.messages[6][2] - r.messages[0][2] >= 2 * 480, 'both sequences waited their delays');
});

test('grpc-js: a delay on the scripted mock itself comes before its first message; an error status in the script ends the call', async () => {
  const late = await chat(['late'], { endAfter: 2 });
  assert.equal(late.code, status.OK, late.details);
  assert.deepEqual(late.messages.map((m) => m[0]), ['late-1', 'late-2']);
  assert.ok(late.messages[0][2] >= 380, `first message after ${late.messages[0][2]} ms (delay 400)`);

  const fail = await chat(['hello', 'fail', 'hello']);
  assert.equal(fail.code, status.FAILED_PRECONDITION);
  assert.equal(fail.details, 'script refused');
  assert.deepEqual(fail.messages.map((m) => m[0]), ['echo hello']);
  // the server goes on serving
  const after = await chat(['script'], { endAfter: 3 });
  assert.equal(after.messages.length, 3);
});

test("Debian's python3-grpcio: the same sequence, delays and end of stream", { skip: !fs.existsSync('/usr/bin/python3') }, () => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `python3-grpcio missing: ${probe.stderr}`);
  const r = spawnSync('/usr/bin/python3', [path.join(fixtures, 'grpcio_bidi.py'), `127.0.0.1:${port}`, fixtures, 'script', 'hi'],
    { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(out.code, 'OK');
  assert.deepEqual(out.messages.map((m) => [m[0], m[1]]),
    [['one for script', 1], ['two', 2], ['three', 3], ['echo hi', 9]]);
  const [g1, g2] = gaps(out.messages);
  assert.ok(g1 >= 280 && g2 >= 180, `gaps ${g1}, ${g2} ms (delays 300, 200)`);
  assert.equal(out.initial_metadata['x-script'], 'yes');
  assert.equal(out.trailing_metadata['x-done'], 'all-sent');
});
