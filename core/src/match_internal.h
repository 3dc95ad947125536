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

#endif /* MOCKARTY_MATCH_INTERNAL_H */
