-- Operators list transactions (`GET /v1/transactions`) and abandon those a human has taken over
-- (`POST /v1/transactions/{xid}/abandon`).
--
-- ABANDONED: an operator stopped compensatord's work on the transaction (a human finishes it by
-- hand). No replica claims it (it is outside transactions_due), it stays visible with its branches,
-- attempts and the audit row, and it keeps whatever decision it had. An order service that commits
-- an undecided abandoned transaction is told false (roll the order back), as for an unknown xid:
-- nothing may confirm what a human now owns. A retry puts it back in motion like a parked one.
ALTER TABLE compensatord.transactions DROP CONSTRAINT transactions_status_name;
ALTER TABLE compensatord.transactions ADD CONSTRAINT transactions_status_name CHECK (
  status IN ('PENDING', 'COMMITTED', 'CONFIRMING', 'CANCELLING', 'CONFIRMED', 'CANCELLED', 'PARKED', 'ABANDONED'));

-- The list pages in xid order (keyset: `xid > after`, never OFFSET). Without a status filter, or
-- for the finished statuses that make up nearly all of a long history, the primary key serves it.
-- A status that is rare among millions of finished rows (the backlog, parked and abandoned ones)
-- would make that scan read the whole history to fill a page: this index holds only those rows, so
-- its size is the work left, not the history, like transactions_due.
CREATE INDEX transactions_unfinished_by_status ON compensatord.transactions (status, xid)
  WHERE status IN ('PENDING', 'COMMITTED', 'CONFIRMING', 'CANCELLING', 'PARKED', 'ABANDONED');

-- The operator's view gains the finish time: abandoning sets it, a retry clears it.
CREATE OR REPLACE FUNCTION compensatord.admin_view(p_xid text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
           'status', t.status, 'decision', t.decision, 'attempt_count', t.attempt_count,
           'next_attempt_at', t.next_attempt_at, 'parked_reason', t.parked_reason, 'finished_at', t.finished_at,
           'fatal_branches', coalesce((SELECT jsonb_agg(b.branch_no ORDER BY b.branch_no) FROM compensatord.branches AS b
                                        WHERE b.xid = t.xid AND b.status = 'fatal'), '[]'::jsonb))
    FROM compensatord.transactions AS t WHERE t.xid = p_xid
$$;

-- As in 0009, and an abandoned transaction is retried like a parked one: back to the status its
-- decision implies.
CREATE OR REPLACE FUNCTION compensatord.admin_retry(p_xid text, p_actor text, p_reason text)
  RETURNS TABLE (outcome text, status text) LANGUAGE plpgsql AS $$
DECLARE
  v_row compensatord.transactions%ROWTYPE;
  v_before jsonb;
  v_status text;
BEGIN
  SELECT * INTO v_row FROM compensatord.transactions AS t WHERE t.xid = p_xid FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'unknown'::text, NULL::text;
    RETURN;
  END IF;
  IF v_row.status IN ('CONFIRMED', 'CANCELLED') THEN
    RETURN QUERY SELECT 'finished'::text, v_row.status;
    RETURN;
  END IF;
  IF v_row.lease_owner IS NOT NULL AND v_row.lease_expires_at > now() THEN
    RETURN QUERY SELECT 'in_flight'::text, v_row.status;
    RETURN;
  END IF;
  v_before := compensatord.admin_view(p_xid);
  v_status := CASE
    WHEN v_row.status NOT IN ('PARKED', 'ABANDONED') THEN v_row.status
    WHEN v_row.decision IS NULL THEN 'PENDING'
    WHEN v_row.decision = 'confirm' THEN 'CONFIRMING'
    ELSE 'CANCELLING' END;
  UPDATE compensatord.branches AS b SET status = 'waiting', updated_at = now()
   WHERE b.xid = p_xid AND b.status = 'fatal';
  -- Clearing the lease fences off a replica whose lease lapsed: its token no longer matches.
  UPDATE compensatord.transactions AS t
     SET status = v_status, parked_reason = '', attempt_count = 0, next_attempt_at = now(), retried_at = now(),
         finished_at = NULL, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = now()
   WHERE t.xid = p_xid;
  INSERT INTO compensatord.admin_actions (xid, action, actor, reason, before, after)
  VALUES (p_xid, 'retry', p_actor, p_reason, v_before, compensatord.admin_view(p_xid));
  RETURN QUERY SELECT 'retried'::text, v_status;
