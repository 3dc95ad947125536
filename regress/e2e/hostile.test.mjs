// hostile.test.mjs - hostile input against the admin node and mockarty.resolve(): malformed
// HTTP on raw TCP, encoding edge cases, oversized and pathological mocks, injection-looking
// identifiers, NULLs and junk in SQL. Every case must end in a clear 4xx/404 (or a closed
// connection for unparseable HTTP), and after each one the node must still answer
// /health/live 200 quickly and the database backend must still be usable.
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

/** A refused raw request: a 4xx status, or no response and a closed connection. */
function refusedOrClosed(r, what, allowed = null) {
  if (r.status === 0) {
    assert.ok(r.closed, `${what}: no answer and the connection stayed open`);
    return;
  }
  if (allowed) assert.ok(allowed.includes(r.status), `${what}: status ${r.status}\n${r.raw.slice(0, 400)}`);
  else assert.ok(r.status >= 400 && r.status < 500, `${what}: status ${r.status}\n${r.raw.slice(0, 400)}`);
}

const req = (line, headers = [], body = '') =>
  `${line}\r\nHost: 127.0.0.1\r\n${headers.map((h) => h + '\r\n').join('')}Connection: close\r\n\r\n${body}`;

test('invalid methods and request lines: 4xx or closed', async () => {
  const cases = [
    // /hplain has no httpMethod, so any token-shaped method may match it
    ['FOO /hplain HTTP/1.1', [200, 404, 405, 400, 501]],
    // MHD reads the method up to the NUL ("G"): a method-less mock may answer
    ['G\u0000ET /hplain HTTP/1.1', [200, 400, 404, 405, 501]],
    ['GET /hplain HTTP/9.9', [400, 505]],
    ['GET /hplain', null],
    ['GET  HTTP/1.1', null],
    ['\u0001\u0002\u0003\u00ff', null],
    // a path without its leading slash is read as /hplain: lenient, not an error
    ['GET hplain HTTP/1.1', [200, 400, 404]],
    ['GET * HTTP/1.1', [400, 404, 405]],
    ['GET http://evil.example/hplain HTTP/1.1', [200, 400, 404]],
  ];
  for (const [line, allowed] of cases) {
    const r = await raw(Buffer.from(req(line), 'latin1'));
    refusedOrClosed(r, JSON.stringify(line), allowed);
    await alive(JSON.stringify(line));
  }
  // 'FOO' on a mock route with no httpMethod: a method the mock does not restrict may match
  const r = await raw(req('PURGE /hplain HTTP/1.1'));
  assert.ok([200, 404, 405, 400, 501].includes(r.status), r.raw.slice(0, 300));
  await alive('PURGE');
});

test('absurdly long path, header, many headers: 4xx or closed', async () => {
  const long = 'a'.repeat(200_000);
  for (const [what, data] of [
    ['200 KB path', req(`GET /${long} HTTP/1.1`)],
    ['200 KB path under /stubs', req(`GET /stubs/sandbox/${long} HTTP/1.1`)],
    ['200 KB header value', req('GET /hplain HTTP/1.1', [`X-Big: ${long}`])],
    ['200 KB header name', req('GET /hplain HTTP/1.1', [`${long}: x`])],
    ['5000 headers', req('GET /hplain HTTP/1.1', Array.from({ length: 5000 }, (_, i) => `X-H${i}: v`))],
    ['200 KB query', req(`GET /hq?${'a=1&'.repeat(50_000)} HTTP/1.1`)],
  ]) {
    const r = await raw(data);
    refusedOrClosed(r, what);
    await alive(what);
  }
});

