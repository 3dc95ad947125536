// ui_mocks_rest.test.mjs - the list filters the console's Mocks page needs from GET /api/v1/mocks:
// includeDeleted (the "show deleted" switch) and folderId (the folder filter; empty = no folder).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/harness.mjs';

let s;
before(async () => {
  s = await startStack();
  assert.equal((await s.api('POST', '/api/v1/mock-folders', { id: 'f-users', name: 'Users' })).status, 201);
  for (const [id, folderId] of [['m-a', 'f-users'], ['m-b', undefined], ['m-c', 'f-users']]) {
    const r = await s.api('POST', '/api/v1/mocks', { id, folderId, http: { route: '/' + id }, response: { payload: id } });
    assert.equal(r.status, 200, r.text);
  }
  assert.equal((await s.api('DELETE', '/api/v1/mocks/m-c')).status, 200);
});
after(async () => { await s?.stop(); });

const ids = (r) => r.body.items.map((m) => m.id);

test('includeDeleted=true lists soft-deleted mocks (with closedAt) beside the live ones', async () => {
  let r = await s.api('GET', '/api/v1/mocks');
  assert.deepEqual(ids(r), ['m-a', 'm-b']);
  r = await s.api('GET', '/api/v1/mocks?includeDeleted=true');
  assert.deepEqual(ids(r), ['m-a', 'm-b', 'm-c']);
  assert.equal(r.body.total, 3);
  assert.ok(r.body.items[2].closedAt > 0);
  r = await s.api('GET', '/api/v1/mocks?includeDeleted=false');
  assert.deepEqual(ids(r), ['m-a', 'm-b']);
});

test('folderId keeps one folder\'s mocks; folderId= (empty) the mocks of no folder', async () => {
  let r = await s.api('GET', '/api/v1/mocks?folderId=f-users');
  assert.deepEqual(ids(r), ['m-a']);
  r = await s.api('GET', '/api/v1/mocks?folderId=f-users&includeDeleted=true');
  assert.deepEqual(ids(r), ['m-a', 'm-c']);
  r = await s.api('GET', '/api/v1/mocks?folderId=');
  assert.deepEqual(ids(r), ['m-b']);
  r = await s.api('GET', '/api/v1/mocks?folderId=nope');
  assert.deepEqual(ids(r), []);
  assert.equal(r.body.total, 0);
});

test('a bad includeDeleted is a 400 naming the parameter', async () => {
  const r = await s.api('GET', '/api/v1/mocks?includeDeleted=yes');
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'validation');
  assert.equal(r.body.field, 'includeDeleted');
});
