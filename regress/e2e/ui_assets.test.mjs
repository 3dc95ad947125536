// ui_assets.test.mjs - the web console's pages compiled into the admin node and served at /ui/
// (daemons/common/uiserve.c, daemons/admin/console.c; docs/console.md).
// What a user would notice: every asset of the compiled-in table answers with its content type,
// gzip and identity give the same bytes, a revalidation with the ETag is a 304 without a body, the
// Content-Security-Policy and nosniff headers are on every answer, a client-side route such as
// /ui/mocks answers the page, a path with ".." is refused, the JSON API under /ui/api stays
// authenticated JSON, UI_DIR serves an edited file at once without a rebuild (and a bad UI_DIR
// stops the node with the setting named), and the whole console is under 150 KB gzipped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startStack, repoRoot } from './lib/harness.mjs';

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
const TYPES = { '.html': /^text\/html/, '.js': /^text\/javascript/, '.mjs': /^text\/javascript/, '.css': /^text\/css/, '.svg': /^image\/svg\+xml$/, '.json': /^application\/json/, '.txt': /^text\/plain/, '.md': /^text\/markdown/ };

let s;
let dev; // a second admin node with UI_DIR on a copy of ui/
let uiCopy;

/** A raw HTTP GET (no decoding, no path normalisation): { status, headers, body: Buffer }. */
function raw(base, p, headers = {}, method = 'GET') {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: p, method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(10000, () => req.destroy(new Error(`GET ${p} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function assertUiHeaders(r, what) {
  assert.equal(r.headers['content-security-policy'], CSP, `${what}: CSP`);
  assert.equal(r.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  assert.equal(r.headers['referrer-policy'], 'no-referrer', `${what}: referrer policy`);
}

before(async () => {
  s = await startStack();
  uiCopy = fs.mkdtempSync(path.join(os.tmpdir(), 'mockarty-ui-'));
  fs.cpSync(path.join(repoRoot, 'ui'), uiCopy, { recursive: true });
  fs.chmodSync(uiCopy, 0o755);
  dev = await s.spawnAdmin({ UI_DIR: uiCopy, GRPC_PORT: '0' });
});

after(async () => {
  await s?.stop();
  if (uiCopy) fs.rmSync(uiCopy, { recursive: true, force: true });
});

test('every compiled-in asset: its content type, identical bytes gzip or not, ETag, CSP and nosniff', async () => {
  const m = await raw(s.admin.url, '/ui/assets.json');
  assert.equal(m.status, 200);
  assertUiHeaders(m, 'manifest');
  const man = JSON.parse(m.body.toString());
  assert.equal(man.source, 'embedded');
  const names = man.assets.map((a) => a.name);
  for (const want of ['index.html', 'kit/kit.css', 'vendor/uplot.js', 'vendor/htm-preact.mjs']) assert.ok(names.includes(want), `${want} embedded`);
  // the table is ui/admin + ui/kit + ui/vendor exactly (the build regenerates it from the tree)
  const onDisk = [];
  const walk = (dir, prefix) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name.endsWith('~')) continue;
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), rel);
      else onDisk.push(rel);
    }
  };
  walk(path.join(repoRoot, 'ui/admin'), '');
  walk(path.join(repoRoot, 'ui/kit'), 'kit');
  walk(path.join(repoRoot, 'ui/vendor'), 'vendor');
  assert.deepEqual([...names].sort(), onDisk.sort(), 'the table holds the tree');
  let gzSum = 0;
  for (const a of man.assets) {
    const p = '/ui/' + a.name;
    const id = await raw(s.admin.url, p);
    const gz = await raw(s.admin.url, p, { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(id.status, 200, p);
    assert.equal(gz.status, 200, p);
    const ext = path.extname(a.name);
    if (TYPES[ext]) assert.match(id.headers['content-type'], TYPES[ext], `${p} content type`);
    assert.equal(id.headers['content-type'], a.type, p);
    assert.equal(gz.headers['content-type'], a.type, p);
    assert.equal(id.headers['content-encoding'], undefined, `${p} identity when gzip is not accepted`);
    assert.equal(gz.headers['content-encoding'], 'gzip', p);
    assert.equal(gz.headers.vary, 'Accept-Encoding', p);
    assert.equal(id.headers['cache-control'], 'no-cache', p);
    assert.deepEqual(zlib.gunzipSync(gz.body), id.body, `${p}: gzip and identity give the same bytes`);
    assert.deepEqual(id.body, fs.readFileSync(path.join(repoRoot, 'ui', a.name.startsWith('kit/') || a.name.startsWith('vendor/') ? a.name : 'admin/' + a.name)), `${p} is the file`);
    assert.equal(id.body.length, a.rawBytes);
    assert.equal(gz.body.length, a.gzipBytes);
    assert.match(id.headers.etag, /^"[0-9a-f]{16}-[0-9a-f]+"$/, `${p} strong ETag`);
    assert.equal(gz.headers.etag, id.headers.etag);
    assertUiHeaders(id, p);
    assertUiHeaders(gz, p);
    gzSum += gz.body.length;
    // revalidation: 304 without a body, with the ETag, for the exact and the weak form
    for (const inm of [id.headers.etag, `W/${id.headers.etag}`, `"nope", ${id.headers.etag}`]) {
      const nm = await raw(s.admin.url, p, { 'If-None-Match': inm, 'Accept-Encoding': 'gzip' });
      assert.equal(nm.status, 304, `${p} If-None-Match ${inm}`);
      assert.equal(nm.body.length, 0);
      assert.equal(nm.headers.etag, id.headers.etag);
      assertUiHeaders(nm, `${p} 304`);
    }
    assert.equal((await raw(s.admin.url, p, { 'If-None-Match': '"0000000000000000-1"' })).status, 200, 'another ETag gets the content');
  }
  assert.equal(gzSum, man.gzipBytes, 'the manifest sums the gzip bytes served');
  console.log(`# console: ${man.assets.length} assets, ${man.gzipBytes} bytes gzipped (${man.rawBytes} raw)`);
  assert.ok(gzSum < 150 * 1024, `the console is ${gzSum} bytes gzipped: the budget is 150 KB`);
});

test('/ui/ and client-side routes answer the page; unknown assets 404; HEAD works; writes 405', async () => {
  const index = await raw(s.admin.url, '/ui/index.html');
  assert.equal(index.status, 200);
  assert.match(index.headers['content-type'], /^text\/html/);
  const redirect = await raw(s.admin.url, '/ui');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.location, '/ui/');
  for (const p of ['/ui/', '/ui/mocks', '/ui/settings/webhooks', '/ui/mocks?ns=sandbox', '/ui/settings/']) {
    const r = await raw(s.admin.url, p);
    assert.equal(r.status, 200, p);
    assert.deepEqual(r.body, index.body, `${p} answers index.html`);
    assert.equal(r.headers.etag, index.headers.etag, p);
    assertUiHeaders(r, p);
  }
  for (const p of ['/ui/nope.js', '/ui/kit/nope.css', '/ui/pages/missing.js']) {
    const r = await raw(s.admin.url, p);
    assert.equal(r.status, 404, p);
    assertUiHeaders(r, p);
  }
  const head = await raw(s.admin.url, '/ui/index.html', {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(Number(head.headers['content-length']), index.body.length);
  const post = await s.fetch('/ui/index.html', { method: 'POST', token: null, body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
});

test('path traversal is refused, embedded and with UI_DIR', async () => {
  fs.writeFileSync(path.join(path.dirname(uiCopy), path.basename(uiCopy) + '-secret.txt'), 'secret');
  for (const base of [s.admin.url, dev.url]) {
    for (const p of ['/ui/../README.md', '/ui/kit/../../README.md', '/ui/%2e%2e/%2e%2e/README.md', '/ui/kit/..%2f..%2fREADME.md', '/ui/./index.html', '/ui//etc/passwd', '/ui/kit/%2e%2e%5c%2e%2e%5cREADME.md']) {
      const r = await raw(base, p);
      assert.equal(r.status, 400, `${base}${p}`);
      assert.doesNotMatch(r.body.toString(), /mockarty|secret|root:/, `${p} leaks nothing`);
      assertUiHeaders(r, p);
    }
  }
  // with UI_DIR, a symbolic link leading out of the folder is refused like ".."
  fs.symlinkSync(path.join(path.dirname(uiCopy), path.basename(uiCopy) + '-secret.txt'), path.join(uiCopy, 'admin', 'leak.txt'));
  const l = await raw(dev.url, '/ui/leak.txt');
  assert.equal(l.status, 404);
  assert.doesNotMatch(l.body.toString(), /secret/);
  fs.rmSync(path.join(path.dirname(uiCopy), path.basename(uiCopy) + '-secret.txt'));
});

test('/ui/api stays the authenticated JSON API and wins over the pages', async () => {
  const noTok = await s.api('GET', '/ui/api/nodes', undefined, { token: null });
  assert.equal(noTok.status, 401, noTok.text);
  assert.match(noTok.headers.get('content-type'), /application\/json/);
  const ok = await s.api('GET', '/ui/api/nodes');
  assert.equal(ok.status, 200, ok.text);
  assert.ok(ok.body !== null, 'JSON');
  const unknown = await s.api('GET', '/ui/api/no-such-thing');
  assert.equal(unknown.status, 404);
  assert.match(unknown.headers.get('content-type'), /application\/json/);
  assert.equal(unknown.body.code, 'not_found');
  // mock traffic beside the console is untouched
  const c = await s.api('POST', '/api/v1/mocks', { id: 'ui-side', http: { route: '/uix/ping', httpMethod: 'GET' }, response: { payload: { ok: 1 } } });
  assert.equal(c.status, 200, c.text);
  const g = await s.api('GET', '/uix/ping', undefined, { token: null });
  assert.deepEqual(g.body, { ok: 1 });
});

test('UI_DIR serves a changed file at once, without a rebuild; a bad UI_DIR stops the node naming it', async () => {
  const m = JSON.parse((await raw(dev.url, '/ui/assets.json')).body.toString());
  assert.equal(m.source, 'UI_DIR');
  const before1 = await raw(dev.url, '/ui/index.html', { 'Accept-Encoding': 'gzip' });
  assert.equal(before1.status, 200);
  assert.equal(before1.headers['content-encoding'], undefined, 'UI_DIR files are sent as they are');
  assert.deepEqual(before1.body, fs.readFileSync(path.join(uiCopy, 'admin/index.html')));
  assertUiHeaders(before1, 'UI_DIR index');
  const edited = before1.body.toString().replace('</body>', '<p id="edited-by-test">edited</p></body>');
  fs.writeFileSync(path.join(uiCopy, 'admin/index.html'), edited);
  const after1 = await raw(dev.url, '/ui/index.html', { 'If-None-Match': before1.headers.etag });
  assert.equal(after1.status, 200, 'the old ETag no longer matches');
  assert.match(after1.body.toString(), /edited-by-test/);
  assert.notEqual(after1.headers.etag, before1.headers.etag);
  assert.equal((await raw(dev.url, '/ui/index.html', { 'If-None-Match': after1.headers.etag })).status, 304);
  assert.match((await raw(dev.url, '/ui/mocks')).body.toString(), /edited-by-test/, 'client-side routes get the edited page');
  fs.writeFileSync(path.join(uiCopy, 'kit/added.css'), 'body{}');
  const added = await raw(dev.url, '/ui/kit/added.css');
  assert.equal(added.status, 200);
  assert.match(added.headers['content-type'], /^text\/css/);
  assert.equal((await raw(dev.url, '/ui/kit/gone.css')).status, 404);
  // the compiled-in node is unaffected
  assert.doesNotMatch((await raw(s.admin.url, '/ui/index.html')).body.toString(), /edited-by-test/);

  const ADMIN_BIN = process.env.MOCKARTY_ADMIN_BIN || path.join(repoRoot, 'daemons/build/mockarty-admin');
  const bad = spawnSync(ADMIN_BIN, [], { env: { ...process.env, DB_DSN: s.dsn, HTTP_PORT: '1', GRPC_PORT: '0', UI_DIR: '/nonexistent/ui' }, encoding: 'utf8', timeout: 10000 });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /UI_DIR=\/nonexistent\/ui/);
});
