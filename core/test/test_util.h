/*
 * test_util.h - small helpers shared by the core unit tests: JSON literals
 * from strings and a request builder, so each test reads like the mock and
 * request a user would write.
 */
#ifndef MOCKARTY_TEST_UTIL_H
#define MOCKARTY_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mockarty/core.h"

/* Parses a JSON literal (any type); fails the test on a syntax error. New ref. */
static inline json_t *
J(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);

	if (v == NULL)
		fail_msg("bad JSON in test: %s: %s", e.text, text);
	return v;
}

/* A request plus the JSON it borrows; free with treq_free. */
typedef struct treq {
	mc_request r;
	json_t *query, *headers, *body;
} treq;

/*
 * Builds a request: query is a raw query string (may be NULL); headers a JSON
 * object of name -> string (lower-cased here, as daemons do); body raw text.
 */
static inline void
treq_init(treq *t, const char *method, const char *path, const char *query, const char *headers,
	  const char *body)
{
	memset(t, 0, sizeof(*t));
	t->query = mc_query_parse(query);
	t->headers = json_object();
	if (headers) {
		json_t *h = J(headers);
		const char *k;
		json_t *v;

		json_object_foreach (h, k, v) {
			char lower[128];
			size_t i;

			for (i = 0; k[i] && i < sizeof(lower) - 1; i++)
				lower[i] = (char)((k[i] >= 'A' && k[i] <= 'Z') ? k[i] + 32 : k[i]);
			lower[i] = '\0';
			if (json_is_array(v))
				json_object_set(t->headers, lower, v);
			else
				json_object_set_new(t->headers, lower, json_pack("[O]", v));
		}
		json_decref(h);
	}
	t->r.method = method;
	t->r.path = path;
	t->r.query = t->query;
	t->r.headers = t->headers;
	if (body) {
		t->r.body = body;
		t->r.body_len = strlen(body);
		t->body = json_loads(body, JSON_DECODE_ANY, NULL);
		t->r.body_json = t->body;
	}
}

static inline void
treq_free(treq *t)
{
	json_decref(t->query);
	json_decref(t->headers);
	json_decref(t->body);
}

#endif /* MOCKARTY_TEST_UTIL_H */
