/*
 * script.c - translation of Postman test scripts (pm.* JavaScript) into the plan's
 * declarative steps, with a small hand-written tokenizer and parser.
 *
 * Constraint: scripts are untrusted and we never evaluate JavaScript. Only the
 * common, exactly-understood patterns are translated (docs/api-testing.md lists
 * them); every other statement becomes a "skip" step carrying its line number and
 * the reason, and a pm.test block containing one is reported skipped as a whole
 * rather than passed or failed - a guess would be worse than no answer. Inputs are
 * bounded (MT_MAX_SCRIPT bytes, MT_MAX_TOKENS tokens, MT_MAX_DEPTH nesting).
 */
#include "tester_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_EOF, T_IDENT, T_STR, T_NUM, T_REGEX, T_PUNCT, T_TEMPLATE } ttype;

typedef struct tok {
	ttype type;
	int line, end_line;
	size_t off;
	char *s;         /* identifier, decoded string, regex pattern, punctuation */
	char *flags;     /* regex flags */
	json_t *num;     /* number value */
	int match;       /* index of the matching bracket, -1 */
} tok;

typedef struct parser {
	const char *src;
	size_t srclen;
	tok *t;
	int n, i;
	const char *kind, *source;
	char why[200];   /* reason of the last untranslatable construct */
	int why_line;
} parser;

/* ------------------------------------------------------------------ tokenizer */

