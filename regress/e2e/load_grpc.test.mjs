// load_grpc.test.mjs - gRPC load tests with mockarty-load (issue 12, item 4) against a
// @grpc/grpc-js server of our fixture proto (regress/grpc-load/echo.proto, compiled at test time
// with protoc --include_imports): the server receives exactly the JSON message (as grpc-js decodes
// it) as many times as the report counts successes; a method failing half of the time shows its
// UNAVAILABLE errors by name; a p95 threshold set impossibly low fails the run (exit 1); bad input
// names the argument at fault.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, startStack, freePort, waitUntil } from './lib/harness.mjs';
import { startRunner } from './lib/runner.mjs';
import { startEchoServer } from '../grpc-load/server.mjs';

const bin = path.join(repoRoot, 'daemons/build/mockarty-load');
let srv;
let tmp;
let descSet;

const message = {
  text: 'héllo load',
  count: '9007199254740993', // beyond 2^53: travels as a string both ways
  tags: ['a', 'b'],
  weights: { x: 2, y: -3 },
  at: '2024-01-02T03:04:05.500Z',
  kind: 'KIND_SLOW',
};
// the same message as grpc-js + proto-loader (longs and enums as strings) decodes it
const decoded = {
  text: 'héllo load',
  count: '9007199254740993',
  tags: ['a', 'b'],
  weights: { x: 2, y: -3 },
  at: { seconds: '1704164645', nanos: 500000000 },
  kind: 'KIND_SLOW',
};

/** Runs mockarty-load with args; resolves to { code, report (parsed --json output), stderr }. */
function load(args) {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 30000 }, (err, stdout, stderr) => {
      let report = null;
      try {
        report = JSON.parse(stdout);
      } catch {}
      resolve({ code: err ? err.code : 0, report, stdout, stderr });
    });
  });
}

const grpcArgs = (method, extra = []) => [
  `127.0.0.1:${srv.port}`, '--descriptor-set', descSet, '--method', `loadtest.v1.Echo/${method}`,
  '--json', ...extra,
];

