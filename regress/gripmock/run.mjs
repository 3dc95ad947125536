// run.mjs - GripMock's public examples through Mockarty (issue 12, acceptance "GripMock's public
// example protos and their expectations"). Runs on a copy of github.com/bavix/gripmock fetched by
// the user; nothing of it is kept in this repository. For every project under
// <checkout>/examples/projects: compile its .proto files with protoc (--include_imports), upload
// the set through REST (POST /api/v1/grpc/descriptors, server name gm-<project>), translate its
// stub files (YAML/JSON: service, method, input|inputs {equals|contains|matches}, headers,
// output {data|stream, error, code, details, headers, delay}, priority, times) into Mockarty mocks
// with a grpc context, start `mockarty-gen-server --type grpc` for it and replay each .gctf case
// (grpctestify format: ENDPOINT, REQUEST..., REQUEST_HEADERS, RESPONSE... | ERROR) with
// @grpc/grpc-js + @grpc/proto-loader, comparing the answer (message as proto JSON with the proto
// field names, as the cases write it; status code and message of an ERROR).
// Usage: node regress/gripmock/run.mjs <gripmock-checkout> [project ...]
// Prints one line per case and "N passed of M applicable", failures grouped by cause; writes
// the details to $GRIPMOCK_REPORT (default /tmp/gripmock-report.json). Uses the e2e harness
// (PostgreSQL + admin node on free ports of 127.0.0.1); every wait is bounded.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, freePort, waitUntil, repoRoot } from '../e2e/lib/harness.mjs';

const require = createRequire(path.join(repoRoot, 'regress/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const GEN_SERVER = path.join(repoRoot, 'daemons/build/mockarty-gen-server');
const checkout = process.argv[2];
if (!checkout || !fs.existsSync(path.join(checkout, 'examples/projects'))) {
  console.error('usage: node regress/gripmock/run.mjs <gripmock-checkout> [project ...]');
  process.exit(2);
}
const only = process.argv.slice(3);
const projectsDir = path.join(checkout, 'examples/projects');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gripmock-run-'));
const CALL_MS = 5000;

const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
  (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
// proto field name -> the JSON name our codec shows conditions (json_name, explicit or lowerCamel),
// from the project's descriptor set (set per project by runProject)
let jsonNames = new Map();
const FIELD = (k) => jsonNames.get(k) ?? camel(k);

// YAML/JSON stub files -> arrays of stubs (python3-yaml reads the YAML)
function loadStubs(files) {
  const r = spawnSync('/usr/bin/python3', ['-c', `
import json, sys, yaml
def big(v):  # integers past 2^53 as strings (proto3 JSON's form; JSON.parse would round them)
    if isinstance(v, bool): return v
    if isinstance(v, int) and abs(v) > 2**53: return str(v)
    if isinstance(v, list): return [big(x) for x in v]
    if isinstance(v, dict): return {k: big(x) for k, x in v.items()}
    return v
out = {}
for f in sys.argv[1:]:
    try:
        with open(f) as h:
            docs = [big(d) for d in yaml.safe_load_all(h) if d is not None]
        out[f] = docs
    except Exception as e:
        out[f] = {"error": str(e)}
print(json.dumps(out, default=str))`, ...files], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error('reading stubs: ' + r.stderr);
  const stubs = [];
  for (const [f, docs] of Object.entries(JSON.parse(r.stdout))) {
    if (!Array.isArray(docs)) continue;
    for (const d of docs) for (const s of (Array.isArray(d) ? d : [d])) {
      if (s && typeof s === 'object' && s.service && s.method) stubs.push({ ...s, _file: f });
    }
  }
  return stubs;
}

// // comments (whole-line or trailing, outside strings) and trailing commas out of a JSON text
function stripJson(t) {
  let o = ''; let inStr = false; let esc = false;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i];
    if (inStr) { o += ch; if (esc) esc = false; else if (ch === '\\') esc = true; else if (ch === '"') inStr = false; continue; }
    if (ch === '"') { inStr = true; o += ch; continue; }
    if (ch === '/' && t[i + 1] === '/') { while (i < t.length && t[i] !== '\n') i++; o += '\n'; continue; }
    o += ch;
  }
  // integers past 2^53 as strings (proto3 JSON accepts them; JSON.parse would round them)
  return o.replace(/,(\s*[}\]])/g, '$1').replace(/([:\[,]\s*)(-?\d{16,})(?=\s*[,}\]])/g, (m, a, d) => (Math.abs(Number(d)) > 2 ** 53 ? `${a}"${d}"` : m));
}

