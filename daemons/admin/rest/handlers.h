/*
 * handlers.h - private to the REST handlers (the files of rest/) and their route table
 * (rest/routes.c): the handlers' prototypes, one block per resource file, and the
 * few input checks they all share.
 *
 * The checks are static inline so that each handler file stays self-contained and
 * nothing but the handlers themselves becomes a global symbol. Every check either
 * returns what the handler needs or fills resp with a 400 "validation" envelope that
 * names the offending field, so a handler's error path is one line.
 */
#ifndef MOCKARTY_ADMIN_REST_HANDLERS_H
#define MOCKARTY_ADMIN_REST_HANDLERS_H

#include "node/api.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* health.c */
void rest_health(api_req *req, api_resp *resp);
void rest_live(api_req *req, api_resp *resp);
void rest_ready(api_req *req, api_resp *resp);
void rest_metrics(api_req *req, api_resp *resp);

/* mocks.c: one mock */
void rest_mock_create(api_req *req, api_resp *resp);
void rest_mock_list(api_req *req, api_resp *resp);
void rest_mock_get(api_req *req, api_resp *resp);
void rest_mock_patch(api_req *req, api_resp *resp);
void rest_mock_delete(api_req *req, api_resp *resp);
void rest_mock_restore(api_req *req, api_resp *resp);
void rest_mock_purge(api_req *req, api_resp *resp);

/* imports.c: WireMock, Mockoon and HAR imports; the WireMock-compatible /__admin surface */
void rest_import_wiremock(api_req *req, api_resp *resp);
void rest_import_mockoon(api_req *req, api_resp *resp);
void rest_import_har(api_req *req, api_resp *resp);
void rest_generator_har(api_req *req, api_resp *resp);
void rest_generator_har_preview(api_req *req, api_resp *resp);
void rest_openapi_import_form(api_req *req, api_resp *resp);
void rest_generator_openapi(api_req *req, api_resp *resp);
void rest_generator_openapi_preview(api_req *req, api_resp *resp);

/* the orchestrator's generated servers (rest/generated_servers.c) */
void rest_generated_server_list(api_req *req, api_resp *resp);
void rest_generated_server_get(api_req *req, api_resp *resp);
void rest_generated_server_put(api_req *req, api_resp *resp);
void rest_generated_server_delete(api_req *req, api_resp *resp);

/* gRPC descriptor sets and the gRPC generator (rest/grpc_descriptors.c) */
void rest_grpc_descriptor_upload(api_req *req, api_resp *resp);
void rest_grpc_descriptor_list(api_req *req, api_resp *resp);
void rest_grpc_descriptor_get(api_req *req, api_resp *resp);
void rest_grpc_descriptor_versions(api_req *req, api_resp *resp);
void rest_grpc_descriptor_delete(api_req *req, api_resp *resp);
void rest_generator_grpc(api_req *req, api_resp *resp);
void rest_generator_grpc_preview(api_req *req, api_resp *resp);
void rest_wiremock_mapping_create(api_req *req, api_resp *resp);
void rest_wiremock_mappings_import(api_req *req, api_resp *resp);
void rest_wiremock_mappings_list(api_req *req, api_resp *resp);
void rest_wiremock_mapping_get(api_req *req, api_resp *resp);
void rest_wiremock_mapping_delete(api_req *req, api_resp *resp);
void rest_wiremock_reset(api_req *req, api_resp *resp);

/* ---- integrations.c: REST handlers ---- */
void rest_integration_create(api_req *req, api_resp *resp);
void rest_integration_list(api_req *req, api_resp *resp);
void rest_integration_update(api_req *req, api_resp *resp);
void rest_integration_delete(api_req *req, api_resp *resp);
void rest_nodes_list(api_req *req, api_resp *resp);

/* ---- webhooks.c ---- */
void rest_webhook_list(api_req *req, api_resp *resp);
void rest_webhook_create(api_req *req, api_resp *resp);
void rest_webhook_get(api_req *req, api_resp *resp);
void rest_webhook_update(api_req *req, api_resp *resp);
void rest_webhook_delete(api_req *req, api_resp *resp);
void rest_webhook_enable(api_req *req, api_resp *resp);
void rest_webhook_disable(api_req *req, api_resp *resp);
void rest_webhook_deliveries(api_req *req, api_resp *resp);
void rest_webhook_delivery_list(api_req *req, api_resp *resp);
void rest_webhook_delivery_get(api_req *req, api_resp *resp);
void rest_webhook_delivery_retry(api_req *req, api_resp *resp);
void rest_webhook_settings_get(api_req *req, api_resp *resp);
void rest_webhook_settings_put(api_req *req, api_resp *resp);
void rest_ns_webhook_list(api_req *req, api_resp *resp);
void rest_ns_webhook_create(api_req *req, api_resp *resp);
void rest_ns_webhook_update(api_req *req, api_resp *resp);
void rest_ns_webhook_delete(api_req *req, api_resp *resp);

