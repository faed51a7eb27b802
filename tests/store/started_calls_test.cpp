// Participant calls in the audit trail before they are sent: start_calls records them under the
// lease, the write-back completes each row once with its answer, and nothing else rewrites them.
#include "store_fixture.hpp"

#include <fmt/format.h>

#include <string>
#include <thread>

namespace compensatord::store::testing {
namespace {

using StartedCallsTest = StoreTest;

Attempt call_of(const std::string& xid, int branch_no, const std::string& replica) {
  Attempt call;
  call.xid = xid;
  call.branch_no = branch_no;
  call.action = AttemptAction::Cancel;
  call.replica = replica;
  call.started_at = Clock::now();
  call.outcome = kCallStarted;
  return call;
}

// The answer to a started call, as the reconciler writes it back.
Attempt answer_to(Attempt call, std::int64_t id, Outcome outcome, int http_status) {
  call.id = id;
  call.outcome = outcome;
  call.http_status = http_status;
  call.latency = std::chrono::milliseconds(7);
  call.request_summary = "POST http://stock/rollback/" + call.xid;
  return call;
}

class StartedCalls : public StartedCallsTest {
 protected:
  // ORD-1 claimed by replica-a and decided cancel: ready for its calls.
  void SetUp() override {
    StartedCallsTest::SetUp();
    ingest_and_claim("ORD-1", "replica-a");
    ASSERT_TRUE(store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Cancel).decided_by_us);
  }

  std::vector<Attempt> both_calls(const std::string& replica) {
    return {call_of("ORD-1", 0, replica), call_of("ORD-1", 1, replica)};
  }

  long long trail_rows() {
    return row("SELECT count(*) FROM compensatord.attempts WHERE xid = $1", "ORD-1")[0].as<long long>();
  }
};

TEST_F(StartedCalls, UnderAHeldLeaseEveryCallIsInTheTrailBeforeItIsSent) {
  const auto started = store_.start_calls({"ORD-1", lease_as("replica-a", "ORD-1"), both_calls("replica-a")});
  ASSERT_FALSE(started.lease_lost);
  ASSERT_EQ(started.attempt_ids.size(), 2u);
  EXPECT_NE(started.attempt_ids[0], started.attempt_ids[1]);

  const auto trail = store_.attempts("ORD-1");
  ASSERT_EQ(trail.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(trail[i].id, started.attempt_ids[i]);
    EXPECT_EQ(trail[i].branch_no, static_cast<int>(i));
    EXPECT_EQ(trail[i].outcome, kCallStarted);
    EXPECT_EQ(trail[i].replica, "replica-a");
    EXPECT_EQ(trail[i].http_status, std::nullopt);
  }
  EXPECT_EQ(store_.find("ORD-1")->lease_owner, "replica-a") << "recording the calls keeps the lease";
}

TEST_F(StartedCalls, WithAStaleTokenOrAnotherOwnerNothingIsRecordedAndTheLeaseIsReportedLost) {
  const Lease stale{"replica-a", lease_as("replica-a", "ORD-1").token - 1};
  EXPECT_TRUE(store_.start_calls({"ORD-1", stale, both_calls("replica-a")}).lease_lost);
  EXPECT_TRUE(store_.start_calls({"ORD-1", {"replica-b", held("ORD-1").token}, both_calls("replica-b")}).lease_lost);
  EXPECT_EQ(trail_rows(), 0);
}

TEST_F(StartedCalls, AfterTheLeaseExpiredNothingIsRecorded) {
  ingest_and_claim("ORD-2", "replica-a", 1ms);
  std::this_thread::sleep_for(5ms);  // only ever longer than the lease
  const auto started =
      store_.start_calls({"ORD-2", lease_as("replica-a", "ORD-2"), {call_of("ORD-2", 0, "replica-a")}});
  EXPECT_TRUE(started.lease_lost);
  EXPECT_TRUE(started.attempt_ids.empty());
  EXPECT_TRUE(store_.attempts("ORD-2").empty());
}

TEST_F(StartedCalls, ABatchAnswersEachTransactionOnItsOwnLease) {
  ingest_and_claim("ORD-2", "replica-a");
  const auto results =
      store_.start_calls_all({{"ORD-1", {"replica-a", 0}, both_calls("replica-a")},
                              {"ORD-2", lease_as("replica-a", "ORD-2"), {call_of("ORD-2", 1, "replica-a")}}});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].lease_lost);
  EXPECT_FALSE(results[1].lease_lost);
  ASSERT_EQ(results[1].attempt_ids.size(), 1u);
  EXPECT_EQ(trail_rows(), 0);
  ASSERT_EQ(store_.attempts("ORD-2").size(), 1u);
  EXPECT_EQ(store_.attempts("ORD-2")[0].branch_no, 1);
}

