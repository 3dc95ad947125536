/*
 * postman.c - compiles a Postman Collection v2.1 document, kept exactly as the
 * user exported it, into the engine's plan (docs/api-testing.md): one flat list of
 * requests in run order, each with its folder path, inherited auth resolved, URL
 * and body normalised, scripts translated (script.c) and declarative assertions
 * and captures validated.
 *
 * Constraint: the document is user input arriving over the REST API. Every shape
 * error names the field path ("item[3].item[0].request.url: expected a string or
 * an object"); nesting and counts are bounded; a request that is well formed but
 * cannot be sent as Postman would (a form-data file field, an unsupported auth or
 * body mode) does not fail the import - it carries an "error" that fails its tests
 * at run time, so one odd request does not hide the rest of the report.
 */
#include "tester_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cctx {
	json_t *requests;
	json_t *coll_tests, *coll_pre;  /* steps of the collection-level scripts */
	char *err;
	size_t errcap;
} cctx;

/* snprintf for field paths: a path cut short at the buffer size is still a useful name. */
static void __attribute__((format(printf, 3, 4)))
pjoin(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
}

static bool
cerr(cctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(c->err, c->errcap, "%s: ", path);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < c->errcap)
		vsnprintf(c->err + n, c->errcap - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

/* A string field or NULL; a present non-string is an error. */
static bool
opt_string(cctx *c, const json_t *obj, const char *key, const char *path, const char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v))
		return cerr(c, path, "%s: expected a string", key);
	*out = json_string_value(v);
	return true;
}

/* Postman values ("value": 5, true...) as text. */
static char *
value_text(const json_t *v)
{
	mt_buf b = {0};

	if (v != NULL && !json_is_null(v))
		mt_js_string(&b, v);
	return mt_buf_take(&b);
}

/* The script text of an event: exec is an array of lines or one string. */
static char *
script_text(const json_t *script)
{
	const json_t *exec = json_object_get(script, "exec");
	mt_buf b = {0};

	if (json_is_string(exec))
		return strdup(json_string_value(exec));
	if (json_is_array(exec)) {
		size_t i;
		json_t *l;

		json_array_foreach(exec, i, l) {
			if (i > 0)
				mt_buf_puts(&b, "\n");
			if (json_is_string(l))
				mt_buf_puts(&b, json_string_value(l));
		}
	}
	return mt_buf_take(&b);
}

/* Translates the events of an item/folder/collection, appending steps. */
static bool
compile_events(cctx *c, const json_t *events, const char *path, const char *label, json_t *tests, json_t *pre)
{
	size_t i;
	json_t *ev;

	if (events == NULL || json_is_null(events))
		return true;
	if (!json_is_array(events))
		return cerr(c, path, "event: expected an array");
	json_array_foreach(events, i, ev) {
		const char *listen;
		char p[512], src[300];
		char *text;
		json_t *steps;
		bool is_test;

		pjoin(p, sizeof(p), "%s.event[%zu]", path, i);
		if (!json_is_object(ev))
			return cerr(c, p, "expected an object");
		if (!opt_string(c, ev, "listen", p, &listen))
			return false;
		if (json_is_true(json_object_get(ev, "disabled")) || listen == NULL)
			continue;
		is_test = strcmp(listen, "test") == 0;
		if (!is_test && strcmp(listen, "prerequest") != 0)
			continue;
		if (json_object_get(ev, "script") != NULL && !json_is_object(json_object_get(ev, "script")))
			return cerr(c, p, "script: expected an object");
		text = script_text(json_object_get(ev, "script"));
		if (text == NULL)
			return cerr(c, p, "out of memory");
		snprintf(src, sizeof(src), "%s%s%s", label, *label ? " " : "", is_test ? "test" : "prerequest");
		steps = mt_translate_script(text, is_test ? "test" : "prerequest", src);
		free(text);
		json_array_extend(is_test ? tests : pre, steps);
		json_decref(steps);
	}
	return true;
}

