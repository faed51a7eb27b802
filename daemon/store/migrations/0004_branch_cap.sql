-- The branch cap (compensatord::kMaxBranches in daemon/model/transaction.hpp, 64): a transaction
-- is reconciled as one unit within one lease, so begin_transaction refuses more branches than
-- that, like every other source. The function is 0002's with one check added, before the
-- elements are looked at, so a huge array costs nothing.

CREATE OR REPLACE FUNCTION compensatord.begin_transaction(p_xid text, p_kind text, p_branches jsonb, p_timeout interval)
  RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  v_branch jsonb;
  v_max_branches CONSTANT integer := 64;
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
    RETURN false;
  END IF;

  INSERT INTO compensatord.branches (xid, branch_no, participant, fields)
  SELECT p_xid, (b.ordinality - 1)::integer, b.value ->> 'participant', coalesce(b.value -> 'fields', '{}')
  FROM jsonb_array_elements(p_branches) WITH ORDINALITY AS b;
  RETURN true;
END
$$;
