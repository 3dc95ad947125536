// runner.mjs - starting runner-agent processes (daemons/build/runner-agent) for end-to-end tests.
// Companion of harness.mjs; node 20 built-ins only.
//
//   import { startRunner, runRunner } from './lib/runner.mjs';
//   const r = await startRunner({ COORDINATOR_ADDR: s.grpcAddr, API_TOKEN: 'mki_...', RUNNER_NAME: 'r1',
//                                 CAPABILITIES: 'api_test' }, { waitReady: true });
//   r.url / r.port (DASHBOARD_PORT, a free one unless given), await r.status() (GET /api/status),
//   r.get(path) → { status, text, body }, r.logs(), await r.stop() (SIGTERM, waits for exit),
//   await r.kill() (SIGKILL), await r.restart(), r.exitCode.
//   runRunner(args, env) → { code, stdout, stderr } for --help / configuration errors.
// Every process started here is killed when the test process exits; runner logs live in a temp dir
// per runner, removed at exit unless MOCKARTY_E2E_KEEP=1.
import path from 'node:path';
import { freePort, repoRoot } from './harness.mjs';
import { NodeDaemon, runDaemon } from './daemon.mjs';

export const RUNNER_BIN = process.env.MOCKARTY_RUNNER_BIN || path.join(repoRoot, 'daemons/build/runner-agent');

const ENV_VARS = ['COORDINATOR_ADDR', 'API_TOKEN', 'RUNNER_NAME', 'SHARED', 'NAMESPACE', 'MAX_CONCURRENT', 'CAPABILITIES', 'DASHBOARD_PORT', 'LOG_LEVEL', 'HTTP_BIND_ADDR'];

/** Runs the runner to completion (for --help and start-up errors). */
export function runRunner(args = [], env = {}) {
  return runDaemon(RUNNER_BIN, ENV_VARS, args, env);
}

class Runner extends NodeDaemon {
  constructor(env) {
    super(env);
    this.name = 'runner';
    this.bin = RUNNER_BIN;
    this.vars = ENV_VARS;
  }

  async ports() {
    this.port = this.port || Number(this.env.DASHBOARD_PORT) || (await freePort());
    this.url = `http://127.0.0.1:${this.port}`;
    return { url: this.url, env: { DASHBOARD_PORT: String(this.port) } };
  }

  async status() {
    return (await this.request(this.url, '/api/status')).body;
  }

  get(p, init = {}) {
    return this.request(this.url, p, init);
  }
}

/** Starts a runner with env (COORDINATOR_ADDR, API_TOKEN, ...); a free DASHBOARD_PORT unless given. */
export function startRunner(env, opts) {
  return new Runner(env).start(opts);
}
