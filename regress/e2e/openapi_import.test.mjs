// openapi_import.test.mjs - OpenAPI import end to end: the mockarty-import CLI turns our own
// fixtures (regress/openapi: every edge case of the research notes, Swagger 2.0, OpenAPI 3.1)
// into mocks, POST /api/v1/mocks/batch stores them on an admin node, and every operation is
// called over HTTP - plain (the lowest 2xx) and with `Prefer: code=NNN` for each other documented
// status - and each answer's body is validated against the operation's response schema with ajv
// (+ ajv-formats; draft 2020-12 for OpenAPI 3.1). OpenAPI 3.0 / Swagger spellings are mapped to
// JSON Schema first (nullable, x-nullable, boolean exclusive bounds); writeOnly properties must be
// absent from every answer and are dropped from `required` (OpenAPI scopes them to requests).
//
// The checks live in lib/openapi_check.mjs (shared with openapi_rest.test.mjs).
// ajv 8 and ajv-formats 3 are devDependencies of package.json; until they are installed in the
// shared node_modules, point NODE_PATH at a private install (npm install --prefix DIR ajv ajv-formats).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startStack, waitUntil, repoRoot } from './lib/harness.mjs';
import { checkMocks } from './lib/openapi_check.mjs';

const cli = path.join(repoRoot, 'daemons/tools/build/mockarty-import');
const fixtures = path.join(repoRoot, 'regress/openapi');

let s;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s?.stop();
});

const run = (args) => JSON.parse(execFileSync(cli, args, { encoding: 'utf8', maxBuffer: 64 << 20 }));

async function checkFixture(file, ns, opts = {}) {
  const res = run(['openapi', path.join(fixtures, file), '--namespace', ns]);
  assert.deepEqual(res.errors, [], `${file}: import errors`);
  const doc = run(['yaml', path.join(fixtures, file)]);
  const created = await s.api('POST', '/api/v1/mocks/batch', res.mocks);
  assert.ok(created.status === 200 || created.status === 201, `batch: ${created.status} ${created.text.slice(0, 300)}`);
  return checkMocks(s, doc, res, ns, opts);
}

test('every edge case of openapi-ui.md 1.5 imports with 0 errors and answers schema-valid bodies', async () => {
  const r = await checkFixture('edge-cases.yaml', 'oa-edge');
  assert.ok(r.validated >= 25, `validated ${r.validated} of ${r.mocks}`);
});

test('Swagger 2.0 document: basePath routes, examples, Prefer statuses, valid bodies', async () => {
  const r = await checkFixture('swagger2.json', 'oa-two', { swagger: true });
  assert.ok(r.validated >= 4, `validated ${r.validated} of ${r.mocks}`);
});

test('OpenAPI 3.1 document validated with JSON Schema 2020-12', async () => {
  const r = await checkFixture('oas31.yaml', 'oa-31', { oas31: true });
  assert.equal(r.validated, 3);
});

test('validate option: required query parameter and header become conditions', async () => {
  const res = run(['openapi', path.join(fixtures, 'edge-cases.yaml'), '--namespace', 'oa-val', '--validate']);
  const created = await s.api('POST', '/api/v1/mocks/batch', res.mocks);
  assert.ok(created.status === 200 || created.status === 201, created.text);
  const url = '/stubs/oa-val/v1/pets/7';
  const full = { 'X-Request-Id': '3fa85f64-5717-4562-b3fc-2c963f66afa6' };
  await waitUntil(async () => (await s.fetch(url + '?verbose=true', { token: null, headers: full })).status === 200, 5000, 20, 'served');
  assert.notEqual((await s.fetch(url, { token: null, headers: full })).status, 200, 'missing required query parameter');
  assert.notEqual((await s.fetch(url + '?verbose=true', { token: null })).status, 200, 'missing required header');
  assert.equal((await s.fetch(url + '?verbose=true', { token: null, headers: { ...full, Prefer: 'code=404' } })).status, 404);
});

test('bad documents: the CLI exits non-zero naming the line', () => {
  let err;
  try {
    execFileSync(cli, ['openapi', '-'], { input: 'openapi: 3.0.0\npaths:\n  /a: [\n', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    err = e;
  }
  assert.ok(err, 'must fail');
  assert.equal(err.status, 1);
  assert.match(err.stderr, /line \d+, column \d+/);
});