/* Normalises an auth object into {"type",...} (values still templates), or
 * {"type":"noauth"}; unsupported types give {"type":..,"unsupported":true}. */
static bool
compile_auth(cctx *c, const json_t *auth, const char *path, json_t **out)
{
	const char *type;
	const json_t *params;

	*out = NULL;
	if (auth == NULL || json_is_null(auth))
		return true;
	if (!json_is_object(auth))
		return cerr(c, path, "expected an object");
	if (!opt_string(c, auth, "type", path, &type))
		return false;
	if (type == NULL)
		return cerr(c, path, "type: missing");
	params = json_object_get(auth, type);
	/* v2.1 keeps parameters as [{"key","value"}], v2.0 as an object: accept both */
	json_t *kv = json_object();
	if (json_is_array(params)) {
		size_t i;
		json_t *p;

		json_array_foreach(params, i, p) {
			const char *k = json_string_value(json_object_get(p, "key"));

			if (k != NULL) {
				char *t = value_text(json_object_get(p, "value"));

				json_object_set_new(kv, k, json_string(t ? t : ""));
				free(t);
			}
		}
	} else if (json_is_object(params)) {
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)params, k, v) {
			char *t = value_text(v);

			json_object_set_new(kv, k, json_string(t ? t : ""));
			free(t);
		}
	} else if (params != NULL && !json_is_null(params)) {
		json_decref(kv);
		return cerr(c, path, "%s: expected an array of {key, value}", type);
	}
#define P(name) (json_string_value(json_object_get(kv, name)) ? json_string_value(json_object_get(kv, name)) : "")
	if (strcmp(type, "noauth") == 0)
		*out = json_pack("{s:s}", "type", "noauth");
	else if (strcmp(type, "bearer") == 0)
		*out = json_pack("{s:s, s:s}", "type", "bearer", "token", P("token"));
	else if (strcmp(type, "basic") == 0)
		*out = json_pack("{s:s, s:s, s:s}", "type", "basic", "username", P("username"), "password", P("password"));
	else if (strcmp(type, "apikey") == 0) {
		const char *in = *P("in") ? P("in") : "header";

		if (strcmp(in, "header") != 0 && strcmp(in, "query") != 0) {
			json_decref(kv);
			return cerr(c, path, "apikey.in: expected \"header\" or \"query\"");
		}
		*out = json_pack("{s:s, s:s, s:s, s:s}", "type", "apikey", "key", P("key"), "value", P("value"), "in", in);
	} else
		*out = json_pack("{s:s, s:b}", "type", type, "unsupported", 1);
#undef P
	json_decref(kv);
	return *out != NULL || cerr(c, path, "out of memory");
}

/* Postman's query encode set: controls, space, " # & ' < = > and non-ASCII. */
static void
query_encode(mt_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= 0x20 || ch >= 0x7F || strchr("\"#&'<=>", ch))
			mt_buf_printf(b, "%%%02X", ch);
		else
			mt_buf_add(b, s, 1);
	}
}

/* Replaces path segments ":name" declared in variables (url.variable). */
static char *
apply_path_vars(const char *url, const json_t *vars)
{
	mt_buf b = {0};
	const char *q = strchr(url, '?');
	const char *end = q ? q : url + strlen(url), *p = url;

	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *segend = slash ? slash : end;
		bool done = false;

		if (*p == ':' && segend - p > 1) {
			size_t i;
			json_t *v;

			json_array_foreach(vars, i, v) {
				const char *k = json_string_value(json_object_get(v, "key"));

				if (k && strlen(k) == (size_t)(segend - p - 1) && memcmp(k, p + 1, strlen(k)) == 0) {
					char *t = value_text(json_object_get(v, "value"));

					mt_buf_puts(&b, t ? t : "");
					free(t);
					done = true;
					break;
				}
			}
		}
		if (!done)
			mt_buf_add(&b, p, (size_t)(segend - p));
		if (slash) {
			mt_buf_add(&b, "/", 1);
			p = slash + 1;
		} else
			p = end;
	}
	mt_buf_puts(&b, end);
	return mt_buf_take(&b);
}

