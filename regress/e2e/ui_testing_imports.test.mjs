// ui_testing_imports.test.mjs - the console's Imports page (/ui/imports, ui/admin/pages/imports.js)
// in chromium. What a user would notice: an OpenAPI document pasted in is previewed as a table of
// its operations (method, route, action) while nothing is written; Import writes them, the report
// counts them and links to each mock, and one of them answers on its route; a broken document
// is refused with its line named at the document field and nothing changes; WireMock mappings
// preview with their warnings' JSON pointers; a second import of the same document is all "skip";
// a .proto chosen as a file needs a server name, previews its method and is stored on Import.
// axe on every state shown, the preview's screenshot against testing-imports-preview.png, no
// console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { axeCheck, matchScreenshot } from './lib/browser.mjs';
import { waitUntil } from './lib/harness.mjs';
import { startUiStack, open, assertNoProblems } from './ui_testing_common.mjs';

const SPEC = `openapi: 3.0.3
info: { title: Pet store, version: "1.0" }
paths:
  /pets:
    get:
      operationId: listPets
      responses:
        "200":
          description: the pets
          content:
            application/json:
              example: [{ id: 1, name: Rex }]
    post:
      responses:
        "201": { description: created }
  /pets/{id}:
    get:
      parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
      responses:
        "200":
          description: one pet
          content:
            application/json:
              example: { id: 7, name: Tom }
`;

let ctx;
before(async () => { ctx = await startUiStack(); });
after(async () => { await ctx?.stop(); });

const mockCount = async () => (await ctx.s.api('GET', '/api/v1/mocks?limit=100')).body.total;

test('import a spec: preview table of its operations, Import, the mocks exist and one answers', async () => {
  const { page, problems } = await open(ctx, 'imports');
  await axeCheck(page, 'imports: empty form');
  await page.getByRole('textbox', { name: /^Document/ }).fill(SPEC);
  await page.getByRole('button', { name: 'Preview' }).click();
  const table = page.getByRole('table', { name: 'Operations the import would write' });
  await table.waitFor();
  const rows = table.locator('tbody tr');
  assert.equal(await rows.count(), 3, 'one row per operation');
  const cells = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent.trim()).join(' ')));
  assert.deepEqual(cells.sort(), ['GET /pets create', 'GET /pets/:id create', 'POST /pets create']);
  assert.match(await page.locator('#imp-prev-summary').textContent(), /^3 operation\(s\)/);
  assert.equal(await mockCount(), 0, 'a preview writes nothing');
  await axeCheck(page, 'imports: preview');
  await matchScreenshot(page, 'testing-imports-preview');

  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const report = page.locator('#import-report');
  await report.waitFor();
  assert.equal((await page.locator('#imp-created').textContent()).trim(), '3');
  const links = report.getByRole('table', { name: 'Mocks written by the import' }).getByRole('link');
  assert.equal(await links.count(), 3);
  const ids = await links.allTextContents();
  for (const id of ids) {
    const m = await ctx.s.api('GET', `/api/v1/mocks/${encodeURIComponent(id)}`);
    assert.equal(m.status, 200, `mock ${id} exists`);
    assert.equal(await links.filter({ hasText: id }).getAttribute('href'), `/ui/mocks/${id}`);
  }
  const served = await ctx.s.api('GET', '/pets/7', undefined, { token: null });
  assert.equal(served.status, 200, served.text);
  assert.deepEqual(served.body, { id: 7, name: 'Tom' });
  await axeCheck(page, 'imports: report');

  // the same document again: every operation is unchanged
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.locator('#import-preview').waitFor();
  const actions = await page.getByRole('table', { name: 'Operations the import would write' }).locator('tbody tr td:nth-child(3)').allTextContents();
  assert.deepEqual(actions.map((a) => a.trim()), ['skip', 'skip', 'skip']);

  // a report link opens the mock's page in the console
  await links.first().click();
  await page.waitForURL(/\/ui\/mocks\/oa-/);
  assertNoProblems(problems);
});

test('a broken document is refused at the document field with its line; nothing changes', async () => {
  const before = await mockCount();
  const { page, problems } = await open(ctx, 'imports');
  await page.getByRole('textbox', { name: /^Document/ }).fill('openapi: 3.0.0\npaths:\n  /x: [1\n');
  await page.getByRole('button', { name: 'Preview' }).click();
  const err = page.locator('#imp-text-error');
  await err.waitFor();
  assert.equal(await err.getAttribute('role'), 'alert');
  assert.match(await err.textContent(), /line \d+/);
  assert.equal(await page.getByRole('textbox', { name: /^Document/ }).getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByRole('button', { name: 'Import', exact: true }).isDisabled(), true, 'no Import without a preview');
  await axeCheck(page, 'imports: error at the document');
  assert.equal(await mockCount(), before);
  // chromium logs the 400 it was answered as a console error: the page caused it on purpose
  assertNoProblems(problems.filter((p) => !/status of 400/.test(p)));
});

