// metrics.test.mjs - Prometheus /metrics and /health/live on every component (admin node, mock
// resolver, runner agent), as the guide's "Telemetry & Monitoring" section promises.
// What a user would notice: promtool accepts every /metrics output after real traffic; the guide's
// metric names are there, labelled by route template (/api/users/1 and /api/users/2 are one series,
// route="/api/users/:id"), so 1000 distinct unknown paths add no series; connected resolvers and
// runners, store operations and the task queue show up on the admin node; every /health/live
// answers {"status":"ok","releaseId","uptime"}; and every query of docker/grafana-dashboard.json
// names only metrics that some component exposes.
// Needs promtool (Debian package prometheus): installed through scripts/install-deps.sh when
// missing; the tests fail, never skip, without it. The runner agent is built by make: required.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, waitUntil, repoRoot } from './lib/harness.mjs';
import { startResolver } from './lib/resolver.mjs';
import { ensureDep } from './lib/deps.mjs';

let s;
let res; // mock resolver
let run; // runner agent
const q = (v) => `'${String(v).replace(/'/g, "''")}'`;
const RUNNER_BIN = process.env.MOCKARTY_RUNNER_BIN || path.join(repoRoot, 'daemons/build/runner-agent');

/** promtool's verdict on a /metrics text: { ok, out }. */
function promtool(text) {
  ensureDep('prometheus (promtool)', () => !spawnSync('promtool', ['--version'], { stdio: 'ignore' }).error);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20000 });
  if (r.error) throw new Error(`promtool not runnable: ${r.error.message}`);
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

/** Sample lines of a metrics text whose name is `name` (exactly). */
const samples = (text, name) => text.split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '));
/** Every metric name a text exposes (from # TYPE lines and sample lines). */
function exposedNames(text) {
  const names = new Set();
  for (const l of text.split('\n')) {
    const t = l.match(/^# TYPE (\S+) (\S+)/);
    if (t) {
      names.add(t[1]);
      if (t[2] === 'histogram') for (const suf of ['_bucket', '_sum', '_count']) names.add(t[1] + suf);
      continue;
    }
    const m = l.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/);
    if (m) names.add(m[1]);
  }
  return names;
}

const metricsOf = {
  admin: async () => (await s.api('GET', '/metrics', undefined, { token: null })).text,
  resolver: async () => (await res.get('/metrics')).text,
  runner: async () => (await run.get('/metrics')).text,
};

before(async () => {
  assert.ok(fs.existsSync(RUNNER_BIN), `${RUNNER_BIN} is built by make`);
  s = await startStack();
  const c = await s.api('POST', '/ui/api/integrations', { name: 'metrics-resolver', type: 'mock_resolver' });
  assert.ok(c.status === 200 || c.status === 201, c.text);
  // a static mock, an error mock and a stateful one (its use counter lives in the database)
  for (const [id, route, status, extra] of [['users', '/api/users/:id', 200, {}], ['boom', '/boom', 503, {}], ['limited', '/limited', 200, { useLimiter: 100 }]]) {
    const m = await s.api('POST', '/api/v1/mocks', { id, http: { route, httpMethod: 'GET' }, response: { statusCode: status, payload: { id } }, ...extra });
    assert.equal(m.status, 200, m.text);
  }
  res = await startResolver({ COORDINATOR_ADDR: s.grpcAddr, API_TOKEN: c.body.token, RESOLVER_NAME: 'metrics-r1' });
  {
    const { startRunner } = await import('./lib/runner.mjs');
    const tok = await s.psql(`SELECT mockarty.integration_create(${q('metrics-runner')}, 'test_runner')->>'token'`);
    run = await startRunner({ COORDINATOR_ADDR: s.grpcAddr, API_TOKEN: tok, RUNNER_NAME: 'metrics-runner', CAPABILITIES: 'api_test' });
  }
  // real traffic on both serving nodes: two users, an error route, a miss
  for (const get of [(p) => s.api('GET', p, undefined, { token: null }), (p) => res.get(p)]) {
    for (const p of ['/api/users/1', '/api/users/2', '/api/users/2', '/boom', '/no/such/thing', '/limited']) await get(p);
  }
  // REST store operations on the admin node
  assert.ok((await s.api('POST', '/api/v1/stores/global', { key: 'k', value: 1 })).status < 300);
  assert.ok((await s.api('GET', '/api/v1/stores/global')).status < 300);
});

