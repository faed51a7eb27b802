// The reconcile state machine against an in-memory store, a scripted check and a scripted
// participant transport. The same flow against real PostgreSQL and real HTTP participants
// is covered by the e2e tests.
#include "reconciler/reconcile.hpp"

#include "adapters/participant_spec.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>

namespace compensatord::reconciler {
namespace {

using namespace std::chrono_literals;

class MemoryStore final : public store::LeaseStore {
 public:
  Transaction txn;
  std::vector<Attempt> trail;
  std::vector<store::WriteBack> writes;
  bool order_service_commits_first = false;
  bool lose_lease = false;

  std::vector<Transaction> claim_due(const store::ClaimRequest&) override { return {txn}; }
  int start_calls_requests = 0;

  // Like PgStore: the check and the calls of a decision we won go to the trail with it.
  std::vector<store::DecideResult> decide_all(const std::vector<store::DecideRequest>& requests) override {
    std::vector<store::DecideResult> results;
    for (const auto& r : requests) {
      auto result = decide_one(r.lease.owner, r.decision);
      if (result.decided_by_us && r.check) trail.push_back(*r.check);
      if (result.decided_by_us) result.attempt_ids = record_started(r.calls);
      results.push_back(std::move(result));
    }
    return results;
  }
  std::vector<std::int64_t> record_started(const std::vector<Attempt>& calls) {
    std::vector<std::int64_t> ids;
    for (const auto& call : calls) {
      trail.push_back(call);
      ids.push_back(static_cast<std::int64_t>(trail.size()));
    }
    return ids;
  }
  store::DecideResult decide_one(const std::string& owner, Decision d) {
    if (lose_lease) return {.lease_lost = true, .decided_by_us = false, .decision = std::nullopt, .status = txn.status};
    if (order_service_commits_first) {
      txn.status = Status::Committed;
      txn.decision = Decision::Confirm;
      return {.decided_by_us = false, .decision = Decision::Confirm, .status = Status::Committed};
    }
    txn.decision = d;
    txn.decided_by = owner;
    txn.status = d == Decision::Confirm ? Status::Confirming : Status::Cancelling;
    return {.decided_by_us = true, .decision = d, .status = txn.status};
  }
  // Like PgStore: started calls go to the trail (ids are positions in it, from 1), unless the lease is lost.
  std::vector<store::StartedCalls> start_calls_all(const std::vector<store::CallsStart>& requests) override {
    std::vector<store::StartedCalls> results;
    for (const auto& r : requests) {
      ++start_calls_requests;
      results.push_back({.lease_lost = lose_lease,
                         .attempt_ids = lose_lease ? std::vector<std::int64_t>{} : record_started(r.calls)});
    }
    return results;
  }
  // Like PgStore: a lost lease records the attempts (completing started calls) and nothing else.
  std::vector<bool> write_back_all(const std::vector<store::WriteBack>& results) override {
    std::vector<bool> written;
    for (const auto& wb : results) {
      for (const auto& attempt : wb.attempts) {
        if (!attempt.id) {
          trail.push_back(attempt);
          continue;
        }
        auto& started = trail.at(static_cast<std::size_t>(*attempt.id - 1));
        EXPECT_EQ(started.outcome, kCallStarted) << "a call completed twice";
        started = attempt;
      }
      written.push_back(!lose_lease);
      if (lose_lease) continue;
      writes.push_back(wb);
      txn.status = wb.status;
      txn.attempt_count = wb.attempt_count;
      for (const auto& b : wb.branches) txn.branches[static_cast<std::size_t>(b.no)].status = b.status;
    }
    return written;
  }
  std::vector<std::string> renew(const std::vector<store::LeasedXid>&, std::chrono::milliseconds) override {
    return {};
  }
  void release(const std::vector<store::LeasedXid>&) override {}
};

class ScriptedCheck final : public check::Check {
 public:
  explicit ScriptedCheck(CheckVerdict v) : verdict(v) {}
  CheckVerdict verdict;
  bool unaskable = false;
  int calls = 0;
  check::CheckResult run(const Transaction&) override {
    ++calls;
    return {verdict,     std::nullopt, verdict == CheckVerdict::Unknown ? "order db unreachable" : "",
            "SQL check", 1ms,          unaskable};
  }
};

// Answers by URL prefix; records every request.
class ScriptedTransport final : public adapters::HttpTransport {
 public:
  std::mutex mutex;
  std::map<std::string, std::deque<adapters::HttpResponse>> answers;  // path fragment -> queued answers
  std::vector<adapters::HttpRequest> requests;
  std::function<void()> before_answer;  // runs as each request is sent

