/*
 * loadgen.h - the HTTP/1.1 load generator (libmockarty-loadgen.a): used by the runner agent for
 * performance tasks and by the mockarty-load CLI. The first part is the shared contract of issue 4
 * (section 4); below it are the module interfaces of the library itself (response parser,
 * histogram, durations) which tests, the fuzz target and the CLI use too.
 */
#ifndef MOCKARTY_LOADGEN_H
#define MOCKARTY_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---- contract (issue 4, section 4) ---- */

typedef struct lg_request {
	const char *method;
	const char *url; /* http://host:port/path?query (no TLS) */
	const char *const *headers;
	size_t nheaders; /* "Name: value" */
	const char *body;
	size_t body_len;
} lg_request;
typedef struct lg_stage {
	int duration_ms;
	double target;
} lg_stage; /* concurrency (closed) or req/s (open) */
typedef enum lg_mode { LG_CLOSED, LG_OPEN } lg_mode;
typedef struct lg_config {
	const lg_request *requests;
	size_t nrequests; /* sent round-robin per connection */
	lg_mode mode;
	int concurrency;        /* closed: connections; open: max connections */
	double rate;            /* open: requests per second */
	int duration_ms;        /* 0 = unlimited (max_requests or stages decide) */
	uint64_t max_requests;  /* 0 = unlimited (duration or stages decide) */
	const lg_stage *stages; /* ramp: linear from previous target */
	size_t nstages;
	int threads;    /* event-loop threads; 0 = 1 */
	int timeout_ms; /* per request; 0 = 10000 */
	/* gRPC unary run instead of HTTP (then requests may be empty): see below. NULL = HTTP. */
	const struct lg_grpc *grpc;
} lg_config;

/* ---- gRPC unary load (grpc.c, grpc_msg.c): h2c with nghttp2, one message framed once ---- */

#define LG_GRPC_CODES 17 /* grpc-status 0 (OK) .. 16 (UNAUTHENTICATED) */

typedef struct lg_grpc {
	const char *target;     /* host:port (h2c, no TLS) */
	const char *path;       /* "/pkg.Service/Method" */
	const uint8_t *message; /* the serialized request message (not framed) */
	size_t message_len;
	const char *const *metadata; /* "key: value" (lower-case keys are sent as given) */
	size_t nmetadata;
	int streams;     /* concurrent streams per connection; 0 = 1 */
	int deadline_ms; /* sent as grpc-timeout; 0 = none */
} lg_grpc;

/* The canonical name of a gRPC status code ("OK", "UNAVAILABLE", ...); "UNKNOWN" out of range. */
const char *lg_grpc_status_name(int code);
/* Parses a grpc-status header value (decimal 0..16, nothing else); -1 if malformed. */
int lg_grpc_parse_status(const char *v, size_t len);
/* The 5-byte gRPC frame prefix (uncompressed, big-endian length) followed by msg: a malloc'd
 * buffer of len + 5 bytes, NULL when out of memory. */
uint8_t *lg_grpc_frame(const uint8_t *msg, size_t len);
/* A grpc-timeout value for ms milliseconds ("250m", or "<n>S" when the number would exceed the
 * 8 digits the protocol allows); false if ms <= 0 or cap is too small. */
bool lg_grpc_timeout_value(int ms, char *buf, size_t cap);

/* How one finished call counts. http_status: the :status seen (0 none); grpc_status: -1 when no
 * grpc-status was seen (trailers or trailers-only headers); reset: the stream was reset or the
 * connection failed before it ended. */
typedef enum lg_grpc_outcome {
	LG_GRPC_OK,          /* grpc-status 0 */
	LG_GRPC_STATUS,      /* a non-zero grpc-status: an error named by its code */
	LG_GRPC_HTTP_STATUS, /* :status other than 200 without grpc-status: the "status" error kind */
	LG_GRPC_NO_STATUS,   /* the stream ended without grpc-status: the "parse" error kind */
	LG_GRPC_RESET        /* reset / connection lost: the "read" error kind */
} lg_grpc_outcome;
lg_grpc_outcome lg_grpc_classify(int http_status, int grpc_status, bool reset);

/* Prepares a unary call from a FileDescriptorSet: method "pkg.Service/Method" (a leading '/' is
 * accepted) must exist and be unary; message (a JSON object) is encoded with the codec of
 * libmockarty-core. On success *path ("/pkg.Service/Method") and *out (the serialized message,
 * possibly empty) are malloc'd. False + err naming what is wrong ("method", "message: $.a.b ...",
 * "descriptorSet: ..."). */
bool lg_grpc_prepare(const uint8_t *fds, size_t fdslen, const char *method, const json_t *message,
                     char **path, uint8_t **out, size_t *outlen, char *err, size_t errcap);
typedef struct lg_run lg_run;

/* Validates and copies cfg (requests, headers and bodies included), resolves the hosts, starts the
 * event-loop threads and returns at once. NULL + err (naming the field) on a bad config. */
