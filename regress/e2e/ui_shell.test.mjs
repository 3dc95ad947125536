// ui_shell.test.mjs - the admin console as a whole, in Debian's chromium: the first sign-in with
// the one-time password the node logs, the password change it asks for, every page of the
// sidebar reachable with no console error and no WCAG 2 A/AA violation in light and dark theme,
// a viewer who sees no control that would change anything, and signing out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/harness.mjs';
import { launch, openPage, openConsole, signIn, axeCheck, matchScreenshot, ignoreProblems } from './lib/browser.mjs';

let s, browser, adminPw;
const NEW_PW = 'console-admin-pw-1';

// The sidebar, as a person sees it: [title, path]
const PAGES = [
  ['Mocks', 'mocks'], ['Undefined requests', 'undefined'], ['Imports', 'imports'], ['Stores', 'stores'],
  ['API tester', 'api-tester'], ['Performance', 'performance'], ['Nodes', 'nodes'], ['Settings', 'settings'],
];

before(async () => {
  s = await startStack();
  const line = s.admin.logs().split('\n').find((l) => l.includes('FIRST START'));
  assert.ok(line, 'the admin node logs the first start password');
  adminPw = /one-time password (\S+)/.exec(line)[1];
  browser = await launch();
});
after(async () => { await browser?.close(); await s?.stop(); });

test('first sign-in: a wrong password is refused at the form, the one-time password asks for a new one', async () => {
  const { context, page, problems } = await openPage(browser, `${s.url}/ui/`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await axeCheck(page, 'sign-in page');
  await matchScreenshot(page, 'shell-signin');

  await signIn(page, 'admin', 'not-the-password');
  await assert.doesNotReject(page.getByRole('alert').filter({ hasText: /./ }).first().waitFor({ timeout: 5000 }));
  assert.equal(await page.locator('nav.sidebar').count(), 0, 'a wrong password does not open the console');

  await signIn(page, 'admin', adminPw);
  await page.getByLabel('New password').waitFor();
  await axeCheck(page, 'password change form');
  await page.getByLabel('New password').fill(NEW_PW);
  await page.getByRole('button', { name: 'Set password and continue' }).click();
  await page.locator('nav.sidebar').waitFor();
  assert.match(await page.locator('#whoami').innerText(), /admin \(admin\)/);

  // the session is a real one: the API answers the browser's cookie, and the old password is gone
  const me = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status);
  assert.equal(me, 200);
  const old = await fetch(`${s.url}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login: 'admin', password: adminPw }) });
  assert.equal(old.status, 401, 'the one-time password works once');
  // the 401s of /auth/me before signing in and of the wrong password are expected
  ignoreProblems(problems, /401/);
  assert.deepEqual(problems, []);
  await context.close();
});

for (const scheme of ['light', 'dark']) {
  test(`every page of the sidebar opens, with no console error and no accessibility violation (${scheme})`, async () => {
    const { context, page, problems } = await openConsole(browser, s, '', { login: 'admin', password: NEW_PW, colorScheme: scheme });
    for (const [title, path] of PAGES) {
      // by keyboard: focus the sidebar link and press Enter
      await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: title, exact: true }).focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(`**/ui/${path}`);
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      assert.equal(await page.getByRole('link', { name: title, exact: true }).getAttribute('aria-current'), 'page');
      // let the page's first requests settle before scanning
      await page.waitForLoadState('networkidle');
      await axeCheck(page, `${title} (${scheme})`);
    }
    ignoreProblems(problems, /401/);
    assert.deepEqual(problems, []);
    await context.close();
  });
}

test('theme switch, unknown page, deep link after reload', async () => {
  const { context, page, problems } = await openConsole(browser, s, 'nodes', { login: 'admin', password: NEW_PW });
  await page.getByRole('combobox', { name: 'Theme' }).selectOption('dark');
  // the switch applies the theme after the render that follows the choice
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark', null, { timeout: 5000 });
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(bg, 'rgb(245, 246, 248)', 'the dark theme changes the page colours');
  await page.reload();
  await page.locator('nav.sidebar').waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'the choice is kept');
  assert.match(page.url(), /\/ui\/nodes$/);
  await page.goto(`${s.url}/ui/no-such-page`);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  await page.getByRole('combobox', { name: 'Theme' }).selectOption('system');
  ignoreProblems(problems, /401/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a viewer sees every page but no control that would change anything', async () => {
  const r = await s.api('POST', '/api/v1/admin/users', {
    login: 'vera', password: 'vera-viewer-pw', system_role: 'viewer', namespaces: [{ namespace: 'sandbox', role: 'viewer' }],
  });
  assert.equal(r.status, 201, r.text);
  await s.api('POST', '/api/v1/mocks', { id: 'shell-viewer-mock', http: { route: '/shell-viewer', method: 'GET' }, response: { payload: { ok: true } } });
  const { context, page, problems } = await openConsole(browser, s, '', { login: 'vera', password: 'vera-viewer-pw' });
  assert.match(await page.locator('#whoami').innerText(), /vera \(viewer\)/);
  const writeWords = /^(create|new|add|save|delete|remove|import|restore|purge|retry|start|run|disable|enable|ignore|edit|upload)\b/i;
  for (const [title, path] of PAGES) {
    await page.goto(`${s.url}/ui/${path}`);
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    await page.waitForLoadState('networkidle');
    const names = await page.locator('main button:visible:not([disabled]), main [role=button]:visible').allInnerTexts();
    const writes = names.map((n) => n.trim()).filter((n) => writeWords.test(n));
    assert.deepEqual(writes, [], `${title}: a viewer is offered ${writes.join(', ')}`);
  }
  ignoreProblems(problems, /401|403/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('signing out ends the session: the old cookie no longer works', async () => {
  const { context, page, problems } = await openConsole(browser, s, 'mocks', { login: 'admin', password: NEW_PW });
  const cookie = (await context.cookies()).find((c) => c.name === 'mockarty_session');
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', JSON.stringify(cookie));
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  const after = await fetch(`${s.url}/api/v1/auth/me`, { headers: { Cookie: `mockarty_session=${cookie.value}` } });
  assert.equal(after.status, 401);
  ignoreProblems(problems, /401/);
  assert.deepEqual(problems, []);
  await context.close();
});
