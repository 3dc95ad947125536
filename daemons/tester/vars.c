/*
 * vars.c - {{variable}} substitution as Postman does it, plus the small text
 * helpers the engine shares (growable buffer, JavaScript's String() of a JSON
 * value, base64).
 *
 * Constraint: a variable captured by a script holds a JavaScript value; when it
 * lands in a URL or header Postman prints it with String(), so numbers must come
 * out as JavaScript prints them (5, not 5.0; 0.1, not 0.10000000000000001).
 * Values may refer to other variables; resolution is repeated a bounded number
 * of times so a self-referencing variable cannot loop.
 */
#include "tester_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>

#define SUBST_PASSES 5

void
mt_buf_add(mt_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
mt_buf_puts(mt_buf *b, const char *s)
{
	mt_buf_add(b, s, strlen(s));
}

void
mt_buf_printf(mt_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		mt_buf_add(b, tmp, (size_t)n);
		return;
	}
	{
		char *big = malloc((size_t)n + 1);

		if (big == NULL) {
			b->oom = true;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		mt_buf_add(b, big, (size_t)n);
		free(big);
	}
}

char *
mt_buf_take(mt_buf *b)
{
	char *p;

	if (b->oom) {
		free(b->p);
		b->p = NULL;
		b->len = b->cap = 0;
		return NULL;
	}
	if (b->p == NULL)
		return strdup("");
	p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

/* Shortest "%.*g" form of d that reads back as d (what JavaScript prints). */
static void
js_number(mt_buf *b, double d)
{
	char tmp[64];

	if (isnan(d)) {
		mt_buf_puts(b, "NaN");
		return;
	}
	if (isinf(d)) {
		mt_buf_puts(b, d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	if (d == floor(d) && fabs(d) < 1e21) {
		snprintf(tmp, sizeof(tmp), "%.0f", d);
		mt_buf_puts(b, strcmp(tmp, "-0") == 0 ? "0" : tmp);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	mt_buf_puts(b, tmp);
}

void
mt_js_string(mt_buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		mt_buf_add(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		mt_buf_printf(b, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		js_number(b, json_real_value(v));
		break;
	case JSON_TRUE:
		mt_buf_puts(b, "true");
		break;
	case JSON_FALSE:
		mt_buf_puts(b, "false");
		break;
	case JSON_NULL:
		mt_buf_puts(b, "null");
		break;
	default: {
		/* Postman would print "[object Object]"; JSON is the useful reading (documented) */
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		if (s != NULL) {
			mt_buf_puts(b, s);
			free(s);
		} else
			b->oom = true;
	}
	}
}

static void
dynamic_guid(mt_buf *b)
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)rand();
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	mt_buf_printf(b, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
	              r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* Appends the value of the dynamic variable name ("$guid"...); false if unknown. */
static bool
dynamic_var(mt_buf *b, const char *name, size_t n)
{
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(name, lit, n) == 0)
	if (IS("$guid") || IS("$randomUUID")) {
		dynamic_guid(b);
		return true;
	}
	if (IS("$timestamp")) {
		mt_buf_printf(b, "%lld", (long long)time(NULL));
		return true;
	}
	if (IS("$isoTimestamp")) {
		struct timespec ts;
		struct tm tm;
		char tmp[40];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
		mt_buf_printf(b, "%s.%03ldZ", tmp, ts.tv_nsec / 1000000);
		return true;
	}
	if (IS("$randomInt")) {
		unsigned int r;

		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			r = (unsigned int)rand();
		mt_buf_printf(b, "%u", r % 1001); /* Postman: 0..1000 */
		return true;
	}
#undef IS
	return false;
}

/* One substitution pass; *changed set when a known name was replaced. */
static char *
subst_pass(const char *s, const json_t *vars, bool *changed)
{
	mt_buf b = {0};
	const char *p = s;

	while (*p) {
		const char *open = strstr(p, "{{"), *close;

		if (open == NULL)
			break;
		close = strstr(open + 2, "}}");
		if (close == NULL)
			break;
		mt_buf_add(&b, p, (size_t)(open - p));
		{
			const char *name = open + 2;
			size_t n = (size_t)(close - name);
			char key[256];
			const json_t *v = NULL;

			/* a name with braces inside ("{{a{{b}}") is not one: keep the text, look again after "{{" */
			if (memchr(name, '{', n) != NULL) {
				mt_buf_add(&b, open, 2);
				p = open + 2;
				continue;
			}
			if (n < sizeof(key)) {
				memcpy(key, name, n);
				key[n] = '\0';
				v = json_object_get(vars, key);
			}
			if (v != NULL) {
				mt_js_string(&b, v);
				*changed = true;
			} else if (n > 0 && name[0] == '$' && dynamic_var(&b, name, n)) {
				*changed = true;
			} else {
				mt_buf_add(&b, open, (size_t)(close + 2 - open));
			}
			p = close + 2;
		}
	}
	mt_buf_puts(&b, p);
	return mt_buf_take(&b);
}

char *
mt_substitute(const char *tmpl, const json_t *vars)
{
	char *cur = strdup(tmpl ? tmpl : "");

	for (int pass = 0; cur != NULL && pass < SUBST_PASSES && strstr(cur, "{{") != NULL; pass++) {
		bool changed = false;
		char *next = subst_pass(cur, vars, &changed);

		free(cur);
		cur = next;
		if (!changed)
			break;
	}
	return cur;
}

char *
mt_base64(const unsigned char *s, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
		             (i + 2 < n ? s[i + 2] : 0);

		*o++ = tbl[v >> 18 & 63];
		*o++ = tbl[v >> 12 & 63];
		*o++ = i + 1 < n ? tbl[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tbl[v & 63] : '=';
	}
	*o = '\0';
	return out;
}
