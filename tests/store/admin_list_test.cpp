// What an operator reads and the one action that stops work (0010_abandon_and_list.sql): the list in
// keyset pages with its filters, the plan that keeps it fast on a long history, a transaction's
// audit trail in pages and its admin actions, and abandoning a transaction a human takes over.
#include "store_fixture.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace compensatord::store::testing {
namespace {

class AdminAbandon : public StoreTest {
 protected:
  void park(const std::string& xid) {
    ingest_and_claim(xid, "replica-a");
    auto result = write_back_for(xid, "replica-a", Status::Pending, Status::Parked, 50);
    result.parked_reason = "gave up after 50 attempts: order db unreachable";
    ASSERT_TRUE(store_.write_back(result));
  }
};

TEST_F(AdminAbandon, AParkedTransactionIsAbandonedVisibleAuditedAndNeverClaimedAgain) {
  park("ORD-1");
  const auto result = store_.abandon({"ORD-1", "ops", "finance refunds it by hand (INC-7)"});
  EXPECT_EQ(result.outcome, ActionOutcome::Applied);
  EXPECT_EQ(result.status, Status::Abandoned);

  const auto t = store_.find("ORD-1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, Status::Abandoned);
  EXPECT_EQ(t->branches.size(), 2u) << "it stays visible with its branches";
  EXPECT_FALSE(row("SELECT finished_at FROM compensatord.transactions WHERE xid = $1", "ORD-1")[0].is_null());
  exec("UPDATE compensatord.transactions SET next_attempt_at = now() - interval '1 hour' WHERE xid = 'ORD-1'");
  EXPECT_TRUE(store_.claim_due({"replica-b", 10, 60s}).empty());

  const auto actions = store_.admin_actions("ORD-1");
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].action, AdminVerb::Abandon);
  EXPECT_EQ(actions[0].actor, "ops");
  EXPECT_EQ(actions[0].reason, "finance refunds it by hand (INC-7)");
  EXPECT_EQ(actions[0].before["status"], "PARKED");
  EXPECT_EQ(actions[0].after["status"], "ABANDONED");
  const auto counts = store_.count_by_status();
  EXPECT_EQ(std::find_if(counts.begin(), counts.end(), [](auto& c) { return c.status == Status::Abandoned; })->count,
            1);
}

TEST_F(AdminAbandon, WorkInFlightFinishedOrUnknownIsLeftAlone) {
  ingest_and_claim("ORD-1", "replica-a");
  EXPECT_EQ(store_.abandon({"ORD-1", "ops", "why"}).outcome, ActionOutcome::InFlight);
  ASSERT_TRUE(store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Cancel).decided_by_us);
  ASSERT_TRUE(store_.write_back(write_back_for("ORD-1", "replica-a", Status::Cancelling, Status::Cancelled, 1)));
  const auto finished = store_.abandon({"ORD-1", "ops", "why"});
  EXPECT_EQ(finished.outcome, ActionOutcome::Finished);
  EXPECT_EQ(finished.status, Status::Cancelled);
  EXPECT_EQ(store_.abandon({"ORD-404", "ops", "why"}).outcome, ActionOutcome::Unknown);

  park("ORD-2");
  ASSERT_EQ(store_.abandon({"ORD-2", "ops", "why"}).outcome, ActionOutcome::Applied);
  EXPECT_EQ(store_.abandon({"ORD-2", "ops", "again"}).outcome, ActionOutcome::Finished);
  EXPECT_TRUE(store_.admin_actions("ORD-1").empty());
  EXPECT_EQ(store_.admin_actions("ORD-2").size(), 1u);
}

TEST_F(AdminAbandon, AReplicaWhoseLeaseLapsedIsFencedOff) {
  ingest_and_claim("ORD-1", "replica-a");
  const Lease stale = lease_as("replica-a", "ORD-1");
  exec("UPDATE compensatord.transactions SET lease_expires_at = now() - interval '1 second' WHERE xid = 'ORD-1'");
  ASSERT_EQ(store_.abandon({"ORD-1", "ops", "why"}).outcome, ActionOutcome::Applied);
  EXPECT_TRUE(store_.decide("ORD-1", stale, Decision::Cancel).lease_lost);
  WriteBack late = write_back_for("ORD-1", "replica-a", Status::Pending, Status::Pending, 1);
  late.lease = stale;
  EXPECT_FALSE(store_.write_back(late));
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Abandoned);
}

