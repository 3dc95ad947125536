/*
 * test_run.c - whole runs against a small epoll server started by the test on a free loopback
 * port: request counts and status codes, keep-alive reuse (the server accepts exactly as many
 * connections as the run has), open-loop rate, timeouts and refused connections counted as
 * errors of their kind, stages, early stop, and config errors naming the field. Each run is
 * bounded to about a second.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "loadgen.h"

/* ---- the in-test server ---- */

#define MAXFD 4096
typedef struct srv {
	int lfd, epfd, port;
	pthread_t th;
	atomic_int accepted;
	atomic_long served;
	atomic_bool stop;
	char *buf[MAXFD];
	size_t len[MAXFD];
} srv;

static void
reply(int fd, const char *s)
{
	size_t n = strlen(s), off = 0;
	while (off < n) {
		ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

/* Answers every complete request in the connection's buffer; false when it closed the socket. */
static bool
serve(srv *s, int fd)
{
	for (;;) {
		char *b = s->buf[fd], *end = memmem(b, s->len[fd], "\r\n\r\n", 4);
		if (end == NULL)
			return true;
		size_t hl = (size_t)(end - b) + 4, cl = 0;
		char *p = strcasestr(b, "content-length:");
		if (p && p < end)
			cl = strtoul(p + 15, NULL, 10);
		if (s->len[fd] < hl + cl)
			return true;
		char path[128] = "";
		sscanf(b, "%*s %127s", path);
		memmove(b, b + hl + cl, s->len[fd] - hl - cl);
		s->len[fd] -= hl + cl;
		atomic_fetch_add(&s->served, 1);
		if (strcmp(path, "/slow") == 0)
			continue; /* never answered */
		if (strcmp(path, "/close") == 0) {
			reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
			close(fd);
			s->len[fd] = 0;
			return false;
		}
		if (strcmp(path, "/status/503") == 0)
			reply(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
		else if (strcmp(path, "/chunked") == 0)
			reply(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nT: 1\r\n\r\n");
		else
			reply(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");
	}
}

static void *
srv_main(void *arg)
{
	srv *s = arg;
	struct epoll_event evs[64];
	while (!atomic_load(&s->stop)) {
		int n = epoll_wait(s->epfd, evs, 64, 20);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == s->lfd) {
				int c;
				while ((c = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					if (c >= MAXFD) {
						close(c);
						continue;
					}
					atomic_fetch_add(&s->accepted, 1);
					if (s->buf[c] == NULL)
						s->buf[c] = malloc(65536);
					s->len[c] = 0;
					struct epoll_event ev = {.events = EPOLLIN, .data.fd = c};
					epoll_ctl(s->epfd, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			ssize_t r = read(fd, s->buf[fd] + s->len[fd], 65536 - s->len[fd]);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				close(fd);
				continue;
			}
			s->len[fd] += (size_t)r;
			serve(s, fd);
		}
	}
	return NULL;
}

static srv *
srv_start(void)
{
	srv *s = calloc(1, sizeof *s);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s->lfd, 512), 0);
	getsockname(s->lfd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	s->epfd = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = s->lfd};
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev);
	pthread_create(&s->th, NULL, srv_main, s);
	return s;
}

static void
srv_stop(srv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	close(s->lfd);
	close(s->epfd);
	for (int i = 0; i < MAXFD; i++)
		free(s->buf[i]);
	free(s);
}

/* ---- helpers ---- */

static srv *S;

static int
setup(void **state)
{
	(void)state;
	S = srv_start();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	srv_stop(S);
	return 0;
}

static char URLS[4][128];

static const char *
url(int i, const char *path)
{
	snprintf(URLS[i], sizeof URLS[i], "http://127.0.0.1:%d%s", S->port, path);
	return URLS[i];
}

/* Runs cfg to the end (bounded to 5 s) and returns its report. */
static json_t *
run(const lg_config *cfg)
{
	char err[256];
	lg_run *r = lg_start(cfg, err, sizeof err);
	if (r == NULL)
		fail_msg("lg_start: %s", err);
	assert_true(lg_wait(r, 5000));
	json_t *rep = lg_report(r);
	lg_free(r);
	assert_non_null(rep);
	return rep;
}

static long long
ival(const json_t *o, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", path);
	const json_t *v = o;
	for (char *save = NULL, *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save))
		v = json_object_get(v, t);
	return json_integer_value(v);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- tests ---- */

static void
test_closed_loop_counts_and_keepalive(void **state)
{
	(void)state;
	const char *hdrs[] = {"X-Test: 1"};
	lg_request rq = {.method = "GET", .url = url(0, "/ok"), .headers = hdrs, .nheaders = 1};
	lg_config cfg = {.requests = &rq, .nrequests = 1, .mode = LG_CLOSED, .concurrency = 4, .threads = 2,
	                 .max_requests = 500};
	int before = atomic_load(&S->accepted);
	json_t *rep = run(&cfg);
	assert_int_equal(ival(rep, "requests"), 500);
	assert_int_equal(ival(rep, "errors"), 0);
	assert_int_equal(ival(rep, "statusCodes.200"), 500);
	/* keep-alive: one connection per slot, reused for every request */
	assert_int_equal(atomic_load(&S->accepted) - before, 4);
	assert_int_equal(ival(rep, "connectionsOpened"), 4);
	assert_string_equal(json_string_value(json_object_get(rep, "mode")), "closed");
	const json_t *lat = json_object_get(rep, "latencyMs");
	assert_true(json_number_value(json_object_get(lat, "p50")) > 0);
	assert_true(json_number_value(json_object_get(lat, "p99")) >= json_number_value(json_object_get(lat, "p50")));
	assert_true(ival(rep, "bytesReceived") >= 500 * 60);
	json_decref(rep);
}

static void
test_duration_mix_and_status_errors(void **state)
{
	(void)state;
	lg_request rq[3] = {{.url = url(0, "/ok")}, {.method = "POST", .url = url(1, "/status/503"), .body = "{}",
	                                              .body_len = 2},
	                    {.url = url(2, "/chunked")}};
	lg_config cfg = {.requests = rq, .nrequests = 3, .concurrency = 3, .threads = 1, .duration_ms = 400};
	int before = atomic_load(&S->accepted);
	double t0 = now_s();
	json_t *rep = run(&cfg);
	double el = now_s() - t0;
	assert_true(el > 0.35 && el < 1.5);
	long long n = ival(rep, "requests");
	assert_true(n > 30);
	assert_true(ival(rep, "statusCodes.503") > 0);
	assert_true(ival(rep, "statusCodes.200") > 0);
	assert_int_equal(ival(rep, "statusCodes.503"), ival(rep, "errorKinds.status"));
	assert_int_equal(ival(rep, "errors"), ival(rep, "statusCodes.503"));
	assert_int_equal(atomic_load(&S->accepted) - before, 3);
	long long durms = ival(rep, "durationMs");
	assert_true(durms >= 395 && durms < 600);
	json_decref(rep);
}

static void
test_connection_close_responses(void **state)
{
	(void)state;
	lg_request rq = {.url = url(0, "/close")};
	lg_config cfg = {.requests = &rq, .nrequests = 1, .concurrency = 2, .max_requests = 40};
	json_t *rep = run(&cfg);
	assert_int_equal(ival(rep, "requests"), 40);
	assert_int_equal(ival(rep, "errors"), 0);
	assert_int_equal(ival(rep, "connectionsOpened"), 40);
	json_decref(rep);
}

static void
test_open_loop_rate(void **state)
{
	(void)state;
	lg_request rq = {.url = url(0, "/ok")};
	lg_config cfg = {.requests = &rq, .nrequests = 1, .mode = LG_OPEN, .rate = 500, .concurrency = 8,
	                 .threads = 2, .duration_ms = 1000};
	json_t *rep = run(&cfg);
	double rps = json_number_value(json_object_get(rep, "rps"));
	long long n = ival(rep, "requests");
	if (fabs(rps - 500) / 500 > 0.10)
		fail_msg("open loop at 500/s achieved %.1f/s (%lld requests)", rps, n);
	assert_true(n >= 450 && n <= 550);
	assert_int_equal(ival(rep, "errors"), 0);
	assert_true(ival(rep, "connectionsOpened") <= 8);
	assert_string_equal(json_string_value(json_object_get(rep, "mode")), "open");
	assert_true(json_array_size(json_object_get(rep, "timeline")) >= 1);
	json_decref(rep);
}

static void
test_open_loop_counts_waiting_time(void **state)
{
	(void)state;
	/* one connection, 50 requests due at once (rate 1e6/s): the last ones wait for the others, and
	 * that wait is latency: the last one, due at the start, completes at the end of the run (a
	 * closed-loop measurement would give it about one round trip, 1/50 of the run) */
	lg_request rq = {.url = url(0, "/ok")};
	lg_config cfg = {.requests = &rq, .nrequests = 1, .mode = LG_OPEN, .rate = 1e6, .concurrency = 1,
	                 .max_requests = 50};
	json_t *rep = run(&cfg);
	assert_int_equal(ival(rep, "requests"), 50);
	const json_t *lat = json_object_get(rep, "latencyMs");
	double mx = json_number_value(json_object_get(lat, "max"));
	double dur = (double)ival(rep, "durationMs");
	if (!(mx >= 0.6 * dur))
		fail_msg("max latency %.3f ms, run %.0f ms: the schedule wait is not counted", mx, dur);
	json_decref(rep);
}

static void
test_timeouts_are_errors(void **state)
{
	(void)state;
	lg_request rq = {.url = url(0, "/slow")};
	lg_config cfg = {.requests = &rq, .nrequests = 1, .concurrency = 2, .timeout_ms = 100, .duration_ms = 450};
	json_t *rep = run(&cfg);
	long long t = ival(rep, "errorKinds.timeout");
	assert_true(t >= 4 && t <= 10);
	assert_int_equal(ival(rep, "errors"), ival(rep, "requests"));
	assert_int_equal(ival(rep, "statusCodes.200"), 0);
	json_decref(rep);
}

static void
test_refused_connections_are_connect_errors(void **state)
{
	(void)state;
	/* a port nobody listens on: bind one, note it, close it */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	char u[64];
	snprintf(u, sizeof u, "http://127.0.0.1:%d/", ntohs(a.sin_port));
	lg_request rq = {.url = u};
	lg_config cfg = {.requests = &rq, .nrequests = 1, .concurrency = 2, .duration_ms = 200};
	json_t *rep = run(&cfg);
	assert_true(ival(rep, "errorKinds.connect") >= 2);
	assert_int_equal(ival(rep, "errors"), ival(rep, "errorKinds.connect"));
	assert_true(json_number_value(json_object_get(rep, "errorRate")) == 1.0);
	json_decref(rep);
}

static void
test_stop_ends_early_and_progress(void **state)
{
	(void)state;
	char err[256];
	lg_request rq = {.url = url(0, "/ok")};
	lg_config cfg = {.requests = &rq, .nrequests = 1, .concurrency = 2, .duration_ms = 30000};
	double t0 = now_s();
	lg_run *r = lg_start(&cfg, err, sizeof err);
	assert_non_null(r);
	assert_false(lg_wait(r, 150));
	json_t *p = lg_progress(r);
	assert_true(ival(p, "requests") > 0);
	assert_true(ival(p, "elapsedMs") >= 100);
	assert_non_null(json_object_get(p, "p95Ms"));
	json_decref(p);
	assert_null(lg_report(r)); /* not before the end */
	lg_stop(r);
	assert_true(lg_wait(r, 2000));
	assert_true(now_s() - t0 < 1.0);
	json_t *rep = lg_report(r);
	assert_true(ival(rep, "durationMs") < 1000);
	json_decref(rep);
	lg_free(r);
}

static void
test_stages_ramp(void **state)
{
	(void)state;
	lg_request rq = {.url = url(0, "/ok")};
	lg_stage st[] = {{300, 6}, {300, 6}, {200, 0}};
	lg_config cfg = {.requests = &rq, .nrequests = 1, .threads = 2, .stages = st, .nstages = 3};
	int before = atomic_load(&S->accepted);
	double t0 = now_s();
	json_t *rep = run(&cfg);
	double el = now_s() - t0;
	assert_true(el > 0.75 && el < 1.5);
	assert_true(ival(rep, "requests") > 50);
	int acc = atomic_load(&S->accepted) - before;
	assert_true(acc >= 1 && acc <= 6);
	json_decref(rep);
}

static void
test_bad_config(void **state)
{
	(void)state;
	static const struct {
		const char *url, *method, *header, *needle;
		int conc;
		lg_mode mode;
		double rate;
	} cases[] = {
	    {"https://x/", NULL, NULL, "requests[0].url: https", 1, LG_CLOSED, 0},
	    {"ftp://x/", NULL, NULL, "requests[0].url", 1, LG_CLOSED, 0},
	    {"http://127.0.0.1:99999/", NULL, NULL, "port", 1, LG_CLOSED, 0},
	    {"http:///x", NULL, NULL, "host", 1, LG_CLOSED, 0},
	    {"http://no-such-host.invalid/", NULL, NULL, "cannot resolve", 1, LG_CLOSED, 0},
	    {"http://127.0.0.1/", "GE T", NULL, "requests[0].method", 1, LG_CLOSED, 0},
	    {"http://127.0.0.1/", NULL, "NoColon", "requests[0].headers[0]", 1, LG_CLOSED, 0},
	    {"http://127.0.0.1/", NULL, "X: a\r\nY: b", "requests[0].headers[0]", 1, LG_CLOSED, 0},
	    {"http://127.0.0.1/", NULL, NULL, "concurrency", -1, LG_CLOSED, 0},
	    {"http://127.0.0.1/", NULL, NULL, "rate", 4, LG_OPEN, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[256] = "";
		const char *h[] = {cases[i].header};
		lg_request rq = {.url = cases[i].url, .method = cases[i].method, .headers = h,
		                 .nheaders = cases[i].header ? 1 : 0};
		lg_config cfg = {.requests = &rq, .nrequests = 1, .concurrency = cases[i].conc, .mode = cases[i].mode,
		                 .rate = cases[i].rate, .duration_ms = 100};
		lg_run *r = lg_start(&cfg, err, sizeof err);
		if (r != NULL)
			fail_msg("case %zu accepted", i);
		if (strstr(err, cases[i].needle) == NULL)
			fail_msg("case %zu: \"%s\" does not mention \"%s\"", i, err, cases[i].needle);
	}
	char err[256];
	lg_config none = {.concurrency = 1, .duration_ms = 10};
	assert_null(lg_start(&none, err, sizeof err));
	assert_non_null(strstr(err, "requests"));
	lg_request rq = {.url = "http://127.0.0.1/"};
	lg_config endless = {.requests = &rq, .nrequests = 1, .concurrency = 1};
	assert_null(lg_start(&endless, err, sizeof err));
	assert_non_null(strstr(err, "duration"));
	lg_stage st[] = {{-5, 1}};
	lg_config badst = {.requests = &rq, .nrequests = 1, .concurrency = 1, .stages = st, .nstages = 1};
	assert_null(lg_start(&badst, err, sizeof err));
	assert_non_null(strstr(err, "stages[0].duration"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_closed_loop_counts_and_keepalive),
	    cmocka_unit_test(test_duration_mix_and_status_errors),
	    cmocka_unit_test(test_connection_close_responses),
	    cmocka_unit_test(test_open_loop_rate),
	    cmocka_unit_test(test_open_loop_counts_waiting_time),
	    cmocka_unit_test(test_timeouts_are_errors),
	    cmocka_unit_test(test_refused_connections_are_connect_errors),
	    cmocka_unit_test(test_stop_ends_early_and_progress),
	    cmocka_unit_test(test_stages_ramp),
	    cmocka_unit_test(test_bad_config),
	};
	return cmocka_run_group_tests_name("run", tests, setup, teardown);
}