/* The URL template of a request (string or object form). */
static bool
compile_url(cctx *c, const json_t *url, const char *path, char **out)
{
	mt_buf b = {0};
	const json_t *host, *upath, *query, *vars;
	char *s;

	*out = NULL;
	if (json_is_string(url)) {
		*out = strdup(json_string_value(url));
		return true;
	}
	if (!json_is_object(url))
		return cerr(c, path, "expected a string or an object");
	host = json_object_get(url, "host");
	upath = json_object_get(url, "path");
	query = json_object_get(url, "query");
	vars = json_object_get(url, "variable");
	if (vars != NULL && !json_is_array(vars))
		return cerr(c, path, "variable: expected an array");
	if (query != NULL && !json_is_array(query))
		return cerr(c, path, "query: expected an array");
	if (host == NULL && upath == NULL) {
		const char *raw;

		if (!opt_string(c, url, "raw", path, &raw))
			return false;
		if (raw == NULL)
			return cerr(c, path, "expected raw or host/path");
		s = vars ? apply_path_vars(raw, vars) : strdup(raw);
		*out = s;
		return s != NULL;
	}
	{
		const char *proto;
		const json_t *port = json_object_get(url, "port");

		if (!opt_string(c, url, "protocol", path, &proto))
			return false;
		if (proto != NULL)
			mt_buf_printf(&b, "%s://", proto);
		if (json_is_string(host))
			mt_buf_puts(&b, json_string_value(host));
		else if (json_is_array(host)) {
			size_t i;
			json_t *h;

			json_array_foreach(host, i, h) {
				if (!json_is_string(h)) {
					free(mt_buf_take(&b));
					return cerr(c, path, "host[%zu]: expected a string", i);
				}
				if (i > 0)
					mt_buf_puts(&b, ".");
				mt_buf_puts(&b, json_string_value(h));
			}
		} else if (host != NULL) {
			free(mt_buf_take(&b));
			return cerr(c, path, "host: expected a string or an array");
		}
		if (port != NULL && !json_is_null(port)) {
			char *t = value_text(port);

			mt_buf_printf(&b, ":%s", t ? t : "");
			free(t);
		}
		if (json_is_string(upath)) {
			if (json_string_value(upath)[0] != '/')
				mt_buf_puts(&b, "/");
			mt_buf_puts(&b, json_string_value(upath));
		} else if (json_is_array(upath)) {
			size_t i;
			json_t *seg;

			json_array_foreach(upath, i, seg) {
				const json_t *sv = json_is_object(seg) ? json_object_get(seg, "value") : seg;

				if (!json_is_string(sv)) {
					free(mt_buf_take(&b));
					return cerr(c, path, "path[%zu]: expected a string", i);
				}
				mt_buf_puts(&b, "/");
				mt_buf_puts(&b, json_string_value(sv));
			}
		} else if (upath != NULL) {
			free(mt_buf_take(&b));
			return cerr(c, path, "path: expected a string or an array");
		}
		if (json_array_size(query) > 0) {
			size_t i, n = 0;
			json_t *q;

			json_array_foreach(query, i, q) {
				const json_t *k;

				if (!json_is_object(q)) {
					free(mt_buf_take(&b));
					return cerr(c, path, "query[%zu]: expected an object", i);
				}
				if (json_is_true(json_object_get(q, "disabled")))
					continue;
				k = json_object_get(q, "key");
				if (k != NULL && !json_is_string(k) && !json_is_null(k)) {
					free(mt_buf_take(&b));
					return cerr(c, path, "query[%zu].key: expected a string", i);
				}
				mt_buf_puts(&b, n++ ? "&" : "?");
				if (json_is_string(k))
					query_encode(&b, json_string_value(k));
				if (json_object_get(q, "value") != NULL && !json_is_null(json_object_get(q, "value"))) {
					char *t = value_text(json_object_get(q, "value"));

					mt_buf_puts(&b, "=");
					query_encode(&b, t ? t : "");
					free(t);
				}
			}
		}
	}
	s = mt_buf_take(&b);
	if (s != NULL && vars != NULL) {
		char *t = apply_path_vars(s, vars);

		free(s);
		s = t;
	}
	*out = s;
	return s != NULL || cerr(c, path, "out of memory");
}

