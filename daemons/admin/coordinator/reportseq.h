/*
 * reportseq.h - each resolver Report applied once.
 *
 * A resolver resends a batch whose ack it did not get in time (its Report timed out while
 * the database was slow, or the connection broke after the coordinator had applied it).
 * Without a check every resend would be applied again: request logs, miss counts and
 * mock.resolved events counted twice, webhooks delivered twice. So a numbered batch
 * (ReportBatch.session, .seq) is claimed before it is applied and marked done afterwards;
 * a batch already done is acknowledged without applying it, one still being applied is
 * refused for now (the resolver resends it on its next tick and then gets the ack).
 *
 * State lives in memory, one slot per (principal, resolver name, session), at most
 * REPORTSEQ_SLOTS (the least recently used idle slot is reused). A coordinator restart
 * forgets it: a batch applied just before the restart and resent after it is applied again
 * (at least once, never lost).
 */
#ifndef MOCKARTY_COORD_REPORTSEQ_H
#define MOCKARTY_COORD_REPORTSEQ_H

#include <stdbool.h>
#include <stdint.h>

#define REPORTSEQ_SLOTS 1024

typedef enum {
	REPORTSEQ_APPLY, /* new: apply it, then call reportseq_finish */
	REPORTSEQ_DONE,  /* applied before: acknowledge without applying */
	REPORTSEQ_BUSY,  /* being applied by another call right now: refuse, it will be resent */
} reportseq_verdict;

/*
 * Claims batch seq of (principal, resolver, session). seq 0 or an empty session (an
 * unnumbered batch from an older resolver) is always REPORTSEQ_APPLY and needs no finish.
 * Thread-safe.
 */
reportseq_verdict reportseq_claim(const char *principal, const char *resolver, const char *session,
                                  uint64_t seq);

/* Ends a claim that returned REPORTSEQ_APPLY: applied true marks seq done, false lets a
 * resend apply it. Thread-safe. */
void reportseq_finish(const char *principal, const char *resolver, const char *session, uint64_t seq,
                      bool applied);

/* Forgets every slot (tests, shutdown). */
void reportseq_clear(void);

#endif
