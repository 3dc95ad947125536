/*
 * grpc_client.c - blocking gRPC client over h2c on nghttp2 (the resolver's connection to the
 * coordinator).
 *
 * Constraints: the daemons need exactly two call shapes (unary, server-streaming with a
 * callback) and a clean status for every way a call can end — trailers, trailers-only,
 * non-200 HTTP, RST_STREAM, GOAWAY, lost connection, deadline — mapped the way grpc-js and
 * C-core map them (PROTOCOL-HTTP2.md), so reconnect logic can rely on UNAVAILABLE meaning
 * "retry". One call at a time keeps the state small; a poll() loop drives nghttp2; an eventfd
 * lets another thread interrupt a long-lived stream (shutdown).
 */
#include "grpc_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#define KEEPALIVE_MS	     30000
#define KEEPALIVE_TIMEOUT_MS 20000

struct ccall {
	int32_t id;
	bool done;
	int http_status;
	bool have_grpc_status;
	int grpc_status;
	char grpc_message[512];
	uint32_t rst_code;
	bool cancelled_by_us;
	int local_code; /* set when we end the call ourselves */
	char local_msg[256];
	/* request body */
	const uint8_t *req;
	size_t req_len, req_off;
	uint8_t prefix[MK_GRPC_PREFIX_LEN];
	/* response reassembly */
	uint8_t *rx;
	size_t rx_len, rx_cap;
	unsigned nmsgs;
	bool unary;
	uint8_t *resp;
	size_t resp_len;
	mk_grpc_msg_fn on_msg;
	void *ud;
	/* a streaming request (mk_grpc_client_call): the message being written, prefix included */
	const mk_grpc_call_fns *fns;
	uint8_t *out;
	size_t out_len, out_off;
	bool req_eof, deferred;
	bool remote_closed; /* the server ended its side (END_STREAM) */
};

struct mk_grpc_client {
	int fd;
	int wake_fd;
	nghttp2_session *s;
	char authority[256];
	char *authz;
	size_t max_message;
	bool broken;
	bool goaway;
	struct ccall *call;
	int64_t last_rx, ping_sent;
	atomic_bool interrupted; /* mk_grpc_client_interrupt, consumed by the call loop */
	/* metadata for the next call only (mk_grpc_client_set_call_metadata), malloc'd */
	int nextra;
	char *extra_name[MK_GRPC_CALL_METADATA_MAX];
	char *extra_value[MK_GRPC_CALL_METADATA_MAX];
};

static void
clear_extra(mk_grpc_client *c)
{
	for (int i = 0; i < c->nextra; i++) {
		free(c->extra_name[i]);
		free(c->extra_value[i]);
	}
	c->nextra = 0;
}

static void
set_status(mk_grpc_status *st, int code, const char *msg)
{
	if (!st)
		return;
	st->code = code;
	snprintf(st->message, sizeof st->message, "%s", msg ? msg : "");
}

/* Ends the current call locally with code/msg (first reason wins). */
static void
local_fail(mk_grpc_client *c, int code, const char *msg)
{
	struct ccall *cl = c->call;

	if (!cl || cl->local_code >= 0)
		return;
	cl->local_code = code;
	snprintf(cl->local_msg, sizeof cl->local_msg, "%s", msg);
	if (cl->id > 0 && !cl->done) {
		nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, cl->id, NGHTTP2_CANCEL);
		cl->cancelled_by_us = true;
	}
}

/* ---- nghttp2 callbacks ---- */

static ssize_t
send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user_data)
{
	mk_grpc_client *c = user_data;
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

static ssize_t
req_read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
	    nghttp2_data_source *source, void *user_data)
{
	struct ccall *cl = source->ptr;
	size_t total = MK_GRPC_PREFIX_LEN + cl->req_len, n = 0;

	(void)s;
	(void)id;
	(void)user_data;
	while (n < length && cl->req_off < total) {
		size_t off = cl->req_off, take;

		if (off < MK_GRPC_PREFIX_LEN) {
			take = MK_GRPC_PREFIX_LEN - off;
			if (take > length - n)
				take = length - n;
			memcpy(buf + n, cl->prefix + off, take);
		} else {
			take = total - off;
			if (take > length - n)
				take = length - n;
			memcpy(buf + n, cl->req + (off - MK_GRPC_PREFIX_LEN), take);
		}
		n += take;
		cl->req_off += take;
	}
	if (cl->req_off == total)
		*flags |= NGHTTP2_DATA_FLAG_EOF; /* END_STREAM: the client has nothing more */
	return (ssize_t)n;
}

