// PgStore: ingest, decide, write_back, release, reads, and what it does with bad input.
#include "store_fixture.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <future>
#include <thread>

namespace compensatord::store::testing {
namespace {

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const StoreError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a StoreError";
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

using PgStoreTest = StoreTest;

TEST_F(PgStoreTest, IngestStoresTheTransactionAndItsBranches) {
  const auto due = Clock::now() + 5min;
  ASSERT_EQ(store_.ingest(transaction("ORD-1", due)), IngestResult::Inserted);
  const auto t = store_.find("ORD-1");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->status, Status::Pending);
  EXPECT_EQ(t->source, "pending_log");
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(t->due_at - due).count(), 0);
  EXPECT_EQ(t->next_attempt_at, t->due_at);
  ASSERT_EQ(t->branches.size(), 2u);
  EXPECT_EQ(t->branches[0].no, 0);
  EXPECT_EQ(t->branches[0].fields, (nlohmann::json{{"sku", "A-1"}, {"qty", 2}}));
  EXPECT_EQ(t->branches[1].no, 1);
  EXPECT_EQ(t->branches[1].participant, "coupon");
  EXPECT_EQ(t->branches[1].status, BranchStatus::Waiting);
  EXPECT_FALSE(store_.find("ORD-2").has_value());
}

TEST_F(PgStoreTest, IngestingTheSameXidTwiceChangesNothing) {
  ASSERT_EQ(store_.ingest(transaction("ORD-1")), IngestResult::Inserted);
  // The same branches in another order (other branches are a Conflict: ingest_conflict_test.cpp).
  auto again = transaction("ORD-1", Clock::now() + 1h, {default_branches()[1], default_branches()[0]});
  again.source = "kafka:orders";
  EXPECT_EQ(store_.ingest(again), IngestResult::AlreadyKnown);
  const auto t = store_.find("ORD-1");
  EXPECT_EQ(t->source, "pending_log");
  EXPECT_LT(t->due_at, Clock::now());
  ASSERT_EQ(t->branches.size(), 2u);
  EXPECT_EQ(t->branches[0].participant, "stock");
}

TEST_F(PgStoreTest, ConcurrentIngestsOfOneXidInsertItOnce) {
  std::vector<std::future<IngestResult>> ingests;
  for (int i = 0; i < 8; ++i) {
    ingests.push_back(std::async(std::launch::async, [&] { return store_.ingest(transaction("ORD-1")); }));
  }
  int inserted = 0;
  for (auto& f : ingests) inserted += f.get() == IngestResult::Inserted ? 1 : 0;
  EXPECT_EQ(inserted, 1);
  EXPECT_EQ(store_.find("ORD-1")->branches.size(), 2u);
}

TEST_F(PgStoreTest, IngestRejectsBadInputNamingTheKeyAndWritesNothing) {
  EXPECT_TRUE(contains(error_of([&] { store_.ingest(transaction("")); }), "xid must not be empty"));
  EXPECT_TRUE(contains(error_of([&] { store_.ingest(transaction(std::string("OR\0D", 4))); }), "xid contains a NUL"));
  EXPECT_TRUE(
      contains(error_of([&] { store_.ingest(transaction(std::string(257, 'x'))); }), "transactions_xid_length"));
  EXPECT_TRUE(contains(error_of([&] { store_.ingest(transaction(std::string(1 << 20, 'x'))); }), "ingest \"xxxx"));
  EXPECT_TRUE(contains(error_of([&] {
                         store_.ingest(transaction("ORD-1", Clock::now(), {{"", {}}}));
                       }),
                       "branch 0 participant must not be empty"));
  EXPECT_TRUE(contains(error_of([&] {
                         store_.ingest(transaction("ORD-1", Clock::now(), {{"stock", {1, 2}}}));
                       }),
                       "fields must be a JSON object"));
  EXPECT_TRUE(contains(error_of([&] {
                         store_.ingest(transaction("ORD-1", Clock::now(), {{"stock", {{"sku", "\xff\xfe"}}}}));
                       }),
                       "not valid UTF-8"));
  EXPECT_TRUE(contains(error_of([&] { store_.ingest(transaction("ORD-\xff")); }), "UTF8"));
  auto long_kind = transaction("ORD-1");
  long_kind.kind = std::string(300, 'k');
  EXPECT_TRUE(contains(error_of([&] { store_.ingest(long_kind); }), "transactions_kind_length"));
  EXPECT_EQ(store_.count_by_status()[0].count, 0);
}

std::vector<NewBranch> numbered_branches(std::size_t count) {
  std::vector<NewBranch> branches;
  for (std::size_t i = 0; i < count; ++i) branches.push_back({fmt::format("p{}", i), {{"n", i}}});
  return branches;
}

long long count_of(pqxx::connection& connection, const std::string& table) {
  pqxx::read_transaction work(connection);
  return work.exec1("SELECT count(*) FROM compensatord." + table)[0].as<long long>();
}

