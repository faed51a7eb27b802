#include "support/test_database.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>

namespace compensatord::testing {
namespace {

constexpr const char* kDsnFileVariable = "COMPENSATORD_TEST_PG_DSN_FILE";

// Unique across the parallel test processes of one ctest run and the databases of one process.
std::string unique_database_name() {
  static std::atomic<int> counter{0};
  std::random_device random;
  return fmt::format("test_{}_{}_{:08x}", ::getpid(), counter++, random());
}

void drop_database(const std::string& cluster_dsn, const std::string& name) {
  pqxx::connection admin(cluster_dsn);
  pqxx::nontransaction work(admin);
  work.exec0(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", work.quote_name(name)));
}

}  // namespace

std::string cluster_dsn() {
  const char* path = std::getenv(kDsnFileVariable);
  if (path == nullptr || *path == '\0') {
    throw std::runtime_error(
        fmt::format("{} is not set: run PostgreSQL tests through ctest (fixture pg_cluster), or start a cluster with "
                    "scripts/throwaway-pg.sh start DIR and set {}=DIR/dsn",
                    kDsnFileVariable, kDsnFileVariable));
  }
  std::ifstream file(path);
  std::string dsn;
  if (!std::getline(file, dsn) || dsn.empty()) {
    throw std::runtime_error(fmt::format("{}={}: cannot read a DSN from this file (is the pg_cluster fixture running?)",
                                         kDsnFileVariable, path));
  }
  return dsn;
}

std::string with_database(const std::string& dsn, const std::string& database) {
  const auto authority = dsn.find("://");
  const auto slash = dsn.find('/', authority == std::string::npos ? 0 : authority + 3);
  if (authority == std::string::npos || slash == std::string::npos) {
    throw std::runtime_error("the test cluster DSN is not a postgresql:// URL with a database name");
  }
  const auto query = dsn.find('?', slash);
  return dsn.substr(0, slash + 1) + database + (query == std::string::npos ? "" : dsn.substr(query));
}

TestDatabase::TestDatabase() : cluster_dsn_(cluster_dsn()), name_(unique_database_name()) {
  pqxx::connection admin(cluster_dsn_);
  pqxx::nontransaction work(admin);
  work.exec0(fmt::format("CREATE DATABASE {}", work.quote_name(name_)));
  dsn_ = with_database(cluster_dsn_, name_);
}

TestDatabase::~TestDatabase() {
  try {
    drop_database(cluster_dsn_, name_);
  } catch (const std::exception& e) {
    std::cerr << "TestDatabase: could not drop database " << name_ << ": " << e.what() << '\n';
  }
}

}  // namespace compensatord::testing