/*
 * Data source of a streaming request: pulls the caller's messages through fns->next as nghttp2
 * has window for them (so the backend's flow control paces the producer), defers while none is
 * ready (mk_grpc_client_notify resumes) and ends the stream after the last one.
 */
static ssize_t
stream_read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
	       nghttp2_data_source *source, void *user_data)
{
	struct ccall *cl = source->ptr;
	size_t n = 0;

	(void)s;
	(void)id;
	while (n < length) {
		size_t take;

		if (cl->out == NULL) {
			uint8_t *m = NULL;
			size_t ml = 0;
			int r;

			if (cl->req_eof)
				break;
			r = cl->fns->next(cl->fns->ud, &m, &ml);
			if (r < 0) {
				cl->req_eof = true;
				break;
			}
			if (r == 0)
				break;
			cl->out = malloc(MK_GRPC_PREFIX_LEN + ml);
			if (cl->out == NULL) {
				free(m);
				local_fail(user_data, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
				return NGHTTP2_ERR_DEFERRED;
			}
			mk_grpc_prefix_write(cl->out, (uint32_t)ml);
			if (ml)
				memcpy(cl->out + MK_GRPC_PREFIX_LEN, m, ml);
			free(m);
			cl->out_len = MK_GRPC_PREFIX_LEN + ml;
			cl->out_off = 0;
		}
		take = cl->out_len - cl->out_off;
		if (take > length - n)
			take = length - n;
		memcpy(buf + n, cl->out + cl->out_off, take);
		n += take;
		cl->out_off += take;
		if (cl->out_off == cl->out_len) {
			free(cl->out);
			cl->out = NULL;
		}
	}
	if (cl->req_eof && cl->out == NULL) {
		*flags |= NGHTTP2_DATA_FLAG_EOF; /* half-close: the caller sent its last message */
		return (ssize_t)n;
	}
	if (n == 0) {
		cl->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

static int
on_header_cb(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
	     const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
	mk_grpc_client *c = user_data;
	struct ccall *cl = c->call;

	(void)s;
	(void)flags;
	if (!cl || frame->hd.stream_id != cl->id || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		cl->http_status = 0;
		for (size_t i = 0; i < valuelen && i < 4; i++)
			cl->http_status = cl->http_status * 10 + (value[i] - '0');
	} else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
		int v = 0;

		for (size_t i = 0; i < valuelen && i < 3; i++)
			v = v * 10 + (value[i] - '0');
		cl->grpc_status = v;
		cl->have_grpc_status = true;
	} else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0)
		mk_grpc_message_decode((const char *)value, valuelen, cl->grpc_message,
				       sizeof cl->grpc_message);
	else if (cl->fns && cl->fns->on_meta && namelen > 0 && name[0] != ':') {
		/* nghttp2 NUL-terminates names and values */
		bool trailer = frame->headers.cat == NGHTTP2_HCAT_HEADERS ||
			       (frame->hd.flags & NGHTTP2_FLAG_END_STREAM);

		cl->fns->on_meta(cl->fns->ud, trailer, (const char *)name, (const char *)value);
	}
	return 0;
}

/* Delivers the complete messages in the reassembly buffer. */
static void
drain_rx(mk_grpc_client *c, struct ccall *cl)
{
	size_t pos = 0;

	while (cl->local_code < 0 && cl->rx_len - pos >= MK_GRPC_PREFIX_LEN) {
		const uint8_t *p = cl->rx + pos;
		uint32_t len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];

		if (p[0] != 0) {
			local_fail(c, MK_GRPC_INTERNAL, "compressed response message not supported");
			break;
		}
		if (len > c->max_message) {
			local_fail(c, MK_GRPC_RESOURCE_EXHAUSTED, "response message larger than max");
			break;
		}
		if (cl->rx_len - pos - MK_GRPC_PREFIX_LEN < len)
			break;
		cl->nmsgs++;
		if (cl->unary) {
			if (cl->nmsgs > 1) {
				local_fail(c, MK_GRPC_INTERNAL, "unary call got more than one response");
				break;
			}
			cl->resp = malloc(len ? len : 1);
			if (!cl->resp) {
				local_fail(c, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
				break;
			}
			memcpy(cl->resp, p + MK_GRPC_PREFIX_LEN, len);
			cl->resp_len = len;
		} else if (cl->on_msg && cl->on_msg(cl->ud, p + MK_GRPC_PREFIX_LEN, len) != 0) {
			local_fail(c, MK_GRPC_CANCELLED, "cancelled by the message callback");
			break;
		}
		pos += MK_GRPC_PREFIX_LEN + len;
	}
	if (cl->local_code >= 0) {
		cl->rx_len = 0;
		return;
	}
	memmove(cl->rx, cl->rx + pos, cl->rx_len - pos);
	cl->rx_len -= pos;
}

static int
on_data_chunk_recv_cb(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
		      void *user_data)
{
	mk_grpc_client *c = user_data;
	struct ccall *cl = c->call;

	(void)s;
	(void)flags;
	if (!cl || id != cl->id || cl->local_code >= 0)
		return 0;
	if (cl->rx_len + len > cl->rx_cap) {
		size_t ncap = cl->rx_cap ? cl->rx_cap : 4096;
		uint8_t *n;

		while (ncap < cl->rx_len + len)
			ncap *= 2;
		if (ncap > c->max_message + MK_GRPC_PREFIX_LEN + 16384) {
			/* Look at the prefix first: a too-large declared length is reported as such. */
			drain_rx(c, cl);
			if (cl->local_code < 0)
				local_fail(c, MK_GRPC_RESOURCE_EXHAUSTED, "response message larger than max");
			return 0;
		}
		n = realloc(cl->rx, ncap);
		if (!n) {
			local_fail(c, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
			return 0;
		}
		cl->rx = n;
		cl->rx_cap = ncap;
	}
	memcpy(cl->rx + cl->rx_len, data, len);
	cl->rx_len += len;
	drain_rx(c, cl);
	return 0;
}

static int
on_frame_recv_cb(nghttp2_session *s, const nghttp2_frame *frame, void *user_data)
{
	mk_grpc_client *c = user_data;

	(void)s;
	if (c->call && frame->hd.stream_id == c->call->id && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
	    (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA))
		c->call->remote_closed = true;
	if (frame->hd.type == NGHTTP2_GOAWAY)
		c->goaway = true;
	else if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK))
		c->ping_sent = 0;
	return 0;
}

