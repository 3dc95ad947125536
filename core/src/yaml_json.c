/*
 * yaml_json.c - YAML 1.2 (and JSON) text into jansson values through libyaml's
 * event API, with the defences an untrusted upload needs.
 *
 * libyaml only tokenises: it resolves no types, validates no aliases and
 * bounds no depth, so this builder does all of it: YAML 1.2 core-schema scalar
 * resolution, anchors shared by reference under an expansion budget (the
 * "billion laughs" document is refused, not expanded), duplicate keys refused
 * with their position, merge keys, a nesting limit and exact big integers.
 * Every error names the 1-based line and column and the JSON pointer of the
 * node being built.
 */
#include "mockarty/import.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct frame {
	json_t *node;   /* object or array being filled */
	char *anchor;   /* its anchor name, registered at the end event */
	json_t *key;    /* mapping: pending key (string), NULL when expecting a key */
	json_t *merged; /* mapping: keys that came from << and may be overridden */
	size_t count;   /* nodes in the subtree so far (for the alias budget) */
	size_t kline, kcol;
} frame;

typedef struct anchor_ent {
	json_t *node;
	size_t count;
} anchor_ent;

typedef struct builder {
	frame stack[MC_YAML_MAX_DEPTH + 1];
	int depth;
	json_t *anchors; /* name -> integer index into ents */
	anchor_ent *ents;
	size_t nents, cap;
	size_t expanded, budget;
	json_t *root;
	json_t *warnings;
	mc_error *err;
	bool failed;
} builder;

/* Writes the JSON pointer of the node under construction into buf. */
static void
pointer_of(const builder *b, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < b->depth && len + 2 < size; i++) {
		const frame *f = &b->stack[i];
		char seg[96];

		if (json_is_array(f->node))
			snprintf(seg, sizeof(seg), "%zu", json_array_size(f->node));
		else if (f->key) {
			const char *k = json_string_value(f->key);
			size_t o = 0;

			for (; *k && o + 3 < sizeof(seg); k++) {
				if (*k == '~') {
					seg[o++] = '~';
					seg[o++] = '0';
				} else if (*k == '/') {
					seg[o++] = '~';
					seg[o++] = '1';
				} else
					seg[o++] = *k;
			}
			seg[o] = '\0';
		} else
			continue;
		len += (size_t)snprintf(buf + len, size - len, "/%s", seg);
		if (len >= size)
			len = size - 1;
	}
}

static void fail_at(builder *b, mc_status code, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Records the first failure: msg prefixed with the 1-based position. */
static void
fail_at(builder *b, mc_status code, size_t line, size_t col, const char *fmt, ...)
{
	char ptr[256], msg[200];
	va_list ap;

	if (b->failed)
		return;
	b->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pointer_of(b, ptr, sizeof(ptr));
	mc_error_set(b->err, code, ptr[0] ? ptr : "/", "line %zu, column %zu: %s", line + 1, col + 1, msg);
}

static void
warn_at(builder *b, size_t line, const char *msg)
{
	char ptr[256];

	if (b->warnings == NULL)
		return;
	pointer_of(b, ptr, sizeof(ptr));
	json_array_append_new(b->warnings, json_pack("{s:s, s:I, s:s}", "pointer", ptr, "line",
	                                             (json_int_t)line + 1, "message", msg));
}

/* ------------------------------------------------------------ scalars */

static bool
all_in(const char *s, size_t n, const char *set)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strchr(set, s[i]) == NULL || s[i] == '\0')
			return false;
	return true;
}

static bool
is_float_text(const char *s, size_t n)
{
	size_t i = 0, digits = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, digits++;
	}
	if (digits == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t ed = 0;

		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, ed++;
		if (ed == 0)
			return false;
	}
	return i == n;
}

static bool
eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/*
 * Resolves a scalar by the YAML 1.2 core schema (plain style) or its explicit
 * tag. Big integers stay exact as strings; a warning notes them.
 */
