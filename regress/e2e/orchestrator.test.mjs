// orchestrator.test.mjs - `mockarty-server-generator orchestrator` (docs/generator.md, Orchestrator).
// What a user would notice: with an orchestrator integration token it creates three generated
// servers from a spec (their mocks imported through the admin node), each answering its mocks and
// /health on 127.0.0.1; their state is in PostgreSQL (/api/v1/generated-servers); SIGKILLing the
// orchestrator leaves them running, and a restarted one (its local files gone) lists the same
// servers with the same pids (adopted, no duplicates); stop/start/regenerate/delete/logs
// and download (a tar.gz of the standalone project) work; a killed child is restarted; bad input
// is a clear 4xx; the /ui page lists the servers and its forms need the CSRF token. Every child
// is gone at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { startStack, freePort, waitUntil, repoRoot } from './lib/harness.mjs';

const GENERATOR = path.join(repoRoot, 'daemons/build/mockarty-server-generator');
const FIXTURE = path.join(repoRoot, 'regress/generator/openapi.yaml');
const SPEC = fs.readFileSync(FIXTURE, 'utf8');

let s;
let dir;
let orch; // { proc, port, url, logs }
let orchToken; // the mki_ orchestrator integration token
const ports = {};

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startOrchestrator(port) {
  const logs = [];
  const proc = spawn(GENERATOR, ['orchestrator', '-port', String(port), '-api-token', orchToken, '-mockarty-url', s.admin.url], {
    env: { ...process.env, COORDINATOR_ADDR: s.grpcAddr, ORCHESTRATOR_DATA_DIR: dir, ORCHESTRATOR_PORT_RANGE: `${ports.range}-${ports.range}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d) => {
    logs.push(d.toString());
    fs.appendFileSync(path.join(dir, 'orchestrator.log'), d); // kept with MOCKARTY_E2E_KEEP=1
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  proc.on('exit', (code, sig) => keep(`[orchestrator exited: ${code ?? sig}]\n`));
  const o = { proc, port, url: `http://127.0.0.1:${port}`, logs };
  await waitUntil(async () => (await fetch(o.url + '/health')).ok, 10000, 50, 'orchestrator /health');
  return o;
}

async function api(method, p, body, token = s.token) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(orch.url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let j;
  try {
    j = JSON.parse(text);
  } catch {
    j = undefined;
  }
  return { status: r.status, body: j, text, headers: r.headers };
}

async function get(port, p) {
  const r = await fetch(`http://127.0.0.1:${port}${p}`);
  return { status: r.status, text: await r.text() };
}

function recordedPids() {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'servers.json'), 'utf8')).map((v) => v.pid).filter((p) => p > 0);
  } catch {
    return [];
  }
}

const seen = new Set(); // every child pid the test saw, killed in after() whatever happened