TEST_F(StartedCalls, ACallWithoutABranchOrAnUnknownBranchIsRefusedAndNothingIsRecorded) {
  Attempt check = call_of("ORD-1", 0, "replica-a");
  check.branch_no = std::nullopt;
  EXPECT_THROW(store_.start_calls({"ORD-1", lease_as("replica-a", "ORD-1"), {check}}), StoreError);
  EXPECT_THROW(store_.start_calls({"ORD-1", lease_as("replica-a", "ORD-1"), {call_of("ORD-1", 99, "replica-a")}}),
               StoreError);
  EXPECT_EQ(trail_rows(), 0);
  EXPECT_FALSE(store_.start_calls({"ORD-1", lease_as("replica-a", "ORD-1"), both_calls("replica-a")}).lease_lost)
      << "the store goes on after a refused request";
}

TEST_F(StartedCalls, TheWriteBackCompletesEachStartedRowInPlace) {
  const auto calls = both_calls("replica-a");
  const auto started = store_.start_calls({"ORD-1", lease_as("replica-a", "ORD-1"), calls});
  ASSERT_EQ(started.attempt_ids.size(), 2u);

  auto result = write_back_for("ORD-1", "replica-a", Status::Cancelling, Status::Cancelled, 1);
  result.branches = {{0, BranchStatus::Done, Outcome::Done, "", 200}, {1, BranchStatus::Done, Outcome::Done, "", 200}};
  result.attempts = {answer_to(calls[0], started.attempt_ids[0], Outcome::Done, 200),
                     answer_to(calls[1], started.attempt_ids[1], Outcome::Done, 204)};
  ASSERT_TRUE(store_.write_back(result));

  const auto trail = store_.attempts("ORD-1");
  ASSERT_EQ(trail.size(), 2u) << "completed, not appended";
  EXPECT_EQ(trail[0].id, started.attempt_ids[0]);
  EXPECT_EQ(trail[0].outcome, AttemptOutcome{Outcome::Done});
  EXPECT_EQ(trail[1].http_status, 204);
  EXPECT_EQ(trail[1].latency, std::chrono::milliseconds(7));
  EXPECT_EQ(trail[1].request_summary, "POST http://stock/rollback/ORD-1");
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Cancelled);
}

TEST_F(StartedCalls, ACallThatHappenedIsCompletedEvenAfterTheLeaseWasLost) {
  ingest_and_claim("ORD-2", "replica-a");
  const Lease lease_a = lease_as("replica-a", "ORD-2");
  const auto call = call_of("ORD-2", 0, "replica-a");
  const auto started = store_.start_calls({"ORD-2", lease_a, {call}});
  ASSERT_EQ(started.attempt_ids.size(), 1u);
  // replica-a stalls past its lease mid-call; replica-b takes the row over.
  exec(
      "UPDATE compensatord.transactions SET lease_expires_at = now() - interval '1 second', "
      "next_attempt_at = now() - interval '1 second' WHERE xid = 'ORD-2'");
  ASSERT_EQ(store_.claim_due({"replica-b", 10, 60s}).size(), 1u);

  auto late = write_back_for("ORD-2", "replica-a", Status::Pending, Status::Parked, 1);
  late.lease = lease_a;
  late.attempts = {answer_to(call, started.attempt_ids[0], Outcome::Retry, 503)};
  EXPECT_FALSE(store_.write_back(late)) << "the row is replica-b's now";
  const auto trail = store_.attempts("ORD-2");
  ASSERT_EQ(trail.size(), 1u);
  EXPECT_EQ(trail[0].outcome, AttemptOutcome{Outcome::Retry}) << "the answer is evidence, whoever holds the row";
  EXPECT_EQ(store_.find("ORD-2")->lease_owner, "replica-b");
  EXPECT_NE(store_.find("ORD-2")->status, Status::Parked);
}

