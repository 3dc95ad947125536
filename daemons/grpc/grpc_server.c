/*
 * grpc_server.c - gRPC server over h2c (HTTP/2 prior knowledge) on nghttp2 1.52, one epoll
 * event-loop thread per server, many connections, many streams per connection.
 *
 * Constraints that shaped it:
 *  - nghttp2 is not thread-safe and must never be re-entered from its callbacks, so every
 *    nghttp2 call happens on the loop thread. Other threads only touch a stream's send queue
 *    (under srv->mu), put the stream on a dirty list and ring an eventfd; the loop then submits
 *    the response or resumes the deferred data provider.
 *  - A slow reader must not make the server buffer without limit (a paused grpc-js consumer
 *    stops at its 64 KiB window): every stream's send queue is bounded; overflow drops the
 *    unsent messages and ends the stream with the owner's chosen status, falling back to
 *    RST_STREAM when the peer's window stays shut and the trailers cannot be sent.
 *  - The auth hook runs when the request HEADERS are complete, before any DATA is looked at;
 *    refusals go out trailers-only and the rest of the request body is discarded unread.
 *    Calls that skip it (health, reflection) may buffer only preauth_max_message (64 KiB),
 *    and every reassembly buffer is reserved in the process's buffer budget when the owner
 *    gives one, so unauthenticated streams cannot take the node's memory.
 *  - Stream state is looked up by id on every nghttp2 event (stream user data); nothing keeps
 *    a raw nghttp2 pointer past on_stream_close, and handles are reference counted.
 *  - Built on the pre-1.60 API (nghttp2_data_provider, nghttp2_submit_response) that Debian 12
 *    ships.
 */
#include "grpc_server.h"
#include "grpc_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#define MAX_HEADER_BYTES 16384
#define TICK_MS		 100

enum st_state {
	ST_OPEN,      /* accepting messages */
	ST_FINISHING, /* status chosen; trailers go out when the queue is drained */
	ST_DONE,      /* trailers (or trailers-only response) submitted */
	ST_CLOSED,    /* nghttp2 stream closed; handle detached */
};

struct chunk {
	struct chunk *next;
	size_t len, off;
	uint8_t data[];
};

struct method {
	char *path;
	char *service;
	mk_grpc_kind kind;
	mk_grpc_handler_fn handler;
	mk_grpc_bidi_fns bidi;
	void *ud;
	bool auth_exempt;
};

struct conn;

struct mk_grpc_stream {
	atomic_int refs;
	mk_grpc_server *srv;
	mk_grpc_call_info info;

	/* ---- under srv->mu ---- */
	enum st_state state;
	struct chunk *qhead, *qtail;
	size_t queued;
	size_t limit;
	int ov_code;
	char *ov_msg;
	int fin_code;
	char *fin_msg;
	int64_t ov_deadline; /* 0 = no overflow pending */
	unsigned nmsgs;	     /* messages ever queued */
	bool dirty;
	bool dispatched;
	mk_grpc_stream *dirty_next;
	mk_grpc_stream *run_next; /* loop thread: private copy of the dirty list being run */
	mk_grpc_stream *reg_prev, *reg_next;
	void (*close_fn)(void *);
	void *close_arg;

	/* ---- loop thread only ---- */
	struct conn *conn;
	int32_t id;
	const struct method *m;
	struct method routed; /* st->m when the router chose the handler (path borrowed from st->path) */
	bool is_routed;
	void (*route_release)(void *ud);
	bool response_submitted;
	bool refused; /* error chosen before dispatch: request DATA is discarded */
	int http_status;
	bool is_post, te_ok, ct_ok, enc_bad;
	size_t header_bytes;
	char *path, *authority, *ua, *authz;
	uint8_t *rx;
	size_t rx_len, rx_cap;
	size_t max_msg;	    /* receive limit of this call: max_message, or the pre-auth one */
	size_t budget_held; /* bytes reserved through cfg.buf_reserve, released in stream_destroy */
	uint8_t *req; /* the one request message of unary/server-streaming calls */
	size_t req_len;
	bool have_req;
	char principal[128];
	char peer[64];
	char traceparent[56]; /* "traceparent" metadata (W3C version 00 is 55 chars) */
	/* custom request metadata, "name\0value\0" pairs (loop thread writes before dispatch) */
	char *meta;
	size_t meta_len, nmeta;
	/* response metadata set by the handler (under srv->mu): initial headers, trailers */
	nghttp2_nv *out_hdr, *out_trl;
	size_t n_out_hdr, n_out_trl;
	void *user; /* the handler's per-call pointer */
};

struct conn {
	mk_grpc_server *srv;
	int fd;
	nghttp2_session *s;
	struct conn *prev, *next;
	char peer[64];
	bool epollout;
	bool dead;
	int64_t last_rx;
	int64_t ping_sent;
	bool draining;
	bool final_goaway;
	/* frames gathered from nghttp2 and not yet taken by the socket */
	uint8_t *out;
	size_t out_cap, out_len, out_off;
};

struct mk_grpc_server {
	mk_grpc_server_config cfg;
	char host[64];
	int lfd, efd, epfd;
	int port;
	pthread_t thread;
	bool started;
	atomic_bool stop_req;
	int drain_ms;
	bool stopped;

	struct method *methods;
	size_t nmethods;
	const char **services;
	size_t nservices;

	struct conn *conns;
	int nconns;

	pthread_mutex_t mu;
	mk_grpc_stream *dirty_head;
	mk_grpc_stream *reg_head;
	size_t nopen;

	void *slots[MK_GRPC_NSLOTS];
	void (*slot_free[MK_GRPC_NSLOTS])(void *);

	mk_grpc_router_fn router; /* paths not registered; NULL = none */
	void *router_ud;
};

static char listen_tag, event_tag;

/* ------------------------------------------------------------------ helpers */

static void
set_err(char *err, size_t cap, const char *fmt, const char *a)
{
	if (err && cap)
		snprintf(err, cap, fmt, a ? a : "");
}

static char *
xstrndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static void
queue_free(mk_grpc_stream *st)
{
	struct chunk *c = st->qhead, *n;

	for (; c; c = n) {
		n = c->next;
		free(c);
	}
	st->qhead = st->qtail = NULL;
	st->queued = 0;
}

static void
nv_free(nghttp2_nv *nv, size_t n)
{
	for (size_t i = 0; nv && i < n; i++) {
		free(nv[i].name);
		free(nv[i].value);
	}
	free(nv);
}

/* Copies kv (2n strings) into a new nghttp2_nv array; lower-cases names. NULL on no memory. */
static nghttp2_nv *
nv_copy(const char *const *kv, size_t n)
{
	nghttp2_nv *nv = calloc(n ? n : 1, sizeof(*nv));

	if (nv == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(kv[2 * i]), vl = strlen(kv[2 * i + 1]);

		nv[i].name = malloc(nl + 1);
		nv[i].value = malloc(vl + 1);
		if (nv[i].name == NULL || nv[i].value == NULL) {
			nv_free(nv, i + 1);
			return NULL;
		}
		for (size_t j = 0; j <= nl; j++)
			nv[i].name[j] = (uint8_t)tolower((unsigned char)kv[2 * i][j]);
		memcpy(nv[i].value, kv[2 * i + 1], vl + 1);
		nv[i].namelen = nl;
		nv[i].valuelen = vl;
		nv[i].flags = NGHTTP2_NV_FLAG_NONE;
	}
	return nv;
}

