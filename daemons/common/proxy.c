/*
 * proxy.c - forwards a matched mock request to its proxy.target with libcurl;
 * the proxy hook of mockserve on every daemon that serves mocks.
 *
 * Two constraints shaped it:
 *  - An upstream may take its full timeout (10 s connect + 30 s total) or
 *    never answer. A libmicrohttpd pool thread serves many connections, so a
 *    blocking call there would freeze REST, /health and every other mock of
 *    that thread. The transport therefore suspends the connection, one proxy
 *    thread per process drives every upstream call through a curl multi
 *    handle, and the connection is resumed when the answer is in (as delayed
 *    mocks are). Calls in flight are capped per node (PROXY_MAX_CONCURRENT):
 *    past the cap a request is answered 503 at once, so a tarpit upstream
 *    costs a bounded number of sockets, never the node.
 *  - Outbound calls are an SSRF risk (a node usually sits inside the network
 *    it mocks). The address policy (ms_addr_is_private, unless
 *    ALLOW_PROXY_TO_PRIVATE_IPS=true) is checked in CURLOPT_OPENSOCKETFUNCTION
 *    on the very address curl is about to connect to, so no DNS answer (a
 *    rebinding one included) can lead past it; redirects are never followed.
 *    The same function guards webhook delivery.
 */
#include "proxy.h"

#include "bufbudget.h"
#include "log.h"
#include "metrics.h"
#include "otel.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define PROXY_MAX_BODY (64u << 20)
#define PROXY_TIMEOUT_S 30L
#define PROXY_CONNECT_TIMEOUT_S 10L
#define GUARD_MSG                                                                                            \
	"proxy target is a private or loopback address (set ALLOW_PROXY_TO_PRIVATE_IPS=true to allow)"

/*
 * One curl_easy_setopt() that must succeed: on failure writes the option's name
 * into the caller's err (errlen) and jumps to its label out.
 */
#define SETOPT(h, opt, val)                                                                                  \
	do {                                                                                                 \
		if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) {                                       \
			snprintf(err, errlen, "curl_easy_setopt(%s) failed", #opt);                          \
			goto out;                                                                            \
		}                                                                                            \
	} while (0)

/* What the upstream answered, while it is being received and after. */
typedef struct upstream {
	FILE *sink;       /* open_memstream() over body and body_len, until close_body() */
	char *body;       /* malloc'd by the stream, NUL-terminated */
	size_t body_len;  /* set by the stream when it is flushed or closed */
	size_t received;  /* bytes written so far, for the size cap and the budget */
	bool overflow;    /* more than PROXY_MAX_BODY */
	bool over_budget; /* the node's buffer budget refused more bytes */
	json_t *headers;  /* array of [name, value] of the final response */
	int status;
} upstream;

/*
 * One proxied request, from the hook to ms_proxy_finish(). Between
 * ms_proxy_start() and the done callback it belongs to the proxy thread;
 * before and after, to the serving thread that holds the connection.
 */
struct ms_proxy_call {
	CURL *easy;
	struct curl_slist *hdrs;
	char *url;
	char *target;
	upstream up;
	bool allow_private;
	bool refused;  /* open_socket refused the address */
	bool shutdown; /* answered by ms_proxy_shutdown(), never sent */
	CURLcode cc;
	char request_id[40];
	otel_span span; /* client span around the upstream call; unused when tracing is off */
	bool traced;
	void (*done)(void *arg);
	void *done_arg;
	ms_proxy_call *next; /* the proxy thread's queue and list of calls in the multi handle */
	ms_proxy_call *prev;
};

/* The proxy thread: one curl multi handle for every upstream call of the process. */
static struct {
	pthread_mutex_t mu;
	CURLM *multi;
	ms_proxy_call *queue; /* started, not yet added to the multi handle (under mu) */
	ms_proxy_call *live;  /* in the multi handle (proxy thread only) */
	bool running, stop;
	pthread_t thread;
} eng = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Calls between the hook and ms_proxy_finish()/ms_proxy_call_free(): the cap counts these. */
static atomic_int calls_active;
/* Requests answered 503 because calls_active was at the cap. */
static atomic_ulong calls_refused;