static void
put_utf8(mt_buf *b, unsigned long cp)
{
	char u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		mt_buf_add(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		mt_buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		mt_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		mt_buf_add(b, u, 4);
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reads n hex digits at s; -1 when malformed. */
static long
hexn(const char *s, const char *end, int n)
{
	long v = 0;

	if (end - s < n)
		return -1;
	for (int k = 0; k < n; k++) {
		int h = hexval((unsigned char)s[k]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Decodes a quoted string starting at *pp (the quote); advances past the closing
 * quote. Returns malloc'd text or NULL (unterminated, newline inside, bad escape). */
static char *
read_string(const char **pp, const char *end, int *line, bool *template_subst)
{
	const char *p = *pp;
	char q = *p++;
	mt_buf b = {0};

	while (p < end && *p != q) {
		if (*p == '\n') {
			if (q != '`')
				goto bad;
			(*line)++;
		}
		if (q == '`' && *p == '$' && p + 1 < end && p[1] == '{')
			*template_subst = true;
		if (*p == '\\') {
			long cp;

			if (++p >= end)
				goto bad;
			switch (*p) {
			case 'n': mt_buf_add(&b, "\n", 1); p++; break;
			case 't': mt_buf_add(&b, "\t", 1); p++; break;
			case 'r': mt_buf_add(&b, "\r", 1); p++; break;
			case 'b': mt_buf_add(&b, "\b", 1); p++; break;
			case 'f': mt_buf_add(&b, "\f", 1); p++; break;
			case 'v': mt_buf_add(&b, "\v", 1); p++; break;
			case '0': mt_buf_add(&b, "", 1); p++; break;
			case '\n': (*line)++; p++; break;
			case 'x':
				if ((cp = hexn(p + 1, end, 2)) < 0)
					goto bad;
				put_utf8(&b, (unsigned long)cp);
				p += 3;
				break;
			case 'u':
				if ((cp = hexn(p + 1, end, 4)) < 0)
					goto bad;
				p += 5;
				if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
					long lo = hexn(p + 2, end, 4);

					if (lo >= 0xDC00 && lo < 0xE000) {
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
						p += 6;
					}
				}
				put_utf8(&b, (unsigned long)cp);
				break;
			default:
				mt_buf_add(&b, p, 1);
				p++;
			}
			continue;
		}
		mt_buf_add(&b, p, 1);
		p++;
	}
	if (p >= end)
		goto bad;
	*pp = p + 1;
	return mt_buf_take(&b);
bad:
	free(mt_buf_take(&b));
	return NULL;
}

static bool
regex_allowed(const tok *prev)
{
	if (prev == NULL)
		return true;
	if (prev->type == T_PUNCT)
		return strchr("(,=:[!&|?{};", prev->s[0]) != NULL || strcmp(prev->s, "=>") == 0;
	return prev->type == T_IDENT && (strcmp(prev->s, "return") == 0 || strcmp(prev->s, "typeof") == 0);
}

static void
free_tokens(tok *t, int n)
{
	for (int k = 0; k < n; k++) {
		free(t[k].s);
		free(t[k].flags);
		json_decref(t[k].num);
	}
	free(t);
}

/* Tokenizes src. Returns the count (a T_EOF token is appended) or -1 with why set. */
static int
tokenize(parser *P)
{
	const char *p = P->src, *end = P->src + P->srclen;
	int line = 1, n = 0, cap = 64;
	int stack[MT_MAX_DEPTH * 8], sp = 0;
	tok *t = calloc((size_t)cap, sizeof(tok));

	if (t == NULL)
		return -1;
	for (;;) {
		tok k = {.match = -1};

		while (p < end) {
			if (*p == '\n') {
				line++;
				p++;
			} else if (isspace((unsigned char)*p)) {
				p++;
			} else if (p + 1 < end && p[0] == '/' && p[1] == '/') {
				while (p < end && *p != '\n')
					p++;
			} else if (p + 1 < end && p[0] == '/' && p[1] == '*') {
				p += 2;
				while (p + 1 < end && !(p[0] == '*' && p[1] == '/')) {
					if (*p == '\n')
						line++;
					p++;
				}
				if (p + 1 >= end) {
					snprintf(P->why, sizeof(P->why), "unterminated comment");
					P->why_line = line;
					goto fail;
				}
				p += 2;
			} else
				break;
		}
		if (n + 1 >= cap) {
			tok *nt;

			if (cap >= MT_MAX_TOKENS) {
				snprintf(P->why, sizeof(P->why), "script longer than %d tokens", MT_MAX_TOKENS);
				P->why_line = line;
				goto fail;
			}
			cap *= 2;
			nt = realloc(t, (size_t)cap * sizeof(tok));
			if (nt == NULL)
				goto fail;
			t = nt;
		}
		k.line = line;
		k.off = (size_t)(p - P->src);
		if (p >= end) {
			k.type = T_EOF;
			k.end_line = line;
			t[n++] = k;
			break;
		}
		if (isalpha((unsigned char)*p) || *p == '_' || *p == '$') {
			const char *s = p;

			while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '$'))
				p++;
			k.type = T_IDENT;
			k.s = strndup(s, (size_t)(p - s));
		} else if (isdigit((unsigned char)*p) || (*p == '.' && p + 1 < end && isdigit((unsigned char)p[1]))) {
			const char *s = p;
			char tmp[64];
			bool isint = true;

			if (p[0] == '0' && p + 1 < end && (p[1] == 'x' || p[1] == 'X')) {
				p += 2;
				while (p < end && isxdigit((unsigned char)*p))
					p++;
			} else {
				while (p < end && (isdigit((unsigned char)*p) || *p == '.' || *p == 'e' || *p == 'E' ||
				                   ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E')))) {
					if (!isdigit((unsigned char)*p))
						isint = false;
					p++;
				}
			}
			if ((size_t)(p - s) >= sizeof(tmp) || (p < end && (isalpha((unsigned char)*p) || *p == '_'))) {
				snprintf(P->why, sizeof(P->why), "malformed number");
				P->why_line = line;
				goto fail;
			}
			memcpy(tmp, s, (size_t)(p - s));
			tmp[p - s] = '\0';
			k.type = T_NUM;
			errno = 0;
			if (isint || (tmp[0] == '0' && (tmp[1] == 'x' || tmp[1] == 'X'))) {
				long long v = strtoll(tmp, NULL, 0);

				k.num = errno == ERANGE ? json_real(strtod(tmp, NULL)) : json_integer(v);
			} else
				k.num = json_real(strtod(tmp, NULL));
			k.s = strdup(tmp);
		} else if (*p == '"' || *p == '\'' || *p == '`') {
			bool subst = false;
			char q = *p;

			k.s = read_string(&p, end, &line, &subst);
			if (k.s == NULL) {
				snprintf(P->why, sizeof(P->why), "unterminated or malformed string literal");
				P->why_line = k.line;
				goto fail;
			}
			k.type = q == '`' && subst ? T_TEMPLATE : T_STR;
		} else if (*p == '/' && regex_allowed(n ? &t[n - 1] : NULL)) {
			const char *s = ++p;
			bool cls = false;

			while (p < end && *p != '\n' && (cls || *p != '/')) {
				if (*p == '\\' && p + 1 < end)
					p++;
				else if (*p == '[')
					cls = true;
				else if (*p == ']')
					cls = false;
				p++;
			}
			if (p >= end || *p != '/') {
				snprintf(P->why, sizeof(P->why), "unterminated regular expression");
				P->why_line = line;
				goto fail;
			}
			k.type = T_REGEX;
			k.s = strndup(s, (size_t)(p - s));
			s = ++p;
			while (p < end && isalpha((unsigned char)*p))
				p++;
			k.flags = strndup(s, (size_t)(p - s));
		} else {
			k.type = T_PUNCT;
			if (p + 1 < end && p[0] == '=' && p[1] == '>') {
				k.s = strdup("=>");
				p += 2;
			} else {
				k.s = strndup(p, 1);
				p++;
			}
			if (k.s && strchr("([{", k.s[0])) {
				if (sp >= (int)(sizeof(stack) / sizeof(stack[0]))) {
					snprintf(P->why, sizeof(P->why), "brackets nested too deeply");
					P->why_line = line;
					free(k.s);
					goto fail;
				}
				stack[sp++] = n;
			} else if (k.s && strchr(")]}", k.s[0])) {
				const char *pairs = "()[]{}";
				if (sp == 0 || t[stack[sp - 1]].s[0] != pairs[strchr(pairs, k.s[0]) - pairs - 1]) {
					snprintf(P->why, sizeof(P->why), "unbalanced '%c'", k.s[0]);
					P->why_line = line;
					free(k.s);
					goto fail;
				}
				k.match = stack[--sp];
				t[stack[sp]].match = n;
			}
		}
		k.end_line = line;
		if (k.s == NULL && k.type != T_EOF) {
			json_decref(k.num);
			goto fail;
		}
		t[n++] = k;
	}
	if (sp > 0) {
		snprintf(P->why, sizeof(P->why), "unbalanced '%s' (not closed)", t[stack[sp - 1]].s);
		P->why_line = t[stack[sp - 1]].line;
		goto fail;
	}
	P->t = t;
	P->n = n;
	return n;
fail:
	free_tokens(t, n);
	if (P->why[0] == '\0')
		snprintf(P->why, sizeof(P->why), "out of memory");
	return -1;
}

/* ------------------------------------------------------------------ helpers */

static const tok *
cur(parser *P)
{
	return &P->t[P->i];
}

static const tok *
peek(parser *P, int ahead)
{
	int k = P->i + ahead;

	return k < P->n ? &P->t[k] : &P->t[P->n - 1];
}

static bool
is_punct(const tok *k, const char *s)
{
	return k->type == T_PUNCT && strcmp(k->s, s) == 0;
}

static bool
is_ident(const tok *k, const char *s)
{
	return k->type == T_IDENT && strcmp(k->s, s) == 0;
}

static bool
accept_punct(parser *P, const char *s)
{
	if (is_punct(cur(P), s)) {
		P->i++;
		return true;
	}
	return false;
}

/* Matches ".a.b.c" style identifier sequences after the current token: "pm" "." "response"... */
static bool
accept_dotted(parser *P, const char *const *words, int nwords)
{
	int k = P->i;

	for (int w = 0; w < nwords; w++) {
		if (w > 0) {
			if (k >= P->n || !is_punct(&P->t[k], "."))
				return false;
			k++;
		}
		if (k >= P->n || !is_ident(&P->t[k], words[w]))
			return false;
		k++;
	}
	P->i = k;
	return true;
}

static bool
fail(parser *P, const char *fmt, const char *arg)
{
	if (P->why[0] == '\0') {
		snprintf(P->why, sizeof(P->why), fmt, arg ? arg : "");
		P->why_line = cur(P)->line;
	}
	return false;
}

/* The text of source line ln (1-based), trimmed, at most 200 bytes. */
static json_t *
line_text(parser *P, int ln)
{
	const char *p = P->src, *end = P->src + P->srclen, *e;
	char tmp[201];
	size_t n;

	for (int l = 1; l < ln && p < end; l++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		p = nl ? nl + 1 : end;
	}
	e = memchr(p, '\n', (size_t)(end - p));
	if (e == NULL)
		e = end;
	while (p < e && isspace((unsigned char)*p))
		p++;
	while (e > p && isspace((unsigned char)e[-1]))
		e--;
	n = (size_t)(e - p) < sizeof(tmp) - 1 ? (size_t)(e - p) : sizeof(tmp) - 1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	return json_stringn_nocheck(tmp, n);
}

static json_t *
skip_entry(parser *P, int line, const char *reason)
{
	return json_pack("{s:s, s:i, s:o, s:s, s:s}", "op", "skip", "line", line, "text", line_text(P, line), "reason",
	                 reason, "script", P->source);
}

/* Advances past the statement starting at the current token (brackets jumped
 * whole), stopping after ';', or before a token on a new line when the statement
 * could end there, or before '}' closing an enclosing block, or at end. */
static void
skip_statement(parser *P, int limit)
{
	while (P->i < limit && cur(P)->type != T_EOF) {
		const tok *k = cur(P), *nx;

		if (is_punct(k, ";")) {
			P->i++;
			return;
		}
		if (is_punct(k, "}") || is_punct(k, ")") || is_punct(k, "]"))
			return; /* closes an enclosing group: not ours */
		if (k->match >= 0 && strchr("([{", k->s[0]))
			P->i = k->match;
		k = cur(P);
		P->i++;
		nx = cur(P);
		if (P->i >= limit || nx->type == T_EOF)
			return;
		if (nx->line > k->end_line && !is_punct(nx, ".") && !is_punct(nx, "(") && !is_punct(nx, "[") &&
		    !is_punct(nx, "?") && !is_punct(nx, ":") && !is_punct(nx, "+") && !is_punct(nx, "&") &&
		    !is_punct(nx, "|") && !is_punct(nx, "=") && !is_punct(nx, ",") &&
		    (k->type != T_PUNCT || is_punct(k, ")") || is_punct(k, "]") || is_punct(k, "}")))
			return;
	}
}

/* A statement must end: ';', a line break, the end of the block or script. */
static bool
statement_end(parser *P, int prev_end_line)
{
	const tok *k = cur(P);

	if (accept_punct(P, ";"))
		return true;
	if (k->type == T_EOF || is_punct(k, "}") || k->line > prev_end_line)
		return true;
	return fail(P, "unexpected text after the statement", NULL);
}

/* ------------------------------------------------------------------ literals */

static json_t *parse_literal(parser *P, int depth);

static json_t *
parse_literal(parser *P, int depth)
{
	const tok *k = cur(P);

	if (depth > MT_MAX_DEPTH) {
		fail(P, "literal nested too deeply", NULL);
		return NULL;
	}
	if (k->type == T_STR) {
		json_t *v = json_string(k->s);

		P->i++;
		return v ? v : json_stringn_nocheck(k->s, strlen(k->s));
	}
	if (k->type == T_NUM) {
		P->i++;
		return json_copy(k->num);
	}
	if (is_punct(k, "-") && peek(P, 1)->type == T_NUM) {
		json_t *v = peek(P, 1)->num;

		P->i += 2;
		return json_is_integer(v) ? json_integer(-json_integer_value(v)) : json_real(-json_real_value(v));
	}
	if (is_ident(k, "true") || is_ident(k, "false") || is_ident(k, "null")) {
		P->i++;
		return k->s[0] == 't' ? json_true() : k->s[0] == 'f' ? json_false() : json_null();
	}
	if (is_punct(k, "[")) {
		json_t *arr = json_array();

		P->i++;
		while (!is_punct(cur(P), "]")) {
			json_t *v = parse_literal(P, depth + 1);

			if (v == NULL) {
				json_decref(arr);
				return NULL;
			}
			json_array_append_new(arr, v);
			if (!accept_punct(P, ",") && !is_punct(cur(P), "]")) {
				json_decref(arr);
				fail(P, "expected ',' or ']' in array literal", NULL);
				return NULL;
			}
		}
		P->i++;
		return arr;
	}
	if (is_punct(k, "{")) {
		json_t *obj = json_object();

		P->i++;
		while (!is_punct(cur(P), "}")) {
			const tok *key = cur(P);
			json_t *v;

			if (key->type != T_STR && key->type != T_IDENT && key->type != T_NUM) {
				json_decref(obj);
				fail(P, "expected a property name in object literal", NULL);
				return NULL;
			}
			P->i++;
			if (!accept_punct(P, ":")) {
				json_decref(obj);
				fail(P, "expected ':' in object literal (shorthand properties are not translated)", NULL);
				return NULL;
			}
			v = parse_literal(P, depth + 1);
			if (v == NULL) {
				json_decref(obj);
				return NULL;
			}
			json_object_set_new(obj, key->s, v);
			if (!accept_punct(P, ",") && !is_punct(cur(P), "}")) {
				json_decref(obj);
				fail(P, "expected ',' or '}' in object literal", NULL);
				return NULL;
			}
		}
		P->i++;
		return obj;
	}
	if (k->type == T_IDENT)
		fail(P, "'%s' is not a literal value", k->s);
	else
		fail(P, "expected a literal value", NULL);
	return NULL;
}

/* ------------------------------------------------------------------ subjects */

/* Parses accessors (.name, [0], ["k"]) onto path. */
static bool
parse_accessors(parser *P, json_t *path)
{
	for (;;) {
		if (is_punct(cur(P), ".") && peek(P, 1)->type == T_IDENT) {
			const char *name = peek(P, 1)->s;

			/* ".to"/".not"... after a subject begins the chai chain, not a property */
			if (is_punct(peek(P, 2), "(")) /* a method call on the value: not translated */
				return fail(P, "method call '.%s()' on a value is not translated", name);
			P->i += 2;
			json_array_append_new(path, json_string(name));
		} else if (is_punct(cur(P), "[")) {
			const tok *k = peek(P, 1);

			if (!is_punct(peek(P, 2), "]") || (k->type != T_STR && k->type != T_NUM))
				return fail(P, "computed property access is not translated", NULL);
			if (k->type == T_NUM && (!json_is_integer(k->num) || json_integer_value(k->num) < 0))
				return fail(P, "array index must be a non-negative integer", NULL);
			json_array_append_new(path, k->type == T_STR ? json_string(k->s) : json_copy(k->num));
			P->i += 3;
		} else
			return true;
		if (json_array_size(path) > MT_MAX_DEPTH)
			return fail(P, "property path too long", NULL);
	}
}

static const char *const SCOPES[] = {"environment", "collectionVariables", "globals", "variables"};

/* Parses a value expression. locals: names bound by var/let/const in scope. */
static json_t *
parse_subject(parser *P, const json_t *locals)
{
	const tok *k = cur(P);
	json_t *path;

	if (accept_dotted(P, (const char *[]){"pm", "response", "code"}, 3) ||
	    accept_dotted(P, (const char *[]){"responseCode", "code"}, 2))
		return json_pack("{s:s}", "k", "status");
	if (accept_dotted(P, (const char *[]){"pm", "response", "responseTime"}, 3))
		return json_pack("{s:s}", "k", "time");
	if (accept_dotted(P, (const char *[]){"pm", "response", "text"}, 3)) {
		if (!accept_punct(P, "(") || !accept_punct(P, ")")) {
			fail(P, "expected pm.response.text()", NULL);
			return NULL;
		}
		if (is_punct(cur(P), ".") && !is_ident(peek(P, 1), "to") && !is_ident(peek(P, 1), "not")) {
			fail(P, "string methods are not translated", NULL);
			return NULL;
		}
		return json_pack("{s:s}", "k", "text");
	}
	if (accept_dotted(P, (const char *[]){"pm", "response", "json"}, 3)) {
		if (!accept_punct(P, "(") || !accept_punct(P, ")")) {
			fail(P, "expected pm.response.json()", NULL);
			return NULL;
		}
		path = json_array();
		if (!parse_accessors(P, path)) {
			json_decref(path);
			return NULL;
		}
		return json_pack("{s:s, s:o}", "k", "json", "path", path);
	}
	if (accept_dotted(P, (const char *[]){"pm", "response", "headers", "get"}, 4)) {
		const tok *name;

		if (!accept_punct(P, "(") || (name = cur(P))->type != T_STR || !is_punct(peek(P, 1), ")")) {
			fail(P, "expected pm.response.headers.get(\"Name\")", NULL);
			return NULL;
		}
		P->i += 2;
		return json_pack("{s:s, s:s}", "k", "header", "name", name->s);
	}
	if (accept_dotted(P, (const char *[]){"pm", "response"}, 2)) {
		if (is_punct(cur(P), ".") && (is_ident(peek(P, 1), "to") || is_ident(peek(P, 1), "not")))
			return json_pack("{s:s}", "k", "response");
		fail(P, "this use of pm.response is not translated", NULL);
		return NULL;
	}
	for (size_t s = 0; s < sizeof(SCOPES) / sizeof(SCOPES[0]); s++) {
		const tok *name;

		if (!accept_dotted(P, (const char *[]){"pm", SCOPES[s], "get"}, 3))
			continue;
		if (!accept_punct(P, "(") || (name = cur(P))->type != T_STR || !is_punct(peek(P, 1), ")")) {
			fail(P, "expected pm.%s.get(\"name\") with a literal name", SCOPES[s]);
			return NULL;
		}
		P->i += 2;
		return json_pack("{s:s, s:s}", "k", "getvar", "name", name->s);
	}
	if (k->type == T_IDENT && json_object_get(locals, k->s) != NULL) {
		/* a name bound earlier by var/let/const: its value was evaluated once, at the binding */
		P->i++;
		path = json_array();
		if (!parse_accessors(P, path)) {
			json_decref(path);
			return NULL;
		}
		return json_pack("{s:s, s:s, s:o}", "k", "local", "name", k->s, "path", path);
	}
	if (k->type == T_STR || k->type == T_NUM || is_punct(k, "[") || is_punct(k, "{") || is_punct(k, "-") ||
	    is_ident(k, "true") || is_ident(k, "false") || is_ident(k, "null")) {
		json_t *v = parse_literal(P, 0);

		return v ? json_pack("{s:s, s:o}", "k", "lit", "v", v) : NULL;
	}
	if (k->type == T_IDENT && strcmp(k->s, "pm") != 0)
		fail(P, "'%s' is not a value the translator knows (bind it with pm.response.json() first)", k->s);
	else
		fail(P, "expression not translated", NULL);
	return NULL;
}

/* ------------------------------------------------------------------ chai chains */

static const char *const LANG_CHAINS[] = {"to", "be", "been", "is", "that", "which", "and", "has", "have",
                                          "with", "at", "of", "same", "does", "still", "also"};

static bool
is_lang_chain(const char *w)
{
	for (size_t k = 0; k < sizeof(LANG_CHAINS) / sizeof(LANG_CHAINS[0]); k++)
		if (strcmp(w, LANG_CHAINS[k]) == 0)
			return true;
	return false;
}

/* Response-class properties of Postman's chai plugin: name -> status range. */
static const struct {
	const char *name;
	int lo, hi;
} RESP_PROPS[] = {
	{"ok", 200, 200},          {"accepted", 202, 202},     {"badRequest", 400, 400}, {"unauthorized", 401, 401},
	{"forbidden", 403, 403},   {"notFound", 404, 404},     {"rateLimited", 429, 429}, {"success", 200, 299},
	{"info", 100, 199},        {"redirection", 300, 399},  {"clientError", 400, 499}, {"serverError", 500, 599},
	{"error", 400, 599},
};

/* Parses the arguments "(lit, lit...)" of a terminal method into an array. */
static json_t *
parse_args(parser *P, int min, int max, const char *name)
{
	json_t *args = json_array();

	if (!accept_punct(P, "(")) {
		json_decref(args);
		fail(P, "expected '(' after .%s", name);
		return NULL;
	}
	while (!is_punct(cur(P), ")")) {
		json_t *v;

		if (cur(P)->type == T_REGEX) {
			v = json_pack("{s:s, s:s}", "regex", cur(P)->s, "flags", cur(P)->flags);
			P->i++;
		} else if ((v = parse_literal(P, 0)) == NULL) {
			json_decref(args);
			return NULL;
		}
		json_array_append_new(args, v);
		if (!accept_punct(P, ",") && !is_punct(cur(P), ")")) {
			json_decref(args);
			fail(P, "expected ',' or ')' in the arguments of .%s", name);
			return NULL;
		}
	}
	P->i++;
	if ((int)json_array_size(args) < min || (int)json_array_size(args) > max) {
		json_decref(args);
		fail(P, "wrong number of arguments to .%s", name);
		return NULL;
	}
	return args;
}

static json_t *
expect_step(const json_t *subject, bool neg, bool deep, const char *check, json_t *args, int line)
{
	return json_pack("{s:s, s:O, s:b, s:b, s:s, s:o, s:i}", "op", "expect", "subject", subject, "not", neg, "deep",
	                 deep, "check", check, "args", args ? args : json_array(), "line", line);
}

/* Parses the chai chain after a subject; appends one expect step per assertion. */
static bool
parse_chain(parser *P, const json_t *subject, json_t *steps)
{
	bool neg = false, deep = false, any = false;
	bool is_resp = strcmp(json_string_value(json_object_get(subject, "k")), "response") == 0;

	while (is_punct(cur(P), ".")) {
		const tok *w = peek(P, 1);
		const char *n, *check = NULL;
		int line = w->line, amin = 1, amax = 1;
		bool call;
		json_t *args = NULL;

		if (w->type != T_IDENT)
			return fail(P, "expected a name after '.'", NULL);
		n = w->s;
		P->i += 2;
		call = is_punct(cur(P), "(");
		if (!call && is_lang_chain(n))
			continue;
		if (!call && strcmp(n, "not") == 0) {
			neg = !neg;
			continue;
		}
		if (!call && strcmp(n, "deep") == 0) {
			deep = true;
			continue;
		}
		if (is_resp) {
			if (!call) {
				for (size_t r = 0; r < sizeof(RESP_PROPS) / sizeof(RESP_PROPS[0]); r++)
					if (strcmp(n, RESP_PROPS[r].name) == 0) {
						json_array_append_new(steps,
						                      expect_step(subject, neg, false, "statusRange",
						                                  json_pack("[i,i]", RESP_PROPS[r].lo, RESP_PROPS[r].hi),
						                                  line));
						check = "";
						break;
					}
				if (check == NULL)
					return fail(P, "pm.response assertion '.%s' is not translated", n);
				any = true;
				continue;
			}
			if (strcmp(n, "status") == 0) {
				if ((args = parse_args(P, 1, 1, n)) == NULL)
					return false;
				if (!json_is_integer(json_array_get(args, 0))) {
					json_decref(args);
					return fail(P, "only numeric .status(N) is translated", NULL);
				}
				check = "status";
			} else if (strcmp(n, "header") == 0) {
				if ((args = parse_args(P, 1, 2, n)) == NULL)
					return false;
				if (!json_is_string(json_array_get(args, 0)) ||
				    (json_array_size(args) == 2 && !json_is_string(json_array_get(args, 1)))) {
					json_decref(args);
					return fail(P, ".header() takes string arguments", NULL);
				}
				check = "header";
			} else
				return fail(P, "pm.response assertion '.%s()' is not translated", n);
			json_array_append_new(steps, expect_step(subject, neg, false, check, args, line));
			any = true;
			continue;
		}
		if (!call) {
			if (strcmp(n, "ok") == 0 || strcmp(n, "true") == 0 || strcmp(n, "false") == 0 ||
			    strcmp(n, "null") == 0 || strcmp(n, "undefined") == 0 || strcmp(n, "exist") == 0 ||
			    strcmp(n, "empty") == 0 || strcmp(n, "NaN") == 0)
				check = n;
			else
				return fail(P, "chai property '.%s' is not translated", n);
			json_array_append_new(steps, expect_step(subject, neg, deep, check, NULL, line));
			any = true;
			continue;
		}
		if (!strcmp(n, "eql") || !strcmp(n, "eqls"))
			check = "eql";
		else if (!strcmp(n, "equal") || !strcmp(n, "equals") || !strcmp(n, "eq"))
			check = deep ? "eql" : "equal";
		else if (!strcmp(n, "include") || !strcmp(n, "includes") || !strcmp(n, "contain") ||
		         !strcmp(n, "contains"))
			check = "include";
		else if (!strcmp(n, "property")) {
			check = "property";
			amax = 2;
		} else if (!strcmp(n, "a") || !strcmp(n, "an"))
			check = "type";
		else if (!strcmp(n, "match") || !strcmp(n, "matches"))
			check = "match";
		else if (!strcmp(n, "above") || !strcmp(n, "gt") || !strcmp(n, "greaterThan"))
			check = "above";
		else if (!strcmp(n, "below") || !strcmp(n, "lt") || !strcmp(n, "lessThan"))
			check = "below";
		else if (!strcmp(n, "least") || !strcmp(n, "gte"))
			check = "least";
		else if (!strcmp(n, "most") || !strcmp(n, "lte"))
			check = "most";
		else if (!strcmp(n, "lengthOf"))
			check = "lengthOf";
		else if (!strcmp(n, "oneOf"))
			check = "oneOf";
		else
			return fail(P, "chai assertion '.%s()' is not translated", n);
		if ((args = parse_args(P, amin, amax, n)) == NULL)
			return false;
		{
			const json_t *a0 = json_array_get(args, 0);
			bool isre = json_is_object(a0) && json_object_get(a0, "regex") && json_object_size(a0) == 2;
			const char *bad = NULL;

			if (strcmp(check, "match") == 0) {
				const char *fl = isre ? json_string_value(json_object_get(a0, "flags")) : "";
				if (!isre)
					bad = ".match() needs a regular expression literal";
				else if (strspn(fl, "gimsu") != strlen(fl))
					bad = "regular expression flags other than g, i, m, s, u are not translated";
			} else if (isre)
				bad = "a regular expression argument is only translated in .match()";
			else if (strcmp(check, "type") == 0 && !json_is_string(a0))
				bad = ".a()/.an() takes a type name string";
			else if (strcmp(check, "property") == 0 && !json_is_string(a0))
				bad = ".property() takes a property name string";
			else if ((strcmp(check, "above") == 0 || strcmp(check, "below") == 0 || strcmp(check, "least") == 0 ||
			          strcmp(check, "most") == 0 || strcmp(check, "lengthOf") == 0) &&
			         !json_is_number(a0))
				bad = "a numeric argument is required";
			else if (strcmp(check, "oneOf") == 0 && !json_is_array(a0))
				bad = ".oneOf() takes an array";
			else if (strcmp(check, "include") == 0 && deep)
				bad = ".deep.include() is not translated";
			if (bad != NULL) {
				json_decref(args);
				return fail(P, "%s", bad);
			}
		}
		json_array_append_new(steps, expect_step(subject, neg, deep, check, args, line));
		any = true;
	}
	if (!any)
		return fail(P, "the expectation asserts nothing the translator knows", NULL);
	return true;
}

/* ------------------------------------------------------------------ statements */

/* "pm.<scope>.set(STR, value)" / ".unset(STR)"; true when it parsed one. */
static bool
parse_set(parser *P, json_t *locals, json_t *steps, bool literal_only)
{
	for (size_t s = 0; s < sizeof(SCOPES) / sizeof(SCOPES[0]); s++) {
		const tok *name;
		json_t *val;
		int save = P->i, end_line;

		if (accept_dotted(P, (const char *[]){"pm", SCOPES[s], "unset"}, 3)) {
			if (!accept_punct(P, "(") || (name = cur(P))->type != T_STR || !is_punct(peek(P, 1), ")"))
				return fail(P, "expected pm.%s.unset(\"name\")", SCOPES[s]);
			P->i += 2;
			json_array_append_new(steps, json_pack("{s:s, s:s, s:s}", "op", "unset", "var", name->s, "scope",
			                                       SCOPES[s]));
			return statement_end(P, P->t[P->i - 1].end_line);
		}
		if (!accept_dotted(P, (const char *[]){"pm", SCOPES[s], "set"}, 3)) {
			P->i = save;
			continue;
		}
		if (!accept_punct(P, "(") || (name = cur(P))->type != T_STR || !is_punct(peek(P, 1), ","))
			return fail(P, "expected pm.%s.set(\"name\", value) with a literal name", SCOPES[s]);
		P->i += 2;
		if (literal_only) {
			json_t *v = parse_literal(P, 0);

			if (v == NULL)
				return fail(P, "pre-request pm.%s.set() is translated with literal values only", SCOPES[s]);
			val = json_pack("{s:s, s:o}", "k", "lit", "v", v);
		} else if ((val = parse_subject(P, locals)) == NULL)
			return false;
		if (!accept_punct(P, ")")) {
			json_decref(val);
			return fail(P, "expected ')' closing pm.%s.set(", SCOPES[s]);
		}
		end_line = P->t[P->i - 1].end_line;
		json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:o}", "op", "set", "var", name->s, "scope",
		                                       SCOPES[s], "value", val));
		return statement_end(P, end_line);
	}
	return fail(P, "statement not translated", NULL);
}