END $$;

-- As in 0009; a decision taken for an undecided abandoned transaction also clears its finish time.
CREATE OR REPLACE FUNCTION compensatord.admin_decide(p_xid text, p_decision text, p_actor text, p_reason text)
  RETURNS TABLE (outcome text, status text, decision text) LANGUAGE plpgsql AS $$
DECLARE
  v_row compensatord.transactions%ROWTYPE;
  v_before jsonb;
  v_status text := CASE p_decision WHEN 'confirm' THEN 'CONFIRMING' WHEN 'cancel' THEN 'CANCELLING' END;
BEGIN
  IF v_status IS NULL THEN
    RAISE EXCEPTION 'decision must be confirm or cancel' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO v_row FROM compensatord.transactions AS t WHERE t.xid = p_xid FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'unknown'::text, NULL::text, NULL::text;
    RETURN;
  END IF;
  IF v_row.decision IS NOT NULL THEN
    RETURN QUERY SELECT 'already_decided'::text, v_row.status, v_row.decision;
    RETURN;
  END IF;
  IF v_row.lease_owner IS NOT NULL AND v_row.lease_expires_at > now() THEN
    RETURN QUERY SELECT 'in_flight'::text, v_row.status, v_row.decision;
    RETURN;
  END IF;
  v_before := compensatord.admin_view(p_xid);
  UPDATE compensatord.branches AS b SET status = 'waiting', updated_at = now()
   WHERE b.xid = p_xid AND b.status = 'fatal';
  UPDATE compensatord.transactions AS t
     SET status = v_status, decision = p_decision, decided_by = p_actor, decided_at = now(), parked_reason = '',
         attempt_count = 0, next_attempt_at = now(), retried_at = now(), finished_at = NULL,
         lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = now()
   WHERE t.xid = p_xid;
  INSERT INTO compensatord.admin_actions (xid, action, actor, reason, before, after)
  VALUES (p_xid, 'decide', p_actor, p_reason, v_before, compensatord.admin_view(p_xid));
  RETURN QUERY SELECT 'decided'::text, v_status, p_decision;
END $$;

-- Stops compensatord's work on a transaction that is not finished: it becomes ABANDONED with
-- finished_at set, keeps its decision and branches, and no replica claims it again. Returns one row:
-- outcome 'abandoned', 'unknown', 'finished' (confirmed, cancelled or already abandoned: status says
-- which) or 'in_flight' (a replica's lease holds: it may be calling participants right now), and the
-- status afterwards.
CREATE FUNCTION compensatord.admin_abandon(p_xid text, p_actor text, p_reason text)
  RETURNS TABLE (outcome text, status text) LANGUAGE plpgsql AS $$
DECLARE
  v_row compensatord.transactions%ROWTYPE;
  v_before jsonb;
BEGIN
  SELECT * INTO v_row FROM compensatord.transactions AS t WHERE t.xid = p_xid FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'unknown'::text, NULL::text;
    RETURN;
  END IF;
  IF v_row.status IN ('CONFIRMED', 'CANCELLED', 'ABANDONED') THEN
    RETURN QUERY SELECT 'finished'::text, v_row.status;
    RETURN;
  END IF;
  IF v_row.lease_owner IS NOT NULL AND v_row.lease_expires_at > now() THEN
    RETURN QUERY SELECT 'in_flight'::text, v_row.status;
    RETURN;
  END IF;
  v_before := compensatord.admin_view(p_xid);
  UPDATE compensatord.transactions AS t
     SET status = 'ABANDONED', finished_at = now(),
         lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = now()
   WHERE t.xid = p_xid;
  INSERT INTO compensatord.admin_actions (xid, action, actor, reason, before, after)
  VALUES (p_xid, 'abandon', p_actor, p_reason, v_before, compensatord.admin_view(p_xid));
  RETURN QUERY SELECT 'abandoned'::text, 'ABANDONED'::text;
END $$;
