// The retention job against a real PostgreSQL: what it deletes and what it keeps, one replica at a
// time, in batches, and a stop that ends a run or a wait at once. Driven by run_once(); only the
// last test uses the job's thread.
#include "retention/retention_job.hpp"
#include "metrics/metrics.hpp"
#include "store/store_fixture.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <array>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace compensatord::retention {
namespace {

using namespace std::chrono_literals;
using retention::RetentionConfig;
using std::chrono::hours;

constexpr hours kOld = 24h * 40;    // past a 30-day limit
constexpr hours kRecent = 24h * 1;  // within it

// Records what a job reports; `on_deleted` runs in the job's thread after each batch.
class Recorder final : public RetentionObserver {
 public:
  void retention_deleted(std::string_view, long long) override {
    if (on_deleted) on_deleted();
  }
  void retention_run(RunOutcome outcome) override {
    {
      std::lock_guard lock(mutex);
      runs.push_back(outcome);
    }
    ran.notify_all();
  }

  std::function<void()> on_deleted;
  std::mutex mutex;
  std::condition_variable ran;
  std::vector<RunOutcome> runs;  // guarded by mutex
};

RetentionConfig limits(std::optional<std::chrono::milliseconds> finished_after,
                       std::optional<std::chrono::milliseconds> parked_after, int batch_size = 1000) {
  RetentionConfig config;
  config.finished_after = finished_after;
  config.parked_after = parked_after;
  config.batch_size = batch_size;
  config.pause = 1ms;
  return config;
}

class RetentionJobTest : public store::testing::StoreTest {
 protected:
  // A transaction in `status` whose clocks (created_at, updated_at and, when finished, finished_at)
  // are `age` ago, with two branches, a check and a call per branch in its trail, and an admin action.
  void add(const std::string& xid, const std::string& status, hours age) {
    pqxx::work work(connection_);
    work.exec_params0(R"(
INSERT INTO compensatord.transactions (xid, kind, source, status, decision, due_at, next_attempt_at, created_at,
                                       updated_at, finished_at)
SELECT $1, 'order', 'pending_log', $2::text,
       CASE WHEN $2::text IN ('CONFIRMED', 'CONFIRMING') THEN 'confirm' WHEN $2::text = 'CANCELLED' THEN 'cancel' END,
       at, at, at, at, CASE WHEN $2::text IN ('CONFIRMED', 'CANCELLED') THEN at END
  FROM (SELECT now() - $3::bigint * interval '1 hour' AS at) AS age)",
                      xid, status, static_cast<long long>(age.count()));
    work.exec_params0(
        "INSERT INTO compensatord.branches (xid, branch_no, participant) VALUES ($1, 0, 'stock'), ($1, 1, 'coupon')",
        xid);
    work.exec_params0(R"(
INSERT INTO compensatord.attempts (xid, branch_no, action, started_at, outcome)
VALUES ($1, NULL, 'check', now(), 'committed'), ($1, 0, 'confirm', now(), 'done'), ($1, 1, 'confirm', now(), 'done'))",
                      xid);
    work.exec_params0(
        "INSERT INTO compensatord.admin_actions (xid, action, actor, before, after) VALUES ($1, 'retry', 'ops', '{}', "
        "'{}')",
        xid);
    work.commit();
  }

  void add_many(const std::string& prefix, int count, const std::string& status, hours age) {
    for (int i = 0; i < count; ++i) add(prefix + std::to_string(i), status, age);
  }

  std::set<std::string> xids() {
    pqxx::read_transaction work(connection_);
    std::set<std::string> found;
    for (const auto& r : work.exec("SELECT xid FROM compensatord.transactions")) found.insert(r[0].as<std::string>());
    return found;
  }

  // Rows of `xid` in branches, attempts and admin_actions.
  std::array<long long, 3> trail(const std::string& xid) {
    const auto counts =
        row("SELECT (SELECT count(*) FROM compensatord.branches WHERE xid = $1), (SELECT count(*) FROM "
            "compensatord.attempts WHERE xid = $1), (SELECT count(*) FROM compensatord.admin_actions WHERE xid = $1)",
            xid);
    return {counts[0].as<long long>(), counts[1].as<long long>(), counts[2].as<long long>()};
  }

  std::unique_ptr<RetentionJob> job(const RetentionConfig& config, RetentionObserver& observer) {
    return std::make_unique<RetentionJob>(db_.dsn(), store::ConnectionLimits{}, config, observer);
  }
};