static json_t *
resolve_scalar(builder *b, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	char buf[80];

	if (tag && strcmp(tag, "!") != 0) {
		if (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "tag:yaml.org,2002:binary") == 0 ||
		    strcmp(tag, YAML_TIMESTAMP_TAG) == 0)
			return json_stringn(s, n);
		if (strcmp(tag, YAML_NULL_TAG) == 0)
			return json_null();
		if (strcmp(tag, YAML_BOOL_TAG) == 0 || strcmp(tag, YAML_INT_TAG) == 0 ||
		    strcmp(tag, YAML_FLOAT_TAG) == 0)
			plain = true;
		else
			warn_at(b, ev->start_mark.line, "unknown tag ignored");
	} else if (tag)
		return json_stringn(s, n); /* "!" non-specific tag: a string */
	if (!plain)
		return json_stringn(s, n);

	if (n == 0 || eq(s, n, "~") || eq(s, n, "null") || eq(s, n, "Null") || eq(s, n, "NULL"))
		return json_null();
	if (eq(s, n, "true") || eq(s, n, "True") || eq(s, n, "TRUE"))
		return json_true();
	if (eq(s, n, "false") || eq(s, n, "False") || eq(s, n, "FALSE"))
		return json_false();
	if (n < sizeof(buf)) {
		memcpy(buf, s, n);
		buf[n] = '\0';
	}
	if ((n > 2 && s[0] == '0' && s[1] == 'x' && all_in(s + 2, n - 2, "0123456789abcdefABCDEF")) ||
	    (n > 2 && s[0] == '0' && s[1] == 'o' && all_in(s + 2, n - 2, "01234567"))) {
		unsigned long long v;

		if (n >= sizeof(buf))
			return json_stringn(s, n);
		errno = 0;
		v = strtoull(buf + 2, NULL, s[1] == 'x' ? 16 : 8);
		if (errno == ERANGE || v > (unsigned long long)INT64_MAX) {
			warn_at(b, ev->start_mark.line, "integer beyond int64 kept as a string");
			return json_stringn(s, n);
		}
		return json_integer((json_int_t)v);
	}
	if ((s[0] == '-' || s[0] == '+') ? all_in(s + 1, n - 1, "0123456789") : all_in(s, n, "0123456789")) {
		long long v;

		if (n >= sizeof(buf)) {
			warn_at(b, ev->start_mark.line, "integer beyond int64 kept as a string");
			return json_stringn(s, n);
		}
		errno = 0;
		v = strtoll(buf, NULL, 10);
		if (errno == ERANGE) {
			warn_at(b, ev->start_mark.line, "integer beyond int64 kept as a string");
			return json_stringn(s, n);
		}
		return json_integer(v);
	}
	if (is_float_text(s, n) && n < sizeof(buf)) {
		double d = strtod(buf, NULL);

		if (!isfinite(d)) {
			warn_at(b, ev->start_mark.line, "number beyond double range kept as a string");
			return json_stringn(s, n);
		}
		return json_real(d);
	}
	return json_stringn(s, n);
}

/* ------------------------------------------------------------ tree building */

static void
register_anchor(builder *b, const char *name, json_t *node, size_t count)
{
	json_t *idx;

	if (name == NULL)
		return;
	idx = json_object_get(b->anchors, name);
	if (idx) {
		size_t i = (size_t)json_integer_value(idx);

		json_decref(b->ents[i].node);
		b->ents[i].node = json_incref(node);
		b->ents[i].count = count;
		return;
	}
	if (b->nents == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		anchor_ent *ne = realloc(b->ents, ncap * sizeof(*ne));

		if (ne == NULL) {
			b->failed = true;
			mc_error_set(b->err, MC_ENOMEM, "", "out of memory");
			return;
		}
		b->ents = ne;
		b->cap = ncap;
	}
	b->ents[b->nents].node = json_incref(node);
	b->ents[b->nents].count = count;
	json_object_set_new(b->anchors, name, json_integer((json_int_t)b->nents));
	b->nents++;
}

/* Text of a scalar key: strings as they are, numbers/bools/null canonical. */
static json_t *
key_of(json_t *v)
{
	char buf[64];

	if (json_is_string(v))
		return json_incref(v);
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
	else if (json_is_true(v))
		strcpy(buf, "true");
	else if (json_is_false(v))
		strcpy(buf, "false");
	else if (json_is_null(v))
		strcpy(buf, "null");
	else
		return NULL;
	return json_string(buf);
}

/* Copies the keys of src absent from obj into obj, marking them merged. */
static void
merge_into(frame *f, json_t *src)
{
	const char *k;
	json_t *v;

	json_object_foreach (src, k, v) {
		if (json_object_get(f->node, k) == NULL) {
			json_object_set(f->node, k, v);
			json_object_set_new(f->merged, k, json_true());
		}
	}
}

/*
 * Adds value (stolen) with subtree size count to the current container, or
 * makes it the root. A mapping takes keys and values in turn.
 */