test('percent-encoding edge cases on a :param route', async () => {
  const get = (p) => raw(req(`GET ${p} HTTP/1.1`));
  // %2F inside a :param segment: one segment, the param is "a/b" (or a miss) — never a crash
  let r = await get('/hp/a%2Fb');
  assert.ok([200, 404].includes(r.status), r.raw.slice(0, 300));
  if (r.status === 200) assert.equal(JSON.parse(r.body).id, 'a/b');
  await alive('%2F');
  // %00: never decoded into a NUL that truncates the path; kept as is (or refused)
  r = await get('/hp/x%00y');
  assert.ok([200, 400, 404].includes(r.status), r.raw.slice(0, 300));
  if (r.status === 200) assert.ok(['x%00y', 'x\u0000y'].includes(JSON.parse(r.body).id), r.body);
  await alive('%00');
  for (const p of ['/hp/%zz', '/hp/%', '/hp/%4', '/hp/%C0%AF', '/hp/%C0%80', '/hp/%E0%80%AF', '/hp/%FF%FE', '/hp/%ED%A0%80', '/hp/%F4%90%80%80', '/hp/%25%', '/%00', '/stubs/%00/x', '/stubs/sandbox/hp/%FF']) {
    r = await get(p);
    assert.ok(r.status === 0 ? r.closed : (r.status === 200 || (r.status >= 400 && r.status < 500)), `${p}: ${r.raw.slice(0, 300)}`);
    if (r.status === 200) {
      // a param that made it through is valid JSON in the answer
      assert.doesNotThrow(() => JSON.parse(r.body), `${p}: ${r.body}`);
    }
    await alive(p);
  }
});

test('/stubs without a namespace, empty segments and .. segments', async () => {
  for (const p of ['/stubs', '/stubs/', '/stubs//', '/stubs//hplain', '/stubs/sandbox', '/stubs/sandbox/', '/stubs/..', '/stubs/../hplain', '/stubs/sandbox/../../hplain', '/hp/..', '/hp/../../../etc/passwd', '//', '/./hplain', '/stubs/%2e%2e/hplain']) {
    const r = await raw(req(`GET ${p} HTTP/1.1`));
    assert.ok(r.status === 200 || r.status === 404 || r.status === 400, `${p}: ${r.raw.slice(0, 300)}`);
    if (r.status !== 200) assert.match(r.body, /"code"/, `${p}: error envelope`);
    await alive(p);
  }
  // a `..` must never reach the REST API without a token
  for (const p of ['/hplain/../api/v1/mocks', '/stubs/sandbox/../../api/v1/mocks', '/stubs/sandbox/%2e%2e/%2e%2e/api/v1/mocks', '/x/%2e%2e/api/v1/mocks']) {
    const r = await raw(req(`GET ${p} HTTP/1.1`));
    assert.ok(!/"items"/.test(r.body), `${p} listed mocks without a token: ${r.raw.slice(0, 300)}`);
    await alive(p);
  }
});

test('empty or missing Host, duplicate headers', async () => {
  let r = await raw('GET /hplain HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n');
  assert.ok([200, 400].includes(r.status), r.raw.slice(0, 300));
  r = await raw('GET /hplain HTTP/1.1\r\nConnection: close\r\n\r\n');
  assert.ok([200, 400].includes(r.status), r.raw.slice(0, 300));
  r = await raw('GET /hplain HTTP/1.0\r\n\r\n');
  assert.equal(r.status, 200, r.raw.slice(0, 300));
  await alive('Host');
  // conflicting Content-Length: must be refused (request smuggling), never crash
  r = await raw(req('POST /hbody HTTP/1.1', ['Content-Length: 5', 'Content-Length: 50'], '{"a":'));
  refusedOrClosed(r, 'two Content-Length');
  await alive('two Content-Length');
  // Content-Length together with chunked
  r = await raw(req('POST /hbody HTTP/1.1', ['Content-Length: 3', 'Transfer-Encoding: chunked'], '0\r\n\r\n'));
  assert.ok(r.status === 0 || r.status === 404 || (r.status >= 400 && r.status < 500), r.raw.slice(0, 300));
  await alive('CL+TE');
  // duplicate auth / namespace headers: deterministic, no crash
  r = await raw(req('GET /api/v1/mocks HTTP/1.1', [`Authorization: Bearer ${s.token}`, 'Authorization: Bearer mk_bogus', 'X-Namespace: a', 'X-Namespace: b']));
  assert.ok([200, 401].includes(r.status), r.raw.slice(0, 300));
  r = await raw(req('GET /hplain HTTP/1.1', ['X-Namespace: sandbox', 'X-Namespace: other']));
  assert.ok([200, 404].includes(r.status), r.raw.slice(0, 300));
  r = await raw(req('GET /hplain HTTP/1.1', ['X-Namespace:', 'X-Mockarty-Seed: not-a-number']));
  assert.ok([200, 400, 404].includes(r.status), r.raw.slice(0, 300));
  r = await raw(req('GET /hplain HTTP/1.1', ['X-Mockarty-Seed: 99999999999999999999999999999']));
  assert.ok([200, 400].includes(r.status), r.raw.slice(0, 300));
  await alive('duplicate headers');
});

