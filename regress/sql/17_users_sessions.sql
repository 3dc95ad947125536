-- 17_users_sessions: sign-in in SQL (mockarty.session_*, user_bootstrap, user_admin_*): the
-- first-start password once, a session stored as a hash only and ended by session_end, the
-- throttle (also for the right password, per login and per client, unknown logins counted),
-- roles per namespace in the session, own password rules, user management's bad input naming
-- the field and changing nothing, and the caller rule (only unbound admins manage users).
BEGIN;  -- as on a first start: nobody can sign in
UPDATE mockarty_private.users SET password_hash = NULL;
SELECT mockarty.token_create('regress-owner') IS NOT NULL AS token;  -- user admin exists
SELECT length(mockarty.user_bootstrap()) >= 16 AS one_time_password;
SELECT mockarty.user_bootstrap() IS NULL AS not_again;
SELECT u ->> 'login' AS login, u ->> 'system_role' AS role, u ->> 'requires_password_change' AS must_change
FROM jsonb_array_elements(mockarty.user_admin_list()) u WHERE u ->> 'has_password' = 'true';
ROLLBACK;

SELECT mockarty.namespace_create('team-a') WHERE NOT EXISTS (SELECT 1 FROM mockarty_private.namespaces WHERE name = 'team-a');
SELECT mockarty.namespace_create('team-b') WHERE NOT EXISTS (SELECT 1 FROM mockarty_private.namespaces WHERE name = 'team-b');
SELECT u - 'id' - 'created_at' FROM mockarty.user_admin_create('{"login":"ann","password":"ann-password","namespaces":[{"namespace":"team-a","role":"editor"},{"namespace":"team-b","role":"viewer"}]}') u;

-- a session: the token is never stored, only its SHA-256
CREATE TEMP TABLE s AS SELECT mockarty.session_login('ann', 'ann-password', '10.0.0.1') AS r;
SELECT r ->> 'ok' AS ok, r ->> 'token' ~ '^mks_[0-9a-f]{64}$' AS token_shape, r ->> 'redirect_to' AS redirect,
       r -> 'user' ->> 'login' AS login FROM s;
SELECT count(*) AS stored_as_text FROM mockarty_private.sessions x, s WHERE x.id = s.r ->> 'token';
SELECT v ->> 'login' AS login, v ->> 'system_role' AS role, v -> 'namespaces' AS namespaces,
       v ->> 'csrf' = (SELECT r ->> 'csrfToken' FROM s) AS csrf_matches
FROM (SELECT mockarty.session_verify(r ->> 'token') AS v FROM s) q;
SELECT mockarty.session_verify('mks_' || repeat('0', 64)) IS NULL AS unknown_session;
SELECT mockarty.session_verify('not a token') IS NULL AS malformed;
SELECT mockarty.session_end(r ->> 'token') AS ended, mockarty.session_verify(r ->> 'token') IS NULL AS gone FROM s;

-- own password
SELECT mockarty.session_login('ann', 'ann-password', '10.0.0.1') ->> 'token' AS t \gset
SELECT mockarty.session_password(:'t', 'ann-password', 'short');
SELECT mockarty.session_password(:'t', 'wrong-one', 'ann-password-2');
SELECT mockarty.session_password(:'t', 'ann-password', 'ann-password-2') ->> 'requires_password_change' AS must_change;
SELECT mockarty.session_login('ann', 'ann-password', '10.0.0.1') ->> 'ok' AS old_password;