static const struct {
	const char *lang, *type;
} RAW_TYPES[] = {{"json", "application/json"}, {"xml", "application/xml"}, {"html", "text/html"},
                 {"javascript", "application/javascript"}, {"text", "text/plain"}, {"graphql", "application/json"}};

/* Body: sets *body (or leaves NULL) or *error (request cannot be sent). */
static bool
compile_body(cctx *c, const json_t *body, const char *path, json_t **out, char **error)
{
	const char *mode;

	*out = NULL;
	if (body == NULL || json_is_null(body))
		return true;
	if (!json_is_object(body))
		return cerr(c, path, "expected an object");
	if (json_is_true(json_object_get(body, "disabled")))
		return true;
	if (!opt_string(c, body, "mode", path, &mode))
		return false;
	if (mode == NULL)
		return true;
	if (strcmp(mode, "raw") == 0) {
		const char *raw, *lang = NULL, *ctype = "text/plain";
		const json_t *opts = json_object_get(json_object_get(json_object_get(body, "options"), "raw"), "language");

		if (!opt_string(c, body, "raw", path, &raw))
			return false;
		if (json_is_string(opts))
			lang = json_string_value(opts);
		for (size_t i = 0; lang && i < sizeof(RAW_TYPES) / sizeof(RAW_TYPES[0]); i++)
			if (strcmp(lang, RAW_TYPES[i].lang) == 0)
				ctype = RAW_TYPES[i].type;
		*out = json_pack("{s:s, s:s, s:s}", "mode", "raw", "raw", raw ? raw : "", "contentType", ctype);
		return true;
	}
	if (strcmp(mode, "urlencoded") == 0 || strcmp(mode, "formdata") == 0) {
		const json_t *fields = json_object_get(body, mode);
		json_t *list = json_array();
		size_t i;
		json_t *f;

		if (fields != NULL && !json_is_array(fields)) {
			json_decref(list);
			return cerr(c, path, "%s: expected an array", mode);
		}
		json_array_foreach(fields, i, f) {
			const char *k, *type;
			char p[600];
			char *v;

			pjoin(p, sizeof(p), "%s.%s[%zu]", path, mode, i);
			if (!json_is_object(f)) {
				json_decref(list);
				return cerr(c, p, "expected an object");
			}
			if (json_is_true(json_object_get(f, "disabled")))
				continue;
			if (!opt_string(c, f, "key", p, &k) || !opt_string(c, f, "type", p, &type)) {
				json_decref(list);
				return false;
			}
			if (type != NULL && strcmp(type, "file") == 0) {
				char e[700];

				pjoin(e, sizeof(e), "%s: form-data file fields are not supported", p);
				*error = strdup(e);
				json_decref(list);
				return true;
			}
			v = value_text(json_object_get(f, "value"));
			json_array_append_new(list, json_pack("{s:s, s:s}", "key", k ? k : "", "value", v ? v : ""));
			free(v);
		}
		*out = json_pack("{s:s, s:o}", "mode", mode, "fields", list);
		return true;
	}
	{
		char e[700];

		pjoin(e, sizeof(e), "%s.mode: body mode '%s' is not supported", path, mode);
		*error = strdup(e);
	}
	return true;
}

/* Collects skip steps and skipped tests of steps into list (for the report). */
static void
collect_skipped(const json_t *steps, json_t *list)
{
	size_t i;
	json_t *st;

	json_array_foreach(steps, i, st) {
		const char *op = json_string_value(json_object_get(st, "op"));

		if (op && strcmp(op, "skip") == 0)
			json_array_append_new(list, json_pack("{s:O, s:O, s:O, s:O}", "line", json_object_get(st, "line"),
			                                      "text", json_object_get(st, "text"), "reason",
			                                      json_object_get(st, "reason"), "script",
			                                      json_object_get(st, "script")));
		else if (op && strcmp(op, "test") == 0 && json_object_get(st, "skipped") != NULL) {
			json_t *e = json_deep_copy(json_object_get(st, "skipped"));

			json_object_set(e, "test", json_object_get(st, "name"));
			json_array_append_new(list, e);
		}
	}
}

