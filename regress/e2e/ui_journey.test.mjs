// ui_journey.test.mjs - the guide's own steps, in Debian's chromium, on a node that asks for
// sign-in: sign in, Settings > Integrations > Create integration (type Resolver), read the mki_
// token the dialog shows once, start a mock resolver with that token, and watch it appear as
// connected on the Nodes page; then create a mock in the console and get it from the resolver.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitUntil } from './lib/harness.mjs';
import { startResolver } from './lib/resolver.mjs';
import { launch, openConsole, axeCheck } from './lib/browser.mjs';

let s, browser, resolver;
const PW = 'journey-admin-pw';

before(async () => {
  s = await startStack();
  // an admin who can sign in (the first-start password flow is ui_shell.test.mjs's)
  const r = await s.api('POST', '/api/v1/admin/users', { login: 'jo', password: PW, system_role: 'admin' });
  assert.equal(r.status, 201, r.text);
  browser = await launch();
});
after(async () => { await resolver?.stop().catch(() => {}); await browser?.close(); await s?.stop(); });

test('create a resolver integration in the console, start a resolver with its token, see it on Nodes, serve a mock made in the console', async () => {
  const { context, page, problems } = await openConsole(browser, s, 'settings/integrations', { login: 'jo', password: PW });
  await page.getByRole('button', { name: 'Create integration' }).click();
  const dlg = page.getByRole('dialog', { name: 'Create integration' });
  await dlg.getByLabel('Name', { exact: true }).fill('edge-resolver');
  await dlg.getByLabel('Type').selectOption('mock_resolver');
  await dlg.getByRole('button', { name: 'Create integration' }).click();
  const shown = page.getByRole('dialog', { name: 'Integration created' });
  const token = (await shown.locator('#secret-value').textContent()).trim();
  assert.match(token, /^mki_/);
  await shown.getByRole('button', { name: 'Close' }).click();
  await page.getByRole('row', { name: /edge-resolver/ }).waitFor();
  assert.equal(await page.getByText(token).count(), 0, 'the token is not on the page once the dialog is closed');

  resolver = await startResolver({ COORDINATOR_ADDR: s.grpcAddr, API_TOKEN: token, RESOLVER_NAME: 'edge-1' });

  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Nodes', exact: true }).click();
  const row = page.getByRole('table', { name: 'Resolvers' }).locator('tbody tr').filter({ hasText: 'edge-1' });
  await row.getByText('connected', { exact: true }).waitFor({ timeout: 15000 });
  assert.match(await row.textContent(), /edge-resolver/, 'the row names the integration whose token it uses');
  await axeCheck(page, 'nodes with the new resolver');

  // a mock created in the console reaches the resolver
  await page.goto(`${s.url}/ui/mocks/new`);
  await page.getByLabel('ID', { exact: false }).first().fill('journey-mock');
  await page.getByLabel('Route', { exact: false }).first().fill('/journey');
  await page.getByRole('button', { name: 'Create mock' }).click();
  await waitUntil(async () => (await resolver.get('/journey')).status === 200, 10000, 100, 'the resolver serves the mock made in the console');
  assert.deepEqual(problems, []);
  await context.close();
});