function killAll() {
  for (const pid of [...recordedPids(), ...seen]) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

before(async () => {
  s = await startStack();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mockarty-orch-'));
  const o = await s.api('POST', '/ui/api/integrations', { name: 'orchestrator-e2e', type: 'orchestrator' });
  assert.ok(o.status === 200 || o.status === 201, o.text);
  orchToken = o.body.token;
  assert.match(orchToken, /^mki_/);
  for (const k of ['a', 'b', 'orch', 'range']) ports[k] = await freePort();
  orch = await startOrchestrator(ports.orch);
});

after(async () => {
  try {
    orch?.proc.kill('SIGKILL');
  } catch {}
  killAll();
  // and whatever a failed test left behind: every process started with a path of this test's
  // data directory (other orchestrators and their children, e.g. the UI test's)
  if (dir) spawnSync('pkill', ['-KILL', '-f', `spec ${dir}/`]);
  await s?.stop();
  if (dir && !process.env.MOCKARTY_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
});

// true when port answers on another (non-loopback) IPv4 address of this host; false when none exists
async function answersElsewhere(port) {
  const other = Object.values(os.networkInterfaces()).flat().find((i) => i.family === 'IPv4' && !i.internal);
  if (!other) return false;
  return new Promise((res) => {
    const c = net.connect({ host: other.address, port }, () => { c.destroy(); res(true); });
    c.on('error', () => res(false));
  });
}

const names = ['pets-a', 'pets-b', 'pets-c'];
let pids = {};

test('three servers created from a spec answer their mocks and /health on 127.0.0.1', async () => {
  assert.equal((await api('GET', '/api/servers', undefined, null)).status, 401, 'no token is refused');
  assert.equal((await api('GET', '/api/servers', undefined, 'mk_wrong')).status, 401, 'a token the admin node refuses is refused');
  assert.equal((await api('GET', '/api/servers', undefined, orchToken)).status, 200, 'the orchestrator token is accepted');
  // pets-c is created with the orchestrator's own mki_ token: the admin node imports for it too
  for (const [name, port, token] of [['pets-a', ports.a, s.token], ['pets-b', ports.b, s.token], ['pets-c', undefined, orchToken]]) {
    const r = await api('POST', '/api/servers', { name, type: 'openapi', spec: SPEC, namespace: 'sandbox', ...(port ? { port } : {}) }, token);
    assert.equal(r.status, 201, r.text);
    if (r.body.pid) seen.add(r.body.pid);
    assert.equal(r.body.mocks.created, 5, JSON.stringify(r.body.mocks));
    assert.equal(r.body.port, port || ports.range, 'given port or the configured range');
    // the answer comes once the child's pid is in the store: an orchestrator killed right now
    // would be replaced by one that adopts this child
    const row = (await s.psqlJson('SELECT mockarty.generated_server_list()')).find((x) => x.name === name);
    assert.ok(r.body.pid > 0);
    assert.equal(row.pid, r.body.pid, `${name}: the pid the API answered is already stored`);
  }
  const l = await api('GET', '/api/servers');
  assert.equal(l.status, 200, l.text);
  assert.deepEqual(l.body.items.map((v) => v.name).sort(), names);
  for (const v of l.body.items) {
    await waitUntil(async () => (await get(v.port, '/pets')).status === 200, 15000, 50, `${v.name} serves /pets`);
    assert.equal(JSON.parse((await get(v.port, '/pets')).text)[0].name, 'Rex');
    const h = JSON.parse((await get(v.port, '/health')).text);
    assert.equal(h.serverName, v.name);
    assert.equal(v.status, 'running');
    assert.ok(v.pid > 0 && alive(v.pid));
    pids[v.name] = v.pid;
    seen.add(v.pid);
    assert.equal(await answersElsewhere(v.port), false, `${v.name} listens on 127.0.0.1 only`);
  }
  assert.equal(await answersElsewhere(ports.orch), false, 'the orchestrator listens on 127.0.0.1 only');
});

test('SIGKILL of the orchestrator: the servers keep running, a restarted orchestrator adopts them', async () => {
  // killed without waiting for the supervisor's periodic push (every 200 ms)
  orch.proc.kill('SIGKILL');
  await waitUntil(() => orch.proc.exitCode !== null || orch.proc.signalCode !== null, 5000, 20, 'orchestrator gone');
  for (const n of names) assert.ok(alive(pids[n]), `${n} survives`);
  // the state is in PostgreSQL: the local copy and the spec files may go
  const rows = await s.psqlJson('SELECT mockarty.generated_server_list()');
  assert.deepEqual(rows.map((r) => [r.name, r.pid, r.desiredState]), names.map((n) => [n, pids[n], 'running']));
  fs.rmSync(path.join(dir, 'servers.json'));
  for (const n of names) fs.rmSync(path.join(dir, 'servers', n, 'spec'));
  orch = await startOrchestrator(ports.orch);
  const l = await api('GET', '/api/servers');
  assert.equal(l.status, 200, l.text);
  assert.deepEqual(l.body.items.map((v) => v.name).sort(), names);
  for (const v of l.body.items) {
    assert.equal(v.status, 'running');
    assert.equal(v.pid, pids[v.name], `${v.name} adopted, not restarted`);
    assert.equal((await get(v.port, '/pets/1')).status, 200);
  }
  assert.match(orch.logs.join(''), /3 server\(s\) loaded from the admin node/);
  assert.match(orch.logs.join(''), /adopted running pid/);
});

test('stop, start, regenerate, logs, download, delete', async () => {
  const a = (await api('GET', '/api/servers/pets-a')).body;
  let r = await api('POST', '/api/servers/pets-a/stop');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'stopped');
  const stored = async (n) => (await s.psqlJson('SELECT mockarty.generated_server_list()')).find((x) => x.name === n);
  assert.deepEqual([(await stored('pets-a')).pid, (await stored('pets-a')).desiredState], [null, 'stopped'], 'stored before the answer');
  assert.ok(!alive(a.pid) || spawnSync('ps', ['-o', 'stat=', '-p', String(a.pid)]).stdout.toString().startsWith('Z'));
  await waitUntil(async () => (await get(a.port, '/pets').catch(() => ({ status: 0 }))).status === 0, 5000, 50, 'port closed');
  r = await api('POST', '/api/servers/pets-a/start');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'running');
  seen.add(r.body.pid);
  assert.equal((await stored('pets-a')).pid, r.body.pid, 'the new pid stored before the answer');
  await waitUntil(async () => (await get(a.port, '/pets').catch(() => ({ status: 0 }))).status === 200, 15000, 50, 'serves again');

  // regenerate: a user's change of a generated mock's route is refreshed by the smart merge
  r = await api('POST', '/api/servers/pets-b/regenerate');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.mocks.created, 0, JSON.stringify(r.body.mocks));
  assert.equal(r.body.mocks.skipped, 5, 're-importing the same spec changes nothing');
  assert.notEqual(r.body.pid, pids['pets-b'], 'the child was restarted');
  seen.add(r.body.pid);
  await waitUntil(async () => (await get(r.body.port, '/pets').catch(() => ({ status: 0 }))).status === 200, 15000, 50, 'serves after regenerate');

  const logs = await fetch(`${orch.url}/api/servers/pets-b/logs?tail=5`, { headers: { Authorization: `Bearer ${s.token}` } });
  assert.equal(logs.status, 200);
  const text = await logs.text();
  assert.ok(text.length > 0 && text.trimEnd().split('\n').length <= 5, text);

  const d = await fetch(`${orch.url}/api/servers/pets-b/download`, { headers: { Authorization: `Bearer ${s.token}` } });
  assert.equal(d.status, 200);
  assert.equal(d.headers.get('content-type'), 'application/gzip');
  const tgz = path.join(dir, 'dl.tar.gz');
  fs.writeFileSync(tgz, Buffer.from(await d.arrayBuffer()));
  const t = spawnSync('tar', ['-tzf', tgz], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  assert.ok(t.stdout.split('\n').includes('pets-b/main.c'), t.stdout.slice(0, 500));
  assert.ok(t.stdout.split('\n').includes('pets-b/Makefile'));

  const c = (await api('GET', '/api/servers/pets-c')).body;
  r = await api('DELETE', '/api/servers/pets-c');
  assert.equal(r.status, 204, r.text);
  assert.equal((await api('GET', '/api/servers/pets-c')).status, 404);
  await waitUntil(() => !alive(c.pid), 5000, 20, 'deleted server stopped');
});

