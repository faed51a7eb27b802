// An operator's actions (0009_admin_actions.sql). A retry: parked or backing-off work is due again
// with its decision kept. A decision by hand: only where none was taken, by the same compare-and-set
// as the reconciler's. Work in flight or finished is left alone, and every action is audited.
#include "store_fixture.hpp"

namespace compensatord::store::testing {
namespace {

using AdminRetryTest = StoreTest;

// ORD-1 decided cancel by replica-a, then parked on a rejected branch.
class AdminRetry : public AdminRetryTest {
 protected:
  void park_after_cancel(const std::string& xid) {
    ingest_and_claim(xid, "replica-a");
    ASSERT_TRUE(store_.decide(xid, lease_as("replica-a", xid), Decision::Cancel).decided_by_us);
    auto result = write_back_for(xid, "replica-a", Status::Cancelling, Status::Parked, 3);
    result.parked_reason = "stock cancel of branch 0 rejected: HTTP 403";
    result.branches = {{0, BranchStatus::Fatal, Outcome::Fatal, "HTTP 403", 403},
                       {1, BranchStatus::Done, Outcome::Done, "", 200}};
    ASSERT_TRUE(store_.write_back(result));
  }

  long long audit_rows(const std::string& xid) {
    return row("SELECT count(*) FROM compensatord.admin_actions WHERE xid = $1", xid)[0].as<long long>();
  }
};

TEST_F(AdminRetry, AParkedTransactionIsDueAgainWithItsDecisionAndItsFatalBranchWaiting) {
  park_after_cancel("ORD-1");
  const auto result = store_.retry({"ORD-1", "ops", "stock fixed the SKU"});
  EXPECT_EQ(result.outcome, ActionOutcome::Applied);
  EXPECT_EQ(result.status, Status::Cancelling);

  const auto t = store_.find("ORD-1");
  EXPECT_EQ(t->status, Status::Cancelling);
  EXPECT_EQ(t->decision, Decision::Cancel) << "the decision is kept";
  EXPECT_EQ(t->attempt_count, 0);
  EXPECT_EQ(t->parked_reason, "");
  EXPECT_EQ(t->branches[0].status, BranchStatus::Waiting);
  EXPECT_EQ(t->branches[1].status, BranchStatus::Done) << "a done branch stays done";
  EXPECT_GE(t->age_from, t->created_at);
  const auto claimed = store_.claim_due({"replica-b", 10, 60s});
  ASSERT_EQ(claimed.size(), 1u) << "due now";
  EXPECT_EQ(claimed[0].status, Status::Cancelling);
}

TEST_F(AdminRetry, AParkedUndecidedTransactionReturnsToPending) {
  ingest_and_claim("ORD-1", "replica-a");
  auto result = write_back_for("ORD-1", "replica-a", Status::Pending, Status::Parked, 50);
  result.parked_reason = "gave up after 50 attempts: order db unreachable";
  ASSERT_TRUE(store_.write_back(result));
  EXPECT_EQ(store_.retry({"ORD-1", "ops", ""}).status, Status::Pending);
  EXPECT_FALSE(store_.find("ORD-1")->decision);
}

TEST_F(AdminRetry, ABackingOffTransactionIsDueNow) {
  ingest_and_claim("ORD-1", "replica-a");
  auto result = write_back_for("ORD-1", "replica-a", Status::Pending, Status::Pending, 7);
  result.requeue_after = std::chrono::hours(1);
  ASSERT_TRUE(store_.write_back(result));
  EXPECT_TRUE(store_.claim_due({"replica-b", 10, 60s}).empty());
  EXPECT_EQ(store_.retry({"ORD-1", "ops", ""}).outcome, ActionOutcome::Applied);
  EXPECT_EQ(store_.claim_due({"replica-b", 10, 60s}).size(), 1u);
}

TEST_F(AdminRetry, WorkInFlightFinishedOrUnknownIsLeftAloneAndNotAudited) {
  ingest_and_claim("ORD-1", "replica-a");
  const auto in_flight = store_.retry({"ORD-1", "ops", ""});
  EXPECT_EQ(in_flight.outcome, ActionOutcome::InFlight);
  EXPECT_EQ(store_.find("ORD-1")->lease_owner, "replica-a") << "the lease stands";

  ASSERT_TRUE(store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Confirm).decided_by_us);
  ASSERT_TRUE(store_.write_back(write_back_for("ORD-1", "replica-a", Status::Confirming, Status::Confirmed, 1)));
  const auto finished = store_.retry({"ORD-1", "ops", ""});
  EXPECT_EQ(finished.outcome, ActionOutcome::Finished);
  EXPECT_EQ(finished.status, Status::Confirmed);
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Confirmed);

  EXPECT_EQ(store_.retry({"ORD-404", "ops", ""}).outcome, ActionOutcome::Unknown);
  EXPECT_EQ(audit_rows("ORD-1"), 0);
}

TEST_F(AdminRetry, ARetryFencesOffAReplicaWhoseLeaseLapsed) {
  ingest_and_claim("ORD-1", "replica-a");
  const Lease stale = lease_as("replica-a", "ORD-1");
  exec("UPDATE compensatord.transactions SET lease_expires_at = now() - interval '1 second' WHERE xid = 'ORD-1'");
  ASSERT_EQ(store_.retry({"ORD-1", "ops", ""}).outcome, ActionOutcome::Applied);
  EXPECT_TRUE(store_.decide("ORD-1", stale, Decision::Cancel).lease_lost);
  EXPECT_FALSE(store_.find("ORD-1")->decision);
}

