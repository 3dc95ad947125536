/*
 * grpc_health.c - grpc.health.v1.Health (Check + Watch) for mk_grpc_server, as specified in
 * grpc/grpc doc/health-checking.md, so kubelet gRPC probes, grpc_health_probe and load
 * balancers can watch the coordinator.
 *
 * Constraint: statuses change from any thread (the daemon's main loop, a DB watchdog) while
 * Watch streams live on the server's loop thread, so the table and the watcher list sit under
 * one mutex and watchers are told through thread-safe stream handles. Lock order: health
 * mutex, then the server's stream lock (taken inside mk_grpc_stream_send).
 */
#include "grpc_internal.h"
#include "grpc_server.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"

#define SERVICE_UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN
#define SERVING		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING

struct entry {
	struct entry *next;
	char *service;
	int status;
};

struct watcher {
	struct watcher *next, *prev;
	struct health *h;
	mk_grpc_stream *st;
	char *service;
	int last;
};

struct health {
	mk_grpc_server *srv;
	pthread_mutex_t mu;
	struct entry *entries;
	struct watcher *watchers;
};

/* Status of service (caller holds h->mu): explicit entry, else SERVING for a service the
 * server registered, else -1 (unknown). */
static int
lookup_locked(struct health *h, const char *service)
{
	const char *names[256];
	size_t n;

	for (struct entry *e = h->entries; e; e = e->next)
		if (strcmp(e->service, service) == 0)
			return e->status;
	n = mk_grpc_server_services(h->srv, names, 256);
	for (size_t i = 0; i < n && i < 256; i++)
		if (strcmp(names[i], service) == 0)
			return SERVING;
	return -1;
}

/* Packs and queues one HealthCheckResponse. */
static int
send_status(mk_grpc_stream *st, int status)
{
	Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
	uint8_t buf[16];
	size_t n;

	resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
	n = grpc__health__v1__health_check_response__pack(&resp, buf);
	return mk_grpc_stream_send(st, buf, n);
}

static void
check(void *ud, mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	struct health *h = ud;
	Grpc__Health__V1__HealthCheckRequest *r;
	int status;

	r = grpc__health__v1__health_check_request__unpack(NULL, len, req);
	if (!r) {
		mk_grpc_stream_finish(st, MK_GRPC_INVALID_ARGUMENT, "malformed HealthCheckRequest");
		return;
	}
	pthread_mutex_lock(&h->mu);
	status = lookup_locked(h, r->service);
	pthread_mutex_unlock(&h->mu);
	grpc__health__v1__health_check_request__free_unpacked(r, NULL);
	if (status < 0) {
		mk_grpc_stream_finish(st, MK_GRPC_NOT_FOUND, "unknown service");
		return;
	}
	send_status(st, status);
	mk_grpc_stream_finish(st, MK_GRPC_OK, NULL);
}

static void
watcher_closed(void *arg)
{
	struct watcher *w = arg;
	struct health *h = w->h;

	pthread_mutex_lock(&h->mu);
	if (w->prev)
		w->prev->next = w->next;
	else
		h->watchers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&h->mu);
	mk_grpc_stream_release(w->st);
	free(w->service);
	free(w);
}

static void
watch(void *ud, mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	struct health *h = ud;
	Grpc__Health__V1__HealthCheckRequest *r;
	struct watcher *w;
	int status;

	r = grpc__health__v1__health_check_request__unpack(NULL, len, req);
	w = calloc(1, sizeof *w);
	if (!r || !w || !(w->service = strdup(r->service))) {
		mk_grpc_stream_finish(st, r ? MK_GRPC_RESOURCE_EXHAUSTED : MK_GRPC_INVALID_ARGUMENT,
				      r ? "out of memory" : "malformed HealthCheckRequest");
		if (r)
			grpc__health__v1__health_check_request__free_unpacked(r, NULL);
		free(w);
		return;
	}
	grpc__health__v1__health_check_request__free_unpacked(r, NULL);
	w->h = h;
	w->st = st;
	mk_grpc_stream_retain(st);
	pthread_mutex_lock(&h->mu);
	status = lookup_locked(h, w->service);
	w->last = status < 0 ? SERVICE_UNKNOWN : status;
	send_status(st, w->last);
	w->next = h->watchers;
	if (h->watchers)
		h->watchers->prev = w;
	h->watchers = w;
	pthread_mutex_unlock(&h->mu);
	/* Runs at once (here) if the client is already gone. */
	mk_grpc_stream_on_close(st, watcher_closed, w);
}

void
mk_grpc_health_set(mk_grpc_server *srv, const char *service, int status)
{
	struct health *h = mk_grpc_server_slot(srv, MK_GRPC_SLOT_HEALTH);
	struct entry *e;

	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	for (e = h->entries; e; e = e->next)
		if (strcmp(e->service, service) == 0)
			break;
	if (!e && (e = calloc(1, sizeof *e)) && (e->service = strdup(service))) {
		e->next = h->entries;
		h->entries = e;
	} else if (e && !e->service) {
		free(e);
		e = NULL;
	}
	if (e)
		e->status = status;
	for (struct watcher *w = h->watchers; w; w = w->next)
		if (strcmp(w->service, service) == 0 && w->last != status) {
			w->last = status;
			send_status(w->st, status);
		}
	pthread_mutex_unlock(&h->mu);
}

static void
health_free(void *p)
{
	struct health *h = p;

	/* The loop has stopped and closed every stream, so no watcher is left. */
	for (struct entry *e = h->entries, *n; e; e = n) {
		n = e->next;
		free(e->service);
		free(e);
	}
	pthread_mutex_destroy(&h->mu);
	free(h);
}

int
mk_grpc_health_register(mk_grpc_server *srv)
{
	struct health *h = calloc(1, sizeof *h);

	if (!h)
		return -1;
	h->srv = srv;
	pthread_mutex_init(&h->mu, NULL);
	mk_grpc_server_set_slot(srv, MK_GRPC_SLOT_HEALTH, h, health_free);
	if (mk_grpc_server_register(srv, "/grpc.health.v1.Health/Check", MK_GRPC_UNARY, check, NULL,
				    h) != 0 ||
	    mk_grpc_server_register(srv, "/grpc.health.v1.Health/Watch", MK_GRPC_SERVER_STREAM,
				    watch, NULL, h) != 0)
		return -1;
	mk_grpc_health_set(srv, "", SERVING);
	return 0;
}