static void
add_value(builder *b, json_t *value, size_t count, bool plain_merge, size_t line, size_t col)
{
	frame *f;

	if (value == NULL) {
		fail_at(b, MC_ENOMEM, line, col, "out of memory");
		return;
	}
	if (b->depth == 0) {
		if (b->root == NULL)
			b->root = value;
		else
			json_decref(value);
		return;
	}
	f = &b->stack[b->depth - 1];
	f->count += count;
	if (json_is_array(f->node)) {
		json_array_append_new(f->node, value);
		return;
	}
	if (f->key == NULL) {
		json_t *k = key_of(value);

		json_decref(value);
		if (k == NULL) {
			fail_at(b, MC_EINVAL, line, col, "mapping keys must be scalars");
			return;
		}
		if (plain_merge && strcmp(json_string_value(k), "<<") == 0) {
			json_decref(k);
			f->key = json_string("\x01<<");
		} else
			f->key = k;
		f->kline = line;
		f->kcol = col;
		return;
	}
	if (strcmp(json_string_value(f->key), "\x01<<") == 0) {
		size_t i;
		json_t *e;

		if (json_is_object(value))
			merge_into(f, value);
		else if (json_is_array(value)) {
			json_array_foreach (value, i, e)
				if (json_is_object(e))
					merge_into(f, e);
				else {
					fail_at(b, MC_EINVAL, f->kline, f->kcol,
					        "merge key << needs mappings");
					break;
				}
		} else
			fail_at(b, MC_EINVAL, f->kline, f->kcol,
			        "merge key << needs a mapping or a list of mappings");
		json_decref(value);
	} else {
		const char *k = json_string_value(f->key);

		if (json_object_get(f->node, k) != NULL && json_object_get(f->merged, k) == NULL) {
			json_decref(value);
			fail_at(b, MC_EINVAL, f->kline, f->kcol, "duplicate key '%.80s'", k);
			return;
		}
		json_object_del(f->merged, k);
		json_object_set_new(f->node, k, value);
	}
	json_decref(f->key);
	f->key = NULL;
}

static void
push(builder *b, json_t *node, const yaml_char_t *anchor, const yaml_mark_t *mark)
{
	frame *f;

	if (node == NULL) {
		fail_at(b, MC_ENOMEM, mark->line, mark->column, "out of memory");
		return;
	}
	if (b->depth >= MC_YAML_MAX_DEPTH) {
		json_decref(node);
		fail_at(b, MC_ELIMIT, mark->line, mark->column, "nesting deeper than %d levels",
		        MC_YAML_MAX_DEPTH);
		return;
	}
	f = &b->stack[b->depth++];
	memset(f, 0, sizeof(*f));
	f->node = node;
	f->anchor = anchor ? strdup((const char *)anchor) : NULL;
	f->merged = json_is_object(node) ? json_object() : NULL;
	f->count = 1;
}

static void
pop(builder *b, const yaml_mark_t *mark)
{
	frame f = b->stack[--b->depth];

	json_decref(f.merged);
	if (f.key) {
		json_decref(f.key);
		fail_at(b, MC_EINVAL, mark->line, mark->column, "mapping key without a value");
	}
	register_anchor(b, f.anchor, f.node, f.count);
	free(f.anchor);
	add_value(b, f.node, f.count, false, mark->line, mark->column);
}

static void
builder_free(builder *b)
{
	while (b->depth > 0) {
		frame *f = &b->stack[--b->depth];

		json_decref(f->node);
		json_decref(f->key);
		json_decref(f->merged);
		free(f->anchor);
	}
	for (size_t i = 0; i < b->nents; i++)
		json_decref(b->ents[i].node);
	free(b->ents);
	json_decref(b->anchors);
}

static int
hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * JSON text escapes characters beyond the BMP as surrogate pairs
 * ("\ud83d\ude00"), which libyaml refuses. For a document that starts with
 * '{' or '[' (JSON: every string double-quoted), returns a copy of text with
 * each pair written as its UTF-8 bytes (*outlen set), or NULL when there is
 * none to rewrite.
 */
