// auth_session.test.mjs - people sign in (issue 13, item 2): POST /api/v1/auth/login with a session
// cookie (HttpOnly, SameSite=Strict) and CSRF protection on cookie writes, logout, me, own password,
// the first-start one-time admin password, login throttling, session expiry, roles per namespace
// (the same caller rule as tokens), user management for admins, and: a viewer cannot change
// anything through any write route of daemons/admin/rest/routes.c.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, waitUntil, repoRoot } from './lib/harness.mjs';

let s;
let adminPw; // the admin's password after the first-start flow
const ADMIN_NEW_PW = 'correct horse battery';

before(async () => {
  // the per-client throttle would count this file's deliberate failures from 127.0.0.1: the main
  // node allows many; the throttle test uses a node of its own with the default of 5
  s = await startStack({ env: { LOGIN_THROTTLE_MAX_FAILURES: '1000' } });
  for (const ns of ['nsa', 'nsb', 'nsc']) {
    const r = await s.api('POST', '/api/v1/namespaces', { name: ns });
    assert.equal(r.status, 201, r.text);
  }
});
after(async () => {
  await s?.stop();
});

/** Signs in; returns { status, body, cookies: {name: {value, attrs}}, cookie (Cookie header), csrf, token }. */
async function login(loginName, password, base = s.url) {
  const r = await fetch(base + '/api/v1/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: loginName, password }),
  });
  const text = await r.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {}
  const cookies = {};
  for (const c of r.headers.getSetCookie()) {
    const [pair, ...attrs] = c.split(';').map((x) => x.trim());
    const i = pair.indexOf('=');
    cookies[pair.slice(0, i)] = { value: pair.slice(i + 1), attrs };
  }
  const cookie = Object.entries(cookies)
    .map(([k, v]) => `${k}=${v.value}`)
    .join('; ');
  return { status: r.status, headers: r.headers, text, body, cookies, cookie, csrf: body?.csrfToken, token: body?.token };
}

/** A JSON call with a session cookie (and the CSRF header when csrf is given); no Bearer token. */
async function call(sess, method, p, body, { csrf = sess.csrf, base = s.url, headers = {} } = {}) {
  const h = { Cookie: sess.cookie, ...headers };
  if (csrf) h['X-CSRF-Token'] = csrf;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['Content-Type'] = 'application/json';
  }
  const r = await fetch(base + p, { method, headers: h, body: payload });
  const text = await r.text();
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: r.status, headers: r.headers, text, body: parsed };
}

/** A digest of every row of every mockarty_private table but sessions and login failures. */
function dumpPrivate() {
  return s.psql(`
    SELECT string_agg(c.relname || ':' || (xpath('/row/h/text()', query_to_xml(format(
      'SELECT md5(coalesce(string_agg(t::text, ''|'' ORDER BY t::text), '''')) AS h FROM mockarty_private.%I t',
      c.relname), false, true, '')))[1]::text, E'\\n' ORDER BY c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'mockarty_private' AND c.relkind IN ('r', 'p')
      AND c.relname NOT IN ('sessions', 'login_failures')`);
}

let adminSess;

test('first start: the admin node logs a one-time password once; signing in with it requires a change', async () => {
  // the harness created an mk_ token (user admin without a password) before the node started
  const lines = s.admin.logs().split('\n').filter((l) => l.includes('FIRST START'));
  assert.equal(lines.length, 1, s.admin.logs());
  const m = /one-time password (\S+)/.exec(lines[0]);
  assert.ok(m, lines[0]);
  adminPw = m[1];
  const r = await login('admin', adminPw);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.requires_password_change, true);
  assert.equal(r.body.redirect_to, '/ui/');
  assert.equal(r.body.user.login, 'admin');
  assert.equal(r.body.user.system_role, 'admin');
  assert.deepEqual(r.body.user.namespaces, []);
  assert.equal(r.body.user.has_password, true);
  assert.equal(r.body.user.email, null);
  assert.equal(r.body.user.email_2fa_enabled, false);
  assert.match(r.body.token, /^mks_[0-9a-f]{64}$/);
  assert.ok(!Number.isNaN(Date.parse(r.body.expires_at)), r.body.expires_at);
  assert.match(r.body.csrfToken, /^[0-9a-f]{48}$/);
  // a second node on the same database does not print another password
  const other = await s.spawnAdmin({});
  assert.ok(!other.logs().includes('FIRST START'), other.logs());
  await other.stop();
  // the one-time password is changed by the user
  const ch = await call(r, 'POST', '/api/v1/auth/password', { current_password: adminPw, new_password: ADMIN_NEW_PW });
  assert.equal(ch.status, 200, ch.text);
  assert.equal(ch.body.user.requires_password_change, false);
  adminPw = ADMIN_NEW_PW;
  adminSess = await login('admin', adminPw);
  assert.equal(adminSess.status, 200);
  assert.equal(adminSess.body.requires_password_change, false);
  // the database keeps a hash of the session secret only
  const stored = await s.psql(`SELECT count(*) FROM mockarty_private.sessions WHERE id = '${adminSess.token}' OR csrf_token = '${adminSess.token}'`);
  assert.equal(stored, '0');
});

