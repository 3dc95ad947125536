/*
 * cli.c - mockarty-load, the command-line face of the load generator (wrk-like options, k6-like
 * thresholds and stages).
 *
 * It is also what the benchmark compares against wrk, so it adds nothing to the run itself: it
 * builds an lg_config, starts it, draws a progress line once a second (only when stderr is a
 * terminal, so scripts get clean output) and prints the report - a human summary, or with --json
 * the lg_report document. Bad input exits 2 with a message naming the argument; failed
 * thresholds exit 1; SIGINT/SIGTERM end the run early and still print what was measured.
 */
#include "loadgen.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_HEADERS 64
#define MAX_STAGES 64

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: mockarty-load URL [options]\n"
	        "       mockarty-load HOST:PORT --descriptor-set FILE.pb --method pkg.Service/Method\n"
	        "                     (--data JSON | --data-file FILE) [options]   (gRPC unary over h2c)\n"
	        "  -c, --connections N   connections (closed loop) or the most connections (open loop); 10\n"
	        "  -t, --threads N       event-loop threads; 2 (never more than connections)\n"
	        "  -d, --duration D      run time like 10s, 500ms, 2m; 10s unless -n or --stages decide\n"
	        "  -n, --requests N      stop after N requests\n"
	        "      --rate R          open loop: R requests per second, latency from the intended send time\n"
	        "  -H, --header 'N: v'   extra request header (repeatable)\n"
	        "  -m, --method M        request method; GET\n"
	        "      --body STRING     request body\n"
	        "      --stages LIST     ramp like 10s:50,20s:50,5s:0 (connections, or req/s with --rate)\n"
	        "      --timeout MS      per request; 10000\n"
	        "      --json            print the report as JSON\n"
	        "      --threshold EXPR  like 'p(95)<500' or 'http_req_failed:rate<0.01' (repeatable)\n"
	        "gRPC mode (with --descriptor-set; -H adds metadata 'key: value'):\n"
	        "      --descriptor-set F  FileDescriptorSet (protoc --include_imports --descriptor_set_out)\n"
	        "      --method M        pkg.Service/Method (a unary method of the set)\n"
	        "      --data JSON       the request message as proto3 JSON; {} by default\n"
	        "      --data-file F     the same, read from a file\n"
	        "      --streams N       concurrent calls per connection (HTTP/2 streams); 1\n"
	        "      --deadline MS     sent as grpc-timeout; none by default\n"
	        "exit status: 0 ok, 1 a threshold failed, 2 bad arguments, 3 the run could not start\n");
}

static int
bad(const char *arg, const char *what)
{
	fprintf(stderr, "mockarty-load: %s: %s\n", arg, what);
	return 2;
}

/* A positive integer option; -1 when malformed or out of [min, max]. */
static long
int_arg(const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

/* "10s:50,20s:50,5s:0" -> stages; false (with err) on a malformed item. */
static bool
parse_stages(const char *s, lg_stage *st, size_t *n, char *err, size_t errcap)
{
	char buf[1024];
	if (strlen(s) >= sizeof buf) {
		snprintf(err, errcap, "too long");
		return false;
	}
	strcpy(buf, s);
	*n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		if (colon == NULL) {
			snprintf(err, errcap, "stage %zu \"%s\": expected DURATION:TARGET", *n + 1, tok);
			return false;
		}
		*colon = '\0';
		int64_t ms = lg_parse_duration_ms(tok);
		char *end;
		double t = strtod(colon + 1, &end);
		if (ms < 0 || ms > 0x7fffffff) {
			snprintf(err, errcap, "stage %zu: bad duration \"%s\"", *n + 1, tok);
			return false;
		}
		if (end == colon + 1 || *end || !(t >= 0) || !isfinite(t)) {
			snprintf(err, errcap, "stage %zu: bad target \"%s\"", *n + 1, colon + 1);
			return false;
		}
		if (*n == MAX_STAGES) {
			snprintf(err, errcap, "more than %d stages", MAX_STAGES);
			return false;
		}
		st[*n].duration_ms = (int)ms;
		st[*n].target = t;
		(*n)++;
	}
	if (*n == 0) {
		snprintf(err, errcap, "no stages");
		return false;
	}
	return true;
}