/* Validates declarative assertions/captures of an item into normalised copies. */
static bool
compile_declarative(cctx *c, const json_t *item, const char *path, json_t **asserts, json_t **caps)
{
	const json_t *as = json_object_get(item, "assertions"), *cs = json_object_get(item, "captures");
	size_t i;
	json_t *a;

	*asserts = json_array();
	*caps = json_array();
	if (as != NULL && !json_is_array(as))
		return cerr(c, path, "assertions: expected an array");
	if (cs != NULL && !json_is_array(cs))
		return cerr(c, path, "captures: expected an array");
	json_array_foreach(as, i, a) {
		char p[600], name[300], e[200];
		const char *type, *ops[] = {"equals", "notEquals", "exists", "contains", "matches", "valueType", "below", "above"};
		const char *op = NULL;
		json_t *n;

		pjoin(p, sizeof(p), "%s.assertions[%zu]", path, i);
		if (!json_is_object(a))
			return cerr(c, p, "expected an object");
		if (!opt_string(c, a, "type", p, &type))
			return false;
		if (type == NULL || (strcmp(type, "status") && strcmp(type, "header") && strcmp(type, "jsonpath") &&
		                     strcmp(type, "responseTime") && strcmp(type, "body")))
			return cerr(c, p, "type: expected status, header, jsonpath, body or responseTime");
		for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
			if (json_object_get(a, ops[k]) != NULL) {
				if (op != NULL)
					return cerr(c, p, "give one of equals, notEquals, exists, contains, matches, valueType, below, above");
				op = ops[k];
			}
		if (op == NULL)
			return cerr(c, p, "missing the check (equals, notEquals, exists, contains, matches, valueType, below, above)");
		if ((strcmp(op, "matches") == 0 || strcmp(op, "valueType") == 0) && !json_is_string(json_object_get(a, op)))
			return cerr(c, p, "%s: expected a string", op);
		if ((strcmp(op, "below") == 0 || strcmp(op, "above") == 0) && !json_is_number(json_object_get(a, op)))
			return cerr(c, p, "%s: expected a number", op);
		if (strcmp(op, "exists") == 0 && !json_is_boolean(json_object_get(a, op)))
			return cerr(c, p, "exists: expected true or false");
		n = json_deep_copy(a);
		if (strcmp(type, "jsonpath") == 0) {
			const char *jp;
			json_t *segs;

			if (!opt_string(c, a, "path", p, &jp) || jp == NULL) {
				json_decref(n);
				return jp == NULL && !c->err[0] ? cerr(c, p, "path: expected a JSONPath string like $.data[0].id") : false;
			}
			if ((segs = mt_parse_jsonpath(jp, e, sizeof(e))) == NULL) {
				json_decref(n);
				return cerr(c, p, "path: %s", e);
			}
			json_object_set_new(n, "segments", segs);
		} else if (strcmp(type, "header") == 0 && !json_is_string(json_object_get(a, "name"))) {
			json_decref(n);
			return cerr(c, p, "name: expected the header name");
		}
		if (!json_is_string(json_object_get(a, "name")) || strcmp(type, "header") == 0) {
			char *want = json_dumps(json_object_get(a, op), JSON_COMPACT | JSON_ENCODE_ANY);
			const char *subject = strcmp(type, "jsonpath") == 0 ? json_string_value(json_object_get(a, "path"))
			                      : strcmp(type, "header") == 0 ? json_string_value(json_object_get(a, "name"))
			                      : strcmp(type, "responseTime") == 0 ? "response time" : type;

			if (json_is_string(json_object_get(a, "title")))
				snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(a, "title")));
			else
				snprintf(name, sizeof(name), "%s%s %s %s", strcmp(type, "header") == 0 ? "header " : "", subject, op,
				         want ? want : "");
			free(want);
			if (strcmp(type, "header") == 0) {
				json_object_set_new(n, "header", json_string(json_string_value(json_object_get(a, "name"))));
			}
			json_object_set_new(n, "name", json_string(name));
		}
		json_array_append_new(*asserts, n);
	}
	json_array_foreach(cs, i, a) {
		char p[600], e[200];
		const char *var, *jp, *hdr;
		json_t *n;

		pjoin(p, sizeof(p), "%s.captures[%zu]", path, i);
		if (!json_is_object(a))
			return cerr(c, p, "expected an object");
		if (!opt_string(c, a, "var", p, &var) || !opt_string(c, a, "jsonpath", p, &jp) ||
		    !opt_string(c, a, "header", p, &hdr))
			return false;
		if (var == NULL || !*var)
			return cerr(c, p, "var: expected the variable name");
		if ((jp == NULL) == (hdr == NULL))
			return cerr(c, p, "give exactly one of jsonpath or header");
		n = json_pack("{s:s}", "var", var);
		if (hdr != NULL)
			json_object_set_new(n, "header", json_string(hdr));
		else {
			json_t *segs = mt_parse_jsonpath(jp, e, sizeof(e));

			if (segs == NULL) {
				json_decref(n);
				return cerr(c, p, "jsonpath: %s", e);
			}
			json_object_set_new(n, "jsonpath", json_string(jp));
			json_object_set_new(n, "segments", segs);
		}
		json_array_append_new(*caps, n);
	}
	return true;
}

