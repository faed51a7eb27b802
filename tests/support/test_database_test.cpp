#include "support/test_database.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace compensatord::testing {
namespace {

bool database_exists(const std::string& name) {
  pqxx::connection admin(cluster_dsn());
  pqxx::nontransaction work(admin);
  return work.exec_params1("SELECT count(*) FROM pg_database WHERE datname = $1", name)[0].as<int>() == 1;
}

TEST(TestDatabase, CreatesAFreshDatabaseAndDropsItEvenWithOpenConnections) {
  std::string name;
  std::unique_ptr<pqxx::connection> left_open;
  {
    TestDatabase db;
    name = db.name();
    ASSERT_TRUE(database_exists(name));
    left_open = std::make_unique<pqxx::connection>(db.dsn());
    pqxx::work work(*left_open);
    EXPECT_EQ(work.exec1("SELECT current_database()")[0].as<std::string>(), name);
    EXPECT_EQ(work.exec1("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0].as<int>(), 0);
  }
  EXPECT_FALSE(database_exists(name));
}

TEST(TestDatabase, TwoDatabasesHaveDistinctNames) {
  TestDatabase a;
  TestDatabase b;
  EXPECT_NE(a.name(), b.name());
  EXPECT_NE(a.dsn(), b.dsn());
}

TEST(WithDatabase, ReplacesOnlyTheDatabaseName) {
  EXPECT_EQ(with_database("postgresql://postgres@127.0.0.1:5432/postgres", "x"),
            "postgresql://postgres@127.0.0.1:5432/x");
  EXPECT_EQ(with_database("postgresql://u@h:1/db?sslmode=disable", "y"), "postgresql://u@h:1/y?sslmode=disable");
  EXPECT_THROW(with_database("host=127.0.0.1 dbname=postgres", "x"), std::runtime_error);
}

}  // namespace
}  // namespace compensatord::testing
