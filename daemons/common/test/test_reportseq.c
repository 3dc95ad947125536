/*
 * test_reportseq.c - unit tests of the coordinator's Report ledger
 * (daemons/admin/coordinator/reportseq.c, which needs nothing but pthreads, so
 * it is tested here with the other dependency-free modules): a numbered batch
 * is applied once, a resend while it is applied is refused for now, a failed
 * apply can be retried, sessions are independent, the least recently used idle
 * session is the one forgotten when the table is full, and threads racing on
 * the same batches apply each exactly once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coordinator/reportseq.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#define P "11111111-2222-3333-4444-555555555555"

static int
setup(void **state)
{
	(void)state;
	reportseq_clear();
	return 0;
}

static void
test_unnumbered_always_applied(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(reportseq_claim(P, "r1", "", 5), REPORTSEQ_APPLY);
		assert_int_equal(reportseq_claim(P, "r1", "s", 0), REPORTSEQ_APPLY);
		reportseq_finish(P, "r1", "s", 0, true);
	}
}

static void
test_applied_once(void **state)
{
	(void)state;
	assert_int_equal(reportseq_claim(P, "r1", "s1", 1), REPORTSEQ_APPLY);
	/* the resend after a timeout, while the first copy is still being applied */
	assert_int_equal(reportseq_claim(P, "r1", "s1", 1), REPORTSEQ_BUSY);
	reportseq_finish(P, "r1", "s1", 1, true);
	assert_int_equal(reportseq_claim(P, "r1", "s1", 1), REPORTSEQ_DONE);
	assert_int_equal(reportseq_claim(P, "r1", "s1", 1), REPORTSEQ_DONE);
	assert_int_equal(reportseq_claim(P, "r1", "s1", 2), REPORTSEQ_APPLY);
	reportseq_finish(P, "r1", "s1", 2, true);
	assert_int_equal(reportseq_claim(P, "r1", "s1", 1), REPORTSEQ_DONE);
	assert_int_equal(reportseq_claim(P, "r1", "s1", 2), REPORTSEQ_DONE);
}

static void
test_failed_apply_retried(void **state)
{
	(void)state;
	assert_int_equal(reportseq_claim(P, "r1", "s1", 1), REPORTSEQ_APPLY);
	reportseq_finish(P, "r1", "s1", 1, false); /* the database refused it */
	assert_int_equal(reportseq_claim(P, "r1", "s1", 1), REPORTSEQ_APPLY);
	reportseq_finish(P, "r1", "s1", 1, true);
	assert_int_equal(reportseq_claim(P, "r1", "s1", 1), REPORTSEQ_DONE);
	/* a finish that does not match the claim in flight changes nothing */
	reportseq_finish(P, "r1", "s1", 7, true);
	assert_int_equal(reportseq_claim(P, "r1", "s1", 2), REPORTSEQ_APPLY);
}

static void
test_sessions_independent(void **state)
{
	(void)state;
	assert_int_equal(reportseq_claim(P, "r1", "s1", 1), REPORTSEQ_APPLY);
	reportseq_finish(P, "r1", "s1", 1, true);
	/* a restarted resolver (new session), another resolver, another token: all new */
	assert_int_equal(reportseq_claim(P, "r1", "s2", 1), REPORTSEQ_APPLY);
	assert_int_equal(reportseq_claim(P, "r2", "s1", 1), REPORTSEQ_APPLY);
	assert_int_equal(reportseq_claim("99999999-2222-3333-4444-555555555555", "r1", "s1", 1),
	                 REPORTSEQ_APPLY);
	assert_int_equal(reportseq_claim(P, "r1", "s1", 1), REPORTSEQ_DONE);
}

/* Claims batch 1 of sessions s0 .. s<REPORTSEQ_SLOTS-1> (every slot), finished when finish. */
static void
claim_every_slot(bool finish)
{
	char s[32];

	for (int i = 0; i < REPORTSEQ_SLOTS; i++) {
		snprintf(s, sizeof(s), "s%d", i);
		assert_int_equal(reportseq_claim(P, "r", s, 1), REPORTSEQ_APPLY);
		if (finish)
			reportseq_finish(P, "r", s, 1, true);
	}
}

static void
test_least_recently_used_forgotten(void **state)
{
	(void)state;
	claim_every_slot(true);
	/* s0 used again: s1 is now the least recently used */
	assert_int_equal(reportseq_claim(P, "r", "s0", 1), REPORTSEQ_DONE);
	assert_int_equal(reportseq_claim(P, "r", "new", 1), REPORTSEQ_APPLY);
	reportseq_finish(P, "r", "new", 1, true);
	assert_int_equal(reportseq_claim(P, "r", "s0", 1), REPORTSEQ_DONE);
	assert_int_equal(reportseq_claim(P, "r", "new", 1), REPORTSEQ_DONE);
	assert_int_equal(reportseq_claim(P, "r", "s2", 1), REPORTSEQ_DONE);
	/* s1 was forgotten: its resend is applied again (at least once, never lost) */
	assert_int_equal(reportseq_claim(P, "r", "s1", 1), REPORTSEQ_APPLY);
}

static void
test_all_in_flight_refuses_new(void **state)
{
	(void)state;
	claim_every_slot(false);
	/* no slot can be reused while its batch is applied: refused, not applied untracked */
	assert_int_equal(reportseq_claim(P, "r", "late", 1), REPORTSEQ_BUSY);
	reportseq_finish(P, "r", "s5", 1, true);
	assert_int_equal(reportseq_claim(P, "r", "late", 1), REPORTSEQ_APPLY);
}

#define RACE_BATCHES 20000
static atomic_int applied_count[RACE_BATCHES + 1];

static void *
racer(void *arg)
{
	(void)arg;
	for (uint64_t seq = 1; seq <= RACE_BATCHES; seq++) {
		reportseq_verdict v;

		while ((v = reportseq_claim(P, "race", "s", seq)) == REPORTSEQ_BUSY)
			;
		if (v == REPORTSEQ_APPLY) {
			atomic_fetch_add(&applied_count[seq], 1);
			reportseq_finish(P, "race", "s", seq, true);
		}
	}
	return NULL;
}

static void
test_racing_resends_applied_once(void **state)
{
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, racer, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int seq = 1; seq <= RACE_BATCHES; seq++)
		if (atomic_load(&applied_count[seq]) != 1)
			fail_msg("batch %d applied %d times", seq, atomic_load(&applied_count[seq]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_unnumbered_always_applied, setup),
	    cmocka_unit_test_setup(test_applied_once, setup),
	    cmocka_unit_test_setup(test_failed_apply_retried, setup),
	    cmocka_unit_test_setup(test_sessions_independent, setup),
	    cmocka_unit_test_setup(test_least_recently_used_forgotten, setup),
	    cmocka_unit_test_setup(test_all_in_flight_refuses_new, setup),
	    cmocka_unit_test_setup(test_racing_resends_applied_once, setup),
	};

	return cmocka_run_group_tests_name("reportseq", tests, NULL, NULL);
}