  void send(adapters::HttpRequest request, adapters::ResponseHandler done) override {
    if (before_answer) before_answer();
    done(answer_for(request));
  }

  adapters::HttpResponse answer_for(const adapters::HttpRequest& request) {
    std::lock_guard lock(mutex);
    requests.push_back(request);
    for (auto& [fragment, queue] : answers) {
      if (request.url.find(fragment) == std::string::npos || queue.empty()) continue;
      auto answer = queue.front();
      if (queue.size() > 1) queue.pop_front();
      return answer;
    }
    return {0, "", "connection refused"};
  }
  int count(const std::string& fragment) {
    std::lock_guard lock(mutex);
    return static_cast<int>(std::count_if(requests.begin(), requests.end(),
                                          [&](const auto& r) { return r.url.find(fragment) != std::string::npos; }));
  }
};

constexpr const char* kParticipants = R"(
stock:
  base_url: http://stock.test
  actions:
    confirm:
      method: POST
      path: /confirm/{{xid}}
      body: {sku: "{{branch.sku}}"}
      outcomes:
        - {status: [200], json: {code: 0}, then: done}
        - {status: [404], then: not_found}
        - {status: [409, 422], then: fatal}
    cancel:
      method: POST
      path: /rollback/{{xid}}
      body: {sku: "{{branch.sku}}"}
      outcomes:
        - {status: [200], json: {code: 0}, then: done}
        - {status: [200], json: {code: 1002}, then: already_done}
        - {status: [404], then: not_found}
        - {status: [409, 422], then: fatal}
coupon:
  base_url: http://coupon.test
  actions:
    cancel:
      method: POST
      path: /unlock/{{xid}}
      outcomes:
        - {status: [200], then: done}
)";

Branch branch(int no, std::string participant, nlohmann::json fields) {
  Branch b;
  b.no = no;
  b.participant = std::move(participant);
  b.fields = std::move(fields);
  return b;
}

// The participants of `yaml` (a `participants:` map) added to `context`.
void add_participants(const std::string& yaml, const std::shared_ptr<adapters::HttpTransport>& transport,
                      ReconcileContext& context) {
  yaml::ConfigErrors errors;
  YAML::Node root = YAML::Load(yaml);
  yaml::Reader reader(root, "participants", errors);
  for (const auto& name : reader.keys()) {
    auto spec = adapters::parse_participant_spec(reader.child(name));
    ASSERT_TRUE(spec) << errors.to_string();
    context.participants.emplace(name, std::make_unique<adapters::Participant>(name, spec, transport));
  }
}

class ReconcileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    add_participants(kParticipants, transport, *context);
    auto owned_check = std::make_unique<ScriptedCheck>(CheckVerdict::Absent);
    check = owned_check.get();
    reconciler::RetryPolicy retry;
    retry.initial_backoff = 1s;
    retry.max_backoff = 10s;
    retry.jitter = 0.0;
    retry.max_attempts = 3;
    context->kinds.emplace("order", KindRuntime{retry, std::move(owned_check), 1s});

    store.txn.xid = "ORD-1";
    store.txn.kind = "order";
    store.txn.status = Status::Pending;
    store.txn.created_at = Clock::now();
    store.txn.age_from = store.txn.created_at;
    store.txn.branches.push_back(branch(0, "stock", {{"sku", "A-1"}, {"qty", 2}}));
    store.txn.branches.push_back(branch(1, "coupon", {{"coupon_id", "C-9"}}));
  }

  ReconcileReport reconcile() {
    return reconciler.reconcile(store.txn, [this](std::chrono::milliseconds needed) {
      lease_checks.push_back(needed);
      return lease_lasts;
    });
  }
  void answer(const std::string& fragment, int status, const std::string& body) {
    transport->answers[fragment] = {{status, body, ""}};
  }

  MemoryStore store;
  std::shared_ptr<ScriptedTransport> transport = std::make_shared<ScriptedTransport>();
  std::shared_ptr<ReconcileContext> context = std::make_shared<ReconcileContext>();
  ScriptedCheck* check = nullptr;
  bool lease_lasts = true;                              // what the lease check answers
  std::vector<std::chrono::milliseconds> lease_checks;  // what it was asked
  TransactionReconciler reconciler{store, context, "replica-a"};
};

