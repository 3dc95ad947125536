/*
 * auth.c - API token checks for the REST API (mock traffic needs none).
 *
 * Tokens are bcrypt-hashed in the database, so one verification costs ~50 ms
 * of CPU there; verified tokens are therefore cached here for 60 s, keyed by
 * the SHA-256 of the token (the token itself is never kept in memory longer
 * than the request). A revoke rings NOTIFY mockarty_tokens and the LISTEN
 * thread purges the whole cache at once; a generation counter stops a
 * verification that was in flight during the purge from re-inserting a stale
 * answer.
 */
#include "admin.h"

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

typedef struct cache_entry {
	unsigned char key[32];
	time_t expires; /* 0 = empty */
	char ns[128];   /* bound namespace, "" when none */
} cache_entry;

static struct {
	pthread_mutex_t mu;
	cache_entry slots[CACHE_SLOTS];
	uint64_t generation;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The namespace of the current request's token; lives for one handler call. */
static _Thread_local char current_ns[128];

void
auth_cache_purge(void)
{
	pthread_mutex_lock(&cache.mu);
	memset(cache.slots, 0, sizeof(cache.slots));
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

int
auth_check(api_req *req, api_resp *resp)
{
	const char *token;
	unsigned char key[32];
	unsigned int klen = 0;
	cache_entry *e;
	uint64_t gen;
	json_t *info = NULL;
	const char *params[1];
	const char *type, *ns;
	time_t now = time(NULL);

	if (admin_cfg.auth_local)
		return 0;
	token = request_token(req);
	if (token == NULL) {
		api_error(req, resp, 401, "unauthorized",
			  "missing API token (Authorization: Bearer <token> or X-API-Key)");
		return 401;
	}
	if (strncmp(token, "mki_", 4) == 0) {
		/* integration tokens are for nodes (the coordinator), never for the admin API */
		params[0] = token;
		if (db_json(req, resp, "SELECT mockarty.integration_verify($1) IS NOT NULL", 1, params, &info) &&
		    json_is_true(info)) {
			json_decref(info);
			api_error(req, resp, 403, "forbidden", "integration tokens (mki_) cannot call the admin API");
			return 403;
		}
		json_decref(info);
		if (resp->status == 0 || resp->status == 400)
			api_error(req, resp, 401, "unauthorized", "invalid or revoked API token");
		return resp->status;
	}
	if (!EVP_Digest(token, strlen(token), key, &klen, EVP_sha256(), NULL) || klen != 32) {
		api_error(req, resp, 500, "internal", "cannot hash the token");
		return 500;
	}
	pthread_mutex_lock(&cache.mu);
	e = &cache.slots[slot_of(key)];
	if (e->expires > now && memcmp(e->key, key, 32) == 0) {
		snprintf(current_ns, sizeof(current_ns), "%s", e->ns);
		pthread_mutex_unlock(&cache.mu);
		req->token_ns = current_ns[0] ? current_ns : NULL;
		return 0;
	}
	gen = cache.generation;
	pthread_mutex_unlock(&cache.mu);

	params[0] = token;
	if (!db_json(req, resp, "SELECT mockarty.token_verify($1)", 1, params, &info)) {
		if (resp->status == 400) /* a malformed token is just a bad token */
			api_error(req, resp, 401, "unauthorized", "invalid API token");
		return resp->status;
	}
	if (!json_is_object(info)) {
		json_decref(info);
		api_error(req, resp, 401, "unauthorized", "invalid or revoked API token");
		return 401;
	}
	type = json_string_value(json_object_get(info, "type"));
	if (type != NULL && (strcmp(type, "mock_resolver") == 0 || strcmp(type, "test_runner") == 0)) {
		json_decref(info);
		api_error(req, resp, 403, "forbidden", "this token type cannot call the admin API");
		return 403;
	}
	ns = json_string_value(json_object_get(info, "namespace"));
	snprintf(current_ns, sizeof(current_ns), "%s", ns ? ns : "");
	json_decref(info);

	pthread_mutex_lock(&cache.mu);
	if (cache.generation == gen) {
		e = &cache.slots[slot_of(key)];
		memcpy(e->key, key, 32);
		e->expires = now + CACHE_TTL_S;
		snprintf(e->ns, sizeof(e->ns), "%s", current_ns);
	}
	pthread_mutex_unlock(&cache.mu);
	req->token_ns = current_ns[0] ? current_ns : NULL;
	return 0;
}
