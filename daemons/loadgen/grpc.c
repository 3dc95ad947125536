/*
 * grpc.c - the gRPC unary part of the load generator: h2c connections driven by nghttp2's client
 * session, each carrying up to `streams` concurrent calls of one request framed once at start.
 *
 * Only the connection handling is here. The schedule (closed loop: a finished call starts the next
 * on its connection; open loop: call number g is due at lg_due_at(g) and its latency runs from
 * then, so waiting for a free stream is charged to the server), the counters, the timeline, the
 * report and the thresholds are those of loadgen.c: a gRPC worker writes the same single-writer
 * counters as an HTTP one, plus the calls by grpc-status (reported as "grpcStatus" and, for the
 * non-zero codes, as error kinds named after the code, e.g. "UNAVAILABLE").
 */
#include "lg_int.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#define G_MAX_NV 80

static const char *const status_names[LG_GRPC_CODES] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

const char *
lg_grpc_status_name(int code)
{
	return code >= 0 && code < LG_GRPC_CODES ? status_names[code] : "UNKNOWN";
}

int
lg_grpc_parse_status(const char *v, size_t len)
{
	if (v == NULL || len == 0 || len > 2)
		return -1;
	int n = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n < LG_GRPC_CODES ? n : -1;
}

uint8_t *
lg_grpc_frame(const uint8_t *msg, size_t len)
{
	if (len > 0xffffffffu)
		return NULL;
	uint8_t *b = malloc(len + 5);
	if (b == NULL)
		return NULL;
	b[0] = 0; /* not compressed */
	b[1] = (uint8_t)(len >> 24);
	b[2] = (uint8_t)(len >> 16);
	b[3] = (uint8_t)(len >> 8);
	b[4] = (uint8_t)len;
	if (len)
		memcpy(b + 5, msg, len);
	return b;
}

bool
lg_grpc_timeout_value(int ms, char *buf, size_t cap)
{
	if (ms <= 0)
		return false;
	int n = ms <= 99999999 ? snprintf(buf, cap, "%dm", ms) : snprintf(buf, cap, "%dS", (ms + 999) / 1000);
	return n > 0 && (size_t)n < cap;
}

lg_grpc_outcome
lg_grpc_classify(int http_status, int grpc_status, bool reset)
{
	if (grpc_status == 0)
		return LG_GRPC_OK;
	if (grpc_status > 0)
		return LG_GRPC_STATUS;
	if (reset)
		return LG_GRPC_RESET;
	if (http_status != 0 && http_status != 200)
		return LG_GRPC_HTTP_STATUS;
	return LG_GRPC_NO_STATUS;
}

/* ---------------------------------------------------------------- connections */

typedef struct gcall {
	bool used, timed_out;
	int32_t id;
	int http_status, grpc_status;
	size_t off; /* bytes of the framed request handed to nghttp2 */
	uint64_t start_ns, deadline_ns;
} gcall;

enum { G_FREE, G_BACKOFF, G_CONNECTING, G_OPEN };

typedef struct gconn {
	int fd, state, idx, inflight;
	bool epout;
	uint64_t until_ns; /* back-off end or connect deadline */
	nghttp2_session *s;
	gcall *calls; /* streams slots */
	worker *w;
} gconn;

typedef struct gworker {
	gconn *conns;
	int nconns;
	int want; /* closed loop: connections that should carry calls now (stages ramp it) */
	nghttp2_session_callbacks *cbs;
	nghttp2_nv nv[G_MAX_NV];
	size_t nnv;
	uint64_t inflight;
} gworker;

static void g_close(worker *w, gconn *c);

static void
g_count(worker *w, gcall *k, uint64_t now)
{
	lg_grpc_outcome o = lg_grpc_classify(k->http_status, k->grpc_status, false);
	if (k->timed_out) {
		record_error_kind(w, EK_TIMEOUT);
		return;
	}
	if (o == LG_GRPC_NO_STATUS || o == LG_GRPC_HTTP_STATUS) {
		if (k->http_status > 0 && k->http_status < MAX_STATUS)
			bump(&w->status[k->http_status], 1);
		record_error_kind(w, o == LG_GRPC_NO_STATUS ? EK_PARSE : EK_STATUS);
		return;
	}
	uint64_t lat = now > k->start_ns ? now - k->start_ns : 0;
	bump(&w->hist[lg_hist_index(lat)], 1);
	bump(&w->requests, 1);
	bump(&w->sum_ns, lat);
	if (lat < rd(&w->min_ns))
		atomic_store_explicit(&w->min_ns, lat, memory_order_relaxed);
	if (lat > rd(&w->max_ns))
		atomic_store_explicit(&w->max_ns, lat, memory_order_relaxed);
	bump(&w->status[200], 1);
	bump(&w->grpc_codes[k->grpc_status], 1);
	if (k->grpc_status != 0)
		bump(&w->errors, 1);
}

