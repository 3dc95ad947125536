// grpc_descriptors.test.mjs - gRPC descriptor sets over REST and the gRPC generator (issue 12,
// item 1). Our fixture regress/grpc-mocks/shop/v1/shop.proto imports shop/v1/types.proto and
// google/protobuf/timestamp.proto and has all four call kinds. What a user would notice: the
// same proto uploaded as files, as a zip and as a descriptor set is stored per namespace and
// server name with versions (an identical upload is not a new version); list/get/versions/delete
// answer; protoc's error comes back as a 400 naming file:line:col; a path with ".." or an absolute
// path is refused before anything is written; POST /api/v1/generators/grpc creates one mock per
// method whose payload core's codec encodes for the method's output type, a re-run changes
// nothing, the preview persists nothing; a viewer cannot write; the table is in pg_dump.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, repoRoot } from './lib/harness.mjs';

const fixtures = path.join(repoRoot, 'regress/grpc-mocks');
const protoFiles = ['shop/v1/shop.proto', 'shop/v1/types.proto'];

let s;
let tmp;
before(async () => {
  s = await startStack();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grpc-desc-'));
});
after(async () => {
  await s?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** multipart POST with files [{ name, data, type? }] and fields */
async function upload(p, files, fields = {}, init = {}) {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  for (const f of files) fd.append('files', new Blob([f.data], f.type ? { type: f.type } : {}), f.name);
  const r = await s.fetch(p, { method: 'POST', body: fd, ...init });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch {}
  return { status: r.status, body, text };
}
const protoParts = () => protoFiles.map((f) => ({ name: f, data: fs.readFileSync(path.join(fixtures, f)) }));
function compiledSet() {
  const out = path.join(tmp, 'shop.pb');
  execFileSync('protoc', ['--include_imports', `--descriptor_set_out=${out}`, `-I${fixtures}`, 'shop/v1/shop.proto']);
  return fs.readFileSync(out);
}
function zipOf(files, name = 'protos.zip') {
  const dir = fs.mkdtempSync(path.join(tmp, 'z-'));
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f.name)), { recursive: true });
    fs.writeFileSync(path.join(dir, f.name), f.data);
  }
  const zip = path.join(tmp, name);
  execFileSync('python3', ['-c', `import zipfile,sys
z=zipfile.ZipFile(sys.argv[1],'w')
for n in sys.argv[3:]: z.write(sys.argv[2]+'/'+n, n)
z.close()`, zip, dir, ...files.map((f) => f.name)]);
  return fs.readFileSync(zip);
}
const serviceMethods = (d) => Object.fromEntries(d.services['shop.v1.ShopService'].map((m) => [m.name, m.methodType]));

