// generator.test.mjs - mockarty-server-generator and the generated OpenAPI server (docs/generator.md).
// What a user would notice: the guide's CLI example works verbatim against an admin node; the
// project it writes builds from a fresh directory with `make` and no network; started with the
// guide's variables it answers /health and, for every mock of the spec, byte-for-byte what the
// admin node answers; a use limit holds exactly across the admin node and the generated server;
// a write on the admin node reaches it; the generic binary serves one serverName only and
// accepts an orchestrator integration token while a viewer's token is refused; bad flags and
// server types not in this build are clear errors that write nothing (the grpc type:
// generator_grpc.test.mjs).
// -create-mocks goes through the admin node's POST /api/v1/generators/openapi (the importer and
// smart merge of docs/import.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, freePort, waitUntil, repoRoot } from './lib/harness.mjs';
import { NodeDaemon } from './lib/daemon.mjs';

const GENERATOR = path.join(repoRoot, 'daemons/build/mockarty-server-generator');
const GEN_SERVER = path.join(repoRoot, 'daemons/build/mockarty-gen-server');
const FIXTURE = path.join(repoRoot, 'regress/generator/openapi.yaml');
const VARS = ['HTTP_ADMIN_BASE_URL', 'MOCKARTY_URL', 'NAMESPACE', 'MOCKARTY_NAMESPACE', 'HTTP_PORT', 'PORT', 'API_TOKEN',
  'MOCKARTY_API_TOKEN', 'SERVER_NAME', 'COORDINATOR_ADDR', 'DASHBOARD_PORT', 'PROXY_TARGET'];

let s;
let work; // the user's directory: ./mockarty-server-generator, ./api/openapi.yaml
let gen; // the generated server (built from a fresh copy of the project)
let gen1; // its CLI run
const q = (v) => `'${String(v).replace(/'/g, "''")}'`;

class GenServer extends NodeDaemon {
  constructor(bin, env, args = []) {
    super(env);
    this.name = 'gen-server';
    this.bin = bin;
    this.vars = VARS;
    this.args = args;
  }

  async ports() {
    this.port = this.port || (await freePort());
    this.dashPort = this.dashPort || (await freePort());
    this.url = `http://127.0.0.1:${this.port}`;
    this.dashUrl = `http://127.0.0.1:${this.dashPort}`;
    return { url: this.url, env: { HTTP_PORT: String(this.port), DASHBOARD_PORT: String(this.dashPort), HTTP_BIND_ADDR: '127.0.0.1' } };
  }

  get(p, init = {}) {
    return this.request(this.url, p, init);
  }
}

// NodeDaemon spawns its bin without arguments: a wrapper script passes the generic binary's flags
function wrapper(dir, bin, args) {
  const f = path.join(dir, `run-${path.basename(bin)}-${args.length}.sh`);
  fs.writeFileSync(f, `#!/bin/sh\nexec ${[bin, ...args].map((a) => `'${a}'`).join(' ')}\n`, { mode: 0o755 });
  return f;
}