test('query string with 5000 repeated keys within the header limit', async () => {
  const q = Array.from({ length: 5000 }, (_, i) => `a=${i}`).join('&');
  const r = await raw(req(`GET /hq?${q} HTTP/1.1`), { timeoutMs: 10000 });
  if (r.status === 200) {
    const b = JSON.parse(r.body);
    assert.equal(b.first, '0');
    assert.equal(b.last, '4999');
  } else refusedOrClosed(r, 'many keys');
  await alive('many query keys');
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
  for (const [what, b] of [
    ['bad chunk size', 'zz\r\nabc\r\n0\r\n\r\n'],
    ['huge chunk size', 'ffffffffffffffff\r\nabc\r\n0\r\n\r\n'],
    ['overflowing chunk size', 'fffffffffffffffffffffffff\r\nabc\r\n0\r\n\r\n'],
    ['negative chunk size', '-5\r\nabc\r\n0\r\n\r\n'],
    ['chunk longer than said', '2\r\nabcdef\r\n0\r\n\r\n'],
    ['6 MB in chunks', Array.from({ length: 6 }, () => `100000\r\n${'x'.repeat(0x100000)}\r\n`).join('') + '0\r\n\r\n'],
  ]) {
    r = await raw(req('POST /api/v1/mocks HTTP/1.1', [`Authorization: Bearer ${s.token}`, 'Transfer-Encoding: chunked'], b), { timeoutMs: 3000 });
    assert.ok(r.status === 0 || (r.status >= 400 && r.status < 500), `${what}: ${r.raw.slice(0, 300)}`);
    await alive(what);
  }
});

