/*
 * proxy.c - forwards a matched mock request to its proxy.target with libcurl;
 * the proxy hook of mockserve on every daemon that serves mocks.
 *
 * Outbound calls are an SSRF risk (a node usually sits inside the network it
 * mocks), so the target host is resolved here first and refused when any of
 * its addresses is loopback, private, link-local or unspecified, unless the
 * daemon's policy allows it (ALLOW_PROXY_TO_PRIVATE_IPS=true). The checked
 * address is then pinned with CURLOPT_RESOLVE so a second DNS answer cannot
 * point elsewhere, and redirects are never followed, so the upstream cannot
 * send the call on to an address that was not checked.
 */
#include "proxy.h"

#include "log.h"
#include "otel.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define PROXY_MAX_BODY (64u << 20)
#define PROXY_TIMEOUT_S 30L
#define PROXY_CONNECT_TIMEOUT_S 10L

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
	FILE *sink;      /* open_memstream() over body and body_len, until close_body() */
	char *body;      /* malloc'd by the stream, NUL-terminated */
	size_t body_len; /* set by the stream when it is flushed or closed */
	size_t received; /* bytes written so far, for the size cap */
	bool overflow;   /* more than PROXY_MAX_BODY */
	json_t *headers; /* array of [name, value] of the final response */
	int status;
} upstream;

/* True for addresses a proxy target may not reach unless allowed. */
static bool
addr_is_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);

		return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
		       (a >> 16) == 0xA9FE /* 169.254 */ || (a >> 20) == 0xAC1 /* 172.16/12 */ ||
		       (a >> 16) == 0xC0A8 /* 192.168 */ || (a >> 22) == 0x191 /* 100.64/10 */ ||
		       a == 0xFFFFFFFFu;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			struct sockaddr_in v4 = {.sin_family = AF_INET};

			memcpy(&v4.sin_addr, &a->s6_addr[12], 4);
			return addr_is_private((const struct sockaddr *)&v4);
		}
		return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
		       (a->s6_addr[0] & 0xFE) == 0xFC;
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

/* CURLOPT_WRITEFUNCTION: appends to the body; 0 (abort) past the size cap or out of memory. */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	upstream *up = ud;
	size_t n = size * nmemb;

	if (up->received + n > PROXY_MAX_BODY) {
		up->overflow = true;
		return 0;
	}
	if (fwrite(data, 1, n, up->sink) != n)
		return 0;
	up->received += n;
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

/*
 * Resolves host and refuses it when any address is private and allow_private
 * is false. On success writes the CURLOPT_RESOLVE entry "host:port:addr" of
 * the first address into pin and returns NULL; else returns a static reason.
 */
static const char *
check_target(const char *host, long port, bool allow_private, char *pin, size_t pinlen)
{
	struct addrinfo hints = {0}, *ai = NULL, *p;
	char addr[INET6_ADDRSTRLEN + 2];
	const char *h = host;
	char hbuf[256];

	/* curl gives IPv6 literals in brackets */
	if (host[0] == '[') {
		size_t l = strlen(host);

		snprintf(hbuf, sizeof(hbuf), "%.*s", (int)(l > 2 ? l - 2 : 0), host + 1);
		h = hbuf;
	}
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(h, NULL, &hints, &ai) != 0 || ai == NULL)
		return "proxy target host does not resolve";
	for (p = ai; p != NULL; p = p->ai_next) {
		if (!allow_private && addr_is_private(p->ai_addr)) {
			freeaddrinfo(ai);
			return "proxy target is a private or loopback address (set "
			       "ALLOW_PROXY_TO_PRIVATE_IPS=true to allow)";
		}
	}
	if (ai->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, addr, sizeof(addr));
	else {
		addr[0] = '[';
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, addr + 1,
		          sizeof(addr) - 2);
		strcat(addr, "]");
	}
	snprintf(pin, pinlen, "%s:%ld:%s", h, port, addr);
	freeaddrinfo(ai);
	return NULL;
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

/*
 * Sends req (method, headers, body) to target + path + "?" + raw query and
 * fills up with the answer: status, headers, and the body written to
 * up->sink (the caller closes the sink, frees up->body and decrefs
 * up->headers, also on failure). Returns false with a reason in err when the
 * target is refused or the call failed.
 */
