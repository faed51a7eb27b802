-- Retention (daemon/retention/): the job deletes finished transactions older than
-- retention.finished_after and, when an operator turns it on, parked ones older than
-- retention.parked_after, oldest first, a small batch per statement. Each batch must find its rows
-- without reading the history it keeps: with ten million finished rows a sequential scan per batch
-- would hog the database the job is meant to spare. Hence two partial indexes, one per limit, whose
-- key is the age the limit counts from.
--
-- Why partial, and why they cost the reconciler almost nothing: an active row (PENDING,
-- COMMITTED, CONFIRMING, CANCELLING) is in neither index, so the claims, decisions and lease
-- renewals that rewrite it add no entry to them (those updates already change next_attempt_at, the
-- key of transactions_due, so none of them was a HOT update before either). A row gets one entry
-- when its write-back finishes or parks it, and the job's DELETE removes it.
--
-- Finished (CONFIRMED, CANCELLED): by finished_at, which the write-back sets when it finishes the
-- row and nothing changes afterwards (admin_retry and admin_decide refuse finished rows).
--
-- Parked (PARKED, and ABANDONED from 0010 on, which is parked work an operator gave up on): by
-- updated_at. finished_at is NULL on a PARKED row (the write-back sets it only for CONFIRMED and
-- CANCELLED), while updated_at is the time the row was parked: nothing rewrites a parked row but
-- an operator's retry or decision, or the order service's commit_transaction, and each of those
-- moves it out of PARKED. A later change that touches a parked row without moving it (an
-- operator's note, say) restarts its clock, which errs on the side of keeping it. ABANDONED rows
-- also carry finished_at, but one clock for both statuses keeps one index and one statement.
--
-- On a large existing table CREATE INDEX blocks writes to transactions while it builds (seconds per
-- million rows). Migrations run in a transaction, so they cannot build it CONCURRENTLY; an operator
-- with a long history can run both statements below with CREATE INDEX CONCURRENTLY before upgrading,
-- and this migration then changes nothing (docs/operations.md, Retention).
CREATE INDEX IF NOT EXISTS transactions_finished_retention ON compensatord.transactions (finished_at)
  WHERE status IN ('CONFIRMED', 'CANCELLED');

CREATE INDEX IF NOT EXISTS transactions_parked_retention ON compensatord.transactions (updated_at)
  WHERE status IN ('PARKED', 'ABANDONED');
