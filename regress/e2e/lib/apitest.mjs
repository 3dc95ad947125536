// apitest.mjs - parity between newman (the reference Postman runner) and mockarty's API-test
// engine: run one collection through both and compare the pass/fail of every
// (folder/request, test name) pair. Used by newman_parity.test.mjs; the runner-agent test reuses
// compareParity() with results that went through a runner.
//
//   const n = await runNewman(collection, envValues);            // [{ request, test, passed, skipped }]
//   const m = resultPairs(await runApitestCli(collPath, envValues)); // same shape from the engine's result document
//   const d = compareParity(n, m);  // { equal, onlyNewman, onlyOurs, differ }
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { repoRoot } from './harness.mjs';

const require = createRequire(import.meta.url);
export const APITEST_BIN = process.env.MOCKARTY_APITEST_BIN || path.join(repoRoot, 'daemons/build/mockarty-apitest');

/** A Postman environment document with the given {key: value} values. */
export function postmanEnvironment(values, name = 'parity') {
  return { name, values: Object.entries(values).map(([key, value]) => ({ key, value: String(value), enabled: true })) };
}

/** Runs the collection with newman; resolves to [{request, test, passed, skipped}] in run order. */
export function runNewman(collection, values, { timeoutMs = 10000 } = {}) {
  const newman = require('newman');
  const pairs = [];
  return new Promise((resolve, reject) => {
    newman
      .run({ collection, environment: postmanEnvironment(values), reporters: [], timeoutRequest: timeoutMs })
      .on('assertion', (err, a) => {
        pairs.push({ request: itemPath(a.item), test: a.assertion, passed: !err && !a.skipped, skipped: !!a.skipped });
      })
      .on('done', (err, summary) => (err ? reject(err) : resolve({ pairs, summary })));
  });
}

// "Folder/Sub/Request" of a newman item (parents walked through the SDK's parent()).
function itemPath(item) {
  const names = [item.name];
  for (let p = item.parent && item.parent(); p && p.parent && p.parent(); p = p.parent()) {
    if (p.name) names.unshift(p.name);
  }
  return names.join('/');
}

/** Runs daemons/build/mockarty-apitest on collPath; resolves to { code, result, stderr }. */
export async function runApitestCli(collPath, values, extraArgs = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apitest-'));
  const envPath = path.join(dir, 'env.json');
  fs.writeFileSync(envPath, JSON.stringify(postmanEnvironment(values)));
  try {
    const { code, stdout, stderr } = await new Promise((resolve, reject) => {
      const p = spawn(APITEST_BIN, [collPath, '-e', envPath, '--json', '-', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('error', reject);
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    return { code, stderr, result: stdout.trim() ? JSON.parse(stdout) : null };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** [{request, test, passed, skipped}] of an engine result document (mt_run's, or a TestRun's results). */
export function resultPairs(result) {
  const pairs = [];
  for (const r of result.results || []) {
    const request = r.folder ? `${r.folder}/${r.name}` : r.name;
    for (const a of r.assertions || []) pairs.push({ request, test: a.name, passed: !!a.passed && !a.skipped, skipped: !!a.skipped });
  }
  return pairs;
}

/** Compares two pair lists by (request, test). equal iff same pairs with the same outcome. */
export function compareParity(reference, ours) {
  const key = (p) => `${p.request} :: ${p.test}`;
  const a = new Map(reference.map((p) => [key(p), p]));
  const b = new Map(ours.map((p) => [key(p), p]));
  const onlyNewman = [...a.keys()].filter((k) => !b.has(k));
  const onlyOurs = [...b.keys()].filter((k) => !a.has(k));
  const differ = [...a.keys()]
    .filter((k) => b.has(k) && (a.get(k).passed !== b.get(k).passed || a.get(k).skipped !== b.get(k).skipped))
    .map((k) => ({ key: k, newman: a.get(k).passed, ours: b.get(k).passed }));
  const dupes = reference.length !== a.size || ours.length !== b.size;
  return { equal: !dupes && onlyNewman.length === 0 && onlyOurs.length === 0 && differ.length === 0, onlyNewman, onlyOurs, differ, dupes };
}