TEST_F(StartedCalls, ACompletionIsWrittenOnceAndOnlyToAStartedCallOfItsTransaction) {
  const auto calls = both_calls("replica-a");
  const auto started = store_.start_calls({"ORD-1", lease_as("replica-a", "ORD-1"), calls});
  ASSERT_EQ(started.attempt_ids.size(), 2u);
  const auto complete = [&](Attempt answer) {
    auto result = write_back_for("ORD-1", "replica-a", Status::Cancelling, Status::Cancelling, 1);
    result.attempts = {std::move(answer)};
    return store_.write_back(result);
  };
  ASSERT_TRUE(complete(answer_to(calls[0], started.attempt_ids[0], Outcome::Done, 200)));
  ASSERT_EQ(store_.claim_due({"replica-a", 10, 60s}).size(), 1u);  // the write-back released it; it is due

  EXPECT_THROW(complete(answer_to(calls[0], started.attempt_ids[0], Outcome::Fatal, 400)), StoreError)
      << "a completed call cannot be completed again";
  Attempt wrong_branch = answer_to(calls[1], started.attempt_ids[1], Outcome::Done, 200);
  wrong_branch.branch_no = 0;
  EXPECT_THROW(complete(wrong_branch), StoreError) << "the id must be that branch's started call";
  EXPECT_THROW(complete(answer_to(calls[1], started.attempt_ids[1] + 1000, Outcome::Done, 200)), StoreError);

  const auto trail = store_.attempts("ORD-1");
  ASSERT_EQ(trail.size(), 2u);
  EXPECT_EQ(trail[0].outcome, AttemptOutcome{Outcome::Done});
  EXPECT_EQ(trail[1].outcome, kCallStarted) << "a refused write-back changes nothing";
  EXPECT_THROW(exec("UPDATE compensatord.attempts SET outcome = 'fatal', xid = 'ORD-1' WHERE outcome = 'done'"),
               pqxx::sql_error);
  EXPECT_THROW(exec("UPDATE compensatord.attempts SET outcome = 'done', replica = 'mallory' WHERE outcome = 'started'"),
               pqxx::sql_error)
      << "a completion cannot rewrite who made the call";
}

// A decision carries the calls it leads to: they go into the trail in the same statement, and only
// when that compare-and-set wins.
class CallsWithTheDecision : public StartedCallsTest {
 protected:
  void SetUp() override {
    StartedCallsTest::SetUp();
    ingest_and_claim("ORD-1", "replica-a");
  }

  DecideRequest cancel_with_calls(const std::string& xid, const Lease& lease) {
    return {xid, lease, Decision::Cancel, {call_of(xid, 0, lease.owner), call_of(xid, 1, lease.owner)}};
  }

  // The same, asked for by the check that found the order absent.
  DecideRequest cancel_on_check(const std::string& xid, const Lease& lease) {
    DecideRequest request = cancel_with_calls(xid, lease);
    Attempt check;
    check.xid = xid;
    check.action = AttemptAction::Check;
    check.replica = lease.owner;
    check.started_at = Clock::now() - 5ms;
    check.request_summary = "SQL check";
    check.outcome = CheckVerdict::Absent;
    check.latency = 3ms;
    request.check = check;
    return request;
  }
};

TEST_F(CallsWithTheDecision, ADecisionWonRecordsTheCheckItWasTakenOnBeforeItsCalls) {
  const auto results = store_.decide_all({cancel_on_check("ORD-1", lease_as("replica-a", "ORD-1"))});
  ASSERT_TRUE(results.at(0).decided_by_us);
  ASSERT_EQ(results[0].attempt_ids.size(), 2u);
  const auto trail = store_.attempts("ORD-1");
  ASSERT_EQ(trail.size(), 3u);
  EXPECT_EQ(trail[0].action, AttemptAction::Check);
  EXPECT_EQ(trail[0].outcome, AttemptOutcome{CheckVerdict::Absent});
  EXPECT_EQ(trail[0].branch_no, std::nullopt);
  EXPECT_EQ(trail[0].request_summary, "SQL check");
  EXPECT_EQ(trail[0].latency, 3ms);
  EXPECT_EQ(trail[0].replica, "replica-a");
  EXPECT_LT(trail[0].id, trail[1].id) << "the evidence before the calls it led to";
  EXPECT_EQ(trail[1].id, results[0].attempt_ids[0]);
  EXPECT_EQ(trail[2].id, results[0].attempt_ids[1]);
}

