#pragma once
// Versioned schema migrations, embedded in the binary (the SQL lives in store/migrations/*.sql).
// Applied at start; every applied version is recorded in compensatord.schema_migrations.

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace compensatord::store {

struct Migration {
  int version = 0;
  std::string_view name;
  std::string_view sql;
};

// The embedded migrations, by ascending version.
std::span<const Migration> migrations();

// Applies the embedded migrations that the database at `dsn` has not recorded yet, each in its own
// transaction, under a PostgreSQL advisory lock so that replicas starting together apply each one
// exactly once. Returns the versions applied by this call. Throws StoreError.
// The connection has no statement or lock timeout: a replica waits for another's migrations, and a
// migration may rewrite a large table. `connect_timeout` bounds the connect (database.connect_timeout).
std::vector<int> migrate(const std::string& dsn, std::chrono::milliseconds connect_timeout = std::chrono::seconds(5));

}  // namespace compensatord::store