test('WireMock mappings: the preview lists the warnings with their JSON pointer', async () => {
  const { page, problems } = await open(ctx, 'imports');
  await page.getByRole('radio', { name: 'WireMock mappings' }).check();
  await page.getByRole('textbox', { name: /^Document/ }).fill(JSON.stringify({
    mappings: [
      { request: { method: 'GET', url: '/wm/hello' }, response: { status: 200, body: 'hi' } },
      { request: { method: 'GET', urlPattern: '/wm/a.*' }, response: { status: 204 } },
    ],
  }));
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.locator('#import-preview').waitFor();
  assert.equal(await page.getByRole('table', { name: 'Operations the import would write' }).locator('tbody tr').count(), 2);
  assert.match(await page.locator('#import-preview .imp-warnings').textContent(), /\/mappings\/1\/request\/urlPattern/);
  await axeCheck(page, 'imports: WireMock preview with warnings');
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.locator('#import-report').waitFor();
  const r = await ctx.s.api('GET', '/wm/hello', undefined, { token: null });
  assert.equal(r.status, 200);
  assert.equal(r.text, 'hi');
  assertNoProblems(problems);
});

test('a gRPC .proto chosen as a file: a server name is required, then the preview lists the method and Import stores it', async () => {
  const { page, problems } = await open(ctx, 'imports');
  await page.getByRole('radio', { name: 'gRPC .proto' }).check();
  await page.getByLabel(/^File/).setInputFiles({
    name: 'greeter.proto', mimeType: 'text/plain',
    buffer: Buffer.from('syntax = "proto3";\npackage demo;\nservice Greeter { rpc Hello(HelloRequest) returns (HelloReply); }\nmessage HelloRequest { string name = 1; }\nmessage HelloReply { string text = 1; }\n'),
  });
  const proto = page.getByRole('textbox', { name: /^\.proto text/ });
  await waitUntil(async () => (await proto.inputValue()).includes('service Greeter'), 5000, 50, 'the file read into the editor');
  await page.getByRole('button', { name: 'Preview' }).click();
  const nameErr = page.locator('#imp-server-error');
  await nameErr.waitFor();
  assert.match(await nameErr.textContent(), /server name/);
  await page.getByRole('textbox', { name: /^Server name/ }).fill('greeter');
  await page.getByRole('button', { name: 'Preview' }).click();
  const table = page.getByRole('table', { name: 'Operations the import would write' });
  await table.waitFor();
  assert.equal(await table.locator('tbody tr').count(), 1);
  await axeCheck(page, 'imports: gRPC preview');
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.locator('#import-report').waitFor();
  assert.equal((await page.locator('#imp-created').textContent()).trim(), '1');
  const d = await ctx.s.api('GET', '/api/v1/grpc/descriptors/greeter');
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(d.body.files.map((f) => f.name), ['greeter.proto']);
  assertNoProblems(problems);
});

test('an OpenAPI document from a URL: a refused address is shown at the URL field, a served one previews', async () => {
  // the admin node serves the document itself, as a mock
  const m = await ctx.s.api('POST', '/api/v1/mocks', { id: 'spec-doc', http: { route: '/specs/users.json', httpMethod: 'GET' }, response: { statusCode: 200, payload: {
    openapi: '3.0.3', info: { title: 'Users', version: '2' },
    paths: { '/users/{id}': { get: { responses: { 200: { description: 'a user', content: { 'application/json': { example: { id: 1 } } } } } } } },
  } } });
  assert.equal(m.status, 200, m.text);
  const { page, problems } = await open(ctx, 'imports');
  await page.getByRole('radio', { name: 'A URL' }).check();
  const url = page.getByRole('textbox', { name: /^Document URL/ });
  await url.fill('ftp://example.invalid/spec.yaml');
  await page.getByRole('button', { name: 'Preview' }).click();
  const err = page.locator('#imp-url-error');
  await err.waitFor();
  assert.equal(await url.getAttribute('aria-invalid'), 'true');
  await axeCheck(page, 'imports: error at the URL');
  await url.fill(`${ctx.s.url}/specs/users.json`);
  await page.getByRole('button', { name: 'Preview' }).click();
  const table = page.getByRole('table', { name: 'Operations the import would write' });
  await table.waitFor();
  assert.deepEqual((await table.locator('tbody tr td:nth-child(2)').allTextContents()).map((t) => t.trim()), ['/users/:id']);
  assertNoProblems(problems.filter((p) => !/status of 400/.test(p)));
});