TEST_F(CallsWithTheDecision, ADecisionNotWonRecordsNeitherItsCheckNorItsCalls) {
  const Lease stale{"replica-a", lease_as("replica-a", "ORD-1").token - 1};
  EXPECT_TRUE(store_.decide_all({cancel_on_check("ORD-1", stale)}).front().lease_lost);
  ingest_and_claim("ORD-2", "replica-a");
  exec("SELECT compensatord.commit_transaction('ORD-2')");
  EXPECT_FALSE(store_.decide_all({cancel_on_check("ORD-2", lease_as("replica-a", "ORD-2"))}).front().decided_by_us);
  EXPECT_TRUE(store_.attempts("ORD-1").empty());
  EXPECT_TRUE(store_.attempts("ORD-2").empty()) << "the reconciler writes such a check back with its result";
}

TEST_F(CallsWithTheDecision, ACheckThatIsNoCheckIsRefusedWithNothingDecided) {
  auto request = cancel_on_check("ORD-1", lease_as("replica-a", "ORD-1"));
  request.check->action = AttemptAction::Cancel;
  EXPECT_THROW(store_.decide_all({request}), StoreError);
  request = cancel_on_check("ORD-1", lease_as("replica-a", "ORD-1"));
  request.check->outcome = Outcome::Done;
  EXPECT_THROW(store_.decide_all({request}), StoreError);
  request = cancel_on_check("ORD-1", lease_as("replica-a", "ORD-1"));
  request.check->branch_no = 0;
  EXPECT_THROW(store_.decide_all({request}), StoreError);
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Pending);
  EXPECT_TRUE(store_.attempts("ORD-1").empty());
}

TEST_F(CallsWithTheDecision, ADecisionWonRecordsItsCallsAsStarted) {
  const auto results = store_.decide_all({cancel_with_calls("ORD-1", lease_as("replica-a", "ORD-1"))});
  ASSERT_EQ(results.size(), 1u);
  ASSERT_TRUE(results[0].decided_by_us);
  EXPECT_EQ(results[0].status, Status::Cancelling);
  ASSERT_EQ(results[0].attempt_ids.size(), 2u);

  const auto trail = store_.attempts("ORD-1");
  ASSERT_EQ(trail.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(trail[i].id, results[0].attempt_ids[i]);
    EXPECT_EQ(trail[i].branch_no, static_cast<int>(i));
    EXPECT_EQ(trail[i].action, AttemptAction::Cancel);
    EXPECT_EQ(trail[i].outcome, kCallStarted);
  }
}

TEST_F(CallsWithTheDecision, WhenTheOrderServiceCommittedFirstNoCallIsRecorded) {
  exec("SELECT compensatord.commit_transaction('ORD-1')");
  const auto result = store_.decide_all({cancel_with_calls("ORD-1", lease_as("replica-a", "ORD-1"))}).front();
  EXPECT_FALSE(result.decided_by_us);
  EXPECT_EQ(result.decision, Decision::Confirm);
  EXPECT_TRUE(result.attempt_ids.empty());
  EXPECT_TRUE(store_.attempts("ORD-1").empty()) << "the cancel calls will never be sent";
}

TEST_F(CallsWithTheDecision, AStaleLeaseDecidesNothingAndRecordsNothing) {
  const Lease stale{"replica-a", lease_as("replica-a", "ORD-1").token - 1};
  const auto result = store_.decide_all({cancel_with_calls("ORD-1", stale)}).front();
  EXPECT_TRUE(result.lease_lost);
  EXPECT_TRUE(result.attempt_ids.empty());
  EXPECT_TRUE(store_.attempts("ORD-1").empty());
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Pending);
}

TEST_F(CallsWithTheDecision, ABatchRecordsOnlyTheCallsOfTheDecisionsItWon) {
  ingest_and_claim("ORD-2", "replica-a");
  exec("SELECT compensatord.commit_transaction('ORD-2')");
  const auto results = store_.decide_all({cancel_with_calls("ORD-1", lease_as("replica-a", "ORD-1")),
                                          cancel_with_calls("ORD-2", lease_as("replica-a", "ORD-2"))});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].decided_by_us);
  EXPECT_EQ(results[0].attempt_ids.size(), 2u);
  EXPECT_FALSE(results[1].decided_by_us);
  EXPECT_TRUE(results[1].attempt_ids.empty());
  EXPECT_EQ(store_.attempts("ORD-1").size(), 2u);
  EXPECT_TRUE(store_.attempts("ORD-2").empty());
}

