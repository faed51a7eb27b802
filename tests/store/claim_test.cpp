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
  EXPECT_EQ(t.next_attempt_at, t.due_at) << "the lease is not a move within the due index";
  const auto lease = row(
      "SELECT lease_owner, extract(epoch FROM lease_expires_at - now()) FROM compensatord.transactions WHERE xid = $1",
      "ORD-1");
  EXPECT_EQ(lease[0].as<std::string>(), "replica-a");
  EXPECT_NEAR(lease[1].as<double>(), 60.0, 2.0);
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

// Updates and heap-only updates of compensatord.transactions counted by the statistics so far.
struct UpdateCounts {
  long long updates = 0;
  long long heap_only = 0;
};

UpdateCounts update_counts(pqxx::connection& connection) {
  pqxx::work work(connection);
  const auto row = work.exec1(
      "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
      "WHERE relid = 'compensatord.transactions'::regclass");
  return {row[0].as<long long>(), row[1].as<long long>()};
}

TEST_F(ClaimTest, AClaimARenewalAndAReleaseWriteNoIndexEntry) {
  // Ten rows share a page with room for a new version of each: every update that changes no
  // indexed column is heap-only. (A claim that moved next_attempt_at, a key of transactions_due,
  // or stamped updated_at, a key of transactions_parked_retention, would be none.)
  std::vector<LeasedXid> leases;
  {
    PgStore store(db_.dsn(), PgStoreOptions{1, 10s});
    for (int i = 0; i < 10; ++i) ASSERT_EQ(store.ingest(transaction(fmt::format("ORD-{}", i))), IngestResult::Inserted);
    for (const auto& t : store.claim_due({"replica-a", 10, 60s})) leases.push_back({t.xid, lease_of(t)});
    ASSERT_EQ(leases.size(), 10u);
    ASSERT_TRUE(store.renew(leases, 60s).empty());
    store.release(leases);
    EXPECT_EQ(store.count_due(), 10) << "a released row is due again at once";
  }
  // A backend sends its counts to the statistics when it exits (and at most once a second before).
  UpdateCounts counts;
  for (int i = 0; i < 100 && counts.updates < 30; ++i) {
    std::this_thread::sleep_for(50ms);
    counts = update_counts(connection_);
  }
  EXPECT_EQ(counts.updates, 30);
  EXPECT_EQ(counts.heap_only, 30) << "a lease change rewrote an index";
}

// The claim of the daemon before migration 0016, which took every row whose next_attempt_at had
// passed. A row this version claims keeps its next_attempt_at: the schema must keep its lease.
constexpr const char* kEarlierVersionsClaimSql = R"(
WITH due AS (
  SELECT xid FROM compensatord.transactions
   WHERE status IN ('PENDING', 'COMMITTED', 'CONFIRMING', 'CANCELLING') AND next_attempt_at <= now()
   ORDER BY next_attempt_at LIMIT 10 FOR UPDATE SKIP LOCKED)
UPDATE compensatord.transactions AS t
   SET lease_owner = 'replica-old', lease_token = nextval('compensatord.lease_tokens'),
       lease_expires_at = now() + interval '1 minute', next_attempt_at = now() + interval '1 minute',
       updated_at = now()
  FROM due WHERE t.xid = due.xid
RETURNING t.xid)";

TEST_F(ClaimTest, AnEarlierVersionsClaimCannotTakeOverALiveLease) {
  const Lease held_by_a = lease_of(ingest_and_claim("ORD-1", "replica-a"));
  ASSERT_EQ(store_.ingest(transaction("ORD-2")), IngestResult::Inserted);
  pqxx::result taken;
  {
    pqxx::work work(connection_);
    taken = work.exec(kEarlierVersionsClaimSql);
    work.commit();
  }
  ASSERT_EQ(taken.size(), 1u) << "only the unleased row";
  EXPECT_EQ(taken[0][0].as<std::string>(), "ORD-2");
  EXPECT_EQ(held("ORD-1").owner, "replica-a");
  EXPECT_EQ(held("ORD-1").token, held_by_a.token);
  auto result = write_back_for("ORD-1", "replica-a", Status::Pending, Status::Pending, 1);
  result.requeue_after = 1min;
  EXPECT_TRUE(store_.write_back(result)) << "the holder's write-back still holds";
  EXPECT_TRUE(store_.claim_due({"replica-b", 10, 60s}).empty()) << "ORD-1 backs off, ORD-2 is the old replica's";
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
