// guide_runners.test.mjs - the integrations guide's "Runner Agents" steps and its CI/CD curl
// examples ("Running Test Collections via API", "Performance Tests via API") run as written, with
// the real curl binary: a test_runner token from POST /ui/api/integrations, a runner started with
// the guide's Step 4 variables, the collection run and the load test triggered by the guide's curl
// commands. Only host, port, tokens and ids are substituted (and the load test's duration, 60s in
// the guide, is 3s here so the suite stays short). Also the same collection run by newman and by
// the runner must agree test by test (the parity fixture), so "under our runner" means the whole
// pipeline: REST import -> task queue -> coordinator -> runner-agent -> result. Load tests: the
// guide's closed-loop call with live progress, an open-loop run with a threshold verdict, a stop
// that keeps the partial report, and a comparison of two runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, repoRoot, waitUntil, freePort } from './lib/harness.mjs';
import { startRunner } from './lib/runner.mjs';
import { runNewman, resultPairs, compareParity } from './lib/apitest.mjs';

const dir = path.join(repoRoot, 'regress/apitest');
const collection = JSON.parse(fs.readFileSync(path.join(dir, 'parity.postman_collection.json'), 'utf8'));
const envDoc = JSON.parse(fs.readFileSync(path.join(dir, 'parity.postman_environment.json'), 'utf8'));
const mocks = JSON.parse(fs.readFileSync(path.join(dir, 'parity.mocks.json'), 'utf8'));

/** Runs curl with args; resolves to { code, body } (body parsed when JSON). */
function curl(args) {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-w', '\n%{http_code}', ...args], { timeout: 30000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl failed: ${stderr || err.message}`));
      const i = stdout.lastIndexOf('\n');
      const text = stdout.slice(0, i);
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {}
      resolve({ code: Number(stdout.slice(i + 1)), text, body });
    });
  });
}

let s;
let runner;
let runnerToken;
let collectionId;
let environmentId;

before(async () => {
  s = await startStack();
  for (const m of mocks) {
    const r = await s.api('POST', '/api/v1/mocks', m);
    assert.equal(r.status, 200, `creating mock ${m.id}: ${r.text}`);
  }
  // Step 1: "Create a token of type test_runner" through the guide's integrations call.
  const created = await curl([
    '-X', 'POST', `${s.url}/ui/api/integrations`,
    '-H', 'Content-Type: application/json',
    '-H', `Authorization: Bearer ${s.token}`,
    '-d', JSON.stringify({ name: 'runner-ci-pipeline', type: 'test_runner' }),
  ]);
  assert.ok(created.code === 200 || created.code === 201, created.text);
  runnerToken = created.body.token ?? created.body.integration?.token;
  assert.match(runnerToken, /^mki_/, 'the integration call returns an mki_ token');

  // The collection and its environment, imported as Postman documents through the REST API.
  const c = await s.api('POST', '/api/v1/api-tester/collections', collection);
  assert.equal(c.status, 201, c.text);
  collectionId = c.body.id;
  const values = envDoc.values.map((v) => (v.key === 'baseUrl' ? { ...v, value: s.url } : v));
  const e = await s.api('POST', '/api/v1/api-tester/environments', { name: envDoc.name, values });
  assert.equal(e.status, 201, e.text);
  environmentId = e.body.id;

  // Step 4: the guide's variables (DASHBOARD_PORT is a free port: tests never take fixed ports).
  runner = await startRunner(
    {
      COORDINATOR_ADDR: s.grpcAddr,
      API_TOKEN: runnerToken,
      RUNNER_NAME: 'runner-1',
      SHARED: 'true',
      CAPABILITIES: 'api_test,performance',
      MAX_CONCURRENT: '10',
      DASHBOARD_PORT: String(await freePort()),
    },
    { waitReady: true },
  );
});
after(async () => {
  await runner?.stop().catch(() => {});
  await s?.stop();
});

test('the guide\'s test-run curl starts a run that the runner completes; newman agrees on every test', async () => {
  const started = await curl([
    '-X', 'POST', `${s.url}/ui/api/test-runs/run`,
    '-H', 'Content-Type: application/json',
    '-H', `Authorization: Bearer ${s.token}`,
    '-d', JSON.stringify({ collectionId, environmentId }),
  ]);
  assert.ok(started.code === 200 || started.code === 201, started.text);
  assert.ok(started.body.id, 'the answer names the test run');
  assert.equal(started.body.collectionId, collectionId);

  let run;
  await waitUntil(async () => {
    const r = await s.api('GET', `/ui/api/test-runs/${started.body.id}`);
    run = r.body;
    return r.status === 200 && ['passed', 'failed', 'error', 'cancelled'].includes(run.status);
  }, 60000, 100, 'the test run to finish');
  assert.equal(run.runner, 'runner-1', 'the shared runner ran it');
  assert.equal(run.status, 'failed', 'the parity collection fails some tests on purpose');

  const values = Object.fromEntries(envDoc.values.filter((v) => v.enabled !== false).map((v) => [v.key, v.value]));
  values.baseUrl = s.url;
  const { pairs: ref } = await runNewman(collection, values);
  const d = compareParity(ref, resultPairs(run));
  assert.ok(d.equal, 'newman and the runner disagree:\n' + JSON.stringify(d, null, 2));
  assert.equal(run.failedTests, ref.filter((p) => !p.passed).length);
  assert.equal(run.passedTests, ref.filter((p) => p.passed).length);
  assert.equal(run.skippedTests, 0);
  assert.ok(run.results.length >= 20);

  // the reports of the finished run
  const junit = await s.fetch(`/api/v1/api-tester/test-runs/${run.id}/report?format=junit`);
  assert.equal(junit.status, 200);
  const xml = await junit.text();
  assert.match(xml, /<testsuites[^>]*>/);
  assert.equal((xml.match(/<failure/g) || []).length, run.failedTests, 'one <failure> per failed test');

  // the completion event for the webhooks issue, with the guide's payload fields
  const ev = await s.psqlJson(
    `SELECT data FROM mockarty_private.events WHERE event = 'test_run.completed' AND data->>'testRunId' = '${run.id}'`,
  );
  for (const k of ['testRunId', 'collectionId', 'status', 'totalTests', 'passed', 'failed', 'duration']) assert.ok(k in ev, `event has ${k}`);
  assert.equal(ev.status, 'failed');
  assert.equal(ev.failed, run.failedTests);
});