function runCli(args, env = {}, cwd = work) {
  const e = { ...process.env, ...env };
  for (const k of ['API_TOKEN', 'MOCKARTY_API_TOKEN']) if (!(k in env)) delete e[k];
  const r = spawnSync('./mockarty-server-generator', args, { cwd, env: e, encoding: 'utf8', timeout: 60000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function listMocks() {
  const r = await s.api('GET', '/api/v1/mocks?namespace=sandbox&limit=1000');
  assert.equal(r.status, 200, r.text);
  return Array.isArray(r.body) ? r.body : r.body.items || r.body.mocks || r.body.data || [];
}

async function answer(base, method, p, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = body;
    init.headers['Content-Type'] = 'application/json';
  }
  const r = await fetch(base + p, init);
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
}

before(async () => {
  s = await startStack();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mockarty-generator-'));
  fs.symlinkSync(GENERATOR, path.join(work, 'mockarty-server-generator'));
  fs.mkdirSync(path.join(work, 'api'));
  fs.copyFileSync(FIXTURE, path.join(work, 'api/openapi.yaml'));
  // (a) the guide's example, only host/port/token substituted
  gen1 = runCli(
    ['-server-type', 'openapi', '-input', './api/openapi.yaml', '-output', './generated-server', '-create-mocks',
      '-mockarty-url', s.admin.url, '-api-token', s.token],
  );
});

after(async () => {
  await gen?.stop();
  await s?.stop();
  if (work && process.env.MOCKARTY_E2E_KEEP !== '1') fs.rmSync(work, { recursive: true, force: true });
});

test('the guide\'s CLI example writes the project and creates the mocks on the admin node', async () => {
  assert.equal(gen1.code, 0, gen1.stdout + gen1.stderr);
  const dir = path.join(work, 'generated-server');
  for (const f of ['main.c', 'spec_blob.c', 'Makefile', 'README.md', 'Dockerfile', 'runtime/VERSION', 'spec/openapi.yaml',
    'runtime/daemons/genserver/genserver.h', 'runtime/daemons/grpc/gen/coordinator.pb-c.c', 'runtime/daemons/common/ui_assets_genserver.c']) {
    assert.ok(fs.existsSync(path.join(dir, f)), `project file ${f}`);
  }
  const main = fs.readFileSync(path.join(dir, 'main.c'), 'utf8');
  assert.match(main, /gs_main\(&d, argc, argv\)/);
  assert.ok(main.includes(`.admin_url = "${s.admin.url}"`), 'the -mockarty-url is the baked default');
  assert.ok(!main.includes(s.token) && !fs.readFileSync(path.join(dir, 'README.md'), 'utf8').includes(s.token), 'the token is never written into the project');
  assert.ok(main.split('\n').length < 70, 'main.c is short');
  assert.match(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), /apt-get install -y .*libmicrohttpd-dev/);
  const ids = (await listMocks()).map((m) => m.id);
  assert.ok(ids.length >= 5, `mocks on the admin node: ${ids}`);
});

test('the project builds from a fresh directory with make (no network) and serves what the admin node serves', async () => {
  const fresh = path.join(work, 'fresh');
  fs.cpSync(path.join(work, 'generated-server'), fresh, { recursive: true });
  fs.rmSync(path.join(work, 'generated-server'), { recursive: true }); // nothing refers back to it
  const deps = spawnSync('make', ['-s', 'check-deps'], { cwd: fresh, encoding: 'utf8' });
  assert.equal(deps.status, 0, deps.stderr);
  // no network namespace when unshare is refused (containers): the build still reads only local files
  const noNet = spawnSync('unshare', ['-n', 'true']).status === 0;
  const b = noNet ? spawnSync('unshare', ['-n', 'make', '-s', '-j2'], { cwd: fresh, encoding: 'utf8', timeout: 600000 })
    : spawnSync('make', ['-s', '-j2'], { cwd: fresh, encoding: 'utf8', timeout: 600000 });
  assert.equal(b.status, 0, b.stdout + b.stderr);
  assert.ok(fs.existsSync(path.join(fresh, 'server')));
  // the guide's variables (plus COORDINATOR_ADDR: this test's coordinator is not on 5773)
  gen = await new GenServer(path.join(fresh, 'server'), {
    HTTP_ADMIN_BASE_URL: s.admin.url, NAMESPACE: 'sandbox', API_TOKEN: s.token, COORDINATOR_ADDR: s.grpcAddr,
  }).start();
  const h = await gen.get('/health');
  assert.equal(h.status, 200, h.text);
  assert.equal(h.body.status, 'pass');
  assert.equal(h.body.serverType, 'openapi');
  assert.equal(h.body.namespace, 'sandbox');
  assert.equal(h.body.mode, 'hybrid');
  assert.equal(h.body.admin.url, s.admin.url);
  assert.equal(h.body.admin.connected, true);
  assert.ok(h.body.mocksLoaded >= 5, h.text);
  assert.equal((await gen.get('/health/live')).status, 200);
  assert.equal((await gen.get('/health/ready')).status, 200);
  assert.equal((await gen.get('/spec')).text, fs.readFileSync(FIXTURE, 'utf8'));
  const mocks = await listMocks();
  let compared = 0;
  for (const m of mocks) {
    if (!m.http || m.useLimiter) continue;
    const p = m.http.route.replace(/:[A-Za-z_]+/g, '7').replace(/\{[^}]+\}/g, '7');
    const method = m.http.httpMethod || 'GET';
    const body = method === 'GET' ? undefined : '{"name":"Rex"}';
    const want = await answer(s.admin.url, method, p, body);
    const got = await answer(gen.url, method, p, body);
    assert.deepEqual(got, want, `${method} ${p}`);
    assert.ok(want.status < 400, `${method} ${p} answered ${want.status}`);
    compared++;
  }
  assert.ok(compared >= 5, `compared ${compared}`);
  const met = await gen.get('/metrics');
  for (const name of ['mockarty_resolver_requests_total', 'mockarty_resolver_mocks_loaded', 'mockarty_resolver_coordinator_connected 1']) {
    assert.ok(met.text.includes(name), name);
  }
  // the dashboard page (ui/genserver, compiled in) and the figures it draws from /api/status:
  // mocks loaded, requests, hits, a counter per route that answered, the identity
  const dash = await gen.request(gen.dashUrl, '/');
  assert.equal(dash.status, 200);
  assert.match(dash.headers.get('content-type'), /text\/html/);
  assert.match(dash.headers.get('content-security-policy'), /script-src 'self'/);
  assert.match(dash.text, /<script type="module" src="app.js">/);
  for (const asset of ['app.js', 'kit/chart.js', 'kit/dashboard.js', 'vendor/uplot.js']) {
    assert.equal((await gen.request(gen.dashUrl, '/' + asset)).status, 200, asset);
  }
  const st = await gen.request(gen.dashUrl, '/api/status');
  assert.equal(st.body.coordinator.connected, true);
  assert.ok(st.body.mocksLoaded >= 5);
  assert.ok(st.body.requests >= compared, 'requests counted');
  assert.ok(st.body.cacheHits >= compared, 'hits counted');
  assert.equal(st.body.generatedServer.type, 'openapi');
  const row = st.body.generatedServer.routes.find((r) => r.route === '/pets/:petId' && r.status === 200);
  assert.ok(row && row.count >= 1, JSON.stringify(st.body.generatedServer.routes));
  // the charts' samples: the seconds of the traffic above show requests and hits
  let samples = [];
  await waitUntil(async () => {
    samples = (await gen.request(gen.dashUrl, '/api/status')).body.samples || [];
    return samples.some((p) => p.rps > 0 && p.hits > 0 && p.p99 > 0);
  }, 5000, 100, 'a sample with the traffic').catch((e) => assert.fail(`${e.message}: ${JSON.stringify(samples.slice(-8))}`));
});