static bool auth_exempt(const mk_grpc_server *srv, const char *path);

static void
stream_destroy(mk_grpc_stream *st)
{
	queue_free(st);
	free(st->ov_msg);
	free(st->fin_msg);
	free(st->path);
	free(st->authority);
	free(st->ua);
	free(st->authz);
	free(st->rx);
	free(st->req);
	free(st->meta);
	nv_free(st->out_hdr, st->n_out_hdr);
	nv_free(st->out_trl, st->n_out_trl);
	if (st->budget_held && st->srv->cfg.buf_release)
		st->srv->cfg.buf_release(st->budget_held);
	if (st->is_routed && st->route_release != NULL)
		st->route_release(st->routed.ud);
	free(st);
}

/*
 * Loop thread: asks the router for a path no method is registered for. On a route, the
 * stream gets its own method entry, inside the stream (no allocation per call); the route's
 * release runs when the stream is destroyed. False = no route.
 */
static bool
route_stream(mk_grpc_stream *st)
{
	mk_grpc_server *srv = st->srv;
	mk_grpc_route r = {0};
	struct method *m = &st->routed;

	if (srv->router == NULL || st->path == NULL || !srv->router(srv->router_ud, st->path, &r))
		return false;
	memset(m, 0, sizeof *m);
	m->path = st->path; /* freed with the stream, after the last use of st->m */
	m->kind = r.kind;
	m->handler = r.handler;
	m->bidi = r.bidi;
	m->ud = r.ud;
	m->auth_exempt = auth_exempt(srv, st->path);
	st->is_routed = true;
	st->route_release = r.release;
	st->m = m;
	return true;
}

void
mk_grpc_stream_retain(mk_grpc_stream *st)
{
	atomic_fetch_add(&st->refs, 1);
}

void
mk_grpc_stream_release(mk_grpc_stream *st)
{
	if (st && atomic_fetch_sub(&st->refs, 1) == 1)
		stream_destroy(st);
}

/* Puts st on the dirty list (caller holds srv->mu); the list owns one reference. */
static void
mark_dirty_locked(mk_grpc_stream *st)
{
	if (st->dirty)
		return;
	st->dirty = true;
	atomic_fetch_add(&st->refs, 1);
	st->dirty_next = st->srv->dirty_head;
	st->srv->dirty_head = st;
}

/* The server whose loop runs on this thread (a handler answering on the loop thread needs no
 * eventfd write: the loop runs the dirty list before it waits again). */
static _Thread_local mk_grpc_server *tl_loop_srv;

static void
wake(mk_grpc_server *srv)
{
	uint64_t one = 1;
	ssize_t r;

	if (tl_loop_srv == srv)
		return;
	r = write(srv->efd, &one, sizeof one);

	(void)r; /* a full eventfd counter still wakes the loop */
}

/* Sets the final status (caller holds srv->mu). */
static void
finish_locked(mk_grpc_stream *st, int code, const char *msg)
{
	if (st->m && st->m->kind == MK_GRPC_UNARY && code == MK_GRPC_OK && st->nmsgs != 1) {
		code = MK_GRPC_INTERNAL;
		msg = "unary handler finished without a response";
	}
	st->state = ST_FINISHING;
	st->fin_code = code;
	free(st->fin_msg);
	st->fin_msg = msg && *msg ? strdup(msg) : NULL;
	mark_dirty_locked(st);
}

/* ------------------------------------------------------------------ public stream API */

const mk_grpc_call_info *
mk_grpc_stream_info(const mk_grpc_stream *st)
{
	return &st->info;
}

mk_grpc_server *
mk_grpc_stream_server(mk_grpc_stream *st)
{
	return st->srv;
}

int
mk_grpc_stream_send(mk_grpc_stream *st, const uint8_t *msg, size_t len)
{
	mk_grpc_server *srv = st->srv;
	struct chunk *c;
	int rc = 0;

	if (len > UINT32_MAX)
		return MK_GRPC_ETOOBIG;
	c = malloc(sizeof *c + MK_GRPC_PREFIX_LEN + len);
	if (!c)
		return MK_GRPC_ENOMEM;
	c->next = NULL;
	c->off = 0;
	c->len = MK_GRPC_PREFIX_LEN + len;
	mk_grpc_prefix_write(c->data, (uint32_t)len);
	if (len)
		memcpy(c->data + MK_GRPC_PREFIX_LEN, msg, len);

	pthread_mutex_lock(&srv->mu);
	if (st->state != ST_OPEN || (st->m && st->m->kind == MK_GRPC_UNARY && st->nmsgs >= 1)) {
		rc = MK_GRPC_ECLOSED;
	} else if (st->queued + c->len > st->limit) {
		/* Overflow: keep only a partially written head (the peer must not see a torn
		 * message), drop the rest, end with the owner's status. */
		struct chunk *keep = st->qhead && st->qhead->off > 0 ? st->qhead : NULL;
		struct chunk *p = keep ? keep->next : st->qhead, *n;

		for (; p; p = n) {
			n = p->next;
			free(p);
		}
		if (keep) {
			keep->next = NULL;
			st->qtail = keep;
			st->queued = keep->len - keep->off;
		} else {
			st->qhead = st->qtail = NULL;
			st->queued = 0;
		}
		st->ov_deadline = mk_grpc_now_ms() + srv->cfg.overflow_grace_ms;
		finish_locked(st, st->ov_code, st->ov_msg);
		rc = MK_GRPC_EOVERFLOW;
	} else {
		if (st->qtail)
			st->qtail->next = c;
		else
			st->qhead = c;
		st->qtail = c;
		st->queued += c->len;
		st->nmsgs++;
		c = NULL;
		mark_dirty_locked(st);
	}
	pthread_mutex_unlock(&srv->mu);
	free(c);
	if (rc != MK_GRPC_ECLOSED)
		wake(srv);
	return rc;
}

int
mk_grpc_stream_finish(mk_grpc_stream *st, int code, const char *msg)
{
	int rc = 0;

	pthread_mutex_lock(&st->srv->mu);
	if (st->state != ST_OPEN)
		rc = MK_GRPC_ECLOSED;
	else
		finish_locked(st, code, msg);
	pthread_mutex_unlock(&st->srv->mu);
	if (rc == 0)
		wake(st->srv);
	return rc;
}

void
mk_grpc_stream_set_overflow(mk_grpc_stream *st, size_t limit, int code, const char *msg)
{
	pthread_mutex_lock(&st->srv->mu);
	st->limit = limit ? limit : st->srv->cfg.stream_queue_limit;
	st->ov_code = code;
	free(st->ov_msg);
	st->ov_msg = msg ? strdup(msg) : NULL;
	pthread_mutex_unlock(&st->srv->mu);
}

