-- A participant call is in the audit trail before it is sent. Until now an attempt row was written
-- with the write-back, after the answer: a replica killed while its calls were in flight left calls
-- that happened at the participant and nowhere in the trail. Now a reconcile first records each
-- call it is about to make as an attempt with outcome 'started' (fenced by its lease: a replica
-- that lost the row records nothing and calls nothing), and its write-back completes that same row
-- with the answer. A row left 'started' is a call whose answer was never recorded: the replica died
-- or stopped before its write-back.
--
-- The trail stays evidence: a row is written once and completed at most once, from 'started' to
-- its outcome, with the answer's columns only. Nothing else is ever rewritten.

-- The trigger fires only for an update that is not such a completion (a WHEN condition costs no
-- function call, and every call's completion passes through here).
CREATE OR REPLACE FUNCTION compensatord.attempts_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'compensatord.attempts is append-only: attempt % cannot be updated', OLD.id
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'only a started call (outcome ''started'') is completed, once, with its answer';
END
$$;

DROP TRIGGER attempts_append_only ON compensatord.attempts;
CREATE TRIGGER attempts_append_only BEFORE UPDATE ON compensatord.attempts
  FOR EACH ROW
  WHEN (NOT (OLD.outcome = 'started' AND NEW.outcome <> 'started'
             AND (NEW.id, NEW.xid, NEW.branch_no, NEW.action, NEW.replica, NEW.started_at)
                 IS NOT DISTINCT FROM (OLD.id, OLD.xid, OLD.branch_no, OLD.action, OLD.replica, OLD.started_at)))
  EXECUTE FUNCTION compensatord.attempts_are_append_only();

-- The write-back of 0005, plus: an attempt with an `id` completes that started call instead of
-- appending a row. p_attempts: [{id?, xid, branch_no, action, replica, started_us, request_summary,
-- outcome, http_status, latency_ms, error}]. Completions, like appends, do not depend on the
-- lease: a call that happened is evidence, whoever holds the row now.
CREATE OR REPLACE FUNCTION compensatord.write_back(p_rows jsonb, p_branches jsonb, p_attempts jsonb)
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

  SELECT count(*) INTO v_wanted FROM jsonb_array_elements(p_attempts) AS a WHERE a.value ? 'id';
  UPDATE compensatord.attempts AS s
     SET request_summary = c.request_summary, outcome = c.outcome, http_status = c.http_status,
         latency_ms = c.latency_ms, error = c.error
    FROM jsonb_to_recordset(p_attempts)
         AS c(id bigint, xid text, branch_no integer, action text, request_summary text, outcome text,
              http_status integer, latency_ms bigint, error text)
   WHERE c.id IS NOT NULL AND s.id = c.id AND s.xid = c.xid AND s.branch_no = c.branch_no AND s.action = c.action
     AND s.outcome = 'started';
  GET DIAGNOSTICS v_updated = ROW_COUNT;
  IF v_updated <> v_wanted THEN
    RAISE EXCEPTION '% call completions, but % match a started call of the transaction', v_wanted, v_updated
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  INSERT INTO compensatord.attempts
         (xid, branch_no, action, replica, started_at, request_summary, outcome, http_status, latency_ms, error)
  SELECT a.value ->> 'xid', (a.value ->> 'branch_no')::integer, a.value ->> 'action', a.value ->> 'replica',
         'epoch'::timestamptz + (a.value ->> 'started_us')::bigint * interval '1 microsecond',
         a.value ->> 'request_summary', a.value ->> 'outcome', (a.value ->> 'http_status')::integer,
         (a.value ->> 'latency_ms')::bigint, a.value ->> 'error'
    FROM jsonb_array_elements(p_attempts) WITH ORDINALITY AS a
   WHERE NOT a.value ? 'id'
   ORDER BY a.ordinality;

  RETURN QUERY SELECT unnest(v_written);
END $$;