/*
 * True for addresses a proxy target or webhook may not reach unless allowed:
 * IPv4 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.168/16,
 * 198.18/15, 224/4 (multicast), 240/4 (reserved, broadcast included); IPv6
 * loopback, unspecified, link-local, fc00::/7, ff00::/8, ::/96
 * (IPv4-compatible), 64:ff9b::/96 (NAT64), 2002::/16 (6to4), and IPv4-mapped
 * addresses by their IPv4 part.
 */
static bool
v4_is_private(uint32_t a)
{
	return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 16) == 0xA9FE /* 169.254 */ ||
	       (a >> 20) == 0xAC1 /* 172.16/12 */ || (a >> 16) == 0xC0A8 /* 192.168 */ ||
	       (a >> 22) == 0x191 /* 100.64/10 */ || (a >> 17) == (0xC612u >> 1) /* 198.18/15 */ ||
	       (a >> 28) >= 0xE /* 224/4, 240/4 */;
}

/*
 * The IPv4 address (host order) is read with memcpy from the sockaddr's
 * bytes: going through a struct sockaddr_in built here and read back as a
 * struct sockaddr breaks strict aliasing, and at -O2 that made every
 * IPv4-mapped address come out refused (test_proxy_guard.c).
 */
static bool
addr_is_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a;

		memcpy(&a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return v4_is_private(ntohl(a));
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		static const uint8_t zero12[12] = {0};
		static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			uint32_t v4;

			memcpy(&v4, &a->s6_addr[12], 4);
			return v4_is_private(ntohl(v4));
		}
		return memcmp(a->s6_addr, zero12, 12) == 0 /* ::/96: ::, ::1, IPv4-compatible */ ||
		       memcmp(a->s6_addr, nat64, 12) == 0 /* 64:ff9b::/96 */ ||
		       (a->s6_addr[0] == 0x20 && a->s6_addr[1] == 0x02) /* 2002::/16 */ ||
		       IN6_IS_ADDR_LINKLOCAL(a) || (a->s6_addr[0] & 0xFE) == 0xFC /* fc00::/7 */ ||
		       a->s6_addr[0] == 0xFF /* multicast */;
	}
	return true; /* an unknown family is not trusted */
}

/* See proxy.h: the same test for callers outside this file (webhooks). */
bool
ms_addr_is_private(const struct sockaddr *sa)
{
	return addr_is_private(sa);
}

/*
 * Headers that describe one connection, not the message, or that the sending
 * side computes itself (Content-Length, Host): never copied in either direction.
 */
static bool
hop_by_hop(const char *name)
{
	static const char *const skip[] = {
	    "connection", "keep-alive", "transfer-encoding", "content-length", "te",
	    "trailer",    "upgrade",    "proxy-connection",  "host",           "expect",
	    NULL};

	for (int i = 0; skip[i]; i++)
		if (strcasecmp(name, skip[i]) == 0)
			return true;
	return false;
}

/*
 * CURLOPT_WRITEFUNCTION: appends to the body; 0 (abort) past the size cap, past
 * the node's buffer budget (bufbudget.h) or out of memory.
 */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	upstream *up = ud;
	size_t n = size * nmemb;

	if (up->received + n > PROXY_MAX_BODY) {
		up->overflow = true;
		return 0;
	}
	if (!bufbudget_reserve(n)) {
		up->over_budget = true;
		return 0;
	}
	up->received += n; /* released in call_free() */
	if (fwrite(data, 1, n, up->sink) != n)
		return 0;
	return n;
}

/*
 * Ends the body stream: up->body then holds the bytes received and
 * up->body_len their number (the caller frees up->body, also on failure).
 * False when the stream could not be flushed (out of memory).
 */
