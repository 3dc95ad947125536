/*
 * test_grpc_wire.c - the gRPC part against a small in-process h2c server (nghttp2 server session
 * on a blocking socket): grpc-status read from trailers after the response message, from a
 * trailers-only response, a stream that ends without grpc-status, and an HTTP 503 without any;
 * each classified in the report as the docs say (success, error named by its code, "parse",
 * "status"). Also that the request frame the server receives is the 5-byte prefix + message, with
 * content-type application/grpc, te: trailers, the metadata and grpc-timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <nghttp2/nghttp2.h>

#include "loadgen.h"

#define MAXS 64

typedef struct srv {
	int lfd, port;
	pthread_t th;
	/* what the last request carried (written by the server thread, read after the run) */
	pthread_mutex_t mu;
	uint8_t body[256];
	size_t body_len;
	char ctype[64], te[32], md[64], tmo[32];
	/* per stream of the connection being served */
	char path[MAXS][64];
	int sent[MAXS];
} srv;

typedef struct sconn {
	srv *s;
	int fd;
	nghttp2_session *h;
} sconn;

static const uint8_t reply[] = {0, 0, 0, 0, 2, 0x0a, 0x00};

static ssize_t
s_send(nghttp2_session *h, const uint8_t *d, size_t n, int fl, void *ud)
{
	(void)h;
	(void)fl;
	sconn *c = ud;
	return send(c->fd, d, n, MSG_NOSIGNAL);
}

static int
s_header(nghttp2_session *h, const nghttp2_frame *f, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl,
         uint8_t fl, void *ud)
{
	(void)h;
	(void)fl;
	sconn *c = ud;
	srv *s = c->s;
	int id = f->hd.stream_id % MAXS;
	char *dst = NULL;
	size_t cap = 0;
	if (nl == 5 && memcmp(n, ":path", 5) == 0)
		dst = s->path[id], cap = sizeof s->path[id];
	else if (nl == 12 && memcmp(n, "content-type", 12) == 0)
		dst = s->ctype, cap = sizeof s->ctype;
	else if (nl == 2 && memcmp(n, "te", 2) == 0)
		dst = s->te, cap = sizeof s->te;
	else if (nl == 5 && memcmp(n, "x-run", 5) == 0)
		dst = s->md, cap = sizeof s->md;
	else if (nl == 12 && memcmp(n, "grpc-timeout", 12) == 0)
		dst = s->tmo, cap = sizeof s->tmo;
	if (dst) {
		pthread_mutex_lock(&s->mu);
		snprintf(dst, cap, "%.*s", (int)vl, (const char *)v);
		pthread_mutex_unlock(&s->mu);
	}
	return 0;
}

static int
s_data(nghttp2_session *h, uint8_t fl, int32_t id, const uint8_t *d, size_t n, void *ud)
{
	(void)h;
	(void)fl;
	(void)id;
	sconn *c = ud;
	pthread_mutex_lock(&c->s->mu);
	if (n <= sizeof c->s->body) {
		memcpy(c->s->body, d, n);
		c->s->body_len = n;
	}
	pthread_mutex_unlock(&c->s->mu);
	return 0;
}

/* The response message, then (unless the path says otherwise) trailers with the path's status. */
static ssize_t
s_read(nghttp2_session *h, int32_t id, uint8_t *buf, size_t len, uint32_t *fl, nghttp2_data_source *src,
       void *ud)
{
	sconn *c = ud;
	const char *p = src->ptr;
	(void)len;
	memcpy(buf, reply, sizeof reply);
	*fl |= NGHTTP2_DATA_FLAG_EOF;
	if (strstr(p, "NoStatus") == NULL) {
		const char *code = strstr(p, "Unavail") ? "14" : "0";
		nghttp2_nv tr[] = {{(uint8_t *)"grpc-status", (uint8_t *)code, 11, strlen(code), 0}};
		*fl |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
		nghttp2_submit_trailer(h, id, tr, 1);
	}
	(void)c;
	return sizeof reply;
}

static int
s_frame(nghttp2_session *h, const nghttp2_frame *f, void *ud)
{
	sconn *c = ud;
	if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM) || f->hd.stream_id == 0)
		return 0;
	const char *p = c->s->path[f->hd.stream_id % MAXS];
	if (strstr(p, "Http503")) {
		nghttp2_nv nv[] = {{(uint8_t *)":status", (uint8_t *)"503", 7, 3, 0}};
		nghttp2_submit_response(h, f->hd.stream_id, nv, 1, NULL);
	} else if (strstr(p, "Only")) { /* trailers-only: one HEADERS frame ending the stream */
		nghttp2_nv nv[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
		                   {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0},
		                   {(uint8_t *)"grpc-status", (uint8_t *)"5", 11, 1, 0}};
		nghttp2_submit_response(h, f->hd.stream_id, nv, 3, NULL);
	} else {
		nghttp2_nv nv[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
		                   {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0}};
		nghttp2_data_provider dp = {.source.ptr = (void *)p, .read_callback = s_read};
		nghttp2_submit_response(h, f->hd.stream_id, nv, 2, &dp);
	}
	return 0;
}