after(async () => {
  await run?.stop();
  await res?.stop();
  await s?.stop();
});

test('promtool check metrics passes on the admin node, the resolver and the runner agent', async (t) => {
  const checked = [];
  for (const [name, get] of Object.entries(metricsOf)) {
    const text = await get();
    assert.ok(text.length > 0, `${name}: empty /metrics`);
    const v = promtool(text);
    assert.ok(v.ok, `${name}: promtool check metrics failed:\n${v.out}`);
    checked.push(name);
  }
  assert.ok(checked.includes('admin') && checked.includes('resolver'), checked.join(','));
  assert.ok(checked.includes('runner'), checked.join(','));
  t.diagnostic(`promtool accepted: ${checked.join(', ')}`);
});

test("the guide's metric names are exposed, with route templates as labels", async () => {
  for (const node of ['admin', 'resolver']) {
    const text = await metricsOf[node]();
    for (const name of ['mockarty_mock_resolutions_total', 'mockarty_request_duration_seconds_bucket', 'mockarty_active_mocks', 'mockarty_store_operations_total']) {
      assert.ok(samples(text, name).length > 0, `${node}: no ${name}\n${text}`);
    }
    const users = samples(text, 'mockarty_mock_resolutions_total').filter((l) => l.includes('route="/api/users/:id"'));
    assert.equal(users.length, 1, `${node}: one series for /api/users/:id:\n${users.join('\n')}`);
    assert.match(users[0], /status="200"\} 3$/, `${node}: 3 requests counted (${users[0]})`);
    assert.ok(!/route="\/api\/users\/[12]"/.test(text), `${node}: a raw path became a label`);
    assert.match(text, /^mockarty_mock_resolutions_total\{route="\/boom",status="503"\} 1$/m, node);
    assert.match(text, /^mockarty_mock_resolutions_total\{route="unmatched",status="404"\} \d+$/m, node);
    assert.match(text, /^mockarty_active_mocks 3$/m, node);
    // the stateful mock was resolved where its state lives: a store operation on each node
    assert.match(text, /^mockarty_mock_resolutions_total\{route="\/limited",status="200"\} 1$/m, node);
    assert.match(text, /^mockarty_store_operations_total\{operation="resolve",source="mock"\} [1-9]\d*$/m, node);
    assert.match(text, /^mockarty_store_operation_duration_seconds_count\{operation="resolve",source="mock"\} [1-9]\d*$/m, node);
    assert.match(text, /^mockarty_request_duration_seconds_count [1-9]\d*$/m, node);
  }
  // the resolver keeps the names of api-compat 2.1
  const r = await metricsOf.resolver();
  for (const name of ['mockarty_resolver_requests_total', 'mockarty_resolver_request_duration_seconds_bucket', 'mockarty_resolver_mocks_loaded', 'mockarty_resolver_cache_hits_total', 'mockarty_resolver_coordinator_connected']) {
    assert.ok(samples(r, name).length > 0, `resolver: no ${name}`);
  }
});

test('the admin node reports store operations, connected resolvers and runners, and the task queue', async () => {
  const text = await metricsOf.admin();
  assert.match(text, /^mockarty_store_operations_total\{operation="read",source="api"\} [1-9]\d*$/m);
  assert.match(text, /^mockarty_store_operations_total\{operation="write",source="api"\} [1-9]\d*$/m);
  assert.match(text, /^mockarty_store_operation_duration_seconds_count\{operation="write",source="api"\} [1-9]\d*$/m);
  assert.match(text, /^mockarty_connected_resolvers 1$/m);
  for (const outcome of ['success', 'error', 'refused']) assert.match(text, new RegExp(`^mockarty_webhook_deliveries_total\\{outcome="${outcome}"\\} \\d+$`, 'm'));
  if (run) await waitUntil(async () => /^mockarty_connected_runners 1$/m.test(await metricsOf.admin()), 10000, 100, 'runner counted');
  else assert.match(text, /^mockarty_connected_runners \d+$/m);
  // the task counts come from a background poll of mockarty.task_stats() (every 5 s)
  await waitUntil(async () => /^mockarty_task_queue_depth\{kind="[a-z_]+"\} \d+$/m.test(await metricsOf.admin()), 12000, 200, 'task queue depth exposed');
  const v = promtool(await metricsOf.admin());
  assert.ok(v.ok, v.out);
});

