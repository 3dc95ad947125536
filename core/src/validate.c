/*
 * validate.c - checking a mock document against the model of api-compat
 * section 3 before it is stored.
 *
 * A mock is written once and matched millions of times, so every mistake that
 * can be found at write time is found here and reported with the JSON path of
 * the offending field ("$.http.conditions[0].assertAction"), the way a user
 * would look for it. Two compatibility constraints shape the rules: the Go SDK
 * serialises every protocol section as {} (encoding/json never omits empty
 * structs), so an empty object counts as absent; and clients send null for
 * unset fields, so null is accepted wherever a field is optional.
 */
#include "match_internal.h"
#include "template_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <string.h>

/* json_int_t is long long on every platform we build for. */
#define JSON_INTEGER_MAX LLONG_MAX
#define JSON_INTEGER_MIN LLONG_MIN

typedef struct vctx {
	mc_error *err;
	char path[256];
	size_t len;
	size_t nexpr;  /* template expressions seen so far in the mock */
	size_t tbytes; /* bytes of the strings holding them */
} vctx;

/* ------------------------------------------------------------ path helpers */

static size_t
push_key(vctx *v, const char *key)
{
	size_t old = v->len;
	int n;

	if (old >= sizeof(v->path) - 1)
		return old;
	n = snprintf(v->path + old, sizeof(v->path) - old, ".%s", key);
	v->len = n < 0 ? old : old + (size_t)n;
	if (v->len >= sizeof(v->path))
		v->len = sizeof(v->path) - 1;
	return old;
}

static size_t
push_idx(vctx *v, size_t i)
{
	size_t old = v->len;
	int n;

	if (old >= sizeof(v->path) - 1)
		return old;
	n = snprintf(v->path + old, sizeof(v->path) - old, "[%zu]", i);
	v->len = n < 0 ? old : old + (size_t)n;
	if (v->len >= sizeof(v->path))
		v->len = sizeof(v->path) - 1;
	return old;
}

static void
pop(vctx *v, size_t old)
{
	v->len = old;
	v->path[old] = '\0';
}