void
mk_grpc_stream_on_close(mk_grpc_stream *st, void (*fn)(void *arg), void *arg)
{
	bool now = false;

	pthread_mutex_lock(&st->srv->mu);
	if (st->state == ST_CLOSED)
		now = true;
	else {
		st->close_fn = fn;
		st->close_arg = arg;
	}
	pthread_mutex_unlock(&st->srv->mu);
	if (now && fn)
		fn(arg);
}

bool
mk_grpc_stream_is_open(mk_grpc_stream *st)
{
	bool open;

	pthread_mutex_lock(&st->srv->mu);
	open = st->state == ST_OPEN;
	pthread_mutex_unlock(&st->srv->mu);
	return open;
}

size_t
mk_grpc_stream_queued(mk_grpc_stream *st)
{
	size_t q;

	pthread_mutex_lock(&st->srv->mu);
	q = st->queued;
	pthread_mutex_unlock(&st->srv->mu);
	return q;
}

size_t
mk_grpc_server_close_streams(mk_grpc_server *srv,
			     bool (*pred)(void *arg, const mk_grpc_call_info *info), void *arg,
			     int code, const char *msg)
{
	size_t n = 0;

	pthread_mutex_lock(&srv->mu);
	for (mk_grpc_stream *st = srv->reg_head; st; st = st->reg_next) {
		if (st->dispatched && st->state == ST_OPEN && (!pred || pred(arg, &st->info))) {
			finish_locked(st, code, msg);
			n++;
		}
	}
	pthread_mutex_unlock(&srv->mu);
	if (n)
		wake(srv);
	return n;
}

int
mk_grpc_stream_set_metadata(mk_grpc_stream *st, const char *const *hdr, size_t nhdr, const char *const *trl,
			    size_t ntrl)
{
	nghttp2_nv *h = nhdr ? nv_copy(hdr, nhdr) : NULL, *t = ntrl ? nv_copy(trl, ntrl) : NULL;

	if ((nhdr && h == NULL) || (ntrl && t == NULL)) {
		nv_free(h, nhdr);
		nv_free(t, ntrl);
		return MK_GRPC_ENOMEM;
	}
	pthread_mutex_lock(&st->srv->mu);
	nv_free(st->out_hdr, st->n_out_hdr);
	nv_free(st->out_trl, st->n_out_trl);
	st->out_hdr = h;
	st->n_out_hdr = nhdr;
	st->out_trl = t;
	st->n_out_trl = ntrl;
	pthread_mutex_unlock(&st->srv->mu);
	return 0;
}

void
mk_grpc_stream_each_meta(const mk_grpc_stream *st, void (*fn)(void *arg, const char *name, const char *value),
			 void *arg)
{
	const char *p = st->meta;

	for (size_t i = 0; p && i < st->nmeta; i++) {
		const char *v = p + strlen(p) + 1;

		fn(arg, p, v);
		p = v + strlen(v) + 1;
	}
}

void
mk_grpc_stream_set_user(mk_grpc_stream *st, void *user)
{
	st->user = user;
}

void *
mk_grpc_stream_user(const mk_grpc_stream *st)
{
	return st->user;
}

void
mk_grpc_stream_set_principal(mk_grpc_stream *st, const char *principal)
{
	pthread_mutex_lock(&st->srv->mu);
	snprintf(st->principal, sizeof st->principal, "%s", principal ? principal : "");
	pthread_mutex_unlock(&st->srv->mu);
}

size_t
mk_grpc_server_open_streams(mk_grpc_server *srv)
{
	size_t n;

	pthread_mutex_lock(&srv->mu);
	n = srv->nopen;
	pthread_mutex_unlock(&srv->mu);
	return n;
}

/* ------------------------------------------------------------------ response submission */

#define MAX_OUT_META 64  /* response metadata entries sent per HEADERS block */
#define MAX_IN_META 128  /* request metadata entries kept per call */