static void *
srv_main(void *arg)
{
	srv *s = arg;
	nghttp2_session_callbacks *cb;
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_send_callback(cb, s_send);
	nghttp2_session_callbacks_set_on_header_callback(cb, s_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, s_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, s_frame);
	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			break;
		sconn c = {.s = s, .fd = fd};
		nghttp2_session_server_new(&c.h, cb, &c);
		nghttp2_submit_settings(c.h, NGHTTP2_FLAG_NONE, NULL, 0);
		nghttp2_session_send(c.h);
		uint8_t buf[16384];
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof buf, 0);
			if (n <= 0 || nghttp2_session_mem_recv(c.h, buf, (size_t)n) < 0 ||
			    nghttp2_session_send(c.h) != 0)
				break;
		}
		nghttp2_session_del(c.h);
		close(fd);
	}
	nghttp2_session_callbacks_del(cb);
	return NULL;
}

static int
setup(void **state)
{
	srv *s = calloc(1, sizeof *s);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->lfd, 16) != 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &l) != 0)
		return -1;
	s->port = ntohs(a.sin_port);
	pthread_mutex_init(&s->mu, NULL);
	pthread_create(&s->th, NULL, srv_main, s);
	*state = s;
	return 0;
}

static int
teardown(void **state)
{
	srv *s = *state;
	shutdown(s->lfd, SHUT_RDWR);
	close(s->lfd);
	pthread_join(s->th, NULL);
	free(s);
	return 0;
}

/* Runs n calls of method on the test server; returns the report. */
static json_t *
run(srv *s, const char *method, int n, const uint8_t *msg, size_t len)
{
	char target[32], path[64], err[256];
	const char *md[] = {"X-Run: unit"};
	snprintf(target, sizeof target, "127.0.0.1:%d", s->port);
	snprintf(path, sizeof path, "/t.S/%s", method);
	lg_grpc g = {.target = target,
	             .path = path,
	             .message = msg,
	             .message_len = len,
	             .metadata = md,
	             .nmetadata = 1,
	             .streams = 4,
	             .deadline_ms = 1500};
	lg_config cfg = {.mode = LG_CLOSED,
	                 .concurrency = 1,
	                 .threads = 1,
	                 .max_requests = (uint64_t)n,
	                 .timeout_ms = 5000,
	                 .grpc = &g};
	lg_run *r = lg_start(&cfg, err, sizeof err);
	assert_non_null(r);
	assert_true(lg_wait(r, 10000));
	json_t *rep = lg_report(r);
	lg_free(r);
	assert_non_null(rep);
	return rep;
}

static json_int_t
geti(const json_t *rep, const char *obj, const char *key)
{
	return json_integer_value(json_object_get(obj ? json_object_get(rep, obj) : rep, key));
}

static void
test_status_from_trailers(void **state)
{
	srv *s = *state;
	const uint8_t msg[] = {0x0a, 0x02, 'h', 'i'};
	json_t *rep = run(s, "Ok", 20, msg, sizeof msg);
	assert_int_equal(geti(rep, NULL, "requests"), 20);
	assert_int_equal(geti(rep, NULL, "errors"), 0);
	assert_int_equal(geti(rep, "grpcStatus", "OK"), 20);
	assert_int_equal(geti(rep, "statusCodes", "200"), 20);
	json_decref(rep);
	/* what the server saw: the framed message and the gRPC headers */
	const uint8_t want[] = {0, 0, 0, 0, 4, 0x0a, 0x02, 'h', 'i'};
	assert_int_equal(s->body_len, sizeof want);
	assert_memory_equal(s->body, want, sizeof want);
	assert_string_equal(s->ctype, "application/grpc");
	assert_string_equal(s->te, "trailers");
	assert_string_equal(s->md, "unit");
	assert_string_equal(s->tmo, "1500m");

	rep = run(s, "Unavail", 10, msg, sizeof msg);
	assert_int_equal(geti(rep, NULL, "errors"), 10);
	assert_int_equal(geti(rep, "grpcStatus", "UNAVAILABLE"), 10);
	assert_int_equal(geti(rep, "errorKinds", "UNAVAILABLE"), 10);
	json_decref(rep);
}

static void
test_trailers_only_and_missing_status(void **state)
{
	srv *s = *state;
	json_t *rep = run(s, "Only", 6, NULL, 0);
	assert_int_equal(geti(rep, "grpcStatus", "NOT_FOUND"), 6);
	assert_int_equal(geti(rep, "errorKinds", "NOT_FOUND"), 6);
	json_decref(rep);
	assert_int_equal(s->body_len, 5); /* an empty message is still a frame */

	rep = run(s, "NoStatus", 5, NULL, 0);
	assert_int_equal(geti(rep, NULL, "errors"), 5);
	assert_int_equal(geti(rep, "errorKinds", "parse"), 5);
	assert_null(json_object_get(json_object_get(rep, "grpcStatus"), "OK"));
	json_decref(rep);

	rep = run(s, "Http503", 5, NULL, 0);
	assert_int_equal(geti(rep, "errorKinds", "status"), 5);
	assert_int_equal(geti(rep, "statusCodes", "503"), 5);
	json_decref(rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_from_trailers),
	    cmocka_unit_test(test_trailers_only_and_missing_status),
	};
	return cmocka_run_group_tests_name("grpc_wire", tests, setup, teardown);
}
