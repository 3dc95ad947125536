// daemon.mjs - what starting a node daemon (mock-resolver, runner-agent) in a test has in common:
// spawn with a clean environment and a per-daemon log file, wait for /health/ready (or /live),
// stop with a grace period, kill, restart. Companion of harness.mjs; node 20 built-ins only.
// resolver.mjs and runner.mjs subclass NodeDaemon with their binary, variables and ports.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitUntil } from './harness.mjs';

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

/** process.env without the given variables, so a test sees only the settings it passes. */
export function cleanEnv(vars) {
  const clean = { ...process.env };
  for (const k of vars) delete clean[k];
  return clean;
}

/** Runs bin to completion with a clean env plus env (for --help and start-up errors). */
export function runDaemon(bin, vars, args = [], env = {}) {
  const r = spawnSync(bin, args, { env: { ...cleanEnv(vars), ...env }, encoding: 'utf8', timeout: 10000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * One daemon process. Subclasses set name, bin, vars (the variables cleared from the inherited
 * environment) and implement async ports() -> { url, env } (the ports it listens on, as URL of
 * the health endpoints and the variables that pin them).
 */
export class NodeDaemon {
  constructor(env) {
    this.env = env;
  }

  async start({ waitReady = true, timeoutMs = 15000 } = {}) {
    const { url, env } = await this.ports();
    this.healthUrl = url;
    if (!this.dir) {
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `mockarty-${this.name}-`));
      dirs.add(this.dir);
    }
    this.logFile = path.join(this.dir, `${this.name}.log`);
    const fd = fs.openSync(this.logFile, 'a');
    this.proc = spawn(this.bin, [], {
      env: { ...cleanEnv(this.vars), LOG_LEVEL: process.env.MOCKARTY_E2E_LOG_LEVEL || 'info', ...this.env, ...env },
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
        if (this.exited) throw new Error(`${this.name} exited (${this.exitCode}):\n` + this.logs());
        const r = await fetch(this.healthUrl + (waitReady ? '/health/ready' : '/health/live')).catch(() => null);
        return r && r.status === 200;
      }, timeoutMs, 20, `${this.name} ${waitReady ? 'ready' : 'live'} on ${this.healthUrl}`);
    } catch (e) {
      e.message += `\n--- ${this.name} log ---\n` + this.logs();
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

  /** GET/any request against base + p -> { status, headers, text, body (parsed JSON or null) }. */
  async request(base, p, init = {}) {
    const r = await fetch(base + p, init);
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

/** Registers a helper process (not a NodeDaemon) to be killed when the test process exits. */
export function track(proc) {
  procs.add(proc);
  proc.on('exit', () => procs.delete(proc));
}
