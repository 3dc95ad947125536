// hostile.test.mjs - hostile input against the admin node and mockarty.resolve(): malformed
// HTTP on raw TCP, encoding edge cases, oversized and pathological mocks, injection-looking
// identifiers, NULLs and junk in SQL. Every case states the one answer it expects (status, and
// for our own error envelopes the code and a part of the message; "no answer" where the server
// closes or holds the connection), and after each one the node must still answer /health/live
// 200 quickly and the database backend must still be usable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startStack, waitUntil } from './lib/harness.mjs';

let s;
before(async () => {
  s = await startStack();
  const mocks = [
    { id: 'h-param', http: { route: '/hp/:id', httpMethod: 'GET' }, response: { payload: { id: '$.pathParam.id' } } },
    { id: 'h-plain', http: { route: '/hplain' }, response: { payload: { ok: true } } },
    {
      id: 'h-body',
      http: { route: '/hbody', httpMethod: 'POST', conditions: [{ path: '$.a.b', assertAction: 'equals', value: 1 }] },
      response: { payload: { matched: true } },
    },
    {
      id: 'h-regex',
      http: { route: '/hregex', httpMethod: 'POST', conditions: [{ path: '$.s', assertAction: 'matches', value: '^(a+)+$' }] },
      response: { payload: { matched: true } },
    },
    {
      id: 'h-regex-h',
      http: { route: '/hregexh', header: [{ path: 'X-Evil', assertAction: 'matches', value: '^(a|aa)+$' }] },
      response: { payload: { matched: true } },
    },
    { id: 'h-query', http: { route: '/hq' }, response: { payload: { last: '$.queryParam.a[4999]', first: '$.queryParam.a' } } },
    { id: 'h-query2', http: { route: '/hq2' }, response: { payload: { last: '$.queryParam.a[299]', first: '$.queryParam.a' } } },
  ];
  for (const m of mocks) {
    const r = await s.api('POST', '/api/v1/mocks', m);
    assert.equal(r.status, 200, `${m.id}: ${r.text}`);
  }
});
after(async () => {
  await s?.stop();
});

/**
 * Sends raw bytes (string or Buffer, or an array of chunks written in turn) on a fresh TCP
 * connection. Resolves to { status (0 when no status line came back), head, body, raw, closed }
 * once the server closed the connection, a complete response arrived, or timeoutMs passed.
 * endAfterWrite half-closes our side after sending (a client that gave up midway).
 */
function raw(data, { timeoutMs = 5000, endAfterWrite = false, destroyAfterWrite = false } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(s.admin.port, '127.0.0.1');
    const chunks = [];
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const buf = Buffer.concat(chunks);
      const text = buf.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const sep = text.indexOf('\r\n\r\n');
      resolve({
        status: m ? Number(m[1]) : 0,
        head: sep >= 0 ? text.slice(0, sep) : text,
        body: sep >= 0 ? text.slice(sep + 4) : '',
        raw: text,
        closed,
      });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('data', (d) => {
      chunks.push(d);
      // a complete response with Content-Length: stop early
      const text = Buffer.concat(chunks).toString('latin1');
      const sep = text.indexOf('\r\n\r\n');
      if (sep >= 0) {
        const cl = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, sep));
        if (cl && Buffer.byteLength(text.slice(sep + 4), 'latin1') >= Number(cl[1])) finish(false);
      }
    });
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('connect', async () => {
      const parts = Array.isArray(data) ? data : [data];
      for (const p of parts) {
        if (sock.destroyed) break;
        await new Promise((r) => sock.write(p, r));
      }
      if (destroyAfterWrite) {
        sock.destroy();
        finish(true);
      } else if (endAfterWrite) sock.end();
    });
  });
}

/** GET /health/live must answer 200 within 1 s: the node is alive and no worker is stuck. */
async function alive(what) {
  const t0 = Date.now();
  const ctl = AbortSignal.timeout(2000);
  const r = await fetch(s.admin.url + '/health/live', { signal: ctl }).catch((e) => ({ status: 0, err: e }));
  const ms = Date.now() - t0;
  assert.equal(r.status, 200, `after ${what}: /health/live did not answer 200 (${r.err?.message ?? r.status})\n` + s.admin.logs());
  assert.ok(ms < 1000, `after ${what}: /health/live took ${ms} ms`);
  assert.equal(s.admin.exited, false, `after ${what}: admin node exited\n` + s.admin.logs());
}

/**
 * Asserts the one answer a raw request gets. want: a status number; or { status, code, msg, body }
 * (code and msg part of our JSON error envelope, body the parsed JSON of a 2xx answer); or
 * 'closed' (no answer, the server closed the connection) or 'held' (no answer within the
 * timeout, the connection still open).
 */
function expectRaw(r, what, want) {
  const show = `${what}: ${r.status} ${r.raw.slice(0, 400)}`;
  if (want === 'closed' || want === 'held') {
    assert.equal(r.status, 0, show);
    assert.equal(r.closed, want === 'closed', `${what}: connection ${r.closed ? 'closed' : 'still open'}`);
    return;
  }
  const w = typeof want === 'number' ? { status: want } : want;
  assert.equal(r.status, w.status, show);
  if (w.code !== undefined || w.msg !== undefined || w.body !== undefined) {
    const b = JSON.parse(Buffer.from(r.body, 'latin1').toString('utf8'));
    if (w.code !== undefined) assert.equal(b.code, w.code, show);
    if (w.msg !== undefined) assert.ok(b.error.includes(w.msg), `${what}: error ${JSON.stringify(b.error)} lacks ${JSON.stringify(w.msg)}`);
    if (w.body !== undefined) assert.deepEqual(b, w.body, show);
  }
}

