// import_sources.test.mjs - WireMock, Mockoon and HAR documents imported over REST.
// What a user would notice: each fixture of regress/sources/ becomes mocks that answer as the
// source says; importing it again changes nothing (same mock versions, change-log head unchanged);
// a user's edit of an imported mock survives a re-import while a field the source changed is
// refreshed; an item removed from the source is reported stale and kept, and prune deletes it;
// a bad document answers 400 naming where it is wrong and changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, repoRoot } from './lib/harness.mjs';

let s;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s?.stop();
});

const fixture = (name) => JSON.parse(fs.readFileSync(path.join(repoRoot, 'regress/sources', name), 'utf8'));
const call = (p, init = {}) => s.fetch(`/stubs/imp${p}`, { token: null, ...init });
const head = async () => Number(await s.psql('SELECT mockarty.head_version()'));
const versions = async () => s.psql("SELECT string_agg(id || ':' || version, ',' ORDER BY id) FROM mockarty_private.mocks WHERE namespace = 'imp'");

test('each source answers as it says, and re-importing it changes nothing', async () => {
  const wm = await s.api('POST', '/api/v1/import/wiremock?namespace=imp', fixture('wiremock_mappings.json'));
  assert.equal(wm.status, 201, wm.text);
  assert.equal(wm.body.created, 4);
  assert.ok(wm.body.warnings.some((w) => w.pointer === '/mappings/3/scenarioName'), 'scenarios are reported');
  const mo = await s.api('POST', '/api/v1/import/mockoon?namespace=imp', fixture('mockoon_environment.json'));
  assert.equal(mo.status, 201, mo.text);
  assert.equal(mo.body.created, 4);
  assert.ok(mo.body.warnings.some((w) => w.pointer === '/routes/2'), 'the CRUD route is reported');
  const har = await s.api('POST', '/api/v1/import/har?namespace=imp', fixture('capture.har'));
  assert.equal(har.status, 201, har.text);
  assert.equal(har.body.created, 4);

  // WireMock
  let r = await call('/pets?limit=10');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), [{ id: 1, name: 'Rex' }]);
  r = await call('/pets', { method: 'POST', headers: { Authorization: 'Bearer t', 'Content-Type': 'application/json' }, body: '{"name":"Tom","kind":"cat"}' });
  assert.equal(r.status, 201);
  assert.equal(await r.text(), 'created');
  r = await call('/files/a.bin');
  assert.equal(Buffer.from(await r.arrayBuffer()).toString(), 'hello');
  // Mockoon: the rule on :id picks the 404, otherwise the default
  r = await call('/api/users/0');
  assert.equal(r.status, 404);
  assert.equal(r.headers.get('x-reason'), 'missing');
  r = await call('/api/users/3');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { id: 1, name: 'Ann' });
  // HAR: the last capture wins, base64 bodies are decoded
  r = await call('/api/items?page=1');
  assert.deepEqual(await r.json(), { items: [1, 2] });
  r = await call('/logo.png');
  assert.deepEqual([...Buffer.from(await r.arrayBuffer())], [0x89, 0x50, 0x4e, 0x47]);

  const h = await head();
  const v = await versions();
  for (const [kind, name] of [['wiremock', 'wiremock_mappings.json'], ['mockoon', 'mockoon_environment.json'], ['har', 'capture.har']]) {
    const again = await s.api('POST', `/api/v1/import/${kind}?namespace=imp`, fixture(name));
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.created + again.body.updated, 0, `${kind}: ${again.text}`);
  }
  assert.equal(await head(), h, 'no change-log entry');
  assert.equal(await versions(), v, 'no new mock version');
});

test('a user edit survives a re-import, a source change is refreshed, removed items are stale until pruned', async () => {
  const doc = fixture('wiremock_mappings.json');
  const first = await s.api('POST', '/api/v1/import/wiremock?namespace=imp', doc);
  const listId = first.body.mocks[0].id;
  const fileId = first.body.mocks[2].id;
  // the user edits the answer of "list pets"
  const patched = await s.api('PATCH', `/api/v1/mocks/${listId}`, { response: { payload: [{ id: 1, name: 'Edited' }] } });
  assert.equal(patched.status, 200, patched.text);
  // the source changes a header of the same mapping and drops the third mapping
  doc.mappings[0].response.headers['X-Version'] = '2';
  const removed = doc.mappings.splice(2, 1);
  assert.equal(removed.length, 1);
  const again = await s.api('POST', '/api/v1/import/wiremock?namespace=imp', doc);
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.updated, 1);
  assert.deepEqual(again.body.stale.map((x) => x.id), [fileId]);
  const r = await call('/pets?limit=10');
  assert.deepEqual(await r.json(), [{ id: 1, name: 'Edited' }], 'the user edit is kept');
  assert.equal(r.headers.get('x-version'), '2', 'the source change is refreshed');
  assert.equal((await call('/files/a.bin')).status, 200, 'a stale mock is kept');

  const preview = await s.api('POST', '/api/v1/import/wiremock?namespace=imp&prune=true&dryRun=true', doc);
  assert.equal(preview.body.stale[0].deleted, true);
  assert.equal((await call('/files/a.bin')).status, 200, 'a preview deletes nothing');
  const pruned = await s.api('POST', '/api/v1/import/wiremock?namespace=imp&prune=true', doc);
  assert.equal(pruned.status, 200, pruned.text);
  assert.match(pruned.body.message, /1 stale \(deleted\)/);
  assert.equal((await call('/files/a.bin')).status, 404, 'prune deletes it');
});

test('generators/har and its preview take the HAR text in spec', async () => {
  const spec = JSON.stringify({ log: { entries: [{ request: { method: 'GET', url: 'http://x/gen/one' }, response: { status: 202, headers: [], content: { text: 'g' } } }] } });
  const h = await head();
  const preview = await s.api('POST', '/api/v1/generators/har/preview', { spec, namespace: 'imp' });
  assert.equal(preview.status, 200, preview.text);
  assert.equal(preview.body.count, 1);
  assert.equal(await head(), h, 'a preview writes nothing');
  const gen = await s.api('POST', '/api/v1/generators/har', { spec, namespace: 'imp' });
  assert.equal(gen.status, 201, gen.text);
  assert.equal(gen.body.created, 1);
  assert.equal((await call('/gen/one')).status, 202);
  const noSpec = await s.api('POST', '/api/v1/generators/har', { url: 'http://example/capture.har' });
  assert.equal(noSpec.status, 400);
});

test('bad documents answer 400 naming where they are wrong and change nothing', async () => {
  const h = await head();
  const truncated = await s.api('POST', '/api/v1/import/har?namespace=imp', '{"log":{"entries":[');
  assert.equal(truncated.status, 400);
  assert.match(truncated.text, /line 1/);
  const wrongType = await s.api('POST', '/api/v1/import/har?namespace=imp', { log: { entries: 7 } });
  assert.equal(wrongType.status, 400, wrongType.text);
  assert.match(wrongType.text, /#\/log\/entries/);
  const wm = await s.api('POST', '/api/v1/import/wiremock?namespace=imp', { mappings: 'x' });
  assert.equal(wm.status, 400);
  assert.match(wm.text, /#\/mappings/);
  const mo = await s.api('POST', '/api/v1/import/mockoon?namespace=imp', [1, 2]);
  assert.equal(mo.status, 400);
  const badOpt = await s.api('POST', '/api/v1/import/har?namespace=imp&prune=maybe', fixture('capture.har'));
  assert.equal(badOpt.status, 400);
  assert.match(badOpt.text, /prune/);
  assert.equal(await head(), h, 'nothing changed');
});