TEST_F(PgStoreTest, IngestAcceptsAsManyBranchesAsTheCapAndRefusesOneMore) {
  ASSERT_EQ(store_.ingest(transaction("ORD-64", Clock::now(), numbered_branches(kMaxBranches))),
            IngestResult::Inserted);
  EXPECT_EQ(store_.find("ORD-64")->branches.size(), kMaxBranches);

  const auto error = error_of([&] { store_.ingest(transaction("ORD-65", Clock::now(), numbered_branches(65))); });
  EXPECT_EQ(error, "ingest \"ORD-65\": 65 branches, more than the limit of 64 per transaction");
  EXPECT_FALSE(store_.find("ORD-65").has_value());
  EXPECT_EQ(count_of(connection_, "transactions"), 1);
  EXPECT_EQ(count_of(connection_, "branches"), static_cast<long long>(kMaxBranches));
}

TEST_F(PgStoreTest, IngestBatchAnswersPerInputInOrderAndStoresOnlyNewTransactions) {
  ASSERT_EQ(store_.ingest(transaction("ORD-2")), IngestResult::Inserted);
  auto known_again = transaction("ORD-2", Clock::now() + 1h);
  known_again.source = "kafka:orders";
  auto first = transaction("ORD-1", Clock::now() + 5min, {{"stock", {{"sku", "A-1"}}}});
  auto repeated = transaction("ORD-1", Clock::now() + 1h, {{"stock", {{"sku", "A-1"}}}});
  auto third = transaction("ORD-3", Clock::now() + 5min, numbered_branches(kMaxBranches));

  const auto results = store_.ingest_batch({first, known_again, third, repeated});
  EXPECT_EQ(results, (std::vector<IngestResult>{IngestResult::Inserted, IngestResult::AlreadyKnown,
                                                IngestResult::Inserted, IngestResult::AlreadyKnown}));
  const auto one = store_.find("ORD-1");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(one->due_at - first.due_at).count(), 0);
  EXPECT_EQ(one->next_attempt_at, one->due_at);
  EXPECT_EQ(one->status, Status::Pending);
  ASSERT_EQ(one->branches.size(), 1u);  // the first occurrence's
  EXPECT_EQ(one->branches[0].participant, "stock");
  EXPECT_EQ(one->branches[0].fields, (nlohmann::json{{"sku", "A-1"}}));
  const auto two = store_.find("ORD-2");  // left exactly as the first ingest made it
  EXPECT_EQ(two->source, "pending_log");
  EXPECT_LT(two->due_at, Clock::now());
  ASSERT_EQ(two->branches.size(), 2u);
  EXPECT_EQ(two->branches[0].participant, "stock");
  const auto three = store_.find("ORD-3");
  ASSERT_EQ(three->branches.size(), kMaxBranches);
  EXPECT_EQ(three->branches[kMaxBranches - 1].no, static_cast<int>(kMaxBranches) - 1);
  EXPECT_EQ(three->branches[kMaxBranches - 1].fields, (nlohmann::json{{"n", kMaxBranches - 1}}));
  EXPECT_EQ(count_of(connection_, "branches"), 2 + 1 + static_cast<long long>(kMaxBranches));

  EXPECT_EQ(store_.ingest_batch({first, third}),
            (std::vector<IngestResult>{IngestResult::AlreadyKnown, IngestResult::AlreadyKnown}));
  EXPECT_TRUE(store_.ingest_batch({}).empty());
}

TEST_F(PgStoreTest, IngestBatchOverTheBranchCapIsRefusedWholeAndWritesNothing) {
  const auto error = error_of([&] {
    store_.ingest_batch({transaction("ORD-1"), transaction("ORD-64", Clock::now(), numbered_branches(kMaxBranches)),
                         transaction("ORD-65", Clock::now(), numbered_branches(kMaxBranches + 1))});
  });
  EXPECT_EQ(error, "ingest_batch \"ORD-65\": 65 branches, more than the limit of 64 per transaction");
  // A repeated xid is checked too, although only its first occurrence could be stored.
  EXPECT_TRUE(contains(error_of([&] {
                         store_.ingest_batch({transaction("ORD-1"),
                                              transaction("ORD-1", Clock::now(), numbered_branches(kMaxBranches + 1))});
                       }),
                       "65 branches, more than the limit of 64"));
  EXPECT_EQ(count_of(connection_, "transactions"), 0);
  EXPECT_EQ(count_of(connection_, "branches"), 0);
}

TEST_F(PgStoreTest, IngestBatchIsAllOrNothing) {
  // The database refuses the last one (xid longer than 256): the others are not stored either.
  const auto error = error_of([&] {
    store_.ingest_batch({transaction("ORD-1"), transaction("ORD-2"), transaction(std::string(257, 'x'))});
  });
  EXPECT_TRUE(contains(error, "ingest_batch of 3 transactions")) << error;
  EXPECT_TRUE(contains(error, "transactions_xid_length")) << error;
  EXPECT_EQ(count_of(connection_, "transactions"), 0);
  EXPECT_EQ(count_of(connection_, "branches"), 0);
  EXPECT_TRUE(contains(error_of([&] {
                         store_.ingest_batch({transaction("ORD-1"), transaction("")});
                       }),
                       "xid must not be empty"));
  EXPECT_EQ(count_of(connection_, "transactions"), 0);
}