TEST_F(ReconcileTest, AbsentOrderIsCancelledOnEveryBranch) {
  answer("/rollback/ORD-1", 200, R"({"code":0})");
  answer("/unlock/ORD-1", 200, "{}");
  auto report = reconcile();
  EXPECT_EQ(report.result, ReconcileResult::Finished);
  EXPECT_TRUE(report.decided_now);
  EXPECT_EQ(store.txn.status, Status::Cancelled);
  ASSERT_EQ(store.trail.size(), 3u);
  EXPECT_EQ(store.trail[0].action, AttemptAction::Check) << "recorded with the decision, before its calls";
  EXPECT_EQ(store.trail[0].outcome, AttemptOutcome{CheckVerdict::Absent});
  for (const auto& write : store.writes) {
    for (const auto& attempt : write.attempts) EXPECT_NE(attempt.action, AttemptAction::Check) << "and only there";
  }
  EXPECT_EQ(transport->count("/rollback/ORD-1"), 1);
  EXPECT_EQ(transport->count("/unlock/ORD-1"), 1);
}

TEST_F(ReconcileTest, CommittedOrderIsConfirmedAndAParticipantWithoutConfirmIsANoOp) {
  check->verdict = CheckVerdict::Committed;
  answer("/confirm/ORD-1", 200, R"({"code":0})");
  auto report = reconcile();
  EXPECT_EQ(report.result, ReconcileResult::Finished);
  EXPECT_EQ(store.txn.status, Status::Confirmed);
  EXPECT_EQ(transport->count("/confirm/ORD-1"), 1);
  EXPECT_EQ(transport->count("coupon.test"), 0);
  ASSERT_EQ(store.trail.size(), 3u);
  EXPECT_EQ(store.trail[0].outcome, AttemptOutcome{CheckVerdict::Committed});
  EXPECT_EQ(store.trail[2].branch_no, 1);
  EXPECT_EQ(store.trail[2].outcome, AttemptOutcome{CallProgress::Skipped});
  ASSERT_EQ(report.calls.size(), 1u) << "a skipped action is no call";
  EXPECT_EQ(report.calls[0].branch_no, 0);
  EXPECT_EQ(report.calls[0].action, Decision::Confirm);
  EXPECT_EQ(report.calls[0].outcome, Outcome::Done);
}

TEST_F(ReconcileTest, OrderServiceThatCommitsFirstWinsOverTheCancel) {
  store.order_service_commits_first = true;
  answer("/confirm/ORD-1", 200, R"({"code":0})");
  auto report = reconcile();
  EXPECT_FALSE(report.decided_now);
  EXPECT_EQ(report.decision, Decision::Confirm);
  EXPECT_EQ(store.txn.status, Status::Confirmed);
  EXPECT_EQ(transport->count("/rollback/"), 0);
}

TEST_F(ReconcileTest, CommittedRowNeedsNoCheck) {
  store.txn.status = Status::Committed;
  store.txn.decision = Decision::Confirm;
  answer("/confirm/ORD-1", 200, R"({"code":0})");
  const auto report = reconcile();
  EXPECT_EQ(report.result, ReconcileResult::Finished);
  EXPECT_EQ(check->calls, 0);
  EXPECT_FALSE(report.stages.check) << "no check, no check time";
  EXPECT_FALSE(report.stages.decide);
  EXPECT_TRUE(report.stages.calls);
  EXPECT_TRUE(report.stages.write_back);
}

TEST_F(ReconcileTest, EveryStageReachedReportsItsTime) {
  answer("/rollback/ORD-1", 200, R"({"code":0})");
  answer("/unlock/ORD-1", 200, "{}");
  const auto report = reconcile();
  ASSERT_EQ(report.result, ReconcileResult::Finished);
  for (const auto& stage : {report.stages.check, report.stages.decide, report.stages.calls, report.stages.write_back}) {
    ASSERT_TRUE(stage);
    EXPECT_GE(stage->count(), 0.0);
  }
  EXPECT_FALSE(report.stages.start_calls) << "the calls were recorded with the decision";
}