TEST_F(AdminAbandon, TheOrderServiceCannotCommitAnUndecidedAbandonedTransaction) {
  park("ORD-1");
  ASSERT_EQ(store_.abandon({"ORD-1", "ops", "why"}).outcome, ActionOutcome::Applied);
  EXPECT_FALSE(row("SELECT compensatord.commit_transaction($1)", "ORD-1")[0].as<bool>()) << "roll the order back";
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Abandoned);
  EXPECT_FALSE(store_.find("ORD-1")->decision);
}

TEST_F(AdminAbandon, ARetryPutsAnAbandonedTransactionBackInMotion) {
  park("ORD-1");
  ASSERT_EQ(store_.abandon({"ORD-1", "ops", "why"}).outcome, ActionOutcome::Applied);
  const auto retried = store_.retry({"ORD-1", "ops", "the human gave it back"});
  EXPECT_EQ(retried.outcome, ActionOutcome::Applied);
  EXPECT_EQ(retried.status, Status::Pending);
  EXPECT_TRUE(row("SELECT finished_at FROM compensatord.transactions WHERE xid = $1", "ORD-1")[0].is_null());
  EXPECT_EQ(store_.claim_due({"replica-b", 10, 60s}).size(), 1u);
  const auto actions = store_.admin_actions("ORD-1");
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].action, AdminVerb::Abandon);
  EXPECT_EQ(actions[1].action, AdminVerb::Retry);
  EXPECT_LT(actions[0].id, actions[1].id);
}

using AdminList = StoreTest;

std::vector<std::string> xids_of(const TransactionPage& page) {
  std::vector<std::string> xids;
  for (const auto& t : page.transactions) xids.push_back(t.xid);
  return xids;
}

TEST_F(AdminList, PagesFollowEachOtherInXidOrderWithoutGapsOrRepeats) {
  std::set<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    const auto xid = fmt::format("ORD-{:03}", i);
    ASSERT_EQ(store_.ingest(transaction(xid)), IngestResult::Inserted);
    expected.insert(xid);
  }
  std::vector<std::string> seen;
  ListFilter filter{.limit = 10};
  int pages = 0;
  for (;;) {
    const auto page = store_.list(filter);
    ++pages;
    const auto xids = xids_of(page);
    seen.insert(seen.end(), xids.begin(), xids.end());
    if (!page.more) break;
    filter.after = xids.back();
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.size(), expected.size());
  EXPECT_FALSE(store_.list({.limit = 25}).more) << "exactly a page: no next one";
}

TEST_F(AdminList, EveryFilterNarrowsTheList) {
  ASSERT_EQ(store_.ingest(transaction("A-stock")), IngestResult::Inserted);
  ASSERT_EQ(store_.ingest({"B-coupon", "refund", "kafka:orders", {{"coupon", nlohmann::json::object()}}, Clock::now()}),
            IngestResult::Inserted);
  exec("UPDATE compensatord.transactions SET created_at = now() - interval '2 hours' WHERE xid = 'A-stock'");
  ingest_and_claim("C-parked", "replica-a");
  auto parked = write_back_for("C-parked", "replica-a", Status::Pending, Status::Parked, 3);
  parked.parked_reason = "why";
  ASSERT_TRUE(store_.write_back(parked));

  EXPECT_EQ(xids_of(store_.list({})), (std::vector<std::string>{"A-stock", "B-coupon", "C-parked"}));
  EXPECT_EQ(xids_of(store_.list({.status = Status::Parked})), std::vector<std::string>{"C-parked"});
  EXPECT_EQ(xids_of(store_.list({.kind = "refund"})), std::vector<std::string>{"B-coupon"});
  EXPECT_EQ(xids_of(store_.list({.source = "kafka:orders"})), std::vector<std::string>{"B-coupon"});
  EXPECT_EQ(xids_of(store_.list({.participant = "stock"})), (std::vector<std::string>{"A-stock", "C-parked"}));
  EXPECT_EQ(xids_of(store_.list({.older_than = 1h})), std::vector<std::string>{"A-stock"});
  EXPECT_EQ(xids_of(store_.list({.status = Status::Pending, .participant = "stock"})),
            std::vector<std::string>{"A-stock"});
  EXPECT_TRUE(store_.list({.status = Status::Confirmed}).transactions.empty());
  EXPECT_EQ(store_.list({.status = Status::Parked}).transactions[0].parked_reason, "why");
}