TEST_F(PgStoreTest, ConcurrentBatchesOverlappingInAnyOrderInsertEachXidOnceWithoutDeadlock) {
  std::vector<NewTransaction> txns;
  for (int i = 0; i < 300; ++i) txns.push_back(transaction(fmt::format("ORD-{}", i)));
  std::vector<std::future<std::vector<IngestResult>>> batches;
  for (int replica = 0; replica < 6; ++replica) {
    auto order = txns;
    // Every replica in its own order: forwards, backwards, rotated.
    if (replica % 2 == 1) std::reverse(order.begin(), order.end());
    std::rotate(order.begin(), order.begin() + replica * 37, order.end());
    batches.push_back(std::async(std::launch::async, [this, order] { return store_.ingest_batch(order); }));
  }
  long long inserted = 0;
  for (auto& batch : batches) {
    for (const auto result : batch.get()) inserted += result == IngestResult::Inserted ? 1 : 0;  // throws on deadlock
  }
  EXPECT_EQ(inserted, 300);
  EXPECT_EQ(count_of(connection_, "transactions"), 300);
  EXPECT_EQ(count_of(connection_, "branches"), 600);
}

TEST_F(PgStoreTest, ErrorMessagesStayShortForHugeValues) {
  const auto message = error_of([&] { store_.ingest(transaction(std::string(1 << 20, '\''))); });
  EXPECT_LT(message.size(), 1000u) << message.substr(0, 2000);
}

TEST_F(PgStoreTest, HostileStringsRoundTrip) {
  const std::string xid = "ORD-'\"\\;--/*é注文🚀\t\r\n$1%s{}";
  auto txn = transaction(xid, Clock::now() - 1s, {{"stöck 'x'", {{"sku", "O'Reilly \"quoted\" 🚀"}, {"q", 1.5}}}});
  txn.kind = "kind '); DELETE FROM compensatord.branches; --";
  ASSERT_EQ(store_.ingest(txn), IngestResult::Inserted);
  const auto claimed = store_.claim_due({"replica 'a' 🚀", 10, 60s});
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].xid, xid);
  EXPECT_EQ(claimed[0].kind, txn.kind);
  EXPECT_EQ(claimed[0].lease_owner, "replica 'a' 🚀");
  EXPECT_EQ(claimed[0].branches[0].participant, "stöck 'x'");
  EXPECT_EQ(claimed[0].branches[0].fields, txn.branches[0].fields);

  const std::string huge_error(1 << 20, 'e');
  auto result = write_back_for(xid, "replica 'a' 🚀", Status::Pending, Status::Pending, 1);
  result.last_error = huge_error + "'\"🚀";
  result.attempts = {{xid, std::nullopt, AttemptAction::Check, "replica 'a' 🚀", Clock::now(),
                      "GET http://order/orders/ORD-'\"", CheckVerdict::Unknown, std::nullopt, 3ms, result.last_error,
                      std::nullopt}};
  ASSERT_TRUE(store_.write_back(result));
  EXPECT_EQ(store_.find(xid)->last_error, result.last_error);
  const auto trail = store_.attempts(xid);
  ASSERT_EQ(trail.size(), 1u);
  EXPECT_EQ(trail[0].error, result.last_error);
  EXPECT_EQ(trail[0].request_summary, "GET http://order/orders/ORD-'\"");
  EXPECT_EQ(store_.count_by_status()[0].count, 1);
}

TEST_F(PgStoreTest, DiagnosticsWithInvalidUtf8OrNulAreStoredWithReplacementCharacters) {
  ingest_and_claim("ORD-1", "replica-a");
  auto result = write_back_for("ORD-1", "replica-a", Status::Pending, Status::Pending, 1);
  result.last_error = std::string("bad \xff body \0 here", 17);
  ASSERT_TRUE(store_.write_back(result));
  EXPECT_EQ(store_.find("ORD-1")->last_error, "bad \xEF\xBF\xBD body \xEF\xBF\xBD here");
}

TEST_F(PgStoreTest, DecideIsACompareAndSetThatOnlyTheFirstDecisionWins) {
  ingest_and_claim("ORD-1", "replica-a");
  const auto first = store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Cancel);
  EXPECT_TRUE(first.decided_by_us);
  EXPECT_FALSE(first.lease_lost);
  EXPECT_EQ(first.decision, Decision::Cancel);
  EXPECT_EQ(first.status, Status::Cancelling);

  const auto second = store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Confirm);
  EXPECT_FALSE(second.decided_by_us);
  EXPECT_FALSE(second.lease_lost);
  EXPECT_EQ(second.decision, Decision::Cancel);
  EXPECT_EQ(second.status, Status::Cancelling);
  const auto t = store_.find("ORD-1");
  EXPECT_EQ(t->decision, Decision::Cancel);
  EXPECT_EQ(t->decided_by, "replica-a");
}

