// The store queries behind the gauges and readiness, against real PostgreSQL, and the poller
// that carries them into the metrics.

#include "metrics/store_gauges.hpp"
#include "metrics/metrics.hpp"
#include "store/migrations.hpp"
#include "store/pg_store.hpp"
#include "support/test_database.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace compensatord::metrics {
namespace {

using namespace std::chrono_literals;

store::NewTransaction due(const std::string& xid, std::chrono::seconds ago) {
  return {xid, "order", "test", {{"stock", {{"sku", "A"}}}}, Clock::now() - ago};
}

TEST(StoreGauges, SchemaVersionIsZeroBeforeMigrationsAndTheLatestAfter) {
  testing::TestDatabase db;
  store::PgStore store(db.dsn());
  EXPECT_EQ(store.schema_version(), 0);
  store.migrate();
  EXPECT_EQ(store.schema_version(), store::migrations().back().version);
}

TEST(StoreGauges, OldestDueAgeIsTheLongestWaitOfADueTransactionAndZeroWhenNoneIsDue) {
  testing::TestDatabase db;
  store::PgStore store(db.dsn());
  store.migrate();
  EXPECT_EQ(store.oldest_due_age(), 0ms);
  store.ingest(due("A", 30s));
  store.ingest(due("B", 5s));
  store.ingest(due("LATER", -1h));
  EXPECT_GE(store.oldest_due_age(), 30s);
  EXPECT_LT(store.oldest_due_age(), 40s);

  // A claimed transaction is not waiting: its lease moves it out of the due range.
  store.claim_due({"replica", 10, 60s});
  EXPECT_EQ(store.oldest_due_age(), 0ms);
}

TEST(StoreGauges, ThePollerCarriesTheDatabaseIntoTheGauges) {
  testing::TestDatabase db;
  store::PgStore store(db.dsn());
  store.migrate();
  store.ingest(due("A", 10s));
  Metrics metrics("test");
  StoreGaugePoller poller(
      [&] {
        return StoreSnapshot{store.count_by_status(), store.oldest_due_age()};
      },
      metrics, 50ms);
  std::string text;
  for (int i = 0; i < 100 && text.find("compensatord_transactions{status=\"PENDING\"} 1\n") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);
    text = metrics.text();
  }
  EXPECT_NE(text.find("compensatord_transactions{status=\"PENDING\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("compensatord_oldest_due_age_seconds 0\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace compensatord::metrics
