-- An attempt's outcome is one the daemon writes, and one that can come of its action.
--
-- A check ends with the source of truth's verdict; a confirm or cancel call is recorded as
-- started before it is sent and completed with the adapter's outcome, or is skipped when the
-- participant has no action for the decision. The daemon reads the trail back as types
-- (model/attempt.hpp) and refuses a row outside these pairs with an error naming it.
--
-- NOT VALID: new rows and the completion of a started call (an UPDATE) are checked, the rows
-- already in the trail are not scanned. The daemon has only ever written these pairs, and the scan
-- would hold the table's exclusive lock for as long as the trail is long. To check the old rows
-- too, without blocking writes, whenever convenient:
--   ALTER TABLE compensatord.attempts VALIDATE CONSTRAINT attempts_outcome_fits_action;
ALTER TABLE compensatord.attempts
  ADD CONSTRAINT attempts_outcome_fits_action CHECK (
    CASE action
      WHEN 'check' THEN outcome IN ('committed', 'absent', 'unknown')
      ELSE outcome IN ('started', 'skipped', 'done', 'already_done', 'not_found', 'retry', 'fatal')
    END) NOT VALID;
