-- A reconcile's write-back in one statement, so one round trip: the transaction rows, the
-- branches of exactly those rows whose write-back went through, and every attempt. Statement by
-- statement over the wire it took five round trips (BEGIN, three statements, COMMIT), each a
-- wake-up of this server and of the daemon; under load those waits, not the work, were most of a
-- write-back's time. Called in autocommit: the function is one transaction, all or nothing.
--
-- p_rows:     [{xid, owner, token, expected, status, attempt_count, last_error, last_http_status,
--               parked_reason, requeue_ms}]
-- p_branches: [{xid, branch_no, status, outcome, error, http_status}]
-- p_attempts: [{xid, branch_no, action, replica, started_us, request_summary, outcome, http_status,
--               latency_ms, error}], appended in order
-- Returns the xids written; the others lost their lease and got only their attempts.
--
-- Every row write is fenced: the row is still the caller's, under this claim's token, and its
-- lease has not run out by this server's clock. The new status applies only if the row is still in
-- the status the reconcile acted on (`expected`): the order service may have moved it from PENDING
-- to COMMITTED under the lease; then status and parked reason stay, the row is due at once so that
-- the next reconcile sees the commit, and the diagnostics are still recorded. `xid = ANY (...)`
-- makes every lookup a primary-key one, whatever the size of the finished history.
CREATE FUNCTION compensatord.write_back(p_rows jsonb, p_branches jsonb, p_attempts jsonb)
  RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  v_written text[];
  v_wanted bigint;
  v_updated bigint;
BEGIN
  WITH written AS (
    UPDATE compensatord.transactions AS t
       SET status = CASE WHEN t.status = r.expected THEN r.status ELSE t.status END,
           parked_reason = CASE WHEN t.status = r.expected THEN r.parked_reason ELSE t.parked_reason END,
           next_attempt_at = CASE
             WHEN t.status <> r.expected THEN now()
             WHEN r.status IN ('PENDING', 'COMMITTED', 'CONFIRMING', 'CANCELLING')
               THEN now() + r.requeue_ms * interval '1 millisecond'
             ELSE t.next_attempt_at END,
           finished_at = CASE
             WHEN t.status <> r.expected THEN t.finished_at
             WHEN r.status IN ('CONFIRMED', 'CANCELLED') THEN now() END,
           attempt_count = r.attempt_count, last_error = r.last_error, last_http_status = r.last_http_status,
           lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = now()
      FROM jsonb_to_recordset(p_rows) AS r(xid text, owner text, token bigint, expected text, status text,
                                           attempt_count integer, last_error text, last_http_status integer,
                                           parked_reason text, requeue_ms bigint)
     WHERE t.xid = r.xid AND t.xid = ANY (ARRAY(SELECT e ->> 'xid' FROM jsonb_array_elements(p_rows) AS e))
       AND t.lease_owner = r.owner AND t.lease_token = r.token AND t.lease_expires_at > now()
    RETURNING t.xid)
  SELECT coalesce(array_agg(xid), '{}') INTO v_written FROM written;

  SELECT count(*) INTO v_wanted FROM jsonb_to_recordset(p_branches) AS u(xid text) WHERE u.xid = ANY (v_written);
  UPDATE compensatord.branches AS b
     SET status = u.status, last_outcome = u.outcome, attempt_count = b.attempt_count + 1, last_error = u.error,
         last_http_status = u.http_status, updated_at = now()
    FROM jsonb_to_recordset(p_branches)
         AS u(xid text, branch_no integer, status text, outcome text, error text, http_status integer)
   WHERE b.xid = u.xid AND b.branch_no = u.branch_no AND b.xid = ANY (v_written);
  GET DIAGNOSTICS v_updated = ROW_COUNT;
  IF v_updated <> v_wanted THEN
    RAISE EXCEPTION '% branch updates, but % match a branch of the transaction (unknown or repeated branch number)',
      v_wanted, v_updated USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- Written whether or not the lease held: a call that happened is evidence.
  INSERT INTO compensatord.attempts
         (xid, branch_no, action, replica, started_at, request_summary, outcome, http_status, latency_ms, error)
  SELECT a.value ->> 'xid', (a.value ->> 'branch_no')::integer, a.value ->> 'action', a.value ->> 'replica',
         'epoch'::timestamptz + (a.value ->> 'started_us')::bigint * interval '1 microsecond',
         a.value ->> 'request_summary', a.value ->> 'outcome', (a.value ->> 'http_status')::integer,
         (a.value ->> 'latency_ms')::bigint, a.value ->> 'error'
    FROM jsonb_array_elements(p_attempts) WITH ORDINALITY AS a
   ORDER BY a.ordinality;

  RETURN QUERY SELECT unnest(v_written);
END $$;
