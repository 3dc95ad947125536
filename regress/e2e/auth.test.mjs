// auth.test.mjs - the REST API needs an mk_ token (Bearer or X-API-Key) unless AUTH_MODE=local;
// mock traffic needs none; a revoked token stops working at once; bodies over the limit get 413.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitUntil } from './lib/harness.mjs';

let s;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s?.stop();
});

test('401 envelope without a token, and with a wrong one', async () => {
  const r = await s.api('GET', '/api/v1/mocks', undefined, { token: null });
  assert.equal(r.status, 401);
  assert.equal(r.body.code, 'unauthorized');
  assert.ok(r.body.request_id);
  const bad = await s.api('GET', '/api/v1/mocks', undefined, { token: 'mk_000000000000_nope' });
  assert.equal(bad.status, 401);
  assert.equal(bad.body.code, 'unauthorized');
  const create = await s.api('POST', '/mock/create', { id: 'x', http: { route: '/x' } }, { token: null });
  assert.equal(create.status, 401);
});

test('Bearer and X-API-Key are both accepted', async () => {
  const bearer = await s.api('GET', '/api/v1/mocks');
  assert.equal(bearer.status, 200, bearer.text);
  const apiKey = await s.api('GET', '/api/v1/mocks', undefined, { apiKey: true });
  assert.equal(apiKey.status, 200, apiKey.text);
});

test('health and mock traffic need no token', async () => {
  assert.equal((await s.api('GET', '/health', undefined, { token: null })).status, 200);
  assert.equal((await s.api('GET', '/health/ready', undefined, { token: null })).status, 200);
  assert.equal((await s.api('GET', '/health/live', undefined, { token: null })).status, 200);
  const m = await s.api('GET', '/metrics', undefined, { token: null });
  assert.equal(m.status, 200);
  assert.match(m.text, /mockarty_admin_requests_total \d+/);
  assert.match(m.text, /mockarty_admin_mocks_loaded \d+/);
});

test('a deleted token is refused within a second (cache purged by NOTIFY)', async () => {
  const t = await s.psqlJson("SELECT mockarty.token_create('short-lived')");
  const ok = await s.api('GET', '/api/v1/mocks', undefined, { token: t.token });
  assert.equal(ok.status, 200);
  await s.psql(`SELECT mockarty.token_delete('${t.token_info.id}')`);
  await waitUntil(async () => (await s.api('GET', '/api/v1/mocks', undefined, { token: t.token })).status === 401, 1000, 10, 'revocation');
});

test('AUTH_MODE=local needs no token', async () => {
  const local = await s.spawnAdmin({ AUTH_MODE: 'local' });
  const r = await s.api('GET', '/api/v1/mocks', undefined, { token: null, base: local.url });
  assert.equal(r.status, 200, r.text);
  const c = await s.api('POST', '/api/v1/mocks', { id: 'local-made', http: { route: '/local-made' }, response: { payload: 'hi' } }, { token: null, base: local.url });
  assert.equal(c.status, 200, c.text);
  await local.stop();
});

test('413 envelope over HTTP_REQUEST_BODY_SIZE_LIMIT_MB', async () => {
  const small = await s.spawnAdmin({ HTTP_REQUEST_BODY_SIZE_LIMIT_MB: '1' });
  const big = JSON.stringify({ id: 'big', http: { route: '/big' }, response: { payload: 'x'.repeat(1200 * 1024) } });
  const r = await s.api('POST', '/api/v1/mocks', big, { base: small.url });
  assert.equal(r.status, 413);
  assert.equal(r.body.code, 'validation');
  // under the limit still works on the same node
  const ok = await s.api('POST', '/api/v1/mocks', { id: 'small', http: { route: '/small' }, response: { payload: 'x'.repeat(1000) } }, { base: small.url });
  assert.equal(ok.status, 200, ok.text);
  const none = await s.psql("SELECT count(*) FROM mockarty.snapshot() WHERE mock->>'id' = 'big'");
  assert.equal(none, '0');
  await small.stop();
});