test('a killed child is restarted by the orchestrator', async () => {
  const a = (await api('GET', '/api/servers/pets-a')).body;
  process.kill(a.pid, 'SIGKILL');
  const b = await waitUntil(async () => {
    const v = (await api('GET', '/api/servers/pets-a')).body;
    return v.status === 'running' && v.pid !== a.pid && v;
  }, 15000, 100, 'restarted child');
  seen.add(b.pid);
  await waitUntil(async () => (await s.psqlJson("SELECT mockarty.generated_server_get('pets-a')")).pid === b.pid, 5000, 50, 'new pid stored');
  assert.equal(b.restarts, a.restarts + 1);
  assert.match(b.lastExit, /signal 9/);
  await waitUntil(async () => (await get(b.port, '/pets').catch(() => ({ status: 0 }))).status === 200, 15000, 50, 'serves after restart');
});

test('bad input gets clear 4xx errors and creates nothing', async () => {
  let r = await api('POST', '/api/servers', { name: 'x1', type: 'corba', spec: SPEC });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /\$\.type/);
  r = await api('POST', '/api/servers', { name: 'x2', type: 'openapi' });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /\$\.spec: required/);
  // the orchestrator fetches nothing for its callers (no way round the admin's private-address guard)
  r = await api('POST', '/api/servers', { name: 'x2u', type: 'openapi', url: 'http://127.0.0.1:1/spec.yaml' });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /\$\.url: not fetched by the orchestrator/);
  r = await api('POST', '/api/servers', { name: 'x3', type: 'openapi', spec: SPEC, port: ports.orch });
  assert.equal(r.status, 409);
  assert.match(r.body.error, /\$\.port: \d+ is in use/);
  r = await api('POST', '/api/servers', { name: 'pets-a', type: 'openapi', spec: SPEC });
  assert.equal(r.status, 409);
  r = await api('POST', '/api/servers', { name: '../etc', type: 'openapi', spec: SPEC });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /\$\.name/);
  r = await api('POST', '/api/servers', '{not json');
  assert.equal(r.status, 400);
  assert.equal((await api('GET', '/api/servers/nope')).status, 404);
  const l = await api('GET', '/api/servers');
  assert.deepEqual(l.body.items.map((v) => v.name).sort(), ['pets-a', 'pets-b']);
});

