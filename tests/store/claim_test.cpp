// claim_due: which rows a claim takes, leases, concurrency, and the plan it runs with.
#include "store_fixture.hpp"

#include <fmt/format.h>

#include <future>
#include <set>
#include <thread>

namespace compensatord::store::testing {
namespace {

using ClaimTest = StoreTest;

std::set<std::string> xids_of(const std::vector<Transaction>& transactions) {
  std::set<std::string> xids;
  for (const auto& t : transactions) xids.insert(t.xid);
  return xids;
}

TEST_F(ClaimTest, ClaimsDueRowsWithTheirBranchesAndSetsTheLease) {
  ASSERT_EQ(store_.ingest(transaction("ORD-1")), IngestResult::Inserted);
  const auto claimed = store_.claim_due({"replica-a", 10, 60s});
  ASSERT_EQ(claimed.size(), 1u);
  const auto& t = claimed[0];
  EXPECT_EQ(t.xid, "ORD-1");
  EXPECT_EQ(t.lease_owner, "replica-a");
  EXPECT_FALSE(t.lease_taken_over);
  ASSERT_EQ(t.branches.size(), 2u);
  EXPECT_EQ(t.branches[1].fields["coupon_id"], "C-9");
  EXPECT_NEAR(std::chrono::duration<double>(t.next_attempt_at - Clock::now()).count(), 60.0, 2.0);
  const auto lease =
      row("SELECT lease_owner, lease_expires_at = next_attempt_at FROM compensatord.transactions "
          "WHERE xid = $1",
          "ORD-1");
  EXPECT_EQ(lease[0].as<std::string>(), "replica-a");
  EXPECT_TRUE(lease[1].as<bool>());
}

TEST_F(ClaimTest, SkipsRowsNotDueLeasedOrFinished) {
  ASSERT_EQ(store_.ingest(transaction("not-due", Clock::now() + 1h)), IngestResult::Inserted);
  ingest_and_claim("leased", "replica-a");
  for (const auto* status : {"CONFIRMED", "CANCELLED", "PARKED"}) {
    ASSERT_EQ(store_.ingest(transaction(status)), IngestResult::Inserted);
    const auto decision = std::string(status) == "CONFIRMED" ? "'confirm'" : "'cancel'";
    exec(fmt::format("UPDATE compensatord.transactions SET status = '{}', decision = {} WHERE xid = '{}'", status,
                     decision, status));
  }
  ASSERT_EQ(store_.ingest(transaction("due")), IngestResult::Inserted);
  const auto claimed = store_.claim_due({"replica-b", 100, 60s});
  EXPECT_EQ(xids_of(claimed), std::set<std::string>{"due"});
  EXPECT_TRUE(store_.claim_due({"replica-b", 100, 60s}).empty());
}

TEST_F(ClaimTest, TakesTheMostOverdueFirstUpToTheLimit) {
  const auto now = Clock::now();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(store_.ingest(transaction(fmt::format("ORD-{}", i), now - std::chrono::minutes(i))),
              IngestResult::Inserted);
  }
  EXPECT_EQ(store_.count_due(), 5);
  EXPECT_EQ(xids_of(store_.claim_due({"replica-a", 2, 60s})), (std::set<std::string>{"ORD-4", "ORD-3"}));
  EXPECT_EQ(store_.count_due(), 3);
}

TEST_F(ClaimTest, RejectsNonsenseRequests) {
  EXPECT_THROW(store_.claim_due({"", 10, 60s}), StoreError);
  EXPECT_THROW(store_.claim_due({"replica-a", 0, 60s}), StoreError);
  EXPECT_THROW(store_.claim_due({"replica-a", -5, 60s}), StoreError);
  EXPECT_THROW(store_.claim_due({"replica-a", 10, 0ms}), StoreError);
  EXPECT_THROW(store_.claim_due({std::string("a\0b", 3), 10, 60s}), StoreError);
}

TEST_F(ClaimTest, ConcurrentClaimersNeverGetTheSameRow) {
  constexpr int kRows = 400;
  for (int i = 0; i < kRows; ++i) {
    ASSERT_EQ(store_.ingest(transaction(fmt::format("ORD-{}", i))), IngestResult::Inserted);
  }
  std::vector<std::future<std::vector<std::string>>> claimers;
  for (int c = 0; c < 6; ++c) {
    claimers.push_back(std::async(std::launch::async, [&, c] {
      std::vector<std::string> mine;
      for (auto batch = store_.claim_due({fmt::format("replica-{}", c), 7, 60s}); !batch.empty();
           batch = store_.claim_due({fmt::format("replica-{}", c), 7, 60s})) {
        for (const auto& t : batch) mine.push_back(t.xid);
      }
      return mine;
    }));
  }
  std::vector<std::string> all;
  for (auto& claimer : claimers) {
    const auto mine = claimer.get();
    all.insert(all.end(), mine.begin(), mine.end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kRows));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), static_cast<std::size_t>(kRows));
}

TEST_F(ClaimTest, AnExpiredLeaseIsTakenOver) {
  // A lease long enough that a loaded machine cannot let it lapse before the first claim.
  ingest_and_claim("ORD-1", "replica-a", 1s);
  EXPECT_TRUE(store_.claim_due({"replica-b", 10, 60s}).empty()) << "the lease is still valid";
  std::this_thread::sleep_for(1200ms);
  const auto taken = store_.claim_due({"replica-b", 10, 60s});
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_TRUE(taken[0].lease_taken_over);
  EXPECT_EQ(taken[0].lease_owner, "replica-b");
  EXPECT_TRUE(store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Cancel).lease_lost);
}

TEST_F(ClaimTest, ReclaimingOnesOwnExpiredLeaseIsNotATakeOver) {
  ingest_and_claim("ORD-1", "replica-a", 1ms);
  std::this_thread::sleep_for(5ms);
  const auto again = store_.claim_due({"replica-a", 10, 60s});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_FALSE(again[0].lease_taken_over);
}

// The claim must read only the partial index, whatever the history holds.
TEST_F(ClaimTest, ExplainShowsTheClaimUsesThePartialDueIndex) {
  exec(R"(
INSERT INTO compensatord.transactions (xid, status, decision, due_at, next_attempt_at, finished_at)
SELECT 'done-' || i, 'CONFIRMED', 'confirm', now() - interval '1 day', now() - interval '1 day', now()
  FROM generate_series(1, 20000) AS i;
INSERT INTO compensatord.transactions (xid, due_at, next_attempt_at)
SELECT 'pending-' || i, now() + i * interval '1 second', now() + i * interval '1 second'
  FROM generate_series(1, 50) AS i;
ANALYZE compensatord.transactions;)");
  pqxx::work work(connection_);
  std::string plan;
  for (const auto& line :
       work.exec_params("EXPLAIN " + std::string(claim_due_sql()), "replica-a", 100, 60000LL, R"(["in-flight"])")) {
    plan += line[0].as<std::string>() + "\n";
  }
  EXPECT_NE(plan.find("transactions_due"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("Seq Scan on transactions"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("Sort"), std::string::npos) << plan;
}

}  // namespace
}  // namespace compensatord::store::testing
