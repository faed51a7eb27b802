#pragma once
// The store's operator role: what the admin API does to transactions. Each action is one
// database transaction that also appends an audit row (compensatord.admin_actions).

#include "model/transaction.hpp"

#include <optional>
#include <string>

namespace compensatord::store {

// Who acts and why, as the audit row records it.
struct AdminRequest {
  std::string xid;
  std::string actor;   // the API token's name
  std::string reason;  // may be empty
};

enum class RetryOutcome {
  Retried,   // due now, decision kept, fatal branches waiting, attempts and age restarted
  Unknown,   // no such xid
  Finished,  // confirmed or cancelled: nothing to retry
  InFlight,  // a replica holds an unexpired lease: it is being worked on now
};

struct RetryResult {
  RetryOutcome outcome = RetryOutcome::Unknown;
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

class AdminStore {
 public:
  virtual ~AdminStore() = default;
  // Puts a parked or backing-off transaction back in motion (0009_admin_actions.sql).
  virtual RetryResult retry(const AdminRequest& request) = 0;
  // Decides a transaction that has no decision yet, by the reconciler's compare-and-set.
  virtual DecideByHandResult decide_by_hand(const AdminRequest& request, Decision decision) = 0;
};

}  // namespace compensatord::store