/* Compiles one request item. */
static bool
compile_request(cctx *c, const json_t *item, const char *path, const char *folder, const json_t *auth,
                const json_t *tests, const json_t *pre)
{
	const json_t *req = json_object_get(item, "request");
	const json_t *rauth, *hdrs, *jname = json_object_get(item, "name");
	char p[600], *url = NULL, *error = NULL;
	const char *method = "GET";
	json_t *headers = json_array(), *body = NULL, *a = NULL, *my_tests = json_deep_copy(tests),
	       *my_pre = json_deep_copy(pre), *asserts = NULL, *caps = NULL, *skipped = json_array(), *r;
	char m[32];
	bool ok = false;

	pjoin(p, sizeof(p), "%s.request", path);
	if (jname != NULL && !json_is_string(jname)) {
		cerr(c, path, "name: expected a string");
		goto out;
	}
	if (json_is_string(req)) {
		url = strdup(json_string_value(req));
	} else if (json_is_object(req)) {
		char up[640];
		const char *mm;

		if (!opt_string(c, req, "method", p, &mm))
			goto out;
		if (mm != NULL) {
			size_t k;

			if (strlen(mm) == 0 || strlen(mm) >= sizeof(m)) {
				cerr(c, p, "method: expected an HTTP method");
				goto out;
			}
			for (k = 0; mm[k]; k++) {
				if (!isalpha((unsigned char)mm[k])) {
					cerr(c, p, "method: expected an HTTP method");
					goto out;
				}
				m[k] = (char)toupper((unsigned char)mm[k]);
			}
			m[k] = '\0';
			method = m;
		}
		pjoin(up, sizeof(up), "%s.url", p);
		if (json_object_get(req, "url") == NULL) {
			cerr(c, up, "missing");
			goto out;
		}
		if (!compile_url(c, json_object_get(req, "url"), up, &url))
			goto out;
		hdrs = json_object_get(req, "header");
		if (json_is_array(hdrs)) {
			size_t i;
			json_t *h;

			json_array_foreach(hdrs, i, h) {
				const char *k;
				char hp[700], *v;

				pjoin(hp, sizeof(hp), "%s.header[%zu]", p, i);
				if (!json_is_object(h)) {
					cerr(c, hp, "expected an object");
					goto out;
				}
				if (!opt_string(c, h, "key", hp, &k))
					goto out;
				if (json_is_true(json_object_get(h, "disabled")) || k == NULL || !*k)
					continue;
				v = value_text(json_object_get(h, "value"));
				json_array_append_new(headers, json_pack("{s:s, s:s}", "key", k, "value", v ? v : ""));
				free(v);
			}
		} else if (json_is_string(hdrs)) {
			/* the old "Name: value\n" form */
			char *copy = strdup(json_string_value(hdrs)), *save = NULL;

			for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
				char *colon = strchr(line, ':');

				if (colon == NULL)
					continue;
				*colon = '\0';
				for (colon++; *colon == ' '; colon++)
					;
				json_array_append_new(headers, json_pack("{s:s, s:s}", "key", line, "value", colon));
			}
			free(copy);
		} else if (hdrs != NULL && !json_is_null(hdrs)) {
			cerr(c, p, "header: expected an array");
			goto out;
		}
		{
			char bp[640];

			pjoin(bp, sizeof(bp), "%s.body", p);
			if (!compile_body(c, json_object_get(req, "body"), bp, &body, &error))
				goto out;
		}
		rauth = json_object_get(req, "auth");
		if (rauth != NULL && !json_is_null(rauth)) {
			char ap[640];

			pjoin(ap, sizeof(ap), "%s.auth", p);
			if (!compile_auth(c, rauth, ap, &a))
				goto out;
		}
	} else {
		cerr(c, p, "expected a string or an object");
		goto out;
	}
	if (a == NULL && auth != NULL)
		a = json_deep_copy(auth);
	if (a != NULL && json_is_true(json_object_get(a, "unsupported")) && error == NULL) {
		char e[700];

		pjoin(e, sizeof(e), "%s.auth.type: auth type '%s' is not supported", p,
		         json_string_value(json_object_get(a, "type")));
		error = strdup(e);
	}
	if (!compile_events(c, json_object_get(item, "event"), path, "", my_tests, my_pre))
		goto out;
	if (!compile_declarative(c, item, path, &asserts, &caps))
		goto out;
	collect_skipped(my_pre, skipped);
	collect_skipped(my_tests, skipped);
	r = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name",
	              jname ? json_string_value(jname) : url, "folder", folder, "method", method, "url", url, "headers",
	              headers, "auth", a && strcmp(json_string_value(json_object_get(a, "type")), "noauth") ? a : json_null(),
	              "body", body ? body : json_null(), "prerequest", my_pre, "test", my_tests, "assertions", asserts,
	              "captures", caps, "skipped", skipped);
	if (a && !strcmp(json_string_value(json_object_get(a, "type")), "noauth"))
		json_decref(a);
	headers = body = a = my_pre = my_tests = asserts = caps = skipped = NULL;
	if (r == NULL) {
		cerr(c, path, "out of memory");
		goto out;
	}
	if (error != NULL)
		json_object_set_new(r, "error", json_string(error));
	json_array_append_new(c->requests, r);
	ok = true;
