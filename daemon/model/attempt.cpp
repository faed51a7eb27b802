#include "model/attempt.hpp"

#include "model/names.hpp"

namespace compensatord {
namespace {

constexpr names::Table<AttemptAction, 3> kActionNames{
    {{AttemptAction::Check, "check"}, {AttemptAction::Confirm, "confirm"}, {AttemptAction::Cancel, "cancel"}}};
constexpr names::Table<CallProgress, 2> kProgressNames{
    {{CallProgress::Started, "started"}, {CallProgress::Skipped, "skipped"}}};

}  // namespace

AttemptAction action_of(Decision d) { return d == Decision::Confirm ? AttemptAction::Confirm : AttemptAction::Cancel; }

bool fits(AttemptAction action, const AttemptOutcome& outcome) {
  return (action == AttemptAction::Check) == std::holds_alternative<CheckVerdict>(outcome);
}

std::string_view to_string(AttemptAction a) { return names::name_of(kActionNames, a); }
std::string_view to_string(CallProgress p) { return names::name_of(kProgressNames, p); }
std::string_view to_string(const AttemptOutcome& o) {
  return std::visit([](auto value) { return to_string(value); }, o);
}

std::optional<AttemptAction> parse_attempt_action(std::string_view s) { return names::value_of(kActionNames, s); }

std::optional<AttemptOutcome> parse_attempt_outcome(AttemptAction action, std::string_view s) {
  if (action == AttemptAction::Check) {
    if (auto verdict = parse_check_verdict(s)) return *verdict;
    return std::nullopt;
  }
  if (auto outcome = parse_outcome(s)) return *outcome;
  if (auto progress = names::value_of(kProgressNames, s)) return *progress;
  return std::nullopt;
}

}  // namespace compensatord