test('cookie flags: session HttpOnly SameSite=Strict Path=/ Max-Age; CSRF cookie readable by scripts', async () => {
  const r = await login('admin', adminPw);
  const sc = r.cookies.mockarty_session;
  assert.ok(sc, JSON.stringify(r.cookies));
  assert.equal(sc.value, r.body.token);
  assert.ok(sc.attrs.includes('HttpOnly'), sc.attrs.join(';'));
  assert.ok(sc.attrs.includes('SameSite=Strict'));
  assert.ok(sc.attrs.includes('Path=/'));
  assert.ok(sc.attrs.includes('Max-Age=43200'), sc.attrs.join(';'));
  const cc = r.cookies.mockarty_csrf;
  assert.equal(cc.value, r.body.csrfToken);
  assert.ok(!cc.attrs.includes('HttpOnly'));
  assert.ok(cc.attrs.includes('SameSite=Strict'));
  assert.ok(cc.attrs.includes('Path=/'));
});

test('bad and empty credentials get 401 {"error"} without saying whether the login exists', async () => {
  const wrong = await login('admin', 'not the password');
  const unknown = await login('nobody-here', 'not the password');
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.equal(wrong.body.error, unknown.body.error);
  assert.equal(wrong.body.code, 'unauthorized');
  assert.equal(Object.keys(wrong.cookies).length, 0);
  for (const [l, p] of [['', ''], ['admin', ''], ['', adminPw]]) {
    const r = await login(l, p);
    assert.equal(r.status, 401, `${l}/${p}: ${r.text}`);
    assert.ok(r.body.error);
  }
  const noFields = await fetch(s.url + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(noFields.status, 401);
});

test('the login token works as a Bearer (no CSRF header needed); a cookie write needs X-CSRF-Token', async () => {
  const r = await login('admin', adminPw);
  const b = await s.api('POST', '/api/v1/mocks', { id: 'via-bearer', http: { route: '/via-bearer' } }, { token: r.token });
  assert.equal(b.status, 200, b.text);
  // cookie, no CSRF header: 403 csrf, and nothing written
  const before = await dumpPrivate();
  const no = await call(r, 'POST', '/api/v1/mocks', { id: 'csrf-less', http: { route: '/csrf-less' } }, { csrf: null });
  assert.equal(no.status, 403, no.text);
  assert.equal(no.body.code, 'csrf');
  assert.ok(no.body.error);
  const wrong = await call(r, 'DELETE', '/api/v1/mocks/via-bearer', undefined, { csrf: '0'.repeat(48) });
  assert.equal(wrong.status, 403);
  assert.equal(wrong.body.code, 'csrf');
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.mocks WHERE id = 'csrf-less'"), '0');
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.mocks WHERE id = 'via-bearer' AND closed_at IS NULL"), '1');
  assert.equal(await dumpPrivate(), before);
  // reads need no CSRF token; a write with it succeeds
  assert.equal((await call(r, 'GET', '/api/v1/mocks', undefined, { csrf: null })).status, 200);
  const ok = await call(r, 'POST', '/api/v1/mocks', { id: 'with-csrf', http: { route: '/with-csrf' } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.mocks WHERE id = 'with-csrf'"), '1');
});

test('GET /api/v1/auth/me: the user, its roles and csrfToken; AUTH_MODE=local answers a pseudo admin', async () => {
  const r = await login('admin', adminPw);
  const me = await call(r, 'GET', '/api/v1/auth/me', undefined, { csrf: null });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.body.user.login, 'admin');
  assert.equal(me.body.user.system_role, 'admin');
  assert.equal(me.body.csrfToken, r.csrf);
  // the session slides on use: /me renews the cookies up to the current expiry
  const renewed = me.headers.getSetCookie();
  assert.ok(renewed.some((c) => c.startsWith(`mockarty_session=${r.token};`) && /Max-Age=4\d{4}/.test(c) && c.includes('HttpOnly')), renewed.join('\n'));
  const bearerMe = await s.api('GET', '/api/v1/auth/me', undefined, { token: r.token });
  assert.equal(bearerMe.body.user.login, 'admin');
  assert.equal(bearerMe.headers.getSetCookie().length, 0);
  const local = await s.spawnAdmin({ AUTH_MODE: 'local' });
  const lm = await s.api('GET', '/api/v1/auth/me', undefined, { token: null, base: local.url });
  assert.equal(lm.status, 200, lm.text);
  assert.equal(lm.body.user.login, 'local');
  assert.equal(lm.body.user.system_role, 'admin');
  await local.stop();
  const anon = await s.api('GET', '/api/v1/auth/me', undefined, { token: null });
  assert.equal(anon.status, 401);
});

test('logout ends the session at once and clears both cookies', async () => {
  const r = await login('admin', adminPw);
  assert.equal((await call(r, 'GET', '/api/v1/auth/me')).status, 200);
  const noCsrf = await call(r, 'POST', '/api/v1/auth/logout', undefined, { csrf: null });
  assert.equal(noCsrf.status, 403);
  const out = await call(r, 'POST', '/api/v1/auth/logout');
  assert.equal(out.status, 200, out.text);
  const cleared = out.headers.getSetCookie();
  assert.ok(cleared.some((c) => c.startsWith('mockarty_session=;') && c.includes('Max-Age=0')), cleared.join('\n'));
  assert.ok(cleared.some((c) => c.startsWith('mockarty_csrf=;') && c.includes('Max-Age=0')), cleared.join('\n'));
  assert.equal((await call(r, 'GET', '/api/v1/auth/me')).status, 401);
  assert.equal((await s.api('GET', '/api/v1/mocks', undefined, { token: r.token })).status, 401);
});

let alice; // editor in nsa, viewer in nsb, nothing in nsc
let aliceId;

test('admins manage users over REST; bad input names the field and changes nothing', async () => {
  const bad = await call(adminSess, 'POST', '/api/v1/admin/users', { login: 'alice', password: 'short', system_role: 'viewer' });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.body.field, '$.password');
  const badRole = await call(adminSess, 'POST', '/api/v1/admin/users', {
    login: 'alice', password: 'alice-password', system_role: 'viewer', namespaces: [{ namespace: 'nsa', role: 'boss' }],
  });
  assert.equal(badRole.status, 400, badRole.text);
  assert.equal(badRole.body.field, '$.namespaces[0].role');
  const badNs = await call(adminSess, 'POST', '/api/v1/admin/users', {
    login: 'alice', password: 'alice-password', namespaces: [{ namespace: 'nope', role: 'viewer' }],
  });
  assert.equal(badNs.status, 400);
  assert.equal(badNs.body.field, '$.namespaces[0].namespace');
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.users WHERE login = 'alice'"), '0');

  const c = await call(adminSess, 'POST', '/api/v1/admin/users', {
    login: 'alice', password: 'alice-password', system_role: 'viewer',
    namespaces: [{ namespace: 'nsa', role: 'editor' }, { namespace: 'nsb', role: 'viewer' }],
  });
  assert.equal(c.status, 201, c.text);
  aliceId = c.body.id;
  assert.equal(c.body.system_role, 'viewer');
  assert.deepEqual(c.body.namespaces, [{ namespace: 'nsa', role: 'editor' }, { namespace: 'nsb', role: 'viewer' }]);
  const dup = await call(adminSess, 'POST', '/api/v1/admin/users', { login: 'alice', password: 'alice-password' });
  assert.equal(dup.status, 409);
  const list = await call(adminSess, 'GET', '/api/v1/admin/users');
  assert.equal(list.status, 200);
  assert.ok(list.body.users.some((u) => u.login === 'alice' && !('password_hash' in u)));
  const got = await call(adminSess, 'GET', `/api/v1/admin/users/${aliceId}`);
  assert.equal(got.body.login, 'alice');
  assert.equal((await call(adminSess, 'GET', '/api/v1/admin/users/00000000-0000-0000-0000-000000000000')).status, 404);

  // a throwaway user: update, namespaces, password, disable (its session stops), enable, delete
  const bob = await call(adminSess, 'POST', '/api/v1/admin/users', { login: 'bob', password: 'bob-password', system_role: 'editor' });
  assert.equal(bob.status, 201, bob.text);
  const up = await call(adminSess, 'PUT', `/api/v1/admin/users/${bob.body.id}`, { system_role: 'admin' });
  assert.equal(up.status, 200, up.text);
  assert.equal(up.body.system_role, 'admin');
  const nss = await call(adminSess, 'PUT', `/api/v1/admin/users/${bob.body.id}/namespaces`, [{ namespace: 'nsc', role: 'viewer' }]);
  assert.equal(nss.status, 200, nss.text);
  assert.deepEqual(nss.body.namespaces, [{ namespace: 'nsc', role: 'viewer' }]);
  const bobSess = await login('bob', 'bob-password');
  assert.equal(bobSess.status, 200);
  assert.equal((await call(bobSess, 'GET', '/api/v1/mocks')).status, 200);
  // a token minted in a session belongs to the signed-in user
  const minted = await call(bobSess, 'POST', '/api/v1/auth/tokens', { name: 'bob-made' });
  assert.equal(minted.status, 201, minted.text);
  assert.equal(minted.body.token_info.user_login, 'bob');
  const bobToken = minted.body.token;
  assert.equal((await s.api('GET', '/api/v1/mocks', undefined, { token: bobToken })).status, 200);
  const dis = await call(adminSess, 'POST', `/api/v1/admin/users/${bob.body.id}/disable`);
  assert.equal(dis.status, 200);
  assert.equal(dis.body.enabled, false);
  await waitUntil(async () => (await call(bobSess, 'GET', '/api/v1/mocks')).status === 401, 2000, 20, 'disabled user refused');
  assert.equal((await login('bob', 'bob-password')).status, 401);
  // a disabled user's API tokens stop working too
  await waitUntil(async () => (await s.api('GET', '/api/v1/mocks', undefined, { token: bobToken })).status === 401, 2000, 20, 'disabled user token refused');
  assert.equal((await call(adminSess, 'POST', `/api/v1/admin/users/${bob.body.id}/enable`)).body.enabled, true);
  const pw = await call(adminSess, 'POST', `/api/v1/admin/users/${bob.body.id}/password`, { new_password: 'bob-new-password' });
  assert.equal(pw.status, 200, pw.text);
  assert.equal(pw.body.requires_password_change, true);
  assert.equal((await login('bob', 'bob-password')).status, 401);
  const bob2 = await login('bob', 'bob-new-password');
  assert.equal(bob2.status, 200);
  assert.equal(bob2.body.requires_password_change, true);
  const del = await call(adminSess, 'DELETE', `/api/v1/admin/users/${bob.body.id}`);
  assert.equal(del.status, 200, del.text);
  await waitUntil(async () => (await call(bob2, 'GET', '/api/v1/mocks')).status === 401, 2000, 20, 'deleted user refused');
  assert.equal((await call(adminSess, 'DELETE', `/api/v1/admin/users/${bob.body.id}`)).status, 404);

  alice = await login('alice', 'alice-password');
  assert.equal(alice.status, 200, alice.text);
  // editors and viewers get 403 on user management
  for (const ns of ['nsa', 'nsb']) {
    const r = await call(alice, 'GET', `/api/v1/admin/users?namespace=${ns}`);
    assert.equal(r.status, 403, `${ns}: ${r.text}`);
  }
  const r2 = await call(alice, 'POST', '/api/v1/admin/users?namespace=nsa', { login: 'mallory', password: 'mallory-password', system_role: 'admin' });
  assert.equal(r2.status, 403);
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.users WHERE login = 'mallory'"), '0');
});

test('roles per namespace: editor in nsa writes, viewer in nsb reads only, no role in nsc is 404', async () => {
  const me = await call(alice, 'GET', '/api/v1/auth/me');
  assert.deepEqual(me.body.user.namespaces, [{ namespace: 'nsa', role: 'editor' }, { namespace: 'nsb', role: 'viewer' }]);
  const wA = await call(alice, 'POST', '/api/v1/mocks?namespace=nsa', { id: 'alice-a', http: { route: '/alice-a' } });
  assert.equal(wA.status, 200, wA.text);
  assert.equal(await s.psql("SELECT namespace FROM mockarty_private.mocks WHERE id = 'alice-a'"), 'nsa');
  // the console's header works as well as ?namespace=
  const wA2 = await call(alice, 'POST', '/api/v1/mocks', { id: 'alice-a2', http: { route: '/alice-a2' } }, { headers: { 'X-Mockarty-Namespace': 'nsa' } });
  assert.equal(wA2.status, 200, wA2.text);
  assert.equal(await s.psql("SELECT namespace FROM mockarty_private.mocks WHERE id = 'alice-a2'"), 'nsa');
  const wB = await call(alice, 'POST', '/api/v1/mocks?namespace=nsb', { id: 'alice-b', http: { route: '/alice-b' } });
  assert.equal(wB.status, 403, wB.text);
  assert.equal((await call(alice, 'GET', '/api/v1/mocks?namespace=nsb')).status, 200);
  const rC = await call(alice, 'GET', '/api/v1/mocks?namespace=nsc');
  assert.equal(rC.status, 404, rC.text);
  assert.equal(rC.body.code, 'not_found');
  // no namespace named: sandbox, where alice has no role either
  assert.equal((await call(alice, 'GET', '/api/v1/mocks')).status, 404);
  // the database enforces the binding (the same caller rule as tokens): an editor of nsa cannot
  // copy mocks into nsb or read nsb's mocks through nsa
  const copy = await call(alice, 'POST', '/api/v1/mocks/copy-to-namespace?namespace=nsa', { ids: ['alice-a'], targetNamespace: 'nsb' });
  assert.equal(copy.status, 403, copy.text);
  assert.equal(await s.psql("SELECT count(*) FROM mockarty_private.mocks WHERE namespace = 'nsb'"), '0');
  const list = await call(alice, 'GET', '/api/v1/mocks?namespace=nsa');
  assert.ok(list.body.items.every((m) => m.namespace === 'nsa'), list.text);
  // a body namespace outranks the query: writing into nsb through ?namespace=nsa is refused
  const sneaky = await call(alice, 'POST', '/api/v1/mocks?namespace=nsa', { id: 'alice-s', namespace: 'nsb', http: { route: '/s' } });
  assert.equal(sneaky.status, 403, sneaky.text);
  // and a role change applies at once (NOTIFY purges the node's cache)
  await call(adminSess, 'PUT', `/api/v1/admin/users/${aliceId}/namespaces`, [{ namespace: 'nsa', role: 'viewer' }, { namespace: 'nsb', role: 'viewer' }]);
  await waitUntil(async () => (await call(alice, 'POST', '/api/v1/mocks?namespace=nsa', { id: 'alice-late', http: { route: '/late' } })).status === 403, 2000, 20, 'role change applied');
});

test('own password: min length 8, current password checked, other sessions end', async () => {
  const other = await login('alice', 'alice-password');
  const short = await call(alice, 'POST', '/api/v1/auth/password', { current_password: 'alice-password', new_password: 'short' });
  assert.equal(short.status, 400, short.text);
  assert.equal(short.body.field, '$.new_password');
  const wrong = await call(alice, 'POST', '/api/v1/auth/password', { current_password: 'nope-nope', new_password: 'alice-password-2' });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.field, '$.current_password');
  const noCsrf = await call(alice, 'POST', '/api/v1/auth/password', { current_password: 'alice-password', new_password: 'alice-password-2' }, { csrf: null });
  assert.equal(noCsrf.status, 403);
  const ok = await call(alice, 'POST', '/api/v1/auth/password', { current_password: 'alice-password', new_password: 'alice-password-2' });
  assert.equal(ok.status, 200, ok.text);
  assert.equal((await login('alice', 'alice-password')).status, 401);
  assert.equal((await call(alice, 'GET', '/api/v1/auth/me')).status, 200);
  await waitUntil(async () => (await call(other, 'GET', '/api/v1/auth/me')).status === 401, 2000, 20, 'other session ended');
  alice = await login('alice', 'alice-password-2');
  assert.equal(alice.status, 200);
});