static void
g_call_end(worker *w, gconn *c, gcall *k)
{
	gworker *gw = w->proto;
	k->used = false;
	c->inflight--;
	gw->inflight--;
	bump(&w->busy, (uint64_t)-1);
}

static ssize_t
cb_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
	gconn *c = ud;
	(void)s;
	(void)flags;
	for (;;) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return NGHTTP2_ERR_WOULDBLOCK;
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
}

static int
cb_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen, const uint8_t *value,
          size_t vlen, uint8_t flags, void *ud)
{
	(void)flags;
	(void)ud;
	gcall *k = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (k == NULL)
		return 0;
	if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
		int st = 0;
		for (size_t i = 0; i < vlen && i < 3; i++)
			st = st * 10 + (value[i] - '0');
		k->http_status = st;
	} else if (nlen == 11 && memcmp(name, "grpc-status", 11) == 0) {
		int code = lg_grpc_parse_status((const char *)value, vlen);
		k->grpc_status = code >= 0 ? code : 2; /* a malformed status: UNKNOWN */
	}
	return 0;
}

static int
cb_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *ud)
{
	gconn *c = ud;
	(void)s;
	(void)flags;
	(void)id;
	(void)data;
	bump(&c->w->bytes, len);
	return 0;
}

static int
cb_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	gconn *c = ud;
	worker *w = c->w;
	gcall *k = nghttp2_session_get_stream_user_data(s, id);
	if (k == NULL || !k->used)
		return 0;
	uint64_t now = now_ns();
	if (!k->timed_out && k->grpc_status < 0 && code != NGHTTP2_NO_ERROR)
		record_error_kind(w, EK_READ);
	else
		g_count(w, k, now);
	g_call_end(w, c, k);
	return 0;
}

static ssize_t
cb_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags, nghttp2_data_source *src,
        void *ud)
{
	gconn *c = ud;
	gcall *k = src->ptr;
	lg_grpc_run *g = c->w->run->grpc;
	(void)s;
	(void)id;
	size_t n = g->frame_len - k->off;
	if (n > len)
		n = len;
	memcpy(buf, g->frame + k->off, n);
	k->off += n;
	if (k->off == g->frame_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static void
g_epoll(worker *w, gconn *c, bool out)
{
	if (c->epout == out)
		return;
	struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.u32 = (uint32_t)c->idx};
	epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->epout = out;
}

/* Abandons every call in flight on c with error kind (when counted) and closes it. */
static void
g_fail(worker *w, gconn *c, int kind)
{
	lg_grpc_run *g = w->run->grpc;
	for (int i = 0; i < g->streams; i++)
		if (c->calls[i].used) {
			if (kind >= 0)
				record_error_kind(w, kind);
			g_call_end(w, c, &c->calls[i]);
		}
	g_close(w, c);
	if (w->run->mode == LG_CLOSED && kind >= 0) {
		c->state = G_BACKOFF;
		c->until_ns = now_ns() + 10 * NS_PER_MS;
	}
}

static void
g_close(worker *w, gconn *c)
{
	if (c->s) {
		nghttp2_session_del(c->s);
		c->s = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
		w->nopen--;
	}
	c->state = G_FREE;
	c->epout = false;
}

/* Sends what nghttp2 has queued; false when the connection failed (already handled). */
static bool
g_flush(worker *w, gconn *c)
{
	if (nghttp2_session_send(c->s) != 0) {
		g_fail(w, c, EK_WRITE);
		return false;
	}
	g_epoll(w, c, nghttp2_session_want_write(c->s) != 0);
	return true;
}

/* Starts one call on the open connection c, latency from start_ns; false when it has no room. */
static bool
g_submit(worker *w, gconn *c, uint64_t start_ns, uint64_t now)
{
	lg_run *r = w->run;
	gworker *gw = w->proto;
	lg_grpc_run *g = r->grpc;
	if (c->state != G_OPEN || c->inflight >= g->streams)
		return false;
	gcall *k = NULL;
	for (int i = 0; i < g->streams; i++)
		if (!c->calls[i].used) {
			k = &c->calls[i];
			break;
		}
	if (k == NULL)
		return false;
	memset(k, 0, sizeof *k);
	k->used = true;
	k->grpc_status = -1;
	k->start_ns = start_ns;
	k->deadline_ns = now + (uint64_t)r->timeout_ms * NS_PER_MS;
	nghttp2_data_provider dp = {.source.ptr = k, .read_callback = cb_read};
	int32_t id = nghttp2_submit_request(c->s, NULL, gw->nv, gw->nnv, &dp, k);
	if (id < 0) {
		k->used = false;
		return false;
	}
	k->id = id;
	c->inflight++;
	gw->inflight++;
	bump(&w->busy, 1);
	return true;
}

static void
g_connect(worker *w, gconn *c, uint64_t now)
{
	lg_run *r = w->run;
	const endpoint *e = &r->eps[r->grpc->ep];
	int fd = socket(e->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto failed;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fd = fd;
	w->nopen++;
	bump(&w->opened, 1);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)c->idx};
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		goto failed;
	c->epout = true;
	if (connect(fd, (const struct sockaddr *)&e->addr, e->alen) != 0 && errno != EINPROGRESS)
		goto failed;
	c->state = G_CONNECTING;
	c->until_ns = now + (uint64_t)r->timeout_ms * NS_PER_MS;
	return;
failed:
	g_close(w, c);
	record_error_kind(w, EK_CONNECT);
	c->state = G_BACKOFF;
	c->until_ns = now + 10 * NS_PER_MS;
}

