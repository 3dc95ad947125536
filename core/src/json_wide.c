/*
 * json_wide.c - parsing JSON text that may hold integers beyond int64.
 *
 * PostgreSQL's jsonb prints numbers as exact decimals: a real such as 1e308,
 * stored in a global store or rendered by a template, comes back from the
 * database as 309 digits with no exponent. jansson refuses such an integer
 * ("too big integer") and the whole document with it, so a store or a resolve
 * result holding one big number would be read as missing. This parser falls
 * back to reading every integer as a real and then turns the exactly
 * representable ones back into integers, so only the big numbers change type.
 */
#include "mockarty/core.h"

#include <stdbool.h>
#include <string.h>

/* True when d is an integer that a double holds exactly (|d| <= 2^53). */
static bool
exact_integer(double d)
{
	return d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(json_int_t)d;
}

/* Replaces, in place, every real in v that is integral and within +-2^53 by an integer. */
static void
narrow_reals(json_t *v, int depth)
{
	if (depth > 1000)
		return;
	if (json_is_object(v)) {
		const char *k;
		json_t *m;
		void *tmp;

		json_object_foreach_safe(v, tmp, k, m) {
			if (json_is_real(m)) {
				double d = json_real_value(m);

				if (exact_integer(d))
					json_object_set_new(v, k, json_integer((json_int_t)d));
			} else
				narrow_reals(m, depth + 1);
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *m = json_array_get(v, i);

			if (json_is_real(m)) {
				double d = json_real_value(m);

				if (exact_integer(d))
					json_array_set_new(v, i, json_integer((json_int_t)d));
			} else
				narrow_reals(m, depth + 1);
		}
	}
}

MC_API json_t *
mc_json_loadb_wide(const char *text, size_t len, size_t flags, json_error_t *err)
{
	json_error_t local;
	json_error_t *e = err != NULL ? err : &local;
	json_t *j = json_loadb(text, len, flags, e);

	if (j != NULL || strstr(e->text, "too big") == NULL)
		return j;
	j = json_loadb(text, len, flags | JSON_DECODE_INT_AS_REAL, e);
	if (j == NULL)
		return NULL;
	if (json_is_real(j)) {
		double d = json_real_value(j);

		if (exact_integer(d)) {
			json_decref(j);
			return json_integer((json_int_t)d);
		}
	}
	narrow_reals(j, 0);
	return j;
}