#define NV(n, v)                                                                                 \
	{ (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }

/*
 * Data provider read callback: copies queued bytes; when the queue is empty either defers
 * (stream still open) or ends DATA without END_STREAM and submits the trailers.
 */
static ssize_t
data_read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
	     nghttp2_data_source *source, void *user_data)
{
	mk_grpc_stream *st = source->ptr;
	mk_grpc_server *srv = st->srv;
	size_t n = 0;
	int code;
	char status[16], msgbuf[1024];

	(void)user_data;
	pthread_mutex_lock(&srv->mu);
	while (n < length && st->qhead) {
		struct chunk *c = st->qhead;
		size_t take = c->len - c->off;

		if (take > length - n)
			take = length - n;
		memcpy(buf + n, c->data + c->off, take);
		c->off += take;
		n += take;
		st->queued -= take;
		if (c->off == c->len) {
			st->qhead = c->next;
			if (!st->qhead)
				st->qtail = NULL;
			free(c);
		}
	}
	if (n > 0) {
		pthread_mutex_unlock(&srv->mu);
		return (ssize_t)n;
	}
	if (st->state != ST_FINISHING) {
		pthread_mutex_unlock(&srv->mu);
		return NGHTTP2_ERR_DEFERRED;
	}
	st->state = ST_DONE;
	code = st->fin_code;
	msgbuf[0] = '\0';
	if (st->fin_msg)
		mk_grpc_message_encode(st->fin_msg, msgbuf, sizeof msgbuf);
	pthread_mutex_unlock(&srv->mu);

	snprintf(status, sizeof status, "%d", code);
	nghttp2_nv trl[2 + MAX_OUT_META] = {NV("grpc-status", status), NV("grpc-message", msgbuf)};
	size_t ntrl = msgbuf[0] ? 2 : 1;

	for (size_t i = 0; i < st->n_out_trl && i < MAX_OUT_META; i++)
		trl[ntrl++] = st->out_trl[i];
	*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
	if (nghttp2_submit_trailer(s, id, trl, ntrl) != 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

/* Loop thread: brings one dirty stream's wire state up to date with its queue/state. */
static void
process_dirty(mk_grpc_stream *st)
{
	struct conn *c = st->conn;
	enum st_state state;
	bool has_q;
	unsigned nmsgs;
	int code;
	char status[16], msgbuf[1024];

	if (!c || c->dead)
		return;
	pthread_mutex_lock(&st->srv->mu);
	state = st->state;
	has_q = st->qhead != NULL;
	nmsgs = st->nmsgs;
	code = st->fin_code;
	msgbuf[0] = '\0';
	if (st->fin_msg)
		mk_grpc_message_encode(st->fin_msg, msgbuf, sizeof msgbuf);
	if (!st->response_submitted && state == ST_FINISHING && nmsgs == 0)
		st->state = ST_DONE; /* trailers-only below */
	pthread_mutex_unlock(&st->srv->mu);

	if (st->response_submitted) {
		nghttp2_session_resume_data(c->s, st->id);
		return;
	}
	if (state == ST_FINISHING && nmsgs == 0) {
		snprintf(status, sizeof status, "%d", code);
		if (st->http_status != 200) {
			char hs[8];

			snprintf(hs, sizeof hs, "%d", st->http_status);
			nghttp2_nv nva[] = {NV(":status", hs), NV("content-type", "text/plain")};
			nghttp2_submit_response(c->s, st->id, nva, 2, NULL);
		} else {
			nghttp2_nv nva[5 + 2 * MAX_OUT_META] = {NV(":status", "200"), NV("content-type", "application/grpc"),
					    NV("grpc-accept-encoding", "identity"),
					    NV("grpc-status", status), NV("grpc-message", msgbuf)};
			size_t n = msgbuf[0] ? 5 : 4;

			/* trailers-only: response metadata and trailers travel in the one HEADERS */
			pthread_mutex_lock(&st->srv->mu);
			for (size_t i = 0; i < st->n_out_hdr && i < MAX_OUT_META; i++)
				nva[n++] = st->out_hdr[i];
			for (size_t i = 0; i < st->n_out_trl && i < MAX_OUT_META; i++)
				nva[n++] = st->out_trl[i];
			nghttp2_submit_response(c->s, st->id, nva, n, NULL);
			pthread_mutex_unlock(&st->srv->mu);
		}
		st->response_submitted = true;
	} else if (has_q || state == ST_FINISHING) {
		nghttp2_nv nva[3 + MAX_OUT_META] = {NV(":status", "200"), NV("content-type", "application/grpc"),
				    NV("grpc-accept-encoding", "identity")};
		nghttp2_data_provider prd = {.source.ptr = st, .read_callback = data_read_cb};
		size_t n = 3;

		pthread_mutex_lock(&st->srv->mu);
		for (size_t i = 0; i < st->n_out_hdr && i < MAX_OUT_META; i++)
			nva[n++] = st->out_hdr[i];
		nghttp2_submit_response(c->s, st->id, nva, n, &prd);
		pthread_mutex_unlock(&st->srv->mu);
		st->response_submitted = true;
	}
}

/* ------------------------------------------------------------------ request handling */

/* Loop thread: ends a not-yet-dispatched (or bidi) call with an error status. */
static void
fail_call(mk_grpc_stream *st, int http_status, int code, const char *msg)
{
	st->refused = true;
	st->http_status = http_status;
	pthread_mutex_lock(&st->srv->mu);
	if (st->state == ST_OPEN)
		finish_locked(st, code, msg);
	pthread_mutex_unlock(&st->srv->mu);
}

static bool
auth_exempt(const mk_grpc_server *srv, const char *path)
{
	if (strncmp(path, "/grpc.health.v1.", 16) == 0)
		return !srv->cfg.auth_health;
	if (strncmp(path, "/grpc.reflection.", 17) == 0)
		return !srv->cfg.auth_reflection;
	return false;
}

/* Loop thread: the request HEADERS are complete: validate, route, authenticate. */
static void
on_request_headers(mk_grpc_stream *st)
{
	mk_grpc_server *srv = st->srv;
	char msg[256];

	if (!st->is_post) {
		fail_call(st, 405, MK_GRPC_INTERNAL, "method not allowed");
		return;
	}
	if (!st->ct_ok) {
		fail_call(st, 415, MK_GRPC_INTERNAL, "content-type must be application/grpc");
		return;
	}
	if (!st->te_ok) {
		fail_call(st, 200, MK_GRPC_INTERNAL, "missing \"te: trailers\" request header");
		return;
	}
	if (st->enc_bad) {
		fail_call(st, 200, MK_GRPC_UNIMPLEMENTED,
			  "message compression is not supported (grpc-accept-encoding: identity)");
		return;
	}
	for (size_t i = 0; st->path && i < srv->nmethods; i++)
		if (strcmp(srv->methods[i].path, st->path) == 0)
			st->m = &srv->methods[i];
	if (!st->m && !route_stream(st)) {
		snprintf(msg, sizeof msg, "unknown method %s", st->path ? st->path : "(none)");
		fail_call(st, 200, MK_GRPC_UNIMPLEMENTED, msg);
		return;
	}
	/* until the call is authenticated it may buffer only the pre-auth limit */
	st->max_msg = srv->cfg.preauth_max_message < srv->cfg.max_message ? srv->cfg.preauth_max_message
									  : srv->cfg.max_message;
	st->info.method = st->m->path;
	st->info.authority = st->authority ? st->authority : "";
	st->info.user_agent = st->ua ? st->ua : "";
	st->info.principal = st->principal;
	st->info.peer = st->peer;
	st->info.traceparent = st->traceparent;
	if (srv->cfg.auth && !st->m->auth_exempt) {
		int code;

		msg[0] = '\0';
		code = srv->cfg.auth(srv->cfg.auth_ud, st->m->path, st->authz, st->principal,
				     sizeof st->principal, msg, sizeof msg);
		st->principal[sizeof st->principal - 1] = '\0';
		if (code != MK_GRPC_OK) {
			fail_call(st, 200, code, msg[0] ? msg : mk_grpc_code_name(code));
			return;
		}
	}
	if (!st->m->auth_exempt) /* admitted by the hook (or a server without one) */
		st->max_msg = srv->cfg.max_message;
	/* The credential is no longer needed; do not keep it in memory longer than necessary. */
	if (st->authz) {
		memset(st->authz, 0, strlen(st->authz));
		free(st->authz);
		st->authz = NULL;
	}
	if (st->m->kind == MK_GRPC_BIDI) {
		pthread_mutex_lock(&srv->mu);
		st->dispatched = true;
		pthread_mutex_unlock(&srv->mu);
	}
}

/* Loop thread: runs the handler of a unary/server-streaming call (client ended its side). */
static void
dispatch(mk_grpc_stream *st)
{
	pthread_mutex_lock(&st->srv->mu);
	st->dispatched = true;
	pthread_mutex_unlock(&st->srv->mu);
	st->m->handler(st->m->ud, st, st->req ? st->req : (const uint8_t *)"", st->req_len);
	free(st->req);
	st->req = NULL;
}

/*
 * Loop thread: extracts complete messages from the reassembly buffer. Returns false when the
 * call was failed (oversized, compressed, or a second message on a unary-request call).
 */
static bool
drain_rx(mk_grpc_stream *st)
{
	size_t max = st->max_msg ? st->max_msg : st->srv->cfg.max_message;
	size_t pos = 0;
	bool ok = true;

	while (st->rx_len - pos >= MK_GRPC_PREFIX_LEN) {
		const uint8_t *p = st->rx + pos;
		uint32_t len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
		char msg[128];

		if (p[0] != 0) {
			fail_call(st, 200, MK_GRPC_INTERNAL,
				  "compressed message without grpc-encoding");
			ok = false;
			break;
		}
		if (len > max) {
			if (st->m->auth_exempt)
				snprintf(msg, sizeof msg,
					 "received message larger than max for a call without "
					 "credentials (%u vs. %zu)",
					 len, max);
			else
				snprintf(msg, sizeof msg, "received message larger than max (%u vs. %zu)",
					 len, max);
			fail_call(st, 200, MK_GRPC_RESOURCE_EXHAUSTED, msg);
			ok = false;
			break;
		}
		if (st->rx_len - pos - MK_GRPC_PREFIX_LEN < len)
			break;
		if (st->m->kind == MK_GRPC_BIDI) {
			if (st->m->bidi.on_message)
				st->m->bidi.on_message(st->m->ud, st, p + MK_GRPC_PREFIX_LEN, len);
		} else if (st->have_req) {
			fail_call(st, 200, MK_GRPC_INTERNAL, "more than one request message");
			ok = false;
			break;
		} else {
			st->req = malloc(len ? len : 1);
			if (!st->req) {
				fail_call(st, 200, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
				ok = false;
				break;
			}
			memcpy(st->req, p + MK_GRPC_PREFIX_LEN, len);
			st->req_len = len;
			st->have_req = true;
		}
		pos += MK_GRPC_PREFIX_LEN + len;
	}
	if (!ok) {
		st->rx_len = 0;
		return false;
	}
	memmove(st->rx, st->rx + pos, st->rx_len - pos);
	st->rx_len -= pos;
	return true;
}

/* Loop thread: the client ended its side of the stream. */
static void
on_request_end(mk_grpc_stream *st)
{
	if (st->refused || !st->m)
		return;
	if (st->rx_len) {
		fail_call(st, 200, MK_GRPC_INTERNAL, "request ended inside a message");
		return;
	}
	if (st->m->kind == MK_GRPC_BIDI) {
		if (st->m->bidi.on_half_close)
			st->m->bidi.on_half_close(st->m->ud, st);
		else
			mk_grpc_stream_finish(st, MK_GRPC_OK, NULL);
		return;
	}
	if (!st->have_req) {
		fail_call(st, 200, MK_GRPC_INTERNAL, "request ended without a message");
		return;
	}
	dispatch(st);
}

/* ------------------------------------------------------------------ nghttp2 callbacks */

static ssize_t
send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user_data)
{
	struct conn *c = user_data;
	ssize_t n;

	(void)s;
	(void)flags;
	n = send(c->fd, data, len, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return NGHTTP2_ERR_WOULDBLOCK;
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	return n;
}

static int
on_begin_headers_cb(nghttp2_session *s, const nghttp2_frame *frame, void *user_data)
{
	struct conn *c = user_data;
	mk_grpc_server *srv = c->srv;
	mk_grpc_stream *st;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = calloc(1, sizeof *st);
	if (!st)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	atomic_init(&st->refs, 1);
	st->srv = srv;
	st->conn = c;
	st->id = frame->hd.stream_id;
	st->limit = srv->cfg.stream_queue_limit;
	st->ov_code = MK_GRPC_RESOURCE_EXHAUSTED;
	st->ov_msg = strdup("send queue full (client reads too slowly)");
	st->http_status = 200;
	st->info.method = st->info.authority = st->info.user_agent = "";
	st->info.principal = st->principal;
	st->info.peer = st->peer;
	st->info.traceparent = st->traceparent;
	snprintf(st->peer, sizeof st->peer, "%s", c->peer);
	nghttp2_session_set_stream_user_data(s, st->id, st);
	pthread_mutex_lock(&srv->mu);
	st->reg_next = srv->reg_head;
	if (srv->reg_head)
		srv->reg_head->reg_prev = st;
	srv->reg_head = st;
	srv->nopen++;
	pthread_mutex_unlock(&srv->mu);
	return 0;
}

static bool
hdr_is(const uint8_t *name, size_t namelen, const char *lit)
{
	return namelen == strlen(lit) && memcmp(name, lit, namelen) == 0;
}

static int
on_header_cb(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
	     const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
	mk_grpc_stream *st;

	(void)flags;
	(void)user_data;
	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
	if (!st)
		return 0;
	st->header_bytes += namelen + valuelen + 32;
	if (st->header_bytes > MAX_HEADER_BYTES)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM INTERNAL_ERROR */
	if (hdr_is(name, namelen, ":method"))
		st->is_post = valuelen == 4 && memcmp(value, "POST", 4) == 0;
	else if (hdr_is(name, namelen, ":path")) {
		free(st->path);
		st->path = xstrndup((const char *)value, valuelen);
	} else if (hdr_is(name, namelen, ":authority")) {
		free(st->authority);
		st->authority = xstrndup((const char *)value, valuelen);
	} else if (hdr_is(name, namelen, "content-type"))
		st->ct_ok = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
			    (valuelen == 16 || value[16] == '+' || value[16] == ';');
	else if (hdr_is(name, namelen, "te"))
		st->te_ok = valuelen == 8 && memcmp(value, "trailers", 8) == 0;
	else if (hdr_is(name, namelen, "grpc-encoding"))
		st->enc_bad = !(valuelen == 8 && memcmp(value, "identity", 8) == 0);
	else if (hdr_is(name, namelen, "user-agent")) {
		free(st->ua);
		st->ua = xstrndup((const char *)value, valuelen);
	} else if (hdr_is(name, namelen, "traceparent")) {
		/* inline, no allocation: a longer value is not a version-00 traceparent anyway */
		if (valuelen < sizeof st->traceparent) {
			memcpy(st->traceparent, value, valuelen);
			st->traceparent[valuelen] = '\0';
		} else {
			st->traceparent[0] = '\0';
		}
	} else if (hdr_is(name, namelen, "authorization")) {
		free(st->authz);
		st->authz = xstrndup((const char *)value, valuelen);
	} else if (hdr_is(name, namelen, "grpc-timeout")) {
		int64_t ms = mk_grpc_timeout_parse((const char *)value, valuelen);

		if (ms >= 0)
			st->info.deadline_ms = mk_grpc_now_ms() + ms;
	} else if (namelen > 0 && name[0] != ':' && !(namelen > 5 && memcmp(name, "grpc-", 5) == 0) &&
		   st->nmeta < MAX_IN_META) {
		/* custom metadata (header_bytes above bounds the total) */
		char *m = realloc(st->meta, st->meta_len + namelen + valuelen + 2);

		if (m == NULL)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		memcpy(m + st->meta_len, name, namelen);
		m[st->meta_len + namelen] = '\0';
		memcpy(m + st->meta_len + namelen + 1, value, valuelen);
		m[st->meta_len + namelen + 1 + valuelen] = '\0';
		st->meta = m;
		st->meta_len += namelen + valuelen + 2;
		st->nmeta++;
	}
	return 0;
}

static int
on_frame_recv_cb(nghttp2_session *s, const nghttp2_frame *frame, void *user_data)
{
	struct conn *c = user_data;
	mk_grpc_stream *st;

	c->last_rx = mk_grpc_now_ms();
	switch (frame->hd.type) {
	case NGHTTP2_PING:
		if (frame->hd.flags & NGHTTP2_FLAG_ACK) {
			c->ping_sent = 0;
			if (c->draining && !c->final_goaway) {
				nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE,
						      nghttp2_session_get_last_proc_stream_id(s),
						      NGHTTP2_NO_ERROR, NULL, 0);
				c->final_goaway = true;
			}
		}
		return 0;
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		break;
	default:
		return 0;
	}
	st = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
	if (!st)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
		on_request_headers(st);
	if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
		on_request_end(st);
	return 0;
}

static int
on_data_chunk_recv_cb(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
		      void *user_data)
{
	mk_grpc_stream *st = nghttp2_session_get_stream_user_data(s, id);
	size_t max;

	(void)flags;
	(void)user_data;
	if (!st || st->refused || !st->m)
		return 0; /* refused before dispatch: the body is discarded unread */
	max = (st->max_msg ? st->max_msg : st->srv->cfg.max_message) + MK_GRPC_PREFIX_LEN;
	if (st->rx_len + len > st->rx_cap) {
		size_t ncap = st->rx_cap ? st->rx_cap : 4096;
		uint8_t *n;

		while (ncap < st->rx_len + len)
			ncap *= 2;
		/* Bound the buffer: a declared length above the limit is reported by drain_rx
		 * from the 5-byte prefix alone, before anything big is allocated. */
		if (ncap > max + 16384)
			ncap = max + 16384;
		if (ncap < st->rx_len + len) {
			drain_rx(st);
			if (st->refused)
				return 0;
			fail_call(st, 200, MK_GRPC_RESOURCE_EXHAUSTED, "request too large");
			return 0;
		}
		if (st->srv->cfg.buf_reserve && ncap > st->budget_held) {
			if (!st->srv->cfg.buf_reserve(ncap - st->budget_held)) {
				fail_call(st, 200, MK_GRPC_RESOURCE_EXHAUSTED,
					  st->srv->cfg.busy_msg ? st->srv->cfg.busy_msg
								: "request buffer budget exhausted");
				return 0;
			}
			st->budget_held = ncap;
		}
		n = realloc(st->rx, ncap);
		if (!n) {
			fail_call(st, 200, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
			return 0;
		}
		st->rx = n;
		st->rx_cap = ncap;
	}
	memcpy(st->rx + st->rx_len, data, len);
	st->rx_len += len;
	drain_rx(st);
	return 0;
}

static int
on_frame_send_cb(nghttp2_session *s, const nghttp2_frame *frame, void *user_data)
{
	(void)user_data;
	/* Early server closure: trailers went out before the client finished sending; reset the
	 * stream (NO_ERROR) so neither side keeps it around (PROTOCOL-HTTP2.md). */
	if (frame->hd.type == NGHTTP2_HEADERS && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
	    nghttp2_session_get_stream_remote_close(s, frame->hd.stream_id) == 0)
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
	return 0;
}

/*
 * Loop thread: the stream is gone (nghttp2 closed it, or its connection is being freed):
 * detach the handle, drop its queue, run the owner's on-close callback, drop the loop's
 * reference. Retained handles stay valid; sends on them return MK_GRPC_ECLOSED.
 */
static void
stream_closed(mk_grpc_stream *st)
{
	mk_grpc_server *srv = st->srv;
	void (*fn)(void *) = NULL;
	void *arg = NULL;

	pthread_mutex_lock(&srv->mu);
	st->state = ST_CLOSED;
	queue_free(st);
	if (st->reg_prev)
		st->reg_prev->reg_next = st->reg_next;
	else
		srv->reg_head = st->reg_next;
	if (st->reg_next)
		st->reg_next->reg_prev = st->reg_prev;
	st->reg_prev = st->reg_next = NULL;
	srv->nopen--;
	if (st->dispatched) {
		fn = st->close_fn;
		arg = st->close_arg;
	}
	st->close_fn = NULL;
	pthread_mutex_unlock(&srv->mu);
	st->conn = NULL;
	if (fn)
		fn(arg);
	mk_grpc_stream_release(st);
}

static int
on_stream_close_cb(nghttp2_session *s, int32_t id, uint32_t error_code, void *user_data)
{
	mk_grpc_stream *st = nghttp2_session_get_stream_user_data(s, id);

	(void)error_code; /* 8 = CANCEL: client cancelled or its deadline passed */
	(void)user_data;
	if (!st)
		return 0;
	nghttp2_session_set_stream_user_data(s, id, NULL);
	stream_closed(st);
	return 0;
}

/* ------------------------------------------------------------------ connections */

/* Bytes of frames gathered before they are handed to the socket in one send(). */
#define CONN_OUT_BATCH (64 * 1024)

static void
conn_update_events(struct conn *c, bool want_out)
{
	struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};

	if (want_out == c->epollout)
		return;
	c->epollout = want_out;
	epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Loop thread: writes what nghttp2 has; marks the connection dead on error or when done. */
static void
conn_flush(struct conn *c)
{
	bool blocked = false;

	if (c->dead)
		return;
	for (;;) {
		/* what the socket did not take last time goes first */
		while (c->out_off < c->out_len) {
			ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					blocked = true;
					break;
				}
				c->dead = true;
				return;
			}
			c->out_off += (size_t)n;
		}
		if (blocked)
			break;
		c->out_len = c->out_off = 0;
		/* gather every pending frame (up to CONN_OUT_BATCH) for one send() */
		while (c->out_len < CONN_OUT_BATCH) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(c->s, &data);

			if (n < 0) {
				c->dead = true;
				return;
			}
			if (n == 0)
				break;
			if (c->out_len + (size_t)n > c->out_cap) {
				size_t cap = c->out_cap ? c->out_cap : 4096;
				uint8_t *p;

				while (cap < c->out_len + (size_t)n)
					cap *= 2;
				if ((p = realloc(c->out, cap)) == NULL) {
					c->dead = true;
					return;
				}
				c->out = p;
				c->out_cap = cap;
			}
			memcpy(c->out + c->out_len, data, (size_t)n);
			c->out_len += (size_t)n;
		}
		if (c->out_len == 0)
			break;
	}
	if (!blocked && !nghttp2_session_want_read(c->s) && !nghttp2_session_want_write(c->s)) {
		c->dead = true;
		return;
	}
	conn_update_events(c, blocked || nghttp2_session_want_write(c->s));
}