TEST_F(ReconcileTest, ADecisionWonRecordsItsCallsWithItAndNeedsNoRoundTripOfTheirOwn) {
  answer("/rollback/ORD-1", 200, R"({"code":0})");
  answer("/unlock/ORD-1", 200, "{}");
  std::size_t trail_when_sent = 0;
  transport->before_answer = [&] { trail_when_sent = store.trail.size(); };
  ASSERT_EQ(reconcile().result, ReconcileResult::Finished);
  EXPECT_EQ(store.start_calls_requests, 0);
  EXPECT_EQ(trail_when_sent, 3u) << "the check and both calls in the trail before the first call is sent";
  ASSERT_EQ(lease_checks.size(), 2u);
  EXPECT_EQ(lease_checks[1], 10s) << "recorded with the decision only if the lease outlasts the calls";
}

TEST_F(ReconcileTest, ADecisionTakenByTheOrderServiceStartsItsCallsSeparately) {
  store.order_service_commits_first = true;
  answer("/confirm/ORD-1", 200, R"({"code":0})");
  ASSERT_EQ(reconcile().result, ReconcileResult::Finished);
  EXPECT_EQ(store.start_calls_requests, 1) << "the cancel calls were not recorded; the confirm calls are";
  ASSERT_EQ(store.trail.size(), 3u);
  EXPECT_EQ(store.trail[0].action, AttemptAction::Confirm);
  EXPECT_EQ(store.trail[1].action, AttemptAction::Confirm);
  EXPECT_EQ(store.trail[2].outcome, AttemptOutcome{CheckVerdict::Absent})
      << "a check whose decision was not taken goes with the write-back";
}

TEST_F(ReconcileTest, ALeaseTooShortForTheCallsDecidesButDefersTheCalls) {
  std::vector<bool> answers{true, false, false};  // the check fits; the calls do not
  auto lease = [&](std::chrono::milliseconds) {
    const bool held = answers.front();
    if (answers.size() > 1) answers.erase(answers.begin());
    return held;
  };
  const auto report = reconciler.reconcile(store.txn, lease);
  EXPECT_EQ(report.result, ReconcileResult::LeaseLost);
  EXPECT_TRUE(report.decided_now);
  EXPECT_EQ(store.txn.status, Status::Cancelling) << "the decision stands; the calls wait for the next claim";
  EXPECT_EQ(transport->requests.size(), 0u);
  EXPECT_EQ(store.start_calls_requests, 0);
  ASSERT_EQ(store.trail.size(), 1u);
  EXPECT_EQ(store.trail[0].action, AttemptAction::Check);
}

TEST_F(ReconcileTest, UnknownCheckRequeuesWithBackoffAndNoDecision) {
  check->verdict = CheckVerdict::Unknown;
  auto report = reconcile();
  EXPECT_EQ(report.result, ReconcileResult::Requeued);
  EXPECT_EQ(store.txn.status, Status::Pending);
  EXPECT_FALSE(store.txn.decision);
  ASSERT_EQ(store.writes.size(), 1u);
  EXPECT_EQ(store.writes[0].attempt_count, 1);
  EXPECT_EQ(store.writes[0].requeue_after, 1s);
  EXPECT_NE(store.writes[0].last_error.find("order db unreachable"), std::string::npos);
  EXPECT_EQ(transport->requests.size(), 0u);
}

TEST_F(ReconcileTest, ACheckThatCannotBeAskedParksAtOnceWithoutADecision) {
  check->verdict = CheckVerdict::Unknown;
  check->unaskable = true;
  auto report = reconcile();
  EXPECT_EQ(report.result, ReconcileResult::Parked);
  EXPECT_EQ(store.txn.status, Status::Parked);
  EXPECT_FALSE(store.txn.decision);
  ASSERT_EQ(store.writes.size(), 1u);
  EXPECT_NE(store.writes[0].parked_reason.find("check cannot be asked: order db unreachable"), std::string::npos)
      << store.writes[0].parked_reason;
  ASSERT_EQ(store.writes[0].attempts.size(), 1u);
  EXPECT_EQ(store.writes[0].attempts[0].action, AttemptAction::Check);
  EXPECT_EQ(transport->requests.size(), 0u);
}