test('1000 distinct unmatched paths add no series', async () => {
  for (const node of ['admin', 'resolver']) {
    const before = samples(await metricsOf[node](), 'mockarty_mock_resolutions_total').length;
    const get = node === 'admin' ? (p) => s.api('GET', p, undefined, { token: null }) : (p) => res.get(p);
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, k) => get(`/probe/${node}/${i + k}/x`)));
    }
    const text = await metricsOf[node]();
    const after = samples(text, 'mockarty_mock_resolutions_total');
    assert.equal(after.length, before, `${node}: series ${before} -> ${after.length}`);
    assert.ok(!text.includes('/probe/'), `${node}: a probed path became a label`);
    const miss = after.find((l) => l.startsWith('mockarty_mock_resolutions_total{route="unmatched",status="404"}'));
    assert.ok(Number(miss.split(' ').pop()) >= 1000, miss);
  }
});

test('/health/live answers {"status":"ok","releaseId","uptime"} on every component', async () => {
  const targets = [
    ['admin', () => s.api('GET', '/health/live', undefined, { token: null })],
    ['resolver', () => res.get('/health/live')],
  ];
  if (run) targets.push(['runner', () => run.get('/health/live')]);
  for (const [name, get] of targets) {
    const h = await get();
    assert.equal(h.status, 200, `${name}: ${h.text}`);
    assert.equal(h.body.status, 'ok', name);
    assert.equal(typeof h.body.releaseId, 'string', name);
    assert.ok(h.body.releaseId.length > 0, name);
    assert.match(h.body.uptime, /^\d+h\d+m\d+s$/, `${name}: uptime ${h.body.uptime}`);
  }
});

// PromQL words that are not metric names: functions, aggregations, keywords, Grafana variables.
const PROMQL_WORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless',
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'inf', 'nan',
]);

/** Metric names in a PromQL expression: identifiers that are not functions, keywords or labels. */
function promqlMetricNames(expr) {
  let e = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, ' ') // Grafana variables ($__rate_interval, ${job})
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/(?<![A-Za-z0-9_:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|[smhdwy])?/g, ' '); // numbers, durations
  const names = new Set();
  for (const m of e.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = e.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function call
    if (PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

test('docker/grafana-dashboard.json: the recommended panels, each querying only exposed metrics', async () => {
  const dash = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docker/grafana-dashboard.json'), 'utf8'));
  const exposed = new Set();
  for (const [, get] of Object.entries(metricsOf)) {
    for (const n of exposedNames(await get())) exposed.add(n);
  }
  const panels = dash.panels.flatMap((p) => (p.type === 'row' ? p.panels ?? [] : [p]));
  assert.ok(panels.length >= 6, 'panels');
  for (const p of panels) {
    assert.ok(Array.isArray(p.targets) && p.targets.length > 0, `panel "${p.title}" has no query`);
    for (const t of p.targets) {
      const names = promqlMetricNames(t.expr);
      assert.ok(names.length > 0, `panel "${p.title}": no metric in ${t.expr}`);
      for (const n of names) assert.ok(exposed.has(n), `panel "${p.title}" queries ${n}, which no component exposes`);
    }
  }
  // the guide's recommended panels, found by what they query
  const exprs = (re) => panels.filter((p) => p.targets.some((t) => re.test(t.expr)));
  const has = (what, re) => assert.ok(exprs(re).length > 0, `no panel for ${what}`);
  has('mock resolution rate', /rate\(mockarty_mock_resolutions_total/);
  for (const qt of ['0.5', '0.95', '0.99']) has(`p${qt.slice(2).padEnd(2, '0')}`, new RegExp(`histogram_quantile\\(${qt.replace('.', '\\.')},.*mockarty_request_duration_seconds_bucket`));
  has('active mocks', /mockarty_active_mocks/);
  has('error rate by route', /by \(route\).*mockarty_mock_resolutions_total\{[^}]*status=~"5\.\."/);
  has('store operation latency', /histogram_quantile\(.*mockarty_store_operation_duration_seconds_bucket/);
  has('connected resolvers', /mockarty_connected_resolvers/);
  has('connected runners', /mockarty_connected_runners/);
  has('webhook deliveries by outcome', /by \(outcome\).*mockarty_webhook_deliveries_total/);
  // the name extractor itself
  assert.deepEqual(promqlMetricNames('histogram_quantile(0.95, sum by (le, route) (rate(a_b_bucket{job=~"$job"}[5m]))) / on (x) c_total offset 5m'), ['a_b_bucket', 'c_total']);
});
