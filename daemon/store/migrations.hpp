#pragma once
// Versioned schema migrations, embedded in the binary (the SQL lives in store/migrations/*.sql).
// Applied at start; every applied version is recorded in compensatord.schema_migrations.

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
std::vector<int> migrate(const std::string& dsn);

}  // namespace compensatord::store