/* mocks.c: batches, copies, history */
void rest_mocks_batch_save(api_req *req, api_resp *resp);
void rest_mocks_batch_delete(api_req *req, api_resp *resp);
void rest_mocks_batch_restore(api_req *req, api_resp *resp);
void rest_mocks_batch_move(api_req *req, api_resp *resp);
void rest_mocks_batch_tags(api_req *req, api_resp *resp);
void rest_mocks_copy_to_namespace(api_req *req, api_resp *resp);
void rest_namespaces_copy_mocks(api_req *req, api_resp *resp);
void rest_mock_logs_get(api_req *req, api_resp *resp);
void rest_mock_logs_clear(api_req *req, api_resp *resp);
void rest_mock_versions(api_req *req, api_resp *resp);
void rest_mock_version_get(api_req *req, api_resp *resp);
void rest_mock_version_restore(api_req *req, api_resp *resp);
void rest_mock_chain_get(api_req *req, api_resp *resp);
void rest_mock_chain_delete(api_req *req, api_resp *resp);

/* tokens.c */
void rest_token_create(api_req *req, api_resp *resp);
void rest_token_list(api_req *req, api_resp *resp);
void rest_token_update(api_req *req, api_resp *resp);
void rest_token_disable(api_req *req, api_resp *resp);
void rest_token_enable(api_req *req, api_resp *resp);
void rest_token_delete(api_req *req, api_resp *resp);

/* users.c: sign-in, sessions, own password; user management for admins */
void rest_auth_login(api_req *req, api_resp *resp);
void rest_auth_logout(api_req *req, api_resp *resp);
void rest_auth_me(api_req *req, api_resp *resp);
void rest_auth_password(api_req *req, api_resp *resp);
void rest_user_list(api_req *req, api_resp *resp);
void rest_user_create(api_req *req, api_resp *resp);
void rest_user_get(api_req *req, api_resp *resp);
void rest_user_update(api_req *req, api_resp *resp);
void rest_user_delete(api_req *req, api_resp *resp);
void rest_user_password(api_req *req, api_resp *resp);
void rest_user_disable(api_req *req, api_resp *resp);
void rest_user_enable(api_req *req, api_resp *resp);
void rest_user_namespaces(api_req *req, api_resp *resp);

/* namespaces.c */
void rest_namespace_create(api_req *req, api_resp *resp);
void rest_namespace_list(api_req *req, api_resp *resp);

/* stores.c */
void rest_store_global_get(api_req *req, api_resp *resp);
void rest_store_global_set(api_req *req, api_resp *resp);
void rest_store_global_delete(api_req *req, api_resp *resp);
void rest_store_chain_get(api_req *req, api_resp *resp);
void rest_store_chain_set(api_req *req, api_resp *resp);
void rest_store_chain_delete(api_req *req, api_resp *resp);

/* undefined.c */
void rest_undefined_list(api_req *req, api_resp *resp);
void rest_undefined_ignore(api_req *req, api_resp *resp);
void rest_undefined_delete(api_req *req, api_resp *resp);
void rest_undefined_delete_all(api_req *req, api_resp *resp);
void rest_undefined_create_mock(api_req *req, api_resp *resp);

/* tags_folders.c */
void rest_tag_list(api_req *req, api_resp *resp);
void rest_tag_create(api_req *req, api_resp *resp);
void rest_folder_list(api_req *req, api_resp *resp);
void rest_folder_create(api_req *req, api_resp *resp);
void rest_folder_update(api_req *req, api_resp *resp);
void rest_folder_delete(api_req *req, api_resp *resp);
void rest_folder_move(api_req *req, api_resp *resp);
void rest_stats(api_req *req, api_resp *resp);
void rest_counts(api_req *req, api_resp *resp);
void rest_status(api_req *req, api_resp *resp);
void rest_features(api_req *req, api_resp *resp);

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

#endif /* MOCKARTY_ADMIN_REST_HANDLERS_H */