test('a JSON body nested 10,000 deep to a mock with body conditions: a miss, no crash', async () => {
  const deep = '{"a":'.repeat(10000) + '1' + '}'.repeat(10000);
  const arr = '['.repeat(100000) + ']'.repeat(100000);
  for (const b of [deep, arr, '{"a":{"b":' + deep + '}}']) {
    const r = await s.api('POST', '/hbody', b, { token: null });
    assert.ok([404, 400].includes(r.status), r.text.slice(0, 300));
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
  if (c.status === 200) {
    t0 = Date.now();
    r = await s.api('GET', '/hrp/' + 'a'.repeat(5000) + '!', undefined, { token: null });
    assert.equal(r.status, 404, r.text.slice(0, 300));
    assert.ok(Date.now() - t0 < 3000, `routePattern took ${Date.now() - t0} ms`);
    r = await s.api('GET', '/hrp/aaa', undefined, { token: null });
    assert.equal(r.status, 200, r.text);
  } else assert.equal(c.status, 400, c.text);
  // invalid patterns are refused at create time
  const bad = await s.api('POST', '/api/v1/mocks', { id: 'h-badre', http: { route: '/hbadre', conditions: [{ path: '$.s', assertAction: 'matches', value: '(unclosed' }] } });
  assert.equal(bad.status, 400, bad.text);
  await alive('routePattern');
});

test('a mock with 10,000 conditions is stored and served', async () => {
  const conditions = Array.from({ length: 10000 }, (_, i) => ({ path: `$.k${i}`, assertAction: 'notEmpty' }));
  const c = await s.api('POST', '/api/v1/mocks', { id: 'h-10k', http: { route: '/h10k', httpMethod: 'POST', conditions }, response: { payload: 'all' } });
  assert.ok([200, 400, 413].includes(c.status), c.text.slice(0, 300));
  if (c.status === 200) {
    const body = Object.fromEntries(Array.from({ length: 10000 }, (_, i) => [`k${i}`, 'v']));
    const t0 = Date.now();
    let r = await s.api('POST', '/h10k', body, { token: null });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    delete body.k9999;
    r = await s.api('POST', '/h10k', body, { token: null });
    assert.equal(r.status, 404, r.text.slice(0, 300));
    const g = await s.api('GET', '/api/v1/mocks/h10k');
    assert.equal(g.body.http.conditions.length, 10000);
  }
  await alive('10k conditions');
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

test('templates producing huge output are capped, not fatal', async () => {
  const c = await s.api('POST', '/api/v1/mocks', {
    id: 'h-huge',
    http: { route: '/hhuge' },
    response: { payload: { p: '$.fake.Paragraph '.repeat(100_000), list: Array.from({ length: 2000 }, () => '$.fake.Paragraph $.fake.Paragraph $.fake.Paragraph') } },
  });
  assert.ok([200, 400].includes(c.status), c.text.slice(0, 300));
  if (c.status === 200) {
    const t0 = Date.now();
    const r = await s.api('GET', '/hhuge', undefined, { token: null });
    assert.ok(r.status === 200 || r.status >= 500 || r.status === 400, `status ${r.status}`);
    assert.ok(Date.now() - t0 < 10000, `took ${Date.now() - t0} ms`);
    if (r.status === 200) assert.ok(r.body.p.length <= 1024 * 1024 + 16, `string of ${r.body.p.length} bytes`);
    else assert.ok(r.body && r.body.code, r.text.slice(0, 300));
  }
  await alive('huge template');
  // the same mock through SQL: a clean result or a clean error, the backend survives
  const out = await s.psql("SELECT length(mockarty.resolve('sandbox','GET','/hhuge')::text) > 0").catch((e) => e.message);
  assert.ok(/^t$|ERROR/.test(out), out.slice(0, 300));
  assert.equal(await s.psql('SELECT 1'), '1');
});

test('$.increment on non-numbers, huge numbers and overflow', async () => {
  const c = await s.api('POST', '/api/v1/mocks', {
    id: 'h-inc',
    http: { route: '/hinc', httpMethod: 'POST' },
    response: { payload: { g: '$.increment($.gS.n)', r: '$.increment($.req.v)' } },
  });
  assert.equal(c.status, 200, c.text);
  for (const v of ['abc', { o: 1 }, [1, 2], true, null, 1e308, -1e308, 9223372036854775807, '9223372036854775807', '99999999999999999999999', '1e400', 'NaN', '-9223372036854775808', '']) {
    const st = await s.api('POST', '/api/v1/stores/global', { key: 'n', value: v });
    assert.equal(st.status, 200, st.text);
    const r = await s.api('POST', '/hinc', { v }, { token: null });
    assert.equal(r.status, 200, `${JSON.stringify(v)}: ${r.text}`);
    assert.ok(r.body && 'g' in r.body && 'r' in r.body, r.text);
    for (const k of ['g', 'r']) {
      const x = r.body[k];
      assert.ok(x === null || typeof x === 'number' || typeof x === 'string', `${JSON.stringify(v)} ${k}: ${JSON.stringify(x)}`);
      if (typeof x === 'number') assert.ok(Number.isFinite(x), `${JSON.stringify(v)} ${k}: ${x}`);
    }
    // INT64_MAX + 1 must not wrap to a negative number
    if (v === '9223372036854775807' || v === 9223372036854775807) {
      assert.ok(!(typeof r.body.g === 'number' && r.body.g < 0), `wrapped: ${r.text}`);
      assert.ok(!/"g":-/.test(r.text), `wrapped: ${r.text}`);
    }
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

test('SQL-injection-looking ids, namespaces and tags: nothing breaks, 4xx/404', async () => {
  const evil = ["x' OR '1'='1", "x'); DROP TABLE mockarty.mocks; --", 'x"; DROP SCHEMA mockarty CASCADE; --', '\\x00', '%', '_', '*', "'", "''", '$$', '$q$ select 1 $q$', '../../etc', 'a\u0000b', '\u202e\u0000', 'é', '💥'];
  const before = (await s.api('GET', '/api/v1/mocks?limit=1')).body.total;
  for (const e of evil) {
    const enc = encodeURIComponent(e);
    for (const [m, p, b] of [
      ['GET', `/api/v1/mocks/${enc}`],
      ['PATCH', `/api/v1/mocks/${enc}`, { priority: 1 }],
      ['DELETE', `/api/v1/mocks/${enc}`],
      ['POST', `/api/v1/mocks/${enc}/restore`],
      ['DELETE', `/api/v1/mocks/${enc}/purge`],
      ['GET', `/api/v1/mocks/${enc}/logs`],
      ['GET', `/api/v1/mocks/${enc}/versions`],
      ['GET', `/api/v1/mocks/${enc}/versions/${enc}`],
      ['GET', `/api/v1/mocks/chains/${enc}`],
      ['GET', `/api/v1/stores/chain/${enc}`],
      ['DELETE', `/api/v1/stores/global/${enc}`],
      ['PATCH', `/api/v1/undefined-requests/${enc}/ignore`],
      ['POST', `/api/v1/undefined-requests/${enc}/create-mock`],
      ['PUT', `/api/v1/mock-folders/${enc}`, { name: 'f' }],
      ['DELETE', `/api/v1/mock-folders/${enc}`],
      ['GET', `/api/v1/mocks?namespace=${enc}&tags=${enc}&search=${enc}&offset=${enc}&limit=${enc}`],
      ['GET', `/api/v1/mocks?search=${enc}`],
      ['GET', `/api/v1/mocks?tags=${enc}&tags=${enc}`],
      ['GET', `/api/v1/mocks?offset=-1&limit=-5`],
      ['GET', `/api/v1/mocks?offset=99999999999999999999&limit=1e99`],
      ['GET', `/api/v1/undefined-requests?namespace=${enc}`],
      ['GET', `/api/v1/stores/global?namespace=${enc}`],
      ['GET', `/api/v1/tags?namespace=${enc}`],
      ['GET', `/stubs/${enc}/hplain`],
      ['POST', '/api/v1/mocks/batch', { ids: [e] }],
      ['DELETE', '/api/v1/mocks/batch', { ids: [e, 5, null] }],
      ['PATCH', '/api/v1/mocks/batch/tags', { ids: [e], tags: [e] }],
      ['POST', '/api/v1/namespaces', { name: e }],
      ['POST', '/api/v1/mocks/copy-to-namespace', { ids: [e], targetNamespace: e }],
    ]) {
      const r = await s.api(m, p, b).catch((err) => ({ status: 0, text: err.message }));
      assert.ok((r.status >= 200 && r.status < 300) || (r.status >= 400 && r.status < 500), `${m} ${p}: ${r.status} ${r.text.slice(0, 300)}`);
    }
    const r = await s.api('GET', '/hplain', undefined, { token: null, headers: { 'X-Namespace': e.replace(/[^\x20-\x7e]/g, '') } });
    assert.ok([200, 404].includes(r.status), r.text);
  }
  // a mock whose id, namespace and tags look like SQL is stored verbatim and found again
  const id = "inj' OR 1=1; --";
  const c = await s.api('POST', '/api/v1/mocks', { id, namespace: "ns'; DROP TABLE x; --", tags: ["t' OR '1'='1"], http: { route: '/hinj' }, response: { payload: 'inj' } });
  assert.ok([200, 400].includes(c.status), c.text);
  if (c.status === 200) {
    const g = await s.api('GET', `/api/v1/mocks/${encodeURIComponent(id)}`);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.body.id, id);
    const l = await s.api('GET', `/api/v1/mocks?namespace=${encodeURIComponent("ns'; DROP TABLE x; --")}&tags=${encodeURIComponent("t' OR '1'='1")}`);
    assert.equal(l.body.total, 1, l.text);
    assert.equal((await s.api('DELETE', `/api/v1/mocks/${encodeURIComponent(id)}/purge`)).status, 200);
  }
  assert.equal((await s.api('GET', '/api/v1/mocks?limit=1')).body.total, before, 'no mock appeared or vanished');
  assert.equal(await s.psql("SELECT count(*) > 0 FROM pg_tables WHERE schemaname = 'mockarty_private' AND tablename = 'mocks'"), 't');
  await alive('injection');
});

test('mockarty.resolve(): NULL in every position, junk headers, huge bodies — clean errors, backend survives', async () => {
  const args = ["'sandbox'", "'GET'", "'/hplain'", "''", "'{}'::jsonb", 'NULL::text', 'NULL::bigint'];
  for (let i = 0; i < args.length; i++) {
    const a = args.slice();
    a[i] = i === 4 ? 'NULL::jsonb' : i === 6 ? 'NULL::bigint' : 'NULL::text';
    const out = await s.psql(`SELECT coalesce(mockarty.resolve(${a.join(',')})::text, 'miss')`).catch((e) => e.message);
    assert.ok(!/server closed the connection|terminated abnormally|PANIC/.test(out), `NULL at ${i}: ${out}`);
    assert.ok(out === 'miss' || out.startsWith('{') || /ERROR/.test(out), `NULL at ${i}: ${out}`);
  }
  const all = await s.psql('SELECT coalesce(mockarty.resolve(NULL, NULL, NULL, NULL, NULL, NULL, NULL)::text, \'miss\')').catch((e) => e.message);
  assert.ok(!/server closed|terminated abnormally/.test(all), all);
  for (const h of ["'[1,2]'", "'\"x\"'", "'1'", "'null'", `'{"a":1}'`, `'{"a":[1,{}]}'`, `'{"a":{"b":"c"}}'`, `'{"a":null}'`, `'{"":"x"}'`, `'{"a":"\\u0000"}'`]) {
    const out = await s.psql(`SELECT coalesce(mockarty.resolve('sandbox','GET','/hplain','', ${h}::jsonb)::text, 'miss')`).catch((e) => e.message);
    assert.ok(!/server closed|terminated abnormally/.test(out), `${h}: ${out}`);
    assert.ok(out.startsWith('{') || out === 'miss' || /ERROR/.test(out), `${h}: ${out}`);
  }
  for (const [what, sql] of [
    ['10 MB body', "SELECT coalesce(mockarty.resolve('sandbox','POST','/hbody','','{}', repeat('x', 10000000))::text, 'miss')"],
    ['deep body', "SELECT coalesce(mockarty.resolve('sandbox','POST','/hbody','','{}', repeat('{\"a\":', 50000) || '1' || repeat('}', 50000))::text, 'miss')"],
    ['regex body', "SELECT coalesce(mockarty.resolve('sandbox','POST','/hregex','','{}', '{\"s\":\"' || repeat('a', 30000) || '!\"}')::text, 'miss')"],
    ['long path', "SELECT coalesce(mockarty.resolve('sandbox','GET', repeat('/a', 500000))::text, 'miss')"],
    ['bad percent', "SELECT coalesce(mockarty.resolve('sandbox','GET','/hp/%zz%%C0%AF%00')::text, 'miss')"],
    ['query junk', "SELECT coalesce(mockarty.resolve('sandbox','GET','/hq?' || repeat('a=1&', 100000))::text, 'miss')"],
    ['empty method', "SELECT coalesce(mockarty.resolve('sandbox','','')::text, 'miss')"],
    ['huge header list', "SELECT coalesce(mockarty.resolve('sandbox','GET','/hplain','', (SELECT jsonb_object_agg('h' || i, repeat('v', 100)) FROM generate_series(1, 20000) i))::text, 'miss')"],
  ]) {
    const t0 = Date.now();
    const out = await s.psql(sql).catch((e) => e.message);
    assert.ok(!/server closed|terminated abnormally/.test(out), `${what}: ${out.slice(0, 300)}`);
    assert.ok(out.startsWith('{') || out === 'miss' || /ERROR/.test(out), `${what}: ${out.slice(0, 300)}`);
    assert.ok(Date.now() - t0 < 15000, `${what} took ${Date.now() - t0} ms`);
  }
  assert.equal(await s.psql("SELECT mockarty.resolve('sandbox','GET','/hplain')->'payload'->>'ok'"), 'true');
  const crashes = await s.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'");
  assert.ok(Number(crashes) >= 1);
  await alive('sql');
});
