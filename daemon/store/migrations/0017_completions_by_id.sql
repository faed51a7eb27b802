-- The write-back completes started calls by their ids, however long the trail grows.
--
-- The completion of started calls (0008) joined the batch's answers to compensatord.attempts on
-- the id. PL/pgSQL keeps a statement's plan on a connection, and a plan made while the trail was
-- short (a fresh deployment, the start of a drain, statistics not yet gathered) hashed the batch
-- and read the whole primary key of the trail for the rows still `started`: each write-back then
-- read every row of the trail, 60,000 at the end of a 20,000-transaction drain, 30 to 60 ms a
-- write-back, and growing with the trail until the plan was made again. The statement now also
-- names the ids it completes (`s.id = ANY (...)`), the form the transaction rows' update already
-- had: an index condition on the primary key that every plan uses, whatever the statistics say.
-- The rest of the function is 0008's; `enable_seqscan = off` (0012) is restated because replacing
-- a function resets its settings.
CREATE OR REPLACE FUNCTION compensatord.write_back(p_rows jsonb, p_branches jsonb, p_attempts jsonb)
  RETURNS SETOF text LANGUAGE plpgsql SET enable_seqscan = off AS $$
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
     AND s.outcome = 'started'
     AND s.id = ANY (ARRAY(SELECT (a.value ->> 'id')::bigint FROM jsonb_array_elements(p_attempts) AS a
                            WHERE a.value ? 'id'));
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