TEST_F(ReconcileTest, RetryThenNotFoundCountsAsDoneAndOnlyWaitingBranchesAreRetried) {
  transport->answers["/rollback/ORD-1"] = {{503, "busy", ""}, {404, R"({"code":1001})", ""}};
  answer("/unlock/ORD-1", 200, "{}");
  auto first = reconcile();
  EXPECT_EQ(first.result, ReconcileResult::Requeued);
  EXPECT_EQ(store.txn.status, Status::Cancelling);
  EXPECT_EQ(store.txn.branches[1].status, BranchStatus::Done);
  EXPECT_EQ(store.writes.back().last_http_status, 503);

  auto second = reconcile();
  EXPECT_EQ(second.result, ReconcileResult::Finished);
  EXPECT_EQ(store.txn.status, Status::Cancelled);
  EXPECT_EQ(transport->count("/unlock/ORD-1"), 1);
  EXPECT_EQ(transport->count("/rollback/ORD-1"), 2);
  EXPECT_EQ(store.trail.back().outcome, AttemptOutcome{Outcome::NotFound});
}

TEST_F(ReconcileTest, FatalAnswerParksAtOnceNamingTheParticipant) {
  answer("/rollback/ORD-1", 409, R"({"code":1005})");
  answer("/unlock/ORD-1", 200, "{}");
  auto report = reconcile();
  EXPECT_EQ(report.result, ReconcileResult::Parked);
  EXPECT_EQ(store.txn.status, Status::Parked);
  EXPECT_NE(store.writes.back().parked_reason.find("stock cancel of branch 0"), std::string::npos);
}

TEST_F(ReconcileTest, ParksAfterMaxAttemptsKeepingTheLastError) {
  answer("/rollback/ORD-1", 500, "oops");
  answer("/unlock/ORD-1", 200, "{}");
  EXPECT_EQ(reconcile().result, ReconcileResult::Requeued);
  EXPECT_EQ(reconcile().result, ReconcileResult::Requeued);
  EXPECT_EQ(store.writes.back().requeue_after, 2s);
  auto last = reconcile();
  EXPECT_EQ(last.result, ReconcileResult::Parked);
  EXPECT_NE(store.writes.back().parked_reason.find("gave up after 3 attempts"), std::string::npos);
  EXPECT_NE(store.writes.back().parked_reason.find("HTTP 500"), std::string::npos);
}

TEST_F(ReconcileTest, ParksAfterMaxAge) {
  store.txn.created_at = Clock::now() - std::chrono::hours(100);
  store.txn.age_from = store.txn.created_at;
  check->verdict = CheckVerdict::Unknown;
  auto report = reconcile();
  EXPECT_EQ(report.result, ReconcileResult::Parked);
  EXPECT_NE(report.error.find("max_age"), std::string::npos);
}

TEST_F(ReconcileTest, AnOperatorsRetryRestartsTheAgeLimit) {
  store.txn.created_at = Clock::now() - std::chrono::hours(100);
  store.txn.age_from = Clock::now();  // retried just now
  check->verdict = CheckVerdict::Unknown;
  EXPECT_EQ(reconcile().result, ReconcileResult::Requeued);
}

TEST_F(ReconcileTest, UnknownParticipantOrKindParks) {
  store.txn.branches[1].participant = "points";
  EXPECT_EQ(reconcile().result, ReconcileResult::Parked);
  EXPECT_NE(store.writes.back().parked_reason.find("unknown participant 'points'"), std::string::npos);

  store.txn.status = Status::Pending;
  store.txn.kind = "refund";
  EXPECT_EQ(reconcile().result, ReconcileResult::Parked);
  EXPECT_NE(store.writes.back().parked_reason.find("unknown kind 'refund'"), std::string::npos);
}