out:
	free(url);
	free(error);
	json_decref(headers);
	json_decref(body);
	json_decref(a);
	json_decref(my_tests);
	json_decref(my_pre);
	json_decref(asserts);
	json_decref(caps);
	json_decref(skipped);
	return ok;
}

/* Walks items (folders recurse) in order. */
static bool
compile_items(cctx *c, const json_t *items, const char *path, const char *folder, const json_t *auth,
              const json_t *tests, const json_t *pre, int depth)
{
	size_t i;
	json_t *it;

	if (!json_is_array(items))
		return cerr(c, path, "expected an array");
	if (depth > MT_MAX_DEPTH)
		return cerr(c, path, "folders nested deeper than %d", MT_MAX_DEPTH);
	json_array_foreach(items, i, it) {
		char p[512];

		pjoin(p, sizeof(p), "%s[%zu]", path, i);
		if (!json_is_object(it))
			return cerr(c, p, "expected an object");
		if (json_object_get(it, "item") != NULL) {
			const char *name;
			char sub[600], fold[1024], label[300];
			json_t *fauth = NULL, *ft = json_deep_copy(tests), *fp = json_deep_copy(pre);
			bool ok;

			if (!opt_string(c, it, "name", p, &name)) {
				json_decref(ft);
				json_decref(fp);
				return false;
			}
			pjoin(fold, sizeof(fold), "%s%s%s", folder, *folder ? "/" : "", name ? name : "");
			pjoin(sub, sizeof(sub), "%s.item", p);
			pjoin(label, sizeof(label), "folder '%s'", name ? name : "");
			if (json_object_get(it, "auth") != NULL && !json_is_null(json_object_get(it, "auth"))) {
				char ap[600];

				pjoin(ap, sizeof(ap), "%s.auth", p);
				if (!compile_auth(c, json_object_get(it, "auth"), ap, &fauth)) {
					json_decref(ft);
					json_decref(fp);
					return false;
				}
			}
			ok = compile_events(c, json_object_get(it, "event"), p, label, ft, fp) &&
			     compile_items(c, json_object_get(it, "item"), sub, fold, fauth ? fauth : auth, ft, fp, depth + 1);
			json_decref(fauth);
			json_decref(ft);
			json_decref(fp);
			if (!ok)
				return false;
		} else if (json_object_get(it, "request") != NULL) {
			if (json_array_size(c->requests) >= MT_MAX_REQUESTS)
				return cerr(c, p, "more than %d requests", MT_MAX_REQUESTS);
			if (!compile_request(c, it, p, folder, auth, tests, pre))
				return false;
		} else
			return cerr(c, p, "expected a request or a folder (item)");
	}
	return true;
}

