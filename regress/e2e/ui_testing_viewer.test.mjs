// ui_testing_viewer.test.mjs - a viewer on the Imports, Stores, Nodes and Performance pages sees
// the data but no control that would change anything (the REST API refuses a viewer's writes
// anyway: auth_session.test.mjs, authz.test.mjs). A real viewer (system role viewer, viewer of
// sandbox) signs in on a second admin node of the same database that asks for sign-in. axe on
// each viewer page, and on each page in the dark theme; no console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openConsole, axeCheck } from './lib/browser.mjs';
import { startUiStack, open, assertNoProblems } from './ui_testing_common.mjs';

let ctx, signed;
before(async () => {
  ctx = await startUiStack();
  const u = await ctx.s.api('POST', '/api/v1/admin/users', {
    login: 'vera', password: 'vera-viewer-pw', system_role: 'viewer', namespaces: [{ namespace: 'sandbox', role: 'viewer' }],
  });
  assert.equal(u.status, 201, u.text);
  signed = await ctx.s.spawnAdmin({ AUTH_MODE: 'full' });
  await ctx.s.api('POST', '/api/v1/stores/global', { key: 'k', value: 1 });
  await ctx.s.api('POST', '/api/v1/mocks', { id: 'v1', http: { route: '/v1' }, response: { payload: 'x' } });
});
after(async () => { await ctx?.stop(); });

async function asViewer(path) {
  const r = await openConsole(ctx.browser, { url: signed.url }, path, { login: 'vera', password: 'vera-viewer-pw' });
  await r.page.locator('main.page h1').first().waitFor();
  assert.match(await r.page.locator('#whoami').textContent(), /vera \(viewer\)/);
  return r;
}

test('a viewer sees no write control on Imports, Stores, Nodes and Performance', async () => {
  const imp = await asViewer('imports');
  await imp.page.getByText('your role in namespace').waitFor();
  assert.equal(await imp.page.getByRole('button', { name: 'Preview' }).count(), 0);
  assert.equal(await imp.page.getByRole('button', { name: 'Import', exact: true }).count(), 0);
  await axeCheck(imp.page, 'imports as a viewer');
  assertNoProblems(imp.problems);

  const st = await asViewer('stores');
  await st.page.getByRole('table', { name: 'Global store' }).waitFor();
  for (const name of ['Add a key', 'Edit k', 'Delete k']) assert.equal(await st.page.getByRole('button', { name }).count(), 0, name);
  await axeCheck(st.page, 'stores as a viewer');
  assertNoProblems(st.problems);

  const pf = await asViewer('performance');
  await pf.page.getByText('Your role in namespace sandbox is viewer').waitFor();
  assert.equal(await pf.page.getByRole('button', { name: 'Start load test' }).count(), 0);
  assert.equal(await pf.page.getByRole('button', { name: 'Delete' }).count(), 0);
  await axeCheck(pf.page, 'performance as a viewer');
  assertNoProblems(pf.problems);

  const nd = await asViewer('nodes');
  await nd.page.locator('#nodes-empty').waitFor();
  assert.equal(await nd.page.locator('main.page button').count(), 0, 'the Nodes page has no button at all');
  assertNoProblems(nd.problems);
});

test('the four pages pass axe in the dark theme too', async () => {
  for (const path of ['imports', 'stores', 'nodes', 'performance']) {
    const r = await open(ctx, path, { colorScheme: 'dark' });
    await r.page.waitForLoadState('networkidle');
    assert.equal(await r.page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches), true);
    await axeCheck(r.page, `${path} (dark)`);
    assertNoProblems(r.problems);
    await r.context.close();
  }
});
