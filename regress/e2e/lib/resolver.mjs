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
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, repoRoot, waitUntil } from './harness.mjs';

export const RESOLVER_BIN = process.env.MOCKARTY_RESOLVER_BIN || path.join(repoRoot, 'daemons/build/mock-resolver');
export const TEST_SERVER_BIN = path.join(repoRoot, 'daemons/grpc/build/grpc-test-server');

const procs = new Set();
const dirs = new Set(); // log directories, removed at exit unless MOCKARTY_E2E_KEEP=1
process.on('exit', () => {
  for (const p of procs) {
    try {
      p.kill('SIGKILL');
    } catch {}
  }
  if (process.env.MOCKARTY_E2E_KEEP !== '1') for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Runs the resolver to completion (for --help and start-up errors). */
export function runResolver(args = [], env = {}) {
  const clean = { ...process.env };
  for (const k of ['COORDINATOR_ADDR', 'API_TOKEN', 'RESOLVER_NAME', 'HTTP_PORT', 'NAMESPACE']) delete clean[k];
  const r = spawnSync(RESOLVER_BIN, args, { env: { ...clean, ...env }, encoding: 'utf8', timeout: 10000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

class Resolver {
  constructor(env) {
    this.env = env;
  }

  async start({ waitReady = true, timeoutMs = 15000 } = {}) {
    this.port = this.port || Number(this.env.HTTP_PORT) || (await freePort());
    this.dashPort = this.dashPort || Number(this.env.DASHBOARD_PORT) || (await freePort());
    this.url = `http://127.0.0.1:${this.port}`;
    this.dashUrl = `http://127.0.0.1:${this.dashPort}`;
    if (!this.dir) {
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mockarty-resolver-'));
      dirs.add(this.dir);
    }
    this.logFile = path.join(this.dir, `resolver-${this.port}.log`);
    const fd = fs.openSync(this.logFile, 'a');
    this.proc = spawn(RESOLVER_BIN, [], {
      env: {
        ...process.env,
        LOG_LEVEL: process.env.MOCKARTY_E2E_LOG_LEVEL || 'info',
        ...this.env,
        HTTP_PORT: String(this.port),
        DASHBOARD_PORT: String(this.dashPort),
      },
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    procs.add(this.proc);
    this.exited = false;
    this.proc.on('exit', (code) => {
      this.exited = true;
      this.exitCode = code;
      procs.delete(this.proc);
    });
    try {
      await waitUntil(async () => {
        if (this.exited) throw new Error('resolver exited:\n' + this.logs());
        const r = await fetch(this.url + (waitReady ? '/health/ready' : '/health/live')).catch(() => null);
        return r && r.status === 200;
      }, timeoutMs, 20, `resolver ${waitReady ? 'ready' : 'live'} on ${this.url}`);
    } catch (e) {
      e.message += '\n--- resolver log ---\n' + this.logs();
      throw e;
    }
    return this;
  }

  logs() {
    try {
      return fs.readFileSync(this.logFile, 'utf8').slice(-6000);
    } catch {
      return '';
    }
  }

  async status() {
    const r = await fetch(this.dashUrl + '/api/status');
    return r.json();
  }

  async get(p, headers = {}, init = {}) {
    const r = await fetch(this.url + p, { headers, ...init });
    const text = await r.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: r.status, headers: r.headers, text, body };
  }

  async stop(sig = 'SIGTERM') {
    if (!this.proc || this.exited) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(sig);
    const t = setTimeout(() => !this.exited && this.proc.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }

  kill() {
    return this.stop('SIGKILL');
  }

  async restart(opts) {
    await this.stop();
    return this.start(opts);
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
    procs.add(p);
    let out = '';
    p.on('exit', () => procs.delete(p));
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
