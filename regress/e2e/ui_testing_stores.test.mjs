// ui_testing_stores.test.mjs - the console's Stores page (/ui/stores, ui/admin/pages/stores.js) in
// chromium. What a user would notice: the global store's keys and JSON values as a table; a value
// edited in the JSON editor is what the REST API then returns (and a syntax error is shown at its
// line and column while Save stays off); a key added and one deleted (after a confirmation) are so
// through the API; a chain id known from the mocks is offered and its store edited the same way.
// axe with the dialog open too, the screenshot testing-stores, no console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { axeCheck, matchScreenshot } from './lib/browser.mjs';
import { startUiStack, open, assertNoProblems } from './ui_testing_common.mjs';

let ctx;
before(async () => {
  ctx = await startUiStack();
  for (const [key, value] of [['greeting', 'hello'], ['counter', 1], ['user', { id: 42, roles: ['admin', 'dev'] }]]) {
    const r = await ctx.s.api('POST', '/api/v1/stores/global', { key, value });
    assert.equal(r.status, 200, r.text);
  }
});
after(async () => { await ctx?.stop(); });

const globalStore = async () => (await ctx.s.api('GET', '/api/v1/stores/global')).body;

test('global store: edit a value in the JSON editor, add a key, delete one; the API sees each change', async () => {
  const { page, problems } = await open(ctx, 'stores');
  const table = page.getByRole('table', { name: 'Global store' });
  await table.waitFor();
  assert.equal(await table.locator('tbody tr').count(), 3);
  await axeCheck(page, 'stores: global');
  await matchScreenshot(page, 'testing-stores');

  await page.getByRole('button', { name: 'Edit counter' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit counter' });
  await dialog.waitFor();
  const value = dialog.getByRole('textbox', { name: /^Value/ });
  await value.fill('{"n": 42,');
  const err = dialog.locator('#store-value-error');
  await err.waitFor();
  assert.match(await err.textContent(), /line 1, column \d+/);
  assert.equal(await dialog.getByRole('button', { name: 'Save' }).isDisabled(), true);
  await axeCheck(page, 'stores: edit dialog with a JSON error');
  await value.fill('{"n": 42}');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.deepEqual((await globalStore()).counter, { n: 42 });
  await table.getByText('"n": 42').waitFor();

  await page.getByRole('button', { name: 'Add a key' }).click();
  const add = page.getByRole('dialog', { name: 'Add a key' });
  await add.getByRole('textbox', { name: 'Key' }).fill('added');
  await add.getByRole('textbox', { name: /^Value/ }).fill('[1, 2, 3]');
  await add.getByRole('button', { name: 'Save' }).click();
  await add.waitFor({ state: 'hidden' });
  assert.deepEqual((await globalStore()).added, [1, 2, 3]);

  await page.getByRole('button', { name: 'Delete greeting' }).click();
  assert.equal((await globalStore()).greeting, 'hello', 'nothing deleted before the confirmation');
  await page.getByRole('button', { name: 'Delete greeting for good' }).click();
  await table.locator('tbody tr').filter({ hasText: 'greeting' }).waitFor({ state: 'detached' });
  const after = await globalStore();
  assert.equal('greeting' in after, false);
  assert.deepEqual(Object.keys(after).sort(), ['added', 'counter', 'user']);
  assertNoProblems(problems);
});

test('chain store: the chain id is offered from the mocks, its value edited through the UI', async () => {
  const m = await ctx.s.api('POST', '/api/v1/mocks', { id: 'order-step-1', chainId: 'order-flow', http: { route: '/orders', httpMethod: 'POST' }, response: { statusCode: 201, payload: { ok: true } } });
  assert.equal(m.status, 200, m.text);
  const c = await ctx.s.api('POST', '/api/v1/stores/chain/order-flow', { key: 'orderId', value: 'A-1' });
  assert.equal(c.status, 200, c.text);

  const { page, problems } = await open(ctx, 'stores');
  await page.getByRole('tab', { name: 'Chain stores' }).click();
  await page.getByRole('button', { name: 'order-flow' }).click();
  await page.waitForURL(/\/ui\/stores\/chain\/order-flow$/);
  const table = page.getByRole('table', { name: 'Store of chain order-flow' });
  await table.waitFor();
  await axeCheck(page, 'stores: chain');
  await page.getByRole('button', { name: 'Edit orderId' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit orderId' });
  await dialog.getByRole('textbox', { name: /^Value/ }).fill('"B-2"');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.deepEqual((await ctx.s.api('GET', '/api/v1/stores/chain/order-flow')).body, { orderId: 'B-2' });
  // a chain id typed in opens that chain's (empty) store
  await page.getByLabel(/^Chain id/).fill('no-such-chain');
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByRole('table', { name: 'Store of chain no-such-chain' }).or(page.getByText('This store is empty')).first().waitFor();
  assertNoProblems(problems);
});
