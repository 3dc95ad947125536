// limits.test.mjs - useLimiter is enforced across concurrent requests: a mock limited to 5
// uses answers exactly 5 of 50 simultaneous requests, and its useCounter ends at 5.
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

test('useLimiter 5 under 50 concurrent requests: exactly 5 hits, useCounter 5', async () => {
  const c = await s.api('POST', '/api/v1/mocks', {
    id: 'limited',
    http: { route: '/limited', httpMethod: 'GET' },
    useLimiter: 5,
    response: { payload: { ok: true } },
  });
  assert.equal(c.status, 200, c.text);
  const results = await Promise.all(
    Array.from({ length: 50 }, () => s.api('GET', '/limited', undefined, { token: null })),
  );
  const hits = results.filter((r) => r.status === 200);
  const misses = results.filter((r) => r.status === 404);
  assert.equal(hits.length, 5, `statuses: ${results.map((r) => r.status).join(',')}`);
  assert.equal(misses.length, 45);
  for (const h of hits) assert.deepEqual(h.body, { ok: true });
  for (const m of misses) assert.equal(m.body.code, 'not_found');

  const g = await s.api('GET', '/api/v1/mocks/limited');
  assert.equal(g.status, 200);
  const counter = g.body.useCounter ?? g.body._meta?.useCounter;
  assert.equal(counter, 5);
});