static void
conn_free(struct conn *c)
{
	mk_grpc_server *srv = c->srv;
	mk_grpc_stream *mine = NULL, *st, *next;

	/* nghttp2_session_del does not run on_stream_close: close this connection's streams
	 * here (collected under the lock, closed outside it). */
	pthread_mutex_lock(&srv->mu);
	for (st = srv->reg_head; st; st = st->reg_next)
		if (st->conn == c) {
			st->run_next = mine;
			mine = st;
		}
	pthread_mutex_unlock(&srv->mu);
	for (st = mine; st; st = next) {
		next = st->run_next;
		stream_closed(st);
	}
	nghttp2_session_del(c->s);
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	free(c->out);
	free(c);
}

static void
conn_accept(mk_grpc_server *srv)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(srv->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;
		nghttp2_session_callbacks *cb;
		nghttp2_option *opt;
		int one = 1;
		char ip[INET6_ADDRSTRLEN] = "?";
		int port = 0;
		struct epoll_event ev;
		nghttp2_settings_entry iv[] = {
			{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 256},
			{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
			{NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_BYTES},
		};

		if (fd < 0)
			return; /* EAGAIN, or a transient error (EMFILE): retry on the next event */
		if (srv->nconns >= srv->cfg.max_connections || srv->stopped ||
		    atomic_load(&srv->stop_req)) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
			port = ntohs(a->sin6_port);
		}
		snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
		c->srv = srv;
		c->fd = fd;
		c->last_rx = mk_grpc_now_ms();

		nghttp2_session_callbacks_new(&cb);
		nghttp2_session_callbacks_set_send_callback(cb, send_cb);
		nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers_cb);
		nghttp2_session_callbacks_set_on_header_callback(cb, on_header_cb);
		nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv_cb);
		nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv_cb);
		nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send_cb);
		nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close_cb);
		nghttp2_option_new(&opt);
		/* CVE-2023-44487 (rapid reset): bound RST_STREAM bursts explicitly. */
		nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 33);
		nghttp2_session_server_new2(&c->s, cb, c, opt);
		nghttp2_option_del(opt);
		nghttp2_session_callbacks_del(cb);
		if (!c->s) {
			close(fd);
			free(c);
			continue;
		}
		/* grpc-js hands the transport to calls only after our SETTINGS arrive. */
		nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]);
		nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, 8 << 20);

		c->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = c;
		srv->conns = c;
		srv->nconns++;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev);
		conn_flush(c);
	}
}

