/*
 * rest_more.h - private to the REST handlers behind api_routes_more (routes_more.c):
 * their prototypes, and the few input checks they all share.
 *
 * The checks are static inline so that each handler file stays self-contained and
 * nothing but the handlers themselves becomes a global symbol. Every check either
 * returns what the handler needs or fills resp with a 400 "validation" envelope that
 * names the offending field, so a handler's error path is one line.
 */
#ifndef MOCKARTY_ADMIN_REST_MORE_H
#define MOCKARTY_ADMIN_REST_MORE_H

#include "rest/api.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* rest_mocks_more.c */
void more_mocks_batch_save(api_req *req, api_resp *resp);
void more_mocks_batch_delete(api_req *req, api_resp *resp);
void more_mocks_batch_restore(api_req *req, api_resp *resp);
void more_mocks_batch_move(api_req *req, api_resp *resp);
void more_mocks_batch_tags(api_req *req, api_resp *resp);
void more_mocks_copy_to_namespace(api_req *req, api_resp *resp);
void more_namespaces_copy_mocks(api_req *req, api_resp *resp);
void more_mock_logs_get(api_req *req, api_resp *resp);
void more_mock_logs_clear(api_req *req, api_resp *resp);
void more_mock_versions(api_req *req, api_resp *resp);
void more_mock_version_get(api_req *req, api_resp *resp);
void more_mock_version_restore(api_req *req, api_resp *resp);
void more_mock_chain_get(api_req *req, api_resp *resp);
void more_mock_chain_delete(api_req *req, api_resp *resp);

/* rest_tokens.c */
void rest_token_create(api_req *req, api_resp *resp);
void rest_token_list(api_req *req, api_resp *resp);
void rest_token_update(api_req *req, api_resp *resp);
void rest_token_disable(api_req *req, api_resp *resp);
void rest_token_enable(api_req *req, api_resp *resp);
void rest_token_delete(api_req *req, api_resp *resp);

/* rest_namespaces.c */
void more_namespace_create(api_req *req, api_resp *resp);
void more_namespace_list(api_req *req, api_resp *resp);

/* rest_stores.c */
void more_store_global_get(api_req *req, api_resp *resp);
void more_store_global_set(api_req *req, api_resp *resp);
void more_store_global_delete(api_req *req, api_resp *resp);
void more_store_chain_get(api_req *req, api_resp *resp);
void more_store_chain_set(api_req *req, api_resp *resp);
void more_store_chain_delete(api_req *req, api_resp *resp);

/* rest_undefined.c */
void more_undefined_list(api_req *req, api_resp *resp);
void more_undefined_ignore(api_req *req, api_resp *resp);
void more_undefined_delete(api_req *req, api_resp *resp);
void more_undefined_delete_all(api_req *req, api_resp *resp);
void more_undefined_create_mock(api_req *req, api_resp *resp);

/* rest_tags_folders.c */
void more_tag_list(api_req *req, api_resp *resp);
void more_tag_create(api_req *req, api_resp *resp);
void more_folder_list(api_req *req, api_resp *resp);
void more_folder_create(api_req *req, api_resp *resp);
void more_folder_update(api_req *req, api_resp *resp);
void more_folder_delete(api_req *req, api_resp *resp);
void more_folder_move(api_req *req, api_resp *resp);
void more_stats(api_req *req, api_resp *resp);
void more_counts(api_req *req, api_resp *resp);
void more_status(api_req *req, api_resp *resp);
void more_features(api_req *req, api_resp *resp);

/*
 * The namespace a token is bound to, or NULL for an unbound token. Handlers that
 * address rows by a global id (mock ids, folder ids, undefined-request ids) pass it
 * to SQL so a bound token sees rows of other namespaces as unknown.
 */
static inline const char *
rest_token_ns(const api_req *req)
{
	return req->token_ns != NULL && req->token_ns[0] != '\0' ? req->token_ns : NULL;
}

