-- The first writer of an xid wins, and a later writer with other branches is told so. Every source
-- (begin_transaction, Kafka, a legacy log) inserts with ON CONFLICT DO NOTHING, so a Kafka message
-- that arrived before the order service's begin_transaction used to keep its own branches while
-- begin_transaction returned false as for a harmless retry: the branches compensated were not the
-- ones the order service was about to lock. Now an ingest whose branches differ from the recorded
-- ones is refused: begin_transaction raises, the daemon's sources count and log it.

-- A list of branches in a form that compares equal for the same branches in any order: each one as
-- {"participant", "fields"} (fields default {}), sorted. jsonb equality ignores key order and
-- number formatting ({"qty": 2} = {"qty": 2.0}).
CREATE FUNCTION compensatord.branch_set(p_branches jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_agg(b.branch ORDER BY b.branch), '[]')
    FROM (SELECT jsonb_build_object('participant', e.value ->> 'participant',
                                    'fields', coalesce(e.value -> 'fields', '{}')) AS branch
            FROM jsonb_array_elements(p_branches) AS e) AS b
$$;

-- The source of the transaction recorded under p_xid when its branches differ from p_branches;
-- NULL when they are the same (in any order) or the xid is unknown. Call it in a statement of its
-- own after an INSERT ... ON CONFLICT DO NOTHING skipped the row: under READ COMMITTED that
-- statement sees the row of a concurrent writer the INSERT waited for, and its branches (written
-- in the same transaction).
CREATE FUNCTION compensatord.conflicting_source(p_xid text, p_branches jsonb) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT t.source
    FROM compensatord.transactions AS t
   WHERE t.xid = p_xid
     AND compensatord.branch_set((SELECT coalesce(jsonb_agg(jsonb_build_object('participant', r.participant,
                                                                               'fields', r.fields)), '[]')
                                    FROM compensatord.branches AS r
                                   WHERE r.xid = p_xid)) <> compensatord.branch_set(p_branches)
$$;

-- 0004's begin_transaction, with the conflict check: an xid already recorded with the same branches
-- is a retry (false, as before); with other branches it raises SQLSTATE CX001, so the order service
-- stops before it locks anything under an xid whose compensation would follow someone else's list.
CREATE OR REPLACE FUNCTION compensatord.begin_transaction(p_xid text, p_kind text, p_branches jsonb, p_timeout interval)
  RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  v_branch jsonb;
  v_max_branches CONSTANT integer := 64;
  v_recorded_source text;
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
  IF jsonb_array_length(p_branches) > v_max_branches THEN
    RAISE EXCEPTION 'begin_transaction: % branches, more than the limit of % per transaction',
      jsonb_array_length(p_branches), v_max_branches USING ERRCODE = 'invalid_parameter_value';
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
    v_recorded_source := compensatord.conflicting_source(p_xid, p_branches);
    IF v_recorded_source IS NOT NULL THEN
      RAISE EXCEPTION 'begin_transaction: xid % is already recorded with other branches (by %); the recorded ones stand',
        left(p_xid, 100), left(v_recorded_source, 100)
        USING ERRCODE = 'CX001',
              HINT = 'Use a new xid for this order, or the branches it was first recorded with.';
    END IF;
    RETURN false;
  END IF;

  INSERT INTO compensatord.branches (xid, branch_no, participant, fields)
  SELECT p_xid, (b.ordinality - 1)::integer, b.value ->> 'participant', coalesce(b.value -> 'fields', '{}')
  FROM jsonb_array_elements(p_branches) WITH ORDINALITY AS b;
  RETURN true;
END
$$;