TEST_F(RetentionJobTest, DeletesOnlyFinishedTransactionsPastTheLimitWithTheirTrail) {
  add("old-confirmed", "CONFIRMED", kOld);
  add("old-cancelled", "CANCELLED", kOld);
  add("recent-confirmed", "CONFIRMED", kRecent);
  add("old-pending", "PENDING", kOld);
  add("old-confirming", "CONFIRMING", kOld);
  add("old-parked", "PARKED", kOld);
  Recorder recorder;

  const auto result = job(limits(24h * 30, std::nullopt), recorder)->run_once();

  EXPECT_EQ(result.outcome, RunOutcome::Ok);
  EXPECT_EQ(result.deleted, (std::map<std::string, long long, std::less<>>{{"CANCELLED", 1}, {"CONFIRMED", 1}}));
  EXPECT_EQ(xids(), (std::set<std::string>{"recent-confirmed", "old-pending", "old-confirming", "old-parked"}));
  for (const auto* gone : {"old-confirmed", "old-cancelled"}) {
    EXPECT_EQ(trail(gone), (std::array<long long, 3>{0, 0, 0})) << gone;
  }
  for (const auto* kept : {"recent-confirmed", "old-pending", "old-confirming", "old-parked"}) {
    EXPECT_EQ(trail(kept), (std::array<long long, 3>{2, 3, 1})) << kept;
  }
  EXPECT_EQ(recorder.runs, std::vector<RunOutcome>{RunOutcome::Ok});
}

TEST_F(RetentionJobTest, ParkedTransactionsGoOnlyWhenParkedAfterIsOn) {
  add("old-parked", "PARKED", kOld);
  add("recent-parked", "PARKED", kRecent);
  add("old-confirmed", "CONFIRMED", kOld);
  Recorder recorder;

  EXPECT_EQ(job(limits(24h * 30, std::nullopt), recorder)->run_once().total(), 1);
  EXPECT_EQ(xids(), (std::set<std::string>{"old-parked", "recent-parked"})) << "parked_after is off by default";

  add("old-confirmed-2", "CONFIRMED", kOld);
  const auto result = job(limits(std::nullopt, 24h * 30), recorder)->run_once();
  EXPECT_EQ(result.deleted, (std::map<std::string, long long, std::less<>>{{"PARKED", 1}}));
  EXPECT_EQ(xids(), (std::set<std::string>{"recent-parked", "old-confirmed-2"})) << "finished_after: off keeps it";
  EXPECT_EQ(trail("old-parked"), (std::array<long long, 3>{0, 0, 0}));
}

TEST_F(RetentionJobTest, AParkedTransactionAnOperatorRetriesMeanwhileIsKept) {
  add("old-parked", "PARKED", kOld);
  Recorder recorder;
  const auto parked_job = job(limits(std::nullopt, 24h * 30), recorder);

  // The operator's retry holds the row, not yet committed: the job passes over it without waiting.
  pqxx::connection operator_session(db_.dsn());
  pqxx::work retry(operator_session);
  EXPECT_EQ(retry.exec_params1("SELECT outcome FROM compensatord.admin_retry($1, 'ops', 'fixed')", "old-parked")[0]
                .as<std::string>(),
            "retried");
  EXPECT_EQ(parked_job->run_once().total(), 0);
  retry.commit();

  // Committed: the row is PENDING again, no longer parked work.
  EXPECT_EQ(parked_job->run_once().total(), 0);
  EXPECT_EQ(xids(), std::set<std::string>{"old-parked"});
  EXPECT_EQ(trail("old-parked")[0], 2);
}

TEST_F(RetentionJobTest, DeletesInBatchesUntilABatchIsShortAndTheMetricCountsEveryRow) {
  add_many("old-", 35, "CANCELLED", kOld);
  metrics::Metrics metrics("test");

  const auto result = job(limits(24h * 30, std::nullopt, 10), metrics)->run_once();

  EXPECT_EQ(result.total(), 35);
  EXPECT_GE(result.batches, 4);
  EXPECT_TRUE(xids().empty());
  const auto text = metrics.text();
  EXPECT_NE(text.find("\ncompensatord_retention_deleted_total{status=\"cancelled\"} 35\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ncompensatord_retention_runs_total{result=\"ok\"} 1\n"), std::string::npos) << text;
}

