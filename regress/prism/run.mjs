// regress/prism/run.mjs - replays Prism's public test-harness cases (stoplightio/prism:
// test-harness/specs/**/*.txt: spec + server args + curl command + expected response) against
// mocks imported by mockarty-import and served by an admin node of the e2e harness.
//
//   node regress/prism/run.mjs <dir with the .txt cases>      (a fetched copy, never committed)
//
// Applicable cases: an OpenAPI/Swagger spec (not the .pc.txt Postman ones), server args exactly
// `mock -p 4010 ${document}` (no dynamic, proxy, --errors or multiprocess modes), a request without
// a Prefer header or __code/__example/__dynamic query, and an expected 2xx status. For each, the
// spec is imported into its own namespace, POST /api/v1/mocks/batch stores the mocks, and the curl
// request is replayed against /stubs/<namespace>. Checked as the harness does: the status, each
// expected header (content-type by media type, without parameters), and the body: `expect` = the
// same JSON value, key order aside (mocks are stored as jsonb), or the same text when not JSON;
// `expect-loose` = every expected key present with the same JSON types; `expect-keysOnly` = the
// same top-level keys (as a set). Date and Content-Length are not compared (volatile / follow the body).
// curl's -H, -X, --data, -F (multipart), --data-urlencode and --cookie are replayed. Prints N passed of M applicable,
// one line per failure with the reason, and writes the details to $OUT (default /tmp/prism-report.json).
// Exit 0 always (a report, not a gate) unless the stack cannot start.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startStack, waitUntil, repoRoot } from '../e2e/lib/harness.mjs';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node regress/prism/run.mjs <test-harness/specs dir>');
  process.exit(2);
}
const cli = path.join(repoRoot, 'daemons/tools/build/mockarty-import');
const OUT = process.env.OUT || '/tmp/prism-report.json';

function walk(d) {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.txt') ? [path.join(d, e.name)] : []));
}

function parseCase(text) {
  const parts = text.split(/====(server|test|spec|command|expect|expect-loose|expect-keysOnly)====\r?\n/i);
  const c = {};
  for (let i = 1; i + 1 < parts.length; i += 2) c[parts[i].toLowerCase()] = parts[i + 1];
  return c;
}

/** Shell-like split of a curl command line (quotes, backslash-newline). */
function words(cmd) {
  const out = [];
  let cur = null, q = null;
  const s = cmd.replace(/\\\r?\n/g, ' ');
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (q) {
      if (ch === q) q = null;
      else if (ch === '\\' && q === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
    } else if (ch === "'" || ch === '"') { q = ch; cur = cur ?? ''; }
    else if (/\s/.test(ch)) { if (cur !== null) out.push(cur); cur = null; }
    else cur = (cur ?? '') + ch;
  }
  if (cur !== null) out.push(cur);
  return out;
}

function parseCurl(cmd) {
  const w = words(cmd.trim());
  const r = { method: null, url: null, headers: {}, body: undefined, unsupported: null };
  for (let i = 1; i < w.length; i++) {
    const a = w[i];
    if (a === '-i' || a === '-s' || a === '--location') continue;
    if (a === '-X' || a === '--request') r.method = w[++i];
    else if (/^-sIX/.test(a)) { r.method = a.slice(4); }
    else if (a === '-H' || a === '--header') { const h = w[++i]; const k = h.indexOf(':'); r.headers[h.slice(0, k).trim()] = h.slice(k + 1).trim(); }
    else if (a === '--data' || a === '-d' || a === '--data-raw') { r.body = w[++i]; r.method = r.method || 'POST'; }
    else if (a === '--head' || a === '-I') r.method = 'HEAD';
    else if (a === '--url') r.url = w[++i];
    else if (a === '-F' || a === '--form') { const [k, ...v] = w[++i].split('='); (r.form ??= new FormData()).append(k, v.join('=')); r.method = r.method || 'POST'; }
    else if (a === '--data-urlencode') { const t = w[++i]; const k = t.indexOf('='); r.body = (r.body ? r.body + '&' : '') + (k < 0 ? encodeURIComponent(t) : t.slice(0, k) + '=' + encodeURIComponent(t.slice(k + 1))); r.headers['Content-Type'] ??= 'application/x-www-form-urlencoded'; r.method = r.method || 'POST'; }
    else if (a === '--cookie' || a === '-b') r.headers.Cookie = w[++i];
    else if (!a.startsWith('-')) r.url = a;
  }
  r.method = r.method || 'GET';
  return r;
}

function parseExpected(text) {
  const lines = text.replace(/\r/g, '').split('\n');
  const m = /^HTTP\/[\d.]+ (\d{3})/.exec(lines[0] || '');
  const headers = {};
  let i = 1;
  for (; i < lines.length && lines[i].trim() !== ''; i++) {
    const k = lines[i].indexOf(':');
    if (k > 0) headers[lines[i].slice(0, k).trim().toLowerCase()] = lines[i].slice(k + 1).trim();
  }
  return { status: m ? Number(m[1]) : null, headers, body: lines.slice(i + 1).join('\n').trim() };
}

