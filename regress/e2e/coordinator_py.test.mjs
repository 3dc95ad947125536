// coordinator_py.test.mjs - runs coordinator_py.sh (Debian's python3-grpcio against the real
// coordinator) inside the e2e suite, so `regress/e2e/run.sh` covers both gRPC peers. When
// /usr/bin/python3 has no grpc module, scripts/install-deps.sh installs python3-grpcio; the test
// fails (never skips) when it is still missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './lib/harness.mjs';
import { ensureDep } from './lib/deps.mjs';

test('python3-grpcio peer passes the coordinator checks', () => {
  ensureDep('python3-grpcio', () => spawnSync('/usr/bin/python3', ['-c', 'import grpc'], { stdio: 'ignore' }).status === 0);
  const r = spawnSync(path.join(repoRoot, 'regress/e2e/coordinator_py.sh'), [], { encoding: 'utf8', timeout: 240000 });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, out);
  assert.match(r.stdout, /^1\.\.\d+$/m, out);
  assert.doesNotMatch(r.stdout, /^not ok/m, out);
});