static bool parse_statement(parser *P, json_t *locals, json_t *steps, bool in_test);

/* pm.test("name", function () { ... }) at the current token (after "pm.test"). */
static json_t *
parse_test(parser *P, json_t *locals, bool skip_fn)
{
	const tok *name;
	int body_open, body_close, start_line = P->t[P->i].line;
	json_t *steps, *inner_locals, *res;
	char tname[256];

	if (!accept_punct(P, "(") || (name = cur(P))->type != T_STR || !is_punct(peek(P, 1), ",")) {
		fail(P, "pm.test() needs a literal name and a function", NULL);
		return NULL;
	}
	snprintf(tname, sizeof(tname), "%s", name->s);
	P->i += 2;
	if (is_ident(cur(P), "function")) {
		P->i++;
		if (cur(P)->type == T_IDENT)
			P->i++;
		if (!accept_punct(P, "(") || !accept_punct(P, ")")) {
			fail(P, "test functions with parameters (done callbacks) are not translated", NULL);
			return NULL;
		}
	} else if (accept_punct(P, "(")) {
		if (!accept_punct(P, ")") || !accept_punct(P, "=>")) {
			fail(P, "test functions with parameters (done callbacks) are not translated", NULL);
			return NULL;
		}
	} else {
		fail(P, "the second argument of pm.test() must be a function literal", NULL);
		return NULL;
	}
	if (!is_punct(cur(P), "{")) {
		fail(P, "expected '{' opening the test function", NULL);
		return NULL;
	}
	body_open = P->i;
	body_close = cur(P)->match;
	if (!is_punct(&P->t[body_close + 1], ")")) {
		fail(P, "expected ')' closing pm.test(", NULL);
		return NULL;
	}
	if (skip_fn) {
		P->i = body_close + 2;
		accept_punct(P, ";");
		return json_pack("{s:s, s:s, s:{s:i, s:o, s:s, s:s}}", "op", "test", "name", tname, "skipped", "line",
		                 start_line, "text", line_text(P, start_line), "reason", "pm.test.skip", "script", P->source);
	}
	P->i = body_open + 1;
	steps = json_array();
	inner_locals = json_deep_copy(locals);
	P->why[0] = '\0';
	while (P->i < body_close) {
		if (!parse_statement(P, inner_locals, steps, true)) {
			int wl = P->why_line ? P->why_line : cur(P)->line;

			res = json_pack("{s:s, s:s, s:{s:i, s:o, s:s, s:s}}", "op", "test", "name", tname, "skipped", "line", wl,
			                "text", line_text(P, wl), "reason", P->why, "script", P->source);
			json_decref(steps);
			json_decref(inner_locals);
			P->i = body_close + 2;
			P->why[0] = '\0';
			P->why_line = 0;
			accept_punct(P, ";");
			return res;
		}
	}
	json_decref(inner_locals);
	P->i = body_close + 2;
	accept_punct(P, ";");
	return json_pack("{s:s, s:s, s:o, s:i}", "op", "test", "name", tname, "steps", steps, "line", start_line);
}

