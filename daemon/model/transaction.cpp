#include "model/transaction.hpp"

#include "model/names.hpp"

namespace compensatord {
namespace {

constexpr names::Table<Status, 8> kStatusNames{{{Status::Pending, "PENDING"},
                                                {Status::Committed, "COMMITTED"},
                                                {Status::Confirming, "CONFIRMING"},
                                                {Status::Cancelling, "CANCELLING"},
                                                {Status::Confirmed, "CONFIRMED"},
                                                {Status::Cancelled, "CANCELLED"},
                                                {Status::Parked, "PARKED"},
                                                {Status::Abandoned, "ABANDONED"}}};
constexpr names::Table<Decision, 2> kDecisionNames{{{Decision::Confirm, "confirm"}, {Decision::Cancel, "cancel"}}};
constexpr names::Table<CheckVerdict, 3> kVerdictNames{
    {{CheckVerdict::Committed, "committed"}, {CheckVerdict::Absent, "absent"}, {CheckVerdict::Unknown, "unknown"}}};
constexpr names::Table<Outcome, 5> kOutcomeNames{{{Outcome::Done, "done"},
                                                  {Outcome::AlreadyDone, "already_done"},
                                                  {Outcome::NotFound, "not_found"},
                                                  {Outcome::Retry, "retry"},
                                                  {Outcome::Fatal, "fatal"}}};
constexpr names::Table<BranchStatus, 3> kBranchStatusNames{
    {{BranchStatus::Waiting, "waiting"}, {BranchStatus::Done, "done"}, {BranchStatus::Fatal, "fatal"}}};

}  // namespace

using names::name_of;
using names::value_of;

std::string_view to_string(Status s) { return name_of(kStatusNames, s); }
std::string_view to_string(Decision d) { return name_of(kDecisionNames, d); }
std::string_view to_string(CheckVerdict v) { return name_of(kVerdictNames, v); }
std::string_view to_string(Outcome o) { return name_of(kOutcomeNames, o); }
std::string_view to_string(BranchStatus s) { return name_of(kBranchStatusNames, s); }
std::optional<Status> parse_status(std::string_view s) { return value_of(kStatusNames, s); }
std::optional<Decision> parse_decision(std::string_view s) { return value_of(kDecisionNames, s); }
std::optional<CheckVerdict> parse_check_verdict(std::string_view s) { return value_of(kVerdictNames, s); }
std::optional<Outcome> parse_outcome(std::string_view s) { return value_of(kOutcomeNames, s); }
std::optional<BranchStatus> parse_branch_status(std::string_view s) { return value_of(kBranchStatusNames, s); }

bool acknowledged(Outcome o) { return o == Outcome::Done || o == Outcome::AlreadyDone || o == Outcome::NotFound; }

bool is_terminal(Status s) { return s == Status::Confirmed || s == Status::Cancelled; }

std::string too_many_branches(std::size_t count) {
  return std::to_string(count) + " branches, more than the limit of " + std::to_string(kMaxBranches) +
         " per transaction";
}

}  // namespace compensatord