lg_run *lg_start(const lg_config *cfg, char *err, size_t errcap);
/* Thread-safe: asks the run to end early (requests in flight are abandoned, not counted). */
void lg_stop(lg_run *r);
/* Waits up to timeout_ms (< 0: forever); true once the run has finished. */
bool lg_wait(lg_run *r, int timeout_ms);
/* Live: {"elapsedMs","requests","errors","rps","p50Ms","p95Ms","p99Ms","concurrency"}; new reference. */
json_t *lg_progress(lg_run *r);
/* Final (after lg_wait returned true; NULL before): {"mode","durationMs","requests","errors","rps",
 * "errorRate","latencyMs":{"min","mean","p50","p90","p95","p99","max"},"statusCodes":{"200":n},
 * "errorKinds":{"timeout":n,"connect":n,...},"timeline":[{"second","requests","errors","p50Ms",
 * "p99Ms"}],"bytesReceived","connectionsOpened"}; new reference. */
json_t *lg_report(lg_run *r);
/* Stops the run if needed, joins every thread and frees it. NULL is a no-op. */
void lg_free(lg_run *r);

/* thresholds: {"http_req_duration":["p(95)<500","avg<200"],"http_req_failed":["rate<0.01"],
 * "http_reqs":["rate>100"]} (the k6 spelling; also accepts {"p95":500,"errorRate":0.01}). Returns a
 * new array [{"metric","expr","actual","passed"}], sets *passed; NULL + err on an unparsable
 * expression. */
json_t *lg_thresholds_eval(const json_t *report, const json_t *thresholds, bool *passed, char *err,
                           size_t errcap);

/* ---- library internals shared with the tests, the fuzz target and the CLI ---- */

/* Incremental HTTP/1.1 response parser (http_parse.c). Fed whatever read() returned; keeps only
 * the bytes of an unfinished header line (bounded by LG_MAX_LINE), skips bodies by length. */
#define LG_MAX_LINE 8192   /* status line or one header line */
#define LG_MAX_HEADERS 128 /* header (and trailer) lines per response */

typedef enum lg_parse_rc { LG_PARSE_MORE = 0, LG_PARSE_DONE = 1, LG_PARSE_ERROR = -1 } lg_parse_rc;

typedef struct lg_resp_parser {
	int state;
	int status;          /* once the status line is parsed */
	int minor;           /* HTTP/1.<minor> */
	bool keep_alive;     /* connection may be reused after this response */
	bool chunked;        /* Transfer-Encoding: chunked */
	bool no_body;        /* HEAD, 1xx, 204, 304 */
	bool head;           /* the request was HEAD */
	int64_t content_len; /* -1 = none seen */
	uint64_t remaining;  /* bytes of body or of the current chunk still to skip */
	uint64_t body_bytes; /* body bytes seen (chunk framing excluded) */
	int nlines;          /* header + trailer lines seen */
	size_t linelen;      /* bytes held in line */
	const char *error;   /* static text once LG_PARSE_ERROR was returned */
	char line[LG_MAX_LINE];
} lg_resp_parser;

/* Resets p for a new response; head = the request was HEAD (no body whatever the headers say). */
void lg_resp_init(lg_resp_parser *p, bool head);
/* Consumes bytes of buf[0..len). Returns LG_PARSE_DONE with *used = bytes of this response (the
 * rest belongs to whatever follows), LG_PARSE_MORE with *used = len, or LG_PARSE_ERROR with
 * p->error set (the parser must then be re-initialised). */
lg_parse_rc lg_resp_feed(lg_resp_parser *p, const char *buf, size_t len, size_t *used);
/* The peer closed the connection: LG_PARSE_DONE if that legitimately ends the response (a body
 * delimited by close), else LG_PARSE_ERROR ("connection closed before the response ended"). */
lg_parse_rc lg_resp_eof(lg_resp_parser *p);

/* Log-linear latency histogram (histogram.c) in nanoseconds: exact below 128 ns, then 64 buckets
 * per power of two (bucket width <= 1/64 of its value; the midpoint is reported, so <= 0.8 %
 * relative error), up to 2^42 ns (about 73 minutes; larger values are clamped). */
#define LG_HIST_BUCKETS (128 + 35 * 64)
typedef struct lg_hist {
	uint64_t counts[LG_HIST_BUCKETS];
	uint64_t total;
} lg_hist;

int lg_hist_index(uint64_t ns);
/* Representative value (midpoint) of a bucket, in nanoseconds. */
double lg_hist_value(int idx);
void lg_hist_add(lg_hist *h, uint64_t ns);
/* Value at percentile pct (0..100) in nanoseconds; 0 when empty. */
double lg_hist_percentile(const lg_hist *h, double pct);
/* dst += src */
void lg_hist_merge(lg_hist *dst, const lg_hist *src);

/* Durations: "10s", "500ms", "2m", "1h", "1m30s", or a plain number of seconds. -1 if malformed or
 * out of range (more than 30 days). */
int64_t lg_parse_duration_ms(const char *s);

#endif