TEST_F(PgStoreTest, DecideWithoutTheLeaseChangesNothing) {
  ingest_and_claim("ORD-1", "replica-a");
  const auto result = store_.decide("ORD-1", lease_as("replica-b", "ORD-1"), Decision::Cancel);
  EXPECT_TRUE(result.lease_lost);
  EXPECT_FALSE(result.decided_by_us);
  EXPECT_FALSE(result.decision.has_value());
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Pending);
  EXPECT_TRUE(store_.decide("ORD-unknown", lease_as("replica-a", "ORD-unknown"), Decision::Cancel).lease_lost);
}

TEST_F(PgStoreTest, DecideOnACommittedTransactionReportsConfirm) {
  ingest_and_claim("ORD-1", "replica-a");
  exec("SELECT compensatord.commit_transaction('ORD-1')");
  const auto result = store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Cancel);
  EXPECT_FALSE(result.decided_by_us);
  EXPECT_FALSE(result.lease_lost);
  EXPECT_EQ(result.decision, Decision::Confirm);
  EXPECT_EQ(result.status, Status::Committed);
}

TEST_F(PgStoreTest, TwoOwnersRacingToDecideProduceExactlyOneDecision) {
  for (int round = 0; round < 30; ++round) {
    const std::string xid = fmt::format("ORD-{}", round);
    const Lease stale = store::lease_of(ingest_and_claim(xid, "replica-a", 1ms));
    std::this_thread::sleep_for(5ms);
    const auto taken = store_.claim_due({"replica-b", 1000, 60s});
    ASSERT_EQ(taken.size(), 1u);
    const Lease current = store::lease_of(taken[0]);
    std::promise<void> go;
    const auto start = go.get_future().share();
    auto a = std::async(std::launch::async, [&] {
      start.wait();
      return store_.decide(xid, stale, Decision::Confirm);
    });
    auto b = std::async(std::launch::async, [&] {
      start.wait();
      return store_.decide(xid, current, Decision::Cancel);
    });
    go.set_value();
    const auto ra = a.get();
    const auto rb = b.get();
    EXPECT_FALSE(ra.decided_by_us);
    EXPECT_TRUE(ra.lease_lost);
    EXPECT_TRUE(rb.decided_by_us);
    EXPECT_EQ(store_.find(xid)->decision, Decision::Cancel);
  }
}

TEST_F(PgStoreTest, WriteBackAppliesResultsRequeuesAndReleasesTheLease) {
  ingest_and_claim("ORD-1", "replica-a");
  ASSERT_TRUE(store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Cancel).decided_by_us);
  auto result = write_back_for("ORD-1", "replica-a", Status::Cancelling, Status::Cancelling, 1);
  result.requeue_after = 30s;
  result.last_error = "coupon: 503";
  result.last_http_status = 503;
  result.branches = {{0, BranchStatus::Done, Outcome::Done, "", 200},
                     {1, BranchStatus::Waiting, Outcome::Retry, "503 Service Unavailable", 503}};
  const auto started = Clock::now();
  result.attempts = {{"ORD-1", 0, AttemptAction::Cancel, "replica-a", started, "POST http://stock/rollback/ORD-1",
                      Outcome::Done, 200, 12ms, "", std::nullopt},
                     {"ORD-1", 1, AttemptAction::Cancel, "replica-a", started, "POST http://coupon/unlock/ORD-1",
                      Outcome::Retry, 503, 40ms, "busy", std::nullopt}};
  ASSERT_TRUE(store_.write_back(result));

  const auto t = store_.find("ORD-1");
  EXPECT_EQ(t->status, Status::Cancelling);
  EXPECT_EQ(t->attempt_count, 1);
  EXPECT_EQ(t->last_error, "coupon: 503");
  EXPECT_EQ(t->last_http_status, 503);
  EXPECT_EQ(t->lease_owner, "");
  EXPECT_NEAR(std::chrono::duration<double>(t->next_attempt_at - Clock::now()).count(), 30.0, 2.0);
  EXPECT_EQ(t->branches[0].status, BranchStatus::Done);
  EXPECT_EQ(t->branches[0].last_outcome, Outcome::Done);
  EXPECT_EQ(t->branches[0].attempt_count, 1);
  EXPECT_EQ(t->branches[1].status, BranchStatus::Waiting);
  EXPECT_EQ(t->branches[1].last_outcome, Outcome::Retry);
  EXPECT_EQ(t->branches[1].last_error, "503 Service Unavailable");
  EXPECT_EQ(t->branches[1].last_http_status, 503);

  const auto trail = store_.attempts("ORD-1");
  ASSERT_EQ(trail.size(), 2u);
  EXPECT_EQ(trail[0].branch_no, 0);
  EXPECT_EQ(trail[1].outcome, AttemptOutcome{Outcome::Retry});
  EXPECT_EQ(trail[1].latency, 40ms);
  EXPECT_EQ(trail[1].http_status, 503);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(trail[1].started_at - started).count(), 0);
  EXPECT_EQ(store_.count_due(), 0);
}

