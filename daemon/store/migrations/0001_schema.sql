-- compensatord's state: transactions, their branches, and the append-only audit trail of attempts.
-- Status and decision names are those of daemon/model/transaction.hpp.

CREATE TABLE compensatord.transactions (
  xid              text PRIMARY KEY CONSTRAINT transactions_xid_length CHECK (length(xid) BETWEEN 1 AND 256),
  kind             text NOT NULL DEFAULT '' CONSTRAINT transactions_kind_length CHECK (length(kind) <= 256),
  source           text NOT NULL DEFAULT '' CONSTRAINT transactions_source_length CHECK (length(source) <= 512),
  status           text NOT NULL DEFAULT 'PENDING' CONSTRAINT transactions_status_name CHECK (
                     status IN ('PENDING', 'COMMITTED', 'CONFIRMING', 'CANCELLING', 'CONFIRMED', 'CANCELLED', 'PARKED')),
  decision         text CONSTRAINT transactions_decision_name CHECK (decision IN ('confirm', 'cancel')),
  decided_by       text,
  decided_at       timestamptz,
  due_at           timestamptz NOT NULL,
  next_attempt_at  timestamptz NOT NULL,
  attempt_count    integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
  last_error       text NOT NULL DEFAULT '',
  last_http_status integer,
  parked_reason    text NOT NULL DEFAULT '',
  lease_owner      text,
  lease_expires_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  -- The decision is taken once and the status must agree with it, whoever writes the row
  -- (the reconciler, commit_transaction, an operator with psql). PARKED keeps whatever it had.
  CONSTRAINT transactions_status_matches_decision CHECK (CASE status
    WHEN 'PENDING' THEN decision IS NULL
    WHEN 'COMMITTED' THEN decision IS NOT DISTINCT FROM 'confirm'
    WHEN 'CONFIRMING' THEN decision IS NOT DISTINCT FROM 'confirm'
    WHEN 'CONFIRMED' THEN decision IS NOT DISTINCT FROM 'confirm'
    WHEN 'CANCELLING' THEN decision IS NOT DISTINCT FROM 'cancel'
    WHEN 'CANCELLED' THEN decision IS NOT DISTINCT FROM 'cancel'
    ELSE true END)
);

-- Why the claim is encoded in next_attempt_at, and why this index is partial:
--
-- A claim must cost the same with a thousand rows or ten million, nearly all of them finished.
-- A claim therefore reads exactly one range of one small index:
--   WHERE status IN (<active>) AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT n
-- The index holds only active rows (PENDING, COMMITTED, CONFIRMING, CANCELLING): CONFIRMED,
-- CANCELLED and PARKED rows leave it when they are written, so its size is the backlog, not
-- the history. A lease needs no second predicate: claiming sets next_attempt_at to the lease
-- expiry (and lease_owner/lease_expires_at for the record), which moves the row out of the due
-- range until the lease expires. An expired lease is simply due again, so the rows of a dead
-- replica come back without a sweeper, and a live replica's rows are never scanned. Writing a
-- result sets next_attempt_at to the requeue time (backoff) and clears the lease.
CREATE INDEX transactions_due ON compensatord.transactions (next_attempt_at)
  WHERE status IN ('PENDING', 'COMMITTED', 'CONFIRMING', 'CANCELLING');

CREATE TABLE compensatord.branches (
  xid              text NOT NULL REFERENCES compensatord.transactions (xid) ON DELETE CASCADE,
  branch_no        integer NOT NULL CHECK (branch_no >= 0),
  participant      text NOT NULL CONSTRAINT branches_participant_length CHECK (length(participant) BETWEEN 1 AND 256),
  fields           jsonb NOT NULL DEFAULT '{}' CONSTRAINT branches_fields_object CHECK (jsonb_typeof(fields) = 'object'),
  status           text NOT NULL DEFAULT 'waiting' CONSTRAINT branches_status_name CHECK (
                     status IN ('waiting', 'done', 'fatal')),
  last_outcome     text CONSTRAINT branches_last_outcome_name CHECK (
                     last_outcome IN ('done', 'already_done', 'not_found', 'retry', 'fatal')),
  attempt_count    integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
  last_error       text NOT NULL DEFAULT '',
  last_http_status integer,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (xid, branch_no)
);

CREATE TABLE compensatord.attempts (
  id              bigserial PRIMARY KEY,
  xid             text NOT NULL REFERENCES compensatord.transactions (xid) ON DELETE CASCADE,
  branch_no       integer,  -- NULL for a check: it concerns the whole transaction
  action          text NOT NULL CONSTRAINT attempts_action_name CHECK (action IN ('check', 'confirm', 'cancel')),
  replica         text NOT NULL DEFAULT '',
  started_at      timestamptz NOT NULL,
  request_summary text NOT NULL DEFAULT '',
  outcome         text NOT NULL,
  http_status     integer,
  latency_ms      bigint NOT NULL DEFAULT 0 CHECK (latency_ms >= 0),
  error           text NOT NULL DEFAULT '',
  CONSTRAINT attempts_branch_only_for_actions CHECK ((action = 'check') = (branch_no IS NULL)),
  FOREIGN KEY (xid, branch_no) REFERENCES compensatord.branches (xid, branch_no) ON DELETE CASCADE
);

CREATE INDEX attempts_by_xid ON compensatord.attempts (xid, id);

-- The audit trail is append-only: an attempt, once written, is evidence and is never rewritten.
-- (Rows still go away with their transaction, for retention.)
CREATE FUNCTION compensatord.attempts_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'compensatord.attempts is append-only: attempt % cannot be updated', OLD.id
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER attempts_append_only BEFORE UPDATE ON compensatord.attempts
  FOR EACH ROW EXECUTE FUNCTION compensatord.attempts_are_append_only();