static mc_status fail(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records an MC_EINVAL at the current path; always returns MC_EINVAL. */
static mc_status
fail(vctx *v, const char *fmt, ...)
{
	va_list ap;
	char msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mc_error_set(v->err, MC_EINVAL, v->path, "%s", msg);
	return MC_EINVAL;
}

/* Sets the path to $.<key> of obj's child and calls fail. */
static mc_status
fail_at(vctx *v, const char *key, const char *msg)
{
	size_t old = push_key(v, key);
	mc_status st = fail(v, "%s", msg);

	pop(v, old);
	return st;
}

#define TRY(expr)                                \
	do {                                     \
		mc_status st_ = (expr);          \
		if (st_ != MC_OK)                \
			return st_;              \
	} while (0)

/* ------------------------------------------------------------ field types */

/* Present and not null. */
static const json_t *
field(const json_t *obj, const char *key)
{
	const json_t *f = json_object_get(obj, key);

	return f && !json_is_null(f) ? f : NULL;
}

static mc_status
opt_string(vctx *v, const json_t *obj, const char *key)
{
	const json_t *f = field(obj, key);

	return f && !json_is_string(f) ? fail_at(v, key, "must be a string") : MC_OK;
}

static mc_status
opt_bool(vctx *v, const json_t *obj, const char *key)
{
	const json_t *f = field(obj, key);

	return f && !json_is_boolean(f) ? fail_at(v, key, "must be a boolean") : MC_OK;
}

static mc_status
opt_object(vctx *v, const json_t *obj, const char *key)
{
	const json_t *f = field(obj, key);

	return f && !json_is_object(f) ? fail_at(v, key, "must be an object") : MC_OK;
}

static mc_status
opt_int(vctx *v, const json_t *obj, const char *key, json_int_t min, json_int_t max)
{
	const json_t *f = field(obj, key);
	char msg[96];

	if (f == NULL)
		return MC_OK;
	if (!json_is_integer(f))
		return fail_at(v, key, "must be an integer");
	if (json_integer_value(f) < min || json_integer_value(f) > max) {
		if (max == JSON_INTEGER_MAX)
			snprintf(msg, sizeof(msg), "must be >= %lld", (long long)min);
		else
			snprintf(msg, sizeof(msg), "must be between %lld and %lld", (long long)min, (long long)max);
		return fail_at(v, key, msg);
	}
	return MC_OK;
}

/* A string field restricted to choices (NULL-terminated); "" counts as absent. */
static mc_status
opt_enum(vctx *v, const json_t *obj, const char *key, const char *const *choices)
{
	const json_t *f = field(obj, key);
	char msg[200];
	size_t o = 0;

	if (f == NULL)
		return MC_OK;
	if (!json_is_string(f))
		return fail_at(v, key, "must be a string");
	if (json_string_length(f) == 0)
		return MC_OK;
	for (int i = 0; choices[i]; i++)
		if (strcmp(json_string_value(f), choices[i]) == 0)
			return MC_OK;
	o = (size_t)snprintf(msg, sizeof(msg), "must be one of");
	for (int i = 0; choices[i] && o < sizeof(msg); i++)
		o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s %s", i ? "," : "", choices[i]);
	return fail_at(v, key, msg);
}

/* ------------------------------------------------------------ depth, templates */

static mc_status
check_depth(vctx *v, const json_t *j, int depth)
{
	const char *k;
	json_t *c;
	size_t i, old;

	if (depth > MC_MAX_JSON_DEPTH)
		return fail(v, "nesting deeper than %d levels", MC_MAX_JSON_DEPTH);
	if (json_is_object(j)) {
		json_object_foreach ((json_t *)j, k, c) {
			if (!json_is_object(c) && !json_is_array(c))
				continue;
			old = push_key(v, k);
			TRY(check_depth(v, c, depth + 1));
			pop(v, old);
		}
	} else if (json_is_array(j)) {
		json_array_foreach (j, i, c) {
			if (!json_is_object(c) && !json_is_array(c))
				continue;
			old = push_idx(v, i);
			TRY(check_depth(v, c, depth + 1));
			pop(v, old);
		}
	}
	return MC_OK;
}

/*
 * Every string inside j (keys excluded) must be a well-formed template, and the
 * mock's templates together stay within MC_MAX_TEMPLATE_EXPRESSIONS expressions
 * and MC_MAX_TEMPLATE_BYTES bytes (the failure names the string that crossed
 * the line). Faker arguments are parsed, no faker runs.
 */
static mc_status
check_templates(vctx *v, const json_t *j, int depth)
{
	const char *k;
	json_t *c;
	size_t i, old;
	mc_error terr;

	if (depth > MC_MAX_JSON_DEPTH)
		return fail(v, "nesting deeper than %d levels", MC_MAX_JSON_DEPTH);
	if (json_is_string(j)) {
		/* Cheap pre-filter: only strings with '$' can hold an expression. */
		if (memchr(json_string_value(j), '$', json_string_length(j)) == NULL)
			return MC_OK;
		size_t n, lit;

		memset(&terr, 0, sizeof(terr));
		if (mc_template_measure(json_string_value(j), json_string_length(j), &n, &lit, &terr) != MC_OK)
			return fail(v, "invalid template: %s", terr.msg[0] ? terr.msg : "syntax error");
		if (n == 0)
			return MC_OK;
		v->nexpr += n;
		v->tbytes += json_string_length(j);
		if (v->nexpr > MC_MAX_TEMPLATE_EXPRESSIONS)
			return fail(v, "too many template expressions: a mock may hold at most %d", MC_MAX_TEMPLATE_EXPRESSIONS);
		if (v->tbytes > MC_MAX_TEMPLATE_BYTES)
			return fail(v, "templates too large: the strings holding expressions may total at most %d bytes per mock",
				    MC_MAX_TEMPLATE_BYTES);
		return MC_OK;
	}
	if (json_is_object(j)) {
		json_object_foreach ((json_t *)j, k, c) {
			old = push_key(v, k);
			TRY(check_templates(v, c, depth + 1));
			pop(v, old);
		}
	} else if (json_is_array(j)) {
		json_array_foreach (j, i, c) {
			old = push_idx(v, i);
			TRY(check_templates(v, c, depth + 1));
			pop(v, old);
		}
	}
	return MC_OK;
}

static mc_status
opt_template(vctx *v, const json_t *obj, const char *key)
{
	const json_t *f = field(obj, key);
	size_t old;

	if (f == NULL)
		return MC_OK;
	old = push_key(v, key);
	TRY(check_templates(v, f, 0));
	pop(v, old);
	return MC_OK;
}

static mc_status
opt_template_string(vctx *v, const json_t *obj, const char *key)
{
	TRY(opt_string(v, obj, key));
	return opt_template(v, obj, key);
}

/* ------------------------------------------------------------ conditions */

static const char *const decode_choices[] = {"base64", NULL};

static mc_status
check_condition(vctx *v, const json_t *c)
{
	const json_t *action, *value;
	const char *a;

	if (!json_is_object(c))
		return fail(v, "condition must be an object");
	TRY(opt_string(v, c, "path"));
	TRY(opt_bool(v, c, "sortArray"));
	TRY(opt_enum(v, c, "decode", decode_choices));
	TRY(opt_string(v, c, "valueFromFile"));
	action = field(c, "assertAction");
	if (action == NULL)
		return MC_OK; /* treated as equals */
	if (!json_is_string(action))
		return fail_at(v, "assertAction", "must be a string");
	a = json_string_value(action);
	if (*a == '\0')
		return MC_OK;
	if (strncmp(a, "plugin:", 7) == 0) {
		if (a[7] == '\0')
			return fail_at(v, "assertAction", "plugin operator needs a name after 'plugin:'");
		return MC_OK;
	}
	if (!mc_assert_action_known(a)) {
		char msg[200];

		snprintf(msg, sizeof(msg),
			 "unknown assertAction '%.60s' (expected equals, contains, not_equals, not_contains, any, "
			 "notEmpty, empty, matches or plugin:<name>)",
			 a);
		return fail_at(v, "assertAction", msg);
	}
	if (strcmp(a, "matches") == 0) {
		char msg[200];
		pcre2_code *re;

		value = field(c, "value");
		if (!json_is_string(value))
			return fail_at(v, "value", "matches needs a regex string");
		re = mc_regex_compile(json_string_value(value), msg, sizeof(msg));
		if (re == NULL)
			return fail_at(v, "value", msg);
		pcre2_code_free(re);
	}
	return MC_OK;
}

static mc_status
opt_conditions(vctx *v, const json_t *obj, const char *key)
{
	const json_t *f = field(obj, key);
	size_t i, old, old2;
	json_t *c;

	if (f == NULL)
		return MC_OK;
	if (!json_is_array(f))
		return fail_at(v, key, "must be an array of conditions");
	old = push_key(v, key);
	if (json_array_size(f) > MC_MAX_CONDITIONS)
		return fail(v, "more than %d conditions", MC_MAX_CONDITIONS);
	json_array_foreach (f, i, c) {
		old2 = push_idx(v, i);
		TRY(check_condition(v, c));
		pop(v, old2);
	}
	pop(v, old);
	return MC_OK;
}

/* ------------------------------------------------------------ protocol sections */

typedef struct proto_spec {
	const char *name;
	const char *strings[12];
	const char *lists[6];
	bool strict; /* field set known exactly from the swagger: reject others */
} proto_spec;

static const proto_spec protos[] = {
	{"http", {"route", "routePattern", "httpMethod"}, {"conditions", "queryParams", "header"}, true},
	{"grpc", {"service", "serviceName", "method", "methodType"}, {"conditions", "meta"}, false},
	{"mcp", {"method", "tool", "resource", "description", "serverName"}, {"conditions", "header"}, false},
	{"socket", {"serverName", "event", "namespace"}, {"conditions"}, false},
	{"soap", {"service", "method", "action", "path"}, {"conditions", "header"}, false},
	{"graphql", {"operation", "field", "type", "path"}, {"conditions", "header"}, false},
	{"sse", {"eventPath", "eventName", "description"}, {"conditions", "headerConditions"}, false},
	{"kafka",
	 {"topic", "serverName", "consumerGroup", "outputTopic", "outputBrokers"},
	 {"conditions", "headers"},
	 false},
	{"rabbitmq",
	 {"queue", "exchange", "routingKey", "serverName", "outputURL", "outputExchange", "outputRoutingKey",
	  "outputQueue"},
	 {"conditions", "headers"},
	 false},
	{"smtp",
	 {"serverName"},
	 {"senderConditions", "recipientConditions", "subjectConditions", "bodyConditions", "headerConditions"},
	 false},
};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

static bool
in_list(const char *const *list, size_t n, const char *key)
{
	for (size_t i = 0; i < n && list[i]; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

static mc_status
check_http_extras(vctx *v, const json_t *h)
{
	const json_t *route = field(h, "route");
	const json_t *pattern = field(h, "routePattern");
	const json_t *method = field(h, "httpMethod");
	char msg[200];

	if (route && json_string_length(route) > 0) {
		mc_route r;
		mc_status st;

		if (json_string_value(route)[0] != '/')
			return fail_at(v, "route", "must start with '/'");
		st = mc_route_parse(NULL, json_string_value(route), &r);
		if (st == MC_ELIMIT) {
			snprintf(msg, sizeof(msg), "has more than %d segments", MC_MAX_ROUTE_SEGMENTS);
			return fail_at(v, "route", msg);
		}
		if (st == MC_EINVAL)
			return fail_at(v, "route", "'*' is only allowed as the last segment");
		if (st != MC_OK) {
			mc_error_set(v->err, st, "$.http.route", "out of memory");
			return st;
		}
		mc_route_free(&r);
	}
	if (pattern && json_string_length(pattern) > 0) {
		pcre2_code *re = mc_regex_compile(json_string_value(pattern), msg, sizeof(msg));

		if (re == NULL)
			return fail_at(v, "routePattern", msg);
		pcre2_code_free(re);
	}
	if (method) {
		const char *m = json_string_value(method);

		for (const char *p = m; *p; p++)
			if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '*' || *p == '-'))
				return fail_at(v, "httpMethod", "must be an HTTP method name such as GET");
	}
	return MC_OK;
}

static const char *const method_types[] = {"unary", "server-stream", "client-stream", "bidirectional", NULL};
static const char *const gql_ops[] = {"query", "mutation", "subscription", NULL};

static mc_status
check_proto(vctx *v, const proto_spec *ps, const json_t *sec)
{
	size_t old = push_key(v, ps->name);
	const char *k;
	json_t *val;

	json_object_foreach ((json_t *)sec, k, val) {
		if (in_list(ps->strings, 12, k)) {
			TRY(opt_string(v, sec, k));
		} else if (in_list(ps->lists, 6, k)) {
			TRY(opt_conditions(v, sec, k));
		} else if (strcmp(k, "sortArray") == 0) {
			TRY(opt_bool(v, sec, k));
		} else if (ps->strict) {
			return fail_at(v, k, "unknown field");
		}
	}
	if (strcmp(ps->name, "http") == 0)
		TRY(check_http_extras(v, sec));
	else if (strcmp(ps->name, "grpc") == 0)
		TRY(opt_enum(v, sec, "methodType", method_types));
	else if (strcmp(ps->name, "graphql") == 0)
		TRY(opt_enum(v, sec, "operation", gql_ops));
	else if (strcmp(ps->name, "kafka") == 0) {
		TRY(opt_template_string(v, sec, "outputKey"));
		TRY(opt_object(v, sec, "outputHeaders"));
	} else if (strcmp(ps->name, "rabbitmq") == 0)
		TRY(opt_object(v, sec, "outputProps"));
	pop(v, old);
	return MC_OK;
}

/* ------------------------------------------------------------ responses */

static mc_status
check_headers(vctx *v, const json_t *obj, const char *key, bool allow_arrays)
{
	const json_t *h = field(obj, key);
	size_t old, old2, i;
	const char *k;
	json_t *val, *e;

	if (h == NULL)
		return MC_OK;
	if (!json_is_object(h))
		return fail_at(v, key, "must be an object of header values");
	old = push_key(v, key);
	json_object_foreach ((json_t *)h, k, val) {
		old2 = push_key(v, k);
		if (json_is_array(val) && allow_arrays) {
			json_array_foreach (val, i, e)
				if (!json_is_string(e))
					return fail(v, "header values must be strings");
		} else if (!json_is_string(val)) {
			return fail(v, allow_arrays ? "must be a string or an array of strings" : "must be a string");
		}
		TRY(check_templates(v, val, 0));
		pop(v, old2);
	}
	pop(v, old);
	return MC_OK;
}

static mc_status
check_object_array(vctx *v, const json_t *obj, const char *key)
{
	const json_t *f = field(obj, key);
	size_t i;
	json_t *e;

	if (f == NULL)
		return MC_OK;
	if (!json_is_array(f))
		return fail_at(v, key, "must be an array of objects");
	json_array_foreach (f, i, e) {
		if (!json_is_object(e)) {
			size_t old = push_key(v, key), old2 = push_idx(v, i);
			mc_status st = fail(v, "must be an object");

			(void)old2;
			pop(v, old);
			return st;
		}
	}
	return MC_OK;
}

static mc_status
check_sse_chain(vctx *v, const json_t *chain)
{
	const json_t *events = field(chain, "events");
	size_t old = push_key(v, "sseEventChain");
	size_t i, old2;
	json_t *ev;

	if (!json_is_object(chain))
		return fail(v, "must be an object");
	TRY(opt_bool(v, chain, "loop"));
	TRY(opt_int(v, chain, "loopDelay", 0, JSON_INTEGER_MAX));
	TRY(opt_int(v, chain, "maxLoops", 0, JSON_INTEGER_MAX));
	TRY(opt_int(v, chain, "maxTime", 0, JSON_INTEGER_MAX));
	TRY(opt_int(v, chain, "heartbeat", 0, JSON_INTEGER_MAX));
	TRY(opt_int(v, chain, "logBatch", 0, JSON_INTEGER_MAX));
	TRY(check_object_array(v, chain, "events"));
	if (events) {
		size_t old1 = push_key(v, "events");

		json_array_foreach (events, i, ev) {
			old2 = push_idx(v, i);
			TRY(opt_string(v, ev, "eventName"));
			TRY(opt_string(v, ev, "id"));
			TRY(opt_string(v, ev, "templatePath"));
			TRY(opt_int(v, ev, "delay", 0, JSON_INTEGER_MAX));
			TRY(opt_int(v, ev, "retry", 0, JSON_INTEGER_MAX));
			TRY(opt_template(v, ev, "data"));
			pop(v, old2);
		}
		pop(v, old1);
	}
	pop(v, old);
	return MC_OK;
}

static mc_status
check_response(vctx *v, const json_t *r, bool http)
{
	const json_t *chain;

	if (!json_is_object(r))
		return fail(v, "must be an object");
	TRY(opt_int(v, r, "statusCode", http ? 100 : 0, 599));
	TRY(check_headers(v, r, "headers", true));
	TRY(opt_template(v, r, "payload"));
	TRY(opt_string(v, r, "payloadTemplatePath"));
	TRY(opt_enum(v, r, "decode", decode_choices));
	TRY(opt_int(v, r, "delay", 0, JSON_INTEGER_MAX));
	TRY(opt_string(v, r, "error"));
	TRY(check_object_array(v, r, "errorDetails"));
	TRY(check_object_array(v, r, "graphqlErrors"));
	TRY(opt_object(v, r, "soapFault"));
	TRY(opt_bool(v, r, "mcpIsError"));
	chain = field(r, "sseEventChain");
	if (chain)
		TRY(check_sse_chain(v, chain));
	return MC_OK;
}

static const char *const oneof_orders[] = {"order", "random", NULL};

static mc_status
check_oneof(vctx *v, const json_t *o, bool http)
{
	const json_t *resps;
	size_t old = push_key(v, "oneOf"), old1, old2, i;
	json_t *r;

	if (!json_is_object(o))
		return fail(v, "must be an object");
	if (json_object_size(o) == 0) {
		pop(v, old);
		return MC_OK;
	}
	TRY(opt_enum(v, o, "order", oneof_orders));
	TRY(opt_int(v, o, "offset", 0, JSON_INTEGER_MAX));
	resps = field(o, "responses");
	if (!json_is_array(resps) || json_array_size(resps) == 0)
		return fail_at(v, "responses", "must be a non-empty array of responses");
	old1 = push_key(v, "responses");
	json_array_foreach (resps, i, r) {
		old2 = push_idx(v, i);
		TRY(check_response(v, r, http));
		pop(v, old2);
	}
	pop(v, old1);
	pop(v, old);
	return MC_OK;
}

static mc_status
check_proxy(vctx *v, const json_t *p)
{
	const json_t *t;
	const char *s;
	size_t old = push_key(v, "proxy");

	if (!json_is_object(p))
		return fail(v, "must be an object");
	if (json_object_size(p) == 0) {
		pop(v, old);
		return MC_OK;
	}
	t = field(p, "target");
	if (t == NULL)
		return fail_at(v, "target", "is required");
	if (!json_is_string(t))
		return fail_at(v, "target", "must be a string");
	s = json_string_value(t);
	if (!((strncmp(s, "http://", 7) == 0 && s[7]) || (strncmp(s, "https://", 8) == 0 && s[8])))
		return fail_at(v, "target", "must be an http:// or https:// URL");
	pop(v, old);
	return MC_OK;
}

static const char *const cb_types[] = {"http", "kafka", "rabbitmq", NULL};
static const char *const cb_triggers[] = {"on_success", "on_error", "always", "on_first_use", "on_last_use", NULL};

static mc_status
check_webhooks(vctx *v, const json_t *w)
{
	static const char *const strings[] = {
		"url", "method", "kafkaBrokers", "kafkaTopic", "kafkaUsername", "kafkaPassword",
		"rabbitURL", "rabbitExchange", "rabbitRoutingKey", "rabbitQueue", NULL,
	};
	static const char *const ints[] = {"retryCount", "retryDelay", NULL};
	static const char *const bools[] = {"async", "kafkaUseSASL", "kafkaUseTLS", "rabbitMandatory", NULL};
	size_t old = push_key(v, "webhooks"), old2, i;
	json_t *cb;

	if (!json_is_array(w))
		return fail(v, "must be an array of callbacks");
	json_array_foreach (w, i, cb) {
		old2 = push_idx(v, i);
		if (!json_is_object(cb))
			return fail(v, "must be an object");
		TRY(opt_enum(v, cb, "type", cb_types));
		TRY(opt_enum(v, cb, "trigger", cb_triggers));
		for (int k = 0; strings[k]; k++)
			TRY(opt_string(v, cb, strings[k]));
		for (int k = 0; ints[k]; k++)
			TRY(opt_int(v, cb, ints[k], 0, JSON_INTEGER_MAX));
		/* ms; the delivery engine holds a slot that long at most (webhook timeouts cap) */
		TRY(opt_int(v, cb, "timeout", 0, 30000));
		for (int k = 0; bools[k]; k++)
			TRY(opt_bool(v, cb, bools[k]));
		TRY(check_headers(v, cb, "headers", true));
		TRY(opt_template(v, cb, "body"));
		TRY(opt_template_string(v, cb, "kafkaKey"));
		pop(v, old2);
	}
	pop(v, old);
	return MC_OK;
}

static mc_status
check_extract(vctx *v, const json_t *x)
{
	size_t old = push_key(v, "extract"), old2, old3;
	const char *k, *k2;
	json_t *store, *val;

	if (!json_is_object(x))
		return fail(v, "must be an object");
	json_object_foreach ((json_t *)x, k, store) {
		if (strcmp(k, "mStore") != 0 && strcmp(k, "cStore") != 0 && strcmp(k, "gStore") != 0)
			return fail_at(v, k, "unknown field (expected mStore, cStore or gStore)");
		if (json_is_null(store))
			continue;
		old2 = push_key(v, k);
		if (!json_is_object(store))
			return fail(v, "must be an object of templates");
		json_object_foreach (store, k2, val) {
			old3 = push_key(v, k2);
			if (!json_is_string(val))
				return fail(v, "must be a template string");
			TRY(check_templates(v, val, 0));
			pop(v, old3);
		}
		pop(v, old2);
	}
	pop(v, old);
	return MC_OK;
}

/* ------------------------------------------------------------ top level */

static bool
namespace_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

/* Fields of the model (3.1), server-managed fields and harmless metadata. */
static const char *const known_top[] = {
	"id", "namespace", "chainId", "pathPrefix", "serverName", "folderId", "response", "oneOf", "proxy",
	"webhooks", "ttl", "useLimiter", "useCounter", "priority", "tags", "createdAt", "lastUse", "expireAt",
	"closedAt", "extract", "mStore", "_meta", "description", "name", "updatedAt", "createdBy", "updatedBy",
	"version", NULL,
};

static const proto_spec *
proto_by_name(const char *k)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (strcmp(protos[i].name, k) == 0)
			return &protos[i];
	return NULL;
}

