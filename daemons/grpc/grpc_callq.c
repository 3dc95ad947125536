/*
 * grpc_callq.c - worker threads for unary gRPC calls (grpc_callq.h).
 *
 * A plain mutex-protected FIFO: calls are short (one or two SQL statements) and few per
 * second compared with what a mutex costs, and FIFO order keeps a runner's heartbeats behind
 * its own earlier results.
 */
#include "grpc_callq.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CALLQ_MAX_WORKERS 64

struct call {
	struct call *next;
	mk_grpc_call_fn fn;
	mk_grpc_stream *st;
	uint8_t *req;
	size_t len;
	void (*release)(void *arg); /* per-call state: runs after fn or when the call is dropped */
	void *arg;
};

/* A method registered with mk_grpc_callq_register: what its loop-thread handler pushes. */
struct binding {
	struct binding *next;
	mk_grpc_callq *q;
	mk_grpc_call_fn fn;
};

struct mk_grpc_callq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct call *head, *tail;
	size_t depth;
	bool stop;
	mk_grpc_call_gate gate;
	mk_grpc_call_wrap wrap;
	pthread_t workers[CALLQ_MAX_WORKERS];
	int nworkers;
	struct binding *bindings; /* freed with the queue */
};

static void *
worker_main(void *arg)
{
	mk_grpc_callq *q = arg;

	for (;;) {
		struct call *c;

		pthread_mutex_lock(&q->mu);
		while (q->head == NULL && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		c = q->head;
		if (c == NULL) { /* stopping and drained */
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		q->head = c->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->depth--;
		pthread_mutex_unlock(&q->mu);
		if (mk_grpc_stream_is_open(c->st) && (q->gate == NULL || q->gate(c->st))) {
			if (q->wrap != NULL)
				q->wrap(c->fn, c->st, c->req, c->len);
			else
				c->fn(c->st, c->req, c->len);
		}
		if (c->release != NULL)
			c->release(c->arg);
		mk_grpc_stream_release(c->st);
		free(c->req);
		free(c);
	}
}

mk_grpc_callq *
mk_grpc_callq_start(int nworkers, mk_grpc_call_gate gate, mk_grpc_call_wrap wrap)
{
	mk_grpc_callq *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->gate = gate;
	q->wrap = wrap;
	if (nworkers > CALLQ_MAX_WORKERS)
		nworkers = CALLQ_MAX_WORKERS;
	for (int i = 0; i < nworkers; i++)
		if (pthread_create(&q->workers[q->nworkers], NULL, worker_main, q) == 0)
			q->nworkers++;
	if (q->nworkers == 0) {
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
		free(q);
		return NULL;
	}
	return q;
}

void
mk_grpc_callq_push(mk_grpc_callq *q, mk_grpc_call_fn fn, mk_grpc_stream *st, const uint8_t *req,
                   size_t len)
{
	mk_grpc_callq_push_owned(q, fn, st, req, len, NULL, NULL);
}

void
mk_grpc_callq_push_owned(mk_grpc_callq *q, mk_grpc_call_fn fn, mk_grpc_stream *st, const uint8_t *req,
                         size_t len, void (*release)(void *arg), void *arg)
{
	struct call *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->req = malloc(len ? len : 1)) == NULL) {
		free(c);
		mk_grpc_stream_finish(st, MK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
		if (release != NULL)
			release(arg);
		return;
	}
	memcpy(c->req, req, len);
	c->len = len;
	c->fn = fn;
	c->st = st;
	c->release = release;
	c->arg = arg;
	mk_grpc_stream_retain(st);
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->depth++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* The loop-thread handler of a registered method. */
static void
bound_handler(void *ud, mk_grpc_stream *st, const uint8_t *req, size_t len)
{
	const struct binding *b = ud;

	mk_grpc_callq_push(b->q, b->fn, st, req, len);
}

int
mk_grpc_callq_register(mk_grpc_server *srv, mk_grpc_callq *q, const char *path, mk_grpc_call_fn fn)
{
	struct binding *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -1;
	b->q = q;
	b->fn = fn;
	pthread_mutex_lock(&q->mu);
	b->next = q->bindings;
	q->bindings = b;
	pthread_mutex_unlock(&q->mu);
	return mk_grpc_server_register(srv, path, MK_GRPC_UNARY, bound_handler, NULL, b);
}

size_t
mk_grpc_callq_depth(mk_grpc_callq *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->depth;
	pthread_mutex_unlock(&q->mu);
	return n;
}

void
mk_grpc_callq_stop(mk_grpc_callq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->nworkers; i++)
		pthread_join(q->workers[i], NULL);
	while (q->bindings != NULL) {
		struct binding *b = q->bindings;

		q->bindings = b->next;
		free(b);
	}
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
