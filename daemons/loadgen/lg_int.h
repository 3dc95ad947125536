/*
 * lg_int.h - internals of the load generator's run shared by its protocol parts: loadgen.c (the
 * run, the HTTP/1.1 connections, schedule, statistics and report) and grpc.c (the gRPC unary
 * connections over h2c). One worker struct, one set of counters, so a gRPC run gets the same
 * snapshots, timeline, report and thresholds as an HTTP one.
 */
#ifndef MOCKARTY_LG_INT_H
#define MOCKARTY_LG_INT_H

#include "loadgen.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL
#define RBUF_SIZE 65536
#define SCAN_NS (10 * NS_PER_MS)            /* how often timeouts and ramps are looked at */
#define CONNECT_BACKOFF_NS (10 * NS_PER_MS) /* a closed-loop slot waits this long after a refused connect */
#define MAX_CONNS 100000
#define MAX_THREADS 256
#define MAX_STATUS 600

/* error kinds, in report order */
enum { EK_CONNECT, EK_TIMEOUT, EK_READ, EK_WRITE, EK_PARSE, EK_STATUS, EK_COUNT };

typedef struct endpoint {
	char key[300]; /* host:port as written, for de-duplication */
	struct sockaddr_storage addr;
	socklen_t alen;
} endpoint;

typedef struct tpl {
	char *buf; /* the request, serialised once */
	size_t len;
	int ep;
	bool head;
} tpl;

/* C_PENDING: closed loop, the next request is chosen and is sent at the end of the event batch */
enum { C_FREE, C_BACKOFF, C_PENDING, C_CONNECTING, C_WRITING, C_READING, C_IDLE };

/* A gRPC run's request (grpc.c): endpoint, headers and the framed message, built once. */
typedef struct lg_grpc_run {
	int ep;
	int streams;
	uint8_t *frame;
	size_t frame_len;
	char **hname, **hvalue; /* request headers, pseudo-headers first */
	size_t nh;
} lg_grpc_run;

typedef struct worker worker;
typedef struct conn {
	int fd;
	int state;
	int ep;            /* endpoint of the open socket */
	int idx;           /* index within its worker */
	bool epout;        /* EPOLLOUT currently registered */
	bool retried;      /* the current request was already retried once on a new socket */
	bool active;       /* closed loop: this slot is meant to keep sending */
	size_t next_tpl;   /* round robin position */
	size_t cur_tpl;    /* template of the request in flight */
	size_t woff;       /* bytes of it written */
	uint64_t rbytes;   /* bytes of the current response read */
	uint64_t start_ns; /* latency origin */
	uint64_t deadline_ns;
	uint64_t served; /* responses received on this socket */
	lg_resp_parser parser;
} conn;

typedef _Atomic uint64_t acount;

struct worker {
	lg_run *run;
	int id;
	pthread_t th;
	int epfd;
	conn *conns;
	int nconns;
	int want;     /* closed loop: slots that should be active now */
	int nactive;  /* closed loop: slots active */
	int *idle;    /* open loop: stack of idle connection indexes */
	int *pending; /* closed loop: connections in C_PENDING */
	int npending;
	int nidle;
	int nopen;       /* sockets open or connecting */
	uint64_t next_g; /* open loop: the next request number of this worker */
	uint64_t next_scan;
	uint64_t end_ns; /* when the loop actually ended */
	/* statistics: written by this thread only, read by snapshots */
	acount hist[LG_HIST_BUCKETS];
	acount requests, errors, bytes, sum_ns, min_ns, max_ns, opened, busy;
	acount status[MAX_STATUS];
	acount kinds[EK_COUNT];
	acount grpc_codes[LG_GRPC_CODES]; /* gRPC runs: responses by grpc-status */
	void *proto;                      /* gRPC runs: the connections of this worker (grpc.c) */
	char rbuf[RBUF_SIZE];
};

struct lg_run {
	lg_mode mode;
	int concurrency, threads, timeout_ms, duration_ms;
	double rate;
	uint64_t max_requests;
	lg_stage *stages;
	size_t nstages;
	endpoint *eps;
	int neps;
	tpl *tpls;
	size_t ntpls;
	worker **workers;
	int stopfd;             /* eventfd: readable once lg_stop was called, wakes every loop */
	uint64_t t0_ns, end_ns; /* end_ns = 0: no time limit */
	atomic_bool stop;
	acount issued; /* closed loop with max_requests: requests claimed */
	/* controller */
	pthread_t ctl;
	bool ctl_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int workers_done;
	bool finished;
	json_t *timeline;
	lg_hist *prev;
	uint64_t prev_requests, prev_errors;
	double last_rps; /* requests in the last complete second */
	json_t *report;
	/* gRPC runs (NULL for HTTP): the request, framed once */
	lg_grpc_run *grpc;
};

static inline uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Single-writer counters: a relaxed load and store, which compile to plain moves. */
static inline void
bump(acount *a, uint64_t n)
{
	atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + n, memory_order_relaxed);
}

static inline uint64_t
rd(acount *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

/* One request that failed before a response: counted as a request, an error and its kind. */
static inline void
record_error_kind(worker *w, int kind)
{
	bump(&w->requests, 1);
	bump(&w->errors, 1);
	bump(&w->kinds[kind], 1);
}

/* schedule and endpoints (loadgen.c) */
int lg_endpoint_for(lg_run *r, const char *host, const char *port, char *err, size_t errcap,
                    const char *field);
double lg_target_at(const lg_run *r, double ms);
double lg_due_at(const lg_run *r, uint64_t g);
int lg_share(int total, int i, int n);
bool lg_claim(worker *w);

/* gRPC part (grpc.c): a worker's loop when the run is a gRPC one; frees its state at the end. */
void lg_grpc_worker(worker *w);
/* Validates g and builds r->grpc (endpoint resolved, headers, framed message); false + err. */
bool lg_grpc_configure(lg_run *r, const lg_grpc *g, char *err, size_t errcap);
void lg_grpc_run_free(lg_grpc_run *g);

#endif
