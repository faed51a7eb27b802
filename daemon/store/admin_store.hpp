#pragma once
// The store's operator role: what the admin API reads and does. Each action is one database
// transaction that also appends an audit row (compensatord.admin_actions).

#include "model/attempt.hpp"
#include "model/transaction.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace compensatord::store {

// Who acts and why, as the audit row records it.
struct AdminRequest {
  std::string xid;
  std::string actor;   // the API token's name
  std::string reason;  // may be empty
};

// How a retry or an abandon ended: both end in one of the same four ways.
enum class ActionOutcome {
  Applied,   // retry: due now, decision kept, fatal branches waiting, attempts and age restarted;
             // abandon: ABANDONED, no replica works on it again, a human finishes it
  Unknown,   // no such xid
  Finished,  // confirmed or cancelled (for an abandon, also already abandoned): unchanged
  InFlight,  // a replica holds an unexpired lease: it is being worked on now
};

struct ActionResult {
  ActionOutcome outcome = ActionOutcome::Unknown;
  std::optional<Status> status;  // the status afterwards; none for an unknown xid
};

enum class DecideByHandOutcome {
  Decided,         // the decision is taken; the transaction is due to call its participants
  Unknown,         // no such xid
  AlreadyDecided,  // a decision stands (a replica's or the order service's commit): unchanged
  InFlight,        // a replica holds an unexpired lease: it may be deciding now
};

struct DecideByHandResult {
  DecideByHandOutcome outcome = DecideByHandOutcome::Unknown;
  std::optional<Status> status;      // afterwards
  std::optional<Decision> decision;  // the decision in force afterwards
};

// The most rows one page of a list may hold.
inline constexpr int kMaxPageSize = 1000;

// Which transactions a list returns: those matching every filter that is set, in xid order
// (keyset paging: a page starts after the last xid of the previous one, never at an offset).
struct ListFilter {
  std::optional<Status> status{};
  std::string kind{};                       // empty: any
  std::string participant{};                // one of its branches calls this participant; empty: any
  std::string source{};                     // e.g. "pending_log", "kafka:orders"; empty: any
  std::chrono::milliseconds older_than{0};  // created at least this long ago; 0: any
  std::string after{};                      // the last xid of the previous page; empty: the first page
  int limit = 100;                          // 1..kMaxPageSize
};

struct TransactionPage {
  std::vector<Transaction> transactions;  // without their branches
  bool more = false;                      // a next page exists: ask again after the last xid
};

struct AttemptPage {
  std::vector<Attempt> attempts;  // in the order they were recorded (by id)
  bool more = false;
};

// What an operator did to a transaction (the API's POST /v1/transactions/{xid}/<verb>).
enum class AdminVerb { Retry, Decide, Abandon };

std::string_view to_string(AdminVerb v);
std::optional<AdminVerb> parse_admin_verb(std::string_view s);

// One row of compensatord.admin_actions.
struct AdminAction {
  std::int64_t id = 0;
  AdminVerb action = AdminVerb::Retry;
  std::string actor;
  std::string reason;
  TimePoint at;
  nlohmann::json before;  // compensatord.admin_view() of the transaction before and after
  nlohmann::json after;
};

class AdminStore {
 public:
  virtual ~AdminStore() = default;
  // Throws StoreError naming the filter when it is out of range.
  virtual TransactionPage list(const ListFilter& filter) = 0;
  // The audit trail of `xid` after attempt id `after_id` (0: from the start), at most `limit` rows.
  virtual AttemptPage attempt_page(const std::string& xid, std::int64_t after_id, int limit) = 0;
  // Every admin action on `xid`, oldest first.
  virtual std::vector<AdminAction> admin_actions(const std::string& xid) = 0;
  // Puts a parked or backing-off transaction back in motion (0009_admin_actions.sql).
  virtual ActionResult retry(const AdminRequest& request) = 0;
  // Decides a transaction that has no decision yet, by the reconciler's compare-and-set.
  virtual DecideByHandResult decide_by_hand(const AdminRequest& request, Decision decision) = 0;
  // Stops all work on a transaction that is not finished (0010_abandon_and_list.sql).
  virtual ActionResult abandon(const AdminRequest& request) = 0;
};

}  // namespace compensatord::store