TEST_F(PgStoreTest, WriteBackOfATerminalStatusSetsFinishedAtAndLeavesTheDueIndex) {
  ingest_and_claim("ORD-1", "replica-a");
  ASSERT_TRUE(store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Confirm).decided_by_us);
  auto result = write_back_for("ORD-1", "replica-a", Status::Confirming, Status::Confirmed, 1);
  ASSERT_TRUE(store_.write_back(result));
  EXPECT_FALSE(row("SELECT finished_at FROM compensatord.transactions WHERE xid = $1", "ORD-1")[0].is_null());
  EXPECT_TRUE(store_.claim_due({"replica-b", 10, 60s}).empty());
  const auto counts = store_.count_by_status();
  ASSERT_EQ(counts.size(), kAllStatuses.size());
  for (const auto& c : counts) EXPECT_EQ(c.count, c.status == Status::Confirmed ? 1 : 0) << to_string(c.status);
}

TEST_F(PgStoreTest, WriteBackWithALostLeaseWritesOnlyItsAttempts) {
  ingest_and_claim("ORD-1", "replica-a", 1ms);
  std::this_thread::sleep_for(5ms);
  ASSERT_EQ(store_.claim_due({"replica-b", 10, 60s}).size(), 1u);
  auto stale = write_back_for("ORD-1", "replica-a", Status::Pending, Status::Pending, 7);
  stale.last_error = "stale";
  stale.branches = {{0, BranchStatus::Fatal, Outcome::Fatal, "stale", 400}};
  stale.attempts = {{"ORD-1", std::nullopt, AttemptAction::Check, "replica-a", Clock::now(), "", CheckVerdict::Unknown,
                     std::nullopt, 1ms, "", std::nullopt}};
  EXPECT_FALSE(store_.write_back(stale));
  const auto t = store_.find("ORD-1");
  EXPECT_EQ(t->attempt_count, 0);
  EXPECT_EQ(t->last_error, "");
  EXPECT_EQ(t->lease_owner, "replica-b");
  EXPECT_EQ(t->branches[0].status, BranchStatus::Waiting);
  const auto trail = store_.attempts("ORD-1");
  ASSERT_EQ(trail.size(), 1u) << "a call that happened is evidence, lease or not";
  EXPECT_EQ(trail[0].replica, "replica-a");
}

// The same replica claiming a row again (its first lease lapsed) holds a new token: what still
// runs under the old claim can neither decide, nor write back, nor renew, nor release.
TEST_F(PgStoreTest, AnOldClaimsTokenIsFencedOffEvenForTheSameReplica) {
  const Lease old_lease = store::lease_of(ingest_and_claim("ORD-1", "replica-a", 1ms));
  std::this_thread::sleep_for(5ms);
  const auto again = store_.claim_due({"replica-a", 10, 60s});
  ASSERT_EQ(again.size(), 1u);
  const Lease new_lease = store::lease_of(again[0]);
  ASSERT_EQ(new_lease.owner, old_lease.owner);
  ASSERT_NE(new_lease.token, old_lease.token);

  EXPECT_TRUE(store_.decide("ORD-1", old_lease, Decision::Cancel).lease_lost);
  EXPECT_EQ(store_.renew({{"ORD-1", old_lease}}, 60s), std::vector<std::string>{"ORD-1"});
  store_.release({{"ORD-1", old_lease}});
  EXPECT_EQ(held("ORD-1").token, new_lease.token) << "an old token releases nothing";
  WriteBack stale;
  stale.xid = "ORD-1";
  stale.lease = old_lease;
  stale.status = Status::Parked;
  stale.parked_reason = "stale";
  EXPECT_FALSE(store_.write_back(stale));
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Pending);

  EXPECT_TRUE(store_.decide("ORD-1", new_lease, Decision::Cancel).decided_by_us);
}

TEST_F(PgStoreTest, AnExpiredLeaseIsFencedOffBeforeAnyoneTakesItOver) {
  const Lease lease = store::lease_of(ingest_and_claim("ORD-1", "replica-a", 1ms));
  std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(store_.decide("ORD-1", lease, Decision::Cancel).lease_lost);
  EXPECT_EQ(store_.renew({{"ORD-1", lease}}, 60s), std::vector<std::string>{"ORD-1"});
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Pending);
}

TEST_F(PgStoreTest, RenewalExtendsTheLeaseAndKeepsTheRowOutOfOtherClaims) {
  const Lease lease = store::lease_of(ingest_and_claim("ORD-1", "replica-a", 1s));
  const Lease other = store::lease_of(ingest_and_claim("ORD-2", "replica-a", 1s));
  EXPECT_TRUE(store_.renew({{"ORD-1", lease}, {"ORD-2", other}}, 60s).empty());
  std::this_thread::sleep_for(1200ms);
  EXPECT_TRUE(store_.claim_due({"replica-b", 10, 60s}).empty()) << "renewed for 60 s";
  EXPECT_TRUE(store_.decide("ORD-1", lease, Decision::Cancel).decided_by_us);
  EXPECT_THROW(store_.renew({{"ORD-1", lease}, {"ORD-2", {"replica-b", other.token}}}, 60s), StoreError)
      << "one owner per renewal";
}

