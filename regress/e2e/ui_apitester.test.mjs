// ui_apitester.test.mjs - the console's API tester in a real browser (chromium via
// playwright-core): create an environment and import a collection file in the UI, run it on a real runner
// agent and watch the live progress reach 100 %, read the report (pass and fail per test),
// download the JUnit and Markdown reports, then fix the failing endpoint, run again and compare
// the two runs (the one test that changed status is listed). The collection calls mocks on the
// admin node itself, some with a response delay so the run takes a few seconds. axe on every view
// and open dialog; screenshot apitester-run; no console problem at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startStack, waitUntil } from './lib/harness.mjs';
import { launch, openConsole, axeCheck, matchScreenshot, ignoreProblems } from './lib/browser.mjs';
import { startRunner } from './lib/runner.mjs';

let s, browser, runner, meMissing = false;
const creds = { login: 'admin', password: process.env.MOCKARTY_UI_PASSWORD || 'unused-in-local-mode' };

// four requests through {{base}} (from the environment): three answer 200 after 900 ms, the
// fourth's route has no mock yet (its status test fails until the test creates the mock)
const COLLECTION = {
  info: { name: 'UI smoke', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
  item: ['one', 'two', 'three', 'later'].map((n) => ({
    name: `get ${n}`,
    request: { method: 'GET', url: `{{base}}/ui-at/${n}` },
    event: [{ listen: 'test', script: { exec: [`pm.test('${n} answers 200', function () {`, '  pm.response.to.have.status(200);', '});'] } }],
  })),
};

const mock = (id, route) => s.api('POST', '/api/v1/mocks', { id, http: { route, httpMethod: 'GET' }, response: { statusCode: 200, payload: { id }, delay: 900 } });

before(async () => {
  // the runner heartbeats (and so reports progress) every third of its lease: 500 ms here
  s = await startStack({ env: { AUTH_MODE: 'local', RUNNER_LEASE_MS: '1500' } });
  for (const n of ['one', 'two', 'three']) assert.equal((await mock('ui-at-' + n, '/ui-at/' + n)).status, 200);
  const token = await s.psql("SELECT mockarty.integration_create('ui-apitester', 'test_runner')->>'token'");
  runner = await startRunner({ COORDINATOR_ADDR: s.grpcAddr, API_TOKEN: token, RUNNER_NAME: 'ui-apitester-runner', CAPABILITIES: 'api_test' });
  browser = await launch();
  meMissing = (await s.api('GET', '/api/v1/auth/me')).status === 404;
});

after(async () => {
  await browser?.close();
  await runner?.stop().catch(() => {});
  await s?.stop();
});

async function open(path) {
  const r = await openConsole(browser, s, path, creds);
  await r.page.getByRole('heading', { name: 'API tester', level: 1 }).waitFor();
  return r;
}

async function runFromUi(page) {
  await page.getByRole('tab', { name: 'Collections' }).click();
  await page.getByRole('row', { name: /UI smoke/ }).getByRole('button', { name: 'Run UI smoke' }).click();
  const dlg = page.getByRole('dialog', { name: 'Run UI smoke' });
  assert.match(await dlg.getByLabel('Environment').inputValue(), /[0-9a-f-]{36}/, 'the active environment is preselected');
  await dlg.getByRole('button', { name: 'Start run' }).click();
  await page.waitForURL(/\/ui\/api-tester\/runs\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop();
}

async function readDownload(page, button) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button }).click()]);
  return { name: dl.suggestedFilename(), text: fs.readFileSync(await dl.path(), 'utf8') };
}