// Representative calls for every write route of daemons/admin/rest/routes.c ("METHOD pattern" ->
// [path, body]); ids name real rows where the route takes one. Routes not listed here (added later)
// are still called, with their :params filled generically.
function writeCalls(ids) {
  const ns = 'nsb';
  const mock = { id: 'vb-new', namespace: ns, http: { route: '/vb-new' }, response: { payload: 'x' } };
  return {
    'POST /api/v1/mocks': ['/api/v1/mocks', mock],
    'POST /mock/create': ['/mock/create', mock],
    'PATCH /api/v1/mocks/:id': [`/api/v1/mocks/${ids.mock}`, { response: { payload: 'changed' } }],
    'DELETE /api/v1/mocks/:id': [`/api/v1/mocks/${ids.mock}`],
    'POST /api/v1/mocks/:id/restore': [`/api/v1/mocks/${ids.mock}/restore`],
    'DELETE /api/v1/mocks/:id/purge': [`/api/v1/mocks/${ids.mock}/purge`],
    'POST /api/v1/mocks/batch/restore': ['/api/v1/mocks/batch/restore', { ids: [ids.mock] }],
    'PATCH /api/v1/mocks/batch/move': ['/api/v1/mocks/batch/move', { ids: [ids.mock], folderId: ids.folder }],
    'PATCH /api/v1/mocks/batch/tags': ['/api/v1/mocks/batch/tags', { ids: [ids.mock], tags: ['t2'] }],
    'POST /api/v1/mocks/batch': ['/api/v1/mocks/batch', [mock]],
    'DELETE /api/v1/mocks/batch': ['/api/v1/mocks/batch', { ids: [ids.mock] }],
    'POST /api/v1/mocks/copy-to-namespace': ['/api/v1/mocks/copy-to-namespace', { ids: [ids.mock], targetNamespace: 'nsb' }],
    'DELETE /api/v1/mocks/chains/:chainId': ['/api/v1/mocks/chains/vb-chain'],
    'DELETE /api/v1/mocks/:id/logs': [`/api/v1/mocks/${ids.mock}/logs`],
    'POST /api/v1/mocks/:id/versions/:version/restore': [`/api/v1/mocks/${ids.mock}/versions/1/restore`],
    'POST /api/v1/namespaces/copy-mocks': ['/api/v1/namespaces/copy-mocks', { sourceNamespace: ns, targetNamespace: ns }],
    'POST /api/v1/namespaces': ['/api/v1/namespaces', { name: 'vb-new-ns' }],
    'POST /api/v1/stores/global': ['/api/v1/stores/global', { key: 'k', value: 'changed', namespace: ns }],
    'DELETE /api/v1/stores/global/:key': ['/api/v1/stores/global/k'],
    'POST /api/v1/stores/chain/:chainId': ['/api/v1/stores/chain/vb-chain', { key: 'k', value: 'v', namespace: ns }],
    'DELETE /api/v1/stores/chain/:chainId/:key': ['/api/v1/stores/chain/vb-chain/k'],
    'DELETE /api/v1/undefined-requests/all': ['/api/v1/undefined-requests/all'],
    'DELETE /api/v1/undefined-requests': ['/api/v1/undefined-requests', { ids: [1] }],
    'PATCH /api/v1/undefined-requests/:id/ignore': ['/api/v1/undefined-requests/1/ignore'],
    'POST /api/v1/undefined-requests/:id/create-mock': ['/api/v1/undefined-requests/1/create-mock', {}],
    'POST /api/v1/tags': ['/api/v1/tags', { name: 'vb-tag', namespace: ns }],
    'POST /api/v1/mock-folders': ['/api/v1/mock-folders', { name: 'vb-folder-2', namespace: ns }],
    'PATCH /api/v1/mock-folders/:id/move': [`/api/v1/mock-folders/${ids.folder}/move`, { parentId: null }],
    'PUT /api/v1/mock-folders/:id': [`/api/v1/mock-folders/${ids.folder}`, { name: 'renamed' }],
    'DELETE /api/v1/mock-folders/:id': [`/api/v1/mock-folders/${ids.folder}`],
    'POST /api/v1/import/wiremock': ['/api/v1/import/wiremock', { mappings: [{ request: { url: '/wm' }, response: { status: 200 } }] }],
    'POST /api/v1/import/mockoon': ['/api/v1/import/mockoon', { routes: [] }],
    'POST /api/v1/import/har': ['/api/v1/import/har', { log: { entries: [] } }],
    'POST /api/v1/generators/har/preview': ['/api/v1/generators/har/preview', { log: { entries: [] } }],
    'POST /api/v1/generators/har': ['/api/v1/generators/har', { log: { entries: [] } }],
    'POST /ui/api/openapi/import': ['/ui/api/openapi/import', { spec: '{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{}}' }],
    'POST /api/v1/generators/openapi/preview': ['/api/v1/generators/openapi/preview', { spec: '{}' }],
    'POST /api/v1/generators/openapi': ['/api/v1/generators/openapi', { spec: '{}' }],
    'PUT /api/v1/generated-servers/:name': ['/api/v1/generated-servers/vb-gen', { port: 9999 }],
    'DELETE /api/v1/generated-servers/:name': ['/api/v1/generated-servers/vb-gen'],
    'POST /api/v1/grpc/descriptors': ['/api/v1/grpc/descriptors', { serverName: 'vb-grpc' }],
    'DELETE /api/v1/grpc/descriptors/:serverName': ['/api/v1/grpc/descriptors/vb-grpc'],
    'POST /api/v1/generators/grpc/preview': ['/api/v1/generators/grpc/preview', { serverName: 'vb-grpc' }],
    'POST /api/v1/generators/grpc': ['/api/v1/generators/grpc', { serverName: 'vb-grpc' }],
    'POST /__admin/mappings/import': ['/__admin/mappings/import', { mappings: [] }],
    'POST /__admin/mappings': ['/__admin/mappings', { request: { url: '/wm2' }, response: { status: 200 } }],
    'DELETE /__admin/mappings': ['/__admin/mappings'],
    'DELETE /__admin/mappings/:id': [`/__admin/mappings/${ids.mock}`],
    'POST /__admin/reset': ['/__admin/reset'],
    'POST /api/v1/auth/tokens': ['/api/v1/auth/tokens', { name: 'vb-token', namespace: ns }],
    'PATCH /api/v1/auth/tokens/:id': [`/api/v1/auth/tokens/${ids.token}`, { enabled: false }],
    'PUT /api/v1/auth/tokens/:id': [`/api/v1/auth/tokens/${ids.token}`, { enabled: false }],
    'POST /api/v1/auth/tokens/:id/disable': [`/api/v1/auth/tokens/${ids.token}/disable`],
    'POST /api/v1/auth/tokens/:id/enable': [`/api/v1/auth/tokens/${ids.token}/enable`],
    'DELETE /api/v1/auth/tokens/:id': [`/api/v1/auth/tokens/${ids.token}`],
    'POST /api/v1/admin/users': ['/api/v1/admin/users', { login: 'vb-user', password: 'vb-password', system_role: 'admin' }],
    'PUT /api/v1/admin/users/:id': [`/api/v1/admin/users/${ids.user}`, { system_role: 'admin' }],
    'DELETE /api/v1/admin/users/:id': [`/api/v1/admin/users/${ids.user}`],
    'POST /api/v1/admin/users/:id/password': [`/api/v1/admin/users/${ids.user}/password`, { new_password: 'taken-over' }],
    'POST /api/v1/admin/users/:id/disable': [`/api/v1/admin/users/${ids.user}/disable`],
    'POST /api/v1/admin/users/:id/enable': [`/api/v1/admin/users/${ids.user}/enable`],
    'PUT /api/v1/admin/users/:id/namespaces': [`/api/v1/admin/users/${ids.user}/namespaces`, [{ namespace: 'nsb', role: 'admin' }]],
    'POST /ui/api/integrations': ['/ui/api/integrations', { name: 'vb-int', type: 'mock_resolver' }],
    'PUT /ui/api/integrations/:id': [`/ui/api/integrations/${ids.integration}`, { enabled: false }],
    'DELETE /ui/api/integrations/:id': [`/ui/api/integrations/${ids.integration}`],
    'POST /api/v1/integrations': ['/api/v1/integrations', { name: 'vb-int', type: 'mock_resolver' }],
    'PUT /api/v1/integrations/:id': [`/api/v1/integrations/${ids.integration}`, { enabled: false }],
    'DELETE /api/v1/integrations/:id': [`/api/v1/integrations/${ids.integration}`],
    'POST /api/v1/api-tester/collections': ['/api/v1/api-tester/collections', { info: { name: 'vb-col-2', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' }, item: [] }],
    'DELETE /api/v1/api-tester/collections/batch': ['/api/v1/api-tester/collections/batch', { ids: [ids.collection] }],
    'POST /api/v1/api-tester/collections/run-multiple': ['/api/v1/api-tester/collections/run-multiple', { collectionIds: [ids.collection] }],
    'POST /api/v1/api-tester/collections/execute-multiple': ['/api/v1/api-tester/collections/execute-multiple', { collectionIds: [ids.collection] }],
    'PUT /api/v1/api-tester/collections/:id': [`/api/v1/api-tester/collections/${ids.collection}`, { name: 'renamed' }],
    'DELETE /api/v1/api-tester/collections/:id': [`/api/v1/api-tester/collections/${ids.collection}`],
    'POST /api/v1/api-tester/collections/:id/duplicate': [`/api/v1/api-tester/collections/${ids.collection}/duplicate`],
    'POST /api/v1/api-tester/collections/:id/run': [`/api/v1/api-tester/collections/${ids.collection}/run`],
    'POST /api/v1/api-tester/collections/:id/execute': [`/api/v1/api-tester/collections/${ids.collection}/execute`],
    'POST /api/v1/api-tester/import/postman': ['/api/v1/api-tester/import/postman', { info: { name: 'p', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' }, item: [] }],
    'POST /api/v1/api-tester/import/:kind': ['/api/v1/api-tester/import/insomnia', {}],
    'POST /api/v1/api-tester/environments': ['/api/v1/api-tester/environments', { name: 'vb-env-2', namespace: ns, variables: {} }],
    'PUT /api/v1/api-tester/environments/:id': [`/api/v1/api-tester/environments/${ids.environment}`, { name: 'renamed' }],
    'DELETE /api/v1/api-tester/environments/:id': [`/api/v1/api-tester/environments/${ids.environment}`],
    'POST /api/v1/api-tester/environments/:id/activate': [`/api/v1/api-tester/environments/${ids.environment}/activate`],
    'DELETE /api/v1/api-tester/test-runs/:id': ['/api/v1/api-tester/test-runs/00000000-0000-0000-0000-000000000001'],
    'POST /api/v1/api-tester/test-runs/:id/cancel': ['/api/v1/api-tester/test-runs/00000000-0000-0000-0000-000000000001/cancel'],
    'POST /ui/api/test-runs/run': ['/ui/api/test-runs/run', { collectionId: ids.collection }],
    'POST /ui/api/perf/run': ['/ui/api/perf/run', { script: { collectionId: ids.collection }, options: { duration: '1s' } }],
    'POST /api/v1/perf/run': ['/api/v1/perf/run', { script: { collectionId: ids.collection }, options: { duration: '1s' } }],
    'POST /api/v1/perf/run-collection': ['/api/v1/perf/run-collection', { collectionId: ids.collection }],
    'POST /api/v1/perf/stop/:id': ['/api/v1/perf/stop/00000000-0000-0000-0000-000000000001'],
    'DELETE /api/v1/perf-results/:id': ['/api/v1/perf-results/00000000-0000-0000-0000-000000000001'],
    'POST /api/v1/webhooks/deliveries/:id/retry': ['/api/v1/webhooks/deliveries/1/retry'],
    'POST /api/v1/webhooks': ['/api/v1/webhooks', { url: 'http://127.0.0.1:9/h', events: ['mock.created'], namespace: ns }],
    'PUT /api/v1/webhooks/:id': [`/api/v1/webhooks/${ids.webhook}`, { url: 'http://127.0.0.1:9/x', events: ['mock.created'] }],
    'PATCH /api/v1/webhooks/:id': [`/api/v1/webhooks/${ids.webhook}`, { enabled: false }],
    'DELETE /api/v1/webhooks/:id': [`/api/v1/webhooks/${ids.webhook}`],
    'POST /api/v1/webhooks/:id/enable': [`/api/v1/webhooks/${ids.webhook}/enable`],
    'POST /api/v1/webhooks/:id/disable': [`/api/v1/webhooks/${ids.webhook}/disable`],
    'POST /api/v1/webhooks/:id/deliveries/:deliveryId/retry': [`/api/v1/webhooks/${ids.webhook}/deliveries/1/retry`],
    'POST /ui/api/webhooks/deliveries/:id/retry': ['/ui/api/webhooks/deliveries/1/retry'],
    'POST /ui/api/webhooks': ['/ui/api/webhooks', { url: 'http://127.0.0.1:9/h', events: ['mock.created'], namespace: ns }],
    'PUT /ui/api/webhooks/:id': [`/ui/api/webhooks/${ids.webhook}`, { url: 'http://127.0.0.1:9/x', events: ['mock.created'] }],
    'DELETE /ui/api/webhooks/:id': [`/ui/api/webhooks/${ids.webhook}`],
    'POST /ui/api/webhooks/:id/enable': [`/ui/api/webhooks/${ids.webhook}/enable`],
    'POST /ui/api/webhooks/:id/disable': [`/ui/api/webhooks/${ids.webhook}/disable`],
    'POST /api/v1/namespaces/:ns/webhooks': [`/api/v1/namespaces/${ns}/webhooks`, { url: 'http://127.0.0.1:9/h', events: ['mock.created'] }],
    'PUT /api/v1/namespaces/:ns/webhooks/:id': [`/api/v1/namespaces/${ns}/webhooks/${ids.webhook}`, { url: 'http://127.0.0.1:9/x', events: ['mock.created'] }],
    'DELETE /api/v1/namespaces/:ns/webhooks/:id': [`/api/v1/namespaces/${ns}/webhooks/${ids.webhook}`],
    'PUT /api/v1/settings/:key': ['/api/v1/settings/webhook_max_attempts', { value: 1 }],
  };
}

// Write routes a viewer may call: the own account (logout, own password) and sign-in (public).
const ACCOUNT_ROUTES = new Set(['POST /api/v1/auth/login', 'POST /api/v1/auth/logout', 'POST /api/v1/auth/password']);

/** Every write route ("METHOD pattern") of the route table. */
function routeTableWrites() {
  const src = fs.readFileSync(path.join(repoRoot, 'daemons/admin/rest/routes.c'), 'utf8');
  const out = [];
  for (const m of src.matchAll(/^\s*\{"(POST|PUT|PATCH|DELETE)", "([^"]+)"/gm)) out.push(`${m[1]} ${m[2]}`);
  return out;
}

test('a viewer cannot change anything: every write route of routes.c answers 403, the database is unchanged', async () => {
  // rows in nsb a write could touch
  const tok = s.token;
  const api = (m, p, b) => s.api(m, p + (p.includes('?') ? '&' : '?') + 'namespace=nsb', b, { token: tok });
  assert.equal((await api('POST', '/api/v1/mocks', { id: 'vb-mock', namespace: 'nsb', chainId: 'vb-chain', http: { route: '/vb' }, response: { payload: 'v' } })).status, 200);
  const folder = await api('POST', '/api/v1/mock-folders', { name: 'vb-folder', namespace: 'nsb' });
  assert.ok(folder.status < 300, folder.text);
  await api('POST', '/api/v1/stores/global', { key: 'k', value: 'v', namespace: 'nsb' });
  const col = await api('POST', '/api/v1/api-tester/collections', {
    info: { name: 'vb-col', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' }, item: [],
  });
  assert.ok(col.status < 300, col.text);
  const env = await api('POST', '/api/v1/api-tester/environments', { name: 'vb-env', namespace: 'nsb', variables: {} });
  assert.ok(env.status < 300, env.text);
  const hook = await api('POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/h', events: ['mock.created'], namespace: 'nsb' });
  assert.ok(hook.status < 300, hook.text);
  const integ = await s.psqlJson("SELECT mockarty.integration_create('vb-int', 'mock_resolver')");
  const token = await s.psqlJson("SELECT mockarty.token_create('vb-token', 'admin', 'nsb')");
  const ids = {
    mock: 'vb-mock',
    folder: folder.body.id ?? folder.body.folder?.id,
    collection: col.body.id,
    environment: env.body.id,
    webhook: hook.body.id,
    integration: integ.id ?? integ.integration?.id,
    token: token.token_info.id,
    user: aliceId,
  };
  for (const [k, v] of Object.entries(ids)) assert.ok(v, `fixture ${k}: ${JSON.stringify({ folder: folder.body, col: col.body, env: env.body, hook: hook.body, integ })}`);

  // viewer: alice is a viewer in nsb (and nsa) since the role change above
  const viewer = await login('alice', 'alice-password-2');
  assert.equal(viewer.status, 200);
  const me = await call(viewer, 'GET', '/api/v1/auth/me');
  assert.deepEqual(me.body.user.namespaces.find((n) => n.namespace === 'nsb'), { namespace: 'nsb', role: 'viewer' });

  const table = routeTableWrites();
  assert.ok(table.length >= 100, `only ${table.length} write routes found in routes.c`);
  const calls = writeCalls(ids);
  const listed = table.filter((r) => calls[r]);
  const before = await dumpPrivate();
  const failures = [];
  let n = 0;
  for (const route of table) {
    if (ACCOUNT_ROUTES.has(route)) continue;
    const [method, pattern] = route.split(' ');
    const [p, body] = calls[route] ?? [pattern.replace(/:ns\b/g, 'nsb').replace(/:[A-Za-z]+/g, 'x'), {}];
    const r = await call(viewer, method, p + (p.includes('?') ? '&' : '?') + 'namespace=nsb', body);
    n++;
    if (r.status !== 403) failures.push(`${route} (${method} ${p}) -> ${r.status} ${r.text.slice(0, 200)}`);
  }
  assert.deepEqual(failures, []);
  assert.equal(await dumpPrivate(), before, 'a viewer changed the database');
  assert.ok(n >= table.length - ACCOUNT_ROUTES.size, `called ${n} routes`);
  assert.ok(listed.length >= 100, `representative calls for ${listed.length} routes`);
  // the viewer's session still works, and an editor's CSRF-less cookie write is refused likewise
  assert.equal((await call(viewer, 'GET', '/api/v1/mocks?namespace=nsb')).status, 200);
});

test('login throttling: 5 failures per login or address within the window give 429 with Retry-After, then recovery', async () => {
  await s.psql('DELETE FROM mockarty_private.login_failures');
  // 5 failures: the default; a window long enough for 6 bcrypts on a busy machine, short enough to wait for
  const node = await s.spawnAdmin({ LOGIN_THROTTLE_WINDOW_SECONDS: '6' });
  try {
    await call(adminSess, 'POST', '/api/v1/admin/users', { login: 'carol', password: 'carol-password', system_role: 'viewer' });
    // unknown logins count too, and cost a bcrypt like known ones
    const t0 = performance.now();
    assert.equal((await login('carol', 'wrong-password', node.url)).status, 401);
    const tKnown = performance.now() - t0;
    const t1 = performance.now();
    assert.equal((await login('nobody-at-all', 'wrong-password', node.url)).status, 401);
    const tUnknown = performance.now() - t1;
    assert.ok(tUnknown > tKnown / 4, `unknown login answered in ${tUnknown.toFixed(1)} ms vs ${tKnown.toFixed(1)} ms for a known one`);
    for (let i = 0; i < 3; i++) assert.equal((await login('carol', 'wrong-password', node.url)).status, 401);
    // 5 failures in the window: even the right password is refused
    const t = await login('carol', 'carol-password', node.url);
    assert.equal(t.status, 429, t.text);
    assert.equal(t.body.code, 'rate_limit');
    const ra = Number(t.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 6, `Retry-After ${t.headers.get('retry-after')}`);
    assert.equal(Object.keys(t.cookies).length, 0);
    // the address is throttled too (another login from 127.0.0.1)
    assert.equal((await login('admin', adminPw, node.url)).status, 429);
    // after the window the right password works again
    const ok = await waitUntil(async () => {
      const r = await login('carol', 'carol-password', node.url);
      return r.status === 200 ? r : null;
    }, 15000, 250, 'throttle window to pass');
    assert.equal(ok.body.user.login, 'carol');
  } finally {
    await node.stop();
    await s.psql('DELETE FROM mockarty_private.login_failures');
  }
});

test('sessions expire after SESSION_TTL_SECONDS (setting lowered), then 401', async () => {
  const node = await s.spawnAdmin({ SESSION_TTL_SECONDS: '2' });
  try {
    const r = await login('admin', adminPw, node.url);
    assert.equal(r.status, 200);
    assert.ok(r.cookies.mockarty_session.attrs.includes('Max-Age=2'));
    assert.equal((await call(r, 'GET', '/api/v1/auth/me', undefined, { base: node.url })).status, 200);
    await waitUntil(async () => (await call(r, 'GET', '/api/v1/auth/me', undefined, { base: node.url })).status === 401, 6000, 100, 'session expiry');
    assert.equal((await s.api('GET', '/api/v1/mocks', undefined, { token: r.token, base: node.url })).status, 401);
  } finally {
    await node.stop();
  }
});

test('the first-start line is shown even with LOG_LEVEL=error (it is the only copy)', async () => {
  await s.psql('UPDATE mockarty_private.users SET password_hash = NULL');
  const node = await s.spawnAdmin({ LOG_LEVEL: 'error' });
  try {
    const m = /FIRST START: .*one-time password (\S+)/.exec(node.logs());
    assert.ok(m, node.logs());
    const r = await login('admin', m[1], node.url);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.requires_password_change, true);
  } finally {
    await node.stop();
  }
});
