#pragma once
// A fresh, uniquely named database in the throwaway PostgreSQL cluster of the test run
// (scripts/throwaway-pg.sh, started by the ctest fixture pg_cluster). Dropped on destruction.

#include <pqxx/pqxx>

#include <string>

namespace compensatord::testing {

// The cluster DSN, read from the file named by COMPENSATORD_TEST_PG_DSN_FILE.
// Throws std::runtime_error saying how to get one when it is missing.
std::string cluster_dsn();

// The DSN with its database name replaced by `database`.
std::string with_database(const std::string& dsn, const std::string& database);

class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& dsn() const { return dsn_; }
  // A new connection to this database, for assertions and test setup.
  pqxx::connection connect() const { return pqxx::connection(dsn_); }

 private:
  std::string cluster_dsn_;
  std::string name_;
  std::string dsn_;
};

}  // namespace compensatord::testing