/* The TCP connection of c is up: the HTTP/2 session starts. */
static bool
g_open(worker *w, gconn *c)
{
	gworker *gw = w->proto;
	if (nghttp2_session_client_new(&c->s, gw->cbs, c) != 0) {
		g_fail(w, c, EK_CONNECT);
		return false;
	}
	nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000},
	                               {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24}};
	nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 2);
	nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, 1 << 26);
	c->state = G_OPEN;
	return true;
}

/* Closed loop: fills the open connection c with calls, as many as the run still allows. */
static void
g_fill_closed(worker *w, gconn *c)
{
	lg_run *r = w->run;
	gworker *gw = w->proto;
	while (c->state == G_OPEN && c->idx < gw->want && c->inflight < r->grpc->streams &&
	       !atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		if (!lg_claim(w))
			break;
		uint64_t t = now_ns();
		if (!g_submit(w, c, t, t))
			break;
	}
}

/* Open loop: every due call goes to a connection with a free stream; a free slot is connected. */
static void
g_dispatch_open(worker *w, uint64_t now)
{
	lg_run *r = w->run;
	gworker *gw = w->proto;
	if (atomic_load_explicit(&r->stop, memory_order_relaxed))
		return;
	for (;;) {
		uint64_t g = w->next_g * (uint64_t)r->threads + (uint64_t)w->id;
		if (r->max_requests && g >= r->max_requests)
			return;
		double due = lg_due_at(r, g);
		if (!isfinite(due))
			return;
		uint64_t t = r->t0_ns + (uint64_t)(due * 1e9);
		if (t > now)
			return;
		gconn *c = NULL, *idle = NULL;
		for (int i = 0; i < gw->nconns; i++) {
			gconn *x = &gw->conns[i];
			if (x->state == G_OPEN && x->inflight < r->grpc->streams) {
				c = x;
				break;
			}
			if (idle == NULL &&
			    (x->state == G_FREE || (x->state == G_BACKOFF && now >= x->until_ns)))
				idle = x;
		}
		if (c == NULL) {
			if (idle != NULL)
				g_connect(w, idle, now);
			return; /* the call waits in the schedule, and the wait counts */
		}
		if (!g_submit(w, c, t, now))
			return;
		w->next_g++;
		if (!g_flush(w, c))
			return;
	}
}