TEST_F(ReconcileTest, UnknownParticipantAfterAKnownOneMakesNoCallAtAll) {
  store.txn.branches[1].participant = "points";
  answer("/rollback/ORD-1", 200, R"({"code":0})");
  EXPECT_EQ(reconcile().result, ReconcileResult::Parked);
  EXPECT_EQ(transport->requests.size(), 0u) << "the stock branch must not be called when the coupon one cannot be";
  EXPECT_TRUE(store.writes.back().branches.empty());
}

TEST_F(ReconcileTest, ABranchRejectedEarlierKeepsTheTransactionParked) {
  store.txn.status = Status::Cancelling;
  store.txn.decision = Decision::Cancel;
  store.txn.branches[0].status = BranchStatus::Fatal;
  store.txn.branches[0].last_error = "HTTP 409";
  answer("/unlock/ORD-1", 200, "{}");
  EXPECT_EQ(reconcile().result, ReconcileResult::Parked);
  EXPECT_EQ(transport->count("/rollback/"), 0);
  EXPECT_EQ(transport->count("/unlock/ORD-1"), 1);
  EXPECT_EQ(store.txn.branches[1].status, BranchStatus::Done);
  EXPECT_NE(store.writes.back().parked_reason.find("branch 0 was rejected earlier: HTTP 409"), std::string::npos);
}

TEST_F(ReconcileTest, LostLeaseRecordsTheCheckButChangesNothing) {
  store.lose_lease = true;
  EXPECT_EQ(reconcile().result, ReconcileResult::LeaseLost);
  EXPECT_TRUE(store.writes.empty());
  EXPECT_EQ(transport->requests.size(), 0u);
  ASSERT_EQ(store.trail.size(), 1u) << "the check happened: it is evidence";
  EXPECT_EQ(store.trail[0].action, AttemptAction::Check);
}

TEST_F(ReconcileTest, EveryCallIsInTheTrailBeforeItIsSentAndItsAnswerCompletesThatRow) {
  answer("/rollback/ORD-1", 200, R"({"code":0})");
  answer("/unlock/ORD-1", 503, "busy");
  std::vector<AttemptOutcome> outcomes_when_sent;
  transport->before_answer = [&] {
    for (const auto& attempt : store.trail) outcomes_when_sent.push_back(attempt.outcome);
  };
  EXPECT_EQ(reconcile().result, ReconcileResult::Requeued);
  const std::vector<AttemptOutcome> seen_by_each_send{CheckVerdict::Absent, kCallStarted, kCallStarted};
  std::vector<AttemptOutcome> seen_by_both = seen_by_each_send;
  seen_by_both.insert(seen_by_both.end(), seen_by_each_send.begin(), seen_by_each_send.end());
  EXPECT_EQ(outcomes_when_sent, seen_by_both) << "two sends, each seeing the check and both calls started";
  ASSERT_EQ(store.trail.size(), 3u) << "the answers complete the started rows, none is appended";
  EXPECT_EQ(store.trail[0].action, AttemptAction::Check);
  EXPECT_EQ(store.trail[1].outcome, AttemptOutcome{Outcome::Done});
  EXPECT_EQ(store.trail[1].id, 2);
  EXPECT_EQ(store.trail[2].outcome, AttemptOutcome{Outcome::Retry});
  EXPECT_EQ(store.trail[2].http_status, 503);
}

TEST_F(ReconcileTest, ALeaseLostJustBeforeTheCallsSendsAndRecordsNothing) {
  store.txn.status = Status::Cancelling;
  store.txn.decision = Decision::Cancel;
  store.lose_lease = true;
  const auto report = reconcile();
  EXPECT_EQ(report.result, ReconcileResult::LeaseLost);
  EXPECT_TRUE(report.stages.start_calls);
  EXPECT_FALSE(report.stages.calls);
  EXPECT_EQ(transport->requests.size(), 0u);
  EXPECT_TRUE(store.trail.empty());
  EXPECT_TRUE(store.writes.empty());
  EXPECT_EQ(store.txn.status, Status::Cancelling);
}

