// runners.test.mjs - real runner-agents beside the admin node and its coordinator, set up as the
// integrations guide's "Runner Agents" section says: a test_runner integration token, then
// COORDINATOR_ADDR / API_TOKEN / RUNNER_NAME / SHARED / NAMESPACE / MAX_CONCURRENT /
// CAPABILITIES / DASHBOARD_PORT. What a user would notice: --help and configuration errors; a
// runner that is up answers /health/live as the guide shows and a valid /metrics; MAX_CONCURRENT
// holds (seen from the dashboard and from the queue); an api_test-only runner never receives a
// performance task and vice versa; a namespace runner never gets another namespace's task while a
// shared one does; a performance run reports requests/s and latency percentiles; a cancelled run
// stops. Tasks are started through SQL (test_run_start, perf_run_start); the mocks they call are
// the admin node's own, some with a response delay to make tasks slow.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitUntil } from './lib/harness.mjs';
import { startRunner, runRunner } from './lib/runner.mjs';

let s;
const runners = [];
const q = (v) => `'${String(v).replace(/'/g, "''")}'`;
const qj = (v) => `${q(JSON.stringify(v))}::jsonb`;

/** A Postman v2.1 collection: one GET per path, each with a status-200 test. */
function collection(name, paths) {
  return {
    info: { name, schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
    item: paths.map((p, i) => ({
      name: `${name} ${i + 1}`,
      request: { method: 'GET', url: `${s.url}${p}` },
      event: [{ listen: 'test', script: { type: 'text/javascript', exec: ["pm.test('status is 200', function () {", '  pm.response.to.have.status(200);', '});'] } }],
    })),
  };
}

async function makeCollection(ns, name, paths) {
  const c = await s.psqlJson(`SELECT mockarty.collection_create(${q(ns)}, ${q(name)}, ${qj(collection(name, paths))})`);
  assert.ok(c && c.id, 'collection_create returned ' + JSON.stringify(c));
  return c.id;
}

async function token(name) {
  return s.psql(`SELECT mockarty.integration_create(${q(name)}, 'test_runner')->>'token'`);
}

async function runner(env, opts) {
  const r = await startRunner({ COORDINATOR_ADDR: s.grpcAddr, ...env }, opts);
  runners.push(r);
  return r;
}

const startTestRun = (collId) => s.psqlJson(`SELECT mockarty.test_run_start(${q(collId)}::uuid)`);
const task = (id) => s.psqlJson(`SELECT mockarty.task_get(${q(id)}::uuid)`);
const terminal = (st) => ['completed', 'failed', 'cancelled'].includes(st);

async function waitTask(id, pred, timeoutMs = 30000, what = 'task state') {
  let last;
  try {
    return await waitUntil(async () => {
      last = await task(id);
      return pred(last) && last;
    }, timeoutMs, 100, what);
  } catch (e) {
    e.message += '\nlast: ' + JSON.stringify(last) + '\n' + runners.map((r) => `--- ${r.env.RUNNER_NAME} ---\n${r.logs().slice(-1500)}`).join('\n');
    throw e;
  }
}

before(async () => {
  s = await startStack({ env: { RUNNER_LEASE_MS: '1500' } });
  const mk = (id, route, payload, extra = {}) =>
    s.api('POST', '/api/v1/mocks', { id, http: { route, httpMethod: 'GET' }, response: { statusCode: 200, payload, ...extra } });
  for (const [id, route, extra] of [
    ['fast', '/rt/fast', {}],
    ['slow', '/rt/slow', { delay: 600 }],
  ]) {
    const r = await mk(id, route, { id }, extra);
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => {
  for (const r of runners) await r.stop('SIGKILL').catch(() => {});
  await s?.stop();
});

test('--help lists every variable of the guide with its default; bad configuration exits 2 naming it', () => {
  const h = runRunner(['--help']);
  assert.equal(h.code, 0);
  for (const [v, d] of [
    ['COORDINATOR_ADDR', '-'],
    ['API_TOKEN', '-'],
    ['RUNNER_NAME', 'hostname'],
    ['SHARED', 'false'],
    ['NAMESPACE', 'sandbox'],
    ['MAX_CONCURRENT', '5'],
    ['CAPABILITIES', 'api_test'],
    ['DASHBOARD_PORT', '6770'],
    ['LOG_LEVEL', 'info'],
  ])
    assert.match(h.stdout, new RegExp(`${v}\\s+(yes|no)\\s+${d.replace('-', '\\-')}\\s`), `--help line of ${v}`);
  const base = { COORDINATOR_ADDR: '127.0.0.1:1', API_TOKEN: 'mki_0123456789ab_00' };
  const cases = [
    [{}, /COORDINATOR_ADDR is required/],
    [{ COORDINATOR_ADDR: '127.0.0.1:1' }, /API_TOKEN is required/],
    [{ ...base, API_TOKEN: 'mk_user_token' }, /API_TOKEN: expected an integration token \(mki_/],
    [{ ...base, COORDINATOR_ADDR: 'nohostport' }, /COORDINATOR_ADDR: expected host:port/],
    [{ ...base, SHARED: 'perhaps' }, /SHARED: expected true\/false/],
    [{ ...base, MAX_CONCURRENT: '0' }, /MAX_CONCURRENT: expected an integer in \[1, 1000\]/],
    [{ ...base, MAX_CONCURRENT: '1001' }, /MAX_CONCURRENT/],
    [{ ...base, CAPABILITIES: 'api_test,chaos' }, /CAPABILITIES: unknown capability "chaos"/],
    [{ ...base, DASHBOARD_PORT: '70000' }, /DASHBOARD_PORT/],
    [{ ...base, LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  ];
  for (const [env, re] of cases) {
    const r = runRunner([], env);
    assert.equal(r.code, 2, `${JSON.stringify(env)}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  assert.equal(runRunner(['--bogus'], base).code, 2);
});

test('/health/live answers as the guide shows; /health/ready, /metrics and the dashboard report the state', async () => {
  const r = await runner({ API_TOKEN: await token('health'), RUNNER_NAME: 'runner-health', NAMESPACE: 'health-only' });
  const live = await r.get('/health/live');
  assert.equal(live.status, 200);
  assert.equal(live.body.status, 'ok');
  assert.equal(live.body.releaseId, '0.1.0');
  assert.match(live.body.uptime, /^\d+h\d+m\d+s$/);
  const ready = await r.get('/health/ready');
  assert.equal(ready.status, 200, ready.text);
  const st = await r.status();
  assert.equal(st.name, 'runner-health');
  assert.equal(st.coordinator.connected, true);
  assert.deepEqual(st.capabilities, ['api_test']);
  assert.equal(st.maxConcurrent, 5);
  assert.ok(st.process.rssBytes > 0);
  const page = await r.get('/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /text\/html/);
  assert.ok(!/(src|href)="https?:/.test(page.text), 'the page loads nothing from elsewhere');
  assert.match(page.text, /\/api\/status/);
  const m = await r.get('/metrics');
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type'), /text\/plain/);
  const typed = new Set();
  for (const line of m.text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      assert.match(line, /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* \S.*$/, line);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const t = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/);
      assert.ok(t, line);
      typed.add(t[1]);
      continue;
    }
    const sm = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/);
    assert.ok(sm, `exposition line: ${line}`);
    assert.ok(typed.has(sm[1].replace(/_(bucket|sum|count)$/, '')) || typed.has(sm[1]), `sample ${sm[1]} has a TYPE`);
  }
  for (const name of ['mockarty_runner_tasks_running', 'mockarty_runner_tasks_total', 'mockarty_runner_max_concurrent', 'mockarty_runner_connected', 'process_cpu_seconds_total', 'process_resident_memory_bytes'])
    assert.ok(typed.has(name), `metric ${name}`);
  assert.match(m.text, /^mockarty_runner_connected 1$/m);
  assert.match(m.text, /^mockarty_runner_max_concurrent 5$/m);
  assert.match(m.text, /^mockarty_runner_tasks_total\{kind="api_test",outcome="completed"\} \d+$/m);
  // a second runner on the same DASHBOARD_PORT is a clear start-up error
  const clash = runRunner([], { COORDINATOR_ADDR: s.grpcAddr, API_TOKEN: await token('clash'), DASHBOARD_PORT: String(r.port) });
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /DASHBOARD_PORT/);
  await r.stop();
});

test('MAX_CONCURRENT=2 is never exceeded while six slow tasks run; all six complete', async () => {
  const r = await runner({ API_TOKEN: await token('conc'), RUNNER_NAME: 'runner-conc', NAMESPACE: 'conc', MAX_CONCURRENT: '2' });
  const coll = await makeCollection('conc', 'slow three', ['/rt/slow', '/rt/slow', '/rt/slow']);
  const runs = [];
  for (let i = 0; i < 6; i++) runs.push(await startTestRun(coll));
  let maxDash = 0;
  let maxSql = 0;
  let samples = 0;
  let done = false;
  const db = s.psqlSession(); // one connection: a psql process per sample would be too slow to sample
  const sampler = (async () => {
    while (!done) {
      const [st, n] = await Promise.all([
        r.status(),
        db.query(`SELECT count(*) FROM jsonb_array_elements(mockarty.task_list(NULL, 'conc', NULL, 100)) t WHERE t->>'status' IN ('leased','running') AND t->>'runnerName' = 'runner-conc'`),
      ]);
      maxDash = Math.max(maxDash, st.tasks.runningCount);
      maxSql = Math.max(maxSql, Number(n));
      samples++;
      await new Promise((x) => setTimeout(x, 50));
    }
  })();
  try {
    for (const tr of runs) await waitTask(tr.id, (t) => terminal(t.status), 60000, `run ${tr.id} finished`);
  } finally {
    done = true;
    await sampler;
    await db.close();
  }
  assert.ok(samples >= 20, `sampled ${samples} times`);
  assert.ok(maxDash <= 2, `dashboard showed ${maxDash} running tasks`);
  assert.ok(maxSql <= 2, `the queue showed ${maxSql} leases for the runner`);
  assert.equal(maxDash, 2, 'two tasks did run at once');
  for (const tr of runs) {
    const t = await s.psqlJson(`SELECT mockarty.test_run_get(${q(tr.id)}::uuid)`);
    assert.equal(t.status, 'passed', JSON.stringify(t));
    assert.equal(t.totalTests, 3);
    assert.equal(t.passedTests, 3);
    assert.equal(t.runner, 'runner-conc');
  }
  const st = await r.status();
  assert.equal(st.tasks.history.length, 6);
  assert.ok(st.tasks.history.every((h) => h.status === 'completed' && h.kind === 'api_test' && h.namespace === 'conc'));
  await r.stop();
});

test("the guide's three runners: capabilities and namespaces decide who runs what", async () => {
  const env = (name, caps, extra = {}) => ({ RUNNER_NAME: name, CAPABILITIES: caps, ...extra });
  // first the two specialised runners of namespace team-a, alone
  const apiOnly = await runner({ API_TOKEN: await token('api'), ...env('runner-api-1', 'api_test', { NAMESPACE: 'team-a' }) });
  const perfOnly = await runner({ API_TOKEN: await token('perf'), ...env('runner-perf-1', 'performance', { NAMESPACE: 'team-a' }) });
  const collA = await makeCollection('team-a', 'team-a', ['/rt/fast', '/rt/slow']);
  const collC = await makeCollection('team-c', 'team-c', ['/rt/fast', '/rt/slow']);
  const perfRun = async (i) =>
    (await s.psqlJson(`SELECT mockarty.perf_run_start('team-a', ${qj({ name: `perf ${i}`, collectionId: collA, options: { duration: '1s', concurrency: 2 } })})`)).id;
  const api = [];
  const perf = [];
  const other = [];
  for (let i = 0; i < 3; i++) api.push((await startTestRun(collA)).id);
  for (let i = 0; i < 2; i++) perf.push(await perfRun(i));
  for (let i = 0; i < 2; i++) other.push((await startTestRun(collC)).id);
  const ranBy = async (ids) => {
    const out = [];
    for (const id of ids) {
      const t = await waitTask(id, (x) => terminal(x.status), 60000, `task ${id} finished`);
      assert.equal(t.status, 'completed', JSON.stringify(t));
      out.push(t.runnerName);
    }
    return out;
  };
  assert.deepEqual(await ranBy(api), Array(3).fill('runner-api-1'), 'api_test tasks go to the api_test runner');
  assert.deepEqual(await ranBy(perf), Array(2).fill('runner-perf-1'), 'performance tasks go to the performance runner');
  // team-c has no runner of its own: its tasks wait
  for (const id of other) assert.equal((await task(id)).status, 'queued', 'a namespace runner never takes another namespace\'s task');
  assert.ok((await apiOnly.status()).tasks.history.every((h) => h.kind === 'api_test' && h.namespace === 'team-a'));
  assert.ok((await perfOnly.status()).tasks.history.every((h) => h.kind === 'performance' && h.namespace === 'team-a'));
  // the shared runner with both capabilities takes them (and anything of any namespace)
  const both = await runner({ API_TOKEN: await token('all'), ...env('runner-all-1', 'api_test,performance', { SHARED: 'true' }) });
  assert.equal(new Set([apiOnly.port, perfOnly.port, both.port]).size, 3, 'distinct DASHBOARD_PORTs');
  assert.deepEqual(await ranBy(other), Array(2).fill('runner-all-1'), 'the shared runner serves team-c');
  // with all three up, a mixed burst still respects capabilities
  const api2 = [];
  const perf2 = [];
  for (let i = 0; i < 4; i++) api2.push((await startTestRun(collA)).id);
  for (let i = 0; i < 2; i++) perf2.push(await perfRun(10 + i));
  for (const n of await ranBy(api2)) assert.ok(['runner-api-1', 'runner-all-1'].includes(n), `api_test task ran on ${n}`);
  for (const n of await ranBy(perf2)) assert.ok(['runner-perf-1', 'runner-all-1'].includes(n), `performance task ran on ${n}`);
  for (const r of [apiOnly, perfOnly, both]) await r.stop();
});

test('a performance run reports requests/s, latency percentiles, thresholds and per-second results', async () => {
  const r = await runner({ API_TOKEN: await token('perf2'), RUNNER_NAME: 'runner-perf-2', NAMESPACE: 'perf', CAPABILITIES: 'performance' });
  const coll = await makeCollection('perf', 'perf fast', ['/rt/fast']);
  const p = await s.psqlJson(
    `SELECT mockarty.perf_run_start('perf', ${qj({ name: 'smoke', collectionId: coll, options: { duration: '2s', concurrency: 4, thresholds: { http_req_duration: ['p(95)<5000'], http_req_failed: ['rate<0.5'] } } })})`,
  );
  // live progress arrives with the heartbeats while it runs
  const live = await waitTask(p.id, (t) => (t.progress && t.progress.requests > 0) || terminal(t.status), 15000, 'live progress');
  assert.ok(live.progress, JSON.stringify(live));
  const done = await waitTask(p.id, (t) => terminal(t.status), 30000, 'perf run finished');
  assert.equal(done.status, 'completed', JSON.stringify(done));
  const run = await s.psqlJson(`SELECT mockarty.perf_run_get(${q(p.id)}::uuid)`);
  const rep = run.report;
  assert.ok(rep.rps > 0, JSON.stringify(rep));
  assert.ok(rep.requests > 0);
  for (const k of ['p50', 'p90', 'p95', 'p99']) assert.ok(typeof rep.latencyMs[k] === 'number' && rep.latencyMs[k] > 0, `latencyMs.${k}`);
  assert.ok(rep.latencyMs.p50 <= rep.latencyMs.p99);
  assert.equal(rep.passed, true);
  assert.equal(rep.thresholds.length, 2);
  assert.equal(run.passed, true);
  assert.equal(run.runner, 'runner-perf-2');
  const chunks = await s.psqlJson(`SELECT mockarty.task_results(${q(p.id)}::uuid)`);
  assert.equal(chunks.length, rep.timeline.length, 'one result chunk per timeline second');
  await r.stop();
});

test('cancelling a running test run stops it on the runner and stores it as cancelled', async () => {
  const r = await runner({ API_TOKEN: await token('cancel'), RUNNER_NAME: 'runner-cancel', NAMESPACE: 'cancel' });
  const coll = await makeCollection('cancel', 'long', Array(12).fill('/rt/slow'));
  const tr = await startTestRun(coll);
  await waitTask(tr.id, (t) => t.status === 'running', 15000, 'run started');
  const t0 = Date.now();
  await s.psql(`SELECT mockarty.test_run_cancel(${q(tr.id)}::uuid)`);
  const done = await waitTask(tr.id, (t) => terminal(t.status), 10000, 'cancelled');
  assert.equal(done.status, 'cancelled');
  assert.ok(Date.now() - t0 < 5000, `stopped ${Date.now() - t0} ms after the cancel (12 requests x 600 ms would be 7 s)`);
  const run = await s.psqlJson(`SELECT mockarty.test_run_get(${q(tr.id)}::uuid)`);
  assert.equal(run.status, 'cancelled');
  assert.ok(run.totalTests < 12, JSON.stringify(run));
  await waitUntil(async () => (await r.status()).tasks.history.some((h) => h.id === tr.id && h.status === 'cancelled'), 3000, 50, 'history shows cancelled');
  await r.stop();
});
