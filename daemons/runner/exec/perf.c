/*
 * exec/perf.c - runs a performance task: the payload's collection is rendered
 * into concrete requests by the API-test engine (mt_render_requests: variables
 * substituted, auth applied) and replayed by the load generator
 * (daemons/loadgen, lg_start) with the payload's options. A payload with
 * "grpc" instead ({"target","method","descriptorSet" in base64,"message",
 * "metadata","streams","deadline"}) is a gRPC load test: the message is
 * encoded once from JSON with the descriptor set and sent as unary calls.
 *
 * Constraints: the load generator owns the machine while it runs, so this
 * thread only polls it - live numbers (lg_progress) go out as task progress
 * with the heartbeats, and a cancellation or lost lease is a lg_stop(), never
 * a kill. The final result is the generator's report plus the threshold
 * verdicts, so a stopped run still reports what it measured. Options arrive
 * normalised by the SQL side, but they are user input: every field is checked
 * here and a bad one fails the task with its field path rather than running a
 * different test than the user asked for.
 */
#include "runner.h"
#include "exec/exec.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t
rn_parse_duration(const json_t *v)
{
	const char *s, *p;
	double total = 0;

	if (json_is_integer(v))
		return json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
	if (json_is_real(v))
		return json_real_value(v) >= 0 ? (int64_t)json_real_value(v) : -1;
	s = json_string_value(v);
	if (s == NULL || *s == '\0')
		return -1;
	p = s;
	while (*p != '\0') {
		char *end;
		double x = strtod(p, &end);

		if (end == p || x < 0 || !isfinite(x))
			return -1;
		p = end;
		if (strncmp(p, "ms", 2) == 0) {
			total += x;
			p += 2;
		} else if (*p == 's') {
			total += x * 1000;
			p++;
		} else if (*p == 'm') {
			total += x * 60000;
			p++;
		} else if (*p == 'h') {
			total += x * 3600000;
			p++;
		} else {
			return -1; /* a unit is required in text: "60" could mean seconds or ms */
		}
	}
	return total > 9e15 ? -1 : (int64_t)total;
}

#if RN_HAVE_TESTER && RN_HAVE_LOADGEN
#include "loadgen.h"
#include "tester.h"

#define DEFAULT_DURATION_MS 10000
#define MAX_STAGES 64

/* The rendered requests as lg_request[] (pointers into rendered, which must outlive them). */
typedef struct req_set {
	lg_request *reqs;
	const char ***hdrs;
	size_t n;
} req_set;

static void
req_set_free(req_set *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free((void *)rs->hdrs[i]);
	free(rs->hdrs);
	free(rs->reqs);
}

/* Builds rs from the engine's rendered requests; false with err naming the bad entry. */
static bool
req_set_build(const json_t *rendered, req_set *rs, char *err, size_t errcap)
{
	size_t i;
	json_t *r;

	rs->n = json_array_size(rendered);
	rs->reqs = calloc(rs->n ? rs->n : 1, sizeof(*rs->reqs));
	rs->hdrs = calloc(rs->n ? rs->n : 1, sizeof(*rs->hdrs));
	if (rs->reqs == NULL || rs->hdrs == NULL) {
		snprintf(err, errcap, "out of memory");
		return false;
	}
	json_array_foreach (rendered, i, r) {
		const json_t *hs = json_object_get(r, "headers");
		const char *url = json_string_value(json_object_get(r, "url"));
		const char *body = json_string_value(json_object_get(r, "body"));
		size_t nh = json_array_size(hs);

		if (url == NULL) {
			snprintf(err, errcap, "collection request %zu (%s): no URL", i,
			         json_string_value(json_object_get(r, "name")) ?: "?");
			return false;
		}
		rs->hdrs[i] = calloc(nh ? nh : 1, sizeof(char *));
		if (rs->hdrs[i] == NULL) {
			snprintf(err, errcap, "out of memory");
			return false;
		}
		for (size_t k = 0; k < nh; k++)
			rs->hdrs[i][k] = json_string_value(json_array_get(hs, k)) ?: "";
		rs->reqs[i].method = json_string_value(json_object_get(r, "method")) ?: "GET";
		rs->reqs[i].url = url;
		rs->reqs[i].headers = rs->hdrs[i];
		rs->reqs[i].nheaders = nh;
		rs->reqs[i].body = body;
		rs->reqs[i].body_len = body ? strlen(body) : 0;
	}
	return true;
}

