// ui_testing_common.mjs - what the console's Imports, Stores, Nodes and Performance browser tests
// (ui_testing_*.test.mjs) share: one stack + one chromium per file, a page of the console opened
// as a user would (signed in when the node asks for it), and the end-of-test checks.
import assert from 'node:assert/strict';
import { startStack } from './lib/harness.mjs';
import { launch, openConsole } from './lib/browser.mjs';

// These journeys run the console open (AUTH_MODE=local); CONSOLE_LOGIN / CONSOLE_PASSWORD sign in
// instead. Sign-in itself is ui_shell.test.mjs's; viewers sign in for real in ui_testing_viewer.
export const LOGIN = process.env.CONSOLE_LOGIN ? { login: process.env.CONSOLE_LOGIN, password: process.env.CONSOLE_PASSWORD } : {};

export async function startUiStack(env = {}) {
  const s = await startStack({ env: { ...(LOGIN.login ? {} : { AUTH_MODE: 'local' }), ...env } });
  const browser = await launch();
  return { s, browser, async stop() { await browser.close().catch(() => {}); await s.stop(); } };
}

// The console at /ui/<path>, its page heading shown.
export async function open(ctx, path, opts = {}) {
  const r = await openConsole(ctx.browser, ctx.s, path, { ...LOGIN, ...opts });
  await r.page.locator('main.page h1').first().waitFor({ timeout: 15000 });
  return r;
}

export function assertNoProblems(problems) {
  assert.deepEqual(problems, [], 'console errors, page errors or 5xx answers');
}