const tryJson = (t) => { try { return { ok: true, v: JSON.parse(t) }; } catch { return { ok: false }; } };
const jtype = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
// JSON equality without key order: mocks are stored as jsonb, which does not keep it.
function jsonEqual(a, b) {
  if (jtype(a) !== jtype(b)) return false;
  if (jtype(a) === 'array') return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (jtype(a) === 'object') return Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((k) => k in b && jsonEqual(a[k], b[k]));
  return a === b;
}
function looseMatch(exp, got) {
  if (jtype(exp) !== jtype(got)) return false;
  if (jtype(exp) === 'object') return Object.keys(exp).every((k) => k in got && looseMatch(exp[k], got[k]));
  return true;
}

const files = walk(dir).sort();
const applicable = [], skipped = {};
for (const f of files) {
  const c = parseCase(fs.readFileSync(f, 'utf8'));
  const why =
    f.endsWith('.pc.txt') ? 'postman collection' :
    !c.spec || !/^\s*(openapi|swagger)\s*:|"(openapi|swagger)"\s*:/m.test(c.spec) ? 'not an OpenAPI spec' :
    (c.server || '').trim() !== 'mock -p 4010 ${document}' ? 'server mode other than plain mock' :
    /prefer:/i.test(c.command || '') ? 'Prefer header' :
    /__(code|example|dynamic)=/.test(c.command || '') ? 'Prism query switch' :
    !(c.expect || c['expect-loose'] || c['expect-keysonly']) ? 'no expectation' : null;
  if (why) { skipped[why] = (skipped[why] || 0) + 1; continue; }
  const exp = parseExpected(c.expect || c['expect-loose'] || c['expect-keysonly']);
  if (!(exp.status >= 200 && exp.status < 300)) { skipped['expects a non-2xx status'] = (skipped['expects a non-2xx status'] || 0) + 1; continue; }
  applicable.push({ file: path.relative(dir, f), c, exp, mode: c.expect ? 'expect' : c['expect-loose'] ? 'loose' : 'keys' });
}

const s = await startStack();
const results = [];
try {
  let n = 0;
  for (const t of applicable) {
    const ns = `prism-${++n}`;
    const res = { file: t.file, pass: false, reason: '' };
    results.push(res);
    let imp;
    try {
      imp = JSON.parse(execFileSync(cli, ['openapi', '-', '--namespace', ns, '--path-prefix', ''], { input: t.c.spec, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }));
    } catch (e) { res.reason = 'import failed: ' + String(e.stderr || e.message).trim().slice(0, 200); continue; }
    if (imp.errors.length) { res.reason = 'import errors: ' + imp.errors.map((e) => e.message).join('; ').slice(0, 200); continue; }
    if (imp.mocks.length === 0) { res.reason = 'no mocks imported'; continue; }
    const b = await s.api('POST', '/api/v1/mocks/batch', imp.mocks);
    if (b.status >= 300) { res.reason = `batch ${b.status}: ${b.text.slice(0, 200)}`; continue; }
    const req = parseCurl(t.c.command);
    if (req.unsupported) { res.reason = `curl option ${req.unsupported} not replayed`; continue; }
    const u = new URL(req.url);
    const target = `/stubs/${ns}${u.pathname}${u.search}`;
    let r, text;
    const send = async () => {
      r = await s.fetch(target, { token: null, method: req.method, headers: req.headers, body: req.form ?? req.body });
      text = await r.text();
      return !(r.status === 404 && /no mock matches/.test(text));
    };
    await waitUntil(send, 3000, 20, 'served').catch(() => {});
    const why = [];
    if (r.status !== t.exp.status) why.push(`status ${r.status}, want ${t.exp.status}`);
    for (const [k, v] of Object.entries(t.exp.headers)) {
      if (k === 'date' || k === 'content-length') continue; // volatile / follows the body, which is compared
      const got = r.headers.get(k);
      const norm = (x) => (k === 'content-type' ? String(x).split(';')[0].trim().toLowerCase() : String(x));
      if (got === null) why.push(`header ${k} missing`);
      else if (norm(got) !== norm(v)) why.push(`header ${k}: ${got}, want ${v}`);
    }
    if (req.method !== 'HEAD' && t.exp.body !== '') {
      const e = tryJson(t.exp.body), g = tryJson(text);
      if (t.mode === 'expect') {
        const same = e.ok && g.ok ? jsonEqual(e.v, g.v) : text.trim() === t.exp.body;
        if (!same) why.push(`body ${text.slice(0, 120)}, want ${t.exp.body.slice(0, 120)}`);
      } else if (t.mode === 'loose') {
        if (!(e.ok && g.ok ? looseMatch(e.v, g.v) : text.trim() === t.exp.body)) why.push(`body shape ${text.slice(0, 120)}, want ${t.exp.body.slice(0, 120)}`);
      } else if (!(e.ok && g.ok && JSON.stringify(Object.keys(e.v).sort()) === JSON.stringify(Object.keys(g.v).sort()))) why.push(`keys of ${text.slice(0, 120)}, want ${t.exp.body.slice(0, 120)}`);
    }
    res.pass = why.length === 0;
    res.reason = why.join('; ');
  }
} finally {
  await s.stop();
}
const passed = results.filter((r) => r.pass).length;
for (const r of results) if (!r.pass) console.log(`FAIL ${r.file}: ${r.reason}`);
console.log(`skipped (not applicable): ${JSON.stringify(skipped)}`);
console.log(`prism harness: ${passed} passed of ${applicable.length} applicable (${files.length} case files)`);
fs.writeFileSync(OUT, JSON.stringify({ passed, applicable: applicable.length, files: files.length, skipped, results }, null, 1));
