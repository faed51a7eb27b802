#pragma once
// The words of docs/design.md as types: transaction, branch, decision, action, attempt.

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace compensatord {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// Lifecycle of a transaction in the store.
//   PENDING    -> undecided; the order service may move it to COMMITTED, or the reconciler decides
//   COMMITTED  -> the order service committed it (decision confirm, no check needed)
//   CONFIRMING -> decided confirm, confirm actions not all acknowledged yet
//   CANCELLING -> decided cancel, cancel actions not all acknowledged yet
//   CONFIRMED / CANCELLED -> every branch acknowledged (terminal)
//   PARKED     -> needs a human (retries exhausted or fatal answer); kept with its reason
//   ABANDONED  -> an operator stopped the work on it (a human finishes it by hand); never claimed
enum class Status { Pending, Committed, Confirming, Cancelling, Confirmed, Cancelled, Parked, Abandoned };

inline constexpr std::array kAllStatuses{Status::Pending,   Status::Committed, Status::Confirming, Status::Cancelling,
                                         Status::Confirmed, Status::Cancelled, Status::Parked,     Status::Abandoned};

enum class Decision { Confirm, Cancel };

// The answer of a check: did the business transaction commit?
enum class CheckVerdict { Committed, Absent, Unknown };

// What an adapter made of a participant's answer (docs/design.md, "Idempotent actions").
enum class Outcome { Done, AlreadyDone, NotFound, Retry, Fatal };

// Per-branch progress of the decided action.
enum class BranchStatus { Waiting, Done, Fatal };

std::string_view to_string(Status s);
std::string_view to_string(Decision d);
std::string_view to_string(CheckVerdict v);
std::string_view to_string(Outcome o);
std::string_view to_string(BranchStatus s);
std::optional<Status> parse_status(std::string_view s);
std::optional<Decision> parse_decision(std::string_view s);
std::optional<CheckVerdict> parse_check_verdict(std::string_view s);
std::optional<Outcome> parse_outcome(std::string_view s);
std::optional<BranchStatus> parse_branch_status(std::string_view s);

// The action that carries out a decision on one branch: "confirm" or "cancel".
inline std::string_view action_name(Decision d) { return to_string(d); }

// True for done, already_done and not_found: the participant needs nothing more.
bool acknowledged(Outcome o);
bool is_terminal(Status s);

// The longest xid in bytes that the API, Kafka messages and legacy log rows may carry. The schema
// enforces the same number (the transactions_xid_length check, begin_transaction's check of p_xid),
// in characters: the database takes every xid this limit lets in.
inline constexpr std::size_t kMaxXidBytes = 256;

// The most branches one transaction may carry, enforced by every source (begin_transaction,
// Kafka messages, legacy log rows) and by the store. A transaction is reconciled as one unit and
// its branches are called within one lease, so an unbounded count (a pending-log row with
// thousands of branches) would outlast any lease; 64 is far above any real order's participants.
// Migration 0004_branch_cap.sql and docs/kafka-message.schema.json state the same number.
inline constexpr std::size_t kMaxBranches = 64;

// The one wording of the refusal, so every source names the limit and the count alike:
// "65 branches, more than the limit of 64 per transaction".
std::string too_many_branches(std::size_t count);

// One participant's part of a transaction. `fields` is a JSON object of scalars
// (e.g. {"sku": "A-1", "qty": 2}) used by the adapter templates as {{branch.NAME}}.
struct Branch {
  int no = 0;  // 0-based position within the transaction
  std::string participant;
  nlohmann::json fields = nlohmann::json::object();
  BranchStatus status = BranchStatus::Waiting;
  std::optional<Outcome> last_outcome;
  int attempt_count = 0;
  std::string last_error;
  std::optional<int> last_http_status;
};

struct Transaction {
  std::string xid;
  std::string kind;
  std::string source;  // "pending_log", "legacy:<name>", "kafka:<topic>"
  Status status = Status::Pending;
  std::optional<Decision> decision;
  std::string decided_by;
  std::vector<Branch> branches;
  TimePoint created_at;
  TimePoint age_from;  // the age limit counts from here: creation, or an operator's last retry
  TimePoint due_at;
  TimePoint next_attempt_at;
  int attempt_count = 0;
  std::string last_error;
  std::optional<int> last_http_status;
  std::string parked_reason;
  std::string lease_owner;
  std::int64_t lease_token = 0;  // the fencing token of the claim that returned this row
  // Set by a claim that took the row over from another replica whose lease expired.
  bool lease_taken_over = false;
};

}  // namespace compensatord