/*
 * "metric:expr" or a bare duration expression ("p(95)<500", "avg<200", "max<1000", "med<..",
 * "min<..") appended to the thresholds object th; false when the metric cannot be told.
 */
static bool
add_threshold(json_t *th, const char *arg)
{
	const char *colon = strchr(arg, ':');
	char metric[64];
	const char *expr;

	if (colon && (size_t)(colon - arg) < sizeof metric) {
		memcpy(metric, arg, (size_t)(colon - arg));
		metric[colon - arg] = '\0';
		expr = colon + 1;
	} else if (strncmp(arg, "p(", 2) == 0 || strncmp(arg, "avg", 3) == 0 || strncmp(arg, "med", 3) == 0 ||
	           strncmp(arg, "max", 3) == 0 || strncmp(arg, "min", 3) == 0) {
		strcpy(metric, "http_req_duration");
		expr = arg;
	} else {
		return false;
	}
	json_t *list = json_object_get(th, metric);
	if (list == NULL) {
		list = json_array();
		json_object_set_new(th, metric, list);
	}
	json_array_append_new(list, json_string(expr));
	return true;
}

static void
human(FILE *f, const char *url, const json_t *rep, const lg_config *cfg)
{
	const json_t *lat = json_object_get(rep, "latencyMs");
	const char *k;
	json_t *v;

	fprintf(f, "%s, %s loop", url, json_string_value(json_object_get(rep, "mode")));
	if (cfg->mode == LG_OPEN)
		fprintf(f, " at %.1f req/s (at most %d connections)", cfg->rate, cfg->concurrency);
	else
		fprintf(f, ", %d connections", (int)json_integer_value(json_object_get(rep, "concurrency")));
	fprintf(f, ", %d threads, %.2f s\n", (int)json_integer_value(json_object_get(rep, "threads")),
	        (double)json_integer_value(json_object_get(rep, "durationMs")) / 1000);
	fprintf(f, "  requests     %lld (%.1f/s), errors %lld (%.2f%%), connections opened %lld\n",
	        (long long)json_integer_value(json_object_get(rep, "requests")),
	        json_number_value(json_object_get(rep, "rps")),
	        (long long)json_integer_value(json_object_get(rep, "errors")),
	        100 * json_number_value(json_object_get(rep, "errorRate")),
	        (long long)json_integer_value(json_object_get(rep, "connectionsOpened")));
	fprintf(f, "  latency ms   min %.3f  mean %.3f  p50 %.3f  p90 %.3f  p95 %.3f  p99 %.3f  max %.3f\n",
	        json_number_value(json_object_get(lat, "min")), json_number_value(json_object_get(lat, "mean")),
	        json_number_value(json_object_get(lat, "p50")), json_number_value(json_object_get(lat, "p90")),
	        json_number_value(json_object_get(lat, "p95")), json_number_value(json_object_get(lat, "p99")),
	        json_number_value(json_object_get(lat, "max")));
	if (json_object_get(rep, "grpcStatus")) {
		fprintf(f, "  grpc-status ");
		json_object_foreach((json_t *)json_object_get(rep, "grpcStatus"), k, v)
		    fprintf(f, " %s: %lld", k, (long long)json_integer_value(v));
		fprintf(f, "\n");
	}
	fprintf(f, "  status      ");
	json_object_foreach((json_t *)json_object_get(rep, "statusCodes"), k, v)
	    fprintf(f, " %s: %lld", k, (long long)json_integer_value(v));
	fprintf(f, "\n");
	if (json_object_size(json_object_get(rep, "errorKinds"))) {
		fprintf(f, "  errors      ");
		json_object_foreach((json_t *)json_object_get(rep, "errorKinds"), k, v)
		    fprintf(f, " %s: %lld", k, (long long)json_integer_value(v));
		fprintf(f, "\n");
	}
	fprintf(f, "  received     %.2f MiB\n",
	        (double)json_integer_value(json_object_get(rep, "bytesReceived")) / 1048576.0);
}

