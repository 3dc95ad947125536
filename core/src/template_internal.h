/*
 * template_internal.h - declarations shared by the templating half of core
 * (template.c, render.c) but not part of the public contract in core.h.
 *
 * Everything here is hidden like the public API; tests include it with -Isrc.
 */
#ifndef MOCKARTY_TEMPLATE_INTERNAL_H
#define MOCKARTY_TEMPLATE_INTERNAL_H

#include "mockarty/core.h"

/* Nested expressions ($.mS.a.$.pathParam.x, $.increment($.gS.n)) go at most this deep. */
#define MC_MAX_TEMPLATE_NESTING 8

/*
 * True when s (len bytes) contains an expression that reads or writes a store:
 * $.gS, $.cS, $.mS or $.increment, at any nesting. Syntax errors after such an
 * expression do not hide it.
 */
MC_API bool mc_template_uses_state(const char *s, size_t len);

/*
 * Checks s (len bytes) like mc_template_check and measures it: *nexpr gets the
 * number of top-level expressions, *literal the bytes outside them (what every
 * rendering of s outputs at least). Nothing is evaluated or generated.
 * Returns MC_OK, or the check's error code with err set (offsets in msg).
 */
MC_API mc_status mc_template_measure(const char *s, size_t len, size_t *nexpr, size_t *literal,
                                     mc_error *err);

/*
 * True when s (len bytes) contains "$." followed by a known root word, i.e.
 * rendering it may give something other than s itself.
 */
MC_API bool mc_template_has_expr(const char *s, size_t len);

/*
 * The text form of a rendered value, as interpolation writes it: strings raw,
 * null/NULL empty, everything else compact JSON. Returns a malloc'd string the
 * caller frees, or NULL on allocation failure.
 */
MC_API char *mc_value_text(const json_t *v);

/*
 * The keys of obj in the order PostgreSQL's jsonb stores them (shorter first,
 * then bytewise). Rendering visits members in this order so that fakers and
 * $.increment see the same sequence whether the mock came from a file, the
 * REST API or a jsonb column. Returns a malloc'd array of borrowed keys
 * (*n entries; NULL with *n == 0 for an empty object) or NULL on allocation
 * failure with *n == SIZE_MAX.
 */
MC_API const char **mc_object_keys_canonical(const json_t *obj, size_t *n);

#endif /* MOCKARTY_TEMPLATE_INTERNAL_H */