/** Asserts the one answer of an s.api() call: { status, code?, msg?, field?, body? } like expectRaw. */
function expectApi(r, what, w) {
  const show = `${what}: ${r.status} ${r.text.slice(0, 400)}`;
  assert.equal(r.status, w.status, show);
  if (w.code !== undefined) assert.equal(r.body?.code, w.code, show);
  if (w.msg !== undefined) assert.ok(r.body?.error?.includes(w.msg), `${what}: error ${JSON.stringify(r.body?.error)} lacks ${JSON.stringify(w.msg)}`);
  if (w.field !== undefined) assert.equal(r.body?.field, w.field, show);
  if (w.body !== undefined) assert.deepEqual(r.body, w.body, show);
}

const MISS = { status: 404, code: 'not_found', msg: 'no mock matches this request' };
const PLAIN = { status: 200, body: { ok: true } };
// libmicrohttpd's own refusals are HTML pages, not our envelope: the status is the answer
const req = (line, headers = [], body = '') =>
  `${line}\r\nHost: 127.0.0.1\r\n${headers.map((h) => h + '\r\n').join('')}Connection: close\r\n\r\n${body}`;

test('invalid methods and request lines: each gets its one answer', async () => {
  const cases = [
    // /hplain has no httpMethod, so any token-shaped method matches it
    ['FOO /hplain HTTP/1.1', PLAIN],
    // MHD reads the method up to the NUL ("G"): the method-less mock answers
    ['G\u0000ET /hplain HTTP/1.1', PLAIN],
    ['GET /hplain HTTP/9.9', 505],
    ['GET /hplain', 400],
    ['GET  HTTP/1.1', 400],
    ['\u0001\u0002\u0003\u00ff', 'closed'],
    // a path without its leading slash is read as /hplain: lenient, not an error
    ['GET hplain HTTP/1.1', PLAIN],
    ['GET * HTTP/1.1', MISS],
    // an absolute URI is matched as a path ("http://evil.example/hplain"): no mock
    ['GET http://evil.example/hplain HTTP/1.1', MISS],
    ['PURGE /hplain HTTP/1.1', PLAIN],
  ];
  for (const [line, want] of cases) {
    const r = await raw(Buffer.from(req(line), 'latin1'));
    expectRaw(r, JSON.stringify(line), want);
    await alive(JSON.stringify(line));
  }
});

test('absurdly long path, header, many headers: 414 or 431 from the HTTP layer', async () => {
  const long = 'a'.repeat(200_000);
  for (const [what, data, want] of [
    ['200 KB path', req(`GET /${long} HTTP/1.1`), 414],
    ['200 KB path under /stubs', req(`GET /stubs/sandbox/${long} HTTP/1.1`), 414],
    ['200 KB header value', req('GET /hplain HTTP/1.1', [`X-Big: ${long}`]), 431],
    ['200 KB header name', req('GET /hplain HTTP/1.1', [`${long}: x`]), 431],
    ['5000 headers', req('GET /hplain HTTP/1.1', Array.from({ length: 5000 }, (_, i) => `X-H${i}: v`)), 431],
    ['200 KB query', req(`GET /hq?${'a=1&'.repeat(50_000)} HTTP/1.1`), 414],
  ]) {
    const r = await raw(data);
    expectRaw(r, what, want);
    await alive(what);
  }
});

test('percent-encoding edge cases on a :param route', async () => {
  const R = '\ufffd'; // invalid UTF-8 bytes come back as U+FFFD, one per byte
  for (const [p, want] of [
    // %2F inside a :param segment is a slash: two segments, no mock
    ['/hp/a%2Fb', MISS],
    // %00 is never decoded into a NUL that truncates the path: kept as is
    ['/hp/x%00y', { status: 200, body: { id: 'x%00y' } }],
    ['/hp/%zz', { status: 200, body: { id: '%zz' } }],
    ['/hp/%', { status: 200, body: { id: '%' } }],
    ['/hp/%4', { status: 200, body: { id: '%4' } }],
    ['/hp/%C0%AF', { status: 200, body: { id: R + R } }],
    ['/hp/%C0%80', { status: 200, body: { id: R + R } }],
    ['/hp/%E0%80%AF', { status: 200, body: { id: R + R + R } }],
    ['/hp/%FF%FE', { status: 200, body: { id: R + R } }],
    ['/hp/%ED%A0%80', { status: 200, body: { id: R + R + R } }],
    ['/hp/%F4%90%80%80', { status: 200, body: { id: R + R + R + R } }],
    ['/hp/%25%', { status: 200, body: { id: '%%' } }],
    ['/%00', MISS],
    ['/stubs/%00/x', MISS],
    ['/stubs/sandbox/hp/%FF', { status: 200, body: { id: R } }],
  ]) {
    const r = await raw(req(`GET ${p} HTTP/1.1`));
    expectRaw(r, p, want);
    await alive(p);
  }
});

