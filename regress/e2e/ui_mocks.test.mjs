// ui_mocks.test.mjs - the console's Mocks and Undefined requests pages in a real browser
// (Debian chromium via playwright-core): the journeys a person takes, each checked through the
// REST API or the mock traffic itself, axe-core WCAG 2 A/AA on every page and state shown,
// screenshots compared with regress/e2e/screenshots/mocks-*.png (UPDATE_SCREENSHOTS=1 rewrites
// them), and no console problem.
//
// The stack runs with AUTH_MODE=local (the console is open); openConsole() signs in when a node
// asks for it. The viewer test answers /api/v1/auth/me itself with a viewer user: it checks what
// the page shows a viewer; the REST API's refusal of a viewer's writes is tested in authz.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitUntil } from './lib/harness.mjs';
import { launch, openConsole, axeCheck, matchScreenshot, ignoreProblems } from './lib/browser.mjs';

let s, browser, noAuthMe;
const pages = [];

// Opens the console at pagePath; problems of every page are checked at the end.
async function open(pagePath, opts = {}) {
  const r = await openConsole(browser, s, pagePath, opts);
  // the 404 of /api/v1/auth/me on a node without sign-in (the console then runs open) is
  // expected; every other 404 the page causes is a problem
  r.expected404 = noAuthMe ? 1 : 0; // the first load's, before this listener
  r.page.on('response', (res) => { if (res.status() === 404 && /\/api\/v1\/auth\/me$/.test(res.url())) r.expected404++; });
  pages.push(r);
  return r;
}

const mockTraffic = (p, init) => fetch(s.url + p, init);
const getMock = (id) => s.api('GET', '/api/v1/mocks/' + id);

before(async () => {
  s = await startStack({ env: { AUTH_MODE: 'local' } });
  browser = await launch();
  noAuthMe = (await s.fetch('/api/v1/auth/me')).status === 404;
  // fixed data: the list's screenshot depends on it
  let r = await s.api('POST', '/api/v1/mock-folders', { id: 'f-users', name: 'Users' });
  assert.equal(r.status, 201, r.text);
  const mocks = [
    { id: 'orders-create', http: { route: '/api/orders', httpMethod: 'POST' }, response: { statusCode: 201, payload: { ok: true } }, tags: ['orders'] },
    { id: 'user-get', folderId: 'f-users', http: { route: '/api/users/:id', httpMethod: 'GET' }, response: { statusCode: 200, payload: { id: '$.pathParam.id', kind: 'user' } }, tags: ['users', 'v1'] },
    { id: 'grpc-user', grpc: { service: 'user.UserService', method: 'GetUser', methodType: 'unary' }, response: { payload: { name: 'Ann' } }, tags: ['users'] },
    { id: 'kafka-router', kafka: { topic: 'orders.incoming', outputTopic: 'orders.processed' }, response: { payload: { status: 'ROUTED' } } },
    { id: 'old-mock', http: { route: '/old' }, response: { payload: 1 } },
  ];
  for (const m of mocks) {
    r = await s.api('POST', '/api/v1/mocks', m);
    assert.equal(r.status, 200, r.text);
  }
  assert.equal((await s.api('DELETE', '/api/v1/mocks/old-mock')).status, 200);
});

after(async () => {
  await browser?.close();
  await s?.stop();
});

test('list: protocol, method and route, tags, folder, status; search, tag, folder and deleted filters', async () => {
  const { page } = await open('mocks');
  const rows = page.getByRole('table', { name: 'Mocks' }).locator('tbody tr');
  await page.getByText('Showing 1–4 of 4 mocks').waitFor();
  assert.equal(await rows.count(), 4);
  const userRow = rows.filter({ hasText: 'user-get' });
  for (const t of ['HTTP', 'GET /api/users/:id', 'users', 'v1', 'Users', 'active']) assert.ok((await userRow.textContent()).includes(t), t);
  assert.ok((await rows.filter({ hasText: 'grpc-user' }).textContent()).includes('user.UserService/GetUser'));
  assert.ok((await rows.filter({ hasText: 'kafka-router' }).textContent()).includes('topic orders.incoming'));
  await axeCheck(page, 'mocks list');
  await matchScreenshot(page, 'mocks-list', { mask: [page.locator('.mk-time')] });

  await page.getByLabel('Search').fill('user');
  await page.getByText('Showing 1–2 of 2 mocks').waitFor();
  assert.deepEqual(await rows.locator('td:first-child').allTextContents(), ['grpc-user', 'user-get']);
  await page.getByLabel('Search').fill('');
  await page.getByText('Showing 1–4 of 4 mocks').waitFor();

  await page.getByLabel('Tag').selectOption('orders');
  await page.getByText('Showing 1–1 of 1 mock', { exact: true }).waitFor();
  assert.deepEqual(await rows.locator('td:first-child').allTextContents(), ['orders-create']);
  await page.getByLabel('Tag').selectOption('');
  await page.getByText('Showing 1–4 of 4 mocks').waitFor();

  await page.getByLabel('Folder').selectOption('f-users');
  await page.getByText('Showing 1–1 of 1 mock', { exact: true }).waitFor();
  assert.deepEqual(await rows.locator('td:first-child').allTextContents(), ['user-get']);
  await page.getByLabel('Folder').selectOption('*');
  await page.getByText('Showing 1–4 of 4 mocks').waitFor();

  await page.getByLabel('Show deleted').check();
  await page.getByText('Showing 1–5 of 5 mocks').waitFor();
  assert.ok((await rows.filter({ hasText: 'old-mock' }).textContent()).includes('deleted'));
  assert.ok(page.url().endsWith('/ui/mocks?deleted=1'), page.url());
  await page.close();
});