/*
 * Validates mock (see core.h). Checks run in document order of concern: shape,
 * depth, unknown fields, scalars, protocol section, responses, extras; the
 * first failure is reported.
 */
mc_status
mc_mock_validate(const json_t *mock, mc_error *err)
{
	vctx v;
	const char *k;
	json_t *val;
	const proto_spec *found = NULL;
	const json_t *f;
	bool http;
	static const char *const strings[] = {"id", "chainId", "pathPrefix", "serverName", "folderId", NULL};
	static const char *const counters[] = {"ttl",     "useLimiter", "useCounter", "createdAt",
					       "lastUse", "expireAt",   "closedAt",   NULL};

	memset(&v, 0, sizeof(v));
	v.err = err;
	strcpy(v.path, "$");
	v.len = 1;
	if (err)
		memset(err, 0, sizeof(*err));

	if (!json_is_object(mock))
		return fail(&v, "mock must be an object");
	TRY(check_depth(&v, mock, 1));

	json_object_foreach ((json_t *)mock, k, val) {
		const proto_spec *ps = proto_by_name(k);

		if (ps) {
			if (json_is_null(val))
				continue;
			if (!json_is_object(val))
				return fail_at(&v, k, "must be an object");
			if (json_object_size(val) == 0)
				continue; /* Go SDKs send every section as {} */
			if (found) {
				char msg[128];

				snprintf(msg, sizeof(msg), "mock has two protocol sections: %s and %s", found->name,
					 ps->name);
				return fail_at(&v, k, msg);
			}
			found = ps;
			continue;
		}
		if (!in_list(known_top, 64, k))
			return fail_at(&v, k, "unknown field");
	}
	if (found == NULL)
		return fail(&v, "mock has no protocol section");

	for (int i = 0; strings[i]; i++)
		TRY(opt_string(&v, mock, strings[i]));
	for (int i = 0; counters[i]; i++)
		TRY(opt_int(&v, mock, counters[i], 0, JSON_INTEGER_MAX));
	TRY(opt_int(&v, mock, "priority", JSON_INTEGER_MIN, JSON_INTEGER_MAX));
	TRY(opt_string(&v, mock, "namespace"));
	f = field(mock, "namespace");
	if (f && json_string_length(f) > 0 && !namespace_ok(json_string_value(f)))
		return fail_at(&v, "namespace", "must match ^[a-z0-9][a-z0-9_.-]{0,62}$");
	f = field(mock, "pathPrefix");
	if (f && json_string_length(f) > 0 && json_string_value(f)[0] != '/')
		return fail_at(&v, "pathPrefix", "must start with '/'");
	f = field(mock, "tags");
	if (f) {
		size_t i;
		json_t *t;

		if (!json_is_array(f))
			return fail_at(&v, "tags", "must be an array of strings");
		json_array_foreach (f, i, t) {
			if (!json_is_string(t)) {
				size_t old = push_key(&v, "tags");

				push_idx(&v, i);
				fail(&v, "must be a string");
				pop(&v, old);
				return MC_EINVAL;
			}
		}
	}
	TRY(opt_object(&v, mock, "mStore"));
	TRY(opt_object(&v, mock, "_meta"));

	TRY(check_proto(&v, found, json_object_get(mock, found->name)));
	http = strcmp(found->name, "http") == 0;

	if ((f = field(mock, "response")) != NULL) {
		size_t old = push_key(&v, "response");

		TRY(check_response(&v, f, http));
		pop(&v, old);
	}
	if ((f = field(mock, "oneOf")) != NULL)
		TRY(check_oneof(&v, f, http));
	if ((f = field(mock, "proxy")) != NULL)
		TRY(check_proxy(&v, f));
	if ((f = field(mock, "webhooks")) != NULL)
		TRY(check_webhooks(&v, f));
	if ((f = field(mock, "extract")) != NULL)
		TRY(check_extract(&v, f));
	return MC_OK;
}