static int
on_stream_close_cb(nghttp2_session *s, int32_t id, uint32_t error_code, void *user_data)
{
	mk_grpc_client *c = user_data;

	(void)s;
	if (c->call && id == c->call->id) {
		c->call->done = true;
		c->call->rst_code = error_code;
	}
	return 0;
}

/* ---- connection ---- */

/* Writes pending frames; false when the connection failed. */
static bool
flush(mk_grpc_client *c)
{
	if (nghttp2_session_send(c->s) != 0) {
		c->broken = true;
		return false;
	}
	return true;
}

static bool
read_some(mk_grpc_client *c)
{
	uint8_t buf[16384];
	ssize_t n = recv(c->fd, buf, sizeof buf, 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		c->broken = true;
		return false;
	}
	if (n > 0) {
		c->last_rx = mk_grpc_now_ms();
		if (nghttp2_session_mem_recv(c->s, buf, (size_t)n) < 0) {
			c->broken = true;
			return false;
		}
	}
	return true;
}

mk_grpc_client *
mk_grpc_client_connect(const char *addr, int timeout_ms, mk_grpc_status *st)
{
	mk_grpc_client *c;
	char host[256], *colon;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	nghttp2_session_callbacks *cb;
	nghttp2_settings_entry iv[] = {
		{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
		{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
	};
	int64_t deadline = mk_grpc_now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
	int one = 1, rc;

	snprintf(host, sizeof host, "%s", addr);
	colon = strrchr(host, ':');
	if (!colon) {
		set_status(st, MK_GRPC_INVALID_ARGUMENT, "address must be host:port");
		return NULL;
	}
	*colon = '\0';
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		set_status(st, MK_GRPC_UNAVAILABLE, gai_strerror(rc));
		return NULL;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		freeaddrinfo(res);
		set_status(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	c->fd = c->wake_fd = -1;
	c->max_message = MK_GRPC_DEFAULT_MAX_MESSAGE;
	snprintf(c->authority, sizeof c->authority, "%s", addr);
	set_status(st, MK_GRPC_UNAVAILABLE, "connect failed");
	for (struct addrinfo *ai = res; ai && c->fd < 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int err = 0;
		socklen_t el = sizeof err;

		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
			set_status(st, MK_GRPC_UNAVAILABLE, strerror(errno));
			close(fd);
			continue;
		}
		rc = poll(&pfd, 1, (int)(deadline - mk_grpc_now_ms() > 0 ? deadline - mk_grpc_now_ms() : 0));
		if (rc <= 0) {
			set_status(st, rc == 0 ? MK_GRPC_DEADLINE_EXCEEDED : MK_GRPC_UNAVAILABLE,
				   rc == 0 ? "connect timed out" : strerror(errno));
			close(fd);
			continue;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			set_status(st, MK_GRPC_UNAVAILABLE, strerror(err));
			close(fd);
			continue;
		}
		c->fd = fd;
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_send_callback(cb, send_cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header_cb);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv_cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv_cb);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close_cb);
	rc = nghttp2_session_client_new(&c->s, cb, c);
	nghttp2_session_callbacks_del(cb);
	if (rc != 0 || c->wake_fd < 0) {
		set_status(st, MK_GRPC_INTERNAL, "nghttp2 session");
		mk_grpc_client_close(c);
		return NULL;
	}
	nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 2);
	nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, 8 << 20);
	c->last_rx = mk_grpc_now_ms();
	if (!flush(c)) {
		set_status(st, MK_GRPC_UNAVAILABLE, "write failed");
		mk_grpc_client_close(c);
		return NULL;
	}
	set_status(st, MK_GRPC_OK, NULL);
	return c;
}