test('create a mock in the UI and call it', async () => {
  const { page } = await open('mocks');
  await page.getByRole('link', { name: 'New mock' }).click();
  await page.getByRole('heading', { name: 'New mock' }).waitFor();
  await page.locator('#mk-id').fill('hello');
  await page.getByLabel('Route').fill('/hello');
  await page.getByLabel('Tags').fill('demo, ui');
  const json = page.getByLabel('Mock (JSON)');
  const doc = JSON.parse(await json.inputValue());
  assert.deepEqual(doc.http, { route: '/hello', httpMethod: 'GET' }, 'the form writes into the JSON');
  assert.deepEqual(doc.tags, ['demo', 'ui']);
  doc.response = { statusCode: 200, payload: { greeting: 'hi from the UI' } };
  await json.fill(JSON.stringify(doc, null, 2));
  await axeCheck(page, 'mock editor (new)');
  await matchScreenshot(page, 'mocks-editor');
  await page.getByRole('button', { name: 'Create mock' }).click();
  await page.getByRole('heading', { name: 'Mock hello' }).waitFor();
  assert.ok(page.url().endsWith('/ui/mocks/hello'), page.url());

  const r = await mockTraffic('/hello');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { greeting: 'hi from the UI' });
  assert.deepEqual((await getMock('hello')).body.tags, ['demo', 'ui']);

  // the "new" form does not overwrite an existing mock of the same id
  await page.goto(s.url + '/ui/mocks/new');
  await page.locator('#mk-id').fill('hello');
  await page.getByLabel('Route').fill('/other');
  await page.getByRole('button', { name: 'Create mock' }).click();
  await page.locator('#mk-id-error').getByText('already exists').waitFor();
  assert.deepEqual((await getMock('hello')).body.http, { route: '/hello', httpMethod: 'GET' });
  await page.close();
});

test('a validation error is shown at its field and nothing is saved', async () => {
  const { page, problems } = await open('mocks/new');
  const json = page.getByLabel('Mock (JSON)');
  // an error in the JSON: shown under the JSON editor, naming the field path and its line
  await json.fill(JSON.stringify({ id: 'bad-one', http: { route: '/bad', conditions: [{ path: '$.a', assertAction: 'equalz' }] }, response: { payload: 1 } }, null, 2));
  await page.getByRole('button', { name: 'Create mock' }).click();
  const err = page.locator('#mk-json-error');
  await err.waitFor();
  const text = await err.textContent();
  assert.match(text, /unknown assertAction 'equalz'/);
  assert.match(text, /\$\.http\.conditions\[0\]\.assertAction/);
  assert.match(text, /line 8 of the JSON/);
  assert.equal(await json.getAttribute('aria-invalid'), 'true');
  assert.ok(await page.getByRole('alert').filter({ hasText: 'Not saved' }).count() > 0, 'announced');
  await axeCheck(page, 'mock editor with a validation error');
  assert.equal((await s.api('GET', '/api/v1/mocks?search=bad-one&includeDeleted=true')).body.total, 0);

  // an error of a form field: shown at that control
  await json.fill(JSON.stringify({ id: 'bad-one', http: { route: '/bad' }, response: { payload: 1 } }, null, 2));
  await page.getByLabel('Route').fill('no-slash');
  await page.getByRole('button', { name: 'Create mock' }).click();
  await page.locator('#mk-route-error').getByText("must start with '/'").waitFor();
  assert.equal(await page.getByLabel('Route').getAttribute('aria-invalid'), 'true');
  assert.equal((await s.api('GET', '/api/v1/mocks?search=bad-one&includeDeleted=true')).body.total, 0);

  // a JSON syntax error: line and column, nothing sent
  await json.fill('{\n  "id": "bad-two",\n  "http": {"route": "/x"\n}');
  await page.locator('#mk-json-error').getByText(/line 4, column/).waitFor();
  await page.getByRole('button', { name: 'Create mock' }).click();
  await page.getByRole('alert').getByText('Fix the JSON first').waitFor();
  assert.equal((await s.api('GET', '/api/v1/mocks?search=bad-two&includeDeleted=true')).body.total, 0);
  // the two 400 answers this test provoked (chromium logs them as console errors)
  assert.equal(problems.filter((p) => /status of 400/.test(p)).length, 2);
  ignoreProblems(problems, /status of 400/);
  await page.close();
});