test('useLimiter 2: the limit is exact across the admin node and the generated server', async () => {
  assert.ok(gen, 'generated server running');
  const c = await s.api('POST', '/api/v1/mocks', { id: 'gen-limited', http: { route: '/pets/:petId/reserve', httpMethod: 'POST' },
    useLimiter: 2, response: { statusCode: 200, payload: { reserved: true } } });
  assert.equal(c.status, 200, c.text);
  const v = c.headers.get('x-mockarty-version');
  const hdr = { 'X-Mockarty-Min-Version': v };
  const a1 = await fetch(s.admin.url + '/pets/1/reserve', { method: 'POST', headers: hdr });
  const g1 = await fetch(gen.url + '/pets/1/reserve', { method: 'POST', headers: hdr });
  assert.equal(a1.status, 200);
  assert.equal(g1.status, 200);
  assert.equal(await g1.text(), '{"reserved":true}');
  assert.equal((await fetch(gen.url + '/pets/1/reserve', { method: 'POST' })).status, 404);
  assert.equal((await fetch(s.admin.url + '/pets/1/reserve', { method: 'POST' })).status, 404);
});

test('a write on the admin node reaches the generated server', async () => {
  assert.ok(gen, 'generated server running');
  const c = await s.api('POST', '/api/v1/mocks', { id: 'gen-written', http: { route: '/pets/written/now', httpMethod: 'GET' },
    response: { statusCode: 200, payload: { n: 1 } } });
  assert.equal(c.status, 200, c.text);
  await waitUntil(async () => (await gen.get('/pets/written/now')).text === '{"n":1}', 5000, 20, 'new mock served');
  const u = await s.api('POST', '/api/v1/mocks', { id: 'gen-written', http: { route: '/pets/written/now', httpMethod: 'GET' },
    response: { statusCode: 200, payload: { n: 2 } } });
  assert.equal(u.status, 200, u.text);
  await waitUntil(async () => (await gen.get('/pets/written/now')).text === '{"n":2}', 5000, 20, 'update served');
});