/* Parses one statement into steps. False with P->why when it is not translated
 * (the caller skips it). */
static bool
parse_statement(parser *P, json_t *locals, json_t *steps, bool in_test)
{
	const tok *k = cur(P);
	int save = P->i;

	if (accept_punct(P, ";"))
		return true;
	if (!in_test && strcmp(P->kind, "test") == 0 &&
	    (accept_dotted(P, (const char *[]){"pm", "test", "skip"}, 3) ||
	     accept_dotted(P, (const char *[]){"pm", "test"}, 2))) {
		bool skip_fn = is_ident(&P->t[P->i - 1], "skip");
		json_t *t = parse_test(P, locals, skip_fn);

		if (t == NULL)
			return false;
		json_array_append_new(steps, t);
		return true;
	}
	if ((is_ident(k, "var") || is_ident(k, "let") || is_ident(k, "const")) && strcmp(P->kind, "test") == 0) {
		const tok *name = peek(P, 1);
		json_t *e;
		int end_line;

		if (name->type != T_IDENT || !is_punct(peek(P, 2), "="))
			return fail(P, "only 'var name = <value>' declarations are translated", NULL);
		P->i += 3;
		if ((e = parse_subject(P, locals)) == NULL)
			return false;
		end_line = P->t[P->i - 1].end_line;
		if (!statement_end(P, end_line)) {
			json_decref(e);
			return false;
		}
		json_object_set_new(locals, name->s, json_true());
		json_array_append_new(steps, json_pack("{s:s, s:s, s:o, s:i}", "op", "bind", "name", name->s, "value", e,
		                                       "line", name->line));
		return true;
	}
	if (accept_dotted(P, (const char *[]){"pm", "expect"}, 2) && strcmp(P->kind, "test") == 0) {
		json_t *subj;
		int end_line;

		if (!accept_punct(P, "("))
			return fail(P, "expected pm.expect(", NULL);
		if ((subj = parse_subject(P, locals)) == NULL)
			return false;
		if (!accept_punct(P, ")")) {
			json_decref(subj);
			return fail(P, "pm.expect() takes one value the translator knows", NULL);
		}
		if (!parse_chain(P, subj, steps)) {
			json_decref(subj);
			return false;
		}
		json_decref(subj);
		end_line = P->t[P->i - 1].end_line;
		return statement_end(P, end_line);
	}
	P->i = save;
	if (is_ident(k, "pm") && is_punct(peek(P, 1), ".") && is_ident(peek(P, 2), "response") &&
	    is_punct(peek(P, 3), ".") && (is_ident(peek(P, 4), "to") || is_ident(peek(P, 4), "not")) &&
	    strcmp(P->kind, "test") == 0) {
		json_t *subj = json_pack("{s:s}", "k", "response");
		bool ok;

		P->i += 3;
		ok = parse_chain(P, subj, steps);
		json_decref(subj);
		return ok && statement_end(P, P->t[P->i - 1].end_line);
	}
	if (is_ident(k, "pm"))
		return parse_set(P, locals, steps, strcmp(P->kind, "prerequest") == 0);
	if (k->type == T_IDENT)
		return fail(P, "statement starting with '%s' is not translated", k->s);
	return fail(P, "statement not translated", NULL);
}