TEST_F(CallsWithTheDecision, ACallThatDoesNotCarryOutTheDecisionOrNamesNoBranchIsRefusedWithNothingDecided) {
  auto request = cancel_with_calls("ORD-1", lease_as("replica-a", "ORD-1"));
  request.calls[1].action = AttemptAction::Confirm;
  EXPECT_THROW(store_.decide_all({request}), StoreError);
  request = cancel_with_calls("ORD-1", lease_as("replica-a", "ORD-1"));
  request.calls[0].branch_no = std::nullopt;
  EXPECT_THROW(store_.decide_all({request}), StoreError);
  request = cancel_with_calls("ORD-1", lease_as("replica-a", "ORD-1"));
  request.calls[0].branch_no = 99;
  EXPECT_THROW(store_.decide_all({request}), StoreError) << "no such branch";
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Pending);
  EXPECT_TRUE(store_.attempts("ORD-1").empty());
  EXPECT_TRUE(store_.decide_all({cancel_with_calls("ORD-1", lease_as("replica-a", "ORD-1"))}).front().decided_by_us)
      << "the store goes on after a refused request";
}

// Collects the plans auto_explain sends to the client as notices.
class Plans final : public pqxx::errorhandler {
 public:
  explicit Plans(pqxx::connection_base& connection) : pqxx::errorhandler(connection) {}
  bool operator()(const char message[]) noexcept override {
    text += message;
    return true;
  }
  std::string text;
};

TEST_F(StartedCalls, OnAFreshSmallTrailTheWriteBackStillFindsStartedCallsByKey) {
  const auto started = store_.start_calls({"ORD-1", lease_as("replica-a", "ORD-1"), both_calls("replica-a")});
  ASSERT_EQ(started.attempt_ids.size(), 2u);
  // A handful of rows and no statistics: the case where the planner likes a sequential scan best.
  Plans plans(connection_);
  exec("LOAD 'auto_explain'");
  exec("SET auto_explain.log_min_duration = 0");
  exec("SET auto_explain.log_nested_statements = on");
  exec("SET auto_explain.log_level = notice");
  exec(fmt::format(R"(SELECT compensatord.write_back('[]', '[]', '[{{"id": {}, "xid": "ORD-1", "branch_no": 0,
    "action": "cancel", "request_summary": "POST /rollback", "outcome": "done", "http_status": 200,
    "latency_ms": 7, "error": ""}}]'))",
                   started.attempt_ids[0]));
  ASSERT_NE(plans.text.find("Update on attempts"), std::string::npos) << plans.text;
  EXPECT_EQ(plans.text.find("Seq Scan on attempts"), std::string::npos) << plans.text;
  EXPECT_EQ(store_.attempts("ORD-1")[0].outcome, AttemptOutcome{Outcome::Done});
}

// Rows of the trail this backend has read and not yet reported to the statistics: sequential and
// bitmap scans count on the table, index scans on the index.
long long trail_rows_read(pqxx::work& work) {
  return work
      .exec1(
          "SELECT pg_stat_get_xact_tuples_returned('compensatord.attempts'::regclass) "
          "+ pg_stat_get_xact_tuples_fetched('compensatord.attempts'::regclass) "
          "+ (SELECT sum(pg_stat_get_xact_tuples_fetched(indexrelid)) FROM pg_index "
          "   WHERE indrelid = 'compensatord.attempts'::regclass)")[0]
      .as<long long>();
}

// Completes ORD-1's two started calls on `connection` and answers how many rows of the trail the
// write-back read to find them.
long long rows_read_completing(pqxx::connection& connection, const std::vector<std::int64_t>& ids) {
  pqxx::work work(connection);
  const long long before = trail_rows_read(work);
  work.exec(fmt::format(R"(SELECT compensatord.write_back('[]', '[]', '[{{"id": {}, "xid": "ORD-1", "branch_no": 0,
    "action": "cancel", "request_summary": "POST /rollback", "outcome": "done", "http_status": 200,
    "latency_ms": 7, "error": ""}}, {{"id": {}, "xid": "ORD-1", "branch_no": 1, "action": "cancel",
    "request_summary": "POST /unlock", "outcome": "done", "http_status": 200, "latency_ms": 7, "error": ""}}]'))",
                        ids.at(0), ids.at(1)));
  const long long read = trail_rows_read(work) - before;
  work.commit();
  return read;
}