test('the generic binary serves one serverName, with an orchestrator token; a viewer token and a token bound to another namespace are refused; disabling an editor token ends the stream', async () => {
  const o = await s.api('POST', '/ui/api/integrations', { name: 'orchestrator-1', type: 'orchestrator' });
  assert.ok(o.status === 200 || o.status === 201, o.text);
  for (const [id, route, serverName] of [['scoped', '/scoped', 'petstore'], ['unscoped', '/unscoped', undefined], ['other', '/other', 'billing']]) {
    const c = await s.api('POST', '/api/v1/mocks', { id, http: { route, httpMethod: 'GET' }, response: { payload: { id } }, ...(serverName ? { serverName } : {}) });
    assert.equal(c.status, 200, c.text);
  }
  const bin = wrapper(work, GEN_SERVER, ['--type', 'openapi', '--spec', FIXTURE, '--name', 'petstore']);
  const g = await new GenServer(bin, { MOCKARTY_URL: s.admin.url, MOCKARTY_API_TOKEN: o.body.token, COORDINATOR_ADDR: s.grpcAddr }).start();
  try {
    await waitUntil(async () => (await g.get('/scoped')).status === 200, 5000, 20, 'scoped mock served');
    assert.equal((await g.get('/scoped')).text, '{"id":"scoped"}');
    assert.equal((await g.get('/unscoped')).status, 404);
    assert.equal((await g.get('/other')).status, 404);
    const h = await g.get('/health');
    assert.equal(h.body.serverName, 'petstore');
    assert.equal(h.body.status, 'pass');
    assert.equal((await g.get('/spec')).text, fs.readFileSync(FIXTURE, 'utf8'));
  } finally {
    await g.stop();
  }
  await s.psql("SELECT mockarty.user_create('vic', NULL, 'viewer')");
  const viewer = await s.psql("SELECT mockarty.token_create('viewer', 'vic')->>'token'");
  const v = await new GenServer(bin, { HTTP_ADMIN_BASE_URL: s.admin.url, API_TOKEN: viewer, COORDINATOR_ADDR: s.grpcAddr }).start({ waitReady: false });
  try {
    await waitUntil(async () => (await v.get('/health')).body?.admin?.state === 'auth_refused', 5000, 20, 'viewer token refused');
    assert.equal((await v.get('/health')).status, 503);
  } finally {
    await v.stop();
  }
  // a token bound to another namespace may not sync this one (the coordinator's caller rule)
  await s.psql("SELECT mockarty.namespace_create('team-a')");
  const bound = await s.psql("SELECT mockarty.token_create('team-a-gen', 'admin', 'team-a')->>'token'");
  const b = await new GenServer(bin, { HTTP_ADMIN_BASE_URL: s.admin.url, NAMESPACE: 'sandbox', API_TOKEN: bound, COORDINATOR_ADDR: s.grpcAddr }).start({ waitReady: false });
  try {
    await waitUntil(async () => (await b.get('/health')).body?.admin?.state === 'auth_refused', 5000, 20, 'bound token refused for another namespace');
  } finally {
    await b.stop();
  }
  // an editor's token serves; disabling it ends the generated server's stream for good
  await s.psql("SELECT mockarty.user_create('eddie', NULL, 'editor')");
  const made = await s.psqlJson("SELECT mockarty.token_create('gen-editor', 'eddie')");
  const e = await new GenServer(bin, { HTTP_ADMIN_BASE_URL: s.admin.url, API_TOKEN: made.token, COORDINATOR_ADDR: s.grpcAddr }).start();
  try {
    assert.equal((await e.get('/scoped')).status, 200);
    await s.psql(`SELECT mockarty.token_set_enabled(${q(made.token_info.id)}, false)`);
    await waitUntil(async () => (await e.get('/health')).body?.admin?.state === 'auth_refused', 10000, 50, 'disabled token refused');
    assert.equal((await e.get('/health')).body.status, 'warn');
    assert.equal((await e.get('/scoped')).status, 200, 'the last snapshot keeps serving');
  } finally {
    await e.stop();
  }
});

