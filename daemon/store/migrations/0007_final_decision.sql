-- One decision, enforced by the database rather than by every writer's WHERE clause.
--
-- transactions_status_matches_decision (0001) keeps the status in line with the decision, but it
-- allows an UPDATE from cancel to confirm (with a matching status): an operator's psql, a bug, or
-- an order service holding UPDATE on the table could turn a cancelled order into a confirmed one
-- after participants were told to cancel. A decision, once taken, now never changes.
CREATE FUNCTION compensatord.decision_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'transaction %: the decision % is final and cannot become %', left(OLD.xid, 100), OLD.decision,
    coalesce(NEW.decision, 'NULL') USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER transactions_decision_is_final BEFORE UPDATE ON compensatord.transactions
  FOR EACH ROW WHEN (OLD.decision IS NOT NULL AND NEW.decision IS DISTINCT FROM OLD.decision)
  EXECUTE FUNCTION compensatord.decision_is_final();

-- The order service needs no privilege on the tables: the two functions it calls run as their
-- owner (compensatord's role), and it is granted EXECUTE on them only (docs/integration-contract.md).
-- A fixed search_path keeps a caller's own objects (a table or function named like ours in a schema
-- of its search_path, or pg_temp) out of functions that run with the owner's privileges.
ALTER FUNCTION compensatord.begin_transaction(text, text, jsonb, interval)
  SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION compensatord.commit_transaction(text)
  SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
-- Functions are executable by PUBLIC by default; these two write with the owner's privileges, so
-- only the roles granted EXECUTE may call them.
REVOKE EXECUTE ON FUNCTION compensatord.begin_transaction(text, text, jsonb, interval) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION compensatord.commit_transaction(text) FROM PUBLIC;