/* Reads the options into cfg (stages into the caller's array); false with err naming the field. */
static bool
parse_options(const json_t *o, size_t nreq, lg_config *cfg, lg_stage *stages, int64_t *planned_ms, char *err,
              size_t errcap)
{
	const json_t *v;
	int64_t d;

	cfg->mode = LG_CLOSED;
	cfg->concurrency = 10;
	cfg->threads = 1;
	v = json_object_get(o, "mode");
	if (v != NULL && !json_is_null(v)) {
		const char *m = json_string_value(v);

		if (m != NULL && strcmp(m, "closed") == 0)
			cfg->mode = LG_CLOSED;
		else if (m != NULL && strcmp(m, "open") == 0)
			cfg->mode = LG_OPEN;
		else {
			snprintf(err, errcap, "options.mode: expected \"closed\" or \"open\"");
			return false;
		}
	}
	v = json_object_get(o, "concurrency");
	if (v == NULL)
		v = json_object_get(o, "vus");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 10000) {
			snprintf(err, errcap, "options.concurrency: expected an integer in [1, 10000]");
			return false;
		}
		cfg->concurrency = (int)json_integer_value(v);
	}
	v = json_object_get(o, "rate");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_number(v) || json_number_value(v) <= 0) {
			snprintf(err, errcap, "options.rate: expected requests per second > 0");
			return false;
		}
		cfg->rate = json_number_value(v);
	}
	v = json_object_get(o, "timeout");
	if (v != NULL && !json_is_null(v)) {
		d = rn_parse_duration(v);
		if (d <= 0 || d > 600000) {
			snprintf(err, errcap,
			         "options.timeout: expected a duration up to 10m (ms or \"5s\")");
			return false;
		}
		cfg->timeout_ms = (int)d;
	}
	*planned_ms = 0;
	v = json_object_get(o, "stages");
	if (v != NULL && !json_is_null(v)) {
		size_t i;
		json_t *st;

		if (!json_is_array(v) || json_array_size(v) > MAX_STAGES) {
			snprintf(err, errcap,
			         "options.stages: expected an array of at most %d {duration, target}",
			         MAX_STAGES);
			return false;
		}
		json_array_foreach (v, i, st) {
			d = rn_parse_duration(json_object_get(st, "duration"));
			if (d < 0 || d > 86400000) {
				snprintf(
				    err, errcap,
				    "options.stages[%zu].duration: expected ms or a duration like \"10s\"",
				    i);
				return false;
			}
			if (!json_is_number(json_object_get(st, "target")) ||
			    json_number_value(json_object_get(st, "target")) < 0) {
				snprintf(err, errcap, "options.stages[%zu].target: expected a number >= 0",
				         i);
				return false;
			}
			stages[i].duration_ms = (int)d;
			stages[i].target = json_number_value(json_object_get(st, "target"));
			*planned_ms += d;
		}
		cfg->stages = stages;
		cfg->nstages = json_array_size(v);
	}
	v = json_object_get(o, "duration");
	if (v != NULL && !json_is_null(v)) {
		d = rn_parse_duration(v);
		if (d <= 0 || d > 86400000) {
			snprintf(err, errcap,
			         "options.duration: expected a duration > 0 up to 24h (ms or \"30s\")");
			return false;
		}
		cfg->duration_ms = (int)d;
		if (cfg->nstages == 0)
			*planned_ms = d;
	}
	v = json_object_get(o, "iterations");
	if (v != NULL && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 0)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			snprintf(err, errcap, "options.iterations: expected an integer >= 0");
			return false;
		}
		/* one iteration = the whole collection once */
		cfg->max_requests = (uint64_t)json_integer_value(v) * (nreq ? nreq : 1);
	}
	if (cfg->mode == LG_OPEN && cfg->rate <= 0 && cfg->nstages == 0) {
		snprintf(err, errcap, "options.rate: required in open mode (requests per second)");
		return false;
	}
	if (cfg->duration_ms == 0 && cfg->nstages == 0 && cfg->max_requests == 0) {
		cfg->duration_ms = DEFAULT_DURATION_MS;
		*planned_ms = DEFAULT_DURATION_MS;
	}
	return true;
}