test('edit a mock, see version 2, diff and restore version 1', async () => {
  const { page } = await open('mocks/hello');
  const json = page.getByLabel('Mock (JSON)');
  await json.waitFor();
  const doc = JSON.parse(await json.inputValue());
  doc.response.payload.greeting = 'hi, version 2';
  await json.fill(JSON.stringify(doc, null, 2));
  await page.getByRole('button', { name: 'Save' }).click();
  await waitUntil(async () => (await (await mockTraffic('/hello')).json()).greeting === 'hi, version 2', 5000, 50, 'the edit served');

  await page.getByRole('tab', { name: 'Versions' }).click();
  const table = page.getByRole('table', { name: 'Versions' });
  await table.getByText('2 (current)').waitFor();
  assert.equal(await table.locator('tbody tr').count(), 2);
  await page.getByRole('button', { name: 'Compare version 1' }).click();
  const diff = page.locator('.mk-diff-body');
  await diff.waitFor();
  const lines = await diff.locator('div').allTextContents();
  assert.ok(lines.some((l) => /^- .*"greeting": "hi from the UI"/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^\+ .*"greeting": "hi, version 2"/.test(l)), lines.join('\n'));
  await page.getByText('1 line added (+), 1 removed (−)').waitFor();
  await axeCheck(page, 'versions with a diff');

  await page.getByRole('button', { name: 'Restore version 1', exact: true }).click();
  await page.getByRole('button', { name: 'Restore version 1 now' }).click();
  await waitUntil(async () => (await (await mockTraffic('/hello')).json()).greeting === 'hi from the UI', 5000, 50, 'version 1 served again');
  await table.getByText('3 (current)').waitFor();
  await page.close();
});

test('soft delete and restore; purge after a confirmation', async () => {
  const { page } = await open('mocks/hello');
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: 'Delete (it can be restored)' }).click();
  await page.getByText('This mock is deleted').waitFor();
  assert.equal((await mockTraffic('/hello')).status, 404);
  assert.ok((await getMock('hello')).body.closedAt > 0);
  await page.getByRole('button', { name: 'Restore', exact: true }).click();
  await page.locator('.mk-head .badge.ok').getByText('active').waitFor();
  assert.equal((await mockTraffic('/hello')).status, 200);

  assert.equal((await s.api('POST', '/api/v1/mocks', { id: 'to-purge', http: { route: '/to-purge' }, response: { payload: 1 } })).status, 200);
  await page.goto(s.url + '/ui/mocks/to-purge');
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: 'Delete (it can be restored)' }).click();
  await page.getByRole('button', { name: 'Purge' }).click();
  assert.equal((await getMock('to-purge')).status, 200, 'the first click only asks');
  await page.getByRole('button', { name: 'Purge for good (no undo)' }).click();
  await page.getByRole('heading', { name: 'Mocks', exact: true }).waitFor();
  assert.equal((await getMock('to-purge')).status, 404);
  await page.close();
});

