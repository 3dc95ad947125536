-- 40_scheduler.sql - the scheduler worker (extension/scheduler.c) runs only functions that
-- belong to this extension (pg_depend, deptype 'e'), and in 0.2.0 also the retention jobs
-- undefined_purge(), mock_purge_expired() and change_log_trim() (created in
-- 20_undefined_retention.sql). No schema change of its own: this part records the change.
SELECT 1 WHERE false;