void
mk_grpc_client_set_authorization(mk_grpc_client *c, const char *value)
{
	free(c->authz);
	c->authz = value ? strdup(value) : NULL;
}

int
mk_grpc_client_set_call_metadata(mk_grpc_client *c, const char *name, const char *value)
{
	size_t nl = name ? strlen(name) : 0, vl = value ? strlen(value) : 0;
	char *nn, *nv;

	if (nl == 0 || nl >= MK_GRPC_CALL_METADATA_NAME_MAX || vl >= MK_GRPC_CALL_METADATA_VALUE_MAX ||
	    c->nextra >= MK_GRPC_CALL_METADATA_MAX || strncmp(name, "grpc-", 5) == 0)
		return -1;
	/* a header name is lower case token characters; a value printable ASCII (no CR/LF) */
	for (size_t i = 0; i < nl; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '-' || name[i] == '_' || name[i] == '.'))
			return -1;
	for (size_t i = 0; i < vl; i++)
		if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e)
			return -1;
	nn = strdup(name);
	nv = strdup(value);
	if (nn == NULL || nv == NULL) {
		free(nn);
		free(nv);
		return -1;
	}
	c->extra_name[c->nextra] = nn;
	c->extra_value[c->nextra] = nv;
	c->nextra++;
	return 0;
}

void
mk_grpc_client_set_max_message(mk_grpc_client *c, size_t max)
{
	c->max_message = max ? max : MK_GRPC_DEFAULT_MAX_MESSAGE;
}

void
mk_grpc_client_interrupt(mk_grpc_client *c)
{
	uint64_t one = 1;
	ssize_t r;

	atomic_store(&c->interrupted, true);
	r = write(c->wake_fd, &one, sizeof one);
	(void)r;
}

void
mk_grpc_client_notify(mk_grpc_client *c)
{
	uint64_t one = 1;
	ssize_t r = write(c->wake_fd, &one, sizeof one);

	(void)r;
}

bool
mk_grpc_client_usable(const mk_grpc_client *c)
{
	return c && !c->broken && !c->goaway;
}