static void
g_event(worker *w, gconn *c, uint32_t ev)
{
	lg_run *r = w->run;
	if (c->state == G_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof err;
		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err != 0) {
			g_close(w, c);
			record_error_kind(w, EK_CONNECT);
			c->state = G_BACKOFF;
			c->until_ns = now_ns() + 10 * NS_PER_MS;
			return;
		}
		if (!g_open(w, c))
			return;
		if (r->mode == LG_CLOSED)
			g_fill_closed(w, c);
		else
			g_dispatch_open(w, now_ns());
		if (c->state == G_OPEN)
			g_flush(w, c);
		return;
	}
	if (c->state != G_OPEN)
		return;
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		for (;;) {
			ssize_t n = read(c->fd, w->rbuf, RBUF_SIZE);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				g_fail(w, c, EK_READ);
				return;
			}
			if (nghttp2_session_mem_recv(c->s, (const uint8_t *)w->rbuf, (size_t)n) < 0) {
				g_fail(w, c, EK_PARSE);
				return;
			}
			if (n < RBUF_SIZE)
				break;
		}
	}
	if (r->mode == LG_CLOSED)
		g_fill_closed(w, c);
	else
		g_dispatch_open(w, now_ns());
	if (c->state == G_OPEN && !g_flush(w, c))
		return;
	if (c->state == G_OPEN && !nghttp2_session_want_read(c->s) && !nghttp2_session_want_write(c->s))
		g_fail(w, c, c->inflight ? EK_READ : -1); /* GOAWAY: a new connection next time */
}

/* Timeouts of calls and connects, back-offs ended, closed-loop connections to (re)open. */
static void
g_scan(worker *w, uint64_t now)
{
	lg_run *r = w->run;
	gworker *gw = w->proto;
	if (r->mode == LG_CLOSED) {
		int total = (int)lround(lg_target_at(r, (double)(now - r->t0_ns) / NS_PER_MS));
		int want = lg_share(total, w->id, r->threads);
		want = want > gw->nconns ? gw->nconns : want;
		if (want > gw->want) /* connections joining: the open ones start sending at once */
			for (int i = gw->want; i < want; i++)
				if (gw->conns[i].state == G_OPEN) {
					gw->want = want;
					g_fill_closed(w, &gw->conns[i]);
					if (gw->conns[i].state == G_OPEN)
						g_flush(w, &gw->conns[i]);
				}
		gw->want = want;
	}
	for (int i = 0; i < gw->nconns; i++) {
		gconn *c = &gw->conns[i];
		if (c->state == G_CONNECTING && now >= c->until_ns) {
			g_close(w, c);
			record_error_kind(w, EK_CONNECT);
			c->state = G_BACKOFF;
			c->until_ns = now + 10 * NS_PER_MS;
		} else if (c->state == G_OPEN) {
			bool reset = false;
			for (int j = 0; j < r->grpc->streams; j++) {
				gcall *k = &c->calls[j];
				if (k->used && !k->timed_out && now >= k->deadline_ns) {
					k->timed_out = true;
					nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, k->id,
					                          NGHTTP2_CANCEL);
					reset = true;
				}
			}
			if (reset)
				g_flush(w, c);
		}
		if (r->mode == LG_CLOSED && i < gw->want &&
		    (c->state == G_FREE || (c->state == G_BACKOFF && now >= c->until_ns)) &&
		    !atomic_load_explicit(&r->stop, memory_order_relaxed) &&
		    !(r->max_requests && rd(&r->issued) >= r->max_requests))
			g_connect(w, c, now);
	}
	w->next_scan = now + SCAN_NS;
}

static bool
g_drained(worker *w)
{
	lg_run *r = w->run;
	gworker *gw = w->proto;
	if (gw->inflight != 0)
		return false;
	if (r->mode == LG_CLOSED)
		return r->max_requests && rd(&r->issued) >= r->max_requests;
	uint64_t g = w->next_g * (uint64_t)r->threads + (uint64_t)w->id;
	return (r->max_requests && g >= r->max_requests) || !isfinite(lg_due_at(r, g));
}