// one .gctf file -> a list of calls (a file may hold several ENDPOINT blocks in sequence)
function parseGctf(text) {
  const sections = [];
  let cur = null;
  for (const line of text.split('\n')) {
    const m = line.match(/^---\s*([A-Z_]+)([^-]*)---\s*$/);
    if (m) { cur = { name: m[1], opts: m[2].trim(), body: [] }; sections.push(cur); continue; }
    if (cur) cur.body.push(line);
  }
  const json = (lines) => {
    const t = stripJson(lines.join('\n')).trim();
    return t ? JSON.parse(t) : undefined;
  };
  const calls = [];
  let c = null;
  for (const s of sections) {
    if (s.name === 'ENDPOINT') {
      c = { endpoint: s.body.map((l) => l.trim()).find((l) => l && !l.startsWith('//')), requests: [], responses: [], headers: {}, asserts: false, opts: [] };
      calls.push(c);
    } else if (!c) continue;
    else if (s.name === 'REQUEST') { const v = json(s.body); if (v !== undefined) c.requests.push(v); }
    else if (s.name === 'REQUEST_HEADERS') {
      for (const l of s.body) { const i = l.indexOf(':'); if (i > 0 && !l.trim().startsWith('//')) c.headers[l.slice(0, i).trim()] = l.slice(i + 1).trim(); }
    } else if (s.name === 'RESPONSE') {
      const body = stripJson(s.body.join('\n')).trim();
      // several JSON objects one after the other: a server stream
      const parts = [];
      let depth = 0; let start = -1; let inStr = false; let esc = false;
      for (let i = 0; i < body.length; i++) {
        const ch = body[i];
        if (inStr) { if (esc) esc = false; else if (ch === '\\') esc = true; else if (ch === '"') inStr = false; continue; }
        if (ch === '"') inStr = true;
        else if (ch === '{' || ch === '[') { if (depth++ === 0) start = i; }
        else if (ch === '}' || ch === ']') { if (--depth === 0) parts.push(body.slice(start, i + 1)); }
      }
      for (const p of parts) c.responses.push(JSON.parse(p));
      c.opts.push(s.opts);
    } else if (s.name === 'ERROR') { c.error = json(s.body); c.opts.push(s.opts); }
    else if (s.name === 'ASSERTS') c.asserts = true;
  }
  return calls;
}

// ---- stub -> mock translation; notes collect what cannot be carried over
const RICH = { BadRequest: 'badRequest', Help: 'help', DebugInfo: 'debugInfo', ErrorInfo: 'errorInfo',
  LocalizedMessage: 'localizedMessage', PreconditionFailure: 'preconditionFailure', QuotaFailure: 'quotaFailure',
  RequestInfo: 'requestInfo', ResourceInfo: 'resourceInfo', RetryInfo: 'retryInfo' };
