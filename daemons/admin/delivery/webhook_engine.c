/*
 * webhook_engine.c - the webhook delivery engine of the admin node: one thread that
 * claims due deliveries from PostgreSQL, sends them with libcurl's multi
 * interface and records every attempt back in the database.
 *
 * The database holds the whole schedule (mockarty.webhook_record() computes
 * the next attempt from the delivery's own schedule), so this thread keeps no
 * state that a restart could lose: a claimed delivery carries a lease, and if
 * this process dies before recording the attempt, the lease runs out and the
 * delivery is claimed again (receivers dedupe on X-Mockarty-Delivery). Results
 * that could not be recorded because the database was away are kept in memory
 * and recorded after the reconnect, still quoting their lease.
 *
 * One thread, one libpq connection (LISTEN mockarty_webhooks plus the claim and
 * record queries) and one curl multi handle: curl_multi_poll() sleeps on the
 * transfers' sockets and the libpq socket at once, so a NOTIFY, a finished
 * transfer or the next due time (asked with webhook_next_due_ms(), so retries
 * leave on time to the millisecond instead of on a polling grid) wakes it, and a
 * 1 s safety poll covers a notification that was lost.
 *
 * Slots are shared fairly between namespaces: the engine counts its in-flight
 * deliveries per namespace and passes the counts to webhook_claim(), which gives
 * every namespace at most the setting webhook_namespace_inflight (default 16) of
 * them, round-robin. A receiver that never answers (a tarpit) therefore holds at
 * most that many of the WH_MAX_INFLIGHT slots, each for at most its timeout (30 s
 * cap), and the deliveries of other namespaces keep leaving. When due rows are left
 * behind only because their namespace's share is used up, the engine waits for a
 * transfer to finish (or the safety poll) instead of asking again at once.
 *
 * Outbound calls are an SSRF risk: the address curl is about to connect to is
 * checked in CURLOPT_OPENSOCKETFUNCTION with the proxy's policy
 * (ms_addr_is_private, ALLOW_PROXY_TO_PRIVATE_IPS), so DNS answers cannot
 * smuggle a private address past the check, and redirects are never followed.
 */
#include "otel.h"
#include "delivery/webhooks.h"

#include "node/node.h"
#include "delivery/evsink.h"
#include "log.h"
#include "pgpool.h"
#include "proxy.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define WH_MAX_INFLIGHT 64        /* concurrent requests of this engine */
#define WH_SAFETY_POLL_MS 1000    /* a lost NOTIFY costs at most this much */
#define WH_MAX_PENDING_RESULTS 4096 /* unrecorded results kept while the database is away */
#define WH_MAX_RESPONSE 65536     /* response bytes read (and thrown away) per attempt */
#define WH_NS_LEN 128             /* namespace names are shorter (namespace_ensure) */
/* Results are recorded in batches: when this many wait, when the oldest has waited this long,
 * or when nothing is in flight any more (the last transfer of a burst). */
#define WH_RECORD_BATCH 64
#define WH_RECORD_DELAY_MS 20

static struct {
	pthread_t thread;
	atomic_bool stop;
	bool running;
	CURLM *multi;
	atomic_ullong attempts, succeeded, failed_attempts, refused, failed_final, lease_lost, shed,
	    inflight;
} wh;

/* One claimed delivery being sent. */
typedef struct transfer {
	long long id;
	char lease[40];
	int attempt;
	char ns[WH_NS_LEN]; /* the delivery's namespace ("" = none), for the fair shares */
	CURL *easy;
	struct curl_slist *headers;
	char *url, *body;
	char started_at[40]; /* RFC 3339, for the history */
	struct timespec t0;
	size_t received;
	bool refused; /* the address policy refused the connection */
	otel_span span; /* "webhook <event>" client span, child of the event's traceparent */
	char errbuf[CURL_ERROR_SIZE];
	struct transfer *prev, *next; /* the in-flight list */
} transfer;