TEST_F(PgStoreTest, AClaimSkipsTheXidsItsReplicaStillHasInFlight) {
  ingest_and_claim("ORD-1", "replica-a", 1ms);
  ASSERT_EQ(store_.ingest(transaction("ORD-2")), IngestResult::Inserted);
  std::this_thread::sleep_for(5ms);
  ClaimRequest request{"replica-a", 10, 60s, {"ORD-1"}};
  const auto claimed = store_.claim_due(request);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].xid, "ORD-2");
}

TEST_F(PgStoreTest, ManyDecisionsAndWriteBacksGoInOneCallEachWithResultsInOrder) {
  std::vector<DecideRequest> decisions;
  for (const char* xid : {"ORD-1", "ORD-2", "ORD-3"}) {
    decisions.push_back({xid, store::lease_of(ingest_and_claim(xid, "replica-a")), Decision::Cancel});
  }
  decisions[1].lease.token += 1000;  // a lease this replica does not hold
  exec("SELECT compensatord.commit_transaction('ORD-3')");
  const auto decided = store_.decide_all(decisions);
  ASSERT_EQ(decided.size(), 3u);
  EXPECT_TRUE(decided[0].decided_by_us);
  EXPECT_TRUE(decided[1].lease_lost);
  EXPECT_FALSE(decided[2].decided_by_us);
  EXPECT_EQ(decided[2].decision, Decision::Confirm);

  std::vector<WriteBack> results;
  for (const auto& d : decisions) {
    WriteBack wb;
    wb.xid = d.xid;
    wb.lease = d.lease;
    wb.expected_status = d.xid == "ORD-1" ? Status::Cancelling : Status::Committed;
    wb.status = d.xid == "ORD-1" ? Status::Cancelled : Status::Confirmed;
    wb.branches = {{0, BranchStatus::Done, Outcome::Done, "", 200}, {1, BranchStatus::Done, Outcome::Done, "", 200}};
    wb.attempts = {
        {d.xid, 0, AttemptAction::Cancel, "replica-a", Clock::now(), "", Outcome::Done, 200, 1ms, "", std::nullopt}};
    results.push_back(wb);
  }
  EXPECT_EQ(store_.write_back_all(results), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Cancelled);
  EXPECT_EQ(store_.find("ORD-2")->status, Status::Pending);
  EXPECT_EQ(store_.find("ORD-2")->branches[0].status, BranchStatus::Waiting);
  EXPECT_EQ(store_.find("ORD-3")->status, Status::Confirmed);
  for (const char* xid : {"ORD-1", "ORD-2", "ORD-3"}) EXPECT_EQ(store_.attempts(xid).size(), 1u) << xid;
}

TEST_F(PgStoreTest, WriteBackNamingAnUnknownBranchIsRejectedAndRolledBack) {
  ingest_and_claim("ORD-1", "replica-a");
  auto result = write_back_for("ORD-1", "replica-a", Status::Pending, Status::Pending, 1);
  result.branches = {{7, BranchStatus::Done, Outcome::Done, "", 200}};
  EXPECT_TRUE(contains(error_of([&] { store_.write_back(result); }), "unknown or repeated branch"));
  const auto t = store_.find("ORD-1");
  EXPECT_EQ(t->attempt_count, 0);
  EXPECT_EQ(t->lease_owner, "replica-a");
}

TEST_F(PgStoreTest, WriteBackThatContradictsTheDecisionIsRejected) {
  ingest_and_claim("ORD-1", "replica-a");
  ASSERT_TRUE(store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Cancel).decided_by_us);
  auto result = write_back_for("ORD-1", "replica-a", Status::Cancelling, Status::Confirmed, 1);
  EXPECT_TRUE(contains(error_of([&] { store_.write_back(result); }), "transactions_status_matches_decision"));
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Cancelling);
}

TEST_F(PgStoreTest, WriteBackOfAnUndecidedCheckKeepsACommitTheOrderServiceMadeMeanwhile) {
  ingest_and_claim("ORD-PENDING", "replica-a");
  ingest_and_claim("ORD-PARKED", "replica-a");
  for (const auto reported : {Status::Pending, Status::Parked}) {
    const std::string xid = fmt::format("ORD-{}", to_string(reported));
    exec(fmt::format("SELECT compensatord.commit_transaction('{}')", xid));
    auto unknown = write_back_for(xid, "replica-a", Status::Pending, reported, 3);
    unknown.requeue_after = 1h;
    unknown.last_error = "check: order database timed out";
    unknown.parked_reason = "check never answered";
    unknown.attempts = {{xid, std::nullopt, AttemptAction::Check, "replica-a", Clock::now(), "", CheckVerdict::Unknown,
                         std::nullopt, 5ms, "", std::nullopt}};
    ASSERT_TRUE(store_.write_back(unknown));
    const auto t = store_.find(xid);
    EXPECT_EQ(t->status, Status::Committed);
    EXPECT_EQ(t->parked_reason, "");
    EXPECT_EQ(t->last_error, "check: order database timed out");
    EXPECT_EQ(t->attempt_count, 3);
    EXPECT_EQ(t->lease_owner, "");
    EXPECT_LE(t->next_attempt_at, Clock::now());
    EXPECT_EQ(store_.attempts(xid).size(), 1u);
  }
  EXPECT_EQ(store_.count_due(), 2);
}

