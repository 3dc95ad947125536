// browser.mjs - drives Debian's chromium with playwright-core for the console's browser tests
// (regress/e2e/ui_*.test.mjs). Never downloads a browser: scripts/install-deps.sh installs the
// `chromium` package, and this file fails with a clear message when /usr/bin/chromium is absent.
//
//   import { launch, openPage, signIn, axeCheck, matchScreenshot } from './lib/browser.mjs';
//   const browser = await launch();
//   const { page, problems } = await openPage(browser, s.url + '/ui/');
//   await signIn(page, 'admin', 'password');
//   await axeCheck(page, 'mocks page');                 // throws listing every WCAG 2 A/AA violation
//   await matchScreenshot(page, 'mocks', { mask: [page.locator('#rps-chart')] });
//   assert.deepEqual(problems, []);                      // console errors and page errors
//
// Screenshots are compared with the committed references in regress/e2e/screenshots/<name>.png
// (pixelmatch); UPDATE_SCREENSHOTS=1 writes the references instead (review them before
// committing). The last actual image and a diff image go to $REGRESS_OUT-screenshots (or
// mockarty-screenshots in the system temp dir) so a failure can be looked at.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
export const screenshotDir = path.resolve(here, '../screenshots');
// beside, not inside, $REGRESS_OUT: pg_regress (run as postgres) empties that folder
const outDir = process.env.REGRESS_OUT ? `${process.env.REGRESS_OUT}-screenshots` : path.join(os.tmpdir(), 'mockarty-screenshots');

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export async function launch() {
	if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-deps.sh (Debian package chromium)`);
	const { chromium } = require('playwright-core');
	return chromium.launch({
		executablePath: CHROMIUM,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--font-render-hinting=none'],
	});
}

// openPage(browser, url, { colorScheme }) -> { context, page, problems }: a fresh context (its own
// cookies) with a fixed viewport; problems collects console errors, page errors and failed requests
// to our own origin, which every test asserts empty.
export async function openPage(browser, url, opts = {}) {
	const context = await browser.newContext({
		viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1,
		colorScheme: opts.colorScheme || 'light', reducedMotion: 'reduce', timezoneId: 'UTC', locale: 'en-US',
	});
	const page = await context.newPage();
	const problems = [];
	page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
	page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
	page.on('response', (r) => {
		// 4xx answers the page expects (a 401 before sign-in, a 404 the test provoked) are logged by
		// chromium as console errors too; the test filters those it caused with ignoreProblem().
		if (r.status() >= 500) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
	});
	if (url) await page.goto(url);
	return { context, page, problems };
}

// Drops the expected entries (e.g. the 401 of /api/v1/auth/me before signing in) from problems.
export function ignoreProblems(problems, re) {
	for (let i = problems.length - 1; i >= 0; i--) if (re.test(problems[i])) problems.splice(i, 1);
}

export async function signIn(page, login, password) {
	await page.getByLabel('Login').fill(login);
	await page.getByLabel('Password', { exact: true }).fill(password);
	await page.getByRole('button', { name: 'Sign in' }).click();
}

// axeCheck(page, what): runs axe-core's WCAG 2 A and AA rules on the page as it is now and throws
// listing each violation (rule, impact, the first nodes' selectors) when there is any.
export async function axeCheck(page, what) {
	// evaluated through the DevTools protocol, not as a <script> tag: the console's CSP (script-src
	// 'self') rightly refuses inline scripts, and the scan must not weaken it
	const has = await page.evaluate(() => typeof window.axe === 'object');
	if (!has) await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8') + ';0');
	const res = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'], resultTypes: ['violations'] }));
	if (res.violations.length) {
		const lines = res.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
		throw new Error(`${what}: ${res.violations.length} accessibility violation(s):\n  ${lines.join('\n  ')}`);
	}
	return res;
}

// matchScreenshot(page, name, { mask, maxDiffRatio }): compares a full-page screenshot with the
// reference; differences above maxDiffRatio (default 0.2 % of the pixels, anti-aliasing ignored)
// throw naming the files to look at.
export async function matchScreenshot(page, name, opts = {}) {
	const { PNG } = require('pngjs');
	const pixelmatch = require('pixelmatch');
	fs.mkdirSync(outDir, { recursive: true });
	const buf = await page.screenshot({ fullPage: true, animations: 'disabled', caret: 'hide', mask: opts.mask || [], maskColor: '#888888' });
	const actualPath = path.join(outDir, `${name}.png`);
	fs.writeFileSync(actualPath, buf);
	const refPath = path.join(screenshotDir, `${name}.png`);
	if (process.env.UPDATE_SCREENSHOTS === '1') {
		fs.mkdirSync(screenshotDir, { recursive: true });
		fs.writeFileSync(refPath, buf);
		return { updated: true };
	}
	if (!fs.existsSync(refPath)) throw new Error(`no reference screenshot ${refPath} (actual: ${actualPath}); run with UPDATE_SCREENSHOTS=1 and review it`);
	const a = PNG.sync.read(buf);
	const b = PNG.sync.read(fs.readFileSync(refPath));
	if (a.width !== b.width || a.height !== b.height) {
		throw new Error(`screenshot ${name}: size ${a.width}x${a.height} differs from the reference ${b.width}x${b.height} (actual: ${actualPath})`);
	}
	const diff = new PNG({ width: a.width, height: a.height });
	const n = pixelmatch(a.data, b.data, diff.data, a.width, a.height, { threshold: 0.15 });
	const ratio = n / (a.width * a.height);
	if (ratio > (opts.maxDiffRatio ?? 0.002)) {
		const diffPath = path.join(outDir, `${name}.diff.png`);
		fs.writeFileSync(diffPath, PNG.sync.write(diff));
		throw new Error(`screenshot ${name}: ${n} pixels (${(ratio * 100).toFixed(2)} %) differ from ${refPath} (actual: ${actualPath}, diff: ${diffPath})`);
	}
	return { diffPixels: n, ratio };
}

// openConsole(browser, s, pagePath, opts) -> { context, page, problems }: the admin console of
// stack s at /ui/<pagePath>, signed in as opts.login/opts.password when the node asks for it
// (a node started with AUTH_MODE=local does not).
export async function openConsole(browser, s, pagePath = '', opts = {}) {
	const r = await openPage(browser, `${s.url}/ui/${pagePath}`, opts);
	const form = r.page.getByRole('button', { name: 'Sign in' });
	const shell = r.page.locator('nav.sidebar');
	await Promise.race([form.waitFor({ timeout: 15000 }), shell.waitFor({ timeout: 15000 })]);
	if (await form.isVisible()) {
		if (!opts.login) throw new Error('the console asks for a sign-in: pass { login, password }');
		ignoreProblems(r.problems, /401/);
		await signIn(r.page, opts.login, opts.password);
		await shell.waitFor({ timeout: 15000 });
	}
	return r;
}
