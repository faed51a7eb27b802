// The lease keeper against a real PostgreSQL: a kept lease outlives many lease periods, and a
// lease taken over is known lost at the next renewal.
#include "reconciler/lease_keeper.hpp"

#include "store/migrations.hpp"
#include "store/pg_store.hpp"
#include "support/test_database.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <thread>

namespace compensatord::reconciler {
namespace {

using namespace std::chrono_literals;

class LeaseKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::migrate(db_.dsn());
    ASSERT_EQ(store_.ingest({"ORD-1", "order", "pending_log", {{"stock", {{"sku", "A"}}}}, Clock::now() - 1s}),
              store::IngestResult::Inserted);
  }

  Transaction claim(const std::string& owner, std::chrono::milliseconds lease) {
    const auto claimed = store_.claim_due({owner, 10, lease});
    EXPECT_EQ(claimed.size(), 1u);
    return claimed.empty() ? Transaction{} : claimed.front();
  }

  compensatord::testing::TestDatabase db_;
  store::PgStore store_{db_.dsn()};
};

TEST_F(LeaseKeeperTest, AKeptLeaseOutlivesManyLeasePeriods) {
  constexpr auto kLease = 600ms;
  LeaseKeeper keeper(store_, "replica-a", kLease);
  const auto sent = SteadyClock::now();
  const Transaction txn = claim("replica-a", kLease);
  keeper.keep(txn, sent);
  EXPECT_TRUE(keeper.holds_for("ORD-1", 300ms));
  EXPECT_FALSE(keeper.holds_for("ORD-1", 2s)) << "no lease is surely held longer than it was granted";
  EXPECT_FALSE(keeper.holds_for("ORD-2", 0ms)) << "not kept";

  std::this_thread::sleep_for(3 * kLease);
  EXPECT_TRUE(store_.claim_due({"replica-b", 10, 60s}).empty()) << "renewed: nobody else may claim it";
  EXPECT_TRUE(keeper.holds_for("ORD-1", 100ms));
  EXPECT_TRUE(store_.decide("ORD-1", store::lease_of(txn), Decision::Cancel).decided_by_us)
      << "the claim's token still holds";
  EXPECT_EQ(keeper.kept(), std::vector<std::string>{"ORD-1"});

  keeper.forget("ORD-1");
  EXPECT_TRUE(keeper.kept().empty());
  EXPECT_FALSE(keeper.holds_for("ORD-1", 0ms));
}

TEST_F(LeaseKeeperTest, ALeaseTakenOverIsKnownLostAtTheNextRenewal) {
  LeaseKeeper keeper(store_, "replica-a", 60s);
  const auto sent = SteadyClock::now();
  keeper.keep(claim("replica-a", 60s), sent);
  {
    // What another replica's claim does after this one's lease ran out.
    pqxx::connection connection(db_.dsn());
    pqxx::work work(connection);
    work.exec0(
        "UPDATE compensatord.transactions SET lease_expires_at = now() - interval '1 second' WHERE xid = 'ORD-1'");
    work.exec0(
        "UPDATE compensatord.transactions SET lease_owner = 'replica-b', "
        "lease_token = nextval('compensatord.lease_tokens'), lease_expires_at = now() + interval '1 minute' "
        "WHERE xid = 'ORD-1'");
    work.commit();
  }
  EXPECT_TRUE(keeper.holds_for("ORD-1", 1s)) << "not known yet";
  keeper.renew_now();
  EXPECT_FALSE(keeper.holds_for("ORD-1", 0ms));
  EXPECT_EQ(keeper.kept(), std::vector<std::string>{"ORD-1"}) << "still in flight here: not to be claimed again";
}

}  // namespace
}  // namespace compensatord::reconciler