void
mk_grpc_client_close(mk_grpc_client *c)
{
	if (!c)
		return;
	if (c->s) {
		if (!c->broken) {
			nghttp2_submit_goaway(c->s, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
			nghttp2_session_send(c->s);
		}
		nghttp2_session_del(c->s);
	}
	if (c->fd >= 0)
		close(c->fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	if (c->authz) {
		memset(c->authz, 0, strlen(c->authz));
		free(c->authz);
	}
	clear_extra(c);
	free(c);
}

/* Maps how a call ended to its final status (PROTOCOL-HTTP2.md, grpc-js subchannel-call.ts). */
static void
final_status(mk_grpc_client *c, struct ccall *cl, mk_grpc_status *st)
{
	char buf[128];

	if (cl->local_code >= 0) {
		set_status(st, cl->local_code, cl->local_msg);
		return;
	}
	if (cl->have_grpc_status) {
		set_status(st, cl->grpc_status, cl->grpc_message);
		return;
	}
	if (!cl->done) {
		set_status(st, MK_GRPC_UNAVAILABLE,
			   c->goaway ? "connection closed by GOAWAY" : "connection lost");
		return;
	}
	if (cl->rst_code != NGHTTP2_NO_ERROR) {
		int code;

		switch (cl->rst_code) {
		case NGHTTP2_REFUSED_STREAM:
			code = MK_GRPC_UNAVAILABLE;
			break;
		case NGHTTP2_CANCEL:
			code = MK_GRPC_CANCELLED;
			break;
		case NGHTTP2_ENHANCE_YOUR_CALM:
			code = MK_GRPC_RESOURCE_EXHAUSTED;
			break;
		case NGHTTP2_INADEQUATE_SECURITY:
			code = MK_GRPC_PERMISSION_DENIED;
			break;
		default:
			code = MK_GRPC_INTERNAL;
		}
		snprintf(buf, sizeof buf, "stream reset by server (HTTP/2 error %u)", cl->rst_code);
		set_status(st, code, buf);
		return;
	}
	if (cl->http_status && cl->http_status != 200) {
		int code = cl->http_status == 400   ? MK_GRPC_INTERNAL
			   : cl->http_status == 401 ? MK_GRPC_UNAUTHENTICATED
			   : cl->http_status == 403 ? MK_GRPC_PERMISSION_DENIED
			   : cl->http_status == 404 ? MK_GRPC_UNIMPLEMENTED
			   : (cl->http_status == 429 || cl->http_status == 502 ||
			      cl->http_status == 503 || cl->http_status == 504)
				   ? MK_GRPC_UNAVAILABLE
				   : MK_GRPC_UNKNOWN;

		snprintf(buf, sizeof buf, "received HTTP status code %d", cl->http_status);
		set_status(st, code, buf);
		return;
	}
	set_status(st, MK_GRPC_UNKNOWN, "no status information received");
}

/* Runs one call to completion. */
static int
run_call(mk_grpc_client *c, struct ccall *cl, const char *path, int timeout_ms, mk_grpc_status *st)
{
	char tmo[16];
	int64_t deadline = timeout_ms > 0 ? mk_grpc_now_ms() + timeout_ms : 0;
	nghttp2_nv nva[10 + MK_GRPC_CALL_METADATA_MAX];
	size_t n = 0;
	nghttp2_data_provider prd = {.source.ptr = cl, .read_callback = cl->fns ? stream_read_cb : req_read_cb};

	if (!mk_grpc_client_usable(c)) {
		clear_extra(c);
		set_status(st, MK_GRPC_UNAVAILABLE, "connection not usable; reconnect");
		return st->code;
	}
#define ADD(nm, v)                                                                               \
	nva[n++] = (nghttp2_nv){(uint8_t *)(nm), (uint8_t *)(v), strlen(nm), strlen(v),         \
				NGHTTP2_NV_FLAG_NONE}
	ADD(":method", "POST");
	ADD(":scheme", "http");
	ADD(":path", path);
	ADD(":authority", c->authority);
	if (deadline) {
		mk_grpc_timeout_format(timeout_ms, tmo);
		ADD("grpc-timeout", tmo);
	}
	ADD("te", "trailers");
	ADD("content-type", "application/grpc");
	ADD("grpc-accept-encoding", "identity");
	ADD("user-agent", "grpc-c-mockarty/0.1");
	if (c->authz)
		ADD("authorization", c->authz);
	for (int i = 0; i < c->nextra; i++)
		ADD(c->extra_name[i], c->extra_value[i]);
#undef ADD
	cl->local_code = -1;
	mk_grpc_prefix_write(cl->prefix, (uint32_t)cl->req_len);
	c->call = cl;
	cl->id = nghttp2_submit_request(c->s, NULL, nva, n, &prd, NULL);
	clear_extra(c); /* nghttp2_submit_request copied the header block */
	if (cl->id < 0) {
		c->call = NULL;
		set_status(st, MK_GRPC_INTERNAL, nghttp2_strerror(cl->id));
		return st->code;
	}
	while (!cl->done && !c->broken) {
		struct pollfd pfd[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = c->wake_fd, .events = POLLIN}};
		int64_t now, wait = 1000;

		if (!flush(c))
			break;
		if (cl->done)
			break;
		if (nghttp2_session_want_write(c->s))
			pfd[0].events |= POLLOUT;
		now = mk_grpc_now_ms();
		if (cl->fns && cl->fns->hold && cl->fns->hold(cl->fns->ud)) {
			/* the consumer is behind: leave the backend's data in the socket (its window
			 * closes) and look again shortly */
			pfd[0].events &= (short)~POLLIN;
			wait = 5;
		}
		if (deadline && deadline - now < wait)
			wait = deadline - now > 0 ? deadline - now : 0;
		if (poll(pfd, 2, (int)wait) < 0 && errno != EINTR) {
			c->broken = true;
			break;
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t v;
			ssize_t r = read(c->wake_fd, &v, sizeof v);

			(void)r;
			if (atomic_exchange(&c->interrupted, false))
				local_fail(c, MK_GRPC_CANCELLED, "interrupted");
			else if (cl->deferred) {
				cl->deferred = false;
				nghttp2_session_resume_data(c->s, cl->id);
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			read_some(c);
		now = mk_grpc_now_ms();
		if (deadline && now >= deadline && !cl->done)
			local_fail(c, MK_GRPC_DEADLINE_EXCEEDED, "deadline exceeded");
		/* Keepalive on long streams: PING after 30 s of silence, give up 20 s later. */
		if (c->ping_sent && now - c->ping_sent > KEEPALIVE_TIMEOUT_MS) {
			local_fail(c, MK_GRPC_UNAVAILABLE, "keepalive timeout");
			c->broken = true;
		} else if (!c->ping_sent && now - c->last_rx > KEEPALIVE_MS) {
			nghttp2_submit_ping(c->s, NGHTTP2_FLAG_NONE, NULL);
			c->ping_sent = now;
		}
		if (cl->remote_closed && !cl->done) {
			/* The server ended the call while our side still streams: the call is over
			 * (its status came with that frame); close our side too (RST NO_ERROR). */
			nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, cl->id, NGHTTP2_NO_ERROR);
			flush(c);
			cl->done = true;
			break;
		}
		if (cl->local_code >= 0 && !cl->done && cl->cancelled_by_us) {
			/* RST is queued; flush it and stop waiting for the peer. */
			flush(c);
			break;
		}
	}
	flush(c);
	c->call = NULL;
	final_status(c, cl, st);
	return st->code;
}

int
mk_grpc_client_unary(mk_grpc_client *c, const char *path, const uint8_t *req, size_t len,
		     int timeout_ms, uint8_t **resp, size_t *resp_len, mk_grpc_status *st)
{
	struct ccall cl = {.req = req, .req_len = len, .unary = true};
	mk_grpc_status tmp;

	if (!st)
		st = &tmp;
	*resp = NULL;
	*resp_len = 0;
	run_call(c, &cl, path, timeout_ms, st);
	if (st->code == MK_GRPC_OK && cl.nmsgs != 1)
		set_status(st, MK_GRPC_INTERNAL, "unary call ended without a response message");
	if (st->code == MK_GRPC_OK) {
		*resp = cl.resp;
		*resp_len = cl.resp_len;
	} else
		free(cl.resp);
	free(cl.rx);
	return st->code;
}

int
mk_grpc_client_server_stream(mk_grpc_client *c, const char *path, const uint8_t *req, size_t len,
			     int timeout_ms, mk_grpc_msg_fn on_msg, void *ud, mk_grpc_status *st)
{
	struct ccall cl = {.req = req, .req_len = len, .on_msg = on_msg, .ud = ud};
	mk_grpc_status tmp;

	if (!st)
		st = &tmp;
	run_call(c, &cl, path, timeout_ms, st);
	free(cl.rx);
	return st->code;
}

int
mk_grpc_client_call(mk_grpc_client *c, const char *path, int timeout_ms, const mk_grpc_call_fns *fns,
		    mk_grpc_status *st)
{
	struct ccall cl = {.on_msg = fns->on_msg, .ud = fns->ud, .fns = fns};
	mk_grpc_status tmp;

	if (!st)
		st = &tmp;
	run_call(c, &cl, path, timeout_ms, st);
	free(cl.out);
	free(cl.rx);
	return st->code;
}