static void
conn_read(struct conn *c)
{
	uint8_t buf[16384];

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof buf, 0);

		if (n == 0) {
			c->dead = true;
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = true;
			return;
		}
		if (nghttp2_session_mem_recv(c->s, buf, (size_t)n) < 0) {
			c->dead = true;
			return;
		}
		if ((size_t)n < sizeof buf)
			return;
	}
}

/* ------------------------------------------------------------------ loop */

/* Loop thread: applies every pending cross-thread change. */
static void
run_dirty(mk_grpc_server *srv)
{
	mk_grpc_stream *list, *next;

	/* dirty_next may be rewritten by other threads as soon as the lock is dropped, so the
	 * batch is re-linked through run_next, which only this thread uses. */
	pthread_mutex_lock(&srv->mu);
	list = srv->dirty_head;
	srv->dirty_head = NULL;
	for (mk_grpc_stream *st = list; st; st = st->dirty_next) {
		st->dirty = false;
		st->run_next = st->dirty_next;
	}
	pthread_mutex_unlock(&srv->mu);
	for (mk_grpc_stream *st = list; st; st = next) {
		next = st->run_next;
		process_dirty(st);
		mk_grpc_stream_release(st);
	}
}

/* Loop thread: deadlines, overflow grace periods, keepalive PINGs. */
static void
run_timers(mk_grpc_server *srv, int64_t now)
{
	mk_grpc_stream *kill[64];
	uint32_t why[64];
	size_t nk = 0;

	pthread_mutex_lock(&srv->mu);
	for (mk_grpc_stream *st = srv->reg_head; st && nk < 64; st = st->reg_next) {
		if (st->state == ST_CLOSED || !st->conn)
			continue;
		if (st->ov_deadline && now >= st->ov_deadline) {
			/* Trailers stuck behind a closed peer window: reset instead. Clients map
			 * ENHANCE_YOUR_CALM to RESOURCE_EXHAUSTED. */
			st->ov_deadline = 0;
			why[nk] = NGHTTP2_ENHANCE_YOUR_CALM;
		} else if (st->info.deadline_ms && now >= st->info.deadline_ms) {
			st->info.deadline_ms = 0;
			why[nk] = NGHTTP2_CANCEL;
		} else
			continue;
		atomic_fetch_add(&st->refs, 1);
		kill[nk++] = st;
	}
	pthread_mutex_unlock(&srv->mu);
	for (size_t i = 0; i < nk; i++) {
		if (kill[i]->conn && !kill[i]->conn->dead)
			nghttp2_submit_rst_stream(kill[i]->conn->s, NGHTTP2_FLAG_NONE, kill[i]->id,
						  why[i]);
		mk_grpc_stream_release(kill[i]);
	}

	if (srv->cfg.keepalive_ms <= 0)
		return;
	for (struct conn *c = srv->conns; c; c = c->next) {
		if (c->ping_sent && now - c->ping_sent > srv->cfg.keepalive_timeout_ms)
			c->dead = true;
		else if (!c->ping_sent && now - c->last_rx > srv->cfg.keepalive_ms) {
			nghttp2_submit_ping(c->s, NGHTTP2_FLAG_NONE, NULL);
			c->ping_sent = now;
		}
	}
}