/* Reads a whole file; NULL (errno set) on failure. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 65536, n = 0;
	uint8_t *b = malloc(cap);
	while (b != NULL) {
		size_t got = fread(b + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		if (cap >= ((size_t)256 << 20)) { /* larger than any descriptor set or message we accept */
			free(b);
			b = NULL;
			errno = EFBIG;
			break;
		}
		uint8_t *nb = realloc(b, cap * 2);
		if (nb == NULL)
			free(b);
		b = nb;
		cap *= 2;
	}
	if (b != NULL && ferror(f)) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = n;
	return b;
}

/* gRPC mode: the descriptor set and the JSON message become the path and the encoded message. */
static int
grpc_request(const char *descset, const char *method, const char *data, const char *data_file, char **path,
             uint8_t **msg, size_t *msglen)
{
	char err[512];
	size_t dlen = 0;
	if (data && data_file)
		return bad("--data-file", "give --data or --data-file, not both");
	if (method == NULL || strcmp(method, "GET") == 0)
		return bad("--method", "gRPC mode needs --method pkg.Service/Method");
	uint8_t *fds = slurp(descset, &dlen);
	if (fds == NULL) {
		fprintf(stderr, "mockarty-load: --descriptor-set: %s: %s\n", descset, strerror(errno));
		return 2;
	}
	char *text = NULL;
	if (data_file != NULL) {
		size_t tl;
		text = (char *)slurp(data_file, &tl);
		if (text == NULL) {
			free(fds);
			fprintf(stderr, "mockarty-load: --data-file: %s: %s\n", data_file, strerror(errno));
			return 2;
		}
		char *t2 = realloc(text, tl + 1);
		if (t2 == NULL) {
			free(text);
			free(fds);
			return 3;
		}
		text = t2;
		text[tl] = '\0';
	}
	json_error_t je;
	json_t *m = json_loads(text ? text : data ? data : "{}", 0, &je);
	free(text);
	if (m == NULL) {
		free(fds);
		snprintf(err, sizeof err, "not JSON: %s (line %d, column %d)", je.text, je.line, je.column);
		return bad(data_file ? "--data-file" : "--data", err);
	}
	bool ok = lg_grpc_prepare(fds, dlen, method, m, path, msg, msglen, err, sizeof err);
	json_decref(m);
	free(fds);
	if (!ok) {
		const char *arg = strncmp(err, "method", 6) == 0          ? "--method"
		                  : strncmp(err, "descriptorSet", 13) == 0 ? "--descriptor-set"
		                                                           : (data_file ? "--data-file" : "--data");
		return bad(arg, err);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"connections", required_argument, 0, 'c'}, {"threads", required_argument, 0, 't'},
	    {"duration", required_argument, 0, 'd'},    {"requests", required_argument, 0, 'n'},
	    {"rate", required_argument, 0, 'r'},        {"header", required_argument, 0, 'H'},
	    {"method", required_argument, 0, 'm'},      {"body", required_argument, 0, 'b'},
	    {"stages", required_argument, 0, 's'},      {"timeout", required_argument, 0, 'T'},
	    {"json", no_argument, 0, 'j'},              {"threshold", required_argument, 0, 'x'},
	    {"help", no_argument, 0, 'h'},              {"descriptor-set", required_argument, 0, 'D'},
	    {"data", required_argument, 0, 'J'},        {"data-file", required_argument, 0, 'F'},
	    {"streams", required_argument, 0, 'S'},     {"deadline", required_argument, 0, 'E'},
	    {0, 0, 0, 0}};
	const char *descset = NULL, *data = NULL, *data_file = NULL;
	lg_grpc grpc = {0};
	const char *headers[MAX_HEADERS];
	size_t nheaders = 0;
	lg_stage stages[MAX_STAGES];
	size_t nstages = 0;
	lg_request req = {.method = "GET"};
	lg_config cfg = {.mode = LG_CLOSED, .concurrency = 10, .threads = 2};
	bool json = false, duration_given = false;
	json_t *th = json_object();
	char err[512];
	int o;

	while ((o = getopt_long(argc, argv, "c:t:d:n:H:m:h", opts, NULL)) != -1) {
		long v;
		char *end;
		switch (o) {
		case 'c':
			if ((v = int_arg(optarg, 1, 100000)) < 0)
				return bad("-c", "expected a number of connections between 1 and 100000");
			cfg.concurrency = (int)v;
			break;
		case 't':
			if ((v = int_arg(optarg, 1, 256)) < 0)
				return bad("-t", "expected a number of threads between 1 and 256");
			cfg.threads = (int)v;
			break;
		case 'd': {
			int64_t ms = lg_parse_duration_ms(optarg);
			if (ms <= 0 || ms > 0x7fffffff)
				return bad("-d", "expected a duration like 10s, 500ms or 2m");
			cfg.duration_ms = (int)ms;
			duration_given = true;
			break;
		}
		case 'n':
			errno = 0;
			cfg.max_requests = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || cfg.max_requests == 0 || optarg[0] == '-')
				return bad("-n", "expected a positive number of requests");
			break;
		case 'r':
			errno = 0;
			cfg.rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(cfg.rate > 0) || cfg.rate > 1e7)
				return bad("--rate", "expected requests per second, > 0");
			cfg.mode = LG_OPEN;
			break;
		case 'H':
			if (nheaders == MAX_HEADERS)
				return bad("-H", "too many headers");
			if (strchr(optarg, ':') == NULL || optarg[0] == ':')
				return bad("-H", "expected \"Name: value\"");
			headers[nheaders++] = optarg;
			break;
		case 'm':
			req.method = optarg;
			break;
		case 'b':
			req.body = optarg;
			req.body_len = strlen(optarg);
			break;
		case 's':
			if (!parse_stages(optarg, stages, &nstages, err, sizeof err))
				return bad("--stages", err);
			break;
		case 'T':
			if ((v = int_arg(optarg, 1, 3600000)) < 0)
				return bad("--timeout", "expected milliseconds between 1 and 3600000");
			cfg.timeout_ms = (int)v;
			break;
		case 'j':
			json = true;
			break;
		case 'x':
			if (!add_threshold(th, optarg))
				return bad("--threshold", "expected METRIC:EXPR (http_req_duration, http_req_failed, "
				                          "http_reqs) or a duration expression like p(95)<500");
			break;
		case 'D':
			descset = optarg;
			break;
		case 'J':
			data = optarg;
			break;
		case 'F':
			data_file = optarg;
			break;
		case 'S':
			if ((v = int_arg(optarg, 1, 1000)) < 0)
				return bad("--streams", "expected a number of streams per connection between 1 and 1000");
			grpc.streams = (int)v;
			break;
		case 'E':
			if ((v = int_arg(optarg, 1, 3600000)) < 0)
				return bad("--deadline", "expected milliseconds between 1 and 3600000");
			grpc.deadline_ms = (int)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return bad("URL", optind >= argc ? "missing" : "exactly one URL is expected");
	}
	req.url = argv[optind];
	uint8_t *gmsg = NULL;
	char *gpath = NULL;
	if (descset == NULL && (data || data_file || grpc.streams || grpc.deadline_ms))
		return bad("--descriptor-set", "gRPC options (--data, --data-file, --streams, --deadline) need it");
	if (descset != NULL) {
		int rc = grpc_request(descset, req.method, data, data_file, &gpath, &gmsg, &grpc.message_len);
		if (rc != 0)
			return rc;
		grpc.target = argv[optind];
		grpc.path = gpath;
		grpc.message = gmsg;
		grpc.metadata = headers;
		grpc.nmetadata = nheaders;
		cfg.grpc = &grpc;
	}
	req.headers = headers;
	req.nheaders = nheaders;
	cfg.requests = &req;
	cfg.nrequests = 1;
	cfg.stages = nstages ? stages : NULL;
	cfg.nstages = nstages;
	if (!duration_given && cfg.max_requests == 0 && nstages == 0)
		cfg.duration_ms = 10000;

	/* thresholds are checked before the run against an empty report, so typos fail fast */
	if (json_object_size(th)) {
		bool p;
		json_t *empty = json_pack("{s:{},s:f,s:f,s:i,s:i}", "latencyMs", "errorRate", 0.0, "rps", 0.0,
		                          "requests", 0, "errors", 0);
		json_t *res = lg_thresholds_eval(empty, th, &p, err, sizeof err);
		json_decref(empty);
		if (res == NULL)
			return bad("--threshold", err);
		json_decref(res);
	}

	lg_run *r = lg_start(&cfg, err, sizeof err);
	if (r == NULL) {
		const char *arg = strncmp(err, "grpc.target", 11) == 0           ? "HOST:PORT"
		                  : strncmp(err, "grpc.metadata", 13) == 0       ? "-H"
		                  : strncmp(err, "requests[0].url", 15) == 0      ? "URL"
		                  : strncmp(err, "requests[0].method", 18) == 0 ? "-m"
		                  : strncmp(err, "requests[0].headers", 19) == 0 ? "-H"
		                                                                  : "config";
		fprintf(stderr, "mockarty-load: %s: %s\n", arg, err);
		return strncmp(err, "out of memory", 13) == 0 ? 3 : 2;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	bool tty = isatty(2);
	while (!lg_wait(r, interrupted ? 100 : 1000)) {
		if (interrupted) {
			lg_stop(r);
			continue;
		}
		if (tty) {
			json_t *p = lg_progress(r);
			if (p)
				fprintf(stderr, "\r%6.1fs  %10lld req  %9.1f req/s  p50 %.3f ms  p99 %.3f ms  errors %lld  "
				                "busy %lld ",
				        (double)json_integer_value(json_object_get(p, "elapsedMs")) / 1000,
				        (long long)json_integer_value(json_object_get(p, "requests")),
				        json_number_value(json_object_get(p, "rps")),
				        json_number_value(json_object_get(p, "p50Ms")),
				        json_number_value(json_object_get(p, "p99Ms")),
				        (long long)json_integer_value(json_object_get(p, "errors")),
				        (long long)json_integer_value(json_object_get(p, "concurrency")));
			json_decref(p);
		}
	}
	if (tty)
		fprintf(stderr, "\r\033[K");
	json_t *rep = lg_report(r);
	lg_free(r);
	if (rep == NULL) {
		fprintf(stderr, "mockarty-load: the run produced no report (out of memory)\n");
		return 3;
	}
	int rc = 0;
	json_t *tres = NULL;
	bool passed = true;
	if (json_object_size(th)) {
		tres = lg_thresholds_eval(rep, th, &passed, err, sizeof err);
		if (tres == NULL)
			return bad("--threshold", err);
		if (!passed)
			rc = 1;
	}
	if (json) {
		if (tres) {
			json_object_set(rep, "thresholds", tres);
			json_object_set_new(rep, "passed", json_boolean(passed));
		}
		char *s = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
	} else {
		human(stdout, req.url, rep, &cfg);
		size_t i;
		json_t *e;
		json_array_foreach(tres, i, e)
		    printf("  threshold    %s %s:%s (actual %g)\n", json_is_true(json_object_get(e, "passed")) ? "PASS" : "FAIL",
		           json_string_value(json_object_get(e, "metric")),
		           json_string_value(json_object_get(e, "expr")),
		           json_number_value(json_object_get(e, "actual")));
	}
	json_decref(tres);
	json_decref(rep);
	json_decref(th);
	free(gmsg);
	free(gpath);
	return rc;
}