static bool
forward(ms_request *req, const char *target, const char *path, bool allow_private, upstream *up, char *err,
        size_t errlen)
{
	CURL *c = NULL;
	CURLU *u = NULL;
	char *url = NULL, *host = NULL, *port_s = NULL, *scheme = NULL;
	struct curl_slist *hdrs = NULL, *resolve = NULL;
	const char *rq = req->raw_query ? req->raw_query : "";
	char pin[512];
	const char *why;
	long code = 0;
	CURLcode cc;
	size_t tl = strlen(target);
	bool ok = false;

	while (tl > 0 && target[tl - 1] == '/')
		tl--;
	if (asprintf(&url, "%.*s%s%s%s", (int)tl, target, path, rq[0] ? "?" : "", rq) < 0) {
		url = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		snprintf(err, errlen, "invalid proxy target: %s", target);
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		snprintf(err, errlen, "proxy target must be http or https");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port_s, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		snprintf(err, errlen, "invalid proxy target port");
		goto out;
	}
	why = check_target(host, strtol(port_s, NULL, 10), allow_private, pin, sizeof(pin));
	if (why != NULL) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	resolve = curl_slist_append(NULL, pin);
	hdrs = request_headers(req);
	c = curl_easy_init();
	if (c == NULL || resolve == NULL || hdrs == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	SETOPT(c, CURLOPT_URL, url);
	SETOPT(c, CURLOPT_RESOLVE, resolve);
	SETOPT(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect's host was never checked */
	SETOPT(c, CURLOPT_NOSIGNAL, 1L);       /* threads: no SIGALRM for DNS timeouts */
	SETOPT(c, CURLOPT_TIMEOUT, PROXY_TIMEOUT_S);
	SETOPT(c, CURLOPT_CONNECTTIMEOUT, PROXY_CONNECT_TIMEOUT_S);
	SETOPT(c, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(c, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(c, CURLOPT_WRITEDATA, up);
	SETOPT(c, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(c, CURLOPT_HEADERDATA, up);
	SETOPT(c, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(req->method, "HEAD") == 0)
		SETOPT(c, CURLOPT_NOBODY, 1L);
	else
		SETOPT(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body_len > 0) {
		SETOPT(c, CURLOPT_POSTFIELDS, req->body);
		SETOPT(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "proxy to %s failed: %s", target,
		         up->overflow ? "response too large" : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	up->status = (int)code;
	ok = true;
out:
	curl_slist_free_all(hdrs);
	curl_slist_free_all(resolve);
	if (c != NULL)
		curl_easy_cleanup(c);
	curl_free(host);
	curl_free(port_s);
	curl_free(scheme);
	curl_url_cleanup(u);
	free(url);
	return ok;
}

/* See proxy.h. */
void
ms_proxy_hook(void *ctx, ms_request *req, const char *target, const char *path, ms_result *res)
{
	const ms_proxy_config *cfg = ctx;
	bool allow_private = cfg != NULL && atomic_load(&cfg->allow_private_ips);
	upstream up = {0};
	char err[512];
	struct MHD_Response *r;
	bool forwarded;
	size_t i;
	json_t *h;

	up.headers = json_array();
	up.sink = open_memstream(&up.body, &up.body_len);
	if (up.headers == NULL || up.sink == NULL) {
		if (up.sink != NULL)
			close_body(&up);
		free(up.body);
		json_decref(up.headers);
		ms_envelope(req, res, 500, "internal", "out of memory");
		return;
	}
	if (otel_enabled()) { /* a client span around the upstream call; its context is sent */
		otel_span span = {0}, *prev;

		otel_span_start(&span, "proxy", OTEL_KIND_CLIENT, otel_current_ctx());
		otel_span_set_str(&span, "http.method", req->method);
		otel_span_set_str(&span, "mockarty.proxy.target", target);
		prev = otel_set_current(&span);
		forwarded = forward(req, target, path, allow_private, &up, err, sizeof(err));
		otel_set_current(prev);
		if (forwarded)
			otel_span_set_http_status(&span, up.status);
		else
			otel_span_set_error(&span, err);
		otel_span_end(&span);
	} else {
		forwarded = forward(req, target, path, allow_private, &up, err, sizeof(err));
	}
	if (!close_body(&up) && forwarded) {
		forwarded = false;
		snprintf(err, sizeof(err), "out of memory receiving the upstream answer");
	}
	if (!forwarded) {
		log_info("proxy refused or failed: %s", err);
		free(up.body);
		json_decref(up.headers);
		ms_envelope(req, res, 502, "external", err);
		return;
	}
	r = MHD_create_response_from_buffer(up.body_len, up.body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(up.body);
		json_decref(up.headers);
		ms_envelope(req, res, 500, "internal", "out of memory");
		return;
	}
	json_array_foreach (up.headers, i, h) {
		MHD_add_response_header(r, json_string_value(json_array_get(h, 0)),
		                        json_string_value(json_array_get(h, 1)));
	}
	json_decref(up.headers);
	MHD_add_response_header(r, "X-Request-Id", ms_request_id(req));
	ms_result_done(res);
	res->response = r;
	res->status = up.status;
}
