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
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, repoRoot, waitUntil } from './harness.mjs';

export const RUNNER_BIN = process.env.MOCKARTY_RUNNER_BIN || path.join(repoRoot, 'daemons/build/runner-agent');

const ENV_VARS = ['COORDINATOR_ADDR', 'API_TOKEN', 'RUNNER_NAME', 'SHARED', 'NAMESPACE', 'MAX_CONCURRENT', 'CAPABILITIES', 'DASHBOARD_PORT', 'LOG_LEVEL', 'HTTP_BIND_ADDR'];

const procs = new Set();
const dirs = new Set();
process.on('exit', () => {
  for (const p of procs) {
    try {
      p.kill('SIGKILL');
    } catch {}
  }
  if (process.env.MOCKARTY_E2E_KEEP !== '1') for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** The environment of this process without any runner variable (so tests see only their own). */
function cleanEnv() {
  const clean = { ...process.env };
  for (const k of ENV_VARS) delete clean[k];
  return clean;
}

/** Runs the runner to completion (for --help and start-up errors). */
export function runRunner(args = [], env = {}) {
  const r = spawnSync(RUNNER_BIN, args, { env: { ...cleanEnv(), ...env }, encoding: 'utf8', timeout: 10000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

class Runner {
  constructor(env) {
    this.env = env;
  }

  async start({ waitReady = true, timeoutMs = 15000 } = {}) {
    this.port = this.port || Number(this.env.DASHBOARD_PORT) || (await freePort());
    this.url = `http://127.0.0.1:${this.port}`;
    if (!this.dir) {
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mockarty-runner-'));
      dirs.add(this.dir);
    }
    this.logFile = path.join(this.dir, `runner-${this.port}.log`);
    const fd = fs.openSync(this.logFile, 'a');
    this.proc = spawn(RUNNER_BIN, [], {
      env: { ...cleanEnv(), LOG_LEVEL: process.env.MOCKARTY_E2E_LOG_LEVEL || 'info', ...this.env, DASHBOARD_PORT: String(this.port) },
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    procs.add(this.proc);
    this.exited = false;
    this.exitCode = undefined;
    this.proc.on('exit', (code, signal) => {
      this.exited = true;
      this.exitCode = code;
      this.exitSignal = signal;
      procs.delete(this.proc);
    });
    try {
      await waitUntil(async () => {
        if (this.exited) throw new Error(`runner exited (${this.exitCode}):\n` + this.logs());
        const r = await fetch(this.url + (waitReady ? '/health/ready' : '/health/live')).catch(() => null);
        return r && r.status === 200;
      }, timeoutMs, 20, `runner ${waitReady ? 'ready' : 'live'} on ${this.url}`);
    } catch (e) {
      e.message += '\n--- runner log ---\n' + this.logs();
      throw e;
    }
    return this;
  }

  logs() {
    try {
      return fs.readFileSync(this.logFile, 'utf8').slice(-8000);
    } catch {
      return '';
    }
  }

  async status() {
    const r = await fetch(this.url + '/api/status');
    return r.json();
  }

  async get(p, init = {}) {
    const r = await fetch(this.url + p, init);
    const text = await r.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: r.status, headers: r.headers, text, body };
  }

  /** Sends sig (SIGTERM) and waits for the exit (SIGKILL after graceMs). Resolves to the exit code. */
  async stop(sig = 'SIGTERM', graceMs = 15000) {
    if (!this.proc || this.exited) return this.exitCode;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(sig);
    const t = setTimeout(() => !this.exited && this.proc.kill('SIGKILL'), graceMs);
    await done;
    clearTimeout(t);
    return this.exitCode;
  }

  kill() {
    return this.stop('SIGKILL');
  }

  async restart(opts) {
    await this.stop();
    return this.start(opts);
  }
}

/** Starts a runner with env (COORDINATOR_ADDR, API_TOKEN, ...); a free DASHBOARD_PORT unless given. */
export function startRunner(env, opts) {
  return new Runner(env).start(opts);
}