TEST_F(AdminRetry, EveryRetryIsAnAppendOnlyAuditRowWithWhoWhyAndBeforeAndAfter) {
  park_after_cancel("ORD-1");
  const std::string reason = "ticket OPS-42: stock fixed the SKU 'A-1' \"quoted\" 🚀";
  ASSERT_EQ(store_.retry({"ORD-1", "ops", reason}).outcome, ActionOutcome::Applied);
  const auto audit =
      row("SELECT action, actor, reason, before ->> 'status', after ->> 'status', before -> 'fatal_branches', "
          "after -> 'fatal_branches', (before ->> 'attempt_count')::int FROM compensatord.admin_actions WHERE xid = $1",
          "ORD-1");
  EXPECT_EQ(audit[0].as<std::string>(), "retry");
  EXPECT_EQ(audit[1].as<std::string>(), "ops");
  EXPECT_EQ(audit[2].as<std::string>(), reason);
  EXPECT_EQ(audit[3].as<std::string>(), "PARKED");
  EXPECT_EQ(audit[4].as<std::string>(), "CANCELLING");
  EXPECT_EQ(audit[5].as<std::string>(), "[0]");
  EXPECT_EQ(audit[6].as<std::string>(), "[]");
  EXPECT_EQ(audit[7].as<int>(), 3);
  EXPECT_THROW(exec("UPDATE compensatord.admin_actions SET actor = 'mallory'"), pqxx::sql_error);
}

TEST_F(AdminRetry, BadRequestsAreRefusedNamingTheField) {
  park_after_cancel("ORD-1");
  EXPECT_THROW(store_.retry({"ORD-1", "", ""}), StoreError);
  EXPECT_THROW(store_.retry({"ORD-1", "ops", std::string("bad\0reason", 10)}), StoreError);
  EXPECT_THROW(store_.retry({"ORD-1", "ops", std::string(5000, 'r')}), StoreError);
  EXPECT_EQ(audit_rows("ORD-1"), 0);
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Parked);
}

TEST_F(AdminRetry, ADecisionByHandIsTakenOnlyWhereNoneWasAndThenCallsTheParticipants) {
  ingest_and_claim("ORD-1", "replica-a");
  auto result = write_back_for("ORD-1", "replica-a", Status::Pending, Status::Parked, 50);
  result.parked_reason = "gave up after 50 attempts: order db unreachable";
  ASSERT_TRUE(store_.write_back(result));

  const auto decided = store_.decide_by_hand({"ORD-1", "ops", "the order was never paid (INC-9)"}, Decision::Cancel);
  EXPECT_EQ(decided.outcome, DecideByHandOutcome::Decided);
  EXPECT_EQ(decided.status, Status::Cancelling);
  const auto t = store_.find("ORD-1");
  EXPECT_EQ(t->decision, Decision::Cancel);
  EXPECT_EQ(t->decided_by, "ops");
  EXPECT_EQ(t->attempt_count, 0);
  ASSERT_EQ(store_.claim_due({"replica-b", 10, 60s}).size(), 1u) << "due at once, to cancel every branch";
  EXPECT_EQ(row("SELECT count(*) FROM compensatord.admin_actions WHERE xid = $1 AND action = 'decide' AND "
                "before ->> 'decision' IS NULL AND after ->> 'decision' = 'cancel'",
                "ORD-1")[0]
                .as<int>(),
            1);
}

TEST_F(AdminRetry, ADecisionByHandNeverContradictsOneTakenAndNeverRacesAReplica) {
  ingest_and_claim("ORD-1", "replica-a");
  EXPECT_EQ(store_.decide_by_hand({"ORD-1", "ops", "why"}, Decision::Cancel).outcome, DecideByHandOutcome::InFlight);
  ASSERT_TRUE(store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Confirm).decided_by_us);
  const auto refused = store_.decide_by_hand({"ORD-1", "ops", "why"}, Decision::Cancel);
  EXPECT_EQ(refused.outcome, DecideByHandOutcome::AlreadyDecided);
  EXPECT_EQ(refused.decision, Decision::Confirm);
  EXPECT_EQ(store_.find("ORD-1")->decision, Decision::Confirm);

  // The order service committed through the pending log: a forced cancel is refused.
  ASSERT_EQ(store_.ingest(transaction("ORD-2", Clock::now() + 1h)), IngestResult::Inserted);
  exec("SELECT compensatord.commit_transaction('ORD-2')");
  const auto committed = store_.decide_by_hand({"ORD-2", "ops", "why"}, Decision::Cancel);
  EXPECT_EQ(committed.outcome, DecideByHandOutcome::AlreadyDecided);
  EXPECT_EQ(committed.status, Status::Committed);
  EXPECT_EQ(store_.decide_by_hand({"ORD-404", "ops", "why"}, Decision::Cancel).outcome, DecideByHandOutcome::Unknown);
  EXPECT_EQ(audit_rows("ORD-1") + audit_rows("ORD-2"), 0);
}

}  // namespace
}  // namespace compensatord::store::testing
