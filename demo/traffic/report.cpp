#include "traffic/report.hpp"

#include "common/http_client.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>

namespace demo {

namespace {

constexpr std::size_t kExamples = 5;

bool finished_status(const std::string& status) {
  return status == "CONFIRMED" || status == "CANCELLED" || status == "PARKED";
}

const nlohmann::json& lock_orders(const nlohmann::json& totals, const char* participant) {
  if (!totals.is_object() || !totals.contains(participant) || !totals[participant].is_object() ||
      !totals[participant].contains("orders") || !totals[participant]["orders"].is_object()) {
    throw std::invalid_argument(fmt::format("legacy totals: {}.orders missing or not an object", participant));
  }
  return totals[participant]["orders"];
}

// Sorts this run's locks at one participant against the orders that exist.
void check_locks(const nlohmann::json& locks, const std::string& prefix, const std::set<std::string>& existing,
                 std::vector<std::string>& held_without_order, std::vector<std::string>& consumed_without_order) {
  for (const auto& [order_no, lock] : locks.items()) {
    if (!order_no.starts_with(prefix) || existing.contains(order_no)) continue;
    const auto state = lock.value("state", std::string());
    if (state == "locked") held_without_order.push_back(order_no);
    if (state == "confirmed") consumed_without_order.push_back(order_no);
  }
}

bool confirmed_at(const nlohmann::json& locks, const std::string& order_no) {
  auto it = locks.find(order_no);
  return it != locks.end() && it->value("state", std::string()) == "confirmed";
}

const nlohmann::json& object_at(const nlohmann::json& parent, const char* key, const std::string& where) {
  if (!parent.is_object() || !parent.contains(key) || !parent[key].is_object()) {
    throw std::invalid_argument(fmt::format("legacy totals: {}.{} missing or not an object", where, key));
  }
  return parent[key];
}

long long number_at(const nlohmann::json& parent, const char* key, const std::string& where) {
  if (!parent.contains(key) || !parent[key].is_number_integer()) {
    throw std::invalid_argument(fmt::format("legacy totals: {}.{} missing or not an integer", where, key));
  }
  return parent[key].get<long long>();
}

// A branch applied twice (or not at all) shows as a pool that moved by other amounts than the
// locks its orders hold: the services' own accounting, which every order of every run shares.
void check_accounting(const nlohmann::json& totals, std::vector<std::string>& out) {
  std::map<std::string, std::pair<long long, long long>> by_sku;  // locked, sold
  long long coupons_locked = 0;
  long long coupons_used = 0;
  for (const auto& [order_no, lock] : lock_orders(totals, "stock").items()) {
    const auto state = lock.value("state", std::string());
    auto& [locked, sold] = by_sku[lock.value("item", std::string())];
    if (state == "locked") locked += lock.value("qty", 0LL);
    if (state == "confirmed") sold += lock.value("qty", 0LL);
  }
  for (const auto& [order_no, lock] : lock_orders(totals, "coupon").items()) {
    const auto state = lock.value("state", std::string());
    coupons_locked += state == "locked" ? 1 : 0;
    coupons_used += state == "confirmed" ? 1 : 0;
  }
  for (const auto& [sku, pool] : object_at(totals["stock"], "skus", "stock").items()) {
    const auto where = "stock.skus." + sku;
    const auto [locked, sold] = by_sku[sku];
    if (number_at(pool, "locked", where) != locked || number_at(pool, "sold", where) != sold) {
      out.push_back(fmt::format("{} locked {} sold {}, its orders {} and {}", sku, pool["locked"].get<long long>(),
                                pool["sold"].get<long long>(), locked, sold));
    }
  }
  const auto& coupon = totals["coupon"];
  if (number_at(coupon, "locked", "coupon") != coupons_locked || number_at(coupon, "used", "coupon") != coupons_used) {
    out.push_back(fmt::format("coupons locked {} used {}, their orders {} and {}", coupon["locked"].get<long long>(),
                              coupon["used"].get<long long>(), coupons_locked, coupons_used));
  }
}

// Every call a participant received from compensatord must be in the trail: each is written as a
// started attempt before it is sent, so even a replica killed mid-call leaves its row.
void check_trail(const std::string& prefix, const nlohmann::json& locks, const std::string& participant,
                 const std::map<std::tuple<std::string, std::string, std::string>, TrailRow>& trail,
                 const OwnConfirmCalls* own_confirms, ConsistencyReport& report) {
  for (const auto& [order_no, lock] : locks.items()) {
    if (!order_no.starts_with(prefix)) continue;
    const long long own = own_confirms != nullptr ? own_confirms->count(participant, order_no) : 0;
    for (const auto& [action, calls] : {std::pair<std::string, long long>{"cancel", lock.value("rollbacks", 0LL)},
                                        {"confirm", std::max(0LL, lock.value("confirms", 0LL) - own)}}) {
      if (calls == 0) continue;
      auto& tally = report.calls[participant + " " + action];
      ++tally.branches;
      tally.calls += calls;
      tally.most_per_branch = std::max(tally.most_per_branch, calls);
      const auto it = trail.find({order_no, participant, action});
      const long long rows = it == trail.end() ? 0 : it->second.rows;
      if (rows < calls) {
        report.trail_missing.push_back(
            fmt::format("{} {} {}: {} calls, {} rows", order_no, participant, action, calls, rows));
      }
    }
  }
}

std::string count_line(std::string_view what, const std::vector<std::string>& xids) {
  std::string line = fmt::format("  {:<46} {}", what, xids.size());
  if (!xids.empty()) {
    const std::vector<std::string> shown(xids.begin(), xids.begin() + std::min(xids.size(), kExamples));
    line += fmt::format("  e.g. {}{}", fmt::join(shown, ", "), xids.size() > kExamples ? ", ..." : "");
  }
  return line + "\n";
}

}  // namespace

bool ConsistencyReport::consistent() const {
  return stock_locked_without_order.empty() && coupon_locked_without_order.empty() &&
         stock_sold_without_order.empty() && coupon_used_without_order.empty() && stock_not_confirmed.empty() &&
         coupon_not_confirmed.empty() && parked.empty() && unfinished.empty() && lost.empty() &&
         wrong_direction.empty() && double_effects.empty() && trail_missing.empty() && parked_without_reason.empty();
}

ConsistencyReport build_report(const std::string& run_id, const nlohmann::json& totals,
                               const std::vector<OrderRow>& orders, const std::vector<TransactionRow>& transactions,
                               const std::vector<TrailRow>& trail, const OwnConfirmCalls* own_confirms) {
  const std::string prefix = run_id + "-";
  const auto& stock_locks = lock_orders(totals, "stock");
  const auto& coupon_locks = lock_orders(totals, "coupon");
  std::set<std::string> existing;
  for (const auto& order : orders) existing.insert(order.order_no);

  ConsistencyReport report;
  check_locks(stock_locks, prefix, existing, report.stock_locked_without_order, report.stock_sold_without_order);
  check_locks(coupon_locks, prefix, existing, report.coupon_locked_without_order, report.coupon_used_without_order);
  for (const auto& order : orders) {
    if (!order.order_no.starts_with(prefix)) continue;
    if (!confirmed_at(stock_locks, order.order_no)) report.stock_not_confirmed.push_back(order.order_no);
    if (!order.coupon_id.empty() && !confirmed_at(coupon_locks, order.order_no)) {
      report.coupon_not_confirmed.push_back(order.order_no);
    }
  }
  std::map<std::string, std::string> status_of;
  for (const auto& txn : transactions) {
    if (!txn.xid.starts_with(prefix)) continue;
    status_of[txn.xid] = txn.status;
    ++report.by_status[txn.status];
    if (txn.status == "PARKED") report.parked.push_back(txn.xid);
    if (txn.status == "PARKED" && txn.parked_reason.empty()) report.parked_without_reason.push_back(txn.xid);
    if (!finished_status(txn.status)) report.unfinished.push_back(txn.xid);
    if (txn.status == "CANCELLED" && existing.contains(txn.xid)) {
      report.wrong_direction.push_back(txn.xid + " cancelled, its order exists");
    }
    if (txn.status == "CONFIRMED" && !existing.contains(txn.xid)) {
      report.wrong_direction.push_back(txn.xid + " confirmed, it has no order");
    }
  }
  // An order that reached a participant or the order database must have a transaction that ended.
  std::set<std::string> seen(existing);
  for (const auto* locks : {&stock_locks, &coupon_locks}) {
    for (const auto& [order_no, lock] : locks->items()) seen.insert(order_no);
  }
  for (const auto& order_no : seen) {
    if (!order_no.starts_with(prefix)) continue;
    const auto it = status_of.find(order_no);
    if (it == status_of.end() || !finished_status(it->second)) report.lost.push_back(order_no);
  }
  for (const auto& [participant, locks] :
       {std::pair<std::string, const nlohmann::json*>{"stock", &stock_locks}, {"coupon", &coupon_locks}}) {
    for (const auto& [order_no, lock] : locks->items()) {
      const auto state = lock.value("state", std::string());
      if (order_no.starts_with(prefix) && existing.contains(order_no) &&
          (state == "rolled_back" || state == "tombstone")) {
        report.wrong_direction.push_back(fmt::format("{} {} rolled back, its order exists", order_no, participant));
      }
    }
  }
  check_accounting(totals, report.double_effects);
  std::map<std::tuple<std::string, std::string, std::string>, TrailRow> trail_of;
  for (const auto& row : trail) {
    if (!row.xid.starts_with(prefix)) continue;
    trail_of[{row.xid, row.participant, row.action}] = row;
    auto& tally = report.calls[row.participant + " " + row.action];
    tally.trail_rows += row.rows;
    tally.trail_started += row.started;
  }
  check_trail(prefix, stock_locks, "stock", trail_of, own_confirms, report);
  check_trail(prefix, coupon_locks, "coupon", trail_of, own_confirms, report);
  return report;
}

std::string format_traffic(const TrafficCounters& counters) {
  std::string out =
      fmt::format("orders: {} started, {} delayed checks published to Kafka\n  by end:", counters.started.load(),
                  counters.checks_published.load());
  for (std::size_t e = 0; e < kOrderEnds; ++e) {
    out += fmt::format(" {} {}", to_string(static_cast<OrderEnd>(e)), counters.ends[e].load());
  }
  out += "\n  died at:";
  for (std::size_t p = 0; p < kDiePoints.size(); ++p) {
    out += fmt::format(" {} {}", to_string(kDiePoints[p]), counters.died_at[p].load());
  }
  return out + "\n";
}

std::string format_report(const ConsistencyReport& report) {
  std::string out = "transactions by status:";
  if (report.by_status.empty()) out += " (none)";
  for (const auto& [status, count] : report.by_status) out += fmt::format(" {} {}", status, count);
  out += "\nconsistency:\n";
  out += count_line("stock locked for orders that do not exist", report.stock_locked_without_order);
  out += count_line("coupons locked for orders that do not exist", report.coupon_locked_without_order);
  out += count_line("stock sold for orders that do not exist", report.stock_sold_without_order);
  out += count_line("coupons used for orders that do not exist", report.coupon_used_without_order);
  out += count_line("committed orders with stock not confirmed", report.stock_not_confirmed);
  out += count_line("committed orders with coupon not used", report.coupon_not_confirmed);
  out += count_line("parked transactions", report.parked);
  out += count_line("unfinished transactions", report.unfinished);
  out += count_line("lost (no terminal or parked transaction)", report.lost);
  out += count_line("wrong direction", report.wrong_direction);
  out += count_line("double effects (pool accounting)", report.double_effects);
  out += count_line("participant calls missing from the trail", report.trail_missing);
  out += count_line("parked without a reason", report.parked_without_reason);
  out += "calls per branch (compensatord's calls the participants received, compensatord.attempts rows):\n";
  if (report.calls.empty()) out += "  (none)\n";
  for (const auto& [what, t] : report.calls) {
    out += fmt::format("  {:<15} {} branches, {} calls, at most {} on one branch; trail {} rows, {} started\n", what,
                       t.branches, t.calls, t.most_per_branch, t.trail_rows, t.trail_started);
  }
  out += report.consistent() ? "RESULT: consistent\n" : "RESULT: INCONSISTENT\n";
  return out;
}

nlohmann::json fetch_totals(const std::string& services_url) {
  HttpClient services(services_url, std::chrono::seconds(30));
  const auto reply = services.get("/admin/totals");
  if (reply.status != 200) {
    throw std::runtime_error(fmt::format("GET {}/admin/totals: status {} {}", services_url, reply.status, reply.error));
  }
  auto totals = nlohmann::json::parse(reply.body, nullptr, false);
  if (totals.is_discarded()) throw std::runtime_error("GET /admin/totals: malformed JSON");
  return totals;
}

namespace {

using SteadyClock = std::chrono::steady_clock;

std::string_view first_line(std::string_view text) { return text.substr(0, text.find('\n')); }

// A connection refused or lost, or the server shutting down or starting up: a restart, which
// passes. Other errors (a missing table) do not.
bool restarting(const pqxx::failure& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return true;
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  // Class 57, operator intervention: 57P01 admin_shutdown, 57P03 cannot_connect_now.
  return sql != nullptr && sql->sqlstate().rfind("57", 0) == 0;
}

// Runs `read` on a new connection to `dsn`; while the database cannot be reached or drops the
// connection, tries again every second until `patience` has passed.
template <typename Read>
auto read_patiently(const std::string& dsn, std::string_view what, std::chrono::milliseconds patience, Read&& read) {
  const auto deadline = SteadyClock::now() + patience;
  while (true) {
    try {
      pqxx::connection connection(dsn);
      return read(connection);
    } catch (const pqxx::failure& e) {
      if (!restarting(e) || SteadyClock::now() >= deadline) throw;
      fmt::print(stderr, "demo-traffic: reading {}: the database is unreachable ({}); trying again\n", what,
                 first_line(e.what()));
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
}

long long count_unfinished(pqxx::connection& connection, const std::string& run_id, long long expected) {
  pqxx::read_transaction work(connection);
  const auto row = work.exec_params1(
      "SELECT count(*), count(*) FILTER (WHERE status NOT IN ('CONFIRMED', 'CANCELLED', 'PARKED')) "
      "FROM compensatord.transactions WHERE left(xid, length($1)) = $1",
      run_id + "-");
  const auto total = row[0].as<long long>();
  return row[1].as<long long>() + std::max(0LL, expected - total);
}

}  // namespace

std::vector<OrderRow> fetch_orders(const std::string& order_dsn, const std::string& run_id,
                                   std::chrono::milliseconds patience) {
  return read_patiently(order_dsn, "the orders", patience, [&](pqxx::connection& connection) {
    pqxx::read_transaction work(connection);
    std::vector<OrderRow> orders;
    for (const auto& row : work.exec_params(
             "SELECT order_no, coalesce(coupon_id, '') FROM demo_orders WHERE left(order_no, length($1)) = $1",
             run_id + "-")) {
      orders.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
    }
    return orders;
  });
}

std::vector<TransactionRow> fetch_transactions(const std::string& dsn, const std::string& run_id,
                                               std::chrono::milliseconds patience) {
  return read_patiently(dsn, "compensatord's transactions", patience, [&](pqxx::connection& connection) {
    pqxx::read_transaction work(connection);
    std::vector<TransactionRow> transactions;
    for (const auto& row : work.exec_params(
             "SELECT xid, status, parked_reason FROM compensatord.transactions WHERE left(xid, length($1)) = $1",
             run_id + "-")) {
      transactions.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()});
    }
    return transactions;
  });
}

std::vector<TrailRow> fetch_trail(const std::string& dsn, const std::string& run_id,
                                  std::chrono::milliseconds patience) {
  return read_patiently(dsn, "compensatord's attempts", patience, [&](pqxx::connection& connection) {
    pqxx::read_transaction work(connection);
    std::vector<TrailRow> trail;
    for (const auto& row : work.exec_params(
             "SELECT a.xid, b.participant, a.action, count(*), count(*) FILTER (WHERE a.outcome = 'started') "
             "FROM compensatord.attempts a JOIN compensatord.branches b USING (xid, branch_no) "
             "WHERE left(a.xid, length($1)) = $1 AND a.action IN ('confirm', 'cancel') GROUP BY 1, 2, 3",
             run_id + "-")) {
      trail.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                       row[3].as<long long>(), row[4].as<long long>()});
    }
    return trail;
  });
}

long long wait_for_convergence(const std::string& dsn, const std::string& run_id, long long expected,
                               std::chrono::milliseconds timeout, const std::function<void(long long)>& progress) {
  const auto deadline = SteadyClock::now() + timeout;
  std::unique_ptr<pqxx::connection> connection;
  std::optional<long long> unfinished;
  while (true) {
    try {
      if (!connection) connection = std::make_unique<pqxx::connection>(dsn);
      unfinished = count_unfinished(*connection, run_id, expected);
      progress(*unfinished);
      if (*unfinished == 0) return 0;
    } catch (const pqxx::failure& e) {
      if (!restarting(e)) throw;
      connection.reset();
      fmt::print(stderr, "demo-traffic: waiting for compensatord: the database is unreachable ({}); trying again\n",
                 first_line(e.what()));
    }
    if (SteadyClock::now() >= deadline) {
      if (!unfinished) throw std::runtime_error("waiting for compensatord: the database was never reachable");
      return *unfinished;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace demo