test('test this mock shows the answer; the request log shows it after a refresh', async () => {
  const { page } = await open('mocks/user-get');
  await page.getByRole('tab', { name: 'Test this mock' }).click();
  assert.equal(await page.getByLabel('Path').inputValue(), '/api/users/1', 'prefilled from the route');
  await page.getByLabel('Path').fill('/api/users/77');
  await page.getByRole('button', { name: 'Send request' }).click();
  await page.locator('#mk-t-status').getByText('200').waitFor();
  const body = JSON.parse(await page.locator('#mk-t-body-out').textContent());
  assert.deepEqual(body, { id: '77', kind: 'user' });
  assert.match(await page.locator('.mk-t-headers').textContent(), /content-type: application\/json/i);
  await axeCheck(page, 'test this mock with an answer');

  await page.getByRole('tab', { name: 'Request log' }).click();
  const entry = page.locator('.mk-log summary').filter({ hasText: '/api/users/77' });
  await waitUntil(async () => {
    if (await entry.count()) return true;
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('button', { name: 'Refresh' }).waitFor();
    return false;
  }, 10000, 300, 'the request in the log');
  assert.match(await entry.textContent(), /GET \/api\/users\/77 → 200/);
  await entry.click();
  await axeCheck(page, 'request log');
  await page.close();
});

test('undefined requests: an unknown path appears, a mock made from it answers', async () => {
  assert.equal((await mockTraffic('/nowhere/42', { headers: { Authorization: 'Bearer secret-value' } })).status, 404);
  assert.equal((await mockTraffic('/to/ignore')).status, 404);
  await waitUntil(async () => (await s.api('GET', '/api/v1/undefined-requests')).body.some((u) => u.path === '/to/ignore'), 5000, 50, 'captured');
  const { page } = await open('undefined');
  const table = page.getByRole('table', { name: 'Undefined requests' });
  const row = table.locator('tbody tr').filter({ hasText: '/nowhere/42' });
  await row.waitFor();
  await axeCheck(page, 'undefined list');
  await matchScreenshot(page, 'undefined-list', { mask: [page.locator('.mk-time')] });

  await row.getByRole('button', { name: /Details/ }).click();
  const headers = page.getByLabel('Headers of GET /nowhere/42');
  assert.match(await headers.textContent(), /authorization: \[redacted\]/i);
  assert.doesNotMatch(await headers.textContent(), /secret-value/);
  await axeCheck(page, 'undefined list with details open');

  await table.locator('tbody tr').filter({ hasText: '/to/ignore' }).getByRole('button', { name: /Ignore/ }).click();
  await table.locator('tbody tr').filter({ hasText: '/to/ignore' }).waitFor({ state: 'detached' });
  assert.ok((await s.api('GET', '/api/v1/undefined-requests')).body.find((u) => u.path === '/to/ignore').ignored);

  await row.getByRole('button', { name: /Create a mock/ }).click();
  await page.getByRole('heading', { name: /^Mock / }).waitFor();
  assert.match(page.url(), /\/ui\/mocks\/[^/]+$/);
  await page.getByLabel('Route').waitFor();
  assert.equal(await page.getByLabel('Route').inputValue(), '/nowhere/42');
  assert.equal((await mockTraffic('/nowhere/42')).status, 200);
  await page.close();
});

test('a viewer sees no write controls', async () => {
  // a real viewer signs in on a second node of the same database that asks for sign-in
  const u = await s.api('POST', '/api/v1/admin/users', { login: 'viewer1', password: 'viewer-pass-1', system_role: 'viewer', namespaces: [{ namespace: 'sandbox', role: 'viewer' }], requires_password_change: false });
  assert.equal(u.status, 201, u.text);
  const node = await s.spawnAdmin({ AUTH_MODE: 'full' });
  const base = node.url;
  const problems = [];
  const { context, page } = await openConsole(browser, { url: base }, 'mocks', { login: 'viewer1', password: 'viewer-pass-1' });
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.getByText('viewer1 (viewer)').waitFor();
  await page.getByRole('table', { name: 'Mocks' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'New mock' }).count(), 0);

  await page.goto(base + '/ui/mocks/hello');
  await page.getByRole('heading', { name: 'Mock hello' }).waitFor();
  await page.getByRole('heading', { name: 'Mock (JSON)' }).waitFor();
  for (const name of ['Save', 'Delete', 'Restore', 'Purge']) assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name);
  assert.equal(await page.locator('textarea, input').count(), 0, 'no editable control');
  await page.getByRole('tab', { name: 'Versions' }).click();
  await page.getByRole('table', { name: 'Versions' }).waitFor();
  assert.equal(await page.getByRole('button', { name: /^Restore version/ }).count(), 0);
  await page.getByRole('tab', { name: 'Request log' }).click();
  await page.getByRole('heading', { name: 'Request log' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Clear log' }).count(), 0);

  assert.equal((await mockTraffic('/viewer/miss')).status, 404);
  await waitUntil(async () => (await s.api('GET', '/api/v1/undefined-requests')).body.some((u) => u.path === '/viewer/miss'), 5000, 50, 'captured');
  await page.goto(base + '/ui/undefined');
  await page.getByRole('table', { name: 'Undefined requests' }).getByText('/viewer/miss', { exact: true }).waitFor();
  for (const name of [/Create a mock/, /^Ignore/, /^Delete/]) assert.equal(await page.getByRole('button', { name }).count(), 0, String(name));
  await axeCheck(page, 'undefined list as a viewer');
  assert.deepEqual(problems, []);
  await context.close();
});

