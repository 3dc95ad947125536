// harness.mjs - end-to-end test harness: a throwaway PostgreSQL cluster with the
// mockarty extension plus one or more admin nodes (daemons/build/mockarty-admin),
// torn down after the test file. No npm packages: node 20's built-ins only.
//
// Usage (in regress/e2e/<name>.test.mjs):
//
//   import { test, before, after } from 'node:test';
//   import assert from 'node:assert/strict';
//   import { startStack, waitUntil } from './lib/harness.mjs';
//
//   let s;
//   before(async () => { s = await startStack(); });      // PG + admin node, ready
//   after(async () => { await s?.stop(); });
//
//   test('create and serve', async () => {
//     const r = await s.api('POST', '/api/v1/mocks', { id: 'x', http: { route: '/x' },
//                            response: { payload: { ok: true } } });   // Bearer token added
//     assert.equal(r.status, 200);                 // r = { status, headers, body, text }
//     const m = await s.api('GET', '/x', undefined, { token: null }); // no token
//     const n = await s.psql("SELECT count(*) FROM mockarty.snapshot()"); // text, trimmed
//     const j = await s.psqlJson("SELECT mockarty.undefined_list()");    // parsed JSON
//     await waitUntil(async () => (await s.api('GET', '/x')).status === 200, 2000);
//   });
//
// s.url / s.port / s.token (an mk_ token from mockarty.token_create), s.grpcPort / s.grpcAddr
// ("127.0.0.1:<port>", the main node's gRPC coordinator; every node gets a free GRPC_PORT of its
// own, kept across restart(), and admin.grpcPort / admin.grpcAddr name it), s.fetch(path, init)
// (plain fetch against the admin with the token unless init.token === null; init.apiKey = true
// sends it as X-API-Key), s.admin (the main node: { url, port, pid, proc, kill(sig), stop(),
// restart(env), logs() }), s.spawnAdmin(env) (another node on the same database, e.g.
// { AUTH_MODE: 'local' }; stopped with the stack), s.psqlSession() (persistent psql: query(sql)
// resolves right after the statement committed), s.pgStop() / s.pgStart() (database outage),
// s.dsn, s.dir.
// startStack({ env }) passes extra environment to the main admin node (ALLOW_PROXY_TO_PRIVATE_IPS
// is true by default). Set MOCKARTY_E2E_KEEP=1 to keep the temp dir (logs) after the run.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
const PGBIN = process.env.PGBIN || '/usr/lib/postgresql/15/bin';
const ADMIN_BIN = process.env.MOCKARTY_ADMIN_BIN || path.join(repoRoot, 'daemons/build/mockarty-admin');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

// Every stack still alive, so a crashing test file does not leak processes.
const live = new Set();
process.on('exit', () => {
  for (const s of live) s.stopSync();
});
// a test run cut short (timeout, ^C) must not leave admin nodes or clusters behind
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.once(sig, () => {
    for (const s of live) s.stopSync();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
  });
}

/** Polls pred (sync or async) every intervalMs until it returns truthy; returns that value or throws. */
export async function waitUntil(pred, timeoutMs = 5000, intervalMs = 10, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (lastErr ? `: ${lastErr.message}` : ''));
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A TCP port free on 127.0.0.1 right now. */
// Ports this process handed out recently: the kernel may give a just-closed ephemeral port
// again, and two "free" ports asked for in a row must differ (e.g. HTTP_PORT and DASHBOARD_PORT).
const handedOut = [];

export function freePort() {
  const once = () => new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
  return (async () => {
    for (let i = 0; i < 50; i++) {
      const port = await once();
      if (!handedOut.includes(port)) {
        handedOut.push(port);
        if (handedOut.length > 512) handedOut.shift();
        return port;
      }
    }
    throw new Error('freePort: no new free port after 50 tries');
  })();
}