test('upload as files, as a zip and as a descriptor set: stored with versions; list, get, versions, delete', async () => {
  let r = await upload('/api/v1/grpc/descriptors', protoParts(), { namespace: 'grpc-a', serverName: 'shop' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.version, 1);
  assert.deepEqual(r.body.files.map((f) => f.name).sort(), ['google/protobuf/timestamp.proto', 'shop/v1/shop.proto', 'shop/v1/types.proto']);
  assert.deepEqual(serviceMethods(r.body), { GetOrder: 'unary', WatchOrders: 'server-stream', UploadItems: 'client-stream', Chat: 'bidirectional' });
  for (const f of r.body.files) assert.match(f.sha256, /^[0-9a-f]{64}$/);

  // the same protos as a zip: the same set, so no new version
  r = await upload('/api/v1/grpc/descriptors', [{ name: 'protos.zip', data: zipOf(protoParts()) }], { namespace: 'grpc-a', serverName: 'shop' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.unchanged, true);
  assert.equal(r.body.version, 1);

  // a descriptor set as an octet-stream body, into another server
  const set = compiledSet();
  r = await s.api('POST', '/api/v1/grpc/descriptors?namespace=grpc-a&serverName=shop-raw', set, { headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 201, r.text);
  // and as a .pb part: a changed proto makes version 2
  const changed = protoParts();
  changed[1].data = Buffer.from(changed[1].data.toString().replace('bytes signature = 10;', 'bytes signature = 10;\n  string channel = 11;'));
  r = await upload('/api/v1/grpc/descriptors', changed, { namespace: 'grpc-a', serverName: 'shop' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.version, 2);
  r = await upload('/api/v1/grpc/descriptors', [{ name: 'shop.pb', data: set }], { namespace: 'grpc-a', serverName: 'shop' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.version, 3);

  const list = await s.api('GET', '/api/v1/grpc/descriptors?namespace=grpc-a');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((i) => [i.serverName, i.version, i.versions]), [['shop', 3, 3], ['shop-raw', 1, 1]]);
  const latest = await s.api('GET', '/api/v1/grpc/descriptors/shop?namespace=grpc-a');
  assert.equal(latest.body.version, 3);
  assert.deepEqual(Buffer.from(latest.body.descriptorSet, 'base64'), set);
  const v2 = await s.api('GET', '/api/v1/grpc/descriptors/shop?namespace=grpc-a&version=2');
  assert.equal(v2.body.version, 2);
  assert.ok(Buffer.from(v2.body.descriptorSet, 'base64').includes(Buffer.from('channel')));
  assert.equal((await s.api('GET', '/api/v1/grpc/descriptors/shop?namespace=grpc-a&version=9')).status, 404);
  assert.equal((await s.api('GET', '/api/v1/grpc/descriptors/shop?namespace=grpc-a&version=x')).status, 400);
  const vers = await s.api('GET', '/api/v1/grpc/descriptors/shop/versions?namespace=grpc-a');
  assert.deepEqual(vers.body.items.map((v) => v.version), [3, 2, 1]);
  let d = await s.api('DELETE', '/api/v1/grpc/descriptors/shop?namespace=grpc-a&version=1');
  assert.deepEqual([d.status, d.body.deleted], [200, 1]);
  d = await s.api('DELETE', '/api/v1/grpc/descriptors/shop-raw?namespace=grpc-a');
  assert.deepEqual([d.status, d.body.deleted], [200, 1]);
  assert.equal((await s.api('GET', '/api/v1/grpc/descriptors/shop-raw?namespace=grpc-a')).status, 404);
});

test('bad input: protoc errors name file:line:col; "..", absolute paths and bad sets are refused; nothing is stored', async () => {
  const before = await s.psql('SELECT count(*) FROM mockarty_private.grpc_descriptor_sets');
  const broken = protoParts();
  broken[0].data = Buffer.from(broken[0].data.toString().replace('rpc GetOrder(GetOrderRequest) returns (Order);', 'rpc GetOrder(GetOrderRequest) returns (Missing);'));
  let r = await upload('/api/v1/grpc/descriptors', broken, { namespace: 'grpc-b', serverName: 'shop' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.body.error, /^protoc: shop\/v1\/shop\.proto:\d+:\d+: .*Missing/);
  assert.ok(!r.body.error.includes('mockarty-proto-'), 'no temporary path leaks: ' + r.body.error);

  r = await upload('/api/v1/grpc/descriptors', [{ name: '../evil.proto', data: 'syntax = "proto3";' }], { namespace: 'grpc-b', serverName: 'shop' });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /\.\.\/evil\.proto.*no "\.\."/);
  r = await upload('/api/v1/grpc/descriptors', [{ name: 'a/../../b.proto', data: 'syntax = "proto3";' }], { namespace: 'grpc-b', serverName: 'shop' });
  assert.equal(r.status, 400);
  r = await upload('/api/v1/grpc/descriptors', [{ name: '/etc/x.proto', data: 'syntax = "proto3";' }], { namespace: 'grpc-b', serverName: 'shop' });
  assert.equal(r.status, 400);
  // a zip whose entry climbs out
  const evilZip = path.join(tmp, 'evil.zip');
  execFileSync('python3', ['-c', "import zipfile,sys\nz=zipfile.ZipFile(sys.argv[1],'w')\nz.writestr('../up.proto','syntax = \"proto3\";')\nz.close()", evilZip]);
  r = await upload('/api/v1/grpc/descriptors', [{ name: 'evil.zip', data: fs.readFileSync(evilZip) }], { namespace: 'grpc-b', serverName: 'shop' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.body.error, /zip: entry "\.\.\/up\.proto"/);
  // not a descriptor set, a set without services, no server name, no files
  r = await s.api('POST', '/api/v1/grpc/descriptors?namespace=grpc-b&serverName=shop', Buffer.from([0x0a, 0x05, 0xff]), { headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /invalid FileDescriptorSet/);
  r = await upload('/api/v1/grpc/descriptors', [{ name: 'plain.proto', data: 'syntax = "proto3";\nmessage A { string x = 1; }' }], { namespace: 'grpc-b', serverName: 'shop' });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /no service/);
  r = await upload('/api/v1/grpc/descriptors', protoParts(), { namespace: 'grpc-b' });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'serverName');
  r = await upload('/api/v1/grpc/descriptors', [], { namespace: 'grpc-b', serverName: 'shop' });
  assert.equal(r.status, 400);
  assert.equal(await s.psql('SELECT count(*) FROM mockarty_private.grpc_descriptor_sets'), before);
  assert.equal((await s.fetch('/health/live', { token: null })).status, 200);
});

test('generators/grpc: one mock per method with payloads the codec encodes; a re-run changes nothing; preview persists nothing', async () => {
  const pre = await upload('/api/v1/generators/grpc/preview', protoParts(), { namespace: 'grpc-g', serverName: 'shop' });
  assert.equal(pre.status, 200, pre.text);
  assert.equal(pre.body.count, 4);
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.mocks WHERE namespace = 'grpc-g'"), '0');
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.grpc_descriptor_sets WHERE namespace = 'grpc-g'"), '0');

  const r = await upload('/api/v1/generators/grpc', protoParts(), { namespace: 'grpc-g', serverName: 'shop' });
  assert.equal(r.status, 201, r.text);
  for (const k of ['created', 'updated', 'skipped', 'mocks', 'message', 'warnings', 'errors']) assert.ok(k in r.body, k);
  assert.deepEqual([r.body.created, r.body.errors], [4, []]);
  const mocks = await s.psqlJson("SELECT json_agg(doc ORDER BY doc #>> '{grpc,method}') FROM mockarty_private.mocks WHERE namespace = 'grpc-g'");
  assert.deepEqual(mocks.map((m) => [m.grpc.service, m.grpc.method, m.grpc.methodType]), [
    ['shop.v1.ShopService', 'Chat', 'bidirectional'], ['shop.v1.ShopService', 'GetOrder', 'unary'],
    ['shop.v1.ShopService', 'UploadItems', 'client-stream'], ['shop.v1.ShopService', 'WatchOrders', 'server-stream']]);
  const watch = mocks.find((m) => m.grpc.method === 'WatchOrders');
  assert.ok(watch.response.streamResponses.length >= 2 && watch.response.streamResponses.length <= 3);
  // every example encodes with core's codec for the output type
  const outputs = { Chat: 'shop.v1.ChatMessage', GetOrder: 'shop.v1.Order', UploadItems: 'shop.v1.UploadSummary', WatchOrders: 'shop.v1.Order' };
  const enc = await s.psql(`SELECT string_agg(m.doc #>> '{grpc,method}' || ':' || octet_length(mockarty_private.pb_encode(
      (SELECT descriptor_set FROM mockarty_private.grpc_descriptor_sets WHERE namespace = 'grpc-g' ORDER BY version DESC LIMIT 1),
      (('${JSON.stringify(outputs)}'::jsonb) ->> (m.doc #>> '{grpc,method}')), e)), ',' ORDER BY 1)
    FROM mockarty_private.mocks m, jsonb_array_elements(coalesce(m.doc #> '{response,streamResponses}', jsonb_build_array(m.doc #> '{response,payload}'))) e
    WHERE m.namespace = 'grpc-g'`);
  const parts = enc.split(',');
  assert.equal(parts.length, 3 + watch.response.streamResponses.length, enc);
  for (const p of parts) assert.ok(Number(p.split(':')[1]) > 0, enc);
  const order = mocks.find((m) => m.grpc.method === 'GetOrder').response.payload;
  assert.equal(typeof order.id, 'string');
  assert.ok(Array.isArray(order.items));

  // the generator from JSON: spec text of one self-contained file; re-running changes nothing
  const again = await upload('/api/v1/generators/grpc', protoParts(), { namespace: 'grpc-g', serverName: 'shop' });
  assert.equal(again.status, 200, again.text);
  assert.deepEqual([again.body.created, again.body.updated, again.body.skipped], [0, 0, 4]);
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.grpc_descriptor_sets WHERE namespace = 'grpc-g'"), '1');
  const spec = 'syntax = "proto3";\npackage greet;\nmessage Hi { string name = 1; int64 count = 2; }\nservice Greeter { rpc Say(Hi) returns (Hi); }\n';
  let j = await s.api('POST', '/api/v1/generators/grpc', { spec, namespace: 'grpc-g', serverName: 'greeter' });
  assert.equal(j.status, 201, j.text);
  assert.equal(j.body.created, 1);
  const hi = await s.psqlJson("SELECT doc #> '{response,payload}' FROM mockarty_private.mocks WHERE namespace = 'grpc-g' AND doc #>> '{grpc,service}' = 'greet.Greeter'");
  assert.equal(typeof hi.count, 'string', 'int64 as a string: ' + JSON.stringify(hi));
  j = await s.api('POST', '/api/v1/generators/grpc', { protoContent: spec, namespace: 'grpc-g', serverName: 'greeter' });
  assert.deepEqual([j.status, j.body.created, j.body.skipped], [200, 0, 1]);
  j = await s.api('POST', '/api/v1/generators/grpc', { spec: 'syntax = "proto3";\nservice X { rpc A(B) returns (B); }', serverName: 'x' });
  assert.equal(j.status, 400);
  assert.match(j.body.error, /service\.proto:2:/);
});

test('caller rule: a viewer reads but cannot upload or generate; a bound token stays in its namespace', async () => {
  await s.psql("SELECT mockarty.user_create('gviewer', NULL, 'viewer'), mockarty.namespace_create('team-g')");
  const viewer = await s.psql("SELECT mockarty.token_create('g-viewer', 'gviewer')->>'token'");
  const bound = await s.psql("SELECT mockarty.token_create('g-bound', 'admin', 'team-g')->>'token'");
  const auth = (t) => ({ headers: { Authorization: `Bearer ${t}` }, token: null });
  let r = await upload('/api/v1/grpc/descriptors', protoParts(), { namespace: 'grpc-v', serverName: 'shop' }, auth(viewer));
  assert.equal(r.status, 403, r.text);
  r = await upload('/api/v1/generators/grpc', protoParts(), { namespace: 'grpc-v', serverName: 'shop' }, auth(viewer));
  assert.equal(r.status, 403, r.text);
  assert.equal((await s.api('GET', '/api/v1/grpc/descriptors', undefined, { token: viewer })).status, 200);
  assert.equal((await s.api('DELETE', '/api/v1/grpc/descriptors/shop?namespace=grpc-a', undefined, { token: viewer })).status, 403);
  r = await upload('/api/v1/grpc/descriptors', protoParts(), { namespace: 'grpc-a', serverName: 'shop' }, auth(bound));
  assert.equal(r.status, 403, r.text);
  r = await upload('/api/v1/grpc/descriptors', protoParts(), { serverName: 'shop' }, auth(bound));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.namespace, 'team-g');
  const l = await s.api('GET', '/api/v1/grpc/descriptors', undefined, { token: bound });
  assert.deepEqual(l.body.items.map((i) => i.namespace), ['team-g']);
});

test('pg_dump includes the stored descriptor sets', async () => {
  const dump = execFileSync('pg_dump', ['-h', '127.0.0.1', '-p', String(s.pgPort), '-U', 'postgres', '-d', 'mockarty', '--data-only', '-t', 'mockarty_private.grpc_descriptor_sets'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.match(dump, /COPY mockarty_private\.grpc_descriptor_sets/);
  assert.match(dump, /\tshop\t2\t\\\\x/);
});
