// resolver.mjs - starting mock-resolver processes (daemons/build/mock-resolver) and the canned
// coordinator (daemons/grpc/build/grpc-test-server) for end-to-end tests. Companion of
// harness.mjs; node 20 built-ins only.
//
//   import { startResolver, startTestCoordinator, runResolver } from './lib/resolver.mjs';
//   const r = await startResolver({ COORDINATOR_ADDR: '127.0.0.1:5773', API_TOKEN: 'mki_...' },
//                                 { waitReady: true });
//   r.url / r.port (HTTP_PORT), r.dashUrl / r.dashPort (DASHBOARD_PORT), await r.status()
//   (GET /api/status), r.get(path, headers) → { status, text, body }, r.logs(), await r.stop(),
//   await r.kill() (SIGKILL), await r.restart().
//   runResolver(args, env) → { code, stdout, stderr } for --help / configuration errors.
//   startTestCoordinator(deltaMs, heartbeatMs) → { addr, port, stop() }.
// Every process started here is killed when the test process exits; resolver logs live in a temp
// dir per resolver, removed at exit unless MOCKARTY_E2E_KEEP=1.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { freePort, repoRoot } from './harness.mjs';
import { NodeDaemon, runDaemon, track } from './daemon.mjs';

export const RESOLVER_BIN = process.env.MOCKARTY_RESOLVER_BIN || path.join(repoRoot, 'daemons/build/mock-resolver');
export const TEST_SERVER_BIN = path.join(repoRoot, 'daemons/grpc/build/grpc-test-server');

/** Runs the resolver to completion (for --help and start-up errors). */
export function runResolver(args = [], env = {}) {
  return runDaemon(RESOLVER_BIN, ['COORDINATOR_ADDR', 'API_TOKEN', 'RESOLVER_NAME', 'HTTP_PORT', 'NAMESPACE'], args, env);
}

class Resolver extends NodeDaemon {
  constructor(env) {
    super(env);
    this.name = 'resolver';
    this.bin = RESOLVER_BIN;
    this.vars = [];
  }

  async ports() {
    this.port = this.port || Number(this.env.HTTP_PORT) || (await freePort());
    this.dashPort = this.dashPort || Number(this.env.DASHBOARD_PORT) || (await freePort());
    this.url = `http://127.0.0.1:${this.port}`;
    this.dashUrl = `http://127.0.0.1:${this.dashPort}`;
    return { url: this.url, env: { HTTP_PORT: String(this.port), DASHBOARD_PORT: String(this.dashPort) } };
  }

  async status() {
    return (await this.request(this.dashUrl, '/api/status')).body;
  }

  get(p, headers = {}, init = {}) {
    return this.request(this.url, p, { headers, ...init });
  }

  stop(sig = 'SIGTERM') {
    return super.stop(sig, 5000);
  }
}

/** Starts a resolver with env (COORDINATOR_ADDR, API_TOKEN, ...); free ports unless given. */
export function startResolver(env, opts) {
  return new Resolver(env).start(opts);
}

/** Starts grpc-test-server on a free (or the given) port; resolves when it listens. */
export function startTestCoordinator(deltaMs = 100, heartbeatMs = 200, port = 0) {
  return new Promise((resolve, reject) => {
    const p = spawn(TEST_SERVER_BIN, [String(port), String(deltaMs), String(heartbeatMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    track(p);
    let out = '';
    p.on('error', reject);
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening 127\.0\.0\.1:(\d+)/);
      if (m) {
        const prt = Number(m[1]);
        resolve({
          port: prt,
          addr: `127.0.0.1:${prt}`,
          proc: p,
          stop: () =>
            new Promise((r) => {
              if (p.exitCode !== null) return r();
              p.once('exit', r);
              p.kill('SIGTERM');
            }),
        });
      }
    });
  });
}