json_t *
mt_translate_script(const char *src, const char *kind, const char *source)
{
	parser P = {.src = src ? src : "", .kind = kind, .source = source ? source : kind};
	json_t *steps = json_array(), *locals = json_object();

	P.srclen = strlen(P.src);
	if (P.srclen > MT_MAX_SCRIPT) {
		json_array_append_new(steps, json_pack("{s:s, s:i, s:s, s:s, s:s}", "op", "skip", "line", 1, "text", "",
		                                       "reason", "script longer than 256 KiB is not translated", "script",
		                                       P.source));
		json_decref(locals);
		return steps;
	}
	if (tokenize(&P) < 0) {
		/* a script that does not tokenize would not run in Postman either: nothing of it counts */
		json_array_append_new(steps, json_pack("{s:s, s:i, s:o, s:s, s:s}", "op", "skip", "line",
		                                       P.why_line ? P.why_line : 1, "text",
		                                       line_text(&P, P.why_line ? P.why_line : 1), "reason", P.why,
		                                       "script", P.source));
		json_decref(locals);
		return steps;
	}
	while (cur(&P)->type != T_EOF) {
		int start = P.i, line = cur(&P)->line;

		P.why[0] = '\0';
		P.why_line = 0;
		if (!parse_statement(&P, locals, steps, false)) {
			P.i = start;
			skip_statement(&P, P.n);
			if (P.i == start) /* a stray closer: step over it */
				P.i++;
			json_array_append_new(steps, skip_entry(&P, line, P.why[0] ? P.why : "statement not translated"));
		}
	}
	free_tokens(P.t, P.n);
	json_decref(locals);
	return steps;
}