static bool
pred_all(void *arg, const mk_grpc_call_info *info)
{
	(void)arg;
	(void)info;
	return true;
}

static void *
loop_main(void *arg)
{
	mk_grpc_server *srv = arg;
	struct epoll_event evs[64];
	int64_t last_tick = mk_grpc_now_ms(), drain_until = 0;

	tl_loop_srv = srv;
	for (;;) {
		bool pending;
		int n;
		int64_t now;

		/* streams made dirty on this thread after run_dirty (no eventfd ring): no wait */
		pthread_mutex_lock(&srv->mu);
		pending = srv->dirty_head != NULL;
		pthread_mutex_unlock(&srv->mu);
		n = epoll_wait(srv->epfd, evs, 64, pending ? 0 : TICK_MS);

		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &listen_tag)
				conn_accept(srv);
			else if (p == &event_tag) {
				uint64_t v;
				ssize_t r = read(srv->efd, &v, sizeof v);

				(void)r;
			} else {
				struct conn *c = p;

				if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
					conn_read(c);
					/* answers made while reading (handlers that answer on this
					 * thread) leave now, not after every other ready connection
					 * was read: the client works on them meanwhile instead of
					 * the two sides taking turns on whole batches */
					if (!c->dead) {
						run_dirty(srv);
						conn_flush(c);
					}
				}
			}
		}
		now = mk_grpc_now_ms();
		if (atomic_load(&srv->stop_req) && !drain_until) {
			/* Graceful stop: no new connections; notice + PING (final GOAWAY on the
			 * ACK); every stream ends UNAVAILABLE. */
			epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->lfd, NULL);
			for (struct conn *c = srv->conns; c; c = c->next) {
				c->draining = true;
				nghttp2_submit_shutdown_notice(c->s);
				nghttp2_submit_ping(c->s, NGHTTP2_FLAG_NONE, NULL);
			}
			drain_until = now + (srv->drain_ms > 0 ? srv->drain_ms : 1);
		}
		if (drain_until) {
			mk_grpc_server_close_streams(srv, pred_all, NULL, MK_GRPC_UNAVAILABLE,
						     "server shutting down");
			for (struct conn *c = srv->conns; c; c = c->next)
				if (!c->final_goaway && now + 2 * TICK_MS >= drain_until) {
					nghttp2_submit_goaway(
						c->s, NGHTTP2_FLAG_NONE,
						nghttp2_session_get_last_proc_stream_id(c->s),
						NGHTTP2_NO_ERROR, NULL, 0);
					c->final_goaway = true;
				}
		}
		run_dirty(srv);
		if (now - last_tick >= TICK_MS) {
			run_timers(srv, now);
			last_tick = now;
		}
		for (struct conn *c = srv->conns, *next; c; c = next) {
			next = c->next;
			conn_flush(c);
			if (c->dead)
				conn_free(c);
		}
		if (drain_until && (!srv->conns || now >= drain_until))
			break;
	}
	while (srv->conns)
		conn_free(srv->conns);
	run_dirty(srv); /* drop references held by the dirty list */
	return NULL;
}