test('the guide\'s perf curl runs a load test on the runner with live progress and a report', async () => {
  const started = await curl([
    '-X', 'POST', `${s.url}/ui/api/perf/run`,
    '-H', 'Content-Type: application/json',
    '-H', `Authorization: Bearer ${s.token}`,
    '-d', JSON.stringify({
      script: { collectionId, environmentId },
      options: { duration: '3s', concurrency: 10 },
    }),
  ]);
  assert.ok(started.code === 200 || started.code === 201, started.text);
  const id = started.body.id;
  assert.ok(id);

  let sawProgress = false;
  let perf;
  await waitUntil(async () => {
    const r = await s.api('GET', `/api/v1/perf-results/${id}`);
    perf = r.body;
    if (perf.status === 'running' && perf.progress && perf.progress.requests > 0) sawProgress = true;
    return ['completed', 'failed', 'stopped'].includes(perf.status);
  }, 60000, 100, 'the load test to finish');
  assert.equal(perf.status, 'completed', JSON.stringify(perf).slice(0, 500));
  assert.ok(sawProgress, 'live progress was visible while the load test ran');
  const rep = perf.report;
  assert.ok(rep.requests > 0 && rep.rps > 0);
  for (const k of ['p50', 'p90', 'p95', 'p99', 'max']) assert.ok(rep.latencyMs[k] > 0, `latency ${k}`);
  assert.ok(rep.timeline.length >= 2, 'a per-second timeline');
  assert.equal(perf.runner, 'runner-1');

  // the dashboard shows the history with both tasks
  const st = await runner.status();
  const hist = JSON.stringify(st);
  assert.ok(hist.includes(id), 'the dashboard status lists the load test');
  assert.ok(hist.includes('runner-1'), 'the status names the runner');
  const page = await runner.get('/');
  assert.equal(page.status, 200);
  assert.match(page.text, /<title>runner-agent<\/title>/);
  assert.match(page.text, /\/api\/status/, 'the page renders from /api/status');
});

test('an open-loop load test with stages and thresholds; a stop ends a running load test with its partial report; two runs compare', async () => {
  // open loop at a fixed arrival rate with a failing threshold: the verdict is stored with the report
  const open = await s.api('POST', '/api/v1/perf/run?wait=60', {
    name: 'open-loop',
    script: { collectionId, environmentId },
    options: { mode: 'open', rate: 200, duration: '2s', concurrency: 8, thresholds: { http_req_duration: ['p(95)<0.001'] } },
  });
  assert.equal(open.status, 201, open.text);
  assert.equal(open.body.status, 'completed', open.text.slice(0, 400));
  const rep = open.body.report;
  assert.ok(rep.requests >= 300 && rep.requests <= 500, `about 400 requests at 200/s for 2 s, got ${rep.requests}`);
  assert.equal(open.body.passed, false, 'p95 below 1 microsecond cannot hold: the run fails its threshold');

  // a long closed-loop run with a ramp, stopped while it runs
  const long = await s.api('POST', '/api/v1/perf/run', {
    name: 'stopped',
    script: { collectionId, environmentId },
    stages: [{ duration: '2s', target: 4 }, { duration: '60s', target: 4 }],
  });
  assert.equal(long.status, 201, long.text);
  await waitUntil(async () => {
    const r = await s.api('GET', `/api/v1/perf-results/${long.body.id}`);
    return r.body.status === 'running' && r.body.progress && r.body.progress.requests > 0;
  }, 30000, 100, 'the long load test to run');
  const stop = await s.api('POST', `/api/v1/perf/stop/${long.body.id}`);
  assert.ok(stop.status === 200 || stop.status === 202, stop.text);
  let stopped;
  await waitUntil(async () => {
    stopped = (await s.api('GET', `/api/v1/perf-results/${long.body.id}`)).body;
    return ['stopped', 'completed', 'failed'].includes(stopped.status);
  }, 15000, 100, 'the stop to take effect');
  assert.equal(stopped.status, 'stopped');
  assert.ok(stopped.report && stopped.report.requests > 0, 'the partial report is kept');

  const cmp = await s.api('GET', `/api/v1/perf-results/compare?ids=${open.body.id},${long.body.id}`);
  assert.equal(cmp.status, 200, cmp.text);
  assert.ok(cmp.body.diff && cmp.body.diff.rps, cmp.text);
});
