#pragma once
// The claim loop and its workers: claims due transactions in batches (SKIP LOCKED + a fenced
// lease), never more than idle workers can start at once, hands them to a fixed pool of
// workers, keeps their leases renewed while they run, and on stop releases what it has not
// started and waits for what it has.

#include "reconciler/lease_keeper.hpp"
#include "reconciler/reconcile.hpp"
#include "reconciler/reconciler_config.hpp"
#include "store/store.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace compensatord::reconciler {

struct LoopTotals {
  long long claimed = 0;
  long long lease_takeovers = 0;
  long long finished = 0;
  long long requeued = 0;
  long long parked = 0;
  long long lease_lost = 0;
  long long errors = 0;  // store errors while reconciling (lease released or left to expire)
};

// One adapter call as the loop saw it: bounded values only (no xid), for metrics.
struct ActionObservation {
  std::string participant;
  Decision action = Decision::Cancel;
  Outcome outcome = Outcome::Retry;
  std::chrono::milliseconds latency{0};
};

struct ReconcileObservation {
  ReconcileResult result = ReconcileResult::Requeued;
  std::optional<Decision> decided_now;  // set when this reconcile took the decision
  std::chrono::duration<double> elapsed{0};
  std::vector<ActionObservation> actions;
  StageTimes stages;
};

// The seam through which the loop reports what it does (metrics implement it). Called from
// the claim thread and from every worker, so implementations must be thread-safe.
class LoopObserver {
 public:
  virtual ~LoopObserver() = default;
  virtual void claimed(int count, int lease_takeovers) = 0;
  virtual void reconciled(const ReconcileObservation& observation) = 0;
  // A reconcile that threw (a store error): the lease was released or left to expire.
  virtual void reconcile_failed(std::chrono::duration<double> elapsed) = 0;
};

// Reports nothing; the observer of a loop that was given none.
LoopObserver& no_observer();

class ReconcileLoop {
 public:
  ReconcileLoop(store::LeaseStore& store, TransactionReconciler& reconciler, ReconcilerConfig config,
                std::string replica, LoopObserver& observer = no_observer());

  // Runs until `stop` is requested, or, when `until_idle`, until a claim finds nothing due
  // and nothing is in flight. On stop, unstarted work is released at once and the workers finish
  // the reconciles they are in before it returns; bounding that wait is the caller's
  // (runtime::Manager, with reconciler.shutdown_grace).
  void run(std::stop_token stop, bool until_idle);

  [[nodiscard]] LoopTotals totals() const;

  // Liveness: true when work is waiting (claimed rows queued or running, or the last claim
  // filled its batch) and neither a claim nor a reconcile has completed within `bound`.
  // An idle loop, or one whose claims fail fast because the database is down, is not stalled.
  [[nodiscard]] bool stalled(std::chrono::milliseconds bound) const;

 private:
  void work(std::stop_token stop);
  void reconcile_one(Transaction txn);
  int claim_batch(int capacity);
  void stop_workers();
  void release_queued();
  void mark_progress(bool work_waiting);

  store::LeaseStore& store_;
  TransactionReconciler& reconciler_;
  ReconcilerConfig config_;
  std::string replica_;
  LoopObserver& observer_;
  LeaseKeeper leases_;

  mutable std::mutex mutex_;
  std::condition_variable_any work_queued_;  // workers wait here for a claimed row (or stopping_)
  std::condition_variable_any worker_done_;  // the claim loop waits here for idle workers
  std::deque<Transaction> queue_;
  int running_ = 0;
  bool stopping_ = false;
  LoopTotals totals_;
  std::chrono::steady_clock::time_point last_progress_ = std::chrono::steady_clock::now();
  bool claim_found_more_ = false;  // the last claim filled its batch: more is due
};

}  // namespace compensatord::reconciler
