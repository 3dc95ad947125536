// ui_settings.test.mjs - the console's Settings page in a real browser (chromium via
// playwright-core), walked as a person would: create an integration and read its mki_ token once
// (then a runner signs in with it), create an API token and disable it (the API refuses it at
// once), subscribe a webhook to a failing receiver and retry a delivery by hand, create a
// namespace, manage a user (create a viewer, namespace role, password reset, disable, delete), and
// sign in as a viewer on a node that asks for sign-in: no write control on any tab. Every tab and open
// dialog passes axe (WCAG 2 A/AA); screenshots settings-integrations (token masked) and
// settings-webhooks are compared with the committed references; no console problem at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitUntil } from './lib/harness.mjs';
import { launch, openConsole, axeCheck, matchScreenshot, ignoreProblems } from './lib/browser.mjs';
import { startReceiver } from './lib/webhook_receiver.mjs';
import { startRunner } from './lib/runner.mjs';

let s, browser, rx, runner, strict;
let meMissing = false; // the node predates GET /api/v1/auth/me: the console runs open and logs that 404
const creds = { login: 'admin', password: process.env.MOCKARTY_UI_PASSWORD || 'unused-in-local-mode' };

before(async () => {
  s = await startStack({ env: { AUTH_MODE: 'local' } });
  browser = await launch();
  rx = await startReceiver();
  meMissing = (await s.api('GET', '/api/v1/auth/me')).status === 404;
});

after(async () => {
  await runner?.stop().catch(() => {});
  await browser?.close();
  await rx?.close();
  await s?.stop();
});

async function open(path, opts = {}) {
  const r = await openConsole(browser, s, path, { ...creds, ...opts });
  await r.page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
  return r;
}

// The 404s a page may log that are not its fault (the caller names which) are dropped, the rest kept.
function settle(problems, extra) {
  if (meMissing) ignoreProblems(problems, /404/);
  if (extra) ignoreProblems(problems, extra);
  return problems;
}

test('create an integration and read its token once; a runner signs in with it; disable and delete', async () => {
  const { context, page, problems } = await open('settings/integrations');
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url });
  await axeCheck(page, 'integrations tab');
  await page.getByRole('button', { name: 'Create integration' }).click();
  const dlg = page.getByRole('dialog', { name: 'Create integration' });
  await dlg.getByLabel('Name', { exact: true }).fill('ui-runner');
  await dlg.getByLabel('Type').selectOption('test_runner');
  await axeCheck(page, 'create integration dialog');
  await dlg.getByRole('button', { name: 'Create integration' }).click();

  const shown = page.getByRole('dialog', { name: 'Integration created' });
  const secret = shown.locator('#secret-value');
  await secret.waitFor();
  const token = (await secret.textContent()).trim();
  assert.match(token, /^mki_/, 'the dialog shows the mki_ token');
  await assert.doesNotReject(shown.getByText(/not shown again/).waitFor(), 'the dialog says the token is shown once');
  await shown.getByRole('button', { name: 'Copy integration token' }).click();
  await shown.getByRole('button', { name: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token, 'Copy put the token on the clipboard');
  await axeCheck(page, 'integration token dialog');
  await page.evaluate(() => document.getElementById('toast')?.remove()); // a transient status line
  await matchScreenshot(page, 'settings-integrations', { mask: [page.locator('#secret-value'), page.locator('.when'), page.locator('#toast')] });

  await shown.getByRole('button', { name: 'Close' }).click();
  await shown.waitFor({ state: 'detached' }).catch(() => {});
  await page.getByRole('row', { name: /ui-runner/ }).waitFor();
  assert.ok(!(await page.content()).includes(token), 'after closing, the token is nowhere in the page');

  // the token works: a runner signs in to the coordinator with it and the node list shows it
  assert.equal(await s.psql("SELECT enabled::text || ' ' || type FROM mockarty_private.integrations WHERE name = 'ui-runner'"), 'true test_runner');
  runner = await startRunner({ COORDINATOR_ADDR: s.grpcAddr, API_TOKEN: token, RUNNER_NAME: 'ui-settings-runner', CAPABILITIES: 'api_test' });
  await waitUntil(async () => JSON.stringify((await s.api('GET', '/api/v1/nodes')).body).includes('ui-settings-runner'), 15000, 100, 'the runner on the node list');
  await runner.stop();
  runner = null;

  const row = page.getByRole('row', { name: /ui-runner/ });
  await row.getByRole('button', { name: 'Disable ui-runner' }).click();
  await row.getByText('disabled').waitFor();
  assert.equal(await s.psql("SELECT enabled FROM mockarty_private.integrations WHERE name = 'ui-runner'"), 'f');
  await row.getByRole('button', { name: 'Delete' }).click();
  await row.getByRole('button', { name: 'Delete ui-runner' }).click();
  await page.getByText('No integrations yet.').waitFor();
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.integrations WHERE name = 'ui-runner'"), '0');
  assert.deepEqual(settle(problems), []);
  await context.close();
});

