/*
 * reportseq.c - each resolver Report applied once (reportseq.h).
 *
 * A resolver sends its batches one at a time and only moves on once one is acknowledged,
 * so per session "done up to seq N" plus the one number being applied is the whole state:
 * a seq at or below done was applied, the in-flight one is busy, anything else is new.
 * Reports come a few times a second per resolver, so a linear scan of the slots under one
 * mutex costs nothing next to the database work of a batch.
 */
#include "coordinator/reportseq.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct slot {
	char key[300];     /* principal \x1f resolver \x1f session; "" = free */
	uint64_t done;     /* highest seq applied */
	uint64_t inflight; /* seq being applied, 0 = none */
	uint64_t used;     /* clock of the last claim, for reuse */
};

static struct {
	pthread_mutex_t mu;
	struct slot s[REPORTSEQ_SLOTS];
	uint64_t clock;
} RS = {.mu = PTHREAD_MUTEX_INITIALIZER};

static bool
make_key(char *key, size_t size, const char *principal, const char *resolver, const char *session)
{
	int n = snprintf(key, size, "%s\x1f%s\x1f%s", principal, resolver ? resolver : "", session);

	return n > 0 && (size_t)n < size;
}

/* Caller holds RS.mu: the slot of key, or NULL. */
static struct slot *
find(const char *key)
{
	for (size_t i = 0; i < REPORTSEQ_SLOTS; i++)
		if (RS.s[i].key[0] && strcmp(RS.s[i].key, key) == 0)
			return &RS.s[i];
	return NULL;
}

/* Caller holds RS.mu: a free slot, else the least recently used idle one; NULL when every
 * slot has a batch in flight. */
static struct slot *
take(void)
{
	struct slot *lru = NULL;

	for (size_t i = 0; i < REPORTSEQ_SLOTS; i++) {
		struct slot *x = &RS.s[i];

		if (x->key[0] == '\0')
			return x;
		if (x->inflight == 0 && (lru == NULL || x->used < lru->used))
			lru = x;
	}
	return lru;
}

reportseq_verdict
reportseq_claim(const char *principal, const char *resolver, const char *session, uint64_t seq)
{
	char key[300];
	struct slot *x;
	reportseq_verdict v;

	if (seq == 0 || session == NULL || session[0] == '\0')
		return REPORTSEQ_APPLY;
	/* a key too long to keep (an absurd resolver name) is applied unchecked, as before */
	if (!make_key(key, sizeof(key), principal, resolver, session))
		return REPORTSEQ_APPLY;
	pthread_mutex_lock(&RS.mu);
	x = find(key);
	if (x == NULL) {
		x = take();
		if (x == NULL) { /* every slot busy: cannot track it, so refuse for now */
			pthread_mutex_unlock(&RS.mu);
			return REPORTSEQ_BUSY;
		}
		memset(x, 0, sizeof(*x));
		strcpy(x->key, key);
	}
	x->used = ++RS.clock;
	if (seq <= x->done)
		v = REPORTSEQ_DONE;
	else if (x->inflight != 0)
		v = REPORTSEQ_BUSY; /* the same batch resent, or (never from one resolver) the next */
	else {
		x->inflight = seq;
		v = REPORTSEQ_APPLY;
	}
	pthread_mutex_unlock(&RS.mu);
	return v;
}

void
reportseq_finish(const char *principal, const char *resolver, const char *session, uint64_t seq, bool applied)
{
	char key[300];
	struct slot *x;

	if (seq == 0 || session == NULL || session[0] == '\0' ||
	    !make_key(key, sizeof(key), principal, resolver, session))
		return;
	pthread_mutex_lock(&RS.mu);
	x = find(key);
	if (x != NULL && x->inflight == seq) {
		x->inflight = 0;
		if (applied && seq > x->done)
			x->done = seq;
	}
	pthread_mutex_unlock(&RS.mu);
}

void
reportseq_clear(void)
{
	pthread_mutex_lock(&RS.mu);
	memset(RS.s, 0, sizeof(RS.s));
	RS.clock = 0;
	pthread_mutex_unlock(&RS.mu);
}