static bool
g_setup(worker *w)
{
	lg_run *r = w->run;
	lg_grpc_run *g = r->grpc;
	gworker *gw = calloc(1, sizeof *gw);
	if (gw == NULL)
		return false;
	w->proto = gw;
	gw->nconns = w->nconns;
	gw->conns = calloc((size_t)gw->nconns, sizeof *gw->conns);
	if (gw->conns == NULL || nghttp2_session_callbacks_new(&gw->cbs) != 0)
		return false;
	for (int i = 0; i < gw->nconns; i++) {
		gconn *c = &gw->conns[i];
		c->fd = -1;
		c->idx = i;
		c->w = w;
		c->calls = calloc((size_t)g->streams, sizeof *c->calls);
		if (c->calls == NULL)
			return false;
	}
	nghttp2_session_callbacks_set_send_callback(gw->cbs, cb_send);
	nghttp2_session_callbacks_set_on_header_callback(gw->cbs, cb_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(gw->cbs, cb_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(gw->cbs, cb_close);
	for (size_t i = 0; i < g->nh && i < G_MAX_NV; i++) {
		gw->nv[i] = (nghttp2_nv){(uint8_t *)g->hname[i], (uint8_t *)g->hvalue[i], strlen(g->hname[i]),
		                         strlen(g->hvalue[i]), NGHTTP2_NV_FLAG_NONE};
		gw->nnv++;
	}
	return true;
}

static void
g_teardown(worker *w)
{
	gworker *gw = w->proto;
	if (gw == NULL)
		return;
	for (int i = 0; gw->conns && i < gw->nconns; i++) {
		g_close(w, &gw->conns[i]);
		free(gw->conns[i].calls);
	}
	free(gw->conns);
	if (gw->cbs)
		nghttp2_session_callbacks_del(gw->cbs);
	free(gw);
	w->proto = NULL;
}

void
lg_grpc_worker(worker *w)
{
	lg_run *r = w->run;
	struct epoll_event evs[256];

	if (!g_setup(w)) {
		g_teardown(w);
		return;
	}
	gworker *gw = w->proto;
	uint64_t now = now_ns();
	g_scan(w, now); /* closed loop: connects every slot */
	if (r->mode == LG_OPEN)
		g_dispatch_open(w, now);
	for (;;) {
		now = now_ns();
		if (atomic_load_explicit(&r->stop, memory_order_relaxed) || (r->end_ns && now >= r->end_ns))
			break;
		if (now >= w->next_scan)
			g_scan(w, now);
		if (r->mode == LG_OPEN)
			g_dispatch_open(w, now);
		if (g_drained(w))
			break;
		uint64_t until = w->next_scan;
		if (r->end_ns && r->end_ns < until)
			until = r->end_ns;
		if (r->mode == LG_OPEN) {
			uint64_t g = w->next_g * (uint64_t)r->threads + (uint64_t)w->id;
			double due = lg_due_at(r, g);
			if (isfinite(due)) {
				uint64_t t = r->t0_ns + (uint64_t)(due * 1e9);
				if (t < until)
					until = t;
			}
		}
		struct timespec ts = {0, 0};
		if (until > now) {
			ts.tv_sec = (time_t)((until - now) / NS_PER_S);
			ts.tv_nsec = (long)((until - now) % NS_PER_S);
		}
		int n = epoll_pwait2(w->epfd, evs, 256, &ts, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == UINT32_MAX)
				continue;
			g_event(w, &gw->conns[evs[i].data.u32], evs[i].events);
		}
	}
	g_teardown(w);
}

/* ---------------------------------------------------------------- configuration */

void
lg_grpc_run_free(lg_grpc_run *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->nh; i++) {
		free(g->hname[i]);
		free(g->hvalue[i]);
	}
	free(g->hname);
	free(g->hvalue);
	free(g->frame);
	free(g);
}

static bool
add_header(lg_grpc_run *g, const char *name, size_t nlen, const char *value)
{
	if (g->nh >= G_MAX_NV)
		return false;
	g->hname[g->nh] = strndup(name, nlen);
	g->hvalue[g->nh] = strdup(value);
	if (g->hname[g->nh] == NULL || g->hvalue[g->nh] == NULL)
		return false;
	g->nh++;
	return true;
}