test('the /ui page lists servers; its forms need a session, the CSRF token and the same origin', async () => {
  let r = await fetch(orch.url + '/ui');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-security-policy'), /default-src 'none'/);
  assert.match(await r.text(), /name="token"/);
  r = await fetch(orch.url + '/ui/login', { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'token=wrong' });
  assert.equal(r.status, 401);
  r = await fetch(orch.url + '/ui/login', { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(orchToken)}` });
  assert.equal(r.status, 303);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  r = await fetch(orch.url + '/ui', { headers: { Cookie: cookie } });
  const html = await r.text();
  for (const n of ['pets-a', 'pets-b']) assert.ok(html.includes(`<td>${n}</td>`), html);
  assert.match(html, /running/);
  const csrf = html.match(/name="csrf" value="([0-9a-f]+)"/)[1];
  const form = (body, extra = {}) => fetch(orch.url + '/ui/servers/pets-b/stop', { method: 'POST', redirect: 'manual', headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded', ...extra }, body });
  assert.equal((await form('csrf=bad')).status, 403);
  assert.equal((await form(`csrf=${csrf}`, { Origin: 'http://evil.example' })).status, 403);
  assert.equal((await api('GET', '/api/servers/pets-b')).body.status, 'running');
  assert.equal((await form(`csrf=${csrf}`, { Origin: orch.url })).status, 303);
  assert.equal((await api('GET', '/api/servers/pets-b')).body.status, 'stopped');
});

test('the admin node keeps the state: /api/v1/generated-servers takes the orchestrator token there only', async () => {
  const hdr = (t) => ({ headers: { Authorization: `Bearer ${t}` } });
  let r = await fetch(`${s.admin.url}/api/v1/generated-servers`, hdr(orchToken));
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.deepEqual(body.items.map((v) => v.name).sort(), ['pets-a', 'pets-b']);
  assert.equal((await fetch(`${s.admin.url}/api/v1/mocks`, hdr(orchToken))).status, 403, 'no other admin route');
  const res = await s.api('POST', '/ui/api/integrations', { name: 'resolver-x', type: 'mock_resolver' });
  assert.equal((await fetch(`${s.admin.url}/api/v1/generated-servers`, hdr(res.body.token))).status, 403, 'a resolver token is refused');
  r = await fetch(`${s.admin.url}/api/v1/generated-servers/pets-a`, { method: 'PUT', headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ port: 0 }) });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /\$\.port/);
});

test('clean-up: deleting every server leaves no child behind', async () => {
  const l = await api('GET', '/api/servers');
  const all = l.body.items.map((v) => v.pid).filter((p) => p > 0);
  for (const v of l.body.items) assert.equal((await api('DELETE', `/api/servers/${v.id}`)).status, 204);
  await waitUntil(() => all.every((p) => !alive(p)), 5000, 20, 'children gone');
  assert.equal((await api('GET', '/api/servers')).body.total, 0);
  assert.deepEqual(await s.psqlJson('SELECT mockarty.generated_server_list()'), []);
});

test('experimental-ui serves the same page and API', async () => {
  const port = await freePort();
  const proc = spawn(GENERATOR, ['experimental-ui', '--port', String(port), '--api-token', orchToken, `--mockarty-url=${s.admin.url}`], {
    env: { ...process.env, ORCHESTRATOR_DATA_DIR: path.join(dir, 'ui') }, stdio: 'ignore',
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    const h = await waitUntil(async () => { const r = await fetch(base + '/health'); return r.ok && r.json(); }, 10000, 50, 'experimental-ui /health');
    assert.equal(h.mode, 'experimental-ui');
    const r = await fetch(base + '/ui');
    assert.equal(r.status, 200);
    assert.match(await r.text(), /Generated servers/);
    assert.equal((await fetch(base + '/api/servers', { headers: { Authorization: `Bearer ${orchToken}` } })).status, 200);
  } finally {
    proc.kill('SIGTERM');
  }
});
