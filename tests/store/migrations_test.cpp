#include "store/migrations.hpp"
#include "store/store_error.hpp"
#include "support/test_database.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <future>
#include <string>
#include <vector>

namespace compensatord::store {
namespace {

using compensatord::testing::TestDatabase;

std::vector<int> all_versions() {
  std::vector<int> versions;
  for (const auto& m : migrations()) versions.push_back(m.version);
  return versions;
}

std::vector<int> recorded_versions(const std::string& dsn) {
  pqxx::connection connection(dsn);
  pqxx::read_transaction work(connection);
  std::vector<int> versions;
  for (const auto& row : work.exec("SELECT version FROM compensatord.schema_migrations ORDER BY version")) {
    versions.push_back(row[0].as<int>());
  }
  return versions;
}

TEST(Migrations, AreEmbeddedInAscendingVersionOrderWithNames) {
  ASSERT_GE(migrations().size(), 2u);
  int previous = 0;
  for (const auto& m : migrations()) {
    EXPECT_GT(m.version, previous);
    EXPECT_FALSE(m.name.empty());
    EXPECT_NE(m.sql.find("compensatord."), std::string_view::npos);
    previous = m.version;
  }
}

TEST(Migrations, ApplyEveryVersionOnceAndASecondRunChangesNothing) {
  TestDatabase db;
  EXPECT_EQ(migrate(db.dsn()), all_versions());
  EXPECT_EQ(recorded_versions(db.dsn()), all_versions());
  EXPECT_TRUE(migrate(db.dsn()).empty());
  EXPECT_EQ(recorded_versions(db.dsn()), all_versions());

  auto connection = db.connect();
  pqxx::read_transaction work(connection);
  EXPECT_EQ(work.exec1("SELECT name FROM compensatord.schema_migrations WHERE version = 1")[0].as<std::string>(),
            "schema");
  EXPECT_EQ(work.exec1("SELECT count(*) FROM pg_tables WHERE schemaname = 'compensatord'")[0].as<int>(), 5)
      << "transactions, branches, attempts, admin_actions, schema_migrations";
}

TEST(Migrations, ConcurrentMigratorsApplyEachVersionExactlyOnce) {
  for (int round = 0; round < 3; ++round) {
    TestDatabase db;
    std::vector<std::future<std::vector<int>>> replicas;
    for (int i = 0; i < 4; ++i) replicas.push_back(std::async(std::launch::async, [&] { return migrate(db.dsn()); }));
    std::vector<int> applied;
    for (auto& replica : replicas) {
      const auto versions = replica.get();  // throws if a replica failed
      applied.insert(applied.end(), versions.begin(), versions.end());
    }
    std::sort(applied.begin(), applied.end());
    EXPECT_EQ(applied, all_versions());
    EXPECT_EQ(recorded_versions(db.dsn()), all_versions());
  }
}

TEST(Migrations, UnreachableDatabaseFailsWithAStoreErrorThatHidesThePassword) {
  try {
    migrate("postgresql://compensatord:s3cret-Pa55@127.0.0.1:1/state");
    FAIL() << "migrate should fail";
  } catch (const StoreError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("127.0.0.1"), std::string::npos) << message;
    EXPECT_EQ(message.find("s3cret-Pa55"), std::string::npos) << message;
  }
}

TEST(Migrations, MalformedDsnFailsClearlyWithoutEchoingThePassword) {
  try {
    migrate("host=127.0.0.1 port=1 password=s3cret-Pa55 bogus");
    FAIL() << "migrate should fail";
  } catch (const StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret-Pa55"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace compensatord::store