TEST_F(AdminList, HostileFiltersAreRefusedOrMatchNothing) {
  ASSERT_EQ(store_.ingest(transaction("ORD-1")), IngestResult::Inserted);
  EXPECT_THROW(store_.list({.limit = 0}), StoreError);
  EXPECT_THROW(store_.list({.limit = kMaxPageSize + 1}), StoreError);
  EXPECT_THROW(store_.list({.kind = std::string("a\0b", 3)}), StoreError);
  EXPECT_THROW(store_.list({.older_than = -1ms}), StoreError);
  EXPECT_TRUE(store_.list({.kind = "' OR 1=1 --"}).transactions.empty());
  EXPECT_TRUE(store_.list({.participant = std::string(100000, 'p')}).transactions.empty());
}

// The plan, not a timing: on a history of finished rows the list reads one index range in xid order
// and never sorts or scans the table, whether it asks for a status of the backlog (a few thousand
// parked rows) or for everything.
TEST_F(AdminList, AListReadsAnIndexRangeInOrderOnALongHistory) {
  exec(R"(INSERT INTO compensatord.transactions (xid, status, decision, due_at, next_attempt_at, finished_at)
          SELECT 'F-' || lpad(i::text, 7, '0'), 'CONFIRMED', 'confirm', now(), now(), now()
            FROM generate_series(1, 200000) AS i)");
  exec(R"(INSERT INTO compensatord.transactions (xid, status, due_at, next_attempt_at, parked_reason)
          SELECT 'P-' || lpad(i::text, 5, '0'), 'PARKED', now(), now(), 'why'
            FROM generate_series(1, 5000) AS i)");
  exec("ANALYZE compensatord.transactions");

  const auto plan = [&](const std::string& status) {
    pqxx::work work(connection_);
    std::string text;
    for (const auto& line : work.exec_params("EXPLAIN " + std::string(list_sql(false)), "", status, "", "", 0LL, 101)) {
      text += line[0].as<std::string>() + "\n";
    }
    return text;
  };
  const auto parked = plan("PARKED");
  EXPECT_NE(parked.find("Index Scan using transactions_unfinished_by_status"), std::string::npos) << parked;
  const auto everything = plan("");
  EXPECT_NE(everything.find("Index Scan using transactions_pkey"), std::string::npos) << everything;
  for (const auto& p : {parked, everything}) {
    EXPECT_EQ(p.find("Seq Scan"), std::string::npos) << p;
    EXPECT_EQ(p.find("Sort"), std::string::npos) << p;
  }
  // By participant: the EXISTS is planned as a join (here, with no branches, over the few it
  // finds), never as a hashed subplan that reads every branch of the participant before the first row.
  pqxx::work work(connection_);
  std::string by_participant;
  for (const auto& line :
       work.exec_params("EXPLAIN " + std::string(list_sql(true)), "", "", "", "", 0LL, 101, "stock")) {
    by_participant += line[0].as<std::string>() + "\n";
  }
  work.commit();
  EXPECT_EQ(by_participant.find("SubPlan"), std::string::npos) << by_participant;
  const auto page = store_.list({.status = Status::Parked, .limit = 3});
  EXPECT_EQ(xids_of(page), (std::vector<std::string>{"P-00001", "P-00002", "P-00003"}));
  EXPECT_TRUE(page.more);
}

TEST_F(AdminList, TheAuditTrailIsReadInPages) {
  ASSERT_EQ(store_.ingest(transaction("ORD-1")), IngestResult::Inserted);
  exec(R"(INSERT INTO compensatord.attempts (xid, action, started_at, outcome)
          SELECT 'ORD-1', 'check', now(), 'unknown' FROM generate_series(1, 25))");
  std::vector<std::int64_t> ids;
  std::int64_t after = 0;
  int pages = 0;
  for (;;) {
    const auto page = store_.attempt_page("ORD-1", after, 10);
    ++pages;
    for (const auto& a : page.attempts) ids.push_back(*a.id);
    if (!page.more) break;
    after = *page.attempts.back().id;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(ids.size(), 25u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::int64_t>(ids.begin(), ids.end()).size(), 25u);
  EXPECT_TRUE(store_.attempt_page("ORD-404", 0, 10).attempts.empty());
  EXPECT_THROW(store_.attempt_page("ORD-1", 0, 0), StoreError);
}

}  // namespace
}  // namespace compensatord::store::testing
