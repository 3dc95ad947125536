// ui_dashboards.test.mjs - the node dashboards (resolver DASHBOARD_PORT, runner DASHBOARD_PORT)
// served from the compiled-in pages (ui/resolver, ui/runner with ui/kit and ui/vendor) and fed
// by the node's /api/status with a ring of the last 120 one-second samples (docs/console.md).
// What a user would notice: the page and every asset it loads answer from the node itself under
// the strict CSP; /api/status carries one sample per second that moves under traffic (req/s,
// p50/p95/p99, hits and misses on the resolver; running tasks and their progress on the runner),
// ?since=<t> returns only newer samples, and the existing fields are still there.
// The generated server's dashboard is checked in generator.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitUntil } from './lib/harness.mjs';
import { startResolver } from './lib/resolver.mjs';
import { startRunner } from './lib/runner.mjs';

let s;
let res;
let run;
const q = (v) => `'${String(v).replace(/'/g, "''")}'`;
const qj = (v) => `${q(JSON.stringify(v))}::jsonb`;

before(async () => {
  s = await startStack();
  const m = await s.api('POST', '/api/v1/mocks', { id: 'dash-hit', http: { route: '/dash/hit', httpMethod: 'GET' }, response: { payload: { ok: true } } });
  assert.equal(m.status, 200, m.text);
  const ri = await s.api('POST', '/ui/api/integrations', { name: 'dash-resolver', type: 'mock_resolver' });
  assert.ok(ri.status === 200 || ri.status === 201, ri.text);
  res = await startResolver({ COORDINATOR_ADDR: s.grpcAddr, API_TOKEN: ri.body.token, RESOLVER_NAME: 'dash-r1' });
  const rt = await s.psql(`SELECT mockarty.integration_create('dash-runner', 'test_runner')->>'token'`);
  run = await startRunner({ COORDINATOR_ADDR: s.grpcAddr, API_TOKEN: rt, RUNNER_NAME: 'dash-runner', NAMESPACE: 'dash', CAPABILITIES: 'performance' });
});

after(async () => {
  await res?.stop().catch(() => {});
  await run?.stop().catch(() => {});
  await s?.stop();
});

