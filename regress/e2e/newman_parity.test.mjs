// newman_parity.test.mjs - the acceptance point of the API-testing issue: the parity collection
// (regress/apitest, 20+ requests in folders, bearer/basic/apikey auth, raw/urlencoded/form-data
// bodies, captures chaining requests, deliberate failures) run by newman and by
// daemons/build/mockarty-apitest against mocks on an admin node gives the same pass/fail for every
// (request, test) pair.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, repoRoot } from './lib/harness.mjs';
import { runNewman, runApitestCli, resultPairs, compareParity } from './lib/apitest.mjs';

const dir = path.join(repoRoot, 'regress/apitest');
const collPath = path.join(dir, 'parity.postman_collection.json');
const collection = JSON.parse(fs.readFileSync(collPath, 'utf8'));
const envDoc = JSON.parse(fs.readFileSync(path.join(dir, 'parity.postman_environment.json'), 'utf8'));
const mocks = JSON.parse(fs.readFileSync(path.join(dir, 'parity.mocks.json'), 'utf8'));

let s;
let values;
before(async () => {
  s = await startStack();
  for (const m of mocks) {
    const r = await s.api('POST', '/api/v1/mocks', m);
    assert.equal(r.status, 200, `creating mock ${m.id}: ${r.text}`);
  }
  values = Object.fromEntries(envDoc.values.filter((v) => v.enabled !== false).map((v) => [v.key, v.value]));
  values.baseUrl = s.url;
});
after(async () => {
  await s?.stop();
});

function countRequests(items) {
  return items.reduce((n, it) => n + (it.item ? countRequests(it.item) : it.request ? 1 : 0), 0);
}

test('newman and mockarty-apitest agree on every test of the parity collection', async () => {
  assert.ok(countRequests(collection.item) >= 20, 'the parity collection has at least 20 requests');
  const { pairs: ref, summary } = await runNewman(collection, values);
  assert.equal(summary.run.stats.requests.total, countRequests(collection.item));
  const { code, result, stderr } = await runApitestCli(collPath, values);
  assert.ok(result, `mockarty-apitest printed no JSON (exit ${code}): ${stderr}`);
  const ours = resultPairs(result);
  const d = compareParity(ref, ours);
  assert.ok(d.equal, 'parity differs:\n' + JSON.stringify(d, null, 2) + '\n--- mockarty-apitest ---\n' + stderr);
  assert.equal(result.results.length, countRequests(collection.item));
  assert.ok(ref.some((p) => !p.passed), 'some tests fail on purpose');
  assert.ok(ref.filter((p) => p.passed).length >= 20, 'most tests pass');
  assert.equal(result.skippedTests, 0, 'the parity collection uses only translatable patterns');
  assert.equal(code, 1, 'exit status 1: some tests failed');
  assert.equal(result.failedTests, ref.filter((p) => !p.passed).length);
});
