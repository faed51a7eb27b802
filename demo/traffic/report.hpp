#pragma once
// The consistency report after a demo run: what the legacy participants hold against what the
// order database and compensatord say. A run is consistent when no lock outlives its order, every
// committed order is confirmed at every participant, and nothing is parked or left unfinished.

#include "traffic/traffic.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace demo {

struct OrderRow {
  std::string order_no;
  std::string coupon_id;  // "" without a coupon
};

struct TransactionRow {
  std::string xid;
  std::string status;              // compensatord.transactions.status, e.g. "CONFIRMED"
  std::string parked_reason = {};  // "" unless PARKED; defaulted so that tests may leave it out
};

// compensatord's audit trail for one branch action: the rows compensatord.attempts holds for it,
// and how many of them are still 'started' (a call whose replica died before its answer was written).
struct TrailRow {
  std::string xid;
  std::string participant;
  std::string action;  // "confirm" or "cancel"
  long long rows = 0;
  long long started = 0;
};

// Calls of one participant action over a run: what the participant received from compensatord
// against what the trail holds.
struct CallTally {
  long long branches = 0;  // branches that received at least one call
  long long calls = 0;     // calls the participant received from compensatord
  long long most_per_branch = 0;
  long long trail_rows = 0;
  long long trail_started = 0;  // trail rows never completed with an answer
};

struct ConsistencyReport {
  std::vector<std::string> stock_locked_without_order;
  std::vector<std::string> coupon_locked_without_order;
  std::vector<std::string> stock_sold_without_order;
  std::vector<std::string> coupon_used_without_order;
  std::vector<std::string> stock_not_confirmed;   // committed orders whose stock is not sold
  std::vector<std::string> coupon_not_confirmed;  // committed orders whose coupon is not used
  std::vector<std::string> parked;
  std::vector<std::string> unfinished;
  // The chaos run's counts, which must be 0 whatever failed during the run:
  std::vector<std::string> lost;             // an order seen anywhere with no terminal or parked transaction
  std::vector<std::string> wrong_direction;  // an existing order cancelled, an absent one confirmed
  std::vector<std::string> double_effects;   // a pool moved by more or less than its orders' locks say
  std::vector<std::string> trail_missing;    // participant calls beyond compensatord.attempts' rows
  std::vector<std::string> parked_without_reason;
  std::map<std::string, long long> by_status;
  std::map<std::string, CallTally> calls;  // by "participant action", e.g. "stock cancel"

  [[nodiscard]] bool consistent() const;
};

// Looks only at order numbers of this run (<run_id>-...), except for the pools' accounting, which
// spans every order the services hold. `totals` is legacy-services' GET /admin/totals; throws
// std::invalid_argument when it is not of that shape. `own_confirms` are the confirm calls the
// order service made itself (null: none), which the participants count with compensatord's.
ConsistencyReport build_report(const std::string& run_id, const nlohmann::json& totals,
                               const std::vector<OrderRow>& orders, const std::vector<TransactionRow>& transactions,
                               const std::vector<TrailRow>& trail = {}, const OwnConfirmCalls* own_confirms = nullptr);

std::string format_traffic(const TrafficCounters& counters);
std::string format_report(const ConsistencyReport& report);

// Reading the three sides. A database that restarts meanwhile (a chaos run restarts it on
// purpose) is waited for: each read reconnects and tries again for up to `patience`, printing why
// to stderr. Each throws on an HTTP error, or a database error that outlasts the patience, with
// what it was reading.
inline constexpr std::chrono::seconds kDatabasePatience{60};
nlohmann::json fetch_totals(const std::string& services_url);
std::vector<OrderRow> fetch_orders(const std::string& order_dsn, const std::string& run_id,
                                   std::chrono::milliseconds patience = kDatabasePatience);
std::vector<TransactionRow> fetch_transactions(const std::string& dsn, const std::string& run_id,
                                               std::chrono::milliseconds patience = kDatabasePatience);
std::vector<TrailRow> fetch_trail(const std::string& dsn, const std::string& run_id,
                                  std::chrono::milliseconds patience = kDatabasePatience);

// Polls compensatord.transactions until this run has at least `expected` transactions (a Kafka
// check appears only once compensatord has ingested it) and none is unfinished, or `timeout`
// passes; calls `progress` with the unfinished count (not yet ingested ones included) after each
// poll. A lost or refused connection is reopened at the next poll. Returns the last unfinished
// count; throws when the database was never reachable within `timeout`.
long long wait_for_convergence(const std::string& dsn, const std::string& run_id, long long expected,
                               std::chrono::milliseconds timeout, const std::function<void(long long)>& progress);

}  // namespace demo
