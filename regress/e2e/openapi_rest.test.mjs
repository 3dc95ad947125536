// openapi_rest.test.mjs - OpenAPI import over REST with smart merge: the guide's CI curl
// (multipart POST /ui/api/openapi/import) run verbatim with the real curl binary, then
// POST /api/v1/generators/openapi and /preview with the spec's text or a URL served by a local
// HTTP server. What a user would notice: every operation of the imported fixture answers a body
// valid against its schema (ajv, helpers of lib/openapi_check.mjs); re-importing the same spec
// changes nothing; a user's edit survives a re-import while a changed example is refreshed; an
// operation removed from the spec is reported stale and kept until prune; a preview persists
// nothing; the URL guard refuses private addresses when ALLOW_PROXY_TO_PRIVATE_IPS=false; bad
// input answers a clear 4xx (or a bounded import) and the node keeps answering /health/live.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startStack, waitUntil, repoRoot } from './lib/harness.mjs';
import { checkMocks } from './lib/openapi_check.mjs';

const fixtures = path.join(repoRoot, 'regress/openapi');
const cli = path.join(repoRoot, 'daemons/tools/build/mockarty-import');

let s;
let tmp;
before(async () => {
  s = await startStack();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oa-rest-'));
});
after(async () => {
  await s?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const head = async () => Number(await s.psql('SELECT mockarty.head_version()'));
// each mock's id, version and number of stored versions
const versions = async (ns) => s.psql(`SELECT string_agg(m.id || ':' || m.version || ':' || (SELECT count(*) FROM mockarty_private.mock_versions v WHERE v.mock_id = m.id), ',' ORDER BY m.id) FROM mockarty_private.mocks m WHERE m.namespace = '${ns}'`);
const liveMocks = async (ns) => (await s.psqlJson(`SELECT coalesce(json_agg(doc ORDER BY id), '[]') FROM mockarty_private.mocks WHERE namespace = '${ns}' AND closed_at IS NULL`));
const parseSpec = (file) => JSON.parse(execFileSync(cli, ['yaml', file], { encoding: 'utf8', maxBuffer: 64 << 20 }));
const live = async () => assert.equal((await s.fetch('/health/live', { token: null })).status, 200, 'node answers /health/live');

/** The guide's CI example, verbatim but for host, port, token and file path. */
function guideCurl(file, ns) {
  const cmd = `curl -X POST http://mockarty:5770/ui/api/openapi/import \\
-H "Authorization: Bearer mk_your_ci_token" \\
-F "file=@./api/openapi.yaml" \\
-F "namespace=ci-tests"`
    .replace('http://mockarty:5770', s.admin.url)
    .replace('mk_your_ci_token', s.token)
    .replace('./api/openapi.yaml', file)
    .replace('namespace=ci-tests', `namespace=${ns}`);
  return JSON.parse(execFileSync('sh', ['-c', cmd + ' -s'], { encoding: 'utf8' }));
}

/** multipart POST /ui/api/openapi/import with fetch's FormData. */
async function formImport(text, fields = {}, query = '') {
  const fd = new FormData();
  if (text !== undefined) fd.append('file', new Blob([text]), 'openapi.yaml');
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  const r = await s.fetch('/ui/api/openapi/import' + query, { method: 'POST', body: fd });
  const t = await r.text();
  let body;
  try { body = JSON.parse(t); } catch { body = undefined; }
  return { status: r.status, body, text: t };
}

test('(a)+(f) the guide\'s CI curl imports the edge-case fixture; every operation answers a schema-valid body; (b) re-import changes nothing', async () => {
  const file = path.join(fixtures, 'edge-cases.yaml');
  const res = guideCurl(file, 'ci-tests');
  assert.deepEqual(res.errors, [], JSON.stringify(res.errors));
  assert.ok(res.created > 20, `created ${res.created}`);
  assert.equal(res.source, 'openapi:' + parseSpec(file).info.title);
  const mocks = await liveMocks('ci-tests');
  assert.equal(mocks.length, res.created);
  const r = await checkMocks(s, parseSpec(file), { mocks, warnings: res.warnings }, 'ci-tests');
  assert.ok(r.validated >= 25, `validated ${r.validated} of ${r.mocks}`);

  const h = await head(), v = await versions('ci-tests');
  const again = guideCurl(file, 'ci-tests');
  assert.equal(again.created, 0);
  assert.equal(again.updated, 0);
  assert.equal(again.skipped, res.created);
  assert.equal(await head(), h, 'head_version unchanged');
  assert.equal(await versions('ci-tests'), v, 'every mock keeps its version');
});

test('(f) OpenAPI 3.1 and Swagger 2.0 fixtures through generators/openapi answer schema-valid bodies', async () => {
  for (const [file, ns, opts] of [['oas31.yaml', 'g-31', { oas31: true }], ['swagger2.json', 'g-two', { swagger: true }]]) {
    const spec = fs.readFileSync(path.join(fixtures, file), 'utf8');
    const res = await s.api('POST', '/api/v1/generators/openapi', { spec, namespace: ns });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.errors, []);
    const r = await checkMocks(s, parseSpec(path.join(fixtures, file)), { mocks: await liveMocks(ns), warnings: res.body.warnings }, ns, opts);
    assert.ok(r.validated >= 3, `${file}: validated ${r.validated} of ${r.mocks}`);
  }
});

const petSpec = (name, withDelete = true) => `openapi: 3.0.3
info: {title: Merge, version: "1"}
paths:
  /pets/{petId}:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              example: {id: 1, name: ${name}}
${withDelete ? `  /pets:
    delete:
      responses:
        "204": {description: gone}
` : ''}`;

test('(c) a user edit survives a changed spec, a changed example is refreshed, a removed operation is stale until prune', async () => {
  const first = await s.api('POST', '/api/v1/generators/openapi', { spec: petSpec('Rex'), namespace: 'merge' });
  assert.equal(first.status, 201, first.text);
  assert.equal(first.body.created, 2);
  const get = first.body.mocks.find((m) => m.method === 'GET');
  const patched = await s.api('PATCH', `/api/v1/mocks/${get.id}`, { response: { headers: { 'X-User': ['kept'] } } });
  assert.equal(patched.status, 200, patched.text);
  const h0 = await head();
  const second = await s.api('POST', '/api/v1/generators/openapi', { spec: petSpec('Max', false), namespace: 'merge' });
  assert.equal(second.status, 200, second.text);
  assert.equal(second.body.updated, 1);
  assert.equal(second.body.stale.length, 1);
  assert.equal(second.body.stale[0].route, '/pets');
  assert.equal(second.body.stale[0].deleted, false);
  await waitUntil(async () => (await s.fetch('/stubs/merge/pets/1', { token: null })).headers.get('x-user') === 'kept'
    && (await (await s.fetch('/stubs/merge/pets/1', { token: null })).json()).name === 'Max', 5000, 20, 'merged mock served');
  assert.ok(await head() > h0);
  assert.equal((await s.fetch('/stubs/merge/pets', { token: null, method: 'DELETE' })).status, 204, 'stale operation kept');
  // prune through the multipart form
  const pruned = await formImport(petSpec('Max', false), { namespace: 'merge', prune: 'true' });
  assert.equal(pruned.status, 200, pruned.text);
  assert.equal(pruned.body.stale[0].deleted, true);
  await waitUntil(async () => (await s.fetch('/stubs/merge/pets', { token: null, method: 'DELETE' })).status !== 204, 5000, 20, 'pruned');
  assert.equal((await liveMocks('merge')).length, 1);
});

test('(d) generators/openapi with url from a local server; preview persists nothing; private URLs refused when not allowed', async () => {
  const spec = petSpec('Url');
  const srv = http.createServer((req, res) => {
    if (req.url === '/openapi.yaml') { res.writeHead(200, { 'Content-Type': 'application/yaml' }); res.end(spec); }
    else { res.writeHead(404); res.end('no'); }
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${srv.address().port}/openapi.yaml`;
  try {
    const h = await head();
    const pv = await s.api('POST', '/api/v1/generators/openapi/preview', { url, namespace: 'by-url' });
    assert.equal(pv.status, 200, pv.text);
    assert.equal(pv.body.count, 2);
    assert.equal(pv.body.mocks.length, 2);
    assert.equal(pv.body.dryRun, true);
    assert.equal(await head(), h, 'preview wrote nothing');
    assert.equal((await liveMocks('by-url')).length, 0);

    const im = await s.api('POST', '/api/v1/generators/openapi', { url, namespace: 'by-url', pathPrefix: '/v2', serverName: 'pets' });
    assert.equal(im.status, 201, im.text);
    assert.equal(im.body.created, 2);
    assert.equal(im.body.source, 'openapi:pets');
    await waitUntil(async () => (await s.fetch('/stubs/by-url/v2/pets/3', { token: null })).status === 200, 5000, 20, 'served');

    const missing = await s.api('POST', '/api/v1/generators/openapi', { url: url.replace('openapi.yaml', 'nope'), namespace: 'by-url' });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error || missing.text, /HTTP 404/);
    const none = await s.api('POST', '/api/v1/generators/openapi', { namespace: 'by-url' });
    assert.equal(none.status, 400);
    assert.match(none.text, /spec/);

    const strict = await s.spawnAdmin({ ALLOW_PROXY_TO_PRIVATE_IPS: 'false' });
    const refused = await s.api('POST', '/api/v1/generators/openapi', { url, namespace: 'by-url' }, { base: strict.url });
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.text, /127\.0\.0\.1/);
    assert.match(refused.text, /ALLOW_PROXY_TO_PRIVATE_IPS/);
  } finally {
    srv.close();
  }
});

test('caller rule: a viewer is refused, a bound token imports only into its namespace', async () => {
  await s.psql("SELECT mockarty.user_create('vic', NULL, 'viewer'), mockarty.namespace_create('team-oa')");
  const viewer = await s.psql("SELECT mockarty.token_create('oa-viewer', 'vic')->>'token'");
  const bound = await s.psql("SELECT mockarty.token_create('oa-bound', 'admin', 'team-oa')->>'token'");
  const spec = petSpec('Auth');
  assert.equal((await s.api('POST', '/api/v1/generators/openapi/preview', { spec, namespace: 'x' }, { token: viewer })).status, 403);
  assert.equal((await s.api('POST', '/api/v1/generators/openapi', { spec, namespace: 'other' }, { token: bound })).status, 403);
  const ok = await s.api('POST', '/api/v1/generators/openapi', { spec }, { token: bound });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.namespace, 'team-oa');
});

test('(e) bad input: clear errors or bounded imports, never a crash', async () => {
  // multipart without the file part, and not multipart at all
  let r = await formImport(undefined, { namespace: 'bad' });
  assert.equal(r.status, 400);
  assert.match(r.text, /file/);
  r = await s.api('POST', '/ui/api/openapi/import', { spec: 'x' });
  assert.equal(r.status, 400);
  assert.match(r.text, /multipart\/form-data/);
  // a multipart upload cut before its closing delimiter
  r = await s.api('POST', '/ui/api/openapi/import', '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.yaml"\r\n\r\nopenapi: 3.0.0\n',
    { headers: { 'Content-Type': 'multipart/form-data; boundary=XyZ' } });
  assert.equal(r.status, 400, r.text);
  assert.match(r.text, /closing delimiter/);
  // an empty file part
  r = await formImport('', { namespace: 'bad' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.text, /file/);
  // truncated YAML: 400 naming the line
  const full = fs.readFileSync(path.join(fixtures, 'edge-cases.yaml'), 'utf8');
  r = await formImport(full.slice(0, Math.floor(full.length / 2)) + '\n  bad: [unclosed\n', { namespace: 'bad' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.text, /line \d+/);
  await live();
  // a $ref loop: bounded import
  r = await s.api('POST', '/api/v1/generators/openapi', { namespace: 'bad-ref', spec: `openapi: 3.0.0
info: {title: Loop, version: "1"}
paths:
  /loop:
    get:
      responses:
        "200":
          description: loop
          content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}
components:
  schemas:
    A: {$ref: '#/components/schemas/B'}
    B: {$ref: '#/components/schemas/A'}
` });
  // bounded: the operation imports and the loop is a warning naming where
  assert.equal(r.status, 201, r.text);
  assert.ok(r.body.warnings.some((w) => /\$ref/.test(w.message) && w.pointer.startsWith('/paths/~1loop')), JSON.stringify(r.body.warnings));
  await live();
  // a declared billion-item array: the answer stays small
  r = await s.api('POST', '/api/v1/generators/openapi', { namespace: 'bad-big', spec: `openapi: 3.0.0
info: {title: Big, version: "1"}
paths:
  /big:
    get:
      responses:
        "200":
          description: big
          content: {application/json: {schema: {type: array, minItems: 1000000000, maxItems: 1000000000, items: {type: integer}}}}
` });
  assert.equal(r.status, 201, r.text);
  await waitUntil(async () => (await s.fetch('/stubs/bad-big/big', { token: null })).status === 200, 5000, 20, 'served');
  const big = await (await s.fetch('/stubs/bad-big/big', { token: null })).text();
  assert.ok(big.length < 1 << 20, `answer of ${big.length} bytes`);
  await live();
  // 50,000 operations: refused past maxOperations (default 20000), naming it
  const t0 = Date.now();
  const paths = [];
  for (let i = 0; i < 50000; i++) paths.push(`"/p${i}":{"get":{"responses":{"200":{"description":"x"}}}}`);
  const huge = `{"openapi":"3.0.0","info":{"title":"Huge","version":"1"},"paths":{${paths.join(',')}}}`;
  r = await formImport(huge, { namespace: 'bad-huge' });
  assert.equal(r.status, 400, r.text.slice(0, 300));
  assert.match(r.text, /maxOperations/);
  assert.ok(Date.now() - t0 < 20000, 'answered in bounded time');
  await live();
  // a 20 MB upload beyond the body limit (5 MB by default): 413
  const bigFile = path.join(tmp, 'big.yaml');
  fs.writeFileSync(bigFile, 'x'.repeat(20 << 20));
  const code = await new Promise((resolve) => execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST',
    `${s.admin.url}/ui/api/openapi/import`, '-H', `Authorization: Bearer ${s.token}`, '-F', `file=@${bigFile}`], (e, out) => resolve(out)));
  assert.equal(code, '413');
  await live();
  assert.equal((await liveMocks('bad')).length + (await liveMocks('bad-huge')).length, 0, 'refused imports wrote nothing');
});