static bool
close_body(upstream *up)
{
	bool ok = fclose(up->sink) == 0;

	up->sink = NULL;
	return ok;
}

/*
 * CURLOPT_HEADERFUNCTION: collects "Name: value" lines of the last response
 * (a status line starts a new one, so 100 Continue's headers are dropped).
 */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	upstream *up = ud;
	size_t n = size * nmemb, nl, vs, ve;
	char *colon;
	char name[256];

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		json_array_clear(up->headers);
		return n;
	}
	colon = memchr(data, ':', n);
	if (colon == NULL)
		return n;
	nl = (size_t)(colon - data);
	if (nl == 0 || nl >= sizeof(name))
		return n;
	memcpy(name, data, nl);
	name[nl] = '\0';
	vs = nl + 1;
	while (vs < n && (data[vs] == ' ' || data[vs] == '\t'))
		vs++;
	ve = n;
	while (ve > vs && (data[ve - 1] == '\r' || data[ve - 1] == '\n' || data[ve - 1] == ' '))
		ve--;
	if (!hop_by_hop(name)) {
		json_t *v = json_stringn(data + vs, ve - vs);

		if (v != NULL)
			json_array_append_new(up->headers, json_pack("[s,o]", name, v));
	}
	return n;
}

/* Appends "name: value" for every value of every forwardable request header. */
static struct curl_slist *
request_headers(ms_request *req)
{
	struct curl_slist *hdrs = NULL;
	const char *key;
	json_t *vals;
	char tp[OTEL_HEADER_SIZE];
	/* traced: the upstream becomes a child of the serving span, not of our caller */
	bool traced = otel_enabled() && otel_current() != NULL && otel_inject_header(otel_current(), tp);

	if (traced)
		hdrs = curl_slist_append(hdrs, tp);
	json_object_foreach (ms_request_headers(req), key, vals) {
		size_t i;
		json_t *v;

		if (hop_by_hop(key) || (traced && strcmp(key, "traceparent") == 0))
			continue;
		json_array_foreach (vals, i, v) {
			char *line;

			if (asprintf(&line, "%s: %s", key, json_string_value(v)) >= 0) {
				hdrs = curl_slist_append(hdrs, line);
				free(line);
			}
		}
	}
	/* an empty Expect: stops curl from waiting for 100 Continue on large bodies */
	return curl_slist_append(hdrs, "Expect:");
}