TEST_F(StartedCalls, AsTheTrailGrowsTheWriteBackReadsOnlyTheCallsItCompletes) {
  // PL/pgSQL keeps a statement's plan after a few runs on a connection: here it is made while the
  // trail holds a handful of rows, as at the start of a drain on a fresh deployment.
  for (int i = 0; i < 8; ++i) {
    const auto started = store_.start_calls({"ORD-1", lease_as("replica-a", "ORD-1"), both_calls("replica-a")});
    rows_read_completing(connection_, started.attempt_ids);
  }
  // Then the trail grows long before the statistics or the plan change.
  exec(
      "INSERT INTO compensatord.attempts (xid, branch_no, action, replica, started_at, outcome) "
      "SELECT 'ORD-1', 0, 'cancel', 'replica-a', now(), 'done' FROM generate_series(1, 20000)");
  const auto started = store_.start_calls({"ORD-1", lease_as("replica-a", "ORD-1"), both_calls("replica-a")});
  EXPECT_LE(rows_read_completing(connection_, started.attempt_ids), 10)
      << "rows of the trail read to complete two calls";
  for (const auto& attempt : store_.attempts("ORD-1")) {
    EXPECT_NE(attempt.outcome, kCallStarted) << "attempt " << attempt.id.value_or(0);
  }
}

TEST_F(CallsWithTheDecision, CompletingCallsOnAFullTrailRewritesNoIndex) {
  // 120 started calls: more than one page of the trail.
  std::vector<DecideRequest> decisions;
  for (int i = 0; i < 60; ++i) {
    const std::string xid = fmt::format("ORD-F{}", i);
    ingest_and_claim(xid, "replica-a");
    decisions.push_back(cancel_with_calls(xid, lease_as("replica-a", xid)));
  }
  const auto results = store_.decide_all(decisions);
  // The answers of the first five transactions' calls, as their write-backs complete them.
  std::string answers;
  for (std::size_t i = 0; i < 5; ++i) {
    for (std::size_t branch = 0; branch < 2; ++branch) {
      answers += fmt::format(R"({}{{"id": {}, "xid": "{}", "branch_no": {}, "action": "cancel",
        "request_summary": "POST http://stock/rollback/{}", "outcome": "done", "http_status": 200,
        "latency_ms": 3, "error": ""}})",
                             answers.empty() ? "" : ",", results[i].attempt_ids.at(branch), decisions[i].xid, branch,
                             decisions[i].xid);
    }
  }
  pqxx::work work(connection_);
  work.exec("SELECT compensatord.write_back('[]', '[]', " + work.quote("[" + answers + "]") + ")");
  const auto counts = work.exec1(
      "SELECT pg_stat_get_xact_tuples_updated('compensatord.attempts'::regclass), "
      "pg_stat_get_xact_tuples_hot_updated('compensatord.attempts'::regclass)");
  EXPECT_EQ(counts[0].as<int>(), 10);
  EXPECT_EQ(counts[1].as<int>(), 10) << "each completion fits beside its started row (heap-only update)";
}

TEST_F(CallsWithTheDecision, FinishingBranchesOnAFullTableRewritesNoIndex) {
  // 120 branches: more than one page of the table.
  std::vector<std::string> xids;
  for (int i = 0; i < 60; ++i) {
    xids.push_back(fmt::format("ORD-B{}", i));
    ingest_and_claim(xids.back(), "replica-a");
  }
  // The write-back of the first five transactions, each of its two branches acknowledged.
  std::string rows;
  std::string branches;
  for (std::size_t i = 0; i < 5; ++i) {
    rows += fmt::format(R"({}{{"xid": "{}", "owner": "replica-a", "token": {}, "expected": "PENDING",
      "status": "PENDING", "attempt_count": 1, "last_error": "", "last_http_status": 200, "parked_reason": "",
      "requeue_ms": 1000}})",
                        rows.empty() ? "" : ",", xids[i], lease_as("replica-a", xids[i]).token);
    for (int branch = 0; branch < 2; ++branch) {
      branches += fmt::format(R"({}{{"xid": "{}", "branch_no": {}, "status": "done", "outcome": "done",
        "error": "", "http_status": 200}})",
                              branches.empty() ? "" : ",", xids[i], branch);
    }
  }
  pqxx::work work(connection_);
  work.exec("SELECT compensatord.write_back(" + work.quote("[" + rows + "]") + ", " + work.quote("[" + branches + "]") +
            ", '[]')");
  const auto counts = work.exec1(
      "SELECT pg_stat_get_xact_tuples_updated('compensatord.branches'::regclass), "
      "pg_stat_get_xact_tuples_hot_updated('compensatord.branches'::regclass)");
  EXPECT_EQ(counts[0].as<int>(), 10);
  EXPECT_EQ(counts[1].as<int>(), 10) << "each outcome fits beside its branch (heap-only update)";
}

}  // namespace
}  // namespace compensatord::store::testing
