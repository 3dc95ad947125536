// coordinator_py.test.mjs - runs coordinator_py.sh (Debian's python3-grpcio against the real
// coordinator) inside the e2e suite, so `regress/e2e/run.sh` covers both gRPC peers. Skipped when
// /usr/bin/python3 has no grpc module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './lib/harness.mjs';

const hasGrpcio = spawnSync('/usr/bin/python3', ['-c', 'import grpc'], { stdio: 'ignore' }).status === 0;

test('python3-grpcio peer passes the coordinator checks', { skip: !hasGrpcio && 'python3-grpcio not installed' }, () => {
  const r = spawnSync(path.join(repoRoot, 'regress/e2e/coordinator_py.sh'), [], { encoding: 'utf8', timeout: 240000 });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, out);
  assert.match(r.stdout, /^1\.\.\d+$/m, out);
  assert.doesNotMatch(r.stdout, /^not ok/m, out);
});