json_t *
mt_compile(const json_t *postman, char *err, size_t errcap)
{
	cctx c = {.err = err, .errcap = errcap};
	json_t *vars = json_object(), *auth = NULL, *plan = NULL;
	const json_t *v = json_object_get(postman, "variable"), *info = json_object_get(postman, "info");
	const char *name = json_string_value(json_object_get(info, "name"));

	if (errcap)
		err[0] = '\0';
	if (!json_is_object(postman)) {
		cerr(&c, "collection", "expected a Postman v2.1 collection object");
		goto out;
	}
	if (!json_is_array(json_object_get(postman, "item"))) {
		cerr(&c, "item", "expected an array (is this a Postman v2.1 collection?)");
		goto out;
	}
	if (v != NULL && !json_is_array(v)) {
		cerr(&c, "variable", "expected an array");
		goto out;
	}
	{
		size_t i;
		json_t *e;

		json_array_foreach(v, i, e) {
			const char *k = json_string_value(json_object_get(e, "key"));
			const json_t *val = json_object_get(e, "value");

			if (!json_is_object(e) || k == NULL) {
				char p[64];

				pjoin(p, sizeof(p), "variable[%zu]", i);
				cerr(&c, p, "expected {\"key\": string, \"value\"}");
				goto out;
			}
			if (json_is_true(json_object_get(e, "disabled")))
				continue;
			json_object_set_new(vars, k, val ? json_deep_copy(val) : json_string(""));
		}
	}
	if (json_object_get(postman, "auth") != NULL && !compile_auth(&c, json_object_get(postman, "auth"), "auth", &auth))
		goto out;
	c.requests = json_array();
	c.coll_tests = json_array();
	c.coll_pre = json_array();
	if (!compile_events(&c, json_object_get(postman, "event"), "collection", "collection", c.coll_tests, c.coll_pre) ||
	    !compile_items(&c, json_object_get(postman, "item"), "item", "", auth, c.coll_tests, c.coll_pre, 0))
		goto out;
	plan = json_pack("{s:s, s:s, s:O, s:O}", "format", "mockarty-plan/1", "name", name ? name : "", "variables",
	                 vars, "requests", c.requests);
out:
	json_decref(vars);
	json_decref(auth);
	json_decref(c.requests);
	json_decref(c.coll_tests);
	json_decref(c.coll_pre);
	return plan;
}
