/*
 * sources_internal.h - helpers shared by the importers (import_*.c): the report,
 * JSON pointers, routes from URL paths and conditions from literal values.
 */
#ifndef MOCKARTY_SOURCES_INTERNAL_H
#define MOCKARTY_SOURCES_INTERNAL_H

#include "mockarty/sources.h"

#define SRC_PTR_MAX 512

/* {"mocks":[],"warnings":[],"errors":[]}; new reference, NULL when out of memory. */
json_t *src_report_new(void);

/* Appends {"pointer","message"} to the array list (a warnings or errors array). */
void src_note(json_t *list, const char *pointer, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* out = base + "/" + token (RFC 6901 escaping of '~' and '/'); truncated to size; out may be base. */
void src_ptr(char *out, size_t size, const char *base, const char *token);
void src_ptr_index(char *out, size_t size, const char *base, size_t index);

/*
 * Validates mock (stolen) and appends it to report's mocks; when invalid, a warning
 * at pointer names the validator's path and message and the mock is dropped.
 */
void src_add_mock(json_t *report, json_t *mock, const char *pointer);

/*
 * Sets http.route to path, or http.routePattern to an anchored literal regex when the
 * path holds characters the route syntax gives meaning to (':' '*' '{'); "/" when
 * path is empty.
 */
void src_set_route(json_t *http, const char *path);

/* Appends pcre2-escaped text to a new string; caller frees. NULL on OOM. */
char *src_regex_quote(const char *text);

/* {"path":path,"assertAction":action,"value":value (stolen, may be NULL)}; new ref. */
json_t *src_cond(const char *path, const char *action, json_t *value);

/*
 * Appends to conds one equals condition per leaf of value under the JSONPath prefix
 * ("$"): objects are walked key by key, arrays and scalars compared whole. Keys that
 * the path syntax cannot spell are reported at pointer and skipped.
 */
void src_json_conditions(json_t *conds, const json_t *value, const char *prefix, json_t *warnings,
			 const char *pointer, int depth);

/* Lower-cased copy of a header name into out (size bytes). */
void src_lower(char *out, size_t size, const char *name);

/* Splits an URL (absolute or a path) into its percent-decoded path (%2F kept) and its raw query (may be NULL). */
void src_split_url(const char *url, char *path, size_t path_size, const char **query);

#endif