test('an empty integration name is refused at its field and nothing is created', async () => {
  const { context, page, problems } = await open('settings/integrations');
  await page.getByRole('button', { name: 'Create integration' }).click();
  const dlg = page.getByRole('dialog', { name: 'Create integration' });
  await dlg.getByRole('button', { name: 'Create integration' }).click();
  await dlg.getByRole('alert').first().waitFor();
  assert.match(await dlg.getByRole('alert').first().textContent(), /name/i);
  await axeCheck(page, 'create integration dialog with an error');
  await page.keyboard.press('Escape');
  await dlg.waitFor({ state: 'hidden' }); // Esc closes the dialog
  assert.equal(await s.psql('SELECT count(*) FROM mockarty_private.integrations'), '0');
  // by keyboard alone: focus the create button, Enter opens the dialog with focus inside it
  await page.getByRole('button', { name: 'Create integration' }).focus();
  await page.keyboard.press('Enter');
  await dlg.waitFor();
  assert.ok(await dlg.evaluate((d) => d.contains(document.activeElement)), 'focus moved into the dialog');
  await page.keyboard.press('Escape');
  await dlg.waitFor({ state: 'hidden' });
  assert.deepEqual(settle(problems, /400/), []);
  await context.close();
});

test('create an API token, see it once, disable it (refused at once), enable, delete', async () => {
  const { context, page, problems } = await open('settings/tokens');
  await axeCheck(page, 'API tokens tab');
  await page.getByRole('button', { name: 'Create API token' }).click();
  const dlg = page.getByRole('dialog', { name: 'Create API token' });
  await dlg.getByLabel('Name', { exact: true }).fill('ui-ci');
  await dlg.getByLabel('Namespace').selectOption('sandbox');
  await dlg.getByRole('button', { name: 'Create token' }).click();
  const shown = page.getByRole('dialog', { name: 'API token created' });
  const token = (await shown.locator('#secret-value').textContent()).trim();
  assert.match(token, /^mk_/);
  await shown.getByRole('button', { name: 'Copy API token' }).waitFor();
  await axeCheck(page, 'API token dialog');
  await shown.getByRole('button', { name: 'Close' }).click();
  assert.ok(!(await page.content()).includes(token));

  // the console's node runs open (AUTH_MODE=local): check the token on a node that asks for one
  strict = strict || (await s.spawnAdmin({ AUTH_MODE: 'full' }));
  const call = () => s.fetch('/api/v1/mocks', { token, base: strict.url });
  assert.equal((await s.fetch('/api/v1/mocks', { token: null, base: strict.url })).status, 401, 'the strict node asks for a token');
  assert.equal((await call()).status, 200, 'the new token works');
  const row = page.getByRole('row', { name: /ui-ci/ });
  await row.getByRole('button', { name: 'Disable ui-ci' }).click();
  await row.getByText('disabled').waitFor();
  assert.equal((await call()).status, 401, 'a disabled token is refused');
  await row.getByRole('button', { name: 'Enable ui-ci' }).click();
  await row.getByText('enabled').waitFor();
  // a refusal may be cached for the token cache's TTL; the enabled token works again after it
  await waitUntil(async () => (await call()).status === 200, 15000, 100, 'the re-enabled token works');
  await row.getByRole('button', { name: 'Delete' }).click();
  await row.getByRole('button', { name: 'Delete ui-ci' }).click();
  await row.waitFor({ state: 'detached' });
  assert.equal((await call()).status, 401, 'a deleted token is refused');
  assert.deepEqual(settle(problems), []);
  await context.close();
});