static transfer *active; /* in flight, owned by the engine thread */
static bool finished_some; /* a transfer ended since the last claim: shares may have room */

/*
 * The in-flight count per namespace as webhook_claim() takes it ({"ns":n}), built from
 * the in-flight list (at most WH_MAX_INFLIGHT entries). New reference; NULL when empty.
 */
static json_t *
busy_map(void)
{
	json_t *m;

	if (active == NULL)
		return NULL;
	m = json_object();
	for (transfer *t = active; t != NULL && m != NULL; t = t->next) {
		json_t *v = json_object_get(m, t->ns);

		json_object_set_new(m, t->ns, json_integer(v ? json_integer_value(v) + 1 : 1));
	}
	return m;
}

/* The outcome of one attempt, waiting to be recorded. */
typedef struct result {
	long long id;
	char lease[40];
	int status;       /* 0 = no HTTP answer */
	int latency_ms;
	char *error;      /* NULL = none */
	char started_at[40];
	struct result *next;
} result;

static result *results_head, **results_tail = &results_head;
static size_t nresults;
static int64_t results_since;  /* monotonic ms the oldest waiting result was added */
static bool results_retry;     /* a waiting result is a failed attempt: its retry is due soon */
static int64_t mono_ms(void);

void
webhooks_counters_get(webhooks_counters *out)
{
	out->attempts = atomic_load_explicit(&wh.attempts, memory_order_relaxed);
	out->succeeded = atomic_load_explicit(&wh.succeeded, memory_order_relaxed);
	out->failed_attempts = atomic_load_explicit(&wh.failed_attempts, memory_order_relaxed);
	out->refused = atomic_load_explicit(&wh.refused, memory_order_relaxed);
	out->failed_final = atomic_load_explicit(&wh.failed_final, memory_order_relaxed);
	out->lease_lost = atomic_load_explicit(&wh.lease_lost, memory_order_relaxed);
	out->shed = atomic_load_explicit(&wh.shed, memory_order_relaxed);
	out->inflight = atomic_load_explicit(&wh.inflight, memory_order_relaxed);
}

void
webhooks_count_shed(uint64_t n)
{
	atomic_fetch_add_explicit(&wh.shed, n, memory_order_relaxed);
}

/* See webhooks.h. The signed message is "<t>.<body>", so the timestamp cannot be
 * replaced without breaking the signature and receivers can refuse old ones. */