/* A gRPC load test's request: what lg_grpc points into (freed by grpc_req_free). */
typedef struct grpc_req {
	uint8_t *fds, *msg;
	size_t fdslen, msglen;
	char *path;
	char **md;
	size_t nmd;
	lg_grpc g;
} grpc_req;

static void
grpc_req_free(grpc_req *q)
{
	free(q->fds);
	free(q->msg);
	free(q->path);
	for (size_t i = 0; i < q->nmd; i++)
		free(q->md[i]);
	free(q->md);
}

/* Standard base64 (whitespace ignored, padding optional); NULL when malformed. */
static uint8_t *
b64_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s), o = 0;
	uint8_t *out = malloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int v;

		if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
			continue;
		if (ch == '=')
			break;
		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '+' || ch == '-')
			v = 62;
		else if (ch == '/' || ch == '_')
			v = 63;
		else {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*outlen = o;
	return out;
}

/*
 * payload.grpc {"target","method","descriptorSet" (base64),"message","metadata":{k:v},"streams",
 * "deadline"} -> q->g, the message encoded once from JSON; false with err naming the field.
 */
static bool
grpc_req_build(const json_t *g, grpc_req *q, char *err, size_t errcap)
{
	const char *ds = json_string_value(json_object_get(g, "descriptorSet"));
	const json_t *msg = json_object_get(g, "message"), *md = json_object_get(g, "metadata"), *v;
	json_t *empty = NULL;
	char e[400];
	bool ok;

	memset(q, 0, sizeof(*q));
	q->g.target = json_string_value(json_object_get(g, "target"));
	if (q->g.target == NULL) {
		snprintf(err, errcap, "script.grpc.target: expected \"host:port\"");
		return false;
	}
	if (ds == NULL || (q->fds = b64_decode(ds, &q->fdslen)) == NULL || q->fdslen == 0) {
		snprintf(err, errcap, "script.grpc.descriptorSet: expected a FileDescriptorSet in base64");
		return false;
	}
	if (msg == NULL || json_is_null(msg))
		msg = empty = json_object();
	ok = lg_grpc_prepare(q->fds, q->fdslen, json_string_value(json_object_get(g, "method")), msg, &q->path,
	                     &q->msg, &q->msglen, e, sizeof(e));
	json_decref(empty);
	if (!ok) {
		snprintf(err, errcap, "script.grpc.%s", e);
		return false;
	}
	if (json_is_object(md) && json_object_size(md) > 0) {
		const char *k;

		q->md = calloc(json_object_size(md), sizeof(char *));
		if (q->md == NULL) {
			snprintf(err, errcap, "out of memory");
			return false;
		}
		json_object_foreach ((json_t *)md, k, v) {
			if (!json_is_string(v)) {
				snprintf(err, errcap, "script.grpc.metadata.%s: expected a string", k);
				return false;
			}
			if (asprintf(&q->md[q->nmd], "%s: %s", k, json_string_value(v)) < 0) {
				snprintf(err, errcap, "out of memory");
				return false;
			}
			q->nmd++;
		}
	}
	v = json_object_get(g, "streams");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000) {
			snprintf(err, errcap, "script.grpc.streams: expected an integer in [1, 1000]");
			return false;
		}
		q->g.streams = (int)json_integer_value(v);
	}
	v = json_object_get(g, "deadline");
	if (v != NULL && !json_is_null(v)) {
		int64_t d = rn_parse_duration(v);

		if (d <= 0 || d > 3600000) {
			snprintf(err, errcap, "script.grpc.deadline: expected a duration up to 1h (ms or \"2s\")");
			return false;
		}
		q->g.deadline_ms = (int)d;
	}
	q->g.path = q->path;
	q->g.message = q->msg;
	q->g.message_len = q->msglen;
	q->g.metadata = (const char *const *)q->md;
	q->g.nmetadata = q->nmd;
	return true;
}