test('every protocol: its template saves from the editor and the list shows it', async () => {
  const { page } = await open('mocks/new');
  const protocols = await page.getByLabel('Protocol').locator('option').evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
  assert.deepEqual(protocols.map((p) => p[1]), ['HTTP', 'gRPC', 'GraphQL', 'SOAP', 'MCP', 'SSE', 'WebSocket', 'Kafka', 'RabbitMQ', 'SMTP']);
  for (const [value] of protocols) {
    await page.goto(s.url + '/ui/mocks/new');
    await page.getByLabel('Protocol').selectOption(value);
    const doc = JSON.parse(await page.getByLabel('Mock (JSON)').inputValue());
    assert.ok(doc[value] && typeof doc[value] === 'object', `the ${value} template has its section`);
    await page.locator('#mk-id').fill('tpl-' + value);
    await page.getByRole('button', { name: 'Create mock' }).click();
    await page.getByRole('heading', { name: 'Mock tpl-' + value }).waitFor();
    const m = (await getMock('tpl-' + value)).body;
    assert.ok(m[value], `${value} saved with its section`);
  }
  await page.goto(s.url + '/ui/mocks?search=tpl-');
  await page.getByText('Showing 1–10 of 10 mocks').waitFor();
  await page.close();
});

test('namespace switch and paging: 55 mocks in another namespace, 50 a page', async () => {
  assert.equal((await s.api('POST', '/api/v1/namespaces', { name: 'paging' })).status, 201);
  const many = Array.from({ length: 55 }, (_, i) => ({ id: 'p-' + String(i).padStart(2, '0'), namespace: 'paging', http: { route: '/p/' + i }, response: { payload: i } }));
  assert.equal((await s.api('POST', '/api/v1/mocks/batch', many)).status, 201);
  const { page } = await open('mocks');
  await page.getByText('Showing 1–', { exact: false }).waitFor();
  await page.getByLabel('Namespace').selectOption('paging');
  await page.getByText('Showing 1–50 of 55 mocks').waitFor();
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.getByText('Showing 51–55 of 55 mocks').waitFor();
  assert.deepEqual(await page.getByRole('table', { name: 'Mocks' }).locator('tbody td:first-child').allTextContents(), ['p-50', 'p-51', 'p-52', 'p-53', 'p-54']);
  assert.ok(await page.getByRole('button', { name: 'Next page' }).isDisabled(), await page.locator('main').innerHTML());
  await axeCheck(page, 'mocks list, second page');
  await page.getByLabel('Namespace').selectOption('sandbox');
  await page.getByText('Showing 1–', { exact: false }).waitFor();
  await page.close();
});

test('dark theme: list, editor with an error, versions diff and undefined list pass axe', async () => {
  const { page } = await open('mocks?deleted=1', { colorScheme: 'dark' });
  await page.getByRole('table', { name: 'Mocks' }).getByText('old-mock').waitFor();
  await axeCheck(page, 'mocks list (dark)');
  await page.goto(s.url + '/ui/mocks/new');
  await page.getByLabel('Route').fill('no-slash');
  await page.getByRole('button', { name: 'Create mock' }).click();
  await page.locator('#mk-route-error').waitFor();
  await axeCheck(page, 'mock editor with an error (dark)');
  ignoreProblems(pages[pages.length - 1].problems, /status of 400/);
  await page.goto(s.url + '/ui/mocks/hello?tab=versions');
  await page.getByRole('button', { name: 'Compare version 1' }).click();
  await page.locator('.mk-diff-body').waitFor();
  await axeCheck(page, 'versions diff (dark)');
  await page.goto(s.url + '/ui/undefined');
  await page.getByRole('table', { name: 'Undefined requests' }).waitFor();
  await axeCheck(page, 'undefined list (dark)');
  await page.close();
});

test('no console problems on any page opened', () => {
  for (const r of pages) {
    let n = r.expected404;
    for (let i = r.problems.length - 1; i >= 0 && n > 0; i--) {
      if (/status of 404/.test(r.problems[i])) { r.problems.splice(i, 1); n--; }
    }
  }
  assert.deepEqual(pages.flatMap((r) => r.problems), []);
});