/* CURLOPT_OPENSOCKETFUNCTION: the address policy, on the address actually connected to. */
static curl_socket_t
open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	ms_proxy_call *call = ud;

	(void)purpose;
	if (!call->allow_private && addr_is_private(&a->addr)) {
		call->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Frees a call in any state but "inside the multi handle", and gives back its slot and budget. */
static void
call_free(ms_proxy_call *call)
{
	if (call == NULL)
		return;
	if (call->up.sink != NULL)
		close_body(&call->up);
	free(call->up.body);
	json_decref(call->up.headers);
	bufbudget_release(call->up.received);
	if (call->easy != NULL)
		curl_easy_cleanup(call->easy);
	curl_slist_free_all(call->hdrs);
	if (call->traced)
		otel_span_end(&call->span);
	free(call->url);
	free(call->target);
	free(call);
	atomic_fetch_sub(&calls_active, 1);
}

/* See proxy.h. */
void
ms_proxy_call_free(ms_proxy_call *call)
{
	call_free(call);
}

/* Proxy thread: a call left the multi handle (answered, failed or aborted): hand it back. */
static void
call_complete(ms_proxy_call *call, CURLcode cc)
{
	long code = 0;

	call->cc = cc;
	if (cc == CURLE_OK) {
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
		call->up.status = (int)code;
	}
	call->done(call->done_arg); /* from here on the call belongs to the serving side */
}

/* Proxy thread: adds the queued calls to the multi handle (mu held). */
static void
take_queue(void)
{
	while (eng.queue != NULL) {
		ms_proxy_call *call = eng.queue;

		eng.queue = call->next;
		call->prev = NULL;
		call->next = eng.live;
		if (eng.live != NULL)
			eng.live->prev = call;
		eng.live = call;
		if (curl_multi_add_handle(eng.multi, call->easy) != CURLM_OK) {
			eng.live = call->next;
			if (eng.live != NULL)
				eng.live->prev = NULL;
			call_complete(call, CURLE_OUT_OF_MEMORY);
		}
	}
}

static void
unlink_live(ms_proxy_call *call)
{
	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		eng.live = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	call->next = call->prev = NULL;
}

/* The proxy thread: drives every upstream call; on stop, fails what is left. */
static void *
proxy_main(void *arg)
{
	(void)arg;
	for (;;) {
		int running = 0, left = 0;
		CURLMsg *m;

		pthread_mutex_lock(&eng.mu);
		if (eng.stop) {
			pthread_mutex_unlock(&eng.mu);
			break;
		}
		take_queue();
		pthread_mutex_unlock(&eng.mu);
		curl_multi_perform(eng.multi, &running);
		while ((m = curl_multi_info_read(eng.multi, &left)) != NULL) {
			ms_proxy_call *call = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
			CURLcode cc = m->data.result;

			curl_multi_remove_handle(eng.multi, m->easy_handle);
			unlink_live(call);
			call_complete(call, cc);
		}
		curl_multi_poll(eng.multi, NULL, 0, 1000, NULL);
	}
	/* shutting down: every call still in flight is answered now */
	while (eng.live != NULL) {
		ms_proxy_call *call = eng.live;

		curl_multi_remove_handle(eng.multi, call->easy);
		unlink_live(call);
		call->shutdown = true;
		call_complete(call, CURLE_ABORTED_BY_CALLBACK);
	}
	pthread_mutex_lock(&eng.mu);
	while (eng.queue != NULL) {
		ms_proxy_call *call = eng.queue;

		eng.queue = call->next;
		call->shutdown = true;
		call_complete(call, CURLE_ABORTED_BY_CALLBACK);
	}
	pthread_mutex_unlock(&eng.mu);
	return NULL;
}

/* See proxy.h. */
void
ms_proxy_start(ms_proxy_call *call, void (*done)(void *arg), void *arg)
{
	call->done = done;
	call->done_arg = arg;
	pthread_mutex_lock(&eng.mu);
	if (!eng.running && !eng.stop) {
		eng.multi = curl_multi_init();
		if (eng.multi != NULL && pthread_create(&eng.thread, NULL, proxy_main, NULL) == 0) {
			eng.running = true;
		} else {
			log_error("proxy: cannot start the proxy thread");
			if (eng.multi != NULL)
				curl_multi_cleanup(eng.multi);
			eng.multi = NULL;
		}
	}
	if (!eng.running || eng.stop) {
		pthread_mutex_unlock(&eng.mu);
		call->shutdown = true;
		call_complete(call, CURLE_ABORTED_BY_CALLBACK);
		return;
	}
	call->next = eng.queue;
	eng.queue = call;
	curl_multi_wakeup(eng.multi);
	pthread_mutex_unlock(&eng.mu);
}

/* See proxy.h. */
void
ms_proxy_shutdown(void)
{
	bool join;

	pthread_mutex_lock(&eng.mu);
	eng.stop = true;
	join = eng.running;
	if (join)
		curl_multi_wakeup(eng.multi);
	pthread_mutex_unlock(&eng.mu);
	if (!join)
		return;
	pthread_join(eng.thread, NULL);
	curl_multi_cleanup(eng.multi);
	eng.multi = NULL;
	eng.running = false;
}

/* See proxy.h. */
int
ms_proxy_active(void)
{
	return atomic_load(&calls_active);
}

/* See proxy.h. */
void
ms_proxy_metrics_write(mt_buf *b)
{
	mt_gauge(b, "mockarty_proxy_in_flight", "Proxied requests waiting for their upstream now.",
	         (double)ms_proxy_active());
	mt_counter(b, "mockarty_proxy_refused_total",
	           "Proxied requests answered 503 because PROXY_MAX_CONCURRENT were in flight.",
	           atomic_load(&calls_refused));
}

/*
 * Builds the easy handle of a call: URL target + path + "?" + raw query,
 * method, forwardable headers, body (borrowed: req->body must outlive the
 * call), timeouts and the address guard. False with a reason in err.
 */
static bool
call_prepare(ms_proxy_call *call, ms_request *req, const char *target, const char *path, char *err,
             size_t errlen)
{
	CURLU *u = NULL;
	char *scheme = NULL;
	const char *rq = req->raw_query ? req->raw_query : "";
	size_t tl = strlen(target);
	bool ok = false;

	while (tl > 0 && target[tl - 1] == '/')
		tl--;
	if (asprintf(&call->url, "%.*s%s%s%s", (int)tl, target, path, rq[0] ? "?" : "", rq) < 0) {
		call->url = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL, call->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		snprintf(err, errlen, "invalid proxy target: %s", target);
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		snprintf(err, errlen, "proxy target must be http or https");
		goto out;
	}
	call->hdrs = request_headers(req);
	call->easy = curl_easy_init();
	if (call->easy == NULL || call->hdrs == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	SETOPT(call->easy, CURLOPT_URL, call->url);
	SETOPT(call->easy, CURLOPT_PRIVATE, call);
	SETOPT(call->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SETOPT(call->easy, CURLOPT_OPENSOCKETDATA, call);
	SETOPT(call->easy, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect's host was never checked */
	SETOPT(call->easy, CURLOPT_NOSIGNAL, 1L);       /* threads: no SIGALRM for DNS timeouts */
	SETOPT(call->easy, CURLOPT_TIMEOUT, PROXY_TIMEOUT_S);
	SETOPT(call->easy, CURLOPT_CONNECTTIMEOUT, PROXY_CONNECT_TIMEOUT_S);
	SETOPT(call->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(call->easy, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(call->easy, CURLOPT_WRITEDATA, &call->up);
	SETOPT(call->easy, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(call->easy, CURLOPT_HEADERDATA, &call->up);
	SETOPT(call->easy, CURLOPT_HTTPHEADER, call->hdrs);
	if (strcmp(req->method, "HEAD") == 0)
		SETOPT(call->easy, CURLOPT_NOBODY, 1L);
	else
		SETOPT(call->easy, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body_len > 0) {
		SETOPT(call->easy, CURLOPT_POSTFIELDS, req->body);
		SETOPT(call->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	ok = true;
out:
	curl_free(scheme);
	curl_url_cleanup(u);
	return ok;
}

/* A 503 envelope with Retry-After: 1 (the node is busy; the request changed nothing). */
static void
busy(ms_request *req, ms_result *res, const char *msg)
{
	ms_envelope(req, res, 503, "unavailable", msg);
	if (res->response != NULL)
		MHD_add_response_header(res->response, "Retry-After", "1");
}

/* See proxy.h. */
void
ms_proxy_hook(void *ctx, ms_request *req, const char *target, const char *path, ms_result *res)
{
	const ms_proxy_config *cfg = ctx;
	int cap = cfg != NULL ? atomic_load(&cfg->max_concurrent) : 0;
	ms_proxy_call *call;
	char err[512];
	otel_span *prev = NULL;
	bool ok;

	if (cap <= 0)
		cap = MS_PROXY_DEFAULT_MAX_CONCURRENT;
	if (atomic_fetch_add(&calls_active, 1) >= cap) {
		atomic_fetch_sub(&calls_active, 1);
		atomic_fetch_add(&calls_refused, 1);
		snprintf(err, sizeof(err),
		         "too many proxied requests in flight on this node (PROXY_MAX_CONCURRENT=%d); "
		         "retry later",
		         cap);
		log_info("proxy refused: %s", err);
		busy(req, res, err);
		return;
	}
	call = calloc(1, sizeof(*call));
	if (call == NULL) {
		atomic_fetch_sub(&calls_active, 1);
		ms_envelope(req, res, 500, "internal", "out of memory");
		return;
	}
	call->allow_private = cfg != NULL && atomic_load(&cfg->allow_private_ips);
	snprintf(call->request_id, sizeof(call->request_id), "%s", ms_request_id(req));
	call->target = strdup(target);
	call->up.headers = json_array();
	call->up.sink = open_memstream(&call->up.body, &call->up.body_len);
	if (otel_enabled()) { /* a client span around the upstream call; its context is sent */
		otel_span_start(&call->span, "proxy", OTEL_KIND_CLIENT, otel_current_ctx());
		otel_span_set_str(&call->span, "http.method", req->method);
		otel_span_set_str(&call->span, "mockarty.proxy.target", target);
		call->traced = true;
		prev = otel_set_current(&call->span);
	}
	if (call->target == NULL || call->up.headers == NULL || call->up.sink == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		ok = false;
	} else {
		ok = call_prepare(call, req, target, path, err, sizeof(err));
	}
	if (call->traced)
		otel_set_current(prev);
	if (!ok) {
		log_info("proxy refused: %s", err);
		if (call->traced)
			otel_span_set_error(&call->span, err);
		call_free(call);
		ms_envelope(req, res, 502, "external", err);
		return;
	}
	ms_result_done(res);
	res->response = NULL;
	res->status = 0;
	res->proxy_call = call;
}

/* See proxy.h. */
void
ms_proxy_finish(ms_proxy_call *call, ms_result *res)
{
	ms_request req = {0}; /* only its request id is read, by ms_envelope */
	char err[600];
	struct MHD_Response *r;
	size_t i;
	json_t *h;
	bool closed = close_body(&call->up);
	int64_t delay_ms = res->delay_ms; /* the mock's delay applies to any answer */
	ms_after *after = res->after;     /* run once the status is final, below */

	res->after = NULL;

	snprintf(req.request_id, sizeof(req.request_id), "%s", call->request_id);
	res->proxy_call = NULL;
	if (call->cc != CURLE_OK || !closed) {
		bool over_budget = call->up.over_budget;

		if (call->refused)
			snprintf(err, sizeof(err), "%s", GUARD_MSG);
		else if (over_budget)
			bufbudget_message(err, sizeof(err));
		else if (!closed)
			snprintf(err, sizeof(err), "out of memory receiving the upstream answer");
		else if (call->shutdown)
			snprintf(err, sizeof(err), "proxy to %s failed: the node is shutting down",
			         call->target);
		else
			snprintf(err, sizeof(err), "proxy to %s failed: %s", call->target,
			         call->up.overflow ? "response too large" : curl_easy_strerror(call->cc));
		log_info("proxy refused or failed: %s", err);
		if (call->traced)
			otel_span_set_error(&call->span, err);
		call_free(call);
		if (over_budget)
			busy(&req, res, err);
		else
			ms_envelope(&req, res, 502, "external", err);
		res->delay_ms = delay_ms;
		ms_after_run(after, res->status);
		return;
	}
	if (call->traced)
		otel_span_set_http_status(&call->span, call->up.status);
	r = MHD_create_response_from_buffer(call->up.body_len, call->up.body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		call_free(call);
		ms_envelope(&req, res, 500, "internal", "out of memory");
		res->delay_ms = delay_ms;
		ms_after_run(after, 500);
		return;
	}
	call->up.body = NULL; /* now the response's */
	json_array_foreach (call->up.headers, i, h) {
		MHD_add_response_header(r, json_string_value(json_array_get(h, 0)),
		                        json_string_value(json_array_get(h, 1)));
	}
	MHD_add_response_header(r, "X-Request-Id", call->request_id);
	ms_result_done(res);
	res->response = r;
	res->status = call->up.status;
	call_free(call);
	ms_after_run(after, res->status);
}