test('bad flags and server types not in this build are clear errors (exit 2) that write nothing', () => {
  const base = ['-input', './api/openapi.yaml'];
  const cases = [
    [['-server-type', 'mcp', ...base, '-output', './x1'], /not available yet in this build: mcp \(available: openapi, grpc\)/],
    [['--type', 'socket', ...base, '--output', './x2'], /not available yet in this build: socket \(available: openapi, grpc\)/],
    [['-server-type', 'websocket', ...base, '-output', './x3'], /not available yet in this build: websocket/],
    [['-server-type', 'openapii', ...base, '-output', './x4'], /unknown server type "openapii"/],
    [['-server-type', 'openapi', '-output', './x5'], /-input is required/],
    [['-server-type', 'openapi', ...base], /-output is required/],
    [['-server-type', 'openapi', ...base, '-output', './x6', '-port', 'eighty'], /-port: expected 1 to 65535, got "eighty"/],
    [['-server-type', 'openapi', ...base, '-output', './x7', '-colour', 'red'], /unknown flag "-colour"/],
    [['-server-type', 'openapi', ...base, '-output', './x8', '-create-mocks'], /-create-mocks needs -api-token/],
    [['-server-type', 'openapi', ...base, '-output', './x9', '-mockarty-url', 'localhost:5770'], /-mockarty-url: expected an http/],
    [['-server-type'], /flag -server-type needs a value/],
    [['orchestrator', '-port', '8888'], /-api-token is required/],
    [['orchestrator', '-port', 'eighty', '-api-token', 'mk_x'], /-port: expected 1 to 65535, got "eighty"/],
    [['experimental-ui', '-colour', 'red'], /unknown flag "-colour"/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  for (const d of ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9']) assert.ok(!fs.existsSync(path.join(work, d)), `${d} not written`);
  // every spelling of the flags works: double dashes, --server-type, -flag=value
  const ok = runCli(['--server-type=openapi', '--input', './api/openapi.yaml', '--output=./spelled', '--namespace', 'team-a', '--server-name', 'petstore', '--port', '9090']);
  assert.equal(ok.code, 0, ok.stderr);
  const main = fs.readFileSync(path.join(work, 'spelled/main.c'), 'utf8');
  assert.match(main, /\.ns = "team-a"/);
  assert.match(main, /\.server_name = "petstore"/);
  assert.match(main, /\.http_port = 9090/);
  // a second run into the same directory never overwrites it
  const again = runCli(['-type', 'openapi', '-input', './api/openapi.yaml', '-output', './spelled']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /is not empty/);
  assert.equal(fs.readFileSync(path.join(work, 'spelled/main.c'), 'utf8'), main);
  // the generic binary: an unknown type is refused by name
  const gs = spawnSync(GEN_SERVER, ['--type', 'kafka'], { env: { API_TOKEN: 'mk_x' }, encoding: 'utf8' });
  assert.equal(gs.status, 2);
  assert.match(gs.stderr, /server type "kafka" is not available in this build \(available: openapi, grpc\)/);
  const help = spawnSync(GEN_SERVER, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const v of ['HTTP_ADMIN_BASE_URL', 'MOCKARTY_URL', 'NAMESPACE', 'HTTP_PORT', 'API_TOKEN', 'SERVER_NAME', 'COORDINATOR_ADDR', 'PROXY_TARGET']) assert.ok(help.stdout.includes(v), v);
});
