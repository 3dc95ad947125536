/*
 * request.c - turning the raw parts of an HTTP request into the JSON shapes the
 * matcher and the templates read (query string -> {"name":["v1","v2"]}).
 *
 * Input comes straight off the network, so nothing here may fail on hostile
 * bytes: bad percent escapes stay literal, invalid UTF-8 becomes U+FFFD (jansson
 * strings must be valid UTF-8), and the only error is running out of memory.
 */
#include "match_internal.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t
utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/*
 * Returns a new JSON string of s[0..len), replacing every invalid UTF-8 byte
 * with U+FFFD. NULL only on allocation failure.
 */
json_t *
mc_json_string_lossy(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;
	char *buf;
	json_t *out;

	out = json_stringn(s, len);
	if (out != NULL)
		return out;
	/* Worst case every byte becomes three. */
	buf = malloc(len * 3 + 1);
	if (buf == NULL)
		return NULL;
	while (i < len) {
		size_t n = utf8_seq_len(u + i, len - i);

		if (n == 0) {
			memcpy(buf + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		} else {
			memcpy(buf + o, u + i, n);
			o += n;
			i += n;
		}
	}
	out = json_stringn(buf, o);
	free(buf);
	return out;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes s[0..len) as application/x-www-form-urlencoded into out (which has
 * room for len bytes); returns the decoded length. '%' not followed by two hex
 * digits is kept literally.
 */
static size_t
form_decode(const char *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	return o;
}

/* Appends value to the array stored under key, creating it when absent. */
static bool
add_pair(json_t *obj, const char *key, size_t klen, json_t *value)
{
	json_t *arr;
	json_t *kstr;
	bool ok;

	if (value == NULL)
		return false;
	/* Keys must be valid UTF-8 too; reuse the lossy conversion for them. */
	kstr = mc_json_string_lossy(key, klen);
	if (kstr == NULL) {
		json_decref(value);
		return false;
	}
	arr = json_object_getn(obj, json_string_value(kstr), json_string_length(kstr));
	if (arr == NULL) {
		arr = json_array();
		if (arr == NULL ||
		    json_object_setn_new(obj, json_string_value(kstr), json_string_length(kstr), arr) != 0) {
			json_decref(kstr);
			json_decref(value);
			return false;
		}
	}
	json_decref(kstr);
	ok = json_array_append_new(arr, value) == 0;
	return ok;
}

/*
 * Parses a query string ("a=1&b=x%20y&a=2", with or without a leading '?')
 * into {"a":["1","2"],"b":["x y"]}. A name without '=' gets "". Empty pieces
 * ("a=1&&b=2") are skipped. Returns a new reference (an empty object for NULL
 * or ""), or NULL when out of memory.
 */
json_t *
mc_query_parse(const char *query)
{
	json_t *obj = json_object();
	const char *p;
	char *buf;
	size_t qlen;

	if (obj == NULL || query == NULL)
		return obj;
	if (*query == '?')
		query++;
	qlen = strlen(query);
	buf = malloc(qlen + 1);
	if (buf == NULL) {
		json_decref(obj);
		return NULL;
	}
	p = query;
	while (*p) {
		const char *end = strchr(p, '&');
		const char *eq;
		size_t plen, klen, vlen;
		char *k, *v;

		if (end == NULL)
			end = p + strlen(p);
		plen = (size_t)(end - p);
		if (plen > 0) {
			eq = memchr(p, '=', plen);
			klen = form_decode(p, eq ? (size_t)(eq - p) : plen, buf);
			k = buf;
			v = buf + klen;
			vlen = eq ? form_decode(eq + 1, (size_t)(end - eq - 1), v) : 0;
			if (!add_pair(obj, k, klen, mc_json_string_lossy(v, vlen))) {
				free(buf);
				json_decref(obj);
				return NULL;
			}
		}
		p = *end ? end + 1 : end;
	}
	free(buf);
	return obj;
}