test('subscribe a webhook to a failing receiver and retry a delivery by hand', async () => {
  // one attempt per delivery, so the first 500 makes it failed at once
  await s.psql("SELECT mockarty.setting_set('webhook_retry_schedule', '0')");
  rx.script('/hook', [500]);
  const { page, context, problems } = await open('settings/webhooks');
  await axeCheck(page, 'webhooks tab (empty)');
  await page.getByRole('button', { name: 'Create webhook' }).click();
  const dlg = page.getByRole('dialog', { name: 'Create webhook' });
  await dlg.getByLabel('URL').fill('not a url');
  await dlg.getByRole('button', { name: 'Create webhook' }).click();
  await dlg.locator('#wh-url-error').waitFor();
  assert.match(await dlg.locator('#wh-url-error').textContent(), /url/i, 'a bad URL is named at its field');
  await dlg.getByLabel('URL').fill(rx.url + '/hook');
  await dlg.getByLabel('mock.created').check();
  await dlg.getByLabel('Secret').fill('s3cret-ui');
  await axeCheck(page, 'create webhook dialog');
  await dlg.getByRole('button', { name: 'Create webhook' }).click();
  const row = page.getByRole('row', { name: /\/hook/ });
  await row.waitFor();
  assert.equal(await s.psql("SELECT events::text || ' ' || (secret IS NOT NULL)::text FROM mockarty_private.webhooks"), '{mock.created} true');

  // an event: a mock created through the API
  const m = await s.api('POST', '/api/v1/mocks', { id: 'ui-hook', http: { route: '/ui-hook' }, response: { payload: { ok: true } } });
  assert.equal(m.status, 200, m.text);
  await row.getByRole('button', { name: /^Deliveries/ }).click();
  const failed = page.getByRole('row', { name: /mock\.created.*failed/ });
  await failed.waitFor({ timeout: 20000 });
  assert.match(await failed.textContent(), /500/, 'the last HTTP code is shown');
  await failed.getByRole('button', { name: /^Attempts/ }).click();
  const attempts = page.getByRole('table', { name: /Attempts of delivery/ });
  await attempts.waitFor();
  assert.match(await attempts.textContent(), /500/);
  await axeCheck(page, 'delivery history with attempts');
  await page.evaluate(() => document.getElementById('toast')?.remove()); // a transient status line
  await matchScreenshot(page, 'settings-webhooks', { mask: [page.locator('.when'), page.locator('.hook-url'), page.locator('#toast')] });

  await failed.getByRole('button', { name: /^Retry/ }).click();
  await page.getByRole('row', { name: /mock\.created.*succeeded/ }).waitFor({ timeout: 20000 });
  assert.match(await attempts.textContent(), /yes/, 'the manual attempt is marked as by hand');
  const got = rx.requests('/hook');
  assert.equal(got.length, 2, 'the receiver saw the failed attempt and the retry');
  assert.equal(got[1].headers['x-mockarty-delivery'], got[0].headers['x-mockarty-delivery'], 'same delivery id on the retry');

  // edit (disable through the form), then delete with a confirmation
  await row.getByRole('button', { name: /^Edit/ }).click();
  const edit = page.getByRole('dialog', { name: 'Edit webhook' });
  await edit.getByLabel('Enabled').uncheck();
  await edit.getByRole('button', { name: 'Save webhook' }).click();
  await row.getByText('disabled').waitFor();
  assert.equal(await s.psql('SELECT enabled FROM mockarty_private.webhooks'), 'f');
  await row.getByRole('button', { name: 'Delete', exact: true }).click();
  await row.getByRole('button', { name: 'Delete webhook' }).click();
  await page.getByText('No webhooks yet.').waitFor();
  assert.equal(await s.psql('SELECT count(*) FROM mockarty_private.webhooks'), '0');
  await s.psql("SELECT mockarty.setting_set('webhook_retry_schedule', NULL)");
  assert.deepEqual(settle(problems, /400/), []);
  await context.close();
});

test('create a namespace: it is listed and offered by the namespace switcher', async () => {
  const { page, context, problems } = await open('settings/namespaces', { colorScheme: 'dark' });
  await axeCheck(page, 'namespaces tab (dark)');
  await page.getByLabel('New namespace').fill('ui-team');
  await page.getByRole('button', { name: 'Create namespace' }).click();
  await page.getByRole('cell', { name: 'ui-team' }).waitFor();
  await page.locator('#namespace-switch option[value="ui-team"]').waitFor({ state: 'attached' });
  assert.ok(JSON.stringify((await s.api('GET', '/api/v1/namespaces')).body).includes('ui-team'));
  await page.getByLabel('New namespace').fill('ui-team');
  await page.getByRole('button', { name: 'Create namespace' }).click();
  await page.locator('#ns-name-error').waitFor();
  assert.deepEqual(settle(problems, /409/), []);
  await context.close();
});

