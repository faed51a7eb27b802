-- The pending-log contract: the two statements the order service calls (docs/integration-contract.md).

-- Step 1 of an order, before any participant is touched: records the transaction as PENDING,
-- due for a check after p_timeout. Idempotent: true if inserted, false if the xid already exists
-- (the existing row and its branches are left exactly as they were).
CREATE FUNCTION compensatord.begin_transaction(p_xid text, p_kind text, p_branches jsonb, p_timeout interval)
  RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  v_branch jsonb;
BEGIN
  IF p_xid IS NULL OR length(p_xid) NOT BETWEEN 1 AND 256 THEN
    RAISE EXCEPTION 'begin_transaction: p_xid must be 1 to 256 characters (got %)', coalesce(length(p_xid)::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_timeout IS NULL OR p_timeout < interval '0' THEN
    RAISE EXCEPTION 'begin_transaction: p_timeout must be a non-negative interval (got %)', coalesce(p_timeout::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_branches IS NULL OR jsonb_typeof(p_branches) <> 'array' THEN
    RAISE EXCEPTION 'begin_transaction: p_branches must be a JSON array of {"participant": ..., "fields": {...}} (got %)',
      coalesce(jsonb_typeof(p_branches), 'NULL') USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR v_branch IN SELECT value FROM jsonb_array_elements(p_branches) LOOP
    IF jsonb_typeof(v_branch) <> 'object' OR jsonb_typeof(v_branch -> 'participant') IS DISTINCT FROM 'string'
       OR length(v_branch ->> 'participant') NOT BETWEEN 1 AND 256
       OR coalesce(jsonb_typeof(v_branch -> 'fields'), 'object') <> 'object' THEN
      RAISE EXCEPTION 'begin_transaction: each element of p_branches must be {"participant": "<1 to 256 characters>", "fields": {...}} (got %)',
        left(v_branch::text, 200) USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END LOOP;

  INSERT INTO compensatord.transactions (xid, kind, source, status, due_at, next_attempt_at)
  VALUES (p_xid, coalesce(p_kind, ''), 'pending_log', 'PENDING', now() + p_timeout, now() + p_timeout)
  ON CONFLICT (xid) DO NOTHING;
  IF NOT FOUND THEN
    RETURN false;
  END IF;

  INSERT INTO compensatord.branches (xid, branch_no, participant, fields)
  SELECT p_xid, (b.ordinality - 1)::integer, b.value ->> 'participant', coalesce(b.value -> 'fields', '{}')
  FROM jsonb_array_elements(p_branches) WITH ORDINALITY AS b;
  RETURN true;
END
$$;

-- Step 4 of an order, inside the order service's own local order transaction: takes the decision
-- confirm if nobody has decided yet. The UPDATE locks the row until the order transaction ends;
-- under READ COMMITTED a concurrent compensatord decide(cancel) either committed first (this
-- UPDATE re-checks status on the new row version, matches nothing, and we return false) or waits
-- for the order transaction and then finds COMMITTED. Whoever takes the row first decides.
--
-- True: the transaction is (now) decided confirm (COMMITTED, CONFIRMING, CONFIRMED, or PARKED
-- after a confirm); commit the order. False: it was decided cancel, or it does not exist; roll
-- the order back. A transaction PARKED before any decision (its check never answered) is still
-- undecided, so the order service may take it too.
CREATE FUNCTION compensatord.commit_transaction(p_xid text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  v_decision text;
BEGIN
  UPDATE compensatord.transactions
     SET status = 'COMMITTED', decision = 'confirm', decided_by = 'order-service', decided_at = now(),
         parked_reason = '', updated_at = now(),
         -- a parked row holds no lease and no schedule: confirm it now
         next_attempt_at = CASE WHEN status = 'PARKED' THEN now() ELSE next_attempt_at END
   WHERE xid = p_xid AND (status = 'PENDING' OR (status = 'PARKED' AND decision IS NULL));
  IF FOUND THEN
    RETURN true;
  END IF;
  SELECT decision INTO v_decision FROM compensatord.transactions WHERE xid = p_xid;
  RETURN coalesce(v_decision = 'confirm', false);
END
$$;
