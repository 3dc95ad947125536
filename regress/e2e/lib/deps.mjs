// deps.mjs - a test that needs a Debian package gets it through scripts/install-deps.sh (the
// script `make run` and `make test` use) instead of skipping; when it is still missing the test
// fails, naming the package. Companion of harness.mjs; node 20 built-ins only.
//
//   import { ensureDep } from './lib/deps.mjs';
//   ensureDep('python3-grpcio', () => spawnSync('/usr/bin/python3', ['-c', 'import grpc']).status === 0);
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './harness.mjs';

/**
 * True at once when present() holds; otherwise runs scripts/install-deps.sh (it installs every
 * test package that is missing) and checks again. Throws, naming pkg and the installer's output,
 * when the package is still missing.
 */
export function ensureDep(pkg, present) {
  if (present()) return true;
  const r = spawnSync(path.join(repoRoot, 'scripts/install-deps.sh'), [], { encoding: 'utf8', timeout: 600000 });
  if (present()) return true;
  throw new Error(`${pkg} is required and scripts/install-deps.sh did not install it (exit ${r.status}):\n${(r.stdout || '') + (r.stderr || '')}`.slice(0, 4000));
}