TEST_F(PgStoreTest, ReleaseClearsOnlyTheOwnersLeasesAndMakesThemDueNow) {
  const Lease a = store::lease_of(ingest_and_claim("ORD-1", "replica-a"));
  const Lease b = store::lease_of(ingest_and_claim("ORD-2", "replica-b"));
  store_.release({{"ORD-1", a}, {"ORD-2", {"replica-a", b.token}}, {"ORD-unknown", a}});
  EXPECT_EQ(store_.find("ORD-1")->lease_owner, "");
  EXPECT_EQ(store_.find("ORD-2")->lease_owner, "replica-b");
  EXPECT_EQ(store_.count_due(), 1);
  const auto again = store_.claim_due({"replica-c", 10, 60s});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].xid, "ORD-1");
  EXPECT_FALSE(again[0].lease_taken_over);
  EXPECT_EQ(again[0].attempt_count, 0);
}

TEST_F(PgStoreTest, AttemptsAreAppendOnly) {
  ingest_and_claim("ORD-1", "replica-a");
  auto result = write_back_for("ORD-1", "replica-a", Status::Pending, Status::Pending, 1);
  result.attempts = {{"ORD-1", std::nullopt, AttemptAction::Check, "replica-a", Clock::now(), "", CheckVerdict::Unknown,
                      std::nullopt, 1ms, "", std::nullopt}};
  ASSERT_TRUE(store_.write_back(result));
  EXPECT_THROW(exec("UPDATE compensatord.attempts SET outcome = 'committed'"), pqxx::sql_error);
  EXPECT_EQ(store_.attempts("ORD-1")[0].outcome, AttemptOutcome{CheckVerdict::Unknown});
}

