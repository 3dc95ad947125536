/*
 * auth.c - API token checks for the REST API (mock traffic needs none).
 *
 * Tokens are bcrypt-hashed in the database, so one verification costs ~50 ms
 * of CPU there; verified tokens are therefore cached here for 60 s, keyed by
 * the SHA-256 of the token (the token itself is never kept in memory longer
 * than the request), with the token's namespace binding and its user's role.
 * Failures are cached too, so nobody can buy a bcrypt per request: a token
 * that failed is answered 401 from memory for FAIL_TTL_S, and after a failure
 * for a lookup id (the public part of mk_<lookup>_<secret>) other uncached
 * tokens with that lookup id are refused for GATE_S without a query (at most
 * one bcrypt per lookup id per GATE_S). The price: while someone guesses at a
 * lookup id, its owner's token is refused too unless it is in the cache of
 * verified tokens (60 s after its last verification). Token kinds that can never
 * call REST (mki_ integration tokens, anything not shaped like mk_) are refused
 * before touching the database; the one exception is an orchestrator's mki_ token
 * on /api/v1/generated-servers and POST /api/v1/generators/openapi, verified with
 * integration_verify (type orchestrator only) and acting as an editor bound to the
 * token's namespace, if any. A revoke rings NOTIFY mockarty_tokens and the
 * LISTEN thread purges the whole cache at once; a generation counter stops a
 * verification that was in flight during the purge from re-inserting a stale
 * answer.
 *
 * Sessions (people signed in with POST /api/v1/auth/login, rest/users.c) come as
 * the cookie mockarty_session or as a Bearer mks_<secret>. They are verified by
 * mockarty.session_verify (one indexed lookup by the secret's SHA-256, no
 * bcrypt) and cached here like tokens, for CACHE_TTL_S but never past the
 * session's expiry. A write authenticated by the cookie must echo the session's
 * CSRF token in X-CSRF-Token. The namespace a session acts in is the request's
 * (path /api/v1/namespaces/<ns>/, body "namespace", ?namespace=, X-Namespace or
 * X-Mockarty-Namespace, else sandbox): a system admin acts unbound as admin;
 * any other user acts as a caller bound to that namespace with its membership
 * role, so the database applies the same caller rule as to a bound token, and
 * a namespace without membership answers 404.
 */
#include "node/node.h"

#include "log.h"
#include "pgpool.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CACHE_SLOTS 1024
#define CACHE_TTL_S 60
#define FAIL_SLOTS  1024
#define FAIL_TTL_S  5 /* a token that failed is answered 401 from memory this long */
#define GATE_S      2 /* after a failure, other guesses at that lookup id wait this long */
#define LOOKUP_LEN  12 /* hex digits of the lookup id in mk_<lookup>_<secret> */

typedef struct cache_entry {
	unsigned char key[32];
	time_t expires; /* 0 = empty */
	bool valid;     /* false: a cached failure */
	char ns[128];   /* bound namespace, "" when none */
	char role[8];   /* admin, editor, viewer */
} cache_entry;

typedef struct fail_entry {
	char lookup[LOOKUP_LEN + 1];
	time_t until; /* 0 = empty */
} fail_entry;

static struct {
	pthread_mutex_t mu;
	cache_entry slots[CACHE_SLOTS];
	fail_entry fails[FAIL_SLOTS];
	uint64_t generation;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The namespace and role of the current request's token; live for one handler call. */
static _Thread_local char current_ns[128];
static _Thread_local char current_role[8];
static _Thread_local char current_user[64];   /* a session's user id */
static _Thread_local char current_login[136]; /* and its login */

#define SESSION_SLOTS 1024
#define MEMBERS_CAP   1024 /* "ns\trole\n" lines; a user with more is verified per request */

typedef struct session_entry {
	unsigned char key[32];
	time_t expires;       /* 0 = empty; min(cache TTL, session expiry) */
	char user[64];
	char login[136];
	char system_role[8];
	char csrf[64];
	char members[MEMBERS_CAP];
} session_entry;

static struct {
	pthread_mutex_t mu;
	session_entry slots[SESSION_SLOTS];
	uint64_t generation;
} scache = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Verifications that reached the database (mockarty_auth_verifications_total). */
atomic_ullong admin_auth_verifications_total;

void
auth_cache_purge(void)
{
	pthread_mutex_lock(&cache.mu);
	memset(cache.slots, 0, sizeof(cache.slots));
	memset(cache.fails, 0, sizeof(cache.fails));
	cache.generation++;
	pthread_mutex_unlock(&cache.mu);
	pthread_mutex_lock(&scache.mu);
	memset(scache.slots, 0, sizeof(scache.slots));
	scache.generation++;
	pthread_mutex_unlock(&scache.mu);
}

static size_t
slot_of(const unsigned char key[32])
{
	uint32_t v;

	memcpy(&v, key, sizeof(v));
	return v % CACHE_SLOTS;
}

/* FNV-1a of a lookup id, for its failure slot. */
static size_t
fail_slot_of(const char *lookup)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < LOOKUP_LEN; i++)
		h = (h ^ (unsigned char)lookup[i]) * 16777619u;
	return h % FAIL_SLOTS;
}