TEST_F(ReconcileTest, NoCheckStartsWhenTheLeaseWouldNotOutlastIt) {
  lease_lasts = false;
  auto report = reconcile();
  EXPECT_EQ(report.result, ReconcileResult::LeaseLost);
  EXPECT_EQ(check->calls, 0);
  EXPECT_EQ(transport->requests.size(), 0u);
  ASSERT_EQ(lease_checks.size(), 1u);
  EXPECT_EQ(lease_checks[0], 1s) << "the kind's check timeout";
  ASSERT_EQ(store.writes.size(), 1u);
  EXPECT_EQ(store.writes[0].requeue_after, 0ms) << "given back due now";
  EXPECT_EQ(store.writes[0].attempt_count, 0) << "not an attempt";
  EXPECT_EQ(store.txn.status, Status::Pending);
}

TEST_F(ReconcileTest, NoCallStartsWhenTheLeaseWouldNotOutlastASlotWaitAndTheCall) {
  store.txn.status = Status::Cancelling;
  store.txn.decision = Decision::Cancel;
  lease_lasts = false;
  EXPECT_EQ(reconcile().result, ReconcileResult::LeaseLost);
  EXPECT_EQ(transport->requests.size(), 0u);
  ASSERT_EQ(lease_checks.size(), 1u);
  EXPECT_EQ(lease_checks[0], 10s) << "twice the participants' default timeout of 5 s";
  EXPECT_EQ(store.txn.status, Status::Cancelling);
}

TEST_F(ReconcileTest, HostileBranchFieldsCannotEscapeTheRequest) {
  store.txn.xid = "a/../b?x=1&\"}";
  store.txn.branches[0].fields["sku"] = "\"},\"admin\":true,\"x\":{\"";
  answer("/rollback/", 200, R"({"code":0})");
  answer("/unlock/", 200, "{}");
  EXPECT_EQ(reconcile().result, ReconcileResult::Finished);
  const auto& request = transport->requests.front().url.find("rollback") != std::string::npos
                            ? transport->requests.front()
                            : transport->requests.back();
  EXPECT_EQ(request.url, "http://stock.test/rollback/a%2F..%2Fb%3Fx%3D1%26%22%7D");
  auto body = nlohmann::json::parse(request.body);
  EXPECT_EQ(body.size(), 1u);
  EXPECT_EQ(body["sku"], "\"},\"admin\":true,\"x\":{\"");
}

// A config reload swaps the context while a reconcile calls the participants: that reconcile ends
// with the adapters it started with, though nothing else holds them any more; the next one uses
// the new ones.
TEST_F(ReconcileTest, AContextSwappedMidReconcileTakesEffectFromTheNextReconcile) {
  answer("/rollback/", 200, R"({"code":0})");
  answer("/unlock/", 200, "{}");
  std::string moved = kParticipants;
  for (const std::string path : {"/rollback/", "/unlock/"}) moved.replace(moved.find(path), path.size(), "/v2" + path);
  auto reloaded = std::make_shared<ReconcileContext>();
  add_participants(moved, transport, *reloaded);
  reloaded->kinds.emplace("order", KindRuntime{{}, std::make_unique<ScriptedCheck>(CheckVerdict::Absent), 1s});

  std::weak_ptr<const ReconcileContext> replaced = context;
  bool swapped = false;
  transport->before_answer = [&] {
    if (std::exchange(swapped, true)) return;
    reconciler.use_context(reloaded);
    context.reset();
    EXPECT_FALSE(replaced.expired()) << "the reconcile in progress still holds the context it started with";
  };
  EXPECT_EQ(reconcile().result, ReconcileResult::Finished);
  ASSERT_TRUE(swapped);
  EXPECT_TRUE(replaced.expired()) << "the replaced context goes once its last reconcile is done";
  EXPECT_EQ(transport->count("stock.test/rollback/ORD-1"), 1);
  EXPECT_EQ(transport->count("coupon.test/unlock/ORD-1"), 1) << "the second branch's call used the old adapter";
  EXPECT_EQ(transport->count("/v2/"), 0);

  store.txn.xid = "ORD-2";
  store.txn.status = Status::Pending;
  store.txn.decision.reset();
  for (auto& b : store.txn.branches) b.status = BranchStatus::Waiting;
  EXPECT_EQ(reconcile().result, ReconcileResult::Finished);
  EXPECT_EQ(transport->count("stock.test/v2/rollback/ORD-2"), 1);
  EXPECT_EQ(transport->count("coupon.test/v2/unlock/ORD-2"), 1);
}

}  // namespace
}  // namespace compensatord::reconciler