/* Builds the progress document from the generator's live numbers. */
static json_t *
progress_doc(lg_run *run, int64_t planned_ms, uint64_t max_requests)
{
	json_t *p = lg_progress(run);
	double pct = 0;

	if (p == NULL)
		return NULL;
	if (planned_ms > 0)
		pct =
		    100.0 * (double)json_integer_value(json_object_get(p, "elapsedMs")) / (double)planned_ms;
	else if (max_requests > 0)
		pct =
		    100.0 * (double)json_integer_value(json_object_get(p, "requests")) / (double)max_requests;
	json_object_set_new(p, "phase", json_string("running"));
	json_object_set_new(p, "percent", json_real(pct > 100 ? 100 : pct));
	return p;
}

void
exec_perf(const rn_exec *x, rn_outcome *out)
{
	const json_t *pl = x->payload;
	const json_t *coll = json_object_get(pl, "collection");
	const json_t *grpc = json_object_get(pl, "grpc");
	grpc_req gq = {0};
	const json_t *env = json_object_get(pl, "environment");
	const json_t *opts = json_object_get(pl, "options");
	const json_t *thr;
	json_t *plan = NULL, *rendered = NULL, *empty = NULL, *report = NULL, *verdicts = NULL, *tl;
	lg_stage stages[MAX_STAGES];
	lg_config cfg;
	lg_run *run = NULL;
	req_set rs = {0};
	char err[400] = "";
	int64_t planned_ms = 0, next_progress = 0;
	int prog_every = 500; /* below the 1 s heartbeat while tasks run (tasks/tasks.c) */
	bool stopped = false, passed = true;
	size_t i;
	json_t *e;

	memset(&cfg, 0, sizeof(cfg));
	out->status = "failed";
	if (json_is_object(grpc)) { /* a gRPC load test: no collection */
		if (opts != NULL && !json_is_object(opts) && !json_is_null(opts)) {
			snprintf(out->error, sizeof(out->error), "payload.options: expected an object");
			return;
		}
		if (!grpc_req_build(grpc, &gq, out->error, sizeof(out->error)))
			goto done;
		if (!parse_options(opts, 1, &cfg, stages, &planned_ms, out->error, sizeof(out->error)))
			goto done;
		cfg.grpc = &gq.g;
		goto start;
	}
	if (!json_is_object(coll)) {
		snprintf(out->error, sizeof(out->error),
		         "payload.collection: expected the Postman collection object");
		return;
	}
	if (opts != NULL && !json_is_object(opts) && !json_is_null(opts)) {
		snprintf(out->error, sizeof(out->error), "payload.options: expected an object");
		return;
	}
	if (!json_is_object(env))
		env = empty = json_object();
	plan = mt_compile(coll, err, sizeof(err));
	if (plan == NULL) {
		snprintf(out->error, sizeof(out->error), "collection: %s",
		         err[0] ? err : "cannot be compiled");
		goto done;
	}
	rendered = mt_render_requests(plan, env, err, sizeof(err));
	if (rendered == NULL) {
		snprintf(out->error, sizeof(out->error), "collection: %s",
		         err[0] ? err : "cannot be rendered");
		goto done;
	}
	if (json_array_size(rendered) == 0) {
		snprintf(out->error, sizeof(out->error), "collection: no request to send");
		goto done;
	}
	if (!req_set_build(rendered, &rs, out->error, sizeof(out->error)))
		goto done;
	if (!parse_options(opts, rs.n, &cfg, stages, &planned_ms, out->error, sizeof(out->error)))
		goto done;
	cfg.requests = rs.reqs;
	cfg.nrequests = rs.n;
start:
	run = lg_start(&cfg, err, sizeof(err));
	if (run == NULL) {
		snprintf(out->error, sizeof(out->error), "load generator: %s", err[0] ? err : "cannot start");
		goto done;
	}
	if (prog_every < 250)
		prog_every = 250;
	if (prog_every > 1000)
		prog_every = 1000;
	while (!lg_wait(run, 200)) {
		if (rn_exec_should_stop(x) && !stopped) {
			lg_stop(run);
			stopped = true;
		}
		if (rn_now_ms() >= next_progress) {
			json_t *p = progress_doc(run, planned_ms, cfg.max_requests);

			if (p != NULL)
				x->set_progress(x->owner, p);
			next_progress = rn_now_ms() + prog_every;
		}
	}
	report = lg_report(run);
	if (report == NULL) {
		snprintf(out->error, sizeof(out->error), "load generator: no report");
		goto done;
	}
	thr = json_object_get(opts, "thresholds");
	if ((json_is_object(thr) && json_object_size(thr) > 0) ||
	    (json_is_array(thr) && json_array_size(thr) > 0)) {
		verdicts = lg_thresholds_eval(report, thr, &passed, err, sizeof(err));
		if (verdicts == NULL) {
			snprintf(out->error, sizeof(out->error), "options.thresholds: %s", err);
			json_object_set_new(report, "thresholds", json_array());
			json_object_set_new(report, "passed", json_null());
			out->result = report;
			report = NULL;
			goto done;
		}
	} else {
		verdicts = json_array();
	}
	json_object_set_new(report, "thresholds", verdicts);
	json_object_set_new(report, "passed", json_boolean(passed));
	/* one result chunk per timeline second */
	tl = json_object_get(report, "timeline");
	json_array_foreach (tl, i, e)
		x->add_chunk(x->owner, json_deep_copy(e));
	x->set_progress(x->owner, json_pack("{s:s, s:f, s:O?, s:O?, s:O?}", "phase", "finished", "percent", 100.0,
	                               "requests", json_object_get(report, "requests"), "errors",
	                               json_object_get(report, "errors"), "rps",
	                               json_object_get(report, "rps")));
	out->summary = json_pack(
	    "{s:O?, s:O?, s:O?, s:O?, s:b}", "requests", json_object_get(report, "requests"), "errors",
	    json_object_get(report, "errors"), "rps", json_object_get(report, "rps"), "p95Ms",
	    json_object_get(json_object_get(report, "latencyMs"), "p95"), "passed", passed);
	out->status = stopped || rn_exec_should_stop(x) ? "cancelled" : "completed";
	out->result = report;
	report = NULL;
done:
	if (run != NULL)
		lg_free(run);
	req_set_free(&rs);
	grpc_req_free(&gq);
	json_decref(report);
	json_decref(rendered);
	json_decref(plan);
	json_decref(empty);
}

#else /* the engine or the load generator was missing at build time */

void
exec_perf(const rn_exec *x, rn_outcome *out)
{
	(void)x;
	out->status = "failed";
	snprintf(out->error, sizeof(out->error),
	         "this runner-agent was built without the load generator or the API-test engine "
	         "(daemons/loadgen, daemons/tester missing at build time); rebuild it with `make -C "
	         "daemons/runner`");
}

#endif