/** The page and the assets it names answer from the node, with the UI headers. */
async function checkPage(base, title) {
  const page = await fetch(base + '/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.match(page.headers.get('content-security-policy'), /script-src 'self'/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const html = await page.text();
  assert.match(html, new RegExp(`<title>${title}</title>`));
  assert.doesNotMatch(html, /<(script|link)[^>]+(src|href)=["']?(https?:)?\/\//, 'no outside host');
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((x) => x[1]).filter((u) => !u.startsWith('/api/'));
  for (const want of ['app.js', 'kit/kit.css', 'vendor/uplot.js']) assert.ok(refs.includes(want), `${want} referenced`);
  // the module graph: app.js and the kit files it imports
  for (const u of [...refs, 'kit/ui.js', 'kit/chart.js', 'kit/dashboard.js', 'vendor/htm-preact.mjs']) {
    const r = await fetch(`${base}/${u}`);
    assert.equal(r.status, 200, u);
    assert.ok(r.headers.get('etag'), `${u} has an ETag`);
    const nm = await fetch(`${base}/${u}`, { headers: { 'If-None-Match': r.headers.get('etag') } });
    assert.equal(nm.status, 304, `${u} revalidates`);
  }
  const app = await (await fetch(`${base}/app.js`)).text();
  for (const imp of app.matchAll(/from '\.\/([^']+)'/g)) assert.equal((await fetch(`${base}/${imp[1]}`)).status, 200, imp[1]);
  assert.equal((await fetch(`${base}/kit/../README.md`)).status, 404, 'fetch normalises ..; nothing outside the tree');
  assert.equal((await fetch(`${base}/nope.js`)).status, 404);
}

test('resolver dashboard: the page, and samples that move under traffic', async () => {
  await checkPage(res.dashUrl, 'mock-resolver');
  // samples arrive once a second, each a closed second
  const first = await res.status();
  for (const k of ['name', 'namespace', 'coordinator', 'appliedVersion', 'mocksLoaded', 'requestsPerSecond', 'latencySeconds', 'cacheHits', 'misses']) assert.ok(k in first, k);
  await waitUntil(async () => (await res.status()).samples.length >= 2, 5000, 100, 'two samples');
  // traffic: hits and misses for about 2.5 s
  const until = Date.now() + 2500;
  let sent = 0;
  while (Date.now() < until && sent < 5000) {
    await Promise.all([res.get('/dash/hit'), res.get('/dash/hit'), res.get('/dash/miss')]);
    sent += 3;
  }
  const endS = Math.ceil(Date.now() / 1000);
  let st;
  await waitUntil(async () => {
    st = await res.status();
    return st.samples[st.samples.length - 1].t > endS + 1; // every second of the traffic closed
  }, 6000, 200, 'the seconds of the traffic closed');
  assert.ok(st.samples.some((x) => x.rps > 0 && x.hits > 0 && x.misses > 0), 'a sample with requests, hits and misses');
  assert.ok(st.samples.length <= 120);
  const busy = st.samples.filter((x) => x.rps > 0);
  for (const x of busy) {
    for (const k of ['t', 'rps', 'p50', 'p95', 'p99', 'hits', 'misses']) assert.equal(typeof x[k], 'number', k);
    assert.ok(x.p50 > 0 && x.p50 <= x.p95 && x.p95 <= x.p99, JSON.stringify(x));
  }
  const total = busy.reduce((a, x) => a + x.rps, 0);
  assert.ok(total > sent * 0.5 && total < sent * 1.5, `samples add up to ~${sent} requests: ${total.toFixed(0)}`);
  const ts = st.samples.map((x) => x.t);
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i] >= ts[i - 1], 'oldest first');
  const last = ts[ts.length - 1];
  const since = (await (await fetch(`${res.dashUrl}/api/status?since=${last}`)).json()).samples;
  assert.ok(since.every((x) => x.t > last), '?since returns only newer samples');
  assert.ok(since.length <= 2);
});

test('runner dashboard: the page, and a load test shows as a running task with progress', async () => {
  await checkPage(run.url, 'runner-agent');
  await waitUntil(async () => (await run.status()).samples.length >= 2, 5000, 100, 'two samples');
  const st0 = await run.status();
  assert.equal(st0.samples[st0.samples.length - 1].running, 0);
  const coll = await s.psqlJson(`SELECT mockarty.collection_create('dash', 'dash', ${qj({
    info: { name: 'dash', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
    item: [{ name: 'hit', request: { method: 'GET', url: `${s.url}/dash/hit` } }],
  })})`);
  const p = await s.psqlJson(`SELECT mockarty.perf_run_start('dash', ${qj({ name: 'dash', collectionId: coll.id, options: { duration: '3s', concurrency: 2 } })})`);
  assert.ok(p.id);
  let st;
  await waitUntil(async () => {
    st = await run.status();
    return st.samples.some((x) => x.running === 1 && x.progress > 0);
  }, 15000, 200, 'a sample with the running load test and its progress');
  await waitUntil(async () => {
    st = await run.status();
    return st.tasks.history.some((h) => h.id === p.id) && st.samples[st.samples.length - 1].running === 0;
  }, 20000, 200, 'the load test finished and the chart back to 0');
  for (const x of st.samples) for (const k of ['t', 'running', 'cpu']) assert.equal(typeof x[k], 'number', k);
});

test('in a browser: both dashboards render under their CSP, charts and numbers update, no console error, axe clean, light and dark', async () => {
  const { launch, openPage, axeCheck } = await import('./lib/browser.mjs');
  const browser = await launch();
  try {
    for (const scheme of ['light', 'dark']) {
      // resolver: traffic while the page is open moves the req/s figure beside the chart
      const { context, page, problems } = await openPage(browser, res.dashUrl + '/', { colorScheme: scheme });
      const outside = [];
      page.on('request', (r) => { if (!r.url().startsWith(res.dashUrl)) outside.push(r.url()); });
      await page.getByRole('heading', { name: 'mock-resolver' }).waitFor({ timeout: 10000 });
      assert.equal(await page.getByText('Loading the dashboard').count(), 0, 'the placeholder is replaced');
      const chart = page.locator('#rps-chart');
      await chart.waitFor({ timeout: 10000 });
      assert.equal(await chart.getAttribute('role'), 'img');
      assert.match(await chart.getAttribute('aria-label'), /^Requests per second: /);
      assert.equal(await page.locator('#rps-chart canvas').count(), 1, 'uPlot drew the chart');
      let stop = false;
      const load = (async () => { for (let i = 0; i < 5000 && !stop; i++) await res.get('/dash/hit'); })();
      await page.waitForFunction(() => Number((document.getElementById('rps-0')?.textContent || '').replace(/[^0-9.]/g, '')) > 0, null, { timeout: 10000 });
      stop = true;
      await load;
      for (const id of ['latency-0', 'latency-2', 'hits-0', 'hits-1']) assert.ok(await page.locator('#' + id).count(), `${id} figure`);
      await axeCheck(page, `resolver dashboard (${scheme})`);
      assert.deepEqual(problems, []);
      assert.deepEqual(outside, [], 'no request leaves the node');
      await context.close();
    }
    const { context, page, problems } = await openPage(browser, run.url + '/');
    await page.getByRole('heading', { name: 'runner-agent' }).waitFor({ timeout: 10000 });
    await page.locator('#active-chart canvas').waitFor({ timeout: 10000 });
    await page.locator('#progress-chart').waitFor();
    assert.match(await page.locator('#active-chart').getAttribute('aria-label'), /^Tasks running: running/);
    await page.getByRole('heading', { name: 'History (last 100)' }).waitFor({ timeout: 10000 });
    await axeCheck(page, 'runner dashboard');
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    await browser.close();
  }
});
