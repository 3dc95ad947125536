// apitest_rest.test.mjs - the admin node's REST surface of API-test collections, environments,
// test runs and load tests (daemons/admin/rest/apitest.c, perf.c), called the way the
// SDKs and the integrations guide call it. No runner daemon takes part: where a run has to finish,
// a "fake runner" leases and completes the task through SQL (mockarty.task_accept / task_complete)
// with a result document in the contract's shape, so these tests do not depend on the runner.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startStack, waitUntil } from './lib/harness.mjs';

let s;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s?.stop();
});

const q = (v) => (v === null || v === undefined ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`);
const UNKNOWN = '00000000-0000-4000-8000-000000000001';

/** A small Postman v2.1 collection; the second request's test has a line nobody can translate. */
function postman(name = 'Users API') {
  return {
    info: {
      _postman_id: '5b1c9a0e-0000-4000-8000-000000000000',
      name,
      description: 'users endpoints',
      schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    },
    item: [
      {
        name: 'List users',
        request: { method: 'GET', url: '{{baseUrl}}/users' },
        event: [{ listen: 'test', script: { type: 'text/javascript', exec: ['pm.test("status is 200", function () {', '  pm.response.to.have.status(200);', '});'] } }],
      },
      {
        name: 'Folder',
        item: [
          {
            name: 'Get user',
            request: { method: 'GET', url: { raw: '{{baseUrl}}/users/1', host: ['{{baseUrl}}'], path: ['users', '1'] } },
            event: [
              {
                listen: 'test',
                script: {
                  type: 'text/javascript',
                  exec: ['pm.test("ok", function () { pm.response.to.have.status(200); });', 'pm.visualizer.set("<b>{{name}}</b>", pm.response.json());'],
                },
              },
            ],
          },
        ],
      },
    ],
    variable: [{ key: 'baseUrl', value: 'http://127.0.0.1:9' }],
  };
}

/** Asserts a 400 validation envelope whose message matches re. */
function assertValidation(r, re) {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body?.code, 'validation', r.text);
  assert.match(r.body.error, re, r.text);
  assert.ok(r.body.request_id !== undefined, 'envelope has request_id');
}
function assertNotFound(r, id) {
  assert.equal(r.status, 404, r.text);
  assert.equal(r.body?.code, 'not_found', r.text);
  if (id) assert.ok(r.body.error.includes(id), `404 names ${id}: ${r.text}`);
}

async function createCollection(ns = 'sandbox', name = 'Users API') {
  const r = await s.api('POST', `/api/v1/api-tester/collections?namespace=${ns}`, postman(name));
  assert.equal(r.status, 201, r.text);
  return r.body;
}

/** The result document a runner stores with task_complete (contract section 3). */
function resultDoc({ failed = 1 } = {}) {
  return {
    totalTests: 3,
    passedTests: 3 - failed - 1,
    failedTests: failed,
    skippedTests: 1,
    durationMs: 1234,
    cancelled: false,
    results: [
      {
        name: 'List users',
        folder: '',
        method: 'GET',
        url: 'http://127.0.0.1:9/users',
        status: 200,
        responseTimeMs: 12,
        assertions: [{ name: 'status is 200', passed: true, skipped: false }],
        skipped: [],
      },
      {
        name: 'Get user',
        folder: 'Folder',
        method: 'GET',
        url: 'http://127.0.0.1:9/users/1',
        status: 500,
        responseTimeMs: 7,
        assertions: [
          { name: 'ok', passed: failed === 0, skipped: false, ...(failed ? { message: 'expected response to have status code 200 but got 500' } : {}) },
          { name: 'pm.visualizer.set("<b>{{name}}</b>", pm.response.json());', passed: false, skipped: true, message: 'not translated' },
        ],
        skipped: [{ line: 2, text: 'pm.visualizer.set("<b>{{name}}</b>", pm.response.json());', reason: 'pm.visualizer is not supported' }],
      },
    ],
    environment: { baseUrl: 'http://127.0.0.1:9' },
  };
}

/**
 * A fake runner of namespace ns: leases the oldest eligible task of kind (retrying until one is
 * queued), starts it and completes it with result. Resolves to the task id.
 */
async function fakeRun(ns, kind, result, status = 'completed') {
  const acc = await waitUntil(async () => {
    const a = await s.psqlJson(`SELECT mockarty.task_accept('fake-runner-${ns}', 'fake', ${q(ns)}, false, ARRAY[${q(kind)}], 10, 60000)`);
    return a?.accepted ? a : null;
  }, 15000, 25, `a ${kind} task queued in ${ns}`);
  const id = acc.task.id;
  const lease = acc.task.leaseId;
  const st = await s.psqlJson(`SELECT mockarty.task_start(${q(id)}, ${q(lease)})`);
  assert.equal(st.ok, true, JSON.stringify(st));
  const done = await s.psqlJson(`SELECT mockarty.task_complete(${q(id)}, ${q(lease)}, ${q(status)}, ${q(JSON.stringify(result))}::jsonb)`);
  assert.equal(done.ok, true, JSON.stringify(done));
  return id;
}

// ------------------------------------------------------------------ collections

test('create: the Postman document itself as the body, with import warnings', async () => {
  const r = await s.api('POST', '/api/v1/api-tester/collections', postman('Doc form'));
  assert.equal(r.status, 201, r.text);
  const c = r.body;
  assert.match(c.id, /^[0-9a-f-]{36}$/);
  assert.equal(c.name, 'Doc form');
  assert.equal(c.namespace, 'sandbox');
  assert.equal(c.description, 'users endpoints');
  assert.equal(c.requestCount, 2);
  assert.equal(c.collection.info.name, 'Doc form');
  assert.ok(Array.isArray(c.importWarnings), r.text);
  const w = c.importWarnings.find((x) => /visualizer/.test(x.text));
  assert.ok(w, `a warning for the untranslatable line: ${JSON.stringify(c.importWarnings)}`);
  assert.equal(w.request, 'Get user');
  assert.equal(typeof w.reason, 'string');
  assert.ok(w.line !== undefined);
  // the translatable test produced no warning
  assert.equal(c.importWarnings.filter((x) => /have\.status/.test(x.text)).length, 0);
});

test('create: {name, description, namespace, collection} and {data: "<text>"}', async () => {
  const wrapped = await s.api('POST', '/api/v1/api-tester/collections', {
    name: 'Wrapped',
    description: 'given here',
    namespace: 'team-w',
    metadata: { owner: 'qa' },
    collection: postman('inner name'),
  });
  assert.equal(wrapped.status, 201, wrapped.text);
  assert.equal(wrapped.body.name, 'Wrapped');
  assert.equal(wrapped.body.description, 'given here');
  assert.equal(wrapped.body.namespace, 'team-w');
  assert.deepEqual(wrapped.body.metadata, { owner: 'qa' });

  const data = await s.api('POST', '/api/v1/api-tester/collections', { data: JSON.stringify(postman('From text')) }, { headers: { 'X-Namespace': 'team-d' } });
  assert.equal(data.status, 201, data.text);
  assert.equal(data.body.name, 'From text');
  assert.equal(data.body.namespace, 'team-d');
  assert.equal(data.body.requestCount, 2);

  const list = await s.api('GET', '/api/v1/api-tester/collections?namespace=team-w');
  assert.equal(list.status, 200, list.text);
  assert.ok(Array.isArray(list.body));
  assert.deepEqual(list.body.map((c) => c.name), ['Wrapped']);
  assert.equal(list.body[0].collection, undefined, 'lists leave the document out');
});

test('create: bad JSON, bad data text, missing item, missing name are 400s naming the problem', async () => {
  const bad = await s.api('POST', '/api/v1/api-tester/collections', '{"info": {"name": "x"}, "item": [,]}');
  assertValidation(bad, /offset \d+/);
  assert.equal(typeof bad.body.offset, 'number');

  const badData = await s.api('POST', '/api/v1/api-tester/collections', { data: '{"info": {"name": "x"' });
  assertValidation(badData, /^data: malformed JSON at offset \d+/);
  assert.equal(badData.body.field, 'data');

  const noItem = await s.api('POST', '/api/v1/api-tester/collections', { name: 'n', collection: { info: { name: 'x' } } });
  assertValidation(noItem, /item/);

  const noName = await s.api('POST', '/api/v1/api-tester/collections', { collection: { item: [] } });
  assertValidation(noName, /name/);

  const nothing = await s.api('POST', '/api/v1/api-tester/collections', { name: 'x' });
  assertValidation(nothing, /collection: is required/);

  const badUrl = await s.api('POST', '/api/v1/api-tester/collections', { name: 'x', collection: { info: { name: 'x' }, item: [{ name: 'r', request: { method: 'GET', url: 42 } }] } });
  assertValidation(badUrl, /collection\.item\[0\]/);
});

test('get, put (three forms), export, duplicate, delete; namespaces and unknown ids are 404', async () => {
  const c = await createCollection('team-g', 'G');
  const got = await s.api('GET', `/api/v1/api-tester/collections/${c.id}`);
  assert.equal(got.status, 200, got.text);
  assert.equal(got.body.name, 'G');
  assert.deepEqual(got.body.collection, postman('G'));

  assertNotFound(await s.api('GET', `/api/v1/api-tester/collections/${c.id}?namespace=other`), c.id);
  assertNotFound(await s.api('GET', `/api/v1/api-tester/collections/${c.id}`, undefined, { headers: { 'X-Namespace': 'other' } }), c.id);
  assertNotFound(await s.api('GET', `/api/v1/api-tester/collections/${UNKNOWN}`), UNKNOWN);
  assertNotFound(await s.api('GET', '/api/v1/api-tester/collections/not-a-uuid'), 'not-a-uuid');

  // a namespace-bound token sees other namespaces' collections as unknown
  assert.equal((await s.api('POST', '/api/v1/namespaces', { name: 'team-x' })).status, 201);
  const bound = await s.psql("SELECT mockarty.token_create('bound', 'admin', 'team-x')->>'token'");
  assertNotFound(await s.api('GET', `/api/v1/api-tester/collections/${c.id}`, undefined, { token: bound }), c.id);

  const put1 = await s.api('PUT', `/api/v1/api-tester/collections/${c.id}`, postman('G renamed by document'));
  assert.equal(put1.status, 200, put1.text);
  assert.equal(put1.body.name, 'G renamed by document');
  assert.ok(put1.body.importWarnings.length >= 1);

  const put2 = await s.api('PUT', `/api/v1/api-tester/collections/${c.id}`, { name: 'G2', description: 'd2' });
  assert.equal(put2.status, 200, put2.text);
  assert.equal(put2.body.name, 'G2');
  assert.equal(put2.body.description, 'd2');
  assert.equal(put2.body.collection.info.name, 'G renamed by document', 'the document is unchanged');

  const doc3 = postman('G3');
  doc3.item.pop();
  const put3 = await s.api('PUT', `/api/v1/api-tester/collections/${c.id}`, { data: JSON.stringify(doc3) });
  assert.equal(put3.status, 200, put3.text);
  assert.equal(put3.body.requestCount, 1);
  assert.equal(put3.body.name, 'G2', 'data form keeps the stored name');

  assertValidation(await s.api('PUT', `/api/v1/api-tester/collections/${c.id}`, {}), /nothing to update/);
  assertNotFound(await s.api('PUT', `/api/v1/api-tester/collections/${UNKNOWN}`, { name: 'x' }), UNKNOWN);

  const exp = await s.api('GET', `/api/v1/api-tester/collections/${c.id}/export`);
  assert.equal(exp.status, 200, exp.text);
  assert.deepEqual(exp.body, doc3);

  const dup = await s.api('POST', `/api/v1/api-tester/collections/${c.id}/duplicate`);
  assert.equal(dup.status, 201, dup.text);
  assert.notEqual(dup.body.id, c.id);
  assert.equal(dup.body.name, 'G2 (copy)');
  assert.equal(dup.body.namespace, 'team-g');
  assert.deepEqual(dup.body.collection, doc3);

  const del = await s.api('DELETE', `/api/v1/api-tester/collections/${dup.body.id}`);
  assert.equal(del.status, 200, del.text);
  assert.equal(del.body.deleted, true);
  assertNotFound(await s.api('GET', `/api/v1/api-tester/collections/${dup.body.id}`), dup.body.id);
  assertNotFound(await s.api('DELETE', `/api/v1/api-tester/collections/${dup.body.id}`), dup.body.id);
});

test('batch delete removes the given ids and reports the unknown ones', async () => {
  const a = await createCollection('team-b', 'A');
  const b = await createCollection('team-b', 'B');
  const keep = await createCollection('team-b', 'Keep');
  const r = await s.api('DELETE', '/api/v1/api-tester/collections/batch', { ids: [a.id, b.id, UNKNOWN, 'junk'] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.deleted, 2);
  assert.deepEqual(r.body.ids.sort(), [a.id, b.id].sort());
  assert.deepEqual(r.body.notFound, [UNKNOWN, 'junk']);
  const left = await s.api('GET', '/api/v1/api-tester/collections?namespace=team-b');
  assert.deepEqual(left.body.map((c) => c.id), [keep.id]);
  assertValidation(await s.api('DELETE', '/api/v1/api-tester/collections/batch', {}), /ids/);
});

test('import/postman: the collection itself (Python) and {"data"} (Go/Java)', async () => {
  const p = await s.api('POST', '/api/v1/api-tester/import/postman?namespace=imp', postman('Imported P'));
  assert.equal(p.status, 201, p.text);
  assert.match(p.body.collectionId, /^[0-9a-f-]{36}$/);
  assert.equal(p.body.name, 'Imported P');
  assert.equal(p.body.imported, 2);
  assert.equal(typeof p.body.message, 'string');
  assert.ok(p.body.warnings.some((w) => /visualizer/.test(w.text)), p.text);

  const g = await s.api('POST', '/api/v1/api-tester/import/postman', { data: JSON.stringify(postman('Imported G')), namespace: 'imp' });
  assert.equal(g.status, 201, g.text);
  assert.equal(g.body.name, 'Imported G');
  assert.equal(g.body.imported, 2);
  const got = await s.api('GET', `/api/v1/api-tester/collections/${g.body.collectionId}`);
  assert.equal(got.body.namespace, 'imp');

  assertValidation(await s.api('POST', '/api/v1/api-tester/import/postman', { data: 'not json' }), /data: malformed JSON/);
  assertValidation(await s.api('POST', '/api/v1/api-tester/import/insomnia', { data: '{}' }), /insomnia/);
});

// ------------------------------------------------------------------ environments

test('environments: create (both forms), list, get, put, activate, active, delete', async () => {
  const e1 = await s.api('POST', '/api/v1/api-tester/environments', { name: 'dev', variables: { baseUrl: 'http://dev', n: 1 }, namespace: 'env-ns' });
  assert.equal(e1.status, 201, e1.text);
  assert.equal(e1.body.name, 'dev');
  assert.equal(e1.body.namespace, 'env-ns');
  assert.deepEqual(e1.body.variables, { baseUrl: 'http://dev', n: 1 });

  const e2 = await s.api('POST', '/api/v1/api-tester/environments?namespace=env-ns', {
    id: '3f6d1a2b-1111-4222-8333-444455556666',
    name: 'Staging export',
    values: [
      { key: 'baseUrl', value: 'http://staging', enabled: true },
      { key: 'off', value: 'x', enabled: false },
    ],
    _postman_variable_scope: 'environment',
  });
  assert.equal(e2.status, 201, e2.text);
  assert.deepEqual(e2.body.variables, { baseUrl: 'http://staging' });

  const list = await s.api('GET', '/api/v1/api-tester/environments?namespace=env-ns');
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.map((e) => e.name).sort(), ['Staging export', 'dev']);

  assertNotFound(await s.api('GET', '/api/v1/api-tester/environments/active?namespace=env-ns'), 'env-ns');
  const act = await s.api('POST', `/api/v1/api-tester/environments/${e1.body.id}/activate`);
  assert.equal(act.status, 200, act.text);
  assert.equal(act.body.isActive, true);
  const active = await s.api('GET', '/api/v1/api-tester/environments/active', undefined, { headers: { 'X-Namespace': 'env-ns' } });
  assert.equal(active.status, 200, active.text);
  assert.equal(active.body.id, e1.body.id);

  const put = await s.api('PUT', `/api/v1/api-tester/environments/${e2.body.id}`, { values: [{ key: 'a', value: '1' }] });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.body.variables, { a: '1' });
  const put2 = await s.api('PUT', `/api/v1/api-tester/environments/${e2.body.id}`, { name: 'renamed', variables: { b: 2 } });
  assert.equal(put2.body.name, 'renamed');
  assert.deepEqual(put2.body.variables, { b: 2 });

  const got = await s.api('GET', `/api/v1/api-tester/environments/${e2.body.id}`);
  assert.equal(got.status, 200, got.text);
  assert.equal(got.body.name, 'renamed');
  assertNotFound(await s.api('GET', `/api/v1/api-tester/environments/${e2.body.id}?namespace=elsewhere`), e2.body.id);

  assertValidation(await s.api('POST', '/api/v1/api-tester/environments', { variables: {} }), /name/);
  assertValidation(await s.api('POST', '/api/v1/api-tester/environments', { name: 'x', variables: 'nope' }), /variables/);

  const del = await s.api('DELETE', `/api/v1/api-tester/environments/${e2.body.id}`);
  assert.equal(del.status, 200, del.text);
  assertNotFound(await s.api('GET', `/api/v1/api-tester/environments/${e2.body.id}`), e2.body.id);
  assertNotFound(await s.api('POST', `/api/v1/api-tester/environments/${UNKNOWN}/activate`), UNKNOWN);
});

// ------------------------------------------------------------------ runs

test('run, execute, run-multiple, execute-multiple return queued TestRuns at once', async () => {
  const c = await createCollection('runs', 'R1');
  const c2 = await createCollection('runs', 'R2');
  const env = (await s.api('POST', '/api/v1/api-tester/environments', { name: 'e', variables: { baseUrl: 'http://x' }, namespace: 'runs' })).body;

  const run = await s.api('POST', `/api/v1/api-tester/collections/${c.id}/run`, { environmentId: env.id });
  assert.equal(run.status, 201, run.text);
  assert.equal(run.body.status, 'queued');
  assert.equal(run.body.collectionId, c.id);
  assert.equal(run.body.environmentId, env.id);
  assert.equal(run.body.mode, 'functional');
  for (const k of ['id', 'totalTests', 'passedTests', 'failedTests', 'skippedTests', 'results']) assert.ok(k in run.body, `TestRun has ${k}`);

  const ex = await s.api('POST', `/api/v1/api-tester/collections/${c.id}/execute`);
  assert.equal(ex.status, 201, ex.text);
  assert.equal(ex.body.status, 'queued');

  const multi = await s.api('POST', '/api/v1/api-tester/collections/run-multiple', { collectionIds: [c.id, c2.id] });
  assert.equal(multi.status, 201, multi.text);
  assert.deepEqual(multi.body.map((r) => r.collectionId), [c.id, c2.id]);
  const multiG = await s.api('POST', '/api/v1/api-tester/collections/execute-multiple', { collectionIds: [c2.id], environmentId: env.id });
  assert.equal(multiG.status, 201, multiG.text);
  assert.equal(multiG.body.length, 1);

  // the payload a runner receives carries the document and the environment
  const task = await s.psqlJson(`SELECT mockarty.task_get(${q(run.body.id)}, true)`);
  assert.equal(task.kind, 'api_test');
  assert.equal(task.payload.collection.info.name, 'R1');
  assert.deepEqual(task.payload.environment, { baseUrl: 'http://x' });

  assertNotFound(await s.api('POST', `/api/v1/api-tester/collections/${UNKNOWN}/run`), UNKNOWN);
  assertNotFound(await s.api('POST', `/api/v1/api-tester/collections/${c.id}/run`, { environmentId: UNKNOWN }), UNKNOWN);
  assertNotFound(await s.api('POST', '/api/v1/api-tester/collections/run-multiple', { collectionIds: [c.id, UNKNOWN] }), UNKNOWN);
  assertNotFound(await s.api('POST', `/api/v1/api-tester/collections/${c.id}/run?namespace=elsewhere`), c.id);
  assertValidation(await s.api('POST', '/api/v1/api-tester/collections/run-multiple', { collectionIds: [] }), /collectionIds/);
  assertValidation(await s.api('POST', `/api/v1/api-tester/collections/${c.id}/run`, '{"environmentId":'), /offset/);
  assertValidation(await s.api('POST', `/api/v1/api-tester/collections/${c.id}/run?wait=601`), /wait/);
  // nothing was created by the refused calls
  const runs = await s.api('GET', `/api/v1/api-tester/test-runs?referenceId=${c.id}`);
  assert.equal(runs.body.length, 3, runs.text);
});

test("the guide's curl shapes: /ui/api/test-runs/run and /ui/api/perf/run with Bearer mk_ return queued runs", async () => {
  const c = await createCollection('ci', 'CI');
  const env = (await s.api('POST', '/api/v1/api-tester/environments', { name: 'ci', variables: {}, namespace: 'ci' })).body;
  // exactly the guide's request: POST, Content-Type JSON, Authorization: Bearer mk_...
  const r = await fetch(`${s.url}/ui/api/test-runs/run`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${s.token}` },
    body: JSON.stringify({ collectionId: c.id, environmentId: env.id }),
  });
  assert.equal(r.status, 201);
  const run = await r.json();
  assert.equal(run.status, 'queued');
  assert.equal(run.collectionId, c.id);
  const poll = await s.api('GET', `/ui/api/test-runs/${run.id}`);
  assert.equal(poll.status, 200, poll.text);
  assert.equal(poll.body.id, run.id);

  const p = await fetch(`${s.url}/ui/api/perf/run`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${s.token}` },
    body: JSON.stringify({ script: { collectionId: c.id, environmentId: env.id }, options: { duration: '60s', concurrency: 10 } }),
  });
  assert.equal(p.status, 201);
  const perf = await p.json();
  for (const k of ['id', 'name', 'status', 'startedAt']) assert.ok(k in perf, `PerfRun has ${k}: ${JSON.stringify(perf)}`);
  assert.equal(perf.status, 'queued');
  assert.equal(perf.collectionId, c.id);
  assert.equal(perf.namespace, 'ci');

  const none = await fetch(`${s.url}/ui/api/test-runs/run`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ collectionId: c.id }) });
  assert.equal(none.status, 401);
  assertValidation(await s.api('POST', '/ui/api/test-runs/run', {}), /collectionId/);
});

test('?wait= returns the finished run when a runner completes it meanwhile', async () => {
  const c = await createCollection('wait-ns', 'Waited');
  const t0 = Date.now();
  const pending = s.api('POST', `/api/v1/api-tester/collections/${c.id}/run?wait=30`);
  const taskId = await fakeRun('wait-ns', 'api_test', resultDoc());
  const r = await pending;
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.id, taskId);
  assert.equal(r.body.status, 'failed');
  assert.equal(r.body.totalTests, 3);
  assert.equal(r.body.passedTests, 1);
  assert.equal(r.body.failedTests, 1);
  assert.equal(r.body.skippedTests, 1);
  assert.equal(r.body.results.length, 2);
  assert.ok(Date.now() - t0 < 20000, 'returned soon after completion');

  // the guide's CI call with wait, a passing run
  const pending2 = s.api('POST', '/ui/api/test-runs/run?wait=30', { collectionId: c.id });
  await fakeRun('wait-ns', 'api_test', resultDoc({ failed: 0 }));
  const r2 = await pending2;
  assert.equal(r2.status, 201, r2.text);
  assert.equal(r2.body.status, 'passed');

  // wait on a run nobody executes returns it queued when the time is up
  const t1 = Date.now();
  const slow = await s.api('POST', `/api/v1/api-tester/collections/${c.id}/run?wait=1`);
  assert.equal(slow.status, 201, slow.text);
  assert.equal(slow.body.status, 'queued');
  assert.ok(Date.now() - t1 >= 900, 'waited about a second');
  // GET with wait too
  const g = await s.api('GET', `/api/v1/api-tester/test-runs/${slow.body.id}?wait=1`);
  assert.equal(g.body.status, 'queued');
  await s.api('POST', `/api/v1/api-tester/test-runs/${slow.body.id}/cancel`);
});

test('?wait= is capped at THREADS-1 concurrent waiters; the next one is 429 and creates nothing', async () => {
  // a node with THREADS=2 admits one waiter; the other pool thread stays free to answer
  const node = await s.spawnAdmin({ THREADS: '2' });
  const c = await createCollection('cap-ns', 'Cap');
  const run = (await s.api('POST', `/api/v1/api-tester/collections/${c.id}/run`)).body;
  const waiting = s.api('GET', `/api/v1/api-tester/test-runs/${run.id}?wait=4`, undefined, { base: node.url });
  // the waiter is in once its poll query has run on the database
  await waitUntil(async () => Number(await s.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mockarty-admin' AND query LIKE '%test_run_get(x::uuid)%'")) > 0, 5000, 20, 'the waiter polling');
  const refused = await s.api('POST', `/api/v1/api-tester/collections/${c.id}/run?wait=3`, undefined, { base: node.url });
  assert.equal(refused.status, 429, refused.text);
  assert.equal(refused.body.code, 'rate_limit');
  // a call without wait is served meanwhile
  const quick = await s.api('GET', `/api/v1/api-tester/test-runs/${run.id}`, undefined, { base: node.url });
  assert.equal(quick.status, 200, quick.text);
  const w = await waiting;
  assert.equal(w.status, 200, w.text);
  assert.equal(w.body.status, 'queued');
  const list = await s.api('GET', `/api/v1/api-tester/test-runs?referenceId=${c.id}`);
  assert.equal(list.body.length, 1, 'the refused call created no run');
  await s.api('POST', `/api/v1/api-tester/test-runs/${run.id}/cancel`);
});

// ------------------------------------------------------------------ test runs

test('test runs: list filters, get, export, reports (junit, markdown, json, unified_json)', async () => {
  const c = await createCollection('rep-ns', 'Reported');
  const pending = s.api('POST', `/api/v1/api-tester/collections/${c.id}/run?wait=30`);
  await fakeRun('rep-ns', 'api_test', resultDoc());
  const run = (await pending).body;
  assert.equal(run.status, 'failed');

  const list = await s.api('GET', '/api/v1/api-tester/test-runs?namespace=rep-ns&mode=functional');
  assert.equal(list.status, 200, list.text);
  assert.ok(Array.isArray(list.body));
  assert.deepEqual(list.body.map((r) => r.id), [run.id]);
  const byRef = await s.api('GET', `/api/v1/api-tester/test-runs?referenceId=${c.id}&limit=5&offset=0`);
  assert.deepEqual(byRef.body.map((r) => r.id), [run.id]);
  const fuzz = await s.api('GET', '/api/v1/api-tester/test-runs?mode=fuzz');
  assert.deepEqual(fuzz.body, []);
  assertValidation(await s.api('GET', '/api/v1/api-tester/test-runs?mode=bogus'), /mode.*bogus/);
  assertValidation(await s.api('GET', '/api/v1/api-tester/test-runs?limit=0'), /limit/);

  const got = await s.api('GET', `/api/v1/api-tester/test-runs/${run.id}`);
  assert.equal(got.status, 200, got.text);
  assert.equal(got.body.failedTests, 1);
  assertNotFound(await s.api('GET', `/api/v1/api-tester/test-runs/${run.id}?namespace=other`), run.id);
  assertNotFound(await s.api('GET', `/api/v1/api-tester/test-runs/${UNKNOWN}`), UNKNOWN);

  const exp = await s.api('GET', `/api/v1/api-tester/test-runs/${run.id}/export`);
  assert.equal(exp.status, 200, exp.text);
  assert.equal(exp.body.id, run.id);
  assert.equal(exp.body.results.length, 2);

  const junit = await s.api('GET', `/api/v1/api-tester/test-runs/${run.id}/report?format=junit`);
  assert.equal(junit.status, 200, junit.text);
  assert.match(junit.headers.get('content-type'), /^application\/xml/);
  assert.match(junit.text, /<testsuites?[\s>]/);
  assert.match(junit.text, /<failure/);
  const xml = spawnSync('python3', ['-c', 'import sys, xml.dom.minidom as m; d = m.parseString(sys.stdin.buffer.read()); print(len(d.getElementsByTagName("testcase")))'], { input: junit.text });
  assert.equal(xml.status, 0, `JUnit parses as XML: ${xml.stderr}`);
  assert.ok(Number(String(xml.stdout).trim()) >= 2, `testcases: ${xml.stdout}`);

  const md = await s.api('GET', `/api/v1/api-tester/test-runs/${run.id}/report?format=markdown`);
  assert.equal(md.status, 200, md.text);
  assert.match(md.headers.get('content-type'), /^text\/markdown/);
  assert.match(md.text, /^\|.*\|\s*$/m, 'a table row');
  assert.match(md.text, /^\|\s*:?-{3,}/m, 'a table header separator');

  const js = await s.api('GET', `/api/v1/api-tester/test-runs/${run.id}/report?format=json`);
  assert.equal(js.body.id, run.id);
  const uj = await s.api('GET', `/api/v1/api-tester/test-runs/${run.id}/report?format=unified_json`);
  assert.equal(uj.status, 200, uj.text);
  assert.equal(uj.body.format, 'unified_json');
  assert.equal(uj.body.summary.failed, 1);
  assert.deepEqual(uj.body.cases.map((x) => x.status), ['passed', 'failed', 'skipped']);

  const badFmt = await s.api('GET', `/api/v1/api-tester/test-runs/${run.id}/report?format=pdf`);
  assertValidation(badFmt, /"pdf"/);
  assert.equal(badFmt.body.field, 'format');
});

test('cancel, active runs, delete', async () => {
  const c = await createCollection('act-ns', 'Active');
  const r1 = (await s.api('POST', `/api/v1/api-tester/collections/${c.id}/run`)).body;
  const r2 = (await s.api('POST', `/api/v1/api-tester/collections/${c.id}/run`)).body;
  const active = await s.api('GET', '/api/v1/test-runs/active?namespace=act-ns');
  assert.equal(active.status, 200, active.text);
  assert.deepEqual(active.body.fuzz, []);
  assert.deepEqual(active.body.chaos, []);
  assert.deepEqual(active.body.runs.map((r) => r.id).sort(), [r1.id, r2.id].sort());

  const cancelled = await s.api('POST', `/api/v1/api-tester/test-runs/${r1.id}/cancel`);
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(cancelled.body.status, 'cancelled');
  const after = await s.api('GET', '/api/v1/test-runs/active?namespace=act-ns');
  assert.deepEqual(after.body.runs.map((r) => r.id), [r2.id]);
  assertNotFound(await s.api('POST', `/api/v1/api-tester/test-runs/${UNKNOWN}/cancel`), UNKNOWN);

  const del = await s.api('DELETE', `/api/v1/api-tester/test-runs/${r1.id}`);
  assert.equal(del.status, 200, del.text);
  assertNotFound(await s.api('GET', `/api/v1/api-tester/test-runs/${r1.id}`), r1.id);
  await s.api('POST', `/api/v1/api-tester/test-runs/${r2.id}/cancel`);
});

// ------------------------------------------------------------------ load tests

/** A load-test report in the shape of the load generator (contract section 4). */
function perfReport(rps, p95, errorRate) {
  return {
    mode: 'closed',
    durationMs: 10000,
    requests: rps * 10,
    errors: Math.round(rps * 10 * errorRate),
    rps,
    errorRate,
    latencyMs: { min: 1, mean: p95 / 2, p50: p95 / 3, p90: p95 * 0.9, p95, p99: p95 * 2, max: p95 * 4 },
    statusCodes: { 200: rps * 10 },
    errorKinds: {},
    timeline: [],
    bytesReceived: 1000,
  };
}

test('perf: SDK shapes, stop, results list/get/delete, wait, compare', async () => {
  const c = await createCollection('perf-ns', 'Load me');
  // SDK PerfConfig with the script as a collection id string
  const sdk = await s.api('POST', '/api/v1/perf/run', { name: 'sdk run', script: c.id, vus: 5, duration: '30s', thresholds: { http_req_duration: ['p(95)<500'] } });
  assert.equal(sdk.status, 201, sdk.text);
  assert.equal(sdk.body.name, 'sdk run');
  assert.equal(sdk.body.status, 'queued');
  const rc = await s.api('POST', '/api/v1/perf/run-collection', { collectionId: c.id, vus: 2, duration: '5s' });
  assert.equal(rc.status, 201, rc.text);

  const stopped = await s.api('POST', `/api/v1/perf/stop/${rc.body.id}`);
  assert.equal(stopped.status, 200, stopped.text);
  assert.equal(stopped.body.status, 'stopped');
  assertNotFound(await s.api('POST', `/api/v1/perf/stop/${UNKNOWN}`), UNKNOWN);

  const list = await s.api('GET', '/api/v1/perf-results?namespace=perf-ns');
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.map((r) => r.id).sort(), [sdk.body.id, rc.body.id].sort());
  const loads = await s.api('GET', `/api/v1/api-tester/test-runs?mode=load&referenceId=${c.id}`);
  assert.equal(loads.body.length, 2);
  assert.ok(loads.body.every((r) => r.mode === 'load'));

  // the queued SDK run is picked up first by the fake runner; wait on a second one
  await fakeRun('perf-ns', 'performance', { ...perfReport(1000, 40, 0.01), thresholds: [], passed: true });
  const a = await s.api('GET', `/api/v1/perf-results/${sdk.body.id}?wait=10`);
  assert.equal(a.status, 200, a.text);
  assert.equal(a.body.status, 'completed');

  const pending = s.api('POST', '/api/v1/perf/run?wait=30', { name: 'b', script: { collectionId: c.id }, vus: 5, duration: '30s' });
  await fakeRun('perf-ns', 'performance', { ...perfReport(1200, 30, 0.02), thresholds: [], passed: false });
  const b = await pending;
  assert.equal(b.status, 201, b.text);
  assert.equal(b.body.status, 'completed');

  const cmp = await s.api('GET', `/api/v1/perf-results/compare?ids=${sdk.body.id},${b.body.id}`);
  assert.equal(cmp.status, 200, cmp.text);
  assert.deepEqual(cmp.body.runs.map((r) => r.id), [sdk.body.id, b.body.id]);
  assert.deepEqual(cmp.body.diff.rps, { a: 1000, b: 1200, changePercent: 20 });
  assert.equal(cmp.body.diff.p95.changePercent, -25);
  assert.equal(cmp.body.diff.errorRate.changePercent, 100);
  for (const k of ['p50', 'p99']) assert.ok(k in cmp.body.diff);

  assertValidation(await s.api('GET', '/api/v1/perf-results/compare'), /ids/);
  assertValidation(await s.api('GET', `/api/v1/perf-results/compare?ids=${sdk.body.id}`), /ids/);
  assertValidation(await s.api('GET', `/api/v1/perf-results/compare?ids=${sdk.body.id},${UNKNOWN}`), new RegExp(UNKNOWN));

  assertNotFound(await s.api('POST', '/api/v1/perf/run', { script: { collectionId: UNKNOWN } }), UNKNOWN);
  assertValidation(await s.api('POST', '/api/v1/perf/run', { vus: 1 }), /collectionId/);
  assertValidation(await s.api('POST', '/api/v1/perf/run', { script: 'export default function () {}' }), /script/);

  const del = await s.api('DELETE', `/api/v1/perf-results/${rc.body.id}`);
  assert.equal(del.status, 200, del.text);
  assertNotFound(await s.api('GET', `/api/v1/perf-results/${rc.body.id}`), rc.body.id);
});
