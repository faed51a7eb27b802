#include "check/sql_check.hpp"

#include "model/redact.hpp"
#include "store/conninfo.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <pqxx/pqxx>

namespace compensatord::check {
namespace {

constexpr const char* kStatement = "compensatord_check";

}  // namespace

SqlCheck::SqlCheck(SqlCheckSpec spec) : spec_(std::move(spec)), connections_(spec_.max_connections) {}
SqlCheck::~SqlCheck() = default;

std::unique_ptr<pqxx::connection> SqlCheck::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  // An unreachable order database (a dropped SYN, a server that never answers) must not hold a
  // worker either: the connect gives up after the check's timeout too.
  auto c = std::make_unique<pqxx::connection>(store::with_connect_timeout(spec_.dsn, spec_.timeout));
  // A hung order database must not hold a worker for longer than the check's timeout.
  pqxx::nontransaction(*c).exec(fmt::format("SET statement_timeout = {}", spec_.timeout.count()));
  // The check only reads: a query that would write fails instead.
  pqxx::nontransaction(*c).exec("SET default_transaction_read_only = on");
  // Parsed and planned once per connection, not once per check.
  c->prepare(kStatement, spec_.query);
  return c;
}

void SqlCheck::give_back(std::unique_ptr<pqxx::connection> c) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(c));
}

namespace {

// A slot of SqlCheck's connections, given back when the check ends however it ends.
class ConnectionSlot {
 public:
  explicit ConnectionSlot(adapters::FairLimiter& limiter) : limiter_(limiter) {}
  ~ConnectionSlot() { limiter_.release(); }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

 private:
  adapters::FairLimiter& limiter_;
};

CheckVerdict verdict_of(const SqlCheckSpec& spec, const pqxx::result& rows) {
  if (rows.empty()) return CheckVerdict::Absent;
  if (spec.committed_values.empty() && spec.absent_values.empty()) return CheckVerdict::Committed;
  if (rows.columns() == 0 || rows[0][0].is_null()) return CheckVerdict::Unknown;
  const std::string value = rows[0][0].c_str();
  auto in = [&](const std::vector<std::string>& values) {
    return std::find(values.begin(), values.end(), value) != values.end();
  };
  if (in(spec.committed_values)) return CheckVerdict::Committed;
  if (in(spec.absent_values)) return CheckVerdict::Absent;
  return CheckVerdict::Unknown;
}

}  // namespace

CheckResult SqlCheck::run(const Transaction& txn) {
  CheckResult result;
  result.request_summary = "SQL check";
  const auto started = std::chrono::steady_clock::now();
  if (!connections_.acquire_until(started + spec_.timeout)) {
    result.verdict = CheckVerdict::Unknown;
    result.error =
        fmt::format("SQL check: no free connection to the order database within {} ms ({} in use: max_connections)",
                    spec_.timeout.count(), spec_.max_connections);
    result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    return result;
  }
  const ConnectionSlot slot(connections_);
  try {
    auto connection = acquire();
    pqxx::result rows;
    {
      // One statement needs no transaction block around it: one round trip instead of three.
      pqxx::nontransaction tx(*connection);
      rows = tx.exec_prepared(kStatement, txn.xid);
    }
    give_back(std::move(connection));
    result.verdict = verdict_of(spec_, rows);
    if (result.verdict == CheckVerdict::Unknown) {
      result.error = fmt::format("the check query answered a value in neither committed_values nor absent_values");
    }
  } catch (const std::exception& e) {
    // libpq's messages may quote pieces of a malformed DSN, password included.
    result.verdict = CheckVerdict::Unknown;
    result.error = fmt::format("SQL check failed: {}", redact_secrets(e.what(), spec_.dsn));
  }
  result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return result;
}

}  // namespace compensatord::check