function asPg(cmd, args) {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/** Runs a command to completion; rejects with its output on a nonzero exit. */
function run(cmd, args, { input, env } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err || out}`));
    });
    if (input !== undefined) p.stdin.end(input);
    else p.stdin.end();
  });
}

class AdminNode {
  constructor(stack, env) {
    this.stack = stack;
    this.env = env;
    this.proc = null;
  }

  async start() {
    this.port = await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    // the gRPC coordinator: a free port of its own (kept across restart() so resolvers reconnect
    // to the same address), unless the test passes GRPC_PORT itself ('0' disables it)
    if (this.env.GRPC_PORT !== undefined) this.grpcPort = Number(this.env.GRPC_PORT);
    else if (!this.grpcPort) this.grpcPort = await freePort();
    this.grpcAddr = `127.0.0.1:${this.grpcPort}`;
    this.logFile = path.join(this.stack.dir, `admin-${this.port}.log`);
    const fd = fs.openSync(this.logFile, 'a');
    this.proc = spawn(ADMIN_BIN, [], {
      env: {
        ...process.env,
        HTTP_PORT: String(this.port),
        HTTP_BIND_ADDR: '127.0.0.1',
        DB_DSN: this.stack.dsn,
        ALLOW_PROXY_TO_PRIVATE_IPS: 'true',
        LOG_LEVEL: process.env.MOCKARTY_E2E_LOG_LEVEL || 'info',
        THREADS: '4',
        GRPC_PORT: String(this.grpcPort),
        ...this.env,
      },
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    this.pid = this.proc.pid;
    this.exited = false;
    this.proc.on('exit', () => (this.exited = true));
    try {
      await waitUntil(async () => {
        if (this.exited) throw new Error('admin node exited:\n' + this.logs());
        const r = await fetch(this.url + '/health/ready').catch(() => null);
        return r && r.status === 200;
      }, 20000, 20, `admin node ready on ${this.url}`);
    } catch (e) {
      e.message += '\n--- admin log ---\n' + this.logs();
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

  /** Sends sig (default SIGTERM) and waits for the process to exit (SIGKILL after 5 s). */
  async stop(sig = 'SIGTERM') {
    if (!this.proc || this.exited) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(sig);
    const t = setTimeout(() => !this.exited && this.proc.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }

  kill(sig = 'SIGKILL') {
    return this.stop(sig);
  }

  async restart(env) {
    await this.stop();
    if (env) this.env = { ...this.env, ...env };
    return this.start();
  }

  stopSync() {
    if (this.proc && !this.exited) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {}
    }
  }
}

class Stack {
  async init({ env = {} } = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mockarty-e2e-'));
    fs.chmodSync(this.dir, 0o755);
    if (isRoot) await run('chown', ['postgres:postgres', this.dir]);
    this.pgPort = await freePort();
    this.pgdata = path.join(this.dir, 'pgdata');
    this.dsn = `host=127.0.0.1 port=${this.pgPort} dbname=mockarty user=postgres`;
    this.admins = [];
    live.add(this);

    const [c1, a1] = asPg(path.join(PGBIN, 'initdb'), ['-D', this.pgdata, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale']);
    await run(c1, a1);
    const preload = process.env.MOCKARTY_E2E_PRELOAD !== '0' && fs.existsSync(path.join(PGBIN, '../lib/mockarty.so'));
    const conf = [
      `listen_addresses = '127.0.0.1'`,
      `port = ${this.pgPort}`,
      `unix_socket_directories = '${this.dir}'`,
      `fsync = off`,
      `synchronous_commit = off`,
      `max_connections = 200`,
      preload ? `shared_preload_libraries = 'mockarty'` : '',
    ].join('\n');
    const [c2, a2] = asPg('sh', ['-c', `cat >> '${this.pgdata}/postgresql.conf'`]);
    await run(c2, a2, { input: conf + '\n' });
    const [c3, a3] = asPg(path.join(PGBIN, 'pg_ctl'), ['-D', this.pgdata, '-l', path.join(this.dir, 'postgres.log'), '-w', '-t', '60', 'start']);
    await run(c3, a3);
    this.pgStarted = true;
    await run('psql', ['-h', '127.0.0.1', '-p', String(this.pgPort), '-U', 'postgres', '-d', 'postgres', '-qAtX', '-c', 'CREATE DATABASE mockarty']);
    await this.psql('CREATE EXTENSION mockarty CASCADE');
    this.token = await this.psql("SELECT mockarty.token_create('e2e')->>'token'");

    this.admin = await new AdminNode(this, env).start();
    this.admins.push(this.admin);
    this.url = this.admin.url;
    this.port = this.admin.port;
    this.grpcPort = this.admin.grpcPort;
    this.grpcAddr = this.admin.grpcAddr;
    return this;
  }

  /** Runs sql (may hold several statements) in db mockarty; resolves to trimmed stdout (-At). */
  async psql(sql) {
    const out = await run('psql', ['-h', '127.0.0.1', '-p', String(this.pgPort), '-U', 'postgres', '-d', 'mockarty', '-qAtX', '-v', 'ON_ERROR_STOP=1', '-f', '-'], { input: sql });
    return out.replace(/\n+$/, '');
  }

  /** Runs a query whose single value is JSON; resolves to the parsed value (null for SQL NULL). */
  async psqlJson(sql) {
    const out = await this.psql(sql);
    return out === '' ? null : JSON.parse(out);
  }

  /**
   * A persistent psql session (one connection): query(sql) resolves to the trimmed output as soon as
   * the statement returned, i.e. right after its commit (autocommit). close() ends it.
   */
  psqlSession() {
    const p = spawn('psql', ['-h', '127.0.0.1', '-p', String(this.pgPort), '-U', 'postgres', '-d', 'mockarty', '-qAtX', '-v', 'ON_ERROR_STOP=0'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    let err = '';
    let waiter = null;
    let n = 0;
    p.stdout.on('data', (d) => {
      buf += d;
      if (waiter && buf.includes(waiter.marker)) {
        const out = buf.slice(0, buf.indexOf(waiter.marker));
        buf = '';
        const w = waiter;
        waiter = null;
        if (err) {
          const e = err;
          err = '';
          w.reject(new Error(e));
        } else w.resolve(out.replace(/\n+$/, ''));
      }
    });
    p.stderr.on('data', (d) => (err += d));
    return {
      query(sql) {
        const marker = `__mockarty_done_${++n}__`;
        return new Promise((resolve, reject) => {
          waiter = { marker, resolve, reject };
          p.stdin.write(`${sql.trim().replace(/;$/, '')};\n\\echo ${marker}\n`);
        });
      },
      close() {
        p.stdin.end();
        return new Promise((r) => p.on('close', r));
      },
    };
  }

  /** Stops PostgreSQL (mode fast|immediate) to test outages; pgStart() brings it back on the same port. */
  async pgStop(mode = 'fast') {
    const [c, a] = asPg(path.join(PGBIN, 'pg_ctl'), ['-D', this.pgdata, '-m', mode, '-w', 'stop']);
    await run(c, a);
    this.pgStarted = false;
  }

  async pgStart() {
    const [c, a] = asPg(path.join(PGBIN, 'pg_ctl'), ['-D', this.pgdata, '-l', path.join(this.dir, 'postgres.log'), '-w', '-t', '60', 'start']);
    await run(c, a);
    this.pgStarted = true;
  }

  /** Another admin node on the same database with extra env; stopped with the stack. */
  async spawnAdmin(env = {}) {
    const a = await new AdminNode(this, env).start();
    this.admins.push(a);
    return a;
  }

  /** fetch against the main admin node (or init.base); adds the token unless init.token === null. */
  fetch(p, init = {}) {
    const { token = this.token, apiKey = false, base = this.admin.url, ...rest } = init;
    const headers = new Headers(rest.headers || {});
    if (token) {
      if (apiKey) headers.set('X-API-Key', token);
      else headers.set('Authorization', `Bearer ${token}`);
    }
    return fetch(base + p, { ...rest, headers });
  }

  /**
   * JSON call: body (object, or a string sent as is) → { status, headers, text, body } where body is the
   * parsed JSON response (or null when it is not JSON).
   */
  async api(method, p, body, init = {}) {
    const headers = { ...(init.headers || {}) };
    let payload;
    if (body !== undefined) {
      payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    }
    const r = await this.fetch(p, { ...init, method, headers, body: payload });
    const text = await r.text();
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: r.status, headers: r.headers, text, body: parsed };
  }

  async stop() {
    live.delete(this);
    for (const a of this.admins || []) await a.stop().catch(() => {});
    if (this.pgStarted) {
      const [c, a] = asPg(path.join(PGBIN, 'pg_ctl'), ['-D', this.pgdata, '-m', 'immediate', '-w', 'stop']);
      await run(c, a).catch(() => {});
      this.pgStarted = false;
    }
    if (this.dir && process.env.MOCKARTY_E2E_KEEP !== '1') fs.rmSync(this.dir, { recursive: true, force: true });
  }

  stopSync() {
    for (const a of this.admins || []) a.stopSync();
    if (this.pgStarted) {
      const [c, a] = asPg(path.join(PGBIN, 'pg_ctl'), ['-D', this.pgdata, '-m', 'immediate', '-w', 'stop']);
      spawnSync(c, a, { stdio: 'ignore' });
    }
    if (this.dir && process.env.MOCKARTY_E2E_KEEP !== '1') fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts PostgreSQL with the extension and one admin node; resolves when /health/ready is 200. */
export async function startStack(opts = {}) {
  const s = new Stack();
  try {
    return await s.init(opts);
  } catch (e) {
    if (fs.existsSync(path.join(s.dir || '/nonexistent', 'postgres.log'))) {
      e.message += '\n--- postgres log ---\n' + fs.readFileSync(path.join(s.dir, 'postgres.log'), 'utf8').slice(-4000);
    }
    await s.stop().catch(() => {});
    throw e;
  }
}
