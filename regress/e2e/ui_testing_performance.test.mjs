// ui_testing_performance.test.mjs - the console's Performance page (/ui/performance,
// ui/admin/pages/performance.js) in chromium with a real runner agent. What a user would notice:
// a bad duration is refused at its field and nothing starts; a short load test at a fixed rate
// against a mock of the admin node shows its live chart's req/s figure above 0 while it runs,
// then the final report (requests, status codes) that the REST API reports too; two runs picked
// in the past runs are compared side by side with the ratio B / A. axe on the form, the live run,
// the report and the comparison; the report's screenshot testing-performance (chart, figures and
// times masked); a running test stopped from its page after a confirmation; no console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRunner } from './lib/runner.mjs';
import { waitUntil } from './lib/harness.mjs';
import { axeCheck, matchScreenshot } from './lib/browser.mjs';
import { startUiStack, open, assertNoProblems } from './ui_testing_common.mjs';

let ctx;
let runner;
before(async () => {
  // default lease: a runner heartbeats (with the run's progress) every second while a task runs
  ctx = await startUiStack();
  const m = await ctx.s.api('POST', '/api/v1/mocks', { id: 'perf-target', http: { route: '/perf-target', httpMethod: 'GET' }, response: { statusCode: 200, payload: { ok: true } } });
  assert.equal(m.status, 200, m.text);
  const i = await ctx.s.api('POST', '/ui/api/integrations', { name: 'perf-runner', type: 'test_runner' });
  assert.equal(i.status, 201, i.text);
  runner = await startRunner({ COORDINATOR_ADDR: ctx.s.grpcAddr, API_TOKEN: i.body.token, RUNNER_NAME: 'runner-perf-ui', CAPABILITIES: 'performance', SHARED: 'true' });
});
after(async () => {
  await runner?.stop();
  await ctx?.stop();
});

const runs = async () => (await ctx.s.api('GET', '/api/v1/perf-results?limit=100')).body;
const num = (t) => Number(String(t).replace(/[^\d.]/g, ''));

test('start a short load test: the live req/s goes above 0, then the final report', async () => {
  const { page, problems } = await open(ctx, 'performance');
  await page.getByText('1 such runner(s) connected (runner-perf-ui)').waitFor({ timeout: 5000 });
  await axeCheck(page, 'performance: start form');
  await page.getByLabel('Target URL').fill(`${ctx.s.url}/perf-target`);
  await page.getByRole('radio', { name: /A fixed rate/ }).check();
  await page.getByRole('spinbutton', { name: 'Rate (requests per second)' }).fill('200');
  await page.getByRole('spinbutton', { name: 'Connections at most' }).fill('4');
  await page.getByLabel(/^Duration/).fill('soon');
  await page.getByRole('textbox', { name: /^Name/ }).fill('ui smoke');
  await page.getByRole('button', { name: 'Start load test' }).click();
  const durErr = page.locator('#perf-duration-error');
  await durErr.waitFor();
  assert.match(await durErr.textContent(), /Duration like 30s/);
  assert.equal((await runs()).length, 0, 'nothing started');

  await page.getByLabel(/^Duration/).fill('4s');
  await page.getByRole('button', { name: 'Start load test' }).click();
  await page.waitForURL(/\/ui\/performance\/[0-9a-f-]{36}$/);
  const id = page.url().split('/').pop();
  await page.locator('#perf-live').waitFor();
  // the live chart's req/s figure (text beside the chart) goes above 0 while the run runs
  await page.waitForFunction(() => {
    const e = document.getElementById('perf-rps-0');
    return e && Number(e.textContent.replace(/[^\d.]/g, '')) > 0;
  }, null, { timeout: 15000 });
  assert.equal((await ctx.s.api('GET', `/api/v1/perf-results/${id}`)).body.status, 'running');
  assert.ok(num(await page.locator('#live-requests').textContent()) > 0);
  assert.match(await page.locator('#perf-lat-2').textContent(), /\d/, 'p99 latency as text');
  await axeCheck(page, 'performance: live run');
  // the chart moves: the elapsed time beside it takes several values before the report comes
  const seen = new Set();
  await waitUntil(async () => {
    const live = page.locator('#live-elapsed');
    if (await live.count()) seen.add((await live.textContent().catch(() => '')).trim());
    return page.locator('#perf-report').count();
  }, 20000, 150, 'the report');
  seen.delete('');
  assert.ok(seen.size >= 2, `live figures updated while running: ${[...seen].join(', ')}`);
  const run = (await ctx.s.api('GET', `/api/v1/perf-results/${id}`)).body;
  assert.equal(run.status, 'completed', JSON.stringify(run));
  assert.equal(run.name, 'ui smoke');
  assert.equal(num(await page.locator('#rep-requests').textContent()), run.report.requests);
  assert.ok(run.report.requests >= 400, `about 200/s for 4 s: ${run.report.requests}`);
  const codes = await page.getByRole('table', { name: 'Status codes' }).locator('tbody tr').allTextContents();
  assert.deepEqual(codes.map((c) => c.replace(/[\s,]/g, '')), [`200${run.report.statusCodes['200']}`]);
  assert.equal(await page.locator('#perf-live').count(), 0, 'the live section is gone');
  await axeCheck(page, 'performance: report');
  await matchScreenshot(page, 'testing-performance', {
    mask: [page.locator('.perf-time'), page.locator('.stat .v'), page.locator('td.num'), page.locator('.chart-wrap')],
  });
  assertNoProblems(problems);
});