/* Extracts the token from Authorization: Bearer or X-API-Key; NULL if absent. */
static const char *
request_token(const api_req *req)
{
	const char *h = api_header(req, "authorization");

	if (h != NULL) {
		if (strncasecmp(h, "Bearer ", 7) == 0) {
			h += 7;
			while (*h == ' ')
				h++;
			if (*h != '\0')
				return h;
		}
	}
	h = api_header(req, "x-api-key");
	return (h != NULL && h[0] != '\0') ? h : NULL;
}

/* True when token has the shape mk_<12 hex>_<hex...> token_verify accepts. */
static bool
mk_shaped(const char *token)
{
	size_t n = strlen(token);

	if (strncmp(token, "mk_", 3) != 0 || n < 3 + LOOKUP_LEN + 2 || n > 512 || token[3 + LOOKUP_LEN] != '_')
		return false;
	for (size_t i = 3; i < n; i++) {
		char c = token[i];

		if (i == 3 + LOOKUP_LEN)
			continue;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

/* Fills req's binding from the thread-local copies. */
static void
bind_request(api_req *req)
{
	req->token_ns = current_ns[0] ? current_ns : NULL;
	req->token_role = current_role[0] ? current_role : "admin";
}

static int
unauthorized(api_req *req, api_resp *resp)
{
	api_error(req, resp, 401, "unauthorized", "invalid or revoked API token");
	return 401;
}

/*
 * Remembers a failed verification of key (and of its lookup id) for FAIL_TTL_S,
 * unless the cache was purged since gen.
 */
static void
remember_failure(const unsigned char key[32], const char *token, uint64_t gen, time_t now)
{
	cache_entry *e;
	fail_entry *f;

	pthread_mutex_lock(&cache.mu);
	if (cache.generation == gen) {
		e = &cache.slots[slot_of(key)];
		memcpy(e->key, key, 32);
		e->expires = now + FAIL_TTL_S;
		e->valid = false;
		e->ns[0] = e->role[0] = '\0';
		if (mk_shaped(token)) {
			f = &cache.fails[fail_slot_of(token + 3)];
			memcpy(f->lookup, token + 3, LOOKUP_LEN);
			f->lookup[LOOKUP_LEN] = '\0';
			f->until = now + GATE_S;
		}
	}
	pthread_mutex_unlock(&cache.mu);
}

/*
 * Routes an orchestrator integration token (mki_ of type orchestrator) may call: its
 * generated servers' state and the OpenAPI import of their specs (docs/generator.md).
 */
static bool
orchestrator_route(const api_req *req)
{
	const char *p = req->path;

	return (strncmp(p, "/api/v1/generated-servers", 25) == 0 && (p[25] == '\0' || p[25] == '/')) ||
	       (strcmp(p, "/api/v1/generators/openapi") == 0 && strcmp(req->method, "POST") == 0);
}

/* The value of cookie name in the Cookie header(s), copied into buf; NULL when absent. */
static const char *
request_cookie(const api_req *req, const char *name, char *buf, size_t cap)
{
	json_t *v = req->headers != NULL ? json_object_get(req->headers, "cookie") : NULL;
	size_t n = strlen(name), i, count = json_is_array(v) ? json_array_size(v) : 1;

	for (i = 0; i < count; i++) {
		const char *h = json_string_value(json_is_array(v) ? json_array_get(v, i) : v);

		while (h != NULL && *h != '\0') {
			size_t len;

			while (*h == ' ' || *h == ';')
				h++;
			len = strcspn(h, ";");
			if (len > n && strncmp(h, name, n) == 0 && h[n] == '=') {
				size_t vl = len - n - 1;

				if (vl >= cap)
					return NULL;
				memcpy(buf, h + n + 1, vl);
				buf[vl] = '\0';
				while (vl > 0 && buf[vl - 1] == ' ')
					buf[--vl] = '\0';
				return buf;
			}
			h += len;
		}
	}
	return NULL;
}

/* True when token has the shape mks_<64 hex> of a session token. */
static bool
mks_shaped(const char *token)
{
	if (strncmp(token, "mks_", 4) != 0 || strlen(token) != 4 + 64)
		return false;
	for (const char *p = token + 4; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Constant-time string equality (lengths are not secret). */
static bool
same_secret(const char *a, const char *b)
{
	size_t n = strlen(a);
	unsigned char d = 0;

	if (n != strlen(b))
		return false;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0 && n > 0;
}

/*
 * The namespace a session request acts in (into buf): the path segment of
 * /api/v1/namespaces/<ns>/..., then the api_namespace order without a binding
 * (body "namespace", ?namespace=, X-Namespace), then X-Mockarty-Namespace, then
 * sandbox.
 */
static const char *
session_namespace(const api_req *req, char *buf, size_t cap)
{
	const char *p = req->path, *ns;

	if (strncmp(p, "/api/v1/namespaces/", 19) == 0) {
		size_t n = strcspn(p + 19, "/");

		if (n > 0 && p[19 + n] == '/' && n < cap) {
			memcpy(buf, p + 19, n);
			buf[n] = '\0';
			return buf;
		}
	}
	if (json_is_object(req->body_json)) {
		ns = json_string_value(json_object_get(req->body_json, "namespace"));
		if (ns != NULL && ns[0] != '\0')
			goto out;
	}
	ns = api_query(req, "namespace");
	if (ns == NULL || ns[0] == '\0')
		ns = api_header(req, "x-namespace");
	if (ns == NULL || ns[0] == '\0')
		ns = api_header(req, "x-mockarty-namespace");
	if (ns == NULL || ns[0] == '\0')
		ns = "sandbox";
out:
	snprintf(buf, cap, "%s", ns);
	return buf;
}

/* The role of namespace ns in members ("ns\trole\n" lines) into role; false when none. */
static bool
member_role(const char *members, const char *ns, char *role, size_t cap)
{
	size_t n = strlen(ns);

	for (const char *p = members; *p != '\0';) {
		const char *tab = strchr(p, '\t'), *nl = strchr(p, '\n');

		if (tab == NULL || nl == NULL || tab > nl)
			return false;
		if ((size_t)(tab - p) == n && strncmp(p, ns, n) == 0) {
			snprintf(role, cap, "%.*s", (int)(nl - tab - 1), tab + 1);
			return true;
		}
		p = nl + 1;
	}
	return false;
}

/* Account routes every signed-in user may call whatever namespace the request names. */
static bool
account_route(const api_req *req)
{
	return strcmp(req->path, "/api/v1/auth/me") == 0 || strcmp(req->path, "/api/v1/auth/logout") == 0 ||
	       strcmp(req->path, "/api/v1/auth/password") == 0;
}

void
auth_session_forget(const char *token)
{
	unsigned char key[32];
	unsigned int klen = 0;
	session_entry *e;

	if (!EVP_Digest(token, strlen(token), key, &klen, EVP_sha256(), NULL) || klen != 32)
		return;
	pthread_mutex_lock(&scache.mu);
	e = &scache.slots[slot_of(key) % SESSION_SLOTS];
	if (memcmp(e->key, key, 32) == 0)
		memset(e, 0, sizeof(*e));
	scache.generation++;
	pthread_mutex_unlock(&scache.mu);
}

/*
 * Authenticates a session token (from the cookie when from_cookie): checks CSRF
 * on cookie writes and binds the request to its namespace and role. Returns 0 or
 * an HTTP status with resp filled.
 */
static int
session_check(api_req *req, api_resp *resp, const char *token, bool from_cookie)
{
	unsigned char key[32];
	unsigned int klen = 0;
	session_entry *e, got;
	uint64_t gen;
	time_t now = time(NULL);
	json_t *info = NULL;
	char ttl[16], nsbuf[128], role[8];
	const char *params[2];
	bool cached = false;

	if (!mks_shaped(token)) {
		api_error(req, resp, 401, "unauthorized", "invalid session; sign in again");
		return 401;
	}
	if (!EVP_Digest(token, strlen(token), key, &klen, EVP_sha256(), NULL) || klen != 32) {
		api_error(req, resp, 500, "internal", "cannot hash the session token");
		return 500;
	}
	pthread_mutex_lock(&scache.mu);
	e = &scache.slots[slot_of(key) % SESSION_SLOTS];
	if (e->expires > now && memcmp(e->key, key, 32) == 0) {
		got = *e;
		cached = true;
	}
	gen = scache.generation;
	pthread_mutex_unlock(&scache.mu);

	if (!cached) {
		const char *members_ns;
		json_t *v, *m;
		size_t len = 0;
		json_int_t expires_in;

		atomic_fetch_add(&admin_auth_verifications_total, 1);
		snprintf(ttl, sizeof(ttl), "%d", admin_cfg.session_ttl_s);
		params[0] = token;
		params[1] = ttl;
		if (!db_json(req, resp, "SELECT mockarty.session_verify($1, $2::int)", 2, params, &info))
			return resp->status;
		if (!json_is_object(info)) {
			json_decref(info);
			api_error(req, resp, 401, "unauthorized", "the session has ended or expired; sign in again");
			return 401;
		}
		memset(&got, 0, sizeof(got));
		memcpy(got.key, key, 32);
		snprintf(got.user, sizeof(got.user), "%s", json_string_value(json_object_get(info, "user_id")) ?: "");
		snprintf(got.login, sizeof(got.login), "%s", json_string_value(json_object_get(info, "login")) ?: "");
		snprintf(got.system_role, sizeof(got.system_role), "%s",
			 json_string_value(json_object_get(info, "system_role")) ?: "viewer");
		snprintf(got.csrf, sizeof(got.csrf), "%s", json_string_value(json_object_get(info, "csrf")) ?: "");
		expires_in = json_integer_value(json_object_get(info, "expires_in"));
		got.expires = now + (expires_in < CACHE_TTL_S ? (time_t)expires_in : CACHE_TTL_S);
		m = json_object_get(info, "namespaces");
		json_object_foreach (m, members_ns, v) {
			int w = snprintf(got.members + len, sizeof(got.members) - len, "%s\t%s\n", members_ns,
					 json_string_value(v) ?: "viewer");

			if (w < 0 || (size_t)w >= sizeof(got.members) - len) {
				/* too many roles to cache: keep only this request's namespace, uncached */
				session_namespace(req, nsbuf, sizeof(nsbuf));
				v = json_object_get(m, nsbuf);
				got.members[0] = '\0';
				if (json_is_string(v))
					snprintf(got.members, sizeof(got.members), "%s\t%s\n", nsbuf, json_string_value(v));
				got.expires = 0;
				break;
			}
			len += (size_t)w;
		}
		json_decref(info);
		pthread_mutex_lock(&scache.mu);
		if (scache.generation == gen && got.expires > now)
			scache.slots[slot_of(key) % SESSION_SLOTS] = got;
		pthread_mutex_unlock(&scache.mu);
	}

	/* CSRF: a write authenticated by the cookie echoes the session's CSRF token */
	if (from_cookie && strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
	    strcmp(req->method, "OPTIONS") != 0) {
		const char *h = api_header(req, "x-csrf-token");

		if (h == NULL || !same_secret(h, got.csrf)) {
			api_error(req, resp, 403, "csrf",
				  "missing or wrong X-CSRF-Token header: a write signed in by the session cookie must send the session's CSRF token (csrfToken of the login or of GET /api/v1/auth/me)");
			return 403;
		}
	}
	snprintf(current_user, sizeof(current_user), "%s", got.user);
	snprintf(current_login, sizeof(current_login), "%s", got.login);
	req->session_token = token;
	req->session_user = current_user;
	req->session_login = current_login;
	req->session_cookie = from_cookie;
	if (strcmp(got.system_role, "admin") == 0) {
		current_ns[0] = '\0';
		snprintf(current_role, sizeof(current_role), "admin");
		bind_request(req);
		return 0;
	}
	session_namespace(req, nsbuf, sizeof(nsbuf));
	if (member_role(got.members, nsbuf, role, sizeof(role))) {
		snprintf(current_ns, sizeof(current_ns), "%s", nsbuf);
		snprintf(current_role, sizeof(current_role), "%s", role);
		bind_request(req);
		return 0;
	}
	if (strncmp(req->path, "/api/v1/admin/", 14) == 0 || strcmp(req->path, "/api/v1/admin") == 0) {
		api_error(req, resp, 403, "forbidden", "role %s cannot manage users", got.system_role);
		return 403;
	}
	if (account_route(req)) {
		/* the user's own account: bound to a namespace of none, as a viewer */
		snprintf(current_ns, sizeof(current_ns), "%s", nsbuf);
		snprintf(current_role, sizeof(current_role), "viewer");
		bind_request(req);
		return 0;
	}
	api_error(req, resp, 404, "not_found", "namespace \"%s\" does not exist", nsbuf);
	return 404;
}

int
auth_check(api_req *req, api_resp *resp)
{
	bool integration;
	const char *token;
	unsigned char key[32];
	unsigned int klen = 0;
	cache_entry *e;
	fail_entry *f;
	uint64_t gen;
	json_t *info = NULL;
	const char *params[1];
	const char *type, *ns, *role;
	time_t now = time(NULL);

	req->token_ns = NULL;
	req->token_role = NULL;
	req->session_token = NULL;
	req->session_user = NULL;
	req->session_login = NULL;
	req->session_cookie = false;
	if (admin_cfg.auth_local)
		return 0;
	token = request_token(req);
	if (token == NULL) {
		static _Thread_local char cookie[80];

		token = request_cookie(req, "mockarty_session", cookie, sizeof(cookie));
		if (token != NULL)
			return session_check(req, resp, token, true);
	} else if (strncmp(token, "mks_", 4) == 0) {
		return session_check(req, resp, token, false);
	}
	if (token == NULL) {
		api_error(req, resp, 401, "unauthorized",
			  "missing API token (Authorization: Bearer <token> or X-API-Key)");
		return 401;
	}
	integration = strncmp(token, "mki_", 4) == 0;
	if (integration && !orchestrator_route(req)) {
		/* integration tokens are for nodes (the coordinator), never for the admin API; an
		 * orchestrator token may keep its generated servers and import their specs */
		api_error(req, resp, 403, "forbidden",
			  "integration tokens (mki_) cannot call the admin API; use an API token (mk_)");
		return 403;
	}
	if (integration && strlen(token) > 512) {
		api_error(req, resp, 401, "unauthorized", "invalid integration token");
		return 401;
	}
	if (!integration && !mk_shaped(token)) {
		api_error(req, resp, 401, "unauthorized", "invalid API token (expected mk_<id>_<secret>)");
		return 401;
	}
	if (!EVP_Digest(token, strlen(token), key, &klen, EVP_sha256(), NULL) || klen != 32) {
		api_error(req, resp, 500, "internal", "cannot hash the token");
		return 500;
	}
	pthread_mutex_lock(&cache.mu);
	e = &cache.slots[slot_of(key)];
	if (e->expires > now && memcmp(e->key, key, 32) == 0) {
		bool valid = e->valid;

		snprintf(current_ns, sizeof(current_ns), "%s", e->ns);
		snprintf(current_role, sizeof(current_role), "%s", e->role);
		pthread_mutex_unlock(&cache.mu);
		if (!valid)
			return unauthorized(req, resp);
		bind_request(req);
		return 0;
	}
	f = &cache.fails[fail_slot_of(token + 3)];
	if (f->until > now && memcmp(f->lookup, token + 3, LOOKUP_LEN) == 0) {
		/* this lookup id failed a moment ago: no bcrypt for another guess at its secret */
		pthread_mutex_unlock(&cache.mu);
		return unauthorized(req, resp);
	}
	gen = cache.generation;
	pthread_mutex_unlock(&cache.mu);

	atomic_fetch_add(&admin_auth_verifications_total, 1);
	params[0] = token;
	if (!db_json(req, resp, integration ? "SELECT mockarty.integration_verify($1)" : "SELECT mockarty.token_verify($1)",
		     1, params, &info)) {
		if (resp->status == 400) /* a malformed token is just a bad token */
			api_error(req, resp, 401, "unauthorized", "invalid API token");
		return resp->status;
	}
	if (!json_is_object(info)) {
		json_decref(info);
		remember_failure(key, token, gen, now);
		return unauthorized(req, resp);
	}
	type = json_string_value(json_object_get(info, "type"));
	if (integration && (type == NULL || strcmp(type, "orchestrator") != 0)) {
		json_decref(info);
		api_error(req, resp, 403, "forbidden", "only orchestrator integration tokens may call %s", req->path);
		return 403;
	}
	if (integration)
		json_object_set_new(info, "role", json_string("editor")); /* an orchestrator writes, never administers */
	if (type != NULL && (strcmp(type, "mock_resolver") == 0 || strcmp(type, "test_runner") == 0)) {
		json_decref(info);
		api_error(req, resp, 403, "forbidden", "this token type cannot call the admin API");
		return 403;
	}
	ns = json_string_value(json_object_get(info, "namespace"));
	role = json_string_value(json_object_get(info, "role"));
	snprintf(current_ns, sizeof(current_ns), "%s", ns ? ns : "");
	snprintf(current_role, sizeof(current_role), "%s",
		 role != NULL && (strcmp(role, "editor") == 0 || strcmp(role, "viewer") == 0) ? role : "admin");
	json_decref(info);

	pthread_mutex_lock(&cache.mu);
	if (cache.generation == gen) {
		e = &cache.slots[slot_of(key)];
		memcpy(e->key, key, 32);
		e->expires = now + CACHE_TTL_S;
		e->valid = true;
		snprintf(e->ns, sizeof(e->ns), "%s", current_ns);
		snprintf(e->role, sizeof(e->role), "%s", current_role);
	}
	pthread_mutex_unlock(&cache.mu);
	bind_request(req);
	return 0;
}

/*
 * Route classes a role may not use (answered 403 before the handler runs):
 * viewers read only (every method but GET and HEAD is a write), editors do not
 * manage API tokens, integration tokens or webhooks, nor change server settings.
 */
int
auth_role_check(api_req *req, api_resp *resp)
{
	const char *role = req->token_role, *p = req->path;
	static const char *const admin_only[] = {"/api/v1/auth/tokens", "/api/v1/integrations",
						 "/ui/api/integrations", "/api/v1/webhooks",
						 "/ui/api/webhooks", "/api/v1/admin", NULL};

	if (role == NULL || strcmp(role, "admin") == 0)
		return 0;
	/* signing out and changing one's own password are every user's */
	if (strcmp(p, "/api/v1/auth/logout") == 0 || strcmp(p, "/api/v1/auth/password") == 0)
		return 0;
	if (strcmp(role, "viewer") == 0 && strcmp(req->method, "GET") != 0 &&
	    strcmp(req->method, "HEAD") != 0) {
		api_error(req, resp, 403, "forbidden", "role viewer cannot write (%s %s)", req->method, p);
		return 403;
	}
	if (strncmp(p, "/api/v1/settings/", 17) == 0 && strcmp(req->method, "GET") != 0) {
		api_error(req, resp, 403, "forbidden", "role %s cannot change server settings", role);
		return 403;
	}
	if (strncmp(p, "/api/v1/namespaces/", 19) == 0 && (strstr(p, "/webhooks") || strstr(p, "/integrations"))) {
		api_error(req, resp, 403, "forbidden", "role %s cannot manage %s", role,
			  strstr(p, "/webhooks") ? "webhooks" : "integrations");
		return 403;
	}
	for (int i = 0; admin_only[i] != NULL; i++) {
		size_t n = strlen(admin_only[i]);

		if (strncmp(p, admin_only[i], n) == 0 && (p[n] == '\0' || p[n] == '/')) {
			api_error(req, resp, 403, "forbidden", "role %s cannot manage %s", role,
				  strstr(admin_only[i], "tokens") ? "API tokens"
				  : strstr(admin_only[i], "integrations") ? "integrations"
				  : strstr(admin_only[i], "admin")	  ? "users"
									  : "webhooks");
			return 403;
		}
	}
	return 0;
}

void
auth_bootstrap(void)
{
	PGconn *conn = pgpool_get(2000);
	PGresult *res;
	bool broken = false;

	if (conn == NULL) {
		log_warn("first start check skipped: database unavailable");
		return;
	}
	res = PQexec(conn, "SELECT mockarty.user_bootstrap()");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		/* shown whatever LOG_LEVEL says: it is the only copy (start-up, no other thread logs yet) */
		int saved = log_threshold;

		if (log_threshold < LOG_LVL_WARN)
			log_threshold = LOG_LVL_WARN;
		log_warn("FIRST START: sign in at http://%s:%d/ui/ as user \"admin\" with the one-time password %s "
			 "(shown once; it must be changed at the first sign-in)",
			 admin_cfg.http_bind_addr, admin_cfg.http_port, PQgetvalue(res, 0, 0));
		log_threshold = saved;
	} else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("first start check failed: %s", PQresultErrorMessage(res));
		broken = PQstatus(conn) != CONNECTION_OK;
	}
	PQclear(res);
	pgpool_put(conn, broken);
}
