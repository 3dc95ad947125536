// badinput.test.mjs - bad mocks are refused with a 4xx that names the problem (line/column,
// UTF-8, nesting, the JSON path of the field), and nothing is stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/harness.mjs';

let s;
let total0;
before(async () => {
  s = await startStack();
  const c = await s.api('POST', '/api/v1/mocks', { id: 'good', http: { route: '/good' }, response: { payload: 'ok' } });
  assert.equal(c.status, 200, c.text);
  total0 = (await s.api('GET', '/api/v1/mocks')).body.total;
});
after(async () => {
  await s?.stop();
});

async function refused(body, re, status = 400) {
  const r = await s.api('POST', '/api/v1/mocks', body);
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.code, 'validation', r.text);
  assert.match(r.body.error, re, r.text);
  assert.equal(typeof r.body.request_id, 'string');
  return r;
}

test('malformed JSON: 400 naming line and column', async () => {
  await refused('{\n  "id": "broken",\n  "http": {"route": "/b"\n', /line 4/i);
  await refused('{"id": "broken", }', /line 1, column \d+/i);
  await refused('', /empty/i);
});

test('invalid UTF-8: 400', async () => {
  const bytes = Buffer.concat([Buffer.from('{"id":"utf","http":{"route":"/u"},"response":{"payload":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}}')]);
  await refused(new Uint8Array(bytes), /UTF-8/i);
});

test('nesting deeper than 64: 400', async () => {
  let deep = 'x';
  for (let i = 0; i < 100; i++) deep = { d: deep };
  await refused({ id: 'deep', http: { route: '/deep' }, response: { payload: deep } }, /nest|depth|deep/i);
});

test('wrong types: 400 with the JSON path', async () => {
  await refused({ id: 'wt1', http: { route: 123 } }, /\$\.http\.route/);
  await refused({ id: 'wt2', http: { route: '/x' }, priority: 'high' }, /\$\.priority/);
  await refused({ id: 'wt3', http: { route: '/x', conditions: [{ path: '$.a', assertAction: 'sortOf', value: 1 }] } }, /\$\.http\.conditions\[0\]/);
  await refused({ id: 7, http: { route: '/x' } }, /\$\.id/);
  await refused(['not', 'an', 'object'], /object/);
});

test('two protocol sections: 400', async () => {
  await refused({ id: 'two', http: { route: '/two' }, grpc: { service: 'S', method: 'M' } }, /protocol|grpc|http/i);
});

test('unknown section: 400 naming it', async () => {
  await refused({ id: 'unk', http: { route: '/unk' }, bogusSection: {} }, /bogusSection/);
});

test('unknown ids: 404 not_found on get, patch, delete, restore, purge', async () => {
  for (const [m, p, b] of [
    ['GET', '/api/v1/mocks/no-such-mock'],
    ['PATCH', '/api/v1/mocks/no-such-mock', { priority: 3 }],
    ['DELETE', '/api/v1/mocks/no-such-mock'],
    ['POST', '/api/v1/mocks/no-such-mock/restore'],
    ['DELETE', '/api/v1/mocks/no-such-mock/purge'],
  ]) {
    const r = await s.api(m, p, b);
    assert.equal(r.status, 404, `${m} ${p}: ${r.text}`);
    assert.equal(r.body.code, 'not_found');
  }
});

test('a bad PATCH is refused and leaves the mock unchanged', async () => {
  const r = await s.api('PATCH', '/api/v1/mocks/good', { http: { route: 42 } });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.code, 'validation');
  const g = await s.api('GET', '/api/v1/mocks/good');
  assert.equal(g.body.http.route, '/good');
});

test('nothing was stored by any refused request', async () => {
  const list = await s.api('GET', '/api/v1/mocks');
  assert.equal(list.body.total, total0);
  const ids = await s.psql("SELECT string_agg(mock->>'id', ',' ORDER BY mock->>'id') FROM mockarty.snapshot()");
  assert.equal(ids, 'good');
});
