// ui_dashboards_browser.test.mjs - the resolver's, the runner's and a generated server's dashboards in Debian's
// chromium, as an operator watching a node: the page loads from the node itself under its
// strict CSP with no console error, the live figures move under traffic (req/s above 0 on the
// resolver while requests flow; a running load test and its progress on the runner), every
// state passes axe's WCAG 2 A/AA scan in light and dark, and the page matches its reference
// screenshot with the live regions masked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, freePort, repoRoot } from './lib/harness.mjs';
import { NodeDaemon } from './lib/daemon.mjs';
import { startResolver } from './lib/resolver.mjs';
import { startRunner } from './lib/runner.mjs';
import { launch, openPage, axeCheck, matchScreenshot, saveScreenshot } from './lib/browser.mjs';

let s, res, run, browser;
const q = (v) => `'${String(v).replace(/'/g, "''")}'`;
const qj = (v) => `${q(JSON.stringify(v))}::jsonb`;

before(async () => {
  s = await startStack();
  const m = await s.api('POST', '/api/v1/mocks', { id: 'dashb-hit', http: { route: '/dashb/hit', httpMethod: 'GET' }, response: { payload: { ok: true } } });
  assert.equal(m.status, 200, m.text);
  const ri = await s.api('POST', '/ui/api/integrations', { name: 'dashb-resolver', type: 'mock_resolver' });
  assert.equal(ri.status, 201, ri.text);
  res = await startResolver({ COORDINATOR_ADDR: s.grpcAddr, API_TOKEN: ri.body.token, RESOLVER_NAME: 'dashb-r1' });
  const rt = await s.psql(`SELECT mockarty.integration_create('dashb-runner', 'test_runner')->>'token'`);
  run = await startRunner({ COORDINATOR_ADDR: s.grpcAddr, API_TOKEN: rt, RUNNER_NAME: 'dashb-runner', NAMESPACE: 'dashb', CAPABILITIES: 'performance' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await res?.stop().catch(() => {});
  await run?.stop().catch(() => {});
  await s?.stop();
});

// The number a figure shows ("1,234.5" -> 1234.5; "–" -> NaN)
const num = (t) => Number(String(t).replace(/[^0-9.]/g, '') || NaN);

// Live regions: every chart and every figure that changes by itself
const masks = (page) => [page.locator('.chart'), page.locator('dd'), page.locator('.stat .v'), page.locator('header span')];

test('resolver dashboard: req/s and hits move while requests flow; axe in light and dark; screenshot', async () => {
  for (const scheme of ['light', 'dark']) {
    const { context, page, problems } = await openPage(browser, `${res.dashUrl}/`, { colorScheme: scheme });
    await page.getByRole('heading', { name: 'Requests per second' }).waitFor({ timeout: 15000 });
    const figure = page.locator('#rps-0');
    // bounded traffic until the page's own requests/s figure shows it (at most 10 s, 20,000 requests)
    const until = Date.now() + 10000;
    let sent = 0, seen = NaN;
    while (Date.now() < until && sent < 20000) {
      await Promise.all([res.get('/dashb/hit'), res.get('/dashb/hit'), res.get('/dashb/miss')]);
      sent += 3;
      if (sent % 60 === 0) {
        seen = num(await figure.innerText());
        if (seen > 0) break;
      }
    }
    assert.ok(seen > 0, `the page's requests/s figure moved above 0 (after ${sent} requests): ${seen}`);
    const label = await page.locator('#rps-chart').getAttribute('aria-label');
    assert.match(label, /^Requests per second: requests [0-9]/, 'the chart describes its latest value');
    assert.ok(num(await page.locator('#hits-0').innerText()) >= 0);
    await axeCheck(page, `resolver dashboard (${scheme})`);
    if (scheme === 'light') await matchScreenshot(page, 'dashboard-resolver', { mask: masks(page) });
    else await saveScreenshot(page, 'dashboard-resolver-live-dark');
    assert.deepEqual(problems, []);
    await context.close();
  }
});

test('runner dashboard: a load test shows as a running task with progress; axe; screenshot', async () => {
  const { context, page, problems } = await openPage(browser, `${run.url}/`);
  await page.getByRole('heading', { level: 1 }).first().waitFor({ timeout: 15000 });
  await axeCheck(page, 'runner dashboard, idle');
  const coll = await s.psqlJson(`SELECT mockarty.collection_create('dashb', 'dashb', ${qj({
    info: { name: 'dashb', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
    item: [{ name: 'hit', request: { method: 'GET', url: `${s.url}/dashb/hit` } }],
  })})`);
  const p = await s.psqlJson(`SELECT mockarty.perf_run_start('dashb', ${qj({ name: 'dashb', collectionId: coll.id, options: { duration: '4s', concurrency: 2 } })})`);
  assert.ok(p.id);
  // the page's own text: the running task appears, with a progress bar named after it
  const running = page.getByRole('table', { name: 'Running tasks' });
  await running.getByText(p.id).waitFor({ timeout: 20000 });
  await running.getByRole('progressbar').first().waitFor();
  await axeCheck(page, 'runner dashboard, task running');
  // back to idle: the task leaves the running table for the history, completed
  await page.getByText('Idle: no task running.').waitFor({ timeout: 30000 });
  const done = page.getByRole('table', { name: 'Finished tasks' }).getByRole('row').filter({ hasText: p.id });
  await done.waitFor();
  assert.match(await done.innerText(), /completed/);
  await matchScreenshot(page, 'dashboard-runner', { mask: [...masks(page), page.locator('table')] });
  assert.deepEqual(problems, []);
  await context.close();
});

// The generic generated-server binary serving the generator's OpenAPI fixture (as the
// orchestrator starts it), with its dashboard on a port of its own.
class GenServer extends NodeDaemon {
  constructor(bin, env) {
    super(env);
    this.name = 'gen-server';
    this.bin = bin;
    this.vars = ['MOCKARTY_URL', 'MOCKARTY_API_TOKEN', 'COORDINATOR_ADDR', 'HTTP_PORT', 'DASHBOARD_PORT', 'HTTP_BIND_ADDR'];
  }

  async ports() {
    this.port = this.port || (await freePort());
    this.dashPort = this.dashPort || (await freePort());
    this.url = `http://127.0.0.1:${this.port}`;
    this.dashUrl = `http://127.0.0.1:${this.dashPort}`;
    return { url: this.url, env: { HTTP_PORT: String(this.port), DASHBOARD_PORT: String(this.dashPort), HTTP_BIND_ADDR: '127.0.0.1' } };
  }
}

test('generated server dashboard: requests per second and per route move under traffic; axe; screenshot', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mockarty-gendash-'));
  const bin = path.join(dir, 'run-gen-server.sh');
  const args = [path.join(repoRoot, 'daemons/build/mockarty-gen-server'), '--type', 'openapi', '--spec',
    path.join(repoRoot, 'regress/generator/openapi.yaml'), '--name', 'petstore'];
  fs.writeFileSync(bin, `#!/bin/sh\nexec ${args.map((a) => `'${a}'`).join(' ')}\n`, { mode: 0o755 });
  const o = await s.api('POST', '/ui/api/integrations', { name: 'dashb-orchestrator', type: 'orchestrator' });
  assert.equal(o.status, 201, o.text);
  const m = await s.api('POST', '/api/v1/mocks', { id: 'dashb-gen', serverName: 'petstore', http: { route: '/dashb/gen', httpMethod: 'GET' }, response: { payload: { ok: 1 } } });
  assert.equal(m.status, 200, m.text);
  const g = await new GenServer(bin, { MOCKARTY_URL: s.admin.url, MOCKARTY_API_TOKEN: o.body.token, COORDINATOR_ADDR: s.grpcAddr }).start();
  try {
    const { context, page, problems } = await openPage(browser, `${g.dashUrl}/`);
    await page.getByRole('heading', { name: 'Requests per second' }).waitFor({ timeout: 15000 });
    const until = Date.now() + 10000;
    let sent = 0, seen = NaN;
    while (Date.now() < until && sent < 20000) {
      await Promise.all([fetch(`${g.url}/dashb/gen`).then((r) => r.text()), fetch(`${g.url}/dashb/gen`).then((r) => r.text())]);
      sent += 2;
      if (sent % 40 === 0) {
        seen = num(await page.locator('#rps-0').innerText());
        if (seen > 0) break;
      }
    }
    assert.ok(seen > 0, `the page's requests/s figure moved above 0 (after ${sent} requests): ${seen}`);
    const routes = page.getByRole('table', { name: 'Requests per route' });
    await routes.getByRole('row').filter({ hasText: '/dashb/gen' }).waitFor({ timeout: 5000 });
    await axeCheck(page, 'generated server dashboard');
    await matchScreenshot(page, 'dashboard-genserver', { mask: [...masks(page), routes] });
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    await g.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