test('run a collection: environment and collection made in the UI, live progress to 100 %, report, downloads, compare', async () => {
  const { page, context, problems } = await open('api-tester/environments');
  await axeCheck(page, 'environments (empty)');

  // an environment with the base URL, activated
  await page.getByRole('button', { name: 'New environment' }).click();
  const env = page.getByRole('dialog', { name: 'New environment' });
  await env.getByLabel('Name', { exact: true }).fill('local node');
  await env.getByLabel('Variables').fill('{"base": oops}');
  await env.locator('#env-vars-error').waitFor();
  await env.getByLabel('Variables').fill(JSON.stringify({ base: s.url }));
  await axeCheck(page, 'new environment dialog');
  await env.getByRole('button', { name: 'Create environment' }).click();
  const envRow = page.getByRole('row', { name: /local node/ });
  await envRow.getByRole('button', { name: 'Activate local node' }).click();
  await envRow.getByText('active', { exact: true }).waitFor();

  // the collection, pasted; a broken document is refused at its field first
  await page.getByRole('tab', { name: 'Collections' }).click();
  await page.waitForURL(/api-tester\/collections$/);
  await axeCheck(page, 'collections (empty)');
  await page.getByRole('button', { name: 'New collection' }).click();
  const dlg = page.getByRole('dialog', { name: 'New collection' });
  await dlg.getByLabel('Postman v2.1 collection').fill(JSON.stringify({ info: { name: 'x' }, item: [{ name: 'r', request: 42 }] }));
  await dlg.getByRole('button', { name: 'Save collection' }).click();
  await dlg.locator('#coll-doc-error').waitFor();
  assert.match(await dlg.locator('#coll-doc-error').textContent(), /item\[0\]/, 'the compile error names the request');
  // the valid one imported from a file, as a Postman export is
  await dlg.getByLabel('Load a Postman export (.json)').setInputFiles({ name: 'ui-smoke.postman_collection.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(COLLECTION, null, 2)) });
  await waitUntil(async () => (await dlg.getByLabel('Postman v2.1 collection').inputValue()).includes('"UI smoke"'), 5000, 50, 'the file loaded into the editor');
  await axeCheck(page, 'new collection dialog');
  await dlg.getByRole('button', { name: 'Save collection' }).click();
  await page.getByRole('row', { name: /UI smoke/ }).waitFor();
  await dlg.waitFor({ state: 'hidden' }); // closed: no script line needed translating
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.collections WHERE name = 'UI smoke'"), '1');

  // run it and watch: the page polls every second; the bar and the counts move, then 100 %
  const id1 = await runFromUi(page);
  await axeCheck(page, 'run page while queued or running');
  const bar = page.getByRole('progressbar', { name: 'Run progress' });
  const seen = new Set();
  await waitUntil(async () => {
    seen.add(Number(await bar.getAttribute('aria-valuenow')));
    return seen.has(100);
  }, 30000, 100, 'progress reaches 100 %');
  assert.ok([...seen].some((v) => v > 0 && v < 100), `an intermediate progress was shown (saw ${[...seen].sort((a, b) => a - b).join(', ')})`);
  await page.locator('#run-status').getByText('failed').waitFor();
  assert.equal((await page.locator('#run-passed').textContent()).trim(), '3');
  assert.equal((await page.locator('#run-failed').textContent()).trim(), '1');
  const later = page.getByRole('list', { name: 'Tests of get later' });
  assert.match(await later.textContent(), /fail\s*later answers 200/);
  assert.match(await page.getByRole('list', { name: 'Tests of get one' }).textContent(), /pass\s*one answers 200/);
  await axeCheck(page, 'finished run');
  await page.evaluate(() => document.getElementById('toast')?.remove()); // a transient status line
  await matchScreenshot(page, 'apitester-run', { mask: [page.locator('.when'), page.locator('.run-id'), page.locator('.req-result .muted'), page.locator('#run-duration')] });

  const junit = await readDownload(page, 'Download JUnit');
  assert.equal(junit.name, `test-run-${id1}.xml`);
  assert.match(junit.text, /^<\?xml/);
  assert.match(junit.text, /<testsuite[^>]*name="get later"/);
  assert.match(junit.text, /<failure/);
  assert.equal((junit.text.match(/<testcase/g) || []).length, 4);
  const md = await readDownload(page, 'Download Markdown');
  assert.match(md.text, /later answers 200/);

  // fix the endpoint, run again, compare the two runs
  assert.equal((await mock('ui-at-later', '/ui-at/later')).status, 200);
  const id2 = await runFromUi(page);
  await page.locator('#run-status').getByText('passed').waitFor({ timeout: 30000 });
  await page.getByRole('button', { name: 'All runs' }).click();
  await page.getByRole('table', { name: 'Runs' }).waitFor();
  await axeCheck(page, 'runs list');
  await page.getByLabel(`Select run ${id1} for comparison`).check();
  await page.getByLabel(`Select run ${id2} for comparison`).check();
  await page.getByRole('button', { name: 'Compare the two selected runs' }).click();
  const changed = page.getByRole('table', { name: 'Tests that changed status' });
  await changed.waitFor();
  const rows = changed.getByRole('row');
  assert.equal(await rows.count(), 2, 'one header row and one changed test');
  assert.match(await rows.nth(1).textContent(), /get later › later answers 200\s*failed\s*passed/);
  assert.match(await page.locator('#changed-title').textContent(), /1 test changed status, 3 unchanged/);
  await axeCheck(page, 'compare runs');

  if (meMissing) ignoreProblems(problems, /404/);
  ignoreProblems(problems, /400/); // the broken collection the test submitted
  assert.deepEqual(problems, []);
  await context.close();
});

test('a viewer (dark theme) sees collections, environments and runs but no control that changes them', async () => {
  const strict = await s.spawnAdmin({ AUTH_MODE: 'full' });
  const made = await s.api('POST', '/api/v1/admin/users', { login: 'at-look', password: 'look-pass-1', system_role: 'viewer', namespaces: [{ namespace: 'sandbox', role: 'viewer' }], requires_password_change: false });
  assert.equal(made.status, 201, made.text);
  const { page, context, problems } = await openConsole(browser, { url: strict.url }, 'api-tester/collections', { login: 'at-look', password: 'look-pass-1', colorScheme: 'dark' });
  await page.getByRole('heading', { name: 'API tester', level: 1 }).waitFor();
  await page.getByRole('row', { name: /UI smoke/ }).waitFor();
  for (const tab of ['Collections', 'Environments', 'Runs']) {
    await page.getByRole('tab', { name: tab }).click();
    await page.getByRole('heading', { name: tab, level: 2 }).waitFor();
    await page.waitForLoadState('networkidle');
    for (const b of ['New collection', 'New environment', 'Run UI smoke', 'Delete', 'Edit local node', 'Activate local node']) {
      assert.equal(await page.getByRole('button', { name: b }).count(), 0, `${tab}: no "${b}" button for a viewer`);
    }
    await axeCheck(page, `${tab} as a viewer`);
  }
  await page.getByRole('link', { name: /^Report/ }).first().click();
  await page.getByRole('progressbar', { name: 'Run progress' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Cancel run' }).count(), 0);
  await page.getByRole('button', { name: 'Download JUnit' }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});