void
webhooks_sign(const char *secret, long long t, const char *body, size_t body_len, char *out, size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char prefix[32], hex[2 * EVP_MAX_MD_SIZE + 1];
	int plen = snprintf(prefix, sizeof(prefix), "%lld.", t);
	bool ok = false;
	/* HMAC over two pieces without copying the body: the one-shot HMAC() would need them joined */
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *mc = m ? EVP_MAC_CTX_new(m) : NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;

	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (mc != NULL && EVP_MAC_init(mc, (const unsigned char *)secret, strlen(secret), params) == 1 &&
	    EVP_MAC_update(mc, (const unsigned char *)prefix, (size_t)plen) == 1 &&
	    EVP_MAC_update(mc, (const unsigned char *)body, body_len) == 1 &&
	    EVP_MAC_final(mc, mac, &outl, sizeof(mac)) == 1) {
		maclen = (unsigned int)outl;
		ok = true;
	}
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(m);
	for (unsigned int i = 0; i < maclen; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	hex[2 * maclen] = '\0';
	snprintf(out, outlen, "t=%lld,v1=%s", t, ok ? hex : "");
}

static void
rfc3339_now(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0 || n < 28)
		return;
	memcpy(out, base, 19);
	snprintf(out + 19, n - 19, ".%06dZ", (int)(ts.tv_nsec / 1000) % 1000000);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CURLOPT_OPENSOCKETFUNCTION: the address policy, on the address actually used. */
static curl_socket_t
open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	transfer *t = ud;

	(void)purpose;
	if (!atomic_load(&admin_proxy_cfg.allow_private_ips) && ms_addr_is_private(&a->addr)) {
		t->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* CURLOPT_WRITEFUNCTION: the answer's body is not kept, only bounded. */
static size_t
discard(char *data, size_t size, size_t nmemb, void *ud)
{
	transfer *t = ud;
	size_t n = size * nmemb;

	(void)data;
	t->received += n;
	return t->received > WH_MAX_RESPONSE ? 0 : n;
}

static void
transfer_free(transfer *t)
{
	if (t == NULL)
		return;
	if (t->easy != NULL) {
		curl_multi_remove_handle(wh.multi, t->easy);
		curl_easy_cleanup(t->easy);
	}
	if (t->prev != NULL)
		t->prev->next = t->next;
	else if (active == t)
		active = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	otel_span_end(&t->span); /* no-op unless still open (a failed start) */
	curl_slist_free_all(t->headers);
	free(t->url);
	free(t->body);
	free(t);
}

static void
result_add(long long id, const char *lease, int status, int latency_ms, const char *error, const char *started)
{
	result *r;

	if (nresults >= WH_MAX_PENDING_RESULTS) {
		/* the lease will run out and the delivery be sent again: nothing is lost */
		log_warn("webhooks: %zu results waiting for the database; dropping the result of delivery %lld",
			 nresults, id);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return;
	r->id = id;
	snprintf(r->lease, sizeof(r->lease), "%s", lease);
	r->status = status;
	r->latency_ms = latency_ms;
	r->error = error ? strdup(error) : NULL;
	snprintf(r->started_at, sizeof(r->started_at), "%s", started);
	if (results_head == NULL)
		results_since = mono_ms();
	if (status < 200 || status > 299)
		results_retry = true;
	*results_tail = r;
	results_tail = &r->next;
	nresults++;
}

/* Adds "Name: value" unless it has a line break (the SQL side refuses those too). */
static struct curl_slist *
add_header(struct curl_slist *h, const char *name, const char *value, bool *ok)
{
	char *line;
	struct curl_slist *n;

	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return h;
	if (asprintf(&line, "%s: %s", name, value) < 0) {
		*ok = false;
		return h;
	}
	n = curl_slist_append(h, line);
	free(line);
	if (n == NULL) {
		*ok = false;
		return h;
	}
	return n;
}

#define SETOPT(h, opt, val)                                                                                  \
	do {                                                                                                 \
		if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) {                                       \
			snprintf(why, sizeof(why), "curl_easy_setopt(%s) failed", #opt);                     \
			goto fail;                                                                           \
		}                                                                                            \
	} while (0)

/*
 * Starts sending one claimed delivery d ({"id","leaseId","attempt","event","url",
 * "method","headers","body","secret","timeoutMs"}). A delivery that cannot even be
 * started gets a failed attempt recorded at once.
 */
static void
transfer_start(const json_t *d)
{
	transfer *t = calloc(1, sizeof(*t));
	const char *url = json_string_value(json_object_get(d, "url"));
	const char *method = json_string_value(json_object_get(d, "method"));
	const char *body = json_string_value(json_object_get(d, "body"));
	const char *secret = json_string_value(json_object_get(d, "secret"));
	const char *event = json_string_value(json_object_get(d, "event"));
	const char *lease = json_string_value(json_object_get(d, "leaseId"));
	json_int_t timeout = json_integer_value(json_object_get(d, "timeoutMs"));
	json_t *hdrs = json_object_get(d, "headers");
	char why[256] = "out of memory", buf[160], idbuf[32];
	bool ok = true, have_ct = false;
	const char *k;
	json_t *v;

	if (t == NULL)
		return;
	t->id = (long long)json_integer_value(json_object_get(d, "id"));
	t->attempt = (int)json_integer_value(json_object_get(d, "attempt"));
	snprintf(t->lease, sizeof(t->lease), "%s", lease ? lease : "");
	{
		const char *ns = json_string_value(json_object_get(d, "namespace"));

		snprintf(t->ns, sizeof(t->ns), "%s", ns ? ns : "");
	}
	rfc3339_now(t->started_at, sizeof(t->started_at));
	clock_gettime(CLOCK_MONOTONIC, &t->t0);
	if (url == NULL || method == NULL || body == NULL) {
		snprintf(why, sizeof(why), "delivery row is incomplete");
		goto fail;
	}
	t->url = strdup(url);
	t->body = strdup(body);
	t->easy = curl_easy_init();
	if (t->url == NULL || t->body == NULL || t->easy == NULL)
		goto fail;
	if (otel_enabled()) {
		/* one span per attempt, child of the request that produced the event (its
		 * traceparent travels with the delivery row); the receiver gets this span as parent */
		char n[96], h[OTEL_HEADER_SIZE];

		snprintf(n, sizeof n, "webhook %s", event ? event : "delivery");
		otel_span_start_remote(&t->span, n, OTEL_KIND_CLIENT,
		                       json_string_value(json_object_get(d, "traceparent")));
		otel_span_set_str(&t->span, "mockarty.webhook.event", event ? event : "");
		otel_span_set_int(&t->span, "mockarty.webhook.delivery_id", t->id);
		otel_span_set_int(&t->span, "mockarty.webhook.attempt", t->attempt);
		otel_span_set_str(&t->span, "http.url", url);
		if (otel_inject_header(&t->span, h))
			t->headers = add_header(t->headers, "traceparent", h + strlen("traceparent: "), &ok);
	}
	json_object_foreach (hdrs, k, v) {
		if (!json_is_string(v))
			continue;
		if (otel_enabled() && strcasecmp(k, "traceparent") == 0)
			continue; /* ours replaces it */
		if (strcasecmp(k, "content-type") == 0)
			have_ct = true;
		t->headers = add_header(t->headers, k, json_string_value(v), &ok);
	}
	if (!have_ct)
		t->headers = add_header(t->headers, "Content-Type", "application/json", &ok);
	t->headers = add_header(t->headers, "User-Agent", "Mockarty-Webhooks/" ADMIN_RELEASE_ID, &ok);
	if (event != NULL)
		t->headers = add_header(t->headers, "X-Mockarty-Event", event, &ok);
	snprintf(idbuf, sizeof(idbuf), "%lld", t->id);
	t->headers = add_header(t->headers, "X-Mockarty-Delivery", idbuf, &ok);
	snprintf(buf, sizeof(buf), "%d", t->attempt);
	t->headers = add_header(t->headers, "X-Mockarty-Attempt", buf, &ok);
	if (secret != NULL && secret[0] != '\0') {
		webhooks_sign(secret, (long long)time(NULL), t->body, strlen(t->body), buf, sizeof(buf));
		t->headers = add_header(t->headers, "X-Mockarty-Signature", buf, &ok);
	}
	t->headers = add_header(t->headers, "Expect", "", &ok);
	if (!ok)
		goto fail;
	if (timeout <= 0)
		timeout = 10000;
	if (timeout > 30000) /* the database caps it too; the lease is timeout + 15 s */
		timeout = 30000;
	SETOPT(t->easy, CURLOPT_URL, t->url);
	SETOPT(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(t->easy, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect's target was never checked */
	SETOPT(t->easy, CURLOPT_NOSIGNAL, 1L);
	SETOPT(t->easy, CURLOPT_TIMEOUT_MS, (long)timeout);
	SETOPT(t->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout < 10000 ? timeout : 10000));
	SETOPT(t->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SETOPT(t->easy, CURLOPT_OPENSOCKETDATA, t);
	SETOPT(t->easy, CURLOPT_WRITEFUNCTION, discard);
	SETOPT(t->easy, CURLOPT_WRITEDATA, t);
	SETOPT(t->easy, CURLOPT_HTTPHEADER, t->headers);
	SETOPT(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
	SETOPT(t->easy, CURLOPT_PRIVATE, t);
	if (strcmp(method, "GET") == 0) {
		SETOPT(t->easy, CURLOPT_HTTPGET, 1L);
	} else {
		SETOPT(t->easy, CURLOPT_CUSTOMREQUEST, method);
		SETOPT(t->easy, CURLOPT_POSTFIELDS, t->body);
		SETOPT(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(t->body));
	}
	if (curl_multi_add_handle(wh.multi, t->easy) != CURLM_OK) {
		snprintf(why, sizeof(why), "curl_multi_add_handle failed");
		goto fail;
	}
	atomic_fetch_add(&wh.inflight, 1);
	t->next = active;
	if (active != NULL)
		active->prev = t;
	active = t;
	return;
fail:
	otel_span_set_error(&t->span, why);
	result_add(t->id, t->lease, 0, 0, why, t->started_at);
	atomic_fetch_add(&wh.attempts, 1);
	atomic_fetch_add(&wh.failed_attempts, 1);
	if (t->easy != NULL) {
		curl_easy_cleanup(t->easy);
		t->easy = NULL;
	}
	transfer_free(t);
}

/* Collects finished transfers into results. */
static void
collect_done(void)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(wh.multi, &left)) != NULL) {
		transfer *t = NULL;
		long code = 0;
		struct timespec t1;
		int latency;
		char err[CURL_ERROR_SIZE + 80];
		const char *e = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (t == NULL)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		latency = (int)((t1.tv_sec - t->t0.tv_sec) * 1000 + (t1.tv_nsec - t->t0.tv_nsec) / 1000000);
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
		if (msg->data.result != CURLE_OK && !(msg->data.result == CURLE_WRITE_ERROR && code > 0)) {
			if (t->refused) {
				snprintf(err, sizeof(err), "refused: the URL resolves to a private or loopback address "
							   "(set ALLOW_PROXY_TO_PRIVATE_IPS=true to allow)");
				atomic_fetch_add(&wh.refused, 1);
			} else {
				snprintf(err, sizeof(err), "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(msg->data.result));
			}
			e = err;
			code = 0;
		} else if (code < 200 || code > 299) {
			snprintf(err, sizeof(err), "HTTP %ld", code);
			e = err;
			if (code >= 300 && code < 400)
				snprintf(err, sizeof(err), "HTTP %ld (redirects are not followed)", code);
		}
		atomic_fetch_add(&wh.attempts, 1);
		atomic_fetch_add(e ? &wh.failed_attempts : &wh.succeeded, 1);
		if (code > 0)
			otel_span_set_http_status(&t->span, (int)code);
		else
			otel_span_set_error(&t->span, e);
		result_add(t->id, t->lease, (int)code, latency, e, t->started_at);
		atomic_fetch_sub(&wh.inflight, 1);
		finished_some = true;
		transfer_free(t);
	}
}

/*
 * The engine's three statements, prepared once per connection (connect_listen): a record per
 * delivery is then one execution of a cached plan, not a parse and plan of its text.
 */
static const struct {
	const char *name, *sql;
	int nparams;
} stmts[] = {
	{"wh_record", "SELECT mockarty.webhook_record($1::bigint, $2::uuid, $3::int, $4::int, $5, $6::timestamptz)", 6},
	{"wh_claim", "SELECT mockarty.webhook_claim($1::int, NULL, $2::jsonb)", 2},
	{"wh_due", "SELECT mockarty.webhook_next_due_ms()", 0},
};
static bool prepared; /* stmts are prepared on the current connection */

/* Runs statement stmts[k] with params on conn; returns the first column of the first row
 * parsed as JSON (new reference) or NULL on any error (*conn_lost set when the connection is
 * gone). */
static json_t *
query_json(PGconn *conn, int k, const char *const *params, bool *conn_lost)
{
	PGresult *r = prepared ? PQexecPrepared(conn, stmts[k].name, stmts[k].nparams, params, NULL, NULL, 0)
			       : PQexecParams(conn, stmts[k].sql, stmts[k].nparams, NULL, params, NULL, NULL, 0);
	json_t *out = NULL;

	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
			out = json_loads(PQgetvalue(r, 0, 0), JSON_DECODE_ANY, NULL);
		else
			out = json_null();
	} else if (PQstatus(conn) != CONNECTION_OK) {
		*conn_lost = true;
	} else {
		log_warn("webhooks: %s", PQerrorMessage(conn));
	}
	PQclear(r);
	return out;
}

/* Records one result (autocommit unless the caller opened a transaction); false when the
 * connection was lost. Counts lease-lost and finally failed deliveries into *ll / *ff. */
static bool
record_one(PGconn *conn, const result *r, uint64_t *ll, uint64_t *ff)
{
	char id[32], status[16], lat[16];
	const char *params[6] = {id, r->lease, status, lat, r->error, r->started_at};
	bool lost = false;
	json_t *out;

	snprintf(id, sizeof(id), "%lld", r->id);
	snprintf(status, sizeof(status), "%d", r->status);
	snprintf(lat, sizeof(lat), "%d", r->latency_ms);
	if (r->status == 0)
		params[2] = NULL;
	out = query_json(conn, 0, params, &lost);
	if (out != NULL) {
		const char *st = json_string_value(json_object_get(out, "status"));

		if (!json_is_true(json_object_get(out, "ok")))
			(*ll)++;
		else if (st != NULL && strcmp(st, "failed") == 0)
			(*ff)++;
	}
	json_decref(out);
	return !lost;
}

/* Frees the first n results of the queue. */
static void
drop_results(int n)
{
	while (n-- > 0 && results_head != NULL) {
		result *r = results_head;

		results_head = r->next;
		if (results_head == NULL)
			results_tail = &results_head;
		nresults--;
		free(r->error);
		free(r);
	}
}

/* Runs a transaction-control statement; true when it did what it names (COMMIT may roll back). */
static bool
tx(PGconn *conn, const char *cmd)
{
	PGresult *res = PQexec(conn, cmd);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), cmd) == 0;

	PQclear(res);
	return ok;
}

/*
 * Records the queued results. Up to 500 go in one transaction, so a burst of deliveries costs
 * one WAL flush instead of one per attempt (at a thousand events a second the per-row commits
 * were most of the engine's cost). If the batch does not commit (an unexpected error in one row
 * aborts it), the same results are recorded one by one instead, so one bad row never blocks
 * the rest. Results leave the queue only once they are stored; false when the connection was
 * lost (they are kept and recorded after the reconnect).
 */
static bool
record_results(PGconn *conn)
{
	while (results_head != NULL) {
		uint64_t ll = 0, ff = 0;
		int n = 0;
		bool committed = false;

		if (tx(conn, "BEGIN")) {
			for (result *r = results_head; r != NULL && n < 500; r = r->next, n++)
				if (!record_one(conn, r, &ll, &ff))
					return false;
			committed = tx(conn, "COMMIT");
			if (!committed && PQstatus(conn) != CONNECTION_OK)
				return false;
		}
		if (!committed) {
			if (PQtransactionStatus(conn) != PQTRANS_IDLE)
				tx(conn, "ROLLBACK");
			ll = ff = 0;
			n = 0;
			for (result *r = results_head; r != NULL && n < 500; r = r->next, n++)
				if (!record_one(conn, r, &ll, &ff)) {
					drop_results(n); /* those before it are stored */
					return false;
				}
		}
		atomic_fetch_add(&wh.lease_lost, ll);
		atomic_fetch_add(&wh.failed_final, ff);
		drop_results(n);
	}
	return true;
}

/* Claims up to room due deliveries (within the namespaces' fair shares, given what is in
 * flight) and starts them; returns how many, -1 when the connection was lost. */
static int
claim(PGconn *conn, int room)
{
	char lim[16];
	json_t *busy = busy_map();
	char *busytext = busy ? json_dumps(busy, JSON_COMPACT) : NULL;
	const char *params[2] = {lim, busytext};
	bool lost = false;
	json_t *arr, *d;
	size_t i;
	int n;

	json_decref(busy);
	snprintf(lim, sizeof(lim), "%d", room);
	finished_some = false;
	arr = query_json(conn, 1, params, &lost);
	free(busytext);
	if (lost) {
		json_decref(arr);
		return -1;
	}
	n = (int)json_array_size(arr);
	json_array_foreach (arr, i, d)
		transfer_start(d);
	json_decref(arr);
	return n;
}

/* Milliseconds until the next delivery is due per the database (capped at the safety poll); -1 when lost. */
static int
next_due(PGconn *conn)
{
	bool lost = false;
	json_t *v = query_json(conn, 2, NULL, &lost);
	json_int_t ms = json_is_integer(v) ? json_integer_value(v) : WH_SAFETY_POLL_MS;

	json_decref(v);
	if (lost)
		return -1;
	return ms > WH_SAFETY_POLL_MS ? WH_SAFETY_POLL_MS : (int)ms;
}

static PGconn *
connect_listen(void)
{
	PGconn *conn = pgpool_connect_new();
	PGresult *r;
	bool ok;

	if (conn == NULL)
		return NULL;
	r = PQexec(conn, "LISTEN mockarty_webhooks");
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok) {
		/* e.g. the extension is older than this node: say it once per connect */
		log_warn("webhooks: LISTEN failed: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	prepared = true;
	for (size_t k = 0; k < sizeof(stmts) / sizeof(stmts[0]) && prepared; k++) {
		r = PQprepare(conn, stmts[k].name, stmts[k].sql, stmts[k].nparams, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			/* e.g. an older extension: the texts are sent each time instead */
			log_warn("webhooks: cannot prepare %s: %s", stmts[k].name, PQerrorMessage(conn));
			prepared = false;
		}
		PQclear(r);
	}
	return conn;
}

static void *
engine_main(void *arg)
{
	PGconn *conn = NULL;
	int backoff = 100;
	int64_t deadline = 0; /* monotonic ms of the next claim */
	bool want_claim = true;
	bool blocked = false; /* due rows were left behind for want of a slot: a finished transfer frees one */

	(void)arg;
	while (!atomic_load(&wh.stop)) {
		struct curl_waitfd extra[1];
		int nextra = 0, running = 0, timeout = WH_SAFETY_POLL_MS;
		int64_t now;

		if (conn == NULL) {
			conn = connect_listen();
			if (conn == NULL) {
				timeout = backoff;
				backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
			} else {
				backoff = 100;
				want_claim = true; /* notifications may have been lost while away */
				log_info("webhooks: delivery engine connected");
			}
		}
		if (conn != NULL) {
			/*
			 * Per delivery, a record, a claim and a due-time query each cost the database a
			 * statement: at hundreds of deliveries a second that was most of the machine's
			 * webhook cost. So results are recorded in batches (WH_RECORD_BATCH, or
			 * WH_RECORD_DELAY_MS after the oldest, or once nothing is in flight), and a
			 * finished transfer asks for more work only when work was left behind for want
			 * of a slot; new deliveries ring NOTIFY, retries are due at `deadline`.
			 */
			bool lost = false, retry = false;
			int inflight = (int)atomic_load(&wh.inflight);

			now = mono_ms();
			if (results_head != NULL &&
			    (nresults >= WH_RECORD_BATCH || now - results_since >= WH_RECORD_DELAY_MS || active == NULL)) {
				retry = results_retry;
				lost = !record_results(conn);
				if (!lost)
					results_retry = false;
			}
			if (!lost && (want_claim || now >= deadline || retry || (finished_some && blocked)) &&
			    inflight < WH_MAX_INFLIGHT) {
				int n = claim(conn, WH_MAX_INFLIGHT - inflight);

				if (n < 0) {
					lost = true;
				} else {
					int due;

					want_claim = n == WH_MAX_INFLIGHT - inflight; /* a full batch: more may wait */
					blocked = want_claim;
					due = want_claim ? 0 : next_due(conn);
					if (due < 0) {
						lost = true;
					} else if (due == 0 && active != NULL) {
						/* due rows left behind: their namespaces' shares are in flight (or
						 * another engine holds them); a finished transfer asks again */
						blocked = true;
						deadline = mono_ms() + WH_SAFETY_POLL_MS;
					} else {
						deadline = mono_ms() + (due == 0 && n == 0 ? 5 : due);
					}
				}
			}
			if (lost || PQstatus(conn) != CONNECTION_OK) {
				log_warn("webhooks: database connection lost; %zu results wait for it", nresults);
				pgpool_mark(false);
				PQfinish(conn);
				conn = NULL;
				continue;
			}
			now = mono_ms();
			timeout = want_claim ? 0 : deadline > now ? (int)(deadline - now) : 0;
			if (results_head != NULL) { /* wake up to record the batch in time */
				int64_t rec = results_since + WH_RECORD_DELAY_MS - now;

				if (rec < timeout)
					timeout = rec > 0 ? (int)rec : 0;
			}
			extra[0].fd = PQsocket(conn);
			extra[0].events = CURL_WAIT_POLLIN;
			extra[0].revents = 0;
			nextra = 1;
		}
		if (curl_multi_poll(wh.multi, nextra ? extra : NULL, (unsigned)nextra, timeout, NULL) != CURLM_OK)
			log_warn("webhooks: curl_multi_poll failed");
		curl_multi_perform(wh.multi, &running);
		collect_done();
		if (conn != NULL) {
			PGnotify *n;

			if (!PQconsumeInput(conn)) {
				log_warn("webhooks: LISTEN connection lost: %s", PQerrorMessage(conn));
				PQfinish(conn);
				conn = NULL;
				continue;
			}
			while ((n = PQnotifies(conn)) != NULL) {
				want_claim = true;
				if (n->extra != NULL && strcmp(n->extra, "config") == 0)
					evsink_refresh(); /* a webhook changed: mock.resolved wanted? */
				PQfreemem(n);
			}
		}
	}
	/* results not recorded now are recorded by nobody: their leases run out and the
	 * deliveries are sent again by the next engine */
	if (conn != NULL)
		record_results(conn);
	PQfinish(conn);
	return NULL;
}

bool
webhooks_start(void)
{
	wh.multi = curl_multi_init();
	if (wh.multi == NULL) {
		log_error("webhooks: curl_multi_init failed");
		return false;
	}
	curl_multi_setopt(wh.multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
	if (pthread_create(&wh.thread, NULL, engine_main, NULL) != 0) {
		log_error("webhooks: cannot start the delivery thread");
		return false;
	}
	wh.running = true;
	/* the queue of per-mock callbacks and mock.resolved events (delivery/evsink.c) */
	if (!evsink_start()) {
		log_error("webhooks: cannot start the event queue");
		return false;
	}
	return true;
}

void
webhooks_stop(void)
{
	evsink_stop(); /* a last drain while the database is still there */
	if (!wh.running)
		return;
	atomic_store(&wh.stop, true);
	curl_multi_wakeup(wh.multi);
	pthread_join(wh.thread, NULL);
	wh.running = false;
	/* abandon what is in flight: those leases expire and the deliveries are resent */
	while (active != NULL)
		transfer_free(active);
	curl_multi_cleanup(wh.multi);
	wh.multi = NULL;
}
