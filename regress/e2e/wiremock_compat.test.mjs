// wiremock_compat.test.mjs - a WireMock user's script runs unchanged against the admin node.
// What a user would notice: the documented WireMock admin calls (POST/GET/DELETE /__admin/mappings,
// /__admin/mappings/{id}, /__admin/mappings/import, /__admin/reset) answer in WireMock's shapes, the
// stubbed endpoint answers on the node's mock port as the mapping says, deleting and resetting
// remove it, and /__admin is never mock traffic.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/harness.mjs';

let s;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s?.stop();
});

// What a WireMock script does: plain fetch with JSON bodies (the token is the only addition).
const admin = (method, path, body) => s.api(method, path, body);
const call = (path, init = {}) => s.fetch(path, { token: null, ...init });

test('create, list, call, get, delete, import and reset mappings as WireMock scripts do', async () => {
  const created = await admin('POST', '/__admin/mappings', {
    request: { method: 'GET', url: '/hello' },
    response: { status: 200, body: 'Hello world!', headers: { 'Content-Type': 'text/plain' } },
  });
  assert.equal(created.status, 201, created.text);
  assert.match(created.body.id, /^[0-9a-f-]{36}$/);
  assert.equal(created.body.request.url, '/hello');

  const list = await admin('GET', '/__admin/mappings');
  assert.equal(list.status, 200);
  assert.equal(list.body.meta.total, 1);
  assert.equal(list.body.mappings[0].id, created.body.id);
  assert.deepEqual(list.body.mappings[0].response, created.body.response);

  let r = await call('/hello');
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'Hello world!');
  assert.match(r.headers.get('content-type'), /text\/plain/);

  // a mapping with the client's own id, a JSON body matcher and a JSON answer
  const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
  const second = await admin('POST', '/__admin/mappings', {
    id,
    priority: 1,
    request: { method: 'POST', urlPath: '/orders', bodyPatterns: [{ matchesJsonPath: '$.item' }] },
    response: { status: 201, jsonBody: { ok: true }, headers: { 'Content-Type': 'application/json' } },
  });
  assert.equal(second.status, 201, second.text);
  assert.equal(second.body.id, id);
  r = await call('/orders', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"item":"pen"}' });
  assert.equal(r.status, 201);
  assert.deepEqual(await r.json(), { ok: true });
  r = await call('/orders', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"other":1}' });
  assert.equal(r.status, 404, 'the body pattern must hold');

  const one = await admin('GET', `/__admin/mappings/${id}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.request.urlPath, '/orders');

  const del = await admin('DELETE', `/__admin/mappings/${id}`);
  assert.equal(del.status, 200, del.text);
  assert.equal((await admin('GET', `/__admin/mappings/${id}`)).status, 404);
  r = await call('/orders', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"item":"pen"}' });
  assert.equal(r.status, 404, 'a deleted mapping no longer answers');

  const imported = await admin('POST', '/__admin/mappings/import', {
    mappings: [
      { request: { method: 'GET', urlPathPattern: '/items/[0-9]+' }, response: { status: 200, body: 'item' } },
      { request: { method: 'DELETE', url: '/items/1' }, response: { status: 204 } },
    ],
  });
  assert.equal(imported.status, 200, imported.text);
  assert.equal(imported.body.created, 2);
  assert.equal((await admin('GET', '/__admin/mappings')).body.meta.total, 3);
  r = await call('/items/42');
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'item');

  const reset = await admin('POST', '/__admin/reset');
  assert.equal(reset.status, 200, reset.text);
  const after = await admin('GET', '/__admin/mappings');
  assert.deepEqual(after.body, { mappings: [], meta: { total: 0 } });
  assert.equal((await call('/hello')).status, 404);
  assert.equal((await call('/items/42')).status, 404);

  // DELETE /__admin/mappings removes everything too
  await admin('POST', '/__admin/mappings', { request: { method: 'GET', url: '/again' }, response: { status: 200 } });
  assert.equal((await call('/again')).status, 200);
  assert.equal((await admin('DELETE', '/__admin/mappings')).status, 200);
  assert.equal((await call('/again')).status, 404);
});

test('the admin surface needs a token, keeps to a namespace and is never mock traffic', async () => {
  const anon = await s.api('POST', '/__admin/mappings', { request: { url: '/x' }, response: { status: 200 } }, { token: null });
  assert.equal(anon.status, 401);
  const inNs = await admin('POST', '/__admin/mappings?namespace=team-w', {
    request: { method: 'GET', url: '/ns-only' },
    response: { status: 200, body: 'team' },
  });
  assert.equal(inNs.status, 201, inNs.text);
  assert.equal((await admin('GET', '/__admin/mappings')).body.meta.total, 0, 'sandbox does not list team-w');
  assert.equal((await admin('GET', '/__admin/mappings?namespace=team-w')).body.meta.total, 1);
  assert.equal((await call('/stubs/team-w/ns-only')).status, 200);
  assert.equal((await call('/ns-only')).status, 404);
  // a mock on /__admin/... never shadows the admin surface
  const shadow = await s.api('POST', '/api/v1/mocks', { http: { route: '/__admin/anything', httpMethod: 'GET' }, response: { statusCode: 200 } });
  assert.ok(shadow.status === 200 || shadow.status === 201, shadow.text);
  assert.equal((await call('/__admin/anything')).status, 404, 'the mock on /__admin/anything must not answer');
  assert.equal((await admin('GET', '/__admin/anything')).status, 404);
  const bad = await admin('POST', '/__admin/mappings', '{"request": ');
  assert.equal(bad.status, 400);
});
