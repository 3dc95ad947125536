/*
 * grpc_pool.c - a fixed pool of blocking gRPC clients for unary calls from many threads
 * (grpc_pool.h). One mutex and condition variable guard the busy flags only: the call itself
 * runs outside the lock on a connection no other thread can take.
 */
#include "grpc_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mk_grpc_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *addr;
	char *authz; /* "Bearer <token>" or NULL */
	int size, connect_timeout_ms;
	size_t max_message;
	mk_grpc_client **conns; /* NULL = not connected */
	bool *busy;
};

mk_grpc_pool *
mk_grpc_pool_new(const char *addr, const char *token, int size, int connect_timeout_ms, size_t max_message)
{
	mk_grpc_pool *p = calloc(1, sizeof(*p));

	if (p == NULL || size < 1)
		goto fail;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->size = size;
	p->connect_timeout_ms = connect_timeout_ms;
	p->max_message = max_message;
	p->addr = strdup(addr);
	p->conns = calloc((size_t)size, sizeof(*p->conns));
	p->busy = calloc((size_t)size, sizeof(*p->busy));
	if (token != NULL && asprintf(&p->authz, "Bearer %s", token) < 0)
		p->authz = NULL, p->size = 0;
	if (p->addr == NULL || p->conns == NULL || p->busy == NULL || p->size == 0)
		goto fail;
	return p;
fail:
	if (p != NULL) {
		free(p->addr);
		free(p->authz);
		free(p->conns);
		free(p->busy);
		free(p);
	}
	return NULL;
}

/* Takes a free slot, waiting while every slot is busy. */
static int
acquire(mk_grpc_pool *p)
{
	int slot = -1;

	pthread_mutex_lock(&p->mu);
	while (slot < 0) {
		for (int i = 0; i < p->size; i++)
			if (!p->busy[i]) {
				slot = i;
				break;
			}
		if (slot < 0)
			pthread_cond_wait(&p->cv, &p->mu);
	}
	p->busy[slot] = true;
	pthread_mutex_unlock(&p->mu);
	return slot;
}

static void
release(mk_grpc_pool *p, int slot)
{
	pthread_mutex_lock(&p->mu);
	p->busy[slot] = false;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void
drop(mk_grpc_pool *p, int slot)
{
	if (p->conns[slot] != NULL) {
		mk_grpc_client_close(p->conns[slot]);
		p->conns[slot] = NULL;
	}
}

/* One call on slot, connecting first when needed; returns the gRPC code. */
static int
call_on(mk_grpc_pool *p, int slot, const char *path, const uint8_t *req, size_t len, int timeout_ms,
        const char *traceparent, uint8_t **resp, size_t *resp_len, mk_grpc_status *st)
{
	if (p->conns[slot] != NULL && !mk_grpc_client_usable(p->conns[slot]))
		drop(p, slot);
	if (p->conns[slot] == NULL) {
		p->conns[slot] = mk_grpc_client_connect(p->addr, p->connect_timeout_ms, st);
		if (p->conns[slot] == NULL)
			return st->code;
		if (p->authz != NULL)
			mk_grpc_client_set_authorization(p->conns[slot], p->authz);
		if (p->max_message > 0)
			mk_grpc_client_set_max_message(p->conns[slot], p->max_message);
	}
	if (traceparent != NULL)
		mk_grpc_client_set_call_metadata(p->conns[slot], "traceparent", traceparent);
	return mk_grpc_client_unary(p->conns[slot], path, req, len, timeout_ms, resp, resp_len, st);
}

int
mk_grpc_pool_unary(mk_grpc_pool *p, const char *path, const uint8_t *req, size_t len, int timeout_ms,
                   const char *traceparent, uint8_t **resp, size_t *resp_len, mk_grpc_status *st)
{
	int slot = acquire(p), code;
	bool had_conn = p->conns[slot] != NULL && mk_grpc_client_usable(p->conns[slot]);

	*resp = NULL;
	*resp_len = 0;
	code = call_on(p, slot, path, req, len, timeout_ms, traceparent, resp, resp_len, st);
	if (code == MK_GRPC_UNAVAILABLE && had_conn) {
		drop(p, slot);
		free(*resp);
		*resp = NULL;
		code = call_on(p, slot, path, req, len, timeout_ms, traceparent, resp, resp_len, st);
	}
	release(p, slot);
	if (code != MK_GRPC_OK) {
		free(*resp);
		*resp = NULL;
		*resp_len = 0;
	}
	return code;
}

void
mk_grpc_pool_close_idle(mk_grpc_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->size; i++)
		if (!p->busy[i])
			drop(p, i);
	pthread_mutex_unlock(&p->mu);
}

void
mk_grpc_pool_free(mk_grpc_pool *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->size; i++)
		drop(p, i);
	if (p->authz != NULL)
		memset(p->authz, 0, strlen(p->authz));
	free(p->authz);
	free(p->addr);
	free(p->conns);
	free(p->busy);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
