// corpus.test.mjs - replays the shared fixture corpus (regress/corpus/*.json, format in
// regress/corpus/README.md) through SQL mockarty.resolve() and through the admin node over
// HTTP, and checks that both give what each case expects and agree with each other and
// with core's own output (core/build/test_corpus run with CORPUS_DUMP). This is the test that keeps
// the runtimes from drifting apart: the same mocks and requests, three ways in.
//
// Per corpus file:
//   1. reset (purge every mock, clear global and chain stores), load the file's mocks with
//      mockarty.mock_save in file order, run every case in order through SQL;
//   2. reset and load again, run every case in order over HTTP at /stubs/{ns}{path} with
//      X-Mockarty-Seed, so use counters, oneOf cursors and stores start from the same state;
//   3. per case: `expect` is a subset of the SQL response object, `expectFn` predicates hold,
//      and HTTP agrees with SQL on status code, payload and the mock's response headers.
//
// core's output: core/build/test_corpus (the cmocka corpus runner, built by `make`) run
// once with CORPUS_DUMP=<file> writes {"file","case","response"} per case, in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startStack, repoRoot, waitUntil } from './lib/harness.mjs';

const corpusDir = path.join(repoRoot, 'regress/corpus');
const files = fs.existsSync(corpusDir)
  ? fs.readdirSync(corpusDir).filter((f) => f.endsWith('.json')).sort()
  : [];
const coreRunner = path.join(repoRoot, 'core/build/test_corpus');

let s;
before(async () => {
  if (files.length) s = await startStack();
});
after(async () => {
  await s?.stop();
});