-- a failed sign-in costs one bcrypt whether the login exists or not (crypt calls counted within
-- one transaction, where the backend's pending counts are not flushed)
SET track_functions = 'all';
BEGIN;
SELECT coalesce(sum(calls), 0) AS c0 FROM pg_stat_xact_user_functions WHERE funcname = 'crypt' \gset
SELECT mockarty.session_login('ann', 'not-it-at-all', '10.0.0.50') ->> 'ok' AS known_login;
SELECT coalesce(sum(calls), 0) - :c0 AS bcrypts FROM pg_stat_xact_user_functions WHERE funcname = 'crypt';
SELECT coalesce(sum(calls), 0) AS c0 FROM pg_stat_xact_user_functions WHERE funcname = 'crypt' \gset
SELECT mockarty.session_login('no-such-login', 'not-it-at-all', '10.0.0.50') ->> 'ok' AS unknown_login;
SELECT coalesce(sum(calls), 0) - :c0 AS bcrypts FROM pg_stat_xact_user_functions WHERE funcname = 'crypt';
ROLLBACK;
RESET track_functions;

-- throttle: 5 failures of one login within the window (the old password above was the first)
-- refuse even the right password
SELECT count(*) FILTER (WHERE mockarty.session_login('ann', 'bad-password-' || i, '10.0.0.2') ->> 'ok' = 'false') AS failed
FROM generate_series(1, 4) i;
SELECT r ->> 'throttled' AS throttled, (r ->> 'retry_after')::int BETWEEN 1 AND 300 AS retry_after
FROM (SELECT mockarty.session_login('ann', 'ann-password-2', '10.0.0.3') AS r) q;
-- a short window has passed for them: the right password works
SELECT pg_sleep(1.1);
SELECT mockarty.session_login('ann', 'ann-password-2', '10.0.0.3', 43200, 1) ->> 'ok' AS after_window;
-- per client: unknown logins from one address count too
SELECT count(*) FROM (SELECT mockarty.session_login('ghost-' || i, 'x-password', '10.0.0.9') FROM generate_series(1, 5) i) q;
SELECT mockarty.session_login('ann', 'ann-password-2', '10.0.0.9') ->> 'throttled' AS client_throttled;
SELECT mockarty.session_login('ann', 'ann-password-2', '10.0.0.8') ->> 'ok' AS other_client;

-- user management: bad input names the field and changes nothing
SELECT mockarty.user_admin_create('{"login":"bo","password":"short"}');
SELECT mockarty.user_admin_create('{"login":"bo b","password":"long-enough"}');
SELECT mockarty.user_admin_create('{"login":"bo","system_role":"root"}');
SELECT mockarty.user_admin_create('{"login":"bo","namespaces":[{"namespace":"nope","role":"viewer"}]}');
SELECT mockarty.user_admin_create('{"login":"ann"}');
SELECT count(*) AS users FROM mockarty_private.users WHERE login IN ('bo', 'bo b');
SELECT id AS ann FROM mockarty_private.users WHERE login = 'ann' \gset
SELECT mockarty.user_admin_set_namespaces(:'ann', '[{"namespace":"team-a","role":"owner"}]');
SELECT mockarty.user_admin_update(:'ann', '{"password":"x"}');
SELECT mockarty.user_admin_get('no-such-user');
SELECT mockarty.user_admin_set_namespaces(:'ann', '[{"namespace":"team-b","role":"editor"}]') -> 'namespaces' AS namespaces;
SELECT mockarty.user_admin_set_enabled(:'ann', false) ->> 'enabled' AS enabled;
SELECT mockarty.session_login('ann', 'ann-password-2', '10.0.0.7') ->> 'ok' AS disabled_login;

-- the caller rule: editors, viewers and bound admins cannot manage users
BEGIN;
SELECT set_config('mockarty.caller_role', 'editor', true);
SELECT mockarty.user_admin_list();
ROLLBACK;
BEGIN;
SELECT set_config('mockarty.caller_role', 'admin', true), set_config('mockarty.caller_namespace', 'team-a', true);
SELECT mockarty.user_admin_create('{"login":"eve","password":"eve-password","system_role":"admin"}');
ROLLBACK;
SELECT mockarty.user_admin_delete(:'ann') AS deleted, mockarty.user_admin_delete(:'ann') AS again;