static char *
join_surrogates(const char *text, size_t len, size_t *outlen)
{
	size_t i = 0, o = 0;
	char *out;
	bool found = false;

	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	if (i >= len || (text[i] != '{' && text[i] != '['))
		return NULL;
	for (size_t k = i; k + 11 < len && !found; k++)
		if (text[k] == '\\' && (text[k + 1] == 'u' || text[k + 1] == 'U') &&
		    (text[k + 2] == 'd' || text[k + 2] == 'D'))
			found = true;
	if (!found || (out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len;) {
		if (text[i] == '\\' && i + 1 < len) {
			int hi = (i + 11 < len && text[i + 1] == 'u') ? hex4(text + i + 2) : -1;
			int lo = (hi >= 0xD800 && hi <= 0xDBFF && text[i + 6] == '\\' && text[i + 7] == 'u')
			             ? hex4(text + i + 8)
			             : -1;

			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				unsigned cp =
				    0x10000 + (((unsigned)hi - 0xD800) << 10) + ((unsigned)lo - 0xDC00);

				out[o++] = (char)(0xF0 | (cp >> 18));
				out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
				out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
				out[o++] = (char)(0x80 | (cp & 0x3F));
				i += 12;
				continue;
			}
			out[o++] = text[i++]; /* the backslash and the escaped character */
		}
		out[o++] = text[i++];
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

json_t *
mc_yaml_to_json(const char *text, size_t len, json_t *warnings, mc_error *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	builder *b;
	size_t events = 0;
	bool done = false;
	json_t *out;
	char *joined;
	size_t jlen = 0;

	if (err)
		memset(err, 0, sizeof(*err));
	b = calloc(1, sizeof(*b));
	if (b == NULL || !yaml_parser_initialize(&parser)) {
		free(b);
		mc_error_set(err, MC_ENOMEM, "", "out of memory");
		return NULL;
	}
	b->anchors = json_object();
	b->warnings = warnings;
	b->err = err;
	/* 2 nodes per input byte: generous for real specs, tiny for alias bombs. */
	b->budget = len * 2 < MC_YAML_MIN_ALIAS_BUDGET ? MC_YAML_MIN_ALIAS_BUDGET : len * 2;
	if (b->budget > MC_YAML_MAX_ALIAS_BUDGET)
		b->budget = MC_YAML_MAX_ALIAS_BUDGET;
	joined = join_surrogates(text, len, &jlen);
	if (joined) {
		text = joined;
		len = jlen;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

	while (!done && !b->failed) {
		if (!yaml_parser_parse(&parser, &ev)) {
			fail_at(b, MC_EINVAL, parser.problem_mark.line, parser.problem_mark.column, "%s%s%s",
			        parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
			        parser.context ? parser.context : "");
			break;
		}
		events++;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_END_EVENT:
			done = true;
			if (warnings) {
				yaml_event_t next;

				if (yaml_parser_parse(&parser, &next)) {
					if (next.type == YAML_DOCUMENT_START_EVENT)
						warn_at(b, next.start_mark.line,
						        "only the first YAML document is read");
					yaml_event_delete(&next);
				}
			}
			break;
		case YAML_SCALAR_EVENT: {
			json_t *v = resolve_scalar(b, &ev);
			bool plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

			if (v && ev.data.scalar.anchor)
				register_anchor(b, (const char *)ev.data.scalar.anchor, v, 1);
			add_value(b, v, 1, plain, ev.start_mark.line, ev.start_mark.column);
			break;
		}
		case YAML_SEQUENCE_START_EVENT:
			push(b, json_array(), ev.data.sequence_start.anchor, &ev.start_mark);
			break;
		case YAML_MAPPING_START_EVENT:
			push(b, json_object(), ev.data.mapping_start.anchor, &ev.start_mark);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			pop(b, &ev.start_mark);
			break;
		case YAML_ALIAS_EVENT: {
			const char *name = (const char *)ev.data.alias.anchor;
			json_t *idx = json_object_get(b->anchors, name);
			anchor_ent *a;

			if (idx == NULL) {
				fail_at(b, MC_EINVAL, ev.start_mark.line, ev.start_mark.column,
				        "alias *%.60s refers to an unknown or enclosing anchor", name);
				break;
			}
			a = &b->ents[json_integer_value(idx)];
			b->expanded += a->count;
			if (b->expanded > b->budget) {
				fail_at(b, MC_ELIMIT, ev.start_mark.line, ev.start_mark.column,
				        "aliases expand to more than %zu nodes (alias bomb?)", b->budget);
				break;
			}
			add_value(b, json_incref(a->node), a->count, false, ev.start_mark.line,
			          ev.start_mark.column);
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	out = b->failed ? NULL : b->root;
	if (b->failed)
		json_decref(b->root);
	else if (out == NULL)
		out = json_null();
	builder_free(b);
	free(b);
	free(joined);
	return out;
}