test('users and roles: create a viewer, give it a namespace role, reset its password, disable, delete', async () => {
  const { page, context, problems } = await open('settings/users');
  await page.getByRole('table', { name: 'Users' }).waitFor();
  await axeCheck(page, 'users tab');
  await page.getByRole('button', { name: 'Create user' }).click();
  const dlg = page.getByRole('dialog', { name: 'Create user' });
  await dlg.getByLabel('Login').fill('ui-viewer');
  await dlg.getByLabel('Password').fill('short');
  await dlg.getByLabel('System role').selectOption('viewer');
  await dlg.getByRole('button', { name: 'Create user' }).click();
  await dlg.locator('#user-password-error').waitFor();
  await dlg.getByLabel('Password').fill('viewer-pass-1');
  await axeCheck(page, 'create user dialog');
  await dlg.getByRole('button', { name: 'Create user' }).click();
  const row = page.getByRole('row', { name: /ui-viewer/ });
  await row.waitFor();
  const user = async () => ((await s.api('GET', '/api/v1/admin/users')).body.users || []).find((x) => x.login === 'ui-viewer');
  assert.equal((await user()).system_role, 'viewer');

  await row.getByRole('button', { name: 'Edit ui-viewer' }).click();
  const edit = page.getByRole('dialog', { name: 'User ui-viewer' });
  await edit.getByLabel('Role in sandbox').selectOption('editor');
  await edit.getByRole('button', { name: 'Save namespace roles' }).click();
  await waitUntil(async () => JSON.stringify((await user()).namespaces) === '[{"role":"editor","namespace":"sandbox"}]'
    || JSON.stringify((await user()).namespaces) === '[{"namespace":"sandbox","role":"editor"}]', 5000, 100, 'the namespace role saved');
  await edit.getByLabel('New password').fill('another-pass-2');
  await edit.getByRole('button', { name: 'Reset password' }).click();
  await waitUntil(async () => (await user()).requires_password_change === true, 5000, 100, 'the reset password asks for a change');
  await axeCheck(page, 'edit user dialog');
  await edit.getByRole('button', { name: 'Close' }).click();
  await row.getByText('sandbox: editor').waitFor();

  await row.getByRole('button', { name: 'Disable ui-viewer' }).click();
  await row.getByText('disabled').waitFor();
  assert.equal((await user()).enabled, false);
  await row.getByRole('button', { name: 'Delete', exact: true }).click();
  await row.getByRole('button', { name: 'Delete ui-viewer' }).click();
  await row.waitFor({ state: 'detached' });
  assert.equal(await user(), undefined);
  assert.deepEqual(settle(problems, /400/), []);
  await context.close();
});

test('a viewer signed in on a node that asks for sign-in sees no write control', async () => {
  strict = strict || (await s.spawnAdmin({ AUTH_MODE: 'full' }));
  const made = await s.api('POST', '/api/v1/admin/users', { login: 'ui-look', password: 'look-pass-1', system_role: 'viewer', namespaces: [{ namespace: 'sandbox', role: 'viewer' }], requires_password_change: false });
  assert.equal(made.status, 201, made.text);
  const { page, context, problems } = await openConsole(browser, { url: strict.url }, 'settings/webhooks', { login: 'ui-look', password: 'look-pass-1' });
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
  await page.locator('#whoami').getByText('(viewer)').waitFor();
  for (const tab of ['Integrations', 'API tokens', 'Webhooks', 'Users and roles', 'Namespaces']) {
    await page.getByRole('tab', { name: tab }).click();
    await page.getByRole('heading', { name: tab, level: 2 }).waitFor();
    await page.waitForLoadState('networkidle');
    for (const b of ['Create integration', 'Create API token', 'Create webhook', 'Create user', 'Create namespace', 'Delete', 'Disable', 'Retry']) {
      assert.equal(await page.getByRole('button', { name: b }).count(), 0, `${tab}: no "${b}" button for a viewer`);
    }
    await axeCheck(page, `${tab} as a viewer`);
  }
  // the admin-only lists refuse a viewer (403, or 404 where the API hides what a caller may not
  // see); each tab shows the API's message instead of a list
  ignoreProblems(problems, /40[134]/);
  assert.deepEqual(settle(problems), []);
  await context.close();
});
