#include "store/migrations.hpp"

#include "log/log.hpp"
#include "model/redact.hpp"
#include "store/connection_pool.hpp"
#include "store/store_error.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

namespace compensatord::store {
namespace {
constexpr log::Log kLog{"store"};

// Session advisory lock key shared by every compensatord replica ("cmpnsatd" in ASCII). A session
// lock (not a transaction lock) spans all migrations; closing the connection releases it even
// when a migration fails.
constexpr long long kMigrationLockKey = 0x636d706e73617464;

void bootstrap(pqxx::connection& connection) {
  pqxx::work work(connection);
  work.exec0("CREATE SCHEMA IF NOT EXISTS compensatord");
  work.exec0(
      "CREATE TABLE IF NOT EXISTS compensatord.schema_migrations ("
      " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
  work.commit();
}

bool applied(pqxx::connection& connection, int version) {
  pqxx::read_transaction work(connection);
  return !work.exec_params("SELECT 1 FROM compensatord.schema_migrations WHERE version = $1", version).empty();
}

void apply(pqxx::connection& connection, const Migration& migration) {
  pqxx::work work(connection);
  work.exec(std::string(migration.sql));
  work.exec_params0("INSERT INTO compensatord.schema_migrations (version, name) VALUES ($1, $2)", migration.version,
                    std::string(migration.name));
  work.commit();
}

std::vector<int> apply_missing(pqxx::connection& connection) {
  std::vector<int> applied_now;
  for (const auto& migration : migrations()) {
    if (applied(connection, migration.version)) continue;
    try {
      apply(connection, migration);
    } catch (const std::exception& e) {
      throw StoreError(fmt::format("migration {} ({}) failed: {}", migration.version, migration.name, e.what()));
    }
    kLog.info("applied migration {} ({})", migration.version, migration.name);
    applied_now.push_back(migration.version);
  }
  return applied_now;
}

}  // namespace

std::vector<int> migrate(const std::string& dsn, std::chrono::milliseconds connect_timeout) {
  const auto owned = connect(dsn, "schema migration",
                             ConnectionLimits{.connect_timeout = connect_timeout,
                                              .statement_timeout = std::chrono::milliseconds::zero(),
                                              .lock_timeout = std::chrono::milliseconds::zero()});
  auto& connection = *owned;
  try {
    pqxx::nontransaction(connection).exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
    // Under the lock, so two replicas never race on CREATE ... IF NOT EXISTS either.
    bootstrap(connection);
    auto applied_now = apply_missing(connection);
    pqxx::nontransaction(connection).exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
    return applied_now;
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    throw StoreError(
        fmt::format("schema migration on {} failed: {}", redact_secrets(dsn), redact_secrets(e.what(), dsn)));
  }
}

}  // namespace compensatord::store
