// openapi_check.mjs - checks that imported OpenAPI mocks answer schema-valid bodies: every mock
// is called over HTTP (plain, or with the Prefer / Accept conditions that select it) and each
// JSON answer is validated with ajv (+ ajv-formats; draft 2020-12 for OpenAPI 3.1) against the
// operation's response schema. OpenAPI 3.0 / Swagger spellings are mapped to JSON Schema first.
// Shared by openapi_import.test.mjs (CLI import) and openapi_rest.test.mjs (REST import).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { waitUntil } from './harness.mjs';

/** Loads a CommonJS module from NODE_PATH entries first (a private ajv 8), then from here. */
export function load(name) {
  const bases = [...(process.env.NODE_PATH || '').split(':').filter(Boolean).map((d) => path.join(d, 'x.js')), import.meta.url];
  for (const b of bases) {
    try {
      const req = createRequire(b);
      const m = req(name);
      return m.default || m;
    } catch {}
  }
  throw new Error(`cannot load ${name}: install ajv@8 and ajv-formats@3 (see the header)`);
}

/** RFC 6901 pointer of [tokens]. */
export const ptr = (toks) => toks.map((t) => '/' + String(t).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
export const get = (doc, p) =>
  p === '' ? doc : p.slice(1).split('/').map((t) => decodeURIComponent(t.replace(/~1/g, '/').replace(/~0/g, '~'))).reduce((o, k) => (o == null ? undefined : o[k]), doc);

/** OpenAPI 3.0 / Swagger schema words -> JSON Schema, in place, over the whole document. */
export function toJsonSchema(node, oas31) {
  if (Array.isArray(node)) return node.forEach((n) => toJsonSchema(n, oas31));
  if (!node || typeof node !== 'object') return;
  if (!oas31 && (node.nullable === true || node['x-nullable'] === true) && typeof node.type === 'string') node.type = [node.type, 'null'];
  if (node.exclusiveMaximum === true) { node.exclusiveMaximum = node.maximum; delete node.maximum; }
  if (node.exclusiveMinimum === true) { node.exclusiveMinimum = node.minimum; delete node.minimum; }
  if (node.exclusiveMaximum === false) delete node.exclusiveMaximum;
  if (node.exclusiveMinimum === false) delete node.exclusiveMinimum;
  if (node.discriminator && typeof node.discriminator === 'object') delete node.discriminator;
  if (node.properties && typeof node.properties === 'object' && Array.isArray(node.required)) {
    node.required = node.required.filter((k) => !(node.properties[k] && node.properties[k].writeOnly === true));
  }
  if (node.type === 'file') delete node.type;
  for (const [k, v] of Object.entries(node)) if (k !== 'example' && k !== 'examples' && k !== 'default' && k !== 'const' && k !== 'enum') toJsonSchema(v, oas31);
}

/** Every writeOnly property name reachable from the document's schemas. */
export function writeOnlyNames(node, out = new Set()) {
  if (Array.isArray(node)) node.forEach((n) => writeOnlyNames(n, out));
  else if (node && typeof node === 'object') {
    if (node.properties) for (const [k, v] of Object.entries(node.properties)) if (v && v.writeOnly === true) out.add(k);
    for (const [k, v] of Object.entries(node)) if (k !== 'example' && k !== 'examples') writeOnlyNames(v, out);
  }
  return out;
}

/** The response key of the spec behind a mock's status: exact code, NXX range, or default. */
export function responseKey(responses, status) {
  if (responses[String(status)]) return String(status);
  const range = `${String(status)[0]}XX`;
  if (responses[range] || responses[range.toLowerCase()]) return responses[range] ? range : range.toLowerCase();
  return 'default';
}

/** The JSON pointer of the schema answered for (path, method, status) and its media type, or null. */
export function schemaPointer(doc, pathKey, method, status, swagger) {
  const opPtr = ptr(['paths', pathKey, method.toLowerCase(), 'responses']);
  const responses = get(doc, opPtr);
  let rPtr = opPtr + ptr([responseKey(responses, status)]);
  let r = get(doc, rPtr);
  for (let i = 0; r && r.$ref && i < 8; i++) { rPtr = r.$ref.slice(1); r = get(doc, rPtr); }
  if (!r) return null;
  if (swagger) return r.schema ? rPtr + '/schema' : null;
  if (!r.content) return null;
  const media = Object.keys(r.content);
  const m = media.find((x) => x.startsWith('application/json')) || media.find((x) => /\+json/.test(x)) || media[0];
  return r.content[m].schema ? rPtr + ptr(['content', m, 'schema']) : null;
}

/**
 * Calls every mock of res ({mocks, warnings}) imported from doc (the parsed spec) in namespace ns
 * on stack s and validates each JSON answer against its schema. Returns {mocks, validated}.
 */
export async function checkMocks(s, doc, res, ns, { oas31 = false, swagger = false } = {}) {
  const Ajv = oas31 ? load('ajv/dist/2020') : load('ajv');
  const addFormats = load('ajv-formats');
  assert.ok(res.mocks.length > 0);
  const writeOnly = writeOnlyNames(doc);
  const schemaDoc = structuredClone(doc);
  toJsonSchema(schemaDoc, oas31);
  schemaDoc.$id = 'spec';
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema(schemaDoc, 'spec');

  const first = res.mocks.find((m) => !m.http.header);
  await waitUntil(async () => (await s.fetch(`/stubs/${ns}${first.http.route.replace(/\/:[A-Za-z0-9_]+/g, '/7')}`, { token: null, method: first.http.httpMethod })).status === first.response.statusCode, 5000, 20, 'mocks served');

  let validated = 0;
  for (const m of res.mocks) {
    const opTag = m.tags.find((t) => t.startsWith('op:')).slice(3);
    const sp = opTag.indexOf(' ');
    const method = opTag.slice(0, sp), pathKey = opTag.slice(sp + 1);
    const status = m.response.statusCode;
    const prefer = (m.http.header || []).find((c) => c.path === 'Prefer');
    // the Prefer / Accept conditions that select this mock
    const headers = Object.fromEntries((m.http.header || []).filter((c) => c.assertAction === 'contains').map((c) => [c.path, c.value]));
    const media = m.tags.find((t) => t.startsWith('media:'));
    if (media) headers.Accept = media.slice(6);
    const url = `/stubs/${ns}${m.http.route.replace(/\/:[A-Za-z0-9_]+/g, '/7')}`;
    const r = await s.fetch(url, { token: null, method, headers });
    const text = await r.text();
    const what = `${method} ${pathKey} -> ${status} ${JSON.stringify(headers)}`;
    assert.equal(r.status, status, `${what}: status (${text.slice(0, 200)})`);
    const sPtr = headers.Accept ? null : schemaPointer(doc, pathKey, method, status, swagger);
    if (status === 204 || m.response.payload === undefined) {
      assert.equal(text, '', `${what}: empty body`);
      continue;
    }
    const ctype = m.response.headers?.['Content-Type']?.[0] || '';
    if (!/json/.test(ctype)) {
      assert.equal(text, m.response.payload, `${what}: text body`);
      continue;
    }
    const body = JSON.parse(text);
    for (const w of writeOnly) assert.ok(!JSON.stringify(body).includes(`"${w}":`), `${what}: writeOnly ${w} leaked`);
    if (!sPtr) continue;
    const target = get(doc, sPtr);
    if (target && target.$ref && !target.$ref.startsWith('#')) {
      assert.ok(res.warnings.some((w) => w.message.includes(target.$ref)), `${what}: external $ref warned`);
      continue;
    }
    const validate = ajv.compile({ $ref: 'spec#' + sPtr.split('/').map((t) => encodeURIComponent(decodeURIComponent(t)).replace(/%7E/g, '~')).join('/') });
    assert.ok(validate(body), `${what}: body ${text.slice(0, 300)} invalid: ${ajv.errorsText(validate.errors)}`);
    validated++;
  }
  return { mocks: res.mocks.length, validated };
}