bool
lg_grpc_configure(lg_run *r, const lg_grpc *cfg, char *err, size_t errcap)
{
	char host[256], port[16];
	if (cfg->target == NULL || *cfg->target == '\0') {
		snprintf(err, errcap, "grpc.target: missing (host:port)");
		return false;
	}
	const char *t = cfg->target, *colon;
	if (strncmp(t, "http://", 7) == 0)
		t += 7;
	if (*t == '[') {
		const char *close = strchr(t, ']');
		if (close == NULL || close[1] != ':') {
			snprintf(err, errcap, "grpc.target: not host:port: '%s'", cfg->target);
			return false;
		}
		snprintf(host, sizeof host, "%.*s", (int)(close - t - 1), t + 1);
		colon = close + 1;
	} else {
		colon = strrchr(t, ':');
		if (colon == NULL || colon == t || (size_t)(colon - t) >= sizeof host) {
			snprintf(err, errcap, "grpc.target: not host:port: '%s'", cfg->target);
			return false;
		}
		snprintf(host, sizeof host, "%.*s", (int)(colon - t), t);
	}
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || (*end != '\0' && strcmp(end, "/") != 0) || p < 1 || p > 65535) {
		snprintf(err, errcap, "grpc.target: bad port in '%s'", cfg->target);
		return false;
	}
	snprintf(port, sizeof port, "%ld", p);
	if (cfg->path == NULL || cfg->path[0] != '/' || strchr(cfg->path + 1, '/') == NULL) {
		snprintf(err, errcap, "grpc.path: must be /pkg.Service/Method");
		return false;
	}
	for (const char *c = cfg->path; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 127) {
			snprintf(err, errcap, "grpc.path: contains a space or control character");
			return false;
		}
	if (cfg->streams < 0 || cfg->streams > 1000) {
		snprintf(err, errcap, "grpc.streams: must be between 1 and 1000");
		return false;
	}
	if (cfg->deadline_ms < 0) {
		snprintf(err, errcap, "grpc.deadline: must not be negative");
		return false;
	}
	if (cfg->message == NULL && cfg->message_len > 0) {
		snprintf(err, errcap, "grpc.message: NULL with a length");
		return false;
	}
	if (cfg->nmetadata > G_MAX_NV - 10) {
		snprintf(err, errcap, "grpc.metadata: at most %d entries", G_MAX_NV - 10);
		return false;
	}
	int ep = lg_endpoint_for(r, host, port, err, errcap, "grpc.target");
	if (ep < 0)
		return false;
	lg_grpc_run *g = calloc(1, sizeof *g);
	if (g == NULL)
		goto oom;
	r->grpc = g;
	g->ep = ep;
	g->streams = cfg->streams ? cfg->streams : 1;
	g->hname = calloc(G_MAX_NV, sizeof *g->hname);
	g->hvalue = calloc(G_MAX_NV, sizeof *g->hvalue);
	g->frame = lg_grpc_frame(cfg->message, cfg->message_len);
	if (g->hname == NULL || g->hvalue == NULL || g->frame == NULL)
		goto oom;
	g->frame_len = cfg->message_len + 5;
	char authority[300], tmo[32];
	snprintf(authority, sizeof authority, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	if (!add_header(g, ":method", 7, "POST") || !add_header(g, ":scheme", 7, "http") ||
	    !add_header(g, ":path", 5, cfg->path) || !add_header(g, ":authority", 10, authority) ||
	    !add_header(g, "content-type", 12, "application/grpc") || !add_header(g, "te", 2, "trailers") ||
	    !add_header(g, "user-agent", 10, "mockarty-load"))
		goto oom;
	if (lg_grpc_timeout_value(cfg->deadline_ms, tmo, sizeof tmo) &&
	    !add_header(g, "grpc-timeout", 12, tmo))
		goto oom;
	for (size_t i = 0; i < cfg->nmetadata; i++) {
		const char *m = cfg->metadata[i], *c = m ? strchr(m, ':') : NULL;
		if (c == NULL || c == m) {
			snprintf(err, errcap, "grpc.metadata[%zu]: not 'key: value'", i);
			return false;
		}
		char key[256];
		size_t kl = (size_t)(c - m);
		if (kl >= sizeof key) {
			snprintf(err, errcap, "grpc.metadata[%zu]: key too long", i);
			return false;
		}
		for (size_t j = 0; j < kl; j++) {
			char ch = m[j];
			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
			      ch == '_' || ch == '.')) {
				snprintf(err, errcap, "grpc.metadata[%zu]: invalid key '%.*s'", i, (int)kl,
				         m);
				return false;
			}
			key[j] = ch;
		}
		key[kl] = '\0';
		if (strncmp(key, "grpc-", 5) == 0 || strcmp(key, "te") == 0 ||
		    strcmp(key, "content-type") == 0) {
			snprintf(err, errcap, "grpc.metadata[%zu]: '%s' is reserved", i, key);
			return false;
		}
		c++;
		while (*c == ' ' || *c == '\t')
			c++;
		for (const char *v = c; *v; v++)
			if ((unsigned char)*v < ' ' || *v == 127) {
				snprintf(err, errcap, "grpc.metadata[%zu]: control character in the value",
				         i);
				return false;
			}
		if (!add_header(g, key, kl, c))
			goto oom;
	}
	return true;
oom:
	snprintf(err, errcap, "out of memory");
	return false;
}