TEST_F(RetentionJobTest, OnlyOneReplicaPurgesAtATime) {
  add_many("old-", 35, "CONFIRMED", kOld);
  Recorder second_recorder;
  const auto second = job(limits(24h * 30, std::nullopt, 10), second_recorder);
  Recorder first_recorder;
  std::vector<RunResult> second_runs;
  // The second replica tries while the first is between two of its batches.
  first_recorder.on_deleted = [&] {
    if (second_runs.empty()) second_runs.push_back(second->run_once());
  };

  const auto first = job(limits(24h * 30, std::nullopt, 10), first_recorder)->run_once();

  ASSERT_EQ(second_runs.size(), 1u);
  EXPECT_EQ(second_runs[0].outcome, RunOutcome::SkippedLock);
  EXPECT_EQ(second_runs[0].total(), 0);
  EXPECT_EQ(first.outcome, RunOutcome::Ok);
  EXPECT_EQ(first.total(), 35);
  EXPECT_EQ(second->run_once().outcome, RunOutcome::Ok) << "the lock goes with the first run's connection";

  // A session holding the documented key keeps every replica's job out.
  add("old-again", "CONFIRMED", kOld);
  pqxx::connection holder(db_.dsn());
  pqxx::nontransaction(holder).exec_params("SELECT pg_advisory_lock($1)", kRetentionLockKey);
  EXPECT_EQ(second->run_once().outcome, RunOutcome::SkippedLock);
  EXPECT_EQ(xids(), std::set<std::string>{"old-again"});
  EXPECT_EQ(second_recorder.runs.back(), RunOutcome::SkippedLock);
}

TEST_F(RetentionJobTest, AStopDuringARunEndsItAtOnceInsteadOfAfterThePause) {
  add_many("old-", 35, "CANCELLED", kOld);
  auto config = limits(24h * 30, std::nullopt, 10);
  config.pause = 1h;
  Recorder recorder;
  std::stop_source stop;
  recorder.on_deleted = [&] { stop.request_stop(); };

  const auto started = std::chrono::steady_clock::now();
  const auto result = job(config, recorder)->run_once(stop.get_token());

  EXPECT_LT(std::chrono::steady_clock::now() - started, 60s) << "the pause of an hour must not be waited out";
  EXPECT_EQ(result.outcome, RunOutcome::Ok);
  EXPECT_EQ(result.total(), 10);
  EXPECT_EQ(xids().size(), 25u) << "what is left waits for the next run";
}

TEST_F(RetentionJobTest, AnUnreachableDatabaseEndsTheRunWithAnErrorAndNoException) {
  Recorder recorder;
  RetentionJob unreachable("postgresql://compensatord:s3cret@127.0.0.1:1/state",
                           store::ConnectionLimits{.connect_timeout = 2s}, limits(24h * 30, std::nullopt), recorder);
  EXPECT_EQ(unreachable.run_once().outcome, RunOutcome::Error);
  EXPECT_EQ(recorder.runs, std::vector<RunOutcome>{RunOutcome::Error});
}

TEST_F(RetentionJobTest, ItRunsAtStartAndAStopEndsTheWaitForTheNextInterval) {
  add_many("old-", 35, "CONFIRMED", kOld);
  auto config = limits(24h * 30, std::nullopt, 10);
  config.interval = 1h;
  Recorder recorder;
  auto running = job(config, recorder);
  std::jthread runner([&running](std::stop_token stop) { running->run(stop); });
  {
    std::unique_lock lock(recorder.mutex);
    ASSERT_TRUE(recorder.ran.wait_for(lock, 120s, [&] { return !recorder.runs.empty(); }))
        << "no run within 120 s of the start";
    EXPECT_EQ(recorder.runs.front(), RunOutcome::Ok);
  }
  EXPECT_TRUE(xids().empty());

  const auto stopping = std::chrono::steady_clock::now();
  runner = {};
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 60s) << "the interval of an hour must not be waited out";
}

}  // namespace
}  // namespace compensatord::retention
