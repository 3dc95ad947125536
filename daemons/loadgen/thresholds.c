/*
 * thresholds.c - pass/fail criteria over a finished run's report, in k6's spelling.
 *
 * Users bring thresholds from k6 scripts and from the Mockarty SDK, so both shapes are read:
 * {"http_req_duration":["p(95)<500"],"http_req_failed":["rate<0.01"],"http_reqs":["rate>100"]}
 * (values may also be one string or {"threshold":"..."} objects) and the short
 * {"p95":500,"errorRate":0.01,"rps":100}. Evaluation only reads the report JSON, so the runner
 * can re-check a stored report; an expression that cannot be parsed is an error naming it,
 * never a silent pass.
 */
#include "loadgen.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE } op_t;

static double
num(const json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* The report value an aggregation of a metric refers to; false if the pair is unknown. */
static bool
lookup(const json_t *rep, const char *metric, const char *agg, double pct, double *out, char *err,
       size_t errcap)
{
	const json_t *lat = json_object_get(rep, "latencyMs");

	if (strcmp(metric, "http_req_duration") == 0) {
		if (strcmp(agg, "p") == 0) {
			static const struct {
				double p;
				const char *k;
			} ps[] = {{50, "p50"}, {90, "p90"}, {95, "p95"}, {99, "p99"}, {99.9, "p999"}};
			for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
				if (fabs(ps[i].p - pct) < 1e-9) {
					*out = num(lat, ps[i].k);
					return true;
				}
			snprintf(err, errcap, "p(%g): the report has p(50), p(90), p(95), p(99) and p(99.9)", pct);
			return false;
		}
		const char *k = strcmp(agg, "avg") == 0 ? "mean" : strcmp(agg, "med") == 0 ? "p50" : agg;
		if (strcmp(k, "mean") == 0 || strcmp(k, "p50") == 0 || strcmp(k, "min") == 0 || strcmp(k, "max") == 0) {
			*out = num(lat, k);
			return true;
		}
	} else if (strcmp(metric, "http_req_failed") == 0) {
		if (strcmp(agg, "rate") == 0) {
			*out = num(rep, "errorRate");
			return true;
		}
		if (strcmp(agg, "count") == 0) {
			*out = num(rep, "errors");
			return true;
		}
	} else if (strcmp(metric, "http_reqs") == 0) {
		if (strcmp(agg, "rate") == 0) {
			*out = num(rep, "rps");
			return true;
		}
		if (strcmp(agg, "count") == 0) {
			*out = num(rep, "requests");
			return true;
		}
	} else {
		snprintf(err, errcap, "%s: unknown metric (http_req_duration, http_req_failed, http_reqs)", metric);
		return false;
	}
	snprintf(err, errcap, "%s: aggregation '%s' does not apply to it", metric, agg);
	return false;
}

/*
 * Parses "agg op number" (agg: p(N), avg, min, max, med, rate, count; op: < <= > >= == === !=).
 * agg is written to aggbuf (p(N) as "p" with *pct = N).
 */
static bool
parse_expr(const char *e, char *aggbuf, size_t aggcap, double *pct, op_t *op, double *val, char *err,
           size_t errcap, const char *where)
{
	const char *s = e;
	size_t n = 0;

	while (isspace((unsigned char)*s))
		s++;
	while (isalpha((unsigned char)*s) || *s == '_') {
		if (n + 1 >= aggcap)
			goto bad;
		aggbuf[n++] = *s++;
	}
	aggbuf[n] = '\0';
	if (n == 0)
		goto bad;
	*pct = 0;
	if (strcmp(aggbuf, "p") == 0) {
		char *end;
		if (*s != '(')
			goto bad;
		*pct = strtod(s + 1, &end);
		if (end == s + 1 || *end != ')' || !(*pct > 0 && *pct <= 100))
			goto bad;
		s = end + 1;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (strncmp(s, "<=", 2) == 0)
		*op = OP_LE, s += 2;
	else if (strncmp(s, ">=", 2) == 0)
		*op = OP_GE, s += 2;
	else if (strncmp(s, "===", 3) == 0)
		*op = OP_EQ, s += 3;
	else if (strncmp(s, "==", 2) == 0)
		*op = OP_EQ, s += 2;
	else if (strncmp(s, "!=", 2) == 0)
		*op = OP_NE, s += 2;
	else if (*s == '<')
		*op = OP_LT, s++;
	else if (*s == '>')
		*op = OP_GT, s++;
	else
		goto bad;
	char *end;
	*val = strtod(s, &end);
	if (end == s || !isfinite(*val))
		goto bad;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		goto bad;
	return true;
bad:
	snprintf(err, errcap, "%s: cannot parse \"%s\" (expected like \"p(95)<500\", \"avg<200\", \"rate<0.01\")",
	         where, e);
	return false;
}

static bool
compare(double a, op_t op, double b)
{
	switch (op) {
	case OP_LT:
		return a < b;
	case OP_LE:
		return a <= b;
	case OP_GT:
		return a > b;
	case OP_GE:
		return a >= b;
	case OP_EQ:
		return a == b;
	default:
		return a != b;
	}
}

/* Evaluates one expression of metric and appends its entry to out. */
static bool
eval_one(const json_t *rep, const char *metric, const char *expr, json_t *out, bool *all, char *err,
         size_t errcap, const char *where)
{
	char agg[16];
	double pct, val, actual;
	op_t op;

	if (!parse_expr(expr, agg, sizeof agg, &pct, &op, &val, err, errcap, where))
		return false;
	if (!lookup(rep, metric, agg, pct, &actual, err, errcap))
		return false;
	bool ok = compare(actual, op, val);
	*all = *all && ok;
	json_array_append_new(out, json_pack("{s:s,s:s,s:f,s:b}", "metric", metric, "expr", expr, "actual", actual,
	                                     "passed", ok));
	return true;
}

/* The short SDK form: key -> number. */
static bool
eval_short(const json_t *rep, const char *key, const json_t *v, json_t *out, bool *all, char *err,
           size_t errcap)
{
	char expr[96];
	const char *metric = "http_req_duration";
	double x = json_number_value(v);

	if (!json_is_number(v)) {
		snprintf(err, errcap, "thresholds.%s: must be a number", key);
		return false;
	}
	if (key[0] == 'p' && isdigit((unsigned char)key[1])) {
		/* p95 -> p(95), p999 -> p(99.9) */
		const char *pv = strcmp(key + 1, "999") == 0 ? "99.9" : key + 1;
		for (const char *c = key + 1; *c; c++)
			if (!isdigit((unsigned char)*c)) {
				snprintf(err, errcap, "thresholds.%s: unknown threshold", key);
				return false;
			}
		snprintf(expr, sizeof expr, "p(%s)<%.17g", pv, x);
	} else if (strcmp(key, "avg") == 0 || strcmp(key, "mean") == 0) {
		snprintf(expr, sizeof expr, "avg<%.17g", x);
	} else if (strcmp(key, "max") == 0 || strcmp(key, "med") == 0) {
		snprintf(expr, sizeof expr, "%s<%.17g", key, x);
	} else if (strcmp(key, "errorRate") == 0) {
		metric = "http_req_failed";
		snprintf(expr, sizeof expr, "rate<%.17g", x);
	} else if (strcmp(key, "rps") == 0 || strcmp(key, "minRps") == 0) {
		metric = "http_reqs";
		snprintf(expr, sizeof expr, "rate>=%.17g", x);
	} else {
		snprintf(err, errcap, "thresholds.%s: unknown threshold (p50, p90, p95, p99, avg, max, errorRate, rps)",
		         key);
		return false;
	}
	char where[128];
	snprintf(where, sizeof where, "thresholds.%s", key);
	return eval_one(rep, metric, expr, out, all, err, errcap, where);
}

json_t *
lg_thresholds_eval(const json_t *report, const json_t *thresholds, bool *passed, char *err, size_t errcap)
{
	const char *key;
	json_t *v, *out = json_array();
	bool all = true;
	char where[160];

	if (out == NULL) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	if (thresholds == NULL || json_is_null(thresholds)) {
		*passed = true;
		return out;
	}
	if (!json_is_object(thresholds)) {
		snprintf(err, errcap, "thresholds: must be an object");
		json_decref(out);
		return NULL;
	}
	if (!json_is_object(report)) {
		snprintf(err, errcap, "report: must be an object");
		json_decref(out);
		return NULL;
	}
	json_object_foreach((json_t *)thresholds, key, v)
	{
		bool ok = true;
		if (json_is_number(v)) {
			ok = eval_short(report, key, v, out, &all, err, errcap);
		} else if (json_is_string(v) || json_is_object(v)) {
			json_t *one = json_is_object(v) ? json_object_get(v, "threshold") : v;
			snprintf(where, sizeof where, "thresholds.%s", key);
			if (!json_is_string(one)) {
				snprintf(err, errcap, "%s.threshold: must be a string", where);
				ok = false;
			} else {
				ok = eval_one(report, key, json_string_value(one), out, &all, err, errcap, where);
			}
		} else if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
			{
				snprintf(where, sizeof where, "thresholds.%s[%zu]", key, i);
				json_t *one = json_is_object(e) ? json_object_get(e, "threshold") : e;
				if (!json_is_string(one)) {
					snprintf(err, errcap, "%s: must be a string or {\"threshold\": string}", where);
					ok = false;
					break;
				}
				if (!(ok = eval_one(report, key, json_string_value(one), out, &all, err, errcap, where)))
					break;
			}
		} else {
			snprintf(err, errcap, "thresholds.%s: must be a number, a string or an array of strings", key);
			ok = false;
		}
		if (!ok) {
			json_decref(out);
			return NULL;
		}
	}
	*passed = all;
	return out;
}