function conds(matcher, prefix, notes, meta = false) {
  const out = [];
  if (!matcher || typeof matcher !== 'object') return out;
  // proto3 JSON omits a field at its default (0, "", false, the enum's zero value), so equality
  // with a default is "the field is empty" in our conditions
  const isZero = (v) => v === 0 || v === '' || v === false || (typeof v === 'string' && /_UNSPECIFIED$/.test(v));
  const leaf = (action, p, v) => out.push(action === 'equals' && !meta && isZero(v)
    ? { path: p, assertAction: 'empty' }
    : action === 'glob' ? { path: p, assertAction: 'matches', value: globRe(String(v)) }
      : { path: p, assertAction: action, value: v });
  const flat = (action, obj, p) => {
    if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
      for (const [k, v] of Object.entries(obj)) flat(action, v, meta ? k.toLowerCase() : `${p}.${FIELD(k)}`);
    } else if (Array.isArray(obj) && !meta) {
      obj.forEach((v, i) => flat(action, v, `${p}[${i}]`));
      out.push({ path: `${p}`, assertAction: 'length', value: obj.length, _lengthProbe: true });
    } else leaf(action, p, obj);
  };
  for (const [kind, v] of Object.entries(matcher)) {
    if (kind === 'equals') flat('equals', v, prefix);
    else if (kind === 'contains') flat('contains', v, prefix);
    else if (kind === 'matches') flat('matches', v, prefix);
    else if (kind === 'glob') flat('glob', v, prefix);
    else if (kind === 'ignoreArrayOrder') { if (v) notes.add('ignoreArrayOrder (array order is always significant)'); }
    else notes.add(`matcher "${kind}"`);
  }
  // a length condition is not one of our assert actions for every value: keep only element paths
  return out.filter((c) => !c._lengthProbe);
}
// a shell glob (*, ?, [set]) as an anchored regular expression for our `matches`
function globRe(g) {
  let re = '^';
  for (let i = 0; i < g.length; i++) {
    const ch = g[i];
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const j = g.indexOf(']', i + 1);
      if (j < 0) { re += '\\['; continue; }
      let set = g.slice(i + 1, j);
      if (set.startsWith('!')) set = '^' + set.slice(1);
      re += '[' + set.replace(/\\/g, '\\\\') + ']';
      i = j;
    } else re += /[.+^${}()|\\\/]/.test(ch) ? '\\' + ch : ch;
  }
  return re + '$';
}
// GripMock's simplest output template, {{.Request.<field>}}, as ours ($.req.<json name>), when
// what follows cannot be read as more of the path; anything else stays (noted as not translated)
function goTemplates(v) {
  if (typeof v === 'string') {
    return v.replace(/\{\{\s*\.Request\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}(?![A-Za-z0-9_\-\[]|\.[A-Za-z0-9_])/g,
      (_, f) => `$.req.${FIELD(f)}`);
  }
  if (Array.isArray(v)) return v.map(goTemplates);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, goTemplates(x)]));
  return v;
}
function durMs(d) {
  if (typeof d === 'number') return d;
  const m = String(d).match(/^([\d.]+)(ms|s|m)?$/);
  if (!m) return undefined;
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60000 }[m[2] || 'ms']);
}
function translate(stub, services, serverName, idx, pkgDef) {
  const notes = new Set();
  const fq = services.find((s) => s === stub.service || s.endsWith('.' + stub.service));
  if (!fq) return { notes: [`service ${stub.service} not in the compiled protos`] };
  const g = { service: fq, method: stub.method, conditions: [], meta: [] };
  // GripMock applies a client stream's `input` to its last message: ours matches a client stream
  // on the array of its messages, whose last is $[-1]
  const md = pkgDef?.[fq]?.[stub.method];
  const clientStream = md && md.requestStream && !md.responseStream;
  if (stub.input) g.conditions = conds(stub.input, clientStream ? '$[-1]' : '$.req', notes);
  if (stub.inputs) stub.inputs.forEach((m, i) => g.conditions.push(...conds(m, `$[${i}]`, notes)));
  if (stub.headers) g.meta = conds(stub.headers, '', notes, true);
  const o = goTemplates(stub.output || {});
  const response = {};
  if (o.data !== undefined) response.payload = o.data;
  if (o.stream !== undefined) {
    // a {_gripmock: {error, code}} item ends the stream there: our status item
    response.streamResponses = o.stream.map((it) => (it && typeof it === 'object' && it._gripmock
      ? { statusCode: it._gripmock.code ?? 2, ...(it._gripmock.error !== undefined ? { error: it._gripmock.error } : {}) }
      : it));
  }
  if (o.headers) response.headers = o.headers;
  if (o.code !== undefined) response.statusCode = o.code;
  if (o.error !== undefined) { response.error = o.error; if (o.code === undefined) response.statusCode = 2; }
  if (o.details) {
    response.errorDetails = [];
    for (const d of o.details) {
      const t = String(d['@type'] || d.type || '').split('.').pop();
      if (!RICH[t]) { notes.add(`error detail ${d['@type'] || d.type}`); continue; }
      const { '@type': _, type: __, ...rest } = d;
      response.errorDetails.push({ type: RICH[t], details: rest });
    }
  }
  if (o.delay !== undefined) response.delay = durMs(o.delay);
  if (JSON.stringify(o).includes('{{')) notes.add('Go template in output');
  if (/\{\{|"\{[^"]*\}"/.test(JSON.stringify([stub.input, stub.inputs]))) notes.add('Go template helper in input');
  const m = { id: `${serverName}-${idx}`, namespace: 'sandbox', serverName, grpc: g, response };
  // GripMock ranks by priority, then by how specific the match is; ours by priority alone (higher
  // first): priority x 1000 + the number of conditions carries both
  m.priority = (Number(stub.priority) || 0) * 1000 + g.conditions.length + g.meta.length;
  const times = stub.options?.times ?? stub.times;
  if (times) m.useLimiter = times;
  for (const k of Object.keys(stub)) {
    if (!['service', 'method', 'input', 'inputs', 'headers', 'output', 'priority', 'options', 'times', 'id', '_file'].includes(k)) notes.add(`stub field "${k}"`);
  }
  return { mock: m, notes: [...notes] };
}

// ---- comparison
const numish = (v) => (typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v)));
// grpc-js hands well-known types over as messages: Timestamp/Duration back to their proto3 JSON
function wkt(exp, act) {
  if (typeof exp !== 'string' || !act || typeof act !== 'object' || !('seconds' in act || 'nanos' in act)) return act;
  const sec = Number(act.seconds || 0); const ns = Number(act.nanos || 0);
  if (/^-?[\d.]+s$/.test(exp)) return `${sec + ns / 1e9}s`;
  return new Date(sec * 1000 + ns / 1e6).toISOString().replace('.000Z', 'Z');
}
function same(exp, act, { partial, tol }) {
  act = wkt(exp, act);
  if (typeof exp === 'string' && typeof act === 'string' && /^\d{4}-\d\d-\d\dT/.test(exp) && /^\d{4}-\d\d-\d\dT/.test(act)) return Date.parse(exp) === Date.parse(act);
  if (typeof exp === 'string' && /^-?[\d.]+s$/.test(exp) && typeof act === 'string' && /^-?[\d.]+s$/.test(act)) return parseFloat(exp) === parseFloat(act);
  if (numish(exp) && numish(act)) return Math.abs(Number(exp) - Number(act)) <= (tol || 0) + 1e-9 * Math.abs(Number(exp));
  if (Array.isArray(exp)) return Array.isArray(act) && exp.length === act.length && exp.every((e, i) => same(e, act[i], { partial, tol }));
  if (exp && typeof exp === 'object' && Array.isArray(act) && act.every((e) => e && typeof e === 'object' && 'key' in e)) {
    act = Object.fromEntries(act.map((e) => [e.key, e.value])); // a map field read from a descriptor set
  }
  if (exp && typeof exp === 'object') {
    if (!act || typeof act !== 'object' || Array.isArray(act)) return false;
    for (const [k, v] of Object.entries(exp)) {
      const a = act[k];
      if (a === undefined) { if (!isDefault(v)) return false; continue; }
      if (!same(v, a, { partial, tol })) return false;
    }
    if (!partial) for (const [k, v] of Object.entries(act)) if (!(k in exp) && !isDefault(v)) return false;
    return true;
  }
  if (exp === null) return act === null || act === undefined;
  return exp === act || (isDefault(exp) && (act === undefined || isDefault(act)));
}
function isDefault(v) {
  return v === 0 || v === '0' || v === '' || v === false || v === null || (Array.isArray(v) && v.length === 0) ||
    (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
}

// one call by its path (never by the generated method name: a service may have methods whose
// names differ only in case, as GripMock's echo example does)
// a case's request may use JSON names (fromUnit) or proto names (from_unit); the client was loaded
// with keepCase, so JSON names go back to proto names
function protoKeys(v) {
  if (Array.isArray(v)) return v.map(protoKeys);
  if (!v || typeof v !== 'object') return v;
  const back = new Map([...jsonNames].map(([k, j]) => [j, k]));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [jsonNames.has(k) ? k : (back.get(k) ?? k), protoKeys(x)]));
}
function call(client, def, c) {
  c = { ...c, requests: c.requests.map(protoKeys) };
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(c.headers)) md.set(k, v);
  const opts = { deadline: Date.now() + CALL_MS };
  const a = [def.path, def.requestSerialize, def.responseDeserialize];
  return new Promise((resolve) => {
    const out = [];
    const fin = (err) => resolve({ err, out });
    if (!def.requestStream && !def.responseStream) {
      client.makeUnaryRequest(...a, c.requests[0] || {}, md, opts, (err, res) => { if (res) out.push(res); fin(err); });
    } else if (!def.requestStream) {
      const s = client.makeServerStreamRequest(...a, c.requests[0] || {}, md, opts);
      s.on('data', (d) => out.push(d)); s.on('error', fin); s.on('end', () => fin(null));
    } else if (!def.responseStream) {
      const s = client.makeClientStreamRequest(...a, md, opts, (err, res) => { if (res) out.push(res); fin(err); });
      for (const r of c.requests) s.write(r);
      s.end();
    } else {
      const s = client.makeBidiStreamRequest(...a, md, opts);
      s.on('data', (d) => out.push(d)); s.on('error', fin); s.on('end', () => fin(null));
      for (const r of c.requests) s.write(r);
      s.end();
    }
  });
}