/* The request body when it is a JSON object; else NULL after a 400. Borrowed. */
static inline json_t *
rest_body_object(api_req *req, api_resp *resp)
{
	if (!json_is_object(req->body_json)) {
		api_error(req, resp, 400, "validation",
		          req->body == NULL || req->body_len == 0 ? "request body is required (a JSON object)"
		                                                  : "request body must be a JSON object");
		return NULL;
	}
	return req->body_json;
}

/*
 * body[field] as a non-empty string. Returns it (borrowed from the body) or NULL
 * after a 400 naming the field.
 */
static inline const char *
rest_body_string(api_req *req, api_resp *resp, json_t *body, const char *field)
{
	const char *s = json_string_value(json_object_get(body, field));

	if (s == NULL || s[0] == '\0') {
		api_error(req, resp, 400, "validation", "%s: %s", field,
		          json_object_get(body, field) == NULL ? "is required"
		                                               : "must be a non-empty string");
		json_object_set_new(resp->json, "field", json_string(field));
		return NULL;
	}
	return s;
}

/*
 * body[field] as a PostgreSQL text[] literal (api_pg_array). The field must be an
 * array of non-empty strings; with allow_csv a single string is accepted too and
 * split on commas (the SDKs disagree on how lists travel). When optional and the
 * field is absent or null, returns NULL with *absent = true and resp untouched.
 * Returns malloc'd text, or NULL after a 400 naming the field.
 */
static inline char *
rest_body_text_array(api_req *req, api_resp *resp, json_t *body, const char *field, bool allow_csv,
                     bool optional, bool *absent)
{
	json_t *v = json_object_get(body, field), *arr, *e;
	size_t i;
	char *lit;

	if (absent != NULL)
		*absent = false;
	if ((v == NULL || json_is_null(v)) && optional) {
		if (absent != NULL)
			*absent = true;
		return NULL;
	}
	if (allow_csv && json_is_string(v)) {
		const char *s = json_string_value(v), *p = s;

		arr = json_array();
		while (*p != '\0') {
			const char *q = strchr(p, ',');
			size_t n = q != NULL ? (size_t)(q - p) : strlen(p);

			while (n > 0 && *p == ' ')
				p++, n--;
			while (n > 0 && p[n - 1] == ' ')
				n--;
			if (n > 0)
				json_array_append_new(arr, json_stringn(p, n));
			p = q != NULL ? q + 1 : p + strlen(p);
		}
	} else if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++) {
			e = json_array_get(v, i);

			if (!json_is_string(e) || json_string_length(e) == 0) {
				api_error(req, resp, 400, "validation", "%s[%zu]: must be a non-empty string",
				          field, i);
				json_object_set_new(resp->json, "field", json_string(field));
				return NULL;
			}
		}
		arr = json_incref(v);
	} else {
		api_error(req, resp, 400, "validation", "%s: %s", field,
		          v == NULL ? "is required" : "must be an array of strings");
		json_object_set_new(resp->json, "field", json_string(field));
		return NULL;
	}
	lit = api_pg_array(arr);
	json_decref(arr);
	if (lit == NULL)
		api_error(req, resp, 500, "internal", "out of memory");
	return lit;
}

/*
 * Parses a decimal integer in [min, max] from s (a path capture or query value).
 * Returns false on anything else (empty, sign where min >= 0, trailing bytes).
 */
static inline bool
rest_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* A {"status":word, "count":n} reply for endpoints whose result the SDKs ignore. Takes n. */
static inline void
rest_count_reply(api_resp *resp, const char *word, json_t *n)
{
	json_t *body = json_object();

	json_object_set_new(body, "status", json_string(word));
	json_object_set_new(body, "count", json_is_integer(n) ? n : (json_decref(n), json_integer(0)));
	api_json(resp, 200, body);
}

#endif /* MOCKARTY_ADMIN_REST_MORE_H */