test('/stubs without a namespace, empty segments and .. segments', async () => {
  for (const p of ['/stubs', '/stubs/', '/stubs//', '/stubs//hplain', '/stubs/sandbox', '/stubs/sandbox/', '/stubs/..', '/stubs/../hplain', '/stubs/sandbox/../../hplain', '/hp/../../../etc/passwd', '//', '/./hplain', '/stubs/%2e%2e/hplain']) {
    const r = await raw(req(`GET ${p} HTTP/1.1`));
    expectRaw(r, p, MISS); // paths are matched as sent: no dot-segment removal
    await alive(p);
  }
  // ".." is an ordinary value of a :param segment
  expectRaw(await raw(req('GET /hp/.. HTTP/1.1')), '/hp/..', { status: 200, body: { id: '..' } });
  // a `..` never reaches the REST API (and so never lists mocks)
  for (const p of ['/hplain/../api/v1/mocks', '/stubs/sandbox/../../api/v1/mocks', '/stubs/sandbox/%2e%2e/%2e%2e/api/v1/mocks', '/x/%2e%2e/api/v1/mocks']) {
    const r = await raw(req(`GET ${p} HTTP/1.1`));
    expectRaw(r, p, MISS);
    await alive(p);
  }
});

test('empty or missing Host, duplicate headers', async () => {
  expectRaw(await raw('GET /hplain HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n'), 'empty Host', PLAIN);
  expectRaw(await raw('GET /hplain HTTP/1.1\r\nConnection: close\r\n\r\n'), 'no Host', PLAIN);
  expectRaw(await raw('GET /hplain HTTP/1.0\r\n\r\n'), 'HTTP/1.0', PLAIN);
  await alive('Host');
  // conflicting Content-Length: the first one (5) frames the body '{"a":', which does not match
  let r = await raw(req('POST /hbody HTTP/1.1', ['Content-Length: 5', 'Content-Length: 50'], '{"a":'));
  expectRaw(r, 'two Content-Length', MISS);
  await alive('two Content-Length');
  // Content-Length together with chunked: answered once, as a request that matches no mock
  r = await raw(req('POST /hbody HTTP/1.1', ['Content-Length: 3', 'Transfer-Encoding: chunked'], '0\r\n\r\n'));
  expectRaw(r, 'CL+TE', MISS);
  await alive('CL+TE');
  // duplicate auth / namespace headers: deterministic, no crash
  r = await raw(req('GET /api/v1/mocks HTTP/1.1', [`Authorization: Bearer ${s.token}`, 'Authorization: Bearer mk_bogus', 'X-Namespace: a', 'X-Namespace: b']));
  expectRaw(r, 'two Authorization headers (the first is valid)', 200);
  r = await raw(req('GET /hplain HTTP/1.1', ['X-Namespace: sandbox', 'X-Namespace: other']));
  expectRaw(r, 'two X-Namespace headers (the first is sandbox)', PLAIN);
  r = await raw(req('GET /hplain HTTP/1.1', ['X-Namespace:', 'X-Mockarty-Seed: not-a-number']));
  expectRaw(r, 'empty X-Namespace, junk seed', PLAIN);
  r = await raw(req('GET /hplain HTTP/1.1', ['X-Mockarty-Seed: 99999999999999999999999999999']));
  expectRaw(r, 'seed beyond int64', PLAIN);
  await alive('duplicate headers');
});

test('query string with 5000 repeated keys: beyond the header limit, 414', async () => {
  const q = Array.from({ length: 5000 }, (_, i) => `a=${i}`).join('&');
  expectRaw(await raw(req(`GET /hq?${q} HTTP/1.1`), { timeoutMs: 10000 }), 'many keys', 414);
  // 300 of them fit: the first and the last value are served
  const q2 = Array.from({ length: 300 }, (_, i) => `a=${i}`).join('&');
  const r = await s.api('GET', `/hq2?${q2}`, undefined, { token: null });
  expectApi(r, '300 keys', { status: 200, body: { first: '0', last: '299' } });
  await alive('many query keys');
});

test('too many query keys for the connection memory: answered and closed at once (fetch, 2 s)', async () => {
  // between what the connection memory can index (about 330 keys at HTTP_CONNECTION_MEMORY_KB=24)
  // and what no longer fits the request line (414 from the HTTP layer), the HTTP library used to
  // answer nothing and keep the connection open for 120 s; the node answers 431 itself now
  for (const [n, want] of [[400, 431], [1000, 431], [3000, 431], [5000, 414]]) {
    const q = Array.from({ length: n }, (_, i) => `a=${i}`).join('&');
    const t0 = Date.now();
    const r = await fetch(`${s.admin.url}/hq?${q}`, { signal: AbortSignal.timeout(2000) })
      .catch((e) => ({ status: 0, err: e }));
    const body = r.text ? await r.text() : '';
    const ms = Date.now() - t0;
    assert.equal(r.status, want, `${n} keys: ${r.err?.message ?? body}`);
    assert.equal(r.headers.get('connection'), 'close', `${n} keys`);
    assert.ok(ms < 2000, `${n} keys took ${ms} ms`);
    if (want === 431) assert.match(JSON.parse(body).error, /HTTP_CONNECTION_MEMORY_KB=24/);
  }
  await alive('crowded queries');
});

