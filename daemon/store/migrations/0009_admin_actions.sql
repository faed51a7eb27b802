-- Operators act on transactions through the API (`POST /v1/transactions/{xid}/retry` and
-- `/decide`), never with a hand-written UPDATE: each action is one function that takes the row's
-- lock, fences off any replica still holding a lapsed lease, and leaves an audit row.
--
-- retried_at: when an operator last retried the transaction. The age limit (retry.max_age) counts
-- from it instead of created_at, so a retried transaction gets its full retry budget again.
ALTER TABLE compensatord.transactions ADD COLUMN retried_at timestamptz;

-- Every admin action, append-only like the attempts: who (the API token's name), when, what,
-- why, and the transaction before and after.
CREATE TABLE compensatord.admin_actions (
  id     bigserial PRIMARY KEY,
  xid    text NOT NULL REFERENCES compensatord.transactions (xid) ON DELETE CASCADE,
  action text NOT NULL CONSTRAINT admin_actions_action_name CHECK (action IN ('retry', 'decide', 'abandon')),
  actor  text NOT NULL CONSTRAINT admin_actions_actor_length CHECK (length(actor) BETWEEN 1 AND 256),
  reason text NOT NULL DEFAULT '' CONSTRAINT admin_actions_reason_length CHECK (length(reason) <= 4096),
  at     timestamptz NOT NULL DEFAULT now(),
  before jsonb NOT NULL,
  after  jsonb NOT NULL
);
CREATE INDEX admin_actions_by_xid ON compensatord.admin_actions (xid, id);

CREATE FUNCTION compensatord.admin_actions_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'compensatord.admin_actions is append-only: admin action % cannot be updated', OLD.id
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER admin_actions_append_only BEFORE UPDATE ON compensatord.admin_actions
  FOR EACH ROW EXECUTE FUNCTION compensatord.admin_actions_are_append_only();

-- What an operator sees of a transaction before and after an action.
CREATE FUNCTION compensatord.admin_view(p_xid text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
           'status', t.status, 'decision', t.decision, 'attempt_count', t.attempt_count,
           'next_attempt_at', t.next_attempt_at, 'parked_reason', t.parked_reason,
           'fatal_branches', coalesce((SELECT jsonb_agg(b.branch_no ORDER BY b.branch_no) FROM compensatord.branches AS b
                                        WHERE b.xid = t.xid AND b.status = 'fatal'), '[]'::jsonb))
    FROM compensatord.transactions AS t WHERE t.xid = p_xid
$$;

-- Makes a parked or backing-off transaction due now, keeping its decision: a parked one returns to
-- the status its decision implies (PENDING, CONFIRMING or CANCELLING), its fatal branches wait
-- again, its attempt count and age restart. Returns one row: outcome 'retried', 'unknown' (no such
-- xid), 'finished' (confirmed or cancelled: nothing to retry) or 'in_flight' (a replica holds an
-- unexpired lease on it: it is being worked on now), and the status afterwards.
CREATE FUNCTION compensatord.admin_retry(p_xid text, p_actor text, p_reason text)
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
    WHEN v_row.status <> 'PARKED' THEN v_row.status
    WHEN v_row.decision IS NULL THEN 'PENDING'
    WHEN v_row.decision = 'confirm' THEN 'CONFIRMING'
    ELSE 'CANCELLING' END;
  UPDATE compensatord.branches AS b SET status = 'waiting', updated_at = now()
   WHERE b.xid = p_xid AND b.status = 'fatal';
  -- Clearing the lease fences off a replica whose lease lapsed: its token no longer matches.
  UPDATE compensatord.transactions AS t
     SET status = v_status, parked_reason = '', attempt_count = 0, next_attempt_at = now(), retried_at = now(),
         lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = now()
   WHERE t.xid = p_xid;
  INSERT INTO compensatord.admin_actions (xid, action, actor, reason, before, after)
  VALUES (p_xid, 'retry', p_actor, p_reason, v_before, compensatord.admin_view(p_xid));
  RETURN QUERY SELECT 'retried'::text, v_status;
END $$;

-- An operator's decision for a transaction that has none yet (PENDING, or parked before any check
-- answered), by the same compare-and-set as the reconciler's: the row is locked, and a decision
-- already taken (by a replica, or the order service's commit_transaction) stands and is returned.
-- The transaction is then due at once to call its participants. Returns one row: outcome 'decided',
-- 'unknown', 'already_decided' (decision: the one in force) or 'in_flight' (a replica's lease holds:
-- it may be deciding right now), and the status and decision afterwards.
CREATE FUNCTION compensatord.admin_decide(p_xid text, p_decision text, p_actor text, p_reason text)
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
         attempt_count = 0, next_attempt_at = now(), retried_at = now(),
         lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = now()
   WHERE t.xid = p_xid;
  INSERT INTO compensatord.admin_actions (xid, action, actor, reason, before, after)
  VALUES (p_xid, 'decide', p_actor, p_reason, v_before, compensatord.admin_view(p_xid));
  RETURN QUERY SELECT 'decided'::text, v_status, p_decision;
END $$;