const q = (v) => (v === null || v === undefined ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`);

// ---------------------------------------------------------------- comparison

/** expect ⊆ actual: objects recursively as subsets, arrays and scalars exactly (README). */
function subsetMismatch(expect, actual, where = '') {
  if (expect !== null && typeof expect === 'object' && !Array.isArray(expect)) {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return `${where || '.'}: expected an object, got ${JSON.stringify(actual)}`;
    }
    for (const [k, v] of Object.entries(expect)) {
      const m = subsetMismatch(v, actual[k], `${where}.${k}`);
      if (m) return m;
    }
    return null;
  }
  try {
    assert.deepStrictEqual(actual, expect);
    return null;
  } catch {
    return `${where || '.'}: expected ${JSON.stringify(expect)}, got ${JSON.stringify(actual)}`;
  }
}

function luhn(s) {
  const d = String(s).replace(/[\s-]/g, '');
  if (!/^\d{2,19}$/.test(d)) return false;
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let n = d.charCodeAt(d.length - 1 - i) - 48;
    if (i % 2 === 1) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
  }
  return sum % 10 === 0;
}

const predicates = {
  firstName: (v) => typeof v === 'string' && /^\p{Lu}[\p{L}'’ -]*$/u.test(v),
  email: (v) => typeof v === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v),
  uuid: (v) => typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  isoDate: (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) && !Number.isNaN(Date.parse(v)),
  luhn: (v) => (typeof v === 'string' || typeof v === 'number') && luhn(v),
  int: (v) => Number.isInteger(v),
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  string: (v) => typeof v === 'string',
};

/** Value at a dotted path ("payload.items.0.id") of obj. */
function at(obj, dotted) {
  let v = obj;
  for (const seg of dotted.split('.')) {
    if (v === null || v === undefined) return undefined;
    v = Array.isArray(v) && /^\d+$/.test(seg) ? v[Number(seg)] : v[seg];
  }
  return v;
}

/** Compares an HTTP exchange with the SQL response object; returns the first difference or null. */
function httpMismatch(sql, h) {
  if (sql === null) return h.status === 404 ? null : `a miss over SQL, but HTTP answered ${h.status}: ${h.text.slice(0, 200)}`;
  const wantStatus = sql.statusCode ?? 200;
  if (h.status !== wantStatus) return `statusCode: SQL ${wantStatus}, HTTP ${h.status}`;
  const p = sql.payload;
  if (p === undefined || p === null) {
    if (h.text !== '' && h.text !== 'null') return `payload: SQL none, HTTP ${JSON.stringify(h.text.slice(0, 200))}`;
  } else if (typeof p === 'string') {
    if (h.text !== p && h.json !== p) return `payload: SQL ${JSON.stringify(p)}, HTTP ${JSON.stringify(h.text.slice(0, 200))}`;
  } else {
    try {
      assert.deepStrictEqual(h.json, p);
    } catch {
      return `payload: SQL ${JSON.stringify(p)}, HTTP ${h.text.slice(0, 300)}`;
    }
  }
  for (const [k, v] of Object.entries(sql.headers || {})) {
    const want = headerText(v);
    const gotText = headerText(h.headers[k.toLowerCase()]);
    if (gotText !== want) return `header ${k}: SQL ${JSON.stringify(want)}, HTTP ${JSON.stringify(gotText)}`;
  }
  return null;
}

/**
 * A header as one line of text: the response object holds name -> [values], HTTP may send
 * repeats as separate lines or one comma-joined line, which mean the same (RFC 9110 5.3).
 */
function headerText(v) {
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? v.map(String).join(', ') : String(v);
}

/** What HTTP can show of a response, shaped like the response object for `expect` checks. */
function httpAsResponse(h, expect) {
  const asText = typeof expect?.payload === 'string' || h.json === undefined;
  const r = { statusCode: h.status, payload: asText ? h.text : h.json, headers: {} };
  for (const k of Object.keys(expect?.headers || {})) r.headers[k] = headerText(h.headers[k.toLowerCase()]);
  return r;
}

// ---------------------------------------------------------------- runtimes

function namespacesOf(fx) {
  const set = new Set(['sandbox']);
  for (const m of fx.mocks || []) if (m.namespace) set.add(m.namespace);
  for (const c of fx.cases || []) if (c.namespace) set.add(c.namespace);
  return [...set];
}

/** Purges every mock, clears the stores and undefined requests, creates namespaces, loads the file's mocks. */
async function resetAndLoad(fx) {
  const sql = [
    `SELECT mockarty.mock_batch_purge(ARRAY(SELECT x->>'id' FROM jsonb_array_elements(
       mockarty.mock_list(NULL, NULL, NULL, 0, 2147483647, true)->'items') AS x));`,
    // stores have no "clear all" function; the test owns this throwaway database
    'DELETE FROM mockarty_private.global_store;',
    'DELETE FROM mockarty_private.chain_store;',
    'SELECT mockarty.undefined_delete_all(NULL);',
  ];
  for (const ns of namespacesOf(fx)) {
    sql.push(`SELECT mockarty.namespace_create(${q(ns)}) WHERE NOT EXISTS (SELECT 1 FROM mockarty.namespace_list() AS n WHERE n = ${q(ns)});`);
  }
  for (const m of fx.mocks || []) sql.push(`SELECT mockarty.mock_save(${q(JSON.stringify(m))}::jsonb);`);
  await s.psql(sql.join('\n'));
}

/** Waits until the database accepts connections again (after a crashed backend, it restarts). */
async function dbReady() {
  await waitUntil(async () => (await s.psql('SELECT 1')) === '1', 60000, 200, 'database accepting connections');
}

/**
 * After a backend crash the admin node's pooled connections fail once each: drain them,
 * so the HTTP pass measures the node and not the aftermath of the SQL pass.
 */
async function drainNodePool() {
  await waitUntil(async () => {
    for (let i = 0; i < 12; i++) if ((await s.api('GET', '/api/v1/namespaces')).status !== 200) return false;
    return true;
  }, 30000, 50, 'admin node answering API calls');
}

/**
 * Every case through SQL resolve(), in order, one statement per psql call so that a
 * failing case (an error, or a crashed backend) is reported for that case alone.
 * Returns [{res} | {err}] per case.
 */
async function runSql(fx) {
  const out = [];
  for (const c of fx.cases || []) {
    const r = c.request || {};
    const stmt = `SELECT coalesce(mockarty.resolve(${q(c.namespace || 'sandbox')}, ${q(r.method || 'GET')}, ${q(r.path || '/')}, ${q(r.query || '')}, ${q(JSON.stringify(r.headers || {}))}::jsonb, ${q(r.body ?? null)}, ${c.seed ?? 1})::text, 'null');`;
    try {
      out.push({ res: JSON.parse(await s.psql(stmt)) });
    } catch (e) {
      out.push({ err: e.message.replace(/^[^]*? exited \d+: /, '').replace(/\s+/g, ' ').slice(0, 300) });
      await dbReady().catch(() => {});
    }
  }
  return out;
}

/** One case over HTTP (node:http, so GET may carry a body as the corpus allows). */
function httpCase(c) {
  const r = c.request || {};
  const ns = c.namespace || 'sandbox';
  const p = `/stubs/${ns}${r.path || '/'}${r.query ? `?${r.query}` : ''}`;
  const headers = { 'X-Mockarty-Seed': String(c.seed ?? 1) };
  for (const [k, v] of Object.entries(r.headers || {})) headers[k] = v;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: s.port, path: p, method: r.method || 'GET', headers, agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    if (r.body !== undefined && r.body !== null) req.end(r.body);
    else req.end();
  });
}

async function runHttp(fx) {
  // Any successful non-GET API call makes the admin node catch its snapshot up with the
  // change log before answering (server.c), so the mocks just written over SQL are live.
  const sync = await s.api('DELETE', '/api/v1/stores/global/corpus-snapshot-sync');
  assert.equal(sync.status, 200, `snapshot sync call: ${sync.text}`);
  const out = [];
  for (const c of fx.cases || []) out.push(await httpCase(c));
  return out;
}

/** Runs core's corpus runner once; returns Map file -> [response objects in case order]. */
function runCoreAll() {
  assert.ok(fs.existsSync(coreRunner), `${coreRunner} is built by make`);
  const dump = path.join(fs.mkdtempSync('/tmp/mockarty-corpus-'), 'core.jsonl');
  const p = spawnSync(coreRunner, [], {
    cwd: path.join(repoRoot, 'core/test'), encoding: 'utf8', timeout: 120000,
    env: { ...process.env, CORPUS_DUMP: dump },
  });
  assert.ok(fs.existsSync(dump), `core corpus runner wrote nothing (exit ${p.status}): ${p.stderr}`);
  const byFile = new Map();
  for (const line of fs.readFileSync(dump, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const { file, response } = JSON.parse(line);
    if (!byFile.has(file)) byFile.set(file, []);
    byFile.get(file).push(response);
  }
  return byFile;
}
let coreAll = null;

/**
 * Every difference for one case: SQL against expect/expectFn, HTTP against expect and
 * against SQL, core against SQL. sql/core are {res} or {err}; h is the HTTP exchange.
 */
function checkCase(c, sql, h, core) {
  const problems = [];
  const got = sql.res;
  if (sql.err) {
    problems.push(`SQL resolve() failed: ${sql.err}`);
  } else if (c.expect === null) {
    if (got !== null) problems.push(`SQL: expected no match, got ${JSON.stringify(got)}`);
  } else if (c.expect !== undefined) {
    if (!got) problems.push('SQL: expected a match, got none');
    else {
      const m = subsetMismatch(c.expect, got);
      if (m) problems.push(`SQL ${m}`);
    }
  }
  for (const [where, name] of Object.entries(c.expectFn || {})) {
    const pred = predicates[name];
    if (!pred) {
      problems.push(`unknown predicate ${name}`);
      continue;
    }
    if (!sql.err && !pred(at(got, where))) problems.push(`SQL ${where} = ${JSON.stringify(at(got, where))} is not ${name}`);
    const hv = at(httpAsResponse(h, {}), where);
    if (!pred(hv)) problems.push(`HTTP ${where} = ${JSON.stringify(hv)} is not ${name}`);
  }
  if (c.expect === null) {
    if (h.status !== 404) problems.push(`HTTP: expected no match (404), got ${h.status} ${h.text.slice(0, 200)}`);
  } else if (c.expect) {
    const e = { ...c.expect };
    delete e.mockId; // not visible over HTTP
    delete e.delay;
    if (e.headers) e.headers = Object.fromEntries(Object.entries(e.headers).map(([k, v]) => [k, headerText(v)]));
    const m = subsetMismatch(e, httpAsResponse(h, c.expect));
    if (m) problems.push(`HTTP ${m}`);
  }
  if (!sql.err) {
    const hm = httpMismatch(got, h);
    if (hm) problems.push(`HTTP disagrees with SQL: ${hm}`);
  }
  if (core && !sql.err) {
    try {
      assert.deepStrictEqual(core.res, got);
    } catch {
      problems.push(`core and SQL differ: core ${JSON.stringify(core.res)}, SQL ${JSON.stringify(got)}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------- tests

// an empty corpus is a failure, not a skip: the parity it proves would silently vanish
test('the fixture corpus is there', () => {
  assert.ok(files.length > 0, `no fixture files (*.json) in ${corpusDir}`);
});

for (const file of files) {
  test(`corpus ${file}`, async (t) => {
    const full = path.join(corpusDir, file);
    const fx = JSON.parse(fs.readFileSync(full, 'utf8'));
    assert.ok(Array.isArray(fx.cases) && fx.cases.length > 0, `${file} has cases`);

    await resetAndLoad(fx);
    const sqlRes = await runSql(fx);
    await dbReady();
    if (sqlRes.some((r) => r.err)) await drainNodePool();
    await resetAndLoad(fx);
    const httpRes = await runHttp(fx);
    if (coreAll === null) coreAll = runCoreAll();
    const coreRes = coreAll.get(file);
    assert.equal(coreRes?.length, fx.cases.length, `core answered every case of ${file}`);

    for (let i = 0; i < fx.cases.length; i++) {
      const c = fx.cases[i];
      await t.test(c.name || `case ${i}`, () => {
        const problems = checkCase(c, sqlRes[i], httpRes[i], coreRes ? { res: coreRes[i] ?? null } : null);
        if (problems.length) assert.fail(`${file} case ${i} "${c.name}":\n  ${problems.join('\n  ')}`);
      });
    }
  });
}