TEST_F(PgStoreTest, AnAttemptWhoseOutcomeCannotComeOfItsActionIsRefusedByTheStoreAndTheSchema) {
  ingest_and_claim("ORD-1", "replica-a");
  auto result = write_back_for("ORD-1", "replica-a", Status::Pending, Status::Pending, 1);
  result.attempts = {{"ORD-1", std::nullopt, AttemptAction::Check, "replica-a", Clock::now(), "", Outcome::Done,
                      std::nullopt, 1ms, "", std::nullopt}};
  try {
    store_.write_back(result);
    ADD_FAILURE() << "a check that ended done was written";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("a check attempt cannot end done"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(store_.attempts("ORD-1").empty()) << "nothing of the refused write-back is written";

  const std::string insert = "INSERT INTO compensatord.attempts (xid, branch_no, action, started_at, outcome) VALUES ";
  EXPECT_THROW(exec(insert + "('ORD-1', NULL, 'check', now(), 'done')"), pqxx::check_violation);
  EXPECT_THROW(exec(insert + "('ORD-1', 0, 'cancel', now(), 'committed')"), pqxx::check_violation);
  EXPECT_THROW(exec(insert + "('ORD-1', 0, 'cancel', now(), 'DONE')"), pqxx::check_violation);
  EXPECT_NO_THROW(exec(insert + "('ORD-1', 0, 'cancel', now(), 'skipped')"));
  EXPECT_NO_THROW(exec("ALTER TABLE compensatord.attempts VALIDATE CONSTRAINT attempts_outcome_fits_action"))
      << "the check of the rows written before the migration, as the migration tells operators to run it";
  const auto trail = store_.attempts("ORD-1");
  ASSERT_EQ(trail.size(), 1u);
  EXPECT_EQ(trail[0].action, AttemptAction::Cancel);
  EXPECT_EQ(trail[0].outcome, AttemptOutcome{CallProgress::Skipped});
}

TEST_F(PgStoreTest, ATrailRowOutsideTheSchemasOutcomesIsAStoreErrorNamingItAndTheStoreGoesOn) {
  ingest_and_claim("ORD-1", "replica-a");
  // An older or hand-edited schema without the constraint: the store still refuses to guess.
  exec("ALTER TABLE compensatord.attempts DROP CONSTRAINT attempts_outcome_fits_action");
  exec(
      "INSERT INTO compensatord.attempts (xid, branch_no, action, started_at, outcome) "
      "VALUES ('ORD-1', 0, 'cancel', now(), 'absent'), ('ORD-1', 1, 'cancel', now(), repeat('x', 100000))");
  try {
    store_.attempts("ORD-1");
    ADD_FAILURE() << "a cancel that ended absent was read";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(R"(unknown outcome "absent" of a cancel)"), std::string::npos) << e.what();
  }
  exec("DELETE FROM compensatord.attempts WHERE outcome = 'absent'");
  try {
    store_.attempts("ORD-1");
    ADD_FAILURE() << "a 100,000-byte outcome was read";
  } catch (const StoreError& e) {
    EXPECT_LT(std::string_view(e.what()).size(), 400u) << "the message shows a bounded part of the value";
  }
  EXPECT_TRUE(store_.find("ORD-1").has_value());
}

// Sequential scans PostgreSQL ran on the engine's tables, as its statistics count them.
struct Scans {
  long long transactions = 0;
  long long branches = 0;
};

// Every reconcile statement finds its rows by key: with a finished history of 20,000
// transactions, a claim, decisions, write-backs, a renewal and a release read none of it whole.
// (Each batch used to join its jsonb document to the table, planned as a scan of the table.)
TEST_F(PgStoreTest, BatchStatementsFindTheirRowsByKeyWhateverTheHistory) {
  exec(R"(
INSERT INTO compensatord.transactions (xid, kind, source, status, decision, due_at, next_attempt_at, finished_at)
SELECT 'OLD-' || g, 'order', 'pending_log', 'CANCELLED', 'cancel', now(), now(), now()
  FROM generate_series(1, 20000) g;
INSERT INTO compensatord.branches (xid, branch_no, participant, status)
SELECT 'OLD-' || g, 0, 'stock', 'done' FROM generate_series(1, 20000) g;
ANALYZE compensatord.transactions;
ANALYZE compensatord.branches)");
  const auto scans = [this] {
    pqxx::work work(connection_);
    const auto counts = work.exec1(
        "SELECT sum(seq_scan) FILTER (WHERE relname = 'transactions'), sum(seq_scan) FILTER (WHERE relname = "
        "'branches') FROM pg_stat_user_tables WHERE schemaname = 'compensatord'");
    return Scans{counts[0].as<long long>(), counts[1].as<long long>()};
  };
  const Scans before = scans();
  {
    // One connection of its own, closed at the end: a backend flushes its statistics when it exits.
    PgStore store(db_.dsn() + "?application_name=scan-count", PgStoreOptions{1, 10s});
    std::vector<NewTransaction> due;
    for (int i = 0; i < 3; ++i) due.push_back(transaction(fmt::format("NEW-{}", i)));
    store.ingest_batch(due);
    const auto claimed = store.claim_due({"replica-a", 10, 60s});
    ASSERT_EQ(claimed.size(), 3u);
    std::vector<DecideRequest> decisions;
    std::vector<LeasedXid> leases;
    for (const auto& txn : claimed) {
      decisions.push_back({txn.xid, lease_of(txn), Decision::Cancel});
      leases.push_back({txn.xid, lease_of(txn)});
    }
    store.decide_all(decisions);
    EXPECT_TRUE(store.renew(leases, 60s).empty());
    WriteBack done;
    done.xid = claimed[0].xid;
    done.lease = lease_of(claimed[0]);
    done.expected_status = Status::Cancelling;
    done.status = Status::Cancelled;
    done.branches = {{0, BranchStatus::Done, Outcome::Done, "", 200}, {1, BranchStatus::Done, Outcome::Done, "", 200}};
    done.attempts = {
        {done.xid, 0, AttemptAction::Cancel, "replica-a", Clock::now(), "", Outcome::Done, 200, 1ms, "", std::nullopt}};
    EXPECT_EQ(store.write_back_all({done}), std::vector<bool>{true});
    store.release({leases[1], leases[2]});
  }
  for (int i = 0; i < 100; ++i) {
    pqxx::work work(connection_);
    if (work.exec1("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'scan-count'")[0].as<int>() == 0)
      break;
    std::this_thread::sleep_for(50ms);
  }
  const Scans after = scans();
  EXPECT_EQ(after.transactions, before.transactions);
  EXPECT_EQ(after.branches, before.branches);
}

TEST_F(PgStoreTest, ABrokenConnectionIsReopenedOnTheNextUse) {
  EXPECT_EQ(store_.count_due(), 0);
  exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
      "pg_backend_pid()");
  try {
    store_.count_due();
  } catch (const StoreError& e) {
    EXPECT_TRUE(contains(e.what(), "count_due")) << e.what();
  }
  EXPECT_EQ(store_.count_due(), 0);
}

TEST_F(PgStoreTest, AnUnreachableDatabaseFailsWithAStoreErrorThatHidesThePassword) {
  PgStore unreachable("postgresql://svc:hunter2@127.0.0.1:1/state", PgStoreOptions{1, 1s});
  const auto message = error_of([&] { unreachable.count_due(); });
  EXPECT_TRUE(contains(message, "count_due")) << message;
  EXPECT_FALSE(contains(message, "hunter2")) << message;
}

}  // namespace
}  // namespace compensatord::store::testing
