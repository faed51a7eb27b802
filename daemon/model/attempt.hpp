#pragma once
// The audit trail's words as types: what an attempt did and what came of it.

#include "model/transaction.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace compensatord {

// What one attempt did: asked the source of truth whether the transaction committed (check), or
// carried out the decision on one branch (confirm, cancel).
enum class AttemptAction { Check, Confirm, Cancel };

// The action that carries out a decision on a branch.
AttemptAction action_of(Decision d);

// Where a participant call stands when there is no answer to record: written before it is sent
// (started), or never sent because the participant has no action for the decision (skipped).
enum class CallProgress { Started, Skipped };

// What came of an attempt: a check's verdict, a call's outcome, or a call's progress.
using AttemptOutcome = std::variant<CheckVerdict, Outcome, CallProgress>;

inline constexpr AttemptOutcome kCallStarted{CallProgress::Started};

// True when `outcome` can come of `action`: a verdict of a check, an outcome or a progress of a call.
bool fits(AttemptAction action, const AttemptOutcome& outcome);

std::string_view to_string(AttemptAction a);
std::string_view to_string(CallProgress p);
std::string_view to_string(const AttemptOutcome& o);
std::optional<AttemptAction> parse_attempt_action(std::string_view s);
// An outcome as the trail spells it, read for the action it came of; nullopt when it cannot come of it.
std::optional<AttemptOutcome> parse_attempt_outcome(AttemptAction action, std::string_view s);

// One try of a check or an action in the audit trail. A participant call is recorded when it
// starts (outcome kCallStarted) and that row is completed with the answer.
struct Attempt {
  std::string xid;
  std::optional<int> branch_no;  // nullopt for a check
  AttemptAction action = AttemptAction::Check;
  std::string replica;
  TimePoint started_at;
  std::string request_summary;  // "POST http://stock/api/stock/rollback/ORD-1" — never headers or secrets
  AttemptOutcome outcome = CheckVerdict::Unknown;
  std::optional<int> http_status;
  std::chrono::milliseconds latency{0};
  std::string error;
  std::optional<std::int64_t> id;  // the trail's row: set when it completes a started call
};

}  // namespace compensatord