/* ------------------------------------------------------------------ lifecycle */

mk_grpc_server *
mk_grpc_server_new(const mk_grpc_server_config *cfg, char *err, size_t errcap)
{
	mk_grpc_server *srv = calloc(1, sizeof *srv);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	int one = 1;
	struct epoll_event ev = {.events = EPOLLIN};

	if (!srv) {
		set_err(err, errcap, "out of memory%s", NULL);
		return NULL;
	}
	srv->cfg = *cfg;
	snprintf(srv->host, sizeof srv->host, "%s", cfg->host ? cfg->host : "127.0.0.1");
	srv->cfg.host = srv->host;
	if (!srv->cfg.max_message)
		srv->cfg.max_message = MK_GRPC_DEFAULT_MAX_MESSAGE;
	if (!srv->cfg.stream_queue_limit)
		srv->cfg.stream_queue_limit = 4u << 20;
	if (!srv->cfg.preauth_max_message)
		srv->cfg.preauth_max_message = MK_GRPC_DEFAULT_PREAUTH_MAX_MESSAGE;
	if (!srv->cfg.overflow_grace_ms)
		srv->cfg.overflow_grace_ms = 1000;
	if (!srv->cfg.max_connections)
		srv->cfg.max_connections = 1024;
	if (!srv->cfg.keepalive_ms)
		srv->cfg.keepalive_ms = 30000;
	if (!srv->cfg.keepalive_timeout_ms)
		srv->cfg.keepalive_timeout_ms = 20000;
	pthread_mutex_init(&srv->mu, NULL);
	srv->lfd = srv->efd = srv->epfd = -1;

	if (inet_pton(AF_INET, srv->host, &sa.sin_addr) != 1) {
		set_err(err, errcap, "bad listen address %s (IPv4 literal expected)", srv->host);
		goto fail;
	}
	sa.sin_port = htons((uint16_t)cfg->port);
	srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->lfd < 0)
		goto fail_errno;
	setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(srv->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(srv->lfd, 256) != 0)
		goto fail_errno;
	getsockname(srv->lfd, (struct sockaddr *)&sa, &sl);
	srv->port = ntohs(sa.sin_port);
	srv->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->efd < 0 || srv->epfd < 0)
		goto fail_errno;
	ev.data.ptr = &listen_tag;
	epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->lfd, &ev);
	ev.data.ptr = &event_tag;
	epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->efd, &ev);
	return srv;

fail_errno:
	set_err(err, errcap, "listen: %s", strerror(errno));
fail:
	if (srv->lfd >= 0)
		close(srv->lfd);
	if (srv->efd >= 0)
		close(srv->efd);
	if (srv->epfd >= 0)
		close(srv->epfd);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
	return NULL;
}

int
mk_grpc_server_port(const mk_grpc_server *srv)
{
	return srv->port;
}

int
mk_grpc_server_register(mk_grpc_server *srv, const char *path, mk_grpc_kind kind,
			mk_grpc_handler_fn handler, const mk_grpc_bidi_fns *bidi, void *ud)
{
	const char *slash;
	struct method *nm, *m;
	char *service;
	bool known = false;

	if (srv->started || !path || path[0] != '/' || !(slash = strchr(path + 1, '/')) ||
	    slash == path + 1 || !slash[1] || (kind == MK_GRPC_BIDI ? !bidi : !handler))
		return -1;
	for (size_t i = 0; i < srv->nmethods; i++)
		if (strcmp(srv->methods[i].path, path) == 0)
			return -1;
	nm = realloc(srv->methods, (srv->nmethods + 1) * sizeof *nm);
	if (!nm)
		return -1;
	srv->methods = nm;
	service = xstrndup(path + 1, (size_t)(slash - path - 1));
	m = &srv->methods[srv->nmethods];
	memset(m, 0, sizeof *m);
	m->path = strdup(path);
	if (!service || !m->path) {
		free(service);
		free(m->path);
		return -1;
	}
	m->kind = kind;
	m->handler = handler;
	if (bidi)
		m->bidi = *bidi;
	m->ud = ud;
	m->auth_exempt = auth_exempt(srv, path);
	for (size_t i = 0; i < srv->nservices; i++)
		if (strcmp(srv->services[i], service) == 0) {
			m->service = (char *)srv->services[i];
			known = true;
		}
	if (!known) {
		const char **ns = realloc(srv->services, (srv->nservices + 1) * sizeof *ns);

		if (!ns) {
			free(service);
			free(m->path);
			return -1;
		}
		srv->services = ns;
		srv->services[srv->nservices++] = service;
		m->service = service;
	} else
		free(service);
	srv->nmethods++;
	return 0;
}

int
mk_grpc_server_set_router(mk_grpc_server *srv, mk_grpc_router_fn fn, void *ud)
{
	if (srv->started)
		return -1;
	srv->router = fn;
	srv->router_ud = ud;
	return 0;
}

bool
mk_grpc_server_has_router(const mk_grpc_server *srv)
{
	return srv->router != NULL;
}

size_t
mk_grpc_server_services(const mk_grpc_server *srv, const char **names, size_t cap)
{
	for (size_t i = 0; i < srv->nservices && i < cap; i++)
		names[i] = srv->services[i];
	return srv->nservices;
}

int
mk_grpc_server_start(mk_grpc_server *srv, char *err, size_t errcap)
{
	int rc;

	if (srv->started)
		return 0;
	rc = pthread_create(&srv->thread, NULL, loop_main, srv);
	if (rc != 0) {
		set_err(err, errcap, "pthread_create: %s", strerror(rc));
		return -1;
	}
	srv->started = true;
	return 0;
}

void
mk_grpc_server_stop(mk_grpc_server *srv, int drain_ms)
{
	if (!srv || srv->stopped)
		return;
	if (srv->started) {
		srv->drain_ms = drain_ms;
		atomic_store(&srv->stop_req, true);
		wake(srv);
		pthread_join(srv->thread, NULL);
	}
	srv->stopped = true;
}

void
mk_grpc_server_free(mk_grpc_server *srv)
{
	if (!srv)
		return;
	mk_grpc_server_stop(srv, 1000);
	for (int i = 0; i < MK_GRPC_NSLOTS; i++)
		if (srv->slots[i] && srv->slot_free[i])
			srv->slot_free[i](srv->slots[i]);
	close(srv->lfd);
	close(srv->efd);
	close(srv->epfd);
	for (size_t i = 0; i < srv->nmethods; i++)
		free(srv->methods[i].path);
	for (size_t i = 0; i < srv->nservices; i++)
		free((char *)srv->services[i]);
	free(srv->methods);
	free(srv->services);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}

void *
mk_grpc_server_slot(mk_grpc_server *srv, enum mk_grpc_slot which)
{
	return srv->slots[which];
}

void
mk_grpc_server_set_slot(mk_grpc_server *srv, enum mk_grpc_slot which, void *state,
			void (*free_fn)(void *))
{
	srv->slots[which] = state;
	srv->slot_free[which] = free_fn;
}
