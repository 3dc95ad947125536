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
	if (admin_cfg.auth_local)
		return 0;
	token = request_token(req);
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
						 "/ui/api/webhooks", NULL};

	if (role == NULL || strcmp(role, "admin") == 0)
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
									  : "webhooks");
			return 403;
		}
	}
	return 0;
}
