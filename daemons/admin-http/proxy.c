/*
 * proxy.c - forwards a matched mock request to proxy.target with libcurl.
 *
 * Outbound calls are an SSRF risk (the admin node usually sits inside the
 * network it mocks), so the target host is resolved here first and refused
 * when any of its addresses is loopback, private, link-local or unspecified,
 * unless ALLOW_PROXY_TO_PRIVATE_IPS=true; the checked address is then pinned
 * with CURLOPT_RESOLVE so a second DNS answer cannot point elsewhere.
 */
#include "proxy.h"

#include "admin.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
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

typedef struct buf {
	char *p;
	size_t len, cap;
	bool overflow;
} buf;

typedef struct proxy_state {
	buf body;
	json_t *headers; /* array of [name, value] of the final response */
} proxy_state;

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
		return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
		       IN6_IS_ADDR_LINKLOCAL(a) || (a->s6_addr[0] & 0xFE) == 0xFC;
	}
	return true;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	proxy_state *st = ud;
	size_t n = size * nmemb;

	if (st->body.len + n > PROXY_MAX_BODY) {
		st->body.overflow = true;
		return 0;
	}
	if (st->body.len + n + 1 > st->body.cap) {
		size_t cap = st->body.cap ? st->body.cap : 8192;
		char *p;

		while (cap < st->body.len + n + 1)
			cap *= 2;
		p = realloc(st->body.p, cap);
		if (p == NULL)
			return 0;
		st->body.p = p;
		st->body.cap = cap;
	}
	memcpy(st->body.p + st->body.len, data, n);
	st->body.len += n;
	return n;
}

static bool
hop_by_hop(const char *name)
{
	static const char *const skip[] = {"connection", "keep-alive", "transfer-encoding", "content-length",
					   "te", "trailer", "upgrade", "proxy-connection", "host", "expect",
					   NULL};

	for (int i = 0; skip[i]; i++)
		if (strcasecmp(name, skip[i]) == 0)
			return true;
	return false;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	proxy_state *st = ud;
	size_t n = size * nmemb, nl, vs, ve;
	char *colon;
	char name[256];

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new (maybe final) response */
		json_array_clear(st->headers);
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
			json_array_append_new(st->headers, json_pack("[s,o]", name, v));
	}
	return n;
}

/*
 * Resolves host and refuses private addresses unless allowed. On success
 * writes a CURLOPT_RESOLVE entry "host:port:addr" into pin. Returns NULL or a
 * static reason.
 */
static const char *
check_target(const char *host, long port, char *pin, size_t pinlen)
{
	struct addrinfo hints = {0}, *ai = NULL, *p;
	char addr[INET6_ADDRSTRLEN + 2];
	int rc;
	const char *h = host;
	char hbuf[256];

	/* curl gives IPv6 literals in brackets */
	if (host[0] == '[') {
		size_t l = strlen(host);

		snprintf(hbuf, sizeof(hbuf), "%.*s", (int)(l > 2 ? l - 2 : 0), host + 1);
		h = hbuf;
	}
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(h, NULL, &hints, &ai);
	if (rc != 0 || ai == NULL)
		return "proxy target host does not resolve";
	for (p = ai; p != NULL; p = p->ai_next) {
		if (!admin_cfg.allow_private_ips && addr_is_private(p->ai_addr)) {
			freeaddrinfo(ai);
			return "proxy target is a private or loopback address (set ALLOW_PROXY_TO_PRIVATE_IPS=true to allow)";
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

/*
 * See proxy.h. The upstream status and body are passed through; hop-by-hop
 * headers are dropped.
 */
bool
proxy_forward(const char *target, const api_req *req, const char *path, const char *raw_query,
	      proxy_result *out, char *err, size_t errlen)
{
	CURL *c = NULL;
	CURLU *u = NULL;
	char *url = NULL, *host = NULL, *port_s = NULL, *scheme = NULL;
	struct curl_slist *hdrs = NULL, *resolve = NULL;
	proxy_state st = {0};
	char pin[512];
	const char *why;
	const char *key;
	json_t *vals;
	long port, code = 0;
	CURLcode cc;
	size_t tl = strlen(target);
	bool ok = false;

	memset(out, 0, sizeof(*out));
	st.headers = json_array();
	while (tl > 0 && target[tl - 1] == '/')
		tl--;
	if (asprintf(&url, "%.*s%s%s%s", (int)tl, target, path, raw_query[0] ? "?" : "", raw_query) < 0) {
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
	port = strtol(port_s, NULL, 10);
	why = check_target(host, port, pin, sizeof(pin));
	if (why != NULL) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	resolve = curl_slist_append(NULL, pin);

	c = curl_easy_init();
	if (c == NULL) {
		snprintf(err, errlen, "cannot create a curl handle");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, PROXY_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body_len > 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	json_object_foreach(req->headers, key, vals) {
		size_t i;
		json_t *v;

		if (hop_by_hop(key))
			continue;
		json_array_foreach(vals, i, v) {
			char *line;

			if (asprintf(&line, "%s: %s", key, json_string_value(v)) >= 0) {
				hdrs = curl_slist_append(hdrs, line);
				free(line);
			}
		}
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "proxy to %s failed: %s", target,
			 st.body.overflow ? "response too large" : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	out->status = (int)code;
	out->body = st.body.p;
	out->body_len = st.body.len;
	out->headers = st.headers;
	st.body.p = NULL;
	st.headers = NULL;
	ok = true;
out:
	free(st.body.p);
	json_decref(st.headers);
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
