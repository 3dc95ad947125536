/*
 * match_internal.h - declarations shared by the matching half of core
 * (request.c, jsonpath.c, condition.c, strmap.c, route_trie.c, index.c,
 * validate.c) but not part of the public contract in core.h.
 *
 * Everything here is hidden like the public API; tests include it with -Isrc.
 */
#ifndef MOCKARTY_MATCH_INTERNAL_H
#define MOCKARTY_MATCH_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "mockarty/core.h"

/* ------------------------------------------------------------------ strmap.c */

/*
 * A string-keyed open-addressing hash map of borrowed void pointers. Keys are
 * copied (and may contain any byte but NUL). Used for trie children, the id
 * table, namespaces and the regex cache, where a jansson object would force
 * every value to be a json_t.
 */
typedef struct mc_strmap {
	struct mc_strmap_slot *slots;
	size_t cap;   /* power of two, or 0 when empty */
	size_t count;
} mc_strmap;

MC_API void mc_strmap_init(mc_strmap *m);
/* Frees the table and the key copies, not the values. */
MC_API void mc_strmap_destroy(mc_strmap *m);
MC_API void *mc_strmap_get(const mc_strmap *m, const char *key, size_t len);
/* Inserts or replaces; returns MC_ENOMEM on allocation failure. */
MC_API mc_status mc_strmap_put(mc_strmap *m, const char *key, size_t len, void *value);
/* Removes key; returns the old value or NULL. */
MC_API void *mc_strmap_del(mc_strmap *m, const char *key, size_t len);
/* Calls fn for every entry (no mutation during the walk). */
MC_API void mc_strmap_each(const mc_strmap *m, void (*fn)(void *ctx, const char *key, void *value),
			   void *ctx);

/* --------------------------------------------------------------- condition.c */

/* Compile options shared by validation and matching, so both agree on syntax. */
#define MC_PCRE2_OPTIONS (PCRE2_UTF | PCRE2_UCP)

/*
 * Looks up an already compiled regex by its source text; returns NULL when the
 * caller has none (the evaluator then compiles a temporary one).
 */
typedef const pcre2_code *(*mc_regex_lookup_fn)(const void *ctx, const char *pattern);

typedef struct mc_regex_env {
	mc_regex_lookup_fn lookup; /* may be NULL */
	const void *lookup_ctx;
	const pcre2_match_context *mctx; /* may be NULL: a temporary one is made */
} mc_regex_env;

/*
 * mc_condition_eval with a regex cache. env may be NULL.
 */
MC_API bool mc_condition_eval_env(const json_t *cond, const json_t *actual, bool sort_default,
				  const mc_regex_env *env);

/*
 * Evaluates a condition of a header or query-parameter list. values is the
 * array of strings sent under the condition's name (NULL = absent). equals,
 * matches, empty and notEmpty look at the first value (or at the whole list
 * when the expected value is an array); contains holds when any value
 * contains the expected one; not_contains when none does.
 */
MC_API bool mc_condition_eval_list(const json_t *cond, const json_t *values, bool sort_default,
				   const mc_regex_env *env);

/*
 * Runs re against subject (len bytes) with the match limit of mctx (or a
 * temporary context limited to MC_REGEX_MATCH_LIMIT). Errors, including the
 * limit being hit, count as no match.
 */
MC_API bool mc_regex_match(const pcre2_code *re, const char *subject, size_t len,
			   const pcre2_match_context *mctx);

/* Compiles pattern with MC_PCRE2_OPTIONS; on failure fills msg (may be NULL). */
MC_API pcre2_code *mc_regex_compile(const char *pattern, char *msg, size_t msg_size);

/*
 * Decodes standard or URL-safe base64 (padding optional, whitespace skipped).
 * Returns a malloc'd buffer with a terminating NUL and *out_len set, or NULL
 * when the input is not base64.
 */
MC_API char *mc_base64_decode(const char *in, size_t len, size_t *out_len);

/* The default assertAction names; plugin:<key> is accepted separately. */
MC_API bool mc_assert_action_known(const char *action);

/* ------------------------------------------------------------------ request.c */

/*
 * Makes a JSON string from arbitrary bytes: invalid UTF-8 sequences become
 * U+FFFD so that a hostile path or query never yields a NULL value. New ref.
 */
MC_API json_t *mc_json_string_lossy(const char *s, size_t len);

/* ------------------------------------------------------------------ jsonpath.c */

/*
 * Strips the root spellings of api-compat 4.5 ("$.body.", "$.req.", "$.",
 * "$body"...) and returns the remaining relative path ("" = whole value).
 */
MC_API const char *mc_jsonpath_relative(const char *path);

/* -------------------------------------------------------------- route_trie.c */

/* A growable array of borrowed pointers (trie leaves, candidate lists). */
typedef struct mc_ptrlist {
	void **items;
	size_t len, cap;
} mc_ptrlist;

MC_API mc_status mc_ptrlist_push(mc_ptrlist *l, void *item);
/* Removes the first occurrence of item keeping order; true when found. */
MC_API bool mc_ptrlist_remove(mc_ptrlist *l, void *item);
MC_API void mc_ptrlist_free(mc_ptrlist *l);

typedef enum mc_seg_kind { MC_SEG_LITERAL, MC_SEG_PARAM, MC_SEG_WILDCARD } mc_seg_kind;

typedef struct mc_seg {
	mc_seg_kind kind;
	const char *text; /* literal text or param name (without ':' / braces) */
	size_t len;
} mc_seg;

/*
 * A mock route split into segments: pathPrefix and route joined, empty
 * segments dropped (so a trailing slash is ignored), ":name" and "{name}"
 * are parameters, a final "*" matches the rest of the path.
 */
typedef struct mc_route {
	char *buf; /* owns the text the segments point into */
	mc_seg *segs;
	size_t nsegs;
	int literals; /* number of literal segments: the route's specificity */
} mc_route;

/*
 * Parses prefix (may be NULL) + route into r. Returns MC_ELIMIT when there are
 * more than MC_MAX_ROUTE_SEGMENTS segments, MC_EINVAL for a '*' that is not
 * last, MC_ENOMEM. On success free with mc_route_free.
 */
MC_API mc_status mc_route_parse(const char *prefix, const char *route, mc_route *r);
MC_API void mc_route_free(mc_route *r);

/* A request path split into segments pointing into the caller's string. */
#define MC_MAX_PATH_SEGMENTS 256
typedef struct mc_path {
	struct {
		const char *p;
		size_t len;
	} segs[MC_MAX_PATH_SEGMENTS];
	size_t nsegs;
	bool too_long; /* more segments than MC_MAX_PATH_SEGMENTS: no route can match */
} mc_path;

MC_API void mc_path_split(const char *path, mc_path *out);

typedef struct mc_trie_node mc_trie_node;

MC_API mc_trie_node *mc_trie_new(void);
MC_API void mc_trie_free(mc_trie_node *root);
/* Adds item under route; MC_ENOMEM on failure (trie unchanged in meaning). */
MC_API mc_status mc_trie_insert(mc_trie_node *root, const mc_route *route, void *item);
/* Removes item from route's leaf and prunes nodes left empty. */
MC_API bool mc_trie_remove(mc_trie_node *root, const mc_route *route, void *item);
/*
 * Appends to out every item whose route matches path. Each trie node is visited
 * at most once, so the cost is bounded by the nodes along matching routes, not
 * by the number of routes. MC_ENOMEM when out cannot grow.
 */
MC_API mc_status mc_trie_collect(const mc_trie_node *root, const mc_path *path, mc_ptrlist *out);

#endif /* MOCKARTY_MATCH_INTERNAL_H */
