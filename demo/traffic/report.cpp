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
         coupon_not_confirmed.empty() && parked.empty() && unfinished.empty();
}

ConsistencyReport build_report(const std::string& run_id, const nlohmann::json& totals,
                               const std::vector<OrderRow>& orders, const std::vector<TransactionRow>& transactions) {
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
  for (const auto& txn : transactions) {
    if (!txn.xid.starts_with(prefix)) continue;
    ++report.by_status[txn.status];
    if (txn.status == "PARKED") report.parked.push_back(txn.xid);
    if (!finished_status(txn.status)) report.unfinished.push_back(txn.xid);
  }
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
             "SELECT xid, status FROM compensatord.transactions WHERE left(xid, length($1)) = $1", run_id + "-")) {
      transactions.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
    }
    return transactions;
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
