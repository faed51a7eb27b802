#pragma once
// Retention: deletes finished transactions (CONFIRMED, CANCELLED) older than
// retention.finished_after and, when an operator turns it on, parked ones (PARKED, ABANDONED)
// older than retention.parked_after, with their branches, attempts and admin actions (ON DELETE
// CASCADE). Gently: a batch of retention.batch_size transactions per statement, each statement its
// own short transaction, a pause between batches. From one replica at a time: a run first takes a
// PostgreSQL advisory lock on a connection of its own, and a replica that does not get it skips.
// How to size it: docs/operations.md (Retention).

#include "retention/retention_config.hpp"
#include "store/conninfo.hpp"

#include <chrono>
#include <map>
#include <stop_token>
#include <string>
#include <string_view>

namespace compensatord::retention {

// Session advisory lock key of the retention job ("cmpretnt" in ASCII), beside the migrations'
// "cmpnsatd". Held for one run on the run's own connection: closing it releases the lock even when
// the run fails half-way or the replica dies.
inline constexpr long long kRetentionLockKey = 0x636d707265746e74;

enum class RunOutcome { Ok, SkippedLock, Error };
// The `result` label of compensatord_retention_runs_total: ok, skipped_lock, error.
std::string_view to_string(RunOutcome outcome);

struct RunResult {
  RunOutcome outcome = RunOutcome::Ok;
  // Transactions deleted, by the status they had when deleted ("CONFIRMED", "PARKED", ...).
  std::map<std::string, long long, std::less<>> deleted;
  int batches = 0;  // DELETE statements run, the last one included (it may delete nothing)

  [[nodiscard]] long long total() const;
};

// The seam through which the job reports what it does (metrics implement it). Called from the
// thread that runs the job.
class RetentionObserver {
 public:
  virtual ~RetentionObserver() = default;
  // A batch deleted `count` transactions that were in `status`; its statement has committed.
  virtual void retention_deleted(std::string_view status, long long count) = 0;
  virtual void retention_run(RunOutcome outcome) = 0;
};

// Reports nothing; the observer of a job that was given none.
RetentionObserver& no_retention_observer();

class RetentionJob {
 public:
  // `limits` bound the job's connection like every other of the state database (database.*).
  RetentionJob(std::string dsn, store::ConnectionLimits limits, RetentionConfig config,
               RetentionObserver& observer = no_retention_observer());
  ~RetentionJob();
  RetentionJob(const RetentionJob&) = delete;
  RetentionJob& operator=(const RetentionJob&) = delete;

  // False when both limits are off: a job would have nothing to delete.
  [[nodiscard]] static bool enabled(const RetentionConfig& config);

  // One run: takes the advisory lock or skips; deletes finished, then parked transactions past
  // their limit in batches until a batch deletes fewer than batch_size, or `stop` is requested (a
  // pause between batches wakes at once); releases the lock. Never throws: an error ends the run
  // with RunOutcome::Error, is logged, and what earlier batches deleted stays deleted.
  RunResult run_once(std::stop_token stop = {});

  // Runs run_once now and then every interval until `stop` is requested, which also ends a
  // pause or an interval at once.
  void run(std::stop_token stop);

 private:
  // run_once's work; `result` keeps what was deleted when it throws.
  void purge(const std::stop_token& stop, RunResult& result);

  std::string dsn_;
  store::ConnectionLimits limits_;
  RetentionConfig config_;
  RetentionObserver& observer_;
};

}  // namespace compensatord::retention