async function runProject(s, name, results) {
  const dir = path.join(projectsDir, name);
  const files = walk(dir);
  const protos = files.filter((f) => f.endsWith('.proto')).map((f) => path.relative(dir, f));
  const cases = files.filter((f) => f.endsWith('.gctf'));
  const stubFiles = files.filter((f) => /\.(ya?ml|json)$/.test(f));
  const na = (why) => { for (const f of cases) results.push({ project: name, case: path.relative(dir, f), applicable: false, why }); };
  if (!cases.length) return;
  const sets = files.filter((f) => f.endsWith('.pb'));
  if (!protos.length && !sets.length) return na('no .proto or descriptor set in the project (GripMock\'s own services)');
  const serverName = `gm-${name}`.replace(/[^A-Za-z0-9_-]/g, '-');
  let pb = path.join(work, `${serverName}.pb`);
  if (protos.length) {
    // google/rpc/*.proto are not in Debian's libprotobuf-dev: ours (proto/) serve the imports
    const pc = spawnSync('protoc', ['--include_imports', `--descriptor_set_out=${pb}`, '-I.', '-I/usr/include',
      `-I${path.join(repoRoot, 'proto')}`, ...protos], { cwd: dir, encoding: 'utf8' });
    if (pc.status !== 0) return na(`protoc: ${pc.stderr.trim().split('\n').filter((l) => !/WARNING/.test(l))[0] || pc.stderr.trim()}`.replace(/:\d+:\d+:/, ':'));
  } else pb = sets[0]; // a descriptor set shipped by the example
  const up = await s.fetch(`/api/v1/grpc/descriptors?namespace=sandbox&serverName=${serverName}`, {
    method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: fs.readFileSync(pb) });
  if (up.status >= 300) return na(`descriptor upload ${up.status}: ${await up.text()}`);

  let pkgDef;
  try { pkgDef = protoLoader.loadFileDescriptorSetFromBuffer(fs.readFileSync(pb), { keepCase: true, longs: String, enums: String, bytes: String, defaults: false, json: true }); }
  catch (e) { return na(`proto-loader: ${e.message.split('\n')[0]}`); }
  // json_name as protoc wrote it in the set (proto-loader drops it): read with python3-protobuf
  jsonNames = new Map();
  const jn = spawnSync('/usr/bin/python3', ['-c', `
import json, sys
from google.protobuf import descriptor_pb2
s = descriptor_pb2.FileDescriptorSet(); s.ParseFromString(open(sys.argv[1], 'rb').read())
out = {}
def walk(m):
    for f in m.field: out[f.name] = f.json_name or f.name
    for n in m.nested_type: walk(n)
for f in s.file:
    for m in f.message_type: walk(m)
print(json.dumps(out))`, pb], { encoding: 'utf8' });
  if (jn.status === 0) for (const [k, v] of Object.entries(JSON.parse(jn.stdout))) jsonNames.set(k, v);
  const services = Object.keys(pkgDef).filter((k) => pkgDef[k] && !pkgDef[k].format && Object.values(pkgDef[k]).some((d) => d && d.path));

  const stubs = loadStubs(stubFiles);
  const projNotes = new Set();
  let n = 0;
  let created = 0;
  for (const st of stubs) {
    const t = translate(st, services, serverName, n++, pkgDef);
    t.notes.forEach((x) => projNotes.add(x));
    if (!t.mock) continue;
    const r = await s.api('POST', '/api/v1/mocks', t.mock);
    if (r.status === 200) created++;
    else projNotes.add(`mock refused: ${JSON.stringify(r.body).slice(0, 200)}`);
  }

  const port = await freePort();
  let dash = await freePort();
  for (let i = 0; i < 20 && dash === port; i++) dash = await freePort();
  const logFile = path.join(work, `${serverName}.log`);
  const fdLog = fs.openSync(logFile, 'a');
  const proc = spawn(GEN_SERVER, ['--type', 'grpc'], {
    env: { PATH: process.env.PATH, HTTP_ADMIN_BASE_URL: s.admin.url, NAMESPACE: 'sandbox', API_TOKEN: s.token,
      SERVER_NAME: serverName, COORDINATOR_ADDR: s.grpcAddr, HTTP_PORT: String(port), DASHBOARD_PORT: String(dash),
      HTTP_BIND_ADDR: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', fdLog, fdLog],
  });
  fs.closeSync(fdLog);
  const clients = [];
  let lastStatus = '';
  try {
    await waitUntil(async () => {
      if (proc.exitCode !== null) throw new Error('gen-server exited: ' + fs.readFileSync(logFile, 'utf8').slice(-500));
      const r = await fetch(`http://127.0.0.1:${dash}/api/status`).then((x) => x.json()).catch(() => null);
      const st = JSON.stringify(r || {});
      const loaded = Number((st.match(/"mocksLoaded":(\d+)/) || [])[1] || 0);
      lastStatus = st;
      return /"ready":true/.test(st);
    }, 20000, 100, `gen-server for ${name} ready`);
    // every created mock synced, or carry on after 5 s (and say how many the server took)
    const t0 = Date.now();
    let loaded = 0;
    while (Date.now() - t0 < 5000) {
      const st = await fetch(`http://127.0.0.1:${dash}/api/status`).then((x) => x.text()).catch(() => '');
      loaded = Number((st.match(/"mocksLoaded":(\d+)/) || [])[1] || 0);
      if (loaded >= created) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (loaded < created) {
      const why = [...new Set((fs.readFileSync(logFile, 'utf8').match(/skipped: .*/g) || []).map((l) => l.slice(9, 160)))];
      projNotes.add(`gen-server loaded ${loaded} of ${created} mocks (${why.join(' | ') || 'the others skipped by its index'})`);
    }
    for (const f of cases.sort()) {
      const rel = path.relative(dir, f);
      let calls;
      try { calls = parseGctf(fs.readFileSync(f, 'utf8')); }
      catch (e) { results.push({ project: name, case: rel, applicable: false, why: `gctf not parsed: ${e.message}` }); continue; }
      const fails = [];
      for (const c of calls) {
        const [svc, method] = c.endpoint.split('/');
        const def = pkgDef[svc]?.[method];
        if (!def || !def.path) { fails.push({ cause: `endpoint ${c.endpoint} not in the project's protos (served by GripMock itself)`, call: c.endpoint }); continue; }
        const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        clients.push(client);
        const { err, out } = await call(client, def, c);
        const partial = c.opts.some((o) => /partial/.test(o));
        const tol = Number((c.opts.join(' ').match(/tolerance=([\d.]+)/) || [])[1] || 0);
        const templ = JSON.stringify({ err: err?.details, out }).includes('{{');
        if (templ) { fails.push({ cause: 'Go template in the stub output (not translated)', call: c.endpoint, got: err ? { code: err.code, message: err.details } : out }); continue; }
        if (err && err.code === grpc.status.UNIMPLEMENTED && /no mock matches/.test(err.details)) {
          fails.push({ cause: 'no mock matched (condition translation)', call: c.endpoint, want: c.error || c.responses, got: { code: err.code, message: err.details } }); continue;
        }
        if (c.error) {
          if (!err) { fails.push({ cause: 'expected an error, got OK', call: c.endpoint, got: out }); continue; }
          if (c.error.code !== undefined && err.code !== c.error.code) { fails.push({ cause: 'wrong status code', call: c.endpoint, want: c.error, got: { code: err.code, message: err.details } }); continue; }
          if (c.error.message !== undefined && (partial ? !String(err.details).includes(c.error.message) : err.details !== c.error.message)) {
            fails.push({ cause: 'wrong status message', call: c.endpoint, want: c.error, got: { code: err.code, message: err.details } }); continue;
          }
          continue;
        }
        if (err) {
          const cause = err.code === grpc.status.UNIMPLEMENTED && /no mock matches/.test(err.details) ? 'no mock matched (condition translation)'
            : err.code === grpc.status.INTERNAL ? 'payload not encodable (INTERNAL)' : `status ${err.code}`;
          fails.push({ cause, call: c.endpoint, got: { code: err.code, message: err.details } }); continue;
        }
        const got = out;
        if (got.length !== c.responses.length || !c.responses.every((e, i) => same(e, got[i], { partial, tol }))) {
          fails.push({ cause: 'different message', call: c.endpoint, want: c.responses, got }); continue;
        }
      }
      const r = { project: name, case: rel, applicable: true, pass: fails.length === 0, fails, asserts: calls.some((c) => c.asserts) };
      results.push(r);
      console.log(`${r.pass ? 'PASS' : 'FAIL'} ${name}/${rel}${r.pass ? '' : ' - ' + fails[0].cause}`);
    }
  } catch (e) {
    console.error(`${name}: ${e.message.split('\n')[0]} (${created} mocks created; last status ${lastStatus}); log:\n${fs.readFileSync(logFile, 'utf8').slice(-800)}`);
    for (const f of cases) if (!results.some((r) => r.project === name && r.case === path.relative(dir, f))) {
      results.push({ project: name, case: path.relative(dir, f), applicable: true, pass: false, fails: [{ cause: `server: ${e.message.split('\n')[0]}` }] });
    }
  } finally {
    for (const c of clients) c.close();
    proc.kill('SIGTERM');
    await waitUntil(() => proc.exitCode !== null || proc.signalCode !== null, 10000, 50, 'gen-server stopped').catch(() => proc.kill('SIGKILL'));
  }
  return [...projNotes];
}

const s = await startStack();
const results = [];
const notes = {};
try {
  for (const name of fs.readdirSync(projectsDir).sort()) {
    if (only.length && !only.includes(name)) continue;
    if (!fs.statSync(path.join(projectsDir, name)).isDirectory()) continue;
    const n = await runProject(s, name, results);
    if (n && n.length) notes[name] = n;
  }
} finally {
  await s.stop();
}
const app = results.filter((r) => r.applicable);
const passed = app.filter((r) => r.pass);
const byCause = {};
for (const r of app.filter((x) => !x.pass)) {
  const c = r.fails[0].cause.replace(/status \d+.*/, (m) => m);
  (byCause[c] ||= []).push(`${r.project}/${r.case}`);
}
const notApp = {};
for (const r of results.filter((x) => !x.applicable)) (notApp[r.why] ||= []).push(`${r.project}/${r.case}`);
console.log(`\n${passed.length} passed of ${app.length} applicable (${results.length - app.length} not applicable)`);
console.log('\nfailures by cause:');
for (const [c, l] of Object.entries(byCause).sort((a, b) => b[1].length - a[1].length)) console.log(`  ${l.length}  ${c}`);
console.log('\nnot applicable:');
for (const [c, l] of Object.entries(notApp)) console.log(`  ${l.length}  ${c}`);
console.log('\nnot translated (per project):');
for (const [p, l] of Object.entries(notes)) console.log(`  ${p}: ${l.join('; ')}`);
const report = process.env.GRIPMOCK_REPORT || path.join(os.tmpdir(), 'gripmock-report.json');
fs.writeFileSync(report, JSON.stringify({ passed: passed.length, applicable: app.length, byCause, notApplicable: notApp, notes, results }, null, 1));
console.log(`\ndetails: ${report}`);
fs.rmSync(work, { recursive: true, force: true });
