/*
 * admin.c - -create-mocks: the admin node turns the spec into mocks.
 *
 * The generator parses no spec: it sends the text to the admin node's
 * POST /api/v1/generators/<type> (api-compat §2.7, {spec, namespace, serverName, pathPrefix}),
 * whose importer does the smart merge, and prints the counts of the answer
 * ({created, updated, skipped, message, warnings, errors}). For grpc the body is the
 * FileDescriptorSet itself (application/octet-stream, namespace and serverName in the query),
 * which the admin node stores as the server's next version. An admin node without that
 * importer (404) is a clear error: the project stays written, no mock is created.
 */
#include "generator.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct body {
	char *p;
	size_t n;
};

static size_t
collect(char *data, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t add = size * nmemb;
	char *np;

	if (b->n + add > (16u << 20))
		return 0;
	np = realloc(b->p, b->n + add + 1);
	if (np == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, data, add);
	b->n += add;
	b->p[b->n] = '\0';
	return add;
}

/* POSTs body (blen bytes of ctype) to base+path with the bearer token; returns the HTTP status
 * (0 = no answer, err filled). */
static long
post(const gen_opts *o, const char *path, const char *ctype, const char *json, size_t blen, struct body *out,
     char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[2048], auth[512], ct[128];
	long status = 0;
	CURLcode rc;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	snprintf(url, sizeof(url), "%s%s", o->mockarty_url, path);
	if (strlen(url) > 1 && strstr(url, "//api/") != NULL) /* a base URL ending in / */
		memmove(strstr(url, "//api/"), strstr(url, "//api/") + 1, strlen(strstr(url, "//api/")));
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->api_token);
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
	h = curl_slist_append(h, ct);
	h = curl_slist_append(h, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* Prints "mocks: N created, N updated, N skipped" and the answer's warnings and errors. */
static void
report(const char *text)
{
	json_t *j = json_loads(text ? text : "", 0, NULL);
	json_t *v;
	size_t i;

	if (!json_is_object(j)) {
		json_decref(j);
		return;
	}
	printf("mocks: %lld created, %lld updated, %lld skipped\n",
	       (long long)json_integer_value(json_object_get(j, "created")),
	       (long long)json_integer_value(json_object_get(j, "updated")),
	       (long long)json_integer_value(json_object_get(j, "skipped")));
	json_array_foreach (json_object_get(j, "warnings"), i, v) {
		char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		printf("warning: %s\n", json_is_string(v) ? json_string_value(v) : t ? t : "?");
		free(t);
	}
	json_array_foreach (json_object_get(j, "errors"), i, v) {
		char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		fprintf(stderr, "error: %s\n", json_is_string(v) ? json_string_value(v) : t ? t : "?");
		free(t);
	}
	json_decref(j);
}

/* grpc: the descriptor set as the body of POST /api/v1/generators/grpc?namespace=&serverName= */
static bool
create_grpc_mocks(const gen_opts *o)
{
	CURL *esc = curl_easy_init();
	char *ns = esc ? curl_easy_escape(esc, o->ns, 0) : NULL;
	char *sn = esc ? curl_easy_escape(esc, o->server_name, 0) : NULL;
	char path[1024], err[600] = "";
	struct body b = {0};
	long st = 0;

	if (ns != NULL && sn != NULL) {
		snprintf(path, sizeof(path), "/api/v1/generators/grpc?namespace=%s&serverName=%s", ns, sn);
		st = post(o, path, "application/octet-stream", (const char *)o->set, o->set_len, &b, err,
		          sizeof(err));
	} else {
		snprintf(err, sizeof(err), "out of memory");
	}
	curl_free(ns);
	curl_free(sn);
	if (esc)
		curl_easy_cleanup(esc);
	if (st == 0)
		fprintf(stderr, "mockarty-server-generator: -create-mocks: the admin node did not answer: %s\n",
		        err);
	else if (st < 200 || st >= 300)
		fprintf(stderr, "mockarty-server-generator: -create-mocks: POST %s/api/v1/generators/grpc answered "
		                "%ld: %.2000s\n(the project was written, no mock was created)\n",
		        o->mockarty_url, st, b.p ? b.p : "");
	else
		report(b.p);
	free(b.p);
	return st >= 200 && st < 300;
}

bool
gen_create_mocks(const gen_opts *o, const char *spec, size_t len)
{
	json_t *req = json_pack("{s:s%, s:s, s:s, s:s}", "spec", spec, len, "namespace", o->ns, "serverName",
	                        o->server_name, "pathPrefix", o->path_prefix);
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	char path[128], err[600] = "";
	struct body b = {0};
	long st;

	json_decref(req);
	if (o->set != NULL) {
		free(text);
		return create_grpc_mocks(o);
	}
	if (text == NULL) {
		fprintf(stderr,
		        "mockarty-server-generator: -create-mocks: the spec is not valid UTF-8 text\n");
		return false;
	}
	snprintf(path, sizeof(path), "/api/v1/generators/%s", o->type);
	st = post(o, path, "application/json", text, strlen(text), &b, err, sizeof(err));
	free(text);
	if (st == 0) {
		fprintf(stderr,
		        "mockarty-server-generator: -create-mocks: the admin node did not answer: %s\n", err);
	} else if (st < 200 || st >= 300) {
		fprintf(stderr, "mockarty-server-generator: -create-mocks: POST %s%s answered %ld: %.2000s\n",
		        o->mockarty_url, path, st, b.p ? b.p : "");
		if (st == 404)
			fprintf(stderr,
			        "(this admin node has no %s import; the project was written, no mock was "
			        "created)\n",
			        o->type);
	} else {
		report(b.p);
	}
	free(b.p);
	return st >= 200 && st < 300;
}
