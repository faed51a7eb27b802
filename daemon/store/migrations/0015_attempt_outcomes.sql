-- An attempt's outcome is one the daemon writes, and one that can come of its action.
--
-- A check ends with the source of truth's verdict; a confirm or cancel call is recorded as
-- started before it is sent and completed with the adapter's outcome, or is skipped when the
-- participant has no action for the decision. The daemon reads the trail back as types
-- (model/attempt.hpp): a row outside these pairs could be shown to no operator. The constraint
-- also holds for the completion of a started call (an UPDATE).
ALTER TABLE compensatord.attempts
  ADD CONSTRAINT attempts_outcome_fits_action CHECK (
    CASE action
      WHEN 'check' THEN outcome IN ('committed', 'absent', 'unknown')
      ELSE outcome IN ('started', 'skipped', 'done', 'already_done', 'not_found', 'retry', 'fatal')
    END);