test('body declared longer than sent, connection closed midway', async () => {
  for (const p of ['/api/v1/mocks', '/hbody', '/stubs/sandbox/hbody']) {
    await raw([`POST ${p} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"id":"half`], { destroyAfterWrite: true });
    await raw([`POST ${p} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.token}\r\nContent-Length: 100000\r\n\r\n{"id":"half`], { endAfterWrite: true, timeoutMs: 2000 });
    await alive(`half body to ${p}`);
  }
  const g = await s.api('GET', '/api/v1/mocks/half');
  assert.equal(g.status, 404, 'a half-sent create stored nothing');
  // 20 half-open uploads at once do not starve the node
  const socks = await Promise.all(
    Array.from({ length: 20 }, () =>
      new Promise((res) => {
        const c = net.connect(s.admin.port, '127.0.0.1', () => {
          c.write('POST /hbody HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{');
          res(c);
        });
        c.on('error', () => {});
      }),
    ),
  );
  await alive('20 half-open uploads');
  for (const c of socks) c.destroy();
});

test('chunked bodies: valid, malformed, absurd sizes', async () => {
  const m = JSON.stringify({ id: 'h-chunked', http: { route: '/hchunked' }, response: { payload: 'chunked-ok' } });
  const half = Math.floor(m.length / 2);
  const body = `${half.toString(16)}\r\n${m.slice(0, half)}\r\n${(m.length - half).toString(16)}\r\n${m.slice(half)}\r\n0\r\n\r\n`;
  let r = await raw(req('POST /api/v1/mocks HTTP/1.1', [`Authorization: Bearer ${s.token}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked'], body));
  assert.equal(r.status, 200, r.raw.slice(0, 400));
  assert.equal((await s.api('GET', '/hchunked', undefined, { token: null })).text, 'chunked-ok');
  for (const [what, b, want] of [
    ['bad chunk size', 'zz\r\nabc\r\n0\r\n\r\n', 400],
    // 2^64-1 is a valid chunk size to the HTTP layer, which waits for the data
    ['huge chunk size', 'ffffffffffffffff\r\nabc\r\n0\r\n\r\n', 'held'],
    ['overflowing chunk size', 'fffffffffffffffffffffffff\r\nabc\r\n0\r\n\r\n', 413],
    ['negative chunk size', '-5\r\nabc\r\n0\r\n\r\n', 400],
    ['chunk longer than said', '2\r\nabcdef\r\n0\r\n\r\n', 400],
    ['6 MB in chunks', Array.from({ length: 6 }, () => `100000\r\n${'x'.repeat(0x100000)}\r\n`).join('') + '0\r\n\r\n', { status: 413, code: 'validation', msg: 'request body exceeds the limit of 5 MB' }],
  ]) {
    r = await raw(req('POST /api/v1/mocks HTTP/1.1', [`Authorization: Bearer ${s.token}`, 'Transfer-Encoding: chunked'], b), { timeoutMs: 3000 });
    expectRaw(r, what, want);
    await alive(what);
  }
});

test('a JSON body nested 10,000 deep to a mock with body conditions: a miss, no crash', async () => {
  const deep = '{"a":'.repeat(10000) + '1' + '}'.repeat(10000);
  const arr = '['.repeat(100000) + ']'.repeat(100000);
  for (const b of [deep, arr, '{"a":{"b":' + deep + '}}']) {
    const r = await s.api('POST', '/hbody', b, { token: null });
    expectApi(r, `deep body ${b.slice(0, 12)}`, MISS); // too deep to parse: no JSON body, no match
    await alive('deep body');
  }
  const ok = await s.api('POST', '/hbody', { a: { b: 1 } }, { token: null });
  assert.equal(ok.status, 200, ok.text);
});

test('catastrophic regex against long input: answered quickly, then still serving', async () => {
  const evil = 'a'.repeat(30000) + '!';
  let t0 = Date.now();
  let r = await s.api('POST', '/hregex', { s: evil }, { token: null });
  assert.equal(r.status, 404, r.text.slice(0, 300));
  assert.ok(Date.now() - t0 < 3000, `body regex took ${Date.now() - t0} ms`);
  t0 = Date.now();
  r = await s.api('GET', '/hregexh', undefined, { token: null, headers: { 'X-Evil': 'a'.repeat(5000) + 'b' } });
  assert.equal(r.status, 404, r.text.slice(0, 300));
  assert.ok(Date.now() - t0 < 3000, `header regex took ${Date.now() - t0} ms`);
  await alive('regex');
  // a routePattern with catastrophic backtracking
  const c = await s.api('POST', '/api/v1/mocks', { id: 'h-rp', http: { routePattern: '^/hrp/(a+)+$' }, response: { payload: 'rp' } });
  assert.equal(c.status, 200, c.text);
  t0 = Date.now();
  r = await s.api('GET', '/hrp/' + 'a'.repeat(5000) + '!', undefined, { token: null });
  expectApi(r, 'routePattern backtracking', MISS);
  assert.ok(Date.now() - t0 < 3000, `routePattern took ${Date.now() - t0} ms`);
  r = await s.api('GET', '/hrp/aaa', undefined, { token: null });
  expectApi(r, 'routePattern match', { status: 200 });
  assert.equal(r.text, 'rp');
  // invalid patterns are refused at create time
  const bad = await s.api('POST', '/api/v1/mocks', { id: 'h-badre', http: { route: '/hbadre', conditions: [{ path: '$.s', assertAction: 'matches', value: '(unclosed' }] } });
  expectApi(bad, 'invalid regex', { status: 400, code: 'validation', field: '$.http.conditions[0].value', msg: 'invalid regex at offset 9: missing closing parenthesis' });
  await alive('routePattern');
});

test('a mock with 10,000 conditions is refused naming the limit; 256 are stored and served', async () => {
  const conds = (n) => Array.from({ length: n }, (_, i) => ({ path: `$.k${i}`, assertAction: 'notEmpty' }));
  const c = await s.api('POST', '/api/v1/mocks', { id: 'h-10k', http: { route: '/h10k', httpMethod: 'POST', conditions: conds(10000) }, response: { payload: 'all' } });
  expectApi(c, '10,000 conditions', { status: 400, code: 'validation', field: '$.http.conditions', msg: 'more than 256 conditions' });
  assert.equal((await s.api('GET', '/api/v1/mocks/h-10k')).status, 404);
  const ok = await s.api('POST', '/api/v1/mocks', { id: 'h-256', http: { route: '/h256', httpMethod: 'POST', conditions: conds(256) }, response: { payload: 'all' } });
  assert.equal(ok.status, 200, ok.text.slice(0, 300));
  const body = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`k${i}`, 'v']));
  const t0 = Date.now();
  let r = await s.api('POST', '/h256', body, { token: null });
  expectApi(r, 'all 256 conditions hold', { status: 200 });
  assert.equal(r.text, 'all');
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  delete body.k255;
  r = await s.api('POST', '/h256', body, { token: null });
  expectApi(r, 'one condition fails', MISS);
  await alive('many conditions');
});

test('a 4.9 MB mock round-trips; a 6 MB one is 413', async () => {
  const big = 'x'.repeat(4_900_000);
  const c = await s.api('POST', '/api/v1/mocks', { id: 'h-big', http: { route: '/hbig' }, response: { payload: { big } } });
  assert.equal(c.status, 200, c.text.slice(0, 300));
  const r = await s.api('GET', '/hbig', undefined, { token: null });
  assert.equal(r.status, 200);
  assert.equal(r.body.big.length, 4_900_000);
  const g = await s.api('GET', '/api/v1/mocks/h-big');
  assert.equal(g.body.response.payload.big.length, 4_900_000);
  const l = await s.api('GET', '/api/v1/mocks?limit=100');
  assert.equal(l.status, 200);
  const t = await s.api('POST', '/api/v1/mocks', { id: 'h-toobig', http: { route: '/htoobig' }, response: { payload: 'y'.repeat(6_000_000) } });
  assert.equal(t.status, 413, t.text.slice(0, 300));
  assert.equal((await s.api('DELETE', '/api/v1/mocks/h-big/purge')).status, 200);
  await alive('big mock');
});

test('templates producing huge output are capped: 500 template_output_limit on the node, MK001 in SQL', async () => {
  // past the per-mock bounds: refused at save, naming the field
  const tooMany = await s.api('POST', '/api/v1/mocks', {
    id: 'h-huge',
    http: { route: '/hhuge' },
    response: { payload: { p: '$.fake.Paragraph '.repeat(100_000), list: Array.from({ length: 2000 }, () => '$.fake.Paragraph $.fake.Paragraph $.fake.Paragraph') } },
  });
  expectApi(tooMany, '100,000 fakers', { status: 400, code: 'validation', field: '$.response.payload.p', msg: 'too many template expressions: a mock may hold at most 10000' });
  // within the bounds, but 10,000 copies of a 1 MB request body: the output budget stops it
  const c = await s.api('POST', '/api/v1/mocks', { id: 'h-huge', http: { route: '/hhuge', httpMethod: 'POST' }, response: { payload: Array(10000).fill('$.req') } });
  assert.equal(c.status, 200, c.text.slice(0, 300));
  const big = 'z'.repeat(1_000_000);
  const t0 = Date.now();
  const r = await s.api('POST', '/hhuge', big, { token: null, headers: { 'Content-Type': 'text/plain' } });
  expectApi(r, '10,000 x 1 MB', {
    status: 500,
    code: 'template_output_limit',
    msg: 'response template output exceeds TEMPLATE_OUTPUT_LIMIT_MB=8 (8388608 bytes) at $.response.payload',
  });
  assert.match(r.body.request_id, /^[0-9a-f]{32}$/);
  assert.ok(Date.now() - t0 < 10000, `took ${Date.now() - t0} ms`);
  await alive('huge template');
  // the same mock through SQL: a clean error naming the setting, the backend survives
  const out = await s.psql(`SELECT mockarty.resolve('sandbox', 'POST', '/hhuge', '', '{}', repeat('z', 1000000))`).catch((e) => e.message);
  assert.match(out, /ERROR: {2}response template output exceeds mockarty\.template_output_limit \(8192 kB\) rendering mock "h-huge"/, out.slice(0, 300));
  assert.equal(await s.psql('SELECT 1'), '1');
});

test('$.increment on non-numbers, huge numbers and overflow', async () => {
  const c = await s.api('POST', '/api/v1/mocks', {
    id: 'h-inc',
    http: { route: '/hinc', httpMethod: 'POST' },
    response: { payload: { g: '$.increment($.gS.n)', r: '$.increment($.req.v)' } },
  });
  assert.equal(c.status, 200, c.text);
  const I63 = 2 ** 63; // 9223372036854775807 and its neighbours as JSON numbers read back in JS
  // value -> { g: the stored value + 1, r: the request's value + 1 }; not a number counts from 0
  for (const [v, want] of [
    ['abc', { g: 1, r: 1 }],
    [{ o: 1 }, { g: 1, r: 1 }],
    [[1, 2], { g: 1, r: 1 }],
    [true, { g: 1, r: 1 }],
    [null, { g: 1, r: 1 }],
    [1e308, { g: 1e308, r: 1e308 }],
    [-1e308, { g: -1e308, r: -1e308 }],
    // INT64_MAX + 1 goes on as a real, never wraps to a negative count
    [9223372036854775807, { g: I63, r: I63 }],
    ['9223372036854775807', { g: I63, r: I63 }],
    ['99999999999999999999999', { g: 1e23, r: 1e23 }],
    ['1e400', { g: 1, r: 1 }],
    ['NaN', { g: 1, r: 1 }],
    ['-9223372036854775808', { g: -I63, r: -I63 }],
    ['', { g: 1, r: 1 }],
  ]) {
    const st = await s.api('POST', '/api/v1/stores/global', { key: 'n', value: v });
    assert.equal(st.status, 200, st.text);
    const r = await s.api('POST', '/hinc', { v }, { token: null });
    expectApi(r, JSON.stringify(v), { status: 200, body: want });
    assert.ok(!/"g":-9/.test(r.text) || v === '-9223372036854775808', `wrapped: ${r.text}`);
  }
  await alive('increment');
});

test('numbers beyond int64 (jsonb prints 1e308 as 309 digits) are served, and never wipe a store', async () => {
  // a stateful mock (resolved in SQL) whose output holds 1e308: 200, not a 404 after the side effects
  let r = await s.api('POST', '/hinc', { v: 1e308 }, { token: null });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.r, 1e308);
  // a store holding 1e308 next to other keys: the increment keeps the other keys
  for (const [k, v] of [['big', 1e308], ['keep', 'me'], ['n', 41]]) {
    const st = await s.api('POST', '/api/v1/stores/global', { key: k, value: v });
    assert.equal(st.status, 200, st.text);
  }
  r = await s.api('POST', '/hinc', { v: 1 }, { token: null });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.g, 42, r.text);
  const g = await s.api('GET', '/api/v1/stores/global');
  assert.equal(g.body.keep, 'me', g.text);
  assert.equal(g.body.big, 1e308, g.text);
  assert.equal(g.body.n, 42, g.text);
  // a stateless mock whose payload holds 1e308 loads into the node's index and is served
  const c = await s.api('POST', '/api/v1/mocks', { id: 'h-bignum', http: { route: '/hbignum' }, response: { payload: { x: 1e308, y: -1e300, i: 7 } } });
  assert.equal(c.status, 200, c.text);
  r = await s.api('GET', '/hbignum', undefined, { token: null });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { x: 1e308, y: -1e300, i: 7 });
  const m = await s.api('GET', '/api/v1/mocks/h-bignum');
  assert.equal(m.status, 200, m.text);
  assert.equal(m.body.response.payload.x, 1e308);
  // after a restart the node reloads it from the database snapshot
  await s.admin.restart();
  r = await s.api('GET', '/hbignum', undefined, { token: null });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { x: 1e308, y: -1e300, i: 7 });
  const sq = await s.psqlJson("SELECT mockarty.resolve('sandbox','GET','/hbignum')->'payload'");
  assert.equal(sq.x, 1e308);
  await alive('bignum');
});

test('one undefined request the database refuses does not drop the others of its batch', async () => {
  // a 20 KB random path is too long for the unique index on undefined requests
  const rnd = Array.from({ length: 20000 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
  const a = await s.api('GET', '/' + rnd, undefined, { token: null });
  assert.equal(a.status, 404);
  const b = await s.api('GET', '/hostile-normal-miss', undefined, { token: null });
  assert.equal(b.status, 404);
  await waitUntil(async () => {
    const u = await s.api('GET', '/api/v1/undefined-requests');
    return u.body.some((x) => x.path === '/hostile-normal-miss');
  }, 5000, 50, 'the normal miss to be recorded');
  await alive('undefined batch');
});

test('SQL-injection-looking ids, namespaces and tags: each endpoint gives its one answer, nothing changes', async () => {
  const evil = ["x' OR '1'='1", "x'); DROP TABLE mockarty.mocks; --", 'x"; DROP SCHEMA mockarty CASCADE; --', '\\x00', '%', '_', '*', "'", "''", '$$', '$q$ select 1 $q$', '../../etc', 'a\u0000b', '\u202e\u0000', 'é', '💥'];
  const before = (await s.api('GET', '/api/v1/mocks?limit=1')).body.total;
  const NF = (what) => ({ status: 404, code: 'not_found', msg: `${what}` });
  const BAD = (msg) => ({ status: 400, code: 'validation', msg });
  for (const e of evil) {
    const enc = encodeURIComponent(e);
    // a JSON body holding U+0000 is refused before anything else looks at it
    const nul = e.includes('\u0000');
    const body = (want) => (nul ? BAD('request body must be a JSON object') : want);
    for (const [m, p, b, want] of [
      ['GET', `/api/v1/mocks/${enc}`, undefined, NF('not found')],
      ['PATCH', `/api/v1/mocks/${enc}`, { priority: 1 }, NF('not found')],
      ['DELETE', `/api/v1/mocks/${enc}`, undefined, NF('not found')],
      ['POST', `/api/v1/mocks/${enc}/restore`, undefined, NF('not found')],
      ['DELETE', `/api/v1/mocks/${enc}/purge`, undefined, NF('not found')],
      ['GET', `/api/v1/mocks/${enc}/logs`, undefined, NF('not found')],
      ['GET', `/api/v1/mocks/${enc}/versions`, undefined, NF('not found')],
      ['GET', `/api/v1/mocks/${enc}/versions/${enc}`, undefined, BAD('version: must be a positive integer')],
      ['GET', `/api/v1/mocks/chains/${enc}`, undefined, { status: 200, body: [] }],
      ['GET', `/api/v1/stores/chain/${enc}`, undefined, { status: 200, body: {} }],
      ['DELETE', `/api/v1/stores/global/${enc}`, undefined, { status: 200 }],
      ['PATCH', `/api/v1/undefined-requests/${enc}/ignore`, undefined, BAD('id: must be a positive integer')],
      ['POST', `/api/v1/undefined-requests/${enc}/create-mock`, undefined, BAD('id: must be a positive integer')],
      ['PUT', `/api/v1/mock-folders/${enc}`, { name: 'f' }, NF('folder')],
      ['DELETE', `/api/v1/mock-folders/${enc}`, undefined, NF('folder')],
      ['GET', `/api/v1/mocks?namespace=${enc}&tags=${enc}&search=${enc}&offset=${enc}&limit=${enc}`, undefined, BAD('offset must be a non-negative integer')],
      ['GET', `/api/v1/mocks?search=${enc}`, undefined, { status: 200 }],
      ['GET', `/api/v1/mocks?tags=${enc}&tags=${enc}`, undefined, { status: 200, body: { items: [], limit: 50, total: 0, offset: 0, hasMore: false } }],
      ['GET', `/api/v1/mocks?offset=-1&limit=-5`, undefined, BAD('offset must be a non-negative integer')],
      ['GET', `/api/v1/mocks?offset=99999999999999999999&limit=1e99`, undefined, BAD('offset must be a non-negative integer')],
      ['GET', `/api/v1/undefined-requests?namespace=${enc}`, undefined, { status: 200, body: [] }],
      ['GET', `/api/v1/stores/global?namespace=${enc}`, undefined, { status: 200, body: {} }],
      ['GET', `/api/v1/tags?namespace=${enc}`, undefined, { status: 200, body: [] }],
      ['GET', `/stubs/${enc}/hplain`, undefined, MISS],
      ['POST', '/api/v1/mocks/batch', { ids: [e] }, BAD('mocks: request body must be a JSON array of mocks')],
      ['DELETE', '/api/v1/mocks/batch', { ids: [e, 5, null] }, body(BAD('ids[1]: must be a non-empty string'))],
      ['PATCH', '/api/v1/mocks/batch/tags', { ids: [e], tags: [e] }, body({ status: 200, body: { status: 'updated', count: 0 } })],
      ['POST', '/api/v1/namespaces', { name: e }, body(BAD('$.namespace: invalid namespace name'))],
      ['POST', '/api/v1/mocks/copy-to-namespace', { ids: [e], targetNamespace: e }, body(BAD('$.namespace: invalid namespace name'))],
    ]) {
      const r = await s.api(m, p, b);
      expectApi(r, `${m} ${p}`, want);
    }
    // X-Namespace with the non-ASCII dropped: empty means the default namespace
    const ns = e.replace(/[^\x20-\x7e]/g, '');
    const r = await s.api('GET', '/hplain', undefined, { token: null, headers: { 'X-Namespace': ns } });
    expectApi(r, `X-Namespace ${JSON.stringify(ns)}`, ns === '' ? PLAIN : MISS);
  }
  // a namespace that looks like SQL is refused; an id and tags that do are stored verbatim
  const bad = await s.api('POST', '/api/v1/mocks', { id: 'inj-ns', namespace: "ns'; DROP TABLE x; --", http: { route: '/hinj' }, response: { payload: 'inj' } });
  expectApi(bad, 'SQL-looking namespace', { status: 400, code: 'validation', field: '$.namespace', msg: 'must match ^[a-z0-9][a-z0-9_.-]{0,62}$' });
  const id = "inj' OR 1=1; --";
  const c = await s.api('POST', '/api/v1/mocks', { id, namespace: 'inj-ns', tags: ["t' OR '1'='1"], http: { route: '/hinj' }, response: { payload: 'inj' } });
  assert.equal(c.status, 200, c.text);
  const g = await s.api('GET', `/api/v1/mocks/${encodeURIComponent(id)}`);
  assert.equal(g.status, 200, g.text);
  assert.equal(g.body.id, id);
  const l = await s.api('GET', `/api/v1/mocks?namespace=inj-ns&tags=${encodeURIComponent("t' OR '1'='1")}`);
  assert.equal(l.body.total, 1, l.text);
  assert.equal((await s.api('DELETE', `/api/v1/mocks/${encodeURIComponent(id)}/purge`)).status, 200);
  assert.equal((await s.api('GET', '/api/v1/mocks?limit=1')).body.total, before, 'no mock appeared or vanished');
  assert.equal(await s.psql("SELECT count(*) > 0 FROM pg_tables WHERE schemaname = 'mockarty_private' AND tablename = 'mocks'"), 't');
  await alive('injection');
});

test('mockarty.resolve(): NULL in every position, junk headers, huge bodies — each its one answer, backend survives', async () => {
  const PLAIN_SQL = '{"delay": 0, "mockId": "h-plain", "headers": {}, "payload": {"ok": true}, "statusCode": 200}';
  const NULLS = 'ERROR:  method and path of a request to resolve must not be null';
  const sql = (q) => s.psql(q).catch((e) => e.message);
  const args = ["'sandbox'", "'GET'", "'/hplain'", "''", "'{}'::jsonb", 'NULL::text', 'NULL::bigint'];
  // NULL namespace = the default one; NULL query, headers, body and seed are simply absent
  const wantAt = [PLAIN_SQL, NULLS, NULLS, PLAIN_SQL, PLAIN_SQL, PLAIN_SQL, PLAIN_SQL];
  for (let i = 0; i < args.length; i++) {
    const a = args.slice();
    a[i] = i === 4 ? 'NULL::jsonb' : i === 6 ? 'NULL::bigint' : 'NULL::text';
    const out = await sql(`SELECT coalesce(mockarty.resolve(${a.join(',')})::text, 'miss')`);
    if (wantAt[i] === PLAIN_SQL) assert.equal(out, PLAIN_SQL, `NULL at ${i}`);
    else assert.ok(out.includes(wantAt[i]), `NULL at ${i}: ${out}`);
  }
  assert.ok((await sql("SELECT coalesce(mockarty.resolve(NULL, NULL, NULL, NULL, NULL, NULL, NULL)::text, 'miss')")).includes(NULLS));
  const NOT_OBJECT = 'ERROR:  invalid headers argument\nDETAIL:  headers must be a JSON object.';
  const NOT_STRINGS = 'ERROR:  invalid headers argument\nDETAIL:  header values must be strings or arrays of strings.';
  for (const [h, want] of [
    ["'[1,2]'", NOT_OBJECT],
    ["'\"x\"'", NOT_OBJECT],
    ["'1'", NOT_OBJECT],
    ["'null'", NOT_OBJECT],
    [`'{"a":1}'`, NOT_STRINGS],
    [`'{"a":[1,{}]}'`, NOT_STRINGS],
    [`'{"a":{"b":"c"}}'`, NOT_STRINGS],
    [`'{"a":null}'`, NOT_STRINGS],
    [`'{"":"x"}'`, PLAIN_SQL],
    // jsonb itself refuses U+0000 before resolve() runs
    [`'{"a":"\\u0000"}'`, 'ERROR:  unsupported Unicode escape sequence'],
  ]) {
    const out = await sql(`SELECT coalesce(mockarty.resolve('sandbox','GET','/hplain','', ${h}::jsonb)::text, 'miss')`);
    if (want === PLAIN_SQL) assert.equal(out, PLAIN_SQL, h);
    else assert.ok(out.includes(want), `${h}: ${out}`);
  }
  for (const [what, q, want] of [
    ['10 MB body', "SELECT coalesce(mockarty.resolve('sandbox','POST','/hbody','','{}', repeat('x', 10000000))::text, 'miss')", 'miss'],
    ['deep body', "SELECT coalesce(mockarty.resolve('sandbox','POST','/hbody','','{}', repeat('{\"a\":', 50000) || '1' || repeat('}', 50000))::text, 'miss')", 'miss'],
    ['regex body', "SELECT coalesce(mockarty.resolve('sandbox','POST','/hregex','','{}', '{\"s\":\"' || repeat('a', 30000) || '!\"}')::text, 'miss')", 'miss'],
    ['long path', "SELECT coalesce(mockarty.resolve('sandbox','GET', repeat('/a', 500000))::text, 'miss')", 'miss'],
    // undecodable escapes stay as they are; invalid UTF-8 becomes U+FFFD; here %00 ends the
    // value (the admin node keeps "%00" as text: see the percent-encoding test)
    ['bad percent', "SELECT mockarty.resolve('sandbox','GET','/hp/%zz%%C0%AF%00')->'payload'->>'id'", '%zz%\ufffd\ufffd'],
    ['query junk', "SELECT mockarty.resolve('sandbox','GET','/hq?' || repeat('a=1&', 100000))->>'payload'", '{"last": "1", "first": "1"}'],
    ['empty method', "SELECT coalesce(mockarty.resolve('sandbox','','')::text, 'miss')", 'miss'],
    ['huge header list', "SELECT coalesce(mockarty.resolve('sandbox','GET','/hplain','', (SELECT jsonb_object_agg('h' || i, repeat('v', 100)) FROM generate_series(1, 20000) i))::text, 'miss')", PLAIN_SQL],
  ]) {
    const t0 = Date.now();
    const out = await sql(q);
    assert.equal(out, want, what);
    assert.ok(Date.now() - t0 < 15000, `${what} took ${Date.now() - t0} ms`);
  }
  assert.equal(await s.psql("SELECT mockarty.resolve('sandbox','GET','/hplain')->'payload'->>'ok'"), 'true');
  assert.equal(await s.psql('SELECT 1'), '1');
  await alive('sql');
});