before(async () => {
  assert.ok(fs.existsSync(bin), `${bin} is built (make -C daemons/loadgen)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'load-grpc-'));
  descSet = path.join(tmp, 'echo.pb');
  execFileSync('protoc', ['--include_imports', `--descriptor_set_out=${descSet}`,
    '-I', path.join(repoRoot, 'regress/grpc-load'), '-I', '/usr/include',
    path.join(repoRoot, 'regress/grpc-load/echo.proto')]);
  srv = await startEchoServer();
});

after(async () => {
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('unary calls: the server gets exactly the JSON message, once per counted success', async () => {
  const r = await load(grpcArgs('Say', ['--data', JSON.stringify(message), '-c', '2', '--streams', '4',
    '-t', '1', '-n', '1500', '-d', '20s', '-H', 'x-run: e2e']));
  assert.equal(r.code, 0, r.stderr);
  const rep = r.report;
  assert.equal(rep.protocol, 'grpc');
  assert.equal(rep.requests, 1500);
  assert.equal(rep.errors, 0);
  assert.deepEqual(rep.grpcStatus, { OK: 1500 });
  assert.equal(srv.counts.Say, rep.grpcStatus.OK, 'server calls = successes in the report');
  for (const got of srv.received.Say) assert.deepEqual({ ...got }, decoded);
  // the same report as HTTP runs: latency percentiles, max, per-second timeline
  for (const k of ['p50', 'p90', 'p95', 'p99', 'max']) assert.ok(rep.latencyMs[k] > 0, k);
  assert.ok(rep.latencyMs.p50 <= rep.latencyMs.p99 && rep.latencyMs.p99 <= rep.latencyMs.max);
  assert.equal(rep.timeline.reduce((n, e) => n + e.requests, 0), 1500);
  assert.equal(rep.connectionsOpened, 2, 'two connections carry every call (HTTP/2 streams)');
});

test('a --data-file and a duration-bounded open loop: the rate is kept and every call answered', async () => {
  const f = path.join(tmp, 'msg.json');
  fs.writeFileSync(f, JSON.stringify({ text: 'from a file' }));
  const before = srv.counts.Say;
  const r = await load(grpcArgs('Say', ['--data-file', f, '--rate', '200', '-c', '2', '-d', '2s', '-t', '1']));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.report.mode, 'open');
  assert.ok(r.report.requests >= 360 && r.report.requests <= 401, `about 400 calls: ${r.report.requests}`);
  assert.equal(r.report.errors, 0);
  assert.ok(srv.counts.Say - before >= r.report.requests);
  assert.deepEqual({ ...srv.received.Say.at(-1) }, { text: 'from a file' });
});

test('a method answering UNAVAILABLE half of the time: those errors by name in the report', async () => {
  const r = await load(grpcArgs('Flaky', ['--data', '{"text":"x"}', '-n', '200', '-c', '1', '-t', '1']));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.report.requests, 200);
  assert.equal(r.report.errors, 100);
  assert.equal(r.report.errorRate, 0.5);
  assert.deepEqual(r.report.grpcStatus, { OK: 100, UNAVAILABLE: 100 });
  assert.deepEqual(r.report.errorKinds, { UNAVAILABLE: 100 });
});

test('a deadline shorter than the method: DEADLINE_EXCEEDED from the server', async () => {
  const r = await load(grpcArgs('Slow', ['--deadline', '50', '-n', '4', '-c', '1', '-t', '1']));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.report.errorKinds, { DEADLINE_EXCEEDED: 4 });
});

test('a p95 threshold set impossibly low fails the run (exit 1), a reachable one passes', async () => {
  const bad = await load(grpcArgs('Say', ['-n', '200', '-t', '1', '--threshold', 'p(95)<0.0001']));
  assert.equal(bad.code, 1, bad.stderr);
  assert.equal(bad.report.passed, false);
  assert.equal(bad.report.thresholds[0].passed, false);
  const ok = await load(grpcArgs('Say', ['-n', '200', '-t', '1', '--threshold', 'p(95)<5000',
    '--threshold', 'http_req_failed:rate<0.01']));
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.report.passed, true);
});

test('bad input names the argument: unknown field, unknown method, streaming method, no set', async () => {
  let r = await load(grpcArgs('Say', ['--data', '{"colour":1}', '-n', '1']));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--data: message: \$\.colour/);
  r = await load(grpcArgs('Nope', ['-n', '1']));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--method: .*has no method 'Nope'/);
  r = await load(grpcArgs('Watch', ['-n', '1']));
  assert.match(r.stderr, /streaming/);
  r = await load([`127.0.0.1:${srv.port}`, '--data', '{}', '-n', '1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--descriptor-set/);
});

test('the same through a runner-agent performance task started over REST: script.grpc with a base64 descriptor set or a stored one', async (t) => {
  const s = await startStack();
  let runner;
  t.after(async () => {
    await runner?.stop().catch(() => {});
    await s.stop();
  });
  const tok = await s.api('POST', '/ui/api/integrations', { name: 'grpc-load-runner', type: 'test_runner' });
  assert.ok(tok.status === 200 || tok.status === 201, tok.text);
  runner = await startRunner({
    COORDINATOR_ADDR: s.grpcAddr, API_TOKEN: tok.body.token ?? tok.body.integration?.token,
    RUNNER_NAME: 'grpc-runner', SHARED: 'true', CAPABILITIES: 'performance',
    DASHBOARD_PORT: String(await freePort()),
  }, { waitReady: true });
  const grpcScript = (method, extra = {}) => ({
    target: `127.0.0.1:${srv.port}`, method: `loadtest.v1.Echo/${method}`,
    descriptorSet: fs.readFileSync(descSet).toString('base64'), message, metadata: { 'x-run': 'runner' },
    streams: 2, ...extra,
  });
  // the guide's load-test endpoint, as for collections
  const queue = async (config) => {
    const r = await s.api('POST', '/ui/api/perf/run', config);
    if (r.status !== 201) throw new Error(`${r.status} ${r.text}`);
    return r.body;
  };
  const finish = async (id) => {
    let r;
    await waitUntil(async () => {
      r = (await s.api('GET', `/api/v1/perf-results/${id}`)).body;
      return ['completed', 'failed', 'stopped'].includes(r.status);
    }, 60000, 50, `perf run ${id} to finish`);
    return r;
  };
  const before = srv.counts.Say;
  const run = await finish((await queue({
    name: 'grpc-say', script: { grpc: grpcScript('Say') },
    options: { iterations: 300, concurrency: 2, thresholds: { http_req_duration: ['p(95)<0.0001'] } },
  })).id);
  assert.equal(run.status, 'completed', JSON.stringify(run).slice(0, 500));
  const rep = run.report;
  assert.equal(rep.protocol, 'grpc');
  assert.deepEqual(rep.grpcStatus, { OK: 300 });
  assert.equal(srv.counts.Say - before, 300, 'the server got every call the report counts');
  for (const got of srv.received.Say.slice(before)) assert.deepEqual({ ...got }, decoded);
  assert.equal(run.passed, false, 'p95 below 0.1 microsecond cannot hold');
  assert.equal(run.runner, 'grpc-runner');

  const flaky = await finish((await queue({
    name: 'grpc-flaky', script: { grpc: grpcScript('Flaky', { streams: 1 }) },
    options: { iterations: 100, concurrency: 1 },
  })).id);
  assert.equal(flaky.status, 'completed', JSON.stringify(flaky).slice(0, 500));
  assert.equal(flaky.report.errorKinds.UNAVAILABLE, 50);

  // a descriptor set stored on the admin node, named by its serverName
  const up = await s.api('POST', '/api/v1/grpc/descriptors?namespace=sandbox&serverName=echo', fs.readFileSync(descSet),
    { headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(up.status, 201, up.text);
  const { descriptorSet: _omit, ...byName } = grpcScript('Say');
  const stored = await finish((await queue({
    name: 'grpc-stored', script: { grpc: { ...byName, serverName: 'echo' } }, options: { iterations: 50, concurrency: 1 },
  })).id);
  assert.equal(stored.status, 'completed', JSON.stringify(stored).slice(0, 500));
  assert.deepEqual(stored.report.grpcStatus, { OK: 50 });

  // bad input is refused when queued, naming the field
  await assert.rejects(queue({ script: { grpc: { ...grpcScript('Say'), target: 'no-port' } } }),
    /^Error: 400 .*host:port.*"field":"\$\.script\.grpc\.target"/);
  // a message that does not match the descriptor fails the task with the JSON path
  const wrong = await finish((await queue({
    script: { grpc: { ...grpcScript('Say'), message: { colour: 1 } } }, options: { iterations: 1 },
  })).id);
  assert.equal(wrong.status, 'failed', JSON.stringify(wrong).slice(0, 400));
  assert.match(wrong.error, /script\.grpc\.message: \$\.colour/);
});