test('compare two runs side by side with the ratio', async () => {
  const first = (await runs())[0];
  assert.ok(first, 'the run of the previous test');
  // a second run through the REST API, of the same collection
  const r = await ctx.s.api('POST', '/api/v1/perf/run?wait=30', { name: 'api run', script: { collectionId: first.collectionId }, options: { duration: '2s', mode: 'open', rate: 100, concurrency: 2 } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.status, 'completed', r.text);

  const { page, problems } = await open(ctx, 'performance');
  const table = page.getByRole('table', { name: 'Past load-test runs' });
  await table.waitFor();
  assert.equal(await table.locator('tbody tr').count(), 2);
  await page.getByRole('checkbox', { name: 'Compare ui smoke' }).check();
  await page.getByRole('checkbox', { name: 'Compare api run' }).check();
  await page.getByRole('button', { name: 'Compare the two selected' }).click();
  const cmp = page.getByRole('table', { name: 'Runs compared' });
  await cmp.waitFor();
  const rps = await cmp.locator('tbody tr').filter({ hasText: 'Requests per second' }).locator('td').allTextContents();
  const want = (await ctx.s.api('GET', `/api/v1/perf-results/compare?ids=${first.id},${r.body.id}`)).body.diff.rps;
  assert.equal(num(rps[1]), Number(want.a.toFixed(1)));
  assert.equal(num(rps[2]), Number(want.b.toFixed(1)));
  assert.equal(rps[3], `${(want.b / want.a).toFixed(2)}×`);
  await axeCheck(page, 'performance: comparison');
  // the run's page from the comparison, then delete it after a confirmation
  await page.goto(`${ctx.s.url}/ui/performance`);
  await table.waitFor();
  await table.locator('tbody tr').filter({ hasText: 'api run' }).getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: 'Delete the run' }).click();
  await waitUntil(async () => (await runs()).length === 1, 5000, 100, 'the run deleted');
  assertNoProblems(problems.filter((p) => !/status of 404/.test(p)));
});

test('a running load test is stopped from its page after a confirmation', async () => {
  const first = (await runs()).find((r) => r.name === 'ui smoke');
  const r = await ctx.s.api('POST', '/api/v1/perf/run', { name: 'long run', script: { collectionId: first.collectionId }, options: { duration: '60s', mode: 'open', rate: 50, concurrency: 2 } });
  assert.equal(r.status, 201, r.text);
  const { page, problems } = await open(ctx, `performance/${r.body.id}`);
  await page.waitForFunction(() => {
    const e = document.getElementById('perf-rps-0');
    return e && Number(e.textContent.replace(/[^\d.]/g, '')) > 0;
  }, null, { timeout: 15000 });
  await page.getByRole('button', { name: 'Stop the run' }).click();
  assert.equal((await ctx.s.api('GET', `/api/v1/perf-results/${r.body.id}`)).body.status, 'running', 'not stopped before the confirmation');
  await page.getByRole('button', { name: 'Stop now' }).click();
  await waitUntil(async () => (await ctx.s.api('GET', `/api/v1/perf-results/${r.body.id}`)).body.status === 'stopped', 10000, 100, 'the run stopped');
  await page.locator('#perf-live').waitFor({ state: 'detached', timeout: 10000 });
  assert.match(await page.locator('main.page').textContent(), /stopped/);
  assertNoProblems(problems);
});
